/*
 * qc.h — anomaly detection for quality inspection, fitted on good parts only.
 *
 * A detector (hearth_qc) holds a memory bank of patch features of good
 * images (PatchCore-style, reduced by greedy coreset selection) and an alert
 * threshold fitted on good validation images at a chosen false-alarm rate.
 * Scoring an image gives a score (higher = more likely defective; the
 * distance of its most unusual patch to the nearest good patch), a heat map
 * (one score per patch), the region around the worst patch, and the alert
 * (score > threshold).
 *
 * Features are fixed, not learned (see docs/industry.md for why): per
 * pixel, on the grey image normalised to zero mean and unit variance, local
 * means at three scales, band-pass (difference-of-Gaussian) responses and
 * their energy, gradient structure tensor (orientation and strength of
 * texture), fine-texture energy and local variance; sampled every 4 pixels.
 * Each image is first turned / mirrored so that its dominant texture
 * direction is canonical, which makes the detector indifferent to how a
 * part lies under the camera while a patch turned against its surroundings
 * (a pasted piece) still stands out.
 *
 * Files: GGUF, general.architecture "hearth-qc".
 * Threads: a detector is read-only after fitting; hearth_qc_score may be
 * called from several threads at once.
 */
#ifndef HEARTH_QC_H
#define HEARTH_QC_H

#include "hearth/core.h"
#include "hearth/image.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_qc hearth_qc;

typedef struct hearth_qc_params {
    double false_alarm;     /* share of good images allowed over the threshold; 0: 0.01 */
    int bank_size;          /* coreset size (patches kept); 0: 10 % of the patches, at most 16384 */
    double holdout;         /* without validation images: share of good images held out; 0: 0.2 */
    uint64_t seed;
    /* progress: called with a stage name and done/total; may be NULL */
    void (*progress)(const char *stage, int64_t done, int64_t total, void *user);
    void *user;
} hearth_qc_params;

hearth_qc_params hearth_qc_default_params(void);

/* What fitting measured (all on images not in the memory bank). */
typedef struct hearth_qc_fit_report {
    int n_train, n_val_good, n_val_bad;
    int64_t bank_size, n_patches;
    double threshold;
    double val_auroc;        /* -1 without bad validation images */
    double val_f1;           /* at the threshold; -1 without bad validation images */
    double val_false_alarm;  /* share of good validation images over the threshold */
} hearth_qc_fit_report;

/* good: n_good images; val_good / val_bad may be NULL / 0 (then a held-out
 * share of the good images sets the threshold; bad images only measure).
 * All images are converted to grey; sizes may differ (at least 16 x 16). */
hearth_status hearth_qc_fit(const hearth_image *good, int n_good, const hearth_image *val_good, int n_val_good,
                            const hearth_image *val_bad, int n_val_bad, const hearth_qc_params *p,
                            hearth_pool *pool, hearth_qc **out, hearth_qc_fit_report *report);
/* The same from folders: good_dir holds images; val_dir (may be NULL) holds
 * good/ and bad/ sub-folders. A file that is not an image is an error
 * naming it. */
hearth_status hearth_qc_fit_dirs(const char *good_dir, const char *val_dir, const hearth_qc_params *p,
                                 hearth_pool *pool, hearth_qc **out, hearth_qc_fit_report *report);
void hearth_qc_free(hearth_qc *qc);   /* NULL is a no-op */

hearth_status hearth_qc_save(const hearth_qc *qc, const char *path);
hearth_status hearth_qc_load(const char *path, hearth_qc **out);

double hearth_qc_threshold(const hearth_qc *qc);
void hearth_qc_set_threshold(hearth_qc *qc, double t);

typedef struct hearth_qc_result {
    double score;
    bool anomalous;          /* score > threshold */
    int region[4];           /* x, y, w, h in image pixels around the worst patch */
    float *heat;             /* heat_w * heat_h patch scores, row-major (owned; hearth_qc_result_free) */
    int heat_w, heat_h, cell;   /* cell: pixels per heat-map cell */
} hearth_qc_result;

hearth_status hearth_qc_score(const hearth_qc *qc, const hearth_image *img, hearth_qc_result *out);
void hearth_qc_result_free(hearth_qc_result *r);   /* NULL is a no-op */

/* ---- the inspection line ------------------------------------------------ */
/* A one-line caption of a result from a template (no model): where the
 * defect is (upper left ... lower right, from the region), its size, the
 * score against the threshold and the image's name. img_w / img_h: the
 * image's size. Malloc'd, owned by the caller. */
char *hearth_qc_caption(const hearth_qc_result *r, double threshold, const char *image, int img_w, int img_h);

/* Captions written by a vision-language model (LLaVA: a language model and
 * its llama.cpp mmproj encoder). The model sees the image and the result's
 * facts (size, score, threshold, region) followed by the instruction, in its
 * own chat template, and answers greedily (the same image and result give
 * the same caption). One captioner, one thread at a time. */
typedef struct hearth_qc_captioner hearth_qc_captioner;
typedef struct hearth_qc_captioner_params {
    const char *instruction;   /* NULL: "Describe the defect on this part in one sentence." */
    int max_tokens;            /* 0: 48 */
    int n_threads;             /* 0: all online CPUs */
} hearth_qc_captioner_params;
hearth_qc_captioner_params hearth_qc_captioner_default_params(void);
/* Errors name the file: a model or mmproj that does not load, or an mmproj
 * made for another model (its n_embd is not the model's). */
hearth_status hearth_qc_captioner_load(const char *model_path, const char *mmproj_path,
                                       const hearth_qc_captioner_params *p, hearth_qc_captioner **out);
void hearth_qc_captioner_free(hearth_qc_captioner *c);   /* NULL is a no-op */
/* The user's turn the model sees for a result ("<image>\n" + facts +
 * instruction; before the chat template). Malloc'd, owned by the caller. */
char *hearth_qc_captioner_prompt(const hearth_qc_captioner *c, const hearth_qc_result *r, double threshold,
                                 int img_w, int img_h);
/* *out: the model's caption on one line (malloc'd, owned by the caller). */
hearth_status hearth_qc_captioner_caption(hearth_qc_captioner *c, const hearth_image *img, const hearth_qc_result *r,
                                          double threshold, char **out);

/* A shift report from the shift's results: data is {"rows": [{"time":
 * "YYYY-MM-DD HH:MM:SS", "hour": "HH:00", "image", "score", "anomalous",
 * "caption"}...], "columns": [...], "meta": {...}} (as
 * hearth_report_load_data makes); written as HTML, or PDF when path ends in
 * .pdf: counts, defect rate per minute (shifts under two hours) or per
 * hour, score histogram, the defects with their captions. */
hearth_status hearth_qc_shift_report(const void *data /* const cJSON * */, const char *title, const char *path);

/* Area under the ROC curve of scores (label 1 = defective); ties count half. */
double hearth_qc_auroc(const double *scores, const int *labels, int n);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
