/*-------------------------------------------------------------------------
 *
 * prune.c
 *	  Inference for selected nodes: only their receptive field.
 *
 * The same machinery serves the subgraph strategy (subgraph.c), which
 * takes its in-edges and features from a graph already in memory instead,
 * and can sample neighbours as PyG's NeighborLoader does.
 *
 * Walking the module program backwards from the output rows of the target
 * nodes gives, for every register, the set of nodes whose rows (or whose
 * in-edges' rows) are needed: a row-wise operation needs the same nodes of
 * its inputs, a gather at the source needs the sources of those nodes'
 * in-edges, message passing needs the in-edges of its nodes.  In-edges are
 * read on demand, by target, through the caller's own queries (an index on
 * the edge table's dst column makes a point query read only the
 * neighbourhood), and features only for the nodes the input register
 * needs.
 *
 * The nodes are then numbered so that every register's needed set lies in
 * a prefix: nodes needed late in the program (the targets, which the output
 * needs) come first, the outermost hop last.  Each operation then runs over
 * its prefix with the ordinary kernels, so every (node, layer) value is
 * computed once, the frontier shrinks layer by layer, and the rows are
 * those of the full-graph run.
 *
 * On a heterogeneous graph (read whole from the catalog graph's tables)
 * the same walk runs over the graph in memory: a node's in-edges are kept
 * per edge type, and the nodes are numbered type by type, each type's
 * needed nodes a prefix of its range.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"

#include "exec.h"
#include "gnnjit.h"
#include "idmap.h"
#include "progress.h"
#include "prune.h"

/* Targets per query when reading in-edges */
#define PRUNE_BATCH 10000

/* A growing array of local node numbers, with membership marks */
typedef struct NodeSet
{
	int32	   *items;
	int32		count;
	int32		capacity;
	uint8	   *mark;			/* by local node, sized like Prune's arrays */
} NodeSet;

typedef struct Prune
{
	const GnnProgram *prog;
	GnnGraphReader *reader;		/* reading from tables, or */
	const GnnGraph *whole;		/* a graph in memory, ids = its indexes */
	GnnMemory  *mem;
	gnnid_hash *ids;			/* id -> local node */

	int			netypes;		/* edge types (1 for a homogeneous graph) */

	/* local nodes; with whole, id is the node's index in it */
	int32		n;
	int32		capacity;
	int64	   *id;
	int32	   *key;			/* last operation that needs the node */
	/* per node and edge type (v * netypes + r): */
	bool	   *loaded;			/* in-edges read */
	int64	   *estart;			/* into the edge pool */
	int32	   *ecount;

	/* in-edges of loaded nodes, grouped by target, in table order */
	int64		npool;
	int64		pool_capacity;
	int32	   *psrc;			/* local source */
	float	   *pweight;		/* read from tables: the weight */
	int64	   *pedge;			/* with whole: the edge in its CSR */

	NodeSet    *need;			/* per register */
} Prune;

/* ---------- local nodes and sets ---------- */

static void *
grow(Prune *p, void *ptr, int64 oldbytes, int64 newbytes)
{
	gnn_mem_reserve(p->mem, newbytes - oldbytes, "the receptive field");
	if (ptr == NULL)
		return palloc_extended(newbytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ptr = repalloc_huge(ptr, newbytes);
	memset((char *) ptr + oldbytes, 0, newbytes - oldbytes);
	return ptr;
}

static void
grow_nodes(Prune *p)
{
	int32		old = p->capacity;
	int32		cap = Max(old * 2, 1024);
	int64		ne = p->netypes;

	if (old >= PG_INT32_MAX / 2 / ne)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("receptive field too large")));
	p->id = grow(p, p->id, old * sizeof(int64), cap * sizeof(int64));
	p->loaded = grow(p, p->loaded, old * ne * sizeof(bool), cap * ne * sizeof(bool));
	p->estart = grow(p, p->estart, old * ne * sizeof(int64), cap * ne * sizeof(int64));
	p->ecount = grow(p, p->ecount, old * ne * sizeof(int32), cap * ne * sizeof(int32));
	p->key = grow(p, p->key, old * sizeof(int32), cap * sizeof(int32));
	for (int32 v = old; v < cap; v++)
		p->key[v] = -1;
	for (int r = 0; r < p->prog->nregs; r++)
		p->need[r].mark = grow(p, p->need[r].mark, old, cap);
	p->capacity = cap;
}

