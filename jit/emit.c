/*-------------------------------------------------------------------------
 *
 * emit.c
 *	  The code generator: gnn_run_op() specialised per operation, in LLVM IR.
 *
 * Built as a module of its own, gnnjit_llvm, the only part of gnnjit that
 * links LLVM's shared library: codegen.c loads it when a session first
 * compiles, so that sessions that never do (point queries, small graphs)
 * do not pay for loading LLVM, some 60 ms per session.
 *
 * Two traps of PostgreSQL 15's llvmjit shape the code: its LLVM context is
 * recreated from time to time, so no LLVM type or value is kept between
 * compilations; and its optimiser runs without the target machine's cost
 * model, which disables loop vectorisation, so the template module is
 * optimised here first with a target machine for the host CPU.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <llvm-c/BitReader.h>
#include <llvm-c/Core.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "emit.h"

PG_MODULE_MAGIC;

/* ---------- the template module ---------- */

static LLVMModuleRef
load_template(LLVMContextRef lc, const GnnEmitEnv *env)
{
	LLVMMemoryBufferRef buf;
	LLVMModuleRef mod;

	if (env->template_len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not read gnnjit's kernel bitcode \"%s/bitcode/gnnjit/src/kernels.bc\"",
						pkglib_path),
				 errhint("Reinstall gnnjit, or SET gnnjit.jit = off.")));
	buf = LLVMCreateMemoryBufferWithMemoryRange(env->template_bytes, env->template_len,
												"gnnjit kernels", false);
	if (LLVMParseBitcodeInContext2(lc, buf, &mod))
	{
		LLVMDisposeMemoryBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not parse gnnjit's kernel bitcode")));
	}
	LLVMDisposeMemoryBuffer(buf);
	return mod;
}

static void
set_string_attr(LLVMContextRef lc, LLVMValueRef fn, const char *key,
				const char *value)
{
	LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, key,
									 strlen(key));
	if (value)
		LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
								LLVMCreateStringAttribute(lc, key, strlen(key),
														  value, strlen(value)));
}

static void
add_enum_attr(LLVMContextRef lc, LLVMValueRef fn, const char *name)
{
	unsigned	kind = LLVMGetEnumAttributeKindForName(name, strlen(name));

	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
							LLVMCreateEnumAttribute(lc, kind, 0));
}

/*
 * Make the template's functions private to the generated module and let
 * them use every instruction of the host CPU: the bitcode was compiled for
 * baseline x86-64, and per-function target attributes win over the target
 * machine's.
 */
static void
prepare_template(LLVMContextRef lc, LLVMModuleRef mod, const char *cpu,
				 const char *features)
{
	for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn))
	{
		if (LLVMIsDeclaration(fn))
			continue;
		LLVMSetLinkage(fn, LLVMInternalLinkage);
		set_string_attr(lc, fn, "target-cpu", cpu);
		set_string_attr(lc, fn, "target-features", features);
		set_string_attr(lc, fn, "tune-cpu", NULL);
	}
	for (LLVMValueRef g = LLVMGetFirstGlobal(mod); g; g = LLVMGetNextGlobal(g))
		if (!LLVMIsDeclaration(g))
			LLVMSetLinkage(g, LLVMInternalLinkage);
}

/*
 * A function fn(env, lo, hi) that calls gnn_run_op(env, &op, lo, hi) with
 * op a constant holding the bytes of kop.
 */
static void
emit_wrapper(LLVMContextRef lc, LLVMModuleRef mod, LLVMValueRef run,
			 const GnnKernelOp *kop, const char *name)
{
	LLVMTypeRef runty = LLVMGlobalGetValueType(run);
	LLVMTypeRef params[3];
	LLVMTypeRef i64 = LLVMInt64TypeInContext(lc);
	LLVMValueRef bytes;
	LLVMValueRef global;
	LLVMValueRef fn;
	LLVMValueRef args[4];
	LLVMBuilderRef b;

	bytes = LLVMConstStringInContext(lc, (const char *) kop, sizeof(GnnKernelOp), true);
	global = LLVMAddGlobal(mod, LLVMTypeOf(bytes), psprintf("%s_op", name));
	LLVMSetInitializer(global, bytes);
	LLVMSetGlobalConstant(global, true);
	LLVMSetLinkage(global, LLVMPrivateLinkage);
	LLVMSetAlignment(global, 16);

	LLVMGetParamTypes(runty, params);	/* env, op, lo, hi */
	params[1] = i64;
	params[2] = i64;
	fn = LLVMAddFunction(mod, name,
						 LLVMFunctionType(LLVMVoidTypeInContext(lc), params, 3, false));

	b = LLVMCreateBuilderInContext(lc);
	LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(lc, fn, "entry"));
	args[0] = LLVMGetParam(fn, 0);
	args[1] = LLVMBuildBitCast(b, global, LLVMTypeOf(LLVMGetParam(run, 1)), "op");
	args[2] = LLVMGetParam(fn, 1);
	args[3] = LLVMGetParam(fn, 2);
	LLVMBuildCall2(b, runty, run, args, 4, "");
	LLVMBuildRetVoid(b);
	LLVMDisposeBuilder(b);
}

