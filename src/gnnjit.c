/*-------------------------------------------------------------------------
 *
 * gnnjit.c
 *	  Module entry point and settings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "gnnjit.h"

PG_MODULE_MAGIC;

int			gnn_max_memory_kb = 4 * 1024 * 1024;

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

	MarkGUCPrefixReserved("gnnjit");
}
