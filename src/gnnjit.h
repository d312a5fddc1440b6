/*-------------------------------------------------------------------------
 *
 * gnnjit.h
 *	  Settings shared across gnnjit's subsystems.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNNJIT_H
#define GNNJIT_H

/* gnnjit.max_memory, in kB */
extern int	gnn_max_memory_kb;

#define GNN_MAX_MEMORY_BYTES() ((int64) gnn_max_memory_kb * 1024)

#endif							/* GNNJIT_H */
