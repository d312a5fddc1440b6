/*-------------------------------------------------------------------------
 *
 * lower.c
 *	  Lowering PyG layers to module programs.
 *
 * Each spec layer becomes a few get_vertex/get_edge, transform and
 * message_passing operations (program.h), following PyG's eval-mode
 * semantics exactly: self-loop handling, degree normalisation, empty
 * neighbourhoods.  Arguments are PyG's constructor arguments with PyG's
 * defaults; parameters are looked up by PyG's state-dict names under the
 * layer's "prefix".  Everything here also builds outside the server (for
 * fuzzing), so errors are returned, not raised.
 *
 *-------------------------------------------------------------------------
 */
#include "lowerctx.h"

#include <math.h>

#include "lib/stringinfo.h"

static bool lower_layers(LowerCtx *ctx, const GnnJson *layers,
						 const char *nn_prefix);

/* ---------- spec argument access ---------- */

bool
lw_spec_error(LowerCtx *ctx, const char *fmt, const char *a, const char *b)
{
	char		msg[512];

	snprintf(msg, sizeof(msg), fmt, a, b);
	return gnn_error(ctx->err, GNN_SQLSTATE_INVALID_PARAMETER,
					 "model spec %s: %s", ctx->where, msg);
}

/* Reject keys the layer type does not know: typos must not pass silently. */
bool
lw_check_keys(LowerCtx *ctx, const LayerArgs *la, const char *const *allowed)
{
	for (int i = 0; i < la->json->count; i++)
	{
		const char *key = la->json->keys[i];
		bool		ok = (strcmp(key, "type") == 0);

		for (const char *const *p = allowed; !ok && *p; p++)
			ok = (strcmp(key, *p) == 0);
		if (!ok)
			return lw_spec_error(ctx, "unknown argument \"%s\" for %s", key,
							  la->type);
	}
	return true;
}

bool
lw_arg_number(LowerCtx *ctx, const LayerArgs *la, const char *key, double dflt,
		   double *out)
{
	const GnnJson *v = gnn_json_get(la->json, key);

	*out = dflt;
	if (v == NULL || v->kind == GNN_JSON_NULL)
		return true;
	if (v->kind != GNN_JSON_NUMBER || !isfinite(v->number))
		return lw_spec_error(ctx, "argument \"%s\" of %s must be a number",
						  key, la->type);
	*out = v->number;
	return true;
}

bool
lw_arg_int(LowerCtx *ctx, const LayerArgs *la, const char *key, int dflt,
		int *out)
{
	double		d;

	if (!lw_arg_number(ctx, la, key, dflt, &d))
		return false;
	if (d != floor(d) || d < -1 || d > 1 << 24)
		return lw_spec_error(ctx, "argument \"%s\" of %s must be an integer between -1 and 16777216",
						  key, la->type);
	*out = (int) d;
	return true;
}

bool
lw_arg_bool(LowerCtx *ctx, const LayerArgs *la, const char *key, bool dflt,
		 bool *out)
{
	const GnnJson *v = gnn_json_get(la->json, key);

	*out = dflt;
	if (v == NULL || v->kind == GNN_JSON_NULL)
		return true;
	if (v->kind != GNN_JSON_BOOL)
		return lw_spec_error(ctx, "argument \"%s\" of %s must be true or false",
						  key, la->type);
	*out = v->boolean;
	return true;
}

bool
lw_arg_string(LowerCtx *ctx, const LayerArgs *la, const char *key,
		   const char *dflt, const char **out)
{
	const GnnJson *v = gnn_json_get(la->json, key);

	*out = dflt;
	if (v == NULL || v->kind == GNN_JSON_NULL)
		return true;
	if (v->kind != GNN_JSON_STRING)
		return lw_spec_error(ctx, "argument \"%s\" of %s must be a string",
						  key, la->type);
	*out = v->string;
	return true;
}

/* ---------- tensors ---------- */

char *
lw_tensor_name(const LayerArgs *la, const char *param)
{
	if (la->prefix == NULL || la->prefix[0] == '\0')
		return pstrdup(param);
	return psprintf("%s.%s", la->prefix, param);
}

static char *
shape_string(int ndims, const int64 *shape)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < ndims; i++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, i ? ", " : "", shape[i]);
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * Fetch parameter <prefix>.<param> as float32 and check its shape.  A
 * negative expected dimension matches anything.  With optional, a missing
 * tensor yields *out = NULL.
 */
bool
lw_get_tensor(LowerCtx *ctx, const LayerArgs *la, const char *param,
		   bool optional, int ndims, const int64 *shape, const float **out)
{
	char	   *name = lw_tensor_name(la, param);
	const GnnTensorInfo *t = gnn_st_find(ctx->st, name);
	bool		match;
	float	   *data;

	*out = NULL;
	if (t == NULL)
	{
		if (optional)
			return true;
		return gnn_error(ctx->err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec %s: tensor \"%s\" required by %s is missing from the weights",
						 ctx->where, name, la->type);
	}
	match = (t->ndims == ndims);
	for (int i = 0; match && i < ndims; i++)
		match = (shape[i] < 0 || shape[i] == t->shape[i]);
	if (!match)
		return gnn_error(ctx->err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec %s: tensor \"%s\" has shape %s, but %s expects %s",
						 ctx->where, name, shape_string(t->ndims, t->shape),
						 la->type, shape_string(ndims, shape));
	/* each tensor is converted and counted once, however often it is used */
	for (int i = 0; i < ctx->nconverted; i++)
		if (ctx->converted[i].info == t)
		{
			*out = ctx->converted[i].data;
			return true;
		}
	if (!gnn_st_to_float(t, &data, ctx->err))
		return false;
	if (ctx->nconverted == ctx->maxconverted)
	{
		ctx->maxconverted = Max(8, ctx->maxconverted * 2);
		ctx->converted = ctx->converted ?
			repalloc(ctx->converted, sizeof(LowerTensor) * ctx->maxconverted) :
			palloc(sizeof(LowerTensor) * ctx->maxconverted);
	}
	ctx->converted[ctx->nconverted].info = t;
	ctx->converted[ctx->nconverted++].data = data;
	ctx->b.prog->nparams += t->numel;
	*out = data;
	return true;
}

/*
 * The bias <prefix>.<param> of n values, required if the layer has one
 * (bias=true, PyG's default).  Without a bias, a tensor of that name is
 * ignored like any other the layer does not use: neither checked nor
 * counted as a parameter.
 */
static bool
get_bias(LowerCtx *ctx, const LayerArgs *la, const char *param, bool has_bias,
		 int64 n, const float **out)
{
	*out = NULL;
	if (!has_bias)
		return true;
	return lw_get_tensor(ctx, la, param, false, 1, &n, out);
}

/* Shape of <prefix>.<param>, or NULL if missing. */
const GnnTensorInfo *
lw_peek_tensor(LowerCtx *ctx, const LayerArgs *la, const char *param)
{
	return gnn_st_find(ctx->st, lw_tensor_name(la, param));
}

