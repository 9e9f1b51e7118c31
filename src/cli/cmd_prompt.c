/*
 * cmd_prompt.c — `hearth prompt add|list|show|history|label|render|run|eval`:
 * the versioned prompt library (include/hearth/prompt_library.h) from the
 * command line. The database is --db PATH, else $HEARTH_PROMPTS_DB, else
 * ./prompts.db.
 */
#include "cli.h"
#include "core/buf.h"
#include "hearth/core.h"
#include "hearth/prompt_library.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const cmd_prompt_summary = "versioned prompt library: add, label, run, evaluate prompts";

static void usage(void) {
    printf("usage: hearth prompt COMMAND [options]\n\n"
           "  add NAME FILE [--author A]        store FILE (YAML or JSON spec; - for stdin) as the next\n"
           "                                    version of NAME; prints NAME@VERSION\n"
           "  list [--json]                     prompts, their latest version and labels\n"
           "  show NAME[@LABEL|@N] [--json]     a version's spec, author, time and labels\n"
           "  history NAME [--json]             every label move of NAME, oldest first\n"
           "  label NAME LABEL VERSION [--admin] [--actor A]\n"
           "                                    point LABEL at VERSION (production needs --admin)\n"
           "  render REF [--var k=v ...]        the chat messages REF gives (no model)\n"
           "  run REF [--var k=v ...] [-m MODEL] generate the reply with a model (default: hearth's own)\n"
           "  eval SUITE.yaml [-m MODEL ...] [--json-out F] [--html-out F]\n"
           "                                    run a suite of cases across versions and models;\n"
           "                                    exit 1 when an assertion fails\n\n"
           "REF is NAME (latest version), NAME@LABEL or NAME@VERSION.\n\n"
           "options:\n"
           "      --db PATH          the prompts database ($HEARTH_PROMPTS_DB, else ./prompts.db)\n"
           "      --var K=V          a variable (repeatable); V is read as the variable's declared type\n"
           "      --vars JSON        variables as one JSON object\n"
           "      --embedder FILE    embedding model (BERT/BGE GGUF) for few-shot selection and similar-to\n"
           "  -m, --model FILE       model for run / eval (repeatable in eval)\n"
           "      --seed S           seed when the prompt sets none (run, eval; default 1 in eval)\n"
           "  -t, --threads N        threads (default: all cores)\n"
           "      --json             machine-readable output\n");
}

#define MAX_VARS 64
#define MAX_MODELS 8

typedef struct opts {
    const char *db, *author, *actor, *embedder, *vars_json, *json_out, *html_out;
    const char *var[MAX_VARS];
    int n_var;
    const char *model[MAX_MODELS];
    int n_model;
    int64_t seed, threads;
    bool json, admin;
} opts;

static void print_json_text(const char *s) {
    fputs(s, stdout);
    fputc('\n', stdout);
}

/* --var k=v ... (or --vars) as one JSON object of strings; NULL after an error */
static char *vars_object(const opts *o) {
    if (o->vars_json) return strdup(o->vars_json);
    hearth_buf b = {0};
    hearth_buf_putc(&b, '{');
    for (int i = 0; i < o->n_var; i++) {
        const char *eq = strchr(o->var[i], '=');
        if (!eq || eq == o->var[i]) {
            cli_error("prompt", "--var expects NAME=VALUE, got '%s'", o->var[i]);
            hearth_buf_free(&b);
            return NULL;
        }
        if (i) hearth_buf_putc(&b, ',');
        hearth_buf_json_str(&b, o->var[i], (size_t)(eq - o->var[i]));
        hearth_buf_putc(&b, ':');
        hearth_buf_json_str(&b, eq + 1, strlen(eq + 1));
    }
    hearth_buf_putc(&b, '}');
    return hearth_buf_take(&b, NULL);
}

/* loads the --embedder model into *m / *e (both NULL when not given); 0 or an exit code */
static int load_embedder(const opts *o, hearth_model **m, hearth_embedder **e) {
    *m = NULL;
    *e = NULL;
    if (!o->embedder) return 0;
    hearth_embed_params ep = hearth_embed_default_params();
    ep.n_threads = (int)o->threads;
    if (hearth_model_load(o->embedder, NULL, m) || hearth_embedder_create(*m, &ep, e)) {
        hearth_model_free(*m);
        *m = NULL;
        return cli_lib_error("prompt");
    }
    return 0;
}

static bool stream_stdout(const char *text, size_t len, void *user) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

