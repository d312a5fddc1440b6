/*-------------------------------------------------------------------------
 *
 * fuzz_spec.c
 *	  libFuzzer harness for gnn_lower(): model spec and weights to module
 *	  program.
 *
 * Input layout: the first byte b picks the weights, the rest is the spec's
 * JSON text.
 *
 *	b < 0x80				test/fixtures/<fixtures[b % NUM_FIXTURES]>.safetensors,
 *							realistic PyG state dicts, one per layer type
 *							and option;
 *	b >= 0x80, even			all of them at once, every tensor renamed
 *							"<fixture>.<name>" (e.g. "gin_bn.conv.nn.0.weight"),
 *							so that one spec can chain layers of different
 *							fixtures;
 *	b >= 0x80, odd			weights carried by the input: two bytes of
 *							little-endian length n, n bytes of safetensors
 *							file, then the spec.
 *
 * The fixtures are read once at start-up from the directory named by
 * GNN_FUZZ_FIXTURES, by default test/fixtures next to this source file
 * (found through __FILE__, which run.sh makes absolute).  The table below
 * fixes which byte selects which file: new fixtures go at its end, so that
 * the seed corpus (test/fuzz/corpus/fuzz_spec: the fixture specs, specs
 * over the merged weights, inline weights, rejected specs) keeps selecting
 * the same weights.  A missing file stops the harness at start-up.
 *
 * Every spec that parses as JSON must either be rejected with one of the
 * lowering's SQLSTATEs or yield a program that satisfies everything the
 * executor, the JIT and the pruning code rely on (check_program), whose
 * layers have the widths the spec declares, and which the portable kernels
 * run on a small graph (both edge views, self loops, parallel edges, an
 * isolated node; edge weights unless the spec's length is odd) in chunks,
 * freeing each register after its last use as exec.c does.  A program of
 * node and edge types (a spec with "metadata") runs on a typed graph made
 * for it (run_typed_program), with every operation over its node type's
 * range; the invariants above are those of one type and are not checked.  Every register
 * and parameter array is a separate allocation, so AddressSanitizer catches
 * any width that disagrees with the arrays behind it, and any read of a
 * register freed too early.  Anything else aborts.
 *
 * With GNN_FUZZ_VERBOSE set, each input's outcome is printed: handy when
 * running the binary on a few files, e.g. the seed corpus.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>

#include "lib/stringinfo.h"

#include "fuzz_alloc.h"
#include "json.h"
#include "kernels.h"
#include "lower.h"
#include "program.h"
#include "safetensors.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Order matters: index i is selected by first byte i (see above). */
static const char *const fixtures[] = {
	"dtype_bf16", "dtype_f16", "dtype_f64", "dtype_mixed",
	"gat", "gat_heads", "gat_legacy", "gat_mean", "gat_nobias",
	"gat_noloops", "gat_slope",
	"gcn", "gcn_improved", "gcn_improved_w", "gcn_mix", "gcn_nobias",
	"gcn_noloops", "gcn_nonorm", "gcn_nonorm_w", "gcn_weighted",
	"gin", "gin_bn",
	"mlp", "mlp_act", "mlp_defaults",
	"sage2", "sage_max", "sage_mean", "sage_min", "sage_nobias",
	"sage_normalize", "sage_noroot", "sage_project", "sage_sum",
	"geniepath", "prog_gat_heads", "prog_sage_mean",
	"rgcn", "rgcn_add", "rgcn_bases", "rgcn_blocks",
	"hetero/het_sage_sum", "hetero/het_sage_mean", "hetero/het_sage_bn",
	"hetero/het_gat", "hetero/het_mix", "hetero/het_gat_edge",
	"hetero/het_hgt", "hetero/het_hgt_lin", "hetero/gat_edge",
};

#define NUM_FIXTURES	((int) lengthof(fixtures))
#define WEIGHTS_MERGED	NUM_FIXTURES	/* index in weight_sets */
#define WEIGHTS_INLINE	(NUM_FIXTURES + 1)

/* The parsed fixtures, then the merged set; kept for the whole run */
static GnnSafetensors *weight_sets[NUM_FIXTURES + 1];

static bool verbose = false;

/*
 * The graph the programs run on: 5 nodes, in-edges grouped by target.
 * Node 1 has a self loop and two parallel edges from node 3; nodes 3 and 4
 * have no in-edges, node 4 no edges at all.  The loop view drops existing
 * loops and puts one per node last in its row, keeping the weight of the
 * node's own loop (node 1) or flagged for the layer's fill value.
 */
