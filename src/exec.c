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
#include "gemm.h"
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

void
gnn_exec_init(GnnExec *ex, const GnnProgram *prog, GnnGraph *g,
			  GnnMemory *mem)
{
	memset(ex, 0, sizeof(GnnExec));
	ex->prog = prog;
	ex->g = g;
	ex->mem = mem;
	ex->regs = palloc0(sizeof(float *) * prog->nregs);
	ex->rows = palloc0(sizeof(int64) * prog->nregs);
	ex->last_use = gnn_program_last_use(prog);
	ex->stats.nlayers = prog->nlayers;
	ex->stats.layer_ms = palloc0(sizeof(double) * Max(prog->nlayers, 1));
}

static void
edges_of(const GnnGraph *g, GnnEdgeView view, GnnEdges *edges)
{
	edges->rowptr = g->views[view].rowptr;
	edges->src = g->views[view].src;
}

/* Edge weights of the in-edges of nodes [lo, hi) */
static void
exec_edge_weight(GnnExec *ex, const GnnOp *op, int64 lo, int64 hi)
{
	const GnnCsr *csr = &ex->g->views[op->view];
	float	   *y = ex->regs[op->out];

	for (int64 e = csr->rowptr[lo]; e < csr->rowptr[hi]; e++)
		y[e] = csr->weight ? csr->weight[e] : 1.0f;
	if (op->view == GNN_EDGES_ONE_SELF_LOOP)
		for (int64 i = lo; i < hi; i++)
			if (csr->fill_loop[i])
				y[csr->rowptr[i + 1] - 1] = op->alpha;
}

/*
 * Row range [first, first + n) of op's output for target nodes [lo, hi):
 * the nodes themselves, or their in-edges.
 */
static void
out_range(GnnExec *ex, const GnnOp *op, int64 lo, int64 hi, int64 *first,
		  int64 *n)
{
	const GnnReg *r = &ex->prog->regs[op->out];

	if (r->space == GNN_SPACE_NODE)
	{
		*first = lo;
		*n = hi - lo;
	}
	else
	{
		const int64 *rowptr = ex->g->views[r->view].rowptr;

		*first = rowptr[lo];
		*n = rowptr[hi] - rowptr[lo];
	}
}

/* Run one operation for the target nodes [lo, hi) */
void
gnn_exec_op(GnnExec *ex, int opno, int64 lo, int64 hi)
{
	const GnnOp *op = &ex->prog->ops[opno];
	const GnnGraph *g = ex->g;
	int			w = ex->prog->regs[op->out].width;
	int			wa = op->a >= 0 ? ex->prog->regs[op->a].width : 0;
	float	   *y = ex->regs[op->out];
	const float *a = op->a >= 0 ? ex->regs[op->a] : NULL;
	const float *b = op->b >= 0 ? ex->regs[op->b] : NULL;
	int64		first,
				n;
	GnnEdges	edges;

	out_range(ex, op, lo, hi, &first, &n);
	edges_of(g, op->view, &edges);

	switch (op->kind)
	{
		case GNN_OP_INPUT:
			break;
		case GNN_OP_EDGE_WEIGHT:
			exec_edge_weight(ex, op, lo, hi);
			break;
		case GNN_OP_GATHER_SRC:
			gnn_k_gather(y + first * w, a, edges.src + first, n, w);
			break;
		case GNN_OP_GATHER_DST:
			gnn_k_gather_dst(y, a, &edges, lo, hi, w);
			break;
		case GNN_OP_LINEAR:
			gnn_gemm_nt(a + first * wa, n, wa, wa, op->weight, w, op->bias,
						y + first * w, w);
			break;
		case GNN_OP_ADD:
			gnn_k_add(y + first * w, a + first * w, b + first * w, n * w);
			break;
		case GNN_OP_MUL:
			gnn_k_mul_heads(y + first * w, a + first * w,
							b + first * ex->prog->regs[op->b].width, n, w,
							ex->prog->regs[op->b].width);
			break;
		case GNN_OP_AXPY:
			gnn_k_axpy(y + first * w, op->alpha, a + first * w, b + first * w,
					   n * w);
			break;
		case GNN_OP_AFFINE:
			gnn_k_affine(y + first * w, a + first * w, op->scale, op->shift,
						 n, w);
			break;
		case GNN_OP_ACT:
			gnn_k_act(y + first * w, a + first * w, n * w, op->act, op->alpha);
			break;
		case GNN_OP_HEAD_DOT:
			gnn_k_head_dot(y + first * w, a + first * wa, op->weight, n, wa,
						   op->heads);
			break;
		case GNN_OP_HEAD_MEAN:
			gnn_k_head_mean(y + first * w, a + first * wa, n, wa, op->heads);
			break;
		case GNN_OP_L2NORM:
			gnn_k_l2norm(y + first * w, a + first * w, n, w);
			break;
		case GNN_OP_SOFTMAX:
		case GNN_OP_LOG_SOFTMAX:
			gnn_k_softmax(y + first * w, a + first * w, n, w,
						  op->kind == GNN_OP_LOG_SOFTMAX);
			break;
		case GNN_OP_AGGREGATE:
			gnn_k_aggregate(y, a,
							ex->prog->regs[op->a].space == GNN_SPACE_EDGE,
							b, b ? ex->prog->regs[op->b].width : 0,
							&edges, lo, hi, w, op->aggr);
			break;
		case GNN_OP_EDGE_SOFTMAX:
			gnn_k_edge_softmax(y, a, &edges, lo, hi, w);
			break;
	}
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
			alloc_reg(ex, op->out);
			for (int64 lo = 0; lo < g->nnodes; lo += GNN_CHUNK_NODES)
			{
				gnn_exec_op(ex, i, lo, Min(lo + GNN_CHUNK_NODES, g->nnodes));
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
