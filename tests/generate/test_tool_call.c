/*
 * test_tool_call.c — the tool-call parser (include/hearth/tool_call.h): each
 * native format, several calls, content around them, text that only looks
 * like a call, streaming split at every byte (and byte by byte) giving the
 * same content and arguments, malformed calls as errors naming the call,
 * and forced calls (the reply starts inside the call).
 */
#include "harness.h"
#include "hearth/tool_call.h"
#include "core/buf.h"

#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

/* what the events of one parse add up to */
typedef struct seen {
    hearth_buf content;
    hearth_buf args[8];
    char names[8][64];
    int n_calls, n_ends;
    bool order_ok;   /* arguments only after their call began, ends after */
} seen;

static void on_ev(void *user, const hearth_tool_event *ev) {
    seen *s = user;
    switch (ev->kind) {
    case HEARTH_TOOL_EVENT_CONTENT: hearth_buf_put(&s->content, ev->text, ev->len); break;
    case HEARTH_TOOL_EVENT_CALL:
        if (ev->index != s->n_calls || ev->index >= 8) s->order_ok = false;
        else snprintf(s->names[s->n_calls++], 64, "%.*s", (int)ev->len, ev->text);
        break;
    case HEARTH_TOOL_EVENT_ARGUMENTS:
        if (ev->index >= s->n_calls || ev->index < s->n_ends) s->order_ok = false;
        else hearth_buf_put(&s->args[ev->index], ev->text, ev->len);
        break;
    case HEARTH_TOOL_EVENT_CALL_END:
        if (ev->index != s->n_ends) s->order_ok = false;
        s->n_ends++;
        break;
    }
}

static void seen_free(seen *s) {
    hearth_buf_free(&s->content);
    for (int i = 0; i < 8; i++) hearth_buf_free(&s->args[i]);
}

/* parses text fed in pieces of `step` bytes (0: one feed; <0: split once at -step) */
static hearth_status parse(hearth_tool_format f, bool in_call, const char *text, long step, seen *s,
                           hearth_tool_parser **out) {
    memset(s, 0, sizeof *s);
    s->order_ok = true;
    hearth_tool_parser_params pp = hearth_tool_parser_default_params();
    pp.format = f;
    pp.in_call = in_call;
    pp.seed = 42;
    hearth_tool_parser *tp = NULL;
    CHECK(hearth_tool_parser_new(&pp, &tp) == HEARTH_OK);
    size_t n = strlen(text);
    hearth_status st = HEARTH_OK;
    if (step == 0) {
        st = hearth_tool_parser_feed(tp, text, n, on_ev, s);
    } else if (step < 0) {
        size_t k = (size_t)-step;
        st = hearth_tool_parser_feed(tp, text, k, on_ev, s);
        if (st == HEARTH_OK) st = hearth_tool_parser_feed(tp, text + k, n - k, on_ev, s);
    } else {
        for (size_t i = 0; i < n && st == HEARTH_OK; i += (size_t)step)
            st = hearth_tool_parser_feed(tp, text + i, (size_t)step < n - i ? (size_t)step : n - i, on_ev, s);
    }
    if (st == HEARTH_OK) st = hearth_tool_parser_finish(tp, on_ev, s);
    *out = tp;
    return st;
}

typedef struct expect {
    hearth_tool_format f;
    bool in_call;
    const char *text;
    const char *content;
    int n;
    const char *names[3];
    const char *args[3];
} expect;

#define DS_B "<\uff5ctool\u2581calls\u2581begin\uff5c>"
#define DS_E "<\uff5ctool\u2581calls\u2581end\uff5c>"
#define DS_CB "<\uff5ctool\u2581call\u2581begin\uff5c>"
#define DS_CE "<\uff5ctool\u2581call\u2581end\uff5c>"
#define DS_SEP "<\uff5ctool\u2581sep\uff5c>"