/*
 * Registers created before the input width of node type ntype was known
 * take it now.
 */
static void
fix_input_width(GnnProgram *prog, int ntype, int width)
{
	for (int r = 0; r < prog->nregs; r++)
		if (prog->regs[r].width < 0 &&
			(prog->regs[r].space == GNN_SPACE_EDGE || prog->regs[r].ntype == ntype))
			prog->regs[r].width = width;
	if (gnn_program_hetero(prog))
		return;
	for (int l = 0; l < prog->nlayers; l++)
	{
		if (prog->layers[l].in_width < 0)
			prog->layers[l].in_width = width;
		if (prog->layers[l].out_width < 0)
			prog->layers[l].out_width = width;
	}
}

/*
 * The running value's width must be "width" (a layer's in_channels).  The
 * first parametrised layer fixes the model's input width.
 */
bool
lw_take_width(LowerCtx *ctx, const LayerArgs *la, int width)
{
	char		a[32],
				b[32];

	if (ctx->width < 0)
	{
		ctx->width = width;
		if (!gnn_program_hetero(ctx->b.prog))
			ctx->input_width = width;
		fix_input_width(ctx->b.prog, ctx->cur_type, width);
		return true;
	}
	if (ctx->width == width)
		return true;
	snprintf(a, sizeof(a), "%d", width);
	snprintf(b, sizeof(b), "%d", ctx->width);
	return gnn_error(ctx->err, GNN_SQLSTATE_INVALID_PARAMETER,
					 "model spec %s: widths do not chain: %s expects %s input channels but receives %s",
					 ctx->where, la->type, a, b);
}

/*
 * The same for the value messages are read from: the source type's on a
 * bipartite edge type, else the running value.
 */
bool
lw_take_src_width(LowerCtx *ctx, const LayerArgs *la, int width)
{
	int			cur = ctx->cur,
				w = ctx->width,
				t = ctx->cur_type;
	bool		ok;

	if (ctx->src_cur < 0)
		return lw_take_width(ctx, la, width);
	ctx->cur = ctx->src_cur;
	ctx->width = ctx->src_width;
	ctx->cur_type = ctx->src_type;
	ok = lw_take_width(ctx, la, width);
	ctx->src_width = ctx->width;
	ctx->cur = cur;
	ctx->width = w;
	ctx->cur_type = t;
	return ok;
}

/* The register messages are read from */
int
lw_src(const LowerCtx *ctx)
{
	return ctx->src_cur >= 0 ? ctx->src_cur : ctx->cur;
}

/* The view of the layer's edge type */
int
lw_view(const LowerCtx *ctx, GnnEdgeView mode)
{
	return GNN_VIEW(ctx->etype, mode);
}

/* gnn_new_reg's "where" of a register like reg */
int
lw_reg_where(const GnnReg *reg)
{
	return reg->space == GNN_SPACE_NODE ? reg->ntype : reg->view;
}

/*
 * Input and output channels of a weight-bearing layer: from the spec if
 * given (in_channels may be -1, PyG's lazy initialisation), else from the
 * weight matrix [out, in].
 */
static bool
layer_channels(LowerCtx *ctx, const LayerArgs *la, const char *in_key,
			   const char *out_key, const char *weight, int out_mult,
			   int *in, int *out)
{
	const GnnTensorInfo *w = lw_peek_tensor(ctx, la, weight);

	if (!lw_arg_int(ctx, la, in_key, -1, in) ||
		!lw_arg_int(ctx, la, out_key, -1, out))
		return false;
	if (*in < 0 && w && w->ndims == 2)
		*in = (int) Min(w->shape[1], PG_INT32_MAX);
	if (*out < 0 && w && w->ndims == 2)
		*out = (int) Min(w->shape[0] / out_mult, PG_INT32_MAX);
	if ((*in <= 0 || *out <= 0) && w == NULL)
	{
		char	   *name = lw_tensor_name(la, weight);

		return gnn_error(ctx->err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec %s: tensor \"%s\" required by %s is missing from the weights",
						 ctx->where, name, la->type);
	}
	if (*in <= 0 || *out <= 0)
		return lw_spec_error(ctx, "%s needs positive %s", la->type,
						  *in <= 0 ? in_key : out_key);
	return lw_take_src_width(ctx, la, *in);
}

/* ---------- emitting ---------- */

/*
 * The emit functions copy the input register's description first:
 * gnn_new_reg may move the register array.
 */
int
lw_emit_linear(LowerCtx *ctx, int a, const float *w, const float *bias, int out)
{
	GnnReg		ra = ctx->b.prog->regs[a];
	int			r = gnn_new_reg(&ctx->b, ra.space, lw_reg_where(&ra), out);
	GnnOp	   *op = gnn_emit(&ctx->b, GNN_OP_LINEAR, r, a, -1);

	op->weight = w;
	op->bias = bias;
	/* over edges (GATConv's lin_edge): their view, as emit_unary's */
	op->view = ra.view;
	return r;
}

int
lw_emit_unary(LowerCtx *ctx, GnnOpKind kind, int a, int width)
{
	GnnReg		ra = ctx->b.prog->regs[a];
	int			r = gnn_new_reg(&ctx->b, ra.space, lw_reg_where(&ra), width);
	GnnOp	   *op = gnn_emit(&ctx->b, kind, r, a, -1);

	/* an operation over edges names their view, as emit_binary's do */
	op->view = ra.view;
	return r;
}

int
lw_emit_act(LowerCtx *ctx, int a, GnnAct act, float alpha)
{
	int			r = lw_emit_unary(ctx, GNN_OP_ACT, a, ctx->b.prog->regs[a].width);
	GnnOp	   *op = &ctx->b.prog->ops[ctx->b.prog->nops - 1];

	op->act = act;
	op->alpha = alpha;
	return r;
}

int
lw_emit_binary(LowerCtx *ctx, GnnOpKind kind, int a, int b, int heads)
{
	GnnReg		ra = ctx->b.prog->regs[a];
	int			r = gnn_new_reg(&ctx->b, ra.space, lw_reg_where(&ra), ra.width);
	GnnOp	   *op = gnn_emit(&ctx->b, kind, r, a, b);

	op->heads = heads;
	op->view = ra.view;
	return r;
}

int
lw_emit_bias(LowerCtx *ctx, int a, const float *bias)
{
	int			r;
	GnnOp	   *op;

	if (bias == NULL)
		return a;
	r = lw_emit_unary(ctx, GNN_OP_AFFINE, a, ctx->b.prog->regs[a].width);
	op = &ctx->b.prog->ops[ctx->b.prog->nops - 1];
	op->shift = bias;
	return r;
}

/* y = a * scale + shift per column; either may be NULL */
int
lw_emit_affine(LowerCtx *ctx, int a, const float *scale, const float *shift)
{
	int			r = lw_emit_unary(ctx, GNN_OP_AFFINE, a, ctx->b.prog->regs[a].width);
	GnnOp	   *op = &ctx->b.prog->ops[ctx->b.prog->nops - 1];

	op->scale = scale;
	op->shift = shift;
	return r;
}

