/*
 * test_report.c — `hearth report`: CSV and JSON data read (quotes, embedded
 * newlines, bad rows named by line), charts drawn from template directives,
 * errors naming the template line, model-written sections escaped and their
 * figures checked against the data, and a PDF that poppler renders.
 */
#include "harness.h"
#include "apps/report_cjson.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

#define CSV "month,revenue,note,region\n2024-01,100,\"plain\",North\n2024-02,120,\"a \"\"quoted\"\", line\nand more\",South\n2024-03,90,,North\n"

TEST(csv_and_json) {
    cJSON *d = NULL;
    CHECK(hearth_report_load_data(CSV, strlen(CSV), "d.csv", &d) == HEARTH_OK);
    cJSON *rows = cJSON_GetObjectItem(d, "rows");
    CHECK_EQ_INT(cJSON_GetArraySize(rows), 3);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "columns")), 4);
    cJSON *r1 = cJSON_GetArrayItem(rows, 1);
    CHECK_STR(cJSON_GetObjectItem(r1, "note")->valuestring, "a \"quoted\", line\nand more");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(r1, "revenue")));
    CHECK(cJSON_IsString(cJSON_GetObjectItem(r1, "month")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 2), "note")));
    cJSON_Delete(d);

    const char *bad = "a,b\n1,2\n3\n";
    CHECK(hearth_report_load_data(bad, strlen(bad), "bad.csv", &d) == HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "bad.csv:3") != NULL, "%s", hearth_last_error());
    const char *unterminated = "a,b\n1,\"open\n";
    CHECK(hearth_report_load_data(unterminated, strlen(unterminated), "q.csv", &d) == HEARTH_ERR_FORMAT);

    const char *js = "{\"plant\": \"Line 3\", \"rows\": [{\"t\": 1, \"score\": 0.5}, {\"t\": 2, \"score\": 0.7, \"x\": true}]}";
    CHECK(hearth_report_load_data(js, strlen(js), "d.json", &d) == HEARTH_OK);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "columns")), 3);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "meta"), "plant")->valuestring, "Line 3");
    cJSON_Delete(d);
    const char *badjs = "[{\"a\": 1},\n {\"a\": ]";
    CHECK(hearth_report_load_data(badjs, strlen(badjs), "b.json", &d) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "b.json:2") != NULL);
}

static hearth_status fake_writer(const char *prompt, char **out, void *user) {
    (void)user;
    CHECK(strstr(prompt, "revenue") != NULL);   /* the prompt carries the data summary */
    *out = strdup("<script>alert(1)</script> Revenue went from 100 to 90, a change of -10 (total 310), "
                  "and 4321 units were sold in 2024.");
    return HEARTH_OK;
}

