/*
 * schema.c — compiling a JSON Schema: parsing the documents, indexing every
 * subschema with its base URI and resource ("$id"), anchors ($anchor,
 * $dynamicAnchor, draft-07's "$id": "#name"), compiling patterns, and
 * resolving references (RFC 3986 URIs, JSON pointers). Keyword evaluation
 * lives in schema_validate.c.
 */
#include "schema_internal.h"

#include "core/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE "https://hearth.invalid/schema.json"
#define MAX_INDEX_DEPTH 256

hearth_schema_params hearth_schema_default_params(void) {
    hearth_schema_params p = {0};
    p.draft = HEARTH_SCHEMA_DRAFT_2020_12;
    return p;
}

hearth_schema_draft hearth_schema_get_draft(const hearth_schema *s) { return (hearth_schema_draft)s->draft; }

/* ==== URIs ================================================================ */
typedef struct uri_parts {
    const char *scheme, *auth, *path, *query, *frag;   /* NULL: absent */
    size_t n_scheme, n_auth, n_path, n_query, n_frag;
} uri_parts;

static void uri_split(const char *u, uri_parts *p) {
    memset(p, 0, sizeof *p);
    const char *s = u;
    /* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    const char *c = s;
    if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')) {
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '+' ||
               *c == '-' || *c == '.')
            c++;
        if (*c == ':') {
            p->scheme = s, p->n_scheme = (size_t)(c - s);
            s = c + 1;
        }
    }
    if (s[0] == '/' && s[1] == '/') {
        s += 2;
        size_t n = strcspn(s, "/?#");
        p->auth = s, p->n_auth = n;
        s += n;
    }
    size_t n = strcspn(s, "?#");
    p->path = s, p->n_path = n;
    s += n;
    if (*s == '?') {
        s++;
        n = strcspn(s, "#");
        p->query = s, p->n_query = n;
        s += n;
    }
    if (*s == '#') p->frag = s + 1, p->n_frag = strlen(s + 1);
}

/* RFC 3986 5.2.4 */
static void remove_dots(hearth_buf *out, const char *in, size_t n) {
    size_t start = out->len;
    size_t i = 0;
    while (i < n) {
        const char *r = in + i;
        size_t left = n - i;
        if (left >= 3 && !strncmp(r, "../", 3)) { i += 3; continue; }
        if (left >= 2 && !strncmp(r, "./", 2)) { i += 2; continue; }
        if (left >= 3 && !strncmp(r, "/./", 3)) { i += 2; continue; }
        if (left == 2 && !strncmp(r, "/.", 2)) { hearth_buf_putc(out, '/'); i += 2; continue; }
        if ((left >= 4 && !strncmp(r, "/../", 4)) || (left == 3 && !strncmp(r, "/..", 3))) {
            i += 3;
            if (left == 3) { /* "/.." at the end acts as "/" */
                while (out->len > start && out->data[out->len - 1] != '/') out->len--;
                if (out->len > start) out->len--;
                hearth_buf_putc(out, '/');
                continue;
            }
            while (out->len > start && out->data[out->len - 1] != '/') out->len--;
            if (out->len > start) out->len--;
            if (out->data) out->data[out->len] = 0;
            continue;
        }
        if ((left == 1 && r[0] == '.') || (left == 2 && !strncmp(r, "..", 2))) break;
        /* move the first segment (with its leading '/') */
        size_t k = r[0] == '/' ? 1 : 0;
        while (i + k < n && in[i + k] != '/') k++;
        hearth_buf_put(out, r, k);
        i += k;
    }
}

char *sch_uri_resolve(const char *base, const char *ref) {
    uri_parts b, r;
    uri_split(base, &b);
    uri_split(ref, &r);
    hearth_buf o = {0};
    const uri_parts *q = &r;   /* where query comes from */
    if (r.scheme) {
        hearth_buf_put(&o, r.scheme, r.n_scheme);
        hearth_buf_putc(&o, ':');
        if (r.auth) hearth_buf_puts(&o, "//"), hearth_buf_put(&o, r.auth, r.n_auth);
        remove_dots(&o, r.path, r.n_path);
    } else {
        if (b.scheme) hearth_buf_put(&o, b.scheme, b.n_scheme), hearth_buf_putc(&o, ':');
        if (r.auth) {
            hearth_buf_puts(&o, "//"), hearth_buf_put(&o, r.auth, r.n_auth);
            remove_dots(&o, r.path, r.n_path);
        } else {
            if (b.auth) hearth_buf_puts(&o, "//"), hearth_buf_put(&o, b.auth, b.n_auth);
            if (r.n_path == 0) {
                hearth_buf_put(&o, b.path, b.n_path);
                if (!r.query) q = &b;
            } else if (r.path[0] == '/') {
                remove_dots(&o, r.path, r.n_path);
            } else {
                hearth_buf m = {0};
                if (b.auth && b.n_path == 0) {
                    hearth_buf_putc(&m, '/');
                } else {
                    size_t k = b.n_path;
                    while (k > 0 && b.path[k - 1] != '/') k--;
                    hearth_buf_put(&m, b.path, k);
                }
                hearth_buf_put(&m, r.path, r.n_path);
                if (m.data) remove_dots(&o, m.data, m.len);
                hearth_buf_free(&m);
            }
        }
    }
    if (q->query) hearth_buf_putc(&o, '?'), hearth_buf_put(&o, q->query, q->n_query);
    if (r.frag) hearth_buf_putc(&o, '#'), hearth_buf_put(&o, r.frag, r.n_frag);
    return hearth_buf_take(&o, NULL);
}

/* ==== the index ============================================================ */
static const char *keep_str(hearth_schema *s, char *str) {
    if (!str || !HEARTH_GROW(s->strs, s->cap_strs, s->n_strs + 1)) {
        free(str);
        return NULL;
    }
    s->strs[s->n_strs++] = str;
    return str;
}

static size_t ptr_hash(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static bool nidx_insert(hearth_schema *s, size_t i) {
    if ((s->n_nodes + 1) * 2 > s->nidx_cap) {
        size_t cap = s->nidx_cap ? s->nidx_cap * 2 : 256;
        int32_t *t = malloc(cap * sizeof *t);
        if (!t) return false;
        for (size_t k = 0; k < cap; k++) t[k] = -1;
        for (size_t k = 0; k < s->nidx_cap; k++)
            if (s->nidx[k] >= 0) {
                size_t h = ptr_hash(s->nodes[s->nidx[k]].node) & (cap - 1);
                while (t[h] >= 0) h = (h + 1) & (cap - 1);
                t[h] = s->nidx[k];
            }
        free(s->nidx);
        s->nidx = t, s->nidx_cap = cap;
    }
    size_t h = ptr_hash(s->nodes[i].node) & (s->nidx_cap - 1);
    while (s->nidx[h] >= 0) h = (h + 1) & (s->nidx_cap - 1);
    s->nidx[h] = (int32_t)i;
    return true;
}

const sch_node *sch_info(const hearth_schema *s, const cJSON *node) {
    if (!s->nidx_cap) return NULL;
    size_t h = ptr_hash(node) & (s->nidx_cap - 1);
    while (s->nidx[h] >= 0) {
        if (s->nodes[s->nidx[h]].node == node) return &s->nodes[s->nidx[h]];
        h = (h + 1) & (s->nidx_cap - 1);
    }
    return NULL;
}

static int add_res(hearth_schema *s, const char *uri, const cJSON *root, int draft) {
    if (!HEARTH_GROW(s->res, s->cap_res, s->n_res + 1)) return -1;
    s->res[s->n_res] = (sch_res){uri, root, draft};
    return (int)s->n_res++;
}

static bool add_anchor(hearth_schema *s, const char *base, const char *name, const cJSON *node, int res, bool dyn) {
    hearth_buf b = {0};
    hearth_buf_printf(&b, "%s#%s", base, name);
    const char *u = keep_str(s, hearth_buf_take(&b, NULL));
    if (!u || !HEARTH_GROW(s->anchors, s->cap_anchors, s->n_anchors + 1)) return false;
    s->anchors[s->n_anchors++] = (sch_anchor){u, node, res, dyn};
    return true;
}

/* ECMA-262's long Unicode property names (\p{Letter}) as PCRE2's short ones */
static char *ecma_to_pcre(const char *pat) {
    static const char *const names[][2] = {
        {"Letter", "L"}, {"Lowercase_Letter", "Ll"}, {"Uppercase_Letter", "Lu"}, {"Titlecase_Letter", "Lt"},
        {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"}, {"Mark", "M"}, {"Number", "N"},
        {"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"}, {"Other_Number", "No"},
        {"Punctuation", "P"}, {"punct", "P"}, {"Symbol", "S"}, {"Separator", "Z"}, {"Space_Separator", "Zs"},
        {"Other", "C"}, {"Control", "Cc"}, {"cntrl", "Cc"},
    };
    hearth_buf b = {0};
    for (const char *p = pat; *p; p++) {
        if (p[0] == '\\' && (p[1] == 'p' || p[1] == 'P') && p[2] == '{') {
            const char *e = strchr(p + 3, '}');
            bool done = false;
            for (size_t k = 0; e && k < sizeof names / sizeof names[0] && !done; k++)
                if (strlen(names[k][0]) == (size_t)(e - p - 3) && !strncmp(p + 3, names[k][0], (size_t)(e - p - 3))) {
                    hearth_buf_printf(&b, "\\%c{%s}", p[1], names[k][1]);
                    p = e;
                    done = true;
                }
            if (done) continue;
        }
        if (p[0] == '\\' && p[1]) {
            hearth_buf_put(&b, p, 2);
            p++;
            continue;
        }
        hearth_buf_putc(&b, *p);
    }
    return hearth_buf_take(&b, NULL);
}

static hearth_status add_regex(hearth_schema *s, const char *pat, const char *where) {
    for (size_t i = 0; i < s->n_rx; i++)
        if (s->rx[i].pat == pat) return HEARTH_OK;
    int err;
    PCRE2_SIZE off;
    char *tr = ecma_to_pcre(pat);
    if (!tr) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: out of memory");
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)tr, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &err,
                                   &off, NULL);
    free(tr);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return hearth_set_error(HEARTH_ERR_FORMAT, "schema: %s: invalid regular expression '%s' at offset %zu: %s",
                                where, pat, (size_t)off, (const char *)msg);
    }
    if (!HEARTH_GROW(s->rx, s->cap_rx, s->n_rx + 1)) {
        pcre2_code_free(re);
        return hearth_set_error(HEARTH_ERR_NOMEM, "schema: out of memory");
    }
    s->rx[s->n_rx++] = (sch_regex){pat, re};
    return HEARTH_OK;
}

