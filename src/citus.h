/*-------------------------------------------------------------------------
 *
 * citus.h
 *	  Finding the shards of Citus hash-distributed tables (see citus.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_CITUS_H
#define GNN_CITUS_H

#include "dist.h"

extern bool gnn_citus_relation(Oid relid);
extern GnnDist *gnn_citus_lookup(const GnnGraphSource *src);
extern char *gnn_citus_describe(Oid relid);

#endif							/* GNN_CITUS_H */
