/*-------------------------------------------------------------------------
 *
 * fuzz_alloc.h
 *	  Arena allocator behind palloc() for the fuzzing harnesses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_ALLOC_H
#define FUZZ_ALLOC_H

/* Free every block allocated since the last call. */
extern void fuzz_alloc_reset(void);

/*
 * Exempt every block allocated so far from fuzz_alloc_reset(), for data a
 * harness sets up once and keeps for all inputs.  The blocks stay linked
 * from a static list, so LeakSanitizer does not report them.  Such data
 * must be treated as read-only: a kept block passed to repalloc() returns
 * to the arena.
 */
extern void fuzz_alloc_persist(void);

#endif							/* FUZZ_ALLOC_H */
