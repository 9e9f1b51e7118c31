/*
 * cmd_chat.c — `hearth chat`: an interactive multi-turn conversation on a
 * terminal (or over a pipe), with the model's chat format applied and the
 * KV cache kept between turns: each turn renders the whole conversation,
 * and only the tokens after the longest prefix already in the cache are
 * prefilled.
 *
 * Rendering: the model's own chat template through the Jinja engine when it
 * has one; the built-in format (generate.h) when it has none, when the
 * template fails, or when --chat-format names one.
 */
#include "cli.h"
#include "gen_opts.h"
#include "core/buf.h"
#include "core/lines.h"

#include "hearth/generate.h"
#include "hearth/chat.h"
#include "hearth/clip.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cmd_chat_summary = "interactive chat with a model (its chat format applied)";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth chat [-m MODEL] [--system TEXT] [options]\n"
            "\n"
            "Reads your messages from stdin, one per line, and streams the model's replies.\n"
            "Commands: /reset forgets the conversation, /image PATH attaches an image to your\n"
            "next message (needs --mmproj), /exit (or end of input) quits.\n"
            "\n"
            "  -m, --model FILE          GGUF model (default: $HEARTH_MODEL or the bundled model)\n"
            "      --system TEXT         system message\n"
            "      --mmproj FILE         image encoder (llama.cpp mmproj GGUF) for /image (LLaVA)\n"
            "      --chat-format NAME    use a built-in format instead of the model's template: chatml,\n"
            "                            llama2, llama3, llama3.1, mistral, mistral-v1, zephyr, gemma,\n"
            "                            phi3, deepseek-r1, alpaca (default: the model's template through\n"
            "                            the Jinja engine, or the built-in format that matches it)\n"
            "  -n, --n-predict N         at most N tokens per reply (default -1: until the model ends it)\n"
            "  -c, --ctx-size N          context size in tokens (default: the model's, at most 4096)\n"
            "  -t, --threads N           threads (default: all CPUs)\n"
            "      --stop STR            also end a reply at STR (repeatable)\n"
            "  -v, --verbose             chat format and speed on stderr\n"
            "%s",
            GEN_SAMPLING_HELP);
}

/* ---- Ctrl-C: stop the reply; a second one (or one at the prompt) quits ---- */
static volatile int g_cancel, g_generating;
static void on_sigint(int sig) {
    (void)sig;
    if (!g_generating || g_cancel) _exit(130);
    g_cancel = 1;
}

/* ---- the conversation ---------------------------------------------------- */
typedef struct convo {
    hearth_chat_message *m;
    size_t n, cap;
    size_t n_fixed;   /* leading messages never dropped (the system message) */
} convo;

static bool convo_push(convo *c, const char *role, const char *content, size_t len) {
    if (!HEARTH_GROW(c->m, c->cap, c->n + 1)) return false;
    char *s = malloc(len + 1);
    if (!s) return false;
    memcpy(s, content, len);
    s[len] = 0;
    c->m[c->n].role = role;
    c->m[c->n].content = s;
    c->n++;
    return true;
}

static void convo_drop(convo *c, size_t i, size_t k) {
    for (size_t j = i; j < i + k; j++) free((char *)c->m[j].content);
    memmove(c->m + i, c->m + i + k, (c->n - i - k) * sizeof *c->m);
    c->n -= k;
}

static void convo_free(convo *c) {
    convo_drop(c, 0, c->n);
    free(c->m);
}

/* drops the oldest user turn and its reply; false if only the current one is left */
static bool convo_drop_oldest(convo *c) {
    size_t i = c->n_fixed;
    if (i + 1 >= c->n) return false;   /* the last message is the current user turn */
    size_t k = 1;
    while (i + k < c->n - 1 && strcmp(c->m[i + k].role, "user") != 0) k++;
    convo_drop(c, i, k);
    return true;
}

/* ---- images (/image PATH): one at a time, in the user message it came with ---- */
#define IMAGE_TAG "<image>\n"

/* removes the image tag from the message that holds it (a new image replaces it) */
static void convo_untag_image(convo *c) {
    for (size_t i = 0; i < c->n; i++) {
        char *s = (char *)c->m[i].content;
        if (strncmp(s, IMAGE_TAG, strlen(IMAGE_TAG)) == 0) memmove(s, s + strlen(IMAGE_TAG), strlen(s) - strlen(IMAGE_TAG) + 1);
    }
}

