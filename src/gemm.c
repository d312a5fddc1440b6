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
 * block's partial sum starts from zero in registers (the first block's from
 * the bias) and is then added to Y; besides saving the reload this makes the
 * chains of roundings shorter than one running sum over all of k.
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

/* Largest micro-tile of any kernel, in floats, for the staging buffer */
#define GEMM_MAX_TILE		(24 * 16)

/*
 * Work for one panel routine: one row block, one k block, one panel.
 */
typedef struct GemmPanel
{
	const float *x;				/* X at the block's first row, column pc */
	int64		ldx;
	const float *w;				/* the panel: kc rows of nr floats */
	const float *binit;			/* nr floats to start from: bias or zeros */
	float	   *y;				/* Y at the block's first row and the
								 * panel's first column */
	int64		ldy;
	int64		m;				/* rows in the block */
	int			kc;				/* columns of X in the k block */
	int			ncols;			/* columns of Y in the panel, 1..nr */
	bool		accumulate;		/* add the block's sums to Y, rather than
								 * start from binit and overwrite Y */
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
 * Staging of edge tiles.
 *
 * Kernels without masked stores compute a tile that sticks out past column
 * n into a small buffer, and only the valid columns are copied to Y.
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

/*
 * One mr×(4·nv) tile over kc columns.  mr and nv are constants at every
 * call, so the loops over them unroll and the accumulators live in
 * registers.
 */
static pg_attribute_always_inline void
tile_generic(const int mr, const int nv, int kc,
			 const float *x, int64 ldx, const float *w,
			 const float *binit, float *y, int64 ldy, bool accumulate)
{
	gemm_v4		c[8 * 2];
	const int	nr = 4 * nv;

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			c[i * nv + j] = accumulate ? (gemm_v4) {0} :
				*(const gemm_v4 *) (binit + 4 * j);

	for (int p = 0; p < kc; p++, w += nr)
	{
		gemm_v4		b[2];

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
			if (accumulate)
				c[i * nv + j] += v4_loadu(y + i * ldy + 4 * j);
			v4_storeu(y + i * ldy + 4 * j, c[i * nv + j]);
		}
}

/*
 * Run a tile shape over the rows of a panel: full tiles, then single rows.
 * Tiles that stick out past column n go through a staging buffer.
 */
static pg_attribute_always_inline void
panel_generic(const GemmPanel *gp, const int mr, const int nv)
{
	const int	nr = 4 * nv;
	bool		edge = gp->ncols < nr;
	float		tmp[GEMM_MAX_TILE] pg_attribute_aligned(GEMM_ALIGN);
	int64		i;

	for (i = 0; i < gp->m; i += mr)
	{
		const float *x = gp->x + i * gp->ldx;
		float	   *y = gp->y + i * gp->ldy;
		int			rows = (int) Min(mr, gp->m - i);

		if (edge)
		{
			if (gp->accumulate)
				stage_in(tmp, nr, y, gp->ldy, rows, gp->ncols);
			if (rows == mr)
				tile_generic(mr, nv, gp->kc, x, gp->ldx, gp->w, gp->binit,
							 tmp, nr, gp->accumulate);
			else
				for (int r = 0; r < rows; r++)
					tile_generic(1, nv, gp->kc, x + r * gp->ldx, gp->ldx,
								 gp->w, gp->binit, tmp + r * nr, nr,
								 gp->accumulate);
			stage_out(tmp, nr, y, gp->ldy, rows, gp->ncols);
		}
		else if (rows == mr)
			tile_generic(mr, nv, gp->kc, x, gp->ldx, gp->w, gp->binit,
						 y, gp->ldy, gp->accumulate);
		else
			for (int r = 0; r < rows; r++)
				tile_generic(1, nv, gp->kc, x + r * gp->ldx, gp->ldx,
							 gp->w, gp->binit, y + r * gp->ldy, gp->ldy,
							 gp->accumulate);
	}
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
 */
static pg_attribute_always_inline GEMM_TARGET_AVX2 void
tile_avx2(const int mr, const int nv, int kc,
		  const float *x, int64 ldx, const float *w,
		  const float *binit, float *y, int64 ldy, bool accumulate)
{
	__m256		c[12 * 2];
	const int	nr = 8 * nv;

#pragma GCC unroll 16
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			c[i * nv + j] = accumulate ? _mm256_setzero_ps() :
				_mm256_load_ps(binit + 8 * j);

	for (int p = 0; p < kc; p++, w += nr)
	{
		__m256		b[2];

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
			if (accumulate)
				c[i * nv + j] = _mm256_add_ps(c[i * nv + j],
											  _mm256_loadu_ps(y + i * ldy + 8 * j));
			_mm256_storeu_ps(y + i * ldy + 8 * j, c[i * nv + j]);
		}
}

/* As panel_generic, for tile_avx2 */
static pg_attribute_always_inline GEMM_TARGET_AVX2 void
panel_avx2(const GemmPanel *gp, const int mr, const int nv)
{
	const int	nr = 8 * nv;
	bool		edge = gp->ncols < nr;
	float		tmp[GEMM_MAX_TILE] pg_attribute_aligned(GEMM_ALIGN);
	int64		i;

	for (i = 0; i < gp->m; i += mr)
	{
		const float *x = gp->x + i * gp->ldx;
		float	   *y = gp->y + i * gp->ldy;
		int			rows = (int) Min(mr, gp->m - i);

		if (edge)
		{
			if (gp->accumulate)
				stage_in(tmp, nr, y, gp->ldy, rows, gp->ncols);
			if (rows == mr)
				tile_avx2(mr, nv, gp->kc, x, gp->ldx, gp->w, gp->binit,
						  tmp, nr, gp->accumulate);
			else
				for (int r = 0; r < rows; r++)
					tile_avx2(1, nv, gp->kc, x + r * gp->ldx, gp->ldx,
							  gp->w, gp->binit, tmp + r * nr, nr,
							  gp->accumulate);
			stage_out(tmp, nr, y, gp->ldy, rows, gp->ncols);
		}
		else if (rows == mr)
			tile_avx2(mr, nv, gp->kc, x, gp->ldx, gp->w, gp->binit,
					  y, gp->ldy, gp->accumulate);
		else
			for (int r = 0; r < rows; r++)
				tile_avx2(1, nv, gp->kc, x + r * gp->ldx, gp->ldx,
						  gp->w, gp->binit, y + r * gp->ldy, gp->ldy,
						  gp->accumulate);
	}
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
 * stores for the columns past n, so edge tiles need no staging.  mask[j]
 * selects the valid lanes of the tile's j-th vector of columns.
 */
static pg_attribute_always_inline GEMM_TARGET_AVX512 void
tile_avx512(const int mr, const int nv, int kc,
			const float *x, int64 ldx, const float *w,
			const float *binit, float *y, int64 ldy, bool accumulate,
			const __mmask16 *mask)
{
	__m512		c[24];
	const int	nr = 16 * nv;

#pragma GCC unroll 24
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			c[i * nv + j] = accumulate ? _mm512_setzero_ps() :
				_mm512_load_ps(binit + 16 * j);

	for (int p = 0; p < kc; p++, w += nr)
	{
		__m512		b[4];

#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
			b[j] = _mm512_load_ps(w + 16 * j);
#pragma GCC unroll 24
		for (int i = 0; i < mr; i++)
		{
			__m512		a = _mm512_set1_ps(x[i * ldx + p]);

#pragma GCC unroll 4
			for (int j = 0; j < nv; j++)
				c[i * nv + j] = _mm512_fmadd_ps(a, b[j], c[i * nv + j]);
		}
	}

#pragma GCC unroll 24
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (int j = 0; j < nv; j++)
		{
			if (accumulate)
				c[i * nv + j] = _mm512_add_ps(c[i * nv + j],
											  _mm512_maskz_loadu_ps(mask[j], y + i * ldy + 16 * j));
			_mm512_mask_storeu_ps(y + i * ldy + 16 * j, mask[j],
								  c[i * nv + j]);
		}
}

static pg_attribute_always_inline GEMM_TARGET_AVX512 void
panel_avx512(const GemmPanel *gp, const int mr, const int nv)
{
	__mmask16	mask[4];
	int64		i;

	for (int j = 0; j < nv; j++)
	{
		int			cols = Max(0, Min(16, gp->ncols - 16 * j));

		mask[j] = (__mmask16) ((1U << cols) - 1);
	}

	for (i = 0; i + mr <= gp->m; i += mr)
		tile_avx512(mr, nv, gp->kc, gp->x + i * gp->ldx, gp->ldx, gp->w,
					gp->binit, gp->y + i * gp->ldy, gp->ldy, gp->accumulate,
					mask);
	for (; i < gp->m; i++)
		tile_avx512(1, nv, gp->kc, gp->x + i * gp->ldx, gp->ldx, gp->w,
					gp->binit, gp->y + i * gp->ldy, gp->ldy, gp->accumulate,
					mask);
}

static GEMM_TARGET_AVX512 void
panel_avx512_16(const GemmPanel *gp)
{
	panel_avx512(gp, 24, 1);
}

static GEMM_TARGET_AVX512 void
panel_avx512_32(const GemmPanel *gp)
{
	panel_avx512(gp, 12, 2);
}

static GEMM_TARGET_AVX512 void
panel_avx512_64(const GemmPanel *gp)
{
	panel_avx512(gp, 6, 4);
}

#endif							/* GEMM_X86_SIMD */


/*
 * Kernels by instruction set, narrowest panel first.  A product uses the
 * first kernel of its set whose panel covers n, or the set's last one.
 */
static const GemmKernel gemm_kernels[] = {
	{GNN_GEMM_ISA_GENERIC, 4, 8, 256, panel_generic_4},
	{GNN_GEMM_ISA_GENERIC, 8, 4, 256, panel_generic_8},
#ifdef GEMM_X86_SIMD
	{GNN_GEMM_ISA_AVX2, 8, 12, 512, panel_avx2_8},
	{GNN_GEMM_ISA_AVX2, 16, 6, 256, panel_avx2_16},
	{GNN_GEMM_ISA_AVX512, 16, 24, 512, panel_avx512_16},
	{GNN_GEMM_ISA_AVX512, 32, 12, 256, panel_avx512_32},
	{GNN_GEMM_ISA_AVX512, 64, 6, 128, panel_avx512_64},
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
