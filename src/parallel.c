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
 * A graph of the graph catalog (node and edge types) is read by one
 * participant; each operation's chunks are then those of its node type's
 * range.
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
#include "storage/condition_variable.h"
#include "utils/dsa.h"
#include "utils/memutils.h"
#include "utils/snapshot.h"

#include "codegen.h"
#include "exec.h"
#include "gnnjit.h"
#include "infer.h"
#include "parallel.h"
#include "progress.h"
#include "stats.h"

/* Target nodes per claim, and output rows per claim */
#define PARALLEL_CHUNK 1024

/* Most registers a program run in parallel may have */
#define GNN_MAX_SHARED_REGS 512

/* Most processes of one parallel inference (Gather's workers + leader) */
#define GNN_MAX_PARTICIPANTS 64


struct GnnShared
{
	pg_atomic_uint32 reader;	/* claimed by the participant that reads */
	Barrier		barrier;
	pg_atomic_uint64 next;		/* the next chunk of the current phase */

	/* reading in parallel: each participant scans a share of each table */
	bool		parallel_read;
	int			max_participants;
	pg_atomic_uint32 next_participant;
	Size		node_pscan;		/* offsets of the parallel scans' state */
	Size		edge_pscan;
	pg_atomic_uint32 node_arrays;	/* 0, 1 being allocated, 2 allocated */
	ConditionVariable node_arrays_cv;
	int64		node_capacity;
	pg_atomic_uint64 next_node;	/* the first row not claimed */
	int64		node_last_start[GNN_MAX_PARTICIPANTS];
	int64		node_last_fill[GNN_MAX_PARTICIPANTS];
	int64		node_count[GNN_MAX_PARTICIPANTS];	/* rows that overflowed */
	int64		node_offset[GNN_MAX_PARTICIPANTS];
	int64		edge_count[GNN_MAX_PARTICIPANTS];
	dsa_pointer offsets;		/* participants x nodes: where edges go */
	dsa_pointer pos;			/* per edge: position in the table */

	/* published by the reader(s) */
	bool		jit;
	int64		nnodes;
	int64		rows_read;
	int64		peak_bytes;		/* of the graph and the layers' values */
	dsa_pointer ids;
	int			ntypes;			/* node types (0: homogeneous) */
	int64		type_off[GNN_MAX_NODE_TYPES];
	int64		type_rows[GNN_MAX_NODE_TYPES];
	int			out_type;
	dsa_pointer rowptr[GNN_MAX_VIEWS];
	dsa_pointer src[GNN_MAX_VIEWS];
	dsa_pointer weight[GNN_MAX_VIEWS];
	dsa_pointer fill_loop[GNN_MAX_VIEWS];
	dsa_pointer attr[GNN_MAX_VIEWS];
	int64		reg_rows[GNN_MAX_SHARED_REGS];
	dsa_pointer regs[GNN_MAX_SHARED_REGS];
};

/*
 * Shared memory of one parallel inference: the state, and the parallel
 * scans of the two tables when they can be read in parallel (source is
 * NULL otherwise).
 */
Size
gnn_parallel_size(const GnnGraphSource *source, Snapshot snapshot)
{
	Size		size = MAXALIGN(sizeof(GnnShared));

	if (source)
		size += MAXALIGN(gnn_graph_pscan_size(source->nodes, snapshot)) +
			MAXALIGN(gnn_graph_pscan_size(source->edges, snapshot));
	return size;
}

