/*
 * gen_corpus.c — writes the GGUF fuzz seeds (fuzz/corpus/gguf) with hearth's
 * writer: every value type, nested arrays, a tiny tokenizer, tensors of a few
 * types at alignments 32 and 64, a version-2 file, an empty file.
 *   gguf_gen_corpus OUTDIR
 */
#include "hearth/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "gen_corpus: %s: %s\n", what, hearth_last_error());
    return 1;
}

static int write_to(hearth_gguf_writer *w, const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int rc = hearth_gguf_writer_write(w, p) ? fail(p) : 0;
    hearth_gguf_writer_free(w);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: gguf_gen_corpus OUTDIR\n"); return 2; }
    const char *dir = argv[1];
    int rc = 0;

    /* every scalar type, strings, fixed and string arrays */
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    hearth_gguf_set_str(w, "general.architecture", "llama");
    hearth_gguf_set_u8(w, "t.u8", 200);
    hearth_gguf_set_i8(w, "t.i8", -3);
    hearth_gguf_set_u16(w, "t.u16", 60000);
    hearth_gguf_set_i16(w, "t.i16", -300);
    hearth_gguf_set_u32(w, "llama.block_count", 2);
    hearth_gguf_set_i32(w, "t.i32", -70000);
    hearth_gguf_set_u64(w, "t.u64", 1ull << 40);
    hearth_gguf_set_i64(w, "t.i64", -(1ll << 40));
    hearth_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    hearth_gguf_set_f64(w, "t.f64", 3.25);
    hearth_gguf_set_bool(w, "t.bool", true);
    hearth_gguf_set_strn(w, "t.bytes", "a\0\xff", 3);
    const int32_t ia[4] = {1, -2, 3, -4};
    hearth_gguf_set_arr(w, "t.arr.i32", HEARTH_GGUF_INT32, ia, 4);
    const double da[2] = {0.5, -8};
    hearth_gguf_set_arr(w, "t.arr.f64", HEARTH_GGUF_FLOAT64, da, 2);
    const char *sa[3] = {"a", "", "long-ish string"};
    hearth_gguf_set_arr_str(w, "t.arr.str", sa, 3);
    rc |= write_to(w, dir, "values.gguf");

    /* a tiny tokenizer */
    w = hearth_gguf_writer_create();
    hearth_gguf_set_str(w, "tokenizer.ggml.model", "llama");
    char toks[40][8];
    const char *tp[40];
    float scores[40];
    int32_t types[40];
    for (int i = 0; i < 40; i++) {
        snprintf(toks[i], sizeof toks[i], i < 3 ? "<%d>" : "t%d", i);
        tp[i] = toks[i];
        scores[i] = -(float)i;
        types[i] = i < 3 ? 3 : 1;
    }
    hearth_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tp, 40);
    hearth_gguf_set_arr(w, "tokenizer.ggml.scores", HEARTH_GGUF_FLOAT32, scores, 40);
    hearth_gguf_set_arr(w, "tokenizer.ggml.token_type", HEARTH_GGUF_INT32, types, 40);
    hearth_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    rc |= write_to(w, dir, "vocab.gguf");

    /* tensors of a few types */
    static uint8_t data[2048];
    for (int i = 0; i < 2048; i++) data[i] = (uint8_t)(i * 13 + 5);
    for (int pass = 0; pass < 3; pass++) {
        w = hearth_gguf_writer_create();
        if (pass == 1) hearth_gguf_set_alignment(w, 64);
        hearth_gguf_set_str(w, "general.architecture", "llama");
        const int64_t a[1] = {8}, b[2] = {4, 3}, c[2] = {32, 2}, d[4] = {32, 1, 2, 1}, k[1] = {256};
        if (hearth_gguf_add_tensor(w, "token_embd.weight", HEARTH_TYPE_F16, 2, b, data) ||
            hearth_gguf_add_tensor(w, "output_norm.weight", HEARTH_TYPE_F32, 1, a, data) ||
            hearth_gguf_add_tensor(w, "blk.0.attn_q.weight", HEARTH_TYPE_Q8_0, 2, c, data) ||
            hearth_gguf_add_tensor(w, "blk.0.attn_k.weight", HEARTH_TYPE_Q4_0, 4, d, data) ||
            (pass == 2 && hearth_gguf_add_tensor(w, "blk.0.ffn_down.weight", HEARTH_TYPE_Q6_K, 1, k, data)))
            return fail("add_tensor");
        rc |= write_to(w, dir, pass == 0 ? "tensors.gguf" : pass == 1 ? "tensors-align64.gguf" : "tensors-k.gguf");
    }

    /* empty */
    rc |= write_to(hearth_gguf_writer_create(), dir, "empty.gguf");

    /* version 2 (same layout): patch the version of tensors.gguf */
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/tensors.gguf", dir);
    snprintf(q, sizeof q, "%s/tensors-v2.gguf", dir);
    FILE *f = fopen(p, "rb");
    static uint8_t buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    buf[4] = 2;
    f = fopen(q, "wb");
    if (!f || fwrite(buf, 1, n, f) != n) rc = 1;
    if (f) fclose(f);

    /* nested arrays: [[1,2],[["x"]],[]] built by hand, copied through the writer */
    uint8_t nb[256];
    size_t o = 0;
#define PUT(v, sz) do { uint64_t v_ = (v); memcpy(nb + o, &v_, sz); o += sz; } while (0)
    memcpy(nb, "GGUF", 4); o = 4;
    PUT(3, 4); PUT(0, 8); PUT(1, 8);
    PUT(6, 8); memcpy(nb + o, "nested", 6); o += 6;
    PUT(HEARTH_GGUF_ARRAY, 4); PUT(HEARTH_GGUF_ARRAY, 4); PUT(3, 8);
    PUT(HEARTH_GGUF_UINT16, 4); PUT(2, 8); PUT(1, 2); PUT(2, 2);
    PUT(HEARTH_GGUF_ARRAY, 4); PUT(1, 8); PUT(HEARTH_GGUF_STRING, 4); PUT(1, 8); PUT(1, 8); nb[o++] = 'x';
    PUT(HEARTH_GGUF_INT64, 4); PUT(0, 8);
    hearth_gguf *g = NULL;
    if (hearth_gguf_open_memory(nb, o, &g)) return fail("nested");
    w = hearth_gguf_writer_create();
    hearth_gguf_copy_kv(w, g, 0);
    hearth_gguf_set_str(w, "general.name", "nested");
    rc |= write_to(w, dir, "nested.gguf");
    hearth_gguf_close(g);
    return rc;
}