static int cmd_add(hearth_prompt_lib *lib, const cli_args *a, const opts *o) {
    if (a->n_pos != 3) return cli_error("prompt", "usage: hearth prompt add NAME FILE"), 2;
    char *text = NULL;
    size_t len = 0;
    hearth_status st = !strcmp(a->pos[2], "-") ? hearth_read_stream(stdin, "stdin", &text, &len)
                                              : hearth_read_file(a->pos[2], &text, &len);
    if (st) return cli_lib_error("prompt");
    int32_t v = 0;
    const char *author = o->author ? o->author : getenv("USER");
    st = hearth_prompt_add(lib, a->pos[1], text, len, author ? author : "", &v);
    free(text);
    if (st) return cli_error("prompt", "%s: %s", a->pos[2], hearth_last_error());
    if (o->json) printf("{\"name\": \"%s\", \"version\": %d}\n", a->pos[1], (int)v);
    else printf("%s@%d\n", a->pos[1], (int)v);
    return 0;
}

static int cmd_list(hearth_prompt_lib *lib, const opts *o) {
    char *out = NULL;
    if (hearth_prompt_list_json(lib, &out)) return cli_lib_error("prompt");
    if (o->json) {
        print_json_text(out);
    } else {
        cJSON *l = cJSON_Parse(out);
        printf("%-24s %7s  %s\n", "NAME", "LATEST", "LABELS");
        const cJSON *p, *lab;
        cJSON_ArrayForEach(p, l) {
            printf("%-24s %7d  ", cJSON_GetObjectItem(p, "name")->valuestring,
                   cJSON_GetObjectItem(p, "latest")->valueint);
            cJSON_ArrayForEach(lab, cJSON_GetObjectItem(p, "labels")) {
                printf("%s=%d ", lab->string, lab->valueint);
            }
            putchar('\n');
        }
        cJSON_Delete(l);
    }
    free(out);
    return 0;
}

static int cmd_show(hearth_prompt_lib *lib, const cli_args *a, const opts *o) {
    if (a->n_pos != 2) return cli_error("prompt", "usage: hearth prompt show NAME[@LABEL|@VERSION]"), 2;
    char *out = NULL;
    if (hearth_prompt_get_json(lib, a->pos[1], &out)) return cli_lib_error("prompt");
    cJSON *j = cJSON_Parse(out);
    if (o->json) {
        print_json_text(out);
    } else {
        printf("%s@%d by %s", cJSON_GetObjectItem(j, "name")->valuestring, cJSON_GetObjectItem(j, "version")->valueint,
               cJSON_GetObjectItem(j, "author")->valuestring);
        const cJSON *lab;
        cJSON_ArrayForEach(lab, cJSON_GetObjectItem(j, "labels")) {
            printf(" [%s]", lab->valuestring);
        }
        char *spec = cJSON_Print(cJSON_GetObjectItem(j, "spec"));
        printf("\n%s\n", spec ? spec : "");
        free(spec);
    }
    cJSON_Delete(j);
    free(out);
    return 0;
}

static int cmd_history(hearth_prompt_lib *lib, const cli_args *a, const opts *o) {
    if (a->n_pos != 2) return cli_error("prompt", "usage: hearth prompt history NAME"), 2;
    char *out = NULL;
    if (hearth_prompt_history_json(lib, a->pos[1], &out)) return cli_lib_error("prompt");
    if (o->json) {
        print_json_text(out);
    } else {
        cJSON *h = cJSON_Parse(out);
        const cJSON *e;
        cJSON_ArrayForEach(e, h) {
            printf("%.0f  %-12s %d -> %d  by %s\n", cJSON_GetObjectItem(e, "time_ms")->valuedouble,
                   cJSON_GetObjectItem(e, "label")->valuestring, cJSON_GetObjectItem(e, "from")->valueint,
                   cJSON_GetObjectItem(e, "to")->valueint, cJSON_GetObjectItem(e, "actor")->valuestring);
        }
        cJSON_Delete(h);
    }
    free(out);
    return 0;
}

static int cmd_label(hearth_prompt_lib *lib, const cli_args *a, const opts *o) {
    int64_t v = 0;
    if (a->n_pos != 4 || !cli_parse_int(a->pos[3], &v) || v < 1 || v > INT32_MAX)
        return cli_error("prompt", "usage: hearth prompt label NAME LABEL VERSION"), 2;
    const char *actor = o->actor ? o->actor : getenv("USER");
    if (hearth_prompt_label(lib, a->pos[1], a->pos[2], (int32_t)v, actor ? actor : "", o->admin))
        return cli_lib_error("prompt");
    printf("%s@%s -> %d\n", a->pos[1], a->pos[2], (int)v);
    return 0;
}

