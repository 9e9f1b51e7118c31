/*
 * cmd_models.c — `hearth models ...`: the model repository (hearth/registry.h)
 * from the command line: pull, add, list, show, tag, alias, rm, gc, verify,
 * path, export, import. Parsing and printing only.
 */
#include "cli.h"
#include "hearth/core.h"
#include "hearth/registry.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const cmd_models_summary = "model repository: pull, add, list, alias, rm, gc, export, import (versions, lineage)";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth models COMMAND [options]   (every command takes --store DIR;\n"
            "       default $HEARTH_HOME/models, $HEARTH_HOME defaulting to ~/.hearth)\n\n"
            "  pull URL --name NAME:TAG [--sha256 HEX] [--kind K] [lineage]\n"
            "                         download (http, https; hf://OWNER/REPO[@REV]/FILE and\n"
            "                         huggingface.co/.../blob/... pages too), resumable, digest\n"
            "                         checked before anything is registered\n"
            "  add FILE --name NAME:TAG [--sha256 HEX] [--kind K] [lineage]\n"
            "  list [--json]          every version with its aliases\n"
            "  show REF [--json]      one version: digest, size, lineage, aliases\n"
            "  path REF               the blob's path (for other tools)\n"
            "  verify REF             re-hash the blob\n"
            "  tag SRC NAME:TAG       a new version with the same contents\n"
            "  alias NAME@ALIAS TAG [--note TEXT]  point the alias at NAME:TAG (moves it)\n"
            "  alias NAME@ALIAS --rollback | --remove | --history [--json]\n"
            "  rm NAME:TAG [--force]  refused while an alias or a dependent adapter uses it\n"
            "  gc                     delete blobs no version refers to\n"
            "  export REF... -o FILE  one bundle file: manifests, blobs, aliases, lineage\n"
            "  import FILE            every digest checked before anything is registered\n\n"
            "REF: NAME:TAG, NAME@ALIAS or sha256:HEX. NAME: lowercase a-z 0-9 . _ - and one\n"
            "optional namespace (team/name); TAG and ALIAS: A-Z a-z 0-9 . _ -\n"
            "kinds: model (default), adapter, mmproj, classifier, prompts, other\n"
            "lineage: --base REF|FILE|DIGEST (an adapter's base model; sets --kind adapter),\n"
            "         --data FILE|DIGEST (training data), --parent REF|FILE|DIGEST (repeatable:\n"
            "         merged or quantized from), --command TEXT (what made it)\n"
            "Every -m and --lora of other commands also accepts NAME:TAG and NAME@ALIAS.\n");
}

/* ==== shared options ======================================================== */

typedef struct opts {
    const char *store, *name, *sha, *kind, *base, *data, *command, *out, *note;
    const char *parents[HEARTH_REGISTRY_MAX_PARENTS];
    int n_parents;
    bool json, force, rollback, remove, history;
    cli_args a;
} opts;

static int parse(opts *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    o->a = cli_args_init("models", argc, argv);
    cli_args *a = &o->a;
    a->i = 1;   /* argv[1] is the subcommand */
    while (cli_next(a)) {
        const char *v;
        if (cli_opt(a, NULL, "--store", &o->store) || cli_opt(a, NULL, "--name", &o->name) ||
            cli_opt(a, NULL, "--sha256", &o->sha) || cli_opt(a, NULL, "--kind", &o->kind) ||
            cli_opt(a, NULL, "--base", &o->base) || cli_opt(a, NULL, "--data", &o->data) ||
            cli_opt(a, NULL, "--command", &o->command) || cli_opt(a, "-o", "--output", &o->out) ||
            cli_opt(a, NULL, "--note", &o->note))
            continue;
        if (cli_opt(a, NULL, "--parent", &v)) {
            if (o->n_parents == HEARTH_REGISTRY_MAX_PARENTS)
                return cli_error("models", "at most %d --parent", HEARTH_REGISTRY_MAX_PARENTS), 2;
            o->parents[o->n_parents++] = v;
            continue;
        }
        if (cli_flag(a, NULL, "--json")) { o->json = true; continue; }
        if (cli_flag(a, "-f", "--force")) { o->force = true; continue; }
        if (cli_flag(a, NULL, "--rollback")) { o->rollback = true; continue; }
        if (cli_flag(a, NULL, "--remove")) { o->remove = true; continue; }
        if (cli_flag(a, NULL, "--history")) { o->history = true; continue; }
        if (cli_help(a)) { usage(stdout); return -1; }
        return cli_unknown(a);
    }
    return a->failed ? 2 : 0;
}

