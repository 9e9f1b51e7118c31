/*
 * test_jinja_golden.c — real chat templates against reference renderings.
 *
 * Usage: test_jinja_golden DIR   (default: tests/data/templates)
 * Every DIR/NAME.json holds `template` and `cases`, each with a `context` and
 * either `expected` (the exact string the reference Jinja2 rendered) or
 * `error` (the template's raise_exception message). Each case is checked
 *   1. through the API with the context as cJSON,
 *   2. through the API with the context as JSON text,
 *   3. through the CLI: `hearth template render -t T --context C` must print
 *      exactly `expected` (exit 0) or `error` on stderr (exit 1).
 * strftime_now is fixed at 2026-11-28 09:30 as in the reference data.
 */
#include "harness.h"
#include "prompt/jinja_cjson.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int n_cases, n_pass;

static bool write_file(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    fwrite(s, 1, strlen(s), f);
    return fclose(f) == 0;
}

static void check_case(const char *file, int idx, hearth_jinja_template *t, const char *tpl_path,
                       const cJSON *ctx, const char *expected, const char *error) {
    struct tm now;
    memset(&now, 0, sizeof now);
    now.tm_year = 2026 - 1900;
    now.tm_mon = 10;
    now.tm_mday = 28;
    now.tm_hour = 9;
    now.tm_min = 30;
    now.tm_wday = 6;
    now.tm_yday = 331;
    hearth_jinja_options opt = hearth_jinja_default_options();
    opt.now = &now;
    int fails_before = harness_failures;

    /* 1. API, cJSON context */
    char *out = NULL;
    hearth_status st = hearth_jinja_render(t, ctx, &opt, &out, NULL);
    if (expected) {
        CHECK_MSG(st == HEARTH_OK, "%s case %d: render failed: %s", file, idx, hearth_last_error());
        if (st == HEARTH_OK && strcmp(out, expected) != 0) {
            CHECK_MSG(false, "%s case %d (cJSON context): output differs\n--- expected ---\n%s\n--- got ---\n%s", file, idx, expected, out);
        }
    } else {
        CHECK_MSG(st == HEARTH_ERR_INVALID_ARG && strcmp(hearth_last_error(), error) == 0,
                  "%s case %d: expected raise_exception '%s', got status %d '%s'", file, idx, error, st,
                  st ? hearth_last_error() : out);
    }
    free(out);

    /* 2. API, JSON text context */
    char *ctx_text = cJSON_PrintUnformatted(ctx);
    out = NULL;
    st = hearth_jinja_render_json(t, ctx_text, strlen(ctx_text), &opt, &out, NULL);
    if (expected) CHECK_MSG(st == HEARTH_OK && strcmp(out, expected) == 0, "%s case %d (JSON text context): differs (%s)", file, idx, st ? hearth_last_error() : "ok");
    else CHECK_MSG(st == HEARTH_ERR_INVALID_ARG && strcmp(hearth_last_error(), error) == 0, "%s case %d (JSON text): wrong error", file, idx);
    free(out);

    /* 3. CLI */
    char ctx_path[300], err_path[300], cmd[1200];
    snprintf(ctx_path, sizeof ctx_path, "%s.ctx.json", tpl_path);
    snprintf(err_path, sizeof err_path, "%s.err", tpl_path);
    CHECK(write_file(ctx_path, ctx_text));
    snprintf(cmd, sizeof cmd, "'%s' template render -t '%s' --context '%s' --now '2026-11-28 09:30' 2>'%s'", HEARTH_BIN,
             tpl_path, ctx_path, err_path);
    char *cli_out = NULL;
    int rc = harness_run(cmd, &cli_out);
    char *cli_err = harness_read(err_path, NULL);
    if (expected) {
        CHECK_MSG(rc == 0, "%s case %d: CLI exit %d, stderr: %s", file, idx, rc, cli_err ? cli_err : "");
        CHECK_MSG(cli_out && strcmp(cli_out, expected) == 0, "%s case %d: CLI output differs", file, idx);
    } else {
        CHECK_MSG(rc == 1, "%s case %d: CLI exit %d for a raise_exception", file, idx, rc);
        size_t el = strlen(error);
        CHECK_MSG(cli_err && strncmp(cli_err, error, el) == 0 && strcmp(cli_err + el, "\n") == 0,
                  "%s case %d: CLI stderr '%s', expected '%s'", file, idx, cli_err ? cli_err : "", error);
        CHECK_MSG(cli_out && cli_out[0] == 0, "%s case %d: CLI printed output on error", file, idx);
    }
    free(cli_out);
    free(cli_err);
    remove(ctx_path);
    remove(err_path);
    free(ctx_text);
    n_cases++;
    if (harness_failures == fails_before) n_pass++;
}

static void check_file(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *text = harness_read(path, &len);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    CHECK_MSG(doc != NULL, "%s: bad JSON", path);
    if (!doc) return;
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(doc, "template");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    CHECK_MSG(cJSON_IsString(tpl) && cJSON_IsArray(cases), "%s: needs template and cases", path);
    if (!cJSON_IsString(tpl) || !cJSON_IsArray(cases)) { cJSON_Delete(doc); return; }

    hearth_jinja_template *t = NULL;
    hearth_status st = hearth_jinja_parse(tpl->valuestring, strlen(tpl->valuestring), &t);
    CHECK_MSG(st == HEARTH_OK, "%s: parse failed: %s", name, hearth_last_error());
    char tpl_path[256];
    snprintf(tpl_path, sizeof tpl_path, "/tmp/hearth_jinja_golden_%d.jinja", (int)getpid());
    CHECK(write_file(tpl_path, tpl->valuestring));
    int idx = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(c, "context");
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "error");
        if (t && ctx && (cJSON_IsString(exp) || cJSON_IsString(err)))
            check_case(name, idx, t, tpl_path, ctx, cJSON_IsString(exp) ? exp->valuestring : NULL,
                       cJSON_IsString(exp) ? NULL : err->valuestring);
        idx++;
    }
    remove(tpl_path);
    hearth_jinja_free(t);
    cJSON_Delete(doc);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : HEARTH_TEST_DATA "/templates";
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    CHECK_MSG(n > 0, "no template files in %s", dir);
    for (int i = 0; i < n; i++) {
        int before = harness_failures;
        check_file(dir, names[i]);
        printf("%s %s\n", harness_failures == before ? "ok  " : "FAIL", names[i]);
        free(names[i]);
    }
    printf("%d of %d cases passed (each through the API twice and the CLI)\n", n_pass, n_cases);
    return harness_done();
}
