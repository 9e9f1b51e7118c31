/*
 * cmd_report.c — `hearth report --template T.jinja --data D.csv|D.json
 * [-m MODEL] -o R.html|R.pdf`: a report from data, with charts drawn by
 * hearth and, with a model, sections written from the data (the figures
 * they cite checked against it). See include/hearth/report.h.
 */
#include "cli.h"
#include "hearth/core.h"
#include "hearth/generate.h"
#include "hearth/model.h"
#include "hearth/prompt_library.h"
#include "apps/report_cjson.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_report_summary = "render a report (HTML or PDF, with charts) from CSV/JSON data";

static void usage(void) {
    printf("usage: hearth report --template T.jinja --data D.csv|D.json -o R.html|R.pdf [options]\n\n"
           "Renders the Jinja template over the data's rows (variables: rows, columns,\n"
           "stats, charts, sections, meta, title, generated). Charts and model-written\n"
           "sections are declared in the template:\n"
           "  {# chart NAME line x=COL y=COL[,COL] [title=\"...\"] #}   also hist y=, bars by= [y=], rate x= y=\n"
           "  {# section NAME \"what to write\" #}                       needs -m\n"
           "  {# section NAME prompt=REF [\"what to write\"] #}          a stored prompt: -m and --prompts\n"
           "The output is self-contained HTML, or a PDF when -o ends in .pdf.\n\n"
           "  -m, --model FILE    a model that writes the sections (figures it cites that\n"
           "                      are not in the data are reported as warnings)\n"
           "  --prompts DB        the prompt library (hearth prompt) holding the sections'\n"
           "                      prompts; they get the variables summary, columns, task\n"
           "  --title TEXT        the report's title (default: the data file's name)\n"
           "  --html FILE         with a PDF, also keep the HTML\n"
           "  -t, --threads N     threads for the model (default 2)\n");
}

typedef struct writer {
    hearth_model *model;
    hearth_context *ctx;
    hearth_prompt_lib *lib;
    hearth_prompt_runner *runner;
} writer;

/* a section through a stored prompt: rendered by the library, run on the model */
static hearth_status write_with_prompt(const char *ref, const char *vars, char **out, void *user) {
    writer *w = user;
    char *rendered = NULL;
    hearth_prompt_output o = {0};
    hearth_status st = hearth_prompt_render_json(w->lib, ref, vars, strlen(vars), NULL, &rendered);
    if (!st) st = hearth_prompt_runner_run(w->runner, rendered, NULL, NULL, &o);
    /* a prompt whose output schema is a string gives a JSON string: the section is its text */
    cJSON *j = st || !o.answer ? NULL : cJSON_Parse(o.answer);
    const char *text = cJSON_IsString(j) ? j->valuestring : o.answer ? o.answer : "";
    if (!st && !(*out = strdup(text))) st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    cJSON_Delete(j);
    hearth_prompt_output_clear(&o);
    free(rendered);
    return st;
}

static hearth_status write_with_model(const char *prompt, char **out, void *user) {
    writer *w = user;
    hearth_generate_params gp = hearth_generate_default_params();
    gp.max_tokens = 200;
    gp.sampling.temp = 0;
    static const char *const stops[] = {"\n\n"};
    gp.stop = stops;
    gp.n_stop = 1;
    hearth_generation g;
    memset(&g, 0, sizeof g);
    hearth_status st = hearth_generate(w->ctx, w->model, prompt, strlen(prompt), &gp, &g);
    if (st) return st;
    *out = strdup(g.text ? g.text : "");
    hearth_generation_clear(&g);
    return *out ? HEARTH_OK : HEARTH_ERR_NOMEM;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

int cmd_report(int argc, char **argv) {
    cli_install_logger();
    const char *tpl = NULL, *data = NULL, *out = NULL, *model = NULL, *title = NULL, *keep_html = NULL,
               *prompts = NULL;
    int64_t threads = 2;
    cli_args a = cli_args_init("report", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--template", &tpl) || cli_opt(&a, NULL, "--data", &data) ||
            cli_opt(&a, "-o", "--output", &out) || cli_opt(&a, "-m", "--model", &model) ||
            cli_opt(&a, NULL, "--title", &title) || cli_opt(&a, NULL, "--html", &keep_html) ||
            cli_opt(&a, NULL, "--prompts", &prompts) ||
            cli_opt_int(&a, "-t", "--threads", &threads))
            continue;
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!tpl || !data || !out) return cli_error("report", "--template, --data and -o are required (see --help)");
    if (prompts && !model) return cli_error("report", "--prompts needs -m (the model that runs the prompts)"), 2;
    char *src = NULL, *text = NULL, *html = NULL, *warn = NULL;
    size_t src_len = 0, text_len = 0;
    cJSON *d = NULL;
    writer w = {0};
    int rc = 0;
    if (hearth_read_file(tpl, &src, &src_len) || hearth_read_file(data, &text, &text_len)) {
        rc = cli_lib_error("report");
        goto done;
    }
    if (hearth_report_load_data(text, text_len, data, &d)) {
        rc = cli_lib_error("report");
        goto done;
    }
    hearth_report_params p = {0};
    const char *base = strrchr(data, '/');
    p.title = title ? title : base ? base + 1 : data;
    if (model) {
        hearth_model_params mp = hearth_model_default_params();
        hearth_context_params cp = hearth_context_default_params();
        cp.n_threads = (int)threads;
        if (hearth_model_load(model, &mp, &w.model) || hearth_context_create(w.model, &cp, &w.ctx)) {
            rc = cli_lib_error("report");
            goto done;
        }
        p.writer = write_with_model;
        p.writer_user = &w;
    }
    if (prompts) {
        hearth_prompt_runner_params rp = hearth_prompt_runner_default_params();
        rp.n_threads = (int)threads;
        rp.temperature = 0;   /* unless the prompt sets its own */
        rp.seed = 0;
        if (hearth_prompt_lib_open(prompts, &w.lib) || hearth_prompt_runner_create(w.model, &rp, &w.runner)) {
            rc = cli_lib_error("report");
            goto done;
        }
        p.prompt_writer = write_with_prompt;
        p.prompt_user = &w;
    }
    if (hearth_report_render(src, src_len, tpl, d, &p, &html, &warn)) {
        rc = cli_lib_error("report");
        goto done;
    }
    if (warn) fprintf(stderr, "hearth report: warning: figures not found in %s:\n%s", data, warn);
    if (ends_with(out, ".pdf")) {
        if (hearth_report_pdf(html, out)) {
            rc = cli_lib_error("report");
            goto done;
        }
        if (keep_html) {
            FILE *f = fopen(keep_html, "wb");
            if (!f || fwrite(html, 1, strlen(html), f) != strlen(html)) rc = cli_error("report", "%s: cannot write", keep_html);
            if (f) fclose(f);
        }
    } else {
        FILE *f = fopen(out, "wb");
        if (!f || fwrite(html, 1, strlen(html), f) != strlen(html)) rc = cli_error("report", "%s: cannot write", out);
        if (f && fclose(f) != 0) rc = cli_error("report", "%s: cannot write", out);
    }
done:
    free(src), free(text), free(html), free(warn);
    cJSON_Delete(d);
    hearth_prompt_runner_free(w.runner);
    hearth_prompt_lib_free(w.lib);
    hearth_context_free(w.ctx);
    hearth_model_free(w.model);
    return rc;
}
