/*-------------------------------------------------------------------------
 *
 * model.c
 *	  gnn_create_model, gnn_load_model, gnn_drop_model and the model cache.
 *
 * The catalog table is not writable by users: these functions check
 * ownership themselves, then read and write the table through SPI as the
 * table's owner, with fully qualified names and parameters only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "json.h"
#include "lower.h"
#include "model.h"
#include "safetensors.h"

#define GNN_MODEL_NAME_MAX 63

PG_FUNCTION_INFO_V1(gnn_create_model);
PG_FUNCTION_INFO_V1(gnn_load_model);
PG_FUNCTION_INFO_V1(gnn_drop_model);
PG_FUNCTION_INFO_V1(gnn_model_program);
PG_FUNCTION_INFO_V1(gnn_model_fingerprint);
PG_FUNCTION_INFO_V1(gnn_model_layers);

typedef struct ModelCacheEntry
{
	char		name[GNN_MODEL_NAME_MAX + 1];
	TransactionId xmin;			/* of the catalog row lowered */
	ItemPointerData tid;
	GnnModel   *model;
} ModelCacheEntry;

static HTAB *model_cache = NULL;

/* ---------- catalog access ---------- */

/* Schema gnnjit is installed in (PostgreSQL 15 exports no lookup for it) */
static Oid
extension_schema(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("gnnjit"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"gnnjit\" is not installed in this database")));
	return nsp;
}

/*
 * Access one of gnnjit's catalog tables as its owner, through SPI.  The
 * functions calling this check the caller's rights themselves.
 */
void
gnn_catalog_begin(GnnCatalogAccess *ca, const char *table)
{
	Oid			nsp = extension_schema();
	Oid			relid = get_relname_relid(table, nsp);
	Relation	rel;
	Oid			owner;

	if (!OidIsValid(relid))
		elog(ERROR, "gnnjit's catalog table %s is missing", table);
	rel = table_open(relid, AccessShareLock);
	owner = rel->rd_rel->relowner;
	table_close(rel, AccessShareLock);

	ca->table = quote_qualified_identifier(get_namespace_name(nsp), table);
	GetUserIdAndSecContext(&ca->save_userid, &ca->save_sec);
	ca->caller_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SetUserIdAndSecContext(owner, ca->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
gnn_catalog_end(GnnCatalogAccess *ca)
{
	SetUserIdAndSecContext(ca->save_userid, ca->save_sec);
	SPI_finish();
}

/* Run a catalog query with text parameters; returns SPI_processed */
uint64
gnn_catalog_exec(GnnCatalogAccess *ca, const char *fmt, int nargs, Oid *types,
			 Datum *values, bool read_only)
{
	char	   *sql = psprintf(fmt, ca->table);
	char		nulls[8];
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "gnnjit catalog query failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

static void
check_name(const char *name)
{
	if (name[0] == '\0' || strlen(name) > GNN_MODEL_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("model name must have 1 to %d bytes", GNN_MODEL_NAME_MAX)));
}

static void
check_owner(GnnCatalogAccess *ca, const char *name, Oid owner)
{
	if (!has_privs_of_role(ca->save_userid, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of model \"%s\"", name)));
}

/* ---------- lowering ---------- */

/*
 * Parse and lower spec + weights into a new model, in a context that
 * becomes a child of parent only once complete: an error on the way (even
 * out of memory) leaves nothing behind in long-lived memory.
 */
static GnnModel *
build_model(const char *name, const char *spec, int speclen,
			const char *weights, size_t wlen, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "gnnjit model",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	GnnModel   *m = palloc0(sizeof(GnnModel));
	GnnJson    *json;
	GnnSafetensors *st;
	GnnError	err;
	bool		ok;

	ok = gnn_json_parse(spec, speclen, &json, &err) &&
		gnn_st_parse(weights, wlen, &st, &err) &&
		gnn_lower(json, st, &m->prog, &err);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		char	   *msg = pstrdup(err.message);

		MemoryContextDelete(cxt);
		err.message = msg;
		gnn_raise(&err);
	}
	m->name = MemoryContextStrdup(cxt, name);
	m->cxt = cxt;
	m->in_width = m->prog->regs[m->prog->input].width;
	m->out_width = gnn_program_output_width(m->prog);
	m->summary = MemoryContextStrdup(cxt, gnn_program_summary(m->prog));
	old = MemoryContextSwitchTo(cxt);
	m->kops = gnn_kernel_ops(m->prog);
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, parent);
	return m;
}

