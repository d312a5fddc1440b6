/*-------------------------------------------------------------------------
 *
 * program.c
 *	  Building and describing module programs; see program.h.
 *
 *-------------------------------------------------------------------------
 */
#include "program.h"

#include "lib/stringinfo.h"

void
gnn_builder_init(GnnProgramBuilder *b)
{
	GnnProgram *prog = palloc0(sizeof(GnnProgram));

	b->prog = prog;
	b->maxops = 16;
	b->maxregs = 16;
	b->maxlayers = 8;
	b->layer = -1;
	prog->ops = palloc0(sizeof(GnnOp) * b->maxops);
	prog->regs = palloc0(sizeof(GnnReg) * b->maxregs);
	prog->layers = palloc0(sizeof(GnnLayerInfo) * b->maxlayers);
	prog->input = -1;
	prog->output = -1;
	prog->loop_fill = 1.0f;
	prog->ntypes = 1;
	prog->netypes = 1;
	for (int t = 0; t < GNN_MAX_NODE_TYPES; t++)
		prog->inputs[t] = prog->outputs[t] = -1;
}

/*
 * A new register: "where" is the node type of a node register, the view of
 * an edge register.
 */
int
gnn_new_reg(GnnProgramBuilder *b, GnnSpace space, int where, int width)
{
	GnnProgram *prog = b->prog;
	GnnReg	   *reg;

	if (prog->nregs == b->maxregs)
	{
		b->maxregs *= 2;
		prog->regs = repalloc(prog->regs, sizeof(GnnReg) * b->maxregs);
	}
	reg = &prog->regs[prog->nregs];
	reg->space = space;
	reg->view = (space == GNN_SPACE_EDGE) ? where : 0;
	reg->ntype = (space == GNN_SPACE_NODE) ? where : 0;
	reg->width = width;
	return prog->nregs++;
}

GnnOp *
gnn_emit(GnnProgramBuilder *b, GnnOpKind kind, int out, int a, int rb)
{
	GnnProgram *prog = b->prog;
	GnnOp	   *op;

	if (prog->nops == b->maxops)
	{
		b->maxops *= 2;
		prog->ops = repalloc(prog->ops, sizeof(GnnOp) * b->maxops);
	}
	op = &prog->ops[prog->nops++];
	memset(op, 0, sizeof(GnnOp));
	op->kind = kind;
	op->out = out;
	op->a = a;
	op->b = rb;
	op->layer = b->layer;
	op->heads = 1;
	return op;
}

void
gnn_begin_layer(GnnProgramBuilder *b, const char *type, int in_width)
{
	GnnProgram *prog = b->prog;

	if (prog->nlayers == b->maxlayers)
	{
		b->maxlayers *= 2;
		prog->layers = repalloc(prog->layers,
								sizeof(GnnLayerInfo) * b->maxlayers);
	}
	b->layer = prog->nlayers++;
	prog->layers[b->layer].type = type;
	prog->layers[b->layer].in_width = in_width;
	prog->layers[b->layer].out_width = in_width;
	prog->layers[b->layer].modules = NULL;
}

void
gnn_end_layer(GnnProgramBuilder *b, int out_width)
{
	b->prog->layers[b->layer].out_width = out_width;
}

/* Number the registers the operations write 0, 1, ... in order */
static void
renumber_regs(GnnProgram *prog)
{
	int		   *map = palloc(sizeof(int) * Max(prog->nregs, 1));
	GnnReg	   *regs = palloc(sizeof(GnnReg) * Max(prog->nregs, 1));
	int			n = 0;

	for (int r = 0; r < prog->nregs; r++)
		map[r] = -1;
	for (int i = 0; i < prog->nops; i++)
	{
		GnnOp	   *op = &prog->ops[i];

		regs[n] = prog->regs[op->out];
		map[op->out] = n++;
		op->out = map[op->out];
		if (op->a >= 0)
			op->a = map[op->a];
		if (op->b >= 0)
			op->b = map[op->b];
	}
	prog->input = map[prog->input];
	prog->output = prog->output >= 0 ? map[prog->output] : -1;
	for (int t = 0; t < prog->ntypes; t++)
	{
		if (prog->inputs[t] >= 0)
			prog->inputs[t] = map[prog->inputs[t]];
		if (prog->outputs[t] >= 0)
			prog->outputs[t] = map[prog->outputs[t]];
	}
	memcpy(prog->regs, regs, sizeof(GnnReg) * n);
	prog->nregs = n;
	pfree(map);
	pfree(regs);
}

/*
 * Remove the operations whose values nothing reads: a module program may
 * compute a tensor it does not use (the built-in layers never do), and a
 * value never read would stay allocated to the end of the inference.
 */
