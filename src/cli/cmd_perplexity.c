/*
 * cmd_perplexity.c — `hearth perplexity -m MODEL -f FILE [-c CTX] [-t N] [--json]`:
 * perplexity of a text file, computed as llama.cpp's perplexity tool does
 * (hearth_perplexity in model.h), so that the figures compare directly.
 * Progress ("[i/n] ppl so far") goes to stderr; the result to stdout.
 */
#include "cli.h"
#include "kernels/kernels.h"
#include "hearth/model.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_perplexity_summary = "perplexity of a model on a text file (llama.cpp's method)";

static void usage(void) {
    printf("usage: hearth perplexity -m MODEL.gguf -f FILE [-c CTX] [-t THREADS] [--json]\n\n"
           "Tokenizes FILE (BOS added where the vocabulary says so), cuts it into chunks\n"
           "of CTX tokens, runs each chunk as a fresh sequence (its first token replaced\n"
           "by BOS where the vocabulary adds one) and scores the predictions of the\n"
           "second half of each chunk. Prints one progress line per chunk on stderr\n"
           "and `PPL = <value>` last.\n\n"
           "  -m, --model FILE    the model (default: the built-in model)\n"
           "  -f, --file FILE     the text\n"
           "  -c, --ctx N         tokens per chunk (default 512)\n"
           "  -t, --threads N     threads (default: all CPUs)\n"
           "  --kv-f32            keep the KV cache in F32 (default F16)\n"
           "  --json              print {\"ppl\", \"chunks\", \"tokens\", \"scored\", \"ctx\"}\n");
}

typedef struct progress_state {
    bool quiet;
    double t0;
} progress_state;

static bool on_chunk(int i, int n, double ppl, void *user) {
    progress_state *p = user;
    if (!p->quiet) {
        double el = hearth_time_s() - p->t0;
        fprintf(stderr, "[%d/%d] ppl so far %.4f  (%.1f s, %.1f s left)\n", i, n, ppl, el, el / i * (n - i));
    }
    return true;
}

int cmd_perplexity(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    int64_t ctx = 512, threads = 0;
    bool json = false, kv_f32 = false, quiet = false;
    cli_args a = cli_args_init("perplexity", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, "-f", "--file", &file)) continue;
        if (cli_opt_int(&a, "-c", "--ctx", &ctx)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, NULL, "--kv-f32")) { kv_f32 = true; continue; }
        if (cli_flag(&a, "-q", "--quiet")) { quiet = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos > 0) return cli_error("perplexity", "unexpected argument '%s' (the text goes after -f)", a.pos[0]);
    if (!file) return cli_error("perplexity", "no text given: pass -f FILE");
    if (ctx < 4 || ctx > (1 << 20)) return cli_error("perplexity", "-c %lld: must be between 4 and 1048576", (long long)ctx);
    if (threads < 0 || threads > 1024) return cli_error("perplexity", "-t %lld: must be between 1 and 1024", (long long)threads);
    model = cli_model_or_default("perplexity", model);
    if (!model) return 1;
    cli_install_logger();

    char *text = NULL;
    size_t len = 0;
    if (hearth_read_file(file, &text, &len) != HEARTH_OK) return cli_lib_error("perplexity");
    hearth_model *m = NULL;
    if (hearth_model_load(model, NULL, &m) != HEARTH_OK) {
        free(text);
        return cli_lib_error("perplexity");
    }
    int rc = 0;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    hearth_context *c = NULL;
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    if (hearth_tokenize(hearth_model_vocab(m), text, len, &tp, &ids, &n_ids) != HEARTH_OK) {
        rc = cli_lib_error("perplexity");
        goto done;
    }
    if (n_ids < (size_t)ctx) {
        rc = cli_error("perplexity", "%s has %zu tokens, fewer than one chunk of %lld (use a smaller -c)", file, n_ids,
                       (long long)ctx);
        goto done;
    }
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = (int32_t)ctx;
    cp.n_batch = (int32_t)ctx;
    cp.n_threads = (int)threads;
    cp.kv_f32 = kv_f32;
    if (hearth_context_create(m, &cp, &c) != HEARTH_OK) {
        rc = cli_lib_error("perplexity");
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "perplexity: %s, %zu tokens, %zu chunks of %lld, %d threads, %s kernels\n", hearth_model_name(m),
                n_ids, n_ids / (size_t)ctx, (long long)ctx, hearth_context_n_threads(c),
                hearth_isa_name(hearth_kernels_isa()));
    progress_state ps = {quiet, hearth_time_s()};
    hearth_ppl_result r;
    if (hearth_perplexity(c, ids, n_ids, (int32_t)ctx, on_chunk, &ps, &r) != HEARTH_OK) {
        rc = cli_lib_error("perplexity");
        goto done;
    }
    if (json)
        printf("{\"ppl\": %.6f, \"chunks\": %d, \"tokens\": %zu, \"scored\": %lld, \"ctx\": %lld}\n", r.ppl,
               r.n_chunks, n_ids, (long long)r.n_scored, (long long)ctx);
    else
        printf("PPL = %.4f\n", r.ppl);
done:
    free(ids);
    free(text);
    hearth_context_free(c);
    hearth_model_free(m);
    return rc;
}
