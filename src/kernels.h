/*-------------------------------------------------------------------------
 *
 * kernels.h
 *	  Portable kernels of the transform and message_passing modules.
 *
 * Each kernel works on a range of rows and is free of PostgreSQL calls, so
 * that the executor can split work for interrupts and parallel workers.
 * Matrices are dense, row-major float32.  The dense matrix product lives
 * in gemm.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_KERNELS_H
#define GNN_KERNELS_H

#include "program.h"

/* In-edges of the target nodes, as the message-passing kernels see them */
typedef struct GnnEdges
{
	const int64 *rowptr;
	const int32 *src;
} GnnEdges;

extern void gnn_k_act(float *y, const float *a, int64 n, GnnAct act,
					  float alpha);
extern void gnn_k_add(float *y, const float *a, const float *b, int64 n);
extern void gnn_k_axpy(float *y, float alpha, const float *a, const float *b,
					   int64 n);
extern void gnn_k_mul_heads(float *y, const float *a, const float *b,
							int64 rows, int width, int heads);
extern void gnn_k_affine(float *y, const float *a, const float *scale,
						 const float *shift, int64 rows, int width);
extern void gnn_k_head_dot(float *y, const float *a, const float *att,
						   int64 rows, int width, int heads);
extern void gnn_k_head_mean(float *y, const float *a, int64 rows, int width,
							int heads);
extern void gnn_k_l2norm(float *y, const float *a, int64 rows, int width);
extern void gnn_k_softmax(float *y, const float *a, int64 rows, int width,
						  bool log);

extern void gnn_k_gather(float *y, const float *a, const int32 *index,
						 int64 rows, int width);
extern void gnn_k_gather_dst(float *y, const float *a, const GnnEdges *edges,
							 int64 lo, int64 hi, int width);
extern void gnn_k_aggregate(float *y, const float *msg, bool msg_on_edges,
							const float *coef, int coef_width,
							const GnnEdges *edges, int64 lo, int64 hi,
							int width, GnnAggr aggr);
extern void gnn_k_edge_softmax(float *y, const float *a,
							   const GnnEdges *edges, int64 lo, int64 hi,
							   int width);

#endif							/* GNN_KERNELS_H */
