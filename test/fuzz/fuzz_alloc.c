/*-------------------------------------------------------------------------
 *
 * fuzz_alloc.c
 *	  Arena allocator behind palloc() for the fuzzing harnesses.
 *
 * In frontend builds palloc() is plain malloc() with no memory context,
 * while PostgreSQL's JSON parser and the code built on it rely on a context
 * to release what they allocate: the parser drops its own copies of tokens
 * when a parse fails, and the parsers return trees whose parts are never
 * freed one by one.  LeakSanitizer would report all of that.
 *
 * This file therefore replaces libpgcommon's fe_memutils.o.  It defines the
 * same functions, so the linker never takes that member from the archive
 * (if something ever needs a function missing here, the link fails with a
 * duplicate symbol rather than silently mixing the two), and it keeps every
 * block on a list that fuzz_alloc_reset() frees after each input, which is
 * what resetting a memory context does in the backend.  Each block is still
 * a separate malloc(), so AddressSanitizer checks bounds per allocation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <stddef.h>

#include "fuzz_alloc.h"

/* Header in front of every block; the union keeps user memory aligned. */
typedef union FuzzChunk
{
	struct
	{
		union FuzzChunk *prev;
		union FuzzChunk *next;
	}			link;
	max_align_t align;
} FuzzChunk;

static FuzzChunk arena = {.link = {&arena, &arena}};

/* blocks exempted by fuzz_alloc_persist(), never freed */
static FuzzChunk kept = {.link = {&kept, &kept}};

static void
arena_link(FuzzChunk *c)
{
	c->link.prev = &arena;
	c->link.next = arena.link.next;
	arena.link.next->link.prev = c;
	arena.link.next = c;
}

static void
arena_unlink(FuzzChunk *c)
{
	c->link.prev->link.next = c->link.next;
	c->link.next->link.prev = c->link.prev;
}

static void *
arena_alloc(size_t size, int flags)
{
	FuzzChunk  *c = NULL;

	if (size <= SIZE_MAX - sizeof(FuzzChunk))
	{
		if (flags & MCXT_ALLOC_ZERO)
			c = calloc(1, sizeof(FuzzChunk) + size);
		else
			c = malloc(sizeof(FuzzChunk) + size);
	}
	if (c == NULL)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		fprintf(stderr, "out of memory (%zu bytes)\n", size);
		abort();
	}
	arena_link(c);
	return c + 1;
}

static void
arena_free(void *pointer)
{
	FuzzChunk  *c;

	if (pointer == NULL)
		return;
	c = (FuzzChunk *) pointer - 1;
	arena_unlink(c);
	free(c);
}

static void *
arena_realloc(void *pointer, size_t size)
{
	FuzzChunk  *c;

	if (pointer == NULL)
		return arena_alloc(size, 0);
	if (size > SIZE_MAX - sizeof(FuzzChunk))
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", size);
		abort();
	}
	c = (FuzzChunk *) pointer - 1;
	arena_unlink(c);
	c = realloc(c, sizeof(FuzzChunk) + size);
	if (c == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", size);
		abort();
	}
	arena_link(c);
	return c + 1;
}

void
fuzz_alloc_reset(void)
{
	while (arena.link.next != &arena)
	{
		FuzzChunk  *c = arena.link.next;

		arena_unlink(c);
		free(c);
	}
}

void
fuzz_alloc_persist(void)
{
	if (arena.link.next == &arena)
		return;
	/* splice the whole arena list onto the front of the kept list */
	arena.link.prev->link.next = kept.link.next;
	kept.link.next->link.prev = arena.link.prev;
	kept.link.next = arena.link.next;
	arena.link.next->link.prev = &kept;
	arena.link.next = arena.link.prev = &arena;
}

/* The functions of src/common/fe_memutils.c. */

void *
pg_malloc(size_t size)
{
	return arena_alloc(size, 0);
}

void *
pg_malloc0(size_t size)
{
	return arena_alloc(size, MCXT_ALLOC_ZERO);
}

void *
pg_malloc_extended(size_t size, int flags)
{
	return arena_alloc(size, flags);
}

void *
pg_realloc(void *pointer, size_t size)
{
	return arena_realloc(pointer, size);
}

void
pg_free(void *pointer)
{
	arena_free(pointer);
}

char *
pg_strdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = arena_alloc(len + 1, 0);

	memcpy(out, in, len + 1);
	return out;
}

void *
palloc(Size size)
{
	return arena_alloc(size, 0);
}

void *
palloc0(Size size)
{
	return arena_alloc(size, MCXT_ALLOC_ZERO);
}

void *
palloc_extended(Size size, int flags)
{
	return arena_alloc(size, flags);
}

void *
repalloc(void *pointer, Size size)
{
	return arena_realloc(pointer, size);
}

void
pfree(void *pointer)
{
	arena_free(pointer);
}

char *
pstrdup(const char *in)
{
	return pg_strdup(in);
}

char *
pnstrdup(const char *in, Size size)
{
	size_t		len = strnlen(in, size);
	char	   *out = arena_alloc(len + 1, 0);

	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}
