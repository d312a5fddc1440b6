/*-------------------------------------------------------------------------
 *
 * dist.c
 *	  The coordinator of a distributed inference.
 *
 * A graph is distributed when its node table is hash-partitioned on the id
 * and its edge table on dst with the same modulus, and every partition is
 * a foreign table (postgres_fdw) on the server holding that shard: each
 * node's in-edges then live on its own shard.  (Citus-distributed tables
 * are found by citus.c and run the same way.)  The coordinator connects to
 * every shard with libpq, from the foreign server's options and the
 * caller's user mapping as postgres_fdw does, makes sure each shard has
 * the same model (by fingerprint, installing it if not), and drives the
 * shards' sessions (shard.c) concurrently with asynchronous queries:
 *
 *	open	each shard reads its own nodes and edges, and names the halo
 *			ids it needs from each other shard;
 *	serve	each shard learns which of its rows the others need;
 *	step	repeatedly: each shard runs its layers up to the next operation
 *			reading other shards' rows, and returns the rows the others
 *			need; the coordinator forwards them (binary bytea, only the
 *			halo rows) with the next step;
 *	fetch	each shard's output rows stream back.
 *
 * Shards need no connection to each other: rows between shards pass
 * through the coordinator, the one server that knows them all.  Any error,
 * here or on a shard, and any cancel, cancels the shards' running queries
 * and closes every connection, which ends the shards' sessions; the
 * shards only read, so nothing is left behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "fmgr.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "citus.h"
#include "dist.h"
#include "gnnjit.h"
#include "infer.h"
#include "progress.h"
#include "wire.h"

int			gnn_shard_timeout_ms = 0;

/* Bytes of output rows per message from a shard */
#define GNN_FETCH_BYTES (32 * 1024 * 1024)

/* ---------- finding the shards ---------- */

/*
 * Whether relid is distributed: a partitioned table with a foreign
 * partition, or a Citus hash-distributed table
 */
bool
gnn_dist_relation(Oid relid)
{
	Relation	rel;
	PartitionDesc pd;
	bool		found = false;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return gnn_citus_relation(relid);
	rel = table_open(relid, AccessShareLock);
	pd = RelationGetPartitionDesc(rel, true);
	for (int i = 0; i < pd->nparts && !found; i++)
		found = (get_rel_relkind(pd->oids[i]) == RELKIND_FOREIGN_TABLE);
	table_close(rel, NoLock);
	return found;
}

static void
layout_error(Relation rel, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("relation \"%s\" is not laid out for distributed inference",
					RelationGetRelationName(rel)),
			 errdetail("%s", detail),
			 errhint("Use gnn_distribute() to create the layout: nodes hash-partitioned by id, edges by dst, with the same modulus, every partition a foreign table.")));
}

static char *
fdw_option(List *options, const char *name, char *dflt)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return dflt;
}

/* Modulus and remainder of a hash partition */
static void
hash_bound(Oid part, int *modulus, int *remainder)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(part));
	bool		isnull;
	Datum		d;
	PartitionBoundSpec *spec;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", part);
	d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
	if (isnull)
		elog(ERROR, "partition %u has no bound", part);
	spec = castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(d)));
	*modulus = spec->modulus;
	*remainder = spec->remainder;
	ReleaseSysCache(tup);
}

/*
 * The foreign partitions of rel, hash-partitioned on keycol, by remainder;
 * sets *modulus.
 */
