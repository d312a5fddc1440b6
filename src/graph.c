/*-------------------------------------------------------------------------
 *
 * graph.c
 *	  Reading the node and edge tables into the in-memory graph.
 *
 * Reads honour the caller's privileges: SELECT on each column read (or the
 * whole table) is checked first.  Plain tables without row-level security
 * are scanned directly, which is several times faster than going through
 * the executor; anything else (row-level security in force, views,
 * partitioned and foreign tables) is read with an SPI query run as the
 * caller, so policies apply exactly as they would to the caller's own
 * SELECT.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "gnnjit.h"
#include "graph.h"
#include "keyscan.h"
#include "progress.h"

#include "idmap.h"

#define GNN_MAX_COLS 4

/* Rows assumed of a table never analyzed, at most */
#define GNN_UNANALYZED_ROWS 65536

/* A table and the columns read from it */
typedef struct TableRead
{
	Relation	rel;
	int			ncols;
	const char *colnames[GNN_MAX_COLS];
	AttrNumber	attnums[GNN_MAX_COLS];
	Oid			types[GNN_MAX_COLS];
} TableRead;

/*
 * Edge rows read before their endpoints are mapped to node indexes, in one
 * pass with the id map's entries prefetched GNN_PREFETCH_IDS rows ahead:
 * the map is read at random and each lookup is otherwise a cache miss.
 */
#define GNN_PENDING_EDGES 1024
#define GNN_PREFETCH_IDS 16

typedef struct ReadState ReadState;
typedef void (*RowCallback) (ReadState *rs, Datum *values, bool *nulls);

/* Growing arrays while the tables are read */
struct ReadState
{
	GnnGraph   *g;
	GnnMemory  *mem;
	TableRead  *table;
	gnnid_hash *ids;
	const GnnDenseIds *dense;	/* the same map as an array, or NULL */
	int64		capacity;		/* of the current table's arrays */
	int64		count;			/* rows so far */
	/* edges, coordinate form */
	int32	   *esrc;
	int32	   *edst;
	float	   *ew;
	float	   *eattr;			/* edge features, attr_width each */
	int			attr_width;
	int			attr_col;		/* their column, or -1 */
	/* a heterogeneous graph's edges: the sources' id map and first index */
	gnnid_hash *src_ids;
	const GnnDenseIds *src_dense;
	int64		src_off;
	int64		dst_off;
	bool		no_features;	/* node rows: ids only */
	/* node rows read into a caller's rows: id -> row, and rows written */
	gnnid_hash *dest;
	float	   *dest_x;
	bool	   *dest_found;
	/* edges by id, when reading parts of the graph */
	GnnEdgeList *edge_out;
	/* a parallel scan's share, and the current row's position */
	ParallelTableScanDesc pscan;
	const GnnNodeChunks *chunks;	/* node rows go to these shared arrays */
	int64		chunk_start;	/* the current chunk's first row, or -1 */
	ItemPointer tid;
	GnnEdgePart *part_out;
	/*
	 * Edges read whose endpoint ids are not mapped yet: the last npending
	 * rows (see map_pending)
	 */
	int			npending;
	int64		pend_src[GNN_PENDING_EDGES];
	int64		pend_dst[GNN_PENDING_EDGES];
	/* a shard's read: sources not in the node table are its halo */
	bool		halo;
	int64		nhalo;
	int64		halo_capacity;
	int64	   *halo_ids;
};

/* ---------- memory accounting ---------- */

static void
mem_error(GnnMemory *mem, int64 bytes, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("gnn_infer needs more memory than gnnjit.max_memory allows"),
			 errdetail("%s needs %lld MB more, for an estimated total of %lld MB; gnnjit.max_memory is %lld MB.",
					   what, (long long) ((bytes + (1 << 20) - 1) >> 20),
					   (long long) ((mem->used + bytes + (1 << 20) - 1) >> 20),
					   (long long) (mem->limit >> 20)),
			 errhint("Raise gnnjit.max_memory, or run the model on fewer nodes.")));
}

void
gnn_mem_reserve(GnnMemory *mem, int64 bytes, const char *what)
{
	if (mem->limit > 0 && mem->used + bytes > mem->limit)
		mem_error(mem, bytes, what);
	mem->used += bytes;
	mem->peak = Max(mem->peak, mem->used);
}

void
gnn_mem_release(GnnMemory *mem, int64 bytes)
{
	mem->used -= bytes;
}

/*
 * Fault in a fresh allocation of GNN_POPULATE_BYTES or more in one system
 * call, from GNN_PREFAULT_BYTES on in huge pages where the kernel has
 * them.  On first touch every page costs a fault and the kernel zeroing
 * it; populating the range up front does the same work in bulk (virtual
 * machines make each fault dear: a first write to 3 MB measured 6.9 ms
 * page by page, 2.6 ms populated), and a 2 MB page costs one fault where
 * 4 kB pages cost 512 (1 GB: 1.2 s in 4 kB pages, 0.07 s in huge ones) and
 * one TLB entry, which the kernels' scattered reads of neighbours' rows
 * also gain from.  Only an optimisation: errors are ignored, the pages
 * then fault on first touch as usual.
 */
#define GNN_PAGE_SIZE 4096
#define GNN_PREFAULT_BYTES (16 * 1024 * 1024)
#define GNN_POPULATE_BYTES (256 * 1024)

static void
prefault(void *p, int64 bytes)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t	start = TYPEALIGN(GNN_PAGE_SIZE, (uintptr_t) p);
	uintptr_t	end = TYPEALIGN_DOWN(GNN_PAGE_SIZE, (uintptr_t) p + bytes);

	if (bytes >= GNN_POPULATE_BYTES && end > start)
	{
#ifdef MADV_HUGEPAGE
		if (bytes >= GNN_PREFAULT_BYTES)
			(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
		(void) madvise((void *) start, end - start, MADV_POPULATE_WRITE);
	}
#endif
}

/*
 * Allocate after reserving.  Huge allocations are allowed (the limit is
 * gnnjit.max_memory, not 1 GB); failure is a clean out-of-memory error.
 */
void *
gnn_mem_alloc(GnnMemory *mem, int64 bytes, const char *what)
{
	void	   *p;

	gnn_mem_reserve(mem, bytes, what);
	p = MemoryContextAllocExtended(CurrentMemoryContext, Max(bytes, 1),
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %lld for %s.",
						   (long long) bytes, what)));
	prefault(p, bytes);
	return p;
}

void
gnn_mem_free(GnnMemory *mem, void *ptr, int64 bytes)
{
	if (ptr)
	{
		pfree(ptr);
		gnn_mem_release(mem, bytes);
	}
}

static void *
mem_grow(GnnMemory *mem, void *ptr, int64 oldbytes, int64 newbytes,
		 const char *what)
{
	void	   *p;

	if (ptr == NULL)
		return gnn_mem_alloc(mem, newbytes, what);
	gnn_mem_reserve(mem, newbytes - oldbytes, what);
	p = repalloc_huge(ptr, newbytes);
	if (newbytes > oldbytes)
		prefault((char *) p + oldbytes, newbytes - oldbytes);
	return p;
}

/* ---------- columns and privileges ---------- */

/*
 * Resolve and type-check a column, and check the caller may read it: SELECT
 * on the table, or on the column.
 */
static void
add_column(TableRead *t, const char *role, const char *name,
		   const Oid *ok_types, const char *ok_desc)
{
	Relation	rel = t->rel;
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);
	Oid			type;
	bool		ok = false;

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, RelationGetRelationName(rel)),
				 errhint("Name the %s column with the \"%s\" argument of gnn_infer.",
						 role, role)));
	type = get_atttype(RelationGetRelid(rel), att);
	for (const Oid *p = ok_types; *p != InvalidOid; p++)
		ok |= (type == *p);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, but the %s column must be %s",
						name, RelationGetRelationName(rel),
						format_type_be(type), role, ok_desc)));
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck(RelationGetRelid(rel), att, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV,
					   get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));

	t->colnames[t->ncols] = name;
	t->attnums[t->ncols] = att;
	t->types[t->ncols] = type;
	t->ncols++;
}

static const Oid int_types[] = {INT2OID, INT4OID, INT8OID, InvalidOid};
static const Oid feature_types[] = {FLOAT4ARRAYOID, FLOAT8ARRAYOID, InvalidOid};
static const Oid weight_types[] = {FLOAT4OID, FLOAT8OID, INT2OID, INT4OID,
INT8OID, InvalidOid};

/*
 * The per-edge value: an edge weight, or a relation id (an integer column,
 * exact as float32 up to 2^24).
 */
static float
edge_value(Datum d, Oid type)
{
	if (type == FLOAT4OID)
		return DatumGetFloat4(d);
	if (type == FLOAT8OID)
		return (float) DatumGetFloat8(d);
	return (float) gnn_int_datum(d, type);
}

