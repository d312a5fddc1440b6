/*-------------------------------------------------------------------------
 *
 * infer.h
 *	  One inference: read the graph, run the model, keep the outputs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_INFER_H
#define GNN_INFER_H

#include "exec.h"
#include "graph.h"
#include "model.h"

typedef struct GnnInferResult
{
	int64		nnodes;
	int			width;
	const int64 *ids;			/* node index -> id */
	const float *y;				/* nnodes x width */
	GnnExecStats stats;
	bool		jit;			/* ran compiled code */
} GnnInferResult;

extern void gnn_infer_run(GnnModel *model, GnnGraphSource *src,
						  GnnInferResult *out);

#endif							/* GNN_INFER_H */