TEST(render_charts_sections) {
    cJSON *d = NULL;
    CHECK(hearth_report_load_data(CSV, strlen(CSV), "d.csv", &d) == HEARTH_OK);
    const char *tpl = "{# chart trend line x=month y=revenue title=\"Revenue & more\" #}\n"
                      "{# chart regions bars by=region #}\n"
                      "{# chart spread hist y=revenue bins=5 #}\n"
                      "{# section summary \"Say how revenue went.\" #}\n"
                      "<h1>{{ title }}</h1><p>{{ stats.revenue.sum }} {{ stats.revenue.change_pct }}</p>"
                      "{{ charts.trend }}{{ charts.regions }}{{ charts.spread }}<p>{{ sections.summary }}</p>";
    hearth_report_params p = {.title = "T", .writer = fake_writer};
    char *html = NULL, *warn = NULL;
    CHECK(hearth_report_render(tpl, strlen(tpl), "t.jinja", d, &p, &html, &warn) == HEARTH_OK);
    CHECK(html && strstr(html, "<h1>T</h1><p>310 -10</p>"));
    CHECK(html && strstr(html, "<polyline"));
    CHECK(html && strstr(html, "Revenue &amp; more"));        /* chart titles escaped */
    CHECK(html && strstr(html, ">North</text>") && strstr(html, ">South</text>"));
    CHECK(html && strstr(html, "&lt;script&gt;") && !strstr(html, "<script>"));   /* model text escaped */
    CHECK_MSG(warn && strstr(warn, "4321") && !strstr(warn, "cited 100") && !strstr(warn, "cited 310") &&
                  !strstr(warn, "2024"),
              "warnings: %s", warn ? warn : "(none)");
    /* the PDF */
    char pdf[512], cmd[4096];
    snprintf(pdf, sizeof pdf, "%s/r.pdf", tmpdir);
    CHECK(html && hearth_report_pdf(html, pdf) == HEARTH_OK);
    size_t n = 0;
    char *bytes = harness_read(pdf, &n);
    CHECK(bytes && n > 1000 && !memcmp(bytes, "%PDF", 4));
    free(bytes);
    if (access("/usr/bin/pdftoppm", X_OK) == 0) {
        snprintf(cmd, sizeof cmd, "pdftoppm -r 30 -png -f 1 -l 1 %s %s/page && test -s %s/page-1.png", pdf, tmpdir,
                 tmpdir);
        CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    }
    free(html), free(warn);

    /* errors name the template line */
    const char *badcol = "ok\n\n{# chart x line x=month y=nope #}\n";
    CHECK(hearth_report_render(badcol, strlen(badcol), "t.jinja", d, NULL, &html, NULL) == HEARTH_ERR_INVALID_ARG);
    CHECK_MSG(strstr(hearth_last_error(), "t.jinja:3") && strstr(hearth_last_error(), "nope"), "%s", hearth_last_error());
    const char *badkind = "{# chart x pie y=revenue #}";
    CHECK(hearth_report_render(badkind, strlen(badkind), "t.jinja", d, NULL, &html, NULL) != HEARTH_OK);
    CHECK(strstr(hearth_last_error(), "pie") != NULL);
    const char *syntax = "line one\n{% for r in rows %}\n{{ r.month }\n";
    CHECK(hearth_report_render(syntax, strlen(syntax), "s.jinja", d, NULL, &html, NULL) == HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "s.jinja") && strstr(hearth_last_error(), "line 3"), "%s", hearth_last_error());
    cJSON_Delete(d);
}

TEST(command_line) {
    char cmd[2048], out[512];
    snprintf(out, sizeof out, "%s/f.html", tmpdir);
    snprintf(cmd, sizeof cmd, "%s report --template %s/../examples/finance/monthly.jinja --data %s/../examples/finance/monthly.csv -o %s",
             HEARTH_BIN, HEARTH_TEST_DATA "/..", HEARTH_TEST_DATA "/..", out);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    char *html = harness_read(out, NULL);
    CHECK(html && strstr(html, "<svg") && strstr(html, "2025-12") && !strstr(html, "{{"));
    free(html);
    snprintf(cmd, sizeof cmd, "%s report --template %s/../examples/finance/monthly.jinja --data /nonexistent.csv -o %s 2>&1",
             HEARTH_BIN, HEARTH_TEST_DATA "/..", out);
    char *o = NULL;
    CHECK(harness_run(cmd, &o) != 0);
    CHECK(o && strstr(o, "/nonexistent.csv"));
    free(o);
}

/* a section through a stored prompt (hearth prompt): its output schema forces
 * the text, so the section shows that the prompt's version ran; a figure the
 * data lacks is reported; an unknown prompt or no --prompts is a clear note or error */
static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