/* Edge register of a view: a node register gathered at src or dst. */
int
lw_emit_gather(LowerCtx *ctx, GnnOpKind kind, int a, int view)
{
	int			r = gnn_new_reg(&ctx->b, GNN_SPACE_EDGE, view,
								ctx->b.prog->regs[a].width);
	GnnOp	   *op = gnn_emit(&ctx->b, kind, r, a, -1);

	op->view = view;
	return r;
}

/*
 * Edge register of a view: per head, the dot product of node register a at
 * each edge's target with node register b at its source.
 */
int
lw_emit_edge_dot(LowerCtx *ctx, int a, int b, int view, int heads)
{
	int			r = gnn_new_reg(&ctx->b, GNN_SPACE_EDGE, view, heads);
	GnnOp	   *op = gnn_emit(&ctx->b, GNN_OP_EDGE_DOT, r, a, b);

	op->view = view;
	op->heads = heads;
	return r;
}

int
lw_emit_edge_weight(LowerCtx *ctx, int view, float loop_fill)
{
	int			r = gnn_new_reg(&ctx->b, GNN_SPACE_EDGE, view, 1);
	GnnOp	   *op = gnn_emit(&ctx->b, GNN_OP_EDGE_WEIGHT, r, -1, -1);

	op->view = view;
	op->alpha = loop_fill;
	return r;
}

/* transform: per-head dot product of each row with an attention vector */
int
lw_emit_head_dot(LowerCtx *ctx, int a, const float *att, int heads)
{
	int			r = lw_emit_unary(ctx, GNN_OP_HEAD_DOT, a, heads);
	GnnOp	   *op = &ctx->b.prog->ops[ctx->b.prog->nops - 1];

	op->weight = att;
	op->heads = heads;
	return r;
}

/* message_passing: node y[i] = AGG over in-edges of coef * message */
int
lw_emit_aggregate(LowerCtx *ctx, int msg, int coef, GnnAggr aggr,
			   int view, int heads)
{
	int			dst = ctx->b.prog->etypes[GNN_VIEW_ETYPE(view)].dst;
	int			r = gnn_new_reg(&ctx->b, GNN_SPACE_NODE, dst,
								ctx->b.prog->regs[msg].width);
	GnnOp	   *op = gnn_emit(&ctx->b, GNN_OP_AGGREGATE, r, msg, coef);

	op->aggr = aggr;
	op->view = view;
	op->heads = heads;
	return r;
}

/* ---------- layers ---------- */

/*
 * Which of two names of the same argument a layer's spec uses, as torch's
 * Linear (in_features) and PyG's (in_channels) do.  Giving both would leave
 * one silently ignored, so it is an error.
 */
static bool
arg_alias(LowerCtx *ctx, const LayerArgs *la, const char *name,
		  const char *alias, const char **key)
{
	const GnnJson *v = gnn_json_get(la->json, name);
	const GnnJson *va = gnn_json_get(la->json, alias);
	bool		has = (v != NULL && v->kind != GNN_JSON_NULL);
	bool		has_alias = (va != NULL && va->kind != GNN_JSON_NULL);

	if (has && has_alias)
		return lw_spec_error(ctx, "give either \"%s\" or \"%s\", not both",
						  name, alias);
	*key = has_alias ? alias : name;
	return true;
}

static bool
lower_linear(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "in_channels", "out_channels",
		"in_features", "out_features", "bias", "weight_initializer",
	"bias_initializer", NULL};
	int			in,
				out;
	bool		has_bias;
	const float *w,
			   *bias;
	const char *in_key = NULL,
			   *out_key = NULL;

	if (!lw_check_keys(ctx, la, keys) ||
		!arg_alias(ctx, la, "in_channels", "in_features", &in_key) ||
		!arg_alias(ctx, la, "out_channels", "out_features", &out_key) ||
		!lw_arg_bool(ctx, la, "bias", true, &has_bias) ||
		!layer_channels(ctx, la, in_key, out_key, "weight", 1, &in, &out) ||
		!lw_get_tensor(ctx, la, "weight", false, 2,
					(int64[]) {out, in}, &w) ||
		!get_bias(ctx, la, "bias", has_bias, out, &bias))
		return false;
	ctx->cur = lw_emit_linear(ctx, ctx->cur, w, bias, out);
	ctx->width = out;
	return true;
}

static bool
parse_aggr(LowerCtx *ctx, const LayerArgs *la, const char *dflt,
		   GnnAggr *aggr)
{
	const char *s;

	if (!lw_arg_string(ctx, la, "aggr", dflt, &s))
		return false;
	if (strcmp(s, "mean") == 0)
		*aggr = GNN_AGGR_MEAN;
	else if (strcmp(s, "sum") == 0 || strcmp(s, "add") == 0)
		*aggr = GNN_AGGR_SUM;
	else if (strcmp(s, "max") == 0)
		*aggr = GNN_AGGR_MAX;
	else if (strcmp(s, "min") == 0)
		*aggr = GNN_AGGR_MIN;
	else
		return lw_spec_error(ctx, "unsupported aggr \"%s\" for %s (use mean, sum, max or min)",
						  s, la->type);
	return true;
}

/*
 * SAGEConv: out = lin_l(AGG_j x_j) + lin_r(x_i), optionally L2-normalised.
 * For sum and mean the linear map commutes with aggregation, so when it
 * narrows the rows we transform first and aggregate the narrow rows: the
 * same value, a fraction of the gather traffic.
 */
