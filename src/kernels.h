/*-------------------------------------------------------------------------
 *
 * kernels.h
 *	  Portable kernels of the transform and message_passing modules.
 *
 * gnn_run_op() runs one operation of a module program for a range of
 * target nodes.  It is free of PostgreSQL calls, so that the executor can
 * split work for interrupts and parallel workers, and it is the template
 * the JIT specialises: the portable executor and the compiled code run the
 * same source.  Matrices are dense, row-major float32; the dense matrix
 * product lives in gemm.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_KERNELS_H
#define GNN_KERNELS_H

#include "program.h"

/*
 * One operation with everything its kernel needs to know, in one flat
 * struct without padding tricks: the JIT specialises gnn_run_op() on a
 * constant copy of it (the struct's bytes become an LLVM constant), so
 * widths, aggregation, activation and weight addresses all fold into the
 * generated code.
 */
typedef struct GnnKernelOp
{
	int32		kind;			/* GnnOpKind */
	int32		out;			/* registers */
	int32		a;
	int32		b;
	int32		view;			/* GnnEdgeView */
	int32		w;				/* widths of out, a, b */
	int32		wa;
	int32		wb;
	int32		out_on_edges;	/* spaces of out and a (0 node, 1 edge) */
	int32		a_on_edges;
	int32		heads;
	int32		start;			/* SLICE: first column */
	int32		aggr;			/* GnnAggr */
	int32		act;			/* GnnAct */
	float		alpha;
	const float *weight;
	const float *bias;
	const float *scale;
	const float *shift;
	const struct GnnGemmPacked *packed; /* LINEAR: weight and bias, packed */
} GnnKernelOp;

/*
 * The data of one run: register arrays and the graph's edge views.  A
 * register normally holds all its rows; a node register of a fused block
 * holds only the block's, from row row0[r] on.
 */
typedef struct GnnKernelEnv
{
	float	  **regs;
	const int64 *row0;
	const int64 *rowptr[GNN_NUM_EDGE_VIEWS];
	const int32 *src[GNN_NUM_EDGE_VIEWS];
	const float *weight[GNN_NUM_EDGE_VIEWS];
	const bool *fill_loop[GNN_NUM_EDGE_VIEWS];
} GnnKernelEnv;

/* Compiled form of one operation: run it for target nodes [lo, hi) */
typedef void (*GnnKernelFn) (const GnnKernelEnv *env, int64 lo, int64 hi);

extern GnnKernelOp *gnn_kernel_ops(const GnnProgram *prog);
extern void gnn_run_op(const GnnKernelEnv *env, const GnnKernelOp *op,
					   int64 lo, int64 hi);

#endif							/* GNN_KERNELS_H */
