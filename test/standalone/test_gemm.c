/*-------------------------------------------------------------------------
 *
 * test_gemm.c
 *	  Standalone correctness test of gnn_gemm_nt and the packed variant.
 *
 * Every instruction set the CPU supports is checked against a naive
 * double-precision product, over fixed shapes (the models' and the edges of
 * the blocking) and random ones, with and without bias, with padded row
 * strides and with X and Y not aligned to a vector.  Y's padding must come
 * back untouched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <math.h>

#include "gemm.h"

static int	npassed;
static int	nfailed;

/* xorshift64*: reproducible across platforms, unlike random() */
static uint64 rng_state = UINT64CONST(0x9E3779B97F4A7C15);

static uint64
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64CONST(0x2545F4914F6CDD1D);
}

static int
rng_int(int lo, int hi)
{
	return lo + (int) (rng_next() % (uint64) (hi - lo + 1));
}

static float
rng_float(void)
{
	/* 53 random bits as a double in [0, 1), then scaled to [-1, 1) */
	double		unit = ldexp((double) (rng_next() >> 11), -53);

	return (float) (unit * 2.0 - 1.0);
}

/* A value Y's padding is filled with, to see that it is left alone */
#define SENTINEL	(-12345.5f)

typedef struct Case
{
	int64		m;
	int			k;
	int			n;
	int64		ldx;
	int64		ldy;
	int			xoff;			/* floats by which X is misaligned */
	int			yoff;
	bool		has_bias;
} Case;

/*
 * Check Y against the exact product.  The sum of k products in float32 is
 * within about (k + 1)·u·Σ|terms| of the exact sum (u = 2^-24), so that is
 * the bound, with a little slack; a wrong or missing term is far larger.
 */
static bool
check_result(const Case *c, const float *X, const float *W, const float *b,
			 const float *Y, double *worst)
{
	const double u = ldexp(1.0, -24);

	*worst = 0.0;
	for (int64 i = 0; i < c->m; i++)
	{
		for (int j = 0; j < c->n; j++)
		{
			double		s = b ? b[j] : 0.0;
			double		mag = fabs(s);
			double		err;
			double		bound;

			for (int p = 0; p < c->k; p++)
			{
				double		t = (double) X[i * c->ldx + p] *
					W[(int64) j * c->k + p];

				s += t;
				mag += fabs(t);
			}
			err = fabs((double) Y[i * c->ldy + j] - s);
			bound = 1.25 * (c->k + 2) * u * mag + 1e-30;
			if (err / bound > *worst)
				*worst = err / bound;
			if (!(err <= bound))
			{
				printf("  Y[%lld][%d] = %.9g, expected %.9g (bound %.3g)\n",
					   (long long) i, j, Y[i * c->ldy + j], s, bound);
				return false;
			}
		}
		for (int64 j = c->n; j < c->ldy; j++)
		{
			if (Y[i * c->ldy + j] != SENTINEL)
			{
				printf("  padding Y[%lld][%lld] overwritten\n",
					   (long long) i, (long long) j);
				return false;
			}
		}
	}
	return true;
}

static void
report(const Case *c, const char *what, bool ok, double worst)
{
	if (ok)
		npassed++;
	else
		nfailed++;
	if (!ok)
		printf("FAIL %s [%s] m=%lld k=%d n=%d ldx=%lld ldy=%lld "
			   "xoff=%d yoff=%d bias=%d (worst %.3f of bound)\n",
			   what, gnn_gemm_isa_name(gnn_gemm_get_isa()),
			   (long long) c->m, c->k, c->n, (long long) c->ldx,
			   (long long) c->ldy, c->xoff, c->yoff, c->has_bias, worst);
}

