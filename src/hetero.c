/*-------------------------------------------------------------------------
 *
 * hetero.c
 *	  Lowering models over heterogeneous graphs: to_hetero-converted
 *	  models, HeteroConv and HGTConv.
 *
 * The spec names the node and edge types ("metadata", PyG's
 * HeteroData.metadata()).  Each node type has its own running value; a
 * message-passing layer runs once per edge type, from the source type's
 * value to the target type's, and the results of the edge types ending at
 * one node type are grouped (sum, mean, max, min) as PyG's to_hetero and
 * HeteroConv do.  A node type that is the target of no edge type of a
 * message-passing layer has no value after it, as in PyG.  Dense layers
 * run per node type.  Everything is emitted as operations of the one
 * module program (program.h), so the executor and the JIT need nothing of
 * their own for heterogeneous models.
 *
 *-------------------------------------------------------------------------
 */
#include "lowerctx.h"

#include <math.h>

/* The per-type state of a heterogeneous model being lowered */
typedef struct HeteroCtx
{
	LowerCtx   *ctx;
	GnnProgram *prog;
	int			cur[GNN_MAX_NODE_TYPES];	/* running value, -1: none */
	int			width[GNN_MAX_NODE_TYPES];	/* -1: the unknown input width */
	bool		to_hetero;
	GnnAggr		aggr;			/* to_hetero's grouping */
	char		where[64];		/* "layers[i]" */
} HeteroCtx;

static bool
hetero_error(HeteroCtx *hc, const char *fmt, const char *a, const char *b)
{
	strlcpy(hc->ctx->where, hc->where, sizeof(hc->ctx->where));
	return lw_spec_error(hc->ctx, fmt, a, b);
}

/* ---------- metadata ---------- */

static int
find_type(const GnnProgram *prog, const char *name)
{
	for (int t = 0; t < prog->ntypes; t++)
		if (strcmp(prog->type_names[t], name) == 0)
			return t;
	return -1;
}

static int
find_etype(const GnnProgram *prog, const char *name)
{
	for (int r = 0; r < prog->netypes; r++)
		if (strcmp(prog->etypes[r].name, name) == 0)
			return r;
	return -1;
}

static bool
read_node_types(HeteroCtx *hc, const GnnJson *nodes)
{
	GnnProgram *prog = hc->prog;

	if (nodes == NULL || nodes->kind != GNN_JSON_ARRAY || nodes->count < 1 ||
		nodes->count > GNN_MAX_NODE_TYPES)
		return hetero_error(hc, "\"metadata\" needs \"node_types\": an array of 1 to 32 names%s%s",
							"", "");
	prog->ntypes = nodes->count;
	for (int t = 0; t < nodes->count; t++)
	{
		const GnnJson *n = nodes->items[t];

		if (n->kind != GNN_JSON_STRING || n->string[0] == '\0' ||
			strstr(n->string, "__") != NULL)
			return hetero_error(hc, "node type names must be non-empty strings without \"__\"%s%s",
								"", "");
		prog->type_names[t] = n->string;
		if (find_type(prog, n->string) < t)
			return hetero_error(hc, "node type \"%s\" is listed twice%s", n->string, "");
	}
	return true;
}

static bool
read_edge_types(HeteroCtx *hc, const GnnJson *edges)
{
	GnnProgram *prog = hc->prog;

	if (edges == NULL || edges->kind != GNN_JSON_ARRAY || edges->count < 1 ||
		edges->count > GNN_MAX_EDGE_TYPES)
		return hetero_error(hc, "\"metadata\" needs \"edge_types\": an array of 1 to 64 [source, relation, target] triples%s%s",
							"", "");
	prog->netypes = edges->count;
	for (int r = 0; r < edges->count; r++)
	{
		const GnnJson *e = edges->items[r];
		GnnEdgeType *et = &prog->etypes[r];

		if (e->kind != GNN_JSON_ARRAY || e->count != 3 ||
			e->items[0]->kind != GNN_JSON_STRING || e->items[1]->kind != GNN_JSON_STRING ||
			e->items[2]->kind != GNN_JSON_STRING || e->items[1]->string[0] == '\0')
			return hetero_error(hc, "each edge type must be [source, relation, target] strings%s%s",
								"", "");
		et->src = find_type(prog, e->items[0]->string);
		et->dst = find_type(prog, e->items[2]->string);
		if (et->src < 0 || et->dst < 0)
			return hetero_error(hc, "edge type names unknown node type \"%s\"%s",
								et->src < 0 ? e->items[0]->string : e->items[2]->string, "");
		et->name = psprintf("%s__%s__%s", e->items[0]->string, e->items[1]->string,
							e->items[2]->string);
		if (find_etype(prog, et->name) < r)
			return hetero_error(hc, "edge type \"%s\" is listed twice%s", et->name, "");
	}
	return true;
}

