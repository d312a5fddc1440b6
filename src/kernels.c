/*-------------------------------------------------------------------------
 *
 * kernels.c
 *	  Portable kernels of the transform and message_passing modules.
 *
 * Dense kernels take pointers already offset to their first row and a row
 * count.  Message-passing kernels take whole arrays and a range [lo, hi)
 * of target nodes; their edge arrays are indexed by CSR position.
 *
 * NaN and infinities propagate as in PyTorch: ReLU and max/min keep NaN,
 * softmax of a row containing NaN is NaN.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fastmath.h"
#include "gemm.h"
#include "kernels.h"

/* ---------- transform ---------- */

/* Partial sums of a dot product */
#define GNN_DOT_LANES 16

/*
 * The dot product of a and b, n long, in GNN_DOT_LANES partial sums added
 * at the end: independent additions, which vectorise (one long chain of
 * them would not, float addition not being associative), in an order
 * fixed by the source, so compiled and portable code sum alike.
 */
static inline float
dot(const float *a, const float *b, int n)
{
	float		acc[GNN_DOT_LANES] = {0};
	float		s = 0.0f;
	int			j = 0;

	for (; j + GNN_DOT_LANES <= n; j += GNN_DOT_LANES)
		for (int k = 0; k < GNN_DOT_LANES; k++)
			acc[k] += a[j + k] * b[j + k];
	for (int k = 0; k < GNN_DOT_LANES; k++)
		s += acc[k];
	for (; j < n; j++)
		s += a[j] * b[j];
	return s;
}

static inline float
act_one(float x, GnnAct act, float alpha)
{
	switch (act)
	{
		case GNN_ACT_RELU:
			return x < 0.0f ? 0.0f : x; /* NaN stays NaN */
		case GNN_ACT_LEAKY_RELU:
			return x > 0.0f ? x : x * alpha;
		case GNN_ACT_ELU:
			return x > 0.0f || isnan(x) ? x : alpha * gnn_expm1_nonpos(x);
		case GNN_ACT_GELU:
			return 0.5f * x * (1.0f + erff(x * (float) M_SQRT1_2));
		case GNN_ACT_SIGMOID:
			return 1.0f / (1.0f + expf(-x));
		case GNN_ACT_TANH:
			return tanhf(x);
		case GNN_ACT_RSQRT0:
			return x == 0.0f ? 0.0f : 1.0f / sqrtf(x);
		case GNN_ACT_EXP:
			return expf(x);
	}
	return x;
}

static inline void
gnn_k_act(float *y, const float *a, int64 n, GnnAct act, float alpha)
{
	if (act == GNN_ACT_RELU)
	{
		for (int64 i = 0; i < n; i++)
			y[i] = a[i] < 0.0f ? 0.0f : a[i];
		return;
	}
	for (int64 i = 0; i < n; i++)
		y[i] = act_one(a[i], act, alpha);
}

static inline void
gnn_k_add(float *y, const float *a, const float *b, int64 n)
{
	for (int64 i = 0; i < n; i++)
		y[i] = a[i] + b[i];
}

static inline void
gnn_k_axpy(float *y, float alpha, const float *a, const float *b, int64 n)
{
	for (int64 i = 0; i < n; i++)
		y[i] = alpha * a[i] + b[i];
}

/*
 * y = a * b, or with divide a / b (0 where b is 0), where b has "heads"
 * columns each scaling width/heads of a's (heads = width: element-wise).
 * divide is a constant at every call, so each use compiles to one loop.
 */
static inline void
gnn_k_scale_heads(float *y, const float *a, const float *b, int64 rows,
				  int width, int heads, bool divide)
{
	int			c = width / heads;

	for (int64 r = 0; r < rows; r++)
		for (int h = 0; h < heads; h++)
		{
			float		s = b[r * heads + h];
			const float *ar = a + r * width + h * c;
			float	   *yr = y + r * width + h * c;

			if (divide)
				for (int j = 0; j < c; j++)
					yr[j] = (s != 0.0f) ? ar[j] / s : 0.0f;
			else
				for (int j = 0; j < c; j++)
					yr[j] = ar[j] * s;
		}
}