static void
run_case(const Case *c)
{
	int64		xsize = c->m > 0 ? (c->m - 1) * c->ldx + c->k : 0;
	int64		ysize = c->m * c->ldy;
	float	   *xbuf = palloc((xsize + c->xoff + 1) * sizeof(float));
	float	   *ybuf = palloc((ysize + c->yoff + 1) * sizeof(float));
	float	   *y2buf = palloc((ysize + c->yoff + 1) * sizeof(float));
	float	   *W = palloc(((int64) c->n * c->k + 1) * sizeof(float));
	float	   *b = c->has_bias ? palloc((c->n + 1) * sizeof(float)) : NULL;
	float	   *X = xbuf + c->xoff;
	float	   *Y = ybuf + c->yoff;
	float	   *Y2 = y2buf + c->yoff;
	GnnGemmPacked *pw;
	double		worst;
	bool		ok;
	int64		i0;

	for (int64 i = 0; i < xsize; i++)
		X[i] = rng_float();
	for (int64 i = 0; i < (int64) c->n * c->k; i++)
		W[i] = rng_float();
	for (int j = 0; b && j < c->n; j++)
		b[j] = rng_float();
	for (int64 i = 0; i < ysize; i++)
		Y[i] = Y2[i] = SENTINEL;

	gnn_gemm_nt(X, c->m, c->k, c->ldx, W, c->n, b, Y, c->ldy);
	ok = check_result(c, X, W, b, Y, &worst);
	report(c, "gemm_nt", ok, worst);

	/*
	 * The packed weights applied to uneven row blocks must give the same
	 * bits: every row's sums run in the same order whatever tile it is in.
	 */
	pw = gnn_gemm_pack(W, c->n, c->k, b);
	for (i0 = 0; i0 < c->m;)
	{
		int64		rows = rng_int(1, 700);

		rows = Min(rows, c->m - i0);

		gnn_gemm_packed(X + i0 * c->ldx, rows, c->ldx, pw,
						Y2 + i0 * c->ldy, c->ldy);
		i0 += rows;
	}
	ok = memcmp(Y, Y2, ysize * sizeof(float)) == 0;
	report(c, "packed", ok, 0.0);
	pfree(pw);

	pfree(xbuf);
	pfree(ybuf);
	pfree(y2buf);
	pfree(W);
	if (b)
		pfree(b);
}

static void
run_shape(int64 m, int k, int n, int xpad, int ypad, int xoff, int yoff,
		  bool has_bias)
{
	Case		c;

	c.m = m;
	c.k = k;
	c.n = n;
	c.ldx = k + xpad;
	c.ldy = n + ypad;
	c.xoff = xoff;
	c.yoff = yoff;
	c.has_bias = has_bias;
	run_case(&c);
}

/* The shapes of the models, and the edges of tiles, vectors and blocks */
static void
run_fixed(void)
{
	static const int ks[] = {0, 1, 3, 5, 8, 15, 16, 17, 64, 127, 128, 129,
	255, 256, 257, 513, 1433};
	static const int ns[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
	63, 64, 65, 128, 384};
	static const int64 ms[] = {0, 1, 2, 5, 6, 7, 11, 12, 13, 23, 24, 25, 49,
	97, 211, 1000};

	run_shape(2708, 1433, 64, 0, 0, 0, 0, true);
	run_shape(3000, 128, 128, 0, 0, 0, 0, true);
	run_shape(2000, 64, 7, 0, 0, 0, 0, true);
	run_shape(1500, 128, 384, 0, 0, 0, 0, false);
	run_shape(5000, 5, 4, 0, 0, 0, 0, true);
	run_shape(700, 1433, 512, 3, 5, 1, 3, true);

	for (int a = 0; a < lengthof(ks); a++)
		for (int b = 0; b < lengthof(ns); b++)
		{
			int64		m = ms[(a * 7 + b) % lengthof(ms)];

			run_shape(m, ks[a], ns[b], 0, 0, 0, 0, (a + b) % 2 == 0);
			run_shape(m + 3, ks[a], ns[b], a % 5, b % 3, (a + b) % 4,
					  (a * b) % 4, (a + b) % 2 == 1);
		}
}

static void
run_random(int count)
{
	for (int t = 0; t < count; t++)
	{
		/* mostly small, sometimes past a k block, a panel, a row block */
		int			k = rng_int(0, 4) ? rng_int(1, 200) : rng_int(300, 2000);
		int			n = rng_int(0, 3) ? rng_int(1, 64) : rng_int(65, 520);
		int64		m = rng_int(0, 5) ? rng_int(0, 60) : rng_int(300, 3000);

		run_shape(m, k, n, rng_int(0, 1) ? rng_int(0, 9) : 0,
				  rng_int(0, 1) ? rng_int(0, 9) : 0, rng_int(0, 3),
				  rng_int(0, 3), rng_int(0, 1));
	}
}

int
main(void)
{
	static const GnnGemmIsa isas[] = {GNN_GEMM_ISA_GENERIC, GNN_GEMM_ISA_AVX2,
	GNN_GEMM_ISA_AVX512};

	/* so that a crash still shows the failures before it */
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int i = 0; i < lengthof(isas); i++)
	{
		if (gnn_gemm_set_isa(isas[i]) != isas[i])
		{
			printf("# %s: not supported here, skipped\n",
				   gnn_gemm_isa_name(isas[i]));
			continue;
		}
		printf("# %s\n", gnn_gemm_isa_name(isas[i]));
		run_fixed();
		run_random(300);
	}

	/* BEST goes back to what the CPU has */
	if (gnn_gemm_set_isa(GNN_GEMM_ISA_BEST) == GNN_GEMM_ISA_BEST)
		nfailed++;
	else
		npassed++;

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
