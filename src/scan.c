/*-------------------------------------------------------------------------
 *
 * scan.c
 *	  GnnScan: a custom scan node that executes gnn_infer() in FROM.
 *
 * The planner hook replaces the function scan of a gnn_infer() range-table
 * entry by a CustomScan.  PostgreSQL 15 opens a relation for a custom scan
 * with scanrelid > 0, and a function RTE has none, so the scan has
 * scanrelid 0 and describes its own output with custom_scan_tlist.  The
 * function's arguments travel in custom_exprs: the planner turns lateral
 * references into executor parameters there, and a rescan with changed
 * parameters runs the inference again.
 *
 * The node streams rows straight from the output matrix, without the
 * tuplestore a set-returning function needs, and EXPLAIN shows the model,
 * its layers, the strategy and the JIT; EXPLAIN ANALYZE adds rows read,
 * time per layer, peak memory and compilation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "access/parallel.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "optimizer/restrictinfo.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "codegen.h"
#include "dist.h"
#include "gnnjit.h"
#include "graphdef.h"
#include "infer.h"
#include "model.h"
#include "parallel.h"
#include "prune.h"
#include "scan.h"

/* Executor state */
typedef struct GnnScanState
{
	CustomScanState css;
	List	   *args;			/* ExprStates of gnn_infer's arguments */
	MemoryContext cxt;			/* the current inference's memory */
	bool		computed;
	GnnInferResult res;
	int64		next;			/* next output row */
	char	   *model_name;
	bool		catalog;		/* gnn_infer(model, graph, node_type) */
	char	   *graph;			/* its graph and node type, if constants */
	char	   *strategy;		/* a constant strategy other than "full" */
	char	   *shards;			/* a distributed graph's shards, described */
	bool		targets;		/* a target qual was pushed down */
	bool		targets_array;	/* the targets' expression is an array */
	double		field_estimate; /* for the estimated number of targets */
	double		nodes;			/* the graph's estimated nodes, mean */
	double		degree;			/* in-degree, and the model's hops */
	int			hops;
	/* parallel: this participant's share */
	bool		parallel_read;	/* tables can be read by all participants */
	GnnGraphSource read_source;
	GnnShared  *shared;
	GnnParallelRun prun;
	int64		chunk_end;		/* end of the output rows claimed */
} GnnScanState;

static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;

static Plan *plan_gnn_path(PlannerInfo *root, RelOptInfo *rel,
						   CustomPath *best_path, List *tlist,
						   List *clauses, List *custom_plans);
