/*-------------------------------------------------------------------------
 *
 * exec.c
 *	  The portable executor of module programs.
 *
 * Registers are allocated when first written and freed after their last
 * reader, so the memory a model needs is the peak of its live registers,
 * which gnn_exec_estimate() computes exactly before anything is allocated.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"

#include "exec.h"
#include "progress.h"
#include "kernels.h"

/* Target nodes per chunk between interrupt checks */
#define GNN_CHUNK_NODES 2048

static int64
reg_rows(const GnnProgram *prog, const GnnGraph *g, int reg)
{
	const GnnReg *r = &prog->regs[reg];

	if (r->space == GNN_SPACE_NODE)
		return g->nnodes;
	return gnn_graph_view_edges(g, r->view);
}

static int64
reg_bytes(const GnnProgram *prog, const GnnGraph *g, int reg)
{
	return reg_rows(prog, g, reg) * prog->regs[reg].width * (int64) sizeof(float);
}

/* Bytes of the edge views the program needs beyond the given edges */
static int64
view_bytes(const GnnProgram *prog, const GnnGraph *g)
{
	int64		bytes = 0;

	if (prog->uses_views[GNN_EDGES_ONE_SELF_LOOP] &&
		!g->built[GNN_EDGES_ONE_SELF_LOOP])
	{
		int64		m = gnn_graph_view_edges(g, GNN_EDGES_ONE_SELF_LOOP);

		bytes += (g->nnodes + 1) * sizeof(int64) + g->nnodes +
			m * (sizeof(int32) + (g->has_weight ? sizeof(float) : 0));
	}
	return bytes;
}

/*
 * Peak bytes of live registers while running prog on g, plus the edge views
 * still to build.  The input register is the graph's feature matrix and
 * costs nothing extra.
 */
int64
gnn_exec_estimate(const GnnProgram *prog, const GnnGraph *g)
{
	int		   *last = gnn_program_last_use(prog);
	int64		live = 0;
	int64		peak = 0;

	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];

		if (op->kind != GNN_OP_INPUT)
			live += reg_bytes(prog, g, op->out);
		peak = Max(peak, live);
		for (int r = 0; r < prog->nregs; r++)
			if (last[r] == i && r != prog->input)
				live -= reg_bytes(prog, g, r);
	}
	pfree(last);
	return peak + view_bytes(prog, g);
}

/*
 * Estimated floating-point operations of running prog on g: the cost that
 * gnnjit.jit_above_cost is compared with.
 */
double
gnn_exec_cost(const GnnProgram *prog, const GnnGraph *g)
{
	double		cost = 0;

	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];
		double		rows = (double) reg_rows(prog, g, op->out);
		double		w = prog->regs[op->out].width;

		if (op->kind == GNN_OP_LINEAR)
			cost += 2.0 * rows * w * prog->regs[op->a].width;
		else if (op->kind == GNN_OP_AGGREGATE)
			cost += (double) gnn_graph_view_edges(g, op->view) * w;
		else
			cost += rows * w;
	}
	return cost;
}

void
gnn_exec_init(GnnExec *ex, const GnnProgram *prog, const GnnKernelOp *kops,
			  GnnGraph *g, GnnMemory *mem)
{
	memset(ex, 0, sizeof(GnnExec));
	ex->prog = prog;
	ex->g = g;
	ex->mem = mem;
	ex->regs = palloc0(sizeof(float *) * prog->nregs);
	ex->rows = palloc0(sizeof(int64) * prog->nregs);
	ex->last_use = gnn_program_last_use(prog);
	ex->kops = kops;
	ex->stats.nlayers = prog->nlayers;
	ex->stats.layer_ms = palloc0(sizeof(double) * Max(prog->nlayers, 1));
}

/* Point the kernel environment at the graph's edge views */
static void
env_init(GnnExec *ex)
{
	for (int v = 0; v < GNN_NUM_EDGE_VIEWS; v++)
	{
		const GnnCsr *csr = &ex->g->views[v];

		ex->env.rowptr[v] = csr->rowptr;
		ex->env.src[v] = csr->src;
		ex->env.weight[v] = csr->weight;
		ex->env.fill_loop[v] = csr->fill_loop;
	}
	ex->env.regs = ex->regs;
}

/* Run operation opno for the target nodes [lo, hi) */
void
gnn_exec_op(GnnExec *ex, int opno, int64 lo, int64 hi)
{
	if (ex->fns && ex->fns[opno])
		ex->fns[opno] (&ex->env, lo, hi);
	else
		gnn_run_op(&ex->env, &ex->kops[opno], lo, hi);
}

static void
alloc_reg(GnnExec *ex, int reg)
{
	int64		rows = reg_rows(ex->prog, ex->g, reg);

	ex->rows[reg] = rows;
	ex->regs[reg] = gnn_mem_alloc(ex->mem,
								  rows * ex->prog->regs[reg].width * sizeof(float),
								  "a layer's intermediate values");
}

static void
free_dead_regs(GnnExec *ex, int opno)
{
	const GnnProgram *prog = ex->prog;

	for (int r = 0; r < prog->nregs; r++)
		if (ex->last_use[r] == opno && r != prog->input && ex->regs[r])
		{
			gnn_mem_free(ex->mem, ex->regs[r],
						 ex->rows[r] * prog->regs[r].width * sizeof(float));
			ex->regs[r] = NULL;
		}
}

/*
 * Run the whole program serially; returns the output register (nnodes x
 * output width), owned by the caller's memory context.
 */
float *
gnn_exec_run(GnnExec *ex)
{
	const GnnProgram *prog = ex->prog;
	GnnGraph   *g = ex->g;

	for (int v = 0; v < GNN_NUM_EDGE_VIEWS; v++)
		if (prog->uses_views[v])
			gnn_graph_build_view(g, v);
	env_init(ex);
	gnn_progress_phase(GNN_PHASE_COMPUTING, g->nnodes);

	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];
		instr_time	start,
					duration;

		INSTR_TIME_SET_CURRENT(start);
		if (op->kind == GNN_OP_INPUT)
			ex->regs[op->out] = g->x;
		else
		{
			int64		n = ex->op_rows ? ex->op_rows[i] : g->nnodes;

			alloc_reg(ex, op->out);
			for (int64 lo = 0; lo < n; lo += GNN_CHUNK_NODES)
			{
				gnn_exec_op(ex, i, lo, Min(lo + GNN_CHUNK_NODES, n));
				gnn_progress_layer(op->layer, Min(lo + GNN_CHUNK_NODES, n));
				CHECK_FOR_INTERRUPTS();
			}
		}
		free_dead_regs(ex, i);
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		if (op->layer >= 0)
			ex->stats.layer_ms[op->layer] += INSTR_TIME_GET_MILLISEC(duration);
	}
	ex->stats.peak_bytes = ex->mem->peak;
	return ex->regs[prog->output];
}
