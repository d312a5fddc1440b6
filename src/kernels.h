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
	int32		view;			/* edge view */
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
	float		aggr_empty;		/* AGGREGATE: a node without in-edges */
	const float *weight;
	const float *bias;
	const float *scale;
	const float *shift;
	const struct GnnGemmPacked *packed; /* LINEAR: weight and bias, packed */
	int32		vector_math;	/* set in compiled code: branch-free math
								 * (fastmath.h) that vectorises, where the
								 * portable build's scalar code runs libm's
								 * faster */
} GnnKernelOp;

/*
 * The data of one run: register arrays and the graph's edge views.  A
 * register holds the rows of its node type (or its edges) from row
 * row0[r] on: the type's first node (0 for edges and homogeneous graphs),
 * or for a node register of a fused block, the block's first node.
 */
typedef struct GnnKernelEnv
{
	float	  **regs;
	const int64 *row0;
	const int64 *rowptr[GNN_MAX_VIEWS];
	const int32 *src[GNN_MAX_VIEWS];
	const float *weight[GNN_MAX_VIEWS];
	const bool *fill_loop[GNN_MAX_VIEWS];
	const float *attr[GNN_MAX_VIEWS];
} GnnKernelEnv;

/* Compiled form of one operation: run it for target nodes [lo, hi) */
typedef void (*GnnKernelFn) (const GnnKernelEnv *env, int64 lo, int64 hi);

extern GnnKernelOp *gnn_kernel_ops(const GnnProgram *prog);
extern void gnn_run_op(const GnnKernelEnv *env, const GnnKernelOp *op,
					   int64 lo, int64 hi);

#endif							/* GNN_KERNELS_H */
