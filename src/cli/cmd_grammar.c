/*
 * cmd_grammar.c — constrained decoding from the command line:
 *
 *   hearth grammar check --schema S.json --jsonl FILE
 *       one line per line of FILE: `accept` when decoding constrained by
 *       the compiled schema can emit exactly that line's text and stop,
 *       else `reject`. An empty FILE only compiles. A schema that cannot be
 *       compiled: exit 2 and one line on stderr. (--grammar G.gbnf instead
 *       of --schema checks against a GBNF grammar.)
 *
 *   hearth grammar bench --schema S.json -m VOCAB.gguf --instance I.json --json
 *       forces the tokens of I.json (tokenized as `hearth tokenize --no-bos`
 *       does) through the constraint, computing the full allowed-token mask
 *       before each; up to 3 passes (fresh matcher each), each step's best
 *       kept; last line {"compile_us", "mask_us_p50", "mask_us_p99",
 *       "tokens"}. Exit 1 if a forced token is not allowed.
 */
#include "cli.h"
#include "hearth/core.h"
#include "hearth/grammar.h"
#include "hearth/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cmd_grammar_summary = "check texts against a schema's constraint; time its token masks";

static void usage(void) {
    printf("usage: hearth grammar check (--schema S.json | --grammar G.gbnf) --jsonl FILE\n"
           "       hearth grammar bench (--schema S.json | --grammar G.gbnf) -m VOCAB.gguf --instance I.json [--json]\n\n"
           "check: prints `accept` or `reject` per line of FILE: whether output constrained by\n"
           "       the schema can be exactly that line (json.dumps format: \", \" and \": \").\n"
           "bench: times the allowed-token mask at every token of I.json over the model's\n"
           "       vocabulary (3 passes, best per step) and prints compile time and the\n"
           "       p50/p99 mask time.\n\n"
           "  --schema FILE     a JSON Schema\n"
           "  --grammar FILE    a GBNF grammar (llama.cpp format; start rule `root`)\n"
           "  --jsonl FILE      lines to check\n"
           "  -m, --model FILE  a model or vocab-only GGUF file\n"
           "  --instance FILE   the exact text to force\n"
           "  --passes N        passes over the instance (default 3)\n"
           "  --json            print the figures as one JSON object\n"
           "  --steps           print each step's best mask time and token to stderr\n"
           "  --dump-vocab FILE write the vocabulary and the forced ids as JSON (for\n"
           "                    bench/xgrammar_bench.mjs)\n\n"
           "Exit status: 0; 2 when the schema or grammar cannot be compiled (one line on stderr).\n");
}

static int compile_any(const char *schema, const char *gbnf, hearth_grammar **g, double *us) {
    const char *path = schema ? schema : gbnf;
    char *text = NULL;
    size_t len = 0;
    if (hearth_read_file(path, &text, &len) != HEARTH_OK) {
        fprintf(stderr, "hearth grammar: error: %s\n", hearth_last_error());
        return 2;
    }
    double t0 = hearth_time_s();
    hearth_status st = schema ? hearth_grammar_from_schema(text, len, g) : hearth_grammar_from_gbnf(text, len, NULL, g);
    if (us) *us = (hearth_time_s() - t0) * 1e6;
    free(text);
    if (st != HEARTH_OK) {
        fprintf(stderr, "hearth grammar: error: %s: %s\n", path, hearth_last_error());
        return 2;
    }
    return 0;
}

static int check(hearth_grammar *g, const char *jsonl) {
    char *text = NULL;
    size_t len = 0;
    if (hearth_read_file(jsonl, &text, &len) != HEARTH_OK) {
        fprintf(stderr, "hearth grammar: error: %s\n", hearth_last_error());
        return 2;
    }
    hearth_grammar_matcher *m = NULL;
    if (hearth_grammar_matcher_new(g, &m) != HEARTH_OK) {
        free(text);
        return cli_lib_error("grammar");
    }
    size_t i = 0;
    while (i < len) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r') n--;
        hearth_grammar_matcher_reset(m);
        bool ok = hearth_grammar_advance(m, line, n) == HEARTH_OK && hearth_grammar_accepting(m);
        puts(ok ? "accept" : "reject");
    }
    hearth_grammar_matcher_free(m);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* a user-defined token's raw text in GPT-2's byte-to-character form, as
 * byte-level tokenizers store their other tokens (for the vocab dump) */
