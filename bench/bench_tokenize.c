/*
 * bench_tokenize.c — tokenizer throughput on one thread.
 *
 *   bench_tokenize [DATA_DIR] [MB]
 *
 * Builds about MB (default 1) megabytes of mixed English / Chinese / code
 * text by repeating the llama.cpp test strings (DATA_DIR/vocab/NAME.inp), then
 * tokenizes it in one call with the llama-spm, gpt-2 and deepseek-llm
 * vocabularies (no special tokens added) and prints MB/s (best of 3 runs),
 * by wall-clock time and by the thread's CPU time (which stays meaningful
 * when other processes share the machine); then again as 4 KB documents,
 * one call each (the per-call word cache of BPE sees less repetition).
 */
#include "hearth/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) { free(b); b = NULL; }
    fclose(f);
    *n = b ? (size_t)sz : 0;
    return b;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: the rate on one core even on a busy machine */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : HEARTH_TEST_DATA;
    double mb = argc > 2 ? atof(argv[2]) : 1.0;
    if (mb <= 0) mb = 1.0;
    /* the corpus: English vectors once, Chinese/mixed vectors twice, repeated */
    const char *srcs[] = {"ggml-vocab-gpt-2.gguf.inp", "ggml-vocab-gpt-2.zh.gguf.inp", "ggml-vocab-gpt-2.zh.gguf.inp"};
    size_t target = (size_t)(mb * 1024 * 1024), len = 0;
    char *text = malloc(target + 1);
    char *parts[3];
    size_t plen[3];
    for (int i = 0; i < 3; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/vocab/%s", dir, srcs[i]);
        parts[i] = slurp(p, &plen[i]);
        if (!parts[i]) { fprintf(stderr, "bench_tokenize: cannot read %s\n", p); return 1; }
    }
    for (int i = 0; len < target; i = (i + 1) % 3) {
        size_t k = plen[i] < target - len ? plen[i] : target - len;
        memcpy(text + len, parts[i], k);
        len += k;
    }
    /* do not end inside a UTF-8 character */
    while (len > 0 && ((unsigned char)text[len - 1] & 0xC0) == 0x80) len--;
    if (len > 0 && (unsigned char)text[len - 1] >= 0xC0) len--;

    const char *vocabs[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf"};
    printf("text: %.2f MB (English, Chinese, code, emoji, white space)\n", len / 1048576.0);
    for (int k = 0; k < 3; k++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/vocab/%s", dir, vocabs[k]);
        hearth_vocab *v = NULL;
        double t0 = now();
        if (hearth_vocab_load_file(p, &v) != HEARTH_OK) {
            fprintf(stderr, "bench_tokenize: %s\n", hearth_last_error());
            return 1;
        }
        double t_load = now() - t0;
        hearth_tokenize_params tp = hearth_tokenize_default_params();
        tp.add_special = false;
        double best = 1e9, best_cpu = 1e9;
        size_t n_ids = 0;
        for (int r = 0; r < 3; r++) {
            int32_t *ids = NULL;
            double c0 = cpu_now();
            t0 = now();
            if (hearth_tokenize(v, text, len, &tp, &ids, &n_ids) != HEARTH_OK) {
                fprintf(stderr, "bench_tokenize: %s\n", hearth_last_error());
                return 1;
            }
            double t = now() - t0, tc = cpu_now() - c0;
            if (t < best) best = t;
            if (tc < best_cpu) best_cpu = tc;
            free(ids);
        }
        /* the same text as 4 KB documents, one call each (less repetition per call) */
        double chunk_cpu = 0;
        for (int r = 0; r < 2; r++) {
            double c0 = cpu_now();
            for (size_t at = 0; at < len;) {
                size_t e = at + 4096 < len ? at + 4096 : len;
                while (e < len && ((unsigned char)text[e] & 0xC0) == 0x80) e++;
                int32_t *ids = NULL;
                size_t nn = 0;
                if (hearth_tokenize(v, text + at, e - at, &tp, &ids, &nn) != HEARTH_OK) {
                    fprintf(stderr, "bench_tokenize: %s\n", hearth_last_error());
                    return 1;
                }
                free(ids);
                at = e;
            }
            double tc = cpu_now() - c0;
            if (r == 0 || tc < chunk_cpu) chunk_cpu = tc;
        }
        printf("%-30s %7.2f MB/s (CPU time: %6.2f MB/s)  %8zu tokens  %7.1f ms  (load %.0f ms)\n", vocabs[k],
               len / 1048576.0 / best, len / 1048576.0 / best_cpu, n_ids, best * 1e3, t_load * 1e3);
        printf("%-30s %7s      (CPU time: %6.2f MB/s)  as 4 KB documents, one call each\n", "", "",
               len / 1048576.0 / chunk_cpu);
        hearth_vocab_free(v);
    }
    for (int i = 0; i < 3; i++) free(parts[i]);
    free(text);
    return 0;
}