pcre2_code *sch_regex_get(const hearth_schema *s, const char *pat) {
    for (size_t i = 0; i < s->n_rx; i++)
        if (s->rx[i].pat == pat) return s->rx[i].re;
    return NULL;
}

static const char *const SINGLE_2020[] = {"items", "additionalProperties", "unevaluatedItems",
                                          "unevaluatedProperties", "contains", "propertyNames", "not", "if",
                                          "then", "else", "contentSchema", NULL};
static const char *const ARRAY_2020[] = {"allOf", "anyOf", "oneOf", "prefixItems", NULL};
static const char *const MAP_2020[] = {"$defs", "definitions", "properties", "patternProperties", "dependentSchemas",
                                       NULL};
static const char *const SINGLE_7[] = {"items", "additionalItems", "additionalProperties", "contains",
                                       "propertyNames", "not", "if", "then", "else", NULL};
static const char *const ARRAY_7[] = {"allOf", "anyOf", "oneOf", "items", NULL};
static const char *const MAP_7[] = {"definitions", "properties", "patternProperties", "dependencies", NULL};

static int draft_of(const char *uri, int dflt) {
    if (!uri) return dflt;
    if (strstr(uri, "draft/2020-12/schema")) return HEARTH_SCHEMA_DRAFT_2020_12;
    if (strstr(uri, "draft-07/schema")) return HEARTH_SCHEMA_DRAFT_7;
    return -1;
}

