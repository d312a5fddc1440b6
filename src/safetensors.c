/*-------------------------------------------------------------------------
 *
 * safetensors.c
 *	  Parse and validate safetensors files; see safetensors.h.
 *
 * The file comes from the user, so nothing in the header is trusted: every
 * number is checked for overflow and against the size of the buffer before
 * any tensor data is touched, and tensors may not share bytes.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/int.h"

#include "json.h"
#include "safetensors.h"

/*
 * Real headers are kilobytes to a few megabytes; the JSON tree takes up to
 * about 55 times the text, so this bounds the memory a hostile header costs.
 */
#define GNN_ST_MAX_HEADER	(16 * 1024 * 1024)

#define GNN_ST_METADATA		"__metadata__"

typedef struct StDtype
{
	const char *name;
	GnnDtype	dtype;
	int			size;			/* bytes per element */
} StDtype;

static const StDtype st_dtypes[] = {
	{"F32", GNN_DTYPE_F32, 4},
	{"F16", GNN_DTYPE_F16, 2},
	{"BF16", GNN_DTYPE_BF16, 2},
	{"F64", GNN_DTYPE_F64, 8},
	{"I64", GNN_DTYPE_I64, 8},
	{"BOOL", GNN_DTYPE_OTHER, 1},
	{"U8", GNN_DTYPE_OTHER, 1},
	{"I8", GNN_DTYPE_OTHER, 1},
	{"I16", GNN_DTYPE_OTHER, 2},
	{"U16", GNN_DTYPE_OTHER, 2},
	{"I32", GNN_DTYPE_OTHER, 4},
	{"U32", GNN_DTYPE_OTHER, 4},
	{"U64", GNN_DTYPE_OTHER, 8},
	{"F8_E4M3", GNN_DTYPE_OTHER, 1},
	{"F8_E5M2", GNN_DTYPE_OTHER, 1},
};

static bool st_error(GnnError *err, const char *fmt,...) pg_attribute_printf(2, 3);
static uint16 st_read_u16(const unsigned char *p);
static uint32 st_read_u32(const unsigned char *p);
static uint64 st_read_u64(const unsigned char *p);
static bool st_get_uint64(const GnnJson *v, uint64 *result);
static const StDtype *st_lookup_dtype(const char *name);
static int	st_dtype_size(GnnDtype dtype);
static bool st_check_metadata(const GnnJson *meta, GnnError *err);
static bool st_parse_tensor(const char *name, const GnnJson *entry,
							const char *data, size_t datalen,
							GnnTensorInfo *t, GnnError *err);
static bool st_parse_shape(const char *name, const GnnJson *shape,
						   GnnTensorInfo *t, GnnError *err);
static bool st_check_overlap(const GnnSafetensors *st, const char *data,
							 GnnError *err);
static int	st_cmp_name(const void *a, const void *b);
static int	st_cmp_key_name(const void *key, const void *elem);
static int	st_cmp_offset(const void *a, const void *b);
static float st_half_to_float(uint16 h);
static float st_bits_to_float(uint32 bits);