static Node *create_gnn_scan_state(CustomScan *cscan);
static void begin_gnn_scan(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_gnn_scan(CustomScanState *node);
static void end_gnn_scan(CustomScanState *node);
static void rescan_gnn_scan(CustomScanState *node);
static void explain_gnn_scan(CustomScanState *node, List *ancestors,
							 ExplainState *es);
static Size estimate_dsm_gnn_scan(CustomScanState *node, ParallelContext *pcxt);
static void initialize_dsm_gnn_scan(CustomScanState *node, ParallelContext *pcxt,
									void *coordinate);
static void reinitialize_dsm_gnn_scan(CustomScanState *node, ParallelContext *pcxt,
									  void *coordinate);
static void initialize_worker_gnn_scan(CustomScanState *node, shm_toc *toc,
									   void *coordinate);
static void compute_parallel(GnnScanState *s, GnnModel *model,
							 GnnGraphSource *src, const GnnHeteroSource *hs);
static bool next_row(GnnScanState *s, int64 *row);

static const CustomPathMethods gnn_path_methods = {
	.CustomName = "GnnScan",
	.PlanCustomPath = plan_gnn_path,
};

static const CustomScanMethods gnn_scan_methods = {
	.CustomName = "GnnScan",
	.CreateCustomScanState = create_gnn_scan_state,
};

static const CustomExecMethods gnn_exec_methods = {
	.CustomName = "GnnScan",
	.BeginCustomScan = begin_gnn_scan,
	.ExecCustomScan = exec_gnn_scan,
	.EndCustomScan = end_gnn_scan,
	.ReScanCustomScan = rescan_gnn_scan,
	.EstimateDSMCustomScan = estimate_dsm_gnn_scan,
	.InitializeDSMCustomScan = initialize_dsm_gnn_scan,
	.ReInitializeDSMCustomScan = reinitialize_dsm_gnn_scan,
	.InitializeWorkerCustomScan = initialize_worker_gnn_scan,
	.ExplainCustomScan = explain_gnn_scan,
};

/* ---------- planning ---------- */

/* A constant text argument, or NULL */
static char *
const_text(Node *arg)
{
	Const	   *c = (Const *) arg;

	if (!IsA(arg, Const) || c->constisnull || c->consttype != TEXTOID)
		return NULL;
	return TextDatumGetCString(c->constvalue);
}

/*
 * gnn_infer(model, graph, node_type) naming an edge and a node table
 * rather than a catalog graph, as the equivalent call of the table form:
 * it then runs in the custom scan like any other.  NULL for a catalog
 * graph or arguments unknown at planning (see catalog_call).
 */
static FuncExpr *
table_call(FuncExpr *fexpr)
{
	static const Oid types[GNN_INFER_NARGS] = {TEXTOID, REGCLASSOID, REGCLASSOID,
		NAMEOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, INT4OID, INT4ARRAYOID,
	INT8OID, NAMEOID};
	char	   *edges = const_text(lsecond(fexpr->args));
	char	   *nodes = const_text(lthird(fexpr->args));
	Datum		values[GNN_INFER_NARGS];
	bool		nulls[GNN_INFER_NARGS];
	List	   *args = list_make1(linitial(fexpr->args));
	Oid			funcid;
	char	   *nsp = get_namespace_name(get_func_namespace(fexpr->funcid));

	if (edges == NULL || nodes == NULL || gnn_graph_exists(edges) ||
		!OidIsValid(gnn_infer_table(edges, true)) || !OidIsValid(gnn_infer_table(nodes, true)))
		return NULL;
	funcid = LookupFuncName(list_make2(makeString(nsp), makeString("gnn_infer")),
							GNN_INFER_NARGS, types, true);
	if (!OidIsValid(funcid))
		return NULL;
	gnn_infer_table_args(edges, nodes, values, nulls);
	for (int i = 1; i < GNN_INFER_NARGS; i++)
		args = lappend(args, makeConst(types[i], -1, InvalidOid,
									   types[i] == NAMEOID ? NAMEDATALEN :
									   types[i] == TEXTOID || types[i] == INT4ARRAYOID ? -1 :
									   types[i] == INT8OID ? 8 : 4,
									   values[i], nulls[i],
									   types[i] != NAMEOID && types[i] != TEXTOID &&
									   types[i] != INT4ARRAYOID));
	return makeFuncExpr(funcid, RECORDOID, args, InvalidOid, InvalidOid,
						COERCE_EXPLICIT_CALL);
}

/* The gnn_infer() call of a function RTE, or NULL */
static FuncExpr *
gnn_infer_call(RangeTblEntry *rte)
{
	RangeTblFunction *rtf;
	FuncExpr   *fexpr;
	FmgrInfo	finfo;

	if (rte->rtekind != RTE_FUNCTION || list_length(rte->functions) != 1 ||
		rte->funcordinality)
		return NULL;
	rtf = linitial_node(RangeTblFunction, rte->functions);
	if (!IsA(rtf->funcexpr, FuncExpr))
		return NULL;
	fexpr = (FuncExpr *) rtf->funcexpr;
	if (fexpr->funcresulttype != RECORDOID)
		return NULL;
	fmgr_info(fexpr->funcid, &finfo);
	if (finfo.fn_addr == gnn_infer_named)
	{
		FuncExpr   *table = table_call(fexpr);

		return table ? table : fexpr;
	}
	if (list_length(fexpr->args) != GNN_INFER_NARGS)
		return NULL;
	return finfo.fn_addr == gnn_infer ? fexpr : NULL;
}

/* A whole-row reference needs the function's own tuple: leave those alone */
static bool
needs_whole_row(RelOptInfo *rel)
{
	ListCell   *lc;

	foreach(lc, rel->reltarget->exprs)
	{
		Node	   *expr = lfirst(lc);

		if (IsA(expr, Var) && ((Var *) expr)->varattno == InvalidAttrNumber)
			return true;
	}
	return false;
}

/*
 * gnn_infer(model, graph, node_type) on a graph of the graph catalog (or on
 * tables named by arguments unknown at planning): the scan runs it as it
 * is, over the whole graph or the targets' receptive field.
 */
static bool
catalog_call(FuncExpr *fexpr)
{
	return list_length(fexpr->args) != GNN_INFER_NARGS;
}

/* Rows of relation relid as the planner estimates them, or -1 */
static double
rel_rows(Oid relid)
{
	Relation	rel;
	double		rows = -1;

	if (!OidIsValid(relid))
		return -1;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return -1;
	if (rel->rd_rel->reltuples > 0)
		rows = rel->rd_rel->reltuples;
	else if (rel->rd_rel->relkind == RELKIND_RELATION)
	{
		BlockNumber pages;
		double		allvisfrac;
		int32	   *widths = palloc0(sizeof(int32) * (RelationGetNumberOfAttributes(rel) + 1));

		estimate_rel_size(rel, widths, &pages, &rows, &allvisfrac);
	}
	relation_close(rel, AccessShareLock);
	return rows;
}

/* Rows of the relation a constant regclass argument names, or -1 */
static double
const_rel_rows(Node *arg)
{
	Const	   *c = (Const *) arg;

	if (!IsA(arg, Const) || c->constisnull || c->consttype != REGCLASSOID)
		return -1;
	return rel_rows(DatumGetObjectId(c->constvalue));
}

/*
 * Rows of the node table a call reads: its nodes argument, or for a
 * catalog graph its node type's table; -1 when not known at planning
 */
static double
call_node_rows(FuncExpr *fexpr)
{
	Const	   *nodes = lthird(fexpr->args);

	if (catalog_call(fexpr))
	{
		char	   *graph = const_text(lsecond(fexpr->args));

		if (graph == NULL || !IsA(nodes, Const) ||
			(!nodes->constisnull && nodes->consttype != TEXTOID))
			return -1;
		return rel_rows(gnn_graph_node_table(graph, nodes->constisnull ? NULL :
											 TextDatumGetCString(nodes->constvalue)));
	}
	return const_rel_rows((Node *) nodes);
}

/*
 * Planner support of gnn_infer(): its row estimate is the node table's.
 * Being a function of this library, it also makes sure the library, and so
 * the planner hook, is loaded before the first gnn_infer() in a session is
 * planned.
 */
PG_FUNCTION_INFO_V1(gnn_infer_support);

Datum
gnn_infer_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *req;
	FuncExpr   *fexpr;
	double		rows;

	if (!IsA(rawreq, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestRows *) rawreq;
	fexpr = (FuncExpr *) req->node;
	if (!IsA(fexpr, FuncExpr) || list_length(fexpr->args) != GNN_INFER_NARGS)
		PG_RETURN_POINTER(NULL);
	rows = call_node_rows(fexpr);
	if (rows < 0)
		PG_RETURN_POINTER(NULL);
	req->rows = Max(rows, 1);
	PG_RETURN_POINTER(req);
}

/* node_id = x with x an integer: int8eq and its cross-type siblings */
static bool
is_int_equality(Oid opno)
{
	switch (get_opcode(opno))
	{
		case F_INT8EQ:
		case F_INT84EQ:
		case F_INT48EQ:
		case F_INT82EQ:
		case F_INT28EQ:
			return true;
		default:
			return false;
	}
}

static bool
is_node_id(Node *node, Index relid)
{
	return IsA(node, Var) && ((Var *) node)->varno == relid &&
		((Var *) node)->varattno == 1;
}

/* Known at execution start: no variables, nothing volatile */
static bool
is_runtime_constant(Node *node)
{
	return !contain_var_clause(node) && !contain_volatile_functions(node);
}

/*
 * A qual naming the target nodes: node_id = x or node_id = ANY(array),
 * with x or the array fixed for the scan (constants, parameters, an
 * InitPlan such as ARRAY(SELECT ...)).  Returns its value expression.
 */
static Expr *
target_qual(RelOptInfo *rel, bool *is_array)
{
	ListCell   *lc;

	foreach(lc, rel->baserestrictinfo)
	{
		Expr	   *clause = ((RestrictInfo *) lfirst(lc))->clause;

		if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2 &&
			is_int_equality(((OpExpr *) clause)->opno))
		{
			Node	   *l = linitial(((OpExpr *) clause)->args);
			Node	   *r = lsecond(((OpExpr *) clause)->args);

			*is_array = false;
			if (is_node_id(l, rel->relid) && is_runtime_constant(r))
				return (Expr *) r;
			if (is_node_id(r, rel->relid) && is_runtime_constant(l))
				return (Expr *) l;
		}
		if (IsA(clause, ScalarArrayOpExpr) &&
			((ScalarArrayOpExpr *) clause)->useOr &&
			is_int_equality(((ScalarArrayOpExpr *) clause)->opno))
		{
			Node	   *l = linitial(((ScalarArrayOpExpr *) clause)->args);
			Node	   *r = lsecond(((ScalarArrayOpExpr *) clause)->args);

			*is_array = true;
			if (is_node_id(l, rel->relid) && is_runtime_constant(r))
				return (Expr *) r;
		}
	}
	return NULL;
}

