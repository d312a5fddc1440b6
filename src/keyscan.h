/*-------------------------------------------------------------------------
 *
 * keyscan.h
 *	  Many keys looked up in a btree index in one pass along its leaves,
 *	  and their heap rows fetched with the cache misses overlapped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_KEYSCAN_H
#define GNN_KEYSCAN_H

#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

/* An index entry found: its heap TID, and which key it was found for */
typedef struct GnnKeyTid
{
	ItemPointerData tid;
	int32		key;			/* index into the keys searched */
} GnnKeyTid;

/* What gnn_keyscan_fetch() does with the rows */
typedef struct GnnFetchRows
{
	/* a row visible to the snapshot */
	void		(*row) (void *arg, TupleTableSlot *slot, ItemPointer tid);
	/* optional: key's row comes a few rows from now (to prefetch for it) */
	void		(*coming) (void *arg, int64 key);
	void	   *arg;
} GnnFetchRows;

extern bool gnn_keyscan_usable(Relation idx);
extern int64 gnn_keyscan_tids(Relation idx, const int64 *keys, int nkeys,
							  GnnKeyTid **found);
extern void gnn_keyscan_fetch(Relation rel, Relation idx, const int64 *keys,
							  const GnnKeyTid *found, int64 n,
							  TupleTableSlot *slot, const GnnFetchRows *rows);

#endif							/* GNN_KEYSCAN_H */