#define GRAPH_NODES 5
#define GRAPH_VIEWS 2			/* its one edge type's two views */
static const int64 graph_rowptr[GRAPH_VIEWS][GRAPH_NODES + 1] = {
	{0, 2, 6, 7, 7, 7},
	{0, 3, 7, 9, 10, 11},
};
static const int32 graph_src_given[] = {1, 2, 0, 1, 3, 3, 0};
static const float graph_weight_given[] = {0.5f, 2.0f, 1.0f, 0.25f, 3.0f, -1.0f, 1.5f};
static const int32 graph_src_loops[] = {1, 2, 0, 0, 3, 3, 1, 0, 2, 3, 4};
static const float graph_weight_loops[] = {
	0.5f, 2.0f, 1.0f, 1.0f, 3.0f, -1.0f, 0.25f, 1.5f, 1.0f, 1.0f, 1.0f
};
static const bool graph_fill_loop[GRAPH_NODES] = {true, false, true, true, true};

/* ---------- start-up ---------- */

static void pg_attribute_printf(1, 2) pg_attribute_noreturn()
startup_fail(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	exit(1);
}

/* The whole file, malloc'd and never freed (it backs the parsed tensors) */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
		startup_fail("cannot read \"%s\": %s", path, strerror(errno));
	buf = malloc(Max(n, 1));
	if (buf == NULL || fread(buf, 1, n, f) != (size_t) n)
		startup_fail("cannot read \"%s\"", path);
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static const char *
dtype_name(GnnDtype dtype)
{
	switch (dtype)
	{
		case GNN_DTYPE_F32:
			return "F32";
		case GNN_DTYPE_F16:
			return "F16";
		case GNN_DTYPE_BF16:
			return "BF16";
		case GNN_DTYPE_F64:
			return "F64";
		case GNN_DTYPE_I64:
			return "I64";
		case GNN_DTYPE_OTHER:
			break;
	}
	return NULL;
}

/* One safetensors file holding every fixture's tensors, renamed */
static char *
merge_fixtures(size_t *len)
{
	StringInfoData header;
	StringInfoData body;
	char	   *file;
	bool		first = true;

	initStringInfo(&header);
	initStringInfo(&body);
	appendStringInfoChar(&header, '{');
	for (int f = 0; f < NUM_FIXTURES; f++)
	{
		const GnnSafetensors *st = weight_sets[f];

		for (int i = 0; i < st->ntensors; i++)
		{
			const GnnTensorInfo *t = &st->tensors[i];
			const char *dt = dtype_name(t->dtype);

			if (dt == NULL || strpbrk(t->name, "\"\\") != NULL)
				startup_fail("cannot merge tensor \"%s\" of fixture %s",
							 t->name, fixtures[f]);
			appendStringInfo(&header, "%s\"%s.%s\":{\"dtype\":\"%s\",\"shape\":[",
							 first ? "" : ",", fixtures[f], t->name, dt);
			for (int d = 0; d < t->ndims; d++)
				appendStringInfo(&header, "%s" INT64_FORMAT, d ? "," : "",
								 t->shape[d]);
			appendStringInfo(&header, "],\"data_offsets\":[%d,%zu]}",
							 body.len, body.len + t->nbytes);
			appendBinaryStringInfo(&body, t->data, (int) t->nbytes);
			first = false;
		}
	}
	appendStringInfoChar(&header, '}');

	*len = 8 + header.len + body.len;
	file = malloc(*len);
	if (file == NULL)
		startup_fail("out of memory");
	for (int i = 0; i < 8; i++)
		file[i] = (char) ((uint64) header.len >> (8 * i));
	memcpy(file + 8, header.data, header.len);
	memcpy(file + 8 + header.len, body.data, body.len);
	pfree(header.data);
	pfree(body.data);
	return file;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("GNN_FUZZ_FIXTURES");
	char	   *buf;
	size_t		len;
	GnnError	err;

	if (dir == NULL || dir[0] == '\0')
	{
		char	   *src = strdup(__FILE__);

		dir = psprintf("%s/../fixtures", dirname(src));
		free(src);
	}

	for (int f = 0; f < NUM_FIXTURES; f++)
	{
		char	   *path = psprintf("%s/%s.safetensors", dir, fixtures[f]);

		buf = read_file(path, &len);
		if (!gnn_st_parse(buf, len, &weight_sets[f], &err))
			startup_fail("%s: %s", path, err.message);
		pfree(path);
	}
	buf = merge_fixtures(&len);
	if (!gnn_st_parse(buf, len, &weight_sets[WEIGHTS_MERGED], &err))
		startup_fail("merged fixtures: %s", err.message);

	verbose = getenv("GNN_FUZZ_VERBOSE") != NULL;

	/* what is left is the parsed weights: keep it for every input */
	fuzz_alloc_persist();
	return 0;
}

/* ---------- checks ---------- */

static const GnnProgram *failing_prog;

static void pg_attribute_printf(2, 3) pg_attribute_noreturn()
fuzz_fail(int opno, const char *fmt,...)
{
	va_list		args;

	fprintf(stderr, "invariant violated");
	if (opno >= 0)
		fprintf(stderr, " at op %d", opno);
	fprintf(stderr, ": ");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	if (failing_prog)
	{
		const GnnProgram *prog = failing_prog;

		/* raw dump: the program may be too broken to describe */
		for (int i = 0; i < prog->nops; i++)
		{
			const GnnOp *op = &prog->ops[i];

			fprintf(stderr, "  op %d: kind %d layer %d out %d a %d b %d view %d heads %d\n",
					i, op->kind, op->layer, op->out, op->a, op->b, op->view,
					op->heads);
		}
		for (int r = 0; r < prog->nregs; r++)
			fprintf(stderr, "  r%d: space %d view %d width %d\n", r,
					prog->regs[r].space, prog->regs[r].view,
					prog->regs[r].width);
	}
	abort();
}