static int cmd_render_run(hearth_prompt_lib *lib, const cli_args *a, const opts *o, bool run) {
    if (a->n_pos != 2) return cli_error("prompt", "usage: hearth prompt %s REF [--var k=v ...]", run ? "run" : "render"), 2;
    char *vars = vars_object(o);
    if (!vars) return 2;
    hearth_model *em = NULL, *model = NULL;
    hearth_embedder *e = NULL;
    hearth_prompt_runner *r = NULL;
    hearth_prompt_output out = {0};
    char *rendered = NULL;
    int rc = load_embedder(o, &em, &e);
    if (rc) goto done;
    hearth_prompt_render_params rp = hearth_prompt_render_default_params();
    rp.embedder = e;
    rp.from_strings = !o->vars_json;
    if (hearth_prompt_render_json(lib, a->pos[1], vars, strlen(vars), &rp, &rendered)) {
        rc = cli_lib_error("prompt");
        goto done;
    }
    if (!run) {
        print_json_text(rendered);
        goto done;
    }
    const char *path = cli_model_or_default("prompt", o->n_model ? o->model[0] : NULL);
    if (!path) {
        rc = 1;
        goto done;
    }
    hearth_prompt_runner_params pp = hearth_prompt_runner_default_params();
    pp.n_threads = (int)o->threads;
    pp.seed = o->seed;
    if (hearth_model_load(path, NULL, &model) || hearth_prompt_runner_create(model, &pp, &r) ||
        hearth_prompt_runner_run(r, rendered, o->json ? NULL : stream_stdout, NULL, &out)) {
        fflush(stdout);
        rc = cli_lib_error("prompt");
        goto done;
    }
    if (o->json) {
        printf("{\"text\": ");
        cli_json_str(stdout, out.text, strlen(out.text));
        printf(", \"reasoning\": ");
        cli_json_str(stdout, out.reasoning, strlen(out.reasoning));
        printf(", \"answer\": ");
        cli_json_str(stdout, out.answer, strlen(out.answer));
        printf(", \"n_prompt\": %d, \"n_generated\": %d, \"latency_ms\": %.1f, \"stop_reason\": \"%s\"}\n",
               (int)out.n_prompt, (int)out.n_generated, out.latency_ms, hearth_stop_reason_str(out.stop));
    } else {
        putchar('\n');
    }
done:
    hearth_prompt_output_clear(&out);
    hearth_prompt_runner_free(r);
    hearth_model_free(model);
    hearth_embedder_free(e);
    hearth_model_free(em);
    free(rendered);
    free(vars);
    return rc;
}

/* one table row per run as it finishes */
static void print_result(const char *json, void *user) {
    (void)user;
    cJSON *r = cJSON_Parse(json);
    bool ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "passed"));
    const cJSON *v = cJSON_GetObjectItem(r, "version"), *lat = cJSON_GetObjectItem(r, "latency_ms");
    const cJSON *tok = cJSON_GetObjectItem(r, "tokens");
    char ver[16] = "-";
    if (cJSON_IsNumber(v)) snprintf(ver, sizeof ver, "v%d", v->valueint);
    printf("%-4s  %-22.22s %-22.22s %-4s %-22.22s %8.0f %6d", ok ? "ok" : "FAIL",
           cJSON_GetObjectItem(r, "case")->valuestring, cJSON_GetObjectItem(r, "prompt")->valuestring, ver,
           cJSON_GetObjectItem(r, "model")->valuestring, cJSON_IsNumber(lat) ? lat->valuedouble : 0,
           cJSON_IsNumber(tok) ? tok->valueint : 0);
    const cJSON *err = cJSON_GetObjectItem(r, "error"), *a;
    if (cJSON_IsString(err)) printf("  error: %s", err->valuestring);
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(r, "assertions")) if (!cJSON_IsTrue(cJSON_GetObjectItem(a, "passed")))
        printf("  %s: %s", cJSON_GetObjectItem(a, "type")->valuestring, cJSON_GetObjectItem(a, "detail")->valuestring);
    putchar('\n');
    fflush(stdout);
    cJSON_Delete(r);
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = false;   /* closed once, whatever happened */
    return ok ? 0 : cli_error("prompt", "cannot write %s", path);
}

