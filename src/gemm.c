/*-------------------------------------------------------------------------
 *
 * gemm.c
 *	  Y = X·Wᵀ + b in float32 with register-blocked SIMD kernels.
 *
 * X is tall (up to millions of rows of node features, k up to a few
 * thousand columns) and W small (a Linear weight with n up to a few hundred
 * rows).  W is copied once into panels: for each block of kc columns of X
 * and each group of nr output columns, a kc×nr array whose row p holds
 * W[j][p] for the group's nr values of j, zero-padded past n.  A
 * micro-kernel keeps an mr×nr tile of Y in vector registers and, for each
 * p, multiplies the broadcast element X[i][p] of each of its mr rows by row
 * p of the panel.  X is read in place: with n this small each element of X
 * is used by only a few panels, so copying it would cost about as much as
 * the product.
 *
 * Loop nest, outermost first: blocks of mc rows, blocks of kc columns of X,
 * panels, micro-tiles.  A block of X (mc×kc) stays in L2 while every panel
 * sweeps over it, and a panel (kc×nr) stays in L1 while the micro-tiles
 * stream rows past it.  Rows outermost keep the mc×n block of Y in cache
 * across the k blocks, so Y travels to memory once.
 *
 * Each element of Y is a sum over p in index order, one rounding per
 * multiply-add (fused where the CPU has FMA): the result is within ordinary
 * float32 rounding of the exact product.  As in any blocked GEMM, each k
 * block's partial sum starts from zero in registers and is then added to Y
 * (to the bias, for the first block), which makes the chains of roundings
 * shorter than one running sum over all of k: at k = 1433 the error is that
 * of OpenBLAS, about half that of a running sum started from the bias.
 *
 * The extension is built for baseline x86-64, so the AVX2 and AVX-512
 * kernels carry target attributes and are chosen at run time from what the
 * CPU reports.  Everything else, including the generic kernels, is portable
 * C with GCC vector extensions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FRONTEND
#include "postgres.h"
#else
#include "postgres_fe.h"
#endif

#include "gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define GEMM_X86_SIMD 1
#include <immintrin.h>
#endif

/*
 * Bytes of X per row block (mc×kc floats) to aim for: well inside L2, with
 * room for the block of Y and the panels.
 */
#define GEMM_XBLOCK_BYTES	(192 * 1024)

/* Largest number of rows in a row block, to bound the block of Y too */
#define GEMM_MAX_MC			4096

/* Panels and the padded bias are aligned for full-width vector loads */
#define GEMM_ALIGN			64

/* Largest micro-tile of the kernels that stage edge tiles, in floats */
#define GEMM_MAX_TILE		(8 * 4)

/*
 * Work for one panel routine: one row block, one k block, one panel.
 */
typedef struct GemmPanel
{
	const float *x;				/* X at the block's first row, column pc */
	int64		ldx;
	const float *w;				/* the panel: kc rows of nr floats */
	const float *binit;			/* nr floats to add to the first block's
								 * sums: bias or zeros */
	float	   *y;				/* Y at the block's first row and the
								 * panel's first column */
	int64		ldy;
	int64		m;				/* rows in the block */
	int			kc;				/* columns of X in the k block */
	int			ncols;			/* columns of Y in the panel, 1..nr */
	bool		accumulate;		/* add the block's sums to Y, rather than to
								 * binit, overwriting Y */
} GemmPanel;

typedef void (*GemmPanelFn) (const GemmPanel *gp);

/*
 * A kernel: micro-tiles of mr rows by nr columns.  kcmax bounds the k block
 * so that a panel (kcmax×nr floats) fits in L1 next to the rows of X being
 * streamed past it.
 */
typedef struct GemmKernel
{
	GnnGemmIsa	isa;
	int			nr;
	int			mr;
	int			kcmax;
	GemmPanelFn panel;
} GemmKernel;

/*
 * Packed weights.  One palloc'd chunk: this header, then (aligned) the
 * padded bias, then the panels.  Panel (pc, jp), for the k block starting
 * at column pc with kcb columns, starts kcb·nr·jp floats after the block's
 * first panel, which is at float offset pc·npad.
 */
