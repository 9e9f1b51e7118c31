/*
 * qc.c — the quality-inspection detector: fitting (memory bank of good
 * patch features, greedy coreset, threshold at a false-alarm rate on good
 * validation images), scoring (nearest-neighbour distance per patch, heat
 * map, region), GGUF files, AUROC.
 */
#include "apps/qc_internal.h"

#include "core/buf.h"
#include "hearth/gguf.h"
#include "hearth/types.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* the last error's message with a prefix (the message is copied first: it lives in the buffer that
 * hearth_set_error writes) */
static hearth_status error_with(hearth_status st, const char *prefix) {
    char m[768];
    snprintf(m, sizeof m, "%s", hearth_last_error());
    return hearth_set_error(st, "%s: %s", prefix, m);
}

struct hearth_qc {
    int64_t n_bank;          /* vectors in the memory bank */
    float *bank;             /* n_bank * QC_MAPS, standardised */
    float mean[QC_MAPS], inv_std[QC_MAPS];
    double threshold, false_alarm;
};

hearth_qc_params hearth_qc_default_params(void) {
    hearth_qc_params p;
    memset(&p, 0, sizeof p);
    p.false_alarm = 0.01;
    p.holdout = 0.2;
    p.seed = 1;
    return p;
}

void hearth_qc_free(hearth_qc *qc) {
    if (!qc) return;
    free(qc->bank);
    free(qc);
}

double hearth_qc_threshold(const hearth_qc *qc) { return qc->threshold; }
void hearth_qc_set_threshold(hearth_qc *qc, double t) { qc->threshold = t; }

void hearth_qc_result_free(hearth_qc_result *r) {
    if (!r) return;
    free(r->heat);
    r->heat = NULL;
}

/* ---- AUROC -------------------------------------------------------------------- */

typedef struct scored {
    double s;
    int label;
} scored;

static int cmp_scored(const void *a, const void *b) {
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? -1 : x > y;
}

double hearth_qc_auroc(const double *scores, const int *labels, int n) {
    scored *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return -1;
    int64_t npos = 0, nneg = 0;
    for (int i = 0; i < n; i++) {
        v[i] = (scored){scores[i], labels[i] ? 1 : 0};
        npos += v[i].label, nneg += !v[i].label;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_scored);
    /* Mann-Whitney U with mid-ranks for ties */
    double rank_sum = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double mid = (i + 1 + j) / 2.0;
        for (int k = i; k < j; k++)
            if (v[k].label) rank_sum += mid;
        i = j;
    }
    free(v);
    if (!npos || !nneg) return -1;
    return (rank_sum - npos * (npos + 1) / 2.0) / ((double)npos * nneg);
}

/* ---- scoring ------------------------------------------------------------------------ */

typedef struct nn_job {
    const hearth_qc *qc;
    const float *q;          /* n queries, standardised */
    int64_t n;
    float *out;              /* distance to the nearest bank vector */
} nn_job;

static float nearest(const hearth_qc *qc, const float *q) {
    float best = INFINITY;
    const float *b = qc->bank;
    for (int64_t j = 0; j < qc->n_bank; j++, b += QC_MAPS) {
        float d = 0;
        for (int k = 0; k < QC_MAPS; k++) {
            float t = q[k] - b[k];
            d += t * t;
        }
        best = d < best ? d : best;
    }
    return sqrtf(best);
}

static void nn_worker(void *arg, int ith, int nth) {
    nn_job *J = arg;
    int64_t r0, r1;
    hearth_split_rows(J->n, ith, nth, &r0, &r1);
    for (int64_t i = r0; i < r1; i++) J->out[i] = nearest(J->qc, J->q + i * QC_MAPS);
}

static void standardise(const hearth_qc *qc, float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < QC_MAPS; k++) v[i * QC_MAPS + k] = (v[i * QC_MAPS + k] - qc->mean[k]) * qc->inv_std[k];
}

