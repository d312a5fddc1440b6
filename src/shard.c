/*-------------------------------------------------------------------------
 *
 * shard.c
 *	  The shard's side of a distributed inference.
 *
 * A coordinator (dist.c) opens one session per shard and drives it through
 * these functions, all shards in step:
 *
 *	gnn_shard_open		read this shard's nodes and their in-edges; the
 *						sources held by other shards become the halo, rows
 *						after the shard's own; returns, per owning shard,
 *						the halo ids it needs;
 *	gnn_shard_serve		the ids other shards need from this one;
 *	gnn_shard_step		store the halo rows received, run the program up
 *						to the next operation that reads a node register
 *						at edge sources it has not received, and return that
 *						register's rows the other shards need;
 *	gnn_shard_fetch		the outputs of the shard's own nodes;
 *	gnn_shard_stats		sizes and times, for EXPLAIN ANALYZE.
 *
 * Operations run over the shard's own nodes only (GnnExec.nlocal): halo
 * rows are never computed here, only received, so each node's value is
 * computed once in the whole cluster.  The session's state lives in its
 * own memory context across the coordinator's statements and is dropped
 * by any error, a new open, or the end of the connection.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "exec.h"
#include "gnnjit.h"
#include "graph.h"
#include "infer.h"
#include "model.h"
#include "progress.h"
#include "wire.h"

#include "idmap.h"

PG_FUNCTION_INFO_V1(gnn_shard_open);
PG_FUNCTION_INFO_V1(gnn_shard_serve);
PG_FUNCTION_INFO_V1(gnn_shard_step);
PG_FUNCTION_INFO_V1(gnn_shard_fetch);
PG_FUNCTION_INFO_V1(gnn_shard_stats);
PG_FUNCTION_INFO_V1(gnn_shard_close);

/* Rows exchanged with one other shard, in the order of its request */
typedef struct ShardPeer
{
	int32		peer;			/* the other shard's remainder */
	int64		n;
	int32	   *index;			/* node rows of this shard's graph */
} ShardPeer;

typedef struct GnnShard
{
	MemoryContext cxt;			/* holds everything of the session */
	GnnModel   *model;
	GnnMemory	mem;
	GnnGraph   *g;
	GnnExec		ex;
	int			modulus;
	int			remainder;
	int32	   *bounds;			/* Citus: least hash of each shard, or NULL */
	int64		nedges;
	int			nhalo_peers;
	ShardPeer  *halo;			/* rows received, per owning shard */
	int			nserve_peers;
	ShardPeer  *serve;			/* rows sent, per requesting shard */
	bool		served;
	int			next_op;		/* first operation not run yet */
	int			pending;		/* register awaiting halo rows, or -1 */
	bool	   *received;		/* per register: halo rows are in */
	bool		done;
	int64		fetched;		/* output rows returned */
	double		compute_ms;		/* in the layers */
	double		busy_ms;		/* in open, serve and steps */
} GnnShard;

static GnnShard *shard = NULL;

static void
drop_shard(void)
{
	if (shard)
	{
		MemoryContext cxt = shard->cxt;

		shard = NULL;
		MemoryContextDelete(cxt);
	}
}

static GnnShard *
current_shard(void)
{
	if (shard == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no distributed inference is open in this session"),
				 errhint("These functions are called by gnn_infer on a coordinator.")));
	return shard;
}

/*
 * The shard of a node id.  PostgreSQL's hash partitioning of a single
 * integer column (the integer types' extended hashes agree on common
 * values), so shards agree with the coordinator's partition bounds; or,
 * for Citus, the interval holding the id's hashint8.
 */
static int
owner_of(const GnnShard *s, int64 id)
{
	int32		h;
	int			lo = 0,
				hi = s->modulus - 1;

	if (s->bounds == NULL)
	{
		uint64		ph = DatumGetUInt64(DirectFunctionCall2(hashint8extended,
															Int64GetDatum(id),
															UInt64GetDatum(HASH_PARTITION_SEED)));

		return (int) (hash_combine64(0, ph) % (uint64) s->modulus);
	}
	h = DatumGetInt32(DirectFunctionCall1(hashint8, Int64GetDatum(id)));
	if (h < s->bounds[0])
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("node " INT64_FORMAT " hashes below every shard's interval", id)));
	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (s->bounds[mid] <= h)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Add the time since start to the session's busy time */
