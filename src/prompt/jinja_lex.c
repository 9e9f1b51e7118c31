/*
 * jinja_lex.c — template source -> tokens.
 *
 * Follows Jinja2's lexer with trim_blocks and lstrip_blocks on:
 *   - text runs between tags become TK_TEXT;
 *   - `{%-` / `{{-` / `{#-` strip all whitespace before the tag, `-%}` /
 *     `-}}` / `-#}` all whitespace after it;
 *   - trim_blocks: the first newline after a block or comment tag is removed
 *     (not after `+%}`);
 *   - lstrip_blocks: spaces and tabs from the start of a line up to a block
 *     or comment tag are removed (not before `{%+`);
 *   - `{% raw %}...{% endraw %}` is text;
 *   - inside tags: names, strings (Python escapes), integers, floats and
 *     operators; `}}` ends a print tag only outside brackets.
 * The caller normalizes newlines (\r\n, \r -> \n) and drops one trailing
 * newline first, as Jinja2 does (keep_trailing_newline off).
 */
#include "jinja_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    jarena *ar;
    const char *src;
    size_t n, pos;
    int line;
    size_t line_start;
    jtokens *toks;
    char *err;
    size_t errn;
    bool failed;
} lexer;

/* ---- helpers ------------------------------------------------------------------ */
static void lx_error(lexer *L, size_t at, const char *fmt, const char *arg) {
    if (L->failed) return;
    L->failed = true;
    int line = 1;
    size_t ls = 0;
    for (size_t i = 0; i < at && i < L->n; i++)
        if (L->src[i] == '\n') { line++; ls = i + 1; }
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    snprintf(L->err, L->errn, "template syntax error at line %d, column %d: %s", line, (int)(at - ls) + 1, msg);
}

static void pos_of(lexer *L, size_t at, int *line, int *col) {
    /* positions only move forward; keep a running line count */
    while (L->pos < at) {
        if (L->src[L->pos] == '\n') { L->line++; L->line_start = L->pos + 1; }
        L->pos++;
    }
    *line = L->line;
    *col = (int)(at - L->line_start) + 1;
}

static jtoken *push(lexer *L, jtok t, size_t at) {
    jtokens *T = L->toks;
    if (T->n == T->cap) {
        size_t cap = T->cap ? T->cap * 2 : 256;
        jtoken *v = jarena_alloc(L->ar, cap * sizeof *v);
        if (T->n) memcpy(v, T->v, T->n * sizeof *v);
        T->v = v;
        T->cap = cap;
    }
    jtoken *k = &T->v[T->n++];
    memset(k, 0, sizeof *k);
    k->t = t;
    pos_of(L, at, &k->line, &k->col);
    return k;
}

static void push_text(lexer *L, size_t at, const char *p, size_t n) {
    if (n == 0) return;
    jtoken *k = push(L, TK_TEXT, at);
    k->p = p;
    k->n = n;
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; }

/* Finds the next tag opener at or after i: returns its offset (or n) and
 * its kind in *kind ('{', '%', '#'). */
static size_t next_tag(const char *s, size_t n, size_t i, char *kind) {
    for (; i + 1 < n; i++) {
        if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#')) {
            *kind = s[i + 1];
            return i;
        }
    }
    return n;
}

