/*
 * int8.c — the int8 compute mode of the trainer (--compute int8, the default
 * for a quantized frozen base on CPUs with AVX-512 VNNI).
 *
 * A LoRA step multiplies by every frozen matrix twice: y = x W^T in the
 * forward and dx += dy W in the backward. In this mode both run on the
 * inference engine's packed int8 tiles (src/kernels/packed.c):
 *
 *   forward    the model's own packed copy (Q4_0, Q8_0, Q4_K, Q6_K), the same
 *              kernels and results as hearth_decode / prefill;
 *   backward   a copy of W^T quantized to Q8_0 (blocks of 32 along W's
 *              output dimension) and packed, made once per trainer from the
 *              stored weights; dy is quantized to Q8_0 per 32 values like
 *              any activation. The copy costs 34 bytes per 32 weights.
 *
 * The gradients differ from the exact F32 backward by the two 8-bit
 * roundings (test_train_int8 states how far); the optimizer sees the same
 * noise level a quantized forward already adds.
 */
#include "train_internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_float_type(uint32_t type) {
    return type == HEARTH_TYPE_F32 || type == HEARTH_TYPE_F16 || type == HEARTH_TYPE_BF16;
}

/* a frozen matrix whose transpose the packed Q8_0 tiles can hold */
static bool transposable(const tmat *m) {
    return m->data && !m->w && hearth_pack_supported(HEARTH_TYPE_Q8_0, m->out, m->in);
}

/* ---- W^T as Q8_0 ---------------------------------------------------------------- */
typedef struct tr_job {
    const tmat *m;
    uint8_t *wt;       /* (in rows, out / 32 blocks of bsz bytes) */
    size_t bsz;
    float *buf;        /* per thread: 32 rows of W as floats, then one column of 32 */
    hearth_to_float_fn to_float;
    hearth_from_float_fn to_q8;
} tr_job;

static void tr_worker(void *arg, int ith, int nth) {
    tr_job *j = arg;
    const tmat *m = j->m;
    const int64_t K = m->in, nb = m->out / 32;
    float *rows = j->buf + (size_t)ith * (32 * K + 32), *col = rows + 32 * K;
    int64_t b0, b1;
    hearth_split_rows(nb, ith, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b++) {
        for (int r = 0; r < 32; r++)
            j->to_float((const char *)m->data + (size_t)(32 * b + r) * m->row_bytes, rows + (size_t)r * K, K);
        for (int64_t k = 0; k < K; k++) {
            for (int r = 0; r < 32; r++) col[r] = rows[(size_t)r * K + k];
            j->to_q8(col, j->wt + ((size_t)k * nb + b) * j->bsz, 32);
        }
    }
}

/* bytes of m's packed Q8_0 transpose in the arena (64-byte aligned) */
static size_t transposed_bytes(const tmat *m) {
    return (hearth_pack_size(HEARTH_TYPE_Q8_0, m->out, m->in) + 63) / 64 * 64;
}

/* P = the packed Q8_0 transpose of m (wt, buf: scratch of the largest matrix) */
static void transpose_q8(hearth_trainer *t, const tmat *m, uint8_t *wt, float *buf, void *P) {
    tr_job j = {m, wt, hearth_row_size(HEARTH_TYPE_Q8_0, 32), buf, hearth_type_traits_get(m->type)->to_float,
                hearth_type_traits_get(HEARTH_TYPE_Q8_0)->from_float};
    hearth_pool_run(t->pool, tr_worker, &j);
    hearth_pack(HEARTH_TYPE_Q8_0, wt, m->out, m->in, P);
}

/* the matrices a LoRA step multiplies by: 7 per layer and the output */
static int n_mats(const hearth_trainer *t) { return 7 * t->hp.n_layer + 1; }
static tmat *mat_at(hearth_trainer *t, int i) {
    return i == 7 * t->hp.n_layer ? &t->output : layer_mats(&t->layers[i / 7], i % 7);
}

