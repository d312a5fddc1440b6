/*-------------------------------------------------------------------------
 *
 * safetensors.h
 *	  Reader for the safetensors weight format.
 *
 * Format: 8-byte little-endian header length n, n bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  ..., "__metadata__": {...}}, then the data buffer; offsets are relative
 * to the start of the data buffer.  Every length, offset, shape and dtype is
 * checked against the buffer size before anything is read.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_SAFETENSORS_H
#define GNN_SAFETENSORS_H

#include "gnnerror.h"

#define GNN_ST_MAX_DIMS 8

typedef enum GnnDtype
{
	GNN_DTYPE_F32,
	GNN_DTYPE_F16,
	GNN_DTYPE_BF16,
	GNN_DTYPE_F64,
	GNN_DTYPE_I64,				/* e.g. BatchNorm's num_batches_tracked */
	GNN_DTYPE_OTHER				/* a known safetensors dtype we never read */
} GnnDtype;

typedef struct GnnTensorInfo
{
	char	   *name;
	GnnDtype	dtype;
	int			ndims;
	int64		shape[GNN_ST_MAX_DIMS];
	int64		numel;
	const char *data;			/* points into the caller's buffer */
	size_t		nbytes;
} GnnTensorInfo;

typedef struct GnnSafetensors
{
	int			ntensors;
	GnnTensorInfo *tensors;		/* sorted by name */
} GnnSafetensors;

/*
 * Parse and validate a whole file held in buf[0..len).  The result points
 * into buf, which must outlive it, and tensor names point into the parsed
 * header, palloc'd in the current memory context.  Headers over 100 MB,
 * unknown dtypes and tensors sharing bytes are rejected.
 */
extern bool gnn_st_parse(const char *buf, size_t len, GnnSafetensors **result,
						 GnnError *err);

/* Tensor by exact name, or NULL. */
extern const GnnTensorInfo *gnn_st_find(const GnnSafetensors *st,
										const char *name);

/*
 * Convert a floating-point tensor to a freshly palloc'd float32 array of
 * numel values (F32 copied, F16/BF16/F64 converted).  Fails for integer and
 * other dtypes.
 */
extern bool gnn_st_to_float(const GnnTensorInfo *t, float **result,
							GnnError *err);

#endif							/* GNN_SAFETENSORS_H */