static void put_byte_level(FILE *f, const char *t) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        unsigned b = *p, cp = b;
        if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174))) {
            unsigned n = 0;   /* the n-th byte outside those ranges maps to 256 + n */
            for (unsigned x = 0; x < b; x++)
                if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174))) n++;
            cp = 256 + n;
        }
        if (cp == '"' || cp == '\\') fprintf(f, "\\%c", (char)cp);
        else if (cp < 0x80) fputc((int)cp, f);
        else if (cp < 0x800) fputc((int)(0xC0 | (cp >> 6)), f), fputc((int)(0x80 | (cp & 0x3F)), f);
    }
    fputc('"', f);
}

/* this thread's CPU time in seconds (what a step cost, without the time
 * the scheduler gave other processes on a loaded machine) */
static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench(hearth_grammar *g, double compile_us, const char *model, const char *instance, int passes, bool json,
                 bool steps, const char *dump) {
    char *text = NULL;
    size_t len = 0;
    if (hearth_read_file(instance, &text, &len) != HEARTH_OK) return cli_lib_error("grammar");
    hearth_vocab *v = NULL;
    if (hearth_vocab_load_file(model, &v) != HEARTH_OK) {
        free(text);
        return cli_lib_error("grammar");
    }
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.add_special = false;
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_grammar_vocab *gv = NULL;
    double t0 = hearth_time_s();
    if (hearth_tokenize(v, text, len, &tp, &ids, &n) != HEARTH_OK || hearth_grammar_vocab_from(v, &gv) != HEARTH_OK) {
        free(text);
        hearth_vocab_free(v);
        return cli_lib_error("grammar");
    }
    double trie_ms = (hearth_time_s() - t0) * 1e3;
    if (dump) {   /* for bench/xgrammar_bench.mjs: the stored token texts and the forced ids */
        FILE *f = fopen(dump, "w");
        if (!f) {
            fprintf(stderr, "hearth grammar: error: cannot write %s\n", dump);
        } else {
            int nv = hearth_vocab_n_tokens(v);
            fprintf(f, "{\"vocab_type\": \"%s\", \"eos\": %d, \"vocab\": [",
                    hearth_vocab_get_kind(v) == HEARTH_VOCAB_BPE ? "byte_level" : "byte_fallback", hearth_vocab_eos(v));
            for (int i = 0; i < nv; i++) {
                const char *t = hearth_vocab_token_text(v, i);
                if (i) fputc(',', f);
                if (t && hearth_vocab_get_kind(v) == HEARTH_VOCAB_BPE &&
                    hearth_vocab_token_type(v, i) == HEARTH_TOKEN_USER_DEFINED)
                    put_byte_level(f, t);
                else
                    cli_json_str(f, t ? t : "", t ? strlen(t) : 0);
            }
            fprintf(f, "], \"ids\": [");
            for (size_t k = 0; k < n; k++) fprintf(f, k ? ",%d" : "%d", ids[k]);
            fprintf(f, "]}\n");
            fclose(f);
        }
    }
    int nt = hearth_grammar_vocab_size(gv);
    uint32_t *mask = malloc(((size_t)nt + 31) / 32 * sizeof *mask);
    double *best = malloc((n + 1) * sizeof *best), *best_cpu = malloc((n + 1) * sizeof *best_cpu);
    int rc = 0;
    for (size_t k = 0; k < n; k++) best[k] = best_cpu[k] = 1e30;
    for (int pass = 0; pass < passes && rc == 0; pass++) {
        hearth_grammar_matcher *m = NULL;
        if (hearth_grammar_matcher_new(g, &m) != HEARTH_OK) {
            rc = cli_lib_error("grammar");
            break;
        }
        for (size_t k = 0; k < n; k++) {
            double a = hearth_time_s(), ac = thread_cpu_s();
            hearth_grammar_mask(m, gv, mask);
            double us = (hearth_time_s() - a) * 1e6, cus = (thread_cpu_s() - ac) * 1e6;
            if (us < best[k]) best[k] = us;
            if (cus < best_cpu[k]) best_cpu[k] = cus;
            int32_t id = ids[k];
            if (!((mask[id >> 5] >> (id & 31)) & 1) || hearth_grammar_accept_token(m, gv, id) != HEARTH_OK) {
                char piece[256];
                int64_t pl = hearth_token_to_piece(v, id, false, piece, sizeof piece - 1);
                piece[pl > 0 && pl < (int64_t)sizeof piece ? pl : 0] = 0;
                fprintf(stderr, "hearth grammar: error: token %zu (id %d, '%s') is not allowed by the schema\n", k, id,
                        piece);
                rc = 1;
                break;
            }
        }
        if (rc == 0 && !hearth_grammar_accepting(m))
            fprintf(stderr, "hearth grammar: warning: the instance is not complete for the schema\n");
        hearth_grammar_matcher_free(m);
    }
    if (rc == 0 && steps)
        for (size_t k = 0; k < n; k++) {
            char piece[64];
            int64_t pl = hearth_token_to_piece(v, ids[k], false, piece, sizeof piece - 1);
            piece[pl > 0 && pl < (int64_t)sizeof piece ? pl : 0] = 0;
            fprintf(stderr, "step %4zu %10.2f us  '%s'\n", k, best[k], piece);
        }
    if (rc == 0) {
        qsort(best, n, sizeof *best, cmp_d);
        qsort(best_cpu, n, sizeof *best_cpu, cmp_d);
        if (n)
            printf("thread CPU time per mask: p50 %.2f us, p99 %.2f us\n", best_cpu[(n - 1) / 2],
                   best_cpu[(size_t)((double)(n - 1) * 0.99 + 0.5)]);
        double p50 = n ? best[(n - 1) / 2] : 0, p99 = n ? best[(size_t)((double)(n - 1) * 0.99 + 0.5)] : 0;
        if (!json)
            printf("vocab %d tokens (trie %.1f ms), instance %zu tokens\ncompile %.1f us, mask p50 %.1f us, p99 %.1f us\n",
                   nt, trie_ms, n, compile_us, p50, p99);
        printf("{\"compile_us\": %.1f, \"mask_us_p50\": %.2f, \"mask_us_p99\": %.2f, \"tokens\": %zu}\n", compile_us, p50,
               p99, n);
    }
    free(mask);
    free(best);
    free(best_cpu);
    free(ids);
    free(text);
    hearth_grammar_vocab_free(gv);
    hearth_vocab_free(v);
    return rc;
}

