/*-------------------------------------------------------------------------
 *
 * prune.h
 *	  Inference for selected nodes over their receptive field only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_PRUNE_H
#define GNN_PRUNE_H

#include "common/pg_prng.h"
#include "infer.h"

extern void gnn_infer_pruned(GnnModel *model, GnnGraphSource *src,
							 const int64 *targets, int ntargets,
							 GnnInferResult *out);
extern void gnn_infer_pruned_hetero(GnnModel *model,
									const GnnHeteroSource *hs,
									const int64 *targets, int ntargets,
									GnnInferResult *out);
extern GnnGraph *gnn_field_subgraph(const GnnProgram *prog,
									const GnnGraph *whole,
									const int64 *targets, int n,
									int64 *rows, GnnMemory *mem);
extern GnnGraph *gnn_sampled_subgraph(const GnnProgram *prog,
									  const GnnGraph *whole,
									  const int64 *targets, int n,
									  const int *fanout, int hops,
									  pg_prng_state *rng, GnnMemory *mem);

#endif							/* GNN_PRUNE_H */