/* Is `{% raw %}` (allowing - / + and spaces) at i? Sets *end past `%}`. */
static bool match_word_tag(const char *s, size_t n, size_t i, const char *word, size_t *end, bool *lminus,
                           bool *lplus, bool *rminus, bool *rplus) {
    if (i + 2 > n || s[i] != '{' || s[i + 1] != '%') return false;
    size_t j = i + 2;
    *lminus = *lplus = *rminus = *rplus = false;
    if (j < n && s[j] == '-') { *lminus = true; j++; }
    else if (j < n && s[j] == '+') { *lplus = true; j++; }
    while (j < n && is_ws(s[j])) j++;
    size_t wl = strlen(word);
    if (j + wl > n || memcmp(s + j, word, wl) != 0) return false;
    j += wl;
    if (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_')) return false;
    while (j < n && is_ws(s[j])) j++;
    if (j < n && s[j] == '-') { *rminus = true; j++; }
    else if (j < n && s[j] == '+') { *rplus = true; j++; }
    if (j + 2 > n || s[j] != '%' || s[j + 1] != '}') return false;
    *end = j + 2;
    return true;
}

/* ---- string literals -------------------------------------------------------- */
static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Lexes a quoted string at L->src[i] (the quote); returns the offset past
 * the closing quote or 0 on error. Decodes Python escapes. */
static size_t lex_string(lexer *L, size_t i, jtoken *k) {
    const char *s = L->src;
    char q = s[i];
    size_t j = i + 1;
    size_t end = j;
    while (end < L->n && s[end] != q) {
        if (s[end] == '\\' && end + 1 < L->n) end++;
        end++;
    }
    if (end >= L->n) { lx_error(L, i, "unterminated string literal%s", NULL); return 0; }
    char *o = jarena_alloc(L->ar, end - j + 1);
    size_t on = 0;
    while (j < end) {
        char ch = s[j];
        if (ch != '\\') { o[on++] = ch; j++; continue; }
        char e = s[j + 1];
        j += 2;
        switch (e) {
        case 'n': o[on++] = '\n'; break;
        case 't': o[on++] = '\t'; break;
        case 'r': o[on++] = '\r'; break;
        case '\\': o[on++] = '\\'; break;
        case '\'': o[on++] = '\''; break;
        case '"': o[on++] = '"'; break;
        case 'a': o[on++] = '\a'; break;
        case 'b': o[on++] = '\b'; break;
        case 'f': o[on++] = '\f'; break;
        case 'v': o[on++] = '\v'; break;
        case '0': o[on++] = '\0'; break;
        case '\n': break;   /* line continuation */
        case 'x': case 'u': case 'U': {
            int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            int d = 0;
            for (; d < nd && j + d < end; d++) {
                int h = hexval(s[j + d]);
                if (h < 0) break;
                cp = cp * 16 + (uint32_t)h;
            }
            if (d != nd || cp > 0x10FFFF) { lx_error(L, j - 2, "bad \\%s escape in string literal", e == 'x' ? "x" : "u"); return 0; }
            j += (size_t)nd;
            char tmp[4];
            size_t tn = hearth_utf8_encode(cp, tmp);
            /* \u escapes are at most 10 source bytes, giving at most 4 */
            memcpy(o + on, tmp, tn);
            on += tn;
            break;
        }
        default: o[on++] = '\\'; o[on++] = e; break;   /* Python keeps unknown escapes */
        }
    }
    k->p = o;
    k->n = on;
    return end + 1;
}

/* ---- tag contents -------------------------------------------------------------- */
static const char *const OPS3[] = {"//=", "**=", NULL};
static const char *const OPS2[] = {"==", "!=", "<=", ">=", "//", "**", NULL};
static const char OPS1[] = "+-*/%~()[]{}.,:|=<>;";

/* Lexes the inside of a tag starting at i; kind '{' for print, '%' for
 * block. Returns the offset past the closing `}}` / `%}`; sets *rminus /
 * *rplus for whitespace control. */
static size_t lex_tag(lexer *L, size_t i, char kind, bool *rminus, bool *rplus) {
    const char *s = L->src;
    size_t n = L->n;
    int depth = 0;
    (void)OPS3;
    *rminus = *rplus = false;
    for (;;) {
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) { lx_error(L, i, "unexpected end of template: missing '%s'", kind == '{' ? "}}" : "%}"); return 0; }
        char close = kind == '{' ? '}' : '%';
        /* end of tag */
        if (s[i] == '-' && i + 2 < n && s[i + 1] == close && s[i + 2] == '}' && (kind == '%' || depth <= 0)) {
            *rminus = true;
            return i + 3;
        }
        if (s[i] == '+' && kind == '%' && i + 2 < n && s[i + 1] == '%' && s[i + 2] == '}') {
            *rplus = true;
            return i + 3;
        }
        if (s[i] == close && i + 1 < n && s[i + 1] == '}' && (kind == '%' || depth <= 0)) return i + 2;
        char ch = s[i];
        if (isalpha((unsigned char)ch) || ch == '_') {
            size_t j = i;
            while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
            jtoken *k = push(L, TK_NAME, i);
            char *p = jarena_alloc(L->ar, j - i + 1);
            memcpy(p, s + i, j - i);
            k->p = p;
            k->n = j - i;
            i = j;
            continue;
        }
        if (isdigit((unsigned char)ch)) {
            size_t j = i;
            bool isf = false;
            while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '_')) j++;
            if (j + 1 < n && s[j] == '.' && isdigit((unsigned char)s[j + 1])) {
                isf = true;
                j++;
                while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '_')) j++;
            }
            if (j < n && (s[j] == 'e' || s[j] == 'E')) {
                size_t e = j + 1;
                if (e < n && (s[e] == '+' || s[e] == '-')) e++;
                if (e < n && isdigit((unsigned char)s[e])) {
                    isf = true;
                    j = e;
                    while (j < n && isdigit((unsigned char)s[j])) j++;
                }
            }
            char buf[128];
            size_t bn = 0;
            for (size_t t = i; t < j && bn < sizeof buf - 1; t++)
                if (s[t] != '_') buf[bn++] = s[t];
            buf[bn] = 0;
            jtoken *k = push(L, isf ? TK_FLOAT : TK_INT, i);
            if (isf) k->f = strtod(buf, NULL);
            else {
                char *endp;
                unsigned long long v = strtoull(buf, &endp, 10);
                if (bn > 18 && (v > (unsigned long long)INT64_MAX || bn > 19)) {
                    lx_error(L, i, "integer literal too large%s", NULL);
                    return 0;
                }
                k->i = (int64_t)v;
            }
            i = j;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            jtoken *k = push(L, TK_STRING, i);
            size_t j = lex_string(L, i, k);
            if (!j) return 0;
            i = j;
            continue;
        }
        const char *op = NULL;
        for (int t = 0; OPS2[t]; t++)
            if (i + 1 < n && s[i] == OPS2[t][0] && s[i + 1] == OPS2[t][1]) { op = OPS2[t]; break; }
        if (op) {
            jtoken *k = push(L, TK_OP, i);
            k->p = op;
            k->n = 2;
            i += 2;
            continue;
        }
        const char *o1 = strchr(OPS1, ch);
        if (o1 && ch) {
            if (ch == '(' || ch == '[' || ch == '{') depth++;
            if (ch == ')' || ch == ']' || ch == '}') depth--;
            jtoken *k = push(L, TK_OP, i);
            k->p = o1;
            k->n = 1;
            i++;
            continue;
        }
        char bad[8];
        snprintf(bad, sizeof bad, "%c", ch);
        lx_error(L, i, "unexpected character '%s'", (unsigned char)ch >= 0x80 ? "(non-ASCII)" : bad);
        return 0;
    }
}

