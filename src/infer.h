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
	int64		field_nodes;	/* nodes of the receptive field(s) computed */
	int64		batches;		/* subgraph strategies: batches run */
	struct GnnDist *dist;		/* the shards of a distributed run */
} GnnInferResult;

extern Datum gnn_infer(PG_FUNCTION_ARGS);
extern Datum gnn_infer_named(PG_FUNCTION_ARGS);
extern Oid	gnn_infer_table(const char *name, bool missing_ok);
extern void gnn_infer_table_args(const char *edges, const char *nodes,
								 Datum *values, bool *nulls);

/*
 * gnn_infer's arguments: model, edges, nodes, src, dst, weight, id,
 * features, strategy, batch_size, fanout, seed, relation
 */
#define GNN_INFER_NARGS 13

/* How to run: the whole graph at once, or per batch of target nodes */
typedef enum GnnStrategy
{
	GNN_STRATEGY_FULL,
	GNN_STRATEGY_SUBGRAPH,		/* each batch's L-hop subgraph, every layer */
	GNN_STRATEGY_TRIMMED		/* ... each layer on the nodes still needed */
} GnnStrategy;

typedef struct GnnInferOptions
{
	GnnStrategy strategy;
	int			batch_size;
	int		   *fanout;			/* sampled neighbours per hop, or NULL */
	int			hops;			/* length of fanout */
	int64		seed;
} GnnInferOptions;

extern void gnn_infer_check_tables(GnnModel *model,
								   const GnnGraphSource *src);
extern void gnn_infer_source(Datum *values, bool *nulls, GnnGraphSource *src);
extern GnnModel *gnn_infer_args(Datum *values, bool *nulls,
								GnnGraphSource *src, GnnInferOptions *opts);
extern void gnn_infer_run(GnnModel *model, GnnGraphSource *src,
						  const GnnInferOptions *opts, GnnInferResult *out);
extern GnnGraph *gnn_infer_read(GnnModel *model, GnnGraphSource *src,
								GnnMemory *mem);
extern GnnGraph *gnn_infer_read_hetero(GnnModel *model,
									   const GnnHeteroSource *hs,
									   GnnMemory *mem);
extern void gnn_infer_graph(GnnModel *model, GnnGraph *g,
							const int64 *op_rows, GnnMemory *mem,
							double cost, GnnInferResult *out);
extern void gnn_infer_subgraph(GnnModel *model, GnnGraphSource *src,
							   const GnnInferOptions *opts,
							   GnnInferResult *out);
extern bool gnn_infer_named_source(Datum *args, bool *argnulls,
								   GnnHeteroSource *hs, GnnModel **model,
								   Datum *values, bool *nulls);
extern GnnModel *gnn_infer_named_run(Datum *args, bool *argnulls,
									 const int64 *targets, int ntargets,
									 GnnInferResult *out);
extern void gnn_infer_row(const GnnInferResult *res, int64 i, Datum *values);

#endif							/* GNN_INFER_H */
