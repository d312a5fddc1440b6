/*-------------------------------------------------------------------------
 *
 * dist.h
 *	  Distributed inference over hash-partitioned foreign tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_DIST_H
#define GNN_DIST_H

#include "graph.h"
#include "model.h"

/* One shard (its index is its partition remainder): server and tables */
typedef struct GnnDistShard
{
	Oid			serverid;		/* postgres_fdw: the foreign server */
	char	   *host;			/* Citus: the worker node */
	int			port;
	char	   *server;			/* for messages and EXPLAIN */
	char	   *edges;			/* the remote tables, qualified and quoted */
	char	   *nodes;
	const char *cols[5];		/* remote src, dst, weight, id, features */

	/* measured by a run */
	int64		nodes_count;
	int64		halo;
	int64		edges_count;
	int64		peak_bytes;
	double		busy_ms;		/* the shard's time in its part of the run */
	double		compute_ms;		/* the shard's own time in its layers */
	bool		jit;
	bool		model_sent;		/* the model was (re)installed on it */
} GnnDistShard;

typedef struct GnnDist
{
	int			nshards;		/* the partitions' modulus */
	GnnDistShard *shards;		/* by remainder */
	int32	   *bounds;			/* Citus: each shard's least hash value,
								 * ascending; NULL: PostgreSQL's hash
								 * partitioning */

	/* measured by a run */
	int			nlayers;
	int64	   *layer_bytes;	/* halo rows' bytes exchanged per layer */
	int			exchanges;
} GnnDist;

/* gnnjit.shard_timeout, in ms (0: none) */
extern int	gnn_shard_timeout_ms;

extern GnnDist *gnn_dist_lookup(const GnnGraphSource *src);
extern bool gnn_dist_relation(Oid relid);
extern char *gnn_dist_describe(Oid relid);

struct GnnInferResult;
extern void gnn_dist_infer(GnnModel *model, GnnDist *d,
						   struct GnnInferResult *out);

#endif							/* GNN_DIST_H */