static void
open_table(TableRead *t, Oid relid, const char *what)
{
	memset(t, 0, sizeof(TableRead));
	t->rel = table_open(relid, AccessShareLock);
	switch (t->rel->rd_rel->relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_MATVIEW:
		case RELKIND_VIEW:
		case RELKIND_FOREIGN_TABLE:
		case RELKIND_PARTITIONED_TABLE:
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" cannot be used as the %s table of gnn_infer",
							RelationGetRelationName(t->rel), what)));
	}
}

/* ---------- scanning ---------- */

/* The columns read of the row in slot */
static void
slot_values(const TableRead *t, TupleTableSlot *slot, Datum *values, bool *nulls)
{
	for (int c = 0; c < t->ncols; c++)
		values[c] = slot_getattr(slot, t->attnums[c], &nulls[c]);
}

/*
 * Direct scan of a plain table, or of a materialized view, under the
 * query's snapshot, or this process's share of a parallel scan.  The scan
 * is not synchronised with other scans of the table, so that rows come in
 * physical order: the order of a node's in-edges is the order messages are
 * summed in, and results do not depend on concurrent queries.
 */
static void
scan_direct(ReadState *rs, RowCallback cb)
{
	TableRead  *t = rs->table;
	TupleTableSlot *slot = table_slot_create(t->rel, NULL);
	TableScanDesc scan = rs->pscan ?
		table_beginscan_parallel(t->rel, rs->pscan) :
		table_beginscan_strat(t->rel, GetActiveSnapshot(), 0, NULL, true, false);
	Datum		values[GNN_MAX_COLS];
	bool		nulls[GNN_MAX_COLS];
	int64		n = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		slot_values(t, slot, values, nulls);
		rs->tid = &slot->tts_tid;
		cb(rs, values, nulls);
		if ((++n & 1023) == 0)
		{
			gnn_progress_done(n);
			CHECK_FOR_INTERRUPTS();
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * The caller's own SELECT through SPI: policies and views apply.  With
 * keycol, only the rows whose keycol is one of keys[0..nkeys) (which an
 * index on keycol serves).
 */
static void
scan_spi_keys(ReadState *rs, RowCallback cb, const char *keycol,
			  const int64 *keys, int nkeys)
{
	TableRead  *t = rs->table;
	StringInfoData sql;
	Relation	rel = t->rel;
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext cxt = CurrentMemoryContext;
	Datum		values[GNN_MAX_COLS];
	bool		nulls[GNN_MAX_COLS];
	Oid			keytype = INT8ARRAYOID;
	Datum		keyarg = (Datum) 0;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int c = 0; c < t->ncols; c++)
		appendStringInfo(&sql, "%s%s", c ? ", " : "",
						 quote_identifier(t->colnames[c]));
	appendStringInfo(&sql, " FROM %s",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));
	if (keycol)
	{
		Datum	   *elems = palloc(sizeof(Datum) * Max(nkeys, 1));

		for (int i = 0; i < nkeys; i++)
			elems[i] = Int64GetDatum(keys[i]);
		keyarg = PointerGetDatum(construct_array(elems, nkeys, INT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		appendStringInfo(&sql, " WHERE %s = ANY($1)", quote_identifier(keycol));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql.data, keycol ? 1 : 0, &keytype);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, &keyarg, NULL, true);
	for (;;)
	{
		MemoryContext spicxt;

		SPI_cursor_fetch(portal, true, 8192);
		if (SPI_processed == 0)
			break;
		spicxt = MemoryContextSwitchTo(cxt);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			for (int c = 0; c < t->ncols; c++)
				values[c] = SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, c + 1,
										  &nulls[c]);
			cb(rs, values, nulls);
		}
		MemoryContextSwitchTo(spicxt);
		SPI_freetuptable(SPI_tuptable);
		gnn_progress_done(rs->count);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
}

/* Whether rel is read directly (not through the caller's own query) */
static bool
direct_readable(Relation rel)
{
	char		kind = rel->rd_rel->relkind;

	return (kind == RELKIND_RELATION || kind == RELKIND_MATVIEW) &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED;
}

static void
scan_table(ReadState *rs, RowCallback cb)
{
	if (direct_readable(rs->table->rel))
		scan_direct(rs, cb);
	else
		scan_spi_keys(rs, cb, NULL, NULL, 0);
}

/* Rows of a relation as the planner estimates them (0 when unknown) */
static int64
estimate_rows(Relation rel)
{
	BlockNumber pages;
	double		tuples = 0;
	double		allvisfrac;
	int32	   *widths;

	if (rel->rd_rel->relkind == RELKIND_RELATION ||
		rel->rd_rel->relkind == RELKIND_MATVIEW)
	{
		widths = palloc0(sizeof(int32) * (RelationGetNumberOfAttributes(rel) + 1));
		estimate_rel_size(rel, widths, &pages, &tuples, &allvisfrac);
		pfree(widths);

		/*
		 * Never analyzed: the estimate comes from the table's size and
		 * assumed row widths, and arrays make it many times too high (a
		 * shard just filled by gnn_distribute).  Start small; the arrays
		 * grow as rows come.
		 */
		if (rel->rd_rel->reltuples < 0)
			tuples = Min(tuples, GNN_UNANALYZED_ROWS);
	}
	else if (rel->rd_rel->reltuples > 0)
		tuples = rel->rd_rel->reltuples;
	return (int64) Max(tuples, 0);
}

/* ---------- reading rows by key through an index ---------- */

/*
 * keys[0..n) sorted by radix, a byte a pass from the least significant,
 * skipping the bytes every key shares (ids usually differ in three or
 * four): a receptive field's thousands of keys are sorted on every read,
 * and a comparison sort of random ids mispredicts a branch at every step.
 */
static void
sort_int64(int64 *keys, int n)
{
	uint64		count[8][256] = {{0}};
	uint64	   *a = (uint64 *) keys;
	uint64	   *b = palloc(sizeof(uint64) * Max(n, 1));

	/* the sign bit flipped, signed order becomes unsigned order */
	for (int i = 0; i < n; i++)
	{
		a[i] ^= UINT64CONST(1) << 63;
		for (int d = 0; d < 8; d++)
			count[d][(a[i] >> (8 * d)) & 255]++;
	}
	for (int d = 0; d < 8 && n > 0; d++)
	{
		uint64		start = 0;
		uint64	   *swap;

		if (count[d][(a[0] >> (8 * d)) & 255] == (uint64) n)
			continue;			/* one value of this byte: already in order */
		for (int v = 0; v < 256; v++)
		{
			uint64		c = count[d][v];

			count[d][v] = start;
			start += c;
		}
		for (int i = 0; i < n; i++)
			b[count[d][(a[i] >> (8 * d)) & 255]++] = a[i];
		swap = a;
		a = b;
		b = swap;
	}
	for (int i = 0; i < n; i++)
		keys[i] = (int64) (a[i] ^ (UINT64CONST(1) << 63));
	pfree(a == (uint64 *) keys ? b : a);
}

/* keys[0..n) sorted, without repeats; returns how many are left */
static int
sort_unique_keys(int64 *keys, int n)
{
	int			m = 0;

	sort_int64(keys, n);
	for (int i = 0; i < n; i++)
		if (m == 0 || keys[i] != keys[m - 1])
			keys[m++] = keys[i];
	return m;
}

/* Position in idx's tuples of every column read, or false if one is not in it */
static bool
covering(Relation idx, const TableRead *t, int *pos)
{
	for (int c = 0; c < t->ncols; c++)
	{
		pos[c] = -1;
		for (int j = 0; j < idx->rd_index->indnatts; j++)
			if (idx->rd_index->indkey.values[j] == t->attnums[c])
				pos[c] = j + 1;
		if (pos[c] < 0)
			return false;
	}
	return true;
}

/*
 * A btree index of the table read, valid and not partial, whose first key
 * is its column keycol and can be searched with a bigint, preferring one
 * that covers every column read; InvalidOid if none.  Its equality
 * procedure is returned in *proc, the columns' positions in its tuples in
 * pos (pos[0] = 0: not covering).
 */
static Oid
key_index(const TableRead *t, int keycol, RegProcedure *proc, int *pos)
{
	List	   *indexes = RelationGetIndexList(t->rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	pos[0] = 0;
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = idx->rd_index;
		Oid			op = InvalidOid;
		int			cpos[GNN_MAX_COLS];
		bool		covers;

		if (idx->rd_rel->relam == BTREE_AM_OID && form->indisvalid &&
			form->indkey.values[0] == t->attnums[keycol] &&
			heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL))
			op = get_opfamily_member(idx->rd_opfamily[0], idx->rd_opcintype[0],
									 INT8OID, BTEqualStrategyNumber);
		covers = OidIsValid(op) && covering(idx, t, cpos);
		index_close(idx, AccessShareLock);
		if (OidIsValid(op) && (!OidIsValid(found) || (covers && pos[0] == 0)))
		{
			*proc = get_opcode(op);
			found = lfirst_oid(lc);
			if (covers)
				memcpy(pos, cpos, sizeof(int) * t->ncols);
		}
	}
	list_free(indexes);
	return found;
}

