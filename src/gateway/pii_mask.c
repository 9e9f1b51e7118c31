/*
 * pii_mask.c — PII policies (per-kind actions, custom patterns, keyword
 * lists), the per-request mapping of placeholders to values, masking of
 * text and JSON documents, and restoring placeholders in whole or streamed
 * model output.
 */
#include "gateway/pii_internal.h"
#include "core/buf.h"
#include "core/lines.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hearth_status buf_take(hearth_buf *b, char **out, size_t *out_len) {
    *out = hearth_buf_take(b, out_len);
    if (!*out) return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory building output");
    return HEARTH_OK;
}

/* ==== actions ===== */
const char *hearth_pii_action_str(hearth_pii_action a) {
    switch (a) {
    case HEARTH_PII_ALLOW: return "allow";
    case HEARTH_PII_MASK: return "mask";
    case HEARTH_PII_REDACT: return "redact";
    case HEARTH_PII_BLOCK: return "block";
    }
    return NULL;
}

bool hearth_pii_action_parse(const char *s, hearth_pii_action *out) {
    for (int a = HEARTH_PII_ALLOW; a <= HEARTH_PII_BLOCK; a++)
        if (s && !strcmp(s, hearth_pii_action_str((hearth_pii_action)a))) {
            *out = (hearth_pii_action)a;
            return true;
        }
    return false;
}

/* ==== policy ===== */
static const struct {
    const char *name, *label;
    int priority;
} BUILTIN[PII_N_BUILTIN] = {
    [PII_EMAIL] = {"email", "EMAIL", 3},   [PII_PHONE] = {"phone", "PHONE", 2},
    [PII_CN_ID] = {"cn_id", "ID", 0},      [PII_CARD] = {"bank_card", "CARD", 1},
    [PII_IPV4] = {"ipv4", "IPV4", 5},      [PII_IPV6] = {"ipv6", "IPV6", 4},
};

hearth_pii_policy *hearth_pii_policy_create(hearth_pii_action action) {
    hearth_pii_policy *p = calloc(1, sizeof *p);
    if (!p) {
        hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory creating a policy");
        return NULL;
    }
    for (int k = 0; k < PII_N_BUILTIN; k++) {
        snprintf(p->kinds[k].name, PII_NAME_MAX, "%s", BUILTIN[k].name);
        snprintf(p->kinds[k].label, PII_NAME_MAX, "%s", BUILTIN[k].label);
        p->kinds[k].action = action;
        p->kinds[k].priority = BUILTIN[k].priority;
    }
    p->n_kinds = PII_N_BUILTIN;
    p->mctx = pcre2_match_context_create(NULL);
    if (!p->mctx || pii_builtin_compile(p) != HEARTH_OK) {
        hearth_pii_policy_free(p);
        return NULL;
    }
    pcre2_set_match_limit(p->mctx, 5000000);   /* a runaway custom pattern fails instead of hanging */
    return p;
}

void hearth_pii_policy_free(hearth_pii_policy *p) {
    if (!p) return;
    for (int k = 0; k < p->n_kinds; k++) pcre2_code_free(p->kinds[k].re);
    pcre2_code_free(p->re_num);
    pcre2_code_free(p->re_email);
    pcre2_code_free(p->re_ipv4);
    pcre2_code_free(p->re_ipv6);
    pcre2_match_context_free(p->mctx);
    free(p);
}

static int find_kind(const hearth_pii_policy *p, const char *name) {
    for (int k = 0; k < p->n_kinds; k++)
        if (!strcmp(p->kinds[k].name, name)) return k;
    return -1;
}

