/*
 * ops_impl.h — the training ops, each _forward beside its _backward (llm.c
 * style: the backward reads the forward in reverse; gradients come first in
 * the argument list and are ACCUMULATED with +=; a NULL gradient pointer means
 * "not wanted"). Included twice by ops_fwd_bwd.c: once with REAL = float
 * (names ending _f, used by training) and once with REAL = double (names
 * ending _d, used by the finite-difference gradient checks).
 *
 * Layouts (row-major): T tokens, C channels, H query heads, KVH key/value
 * heads, hd head size, V vocabulary, N outputs, K inputs.
 * No include guard: meant to be included more than once.
 */
#ifndef REAL
#error "define REAL and FN before including ops_impl.h"
#endif

/* ==== embedding: out[t] = table[ids[t]] ====================================== */
void FN(embedding_forward)(REAL *out, const int32_t *ids, const REAL *table, int T, int C) {
    for (int t = 0; t < T; t++) memcpy(out + (size_t)t * C, table + (size_t)ids[t] * C, (size_t)C * sizeof(REAL));
}
void FN(embedding_backward)(REAL *dtable, const REAL *dout, const int32_t *ids, int T, int C) {
    for (int t = 0; t < T; t++) {
        REAL *d = dtable + (size_t)ids[t] * C;
        const REAL *g = dout + (size_t)t * C;
        for (int c = 0; c < C; c++) d[c] += g[c];
    }
}

/* ==== RMSNorm: out = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps) ============= */
void FN(rmsnorm_forward)(REAL *out, REAL *rstd, const REAL *x, const REAL *w, int T, int C, float eps) {
    for (int t = 0; t < T; t++) {
        const REAL *xt = x + (size_t)t * C;
        REAL *o = out + (size_t)t * C;
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)xt[c] * xt[c];
        REAL r = (REAL)(1.0 / sqrt(ss / C + eps));
        rstd[t] = r;
        for (int c = 0; c < C; c++) o[c] = xt[c] * r * w[c];
    }
}
/* xhat = x * rstd;  dw += dout * xhat;  dx += rstd * (dxhat - xhat * mean(dxhat * xhat)), dxhat = dout * w */
void FN(rmsnorm_backward)(REAL *dx, REAL *dw, const REAL *dout, const REAL *x, const REAL *w, const REAL *rstd, int T,
                          int C) {
    for (int t = 0; t < T; t++) {
        const REAL *xt = x + (size_t)t * C, *g = dout + (size_t)t * C;
        REAL r = rstd[t];
        double dot = 0;
        for (int c = 0; c < C; c++) dot += (double)g[c] * w[c] * xt[c] * r;
        REAL mean = (REAL)(dot / C);
        if (dw)
            for (int c = 0; c < C; c++) dw[c] += g[c] * xt[c] * r;
        if (dx) {
            REAL *d = dx + (size_t)t * C;
            for (int c = 0; c < C; c++) d[c] += r * (g[c] * w[c] - xt[c] * r * mean);
        }
    }
}

/* ==== matmul: out (T, N) = x (T, K) @ W (N, K)^T + b (N) ======================== */
void FN(matmul_forward)(REAL *out, const REAL *x, const REAL *W, const REAL *b, int T, int K, int N) {
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double s = b ? b[n] : 0;
            for (int k = 0; k < K; k++) s += (double)x[(size_t)t * K + k] * W[(size_t)n * K + k];
            out[(size_t)t * N + n] = (REAL)s;
        }
}
/* dx += dout @ W;  dW += dout^T @ x;  db += sum_t dout */
void FN(matmul_backward)(REAL *dx, REAL *dW, REAL *db, const REAL *dout, const REAL *x, const REAL *W, int T, int K,
                         int N) {
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            REAL g = dout[(size_t)t * N + n];
            if (db) db[n] += g;
            for (int k = 0; k < K; k++) {
                if (dx) dx[(size_t)t * K + k] += g * W[(size_t)n * K + k];
                if (dW) dW[(size_t)n * K + k] += g * x[(size_t)t * K + k];
            }
        }
}