/* The local number of node id, numbering it if new */
static int32
local_node(Prune *p, int64 id)
{
	bool		found;
	GnnIdEntry *e = gnnid_insert(p->ids, id, &found);

	if (!found)
	{
		if (p->n == p->capacity)
			grow_nodes(p);
		e->index = p->n;
		p->id[p->n++] = id;
	}
	return e->index;
}

static void
add_need(Prune *p, int reg, int32 v)
{
	NodeSet    *s = &p->need[reg];

	if (s->mark[v])
		return;
	s->mark[v] = 1;
	if (s->count == s->capacity)
	{
		int32		cap = Max(s->capacity * 2, 64);

		s->items = grow(p, s->items, s->capacity * sizeof(int32), cap * sizeof(int32));
		s->capacity = cap;
	}
	s->items[s->count++] = v;
}

/* ---------- reading in-edges ---------- */

/* An in-edge of the last node whose edges started (edge: whole's, or -1) */
static void
append_pool(Prune *p, int32 src, float weight, int64 edge)
{
	if (p->npool == p->pool_capacity)
	{
		int64		cap = Max(p->pool_capacity * 2, 4096);

		p->psrc = grow(p, p->psrc, p->pool_capacity * sizeof(int32), cap * sizeof(int32));
		if (p->whole)
			p->pedge = grow(p, p->pedge, p->pool_capacity * sizeof(int64), cap * sizeof(int64));
		else
			p->pweight = grow(p, p->pweight, p->pool_capacity * sizeof(float), cap * sizeof(float));
		p->pool_capacity = cap;
	}
	p->psrc[p->npool] = src;
	if (p->whole)
		p->pedge[p->npool] = edge;
	else
		p->pweight[p->npool] = weight;
	p->npool++;
}

/* The in-edge CSR of edge type r in the graph in memory */
static const GnnCsr *
whole_csr(const Prune *p, int r)
{
	return &p->whole->views[GNN_VIEW(r, GNN_EDGES_AS_GIVEN)];
}

/* In-edges of v of edge type r from the graph in memory, in table order */
static void
copy_in_edges(Prune *p, int32 v, int r)
{
	const GnnCsr *csr = whole_csr(p, r);
	int64		i = p->id[v];
	int64		k = (int64) v * p->netypes + r;

	p->estart[k] = p->npool;
	for (int64 e = csr->rowptr[i]; e < csr->rowptr[i + 1]; e++)
		append_pool(p, local_node(p, csr->src[e]), 0, e);
	p->ecount[k] = (int32) (p->npool - p->estart[k]);
}

/*
 * Append edges (in-edges of batch[0..nb), in table order) to the pool
 * grouped by target, table order kept within each: a stable counting sort
 * on the target's position in the batch.
 */
