/*-------------------------------------------------------------------------
 *
 * preload.c
 *	  Preloaded after libasan into the sanitized server of
 *	  test/asan/run.sh; it works around two ways the sanitizer runtimes
 *	  and Debian's uninstrumented postgres get in each other's way.
 *
 * Preloaded into a program that was not built with it, AddressSanitizer
 * initialises at the first malloc().  In postgres that first malloc() comes
 * from a library constructor (libgpg-error's) inside glibc's
 * bindtextdomain(), which holds gettext's lock for writing.  Initialising
 * calls dlerror(), whose gettext call fails to take that lock for reading
 * and then releases it all the same, and postgres later hangs for good in
 * its own bindtextdomain().  Interposing bindtextdomain() here lets the
 * runtime initialise before the lock is taken.
 *
 * UndefinedBehaviorSanitizer initialises when gnnjit.so first reports, in
 * a backend, and reads UBSAN_OPTIONS from /proc/self/environ, but
 * PostgreSQL has by then written its process title over that memory
 * (ps_status.c), so the options would be lost.  It asks
 * __ubsan_default_options() first: that hands them over from getenv(),
 * which still works, PostgreSQL having moved the environment first.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

/* in libasan, preloaded ahead of this file */
extern void __asan_init(void);

char	   *bindtextdomain(const char *domainname, const char *dirname);
const char *__ubsan_default_options(void);

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static char *(*next) (const char *, const char *);

	__asan_init();				/* does nothing once initialised */
	if (next == NULL)
		next = (char *(*) (const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain");
	return next(domainname, dirname);
}

const char *
__ubsan_default_options(void)
{
	const char *options = getenv("UBSAN_OPTIONS");

	return options ? options : "";
}
