/*-------------------------------------------------------------------------
 *
 * idmap.h
 *	  Node id -> dense index maps (simplehash), for the files that read
 *	  graphs.  Functions are static inline: each includer gets its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_IDMAP_H
#define GNN_IDMAP_H

typedef struct GnnIdEntry
{
	int64		id;
	int32		index;
	char		status;
} GnnIdEntry;

/* murmur3's 64-bit finaliser: ids are often sequential or strided */
static inline uint32
gnn_hash_id(int64 id)
{
	uint64		h = (uint64) id;

	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h;
}

#define SH_PREFIX gnnid
#define SH_ELEMENT_TYPE GnnIdEntry
#define SH_KEY_TYPE int64
#define SH_KEY id
#define SH_HASH_KEY(tb, key) gnn_hash_id(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A direct id -> index array, for ids that span a range not much larger
 * than their count (sequential ids, the common case): one 4-byte entry per
 * id of the range, which misses the cache far less often than the hash
 * table's 16-byte entries at half fill.  index NULL: not built.
 */
typedef struct GnnDenseIds
{
	int64		lo;
	uint64		span;
	int32	   *index;			/* -1 for ids not in the set */
} GnnDenseIds;

static inline int32
gnn_dense_lookup(const GnnDenseIds *d, int64 id)
{
	uint64		k = (uint64) id - (uint64) d->lo;

	return k < d->span ? d->index[k] : -1;
}

#endif							/* GNN_IDMAP_H */
