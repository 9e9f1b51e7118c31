/*
 * test_schema_suite.c — runs the official JSON-Schema-Test-Suite (required
 * tests of draft 2020-12 and draft-07, copied under tests/data/schema) and
 * reports the pass rates. Fails when draft 2020-12 passes fewer than 99 %
 * of its tests or draft-07 fewer than 98 %. The suite's remote documents
 * (remotes/) are given to the validator as http://localhost:1234/...
 * resources; tests that need the meta-schema (not shipped with the suite)
 * are counted apart.
 *
 *   test_schema_suite [-v]   (-v lists every failing test)
 */
#include "harness.h"

#include "hearth/core.h"
#include "prompt/schema_cjson.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

typedef struct remotes {
    hearth_schema_resource *r;
    char **paths;
    int n, cap;
} remotes;

static void load_remotes(remotes *rm, const char *dir, const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        size_t n = strlen(e->d_name);
        if (n > 5 && !strcmp(e->d_name + n - 5, ".json")) {
            char full[1200];
            snprintf(full, sizeof full, "%s/%s", dir, sub);
            char *text;
            size_t len;
            if (hearth_read_file(full, &text, &len) != HEARTH_OK) continue;
            if (rm->n == rm->cap) {
                rm->cap = rm->cap ? rm->cap * 2 : 64;
                rm->r = realloc(rm->r, (size_t)rm->cap * sizeof *rm->r);
            }
            char *uri = malloc(strlen(sub) + 40);
            sprintf(uri, "http://localhost:1234/%s", sub);
            rm->r[rm->n++] = (hearth_schema_resource){uri, text};
        } else {
            load_remotes(rm, dir, sub);
        }
    }
    closedir(d);
}

static bool needs_metaschema(const cJSON *schema) {
    char *s = cJSON_PrintUnformatted(schema);
    bool meta = false;
    /* a $ref (not $schema) to the meta-schema */
    for (const char *p = s; p && (p = strstr(p, "\"$ref\":\"https://json-schema.org/")); p++) meta = true;
    for (const char *p = s; p && (p = strstr(p, "\"$ref\":\"http://json-schema.org/")); p++) meta = true;
    free(s);
    return meta;
}

typedef struct tally {
    int pass, total, meta_total, meta_pass;
} tally;

static void run_file(const char *path, remotes *rm, hearth_schema_draft draft, tally *t, bool verbose) {
    char *text;
    size_t len;
    if (hearth_read_file(path, &text, &len) != HEARTH_OK) {
        CHECK_MSG(0, "cannot read %s", path);
        return;
    }
    cJSON *groups = cJSON_Parse(text);
    free(text);
    CHECK_MSG(groups != NULL, "%s is not JSON", path);
    hearth_schema_params p = hearth_schema_default_params();
    p.draft = draft;
    p.resources = rm->r;
    p.n_resources = rm->n;
    const cJSON *g;
    cJSON_ArrayForEach(g, groups) {
        const cJSON *schema = cJSON_GetObjectItem(g, "schema");
        const cJSON *tests = cJSON_GetObjectItem(g, "tests");
        bool meta = needs_metaschema(schema);
        hearth_schema *s = NULL;
        hearth_status rc = hearth_schema_compile_json(schema, &p, &s);
        const cJSON *tc;
        cJSON_ArrayForEach(tc, tests) {
            bool expect = cJSON_IsTrue(cJSON_GetObjectItem(tc, "valid"));
            bool got = false;
            hearth_status vr = HEARTH_ERR_INTERNAL;
            if (rc == HEARTH_OK) vr = hearth_schema_validate_json(s, cJSON_GetObjectItem(tc, "data"), &got, NULL);
            bool ok = rc == HEARTH_OK && vr == HEARTH_OK && got == expect;
            if (meta) {
                t->meta_total++;
                t->meta_pass += ok;
            } else {
                t->total++;
                t->pass += ok;
            }
            if (!ok && verbose)
                printf("  FAIL %s: %s / %s%s%s\n", strrchr(path, '/') + 1, cJSON_GetObjectItem(g, "description")->valuestring,
                       cJSON_GetObjectItem(tc, "description")->valuestring,
                       rc != HEARTH_OK ? " (compile: " : vr != HEARTH_OK ? " (validate: " : "",
                       rc != HEARTH_OK || vr != HEARTH_OK ? hearth_last_error() : "");
        }
        hearth_schema_free(s);
    }
    cJSON_Delete(groups);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static tally run_dir(const char *name, hearth_schema_draft draft, remotes *rm, bool verbose) {
    tally t = {0};
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/schema/%s", HEARTH_TEST_DATA, name);
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return t;
    char *files[256];
    int nf = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nf < 256)
        if (strstr(e->d_name, ".json")) files[nf++] = strdup(e->d_name);
    closedir(d);
    qsort(files, (size_t)nf, sizeof *files, cmp_str);
    for (int i = 0; i < nf; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        run_file(path, rm, draft, &t, verbose);
        free(files[i]);
    }
    return t;
}

int main(int argc, char **argv) {
    bool verbose = argc > 1 && !strcmp(argv[1], "-v");
    remotes rm = {0};
    char rdir[1024];
    snprintf(rdir, sizeof rdir, "%s/schema/remotes", HEARTH_TEST_DATA);
    load_remotes(&rm, rdir, "");
    CHECK_MSG(rm.n > 10, "remotes not found in %s", rdir);

    tally t20 = run_dir("draft2020-12", HEARTH_SCHEMA_DRAFT_2020_12, &rm, verbose);
    tally t7 = run_dir("draft7", HEARTH_SCHEMA_DRAFT_7, &rm, verbose);
    double r20 = t20.total ? 100.0 * t20.pass / t20.total : 0, r7 = t7.total ? 100.0 * t7.pass / t7.total : 0;
    printf("draft2020-12: %d / %d required tests pass (%.2f %%); needing the meta-schema: %d / %d\n", t20.pass,
           t20.total, r20, t20.meta_pass, t20.meta_total);
    printf("draft7:       %d / %d required tests pass (%.2f %%); needing the meta-schema: %d / %d\n", t7.pass, t7.total,
           r7, t7.meta_pass, t7.meta_total);
    CHECK_MSG(r20 >= 99.0, "draft 2020-12 pass rate %.2f %% is below 99 %%", r20);
    CHECK_MSG(r7 >= 98.0, "draft-07 pass rate %.2f %% is below 98 %%", r7);
    for (int i = 0; i < rm.n; i++) free((char *)rm.r[i].uri), free((char *)rm.r[i].json);
    free(rm.r);
    return harness_done();
}
