/*-------------------------------------------------------------------------
 *
 * graphdef.h
 *	  The graph catalog: named graphs of typed node and edge tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_GRAPHDEF_H
#define GNN_GRAPHDEF_H

#include "graph.h"
#include "program.h"

extern bool gnn_graph_exists(const char *name);
extern Oid	gnn_graph_node_table(const char *name, const char *node_type);
extern bool gnn_graph_source(const char *name, const GnnProgram *prog,
							 const char *node_type, GnnHeteroSource *hs);

#endif							/* GNN_GRAPHDEF_H */
