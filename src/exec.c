/*-------------------------------------------------------------------------
 *
 * exec.c
 *	  The portable executor of module programs.
 *
 * Registers are allocated when first written and freed after their last
 * reader, so the memory a model needs is the peak of its live registers,
 * which gnn_exec_estimate() computes before anything is allocated.  (A
 * fused run, see below, allocates its outputs when it starts and holds
 * block-sized scratch for the rest, which on a graph of a few blocks can
 * exceed its share of the estimate; gnnjit.max_memory is enforced on
 * every allocation all the same.)
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

/* Nodes per block of a fused group: the block's values stay in cache */
#define GNN_FUSED_BLOCK 64

static int64
reg_rows(const GnnProgram *prog, const GnnGraph *g, int reg)
{
	const GnnReg *r = &prog->regs[reg];

	if (r->space == GNN_SPACE_NODE)
		return gnn_graph_type_rows(g, r->ntype);
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

	for (int v = 0; v < GNN_MAX_VIEWS; v++)
		if (prog->uses_views[v])
			bytes += gnn_graph_view_bytes(g, v);
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
			if (last[r] == i && !gnn_program_is_input(prog, r))
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

/*
 * Prepare to run prog on g; the exact peak of the layers' values is checked
 * against mem's limit first, before any of them is allocated.
 */
void
gnn_exec_init(GnnExec *ex, const GnnProgram *prog, const GnnKernelOp *kops,
			  GnnGraph *g, GnnMemory *mem)
{
	int64		need = gnn_exec_estimate(prog, g);

	gnn_mem_reserve(mem, need, "running the model's layers");
	gnn_mem_release(mem, need);
	memset(ex, 0, sizeof(GnnExec));
	ex->prog = prog;
	ex->g = g;
	ex->mem = mem;
	ex->regs = palloc0(sizeof(float *) * prog->nregs);
	ex->rows = palloc0(sizeof(int64) * prog->nregs);
	ex->row0 = palloc0(sizeof(int64) * prog->nregs);
	ex->last_use = gnn_program_last_use(prog);
	ex->kops = kops;
	ex->nlocal = g->nnodes;
	ex->pool = palloc(sizeof(float *) * prog->nregs);
	ex->pool_size = palloc(sizeof(int64) * prog->nregs);
	/* the registers' share of the estimate: views are built apart */
	ex->budget = need - view_bytes(prog, g);
	ex->stats.nlayers = prog->nlayers;
	ex->stats.layer_ms = palloc0(sizeof(double) * Max(prog->nlayers, 1));
}

/* Point the kernel environment at the graph's edge views */
static void
env_init(GnnExec *ex)
{
	for (int v = 0; v < GNN_MAX_VIEWS; v++)
	{
		const GnnCsr *csr = &ex->g->views[v];

		ex->env.rowptr[v] = csr->rowptr;
		ex->env.src[v] = csr->src;
		ex->env.weight[v] = csr->weight;
		ex->env.fill_loop[v] = csr->fill_loop;
		ex->env.attr[v] = csr->attr;
	}
	ex->env.regs = ex->regs;
	ex->env.row0 = ex->row0;
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

/* A node register's first row: its node type's first node */
static int64
reg_row0(const GnnExec *ex, int reg)
{
	const GnnReg *r = &ex->prog->regs[reg];

	return r->space == GNN_SPACE_NODE ? gnn_graph_type_off(ex->g, r->ntype) : 0;
}

/*
 * Register memory.  A dead register's buffer is kept for a later register
 * of the same size: fresh memory costs a page fault per page on first
 * touch (and the kernel zeroing it), a reused buffer none.  The kept and
 * the live buffers together stay within the peak gnn_exec_estimate()
 * computed (kept ones are freed, largest first, to make room), so the
 * memory used is what was checked against gnnjit.max_memory.  Kernels
 * write every row they compute, so old contents never show.
 */
/* Take kept buffer k out of the pool */
static float *
pool_take(GnnExec *ex, int k)
{
	float	   *buf = ex->pool[k];

	ex->pool_bytes -= ex->pool_size[k];
	ex->npool--;
	ex->pool[k] = ex->pool[ex->npool];
	ex->pool_size[k] = ex->pool_size[ex->npool];
	return buf;
}

static void
pool_release_for(GnnExec *ex, int64 bytes)
{
	while (ex->npool > 0 && ex->live_bytes + ex->pool_bytes + bytes > ex->budget)
	{
		int			big = 0;
		int64		size;

		for (int k = 1; k < ex->npool; k++)
			if (ex->pool_size[k] > ex->pool_size[big])
				big = k;
		size = ex->pool_size[big];
		gnn_mem_free(ex->mem, pool_take(ex, big), size);
	}
}

static float *
reg_buffer(GnnExec *ex, int64 bytes)
{
	float	   *buf;

	for (int k = 0; k < ex->npool; k++)
		if (ex->pool_size[k] == bytes)
		{
			ex->live_bytes += bytes;
			return pool_take(ex, k);
		}
	pool_release_for(ex, bytes);
	buf = gnn_mem_alloc(ex->mem, bytes, "a layer's intermediate values");
	ex->live_bytes += bytes;
	return buf;
}

/*
 * The output register of operation opno: all rows of its node type or
 * view, or on a pruned graph the prefix of nodes the operation computes
 * (its readers need no others)
 */
static void
alloc_reg(GnnExec *ex, int opno)
{
	int			reg = ex->prog->ops[opno].out;
	int64		rows = reg_rows(ex->prog, ex->g, reg);

	if (ex->op_rows && ex->prog->regs[reg].space == GNN_SPACE_NODE)
		rows = Min(rows, ex->op_rows[opno]);

	ex->rows[reg] = rows;
	ex->row0[reg] = reg_row0(ex, reg);
	ex->regs[reg] = reg_buffer(ex, rows * ex->prog->regs[reg].width * sizeof(float));
}

/* Keep a dead register's buffer for reuse */
static void
release_reg(GnnExec *ex, int reg)
{
	int64		bytes = ex->rows[reg] * ex->prog->regs[reg].width * sizeof(float);

	ex->pool[ex->npool] = ex->regs[reg];
	ex->pool_size[ex->npool++] = bytes;
	ex->pool_bytes += bytes;
	ex->live_bytes -= bytes;
	ex->regs[reg] = NULL;
}

/*
 * Keep the graph's features for reuse once the input register is dead, if
 * the graph allows: their memory was counted as the graph's, so the
 * registers' budget grows by as much.  (A later register of the same size,
 * the last layer's output when it is as wide as the input, then needs no
 * fresh memory.)
 */
static void
release_input(GnnExec *ex, int reg)
{
	GnnGraph   *g = ex->g;
	int64		bytes = g->nnodes * g->width * sizeof(float);

	if (!g->x_disposable || g->ntypes > 0 || ex->regs[reg] != g->x)
		return;
	ex->pool[ex->npool] = g->x;
	ex->pool_size[ex->npool++] = bytes;
	ex->pool_bytes += bytes;
	ex->budget += bytes;
	ex->regs[reg] = NULL;
	g->x = NULL;
}

static void
free_dead_regs(GnnExec *ex, int opno)
{
	const GnnProgram *prog = ex->prog;

	for (int r = 0; r < prog->nregs; r++)
		if (ex->last_use[r] == opno && ex->regs[r])
		{
			if (!gnn_program_is_input(prog, r))
				release_reg(ex, r);
			else
				release_input(ex, r);
		}
}

/* ---------- fused blocks ---------- */

/*
 * Fusion (compiled code only).  A run of consecutive operations over the
 * same target nodes whose intermediate values are read only inside the run
 * is executed block by block: for each block of GNN_FUSED_BLOCK nodes every
 * operation of the run is applied in turn, to the block's nodes or to their
 * in-edges, and the intermediate registers hold just the block, in cache,
 * instead of a full matrix each written to memory and read back.  So
 * aggregate -> transform -> bias -> activation is one pass per block (a
 * SAGE layer), and so is a per-edge chain such as GCN's normalisation or
 * GAT's attention logits -> leaky ReLU -> edge softmax -> weighted sum.
 * Operations that read other nodes' rows (at edge sources) may only read
 * registers computed before the run.  Each value is the same computation
 * as unfused, so the results are identical bit for bit.
 */

/* Whether reg holds rows of the same nodes or edges as op's output */
static bool
same_rows(const GnnProgram *prog, const GnnOp *op, int reg)
{
	const GnnReg *out = &prog->regs[op->out];
	const GnnReg *r = &prog->regs[reg];

	if (r->space != out->space)
		return false;
	return out->space == GNN_SPACE_NODE ? r->ntype == out->ntype : r->view == out->view;
}

/*
 * Whether op can be part of a fused run, given the run's registers and
 * target node type
 */
static bool
fusable(const GnnProgram *prog, const GnnOp *op, const bool *in_run, int ntype)
{
	int			other = gnn_op_source_read(prog, op);

	if (op->kind == GNN_OP_INPUT || gnn_op_node_type(prog, op) != ntype)
		return false;
	if (other >= 0 && in_run[other])
		return false;
	switch (op->kind)
	{
		case GNN_OP_AGGREGATE:
			/* node output; a node message (source rows) or the view's edges */
			return true;
		case GNN_OP_GATHER_SRC:
		case GNN_OP_GATHER_DST:
		case GNN_OP_EDGE_DOT:
			/* edge output from node rows (the block's own at targets) */
			return true;
		default:
			/* row-wise: inputs have the output's rows */
			return (op->a < 0 || same_rows(prog, op, op->a)) &&
				(op->b < 0 || same_rows(prog, op, op->b));
	}
}

/*
 * The end (exclusive) of the run of operations starting at first that can
 * be fused.  Registers written by the run and read after it are its
 * outputs; the others are intermediate (gnn_exec_intermediate).
 */
int
gnn_exec_fused_end(const GnnExec *ex, int first)
{
	const GnnProgram *prog = ex->prog;
	bool	   *in_run = palloc0(sizeof(bool) * prog->nregs);
	int			end = first;

	while (end < prog->nops && (ex->needed == NULL || ex->needed[end]) &&
		   fusable(prog, &prog->ops[end], in_run,
				   gnn_op_node_type(prog, &prog->ops[first])))
	{
		in_run[prog->ops[end].out] = true;
		end++;
	}
	pfree(in_run);
	return end;
}

bool
gnn_exec_intermediate(const GnnExec *ex, int reg, int end)
{
	return ex->last_use[reg] < end && !gnn_program_is_output(ex->prog, reg);
}

/*
 * The most in-edges in view of any GNN_FUSED_BLOCK consecutive nodes of
 * [lo, hi): the rows an edge register of a block may need, wherever the
 * caller's blocks start.
 */
static int64
block_edges_max(const GnnExec *ex, int view, int64 lo, int64 hi)
{
	const int64 *rowptr = ex->env.rowptr[view];
	int64		most = 0;

	for (int64 i = lo; i < hi; i++)
		most = Max(most, rowptr[Min(i + GNN_FUSED_BLOCK, hi)] - rowptr[i]);
	return most;
}

/*
 * Give the intermediate registers of run [first, end) block-sized scratch
 * in this process (freed by gnn_exec_end_blocks): a block's nodes, or the
 * most in-edges a block can have.
 */
void
gnn_exec_begin_blocks(GnnExec *ex, int first, int end)
{
	const GnnProgram *prog = ex->prog;
	int64		lo,
				hi;
	int64		edges[GNN_MAX_VIEWS];

	gnn_exec_op_range(ex, first, &lo, &hi);
	for (int v = 0; v < GNN_MAX_VIEWS; v++)
		edges[v] = -1;
	if (ex->block_bytes == NULL)
		ex->block_bytes = palloc0(sizeof(int64) * prog->nregs);
	for (int i = first; i < end; i++)
	{
		const GnnReg *reg = &prog->regs[prog->ops[i].out];
		int			r = prog->ops[i].out;
		int64		rows = GNN_FUSED_BLOCK;

		if (!gnn_exec_intermediate(ex, r, end))
			continue;
		if (reg->space == GNN_SPACE_EDGE)
		{
			if (edges[reg->view] < 0)
				edges[reg->view] = block_edges_max(ex, reg->view, lo, hi);
			rows = edges[reg->view];
		}
		ex->block_bytes[r] = Max(rows * reg->width * (int64) sizeof(float), 1);
		pool_release_for(ex, ex->block_bytes[r]);
		ex->regs[r] = gnn_mem_alloc(ex->mem, ex->block_bytes[r], "a fused block");
		ex->live_bytes += ex->block_bytes[r];
	}
}

/* A fused block's first row of register r: node b's, or its first in-edge's */
static inline int64
block_row0(const GnnExec *ex, int r, int64 b)
{
	const GnnReg *reg = &ex->prog->regs[r];

	return reg->space == GNN_SPACE_NODE ? b : ex->env.rowptr[reg->view][b];
}

/*
 * Run operations [first, end) over nodes [lo, hi), block by block; each
 * operation's time goes to its own layer.
 */
void
gnn_exec_blocks(GnnExec *ex, int first, int end, int64 lo, int64 hi)
{
	const GnnProgram *prog = ex->prog;

	for (int64 b = lo; b < hi; b += GNN_FUSED_BLOCK)
		for (int i = first; i < end; i++)
		{
			int			r = prog->ops[i].out;
			instr_time	start,
						duration;

			if (gnn_exec_intermediate(ex, r, end))
				ex->row0[r] = block_row0(ex, r, b);
			INSTR_TIME_SET_CURRENT(start);
			gnn_exec_op(ex, i, b, Min(b + GNN_FUSED_BLOCK, hi));
			INSTR_TIME_SET_CURRENT(duration);
			INSTR_TIME_SUBTRACT(duration, start);
			if (prog->ops[i].layer >= 0)
				ex->stats.layer_ms[prog->ops[i].layer] += INSTR_TIME_GET_MILLISEC(duration);
		}
}

void
gnn_exec_end_blocks(GnnExec *ex, int first, int end)
{
	const GnnProgram *prog = ex->prog;

	for (int i = first; i < end; i++)
	{
		int			r = prog->ops[i].out;

		if (gnn_exec_intermediate(ex, r, end))
		{
			gnn_mem_free(ex->mem, ex->regs[r], ex->block_bytes[r]);
			ex->live_bytes -= ex->block_bytes[r];
			ex->regs[r] = NULL;
			ex->row0[r] = reg_row0(ex, r);
		}
	}
}

/*
 * The target nodes [lo, hi) operation i runs over: those of its node type
 * (a shard's own, or the pruned graph's first op_rows[i]).
 */
void
gnn_exec_op_range(const GnnExec *ex, int i, int64 *lo, int64 *hi)
{
	int			t = gnn_op_node_type(ex->prog, &ex->prog->ops[i]);

	if (ex->op_rows)
	{
		*lo = gnn_graph_type_off(ex->g, t);
		*hi = *lo + ex->op_rows[i];
	}
	else if (ex->g->ntypes == 0)
	{
		*lo = 0;
		*hi = ex->nlocal;
	}
	else
	{
		*lo = gnn_graph_type_off(ex->g, t);
		*hi = *lo + gnn_graph_type_rows(ex->g, t);
	}
}

/* Run operations [first, end) fused, in chunks between interrupt checks */
static void
run_fused(GnnExec *ex, int first, int end)
{
	const GnnProgram *prog = ex->prog;
	int64		lo,
				hi;

	gnn_exec_op_range(ex, first, &lo, &hi);
	for (int i = first; i < end; i++)
		if (!gnn_exec_intermediate(ex, prog->ops[i].out, end))
			alloc_reg(ex, i);
	gnn_exec_begin_blocks(ex, first, end);
	for (int64 b = lo; b < hi; b += GNN_CHUNK_NODES)
	{
		gnn_exec_blocks(ex, first, end, b, Min(b + GNN_CHUNK_NODES, hi));
		gnn_progress_layer(prog->ops[end - 1].layer, Min(b + GNN_CHUNK_NODES, hi) - lo);
		CHECK_FOR_INTERRUPTS();
	}
	gnn_exec_end_blocks(ex, first, end);
}

/*
 * Whether operation i may write its output over its first input: an
 * element-wise operation (each output value from the input values at the
 * same position) that is that input's last reader, the input being a
 * layer's value of the same shape, not the graph's features or an output.
 * Run alone, it then needs no buffer of its own: no fresh memory to fault
 * in, no pass over a second matrix.
 */
static bool
in_place(const GnnExec *ex, int i)
{
	const GnnProgram *prog = ex->prog;
	const GnnOp *op = &prog->ops[i];

	switch (op->kind)
	{
		case GNN_OP_ACT:
		case GNN_OP_ADD:
		case GNN_OP_MUL:
		case GNN_OP_AXPY:
		case GNN_OP_AFFINE:
		case GNN_OP_EQUALS:
		case GNN_OP_DIV:
		case GNN_OP_EXTREME:
			break;
		default:
			return false;
	}
	return ex->last_use[op->a] == i && ex->regs[op->a] != NULL &&
		op->b != op->a &&
		!gnn_program_is_input(prog, op->a) && !gnn_program_is_output(prog, op->a) &&
		prog->regs[op->a].width == prog->regs[op->out].width &&
		same_rows(prog, op, op->a);
}

/* Run operation i alone, chunk by chunk */
static void
run_op(GnnExec *ex, int i)
{
	const GnnOp *op = &ex->prog->ops[i];
	bool		over_input = in_place(ex, i);
	int64		lo,
				hi;

	gnn_exec_op_range(ex, i, &lo, &hi);
	if (over_input)
	{
		ex->regs[op->out] = ex->regs[op->a];
		ex->rows[op->out] = ex->rows[op->a];
		ex->row0[op->out] = ex->row0[op->a];
	}
	else
		alloc_reg(ex, i);
	for (int64 b = lo; b < hi; b += GNN_CHUNK_NODES)
	{
		gnn_exec_op(ex, i, b, Min(b + GNN_CHUNK_NODES, hi));
		gnn_progress_layer(op->layer, Min(b + GNN_CHUNK_NODES, hi) - lo);
		CHECK_FOR_INTERRUPTS();
	}
	/* the input's buffer is the output's now, and freed as it */
	if (over_input)
		ex->regs[op->a] = NULL;
}

static void
add_time(GnnExec *ex, int layer, instr_time start)
{
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	if (layer >= 0)
		ex->stats.layer_ms[layer] += INSTR_TIME_GET_MILLISEC(duration);
}

/* Build the edge views the program uses and point the kernels at them */
void
gnn_exec_start(GnnExec *ex)
{
	const GnnProgram *prog = ex->prog;
	GnnGraph   *g = ex->g;

	for (int v = 0; v < GNN_MAX_VIEWS; v++)
		if (prog->uses_views[v])
			gnn_graph_build_view(g, v);
	env_init(ex);
	gnn_progress_phase(GNN_PHASE_COMPUTING, ex->nlocal);
}

/*
 * Run operations [first, stop) serially.  A fused run never extends past
 * stop, so a caller can stop before any operation (the distributed driver
 * stops before each one reading other shards' rows).
 */
void
gnn_exec_range(GnnExec *ex, int first, int stop)
{
	const GnnProgram *prog = ex->prog;

	for (int i = first; i < stop;)
	{
		const GnnOp *op = &prog->ops[i];
		instr_time	start;
		int			end = i + 1;

		INSTR_TIME_SET_CURRENT(start);
		if (ex->needed && !ex->needed[i])
		{
			/* what only other node types' outputs read */
			free_dead_regs(ex, i);
			i++;
			continue;
		}
		if (op->kind == GNN_OP_INPUT)
		{
			ex->regs[op->out] = gnn_graph_type_x(ex->g, prog->regs[op->out].ntype);
			ex->row0[op->out] = reg_row0(ex, op->out);
		}
		else if (ex->fuse && ex->op_rows == NULL &&
				 (end = Min(gnn_exec_fused_end(ex, i), stop)) > i + 1)
		{
			/* timed per operation inside */
			run_fused(ex, i, end);
			for (int k = i; k < end; k++)
				free_dead_regs(ex, k);
			i = end;
			continue;
		}
		else
		{
			end = i + 1;
			run_op(ex, i);
		}
		free_dead_regs(ex, i);
		add_time(ex, op->layer, start);
		i = end;
	}
	ex->stats.peak_bytes = ex->mem->peak;
}

/*
 * Run the whole program serially; returns the output register (nnodes x
 * output width), owned by the caller's memory context.
 */
float *
gnn_exec_run(GnnExec *ex)
{
	gnn_exec_start(ex);
	gnn_exec_range(ex, 0, ex->prog->nops);
	return ex->prog->output >= 0 ? ex->regs[ex->prog->output] : NULL;
}
