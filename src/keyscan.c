/*-------------------------------------------------------------------------
 *
 * keyscan.c
 *	  Many keys looked up in a btree index in one pass along its leaves,
 *	  and their heap rows fetched with the cache misses overlapped.
 *
 * A query on a few target nodes reads the features of thousands of nodes
 * by id: a 2-layer receptive field on a power-law graph is some 5,000 of
 * them.  An index scan per key descends from the root each time and
 * binary-searches every level through the comparison function; nearly all
 * of that is cache misses, several per level.  With the keys sorted, one
 * walk along the leaf level finds them all: each leaf holding keys is
 * read once, the keys on it found by comparing integers in place, and the
 * walk steps right to the next leaf, or descends afresh only when the next
 * key is further away than a leaf's width of keys.  Where the walk goes
 * next is known before a leaf is read, so the next leaf is looked up and
 * prefetched meanwhile.
 *
 * The walk follows nbtree's own rules for readers: a leaf is read under
 * its share lock, the right-link is followed to pass concurrent splits and
 * deleted pages, and entries with a key equal to a leaf's high key may
 * continue on its right sibling.  It yields heap TIDs only; the caller
 * checks each tuple's visibility, as an index scan's caller does.
 *
 * The tuples are then fetched in TID order.  Each fetch is a chain of
 * dependent cache misses (buffer mapping, buffer header, page header, line
 * pointer, tuple) that one row at a time leaves the processor waiting on
 * every link.  So all the buffers are looked up first (PrefetchBuffer(),
 * which also starts reading pages not in shared buffers, or the session's
 * buffer hints below), the memory of the rows a few ahead is prefetched,
 * and each row is then pinned with ReadRecentBuffer() and read as an index
 * scan reads it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __x86_64__
#include <cpuid.h>
#endif

#include "access/heapam.h"
#include "access/nbtree.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "graph.h"
#include "idmap.h"
#include "keyscan.h"

typedef struct Walk
{
	Relation	idx;
	TupleDesc	desc;
	Oid			type;			/* of the first column: int2, int4 or int8 */
	BTScanInsertData ins;		/* for descents: one int8 key */
	Buffer		buf;			/* the leaf read, share-locked */
	GnnKeyTid  *found;
	int64		n;
	int64		cap;
} Walk;

/* Whether the processor has PREFETCHW (-1: not asked yet) */
static int	has_prefetchw = -1;

static void
check_prefetchw(void)
{
#ifdef __x86_64__
	unsigned int a,
				b,
				c,
				d;

	if (has_prefetchw < 0)
		has_prefetchw = __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & bit_PRFCHW);
#else
	has_prefetchw = 0;
#endif
}

/*
 * Prefetch p to be written: a line fetched only for reading must be
 * fetched again before an atomic operation on it.  PREFETCHW is on every
 * AMD processor and Intel's since Broadwell; elsewhere a plain prefetch.
 */
static pg_attribute_always_inline void
prefetch_write(const void *p)
{
#ifdef __x86_64__
	if (has_prefetchw > 0)
	{
		__asm__ volatile ("prefetchw %0"::"m" (*(const char *) p));
		return;
	}
#endif
	__builtin_prefetch(p);
}

/*
 * Whether idx can be walked: a btree whose first column is an integer in
 * ascending order (nulls last), which is how the walk compares keys.
 */
bool
gnn_keyscan_usable(Relation idx)
{
	Oid			t = idx->rd_opcintype[0];

	return idx->rd_rel->relam == BTREE_AM_OID &&
		(t == INT2OID || t == INT4OID || t == INT8OID) &&
		TupleDescAttr(RelationGetDescr(idx), 0)->atttypid == t &&
		idx->rd_indoption[0] == 0 &&
		OidIsValid(get_opfamily_proc(idx->rd_opfamily[0], t, INT8OID, BTORDER_PROC));
}