/* ==== RoPE (in place), the inference layout: pairs (2i, 2i+1) ("normal",
 * llama) or (i, i + n_rot/2) (NEOX, qwen2); cs (T, n_rot) = (cos, sin) pairs
 * from hearth_rope_cache (YaRN magnitude included). The rotation is
 * [c -s; s c]; the backward applies its transpose [c s; -s c]. ============= */
static void FN(rope_rotate)(REAL *x, const float *cs, int T, int H, int hd, int n_rot, bool neox, REAL sign) {
    int half = n_rot / 2;
    for (int t = 0; t < T; t++) {
        const float *c_t = cs + (size_t)t * n_rot;
        for (int h = 0; h < H; h++) {
            REAL *v = x + ((size_t)t * H + h) * hd;
            for (int i = 0; i < half; i++) {
                REAL c = c_t[2 * i], s = sign * c_t[2 * i + 1];
                int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                REAL x0 = v[a], x1 = v[b];
                v[a] = x0 * c - x1 * s;
                v[b] = x0 * s + x1 * c;
            }
        }
    }
}
void FN(rope_forward)(REAL *x, const float *cs, int T, int H, int hd, int n_rot, bool neox) {
    FN(rope_rotate)(x, cs, T, H, hd, n_rot, neox, 1);
}
/* dx arrives as d(out) and leaves as d(in) (RoPE is linear and in place) */
void FN(rope_backward)(REAL *dx, const float *cs, int T, int H, int hd, int n_rot, bool neox) {
    FN(rope_rotate)(dx, cs, T, H, hd, n_rot, neox, -1);
}

/* ==== causal self-attention with GQA, for KV heads [g0, g1) ===================
 * query head h reads KV head h / (H / KVH);  att (H, T, T): row t holds the
 * softmax over positions start[t]..t (zeros elsewhere);  out (T, H*hd).
 * start (T) or NULL (all 0): the first position of t's record, so that packed
 * records attend only to themselves (a block-diagonal causal mask). */
void FN(attention_forward)(REAL *out, REAL *att, const REAL *q, const REAL *k, const REAL *v, const int32_t *start,
                           int T, int H, int KVH, int hd, int g0, int g1) {
    int group = H / KVH;
    size_t qs = (size_t)H * hd, ks = (size_t)KVH * hd;
    REAL scale = (REAL)(1.0 / sqrt((double)hd));
    for (int h = g0 * group; h < g1 * group; h++) {
        int g = h / group;
        for (int t = 0; t < T; t++) {
            const REAL *qt = q + t * qs + (size_t)h * hd;
            REAL *a = att + ((size_t)h * T + t) * T;
            REAL mx = -INFINITY;
            int s0 = start ? start[t] : 0;
            for (int j = 0; j < s0; j++) a[j] = 0;
            for (int j = s0; j <= t; j++) {
                const REAL *kj = k + j * ks + (size_t)g * hd;
                REAL s = 0;
                for (int i = 0; i < hd; i++) s += qt[i] * kj[i];
                a[j] = s * scale;
                if (a[j] > mx) mx = a[j];
            }
            REAL sum = 0;
            for (int j = s0; j <= t; j++) sum += (a[j] = EXP(a[j] - mx));
            for (int j = s0; j <= t; j++) a[j] /= sum;
            for (int j = t + 1; j < T; j++) a[j] = 0;
            REAL *o = out + t * qs + (size_t)h * hd;
            for (int i = 0; i < hd; i++) o[i] = 0;
            for (int j = s0; j <= t; j++) {
                const REAL *vj = v + j * ks + (size_t)g * hd;
                for (int i = 0; i < hd; i++) o[i] += a[j] * vj[i];
            }
        }
    }
}
/* datt_j = dout_t . v_j;  dpre_j = att_j (datt_j - sum_i att_i datt_i);
 * dq_t += scale sum_j dpre_j k_j;  dk_j += scale dpre_j q_t;  dv_j += att_j dout_t.
 * j runs over start[t]..t (start NULL: 0..t).  scratch: T elements. */
