/*
 * tool_call.c — the models' native tool-call formats and the streaming
 * parser that splits a reply into content and calls (include/hearth/tool_call.h).
 *
 * The parser is a byte-at-a-time state machine:
 *
 *   TEXT   content; text that may be the start of an opening (or, at the
 *          start of the reply, of a bare call such as {"name") is held back
 *   OPEN   after an opening: whitespace and a ``` fence until the JSON starts
 *   JSON   the call's JSON (an object, or an array of them); a small scanner
 *          follows strings and depth to find each call's name and the raw
 *          text of its arguments as they arrive; each complete call object
 *          is checked with cJSON
 *   CLOSE  after the JSON: an optional closing (</tool_call>, ```)
 */
#include "hearth/tool_call.h"
#include "core/buf.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CALL_JSON (1u << 20)   /* bytes of one call region */
#define MAX_CALLS 128

/* ========================================================================
 * formats
 * ======================================================================== */

typedef struct fmt_spec {
    const char *name;
    const char *opening;    /* what a forced call's prompt ends with */
    const char *opener;     /* what opens a call inside content */
    bool weak;              /* an opener not followed by JSON is plain content */
    char json_open;         /* '{': one call object; '[': an array of them */
    const char *closer;     /* optional text after the JSON, consumed */
    const char *name_key, *args_key, *args_key2;
    bool at_start;          /* a reply that starts with the call's JSON is a call */
    int id_len;             /* 0: "call_" + 24 */
    /* formats whose name stands before the arguments object (NULL: none) */
    const char *name_end;   /* what ends the name */
    const char *drop[2];    /* markers around calls, dropped from content */
    bool start_named;       /* the generation prompt ends with the opener */
} fmt_spec;

#define DS_CALLS_BEGIN "<\uff5ctool\u2581calls\u2581begin\uff5c>"
#define DS_CALLS_END "<\uff5ctool\u2581calls\u2581end\uff5c>"
#define DS_CALL_BEGIN "<\uff5ctool\u2581call\u2581begin\uff5c>"
#define DS_CALL_END "<\uff5ctool\u2581call\u2581end\uff5c>"
#define DS_SEP "<\uff5ctool\u2581sep\uff5c>"

static const fmt_spec SPECS[HEARTH_TOOL_N_FORMATS] = {
    [HEARTH_TOOL_HERMES] = {"hermes", "<tool_call>\n", "<tool_call>", false, '{', "</tool_call>", "name", "arguments",
                            NULL, false, 0},
    [HEARTH_TOOL_LLAMA31] = {"llama3.1", "", "<|python_tag|>", true, '{', NULL, "name", "parameters", "arguments", true,
                             0},
    [HEARTH_TOOL_MISTRAL] = {"mistral", "[TOOL_CALLS]", "[TOOL_CALLS]", false, '[', NULL, "name", "arguments", NULL,
                             true, 9},
    [HEARTH_TOOL_COMMAND_R] = {"command-r", "Action:\n```json\n", "Action:", true, '[', "```", "tool_name",
                               "parameters", NULL, false, 0},
    [HEARTH_TOOL_FUNCTIONARY31] = {"functionary-v3.1", "<function=", "<function=", false, '{', "</function>", NULL,
                                   NULL, NULL, false, 0, ">", {NULL, NULL}, false},
    [HEARTH_TOOL_FUNCTIONARY32] = {"functionary-v3.2", ">>>", ">>>", true, '{', NULL, NULL, NULL, NULL, false, 0, "\n",
                                   {NULL, NULL}, true},
    [HEARTH_TOOL_DEEPSEEK] = {"deepseek", DS_CALLS_BEGIN DS_CALL_BEGIN, DS_CALL_BEGIN, false, '{', DS_CALL_END, NULL,
                              NULL, NULL, false, 0, DS_SEP, {DS_CALLS_BEGIN, DS_CALLS_END}, false},
};

const char *hearth_tool_format_name(hearth_tool_format f) {
    return (unsigned)f < HEARTH_TOOL_N_FORMATS ? SPECS[f].name : "unknown";
}

hearth_status hearth_tool_format_from_name(const char *name, hearth_tool_format *out) {
    for (int f = 0; name && out && f < HEARTH_TOOL_N_FORMATS; f++)
        if (!strcmp(name, SPECS[f].name)) {
            *out = (hearth_tool_format)f;
            return HEARTH_OK;
        }
    return hearth_set_error(HEARTH_ERR_NOT_FOUND, "unknown tool-call format '%s' (known: hermes, llama3.1, mistral, command-r, "
                            "functionary-v3.1, functionary-v3.2, deepseek)",
                            name ? name : "(null)");
}