hearth_status hearth_pii_policy_set(hearth_pii_policy *p, const char *kind, hearth_pii_action a) {
    if (!p || !kind) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: policy_set needs a policy and a kind");
    if (!hearth_pii_action_str(a)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: bad action %d", (int)a);
    if (!strcmp(kind, "all") || !strcmp(kind, "*")) {
        for (int k = 0; k < p->n_kinds; k++) p->kinds[k].action = a;
        return HEARTH_OK;
    }
    int k = find_kind(p, kind);
    if (k < 0) {
        return hearth_set_error(HEARTH_ERR_NOT_FOUND,
                                "pii: unknown kind '%s' (built-in: email, phone, cn_id, bank_card, ipv4, ipv6, "
                                "or a custom pattern/keyword name)",
                                kind);
    }
    p->kinds[k].action = a;
    return HEARTH_OK;
}

hearth_status hearth_pii_policy_parse(hearth_pii_policy *p, const char *spec) {
    if (!p || !spec) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: policy_parse needs a policy and a spec");
    const char *s = spec;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char item[128];
        if (n == 0 || n >= sizeof item) {
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: bad policy item '%.*s' in '%s' (want kind=action)",
                                    (int)(n > 64 ? 64 : n), s, spec);
        }
        memcpy(item, s, n);
        item[n] = 0;
        char *eq = strchr(item, '=');
        hearth_pii_action a;
        if (!eq || eq == item) {
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: bad policy item '%s' in '%s' (want kind=action)",
                                    item, spec);
        }
        *eq = 0;
        if (!hearth_pii_action_parse(eq + 1, &a)) {
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "pii: bad action '%s' for kind '%s' (want allow, mask, redact or block)", eq + 1,
                                    item);
        }
        hearth_status st = hearth_pii_policy_set(p, item, a);
        if (st != HEARTH_OK) return st;
        s += n;
        if (*s == ',') s++;
    }
    return HEARTH_OK;
}

hearth_pii_action hearth_pii_policy_action(const hearth_pii_policy *p, const char *kind) {
    int k = (p && kind) ? find_kind(p, kind) : -1;
    return k < 0 ? HEARTH_PII_ALLOW : p->kinds[k].action;
}

void hearth_pii_policy_set_redact_generic(hearth_pii_policy *p, bool generic) {
    if (p) p->redact_generic = generic;
}

static hearth_status new_kind(hearth_pii_policy *p, const char *name, hearth_pii_action a, pii_kind **out) {
    if (!p || !name) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: custom kind needs a policy and a name");
    size_t n = strlen(name);
    bool ok = n >= 1 && n < PII_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    if (!ok) {
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "pii: bad custom kind name '%s' (want 1-31 of a-z, 0-9, _)", name);
    }
    if (find_kind(p, name) >= 0 || !strcmp(name, "all"))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: kind '%s' already exists", name);
    if (p->n_kinds == PII_MAX_KINDS)
        return hearth_set_error(HEARTH_ERR_RANGE, "pii: too many kinds (at most %d)", PII_MAX_KINDS);
    if (!hearth_pii_action_str(a)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: bad action %d", (int)a);
    pii_kind *k = &p->kinds[p->n_kinds];
    memset(k, 0, sizeof *k);
    memcpy(k->name, name, n + 1);
    for (size_t i = 0; i <= n; i++) k->label[i] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 32) : name[i];
    k->action = a;
    k->priority = 10 + p->n_kinds;   /* custom kinds rank after built-ins, in the order added */
    *out = k;
    return HEARTH_OK;
}

hearth_status hearth_pii_policy_add_pattern(hearth_pii_policy *p, const char *name, const char *regex,
                                            hearth_pii_action a) {
    pii_kind *k;
    hearth_status st = new_kind(p, name, a, &k);
    if (st != HEARTH_OK) return st;
    if (!regex || !*regex) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: pattern '%s' is empty", name);
    char what[64];
    snprintf(what, sizeof what, "pattern '%s'", name);
    st = pii_compile(what, regex, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &k->re);
    if (st != HEARTH_OK) return st;
    p->n_kinds++;
    return HEARTH_OK;
}

