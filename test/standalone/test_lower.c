/*-------------------------------------------------------------------------
 *
 * test_lower.c
 *	  Checks of the lowering of model specs to module programs, built as a
 *	  frontend program (see build.sh).
 *
 * Every fixture spec (test/fixtures/<case>.json) must lower with its own
 * weights; specs that are wrong in one way each must be rejected with
 * SQLSTATE 22023 and a message naming the problem.  Weights for the
 * latter are the fixtures or small safetensors files assembled in memory.
 *
 *	  test_lower [fixtures-directory]
 *
 * The directory defaults to test/fixtures next to this source file.  Prints
 * one line per check and a summary; exits non-zero if any check failed.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <libgen.h>

#include "lib/stringinfo.h"

#include "json.h"
#include "lower.h"
#include "program.h"
#include "safetensors.h"

static int	npassed = 0;
static int	nfailed = 0;
static const char *fixture_dir;

static void
check(bool ok, const char *name, const char *detail)
{
	if (ok)
	{
		npassed++;
		printf("ok - %s\n", name);
	}
	else
	{
		nfailed++;
		printf("not ok - %s%s%s\n", name, detail ? ": " : "", detail ? detail : "");
	}
}

/* The whole file, or NULL */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = pg_malloc(n + 1);
	if (fread(buf, 1, n, f) != (size_t) n)
	{
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t) n;
	return buf;
}

static GnnSafetensors *
fixture_weights(const char *fixture)
{
	char	   *path = psprintf("%s/%s.safetensors", fixture_dir, fixture);
	GnnSafetensors *st = NULL;
	GnnError	err;
	size_t		len;
	char	   *buf = read_file(path, &len);

	if (buf == NULL)
		check(false, path, "cannot read");
	else if (!gnn_st_parse(buf, len, &st, &err))
		check(false, path, err.message);
	return st;
}

/*
 * A safetensors file of float32 tensors, from a header without offsets:
 * {"name": [d0, d1, ...], ...}.  Each tensor's values are 1, 2, 3, ...
 */
static GnnSafetensors *
make_weights(const char *shapes)
{
	GnnJson    *doc;
	GnnError	err;
	StringInfoData header;
	StringInfoData data;
	GnnSafetensors *st;
	char	   *file;
	size_t		len;

	if (!gnn_json_parse(shapes, strlen(shapes), &doc, &err))
	{
		check(false, shapes, err.message);
		return NULL;
	}
	initStringInfo(&header);
	initStringInfo(&data);
	appendStringInfoChar(&header, '{');
	for (int i = 0; i < doc->count; i++)
	{
		const GnnJson *shape = doc->items[i];
		int64		numel = 1;
		int			begin = data.len;

		appendStringInfo(&header, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
						 i ? "," : "", doc->keys[i]);
		for (int d = 0; d < shape->count; d++)
		{
			appendStringInfo(&header, "%s%s", d ? "," : "",
							 shape->items[d]->string);
			numel *= (int64) shape->items[d]->number;
		}
		for (int64 k = 0; k < numel; k++)
		{
			float		v = (float) (k + 1);

			appendBinaryStringInfo(&data, (const char *) &v, sizeof(v));
		}
		appendStringInfo(&header, "],\"data_offsets\":[%d,%d]}", begin,
						 data.len);
	}
	appendStringInfoChar(&header, '}');

	len = 8 + header.len + data.len;
	file = pg_malloc(len);
	for (int i = 0; i < 8; i++)
		file[i] = (char) ((uint64) header.len >> (8 * i));
	memcpy(file + 8, header.data, header.len);
	memcpy(file + 8 + header.len, data.data, data.len);
	if (!gnn_st_parse(file, len, &st, &err))
	{
		check(false, shapes, err.message);
		return NULL;
	}
	return st;
}

/* Lower spec; NULL (with *err filled) if rejected */
static GnnProgram *
lower(const char *spec, const GnnSafetensors *st, GnnError *err)
{
	GnnJson    *doc;
	GnnProgram *prog;

	if (!gnn_json_parse(spec, strlen(spec), &doc, err))
		return NULL;
	if (!gnn_lower(doc, st, &prog, err))
		return NULL;
	return prog;
}