static const expect CASES[] = {
    {HEARTH_TOOL_HERMES, false,
     "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
     "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\", \"fmt\": \"<tool_call>}\"}}\n</tool_call>",
     "Let me check.", 2, {"get_weather", "get_time"},
     {"{\"city\": \"Paris\"}", "{\"tz\": \"Europe/Paris\", \"fmt\": \"<tool_call>}\"}"}},
    /* content after a call; escapes in the name */
    {HEARTH_TOOL_HERMES, false, "<tool_call>{\"arguments\": {\"q\": [1, 2.5e3, null, true]}, \"name\": \"s\\u0065arch\"}</tool_call>\nDone.",
     "Done.", 1, {"search"}, {"{\"q\": [1, 2.5e3, null, true]}"}},
    /* no arguments given: {} */
    {HEARTH_TOOL_HERMES, false, "<tool_call>\n{\"name\": \"now\"}\n</tool_call>", "", 1, {"now"}, {"{}"}},
    /* only looks like a tag */
    {HEARTH_TOOL_HERMES, false, "if a < b and <tool_ca", "if a < b and <tool_ca", 0, {0}, {0}},
    {HEARTH_TOOL_HERMES, false, "  plain answer \n", "  plain answer \n", 0, {0}, {0}},
    {HEARTH_TOOL_LLAMA31, false, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 3}}", "", 1,
     {"get_weather"}, {"{\"city\": \"Paris\", \"days\": 3}"}},
    {HEARTH_TOOL_LLAMA31, false, "<|python_tag|>{\"name\": \"f\", \"arguments\": {\"x\": [1, {\"y\": \"}\\\"\"}]}}", "", 1,
     {"f"}, {"{\"x\": [1, {\"y\": \"}\\\"\"}]}"}},
    /* a JSON answer that is not a call stays content */
    {HEARTH_TOOL_LLAMA31, false, "{\"answer\": 42}", "{\"answer\": 42}", 0, {0}, {0}},
    {HEARTH_TOOL_LLAMA31, false, "<|python_tag|>brave_search.call(query=\"x\")", "<|python_tag|>brave_search.call(query=\"x\")",
     0, {0}, {0}},
    {HEARTH_TOOL_MISTRAL, false,
     "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"q\": \"x\"}, \"id\": \"abc123def\"}, {\"name\": \"b\", \"arguments\": {}}]",
     "", 2, {"a", "b"}, {"{\"q\": \"x\"}", "{}"}},
    {HEARTH_TOOL_MISTRAL, false, " [{\"name\": \"a\", \"arguments\": {\"k\": {\"n\": [[]]}}}]", "", 1, {"a"},
     {"{\"k\": {\"n\": [[]]}}"}},
    {HEARTH_TOOL_MISTRAL, false, "[1, 2] are numbers", "[1, 2] are numbers", 0, {0}, {0}},
    {HEARTH_TOOL_COMMAND_R, false,
     "Action:\n```json\n[\n    {\n        \"tool_name\": \"get_weather\",\n        \"parameters\": {\"city\": \"Paris\"}\n    }\n]```",
     "", 1, {"get_weather"}, {"{\"city\": \"Paris\"}"}},
    {HEARTH_TOOL_COMMAND_R, false, "Action: none needed.", "Action: none needed.", 0, {0}, {0}},
    /* forced: the prompt ended with the opening */
    {HEARTH_TOOL_HERMES, true, "{\"name\": \"f\", \"arguments\": {\"a\": 1}}", "", 1, {"f"}, {"{\"a\": 1}"}},
    {HEARTH_TOOL_MISTRAL, true, "[{\"name\": \"f\", \"arguments\": {\"a\": \"\\u00e9t\\u00e9\"}}]", "", 1, {"f"},
     {"{\"a\": \"\\u00e9t\\u00e9\"}"}},
    {HEARTH_TOOL_COMMAND_R, true, "[{\"tool_name\": \"f\", \"parameters\": {}}]\n```", "", 1, {"f"}, {"{}"}},
    /* functionary v3.1: <function=NAME>{args}</function> */
    {HEARTH_TOOL_FUNCTIONARY31, false,
     "Checking.<function=get_weather>{\"city\": \"Paris\"}</function>\n<function=get_time>{\"tz\": \"</function>\"}</function>",
     "Checking.", 2, {"get_weather", "get_time"}, {"{\"city\": \"Paris\"}", "{\"tz\": \"</function>\"}"}},
    {HEARTH_TOOL_FUNCTIONARY31, false, "a <b> and <function", "a <b> and <function", 0, {0}, {0}},
    {HEARTH_TOOL_FUNCTIONARY31, true, "f>{}</function>", "", 1, {"f"}, {"{}"}},
    /* functionary v3.2: the prompt ends with >>>; >>>all is text */
    {HEARTH_TOOL_FUNCTIONARY32, false, "all\nLet me look.>>>search\n{\"q\": \">>>x\"}>>>now\n{}", "Let me look.", 2,
     {"search", "now"}, {"{\"q\": \">>>x\"}", "{}"}},
    {HEARTH_TOOL_FUNCTIONARY32, false, "get_weather\n{\"city\": [1, {\"a\": null}]}", "", 1, {"get_weather"},
     {"{\"city\": [1, {\"a\": null}]}"}},
    {HEARTH_TOOL_FUNCTIONARY32, false, "Hello there, a >>> b", "Hello there, a >>> b", 0, {0}, {0}},
    /* no recipient line: plain content, however it is split */
    {HEARTH_TOOL_FUNCTIONARY32, false, "Hello\nHow are you?", "Hello\nHow are you?", 0, {0}, {0}},
    {HEARTH_TOOL_FUNCTIONARY32, false, "all\nSee:>>>note\nthis", "See:>>>note\nthis", 0, {0}, {0}},
    /* deepseek V3.1 and V3 */
    {HEARTH_TOOL_DEEPSEEK, false,
     "Sure." DS_B DS_CB "get_weather" DS_SEP "{\"city\": \"Paris\"}" DS_CE DS_CB "get_time" DS_SEP "{}" DS_CE DS_E,
     "Sure.", 2, {"get_weather", "get_time"}, {"{\"city\": \"Paris\"}", "{}"}},
    {HEARTH_TOOL_DEEPSEEK, false,
     DS_B DS_CB "function" DS_SEP "get_weather\n```json\n{\"city\": \"Oslo\"}\n```" DS_CE DS_E, "", 1,
     {"get_weather"}, {"{\"city\": \"Oslo\"}"}},
    {HEARTH_TOOL_DEEPSEEK, true, "f" DS_SEP "{\"a\": 1}" DS_CE DS_E, "", 1, {"f"}, {"{\"a\": 1}"}},
    {HEARTH_TOOL_DEEPSEEK, false, "<\uff5ctool no call", "<\uff5ctool no call", 0, {0}, {0}},
};

