/*
 * test_grammar.c — constrained decoding: schemas and GBNF grammars accept
 * exactly the texts they should, unsupported keywords are refused by name,
 * hostile input ends with errors in bounded time, and token masks agree
 * with the per-token check (over a real 100k vocabulary too).
 */
#include "harness.h"

#include "hearth/core.h"
#include "hearth/grammar.h"
#include "hearth/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static hearth_grammar *schema(const char *s) {
    hearth_grammar *g = NULL;
    hearth_status st = hearth_grammar_from_schema(s, strlen(s), &g);
    CHECK_MSG(st == HEARTH_OK, "%s: %s", s, hearth_last_error());
    return g;
}

static bool accepts(const hearth_grammar *g, const char *text) {
    hearth_grammar_matcher *m = NULL;
    if (!g || hearth_grammar_matcher_new(g, &m) != HEARTH_OK) return false;
    bool ok = hearth_grammar_advance(m, text, strlen(text)) == HEARTH_OK && hearth_grammar_accepting(m);
    hearth_grammar_matcher_free(m);
    return ok;
}

#define ACCEPT(g, t) CHECK_MSG(accepts(g, t), "should accept: %s", t)
#define REJECT(g, t) CHECK_MSG(!accepts(g, t), "should reject: %s", t)

TEST(objects_in_schema_order) {
    hearth_grammar *g = schema("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":5},"
                               "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},"
                               "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]},\"maxItems\":2}},"
                               "\"required\":[\"name\"],\"additionalProperties\":false}");
    ACCEPT(g, "{\"name\": \"bob\"}");
    ACCEPT(g, "{\"name\": \"bob\", \"age\": 150}");
    ACCEPT(g, "{\"name\": \"é\\\"\\n\", \"tags\": []}");
    ACCEPT(g, "{\"name\": \"x\", \"tags\": [\"a\", \"b\"]}");
    REJECT(g, "{\"name\": \"bob\", \"age\": 151}");
    REJECT(g, "{\"name\": \"bobbie\"}");
    REJECT(g, "{\"age\": 1}");
    REJECT(g, "{\"age\": 1, \"name\": \"b\"}");   /* schema order */
    REJECT(g, "{\"name\":\"bob\"}");              /* json.dumps spacing */
    REJECT(g, "{\"name\": \"bob\", \"x\": 1}");
    REJECT(g, "{\"name\": \"x\", \"tags\": [\"a\", \"b\", \"a\"]}");
    REJECT(g, "{\"name\": \"bob\"} ");
    hearth_grammar_free(g);
    /* extra properties: allowed after the declared ones, never a declared name again */
    g = schema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":{\"type\":\"boolean\"}}");
    ACCEPT(g, "{\"a\": 1, \"b\": true}");
    ACCEPT(g, "{\"ab\": false}");
    REJECT(g, "{\"a\": 1, \"a\": true}");
    REJECT(g, "{\"a\": 1, \"b\": 2}");
    hearth_grammar_free(g);
}

