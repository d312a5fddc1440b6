/*-------------------------------------------------------------------------
 *
 * roofline_gather.c
 *	  Bandwidth of random-row gathers, the memory roof of message passing.
 *
 * Builds an in-edge CSR like gnnjit's (int64 row pointers, int32 sources
 * in edge order within each target), then, single-threaded, for every
 * target node sums the rows of a float matrix X (rows x width) at its
 * in-edges' sources, as a sum/mean aggregation does:
 *
 *	  y[v] = sum over edges (u -> v) of X[u]
 *
 * Source indices come from one of these distributions:
 *
 *	  rmat     R-MAT (a, b, c = 0.57, 0.19, 0.19) endpoints passed through a
 *	           random permutation of the ids, as gnn_generate_graph draws
 *	           them: a power-law in-degree and out-degree, hubs spread over
 *	           the matrix (the case gnnjit sees);
 *	  uniform  sources uniformly at random (no reuse of hot rows);
 *	  stream   the e-th edge reads row e mod rows: the same arithmetic over
 *	           consecutive rows, the streaming bandwidth (upper bound);
 *	  file:P   the edges of a real table: P holds the output of
 *	           COPY (SELECT src, dst FROM edges) TO ... (FORMAT binary) for
 *	           bigint node ids in [0, rows), as gnn_generate_graph writes
 *	           them (there, node ids are the row numbers of the node table,
 *	           so they index X as gnnjit's node numbers do); "edges" is then
 *	           the number of rows of the file.
 *
 * "firsttouch" instead times writing zeros to a freshly allocated
 * rows x width matrix (fresh pages: the kernel's page faults and zeroing),
 * which every newly allocated layer register pays once; its "edges" column
 * is 0 and its GB/s are of the matrix written.
 *
 * Two loops are timed: "plain", the straightforward loop (what gnnjit's
 * portable aggregation kernel does), and "prefetch", the same with a
 * software prefetch of the row PREFETCH_DISTANCE edges ahead, which lets
 * more cache misses overlap: the better of the two is the roof that
 * random gathers reach on this machine, single-threaded.
 *
 * Reports the median of the rounds as GB/s of gathered rows
 * (edges x width x 4 bytes, what the aggregation reads from X; the index
 * and output traffic is not counted) and nanoseconds per edge.
 *
 * Usage: roofline_gather [rows] [edges] [width] [rounds] [dist ...]
 *		  defaults: 1000000 16000000 128 3 rmat uniform stream firsttouch
 *		  (dist "file:P" reads the edges from P, see above)
 * Output: one line per distribution and loop, tab-separated:
 *		  dist loop rows edges width gbps ns_per_edge checksum
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double
uniform01(uint64_t *state)
{
	return (splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static void *
xmalloc(size_t n)
{
	void	   *p = aligned_alloc(64, (n + 63) / 64 * 64);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

/* One R-MAT endpoint pair below 2^scale */
static void
rmat_edge(uint64_t *rng, int scale, int64_t *s, int64_t *d)
{
	const double a = 0.57, b = 0.19, c = 0.19;

	*s = 0;
	*d = 0;
	for (int bit = 0; bit < scale; bit++)
	{
		double		r = uniform01(rng);

		*s <<= 1;
		*d <<= 1;
		if (r < a)
			;
		else if (r < a + b)
			*d |= 1;
		else if (r < a + b + c)
			*s |= 1;
		else
		{
			*s |= 1;
			*d |= 1;
		}
	}
}

static uint32_t
be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t) (((uint64_t) be32(p) << 32) | be32(p + 4));
}

/*
 * Edges from a binary COPY file of two bigint columns; allocates src and
 * dst, returns the number of edges.
 */
static int64_t
read_copy_file(const char *path, int64_t rows, int32_t **src, int32_t **dst)
{
	static const unsigned char sig[11] = "PGCOPY\n\377\r\n";
	FILE	   *f = fopen(path, "rb");
	unsigned char hdr[19];
	unsigned char tup[2 + 2 * (4 + 8)];
	int64_t		cap = 1 << 20,
				n = 0;

	if (f == NULL || fread(hdr, 1, 19, f) != 19 || memcmp(hdr, sig, 11) != 0)
	{
		fprintf(stderr, "%s: not a binary COPY file\n", path);
		exit(1);
	}
	if (be32(hdr + 15) > 0 && fseek(f, be32(hdr + 15), SEEK_CUR) != 0)
		exit(1);
	*src = malloc(sizeof(int32_t) * cap);
	*dst = malloc(sizeof(int32_t) * cap);
	for (;;)
	{
		int64_t		s,
					d;

		if (fread(tup, 1, 2, f) != 2)
			break;
		if (tup[0] == 0xff && tup[1] == 0xff)	/* trailer */
			break;
		if (tup[0] != 0 || tup[1] != 2 || fread(tup + 2, 1, 24, f) != 24 ||
			be32(tup + 2) != 8 || be32(tup + 14) != 8)
		{
			fprintf(stderr, "%s: expected rows of two non-null bigints\n", path);
			exit(1);
		}
		s = be64(tup + 6);
		d = be64(tup + 18);
		if (s < 0 || s >= rows || d < 0 || d >= rows)
		{
			fprintf(stderr, "%s: node id %lld outside [0, %lld)\n", path,
					(long long) (s < 0 || s >= rows ? s : d), (long long) rows);
			exit(1);
		}
		if (n == cap)
		{
			cap *= 2;
			*src = realloc(*src, sizeof(int32_t) * cap);
			*dst = realloc(*dst, sizeof(int32_t) * cap);
			if (*src == NULL || *dst == NULL)
				exit(1);
		}
		(*src)[n] = (int32_t) s;
		(*dst)[n] = (int32_t) d;
		n++;
	}
	fclose(f);
	return n;
}