static void check_one(const expect *e, long step) {
    seen s;
    hearth_tool_parser *tp = NULL;
    hearth_status st = parse(e->f, e->in_call, e->text, step, &s, &tp);
    CHECK_MSG(st == HEARTH_OK, "%s step %ld: %s (%s)", hearth_tool_format_name(e->f), step, hearth_last_error(), e->text);
    CHECK_MSG(s.order_ok, "%s step %ld: events out of order", hearth_tool_format_name(e->f), step);
    const char *content = s.content.data ? s.content.data : "";
    CHECK_MSG(!strcmp(content, e->content), "%s step %ld: content '%s', expected '%s'", hearth_tool_format_name(e->f),
              step, content, e->content);
    CHECK_STR(hearth_tool_parser_content(tp, NULL), e->content);
    CHECK_EQ_INT(hearth_tool_parser_n_calls(tp), e->n);
    CHECK_EQ_INT(s.n_calls, e->n);
    CHECK_EQ_INT(s.n_ends, e->n);
    for (int i = 0; i < e->n && i < s.n_calls; i++) {
        const hearth_tool_call *c = hearth_tool_parser_call(tp, i);
        CHECK_STR(c->name, e->names[i]);
        CHECK_STR(c->arguments, e->args[i]);
        CHECK(c->complete);
        CHECK_STR(s.names[i], e->names[i]);
        CHECK_MSG(s.args[i].data && !strcmp(s.args[i].data, e->args[i]), "%s step %ld: streamed arguments '%s'",
                  hearth_tool_format_name(e->f), step, s.args[i].data ? s.args[i].data : "");
        if (e->f == HEARTH_TOOL_MISTRAL) CHECK_EQ_INT(strlen(c->id), 9);   /* its template's rule */
        else CHECK(!strncmp(c->id, "call_", 5) && strlen(c->id) == 29);
        if (i > 0) CHECK(strcmp(c->id, hearth_tool_parser_call(tp, 0)->id) != 0);
    }
    CHECK(hearth_tool_parser_call(tp, e->n) == NULL);
    seen_free(&s);
    hearth_tool_parser_free(tp);
}

TEST(formats_whole) {
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) check_one(&CASES[i], 0);
}

TEST(streaming_every_split) {
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        int before = harness_failures;
        long n = (long)strlen(CASES[i].text);
        for (long k = 1; k < n && harness_failures == before; k++) check_one(&CASES[i], -k);
        check_one(&CASES[i], 1);   /* byte by byte */
        check_one(&CASES[i], 3);
    }
}

