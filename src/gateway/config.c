/*
 * config.c — the gateway's YAML configuration (libyaml's document loader),
 * validated against a fixed schema: unknown keys, wrong types and bad values
 * are errors naming the file and line.
 *
 *   listen:   {host: 127.0.0.1, port: 8090}
 *   keys_db:  keys.db
 *   audit:    {db: audit.db, sync: full|normal, store_text: false}
 *   database: postgresql://user@host/db   (instead of keys_db and audit.db: several gateways)
 *   upstream: {replicas: [http://127.0.0.1:8081, ...], health_interval_s: 2,
 *              connect_timeout_ms: 1000, request_timeout_s: 300, max_attempts: 0}
 *   limits:   {rpm: 0, tpm: 0, max_concurrent: 0, max_body: 4194304, max_connections: 1024}
 *   pii:      {request: mask, response: mask,
 *              patterns: {KIND: REGEX, ...}, keywords: {KIND: [WORD, ...] | {words: [...], file: F, whole_word: B}},
 *              keys: {NAME_OR_ID: {request: block, response: allow, patterns: ..., keywords: ...}}}
 */
#include "gateway_internal.h"

#include "hearth/pii.h"
#include "pii_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct ctx {
    const char *file;
    yaml_document_t *doc;
    hearth_gateway_config *c;
    char dir[1024];
    bool upstream_optional;   /* the caller supplies the upstream (hearth serve --gateway-config) */
} ctx;

/* ==== node helpers ================================================================== */
static int line_of(yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

static hearth_status bad(ctx *x, yaml_node_t *n, const char *fmt, const char *a, const char *b) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b);
    return hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: %s", x->file, line_of(n), msg);
}

static const char *scalar(yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static hearth_status get_str(ctx *x, yaml_node_t *n, const char *key, char *out, size_t cap) {
    if (n->type != YAML_SCALAR_NODE) return bad(x, n, "%s must be a string%s", key, "");
    if (strlen(scalar(n)) >= cap) return bad(x, n, "%s is too long%s", key, "");
    snprintf(out, cap, "%s", scalar(n));
    return HEARTH_OK;
}

static hearth_status get_int(ctx *x, yaml_node_t *n, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    if (n->type != YAML_SCALAR_NODE) return bad(x, n, "%s must be an integer%s", key, "");
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno) return bad(x, n, "%s must be an integer, not '%s'", key, s);
    if (v < lo || v > hi) return bad(x, n, "%s is out of range: %s", key, s);
    *out = v;
    return HEARTH_OK;
}

static hearth_status get_num(ctx *x, yaml_node_t *n, const char *key, double lo, double *out) {
    if (n->type != YAML_SCALAR_NODE) return bad(x, n, "%s must be a number%s", key, "");
    const char *s = scalar(n);
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end) return bad(x, n, "%s must be a number, not '%s'", key, s);
    if (!(v >= lo)) return bad(x, n, "%s is out of range: %s", key, s);
    *out = v;
    return HEARTH_OK;
}

static hearth_status get_bool(ctx *x, yaml_node_t *n, const char *key, bool *out) {
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = scalar(n);
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) { *out = true; return HEARTH_OK; }
        if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) { *out = false; return HEARTH_OK; }
    }
    return bad(x, n, "%s must be true or false%s", key, "");
}

static hearth_status get_path(ctx *x, yaml_node_t *n, const char *key, char *out, size_t cap) {
    char tmp[1024];
    hearth_status st = get_str(x, n, key, tmp, sizeof tmp);
    if (st) return st;
    if (tmp[0] == '/' || !x->dir[0]) snprintf(out, cap, "%s", tmp);
    else if ((size_t)snprintf(out, cap, "%s/%s", x->dir, tmp) >= cap) return bad(x, n, "%s is too long%s", key, "");
    return HEARTH_OK;
}

static hearth_status get_action(ctx *x, yaml_node_t *n, const char *key, gw_pii_action *out) {
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = scalar(n);
        for (int a = GW_PII_ALLOW; a <= GW_PII_BLOCK; a++)
            if (!strcmp(s, gw_pii_action_str((gw_pii_action)a))) {
                *out = (gw_pii_action)a;
                return HEARTH_OK;
            }
        return bad(x, n, "%s must be allow, mask, redact or block, not '%s'", key, s);
    }
    return bad(x, n, "%s must be allow, mask, redact or block%s", key, "");
}