#define CHECK(cond, opno, ...) \
	do { if (!(cond)) fuzz_fail((opno), __VA_ARGS__); } while (0)

/* Read n floats, so that AddressSanitizer checks the array's extent */
static void
touch(const float *p, int64 n)
{
	volatile float sum = 0;

	for (int64 i = 0; i < n; i++)
		sum += p[i];
	(void) sum;
}

static bool
same_rows(const GnnReg *x, const GnnReg *y)
{
	return x->space == y->space &&
		(x->space == GNN_SPACE_NODE || x->view == y->view);
}

/* A register of rows "like" the op's output, of the same width */
static void
check_rowwise(const GnnProgram *prog, int i, int r, const char *what)
{
	const GnnOp *op = &prog->ops[i];
	const GnnReg *out = &prog->regs[op->out];

	CHECK(r >= 0, i, "%s operand missing", what);
	CHECK(same_rows(&prog->regs[r], out), i,
		  "%s operand r%d has other rows than its output", what, r);
	CHECK(prog->regs[r].width == out->width, i,
		  "%s operand r%d has width %d, output %d", what, r,
		  prog->regs[r].width, out->width);
}

static void
check_op(const GnnProgram *prog, int i)
{
	const GnnOp *op = &prog->ops[i];
	const GnnReg *out = &prog->regs[op->out];
	const GnnReg *ra = op->a >= 0 ? &prog->regs[op->a] : NULL;
	const GnnReg *rb = op->b >= 0 ? &prog->regs[op->b] : NULL;
	int			w = out->width;

	CHECK(op->view >= 0 && op->view < GRAPH_VIEWS, i, "bad view %d",
		  op->view);
	CHECK(op->heads >= 1, i, "heads %d", op->heads);
	/* edge rows are those of one view, which the op must name */
	CHECK(out->space == GNN_SPACE_NODE || op->view == out->view, i,
		  "writes edges of view %d but names view %d", out->view, op->view);

	switch (op->kind)
	{
		case GNN_OP_INPUT:
			CHECK(i == 0 && op->out == prog->input && !ra && !rb, i,
				  "misplaced input");
			CHECK(out->space == GNN_SPACE_NODE, i, "input not on nodes");
			break;
		case GNN_OP_EDGE_WEIGHT:
			CHECK(!ra && !rb && out->space == GNN_SPACE_EDGE && w == 1, i,
				  "bad edge weight");
			CHECK(isfinite(op->alpha), i, "non-finite loop fill");
			break;
		case GNN_OP_EDGE_ATTR:
			CHECK(!ra && !rb && out->space == GNN_SPACE_EDGE &&
				  w == prog->attr_width[GNN_VIEW_ETYPE(op->view)], i,
				  "bad edge features");
			break;
		case GNN_OP_GATHER_SRC:
		case GNN_OP_GATHER_DST:
			CHECK(ra && !rb && ra->space == GNN_SPACE_NODE &&
				  out->space == GNN_SPACE_EDGE && ra->width == w, i,
				  "bad gather");
			break;
		case GNN_OP_EDGE_DOT:
			CHECK(ra && rb && ra->space == GNN_SPACE_NODE && rb->space == GNN_SPACE_NODE &&
				  out->space == GNN_SPACE_EDGE && ra->width == rb->width &&
				  w == op->heads && ra->width % op->heads == 0, i, "bad edge_dot");
			break;
		case GNN_OP_LINEAR:
			CHECK(ra && !rb && same_rows(ra, out), i, "bad linear operands");
			CHECK(op->weight != NULL, i, "linear without weight");
			touch(op->weight, (int64) w * ra->width);
			if (op->bias)
				touch(op->bias, w);
			break;
		case GNN_OP_ADD:
		case GNN_OP_AXPY:
			check_rowwise(prog, i, op->a, "first");
			check_rowwise(prog, i, op->b, "second");
			break;
		case GNN_OP_MUL:
			check_rowwise(prog, i, op->a, "first");
			CHECK(rb && same_rows(rb, out), i, "bad mul scale operand");
			/* the kernel takes the scale's width as the number of heads */
			CHECK(rb->width == w || (rb->width == op->heads && w % op->heads == 0),
				  i, "mul scale of width %d for %d columns, %d heads",
				  rb->width, w, op->heads);
			break;
		case GNN_OP_AFFINE:
			check_rowwise(prog, i, op->a, "affine");
			CHECK(!rb && op->shift != NULL, i, "affine without shift");
			touch(op->shift, w);
			if (op->scale)
				touch(op->scale, w);
			break;
		case GNN_OP_ACT:
			check_rowwise(prog, i, op->a, "activation");
			CHECK(!rb && op->act >= GNN_ACT_RELU && op->act <= GNN_ACT_RSQRT0,
				  i, "bad activation %d", op->act);
			break;
		case GNN_OP_HEAD_DOT:
			CHECK(ra && !rb && same_rows(ra, out), i, "bad head_dot operands");
			CHECK(w == op->heads && ra->width % op->heads == 0, i,
				  "head_dot of width %d to %d, %d heads", ra->width, w,
				  op->heads);
			CHECK(op->weight != NULL, i, "head_dot without attention vector");
			touch(op->weight, ra->width);
			break;
		case GNN_OP_HEAD_MEAN:
			CHECK(ra && !rb && same_rows(ra, out), i, "bad head_mean operands");
			CHECK(ra->width == (int64) w * op->heads, i,
				  "head_mean of width %d to %d, %d heads", ra->width, w,
				  op->heads);
			break;
		case GNN_OP_L2NORM:
		case GNN_OP_SOFTMAX:
		case GNN_OP_LOG_SOFTMAX:
			check_rowwise(prog, i, op->a, "row-wise");
			CHECK(!rb, i, "unexpected second operand");
			break;
		case GNN_OP_EQUALS:
			check_rowwise(prog, i, op->a, "equals");
			CHECK(!rb, i, "unexpected second operand");
			break;
		case GNN_OP_DIV:
			check_rowwise(prog, i, op->a, "first");
			CHECK(rb && same_rows(rb, out), i, "bad div operand");
			CHECK(rb->width == w || (w % rb->width == 0), i,
				  "div by width %d for %d columns", rb->width, w);
			break;
		case GNN_OP_CONCAT:
			CHECK(ra && rb && same_rows(ra, out) && same_rows(rb, out) &&
				  (int64) ra->width + rb->width == w, i, "bad concat");
			break;
		case GNN_OP_SLICE:
			CHECK(ra && !rb && same_rows(ra, out) && op->start >= 0 &&
				  (int64) op->start + w <= ra->width, i, "bad slice");
			break;
		case GNN_OP_AGGREGATE:
			CHECK(out->space == GNN_SPACE_NODE, i, "aggregate not to nodes");
			CHECK(op->aggr >= GNN_AGGR_SUM && op->aggr <= GNN_AGGR_MIN, i,
				  "bad aggregation %d", op->aggr);
			CHECK(ra && ra->width == w, i, "aggregate message width");
			CHECK(ra->space == GNN_SPACE_NODE || ra->view == op->view, i,
				  "message on edges of view %d, op names view %d", ra->view,
				  op->view);
			if (rb)
			{
				CHECK(rb->space == GNN_SPACE_EDGE && rb->view == op->view, i,
					  "coefficients not on the op's edges");
				CHECK(rb->width == 1 ||
					  (rb->width == op->heads && w % op->heads == 0), i,
					  "coefficients of width %d for %d columns, %d heads",
					  rb->width, w, op->heads);
			}
			break;
		case GNN_OP_EDGE_SOFTMAX:
			CHECK(ra && !rb && ra->space == GNN_SPACE_EDGE &&
				  same_rows(ra, out) && ra->width == w, i, "bad edge softmax");
			break;
		default:
			fuzz_fail(i, "unknown op kind %d", op->kind);
	}
}