static void check_error(hearth_tool_format f, bool in_call, const char *text, const char *needle) {
    for (long step = 0; step <= 1; step++) {
        seen s;
        hearth_tool_parser *tp = NULL;
        hearth_status st = parse(f, in_call, text, step, &s, &tp);
        CHECK_MSG(st == HEARTH_ERR_FORMAT, "'%s' gave %d", text, st);
        CHECK_MSG(strstr(hearth_last_error(), needle) != NULL, "'%s': message '%s' lacks '%s'", text,
                  hearth_last_error(), needle);
        /* once failed, the parser stays failed */
        CHECK(hearth_tool_parser_feed(tp, "x", 1, NULL, NULL) == HEARTH_ERR_FORMAT);
        seen_free(&s);
        hearth_tool_parser_free(tp);
    }
}

TEST(malformed_calls) {
    check_error(HEARTH_TOOL_HERMES, false, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }}\n</tool_call>",
                "tool call 1: malformed JSON");
    check_error(HEARTH_TOOL_HERMES, false,
                "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"g\", \"arguments\": [1}</tool_call>",
                "tool call 2");
    check_error(HEARTH_TOOL_HERMES, false, "<tool_call>\n{\"arguments\": {}}\n</tool_call>", "no \"name\"");
    check_error(HEARTH_TOOL_HERMES, false, "<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>", "non-empty");
    check_error(HEARTH_TOOL_HERMES, false, "<tool_call>{\"name\": \"f\", \"arguments\": \"{}\"}</tool_call>",
                "must be a JSON object");
    check_error(HEARTH_TOOL_HERMES, false, "<tool_call>\nI will call it", "expected '{'");
    check_error(HEARTH_TOOL_HERMES, false, "<tool_call>{\"name\": \"f\", \"argu", "ended inside");
    check_error(HEARTH_TOOL_HERMES, true, "{\"name\": \"f\", \"arguments\": {\"a\": 1}", "ended inside");
    check_error(HEARTH_TOOL_MISTRAL, false, "[TOOL_CALLS][\"f\"]", "each call must be an object");
    check_error(HEARTH_TOOL_LLAMA31, false, "{\"name\": \"f\", \"parameters\": {\"a\": 1}, \"x\": tru}", "malformed JSON");
    check_error(HEARTH_TOOL_FUNCTIONARY31, false, "<function=f>{\"a\": }</function>", "malformed JSON");
    check_error(HEARTH_TOOL_FUNCTIONARY31, false, "<function=f>[1]</function>", "expected '{'");
    check_error(HEARTH_TOOL_FUNCTIONARY31, false, "<function=../etc>{}</function>", "function name");
    check_error(HEARTH_TOOL_FUNCTIONARY31, false, "<function=f>{\"a\": 1", "ended inside");
    check_error(HEARTH_TOOL_FUNCTIONARY32, false, "f\n{\"a\": tru}", "malformed JSON");
    check_error(HEARTH_TOOL_FUNCTIONARY31, false, "<function=f>not: json</function>", "expected '{'");
    check_error(HEARTH_TOOL_DEEPSEEK, false, DS_B DS_CB "f" DS_SEP "{\"a\": [}" DS_CE, "malformed JSON");
    check_error(HEARTH_TOOL_DEEPSEEK, false, DS_CB "f" DS_SEP "g\n{}" DS_CE, "unexpected text");
    check_error(HEARTH_TOOL_DEEPSEEK, false, DS_CB DS_SEP "{}", "no function name");
}

