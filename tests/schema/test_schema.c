/*
 * test_schema.c — the JSON Schema validator on what a user meets: reasons
 * for invalid instances, hostile schemas (infinite recursion, catastrophic
 * patterns, deep nesting) ending with clear errors, and the
 * `hearth schema validate` command's output and exit codes.
 */
#include "harness.h"

#include "hearth/schema.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hearth_schema *compile(const char *text) {
    hearth_schema *s = NULL;
    hearth_status st = hearth_schema_compile(text, strlen(text), NULL, &s);
    CHECK_MSG(st == HEARTH_OK, "%s: %s", text, hearth_last_error());
    return s;
}

static int check(hearth_schema *s, const char *inst, char **why) {
    bool ok = false;
    hearth_status st = hearth_schema_validate(s, inst, strlen(inst), &ok, why);
    return st != HEARTH_OK ? -(int)st : ok;
}

TEST(reasons_name_the_location) {
    hearth_schema *s = compile("{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\","
                               "\"items\":{\"type\":\"integer\",\"maximum\":10}}},\"required\":[\"items\"]}");
    char *why = NULL;
    CHECK_EQ_INT(check(s, "{\"items\":[1,2,3]}", NULL), 1);
    CHECK_EQ_INT(check(s, "{\"items\":[1,20]}", &why), 0);
    CHECK_MSG(why && strstr(why, "/items/1") && strstr(why, "maximum"), "why: %s", why ? why : "(null)");
    free(why);
    why = NULL;
    CHECK_EQ_INT(check(s, "{}", &why), 0);
    CHECK_MSG(why && strstr(why, "'items'"), "why: %s", why ? why : "(null)");
    free(why);
    CHECK_EQ_INT(check(s, "{\"items\": [1,", NULL), -HEARTH_ERR_FORMAT);
    CHECK_EQ_INT(check(s, "{} {}", NULL), -HEARTH_ERR_FORMAT);
    hearth_schema_free(s);
}

TEST(hostile_schemas_end_with_errors) {
    /* a schema that refers to itself forever */
    hearth_schema *s = compile("{\"$ref\":\"#\"}");
    CHECK_EQ_INT(check(s, "1", NULL), -HEARTH_ERR_RANGE);
    hearth_schema_free(s);
    /* catastrophic backtracking is cut by the match limit */
    s = compile("{\"pattern\":\"^(a+)+$\"}");
    char inst[80];
    memset(inst, 'a', sizeof inst);
    inst[0] = '"', inst[60] = 'b', inst[61] = '"', inst[62] = 0;
    int r = check(s, inst, NULL);
    CHECK_MSG(r == 0 || r == -HEARTH_ERR_RANGE, "got %d", r);
    hearth_schema_free(s);
    /* nesting deeper than the index limit */
    size_t depth = 600;   /* under cJSON's nesting limit, over the index limit */
    char *deep = malloc(depth * 8 + 8);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) memcpy(deep + n, "{\"not\":", 7), n += 7;
    deep[n++] = '1';
    for (size_t i = 0; i < depth; i++) deep[n++] = '}';
    deep[n] = 0;
    hearth_schema *d = NULL;
    CHECK_EQ_INT(hearth_schema_compile(deep, n, NULL, &d), HEARTH_ERR_RANGE);
    CHECK(d == NULL);
    free(deep);
    /* not JSON, bad pattern, unknown draft, unresolvable reference */
    CHECK_EQ_INT(hearth_schema_compile("{", 1, NULL, &d), HEARTH_ERR_FORMAT);
    CHECK_EQ_INT(hearth_schema_compile("{\"pattern\":\"(\"}", 15, NULL, &d), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "pattern") != NULL);
    const char *d4 = "{\"$schema\":\"http://json-schema.org/draft-04/schema#\"}";
    CHECK_EQ_INT(hearth_schema_compile(d4, strlen(d4), NULL, &d), HEARTH_ERR_UNSUPPORTED);
    const char *rr = "{\"$ref\":\"other.json#/a\"}";
    CHECK_EQ_INT(hearth_schema_compile(rr, strlen(rr), NULL, &d), HEARTH_ERR_UNSUPPORTED);
    CHECK(strstr(hearth_last_error(), "other.json") != NULL);
    hearth_schema_free(NULL);
}

TEST(formats_assert_only_when_asked) {
    const char *t = "{\"format\":\"date-time\"}";
    hearth_schema *s = compile(t);
    CHECK_EQ_INT(check(s, "\"yesterday\"", NULL), 1);
    hearth_schema_free(s);
    hearth_schema_params p = hearth_schema_default_params();
    p.format_assert = true;
    CHECK_EQ_INT(hearth_schema_compile(t, strlen(t), &p, &s), HEARTH_OK);
    CHECK_EQ_INT(check(s, "\"yesterday\"", NULL), 0);
    CHECK_EQ_INT(check(s, "\"2024-02-29T12:00:00Z\"", NULL), 1);
    CHECK_EQ_INT(check(s, "\"2023-02-29T12:00:00Z\"", NULL), 0);
    hearth_schema_free(s);
}

static char *run(const char *cmd, int *rc) {
    FILE *f = popen(cmd, "r");
    static char out[4096];
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    *rc = f ? pclose(f) : -1;
    if (*rc > 0 && WIFEXITED(*rc)) *rc = WEXITSTATUS(*rc);
    return out;
}

TEST(command_contract) {
    char dir[] = "/tmp/hearth_schema_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sp[256], ip[256], bp[256], cmd[1024];
    snprintf(sp, sizeof sp, "%s/s.json", dir);
    snprintf(ip, sizeof ip, "%s/i.jsonl", dir);
    snprintf(bp, sizeof bp, "%s/b.json", dir);
    FILE *f = fopen(sp, "w");
    fputs("{\"type\":\"object\",\"properties\":{\"n\":{\"enum\":[\"a\",\"b\"]}},\"additionalProperties\":false}", f);
    fclose(f);
    f = fopen(ip, "w");
    fputs("{\"n\": \"a\"}\n{\"n\": \"c\"}\n[1, 2\n{\"m\": 1}\n{}", f);
    fclose(f);
    f = fopen(bp, "w");
    fputs("{\"$schema\": \"https://example.com/my-draft\"}", f);
    fclose(f);
    int rc;
    snprintf(cmd, sizeof cmd, "%s schema validate --schema %s --jsonl %s", HEARTH_BIN, sp, ip);
    CHECK_STR(run(cmd, &rc), "valid\ninvalid\ninvalid\ninvalid\nvalid\n");
    CHECK_EQ_INT(rc, 0);
    snprintf(cmd, sizeof cmd, "%s schema validate --schema %s --jsonl %s 2>&1", HEARTH_BIN, bp, ip);
    char *out = run(cmd, &rc);
    CHECK_EQ_INT(rc, 2);
    CHECK_MSG(strstr(out, "$schema") && strchr(out, '\n') == out + strlen(out) - 1, "stderr: %s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    RUN(reasons_name_the_location);
    RUN(hostile_schemas_end_with_errors);
    RUN(formats_assert_only_when_asked);
    RUN(command_contract);
    return harness_done();
}