bool
gnn_st_parse(const char *buf, size_t len, GnnSafetensors **result,
			 GnnError *err)
{
	uint64		hlen;
	const char *data;
	size_t		datalen;
	GnnJson    *header;
	GnnError	jerr;
	GnnSafetensors *st;
	int			i;

	if (len < 8)
		return st_error(err, "file is %zu bytes, too short for the 8-byte header length",
						len);

	hlen = st_read_u64((const unsigned char *) buf);
	if (hlen > GNN_ST_MAX_HEADER)
		return st_error(err, "header length " UINT64_FORMAT " exceeds the limit of %d bytes",
						hlen, GNN_ST_MAX_HEADER);
	if (hlen > len - 8)
		return st_error(err, "header length " UINT64_FORMAT " exceeds the %zu bytes that follow it",
						hlen, len - 8);

	data = buf + 8 + hlen;
	datalen = len - 8 - hlen;

	if (!gnn_json_parse(buf + 8, (size_t) hlen, &header, &jerr))
	{
		st_error(err, "header: %s", jerr.message);
		pfree(jerr.message);
		return false;
	}
	if (header->kind != GNN_JSON_OBJECT)
		return st_error(err, "header is a JSON %s, not an object",
						gnn_json_kind_name(header->kind));

	st = palloc0(sizeof(GnnSafetensors));
	if (header->count > 0)
		st->tensors = palloc_extended(sizeof(GnnTensorInfo) * (Size) header->count,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	for (i = 0; i < header->count; i++)
	{
		const char *key = header->keys[i];

		if (strcmp(key, GNN_ST_METADATA) == 0)
		{
			if (!st_check_metadata(header->items[i], err))
				return false;
			continue;
		}
		if (!st_parse_tensor(key, header->items[i], data, datalen,
							 &st->tensors[st->ntensors], err))
			return false;
		st->ntensors++;
	}

	if (st->ntensors > 1)
	{
		qsort(st->tensors, st->ntensors, sizeof(GnnTensorInfo), st_cmp_name);

		/* the JSON parser rejects duplicate keys; gnn_st_find relies on it */
		for (i = 1; i < st->ntensors; i++)
		{
			if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
				return st_error(err, "duplicate tensor \"%s\"", st->tensors[i].name);
		}
		if (!st_check_overlap(st, data, err))
			return false;
	}

	*result = st;
	return true;
}

const GnnTensorInfo *
gnn_st_find(const GnnSafetensors *st, const char *name)
{
	if (st->ntensors == 0)
		return NULL;
	return bsearch(name, st->tensors, st->ntensors, sizeof(GnnTensorInfo),
				   st_cmp_key_name);
}

bool
gnn_st_to_float(const GnnTensorInfo *t, float **result, GnnError *err)
{
	const unsigned char *p = (const unsigned char *) t->data;
	int			size = st_dtype_size(t->dtype);
	float	   *out;
	size_t		n;
	size_t		i;

	if (t->dtype != GNN_DTYPE_F32 && t->dtype != GNN_DTYPE_F16 &&
		t->dtype != GNN_DTYPE_BF16 && t->dtype != GNN_DTYPE_F64)
		return gnn_error(err, GNN_SQLSTATE_BAD_BINARY,
						 "tensor \"%s\" does not hold floating-point values",
						 t->name);
	if (t->numel < 0 || (uint64) t->numel > SIZE_MAX / sizeof(float))
		return gnn_error(err, GNN_SQLSTATE_PROGRAM_LIMIT,
						 "tensor \"%s\" has too many elements", t->name);
	n = (size_t) t->numel;
	/* gnn_st_parse() guarantees this; the check keeps the reads in bounds */
	if (t->nbytes / size != n || t->nbytes % size != 0)
		return gnn_error(err, GNN_SQLSTATE_BAD_BINARY,
						 "tensor \"%s\" has %zu bytes of data for " INT64_FORMAT " elements",
						 t->name, t->nbytes, t->numel);

	out = palloc_extended(n * sizeof(float), MCXT_ALLOC_HUGE);

	/* the data is little-endian and need not be aligned */
	switch (t->dtype)
	{
		case GNN_DTYPE_F32:
#ifndef WORDS_BIGENDIAN
			memcpy(out, p, n * sizeof(float));
#else
			for (i = 0; i < n; i++)
				out[i] = st_bits_to_float(st_read_u32(p + 4 * i));
#endif
			break;
		case GNN_DTYPE_F16:
			for (i = 0; i < n; i++)
				out[i] = st_half_to_float(st_read_u16(p + 2 * i));
			break;
		case GNN_DTYPE_BF16:
			/* bfloat16 is the upper half of a float32 */
			for (i = 0; i < n; i++)
				out[i] = st_bits_to_float((uint32) st_read_u16(p + 2 * i) << 16);
			break;
		case GNN_DTYPE_F64:
			for (i = 0; i < n; i++)
			{
				uint64		bits = st_read_u64(p + 8 * i);
				double		d;

				memcpy(&d, &bits, sizeof(d));
				/* IEEE conversion: too large becomes infinity, NaN stays NaN */
				out[i] = (float) d;
			}
			break;
		default:
			Assert(false);
	}

	*result = out;
	return true;
}

/* Every parse error gets the same SQLSTATE and prefix. */
static bool
st_error(GnnError *err, const char *fmt,...)
{
	va_list		args;
	char		buf[1024];

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	return gnn_error(err, GNN_SQLSTATE_BAD_BINARY,
					 "invalid safetensors file: %s", buf);
}

static uint16
st_read_u16(const unsigned char *p)
{
	return (uint16) (p[0] | (p[1] << 8));
}

static uint32
st_read_u32(const unsigned char *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) |
		((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

static uint64
st_read_u64(const unsigned char *p)
{
	return (uint64) st_read_u32(p) | ((uint64) st_read_u32(p + 4) << 32);
}

/*
 * A JSON number that is a non-negative integer fitting uint64.  The token
 * is used rather than the double so that large offsets stay exact, and
 * "1.0" or "1e3" are rejected as the reference implementation does.
 */
static bool
st_get_uint64(const GnnJson *v, uint64 *result)
{
	const char *s;
	uint64		val = 0;

	if (v->kind != GNN_JSON_NUMBER || v->string[0] == '\0')
		return false;
	for (s = v->string; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		if (pg_mul_u64_overflow(val, 10, &val) ||
			pg_add_u64_overflow(val, *s - '0', &val))
			return false;
	}
	*result = val;
	return true;
}

static const StDtype *
st_lookup_dtype(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(st_dtypes); i++)
	{
		if (strcmp(st_dtypes[i].name, name) == 0)
			return &st_dtypes[i];
	}
	return NULL;
}

/* Element size of the dtypes gnn_st_to_float() reads, else 0. */
static int
st_dtype_size(GnnDtype dtype)
{
	switch (dtype)
	{
		case GNN_DTYPE_F32:
			return 4;
		case GNN_DTYPE_F16:
		case GNN_DTYPE_BF16:
			return 2;
		case GNN_DTYPE_F64:
		case GNN_DTYPE_I64:
			return 8;
		case GNN_DTYPE_OTHER:
			break;
	}
	return 0;
}

static bool
st_check_metadata(const GnnJson *meta, GnnError *err)
{
	int			i;

	if (meta->kind != GNN_JSON_OBJECT)
		return st_error(err, "__metadata__ is a JSON %s, not an object",
						gnn_json_kind_name(meta->kind));
	for (i = 0; i < meta->count; i++)
	{
		if (meta->items[i]->kind != GNN_JSON_STRING)
			return st_error(err, "__metadata__ value \"%s\" is a JSON %s, not a string",
							meta->keys[i], gnn_json_kind_name(meta->items[i]->kind));
	}
	return true;
}

static bool
st_parse_tensor(const char *name, const GnnJson *entry,
				const char *data, size_t datalen,
				GnnTensorInfo *t, GnnError *err)
{
	const GnnJson *dtype;
	const GnnJson *offsets;
	const StDtype *dt;
	uint64		begin;
	uint64		end;
	uint64		need;
	int			i;

	if (entry->kind != GNN_JSON_OBJECT)
		return st_error(err, "tensor \"%s\" is a JSON %s, not an object",
						name, gnn_json_kind_name(entry->kind));

	/* keys are unique, so this and the lookups below make the set exact */
	for (i = 0; i < entry->count; i++)
	{
		const char *key = entry->keys[i];

		if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 &&
			strcmp(key, "data_offsets") != 0)
			return st_error(err, "tensor \"%s\" has unexpected key \"%s\"",
							name, key);
	}

	t->name = unconstify(char *, name);

	dtype = gnn_json_get(entry, "dtype");
	if (dtype == NULL || dtype->kind != GNN_JSON_STRING)
		return st_error(err, "tensor \"%s\" has no dtype string", name);
	dt = st_lookup_dtype(dtype->string);
	if (dt == NULL)
		return st_error(err, "tensor \"%s\" has unknown dtype \"%s\"",
						name, dtype->string);
	t->dtype = dt->dtype;

	if (!st_parse_shape(name, gnn_json_get(entry, "shape"), t, err))
		return false;

	offsets = gnn_json_get(entry, "data_offsets");
	if (offsets == NULL || offsets->kind != GNN_JSON_ARRAY ||
		offsets->count != 2 ||
		!st_get_uint64(offsets->items[0], &begin) ||
		!st_get_uint64(offsets->items[1], &end))
		return st_error(err, "tensor \"%s\" data_offsets is not an array of two non-negative integers",
						name);
	if (begin > end || end > datalen)
		return st_error(err, "tensor \"%s\" data_offsets [" UINT64_FORMAT ", " UINT64_FORMAT "] are out of range (data is %zu bytes)",
						name, begin, end, datalen);

	/* numel <= INT64_MAX and size <= 8, so this cannot overflow uint64 */
	need = (uint64) t->numel * dt->size;
	if (end - begin != need)
		return st_error(err, "tensor \"%s\" has " UINT64_FORMAT " bytes of data, but its dtype %s and shape need " UINT64_FORMAT,
						name, end - begin, dt->name, need);

	t->data = data + begin;
	t->nbytes = (size_t) (end - begin);
	return true;
}

static bool
st_parse_shape(const char *name, const GnnJson *shape,
			   GnnTensorInfo *t, GnnError *err)
{
	int64		numel = 1;
	int			i;

	if (shape == NULL || shape->kind != GNN_JSON_ARRAY)
		return st_error(err, "tensor \"%s\" has no shape array", name);
	if (shape->count > GNN_ST_MAX_DIMS)
		return st_error(err, "tensor \"%s\" has %d dimensions, more than the maximum of %d",
						name, shape->count, GNN_ST_MAX_DIMS);

	t->ndims = shape->count;
	for (i = 0; i < shape->count; i++)
	{
		uint64		dim;

		if (!st_get_uint64(shape->items[i], &dim) || dim > PG_INT64_MAX)
			return st_error(err, "tensor \"%s\" shape element %d is not a non-negative integer",
							name, i);
		t->shape[i] = (int64) dim;
		if (pg_mul_s64_overflow(numel, (int64) dim, &numel))
			return st_error(err, "tensor \"%s\" has too many elements", name);
	}

	/* keeps numel * element size within uint64 */
	if (numel > PG_INT64_MAX / 8)
		return st_error(err, "tensor \"%s\" has too many elements", name);
	t->numel = numel;
	return true;
}

/*
 * Tensors must not share bytes: sort by offset and compare neighbours.
 * Empty tensors only overlap when they lie strictly inside another one.
 */
static bool
st_check_overlap(const GnnSafetensors *st, const char *data, GnnError *err)
{
	const GnnTensorInfo **order;
	bool		ok = true;
	int			i;

	order = palloc_extended(sizeof(GnnTensorInfo *) * (Size) st->ntensors,
							MCXT_ALLOC_HUGE);
	for (i = 0; i < st->ntensors; i++)
		order[i] = &st->tensors[i];
	qsort(order, st->ntensors, sizeof(GnnTensorInfo *), st_cmp_offset);

	for (i = 1; i < st->ntensors; i++)
	{
		const GnnTensorInfo *a = order[i - 1];
		const GnnTensorInfo *b = order[i];

		if (a->data + a->nbytes > b->data)
		{
			ok = st_error(err, "tensors \"%s\" [%zu, %zu] and \"%s\" [%zu, %zu] overlap",
						  a->name, (size_t) (a->data - data),
						  (size_t) (a->data - data) + a->nbytes,
						  b->name, (size_t) (b->data - data),
						  (size_t) (b->data - data) + b->nbytes);
			break;
		}
	}
	pfree(order);
	return ok;
}

static int
st_cmp_name(const void *a, const void *b)
{
	return strcmp(((const GnnTensorInfo *) a)->name,
				  ((const GnnTensorInfo *) b)->name);
}

static int
st_cmp_key_name(const void *key, const void *elem)
{
	return strcmp((const char *) key, ((const GnnTensorInfo *) elem)->name);
}

/* by begin, then end, so an empty tensor sorts before one starting there */
static int
st_cmp_offset(const void *a, const void *b)
{
	const GnnTensorInfo *ta = *(const GnnTensorInfo *const *) a;
	const GnnTensorInfo *tb = *(const GnnTensorInfo *const *) b;

	if (ta->data != tb->data)
		return ta->data < tb->data ? -1 : 1;
	if (ta->nbytes != tb->nbytes)
		return ta->nbytes < tb->nbytes ? -1 : 1;
	return 0;
}

/*
 * IEEE half to float.  Every half value, subnormals included, is exactly
 * representable; NaN payloads are kept.
 */
static float
st_half_to_float(uint16 h)
{
	uint32		sign = (uint32) (h & 0x8000) << 16;
	uint32		exp = (h >> 10) & 0x1f;
	uint32		mant = h & 0x3ff;
	uint32		bits;

	if (exp == 0x1f)
		bits = sign | 0x7f800000 | (mant << 13);	/* infinity or NaN */
	else if (exp != 0)
		bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
	else if (mant == 0)
		bits = sign;			/* signed zero */
	else
	{
		/* subnormal: mant * 2^-24; normalize it for float */
		exp = 127 - 15 + 1;
		while ((mant & 0x400) == 0)
		{
			mant <<= 1;
			exp--;
		}
		bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
	}
	return st_bits_to_float(bits);
}

static float
st_bits_to_float(uint32 bits)
{
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}
