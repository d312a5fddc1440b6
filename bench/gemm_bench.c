/*-------------------------------------------------------------------------
 *
 * gemm_bench.c
 *	  Speed of gnn_gemm_nt against single-threaded OpenBLAS cblas_sgemm.
 *
 * For each shape of the transform step, times in the same run, in turns:
 *	- gnn_gemm_nt over all m rows at once;
 *	- gnn_gemm_nt and gnn_gemm_packed called on blocks of rows, as the
 *	  executor does, to see what packing W once per model is worth;
 *	- cblas_sgemm(RowMajor, NoTrans, Trans) with beta = 0 (no bias), and
 *	  with Y first filled with the bias and beta = 1, which is what using
 *	  OpenBLAS for the transform would cost.
 * Prints the median GFLOP/s of several rounds, by CPU time and by wall-clock
 * time, and the largest relative difference from a float64 product on a
 * sample of rows.
 *
 * Usage: gemm_bench [rounds] [rows per block] [generic|avx2|avx512]
 * The last argument caps the instruction set of the gnn kernels, to see how
 * they do on older CPUs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cblas.h>
#include <math.h>
#include <time.h>

#include "gemm.h"

typedef struct Shape
{
	int64		m;
	int			k;
	int			n;
} Shape;

static const Shape shapes[] = {
	{100000, 1433, 64},
	{2708, 1433, 64},
	{100000, 128, 128},
	{100000, 64, 7},
	{100000, 128, 384},
	{100000, 5, 4},
};

enum
{
	V_NT,						/* gnn_gemm_nt, all rows */
	V_NT_BLOCKS,				/* gnn_gemm_nt per block of rows */
	V_PACKED_BLOCKS,			/* gnn_gemm_packed per block of rows */
	V_BLAS,						/* cblas_sgemm, beta = 0, no bias */
	V_BLAS_BIAS,				/* bias fill, then cblas_sgemm beta = 1 */
	NVARIANTS
};

static const char *const variant_names[NVARIANTS] = {
	"gnn_nt", "gnn_nt/blk", "gnn_pk/blk", "openblas", "openblas+b"
};

typedef struct Bench
{
	const Shape *s;
	const float *X;
	const float *W;
	const float *b;
	float	   *Y;
	GnnGemmPacked *pw;
	int64		block;
} Bench;

static double
now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int	cmp_double(const void *a, const void *b);

static void
run_variant(const Bench *bp, int v)
{
	const Shape *s = bp->s;

	switch (v)
	{
		case V_NT:
			gnn_gemm_nt(bp->X, s->m, s->k, s->k, bp->W, s->n, bp->b,
						bp->Y, s->n);
			break;
		case V_NT_BLOCKS:
			for (int64 i = 0; i < s->m; i += bp->block)
				gnn_gemm_nt(bp->X + i * s->k, Min(bp->block, s->m - i), s->k,
							s->k, bp->W, s->n, bp->b, bp->Y + i * s->n, s->n);
			break;
		case V_PACKED_BLOCKS:
			for (int64 i = 0; i < s->m; i += bp->block)
				gnn_gemm_packed(bp->X + i * s->k, Min(bp->block, s->m - i),
								s->k, bp->pw, bp->Y + i * s->n, s->n);
			break;
		case V_BLAS:
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
						s->m, s->n, s->k, 1.0f, bp->X, s->k, bp->W, s->k,
						0.0f, bp->Y, s->n);
			break;
		case V_BLAS_BIAS:
			for (int64 i = 0; i < s->m; i++)
				memcpy(bp->Y + i * s->n, bp->b, s->n * sizeof(float));
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
						s->m, s->n, s->k, 1.0f, bp->X, s->k, bp->W, s->k,
						1.0f, bp->Y, s->n);
			break;
	}
}

/*
 * Seconds per call, in CPU time of this thread and in wall-clock time.  The
 * machine is shared, so wall-clock time includes waits for the CPU; the
 * thread's CPU time does not, and is the steadier measure of the code.
 */
