/*
 * admin_models.c — hot load, swap and unload of models and adapters while
 * serving, and their admin HTTP API:
 *   GET  /admin/models          every loaded version, draining ones included
 *   POST /admin/models/load     {"name", "path", "base"?, "scale"?, "digest"?, "base_digest"?}
 *   POST /admin/models/swap     the same; replaces the loaded version of name
 *   POST /admin/models/unload   {"name", "base"?}
 *   POST /admin/aliases         {"alias": "NAME@ALIAS", "tag": "TAG"} or {"alias", "rollback": true}
 * With serve --registry DIR, load and swap also take {"ref": "NAME:TAG" or
 * "NAME@ALIAS"} for a path (the name defaults to the ref; an adapter's base
 * is the served model whose digest its lineage records, 409 when none is),
 * and moving an alias swaps what is served under "NAME@ALIAS".
 * Every call needs "Authorization: Bearer <admin token>" (serve
 * --admin-token-file); without a token the API is off (404).
 *
 * How a swap keeps requests: the new version is loaded beside the old one
 * (no lock held while loading), then, under server->mu, the old one is
 * retired and the new one takes its place in the table. Requests already
 * parsed hold references to the old version and finish on it; the scheduler
 * frees it when the last reference goes (server.c, srv_reclaim). Admin calls
 * run one at a time (server->admin_mu).
 */
#include "server_internal.h"

#include "hearth/registry.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VERSIONS 256   /* loaded versions, draining ones included (the scheduler steps at most this many) */

typedef struct admin_result {
    int status;            /* HTTP status */
    char message[512];
    cJSON *out;            /* the answer's fields (success) */
} admin_result;

static int refuse(admin_result *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(admin_result *r, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return r->status = status;
}

/* requests running on a version: its references less the adapters loaded on it (s->mu held) */
static int in_flight_model(hearth_server *s, const srv_model *m) {
    int n = atomic_load(&m->refs);
    for (int i = 0; i < s->n_loras; i++) n -= s->loras[i]->base == m;
    return n;
}

static cJSON *version_json(hearth_server *s, const srv_model *m, const srv_lora *l) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", l ? l->name : m->name);
    cJSON_AddStringToObject(o, "kind", l ? "adapter" : "model");
    if (l) {
        cJSON_AddStringToObject(o, "base", l->base->name);
        cJSON_AddStringToObject(o, "base_digest", l->base->digest);
        if (l->base_digest[0]) cJSON_AddStringToObject(o, "made_for", l->base_digest);
        cJSON_AddNumberToObject(o, "scale", l->scale);
    }
    cJSON_AddStringToObject(o, "digest", l ? l->digest : m->digest);
    cJSON_AddStringToObject(o, "path", l ? l->path : m->path);
    const char *ref = l ? l->ref : m->ref;
    if (*ref) cJSON_AddStringToObject(o, "ref", ref);
    cJSON_AddStringToObject(o, "state", (l ? l->retired : m->retired) ? "draining" : "live");
    cJSON_AddNumberToObject(o, "in_flight", l ? atomic_load(&l->refs) : in_flight_model(s, m));
    return o;
}

