/*-------------------------------------------------------------------------
 *
 * gemm.h
 *	  Dense single-precision matrix products for the transform module.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_GEMM_H
#define GNN_GEMM_H

/*
 * Y[m×n] = X[m×k] · Wᵀ (+ bias), where W is n×k row-major: the layout of a
 * torch Linear weight [out, in].  X has row stride ldx, Y row stride ldy
 * (both in floats).  bias may be NULL; Y must not overlap the inputs; no
 * alignment is required.  The function has no effect besides writing Y;
 * callers split m into blocks to check for interrupts and to share work
 * between processes.  It packs W into scratch memory (about n×k floats)
 * taken from palloc in CurrentMemoryContext and freed before returning;
 * palloc's ereport on out-of-memory is its only error exit.  Callers that
 * apply the same W to many blocks save the packing with the two functions
 * below.
 */
extern void gnn_gemm_nt(const float *X, int64 m, int k, int64 ldx,
						const float *W, int n, const float *bias,
						float *Y, int64 ldy);

/*
 * The same product split in two, for weights that are applied many times:
 * gnn_gemm_pack copies W (and bias, which may be NULL) into the layout the
 * kernels read, and gnn_gemm_packed then computes Y = X·Wᵀ (+ bias) for any
 * number of row blocks without repacking.  The packed weights are one
 * palloc'd chunk in CurrentMemoryContext: release them with pfree.  They
 * are tied to the instruction set chosen when they were packed, so a later
 * gnn_gemm_set_isa does not affect them.  gnn_gemm_packed allocates nothing
 * and only reads the packed weights, so one packing may serve any number of
 * calls; but the chunk holds pointers into itself, so it is not to be copied
 * elsewhere (another process packs its own).
 */
typedef struct GnnGemmPacked GnnGemmPacked;

extern GnnGemmPacked *gnn_gemm_pack(const float *W, int n, int k,
									const float *bias);
extern void gnn_gemm_packed(const float *X, int64 m, int64 ldx,
							const GnnGemmPacked *packed,
							float *Y, int64 ldy);

/*
 * Instruction set used by the kernels.  By default the best one the CPU
 * supports is chosen on first use; gnn_gemm_set_isa can lower it (for tests,
 * or to rule out a wide-vector problem) and returns the one now in force,
 * which is the request capped at what the CPU supports.  GNN_GEMM_ISA_BEST
 * restores the default.  The scalar-vector "generic" kernels build for any
 * target; the others exist on x86-64 only.
 */
typedef enum GnnGemmIsa
{
	GNN_GEMM_ISA_BEST = 0,
	GNN_GEMM_ISA_GENERIC,		/* 128-bit GCC vectors: SSE2 on x86-64 */
	GNN_GEMM_ISA_AVX2,			/* AVX2 and FMA */
	GNN_GEMM_ISA_AVX512			/* AVX-512F */
} GnnGemmIsa;

extern GnnGemmIsa gnn_gemm_set_isa(GnnGemmIsa isa);
extern GnnGemmIsa gnn_gemm_get_isa(void);
extern const char *gnn_gemm_isa_name(GnnGemmIsa isa);

#endif							/* GNN_GEMM_H */
