/*
 * test_jinja.c — unit tests of the Jinja engine: the language cases in
 * jinja_cases.inc (expressions, filters, tests, methods, control flow,
 * scoping, macros, whitespace control, errors), hostile templates that must
 * stop quickly with a limit error, syntax errors with line numbers, and the
 * API's contracts (raise_exception message, JSON int/float, chat helper).
 */
#include "harness.h"
#include "hearth/gguf.h"
#include "prompt/jinja_cjson.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct jcase {
    const char *name, *tpl, *ctx, *expected;
    bool is_error;
} jcase;

static const jcase CASES[] = {
#include "jinja_cases.inc"
};

/* every filter and test on none, undefined, '', {}, [], 0, false, as Jinja2 renders them */
static const jcase FALSY_CASES[] = {
#include "jinja_falsy_cases.inc"
};

static struct tm fixed_now(void) {
    struct tm t;
    memset(&t, 0, sizeof t);
    t.tm_year = 2026 - 1900;
    t.tm_mon = 10;
    t.tm_mday = 28;
    t.tm_hour = 9;
    t.tm_min = 30;
    t.tm_wday = 6;   /* a Saturday */
    t.tm_yday = 331;
    return t;
}

/* renders tpl with JSON context text; returns status, output in *out */
static hearth_status render(const char *tpl, const char *ctx, const hearth_jinja_options *opt, char **out) {
    hearth_jinja_template *t = NULL;
    *out = NULL;
    hearth_status st = hearth_jinja_parse(tpl, strlen(tpl), &t);
    if (st) return st;
    st = hearth_jinja_render_json(t, ctx, strlen(ctx), opt, out, NULL);
    hearth_jinja_free(t);
    return st;
}

static void run_cases(const jcase *cases, size_t n) {
    struct tm now = fixed_now();
    hearth_jinja_options opt = hearth_jinja_default_options();
    opt.now = &now;
    for (size_t i = 0; i < n; i++) {
        const jcase *k = &cases[i];
        char *out = NULL;
        hearth_status st = render(k->tpl, k->ctx, &opt, &out);
        if (k->is_error) {
            CHECK_MSG(st != HEARTH_OK && strstr(hearth_last_error(), k->expected), "%s: expected error containing '%s', got status %d '%s' output '%s'",
                      k->name, k->expected, st, hearth_last_error(), out ? out : "");
        } else {
            CHECK_MSG(st == HEARTH_OK && out && strcmp(out, k->expected) == 0, "%s: expected '%s', got '%s' (%s)", k->name,
                      k->expected, out ? out : "(null)", st ? hearth_last_error() : "ok");
        }
        free(out);
    }
}

TEST(language_cases) { run_cases(CASES, sizeof CASES / sizeof CASES[0]); }

/* functionary-medium-v3.1 starts with `set tools = none` then `tools | selectattr(...)`:
 * select/reject/selectattr/rejectattr yield nothing for a falsy value, as in Jinja2 */
TEST(falsy_values) { run_cases(FALSY_CASES, sizeof FALSY_CASES / sizeof FALSY_CASES[0]); }

/* ---- hostile templates: each must stop with HEARTH_ERR_RANGE, fast ------------------- */
static void expect_limit(const char *tpl, const char *what) {
    char *out = NULL;
    hearth_status st = render(tpl, "{}", NULL, &out);
    CHECK_MSG(st == HEARTH_ERR_RANGE, "%s: expected a limit error, got %d (%s)", tpl, st, hearth_last_error());
    CHECK_MSG(strstr(hearth_last_error(), what) != NULL, "%s: message '%s' lacks '%s'", tpl, hearth_last_error(), what);
    free(out);
}