/*
 * The rows of keys[0..n) (sorted, distinct), one index descent each, and
 * with the index covering every column and the heap page all-visible, the
 * index tuple itself (an index-only scan).
 */
static void
scan_descents(ReadState *rs, RowCallback cb, Relation idx, RegProcedure proc,
			  const int *pos, const int64 *keys, int n)
{
	TableRead  *t = rs->table;
	IndexScanDesc scan = index_beginscan(t->rel, idx, GetActiveSnapshot(), 1, 0);
	TupleTableSlot *slot = table_slot_create(t->rel, NULL);
	Buffer		vmbuffer = InvalidBuffer;
	bool		index_only = (pos[0] > 0);
	Datum		values[GNN_MAX_COLS];
	bool		nulls[GNN_MAX_COLS];
	ScanKeyData key;
	int64		nrows = 0;

	scan->xs_want_itup = index_only;
	for (int k = 0; k < n; k++)
	{
		ItemPointer tid;

		ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, INT8OID,
							   idx->rd_indcollation[0], proc, Int64GetDatum(keys[k]));
		index_rescan(scan, &key, 1, NULL, 0);
		while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
		{
			if (index_only &&
				VM_ALL_VISIBLE(t->rel, ItemPointerGetBlockNumber(tid), &vmbuffer))
			{
				for (int c = 0; c < t->ncols; c++)
					values[c] = index_getattr(scan->xs_itup, pos[c],
											  scan->xs_itupdesc, &nulls[c]);
			}
			else
			{
				if (!index_fetch_heap(scan, slot))
					continue;	/* not visible to the snapshot */
				slot_values(t, slot, values, nulls);
			}
			rs->tid = tid;
			cb(rs, values, nulls);
			if ((++nrows & 4095) == 0)
			{
				gnn_progress_done(rs->count);
				CHECK_FOR_INTERRUPTS();
			}
		}
		if ((k & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
	if (BufferIsValid(vmbuffer))
		ReleaseBuffer(vmbuffer);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/* A row fetched for scan_walked() */
typedef struct WalkedRows
{
	ReadState  *rs;
	RowCallback cb;
} WalkedRows;

static void
walked_row(void *arg, TupleTableSlot *slot, ItemPointer tid)
{
	WalkedRows *w = arg;
	ReadState  *rs = w->rs;
	Datum		values[GNN_MAX_COLS];
	bool		nulls[GNN_MAX_COLS];

	slot_values(rs->table, slot, values, nulls);
	rs->tid = tid;
	w->cb(rs, values, nulls);
}

/*
 * Node key's row comes soon: its entry in the map of destination rows,
 * read once and long since out of cache, is fetched meanwhile
 */
static void
walked_coming(void *arg, int64 key)
{
	gnnid_hash *dest = ((WalkedRows *) arg)->rs->dest;

	if (dest)
		__builtin_prefetch(&dest->data[gnn_hash_id(key) & dest->sizemask]);
}

/*
 * The rows of keys[0..n) (sorted, distinct): their TIDs from one walk along
 * idx's leaves, then the tuples in TID order, each checked against the
 * snapshot as an index scan's would be (keyscan.c).
 */
static void
scan_walked(ReadState *rs, RowCallback cb, Relation idx, const int64 *keys, int n)
{
	Relation	rel = rs->table->rel;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	WalkedRows	w = {rs, cb};
	GnnFetchRows rows = {walked_row, walked_coming, &w};
	GnnKeyTid  *found;
	int64		nfound = gnn_keyscan_tids(idx, keys, n, &found);

	gnn_keyscan_fetch(rel, idx, keys, found, nfound, slot, &rows);
	ExecDropSingleTupleTableSlot(slot);
	pfree(found);
}

/*
 * The rows whose key column is one of keys[0..nkeys), read directly through
 * the index (no query to plan, no tuple copied), the keys sorted and
 * deduplicated.  Rows fetched from the heap are found by one walk along
 * the index's leaves when it allows (an integer btree), which costs far
 * less than a descent per key when there are many; a key's rows come in
 * heap order either way.
 */
static void
scan_index_keys(ReadState *rs, RowCallback cb, Oid indexoid, RegProcedure proc,
				const int *pos, int64 *keys, int nkeys)
{
	Relation	idx = index_open(indexoid, AccessShareLock);
	int			n = sort_unique_keys(keys, nkeys);

	if (pos[0] == 0 && gnn_keyscan_usable(idx))
		scan_walked(rs, cb, idx, keys, n);
	else
		scan_descents(rs, cb, idx, proc, pos, keys, n);
	index_close(idx, AccessShareLock);
}

/*
 * The rows whose column keycol of the table read is one of keys[0..nkeys):
 * through an index on it when the table is read directly and the keys are
 * few against its rows (an index descent per key costs some ten times a
 * row of a sequential scan), otherwise the caller's own query, which the
 * planner makes a scan.
 */
static void
scan_keys(ReadState *rs, RowCallback cb, int keycol, const int64 *keys, int nkeys)
{
	TableRead  *t = rs->table;
	RegProcedure proc;
	int			pos[GNN_MAX_COLS];
	Oid			idx;

	if (direct_readable(t->rel) && (int64) nkeys * 10 < estimate_rows(t->rel) &&
		OidIsValid(idx = key_index(t, keycol, &proc, pos)))
	{
		int64	   *sorted = palloc(sizeof(int64) * Max(nkeys, 1));

		if (nkeys > 0)
			memcpy(sorted, keys, sizeof(int64) * nkeys);
		scan_index_keys(rs, cb, idx, proc, pos, sorted, nkeys);
		pfree(sorted);
	}
	else
		scan_spi_keys(rs, cb, t->colnames[keycol], keys, nkeys);
}


/* ---------- nodes ---------- */

static void
null_error(ReadState *rs, const char *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("column \"%s\" of relation \"%s\" contains a NULL",
					col, RelationGetRelationName(rs->table->rel)),
			 errdetail("gnn_infer needs a value in every row.")));
}

/* Grow the node arrays to newcap rows (0: by half) */
static void
grow_nodes(ReadState *rs, int64 newcap)
{
	GnnGraph   *g = rs->g;
	int64		cap = rs->capacity;

	if (newcap == 0)
		newcap = Max(cap + cap / 2, 1024);

	if (newcap > PG_INT32_MAX)
		newcap = PG_INT32_MAX;
	if (rs->count >= PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("gnn_infer supports at most %d nodes", PG_INT32_MAX)));
	g->ids = mem_grow(rs->mem, g->ids, cap * sizeof(int64),
					  newcap * sizeof(int64), "reading the node table");
	if (!rs->no_features)
		g->x = mem_grow(rs->mem, g->x, cap * g->width * sizeof(float),
						newcap * g->width * sizeof(float), "reading the node table");
	rs->capacity = newcap;
}

/* Copy one feature array into row, checking its shape */
static void
read_features(ReadState *rs, Datum d, Oid type, int64 id, float *row)
{
	GnnGraph   *g = rs->g;
	ArrayType  *arr = DatumGetArrayTypeP(d);
	int			n = (ARR_NDIM(arr) == 1) ? ARR_DIMS(arr)[0] : 0;

	if (ARR_NDIM(arr) != 1 || n != g->width)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features of node " INT64_FORMAT " in relation \"%s\" are not a one-dimensional array of %d values",
						id, RelationGetRelationName(rs->table->rel), g->width),
				 errdetail("The array is %d-dimensional with %d values; the model's input width is %d.",
						   ARR_NDIM(arr), ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)),
						   g->width)));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features of node " INT64_FORMAT " in relation \"%s\" contain a NULL",
						id, RelationGetRelationName(rs->table->rel))));
	if (type == FLOAT4ARRAYOID)
		memcpy(row, ARR_DATA_PTR(arr), sizeof(float) * n);
	else
	{
		const float8 *src = (const float8 *) ARR_DATA_PTR(arr);

		for (int i = 0; i < n; i++)
			row[i] = (float) src[i];
	}
	if ((Pointer) arr != DatumGetPointer(d))
		pfree(arr);
}

static void
duplicate_id_error(int64 id, Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("node id " INT64_FORMAT " appears more than once in relation \"%s\"",
					id, RelationGetRelationName(rel))));
}

/*
 * Room for more node rows: the next chunk of the shared arrays when reading
 * into them (once they are full, this process's own arrays), otherwise the
 * arrays grown.
 */
static void
next_node_rows(ReadState *rs)
{
	const GnnNodeChunks *c = rs->chunks;

	if (c && rs->g->ids == c->ids)
	{
		uint64		start = pg_atomic_fetch_add_u64(c->next, GNN_NODE_CHUNK);

		if (start + GNN_NODE_CHUNK <= (uint64) c->capacity)
		{
			rs->chunk_start = start;
			rs->count = start;
			rs->capacity = start + GNN_NODE_CHUNK;
			return;
		}
		rs->g->ids = NULL;
		rs->g->x = NULL;
		rs->count = rs->capacity = 0;
	}
	grow_nodes(rs, 0);
}