static bool
lower_sage(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "in_channels", "out_channels",
		"aggr", "normalize", "root_weight", "project", "bias", NULL};
	GnnAggr		aggr = GNN_AGGR_MEAN;
	bool		normalize,
				root_weight,
				project,
				has_bias;
	int			in,
				in_dst,
				out;
	const char *msg,
			   *y;
	const GnnTensorInfo *tr;
	LowerModules m;
	const float *wl,
			   *bl,
			   *wr = NULL,
			   *wp = NULL,
			   *bp = NULL;

	if (!lw_check_keys(ctx, la, keys) ||
		!parse_aggr(ctx, la, "mean", &aggr) ||
		!lw_arg_bool(ctx, la, "normalize", false, &normalize) ||
		!lw_arg_bool(ctx, la, "root_weight", true, &root_weight) ||
		!lw_arg_bool(ctx, la, "project", false, &project) ||
		!lw_arg_bool(ctx, la, "bias", true, &has_bias) ||
		!layer_channels(ctx, la, "in_channels", "out_channels", "lin_l.weight",
						1, &in, &out))
		return false;
	/* bipartite: lin_r reads the target type's value */
	tr = lw_peek_tensor(ctx, la, "lin_r.weight");
	in_dst = (ctx->src_cur >= 0 && tr && tr->ndims == 2) ? (int) tr->shape[1] : in;
	if (ctx->src_cur >= 0 && !project && root_weight && !lw_take_width(ctx, la, in_dst))
		return false;
	if (!lw_get_tensor(ctx, la, "lin_l.weight", false, 2, (int64[]) {out, in}, &wl) ||
		!get_bias(ctx, la, "lin_l.bias", has_bias, out, &bl) ||
		(root_weight &&
		 !lw_get_tensor(ctx, la, "lin_r.weight", false, 2, (int64[]) {out, in_dst}, &wr)) ||
		(project &&
		 (!lw_get_tensor(ctx, la, "lin.weight", false, 2, (int64[]) {in, in}, &wp) ||
		  !lw_get_tensor(ctx, la, "lin.bias", false, 1, (int64[]) {in}, &bp))))
		return false;

	if (project && ctx->src_cur >= 0)
		return lw_spec_error(ctx, "%s with project on a bipartite edge type is not supported%s",
							 la->type, "");

	lw_modules_begin(&m);
	lw_module(&m, "{\"module\": \"get_vertex\", \"side\": \"source\", \"out\": \"xs\"}");
	lw_module(&m, "{\"module\": \"get_vertex\", \"out\": \"x\"}");
	msg = "xs";
	if (project)
	{
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"xs\", "
				  "\"weight\": \"lin.weight\", \"bias\": \"lin.bias\", \"out\": \"p\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"relu\", \"in\": \"p\", \"out\": \"msg\"}");
		msg = "msg";
	}
	if ((aggr == GNN_AGGR_SUM || aggr == GNN_AGGR_MEAN) && out < in)
	{
		/* the narrower rows travel: transform, aggregate, then the bias */
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"%s\", "
				  "\"weight\": \"lin_l.weight\", \"out\": \"ml\"}", msg);
		lw_module(&m, "{\"module\": \"message_passing\", \"aggr\": \"%s\", \"in\": \"ml\", "
				  "\"out\": \"%s\"}", gnn_aggr_name(aggr), has_bias ? "agg" : "l");
		if (has_bias)
			lw_module(&m, "{\"module\": \"transform\", \"op\": \"bias\", \"in\": \"agg\", "
					  "\"bias\": \"lin_l.bias\", \"out\": \"l\"}");
	}
	else
	{
		lw_module(&m, "{\"module\": \"message_passing\", \"aggr\": \"%s\", \"in\": \"%s\", "
				  "\"out\": \"agg\"}", gnn_aggr_name(aggr), msg);
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"agg\", "
				  "\"weight\": \"lin_l.weight\"%s, \"out\": \"l\"}",
				  has_bias ? ", \"bias\": \"lin_l.bias\"" : "");
	}
	y = "l";
	if (root_weight)
	{
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"x\", "
				  "\"weight\": \"lin_r.weight\", \"out\": \"r\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"add\", \"in\": [\"l\", \"r\"], "
				  "\"out\": \"lr\"}");
		y = "lr";
	}
	if (normalize)
	{
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"l2norm\", \"in\": \"%s\", "
				  "\"out\": \"y\"}", y);
		y = "y";
	}
	return lw_lower_modules(ctx, la, &m, in, y, false, 1.0f);
}

/*
 * GCNConv: out_i = sum_{j->i} deg_j^-1/2 w_ji deg_i^-1/2 (x_j W^T) + bias,
 * over the edges with one self loop per node when normalising with loops.
 */
static bool
lower_gcn(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "in_channels", "out_channels",
		"improved", "cached", "add_self_loops", "normalize", "bias", NULL};
	bool		improved,
				loops,
				normalize,
				has_bias;
	int			in,
				out;
	const char *coef;
	LowerModules m;
	const float *wt,
			   *bias;

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_bool(ctx, la, "improved", false, &improved) ||
		!lw_arg_bool(ctx, la, "add_self_loops", true, &loops) ||
		!lw_arg_bool(ctx, la, "normalize", true, &normalize) ||
		!lw_arg_bool(ctx, la, "bias", true, &has_bias) ||
		!layer_channels(ctx, la, "in_channels", "out_channels", "lin.weight",
						1, &in, &out) ||
		!lw_get_tensor(ctx, la, "lin.weight", false, 2, (int64[]) {out, in}, &wt) ||
		!get_bias(ctx, la, "bias", has_bias, out, &bias))
		return false;

	lw_modules_begin(&m);
	lw_module(&m, "{\"module\": \"get_vertex\", \"out\": \"x\"}");
	lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"x\", "
			  "\"weight\": \"lin.weight\", \"out\": \"h\"}");
	lw_module(&m, "{\"module\": \"get_edge\", \"column\": \"weight\", \"out\": \"w\"}");
	coef = "w";
	if (normalize)
	{
		/* deg_j^-1/2 * w_ji * deg_i^-1/2, multiplied in PyG's order */
		lw_module(&m, "{\"module\": \"message_passing\", \"aggr\": \"sum\", \"in\": \"w\", "
				  "\"out\": \"deg\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"rsqrt\", \"in\": \"deg\", "
				  "\"out\": \"dinv\"}");
		lw_module(&m, "{\"module\": \"get_edge\", \"tensor\": \"dinv\", \"side\": \"source\", "
				  "\"out\": \"d_src\"}");
		lw_module(&m, "{\"module\": \"get_edge\", \"tensor\": \"dinv\", \"side\": \"target\", "
				  "\"out\": \"d_dst\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"mul\", \"in\": [\"d_src\", \"w\"], "
				  "\"out\": \"dw\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"mul\", \"in\": [\"dw\", \"d_dst\"], "
				  "\"out\": \"norm\"}");
		coef = "norm";
	}
	lw_module(&m, "{\"module\": \"message_passing\", \"aggr\": \"sum\", \"in\": \"h\", "
			  "\"coef\": \"%s\", \"out\": \"%s\"}", coef, has_bias ? "agg" : "y");
	if (has_bias)
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"bias\", \"in\": \"agg\", "
				  "\"bias\": \"bias\", \"out\": \"y\"}");
	return lw_lower_modules(ctx, la, &m, in, "y", normalize && loops,
							improved ? 2.0f : 1.0f);
}

/*
 * Source weight of a GATConv: PyG >= 2.5 "lin", earlier "lin_src"; on a
 * bipartite edge type lin_src and lin_dst (the target's, in *wdst).
 */