TEST(formats_named_and_detected) {
    for (int f = 0; f < HEARTH_TOOL_N_FORMATS; f++) {
        hearth_tool_format g;
        CHECK(hearth_tool_format_from_name(hearth_tool_format_name((hearth_tool_format)f), &g) == HEARTH_OK);
        CHECK_EQ_INT(g, f);
    }
    hearth_tool_format g;
    CHECK(hearth_tool_format_from_name("gorilla", &g) == HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "hermes") != NULL);
    CHECK_EQ_INT(hearth_tool_format_detect(NULL), HEARTH_TOOL_HERMES);
    CHECK_STR(hearth_tool_format_opening(HEARTH_TOOL_HERMES), "<tool_call>\n");
    CHECK_STR(hearth_tool_format_opening(HEARTH_TOOL_LLAMA31), "");
    /* the real templates (tests/data/templates) */
    const struct { const char *file; hearth_tool_format f; } T[] = {
        {"Qwen-Qwen2.5-7B-Instruct.json", HEARTH_TOOL_HERMES},
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.json", HEARTH_TOOL_HERMES},
        {"meta-llama-Llama-3.1-8B-Instruct.json", HEARTH_TOOL_LLAMA31},
        {"mistralai-Mistral-Nemo-Instruct-2407.json", HEARTH_TOOL_MISTRAL},
        {"CohereForAI-c4ai-command-r-plus-tool_use.json", HEARTH_TOOL_COMMAND_R},
        {"google-gemma-2-2b-it.json", HEARTH_TOOL_HERMES},   /* no tools in it: hearth's own description */
        {"extra/meetkai-functionary-medium-v3.1.json", HEARTH_TOOL_FUNCTIONARY31},
        {"extra/meetkai-functionary-medium-v3.2.json", HEARTH_TOOL_FUNCTIONARY32},
        {"extra/deepseek-ai-DeepSeek-V3.1.json", HEARTH_TOOL_DEEPSEEK},
        {"extra/meta-llama-Llama-3.2-3B-Instruct.json", HEARTH_TOOL_LLAMA31},
    };
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/templates/%s", HEARTH_TEST_DATA, T[i].file);
        char *txt = harness_read(path, NULL);
        CHECK_MSG(txt != NULL, "cannot read %s", path);
        if (!txt) continue;
        cJSON *j = cJSON_Parse(txt);
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "template");
        CHECK(cJSON_IsString(src));
        hearth_tool_format got = hearth_tool_format_detect(cJSON_IsString(src) ? src->valuestring : NULL);
        CHECK_MSG(got == T[i].f, "%s: detected %s", T[i].file, hearth_tool_format_name(got));
        cJSON_Delete(j);
        free(txt);
    }
}

/* the calls the real templates render into an assistant turn parse back */
TEST(template_renders_parse_back) {
    const struct { const char *file, *from, *to; hearth_tool_format f; size_t skip; } T[] = {
        /* v3.2's generation prompt ends with >>>: the reply starts after it */
        {"extra/meetkai-functionary-medium-v3.2.json", ">>>get_weather", "<|eot_id|>", HEARTH_TOOL_FUNCTIONARY32, 3},
        {"extra/meetkai-functionary-medium-v3.1.json", "<function=get_weather", "<|eom_id|>", HEARTH_TOOL_FUNCTIONARY31, 0},
        {"extra/deepseek-ai-DeepSeek-V3.1.json", DS_B, "<\uff5cend\u2581of\u2581sentence\uff5c>", HEARTH_TOOL_DEEPSEEK, 0},
    };
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/templates/%s", HEARTH_TEST_DATA, T[i].file);
        char *txt = harness_read(path, NULL);
        cJSON *doc = txt ? cJSON_Parse(txt) : NULL;
        free(txt);
        CHECK_MSG(doc != NULL, "cannot read %s", path);
        int n = 0;
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
            const cJSON *exp = cJSON_GetObjectItemCaseSensitive(cs, "expected");
            const char *a = cJSON_IsString(exp) ? strstr(exp->valuestring, T[i].from) : NULL;
            const char *z = a ? strstr(a, T[i].to) : NULL;
            if (!z) continue;
            char *reply = strndup(a + T[i].skip, (size_t)(z - a) - T[i].skip);
            for (long step = 0; step <= 1; step++) {   /* whole and byte by byte */
                seen s;
                hearth_tool_parser *tp = NULL;
                CHECK_MSG(parse(T[i].f, false, reply, step, &s, &tp) == HEARTH_OK, "%s: %s (%s)", T[i].file,
                          hearth_last_error(), reply);
                CHECK_MSG(hearth_tool_parser_n_calls(tp) >= 1, "%s: no call in %s", T[i].file, reply);
                const hearth_tool_call *c = hearth_tool_parser_call(tp, 0);
                if (c) {
                    CHECK_STR(c->name, "get_weather");
                    cJSON *args = cJSON_Parse(c->arguments);
                    CHECK_MSG(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(args, "city")), "%s: arguments %s",
                              T[i].file, c->arguments);
                    cJSON_Delete(args);
                }
                CHECK_STR(hearth_tool_parser_content(tp, NULL), "");
                seen_free(&s);
                hearth_tool_parser_free(tp);
            }
            free(reply);
            n++;
        }
        CHECK_MSG(n >= 1, "%s: no rendered call found", T[i].file);
        cJSON_Delete(doc);
    }
}

int main(void) {
    RUN(formats_whole);
    RUN(streaming_every_split);
    RUN(malformed_calls);
    RUN(formats_named_and_detected);
    RUN(template_renders_parse_back);
    return harness_done();
}