TEST(combinators_refs_and_formats) {
    hearth_grammar *g = schema("{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
                               "\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"null\"}]}},"
                               "\"required\":[\"v\",\"next\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}");
    ACCEPT(g, "{\"v\": 1, \"next\": {\"v\": 2, \"next\": null}}");
    REJECT(g, "{\"v\": 1, \"next\": {\"v\": \"2\", \"next\": null}}");
    hearth_grammar_free(g);
    g = schema("{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"a\"},\"x\":{\"type\":\"integer\"}},"
               "\"required\":[\"kind\"],\"additionalProperties\":false},{\"type\":\"object\",\"properties\":{\"kind\":"
               "{\"const\":\"b\"},\"y\":{\"type\":\"string\"}},\"required\":[\"kind\"],\"additionalProperties\":false}]}");
    ACCEPT(g, "{\"kind\": \"a\", \"x\": 1}");
    ACCEPT(g, "{\"kind\": \"b\", \"y\": \"s\"}");
    REJECT(g, "{\"kind\": \"a\", \"y\": \"s\"}");
    hearth_grammar_free(g);
    g = schema("{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"]},"
               "{\"properties\":{\"b\":{\"type\":\"number\",\"exclusiveMinimum\":0}},\"required\":[\"b\"]}]}");
    ACCEPT(g, "{\"a\": \"x\", \"b\": 0.5}");
    REJECT(g, "{\"a\": \"x\", \"b\": 0}");
    REJECT(g, "{\"a\": \"x\"}");
    hearth_grammar_free(g);
    g = schema("{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"date-time\"}}");
    ACCEPT(g, "[\"2024-02-28T23:59:59Z\", \"2024-01-01T00:00:00.5+01:00\"]");
    REJECT(g, "[\"2024-02-30T00:00:00Z\"]");
    REJECT(g, "[\"yesterday\"]");
    hearth_grammar_free(g);
    g = schema("{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}-\\\\d{3,4}$\",\"maxLength\":6}");
    ACCEPT(g, "\"AB-123\"");
    REJECT(g, "\"AB-1234\"");   /* 7 characters */
    REJECT(g, "\"ab-123\"");
    hearth_grammar_free(g);
    g = schema("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"gone\":{\"not\":{}},"
               "\"v\":{\"not\":{\"type\":[\"string\",\"null\"]}}},\"patternProperties\":{\"^x-[a-z]+$\":{\"type\":\"boolean\"}}}");
    ACCEPT(g, "{\"id\": 1, \"v\": true, \"x-debug\": false}");
    REJECT(g, "{\"id\": 1, \"gone\": 1}");
    REJECT(g, "{\"v\": \"s\"}");
    REJECT(g, "{\"id\": 1, \"x-debug\": 1}");
    REJECT(g, "{\"id\": 1, \"other\": true}");   /* not generated: extra keys must match the pattern */
    hearth_grammar_free(g);
    g = schema("{\"type\":\"string\",\"pattern\":\"cat\"}");   /* search semantics */
    ACCEPT(g, "\"a cat!\"");
    REJECT(g, "\"a dog\"");
    hearth_grammar_free(g);
}

TEST(refusals_name_the_keyword) {
    const char *cases[][2] = {
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"not\":{\"minimum\":3}}}}", "'not'"},
        {"{\"type\":\"object\",\"patternProperties\":{\"^a\":{},\"^b\":{}}}", "patternProperties"},
        {"{\"type\":\"string\",\"format\":\"idn-email\"}", "idn-email"},
        {"{\"type\":\"array\",\"uniqueItems\":true}", "uniqueItems"},
        {"{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}", "oneOf"},
        {"{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}", "back-reference"},
        {"{\"type\":\"string\",\"pattern\":\"(?=a)\"}", "lookaround"},
        {"{\"$ref\":\"other.json#/a\"}", "$ref"},
        {"{\"type\":\"number\",\"multipleOf\":0.01}", "multipleOf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hearth_grammar *g = NULL;
        hearth_status st = hearth_grammar_from_schema(cases[i][0], strlen(cases[i][0]), &g);
        CHECK_MSG(st == HEARTH_ERR_UNSUPPORTED && strstr(hearth_last_error(), cases[i][1]), "%s: %d %s", cases[i][0], st,
                  hearth_last_error());
        CHECK(g == NULL);
    }
}

TEST(hostile_input_is_bounded) {
    /* catastrophic for a backtracking engine: linear here */
    hearth_grammar *g = schema("{\"type\":\"string\",\"pattern\":\"^(a+)+$\"}");
    char text[4100];
    text[0] = '"';
    memset(text + 1, 'a', 4000);
    strcpy(text + 4001, "b\"");
    double t0 = hearth_time_s();
    REJECT(g, text);
    text[4001] = '"', text[4002] = 0;
    ACCEPT(g, text);
    CHECK_MSG(hearth_time_s() - t0 < 5, "took %.1f s", hearth_time_s() - t0);
    hearth_grammar_free(g);
    /* huge repetition counts and deep nesting end with errors */
    const char *big = "{\"type\":\"string\",\"pattern\":\"^(a{1000}){1000}$\"}";
    CHECK_EQ_INT(hearth_grammar_from_schema(big, strlen(big), &g), HEARTH_ERR_RANGE);
    char deep[4000];
    size_t n = 0;
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(deep + n, "{\"items\":");
    n += (size_t)sprintf(deep + n, "true");
    for (int i = 0; i < 100; i++) deep[n++] = '}';
    deep[n] = 0;
    CHECK_EQ_INT(hearth_grammar_from_schema(deep, n, &g), HEARTH_ERR_RANGE);
    /* left recursion in GBNF */
    const char *lr = "root ::= root \"a\" | \"b\"\n";
    CHECK_EQ_INT(hearth_grammar_from_gbnf(lr, strlen(lr), NULL, &g), HEARTH_ERR_UNSUPPORTED);
    const char *undef = "root ::= item+\n";
    CHECK_EQ_INT(hearth_grammar_from_gbnf(undef, strlen(undef), NULL, &g), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "item") != NULL);
}

