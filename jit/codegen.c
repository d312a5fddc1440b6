/*-------------------------------------------------------------------------
 *
 * codegen.c
 *	  Specialising gnn_run_op() per operation and emitting it with llvmjit.
 *
 * This part does not link LLVM: it finds the provider, owns the JIT
 * contexts and keeps the template's bitcode.  The code generator itself
 * (emit.c) is the module gnnjit_llvm, loaded with the provider, only by a
 * session that compiles.
 *
 * PostgreSQL's llvmjit provider is used through functions resolved at run
 * time from $libdir/llvmjit, after jit.c has loaded the provider itself
 * (pg_jit_available()), so that the provider's own bookkeeping and exit
 * handling are in place.  The JIT contexts of cached models outlive
 * queries: they are created under a resource owner of gnnjit's own and
 * released when the model leaves the cache, or at backend exit before
 * llvmjit shuts down.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
#include "emit.h"

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

/* the code generator, gnnjit_llvm */
static GnnEmitFn p_emit;

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
		p_emit = (GnnEmitFn)
			load_external_function("$libdir/gnnjit_llvm", "gnn_llvm_emit", true, NULL);
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

/*
 * Compile every operation of a program.  The returned code and its
 * function table are allocated in cxt; the machine code lives until
 * gnn_jit_release().
 */
GnnJitCode *
gnn_jit_compile(const GnnKernelOp *kops, int nops, MemoryContext cxt)
{
	GnnJitCode *code = MemoryContextAllocZero(cxt, sizeof(GnnJitCode));
	GnnEmitEnv	env;
	LLVMJitContext *context;
	char	  **names = palloc0(sizeof(char *) * Max(nops, 1));
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

	env.template_bytes = template_bytes;
	env.template_len = template_len;
	env.mutable_module = p_mutable_module;
	env.expand_funcname = p_expand_funcname;
	p_emit(&env, context, kops, nops, names);
	INSTR_TIME_SET_CURRENT(generated);

	for (int i = 0; i < nops; i++)
		if (names[i])
		{
			code->fns[i] = (GnnKernelFn) p_get_function(context, names[i]);
			code->nfunctions++;
		}
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