static int by_len_desc(const void *a, const void *b) {
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

hearth_status hearth_pii_policy_add_keywords(hearth_pii_policy *p, const char *name, const char *const *words,
                                             size_t n_words, bool whole_word, hearth_pii_action a) {
    pii_kind *k;
    hearth_status st = new_kind(p, name, a, &k);
    if (st != HEARTH_OK) return st;
    char **w = calloc(n_words ? n_words : 1, sizeof *w);
    if (!w) return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
    size_t nw = 0;
    for (size_t i = 0; i < n_words && st == HEARTH_OK; i++) {
        if (!words[i] || !*words[i]) continue;
        size_t fl;
        st = pii_fold(words[i], strlen(words[i]), &w[nw], &fl);   /* match the folded text */
        if (st == HEARTH_OK) nw++;
    }
    hearth_buf re = {0};
    if (st == HEARTH_OK && nw == 0)
        st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: keyword list '%s' has no keywords", name);
    if (st == HEARTH_OK) {
        qsort(w, nw, sizeof *w, by_len_desc);
        hearth_buf_put(&re, whole_word ? "(?<![A-Za-z0-9_])(?:" : "(?:", whole_word ? 20 : 3);
        for (size_t i = 0; i < nw; i++) {
            if (i) hearth_buf_put(&re, "|", 1);
            for (const char *c = w[i]; *c; c++) {
                unsigned char u = (unsigned char)*c;
                bool alnum = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9');
                if (u < 0x80 && !alnum) hearth_buf_put(&re, "\\", 1);
                hearth_buf_put(&re, c, 1);
            }
        }
        hearth_buf_put(&re, whole_word ? ")(?![A-Za-z0-9_])" : ")", whole_word ? 17 : 1);
        if (re.oom) st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
    }
    if (st == HEARTH_OK) {
        char what[64];
        snprintf(what, sizeof what, "keyword list '%s'", name);
        st = pii_compile(what, re.data, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS, &k->re);
    }
    for (size_t i = 0; i < nw; i++) free(w[i]);
    free(w);
    hearth_buf_free(&re);
    if (st == HEARTH_OK) p->n_kinds++;
    return st;
}

/* The keyword file format (one parser for the library and the gateway's
 * config): one keyword per line, "\n" or "\r\n" endings, blank lines and
 * lines starting with '#' skipped, nothing else trimmed. */
hearth_status pii_keyword_file_read(const char *path, char ***words, size_t *n_words) {
    *words = NULL;
    *n_words = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "pii: cannot open keyword file %s: %s", path, strerror(errno));
    char **w = NULL;
    size_t n = 0, cap = 0;
    hearth_status st = HEARTH_OK;
    hearth_lines r;
    hearth_lines_file(&r, f);
    const char *line;
    size_t len;
    while (st == HEARTH_OK && hearth_lines_next(&r, &line, &len)) {
        if (len == 0 || line[0] == '#') continue;
        if (!HEARTH_GROW(w, cap, n + 1) || !(w[n] = strndup(line, len)))
            st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory reading %s", path);
        else
            n++;
    }
    if (st == HEARTH_OK && r.error) st = hearth_set_error(HEARTH_ERR_IO, "pii: cannot read keyword file %s", path);
    hearth_lines_free(&r);
    fclose(f);
    if (st != HEARTH_OK) {
        for (size_t i = 0; i < n; i++) free(w[i]);
        free(w);
        return st;
    }
    *words = w;
    *n_words = n;
    return HEARTH_OK;
}

hearth_status hearth_pii_policy_add_keyword_file(hearth_pii_policy *p, const char *name, const char *path,
                                                 bool whole_word, hearth_pii_action a) {
    if (!path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: keyword file path is NULL");
    char **w = NULL;
    size_t n = 0;
    hearth_status st = pii_keyword_file_read(path, &w, &n);
    if (st == HEARTH_OK && n == 0)
        st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: keyword file %s has no keywords", path);
    if (st == HEARTH_OK) st = hearth_pii_policy_add_keywords(p, name, (const char *const *)w, n, whole_word, a);
    for (size_t i = 0; i < n; i++) free(w[i]);
    free(w);
    return st;
}

/* ==== mapping ===== */
typedef struct entry {
    char *value;      /* original bytes */
    size_t vlen;
    char ph[PII_NAME_MAX + 16];   /* "[LABEL_N]" */
    size_t phlen;
    char label[PII_NAME_MAX];
} entry;

typedef struct counter {
    char label[PII_NAME_MAX];
    unsigned next;
} counter;

struct hearth_pii_mapping {
    entry *e;
    size_t n, cap;
    uint32_t *by_ph, *by_val;   /* open addressing: entry index + 1, 0 = empty */
    size_t hcap;                /* power of two */
    counter ctr[PII_MAX_KINDS];
    int n_ctr;
    size_t max_ph;              /* longest placeholder */
    char kinds[PII_MAX_KINDS * (PII_NAME_MAX + 1) + 1];
    char blocked[PII_MAX_KINDS * (PII_NAME_MAX + 1) + 1];
};

static uint64_t fnv(const char *a, size_t na, const char *b, size_t nb) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < na; i++) h = (h ^ (unsigned char)a[i]) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (size_t i = 0; i < nb; i++) h = (h ^ (unsigned char)b[i]) * 1099511628211ull;
    return h;
}

