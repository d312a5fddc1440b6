/*-------------------------------------------------------------------------
 *
 * codegen.h
 *	  Compiling module programs to native code with PostgreSQL's LLVM JIT.
 *
 * The template is gnn_run_op() from src/kernels.c, compiled to bitcode by
 * the build and installed with the extension.  For each operation of a
 * model the JIT emits a function that calls the template with the
 * operation's GnnKernelOp as an LLVM constant; inlining and constant
 * folding then turn widths, heads, aggregation, activation and weight
 * addresses into constants, and LLVM unrolls and vectorises the loops for
 * the host CPU.  Code is emitted through PostgreSQL's llvmjit provider, so
 * its optimisation level, symbol resolution and lifetime rules apply.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_CODEGEN_H
#define GNN_CODEGEN_H

#include "kernels.h"

/* Compiled code of one program; lives until gnn_jit_release() */
typedef struct GnnJitCode
{
	void	   *context;		/* the llvmjit context holding the code */
	int			nfunctions;
	GnnKernelFn *fns;			/* per operation; NULL for the input */
	double		generate_ms;	/* building and optimising the IR */
	double		emit_ms;		/* machine code generation */
} GnnJitCode;

/* Backend-wide counters, for gnn_jit_stats() */
typedef struct GnnJitCounters
{
	int64		compiles;
	int64		functions;
	int64		cache_hits;
	double		generate_ms;
	double		emit_ms;
} GnnJitCounters;

extern GnnJitCounters gnn_jit_counters;

extern void gnn_jit_read_template(void);
extern bool gnn_jit_available(void);
extern GnnJitCode *gnn_jit_compile(const GnnKernelOp *kops, int nops,
								   MemoryContext cxt);
extern void gnn_jit_release(GnnJitCode *code);

#endif							/* GNN_CODEGEN_H */
