/*-------------------------------------------------------------------------
 *
 * json.h
 *	  A small read-only JSON document tree built with PostgreSQL's JSON
 *	  parser (common/jsonapi.h).
 *
 * The model spec and the safetensors header are small documents that are
 * walked many times while a model is validated and lowered; a tree is
 * simpler to walk than jsonapi callbacks and builds both in the backend and
 * in the standalone fuzzing programs.  All memory is palloc'd in the
 * current memory context (in frontend builds, where palloc is malloc, none
 * of it is freed; the fuzzing programs link an arena allocator instead).
 *
 * The input must be UTF-8.  Documents nested deeper than GNN_JSON_MAX_DEPTH
 * and objects with duplicate keys are rejected, as are numbers outside the
 * range of double.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_JSON_H
#define GNN_JSON_H

#include "gnnerror.h"

/* deepest nesting of arrays and objects accepted */
#define GNN_JSON_MAX_DEPTH 64

typedef enum GnnJsonKind
{
	GNN_JSON_NULL,
	GNN_JSON_BOOL,
	GNN_JSON_NUMBER,
	GNN_JSON_STRING,
	GNN_JSON_ARRAY,
	GNN_JSON_OBJECT
} GnnJsonKind;

typedef struct GnnJson GnnJson;

struct GnnJson
{
	GnnJsonKind kind;
	bool		boolean;		/* GNN_JSON_BOOL */
	char	   *string;			/* GNN_JSON_STRING; the token for NUMBER */
	double		number;			/* GNN_JSON_NUMBER */
	int			count;			/* ARRAY/OBJECT: number of elements */
	char	  **keys;			/* OBJECT: keys[i] names items[i] */
	GnnJson   **items;			/* ARRAY/OBJECT elements */
};

/* Parse text of the given length (need not be NUL-terminated). */
extern bool gnn_json_parse(const char *text, size_t len, GnnJson **result,
						   GnnError *err);

/* Object member by key, or NULL (also NULL when obj is not an object). */
extern GnnJson *gnn_json_get(const GnnJson *obj, const char *key);

extern const char *gnn_json_kind_name(GnnJsonKind kind);

#endif							/* GNN_JSON_H */