static bool
parse_group(HeteroCtx *hc, const char *aggr, GnnAggr *out)
{
	static const char *const names[] = {"sum", "mean", "max", "min"};

	for (int i = 0; aggr && i < lengthof(names); i++)
		if (strcmp(aggr, names[i]) == 0)
		{
			*out = (GnnAggr) i;
			return true;
		}
	return hetero_error(hc, "grouping \"%s\" is not supported (sum, mean, max or min)%s",
						aggr ? aggr : "(none)", "");
}

/* ---------- running one layer on one type ---------- */

/* Point the lowering state at node type t's value */
static void
enter_type(HeteroCtx *hc, int t)
{
	LowerCtx   *ctx = hc->ctx;

	ctx->cur = hc->cur[t];
	ctx->width = hc->width[t];
	ctx->cur_type = t;
	ctx->src_cur = -1;
	ctx->etype = 0;
}

/* Take back the widths a layer fixed: an input type's width, once read */
static void
leave_type(HeteroCtx *hc, int t)
{
	if (hc->width[t] < 0 && hc->cur[t] >= 0)
		hc->width[t] = hc->prog->regs[hc->cur[t]].width;
}

/* A layer spec under the given prefix */
static LayerArgs
layer_args(const GnnJson *json, const char *type, const char *prefix)
{
	LayerArgs	la;

	la.json = json;
	la.type = type;
	la.prefix = prefix;
	return la;
}

/*
 * Run a message-passing layer on edge type r: the result for the target
 * type, or -1 on error.
 */
static int
conv_on_edge_type(HeteroCtx *hc, const LayerArgs *la, int r)
{
	LowerCtx   *ctx = hc->ctx;
	const GnnEdgeType *et = &hc->prog->etypes[r];
	int			y;

	if (hc->cur[et->src] < 0 || hc->cur[et->dst] < 0)
	{
		hetero_error(hc, "edge type \"%s\" needs node type \"%s\", which has no value here (no edge type of an earlier layer ends at it)",
					 et->name, hc->prog->type_names[hc->cur[et->src] < 0 ? et->src : et->dst]);
		return -1;
	}
	enter_type(hc, et->dst);
	ctx->etype = r;
	if (et->src != et->dst)
	{
		ctx->src_cur = hc->cur[et->src];
		ctx->src_width = hc->width[et->src];
		ctx->src_type = et->src;
	}
	if (!lw_lower_layer(ctx, la))
		return -1;
	y = ctx->cur;
	leave_type(hc, et->dst);
	if (et->src != et->dst && hc->width[et->src] < 0)
		hc->width[et->src] = ctx->src_width;
	ctx->src_cur = -1;
	ctx->etype = 0;
	return y;
}

/*
 * Group the results of the edge types ending at node type t, in edge type
 * order, into *y (-1 when none ends there).
 */
static bool
group_type(HeteroCtx *hc, const int *results, int t, GnnAggr aggr, int *y)
{
	LowerCtx   *ctx = hc->ctx;
	GnnProgram *prog = hc->prog;
	int			n = 0;

	*y = -1;
	for (int r = 0; r < prog->netypes; r++)
	{
		int			x = results[r];

		if (x < 0 || prog->etypes[r].dst != t)
			continue;
		if (*y >= 0 && prog->regs[x].width != prog->regs[*y].width)
			return hetero_error(hc, "the edge types ending at node type \"%s\" give results of different widths%s",
								prog->type_names[t], "");
		if (*y < 0)
			*y = x;
		else if (aggr == GNN_AGGR_MAX || aggr == GNN_AGGR_MIN)
		{
			*y = lw_emit_binary(ctx, GNN_OP_EXTREME, *y, x, 1);
			prog->ops[prog->nops - 1].aggr = aggr;
		}
		else
			*y = lw_emit_binary(ctx, GNN_OP_ADD, *y, x, 1);
		n++;
	}
	if (aggr == GNN_AGGR_MEAN && n > 1)
	{
		int			w = prog->regs[*y].width;
		float	   *scale = palloc(sizeof(float) * w);

		for (int c = 0; c < w; c++)
			scale[c] = 1.0f / (float) n;
		*y = lw_emit_affine(ctx, *y, scale, NULL);
	}
	return true;
}