static Oid *
hash_partitions(Oid relid, const char *keycol, int *modulus)
{
	Relation	rel = table_open(relid, AccessShareLock);
	PartitionKey key = RelationGetPartitionKey(rel);
	PartitionDesc pd = RelationGetPartitionDesc(rel, true);
	Oid			fn;
	Oid		   *parts;

	if (key->strategy != PARTITION_STRATEGY_HASH || key->partnatts != 1 ||
		key->partattrs[0] != get_attnum(relid, keycol))
		layout_error(rel, psprintf("It must be partitioned by hash of column \"%s\" alone.",
								   keycol));
	fn = key->partsupfunc[0].fn_oid;
	if (fn != F_HASHINT2EXTENDED && fn != F_HASHINT4EXTENDED && fn != F_HASHINT8EXTENDED)
		layout_error(rel, "The partition key must use the default integer hash operator class.");
	*modulus = 0;
	parts = palloc0(sizeof(Oid) * Max(pd->nparts, 1));
	for (int i = 0; i < pd->nparts; i++)
	{
		int			m,
					r;

		if (get_rel_relkind(pd->oids[i]) != RELKIND_FOREIGN_TABLE)
			layout_error(rel, psprintf("Partition \"%s\" is not a foreign table.",
									   get_rel_name(pd->oids[i])));
		hash_bound(pd->oids[i], &m, &r);
		if (*modulus != 0 && m != *modulus)
			layout_error(rel, "All partitions must have the same modulus.");
		*modulus = m;
		parts[r] = pd->oids[i];
	}
	if (pd->nparts == 0 || pd->nparts != *modulus)
		layout_error(rel, "Every remainder of the modulus needs a partition.");
	table_close(rel, NoLock);
	return parts;
}

/* The remote name of column col of foreign table ft */
static const char *
remote_column(Oid ft, const char *col)
{
	AttrNumber	att;

	if (col == NULL)
		return NULL;
	att = get_attnum(ft, col);
	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in partition \"%s\"",
						col, get_rel_name(ft))));
	return fdw_option(GetForeignColumnOptions(ft, att), "column_name", pstrdup(col));
}

static char *
remote_table(Oid ft)
{
	List	   *options = GetForeignTable(ft)->options;
	char	   *nsp = fdw_option(options, "schema_name",
								 get_namespace_name(get_rel_namespace(ft)));
	char	   *rel = fdw_option(options, "table_name", get_rel_name(ft));

	return quote_qualified_identifier(nsp, rel);
}

static void
check_select(Oid relid)
{
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
}

/*
 * The shards of src's tables, or NULL when the node table is not
 * distributed (see the file header for the layout required).
 */
GnnDist *
gnn_dist_lookup(const GnnGraphSource *src)
{
	GnnDist    *d;
	Oid		   *nodeparts,
			   *edgeparts;
	int			emod;
	const char *cols[5] = {src->src_col, src->dst_col, src->weight_col,
	src->id_col, src->features_col};

	if ((d = gnn_citus_lookup(src)) != NULL)
	{
		check_select(src->nodes);
		check_select(src->edges);
		return d;
	}
	if (!gnn_dist_relation(src->nodes))
		return NULL;
	check_select(src->nodes);
	check_select(src->edges);
	if (get_rel_relkind(src->edges) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the node table is distributed but edge table \"%s\" is not",
						get_rel_name(src->edges))));
	d = palloc0(sizeof(GnnDist));
	nodeparts = hash_partitions(src->nodes, src->id_col, &d->nshards);
	edgeparts = hash_partitions(src->edges, src->dst_col, &emod);
	if (emod != d->nshards)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the edge and node tables have different numbers of partitions (%d and %d)",
						emod, d->nshards)));
	d->shards = palloc0(sizeof(GnnDistShard) * d->nshards);
	for (int r = 0; r < d->nshards; r++)
	{
		GnnDistShard *sh = &d->shards[r];

		sh->serverid = GetForeignTable(nodeparts[r])->serverid;
		sh->server = GetForeignServer(sh->serverid)->servername;
		if (GetForeignTable(edgeparts[r])->serverid != sh->serverid)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partitions \"%s\" and \"%s\" are on different servers",
							get_rel_name(nodeparts[r]), get_rel_name(edgeparts[r])),
					 errdetail("The nodes and edges of one remainder must be on one server.")));
		sh->nodes = remote_table(nodeparts[r]);
		sh->edges = remote_table(edgeparts[r]);
		for (int c = 0; c < 5; c++)
			sh->cols[c] = remote_column(c < 3 ? edgeparts[r] : nodeparts[r], cols[c]);
	}
	return d;
}

/*
 * "3 shards: s1, s2, s3": the servers of a distributed node table's
 * partitions by remainder, or NULL if relid is not distributed.
 */
