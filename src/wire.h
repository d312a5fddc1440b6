/*-------------------------------------------------------------------------
 *
 * wire.h
 *	  The binary messages a distributed inference exchanges.
 *
 * A message is a bytea: a header, then sections.  Each section is a block
 * of rows of one register addressed to or from one peer shard: node ids
 * (width 0, int64 each) or float32 rows of the given width.  Coordinator
 * and shards are assumed to share byte order and float format; the magic
 * number catches a mismatch.  Parsing checks every length, since the
 * shard functions take messages from any caller.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_WIRE_H
#define GNN_WIRE_H

#include "lib/stringinfo.h"

#define GNN_WIRE_MAGIC 0x314A4E47	/* "GNJ1" in little-endian order */

typedef struct GnnWireHeader
{
	uint32		magic;
	int32		nsections;
} GnnWireHeader;

typedef struct GnnWireSection
{
	int32		peer;			/* shard (partition remainder) */
	int32		reg;			/* register, or -1 for node ids */
	int32		width;			/* floats per row; 0: int64 node ids */
	int32		unused;
	int64		nrows;
} GnnWireSection;

/* A parsed section: its header and where its rows start */
typedef struct GnnWirePart
{
	GnnWireSection hdr;
	const char *data;
	Size		bytes;
} GnnWirePart;

extern void gnn_wire_begin(StringInfo buf);
extern void gnn_wire_add(StringInfo buf, const GnnWireSection *sec,
						 const void *data);
extern void gnn_wire_add_rows(StringInfo buf, const GnnWireSection *sec,
							  const float *rows, const int32 *index);
extern bytea *gnn_wire_finish(StringInfo buf);
extern Size gnn_wire_row_bytes(int width);
extern GnnWirePart *gnn_wire_parse(const char *msg, Size len, int *nparts);

#endif							/* GNN_WIRE_H */
