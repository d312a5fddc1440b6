/*-------------------------------------------------------------------------
 *
 * fuzz_json.c
 *	  libFuzzer harness for gnn_json_parse().
 *
 * Accepted documents are walked to check the tree's invariants (nesting
 * limit, unique keys, finite numbers with their tokens); rejected ones must
 * carry one of the parser's error codes.  Anything else aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <math.h>
#include <stdint.h>

#include "fuzz_alloc.h"
#include "json.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "invariant violated: %s%s%s\n", what,
			detail ? ": " : "", detail ? detail : "");
	abort();
}

static void
walk(const GnnJson *v, int depth)
{
	int			i;

	if (v == NULL)
		fuzz_fail("NULL node", NULL);
	(void) gnn_json_kind_name(v->kind);

	switch (v->kind)
	{
		case GNN_JSON_NULL:
		case GNN_JSON_BOOL:
			break;
		case GNN_JSON_NUMBER:
			if (v->string == NULL || !isfinite(v->number))
				fuzz_fail("bad number", v->string);
			break;
		case GNN_JSON_STRING:
			if (v->string == NULL)
				fuzz_fail("string without text", NULL);
			break;
		case GNN_JSON_ARRAY:
		case GNN_JSON_OBJECT:
			if (depth + 1 > GNN_JSON_MAX_DEPTH)
				fuzz_fail("nesting limit exceeded", NULL);
			if (v->count < 0 || (v->count > 0 && v->items == NULL))
				fuzz_fail("bad container", NULL);
			for (i = 0; i < v->count; i++)
			{
				if (v->kind == GNN_JSON_OBJECT)
				{
					if (v->keys[i] == NULL)
						fuzz_fail("NULL key", NULL);
					/* with unique keys, lookup finds this very member */
					if (gnn_json_get(v, v->keys[i]) != v->items[i])
						fuzz_fail("duplicate key accepted", v->keys[i]);
				}
				walk(v->items[i], depth + 1);
			}
			break;
		default:
			fuzz_fail("unknown kind", NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GnnJson    *doc;
	GnnError	err;

	if (gnn_json_parse((const char *) data, size, &doc, &err))
		walk(doc, 0);
	else if ((strcmp(err.sqlstate, GNN_SQLSTATE_INVALID_PARAMETER) != 0 &&
			  strcmp(err.sqlstate, GNN_SQLSTATE_PROGRAM_LIMIT) != 0) ||
			 strncmp(err.message, "invalid JSON: ", 14) != 0)
		fuzz_fail("unexpected error", err.message);

	fuzz_alloc_reset();
	return 0;
}