TEST(gbnf_as_llama_cpp_writes_it) {
    const char *src = "# a tiny JSON-ish list\n"
                      "root ::= \"[\" ws ( item ( \",\" ws item )* )? \"]\"\n"
                      "item ::= [a-z]+ | \"\\\"\" [^\"\\\\]* \"\\\"\" | num\n"
                      "num  ::= [0-9]{1,3}\n"
                      "ws   ::= [ \\t\\n]*\n";
    hearth_grammar *g = NULL;
    CHECK_MSG(hearth_grammar_from_gbnf(src, strlen(src), NULL, &g) == HEARTH_OK, "%s", hearth_last_error());
    ACCEPT(g, "[]");
    ACCEPT(g, "[ abc, 12,\n\"é x\"]");
    REJECT(g, "[1234]");
    REJECT(g, "[ABC]");
    REJECT(g, "[abc,]");
    hearth_grammar_free(g);
}

/* every token's mask bit equals the one-token check, and EOG only when complete */
TEST(masks_agree_with_token_checks) {
    const char *pieces[] = {"{", "}", "{\"", "\"", "a", "\": ", "1", "12", "x", ", ", "\"a\": ", "", "</s>", "\"}", " "};
    size_t n = sizeof pieces / sizeof pieces[0];
    size_t lens[32];
    bool eog[32] = {0};
    for (size_t i = 0; i < n; i++) lens[i] = strlen(pieces[i]);
    eog[12] = true;
    hearth_grammar_vocab *v = NULL;
    CHECK(hearth_grammar_vocab_new(pieces, lens, eog, (int)n, &v) == HEARTH_OK);
    hearth_grammar *g = schema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}");
    hearth_grammar_matcher *m = NULL;
    CHECK(hearth_grammar_matcher_new(g, &m) == HEARTH_OK);
    const char *path[] = {"{\"", "a", "\": ", "12", "}"};
    uint32_t mask[2];
    for (size_t step = 0; step <= 5; step++) {
        int count = hearth_grammar_mask(m, v, mask);
        int seen = 0;
        for (size_t t = 0; t < n; t++) {
            bool bit = (mask[t >> 5] >> (t & 31)) & 1;
            seen += bit;
            CHECK_MSG(bit == hearth_grammar_allows_token(m, v, (int32_t)t), "step %zu token '%s'", step, pieces[t]);
        }
        CHECK_EQ_INT(count, seen);
        CHECK(!((mask[0] >> 11) & 1));   /* the empty piece */
        CHECK_EQ_INT((mask[0] >> 12) & 1, step == 5);
        if (step < 5) CHECK(hearth_grammar_advance(m, path[step], strlen(path[step])) == HEARTH_OK);
    }
    CHECK(hearth_grammar_finished(m));
    hearth_grammar_matcher_free(m);
    hearth_grammar_free(g);
    hearth_grammar_vocab_free(v);
}

