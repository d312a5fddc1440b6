/*-------------------------------------------------------------------------
 *
 * test_parsers.c
 *	  Checks of the JSON and safetensors parsers, built as a frontend
 *	  program (see build.sh).
 *
 * Safetensors files are assembled in memory, so every case states exactly
 * which bytes it feeds in.  Prints one line per check and a summary; exits
 * non-zero if any check failed.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <math.h>

#include "json.h"
#include "safetensors.h"

static int	npassed = 0;
static int	nfailed = 0;

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

/* A safetensors file whose length field says hlen. */
static char *
make_st_raw(uint64 hlen, const char *header, const void *data, size_t datalen,
			size_t *len)
{
	size_t		n = strlen(header);
	char	   *buf = pg_malloc(8 + n + datalen + 1);
	int			i;

	for (i = 0; i < 8; i++)
		buf[i] = (char) (hlen >> (8 * i));
	memcpy(buf + 8, header, n);
	if (datalen > 0)
		memcpy(buf + 8 + n, data, datalen);
	*len = 8 + n + datalen;
	return buf;
}

static char *
make_st(const char *header, const void *data, size_t datalen, size_t *len)
{
	return make_st_raw(strlen(header), header, data, datalen, len);
}

/* Parse a file that must be accepted. */
static GnnSafetensors *
expect_st_ok(const char *name, const char *buf, size_t len)
{
	GnnSafetensors *st = NULL;
	GnnError	err;

	if (gnn_st_parse(buf, len, &st, &err))
	{
		check(true, name, NULL);
		return st;
	}
	check(false, name, err.message);
	return NULL;
}

/* Parse a file that must be rejected with a message containing want. */
static void
expect_st_fail(const char *name, const char *buf, size_t len, const char *want)
{
	GnnSafetensors *st;
	GnnError	err;
	char		detail[1200];

	if (gnn_st_parse(buf, len, &st, &err))
	{
		check(false, name, "accepted");
		return;
	}
	snprintf(detail, sizeof(detail), "[%s] %s (wanted \"%s\")",
			 err.sqlstate, err.message, want);
	check(strcmp(err.sqlstate, GNN_SQLSTATE_BAD_BINARY) == 0 &&
		  strstr(err.message, "invalid safetensors file: ") == err.message &&
		  strstr(err.message, want) != NULL,
		  name, detail);
	printf("#   %s\n", err.message);
}

static void
expect_st_header_fail(const char *name, const char *header, size_t datalen,
					  const char *want)
{
	static const char zeros[256];
	size_t		len;
	char	   *buf;

	Assert(datalen <= sizeof(zeros));
	buf = make_st(header, zeros, datalen, &len);
	expect_st_fail(name, buf, len, want);
	pg_free(buf);
}

static bool
same_float(float a, float b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof(float)) == 0;
}

/* Convert tensor tname and compare with want[0..n). */
static void
expect_floats(const char *name, const GnnSafetensors *st, const char *tname,
			  const float *want, int n)
{
	const GnnTensorInfo *t = st ? gnn_st_find(st, tname) : NULL;
	float	   *got;
	GnnError	err;
	char		detail[256];
	int			i;

	if (t == NULL)
	{
		check(false, name, "tensor not found");
		return;
	}
	if (t->numel != n)
	{
		check(false, name, "wrong numel");
		return;
	}
	if (!gnn_st_to_float(t, &got, &err))
	{
		check(false, name, err.message);
		return;
	}
	for (i = 0; i < n; i++)
	{
		if (!same_float(got[i], want[i]))
		{
			snprintf(detail, sizeof(detail), "element %d is %.9g, expected %.9g",
					 i, got[i], want[i]);
			check(false, name, detail);
			return;
		}
	}
	check(true, name, NULL);
}