/*
 * The running values after a message-passing layer, ys[t] per node type
 * (-1: that type has no value from here on).  Set once the whole layer is
 * emitted: until then its edge types read the previous values.
 */
static void
set_values(HeteroCtx *hc, const int *ys)
{
	for (int t = 0; t < hc->prog->ntypes; t++)
	{
		hc->cur[t] = ys[t];
		hc->width[t] = ys[t] >= 0 ? hc->prog->regs[ys[t]].width : -1;
	}
}

static bool
is_message_passing(const char *type)
{
	return strcmp(type, "SAGEConv") == 0 || strcmp(type, "GCNConv") == 0 ||
		strcmp(type, "GATConv") == 0 || strcmp(type, "GINConv") == 0 ||
		strcmp(type, "RGCNConv") == 0 || strcmp(type, "Program") == 0;
}

/*
 * to_hetero: a copy of the layer per edge type, keyed <prefix>.<edge type>.
 * Emitted target type by target type, each type's edge types followed by
 * their grouping, so that a type's operations are consecutive and the
 * executor's fused runs, which keep to one node type, span them all.
 */
static bool
lower_to_hetero_conv(HeteroCtx *hc, const LayerArgs *la)
{
	GnnProgram *prog = hc->prog;
	int			results[GNN_MAX_EDGE_TYPES];
	int			ys[GNN_MAX_NODE_TYPES];

	for (int t = 0; t < prog->ntypes; t++)
	{
		for (int r = 0; r < prog->netypes; r++)
		{
			const char *name = prog->etypes[r].name;
			LayerArgs	copy;

			if (prog->etypes[r].dst != t)
				continue;
			copy = layer_args(la->json, la->type,
							  la->prefix ? psprintf("%s.%s", la->prefix, name) : name);
			if ((results[r] = conv_on_edge_type(hc, &copy, r)) < 0)
				return false;
		}
		if (!group_type(hc, results, t, hc->aggr, &ys[t]))
			return false;
	}
	set_values(hc, ys);
	return true;
}

/* HeteroConv: the layer of convs' item i, on its edge type */
static bool
hetero_conv_one(HeteroCtx *hc, const LayerArgs *la, const GnnJson *convs,
				int i, int *results)
{
	const GnnJson *conv = convs->items[i];
	const GnnJson *type = gnn_json_get(conv, "type");
	int			r = find_etype(hc->prog, convs->keys[i]);
	char	   *key;
	LayerArgs	cla;

	if (type == NULL || type->kind != GNN_JSON_STRING || !is_message_passing(type->string) ||
		gnn_json_get(conv, "prefix") != NULL)
		return hetero_error(hc, "HeteroConv: the layer of \"%s\" must be a message-passing layer without a \"prefix\"%s",
							convs->keys[i], "");
	/* PyG's ModuleDict key of a tuple: <a___b___c> */
	key = psprintf("<%s>", convs->keys[i]);
	for (char *p = key; (p = strstr(p, "__")) != NULL; p += 3)
	{
		memmove(p + 1, p, strlen(p) + 1);
		*p = '_';
	}
	cla = layer_args(conv, type->string,
					 la->prefix ? psprintf("%s.convs.%s", la->prefix, key) :
					 psprintf("convs.%s", key));
	return (results[r] = conv_on_edge_type(hc, &cla, r)) >= 0;
}

/*
 * HeteroConv({edge type: conv}, aggr): convs keyed in PyG's ModuleDict form
 * <prefix>.convs.<src___relation___dst>.  Emitted target type by target
 * type, as to_hetero.
 */