static void
time_variant(const Bench *bp, int v, int calls, double *cpu, double *wall)
{
	double		c0 = now(CLOCK_THREAD_CPUTIME_ID);
	double		w0 = now(CLOCK_MONOTONIC);

	for (int c = 0; c < calls; c++)
		run_variant(bp, v);
	*cpu = (now(CLOCK_THREAD_CPUTIME_ID) - c0) / calls;
	*wall = (now(CLOCK_MONOTONIC) - w0) / calls;
}

static double
median(double *t, int n)
{
	qsort(t, n, sizeof(double), cmp_double);
	return t[n / 2];
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Largest |Y - exact| / max(|exact|, rms of exact) over a sample of rows:
 * relative error, except that values much smaller than is typical (where
 * cancellation makes any relative error meaningless) count against the
 * typical size instead.
 */
static double
max_rel_error(const Bench *bp)
{
	const Shape *s = bp->s;
	int			nsample = 64;
	double	   *ref = palloc(sizeof(double) * nsample * s->n);
	double		ss = 0.0;
	double		rms;
	double		worst = 0.0;

	for (int r = 0; r < nsample; r++)
	{
		int64		i = (s->m - 1) * r / (nsample - 1);

		for (int j = 0; j < s->n; j++)
		{
			double		acc = bp->b ? bp->b[j] : 0.0;

			for (int p = 0; p < s->k; p++)
				acc += (double) bp->X[i * s->k + p] *
					bp->W[(int64) j * s->k + p];
			ref[r * s->n + j] = acc;
			ss += acc * acc;
		}
	}
	rms = sqrt(ss / (nsample * s->n));
	for (int r = 0; r < nsample; r++)
	{
		int64		i = (s->m - 1) * r / (nsample - 1);

		for (int j = 0; j < s->n; j++)
		{
			double		e = ref[r * s->n + j];
			double		d = fabs(bp->Y[i * s->n + j] - e) / Max(fabs(e), rms);

			worst = Max(worst, d);
		}
	}
	pfree(ref);
	return worst;
}

typedef struct Result
{
	double		cpu[NVARIANTS];	/* median seconds per call */
	double		wall[NVARIANTS];
	double		err_gnn;
	double		err_blas;
} Result;

static void
bench_shape(const Shape *s, int rounds, int64 block, Result *res)
{
	int64		xsize = s->m * s->k;
	float	   *X = palloc(sizeof(float) * xsize);
	float	   *W = palloc(sizeof(float) * s->n * s->k);
	float	   *b = palloc(sizeof(float) * s->n);
	double	   *cpu[NVARIANTS];
	double	   *wall[NVARIANTS];
	double		once,
				dummy;
	int			calls;
	Bench		bench;

	srandom(42);
	for (int64 i = 0; i < xsize; i++)
		X[i] = (float) random() / RAND_MAX * 2.0f - 1.0f;
	for (int64 i = 0; i < (int64) s->n * s->k; i++)
		W[i] = ((float) random() / RAND_MAX * 2.0f - 1.0f) / sqrtf(s->k);
	for (int j = 0; j < s->n; j++)
		b[j] = (float) random() / RAND_MAX - 0.5f;

	bench.s = s;
	bench.X = X;
	bench.W = W;
	bench.b = b;
	bench.Y = palloc(sizeof(float) * s->m * s->n);
	bench.pw = gnn_gemm_pack(W, s->n, s->k, b);
	bench.block = block;

	/* warm up every variant (page faults, OpenBLAS buffers) */
	for (int v = 0; v < NVARIANTS; v++)
		run_variant(&bench, v);
	time_variant(&bench, V_NT, 1, &once, &dummy);
	calls = (int) ceil(0.05 / Max(once, 1e-6));

	for (int v = 0; v < NVARIANTS; v++)
	{
		cpu[v] = palloc(sizeof(double) * rounds);
		wall[v] = palloc(sizeof(double) * rounds);
	}
	/* variants take turns, starting at a different one each round */
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NVARIANTS; i++)
		{
			int			v = (r + i) % NVARIANTS;

			time_variant(&bench, v, calls, &cpu[v][r], &wall[v][r]);
		}
	for (int v = 0; v < NVARIANTS; v++)
	{
		res->cpu[v] = median(cpu[v], rounds);
		res->wall[v] = median(wall[v], rounds);
		pfree(cpu[v]);
		pfree(wall[v]);
	}

	run_variant(&bench, V_NT);
	res->err_gnn = max_rel_error(&bench);
	run_variant(&bench, V_BLAS_BIAS);
	res->err_blas = max_rel_error(&bench);

	pfree(bench.pw);
	pfree(bench.Y);
	pfree(X);
	pfree(W);
	pfree(b);
}