/* Sources and targets of edges edges under dist; targets in [0, rows) */
static void
make_edges(const char *dist, int64_t rows, int64_t edges, int32_t *src,
		   int32_t *dst, uint64_t seed)
{
	uint64_t	rng = seed;

	if (strcmp(dist, "rmat") == 0)
	{
		int			scale = 0;
		int32_t    *perm = xmalloc(sizeof(int32_t) * rows);

		while ((INT64_C(1) << scale) < rows)
			scale++;
		for (int64_t i = 0; i < rows; i++)
			perm[i] = (int32_t) i;
		for (int64_t i = rows - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) (splitmix64(&rng) % (uint64_t) (i + 1));
			int32_t		t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
		for (int64_t e = 0; e < edges; e++)
		{
			int64_t		s,
						d;

			do
				rmat_edge(&rng, scale, &s, &d);
			while (s >= rows || d >= rows);
			src[e] = perm[s];
			dst[e] = perm[d];
		}
		free(perm);
	}
	else if (strcmp(dist, "uniform") == 0)
	{
		for (int64_t e = 0; e < edges; e++)
		{
			src[e] = (int32_t) (splitmix64(&rng) % (uint64_t) rows);
			dst[e] = (int32_t) (splitmix64(&rng) % (uint64_t) rows);
		}
	}
	else if (strcmp(dist, "stream") == 0)
	{
		/* target e * rows / edges: consecutive edges read consecutive rows */
		for (int64_t e = 0; e < edges; e++)
		{
			src[e] = (int32_t) (e % rows);
			dst[e] = (int32_t) ((e * rows) / edges);
		}
	}
	else
	{
		fprintf(stderr, "unknown distribution \"%s\" (rmat, uniform, stream)\n", dist);
		exit(1);
	}
}

/* Stable counting sort by target: rowptr[rows + 1], csr_src[edges] */
static void
build_csr(int64_t rows, int64_t edges, const int32_t *src, const int32_t *dst,
		  int64_t *rowptr, int32_t *csr_src)
{
	int64_t    *next = xmalloc(sizeof(int64_t) * (rows + 1));

	memset(rowptr, 0, sizeof(int64_t) * (rows + 1));
	for (int64_t e = 0; e < edges; e++)
		rowptr[dst[e] + 1]++;
	for (int64_t i = 0; i < rows; i++)
		rowptr[i + 1] += rowptr[i];
	memcpy(next, rowptr, sizeof(int64_t) * (rows + 1));
	for (int64_t e = 0; e < edges; e++)
		csr_src[next[dst[e]]++] = src[e];
	free(next);
}

#ifndef PREFETCH_DISTANCE
#define PREFETCH_DISTANCE 16
#endif

/*
 * The aggregation: y[v] = sum of X[src[e]] over v's in-edges; with
 * prefetch, the rows of the edges PREFETCH_DISTANCE ahead are prefetched.
 * Inlined into versions for width 128 (the benchmark models' width: a
 * constant trip count lets the compiler vectorize the row sum even at -O2,
 * as gnnjit's JIT-compiled kernels are specialised to the layer's width)
 * and for any width.
 */
static inline void
gather_sum_impl(float *restrict y, const float *restrict x,
				const int64_t *rowptr, const int32_t *csr_src,
				int64_t rows, int width, int prefetch)
{
	int64_t		nedges = rowptr[rows];

	for (int64_t v = 0; v < rows; v++)
	{
		float	   *restrict acc = y + v * width;

		memset(acc, 0, sizeof(float) * width);
		for (int64_t e = rowptr[v]; e < rowptr[v + 1]; e++)
		{
			const float *restrict m = x + (int64_t) csr_src[e] * width;

			if (prefetch && e + PREFETCH_DISTANCE < nedges)
			{
				const char *p = (const char *)
					(x + (int64_t) csr_src[e + PREFETCH_DISTANCE] * width);

				for (int b = 0; b < width * (int) sizeof(float); b += 64)
					__builtin_prefetch(p + b, 0, 0);
			}
			for (int j = 0; j < width; j++)
				acc[j] += m[j];
		}
	}
}