static bool
gat_weight(LowerCtx *ctx, const LayerArgs *la, int heads, int in, int out,
		   const float **w, const float **wdst)
{
	int64		shape[2] = {(int64) heads * out, in};
	const GnnTensorInfo *td = lw_peek_tensor(ctx, la, "lin_dst.weight");

	*wdst = NULL;
	if (lw_peek_tensor(ctx, la, "lin.weight") || !lw_peek_tensor(ctx, la, "lin_src.weight"))
		return lw_get_tensor(ctx, la, "lin.weight", false, 2, shape, w) &&
			(ctx->src_cur < 0 || lw_take_width(ctx, la, in));
	if (ctx->src_cur >= 0)
	{
		int			in_dst = (td && td->ndims == 2) ? (int) td->shape[1] : in;

		return lw_get_tensor(ctx, la, "lin_src.weight", false, 2, shape, w) &&
			lw_take_width(ctx, la, in_dst) &&
			lw_get_tensor(ctx, la, "lin_dst.weight", false, 2,
						  (int64[]) {shape[0], in_dst}, wdst);
	}

	if (!lw_get_tensor(ctx, la, "lin_src.weight", false, 2, shape, w) ||
		!lw_get_tensor(ctx, la, "lin_dst.weight", true, 2, shape, wdst))
		return false;
	if (*wdst && memcmp(*w, *wdst, sizeof(float) * shape[0] * shape[1]) != 0)
		return true;			/* a tuple in_channels: two maps */
	/* in PyG lin_dst is then lin_src, one module: count its weight once */
	if (*wdst)
		ctx->b.prog->nparams -= shape[0] * shape[1];
	*wdst = NULL;
	return true;
}

/*
 * GATConv: attention logits e_ji = LeakyReLU(a_src.h_j + a_dst.h_i) per
 * head, softmax over each node's in-edges (one self loop per node by
 * default), then the attention-weighted sum of h_j.
 */
static bool
lower_gat(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "in_channels", "out_channels",
		"heads", "concat", "negative_slope", "dropout", "add_self_loops",
	"bias", "fill_value", "residual", "edge_dim", NULL};
	int			heads = 1,
				in,
				out,
				edge_dim;
	bool		concat,
				loops,
				has_bias,
				residual;
	double		slope;
	const float *w,
			   *wdst,
			   *att_src,
			   *att_dst,
			   *w_edge,
			   *att_edge,
			   *bias;
	const char *wname,
			   *fill,
			   *y,
			   *hs,
			   *hd,
			   *e;
	LowerModules m;

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_int(ctx, la, "heads", 1, &heads) ||
		!lw_arg_bool(ctx, la, "concat", true, &concat) ||
		!lw_arg_number(ctx, la, "negative_slope", 0.2, &slope) ||
		!lw_arg_bool(ctx, la, "add_self_loops", true, &loops) ||
		!lw_arg_bool(ctx, la, "bias", true, &has_bias) ||
		!lw_arg_bool(ctx, la, "residual", false, &residual) ||
		!lw_arg_int(ctx, la, "edge_dim", 0, &edge_dim) ||
		!lw_arg_string(ctx, la, "fill_value", "mean", &fill))
		return false;
	if (edge_dim < 0 || (edge_dim > 0 && loops && strcmp(fill, "mean") != 0))
		return lw_spec_error(ctx, "%s supports edge_dim > 0 with fill_value \"mean\"%s",
							 la->type, "");
	if (heads < 1)
		return lw_spec_error(ctx, "%s needs heads >= 1%s", la->type, "");
	if (residual)
		return lw_spec_error(ctx, "%s with residual is not supported%s", la->type, "");
	wname = lw_peek_tensor(ctx, la, "lin.weight") || !lw_peek_tensor(ctx, la, "lin_src.weight") ?
		"lin.weight" : "lin_src.weight";
	if (!layer_channels(ctx, la, "in_channels", "out_channels", wname, heads,
						&in, &out) ||
		!gat_weight(ctx, la, heads, in, out, &w, &wdst) ||
		!lw_get_tensor(ctx, la, "att_src", false, 3, (int64[]) {1, heads, out}, &att_src) ||
		!lw_get_tensor(ctx, la, "att_dst", false, 3, (int64[]) {1, heads, out}, &att_dst) ||
		!get_bias(ctx, la, "bias", has_bias,
				  concat ? (int64) heads * out : out, &bias) ||
		(edge_dim > 0 &&
		 (!lw_get_tensor(ctx, la, "lin_edge.weight", false, 2,
						 (int64[]) {(int64) heads * out, edge_dim}, &w_edge) ||
		  !lw_get_tensor(ctx, la, "att_edge", false, 3, (int64[]) {1, heads, out},
						 &att_edge))))
		return false;

	lw_modules_begin(&m);
	lw_module(&m, "{\"module\": \"get_vertex\", \"out\": \"x\"}");
	hs = hd = "h";
	if (ctx->src_cur >= 0 || wdst)
	{
		/* bipartite: sources and targets are transformed apart */
		lw_module(&m, "{\"module\": \"get_vertex\", \"side\": \"source\", \"out\": \"xs\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"xs\", "
				  "\"weight\": \"%s\", \"out\": \"hs\"}", wname);
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"x\", "
				  "\"weight\": \"%s\", \"out\": \"hd\"}",
				  wdst ? "lin_dst.weight" : wname);
		hs = "hs";
		hd = "hd";
	}
	else
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"x\", "
				  "\"weight\": \"%s\", \"out\": \"h\"}", wname);
	/* per-node attention scores, then per-edge logits */
	lw_module(&m, "{\"module\": \"transform\", \"op\": \"head_dot\", \"in\": \"%s\", "
			  "\"att\": \"att_src\", \"heads\": %d, \"out\": \"a_src\"}", hs, heads);
	lw_module(&m, "{\"module\": \"get_edge\", \"tensor\": \"a_src\", \"side\": \"source\", "
			  "\"out\": \"e_src\"}");
	lw_module(&m, "{\"module\": \"transform\", \"op\": \"head_dot\", \"in\": \"%s\", "
			  "\"att\": \"att_dst\", \"heads\": %d, \"out\": \"a_dst\"}", hd, heads);
	lw_module(&m, "{\"module\": \"get_edge\", \"tensor\": \"a_dst\", \"side\": \"target\", "
			  "\"out\": \"e_dst\"}");
	lw_module(&m, "{\"module\": \"transform\", \"op\": \"add\", \"in\": [\"e_src\", \"e_dst\"], "
			  "\"out\": \"e\"}");
	e = "e";
	if (edge_dim > 0)
	{
		/* the edge term: att_edge . lin_edge(edge_attr) per head */
		lw_module(&m, "{\"module\": \"get_edge\", \"column\": \"edge_attr\", \"width\": %d, "
				  "\"out\": \"ea\"}", edge_dim);
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"linear\", \"in\": \"ea\", "
				  "\"weight\": \"lin_edge.weight\", \"out\": \"he\"}");
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"head_dot\", \"in\": \"he\", "
				  "\"att\": \"att_edge\", \"heads\": %d, \"out\": \"a_edge\"}", heads);
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"add\", \"in\": [\"e\", \"a_edge\"], "
				  "\"out\": \"ee\"}");
		e = "ee";
	}
	lw_module(&m, "{\"module\": \"transform\", \"op\": \"leaky_relu\", \"in\": \"%s\", "
			  "\"negative_slope\": %.17g, \"out\": \"logit\"}", e, slope);
	lw_module(&m, "{\"module\": \"message_passing\", \"aggr\": \"softmax\", \"in\": \"logit\", "
			  "\"out\": \"alpha\"}");
	lw_module(&m, "{\"module\": \"message_passing\", \"aggr\": \"sum\", \"in\": \"%s\", "
			  "\"coef\": \"alpha\", \"out\": \"agg\"}", hs);
	y = "agg";
	if (!concat && heads > 1)
	{
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"head_mean\", \"in\": \"agg\", "
				  "\"heads\": %d, \"out\": \"mean\"}", heads);
		y = "mean";
	}
	if (has_bias)
	{
		lw_module(&m, "{\"module\": \"transform\", \"op\": \"bias\", \"in\": \"%s\", "
				  "\"bias\": \"bias\", \"out\": \"y\"}", y);
		y = "y";
	}
	return lw_lower_modules(ctx, la, &m, in, y, loops, 1.0f);
}

