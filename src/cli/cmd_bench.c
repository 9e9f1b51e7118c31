/*
 * cmd_bench.c — `hearth bench -m MODEL [-p 512] [-n 128] [-t N] [--json]`:
 * prompt processing (one decode of p tokens) and generation (n single-token
 * decodes) speed, like llama-bench's pp/tg tests: token ids are pseudo-random,
 * each test runs -r times (default 1, best run reported) after a warm-up,
 * from an empty cache. Prefill GFLOP/s counts 2 flops per weight of the
 * matrix products (the token embedding is a lookup) plus the attention's
 * 4 * n_layer * n_embd per (query, key) pair.
 */
#include "cli.h"
#include "kernels/kernels.h"
#include "hearth/model.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const cmd_bench_summary = "measure prompt-processing and generation speed";

static void usage(void) {
    printf("usage: hearth bench -m MODEL.gguf [-p 512] [-n 128] [-t THREADS] [-c CTX] [--json]\n\n"
           "  -m, --model FILE    the model (default: the built-in model)\n"
           "  -p, --prompt N      prompt tokens processed in one decode (0: skip)\n"
           "  -n, --gen N         tokens generated one at a time (0: skip)\n"
           "  -t, --threads N     threads (default: all CPUs)\n"
           "  -c, --ctx N         context limit (default: the model's training context)\n"
           "  -r, --reps N        repetitions of each test; the best is reported (default 1)\n"
           "  --kv-f32            keep the KV cache in F32 (default F16)\n"
           "  --json              one object: pp_tokens_per_s, tg_tokens_per_s, threads,\n"
           "                      model_bytes, weight_bytes_per_token, tg_gb_per_s,\n"
           "                      pp_gflops, ...\n");
}