static int want_pos(opts *o, const char *sub, int n, const char *what) {
    if (o->a.n_pos == n) return 0;
    return cli_error("models", "%s expects %s (got %d argument%s; see hearth models --help)", sub, what, o->a.n_pos,
                     o->a.n_pos == 1 ? "" : "s"), 2;
}

/* A digest from "sha256:HEX" / HEX, a reference in the store, or a file (hashed). */
static int digest_of(hearth_registry *r, const char *spec, char out[HEARTH_DIGEST_LEN + 1]) {
    hearth_registry_entry e;
    size_t n = strlen(spec);
    bool hex = n == 64 || (n == 71 && strncmp(spec, "sha256:", 7) == 0);
    for (size_t i = n - (n == 71 ? 64 : n); hex && i < n; i++)
        hex = (spec[i] >= '0' && spec[i] <= '9') || (spec[i] >= 'a' && spec[i] <= 'f') || (spec[i] >= 'A' && spec[i] <= 'F');
    if (hex) {
        snprintf(out, HEARTH_DIGEST_LEN + 1, "sha256:%s", spec + (n == 71 ? 7 : 0));
        for (char *p = out + 7; *p; p++) if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
        return 0;
    }
    if (access(spec, F_OK) == 0) return hearth_sha256_file(spec, out) ? cli_lib_error("models") : 0;
    if (hearth_registry_resolve(r, spec, &e)) return cli_lib_error("models");
    snprintf(out, HEARTH_DIGEST_LEN + 1, "%s", e.digest);
    hearth_registry_entry_clear(&e);
    return 0;
}

/* add / pull parameters from the options; digests live in bufs */
typedef struct lineage_bufs {
    char base[HEARTH_DIGEST_LEN + 1], data[HEARTH_DIGEST_LEN + 1];
    char parents[HEARTH_REGISTRY_MAX_PARENTS][HEARTH_DIGEST_LEN + 1];
    const char *pp[HEARTH_REGISTRY_MAX_PARENTS];
} lineage_bufs;

static int add_params(opts *o, hearth_registry *r, hearth_registry_add_params *p, lineage_bufs *b) {
    *p = hearth_registry_default_add_params();
    if (o->base) p->kind = HEARTH_ARTIFACT_ADAPTER;
    if (o->kind && hearth_artifact_kind_parse(o->kind, &p->kind)) return cli_lib_error("models"), 2;
    p->expected_digest = o->sha;
    p->command = o->command;
    if (o->base) {
        if (digest_of(r, o->base, b->base)) return 1;
        p->base_digest = b->base;
    }
    if (o->data) {
        if (digest_of(r, o->data, b->data)) return 1;
        p->data_digest = b->data;
    }
    for (int i = 0; i < o->n_parents; i++) {
        if (digest_of(r, o->parents[i], b->parents[i])) return 1;
        b->pp[i] = b->parents[i];
    }
    p->parents = b->pp;
    p->n_parents = o->n_parents;
    return 0;
}

/* ==== printing ============================================================= */

static void human_size(int64_t n, char *buf, size_t cap) {
    if (n >= 1 << 30) snprintf(buf, cap, "%.1f GiB", (double)n / (1 << 30));
    else if (n >= 1 << 20) snprintf(buf, cap, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 1 << 10) snprintf(buf, cap, "%.1f KiB", (double)n / (1 << 10));
    else snprintf(buf, cap, "%lld B", (long long)n);
}

