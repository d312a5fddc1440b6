/*-------------------------------------------------------------------------
 *
 * subgraph.c
 *	  The subgraph strategies: inference per batch of target nodes.
 *
 * This is how sampling-based systems (PyG's NeighborLoader followed by
 * model(batch)) score a graph: the targets are taken in batches; for each
 * batch the L-hop in-neighbourhood is extracted and the whole model is run
 * on it, keeping only the targets' outputs.  Nodes shared by batches'
 * neighbourhoods are computed again in every batch.  It runs here with the
 * same kernels (and JIT) as the full-graph strategy, so that comparing the
 * two measures the paradigm, not the implementation:
 *
 *	subgraph			exact neighbourhoods (or sampled, with fanout), every
 *						layer on every subgraph node, as NeighborLoader does;
 *	subgraph_trimmed	each layer only on the nodes later layers still need.
 *
 * Exact neighbourhoods give the full-graph outputs; sampled ones, like
 * NeighborLoader's, an approximation that depends on the seed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "gnnjit.h"
#include "infer.h"
#include "progress.h"
#include "prune.h"
#include "stats.h"

/* One batch: its subgraph, run through the model; outputs into y */
static int64
run_batch(GnnModel *model, const GnnGraph *g, const int64 *targets, int n,
		  const GnnInferOptions *opts, pg_prng_state *rng, double cost,
		  GnnMemory *mem, float *y, double *layer_ms, bool *jit)
{
	const GnnProgram *prog = model->prog;
	int64	   *rows = NULL;
	GnnGraph   *sub;
	GnnInferResult r;

	memset(&r, 0, sizeof(r));
	if (opts->fanout)
		sub = gnn_sampled_subgraph(prog, g, targets, n, opts->fanout,
								   opts->hops, rng, mem);
	else
	{
		if (opts->strategy == GNN_STRATEGY_TRIMMED)
			rows = palloc(sizeof(int64) * prog->nops);
		sub = gnn_field_subgraph(prog, g, targets, n, rows, mem);
	}
	gnn_infer_graph(model, sub, rows, mem, cost, &r);
	*jit |= r.jit;
	memcpy(y, r.y, sizeof(float) * n * model->out_width);
	for (int l = 0; l < r.stats.nlayers; l++)
		layer_ms[l] += r.stats.layer_ms[l];
	return sub->nnodes;
}

/*
 * Run model on the graph of src by batches of opts->batch_size nodes, in
 * the node table's order.  The result holds every node's output.
 */
void
gnn_infer_subgraph(GnnModel *model, GnnGraphSource *src,
				   const GnnInferOptions *opts, GnnInferResult *out)
{
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	GnnGraph   *g = gnn_infer_read(model, src, &mem);
	int			w = model->out_width;
	float	   *y = gnn_mem_alloc(&mem, Max(g->nnodes, 1) * (int64) w * sizeof(float),
								  "the outputs");
	int64	   *targets = palloc(sizeof(int64) * opts->batch_size);
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"gnnjit batch",
													ALLOCSET_DEFAULT_SIZES);
	double		cost = gnn_exec_cost(model->prog, g);
	double	   *layer_ms = palloc0(sizeof(double) * Max(model->prog->nlayers, 1));
	pg_prng_state rng;

	pg_prng_seed(&rng, (uint64) opts->seed);
	gnn_progress_phase(GNN_PHASE_COMPUTING, g->nnodes);
	for (int64 b = 0; b < g->nnodes; b += opts->batch_size)
	{
		int			n = (int) Min(opts->batch_size, g->nnodes - b);
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		GnnMemory	bmem = {0, 0, mem.limit > 0 ? Max(mem.limit - mem.used, 1) : 0};

		for (int i = 0; i < n; i++)
			targets[i] = b + i;
		out->field_nodes += run_batch(model, g, targets, n, opts, &rng, cost,
									  &bmem, y + b * w, layer_ms, &out->jit);
		out->batches++;
		out->stats.peak_bytes = Max(out->stats.peak_bytes, mem.used + bmem.peak);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		gnn_progress_done(b + n);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(batch_cxt);

	out->y = y;
	out->ids = g->ids;
	out->nnodes = g->nnodes;
	out->width = w;
	out->rows_read = g->rows_read;
	out->stats.nlayers = model->prog->nlayers;
	out->stats.layer_ms = layer_ms;
	/* the whole run, not its last batch */
	gnn_stats_remember(model->prog, &out->stats, out->jit);
}