/* The call asks for the full-graph strategy (the default) */
static bool
full_strategy(FuncExpr *fexpr)
{
	Const	   *c;

	if (catalog_call(fexpr))
		return true;
	c = list_nth(fexpr->args, 8);

	return IsA(c, Const) &&
		(c->constisnull || strcmp(TextDatumGetCString(c->constvalue), "full") == 0);
}

/* Hops of message passing in a model: layers that read their neighbours */
static int
model_hops(FuncExpr *fexpr)
{
	Const	   *name = linitial(fexpr->args);
	GnnModel   *model;
	int			hops = 0;
	int			last = -1;

	if (!IsA(name, Const) || name->constisnull ||
		(model = gnn_model_lookup(TextDatumGetCString(name->constvalue), true)) == NULL)
		return 2;
	for (int i = 0; i < model->prog->nops; i++)
	{
		const GnnOp *op = &model->prog->ops[i];

		if (gnn_op_source_read(model->prog, op) >= 0 && op->layer != last)
		{
			hops++;
			last = op->layer;
		}
	}
	return hops;
}

/*
 * Number of targets x names: 1, an array constant's length, the estimated
 * rows of an ARRAY(SELECT ...) InitPlan, or a guess.
 */
static double
target_count(PlannerInfo *root, Expr *x, bool is_array)
{
	ListCell   *lc;

	if (!is_array)
		return 1;
	if (IsA(x, Const) && !((Const *) x)->constisnull)
	{
		ArrayType  *arr = DatumGetArrayTypeP(((Const *) x)->constvalue);

		return ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	}
	if (IsA(x, Param) && ((Param *) x)->paramkind == PARAM_EXEC)
		foreach(lc, root->init_plans)
		{
			SubPlan    *sp = lfirst(lc);

			if (list_member_int(sp->setParam, ((Param *) x)->paramid))
				return planner_subplan_get_plan(root, sp)->plan_rows;
		}
	return 10;
}

