/*
 * scrub.c — PII handling for one gateway request: applies a policy action to
 * a text and remembers the placeholders it put, so that the answer can be
 * restored (also piecewise, for streams).
 *
 * Detection: an interim detector (e-mail addresses and mainland-China mobile
 * numbers, PCRE2) until the gateway is wired to the PII layer (pii.h).
 * Placeholders read "[KIND_N]" (e.g. "[EMAIL_1]"); redaction puts
 * "[REDACTED_KIND]".
 */
#include "gateway_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mapping {
    char *placeholder;
    char *value;
} mapping;

struct gw_scrub {
    mapping *m;
    int n, cap;
    int found;
    char kinds[256];
};

typedef struct detector {
    const char *kind;           /* lower case, as in audit records */
    const char *tag;            /* placeholder tag */
    const char *pattern;
} detector;

static const detector DETECTORS[] = {
    {"email", "EMAIL", "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}"},
    {"phone", "PHONE", "(?<![0-9])(?:\\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9])"},
};
#define N_DET (sizeof DETECTORS / sizeof DETECTORS[0])

static pcre2_code *g_re[N_DET];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void compile_all(void) {
    for (size_t i = 0; i < N_DET; i++) {
        int err;
        PCRE2_SIZE off;
        g_re[i] = pcre2_compile((PCRE2_SPTR)DETECTORS[i].pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
        if (g_re[i]) pcre2_jit_compile(g_re[i], PCRE2_JIT_COMPLETE);
    }
}

gw_scrub *gw_scrub_new(void) {
    pthread_once(&g_once, compile_all);
    return calloc(1, sizeof(gw_scrub));
}

void gw_scrub_free(gw_scrub *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->m[i].placeholder);
        free(s->m[i].value);
    }
    free(s->m);
    free(s);
}

int gw_scrub_found(const gw_scrub *s) { return s->found; }
const char *gw_scrub_kinds(gw_scrub *s) { return s->kinds; }

static void add_kind(gw_scrub *s, const char *kind) {
    size_t kl = strlen(kind);
    for (const char *p = s->kinds; *p;) {
        size_t n = strcspn(p, ",");
        if (n == kl && !memcmp(p, kind, n)) return;
        p += n;
        if (*p) p++;
    }
    size_t len = strlen(s->kinds);
    if (len + kl + 2 > sizeof s->kinds) return;
    if (len) s->kinds[len++] = ',';
    memcpy(s->kinds + len, kind, kl + 1);
}

/* the placeholder for value, reusing an existing one for the same value */
static const char *placeholder_for(gw_scrub *s, const char *tag, const char *v, size_t n) {
    int same_tag = 0;
    for (int i = 0; i < s->n; i++) {
        if (strlen(s->m[i].value) == n && !memcmp(s->m[i].value, v, n)) return s->m[i].placeholder;
        if (!strncmp(s->m[i].placeholder + 1, tag, strlen(tag))) same_tag++;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        mapping *m = realloc(s->m, (size_t)cap * sizeof *m);
        if (!m) return NULL;
        s->m = m;
        s->cap = cap;
    }
    char ph[64];
    snprintf(ph, sizeof ph, "[%s_%d]", tag, same_tag + 1);
    mapping *m = &s->m[s->n];
    m->placeholder = strdup(ph);
    m->value = strndup(v, n);
    if (!m->placeholder || !m->value) {
        free(m->placeholder);
        free(m->value);
        return NULL;
    }
    s->n++;
    return m->placeholder;
}

typedef struct hit {
    size_t off, len;
    int det;
} hit;

char *gw_scrub_text(gw_scrub *s, const char *text, gw_pii_action action) {
    size_t len = strlen(text);
    hit hits[256];
    int nh = 0;
    for (size_t d = 0; d < N_DET; d++) {
        if (!g_re[d]) continue;
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(g_re[d], NULL);
        size_t at = 0;
        while (md && at <= len && nh < 256 &&
               pcre2_match(g_re[d], (PCRE2_SPTR)text, len, at, 0, md, NULL) > 0) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            bool overlap = false;
            for (int i = 0; i < nh; i++)
                if (ov[0] < hits[i].off + hits[i].len && hits[i].off < ov[1]) overlap = true;
            if (!overlap) hits[nh++] = (hit){ov[0], ov[1] - ov[0], (int)d};
            at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        }
        pcre2_match_data_free(md);
    }
    for (int i = 0; i < nh; i++) {
        s->found++;
        add_kind(s, DETECTORS[hits[i].det].kind);
    }
    if (action == GW_PII_ALLOW || action == GW_PII_BLOCK || nh == 0) return strdup(text);
    /* hits in text order */
    for (int i = 1; i < nh; i++)
        for (int j = i; j > 0 && hits[j].off < hits[j - 1].off; j--) {
            hit t = hits[j];
            hits[j] = hits[j - 1];
            hits[j - 1] = t;
        }
    gw_buf out = {0};
    size_t pos = 0;
    for (int i = 0; i < nh; i++) {
        gw_buf_add(&out, text + pos, hits[i].off - pos);
        const detector *d = &DETECTORS[hits[i].det];
        if (action == GW_PII_MASK) {
            const char *ph = placeholder_for(s, d->tag, text + hits[i].off, hits[i].len);
            if (ph) gw_buf_add(&out, ph, strlen(ph));
        } else {
            gw_buf_printf(&out, "[REDACTED_%s]", d->tag);
        }
        pos = hits[i].off + hits[i].len;
    }
    gw_buf_add(&out, text + pos, len - pos);
    if (!out.p) return strdup("");
    return out.p;
}

char *gw_scrub_unmask(gw_scrub *s, const char *text) {
    if (s->n == 0) return strdup(text);
    gw_buf out = {0};
    const char *p = text;
    while (*p) {
        const char *b = strchr(p, '[');
        if (!b) break;
        int hit = -1;
        for (int i = 0; i < s->n; i++)
            if (!strncmp(b, s->m[i].placeholder, strlen(s->m[i].placeholder))) { hit = i; break; }
        gw_buf_add(&out, p, (size_t)(b - p));
        if (hit >= 0) {
            gw_buf_add(&out, s->m[hit].value, strlen(s->m[hit].value));
            p = b + strlen(s->m[hit].placeholder);
        } else {
            gw_buf_add(&out, "[", 1);
            p = b + 1;
        }
    }
    gw_buf_add(&out, p, strlen(p));
    return out.p ? out.p : strdup("");
}

size_t gw_scrub_tail(const gw_scrub *s, const char *text, size_t len) {
    if (s->n == 0) return 0;
    /* the last '[' within the longest placeholder's reach, if what follows it
     * is a proper prefix of some placeholder */
    size_t maxlen = 0;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->m[i].placeholder) > maxlen) maxlen = strlen(s->m[i].placeholder);
    size_t from = len > maxlen ? len - maxlen : 0;
    for (size_t k = from; k < len; k++) {
        if (text[k] != '[') continue;
        size_t rest = len - k;
        for (int i = 0; i < s->n; i++)
            if (rest < strlen(s->m[i].placeholder) && !memcmp(text + k, s->m[i].placeholder, rest)) return rest;
    }
    return 0;
}