static inline void
gnn_k_affine(float *y, const float *a, const float *scale, const float *shift,
			 int64 rows, int width)
{
	for (int64 r = 0; r < rows; r++)
	{
		const float *ar = a + r * width;
		float	   *yr = y + r * width;

		if (scale && shift)
			for (int j = 0; j < width; j++)
				yr[j] = ar[j] * scale[j] + shift[j];
		else if (scale)
			for (int j = 0; j < width; j++)
				yr[j] = ar[j] * scale[j];
		else
			for (int j = 0; j < width; j++)
				yr[j] = ar[j] + shift[j];
	}
}

static inline void
gnn_k_head_dot(float *y, const float *a, const float *att, int64 rows,
			   int width, int heads)
{
	int			c = width / heads;

	for (int64 r = 0; r < rows; r++)
		for (int h = 0; h < heads; h++)
		{
			y[r * heads + h] = dot(a + r * width + h * c, att + h * c, c);
		}
}

static inline void
gnn_k_head_mean(float *y, const float *a, int64 rows, int width, int heads)
{
	int			c = width / heads;

	for (int64 r = 0; r < rows; r++)
		for (int j = 0; j < c; j++)
		{
			float		s = 0.0f;

			for (int h = 0; h < heads; h++)
				s += a[r * width + h * c + j];
			y[r * c + j] = s / (float) heads;
		}
}

/* F.normalize(p=2): x / max(||x||, 1e-12) */
static inline void
gnn_k_l2norm(float *y, const float *a, int64 rows, int width)
{
	for (int64 r = 0; r < rows; r++)
	{
		const float *ar = a + r * width;
		float		d = fmaxf(sqrtf(dot(ar, ar, width)), 1e-12f);

		for (int j = 0; j < width; j++)
			y[r * width + j] = ar[j] / d;
	}
}

/* Softmax or log-softmax of each row, max-subtracted as PyTorch does */
static inline void
gnn_k_softmax(float *y, const float *a, int64 rows, int width, bool log)
{
	for (int64 r = 0; r < rows; r++)
	{
		const float *ar = a + r * width;
		float	   *yr = y + r * width;
		float		m = -INFINITY;
		float		s = 0.0f;

		for (int j = 0; j < width; j++)
			m = (isnan(m) || m >= ar[j]) ? m : ar[j];
		for (int j = 0; j < width; j++)
			s += expf(ar[j] - m);
		if (log)
		{
			float		ls = logf(s);

			for (int j = 0; j < width; j++)
				yr[j] = ar[j] - m - ls;
		}
		else
			for (int j = 0; j < width; j++)
				yr[j] = expf(ar[j] - m) / s;
	}
}

/* ---------- get_edge ---------- */

/* y[e] = a[index[e]] for rows edges */
/* y = 1 where a == value, else 0 */
static inline void
gnn_k_equals(float *y, const float *a, int64 n, float value)
{
	for (int64 i = 0; i < n; i++)
		y[i] = (a[i] == value) ? 1.0f : 0.0f;
}

/* y = [a | b], row by row */
static inline void
gnn_k_concat(float *y, const float *a, const float *b, int64 rows, int wa,
			 int wb)
{
	for (int64 r = 0; r < rows; r++)
	{
		memcpy(y + r * (wa + wb), a + r * wa, sizeof(float) * wa);
		memcpy(y + r * (wa + wb) + wa, b + r * wb, sizeof(float) * wb);
	}
}

/* y = columns [start, start + w) of a */
static inline void
gnn_k_slice(float *y, const float *a, int64 rows, int wa, int start, int w)
{
	for (int64 r = 0; r < rows; r++)
		memcpy(y + r * w, a + r * wa + start, sizeof(float) * w);
}

/* y[e] = a[index[e]]; a's first row is node a0 */
/*
 * Row reads at random sources are latency-bound: a software prefetch of the
 * source row GNN_PREFETCH_EDGES edges ahead lets that many cache misses
 * overlap (bench/roofline_gather.c measured about twice the bandwidth of
 * the plain loop at 16 edges ahead).  Only an access hint: the arithmetic
 * is unchanged.
 */
