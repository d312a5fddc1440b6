/*-------------------------------------------------------------------------
 *
 * gnnerror.h
 *	  Error reporting shared by code that also builds outside the server.
 *
 * The parsers of outside input (JSON, safetensors, the model spec) and the
 * lowering of a spec to a program build both inside the backend and as
 * standalone programs for fuzzing.  They cannot ereport(), so they return
 * false and fill a GnnError; backend callers turn it into ereport(ERROR)
 * with gnn_raise().
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNNERROR_H
#define GNNERROR_H

#ifndef FRONTEND
#include "postgres.h"
#else
#include "postgres_fe.h"
#endif

typedef struct GnnError
{
	char		sqlstate[6];	/* five-character SQLSTATE, e.g. "22023" */
	char	   *message;		/* palloc'd primary message */
} GnnError;

/* SQLSTATEs used by the standalone code */
#define GNN_SQLSTATE_INVALID_PARAMETER	"22023" /* invalid_parameter_value */
#define GNN_SQLSTATE_BAD_BINARY			"22P03" /* invalid_binary_representation */
#define GNN_SQLSTATE_PROGRAM_LIMIT		"54000" /* program_limit_exceeded */

extern bool gnn_error(GnnError *err, const char *sqlstate, const char *fmt,...)
			pg_attribute_printf(3, 4);

#ifndef FRONTEND
extern void gnn_raise(const GnnError *err) pg_attribute_noreturn();
#endif

#endif							/* GNNERROR_H */