/* ==== the operations ================================================================= */
static int load_adapter(hearth_server *s, const hearth_server_load_params *p, admin_result *r) {
    pthread_mutex_lock(&s->mu);
    srv_model *base = srv_find_model(s, p->base);
    srv_lora *old = base ? srv_find_lora(s, p->name, base) : NULL;
    int n_versions = s->n_models + s->n_loras;
    pthread_mutex_unlock(&s->mu);
    /* the table changes only under admin_mu (held) or by freeing retired versions: base stays */
    if (!base) return refuse(r, 404, "no model named '%s' is loaded (the adapter's base)", p->base);
    if (p->replace && !old)
        return refuse(r, 404, "no adapter '%s' is loaded on '%s' (load it first)", p->name, base->name);
    if (!p->replace && old)
        return refuse(r, 409, "an adapter '%s' is already loaded on '%s' (swap replaces it)", p->name, base->name);
    if (p->base_digest && *p->base_digest && strcmp(p->base_digest, base->digest))
        return refuse(r, 409,
                      "adapter '%s' was made for the base %s, but the loaded '%s' is %s: load that base first, or "
                      "an adapter trained on this one",
                      p->name, p->base_digest, base->name, base->digest);
    if (n_versions >= MAX_VERSIONS)
        return refuse(r, 503, "%d versions are loaded or draining; unload some first", n_versions);
    double t0 = hearth_time_s();
    srv_lora *l;
    if (srv_lora_load(s, p->name, p->path, p->scale, p->digest, base, &l) != HEARTH_OK)
        return refuse(r, 400, "cannot load adapter '%s' on '%s': %s", p->name, base->name, hearth_last_error());
    if (p->base_digest) snprintf(l->base_digest, sizeof l->base_digest, "%s", p->base_digest);
    if (p->ref) snprintf(l->ref, sizeof l->ref, "%s", p->ref);
    pthread_mutex_lock(&s->mu);
    bool ok = srv_table_add_lora(s, l);
    if (ok && old) old->retired = true;
    r->out = cJSON_CreateObject();
    cJSON_AddItemToObject(r->out, "loaded", version_json(s, base, l));
    if (ok && old) cJSON_AddItemToObject(r->out, "replaced", version_json(s, base, old));
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        srv_lora_free(s, l);   /* never seen by the scheduler */
        return refuse(r, 500, "out of memory");
    }
    cJSON_AddNumberToObject(r->out, "load_seconds", hearth_time_s() - t0);
    return r->status = old ? 200 : 201;
}

/* a new base version takes the adapters of the old one along (s->admin_mu held) */
static void carry_adapters(hearth_server *s, srv_model *old, srv_model *sm, srv_lora **made, int *n_made, cJSON *dropped) {
    pthread_mutex_lock(&s->mu);
    int n = 0;
    srv_lora *todo[MAX_VERSIONS];
    for (int i = 0; i < s->n_loras && n < MAX_VERSIONS; i++)
        if (s->loras[i]->base == old && !s->loras[i]->retired) todo[n++] = s->loras[i];
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) {
        const srv_lora *o = todo[i];
        char why[600] = "";
        srv_lora *l = NULL;
        if (o->base_digest[0] && strcmp(o->base_digest, sm->digest))
            snprintf(why, sizeof why, "made for the base %s", o->base_digest);
        else if (srv_lora_load(s, o->name, o->path, o->scale, o->digest, sm, &l) != HEARTH_OK)
            snprintf(why, sizeof why, "%s", hearth_last_error());
        if (l) {
            snprintf(l->base_digest, sizeof l->base_digest, "%s", o->base_digest);
            snprintf(l->ref, sizeof l->ref, "%s", o->ref);
            made[(*n_made)++] = l;
        } else {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "name", o->name);
            cJSON_AddStringToObject(d, "reason", why);
            cJSON_AddItemToArray(dropped, d);
        }
    }
}

