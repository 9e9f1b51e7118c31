/*
 * vision_train.h — small image classifiers trained in C: data sets (IDX
 * files of MNIST / Fashion-MNIST, folders of class folders), a CNN and a
 * small ViT, training with AdamW, evaluation, GGUF files.
 *
 * A data set is a block of equally sized 8-bit images (w x h x c,
 * interleaved channels) with one class label each. A network is an opaque
 * handle: created for training (hearth_vnet_create), trained
 * (hearth_vision_train), saved and loaded as GGUF (general.architecture
 * "hearth-vision"), and run on images (hearth_vnet_predict).
 *
 * Errors: bad files give HEARTH_ERR_FORMAT naming the file and what was
 * wrong (bad magic, truncated data, sizes that disagree).
 *
 * Threads: a network handle is used by one thread at a time; the calls
 * that take a pool spread their work over it.
 */
#ifndef HEARTH_VISION_TRAIN_H
#define HEARTH_VISION_TRAIN_H

#include "hearth/core.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ---- data sets --------------------------------------------------------- */
typedef struct hearth_vdata {
    int64_t n;              /* images */
    int w, h, c;            /* every image's size; c = 1 or 3 */
    uint8_t *pixels;        /* n * h * w * c bytes, row-major, channels interleaved (owned) */
    int32_t *labels;        /* n labels in [0, n_classes) (owned) */
    int n_classes;
    char **class_names;     /* n_classes strings (owned; "0".."9" for IDX) */
} hearth_vdata;

/* Reads an IDX image file (magic 0x00000803: u8, 3 dimensions) and its IDX
 * label file (0x00000801); either may be gzip-compressed (.gz or not, the
 * content decides). */
hearth_status hearth_vdata_load_idx(const char *images_path, const char *labels_path, hearth_vdata *out);
/* Reads DIR/<class>/<image> (classes sorted by name; files whose decoding
 * fails are an error naming the file). Every image is converted to
 * `channels` (0: 1 if all are grey, else 3) and must be w x h (0 x 0: the
 * size of the first image). An empty class folder is an error. */
hearth_status hearth_vdata_load_dir(const char *dir, int w, int h, int channels, hearth_vdata *out);
void hearth_vdata_free(hearth_vdata *d);   /* NULL or zeroed: no-op */
/* Keeps the first n images (n >= d->n: nothing changes). */
void hearth_vdata_truncate(hearth_vdata *d, int64_t n);

/* ---- networks ---------------------------------------------------------- */
typedef struct hearth_vnet hearth_vnet;

/* arch: "cnn" (conv 16 - bn - relu - pool - conv 32 - bn - relu - pool -
 * fc 128 - relu - fc), "vit" (4x4 patches, 2 pre-norm transformer blocks
 * of width 64, 4 heads, mean-pooled), or a layer list such as
 * "conv16,bn,relu,pool,fc32,relu,fc" (conv N = 3x3 convolution with N
 * outputs, padding 1; bn = batch norm; ln = layer norm over channels;
 * pool = 2x2 max pooling; gap = global average pooling; fc N = fully
 * connected; the last fc gets n_classes outputs). Weights are drawn from
 * `seed`. */
hearth_status hearth_vnet_create(const char *arch, int w, int h, int c, int n_classes, uint64_t seed,
                                 hearth_vnet **out);
void hearth_vnet_free(hearth_vnet *net);   /* NULL is a no-op */

hearth_status hearth_vnet_save(const hearth_vnet *net, const char *path);
hearth_status hearth_vnet_load(const char *path, hearth_vnet **out);

/* Sets / reads the class names (copied; n must equal n_classes). */
hearth_status hearth_vnet_set_class_names(hearth_vnet *net, char *const *names, int n);
const char *hearth_vnet_class_name(const hearth_vnet *net, int i);   /* borrowed */
void hearth_vnet_shape(const hearth_vnet *net, int *w, int *h, int *c, int *n_classes);
const char *hearth_vnet_arch(const hearth_vnet *net);                 /* borrowed */
int64_t hearth_vnet_n_params(const hearth_vnet *net);

/* Class probabilities of n images (each w*h*c bytes, consecutive) into
 * probs[n * n_classes]. */
hearth_status hearth_vnet_predict(hearth_vnet *net, hearth_pool *pool, const uint8_t *images, int64_t n,
                                  float *probs);

/* Accuracy on a data set: correct[n_classes] and total[n_classes] are
 * filled (both may be NULL); returns the overall accuracy in *accuracy. */
hearth_status hearth_vnet_evaluate(hearth_vnet *net, hearth_pool *pool, const hearth_vdata *d, double *accuracy,
                                   int64_t *correct, int64_t *total);

/* ---- training ---------------------------------------------------------- */
typedef struct hearth_vtrain_progress {
    int epoch, epochs;          /* 1-based current epoch */
    int64_t step, steps;        /* optimizer steps done / planned */
    double loss;                /* mean training loss over the last steps */
    double elapsed_s;
    double val_accuracy;        /* after each epoch when a validation set is given; else -1 */
} hearth_vtrain_progress;

typedef struct hearth_vtrain_params {
    int epochs;                 /* 0: 5 */
    int batch;                  /* 0: 64 */
    float lr;                   /* peak learning rate; 0: 2e-3 (cnn), 1e-3 (vit) */
    float weight_decay;         /* AdamW decoupled weight decay; default 5e-4... see .c */
    int warmup_steps;           /* linear warm-up, then cosine decay to lr/50 */
    bool flip;                  /* random horizontal flips */
    int crop;                   /* random shifts up to +-crop pixels (padded crops); 0: none */
    float brightness;           /* random gain in [1-b, 1+b]; 0: none */
    uint64_t seed;
    double time_limit_s;        /* > 0: stop after this much training time (checked per step) */
    const char *checkpoint;     /* path written after every epoch (model + optimizer); NULL: none */
    bool resume;                /* start from `checkpoint` when it exists */
    const hearth_vdata *val;    /* optional: accuracy reported after each epoch */
    /* called every few steps and after each epoch; return false to stop */
    bool (*progress)(const hearth_vtrain_progress *p, void *user);
    void *user;
} hearth_vtrain_params;

hearth_vtrain_params hearth_vtrain_default_params(void);

/* Trains net on d (labels must be < the net's n_classes; image size must
 * match). Stopped by the progress callback: HEARTH_ERR_CANCELLED, the
 * weights so far kept. */
hearth_status hearth_vision_train(hearth_vnet *net, hearth_pool *pool, const hearth_vdata *d,
                                  const hearth_vtrain_params *p);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