#define GNN_PREFETCH_EDGES 16

/* Prefetch the row of a (first row a0) at index[e + GNN_PREFETCH_EDGES] */
static inline void
prefetch_ahead(const float *a, int64 a0, const int32 *index, int64 e,
			   int64 end, int width)
{
	const char *row;

	if (e + GNN_PREFETCH_EDGES >= end)
		return;
	row = (const char *) (a + ((int64) index[e + GNN_PREFETCH_EDGES] - a0) * width);
	for (int b = 0; b < width * (int) sizeof(float); b += 64)
		__builtin_prefetch(row + b, 0, 0);
}

static inline void
gnn_k_gather(float *y, const float *a, int64 a0, const int32 *index,
			 int64 rows, int width)
{
	for (int64 e = 0; e < rows; e++)
	{
		prefetch_ahead(a, a0, index, e, rows, width);
		memcpy(y + e * width, a + ((int64) index[e] - a0) * width,
			   sizeof(float) * width);
	}
}

/*
 * y[e] = a[i] for every edge e into node i, lo <= i < hi; y points to the
 * row of edge rowptr[lo]
 */
static inline void
gnn_k_gather_dst(float *y, const float *a, int64 a0, const int64 *rowptr,
				 int64 lo, int64 hi, int width)
{
	int64		e0 = rowptr[lo];

	for (int64 i = lo; i < hi; i++)
		for (int64 e = rowptr[i]; e < rowptr[i + 1]; e++)
			memcpy(y + (e - e0) * width, a + (i - a0) * width, sizeof(float) * width);
}

/*
 * y[e, h] = a[dst(e)] . b[src(e)] over head h's columns, for the in-edges
 * of nodes [lo, hi); a0 and b0 are the registers' first rows, y points to
 * the row of edge rowptr[lo]
 */
static inline void
gnn_k_edge_dot(float *y, const float *a, int64 a0, const float *b, int64 b0,
			   const int64 *rowptr, const int32 *src, int64 lo, int64 hi,
			   int width, int heads)
{
	int			c = width / heads;
	int64		e0 = rowptr[lo];
	int64		last = rowptr[hi];

	for (int64 i = lo; i < hi; i++)
	{
		const float *ai = a + (i - a0) * width;

		for (int64 e = rowptr[i]; e < rowptr[i + 1]; e++)
		{
			const float *bj = b + ((int64) src[e] - b0) * width;

			prefetch_ahead(b, b0, src, e, last, width);

			for (int h = 0; h < heads; h++)
				y[(e - e0) * heads + h] = dot(ai + h * c, bj + h * c, c);
		}
	}
}

/* y = elementwise max (or min) of a and b, NaN kept as torch.maximum */
static inline void
gnn_k_extreme(float *y, const float *a, const float *b, int64 n, bool max)
{
	for (int64 i = 0; i < n; i++)
	{
		float		u = a[i],
					v = b[i];

		y[i] = (isnan(u) || isnan(v)) ? u + v : (max ? (u > v ? u : v) : (u < v ? u : v));
	}
}

/* ---------- message_passing ---------- */

static inline void
acc_sum(float *restrict acc, const float *restrict m, float c, int n)
{
	for (int j = 0; j < n; j++)
		acc[j] += c * m[j];
}

static inline void
acc_sum1(float *restrict acc, const float *restrict m, int n)
{
	for (int j = 0; j < n; j++)
		acc[j] += m[j];
}

/* max (sign 1) or min (sign -1) with NaN kept, as torch's scatter_reduce */
static inline void
acc_extreme(float *acc, const float *m, float c, int n, bool first, bool max)
{
	for (int j = 0; j < n; j++)
	{
		float		v = c * m[j];

		if (first)
			acc[j] = v;
		else if (!isnan(acc[j]) &&
				 (isnan(v) || (max ? v > acc[j] : v < acc[j])))
			acc[j] = v;
	}
}

/*
 * y[i] = AGG over the in-edges e of node i of coef(e) * msg(e), where msg
 * is the source node's row (msg_on_edges false; msg's first row is node
 * m0) or the edge's own row.  coef is 1 (coef_width 0), one value per edge,
 * or one per head, scaling width/coef_width consecutive columns each (the
 * width, not the pointer, decides, so that the JIT folds it).  A node
 * without in-edges gets "empty".  y points to row lo; edge rows (coef, and
 * msg when on edges) to the row of edge rowptr[lo].
 */