static hearth_status index_node(hearth_schema *s, const cJSON *n, const char *base, int res, int draft, int depth,
                                const char *where) {
    if (depth > MAX_INDEX_DEPTH)
        return hearth_set_error(HEARTH_ERR_RANGE, "schema: nested deeper than %d levels at %s", MAX_INDEX_DEPTH, where);
    if (!cJSON_IsObject(n)) return HEARTH_OK;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(n, "$id");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(n, "$ref");
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(n, "$schema");
    if (depth > 0 && cJSON_IsString(sv)) {
        int d = draft_of(sv->valuestring, draft);
        if (d >= 0) draft = d;
    }
    if (cJSON_IsString(id) && !(draft == HEARTH_SCHEMA_DRAFT_7 && ref)) {
        const char *idv = id->valuestring;
        if (draft == HEARTH_SCHEMA_DRAFT_7 && idv[0] == '#') {
            if (!add_anchor(s, base, idv + 1, n, res, false)) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
        } else {
            char *u = sch_uri_resolve(base, idv);
            if (!u) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
            char *h = strchr(u, '#');
            char *frag = NULL;
            if (h) {
                *h = 0;
                if (h[1]) frag = h + 1;
            }
            base = keep_str(s, u);
            if (!base) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
            if (depth > 0 || res < 0 || strcmp(s->res[res].uri, base) != 0) {
                res = add_res(s, base, n, draft);
                if (res < 0) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
            }
            if (frag && draft == HEARTH_SCHEMA_DRAFT_7 && !add_anchor(s, base, frag, n, res, false))
                return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
        }
    }
    if (!HEARTH_GROW(s->nodes, s->cap_nodes, s->n_nodes + 1)) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    s->nodes[s->n_nodes] = (sch_node){n, base, res};
    if (!nidx_insert(s, s->n_nodes++)) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    if (draft == HEARTH_SCHEMA_DRAFT_2020_12) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(n, "$anchor");
        if (cJSON_IsString(a) && !add_anchor(s, base, a->valuestring, n, res, false))
            return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
        a = cJSON_GetObjectItemCaseSensitive(n, "$dynamicAnchor");
        if (cJSON_IsString(a) && !add_anchor(s, base, a->valuestring, n, res, true))
            return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    }
    hearth_status st;
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
    if (cJSON_IsString(pat) && (st = add_regex(s, pat->valuestring, "pattern")) != HEARTH_OK) return st;
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(n, "patternProperties");
    if (cJSON_IsObject(pp))
        for (const cJSON *c = pp->child; c; c = c->next)
            if ((st = add_regex(s, c->string, "patternProperties")) != HEARTH_OK) return st;

    bool d7 = draft == HEARTH_SCHEMA_DRAFT_7;
    const char *const *single = d7 ? SINGLE_7 : SINGLE_2020;
    const char *const *arr = d7 ? ARRAY_7 : ARRAY_2020;
    const char *const *map = d7 ? MAP_7 : MAP_2020;
    for (int k = 0; single[k]; k++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, single[k]);
        if (c && (st = index_node(s, c, base, res, draft, depth + 1, single[k])) != HEARTH_OK) return st;
    }
    for (int k = 0; arr[k]; k++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, arr[k]);
        if (cJSON_IsArray(c))
            for (const cJSON *e = c->child; e; e = e->next)
                if ((st = index_node(s, e, base, res, draft, depth + 1, arr[k])) != HEARTH_OK) return st;
    }
    for (int k = 0; map[k]; k++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, map[k]);
        if (cJSON_IsObject(c))
            for (const cJSON *e = c->child; e; e = e->next)
                if ((st = index_node(s, e, base, res, draft, depth + 1, map[k])) != HEARTH_OK) return st;
    }
    return HEARTH_OK;
}