TEST(hostile_templates) {
    /* the sandbox refuses ranges over 100000 at once */
    expect_limit("{% for i in range(10**9) %}{% endfor %}", "Range too big");
    /* nested loops: 10^10 iterations -> step limit */
    expect_limit("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "limit exceeded");
    /* exponential string growth -> memory limit */
    expect_limit("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
                 "memory limit");
    expect_limit("{{ 'x' * 10**12 }}", "memory limit");
    /* output growth -> output limit */
    expect_limit("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "output limit");
    /* unbounded recursion -> depth limit */
    expect_limit("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", "recursion limit");
    /* recursion fanning out -> steps */
    expect_limit("{% macro r(n) %}{% if n < 30 %}{{ r(n + 1) }}{{ r(n + 1) }}{% endif %}{% endmacro %}{{ r(0) }}", "limit exceeded");
    /* integer overflow is an error, not wraparound */
    expect_limit("{{ 2 ** 64 }}", "integer overflow");
    /* a custom, small step budget */
    hearth_jinja_options opt = hearth_jinja_default_options();
    opt.max_steps = 1000;
    char *out = NULL;
    CHECK_EQ_INT(render("{% for i in range(5000) %}{{ i }}{% endfor %}", "{}", &opt, &out), HEARTH_ERR_RANGE);
    CHECK_EQ_INT(render("{% for i in range(50) %}{{ i }}{% endfor %}", "{}", &opt, &out), HEARTH_OK);
    free(out);
    opt = hearth_jinja_default_options();
    opt.max_output = 10;
    CHECK_EQ_INT(render("{{ 'x' * 11 }}", "{}", &opt, &out), HEARTH_ERR_RANGE);
    CHECK_EQ_INT(render("{{ 'x' * 10 }}", "{}", &opt, &out), HEARTH_OK);
    CHECK_STR(out, "xxxxxxxxxx");
    free(out);
}

/* ---- syntax errors: HEARTH_ERR_FORMAT with line (and column) ------------------------------ */
static void expect_syntax(const char *tpl, const char *where, const char *what) {
    hearth_jinja_template *t = NULL;
    hearth_status st = hearth_jinja_parse(tpl, strlen(tpl), &t);
    CHECK_MSG(st == HEARTH_ERR_FORMAT && t == NULL, "%s: expected a syntax error, got %d", tpl, st);
    CHECK_MSG(strstr(hearth_last_error(), where) != NULL, "%s: message '%s' lacks '%s'", tpl, hearth_last_error(), where);
    CHECK_MSG(strstr(hearth_last_error(), what) != NULL, "%s: message '%s' lacks '%s'", tpl, hearth_last_error(), what);
    hearth_jinja_free(t);
}

TEST(syntax_errors) {
    expect_syntax("line one\nline two\n{% if %}x{% endif %}", "line 3, column 7", "unexpected");
    expect_syntax("{% for x in xs %}\n{{ x }}\n", "line 2", "missing {% endfor %} for the block opened at line 1");
    expect_syntax("a\n{% if x %}b{% endfor %}", "line 2", "unexpected 'endfor'");
    expect_syntax("{{ 'unterminated }}", "line 1, column 4", "unterminated string");
    expect_syntax("\n\n  {{ 1 + }}", "line 3", "unexpected");
    expect_syntax("{% frobnicate %}", "line 1", "unknown statement 'frobnicate'");
    expect_syntax("{{ x|nosuch }}", "line 1", "No filter named 'nosuch'");
    expect_syntax("{% include 'other.jinja' %}", "line 1", "not supported");
    expect_syntax("{{ x", "line 1", "missing '}}'");
    expect_syntax("{# open comment", "line 1", "unterminated comment");
    /* deep nesting is refused, not a stack overflow */
    char deep[4000];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{{ ");
    for (int i = 0; i < 1000; i++) deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 1000; i++) deep[n++] = ')';
    snprintf(deep + n, sizeof deep - n, " }}");
    expect_syntax(deep, "line 1", "nested too deeply");
}

/* ---- API contracts ------------------------------------------------------------------------ */
TEST(raise_exception_message_is_exact) {
    char *out = NULL;
    hearth_status st = render("{% if messages|length == 0 %}{{ raise_exception('No messages: ' ~ 0) }}{% endif %}",
                              "{\"messages\": []}", NULL, &out);
    CHECK_EQ_INT(st, HEARTH_ERR_INVALID_ARG);
    CHECK_STR(hearth_last_error(), "No messages: 0");
    CHECK(out == NULL);
}

TEST(json_numbers) {
    char *out = NULL;
    /* JSON text keeps Python's int/float distinction */
    CHECK_EQ_INT(render("{{ a }} {{ b }} {{ c }} {{ a is integer }} {{ b is float }}", "{\"a\": 1, \"b\": 1.0, \"c\": -2.5e-7}", NULL, &out), HEARTH_OK);
    CHECK_STR(out, "1 1.0 -2.5e-07 True True");
    free(out);
    /* tojson round trip of the context */
    CHECK_EQ_INT(render("{{ x|tojson }}", "{\"x\": {\"k\": [1, 2.5, \"\\u00e9\\n\", null, false]}}", NULL, &out), HEARTH_OK);
    CHECK_STR(out, "{\"k\": [1, 2.5, \"\xc3\xa9\\n\", null, false]}");
    free(out);
    /* malformed context JSON is a clear error */
    CHECK_EQ_INT(render("x", "{\"a\": }", NULL, &out), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "context JSON") != NULL);
    CHECK_EQ_INT(render("x", "[1]", NULL, &out), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "must be a JSON object") != NULL);
}

TEST(cjson_context_and_chat_helper) {
    const char *tpl =
        "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"
        "{% if tools is defined %}[{{ tools|length }} tools]{% endif %}{% if add_generation_prompt %}<assistant>{% endif %}";
    cJSON *msgs = cJSON_Parse("[{\"role\": \"user\", \"content\": \"Hi \xe4\xbd\xa0\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]");
    cJSON *tools = cJSON_Parse("[{\"type\": \"function\"}]");
    char *out = NULL;
    CHECK_EQ_INT(hearth_chat_template_apply(tpl, msgs, true, "<s>", "</s>", NULL, &out), HEARTH_OK);
    CHECK_STR(out, "<s><user>Hi \xe4\xbd\xa0</s><assistant>Yo</s><assistant>");
    free(out);
    CHECK_EQ_INT(hearth_chat_template_apply(tpl, msgs, false, NULL, NULL, tools, &out), HEARTH_OK);
    CHECK_STR(out, "<user>Hi \xe4\xbd\xa0<assistant>Yo[1 tools]");
    free(out);
    /* messages stay owned by the caller and unchanged */
    CHECK_EQ_INT(cJSON_GetArraySize(msgs), 2);
    /* the cJSON render path: whole numbers become ints */
    hearth_jinja_template *t = NULL;
    CHECK_EQ_INT(hearth_jinja_parse("{{ n }} {{ f }}", 15, &t), HEARTH_OK);
    cJSON *ctx = cJSON_Parse("{\"n\": 3, \"f\": 0.5}");
    size_t len = 0;
    CHECK_EQ_INT(hearth_jinja_render(t, ctx, NULL, &out, &len), HEARTH_OK);
    CHECK_STR(out, "3 0.5");
    CHECK_EQ_INT(len, 5);
    free(out);
    /* NULL context: no variables */
    CHECK_EQ_INT(hearth_jinja_render(t, NULL, NULL, &out, NULL), HEARTH_OK);
    CHECK_STR(out, " ");
    free(out);
    cJSON_Delete(ctx);
    hearth_jinja_free(t);
    cJSON_Delete(msgs);
    cJSON_Delete(tools);
    hearth_jinja_free(NULL);   /* no-op */
    CHECK_EQ_INT(hearth_jinja_parse("x", 1, NULL), HEARTH_ERR_INVALID_ARG);
}

TEST(template_reuse_is_stateless) {
    /* the same parsed template renders twice identically (no state kept between renders) */
    hearth_jinja_template *t = NULL;
    const char *src = "{% set ns = namespace(n=0) %}{% for m in xs %}{% set ns.n = ns.n + m %}{% endfor %}{{ ns.n }}";
    CHECK_EQ_INT(hearth_jinja_parse(src, strlen(src), &t), HEARTH_OK);
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        CHECK_EQ_INT(hearth_jinja_render_json(t, "{\"xs\": [1, 2, 3]}", 17, NULL, &out, NULL), HEARTH_OK);
        CHECK_STR(out, "6");
        free(out);
    }
    hearth_jinja_free(t);
}

