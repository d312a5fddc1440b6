/*-------------------------------------------------------------------------
 *
 * gnnerror.c
 *	  GnnError helpers; see gnnerror.h.
 *
 *-------------------------------------------------------------------------
 */
#include "gnnerror.h"

#include <stdarg.h>

#include "common/string.h"

/*
 * Fill *err and return false, so that callers can write
 * "return gnn_error(err, ...);".
 */
bool
gnn_error(GnnError *err, const char *sqlstate, const char *fmt,...)
{
	va_list		args;
	char		buf[1024];

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);

	strlcpy(err->sqlstate, sqlstate, sizeof(err->sqlstate));
	err->message = pstrdup(buf);
	return false;
}

#ifndef FRONTEND
void
gnn_raise(const GnnError *err)
{
	const char *s = err->sqlstate;

	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
			 errmsg("%s", err->message)));
	pg_unreachable();
}
#endif
