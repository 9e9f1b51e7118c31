/*
 * cmd_run.c — `hearth run`: generate a continuation of a prompt, streamed
 * to stdout as it is produced, or as one JSON object with --json.
 */
#include "cli.h"
#include "gen_opts.h"

#include "hearth/clip.h"
#include "hearth/generate.h"
#include "hearth/grammar.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

const char *const cmd_run_summary = "generate text from a prompt (streams to stdout)";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth run [-m MODEL] (-p PROMPT | -f FILE) [options]\n"
            "\n"
            "Continues PROMPT with the model and streams the generated text to stdout.\n"
            "\n"
            "  -m, --model FILE          GGUF model (default: $HEARTH_MODEL or the bundled model)\n"
            "  -p, --prompt TEXT         the prompt\n"
            "  -f, --file FILE           read the prompt from FILE (- for stdin)\n"
            "  -n, --n-predict N         tokens to generate (default 128; -1: until end of text\n"
            "                            or the context is full)\n"
            "  -c, --ctx-size N          context size in tokens (default: the model's, at most 4096)\n"
            "  -t, --threads N           threads (default: all CPUs)\n"
            "      --ignore-eos          do not stop at end-of-generation tokens\n"
            "      --stop STR            stop before STR (repeatable); STR is not printed\n"
            "      --mmproj FILE         image encoder (llama.cpp mmproj GGUF) for --image\n"
            "      --image FILE          an image (PNG, JPEG, WebP, GIF, BMP) put where the prompt\n"
            "                            says <image> (LLaVA; without <image>: before the text)\n"
            "      --json                print one JSON object at the end instead of streaming:\n"
            "                            {\"prompt_ids\", \"ids\", \"text\", \"stop_reason\", ...}\n"
            "      --json-schema FILE    constrain the output to an instance of the JSON Schema in FILE\n"
            "                            (json.dumps formatting; unsupported keywords are errors)\n"
            "      --grammar FILE        constrain the output to the GBNF grammar in FILE (start: root)\n"
            "  -v, --verbose             seed, token counts and speed on stderr\n"
            "%s",
            GEN_SAMPLING_HELP);
}

static volatile int g_cancel;
static void on_sigint(int sig) {
    (void)sig;
    if (g_cancel) _exit(130);
    g_cancel = 1;
}

static void print_ids(const int32_t *ids, size_t n) {
    putchar('[');
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", (int)ids[i]);
    putchar(']');
}