static inline void
gnn_k_aggregate(float *y, const float *msg, bool msg_on_edges, int64 m0,
				const float *coef, int coef_width, const int64 *rowptr,
				const int32 *src, int64 lo, int64 hi, int width, GnnAggr aggr,
				float empty)
{
	int			heads = coef_width > 0 ? coef_width : 1;
	int			c = width / heads;
	int64		e0 = rowptr[lo];
	int64		last = rowptr[hi];

	for (int64 i = lo; i < hi; i++)
	{
		float	   *acc = y + (i - lo) * width;
		int64		begin = rowptr[i];
		int64		end = rowptr[i + 1];

		memset(acc, 0, sizeof(float) * width);
		for (int64 e = begin; e < end; e++)
		{
			const float *m = msg + (msg_on_edges ? e - e0 : (int64) src[e] - m0) * width;

			if (!msg_on_edges)
				prefetch_ahead(msg, m0, src, e, last, width);

			for (int h = 0; h < heads; h++)
			{
				float		s = coef_width > 0 ? coef[(e - e0) * heads + h] : 1.0f;

				if (aggr == GNN_AGGR_SUM || aggr == GNN_AGGR_MEAN)
				{
					if (coef_width > 0)
						acc_sum(acc + h * c, m + h * c, s, c);
					else
						acc_sum1(acc + h * c, m + h * c, c);
				}
				else
					acc_extreme(acc + h * c, m + h * c, s, c, e == begin,
								aggr == GNN_AGGR_MAX);
			}
		}
		if (end == begin && empty != 0.0f)
			for (int j = 0; j < width; j++)
				acc[j] = empty;
		if (aggr == GNN_AGGR_MEAN && end > begin)
		{
			float		n = (float) (end - begin);

			for (int j = 0; j < width; j++)
				acc[j] /= n;
		}
	}
}

/* Columns of an edge softmax taken together in one pass over the edges */
#define GNN_SOFTMAX_COLS 16

/*
 * Softmax of each column of a over the in-edges of each node, as PyG's
 * utils.softmax: exp(a - max) / (sum + 1e-16).  y and a point to the row
 * of edge rowptr[lo].  Each pass over a node's edges covers up to
 * GNN_SOFTMAX_COLS columns (all heads, usually), and the exponentials have
 * a pass of their own, free of the sum's sequential additions, so that it
 * vectorises; the sums add the edges in order.  vector_math: exp from
 * fastmath.h (compiled code, where it vectorises) rather than libm's.
 */
static inline void
gnn_k_edge_softmax(float *y, const float *a, const int64 *rowptr, int64 lo,
				   int64 hi, int width, bool vector_math)
{
	int64		e0 = rowptr[lo];

	for (int64 i = lo; i < hi; i++)
	{
		int64		begin = rowptr[i] - e0;
		int64		end = rowptr[i + 1] - e0;

		for (int h0 = 0; h0 < width; h0 += GNN_SOFTMAX_COLS)
		{
			int			n = Min(GNN_SOFTMAX_COLS, width - h0);
			float		m[GNN_SOFTMAX_COLS];
			float		s[GNN_SOFTMAX_COLS];

			for (int h = 0; h < n; h++)
			{
				m[h] = -INFINITY;
				s[h] = 0.0f;
			}
			for (int64 e = begin; e < end; e++)
				for (int h = 0; h < n; h++)
				{
					float		v = a[e * width + h0 + h];

					m[h] = (isnan(m[h]) || m[h] >= v) ? m[h] : v;
				}
			for (int64 e = begin; e < end; e++)
				for (int h = 0; h < n; h++)
				{
					float		x = a[e * width + h0 + h] - m[h];

					y[e * width + h0 + h] = vector_math ? gnn_exp_nonpos(x) : expf(x);
				}
			for (int64 e = begin; e < end; e++)
				for (int h = 0; h < n; h++)
					s[h] += y[e * width + h0 + h];
			for (int h = 0; h < n; h++)
				s[h] += 1e-16f;
			for (int64 e = begin; e < end; e++)
				for (int h = 0; h < n; h++)
					y[e * width + h0 + h] /= s[h];
		}
	}
}