static bool
lower_hetero_conv(HeteroCtx *hc, const LayerArgs *la)
{
	static const char *const keys[] = {"type", "prefix", "aggr", "convs", NULL};
	const GnnJson *convs = gnn_json_get(la->json, "convs");
	const char *aggr;
	GnnAggr		group = GNN_AGGR_SUM;
	int			results[GNN_MAX_EDGE_TYPES];
	int			ys[GNN_MAX_NODE_TYPES];

	if (!lw_check_keys(hc->ctx, la, keys) ||
		!lw_arg_string(hc->ctx, la, "aggr", "sum", &aggr) ||
		!parse_group(hc, aggr, &group))
		return false;
	if (convs == NULL || convs->kind != GNN_JSON_OBJECT || convs->count == 0)
		return hetero_error(hc, "HeteroConv needs \"convs\": an object of layers keyed by edge type%s%s",
							"", "");
	for (int r = 0; r < hc->prog->netypes; r++)
		results[r] = -1;
	for (int i = 0; i < convs->count; i++)
		if (find_etype(hc->prog, convs->keys[i]) < 0)
			return hetero_error(hc, "HeteroConv: unknown edge type \"%s\"%s", convs->keys[i], "");
	for (int t = 0; t < hc->prog->ntypes; t++)
	{
		for (int i = 0; i < convs->count; i++)
			if (hc->prog->etypes[find_etype(hc->prog, convs->keys[i])].dst == t &&
				!hetero_conv_one(hc, la, convs, i, results))
				return false;
		if (!group_type(hc, results, t, group, &ys[t]))
			return false;
	}
	set_values(hc, ys);
	return true;
}

/* ---------- HGTConv ---------- */

/*
 * Edge type r's per-head maps of an HGT relation weight [heads * E, D, D]
 * (x @ W[h * E + r], PyG's HeteroLinear, indexed as PyG >= 2.4 builds its
 * type vector) as one block-diagonal linear map [heads*D, heads*D] in
 * linear's layout.
 */
static float *
block_diagonal(const float *w, int r, int netypes, int heads, int d)
{
	int			n = heads * d;
	float	   *out = palloc0(sizeof(float) * n * n);

	for (int h = 0; h < heads; h++)
	{
		const float *wh = w + ((int64) h * netypes + r) * d * d;

		for (int i = 0; i < d; i++)
			for (int o = 0; o < d; o++)
				out[(int64) (h * d + o) * n + h * d + i] = wh[(int64) i * d + o];
	}
	return out;
}

static float *
constant_vector(int n, float value)
{
	float	   *v = palloc(sizeof(float) * n);

	for (int i = 0; i < n; i++)
		v[i] = value;
	return v;
}

/* Per-node-type K, Q and V of an HGT layer */
typedef struct HgtTypeVals
{
	int			k,
				q,
				v;
} HgtTypeVals;

/* Attention logits of edge type r: (q_i . k_r(j)) * p_rel / sqrt(D) */
static int
hgt_logits(HeteroCtx *hc, const LayerArgs *la, int r, const HgtTypeVals *vals,
		   const float *k_rel, int heads, int d)
{
	LowerCtx   *ctx = hc->ctx;
	const GnnEdgeType *et = &hc->prog->etypes[r];
	int			view = GNN_VIEW(r, GNN_EDGES_AS_GIVEN);
	const float *p_rel;
	float	   *scale;
	int			kr,
				prod;
	char	   *pname = psprintf("p_rel.%s", et->name);

	if (!lw_get_tensor(ctx, la, pname, false, 2, (int64[]) {1, heads}, &p_rel))
		return -1;
	kr = lw_emit_linear(ctx, vals[et->src].k,
						block_diagonal(k_rel, r, hc->prog->netypes, heads, d),
						NULL, heads * d);
	prod = lw_emit_edge_dot(ctx, vals[et->dst].q, kr, view, heads);
	scale = palloc(sizeof(float) * heads);
	for (int h = 0; h < heads; h++)
		scale[h] = (float) ((double) p_rel[h] / sqrt((double) d));
	return lw_emit_affine(ctx, prod, scale, NULL);
}

/*
 * The softmax of the logits over all in-edges of each target node, across
 * the edge types ending at it (PyG computes HGT's attention over one
 * combined edge index): alpha[r] for each edge type r ending at t.
 */
