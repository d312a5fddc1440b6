/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Finding the shards of Citus hash-distributed tables.
 *
 * With Citus, the coordinator's node and edge tables are shells; their rows
 * live in shard tables <relname>_<shardid> on the worker nodes.  Citus'
 * metadata says where: pg_dist_partition (method 'h' and the distribution
 * column), pg_dist_shard (each shard's interval of hash values),
 * pg_dist_placement and pg_dist_node (the worker holding it).  A node's
 * shard is the one whose interval holds the distribution column type's
 * hash of its id (hashint8; the integer types' hashes agree).  Node and
 * edge tables must be co-located (the same intervals, shard by shard on
 * the same worker), nodes distributed by id and edges by dst, so that
 * each node's in-edges are on its shard.
 *
 * Workers are reached as Citus reaches them: the node's host and port, this
 * database, the current user; as for postgres_fdw, non-superusers must
 * authenticate with a password.  Only the discovery differs from
 * postgres_fdw shards: the shards run the same session (shard.c), told the
 * intervals instead of a partition modulus.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "citus.h"

/* Whether Citus' metadata exists in this database */
static bool
citus_metadata(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)) &&
		OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE));
}

/*
 * Run a read-only catalog query with one oid parameter.  SPI leaves its own
 * memory context current; the caller's is restored, so that the values
 * read (value()) outlive SPI_finish.
 */
static uint64
query(const char *sql, Oid relid)
{
	Oid			type = OIDOID;
	Datum		value = ObjectIdGetDatum(relid);
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_with_args(sql, 1, &type, &value, NULL, true, 0);

	MemoryContextSwitchTo(cxt);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "Citus metadata query failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

static char *
value(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* Whether relid is a hash-distributed Citus table */
bool
gnn_citus_relation(Oid relid)
{
	bool		found;

	if (!citus_metadata())
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	found = query("SELECT 1 FROM pg_catalog.pg_dist_partition "
				  "WHERE logicalrelid = $1 AND partmethod = 'h'", relid) > 0;
	SPI_finish();
	return found;
}

/* The distribution column of a Citus table, from its partkey Var */
static char *
dist_column(Oid relid, int *colocation)
{
	Node	   *key;

	if (query("SELECT partkey, colocationid FROM pg_catalog.pg_dist_partition "
			  "WHERE logicalrelid = $1 AND partmethod = 'h'", relid) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("relation \"%s\" is not hash-distributed by Citus",
						get_rel_name(relid))));
	key = stringToNode(value(0, 1));
	*colocation = pg_strtoint32(value(0, 2));
	if (!IsA(key, Var))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("relation \"%s\" is distributed by an expression", get_rel_name(relid))));
	return get_attname(relid, ((Var *) key)->varattno, false);
}

typedef struct CitusShard
{
	int64		shardid;
	int32		min;
	char	   *host;
	int			port;
} CitusShard;

/* The shards of relid by hash interval, each with one active placement */
static CitusShard *
shards_of(Oid relid, int *n)
{
	CitusShard *shards;

	*n = (int) query("SELECT DISTINCT ON (s.shardminvalue::integer) s.shardid, "
					 "s.shardminvalue::integer, n.nodename, n.nodeport "
					 "FROM pg_catalog.pg_dist_shard s "
					 "JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid "
					 "JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid "
					 "WHERE s.logicalrelid = $1 AND n.isactive "
					 "AND n.noderole::text = 'primary' "
					 "ORDER BY s.shardminvalue::integer, p.placementid", relid);
	shards = palloc(sizeof(CitusShard) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		shards[i].shardid = pg_strtoint64(value(i, 1));
		shards[i].min = pg_strtoint32(value(i, 2));
		shards[i].host = value(i, 3);
		shards[i].port = pg_strtoint32(value(i, 4));
	}
	return shards;
}

static void
check_key(Oid relid, const char *col, const char *want)
{
	if (strcmp(col, want) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("relation \"%s\" is distributed by column \"%s\", not \"%s\"",
						get_rel_name(relid), col, want),
				 errhint("Distribute the nodes by their id and the edges by dst, co-located.")));
}

/* "schema"."relname_shardid" */
static char *
shard_table(Oid relid, int64 shardid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  psprintf("%s_" INT64_FORMAT, get_rel_name(relid),
											   shardid));
}

/*
 * The shards of src's Citus-distributed tables, or NULL if the node table
 * is not one.
 */
GnnDist *
gnn_citus_lookup(const GnnGraphSource *src)
{
	GnnDist    *d;
	CitusShard *ns,
			   *es;
	int			nn,
				ne,
				ncoloc,
				ecoloc;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext spi;

	if (!gnn_citus_relation(src->nodes))
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi = MemoryContextSwitchTo(cxt);
	check_key(src->nodes, dist_column(src->nodes, &ncoloc), src->id_col);
	if (!gnn_citus_relation(src->edges))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the node table is distributed by Citus but edge table \"%s\" is not",
						get_rel_name(src->edges))));
	check_key(src->edges, dist_column(src->edges, &ecoloc), src->dst_col);
	ns = shards_of(src->nodes, &nn);
	es = shards_of(src->edges, &ne);
	if (ncoloc != ecoloc || nn != ne || nn == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the node and edge tables are not co-located"),
				 errhint("Create the edge table with colocate_with => the node table.")));

	d = palloc0(sizeof(GnnDist));
	d->nshards = nn;
	d->bounds = palloc(sizeof(int32) * nn);
	d->shards = palloc0(sizeof(GnnDistShard) * nn);
	for (int i = 0; i < nn; i++)
	{
		GnnDistShard *sh = &d->shards[i];
		const char *cols[5] = {src->src_col, src->dst_col, src->weight_col,
		src->id_col, src->features_col};

		if (ns[i].min != es[i].min || ns[i].port != es[i].port ||
			strcmp(ns[i].host, es[i].host) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the node and edge tables are not co-located")));
		d->bounds[i] = ns[i].min;
		sh->host = ns[i].host;
		sh->port = ns[i].port;
		sh->server = psprintf("%s:%d", ns[i].host, ns[i].port);
		sh->nodes = shard_table(src->nodes, ns[i].shardid);
		sh->edges = shard_table(src->edges, es[i].shardid);
		memcpy(sh->cols, cols, sizeof(cols));
	}
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return d;
}

/* "2 shards (Citus): host:port, ..." for EXPLAIN, or NULL */
char *
gnn_citus_describe(Oid relid)
{
	StringInfoData buf;
	CitusShard *sh;
	int			n;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext spi;

	if (!gnn_citus_relation(relid))
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi = MemoryContextSwitchTo(cxt);
	sh = shards_of(relid, &n);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%d shard%s (Citus):", n, n == 1 ? "" : "s");
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s %s:%d", i ? "," : "", sh[i].host, sh[i].port);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return buf.data;
}