static cJSON *entry_json(const hearth_registry_entry *e) {
    cJSON *o = cJSON_CreateObject(), *lin = cJSON_CreateObject(), *par = cJSON_CreateArray(), *al = cJSON_CreateArray();
    char ref[HEARTH_REGISTRY_MAX_NAME + HEARTH_REGISTRY_MAX_TAG + 2];
    snprintf(ref, sizeof ref, "%s:%s", e->name, e->tag);
    cJSON_AddStringToObject(o, "ref", ref);
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "tag", e->tag);
    cJSON_AddStringToObject(o, "kind", hearth_artifact_kind_str(e->kind));
    cJSON_AddStringToObject(o, "digest", e->digest);
    cJSON_AddStringToObject(o, "manifest", e->manifest_digest);
    cJSON_AddNumberToObject(o, "size", (double)e->size);
    cJSON_AddNumberToObject(o, "created", (double)e->created);
    cJSON_AddStringToObject(o, "path", e->path ? e->path : "");
    cJSON_AddStringToObject(o, "source", e->source ? e->source : "");
    for (int i = 0; i < e->n_aliases; i++) cJSON_AddItemToArray(al, cJSON_CreateString(e->aliases[i]));
    cJSON_AddItemToObject(o, "aliases", al);
    cJSON_AddStringToObject(lin, "base", e->base_digest ? e->base_digest : "");
    cJSON_AddStringToObject(lin, "data", e->data_digest ? e->data_digest : "");
    cJSON_AddStringToObject(lin, "command", e->command ? e->command : "");
    for (int i = 0; i < e->n_parents; i++) cJSON_AddItemToArray(par, cJSON_CreateString(e->parents[i]));
    cJSON_AddItemToObject(lin, "parents", par);
    cJSON_AddItemToObject(o, "lineage", lin);
    return o;
}

static void print_json(cJSON *o) {
    char *s = cJSON_Print(o);
    if (s) puts(s);
    free(s);
    cJSON_Delete(o);
}

static void print_entry(const hearth_registry_entry *e) {
    char sz[32], when[32];
    human_size(e->size, sz, sizeof sz);
    time_t t = (time_t)e->created;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
    printf("%s:%s\n  kind     %s\n  digest   %s\n  size     %s (%lld bytes)\n  created  %s\n  path     %s\n",
           e->name, e->tag, hearth_artifact_kind_str(e->kind), e->digest, sz, (long long)e->size, when,
           e->path ? e->path : "");
    if (e->source && *e->source) printf("  source   %s\n", e->source);
    for (int i = 0; i < e->n_aliases; i++) printf("  alias    %s@%s\n", e->name, e->aliases[i]);
    if (e->base_digest && *e->base_digest) printf("  base     %s\n", e->base_digest);
    if (e->data_digest && *e->data_digest) printf("  data     %s\n", e->data_digest);
    for (int i = 0; i < e->n_parents; i++) printf("  parent   %s\n", e->parents[i]);
    if (e->command && *e->command) printf("  command  %s\n", e->command);
}

/* ==== pull progress ======================================================== */

typedef struct progress {
    double t0, last;
    int64_t start;   /* bytes already there when this run began */
    int last_pct;
    bool tty;
} progress;

static bool on_progress(void *user, int64_t done, int64_t total) {
    progress *p = user;
    double now = hearth_time_s();
    if (p->t0 == 0) { p->t0 = now; p->start = done; p->last_pct = -1; }
    double el = now - p->t0, rate = el > 0 ? (double)(done - p->start) / el : 0;
    char d[32], t[32], r[32];
    human_size(done, d, sizeof d);
    human_size(total > 0 ? total : 0, t, sizeof t);
    human_size((int64_t)rate, r, sizeof r);
    int pct = total > 0 ? (int)(100.0 * (double)done / (double)total) : -1;
    double left = total > 0 && rate > 0 ? (double)(total - done) / rate : -1;
    if (p->tty) {
        char bar[31];
        int fill = pct < 0 ? 0 : pct * 30 / 100;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        char eta[32] = "?";
        if (left >= 0) snprintf(eta, sizeof eta, "%.0f", left);
        if (total > 0)
            fprintf(stderr, "\rpull [%s] %3d%% %s / %s  %s/s  %s s left   ", bar, pct, d, t, r, eta);
        else
            fprintf(stderr, "\rpull %s  %s/s   ", d, r);
        if (total > 0 && done >= total) fputc('\n', stderr);
    } else if ((pct >= 0 && pct / 10 != p->last_pct / 10) || now - p->last >= 5) {
        /* plain lines: every 10 % or 5 s */
        if (total > 0) fprintf(stderr, "pull: %d%% %s of %s, %s/s, %.0f s left\n", pct, d, t, r, left < 0 ? 0 : left);
        else fprintf(stderr, "pull: %s, %s/s\n", d, r);
        p->last = now;
        p->last_pct = pct;
    }
    return true;
}

/* ==== subcommands ========================================================== */

