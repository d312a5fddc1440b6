/*-------------------------------------------------------------------------
 *
 * exec.h
 *	  Running a module program over an in-memory graph.
 *
 * Every operation is run over ranges of target nodes [lo, hi): a node
 * operation writes those rows, an edge operation the in-edges of those
 * nodes (contiguous in the CSR), message passing those nodes' aggregates.
 * The serial driver walks the ranges in chunks, checking for interrupts
 * between them; parallel drivers hand different ranges to different
 * processes, meeting between operations.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_EXEC_H
#define GNN_EXEC_H

#include "graph.h"
#include "kernels.h"
#include "program.h"

typedef struct GnnExecStats
{
	int			nlayers;
	double	   *layer_ms;		/* wall time per spec layer */
	int64		peak_bytes;		/* peak of gnnjit's accounted memory */
} GnnExecStats;

typedef struct GnnExec
{
	const GnnProgram *prog;
	GnnGraph   *g;
	GnnMemory  *mem;
	float	  **regs;			/* register data, NULL when not live */
	int64	   *rows;			/* rows of each register */
	int		   *last_use;
	const GnnKernelOp *kops;	/* per operation */
	GnnKernelFn *fns;			/* compiled operations, or NULL */
	bool		fuse;			/* run fused blocks (see exec.c) */
	int64	   *row0;			/* per register, its first row held */
	const int64 *op_rows;		/* per operation, nodes to run; NULL: all */
	const bool *needed;			/* per operation, whether to run it; NULL:
								 * all */
	int64		nlocal;			/* nodes to run without op_rows: the graph's,
								 * or a shard's own (the rest are its halo) */
	bool		jit;			/* fns came from the JIT */
	/* dead registers' buffers, kept for reuse (see exec.c) */
	float	  **pool;
	int64	   *pool_size;
	int			npool;
	int64		pool_bytes;
	int64		live_bytes;		/* of live registers */
	int64		budget;			/* live + kept stay within this */
	int64	   *block_bytes;	/* per register, its fused-block scratch */
	GnnKernelEnv env;
	GnnExecStats stats;
} GnnExec;

extern int64 gnn_exec_estimate(const GnnProgram *prog, const GnnGraph *g);
extern double gnn_exec_cost(const GnnProgram *prog, const GnnGraph *g);
extern void gnn_exec_init(GnnExec *ex, const GnnProgram *prog,
						  const GnnKernelOp *kops, GnnGraph *g, GnnMemory *mem);
extern void gnn_exec_op(GnnExec *ex, int opno, int64 lo, int64 hi);
extern void gnn_exec_op_range(const GnnExec *ex, int i, int64 *lo, int64 *hi);
extern void gnn_exec_start(GnnExec *ex);
extern void gnn_exec_range(GnnExec *ex, int first, int stop);
extern float *gnn_exec_run(GnnExec *ex);

/* fused runs of operations, see exec.c */
extern int	gnn_exec_fused_end(const GnnExec *ex, int first);
extern bool gnn_exec_intermediate(const GnnExec *ex, int reg, int end);
extern void gnn_exec_begin_blocks(GnnExec *ex, int first, int end);
extern void gnn_exec_blocks(GnnExec *ex, int first, int end, int64 lo, int64 hi);
extern void gnn_exec_end_blocks(GnnExec *ex, int first, int end);

#endif							/* GNN_EXEC_H */