#define FOR_PAIRS(x, map, k, v)                                                                             \
    for (yaml_node_pair_t *p_ = (map)->data.mapping.pairs.start; p_ < (map)->data.mapping.pairs.top; p_++) \
        for (yaml_node_t *k = yaml_document_get_node((x)->doc, p_->key),                                   \
                         *v = yaml_document_get_node((x)->doc, p_->value), *once_ = k;                      \
             once_; once_ = NULL)

static hearth_status want_map(ctx *x, yaml_node_t *n, const char *what) {
    if (!n || n->type != YAML_MAPPING_NODE) return bad(x, n, "%s must be a mapping (key: value lines)%s", what, "");
    return HEARTH_OK;
}

#define TRY(e)                              \
    do {                                    \
        hearth_status st_ = (e);            \
        if (st_) return st_;                \
    } while (0)

/* ==== sections ====================================================================== */
static hearth_status sec_listen(ctx *x, yaml_node_t *m) {
    TRY(want_map(x, m, "listen"));
    FOR_PAIRS(x, m, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        int64_t i;
        if (!strcmp(key, "host")) TRY(get_str(x, v, "listen.host", x->c->host, sizeof x->c->host));
        else if (!strcmp(key, "port")) { TRY(get_int(x, v, "listen.port", 0, 65535, &i)); x->c->port = (int)i; }
        else return bad(x, k, "unknown key '%s' in listen (host, port)%s", key, "");
    }
    return HEARTH_OK;
}

static hearth_status sec_audit(ctx *x, yaml_node_t *m) {
    TRY(want_map(x, m, "audit"));
    FOR_PAIRS(x, m, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        if (!strcmp(key, "db")) TRY(get_path(x, v, "audit.db", x->c->audit_db, sizeof x->c->audit_db));
        else if (!strcmp(key, "store_text")) TRY(get_bool(x, v, "audit.store_text", &x->c->audit_store_text));
        else if (!strcmp(key, "sync")) {
            char s[16];
            TRY(get_str(x, v, "audit.sync", s, sizeof s));
            if (!strcmp(s, "full")) x->c->audit_sync_full = true;
            else if (!strcmp(s, "normal")) x->c->audit_sync_full = false;
            else return bad(x, v, "audit.sync must be full or normal, not '%s'%s", s, "");
        } else return bad(x, k, "unknown key '%s' in audit (db, sync, store_text)%s", key, "");
    }
    return HEARTH_OK;
}

static hearth_status sec_inprocess(ctx *x, yaml_node_t *m) {
    TRY(want_map(x, m, "upstream.inprocess"));
    hearth_gateway_config *c = x->c;
    FOR_PAIRS(x, m, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        int64_t i;
        if (!strcmp(key, "models")) {
            TRY(want_map(x, v, "upstream.inprocess.models (NAME: PATH lines)"));
            FOR_PAIRS(x, v, kk, vv) {
                if (c->n_inproc == 8) return bad(x, kk, "at most 8 in-process models%s%s", "", "");
                TRY(get_str(x, kk, "a model name", c->inproc_name[c->n_inproc], sizeof c->inproc_name[0]));
                TRY(get_path(x, vv, "a model path", c->inproc_path[c->n_inproc], sizeof c->inproc_path[0]));
                c->n_inproc++;
            }
        } else if (!strcmp(key, "parallel")) {
            TRY(get_int(x, v, "upstream.inprocess.parallel", 1, 256, &i)); c->inproc_parallel = (int)i;
        } else if (!strcmp(key, "ctx_per_seq")) {
            TRY(get_int(x, v, "upstream.inprocess.ctx_per_seq", 0, 1 << 20, &i)); c->inproc_ctx = (int)i;
        } else if (!strcmp(key, "threads")) {
            TRY(get_int(x, v, "upstream.inprocess.threads", 0, 4096, &i)); c->inproc_threads = (int)i;
        } else {
            return bad(x, k, "unknown key '%s' in upstream.inprocess (models, parallel, ctx_per_seq, threads)%s", key, "");
        }
    }
    if (c->n_inproc == 0) return bad(x, m, "upstream.inprocess needs models: {NAME: PATH}%s%s", "", "");
    return HEARTH_OK;
}

