/*-------------------------------------------------------------------------
 *
 * gnnjit.h
 *	  Settings shared across gnnjit's subsystems.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNNJIT_H
#define GNNJIT_H

/* The extension version this library implements (gnnjit.control) */
#define GNNJIT_VERSION "0.1.0"

/* gnnjit.max_memory, in kB */
extern int	gnn_max_memory_kb;

#define GNN_MAX_MEMORY_BYTES() ((int64) gnn_max_memory_kb * 1024)

/* gnnjit.enable_scan */
extern bool gnn_enable_scan;

/* gnnjit.pruning */
typedef enum GnnPruning
{
	GNN_PRUNING_AUTO,
	GNN_PRUNING_ON,
	GNN_PRUNING_OFF
} GnnPruning;
extern int	gnn_pruning;

/* gnnjit.jit and gnnjit.jit_above_cost */
extern bool gnn_jit_enabled;
extern double gnn_jit_above_cost;
extern bool gnn_jit_fusion;

#endif							/* GNNJIT_H */