const char *hearth_tool_format_opening(hearth_tool_format f) {
    return (unsigned)f < HEARTH_TOOL_N_FORMATS ? SPECS[f].opening : "";
}

hearth_tool_format hearth_tool_format_detect(const char *t) {
    if (t && strstr(t, DS_SEP)) return HEARTH_TOOL_DEEPSEEK;   /* its template renders calls, never `tools` */
    if (!t || !strstr(t, "tools")) return HEARTH_TOOL_HERMES;
    if (strstr(t, "'<function='")) return HEARTH_TOOL_FUNCTIONARY31;
    if (strstr(t, ">>>all")) return HEARTH_TOOL_FUNCTIONARY32;
    if (strstr(t, "[TOOL_CALLS]")) return HEARTH_TOOL_MISTRAL;
    if (strstr(t, "<|python_tag|>") || (strstr(t, "<|start_header_id|>") && strstr(t, "\"parameters\"")))
        return HEARTH_TOOL_LLAMA31;
    if (strstr(t, "tool_name") && strstr(t, "Action:")) return HEARTH_TOOL_COMMAND_R;
    return HEARTH_TOOL_HERMES;
}

/* ========================================================================
 * the parser's state
 * ======================================================================== */

enum { M_TEXT, M_OPEN, M_JSON, M_CLOSE, M_NAME, M_ARGS, M_FAILED };
enum { F_OTHER, F_NAME, F_ARGS };

typedef struct call {
    char id[32];
    char *name;
    hearth_buf args;
    size_t args_sent;
    bool started;   /* the CALL event went out */
    hearth_tool_call pub;
} call;

struct hearth_tool_parser {
    const fmt_spec *f;
    int mode;
    bool at_start;        /* only whitespace so far */
    uint64_t rng;
    hearth_buf hold;      /* TEXT: a possible opening; OPEN: what followed the opener; CLOSE: a possible closer */
    hearth_buf ws;        /* content whitespace not yet emitted (dropped when the reply made calls) */
    hearth_buf pend;      /* content to emit */
    hearth_buf content;   /* all content emitted */
    /* JSON scanner */
    hearth_buf js;
    int depth, obj_depth;
    bool in_str, esc, fence;
    bool bare_name;       /* M_NAME without an opener in the text (start_named) */
    bool expect_key, expect_value, in_key;
    hearth_buf key;
    int field;            /* what the current key names */
    int val_field;        /* the value being read: F_NAME / F_ARGS / F_OTHER; -1: none */
    int val_depth;        /* a container value: the depth its bytes are inside; 0: a string/scalar */
    bool val_str;
    hearth_buf name_raw;
    size_t obj_start;
    call *cur;            /* the call being read */
    call *calls;
    int n_calls;
    size_t cap_calls;
    hearth_status err;
    hearth_tool_event_fn fn;
    void *user;
};

