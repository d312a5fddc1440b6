/*-------------------------------------------------------------------------
 *
 * test_fastmath.c
 *	  Accuracy of the branch-free expm1 of src/fastmath.h against expm1
 *	  in double precision, over every 16th float of its range and at the
 *	  edges (see build.sh).
 *
 * Limit: 0.9 ulp (measured over every float of [-17.5, 0]: 0.849; libm's
 * expm1f: 0.77).
 * Prints one line per check and a summary; exits non-zero if any failed.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "fastmath.h"

static int	npassed = 0;
static int	nfailed = 0;

static void
check(bool ok, const char *name, double value)
{
	if (ok)
		npassed++;
	else
		nfailed++;
	printf("%s - %s (%g)\n", ok ? "ok" : "not ok", name, value);
}

/* The size of one unit in the last place of a float near t */
static double
ulp_of(double t)
{
	int			e;

	(void) frexp(t, &e);
	return ldexp(1.0, e - 24);
}

/* Worst error in ulp over every 16th float from 0 down to lo */
static double
worst_ulp(float lo)
{
	double		worst = 0;
	union
	{
		float		f;
		unsigned int i;
	}			u;

	for (u.f = -0.0f; u.f >= lo; u.i += 16)
	{
		double		t = expm1((double) u.f);
		float		y = gnn_expm1_nonpos(u.f);
		double		err = fabs(y - t) / ulp_of(t);

		if (err > worst)
			worst = err;
	}
	return worst;
}

int
main(void)
{
	double		err = worst_ulp(-17.5f);

	check(err <= 0.9, "expm1 within 0.9 ulp over [-17.5, 0]", err);
	check(gnn_expm1_nonpos(0.0f) == 0.0f, "expm1(0) is 0", gnn_expm1_nonpos(0.0f));
	check(gnn_expm1_nonpos(-100.0f) == -1.0f && gnn_expm1_nonpos(-INFINITY) == -1.0f,
		  "expm1 below -17.5 is -1", gnn_expm1_nonpos(-100.0f));
	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0;
}