/* ---- main loop ------------------------------------------------------------------- */
bool jinja_lex(jarena *ar, const char *src, size_t n, jtokens *toks, char *err, size_t errn) {
    lexer L = {ar, src, n, 0, 1, 0, toks, err, errn, false};
    size_t i = 0;
    bool strip_next = false;   /* previous tag ended with '-' */
    bool trim_next = false;    /* previous tag was a block/comment (trim_blocks) */
    bool line_starting = true;
    while (i < n && !L.failed) {
        char kind = 0;
        size_t t = next_tag(src, n, i, &kind);
        /* the text before the tag; the previous tag's trailing strip first */
        size_t ts = i, te = t;
        if (strip_next) while (ts < te && is_ws(src[ts])) ts++;
        else if (trim_next && ts < te && src[ts] == '\n') ts++;
        if (ts > i) line_starting = src[ts - 1] == '\n';
        if (t < n) {
            char sign = t + 2 < n ? src[t + 2] : 0;
            if (sign == '-') {
                while (te > ts && is_ws(src[te - 1])) te--;
            } else if (sign != '+' && kind != '{') {
                /* lstrip_blocks: only spaces/tabs between the line start and the tag */
                size_t l = te;
                while (l > ts && (src[l - 1] == ' ' || src[l - 1] == '\t')) l--;
                if ((l > ts && src[l - 1] == '\n') || (l == ts && line_starting)) te = l;
            }
        }
        push_text(&L, ts, src + ts, te - ts);
        if (t >= n) break;
        strip_next = trim_next = false;
        /* raw block */
        size_t end;
        bool lm, lp, rm, rp;
        if (kind == '%' && match_word_tag(src, n, t, "raw", &end, &lm, &lp, &rm, &rp)) {
            size_t j = end, re = n, rend = 0;
            bool elm = false, elp, erm = false, erp = false;
            for (; j < n; j++)
                if (src[j] == '{' && match_word_tag(src, n, j, "endraw", &rend, &elm, &elp, &erm, &erp)) { re = j; break; }
            if (re >= n) { lx_error(&L, t, "missing {%% endraw %%}%s", NULL); break; }
            size_t cs = end, ce = re;
            if (rm) while (cs < ce && is_ws(src[cs])) cs++;
            if (elm) while (ce > cs && is_ws(src[ce - 1])) ce--;
            push_text(&L, cs, src + cs, ce - cs);
            i = rend;
            if (erm) strip_next = true;
            else if (!erp) trim_next = true;
            line_starting = false;
            continue;
        }
        if (kind == '#') {
            size_t j = t + 2;
            while (j + 1 < n && !(src[j] == '#' && src[j + 1] == '}')) j++;
            if (j + 1 >= n) { lx_error(&L, t, "unterminated comment%s", NULL); break; }
            bool minus = j > t + 2 && src[j - 1] == '-';
            bool plus = j > t + 2 && src[j - 1] == '+';
            i = j + 2;
            if (minus) strip_next = true;
            else if (!plus) trim_next = true;
            line_starting = false;
            continue;
        }
        size_t j = t + 2;
        if (j < n && (src[j] == '-' || (src[j] == '+' && kind == '%'))) j++;
        push(&L, kind == '{' ? TK_VAR_BEGIN : TK_BLOCK_BEGIN, t);
        bool rminus, rplus;
        size_t e = lex_tag(&L, j, kind, &rminus, &rplus);
        if (!e) break;
        push(&L, kind == '{' ? TK_VAR_END : TK_BLOCK_END, e - 2);
        i = e;
        if (rminus) strip_next = true;
        else if (kind == '%' && !rplus) trim_next = true;
        line_starting = false;
    }
    if (!L.failed) push(&L, TK_EOF, n);
    return !L.failed;
}