static void
test_st_valid(void)
{
	unsigned char data[128];
	GnnSafetensors *st;
	const GnnTensorInfo *t;
	GnnError	err;
	float	   *vals;
	size_t		len;
	char	   *buf;
	char		header[1024];
	int			pos = 0;
	int			i;

	/* F32 [2, 2] at [0, 16] */
	{
		float		f[4] = {1.0f, -2.5f, 3.25e-7f, 65504.0f};

		for (i = 0; i < 4; i++)
		{
			uint32		bits;

			memcpy(&bits, &f[i], 4);
			data[pos++] = bits & 0xff;
			data[pos++] = (bits >> 8) & 0xff;
			data[pos++] = (bits >> 16) & 0xff;
			data[pos++] = (bits >> 24) & 0xff;
		}
	}
	/* F16 [10] at [16, 36] */
	{
		uint16		h[10] = {
			0x3c00,				/* 1 */
			0xc000,				/* -2 */
			0x0001,				/* smallest subnormal, 2^-24 */
			0x03ff,				/* largest subnormal, 1023 * 2^-24 */
			0x0400,				/* smallest normal, 2^-14 */
			0x7bff,				/* largest finite, 65504 */
			0x7c00,				/* +inf */
			0xfc00,				/* -inf */
			0x7e00,				/* NaN */
			0x8000				/* -0 */
		};

		for (i = 0; i < 10; i++)
		{
			data[pos++] = h[i] & 0xff;
			data[pos++] = h[i] >> 8;
		}
	}
	/* BF16 [3] at [36, 42] */
	{
		uint16		b[3] = {0x3f80, 0xc040, 0x7f80};	/* 1, -3, +inf */

		for (i = 0; i < 3; i++)
		{
			data[pos++] = b[i] & 0xff;
			data[pos++] = b[i] >> 8;
		}
	}
	/* F64 [3] at [42, 66] */
	{
		double		d[3] = {1.5, -0.25, 1e300};

		for (i = 0; i < 3; i++)
		{
			uint64		bits;
			int			j;

			memcpy(&bits, &d[i], 8);
			for (j = 0; j < 8; j++)
				data[pos++] = (bits >> (8 * j)) & 0xff;
		}
	}
	/* I64 [] at [66, 74]; U8 [2] at [74, 76]; empty F32 [0, 4] at [76, 76] */
	for (i = 0; i < 10; i++)
		data[pos++] = (unsigned char) i;

	snprintf(header, sizeof(header),
			 "{\"__metadata__\":{\"format\":\"pt\"},"
			 "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
			 "\"h\":{\"shape\":[10],\"dtype\":\"F16\",\"data_offsets\":[16,36]},"
			 "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[36,42]},"
			 "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[42,66]},"
			 "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[66,74]},"
			 "\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[74,76]},"
			 "\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[76,76]}}");

	/* pad the header with spaces to an odd length so the data is unaligned */
	if (strlen(header) % 2 == 0)
		strcat(header, " ");
	buf = make_st(header, data, pos, &len);
	st = expect_st_ok("valid file with all float dtypes parses", buf, len);
	if (st == NULL)
		return;

	check(st->ntensors == 7, "metadata is not a tensor", NULL);
	check(strcmp(st->tensors[0].name, "b") == 0 &&
		  strcmp(st->tensors[6].name, "w") == 0, "tensors are sorted by name", NULL);
	check(gnn_st_find(st, "missing") == NULL && gnn_st_find(st, "__metadata__") == NULL,
		  "gnn_st_find returns NULL for absent names", NULL);

	t = gnn_st_find(st, "w");
	check(t && t->dtype == GNN_DTYPE_F32 && t->ndims == 2 && t->shape[0] == 2 &&
		  t->shape[1] == 2 && t->numel == 4 && t->nbytes == 16 &&
		  t->data == buf + 8 + strlen(header),
		  "F32 tensor info", NULL);
	check(((uintptr_t) t->data) % 2 == 1, "F32 data is unaligned", NULL);
	{
		float		want[4] = {1.0f, -2.5f, 3.25e-7f, 65504.0f};

		expect_floats("F32 values", st, "w", want, 4);
	}
	{
		float		want[10] = {1.0f, -2.0f, ldexpf(1.0f, -24), 1023 * ldexpf(1.0f, -24),
			ldexpf(1.0f, -14), 65504.0f, INFINITY, -INFINITY, NAN, -0.0f};

		expect_floats("F16 values incl. subnormals, infinities, NaN, -0", st, "h", want, 10);
	}
	{
		float		want[3] = {1.0f, -3.0f, INFINITY};

		expect_floats("BF16 values", st, "b", want, 3);
	}
	{
		float		want[3] = {1.5f, -0.25f, INFINITY};

		expect_floats("F64 values, overflow becomes infinity", st, "d", want, 3);
	}

	t = gnn_st_find(st, "n");
	check(t && t->dtype == GNN_DTYPE_I64 && t->ndims == 0 && t->numel == 1 &&
		  t->nbytes == 8, "scalar I64 tensor info", NULL);
	check(t && !gnn_st_to_float(t, &vals, &err) &&
		  strcmp(err.sqlstate, GNN_SQLSTATE_BAD_BINARY) == 0,
		  "I64 tensor cannot be read as float", NULL);

	t = gnn_st_find(st, "u");
	check(t && t->dtype == GNN_DTYPE_OTHER && t->nbytes == 2, "U8 tensor is OTHER", NULL);

	t = gnn_st_find(st, "e");
	check(t && t->numel == 0 && t->nbytes == 0 && gnn_st_to_float(t, &vals, &err),
		  "empty tensor converts", NULL);

	pg_free(buf);

	/* an empty header, and one with only metadata */
	buf = make_st("{}", NULL, 0, &len);
	st = expect_st_ok("empty header parses", buf, len);
	check(st && st->ntensors == 0 && gnn_st_find(st, "x") == NULL,
		  "empty header has no tensors", NULL);
	pg_free(buf);

	/* adjacent tensors, an empty one between them, trailing unused bytes */
	buf = make_st("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
				  "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},"
				  "\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}",
				  data, 12, &len);
	expect_st_ok("adjacent tensors and an empty one at the boundary", buf, len);
	pg_free(buf);
}

