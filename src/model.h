/*-------------------------------------------------------------------------
 *
 * model.h
 *	  The model catalog and the per-backend cache of lowered models.
 *
 * Models live in the extension's table gnn_model_catalog (spec, weights,
 * owner), which pg_dump dumps as extension configuration.  Only gnnjit's
 * functions write it, as the table's owner, after checking that the
 * caller owns the model.  Each backend keeps lowered programs in a cache
 * keyed by name and validated by the catalog row's xmin.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_MODEL_H
#define GNN_MODEL_H

#include "codegen.h"
#include "program.h"

typedef struct GnnModel
{
	char	   *name;
	MemoryContext cxt;			/* holds everything below */
	GnnProgram *prog;
	int			in_width;
	int			out_width;
	char	   *summary;
	GnnKernelOp *kops;			/* the program's operations, for the kernels */
	GnnJitCode *jit;			/* compiled operations, once compiled */
} GnnModel;

extern GnnKernelFn *gnn_model_jit(GnnModel *model);

extern GnnModel *gnn_model_get(const char *name);
extern GnnModel *gnn_model_lookup(const char *name, bool missing_ok);
extern char *gnn_model_source(const char *name, text **spec, bytea **weights);

/* The caller's identity while catalog access runs as the table owner */
typedef struct GnnCatalogAccess
{
	Oid			save_userid;
	int			save_sec;
	char	   *table;			/* qualified, quoted name */
	MemoryContext caller_cxt;	/* the caller's memory context */
} GnnCatalogAccess;

extern void gnn_catalog_begin(GnnCatalogAccess *ca, const char *table);
extern uint64 gnn_catalog_exec(GnnCatalogAccess *ca, const char *fmt, int nargs,
							   Oid *types, Datum *values, bool read_only);
extern void gnn_catalog_end(GnnCatalogAccess *ca);

#endif							/* GNN_MODEL_H */