/* score of one image with an optional pool (NULL inside fitting's own workers) */
static hearth_status score_image(const hearth_qc *qc, const hearth_image *img, hearth_pool *pool,
                                 hearth_qc_result *r) {
    memset(r, 0, sizeof *r);
    float *f = NULL;
    int gw, gh;
    qc_frame fr;
    hearth_status st = qc_features(img, &f, &gw, &gh, &fr);
    if (st) return st;
    int64_t n = (int64_t)gw * gh;
    standardise(qc, f, n);
    float *d = malloc((size_t)n * sizeof(float)), *heat = malloc((size_t)n * sizeof(float));
    if (!d || !heat) {
        free(f), free(d), free(heat);
        return HEARTH_ERR_NOMEM;
    }
    nn_job J = {qc, f, n, d};
    hearth_pool_run(pool, nn_worker, &J);
    free(f);
    /* image score: the worst cell */
    int64_t arg = 0;
    for (int64_t i = 1; i < n; i++)
        if (d[i] > d[arg]) arg = i;
    r->score = d[arg];
    r->anomalous = r->score > qc->threshold;
    /* region: the 8-connected cells around the worst one scoring at least half way from the median to it */
    float *sorted = malloc((size_t)n * sizeof(float));
    uint8_t *in = calloc((size_t)n, 1);
    int64_t *stack = malloc((size_t)n * sizeof(int64_t));
    if (!sorted || !in || !stack) {
        free(sorted), free(in), free(stack), free(d), free(heat);
        return HEARTH_ERR_NOMEM;
    }
    memcpy(sorted, d, (size_t)n * sizeof(float));
    for (int64_t i = 1; i < n; i++)   /* insertion sort is fine for a few hundred cells; median only */
        for (int64_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            float t = sorted[j];
            sorted[j] = sorted[j - 1], sorted[j - 1] = t;
        }
    float med = sorted[n / 2], cut = med + 0.5f * (d[arg] - med);
    int x0 = gw, y0 = gh, x1 = -1, y1 = -1;
    int64_t sp = 0;
    stack[sp++] = arg;
    in[arg] = 1;
    while (sp) {
        int64_t c = stack[--sp];
        int cx = (int)(c % gw), cy = (int)(c / gw);
        x0 = cx < x0 ? cx : x0, x1 = cx > x1 ? cx : x1, y0 = cy < y0 ? cy : y0, y1 = cy > y1 ? cy : y1;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int nx = cx + dx, ny = cy + dy;
                if (nx < 0 || ny < 0 || nx >= gw || ny >= gh) continue;
                int64_t k = (int64_t)ny * gw + nx;
                if (!in[k] && d[k] >= cut) {
                    in[k] = 1;
                    stack[sp++] = k;
                }
            }
    }
    qc_frame_to_image(&fr, x0 * QC_CELL, y0 * QC_CELL, (x1 - x0 + 1) * QC_CELL, (y1 - y0 + 1) * QC_CELL, r->region);
    /* heat map in the image's own orientation */
    int CW = gw;
    int hw = fr.transposed ? gh : gw, hh = fr.transposed ? gw : gh;
    for (int cy = 0; cy < gh; cy++)
        for (int cx = 0; cx < gw; cx++) {
            int ux = fr.flipped ? CW - 1 - cx : cx;   /* undo the flip */
            int ox = fr.transposed ? cy : ux, oy = fr.transposed ? ux : cy;
            heat[(size_t)oy * hw + ox] = d[(size_t)cy * gw + cx];
        }
    r->heat = heat;
    r->heat_w = hw, r->heat_h = hh, r->cell = QC_CELL;
    free(sorted), free(in), free(stack), free(d);
    return HEARTH_OK;
}

hearth_status hearth_qc_score(const hearth_qc *qc, const hearth_image *img, hearth_qc_result *out) {
    return score_image(qc, img, NULL, out);
}

/* ---- fitting ---------------------------------------------------------------------------- */

typedef struct feat_job {
    const hearth_image *imgs;
    int n;
    float **feat;
    int *ncell;
    hearth_status *st;
} feat_job;