/* the rendered conversation's ids with the image between ids[*at - 1] and
 * ids[*at] (text before it as a chat text, the rest without BOS); false: no image in it */
static hearth_status tokenize_with_image(const hearth_vocab *v, const char *text, int32_t **ids, size_t *n,
                                         int32_t *at, bool *has_image) {
    *has_image = strstr(text, "<image>") != NULL;
    if (!*has_image) return hearth_chat_tokenize(v, text, ids, n);
    return hearth_clip_prompt(v, text, strlen(text), ids, n, at);
}

int cmd_chat(int argc, char **argv) {
    const char *model_path = NULL, *system = NULL, *format_name = NULL, *mmproj = NULL;
    int64_t n_predict = -1, n_ctx = 0, n_threads = 0;
    bool verbose = false;
    gen_opts go;
    gen_opts_init(&go);

    cli_args a = cli_args_init("chat", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model_path)) continue;
        if (cli_opt(&a, NULL, "--system", &system)) continue;
        if (cli_opt(&a, NULL, "--mmproj", &mmproj)) continue;
        if (cli_opt(&a, NULL, "--chat-format", &format_name)) continue;
        if (cli_opt_int(&a, "-n", "--n-predict", &n_predict)) continue;
        if (cli_opt_int(&a, "-c", "--ctx-size", &n_ctx)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &n_threads)) continue;
        if (cli_flag(&a, "-v", "--verbose")) { verbose = true; continue; }
        if (gen_opts_parse(&go, &a)) continue;
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("chat", "unexpected argument '%s'", a.pos[0]), 2;
    if (n_predict < -1 || n_predict > INT32_MAX) return cli_error("chat", "-n must be -1 or more, got %lld", (long long)n_predict), 2;
    if (n_ctx < 0 || n_ctx > INT32_MAX) return cli_error("chat", "-c must be 0 or more, got %lld", (long long)n_ctx), 2;
    if (n_threads < 0 || n_threads > 4096) return cli_error("chat", "-t must be 0 or more, got %lld", (long long)n_threads), 2;
    if (gen_opts_check(&go, "chat") != 0) return 2;
    hearth_chat_format named;
    if (format_name && hearth_chat_format_from_name(format_name, &named) != HEARTH_OK) return cli_lib_error("chat"), 2;

    model_path = cli_model_or_default("chat", model_path);
    if (!model_path) return 1;
    hearth_model *model = NULL;
    hearth_context *ctx = NULL;
    convo cv = {0};
    int32_t *cache = NULL;
    size_t n_cache = 0;
    hearth_chat_policy *policy = NULL;
    hearth_clip *clip = NULL;
    float *img_embd = NULL;      /* the current image's embeddings */
    bool img_pending = false;    /* attach it to the next message */
    hearth_lines input;   /* the user's turns, one a line */
    hearth_lines_file(&input, stdin);
    int rc = 0;
    if (hearth_model_load(model_path, NULL, &model) != HEARTH_OK) { rc = cli_lib_error("chat"); goto out; }
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = gen_default_ctx(model, (int32_t)n_ctx);
    cp.n_threads = (int)n_threads;
    if (hearth_context_create(model, &cp, &ctx) != HEARTH_OK) { rc = cli_lib_error("chat"); goto out; }
    if ((rc = gen_apply_lora(&go, model, ctx, "chat")) != 0) goto out;
    const hearth_vocab *vocab = hearth_model_vocab(model);
    int32_t ctx_size = hearth_context_n_ctx(ctx);
    if (mmproj) {
        hearth_clip_params vp = hearth_clip_default_params();
        vp.n_threads = (int)n_threads;
        if (hearth_clip_load(mmproj, &vp, &clip) || hearth_clip_check_model(clip, model)) {
            rc = cli_lib_error("chat");
            goto out;
        }
        img_embd = malloc(sizeof *img_embd * hearth_clip_n_tokens(clip) * hearth_clip_n_embd(clip));
        if (!img_embd) { rc = cli_error("chat", "out of memory"); goto out; }
    }

    /* the library's chat policy: the model's template, else the detected (or named) built-in format */
    hearth_chat_params chp = hearth_chat_default_params();
    chp.format = format_name;
    chp.fallback_on_refusal = true;   /* interactive: keep going with the built-in format */
    if (hearth_chat_policy_create(model, &chp, &policy) != HEARTH_OK) { rc = cli_lib_error("chat"); goto out; }
    const char *stops[GEN_MAX_STOP + 8];
    size_t n_stops = 0;
    for (const char *const *s = hearth_chat_policy_stops(policy); *s && n_stops < 8; s++) stops[n_stops++] = *s;
    for (size_t i = 0; i < go.n_stop; i++) stops[n_stops++] = go.stop[i];
    if (verbose)
        fprintf(stderr, "hearth chat: model %s, chat format %s%s, context %d, seed %llu\n", hearth_model_name(model),
                hearth_chat_policy_has_template(policy) ? "the model's template, else " : "",
                hearth_chat_format_name(hearth_chat_policy_format(policy)->kind), (int)ctx_size,
                (unsigned long long)gen_seed_used(&go));
    bool told_fallback = false;

    if (system && !convo_push(&cv, "system", system, strlen(system))) { rc = cli_error("chat", "out of memory"); goto out; }
    cv.n_fixed = cv.n;
    signal(SIGINT, on_sigint);
    bool tty = isatty(0);
    int32_t reserve = n_predict > 0 ? (int32_t)n_predict : ctx_size / 4;
    if (reserve < 1) reserve = 1;
    uint64_t turn = 0;

    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        const char *line;
        size_t got;
        if (!hearth_lines_next(&input, &line, &got)) break;
        if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0) break;
        if (strcmp(line, "/reset") == 0) {
            convo_drop(&cv, cv.n_fixed, cv.n - cv.n_fixed);
            hearth_context_truncate(ctx, 0);
            n_cache = 0;
            fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        if (strncmp(line, "/image", 6) == 0 && (line[6] == ' ' || line[6] == 0)) {
            const char *path = line + 6;
            while (*path == ' ') path++;
            hearth_image img;
            if (!clip)
                fprintf(stderr, "(/image needs an image encoder: start hearth chat with --mmproj P.gguf)\n");
            else if (!*path)
                fprintf(stderr, "(usage: /image PATH)\n");
            else if (hearth_image_load(path, 3, &img) != HEARTH_OK)
                fprintf(stderr, "(%s)\n", hearth_last_error());
            else {
                hearth_status st = hearth_clip_encode(clip, &img, img_embd);
                if (st) fprintf(stderr, "(%s)\n", hearth_last_error());
                else fprintf(stderr, "(image %d x %d: %d positions, sent with your next message)\n", img.w, img.h,
                             (int)hearth_clip_n_tokens(clip));
                img_pending = st == HEARTH_OK;
                hearth_image_free(&img);
            }
            continue;
        }
        if (got == 0) continue;
        if (img_pending) {   /* the image goes first in this message; an earlier one is forgotten */
            convo_untag_image(&cv);
            char *with = malloc(strlen(IMAGE_TAG) + (size_t)got + 1);
            if (!with) { rc = cli_error("chat", "out of memory"); goto out; }
            memcpy(with, IMAGE_TAG, strlen(IMAGE_TAG));
            memcpy(with + strlen(IMAGE_TAG), line, (size_t)got);
            bool ok = convo_push(&cv, "user", with, strlen(IMAGE_TAG) + (size_t)got);
            free(with);
            if (!ok) { rc = cli_error("chat", "out of memory"); goto out; }
            img_pending = false;
        } else if (!convo_push(&cv, "user", line, (size_t)got)) { rc = cli_error("chat", "out of memory"); goto out; }

        /* render; drop the oldest turns while the prompt and a reply do not fit */
        int32_t *ids = NULL;
        size_t n_ids = 0;
        int32_t img_at = 0;
        bool dropped = false, skip = false, with_image = false;
        for (;;) {
            char *text = NULL;
            bool used_template = false;
            hearth_status st = hearth_chat_policy_render(policy, cv.m, cv.n, true, &text, &used_template);
            if (st == HEARTH_ERR_INVALID_ARG) {   /* the template refuses this conversation */
                fprintf(stderr, "(%s — not sent; --chat-format NAME uses a built-in format)\n", hearth_last_error());
                convo_drop(&cv, cv.n - 1, 1);
                skip = true;
                break;
            }
            if (st != HEARTH_OK ||
                (clip ? tokenize_with_image(vocab, text, &ids, &n_ids, &img_at, &with_image)
                      : hearth_chat_tokenize(vocab, text, &ids, &n_ids)) != HEARTH_OK) {
                free(text);
                rc = cli_lib_error("chat");
                goto out;
            }
            free(text);
            if (hearth_chat_policy_has_template(policy) && !used_template && !told_fallback) {
                fprintf(stderr, "(the model's chat template failed: %s; using the built-in %s format)\n",
                        hearth_last_error(), hearth_chat_format_name(hearth_chat_policy_format(policy)->kind));
                told_fallback = true;
            }
            int64_t n_img = with_image ? hearth_clip_n_tokens(clip) : 0;
            if ((int64_t)n_ids + n_img + reserve <= ctx_size) break;
            if (convo_drop_oldest(&cv)) {
                dropped = true;
                free(ids);
                ids = NULL;
                continue;
            }
            if ((int64_t)n_ids + n_img < ctx_size) break;   /* fits, with less room for the reply */
            fprintf(stderr, "(your message is %zu tokens with the chat format; the context holds %d — not sent)\n",
                    n_ids, (int)ctx_size);
            convo_drop(&cv, cv.n - 1, 1);
            free(ids);
            ids = NULL;
            skip = true;
            break;
        }
        if (skip) continue;
        if (dropped) fprintf(stderr, "(context full: the oldest turns were dropped)\n");

        /* reuse the longest prefix already in the KV cache */
        size_t valid = n_cache < (size_t)hearth_context_n_past(ctx) ? n_cache : (size_t)hearth_context_n_past(ctx);
        size_t reuse = 0;
        while (reuse < valid && reuse < n_ids && cache[reuse] == ids[reuse]) reuse++;

        hearth_generate_params gp = hearth_generate_default_params();
        gp.sampling = go.sampling;
        gp.sampling.seed = go.sampling.seed + turn++;   /* reproducible, not the same draws every turn */
        gp.max_tokens = (int32_t)n_predict;
        gp.stop = stops;
        gp.n_stop = n_stops;
        gp.n_reuse = (int32_t)reuse;
        if (with_image) {   /* the image's positions: prefilled again every turn (no reuse) */
            gp.embd = img_embd;
            gp.n_embd_rows = hearth_clip_n_tokens(clip);
            gp.embd_at = img_at;
        }
        gp.on_text = gen_stream_stdout;
        gp.cancel = &g_cancel;
        g_cancel = 0;
        g_generating = 1;
        hearth_generation g;
        hearth_status st = hearth_generate_ids(ctx, model, ids, n_ids, &gp, &g);
        g_generating = 0;
        free(ids);
        if (st != HEARTH_OK) {
            rc = cli_lib_error("chat");
            goto out;
        }
        fputc('\n', stdout);
        fflush(stdout);
        if (g.stop_reason == HEARTH_STOP_CANCELLED) fprintf(stderr, "(reply interrupted)\n");
        if (verbose)
            fprintf(stderr, "[prompt %zu tokens, %d prefilled, reply %zu tokens, %.1f tok/s, stop: %s]\n", g.n_prompt,
                    (int)g.n_prefilled, g.n_ids, g.t_generate_s > 0 ? g.n_ids / g.t_generate_s : 0.0,
                    hearth_stop_reason_str(g.stop_reason));
        if (!convo_push(&cv, "assistant", g.text, g.text_len)) {
            hearth_generation_clear(&g);
            rc = cli_error("chat", "out of memory");
            goto out;
        }
        /* what the KV cache now holds: the prompt and the decoded part of the reply */
        size_t n_past = (size_t)hearth_context_n_past(ctx);
        int32_t *nc = realloc(cache, (g.n_prompt + g.n_ids) * sizeof *nc);
        if (nc) {
            cache = nc;
            memcpy(cache, g.prompt_ids, g.n_prompt * sizeof *cache);
            memcpy(cache + g.n_prompt, g.ids, g.n_ids * sizeof *cache);
            n_cache = n_past < g.n_prompt + g.n_ids ? n_past : g.n_prompt + g.n_ids;
            if (with_image) n_cache = (size_t)img_at;   /* positions after the image are not the ids' */
        } else {
            n_cache = 0;
        }
        hearth_generation_clear(&g);
    }
out:
    hearth_clip_free(clip);
    free(img_embd);
    hearth_lines_free(&input);
    hearth_chat_policy_free(policy);
    free(cache);
    convo_free(&cv);
    hearth_context_free(ctx);
    hearth_model_free(model);
    gen_opts_free(&go);
    return rc;
}