/* spec must be rejected with SQLSTATE sqlstate and a message holding want */
static void
expect_fail_state(const char *name, const char *spec,
				  const GnnSafetensors *st, const char *sqlstate,
				  const char *want)
{
	GnnError	err;
	char		detail[1200];

	if (st == NULL)
	{
		check(false, name, "no weights");
		return;
	}
	if (lower(spec, st, &err) != NULL)
	{
		check(false, name, "accepted");
		return;
	}
	snprintf(detail, sizeof(detail), "[%s] %s (wanted \"%s\")",
			 err.sqlstate, err.message, want);
	check(strcmp(err.sqlstate, sqlstate) == 0 &&
		  strstr(err.message, want) != NULL, name, detail);
	printf("#   [%s] %s\n", err.sqlstate, err.message);
}

static void
expect_fail(const char *name, const char *spec, const GnnSafetensors *st,
			const char *want)
{
	expect_fail_state(name, spec, st, GNN_SQLSTATE_INVALID_PARAMETER, want);
}

/* spec must lower; returns the program or NULL */
static GnnProgram *
expect_ok(const char *name, const char *spec, const GnnSafetensors *st)
{
	GnnError	err;
	GnnProgram *prog;

	if (st == NULL)
	{
		check(false, name, "no weights");
		return NULL;
	}
	prog = lower(spec, st, &err);
	check(prog != NULL, name, prog ? NULL : err.message);
	return prog;
}

/* ---------- the fixtures ---------- */

/* Every fixture case and the output width of its model */
static const struct
{
	const char *name;
	int			out_width;
}			fixture_cases[] = {
	{"dtype_bf16", 4}, {"dtype_f16", 4}, {"dtype_f64", 4}, {"dtype_mixed", 4},
	{"gat", 4}, {"gat_heads", 12}, {"gat_legacy", 8}, {"gat_mean", 4},
	{"gat_nobias", 8}, {"gat_noloops", 8}, {"gat_slope", 8},
	{"gcn", 4}, {"gcn_improved", 4}, {"gcn_improved_w", 4}, {"gcn_mix", 4},
	{"gcn_nobias", 4}, {"gcn_noloops", 4}, {"gcn_nonorm", 4},
	{"gcn_nonorm_w", 4}, {"gcn_weighted", 4},
	{"gin", 4}, {"gin_bn", 4},
	{"mlp", 4}, {"mlp_act", 4}, {"mlp_defaults", 4},
	{"sage2", 3}, {"sage_max", 4}, {"sage_mean", 4}, {"sage_min", 4},
	{"sage_nobias", 4}, {"sage_normalize", 4}, {"sage_noroot", 4},
	{"sage_project", 4}, {"sage_sum", 4},
};

static void
test_fixtures(void)
{
	for (int i = 0; i < (int) lengthof(fixture_cases); i++)
	{
		const char *fx = fixture_cases[i].name;
		char	   *path = psprintf("%s/%s.json", fixture_dir, fx);
		char	   *name = psprintf("fixture %s lowers with its weights", fx);
		GnnSafetensors *st = fixture_weights(fx);
		GnnJson    *doc;
		GnnProgram *prog;
		GnnError	err;
		size_t		len;
		char	   *spec = read_file(path, &len);
		char		detail[256];

		if (spec == NULL || st == NULL)
		{
			check(false, name, "cannot read the fixture");
			continue;
		}
		if (!gnn_json_parse(spec, len, &doc, &err) ||
			!gnn_lower(doc, st, &prog, &err))
		{
			check(false, name, err.message);
			continue;
		}
		snprintf(detail, sizeof(detail), "%d -> %d, %d layers (%s)",
				 prog->regs[prog->input].width,
				 prog->regs[prog->output].width, prog->nlayers,
				 gnn_program_summary(prog));
		check(prog->regs[prog->input].width == 5 &&
			  prog->regs[prog->output].width == fixture_cases[i].out_width &&
			  prog->nlayers == gnn_json_get(doc, "layers")->count &&
			  prog->nparams > 0,
			  name, detail);
	}
}