/* Integer a spec layer gives for key, else dflt (also when out of range) */
static int64
spec_int(const GnnJson *layer, const char *key, int64 dflt)
{
	const GnnJson *v = gnn_json_get(layer, key);

	if (v == NULL || v->kind != GNN_JSON_NUMBER || !(fabs(v->number) < 1e15))
		return dflt;
	return (int64) v->number;
}

static bool
spec_bool(const GnnJson *layer, const char *key, bool dflt)
{
	const GnnJson *v = gnn_json_get(layer, key);

	if (v == NULL || v->kind != GNN_JSON_BOOL)
		return dflt;
	return v->boolean;
}

/* The program's layer l has the widths spec layer l declares */
static void
check_layer_widths(const GnnLayerInfo *li, int l, const GnnJson *lj)
{
	const char *t = li->type;
	int64		in = -1,
				out = -1;

	if (strcmp(t, "Linear") == 0)
	{
		in = spec_int(lj, "in_features", spec_int(lj, "in_channels", -1));
		out = spec_int(lj, "out_features", spec_int(lj, "out_channels", -1));
	}
	else if (strcmp(t, "SAGEConv") == 0 || strcmp(t, "GCNConv") == 0 ||
			 strcmp(t, "RGCNConv") == 0)
	{
		in = spec_int(lj, "in_channels", -1);
		out = spec_int(lj, "out_channels", -1);
	}
	else if (strcmp(t, "GATConv") == 0)
	{
		in = spec_int(lj, "in_channels", -1);
		out = spec_int(lj, "out_channels", -1);
		if (out > 0 && spec_bool(lj, "concat", true))
			out *= spec_int(lj, "heads", 1);
	}
	else if (strcmp(t, "BatchNorm1d") == 0)
	{
		in = out = spec_int(lj, "num_features", -1);
		CHECK(li->in_width == li->out_width, -1,
			  "layer %d (%s) changes the width", l, t);
	}
	else if (strcmp(t, "Program") == 0)
		in = spec_int(lj, "in_channels", -1);	/* its output: its program's */
	else if (strcmp(t, "GINConv") != 0)
		CHECK(li->in_width == li->out_width, -1,
			  "layer %d (%s) changes the width", l, t);

	CHECK(in <= 0 || li->in_width == in, -1,
		  "layer %d (%s) takes %d channels, spec says " INT64_FORMAT,
		  l, t, li->in_width, in);
	CHECK(out <= 0 || li->out_width == out, -1,
		  "layer %d (%s) gives %d channels, spec says " INT64_FORMAT,
		  l, t, li->out_width, out);
}

