/*-------------------------------------------------------------------------
 *
 * parallel.c
 *	  Parallel full-graph inference: the leader and workers of a Gather
 *	  share the graph and the layers' values in dynamic shared memory.
 *
 * The first participant to arrive reads the tables, copies the graph into
 * the query's DSA area and publishes it; the others wait at the barrier
 * meanwhile (compiling the model, if the JIT is on).  Then every operation
 * of the program is one pair of barrier phases: one participant allocates
 * the operation's output in shared memory (and frees values no longer
 * read), then all of them claim chunks of target nodes from a shared
 * counter and run the same kernels as the serial executor on them.  Each
 * value is computed once, by whichever participant claims its chunk, with
 * the same code and the same edge order as the serial plan, so the rows
 * are the serial plan's bit for bit.  Finally the participants claim
 * chunks of output rows and return them through Gather.
 *
 * A participant that attaches after the graph was published (a worker that
 * started late) leaves at once: it is not needed.  Errors anywhere end the
 * query through PostgreSQL's parallel error propagation; the DSA area goes
 * with it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/barrier.h"
#include "utils/dsa.h"
#include "utils/memutils.h"

#include "codegen.h"
#include "exec.h"
#include "gnnjit.h"
#include "infer.h"
#include "parallel.h"
#include "progress.h"

/* Target nodes per claim, and output rows per claim */
#define PARALLEL_CHUNK 1024

/* Most registers a program run in parallel may have */
#define GNN_MAX_SHARED_REGS 512

struct GnnShared
{
	pg_atomic_uint32 reader;	/* claimed by the participant that reads */
	Barrier		barrier;
	pg_atomic_uint64 next;		/* the next chunk of the current phase */

	/* published by the reader */
	bool		jit;
	int64		nnodes;
	int64		rows_read;
	int64		peak_bytes;		/* of the graph and the layers' values */
	dsa_pointer ids;
	dsa_pointer rowptr[GNN_NUM_EDGE_VIEWS];
	dsa_pointer src[GNN_NUM_EDGE_VIEWS];
	dsa_pointer weight[GNN_NUM_EDGE_VIEWS];
	dsa_pointer fill_loop[GNN_NUM_EDGE_VIEWS];
	int64		reg_rows[GNN_MAX_SHARED_REGS];
	dsa_pointer regs[GNN_MAX_SHARED_REGS];
};

Size
gnn_parallel_size(void)
{
	return MAXALIGN(sizeof(GnnShared));
}

void
gnn_parallel_init(GnnShared *sh)
{
	memset(sh, 0, sizeof(GnnShared));
	pg_atomic_init_u32(&sh->reader, 0);
	pg_atomic_init_u64(&sh->next, 0);
	BarrierInit(&sh->barrier, 0);
	for (int r = 0; r < GNN_MAX_SHARED_REGS; r++)
		sh->regs[r] = InvalidDsaPointer;
	for (int v = 0; v < GNN_NUM_EDGE_VIEWS; v++)
		sh->rowptr[v] = sh->src[v] = sh->weight[v] = sh->fill_loop[v] =
			InvalidDsaPointer;
}

/* ---------- the reader ---------- */

static dsa_pointer
share(dsa_area *area, const void *data, Size size)
{
	dsa_pointer dp;

	if (data == NULL)
		return InvalidDsaPointer;
	dp = dsa_allocate_extended(area, Max(size, 1), DSA_ALLOC_HUGE);
	memcpy(dsa_get_address(area, dp), data, size);
	return dp;
}

