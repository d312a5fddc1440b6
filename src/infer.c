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

#include "catalog/namespace.h"
#include "utils/regproc.h"

#include "dist.h"
#include "graphdef.h"
#include "exec.h"
#include "gnnjit.h"
#include "graph.h"
#include "infer.h"
#include "model.h"
#include "progress.h"
#include "prune.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(gnn_infer);
PG_FUNCTION_INFO_V1(gnn_infer_named);

static const char *
name_arg(Datum *values, bool *nulls, int n, const char *what)
{
	if (nulls[n])
	{
		if (what == NULL)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s column name of gnn_infer must not be NULL", what)));
	}
	return pstrdup(NameStr(*DatumGetName(values[n])));
}

/*
 * The model and graph source named by gnn_infer's eight arguments, as the
 * SQL function and the custom scan receive them.
 */
/* strategy, batch_size, fanout and seed: arguments 8 to 11 */
static void
options_args(Datum *values, bool *nulls, GnnInferOptions *opts)
{
	char	   *strategy = nulls[8] ? "full" : TextDatumGetCString(values[8]);

	memset(opts, 0, sizeof(GnnInferOptions));
	if (strcmp(strategy, "full") == 0)
		opts->strategy = GNN_STRATEGY_FULL;
	else if (strcmp(strategy, "subgraph") == 0)
		opts->strategy = GNN_STRATEGY_SUBGRAPH;
	else if (strcmp(strategy, "subgraph_trimmed") == 0)
		opts->strategy = GNN_STRATEGY_TRIMMED;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown strategy \"%s\"", strategy),
				 errhint("Use \"full\", \"subgraph\" or \"subgraph_trimmed\".")));
	opts->batch_size = nulls[9] ? 1024 : DatumGetInt32(values[9]);
	if (opts->batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1")));
	opts->seed = nulls[11] ? 0 : DatumGetInt64(values[11]);
	if (!nulls[10])
	{
		ArrayType  *arr = DatumGetArrayTypeP(values[10]);
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &enulls, &n);
		if (n < 1 || array_contains_nulls(arr))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fanout must be a non-empty array without NULLs")));
		if (opts->strategy != GNN_STRATEGY_SUBGRAPH)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fanout needs strategy \"subgraph\"")));
		opts->hops = n;
		opts->fanout = palloc(sizeof(int) * n);
		for (int i = 0; i < n; i++)
		{
			opts->fanout[i] = DatumGetInt32(elems[i]);
			if (opts->fanout[i] < -1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("fanout values must be -1 (all) or at least 0")));
		}
	}
}

/*
 * The graph source named by gnn_infer's table and column arguments.  A
 * relation column (RGCNConv's relation ids) is read where a weight column
 * would be: a model reads weights or relations, not both.
 */
void
gnn_infer_source(Datum *values, bool *nulls, GnnGraphSource *src)
{
	const char *relation = name_arg(values, nulls, 12, NULL);

	memset(src, 0, sizeof(GnnGraphSource));
	src->edges = DatumGetObjectId(values[1]);
	src->nodes = DatumGetObjectId(values[2]);
	src->src_col = name_arg(values, nulls, 3, "src");
	src->dst_col = name_arg(values, nulls, 4, "dst");
	src->weight_col = name_arg(values, nulls, 5, NULL);
	src->id_col = name_arg(values, nulls, 6, "id");
	src->features_col = name_arg(values, nulls, 7, "features");
	if (relation && src->weight_col)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gnn_infer takes either a weight or a relation column, not both")));
	if (relation)
	{
		src->weight_col = relation;
		src->relation = true;
	}
}

/*
 * Whether model can run on the edge and node tables src names: a model of
 * node and edge types, or one reading edge features, needs a graph of the
 * graph catalog; the edge column given must be what the model reads.
 */
void
gnn_infer_check_tables(GnnModel *model, const GnnGraphSource *src)
{
	const GnnProgram *prog = model->prog;

	if (gnn_program_hetero(prog))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has node and edge types: run it on a graph of the graph catalog", model->name),
				 errhint("Define the graph with gnn_create_graph(), then call gnn_infer(model, graph, node_type).")));
	for (int r = 0; r < Max(prog->netypes, 1); r++)
		if (prog->attr_width[r] > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" reads edge features: run it on a graph of the graph catalog", model->name),
					 errhint("Define the graph with gnn_create_graph(), naming the edge table's \"edge_attr\" column.")));
	if (prog->uses_relation && !src->relation)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" needs the edges' relation ids", model->name),
				 errhint("Name the edge table's relation column: gnn_infer(..., relation => 'edge_type').")));
	if (src->relation && prog->uses_weight)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" reads edge weights, not relation ids", model->name)));
}