/* ==== resolution ========================================================= */
/* percent-decodes s[0..n) into a malloc'd string */
static char *pct_decode(const char *s, size_t n) {
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int h1, h2;
        if (s[i] == '%' && i + 2 < n) {
            char a = s[i + 1], b = s[i + 2];
            h1 = (a >= '0' && a <= '9') ? a - '0' : (a >= 'a' && a <= 'f') ? a - 'a' + 10 : (a >= 'A' && a <= 'F') ? a - 'A' + 10 : -1;
            h2 = (b >= '0' && b <= '9') ? b - '0' : (b >= 'a' && b <= 'f') ? b - 'a' + 10 : (b >= 'A' && b <= 'F') ? b - 'A' + 10 : -1;
            if (h1 >= 0 && h2 >= 0) {
                o[m++] = (char)(h1 * 16 + h2);
                i += 2;
                continue;
            }
        }
        o[m++] = s[i];
    }
    o[m] = 0;
    return o;
}

/* walks JSON pointer `ptr` ("/a/0/~1b", already percent-decoded) from n */
static const cJSON *walk_pointer(const cJSON *n, const char *ptr) {
    while (n && *ptr) {
        if (*ptr != '/') return NULL;
        ptr++;
        size_t k = strcspn(ptr, "/");
        char tok[512];
        size_t m = 0;
        for (size_t i = 0; i < k && m + 1 < sizeof tok; i++) {
            if (ptr[i] == '~' && i + 1 < k && (ptr[i + 1] == '0' || ptr[i + 1] == '1')) {
                tok[m++] = ptr[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[m++] = ptr[i];
            }
        }
        tok[m] = 0;
        if (cJSON_IsArray(n)) {
            char *end;
            long idx = strtol(tok, &end, 10);
            if (*end || end == tok || idx < 0) return NULL;
            n = cJSON_GetArrayItem(n, (int)idx);
        } else if (cJSON_IsObject(n)) {
            n = cJSON_GetObjectItemCaseSensitive(n, tok);
        } else {
            return NULL;
        }
        ptr += k;
    }
    return n;
}

bool sch_resolve(const hearth_schema *s, const char *base, const char *ref, const cJSON **target, const char **tbase,
                 int *tres, bool *dyn_anchor) {
    *dyn_anchor = false;
    char *abs = sch_uri_resolve(base, ref);
    if (!abs) return false;
    char *h = strchr(abs, '#');
    char *frag = h ? h + 1 : NULL;
    if (h) *h = 0;
    bool ok = false;
    if (frag && *frag && *frag != '/') {
        /* an anchor */
        size_t nb = strlen(abs);
        for (size_t i = 0; i < s->n_anchors && !ok; i++) {
            const char *u = s->anchors[i].uri;
            if (!strncmp(u, abs, nb) && u[nb] == '#' && !strcmp(u + nb + 1, frag)) {
                *target = s->anchors[i].node;
                *tres = s->anchors[i].res;
                *tbase = s->res[*tres].uri;
                const sch_node *in = sch_info(s, *target);
                if (in) *tbase = in->base;
                *dyn_anchor = s->anchors[i].dynamic;
                ok = true;
            }
        }
    } else {
        for (size_t i = 0; i < s->n_res && !ok; i++) {
            if (strcmp(s->res[i].uri, abs) != 0) continue;
            const cJSON *n = s->res[i].root;
            if (frag && *frag) {
                char *p = pct_decode(frag, strlen(frag));
                n = p ? walk_pointer(n, p) : NULL;
                free(p);
            }
            if (!n) break;
            *target = n;
            *tres = (int)i;
            *tbase = s->res[i].uri;
            const sch_node *in = sch_info(s, n);
            if (in) *tbase = in->base, *tres = in->res;
            ok = true;
        }
    }
    free(abs);
    return ok;
}

const cJSON *sch_dynamic_anchor(const hearth_schema *s, int res, const char *name) {
    for (size_t i = 0; i < s->n_anchors; i++)
        if (s->anchors[i].dynamic && s->anchors[i].res == res) {
            const char *u = strchr(s->anchors[i].uri, '#');
            if (u && !strcmp(u + 1, name)) return s->anchors[i].node;
        }
    return NULL;
}

/* every $ref / $dynamicRef of the schema's own nodes must resolve (those
 * of the resources only when they are used) */
static hearth_status check_refs(hearth_schema *s, size_t n_root_nodes) {
    for (size_t i = 0; i < n_root_nodes; i++) {
        const sch_node *in = &s->nodes[i];
        const char *kws[2] = {"$ref", "$dynamicRef"};
        for (int k = 0; k < 2; k++) {
            if (k == 1 && s->res[in->res].draft == HEARTH_SCHEMA_DRAFT_7) continue;
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(in->node, kws[k]);
            if (!cJSON_IsString(r)) continue;
            const cJSON *t;
            const char *tb;
            int tr;
            bool dyn;
            if (!sch_resolve(s, in->base, r->valuestring, &t, &tb, &tr, &dyn))
                return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                        "schema: %s '%s' (base %s) cannot be resolved (hearth reads no remote documents)",
                                        kws[k], r->valuestring, in->base);
        }
    }
    return HEARTH_OK;
}

