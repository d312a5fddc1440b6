/*-------------------------------------------------------------------------
 *
 * program.h
 *	  The module program: the one form every GNN layer is lowered to.
 *
 * Following the layer decomposition of full-graph GNN inference, a model
 * is a flat list of operations from three module families:
 *
 *	get_vertex / get_edge	named node and edge tensors: the layer input,
 *							the edge weight column, node rows gathered at
 *							each edge's source or target;
 *	transform				dense per-row math on node or edge tensors:
 *							matrix products, bias, element-wise activations,
 *							per-head dot products, normalisations;
 *	message_passing			edge -> node aggregation over the in-edges of
 *							each node (sum, mean, max, min), and the softmax
 *							of an edge tensor over each node's in-edges.
 *
 * Every operation writes one new register (static single assignment).  A
 * register is a dense float32 matrix whose rows are either the graph's
 * nodes or the edges of one edge view, so the executor (exec.c), the JIT
 * (jit/) and the parallel and distributed drivers all run the same
 * program.  Each node's value in each register is computed exactly once
 * per inference: there is no sampling and no per-target subgraph.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_PROGRAM_H
#define GNN_PROGRAM_H

#include "gnnerror.h"

/* What the rows of a register are */
typedef enum GnnSpace
{
	GNN_SPACE_NODE,				/* one row per node */
	GNN_SPACE_EDGE				/* one row per edge of the op's edge view */
} GnnSpace;

/*
 * Which edges a message-passing or edge operation sees.  GCN and GAT remove
 * every existing self loop and add exactly one per node; the added loop of a
 * node keeps the weight of its (last) existing loop, else loop_fill.
 */
typedef enum GnnEdgeView
{
	GNN_EDGES_AS_GIVEN,
	GNN_EDGES_ONE_SELF_LOOP
} GnnEdgeView;

/*
 * Heterogeneous graphs.  Nodes of all types share one numbering, each type
 * a contiguous range; a node register holds the rows of one node type.
 * Each edge type has its own edges, in the two views above: the view
 * number of an operation is edge type * 2 + GnnEdgeView.  A homogeneous
 * graph is one node type and one edge type, so views 0 and 1 are its own.
 */
#define GNN_MAX_NODE_TYPES 32
#define GNN_MAX_EDGE_TYPES 64
#define GNN_MAX_VIEWS (2 * GNN_MAX_EDGE_TYPES)
#define GNN_VIEW(etype, mode) ((etype) * 2 + (int) (mode))
#define GNN_VIEW_ETYPE(view) ((view) / 2)
#define GNN_VIEW_MODE(view) ((GnnEdgeView) ((view) % 2))

/* An edge type: its source and target node types */
typedef struct GnnEdgeType
{
	int			src;
	int			dst;
	const char *name;			/* "src__relation__dst"; NULL if homogeneous */
} GnnEdgeType;

typedef enum GnnOpKind
{
	/* get_vertex / get_edge */
	GNN_OP_INPUT,				/* the model input features (node) */
	GNN_OP_EDGE_WEIGHT,			/* edge weight column, 1 if absent (E x 1);
								 * or, with relation, the relation ids */
	GNN_OP_EDGE_ATTR,			/* edge feature column (E x width); an added
								 * self loop gets the mean of the node's
								 * other in-edges' features */
	GNN_OP_GATHER_SRC,			/* edge row e = node row src(e) */
	GNN_OP_GATHER_DST,			/* edge row e = node row dst(e) */
	GNN_OP_EDGE_DOT,			/* edge y[e, h] = sum_c a[dst(e), h*C+c] *
								 * b[src(e), h*C+c]: the two gathers, their
								 * product and a head sum in one pass */

	/* transform */
	GNN_OP_LINEAR,				/* y = a * W^T (+ bias) */
	GNN_OP_ADD,					/* y = a + b */
	GNN_OP_MUL,					/* y = a * b, b broadcast per head (see below) */
	GNN_OP_AXPY,				/* y = alpha * a + b */
	GNN_OP_AFFINE,				/* y = a * scale[c] + shift[c] per column */
	GNN_OP_ACT,					/* element-wise activation */
	GNN_OP_HEAD_DOT,			/* y[h] = sum_c a[h*C+c] * att[h*C+c] */
	GNN_OP_HEAD_MEAN,			/* y[c] = mean_h a[h*C+c] */
	GNN_OP_L2NORM,				/* y = a / max(||a||, 1e-12) */
	GNN_OP_SOFTMAX,				/* over the columns of a row */
	GNN_OP_LOG_SOFTMAX,
	GNN_OP_CONCAT,				/* y = [a | b] */
	GNN_OP_SLICE,				/* y = columns [start, start + width) of a */
	GNN_OP_EQUALS,				/* y = 1 where a == alpha, else 0 */
	GNN_OP_DIV,					/* y = a / b (0 where b is 0), b as in MUL */
	GNN_OP_EXTREME,				/* y = max (aggr MAX) or min of a and b */

	/* message_passing */
	GNN_OP_AGGREGATE,			/* node y[i] = AGG_{e into i} coef(e) * msg(e) */
	GNN_OP_EDGE_SOFTMAX			/* edge y[e] = softmax of a over edges into dst(e) */
} GnnOpKind;

typedef enum GnnAct
{
	GNN_ACT_RELU,
	GNN_ACT_LEAKY_RELU,			/* alpha = negative slope */
	GNN_ACT_ELU,				/* alpha */
	GNN_ACT_GELU,				/* exact: x * Phi(x) */
	GNN_ACT_SIGMOID,
	GNN_ACT_TANH,
	GNN_ACT_RSQRT0,				/* x^-1/2, with 0 -> 0 (degree normalisation) */
	GNN_ACT_EXP
} GnnAct;

