/*-------------------------------------------------------------------------
 *
 * lowerctx.h
 *	  What the lowering of spec layers shares: the running state, spec
 *	  argument and tensor access, and emitting operations.
 *
 * lower.c lowers PyG's layer types; userprog.c lowers layers written by
 * the user as module programs.  Both emit the same operations through the
 * functions below.  Errors are returned (false), not raised: this code
 * also builds outside the server, for fuzzing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_LOWERCTX_H
#define GNN_LOWERCTX_H

#include "lower.h"

#include "lib/stringinfo.h"

/* A named tensor of the module programs (userprog.c) */
typedef struct LowerName
{
	const char *name;
	int			reg;
	int			layer;			/* the spec layer that defined it */
} LowerName;

/* A weight converted to float32 */
typedef struct LowerTensor
{
	const GnnTensorInfo *info;
	float	   *data;
} LowerTensor;

typedef struct LowerCtx
{
	GnnProgramBuilder b;
	const GnnSafetensors *st;
	GnnError   *err;
	int			cur;			/* register holding the running value */
	int			width;			/* its width; -1 until a layer fixes it */
	int			cur_type;		/* its node type */

	/*
	 * A message-passing layer on a bipartite edge type (heterogeneous
	 * graphs) reads its messages from the source type's value: src_cur,
	 * src_width, src_type; src_cur is -1 when sources and targets are the
	 * running value.  etype is the edge type the layer passes messages on.
	 */
	int			src_cur;
	int			src_width;
	int			src_type;
	int			etype;
	int			input_width;	/* the model's input width, once known */
	char		where[64];		/* "layers[2]" for messages */
	int			depth;			/* nesting (GINConv nn) */
	int			nnames;			/* named tensors of module programs */
	int			maxnames;
	LowerName  *names;
	int			nconverted;		/* weights converted so far */
	int			maxconverted;
	LowerTensor *converted;
} LowerCtx;

typedef struct LayerArgs
{
	const GnnJson *json;
	const char *type;
	const char *prefix;
} LayerArgs;

/* spec arguments */
extern bool lw_spec_error(LowerCtx *ctx, const char *fmt, const char *a,
						  const char *b);
extern bool lw_check_keys(LowerCtx *ctx, const LayerArgs *la,
						  const char *const *allowed);
extern bool lw_arg_number(LowerCtx *ctx, const LayerArgs *la, const char *key,
						  double dflt, double *out);
extern bool lw_arg_int(LowerCtx *ctx, const LayerArgs *la, const char *key,
					   int dflt, int *out);
extern bool lw_arg_bool(LowerCtx *ctx, const LayerArgs *la, const char *key,
						bool dflt, bool *out);
extern bool lw_arg_string(LowerCtx *ctx, const LayerArgs *la, const char *key,
						  const char *dflt, const char **out);

/* tensors */
extern char *lw_tensor_name(const LayerArgs *la, const char *param);
extern bool lw_get_tensor(LowerCtx *ctx, const LayerArgs *la, const char *param,
						  bool optional, int ndims, const int64 *shape,
						  const float **out);
extern const GnnTensorInfo *lw_peek_tensor(LowerCtx *ctx, const LayerArgs *la,
										   const char *param);
extern bool lw_take_width(LowerCtx *ctx, const LayerArgs *la, int width);
extern bool lw_take_src_width(LowerCtx *ctx, const LayerArgs *la, int width);
extern int	lw_src(const LowerCtx *ctx);
extern int	lw_view(const LowerCtx *ctx, GnnEdgeView mode);
extern int	lw_reg_where(const GnnReg *reg);
extern bool lw_lower_layer(LowerCtx *ctx, const LayerArgs *la);

/* hetero.c: a model over node and edge types */
extern bool gnn_lower_hetero(LowerCtx *ctx, const GnnJson *spec);

/* emitting operations; each returns the register written */
extern int	lw_emit_linear(LowerCtx *ctx, int a, const float *w,
						   const float *bias, int out);
extern int	lw_emit_unary(LowerCtx *ctx, GnnOpKind kind, int a, int width);
extern int	lw_emit_act(LowerCtx *ctx, int a, GnnAct act, float alpha);
extern int	lw_emit_binary(LowerCtx *ctx, GnnOpKind kind, int a, int b,
						   int heads);
extern int	lw_emit_bias(LowerCtx *ctx, int a, const float *bias);
extern int	lw_emit_gather(LowerCtx *ctx, GnnOpKind kind, int a, int view);
extern int	lw_emit_edge_dot(LowerCtx *ctx, int a, int b, int view, int heads);
extern int	lw_emit_edge_weight(LowerCtx *ctx, int view, float loop_fill);
extern int	lw_emit_head_dot(LowerCtx *ctx, int a, const float *att, int heads);
extern int	lw_emit_aggregate(LowerCtx *ctx, int msg, int coef, GnnAggr aggr,
							  int view, int heads);
extern int	lw_emit_affine(LowerCtx *ctx, int a, const float *scale,
						   const float *shift);

/* userprog.c: a layer written as a module program */
extern bool gnn_lower_program(LowerCtx *ctx, const LayerArgs *la, int layer);

/* userprog.c: the module program of a built-in layer, as JSON text */
typedef struct LowerModules
{
	StringInfoData buf;
	int			n;
} LowerModules;

extern void lw_modules_begin(LowerModules *m);
extern void lw_module(LowerModules *m, const char *fmt,...) pg_attribute_printf(2, 3);
extern bool lw_lower_modules(LowerCtx *ctx, const LayerArgs *la,
							 LowerModules *m, int in, const char *output,
							 bool one_loop, float loop_fill);

#endif							/* GNN_LOWERCTX_H */
