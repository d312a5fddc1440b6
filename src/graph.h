/*-------------------------------------------------------------------------
 *
 * graph.h
 *	  The in-memory graph: dense node indexes, features, in-edge CSR.
 *
 * Tables are read once per inference.  Node ids (any bigint) map to dense
 * indexes 0..nnodes-1 in table order; features become one float32 matrix;
 * edges become a CSR over their targets (dst), so that each node's
 * in-edges are contiguous and message passing writes each node once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_GRAPH_H
#define GNN_GRAPH_H

#include "access/relscan.h"
#include "catalog/pg_type.h"
#include "port/atomics.h"
#include "utils/snapshot.h"

#include "program.h"

/* Memory accounting against gnnjit.max_memory */
typedef struct GnnMemory
{
	int64		used;			/* bytes reserved so far */
	int64		peak;
	int64		limit;			/* bytes; <= 0 means no limit */
} GnnMemory;

extern void gnn_mem_reserve(GnnMemory *mem, int64 bytes, const char *what);
extern void gnn_mem_release(GnnMemory *mem, int64 bytes);
extern void *gnn_mem_alloc(GnnMemory *mem, int64 bytes, const char *what);
extern void gnn_mem_free(GnnMemory *mem, void *ptr, int64 bytes);

/*
 * In-edge CSR of one edge view.  Row i holds the edges into node i, in
 * table order; in GNN_EDGES_ONE_SELF_LOOP the node's single loop is last.
 */
typedef struct GnnCsr
{
	int64		nedges;
	int64	   *rowptr;			/* nnodes + 1 */
	int32	   *src;			/* source node index per edge */
	float	   *weight;			/* per edge, NULL when no weight column */
	bool	   *fill_loop;		/* ONE_SELF_LOOP: node had no loop of its own */
	float	   *attr;			/* edge features (nedges x attr_width), or NULL */
	int			attr_width;
} GnnCsr;

/* The nodes of one node type of a heterogeneous graph */
typedef struct GnnNodeType
{
	int64		off;			/* first node index */
	int64		n;
	int			width;			/* feature width */
	float	   *x;				/* n x width */
} GnnNodeType;

typedef struct GnnGraph
{
	int64		nnodes;
	int64		nlocal;			/* gnn_graph_read(_shard): the nodes of the
								 * node table, before a shard's halo */
	int64	   *ids;			/* node index -> id */
	int			width;			/* feature width */
	float	   *x;				/* nnodes x width */
	bool		x_disposable;	/* the run may reuse x's memory once no
								 * operation reads it: x is not used after */
	bool		has_weight;
	GnnCsr		views[GNN_MAX_VIEWS];
	bool		built[GNN_MAX_VIEWS];
	bool		counted[GNN_MAX_VIEWS]; /* an unbuilt view's nedges is known */
	/* heterogeneous graphs: node types (0 for a homogeneous graph) */
	int			ntypes;
	GnnNodeType types[GNN_MAX_NODE_TYPES];
	int			netypes;
	GnnEdgeType etypes[GNN_MAX_EDGE_TYPES];
	int			out_type;		/* the node type whose outputs are wanted */
	GnnMemory  *mem;
	int64		rows_read;		/* node + edge rows, for EXPLAIN ANALYZE */
} GnnGraph;

/* What to read: relations and column names (already defaults-resolved) */
typedef struct GnnGraphSource
{
	Oid			nodes;
	Oid			edges;
	const char *id_col;
	const char *features_col;
	const char *src_col;
	const char *dst_col;
	const char *weight_col;		/* NULL: no weight */
	bool		relation;		/* weight_col holds relation ids */
	int			width;			/* the model's input width */
} GnnGraphSource;

/*
 * A heterogeneous graph (or a homogeneous one from the graph catalog):
 * per node type a table, per edge type a table, bound to the model's
 * types.  A node type the model does not read has width 0: ids only.
 */
typedef struct GnnNodeSource
{
	Oid			rel;
	const char *id_col;
	const char *features_col;
	int			width;
} GnnNodeSource;

typedef struct GnnEdgeSource
{
	Oid			rel;
	const char *src_col;
	const char *dst_col;
	const char *weight_col;		/* or NULL */
	bool		relation;		/* weight_col holds relation ids */
	const char *attr_col;		/* edge features, or NULL */
	int			attr_width;
} GnnEdgeSource;

typedef struct GnnHeteroSource
{
	const char *graph;			/* its name in the graph catalog */
	int			ntypes;
	GnnNodeSource nodes[GNN_MAX_NODE_TYPES];
	int			netypes;
	GnnEdgeSource edges[GNN_MAX_EDGE_TYPES];
	GnnEdgeType etypes[GNN_MAX_EDGE_TYPES];
	int			out_type;		/* the node type whose outputs are wanted */
} GnnHeteroSource;

