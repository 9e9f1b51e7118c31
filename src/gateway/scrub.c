/*
 * scrub.c — PII handling for gateway requests on top of the PII layer
 * (hearth/pii.h): the detector sets built from the config (built-in kinds
 * plus custom patterns and keyword lists), one mapping per request
 * (placeholders <-> values, kinds found), and the response-side filter that
 * applies a policy to a stream of model output.
 *
 * Placeholders read "[KIND_N]" ("[EMAIL_1]"); redaction puts "[KIND]".
 * Under block the text is only scanned (the caller refuses the request or
 * ends the stream).
 */
#include "gateway_internal.h"

#include "hearth/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_scrub {
    hearth_pii_mapping *m;
};

/* ==== detector sets ================================================================= */
static hearth_pii_policy *make_side(const hearth_gateway_config *c, const gw_pii_policy *p, hearth_pii_action a,
                                    hearth_status *st_out) {
    hearth_pii_policy *pol = hearth_pii_policy_create(a);
    if (!pol) {
        *st_out = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < p->n_custom; i++) {
        const gw_pii_custom *k = &c->custom[p->custom[i]];
        hearth_status st = k->regex ? hearth_pii_policy_add_pattern(pol, k->name, k->regex, a)
                                    : hearth_pii_policy_add_keywords(pol, k->name, (const char *const *)k->words,
                                                                     (size_t)k->n_words, k->whole_word, a);
        if (st) {
            *st_out = st;
            hearth_pii_policy_free(pol);
            return NULL;
        }
    }
    return pol;
}

hearth_status gw_pii_build(const hearth_gateway_config *c, gw_pii_policy *p) {
    /* request: mask / redact change the text; allow and block only scan */
    hearth_pii_action req = p->request == GW_PII_MASK ? HEARTH_PII_MASK
                          : p->request == GW_PII_REDACT ? HEARTH_PII_REDACT : HEARTH_PII_ALLOW;
    /* response: PII the model produced cannot be restored, so mask redacts */
    hearth_pii_action resp = p->response == GW_PII_MASK || p->response == GW_PII_REDACT ? HEARTH_PII_REDACT
                                                                                       : HEARTH_PII_ALLOW;
    hearth_status st = HEARTH_OK;
    p->req_pol = make_side(c, p, req, &st);
    if (!p->req_pol) return st;
    p->resp_pol = make_side(c, p, resp, &st);
    if (!p->resp_pol) {
        hearth_pii_policy_free(p->req_pol);
        p->req_pol = NULL;
        return st;
    }
    return HEARTH_OK;
}

void gw_pii_release(gw_pii_policy *p) {
    hearth_pii_policy_free(p->req_pol);
    hearth_pii_policy_free(p->resp_pol);
    p->req_pol = p->resp_pol = NULL;
}

/* ==== one request =================================================================== */
gw_scrub *gw_scrub_new(void) {
    gw_scrub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->m = hearth_pii_mapping_create();
    if (!s->m) {
        free(s);
        return NULL;
    }
    return s;
}

void gw_scrub_free(gw_scrub *s) {
    if (!s) return;
    hearth_pii_mapping_free(s->m);
    free(s);
}

const char *gw_scrub_kinds(gw_scrub *s) { return hearth_pii_mapping_kinds(s->m); }
int gw_scrub_found(const gw_scrub *s) { return hearth_pii_mapping_kinds(s->m)[0] != 0; }
const hearth_pii_mapping *gw_scrub_mapping(const gw_scrub *s) { return s->m; }

char *gw_scrub_text(gw_scrub *s, const char *text, const hearth_pii_policy *pol) {
    if (!pol) return NULL;
    char *out = NULL;
    size_t n = 0;
    if (hearth_pii_mask(pol, s->m, text, strlen(text), &out, &n) != HEARTH_OK) return NULL;
    return out;
}

char *gw_scrub_unmask(gw_scrub *s, const char *text) {
    char *out = NULL;
    size_t n = 0;
    if (hearth_pii_unmask(s->m, text, strlen(text), &out, &n) != HEARTH_OK) return NULL;
    return out;
}

/* ==== kinds for the audit record =================================================== */
/* whether the comma-separated list holds kind (n bytes) */
static bool kinds_has(const char *list, const char *kind, size_t n) {
    for (const char *p = list; *p;) {
        size_t m = strcspn(p, ",");
        if (m == n && !memcmp(p, kind, n)) return true;
        p += m;
        if (*p) p++;
    }
    return false;
}