GnnModel *
gnn_infer_args(Datum *values, bool *nulls, GnnGraphSource *src,
			   GnnInferOptions *opts)
{
	GnnModel   *model;

	if (nulls[0] || nulls[1] || nulls[2])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("gnn_infer needs a model, an edge table and a node table")));
	gnn_infer_source(values, nulls, src);
	options_args(values, nulls, opts);
	model = gnn_model_get(TextDatumGetCString(values[0]));
	gnn_infer_check_tables(model, src);
	return model;
}

/*
 * Output row i as (node_id, embedding) datums.  The real[] is built in one
 * piece straight from the output row (construct_array would go through a
 * Datum per element); it is palloc'd.
 */
void
gnn_infer_row(const GnnInferResult *res, int64 i, Datum *values)
{
	const float *row = res->y + i * res->width;
	Size		size = ARR_OVERHEAD_NONULLS(1) + sizeof(float) * res->width;
	ArrayType  *arr = (ArrayType *) palloc0(size);

	SET_VARSIZE(arr, size);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT4OID;
	ARR_DIMS(arr)[0] = res->width;
	ARR_LBOUND(arr)[0] = 1;
	memcpy(ARR_DATA_PTR(arr), row, sizeof(float) * res->width);
	values[0] = Int64GetDatum(res->ids[i]);
	values[1] = PointerGetDatum(arr);
}

/*
 * Check the memory the inference will need against gnnjit.max_memory
 * before reading anything, from the planner's row estimates (of src's
 * tables, or else of the catalog graph hs's).
 */
