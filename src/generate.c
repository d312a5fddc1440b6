/*-------------------------------------------------------------------------
 *
 * generate.c
 *	  gnn_generate_graph(): a synthetic R-MAT graph with random node
 *	  features, written straight into two new tables.
 *
 * The tables are created through SPI, as the calling user, so ownership,
 * privileges, event triggers and the default table access method are those
 * of a CREATE TABLE the user ran.  They are then filled through the access
 * method's multi-insert in batches, as COPY FROM does: no SQL is parsed or
 * executed per row.
 *
 * Every random number is a function of the seed and a node id or edge
 * number (splitmix64 used as a counter-based generator), so the tables
 * depend on the arguments only, never on batch sizes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(gnn_generate_graph);

/* Rows per multi-insert call, and a cap on the bytes they buffer */
#define GEN_BATCH_ROWS		1000
#define GEN_BATCH_BYTES		(4 * 1024 * 1024)

#define GEN_MAX_NODES		((int64) PG_INT32_MAX)
#define GEN_MAX_WIDTH		65535

/*
 * R-MAT draws for one edge before giving up: only parameters that put
 * almost all weight on vertices beyond num_nodes get anywhere near this.
 */
#define GEN_MAX_ATTEMPTS	1000000

/* Leeway for a + b + c summing to 1 in decimal but not in binary */
#define GEN_SUM_SLACK		1e-9

#define GOLDEN_GAMMA		UINT64CONST(0x9E3779B97F4A7C15)

/* Independent random streams derived from the seed */
#define STREAM_FEATURES		1
#define STREAM_EDGES		2
#define STREAM_PERMUTATION	3

/*
 * A bijection of [0, 2^scale): rounds of an affine map modulo 2^scale and
 * an xor with the value shifted right, each invertible on scale bits.
 */
typedef struct VertexPermutation
{
	uint64		mask;
	int			shift;
	uint64		mul[3];			/* odd */
	uint64		add[3];
} VertexPermutation;

/* What one edge needs: quadrant thresholds, the permutation, the key */
typedef struct RmatGenerator
{
	int			scale;
	uint64		num_nodes;
	/* P(a), P(a + b), P(a + b + c) scaled to 2^32, compared to 32 bits */
	uint64		t_a;
	uint64		t_ab;
	uint64		t_abc;
	uint64		key;
	VertexPermutation perm;
} RmatGenerator;

