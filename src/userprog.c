/*-------------------------------------------------------------------------
 *
 * userprog.c
 *	  Layers written by the user as module programs.
 *
 * A spec layer {"type": "Program", "modules": [...], "output": "y"} is a
 * short program of the four module kinds, each module naming the tensors
 * it reads ("in") and the one it defines ("out"):
 *
 *	get_vertex		 a node tensor: the layer's input (on a bipartite edge
 *					 type of a heterogeneous graph, the target type's, or
 *					 with "side": "source" the source type's), or a node
 *					 tensor an earlier Program layer defined ("tensor")
 *	get_edge		 an edge tensor: a node tensor at each edge's source or
 *					 target ("side"), or the edge weight column
 *					 ("column": "weight"), relation ids ("relation") or
 *					 edge features ("edge_attr", with their "width")
 *	transform		 "op": linear, bias, add, axpy, mul, div, concat, slice,
 *					 equals, relu, leaky_relu, elu, gelu, sigmoid, tanh, rsqrt,
 *					 l2norm, softmax, log_softmax, head_dot, head_mean; on node or edge
 *					 tensors; weights by safetensors name under "prefix"
 *	message_passing  "aggr": sum, mean, max, min (edge tensor, or node
 *					 tensor taken at each edge's source, to the target
 *					 nodes, optionally scaled by a "coef" edge tensor), or
 *					 softmax (an edge tensor over each node's in-edges)
 *
 * The message-passing layers PyG defines (lower.c) are written as module
 * programs too and lowered here (lw_lower_modules), so a program written
 * like a built-in layer is the built-in, bit for bit, and the JIT compiles
 * user programs like built-ins.
 *
 *-------------------------------------------------------------------------
 */
#include "lowerctx.h"

/* One Program layer being lowered */
typedef struct ProgCtx
{
	LowerCtx   *ctx;
	const LayerArgs *la;
	int			layer;			/* spec layer index */
	int			view;			/* the edges every edge module sees */
	float		loop_fill;
	const GnnJson *mod;			/* the module being lowered */
	char		outer[64];		/* ctx->where of the layer */
} ProgCtx;

static bool
mod_error(ProgCtx *pc, const char *fmt, const char *a, const char *b)
{
	return lw_spec_error(pc->ctx, fmt, a, b);
}

/* ---------- named tensors ---------- */

/* The register of a named tensor; later definitions hide earlier ones */
static int
lookup(ProgCtx *pc, const char *name)
{
	for (int i = pc->ctx->nnames - 1; i >= 0; i--)
		if (strcmp(pc->ctx->names[i].name, name) == 0)
			return pc->ctx->names[i].reg;
	return -1;
}

static bool
define(ProgCtx *pc, const char *name, int reg)
{
	LowerCtx   *ctx = pc->ctx;

	for (int i = 0; i < ctx->nnames; i++)
		if (ctx->names[i].layer == pc->layer && strcmp(ctx->names[i].name, name) == 0)
			return mod_error(pc, "tensor \"%s\" is defined twice%s", name, "");
	if (ctx->nnames == ctx->maxnames)
	{
		ctx->maxnames = Max(16, ctx->maxnames * 2);
		ctx->names = ctx->names ?
			repalloc(ctx->names, sizeof(LowerName) * ctx->maxnames) :
			palloc(sizeof(LowerName) * ctx->maxnames);
	}
	ctx->names[ctx->nnames].name = name;
	ctx->names[ctx->nnames].reg = reg;
	ctx->names[ctx->nnames].layer = pc->layer;
	ctx->nnames++;
	return true;
}

/* ---------- module arguments ---------- */

static const char *
mod_string(ProgCtx *pc, const char *key)
{
	const GnnJson *v = gnn_json_get(pc->mod, key);

	return (v && v->kind == GNN_JSON_STRING) ? v->string : NULL;
}

static bool
mod_int(ProgCtx *pc, const char *key, int dflt, int *out)
{
	LayerArgs	la = {pc->mod, pc->la->type, pc->la->prefix};

	return lw_arg_int(pc->ctx, &la, key, dflt, out);
}

static bool
mod_number(ProgCtx *pc, const char *key, double dflt, double *out)
{
	LayerArgs	la = {pc->mod, pc->la->type, pc->la->prefix};

	return lw_arg_number(pc->ctx, &la, key, dflt, out);
}

static bool
mod_keys(ProgCtx *pc, const char *const *allowed)
{
	LayerArgs	la = {pc->mod, "the module", pc->la->prefix};

	return lw_check_keys(pc->ctx, &la, allowed);
}

