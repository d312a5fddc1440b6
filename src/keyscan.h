/*-------------------------------------------------------------------------
 *
 * keyscan.h
 *	  Many keys looked up in a btree index in one pass along its leaves.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_KEYSCAN_H
#define GNN_KEYSCAN_H

#include "executor/tuptable.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

typedef void (*GnnFetchCallback) (void *arg, TupleTableSlot *slot, ItemPointer tid);

extern bool gnn_keyscan_usable(Relation idx);
extern int64 gnn_keyscan_tids(Relation idx, const int64 *keys, int nkeys,
							  ItemPointerData **tids);
extern void gnn_keyscan_fetch(Relation rel, Relation idx,
							  const ItemPointerData *tids, int64 n,
							  TupleTableSlot *slot, GnnFetchCallback cb, void *arg);

#endif							/* GNN_KEYSCAN_H */