void
gnn_parallel_init(GnnShared *sh, const GnnGraphSource *source,
				  Snapshot snapshot, int max_participants)
{
	memset(sh, 0, sizeof(GnnShared));
	if (source && max_participants <= GNN_MAX_PARTICIPANTS)
	{
		sh->parallel_read = true;
		sh->max_participants = max_participants;
		sh->node_pscan = MAXALIGN(sizeof(GnnShared));
		sh->edge_pscan = sh->node_pscan +
			MAXALIGN(gnn_graph_pscan_size(source->nodes, snapshot));
		gnn_graph_pscan_init(source->nodes,
							 (ParallelTableScanDesc) ((char *) sh + sh->node_pscan),
							 snapshot);
		gnn_graph_pscan_init(source->edges,
							 (ParallelTableScanDesc) ((char *) sh + sh->edge_pscan),
							 snapshot);
	}
	pg_atomic_init_u32(&sh->next_participant, 0);
	pg_atomic_init_u32(&sh->node_arrays, 0);
	ConditionVariableInit(&sh->node_arrays_cv);
	pg_atomic_init_u64(&sh->next_node, 0);
	for (int p = 0; p < GNN_MAX_PARTICIPANTS; p++)
		sh->node_last_start[p] = -1;	/* none, for those that never come */
	pg_atomic_init_u32(&sh->reader, 0);
	pg_atomic_init_u64(&sh->next, 0);
	BarrierInit(&sh->barrier, 0);
	for (int r = 0; r < GNN_MAX_SHARED_REGS; r++)
		sh->regs[r] = InvalidDsaPointer;
	for (int v = 0; v < GNN_MAX_VIEWS; v++)
		sh->rowptr[v] = sh->src[v] = sh->weight[v] = sh->fill_loop[v] =
			sh->attr[v] = InvalidDsaPointer;
}