hearth_tool_parser_params hearth_tool_parser_default_params(void) {
    hearth_tool_parser_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void make_id(hearth_tool_parser *tp, char *id, size_t cap) {
    static const char A[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    int n = tp->f->id_len ? tp->f->id_len : 24;
    size_t o = 0;
    if (!tp->f->id_len) o = (size_t)snprintf(id, cap, "call_");
    for (int i = 0; i < n && o + 1 < cap; i++) id[o++] = A[splitmix(&tp->rng) % 62];
    id[o] = 0;
}

hearth_status hearth_tool_parser_new(const hearth_tool_parser_params *p, hearth_tool_parser **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tool parser: out is NULL");
    *out = NULL;
    hearth_tool_parser_params dp = hearth_tool_parser_default_params();
    if (!p) p = &dp;
    if ((unsigned)p->format >= HEARTH_TOOL_N_FORMATS)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tool parser: unknown format %d", (int)p->format);
    hearth_tool_parser *tp = calloc(1, sizeof *tp);
    if (!tp) return hearth_set_error(HEARTH_ERR_NOMEM, "tool parser: out of memory");
    tp->f = &SPECS[p->format];
    tp->mode = p->in_call ? M_OPEN : M_TEXT;
    if (tp->f->name_end && (p->in_call || tp->f->start_named)) {
        tp->mode = M_NAME;
        tp->bare_name = !p->in_call;
    }
    tp->at_start = true;
    tp->obj_depth = tp->f->json_open == '[' ? 2 : 1;
    tp->val_field = -1;
    tp->rng = p->seed ? p->seed : (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)tp;
    *out = tp;
    return HEARTH_OK;
}

void hearth_tool_parser_free(hearth_tool_parser *tp) {
    if (!tp) return;
    for (int i = 0; i < tp->n_calls; i++) {
        free(tp->calls[i].name);
        hearth_buf_free(&tp->calls[i].args);
    }
    free(tp->calls);
    hearth_buf *bufs[] = {&tp->hold, &tp->ws, &tp->pend, &tp->content, &tp->js, &tp->key, &tp->name_raw};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) hearth_buf_free(bufs[i]);
    free(tp);
}

/* ========================================================================
 * events
 * ======================================================================== */

static void emit(hearth_tool_parser *tp, hearth_tool_event_kind k, int index, const char *s, size_t n) {
    if (!tp->fn) return;
    hearth_tool_event ev = {k, index, s ? s : "", n};
    tp->fn(tp->user, &ev);
}

static void flush_content(hearth_tool_parser *tp) {
    if (!tp->pend.len) return;
    emit(tp, HEARTH_TOOL_EVENT_CONTENT, 0, tp->pend.data, tp->pend.len);
    hearth_buf_reset(&tp->pend);
}

static void flush_args(hearth_tool_parser *tp) {
    call *c = tp->cur;
    if (!c || !c->started || c->args.len <= c->args_sent) return;
    emit(tp, HEARTH_TOOL_EVENT_ARGUMENTS, (int)(c - tp->calls), c->args.data + c->args_sent, c->args.len - c->args_sent);
    c->args_sent = c->args.len;
}

static void sync_pub(call *c) {
    c->pub.id = c->id;
    c->pub.name = c->name ? c->name : "";
    c->pub.arguments = c->args.data ? c->args.data : "";
}

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* one byte of content: whitespace waits until something follows it */
static void content_byte(hearth_tool_parser *tp, char c) {
    if (is_ws(c)) {
        hearth_buf_putc(&tp->ws, c);
        return;
    }
    tp->at_start = false;
    if (tp->n_calls && !tp->content.len) hearth_buf_reset(&tp->ws);   /* blanks between calls and content */
    if (tp->ws.len) {
        hearth_buf_put(&tp->pend, tp->ws.data, tp->ws.len);
        hearth_buf_put(&tp->content, tp->ws.data, tp->ws.len);
        hearth_buf_reset(&tp->ws);
    }
    hearth_buf_putc(&tp->pend, c);
    hearth_buf_putc(&tp->content, c);
}

static hearth_status failf(hearth_tool_parser *tp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hearth_status failf(hearth_tool_parser *tp, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tp->mode = M_FAILED;
    tp->err = hearth_set_error(HEARTH_ERR_FORMAT, "tool call %d: %s", tp->n_calls + (tp->cur ? 0 : 1), msg);
    return tp->err;
}

/* ========================================================================
 * JSON
 * ======================================================================== */

static void start_json(hearth_tool_parser *tp) {
    tp->mode = M_JSON;
    hearth_buf_reset(&tp->js);
    tp->depth = 0;
    tp->in_str = tp->esc = tp->in_key = tp->expect_key = tp->expect_value = false;
    tp->val_field = -1;
    tp->cur = NULL;
}

static call *new_call(hearth_tool_parser *tp) {
    if (tp->n_calls >= MAX_CALLS) return NULL;
    if (!HEARTH_GROW(tp->calls, tp->cap_calls, (size_t)tp->n_calls + 1)) return NULL;
    for (int i = 0; i < tp->n_calls; i++) sync_pub(&tp->calls[i]);   /* the array moved */
    call *c = &tp->calls[tp->n_calls++];
    memset(c, 0, sizeof *c);
    make_id(tp, c->id, sizeof c->id);
    sync_pub(c);
    return c;
}

static void start_call_event(hearth_tool_parser *tp) {
    call *c = tp->cur;
    if (!c || c->started || !c->name) return;
    flush_content(tp);
    c->started = true;
    emit(tp, HEARTH_TOOL_EVENT_CALL, (int)(c - tp->calls), c->name, strlen(c->name));
}

/* the name's JSON string is complete: unescape it */
static hearth_status name_done(hearth_tool_parser *tp) {
    cJSON *s = cJSON_ParseWithLength(tp->name_raw.data ? tp->name_raw.data : "", tp->name_raw.len);
    if (!cJSON_IsString(s) || !s->valuestring[0]) {
        cJSON_Delete(s);
        return failf(tp, "\"%s\" must be a non-empty string", tp->f->name_key);
    }
    free(tp->cur->name);
    tp->cur->name = strdup(s->valuestring);
    cJSON_Delete(s);
    if (!tp->cur->name) return failf(tp, "out of memory");
    sync_pub(tp->cur);
    start_call_event(tp);
    return HEARTH_OK;
}

/* a call object is complete: check it with cJSON */
static hearth_status call_done(hearth_tool_parser *tp, size_t end) {
    call *c = tp->cur;
    const char *obj = tp->js.data + tp->obj_start;
    cJSON *o = cJSON_ParseWithLength(obj, end - tp->obj_start + 1);
    if (!o) return failf(tp, "malformed JSON: %.*s", (int)(end - tp->obj_start + 1 > 120 ? 120 : end - tp->obj_start + 1), obj);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, tp->f->name_key);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, tp->f->args_key);
    if (!args && tp->f->args_key2) args = cJSON_GetObjectItemCaseSensitive(o, tp->f->args_key2);
    hearth_status st = HEARTH_OK;
    if (!cJSON_IsString(nm) || !nm->valuestring[0]) st = failf(tp, "no \"%s\" (a non-empty string)", tp->f->name_key);
    else if (args && !cJSON_IsObject(args))
        st = failf(tp, "\"%s\" of '%s' must be a JSON object", tp->f->args_key, nm->valuestring);
    if (st == HEARTH_OK && !c->name) {
        c->name = strdup(nm->valuestring);
        if (!c->name) st = failf(tp, "out of memory");
    }
    cJSON_Delete(o);
    if (st != HEARTH_OK) return st;
    if (!args && !c->args.len) hearth_buf_puts(&c->args, "{}");
    if (c->args.oom) return failf(tp, "out of memory");
    sync_pub(c);
    start_call_event(tp);
    flush_args(tp);
    c->pub.complete = true;
    emit(tp, HEARTH_TOOL_EVENT_CALL_END, (int)(c - tp->calls), NULL, 0);
    tp->cur = NULL;
    return HEARTH_OK;
}