/* Θ_r transposed to [out, in] (linear's layout) from PyG's [in, out] */
static float *
rgcn_transpose(const float *w, int in, int out)
{
	float	   *t = palloc(sizeof(float) * (int64) in * out);

	for (int i = 0; i < in; i++)
		for (int o = 0; o < out; o++)
			t[(int64) o * in + i] = w[(int64) i * out + o];
	return t;
}

/*
 * The relation weights Θ_r, [in, out] each: given, from a basis
 * (Θ_r = Σ_b comp[r, b] V_b, as PyG computes it in float32), or from
 * diagonal blocks.
 */
static bool
rgcn_weights(LowerCtx *ctx, const LayerArgs *la, int rels, int bases,
			 int blocks, int in, int out, float **theta)
{
	const float *w,
			   *comp;
	int64		size = (int64) in * out;

	if (bases > 0)
	{
		if (!lw_get_tensor(ctx, la, "weight", false, 3, (int64[]) {bases, in, out}, &w) ||
			!lw_get_tensor(ctx, la, "comp", false, 2, (int64[]) {rels, bases}, &comp))
			return false;
		*theta = palloc0(sizeof(float) * size * rels);
		for (int r = 0; r < rels; r++)
			for (int b = 0; b < bases; b++)
				for (int64 k = 0; k < size; k++)
					(*theta)[r * size + k] += comp[r * bases + b] * w[b * size + k];
		return true;
	}
	if (blocks > 0)
	{
		int			bi = in / blocks,
					bo = out / blocks;

		if (!lw_get_tensor(ctx, la, "weight", false, 4,
						   (int64[]) {rels, blocks, bi, bo}, &w))
			return false;
		*theta = palloc0(sizeof(float) * size * rels);
		for (int r = 0; r < rels; r++)
			for (int k = 0; k < blocks; k++)
				for (int i = 0; i < bi; i++)
					for (int o = 0; o < bo; o++)
						(*theta)[r * size + (int64) (k * bi + i) * out + k * bo + o] =
							w[(((int64) r * blocks + k) * bi + i) * bo + o];
		return true;
	}
	if (!lw_get_tensor(ctx, la, "weight", false, 3, (int64[]) {rels, in, out}, &w))
		return false;
	*theta = (float *) w;
	return true;
}

/*
 * RGCNConv: out_i = x_i Θ_root + Σ_r AGG_{j ∈ N_r(i)} x_j Θ_r + bias, where
 * N_r(i) are i's in-edges of relation r (gnn_infer's relation column) and
 * AGG the mean (PyG's default) or sum; relations are summed in order, as
 * PyG does.  Each relation is one pass over the edges.
 */
static bool
lower_rgcn(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "in_channels", "out_channels",
		"num_relations", "num_bases", "num_blocks", "aggr", "root_weight",
	"is_sorted", "bias", NULL};
	int			in,
				out,
				rels,
				bases,
				blocks;
	bool		root_weight,
				has_bias;
	const char *aggr;
	const float *root = NULL,
			   *bias;
	float	   *theta;
	int			x = ctx->cur,
				rel,
				acc = -1;

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_int(ctx, la, "in_channels", -1, &in) ||
		!lw_arg_int(ctx, la, "out_channels", -1, &out) ||
		!lw_arg_int(ctx, la, "num_relations", -1, &rels) ||
		!lw_arg_int(ctx, la, "num_bases", -1, &bases) ||
		!lw_arg_int(ctx, la, "num_blocks", -1, &blocks) ||
		!lw_arg_string(ctx, la, "aggr", "mean", &aggr) ||
		!lw_arg_bool(ctx, la, "root_weight", true, &root_weight) ||
		!lw_arg_bool(ctx, la, "bias", true, &has_bias))
		return false;
	if (in <= 0 || out <= 0 || rels <= 0)
		return lw_spec_error(ctx, "%s needs positive in_channels, out_channels and num_relations%s",
							 la->type, "");
	if (bases > 0 && blocks > 0)
		return lw_spec_error(ctx, "%s takes num_bases or num_blocks, not both%s", la->type, "");
	if (blocks > 0 && (in % blocks != 0 || out % blocks != 0))
		return lw_spec_error(ctx, "%s needs num_blocks dividing in_channels and out_channels%s",
							 la->type, "");
	if (strcmp(aggr, "mean") != 0 && strcmp(aggr, "add") != 0 && strcmp(aggr, "sum") != 0)
		return lw_spec_error(ctx, "%s aggr \"%s\" is not supported (\"mean\", \"add\")",
							 la->type, aggr);
	if (!lw_take_width(ctx, la, in) ||
		!rgcn_weights(ctx, la, rels, bases, blocks, in, out, &theta) ||
		(root_weight &&
		 !lw_get_tensor(ctx, la, "root", false, 2, (int64[]) {in, out}, &root)) ||
		!get_bias(ctx, la, "bias", has_bias, out, &bias))
		return false;

	rel = lw_emit_edge_weight(ctx, lw_view(ctx, GNN_EDGES_AS_GIVEN), 1.0f);
	ctx->b.prog->ops[ctx->b.prog->nops - 1].relation = true;
	for (int r = 0; r < rels; r++)
	{
		int			in_r = lw_emit_unary(ctx, GNN_OP_EQUALS, rel, 1);
		int			h;

		ctx->b.prog->ops[ctx->b.prog->nops - 1].alpha = (float) r;
		h = lw_emit_aggregate(ctx, x, in_r, GNN_AGGR_SUM, lw_view(ctx, GNN_EDGES_AS_GIVEN), 1);
		if (aggr[0] == 'm')
			h = lw_emit_binary(ctx, GNN_OP_DIV, h,
							   lw_emit_aggregate(ctx, in_r, -1, GNN_AGGR_SUM,
												 lw_view(ctx, GNN_EDGES_AS_GIVEN), 1), 1);
		h = lw_emit_linear(ctx, h, rgcn_transpose(theta + (int64) r * in * out, in, out),
						   NULL, out);
		acc = (acc < 0) ? h : lw_emit_binary(ctx, GNN_OP_ADD, acc, h, 1);
	}
	if (root_weight)
		acc = lw_emit_binary(ctx, GNN_OP_ADD, acc,
							 lw_emit_linear(ctx, x, rgcn_transpose(root, in, out), NULL, out), 1);
	ctx->cur = lw_emit_bias(ctx, acc, bias);
	ctx->width = out;
	return true;
}