int cmd_run(int argc, char **argv) {
    const char *model_path = NULL, *prompt = NULL, *file = NULL, *schema_path = NULL, *gbnf_path = NULL;
    const char *mmproj = NULL, *image_path = NULL;
    int64_t n_predict = 128, n_ctx = 0, n_threads = 0;
    bool json = false, verbose = false, ignore_eos = false;
    gen_opts go;
    gen_opts_init(&go);

    cli_args a = cli_args_init("run", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model_path)) continue;
        if (cli_opt(&a, "-p", "--prompt", &prompt)) continue;
        if (cli_opt(&a, "-f", "--file", &file)) continue;
        if (cli_opt(&a, NULL, "--mmproj", &mmproj)) continue;
        if (cli_opt(&a, NULL, "--image", &image_path)) continue;
        if (cli_opt_int(&a, "-n", "--n-predict", &n_predict)) continue;
        if (cli_opt_int(&a, "-c", "--ctx-size", &n_ctx)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &n_threads)) continue;
        if (cli_flag(&a, NULL, "--ignore-eos")) { ignore_eos = true; continue; }
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, "-v", "--verbose")) { verbose = true; continue; }
        if (cli_opt(&a, NULL, "--json-schema", &schema_path)) continue;
        if (cli_opt(&a, NULL, "--grammar", &gbnf_path)) continue;
        if (gen_opts_parse(&go, &a)) continue;
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("run", "unexpected argument '%s' (the prompt goes after -p)", a.pos[0]), 2;
    if (prompt && file) return cli_error("run", "give the prompt with -p or -f, not both"), 2;
    if (!prompt && !file) return cli_error("run", "no prompt: pass -p TEXT or -f FILE (see hearth run --help)"), 2;
    if (n_predict < -1 || n_predict > INT32_MAX) return cli_error("run", "-n must be -1 or more, got %lld", (long long)n_predict), 2;
    if (n_ctx < 0 || n_ctx > INT32_MAX) return cli_error("run", "-c must be 0 or more, got %lld", (long long)n_ctx), 2;
    if (n_threads < 0 || n_threads > 4096) return cli_error("run", "-t must be 0 or more, got %lld", (long long)n_threads), 2;
    if (gen_opts_check(&go, "run") != 0) return 2;
    if (!mmproj != !image_path) return cli_error("run", "--image and --mmproj go together (an image needs its encoder)"), 2;
    if (schema_path && gbnf_path) return cli_error("run", "give --json-schema or --grammar, not both"), 2;
    hearth_grammar *grammar = NULL;
    hearth_constraint *constraint = NULL;
    hearth_grammar_vocab *gvocab = NULL;
    if (schema_path || gbnf_path) {   /* compiled first: a schema hearth cannot enforce is an error (exit 2) */
        char *gt = NULL;
        size_t gl = 0;
        const char *gpath = schema_path ? schema_path : gbnf_path;
        hearth_status gs = hearth_read_file(gpath, &gt, &gl);
        if (gs == HEARTH_OK)
            gs = schema_path ? hearth_grammar_from_schema(gt, gl, &grammar) : hearth_grammar_from_gbnf(gt, gl, NULL, &grammar);
        free(gt);
        if (gs != HEARTH_OK) {
            cli_error("run", "%s: %s", gpath, hearth_last_error());
            hearth_grammar_free(grammar);
            return 2;
        }
    }

    char *file_text = NULL;
    size_t prompt_len = 0;
    if (file) {
        if (strcmp(file, "-") == 0) {
            if (hearth_read_stream(stdin, "stdin", &file_text, &prompt_len) != HEARTH_OK) return cli_lib_error("run");
        } else if (hearth_read_file(file, &file_text, &prompt_len) != HEARTH_OK) {
            return cli_lib_error("run");
        }
        prompt = file_text;
    } else {
        prompt_len = strlen(prompt);
    }

    model_path = cli_model_or_default("run", model_path);
    if (!model_path) { free(file_text); return 1; }
    hearth_model *model = NULL;
    hearth_context *ctx = NULL;
    hearth_clip *clip = NULL;
    hearth_image img = {0};
    float *img_embd = NULL;
    int32_t *mm_ids = NULL;
    size_t mm_n = 0;
    int rc = 0;
    if (hearth_model_load(model_path, NULL, &model) != HEARTH_OK) { rc = cli_lib_error("run"); goto out; }
    if (grammar && (hearth_grammar_vocab_from(hearth_model_vocab(model), &gvocab) != HEARTH_OK ||
                    hearth_grammar_constraint_vocab(grammar, gvocab, &constraint) != HEARTH_OK)) {
        rc = cli_lib_error("run");
        goto out;
    }
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = gen_default_ctx(model, (int32_t)n_ctx);
    cp.n_threads = (int)n_threads;
    if (hearth_context_create(model, &cp, &ctx) != HEARTH_OK) { rc = cli_lib_error("run"); goto out; }
    if ((rc = gen_apply_lora(&go, model, ctx, "run")) != 0) goto out;

    hearth_generate_params gp = hearth_generate_default_params();
    gp.sampling = go.sampling;
    gp.max_tokens = (int32_t)n_predict;
    gp.ignore_eos = ignore_eos;
    gp.stop = go.stop;
    gp.n_stop = go.n_stop;
    gp.on_text = json ? NULL : gen_stream_stdout;
    gp.constraint = constraint;
    gp.cancel = &g_cancel;
    signal(SIGINT, on_sigint);

    /* an image: encoded, and decoded where the prompt says <image> */
    if (image_path) {
        hearth_clip_params vp = hearth_clip_default_params();
        vp.n_threads = (int)n_threads;
        if (hearth_clip_load(mmproj, &vp, &clip) || hearth_clip_check_model(clip, model) ||
            hearth_image_load(image_path, 3, &img)) {
            rc = cli_lib_error("run");
            goto out;
        }
        img_embd = malloc(sizeof *img_embd * hearth_clip_n_tokens(clip) * hearth_clip_n_embd(clip));
        if (!img_embd) { rc = cli_error("run", "out of memory"); goto out; }
        if (hearth_clip_encode(clip, &img, img_embd) ||
            hearth_clip_prompt(hearth_model_vocab(model), prompt, prompt_len, &mm_ids, &mm_n, &gp.embd_at)) {
            rc = cli_lib_error("run");
            goto out;
        }
        gp.embd = img_embd;
        gp.n_embd_rows = hearth_clip_n_tokens(clip);
    }

    hearth_generation g;
    hearth_status gs = image_path ? hearth_generate_ids(ctx, model, mm_ids, mm_n, &gp, &g)
                                  : hearth_generate(ctx, model, prompt, prompt_len, &gp, &g);
    if (gs != HEARTH_OK) {
        fflush(stdout);
        rc = cli_lib_error("run");
        goto out;
    }
    if (json) {
        printf("{\"prompt_ids\": ");
        print_ids(g.prompt_ids, g.n_prompt);
        printf(", \"ids\": ");
        print_ids(g.ids, g.n_ids);
        printf(", \"text\": ");
        cli_json_str(stdout, g.text, g.text_len);
        printf(", \"stop_reason\": \"%s\", \"seed\": %llu, \"n_prompt\": %zu, \"n_generated\": %zu", hearth_stop_reason_str(g.stop_reason), (unsigned long long)gen_seed_used(&go),
               g.n_prompt, g.n_ids);
        if (image_path) printf(", \"n_image_pos\": %d", (int)gp.n_embd_rows);
        printf(", \"timings\": {\"prefill_s\": %.6f, \"generate_s\": %.6f}}\n", g.t_prefill_s, g.t_generate_s);
    } else {
        if (g.text_len && g.text[g.text_len - 1] != '\n') putchar('\n');
    }
    fflush(stdout);
    if (verbose) {
        fprintf(stderr, "hearth run: model %s, context %d, seed %llu\n", hearth_model_name(model),
                (int)hearth_context_n_ctx(ctx), (unsigned long long)gen_seed_used(&go));
        fprintf(stderr, "hearth run: prompt %zu tokens (%d prefilled) in %.3f s (%.1f tok/s)\n", g.n_prompt,
                (int)g.n_prefilled, g.t_prefill_s, g.t_prefill_s > 0 ? g.n_prefilled / g.t_prefill_s : 0.0);
        fprintf(stderr, "hearth run: generated %zu tokens in %.3f s (%.1f tok/s), stop: %s\n", g.n_ids,
                g.t_generate_s, g.t_generate_s > 0 ? g.n_ids / g.t_generate_s : 0.0,
                hearth_stop_reason_str(g.stop_reason));
    }
    if (g.stop_reason == HEARTH_STOP_CANCELLED) rc = 130;
    hearth_generation_clear(&g);
out:
    hearth_clip_free(clip);
    hearth_image_free(&img);
    free(img_embd);
    free(mm_ids);
    hearth_context_free(ctx);
    hearth_model_free(model);
    hearth_constraint_free(constraint);
    hearth_grammar_vocab_free(gvocab);
    hearth_grammar_free(grammar);
    free(file_text);
    gen_opts_free(&go);
    return rc;
}