/* Estimated receptive field of n targets: n * (1 + mean degree) ^ hops */
static double
field_size(double n, double nodes, double degree, int hops)
{
	double		field = n * pow(1 + degree, hops);

	return nodes > 0 ? Min(field, nodes) : field;
}

/* Prune when the field is small next to the graph (or when told to) */
static bool
prune_pays(double field, double nodes)
{
	if (gnn_pruning == GNN_PRUNING_ON)
		return true;
	if (gnn_pruning == GNN_PRUNING_OFF)
		return false;
	return nodes < 0 || field < 0.2 * nodes;
}


/* Whether a gnn_infer node table argument is a distributed table */
static bool
distributed_arg(Node *arg)
{
	Const	   *c = (Const *) arg;

	return IsA(c, Const) && !c->constisnull &&
		gnn_dist_relation(DatumGetObjectId(c->constvalue));
}

/*
 * A parallel-aware copy of the full-graph path for Gather: the participants
 * share the graph and split every layer's nodes.
 */
static void
add_parallel_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *serial)
{
	CustomPath *path;
	int			workers = max_parallel_workers_per_gather;
	double		share;

	if (!rel->consider_parallel || workers <= 0 || rel->lateral_relids)
		return;
	path = makeNode(CustomPath);
	memcpy(path, serial, sizeof(CustomPath));
	path->path.param_info = NULL;
	path->path.parallel_aware = true;
	path->path.parallel_safe = true;
	path->path.parallel_workers = workers;
	/* reading stays serial, computing is shared; rows come from all */
	share = 1.0 / (workers + (parallel_leader_participation ? 1 : 0));
	path->path.startup_cost = serial->path.startup_cost * (0.5 + 0.5 * share);
	path->path.rows = clamp_row_est(rel->rows * share);
	path->path.total_cost = path->path.startup_cost + cpu_tuple_cost * path->path.rows;
	add_partial_path(rel, &path->path);
}

static void
gnn_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
					 RangeTblEntry *rte)
{
	FuncExpr   *fexpr;
	CustomPath *path;
	double		nodes,
				edges;
	Expr	   *target;
	bool		is_array;

	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	if (!gnn_enable_scan || rel->reloptkind != RELOPT_BASEREL ||
		(fexpr = gnn_infer_call(rte)) == NULL || needs_whole_row(rel))
		return;

	/* rows: one per node, then the quals' selectivity */
	nodes = call_node_rows(fexpr);
	edges = catalog_call(fexpr) ? -1 : const_rel_rows(lsecond(fexpr->args));
	if (nodes >= 0)
		rel->rows = clamp_row_est(nodes *
								  clauselist_selectivity(root, rel->baserestrictinfo,
														 0, JOIN_INNER, NULL));

	path = makeNode(CustomPath);
	path->path.pathtype = T_CustomScan;
	path->path.parent = rel;
	path->path.pathtarget = rel->reltarget;
	path->path.param_info = get_baserel_parampathinfo(root, rel,
													  rel->lateral_relids);
	path->path.rows = rel->rows;
	/* all the work is done before the first row */
	path->path.startup_cost = cpu_tuple_cost * (Max(nodes, 1000) + Max(edges, 0)) * 2;
	path->methods = &gnn_path_methods;

	/*
	 * Selected nodes: the scan may prune to their receptive field.  The
	 * plan's choice uses the estimated number of targets; execution decides
	 * again with the actual number.
	 */
	target = target_qual(rel, &is_array);
	if (target && gnn_pruning != GNN_PRUNING_OFF && full_strategy(fexpr))
	{
		double		degree = (nodes > 0 && edges >= 0) ? edges / nodes : 10;
		int			hops = model_hops(fexpr);
		double		field = field_size(target_count(root, target, is_array),
									   nodes, degree, hops);

		/*
		 * A catalog graph is read whole either way, and the field is never
		 * more work than the graph: always prune (as if of unknown size)
		 */
		if (catalog_call(fexpr))
			nodes = -1;
		path->custom_private = list_make5(makeInteger(is_array),
										  makeFloat(psprintf("%.0f", field)),
										  makeFloat(psprintf("%.17g", nodes)),
										  makeFloat(psprintf("%.17g", degree)),
										  makeInteger(hops));
		path->custom_private = lappend(path->custom_private, target);
		if (prune_pays(field, nodes))
			path->path.startup_cost = cpu_tuple_cost * field * 20;
	}
	path->path.total_cost = path->path.startup_cost + cpu_tuple_cost * rel->rows;

	/* the function scan would run the same engine, only slower to return */
	rel->pathlist = NIL;
	rel->partial_pathlist = NIL;
	add_path(rel, &path->path);
	/* a distributed graph is computed by its shards, not by workers here */
	if (path->custom_private == NIL && full_strategy(fexpr) &&
		(catalog_call(fexpr) || !distributed_arg(lthird(fexpr->args))))
		add_parallel_path(root, rel, path);
}