static void
hgt_softmax(HeteroCtx *hc, int t, const int *logits, int heads, int *alpha)
{
	LowerCtx   *ctx = hc->ctx;
	GnnProgram *prog = hc->prog;
	int			top = -1,
				total = -1;
	int			ex[GNN_MAX_EDGE_TYPES];

	for (int r = 0; r < prog->netypes; r++)
		if (prog->etypes[r].dst == t)
		{
			int			m = lw_emit_aggregate(ctx, logits[r], -1, GNN_AGGR_MAX,
											  GNN_VIEW(r, GNN_EDGES_AS_GIVEN), 1);

			prog->ops[prog->nops - 1].alpha = -INFINITY;
			if (top >= 0)
			{
				m = lw_emit_binary(ctx, GNN_OP_EXTREME, top, m, 1);
				prog->ops[prog->nops - 1].aggr = GNN_AGGR_MAX;
			}
			top = m;
		}
	for (int r = 0; r < prog->netypes; r++)
		if (prog->etypes[r].dst == t)
		{
			int			view = GNN_VIEW(r, GNN_EDGES_AS_GIVEN);
			int			s;
			int			shifted = lw_emit_gather(ctx, GNN_OP_GATHER_DST, top, view);

			shifted = lw_emit_binary(ctx, GNN_OP_AXPY, shifted, logits[r], 1);
			prog->ops[prog->nops - 1].alpha = -1.0f;
			ex[r] = lw_emit_act(ctx, shifted, GNN_ACT_EXP, 0);
			s = lw_emit_aggregate(ctx, ex[r], -1, GNN_AGGR_SUM, view, 1);
			total = total < 0 ? s : lw_emit_binary(ctx, GNN_OP_ADD, total, s, 1);
		}
	total = lw_emit_affine(ctx, total, NULL, constant_vector(heads, 1e-16f));
	for (int r = 0; r < prog->netypes; r++)
		if (prog->etypes[r].dst == t)
		{
			int			denom = lw_emit_gather(ctx, GNN_OP_GATHER_DST, total,
											   GNN_VIEW(r, GNN_EDGES_AS_GIVEN));

			alpha[r] = lw_emit_binary(ctx, GNN_OP_DIV, ex[r], denom, heads);
		}
}

/* K, Q, V of every node type with a value: kqv_lin.lins.<type> */
static bool
hgt_kqv(HeteroCtx *hc, const LayerArgs *la, int f, HgtTypeVals *vals)
{
	LowerCtx   *ctx = hc->ctx;

	for (int t = 0; t < hc->prog->ntypes; t++)
	{
		const char *wname = psprintf("kqv_lin.lins.%s.weight", hc->prog->type_names[t]);
		const GnnTensorInfo *ti = lw_peek_tensor(ctx, la, wname);
		const float *w,
				   *b;
		int			in,
					kqv;

		vals[t].k = vals[t].q = vals[t].v = -1;
		if (hc->cur[t] < 0)
			continue;
		in = (ti && ti->ndims == 2) ? (int) ti->shape[1] : hc->width[t];
		enter_type(hc, t);
		if (!lw_take_width(ctx, la, in) ||
			!lw_get_tensor(ctx, la, wname, false, 2, (int64[]) {3 * f, in}, &w) ||
			!lw_get_tensor(ctx, la, psprintf("kqv_lin.lins.%s.bias", hc->prog->type_names[t]),
						   false, 1, (int64[]) {3 * f}, &b))
			return false;
		leave_type(hc, t);
		kqv = lw_emit_linear(ctx, hc->cur[t], w, b, 3 * f);
		vals[t].k = lw_emit_unary(ctx, GNN_OP_SLICE, kqv, f);
		vals[t].q = lw_emit_unary(ctx, GNN_OP_SLICE, kqv, f);
		hc->prog->ops[hc->prog->nops - 1].start = f;
		vals[t].v = lw_emit_unary(ctx, GNN_OP_SLICE, kqv, f);
		hc->prog->ops[hc->prog->nops - 1].start = 2 * f;
	}
	return true;
}