static void
add_busy(GnnShard *s, instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	s->busy_ms += INSTR_TIME_GET_MILLISEC(now);
}

/* ---------- open ---------- */

/* Every node of the shard's node table must hash to the shard */
static void
check_placement(GnnShard *s, const GnnGraphSource *src)
{
	for (int64 i = 0; i < s->g->nlocal; i++)
	{
		int			r = owner_of(s, s->g->ids[i]);

		if (r != s->remainder)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("node " INT64_FORMAT " of relation \"%s\" belongs to partition %d of %d, not to this shard's partition %d",
							s->g->ids[i], get_rel_name(src->nodes), r,
							s->modulus, s->remainder),
					 errdetail("Nodes are partitioned by the hash of their id.")));
	}
}

/* Group the halo by owning shard; returns the request message */
static bytea *
build_halo(GnnShard *s, const GnnGraphSource *src)
{
	GnnGraph   *g = s->g;
	int64	   *count = palloc0(sizeof(int64) * s->modulus);
	int		   *owner = palloc(sizeof(int) * Max(g->nnodes - g->nlocal, 1));
	int		   *slot = palloc(sizeof(int) * s->modulus);
	StringInfoData buf;

	for (int64 h = g->nlocal; h < g->nnodes; h++)
	{
		int			o = owner_of(s, g->ids[h]);

		if (o == s->remainder)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("an edge in relation \"%s\" refers to node " INT64_FORMAT ", which is not in the node table",
							get_rel_name(src->edges), g->ids[h])));
		owner[h - g->nlocal] = o;
		count[o]++;
	}
	s->halo = palloc0(sizeof(ShardPeer) * s->modulus);
	for (int o = 0; o < s->modulus; o++)
	{
		slot[o] = -1;
		if (count[o] == 0)
			continue;
		slot[o] = s->nhalo_peers;
		s->halo[s->nhalo_peers].peer = o;
		s->halo[s->nhalo_peers].index = palloc(sizeof(int32) * count[o]);
		s->nhalo_peers++;
	}
	for (int64 h = g->nlocal; h < g->nnodes; h++)
	{
		ShardPeer  *p = &s->halo[slot[owner[h - g->nlocal]]];

		p->index[p->n++] = (int32) h;
	}

	gnn_wire_begin(&buf);
	for (int k = 0; k < s->nhalo_peers; k++)
	{
		ShardPeer  *p = &s->halo[k];
		GnnWireSection sec = {p->peer, -1, 0, 0, p->n};
		int64	   *ids = palloc(sizeof(int64) * Max(p->n, 1));

		for (int64 i = 0; i < p->n; i++)
			ids[i] = g->ids[p->index[i]];
		gnn_wire_add(&buf, &sec, ids);
		pfree(ids);
	}
	return gnn_wire_finish(&buf);
}

static void
check_fingerprint(const char *model, const char *expected)
{
	char	   *fp = gnn_model_source(model, NULL, NULL);

	if (fp == NULL || strcmp(fp, expected) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" on this shard is not the coordinator's", model),
				 errdetail("Fingerprint here: %s; the coordinator's: %s.",
						   fp ? fp : "none", expected)));
}