/* This process's address of a shared allocation, or NULL */
static void *
address(dsa_area *area, dsa_pointer dp)
{
	return DsaPointerIsValid(dp) ? dsa_get_address(area, dp) : NULL;
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

/* The node types' ranges, and the input of each type the model reads */
static void
publish_nodes(GnnParallelRun *run, const GnnProgram *prog, const GnnGraph *g)
{
	GnnShared  *sh = run->shared;

	sh->nnodes = g->nnodes;
	sh->rows_read = g->rows_read;
	sh->ids = share(run->area, g->ids, sizeof(int64) * g->nnodes);
	sh->ntypes = g->ntypes;
	sh->out_type = g->ntypes > 0 ? g->out_type : 0;
	for (int t = 0; t < Max(prog->ntypes, 1); t++)
	{
		int			in = prog->ntypes > 0 ? prog->inputs[t] : prog->input;
		int			width = g->ntypes > 0 ? g->types[t].width : g->width;

		sh->type_off[t] = gnn_graph_type_off(g, t);
		sh->type_rows[t] = gnn_graph_type_rows(g, t);
		/* a type the model does not read has no features (width 0) */
		if (in >= 0 && width > 0)
			sh->regs[in] = share(run->area, gnn_graph_type_x(g, t),
								 sizeof(float) * sh->type_rows[t] * width);
	}
}

/* Read the graph (src's tables, or else the catalog graph hs's) and copy
 * it into shared memory */
static void
read_and_publish(GnnParallelRun *run, GnnModel *model, GnnGraphSource *src,
				 const GnnHeteroSource *hs)
{
	GnnShared  *sh = run->shared;
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "gnnjit parallel read",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	GnnGraph   *g = hs ? gnn_infer_read_hetero(model, hs, &mem) :
		gnn_infer_read(model, src, &mem);
	int64		need;

	for (int v = 0; v < GNN_MAX_VIEWS; v++)
		if (model->prog->uses_views[v])
			gnn_graph_build_view(g, v);
	need = gnn_exec_estimate(model->prog, g);
	gnn_mem_reserve(&mem, need, "running the model's layers");
	sh->peak_bytes = mem.peak;

	publish_nodes(run, model->prog, g);
	for (int v = 0; v < GNN_MAX_VIEWS; v++)
	{
		const GnnCsr *csr = &g->views[v];

		if (!g->built[v])
			continue;
		sh->rowptr[v] = share(run->area, csr->rowptr, sizeof(int64) * (g->nnodes + 1));
		sh->src[v] = share(run->area, csr->src, sizeof(int32) * csr->nedges);
		sh->weight[v] = share(run->area, csr->weight, sizeof(float) * csr->nedges);
		sh->fill_loop[v] = share(run->area, csr->fill_loop, sizeof(bool) * g->nnodes);
		sh->attr[v] = share(run->area, csr->attr,
							sizeof(float) * csr->nedges * csr->attr_width);
	}
	for (int r = 0; r < model->prog->nregs; r++)
		sh->reg_rows[r] = model->prog->regs[r].space == GNN_SPACE_NODE ?
			gnn_graph_type_rows(g, model->prog->regs[r].ntype) :
			gnn_graph_view_edges(g, model->prog->regs[r].view);
	sh->jit = gnn_jit_enabled &&
		gnn_exec_cost(model->prog, g) >= gnn_jit_above_cost &&
		gnn_jit_available();

	/* the shared copy is all that is needed now */
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ---------- reading in parallel ---------- */

/*
 * The shared node arrays, allocated by the first participant to come (the
 * others wait for it): room for the planner's estimate of the rows and a
 * twentieth more, and a chunk for each participant to leave partly filled.
 */
static void
share_node_arrays(GnnParallelRun *run, GnnGraphSource *src, GnnMemory *mem)
{
	GnnShared  *sh = run->shared;
	uint32		expected = 0;

	if (pg_atomic_compare_exchange_u32(&sh->node_arrays, &expected, 1))
	{
		int64		nnodes,
					nedges;
		int64		cap;

		(void) gnn_graph_estimate_bytes(src, &nnodes, &nedges);
		cap = nnodes + nnodes / 20 + (int64) GNN_NODE_CHUNK * sh->max_participants;
		cap = Min(TYPEALIGN_DOWN(GNN_NODE_CHUNK, cap), TYPEALIGN_DOWN(GNN_NODE_CHUNK, PG_INT32_MAX));
		gnn_mem_reserve(mem, cap * (sizeof(int64) + src->width * sizeof(float)),
						"reading the node table");
		sh->ids = dsa_allocate_extended(run->area, cap * sizeof(int64), DSA_ALLOC_HUGE);
		sh->regs[run->input] = dsa_allocate_extended(run->area,
													 cap * src->width * sizeof(float),
													 DSA_ALLOC_HUGE);
		sh->node_capacity = cap;
		pg_write_barrier();
		pg_atomic_write_u32(&sh->node_arrays, 2);
		ConditionVariableBroadcast(&sh->node_arrays_cv);
		return;
	}
	ConditionVariablePrepareToSleep(&sh->node_arrays_cv);
	while (pg_atomic_read_u32(&sh->node_arrays) != 2)
		ConditionVariableSleep(&sh->node_arrays_cv, WAIT_EVENT_PARALLEL_FINISH);
	ConditionVariableCancelSleep();
	pg_read_barrier();
}

/* Rows in chunk k of the shared node arrays (all full but the last ones) */
static int64
chunk_fill(const GnnShared *sh, int64 k)
{
	for (int p = 0; p < sh->max_participants; p++)
		if (sh->node_last_start[p] == k * GNN_NODE_CHUNK)
			return sh->node_last_fill[p];
	return GNN_NODE_CHUNK;
}

/* The first row at or after row that no chunk filled */
static int64
next_hole(const GnnShared *sh, int64 row)
{
	for (;;)
	{
		int64		k = row / GNN_NODE_CHUNK;
		int64		fill = chunk_fill(sh, k);

		if (row - k * GNN_NODE_CHUNK < fill)
			row = k * GNN_NODE_CHUNK + fill;
		else
			return row;
	}
}

/*
 * Close the gaps the participants' last, partly filled chunks left: the
 * rows past the end of the n rows move into them (at most a chunk per
 * participant moves).  Returns n.
 */
static int64
compact_nodes(GnnParallelRun *run, int w)
{
	GnnShared  *sh = run->shared;
	int64	   *ids = dsa_get_address(run->area, sh->ids);
	float	   *x = dsa_get_address(run->area, sh->regs[run->input]);
	int64		nchunks = Min(pg_atomic_read_u64(&sh->next_node),
							  (uint64) sh->node_capacity) / GNN_NODE_CHUNK;
	int64		n = nchunks * GNN_NODE_CHUNK;
	int64		hole = 0;

	for (int p = 0; p < sh->max_participants; p++)
		if (sh->node_last_start[p] >= 0)
			n -= GNN_NODE_CHUNK - sh->node_last_fill[p];

	/* each row at n or past it goes to the next hole below n */
	for (int64 k = n / GNN_NODE_CHUNK; k < nchunks; k++)
	{
		int64		end = k * GNN_NODE_CHUNK + chunk_fill(sh, k);

		for (int64 from = Max(k * GNN_NODE_CHUNK, n); from < end; from++)
		{
			hole = next_hole(sh, hole);
			ids[hole] = ids[from];
			memcpy(x + hole * w, x + from * w, sizeof(float) * w);
			hole++;
		}
	}
	return n;
}

/*
 * With the shared arrays too small (the estimate was low), arrays of the
 * exact size: the n rows there first, then room for every participant's
 * overflow at node_offset[p].
 */
static void
grow_node_arrays(GnnParallelRun *run, int64 n, int w)
{
	GnnShared  *sh = run->shared;
	int64		total = n;
	dsa_pointer ids,
				x;

	for (int p = 0; p < sh->max_participants; p++)
	{
		sh->node_offset[p] = total;
		total += sh->node_count[p];
	}
	if (total > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("gnn_infer supports at most %d nodes", PG_INT32_MAX)));
	ids = dsa_allocate_extended(run->area, Max(total, 1) * sizeof(int64), DSA_ALLOC_HUGE);
	x = dsa_allocate_extended(run->area, Max(total, 1) * w * sizeof(float), DSA_ALLOC_HUGE);
	memcpy(dsa_get_address(run->area, ids), dsa_get_address(run->area, sh->ids),
		   sizeof(int64) * n);
	memcpy(dsa_get_address(run->area, x), dsa_get_address(run->area, sh->regs[run->input]),
		   sizeof(float) * n * w);
	dsa_free(run->area, sh->ids);
	dsa_free(run->area, sh->regs[run->input]);
	sh->ids = ids;
	sh->regs[run->input] = x;
	sh->nnodes = total;
}

/*
 * Nodes: every participant reads a share into the shared arrays; the
 * gaps closed, rows that did not fit are moved in by their readers.
 */
static void
read_nodes_part(GnnParallelRun *run, GnnGraphSource *src, int me, GnnMemory *mem)
{
	GnnShared  *sh = run->shared;
	GnnNodeChunks chunks;
	GnnNodeShare share;
	int			w = src->width;

	share_node_arrays(run, src, mem);
	chunks.ids = dsa_get_address(run->area, sh->ids);
	chunks.x = dsa_get_address(run->area, sh->regs[run->input]);
	chunks.capacity = sh->node_capacity;
	chunks.next = &sh->next_node;
	gnn_graph_read_nodes_shared(src, (ParallelTableScanDesc) ((char *) sh + sh->node_pscan),
								&chunks, mem, &share);
	sh->node_last_start[me] = share.last_start;
	sh->node_last_fill[me] = share.last_fill;
	sh->node_count[me] = share.overflow ? share.overflow->nnodes : 0;
	if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
	{
		int64		n = compact_nodes(run, w);

		sh->nnodes = n;
		for (int p = 0; p < sh->max_participants; p++)
			if (sh->node_count[p] > 0)
			{
				grow_node_arrays(run, n, w);
				break;
			}
		sh->offsets = dsa_allocate_extended(run->area,
											Max(sh->nnodes, 1) * sh->max_participants * sizeof(int64),
											DSA_ALLOC_HUGE | DSA_ALLOC_ZERO);
	}
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);
	if (share.overflow)
	{
		memcpy((int64 *) dsa_get_address(run->area, sh->ids) + sh->node_offset[me],
			   share.overflow->ids, sizeof(int64) * share.overflow->nnodes);
		memcpy((float *) dsa_get_address(run->area, sh->regs[run->input]) +
			   sh->node_offset[me] * w,
			   share.overflow->x, sizeof(float) * share.overflow->nnodes * w);
	}
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);
}