/* The register of the tensor named by key ("in", "coef"), or -1 */
static bool
tensor_arg(ProgCtx *pc, const char *key, bool optional, int *reg)
{
	const GnnJson *v = gnn_json_get(pc->mod, key);

	*reg = -1;
	if (v == NULL && optional)
		return true;
	if (v == NULL || v->kind != GNN_JSON_STRING)
		return mod_error(pc, "the module needs a tensor name in \"%s\"%s", key, "");
	if ((*reg = lookup(pc, v->string)) < 0)
		return mod_error(pc, "unknown tensor \"%s\"%s", v->string, "");
	return true;
}

/* The two registers of "in": [a, b] */
static bool
tensor_pair(ProgCtx *pc, int *a, int *b)
{
	const GnnJson *v = gnn_json_get(pc->mod, "in");

	if (v == NULL || v->kind != GNN_JSON_ARRAY || v->count != 2 ||
		v->items[0]->kind != GNN_JSON_STRING || v->items[1]->kind != GNN_JSON_STRING)
		return mod_error(pc, "the module needs two tensor names in \"in\"%s%s", "", "");
	if ((*a = lookup(pc, v->items[0]->string)) < 0)
		return mod_error(pc, "unknown tensor \"%s\"%s", v->items[0]->string, "");
	if ((*b = lookup(pc, v->items[1]->string)) < 0)
		return mod_error(pc, "unknown tensor \"%s\"%s", v->items[1]->string, "");
	return true;
}

static const GnnReg *
reg_of(ProgCtx *pc, int reg)
{
	return &pc->ctx->b.prog->regs[reg];
}

static bool
need_space(ProgCtx *pc, int reg, GnnSpace space, const char *what)
{
	if (reg_of(pc, reg)->space != space)
		return mod_error(pc, "%s must be %s tensor", what,
						 space == GNN_SPACE_NODE ? "a node" : "an edge");
	return true;
}

/* A weight <prefix>.<name> of the given shape; its name comes from key */
static bool
weight_arg(ProgCtx *pc, const char *key, bool optional, int ndims,
		   const int64 *shape, const float **out)
{
	const char *name = mod_string(pc, key);

	*out = NULL;
	if (name == NULL)
	{
		if (optional && gnn_json_get(pc->mod, key) == NULL)
			return true;
		return mod_error(pc, "\"%s\" must name a tensor of the weights%s", key, "");
	}
	return lw_get_tensor(pc->ctx, pc->la, name, false, ndims, shape, out);
}

/* ---------- modules ---------- */

/* The node type of the source or target side of the layer's edges */
static int
side_type(ProgCtx *pc, bool source)
{
	const GnnEdgeType *et = &pc->ctx->b.prog->etypes[GNN_VIEW_ETYPE(pc->view)];

	return source ? et->src : et->dst;
}

/* A node tensor read at one side of the edges must be of that side's type */
static bool
need_side(ProgCtx *pc, int reg, bool source, const char *what)
{
	if (reg_of(pc, reg)->ntype != side_type(pc, source))
		return mod_error(pc, "%s must be a tensor of the edges' %s node type",
						 what, source ? "source" : "target");
	return true;
}

static bool
get_vertex(ProgCtx *pc, int *out)
{
	static const char *const keys[] = {"module", "out", "tensor", "side", NULL};
	const char *name = mod_string(pc, "tensor");
	const char *side = mod_string(pc, "side");

	if (!mod_keys(pc, keys))
		return false;
	if (side && strcmp(side, "source") != 0 && strcmp(side, "target") != 0)
		return mod_error(pc, "get_vertex's \"side\" must be \"source\" or \"target\"%s%s",
						 "", "");
	if (name == NULL)
	{
		*out = (side && side[0] == 's') ? lw_src(pc->ctx) : pc->ctx->cur;
		return true;
	}
	if ((*out = lookup(pc, name)) < 0)
		return mod_error(pc, "unknown tensor \"%s\"%s", name, "");
	return need_space(pc, *out, GNN_SPACE_NODE, "get_vertex's tensor");
}

