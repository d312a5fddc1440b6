/*-------------------------------------------------------------------------
 *
 * graphdef.c
 *	  The graph catalog: named graphs of typed node and edge tables.
 *
 * gnn_create_graph(name, nodes, edges) records, per node type, a table
 * with its id and feature columns, and per edge type ("src__rel__dst") a
 * table with its src and dst columns and optional weight, relation and
 * edge-feature columns.  Table names are stored schema-qualified, so a
 * later search_path does not change what a graph reads.  Like models,
 * graphs are owned: only the owner replaces or drops one; reading the
 * tables is checked against the caller's own privileges at every
 * inference.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "graphdef.h"
#include "json.h"
#include "model.h"

PG_FUNCTION_INFO_V1(gnn_create_graph);
PG_FUNCTION_INFO_V1(gnn_drop_graph);

#define GRAPH_CATALOG "gnn_graph_catalog"

static void
graph_error(const char *graph, const char *msg, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("graph \"%s\": %s", graph, psprintf(msg, arg))));
}

static GnnJson *
parse_jsonb(Jsonb *jb)
{
	char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	GnnJson    *json;
	GnnError	err;

	if (!gnn_json_parse(text, strlen(text), &json, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.message)));
	return json;
}

/*
 * A string member, its default, or NULL when JSON null (which names no
 * column: allowed for the optional columns, those without a default)
 */
static const char *
member(const char *graph, const GnnJson *obj, const char *key, const char *dflt)
{
	const GnnJson *v = gnn_json_get(obj, key);

	if (v == NULL)
		return dflt;
	if (v->kind == GNN_JSON_NULL && dflt == NULL)
		return NULL;
	if (v->kind != GNN_JSON_STRING || v->string[0] == '\0')
		graph_error(graph, "\"%s\" must be a column or table name", key);
	return v->string;
}

static void
check_keys(const char *graph, const GnnJson *obj, const char *const *allowed)
{
	for (int i = 0; i < obj->count; i++)
	{
		bool		ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok |= (strcmp(obj->keys[i], *a) == 0);
		if (!ok)
			graph_error(graph, "unknown key \"%s\"", obj->keys[i]);
	}
}

/* The relation a stored or given table name means */
static Oid
table_oid(const char *graph, const char *name)
{
	List	   *names = stringToQualifiedNameList(name);
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("graph \"%s\": relation \"%s\" does not exist", graph, name)));
	return relid;
}

/* "schema"."table" of relid */
static char *
qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* JSON text of a string, or null */
static const char *
json_string(const char *s)
{
	StringInfoData buf;

	if (s == NULL)
		return "null";
	initStringInfo(&buf);
	escape_json(&buf, s);
	return buf.data;
}

/*
 * Check a node or edge type object and return a normalised copy as JSON
 * text: the table schema-qualified, every column named.
 */
static char *
normalise_node_type(const char *graph, const char *type, const GnnJson *obj)
{
	static const char *const keys[] = {"table", "id", "features", NULL};
	const char *table;

	if (obj->kind != GNN_JSON_OBJECT)
		graph_error(graph, "node type \"%s\" must be an object", type);
	check_keys(graph, obj, keys);
	if (strstr(type, "__") != NULL || type[0] == '\0')
		graph_error(graph, "node type names must be non-empty and without \"__\": \"%s\"", type);
	if ((table = member(graph, obj, "table", NULL)) == NULL)
		graph_error(graph, "node type \"%s\" needs a \"table\"", type);
	return psprintf("{\"table\": %s, \"id\": %s, \"features\": %s}",
					json_string(qualified(table_oid(graph, table))),
					json_string(member(graph, obj, "id", "id")),
					json_string(member(graph, obj, "features", "features")));
}