static void
check_program(const GnnProgram *prog, const GnnJson *spec)
{
	const GnnJson *layers = gnn_json_get(spec, "layers");
	int		   *def;
	int		   *lastread;
	int		   *last;
	bool		views[GRAPH_VIEWS] = {false};
	bool		weight = false;
	bool		relation = false;
	char	   *text;
	int			n;

	failing_prog = prog;
	CHECK(prog->nops >= 2 && prog->nregs >= 1 && prog->ops && prog->regs, -1,
		  "%d ops, %d registers", prog->nops, prog->nregs);
	CHECK(layers && prog->nlayers == layers->count, -1,
		  "%d layers for a spec of %d", prog->nlayers, layers->count);
	CHECK(prog->input >= 0 && prog->input < prog->nregs &&
		  prog->output >= 0 && prog->output < prog->nregs &&
		  prog->output != prog->input, -1, "input r%d, output r%d",
		  prog->input, prog->output);

	for (int r = 0; r < prog->nregs; r++)
	{
		const GnnReg *reg = &prog->regs[r];

		CHECK(reg->width >= 1, -1, "r%d has width %d", r, reg->width);
		CHECK(reg->space == GNN_SPACE_NODE ||
			  (reg->space == GNN_SPACE_EDGE && reg->view >= 0 &&
			   reg->view < GRAPH_VIEWS), -1, "r%d: bad space or view", r);
		CHECK(reg->space == GNN_SPACE_EDGE || reg->view == GNN_EDGES_AS_GIVEN,
			  -1, "node register r%d with a view", r);
		CHECK(gnn_program_width(prog, r) == reg->width, -1,
			  "gnn_program_width(r%d)", r);
	}
	CHECK(prog->regs[prog->output].space == GNN_SPACE_NODE, -1,
		  "output not on nodes");

	/* static single assignment, operands defined earlier */
	def = palloc(sizeof(int) * prog->nregs);
	lastread = palloc(sizeof(int) * prog->nregs);
	for (int r = 0; r < prog->nregs; r++)
		def[r] = lastread[r] = -1;
	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];

		CHECK(op->out >= 0 && op->out < prog->nregs, i, "out r%d", op->out);
		CHECK(op->a >= -1 && op->a < prog->nregs &&
			  op->b >= -1 && op->b < prog->nregs, i, "operands r%d, r%d",
			  op->a, op->b);
		CHECK(op->a < 0 || def[op->a] >= 0, i, "r%d read before written", op->a);
		CHECK(op->b < 0 || def[op->b] >= 0, i, "r%d read before written", op->b);
		CHECK(def[op->out] < 0, i, "r%d written twice", op->out);
		CHECK(op->kind == GNN_OP_INPUT || op->a >= 0 ||
			  op->kind == GNN_OP_EDGE_WEIGHT || op->kind == GNN_OP_EDGE_ATTR,
			  i, "no operand");
		def[op->out] = i;
		if (op->a >= 0)
			lastread[op->a] = i;
		if (op->b >= 0)
			lastread[op->b] = i;

		/* layers are emitted in order; only the input belongs to none */
		CHECK(i == 0 ? op->layer == -1 :
			  (op->layer >= 0 && op->layer < prog->nlayers &&
			   op->layer >= prog->ops[i - 1].layer), i, "layer %d", op->layer);
		check_op(prog, i);

		/* edges are read only by operations over the same edges */
		for (int k = 0; k < 2; k++)
		{
			int			r = k == 0 ? op->a : op->b;
			const GnnReg *reg = r >= 0 ? &prog->regs[r] : NULL;

			if (reg == NULL || reg->space != GNN_SPACE_EDGE)
				continue;
			CHECK(op->kind == GNN_OP_AGGREGATE ||
				  prog->regs[op->out].space == GNN_SPACE_EDGE, i,
				  "edge register r%d read by a node operation", r);
			CHECK(op->view == reg->view, i,
				  "edge register r%d of view %d read in view %d", r, reg->view,
				  op->view);
		}

		if (op->kind == GNN_OP_EDGE_WEIGHT && op->relation)
			relation = true;
		else if (op->kind == GNN_OP_EDGE_WEIGHT)
			weight = true;
		if (op->kind == GNN_OP_AGGREGATE ||
			prog->regs[op->out].space == GNN_SPACE_EDGE)
			views[op->view] = true;
	}
	for (int r = 0; r < prog->nregs; r++)
	{
		CHECK(def[r] >= 0, -1, "r%d never written", r);
		CHECK(r == prog->output || lastread[r] >= 0, -1,
			  "r%d computed but never read", r);
		CHECK(r != prog->output || lastread[r] < 0, -1, "output read");
	}
	for (int v = 0; v < GRAPH_VIEWS; v++)
		CHECK(prog->uses_views[v] == views[v], -1, "uses_views[%d] is %d",
			  v, prog->uses_views[v]);
	CHECK(prog->uses_weight == weight, -1, "uses_weight is %d",
		  prog->uses_weight);
	CHECK(prog->uses_relation == relation, -1, "uses_relation is %d",
		  prog->uses_relation);
	CHECK(prog->nparams > 0, -1, INT64_FORMAT " parameters", prog->nparams);

	/* the layers chain from the input width to the output width */
	for (int l = 0; l < prog->nlayers; l++)
	{
		const GnnLayerInfo *li = &prog->layers[l];
		const GnnJson *type = gnn_json_get(layers->items[l], "type");

		CHECK(li->type && type && type->kind == GNN_JSON_STRING &&
			  strcmp(li->type, type->string) == 0, -1, "layer %d type", l);
		CHECK(li->in_width >= 1 && li->out_width >= 1, -1,
			  "layer %d: %d -> %d", l, li->in_width, li->out_width);
		CHECK(li->in_width == (l == 0 ? prog->regs[prog->input].width :
							   prog->layers[l - 1].out_width), -1,
			  "layer %d does not take its input's width", l);
		check_layer_widths(li, l, layers->items[l]);
	}
	CHECK(prog->layers[prog->nlayers - 1].out_width ==
		  prog->regs[prog->output].width, -1, "output width");

	/*
	 * A built-in layer's last operation writes its output, on the nodes.
	 * Not so for a Program layer: it may define tensors after its output
	 * for later layers (an LSTM's cell state), and its output, if nothing
	 * reads it, is not computed at all.
	 */
	for (int i = 1; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];
		const GnnReg *reg = &prog->regs[op->out];

		if (i + 1 < prog->nops && prog->ops[i + 1].layer == op->layer)
			continue;
		if (strcmp(prog->layers[op->layer].type, "Program") == 0)
			continue;
		CHECK(reg->space == GNN_SPACE_NODE &&
			  reg->width == prog->layers[op->layer].out_width, i,
			  "layer %d ends with r%d of width %d, not %d", op->layer,
			  op->out, reg->width, prog->layers[op->layer].out_width);
	}
	CHECK(prog->ops[prog->nops - 1].out == prog->output, prog->nops - 1,
		  "the last operation does not write the output");

	/* the introspection functions agree */
	last = gnn_program_last_use(prog);
	for (int r = 0; r < prog->nregs; r++)
		CHECK(last[r] == (r == prog->output ? prog->nops : lastread[r]), -1,
			  "gnn_program_last_use(r%d) = %d", r, last[r]);

	text = gnn_program_describe(prog);
	n = 0;
	for (const char *p = text; *p; p++)
		n += (*p == '\n');
	CHECK(n == prog->nops, -1, "describe gives %d lines", n);

	text = gnn_program_summary(prog);
	n = 0;
	for (const char *p = text; (p = strstr(p, ", ")) != NULL; p += 2)
		n++;
	CHECK(n == prog->nlayers - 1, -1, "summary \"%s\"", text);
}