/* ---------- rejected specs ---------- */

static void
test_rejected(void)
{
	GnnSafetensors *gcn = fixture_weights("gcn");
	GnnSafetensors *gcn_mix = fixture_weights("gcn_mix");
	GnnSafetensors *gin = fixture_weights("gin");
	GnnSafetensors *mlp = fixture_weights("mlp");
	GnnSafetensors *sage = fixture_weights("sage_mean");
	GnnSafetensors *gat = fixture_weights("gat_heads");

	/* widths */
	expect_fail("widths that do not chain", "{\"layers\": ["
				"{\"type\": \"GCNConv\", \"prefix\": \"conv1\"},"
				"{\"type\": \"GCNConv\", \"prefix\": \"conv1\"}]}", gcn_mix,
				"layers[1]: widths do not chain: GCNConv expects 5 input channels but receives 6");
	expect_fail("widths that do not chain inside GINConv", "{\"layers\": ["
				"{\"type\": \"GINConv\", \"prefix\": \"conv\", \"nn\": ["
				"{\"type\": \"Linear\"}, {\"type\": \"Linear\", \"prefix\": \"conv.nn.0\"}]}]}",
				gin, "layers[0].nn[1]: widths do not chain: Linear expects 5 input channels but receives 8");
	expect_fail("in_channels contradicting the weights", "{\"layers\": ["
				"{\"type\": \"GCNConv\", \"prefix\": \"conv\", \"in_channels\": 4, \"out_channels\": 5}]}",
				gcn, "tensor \"conv.lin.weight\" has shape [4, 5], but GCNConv expects [5, 4]");
	expect_fail("GATConv heads contradicting the weights", "{\"layers\": ["
				"{\"type\": \"GATConv\", \"prefix\": \"conv\", \"heads\": 2}]}", gat,
				"tensor \"conv.att_src\" has shape [1, 3, 4], but GATConv expects [1, 2, 6]");
	expect_fail("no layer with weights", "{\"layers\": [{\"type\": \"ReLU\"}, {\"type\": \"Dropout\"}]}",
				gcn, "has no layer with weights");

	/* unknown types and arguments */
	expect_fail("unknown layer type", "{\"layers\": [{\"type\": \"GraphConv\", \"prefix\": \"conv\"}]}",
				gcn, "layers[0]: unknown layer type \"GraphConv\"");
	expect_fail("layer type in the wrong case", "{\"layers\": [{\"type\": \"gcnconv\", \"prefix\": \"conv\"}]}",
				gcn, "unknown layer type \"gcnconv\"");
	expect_fail("unknown argument", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": \"conv\", \"in_channel\": 5}]}",
				gcn, "layers[0]: unknown argument \"in_channel\" for GCNConv");
	expect_fail("unknown argument of an activation", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin1\"},"
				"{\"type\": \"ReLU\", \"negative_slope\": 0.1}]}",
				mlp, "layers[1]: unknown argument \"negative_slope\" for ReLU");
	expect_fail("unknown argument inside GINConv", "{\"layers\": [{\"type\": \"GINConv\", \"prefix\": \"conv\", \"nn\": ["
				"{\"type\": \"Linear\", \"bias_init\": 0}]}]}",
				gin, "layers[0].nn[0]: unknown argument \"bias_init\" for Linear");
	expect_fail("unknown top-level key", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": \"conv\"}], \"version\": 2}",
				gcn, "unknown key \"version\"");
	expect_fail("Linear given both in_features and in_channels", "{\"layers\": ["
				"{\"type\": \"Linear\", \"prefix\": \"lin1\", \"in_features\": 5, \"in_channels\": 7}]}",
				mlp, "give either \"in_channels\" or \"in_features\", not both");

	/* missing tensors */
	expect_fail("missing weight", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": \"conv2\"}]}",
				gcn, "tensor \"conv2.lin.weight\" required by GCNConv is missing from the weights");
	expect_fail("missing weight with the widths given", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": \"conv2\","
				"\"in_channels\": 5, \"out_channels\": 4}]}",
				gcn, "tensor \"conv2.lin.weight\" required by GCNConv is missing from the weights");
	expect_fail("missing bias", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin3\"}]}",
				mlp, "tensor \"lin3.bias\" required by Linear is missing from the weights");
	expect_fail("missing root weight", "{\"layers\": [{\"type\": \"SAGEConv\", \"prefix\": \"conv\", \"project\": true}]}",
				sage, "tensor \"conv.lin.weight\" required by SAGEConv is missing from the weights");
	expect_fail("missing tensor inside GINConv", "{\"layers\": [{\"type\": \"GINConv\", \"prefix\": \"conv\", \"nn\": ["
				"{\"type\": \"Linear\"}, {\"type\": \"Linear\"}]}]}",
				gin, "tensor \"conv.nn.1.weight\" required by Linear is missing from the weights");
	expect_fail("missing running statistics", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin1\"},"
				"{\"type\": \"BatchNorm1d\", \"prefix\": \"bn2\"}]}",
				mlp, "tensor \"bn2.running_mean\" required by BatchNorm1d is missing from the weights");

	/* structure and values */
	expect_fail("spec not an object", "[{\"type\": \"ReLU\"}]", gcn,
				"must be an object with a non-empty array \"layers\"");
	expect_fail("empty layers", "{\"layers\": []}", gcn,
				"must be an object with a non-empty array \"layers\"");
	expect_fail("layer without a type", "{\"layers\": [{\"prefix\": \"conv\"}]}", gcn,
				"each layer must be an object with a string \"type\"");
	expect_fail("prefix not a string", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": 1}]}",
				gcn, "\"prefix\" must be a string");
	expect_fail("fractional integer argument", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": \"conv\", \"out_channels\": 4.5}]}",
				gcn, "argument \"out_channels\" of GCNConv must be an integer");
	expect_fail("boolean argument given as a number", "{\"layers\": [{\"type\": \"GCNConv\", \"prefix\": \"conv\", \"bias\": 1}]}",
				gcn, "argument \"bias\" of GCNConv must be true or false");
	expect_fail("unsupported aggregation", "{\"layers\": [{\"type\": \"SAGEConv\", \"prefix\": \"conv\", \"aggr\": \"std\"}]}",
				sage, "unsupported aggr \"std\"");
	expect_fail("GINConv nested in GINConv", "{\"layers\": [{\"type\": \"GINConv\", \"prefix\": \"conv\", \"nn\": ["
				"{\"type\": \"GINConv\", \"nn\": [{\"type\": \"Linear\"}]}]}]}",
				gin, "layers[0].nn[0]: GINConv cannot be nested inside another layer");
	expect_fail("SAGEConv nested in GINConv", "{\"layers\": [{\"type\": \"GINConv\", \"prefix\": \"conv\", \"nn\": ["
				"{\"type\": \"SAGEConv\"}]}]}",
				gin, "layers[0].nn[0]: SAGEConv cannot be nested inside another layer");
	expect_fail("GINConv with an empty nn", "{\"layers\": [{\"type\": \"GINConv\", \"prefix\": \"conv\", \"nn\": []}]}",
				gin, "GINConv needs \"nn\", a non-empty array of layers");
	expect_fail("Softmax over nodes", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin1\"},"
				"{\"type\": \"Softmax\", \"dim\": 0}]}",
				mlp, "Softmax must act on the feature dimension");
	expect_fail("zero heads", "{\"layers\": [{\"type\": \"GATConv\", \"prefix\": \"conv\", \"heads\": 0}]}",
				gat, "GATConv needs heads >= 1");
}