/* GINConv: nn((1 + eps) x_i + sum_j x_j) */
static bool
lower_gin(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "eps", "train_eps", "nn", NULL};
	double		eps;
	bool		train_eps;
	const float *eps_t;
	const GnnJson *nn = gnn_json_get(la->json, "nn");
	int			agg;
	GnnOp	   *op;
	char		where[64];

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_number(ctx, la, "eps", 0.0, &eps) ||
		!lw_arg_bool(ctx, la, "train_eps", false, &train_eps) ||
		!lw_get_tensor(ctx, la, "eps", true, 1, (int64[]) {1}, &eps_t))
		return false;
	if (eps_t)
		eps = eps_t[0];
	if (nn == NULL || nn->kind != GNN_JSON_ARRAY || nn->count == 0)
		return lw_spec_error(ctx, "%s needs \"nn\", a non-empty array of layers%s",
						  la->type, "");
	if (ctx->depth > 0)
		return lw_spec_error(ctx, "%s cannot be nested inside another layer%s",
						  la->type, "");

	agg = lw_emit_aggregate(ctx, ctx->cur, -1, GNN_AGGR_SUM, lw_view(ctx, GNN_EDGES_AS_GIVEN), 1);
	ctx->cur = lw_emit_binary(ctx, GNN_OP_AXPY, ctx->cur, agg, 1);
	op = &ctx->b.prog->ops[ctx->b.prog->nops - 1];
	op->alpha = (float) (1.0f + (float) eps);

	strlcpy(where, ctx->where, sizeof(where));
	ctx->depth++;
	if (!lower_layers(ctx, nn, la->prefix ? psprintf("%s.nn", la->prefix) : "nn"))
		return false;
	ctx->depth--;
	strlcpy(ctx->where, where, sizeof(ctx->where));
	return true;
}

/* BatchNorm1d in eval mode, folded to x * scale + shift as PyTorch does */
static bool
lower_batchnorm(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"prefix", "num_features", "eps",
	"momentum", "affine", "track_running_stats", NULL};
	int			nf;
	double		eps;
	bool		affine,
				track;
	const float *w = NULL,
			   *b = NULL,
			   *mean,
			   *var;
	float	   *scale,
			   *shift;
	const GnnTensorInfo *t = lw_peek_tensor(ctx, la, "running_mean");
	GnnOp	   *op;

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_int(ctx, la, "num_features", -1, &nf) ||
		!lw_arg_number(ctx, la, "eps", 1e-5, &eps) ||
		!lw_arg_bool(ctx, la, "affine", true, &affine) ||
		!lw_arg_bool(ctx, la, "track_running_stats", true, &track))
		return false;
	if (!track)
		return lw_spec_error(ctx, "%s without running statistics has no inference form%s",
						  la->type, "");
	if (nf < 0 && t && t->ndims == 1)
		nf = (int) Min(t->shape[0], PG_INT32_MAX);
	if (nf < 0)
		nf = ctx->width;
	if (nf <= 0)
		return lw_spec_error(ctx, "%s needs num_features%s", la->type, "");
	if (!lw_take_width(ctx, la, nf) ||
		!lw_get_tensor(ctx, la, "running_mean", false, 1, (int64[]) {nf}, &mean) ||
		!lw_get_tensor(ctx, la, "running_var", false, 1, (int64[]) {nf}, &var) ||
		(affine &&
		 (!lw_get_tensor(ctx, la, "weight", false, 1, (int64[]) {nf}, &w) ||
		  !lw_get_tensor(ctx, la, "bias", false, 1, (int64[]) {nf}, &b))))
		return false;

	scale = palloc(sizeof(float) * nf);
	shift = palloc(sizeof(float) * nf);
	for (int c = 0; c < nf; c++)
	{
		float		invstd = (float) (1.0 / sqrt((double) var[c] + eps));

		scale[c] = w ? w[c] * invstd : invstd;
		shift[c] = (b ? b[c] : 0.0f) - mean[c] * scale[c];
	}
	ctx->cur = lw_emit_unary(ctx, GNN_OP_AFFINE, ctx->cur, nf);
	op = &ctx->b.prog->ops[ctx->b.prog->nops - 1];
	op->scale = scale;
	op->shift = shift;
	return true;
}

static bool
lower_softmax(LowerCtx *ctx, const LayerArgs *la, GnnOpKind kind)
{
	static const char *const keys[] = {"dim", NULL};
	int			dim = -1;

	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_int(ctx, la, "dim", -1, &dim))
		return false;
	if (dim != -1 && dim != 1)
		return lw_spec_error(ctx, "%s must act on the feature dimension (dim -1 or 1)%s",
						  la->type, "");
	ctx->cur = lw_emit_unary(ctx, kind, ctx->cur, ctx->width);
	return true;
}

static bool
lower_activation(LowerCtx *ctx, const LayerArgs *la, GnnAct act,
				 const char *param, double dflt)
{
	const char *const keys[] = {"inplace", param ? param : "inplace", NULL};
	double		alpha = 0;
	const char *approx;

	if (act == GNN_ACT_GELU)
	{
		static const char *const gelu_keys[] = {"approximate", NULL};

		if (!lw_check_keys(ctx, la, gelu_keys) ||
			!lw_arg_string(ctx, la, "approximate", "none", &approx))
			return false;
		if (strcmp(approx, "none") != 0)
			return lw_spec_error(ctx, "%s approximate=\"%s\" is not supported (use \"none\")",
							  la->type, approx);
	}
	else if (!lw_check_keys(ctx, la, keys) ||
			 (param && !lw_arg_number(ctx, la, param, dflt, &alpha)))
		return false;
	ctx->cur = lw_emit_act(ctx, ctx->cur, act, (float) alpha);
	return true;
}

/* Dropout and Identity: nothing at inference */
static bool
lower_identity(LowerCtx *ctx, const LayerArgs *la)
{
	static const char *const keys[] = {"p", "inplace", NULL};

	return lw_check_keys(ctx, la, keys);
}