static bool
get_edge(ProgCtx *pc, int *out)
{
	static const char *const keys[] = {"module", "out", "tensor", "side",
	"column", "width", NULL};
	const char *column = mod_string(pc, "column");
	const char *side = mod_string(pc, "side");
	int			a;

	if (!mod_keys(pc, keys))
		return false;
	if (column && strcmp(column, "edge_attr") == 0)
	{
		int			width;

		if (!mod_int(pc, "width", -1, &width))
			return false;
		if (width < 1)
			return mod_error(pc, "get_edge of \"edge_attr\" needs its \"width\"%s%s", "", "");
		*out = gnn_new_reg(&pc->ctx->b, GNN_SPACE_EDGE, pc->view, width);
		gnn_emit(&pc->ctx->b, GNN_OP_EDGE_ATTR, *out, -1, -1)->view = pc->view;
		return true;
	}
	if (column)
	{
		if (strcmp(column, "weight") != 0 && strcmp(column, "relation") != 0)
			return mod_error(pc, "unknown edge column \"%s\" (\"weight\", \"relation\" or \"edge_attr\")%s",
							 column, "");
		*out = lw_emit_edge_weight(pc->ctx, pc->view, pc->loop_fill);
		pc->ctx->b.prog->ops[pc->ctx->b.prog->nops - 1].relation = (column[0] == 'r');
		return true;
	}
	if (!tensor_arg(pc, "tensor", false, &a) ||
		!need_space(pc, a, GNN_SPACE_NODE, "get_edge's tensor"))
		return false;
	if (side == NULL || (strcmp(side, "source") != 0 && strcmp(side, "target") != 0))
		return mod_error(pc, "get_edge needs \"side\": \"source\" or \"target\"%s%s",
						 "", "");
	if (!need_side(pc, a, side[0] == 's', "get_edge's tensor"))
		return false;
	*out = lw_emit_gather(pc->ctx, side[0] == 's' ? GNN_OP_GATHER_SRC :
						  GNN_OP_GATHER_DST, a, pc->view);
	return true;
}

/* transform linear: in x weight^T (+ bias) */
static bool
transform_linear(ProgCtx *pc, int a, int *out)
{
	int			in = reg_of(pc, a)->width;
	const float *w,
			   *bias;
	const char *wname = mod_string(pc, "weight");
	const GnnTensorInfo *t = wname ? lw_peek_tensor(pc->ctx, pc->la, wname) : NULL;
	int64		n = (t && t->ndims == 2) ? t->shape[0] : -1;

	if (!weight_arg(pc, "weight", false, 2, (int64[]) {-1, in}, &w) ||
		!weight_arg(pc, "bias", true, 1, &n, &bias))
		return false;
	*out = lw_emit_linear(pc->ctx, a, w, bias, (int) n);
	return true;
}

static bool
transform_activation(ProgCtx *pc, const char *op, int a, int *out)
{
	static const struct
	{
		const char *name;
		GnnAct		act;
		const char *param;
		double		dflt;
	}			acts[] = {
		{"relu", GNN_ACT_RELU, NULL, 0},
		{"leaky_relu", GNN_ACT_LEAKY_RELU, "negative_slope", 0.01},
		{"elu", GNN_ACT_ELU, "alpha", 1.0},
		{"gelu", GNN_ACT_GELU, NULL, 0},
		{"sigmoid", GNN_ACT_SIGMOID, NULL, 0},
		{"tanh", GNN_ACT_TANH, NULL, 0},
		{"rsqrt", GNN_ACT_RSQRT0, NULL, 0},
	};

	for (int i = 0; i < lengthof(acts); i++)
		if (strcmp(op, acts[i].name) == 0)
		{
			double		alpha = acts[i].dflt;

			if (acts[i].param && !mod_number(pc, acts[i].param, acts[i].dflt, &alpha))
				return false;
			*out = lw_emit_act(pc->ctx, a, acts[i].act, (float) alpha);
			return true;
		}
	return mod_error(pc, "unknown transform \"%s\"%s", op, "");
}

