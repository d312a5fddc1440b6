/*-------------------------------------------------------------------------
 *
 * scan.h
 *	  GnnScan, the custom scan node of gnn_infer().
 *
 *-------------------------------------------------------------------------
 */
#ifndef GNN_SCAN_H
#define GNN_SCAN_H

extern void gnn_scan_init(void);

#endif							/* GNN_SCAN_H */
