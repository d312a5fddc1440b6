/*-------------------------------------------------------------------------
 *
 * emit.h
 *	  The code generator module (gnnjit_llvm), as codegen.c calls it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_EMIT_H
#define GNN_EMIT_H

#include "jit/llvmjit.h"

#include "kernels.h"

/* What the generator needs from gnnjit and llvmjit */
typedef struct GnnEmitEnv
{
	const char *template_bytes; /* the kernels' bitcode */
	size_t		template_len;
	LLVMModuleRef (*mutable_module) (LLVMJitContext *context);
	char	   *(*expand_funcname) (LLVMJitContext *context, const char *name);
} GnnEmitEnv;

typedef void (*GnnEmitFn) (const GnnEmitEnv *env, LLVMJitContext *context,
						   const GnnKernelOp *kops, int nops, char **names);

extern PGDLLEXPORT void gnn_llvm_emit(const GnnEmitEnv *env,
									  LLVMJitContext *context,
									  const GnnKernelOp *kops, int nops,
									  char **names);

#endif							/* GNN_EMIT_H */