int cmd_grammar(int argc, char **argv) {
    const char *schema = NULL, *gbnf = NULL, *jsonl = NULL, *model = NULL, *instance = NULL, *dump = NULL;
    int64_t passes = 3;
    bool json = false, steps = false;
    cli_args a = cli_args_init("grammar", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--schema", &schema)) continue;
        if (cli_opt(&a, NULL, "--grammar", &gbnf)) continue;
        if (cli_opt(&a, NULL, "--jsonl", &jsonl)) continue;
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, NULL, "--instance", &instance)) continue;
        if (cli_opt(&a, NULL, "--dump-vocab", &dump)) continue;
        if (cli_opt_int(&a, NULL, "--passes", &passes)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, NULL, "--steps")) { steps = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    const char *sub = a.n_pos ? a.pos[0] : "";
    if (strcmp(sub, "check") && strcmp(sub, "bench")) {
        fprintf(stderr, "hearth grammar: error: expected `hearth grammar check` or `hearth grammar bench` (see --help)\n");
        return 2;
    }
    if (!!schema == !!gbnf) {
        fprintf(stderr, "hearth grammar: error: give one of --schema or --grammar\n");
        return 2;
    }
    if (!strcmp(sub, "check") && !jsonl) {
        fprintf(stderr, "hearth grammar: error: check needs --jsonl FILE\n");
        return 2;
    }
    if (!strcmp(sub, "bench") && (!instance || !(model = cli_model_or_default("grammar", model)))) {
        if (!instance) fprintf(stderr, "hearth grammar: error: bench needs --instance FILE\n");
        return 2;
    }
    hearth_grammar *g = NULL;
    double us = 0;
    int rc = compile_any(schema, gbnf, &g, &us);
    if (rc) return rc;
    if (!strcmp(sub, "check")) rc = check(g, jsonl);
    else rc = bench(g, us, model, instance, passes < 1 ? 1 : (int)passes, json, steps, dump);
    hearth_grammar_free(g);
    return rc;
}