static bool want_int8(const hearth_trainer *t) {
    if (t->full || !t->model || t->p.compute == HEARTH_TRAIN_COMPUTE_EXACT) return false;
    if (t->p.compute == HEARTH_TRAIN_COMPUTE_INT8) return true;
    return !is_float_type(t->layers[0].wq.type);   /* auto: a quantized base */
}

hearth_status tint8_setup(hearth_trainer *t) {
    if (!want_int8(t)) return HEARTH_OK;
    /* the forward: the inference engine's packed copies */
    tmodel_pack(t->model, &t->output, t->layers, t->hp.n_layer);
    /* the backward: packed Q8_0 transposes in one huge-page arena, made one matrix at a time through a
     * transient Q8_0 copy */
    size_t wt_max = 0, buf_max = 0, total = 0;
    for (int i = 0; i < n_mats(t); i++) {
        const tmat *m = mat_at(t, i);
        if (!transposable(m)) continue;
        size_t wt = (size_t)m->in * hearth_row_size(HEARTH_TYPE_Q8_0, m->out);
        size_t buf = (size_t)t->nth * (32 * (size_t)m->in + 32) * sizeof(float);
        if (wt > wt_max) wt_max = wt;
        if (buf > buf_max) buf_max = buf;
        total += transposed_bytes(m);
    }
    if (!total) return HEARTH_OK;
    uint8_t *wt = malloc(wt_max), *arena = hearth_huge_alloc(total);
    float *buf = malloc(buf_max);
    if (!wt || !buf || !arena) {
        free(wt), free(buf), hearth_huge_free(arena, total);
        return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for the int8 backward (%.1f MiB)",
                                total / 1048576.0);
    }
    t->t_arena = arena, t->t_bytes = total, t->mem += total;
    size_t off = 0;
    for (int i = 0; i < n_mats(t); i++) {
        tmat *m = mat_at(t, i);
        if (!transposable(m)) continue;
        m->packed_t = arena + off;
        off += transposed_bytes(m);
        transpose_q8(t, m, wt, buf, m->packed_t);
        t->n_int8++;
        /* the mapped originals are read again only by a matmul without a packed copy */
        if (m->packed && m->data != t->tok_embd.data) tmodel_release(m);
    }
    free(wt);
    free(buf);
    return HEARTH_OK;
}

void tint8_free(hearth_trainer *t) {
    hearth_huge_free(t->t_arena, t->t_bytes);
    t->t_arena = NULL;
}

/* rows of dy per packed matmul of the backward: all of them, or for a wide dy
 * (the vocabulary-wide output layer) as many as keep the quantized and
 * spread rows in the scratch under 16 MiB */
static int64_t dx_rows(int64_t T, int64_t K) {
    int64_t per4 = (int64_t)hearth_matmul_packed_work_size(4, K), rows = (int64_t)(16 << 20) / per4 * 4;
    return rows < 4 ? 4 : rows < T ? rows : T;
}

size_t tint8_work_size(const hearth_trainer *t, int64_t T) {
    size_t best = 0, s;
    for (int i = 0; i < n_mats(t); i++) {
        const tmat *m = mat_at((hearth_trainer *)t, i);
        if (m->packed && (s = hearth_matmul_packed_work_size(T, m->in)) > best) best = s;
        if (m->packed_t && (s = hearth_matmul_packed_work_size(dx_rows(T, m->out), m->out)) > best) best = s;
    }
    return best;
}

/* ---- dx += dy W through the packed transpose ---------------------------------------------- */
hearth_status tint8_matmul_dx(hearth_trainer *t, const tmat *m, float *dx, const float *dy, int64_t T, float *tmp) {
    const int64_t step = dx_rows(T, m->out);
    for (int64_t t0 = 0; t0 < T; t0 += step) {
        const int64_t n = T - t0 < step ? T - t0 : step;
        hearth_status s = hearth_matmul_packed(t->pool, tmp, dy + t0 * m->out, m->packed_t, HEARTH_TYPE_Q8_0, n,
                                               m->out, m->in, t->work);
        if (s) return s;
        tk_add(t, dx + t0 * m->in, tmp, (size_t)n * m->in);
    }
    return HEARTH_OK;
}