static void feat_worker(void *arg, int ith, int nth) {
    feat_job *J = arg;
    for (int i = ith; i < J->n; i += nth) {
        int gw, gh;
        qc_frame fr;
        J->st[i] = qc_features(&J->imgs[i], &J->feat[i], &gw, &gh, &fr);
        J->ncell[i] = gw * gh;
    }
}

typedef struct kc_job {
    const float *x;          /* all patches */
    int64_t n;
    float *mind;             /* squared distance to the chosen set */
    const float *c;          /* the newly chosen centre */
    int64_t best[64];
    float bestd[64];
} kc_job;

static void kc_worker(void *arg, int ith, int nth) {
    kc_job *J = arg;
    int64_t r0, r1;
    hearth_split_rows(J->n, ith, nth, &r0, &r1);
    int64_t b = -1;
    float bd = -1;
    for (int64_t i = r0; i < r1; i++) {
        const float *v = J->x + i * QC_MAPS;
        float d = 0;
        for (int k = 0; k < QC_MAPS; k++) {
            float t = v[k] - J->c[k];
            d += t * t;
        }
        if (d < J->mind[i]) J->mind[i] = d;
        if (J->mind[i] > bd) bd = J->mind[i], b = i;
    }
    J->best[ith] = b;
    J->bestd[ith] = bd;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the (1 - fa) quantile of n good scores, interpolated; above every score when fa * n < 1 would
 * otherwise put it at the maximum (a margin of the spread of the top scores) */
static double fit_threshold(double *s, int n, double fa) {
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    double pos = (1.0 - fa) * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return s[n - 1];
    return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

hearth_status hearth_qc_fit(const hearth_image *good, int n_good, const hearth_image *val_good, int n_val_good,
                            const hearth_image *val_bad, int n_val_bad, const hearth_qc_params *pin,
                            hearth_pool *pool, hearth_qc **out, hearth_qc_fit_report *rep) {
    *out = NULL;
    hearth_qc_params p = pin ? *pin : hearth_qc_default_params();
    if (p.false_alarm <= 0 || p.false_alarm >= 1) p.false_alarm = 0.01;
    if (p.holdout <= 0 || p.holdout >= 1) p.holdout = 0.2;
    /* without validation images, the last share of the good ones sets the threshold */
    const hearth_image *vg = val_good;
    int nvg = n_val_good, ntr = n_good;
    if (!vg || nvg == 0) {
        nvg = (int)ceil(n_good * p.holdout);
        if (nvg < 1) nvg = 1;
        ntr = n_good - nvg;
        vg = good + ntr;
    }
    if (ntr < 1) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "qc fit: needs good images to fit on (got %d)", n_good);

    hearth_qc *qc = calloc(1, sizeof *qc);
    float **feat = calloc((size_t)ntr, sizeof(float *));
    int *ncell = calloc((size_t)ntr, sizeof(int));
    hearth_status *sts = calloc((size_t)ntr, sizeof(hearth_status));
    float *all = NULL, *mind = NULL;
    double *sg = NULL, *sb = NULL;
    hearth_status st = HEARTH_OK;
    if (!qc || !feat || !ncell || !sts) {
        st = HEARTH_ERR_NOMEM;
        goto done;
    }
    qc->false_alarm = p.false_alarm;
    if (p.progress) p.progress("features", 0, ntr, p.user);
    feat_job FJ = {good, ntr, feat, ncell, sts};
    hearth_pool_run(pool, feat_worker, &FJ);
    int64_t N = 0;
    for (int i = 0; i < ntr; i++) {
        if (sts[i]) {
            {
                char pre[64];
                snprintf(pre, sizeof pre, "qc fit: good image %d", i);
                float *f = NULL;
                int gw, gh;
                qc_frame fr;
                qc_features(&good[i], &f, &gw, &gh, &fr);   /* again on this thread, for the message */
                free(f);
                st = error_with(sts[i], pre);
            }
            goto done;
        }
        N += ncell[i];
    }
    all = malloc((size_t)N * QC_MAPS * sizeof(float));
    if (!all) {
        st = HEARTH_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0, o = 0; i < ntr; i++) {
        memcpy(all + o * QC_MAPS, feat[i], (size_t)ncell[i] * QC_MAPS * sizeof(float));
        o += ncell[i];
    }
    /* standardisation over all good patches */
    for (int k = 0; k < QC_MAPS; k++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < N; i++) s += all[i * QC_MAPS + k], s2 += (double)all[i * QC_MAPS + k] * all[i * QC_MAPS + k];
        double m = s / N, v = s2 / N - m * m;
        qc->mean[k] = (float)m;
        qc->inv_std[k] = (float)(1.0 / sqrt(v > 1e-12 ? v : 1e-12));
    }
    qc->mean[QC_RING] = 0.0f;
    qc->inv_std[QC_RING] = QC_RING_WEIGHT;
    standardise(qc, all, N);
    /* greedy k-centre coreset: each new centre is the patch farthest from those chosen */
    int64_t K = p.bank_size > 0 ? p.bank_size : N / 10;
    if (K > 16384) K = 16384;
    if (K < 1) K = 1;
    if (K > N) K = N;
    qc->bank = malloc((size_t)K * QC_MAPS * sizeof(float));
    mind = malloc((size_t)N * sizeof(float));
    if (!qc->bank || !mind) {
        st = HEARTH_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < N; i++) mind[i] = INFINITY;
    uint64_t rng = p.seed * 0x9E3779B97F4A7C15ull + 1;
    rng ^= rng >> 29;
    int64_t pick = (int64_t)(rng % (uint64_t)N);
    int nth = hearth_pool_size(pool);
    for (int64_t k = 0; k < K; k++) {
        memcpy(qc->bank + k * QC_MAPS, all + pick * QC_MAPS, QC_MAPS * sizeof(float));
        kc_job J = {.x = all, .n = N, .mind = mind, .c = all + pick * QC_MAPS};
        hearth_pool_run(pool, kc_worker, &J);
        float bd = -1;
        for (int t = 0; t < nth && t < 64; t++)
            if (J.best[t] >= 0 && J.bestd[t] > bd) bd = J.bestd[t], pick = J.best[t];
        if (p.progress && (k % 1024 == 0 || k == K - 1)) p.progress("coreset", k + 1, K, p.user);
    }
    qc->n_bank = K;
    /* threshold from good validation images */
    sg = malloc((size_t)nvg * sizeof(double));
    sb = malloc((size_t)(n_val_bad ? n_val_bad : 1) * sizeof(double));
    if (!sg || !sb) {
        st = HEARTH_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < nvg; i++) {
        hearth_qc_result r;
        if ((st = score_image(qc, &vg[i], pool, &r))) {
            st = error_with(st, "qc fit: a good validation image");
            goto done;
        }
        sg[i] = r.score;
        hearth_qc_result_free(&r);
    }
    for (int i = 0; i < n_val_bad; i++) {
        hearth_qc_result r;
        if ((st = score_image(qc, &val_bad[i], pool, &r))) {
            st = error_with(st, "qc fit: a bad validation image");
            goto done;
        }
        sb[i] = r.score;
        hearth_qc_result_free(&r);
    }
    if (p.progress) p.progress("threshold", nvg + n_val_bad, nvg + n_val_bad, p.user);
    /* report on the validation images (before sorting the good scores) */
    if (rep) {
        memset(rep, 0, sizeof *rep);
        rep->n_train = ntr, rep->n_val_good = nvg, rep->n_val_bad = n_val_bad;
        rep->bank_size = K, rep->n_patches = N;
        rep->val_auroc = rep->val_f1 = -1;
        if (n_val_bad) {
            int n = nvg + n_val_bad;
            double *s = malloc((size_t)n * sizeof(double));
            int *l = malloc((size_t)n * sizeof(int));
            if (s && l) {
                for (int i = 0; i < nvg; i++) s[i] = sg[i], l[i] = 0;
                for (int i = 0; i < n_val_bad; i++) s[nvg + i] = sb[i], l[nvg + i] = 1;
                rep->val_auroc = hearth_qc_auroc(s, l, n);
            }
            free(s), free(l);
        }
    }
    qc->threshold = fit_threshold(sg, nvg, p.false_alarm);
    if (rep) {
        int fa = 0, tp = 0;
        for (int i = 0; i < nvg; i++) fa += sg[i] > qc->threshold;
        for (int i = 0; i < n_val_bad; i++) tp += sb[i] > qc->threshold;
        rep->threshold = qc->threshold;
        rep->val_false_alarm = (double)fa / nvg;
        if (n_val_bad) rep->val_f1 = tp ? 2.0 * tp / (2.0 * tp + fa + (n_val_bad - tp)) : 0.0;
    }
done:
    for (int i = 0; feat && i < ntr; i++) free(feat[i]);
    free(feat), free(ncell), free(sts), free(all), free(mind), free(sg), free(sb);
    if (st) {
        hearth_qc_free(qc);
        return st;
    }
    *out = qc;
    return HEARTH_OK;
}

