/*
 * vision_train.c — the training loop of the vision trainer: shuffled
 * mini-batches with augmentation (flips, shifted crops, brightness),
 * softmax cross-entropy, AdamW with a linear warm-up and a cosine decay,
 * checkpoints after every epoch, progress through a callback.
 */
#include "train/vision_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

hearth_vtrain_params hearth_vtrain_default_params(void) {
    hearth_vtrain_params p;
    memset(&p, 0, sizeof p);
    p.epochs = 0;   /* 5 */
    p.batch = 0;    /* 64 */
    p.lr = 0.0f;    /* by architecture */
    p.weight_decay = 0.05f;
    p.warmup_steps = 100;
    p.flip = true;
    p.crop = 1;
    p.brightness = 0.1f;
    p.seed = 1;
    return p;
}

/* ---- augmentation --------------------------------------------------------- */

/* one training image: bytes (H, W, C) -> normalised floats (C, H, W), with
 * a random horizontal flip, a shift of up to +-crop pixels (zero padded) and
 * a brightness gain */
static void augment(const hearth_vnet *net, const hearth_vtrain_params *p, float *dst, const uint8_t *src,
                    uint8_t *tmp, uint64_t *rng) {
    int W, H, C;
    hearth_vnet_shape(net, &W, &H, &C, NULL);
    bool flip = p->flip && (vrng_next(rng) & 1);
    int dx = 0, dy = 0;
    if (p->crop > 0) {
        dx = (int)(vrng_next(rng) % (uint64_t)(2 * p->crop + 1)) - p->crop;
        dy = (int)(vrng_next(rng) % (uint64_t)(2 * p->crop + 1)) - p->crop;
    }
    float gain = p->brightness > 0 ? 1.0f + p->brightness * (float)(2.0 * vrng_uniform(rng) - 1.0) : 1.0f;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sy = y + dy, sx0 = x + dx;
            int sx = flip ? W - 1 - sx0 : sx0;
            for (int c = 0; c < C; c++) {
                float v = 0.0f;
                if (sy >= 0 && sy < H && sx0 >= 0 && sx0 < W) v = src[((size_t)sy * W + sx) * C + c] * gain;
                tmp[((size_t)y * W + x) * C + c] = (uint8_t)(v > 255.0f ? 255.0f : v + 0.5f);
            }
        }
    vnet_normalise(net, dst, tmp);
}

/* ---- AdamW ------------------------------------------------------------------ */

typedef struct adamw {
    hearth_vnet *net;
    float *m, *v;
    float lr, wd, b1c, b2c;   /* bias corrections 1 - beta^t */
} adamw;

static void adamw_worker(void *arg, int ith, int nth) {
    adamw *A = arg;
    int64_t n = hearth_vnet_n_params(A->net), r0, r1;
    hearth_split_rows(n, ith, nth, &r0, &r1);
    float *w = vnet_params(A->net), *g = vnet_grads(A->net);
    const uint8_t *decay = vnet_decay_mask(A->net);
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (int64_t i = r0; i < r1; i++) {
        A->m[i] = b1 * A->m[i] + (1.0f - b1) * g[i];
        A->v[i] = b2 * A->v[i] + (1.0f - b2) * g[i] * g[i];
        float mh = A->m[i] / A->b1c, vh = A->v[i] / A->b2c;
        w[i] -= A->lr * (mh / (sqrtf(vh) + eps) + (decay[i] ? A->wd * w[i] : 0.0f));
    }
}

static float lr_at(float peak, int warmup, int64_t step, int64_t steps) {
    if (warmup > 0 && step < warmup) return peak * (float)(step + 1) / (float)warmup;
    double t = steps > warmup ? (double)(step - warmup) / (double)(steps - warmup) : 1.0;
    if (t > 1.0) t = 1.0;
    double lo = peak / 50.0;
    return (float)(lo + 0.5 * (peak - lo) * (1.0 + cos(3.141592653589793 * t)));
}

/* ---- the loop ------------------------------------------------------------------- */

static bool file_exists(const char *p) {
    struct stat sb;
    return p && stat(p, &sb) == 0;
}

