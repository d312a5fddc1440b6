/*-------------------------------------------------------------------------
 *
 * prune.h
 *	  Inference for selected nodes over their receptive field only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_PRUNE_H
#define GNN_PRUNE_H

#include "infer.h"

extern void gnn_infer_pruned(GnnModel *model, GnnGraphSource *src,
							 const int64 *targets, int ntargets,
							 GnnInferResult *out);

#endif							/* GNN_PRUNE_H */