static bool json_char_ok(char c) {
    return is_ws(c) || strchr("{}[]:,-+.0123456789eEtrufalsn", c) != NULL;
}

/* the value at the call object's level ends (its last byte was at js[pos]) */
static hearth_status value_end(hearth_tool_parser *tp) {
    int f = tp->val_field;
    tp->val_field = -1;
    tp->expect_value = false;
    if (f == F_NAME) return name_done(tp);
    return HEARTH_OK;
}

static hearth_status json_byte(hearth_tool_parser *tp, char c) {
    if (tp->js.len >= MAX_CALL_JSON) return failf(tp, "the call's JSON is longer than %u bytes", MAX_CALL_JSON);
    hearth_buf_putc(&tp->js, c);
    if (tp->js.oom) return failf(tp, "out of memory");
    size_t pos = tp->js.len - 1;
    int od = tp->obj_depth;
    /* bytes of the arguments value go to the call as they come */
    bool in_args = tp->val_field == F_ARGS && tp->cur;
    if (tp->in_str) {
        if (in_args) hearth_buf_putc(&tp->cur->args, c);
        if (tp->val_field == F_NAME) hearth_buf_putc(&tp->name_raw, c);
        if (tp->esc) {
            tp->esc = false;
            if (tp->in_key) hearth_buf_putc(&tp->key, c);
        } else if (c == '\\') {
            tp->esc = true;
            if (tp->in_key) hearth_buf_putc(&tp->key, c);
        } else if (c == '"') {
            tp->in_str = false;
            if (tp->in_key) {
                tp->in_key = false;
                const char *k = tp->key.data ? tp->key.data : "";
                tp->field = !strcmp(k, tp->f->name_key) ? F_NAME
                          : !strcmp(k, tp->f->args_key) || (tp->f->args_key2 && !strcmp(k, tp->f->args_key2)) ? F_ARGS
                                                                                                              : F_OTHER;
            } else if (tp->val_field >= 0 && tp->val_str) {
                return value_end(tp);
            }
        } else if (tp->in_key) {
            hearth_buf_putc(&tp->key, c);
        }
        return HEARTH_OK;
    }
    if (od == 2 && tp->depth == 1 && !is_ws(c) && c != '{' && c != ',' && c != ']')
        return failf(tp, "malformed JSON: each call must be an object");
    if (c != '"' && !json_char_ok(c))
        return failf(tp, "malformed JSON: unexpected '%c' at byte %zu of the call", c, pos);
    /* a value starts at the call object's level */
    if (tp->depth == od && tp->expect_value && tp->val_field < 0 && !is_ws(c) && c != ',' && c != '}') {
        tp->val_field = tp->field;
        tp->val_str = c == '"';
        tp->val_depth = (c == '{' || c == '[') ? od + 1 : 0;
        if (tp->val_field == F_NAME) {
            hearth_buf_reset(&tp->name_raw);
            hearth_buf_putc(&tp->name_raw, c);
        }
        if (tp->val_field == F_ARGS && tp->cur) {
            if (tp->cur->args.len) return failf(tp, "\"%s\" given twice", tp->f->args_key);
            hearth_buf_putc(&tp->cur->args, c);
        }
        if (tp->val_str) {
            tp->in_str = true;
            return HEARTH_OK;
        }
        in_args = false;   /* this byte is in already */
    } else if (in_args && !(tp->val_depth == 0 && (c == ',' || c == '}'))) {
        hearth_buf_putc(&tp->cur->args, c);
    } else if (tp->val_field == F_NAME && tp->val_depth == 0 && !(c == ',' || c == '}')) {
        hearth_buf_putc(&tp->name_raw, c);
    }
    switch (c) {
    case '"':
        tp->in_str = true;
        if (tp->depth == od && tp->expect_key) {
            tp->in_key = true;
            tp->expect_key = false;
            hearth_buf_reset(&tp->key);
            hearth_buf_puts(&tp->key, "");
        }
        break;
    case '{':
    case '[':
        if (tp->depth == 0 && c != tp->f->json_open)
            return failf(tp, "malformed JSON: expected '%c', found '%c'", tp->f->json_open, c);
        tp->depth++;
        if (tp->depth == od) {
            if (c != '{') return failf(tp, "malformed JSON: each call must be an object");
            if (!(tp->cur = new_call(tp))) return failf(tp, "too many calls (at most %d) or out of memory", MAX_CALLS);
            tp->obj_start = pos;
            tp->expect_key = true;
            tp->expect_value = false;
            tp->field = F_OTHER;
        }
        break;
    case '}':
    case ']':
        if (tp->depth == od && tp->val_field >= 0 && tp->val_depth == 0) {
            hearth_status st = value_end(tp);   /* a scalar ends here */
            if (st) return st;
        }
        if (tp->depth == 0) return failf(tp, "malformed JSON: unexpected '%c'", c);
        tp->depth--;
        if (tp->depth == od && tp->val_field >= 0 && tp->val_depth == od + 1) {
            hearth_status st = value_end(tp);
            if (st) return st;
        }
        if (tp->depth == od - 1 && c == '}' && tp->cur) {
            hearth_status st = call_done(tp, pos);
            if (st) return st;
        }
        if (tp->depth == 0) {   /* the whole region is read */
            cJSON *all = cJSON_ParseWithLength(tp->js.data, tp->js.len);
            if (!all) return failf(tp, "malformed JSON: %.*s", (int)(tp->js.len > 120 ? 120 : tp->js.len), tp->js.data);
            cJSON_Delete(all);
            tp->mode = M_CLOSE;
            hearth_buf_reset(&tp->hold);
        }
        break;
    case ':':
        if (tp->depth == od) tp->expect_value = true;
        break;
    case ',':
        if (tp->depth == od) {
            if (tp->val_field >= 0 && tp->val_depth == 0) {
                hearth_status st = value_end(tp);
                if (st) return st;
            }
            tp->expect_key = true;
            tp->expect_value = false;
        }
        break;
    default:
        break;
    }
    return HEARTH_OK;
}