bool
lw_lower_layer(LowerCtx *ctx, const LayerArgs *la)
{
	const char *t = la->type;
	bool		dense_only = ctx->depth > 0;

	if (ctx->src_cur >= 0 && (strcmp(t, "GCNConv") == 0 || strcmp(t, "GINConv") == 0 ||
							  strcmp(t, "RGCNConv") == 0))
		return lw_spec_error(ctx, "%s needs an edge type whose source and target node types are the same%s",
							 t, "");

	if (strcmp(t, "Linear") == 0)
		return lower_linear(ctx, la);
	if (strcmp(t, "BatchNorm1d") == 0)
		return lower_batchnorm(ctx, la);
	if (strcmp(t, "ReLU") == 0)
		return lower_activation(ctx, la, GNN_ACT_RELU, NULL, 0);
	if (strcmp(t, "LeakyReLU") == 0)
		return lower_activation(ctx, la, GNN_ACT_LEAKY_RELU, "negative_slope", 0.01);
	if (strcmp(t, "ELU") == 0)
		return lower_activation(ctx, la, GNN_ACT_ELU, "alpha", 1.0);
	if (strcmp(t, "GELU") == 0)
		return lower_activation(ctx, la, GNN_ACT_GELU, NULL, 0);
	if (strcmp(t, "Sigmoid") == 0)
		return lower_activation(ctx, la, GNN_ACT_SIGMOID, NULL, 0);
	if (strcmp(t, "Tanh") == 0)
		return lower_activation(ctx, la, GNN_ACT_TANH, NULL, 0);
	if (strcmp(t, "Softmax") == 0)
		return lower_softmax(ctx, la, GNN_OP_SOFTMAX);
	if (strcmp(t, "LogSoftmax") == 0)
		return lower_softmax(ctx, la, GNN_OP_LOG_SOFTMAX);
	if (strcmp(t, "Dropout") == 0 || strcmp(t, "Identity") == 0)
		return lower_identity(ctx, la);
	if (!dense_only && strcmp(t, "SAGEConv") == 0)
		return lower_sage(ctx, la);
	if (!dense_only && strcmp(t, "GCNConv") == 0)
		return lower_gcn(ctx, la);
	if (!dense_only && strcmp(t, "GATConv") == 0)
		return lower_gat(ctx, la);
	if (!dense_only && strcmp(t, "RGCNConv") == 0)
		return lower_rgcn(ctx, la);
	if (strcmp(t, "GINConv") == 0)
		return lower_gin(ctx, la);
	if (!dense_only && strcmp(t, "Program") == 0)
		return gnn_lower_program(ctx, la, ctx->b.layer);
	if (dense_only && (strcmp(t, "SAGEConv") == 0 || strcmp(t, "GCNConv") == 0 ||
					   strcmp(t, "GATConv") == 0 || strcmp(t, "RGCNConv") == 0 ||
					   strcmp(t, "Program") == 0))
		return lw_spec_error(ctx, "%s cannot be nested inside another layer%s", t, "");
	return lw_spec_error(ctx, "unknown layer type \"%s\"%s", t, "");
}

/*
 * Lower an array of layers.  nn_prefix is set inside GINConv: nested layers
 * are keyed <nn_prefix>.<position> like torch.nn.Sequential.
 */
static bool
lower_layers(LowerCtx *ctx, const GnnJson *layers, const char *nn_prefix)
{
	char		outer[64];

	strlcpy(outer, ctx->where, sizeof(outer));
	for (int i = 0; i < layers->count; i++)
	{
		const GnnJson *lj = layers->items[i];
		const GnnJson *type = gnn_json_get(lj, "type");
		const GnnJson *prefix = gnn_json_get(lj, "prefix");
		LayerArgs	la;

		if (nn_prefix)
			snprintf(ctx->where, sizeof(ctx->where), "%s.nn[%d]", outer, i);
		else
			snprintf(ctx->where, sizeof(ctx->where), "layers[%d]", i);
		if (lj->kind != GNN_JSON_OBJECT || type == NULL ||
			type->kind != GNN_JSON_STRING)
			return lw_spec_error(ctx, "each layer must be an object with a string \"type\"%s%s",
							  "", "");
		if (prefix && prefix->kind != GNN_JSON_STRING)
			return lw_spec_error(ctx, "\"prefix\" must be a string%s%s", "", "");
		la.json = lj;
		la.type = type->string;
		la.prefix = prefix ? prefix->string :
			nn_prefix ? psprintf("%s.%d", nn_prefix, i) : NULL;

		if (nn_prefix == NULL)
			gnn_begin_layer(&ctx->b, la.type, ctx->width);
		if (!lw_lower_layer(ctx, &la))
			return false;
		if (nn_prefix == NULL)
			gnn_end_layer(&ctx->b, ctx->width);
	}
	return true;
}

bool
gnn_lower(const GnnJson *spec, const GnnSafetensors *st, GnnProgram **result,
		  GnnError *err)
{
	LowerCtx	ctx;
	const GnnJson *layers = gnn_json_get(spec, "layers");

	memset(&ctx, 0, sizeof(ctx));
	ctx.st = st;
	ctx.err = err;
	ctx.width = -1;
	ctx.src_cur = -1;
	strlcpy(ctx.where, "", sizeof(ctx.where));

	if (spec->kind != GNN_JSON_OBJECT || layers == NULL ||
		layers->kind != GNN_JSON_ARRAY || layers->count == 0)
		return gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec must be an object with a non-empty array \"layers\"");
	for (int i = 0; i < spec->count; i++)
		if (strcmp(spec->keys[i], "layers") != 0 &&
			strcmp(spec->keys[i], "description") != 0 &&
			strcmp(spec->keys[i], "metadata") != 0 &&
			strcmp(spec->keys[i], "to_hetero") != 0)
			return gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
							 "model spec: unknown key \"%s\" (expected \"layers\" and optionally \"description\", \"metadata\", \"to_hetero\")",
							 spec->keys[i]);

	gnn_builder_init(&ctx.b);
	if (gnn_json_get(spec, "metadata"))
	{
		if (!gnn_lower_hetero(&ctx, spec))
			return false;
		*result = ctx.b.prog;
		return true;
	}
	if (gnn_json_get(spec, "to_hetero"))
		return gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec: \"to_hetero\" needs \"metadata\" (the node and edge types)");
	ctx.cur = gnn_new_reg(&ctx.b, GNN_SPACE_NODE, 0, -1);
	gnn_emit(&ctx.b, GNN_OP_INPUT, ctx.cur, -1, -1);
	ctx.b.prog->input = ctx.cur;

	if (!lower_layers(&ctx, layers, NULL))
		return false;
	if (ctx.width < 0)
		return gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec has no layer with weights, so its input width is unknown");
	if (ctx.cur == ctx.b.prog->input)
		return gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "model spec computes nothing: its output is its input");
	fix_input_width(ctx.b.prog, 0, ctx.input_width);
	gnn_program_finish(&ctx.b, ctx.cur);
	*result = ctx.b.prog;
	return true;
}

char *
gnn_program_summary(const GnnProgram *prog)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int l = 0; l < prog->nlayers; l++)
	{
		const GnnLayerInfo *li = &prog->layers[l];

		if (l > 0)
			appendStringInfoString(&buf, ", ");
		if (li->in_width != li->out_width)
			appendStringInfo(&buf, "%s(%d->%d)", li->type, li->in_width,
							 li->out_width);
		else
			appendStringInfoString(&buf, li->type);
	}
	return buf.data;
}
