/*-------------------------------------------------------------------------
 *
 * fuzz_safetensors.c
 *	  libFuzzer harness for gnn_st_parse() and gnn_st_to_float().
 *
 * Every input must either be rejected with a safetensors error or yield
 * tensors that lie inside the input, are sorted and findable by name, and,
 * for floating-point dtypes, convert without error.  Anything else aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <stdint.h>

#include "fuzz_alloc.h"
#include "safetensors.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "invariant violated: %s%s%s\n", what,
			detail ? ": " : "", detail ? detail : "");
	abort();
}

static int
dtype_size(GnnDtype dtype)
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

static void
check_tensor(const GnnSafetensors *st, int i, const char *buf, size_t size)
{
	const GnnTensorInfo *t = &st->tensors[i];
	int64		numel = 1;
	int			esize = dtype_size(t->dtype);
	GnnError	err;
	float	   *vals;
	int			d;

	if (t->data < buf + 8 || t->nbytes > size ||
		t->data > buf + size - t->nbytes)
		fuzz_fail("tensor data outside the input", t->name);
	if (i > 0 && strcmp(st->tensors[i - 1].name, t->name) >= 0)
		fuzz_fail("tensors not sorted by name", t->name);
	if (gnn_st_find(st, t->name) != t)
		fuzz_fail("gnn_st_find does not find the tensor", t->name);
	if (t->ndims < 0 || t->ndims > GNN_ST_MAX_DIMS)
		fuzz_fail("bad ndims", t->name);
	for (d = 0; d < t->ndims; d++)
	{
		if (t->shape[d] < 0)
			fuzz_fail("negative dimension", t->name);
		numel *= t->shape[d];
	}
	if (numel != t->numel)
		fuzz_fail("numel is not the product of the shape", t->name);
	if (esize != 0 && t->nbytes != (size_t) t->numel * esize)
		fuzz_fail("nbytes does not match numel", t->name);

	if (t->dtype == GNN_DTYPE_F32 || t->dtype == GNN_DTYPE_F16 ||
		t->dtype == GNN_DTYPE_BF16 || t->dtype == GNN_DTYPE_F64)
	{
		volatile float sum = 0;
		int64		k;

		if (!gnn_st_to_float(t, &vals, &err))
			fuzz_fail("conversion of a valid tensor failed", err.message);
		/* touch every value so that AddressSanitizer checks the array */
		for (k = 0; k < t->numel; k++)
			sum += vals[k];
		(void) sum;
	}
	else if (gnn_st_to_float(t, &vals, &err))
		fuzz_fail("non-float tensor converted", t->name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *) data;
	GnnSafetensors *st;
	GnnError	err;
	int			i;

	if (gnn_st_parse(buf, size, &st, &err))
	{
		for (i = 0; i < st->ntensors; i++)
			check_tensor(st, i, buf, size);
		if (gnn_st_find(st, "\x01 no such tensor") != NULL)
			fuzz_fail("gnn_st_find found a tensor that does not exist", NULL);
	}
	else if (strcmp(err.sqlstate, GNN_SQLSTATE_BAD_BINARY) != 0 ||
			 strncmp(err.message, "invalid safetensors file: ", 26) != 0)
		fuzz_fail("unexpected error", err.message);

	fuzz_alloc_reset();
	return 0;
}