char *
gnn_dist_describe(Oid relid)
{
	Relation	rel;
	PartitionDesc pd;
	char	  **names;
	StringInfoData buf;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return gnn_citus_describe(relid);
	if (!gnn_dist_relation(relid))
		return NULL;
	rel = table_open(relid, AccessShareLock);
	pd = RelationGetPartitionDesc(rel, true);
	names = palloc0(sizeof(char *) * pd->nparts);
	for (int i = 0; i < pd->nparts; i++)
	{
		int			m,
					r;

		hash_bound(pd->oids[i], &m, &r);
		if (r < pd->nparts && get_rel_relkind(pd->oids[i]) == RELKIND_FOREIGN_TABLE)
			names[r] = GetForeignServer(GetForeignTable(pd->oids[i])->serverid)->servername;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "%d shard%s:", pd->nparts, pd->nparts == 1 ? "" : "s");
	for (int r = 0; r < pd->nparts; r++)
		appendStringInfo(&buf, "%s %s", r ? "," : "", names[r] ? names[r] : "?");
	table_close(rel, NoLock);
	return buf.data;
}

/* ---------- connections ---------- */

/* One shard's connection during a run */
typedef struct ShardConn
{
	GnnDistShard *sh;
	PGconn	   *conn;
	bool		busy;			/* a query is running */
	char	   *schema;			/* gnnjit's schema there, quoted */
} ShardConn;

typedef struct DistRun
{
	GnnDist    *d;
	GnnModel   *model;
	ShardConn  *c;
	TimestampTz deadline;		/* of the current round, or 0 */
} DistRun;

static bool
is_libpq_option(const char *keyword)
{
	static PQconninfoOption *options = NULL;

	if (options == NULL && (options = PQconndefaults()) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (strcmp(keyword, "client_encoding") == 0 ||
		strcmp(keyword, "fallback_application_name") == 0)
		return false;
	for (PQconninfoOption *o = options; o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0 && strchr(o->dispchar, 'D') == NULL)
			return true;
	return false;
}

static int
add_options(List *options, const char **keys, const char **values, int n)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst(lc);

		if (is_libpq_option(def->defname))
		{
			keys[n] = def->defname;
			values[n++] = defGetString(def);
		}
	}
	return n;
}

/*
 * Connect to a shard with its server's options and the caller's user
 * mapping.  As in postgres_fdw, only superusers may connect without a
 * password.
 */
static void
shard_connect(ShardConn *c)
{
	ForeignServer *server = NULL;
	UserMapping *um = NULL;
	int			max = 7;
	const char **keys;
	const char **values;
	int			n = 0;
	Oid			user = GetUserId();

	if (OidIsValid(c->sh->serverid))
	{
		server = GetForeignServer(c->sh->serverid);
		um = GetUserMapping(user, c->sh->serverid);
		user = um->userid;
		max += list_length(server->options) + list_length(um->options);
	}
	keys = palloc(sizeof(char *) * max);
	values = palloc(sizeof(char *) * max);
	if (server)
	{
		n = add_options(server->options, keys, values, n);
		n = add_options(um->options, keys, values, n);
	}
	else
	{
		/* a Citus worker: as Citus connects, to this database as this user */
		keys[n] = "host";
		values[n++] = c->sh->host;
		keys[n] = "port";
		values[n++] = psprintf("%d", c->sh->port);
		keys[n] = "dbname";
		values[n++] = get_database_name(MyDatabaseId);
		keys[n] = "user";
		values[n++] = GetUserNameFromId(GetUserId(), false);
	}
	keys[n] = "fallback_application_name";
	values[n++] = "gnnjit";
	keys[n] = "client_encoding";
	values[n++] = GetDatabaseEncodingName();
	keys[n] = NULL;
	values[n] = NULL;

	c->conn = PQconnectdbParams(keys, values, false);
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to shard \"%s\"", c->sh->server),
				 errdetail_internal("%s", c->conn ? pchomp(PQerrorMessage(c->conn)) :
									"out of memory")));
	if (!superuser_arg(user) && !PQconnectionUsedPassword(c->conn))
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("password is required to connect to shard \"%s\"", c->sh->server),
				 errdetail("Non-superusers must authenticate to shards with a password (in the user mapping, or for Citus workers in a password file).")));
}