static int cmd_eval(hearth_prompt_lib *lib, const cli_args *a, const opts *o) {
    if (a->n_pos != 2) return cli_error("prompt", "usage: hearth prompt eval SUITE.yaml"), 2;
    char *text = NULL, *res = NULL, *html = NULL;
    size_t len = 0;
    if (hearth_read_file(a->pos[1], &text, &len)) return cli_lib_error("prompt"), 2;
    char *dir = strdup(a->pos[1]);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = 0;
    hearth_prompt_eval_params p = hearth_prompt_eval_default_params();
    p.models = o->model;
    p.n_models = o->n_model;
    p.default_model = cli_default_model();
    p.embedder = o->embedder;
    p.base_dir = slash ? dir : NULL;
    p.n_threads = (int)o->threads;
    if (o->seed >= 0) p.seed = o->seed;
    p.on_result = o->json ? NULL : print_result;
    if (!o->json)
        printf("%-4s  %-22s %-22s %-4s %-22s %8s %6s\n", "", "CASE", "PROMPT", "VER", "MODEL", "MS", "TOKENS");
    hearth_status st = hearth_prompt_eval(lib, text, len, &p, &res);
    free(text);
    free(dir);
    if (st) {
        cli_error("prompt", "%s: %s", a->pos[1], hearth_last_error());
        return 2;
    }
    int rc = 0;
    cJSON *j = cJSON_Parse(res);
    const cJSON *sum = cJSON_GetObjectItem(j, "summary");
    int failed = cJSON_GetObjectItem(sum, "failed")->valueint, runs = cJSON_GetObjectItem(sum, "runs")->valueint;
    if (o->json) print_json_text(res);
    else printf("%d of %d runs passed\n", runs - failed, runs);
    if (o->json_out) rc |= write_text(o->json_out, res);
    if (o->html_out) {
        if (hearth_prompt_eval_html(res, &html)) rc = cli_lib_error("prompt");
        else rc |= write_text(o->html_out, html);
    }
    cJSON_Delete(j);
    free(html);
    free(res);
    return rc ? 2 : failed ? 1 : 0;
}

int cmd_prompt(int argc, char **argv) {
    opts o = {0};
    o.seed = -1;
    cli_args a = cli_args_init("prompt", argc, argv);
    while (cli_next(&a)) {
        const char *v = NULL;
        if (cli_opt(&a, NULL, "--db", &o.db)) continue;
        if (cli_opt(&a, NULL, "--author", &o.author)) continue;
        if (cli_opt(&a, NULL, "--actor", &o.actor)) continue;
        if (cli_opt(&a, NULL, "--embedder", &o.embedder)) continue;
        if (cli_opt(&a, NULL, "--vars", &o.vars_json)) continue;
        if (cli_opt(&a, NULL, "--json-out", &o.json_out)) continue;
        if (cli_opt(&a, NULL, "--html-out", &o.html_out)) continue;
        if (cli_opt_int(&a, NULL, "--seed", &o.seed)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &o.threads)) continue;
        if (cli_opt(&a, NULL, "--var", &v)) {
            if (o.n_var == MAX_VARS) return cli_error("prompt", "at most %d --var", MAX_VARS), 2;
            o.var[o.n_var++] = v;
            continue;
        }
        if (cli_opt(&a, "-m", "--model", &v)) {
            if (o.n_model == MAX_MODELS) return cli_error("prompt", "at most %d models", MAX_MODELS), 2;
            o.model[o.n_model++] = v;
            continue;
        }
        if (cli_flag(&a, NULL, "--json")) { o.json = true; continue; }
        if (cli_flag(&a, NULL, "--admin")) { o.admin = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos < 1) {
        usage();
        return 2;
    }
    const char *sub = a.pos[0];
    if (!o.db) o.db = getenv("HEARTH_PROMPTS_DB");
    if (!o.db || !*o.db) o.db = "prompts.db";
    cli_install_logger();
    hearth_prompt_lib *lib = NULL;
    if (hearth_prompt_lib_open(o.db, &lib)) return cli_lib_error("prompt");
    int rc;
    if (!strcmp(sub, "add")) rc = cmd_add(lib, &a, &o);
    else if (!strcmp(sub, "list")) rc = cmd_list(lib, &o);
    else if (!strcmp(sub, "show")) rc = cmd_show(lib, &a, &o);
    else if (!strcmp(sub, "history")) rc = cmd_history(lib, &a, &o);
    else if (!strcmp(sub, "label")) rc = cmd_label(lib, &a, &o);
    else if (!strcmp(sub, "render")) rc = cmd_render_run(lib, &a, &o, false);
    else if (!strcmp(sub, "run")) rc = cmd_render_run(lib, &a, &o, true);
    else if (!strcmp(sub, "eval")) rc = cmd_eval(lib, &a, &o);
    else {
        cli_error("prompt", "unknown subcommand '%s' (add, list, show, history, label, render, run, eval)", sub);
        rc = 2;
    }
    hearth_prompt_lib_free(lib);
    return rc;
}