TEST(real_vocabulary_forced_instance) {
    hearth_vocab *voc = NULL;
    const char *path = HEARTH_TEST_DATA "/vocab/ggml-vocab-deepseek-llm.gguf";
    if (hearth_vocab_load_file(path, &voc) != HEARTH_OK) {
        CHECK_MSG(0, "cannot load %s: %s", path, hearth_last_error());
        return;
    }
    hearth_grammar_vocab *v = NULL;
    CHECK(hearth_grammar_vocab_from(voc, &v) == HEARTH_OK);
    hearth_grammar *g = schema("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"temp\":{\"type\":"
                               "\"number\"},\"days\":{\"type\":\"array\",\"items\":{\"enum\":[\"mon\",\"tue\"]}}},"
                               "\"required\":[\"city\",\"temp\",\"days\"],\"additionalProperties\":false}");
    const char *text = "{\"city\": \"Zürich\", \"temp\": -3.5, \"days\": [\"mon\", \"tue\"]}";
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.add_special = false;
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(hearth_tokenize(voc, text, strlen(text), &tp, &ids, &n) == HEARTH_OK);
    hearth_grammar_matcher *m = NULL;
    CHECK(hearth_grammar_matcher_new(g, &m) == HEARTH_OK);
    int nt = hearth_grammar_vocab_size(v);
    uint32_t *mask = malloc(((size_t)nt + 31) / 32 * sizeof *mask);
    for (size_t k = 0; k < n; k++) {
        int count = hearth_grammar_mask(m, v, mask);
        CHECK_MSG(count > 0 && ((mask[ids[k] >> 5] >> (ids[k] & 31)) & 1), "token %zu not allowed", k);
        /* spot-check the mask against single-token checks */
        for (int t = (int)k; t < nt; t += 997)
            CHECK_MSG(((mask[t >> 5] >> (t & 31)) & 1) == hearth_grammar_allows_token(m, v, t), "step %zu token %d", k, t);
        CHECK(hearth_grammar_accept_token(m, v, ids[k]) == HEARTH_OK);
    }
    CHECK(hearth_grammar_finished(m));
    free(mask);
    free(ids);
    hearth_grammar_matcher_free(m);
    hearth_grammar_free(g);
    hearth_grammar_vocab_free(v);
    hearth_vocab_free(voc);
}

static char *run(const char *cmd, int *rc) {
    static char out[4096];
    FILE *f = popen(cmd, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    *rc = f ? pclose(f) : -1;
    if (*rc > 0 && WIFEXITED(*rc)) *rc = WEXITSTATUS(*rc);
    return out;
}

TEST(check_command_contract) {
    char dir[] = "/tmp/hearth_grammar_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sp[256], ip[256], ep[256], bp[256], cmd[1200];
    snprintf(sp, sizeof sp, "%s/s.json", dir);
    snprintf(ip, sizeof ip, "%s/i.jsonl", dir);
    snprintf(ep, sizeof ep, "%s/e.jsonl", dir);
    snprintf(bp, sizeof bp, "%s/b.json", dir);
    FILE *f = fopen(sp, "w");
    fputs("{\"type\":\"object\",\"properties\":{\"n\":{\"enum\":[\"a\",\"b\"]}},\"additionalProperties\":false}", f);
    fclose(f);
    f = fopen(ip, "w");
    fputs("{\"n\": \"a\"}\n{\"n\": \"c\"}\n{}\n{\"n\":\"a\"}", f);
    fclose(f);
    fclose(fopen(ep, "w"));
    f = fopen(bp, "w");
    fputs("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\",\"format\":\"idn-hostname\"}}}", f);
    fclose(f);
    int rc;
    snprintf(cmd, sizeof cmd, "%s grammar check --schema %s --jsonl %s", HEARTH_BIN, sp, ip);
    CHECK_STR(run(cmd, &rc), "accept\nreject\naccept\nreject\n");
    CHECK_EQ_INT(rc, 0);
    snprintf(cmd, sizeof cmd, "%s grammar check --schema %s --jsonl %s", HEARTH_BIN, sp, ep);
    CHECK_STR(run(cmd, &rc), "");
    CHECK_EQ_INT(rc, 0);
    snprintf(cmd, sizeof cmd, "%s grammar check --schema %s --jsonl %s 2>&1", HEARTH_BIN, bp, ep);
    char *out = run(cmd, &rc);
    CHECK_EQ_INT(rc, 2);
    CHECK_MSG(strstr(out, "idn-hostname") && strchr(out, '\n') == out + strlen(out) - 1, "stderr: %s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    RUN(objects_in_schema_order);
    RUN(combinators_refs_and_formats);
    RUN(refusals_name_the_keyword);
    RUN(hostile_input_is_bounded);
    RUN(gbnf_as_llama_cpp_writes_it);
    RUN(masks_agree_with_token_checks);
    RUN(real_vocabulary_forced_instance);
    RUN(check_command_contract);
    return harness_done();
}
