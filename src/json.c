/*-------------------------------------------------------------------------
 *
 * json.c
 *	  Build a GnnJson tree with PostgreSQL's JSON parser; see json.h.
 *
 * pg_parse_json() calls semantic actions that cannot stop it, so problems
 * they find (a duplicate key, a number out of range) are remembered and
 * reported once it returns.  The parser also recurses once per nesting
 * level, and only the backend build checks the stack depth, so a cheap scan
 * rejects deep documents before the parser sees them.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "json.h"

/* An array or object whose elements are still being parsed. */
typedef struct JsonFrame
{
	GnnJson    *node;
	int			capacity;		/* allocated length of node->items (and keys) */
	char	   *key;			/* OBJECT: key of the member being parsed */
} JsonFrame;

typedef struct JsonBuildState
{
	JsonFrame	stack[GNN_JSON_MAX_DEPTH];
	int			depth;
	GnnJson    *root;
	bool		failed;			/* error holds the first problem found */
	GnnError	error;
} JsonBuildState;

static bool json_check_depth(const char *text, size_t len, GnnError *err);
static char *json_error_detail(JsonParseErrorType code, JsonLexContext *lex);
static void json_fail(JsonBuildState *state, const char *fmt,...)
			pg_attribute_printf(2, 3);
static GnnJson *json_new_node(GnnJsonKind kind);
static void json_attach(JsonBuildState *state, GnnJson *node);
static void json_push(JsonBuildState *state, GnnJsonKind kind);
static GnnJson *json_pop(JsonBuildState *state);
static const char *json_find_duplicate(const GnnJson *obj);
static int	json_cmp_keys(const void *a, const void *b);
static void json_object_start(void *arg);
static void json_object_end(void *arg);
static void json_array_start(void *arg);
static void json_array_end(void *arg);
static void json_object_field_start(void *arg, char *fname, bool isnull);
static void json_scalar(void *arg, char *token, JsonTokenType tokentype);

bool
gnn_json_parse(const char *text, size_t len, GnnJson **result, GnnError *err)
{
	int			valid;
	char	   *copy;
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonBuildState state;
	JsonParseErrorType rc;
	bool		ok;

	if (len > INT_MAX)
		return gnn_error(err, GNN_SQLSTATE_PROGRAM_LIMIT,
						 "JSON document is too large (%zu bytes)", len);

	/* The lexer does not check the encoding; strings must be valid text. */
	valid = pg_encoding_verifymbstr(PG_UTF8, text, (int) len);
	if (valid != (int) len)
		return gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
						 "invalid JSON: invalid byte sequence for encoding \"UTF8\" at offset %d",
						 valid);

	if (!json_check_depth(text, len, err))
		return false;

	/*
	 * Older PostgreSQL 15 minor releases may read a few bytes past an
	 * invalid escape while reporting it, stopping at a NUL, so parse a
	 * terminated copy.
	 */
	copy = palloc_extended(len + 1, MCXT_ALLOC_HUGE);
	memcpy(copy, text, len);
	copy[len] = '\0';

	memset(&state, 0, sizeof(state));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &state;
	sem.object_start = json_object_start;
	sem.object_end = json_object_end;
	sem.array_start = json_array_start;
	sem.array_end = json_array_end;
	sem.object_field_start = json_object_field_start;
	sem.scalar = json_scalar;

	lex = makeJsonLexContextCstringLen(copy, (int) len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);

	if (rc != JSON_SUCCESS)
		ok = gnn_error(err, GNN_SQLSTATE_INVALID_PARAMETER,
					   "invalid JSON: %s", json_error_detail(rc, lex));
	else if (state.failed)
	{
		*err = state.error;
		ok = false;
	}
	else
	{
		Assert(state.depth == 0 && state.root != NULL);
		*result = state.root;
		ok = true;
	}

	/* The tree holds copies of every token, so the input can go. */
	pfree(lex->strval->data);
	pfree(lex->strval);
	pfree(lex);
	pfree(copy);

	return ok;
}

GnnJson *
gnn_json_get(const GnnJson *obj, const char *key)
{
	int			i;

	if (obj == NULL || obj->kind != GNN_JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->count; i++)
	{
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	}
	return NULL;
}

const char *
gnn_json_kind_name(GnnJsonKind kind)
{
	switch (kind)
	{
		case GNN_JSON_NULL:
			return "null";
		case GNN_JSON_BOOL:
			return "boolean";
		case GNN_JSON_NUMBER:
			return "number";
		case GNN_JSON_STRING:
			return "string";
		case GNN_JSON_ARRAY:
			return "array";
		case GNN_JSON_OBJECT:
			return "object";
	}
	return "unknown";
}