void FN(attention_backward)(REAL *dq, REAL *dk, REAL *dv, const REAL *dout, const REAL *q, const REAL *k,
                            const REAL *v, const REAL *att, const int32_t *start, int T, int H, int KVH, int hd,
                            int g0, int g1, REAL *scratch) {
    int group = H / KVH;
    size_t qs = (size_t)H * hd, ks = (size_t)KVH * hd;
    REAL scale = (REAL)(1.0 / sqrt((double)hd));
    for (int h = g0 * group; h < g1 * group; h++) {
        int g = h / group;
        for (int t = 0; t < T; t++) {
            const REAL *a = att + ((size_t)h * T + t) * T;
            const REAL *go = dout + t * qs + (size_t)h * hd, *qt = q + t * qs + (size_t)h * hd;
            REAL *da = scratch, dsum = 0;
            int s0 = start ? start[t] : 0;
            for (int j = s0; j <= t; j++) {
                const REAL *vj = v + j * ks + (size_t)g * hd;
                REAL *dvj = dv + j * ks + (size_t)g * hd;
                REAL s = 0;
                for (int i = 0; i < hd; i++) {
                    s += go[i] * vj[i];
                    dvj[i] += a[j] * go[i];
                }
                da[j] = s;
                dsum += a[j] * s;
            }
            REAL *dqt = dq + t * qs + (size_t)h * hd;
            for (int j = s0; j <= t; j++) {
                REAL dp = a[j] * (da[j] - dsum) * scale;
                const REAL *kj = k + j * ks + (size_t)g * hd;
                REAL *dkj = dk + j * ks + (size_t)g * hd;
                for (int i = 0; i < hd; i++) {
                    dqt[i] += dp * kj[i];
                    dkj[i] += dp * qt[i];
                }
            }
        }
    }
}

/* ==== SwiGLU: out = silu(gate) * up = gate * sigmoid(gate) * up ================= */
void FN(swiglu_forward)(REAL *out, const REAL *gate, const REAL *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        REAL g = gate[i];
        out[i] = g / (1 + EXP(-g)) * up[i];
    }
}
/* dgate += dout * up * sig * (1 + g (1 - sig));  dup += dout * silu(g) */
void FN(swiglu_backward)(REAL *dgate, REAL *dup, const REAL *dout, const REAL *gate, const REAL *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        REAL g = gate[i], sg = 1 / (1 + EXP(-g));
        dgate[i] += dout[i] * up[i] * sg * (1 + g * (1 - sg));
        dup[i] += dout[i] * g * sg;
    }
}

/* ==== cross-entropy: losses[t] = -log softmax(logits[t])[targets[t]] ==========
 * probs (T, V) keeps the softmax for the backward (may alias logits). */
void FN(crossentropy_forward)(REAL *losses, REAL *probs, const REAL *logits, const int32_t *targets, int T, int V) {
    for (int t = 0; t < T; t++) {
        const REAL *l = logits + (size_t)t * V;
        REAL *p = probs + (size_t)t * V;
        REAL mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx) mx = l[i];
        double sum = 0;
        for (int i = 0; i < V; i++) sum += (p[i] = EXP(l[i] - mx));
        for (int i = 0; i < V; i++) p[i] = (REAL)(p[i] / sum);
        losses[t] = (REAL)-log((double)p[targets[t]] > 1e-38 ? (double)p[targets[t]] : 1e-38);
    }
}
/* dlogits[t] += dloss[t] * (probs[t] - onehot(targets[t]));  dloss[t] = 0 masks token t */
void FN(crossentropy_backward)(REAL *dlogits, const REAL *dloss, const REAL *probs, const int32_t *targets, int T,
                               int V) {
    for (int t = 0; t < T; t++) {
        REAL w = dloss[t];
        if (w == 0) continue;
        const REAL *p = probs + (size_t)t * V;
        REAL *d = dlogits + (size_t)t * V;
        for (int i = 0; i < V; i++) d[i] += w * p[i];
        d[targets[t]] -= w;
    }
}