static char *
normalise_edge_type(const char *graph, const char *type, const GnnJson *obj,
					const GnnJson *nodes)
{
	static const char *const keys[] = {"table", "src", "dst", "weight", "relation",
	"edge_attr", NULL};
	const char *table;
	char	   *copy = pstrdup(type);
	char	   *rel = strstr(copy, "__");
	char	   *dst = rel ? strstr(rel + 2, "__") : NULL;

	if (obj->kind != GNN_JSON_OBJECT)
		graph_error(graph, "edge type \"%s\" must be an object", type);
	check_keys(graph, obj, keys);
	if (rel == NULL || dst == NULL || strstr(dst + 2, "__") != NULL)
		graph_error(graph, "edge types are named \"source__relation__target\": \"%s\"", type);
	*rel = '\0';
	*dst = '\0';
	if (gnn_json_get(nodes, copy) == NULL || gnn_json_get(nodes, dst + 2) == NULL)
		graph_error(graph, "edge type \"%s\" names a node type the graph does not have", type);
	if ((table = member(graph, obj, "table", NULL)) == NULL)
		graph_error(graph, "edge type \"%s\" needs a \"table\"", type);
	if (member(graph, obj, "weight", NULL) && member(graph, obj, "relation", NULL))
		graph_error(graph, "edge type \"%s\" has a weight or a relation column, not both", type);
	return psprintf("{\"table\": %s, \"src\": %s, \"dst\": %s, \"weight\": %s, "
					"\"relation\": %s, \"edge_attr\": %s}",
					json_string(qualified(table_oid(graph, table))),
					json_string(member(graph, obj, "src", "src")),
					json_string(member(graph, obj, "dst", "dst")),
					json_string(member(graph, obj, "weight", NULL)),
					json_string(member(graph, obj, "relation", NULL)),
					json_string(member(graph, obj, "edge_attr", NULL)));
}

static char *
normalise(const char *graph, const GnnJson *nodes, const GnnJson *edges,
		  char **edges_out)
{
	StringInfoData n,
				e;

	if (nodes->kind != GNN_JSON_OBJECT || nodes->count < 1 ||
		nodes->count > GNN_MAX_NODE_TYPES)
		graph_error(graph, "\"nodes\" must be an object of 1 to 32 node types%s", "");
	if (edges->kind != GNN_JSON_OBJECT || edges->count < 1 ||
		edges->count > GNN_MAX_EDGE_TYPES)
		graph_error(graph, "\"edges\" must be an object of 1 to 64 edge types%s", "");
	initStringInfo(&n);
	initStringInfo(&e);
	appendStringInfoChar(&n, '{');
	for (int i = 0; i < nodes->count; i++)
		appendStringInfo(&n, "%s%s: %s", i ? ", " : "", json_string(nodes->keys[i]),
						 normalise_node_type(graph, nodes->keys[i], nodes->items[i]));
	appendStringInfoChar(&n, '}');
	appendStringInfoChar(&e, '{');
	for (int i = 0; i < edges->count; i++)
		appendStringInfo(&e, "%s%s: %s", i ? ", " : "", json_string(edges->keys[i]),
						 normalise_edge_type(graph, edges->keys[i], edges->items[i], nodes));
	appendStringInfoChar(&e, '}');
	*edges_out = e.data;
	return n.data;
}

/*
 * gnn_create_graph(name text, nodes jsonb, edges jsonb): define or (for
 * its owner) replace a graph.
 */
Datum
gnn_create_graph(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	GnnJson    *nodes = parse_jsonb(PG_GETARG_JSONB_P(1));
	GnnJson    *edges = parse_jsonb(PG_GETARG_JSONB_P(2));
	char	   *edges_text;
	char	   *nodes_text;
	GnnCatalogAccess ca;
	Oid			types[4] = {TEXTOID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[4];

	if (name[0] == '\0' || strlen(name) > NAMEDATALEN - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("graph name must have 1 to %d bytes", NAMEDATALEN - 1)));
	nodes_text = normalise(name, nodes, edges, &edges_text);
	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = CStringGetTextDatum(nodes_text);
	values[3] = CStringGetTextDatum(edges_text);

	gnn_catalog_begin(&ca, GRAPH_CATALOG);
	if (gnn_catalog_exec(&ca, "SELECT owner FROM %s WHERE name = $1 FOR UPDATE",
						 1, types, values, false) == 1)
	{
		bool		isnull;
		Oid			owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 1, &isnull));

		if (!has_privs_of_role(ca.save_userid, owner))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of graph \"%s\"", name)));
		gnn_catalog_exec(&ca, "UPDATE %s SET nodes = $3::jsonb, edges = $4::jsonb, "
						 "created = now() WHERE name = $1", 4, types, values, false);
	}
	else
		gnn_catalog_exec(&ca, "INSERT INTO %s (name, owner, nodes, edges) "
						 "VALUES ($1, $2::regrole, $3::jsonb, $4::jsonb)",
						 4, types, values, false);
	gnn_catalog_end(&ca);
	PG_RETURN_VOID();
}

