/*
 * make_model.c — hearth_make_model: writes a llama-family GGUF with random
 * weights of any shape, by default TinyLlama-1.1B-shaped (dim 2048, 22
 * layers, 32 heads, 4 KV heads, ffn 5632, 32000-token Llama 2 vocab, F16):
 * about 2.2 GB, for measuring speed (bench/tinyllama.sh). Never commit its
 * output.
 *
 *   hearth_make_model OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N]
 *                     [--head-dim N] [--ff N] [--ctx N] [--type f16|f32|bf16]
 *                     [--arch llama|qwen2] [--vocab VOCAB.gguf] [--tied] [--seed N]
 */
#include "random_model.h"

#include <stdio.h>

int main(int argc, char **argv) {
    rm_params p = {.arch = "llama", .vocab = HEARTH_TEST_DATA "/vocab/ggml-vocab-llama-spm.gguf", .dim = 2048,
                   .n_layer = 22, .n_head = 32, .n_head_kv = 4, .head_dim = 0, .n_ff = 5632, .n_ctx = 2048,
                   .type = HEARTH_TYPE_F16, .rope_base = 10000, .seed = 1};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NUM(flag, field) if (strcmp(a, flag) == 0 && v) { p.field = atoll(v); i++; continue; }
        NUM("--dim", dim) NUM("--layers", n_layer) NUM("--heads", n_head) NUM("--kv-heads", n_head_kv)
        NUM("--head-dim", head_dim) NUM("--ff", n_ff) NUM("--ctx", n_ctx) NUM("--seed", seed)
#undef NUM
        if (strcmp(a, "--type") == 0 && v) {
            int t = hearth_type_from_name(v);
            if (t != HEARTH_TYPE_F16 && t != HEARTH_TYPE_F32 && t != HEARTH_TYPE_BF16) {
                fprintf(stderr, "hearth_make_model: --type %s: use f16, f32 or bf16\n", v);
                return 2;
            }
            p.type = (uint32_t)t; i++; continue;
        }
        if (strcmp(a, "--arch") == 0 && v) { p.arch = v; i++; continue; }
        if (strcmp(a, "--vocab") == 0 && v) { p.vocab = v; i++; continue; }
        if (strcmp(a, "--tied") == 0) { p.tied = true; continue; }
        if (a[0] == '-' || out) { fprintf(stderr, "hearth_make_model: unexpected argument '%s'\n", a); return 2; }
        out = a;
    }
    if (!out) { fprintf(stderr, "usage: hearth_make_model OUT.gguf [--dim N] [--layers N] ... (see make_model.c)\n"); return 2; }
    if (p.dim <= 0 || p.n_layer <= 0 || p.n_head <= 0 || p.n_head_kv <= 0 || p.n_ff <= 0 || p.n_ctx <= 0 ||
        p.n_head % p.n_head_kv) {
        fprintf(stderr, "hearth_make_model: invalid shape\n");
        return 2;
    }
    if (p.head_dim > 0) p.key_length = p.head_dim * p.n_head != p.dim;
    else p.head_dim = p.dim / p.n_head;
    double t0 = hearth_time_s();
    if (rm_write(&p, out) != HEARTH_OK) {
        fprintf(stderr, "hearth_make_model: %s\n", hearth_last_error());
        return 1;
    }
    fprintf(stderr, "hearth_make_model: wrote %s in %.1f s\n", out, hearth_time_s() - t0);
    return 0;
}
