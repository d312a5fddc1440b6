/*-------------------------------------------------------------------------
 *
 * fastmath.h
 *	  expm1 and exp of non-positive floats (ELU, softmax over edges),
 *	  branch-free so that loops of them vectorise (libm's expm1f is a call
 *	  per element; measured on 68M values: 0.71 s, this about 0.3 s as
 *	  scalar code, 0.02 s vectorised).
 *
 * Both reduce x = k ln2 + r with |r| <= ln2/2, take expm1(r) from its
 * Taylor series to r^8 and scale by 2^k built in the exponent bits.
 * test/standalone/test_fastmath.c measures their error against double
 * precision over every 16th float of their range (expm1 at most 0.85 ulp,
 * libm's expm1f 0.77; exp at most 0.95).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_FASTMATH_H
#define GNN_FASTMATH_H

#include <math.h>
#include <stdint.h>

/*
 * x = k ln2 + r with |r| <= ln2/2, for x <= 0 already clamped; returns
 * expm1(r).  ln2 is taken in two parts, so that r is exact, and k is
 * rounded to nearest by adding 1.5 * 2^23 (no rounding instruction in
 * SSE2).
 */
static inline float
gnn_expm1_reduced(float x, float *k)
{
	float		r;

	*k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
	r = (x - *k * 0.693359375f) + *k * 2.12194440e-4f;
	return r + r * r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
																	 r * (1.0f / 720 + r * (1.0f / 5040 + r * (1.0f / 40320)))))));
}

/* 2^k as a float, for an integral k in the normal range */
static inline float
gnn_exp2i(int32_t k)
{
	union
	{
		int32_t		i;
		float		f;
	}			u;

	u.i = (k + 127) << 23;
	return u.f;
}

/*
 * expm1(x) for x <= 0: 2^k expm1(r) + (2^k - 1).  Below -17.5 expm1 is -1
 * to float precision.  NaN is the caller's.
 */
static inline float
gnn_expm1_nonpos(float x)
{
	float		k;
	/* not fmaxf: its NaN rules keep it from vectorising */
	float		p = gnn_expm1_reduced(x > -17.5f ? x : -17.5f, &k);
	float		two_k = gnn_exp2i((int32_t) k);

	return two_k * p + (two_k - 1.0f);
}

/*
 * exp(x) for x <= 0, NaN kept: 2^k (1 + expm1(r)), adding the 1 last so
 * that it rounds once.  2^k is applied in two factors, each a normal
 * float, so that results below FLT_MIN round once to the subnormal libm
 * gives; below -104 exp is 0 to float precision.
 */
static inline float
gnn_exp_nonpos(float x)
{
	float		k;
	float		p = 1.0f + gnn_expm1_reduced(x > -104.0f ? x : -104.0f, &k);
	int32_t		k1 = (int32_t) k / 2;

	return isnan(x) ? x : (p * gnn_exp2i(k1)) * gnn_exp2i((int32_t) k - k1);
}

#endif							/* GNN_FASTMATH_H */
