/*-------------------------------------------------------------------------
 *
 * infer.h
 *	  One inference: read the graph, run the model, keep the outputs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_INFER_H
#define GNN_INFER_H

#include "fmgr.h"

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
	int64		rows_read;		/* node and edge rows */
	bool		jit;			/* ran compiled code */
	bool		jit_compiled;	/* compiled it in this run (not cached) */
	int			jit_functions;
	double		jit_ms;			/* generation + emission, if compiled */
	bool		pruned;			/* selected nodes over their receptive field */
	int64		field_nodes;	/* nodes of the receptive field */
} GnnInferResult;

extern Datum gnn_infer(PG_FUNCTION_ARGS);

/* gnn_infer's arguments: model, edges, nodes, src, dst, weight, id, features */
#define GNN_INFER_NARGS 8

extern GnnModel *gnn_infer_args(Datum *values, bool *nulls,
								GnnGraphSource *src);
extern void gnn_infer_run(GnnModel *model, GnnGraphSource *src,
						  GnnInferResult *out);
extern void gnn_infer_graph(GnnModel *model, GnnGraph *g,
							const int64 *op_rows, GnnMemory *mem,
							GnnInferResult *out);
extern void gnn_infer_row(const GnnInferResult *res, int64 i, Datum *values);

#endif							/* GNN_INFER_H */
