/*
 * stages.c — the sampling stages over a candidates array, and the random
 * number generator. See include/hearth/sample.h for what each stage means.
 *
 * Every stage keeps the invariant that c->sorted is true only when the
 * array is in descending logit order with ties broken by lower id, so the
 * results never depend on qsort's (unstable) tie order.
 */
#include "hearth/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ========================================================================
 * ordering helpers
 * ======================================================================== */

/* a ranks before b: larger logit, or equal logit and lower id */
static inline bool better(const hearth_candidate *a, const hearth_candidate *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_desc(const void *pa, const void *pb) {
    const hearth_candidate *a = pa, *b = pb;
    if (better(a, b)) return -1;
    if (better(b, a)) return 1;
    return 0;
}

/* descending logit as an ascending unsigned key (IEEE order: flip the sign
 * bit of positives, every bit of negatives; then complement; -0 as +0) */
static inline uint32_t desc_key(float f) {
    if (f == 0.0f) f = 0.0f;   /* -0 ties with +0, as `better` has it */
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ~u;
}

/* stable LSD radix sort on desc_key, 3 passes of 11 bits: with the input in
 * id order, equal logits stay in id order, which is `better`'s tie rule */
static bool radix_sort_desc(hearth_candidate *a, size_t n) {
    hearth_candidate *tmp = malloc(n * sizeof *tmp);
    uint32_t *keys = malloc(n * sizeof *keys), *ktmp = malloc(n * sizeof *ktmp);
    if (!tmp || !keys || !ktmp) {
        free(tmp), free(keys), free(ktmp);
        return false;
    }
    for (size_t i = 0; i < n; i++) keys[i] = desc_key(a[i].logit);
    hearth_candidate *src = a, *dst = tmp;
    uint32_t *ks = keys, *kd = ktmp;
    for (int shift = 0; shift < 32; shift += 11) {
        size_t count[2048] = {0};
        for (size_t i = 0; i < n; i++) count[(ks[i] >> shift) & 2047]++;
        size_t sum = 0;
        for (int b = 0; b < 2048; b++) {
            size_t cnt = count[b];
            count[b] = sum;
            sum += cnt;
        }
        for (size_t i = 0; i < n; i++) {
            size_t j = count[(ks[i] >> shift) & 2047]++;
            dst[j] = src[i];
            kd[j] = ks[i];
        }
        hearth_candidate *t = src;
        src = dst, dst = t;
        uint32_t *tk = ks;
        ks = kd, kd = tk;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);   /* 3 passes: the result is in tmp */
    free(tmp), free(keys), free(ktmp);
    return true;
}

static void sort_desc(hearth_candidates *c) {
    if (c->sorted) return;
    /* a whole vocabulary in id order (the usual case: no top-k yet) sorts in
     * linear time; anything else (or no memory) through qsort */
    bool id_order = c->size >= 1024;
    for (size_t i = 1; id_order && i < c->size; i++) id_order = c->data[i - 1].id < c->data[i].id;
    bool nan = false;
    for (size_t i = 0; id_order && i < c->size; i++) nan |= isnan(c->data[i].logit);
    if (!id_order || nan || !radix_sort_desc(c->data, c->size))
        qsort(c->data, c->size, sizeof *c->data, cmp_desc);
    c->sorted = true;
}

/* index of candidate `id`: direct when the array is still in id order */
static int64_t find_id(const hearth_candidates *c, int32_t id) {
    if (id < 0) return -1;
    if ((size_t)id < c->size && c->data[id].id == id) return id;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].id == id) return (int64_t)i;
    return -1;
}

/* ========================================================================
 * softmax, argmax
 * ======================================================================== */

void hearth_sample_softmax(hearth_candidates *c) {
    if (c->size == 0) return;
    sort_desc(c);
    float max = c->data[0].logit;
    if (!(max > -INFINITY)) {   /* everything banned */
        for (size_t i = 0; i < c->size; i++) c->data[i].p = 0.0f;
        return;
    }
    double sum = 0.0;
    for (size_t i = 0; i < c->size; i++) {
        float e = expf(c->data[i].logit - max);
        c->data[i].p = e;
        sum += e;
    }
    for (size_t i = 0; i < c->size; i++) c->data[i].p = (float)(c->data[i].p / sum);
}

int64_t hearth_sample_argmax(const hearth_candidates *c) {
    if (c->size == 0) return -1;
    if (c->sorted) return 0;
    size_t best = 0;
    for (size_t i = 1; i < c->size; i++)
        if (better(&c->data[i], &c->data[best])) best = i;
    return (int64_t)best;
}

/* ========================================================================
 * logit bias and penalties
 * ======================================================================== */

void hearth_sample_logit_bias(hearth_candidates *c, const int32_t *ids, const float *bias, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t j = find_id(c, ids[i]);
        if (j < 0) continue;
        c->data[j].logit += bias[i];
    }
    if (n) c->sorted = false;
}