/* ==== compile / free ====================================================== */
/* "$schema" naming one of the given resources (a custom meta-schema): the
 * draft of that meta-schema; its "$vocabulary" without the validation
 * vocabulary turns the validation keywords off. -1: unknown. */
static int meta_draft(hearth_schema *s, const hearth_schema_params *p, const char *uri, bool root) {
    for (int i = 0; p && i < p->n_resources; i++) {
        if (!p->resources[i].uri || !p->resources[i].json) continue;
        char *a = sch_uri_resolve(uri, ""), *b = sch_uri_resolve(p->resources[i].uri, "");
        bool same = a && b && !strcmp(a, b);
        free(a), free(b);
        if (!same) continue;
        cJSON *m = cJSON_Parse(p->resources[i].json);
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(m, "$schema");
        int d = cJSON_IsString(ms) ? draft_of(ms->valuestring, -1) : -1;
        const cJSON *voc = cJSON_GetObjectItemCaseSensitive(m, "$vocabulary");
        if (root && d >= 0 && cJSON_IsObject(voc)) {
            bool validation = false;
            for (const cJSON *v = voc->child; v; v = v->next)
                if (strstr(v->string, "/vocab/validation")) validation = true;
            s->no_validation = !validation;
        }
        cJSON_Delete(m);
        return d;
    }
    return -1;
}

