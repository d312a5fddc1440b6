/*-------------------------------------------------------------------------
 *
 * codegen.c
 *	  Specialising gnn_run_op() per operation and emitting it with llvmjit.
 *
 * PostgreSQL's llvmjit provider is used through functions resolved at run
 * time from $libdir/llvmjit, after jit.c has loaded the provider itself
 * (pg_jit_available()), so that the provider's own bookkeeping and exit
 * handling are in place.  The JIT contexts of cached models outlive
 * queries: they are created under a resource owner of gnnjit's own and
 * released when the model leaves the cache, or at backend exit before
 * llvmjit shuts down.
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
#include "jit/jit.h"
#include "jit/llvmjit.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "codegen.h"

GnnJitCounters gnn_jit_counters;

/* llvmjit's API, resolved at run time */
typedef LLVMJitContext *(*create_context_fn) (int jitFlags);
typedef LLVMModuleRef (*mutable_module_fn) (LLVMJitContext *context);
typedef void *(*get_function_fn) (LLVMJitContext *context, const char *name);
typedef char *(*expand_funcname_fn) (LLVMJitContext *context, const char *name);

static create_context_fn p_create_context;
static mutable_module_fn p_mutable_module;
static get_function_fn p_get_function;
static expand_funcname_fn p_expand_funcname;

/* Owner of the JIT contexts of cached models, never released itself */
static ResourceOwner jit_owner = NULL;

/* Live compiled programs, released at backend exit */
static List *live_codes = NIL;
static bool exit_callback_set = false;

/* ---------- provider ---------- */

/*
 * Whether the JIT can be used: PostgreSQL's jit is on, its provider is
 * llvmjit and loads.
 */
bool
gnn_jit_available(void)
{
	if (!jit_enabled || strcmp(jit_provider, "llvmjit") != 0)
		return false;
	if (!DatumGetBool(OidFunctionCall0(F_PG_JIT_AVAILABLE)))
		return false;
	if (p_create_context == NULL)
	{
		p_create_context = (create_context_fn)
			load_external_function("$libdir/llvmjit", "llvm_create_context", true, NULL);
		p_mutable_module = (mutable_module_fn)
			load_external_function("$libdir/llvmjit", "llvm_mutable_module", true, NULL);
		p_get_function = (get_function_fn)
			load_external_function("$libdir/llvmjit", "llvm_get_function", true, NULL);
		p_expand_funcname = (expand_funcname_fn)
			load_external_function("$libdir/llvmjit", "llvm_expand_funcname", true, NULL);
	}
	return true;
}

/* Release every live context before llvmjit's own exit handler runs */
static void
release_all_at_exit(int code, Datum arg)
{
	while (live_codes != NIL)
		gnn_jit_release((GnnJitCode *) linitial(live_codes));
}

static LLVMJitContext *
create_context(void)
{
	ResourceOwner save = CurrentResourceOwner;
	LLVMJitContext *context;

	if (jit_owner == NULL)
		jit_owner = ResourceOwnerCreate(NULL, "gnnjit JIT");
	CurrentResourceOwner = jit_owner;
	PG_TRY();
	{
		context = p_create_context(PGJIT_PERFORM | PGJIT_OPT3);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = save;
	}
	PG_END_TRY();

	/* registered after llvmjit's own handler, so it runs before it */
	if (!exit_callback_set)
	{
		on_proc_exit(release_all_at_exit, 0);
		exit_callback_set = true;
	}
	return context;
}

void
gnn_jit_release(GnnJitCode *code)
{
	if (code == NULL)
		return;
	live_codes = list_delete_ptr(live_codes, code);
	if (code->context)
		jit_release_context((JitContext *) code->context);
	code->context = NULL;
}

/* ---------- the template module ---------- */

/*
 * The kernels' bitcode, read when the library is loaded: a later
 * reinstallation must not hand this process a template that does not match
 * the code it runs.
 */
static char *template_bytes = NULL;
static size_t template_len = 0;

void
gnn_jit_read_template(void)
{
	char		path[MAXPGPATH];
	FILE	   *f;
	long		len;

	snprintf(path, sizeof(path), "%s/bitcode/gnnjit/src/kernels.bc", pkglib_path);
	f = fopen(path, PG_BINARY_R);
	if (f == NULL)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
		fseek(f, 0, SEEK_SET) == 0)
	{
		template_bytes = MemoryContextAlloc(TopMemoryContext, len);
		if (fread(template_bytes, 1, len, f) == (size_t) len)
			template_len = len;
	}
	fclose(f);
}

static LLVMModuleRef
load_template(LLVMContextRef lc)
{
	LLVMMemoryBufferRef buf;
	LLVMModuleRef mod;

	if (template_len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not read gnnjit's kernel bitcode \"%s/bitcode/gnnjit/src/kernels.bc\"",
						pkglib_path),
				 errhint("Reinstall gnnjit, or SET gnnjit.jit = off.")));
	buf = LLVMCreateMemoryBufferWithMemoryRange(template_bytes, template_len,
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
 * Compile every operation of a program.  The returned code and its
 * function table are allocated in cxt; the machine code lives until
 * gnn_jit_release().
 */
GnnJitCode *
gnn_jit_compile(const GnnKernelOp *kops, int nops, MemoryContext cxt)
{
	GnnJitCode *code = MemoryContextAllocZero(cxt, sizeof(GnnJitCode));
	LLVMJitContext *context;
	LLVMModuleRef mod;
	LLVMContextRef lc;
	LLVMModuleRef tmpl;
	LLVMValueRef run;
	char	   *cpu = LLVMGetHostCPUName();
	char	   *features = LLVMGetHostCPUFeatures();
	char	  **names = palloc0(sizeof(char *) * nops);
	instr_time	start,
				generated,
				emitted;

	/* loads the provider in this process (a parallel worker, say) */
	if (!gnn_jit_available())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("PostgreSQL's JIT provider llvmjit is not available in this process")));
	INSTR_TIME_SET_CURRENT(start);
	code->fns = MemoryContextAllocZero(cxt, sizeof(GnnKernelFn) * Max(nops, 1));
	context = create_context();
	code->context = context;
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		live_codes = lappend(live_codes, code);
		MemoryContextSwitchTo(old);
	}

	mod = p_mutable_module(context);
	lc = LLVMGetModuleContext(mod);
	tmpl = load_template(lc);
	run = LLVMGetNamedFunction(tmpl, "gnn_run_op");
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
		names[i] = p_expand_funcname(context, "gnn_op");
		emit_wrapper(lc, tmpl, run, &kop, names[i]);
		code->nfunctions++;
	}
	optimize_for_host(tmpl, cpu, features);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(features);
	if (LLVMLinkModules2(mod, tmpl))
		elog(ERROR, "gnnjit: linking the kernels into the JIT module failed");
	INSTR_TIME_SET_CURRENT(generated);

	for (int i = 0; i < nops; i++)
		if (names[i])
			code->fns[i] = (GnnKernelFn) p_get_function(context, names[i]);
	INSTR_TIME_SET_CURRENT(emitted);

	INSTR_TIME_SUBTRACT(emitted, generated);
	INSTR_TIME_SUBTRACT(generated, start);
	code->generate_ms = INSTR_TIME_GET_MILLISEC(generated);
	code->emit_ms = INSTR_TIME_GET_MILLISEC(emitted);
	gnn_jit_counters.compiles++;
	gnn_jit_counters.functions += code->nfunctions;
	gnn_jit_counters.generate_ms += code->generate_ms;
	gnn_jit_counters.emit_ms += code->emit_ms;
	return code;
}