/* The scan's own output: (node_id bigint, embedding real[]) of rel */
static List *
scan_tlist(Index relid)
{
	return list_make2(makeTargetEntry((Expr *) makeVar(relid, 1, INT8OID, -1,
													   InvalidOid, 0),
									  1, "node_id", false),
					  makeTargetEntry((Expr *) makeVar(relid, 2, FLOAT4ARRAYOID,
													   -1, InvalidOid, 0),
									  2, "embedding", false));
}

static Plan *
plan_gnn_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
			  List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);
	FuncExpr   *fexpr = gnn_infer_call(planner_rt_fetch(rel->relid, root));

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = extract_actual_clauses(clauses, false);
	cscan->scan.scanrelid = 0;
	cscan->custom_scan_tlist = scan_tlist(rel->relid);
	cscan->custom_exprs = copyObject(fexpr->args);
	if (best_path->custom_private)
	{
		/* the targets' expression follows the arguments */
		cscan->custom_private = list_copy_head(best_path->custom_private, 5);
		cscan->custom_exprs = lappend(cscan->custom_exprs,
									  copyObject(llast(best_path->custom_private)));
	}
	cscan->methods = &gnn_scan_methods;
	return &cscan->scan.plan;
}

/* ---------- execution ---------- */

static Node *
create_gnn_scan_state(CustomScan *cscan)
{
	GnnScanState *s = palloc0(sizeof(GnnScanState));

	NodeSetTag(s, T_CustomScanState);
	s->css.methods = &gnn_exec_methods;
	return (Node *) s;
}

/* "graph" or "graph, node type t" for EXPLAIN, when both are constants */
static char *
describe_graph(Const *graph, Const *node_type)
{
	if (!IsA(graph, Const) || graph->constisnull || !IsA(node_type, Const))
		return NULL;
	if (node_type->constisnull)
		return TextDatumGetCString(graph->constvalue);
	return psprintf("%s, node type %s", TextDatumGetCString(graph->constvalue),
					TextDatumGetCString(node_type->constvalue));
}