/* transform ops of two tensors: add, axpy, mul, div, concat */
static bool
transform_binary(ProgCtx *pc, const char *op, int *out)
{
	int			a = -1,
				b = -1;
	const GnnReg *ra,
			   *rb;

	if (!tensor_pair(pc, &a, &b))
		return false;
	ra = reg_of(pc, a);
	rb = reg_of(pc, b);
	if (ra->space != rb->space)
		return mod_error(pc, "%s of a node and an edge tensor%s", op, "");
	if (ra->space == GNN_SPACE_NODE && ra->ntype != rb->ntype)
		return mod_error(pc, "%s of tensors of two node types%s", op, "");
	if (strcmp(op, "add") == 0 || strcmp(op, "axpy") == 0)
	{
		double		alpha = 1.0;

		if (ra->width != rb->width)
			return mod_error(pc, "%s needs tensors of one width%s", op, "");
		if (op[1] == 'x' && !mod_number(pc, "alpha", 1.0, &alpha))
			return false;
		*out = lw_emit_binary(pc->ctx, op[1] == 'x' ? GNN_OP_AXPY : GNN_OP_ADD, a, b, 1);
		pc->ctx->b.prog->ops[pc->ctx->b.prog->nops - 1].alpha = (float) alpha;
	}
	else if (strcmp(op, "mul") == 0 || strcmp(op, "div") == 0)
	{
		/* the second may have one column per head: a block of columns each */
		if (rb->width != ra->width && (rb->width == 0 || ra->width % rb->width != 0))
			return mod_error(pc, "%s's second tensor must have the first's width or divide it%s",
							 op, "");
		*out = lw_emit_binary(pc->ctx, op[0] == 'm' ? GNN_OP_MUL : GNN_OP_DIV, a, b,
							  rb->width);
	}
	else
	{
		int			r = gnn_new_reg(&pc->ctx->b, ra->space, lw_reg_where(ra),
									ra->width + rb->width);

		gnn_emit(&pc->ctx->b, GNN_OP_CONCAT, r, a, b)->view = ra->view;
		*out = r;
	}
	return true;
}

static bool
transform_slice(ProgCtx *pc, int a, int *out)
{
	int			width = reg_of(pc, a)->width;
	int			start,
				end;
	GnnOp	   *op;

	if (!mod_int(pc, "start", 0, &start) || !mod_int(pc, "end", width, &end))
		return false;
	if (start < 0 || end > width || start >= end)
		return mod_error(pc, "slice needs 0 <= start < end <= the tensor's width%s%s",
						 "", "");
	*out = lw_emit_unary(pc->ctx, GNN_OP_SLICE, a, end - start);
	op = &pc->ctx->b.prog->ops[pc->ctx->b.prog->nops - 1];
	op->start = start;
	return true;
}

/* head_dot (with an attention tensor) and head_mean */
static bool
transform_heads(ProgCtx *pc, const char *op, int a, int *out)
{
	int			width = reg_of(pc, a)->width;
	int			heads;
	const float *att;

	if (!mod_int(pc, "heads", 1, &heads))
		return false;
	if (heads < 1 || width % heads != 0)
		return mod_error(pc, "%s needs heads dividing the tensor's width%s", op, "");
	if (strcmp(op, "head_mean") == 0)
	{
		*out = lw_emit_unary(pc->ctx, GNN_OP_HEAD_MEAN, a, width / heads);
		pc->ctx->b.prog->ops[pc->ctx->b.prog->nops - 1].heads = heads;
		return true;
	}
	/* PyG's att_src is [1, heads, channels] */
	if (!weight_arg(pc, "att", false, 3, (int64[]) {1, heads, width / heads}, &att))
		return false;
	*out = lw_emit_head_dot(pc->ctx, a, att, heads);
	return true;
}

static bool
transform(ProgCtx *pc, int *out)
{
	static const char *const keys[] = {"module", "out", "op", "in", "weight",
		"bias", "start", "end", "heads", "att", "negative_slope", "alpha", "value",
	NULL};
	const char *op = mod_string(pc, "op");
	int			a;

	if (!mod_keys(pc, keys))
		return false;
	if (op == NULL)
		return mod_error(pc, "transform needs \"op\"%s%s", "", "");
	if (strcmp(op, "add") == 0 || strcmp(op, "axpy") == 0 ||
		strcmp(op, "mul") == 0 || strcmp(op, "div") == 0 ||
		strcmp(op, "concat") == 0)
		return transform_binary(pc, op, out);
	if (!tensor_arg(pc, "in", false, &a))
		return false;
	if (strcmp(op, "linear") == 0)
		return transform_linear(pc, a, out);
	if (strcmp(op, "bias") == 0)
	{
		const float *bias;

		if (!weight_arg(pc, "bias", false, 1, (int64[]) {reg_of(pc, a)->width}, &bias))
			return false;
		*out = lw_emit_bias(pc->ctx, a, bias);
		return true;
	}
	if (strcmp(op, "slice") == 0)
		return transform_slice(pc, a, out);
	if (strcmp(op, "equals") == 0)
	{
		double		value;

		if (!mod_number(pc, "value", 0.0, &value))
			return false;
		*out = lw_emit_unary(pc->ctx, GNN_OP_EQUALS, a, reg_of(pc, a)->width);
		pc->ctx->b.prog->ops[pc->ctx->b.prog->nops - 1].alpha = (float) value;
		return true;
	}
	if (strcmp(op, "head_dot") == 0 || strcmp(op, "head_mean") == 0)
		return transform_heads(pc, op, a, out);
	if (strcmp(op, "l2norm") == 0 || strcmp(op, "softmax") == 0 ||
		strcmp(op, "log_softmax") == 0)
	{
		*out = lw_emit_unary(pc->ctx, op[0] == 'l' && op[1] == '2' ? GNN_OP_L2NORM :
							 op[0] == 's' ? GNN_OP_SOFTMAX : GNN_OP_LOG_SOFTMAX,
							 a, reg_of(pc, a)->width);
		return true;
	}
	return transform_activation(pc, op, a, out);
}