TEST(strftime_now_real_clock) {
    /* without an injected time, strftime_now formats the real local time */
    char *out = NULL;
    CHECK_EQ_INT(render("{{ strftime_now('%Y') }}", "{}", NULL, &out), HEARTH_OK);
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    char year[16];
    strftime(year, sizeof year, "%Y", &tmv);
    CHECK_STR(out, year);
    free(out);
}

/* ---- one parsed template, many threads rendering at once --------------------------------- */
typedef struct thr_arg { const hearth_jinja_template *t; int id; int bad; } thr_arg;

static void *render_thread(void *p) {
    thr_arg *a = p;
    char ctx[128], want[128];
    snprintf(ctx, sizeof ctx, "{\"id\": %d, \"xs\": [\"a\", \"\u00e9\", \"c\"]}", a->id);
    snprintf(want, sizeof want, "%d:A,\xc3\x89,C|3", a->id);
    for (int i = 0; i < 300; i++) {
        char *out = NULL;
        if (hearth_jinja_render_json(a->t, ctx, strlen(ctx), NULL, &out, NULL) != HEARTH_OK || strcmp(out, want) != 0) a->bad++;
        free(out);
    }
    return NULL;
}

TEST(concurrent_renders) {
    const char *src = "{{ id }}:{{ xs|map('upper')|join(',') }}|{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}";
    hearth_jinja_template *t = NULL;
    CHECK_EQ_INT(hearth_jinja_parse(src, strlen(src), &t), HEARTH_OK);
    pthread_t th[4];
    thr_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thr_arg){t, i, 0};
        pthread_create(&th[i], NULL, render_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].bad, 0);
    }
    hearth_jinja_free(t);
}