static void __attribute__((noinline))
gather_sum(float *restrict y, const float *restrict x, const int64_t *rowptr,
		   const int32_t *csr_src, int64_t rows, int width)
{
	if (width == 128)
		gather_sum_impl(y, x, rowptr, csr_src, rows, 128, 0);
	else
		gather_sum_impl(y, x, rowptr, csr_src, rows, width, 0);
}

static void __attribute__((noinline))
gather_sum_prefetch(float *restrict y, const float *restrict x,
					const int64_t *rowptr, const int32_t *csr_src,
					int64_t rows, int width)
{
	if (width == 128)
		gather_sum_impl(y, x, rowptr, csr_src, rows, 128, 1);
	else
		gather_sum_impl(y, x, rowptr, csr_src, rows, width, 1);
}

typedef void (*GatherFn) (float *restrict y, const float *restrict x,
						  const int64_t *rowptr, const int32_t *csr_src,
						  int64_t rows, int width);

int
main(int argc, char **argv)
{
	int64_t		rows = argc > 1 ? atoll(argv[1]) : 1000000;
	int64_t		edges = argc > 2 ? atoll(argv[2]) : 16000000;
	int			width = argc > 3 ? atoi(argv[3]) : 128;
	int			rounds = argc > 4 ? atoi(argv[4]) : 3;
	const char *defaults[] = {"rmat", "uniform", "stream", "firsttouch"};
	const char **dists = argc > 5 ? (const char **) argv + 5 : defaults;
	int			ndists = argc > 5 ? argc - 5 : 4;
	float	   *x,
			   *y;
	int32_t    *src,
			   *dst,
			   *csr_src;
	int64_t    *rowptr;
	double	   *t;

	if (rows < 1 || rows > INT32_MAX || edges < 1 || width < 1 || rounds < 1)
	{
		fprintf(stderr, "usage: %s [rows] [edges] [width] [rounds] [rmat|uniform|stream ...]\n",
				argv[0]);
		return 1;
	}
	x = xmalloc(sizeof(float) * rows * width);
	y = xmalloc(sizeof(float) * rows * width);
	src = xmalloc(sizeof(int32_t) * edges);
	dst = xmalloc(sizeof(int32_t) * edges);
	csr_src = xmalloc(sizeof(int32_t) * edges);
	rowptr = xmalloc(sizeof(int64_t) * (rows + 1));
	t = xmalloc(sizeof(double) * rounds);
	{
		uint64_t	rng = 42;

		for (int64_t i = 0; i < rows * width; i++)
			x[i] = (float) (uniform01(&rng) - 0.5);
		memset(y, 0, sizeof(float) * rows * width);
	}

	for (int d = 0; d < ndists; d++)
	{
		static const char *const loops[] = {"plain", "prefetch"};
		GatherFn	fns[] = {gather_sum, gather_sum_prefetch};
		int64_t		nedges = edges;
		const char *name = dists[d];

		if (strcmp(dists[d], "firsttouch") == 0)
		{
			size_t		bytes = sizeof(float) * rows * width;
			double		sum = 0;

			for (int r = 0; r < rounds; r++)
			{
				float	   *fresh;
				double		t0 = now();

				fresh = xmalloc(bytes);
				memset(fresh, 0, bytes);
				t[r] = now() - t0;
				sum += fresh[rows * width / 2];
				free(fresh);
			}
			qsort(t, rounds, sizeof(double), cmp_double);
			printf("firsttouch\tmemset\t%lld\t0\t%d\t%.2f\t0\t%.6g\n",
				   (long long) rows, width, bytes / t[rounds / 2] * 1e-9, sum);
			fflush(stdout);
			continue;
		}
		if (strncmp(dists[d], "file:", 5) == 0)
		{
			int32_t    *fsrc,
					   *fdst;

			nedges = read_copy_file(dists[d] + 5, rows, &fsrc, &fdst);
			if (nedges > edges)
			{
				free(csr_src);
				csr_src = xmalloc(sizeof(int32_t) * nedges);
			}
			build_csr(rows, nedges, fsrc, fdst, rowptr, csr_src);
			free(fsrc);
			free(fdst);
			name = "graph";
		}
		else
		{
			make_edges(dists[d], rows, edges, src, dst, 1);
			build_csr(rows, edges, src, dst, rowptr, csr_src);
		}
		for (int l = 0; l < 2; l++)
		{
			double		sum = 0;

			for (int r = 0; r < rounds; r++)
			{
				double		t0 = now();

				fns[l] (y, x, rowptr, csr_src, rows, width);
				t[r] = now() - t0;
			}
			for (int64_t i = 0; i < rows * width; i += 4097)
				sum += y[i];
			qsort(t, rounds, sizeof(double), cmp_double);
			printf("%s\t%s\t%lld\t%lld\t%d\t%.2f\t%.3f\t%.6g\n", name,
				   loops[l], (long long) rows, (long long) nedges, width,
				   (double) nedges * width * sizeof(float) / t[rounds / 2] * 1e-9,
				   t[rounds / 2] / nedges * 1e9, sum);
			fflush(stdout);
		}
	}
	return 0;
}