static bool
message_passing(ProgCtx *pc, int *out)
{
	static const char *const keys[] = {"module", "out", "aggr", "in", "coef", NULL};
	static const char *const aggrs[] = {"sum", "mean", "max", "min"};
	const char *aggr = mod_string(pc, "aggr");
	int			msg,
				coef;

	if (!mod_keys(pc, keys) || !tensor_arg(pc, "in", false, &msg) ||
		!tensor_arg(pc, "coef", true, &coef))
		return false;
	if (aggr && strcmp(aggr, "softmax") == 0)
	{
		if (coef >= 0)
			return mod_error(pc, "softmax takes no \"coef\"%s%s", "", "");
		if (!need_space(pc, msg, GNN_SPACE_EDGE, "softmax's input"))
			return false;
		*out = lw_emit_unary(pc->ctx, GNN_OP_EDGE_SOFTMAX, msg, reg_of(pc, msg)->width);
		pc->ctx->b.prog->ops[pc->ctx->b.prog->nops - 1].view = pc->view;
		return true;
	}
	if (reg_of(pc, msg)->space == GNN_SPACE_NODE &&
		!need_side(pc, msg, true, "a message_passing node tensor"))
		return false;
	for (int i = 0; aggr && i < lengthof(aggrs); i++)
		if (strcmp(aggr, aggrs[i]) == 0)
		{
			int			heads = 1;

			if (coef >= 0)
			{
				heads = reg_of(pc, coef)->width;
				if (!need_space(pc, coef, GNN_SPACE_EDGE, "\"coef\"") ||
					reg_of(pc, msg)->width % heads != 0)
					return mod_error(pc, "\"coef\" must have 1 column or one per head%s%s",
									 "", "");
			}
			*out = lw_emit_aggregate(pc->ctx, msg, coef, (GnnAggr) i, pc->view, heads);
			return true;
		}
	return mod_error(pc, "message_passing needs \"aggr\": sum, mean, max, min or softmax%s%s",
					 "", "");
}

static bool
lower_module(ProgCtx *pc, int index)
{
	const char *kind;
	const char *name;
	int			out = -1;
	bool		ok;

	snprintf(pc->ctx->where, sizeof(pc->ctx->where), "%s.modules[%d]", pc->outer, index);
	if (pc->mod->kind != GNN_JSON_OBJECT)
		return mod_error(pc, "each module must be an object%s%s", "", "");
	kind = mod_string(pc, "module");
	name = mod_string(pc, "out");
	if (kind == NULL || name == NULL)
		return mod_error(pc, "each module needs strings \"module\" and \"out\"%s%s",
						 "", "");
	if (strcmp(kind, "get_vertex") == 0)
		ok = get_vertex(pc, &out);
	else if (strcmp(kind, "get_edge") == 0)
		ok = get_edge(pc, &out);
	else if (strcmp(kind, "transform") == 0)
		ok = transform(pc, &out);
	else if (strcmp(kind, "message_passing") == 0)
		ok = message_passing(pc, &out);
	else
		return mod_error(pc, "unknown module \"%s\" (get_vertex, get_edge, transform, message_passing)",
						 kind, "");
	return ok && define(pc, name, out);
}

/*
 * {"type": "Program", "prefix": ..., "in_channels": ..., "self_loops":
 * "as_given" | "one_per_node", "loop_fill": 1.0, "modules": [...],
 * "output": name}
 */