/*
 * Reject text nested deeper than GNN_JSON_MAX_DEPTH.  This tracks strings
 * and escapes the way the lexer does, so on any prefix the parser accepts
 * the count equals the parser's recursion depth; the parser stops at the
 * first error, so it never recurses deeper than this allows.
 */
static bool
json_check_depth(const char *text, size_t len, GnnError *err)
{
	bool		in_string = false;
	int			depth = 0;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		c = text[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > GNN_JSON_MAX_DEPTH)
				return gnn_error(err, GNN_SQLSTATE_PROGRAM_LIMIT,
								 "invalid JSON: nesting depth exceeds the maximum of %d",
								 GNN_JSON_MAX_DEPTH);
		}
		else if (c == ']' || c == '}')
			depth--;			/* may go negative; the parser rejects that */
	}
	return true;
}

#ifndef FRONTEND

static char *
json_error_detail(JsonParseErrorType code, JsonLexContext *lex)
{
	return json_errdetail(code, lex);
}

#else

/*
 * libpgcommon has no json_errdetail() for frontend programs; this mirrors
 * its wording so that messages do not depend on where the code runs.
 */
static char *
json_error_detail(JsonParseErrorType code, JsonLexContext *lex)
{
	const char *tok = lex->token_start ? lex->token_start : "";
	int			toklen = 0;

	if (lex->token_start && lex->token_terminator > lex->token_start)
		toklen = lex->token_terminator - lex->token_start;

	switch (code)
	{
		case JSON_SUCCESS:
			break;
		case JSON_ESCAPING_INVALID:
			return psprintf("Escape sequence \"\\%.*s\" is invalid.", toklen, tok);
		case JSON_ESCAPING_REQUIRED:
			return psprintf("Character with value 0x%02x must be escaped.",
							(unsigned char) *(lex->token_terminator));
		case JSON_EXPECTED_END:
			return psprintf("Expected end of input, but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_ARRAY_FIRST:
			return psprintf("Expected array element or \"]\", but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_ARRAY_NEXT:
			return psprintf("Expected \",\" or \"]\", but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_COLON:
			return psprintf("Expected \":\", but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_JSON:
			return psprintf("Expected JSON value, but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_MORE:
			return pstrdup("The input string ended unexpectedly.");
		case JSON_EXPECTED_OBJECT_FIRST:
			return psprintf("Expected string or \"}\", but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_OBJECT_NEXT:
			return psprintf("Expected \",\" or \"}\", but found \"%.*s\".", toklen, tok);
		case JSON_EXPECTED_STRING:
			return psprintf("Expected string, but found \"%.*s\".", toklen, tok);
		case JSON_INVALID_TOKEN:
			return psprintf("Token \"%.*s\" is invalid.", toklen, tok);
		case JSON_UNICODE_CODE_POINT_ZERO:
			return pstrdup("\\u0000 cannot be converted to text.");
		case JSON_UNICODE_ESCAPE_FORMAT:
			return pstrdup("\"\\u\" must be followed by four hexadecimal digits.");
		case JSON_UNICODE_HIGH_ESCAPE:
			return pstrdup("Unicode escape values cannot be used for code point values above 007F when the encoding is not UTF8.");
		case JSON_UNICODE_HIGH_SURROGATE:
			return pstrdup("Unicode high surrogate must not follow a high surrogate.");
		case JSON_UNICODE_LOW_SURROGATE:
			return pstrdup("Unicode low surrogate must follow a high surrogate.");
	}
	return psprintf("unexpected JSON parse error %d", (int) code);
}

#endif							/* FRONTEND */

/* Remember the first problem found by a semantic action. */
static void
json_fail(JsonBuildState *state, const char *fmt,...)
{
	va_list		args;
	char		buf[1024];

	if (state->failed)
		return;
	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	gnn_error(&state->error, GNN_SQLSTATE_INVALID_PARAMETER, "invalid JSON: %s", buf);
	state->failed = true;
}

static GnnJson *
json_new_node(GnnJsonKind kind)
{
	GnnJson    *node = palloc0(sizeof(GnnJson));

	node->kind = kind;
	return node;
}

/* Add a finished value to the innermost open container, or make it root. */
static void
json_attach(JsonBuildState *state, GnnJson *node)
{
	JsonFrame  *frame;
	GnnJson    *parent;

	if (state->depth == 0)
	{
		state->root = node;
		return;
	}

	frame = &state->stack[state->depth - 1];
	parent = frame->node;
	if (parent->count == frame->capacity)
	{
		/* count < INT_MAX / 2: every element takes two bytes of input */
		int			newcap = frame->capacity ? frame->capacity * 2 : 4;
		Size		size = (Size) newcap * sizeof(GnnJson *);

		if (parent->items == NULL)
			parent->items = palloc_extended(size, MCXT_ALLOC_HUGE);
		else
		{
#ifndef FRONTEND
			parent->items = repalloc_huge(parent->items, size);
#else
			parent->items = repalloc(parent->items, size);
#endif
		}
		if (parent->kind == GNN_JSON_OBJECT)
		{
			if (parent->keys == NULL)
				parent->keys = palloc_extended(size, MCXT_ALLOC_HUGE);
			else
			{
#ifndef FRONTEND
				parent->keys = repalloc_huge(parent->keys, size);
#else
				parent->keys = repalloc(parent->keys, size);
#endif
			}
		}
		frame->capacity = newcap;
	}

	if (parent->kind == GNN_JSON_OBJECT)
	{
		Assert(frame->key != NULL);
		parent->keys[parent->count] = frame->key;
		frame->key = NULL;
	}
	parent->items[parent->count++] = node;
}

static void
json_push(JsonBuildState *state, GnnJsonKind kind)
{
	JsonFrame  *frame;

	/* json_check_depth() has made sure this cannot happen */
	if (state->depth >= GNN_JSON_MAX_DEPTH)
	{
		json_fail(state, "nesting depth exceeds the maximum of %d",
				  GNN_JSON_MAX_DEPTH);
		return;
	}
	frame = &state->stack[state->depth++];
	frame->node = json_new_node(kind);
	frame->capacity = 0;
	frame->key = NULL;
}

static GnnJson *
json_pop(JsonBuildState *state)
{
	Assert(state->depth > 0);
	return state->stack[--state->depth].node;
}

/*
 * Return a key that occurs twice in obj, or NULL.  Sorting a copy of the
 * keys keeps this O(n log n) for objects with many members.
 */
static const char *
json_find_duplicate(const GnnJson *obj)
{
	char	  **sorted;
	const char *dup = NULL;
	int			i;

	if (obj->count < 2)
		return NULL;

	sorted = palloc_extended(sizeof(char *) * (Size) obj->count, MCXT_ALLOC_HUGE);
	memcpy(sorted, obj->keys, sizeof(char *) * (Size) obj->count);
	qsort(sorted, obj->count, sizeof(char *), json_cmp_keys);
	for (i = 1; i < obj->count; i++)
	{
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
		{
			dup = sorted[i];
			break;
		}
	}
	pfree(sorted);
	return dup;
}

static int
json_cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
json_object_start(void *arg)
{
	JsonBuildState *state = arg;

	if (!state->failed)
		json_push(state, GNN_JSON_OBJECT);
}

static void
json_object_end(void *arg)
{
	JsonBuildState *state = arg;
	GnnJson    *node;
	const char *dup;

	if (state->failed)
		return;
	node = json_pop(state);

	/* a later member would silently win over an earlier one */
	dup = json_find_duplicate(node);
	if (dup != NULL)
	{
		json_fail(state, "duplicate object key \"%s\"", dup);
		return;
	}
	json_attach(state, node);
}

static void
json_array_start(void *arg)
{
	JsonBuildState *state = arg;

	if (!state->failed)
		json_push(state, GNN_JSON_ARRAY);
}

static void
json_array_end(void *arg)
{
	JsonBuildState *state = arg;

	if (!state->failed)
		json_attach(state, json_pop(state));
}

static void
json_object_field_start(void *arg, char *fname, bool isnull)
{
	JsonBuildState *state = arg;

	if (state->failed)
		return;
	Assert(state->depth > 0 && fname != NULL);
	state->stack[state->depth - 1].key = fname;
}

/* token is palloc'd by the parser and now belongs to us */
static void
json_scalar(void *arg, char *token, JsonTokenType tokentype)
{
	JsonBuildState *state = arg;
	GnnJson    *node;

	if (state->failed)
		return;

	switch (tokentype)
	{
		case JSON_TOKEN_STRING:
			node = json_new_node(GNN_JSON_STRING);
			node->string = token;
			break;
		case JSON_TOKEN_NUMBER:
			node = json_new_node(GNN_JSON_NUMBER);
			node->string = token;
			errno = 0;
			node->number = strtod(token, NULL);
			/* underflow to zero or a subnormal is fine; overflow is not */
			if (errno == ERANGE && isinf(node->number))
			{
				json_fail(state, "number %.40s%s is out of range", token,
						  strlen(token) > 40 ? "..." : "");
				return;
			}
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			node = json_new_node(GNN_JSON_BOOL);
			node->boolean = (tokentype == JSON_TOKEN_TRUE);
			pfree(token);
			break;
		case JSON_TOKEN_NULL:
			node = json_new_node(GNN_JSON_NULL);
			pfree(token);
			break;
		default:
			json_fail(state, "unexpected token type %d", (int) tokentype);
			return;
	}
	json_attach(state, node);
}