/* the first line of path (relative to the config's folder) */
static hearth_status read_admin_token(ctx *x, yaml_node_t *v, const char *path, char *out, size_t cap) {
    char full[2048];
    const char *slash = strrchr(x->file, '/');
    if (path[0] != '/' && slash) snprintf(full, sizeof full, "%.*s/%s", (int)(slash - x->file), x->file, path);
    else snprintf(full, sizeof full, "%s", path);
    FILE *f = fopen(full, "r");
    bool ok = f && fgets(out, (int)cap, f);
    if (f) fclose(f);
    if (ok) out[strcspn(out, "\r\n")] = 0;
    if (!ok || strlen(out) < 16)
        return bad(x, v, "upstream.admin_token_file %.300s: %s", full, f ? "the token (first line) must be 16 characters or more"
                                                                     : "cannot be read");
    return HEARTH_OK;
}

static hearth_status sec_upstream(ctx *x, yaml_node_t *m) {
    TRY(want_map(x, m, "upstream"));
    hearth_gateway_config *c = x->c;
    FOR_PAIRS(x, m, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        int64_t i;
        if (!strcmp(key, "replicas")) {
            if (v->type != YAML_SEQUENCE_NODE) return bad(x, v, "upstream.replicas must be a list of URLs%s%s", "", "");
            c->n_replicas = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *u = yaml_document_get_node(x->doc, *it);
                if (c->n_replicas == 16) return bad(x, u, "at most 16 replicas%s%s", "", "");
                char *dst = c->replicas[c->n_replicas];
                TRY(get_str(x, u, "a replica", dst, sizeof c->replicas[0]));
                if (strncmp(dst, "http://", 7) && strncmp(dst, "https://", 8))
                    return bad(x, u, "replica '%s' must be an http:// or https:// URL%s", dst, "");
                size_t n = strlen(dst);
                while (n && dst[n - 1] == '/') dst[--n] = 0;
                c->n_replicas++;
            }
        } else if (!strcmp(key, "health_interval_s")) {
            TRY(get_num(x, v, "upstream.health_interval_s", 0.05, &c->health_interval_s));
        } else if (!strcmp(key, "connect_timeout_ms")) {
            TRY(get_int(x, v, "upstream.connect_timeout_ms", 1, 600000, &i)); c->connect_timeout_ms = (int)i;
        } else if (!strcmp(key, "request_timeout_s")) {
            TRY(get_int(x, v, "upstream.request_timeout_s", 1, 86400, &i)); c->request_timeout_s = (int)i;
        } else if (!strcmp(key, "max_attempts")) {
            TRY(get_int(x, v, "upstream.max_attempts", 0, 16, &i)); c->max_attempts = (int)i;
        } else if (!strcmp(key, "inprocess")) {
            TRY(sec_inprocess(x, v));
        } else if (!strcmp(key, "admin_token_file")) {   /* hearth serve --admin-token-file's file */
            char path[1024];
            TRY(get_str(x, v, "upstream.admin_token_file", path, sizeof path));
            TRY(read_admin_token(x, v, path, c->upstream_admin_token, sizeof c->upstream_admin_token));
        } else {
            return bad(x, k,
                       "unknown key '%s' in upstream (replicas, health_interval_s, connect_timeout_ms, "
                       "request_timeout_s, max_attempts, inprocess, admin_token_file)%s", key, "");
        }
    }
    return HEARTH_OK;
}

static hearth_status sec_limits(ctx *x, yaml_node_t *m) {
    TRY(want_map(x, m, "limits"));
    hearth_gateway_config *c = x->c;
    FOR_PAIRS(x, m, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        int64_t i;
        if (!strcmp(key, "rpm")) TRY(get_int(x, v, "limits.rpm", 0, INT64_MAX / 2, &c->rpm));
        else if (!strcmp(key, "tpm")) TRY(get_int(x, v, "limits.tpm", 0, INT64_MAX / 2, &c->tpm));
        else if (!strcmp(key, "max_concurrent")) TRY(get_int(x, v, "limits.max_concurrent", 0, 1000000, &c->max_concurrent));
        else if (!strcmp(key, "max_body")) { TRY(get_int(x, v, "limits.max_body", 1024, 1 << 30, &i)); c->max_body = (size_t)i; }
        else if (!strcmp(key, "max_connections")) { TRY(get_int(x, v, "limits.max_connections", 1, 100000, &i)); c->max_connections = (int)i; }
        else return bad(x, k, "unknown key '%s' in limits (rpm, tpm, max_concurrent, max_body, max_connections)%s", key, "");
    }
    return HEARTH_OK;
}