static char *
jsonb_text(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* ---------- create, load, drop ---------- */

static void
store_model(const char *name, Jsonb *spec, bytea *weights)
{
	char	   *spectext = jsonb_text(spec);
	GnnModel   *m = build_model(name, spectext, strlen(spectext),
								VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights),
								CurrentMemoryContext);
	GnnCatalogAccess ca;
	Oid			types[8] = {TEXTOID, OIDOID, JSONBOID, BYTEAOID, INT4OID,
	INT4OID, TEXTOID, INT8OID};
	Datum		values[8];
	bool		isnull;

	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = JsonbPGetDatum(spec);
	values[3] = PointerGetDatum(weights);
	values[4] = Int32GetDatum(m->in_width);
	values[5] = Int32GetDatum(m->out_width);
	values[6] = CStringGetTextDatum(m->summary);
	values[7] = Int64GetDatum(m->prog->nparams);

	gnn_catalog_begin(&ca, "gnn_model_catalog");
	if (gnn_catalog_exec(&ca,
					 "INSERT INTO %s (name, owner, spec, weights, input_width, "
					 "output_width, layers, parameters) "
					 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
					 "ON CONFLICT (name) DO NOTHING",
					 8, types, values, false) == 0)
	{
		/* the name is taken: replacing is for the model's owner only */
		if (gnn_catalog_exec(&ca, "SELECT owner FROM %s WHERE name = $1 FOR UPDATE",
						 1, types, values, false) != 1)
			elog(ERROR, "model \"%s\" vanished while being replaced", name);
		check_owner(&ca, name,
					DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1,
												   &isnull)));
		gnn_catalog_exec(&ca,
					 "UPDATE %s SET spec = $3, weights = $4, input_width = $5, "
					 "output_width = $6, layers = $7, parameters = $8, "
					 "created = now() WHERE name = $1",
					 8, types, values, false);
	}
	gnn_catalog_end(&ca);
	MemoryContextDelete(m->cxt);
}

Datum
gnn_create_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	check_name(name);
	store_model(name, PG_GETARG_JSONB_P(1), PG_GETARG_BYTEA_PP(2));
	PG_RETURN_VOID();
}

/* Whole server file as a bytea; caller has checked the privilege */
static bytea *
read_server_file(const char *path)
{
	struct stat st;
	FILE	   *f;
	bytea	   *buf;

	if (stat(path, &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	if (st.st_size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("file \"%s\" is too large (at most 1 GB)", path)));
	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));
	buf = palloc(st.st_size + VARHDRSZ);
	if (fread(VARDATA(buf), 1, st.st_size, f) != (size_t) st.st_size || ferror(f))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	FreeFile(f);
	SET_VARSIZE(buf, st.st_size + VARHDRSZ);
	return buf;
}

Datum
gnn_load_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(2));

	check_name(name);
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read server files"),
				 errdetail("Only superusers and members of pg_read_server_files may call gnn_load_model."),
				 errhint("Use gnn_create_model with the file's contents instead.")));
	store_model(name, PG_GETARG_JSONB_P(1), read_server_file(path));
	PG_RETURN_VOID();
}

Datum
gnn_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		if_exists = PG_GETARG_BOOL(1);
	GnnCatalogAccess ca;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;

	gnn_catalog_begin(&ca, "gnn_model_catalog");
	if (gnn_catalog_exec(&ca, "SELECT owner FROM %s WHERE name = $1 FOR UPDATE",
					 1, types, values, false) == 0)
	{
		gnn_catalog_end(&ca);
		if (!if_exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name)));
		ereport(NOTICE,
				(errmsg("model \"%s\" does not exist, skipping", name)));
		PG_RETURN_VOID();
	}
	check_owner(&ca, name,
				DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1,
											   &isnull)));
	gnn_catalog_exec(&ca, "DELETE FROM %s WHERE name = $1", 1, types, values, false);
	gnn_catalog_end(&ca);
	PG_RETURN_VOID();
}

/* ---------- the cache ---------- */