static void
test_st_invalid(void)
{
	char	   *buf;
	size_t		len;
	char		deep[512];
	int			i;

	expect_st_fail("empty file", "", 0, "too short");
	expect_st_fail("truncated length field", "\x10\0\0\0", 4, "too short");

	buf = make_st_raw(1000, "{}", NULL, 0, &len);
	expect_st_fail("header length beyond the file", buf, len, "exceeds the 2 bytes");
	pg_free(buf);

	buf = make_st_raw(UINT64CONST(0xffffffffffffffff), "{}", NULL, 0, &len);
	expect_st_fail("huge header length", buf, len, "exceeds the limit");
	pg_free(buf);

	buf = make_st_raw(200 * 1024 * 1024, "{}", NULL, 0, &len);
	expect_st_fail("header length over 100 MB", buf, len, "exceeds the limit");
	pg_free(buf);

	buf = make_st_raw(0, "", NULL, 0, &len);
	expect_st_fail("zero-length header", buf, len, "ended unexpectedly");
	pg_free(buf);

	expect_st_header_fail("invalid JSON", "{\"a\":", 0, "invalid JSON");
	expect_st_header_fail("trailing garbage after the header", "{} x", 0, "invalid JSON");
	expect_st_header_fail("header is not an object", "[]", 0, "not an object");
	expect_st_header_fail("invalid UTF-8 in header", "{\"\xff\":1}", 0, "UTF8");
	expect_st_header_fail("duplicate tensor name",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
						  "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
						  2, "duplicate object key \"a\"");
	expect_st_header_fail("duplicate key inside an entry",
						  "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
						  1, "duplicate object key \"dtype\"");

	strcpy(deep, "{\"__metadata__\":{\"x\":");
	for (i = 0; i < 70; i++)
		strcat(deep, "[");
	for (i = 0; i < 70; i++)
		strcat(deep, "]");
	strcat(deep, "}}");
	expect_st_header_fail("deeply nested header", deep, 0, "nesting depth");

	expect_st_header_fail("tensor entry not an object", "{\"a\":[1]}", 0,
						  "tensor \"a\" is a JSON array");
	expect_st_header_fail("missing dtype",
						  "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "no dtype");
	expect_st_header_fail("dtype not a string",
						  "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "no dtype");
	expect_st_header_fail("unknown dtype",
						  "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}",
						  16, "unknown dtype \"F128\"");
	expect_st_header_fail("unexpected key",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}",
						  1, "unexpected key \"x\"");
	expect_st_header_fail("missing shape",
						  "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, "no shape");
	expect_st_header_fail("negative dimension",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}",
						  1, "shape element 0");
	expect_st_header_fail("fractional dimension",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,2.5],\"data_offsets\":[0,1]}}",
						  1, "shape element 1");
	expect_st_header_fail("exponent in dimension",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1e0],\"data_offsets\":[0,1]}}",
						  1, "shape element 0");
	expect_st_header_fail("string dimension",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}",
						  1, "shape element 0");
	expect_st_header_fail("dimension beyond int64",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775808],\"data_offsets\":[0,1]}}",
						  1, "shape element 0");
	expect_st_header_fail("too many dimensions",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
						  1, "9 dimensions");
	expect_st_header_fail("element count overflows",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}",
						  1, "too many elements");
	expect_st_header_fail("byte count would overflow",
						  "{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}",
						  8, "too many elements");
	expect_st_header_fail("size does not match shape",
						  "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
						  8, "has 8 bytes of data, but its dtype F32 and shape need 12");
	expect_st_header_fail("end offset beyond data",
						  "{\"conv1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[60,68]}}",
						  64, "tensor \"conv1.bias\" data_offsets [60, 68] are out of range (data is 64 bytes)");
	expect_st_header_fail("begin after end",
						  "{\"conv1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
						  64, "data_offsets [8, 4] are out of range (data is 64 bytes)");
	expect_st_header_fail("huge offsets",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[18446744073709551615,18446744073709551616]}}",
						  1, "data_offsets is not");
	expect_st_header_fail("three offsets",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}",
						  2, "data_offsets is not");
	expect_st_header_fail("negative offset",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}",
						  2, "data_offsets is not");
	expect_st_header_fail("overlapping offsets",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
						  "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
						  12, "tensors \"a\" [0, 8] and \"b\" [4, 12] overlap");
	expect_st_header_fail("identical offsets",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
						  "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
						  4, "overlap");
	expect_st_header_fail("empty tensor inside another",
						  "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
						  "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
						  8, "overlap");
	expect_st_header_fail("metadata not an object",
						  "{\"__metadata__\":[]}", 0, "__metadata__ is a JSON array");
	expect_st_header_fail("metadata value not a string",
						  "{\"__metadata__\":{\"epoch\":3}}", 0, "__metadata__ value \"epoch\"");
}