static int load_model(hearth_server *s, const hearth_server_load_params *p, admin_result *r) {
    pthread_mutex_lock(&s->mu);
    srv_model *old = srv_find_model(s, p->name);
    int n_versions = s->n_models + s->n_loras;
    pthread_mutex_unlock(&s->mu);
    if (p->replace && !old) return refuse(r, 404, "no model '%s' is loaded (load it first)", p->name);
    if (!p->replace && old) return refuse(r, 409, "a model '%s' is already loaded (swap replaces it)", p->name);
    if (n_versions >= MAX_VERSIONS)
        return refuse(r, 503, "%d versions are loaded or draining; unload some first", n_versions);
    double t0 = hearth_time_s();
    srv_model *sm;
    if (srv_model_load(s, p->name, p->path, p->digest, &sm) != HEARTH_OK)
        return refuse(r, 400, "cannot load model '%s': %s", p->name, hearth_last_error());
    if (p->ref) snprintf(sm->ref, sizeof sm->ref, "%s", p->ref);
    srv_lora *made[MAX_VERSIONS];
    int n_made = 0;
    cJSON *dropped = cJSON_CreateArray();
    if (old) carry_adapters(s, old, sm, made, &n_made, dropped);
    pthread_mutex_lock(&s->mu);
    bool ok = srv_table_add_model(s, sm);
    for (int i = 0; ok && i < n_made; i++)
        if (!(ok = srv_table_add_lora(s, made[i]))) {
            s->n_models--;   /* undo: nothing of it was seen yet */
            for (int k = 0; k < i; k++) s->n_loras--;
        }
    if (ok && old) {
        /* the new version takes the old one's place (the first live model is the default) */
        for (int i = 0; i < s->n_models; i++)
            if (s->models[i] == old) {
                s->models[i] = sm;
                s->models[s->n_models - 1] = old;
                break;
            }
        old->retired = true;
        for (int i = 0; i < s->n_loras; i++)
            if (s->loras[i]->base == old) s->loras[i]->retired = true;
    }
    if (ok) {
        r->out = cJSON_CreateObject();
        cJSON_AddItemToObject(r->out, "loaded", version_json(s, sm, NULL));
        if (old) cJSON_AddItemToObject(r->out, "replaced", version_json(s, old, NULL));
        cJSON *ads = cJSON_AddArrayToObject(r->out, "adapters");
        for (int i = 0; i < n_made; i++) cJSON_AddItemToArray(ads, version_json(s, sm, made[i]));
        cJSON_AddItemToObject(r->out, "adapters_dropped", dropped);
        dropped = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(dropped);
    if (!ok) {
        for (int i = 0; i < n_made; i++) srv_lora_free(s, made[i]);
        srv_model_free(s, sm);
        return refuse(r, 500, "out of memory");
    }
    cJSON_AddNumberToObject(r->out, "load_seconds", hearth_time_s() - t0);
    return r->status = old ? 200 : 201;
}

/* one load or swap (s->admin_mu held) */
static int do_load(hearth_server *s, const hearth_server_load_params *p, admin_result *r) {
    if (!p->name || !*p->name || !p->path || !*p->path)
        return refuse(r, 400, "a name and a path (or, with --registry, a ref) are required");
    if (!(p->scale > 0 && p->scale <= 100)) return refuse(r, 400, "scale %g (0 < scale <= 100)", p->scale);
    if (p->digest && (strncmp(p->digest, "sha256:", 7) || strlen(p->digest) != 71))
        return refuse(r, 400, "digest '%.100s' is not sha256:<64 hex digits>", p->digest);
    return p->base ? load_adapter(s, p, r) : load_model(s, p, r);
}

/* ==== the registry (serve --registry) ================================================ */
/* the live base whose digest is digest (s->mu held), NULL: none */
static srv_model *base_by_digest(hearth_server *s, const char *digest) {
    for (int i = 0; i < s->n_models; i++)
        if (!s->models[i]->retired && !strcmp(s->models[i]->digest, digest)) return s->models[i];
    return NULL;
}

/* the loaded bases and their digests, for a message */
static void loaded_bases(hearth_server *s, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_models && n < cap; i++)
        if (!s->models[i]->retired)
            n += (size_t)snprintf(out + n, cap - n, "%s'%s' %s", n ? ", " : "", s->models[i]->name, s->models[i]->digest);
    pthread_mutex_unlock(&s->mu);
    if (!out[0]) snprintf(out, cap, "none");
}

/* fills p's path, digest, base_digest (and name, and an adapter's base from
 * its lineage, when not given) from the registry's version p->ref; e keeps
 * the strings (s->admin_mu held) */
static int resolve_ref(hearth_server *s, hearth_server_load_params *p, hearth_registry_entry *e, admin_result *r) {
    if (!s->reg) return refuse(r, 400, "'ref' needs hearth serve --registry DIR");
    hearth_status st = hearth_registry_resolve(s->reg, p->ref, e);
    if (st) return refuse(r, st == HEARTH_ERR_NOT_FOUND ? 404 : 400, "%s", hearth_last_error());
    if (e->kind != HEARTH_ARTIFACT_MODEL && e->kind != HEARTH_ARTIFACT_ADAPTER)
        return refuse(r, 400, "'%s' is a %s; hearth serve loads models and adapters", p->ref,
                      hearth_artifact_kind_str(e->kind));
    p->path = e->path;
    p->digest = e->digest;
    if (!p->name) p->name = p->ref;
    if (e->kind == HEARTH_ARTIFACT_MODEL) {
        if (p->base) return refuse(r, 400, "'%s' is a model, not an adapter: it takes no 'base'", p->ref);
        return 0;
    }
    if (e->base_digest && *e->base_digest) p->base_digest = e->base_digest;
    if (p->base) return 0;
    if (!p->base_digest) return refuse(r, 400, "adapter '%s' records no base model: name one with 'base'", p->ref);
    pthread_mutex_lock(&s->mu);
    srv_model *b = base_by_digest(s, p->base_digest);
    pthread_mutex_unlock(&s->mu);
    if (b) {
        p->base = b->name;   /* live while admin_mu is held */
        return 0;
    }
    char have[400];
    loaded_bases(s, have, sizeof have);
    return refuse(r, 409, "adapter '%s' was made for the base %s, which is not loaded (loaded: %s)", p->ref,
                  p->base_digest, have);
}