/* ---------- running the program ---------- */

static void
run_program(const GnnProgram *prog, bool weighted)
{
	GnnKernelOp *kops = gnn_kernel_ops(prog);
	int		   *last = gnn_program_last_use(prog);
	float	  **regs = palloc0(sizeof(float *) * prog->nregs);
	GnnKernelEnv env;
	int			in_width = prog->regs[prog->input].width;
	float	   *x;

	memset(&env, 0, sizeof(env));
	for (int v = 0; v < GRAPH_VIEWS; v++)
		env.rowptr[v] = graph_rowptr[v];
	env.src[GNN_EDGES_AS_GIVEN] = graph_src_given;
	env.src[GNN_EDGES_ONE_SELF_LOOP] = graph_src_loops;
	if (weighted)
	{
		env.weight[GNN_EDGES_AS_GIVEN] = graph_weight_given;
		env.weight[GNN_EDGES_ONE_SELF_LOOP] = graph_weight_loops;
	}
	env.fill_loop[GNN_EDGES_ONE_SELF_LOOP] = graph_fill_loop;
	env.regs = regs;
	env.row0 = palloc0(sizeof(int64) * prog->nregs);
	/* edge features (GATConv's edge_dim), if read: a row per edge */
	for (int v = 0; v < GRAPH_VIEWS && prog->attr_width[0] > 0; v++)
	{
		int64		n = graph_rowptr[v][GRAPH_NODES] * prog->attr_width[0];
		float	   *attr = palloc(sizeof(float) * n);

		for (int64 j = 0; j < n; j++)
			attr[j] = (float) ((j * 5) % 7) / 3.0f - 1.0f;
		env.attr[v] = attr;
	}

	x = palloc(sizeof(float) * GRAPH_NODES * in_width);
	for (int i = 0; i < GRAPH_NODES * in_width; i++)
		x[i] = (float) ((i * 7) % 11) / 4.0f - 1.0f;

	for (int i = 0; i < prog->nops; i++)
	{
		const GnnReg *reg = &prog->regs[prog->ops[i].out];

		if (prog->ops[i].kind == GNN_OP_INPUT)
			regs[prog->ops[i].out] = x;
		else
		{
			int64		rows = reg->space == GNN_SPACE_NODE ? GRAPH_NODES :
				graph_rowptr[reg->view][GRAPH_NODES];

			regs[prog->ops[i].out] = palloc(sizeof(float) * Max(rows * reg->width, 1));
			/* in two chunks, so that row offsets are exercised too */
			gnn_run_op(&env, &kops[i], 0, 2);
			gnn_run_op(&env, &kops[i], 2, GRAPH_NODES);
		}
		/* as exec.c: free each register after its last reader */
		for (int r = 0; r < prog->nregs; r++)
			if (last[r] == i && r != prog->input && regs[r])
			{
				pfree(regs[r]);
				regs[r] = NULL;
			}
	}
	CHECK(regs[prog->output] != NULL, -1, "output freed");
	touch(regs[prog->output], (int64) GRAPH_NODES * prog->regs[prog->output].width);
}