hearth_pii_mapping *hearth_pii_mapping_create(void) {
    hearth_pii_mapping *m = calloc(1, sizeof *m);
    if (!m) hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory creating a mapping");
    return m;
}

void hearth_pii_mapping_free(hearth_pii_mapping *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        volatile char *v = m->e[i].value;   /* wipe values: they are personal data */
        for (size_t k = 0; k < m->e[i].vlen; k++) v[k] = 0;
        free(m->e[i].value);
    }
    free(m->e);
    free(m->by_ph);
    free(m->by_val);
    free(m);
}

size_t hearth_pii_mapping_count(const hearth_pii_mapping *m) { return m ? m->n : 0; }
const char *hearth_pii_mapping_kinds(const hearth_pii_mapping *m) { return m ? m->kinds : ""; }
const char *hearth_pii_mapping_blocked(const hearth_pii_mapping *m) { return m ? m->blocked : ""; }

static void list_add(char *list, const char *name) {
    size_t nl = strlen(name);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == nl && !memcmp(s, name, n)) return;
        s += n + (e != NULL);
    }
    if (*list) strcat(list, ",");
    strcat(list, name);
}

static const entry *lookup_ph(const hearth_pii_mapping *m, const char *ph, size_t n) {
    if (!m->hcap) return NULL;
    for (size_t h = fnv(ph, n, "", 0) & (m->hcap - 1);; h = (h + 1) & (m->hcap - 1)) {
        uint32_t i = m->by_ph[h];
        if (!i) return NULL;
        const entry *e = &m->e[i - 1];
        if (e->phlen == n && !memcmp(e->ph, ph, n)) return e;
    }
}

static const entry *lookup_val(const hearth_pii_mapping *m, const char *label, const char *v, size_t n) {
    if (!m->hcap) return NULL;
    for (size_t h = fnv(label, strlen(label), v, n) & (m->hcap - 1);; h = (h + 1) & (m->hcap - 1)) {
        uint32_t i = m->by_val[h];
        if (!i) return NULL;
        const entry *e = &m->e[i - 1];
        if (e->vlen == n && !strcmp(e->label, label) && !memcmp(e->value, v, n)) return e;
    }
}

static void index_entry(hearth_pii_mapping *m, size_t i) {
    const entry *e = &m->e[i];
    size_t h = fnv(e->ph, e->phlen, "", 0) & (m->hcap - 1);
    while (m->by_ph[h]) h = (h + 1) & (m->hcap - 1);
    m->by_ph[h] = (uint32_t)(i + 1);
    h = fnv(e->label, strlen(e->label), e->value, e->vlen) & (m->hcap - 1);
    while (m->by_val[h]) h = (h + 1) & (m->hcap - 1);
    m->by_val[h] = (uint32_t)(i + 1);
}

/* The placeholder for (label, value), created on first sight. */
static const entry *placeholder(hearth_pii_mapping *m, const char *label, const char *v, size_t n) {
    const entry *found = lookup_val(m, label, v, n);
    if (found) return found;
    if (m->n >= UINT32_MAX - 1) return NULL;
    if ((m->n + 1) * 2 > m->hcap) {   /* grow and rehash the two indexes */
        size_t hc = m->hcap ? m->hcap * 2 : 64;
        uint32_t *a = calloc(hc, sizeof *a), *b = calloc(hc, sizeof *b);
        if (!a || !b) {
            free(a);
            free(b);
            return NULL;
        }
        free(m->by_ph);
        free(m->by_val);
        m->by_ph = a;
        m->by_val = b;
        m->hcap = hc;
        for (size_t i = 0; i < m->n; i++) index_entry(m, i);
    }
    if (!HEARTH_GROW(m->e, m->cap, m->n + 1)) return NULL;
    int c = 0;
    while (c < m->n_ctr && strcmp(m->ctr[c].label, label)) c++;
    if (c == m->n_ctr) {
        if (c == PII_MAX_KINDS) return NULL;
        snprintf(m->ctr[c].label, PII_NAME_MAX, "%s", label);
        m->ctr[c].next = 1;
        m->n_ctr++;
    }
    entry *e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    if (!(e->value = malloc(n ? n : 1))) return NULL;
    memcpy(e->value, v, n);
    e->vlen = n;
    snprintf(e->label, PII_NAME_MAX, "%s", label);
    e->phlen = (size_t)snprintf(e->ph, sizeof e->ph, "[%s_%u]", label, m->ctr[c].next++);
    if (e->phlen > m->max_ph) m->max_ph = e->phlen;
    index_entry(m, m->n);
    return &m->e[m->n++];
}

