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

#endif							/* FUZZ_ALLOC_H */