/* ---- the command: -m reads tokenizer.chat_template from a GGUF ------------------------------ */
static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs(s, f);
    fclose(f);
}

TEST(cli_model_template_and_errors) {
    char gguf[128], ctx[128], tpl[128], err[128], cmd[1024];
    int pid = (int)getpid();
    snprintf(gguf, sizeof gguf, "/tmp/hearth_jinja_%d.gguf", pid);
    snprintf(ctx, sizeof ctx, "/tmp/hearth_jinja_%d.json", pid);
    snprintf(tpl, sizeof tpl, "/tmp/hearth_jinja_%d.jinja", pid);
    snprintf(err, sizeof err, "/tmp/hearth_jinja_%d.err", pid);
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    const char *toks[] = {"<unk>", "<s>", "</s>", "hi"};
    CHECK_EQ_INT(hearth_gguf_set_str(w, "general.architecture", "llama"), HEARTH_OK);
    CHECK_EQ_INT(hearth_gguf_set_str(w, "tokenizer.chat_template",
                                     "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}"),
                 HEARTH_OK);
    CHECK_EQ_INT(hearth_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4), HEARTH_OK);
    CHECK_EQ_INT(hearth_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1), HEARTH_OK);
    CHECK_EQ_INT(hearth_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2), HEARTH_OK);
    CHECK_EQ_INT(hearth_gguf_writer_write(w, gguf), HEARTH_OK);
    hearth_gguf_writer_free(w);
    write_text(ctx, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
    char *out = NULL;
    /* bos/eos come from the model's vocabulary when the context lacks them */
    snprintf(cmd, sizeof cmd, "'%s' template render -m '%s' --context '%s'", HEARTH_BIN, gguf, ctx);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK_STR(out, "<s>[user]Hi</s>");
    free(out);
    /* ... and the context's own values win */
    write_text(ctx, "{\"bos_token\": \"B\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK_STR(out, "B[user]Hi</s>");
    free(out);
    /* a template error: message on stderr, exit 1, nothing on stdout */
    write_text(tpl, "a\n{{ raise_exception('nope: ' ~ messages|length) }}");
    snprintf(cmd, sizeof cmd, "'%s' template render -t '%s' --context '%s' 2>'%s'", HEARTH_BIN, tpl, ctx, err);
    CHECK_EQ_INT(harness_run(cmd, &out), 1);
    CHECK_STR(out, "");
    free(out);
    char *e = harness_read(err, NULL);
    CHECK_STR(e, "nope: 1\n");
    free(e);
    /* a syntax error names the line */
    write_text(tpl, "ok\n{% for x in %}");
    CHECK_EQ_INT(harness_run(cmd, &out), 1);
    free(out);
    e = harness_read(err, NULL);
    CHECK(e && strstr(e, "line 2") != NULL);
    free(e);
    /* usage errors: exit 2 */
    snprintf(cmd, sizeof cmd, "'%s' template render --context '%s' 2>/dev/null", HEARTH_BIN, ctx);
    CHECK_EQ_INT(harness_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' template render -t '%s' --now yesterday 2>/dev/null", HEARTH_BIN, tpl);
    CHECK_EQ_INT(harness_run(cmd, NULL), 2);
    /* a model without a template */
    w = hearth_gguf_writer_create();
    hearth_gguf_set_str(w, "general.architecture", "llama");
    hearth_gguf_writer_write(w, gguf);
    hearth_gguf_writer_free(w);
    snprintf(cmd, sizeof cmd, "'%s' template render -m '%s' 2>'%s'", HEARTH_BIN, gguf, err);
    CHECK_EQ_INT(harness_run(cmd, NULL), 1);
    e = harness_read(err, NULL);
    CHECK(e && strstr(e, "no tokenizer.chat_template") != NULL);
    free(e);
    remove(gguf);
    remove(ctx);
    remove(tpl);
    remove(err);
}

int main(void) {
    RUN(language_cases);
    RUN(falsy_values);
    RUN(hostile_templates);
    RUN(syntax_errors);
    RUN(raise_exception_message_is_exact);
    RUN(json_numbers);
    RUN(cjson_context_and_chat_helper);
    RUN(template_reuse_is_stateless);
    RUN(strftime_now_real_clock);
    RUN(concurrent_renders);
    RUN(cli_model_template_and_errors);
    return harness_done();
}