static void
drop_dead_ops(GnnProgram *prog)
{
	bool	   *needed = palloc0(sizeof(bool) * Max(prog->nregs, 1));
	bool	   *keep = palloc0(sizeof(bool) * Max(prog->nops, 1));
	int			n = 0;

	for (int t = 0; t < prog->ntypes; t++)
		if (prog->outputs[t] >= 0)
			needed[prog->outputs[t]] = true;
	for (int i = prog->nops - 1; i >= 0; i--)
	{
		const GnnOp *op = &prog->ops[i];

		keep[i] = needed[op->out] || op->kind == GNN_OP_INPUT;
		if (!keep[i])
			continue;
		if (op->a >= 0)
			needed[op->a] = true;
		if (op->b >= 0)
			needed[op->b] = true;
	}
	for (int i = 0; i < prog->nops; i++)
		if (keep[i])
			prog->ops[n++] = prog->ops[i];
	prog->nops = n;
	renumber_regs(prog);
	pfree(needed);
	pfree(keep);
}

/*
 * Finish a homogeneous program whose output is in register output.
 */
void
gnn_program_finish(GnnProgramBuilder *b, int output)
{
	b->prog->inputs[0] = b->prog->input;
	gnn_program_finish_types(b, &output);
}

/*
 * Finish a program with an output register per node type (-1: none), and
 * derive the facts the executor needs from the operations: which edge
 * views to build and which edge columns are read.
 */
void
gnn_program_finish_types(GnnProgramBuilder *b, const int *outputs)
{
	GnnProgram *prog = b->prog;

	memcpy(prog->outputs, outputs, sizeof(int) * prog->ntypes);
	prog->output = outputs[0];
	drop_dead_ops(prog);
	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];

		switch (op->kind)
		{
			case GNN_OP_EDGE_WEIGHT:
				if (op->relation)
					prog->uses_relation = true;
				else
					prog->uses_weight = true;
				/* FALLTHROUGH */
			case GNN_OP_GATHER_SRC:
			case GNN_OP_GATHER_DST:
			case GNN_OP_EDGE_DOT:
			case GNN_OP_AGGREGATE:
			case GNN_OP_EDGE_SOFTMAX:
				prog->uses_views[op->view] = true;
				break;
			case GNN_OP_EDGE_ATTR:
				prog->uses_views[op->view] = true;
				prog->attr_width[GNN_VIEW_ETYPE(op->view)] = prog->regs[op->out].width;
				break;
			default:
				break;
		}
	}
}

const char *
gnn_op_name(GnnOpKind kind)
{
	switch (kind)
	{
		case GNN_OP_INPUT:
			return "get_vertex";
		case GNN_OP_EDGE_WEIGHT:
			return "get_edge(weight)";
		case GNN_OP_EDGE_ATTR:
			return "get_edge(edge_attr)";
		case GNN_OP_EXTREME:
			return "extreme";
		case GNN_OP_GATHER_SRC:
			return "get_edge(src)";
		case GNN_OP_GATHER_DST:
			return "get_edge(dst)";
		case GNN_OP_EDGE_DOT:
			return "edge_dot";
		case GNN_OP_LINEAR:
			return "linear";
		case GNN_OP_CONCAT:
			return "concat";
		case GNN_OP_EQUALS:
			return "equals";
		case GNN_OP_DIV:
			return "div";
		case GNN_OP_SLICE:
			return "slice";
		case GNN_OP_ADD:
			return "add";
		case GNN_OP_MUL:
			return "mul";
		case GNN_OP_AXPY:
			return "axpy";
		case GNN_OP_AFFINE:
			return "affine";
		case GNN_OP_ACT:
			return "activation";
		case GNN_OP_HEAD_DOT:
			return "head_dot";
		case GNN_OP_HEAD_MEAN:
			return "head_mean";
		case GNN_OP_L2NORM:
			return "l2norm";
		case GNN_OP_SOFTMAX:
			return "softmax";
		case GNN_OP_LOG_SOFTMAX:
			return "log_softmax";
		case GNN_OP_AGGREGATE:
			return "message_passing";
		case GNN_OP_EDGE_SOFTMAX:
			return "edge_softmax";
	}
	return "?";
}

const char *
gnn_aggr_name(GnnAggr aggr)
{
	switch (aggr)
	{
		case GNN_AGGR_SUM:
			return "sum";
		case GNN_AGGR_MEAN:
			return "mean";
		case GNN_AGGR_MAX:
			return "max";
		case GNN_AGGR_MIN:
			return "min";
	}
	return "?";
}

/*
 * One line per operation, e.g. "r3 = linear(r1) [node x 64]", for
 * gnn_model_program() and EXPLAIN VERBOSE.
 */