/* ---- custom PII kinds: checked here (name, regex, words) so errors get a line */
static hearth_status add_custom(ctx *x, yaml_node_t *at, gw_pii_policy *p, gw_pii_custom *k) {
    hearth_gateway_config *c = x->c;
    hearth_pii_policy *probe = hearth_pii_policy_create(HEARTH_PII_ALLOW);
    hearth_status st = probe ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    for (int i = 0; !st && i < p->n_custom; i++)
        if (!strcmp(c->custom[p->custom[i]].name, k->name))
            st = bad(x, at, "custom PII kind '%s' is defined twice%s", k->name, "");
    if (!st) {
        st = k->regex ? hearth_pii_policy_add_pattern(probe, k->name, k->regex, HEARTH_PII_ALLOW)
                      : hearth_pii_policy_add_keywords(probe, k->name, (const char *const *)k->words,
                                                       (size_t)k->n_words, k->whole_word, HEARTH_PII_ALLOW);
        if (st) st = bad(x, at, "%s%s", hearth_last_error(), "");
    }
    hearth_pii_policy_free(probe);
    if (!st && (c->n_custom == 64 || p->n_custom == 16)) st = bad(x, at, "too many custom PII kinds (16 per policy, 64 in all)%s%s", "", "");
    if (st) {
        free(k->regex);
        for (int i = 0; i < k->n_words; i++) free(k->words[i]);
        free(k->words);
        return st;
    }
    c->custom[c->n_custom] = *k;
    p->custom[p->n_custom++] = c->n_custom++;
    return HEARTH_OK;
}

static hearth_status add_word(gw_pii_custom *k, const char *w) {
    char **nw = realloc(k->words, (size_t)(k->n_words + 1) * sizeof *nw);
    if (!nw) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    k->words = nw;
    if (!(k->words[k->n_words] = strdup(w))) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    k->n_words++;
    return HEARTH_OK;
}

static hearth_status word_list(ctx *x, yaml_node_t *v, gw_pii_custom *k) {
    if (v->type != YAML_SEQUENCE_NODE) return bad(x, v, "keywords of '%s' must be a list of words%s", k->name, "");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *w = yaml_document_get_node(x->doc, *it);
        if (w->type != YAML_SCALAR_NODE) return bad(x, w, "a keyword of '%s' must be a string%s", k->name, "");
        TRY(add_word(k, scalar(w)));
    }
    return HEARTH_OK;
}

static hearth_status word_file(ctx *x, yaml_node_t *v, gw_pii_custom *k) {
    char path[1024];
    TRY(get_path(x, v, "keywords file", path, sizeof path));
    char **words;
    size_t n;
    hearth_status st = pii_keyword_file_read(path, &words, &n);
    if (st) return bad(x, v, "%s%s", hearth_last_error(), "");
    for (size_t i = 0; i < n; i++) {
        if (!st) st = add_word(k, words[i]);
        free(words[i]);
    }
    free(words);
    return st;
}

static hearth_status pii_customs(ctx *x, yaml_node_t *m, bool patterns, gw_pii_policy *p) {
    TRY(want_map(x, m, patterns ? "pii patterns" : "pii keywords"));
    FOR_PAIRS(x, m, k, v) {
        gw_pii_custom kind = {.whole_word = true};
        TRY(get_str(x, k, "a custom PII kind name", kind.name, sizeof kind.name));
        hearth_status st = HEARTH_OK;
        if (patterns) {
            if (v->type != YAML_SCALAR_NODE) return bad(x, v, "pattern '%s' must be a string (a PCRE2 regex)%s", kind.name, "");
            if (!(kind.regex = strdup(scalar(v)))) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
        } else if (v->type == YAML_SEQUENCE_NODE) {
            st = word_list(x, v, &kind);
        } else if (v->type == YAML_MAPPING_NODE) {
            FOR_PAIRS(x, v, kk, vv) {
                const char *key = kk->type == YAML_SCALAR_NODE ? scalar(kk) : "?";
                if (st) break;
                if (!strcmp(key, "words")) st = word_list(x, vv, &kind);
                else if (!strcmp(key, "file")) st = word_file(x, vv, &kind);
                else if (!strcmp(key, "whole_word")) st = get_bool(x, vv, "whole_word", &kind.whole_word);
                else st = bad(x, kk, "unknown key '%s' in keywords of a kind (words, file, whole_word)%s", key, "");
            }
        } else {
            st = bad(x, v, "keywords of '%s' must be a list of words or {words, file, whole_word}%s", kind.name, "");
        }
        if (!st) st = add_custom(x, v, p, &kind);
        else {
            for (int i = 0; i < kind.n_words; i++) free(kind.words[i]);
            free(kind.words);
        }
        if (st) return st;
    }
    return HEARTH_OK;
}

