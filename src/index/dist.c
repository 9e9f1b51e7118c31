/* dist.c — scalar reference distance kernels and the start-up choice. */
#include "index/dist.h"

#include "hearth/core.h"

static float ref_dot_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static float ref_l2sq_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

static int32_t ref_dot_i8(const int8_t *a, const int8_t *b, int64_t n) {
    int32_t s = 0;
    for (int64_t i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static const idx_dist_ops reference = {"reference", ref_dot_f32, ref_l2sq_f32, ref_dot_i8};

const idx_dist_ops *idx_dist_reference(void) { return &reference; }

const idx_dist_ops *idx_dist_avx2(void) {
    const hearth_cpu *c = hearth_cpu_features();
    return c->avx2 && c->fma ? &idx_dist_ops_avx2 : NULL;
}

const idx_dist_ops *idx_dist_avx512(void) {
    const hearth_cpu *c = hearth_cpu_features();
    return c->avx512f && c->avx512bw && c->avx512vl ? &idx_dist_ops_avx512 : NULL;
}

const idx_dist_ops *idx_dist_get(void) {
    static const idx_dist_ops *chosen;   /* benign race: every thread picks the same */
    if (!chosen) {
        const idx_dist_ops *o = NULL;
        if (!hearth_force_reference()) {
            o = idx_dist_avx512();
            if (!o) o = idx_dist_avx2();
        }
        chosen = o ? o : &reference;
    }
    return chosen;
}