/* ========================================================================
 * text around calls
 * ======================================================================== */

/* how s[0..n) compares with the start of a bare call ({"name" / [{"name"),
 * whitespace allowed before each bracket and the key: 0 no, 1 a prefix, 2 all */
static int start_match(const fmt_spec *f, const char *s, size_t n) {
    char pat[48];
    snprintf(pat, sizeof pat, "%s\"%s\"", f->json_open == '[' ? "[{" : "{", f->name_key);
    size_t k = 0, plen = strlen(pat), key_at = f->json_open == '[' ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        if (k <= key_at && is_ws(s[i])) continue;
        if (s[i] != pat[k]) return 0;
        if (++k == plen) return 2;
    }
    return 1;
}

static int prefix_of(const char *lit, const char *s, size_t n) {
    size_t l = strlen(lit);
    if (n > l || memcmp(lit, s, n)) return 0;
    return n == l ? 2 : 1;
}

static hearth_status process(hearth_tool_parser *tp, char c);

static hearth_status text_byte(hearth_tool_parser *tp, char c) {
    hearth_buf_putc(&tp->hold, c);
    for (;;) {
        const char *h = tp->hold.data;
        size_t n = tp->hold.len;
        if (!n) return HEARTH_OK;
        int op = prefix_of(tp->f->opener, h, n);
        int st = tp->f->at_start && tp->at_start && tp->n_calls == 0 ? start_match(tp->f, h, n) : 0;
        int dr = 0;
        for (int d = 0; d < 2 && tp->f->drop[d] && dr < 2; d++) {
            int m = prefix_of(tp->f->drop[d], h, n);
            if (m > dr) dr = m;
        }
        if (dr == 2) {   /* a marker around calls */
            hearth_buf_reset(&tp->hold);
            return HEARTH_OK;
        }
        if (op == 2) {
            hearth_buf_reset(&tp->hold);
            tp->mode = tp->f->name_end ? M_NAME : M_OPEN;
            tp->bare_name = false;
            tp->fence = false;
            return HEARTH_OK;
        }
        if (st == 2) {   /* a bare call: its JSON starts at the first non-blank byte */
            size_t i = 0;
            while (i < n && is_ws(h[i])) i++;
            char *rest = malloc(n - i);
            if (!rest) return failf(tp, "out of memory");
            memcpy(rest, h + i, n - i);
            size_t rn = n - i;
            hearth_buf_reset(&tp->hold);
            start_json(tp);
            hearth_status r = HEARTH_OK;
            for (size_t k = 0; k < rn && r == HEARTH_OK; k++) r = json_byte(tp, rest[k]);
            free(rest);
            return r;
        }
        if (op || st || dr) return HEARTH_OK;   /* wait for more */
        /* the first byte is content; look again at the rest */
        content_byte(tp, h[0]);
        memmove(tp->hold.data, h + 1, n - 1);
        tp->hold.len = n - 1;
        tp->hold.data[tp->hold.len] = 0;
    }
}