static int apply_load(hearth_server *s, const hearth_server_load_params *pp, admin_result *r) {
    hearth_server_load_params p = *pp;
    hearth_registry_entry e;
    memset(&e, 0, sizeof e);
    pthread_mutex_lock(&s->admin_mu);
    int st = p.ref && !p.path ? resolve_ref(s, &p, &e, r) : 0;
    if (!st) st = do_load(s, &p, r);
    pthread_mutex_unlock(&s->admin_mu);
    hearth_registry_entry_clear(&e);
    return st;
}

/* Moves alias_ref ("NAME@ALIAS") to version tag of NAME (rollback: back to
 * where it pointed before its latest move), then swaps every served version
 * named alias_ref to it. Checked first: a served adapter whose base is not
 * the target's recorded base refuses the move (409), the alias unchanged. */
static int move_alias(hearth_server *s, const char *alias_ref, const char *tag, bool rollback, admin_result *r) {
    if (!s->reg) return refuse(r, 400, "/admin/aliases needs hearth serve --registry DIR");
    char name[HEARTH_REGISTRY_MAX_NAME + 1], atag[HEARTH_REGISTRY_MAX_TAG + 1], target[HEARTH_REGISTRY_MAX_TAG + 1];
    bool is_alias = false;
    if (!alias_ref || hearth_registry_parse_ref(alias_ref, name, atag, &is_alias) != HEARTH_OK || !is_alias)
        return refuse(r, 400, "'alias' must be NAME@ALIAS (%s)", alias_ref ? hearth_last_error() : "missing");
    if (!rollback && (!tag || hearth_registry_check_tag(tag) != HEARTH_OK))
        return refuse(r, 400, "'tag' must be the version to point the alias at (%s)", tag ? hearth_last_error() : "missing");
    pthread_mutex_lock(&s->admin_mu);
    int st = 0;
    hearth_registry_entry e;
    memset(&e, 0, sizeof e);
    if (rollback) {   /* the version before the latest move */
        hearth_registry_alias_event *ev = NULL;
        size_t n = 0;
        if (hearth_registry_alias_history(s->reg, alias_ref, &ev, &n) != HEARTH_OK) st = refuse(r, 404, "%s", hearth_last_error());
        else if (n < 2 || !ev[n - 2].tag[0]) st = refuse(r, 404, "'%s' has no earlier version to roll back to", alias_ref);
        else snprintf(target, sizeof target, "%s", ev[n - 2].tag);
        free(ev);
    } else {
        snprintf(target, sizeof target, "%s", tag);
    }
    char ref[HEARTH_REGISTRY_MAX_NAME + HEARTH_REGISTRY_MAX_TAG + 2];
    snprintf(ref, sizeof ref, "%s:%s", name, target);
    if (!st && hearth_registry_resolve(s->reg, ref, &e) != HEARTH_OK) st = refuse(r, 404, "%s", hearth_last_error());
    if (!st && e.kind != HEARTH_ARTIFACT_MODEL && e.kind != HEARTH_ARTIFACT_ADAPTER)
        st = refuse(r, 400, "'%s' is a %s; hearth serve loads models and adapters", ref, hearth_artifact_kind_str(e.kind));
    /* what is served under the alias now, and whether the target fits it */
    srv_model *bases[MAX_VERSIONS];
    int n_served = 0;
    bool adapter = e.kind == HEARTH_ARTIFACT_ADAPTER;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; !st && i < s->n_models; i++)
        if (!s->models[i]->retired && !strcmp(s->models[i]->name, alias_ref)) {
            if (adapter) st = refuse(r, 409, "'%s' serves a model; '%s' is an adapter", alias_ref, ref);
            else bases[n_served++] = NULL;
        }
    for (int i = 0; !st && i < s->n_loras; i++) {
        const srv_lora *l = s->loras[i];
        if (l->retired || strcmp(l->name, alias_ref)) continue;
        if (!adapter) st = refuse(r, 409, "'%s' serves an adapter; '%s' is a model", alias_ref, ref);
        else if (e.base_digest && *e.base_digest && strcmp(e.base_digest, l->base->digest))
            st = refuse(r, 409, "'%s' was made for the base %s, but '%s' is served on '%s' (%s); the alias is unchanged",
                        ref, e.base_digest, alias_ref, l->base->name, l->base->digest);
        else bases[n_served++] = l->base;
    }
    pthread_mutex_unlock(&s->mu);
    char moved[HEARTH_REGISTRY_MAX_TAG + 1] = "";
    if (!st && (rollback ? hearth_registry_alias_rollback(s->reg, alias_ref, moved)
                         : hearth_registry_alias_set(s->reg, alias_ref, target, "hearth serve: POST /admin/aliases")))
        st = refuse(r, 400, "%s", hearth_last_error());
    cJSON *swapped = cJSON_CreateArray();
    for (int i = 0; !st && i < n_served; i++) {
        hearth_server_load_params p = hearth_server_load_default_params();
        p.name = alias_ref, p.path = e.path, p.digest = e.digest, p.ref = alias_ref, p.replace = true;
        p.base = bases[i] ? bases[i]->name : NULL;
        p.base_digest = adapter && e.base_digest && *e.base_digest ? e.base_digest : NULL;
        admin_result one = {0};
        if (do_load(s, &p, &one) >= 300) st = refuse(r, one.status, "the alias moved to %s, but: %s", target, one.message);
        if (one.out) cJSON_AddItemToArray(swapped, one.out);
    }
    if (!st) {
        r->out = cJSON_CreateObject();
        cJSON_AddStringToObject(r->out, "alias", alias_ref);
        cJSON_AddStringToObject(r->out, "tag", target);
        cJSON_AddStringToObject(r->out, "digest", e.digest);
        cJSON_AddItemToObject(r->out, "swapped", swapped);
        r->status = 200;
    } else {
        cJSON_Delete(swapped);
    }
    pthread_mutex_unlock(&s->admin_mu);
    hearth_registry_entry_clear(&e);
    return st ? st : 200;
}

