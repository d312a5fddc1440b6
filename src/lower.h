/*-------------------------------------------------------------------------
 *
 * lower.h
 *	  Lowering a model spec and its weights to a module program.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_LOWER_H
#define GNN_LOWER_H

#include "json.h"
#include "program.h"
#include "safetensors.h"

/*
 * Validate the spec against the weights and build the program.  Weights
 * used by the program are converted to float32 and palloc'd in the current
 * memory context, which must outlive the program.
 */
extern bool gnn_lower(const GnnJson *spec, const GnnSafetensors *st,
					  GnnProgram **result, GnnError *err);

/* "SAGEConv(1433->64), ReLU, SAGEConv(64->7)" */
extern char *gnn_program_summary(const GnnProgram *prog);

#endif							/* GNN_LOWER_H */