/* gelu, out_lin and the gated skip connection of target type t */
static bool
hgt_output(HeteroCtx *hc, const LayerArgs *la, int t, int agg, int f, int *y)
{
	LowerCtx   *ctx = hc->ctx;
	const char *name = hc->prog->type_names[t];
	const float *w,
			   *b,
			   *skip;
	int			out;

	if (!lw_get_tensor(ctx, la, psprintf("out_lin.lins.%s.weight", name), false, 2,
					   (int64[]) {f, f}, &w) ||
		!lw_get_tensor(ctx, la, psprintf("out_lin.lins.%s.bias", name), false, 1,
					   (int64[]) {f}, &b) ||
		!lw_get_tensor(ctx, la, psprintf("skip.%s", name), false, 1, (int64[]) {1}, &skip))
		return false;
	out = lw_emit_act(ctx, agg, GNN_ACT_GELU, 0);
	out = lw_emit_linear(ctx, out, w, b, f);
	if (hc->width[t] == f)
	{
		/* alpha * out + (1 - alpha) * x, alpha = sigmoid(skip), in float */
		float		a = 1.0f / (1.0f + expf(-skip[0]));

		out = lw_emit_affine(ctx, out, constant_vector(f, a), NULL);
		out = lw_emit_binary(ctx, GNN_OP_AXPY, hc->cur[t], out, 1);
		hc->prog->ops[hc->prog->nops - 1].alpha = 1.0f - a;
	}
	*y = out;
	return true;
}

/*
 * HGTConv(in, out_channels, metadata, heads), PyG >= 2.4 parameters: per
 * node type kqv_lin and out_lin (HeteroDictLinear), per edge type and head
 * k_rel and v_rel (HeteroLinear [E*heads, D, D]) and p_rel, per node type
 * skip.  Attention is a softmax over all in-edges of a node, of every edge
 * type; only target types get a value.
 */
static bool
lower_hgt(HeteroCtx *hc, const LayerArgs *la)
{
	static const char *const keys[] = {"type", "prefix", "in_channels", "out_channels",
	"heads", "group", NULL};
	LowerCtx   *ctx = hc->ctx;
	GnnProgram *prog = hc->prog;
	HgtTypeVals vals[GNN_MAX_NODE_TYPES];
	int			f,
				heads,
				d,
				ne = prog->netypes;
	const float *k_rel,
			   *v_rel;
	int			logits[GNN_MAX_EDGE_TYPES],
				alpha[GNN_MAX_EDGE_TYPES];
	int			outs[GNN_MAX_NODE_TYPES];

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_int(ctx, la, "out_channels", -1, &f) ||
		!lw_arg_int(ctx, la, "heads", 1, &heads))
		return false;
	if (f < 1 || heads < 1 || f % heads != 0)
		return hetero_error(hc, "HGTConv needs out_channels divisible by heads%s%s", "", "");
	d = f / heads;
	if (!lw_get_tensor(ctx, la, "k_rel.weight", false, 3, (int64[]) {(int64) ne * heads, d, d}, &k_rel) ||
		!lw_get_tensor(ctx, la, "v_rel.weight", false, 3, (int64[]) {(int64) ne * heads, d, d}, &v_rel) ||
		!hgt_kqv(hc, la, f, vals))
		return false;
	for (int r = 0; r < ne; r++)
	{
		const GnnEdgeType *et = &prog->etypes[r];

		if (vals[et->src].k < 0 || vals[et->dst].q < 0)
			return hetero_error(hc, "edge type \"%s\" needs a node type that has no value here%s",
								et->name, "");
		ctx->etype = r;
		if ((logits[r] = hgt_logits(hc, la, r, vals, k_rel, heads, d)) < 0)
			return false;
	}
	for (int t = 0; t < prog->ntypes; t++)
	{
		int			agg = -1;
		bool		target = false;

		outs[t] = -1;
		for (int r = 0; r < ne; r++)
			target |= (prog->etypes[r].dst == t);
		if (!target)
			continue;
		hgt_softmax(hc, t, logits, heads, alpha);
		for (int r = 0; r < ne; r++)
		{
			const GnnEdgeType *et = &prog->etypes[r];
			int			vr,
						m;

			if (et->dst != t)
				continue;
			vr = lw_emit_linear(ctx, vals[et->src].v,
								block_diagonal(v_rel, r, ne, heads, d), NULL, f);
			m = lw_emit_aggregate(ctx, vr, alpha[r], GNN_AGGR_SUM,
								  GNN_VIEW(r, GNN_EDGES_AS_GIVEN), heads);
			agg = agg < 0 ? m : lw_emit_binary(ctx, GNN_OP_ADD, agg, m, 1);
		}
		if (agg >= 0 && !hgt_output(hc, la, t, agg, f, &outs[t]))
			return false;
	}
	ctx->etype = 0;
	for (int t = 0; t < prog->ntypes; t++)
	{
		hc->cur[t] = outs[t];
		hc->width[t] = outs[t] >= 0 ? f : -1;
	}
	return true;
}