/* ---------- programs of node and edge types ---------- */

/*
 * A graph of the program's types: TYPED_NODES nodes per node type, one
 * type after another; in each edge type node k of the target type has k
 * in-edges, from nodes k, k + 1, ... of the source type (so one self loop
 * when source and target types are one), with weights and features.  Its
 * loop view drops loops and gives each target node one, last.
 */
#define TYPED_NODES 3

typedef struct TypedGraph
{
	int64		nnodes;
	int64		rowptr[GNN_MAX_VIEWS][GNN_MAX_NODE_TYPES * TYPED_NODES + 1];
	int32	   *src[GNN_MAX_VIEWS];
	float	   *weight[GNN_MAX_VIEWS];
	float	   *attr[GNN_MAX_VIEWS];
	bool	   *fill_loop[GNN_MAX_VIEWS];
} TypedGraph;

static void
typed_view(TypedGraph *tg, const GnnProgram *prog, int r, bool loops)
{
	int			v = GNN_VIEW(r, loops ? GNN_EDGES_ONE_SELF_LOOP : GNN_EDGES_AS_GIVEN);
	int			s = prog->etypes[r].src;
	int			d = prog->etypes[r].dst;
	int			aw = Max(prog->attr_width[r], 1);
	int64		m = 0;

	tg->src[v] = palloc(sizeof(int32) * TYPED_NODES * (TYPED_NODES + 1));
	tg->weight[v] = palloc(sizeof(float) * TYPED_NODES * (TYPED_NODES + 1));
	tg->attr[v] = palloc(sizeof(float) * TYPED_NODES * (TYPED_NODES + 1) * aw);
	tg->fill_loop[v] = palloc0(sizeof(bool) * Max(tg->nnodes, 1));
	for (int64 i = 0; i < tg->nnodes; i++)
	{
		int64		k = i - d * TYPED_NODES;

		tg->rowptr[v][i] = m;
		if (k < 0 || k >= TYPED_NODES)
			continue;
		for (int j = 0; j < k; j++)
		{
			int32		from = s * TYPED_NODES + (k + j) % TYPED_NODES;

			if (loops && from == i)
				continue;
			tg->src[v][m] = from;
			tg->weight[v][m] = 0.5f + j;
			for (int a = 0; a < aw; a++)
				tg->attr[v][m * aw + a] = (float) (j - a) / 2;
			m++;
		}
		if (loops)
		{
			tg->fill_loop[v][i] = (s != d || k == 0);
			tg->src[v][m] = (int32) i;
			tg->weight[v][m] = 1.0f;
			for (int a = 0; a < aw; a++)
				tg->attr[v][m * aw + a] = 0.25f;
			m++;
		}
	}
	tg->rowptr[v][tg->nnodes] = m;
}