/* Cancel what the shards run, and close every connection */
static void
disconnect_all(DistRun *run, bool cancel)
{
	for (int r = 0; r < run->d->nshards; r++)
	{
		ShardConn  *c = &run->c[r];

		if (c->conn == NULL)
			continue;
		if (cancel && c->busy && PQstatus(c->conn) == CONNECTION_OK)
		{
			PGcancel   *cn = PQgetCancel(c->conn);
			char		errbuf[256];

			if (cn)
			{
				PQcancel(cn, errbuf, sizeof(errbuf));
				PQfreeCancel(cn);
			}
		}
		PQfinish(c->conn);
		c->conn = NULL;
	}
}

/* ---------- queries ---------- */

/* Send sql with binary bytea or text parameters (NULL: SQL NULL) */
static void
send_query(DistRun *run, ShardConn *c, const char *sql, int nparams,
		   const Oid *types, const char *const *params, const int *lengths,
		   bool binary)
{
	int		   *formats = palloc(sizeof(int) * Max(nparams, 1));

	int			ok;

	for (int i = 0; i < nparams; i++)
		formats[i] = (types[i] == BYTEAOID) ? 1 : 0;
	/* without parameters, the simple protocol: several commands may run */
	if (nparams == 0 && !binary)
		ok = PQsendQuery(c->conn, sql);
	else
		ok = PQsendQueryParams(c->conn, sql, nparams, types, params, lengths,
							   formats, binary ? 1 : 0);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not send a query to shard \"%s\"", c->sh->server),
				 errdetail_internal("%s", pchomp(PQerrorMessage(c->conn)))));
	c->busy = true;
	pfree(formats);
}

/* Raise the error a shard reported, or a lost connection, naming it */
static void
shard_error(ShardConn *c, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char	   *msg = pstrdup(primary ? primary : pchomp(PQerrorMessage(c->conn)));
	char	   *det = detail ? pstrdup(detail) : NULL;
	int			code = state ? MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]) :
		ERRCODE_CONNECTION_FAILURE;

	PQclear(res);
	ereport(ERROR,
			(errcode(code),
			 errmsg("shard \"%s\": %s", c->sh->server, msg),
			 det ? errdetail_internal("%s", det) : 0));
}

/* Wait until c's next result is ready, checking interrupts and the deadline */
static void
wait_ready(DistRun *run, ShardConn *c)
{
	while (PQisBusy(c->conn))
	{
		int			events = WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH;
		long		timeout = -1;
		int			rc;

		if (run->deadline != 0)
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(), run->deadline, &secs, &usecs);
			timeout = secs * 1000 + usecs / 1000;
			if (timeout <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_QUERY_CANCELED),
						 errmsg("shard \"%s\" did not answer within gnnjit.shard_timeout (%d ms)",
								c->sh->server, gnn_shard_timeout_ms)));
			events |= WL_TIMEOUT;
		}
		rc = WaitLatchOrSocket(MyLatch, events, PQsocket(c->conn), timeout,
							   PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(c->conn))
			shard_error(c, NULL);
	}
}

/* The next result of c's query, NULL at its end */
static PGresult *
next_result(DistRun *run, ShardConn *c)
{
	PGresult   *res;

	wait_ready(run, c);
	res = PQgetResult(c->conn);
	if (res == NULL)
	{
		c->busy = false;
		return NULL;
	}
	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
		case PGRES_SINGLE_TUPLE:
			return res;
		default:
			shard_error(c, res);
	}
	return NULL;					/* keep compiler quiet */
}

/* The last result of c's query (one row expected if rows), copied out */
static PGresult *
finish_query(DistRun *run, ShardConn *c)
{
	PGresult   *last = NULL;
	PGresult   *res;

	while ((res = next_result(run, c)) != NULL)
	{
		PQclear(last);
		last = res;
	}
	if (last == NULL)
		shard_error(c, NULL);
	return last;
}

/* Start a round: every shard gets its query before any answer is awaited */
static void
begin_round(DistRun *run)
{
	run->deadline = gnn_shard_timeout_ms > 0 ?
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), gnn_shard_timeout_ms) : 0;
}

/* The bytea (binary result) of the first column of a one-row result */
static char *
result_bytes(PGresult *res, int *len)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		*len = 0;
		return NULL;
	}
	*len = PQgetlength(res, 0, 0);
	return PQgetvalue(res, 0, 0);
}