static uint64_t next_id(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

int cmd_bench(int argc, char **argv) {
    const char *model = NULL;
    int64_t p = 512, n = 128, threads = 0, ctx = 0, reps = 1;
    bool json = false, kv_f32 = false;
    cli_args a = cli_args_init("bench", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt_int(&a, "-p", "--prompt", &p)) continue;
        if (cli_opt_int(&a, "-n", "--gen", &n)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_opt_int(&a, "-c", "--ctx", &ctx)) continue;
        if (cli_opt_int(&a, "-r", "--reps", &reps)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, NULL, "--kv-f32")) { kv_f32 = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos > 0) return cli_error("bench", "unexpected argument '%s'", a.pos[0]);
    if (p < 0 || n < 0 || (p == 0 && n == 0)) return cli_error("bench", "-p %lld -n %lld: nothing to measure", (long long)p, (long long)n);
    if (threads < 0 || threads > 1024) return cli_error("bench", "-t %lld: must be between 1 and 1024", (long long)threads);
    if (reps < 1 || reps > 1000) return cli_error("bench", "-r %lld: must be between 1 and 1000", (long long)reps);
    if (ctx < 0 || ctx > (1 << 24)) return cli_error("bench", "-c %lld: out of range", (long long)ctx);
    model = cli_model_or_default("bench", model);
    if (!model) return 1;
    cli_install_logger();

    hearth_model *m = NULL;
    if (hearth_model_load(model, NULL, &m) != HEARTH_OK) return cli_lib_error("bench");
    int rc = 0;
    hearth_context *c = NULL;
    int32_t *toks = NULL;
    int64_t limit = ctx > 0 ? ctx : hearth_model_n_ctx_train(m);
    if (p > limit || n > limit) {
        rc = cli_error("bench", "%s of %lld tokens is longer than the context of %lld%s", p > limit ? "a prompt" : "a generation",
                       (long long)(p > limit ? p : n), (long long)limit, ctx > 0 ? "" : " (the model's; raise it with -c)");
        goto done;
    }
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = (int32_t)(p > n ? p : n);
    cp.n_batch = (int32_t)(p > 0 ? p : 1);
    cp.n_threads = (int)threads;
    cp.kv_f32 = kv_f32;
    if (hearth_context_create(m, &cp, &c) != HEARTH_OK) {
        rc = cli_lib_error("bench");
        goto done;
    }
    int64_t nt = p > n ? p : n;
    toks = malloc((size_t)nt * sizeof *toks);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int64_t i = 0; i < nt; i++) toks[i] = (int32_t)(next_id(&seed) % (uint64_t)hearth_model_n_vocab(m));

    /* warm-up: touch every weight once (pages in the mapping) */
    if (hearth_decode(c, toks, 1, false) != HEARTH_OK) { rc = cli_lib_error("bench"); goto done; }
    double pp_s = 0, tg_s = 0;
    for (int64_t r = 0; p > 0 && r < reps; r++) {
        hearth_context_truncate(c, 0);
        double t0 = hearth_time_s();
        if (hearth_decode(c, toks, (int32_t)p, false) != HEARTH_OK) { rc = cli_lib_error("bench"); goto done; }
        double dt = hearth_time_s() - t0;
        pp_s = r == 0 || dt < pp_s ? dt : pp_s;
    }
    for (int64_t r = 0; n > 0 && r < reps; r++) {
        hearth_context_truncate(c, 0);
        double t0 = hearth_time_s();
        for (int64_t i = 0; i < n; i++)
            if (hearth_decode(c, toks + i, 1, false) != HEARTH_OK) { rc = cli_lib_error("bench"); goto done; }
        double dt = hearth_time_s() - t0;
        tg_s = r == 0 || dt < tg_s ? dt : tg_s;
    }
    struct stat st;
    size_t model_bytes = stat(model, &st) == 0 ? (size_t)st.st_size : 0;
    size_t wb = hearth_model_weight_bytes(m);
    double pp_tps = p > 0 ? (double)p / pp_s : 0, tg_tps = n > 0 ? (double)n / tg_s : 0;
    double gbs = tg_tps * (double)wb / 1e9;
    /* prefill flops: matrix products (2 per weight, the embedding lookup
     * excluded) and attention (QK and PV: 4 * n_layer * n_embd per pair) */
    double mat = (double)hearth_model_n_params(m) - (double)hearth_model_n_vocab(m) * hearth_model_n_embd(m);
    double pairs = (double)p * (double)(p + 1) / 2;
    double pp_flops = 2 * mat * (double)p + 4.0 * hearth_model_n_layer(m) * hearth_model_n_embd(m) * pairs;
    double pp_gflops = p > 0 ? pp_flops / pp_s / 1e9 : 0;
    int nth = hearth_context_n_threads(c);
    if (json) {
        printf("{\"model\": ");
        cli_json_str(stdout, hearth_model_name(m), strlen(hearth_model_name(m)));
        printf(", \"arch\": \"%s\", \"n_params\": %lld, \"model_bytes\": %zu, \"weight_bytes_per_token\": %zu, "
               "\"threads\": %d, \"kernels\": \"%s\", \"pp_tokens\": %lld, \"pp_seconds\": %.6f, "
               "\"pp_tokens_per_s\": %.3f, \"tg_tokens\": %lld, \"tg_seconds\": %.6f, \"tg_tokens_per_s\": %.3f, "
               "\"tg_gb_per_s\": %.3f, \"pp_gflops\": %.2f, \"reps\": %lld}\n",
               hearth_model_arch(m), (long long)hearth_model_n_params(m), model_bytes, wb, nth,
               hearth_isa_name(hearth_kernels_isa()), (long long)p, pp_s, pp_tps, (long long)n, tg_s, tg_tps, gbs,
               pp_gflops, (long long)reps);
    } else {
        printf("model:   %s (%s, %.2f B params, %.2f GB file)\n", hearth_model_name(m), hearth_model_arch(m),
               hearth_model_n_params(m) / 1e9, model_bytes / 1e9);
        printf("threads: %d, kernels: %s\n", nth, hearth_isa_name(hearth_kernels_isa()));
        if (p > 0)
            printf("pp%-5lld %10.2f tokens/s  (%.3f s; %.1f GFLOP/s)\n", (long long)p, pp_tps, pp_s, pp_gflops);
        if (n > 0)
            printf("tg%-5lld %10.2f tokens/s  (%.3f s; %.3f GB of weights per token: %.2f GB/s)\n", (long long)n,
                   tg_tps, tg_s, wb / 1e9, gbs);
    }
done:
    free(toks);
    hearth_context_free(c);
    hearth_model_free(m);
    return rc;
}