static void
print_table(const char *title, const Result *res, bool use_cpu)
{
	printf("# %s\n", title);
	printf("%7s %5s %4s", "m", "k", "n");
	for (int v = 0; v < NVARIANTS; v++)
		printf(" %10s", variant_names[v]);
	printf(" %7s %7s", "ratio", "ratio+b");
	if (use_cpu)
		printf(" %9s %9s", "relerr", "relerr_ob");
	printf("\n");

	for (int i = 0; i < lengthof(shapes); i++)
	{
		const Shape *s = &shapes[i];
		const double *t = use_cpu ? res[i].cpu : res[i].wall;
		double		flops = 2.0 * s->m * s->k * s->n;

		printf("%7lld %5d %4d", (long long) s->m, s->k, s->n);
		for (int v = 0; v < NVARIANTS; v++)
			printf(" %10.1f", flops / t[v] * 1e-9);
		printf(" %7.2f %7.2f", t[V_BLAS] / t[V_NT], t[V_BLAS_BIAS] / t[V_NT]);
		if (use_cpu)
			printf(" %9.1e %9.1e", res[i].err_gnn, res[i].err_blas);
		printf("\n");
	}
}

static const char *
env_or_unset(const char *name)
{
	const char *value = getenv(name);

	return value ? value : "(unset)";
}

int
main(int argc, char **argv)
{
	int			rounds = argc > 1 ? atoi(argv[1]) : 7;
	int64		block = argc > 2 ? atoll(argv[2]) : 1024;
	Result		res[lengthof(shapes)];

	if (rounds < 1 || block < 1)
	{
		fprintf(stderr, "usage: %s [rounds] [rows per block] "
				"[generic|avx2|avx512]\n", argv[0]);
		return 2;
	}
	if (argc > 3)
	{
		static const GnnGemmIsa isas[] = {GNN_GEMM_ISA_GENERIC,
		GNN_GEMM_ISA_AVX2, GNN_GEMM_ISA_AVX512};

		for (int i = 0; i < lengthof(isas); i++)
			if (strcmp(argv[3], gnn_gemm_isa_name(isas[i])) == 0)
				gnn_gemm_set_isa(isas[i]);
	}
	openblas_set_num_threads(1);
	printf("# gnn kernels: %s; OpenBLAS core %s, %d thread(s); "
		   "OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n",
		   gnn_gemm_isa_name(gnn_gemm_get_isa()), openblas_get_corename(),
		   openblas_get_num_threads(), env_or_unset("OPENBLAS_CORETYPE"),
		   env_or_unset("OPENBLAS_L2_SIZE"));
	printf("# GFLOP/s, median of %d rounds; /blk = calls on blocks of %lld rows;"
		   " ratio = OpenBLAS time / gnn_nt time\n", rounds, (long long) block);
	fflush(stdout);

	for (int i = 0; i < lengthof(shapes); i++)
		bench_shape(&shapes[i], rounds, block, &res[i]);

	print_table("by CPU time of the thread", res, true);
	print_table("by wall-clock time", res, false);
	return 0;
}