/* O3 with the host's target machine, so that the vectoriser sees AVX */
static void
optimize_for_host(LLVMModuleRef mod, const char *cpu, const char *features)
{
	char	   *triple = LLVMGetDefaultTargetTriple();
	LLVMTargetRef target;
	LLVMTargetMachineRef tm;
	LLVMTargetDataRef layout;
	LLVMPassBuilderOptionsRef opts;
	LLVMErrorRef err;
	char	   *msg = NULL;

	if (LLVMGetTargetFromTriple(triple, &target, &msg))
		elog(ERROR, "gnnjit: no LLVM target for %s: %s", triple, msg);
	tm = LLVMCreateTargetMachine(target, triple, cpu, features,
								 LLVMCodeGenLevelAggressive, LLVMRelocDefault,
								 LLVMCodeModelJITDefault);
	layout = LLVMCreateTargetDataLayout(tm);
	LLVMSetTarget(mod, triple);
	LLVMSetModuleDataLayout(mod, layout);

	opts = LLVMCreatePassBuilderOptions();
	LLVMPassBuilderOptionsSetLoopVectorization(opts, true);
	LLVMPassBuilderOptionsSetSLPVectorization(opts, true);
	LLVMPassBuilderOptionsSetLoopUnrolling(opts, true);
	err = LLVMRunPasses(mod, "default<O3>", tm, opts);
	LLVMDisposePassBuilderOptions(opts);
	LLVMDisposeTargetData(layout);
	LLVMDisposeTargetMachine(tm);
	LLVMDisposeMessage(triple);
	if (err)
	{
		char	   *emsg = LLVMGetErrorMessage(err);
		char	   *copy = pstrdup(emsg);

		LLVMDisposeErrorMessage(emsg);
		elog(ERROR, "gnnjit: optimising the kernels failed: %s", copy);
	}
}

/* ---------- compiling ---------- */

/*
 * Emit one function per operation of kops[0..nops) into the module of
 * context, linked with the template and optimised; names[i] gets the name
 * of operation i's function (NULL for the input).  Machine code is made
 * when the caller asks llvmjit for the functions.
 */
void
gnn_llvm_emit(const GnnEmitEnv *env, LLVMJitContext *context,
			  const GnnKernelOp *kops, int nops, char **names)
{
	LLVMModuleRef mod = env->mutable_module(context);
	LLVMContextRef lc = LLVMGetModuleContext(mod);
	LLVMModuleRef tmpl = load_template(lc, env);
	LLVMValueRef run = LLVMGetNamedFunction(tmpl, "gnn_run_op");
	char	   *cpu = LLVMGetHostCPUName();
	char	   *features = LLVMGetHostCPUFeatures();

	if (run == NULL)
		elog(ERROR, "gnnjit: gnn_run_op is missing from the kernel bitcode");
	prepare_template(lc, tmpl, cpu, features);
	add_enum_attr(lc, run, "alwaysinline");

	for (int i = 0; i < nops; i++)
	{
		GnnKernelOp kop = kops[i];

		if (kop.kind == GNN_OP_INPUT)
			continue;
		kop.vector_math = 1;
		names[i] = env->expand_funcname(context, "gnn_op");
		emit_wrapper(lc, tmpl, run, &kop, names[i]);
	}
	optimize_for_host(tmpl, cpu, features);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(features);
	if (LLVMLinkModules2(mod, tmpl))
		elog(ERROR, "gnnjit: linking the kernels into the JIT module failed");
}