/* after an opener: blanks and a ``` / ```json fence, then the JSON */
static hearth_status open_byte(hearth_tool_parser *tp, char c) {
    if (c == tp->f->json_open) {
        hearth_buf_reset(&tp->hold);
        start_json(tp);
        return json_byte(tp, c);
    }
    if (is_ws(c) || c == '`' || (tp->fence && strchr("json", c))) {
        if (c == '`') tp->fence = true;
        hearth_buf_putc(&tp->hold, c);
        return HEARTH_OK;
    }
    if (!tp->f->weak)
        return failf(tp, "expected '%c' after %s, found '%c'", tp->f->json_open, tp->f->opener, c);
    /* not a call after all: the opener and what followed are content */
    for (const char *o = tp->f->opener; *o; o++) content_byte(tp, *o);
    for (size_t i = 0; i < tp->hold.len; i++) content_byte(tp, tp->hold.data[i]);
    hearth_buf_reset(&tp->hold);
    tp->mode = M_TEXT;
    return text_byte(tp, c);
}

/* after a call's JSON: an optional closer */
static hearth_status close_byte(hearth_tool_parser *tp, char c) {
    const char *cl = tp->f->closer;
    if (!cl) {
        tp->mode = M_TEXT;
        return text_byte(tp, c);
    }
    hearth_buf_putc(&tp->hold, c);
    size_t i = 0;
    while (i < tp->hold.len && (is_ws(tp->hold.data[i]) || (tp->f->name_end && tp->hold.data[i] == '`'))) i++;
    int m = prefix_of(cl, tp->hold.data + i, tp->hold.len - i);
    if (m == 2) {   /* consumed, blanks before it too */
        hearth_buf_reset(&tp->hold);
        tp->mode = M_TEXT;
        return HEARTH_OK;
    }
    if (m == 1 || i == tp->hold.len) return HEARTH_OK;
    /* no closer: the held bytes are text */
    size_t n = tp->hold.len;
    char *h = malloc(n);
    if (!h) return failf(tp, "out of memory");
    memcpy(h, tp->hold.data, n);
    hearth_buf_reset(&tp->hold);
    tp->mode = M_TEXT;
    hearth_status st = HEARTH_OK;
    for (size_t k = 0; k < n && st == HEARTH_OK; k++) st = process(tp, h[k]);
    free(h);
    return st;
}


/* ========================================================================
 * formats whose name stands before the arguments object
 * ======================================================================== */

#define MAX_NAME 256

static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

/* not a call after all (a weak opener): the opener and the held text are content */
static hearth_status name_not_call(hearth_tool_parser *tp) {
    if (!tp->bare_name)
        for (const char *o = tp->f->opener; *o; o++) content_byte(tp, *o);
    size_t n = tp->hold.len;
    char *h = malloc(n + 1);
    if (!h) return failf(tp, "out of memory");
    if (n) memcpy(h, tp->hold.data, n);
    hearth_buf_reset(&tp->hold);
    tp->mode = M_TEXT;
    for (size_t k = 0; k < n; k++) content_byte(tp, h[k]);
    free(h);
    return HEARTH_OK;
}

/* a weak format's name line not followed by arguments: the call made for
 * it (not announced yet) is dropped and name, end and held text are content */