/* ---------- dense layers ---------- */

/* The node types a dense layer applies to: "node_types", else all */
static bool
dense_types(HeteroCtx *hc, const GnnJson *json, bool *apply)
{
	const GnnJson *types = gnn_json_get(json, "node_types");

	for (int t = 0; t < hc->prog->ntypes; t++)
		apply[t] = (types == NULL);
	if (types == NULL)
		return true;
	if (types->kind != GNN_JSON_ARRAY)
		return hetero_error(hc, "\"node_types\" must be an array of node type names%s%s", "", "");
	for (int i = 0; i < types->count; i++)
	{
		int			t = types->items[i]->kind == GNN_JSON_STRING ?
			find_type(hc->prog, types->items[i]->string) : -1;

		if (t < 0)
			return hetero_error(hc, "\"node_types\" names an unknown node type%s%s", "", "");
		apply[t] = true;
	}
	return true;
}

/* The layer's spec without "node_types", which the layer itself rejects */
static GnnJson *
without_node_types(const GnnJson *json)
{
	GnnJson    *copy = palloc(sizeof(GnnJson));
	int			n = 0;

	*copy = *json;
	copy->keys = palloc(sizeof(char *) * Max(json->count, 1));
	copy->items = palloc(sizeof(GnnJson *) * Max(json->count, 1));
	for (int i = 0; i < json->count; i++)
		if (strcmp(json->keys[i], "node_types") != 0)
		{
			copy->keys[n] = json->keys[i];
			copy->items[n++] = json->items[i];
		}
	copy->count = n;
	return copy;
}

/*
 * A dense layer on each node type it applies to: to_hetero copies it per
 * type (<prefix>.<type>), otherwise the types share its weights.  Types it
 * does not apply to have no value after it.
 */
static bool
lower_dense(HeteroCtx *hc, const LayerArgs *la)
{
	bool		apply[GNN_MAX_NODE_TYPES];
	GnnJson    *json = without_node_types(la->json);

	if (!dense_types(hc, la->json, apply))
		return false;
	for (int t = 0; t < hc->prog->ntypes; t++)
	{
		LayerArgs	copy;

		if (!apply[t] || hc->cur[t] < 0)
		{
			hc->cur[t] = -1;
			continue;
		}
		copy = layer_args(json, la->type,
						  hc->to_hetero && la->prefix ?
						  psprintf("%s.%s", la->prefix, hc->prog->type_names[t]) :
						  la->prefix);
		enter_type(hc, t);
		if (!lw_lower_layer(hc->ctx, &copy))
			return false;
		leave_type(hc, t);
		hc->cur[t] = hc->ctx->cur;
		hc->width[t] = hc->ctx->width;
	}
	return true;
}

/* ---------- the model ---------- */

static bool
lower_hetero_layer(HeteroCtx *hc, const LayerArgs *la)
{
	if (strcmp(la->type, "HeteroConv") == 0)
		return lower_hetero_conv(hc, la);
	if (strcmp(la->type, "HGTConv") == 0)
		return lower_hgt(hc, la);
	if (is_message_passing(la->type))
	{
		int			results[1];
		int			ys[GNN_MAX_NODE_TYPES];

		if (hc->to_hetero)
			return lower_to_hetero_conv(hc, la);
		if (hc->prog->netypes > 1)
			return hetero_error(hc, "%s on several edge types needs \"to_hetero\" or a HeteroConv%s",
								la->type, "");
		/* a model of one edge type: the layer as it is */
		if ((results[0] = conv_on_edge_type(hc, la, 0)) < 0)
			return false;
		for (int t = 0; t < hc->prog->ntypes; t++)
			if (!group_type(hc, results, t, GNN_AGGR_SUM, &ys[t]))
				return false;
		set_values(hc, ys);
		return true;
	}
	return lower_dense(hc, la);
}