/* A node row's id, once its id and (if read) features are checked for NULL */
static int64
node_row_id(ReadState *rs, Datum *values, bool *nulls, bool features)
{
	if (nulls[0])
		null_error(rs, rs->table->colnames[0]);
	if (features && nulls[1])
		null_error(rs, rs->table->colnames[1]);
	return gnn_int_datum(values[0], rs->table->types[0]);
}

static void
node_row(ReadState *rs, Datum *values, bool *nulls)
{
	GnnGraph   *g = rs->g;
	int64		id = node_row_id(rs, values, nulls, !rs->no_features);
	bool		found;
	GnnIdEntry *e;

	if (rs->count == rs->capacity)
		next_node_rows(rs);

	e = gnnid_insert(rs->ids, id, &found);
	if (found)
		duplicate_id_error(id, rs->table->rel);
	e->index = (int32) rs->count;
	g->ids[rs->count] = id;
	if (!rs->no_features)
		read_features(rs, values[1], rs->table->types[1], id,
					  g->x + rs->count * g->width);
	rs->count++;
}

/* A node row whose features go to the caller's row for its id */
static void
node_dest_row(ReadState *rs, Datum *values, bool *nulls)
{
	int64		id = node_row_id(rs, values, nulls, true);
	GnnIdEntry *e = gnnid_lookup(rs->dest, id);

	if (e == NULL)
		return;					/* not asked for */
	if (rs->dest_found[e->index])
		duplicate_id_error(id, rs->table->rel);
	rs->dest_found[e->index] = true;
	read_features(rs, values[1], rs->table->types[1], id,
				  rs->dest_x + (int64) e->index * rs->g->width);
}

/* ---------- edges ---------- */

/* Copy one edge's feature array into out, checking its shape */
static void
read_edge_attr(ReadState *rs, Datum d, Oid type, float *out, int64 src, int64 dst)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	int			n = (ARR_NDIM(arr) == 1) ? ARR_DIMS(arr)[0] : 0;

	if (n != rs->attr_width || array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("edge features of edge (" INT64_FORMAT ", " INT64_FORMAT ") in relation \"%s\" are not a one-dimensional array of %d values without NULLs",
						src, dst, RelationGetRelationName(rs->table->rel), rs->attr_width)));
	if (type == FLOAT4ARRAYOID)
		memcpy(out, ARR_DATA_PTR(arr), sizeof(float) * n);
	else
		for (int i = 0; i < n; i++)
			out[i] = (float) ((const float8 *) ARR_DATA_PTR(arr))[i];
	if ((Pointer) arr != DatumGetPointer(d))
		pfree(arr);
}

/* Grow the edge arrays to newcap rows (0: by half) */
static void
grow_edges(ReadState *rs, int64 newcap)
{
	int64		cap = rs->capacity;
	int			wbytes = rs->g->has_weight ? sizeof(float) : 0;

	if (newcap == 0)
		newcap = Max(cap + cap / 2, 4096);
	rs->esrc = mem_grow(rs->mem, rs->esrc, cap * sizeof(int32),
						newcap * sizeof(int32), "reading the edge table");
	rs->edst = mem_grow(rs->mem, rs->edst, cap * sizeof(int32),
						newcap * sizeof(int32), "reading the edge table");
	if (wbytes)
		rs->ew = mem_grow(rs->mem, rs->ew, cap * wbytes, newcap * wbytes,
						  "reading the edge table");
	if (rs->attr_width)
		rs->eattr = mem_grow(rs->mem, rs->eattr, cap * rs->attr_width * sizeof(float),
							 newcap * rs->attr_width * sizeof(float),
							 "reading the edge table");
	rs->capacity = newcap;
}

/* A source node another shard holds: a new row after the shard's own */
static int32
halo_index(ReadState *rs, int64 id)
{
	bool		found;
	GnnIdEntry *e = gnnid_insert(rs->ids, id, &found);

	if (!found)
	{
		if (rs->nhalo == rs->halo_capacity)
		{
			int64		cap = Max(rs->halo_capacity * 2, 1024);

			rs->halo_ids = mem_grow(rs->mem, rs->halo_ids,
									rs->halo_capacity * sizeof(int64),
									cap * sizeof(int64), "the halo of a shard");
			rs->halo_capacity = cap;
		}
		if (rs->g->nnodes + rs->nhalo >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("gnn_infer supports at most %d nodes per shard", PG_INT32_MAX)));
		e->index = (int32) (rs->g->nnodes + rs->nhalo);
		rs->halo_ids[rs->nhalo++] = id;
	}
	return e->index;
}

/*
 * The id map of an edge's source or target: a heterogeneous edge type's
 * sources have their own node type's; the array form if built, else the
 * hash (returned in *hash)
 */
static inline const GnnDenseIds *
id_map(const ReadState *rs, bool is_src, gnnid_hash **hash)
{
	bool		typed = (rs->src_ids && is_src);

	*hash = typed ? rs->src_ids : rs->ids;
	return typed ? rs->src_dense : rs->dense;
}

static int32
node_index(ReadState *rs, int64 src, int64 dst, bool is_src)
{
	int64		id = is_src ? src : dst;
	gnnid_hash *hash;
	const GnnDenseIds *dense = id_map(rs, is_src, &hash);
	GnnIdEntry *e;

	if (dense)
	{
		int32		index = gnn_dense_lookup(dense, id);

		if (index >= 0)
			return index;
	}
	else if ((e = gnnid_lookup(hash, id)) != NULL)
		return e->index;
	if (rs->halo && is_src)
		return halo_index(rs, id);
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("edge (" INT64_FORMAT ", " INT64_FORMAT ") in relation \"%s\" refers to node " INT64_FORMAT ", which is not in the node table",
					src, dst, RelationGetRelationName(rs->table->rel), id)));
	return -1;					/* keep compiler quiet */
}

/* Prefetch the id map's entry for id */
static inline void
prefetch_id(const ReadState *rs, int64 id, bool is_src)
{
	gnnid_hash *hash;
	const GnnDenseIds *dense = id_map(rs, is_src, &hash);

	if (dense)
	{
		uint64		k = (uint64) id - (uint64) dense->lo;

		if (k < dense->span)
			__builtin_prefetch(&dense->index[k], 0, 0);
	}
	else
		__builtin_prefetch(&hash->data[gnn_hash_id(id) & hash->sizemask], 0, 0);
}

/*
 * Map the endpoints of the pending edges, which are rows end - npending ..
 * end - 1 of src and dst, in reading order (a shard's halo is numbered in
 * that order)
 */
static void
map_pending(ReadState *rs, int32 *src, int32 *dst, int64 end)
{
	int			n = rs->npending;
	int64		first = end - n;

	for (int j = 0; j < n; j++)
	{
		if (j + GNN_PREFETCH_IDS < n)
		{
			prefetch_id(rs, rs->pend_src[j + GNN_PREFETCH_IDS], true);
			prefetch_id(rs, rs->pend_dst[j + GNN_PREFETCH_IDS], false);
		}
		src[first + j] = node_index(rs, rs->pend_src[j], rs->pend_dst[j], true) + rs->src_off;
		dst[first + j] = node_index(rs, rs->pend_src[j], rs->pend_dst[j], false) + rs->dst_off;
	}
	rs->npending = 0;
}

static void
edge_row(ReadState *rs, Datum *values, bool *nulls)
{
	int64		src,
				dst;

	for (int c = 0; c < rs->table->ncols; c++)
		if (nulls[c])
			null_error(rs, rs->table->colnames[c]);
	if (rs->count == rs->capacity)
	{
		map_pending(rs, rs->esrc, rs->edst, rs->count);
		grow_edges(rs, 0);
	}
	src = gnn_int_datum(values[0], rs->table->types[0]);
	dst = gnn_int_datum(values[1], rs->table->types[1]);
	if (rs->halo)
	{
		GnnIdEntry *e = gnnid_lookup(rs->ids, dst);

		if (e == NULL || e->index >= rs->g->nnodes)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("edge (" INT64_FORMAT ", " INT64_FORMAT ") in relation \"%s\" has a target that is not in this shard's node table",
							src, dst, RelationGetRelationName(rs->table->rel)),
					 errdetail("A shard must hold the in-edges of its own nodes: the edges are partitioned by the hash of dst like the nodes by the hash of id.")));
	}
	rs->pend_src[rs->npending] = src;
	rs->pend_dst[rs->npending++] = dst;
	if (rs->g->has_weight)
		rs->ew[rs->count] = edge_value(values[2], rs->table->types[2]);
	if (rs->attr_width)
		read_edge_attr(rs, values[rs->attr_col], rs->table->types[rs->attr_col],
					   rs->eattr + rs->count * rs->attr_width, src, dst);
	rs->count++;
	if (rs->npending == GNN_PENDING_EDGES)
		map_pending(rs, rs->esrc, rs->edst, rs->count);
}