static hearth_status named_undo(hearth_tool_parser *tp) {
    call *c = tp->cur;
    hearth_buf t = {0};
    hearth_buf_puts(&t, c->name);
    hearth_buf_puts(&t, tp->f->name_end);
    if (tp->hold.len) hearth_buf_put(&t, tp->hold.data, tp->hold.len);
    free(c->name);
    hearth_buf_free(&c->args);
    tp->n_calls--;
    tp->cur = NULL;
    hearth_buf_free(&tp->hold);
    tp->hold = t;
    if (t.oom) return failf(tp, "out of memory");
    return name_not_call(tp);
}

/* the name, up to name_end */
static hearth_status name_byte(hearth_tool_parser *tp, char c) {
    const char *ne = tp->f->name_end;
    size_t el = strlen(ne);
    hearth_buf_putc(&tp->hold, c);
    if (tp->hold.oom) return failf(tp, "out of memory");
    const char *h = tp->hold.data;
    size_t n = tp->hold.len, i = 0;
    while (i < n && name_char(h[i])) i++;
    if (i < n && n - i <= el && !memcmp(h + i, ne, n - i)) {
        if (n - i < el) return HEARTH_OK;   /* the end may be coming */
        if (i == 0) {
            if (tp->f->weak) return name_not_call(tp);
            return failf(tp, "no function name after %s", tp->f->opener);
        }
        if (tp->f->start_named && i == 3 && !memcmp(h, "all", 3)) {   /* >>>all: text follows */
            hearth_buf_reset(&tp->hold);
            tp->mode = M_TEXT;
            return HEARTH_OK;
        }
        if (!(tp->cur = new_call(tp))) return failf(tp, "too many calls (at most %d) or out of memory", MAX_CALLS);
        tp->cur->name = strndup(h, i);
        if (!tp->cur->name) return failf(tp, "out of memory");
        hearth_buf_reset(&tp->hold);
        tp->mode = M_OPEN;
        return HEARTH_OK;
    }
    if (i < n || n > MAX_NAME) {
        if (tp->f->weak) return name_not_call(tp);
        return failf(tp, "malformed call: the function name after %s has a '%c' or is too long", tp->f->opener,
                     i < n ? h[i] : h[n - 1]);
    }
    return HEARTH_OK;
}

/* the arguments object, streamed as it comes */
static hearth_status args_byte(hearth_tool_parser *tp, char c) {
    call *cur = tp->cur;
    if (cur->args.len >= MAX_CALL_JSON) return failf(tp, "the call's JSON is longer than %u bytes", MAX_CALL_JSON);
    hearth_buf_putc(&cur->args, c);
    if (cur->args.oom) return failf(tp, "out of memory");
    if (tp->in_str) {
        if (tp->esc) tp->esc = false;
        else if (c == '\\') tp->esc = true;
        else if (c == '"') tp->in_str = false;
        return HEARTH_OK;
    }
    if (c == '"') tp->in_str = true;
    else if (!json_char_ok(c))
        return failf(tp, "malformed JSON: unexpected '%c' in the arguments of '%s'", c, cur->name);
    else if (c == '{' || c == '[') tp->depth++;
    else if (c == '}' || c == ']') {
        if (--tp->depth > 0) return HEARTH_OK;
        cJSON *o = cJSON_ParseWithLength(cur->args.data, cur->args.len);
        bool obj = cJSON_IsObject(o);
        cJSON_Delete(o);
        if (!obj)
            return failf(tp, "malformed JSON in the arguments of '%s': %.*s", cur->name,
                         (int)(cur->args.len > 120 ? 120 : cur->args.len), cur->args.data);
        flush_args(tp);
        cur->pub.complete = true;
        sync_pub(cur);
        emit(tp, HEARTH_TOOL_EVENT_CALL_END, (int)(cur - tp->calls), NULL, 0);
        tp->cur = NULL;
        tp->mode = M_CLOSE;
        hearth_buf_reset(&tp->hold);
    }
    return HEARTH_OK;
}

/* between the name and its arguments: blanks and a fence; DeepSeek V3 writes
 * function<sep>NAME\n```json\n, the real name on this line */