/* ---------- preparing the shards ---------- */

/* Send the same text query to every shard and check the answers */
static void
all_shards(DistRun *run, const char *fmt)
{
	begin_round(run);
	for (int r = 0; r < run->d->nshards; r++)
		send_query(run, &run->c[r], fmt, 0, NULL, NULL, NULL, false);
	for (int r = 0; r < run->d->nshards; r++)
		PQclear(finish_query(run, &run->c[r]));
}

/* gnnjit's schema on each shard, and the same version as here */
static void
find_extension(DistRun *run)
{
	const char *sql = "SELECT n.nspname, e.extversion FROM pg_catalog.pg_extension e "
		"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
		"WHERE e.extname = 'gnnjit'";
	const char *version = GNNJIT_VERSION;

	begin_round(run);
	for (int r = 0; r < run->d->nshards; r++)
		send_query(run, &run->c[r], sql, 0, NULL, NULL, NULL, false);
	for (int r = 0; r < run->d->nshards; r++)
	{
		ShardConn  *c = &run->c[r];
		PGresult   *res = finish_query(run, c);

		if (PQntuples(res) != 1)
		{
			PQclear(res);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("extension \"gnnjit\" is not installed on shard \"%s\"",
							c->sh->server)));
		}
		if (strcmp(PQgetvalue(res, 0, 1), version) != 0)
		{
			char	   *theirs = pstrdup(PQgetvalue(res, 0, 1));

			PQclear(res);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("shard \"%s\" has gnnjit %s, this server %s",
							c->sh->server, theirs, version)));
		}
		c->schema = pstrdup(quote_identifier(PQgetvalue(res, 0, 0)));
		PQclear(res);
	}
}

/*
 * Give every shard the coordinator's model, unless it has it already:
 * same name and fingerprint (SHA-256 of spec and weights).
 */
static void
sync_model(DistRun *run, const char *fingerprint)
{
	text	   *spec;
	bytea	   *weights;
	Oid			types[3] = {TEXTOID, TEXTOID, BYTEAOID};
	const char *params[3];
	int			lengths[3] = {0, 0, 0};
	bool	   *stale = palloc0(sizeof(bool) * run->d->nshards);

	params[0] = run->model->name;
	begin_round(run);
	for (int r = 0; r < run->d->nshards; r++)
		send_query(run, &run->c[r],
				   psprintf("SELECT %s.gnn_model_fingerprint($1)", run->c[r].schema),
				   1, types, params, lengths, false);
	for (int r = 0; r < run->d->nshards; r++)
	{
		PGresult   *res = finish_query(run, &run->c[r]);

		stale[r] = PQgetisnull(res, 0, 0) ||
			strcmp(PQgetvalue(res, 0, 0), fingerprint) != 0;
		PQclear(res);
	}

	gnn_model_source(run->model->name, &spec, &weights);
	params[1] = text_to_cstring(spec);
	params[2] = VARDATA_ANY(weights);
	lengths[2] = VARSIZE_ANY_EXHDR(weights);
	begin_round(run);
	for (int r = 0; r < run->d->nshards; r++)
		if (stale[r])
			send_query(run, &run->c[r],
					   psprintf("SELECT %s.gnn_create_model($1, $2::jsonb, $3)",
								run->c[r].schema),
					   3, types, params, lengths, false);
	for (int r = 0; r < run->d->nshards; r++)
		if (stale[r])
		{
			PQclear(finish_query(run, &run->c[r]));
			run->d->shards[r].model_sent = true;
		}
}

/* ---------- the run ---------- */

/* Collect the sections addressed to each shard, from each shard's message */
static void
route(DistRun *run, char **msgs, int *lens, StringInfo out)
{
	GnnDist    *d = run->d;

	for (int r = 0; r < d->nshards; r++)
		gnn_wire_begin(&out[r]);
	for (int from = 0; from < d->nshards; from++)
	{
		int			nparts;
		GnnWirePart *parts;

		if (msgs[from] == NULL)
			continue;
		parts = gnn_wire_parse(msgs[from], lens[from], &nparts);
		for (int k = 0; k < nparts; k++)
		{
			GnnWireSection sec = parts[k].hdr;
			int			to = sec.peer;

			if (to < 0 || to >= d->nshards || to == from)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("shard \"%s\" sent rows for an unknown shard",
								d->shards[from].server)));
			sec.peer = from;
			gnn_wire_add(&out[to], &sec, parts[k].data);
			if (sec.reg >= 0)
				d->layer_bytes[gnn_source_read_layer(run->model->prog, sec.reg)] += parts[k].bytes;
		}
		pfree(parts);
	}
}