struct GnnGemmPacked
{
	const GemmKernel *kern;
	int			n;
	int			k;
	int			npad;			/* n rounded up to a multiple of nr */
	int			kc;				/* columns per k block (the last may be
								 * shorter) */
	int64		mc;				/* rows per row block */
	float	   *bias;			/* npad floats, zeros if there is no bias */
	float	   *panels;
};


/*
 * Prefetching.  With n small a tile does little arithmetic per element of X,
 * and the hardware prefetchers, seeing mr rows read in lockstep, do not run
 * far enough ahead: without help, k = 64, n = 7 ran at half the speed from
 * memory that it reached from cache.  So each tile fetches, one cache line
 * per row every 16 columns, the rows GEMM_PREFETCH_TILES tiles further down,
 * into L2 so as not to push the panel out of L1.  Rows shorter than a cache
 * line are left to the hardware, which handles a dense run of short rows
 * well, and the prefetches would only cost issue slots.
 */
#define GEMM_PREFETCH_TILES	2
#define GEMM_PREFETCH_MIN_KC 16

static pg_attribute_always_inline void
prefetch_rows(const float *xpf, int64 ldx, int p, const int mr)
{
#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
		__builtin_prefetch(xpf + i * ldx + p, 0, 2);
}

/*
 * Where a tile starting at row i of the block should prefetch: the rows a
 * few tiles on, or its own (already fetched) rows near the end of the block,
 * so as never to point past X.
 */
static inline const float *
prefetch_target(const GemmPanel *gp, int64 i, int mr)
{
	int64		ahead = i + GEMM_PREFETCH_TILES * mr;

	return gp->x + (ahead + mr <= gp->m ? ahead : i) * gp->ldx;
}

/*
 * The generic kernels, having no masked stores, compute a tile that sticks
 * out past column n into a small buffer, and only the valid columns are
 * copied to Y.
 */
static inline void
stage_in(float *tmp, int nr, const float *y, int64 ldy, int rows, int ncols)
{
	for (int i = 0; i < rows; i++)
		memcpy(tmp + i * nr, y + i * ldy, ncols * sizeof(float));
}

static inline void
stage_out(const float *tmp, int nr, float *y, int64 ldy, int rows, int ncols)
{
	for (int i = 0; i < rows; i++)
		memcpy(y + i * ldy, tmp + i * nr, ncols * sizeof(float));
}


/*
 * Generic kernels: 128-bit GCC vectors, which are SSE2 on baseline x86-64
 * and NEON on arm64.  Without FMA each step is a multiply and an add; with
 * sixteen vector registers a 4×8 tile (8 accumulators) leaves room for the
 * panel row and the broadcast.
 *
 * The tile routines of all instruction sets have the same shape.  mr and nv
 * (vectors per panel row) are constants at every call, so the loops over
 * them unroll and the accumulators live in registers.  The tile covers rows
 * x[0..mr) of the block and writes y (row stride ldy), which is Y itself or
 * a staging buffer.
 */
typedef float gemm_v4 __attribute__((vector_size(16)));