static hearth_status named_open_byte(hearth_tool_parser *tp, char c) {
    call *cur = tp->cur;
    if (c != '{') {
        if (!(is_ws(c) || c == '`' || name_char(c)) || tp->hold.len > MAX_NAME) {
            if (tp->f->weak) {
                hearth_status st = named_undo(tp);
                return st ? st : text_byte(tp, c);
            }
            return failf(tp, "tool call %d ('%s'): expected '{' after the name, found '%c'", tp->n_calls, cur->name,
                         c);
        }
        hearth_buf_putc(&tp->hold, c);
        return tp->hold.oom ? failf(tp, "out of memory") : HEARTH_OK;
    }
    const char *h = tp->hold.data ? tp->hold.data : "";
    size_t n = tp->hold.len, i = 0;
    while (i < n && is_ws(h[i])) i++;
    size_t a = i;
    while (i < n && name_char(h[i])) i++;
    if (i > a) {
        if (strcmp(cur->name, "function"))
            return failf(tp, "tool call %d ('%s'): unexpected text before its arguments", tp->n_calls, cur->name);
        free(cur->name);
        if (!(cur->name = strndup(h + a, i - a))) return failf(tp, "out of memory");
    }
    while (i < n) {   /* the rest: blanks and a ```json fence */
        if (is_ws(h[i])) {
            i++;
        } else if (n - i >= 3 && !memcmp(h + i, "```", 3)) {
            i += 3;
            if (n - i >= 4 && !memcmp(h + i, "json", 4)) i += 4;
        } else {
            return failf(tp, "tool call %d ('%s'): unexpected text before its arguments", tp->n_calls, cur->name);
        }
    }
    hearth_buf_reset(&tp->hold);
    sync_pub(cur);
    start_call_event(tp);
    tp->mode = M_ARGS;
    tp->depth = 0;
    tp->in_str = tp->esc = false;
    return args_byte(tp, c);
}


static hearth_status process(hearth_tool_parser *tp, char c) {
    switch (tp->mode) {
    case M_TEXT: return text_byte(tp, c);
    case M_OPEN: return tp->f->name_end ? named_open_byte(tp, c) : open_byte(tp, c);
    case M_JSON: return json_byte(tp, c);
    case M_CLOSE: return close_byte(tp, c);
    case M_NAME: return name_byte(tp, c);
    case M_ARGS: return args_byte(tp, c);
    default: return tp->err;
    }
}

hearth_status hearth_tool_parser_feed(hearth_tool_parser *tp, const char *text, size_t n, hearth_tool_event_fn fn,
                                      void *user) {
    if (!tp || (n && !text)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tool parser: NULL argument");
    if (tp->mode == M_FAILED) return tp->err;
    tp->fn = fn, tp->user = user;
    hearth_status st = HEARTH_OK;
    for (size_t i = 0; i < n && st == HEARTH_OK; i++) st = process(tp, text[i]);
    if (st == HEARTH_OK) {
        flush_args(tp);
        flush_content(tp);
    }
    if (tp->cur) sync_pub(tp->cur);
    tp->fn = NULL;
    return st;
}

hearth_status hearth_tool_parser_finish(hearth_tool_parser *tp, hearth_tool_event_fn fn, void *user) {
    if (!tp) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tool parser: NULL argument");
    if (tp->mode == M_FAILED) return tp->err;
    tp->fn = fn, tp->user = user;
    hearth_status st = HEARTH_OK;
    if (tp->mode == M_NAME && tp->f->weak) st = name_not_call(tp);   /* never became a name */
    if (tp->mode == M_OPEN && tp->f->name_end && tp->f->weak) st = named_undo(tp);   /* a line, not a call */
    if (st != HEARTH_OK) {
    } else if (tp->mode == M_JSON || tp->mode == M_ARGS || tp->mode == M_NAME ||
               (tp->mode == M_OPEN && tp->f->name_end)) {
        st = failf(tp, "the reply ended inside the call's JSON (cut off by the length limit?)");
    } else if (tp->mode == M_OPEN && !tp->f->weak) {
        st = failf(tp, "the reply ended after %s", tp->f->opener);
    } else {
        if (tp->mode == M_OPEN)
            for (const char *o = tp->f->opener; *o; o++) content_byte(tp, *o);
        /* held text was never an opening: it is content; trailing blanks too when no call was made */
        for (size_t i = 0; tp->mode != M_CLOSE && i < tp->hold.len; i++) content_byte(tp, tp->hold.data[i]);
        hearth_buf_reset(&tp->hold);
        if (tp->n_calls == 0 && tp->ws.len) {
            hearth_buf_put(&tp->pend, tp->ws.data, tp->ws.len);
            hearth_buf_put(&tp->content, tp->ws.data, tp->ws.len);
        }
        hearth_buf_reset(&tp->ws);
        flush_content(tp);
        tp->mode = M_TEXT;
    }
    tp->fn = NULL;
    return st;
}

int hearth_tool_parser_n_calls(const hearth_tool_parser *tp) { return tp ? tp->n_calls : 0; }

const hearth_tool_call *hearth_tool_parser_call(const hearth_tool_parser *tp, int i) {
    return tp && i >= 0 && i < tp->n_calls ? &tp->calls[i].pub : NULL;
}

const char *hearth_tool_parser_content(const hearth_tool_parser *tp, size_t *len) {
    if (len) *len = tp ? tp->content.len : 0;
    return tp && tp->content.data ? tp->content.data : "";
}