bool
gnn_lower_program(LowerCtx *ctx, const LayerArgs *la, int layer)
{
	static const char *const keys[] = {"type", "prefix", "in_channels",
	"self_loops", "loop_fill", "modules", "output", NULL};
	const GnnJson *mods = gnn_json_get(la->json, "modules");
	const char *loops;
	const char *output;
	double		fill;
	int			in;
	int			y;
	ProgCtx		pc;

	memset(&pc, 0, sizeof(pc));
	pc.ctx = ctx;
	pc.la = la;
	pc.layer = layer;
	strlcpy(pc.outer, ctx->where, sizeof(pc.outer));
	if (!lw_check_keys(ctx, la, keys) ||
		!lw_arg_string(ctx, la, "self_loops", "as_given", &loops) ||
		!lw_arg_number(ctx, la, "loop_fill", 1.0, &fill) ||
		!lw_arg_int(ctx, la, "in_channels", -1, &in) ||
		!lw_arg_string(ctx, la, "output", NULL, &output))
		return false;
	if (strcmp(loops, "as_given") != 0 && strcmp(loops, "one_per_node") != 0)
		return lw_spec_error(ctx, "\"self_loops\" must be \"as_given\" or \"one_per_node\"%s%s",
							 "", "");
	pc.view = lw_view(ctx, loops[0] == 'o' ? GNN_EDGES_ONE_SELF_LOOP : GNN_EDGES_AS_GIVEN);
	if (loops[0] == 'o' && side_type(&pc, true) != side_type(&pc, false))
		return lw_spec_error(ctx, "self loops need an edge type whose source and target node types are the same%s%s",
							 "", "");
	pc.loop_fill = (float) fill;
	if (mods == NULL || mods->kind != GNN_JSON_ARRAY || mods->count == 0 || output == NULL)
		return lw_spec_error(ctx, "a Program needs a non-empty array \"modules\" and an \"output\"%s%s",
							 "", "");
	/* in_channels: the width of the values messages are read from */
	if (in > 0 || ctx->width < 0)
	{
		if (in <= 0)
			return lw_spec_error(ctx, "a Program first in the model needs \"in_channels\"%s%s",
								 "", "");
		if (!lw_take_src_width(ctx, la, in))
			return false;
	}

	for (int i = 0; i < mods->count; i++)
	{
		pc.mod = mods->items[i];
		if (!lower_module(&pc, i))
			return false;
	}
	strlcpy(ctx->where, pc.outer, sizeof(ctx->where));
	y = lookup(&pc, output);
	if (y < 0)
		return lw_spec_error(ctx, "unknown output tensor \"%s\"%s", output, "");
	if (reg_of(&pc, y)->space != GNN_SPACE_NODE)
		return lw_spec_error(ctx, "the output \"%s\" must be a node tensor%s", output, "");
	if (reg_of(&pc, y)->ntype != ctx->cur_type)
		return lw_spec_error(ctx, "the output \"%s\" must be a tensor of the target node type%s",
							 output, "");
	ctx->cur = y;
	ctx->width = reg_of(&pc, y)->width;
	return true;
}

/* ---------- built-in layers as module programs ---------- */

void
lw_modules_begin(LowerModules *m)
{
	initStringInfo(&m->buf);
	m->n = 0;
}

/* Append one module, a JSON object */
void
lw_module(LowerModules *m, const char *fmt,...)
{
	if (m->n++ > 0)
		appendStringInfoString(&m->buf, ", ");
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&m->buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&m->buf, needed);
	}
}

/*
 * Lower a built-in layer's module program: in input channels, the
 * modules, the output tensor, the edges (one self loop per node, the loops
 * added weighing loop_fill).  The layer's tensor names stay its own.
 */
bool
lw_lower_modules(LowerCtx *ctx, const LayerArgs *la, LowerModules *m, int in,
				 const char *output, bool one_loop, float loop_fill)
{
	StringInfoData text;
	GnnJson    *json;
	LayerArgs	pla;
	int			names = ctx->nnames;
	bool		ok;

	initStringInfo(&text);
	appendStringInfo(&text, "{\"type\": \"Program\", \"in_channels\": %d, "
					 "\"self_loops\": \"%s\", \"loop_fill\": %.9g, "
					 "\"modules\": [%s], \"output\": \"%s\"}",
					 in, one_loop ? "one_per_node" : "as_given", loop_fill,
					 m->buf.data, output);
	if (!gnn_json_parse(text.data, text.len, &json, ctx->err))
		return false;
	pla.json = json;
	pla.type = la->type;
	pla.prefix = la->prefix;
	ok = gnn_lower_program(ctx, &pla, ctx->b.layer);
	ctx->nnames = names;
	if (ok)
		ctx->b.prog->layers[ctx->b.layer].modules = text.data;
	return ok;
}
