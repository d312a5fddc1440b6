/*-------------------------------------------------------------------------
 *
 * infer.c
 *	  gnn_infer(): full-graph inference as a set-returning function.
 *
 * One call reads the node and edge tables once, runs the model layer by
 * layer over the whole graph and returns one row per node.  All memory of
 * the inference lives in one context, deleted at the end (or by the
 * error's transaction abort).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "exec.h"
#include "gnnjit.h"
#include "graph.h"
#include "infer.h"
#include "model.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(gnn_infer);

static const char *
name_arg(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
	{
		if (what == NULL)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s column name of gnn_infer must not be NULL", what)));
	}
	return pstrdup(NameStr(*PG_GETARG_NAME(n)));
}

/*
 * Check the memory the inference will need against gnnjit.max_memory
 * before reading anything, from the planner's row estimates.
 */
static void
check_estimate(const GnnGraphSource *src, GnnMemory *mem)
{
	int64		nnodes,
				nedges;
	int64		bytes = gnn_graph_estimate_bytes(src, &nnodes, &nedges);

	if (mem->limit > 0 && bytes > mem->limit)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("gnn_infer needs more memory than gnnjit.max_memory allows"),
				 errdetail("Reading an estimated " INT64_FORMAT " nodes and " INT64_FORMAT " edges needs about %lld MB; gnnjit.max_memory is %lld MB.",
						   nnodes, nedges, (long long) (bytes >> 20),
						   (long long) (mem->limit >> 20)),
				 errhint("Raise gnnjit.max_memory, or run the model on fewer nodes.")));
}

/*
 * Run model on the graph described by src; the output matrix and node ids
 * are returned in *out, allocated in the current memory context.
 */
void
gnn_infer_run(GnnModel *model, GnnGraphSource *src, GnnInferResult *out)
{
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	GnnExec		ex;
	GnnGraph   *g;
	int64		need;

	src->width = model->in_width;
	check_estimate(src, &mem);
	g = gnn_graph_read(src, &mem);
	/* the exact peak of the layers' values, checked before any is allocated */
	need = gnn_exec_estimate(model->prog, g);
	gnn_mem_reserve(&mem, need, "running the model's layers");
	gnn_mem_release(&mem, need);

	gnn_exec_init(&ex, model->prog, model->kops, g, &mem);
	if (gnn_jit_enabled &&
		gnn_exec_cost(model->prog, g) >= gnn_jit_above_cost &&
		gnn_jit_available())
	{
		ex.fns = gnn_model_jit(model);
		ex.jit = true;
	}
	out->y = gnn_exec_run(&ex);
	out->jit = ex.jit;
	gnn_stats_remember(model->prog, &ex.stats, ex.jit);
	out->ids = g->ids;
	out->nnodes = g->nnodes;
	out->width = model->out_width;
	out->stats = ex.stats;
}

static void
emit_rows(ReturnSetInfo *rsinfo, const GnnInferResult *res)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *elems = palloc(sizeof(Datum) * res->width);

	for (int64 i = 0; i < res->nnodes; i++)
	{
		const float *row = res->y + i * res->width;
		ArrayType  *arr;

		for (int j = 0; j < res->width; j++)
			elems[j] = Float4GetDatum(row[j]);
		arr = construct_array(elems, res->width, FLOAT4OID, sizeof(float4),
							  true, TYPALIGN_INT);
		values[0] = Int64GetDatum(res->ids[i]);
		values[1] = PointerGetDatum(arr);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(arr);
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * gnn_infer(model, edges, nodes, src, dst, weight, id, features)
 *	  RETURNS TABLE(node_id bigint, embedding real[])
 */
Datum
gnn_infer(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GnnGraphSource src;
	GnnModel   *model;
	MemoryContext cxt;
	MemoryContext old;
	GnnInferResult res;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("gnn_infer needs a model, an edge table and a node table")));
	InitMaterializedSRF(fcinfo, 0);

	model = gnn_model_get(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	memset(&src, 0, sizeof(src));
	src.edges = PG_GETARG_OID(1);
	src.nodes = PG_GETARG_OID(2);
	src.src_col = name_arg(fcinfo, 3, "src");
	src.dst_col = name_arg(fcinfo, 4, "dst");
	src.weight_col = name_arg(fcinfo, 5, NULL);
	src.id_col = name_arg(fcinfo, 6, "id");
	src.features_col = name_arg(fcinfo, 7, "features");

	cxt = AllocSetContextCreate(CurrentMemoryContext, "gnnjit inference",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	gnn_infer_run(model, &src, &res);
	MemoryContextSwitchTo(old);

	emit_rows(rsinfo, &res);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