/* splitmix64's output function: a bijective 64-bit mixer */
static inline uint64
mix64(uint64 z)
{
	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static inline uint64
splitmix64(uint64 *state)
{
	*state += GOLDEN_GAMMA;
	return mix64(*state);
}

static uint64
stream_key(int64 seed, int stream)
{
	return mix64(mix64((uint64) seed) + (uint64) stream * GOLDEN_GAMMA);
}

/* 24 random bits to a float4 in [-1, 1), exactly: a multiple of 2^-23 */
static inline float4
unit_float(uint32 bits24)
{
	return (float4) ((int32) bits24 - (1 << 23)) * (1.0f / (1 << 23));
}

/* The features of node 'id': two values from each 64-bit draw */
static void
node_features(float4 *out, int width, uint64 key, int64 id)
{
	uint64		start = mix64(key + (uint64) id * GOLDEN_GAMMA);
	int			j;

	for (j = 0; j + 1 < width; j += 2)
	{
		uint64		r = mix64(start + (uint64) (j / 2 + 1) * GOLDEN_GAMMA);

		out[j] = unit_float((uint32) (r >> 40));
		out[j + 1] = unit_float((uint32) (r >> 8) & 0xFFFFFF);
	}
	if (j < width)
		out[j] = unit_float((uint32) (mix64(start + (uint64) (j / 2 + 1) * GOLDEN_GAMMA) >> 40));
}

static void
permutation_init(VertexPermutation *perm, int scale, uint64 key)
{
	uint64		state = key;

	perm->mask = scale == 0 ? 0 : ~UINT64CONST(0) >> (64 - scale);
	perm->shift = (scale + 1) / 2;
	for (int i = 0; i < lengthof(perm->mul); i++)
	{
		perm->mul[i] = splitmix64(&state) | 1;
		perm->add[i] = splitmix64(&state);
	}
}

static inline uint64
permutation_apply(const VertexPermutation *perm, uint64 x)
{
	for (int i = 0; i < lengthof(perm->mul); i++)
	{
		x = (x * perm->mul[i] + perm->add[i]) & perm->mask;
		x ^= x >> perm->shift;
	}
	return x;
}

/* A probability as a threshold on a uniform 32-bit integer */
static uint64
threshold32(double p)
{
	return (uint64) Min(floor(p * 4294967296.0 + 0.5), 4294967296.0);
}

/*
 * Edge number 'edge': R-MAT picks one quadrant per bit level, most
 * significant first, with probabilities a, b, c, d for (src bit, dst bit)
 * = (0,0), (0,1), (1,0), (1,1).  The pair goes through the permutation and
 * is drawn again while either end is not below num_nodes.
 */
static inline void
rmat_edge(const RmatGenerator *gen, int64 edge, int64 *src, int64 *dst)
{
	uint64		state = mix64(gen->key + (uint64) edge * GOLDEN_GAMMA);

	for (int attempt = 1;; attempt++)
	{
		uint64		s = 0;
		uint64		d = 0;
		uint64		r = 0;

		for (int level = 0; level < gen->scale; level++)
		{
			uint32		u;

			if ((level & 1) == 0)
				r = splitmix64(&state);
			u = (uint32) r;
			r >>= 32;
			/* branch-free: the quadrant decides both bits */
			s = (s << 1) | (u >= gen->t_ab);
			d = (d << 1) | ((u >= gen->t_a) ^ (u >= gen->t_ab) ^ (u >= gen->t_abc));
		}
		s = permutation_apply(&gen->perm, s);
		d = permutation_apply(&gen->perm, d);
		if (s < gen->num_nodes && d < gen->num_nodes)
		{
			*src = (int64) s;
			*dst = (int64) d;
			return;
		}
		if (attempt >= GEN_MAX_ATTEMPTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("R-MAT parameters put almost no edges among the first " INT64_FORMAT " vertices",
							(int64) gen->num_nodes),
					 errdetail("%d draws in a row for one edge had an end beyond num_nodes.",
							   attempt),
					 errhint("Use less extreme a, b and c, or a power of two as num_nodes.")));
		if ((attempt & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/* Run one utility statement through SPI, as the calling user */
static void
run_utility(const char *sql)
{
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute(sql, false, 0);
	if (ret != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	SPI_finish();
}

/*
 * Create table 'name' (possibly schema-qualified) with the given columns
 * and return its OID and, in *qualified, its quoted qualified name.  The
 * schema is resolved here and named in the statement, so the table found
 * afterwards is the one created even if a temporary table of the same name
 * hides it in search_path.
 */
static Oid
create_table(text *name, const char *columns, bool unlogged, char **qualified)
{
	RangeVar   *rv = makeRangeVarFromNameList(textToQualifiedNameList(name));
	Oid			nspid = RangeVarGetCreationNamespace(rv);
	Oid			relid;

	*qualified = quote_qualified_identifier(get_namespace_name(nspid),
											rv->relname);
	run_utility(psprintf("CREATE %sTABLE %s (%s)",
						 unlogged ? "UNLOGGED " : "", *qualified, columns));

	CommandCounterIncrement();
	relid = get_relname_relid(rv->relname, nspid);
	if (!OidIsValid(relid))
		elog(ERROR, "could not find table \"%s\" just created", rv->relname);
	return relid;
}

/*
 * Open a table made by create_table for insertion.  Multi-insert neither
 * maintains indexes nor fires triggers nor checks constraints: refuse a
 * table that an event trigger gave any of those.
 */
static Relation
open_new_table(Oid relid, int natts)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		desc->natts != natts || desc->constr != NULL ||
		RelationGetIndexList(rel) != NIL || rel->trigdesc != NULL ||
		rel->rd_rel->relhasrules || rel->rd_rel->relrowsecurity)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" was altered while gnn_generate_graph created it",
						RelationGetRelationName(rel)),
				 errdetail("Indexes, triggers, rules, constraints, row security or other columns added by event triggers are not supported.")));
	return rel;
}

