/*-------------------------------------------------------------------------
 *
 * wire.c
 *	  Building and parsing the messages of a distributed inference.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "wire.h"

/* Start a message in buf; its bytea header is filled by gnn_wire_finish */
void
gnn_wire_begin(StringInfo buf)
{
	GnnWireHeader hdr = {GNN_WIRE_MAGIC, 0};

	initStringInfo(buf);
	appendStringInfoSpaces(buf, VARHDRSZ);
	appendBinaryStringInfo(buf, (char *) &hdr, sizeof(hdr));
}

Size
gnn_wire_row_bytes(int width)
{
	return width == 0 ? sizeof(int64) : sizeof(float) * width;
}

static void
check_size(StringInfo buf, Size more)
{
	if ((Size) buf->len + more > MaxAllocSize - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a message between shards would exceed 1 GB"),
				 errhint("Use more shards, so that each exchanges fewer rows.")));
}

/* Append a section and its rows (or, with data NULL, only its header) */
void
gnn_wire_add(StringInfo buf, const GnnWireSection *sec, const void *data)
{
	Size		bytes = gnn_wire_row_bytes(sec->width) * sec->nrows;
	GnnWireHeader *hdr;

	check_size(buf, sizeof(GnnWireSection) + bytes);
	appendBinaryStringInfo(buf, (const char *) sec, sizeof(GnnWireSection));
	if (bytes > 0 && data != NULL)
		appendBinaryStringInfo(buf, (const char *) data, bytes);
	hdr = (GnnWireHeader *) (buf->data + VARHDRSZ);
	hdr->nsections++;
}

/* Append a section of float rows rows[index[0]], rows[index[1]], ... */
void
gnn_wire_add_rows(StringInfo buf, const GnnWireSection *sec, const float *rows,
				  const int32 *index)
{
	Size		rowbytes = gnn_wire_row_bytes(sec->width);

	Assert(sec->width > 0);
	gnn_wire_add(buf, sec, NULL);
	enlargeStringInfo(buf, rowbytes * sec->nrows);
	for (int64 k = 0; k < sec->nrows; k++)
		memcpy(buf->data + buf->len + k * rowbytes,
			   rows + (int64) index[k] * sec->width, rowbytes);
	buf->len += rowbytes * sec->nrows;
	buf->data[buf->len] = '\0';
}

bytea *
gnn_wire_finish(StringInfo buf)
{
	SET_VARSIZE(buf->data, buf->len);
	return (bytea *) buf->data;
}

static void
malformed(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("malformed gnnjit shard message: %s", why)));
}

/*
 * The sections of a message (len bytes at msg, without a bytea header),
 * pointing into msg.
 */
GnnWirePart *
gnn_wire_parse(const char *msg, Size len, int *nparts)
{
	GnnWireHeader hdr;
	GnnWirePart *parts;
	Size		pos = sizeof(GnnWireHeader);

	if (len < sizeof(GnnWireHeader))
		malformed("too short");
	memcpy(&hdr, msg, sizeof(hdr));
	if (hdr.magic != GNN_WIRE_MAGIC)
		malformed("bad magic number (different gnnjit version or byte order)");
	if (hdr.nsections < 0 ||
		(Size) hdr.nsections > (len - pos) / sizeof(GnnWireSection))
		malformed("bad section count");
	parts = palloc(sizeof(GnnWirePart) * Max(hdr.nsections, 1));
	for (int i = 0; i < hdr.nsections; i++)
	{
		GnnWirePart *p = &parts[i];

		if (len - pos < sizeof(GnnWireSection))
			malformed("truncated section header");
		memcpy(&p->hdr, msg + pos, sizeof(GnnWireSection));
		pos += sizeof(GnnWireSection);
		if (p->hdr.width < 0 || p->hdr.width > 1000000 || p->hdr.nrows < 0 ||
			(Size) p->hdr.nrows > (len - pos) / gnn_wire_row_bytes(p->hdr.width))
			malformed("bad section size");
		p->bytes = gnn_wire_row_bytes(p->hdr.width) * p->hdr.nrows;
		p->data = msg + pos;
		pos += p->bytes;
	}
	if (pos != len)
		malformed("trailing bytes");
	*nparts = hdr.nsections;
	return parts;
}
