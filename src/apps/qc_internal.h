/*
 * qc_internal.h — pieces of the quality-inspection detector shared by
 * src/apps/qc*.c. Not API.
 */
#ifndef HEARTH_QC_INTERNAL_H
#define HEARTH_QC_INTERNAL_H

#include "hearth/qc.h"

#define QC_MAPS_PIXEL 13  /* feature maps per pixel */
#define QC_MAPS 17        /* values per cell: the maps' means, the fine band-pass's min and max, the finest
                             energy's min, edge ring */
#define QC_RING 16        /* the value that says how far the cell is from the edge */
#define QC_RING_WEIGHT 10.0f   /* its weight in distances: edge cells match edge cells */
#define QC_CELL 4         /* pixels per cell side: one feature vector per cell */
#define QC_FEATURES_VERSION 1

/* how an image was turned into its canonical frame */
typedef struct qc_frame {
    int w, h;             /* original size */
    bool transposed, flipped;
} qc_frame;

/* feature vectors (gw * gh cells, QC_MAPS floats each, row-major over
 * cells of the canonical frame); *feat malloc'd, owned by the caller */
hearth_status qc_features(const hearth_image *img, float **feat, int *gw, int *gh, qc_frame *fr);
/* a box in the canonical frame (pixels) -> x, y, w, h in the original image */
void qc_frame_to_image(const qc_frame *fr, int cx, int cy, int cw, int ch, int box[4]);

#endif