typedef enum GnnAggr
{
	GNN_AGGR_SUM,
	GNN_AGGR_MEAN,
	GNN_AGGR_MAX,
	GNN_AGGR_MIN
} GnnAggr;

typedef struct GnnReg
{
	GnnSpace	space;
	int			view;			/* edge registers: their edges' view */
	int			ntype;			/* node registers: their node type */
	int			width;			/* columns */
} GnnReg;

/*
 * One operation.  a and b are register numbers (-1 when unused); out is
 * the register written.
 *
 * GNN_OP_MUL: b has either a's width, or "heads" columns, each multiplying
 * a block of width/heads consecutive columns of a.
 *
 * GNN_OP_AGGREGATE: a is a node register (the message is a's row at the
 * edge's source, gathered on the fly) or an edge register of the op's view
 * (the message is that edge row).  b, if >= 0, is an edge register of the
 * view with 1 or "heads" columns scaling each message (per head as in MUL).
 * A node with no in-edge gets alpha (0 unless set) for every aggregation.
 *
 * Every operation runs over the nodes of one node type: a node output's
 * type, or the target type of an edge output's or aggregation's view.
 */
typedef struct GnnOp
{
	GnnOpKind	kind;
	int			out;
	int			a;
	int			b;
	int			view;			/* edge view of edge/message-passing ops */
	int			layer;			/* index of the spec layer it came from */

	/* parameters */
	GnnAggr		aggr;
	GnnAct		act;
	float		alpha;			/* activation slope, AXPY factor */
	int			heads;
	int			start;			/* SLICE: first column */
	bool		relation;		/* EDGE_WEIGHT: reads relation ids */
	const float *weight;		/* LINEAR: n x k; HEAD_DOT: att */
	const float *bias;			/* LINEAR bias (may be NULL) */
	const float *scale;			/* AFFINE */
	const float *shift;			/* AFFINE */
} GnnOp;

/* Per spec layer: its type name, for EXPLAIN and per-layer statistics */
typedef struct GnnLayerInfo
{
	const char *type;			/* "GCNConv", ... */
	int			in_width;
	int			out_width;
	const char *modules;		/* a built-in message-passing layer: the
								 * module program it is written as (JSON) */
} GnnLayerInfo;

typedef struct GnnProgram
{
	int			nops;
	GnnOp	   *ops;
	int			nregs;
	GnnReg	   *regs;
	int			input;			/* register of the input features */
	int			output;			/* register holding the model output */

	/*
	 * Node and edge types.  A homogeneous model has one of each, unnamed;
	 * a heterogeneous one names them, and has an input and (unless the
	 * type has no value after the last layer) an output register per node
	 * type; input and output above are those of type 0.
	 */
	int			ntypes;
	const char *type_names[GNN_MAX_NODE_TYPES];
	int			inputs[GNN_MAX_NODE_TYPES];
	int			outputs[GNN_MAX_NODE_TYPES];
	int			netypes;
	GnnEdgeType etypes[GNN_MAX_EDGE_TYPES];

	int			nlayers;
	GnnLayerInfo *layers;

	float		loop_fill;		/* weight of added self loops */
	bool		uses_weight;	/* reads the edge weight column */
	bool		uses_relation;	/* reads the edges' relation ids there */
	bool		uses_views[GNN_MAX_VIEWS];
	int			attr_width[GNN_MAX_EDGE_TYPES]; /* edge features read, or 0 */
	int64		nparams;		/* parameters used by the program */
} GnnProgram;

/* Building programs (used by lower.c) */
typedef struct GnnProgramBuilder
{
	GnnProgram *prog;
	int			maxops;
	int			maxregs;
	int			maxlayers;
	int			layer;			/* current spec layer */
} GnnProgramBuilder;

/* Whether prog has named node and edge types */
#define gnn_program_hetero(prog) ((prog)->type_names[0] != NULL)

extern void gnn_builder_init(GnnProgramBuilder *b);
extern int	gnn_new_reg(GnnProgramBuilder *b, GnnSpace space, int where,
						int width);
extern GnnOp *gnn_emit(GnnProgramBuilder *b, GnnOpKind kind, int out, int a,
					   int rb);
extern void gnn_begin_layer(GnnProgramBuilder *b, const char *type,
							int in_width);
extern void gnn_end_layer(GnnProgramBuilder *b, int out_width);
extern void gnn_program_finish(GnnProgramBuilder *b, int output);
extern void gnn_program_finish_types(GnnProgramBuilder *b, const int *outputs);

/* Introspection */
extern const char *gnn_op_name(GnnOpKind kind);
extern const char *gnn_aggr_name(GnnAggr aggr);
extern char *gnn_program_describe(const GnnProgram *prog);
extern int	gnn_program_width(const GnnProgram *prog, int reg);
extern int	gnn_op_node_type(const GnnProgram *prog, const GnnOp *op);
extern bool gnn_program_is_input(const GnnProgram *prog, int reg);
extern bool *gnn_program_needed_ops(const GnnProgram *prog, int out);
extern bool gnn_program_is_output(const GnnProgram *prog, int reg);
extern int	gnn_program_output_width(const GnnProgram *prog);
extern int	gnn_op_source_read(const GnnProgram *prog, const GnnOp *op);
extern int	gnn_source_read_layer(const GnnProgram *prog, int reg);
extern int *gnn_program_last_use(const GnnProgram *prog);

#endif							/* GNN_PROGRAM_H */