static void
begin_gnn_scan(CustomScanState *node, EState *estate, int eflags)
{
	GnnScanState *s = (GnnScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Const	   *model = linitial(cscan->custom_exprs);
	Const	   *strategy;
	Const	   *nodes;

	s->args = ExecInitExprList(cscan->custom_exprs, &node->ss.ps);
	if (IsA(model, Const) && !model->constisnull)
		s->model_name = TextDatumGetCString(model->constvalue);
	if (list_length(cscan->custom_exprs) - (cscan->custom_private ? 1 : 0) !=
		GNN_INFER_NARGS)
	{
		s->catalog = true;
		s->graph = describe_graph(lsecond(cscan->custom_exprs),
								  lthird(cscan->custom_exprs));
	}
	else
	{
		strategy = list_nth(cscan->custom_exprs, 8);
		nodes = lthird(cscan->custom_exprs);
		if (IsA(nodes, Const) && !nodes->constisnull)
			s->shards = gnn_dist_describe(DatumGetObjectId(nodes->constvalue));
		if (IsA(strategy, Const) && !strategy->constisnull &&
			strcmp(TextDatumGetCString(strategy->constvalue), "full") != 0)
			s->strategy = TextDatumGetCString(strategy->constvalue);
	}
	if (cscan->custom_private)
	{
		s->targets = true;
		s->targets_array = intVal(linitial(cscan->custom_private));
		s->field_estimate = floatVal(lsecond(cscan->custom_private));
		s->nodes = floatVal(lthird(cscan->custom_private));
		s->degree = floatVal(lfourth(cscan->custom_private));
		s->hops = intVal(list_nth(cscan->custom_private, 4));
	}
}

static void
free_result(GnnScanState *s)
{
	if (s->cxt)
		MemoryContextDelete(s->cxt);
	s->cxt = NULL;
	s->computed = false;
	s->next = 0;
}

/* The target node ids: the qual's value, NULLs left out */
static int64 *
target_ids(GnnScanState *s, Datum value, bool isnull, int *n)
{
	CustomScan *cscan = (CustomScan *) s->css.ss.ps.plan;
	Oid			type = exprType(llast(cscan->custom_exprs));
	int64	   *ids;

	*n = 0;
	if (isnull)
		return NULL;
	if (!s->targets_array)
	{
		ids = palloc(sizeof(int64));
		ids[(*n)++] = gnn_int_datum(value, type);
	}
	else
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);
		Oid			elemtype = ARR_ELEMTYPE(arr);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, elemtype, typlen, typbyval, typalign,
						  &elems, &nulls, &nelems);
		ids = palloc(sizeof(int64) * Max(nelems, 1));
		for (int i = 0; i < nelems; i++)
			if (!nulls[i])
				ids[(*n)++] = gnn_int_datum(elems[i], elemtype);
	}
	return ids;
}