/* serve --registry at start: every version an alias points at, as
 * "NAME@ALIAS" -- models first, then adapters on every served base whose
 * digest their lineage records */
hearth_status srv_registry_serve_aliases(hearth_server *s) {
    hearth_registry_entry *es = NULL;
    size_t n = 0;
    hearth_status st = hearth_registry_list(s->reg, &es, &n);
    for (int pass = 0; !st && pass < 2; pass++)
        for (size_t i = 0; !st && i < n; i++) {
            const hearth_registry_entry *e = &es[i];
            if (e->kind != (pass == 0 ? HEARTH_ARTIFACT_MODEL : HEARTH_ARTIFACT_ADAPTER)) continue;
            for (int a = 0; !st && a < e->n_aliases; a++) {
                char ref[HEARTH_REGISTRY_MAX_NAME + HEARTH_REGISTRY_MAX_TAG + 2];
                snprintf(ref, sizeof ref, "%s@%s", e->name, e->aliases[a]);
                hearth_server_load_params p = hearth_server_load_default_params();
                p.name = ref, p.path = e->path, p.digest = e->digest, p.ref = ref;
                srv_model *bases[MAX_VERSIONS];
                int nb = 0;
                pthread_mutex_lock(&s->mu);
                if (pass == 0 && !srv_find_model(s, ref)) bases[nb++] = NULL;
                for (int m = 0; pass == 1 && m < s->n_models && nb < MAX_VERSIONS; m++)
                    if (!s->models[m]->retired && !s->models[m]->embed_only && e->base_digest &&
                        !strcmp(e->base_digest, s->models[m]->digest))
                        bases[nb++] = s->models[m];
                pthread_mutex_unlock(&s->mu);
                if (pass == 1 && nb == 0)
                    hearth_log(HEARTH_LOG_WARN, "serve: %s (%s) is not served: its base %s is not", ref, e->digest,
                               e->base_digest && *e->base_digest ? e->base_digest : "(not recorded)");
                for (int b = 0; !st && b < nb; b++) {
                    p.base = bases[b] ? bases[b]->name : NULL;
                    p.base_digest = bases[b] ? e->base_digest : NULL;
                    admin_result r = {0};
                    pthread_mutex_lock(&s->admin_mu);
                    if (do_load(s, &p, &r) >= 300) st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: %s: %s", ref, r.message);
                    pthread_mutex_unlock(&s->admin_mu);
                    cJSON_Delete(r.out);
                }
            }
        }
    hearth_registry_entries_free(es, n);
    return st;
}