/* Citus' shard intervals: modulus ascending least hash values */
static int32 *
bounds_arg(ArrayType *arr, int modulus, MemoryContext cxt)
{
	int32	   *bounds;

	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != modulus ||
		array_contains_nulls(arr) || ARR_ELEMTYPE(arr) != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bounds must be an array of modulus integers without NULLs")));
	bounds = MemoryContextAlloc(cxt, sizeof(int32) * modulus);
	memcpy(bounds, ARR_DATA_PTR(arr), sizeof(int32) * modulus);
	for (int i = 1; i < modulus; i++)
		if (bounds[i] <= bounds[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bounds must ascend")));
	return bounds;
}

static const char *
name_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		return NULL;
	return pstrdup(NameStr(*PG_GETARG_NAME(n)));
}

/* Read the shard's graph and prepare the program over it */
static bytea *
open_shard(GnnShard *s, const char *fingerprint, GnnGraphSource *src)
{
	GnnModel   *model = s->model;

	check_fingerprint(model->name, fingerprint);
	gnn_infer_check_tables(model, src);
	src->width = model->in_width;
	s->mem.limit = GNN_MAX_MEMORY_BYTES();
	gnn_progress_begin(model->name, src->nodes, model->prog->nlayers);
	s->g = gnn_graph_read_shard(src, &s->mem);
	s->nedges = s->g->views[GNN_EDGES_AS_GIVEN].nedges;
	check_placement(s, src);

	gnn_exec_init(&s->ex, model->prog, model->kops, s->g, &s->mem);
	s->ex.nlocal = s->g->nlocal;
	if (gnn_jit_enabled && gnn_jit_available() &&
		gnn_exec_cost(model->prog, s->g) >= gnn_jit_above_cost)
	{
		s->ex.fns = gnn_model_jit(model);
		s->ex.jit = true;
		s->ex.fuse = gnn_jit_fusion;
	}
	gnn_exec_start(&s->ex);
	s->received = palloc0(sizeof(bool) * model->prog->nregs);
	s->pending = -1;
	return build_halo(s, src);
}

/*
 * gnn_shard_open(model, fingerprint, edges, nodes, src, dst, weight, id,
 *				  features, modulus, remainder, bounds) RETURNS bytea
 *
 * modulus shards, this one number remainder; with bounds (Citus), shard i
 * holds the ids whose hash is in [bounds[i], bounds[i + 1]).
 */
Datum
gnn_shard_open(PG_FUNCTION_ARGS)
{
	GnnGraphSource src;
	MemoryContext cxt;
	MemoryContext old;
	bytea	   *requests;
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	drop_shard();
	for (int i = 0; i < 11; i++)
		if (PG_ARGISNULL(i) && i != 6)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of gnn_shard_open must not be NULL", i + 1)));
	memset(&src, 0, sizeof(src));
	src.edges = PG_GETARG_OID(2);
	src.nodes = PG_GETARG_OID(3);
	src.src_col = name_arg(fcinfo, 4);
	src.dst_col = name_arg(fcinfo, 5);
	src.weight_col = name_arg(fcinfo, 6);
	src.id_col = name_arg(fcinfo, 7);
	src.features_col = name_arg(fcinfo, 8);
	if (PG_GETARG_INT32(9) < 1 || PG_GETARG_INT32(10) < 0 ||
		PG_GETARG_INT32(10) >= PG_GETARG_INT32(9))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("remainder must be at least 0 and less than modulus")));

	cxt = AllocSetContextCreate(TopMemoryContext, "gnnjit shard",
								ALLOCSET_DEFAULT_SIZES);
	shard = MemoryContextAllocZero(cxt, sizeof(GnnShard));
	shard->cxt = cxt;
	shard->modulus = PG_GETARG_INT32(9);
	shard->remainder = PG_GETARG_INT32(10);
	PG_TRY();
	{
		if (PG_NARGS() > 11 && !PG_ARGISNULL(11))
			shard->bounds = bounds_arg(PG_GETARG_ARRAYTYPE_P(11), shard->modulus, cxt);
		shard->model = gnn_model_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
		old = MemoryContextSwitchTo(cxt);
		requests = open_shard(shard, text_to_cstring(PG_GETARG_TEXT_PP(1)), &src);
		MemoryContextSwitchTo(old);
		requests = (bytea *) PG_DETOAST_DATUM_COPY(PointerGetDatum(requests));
		gnn_progress_end();
		add_busy(shard, start);
	}
	PG_CATCH();
	{
		drop_shard();
		PG_RE_THROW();
	}
	PG_END_TRY();
	PG_RETURN_BYTEA_P(requests);
}

/* ---------- serve ---------- */

static GnnWirePart *
parse_arg(FunctionCallInfo fcinfo, int n, int *nparts)
{
	bytea	   *msg = PG_GETARG_BYTEA_PP(n);

	return gnn_wire_parse(VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg), nparts);
}