/* Evaluate the arguments and run the inference */
static void
compute(GnnScanState *s)
{
	ExprContext *econtext = s->css.ss.ps.ps_ExprContext;
	Datum		values[GNN_INFER_NARGS + 1];
	bool		nulls[GNN_INFER_NARGS + 1];
	GnnGraphSource src;
	GnnInferOptions opts;
	GnnModel   *model;
	MemoryContext old;
	int			i = 0;
	ListCell   *lc;

	free_result(s);
	s->cxt = AllocSetContextCreate(s->css.ss.ps.state->es_query_cxt,
								   "GnnScan inference", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(s->cxt);
	foreach(lc, s->args)
	{
		values[i] = ExecEvalExpr((ExprState *) lfirst(lc), econtext, &nulls[i]);
		i++;
	}
	if (s->catalog && s->shared)
	{
		Datum		tvalues[GNN_INFER_NARGS];
		bool		tnulls[GNN_INFER_NARGS];
		GnnHeteroSource hs;

		if (gnn_infer_named_source(values, nulls, &hs, &model, tvalues, tnulls))
			compute_parallel(s, model, NULL, &hs);
		else
		{
			model = gnn_infer_args(tvalues, tnulls, &src, &opts);
			compute_parallel(s, model, &src, NULL);
		}
		s->model_name = pstrdup(model->name);
		MemoryContextSwitchTo(old);
		s->computed = true;
		return;
	}
	if (s->catalog)
	{
		int			n = 0;
		int64	   *ids = NULL;

		if (s->targets && (ids = target_ids(s, values[3], nulls[3], &n)) == NULL)
			ids = palloc(sizeof(int64));	/* NULL names no node */

		/* the graph is read whole: the receptive field is always cheaper */
		model = gnn_infer_named_run(values, nulls, ids, n, &s->res);
		s->model_name = pstrdup(model->name);
		MemoryContextSwitchTo(old);
		s->computed = true;
		return;
	}
	model = gnn_infer_args(values, nulls, &src, &opts);
	s->model_name = pstrdup(model->name);
	if (s->shared)
	{
		compute_parallel(s, model, &src, NULL);
		MemoryContextSwitchTo(old);
		s->computed = true;
		return;
	}
	if (s->targets && opts.strategy == GNN_STRATEGY_FULL)
	{
		int			n;
		int64	   *ids = target_ids(s, values[GNN_INFER_NARGS],
									 nulls[GNN_INFER_NARGS], &n);

		/* decide again, now that the number of targets is known */
		if (prune_pays(field_size(n, s->nodes, s->degree, s->hops), s->nodes))
		{
			gnn_infer_pruned(model, &src, ids, n, &s->res);
			MemoryContextSwitchTo(old);
			s->computed = true;
			return;
		}
	}
	gnn_infer_run(model, &src, &opts, &s->res);
	MemoryContextSwitchTo(old);
	s->computed = true;
}

static TupleTableSlot *
gnn_scan_next(ScanState *ss)
{
	GnnScanState *s = (GnnScanState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;
	MemoryContext old;

	int64		row;

	if (!s->computed)
		compute(s);
	ExecClearTuple(slot);
	if (!next_row(s, &row))
		return slot;
	old = MemoryContextSwitchTo(ss->ps.ps_ExprContext->ecxt_per_tuple_memory);
	gnn_infer_row(&s->res, row, slot->tts_values);
	MemoryContextSwitchTo(old);
	slot->tts_isnull[0] = false;
	slot->tts_isnull[1] = false;
	return ExecStoreVirtualTuple(slot);
}

static bool
gnn_scan_recheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
exec_gnn_scan(CustomScanState *node)
{
	return ExecScan(&node->ss, gnn_scan_next, gnn_scan_recheck);
}

static void
end_gnn_scan(CustomScanState *node)
{
	free_result((GnnScanState *) node);
}

/* Same parameters: replay the rows; changed ones: infer again */
static void
rescan_gnn_scan(CustomScanState *node)
{
	GnnScanState *s = (GnnScanState *) node;

	if (node->ss.ps.chgParam != NULL)
		free_result(s);
	s->next = 0;
	ExecScanReScan(&node->ss);
}

/* ---------- parallel execution ---------- */

/*
 * The graph source when the table and column arguments are constants and
 * the tables can be scanned in parallel (plain tables, no row-level
 * security): then every participant reads a share of them.
 */
static bool
parallel_source(GnnScanState *s, GnnGraphSource *src)
{
	CustomScan *cscan = (CustomScan *) s->css.ss.ps.plan;
	Datum		values[GNN_INFER_NARGS];
	bool		nulls[GNN_INFER_NARGS];
	int			i = 0;
	ListCell   *lc;

	foreach(lc, cscan->custom_exprs)
	{
		Const	   *arg = lfirst(lc);

		if (i == GNN_INFER_NARGS)
			break;
		if ((i >= 1 && i <= 7) || i == 12)
		{
			/* tables and columns: constants, NULL only where allowed */
			if (!IsA(arg, Const) || (arg->constisnull && i != 5 && i != 12))
				return false;
			values[i] = arg->constvalue;
			nulls[i] = arg->constisnull;
		}
		else
		{
			values[i] = (Datum) 0;
			nulls[i] = true;
		}
		i++;
	}
	gnn_infer_source(values, nulls, src);
	return gnn_graph_parallel_readable(src);
}

static Size
estimate_dsm_gnn_scan(CustomScanState *node, ParallelContext *pcxt)
{
	GnnScanState *s = (GnnScanState *) node;

	s->parallel_read = !s->catalog && parallel_source(s, &s->read_source);
	return gnn_parallel_size(s->parallel_read ? &s->read_source : NULL,
							 node->ss.ps.state->es_snapshot);
}

static void
reinitialize_dsm_gnn_scan(CustomScanState *node, ParallelContext *pcxt,
						  void *coordinate)
{
	GnnScanState *s = (GnnScanState *) node;

	gnn_parallel_init((GnnShared *) coordinate,
					  s->parallel_read ? &s->read_source : NULL,
					  node->ss.ps.state->es_snapshot, pcxt->nworkers + 1);
}

static void
initialize_dsm_gnn_scan(CustomScanState *node, ParallelContext *pcxt,
						void *coordinate)
{
	reinitialize_dsm_gnn_scan(node, pcxt, coordinate);
	((GnnScanState *) node)->shared = coordinate;
}

static void
initialize_worker_gnn_scan(CustomScanState *node, shm_toc *toc,
						   void *coordinate)
{
	((GnnScanState *) node)->shared = coordinate;
}

/* Take part in a parallel inference; its rows are claimed in chunks */
static void
compute_parallel(GnnScanState *s, GnnModel *model, GnnGraphSource *src,
				 const GnnHeteroSource *hs)
{
	s->prun.shared = s->shared;
	s->prun.area = s->css.ss.ps.state->es_query_dsa;
	if (!gnn_parallel_compute(&s->prun, model, src, hs))
		s->prun.nnodes = 0;		/* came too late: the others do the work */
	s->res.ids = s->prun.ids;
	s->res.y = s->prun.y;
	s->res.width = s->prun.width;
	s->res.rows_read = s->prun.rows_read;
	s->res.jit = s->prun.jit;
	s->res.jit_functions = model->jit ? model->jit->nfunctions : 0;
	s->res.stats = s->prun.stats;
	s->next = 0;
	s->chunk_end = 0;
}

/* The next output row of this participant, or false */
static bool
next_row(GnnScanState *s, int64 *row)
{
	if (s->shared == NULL)
	{
		if (s->next >= s->res.nnodes)
			return false;
		*row = s->next++;
		return true;
	}
	if (s->next >= s->chunk_end &&
		(s->prun.nnodes == 0 ||
		 !gnn_parallel_next_rows(&s->prun, &s->next, &s->chunk_end)))
		return false;
	*row = s->next++;
	return true;
}

/* ---------- EXPLAIN ---------- */

static void
explain_layer_times(GnnScanState *s, GnnModel *model, ExplainState *es)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int l = 0; l < s->res.stats.nlayers; l++)
		appendStringInfo(&buf, "%s%s %.3f ms", l ? ", " : "",
						 model->prog->layers[l].type, s->res.stats.layer_ms[l]);
	ExplainPropertyText("Layer Times", buf.data, es);
}

