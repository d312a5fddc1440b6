/*-------------------------------------------------------------------------
 *
 * gnnjit.c
 *	  Module entry point and settings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "codegen.h"
#include "dist.h"
#include "gnnjit.h"
#include "scan.h"

PG_MODULE_MAGIC;

int			gnn_max_memory_kb = 4 * 1024 * 1024;
bool		gnn_enable_scan = true;
int			gnn_pruning = GNN_PRUNING_AUTO;

static const struct config_enum_entry pruning_options[] = {
	{"auto", GNN_PRUNING_AUTO, false},
	{"on", GNN_PRUNING_ON, false},
	{"off", GNN_PRUNING_OFF, false},
	{NULL, 0, false}
};
bool		gnn_jit_enabled = true;
double		gnn_jit_above_cost = 1e9;
bool		gnn_jit_fusion = true;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("gnnjit.max_memory",
							"Most memory one inference may use for the graph and layer values.",
							"An inference whose estimate exceeds this fails before allocating.",
							&gnn_max_memory_kb,
							4 * 1024 * 1024,
							1024,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("gnnjit.enable_scan",
							 "Plan gnn_infer() in FROM as a GnnScan custom scan.",
							 "Off: a plain function scan, which runs the same engine "
							 "but materialises every row first.",
							 &gnn_enable_scan,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("gnnjit.pruning",
							 "When a query selects nodes, compute only their receptive field.",
							 "auto chooses by the estimated size of the field; on and off force it.",
							 &gnn_pruning,
							 GNN_PRUNING_AUTO,
							 pruning_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("gnnjit.jit",
							 "Compile models to native code with PostgreSQL's LLVM JIT.",
							 "Needs PostgreSQL's jit to be on and its llvmjit provider installed; "
							 "without them the portable kernels run, with the same results.",
							 &gnn_jit_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("gnnjit.jit_above_cost",
							 "Compile a model only when an inference costs more than this.",
							 "The cost is the inference's estimated floating-point operations; "
							 "cheaper inferences run the portable kernels, skipping compilation.",
							 &gnn_jit_above_cost,
							 1e9,
							 0,
							 DBL_MAX,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("gnnjit.jit_fusion",
							 "Run compiled code in fused blocks of nodes.",
							 "Consecutive operations whose intermediate values stay inside "
							 "them run block by block, so those values stay in cache.",
							 &gnn_jit_fusion,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("gnnjit.shard_timeout",
							"Longest a shard may take to answer one request of a distributed inference.",
							"A shard that takes longer is cancelled and the inference fails, "
							"naming it.  0 waits without limit (statement_timeout still applies).",
							&gnn_shard_timeout_ms,
							0,
							0,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("gnnjit");

	gnn_scan_init();
	gnn_jit_read_template();
}