static hearth_status add_doc(hearth_schema *s, const char *json, size_t len, const cJSON *parsed, const char *uri,
                             bool root, int dflt_draft, const hearth_schema_params *p) {
    const char *end = NULL;
    cJSON *doc = parsed ? cJSON_Duplicate(parsed, true) : cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!doc && parsed) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    if (!doc)
        return hearth_set_error(HEARTH_ERR_FORMAT, "schema%s%s: not valid JSON near byte %zu", uri ? " " : "",
                                uri ? uri : "", end && end >= json ? (size_t)(end - json) : (size_t)0);
    cJSON **d = realloc(s->docs, (size_t)(s->n_docs + 1) * sizeof *d);
    if (!d) {
        cJSON_Delete(doc);
        return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    }
    s->docs = d;
    s->docs[s->n_docs++] = doc;
    if (!cJSON_IsObject(doc) && !cJSON_IsBool(doc))
        return hearth_set_error(HEARTH_ERR_FORMAT, "schema%s%s: a schema must be an object or a boolean",
                                uri ? " " : "", uri ? uri : "");
    int draft = dflt_draft;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(doc, "$schema");
    if (cJSON_IsString(sv)) {
        draft = draft_of(sv->valuestring, dflt_draft);
        if (draft < 0) draft = meta_draft(s, p, sv->valuestring, root);
        if (draft < 0)
            return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                    "schema: \"$schema\": \"%s\" is not supported (draft 2020-12 and draft-07 are)",
                                    sv->valuestring);
    }
    if (root) s->draft = draft;
    const char *base = keep_str(s, sch_uri_resolve(uri ? uri : DEFAULT_BASE, ""));
    if (!base) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    int res = add_res(s, base, doc, draft);
    if (res < 0) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    return index_node(s, doc, base, res, draft, 0, "root");
}

static hearth_status compile(const char *json, size_t len, const cJSON *parsed, const hearth_schema_params *pp,
                             hearth_schema **out) {
    *out = NULL;
    hearth_schema_params p = pp ? *pp : hearth_schema_default_params();
    if (!json && !parsed) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "schema: no text");
    hearth_schema *s = calloc(1, sizeof *s);
    if (!s) return hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
    s->format_assert = p.format_assert;
    s->max_depth = p.max_depth > 0 ? p.max_depth : 512;
    hearth_status st = add_doc(s, json, len, parsed, NULL, true, p.draft, &p);
    size_t n_root_nodes = s->n_nodes;
    for (int i = 0; st == HEARTH_OK && i < p.n_resources; i++)
        if (p.resources[i].uri && p.resources[i].json)
            st = add_doc(s, p.resources[i].json, strlen(p.resources[i].json), NULL, p.resources[i].uri, false, s->draft,
                         &p);
    if (st == HEARTH_OK) st = check_refs(s, n_root_nodes);
    if (st == HEARTH_OK) {
        s->mctx = pcre2_match_context_create(NULL);
        if (!s->mctx) st = hearth_set_error(HEARTH_ERR_NOMEM, "schema: oom");
        else pcre2_set_match_limit(s->mctx, 1000000);
    }
    if (st != HEARTH_OK) {
        hearth_schema_free(s);
        return st;
    }
    *out = s;
    return HEARTH_OK;
}

hearth_status hearth_schema_compile(const char *json, size_t len, const hearth_schema_params *p, hearth_schema **out) {
    return compile(json, len, NULL, p, out);
}

hearth_status hearth_schema_compile_json(const cJSON *schema, const hearth_schema_params *p, hearth_schema **out) {
    if (!schema) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "schema: no schema");
    return compile(NULL, 0, schema, p, out);
}

void hearth_schema_free(hearth_schema *s) {
    if (!s) return;
    for (int i = 0; i < s->n_docs; i++) cJSON_Delete(s->docs[i]);
    free(s->docs);
    free(s->nodes);
    free(s->nidx);
    free(s->res);
    free(s->anchors);
    for (size_t i = 0; i < s->n_rx; i++) pcre2_code_free(s->rx[i].re);
    free(s->rx);
    for (size_t i = 0; i < s->n_strs; i++) free(s->strs[i]);
    free(s->strs);
    if (s->mctx) pcre2_match_context_free(s->mctx);
    free(s);
}