/* Per shard: its part and time; per layer: the halo bytes exchanged */
static void
explain_shards(const GnnDist *d, GnnModel *model, ExplainState *es)
{
	StringInfoData buf;

	for (int r = 0; r < d->nshards; r++)
	{
		const GnnDistShard *sh = &d->shards[r];

		initStringInfo(&buf);
		appendStringInfo(&buf, INT64_FORMAT " nodes, " INT64_FORMAT " halo, "
						 INT64_FORMAT " edges, peak %lld kB%s%s",
						 sh->nodes_count, sh->halo, sh->edges_count,
						 (long long) ((sh->peak_bytes + 1023) / 1024),
						 sh->jit ? ", compiled code" : "",
						 sh->model_sent ? ", model sent" : "");
		if (es->timing)
			appendStringInfo(&buf, ", %.3f ms on the shard (layers %.3f ms)", sh->busy_ms,
							 sh->compute_ms);
		ExplainPropertyText(psprintf("Shard %s", sh->server), buf.data, es);
	}
	initStringInfo(&buf);
	for (int l = 0; l < d->nlayers; l++)
		if (d->layer_bytes[l] > 0)
			appendStringInfo(&buf, "%s%d %s %lld kB", buf.len ? ", " : "", l + 1,
							 model ? model->prog->layers[l].type : "",
							 (long long) ((d->layer_bytes[l] + 1023) / 1024));
	ExplainPropertyText("Halo Exchanged", buf.len ? buf.data : "none", es);
}

static void
explain_gnn_scan(CustomScanState *node, List *ancestors, ExplainState *es)
{
	GnnScanState *s = (GnnScanState *) node;
	GnnModel   *model = s->model_name ? gnn_model_lookup(s->model_name, true) : NULL;

	if (s->model_name)
		ExplainPropertyText("Model", s->model_name, es);
	if (model)
		ExplainPropertyText("Layers", model->summary, es);
	if (s->graph)
		ExplainPropertyText("Graph", s->graph, es);
	ExplainPropertyText("Strategy", s->strategy ? s->strategy :
						s->targets && prune_pays(s->field_estimate, s->nodes) ?
						"selected nodes" : "full graph", es);
	if (s->targets && es->costs)
		ExplainPropertyFloat("Estimated Field", "nodes", s->field_estimate, 0, es);
	if (s->shards)
		ExplainPropertyText("Distributed", s->shards, es);
	ExplainPropertyText("JIT", gnn_jit_enabled ? "on" : "off", es);
	if (!es->analyze || !s->computed)
		return;
	if (s->res.dist)
		explain_shards(s->res.dist, model, es);

	if (s->targets)
		ExplainPropertyText("Strategy Used", s->res.pruned ?
							"selected nodes" : "full graph", es);
	ExplainPropertyInteger("Rows Read", NULL, s->res.rows_read, es);
	if (s->shared && s->prun.participants > 0)
		ExplainPropertyInteger("Participants", NULL, s->prun.participants, es);
	if (s->res.batches > 0)
	{
		ExplainPropertyInteger("Batches", NULL, s->res.batches, es);
		ExplainPropertyInteger("Subgraph Nodes", NULL, s->res.field_nodes, es);
	}
	if (s->res.pruned)
		ExplainPropertyInteger("Receptive Field", "nodes", s->res.field_nodes, es);
	ExplainPropertyInteger(s->res.dist ? "Peak Memory per Shard" : "Peak Memory", "kB",
						   (s->res.stats.peak_bytes + 1023) / 1024, es);
	if (s->res.dist)
	{
		/* compiled code ran on the shards (their lines say which), not here */
		if (model && es->timing)
			explain_layer_times(s, model, es);
		return;
	}
	ExplainPropertyText("Compiled Code", !s->res.jit ? "not used" :
						s->res.jit_compiled ? "compiled" : "cached", es);
	if (s->res.jit)
		ExplainPropertyInteger("JIT Functions", NULL, s->res.jit_functions, es);
	if (s->res.jit_compiled && es->timing)
		ExplainPropertyFloat("JIT Time", "ms", s->res.jit_ms, 3, es);
	if (model && es->timing)
		explain_layer_times(s, model, es);
}

/* ---------- set-up ---------- */

void
gnn_scan_init(void)
{
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = gnn_set_rel_pathlist;
	RegisterCustomScanMethods(&gnn_scan_methods);
}