/* Read the graph and copy it into shared memory */
static void
read_and_publish(GnnParallelRun *run, GnnModel *model, GnnGraphSource *src)
{
	GnnShared  *sh = run->shared;
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "gnnjit parallel read",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	GnnGraph   *g = gnn_infer_read(model, src, &mem);
	int64		need;

	for (int v = 0; v < GNN_NUM_EDGE_VIEWS; v++)
		if (model->prog->uses_views[v])
			gnn_graph_build_view(g, v);
	need = gnn_exec_estimate(model->prog, g);
	gnn_mem_reserve(&mem, need, "running the model's layers");
	sh->peak_bytes = mem.peak;

	sh->nnodes = g->nnodes;
	sh->rows_read = g->rows_read;
	sh->ids = share(run->area, g->ids, sizeof(int64) * g->nnodes);
	sh->regs[model->prog->input] = share(run->area, g->x,
										 sizeof(float) * g->nnodes * g->width);
	for (int v = 0; v < GNN_NUM_EDGE_VIEWS; v++)
	{
		const GnnCsr *csr = &g->views[v];

		if (!g->built[v])
			continue;
		sh->rowptr[v] = share(run->area, csr->rowptr, sizeof(int64) * (g->nnodes + 1));
		sh->src[v] = share(run->area, csr->src, sizeof(int32) * csr->nedges);
		sh->weight[v] = share(run->area, csr->weight, sizeof(float) * csr->nedges);
		sh->fill_loop[v] = share(run->area, csr->fill_loop, sizeof(bool) * g->nnodes);
	}
	for (int r = 0; r < model->prog->nregs; r++)
		sh->reg_rows[r] = model->prog->regs[r].space == GNN_SPACE_NODE ?
			g->nnodes : gnn_graph_view_edges(g, model->prog->regs[r].view);
	sh->jit = gnn_jit_enabled &&
		gnn_exec_cost(model->prog, g) >= gnn_jit_above_cost &&
		gnn_jit_available();

	/* the shared copy is all that is needed now */
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ---------- every participant ---------- */

static void *
address(dsa_area *area, dsa_pointer dp)
{
	return DsaPointerIsValid(dp) ? dsa_get_address(area, dp) : NULL;
}

/* Point this process's kernel environment at the shared graph */
static void
attach_env(GnnParallelRun *run, GnnExec *ex)
{
	GnnShared  *sh = run->shared;

	for (int v = 0; v < GNN_NUM_EDGE_VIEWS; v++)
	{
		ex->env.rowptr[v] = address(run->area, sh->rowptr[v]);
		ex->env.src[v] = address(run->area, sh->src[v]);
		ex->env.weight[v] = address(run->area, sh->weight[v]);
		ex->env.fill_loop[v] = address(run->area, sh->fill_loop[v]);
	}
	ex->env.regs = ex->regs;
}

/*
 * Allocate operation i's output and free the values nobody reads any
 * more; done by one participant while the others wait.
 */
static void
allocate_op(GnnParallelRun *run, const GnnProgram *prog, const int *last, int i)
{
	GnnShared  *sh = run->shared;
	int			out = prog->ops[i].out;

	for (int r = 0; r < prog->nregs; r++)
		if (last[r] < i && r != prog->input && r != prog->output &&
			DsaPointerIsValid(sh->regs[r]))
		{
			dsa_free(run->area, sh->regs[r]);
			sh->regs[r] = InvalidDsaPointer;
		}
	sh->regs[out] = dsa_allocate_extended(run->area,
										  Max(sh->reg_rows[out] * prog->regs[out].width * sizeof(float), 1),
										  DSA_ALLOC_HUGE);
	pg_atomic_write_u64(&sh->next, 0);
}

/* Run the chunks of operation i this participant claims */
static void
run_op(GnnParallelRun *run, GnnExec *ex, int i)
{
	GnnShared  *sh = run->shared;
	const GnnProgram *prog = ex->prog;
	int64		n = sh->nnodes;

	for (int r = 0; r < prog->nregs; r++)
		ex->regs[r] = address(run->area, sh->regs[r]);
	for (;;)
	{
		uint64		lo = pg_atomic_fetch_add_u64(&sh->next, PARALLEL_CHUNK);

		if (lo >= (uint64) n)
			break;
		gnn_exec_op(ex, i, (int64) lo, Min((int64) lo + PARALLEL_CHUNK, n));
		gnn_progress_layer(prog->ops[i].layer, Min((int64) lo + PARALLEL_CHUNK, n));
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Take part in the inference.  Returns false if this participant came too
 * late to be needed; otherwise the outputs can be claimed with
 * gnn_parallel_next_rows().
 */
bool
gnn_parallel_compute(GnnParallelRun *run, GnnModel *model, GnnGraphSource *src)
{
	GnnShared  *sh = run->shared;
	const GnnProgram *prog = model->prog;
	GnnExec		ex;
	int		   *last;
	instr_time	start,
				duration;

	if (prog->nregs > GNN_MAX_SHARED_REGS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" has too many intermediate values for parallel inference",
						model->name),
				 errhint("SET max_parallel_workers_per_gather = 0.")));

	if (BarrierAttach(&sh->barrier) > 0)
	{
		BarrierDetach(&sh->barrier);
		return false;
	}
	run->attached = true;
	if (pg_atomic_exchange_u32(&sh->reader, 1) == 0)
		read_and_publish(run, model, src);
	else
	{
		src->width = model->in_width;
		gnn_progress_begin(model->name, src->nodes, prog->nlayers);
		if (gnn_jit_enabled && gnn_jit_available())
			(void) gnn_model_jit(model);	/* while the reader reads */
	}
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);

	/* the graph is published: run the program, operation by operation */
	memset(&ex, 0, sizeof(ex));
	ex.prog = prog;
	ex.kops = model->kops;
	ex.regs = palloc0(sizeof(float *) * prog->nregs);
	ex.stats.nlayers = prog->nlayers;
	ex.stats.layer_ms = palloc0(sizeof(double) * Max(prog->nlayers, 1));
	if (sh->jit)
	{
		ex.fns = gnn_model_jit(model);
		ex.jit = true;
	}
	attach_env(run, &ex);
	last = gnn_program_last_use(prog);
	gnn_progress_phase(GNN_PHASE_COMPUTING, sh->nnodes);

	for (int i = 0; i < prog->nops; i++)
	{
		if (prog->ops[i].kind == GNN_OP_INPUT)
			continue;
		INSTR_TIME_SET_CURRENT(start);
		if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
			allocate_op(run, prog, last, i);
		BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);
		run_op(run, &ex, i);
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		if (prog->ops[i].layer >= 0)
			ex.stats.layer_ms[prog->ops[i].layer] += INSTR_TIME_GET_MILLISEC(duration);
	}

	/* every operation is complete: hand out the output rows */
	if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
		pg_atomic_write_u64(&sh->next, 0);
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);
	gnn_progress_end();

	run->ids = address(run->area, sh->ids);
	run->y = address(run->area, sh->regs[prog->output]);
	run->width = model->out_width;
	run->nnodes = sh->nnodes;
	run->rows_read = sh->rows_read;
	run->jit = ex.jit;
	run->stats = ex.stats;
	run->stats.peak_bytes = sh->peak_bytes;
	run->participants = BarrierParticipants(&sh->barrier);
	return true;
}

/* Claim the next chunk of output rows: [*lo, *hi); false when none is left */
bool
gnn_parallel_next_rows(GnnParallelRun *run, int64 *lo, int64 *hi)
{
	uint64		first = pg_atomic_fetch_add_u64(&run->shared->next, PARALLEL_CHUNK);

	if (first >= (uint64) run->nnodes)
	{
		if (run->attached)
			BarrierDetach(&run->shared->barrier);
		run->attached = false;
		return false;
	}
	*lo = (int64) first;
	*hi = Min((int64) first + PARALLEL_CHUNK, run->nnodes);
	return true;
}