static void
check_estimate(const GnnGraphSource *src, const GnnHeteroSource *hs,
			   GnnMemory *mem)
{
	int64		nnodes,
				nedges;
	int64		bytes = src ? gnn_graph_estimate_bytes(src, &nnodes, &nedges) :
		gnn_graph_estimate_bytes_hetero(hs, &nnodes, &nedges);

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
 * Run model on an in-memory graph; op_rows, if not NULL, limits each
 * operation to a prefix of the nodes (see prune.c).
 */
void
gnn_infer_graph(GnnModel *model, GnnGraph *g, const int64 *op_rows,
				GnnMemory *mem, double cost, GnnInferResult *out)
{
	GnnExec		ex;

	gnn_exec_init(&ex, model->prog, model->kops, g, mem);
	ex.op_rows = op_rows;
	if (g->ntypes > 0)
		ex.needed = gnn_program_needed_ops(model->prog,
										   model->prog->outputs[g->out_type]);
	if (gnn_jit_enabled && cost >= gnn_jit_above_cost && gnn_jit_available())
	{
		bool		cached = (model->jit != NULL);

		ex.fns = gnn_model_jit(model);
		ex.jit = true;
		ex.fuse = gnn_jit_fusion;
		out->jit_compiled = !cached;
		out->jit_functions = model->jit->nfunctions;
		out->jit_ms = cached ? 0 : model->jit->generate_ms + model->jit->emit_ms;
	}
	out->y = gnn_exec_run(&ex);
	out->rows_read = g->rows_read;
	out->ids = g->ids;
	out->nnodes = g->nnodes;
	out->width = model->out_width;
	if (g->ntypes > 0)
	{
		/* a heterogeneous graph's outputs: those of one node type */
		int			reg = model->prog->outputs[g->out_type];

		out->y = ex.regs[reg];
		out->ids = g->ids + gnn_graph_type_off(g, g->out_type);
		out->nnodes = gnn_graph_type_rows(g, g->out_type);
		out->width = model->prog->regs[reg].width;
	}
	out->stats = ex.stats;
	out->jit = ex.jit;
	gnn_stats_remember(model->prog, &ex.stats, ex.jit);
}

/* Read the whole graph described by src, within gnnjit.max_memory */
GnnGraph *
gnn_infer_read(GnnModel *model, GnnGraphSource *src, GnnMemory *mem)
{
	src->width = model->in_width;
	gnn_progress_begin(model->name, src->nodes, model->prog->nlayers);
	check_estimate(src, NULL, mem);
	return gnn_graph_read(src, mem);
}

/*
 * Run model on the graph described by src, by opts' strategy; the outputs
 * are allocated in the current memory context.
 */
void
gnn_infer_run(GnnModel *model, GnnGraphSource *src,
			  const GnnInferOptions *opts, GnnInferResult *out)
{
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	GnnGraph   *g;
	GnnDist    *dist;

	memset(out, 0, sizeof(GnnInferResult));
	if (opts->strategy == GNN_STRATEGY_FULL && (dist = gnn_dist_lookup(src)) != NULL)
	{
		gnn_progress_begin(model->name, src->nodes, model->prog->nlayers);
		gnn_dist_infer(model, dist, out);
		gnn_stats_remember(model->prog, &out->stats, out->jit);
		gnn_progress_end();
		return;
	}
	if (opts->strategy != GNN_STRATEGY_FULL)
	{
		gnn_infer_subgraph(model, src, opts, out);
		gnn_progress_end();
		return;
	}
	g = gnn_infer_read(model, src, &mem);
	g->x_disposable = true;
	gnn_infer_graph(model, g, NULL, &mem, gnn_exec_cost(model->prog, g), out);
	gnn_progress_end();
}

static void
emit_rows(ReturnSetInfo *rsinfo, const GnnInferResult *res)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	for (int64 i = 0; i < res->nnodes; i++)
	{
		gnn_infer_row(res, i, values);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(DatumGetPointer(values[1]));
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/* Read the whole catalog graph hs describes, within gnnjit.max_memory */
GnnGraph *
gnn_infer_read_hetero(GnnModel *model, const GnnHeteroSource *hs,
					  GnnMemory *mem)
{
	GnnGraph   *g;

	gnn_progress_begin(model->name, hs->nodes[hs->out_type].rel, model->prog->nlayers);
	check_estimate(NULL, hs, mem);
	g = gnn_graph_read_hetero(hs, mem);
	g->out_type = hs->out_type;
	return g;
}

/* Run model on the tables of a catalog graph */
static void
infer_hetero(GnnModel *model, const GnnHeteroSource *hs, GnnInferResult *out)
{
	GnnMemory	mem = {0, 0, GNN_MAX_MEMORY_BYTES()};
	GnnGraph   *g;

	memset(out, 0, sizeof(GnnInferResult));
	g = gnn_infer_read_hetero(model, hs, &mem);
	gnn_infer_graph(model, g, NULL, &mem, gnn_exec_cost(model->prog, g), out);
	gnn_progress_end();
}

/*
 * Run the inference the arguments describe and return its rows: catalog
 * graph hs with the model bound to it, or gnn_infer's table arguments
 */
static Datum
infer_srf(FunctionCallInfo fcinfo, Datum *values, bool *nulls,
		  const GnnHeteroSource *hs, GnnModel *model)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GnnGraphSource src;
	MemoryContext cxt;
	MemoryContext old;
	GnnInferResult res;
	GnnInferOptions opts;

	if (hs == NULL)
		model = gnn_infer_args(values, nulls, &src, &opts);
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "gnnjit inference",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	if (hs)
		infer_hetero(model, hs, &res);
	else
		gnn_infer_run(model, &src, &opts, &res);
	MemoryContextSwitchTo(old);

	emit_rows(rsinfo, &res);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/*
 * gnn_infer(model, edges, nodes, src, dst, weight, id, features, strategy,
 *			 batch_size, fanout, seed, relation)
 *	  RETURNS TABLE(node_id bigint, embedding real[])
 */
Datum
gnn_infer(PG_FUNCTION_ARGS)
{
	Datum		values[GNN_INFER_NARGS];
	bool		nulls[GNN_INFER_NARGS];

	/* an older SQL definition passes fewer arguments: the rest are NULL */
	for (int i = 0; i < GNN_INFER_NARGS; i++)
	{
		values[i] = i < PG_NARGS() ? PG_GETARG_DATUM(i) : (Datum) 0;
		nulls[i] = i < PG_NARGS() ? PG_ARGISNULL(i) : true;
	}
	return infer_srf(fcinfo, values, nulls, NULL, NULL);
}

/*
 * The relation a table name argument names, or InvalidOid (missing_ok)
 */
Oid
gnn_infer_table(const char *name, bool missing_ok)
{
	List	   *names = stringToQualifiedNameList(name);

	return RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, missing_ok);
}

/*
 * What gnn_infer(model text, graph text, node_type text DEFAULT NULL) names
 * in args: a graph of the graph catalog (true, hs filled in and *model the
 * model bound to it, to be used as it is: looking it up again could find
 * a newer version), or, when no graph has that name, the edge and node
 * tables named by the last two arguments (false, values/nulls filled in as
 * gnn_infer's arguments).
 * gnn_infer('m', 'edges', 'nodes') resolves here when its arguments are
 * untyped literals.
 */
bool
gnn_infer_named_source(Datum *args, bool *argnulls, GnnHeteroSource *hs,
					   GnnModel **model, Datum *values, bool *nulls)
{
	char	   *graph;

	if (argnulls[0] || argnulls[1])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("gnn_infer needs a model and a graph")));
	graph = TextDatumGetCString(args[1]);
	*model = gnn_model_get(TextDatumGetCString(args[0]));
	values[0] = args[0];
	nulls[0] = false;
	if (gnn_graph_source(graph, (*model)->prog,
						 argnulls[2] ? NULL : TextDatumGetCString(args[2]), hs))
		return true;
	if (argnulls[2])
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("graph \"%s\" does not exist", graph),
				 errhint("Define it with gnn_create_graph(), or name an edge and a node table.")));
	gnn_infer_table_args(graph, TextDatumGetCString(args[2]), values, nulls);
	return false;
}