/* Store which of this shard's rows each requesting shard needs */
static void
serve_requests(GnnShard *s, GnnWirePart *parts, int nparts)
{
	GnnGraph   *g = s->g;
	gnnid_hash *map = gnnid_create(CurrentMemoryContext, g->nlocal + 16, NULL);

	for (int64 i = 0; i < g->nlocal; i++)
	{
		bool		found;

		gnnid_insert(map, g->ids[i], &found)->index = (int32) i;
	}
	s->serve = palloc0(sizeof(ShardPeer) * Max(nparts, 1));
	for (int k = 0; k < nparts; k++)
	{
		ShardPeer  *p = &s->serve[k];

		if (parts[k].hdr.width != 0 || parts[k].hdr.peer < 0 ||
			parts[k].hdr.peer >= s->modulus || parts[k].hdr.peer == s->remainder)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("malformed gnnjit shard message: bad request section")));
		p->peer = parts[k].hdr.peer;
		p->n = parts[k].hdr.nrows;
		p->index = palloc(sizeof(int32) * Max(p->n, 1));
		for (int64 i = 0; i < p->n; i++)
		{
			int64		id;
			GnnIdEntry *e;

			memcpy(&id, parts[k].data + i * sizeof(int64), sizeof(int64));
			e = gnnid_lookup(map, id);
			if (e == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("an edge on shard %d refers to node " INT64_FORMAT ", which is not in the node table",
								p->peer, id)));
			p->index[i] = e->index;
		}
	}
	s->nserve_peers = nparts;
	gnnid_destroy(map);
}

/* gnn_shard_serve(requests bytea) */
Datum
gnn_shard_serve(PG_FUNCTION_ARGS)
{
	GnnShard   *s = current_shard();
	int			nparts;
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	if (s->served)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shard's requests were already served")));
	PG_TRY();
	{
		GnnWirePart *parts = parse_arg(fcinfo, 0, &nparts);
		MemoryContext old = MemoryContextSwitchTo(s->cxt);

		serve_requests(s, parts, nparts);
		MemoryContextSwitchTo(old);
		s->served = true;
		add_busy(s, start);
	}
	PG_CATCH();
	{
		drop_shard();
		PG_RE_THROW();
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* ---------- step ---------- */

/* Copy the received halo rows of the pending register into place */
static void
receive(GnnShard *s, GnnWirePart *parts, int nparts)
{
	const GnnProgram *prog = s->model->prog;
	int			reg = s->pending;
	int			width = prog->regs[reg].width;
	float	   *rows = s->ex.regs[reg];
	bool	   *seen = palloc0(sizeof(bool) * Max(s->nhalo_peers, 1));

	for (int k = 0; k < nparts; k++)
	{
		int			j;

		for (j = 0; j < s->nhalo_peers; j++)
			if (s->halo[j].peer == parts[k].hdr.peer)
				break;
		if (j == s->nhalo_peers || seen[j] || parts[k].hdr.reg != reg ||
			parts[k].hdr.width != width || parts[k].hdr.nrows != s->halo[j].n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("malformed gnnjit shard message: unexpected halo section")));
		seen[j] = true;
		for (int64 i = 0; i < s->halo[j].n; i++)
			memcpy(rows + (int64) s->halo[j].index[i] * width,
				   parts[k].data + i * width * sizeof(float), width * sizeof(float));
	}
	for (int j = 0; j < s->nhalo_peers; j++)
		if (!seen[j])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("malformed gnnjit shard message: halo rows from shard %d are missing",
							s->halo[j].peer)));
	s->received[reg] = true;
	s->pending = -1;
}

/*
 * Run up to the next operation reading a register whose halo rows are not
 * here; returns the rows of it the other shards need, or NULL at the end.
 */
static bytea *
advance(GnnShard *s)
{
	const GnnProgram *prog = s->model->prog;
	int			stop;
	int			reg = -1;
	instr_time	start,
				duration;
	StringInfoData buf;

	for (stop = s->next_op; stop < prog->nops; stop++)
	{
		reg = gnn_op_source_read(prog, &prog->ops[stop]);
		if (reg >= 0 && !s->received[reg])
			break;
	}
	INSTR_TIME_SET_CURRENT(start);
	gnn_exec_range(&s->ex, s->next_op, stop);
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	s->compute_ms += INSTR_TIME_GET_MILLISEC(duration);
	s->next_op = stop;
	if (stop == prog->nops)
	{
		s->done = true;
		return NULL;
	}

	s->pending = reg;
	gnn_wire_begin(&buf);
	for (int k = 0; k < s->nserve_peers; k++)
	{
		ShardPeer  *p = &s->serve[k];
		GnnWireSection sec = {p->peer, reg, prog->regs[reg].width, 0, p->n};

		gnn_wire_add_rows(&buf, &sec, s->ex.regs[reg], p->index);
	}
	return gnn_wire_finish(&buf);
}