/* ---------- one operation ---------- */

/* The kernel-level description of op, with its registers' shapes */
static void
gnn_kernel_op_init(GnnKernelOp *kop, const GnnProgram *prog, const GnnOp *op)
{
	memset(kop, 0, sizeof(GnnKernelOp));
	kop->kind = op->kind;
	kop->out = op->out;
	kop->a = op->a;
	kop->b = op->b;
	/* an edge output's rows are the edges of its register's view */
	kop->view = prog->regs[op->out].space == GNN_SPACE_EDGE ?
		prog->regs[op->out].view : op->view;
	kop->aggr_empty = op->kind == GNN_OP_AGGREGATE ? op->alpha : 0.0f;
	kop->w = prog->regs[op->out].width;
	kop->wa = op->a >= 0 ? prog->regs[op->a].width : 0;
	kop->wb = op->b >= 0 ? prog->regs[op->b].width : 0;
	kop->out_on_edges = prog->regs[op->out].space == GNN_SPACE_EDGE;
	kop->a_on_edges = op->a >= 0 && prog->regs[op->a].space == GNN_SPACE_EDGE;
	kop->heads = op->heads;
	kop->start = op->start;
	kop->aggr = op->aggr;
	kop->act = op->act;
	kop->alpha = op->alpha;
	kop->weight = op->weight;
	kop->bias = op->bias;
	kop->scale = op->scale;
	kop->shift = op->shift;
}

/*
 * The kernel form of every operation of prog, palloc'd; a linear map's
 * weights are packed once here for the GEMM kernels, since a model's
 * weights are applied to every block of rows of every inference.
 */
GnnKernelOp *
gnn_kernel_ops(const GnnProgram *prog)
{
	GnnKernelOp *kops = palloc(sizeof(GnnKernelOp) * Max(prog->nops, 1));

	for (int i = 0; i < prog->nops; i++)
	{
		gnn_kernel_op_init(&kops[i], prog, &prog->ops[i]);
		if (kops[i].kind == GNN_OP_LINEAR)
			kops[i].packed = gnn_gemm_pack(kops[i].weight, kops[i].w,
										   kops[i].wa, kops[i].bias);
	}
	return kops;
}

/*
 * Edge weights of the in-edges of nodes [lo, hi); y points to the row of
 * edge rowptr[lo]
 */
static inline void
edge_weight(float *y, const GnnKernelEnv *env, const GnnKernelOp *op,
			int64 lo, int64 hi)
{
	const int64 *rowptr = env->rowptr[op->view];
	const float *weight = env->weight[op->view];
	int64		e0 = rowptr[lo];

	for (int64 e = e0; e < rowptr[hi]; e++)
		y[e - e0] = weight ? weight[e] : 1.0f;
	if (GNN_VIEW_MODE(op->view) == GNN_EDGES_ONE_SELF_LOOP)
		for (int64 i = lo; i < hi; i++)
			if (env->fill_loop[op->view][i])
				y[rowptr[i + 1] - 1 - e0] = op->alpha;
}

/*
 * Run op for the target nodes [lo, hi): node outputs are those rows, edge
 * outputs the rows of those nodes' in-edges (contiguous in the CSR).
 */
