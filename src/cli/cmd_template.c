/*
 * cmd_template.c — `hearth template render`: renders a chat template (a
 * file, or the tokenizer.chat_template of a GGUF model) with a JSON context
 * and prints the result exactly, adding nothing. A template error (syntax,
 * render, or the template's own raise_exception) goes to stderr, exit 1.
 */
#include "cli.h"
#include "hearth/core.h"
#include "hearth/gguf.h"
#include "hearth/jinja.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cmd_template_summary = "render a chat template with a JSON context (debug templates)";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth template render (-t FILE.jinja | -m MODEL.gguf) --context CONTEXT.json [options]\n"
            "\n"
            "Renders a Jinja chat template as Hugging Face transformers does and prints the\n"
            "result to stdout exactly (no newline added). On a template error, or when the\n"
            "template calls raise_exception(msg), prints the message to stderr and exits 1.\n"
            "\n"
            "  -t, --template FILE   template source file\n"
            "  -m, --model FILE      GGUF model: uses its tokenizer.chat_template; bos_token and\n"
            "                        eos_token default to the model's BOS/EOS token texts\n"
            "  -c, --context FILE    JSON object: messages, add_generation_prompt, tools,\n"
            "                        bos_token, eos_token, ... ('-' reads stdin; default {})\n"
            "      --now TIME        time for strftime_now, 'YYYY-MM-DD HH:MM[:SS]' (default: now)\n"
            "      --max-steps N     evaluation step limit (default 10000000)\n"
            "      --max-output N    output byte limit (default 4194304)\n");
}

static bool parse_now(const char *s, struct tm *tm) {
    memset(tm, 0, sizeof *tm);
    int Y, M, D, h = 0, m = 0, sec = 0;
    int k = sscanf(s, "%d-%d-%d%*[ T]%d:%d:%d", &Y, &M, &D, &h, &m, &sec);
    if (k < 3 || k == 4) return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return false;
    tm->tm_year = Y - 1900;
    tm->tm_mon = M - 1;
    tm->tm_mday = D;
    tm->tm_hour = h;
    tm->tm_min = m;
    tm->tm_sec = sec;
    tm->tm_isdst = -1;
    time_t t = timegm(tm);   /* fills tm_wday / tm_yday */
    gmtime_r(&t, tm);
    return true;
}

/* text of token `id` in the model's vocabulary, as a JSON string into o */
static bool token_text(hearth_gguf *g, const char *key, char **o) {
    int64_t id;
    hearth_gguf_arr toks;
    if (hearth_gguf_get_int(g, key, &id) != HEARTH_OK) return false;
    if (hearth_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) != HEARTH_OK || id < 0 || (uint64_t)id >= toks.n)
        return false;
    hearth_str s = hearth_gguf_arr_str(&toks, (uint64_t)id);
    char *t = malloc(s.len + 1);
    if (!t) return false;
    memcpy(t, s.ptr, s.len);
    t[s.len] = 0;
    cJSON *js = cJSON_CreateString(t);
    free(t);
    if (!js) return false;
    *o = cJSON_PrintUnformatted(js);
    cJSON_Delete(js);
    return *o != NULL;
}

/* "{...}" -> "{"bos_token":B,"eos_token":E, ...}" (the context's own keys come later and win) */
static char *add_defaults(const char *ctx, const char *bos, const char *eos) {
    const char *p = ctx;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != '{') return NULL;
    const char *q = p + 1;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
    bool empty = *q == '}';
    size_t n = strlen(ctx) + (bos ? strlen(bos) : 0) + (eos ? strlen(eos) : 0) + 64;
    char *r = malloc(n);
    if (!r) return NULL;
    size_t o = 0;
    o += (size_t)snprintf(r + o, n - o, "{");
    if (bos) o += (size_t)snprintf(r + o, n - o, "\"bos_token\":%s%s", bos, eos || !empty ? "," : "");
    if (eos) o += (size_t)snprintf(r + o, n - o, "\"eos_token\":%s%s", eos, !empty ? "," : "");
    snprintf(r + o, n - o, "%s", p + 1);
    return r;
}