static int do_add(opts *o, hearth_registry *r, bool pull) {
    const char *sub = pull ? "pull" : "add";
    int rc = want_pos(o, sub, 1, pull ? "a URL" : "a FILE");
    if (rc) return rc;
    if (!o->name) return cli_error("models", "%s needs --name NAME:TAG", sub), 2;
    hearth_registry_add_params ap;
    lineage_bufs lb;
    if ((rc = add_params(o, r, &ap, &lb))) return rc;
    hearth_registry_entry e;
    hearth_status s;
    int64_t resumed = 0;
    if (pull) {
        hearth_registry_pull_params pp = hearth_registry_default_pull_params();
        progress pr = {.tty = cli_stderr_tty()};
        pp.add = ap;
        pp.progress = on_progress;
        pp.progress_user = &pr;
        s = hearth_registry_pull(r, o->a.pos[0], o->name, &pp, &e, &resumed);
        if (pr.tty && pr.t0 > 0 && s) fputc('\n', stderr);
    } else {
        s = hearth_registry_add(r, o->a.pos[0], o->name, &ap, &e);
    }
    if (s) return cli_lib_error("models");
    if (resumed > 0) fprintf(stderr, "resumed a partial download at byte %lld\n", (long long)resumed);
    if (pull && !o->sha) fprintf(stderr, "note: no --sha256 given: recorded the digest as received (%s)\n", e.digest);
    if (o->json) print_json(entry_json(&e));
    else printf("added %s:%s %s\n", e.name, e.tag, e.digest);
    hearth_registry_entry_clear(&e);
    return 0;
}

static int do_list(opts *o, hearth_registry *r) {
    int rc = want_pos(o, "list", 0, "no arguments");
    if (rc) return rc;
    hearth_registry_entry *v;
    size_t n;
    if (hearth_registry_list(r, &v, &n)) return cli_lib_error("models");
    if (o->json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, entry_json(&v[i]));
        print_json(arr);
    } else {
        printf("%-40s %-10s %-19s %10s  %s\n", "NAME:TAG", "KIND", "DIGEST", "SIZE", "ALIASES");
        for (size_t i = 0; i < n; i++) {
            char ref[HEARTH_REGISTRY_MAX_NAME + HEARTH_REGISTRY_MAX_TAG + 2], sz[32], al[256] = "";
            snprintf(ref, sizeof ref, "%s:%s", v[i].name, v[i].tag);
            human_size(v[i].size, sz, sizeof sz);
            for (int k = 0; k < v[i].n_aliases; k++) {
                size_t l = strlen(al);
                snprintf(al + l, sizeof al - l, "%s@%s", l ? " " : "", v[i].aliases[k]);
            }
            printf("%-40s %-10s %.19s %10s  %s\n", ref, hearth_artifact_kind_str(v[i].kind), v[i].digest, sz, al);
        }
    }
    hearth_registry_entries_free(v, n);
    return 0;
}

static int do_show(opts *o, hearth_registry *r, const char *sub) {
    int rc = want_pos(o, sub, 1, "a NAME:TAG, NAME@ALIAS or sha256:HEX");
    if (rc) return rc;
    hearth_registry_entry e;
    if (hearth_registry_resolve(r, o->a.pos[0], &e)) return cli_lib_error("models");
    if (strcmp(sub, "path") == 0) puts(e.path);
    else if (o->json) print_json(entry_json(&e));
    else print_entry(&e);
    hearth_registry_entry_clear(&e);
    return 0;
}

static int do_alias(opts *o, hearth_registry *r) {
    int n_modes = o->rollback + o->remove + o->history;
    if (n_modes > 1) return cli_error("models", "alias: give one of --rollback, --remove, --history"), 2;
    int rc = want_pos(o, "alias", n_modes ? 1 : 2, n_modes ? "NAME@ALIAS" : "NAME@ALIAS TAG");
    if (rc) return rc;
    const char *ref = o->a.pos[0];
    if (o->history) {
        hearth_registry_alias_event *h;
        size_t n;
        if (hearth_registry_alias_history(r, ref, &h, &n)) return cli_lib_error("models");
        cJSON *arr = o->json ? cJSON_CreateArray() : NULL;
        for (size_t i = 0; i < n; i++) {
            char when[32];
            time_t t = (time_t)h[i].at;
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
            if (arr) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "tag", h[i].tag);
                cJSON_AddNumberToObject(e, "at", (double)h[i].at);
                cJSON_AddStringToObject(e, "note", h[i].note);
                cJSON_AddItemToArray(arr, e);
            } else {
                printf("%s  %-20s %s\n", when, h[i].tag[0] ? h[i].tag : "(removed)", h[i].note);
            }
        }
        if (arr) print_json(arr);
        free(h);
        return 0;
    }
    if (o->remove) {
        if (hearth_registry_alias_remove(r, ref)) return cli_lib_error("models");
        printf("removed %s\n", ref);
        return 0;
    }
    char tag[HEARTH_REGISTRY_MAX_TAG + 1];
    if (o->rollback) {
        if (hearth_registry_alias_rollback(r, ref, tag)) return cli_lib_error("models");
    } else {
        const char *t = o->a.pos[1], *colon = strchr(t, ':');
        if (colon) t = colon + 1;   /* NAME:TAG accepted too */
        if (hearth_registry_alias_set(r, ref, t, o->note)) return cli_lib_error("models");
        snprintf(tag, sizeof tag, "%s", t);
    }
    printf("%s -> %.*s:%s\n", ref, (int)strcspn(ref, "@"), ref, tag);
    return 0;
}

