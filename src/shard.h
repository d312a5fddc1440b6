/*-------------------------------------------------------------------------
 *
 * shard.h
 *	  The shard's side of a distributed inference (see shard.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_SHARD_H
#define GNN_SHARD_H

extern int	gnn_shard_of(int64 id, int modulus);

#endif							/* GNN_SHARD_H */