static int cmp_i32(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

void hearth_sample_penalties(hearth_candidates *c, const int32_t *last, size_t n_last,
                             float repeat, float freq, float presence) {
    if (n_last == 0 || (repeat == 1.0f && freq == 0.0f && presence == 0.0f)) return;
    /* count occurrences by sorting a copy of the window */
    int32_t *w = malloc(n_last * sizeof *w);
    if (!w) return;
    memcpy(w, last, n_last * sizeof *w);
    qsort(w, n_last, sizeof *w, cmp_i32);
    for (size_t i = 0; i < n_last;) {
        size_t j = i;
        while (j < n_last && w[j] == w[i]) j++;
        int32_t id = w[i];
        float count = (float)(j - i);
        int64_t k = find_id(c, id);
        if (k >= 0) {
            float *l = &c->data[k].logit;
            if (repeat != 1.0f) *l = *l > 0.0f ? *l / repeat : *l * repeat;
            *l -= count * freq + presence;
        }
        i = j;
    }
    free(w);
    c->sorted = false;
}

/* ========================================================================
 * truncation: top-k, top-p, min-p, typical
 * ======================================================================== */

/* min-heap on `better` (root = worst kept candidate) */
static void heap_sift_down(hearth_candidate *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && better(&h[m], &h[l])) m = l;
        if (r < n && better(&h[m], &h[r])) m = r;
        if (m == i) return;
        hearth_candidate t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void hearth_sample_top_k(hearth_candidates *c, int32_t k) {
    if (k <= 0 || (size_t)k >= c->size) {
        sort_desc(c);
        return;
    }
    if (!c->sorted) {
        /* keep the k best in a min-heap at the front of the array */
        hearth_candidate *h = c->data;
        size_t n = (size_t)k;
        for (size_t i = n / 2; i-- > 0;) heap_sift_down(h, n, i);
        for (size_t i = n; i < c->size; i++) {
            if (better(&c->data[i], &h[0])) {
                h[0] = c->data[i];
                heap_sift_down(h, n, 0);
            }
        }
    }
    c->size = (size_t)k;
    sort_desc(c);
}

void hearth_sample_top_p(hearth_candidates *c, float p, size_t min_keep) {
    if (p >= 1.0f || c->size == 0) return;
    hearth_sample_softmax(c);
    double cum = 0.0;
    size_t keep = c->size;
    for (size_t i = 0; i < c->size; i++) {
        cum += c->data[i].p;
        if (cum >= p && i + 1 >= min_keep) {
            keep = i + 1;
            break;
        }
    }
    c->size = keep;
}

void hearth_sample_min_p(hearth_candidates *c, float p, size_t min_keep) {
    if (p <= 0.0f || c->size == 0) return;
    hearth_sample_softmax(c);
    float threshold = p * c->data[0].p;
    size_t keep = 1;
    while (keep < c->size && (c->data[keep].p >= threshold || keep < min_keep)) keep++;
    c->size = keep;
}

typedef struct typical_item {
    double score;
    size_t idx;
} typical_item;

static int cmp_typical(const void *pa, const void *pb) {
    const typical_item *a = pa, *b = pb;
    if (a->score < b->score) return -1;
    if (a->score > b->score) return 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

void hearth_sample_typical(hearth_candidates *c, float p, size_t min_keep) {
    if (p >= 1.0f || c->size == 0) return;
    hearth_sample_softmax(c);
    double entropy = 0.0;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].p > 0.0f) entropy -= c->data[i].p * log(c->data[i].p);
    typical_item *it = malloc(c->size * sizeof *it);
    hearth_candidate *copy = malloc(c->size * sizeof *copy);
    if (!it || !copy) {
        free(it);
        free(copy);
        return;
    }
    for (size_t i = 0; i < c->size; i++) {
        double nll = c->data[i].p > 0.0f ? -log(c->data[i].p) : INFINITY;
        it[i].score = fabs(nll - entropy);
        it[i].idx = i;
    }
    qsort(it, c->size, sizeof *it, cmp_typical);
    double cum = 0.0;
    size_t keep = c->size;
    for (size_t i = 0; i < c->size; i++) {
        cum += c->data[it[i].idx].p;
        if (cum >= p && i + 1 >= min_keep) {
            keep = i + 1;
            break;
        }
    }
    for (size_t i = 0; i < keep; i++) copy[i] = c->data[it[i].idx];
    memcpy(c->data, copy, keep * sizeof *copy);
    c->size = keep;
    c->sorted = false;
    sort_desc(c);
    free(it);
    free(copy);
}

void hearth_sample_temp(hearth_candidates *c, float t) {
    if (t <= 0.0f) return;
    for (size_t i = 0; i < c->size; i++) c->data[i].logit /= t;
    /* dividing by t > 0 keeps the order */
}

/* ========================================================================
 * random numbers: splitmix64 seeding, xoshiro256**
 * ======================================================================== */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void hearth_rng_seed(hearth_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t hearth_rng_next(hearth_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double hearth_rng_uniform(hearth_rng *r) { return (double)(hearth_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t hearth_seed_from_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
    static int salt;
    x ^= (uint64_t)(uintptr_t)&salt;
    uint64_t s = splitmix64(&x);
    return s == HEARTH_SEED_RANDOM ? 0 : s;
}

int64_t hearth_sample_draw(const hearth_candidates *c, hearth_rng *r) {
    if (c->size == 0) return -1;
    double total = 0.0;
    for (size_t i = 0; i < c->size; i++) total += c->data[i].p;
    if (!(total > 0.0)) return -1;
    double u = hearth_rng_uniform(r) * total, cum = 0.0;
    int64_t last_nonzero = -1;
    for (size_t i = 0; i < c->size; i++) {
        if (c->data[i].p <= 0.0f) continue;
        cum += c->data[i].p;
        last_nonzero = (int64_t)i;
        if (u < cum) return (int64_t)i;
    }
    return last_nonzero;   /* rounding: u landed just past the last sum */
}