/* ---- folders ---------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* every regular file of dir (sorted), decoded to grey; a file that does not decode is an error */
static hearth_status load_dir(const char *dir, hearth_image **imgs, int *n) {
    *imgs = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot open folder", dir);
    char **names = NULL;
    size_t cap = 0, nn = 0;
    struct dirent *e;
    hearth_status st = HEARTH_OK;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        hearth_buf path = {0};
        hearth_buf_printf(&path, "%s/%s", dir, e->d_name);
        struct stat sb;
        bool reg = !path.oom && stat(path.data, &sb) == 0 && S_ISREG(sb.st_mode);
        if (reg && (!HEARTH_GROW(names, cap, nn + 1) || !(names[nn++] = hearth_buf_take(&path, NULL)))) st = HEARTH_ERR_NOMEM;
        hearth_buf_free(&path);
    }
    closedir(d);
    if (nn) qsort(names, nn, sizeof(char *), cmp_str);
    if (!st && nn == 0) st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: no images", dir);
    if (!st && !(*imgs = calloc(nn, sizeof(hearth_image)))) st = HEARTH_ERR_NOMEM;
    for (size_t i = 0; !st && i < nn; i++) {
        if ((st = hearth_image_load(names[i], 1, &(*imgs)[i])))
            st = error_with(st, names[i]);
        else (*n)++;
    }
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    if (st) {
        for (int i = 0; *imgs && i < *n; i++) hearth_image_free(&(*imgs)[i]);
        free(*imgs);
        *imgs = NULL;
        *n = 0;
    }
    return st;
}