/* A layer's widths, for gnn_model_layers(): those of its first node type */
static int
first_width(const HeteroCtx *hc)
{
	for (int t = 0; t < hc->prog->ntypes; t++)
		if (hc->cur[t] >= 0)
			return hc->width[t];
	return -1;
}

static bool
lower_hetero_layers(HeteroCtx *hc, const GnnJson *layers)
{
	for (int i = 0; i < layers->count; i++)
	{
		const GnnJson *lj = layers->items[i];
		const GnnJson *type = gnn_json_get(lj, "type");
		const GnnJson *prefix = gnn_json_get(lj, "prefix");
		LayerArgs	la;

		snprintf(hc->where, sizeof(hc->where), "layers[%d]", i);
		strlcpy(hc->ctx->where, hc->where, sizeof(hc->ctx->where));
		if (lj->kind != GNN_JSON_OBJECT || type == NULL || type->kind != GNN_JSON_STRING)
			return hetero_error(hc, "each layer must be an object with a string \"type\"%s%s",
								"", "");
		if (prefix && prefix->kind != GNN_JSON_STRING)
			return hetero_error(hc, "\"prefix\" must be a string%s%s", "", "");
		la = layer_args(lj, type->string, prefix ? prefix->string : NULL);
		gnn_begin_layer(&hc->ctx->b, la.type, first_width(hc));
		if (!lower_hetero_layer(hc, &la))
			return false;
		strlcpy(hc->ctx->where, hc->where, sizeof(hc->ctx->where));
		gnn_end_layer(&hc->ctx->b, first_width(hc));
	}
	return true;
}

/*
 * {"metadata": {"node_types": [...], "edge_types": [[src, relation, dst],
 * ...]}, "to_hetero": {"aggr": "sum"}, "layers": [...]}
 */
bool
gnn_lower_hetero(LowerCtx *ctx, const GnnJson *spec)
{
	const GnnJson *meta = gnn_json_get(spec, "metadata");
	const GnnJson *th = gnn_json_get(spec, "to_hetero");
	HeteroCtx	hc;
	int			outputs[GNN_MAX_NODE_TYPES];
	bool		any = false;

	memset(&hc, 0, sizeof(hc));
	hc.ctx = ctx;
	hc.prog = ctx->b.prog;
	strlcpy(hc.where, "metadata", sizeof(hc.where));
	if (meta->kind != GNN_JSON_OBJECT ||
		!read_node_types(&hc, gnn_json_get(meta, "node_types")) ||
		!read_edge_types(&hc, gnn_json_get(meta, "edge_types")))
		return false;
	if (th)
	{
		const GnnJson *aggr = gnn_json_get(th, "aggr");

		strlcpy(hc.where, "to_hetero", sizeof(hc.where));
		hc.to_hetero = true;
		if (th->kind != GNN_JSON_OBJECT ||
			(aggr && aggr->kind != GNN_JSON_STRING) ||
			(th->count > (aggr ? 1 : 0)))
			return hetero_error(&hc, "\"to_hetero\" must be an object with an optional \"aggr\"%s%s",
								"", "");
		if (!parse_group(&hc, aggr ? aggr->string : "sum", &hc.aggr))
			return false;
	}
	for (int t = 0; t < hc.prog->ntypes; t++)
	{
		hc.cur[t] = gnn_new_reg(&ctx->b, GNN_SPACE_NODE, t, -1);
		hc.width[t] = -1;
		gnn_emit(&ctx->b, GNN_OP_INPUT, hc.cur[t], -1, -1);
		hc.prog->inputs[t] = hc.cur[t];
	}
	hc.prog->input = hc.prog->inputs[0];

	if (!lower_hetero_layers(&hc, gnn_json_get(spec, "layers")))
		return false;
	for (int t = 0; t < hc.prog->ntypes; t++)
	{
		/* a type the model never read has no known width, and no output */
		outputs[t] = hc.width[t] > 0 ? hc.cur[t] : -1;
		any |= outputs[t] >= 0;
	}
	if (!any)
		return hetero_error(&hc, "the model leaves no node type with a value%s%s", "", "");
	gnn_program_finish_types(&ctx->b, outputs);
	return true;
}