static hearth_status pii_policy(ctx *x, yaml_node_t *m, const char *where, gw_pii_policy *p) {
    TRY(want_map(x, m, where));
    FOR_PAIRS(x, m, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        if (!strcmp(key, "request")) TRY(get_action(x, v, "pii request", &p->request));
        else if (!strcmp(key, "response")) TRY(get_action(x, v, "pii response", &p->response));
        else if (!strcmp(key, "patterns")) TRY(pii_customs(x, v, true, p));
        else if (!strcmp(key, "keywords")) TRY(pii_customs(x, v, false, p));
        else if (!strcmp(key, "keys") && p == &x->c->pii[0]) continue;   /* handled by sec_pii */
        else return bad(x, k, "unknown key '%s' in %s (request, response, patterns, keywords)", key, where);
    }
    return HEARTH_OK;
}

static hearth_status sec_pii(ctx *x, yaml_node_t *m) {
    TRY(pii_policy(x, m, "pii", &x->c->pii[0]));
    FOR_PAIRS(x, m, k, v) {
        if (strcmp(scalar(k), "keys")) continue;
        TRY(want_map(x, v, "pii.keys"));
        FOR_PAIRS(x, v, kk, vv) {
            if (x->c->n_pii == 64) return bad(x, kk, "at most 63 per-key PII policies%s%s", "", "");
            gw_pii_policy *p = &x->c->pii[x->c->n_pii];
            *p = x->c->pii[0];
            TRY(get_str(x, kk, "a key name", p->key, sizeof p->key));
            TRY(pii_policy(x, vv, "a key's pii policy", p));
            x->c->n_pii++;
        }
    }
    return HEARTH_OK;
}

/* ==== load ========================================================================== */
static void defaults(hearth_gateway_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 8090;
    c->audit_sync_full = true;
    c->health_interval_s = 2;
    c->connect_timeout_ms = 1000;
    c->request_timeout_s = 300;
    c->max_body = 4u << 20;
    c->max_connections = 1024;
    c->n_pii = 1;
    c->pii[0].request = GW_PII_ALLOW;
    c->pii[0].response = GW_PII_ALLOW;
}

static hearth_status walk(ctx *x) {
    yaml_node_t *root = yaml_document_get_root_node(x->doc);
    if (!root) return hearth_set_error(HEARTH_ERR_FORMAT, "%s: the config is empty", x->file);
    TRY(want_map(x, root, "the config"));
    bool have_keys = false, have_audit = false, have_database = false;
    FOR_PAIRS(x, root, k, v) {
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        if (!strcmp(key, "listen")) TRY(sec_listen(x, v));
        else if (!strcmp(key, "database")) {
            /* PostgreSQL holds keys, usage, limits and the audit chain: both names point at it */
            TRY(get_str(x, v, "database", x->c->keys_db, sizeof x->c->keys_db));
            if (strncmp(x->c->keys_db, "postgresql://", 13) && strncmp(x->c->keys_db, "postgres://", 11))
                return bad(x, v, "database must be a PostgreSQL URL (postgresql://user@host/db), not '%s'%s",
                           x->c->keys_db, "");
            have_database = true;
        }
        else if (!strcmp(key, "keys_db")) { TRY(get_path(x, v, "keys_db", x->c->keys_db, sizeof x->c->keys_db)); have_keys = true; }
        else if (!strcmp(key, "audit")) { TRY(sec_audit(x, v)); have_audit = x->c->audit_db[0] != 0; }
        else if (!strcmp(key, "upstream")) TRY(sec_upstream(x, v));
        else if (!strcmp(key, "limits")) TRY(sec_limits(x, v));
        else if (!strcmp(key, "pii")) TRY(sec_pii(x, v));
        else return bad(x, k, "unknown key '%s' (listen, database, keys_db, audit, upstream, limits, pii)%s", key, "");
    }
    if (have_database && (have_keys || have_audit))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: database replaces keys_db and audit.db; give one or the other",
                                x->file);
    if (have_database) snprintf(x->c->audit_db, sizeof x->c->audit_db, "%s", x->c->keys_db);
    if (!have_database && !have_keys)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: keys_db is required (or database: postgresql://...)", x->file);
    if (!have_database && !have_audit)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: audit.db is required (or database: postgresql://...)", x->file);
    if (x->c->n_replicas == 0 && x->c->n_inproc == 0 && !x->upstream_optional)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: upstream.replicas needs at least one URL (or upstream.inprocess)",
                                x->file);
    return HEARTH_OK;
}