char *
gnn_program_describe(const GnnProgram *prog)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];
		const GnnReg *reg = &prog->regs[op->out];

		if (op->layer >= 0)
			appendStringInfo(&buf, "%d: ", op->layer);
		appendStringInfo(&buf, "r%d = %s", op->out, gnn_op_name(op->kind));
		if (op->kind == GNN_OP_AGGREGATE)
			appendStringInfo(&buf, "[%s]", gnn_aggr_name(op->aggr));
		appendStringInfoChar(&buf, '(');
		if (op->a >= 0)
			appendStringInfo(&buf, "r%d", op->a);
		if (op->b >= 0)
			appendStringInfo(&buf, ", r%d", op->b);
		appendStringInfo(&buf, ") [%s%s x %d]\n",
						 reg->space == GNN_SPACE_NODE ? "node" : "edge",
						 (reg->space == GNN_SPACE_EDGE &&
						  GNN_VIEW_MODE(reg->view) == GNN_EDGES_ONE_SELF_LOOP) ?
						 "+loops" : "",
						 reg->width);
	}
	return buf.data;
}

int
gnn_program_width(const GnnProgram *prog, int reg)
{
	return prog->regs[reg].width;
}

/*
 * For each register, the index of the last operation that reads it (the
 * output register is read "after" the program: nops).  Lets the executor
 * free intermediate tensors as early as possible.
 */
int *
gnn_program_last_use(const GnnProgram *prog)
{
	int		   *last = palloc(sizeof(int) * prog->nregs);

	for (int r = 0; r < prog->nregs; r++)
		last[r] = -1;
	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];

		if (op->a >= 0)
			last[op->a] = i;
		if (op->b >= 0)
			last[op->b] = i;
	}
	for (int t = 0; t < prog->ntypes; t++)
		if (prog->outputs[t] >= 0)
			last[prog->outputs[t]] = prog->nops;
	return last;
}

/* The width of the model's output (its first node type's with one) */
int
gnn_program_output_width(const GnnProgram *prog)
{
	for (int t = 0; t < prog->ntypes; t++)
		if (prog->outputs[t] >= 0)
			return prog->regs[prog->outputs[t]].width;
	return 0;
}

/*
 * Per operation, whether register out depends on it: a heterogeneous
 * model's other node types' outputs (and what only they read) need not be
 * computed when one type's rows are wanted.
 */
bool *
gnn_program_needed_ops(const GnnProgram *prog, int out)
{
	bool	   *needed = palloc0(sizeof(bool) * Max(prog->nops, 1));
	bool	   *live = palloc0(sizeof(bool) * prog->nregs);

	live[out] = true;
	for (int i = prog->nops - 1; i >= 0; i--)
	{
		const GnnOp *op = &prog->ops[i];

		if (!live[op->out])
			continue;
		needed[i] = true;
		if (op->a >= 0)
			live[op->a] = true;
		if (op->b >= 0)
			live[op->b] = true;
	}
	pfree(live);
	return needed;
}

/* Whether reg is an input: a node type's features, read from the graph */
bool
gnn_program_is_input(const GnnProgram *prog, int reg)
{
	if (reg == prog->input)
		return true;
	for (int t = 0; t < prog->ntypes; t++)
		if (prog->inputs[t] == reg)
			return true;
	return false;
}

bool
gnn_program_is_output(const GnnProgram *prog, int reg)
{
	for (int t = 0; t < prog->ntypes; t++)
		if (prog->outputs[t] == reg)
			return true;
	return false;
}

/*
 * The node type whose nodes op runs over: a node output's type, else the
 * target type of its edges.
 */
int
gnn_op_node_type(const GnnProgram *prog, const GnnOp *op)
{
	const GnnReg *out = &prog->regs[op->out];

	if (out->space == GNN_SPACE_NODE)
		return out->ntype;
	return prog->etypes[GNN_VIEW_ETYPE(out->view)].dst;
}

/*
 * The node register op reads at edge sources (other nodes' rows), or -1:
 * in a distributed run, the rows a shard needs from others.
 */
int
gnn_op_source_read(const GnnProgram *prog, const GnnOp *op)
{
	if (op->kind == GNN_OP_GATHER_SRC ||
		(op->kind == GNN_OP_AGGREGATE && prog->regs[op->a].space == GNN_SPACE_NODE))
		return op->a;
	if (op->kind == GNN_OP_EDGE_DOT)
		return op->b;
	return -1;
}

/* The spec layer of the first operation reading reg at edge sources */
int
gnn_source_read_layer(const GnnProgram *prog, int reg)
{
	for (int i = 0; i < prog->nops; i++)
		if (gnn_op_source_read(prog, &prog->ops[i]) == reg)
			return prog->ops[i].layer;
	return 0;
}