/* Edges as read from the table, by node id */
typedef struct GnnEdgeList
{
	int64		n;
	int64	   *src;
	int64	   *dst;
	float	   *weight;			/* NULL without a weight column */
} GnnEdgeList;

typedef struct GnnGraphReader GnnGraphReader;

/*
 * Shared arrays that the participants of a parallel read write node rows
 * into, each claiming GNN_NODE_CHUNK rows at a time from *next.
 */
#define GNN_NODE_CHUNK 4096

typedef struct GnnNodeChunks
{
	int64	   *ids;
	float	   *x;
	int64		capacity;		/* rows */
	pg_atomic_uint64 *next;		/* the first row not claimed */
} GnnNodeChunks;

/* What one participant's read left: all its chunks full but the last */
typedef struct GnnNodeShare
{
	int64		last_start;		/* its last chunk's first row, or -1 */
	int64		last_fill;		/* rows in that chunk */
	GnnGraph   *overflow;		/* rows that found the arrays full, or NULL */
} GnnNodeShare;

/* One process's share of the edges of a parallel read */
typedef struct GnnEdgePart
{
	int64		n;
	int32	   *src;			/* node indexes */
	int32	   *dst;
	uint64	   *pos;			/* position in the table: block << 16 | item */
	float	   *weight;
} GnnEdgePart;

extern GnnGraphReader *gnn_reader_begin(const GnnGraphSource *source,
										GnnMemory *mem);
extern void gnn_reader_nodes(GnnGraphReader *r, const int64 *ids, int n);
extern void gnn_reader_features(GnnGraphReader *r, const int64 *ids,
								const int32 *rows, int n, float *x, bool *found);
extern int32 gnn_reader_node(GnnGraphReader *r, int64 id);
extern int64 gnn_reader_rows_read(GnnGraphReader *r);
extern void gnn_reader_in_edges(GnnGraphReader *r, const int64 *dsts, int n,
								GnnEdgeList *out);
extern void gnn_reader_end(GnnGraphReader *r);

/* A smallint, integer or bigint datum as int64 */
static inline int64
gnn_int_datum(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

extern int64 gnn_graph_estimate_bytes(const GnnGraphSource *source,
									  int64 *nnodes, int64 *nedges);
extern int64 gnn_graph_estimate_bytes_hetero(const GnnHeteroSource *hs,
											 int64 *nnodes, int64 *nedges);
extern GnnGraph *gnn_graph_read(const GnnGraphSource *source, GnnMemory *mem);
extern GnnGraph *gnn_graph_read_shard(const GnnGraphSource *source,
									  GnnMemory *mem);
extern GnnGraph *gnn_graph_read_hetero(const GnnHeteroSource *source,
									   GnnMemory *mem);
extern void gnn_graph_build_view(GnnGraph *g, int view);
extern int64 gnn_graph_loop_view_edges(const GnnCsr *in, int64 lo, int64 hi);
extern void gnn_graph_fill_loop_view(const GnnCsr *in, int64 n, int64 lo,
									 int64 hi, GnnCsr *out);

/* The node range of node type t; a homogeneous graph is its one type */
static inline int64
gnn_graph_type_off(const GnnGraph *g, int t)
{
	return g->ntypes > 0 ? g->types[t].off : 0;
}

static inline int64
gnn_graph_type_rows(const GnnGraph *g, int t)
{
	return g->ntypes > 0 ? g->types[t].n : g->nnodes;
}

static inline float *
gnn_graph_type_x(const GnnGraph *g, int t)
{
	return g->ntypes > 0 ? g->types[t].x : g->x;
}

/* parallel reading */
extern bool gnn_graph_parallel_readable(const GnnGraphSource *source);
extern Size gnn_graph_pscan_size(Oid relid, Snapshot snapshot);
extern void gnn_graph_pscan_init(Oid relid, ParallelTableScanDesc pscan,
								 Snapshot snapshot);
extern void gnn_graph_read_nodes_shared(const GnnGraphSource *source,
										ParallelTableScanDesc pscan,
										const GnnNodeChunks *chunks,
										GnnMemory *mem, GnnNodeShare *share);
extern void gnn_graph_read_edges_part(const GnnGraphSource *source,
									  ParallelTableScanDesc pscan, int nparts,
									  const int64 *ids, int64 nnodes,
									  GnnMemory *mem, GnnEdgePart *out);
extern int64 gnn_graph_view_edges(const GnnGraph *g, int view);
extern int64 gnn_graph_view_bytes(const GnnGraph *g, int view);

#endif							/* GNN_GRAPH_H */