void
gnn_run_op(const GnnKernelEnv *env, const GnnKernelOp *op, int64 lo, int64 hi)
{
	const int64 *rowptr = env->rowptr[op->view];
	const int32 *src = env->src[op->view];
	int			w = op->w;
	int			wa = op->wa;
	int64		first = op->out_on_edges ? rowptr[lo] : lo;
	int64		n = op->out_on_edges ? rowptr[hi] - rowptr[lo] : hi - lo;

	/*
	 * The registers at row "first": an edge output's first edge, else node
	 * lo.  (A register holds rows from row0 on: a fused block's first node
	 * or edge, or its node type's first node.)
	 */
	float	   *y = env->regs[op->out] + (first - env->row0[op->out]) * w;
	const float *a = op->a >= 0 ?
		env->regs[op->a] + (first - env->row0[op->a]) * wa : NULL;
	const float *b = op->b >= 0 ?
		env->regs[op->b] + (first - env->row0[op->b]) * op->wb : NULL;
	/* whole node registers, for operations that read rows of other nodes */
	const float *abase = op->a >= 0 ? env->regs[op->a] : NULL;
	const float *bbase = op->b >= 0 ? env->regs[op->b] : NULL;

	switch ((GnnOpKind) op->kind)
	{
		case GNN_OP_INPUT:
			break;
		case GNN_OP_EDGE_WEIGHT:
			edge_weight(y, env, op, lo, hi);
			break;
		case GNN_OP_EDGE_ATTR:
			memcpy(y, env->attr[op->view] + first * w, sizeof(float) * n * w);
			break;
		case GNN_OP_GATHER_SRC:
			gnn_k_gather(y, abase, env->row0[op->a], src + first, n, w);
			break;
		case GNN_OP_GATHER_DST:
			gnn_k_gather_dst(y, abase, env->row0[op->a], rowptr, lo, hi, w);
			break;
		case GNN_OP_EDGE_DOT:
			gnn_k_edge_dot(y, abase, env->row0[op->a], bbase, env->row0[op->b],
						   rowptr, src, lo, hi, wa, op->heads);
			break;
		case GNN_OP_LINEAR:
			gnn_gemm_packed(a, n, wa, op->packed, y, w);
			break;
		case GNN_OP_ADD:
			gnn_k_add(y, a, b, n * w);
			break;
		case GNN_OP_MUL:
			gnn_k_scale_heads(y, a, b, n, w, op->wb, false);
			break;
		case GNN_OP_AXPY:
			gnn_k_axpy(y, op->alpha, a, b, n * w);
			break;
		case GNN_OP_AFFINE:
			gnn_k_affine(y, a, op->scale, op->shift, n, w);
			break;
		case GNN_OP_ACT:
			gnn_k_act(y, a, n * w, op->act, op->alpha);
			break;
		case GNN_OP_HEAD_DOT:
			gnn_k_head_dot(y, a, op->weight, n, wa, op->heads);
			break;
		case GNN_OP_HEAD_MEAN:
			gnn_k_head_mean(y, a, n, wa, op->heads);
			break;
		case GNN_OP_L2NORM:
			gnn_k_l2norm(y, a, n, w);
			break;
		case GNN_OP_SOFTMAX:
		case GNN_OP_LOG_SOFTMAX:
			gnn_k_softmax(y, a, n, w, op->kind == GNN_OP_LOG_SOFTMAX);
			break;
		case GNN_OP_CONCAT:
			gnn_k_concat(y, a, b, n, wa, op->wb);
			break;
		case GNN_OP_EQUALS:
			gnn_k_equals(y, a, n * w, op->alpha);
			break;
		case GNN_OP_DIV:
			gnn_k_scale_heads(y, a, b, n, w, op->wb, true);
			break;
		case GNN_OP_EXTREME:
			gnn_k_extreme(y, a, b, n * w, op->aggr == GNN_AGGR_MAX);
			break;
		case GNN_OP_SLICE:
			gnn_k_slice(y, a, n, wa, op->start, w);
			break;
		case GNN_OP_AGGREGATE:
			{
				/* edge rows from the first in-edge of node lo on */
				int64		e0 = rowptr[lo];
				const float *msg = op->a_on_edges ?
					abase + (e0 - env->row0[op->a]) * wa : abase;
				const float *coef = op->b >= 0 ?
					bbase + (e0 - env->row0[op->b]) * op->wb : NULL;

				gnn_k_aggregate(y, msg, op->a_on_edges, env->row0[op->a], coef,
								op->b >= 0 ? op->wb : 0, rowptr, src, lo, hi, w, op->aggr,
								op->aggr_empty);
			}
			break;
		case GNN_OP_EDGE_SOFTMAX:
			gnn_k_edge_softmax(y, a, rowptr, lo, hi, w, op->vector_math);
			break;
	}
}
