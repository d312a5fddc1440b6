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

/* gnn_infer's arguments: model, edges, nodes, src, dst, weight, id, features */
#define GNN_INFER_NARGS 8

extern GnnModel *gnn_infer_args(Datum *values, bool *nulls,
								GnnGraphSource *src);
extern void gnn_infer_run(GnnModel *model, GnnGraphSource *src,
						  GnnInferResult *out);
extern void gnn_infer_row(const GnnInferResult *res, int64 i, Datum *values);

#endif							/* GNN_INFER_H */
