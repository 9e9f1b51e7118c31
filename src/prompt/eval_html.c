/*
 * eval_html.c — eval results as one self-contained HTML page (inline CSS,
 * no scripts, nothing fetched): a summary line, then one row per run with
 * its assertions, failures first in red.
 */
#include "library_internal.h"

#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

static void esc(hearth_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': hearth_buf_puts(b, "&lt;"); break;
        case '>': hearth_buf_puts(b, "&gt;"); break;
        case '&': hearth_buf_puts(b, "&amp;"); break;
        case '"': hearth_buf_puts(b, "&quot;"); break;
        default: hearth_buf_putc(b, *s);
        }
    }
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const char CSS[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d2430;background:#fafbfc}"
    "h1{font-size:20px;margin:0 0 .3em}.sum{margin:.2em 0 1.2em;font-size:15px}"
    ".pill{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:600;margin-right:.4em}"
    ".ok{background:#d9f2e3;color:#16623a}.bad{background:#fbe0df;color:#9b1c1c}"
    "table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}"
    "th,td{text-align:left;vertical-align:top;padding:.45em .7em;border-bottom:1px solid #e6e8eb}"
    "th{background:#f0f2f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "pre{white-space:pre-wrap;margin:0;max-width:38em;font:12px/1.4 ui-monospace,monospace}"
    "ul{margin:0;padding-left:1.1em}li.fail{color:#9b1c1c}li.pass{color:#16623a}"
    "tr.failed td:first-child{border-left:4px solid #d64545}tr.passed td:first-child{border-left:4px solid #3aa76d}";

static void row(hearth_buf *b, const cJSON *r) {
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "passed"));
    hearth_buf_printf(b, "<tr class=\"%s\"><td><span class=\"pill %s\">%s</span></td><td>", ok ? "passed" : "failed",
                      ok ? "ok" : "bad", ok ? "pass" : "FAIL");
    esc(b, str(r, "case"));
    hearth_buf_puts(b, "</td><td>");
    esc(b, str(r, "prompt"));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "version");
    if (cJSON_IsNumber(v)) hearth_buf_printf(b, " (v%d)", v->valueint);
    hearth_buf_puts(b, "</td><td>");
    esc(b, str(r, "model"));
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(r, "latency_ms"), *tok = cJSON_GetObjectItemCaseSensitive(r, "tokens");
    hearth_buf_printf(b, "</td><td class=\"num\">%.0f</td><td class=\"num\">%d</td><td><pre>",
                      cJSON_IsNumber(lat) ? lat->valuedouble : 0, cJSON_IsNumber(tok) ? tok->valueint : 0);
    esc(b, *str(r, "error") ? str(r, "error") : str(r, "answer"));
    hearth_buf_puts(b, "</pre></td><td><ul>");
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r, "assertions")) {
        bool aok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "passed"));
        hearth_buf_printf(b, "<li class=\"%s\">%s ", aok ? "pass" : "fail", aok ? "&#10003;" : "&#10007;");
        esc(b, str(a, "type"));
        if (*str(a, "detail")) {
            hearth_buf_puts(b, ": ");
            esc(b, str(a, "detail"));
        }
        hearth_buf_puts(b, "</li>");
    }
    hearth_buf_puts(b, "</ul></td></tr>\n");
}

hearth_status hearth_prompt_eval_html(const char *results_json, char **out) {
    *out = NULL;
    cJSON *j = cJSON_Parse(results_json);
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
    if (!cJSON_IsObject(sum)) {
        cJSON_Delete(j);
        return hearth_set_error(HEARTH_ERR_FORMAT, "not eval results (no summary)");
    }
    int passed = cJSON_GetObjectItemCaseSensitive(sum, "passed")->valueint;
    int failed = cJSON_GetObjectItemCaseSensitive(sum, "failed")->valueint;
    hearth_buf b = {0};
    hearth_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hearth prompt eval"
                      "</title><style>%s</style></head><body>\n<h1>Prompt evaluation", CSS);
    if (*str(j, "suite")) {
        hearth_buf_puts(&b, ": ");
        esc(&b, str(j, "suite"));
    }
    hearth_buf_printf(&b, "</h1>\n<p class=\"sum\"><span class=\"pill ok\">%d passed</span><span class=\"pill %s\">%d"
                      " failed</span> prompts: ", passed, failed ? "bad" : "ok", failed);
    const cJSON *x;
    int i = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "prompts")) {
        if (i++) hearth_buf_puts(&b, ", ");
        esc(&b, cJSON_IsString(x) ? x->valuestring : "");
    }
    hearth_buf_puts(&b, " &middot; models: ");
    i = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "models")) {
        if (i++) hearth_buf_puts(&b, ", ");
        const char *m = cJSON_IsString(x) ? x->valuestring : "", *slash = strrchr(m, '/');
        esc(&b, slash ? slash + 1 : m);
    }
    hearth_buf_puts(&b, "</p>\n<table><tr><th>result</th><th>case</th><th>prompt</th><th>model</th><th>ms</th>"
                        "<th>tokens</th><th>answer</th><th>assertions</th></tr>\n");
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(j, "results");
    for (int pass = 0; pass < 2; pass++)   /* failures first */
        cJSON_ArrayForEach(x, results) if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "passed")) == (pass == 1))
            row(&b, x);
    hearth_buf_puts(&b, "</table>\n</body></html>\n");
    cJSON_Delete(j);
    if (b.oom) {
        hearth_buf_free(&b);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    *out = hearth_buf_take(&b, NULL);
    return HEARTH_OK;
}