static void free_imgs(hearth_image *imgs, int n) {
    for (int i = 0; imgs && i < n; i++) hearth_image_free(&imgs[i]);
    free(imgs);
}

hearth_status hearth_qc_fit_dirs(const char *good_dir, const char *val_dir, const hearth_qc_params *p,
                                 hearth_pool *pool, hearth_qc **out, hearth_qc_fit_report *report) {
    hearth_image *g = NULL, *vg = NULL, *vb = NULL;
    int ng = 0, nvg = 0, nvb = 0;
    hearth_status st = load_dir(good_dir, &g, &ng);
    if (!st && val_dir) {
        hearth_buf a = {0}, b = {0};
        hearth_buf_printf(&a, "%s/good", val_dir);
        hearth_buf_printf(&b, "%s/bad", val_dir);
        struct stat sb;
        if (a.oom || b.oom) st = HEARTH_ERR_NOMEM;
        if (!st) st = load_dir(a.data, &vg, &nvg);
        if (!st && stat(b.data, &sb) == 0) st = load_dir(b.data, &vb, &nvb);
        hearth_buf_free(&a);
        hearth_buf_free(&b);
    }
    if (!st) st = hearth_qc_fit(g, ng, vg, nvg, vb, nvb, p, pool, out, report);
    free_imgs(g, ng);
    free_imgs(vg, nvg);
    free_imgs(vb, nvb);
    return st;
}