/* gnn_drop_graph(name text, if_exists boolean) */
Datum
gnn_drop_graph(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		if_exists = PG_GETARG_BOOL(1);
	GnnCatalogAccess ca;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {PG_GETARG_DATUM(0)};
	bool		isnull;

	gnn_catalog_begin(&ca, GRAPH_CATALOG);
	if (gnn_catalog_exec(&ca, "SELECT owner FROM %s WHERE name = $1 FOR UPDATE",
						 1, types, values, false) != 1)
	{
		gnn_catalog_end(&ca);
		if (if_exists)
			PG_RETURN_VOID();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("graph \"%s\" does not exist", name)));
	}
	if (!has_privs_of_role(ca.save_userid,
						   DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of graph \"%s\"", name)));
	gnn_catalog_exec(&ca, "DELETE FROM %s WHERE name = $1", 1, types, values, false);
	gnn_catalog_end(&ca);
	PG_RETURN_VOID();
}

/* ---------- binding a graph to a model ---------- */

/* The stored definition of graph name, or false */
static bool
fetch_graph(const char *name, GnnJson **nodes, GnnJson **edges)
{
	GnnCatalogAccess ca;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		found;

	gnn_catalog_begin(&ca, GRAPH_CATALOG);
	found = gnn_catalog_exec(&ca, "SELECT nodes::text, edges::text FROM %s WHERE name = $1",
							 1, types, values, true) == 1;
	if (found)
	{
		char	   *n = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *e = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		GnnError	err;
		MemoryContext spi = MemoryContextSwitchTo(ca.caller_cxt);

		if (!gnn_json_parse(n, strlen(n), nodes, &err) ||
			!gnn_json_parse(e, strlen(e), edges, &err))
			elog(ERROR, "graph catalog entry \"%s\" is not valid JSON", name);
		MemoryContextSwitchTo(spi);
	}
	gnn_catalog_end(&ca);
	return found;
}

static const char *
string_member(const GnnJson *obj, const char *key)
{
	const GnnJson *v = gnn_json_get(obj, key);

	return (v && v->kind == GNN_JSON_STRING) ? pstrdup(v->string) : NULL;
}

/* A column every table of its kind has: a stored entry must name it */
static const char *
required_member(const char *graph, const GnnJson *obj, const char *key)
{
	const char *s = string_member(obj, key);

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("graph \"%s\" names no \"%s\" column", graph, key),
				 errhint("Define the graph again with gnn_create_graph().")));
	return s;
}

/* Model node type t's table in the graph (model types bind by name) */
static void
bind_node_type(const char *graph, const GnnJson *def, const GnnProgram *prog,
			   int t, GnnNodeSource *ns)
{
	int			in = prog->inputs[t];

	ns->rel = table_oid(graph, required_member(graph, def, "table"));
	ns->id_col = required_member(graph, def, "id");
	ns->features_col = required_member(graph, def, "features");
	ns->width = (in >= 0) ? prog->regs[in].width : 0;
}