/* ==== masking ===== */
static hearth_status mask_into(const hearth_pii_policy *p, hearth_pii_mapping *m, const char *text, size_t len,
                               hearth_buf *b) {
    pii_hit *h;
    size_t nh;
    hearth_status st = pii_detect(p, text, len, &h, &nh);
    if (st != HEARTH_OK) return st;
    size_t at = 0;
    for (size_t i = 0; i < nh; i++) {
        const pii_kind *k = &p->kinds[h[i].kind];
        list_add(m->kinds, k->name);
        if (k->action == HEARTH_PII_ALLOW) continue;
        hearth_buf_put(b, text + at, h[i].offset - at);
        at = h[i].offset + h[i].length;
        if (k->action == HEARTH_PII_MASK) {
            const entry *e = placeholder(m, k->label, text + h[i].offset, h[i].length);
            if (!e) {
                free(h);
                return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory (mapping)");
            }
            hearth_buf_put(b, e->ph, e->phlen);
            continue;
        }
        if (k->action == HEARTH_PII_BLOCK) list_add(m->blocked, k->name);
        if (p->redact_generic) {
            hearth_buf_put(b, "[REDACTED]", 10);
        } else {
            hearth_buf_put(b, "[", 1);
            hearth_buf_put(b, k->label, strlen(k->label));
            hearth_buf_put(b, "]", 1);
        }
    }
    hearth_buf_put(b, text + at, len - at);
    free(h);
    return HEARTH_OK;
}

hearth_status hearth_pii_mask(const hearth_pii_policy *p, hearth_pii_mapping *m, const char *text, size_t len,
                              char **out, size_t *out_len) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: mask needs out");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!p || !m || (!text && len)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: mask needs a policy, a mapping and text");
    hearth_buf b = {0};
    hearth_status st = mask_into(p, m, text ? text : "", len, &b);
    if (st != HEARTH_OK) {
        hearth_buf_free(&b);
        return st;
    }
    return buf_take(&b, out, out_len);
}

static hearth_status mask_tree(const hearth_pii_policy *p, hearth_pii_mapping *m, cJSON *node) {
    for (cJSON *c = node; c; c = c->next) {
        if (cJSON_IsString(c) && c->valuestring) {
            hearth_buf b = {0};
            hearth_status st = mask_into(p, m, c->valuestring, strlen(c->valuestring), &b);
            if (st == HEARTH_OK && b.oom) st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
            if (st == HEARTH_OK && b.data && !cJSON_SetValuestring(c, b.data))
                st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
            hearth_buf_free(&b);
            if (st != HEARTH_OK) return st;
        } else if (c->child) {
            hearth_status st = mask_tree(p, m, c->child);
            if (st != HEARTH_OK) return st;
        }
    }
    return HEARTH_OK;
}

hearth_status hearth_pii_mask_json(const hearth_pii_policy *p, hearth_pii_mapping *m, const char *json, size_t len,
                                   char **out, size_t *out_len) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: mask_json needs out");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!p || !m || !json) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: mask_json needs a policy, a mapping and JSON");
    if (memchr(json, 0, len)) return hearth_set_error(HEARTH_ERR_FORMAT, "pii: invalid JSON: NUL byte at %zu",
                                                      (size_t)((const char *)memchr(json, 0, len) - json));
    char *copy = malloc(len + 1);
    if (!copy) return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory");
    memcpy(copy, json, len);
    copy[len] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(copy, &end, 1);
    if (!root) {
        size_t at = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;
        free(copy);
        return hearth_set_error(HEARTH_ERR_FORMAT, "pii: invalid JSON near byte %zu", at);
    }
    free(copy);
    hearth_status st = mask_tree(p, m, root);
    if (st == HEARTH_OK) {
        char *s = cJSON_PrintUnformatted(root);
        if (!s) {
            st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory writing JSON");
        } else {
            size_t n = strlen(s);
            *out = malloc(n + 1);
            if (!*out) {
                st = hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory writing JSON");
            } else {
                memcpy(*out, s, n + 1);
                if (out_len) *out_len = n;
            }
            cJSON_free(s);
        }
    }
    cJSON_Delete(root);
    return st;
}

