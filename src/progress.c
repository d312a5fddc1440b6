/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Progress reporting of inferences, like pg_stat_progress_create_index.
 *
 * PostgreSQL's progress slots in each backend's status entry serve any
 * command type; gnnjit reports under a type of its own, which the built-in
 * progress views ignore, and gnn_stat_progress() reads the entries back.
 * Transaction abort ends the report, so an error leaves nothing behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_collation.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "progress.h"

/* gnnjit's command type in the backend status entries ("GN") */
#define GNN_PROGRESS_COMMAND ((ProgressCommandType) 0x474e)

/* the progress parameters */
#define PARAM_MODEL		0			/* hashtext() of the model's name */
#define PARAM_PHASE		1
#define PARAM_LAYER		2
#define PARAM_LAYERS	3
#define PARAM_DONE		4
#define PARAM_TOTAL		5

PG_FUNCTION_INFO_V1(gnn_stat_progress);

/* Whether this backend reports an inference (not, e.g., a COPY) */
static bool
reporting(void)
{
	return MyBEEntry && MyBEEntry->st_progress_command == GNN_PROGRESS_COMMAND;
}

void
gnn_progress_begin(const char *model, Oid nodes, int nlayers)
{
	const int	index[] = {PARAM_MODEL, PARAM_LAYERS};
	int64		values[2];

	if (MyBEEntry == NULL ||
		MyBEEntry->st_progress_command != PROGRESS_COMMAND_INVALID)
		return;
	pgstat_progress_start_command(GNN_PROGRESS_COMMAND, nodes);
	values[0] = DatumGetInt32(DirectFunctionCall1Coll(hashtext, C_COLLATION_OID,
													  CStringGetTextDatum(model)));
	values[1] = nlayers;
	pgstat_progress_update_multi_param(2, index, values);
}

void
gnn_progress_phase(GnnPhase phase, int64 total)
{
	const int	index[] = {PARAM_PHASE, PARAM_DONE, PARAM_TOTAL};
	int64		values[3] = {phase, 0, total};

	if (reporting())
		pgstat_progress_update_multi_param(3, index, values);
}

void
gnn_progress_layer(int layer, int64 done)
{
	const int	index[] = {PARAM_LAYER, PARAM_DONE};
	int64		values[2] = {layer, done};

	if (reporting())
		pgstat_progress_update_multi_param(2, index, values);
}

/* Rows read, or nodes done by the current layer */
void
gnn_progress_done(int64 done)
{
	if (reporting())
		pgstat_progress_update_param(PARAM_DONE, done);
}

void
gnn_progress_end(void)
{
	if (reporting())
		pgstat_progress_end_command();
}

static const char *
phase_name(int64 phase)
{
	switch (phase)
	{
		case GNN_PHASE_READING_NODES:
			return "reading nodes";
		case GNN_PHASE_READING_EDGES:
			return "reading edges";
		case GNN_PHASE_COMPUTING:
			return "computing";
		case GNN_PHASE_RETURNING:
			return "returning rows";
	}
	return "starting";
}

/*
 * gnn_stat_progress(): one row per backend running an inference: pid,
 * database, model name hash, node table, phase, layer, layers, nodes done
 * and total.  The gnn_stat_progress view resolves the model's name.
 */
Datum
gnn_stat_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n = pgstat_fetch_stat_numbackends();

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be = local ? &local->backendStatus : NULL;
		Datum		values[9];
		bool		nulls[9] = {false};
		const int64 *p;

		if (be == NULL || be->st_progress_command != GNN_PROGRESS_COMMAND)
			continue;
		/* as pg_stat_progress_*: others' inferences need pg_read_all_stats */
		if (!has_privs_of_role(GetUserId(), be->st_userid) &&
			!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
			continue;
		p = be->st_progress_param;
		values[0] = Int32GetDatum(be->st_procpid);
		values[1] = ObjectIdGetDatum(be->st_databaseid);
		values[2] = Int32GetDatum((int32) p[PARAM_MODEL]);
		values[3] = ObjectIdGetDatum(be->st_progress_command_target);
		values[4] = CStringGetTextDatum(phase_name(p[PARAM_PHASE]));
		values[5] = Int32GetDatum((int32) p[PARAM_LAYER]);
		values[6] = Int32GetDatum((int32) p[PARAM_LAYERS]);
		values[7] = Int64GetDatum(p[PARAM_DONE]);
		values[8] = Int64GetDatum(p[PARAM_TOTAL]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