static void
expect_json_fail(const char *name, const char *text, size_t len, const char *want)
{
	GnnJson    *doc;
	GnnError	err;
	char		detail[1200];

	if (gnn_json_parse(text, len, &doc, &err))
	{
		check(false, name, "accepted");
		return;
	}
	snprintf(detail, sizeof(detail), "[%s] %s (wanted \"%s\")",
			 err.sqlstate, err.message, want);
	check(strstr(err.message, want) != NULL, name, detail);
	printf("#   [%s] %s\n", err.sqlstate, err.message);
}

static void
test_json(void)
{
	const char *text;
	GnnJson    *doc = NULL;
	GnnJson    *v;
	GnnError	err;
	char		deep[300];
	int			i;

	text = "{\"s\":\"a\\u00e9\\n\\\"\",\"n\":-1.50e1,\"t\":true,\"f\":false,"
		"\"z\":null,\"a\":[1,[],{}],\"o\":{\"s\":\"inner\"},\"tiny\":1e-400}";
	check(gnn_json_parse(text, strlen(text), &doc, &err), "JSON document parses", NULL);
	if (doc == NULL)
		return;
	check(doc->kind == GNN_JSON_OBJECT && doc->count == 8, "object members", NULL);
	v = gnn_json_get(doc, "s");
	check(v && v->kind == GNN_JSON_STRING && strcmp(v->string, "a\xc3\xa9\n\"") == 0,
		  "string escapes are decoded", NULL);
	v = gnn_json_get(doc, "n");
	check(v && v->kind == GNN_JSON_NUMBER && v->number == -15.0 &&
		  strcmp(v->string, "-1.50e1") == 0, "number value and token", NULL);
	v = gnn_json_get(doc, "tiny");
	check(v && v->kind == GNN_JSON_NUMBER && v->number == 0.0, "underflow is zero", NULL);
	check(gnn_json_get(doc, "t")->boolean && !gnn_json_get(doc, "f")->boolean &&
		  gnn_json_get(doc, "f")->kind == GNN_JSON_BOOL &&
		  gnn_json_get(doc, "z")->kind == GNN_JSON_NULL, "literals", NULL);
	v = gnn_json_get(doc, "a");
	check(v && v->kind == GNN_JSON_ARRAY && v->count == 3 &&
		  v->items[1]->kind == GNN_JSON_ARRAY && v->items[1]->count == 0 &&
		  v->items[2]->kind == GNN_JSON_OBJECT && v->items[2]->count == 0,
		  "nested arrays and empty containers", NULL);
	check(strcmp(gnn_json_get(gnn_json_get(doc, "o"), "s")->string, "inner") == 0,
		  "same key in different objects is allowed", NULL);
	check(gnn_json_get(doc, "missing") == NULL && gnn_json_get(v, "s") == NULL &&
		  gnn_json_get(NULL, "s") == NULL, "gnn_json_get misses", NULL);
	check(strcmp(gnn_json_kind_name(GNN_JSON_OBJECT), "object") == 0 &&
		  strcmp(gnn_json_kind_name(GNN_JSON_BOOL), "boolean") == 0, "kind names", NULL);

	check(gnn_json_parse("[1,2]garbage", 5, &doc, &err) &&
		  doc->kind == GNN_JSON_ARRAY && doc->count == 2,
		  "input need not be NUL-terminated", NULL);
	check(gnn_json_parse(" \"x\" ", 5, &doc, &err) && doc->kind == GNN_JSON_STRING,
		  "scalar document", NULL);

	for (i = 0; i < GNN_JSON_MAX_DEPTH; i++)
		deep[i] = '[';
	for (i = 0; i < GNN_JSON_MAX_DEPTH; i++)
		deep[GNN_JSON_MAX_DEPTH + i] = ']';
	check(gnn_json_parse(deep, 2 * GNN_JSON_MAX_DEPTH, &doc, &err),
		  "nesting at the maximum depth parses", NULL);
	memmove(deep + 1, deep, 2 * GNN_JSON_MAX_DEPTH);
	deep[0] = '{';
	deep[2 * GNN_JSON_MAX_DEPTH + 1] = '}';
	expect_json_fail("nesting one past the maximum", deep, 2 * GNN_JSON_MAX_DEPTH + 2,
					 "nesting depth exceeds the maximum of 64");
	text = "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\",x]";
	expect_json_fail("brackets in strings and escaped quotes do not count",
					 text, strlen(text), "Token \"x\" is invalid");

	expect_json_fail("duplicate key", "{\"a\":1,\"b\":2,\"a\":3}", 19,
					 "duplicate object key \"a\"");
	expect_json_fail("duplicate key in nested object", "[{\"k\":{\"x\":1,\"x\":1}}]", 21,
					 "duplicate object key \"x\"");
	expect_json_fail("empty input", "", 0, "ended unexpectedly");
	expect_json_fail("trailing garbage", "{} {}", 5, "Expected end of input");
	expect_json_fail("missing colon", "{\"a\" 1}", 7, "Expected \":\"");
	expect_json_fail("bad literal", "[tru]", 5, "Token \"tru\" is invalid");
	expect_json_fail("leading zero", "[01]", 4, "invalid");
	expect_json_fail("unterminated string", "[\"abc", 5, "invalid");
	expect_json_fail("control character in string", "[\"a\tb\"]", 7, "must be escaped");
	expect_json_fail("bad escape", "[\"\\q\"]", 6, "Escape sequence");
	expect_json_fail("NUL escape", "[\"\\u0000\"]", 10, "\\u0000");
	expect_json_fail("lone low surrogate", "[\"\\udc00\"]", 10, "surrogate");
	expect_json_fail("invalid UTF-8", "[\"\xc3\"]", 4, "UTF8");
	expect_json_fail("NUL byte", "[1,\0]", 5, "UTF8");
	expect_json_fail("number out of range", "[1e999]", 7, "number 1e999 is out of range");
}

int
main(void)
{
	test_json();
	test_st_valid();
	test_st_invalid();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