/* ---------- assembled weights ---------- */

static void
test_assembled(void)
{
	GnnSafetensors *st;
	GnnProgram *prog;
	GnnError	err;
	bool		ok;

	/* a bias the spec turns off is ignored, whatever its shape */
	st = make_weights("{\"lin.weight\": [2, 3], \"lin.bias\": [7]}");
	prog = expect_ok("bias=false ignores a bias tensor of another shape",
					 "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin\", \"bias\": false}]}", st);
	check(prog && prog->nparams == 6 && prog->ops[1].bias == NULL,
		  "an ignored bias is not counted or used", NULL);
	expect_fail("a bias of the wrong shape", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin\"}]}",
				st, "tensor \"lin.bias\" has shape [7], but Linear expects [2]");

	/* zero-sized weights name the width that is zero */
	st = make_weights("{\"a.weight\": [0, 3], \"b.weight\": [3, 0]}");
	expect_fail("weight with no rows", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"a\", \"bias\": false}]}",
				st, "Linear needs positive out_channels");
	expect_fail("weight with no columns", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"b\", \"bias\": false}]}",
				st, "Linear needs positive in_channels");

	/* GATConv before PyG 2.5: lin_src and lin_dst, one shared weight */
	st = make_weights("{\"c.lin_src.weight\": [4, 3], \"c.lin_dst.weight\": [4, 3],"
					  "\"c.att_src\": [1, 2, 2], \"c.att_dst\": [1, 2, 2], \"c.bias\": [4]}");
	prog = expect_ok("GATConv with lin_src and lin_dst",
					 "{\"layers\": [{\"type\": \"GATConv\", \"prefix\": \"c\", \"heads\": 2}]}", st);
	check(prog && prog->nparams == 12 + 4 + 4 + 4,
		  "the shared lin_src/lin_dst weight is counted once", NULL);

	/* every operation writing edges names their view (the loop view here) */
	ok = (prog != NULL);
	for (int i = 0; prog && i < prog->nops; i++)
	{
		const GnnReg *reg = &prog->regs[prog->ops[i].out];

		if (reg->space == GNN_SPACE_EDGE &&
			(reg->view != GNN_EDGES_ONE_SELF_LOOP ||
			 prog->ops[i].view != reg->view))
			ok = false;
	}
	check(ok, "operations over edges name their view", NULL);

	st = make_weights("{\"c.lin_src.weight\": [2, 3], \"c.lin_dst.weight\": [2, 2],"
					  "\"c.att_src\": [1, 1, 2], \"c.att_dst\": [1, 1, 2]}");
	expect_fail("lin_dst of another shape", "{\"layers\": [{\"type\": \"GATConv\", \"prefix\": \"c\", \"bias\": false}]}",
				st, "tensor \"c.lin_dst.weight\" has shape [2, 2], but GATConv expects [2, 3]");

	/* integer weights are not floating-point values */
	{
		char		file[256];
		const char *hdr = "{\"lin.weight\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[0,8]}}";
		size_t		n = strlen(hdr);

		memset(file, 0, sizeof(file));
		file[0] = (char) n;
		memcpy(file + 8, hdr, n);
		file[8 + n] = 1;
		if (gnn_st_parse(file, 8 + n + 8, &st, &err))
			expect_fail_state("integer weight", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"lin\", \"bias\": false}]}",
							  st, GNN_SQLSTATE_BAD_BINARY, "does not hold floating-point values");
		else
			check(false, "integer weight", err.message);
	}

	/* the lazy in_channels=-1 of PyG takes the width from the weight */
	st = make_weights("{\"l.weight\": [2, 3], \"l.bias\": [2]}");
	prog = expect_ok("in_channels -1", "{\"layers\": [{\"type\": \"Linear\", \"prefix\": \"l\", \"in_channels\": -1}]}", st);
	check(prog && prog->regs[prog->input].width == 3 &&
		  strcmp(gnn_program_summary(prog), "Linear(3->2)") == 0,
		  "in_channels -1 reads the width from the weight", NULL);
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		fixture_dir = argv[1];
	else
	{
		char	   *src = pg_strdup(__FILE__);

		fixture_dir = psprintf("%s/../fixtures", dirname(src));
	}

	test_fixtures();
	test_rejected();
	test_assembled();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