/* Insert the n filled slots, then empty them and the batch's memory */
static void
insert_batch(Relation rel, TupleTableSlot **slots, int n, CommandId cid,
			 BulkInsertState bistate, MemoryContext batchcxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batchcxt);

	table_multi_insert(rel, slots, n, cid, TABLE_INSERT_SKIP_FSM, bistate);
	MemoryContextSwitchTo(oldcxt);
	for (int i = 0; i < n; i++)
		ExecClearTuple(slots[i]);
	MemoryContextReset(batchcxt);
}

static TupleTableSlot **
make_slots(Relation rel, int n)
{
	TupleTableSlot **slots = palloc(sizeof(TupleTableSlot *) * n);

	for (int i = 0; i < n; i++)
		slots[i] = table_slot_create(rel, NULL);
	return slots;
}

static void
drop_slots(TupleTableSlot **slots, int n)
{
	for (int i = 0; i < n; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	pfree(slots);
}

/* Nodes 0 .. num_nodes - 1, in order, with their features */
static void
fill_nodes(Relation rel, int64 num_nodes, int width, int64 seed,
		   CommandId cid, MemoryContext batchcxt)
{
	uint64		key = stream_key(seed, STREAM_FEATURES);
	Size		arrbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * width;
	int			batch = Max(1, Min(GEN_BATCH_ROWS, GEN_BATCH_BYTES / arrbytes));
	TupleTableSlot **slots = make_slots(rel, batch);
	ArrayType **arrays = palloc(sizeof(ArrayType *) * batch);
	BulkInsertState bistate = GetBulkInsertState();

	/*
	 * One float4[] per slot, built once: rows only overwrite the data, and
	 * the table AM copies the array into its tuple.
	 */
	for (int i = 0; i < batch; i++)
	{
		ArrayType  *a = palloc0(arrbytes);

		SET_VARSIZE(a, arrbytes);
		a->ndim = 1;
		a->dataoffset = 0;
		a->elemtype = FLOAT4OID;
		ARR_DIMS(a)[0] = width;
		ARR_LBOUND(a)[0] = 1;
		arrays[i] = a;
	}

	for (int64 id = 0; id < num_nodes;)
	{
		int			n = (int) Min((int64) batch, num_nodes - id);
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(batchcxt);
		for (int i = 0; i < n; i++)
		{
			TupleTableSlot *slot = slots[i];

			node_features((float4 *) ARR_DATA_PTR(arrays[i]), width, key, id + i);
			slot->tts_values[0] = Int64GetDatum(id + i);
			slot->tts_values[1] = PointerGetDatum(arrays[i]);
			slot->tts_isnull[0] = false;
			slot->tts_isnull[1] = false;
			ExecStoreVirtualTuple(slot);
		}
		MemoryContextSwitchTo(oldcxt);
		insert_batch(rel, slots, n, cid, bistate, batchcxt);
		id += n;
	}

	FreeBulkInsertState(bistate);
	table_finish_bulk_insert(rel, TABLE_INSERT_SKIP_FSM);
	drop_slots(slots, batch);
	for (int i = 0; i < batch; i++)
		pfree(arrays[i]);
	pfree(arrays);
}

/* num_edges R-MAT edges, in the order drawn */
static void
fill_edges(Relation rel, const RmatGenerator *gen, int64 num_edges,
		   CommandId cid, MemoryContext batchcxt)
{
	TupleTableSlot **slots = make_slots(rel, GEN_BATCH_ROWS);
	BulkInsertState bistate = GetBulkInsertState();

	for (int64 e = 0; e < num_edges;)
	{
		int			n = (int) Min((int64) GEN_BATCH_ROWS, num_edges - e);
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(batchcxt);
		for (int i = 0; i < n; i++)
		{
			TupleTableSlot *slot = slots[i];
			int64		src;
			int64		dst;

			rmat_edge(gen, e + i, &src, &dst);
			slot->tts_values[0] = Int64GetDatum(src);
			slot->tts_values[1] = Int64GetDatum(dst);
			slot->tts_isnull[0] = false;
			slot->tts_isnull[1] = false;
			ExecStoreVirtualTuple(slot);
		}
		MemoryContextSwitchTo(oldcxt);
		insert_batch(rel, slots, n, cid, bistate, batchcxt);
		e += n;
	}

	FreeBulkInsertState(bistate);
	table_finish_bulk_insert(rel, TABLE_INSERT_SKIP_FSM);
	drop_slots(slots, GEN_BATCH_ROWS);
}

static void
check_probability(const char *name, double p)
{
	/* written so that NaN fails too */
	if (!(p >= 0.0 && p <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("R-MAT parameter %s must be between 0 and 1, not %g", name, p)));
}

/*
 * gnn_generate_graph(nodes_table, edges_table, num_nodes, num_edges,
 *					  feature_width, seed, a, b, c, unlogged)
 */
Datum
gnn_generate_graph(PG_FUNCTION_ARGS)
{
	text	   *nodes_name = PG_GETARG_TEXT_PP(0);
	text	   *edges_name = PG_GETARG_TEXT_PP(1);
	int64		num_nodes = PG_GETARG_INT64(2);
	int64		num_edges = PG_GETARG_INT64(3);
	int32		width = PG_GETARG_INT32(4);
	int64		seed = PG_GETARG_INT64(5);
	double		a = PG_GETARG_FLOAT8(6);
	double		b = PG_GETARG_FLOAT8(7);
	double		c = PG_GETARG_FLOAT8(8);
	bool		unlogged = PG_GETARG_BOOL(9);
	RmatGenerator gen;
	Oid			nodes_relid;
	Oid			edges_relid;
	Relation	nodes_rel;
	Relation	edges_rel;
	CommandId	cid;
	MemoryContext batchcxt;
	char	   *qualified;

	if (num_nodes < 1 || num_nodes > GEN_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("num_nodes must be between 1 and " INT64_FORMAT ", not " INT64_FORMAT,
						GEN_MAX_NODES, num_nodes)));
	if (num_edges < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("num_edges must not be negative, not " INT64_FORMAT, num_edges)));
	if (width < 1 || width > GEN_MAX_WIDTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature_width must be between 1 and %d, not %d",
						GEN_MAX_WIDTH, width)));
	check_probability("a", a);
	check_probability("b", b);
	check_probability("c", c);
	if (a + b + c > 1.0 + GEN_SUM_SLACK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("R-MAT parameters a + b + c must not exceed 1, not %g", a + b + c),
				 errdetail("d = 1 - a - b - c is the probability of the fourth quadrant.")));

	gen.scale = pg_ceil_log2_64((uint64) num_nodes);
	gen.num_nodes = (uint64) num_nodes;
	gen.t_a = threshold32(a);
	gen.t_ab = threshold32(a + b);
	gen.t_abc = threshold32(a + b + c);
	gen.key = stream_key(seed, STREAM_EDGES);
	permutation_init(&gen.perm, gen.scale, stream_key(seed, STREAM_PERMUTATION));

	/* both tables first, so that a name clash fails before any work */
	nodes_relid = create_table(nodes_name, "id bigint, features real[]",
							   unlogged, &qualified);

	/*
	 * Random floats do not compress, but pglz spends most of the time of a
	 * wide graph (rows over the TOAST threshold, some 500 features) finding
	 * that out: store them out of line uncompressed.
	 */
	run_utility(psprintf("ALTER TABLE %s ALTER COLUMN features SET STORAGE EXTERNAL",
						 qualified));
	edges_relid = create_table(edges_name, "src bigint, dst bigint",
							   unlogged, &qualified);

	batchcxt = AllocSetContextCreate(CurrentMemoryContext,
									 "gnn_generate_graph batch",
									 ALLOCSET_DEFAULT_SIZES);
	cid = GetCurrentCommandId(true);

	nodes_rel = open_new_table(nodes_relid, 2);
	edges_rel = open_new_table(edges_relid, 2);
	fill_nodes(nodes_rel, num_nodes, width, seed, cid, batchcxt);
	fill_edges(edges_rel, &gen, num_edges, cid, batchcxt);
	table_close(nodes_rel, NoLock);
	table_close(edges_rel, NoLock);

	MemoryContextDelete(batchcxt);

	/* let the rest of the transaction see the rows */
	CommandCounterIncrement();

	PG_RETURN_VOID();
}
