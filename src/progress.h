/*-------------------------------------------------------------------------
 *
 * progress.h
 *	  Progress of running inferences, for the gnn_stat_progress view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_PROGRESS_H
#define GNN_PROGRESS_H

typedef enum GnnPhase
{
	GNN_PHASE_READING_NODES = 1,
	GNN_PHASE_READING_EDGES,
	GNN_PHASE_COMPUTING,
	GNN_PHASE_RETURNING
} GnnPhase;

extern void gnn_progress_begin(const char *model, Oid nodes, int nlayers);
extern void gnn_progress_phase(GnnPhase phase, int64 total);
extern void gnn_progress_layer(int layer, int64 done);
extern void gnn_progress_done(int64 done);
extern void gnn_progress_end(void);

#endif							/* GNN_PROGRESS_H */