static ModelCacheEntry *
cache_entry(const char *name)
{
	bool		found;
	ModelCacheEntry *e;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = GNN_MODEL_NAME_MAX + 1;
		ctl.entrysize = sizeof(ModelCacheEntry);
		ctl.hcxt = CacheMemoryContext;
		model_cache = hash_create("gnnjit models", 16, &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	e = hash_search(model_cache, name, HASH_ENTER, &found);
	if (!found)
	{
		e->xmin = InvalidTransactionId;
		e->model = NULL;
	}
	return e;
}

/*
 * The lowered model called name, from the cache when the catalog row is
 * the one lowered before.  Any user may run any model.
 */
GnnModel *
gnn_model_get(const char *name)
{
	return gnn_model_lookup(name, false);
}

/* gnn_model_get, or NULL for a model that does not exist if missing_ok */
GnnModel *
gnn_model_lookup(const char *name, bool missing_ok)
{
	GnnCatalogAccess ca;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	ModelCacheEntry *e;
	TransactionId xmin;
	ItemPointerData tid;
	bool		isnull;

	if (strlen(name) > GNN_MODEL_NAME_MAX)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	}
	values[0] = CStringGetTextDatum(name);
	gnn_catalog_begin(&ca, "gnn_model_catalog");
	if (gnn_catalog_exec(&ca, "SELECT xmin, ctid FROM %s WHERE name = $1",
					 1, types, values, true) == 0)
	{
		gnn_catalog_end(&ca);
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	}
	xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	tid = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 2, &isnull));
	e = cache_entry(name);
	if (e->model == NULL || e->xmin != xmin || !ItemPointerEquals(&e->tid, &tid))
	{
		text	   *spec;
		bytea	   *weights;

		if (e->model)
		{
			gnn_jit_release(e->model->jit);
			MemoryContextDelete(e->model->cxt);
		}
		e->model = NULL;
		gnn_catalog_exec(&ca, "SELECT spec::text, weights FROM %s WHERE name = $1",
					 1, types, values, true);
		spec = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
		weights = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 2, &isnull));
		e->model = build_model(name, VARDATA_ANY(spec), VARSIZE_ANY_EXHDR(spec),
							   VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights),
							   CacheMemoryContext);
		e->xmin = xmin;
		e->tid = tid;
	}
	gnn_catalog_end(&ca);
	return e->model;
}

/*
 * The model's compiled operations, compiling them on first use; cached
 * with the model for the rest of the session.
 */
GnnKernelFn *
gnn_model_jit(GnnModel *model)
{
	if (model->jit)
		gnn_jit_counters.cache_hits++;
	else
		model->jit = gnn_jit_compile(model->kops, model->prog->nops, model->cxt);
	return model->jit->fns;
}

/* The module program of a model, one operation per line */
Datum
gnn_model_program(PG_FUNCTION_ARGS)
{
	GnnModel   *m = gnn_model_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	PG_RETURN_TEXT_P(cstring_to_text(gnn_program_describe(m->prog)));
}

/*
 * The model's fingerprint: SHA-256 of its spec (as jsonb prints it) and
 * weights, in hex; with spec and weights non-NULL, also those (for sending
 * the model to a shard).  Returns NULL if there is no such model.
 */
char *
gnn_model_source(const char *name, text **spec, bytea **weights)
{
	GnnCatalogAccess ca;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	char	   *fingerprint = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	values[0] = CStringGetTextDatum(name);
	gnn_catalog_begin(&ca, "gnn_model_catalog");
	if (gnn_catalog_exec(&ca,
					 "SELECT encode(sha256(convert_to(spec::text, 'UTF8') || weights), 'hex'), "
					 "spec::text, weights FROM %s WHERE name = $1",
					 1, types, values, true) == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		fingerprint = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		if (spec)
			*spec = DatumGetTextPCopy(SPI_getbinval(tup, desc, 2, &isnull));
		if (weights)
			*weights = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 3, &isnull));
		MemoryContextSwitchTo(old);
	}
	gnn_catalog_end(&ca);
	return fingerprint;
}

/* gnn_model_fingerprint(name): see gnn_model_source */
Datum
gnn_model_fingerprint(PG_FUNCTION_ARGS)
{
	char	   *fp = gnn_model_source(text_to_cstring(PG_GETARG_TEXT_PP(0)),
									  NULL, NULL);

	if (fp == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(fp));
}

/*
 * gnn_model_layers(name) RETURNS TABLE (layer, type, in_width, out_width,
 * modules): the model's layers; a built-in message-passing layer with the
 * module program it is written as, in the form of a "Program" layer.
 */
Datum
gnn_model_layers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GnnModel   *m = gnn_model_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	InitMaterializedSRF(fcinfo, 0);
	for (int l = 0; l < m->prog->nlayers; l++)
	{
		const GnnLayerInfo *li = &m->prog->layers[l];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, li->modules == NULL};

		values[0] = Int32GetDatum(l);
		values[1] = CStringGetTextDatum(li->type);
		values[2] = Int32GetDatum(li->in_width);
		values[3] = Int32GetDatum(li->out_width);
		values[4] = li->modules ?
			DirectFunctionCall1(jsonb_in, CStringGetDatum(li->modules)) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
