/*-------------------------------------------------------------------------
 *
 * parallel.h
 *	  Parallel full-graph inference in dynamic shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_PARALLEL_H
#define GNN_PARALLEL_H

#include "utils/dsa.h"

#include "exec.h"
#include "graph.h"
#include "model.h"

typedef struct GnnShared GnnShared;

/* One participant's view of a parallel inference */
typedef struct GnnParallelRun
{
	GnnShared  *shared;
	dsa_area   *area;
	bool		attached;		/* to the shared barrier */
	int			input;			/* the program's input register */
	int			output;			/* the register whose rows are returned */

	/* the outputs, once computed */
	const int64 *ids;
	const float *y;
	int			width;
	int64		nnodes;
	int64		rows_read;
	bool		jit;
	int			participants;
	GnnExecStats stats;			/* this participant's share of the time */
} GnnParallelRun;

extern Size gnn_parallel_size(const GnnGraphSource *source,
							   Snapshot snapshot);
extern void gnn_parallel_init(GnnShared *sh, const GnnGraphSource *source,
							  Snapshot snapshot, int max_participants);
extern bool gnn_parallel_compute(GnnParallelRun *run, GnnModel *model,
								 GnnGraphSource *src,
								 const GnnHeteroSource *hs);
extern bool gnn_parallel_next_rows(GnnParallelRun *run, int64 *lo, int64 *hi);

#endif							/* GNN_PARALLEL_H */