static inline gemm_v4
v4_loadu(const float *p)
{
	gemm_v4		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
v4_storeu(float *p, gemm_v4 v)
{
	memcpy(p, &v, sizeof(v));
}

static pg_attribute_always_inline void
tile_generic(const GemmPanel *gp, const int mr, const int nv,
			 const float *x, float *y, int64 ldy,
			 const bool prefetch, const float *xpf)
{
	const int	nr = 4 * nv;
	const int64 ldx = gp->ldx;
	const float *w = gp->w;
	gemm_v4		c[8 * 2];

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			c[i * nv + j] = (gemm_v4) {0};

	for (int p = 0; p < gp->kc; p++, w += nr)
	{
		gemm_v4		b[2];

		if (prefetch && p % 16 == 0)
			prefetch_rows(xpf, ldx, p, mr);
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			b[j] = *(const gemm_v4 *) (w + 4 * j);
#pragma GCC unroll 16
		for (int i = 0; i < mr; i++)
		{
			float		a = x[i * ldx + p];

#pragma GCC unroll 4
			for (int j = 0; j < nv; j++)
				c[i * nv + j] += b[j] * a;
		}
	}

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
		{
			c[i * nv + j] += gp->accumulate ? v4_loadu(y + i * ldy + 4 * j) :
				*(const gemm_v4 *) (gp->binit + 4 * j);
			v4_storeu(y + i * ldy + 4 * j, c[i * nv + j]);
		}
}

/*
 * Run a tile shape down the rows of the block: full tiles, then single rows.
 * Tiles that stick out past column n go through a staging buffer.
 */
static pg_attribute_always_inline void
rows_generic(const GemmPanel *gp, const int mr, const int nv,
			 const bool prefetch)
{
	const int	nr = 4 * nv;
	bool		edge = gp->ncols < nr;
	float		tmp[GEMM_MAX_TILE] pg_attribute_aligned(GEMM_ALIGN);

	for (int64 i = 0; i < gp->m; i += mr)
	{
		const float *x = gp->x + i * gp->ldx;
		float	   *y = edge ? tmp : gp->y + i * gp->ldy;
		int64		ldy = edge ? nr : gp->ldy;
		int			rows = (int) Min(mr, gp->m - i);

		if (edge && gp->accumulate)
			stage_in(tmp, nr, gp->y + i * gp->ldy, gp->ldy, rows, gp->ncols);
		if (rows == mr)
			tile_generic(gp, mr, nv, x, y, ldy, prefetch,
						 prefetch_target(gp, i, mr));
		else
			for (int r = 0; r < rows; r++)
				tile_generic(gp, 1, nv, x + r * gp->ldx, y + r * ldy, ldy,
							 false, NULL);
		if (edge)
			stage_out(tmp, nr, gp->y + i * gp->ldy, gp->ldy, rows, gp->ncols);
	}
}

static pg_attribute_always_inline void
panel_generic(const GemmPanel *gp, const int mr, const int nv)
{
	if (gp->kc >= GEMM_PREFETCH_MIN_KC)
		rows_generic(gp, mr, nv, true);
	else
		rows_generic(gp, mr, nv, false);
}

static void
panel_generic_4(const GemmPanel *gp)
{
	panel_generic(gp, 8, 1);
}

static void
panel_generic_8(const GemmPanel *gp)
{
	panel_generic(gp, 4, 2);
}


#ifdef GEMM_X86_SIMD

#define GEMM_TARGET_AVX2	__attribute__((target("avx2,fma")))
#define GEMM_TARGET_AVX512	__attribute__((target("avx512f,avx2,fma")))

/*
 * AVX2 kernels: sixteen 256-bit registers.  The wide tile is the classic
 * 6×16 (12 accumulators, two panel vectors, one broadcast); narrow outputs
 * (n <= 8) use 12×8 so as not to spend half of every multiply on padding.
 * Edge tiles use masked loads and stores (mask[j] for the tile's j-th
 * vector of columns); "edge" is a constant, so full tiles do without.
 */
static pg_attribute_always_inline GEMM_TARGET_AVX2 void
tile_avx2(const GemmPanel *gp, const int mr, const int nv,
		  const float *x, float *y, const bool edge, const __m256i *mask,
		  const bool prefetch, const float *xpf)
{
	const int	nr = 8 * nv;
	const int64 ldx = gp->ldx;
	const int64 ldy = gp->ldy;
	const float *w = gp->w;
	__m256		c[12 * 2];

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			c[i * nv + j] = _mm256_setzero_ps();

	for (int p = 0; p < gp->kc; p++, w += nr)
	{
		__m256		b[2];

		if (prefetch && p % 16 == 0)
			prefetch_rows(xpf, ldx, p, mr);
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			b[j] = _mm256_load_ps(w + 8 * j);
#pragma GCC unroll 16
		for (int i = 0; i < mr; i++)
		{
			__m256		a = _mm256_broadcast_ss(x + i * ldx + p);

#pragma GCC unroll 4
			for (int j = 0; j < nv; j++)
				c[i * nv + j] = _mm256_fmadd_ps(a, b[j], c[i * nv + j]);
		}
	}

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
		{
			float	   *yp = y + i * ldy + 8 * j;
			__m256		base;

			if (!gp->accumulate)
				base = _mm256_load_ps(gp->binit + 8 * j);
			else if (edge)
				base = _mm256_maskload_ps(yp, mask[j]);
			else
				base = _mm256_loadu_ps(yp);
			c[i * nv + j] = _mm256_add_ps(c[i * nv + j], base);
			if (edge)
				_mm256_maskstore_ps(yp, mask[j], c[i * nv + j]);
			else
				_mm256_storeu_ps(yp, c[i * nv + j]);
		}
}

/* Run a tile shape down the rows of the block: full tiles, then single rows */
static pg_attribute_always_inline GEMM_TARGET_AVX2 void
rows_avx2(const GemmPanel *gp, const int mr, const int nv,
		  const bool edge, const bool prefetch)
{
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	__m256i		mask[2];
	int64		i;

	for (int j = 0; j < nv; j++)
		mask[j] = _mm256_cmpgt_epi32(_mm256_set1_epi32(gp->ncols - 8 * j),
									 lane);

	for (i = 0; i + mr <= gp->m; i += mr)
		tile_avx2(gp, mr, nv, gp->x + i * gp->ldx, gp->y + i * gp->ldy,
				  edge, mask, prefetch, prefetch_target(gp, i, mr));
	for (; i < gp->m; i++)
		tile_avx2(gp, 1, nv, gp->x + i * gp->ldx, gp->y + i * gp->ldy,
				  edge, mask, false, NULL);
}

static pg_attribute_always_inline GEMM_TARGET_AVX2 void
panel_avx2(const GemmPanel *gp, const int mr, const int nv)
{
	bool		edge = gp->ncols < 8 * nv;
	bool		prefetch = gp->kc >= GEMM_PREFETCH_MIN_KC;

	if (edge && prefetch)
		rows_avx2(gp, mr, nv, true, true);
	else if (edge)
		rows_avx2(gp, mr, nv, true, false);
	else if (prefetch)
		rows_avx2(gp, mr, nv, false, true);
	else
		rows_avx2(gp, mr, nv, false, false);
}

static GEMM_TARGET_AVX2 void
panel_avx2_8(const GemmPanel *gp)
{
	panel_avx2(gp, 12, 1);
}

static GEMM_TARGET_AVX2 void
panel_avx2_16(const GemmPanel *gp)
{
	panel_avx2(gp, 6, 2);
}

/*
 * AVX-512 kernels: thirty-two 512-bit registers, and masked loads and
 * stores for the columns past n.  mask[j] selects the valid lanes of the
 * tile's j-th vector of columns.  The wide tile is 12×32 (24 accumulators).
 * The narrow one (n <= 16) also has 12 rows: 24 rows would fit in the vector
 * registers but not their row addresses in the general ones, and measured
 * slower.
 */
static pg_attribute_always_inline GEMM_TARGET_AVX512 void
tile_avx512(const GemmPanel *gp, const int mr, const int nv,
			const float *x, float *y, const __mmask16 *mask,
			const bool prefetch, const float *xpf)
{
	const int	nr = 16 * nv;
	const int64 ldx = gp->ldx;
	const int64 ldy = gp->ldy;
	const float *w = gp->w;
	__m512		c[12 * 2];

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			c[i * nv + j] = _mm512_setzero_ps();

	for (int p = 0; p < gp->kc; p++, w += nr)
	{
		__m512		b[2];

		if (prefetch && p % 16 == 0)
			prefetch_rows(xpf, ldx, p, mr);
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			b[j] = _mm512_load_ps(w + 16 * j);
#pragma GCC unroll 16
		for (int i = 0; i < mr; i++)
		{
			__m512		a = _mm512_set1_ps(x[i * ldx + p]);

#pragma GCC unroll 4
			for (int j = 0; j < nv; j++)
				c[i * nv + j] = _mm512_fmadd_ps(a, b[j], c[i * nv + j]);
		}
	}

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
		{
			float	   *yp = y + i * ldy + 16 * j;
			__m512		base = gp->accumulate ?
				_mm512_maskz_loadu_ps(mask[j], yp) :
				_mm512_load_ps(gp->binit + 16 * j);

			c[i * nv + j] = _mm512_add_ps(c[i * nv + j], base);
			_mm512_mask_storeu_ps(yp, mask[j], c[i * nv + j]);
		}
}

static pg_attribute_always_inline GEMM_TARGET_AVX512 void
rows_avx512(const GemmPanel *gp, const int mr, const int nv,
			const bool prefetch)
{
	__mmask16	mask[2];
	int64		i;

	for (int j = 0; j < nv; j++)
	{
		int			cols = Max(0, Min(16, gp->ncols - 16 * j));

		mask[j] = (__mmask16) ((1U << cols) - 1);
	}

	for (i = 0; i + mr <= gp->m; i += mr)
		tile_avx512(gp, mr, nv, gp->x + i * gp->ldx, gp->y + i * gp->ldy,
					mask, prefetch, prefetch_target(gp, i, mr));
	for (; i < gp->m; i++)
		tile_avx512(gp, 1, nv, gp->x + i * gp->ldx, gp->y + i * gp->ldy,
					mask, false, NULL);
}

static pg_attribute_always_inline GEMM_TARGET_AVX512 void
panel_avx512(const GemmPanel *gp, const int mr, const int nv)
{
	if (gp->kc >= GEMM_PREFETCH_MIN_KC)
		rows_avx512(gp, mr, nv, true);
	else
		rows_avx512(gp, mr, nv, false);
}

static GEMM_TARGET_AVX512 void
panel_avx512_16(const GemmPanel *gp)
{
	panel_avx512(gp, 12, 1);
}

static GEMM_TARGET_AVX512 void
panel_avx512_32(const GemmPanel *gp)
{
	panel_avx512(gp, 12, 2);
}

#endif							/* GEMM_X86_SIMD */


/*
 * Kernels by instruction set, narrowest panel first.  A product uses the
 * first kernel of its set whose panel covers n, or the set's last one.
 * Wider panels (AVX-512 12×64 or 6×64) measured slower for every n.
 */
static const GemmKernel gemm_kernels[] = {
	{GNN_GEMM_ISA_GENERIC, 4, 8, 256, panel_generic_4},
	{GNN_GEMM_ISA_GENERIC, 8, 4, 256, panel_generic_8},
#ifdef GEMM_X86_SIMD
	{GNN_GEMM_ISA_AVX2, 8, 12, 512, panel_avx2_8},
	{GNN_GEMM_ISA_AVX2, 16, 6, 256, panel_avx2_16},
	{GNN_GEMM_ISA_AVX512, 16, 12, 512, panel_avx512_16},
	{GNN_GEMM_ISA_AVX512, 32, 12, 256, panel_avx512_32},
#endif
};

/* GNN_GEMM_ISA_BEST until first use */
static GnnGemmIsa gemm_isa = GNN_GEMM_ISA_BEST;

static GnnGemmIsa
gemm_cpu_isa(void)
{
#ifdef GEMM_X86_SIMD
	/* these also check that the OS saves the wide registers */
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return GNN_GEMM_ISA_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return GNN_GEMM_ISA_AVX2;
#endif
	return GNN_GEMM_ISA_GENERIC;
}

GnnGemmIsa
gnn_gemm_set_isa(GnnGemmIsa isa)
{
	GnnGemmIsa	cpu = gemm_cpu_isa();

	gemm_isa = (isa == GNN_GEMM_ISA_BEST || isa > cpu) ? cpu : isa;
	return gemm_isa;
}

GnnGemmIsa
gnn_gemm_get_isa(void)
{
	if (gemm_isa == GNN_GEMM_ISA_BEST)
		gemm_isa = gemm_cpu_isa();
	return gemm_isa;
}

const char *
gnn_gemm_isa_name(GnnGemmIsa isa)
{
	switch (isa)
	{
		case GNN_GEMM_ISA_BEST:
			return "best";
		case GNN_GEMM_ISA_GENERIC:
			return "generic";
		case GNN_GEMM_ISA_AVX2:
			return "avx2";
		case GNN_GEMM_ISA_AVX512:
			return "avx512";
	}
	return "unknown";
}

static const GemmKernel *
gemm_choose_kernel(GnnGemmIsa isa, int n)
{
	const GemmKernel *best = NULL;

	for (int i = 0; i < lengthof(gemm_kernels); i++)
	{
		if (gemm_kernels[i].isa != isa)
			continue;
		best = &gemm_kernels[i];
		if (best->nr >= n)
			break;
	}
	Assert(best != NULL);
	return best;
}

/*
 * Copy W into panels: for each k block, for each group of nr rows of W,
 * kcb×nr floats with element (p, j) = W[j0 + j][pc + p], zero past n.
 */
static void
gemm_pack_panels(const float *W, int n, int k, int kc, int nr, float *dst)
{
	for (int pc = 0; pc < k; pc += kc)
	{
		int			kcb = Min(kc, k - pc);

		for (int j0 = 0; j0 < n; j0 += nr)
		{
			int			cols = Min(nr, n - j0);

			for (int p = 0; p < kcb; p++)
			{
				for (int j = 0; j < cols; j++)
					dst[j] = W[(int64) (j0 + j) * k + pc + p];
				for (int j = cols; j < nr; j++)
					dst[j] = 0.0f;
				dst += nr;
			}
		}
	}
}

GnnGemmPacked *
gnn_gemm_pack(const float *W, int n, int k, const float *bias)
{
	const GemmKernel *kern = gemm_choose_kernel(gnn_gemm_get_isa(), n);
	int			npad = (n + kern->nr - 1) / kern->nr * kern->nr;
	int			nkb = (k + kern->kcmax - 1) / kern->kcmax;
	Size		hdr = TYPEALIGN(GEMM_ALIGN, sizeof(GnnGemmPacked));
	Size		biasbytes = TYPEALIGN(GEMM_ALIGN, npad * sizeof(float));
	Size		wbytes = (Size) npad * k * sizeof(float);
	char	   *chunk;
	GnnGemmPacked *pw;
	int64		mc;

	Assert(n >= 0 && k >= 0);

	/* one spare alignment's worth, since palloc only guarantees MAXALIGN */
	chunk = palloc(hdr + biasbytes + wbytes + GEMM_ALIGN);
	pw = (GnnGemmPacked *) chunk;
	pw->kern = kern;
	pw->n = n;
	pw->k = k;
	pw->npad = npad;
	/* spread k evenly over the blocks rather than leave a sliver at the end */
	pw->kc = nkb > 0 ? (k + nkb - 1) / nkb : 0;
	pw->bias = (float *) TYPEALIGN(GEMM_ALIGN, chunk + hdr);
	pw->panels = (float *) ((char *) pw->bias + biasbytes);

	mc = GEMM_XBLOCK_BYTES / ((int64) Max(pw->kc, 1) * sizeof(float));
	mc = Min(mc, GEMM_MAX_MC) / kern->mr * kern->mr;
	pw->mc = Max(mc, kern->mr);

	for (int j = 0; j < npad; j++)
		pw->bias[j] = (bias != NULL && j < n) ? bias[j] : 0.0f;
	gemm_pack_panels(W, n, k, pw->kc, kern->nr, pw->panels);
	return pw;
}

/* With k = 0 the product is empty and Y is just the bias */
static void
gemm_fill_bias(int64 m, int n, const float *bias, float *Y, int64 ldy)
{
	for (int64 i = 0; i < m; i++)
		memcpy(Y + i * ldy, bias, n * sizeof(float));
}

void
gnn_gemm_packed(const float *X, int64 m, int64 ldx,
				const GnnGemmPacked *pw, float *Y, int64 ldy)
{
	const GemmKernel *kern = pw->kern;
	int			nr = kern->nr;
	GemmPanel	gp;

	if (m <= 0 || pw->n == 0)
		return;
	if (pw->k == 0)
	{
		gemm_fill_bias(m, pw->n, pw->bias, Y, ldy);
		return;
	}

	gp.ldx = ldx;
	gp.ldy = ldy;
	for (int64 ic = 0; ic < m; ic += pw->mc)
	{
		gp.m = Min(pw->mc, m - ic);
		for (int pc = 0; pc < pw->k; pc += pw->kc)
		{
			gp.kc = Min(pw->kc, pw->k - pc);
			gp.accumulate = (pc > 0);
			gp.x = X + ic * ldx + pc;
			for (int j0 = 0; j0 < pw->n; j0 += nr)
			{
				gp.w = pw->panels + (int64) pc * pw->npad +
					(int64) (j0 / nr) * gp.kc * nr;
				gp.binit = pw->bias + j0;
				gp.y = Y + ic * ldy + j0;
				gp.ncols = Min(nr, pw->n - j0);
				kern->panel(&gp);
			}
		}
	}
}

void
gnn_gemm_nt(const float *X, int64 m, int k, int64 ldx,
			const float *W, int n, const float *bias,
			float *Y, int64 ldy)
{
	GnnGemmPacked *pw;

	if (m <= 0 || n <= 0)
		return;
	pw = gnn_gemm_pack(W, n, k, bias);
	gnn_gemm_packed(X, m, ldx, pw, Y, ldy);
	pfree(pw);
}