/*
 * Lay out the CSR: row i holds, participant by participant, the edges
 * into node i; offsets[p][i] becomes where participant p's go.
 */
static void
layout_edges(GnnParallelRun *run, bool has_weight)
{
	GnnShared  *sh = run->shared;
	int64		n = sh->nnodes;
	int64	   *offsets = dsa_get_address(run->area, sh->offsets);
	int64	   *rowptr;
	int64		m = 0;

	for (int p = 0; p < sh->max_participants; p++)
		m += sh->edge_count[p];
	sh->rowptr[0] = dsa_allocate_extended(run->area, (n + 1) * sizeof(int64), DSA_ALLOC_HUGE);
	sh->src[0] = dsa_allocate_extended(run->area, Max(m, 1) * sizeof(int32), DSA_ALLOC_HUGE);
	sh->pos = dsa_allocate_extended(run->area, Max(m, 1) * sizeof(uint64), DSA_ALLOC_HUGE);
	if (has_weight)
		sh->weight[0] = dsa_allocate_extended(run->area, Max(m, 1) * sizeof(float), DSA_ALLOC_HUGE);
	rowptr = dsa_get_address(run->area, sh->rowptr[0]);
	m = 0;
	for (int64 i = 0; i < n; i++)
	{
		rowptr[i] = m;
		for (int p = 0; p < sh->max_participants; p++)
		{
			int64		c = offsets[p * n + i];

			offsets[p * n + i] = m;
			m += c;
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	rowptr[n] = m;
	pg_atomic_write_u64(&sh->next, 0);
}

typedef struct PosEdge
{
	uint64		pos;
	int32		src;
	float		weight;
} PosEdge;

/*
 * Restore the table order within the in-edges of one node, [begin, end):
 * participant p's edges, already in table order (a participant's share of
 * a parallel scan comes in block order), are the run [bound[p],
 * bound[p + 1]).  Merging the runs is linear; the row is then the serial
 * read's.
 */
static void
merge_row(uint64 *pos, int32 *src, float *weight, const int64 *bound,
		  int nruns, PosEdge *tmp)
{
	int64		begin = bound[0];
	int64		n = bound[nruns] - begin;
	int64		head[GNN_MAX_PARTICIPANTS];

	memcpy(head, bound, sizeof(int64) * nruns);
	for (int64 k = 0; k < n; k++)
	{
		int			best = -1;

		for (int r = 0; r < nruns; r++)
			if (head[r] < bound[r + 1] &&
				(best < 0 || pos[head[r]] < pos[head[best]]))
				best = r;
		tmp[k].pos = pos[head[best]];
		tmp[k].src = src[head[best]];
		tmp[k].weight = weight ? weight[head[best]] : 0;
		head[best]++;
	}
	for (int64 k = 0; k < n; k++)
	{
		pos[begin + k] = tmp[k].pos;
		src[begin + k] = tmp[k].src;
		if (weight)
			weight[begin + k] = tmp[k].weight;
	}
}

/* The most in-edges of a node */
static int64
max_row(const int64 *rowptr, int64 n)
{
	int64		most = 0;

	for (int64 i = 0; i < n; i++)
		most = Max(most, rowptr[i + 1] - rowptr[i]);
	return most;
}

/* Edges: every participant reads a share and puts it in its place */
static void
read_edges_part(GnnParallelRun *run, GnnGraphSource *src, int me, GnnMemory *mem)
{
	GnnShared  *sh = run->shared;
	int64		n = sh->nnodes;
	int64	   *offsets = dsa_get_address(run->area, sh->offsets);
	GnnEdgePart part;
	int64	   *rowptr;
	int32	   *srcs;
	float	   *weight;
	uint64	   *pos;
	PosEdge    *tmp;

	gnn_graph_read_edges_part(src, (ParallelTableScanDesc) ((char *) sh + sh->edge_pscan),
							  sh->max_participants, dsa_get_address(run->area, sh->ids), n, mem, &part);
	for (int64 e = 0; e < part.n; e++)
		offsets[me * n + part.dst[e]]++;
	sh->edge_count[me] = part.n;
	if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
		layout_edges(run, src->weight_col != NULL);
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);

	srcs = dsa_get_address(run->area, sh->src[0]);
	pos = dsa_get_address(run->area, sh->pos);
	weight = address(run->area, sh->weight[0]);
	for (int64 e = 0; e < part.n; e++)
	{
		int64		k = offsets[me * n + part.dst[e]]++;

		srcs[k] = part.src[e];
		pos[k] = part.pos[e];
		if (weight)
			weight[k] = part.weight[e];
	}
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);

	/* restore the table order within each row, chunks of rows at a time */
	rowptr = dsa_get_address(run->area, sh->rowptr[0]);
	tmp = palloc_extended(sizeof(PosEdge) * Max(max_row(rowptr, n), 1), MCXT_ALLOC_HUGE);
	for (;;)
	{
		uint64		lo = pg_atomic_fetch_add_u64(&sh->next, PARALLEL_CHUNK);

		if (lo >= (uint64) n)
			break;
		for (int64 i = lo; i < Min((int64) lo + PARALLEL_CHUNK, n); i++)
		{
			int64		bound[GNN_MAX_PARTICIPANTS + 1];
			int			nruns = 0;

			/* after the scatter, offsets[p][i] is where p's run ends */
			bound[0] = rowptr[i];
			for (int p = 0; p < sh->max_participants; p++)
				if (offsets[p * n + i] > bound[nruns])
					bound[++nruns] = offsets[p * n + i];
			if (nruns > 1)
				merge_row(pos, srcs, weight, bound, nruns, tmp);
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(tmp);
}

/*
 * The graph read in parallel is complete: build the other edge views and
 * decide on the JIT; done by one participant.
 */
static void
finish_parallel_read(GnnParallelRun *run, GnnModel *model, int width,
					 bool has_weight)
{
	GnnShared  *sh = run->shared;
	GnnGraph	g;
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};

	dsa_free(run->area, sh->pos);
	dsa_free(run->area, sh->offsets);
	sh->pos = sh->offsets = InvalidDsaPointer;

	memset(&g, 0, sizeof(g));
	g.nnodes = sh->nnodes;
	g.width = width;
	g.has_weight = has_weight;
	g.built[GNN_EDGES_AS_GIVEN] = true;
	g.views[0].rowptr = dsa_get_address(run->area, sh->rowptr[0]);
	g.views[0].src = dsa_get_address(run->area, sh->src[0]);
	g.views[0].weight = address(run->area, sh->weight[0]);
	g.views[0].nedges = g.views[0].rowptr[g.nnodes];
	sh->rows_read = g.nnodes + g.views[0].nedges;

	if (model->prog->uses_views[GNN_EDGES_ONE_SELF_LOOP])
	{
		GnnCsr	   *out = &g.views[GNN_EDGES_ONE_SELF_LOOP];
		int64		m = gnn_graph_loop_view_edges(&g.views[0], 0, g.nnodes);
		int			v = GNN_EDGES_ONE_SELF_LOOP;

		sh->rowptr[v] = dsa_allocate_extended(run->area, (g.nnodes + 1) * sizeof(int64), DSA_ALLOC_HUGE);
		sh->src[v] = dsa_allocate_extended(run->area, Max(m, 1) * sizeof(int32), DSA_ALLOC_HUGE);
		sh->fill_loop[v] = dsa_allocate_extended(run->area, Max(g.nnodes, 1), DSA_ALLOC_HUGE);
		if (has_weight)
			sh->weight[v] = dsa_allocate_extended(run->area, Max(m, 1) * sizeof(float), DSA_ALLOC_HUGE);
		out->rowptr = dsa_get_address(run->area, sh->rowptr[v]);
		out->src = dsa_get_address(run->area, sh->src[v]);
		out->fill_loop = dsa_get_address(run->area, sh->fill_loop[v]);
		out->weight = address(run->area, sh->weight[v]);
		gnn_graph_fill_loop_view(&g.views[0], g.nnodes, 0, g.nnodes, out);
		g.built[v] = true;
	}

	/* the memory limit, now that the sizes are known */
	gnn_mem_reserve(&mem, g.nnodes * (sizeof(int64) + sizeof(float) * width) +
					g.views[0].nedges * (sizeof(int32) + (has_weight ? sizeof(float) : 0)),
					"the graph");
	gnn_mem_reserve(&mem, gnn_exec_estimate(model->prog, &g), "running the model's layers");
	sh->peak_bytes = mem.peak;
	sh->type_rows[0] = g.nnodes;
	for (int r = 0; r < model->prog->nregs; r++)
		sh->reg_rows[r] = model->prog->regs[r].space == GNN_SPACE_NODE ?
			g.nnodes : gnn_graph_view_edges(&g, model->prog->regs[r].view);
	sh->jit = gnn_jit_enabled &&
		gnn_exec_cost(model->prog, &g) >= gnn_jit_above_cost &&
		gnn_jit_available();
}

/* Read the tables with every participant; ends at the common barrier */
static void
read_in_parallel(GnnParallelRun *run, GnnModel *model, GnnGraphSource *src)
{
	GnnShared  *sh = run->shared;
	int			me = pg_atomic_fetch_add_u32(&sh->next_participant, 1);
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "gnnjit parallel read",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	if (me >= sh->max_participants)
		elog(ERROR, "gnnjit: more participants than planned");
	src->width = model->in_width;
	gnn_progress_begin(model->name, src->nodes, model->prog->nlayers);
	read_nodes_part(run, src, me, &mem);
	read_edges_part(run, src, me, &mem);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
		finish_parallel_read(run, model, src->width, src->weight_col != NULL);
}

/* ---------- every participant ---------- */


/* Point this process's kernel environment at the shared graph */
/*
 * Point the executor at the shared graph: its edge views, and a graph of
 * node type ranges only (no data) for the executor's row arithmetic.
 */
static void
attach_env(GnnParallelRun *run, GnnExec *ex)
{
	GnnShared  *sh = run->shared;
	GnnGraph   *ranges = palloc0(sizeof(GnnGraph));

	ranges->nnodes = ranges->nlocal = sh->nnodes;
	ranges->ntypes = sh->ntypes;
	for (int t = 0; t < sh->ntypes; t++)
	{
		ranges->types[t].off = sh->type_off[t];
		ranges->types[t].n = sh->type_rows[t];
	}
	ex->g = ranges;
	ex->nlocal = sh->nnodes;
	for (int v = 0; v < GNN_MAX_VIEWS; v++)
	{
		ex->env.rowptr[v] = address(run->area, sh->rowptr[v]);
		ex->env.src[v] = address(run->area, sh->src[v]);
		ex->env.weight[v] = address(run->area, sh->weight[v]);
		ex->env.fill_loop[v] = address(run->area, sh->fill_loop[v]);
		ex->env.attr[v] = address(run->area, sh->attr[v]);
	}
	ex->env.regs = ex->regs;
	ex->row0 = palloc0(sizeof(int64) * ex->prog->nregs);
	for (int r = 0; r < ex->prog->nregs; r++)
		if (ex->prog->regs[r].space == GNN_SPACE_NODE)
			ex->row0[r] = gnn_graph_type_off(ranges, ex->prog->regs[r].ntype);
	ex->env.row0 = ex->row0;
}

/*
 * Allocate the outputs of operations [first, end) (a fused run's
 * intermediates live in each participant's own scratch) and free the
 * values nobody reads any more; done by one participant while the others
 * wait.
 */
static void
allocate_ops(GnnParallelRun *run, const GnnExec *ex, int first, int end)
{
	GnnShared  *sh = run->shared;
	const GnnProgram *prog = ex->prog;

	/*
	 * (the input features too: nothing reads them after the program, and a
	 * later register of their size reuses their pages, already faulted in)
	 */
	for (int r = 0; r < prog->nregs; r++)
		if (ex->last_use[r] < first && r != run->output &&
			DsaPointerIsValid(sh->regs[r]))
		{
			dsa_free(run->area, sh->regs[r]);
			sh->regs[r] = InvalidDsaPointer;
		}
	for (int i = first; i < end; i++)
	{
		int			out = prog->ops[i].out;

		if (end > first + 1 && gnn_exec_intermediate(ex, out, end))
			continue;
		sh->regs[out] = dsa_allocate_extended(run->area,
											  Max(sh->reg_rows[out] * prog->regs[out].width * sizeof(float), 1),
											  DSA_ALLOC_HUGE);
	}
	pg_atomic_write_u64(&sh->next, 0);
}

/* Run the chunks of operations [first, end) this participant claims */
static void
run_ops(GnnParallelRun *run, GnnExec *ex, int first, int end)
{
	GnnShared  *sh = run->shared;
	const GnnProgram *prog = ex->prog;
	bool		fused = end > first + 1;
	int64		base,
				top;

	/* the target nodes: those of the operations' node type */
	gnn_exec_op_range(ex, first, &base, &top);
	for (int r = 0; r < prog->nregs; r++)
		ex->regs[r] = address(run->area, sh->regs[r]);
	if (fused)
		gnn_exec_begin_blocks(ex, first, end);
	for (;;)
	{
		int64		lo = base + (int64) pg_atomic_fetch_add_u64(&sh->next, PARALLEL_CHUNK);
		int64		hi = Min(lo + PARALLEL_CHUNK, top);

		if (lo >= top)
			break;
		if (fused)
			gnn_exec_blocks(ex, first, end, lo, hi);
		else
			gnn_exec_op(ex, first, lo, hi);
		gnn_progress_layer(prog->ops[end - 1].layer, hi - base);
		CHECK_FOR_INTERRUPTS();
	}
	if (fused)
		gnn_exec_end_blocks(ex, first, end);
}

/*
 * Take part in the inference.  Returns false if this participant came too
 * late to be needed; otherwise the outputs can be claimed with
 * gnn_parallel_next_rows().
 */
bool
gnn_parallel_compute(GnnParallelRun *run, GnnModel *model, GnnGraphSource *src,
					 const GnnHeteroSource *hs)
{
	GnnShared  *sh = run->shared;
	const GnnProgram *prog = model->prog;
	GnnExec		ex;
	GnnMemory	mem = {0, 0, 0};
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
	run->input = prog->input;
	run->output = hs ? prog->outputs[hs->out_type] : prog->output;
	if (sh->parallel_read && hs == NULL)
		read_in_parallel(run, model, src);
	else if (pg_atomic_exchange_u32(&sh->reader, 1) == 0)
		read_and_publish(run, model, src, hs);
	else
	{
		if (hs == NULL)
			src->width = model->in_width;
		gnn_progress_begin(model->name, hs ? hs->nodes[hs->out_type].rel : src->nodes,
						   prog->nlayers);
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
		ex.fuse = gnn_jit_fusion;
	}
	ex.last_use = gnn_program_last_use(prog);
	ex.mem = &mem;
	if (hs)
		ex.needed = gnn_program_needed_ops(prog, run->output);
	attach_env(run, &ex);
	gnn_progress_phase(GNN_PHASE_COMPUTING, sh->nnodes);

	for (int i = 0; i < prog->nops;)
	{
		int			end = i + 1;

		if (prog->ops[i].kind == GNN_OP_INPUT || (ex.needed && !ex.needed[i]))
		{
			i++;
			continue;
		}
		if (ex.fuse)
			end = Max(gnn_exec_fused_end(&ex, i), i + 1);
		INSTR_TIME_SET_CURRENT(start);
		if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
			allocate_ops(run, &ex, i, end);
		BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);
		run_ops(run, &ex, i, end);
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		/* fused runs time each operation inside (waits are not counted) */
		if (end == i + 1 && prog->ops[i].layer >= 0)
			ex.stats.layer_ms[prog->ops[i].layer] += INSTR_TIME_GET_MILLISEC(duration);
		i = end;
	}

	/* every operation is complete: hand out the output rows */
	if (BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH))
		pg_atomic_write_u64(&sh->next, 0);
	BarrierArriveAndWait(&sh->barrier, WAIT_EVENT_PARALLEL_FINISH);
	gnn_progress_end();
	gnn_stats_remember(prog, &ex.stats, ex.jit);

	run->ids = (int64 *) address(run->area, sh->ids) + sh->type_off[sh->out_type];
	run->y = address(run->area, sh->regs[run->output]);
	run->width = prog->regs[run->output].width;
	run->nnodes = sh->type_rows[sh->out_type];
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