/* gnn_shard_step(halo bytea) RETURNS bytea */
Datum
gnn_shard_step(PG_FUNCTION_ARGS)
{
	GnnShard   *s = current_shard();
	bytea	   *out = NULL;
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	if (!s->served || s->done)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shard is not ready for a step")));
	PG_TRY();
	{
		int			nparts;
		GnnWirePart *parts = parse_arg(fcinfo, 0, &nparts);
		MemoryContext old = MemoryContextSwitchTo(s->cxt);

		gnn_progress_begin(s->model->name, InvalidOid, s->model->prog->nlayers);
		if (s->pending >= 0)
			receive(s, parts, nparts);
		else if (nparts > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("malformed gnnjit shard message: no halo rows expected")));
		out = advance(s);
		MemoryContextSwitchTo(old);
		if (out)
			out = (bytea *) PG_DETOAST_DATUM_COPY(PointerGetDatum(out));
		gnn_progress_end();
		add_busy(s, start);
	}
	PG_CATCH();
	{
		drop_shard();
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (out == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(out);
}

/* ---------- results ---------- */

/*
 * gnn_shard_fetch(max_rows integer) RETURNS SETOF bytea: the outputs of the
 * shard's own nodes, up to max_rows per message (node ids, then rows).
 */
Datum
gnn_shard_fetch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GnnShard   *s = current_shard();
	const GnnProgram *prog;
	int64		chunk = PG_GETARG_INT32(0);
	int			width;
	const float *y;

	if (!s->done)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shard has not finished its layers")));
	if (chunk < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be at least 1")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	prog = s->model->prog;
	width = prog->regs[prog->output].width;
	y = s->ex.regs[prog->output];
	for (int64 lo = 0; lo < s->g->nlocal; lo += chunk)
	{
		int64		n = Min(chunk, s->g->nlocal - lo);
		GnnWireSection ids = {s->remainder, -1, 0, 0, n};
		GnnWireSection rows = {s->remainder, prog->output, width, 0, n};
		StringInfoData buf;
		Datum		value;
		bool		isnull = false;

		gnn_wire_begin(&buf);
		gnn_wire_add(&buf, &ids, s->g->ids + lo);
		gnn_wire_add(&buf, &rows, y + lo * width);
		value = PointerGetDatum(gnn_wire_finish(&buf));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		pfree(buf.data);
		CHECK_FOR_INTERRUPTS();
	}
	return (Datum) 0;
}

/*
 * gnn_shard_stats(OUT nodes, OUT halo, OUT edges, OUT peak_bytes,
 *				   OUT compute_ms, OUT jit, OUT layer_ms, OUT busy_ms)
 */
Datum
gnn_shard_stats(PG_FUNCTION_ARGS)
{
	GnnShard   *s = current_shard();
	TupleDesc	desc;
	Datum		values[8];
	bool		nulls[8] = {0};
	Datum	   *ms = palloc(sizeof(Datum) * Max(s->ex.stats.nlayers, 1));

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	for (int l = 0; l < s->ex.stats.nlayers; l++)
		ms[l] = Float8GetDatum(s->ex.stats.layer_ms[l]);
	values[0] = Int64GetDatum(s->g->nlocal);
	values[1] = Int64GetDatum(s->g->nnodes - s->g->nlocal);
	values[2] = Int64GetDatum(s->nedges);
	values[3] = Int64GetDatum(s->mem.peak);
	values[4] = Float8GetDatum(s->compute_ms);
	values[5] = BoolGetDatum(s->ex.jit);
	values[6] = PointerGetDatum(construct_array(ms, s->ex.stats.nlayers, FLOAT8OID,
												8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[7] = Float8GetDatum(s->busy_ms);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* gnn_shard_close(): drop the session's state now */
Datum
gnn_shard_close(PG_FUNCTION_ARGS)
{
	drop_shard();
	PG_RETURN_VOID();
}