/* Read the edge table with edge_row; every edge mapped */
static void
scan_edges(ReadState *rs)
{
	scan_table(rs, edge_row);
	map_pending(rs, rs->esrc, rs->edst, rs->count);
}

/* Counting sort of the coordinate-form edges by target: a stable CSR */
static void
build_csr(ReadState *rs, int view)
{
	GnnGraph   *g = rs->g;
	GnnCsr	   *csr = &g->views[view];
	int			aw = rs->attr_width;
	int64		n = g->nnodes;
	int64		m = rs->count;
	int64	   *next;

	csr->nedges = m;
	csr->rowptr = gnn_mem_alloc(rs->mem, (n + 1) * sizeof(int64), "the edge index");
	csr->src = gnn_mem_alloc(rs->mem, Max(m, 1) * sizeof(int32), "the edge index");
	if (g->has_weight)
		csr->weight = gnn_mem_alloc(rs->mem, Max(m, 1) * sizeof(float), "the edge index");
	csr->attr_width = aw;
	if (aw)
		csr->attr = gnn_mem_alloc(rs->mem, Max(m, 1) * aw * sizeof(float), "the edge index");

	memset(csr->rowptr, 0, (n + 1) * sizeof(int64));
	for (int64 e = 0; e < m; e++)
		csr->rowptr[rs->edst[e] + 1]++;
	for (int64 i = 0; i < n; i++)
		csr->rowptr[i + 1] += csr->rowptr[i];

	next = gnn_mem_alloc(rs->mem, Max(n, 1) * sizeof(int64), "the edge index");
	memcpy(next, csr->rowptr, n * sizeof(int64));
	for (int64 e = 0; e < m; e++)
	{
		int64		pos = next[rs->edst[e]]++;

		csr->src[pos] = rs->esrc[e];
		if (g->has_weight)
			csr->weight[pos] = rs->ew[e];
		if (aw)
			memcpy(csr->attr + pos * aw, rs->eattr + e * aw, sizeof(float) * aw);
		if ((e & 0xFFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	gnn_mem_free(rs->mem, next, Max(n, 1) * sizeof(int64));
	gnn_mem_free(rs->mem, rs->esrc, rs->capacity * sizeof(int32));
	gnn_mem_free(rs->mem, rs->edst, rs->capacity * sizeof(int32));
	if (g->has_weight)
		gnn_mem_free(rs->mem, rs->ew, rs->capacity * sizeof(float));
	if (aw)
		gnn_mem_free(rs->mem, rs->eattr, rs->capacity * aw * sizeof(float));
	g->built[view] = true;
}

/*
 * Edges of the one-self-loop view of a CSR: the nodes [lo, hi) get one
 * loop each (the other nodes' in-edges, of another node type, have none).
 */
int64
gnn_graph_loop_view_edges(const GnnCsr *in, int64 lo, int64 hi)
{
	int64		loops = 0;

	for (int64 i = lo; i < hi; i++)
		for (int64 e = in->rowptr[i]; e < in->rowptr[i + 1]; e++)
			loops += (in->src[e] == i);
	return in->nedges - loops + (hi - lo);
}

/*
 * The added loop's edge features: PyG's add_self_loops with fill_value
 * "mean", the mean of the features of the node's other in-edges (0 if
 * none).  Summed in float, in edge order, like a scatter mean.
 */
static void
loop_attr(const GnnCsr *in, int64 i, float *out)
{
	int			w = in->attr_width;
	int64		count = 0;

	memset(out, 0, sizeof(float) * w);
	for (int64 e = in->rowptr[i]; e < in->rowptr[i + 1]; e++)
	{
		if (in->src[e] == i)
			continue;
		for (int c = 0; c < w; c++)
			out[c] += in->attr[e * w + c];
		count++;
	}
	if (count > 0)
		for (int c = 0; c < w; c++)
			out[c] /= (float) count;
}

/*
 * Fill the view with every self loop of the nodes [lo, hi) removed and one
 * added per node, last in its row, into out's arrays (allocated by the
 * caller for the n nodes; weight and attr only if in has them).  The added
 * loop keeps the weight of the node's last existing loop (PyG's
 * add_remaining_self_loops); nodes without one are flagged so that each
 * layer applies its own fill value.
 */
void
gnn_graph_fill_loop_view(const GnnCsr *in, int64 n, int64 lo, int64 hi,
						 GnnCsr *out)
{
	int64		pos = 0;
	int			aw = in->attr_width;

	out->attr_width = aw;
	for (int64 i = 0; i < n; i++)
	{
		bool		had = false;
		bool		looped = (i >= lo && i < hi);
		float		loopw = 1.0f;

		out->rowptr[i] = pos;
		for (int64 e = in->rowptr[i]; e < in->rowptr[i + 1]; e++)
		{
			if (looped && in->src[e] == i)
			{
				had = true;
				if (in->weight)
					loopw = in->weight[e];
				continue;
			}
			if (in->weight)
				out->weight[pos] = in->weight[e];
			if (aw)
				memcpy(out->attr + pos * aw, in->attr + e * aw, sizeof(float) * aw);
			out->src[pos++] = in->src[e];
		}
		out->fill_loop[i] = looped && !had;
		if (looped)
		{
			if (in->weight)
				out->weight[pos] = loopw;
			if (aw)
				loop_attr(in, i, out->attr + pos * aw);
			out->src[pos++] = (int32) i;
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	out->rowptr[n] = pos;
	out->nedges = pos;
}

/* The nodes that get a self loop in the loop view of view's edge type */
static void
loop_range(const GnnGraph *g, int view, int64 *lo, int64 *hi)
{
	int			t = g->ntypes > 0 ? g->etypes[GNN_VIEW_ETYPE(view)].dst : 0;

	*lo = gnn_graph_type_off(g, t);
	*hi = *lo + gnn_graph_type_rows(g, t);
}

void
gnn_graph_build_view(GnnGraph *g, int view)
{
	int			given = GNN_VIEW(GNN_VIEW_ETYPE(view), GNN_EDGES_AS_GIVEN);
	GnnCsr	   *in = &g->views[given];
	GnnCsr	   *out = &g->views[view];
	int64		n = g->nnodes;
	int64		m,
				lo,
				hi;

	if (g->built[view])
		return;
	Assert(GNN_VIEW_MODE(view) == GNN_EDGES_ONE_SELF_LOOP);
	loop_range(g, view, &lo, &hi);
	m = gnn_graph_view_edges(g, view);
	out->rowptr = gnn_mem_alloc(g->mem, (n + 1) * sizeof(int64), "the self-loop edge index");
	out->src = gnn_mem_alloc(g->mem, Max(m, 1) * sizeof(int32), "the self-loop edge index");
	out->fill_loop = gnn_mem_alloc(g->mem, Max(n, 1) * sizeof(bool), "the self-loop edge index");
	if (in->weight)
		out->weight = gnn_mem_alloc(g->mem, Max(m, 1) * sizeof(float), "the self-loop edge index");
	if (in->attr_width)
		out->attr = gnn_mem_alloc(g->mem, Max(m, 1) * in->attr_width * sizeof(float),
								  "the self-loop edge index");
	gnn_graph_fill_loop_view(in, n, lo, hi, out);
	g->built[view] = true;
}

/* Bytes of building view (0 when built or as given) */
int64
gnn_graph_view_bytes(const GnnGraph *g, int view)
{
	const GnnCsr *in = &g->views[GNN_VIEW(GNN_VIEW_ETYPE(view), GNN_EDGES_AS_GIVEN)];
	int64		m;

	if (GNN_VIEW_MODE(view) == GNN_EDGES_AS_GIVEN || g->built[view])
		return 0;
	m = gnn_graph_view_edges(g, view);
	return (g->nnodes + 1) * sizeof(int64) + g->nnodes +
		m * (sizeof(int32) + (in->weight ? sizeof(float) : 0) +
			 in->attr_width * sizeof(float));
}

int64
gnn_graph_view_edges(const GnnGraph *g, int view)
{
	int64		lo,
				hi;

	if (GNN_VIEW_MODE(view) == GNN_EDGES_AS_GIVEN || g->built[view] ||
		g->counted[view])
		return g->views[view].nedges;

	/*
	 * Counted once (a pass over every edge, asked for by each operation on
	 * the view while costs and memory are estimated); the edges read do not
	 * change, so the count is kept in the graph, in the view to be built.
	 */
	loop_range(g, view, &lo, &hi);
	unconstify(GnnGraph *, g)->views[view].nedges =
		gnn_graph_loop_view_edges(&g->views[view - 1], lo, hi);
	unconstify(GnnGraph *, g)->counted[view] = true;
	return g->views[view].nedges;
}

/* ---------- entry points ---------- */

static void
open_sources(const GnnGraphSource *src, TableRead *nodes, TableRead *edges)
{
	open_table(nodes, src->nodes, "node");
	add_column(nodes, "id", src->id_col, int_types, "smallint, integer or bigint");
	add_column(nodes, "features", src->features_col, feature_types,
			   "real[] or double precision[]");
	open_table(edges, src->edges, "edge");
	add_column(edges, "src", src->src_col, int_types, "smallint, integer or bigint");
	add_column(edges, "dst", src->dst_col, int_types, "smallint, integer or bigint");
	if (src->weight_col)
		add_column(edges, "weight", src->weight_col, weight_types,
				   "real, double precision or an integer type");
}

/* Bytes in memory per node read: id, features, id map */
static int64
node_bytes(int width)
{
	return sizeof(int64) + sizeof(float) * width + 2 * sizeof(GnnIdEntry);
}

/* Bytes per edge read: coordinate and CSR form of source, weight, features */
static int64
edge_bytes(bool weighted, int attr_width)
{
	return 2 * sizeof(int32) + (weighted ? 2 * sizeof(float) : 0) +
		2 * sizeof(float) * attr_width;
}

/*
 * Planner-estimated bytes the graph will take in memory, before reading:
 * ids, features and the id map per node; coordinate and CSR form per edge.
 */
int64
gnn_graph_estimate_bytes(const GnnGraphSource *source, int64 *nnodes,
						 int64 *nedges)
{
	TableRead	nodes,
				edges;
	int64		bytes;

	open_sources(source, &nodes, &edges);
	*nnodes = estimate_rows(nodes.rel);
	*nedges = estimate_rows(edges.rel);
	bytes = *nnodes * node_bytes(source->width) +
		*nedges * edge_bytes(source->weight_col != NULL, 0);
	table_close(nodes.rel, NoLock);
	table_close(edges.rel, NoLock);
	return bytes;
}

/* The same for the tables of a catalog graph */
int64
gnn_graph_estimate_bytes_hetero(const GnnHeteroSource *hs, int64 *nnodes,
								int64 *nedges)
{
	int64		bytes = 0;

	*nnodes = *nedges = 0;
	for (int t = 0; t < hs->ntypes; t++)
	{
		Relation	rel = table_open(hs->nodes[t].rel, AccessShareLock);
		int64		n = estimate_rows(rel);

		*nnodes += n;
		bytes += n * node_bytes(hs->nodes[t].width);
		table_close(rel, NoLock);
	}
	for (int r = 0; r < hs->netypes; r++)
	{
		const GnnEdgeSource *es = &hs->edges[r];
		Relation	rel = table_open(es->rel, AccessShareLock);
		int64		n = estimate_rows(rel);

		*nedges += n;
		bytes += n * edge_bytes(es->weight_col != NULL, es->attr_width);
		table_close(rel, NoLock);
	}
	return bytes;
}

/*
 * Append the halo after the shard's own nodes: their ids, and feature rows
 * of zeros, filled by the other shards when a layer needs them.
 */
static void
append_halo(ReadState *rs)
{
	GnnGraph   *g = rs->g;
	int64		n = g->nnodes + rs->nhalo;

	g->ids = mem_grow(rs->mem, g->ids, g->nnodes * sizeof(int64),
					  Max(n, 1) * sizeof(int64), "the halo of a shard");
	g->x = mem_grow(rs->mem, g->x, g->nnodes * g->width * sizeof(float),
					Max(n, 1) * g->width * sizeof(float), "the halo of a shard");
	if (rs->nhalo > 0)			/* (no halo: no array, and memcpy needs one) */
		memcpy(g->ids + g->nnodes, rs->halo_ids, rs->nhalo * sizeof(int64));
	memset(g->x + g->nnodes * g->width, 0, rs->nhalo * g->width * sizeof(float));
	g->nnodes = n;
	gnn_mem_free(rs->mem, rs->halo_ids, rs->halo_capacity * sizeof(int64));
}

/*
 * The dense form of the map of ids[0..n) -> 0..n-1 if their range is at
 * most twice their count and the memory limit leaves room (it is only an
 * optimisation); false if not built.  A repeated id is an error.
 */
static bool
dense_ids_build(GnnDenseIds *d, const int64 *ids, int64 n, GnnMemory *mem,
				Relation rel)
{
	int64		lo = PG_INT64_MAX,
				hi = PG_INT64_MIN;

	memset(d, 0, sizeof(GnnDenseIds));
	for (int64 i = 0; i < n; i++)
	{
		lo = Min(lo, ids[i]);
		hi = Max(hi, ids[i]);
	}
	if (n == 0 || (uint64) hi - (uint64) lo >= (uint64) n * 2 + 1024 ||
		(mem->limit > 0 && mem->used + ((uint64) hi - lo + 1) * 4 > mem->limit))
		return false;
	d->lo = lo;
	d->span = (uint64) hi - lo + 1;
	d->index = gnn_mem_alloc(mem, d->span * sizeof(int32), "the node id map");
	memset(d->index, 0xFF, d->span * sizeof(int32));
	for (int64 i = 0; i < n; i++)
	{
		int32	   *slot = &d->index[ids[i] - lo];

		if (*slot >= 0)
			duplicate_id_error(ids[i], rel);
		*slot = (int32) i;
	}
	return true;
}

static void
dense_ids_free(GnnDenseIds *d, GnnMemory *mem)
{
	if (d->index)
		gnn_mem_free(mem, d->index, d->span * sizeof(int32));
	d->index = NULL;
}

static GnnGraph *
read_graph(const GnnGraphSource *source, GnnMemory *mem, bool halo)
{
	GnnGraph   *g = palloc0(sizeof(GnnGraph));
	TableRead	nodes,
				edges;
	ReadState	rs;
	GnnDenseIds dense = {0};
	int64		est;
	int64		mapbytes;

	open_sources(source, &nodes, &edges);
	g->width = source->width;
	g->has_weight = (source->weight_col != NULL);
	g->mem = mem;

	memset(&rs, 0, sizeof(rs));
	rs.g = g;
	rs.mem = mem;
	rs.halo = halo;

	/* nodes: size the arrays and the id map from the planner's estimate */
	est = Min(estimate_rows(nodes.rel) + 16, PG_INT32_MAX);
	mapbytes = est * 2 * sizeof(GnnIdEntry);
	gnn_mem_reserve(mem, mapbytes, "the node id map");
	rs.ids = gnnid_create(CurrentMemoryContext, est, NULL);
	rs.table = &nodes;
	grow_nodes(&rs, est);
	gnn_progress_phase(GNN_PHASE_READING_NODES, estimate_rows(nodes.rel));
	scan_table(&rs, node_row);
	g->nnodes = rs.count;
	g->nlocal = rs.count;
	g->rows_read = rs.count;
	/* exactly the rows read (x then has the size of a node register) */
	grow_nodes(&rs, Max(rs.count, 1));
	/* (a shard's halo grows the map while its edges are read: hash only) */
	if (!halo && dense_ids_build(&dense, g->ids, g->nnodes, mem, nodes.rel))
		rs.dense = &dense;

	/* edges */
	rs.table = &edges;
	rs.count = 0;
	rs.capacity = 0;
	grow_edges(&rs, estimate_rows(edges.rel) + 16);
	gnn_progress_phase(GNN_PHASE_READING_EDGES, estimate_rows(edges.rel));
	scan_edges(&rs);
	g->rows_read += rs.count;
	if (halo)
		append_halo(&rs);
	build_csr(&rs, GNN_EDGES_AS_GIVEN);

	dense_ids_free(&dense, mem);
	gnnid_destroy(rs.ids);
	gnn_mem_release(mem, mapbytes);
	table_close(nodes.rel, NoLock);
	table_close(edges.rel, NoLock);
	return g;
}

GnnGraph *
gnn_graph_read(const GnnGraphSource *source, GnnMemory *mem)
{
	return read_graph(source, mem, false);
}

/*
 * A shard's part of a distributed graph: its nodes, its edges (whose
 * targets are all its own), and after its nodes the halo: the sources of
 * its edges that other shards hold.  g->nlocal counts its own nodes.
 */
GnnGraph *
gnn_graph_read_shard(const GnnGraphSource *source, GnnMemory *mem)
{
	return read_graph(source, mem, true);
}

/* ---------- heterogeneous graphs ---------- */

/* Read one node type's table into a graph of its own, keeping its id maps */
static GnnGraph *
read_node_type(const GnnNodeSource *ns, GnnMemory *mem, gnnid_hash **ids,
			   GnnDenseIds *dense, int64 *mapbytes)
{
	GnnGraph   *g = palloc0(sizeof(GnnGraph));
	TableRead	nodes;
	ReadState	rs;
	int64		est;

	open_table(&nodes, ns->rel, "node");
	add_column(&nodes, "id", ns->id_col, int_types, "smallint, integer or bigint");
	if (ns->width > 0)
		add_column(&nodes, "features", ns->features_col, feature_types,
				   "real[] or double precision[]");
	g->width = ns->width;
	g->mem = mem;
	memset(&rs, 0, sizeof(rs));
	rs.g = g;
	rs.mem = mem;
	rs.table = &nodes;
	rs.no_features = (ns->width <= 0);
	est = Min(estimate_rows(nodes.rel) + 16, PG_INT32_MAX);
	*mapbytes += est * 2 * sizeof(GnnIdEntry);
	gnn_mem_reserve(mem, est * 2 * sizeof(GnnIdEntry), "the node id map");
	rs.ids = *ids = gnnid_create(CurrentMemoryContext, est, NULL);
	grow_nodes(&rs, est);
	scan_table(&rs, node_row);
	g->nnodes = rs.count;
	g->rows_read = rs.count;
	dense_ids_build(dense, g->ids, g->nnodes, mem, nodes.rel);
	table_close(nodes.rel, NoLock);
	return g;
}

/* Read edge type r's table into view 2r of g */
static void
read_edge_type(GnnGraph *g, const GnnHeteroSource *hs, int r,
			   gnnid_hash *const *ids, const GnnDenseIds *dense, GnnMemory *mem)
{
	const GnnEdgeSource *es = &hs->edges[r];
	const GnnEdgeType *et = &hs->etypes[r];
	TableRead	edges;
	ReadState	rs;

	open_table(&edges, es->rel, "edge");
	add_column(&edges, "src", es->src_col, int_types, "smallint, integer or bigint");
	add_column(&edges, "dst", es->dst_col, int_types, "smallint, integer or bigint");
	if (es->weight_col)
		add_column(&edges, "weight", es->weight_col, weight_types,
				   "real, double precision or an integer type");
	memset(&rs, 0, sizeof(rs));
	if (es->attr_width > 0)
	{
		rs.attr_col = edges.ncols;
		add_column(&edges, "edge_attr", es->attr_col, feature_types,
				   "real[] or double precision[]");
	}
	g->has_weight = (es->weight_col != NULL);
	rs.g = g;
	rs.mem = mem;
	rs.table = &edges;
	rs.attr_width = es->attr_width;
	rs.src_ids = ids[et->src];
	rs.ids = ids[et->dst];
	rs.src_dense = dense[et->src].index ? &dense[et->src] : NULL;
	rs.dense = dense[et->dst].index ? &dense[et->dst] : NULL;
	rs.src_off = g->types[et->src].off;
	rs.dst_off = g->types[et->dst].off;
	grow_edges(&rs, estimate_rows(edges.rel) + 16);
	scan_edges(&rs);
	g->rows_read += rs.count;
	build_csr(&rs, GNN_VIEW(r, GNN_EDGES_AS_GIVEN));
	table_close(edges.rel, NoLock);
}

/*
 * A heterogeneous graph: the node types one after another in one
 * numbering, each edge type's edges in its own in-edge CSR over it.
 */
GnnGraph *
gnn_graph_read_hetero(const GnnHeteroSource *hs, GnnMemory *mem)
{
	GnnGraph   *g = palloc0(sizeof(GnnGraph));
	GnnGraph   *parts[GNN_MAX_NODE_TYPES];
	gnnid_hash *ids[GNN_MAX_NODE_TYPES];
	GnnDenseIds dense[GNN_MAX_NODE_TYPES];
	int64		mapbytes = 0;
	int64		n = 0;

	g->mem = mem;
	g->ntypes = hs->ntypes;
	g->netypes = hs->netypes;
	memcpy(g->etypes, hs->etypes, sizeof(GnnEdgeType) * hs->netypes);
	gnn_progress_phase(GNN_PHASE_READING_NODES, 0);
	for (int t = 0; t < hs->ntypes; t++)
	{
		parts[t] = read_node_type(&hs->nodes[t], mem, &ids[t], &dense[t], &mapbytes);
		g->types[t].off = n;
		g->types[t].n = parts[t]->nnodes;
		g->types[t].width = parts[t]->width;
		g->types[t].x = parts[t]->x;
		g->rows_read += parts[t]->nnodes;
		n += parts[t]->nnodes;
		if (n >= PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("gnn_infer supports at most %d nodes", PG_INT32_MAX)));
	}
	g->nnodes = g->nlocal = n;
	g->ids = gnn_mem_alloc(mem, Max(n, 1) * sizeof(int64), "the node ids");
	for (int t = 0; t < hs->ntypes; t++)
		memcpy(g->ids + g->types[t].off, parts[t]->ids, sizeof(int64) * parts[t]->nnodes);
	g->x = g->types[0].x;
	g->width = g->types[0].width;

	gnn_progress_phase(GNN_PHASE_READING_EDGES, 0);
	for (int r = 0; r < hs->netypes; r++)
		read_edge_type(g, hs, r, ids, dense, mem);
	for (int t = 0; t < hs->ntypes; t++)
	{
		dense_ids_free(&dense[t], mem);
		gnnid_destroy(ids[t]);
	}
	gnn_mem_release(mem, mapbytes);
	return g;
}

/* ---------- reading parts of the graph ---------- */

struct GnnGraphReader
{
	TableRead	nodes;
	TableRead	edges;
	ReadState	rs;
	GnnGraph   *g;				/* ids of the nodes read so far, in reading order */
	int64		node_capacity;	/* of g's arrays */
};

/*
 * Start reading parts of a graph: nodes by id and in-edges by target,
 * through the caller's own queries (an index on the id or dst column
 * serves them; privileges and policies apply).
 */
GnnGraphReader *
gnn_reader_begin(const GnnGraphSource *source, GnnMemory *mem)
{
	GnnGraphReader *r = palloc0(sizeof(GnnGraphReader));

	open_sources(source, &r->nodes, &r->edges);
	r->g = palloc0(sizeof(GnnGraph));
	r->g->width = source->width;
	r->g->has_weight = (source->weight_col != NULL);
	r->g->mem = mem;
	r->rs.g = r->g;
	r->rs.mem = mem;
	r->rs.ids = gnnid_create(CurrentMemoryContext, 1024, NULL);
	/* its own node arrays hold ids only */
	r->rs.no_features = true;
	return r;
}

/*
 * Look up which of the given ids are nodes (ids not in the table are
 * skipped; see gnn_reader_node()).  Ids only: features are read by
 * gnn_reader_features() straight into the caller's rows.
 */
void
gnn_reader_nodes(GnnGraphReader *r, const int64 *ids, int n)
{
	r->rs.table = &r->nodes;
	r->rs.count = r->g->nnodes;
	r->rs.capacity = r->node_capacity;
	/* room for all of them at once, not grown row by row */
	if (r->rs.count + n > r->rs.capacity)
		grow_nodes(&r->rs, Max(r->rs.count + n, r->rs.capacity + r->rs.capacity / 2));
	scan_keys(&r->rs, node_row, 0, ids, n);
	r->g->nnodes = r->rs.count;
	r->node_capacity = r->rs.capacity;
	r->g->rows_read += n;
}

/*
 * Read the features of nodes ids[0..n) (distinct) into x: node ids[i]'s
 * into row rows[i], setting found[rows[i]].  Ids not in the table leave
 * their rows as they were.  Writing each row where it belongs saves a
 * copy of them all, and the fresh memory it would take.
 */
void
gnn_reader_features(GnnGraphReader *r, const int64 *ids, const int32 *rows,
					int n, float *x, bool *found)
{
	ReadState  *rs = &r->rs;

	rs->table = &r->nodes;
	rs->dest = gnnid_create(CurrentMemoryContext, Max(n, 16), NULL);
	for (int i = 0; i < n; i++)
	{
		bool		dup;

		gnnid_insert(rs->dest, ids[i], &dup)->index = rows[i];
	}
	rs->dest_x = x;
	rs->dest_found = found;
	scan_keys(rs, node_dest_row, 0, ids, n);
	gnnid_destroy(rs->dest);
	rs->dest = NULL;
	r->g->rows_read += n;
}

/* Reading position of node id, or -1 when it was not read */
int32
gnn_reader_node(GnnGraphReader *r, int64 id)
{
	GnnIdEntry *e = gnnid_lookup(r->rs.ids, id);

	return e ? e->index : -1;
}

/* Rows read from both tables so far */
int64
gnn_reader_rows_read(GnnGraphReader *r)
{
	return r->g->rows_read;
}

/* Edge rows as read, ids not yet mapped */
static void
edge_ids_row(ReadState *rs, Datum *values, bool *nulls)
{
	GnnEdgeList *out = rs->edge_out;

	for (int c = 0; c < rs->table->ncols; c++)
		if (nulls[c])
			null_error(rs, rs->table->colnames[c]);
	if (out->n == rs->capacity)
	{
		int64		cap = rs->capacity;
		int64		newcap = Max(cap * 2, 1024);

		out->src = mem_grow(rs->mem, out->src, cap * sizeof(int64),
							newcap * sizeof(int64), "reading edges");
		out->dst = mem_grow(rs->mem, out->dst, cap * sizeof(int64),
							newcap * sizeof(int64), "reading edges");
		if (rs->g->has_weight)
			out->weight = mem_grow(rs->mem, out->weight, cap * sizeof(float),
								   newcap * sizeof(float), "reading edges");
		rs->capacity = newcap;
	}
	out->src[out->n] = gnn_int_datum(values[0], rs->table->types[0]);
	out->dst[out->n] = gnn_int_datum(values[1], rs->table->types[1]);
	if (rs->g->has_weight)
		out->weight[out->n] = edge_value(values[2], rs->table->types[2]);
	out->n++;
}

/* The in-edges of the nodes dsts[0..n), in table order, into *out */
void
gnn_reader_in_edges(GnnGraphReader *r, const int64 *dsts, int n,
					GnnEdgeList *out)
{
	memset(out, 0, sizeof(GnnEdgeList));
	r->rs.table = &r->edges;
	r->rs.capacity = 0;
	r->rs.edge_out = out;
	scan_keys(&r->rs, edge_ids_row, 1, dsts, n);
	r->g->rows_read += out->n;
}

void
gnn_reader_end(GnnGraphReader *r)
{
	table_close(r->nodes.rel, NoLock);
	table_close(r->edges.rel, NoLock);
}

/* ---------- parallel reading ---------- */

/*
 * Whether the tables of source can be read by several processes at once:
 * plain tables read directly (row-level security or a view needs the
 * caller's own query, which one process runs).
 */
bool
gnn_graph_parallel_readable(const GnnGraphSource *source)
{
	TableRead	nodes,
				edges;
	bool		ok;

	open_sources(source, &nodes, &edges);
	ok = direct_readable(nodes.rel) && direct_readable(edges.rel);
	table_close(nodes.rel, NoLock);
	table_close(edges.rel, NoLock);
	return ok;
}

Size
gnn_graph_pscan_size(Oid relid, Snapshot snapshot)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Size		size = table_parallelscan_estimate(rel, snapshot);

	table_close(rel, NoLock);
	return size;
}

void
gnn_graph_pscan_init(Oid relid, ParallelTableScanDesc pscan, Snapshot snapshot)
{
	Relation	rel = table_open(relid, AccessShareLock);

	table_parallelscan_initialize(rel, pscan, snapshot);
	/*
	 * From the first block, not where a concurrent scan is: each
	 * participant's share then comes in table order, which the parallel
	 * edge read relies on to restore the serial read's order by merging.
	 */
	pscan->phs_syncscan = false;
	table_close(rel, NoLock);
}

/*
 * This process's share of a parallel scan of the node table, written
 * straight into the shared arrays of chunks, a chunk of GNN_NODE_CHUNK rows
 * claimed at a time (no private copy to make, no fresh memory to fault in:
 * the shared arrays come from memory the server set aside).  The rows are
 * in the chunks' order, not the table's, which nothing depends on.  Rows
 * that find the shared arrays full go to arrays of this process's own,
 * share->overflow, for the caller to move.
 */
void
gnn_graph_read_nodes_shared(const GnnGraphSource *source,
							ParallelTableScanDesc pscan,
							const GnnNodeChunks *chunks, GnnMemory *mem,
							GnnNodeShare *share)
{
	GnnGraph   *g = palloc0(sizeof(GnnGraph));
	TableRead	nodes,
				edges;
	ReadState	rs;

	open_sources(source, &nodes, &edges);
	g->width = source->width;
	g->mem = mem;
	g->ids = chunks->ids;
	g->x = chunks->x;
	memset(&rs, 0, sizeof(rs));
	rs.g = g;
	rs.mem = mem;
	rs.table = &nodes;
	rs.pscan = pscan;
	rs.chunks = chunks;
	rs.chunk_start = -1;
	rs.ids = gnnid_create(CurrentMemoryContext, 1024, NULL);
	gnn_progress_phase(GNN_PHASE_READING_NODES, 0);
	scan_direct(&rs, node_row);
	gnnid_destroy(rs.ids);
	table_close(nodes.rel, NoLock);
	table_close(edges.rel, NoLock);

	share->last_start = rs.chunk_start;
	share->overflow = NULL;
	if (g->ids == chunks->ids)
		share->last_fill = rs.count - Max(rs.chunk_start, 0);
	else
	{
		/* the last shared chunk was full; the rest is this process's */
		share->last_fill = GNN_NODE_CHUNK;
		g->nnodes = g->rows_read = rs.count;
		share->overflow = g;
	}
}

/* Grow the arrays of this process's share of the edges to newcap rows */
static void
grow_edge_part(ReadState *rs, int64 newcap)
{
	GnnEdgePart *out = rs->part_out;
	int64		cap = rs->capacity;

	out->src = mem_grow(rs->mem, out->src, cap * sizeof(int32),
						newcap * sizeof(int32), "reading the edge table");
	out->dst = mem_grow(rs->mem, out->dst, cap * sizeof(int32),
						newcap * sizeof(int32), "reading the edge table");
	out->pos = mem_grow(rs->mem, out->pos, cap * sizeof(uint64),
						newcap * sizeof(uint64), "reading the edge table");
	if (rs->g->has_weight)
		out->weight = mem_grow(rs->mem, out->weight, cap * sizeof(float),
							   newcap * sizeof(float), "reading the edge table");
	rs->capacity = newcap;
}

/* An edge of this process's share: mapped endpoints and table position */
static void
edge_part_row(ReadState *rs, Datum *values, bool *nulls)
{
	GnnEdgePart *out = rs->part_out;
	int64		src,
				dst;

	for (int c = 0; c < rs->table->ncols; c++)
		if (nulls[c])
			null_error(rs, rs->table->colnames[c]);
	if (out->n == rs->capacity)
	{
		map_pending(rs, out->src, out->dst, out->n);
		grow_edge_part(rs, Max(rs->capacity + rs->capacity / 2, 4096));
	}
	src = gnn_int_datum(values[0], rs->table->types[0]);
	dst = gnn_int_datum(values[1], rs->table->types[1]);
	rs->pend_src[rs->npending] = src;
	rs->pend_dst[rs->npending++] = dst;
	out->pos[out->n] = ((uint64) ItemPointerGetBlockNumberNoCheck(rs->tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(rs->tid);
	if (rs->g->has_weight)
		out->weight[out->n] = edge_value(values[2], rs->table->types[2]);
	out->n++;
	if (rs->npending == GNN_PENDING_EDGES)
		map_pending(rs, out->src, out->dst, out->n);
}

/* The hash map of ids[0..n) -> 0..n-1; a repeated id is an error */
static gnnid_hash *
ids_hash(const int64 *ids, int64 n, GnnMemory *mem, Relation rel)
{
	gnnid_hash *h;

	gnn_mem_reserve(mem, n * 2 * sizeof(GnnIdEntry), "the node id map");
	h = gnnid_create(CurrentMemoryContext, n, NULL);
	for (int64 i = 0; i < n; i++)
	{
		bool		found;
		GnnIdEntry *e = gnnid_insert(h, ids[i], &found);

		if (found)
			duplicate_id_error(ids[i], rel);
		e->index = (int32) i;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return h;
}

/*
 * This process's share of the edge table, endpoints mapped to the indexes
 * of ids[0..nnodes) (every node of the graph; a duplicate is an error), with
 * each edge's position in the table, which restores the table order.
 */
void
gnn_graph_read_edges_part(const GnnGraphSource *source,
						  ParallelTableScanDesc pscan, int nparts,
						  const int64 *ids, int64 nnodes, GnnMemory *mem,
						  GnnEdgePart *out)
{
	GnnGraph	g;
	TableRead	nodes,
				edges;
	ReadState	rs;
	GnnDenseIds dense = {0};

	open_sources(source, &nodes, &edges);
	memset(&g, 0, sizeof(g));
	g.has_weight = (source->weight_col != NULL);
	memset(&rs, 0, sizeof(rs));
	rs.g = &g;
	rs.mem = mem;
	rs.table = &nodes;
	if (dense_ids_build(&dense, ids, nnodes, mem, nodes.rel))
		rs.dense = &dense;
	else
		rs.ids = ids_hash(ids, nnodes, mem, nodes.rel);

	memset(out, 0, sizeof(GnnEdgePart));
	rs.table = &edges;
	rs.pscan = pscan;
	rs.part_out = out;
	/*
	 * Room for an even share of the planner's estimate and a tenth more (for
	 * an uneven split): growing the arrays by copying costs more than
	 * reading the rows.
	 */
	grow_edge_part(&rs, estimate_rows(edges.rel) / Max(nparts, 1) * 11 / 10 + 4096);
	gnn_progress_phase(GNN_PHASE_READING_EDGES, 0);
	scan_direct(&rs, edge_part_row);
	map_pending(&rs, out->src, out->dst, out->n);
	if (rs.ids)
	{
		gnnid_destroy(rs.ids);
		gnn_mem_release(mem, nnodes * 2 * sizeof(GnnIdEntry));
	}
	dense_ids_free(&dense, mem);
	table_close(nodes.rel, NoLock);
	table_close(edges.rel, NoLock);
}