static int do_import_export(opts *o, hearth_registry *r, bool export) {
    if (export) {
        if (!o->out) return cli_error("models", "export needs -o BUNDLE"), 2;
        if (o->a.n_pos == 0) return cli_error("models", "export needs at least one NAME:TAG"), 2;
        if (hearth_registry_export(r, o->a.pos, (size_t)o->a.n_pos, o->out)) return cli_lib_error("models");
        printf("wrote %s (%d version%s)\n", o->out, o->a.n_pos, o->a.n_pos == 1 ? "" : "s");
        return 0;
    }
    int rc = want_pos(o, "import", 1, "a BUNDLE file");
    if (rc) return rc;
    size_t n = 0;
    if (hearth_registry_import(r, o->a.pos[0], &n)) return cli_lib_error("models");
    printf("imported %zu version%s from %s\n", n, n == 1 ? "" : "s", o->a.pos[0]);
    return 0;
}

int cmd_models(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    static const char *const subs[] = {"pull", "add", "list", "ls", "show", "path", "verify", "tag", "alias",
                                       "rm", "gc", "export", "import", NULL};
    bool known = false;
    for (int i = 0; subs[i]; i++) known |= strcmp(sub, subs[i]) == 0;
    if (!known) return cli_error("models", "unknown command '%s' (see hearth models --help)", sub), 2;
    opts o;
    int rc = parse(&o, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    hearth_registry *r;
    if (hearth_registry_open(o.store, &r)) return cli_lib_error("models");
    if (!strcmp(sub, "pull") || !strcmp(sub, "add")) rc = do_add(&o, r, !strcmp(sub, "pull"));
    else if (!strcmp(sub, "list") || !strcmp(sub, "ls")) rc = do_list(&o, r);
    else if (!strcmp(sub, "show") || !strcmp(sub, "path")) rc = do_show(&o, r, sub);
    else if (!strcmp(sub, "alias")) rc = do_alias(&o, r);
    else if (!strcmp(sub, "export") || !strcmp(sub, "import")) rc = do_import_export(&o, r, !strcmp(sub, "export"));
    else if (!strcmp(sub, "verify")) {
        if (!(rc = want_pos(&o, sub, 1, "a reference"))) {
            if (hearth_registry_verify(r, o.a.pos[0])) rc = cli_lib_error("models");
            else printf("ok %s\n", o.a.pos[0]);
        }
    } else if (!strcmp(sub, "tag")) {
        if (!(rc = want_pos(&o, sub, 2, "SRC NAME:TAG"))) {
            if (hearth_registry_tag(r, o.a.pos[0], o.a.pos[1])) rc = cli_lib_error("models");
            else printf("tagged %s as %s\n", o.a.pos[0], o.a.pos[1]);
        }
    } else if (!strcmp(sub, "rm")) {
        if (!(rc = want_pos(&o, sub, 1, "NAME:TAG"))) {
            if (hearth_registry_remove(r, o.a.pos[0], o.force)) rc = cli_lib_error("models");
            else printf("removed %s (run `hearth models gc` to free its blob)\n", o.a.pos[0]);
        }
    } else if (!strcmp(sub, "gc")) {
        int64_t files = 0, bytes = 0;
        if (!(rc = want_pos(&o, sub, 0, "no arguments"))) {
            if (hearth_registry_gc(r, &files, &bytes)) rc = cli_lib_error("models");
            else printf("removed %lld file%s, freed %lld bytes\n", (long long)files, files == 1 ? "" : "s", (long long)bytes);
        }
    }
    hearth_registry_free(r);
    return rc;
}
