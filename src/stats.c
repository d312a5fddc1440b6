/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  gnn_jit_stats() and gnn_last_inference(): what the JIT did in this
 *	  session, and where the last inference spent its time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "codegen.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(gnn_jit_stats);
PG_FUNCTION_INFO_V1(gnn_last_inference);

/* The last inference of this session, in TopMemoryContext */
static int	last_nlayers = 0;
static char **last_types = NULL;
static double *last_ms = NULL;
static bool last_jit = false;

void
gnn_stats_remember(const GnnProgram *prog, const GnnExecStats *stats, bool jit)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	for (int l = 0; l < last_nlayers; l++)
		pfree(last_types[l]);
	if (last_types)
	{
		pfree(last_types);
		pfree(last_ms);
	}
	last_nlayers = prog->nlayers;
	last_types = palloc(sizeof(char *) * Max(prog->nlayers, 1));
	last_ms = palloc(sizeof(double) * Max(prog->nlayers, 1));
	for (int l = 0; l < prog->nlayers; l++)
	{
		last_types[l] = pstrdup(prog->layers[l].type);
		last_ms[l] = stats->layer_ms[l];
	}
	last_jit = jit;
	MemoryContextSwitchTo(old);
}

/* gnn_jit_stats(): compiles, functions, cache hits and time, this session */
Datum
gnn_jit_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = BoolGetDatum(gnn_jit_available());
	values[1] = Int64GetDatum(gnn_jit_counters.compiles);
	values[2] = Int64GetDatum(gnn_jit_counters.functions);
	values[3] = Int64GetDatum(gnn_jit_counters.cache_hits);
	values[4] = Float8GetDatum(gnn_jit_counters.generate_ms);
	values[5] = Float8GetDatum(gnn_jit_counters.emit_ms);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* gnn_last_inference(): one row per spec layer of this session's last run */
Datum
gnn_last_inference(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int l = 0; l < last_nlayers; l++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};

		values[0] = Int32GetDatum(l);
		values[1] = CStringGetTextDatum(last_types[l]);
		values[2] = Float8GetDatum(last_ms[l]);
		values[3] = BoolGetDatum(last_jit);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