hearth_status hearth_vision_train(hearth_vnet *net, hearth_pool *pool, const hearth_vdata *d,
                                  const hearth_vtrain_params *pin) {
    hearth_vtrain_params p = pin ? *pin : hearth_vtrain_default_params();
    int W, H, C, K;
    hearth_vnet_shape(net, &W, &H, &C, &K);
    if (d->w != W || d->h != H || d->c != C)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision train: images are %dx%dx%d, the model wants %dx%dx%d",
                                d->w, d->h, d->c, W, H, C);
    if (d->n < 1) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision train: no images");
    for (int64_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= K)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "vision train: image %lld has label %d, the model has %d classes",
                                    (long long)i, d->labels[i], K);
    if (p.epochs <= 0) p.epochs = 5;
    if (p.batch <= 0) p.batch = 64;
    if (p.batch > d->n) p.batch = (int)d->n;
    if (p.lr <= 0) p.lr = !strcmp(hearth_vnet_arch(net), "vit") ? 1e-3f : 2e-3f;

    int64_t n_params = hearth_vnet_n_params(net);
    size_t in_n = (size_t)W * H * C;
    int64_t per_epoch = d->n / p.batch;
    int64_t steps = per_epoch * p.epochs, step = 0;
    int epoch0 = 0;
    hearth_status st = HEARTH_OK;

    float *m = NULL, *v = NULL;
    if (p.resume && file_exists(p.checkpoint)) {
        hearth_vnet *ck = NULL;
        int ep = 0;
        st = vnet_load_ex(p.checkpoint, &ck, &m, &v, &step, &ep);
        if (st) return st;
        if (hearth_vnet_n_params(ck) != n_params) {
            hearth_vnet_free(ck);
            free(m), free(v);
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: checkpoint of another architecture", p.checkpoint);
        }
        vnet_copy_state(net, ck);
        hearth_vnet_free(ck);
        epoch0 = ep;
    } else {
        /* input normalisation from the data (first 10,000 images) */
        int64_t nn = d->n < 10000 ? d->n : 10000;
        double s = 0, s2 = 0;
        size_t cnt = (size_t)nn * in_n;
        for (size_t i = 0; i < cnt; i++) {
            double x = d->pixels[i] / 255.0;
            s += x, s2 += x * x;
        }
        double mean = s / (double)cnt, var = s2 / (double)cnt - mean * mean;
        vnet_set_norm(net, (float)mean, (float)sqrt(var > 1e-12 ? var : 1.0));
    }
    if (!m) m = calloc((size_t)n_params, sizeof(float));
    if (!v) v = calloc((size_t)n_params, sizeof(float));
    int64_t *order = malloc((size_t)d->n * sizeof(int64_t));
    float *x = malloc((size_t)p.batch * in_n * sizeof(float));
    float *logits = malloc((size_t)p.batch * K * sizeof(float));
    float *dlogits = malloc((size_t)p.batch * K * sizeof(float));
    float *probs = malloc((size_t)K * sizeof(float));
    uint8_t *tmp = malloc(in_n);
    if (!m || !v || !order || !x || !logits || !dlogits || !probs || !tmp) {
        st = HEARTH_ERR_NOMEM;
        goto done;
    }
    uint64_t rng = p.seed * 0x9E3779B97F4A7C15ull + 7;
    double t0 = hearth_time_s(), loss_sum = 0, last_loss = 0;
    int loss_n = 0;
    adamw A = {.net = net, .m = m, .v = v, .wd = p.weight_decay};
    for (int epoch = epoch0; epoch < p.epochs && !st; epoch++) {
        uint64_t erng = rng ^ ((uint64_t)(epoch + 1) * 0xD1B54A32D192ED03ull);
        for (int64_t i = 0; i < d->n; i++) order[i] = i;
        for (int64_t i = d->n - 1; i > 0; i--) {
            int64_t j = (int64_t)(vrng_next(&erng) % (uint64_t)(i + 1));
            int64_t t = order[i];
            order[i] = order[j], order[j] = t;
        }
        for (int64_t bi = 0; bi < per_epoch && !st; bi++) {
            int B = p.batch;
            for (int b = 0; b < B; b++)
                augment(net, &p, x + (size_t)b * in_n, d->pixels + (size_t)order[bi * B + b] * in_n, tmp, &erng);
            if ((st = vnet_forward(net, pool, x, B, true, logits))) break;
            for (int b = 0; b < B; b++) {
                int y = d->labels[order[bi * B + b]];
                loss_sum += vop_xent(dlogits + (size_t)b * K, probs, logits + (size_t)b * K, y, K, 1.0f / B);
            }
            loss_n += B;
            vnet_zero_grad(net);
            if ((st = vnet_backward(net, pool, dlogits, B))) break;
            step++;
            A.lr = lr_at(p.lr, p.warmup_steps, step - 1, steps);
            A.b1c = 1.0f - powf(0.9f, (float)step);
            A.b2c = 1.0f - powf(0.999f, (float)step);
            hearth_pool_run(pool, adamw_worker, &A);
            double el = hearth_time_s() - t0;
            bool out_of_time = p.time_limit_s > 0 && el >= p.time_limit_s;
            if (p.progress && (step % 20 == 0 || out_of_time)) {
                last_loss = loss_sum / (loss_n ? loss_n : 1);
                hearth_vtrain_progress pr = {epoch + 1, p.epochs, step, steps, last_loss, el, -1};
                loss_sum = 0, loss_n = 0;
                if (!p.progress(&pr, p.user)) st = hearth_set_error(HEARTH_ERR_CANCELLED, "vision train: stopped");
            }
            if (out_of_time) {
                epoch = p.epochs;   /* stop after this step */
                break;
            }
        }
        if (st) break;
        int ep_done = epoch >= p.epochs ? p.epochs : epoch + 1;
        double acc = -1;
        if (p.val && (st = hearth_vnet_evaluate(net, pool, p.val, &acc, NULL, NULL))) break;
        if (p.checkpoint && (st = vnet_save_ex(net, p.checkpoint, m, v, step, ep_done))) break;
        if (p.progress) {
            if (loss_n) last_loss = loss_sum / loss_n;
            hearth_vtrain_progress pr = {ep_done, p.epochs, step, steps, last_loss, hearth_time_s() - t0, acc};
            if (!p.progress(&pr, p.user)) st = hearth_set_error(HEARTH_ERR_CANCELLED, "vision train: stopped");
        }
    }
done:
    free(m), free(v), free(order), free(x), free(logits), free(dlogits), free(probs), free(tmp);
    return st;
}