/* The key of item off of page; *isnull for a NULL, which sorts last */
static int64
item_key(const Walk *w, Page page, OffsetNumber off, bool *isnull)
{
	IndexTuple	itup = (IndexTuple) PageGetItem(page, PageGetItemId(page, off));
	Datum		d = index_getattr(itup, 1, w->desc, isnull);

	return *isnull ? 0 : gnn_int_datum(d, w->type);
}

/* The first item in [lo, hi) of page whose key is key or more */
static OffsetNumber
binary_search(const Walk *w, Page page, OffsetNumber lo, OffsetNumber hi, int64 key)
{
	while (lo < hi)
	{
		OffsetNumber mid = lo + (hi - lo) / 2;
		bool		isnull;
		int64		v = item_key(w, page, mid, &isnull);

		if (!isnull && v < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The same, starting from where key would be were the keys of [lo, hi)
 * spread evenly between the first and the last (integer ids usually are):
 * from that guess, steps of doubling length bracket the answer, which a
 * binary search then finds.  An even spread takes a few probes close
 * together instead of a dozen across the page; any spread stays correct.
 */
static OffsetNumber
lower_bound(const Walk *w, Page page, OffsetNumber lo, OffsetNumber hi, int64 key)
{
	bool		null1,
				null2,
				isnull;
	int64		first,
				last,
				v;
	int			guess,
				step;

	if (hi - lo < 8)
		return binary_search(w, page, lo, hi, key);
	first = item_key(w, page, lo, &null1);
	last = item_key(w, page, hi - 1, &null2);
	if (null1 || null2 || first >= key || last < key)
		return (null1 || first >= key) ? lo :
			(null2 ? binary_search(w, page, lo, hi, key) : hi);
	/* first < key <= last */
	guess = lo + (int) (((double) key - first) / ((double) last - first) * (hi - 1 - lo));
	guess = Min(Max(guess, lo + 1), hi - 1);
	v = item_key(w, page, guess, &isnull);
	if (!isnull && v < key)
	{
		/* the answer is in (guess, hi) */
		for (step = 1; guess + step < hi - 1; step *= 2)
		{
			v = item_key(w, page, guess + step, &isnull);
			if (isnull || v >= key)
				return binary_search(w, page, guess + step / 2 + 1, guess + step + 1, key);
		}
		return binary_search(w, page, guess + step / 2 + 1, hi, key);
	}
	/* the answer is in (lo, guess] */
	for (step = 1; guess - step > lo; step *= 2)
	{
		v = item_key(w, page, guess - step, &isnull);
		if (!isnull && v < key)
			return binary_search(w, page, guess - step + 1, guess - step / 2 + 1, key);
	}
	return binary_search(w, page, lo + 1, guess - step / 2 + 1, key);
}

static bool
item_equals(const Walk *w, Page page, OffsetNumber off, int64 key)
{
	bool		isnull;
	int64		v = item_key(w, page, off, &isnull);

	return !isnull && v == key;
}

static void
add_tid(Walk *w, ItemPointer tid, int key)
{
	if (w->n == w->cap)
	{
		w->cap *= 2;
		w->found = repalloc_huge(w->found, sizeof(GnnKeyTid) * w->cap);
	}
	w->found[w->n].tid = *tid;
	w->found[w->n++].key = key;
}

/* The heap TIDs of a leaf item of keys[key], one or a posting list */
static void
add_item(Walk *w, Page page, OffsetNumber off, int key)
{
	IndexTuple	itup = (IndexTuple) PageGetItem(page, PageGetItemId(page, off));

	if (BTreeTupleIsPosting(itup))
	{
		for (int j = 0; j < BTreeTupleGetNPosting(itup); j++)
			add_tid(w, BTreeTupleGetPostingN(itup, j), key);
	}
	else
		add_tid(w, &itup->t_tid, key);
}

/*
 * Collect the entries of keys[i..end) on the leaf held.  The caller stops
 * end past the keys that may continue to the right: the first key at or
 * past the high key is the last looked at here, as entries equal to the
 * high key may sit on this leaf and on its right sibling both.
 */
static void
walk_leaf(Walk *w, const int64 *keys, int i, int end)
{
	Page		page = BufferGetPage(w->buf);
	BTPageOpaque opaque = BTPageGetOpaque(page);
	OffsetNumber off = P_FIRSTDATAKEY(opaque);
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

	if (P_IGNORE(opaque))
		return;					/* deleted or being deleted: no entries */
	for (; i < end; i++)
	{
		off = lower_bound(w, page, off, maxoff + 1, keys[i]);
		for (; off <= maxoff && item_equals(w, page, off, keys[i]); off++)
			add_item(w, page, off, i);
	}
}

/* Hold the leaf where key's entries start, or none in an empty index */
static void
descend(Walk *w, int64 key)
{
	w->ins.scankeys[0].sk_argument = Int64GetDatum(key);
	_bt_freestack(_bt_search(w->idx, &w->ins, &w->buf, BT_READ, GetActiveSnapshot()));
}

/*
 * Whether key lies further right than the held leaf spans, so that a
 * descent costs less than stepping through the leaves between
 */
static bool
far_right(const Walk *w, int64 key)
{
	Page		page = BufferGetPage(w->buf);
	BTPageOpaque opaque = BTPageGetOpaque(page);
	OffsetNumber first = P_FIRSTDATAKEY(opaque);
	bool		null1,
				null2;
	int64		hikey,
				low;

	if (P_IGNORE(opaque) || first > PageGetMaxOffsetNumber(page))
		return false;
	hikey = item_key(w, page, P_HIKEY, &null1);
	low = item_key(w, page, first, &null2);
	if (null1 || null2)
		return false;
	/* key >= hikey >= low here; unsigned differences cannot overflow */
	return (uint64) key - (uint64) hikey > (uint64) hikey - (uint64) low;
}

/*
 * The first of keys[i..nkeys) at or past the held leaf's high key: the
 * first whose entries may continue to the right (nkeys when none)
 */
static int
pending_key(const Walk *w, const int64 *keys, int nkeys, int i)
{
	Page		page = BufferGetPage(w->buf);
	BTPageOpaque opaque = BTPageGetOpaque(page);
	bool		isnull;
	int64		hikey;
	int			hi = nkeys;

	if (P_IGNORE(opaque))
		return i;
	if (P_RIGHTMOST(opaque))
		return nkeys;
	hikey = item_key(w, page, P_HIKEY, &isnull);
	if (isnull)
		return nkeys;
	while (i < hi)
	{
		int			mid = i + (hi - i) / 2;

		if (keys[mid] < hikey)
			i = mid + 1;
		else
			hi = mid;
	}
	return i;
}

/*
 * Buffer hints: the shared buffer this backend last found each page in,
 * keyed by relation and block.  Point queries on one graph keep reading
 * the same pages (two hops of a power-law graph keep reaching the same
 * hubs' neighbourhoods: after a few dozen queries the benchmark's fields
 * were over 95% pages read before), and a hint saves the buffer mapping
 * lookup, a locked hash probe that was the largest cost left in a fetch.
 * A hint is only a guess: ReadRecentBuffer() checks under the buffer
 * header lock that the buffer still holds the page, and a stale hint costs
 * that check and the lookup.  The table grows with the pages read (a
 * fixed one costs its whole size in fresh memory in a session's first
 * query) up to GNN_MAX_HINTS, and then starts afresh.  Temporary tables
 * (local buffers) are looked up every time.
 */
#define GNN_MAX_HINTS (1 << 18)		/* 8 MB at most per backend */

typedef struct BufferHint
{
	uint64		key;			/* relfilenode << 32 | block */
	Buffer		buffer;
	char		status;
} BufferHint;

#define SH_PREFIX hint
#define SH_ELEMENT_TYPE BufferHint
#define SH_KEY_TYPE uint64
#define SH_KEY key
#define SH_HASH_KEY(tb, key) gnn_hash_id((int64) (key))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static hint_hash *hints;

static uint64
hint_key(Relation rel, BlockNumber blk)
{
	return ((uint64) rel->rd_node.relNode << 32) | blk;
}

/* Remember that page blk of rel is in shared buffer buf */
static void
note_buffer(Relation rel, BlockNumber blk, Buffer buf)
{
	bool		found;

	if (!BufferIsValid(buf) || BufferIsLocal(buf))
		return;
	if (hints == NULL)
		hints = hint_create(TopMemoryContext, 1024, NULL);
	else if (hints->members >= GNN_MAX_HINTS)
		hint_reset(hints);
	hint_insert(hints, hint_key(rel, blk), &found)->buffer = buf;
}

/*
 * The buffer that probably holds page blk of rel: its hint, or else looked
 * up (PrefetchBuffer(), which also starts reading a page not in shared
 * buffers: InvalidBuffer then).
 */
static Buffer
find_buffer(Relation rel, BlockNumber blk)
{
	Buffer		buf;

	if (hints && !RelationUsesLocalBuffers(rel))
	{
		BufferHint *h = hint_lookup(hints, hint_key(rel, blk));

		if (h)
			return h->buffer;
	}
	buf = PrefetchBuffer(rel, MAIN_FORKNUM, blk).recent_buffer;
	note_buffer(rel, blk, buf);
	return buf;
}

/*
 * Pin page blk of rel, in buffer recent if it still holds it, and note
 * where it was
 */
static Buffer
pin_page(Relation rel, BlockNumber blk, Buffer recent)
{
	Buffer		buf;

	if (BufferIsValid(recent) &&
		ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM, blk, recent))
		return recent;
	buf = ReadBuffer(rel, blk);
	note_buffer(rel, blk, buf);
	return buf;
}

/*
 * Look up leaf blk's buffer and prefetch the whole page, while the leaf
 * before it is still being read: the page is then in cache when the walk
 * steps onto it.  The page is not read here, so needs no pin.
 */
static Buffer
prefetch_leaf(const Walk *w, BlockNumber blk)
{
	Buffer		recent = find_buffer(w->idx, blk);

	if (BufferIsValid(recent))
	{
		char	   *page = (char *) BufferGetPage(recent);

		if (!BufferIsLocal(recent))
			prefetch_write(GetBufferDescriptor(recent - 1));
		for (int b = 0; b < BLCKSZ; b += 64)
			__builtin_prefetch(page + b);
	}
	return recent;
}

/* Hold leaf blk, in buffer recent if it still holds it, as _bt_getbuf() */
static void
step_right(Walk *w, BlockNumber blk, Buffer recent)
{
	w->buf = pin_page(w->idx, blk, recent);
	_bt_lockbuf(w->idx, w->buf, BT_READ);
	_bt_checkpage(w->idx, w->buf);
	TestForOldSnapshot(GetActiveSnapshot(), w->idx, BufferGetPage(w->buf));
}

/* Entries in heap order, which groups rows sharing a page */
#define ST_SORT sort_by_tid
#define ST_ELEMENT_TYPE GnnKeyTid
#define ST_COMPARE(a, b) ItemPointerCompare(&(a)->tid, &(b)->tid)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The entries of idx whose first column is one of keys[0..nkeys) (sorted
 * ascending, distinct), in heap TID order, into *found (palloc'd); the
 * caller has checked gnn_keyscan_usable().  Returns their number.
 */
int64
gnn_keyscan_tids(Relation idx, const int64 *keys, int nkeys,
				 GnnKeyTid **found)
{
	Walk		w;
	int			i = 0;

	check_prefetchw();
	memset(&w, 0, sizeof(w));
	w.idx = idx;
	w.desc = RelationGetDescr(idx);
	w.type = idx->rd_opcintype[0];
	w.cap = Max(nkeys, 16);
	w.found = palloc_extended(sizeof(GnnKeyTid) * w.cap, MCXT_ALLOC_HUGE);
	w.buf = InvalidBuffer;
	_bt_metaversion(idx, &w.ins.heapkeyspace, &w.ins.allequalimage);
	w.ins.keysz = 1;
	ScanKeyEntryInitialize(&w.ins.scankeys[0], 0, 1, InvalidStrategy, INT8OID,
						   idx->rd_indcollation[0],
						   get_opfamily_proc(idx->rd_opfamily[0], w.type, INT8OID,
											 BTORDER_PROC),
						   (Datum) 0);

	if (nkeys > 0)
		descend(&w, keys[0]);
	while (BufferIsValid(w.buf))
	{
		BTPageOpaque opaque = BTPageGetOpaque(BufferGetPage(w.buf));
		BlockNumber next = opaque->btpo_next;
		int			p = pending_key(&w, keys, nkeys, i);
		bool		far = (p < nkeys && far_right(&w, keys[p]));
		Buffer		recent = InvalidBuffer;

		/* where the walk goes next is known before this leaf is read */
		if (p < nkeys && !far)
			recent = prefetch_leaf(&w, next);
		walk_leaf(&w, keys, i, Min(p + 1, nkeys));
		i = p;
		if (i == nkeys || P_RIGHTMOST(opaque))
			break;
		_bt_relbuf(idx, w.buf);
		CHECK_FOR_INTERRUPTS();
		if (far)
			descend(&w, keys[i]);
		else
			step_right(&w, next, recent);
	}
	if (BufferIsValid(w.buf))
		_bt_relbuf(idx, w.buf);
	/* in the index's statistics as one index scan */
	pgstat_count_index_scan(idx);
	pgstat_count_index_tuples(idx, w.n);
	sort_by_tid(w.found, w.n);
	*found = w.found;
	return w.n;
}

/* Rows fetched ahead: links of their chains of misses are prefetched */
#define FETCH_AHEAD 8

/*
 * The buffer header, page header and line pointer of tid in buffer buf.
 * Always inlined: gcc would otherwise find a function of prefetches alone
 * free of side effects and drop its calls.
 */
static pg_attribute_always_inline void
prefetch_slot(Buffer buf, ItemPointer tid)
{
	Page		page = BufferGetPage(buf);

	if (!BufferIsLocal(buf))
		prefetch_write(GetBufferDescriptor(buf - 1));	/* pinned and locked */
	__builtin_prefetch(page);
	__builtin_prefetch(PageGetItemId(page, ItemPointerGetOffsetNumber(tid)));
}

/*
 * The tuple of tid in buffer buf.  The line pointer is read without a pin
 * or lock: a stale value only misdirects a prefetch, which cannot fault.
 */
static pg_attribute_always_inline void
prefetch_tuple(Buffer buf, ItemPointer tid)
{
	char	   *page = (char *) BufferGetPage(buf);
	ItemId		lp = PageGetItemId(page, ItemPointerGetOffsetNumber(tid));
	uint32		off = ItemIdGetOffset(lp);
	uint32		len = Min(ItemIdGetLength(lp), 1024);

	if (off + len <= BLCKSZ)
		for (uint32 b = 0; b < len; b += 64)
			__builtin_prefetch(page + off + b);
}

/*
 * The tuple of tid in the pinned heap page buf visible to snapshot, into
 * slot, as heapam's index fetch reads it (following a HOT chain from tid).
 */
static bool
fetch_heap_tuple(Relation rel, Buffer buf, ItemPointer tid, Snapshot snapshot,
				 TupleTableSlot *slot)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	ItemPointerData at = *tid;
	bool		all_dead;
	bool		found;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	found = heap_hot_search_buffer(&at, rel, buf, snapshot, &bslot->base.tupdata,
								   &all_dead, true);
	bslot->base.tupdata.t_self = at;
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (found)
	{
		slot->tts_tableOid = RelationGetRelid(rel);
		ExecStoreBufferHeapTuple(&bslot->base.tupdata, slot, buf);
	}
	return found;
}

/* Every heap page of found[0..n) looked up (and read ahead if not cached) */
static Buffer *
look_up_pages(Relation rel, const GnnKeyTid *found, int64 n)
{
	Buffer	   *recent = palloc_extended(sizeof(Buffer) * Max(n, 1), MCXT_ALLOC_HUGE);

	for (int64 j = 0; j < n; j++)
	{
		BlockNumber blk = ItemPointerGetBlockNumber(&found[j].tid);

		if (j > 0 && blk == ItemPointerGetBlockNumber(&found[j - 1].tid))
			recent[j] = recent[j - 1];
		else
			recent[j] = find_buffer(rel, blk);
	}
	return recent;
}

/* The prefetches for row j of found[0..n) */
static inline void
prefetch_row(const int64 *keys, const GnnKeyTid *found, const Buffer *recent,
			 int64 j, int64 n, const GnnFetchRows *rows)
{
	int64		far = j + FETCH_AHEAD;
	int64		near = j + FETCH_AHEAD / 2;

	if (far < n && BufferIsValid(recent[far]))
		prefetch_slot(recent[far], (ItemPointer) &found[far].tid);
	if (far < n && rows->coming)
		rows->coming(rows->arg, keys[found[far].key]);
	if (near < n && BufferIsValid(recent[near]))
		prefetch_tuple(recent[near], (ItemPointer) &found[near].tid);
}

/* The visible tuples of found[0..n) of a heap table, in order, into rows */
static void
fetch_heap(Relation rel, Relation idx, const int64 *keys, const GnnKeyTid *found,
		   int64 n, TupleTableSlot *slot, const GnnFetchRows *rows)
{
	Buffer	   *recent = look_up_pages(rel, found, n);
	Snapshot	snapshot = GetActiveSnapshot();
	Buffer		buf = InvalidBuffer;
	BlockNumber blk = InvalidBlockNumber;

	for (int64 j = 0; j < n; j++)
	{
		ItemPointerData tid = found[j].tid;

		prefetch_row(keys, found, recent, j, n, rows);
		if (ItemPointerGetBlockNumber(&tid) != blk)
		{
			if (BufferIsValid(buf))
				ReleaseBuffer(buf);
			blk = ItemPointerGetBlockNumber(&tid);
			buf = pin_page(rel, blk, recent[j]);
			heap_page_prune_opt(rel, buf);
		}
		if (fetch_heap_tuple(rel, buf, &tid, snapshot, slot))
		{
			pgstat_count_heap_fetch(idx);
			rows->row(rows->arg, slot, &tid);
		}
		if ((j & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
	if (BufferIsValid(buf))
		ReleaseBuffer(buf);
	pfree(recent);
}

/* The same through the table access method's index fetch */
static void
fetch_table(Relation rel, Relation idx, const GnnKeyTid *found, int64 n,
			TupleTableSlot *slot, const GnnFetchRows *rows)
{
	IndexFetchTableData *fetch = table_index_fetch_begin(rel);

	for (int64 j = 0; j < n; j++)
	{
		ItemPointerData tid = found[j].tid;
		bool		call_again = false;
		bool		all_dead;

		do
		{
			if (table_index_fetch_tuple(fetch, &tid, GetActiveSnapshot(), slot,
										&call_again, &all_dead))
			{
				pgstat_count_heap_fetch(idx);
				rows->row(rows->arg, slot, &tid);
			}
		} while (call_again);
		if ((j & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
	table_index_fetch_end(fetch);
}

/*
 * Hand rows the tuple of each of found[0..n) (from gnn_keyscan_tids() on
 * index idx with keys) that is visible to the active snapshot, in order;
 * slot is rel's.
 */
void
gnn_keyscan_fetch(Relation rel, Relation idx, const int64 *keys,
				  const GnnKeyTid *found, int64 n, TupleTableSlot *slot,
				  const GnnFetchRows *rows)
{
	check_prefetchw();
	if (rel->rd_tableam == GetHeapamTableAmRoutine() &&
		IsMVCCSnapshot(GetActiveSnapshot()))
		fetch_heap(rel, idx, keys, found, n, slot, rows);
	else
		fetch_table(rel, idx, found, n, slot, rows);
}