/* ---- GGUF ---------------------------------------------------------------------------------------- */

hearth_status hearth_qc_save(const hearth_qc *qc, const char *path) {
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!w) return HEARTH_ERR_NOMEM;
    hearth_status st = hearth_gguf_set_str(w, "general.architecture", "hearth-qc");
    if (!st) st = hearth_gguf_set_u32(w, "qc.features_version", QC_FEATURES_VERSION);
    if (!st) st = hearth_gguf_set_str(w, "qc.features", "fixed multi-scale texture features, 4x4 cells, canonical orientation");
    if (!st) st = hearth_gguf_set_f64(w, "qc.threshold", qc->threshold);
    if (!st) st = hearth_gguf_set_f64(w, "qc.false_alarm", qc->false_alarm);
    int64_t ne_b[2] = {QC_MAPS, qc->n_bank}, ne_m[1] = {QC_MAPS};
    if (!st) st = hearth_gguf_add_tensor(w, "qc.bank", HEARTH_TYPE_F32, 2, ne_b, qc->bank);
    if (!st) st = hearth_gguf_add_tensor(w, "qc.mean", HEARTH_TYPE_F32, 1, ne_m, qc->mean);
    if (!st) st = hearth_gguf_add_tensor(w, "qc.inv_std", HEARTH_TYPE_F32, 1, ne_m, qc->inv_std);
    if (!st) st = hearth_gguf_writer_write(w, path);
    hearth_gguf_writer_free(w);
    return st;
}

hearth_status hearth_qc_load(const char *path, hearth_qc **out) {
    *out = NULL;
    hearth_gguf *g = NULL;
    hearth_status st = hearth_gguf_open(path, &g);
    if (st) return st;
    hearth_str s;
    int64_t ver = 0;
    hearth_qc *qc = calloc(1, sizeof *qc);
    const hearth_gguf_tensor *tb = hearth_gguf_find_tensor(g, "qc.bank"), *tm = hearth_gguf_find_tensor(g, "qc.mean"),
                             *ts = hearth_gguf_find_tensor(g, "qc.inv_std");
    if (!qc) st = HEARTH_ERR_NOMEM;
    else if (hearth_gguf_get_str(g, "general.architecture", &s) || s.len != 9 || memcmp(s.ptr, "hearth-qc", 9))
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a hearth qc model (general.architecture)", path);
    else if (hearth_gguf_get_int(g, "qc.features_version", &ver) || ver != QC_FEATURES_VERSION)
        st = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: qc features version %lld (this hearth has %d)", path,
                              (long long)ver, QC_FEATURES_VERSION);
    else if (hearth_gguf_get_float(g, "qc.threshold", &qc->threshold) ||
             hearth_gguf_get_float(g, "qc.false_alarm", &qc->false_alarm))
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: qc.threshold or qc.false_alarm missing", path);
    else if (!tb || !tm || !ts || tb->type != HEARTH_TYPE_F32 || tm->type != HEARTH_TYPE_F32 ||
             ts->type != HEARTH_TYPE_F32 || tb->ne[0] != QC_MAPS || tb->ne[1] < 1 ||
             hearth_gguf_tensor_nelements(tm) != QC_MAPS || hearth_gguf_tensor_nelements(ts) != QC_MAPS)
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: qc.bank / qc.mean / qc.inv_std missing or misshapen", path);
    if (!st) {
        qc->n_bank = tb->ne[1];
        qc->bank = malloc((size_t)qc->n_bank * QC_MAPS * sizeof(float));
        if (!qc->bank) st = HEARTH_ERR_NOMEM;
        else {
            memcpy(qc->bank, tb->data, (size_t)qc->n_bank * QC_MAPS * sizeof(float));
            memcpy(qc->mean, tm->data, sizeof qc->mean);
            memcpy(qc->inv_std, ts->data, sizeof qc->inv_std);
        }
    }
    hearth_gguf_close(g);
    if (st) {
        hearth_qc_free(qc);
        return st;
    }
    *out = qc;
    return HEARTH_OK;
}
