/*
 * bench_clip.c — image encode time per image for hearth's CLIP encoder.
 *
 *   bench_clip make OUT.gguf TYPE        writes a ViT-B/16-shaped random mmproj
 *                                        (224, patch 16, dim 768, 12 heads, FFN
 *                                        3072, 13 blocks of which 12 run, LLaVA mlp
 *                                        projector 768 -> 768 -> 64) in TYPE (f16, q8_0, f32)
 *   bench_clip time MMPROJ IMAGE THREADS REPS
 *                                        prints the load time and each encode's
 *                                        seconds, then "best" and "median"
 */
#include "hearth/clip.h"
#include "hearth/types.h"

#include "vision/clip_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "make")) {
        clip_shape s = clip_shape_default();
        s.image_size = 224, s.patch = 16, s.dim = 768, s.n_head = 12, s.n_ff = 3072, s.n_block = 13;
        s.n_mid = 768, s.n_out = 64;
        int t = hearth_type_from_name(argv[3]);
        if (t < 0) return fprintf(stderr, "unknown type %s\n", argv[3]), 2;
        s.wtype = (uint32_t)t;
        return clip_gen_write(argv[2], &s);
    }
    if (argc != 6 || strcmp(argv[1], "time")) {
        fprintf(stderr, "usage: bench_clip make OUT.gguf TYPE | bench_clip time MMPROJ IMAGE THREADS REPS\n");
        return 2;
    }
    hearth_clip_params p = hearth_clip_default_params();
    p.n_threads = atoi(argv[4]);
    int reps = atoi(argv[5]);
    if (reps < 1 || reps > 100) reps = 3;
    double t0 = hearth_time_s();
    hearth_clip *v = NULL;
    hearth_image img;
    if (hearth_clip_load(argv[2], &p, &v) || hearth_image_load(argv[3], 3, &img)) {
        fprintf(stderr, "bench_clip: %s\n", hearth_last_error());
        return 1;
    }
    printf("load %.3f s\n", hearth_time_s() - t0);
    float *out = malloc(sizeof *out * hearth_clip_n_tokens(v) * hearth_clip_n_embd(v));
    double ts[100];
    for (int i = 0; i < reps; i++) {
        double t = hearth_time_s();
        if (hearth_clip_encode(v, &img, out)) {
            fprintf(stderr, "bench_clip: %s\n", hearth_last_error());
            return 1;
        }
        ts[i] = hearth_time_s() - t;
        printf("encode %.3f s\n", ts[i]);
    }
    qsort(ts, (size_t)reps, sizeof *ts, cmp_double);
    printf("best %.3f s\nmedian %.3f s\n", ts[0], ts[reps / 2]);
    free(out);
    hearth_image_free(&img);
    hearth_clip_free(v);
    return 0;
}
