/*-------------------------------------------------------------------------
 *
 * canary.c
 *	  One error for each sanitizer, run by test/asan/run.sh after the
 *	  regression suite in the same server: if their reports do not reach
 *	  the logs, no report from gnnjit would either, and the run fails.
 *	  Built with the same sanitizer flags as gnnjit.so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(asan_canary_overflow);
PG_FUNCTION_INFO_V1(asan_canary_signed_overflow);

/* writes the byte after a malloc()ed block of n bytes: AddressSanitizer */
Datum
asan_canary_overflow(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	volatile char *p = malloc(n);

	p[n] = 1;
	free((void *) p);
	PG_RETURN_INT32(n);
}

/* n + INT32_MAX overflows for any n > 0: UndefinedBehaviorSanitizer */
Datum
asan_canary_signed_overflow(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);

	PG_RETURN_INT32(n + PG_INT32_MAX);
}