/* Run one query with one bytea argument on every shard; keep the answers */
static void
bytea_round(DistRun *run, const char *fn, StringInfo args, PGresult **res)
{
	Oid			types[1] = {BYTEAOID};

	begin_round(run);
	for (int r = 0; r < run->d->nshards; r++)
	{
		const char *params[1] = {args[r].data + VARHDRSZ};
		int			lengths[1] = {args[r].len - VARHDRSZ};

		send_query(run, &run->c[r],
				   psprintf("SELECT %s.%s($1)", run->c[r].schema, fn),
				   1, types, params, lengths, true);
	}
	for (int r = 0; r < run->d->nshards; r++)
		res[r] = finish_query(run, &run->c[r]);
}

/* Route each shard's message in res to the shards it addresses */
static void
exchange(DistRun *run, PGresult **res, StringInfo routed)
{
	int			n = run->d->nshards;
	char	  **msgs = palloc(sizeof(char *) * n);
	int		   *lens = palloc(sizeof(int) * n);

	for (int r = 0; r < n; r++)
		msgs[r] = result_bytes(res[r], &lens[r]);
	route(run, msgs, lens, routed);
	for (int r = 0; r < n; r++)
		PQclear(res[r]);
	pfree(msgs);
	pfree(lens);
}

/* open: every shard reads its part and asks for its halo */
static void
open_shards(DistRun *run, const char *fingerprint, StringInfo routed)
{
	GnnDist    *d = run->d;
	Oid			types[12];
	PGresult  **res = palloc(sizeof(PGresult *) * d->nshards);
	char	   *bounds = NULL;

	for (int i = 0; i < 12; i++)
		types[i] = TEXTOID;
	if (d->bounds)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (int r = 0; r < d->nshards; r++)
			appendStringInfo(&buf, "%s%d", r ? "," : "{", d->bounds[r]);
		appendStringInfoChar(&buf, '}');
		bounds = buf.data;
	}
	begin_round(run);
	for (int r = 0; r < d->nshards; r++)
	{
		GnnDistShard *sh = &d->shards[r];
		const char *params[12] = {run->model->name, fingerprint, sh->edges, sh->nodes,
			sh->cols[0], sh->cols[1], sh->cols[2], sh->cols[3], sh->cols[4],
		psprintf("%d", d->nshards), psprintf("%d", r), bounds};
		int			lengths[12] = {0};

		send_query(run, &run->c[r],
				   psprintf("SELECT %s.gnn_shard_open($1, $2, $3::regclass, $4::regclass, "
							"$5, $6, $7, $8, $9, $10::integer, $11::integer, $12::integer[])",
							run->c[r].schema),
				   12, types, params, lengths, true);
	}
	for (int r = 0; r < d->nshards; r++)
		res[r] = finish_query(run, &run->c[r]);
	exchange(run, res, routed);
}