TEST(sections_through_stored_prompts) {
    char db[512], spec[512], data[512], tpl[512], out[512], cmd[4096], *o = NULL;
    snprintf(db, sizeof db, "%s/prompts.db", tmpdir);
    snprintf(spec, sizeof spec, "%s/section.yaml", tmpdir);
    snprintf(data, sizeof data, "%s/d.csv", tmpdir);
    snprintf(tpl, sizeof tpl, "%s/t.jinja", tmpdir);
    snprintf(out, sizeof out, "%s/p.html", tmpdir);
    write_text(data, "month,revenue\n2024-01,100\n2024-02,120\n2024-03,90\n");
    write_text(tpl, "{# section summary prompt=monthly@production \"Say how revenue went.\" #}\n"
                    "<h1>{{ title }}</h1><p id=s>{{ sections.summary }}</p>");
    const char *v1 = "system: \"You write one paragraph of a monthly report.\"\n"
                     "template: \"{{ task }} Columns: {{ columns }}. Figures: {{ summary }}\"\n"
                     "variables:\n  summary: {type: string}\n  columns: {type: string}\n  task: {type: string}\n"
                     "sampling: {temperature: 0, max_tokens: 24}\n"
                     "output_schema: {type: string, enum: [\"Revenue peaked at 120 in February.\"]}\n";
    write_text(spec, v1);
    snprintf(cmd, sizeof cmd, "%s prompt add monthly %s --db %s >/dev/null && %s prompt label monthly production 1 --admin --db %s >/dev/null",
             HEARTH_BIN, spec, db, HEARTH_BIN, db);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    /* version 2 cites a figure the data does not hold; labelled staging */
    char v2[1024];
    snprintf(v2, sizeof v2, "%s", v1);
    char *at = strstr(v2, "120 in February");
    if (at) memcpy(at, "999", 3);
    write_text(spec, v2);
    snprintf(cmd, sizeof cmd, "%s prompt add monthly %s --db %s >/dev/null && %s prompt label monthly staging 2 --db %s >/dev/null",
             HEARTH_BIN, spec, db, HEARTH_BIN, db);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);

    snprintf(cmd, sizeof cmd, "%s report --template %s --data %s -m %s --prompts %s -t 2 -o %s 2>&1", HEARTH_BIN, tpl, data,
             HEARTH_TEST_DATA "/models/tiny-qwen2-gpt2-f16.gguf", db, out);
    CHECK_EQ_INT(harness_run(cmd, &o), 0);
    CHECK_MSG(o && !strstr(o, "warning"), "%s", o ? o : "");
    free(o);
    char *html = harness_read(out, NULL);
    CHECK_MSG(html && strstr(html, "<p id=s>Revenue peaked at 120 in February.</p>"), "%s", html ? html : "");
    free(html);

    /* the staging version: its text cites 999, which the data lacks */
    write_text(tpl, "{# section summary prompt=monthly@staging #}\n<p id=s>{{ sections.summary }}</p>");
    CHECK_EQ_INT(harness_run(cmd, &o), 0);
    CHECK_MSG(o && strstr(o, "warning") && strstr(o, "999"), "%s", o ? o : "");
    free(o);
    html = harness_read(out, NULL);
    CHECK(html && strstr(html, "Revenue peaked at 999 in February."));
    free(html);

    /* an unknown label is an error naming it */
    write_text(tpl, "{# section summary prompt=monthly@nope #}\n{{ sections.summary }}");
    CHECK_EQ_INT(harness_run(cmd, &o), 0);   /* the report is written; the section is empty and reported */
    CHECK_MSG(o && strstr(o, "section summary") && strstr(o, "nope"), "%s", o ? o : "");
    free(o);

    /* --prompts without a model; and the template without --prompts leaves a note */
    snprintf(cmd, sizeof cmd, "%s report --template %s --data %s --prompts %s -o %s 2>&1", HEARTH_BIN, tpl, data, db, out);
    CHECK_EQ_INT(harness_run(cmd, &o), 2);
    CHECK(o && strstr(o, "--prompts needs -m"));
    free(o);
    snprintf(cmd, sizeof cmd, "%s report --template %s --data %s -o %s", HEARTH_BIN, tpl, data, out);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    html = harness_read(out, NULL);
    CHECK(html && strstr(html, "stored prompt monthly@nope") && strstr(html, "--prompts DB"));
    free(html);
}

TEST(public_render_from_text) {
    /* the cJSON-free library call: data as CSV text, a chart and a stat */
    const char *tpl = "{# chart rev line x=month y=revenue #}<h1>{{ title }}</h1>{{ charts.rev }}<p>max {{ stats.revenue.max }}</p>";
    hearth_report_params p = {.title = "Monthly"};
    char *html = NULL;
    CHECK(hearth_report_render_text(tpl, strlen(tpl), "t.jinja", CSV, strlen(CSV), "d.csv", &p, &html, NULL) == HEARTH_OK);
    CHECK(html && strstr(html, "<h1>Monthly</h1>") && strstr(html, "<svg") && strstr(html, "max 120"));
    free(html);
    html = NULL;
    const char *bad = "a,b\n1,2\n3\n";
    CHECK(hearth_report_render_text(tpl, strlen(tpl), "t.jinja", bad, strlen(bad), "bad.csv", &p, &html, NULL) == HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "bad.csv:3") != NULL, "%s", hearth_last_error());
    CHECK(html == NULL);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth_report_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(csv_and_json);
    RUN(render_charts_sections);
    RUN(sections_through_stored_prompts);
    RUN(command_line);
    RUN(public_render_from_text);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    harness_run(cmd, NULL);
    return harness_done();
}