static int render_cmd(int argc, char **argv) {
    const char *tfile = NULL, *model = NULL, *cfile = NULL, *now_s = NULL;
    int64_t max_steps = 0, max_output = 0;
    cli_args a = cli_args_init("template render", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-t", "--template", &tfile)) continue;
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, "-c", "--context", &cfile)) continue;
        if (cli_opt(&a, NULL, "--now", &now_s)) continue;
        if (cli_opt_int(&a, NULL, "--max-steps", &max_steps)) continue;
        if (cli_opt_int(&a, NULL, "--max-output", &max_output)) continue;
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("template render", "unexpected argument '%s'", a.pos[0]), 2;
    if (!tfile == !model) {
        cli_error("template render", "give exactly one of -t FILE.jinja or -m MODEL.gguf");
        return 2;
    }
    hearth_jinja_options opt = hearth_jinja_default_options();
    struct tm now;
    if (now_s) {
        if (!parse_now(now_s, &now)) {
            cli_error("template render", "--now: expected 'YYYY-MM-DD HH:MM[:SS]', got '%s'", now_s);
            return 2;
        }
        opt.now = &now;
    }
    if (max_steps > 0) opt.max_steps = max_steps;
    if (max_output > 0) opt.max_output = (size_t)max_output;

    char *src = NULL, *ctx = NULL, *bos = NULL, *eos = NULL;
    size_t src_len = 0, ctx_len = 0;
    int rc = 1;
    if (tfile) {
        if (hearth_read_file(tfile, &src, &src_len) != HEARTH_OK) return cli_lib_error("template render");
    } else {
        hearth_gguf *g = NULL;
        if (hearth_gguf_open(model, &g) != HEARTH_OK) return cli_lib_error("template render");
        hearth_str s;
        if (hearth_gguf_get_str(g, "tokenizer.chat_template", &s) != HEARTH_OK) {
            hearth_gguf_close(g);
            return cli_error("template render", "%s has no tokenizer.chat_template", model);
        }
        src = malloc(s.len + 1);
        if (src) {
            memcpy(src, s.ptr, s.len);
            src[s.len] = 0;
            src_len = s.len;
        }
        token_text(g, "tokenizer.ggml.bos_token_id", &bos);
        token_text(g, "tokenizer.ggml.eos_token_id", &eos);
        hearth_gguf_close(g);
        if (!src) return cli_error("template render", "out of memory");
    }
    if (!cfile) {
        ctx = strdup("{}");
        ctx_len = 2;
    } else if (strcmp(cfile, "-") == 0) {
        if (hearth_read_stream(stdin, "stdin", &ctx, &ctx_len) != HEARTH_OK) {
            cli_lib_error("template render");
            goto done;
        }
    } else if (hearth_read_file(cfile, &ctx, &ctx_len) != HEARTH_OK) {
        cli_lib_error("template render");
        goto done;
    }
    if (bos || eos) {
        char *c2 = add_defaults(ctx, bos, eos);
        if (c2) {
            free(ctx);
            ctx = c2;
            ctx_len = strlen(c2);
        }
    }
    hearth_jinja_template *t = NULL;
    if (hearth_jinja_parse(src, src_len, &t) != HEARTH_OK) {
        fprintf(stderr, "%s\n", hearth_last_error());
        goto done;
    }
    char *out = NULL;
    size_t out_len = 0;
    hearth_status st = hearth_jinja_render_json(t, ctx, ctx_len, &opt, &out, &out_len);
    hearth_jinja_free(t);
    if (st != HEARTH_OK) {
        fprintf(stderr, "%s\n", hearth_last_error());
        goto done;
    }
    fwrite(out, 1, out_len, stdout);
    fflush(stdout);
    free(out);
    rc = 0;
done:
    free(src);
    free(ctx);
    free(bos);
    free(eos);
    return rc;
}

int cmd_template(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "render") == 0) return render_cmd(argc - 1, argv + 1);
    cli_error("template", "unknown subcommand '%s' (expected: render)", argv[1]);
    return 2;
}