static void
group_by_target(Prune *p, const GnnEdgeList *edges, const int32 *batch, int nb)
{
	int32	   *slot = palloc(sizeof(int32) * edges->n + 1);
	int64	   *start = palloc0(sizeof(int64) * (nb + 1));
	int64	   *order = palloc(sizeof(int64) * edges->n + 1);
	int32	   *pos = palloc(sizeof(int32) * p->n);
	int64	   *fill;

	/* batch[] are local nodes, their ids in p->ids: pos is by local node */
	for (int b = 0; b < nb; b++)
		pos[batch[b]] = b;
	for (int64 e = 0; e < edges->n; e++)
	{
		GnnIdEntry *t = gnnid_lookup(p->ids, edges->dst[e]);

		if (t == NULL)
			elog(ERROR, "edge read for a target that was not asked for");
		slot[e] = pos[t->index];
		start[slot[e] + 1]++;
	}
	for (int b = 0; b < nb; b++)
		start[b + 1] += start[b];
	pfree(pos);
	fill = palloc(sizeof(int64) * (nb + 1));
	memcpy(fill, start, sizeof(int64) * (nb + 1));
	for (int64 e = 0; e < edges->n; e++)
		order[fill[slot[e]]++] = e;

	for (int b = 0; b < nb; b++)
	{
		p->estart[batch[b]] = p->npool;
		for (int64 i = start[b]; i < start[b + 1]; i++)
		{
			int64		e = order[i];

			append_pool(p, local_node(p, edges->src[e]),
						edges->weight ? edges->weight[e] : 1.0f, -1);
		}
		p->ecount[batch[b]] = (int32) (p->npool - p->estart[batch[b]]);
		if ((b & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(slot);
	pfree(start);
	pfree(order);
	pfree(fill);
}

/*
 * Read the in-edges of edge type r of nodes[0..n) not read yet, grouping
 * them by target
 */
static void
load_in_edges(Prune *p, const int32 *nodes, int32 n, int r)
{
	int64	   *dsts;
	int32	   *batch;
	int			nb = 0;

	if (p->whole)
	{
		for (int32 i = 0; i < n; i++)
			if (!p->loaded[(int64) nodes[i] * p->netypes + r])
			{
				p->loaded[(int64) nodes[i] * p->netypes + r] = true;
				copy_in_edges(p, nodes[i], r);
			}
		return;
	}

	dsts = palloc(sizeof(int64) * PRUNE_BATCH);
	batch = palloc(sizeof(int32) * PRUNE_BATCH);
	for (int32 i = 0; i <= n; i++)
	{
		GnnEdgeList edges;

		if (i < n && !p->loaded[nodes[i]])
		{
			p->loaded[nodes[i]] = true;
			batch[nb] = nodes[i];
			dsts[nb++] = p->id[nodes[i]];
		}
		if (nb == 0 || (nb < PRUNE_BATCH && i < n))
			continue;

		gnn_reader_in_edges(p->reader, dsts, nb, &edges);
		group_by_target(p, &edges, batch, nb);
		nb = 0;
	}
}

/* ---------- the backward pass ---------- */

/* add to reg the sources of the in-edges of v, as view sees them */
static void
need_sources(Prune *p, int reg, int32 v, int view)
{
	int64		k = (int64) v * p->netypes + GNN_VIEW_ETYPE(view);
	bool		loop = (GNN_VIEW_MODE(view) == GNN_EDGES_ONE_SELF_LOOP);

	for (int64 e = p->estart[k]; e < p->estart[k] + p->ecount[k]; e++)
		if (!loop || p->psrc[e] != v)
			add_need(p, reg, p->psrc[e]);
	if (loop)
		add_need(p, reg, v);
}

/*
 * What operation op needs of its inputs, given what is needed of its
 * output (the set "out", a snapshot of need[op->out]).
 */
static void
need_inputs(Prune *p, const GnnOp *op, const int32 *out, int32 n)
{
	const GnnProgram *prog = p->prog;
	bool		edges = (prog->regs[op->out].space == GNN_SPACE_EDGE);
	bool		node_msg = (op->a >= 0 && prog->regs[op->a].space == GNN_SPACE_NODE);

	if (edges || op->kind == GNN_OP_AGGREGATE)
		load_in_edges(p, out, n, GNN_VIEW_ETYPE(op->view));

	for (int32 i = 0; i < n; i++)
	{
		int32		v = out[i];

		switch (op->kind)
		{
			case GNN_OP_INPUT:
			case GNN_OP_EDGE_WEIGHT:
				break;
			case GNN_OP_GATHER_SRC:
				need_sources(p, op->a, v, op->view);
				break;
			case GNN_OP_EDGE_DOT:
				add_need(p, op->a, v);
				need_sources(p, op->b, v, op->view);
				break;
			case GNN_OP_AGGREGATE:
				if (node_msg)
					need_sources(p, op->a, v, op->view);
				else
					add_need(p, op->a, v);
				if (op->b >= 0)
					add_need(p, op->b, v);
				break;
			default:
				/* row-wise, gathers at the target, edge softmax */
				if (op->a >= 0)
					add_need(p, op->a, v);
				if (op->b >= 0)
					add_need(p, op->b, v);
				break;
		}
	}
}

static void
backward(Prune *p)
{
	const GnnProgram *prog = p->prog;

	for (int i = prog->nops - 1; i >= 0; i--)
	{
		const GnnOp *op = &prog->ops[i];
		NodeSet    *out = &p->need[op->out];
		int32		n = out->count;
		int32	   *snapshot;

		if (n == 0)
			continue;
		snapshot = palloc(sizeof(int32) * n);
		memcpy(snapshot, out->items, sizeof(int32) * n);
		for (int32 j = 0; j < n; j++)
			p->key[snapshot[j]] = Max(p->key[snapshot[j]], i);
		need_inputs(p, op, snapshot, n);
		pfree(snapshot);
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------- the pruned graph ---------- */

/* The node type of local node v (0 in a homogeneous graph) */
static int
node_type(const Prune *p, int32 v)
{
	const GnnGraph *w = p->whole;

	if (w == NULL || w->ntypes == 0)
		return 0;
	for (int t = w->ntypes - 1; t > 0; t--)
		if (p->id[v] >= w->types[t].off)
			return t;
	return 0;
}

static Prune *sort_p;			/* qsort has no context argument */

/* By node type, then by decreasing last need */
static int
by_type_key_desc(const void *a, const void *b)
{
	int32		va = *(const int32 *) a;
	int32		vb = *(const int32 *) b;
	int			ta = node_type(sort_p, va);
	int			tb = node_type(sort_p, vb);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (sort_p->key[va] != sort_p->key[vb])
		return sort_p->key[va] > sort_p->key[vb] ? -1 : 1;
	return (va > vb) - (va < vb);
}

/*
 * Number the nodes type by type, each type's by decreasing last need, so
 * that every register's needed nodes form a prefix of its type's range;
 * rows[i] is the prefix operation i runs over, off[t] the first node of
 * type t.
 */
static int32 *
order_nodes(Prune *p, int64 *rows, int64 *off)
{
	int32	   *order = palloc(sizeof(int32) * Max(p->n, 1));
	int32	   *pos = palloc(sizeof(int32) * Max(p->n, 1));

	for (int32 v = 0; v < p->n; v++)
		order[v] = v;
	sort_p = p;
	qsort(order, p->n, sizeof(int32), by_type_key_desc);
	for (int t = 0; t < GNN_MAX_NODE_TYPES; t++)
		off[t] = p->n;
	for (int32 k = p->n - 1; k >= 0; k--)
	{
		pos[order[k]] = k;
		off[node_type(p, order[k])] = k;
	}
	for (int t = GNN_MAX_NODE_TYPES - 2; t >= 0; t--)
		off[t] = Min(off[t], off[t + 1]);

	for (int i = 0; i < p->prog->nops; i++)
	{
		const GnnOp *op = &p->prog->ops[i];
		NodeSet    *s = &p->need[op->out];
		int64		first = off[gnn_op_node_type(p->prog, op)];

		rows[i] = 0;
		for (int32 j = 0; j < s->count; j++)
			rows[i] = Max(rows[i], pos[s->items[j]] + 1 - first);
	}
	pfree(order);
	return pos;
}

/*
 * Features of the nodes the input register needs, read by id straight into
 * their rows of g, all in one read (its keys are sorted once: in batches,
 * each would span the whole index); the other rows are zeros, which
 * nothing reads.
 */
static void
read_rows(Prune *p, GnnGraph *g, const int32 *pos)
{
	NodeSet    *s = &p->need[p->prog->input];
	int64	   *ids = palloc(sizeof(int64) * Max(s->count, 1));
	int32	   *rows = palloc(sizeof(int32) * Max(s->count, 1));
	bool	   *found = palloc0(sizeof(bool) * Max(p->n, 1));

	for (int32 i = 0; i < s->count; i++)
	{
		ids[i] = p->id[s->items[i]];
		rows[i] = pos[s->items[i]];
	}
	gnn_reader_features(p->reader, ids, rows, s->count, g->x, found);
	for (int32 v = 0; v < p->n; v++)
	{
		if (found[pos[v]])
			continue;
		if (s->mark[v])
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("an edge refers to node " INT64_FORMAT ", which is not in the node table",
							p->id[v])));
		memset(g->x + (int64) pos[v] * g->width, 0, sizeof(float) * g->width);
	}
	pfree(ids);
	pfree(rows);
	pfree(found);
}

/* Node rows of a graph in memory, numbered by pos */
static void
copy_rows(Prune *p, GnnGraph *g, const int32 *pos)
{
	const GnnGraph *whole = p->whole;

	for (int32 v = 0; v < p->n; v++)
	{
		int			t = node_type(p, v);
		const GnnNodeType *rt = g->ntypes > 0 ? &whole->types[t] : NULL;
		GnnNodeType *nt = &g->types[t];
		int64		r = p->id[v];
		float	   *row = nt->x + (pos[v] - nt->off) * nt->width;

		g->ids[pos[v]] = rt ? whole->ids[r] : r;
		memcpy(row, rt ? rt->x + (r - rt->off) * rt->width : whole->x + r * nt->width,
			   sizeof(float) * nt->width);
	}
}

/* Node rows of the receptive field: ids and features, numbered by pos */
static void
build_nodes(Prune *p, GnnGraph *g, const int32 *pos, const int64 *off)
{
	g->ids = gnn_mem_alloc(p->mem, Max(p->n, 1) * sizeof(int64), "the receptive field");
	for (int t = 0; t < Max(g->ntypes, 1); t++)
	{
		GnnNodeType *nt = &g->types[t];

		nt->off = off[t];
		nt->n = (t + 1 < g->ntypes ? off[t + 1] : p->n) - off[t];
		nt->width = g->ntypes > 0 ? p->whole->types[t].width : g->width;
		nt->x = gnn_mem_alloc(p->mem, Max(nt->n, 1) * (int64) Max(nt->width, 1) * sizeof(float),
							  "the receptive field");
	}
	g->x = g->types[0].x;
	g->width = g->types[0].width;
	if (p->whole)
		copy_rows(p, g, pos);
	else
	{
		for (int32 v = 0; v < p->n; v++)
			g->ids[pos[v]] = p->id[v];
		read_rows(p, g, pos);
	}
}

/* The in-edges of edge type r of the receptive field, nodes numbered by pos */
static void
build_edges(Prune *p, GnnGraph *g, const int32 *pos, const int32 *order, int r)
{
	GnnCsr	   *csr = &g->views[GNN_VIEW(r, GNN_EDGES_AS_GIVEN)];
	const GnnCsr *from = p->whole ? whole_csr(p, r) : NULL;
	int			aw = from ? from->attr_width : 0;
	bool		weighted = from ? from->weight != NULL : g->has_weight;
	int64		m = 0;

	for (int32 v = 0; v < p->n; v++)
		m += p->ecount[(int64) v * p->netypes + r];
	csr->nedges = m;
	csr->attr_width = aw;
	csr->rowptr = gnn_mem_alloc(p->mem, (p->n + 1) * sizeof(int64), "the receptive field");
	csr->src = gnn_mem_alloc(p->mem, Max(m, 1) * sizeof(int32), "the receptive field");
	if (weighted)
		csr->weight = gnn_mem_alloc(p->mem, Max(m, 1) * sizeof(float), "the receptive field");
	if (aw)
		csr->attr = gnn_mem_alloc(p->mem, Max(m, 1) * aw * sizeof(float), "the receptive field");
	m = 0;
	for (int32 k = 0; k < p->n; k++)
	{
		int64		key = (int64) order[k] * p->netypes + r;

		csr->rowptr[k] = m;
		for (int64 e = p->estart[key]; e < p->estart[key] + p->ecount[key]; e++, m++)
		{
			csr->src[m] = pos[p->psrc[e]];
			if (weighted)
				csr->weight[m] = from ? from->weight[p->pedge[e]] : p->pweight[e];
			if (aw)
				memcpy(csr->attr + m * aw, from->attr + p->pedge[e] * aw,
					   sizeof(float) * aw);
		}
	}
	csr->rowptr[p->n] = m;
	g->built[GNN_VIEW(r, GNN_EDGES_AS_GIVEN)] = true;
}

/* The receptive field as a graph, nodes numbered by pos, types from off */
static GnnGraph *
build_graph(Prune *p, const int32 *pos, const int64 *off, int width,
			bool has_weight)
{
	GnnGraph   *g = palloc0(sizeof(GnnGraph));
	int32	   *order = palloc(sizeof(int32) * Max(p->n, 1));

	g->nnodes = g->nlocal = p->n;
	g->width = width;
	g->has_weight = has_weight;
	g->mem = p->mem;
	if (p->whole && p->whole->ntypes > 0)
	{
		g->ntypes = p->whole->ntypes;
		g->netypes = p->whole->netypes;
		memcpy(g->etypes, p->whole->etypes, sizeof(GnnEdgeType) * g->netypes);
	}
	build_nodes(p, g, pos, off);
	g->rows_read = p->whole ? 0 : gnn_reader_rows_read(p->reader);
	for (int32 v = 0; v < p->n; v++)
		order[pos[v]] = v;
	for (int r = 0; r < p->netypes; r++)
		if (p->whole == NULL || p->whole->built[GNN_VIEW(r, GNN_EDGES_AS_GIVEN)])
			build_edges(p, g, pos, order, r);
	pfree(order);
	return g;
}

static void
prune_init(Prune *p, const GnnProgram *prog, GnnMemory *mem)
{
	memset(p, 0, sizeof(Prune));
	p->prog = prog;
	p->netypes = Max(prog->netypes, 1);
	p->mem = mem;
	p->ids = gnnid_create(CurrentMemoryContext, 1024, NULL);
	p->need = palloc0(sizeof(NodeSet) * prog->nregs);
}

/*
 * The exact receptive field of targets[0..n) (indexes of the graph in
 * memory, distinct) as a graph whose first n nodes are the targets.  With
 * rows, each operation's prefix is returned (the trimmed form); without,
 * the whole subgraph is meant to run through every layer, as subgraph
 * inference does.
 */
GnnGraph *
gnn_field_subgraph(const GnnProgram *prog, const GnnGraph *whole,
				   const int64 *targets, int n, int64 *rows, GnnMemory *mem)
{
	Prune		p;
	int64	   *prefix = rows ? rows : palloc(sizeof(int64) * prog->nops);
	int64		off[GNN_MAX_NODE_TYPES];
	int			out = whole->ntypes > 0 ? prog->outputs[whole->out_type] : prog->output;
	int32	   *pos;

	prune_init(&p, prog, mem);
	p.whole = whole;
	for (int i = 0; i < n; i++)
		add_need(&p, out, local_node(&p, targets[i]));
	backward(&p);
	pos = order_nodes(&p, prefix, off);
	return build_graph(&p, pos, off, whole->width, whole->has_weight);
}

/* Up to fanout distinct in-edges of v, drawn with a seeded generator */
static void
sample_in_edges(Prune *p, int32 v, int fanout, pg_prng_state *rng)
{
	const GnnCsr *csr = whole_csr(p, 0);
	int64		i = p->id[v];
	int64		deg = csr->rowptr[i + 1] - csr->rowptr[i];

	p->loaded[v] = true;
	if (fanout < 0 || deg <= fanout)
	{
		copy_in_edges(p, v, 0);
		return;
	}
	/* Floyd's algorithm: fanout distinct positions, kept in edge order */
	{
		bool	   *pick = palloc0(sizeof(bool) * deg);

		for (int64 j = deg - fanout; j < deg; j++)
		{
			int64		t = (int64) pg_prng_uint64_range(rng, 0, j);

			pick[pick[t] ? j : t] = true;
		}
		p->estart[v] = p->npool;
		for (int64 j = 0; j < deg; j++)
			if (pick[j])
			{
				int64		e = csr->rowptr[i] + j;

				append_pool(p, local_node(p, csr->src[e]), 0, e);
			}
		p->ecount[v] = (int32) (p->npool - p->estart[v]);
		pfree(pick);
	}
}

/*
 * The sampled L-hop in-neighbourhood of targets[0..n), as PyG's
 * NeighborLoader builds it: hop h keeps at most fanout[h] in-edges of each
 * node first reached at hop h; nodes of the last hop keep none.  The whole
 * model then runs on it, as on a mini-batch.
 */
GnnGraph *
gnn_sampled_subgraph(const GnnProgram *prog, const GnnGraph *whole,
					 const int64 *targets, int n, const int *fanout,
					 int hops, pg_prng_state *rng, GnnMemory *mem)
{
	Prune		p;
	int32	   *pos;
	int32		level_start = 0;

	prune_init(&p, prog, mem);
	p.whole = whole;
	for (int i = 0; i < n; i++)
		local_node(&p, targets[i]);
	for (int h = 0; h < hops; h++)
	{
		int32		level_end = p.n;

		for (int32 v = level_start; v < level_end; v++)
			sample_in_edges(&p, v, fanout[h], rng);
		level_start = level_end;
		CHECK_FOR_INTERRUPTS();
	}
	pos = palloc(sizeof(int32) * Max(p.n, 1));
	for (int32 v = 0; v < p.n; v++)
		pos[v] = v;
	return build_graph(&p, pos, (int64[GNN_MAX_NODE_TYPES]) {0}, whole->width,
					   whole->has_weight);
}

/*
 * Run model for the target node ids only.  The result holds one row per
 * target that is in the node table, in the order given (duplicates once).
 */
void
gnn_infer_pruned(GnnModel *model, GnnGraphSource *src, const int64 *targets,
				 int ntargets, GnnInferResult *out)
{
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	Prune		p;
	int64	   *rows;
	int64		off[GNN_MAX_NODE_TYPES];
	int32	   *pos;
	GnnGraph   *g;
	int32		nt = 0;

	memset(out, 0, sizeof(GnnInferResult));
	src->width = model->in_width;
	gnn_progress_begin(model->name, src->nodes, model->prog->nlayers);
	gnn_progress_phase(GNN_PHASE_READING_EDGES, 0);
	prune_init(&p, model->prog, &mem);
	p.reader = gnn_reader_begin(src, &mem);

	/* the targets that are nodes, first */
	gnn_reader_nodes(p.reader, targets, ntargets);
	for (int i = 0; i < ntargets; i++)
		if (gnn_reader_node(p.reader, targets[i]) >= 0)
		{
			int32		v = local_node(&p, targets[i]);

			if (!p.need[model->prog->output].mark[v])
				nt++;
			add_need(&p, model->prog->output, v);
		}

	backward(&p);
	rows = palloc(sizeof(int64) * model->prog->nops);
	pos = order_nodes(&p, rows, off);
	g = build_graph(&p, pos, off, model->in_width, src->weight_col != NULL);
	gnn_reader_end(p.reader);

	gnn_infer_graph(model, g, rows, &mem, gnn_exec_cost(model->prog, g), out);
	gnn_progress_end();
	out->nnodes = nt;
	out->pruned = true;
	out->field_nodes = p.n;
}

/*
 * Indexes in g (of its output node type) of the target ids that are nodes
 * of that type, in the order given, duplicates once; returns their number.
 */
static int
target_indexes(const GnnGraph *g, const int64 *targets, int ntargets,
			   int64 *idx)
{
	const GnnNodeType *t = &g->types[g->out_type];
	gnnid_hash *want = gnnid_create(CurrentMemoryContext, Max(ntargets, 16), NULL);
	int64	   *found = palloc(sizeof(int64) * Max(ntargets, 1));
	int			n = 0;

	for (int i = 0; i < ntargets; i++)
	{
		bool		dup;
		GnnIdEntry *e = gnnid_insert(want, targets[i], &dup);

		found[i] = -1;
		if (!dup)
			e->index = i;
	}
	for (int64 i = t->off; i < t->off + t->n; i++)
	{
		GnnIdEntry *e = gnnid_lookup(want, g->ids[i]);

		if (e)
			found[e->index] = i;
	}
	for (int i = 0; i < ntargets; i++)
		if (found[i] >= 0)
			idx[n++] = found[i];
	gnnid_destroy(want);
	pfree(found);
	return n;
}

/*
 * Run model on a catalog graph for the target ids (nodes of the output
 * type) only.  The graph's tables are read whole; the layers run over the
 * targets' receptive field.  One row per target that is a node, in the
 * order given (duplicates once).
 */
void
gnn_infer_pruned_hetero(GnnModel *model, const GnnHeteroSource *hs,
						const int64 *targets, int ntargets, GnnInferResult *out)
{
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	int64	   *rows = palloc(sizeof(int64) * model->prog->nops);
	int64	   *idx = palloc(sizeof(int64) * Max(ntargets, 1));
	GnnGraph   *whole;
	GnnGraph   *g;
	int			n;

	memset(out, 0, sizeof(GnnInferResult));
	whole = gnn_infer_read_hetero(model, hs, &mem);
	n = target_indexes(whole, targets, ntargets, idx);
	g = gnn_field_subgraph(model->prog, whole, idx, n, rows, &mem);
	g->out_type = hs->out_type;
	g->rows_read = whole->rows_read;
	gnn_infer_graph(model, g, rows, &mem, gnn_exec_cost(model->prog, g), out);
	gnn_progress_end();
	out->nnodes = n;
	out->pruned = true;
	out->field_nodes = g->nnodes;
}