static int apply_unload(hearth_server *s, const char *name, const char *base, admin_result *r) {
    if (!name || !*name) return refuse(r, 400, "a name is required");
    pthread_mutex_lock(&s->admin_mu);
    pthread_mutex_lock(&s->mu);
    srv_model *m = srv_find_model(s, base ? base : name);
    srv_lora *l = base && m ? srv_find_lora(s, name, m) : NULL;
    if (!m || (base && !l)) {
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_unlock(&s->admin_mu);
        return base ? refuse(r, 404, "no adapter '%s' is loaded on '%s'", name, base)
                    : refuse(r, 404, "no model '%s' is loaded", name);
    }
    r->out = cJSON_CreateObject();
    cJSON *gone = cJSON_AddArrayToObject(r->out, "unloaded");
    for (int i = 0; i < s->n_loras; i++)
        if (!s->loras[i]->retired && (s->loras[i] == l || (!base && s->loras[i]->base == m))) {
            s->loras[i]->retired = true;
            cJSON_AddItemToArray(gone, version_json(s, m, s->loras[i]));
        }
    if (!base) {
        m->retired = true;
        cJSON_AddItemToArray(gone, version_json(s, m, NULL));
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->admin_mu);
    pthread_cond_signal(&s->cv);   /* the scheduler frees it if nothing uses it */
    return r->status = 200;
}

/* ==== the library calls ============================================================== */
hearth_server_load_params hearth_server_load_default_params(void) {
    hearth_server_load_params p = {.scale = 1.0f};
    return p;
}

static hearth_status as_status(const admin_result *r) {
    if (r->status < 300) return HEARTH_OK;
    return hearth_set_error(r->status == 404 ? HEARTH_ERR_NOT_FOUND : r->status == 500 ? HEARTH_ERR_NOMEM
                                                                                          : HEARTH_ERR_INVALID_ARG,
                            "serve: %s", r->message);
}

hearth_status hearth_server_load(hearth_server *s, const hearth_server_load_params *p) {
    if (!s || !p) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: load: no server or parameters");
    admin_result r = {0};
    apply_load(s, p, &r);
    cJSON_Delete(r.out);
    return as_status(&r);
}

hearth_status hearth_server_unload(hearth_server *s, const char *name, const char *base) {
    if (!s) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: unload: no server");
    admin_result r = {0};
    apply_unload(s, name, base, &r);
    cJSON_Delete(r.out);
    return as_status(&r);
}

/* ==== HTTP ============================================================================ */
bool admin_route(const char *url) {
    return !strcmp(url, "/admin/models") || !strncmp(url, "/admin/models/", 14) || !strcmp(url, "/admin/aliases");
}

/* the bearer token, compared in constant time (through digests of both) */
static bool authorized(const hearth_server *s, const char *auth) {
    if (!auth || strncmp(auth, "Bearer ", 7)) return false;
    unsigned char a[crypto_hash_sha256_BYTES], b[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(a, (const unsigned char *)auth + 7, strlen(auth + 7));
    crypto_hash_sha256(b, (const unsigned char *)s->p.admin_token, strlen(s->p.admin_token));
    return crypto_verify_32(a, b) == 0;
}

static char *error_json(int status, const char *msg) {
    api_error e = {.status = status, .type = status == 401 ? "authentication_error" : status == 404 ? "not_found_error"
                                             : status == 409 ? "conflict_error" : status >= 500 ? "server_error"
                                                                                 : "invalid_request_error"};
    snprintf(e.message, sizeof e.message, "%s", msg);
    return api_error_body(&e);
}

/* a string field: absent or null -> NULL; another type -> false */
static bool str_field(const cJSON *o, const char *k, const char **v, admin_result *r) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    *v = NULL;
    if (!x || cJSON_IsNull(x)) return true;
    if (!cJSON_IsString(x)) return refuse(r, 400, "'%s' must be a string", k), false;
    *v = x->valuestring;
    return true;
}