/* The shards' sizes and times, for EXPLAIN ANALYZE */
static void
read_stats(DistRun *run, GnnInferResult *out)
{
	GnnDist    *d = run->d;

	begin_round(run);
	for (int r = 0; r < d->nshards; r++)
		send_query(run, &run->c[r],
				   psprintf("SELECT nodes, halo, edges, peak_bytes, compute_ms, jit, "
							"array_to_string(layer_ms, ','), busy_ms FROM %s.gnn_shard_stats()",
							run->c[r].schema), 0, NULL, NULL, NULL, false);
	out->stats.layer_ms = palloc0(sizeof(double) * Max(d->nlayers, 1));
	out->stats.nlayers = d->nlayers;
	for (int r = 0; r < d->nshards; r++)
	{
		GnnDistShard *sh = &d->shards[r];
		PGresult   *res = finish_query(run, &run->c[r]);
		char	   *ms = pstrdup(PQgetvalue(res, 0, 6));
		char	   *tok;
		int			l = 0;

		sh->nodes_count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		sh->halo = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		sh->edges_count = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		sh->peak_bytes = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		sh->compute_ms = strtod(PQgetvalue(res, 0, 4), NULL);
		sh->busy_ms = strtod(PQgetvalue(res, 0, 7), NULL);
		sh->jit = (PQgetvalue(res, 0, 5)[0] == 't');
		PQclear(res);
		for (tok = strtok(ms, ","); tok && l < d->nlayers; tok = strtok(NULL, ","), l++)
			out->stats.layer_ms[l] = Max(out->stats.layer_ms[l], strtod(tok, NULL));
		out->nnodes += sh->nodes_count;
		out->rows_read += sh->nodes_count + sh->edges_count;
		out->stats.peak_bytes = Max(out->stats.peak_bytes, sh->peak_bytes);
		out->jit |= sh->jit;
	}
}

/* Copy one message of output rows into out, at *pos */
static void
take_rows(GnnInferResult *out, int64 *ids, float *y, int64 *pos,
		  const char *msg, int len)
{
	int			nparts;
	GnnWirePart *parts = gnn_wire_parse(msg, len, &nparts);

	if (nparts != 2 || parts[0].hdr.width != 0 || parts[1].hdr.width != out->width ||
		parts[0].hdr.nrows != parts[1].hdr.nrows ||
		*pos + parts[0].hdr.nrows > out->nnodes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("malformed gnnjit shard message: bad output rows")));
	memcpy(ids + *pos, parts[0].data, parts[0].bytes);
	memcpy(y + *pos * out->width, parts[1].data, parts[1].bytes);
	*pos += parts[0].hdr.nrows;
	pfree(parts);
}

static int
fetch_rows_per_message(int width)
{
	return (int) Max(1, GNN_FETCH_BYTES / (sizeof(int64) + sizeof(float) * (int64) width));
}

/* fetch: the output rows of every shard, streamed one message at a time */
static void
fetch_rows(DistRun *run, GnnInferResult *out)
{
	GnnDist    *d = run->d;
	int64	   *ids = palloc_extended(sizeof(int64) * Max(out->nnodes, 1), MCXT_ALLOC_HUGE);
	float	   *y = palloc_extended(sizeof(float) * Max(out->nnodes, 1) * out->width,
									MCXT_ALLOC_HUGE);
	int64		pos = 0;

	gnn_progress_phase(GNN_PHASE_RETURNING, out->nnodes);
	begin_round(run);
	for (int r = 0; r < d->nshards; r++)
	{
		send_query(run, &run->c[r],
				   psprintf("SELECT %s.gnn_shard_fetch(%d)", run->c[r].schema,
							fetch_rows_per_message(out->width)), 0, NULL, NULL, NULL, true);
		if (!PQsetSingleRowMode(run->c[r].conn))
			elog(ERROR, "could not fetch rows one at a time from shard \"%s\"",
				 d->shards[r].server);
	}
	for (int r = 0; r < d->nshards; r++)
	{
		PGresult   *res;

		while ((res = next_result(run, &run->c[r])) != NULL)
		{
			if (PQresultStatus(res) == PGRES_SINGLE_TUPLE)
				take_rows(out, ids, y, &pos, PQgetvalue(res, 0, 0),
						  PQgetlength(res, 0, 0));
			PQclear(res);
			gnn_progress_done(pos);
		}
	}
	if (pos != out->nnodes)
		elog(ERROR, "shards returned " INT64_FORMAT " rows, expected " INT64_FORMAT,
			 pos, out->nnodes);
	out->ids = ids;
	out->y = y;
}