/* ==== unmasking ===== */
static bool ph_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

static void unmask_into(const hearth_pii_mapping *m, const char *t, size_t n, hearth_buf *b) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] != '[' || !m->n) continue;
        size_t j = i + 1;
        while (j < n && j - i < m->max_ph && ph_char(t[j])) j++;
        if (j >= n || t[j] != ']') continue;
        const entry *e = lookup_ph(m, t + i, j + 1 - i);
        if (!e) continue;
        hearth_buf_put(b, t + at, i - at);
        hearth_buf_put(b, e->value, e->vlen);
        at = j + 1;
        i = j;
    }
    hearth_buf_put(b, t + at, n - at);
}

hearth_status hearth_pii_unmask(const hearth_pii_mapping *m, const char *text, size_t len, char **out,
                                size_t *out_len) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: unmask needs out");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!m || (!text && len)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: unmask needs a mapping and text");
    hearth_buf b = {0};
    unmask_into(m, text ? text : "", len, &b);
    return buf_take(&b, out, out_len);
}

struct hearth_pii_unmasker {
    const hearth_pii_mapping *m;
    hearth_buf held;   /* tail that may start a placeholder */
    hearth_buf work;
    hearth_buf out;
};

hearth_pii_unmasker *hearth_pii_unmasker_create(const hearth_pii_mapping *m) {
    if (!m) {
        hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: unmasker needs a mapping");
        return NULL;
    }
    hearth_pii_unmasker *u = calloc(1, sizeof *u);
    if (!u) {
        hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory creating an unmasker");
        return NULL;
    }
    u->m = m;
    return u;
}

void hearth_pii_unmasker_free(hearth_pii_unmasker *u) {
    if (!u) return;
    hearth_buf_free(&u->held);
    hearth_buf_free(&u->work);
    hearth_buf_free(&u->out);
    free(u);
}

hearth_status hearth_pii_unmasker_feed(hearth_pii_unmasker *u, const char *chunk, size_t len, const char **out,
                                       size_t *out_len) {
    if (!u || !out || !out_len || (!chunk && len))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: unmasker_feed needs an unmasker, a chunk and outputs");
    u->work.len = 0;
    hearth_buf_put(&u->work, u->held.data, u->held.len);
    hearth_buf_put(&u->work, chunk, len);
    u->held.len = 0;
    u->out.len = 0;
    const char *t = u->work.data ? u->work.data : "";
    size_t n = u->work.len, keep = n;
    /* hold back from the last '[' whose tail could still grow into a placeholder */
    size_t lim = u->m->max_ph;
    for (size_t i = n; i > 0 && n - (i - 1) < lim; i--) {
        if (t[i - 1] == '[') {
            bool ok = true;
            for (size_t k = i; k < n && ok; k++) ok = ph_char(t[k]);
            if (ok) keep = i - 1;
            break;
        }
        if (!ph_char(t[i - 1])) break;
    }
    unmask_into(u->m, t, keep, &u->out);
    hearth_buf_put(&u->held, t + keep, n - keep);
    hearth_buf_put(&u->out, "", 0);
    if (u->work.oom || u->held.oom || u->out.oom) {
        u->work.oom = u->held.oom = u->out.oom = false;
        return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory (unmasker)");
    }
    *out = u->out.data;
    *out_len = u->out.len;
    return HEARTH_OK;
}

hearth_status hearth_pii_unmasker_finish(hearth_pii_unmasker *u, const char **out, size_t *out_len) {
    if (!u || !out || !out_len) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "pii: unmasker_finish needs outputs");
    u->out.len = 0;
    hearth_buf_put(&u->out, u->held.data, u->held.len);
    u->held.len = 0;
    if (u->out.oom) {
        u->out.oom = false;
        return hearth_set_error(HEARTH_ERR_NOMEM, "pii: out of memory (unmasker)");
    }
    *out = u->out.data;
    *out_len = u->out.len;
    return HEARTH_OK;
}
