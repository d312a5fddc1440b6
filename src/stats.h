/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Session statistics of inferences and the JIT.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_STATS_H
#define GNN_STATS_H

#include "exec.h"

extern void gnn_stats_remember(const GnnProgram *prog,
							   const GnnExecStats *stats, bool jit);

#endif							/* GNN_STATS_H */