/* the JSON of a result: its fields, or the error; returns the HTTP status */
static int answer(admin_result *r, char **out) {
    if (r->status >= 300) {
        cJSON_Delete(r->out);
        *out = error_json(r->status, r->message);
        return r->status;
    }
    *out = cJSON_PrintUnformatted(r->out);
    cJSON_Delete(r->out);
    return r->status;
}

int admin_handle(hearth_server *s, const char *method, const char *url, const char *auth, const char *body, size_t len,
                 char **out) {
    *out = NULL;
    if (!s->p.admin_token) {
        *out = error_json(404, "the admin API is off (start hearth serve with --admin-token-file)");
        return 404;
    }
    if (!authorized(s, auth)) {
        *out = error_json(401, "the admin API needs 'Authorization: Bearer <admin token>'");
        return 401;
    }
    admin_result r = {0};
    if (!strcmp(url, "/admin/models")) {
        if (strcmp(method, "GET")) {
            *out = error_json(405, "/admin/models takes GET");
            return 405;
        }
        cJSON *root = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(root, "data");
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->n_models; i++) cJSON_AddItemToArray(data, version_json(s, s->models[i], NULL));
        for (int i = 0; i < s->n_loras; i++)
            cJSON_AddItemToArray(data, version_json(s, s->loras[i]->base, s->loras[i]));
        pthread_mutex_unlock(&s->mu);
        *out = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        return 200;
    }
    if (!strcmp(url, "/admin/aliases")) {
        if (strcmp(method, "POST")) {
            *out = error_json(405, "/admin/aliases takes POST {\"alias\": \"NAME@ALIAS\", \"tag\": \"TAG\"}");
            return 405;
        }
        cJSON *req = cJSON_ParseWithLength(body ? body : "", len);
        const char *alias = NULL, *tag = NULL;
        const cJSON *rb = cJSON_GetObjectItemCaseSensitive(req, "rollback");
        if (!cJSON_IsObject(req))
            refuse(&r, 400, "the body must be a JSON object: {\"alias\": \"NAME@ALIAS\", \"tag\": \"TAG\"} or "
                            "{\"alias\": ..., \"rollback\": true}");
        else if (rb && !cJSON_IsBool(rb)) refuse(&r, 400, "'rollback' must be a boolean");
        else if (str_field(req, "alias", &alias, &r) && str_field(req, "tag", &tag, &r))
            move_alias(s, alias, tag, cJSON_IsTrue(rb), &r);
        cJSON_Delete(req);
        return answer(&r, out);
    }
    const char *op = url + 14;
    bool load = !strcmp(op, "load"), swap = !strcmp(op, "swap"), unload = !strcmp(op, "unload");
    if (!load && !swap && !unload) {
        char msg[300];
        snprintf(msg, sizeof msg, "no such admin endpoint: %.200s (load, swap, unload)", url);
        *out = error_json(404, msg);
        return 404;
    }
    if (strcmp(method, "POST")) {
        *out = error_json(405, "the admin model calls take POST with a JSON body");
        return 405;
    }
    cJSON *req = cJSON_ParseWithLength(body ? body : "", len);
    if (!cJSON_IsObject(req)) {
        refuse(&r, 400, "the body must be a JSON object, e.g. {\"name\": \"m\", \"path\": \"m.gguf\"}");
    } else if (unload) {
        const char *name, *base;
        if (str_field(req, "name", &name, &r) && str_field(req, "base", &base, &r)) apply_unload(s, name, base, &r);
    } else {
        hearth_server_load_params p = hearth_server_load_default_params();
        p.replace = swap;
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(req, "scale");
        if (sc && !cJSON_IsNumber(sc)) refuse(&r, 400, "'scale' must be a number");
        else if (sc) p.scale = (float)sc->valuedouble;
        if (!r.status && str_field(req, "name", &p.name, &r) && str_field(req, "path", &p.path, &r) &&
            str_field(req, "base", &p.base, &r) && str_field(req, "digest", &p.digest, &r) &&
            str_field(req, "base_digest", &p.base_digest, &r) && str_field(req, "ref", &p.ref, &r))
            apply_load(s, &p, &r);
    }
    cJSON_Delete(req);
    return answer(&r, out);
}