static void
bind_edge_type(const char *graph, const GnnJson *def, const GnnProgram *prog,
			   int r, GnnEdgeSource *es)
{
	const char *weight = string_member(def, "weight");
	const char *relation = string_member(def, "relation");

	es->rel = table_oid(graph, required_member(graph, def, "table"));
	es->src_col = required_member(graph, def, "src");
	es->dst_col = required_member(graph, def, "dst");
	es->weight_col = relation ? relation : weight;
	es->relation = (relation != NULL);
	es->attr_col = string_member(def, "edge_attr");
	es->attr_width = prog->attr_width[r];
	if (prog->uses_relation && !es->relation)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model needs the edges' relation ids, but graph \"%s\" names no \"relation\" column for edge type %s",
						graph, prog->etypes[r].name ? prog->etypes[r].name : "(its only one)")));
	if (es->relation && prog->uses_weight)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model reads edge weights, but graph \"%s\" names a \"relation\" column for edge type %s",
						graph, prog->etypes[r].name ? prog->etypes[r].name : "(its only one)")));
	if (es->attr_width > 0 && es->attr_col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model reads edge features, but graph \"%s\" names no \"edge_attr\" column for edge type %s",
						graph, prog->etypes[r].name ? prog->etypes[r].name : "(its only one)")));
}

/* The graph's type a model type binds to: by name, or the only one */
static const GnnJson *
graph_type(const char *graph, const GnnJson *defs, const char *name,
		   const char *what)
{
	const GnnJson *def = name ? gnn_json_get(defs, name) : NULL;

	if (name == NULL && defs->count == 1)
		def = defs->items[0];
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 name ? errmsg("graph \"%s\" has no %s type \"%s\"", graph, what, name) :
				 errmsg("graph \"%s\" has several %s types; a model without \"metadata\" runs on a graph with one", graph, what)));
	return def;
}

/*
 * The tables of graph "name" as the model's node and edge types, or false
 * when no such graph exists.  node_type selects the output (NULL: the
 * model's only output type).
 */
bool
gnn_graph_source(const char *name, const GnnProgram *prog,
				 const char *node_type, GnnHeteroSource *hs)
{
	GnnJson    *nodes,
			   *edges;
	bool		hetero = gnn_program_hetero(prog);
	int			outputs = 0;

	if (!fetch_graph(name, &nodes, &edges))
		return false;
	memset(hs, 0, sizeof(GnnHeteroSource));
	hs->graph = pstrdup(name);
	hs->ntypes = prog->ntypes;
	hs->netypes = prog->netypes;
	memcpy(hs->etypes, prog->etypes, sizeof(GnnEdgeType) * prog->netypes);
	for (int t = 0; t < prog->ntypes; t++)
		bind_node_type(name, graph_type(name, nodes, prog->type_names[t], "node"),
					   prog, t, &hs->nodes[t]);
	for (int r = 0; r < prog->netypes; r++)
		bind_edge_type(name, graph_type(name, edges, prog->etypes[r].name, "edge"),
					   prog, r, &hs->edges[r]);

	hs->out_type = -1;
	for (int t = 0; t < prog->ntypes; t++)
		if (prog->outputs[t] >= 0)
		{
			outputs++;
			if (node_type == NULL || (hetero && strcmp(node_type, prog->type_names[t]) == 0))
				hs->out_type = t;
		}
	if (!hetero && node_type)
		(void) graph_type(name, nodes, node_type, "node");
	if (node_type == NULL && outputs > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model has outputs for several node types"),
				 errhint("Name one: gnn_infer(model, graph, node_type => '...').")));
	if (hs->out_type < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model has no output for node type \"%s\"", node_type)));
	return true;
}

/*
 * The node table of node_type in graph name (of its only node type when
 * node_type is NULL), or InvalidOid: for the planner's row estimate.
 */
Oid
gnn_graph_node_table(const char *name, const char *node_type)
{
	GnnJson    *nodes,
			   *edges;
	const GnnJson *def;
	const char *table;

	if (!fetch_graph(name, &nodes, &edges))
		return InvalidOid;
	def = node_type ? gnn_json_get(nodes, node_type) :
		nodes->count == 1 ? nodes->items[0] : NULL;
	if (def == NULL || (table = string_member(def, "table")) == NULL)
		return InvalidOid;
	return RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
							AccessShareLock, true);
}

/* Whether the graph catalog has a graph called name */
bool
gnn_graph_exists(const char *name)
{
	GnnJson    *nodes,
			   *edges;

	return fetch_graph(name, &nodes, &edges);
}