/* The layers: steps until every shard has run the whole program */
static void
run_layers(DistRun *run, StringInfo halo)
{
	GnnDist    *d = run->d;
	PGresult  **res = palloc(sizeof(PGresult *) * d->nshards);

	gnn_progress_phase(GNN_PHASE_COMPUTING, d->nshards);
	for (;;)
	{
		int			finished = 0;

		bytea_round(run, "gnn_shard_step", halo, res);
		for (int r = 0; r < d->nshards; r++)
			finished += PQgetisnull(res[r], 0, 0);
		if (finished == d->nshards)
		{
			for (int r = 0; r < d->nshards; r++)
				PQclear(res[r]);
			break;
		}
		if (finished > 0)
			elog(ERROR, "shards disagree about the end of the program");
		for (int r = 0; r < d->nshards; r++)
			pfree(halo[r].data);
		exchange(run, res, halo);
		d->exchanges++;
	}
}

/*
 * The session's JIT settings, for the shards (gnnjit.max_memory stays each
 * server's own), and a safe search_path.
 */
static char *
forwarded_settings(void)
{
	const char *names[] = {"jit", "gnnjit.jit", "gnnjit.jit_above_cost",
	"gnnjit.jit_fusion"};
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SET search_path = pg_catalog");
	for (int i = 0; i < lengthof(names); i++)
		appendStringInfo(&buf, "; SET %s = %s", names[i],
						 quote_literal_cstr(GetConfigOption(names[i], false, false)));
	return buf.data;
}

static void
run_shards(DistRun *run, GnnInferResult *out)
{
	GnnDist    *d = run->d;
	char	   *fingerprint = gnn_model_source(run->model->name, NULL, NULL);
	StringInfo	msgs = palloc(sizeof(StringInfoData) * d->nshards);
	PGresult  **res = palloc(sizeof(PGresult *) * d->nshards);

	if (fingerprint == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", run->model->name)));
	for (int r = 0; r < d->nshards; r++)
		shard_connect(&run->c[r]);
	find_extension(run);
	all_shards(run, forwarded_settings());
	sync_model(run, fingerprint);
	all_shards(run, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

	open_shards(run, fingerprint, msgs);
	bytea_round(run, "gnn_shard_serve", msgs, res);
	for (int r = 0; r < d->nshards; r++)
	{
		PQclear(res[r]);
		pfree(msgs[r].data);
		gnn_wire_begin(&msgs[r]);	/* the first step receives nothing */
	}
	run_layers(run, msgs);
	read_stats(run, out);
	fetch_rows(run, out);
}

/*
 * Run model over the distributed graph d; the output rows come in shard
 * order, each shard's in its table's order.
 */
void
gnn_dist_infer(GnnModel *model, GnnDist *d, GnnInferResult *out)
{
	DistRun		run;

	memset(&run, 0, sizeof(run));
	run.d = d;
	run.model = model;
	run.c = palloc0(sizeof(ShardConn) * d->nshards);
	for (int r = 0; r < d->nshards; r++)
		run.c[r].sh = &d->shards[r];
	d->nlayers = model->prog->nlayers;
	d->layer_bytes = palloc0(sizeof(int64) * Max(d->nlayers, 1));
	out->width = model->out_width;
	out->dist = d;

	PG_TRY();
	{
		run_shards(&run, out);
	}
	PG_CATCH();
	{
		disconnect_all(&run, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	disconnect_all(&run, false);
}

/* ---------- set-up ---------- */

PG_FUNCTION_INFO_V1(gnn_shard_execute);

/*
 * gnn_shard_execute(server text, sql text): run a command on a shard, as
 * the caller's user mapping (for gnn_distribute, which creates the shard
 * tables).
 */
Datum
gnn_shard_execute(PG_FUNCTION_ARGS)
{
	GnnDist		d;
	GnnDistShard sh;
	ShardConn	c;
	DistRun		run;
	ForeignServer *server = GetForeignServerByName(text_to_cstring(PG_GETARG_TEXT_PP(0)),
												   false);

	memset(&d, 0, sizeof(d));
	memset(&sh, 0, sizeof(sh));
	memset(&c, 0, sizeof(c));
	memset(&run, 0, sizeof(run));
	sh.serverid = server->serverid;
	sh.server = server->servername;
	c.sh = &sh;
	d.nshards = 1;
	d.shards = &sh;
	run.d = &d;
	run.c = &c;
	PG_TRY();
	{
		shard_connect(&c);
		all_shards(&run, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	}
	PG_CATCH();
	{
		disconnect_all(&run, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	disconnect_all(&run, false);
	PG_RETURN_VOID();
}