/* Run a typed program on its typed graph, as exec.c does */
static void
run_typed_program(const GnnProgram *prog, bool weighted)
{
	GnnKernelOp *kops = gnn_kernel_ops(prog);
	int		   *last = gnn_program_last_use(prog);
	float	  **regs = palloc0(sizeof(float *) * prog->nregs);
	int64	   *row0 = palloc0(sizeof(int64) * prog->nregs);
	TypedGraph *tg = palloc0(sizeof(TypedGraph));
	GnnKernelEnv env;

	tg->nnodes = (int64) prog->ntypes * TYPED_NODES;
	memset(&env, 0, sizeof(env));
	for (int r = 0; r < prog->netypes; r++)
		for (int loops = 0; loops < 2; loops++)
		{
			int			v = GNN_VIEW(r, loops);

			typed_view(tg, prog, r, loops);
			env.rowptr[v] = tg->rowptr[v];
			env.src[v] = tg->src[v];
			env.weight[v] = weighted ? tg->weight[v] : NULL;
			env.attr[v] = prog->attr_width[r] > 0 ? tg->attr[v] : NULL;
			env.fill_loop[v] = tg->fill_loop[v];
		}
	env.regs = regs;
	env.row0 = row0;

	for (int i = 0; i < prog->nops; i++)
	{
		const GnnOp *op = &prog->ops[i];
		const GnnReg *reg = &prog->regs[op->out];
		int64		lo = (int64) gnn_op_node_type(prog, op) * TYPED_NODES;
		int64		rows = reg->space == GNN_SPACE_NODE ? TYPED_NODES :
			tg->rowptr[reg->view][tg->nnodes];

		CHECK(reg->width >= 1 || op->kind == GNN_OP_INPUT, i, "width %d", reg->width);
		row0[op->out] = reg->space == GNN_SPACE_NODE ? (int64) reg->ntype * TYPED_NODES : 0;
		regs[op->out] = palloc(sizeof(float) * Max(rows * Max(reg->width, 0), 1));
		if (op->kind == GNN_OP_INPUT)
			for (int64 j = 0; j < rows * reg->width; j++)
				regs[op->out][j] = (float) ((j * 7) % 11) / 4.0f - 1.0f;
		else
		{
			gnn_run_op(&env, &kops[i], lo, lo + 1);
			gnn_run_op(&env, &kops[i], lo + 1, lo + TYPED_NODES);
		}
		for (int r = 0; r < prog->nregs; r++)
			if (last[r] == i && !gnn_program_is_input(prog, r) && regs[r])
			{
				pfree(regs[r]);
				regs[r] = NULL;
			}
	}
	for (int t = 0; t < prog->ntypes; t++)
		if (prog->outputs[t] >= 0)
		{
			CHECK(regs[prog->outputs[t]] != NULL, -1, "output of type %d freed", t);
			touch(regs[prog->outputs[t]],
				  (int64) TYPED_NODES * prog->regs[prog->outputs[t]].width);
		}
}

/* ---------- the harness ---------- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const GnnSafetensors *st;
	GnnSafetensors *inline_st;
	GnnJson    *spec;
	GnnProgram *prog;
	GnnError	err;
	int			set;

	if (size < 1)
		return 0;
	if (data[0] < 0x80)
		set = data[0] % NUM_FIXTURES;
	else
		set = (data[0] & 1) ? WEIGHTS_INLINE : WEIGHTS_MERGED;
	data++;
	size--;
	if (set == WEIGHTS_INLINE)
	{
		size_t		n;

		if (size < 2)
			return 0;
		n = data[0] | (data[1] << 8);
		if (n > size - 2)
			return 0;
		/* fuzz_safetensors covers bad files */
		if (!gnn_st_parse((const char *) data + 2, n, &inline_st, &err))
		{
			fuzz_alloc_reset();
			return 0;
		}
		st = inline_st;
		data += 2 + n;
		size -= 2 + n;
	}
	else
		st = weight_sets[set];

	/* fuzz_json covers bad JSON */
	if (!gnn_json_parse((const char *) data, size, &spec, &err))
	{
		fuzz_alloc_reset();
		return 0;
	}

	failing_prog = NULL;
	if (gnn_lower(spec, st, &prog, &err))
	{
		/* a graph without edge weights for specs of odd length */
		if (!gnn_program_hetero(prog))
		{
			check_program(prog, spec);
			run_program(prog, size % 2 == 0);
		}
		else
			run_typed_program(prog, size % 2 == 0);
		if (verbose)
			printf("weights %d: %s\n%s", set, gnn_program_summary(prog),
				   gnn_program_describe(prog));
	}
	else
	{
		CHECK(err.message != NULL && err.message[0] != '\0', -1,
			  "error without message");
		CHECK((strcmp(err.sqlstate, GNN_SQLSTATE_INVALID_PARAMETER) == 0 &&
			   strncmp(err.message, "model spec", 10) == 0) ||
			  strcmp(err.sqlstate, GNN_SQLSTATE_BAD_BINARY) == 0 ||
			  strcmp(err.sqlstate, GNN_SQLSTATE_PROGRAM_LIMIT) == 0, -1,
			  "unexpected error [%s] %s", err.sqlstate, err.message);
		if (verbose)
			printf("weights %d: [%s] %s\n", set, err.sqlstate, err.message);
	}

	fuzz_alloc_reset();
	return 0;
}