void gw_kinds_add(char *list, size_t cap, const char *kinds) {
    for (const char *p = kinds ? kinds : ""; *p;) {
        size_t n = strcspn(p, ",");
        size_t len = strlen(list);
        if (n && !kinds_has(list, p, n) && len + (len ? 1 : 0) + n < cap) {
            if (len) list[len++] = ',';
            memcpy(list + len, p, n);
            list[len + n] = 0;
        }
        p += n;
        if (*p) p++;
    }
}

void gw_kinds_record(const char *request, const char *response, char *out, size_t cap) {
    bool rq = request && *request, rs = response && *response;
    snprintf(out, cap, "%s%s%s%s%s", rq ? "request: " : "", rq ? request : "", rq && rs ? "; " : "",
             rs ? "response: " : "", rs ? response : "");
}

/* ==== response filter over a stream ================================================= */
/* Bytes held back at the end of the pending text: longer than any built-in
 * kind with separators (an E.164 number or a grouped card is < 30 bytes, an
 * IPv6 address <= 45) and than typical e-mail addresses. */
#define GW_HOLD 64
/* how far back a cut may move to reach a word boundary */
#define GW_BOUNDARY_BACK 128
/* pending text beyond which a cut is forced even inside a long token */
#define GW_PENDING_MAX 4096

struct gw_resp_filter {
    const hearth_pii_policy *pol;
    bool block, blocked;
    hearth_pii_mapping *m;
    hearth_buf pend;
};

gw_resp_filter *gw_resp_filter_new(const hearth_pii_policy *pol, bool block) {
    gw_resp_filter *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->pol = pol;
    f->block = block;
    f->m = hearth_pii_mapping_create();
    if (!f->m) {
        free(f);
        return NULL;
    }
    return f;
}

void gw_resp_filter_free(gw_resp_filter *f) {
    if (!f) return;
    hearth_pii_mapping_free(f->m);
    if (f->pend.data) memset(f->pend.data, 0, f->pend.cap);
    free(f->pend.data);
    free(f);
}

const char *gw_resp_filter_kinds(gw_resp_filter *f) { return hearth_pii_mapping_kinds(f->m); }

static bool is_space(char ch) { return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* where the pending text may be cut: before any finding that reaches into the
 * held-back tail, at a word boundary that does not split a grouped number */
static size_t cut_point(gw_resp_filter *f) {
    const char *p = f->pend.data;
    size_t len = f->pend.len;
    if (len <= GW_HOLD) return 0;
    size_t cut = len - GW_HOLD;
    hearth_pii_finding *fs = NULL;
    size_t n = 0;
    if (hearth_pii_scan(f->pol, p, len, &fs, &n) == HEARTH_OK) {
        for (size_t i = n; i-- > 0;)
            if (fs[i].offset < cut && fs[i].offset + fs[i].length > cut) cut = fs[i].offset;
        free(fs);
    } else {
        return 0;
    }
    size_t limit = cut > GW_BOUNDARY_BACK ? cut - GW_BOUNDARY_BACK : 0;
    for (size_t c = cut; c > limit; c--) {
        if (!is_space(p[c - 1])) continue;
        if (c >= 2 && is_digit(p[c - 2]) && c < len && is_digit(p[c])) continue;   /* "1234 5678" */
        return c;
    }
    if (len > GW_PENDING_MAX) {   /* one very long token: cut anyway, on a UTF-8 boundary */
        while (cut > 0 && ((unsigned char)p[cut] & 0xC0) == 0x80) cut--;
        return cut;
    }
    return 0;
}

char *gw_resp_filter_feed(gw_resp_filter *f, const char *piece, bool flush, bool *blocked) {
    *blocked = f->blocked;
    if (f->blocked) return strdup("");
    if (piece && *piece) hearth_buf_put(&f->pend, piece, strlen(piece));
    if (!f->pend.data) return strdup("");
    size_t cut = flush ? f->pend.len : cut_point(f);
    if (cut == 0) return strdup("");
    char *out = NULL;
    size_t n = 0;
    if (hearth_pii_mask(f->pol, f->m, f->pend.data, cut, &out, &n) != HEARTH_OK) return NULL;
    memmove(f->pend.data, f->pend.data + cut, f->pend.len - cut + 1);
    f->pend.len -= cut;
    if (f->block && hearth_pii_mapping_kinds(f->m)[0]) {
        f->blocked = *blocked = true;
        free(out);
        return strdup("");
    }
    return out;
}