Datum
gnn_infer_named(PG_FUNCTION_ARGS)
{
	Datum		args[3] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2)};
	bool		argnulls[3] = {PG_ARGISNULL(0), PG_ARGISNULL(1), PG_ARGISNULL(2)};
	Datum		values[GNN_INFER_NARGS];
	bool		nulls[GNN_INFER_NARGS];
	GnnHeteroSource hs;
	GnnModel   *model;

	if (gnn_infer_named_source(args, argnulls, &hs, &model, values, nulls))
		return infer_srf(fcinfo, values, nulls, &hs, model);
	return infer_srf(fcinfo, values, nulls, NULL, NULL);
}

/*
 * Run the inference gnn_infer(model, graph, node_type) names (as the custom
 * scan does), for the target node ids only if targets is not NULL; the
 * outputs are allocated in the current memory context.  Returns the model.
 */
GnnModel *
gnn_infer_named_run(Datum *args, bool *argnulls, const int64 *targets,
					int ntargets, GnnInferResult *out)
{
	Datum		values[GNN_INFER_NARGS];
	bool		nulls[GNN_INFER_NARGS];
	GnnHeteroSource hs;
	GnnGraphSource src;
	GnnInferOptions opts;
	GnnModel   *model;

	if (gnn_infer_named_source(args, argnulls, &hs, &model, values, nulls))
	{
		if (targets)
			gnn_infer_pruned_hetero(model, &hs, targets, ntargets, out);
		else
			infer_hetero(model, &hs, out);
		return model;
	}
	model = gnn_infer_args(values, nulls, &src, &opts);
	if (targets)
		gnn_infer_pruned(model, &src, targets, ntargets, out);
	else
		gnn_infer_run(model, &src, &opts, out);
	return model;
}

/* gnn_infer's 13 arguments for the edge and node tables, all defaults */
void
gnn_infer_table_args(const char *edges, const char *nodes, Datum *values, bool *nulls)
{
	static const char *const cols[] = {"src", "dst", NULL, "id", "features"};

	values[1] = ObjectIdGetDatum(gnn_infer_table(edges, false));
	values[2] = ObjectIdGetDatum(gnn_infer_table(nodes, false));
	nulls[1] = nulls[2] = false;
	for (int i = 3; i < GNN_INFER_NARGS; i++)
	{
		nulls[i] = (i >= 8 || cols[i - 3] == NULL);
		if (!nulls[i])
		{
			Name		n = palloc0(NAMEDATALEN);

			namestrcpy(n, cols[i - 3]);
			values[i] = NameGetDatum(n);
		}
	}
}