static hearth_status load(const char *path, bool upstream_optional, hearth_gateway_config **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "cannot open config %s: %s", path, strerror(errno));
    hearth_gateway_config *c = malloc(sizeof *c);
    if (!c) {
        fclose(f);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    defaults(c);
    snprintf(c->path, sizeof c->path, "%s", path);
    ctx x = {.file = path, .c = c, .upstream_optional = upstream_optional};
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(x.dir, sizeof x.dir, "%.*s", (int)(slash - path), path);
    if (slash == path) snprintf(x.dir, sizeof x.dir, "/");

    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    hearth_status st;
    if (!yaml_parser_load(&parser, &doc)) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s:%d: YAML error: %s", path, (int)parser.problem_mark.line + 1,
                              parser.problem ? parser.problem : "malformed");
    } else {
        x.doc = &doc;
        st = walk(&x);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    for (int i = 0; !st && i < c->n_pii; i++) st = gw_pii_build(c, &c->pii[i]);
    if (st) {
        hearth_gateway_config_free(c);
        return st;
    }
    *out = c;
    return HEARTH_OK;
}

hearth_status hearth_gateway_config_load(const char *path, hearth_gateway_config **out) {
    return load(path, false, out);
}

hearth_status hearth_gateway_config_load_local(const char *path, hearth_gateway_config **out) {
    return load(path, true, out);
}

void hearth_gateway_config_free(hearth_gateway_config *c) {
    if (!c) return;
    for (int i = 0; i < c->n_pii; i++) gw_pii_release(&c->pii[i]);
    for (int i = 0; i < c->n_custom; i++) {
        free(c->custom[i].regex);
        for (int j = 0; j < c->custom[i].n_words; j++) free(c->custom[i].words[j]);
        free(c->custom[i].words);
    }
    free(c);
}
void hearth_gateway_config_set_port(hearth_gateway_config *c, int port) { c->port = port; }
void hearth_gateway_config_set_upstream_admin_token(hearth_gateway_config *c, const char *token) {
    snprintf(c->upstream_admin_token, sizeof c->upstream_admin_token, "%s", token ? token : "");
}

void hearth_gateway_config_set_ui(hearth_gateway_config *c, const char *dir, bool enabled) {
    snprintf(c->ui_dir, sizeof c->ui_dir, "%s", dir ? dir : "");
    c->ui_off = !enabled;
}

int hearth_gateway_config_inprocess_count(const hearth_gateway_config *c) { return c->n_inproc; }

bool hearth_gateway_config_inprocess_model(const hearth_gateway_config *c, int i, const char **name,
                                           const char **path) {
    if (i < 0 || i >= c->n_inproc) return false;
    *name = c->inproc_name[i];
    *path = c->inproc_path[i];
    return true;
}

void hearth_gateway_config_inprocess_params(const hearth_gateway_config *c, int *n_parallel, int *n_ctx_per_seq,
                                            int *n_threads) {
    *n_parallel = c->inproc_parallel;
    *n_ctx_per_seq = c->inproc_ctx;
    *n_threads = c->inproc_threads;
}

hearth_status hearth_gateway_config_add_replica(hearth_gateway_config *c, const char *url) {
    if (c->n_replicas == 16) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "at most 16 replicas");
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "replica '%s' must be an http:// or https:// URL", url);
    if (strlen(url) >= sizeof c->replicas[0]) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "replica URL too long");
    snprintf(c->replicas[c->n_replicas++], sizeof c->replicas[0], "%s", url);
    return HEARTH_OK;
}
const char *hearth_gateway_config_keys_db(const hearth_gateway_config *c) { return c->keys_db; }
const char *hearth_gateway_config_audit_db(const hearth_gateway_config *c) { return c->audit_db; }
bool hearth_gateway_config_audit_sync_full(const hearth_gateway_config *c) { return c->audit_sync_full; }

const char *gw_pii_action_str(gw_pii_action a) {
    switch (a) {
    case GW_PII_ALLOW: return "allow";
    case GW_PII_MASK: return "mask";
    case GW_PII_REDACT: return "redact";
    case GW_PII_BLOCK: return "block";
    }
    return "?";
}

const gw_pii_policy *gw_config_pii(const hearth_gateway_config *c, const hearth_key_info *k) {
    for (int i = 1; i < c->n_pii; i++)
        if (k && (!strcmp(c->pii[i].key, k->name) || !strcmp(c->pii[i].key, k->id))) return &c->pii[i];
    return &c->pii[0];
}
