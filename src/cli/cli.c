/* cli.c — see cli.h. */
#include "cli.h"

#include "hearth/registry.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"

/* ---- argument parsing --------------------------------------------------- */

cli_args cli_args_init(const char *cmd, int argc, char **argv) {
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = cmd;
    a.argc = argc;
    a.argv = argv;
    a.i = 0;   /* argv[0] is the command name */
    return a;
}

bool cli_next(cli_args *a) {
    for (;;) {
        a->i++;
        if (a->i >= a->argc) return false;
        const char *s = a->argv[a->i];
        if (strcmp(s, "--") == 0) {
            while (++a->i < a->argc)
                if (a->n_pos < 16) a->pos[a->n_pos++] = a->argv[a->i];
            return false;
        }
        if (s[0] != '-' || s[1] == 0) {
            if (a->n_pos < 16) a->pos[a->n_pos++] = s;
            else { cli_error(a->cmd, "too many arguments at '%s'", s); a->failed = true; }
            continue;
        }
        return true;
    }
}

static bool matches(const char *arg, const char *name, const char **eq) {
    if (!name) return false;
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return false;
    if (arg[n] == 0) { *eq = NULL; return true; }
    if (arg[n] == '=' && name[1] == '-') { *eq = arg + n + 1; return true; }
    return false;
}

bool cli_flag(cli_args *a, const char *short_, const char *long_) {
    const char *s = a->argv[a->i];
    return (short_ && strcmp(s, short_) == 0) || (long_ && strcmp(s, long_) == 0);
}

/* ---- model references in -m / --lora ------------------------------------
 * Every option that names a model file (-m, --model, --lora, --lora-init,
 * --mmproj) also takes NAME:TAG, NAME@ALIAS or sha256:HEX from the model
 * store ($HEARTH_HOME/models; $HEARTH_STORE overrides it): resolved here,
 * once, to the blob's path. A prefix "ID=" (serve --model ID=...) and a
 * suffix ":SCALE" (--lora) are kept around it. An existing file wins. */

static char **resolved_;   /* strings handed out below, freed at exit */
static size_t n_resolved_, cap_resolved_;

static void free_resolved(void) {
    for (size_t i = 0; i < n_resolved_; i++) free(resolved_[i]);
    free(resolved_);
}

static bool is_model_option(const char *opt) {
    static const char *const names[] = {"-m", "--model", "--lora", "--lora-init", "--mmproj", NULL};
    size_t n = strcspn(opt, "=");
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && strncmp(opt, names[i], n) == 0) return true;
    return false;
}

/* A ":SCALE" suffix (a number) at the end of v: its start, else NULL. */
static const char *scale_suffix(const char *v) {
    const char *c = strrchr(v, ':');
    double x;
    return c && cli_parse_float(c + 1, &x) ? c : NULL;
}

static const char *resolve_model_ref(cli_args *a, const char *opt, const char *v) {
    if (access(v, F_OK) == 0) return v;
    const char *body = v, *eq = strchr(v, '=');
    if (eq && !memchr(v, ':', (size_t)(eq - v)) && !memchr(v, '@', (size_t)(eq - v)) && !memchr(v, '/', (size_t)(eq - v)))
        body = eq + 1;
    const char *suffix = scale_suffix(body);
    char ref[512];
    snprintf(ref, sizeof ref, "%s", body);
    if (access(ref, F_OK) == 0) return v;
    if (!hearth_registry_looks_like_ref(ref)) {
        if (!suffix) return v;
        ref[suffix - body] = 0;   /* NAME:TAG:SCALE */
        if (access(ref, F_OK) == 0 || !hearth_registry_looks_like_ref(ref)) return v;
    } else {
        suffix = NULL;   /* the whole of it is the reference */
    }
    const char *store = getenv("HEARTH_STORE");
    char def[4096];
    if (!store || !*store) store = hearth_registry_default_dir(def, sizeof def) == HEARTH_OK ? def : NULL;
    if (!store || access(store, F_OK) != 0) {   /* a typo must not create a store */
        cli_error(a->cmd, "%s %s: no such file, and no model store at %s to look it up in", opt, v,
                  store ? store : "$HEARTH_HOME/models");
        a->failed = true;
        return v;
    }
    hearth_registry *r = NULL;
    hearth_registry_entry e;
    if (hearth_registry_open(store, &r) || hearth_registry_resolve(r, ref, &e)) {
        cli_error(a->cmd, "%s %s: not a file, and %s", opt, v, hearth_last_error());
        hearth_registry_free(r);
        a->failed = true;
        return v;
    }
    hearth_registry_free(r);
    size_t n = (size_t)(body - v) + strlen(e.path) + (suffix ? strlen(suffix) : 0) + 1;
    char *out = malloc(n);
    if (out && HEARTH_GROW(resolved_, cap_resolved_, n_resolved_ + 1)) {
        snprintf(out, n, "%.*s%s%s", (int)(body - v), v, e.path, suffix ? suffix : "");
        if (n_resolved_++ == 0) atexit(free_resolved);
        resolved_[n_resolved_ - 1] = out;
        hearth_registry_entry_clear(&e);
        return out;
    }
    free(out);
    hearth_registry_entry_clear(&e);
    cli_error(a->cmd, "out of memory");
    a->failed = true;
    return v;
}

bool cli_opt(cli_args *a, const char *short_, const char *long_, const char **val) {
    const char *s = a->argv[a->i], *eq = NULL;
    if (!matches(s, short_, &eq) && !matches(s, long_, &eq)) return false;
    if (eq) {
        *val = is_model_option(s) ? resolve_model_ref(a, s, eq) : eq;
        return true;
    }
    if (a->i + 1 >= a->argc) {
        cli_error(a->cmd, "option %s needs a value", s);
        a->failed = true;
        return true;
    }
    *val = a->argv[++a->i];
    if (is_model_option(s)) *val = resolve_model_ref(a, s, *val);
    return true;
}

bool cli_opt_int(cli_args *a, const char *short_, const char *long_, int64_t *val) {
    const char *v = NULL;
    const char *name = a->argv[a->i];
    if (!cli_opt(a, short_, long_, &v)) return false;
    if (v && !cli_parse_int(v, val)) {
        cli_error(a->cmd, "option %s expects an integer, got '%s'", name, v);
        a->failed = true;
    }
    return true;
}

bool cli_opt_float(cli_args *a, const char *short_, const char *long_, double *val) {
    const char *v = NULL;
    const char *name = a->argv[a->i];
    if (!cli_opt(a, short_, long_, &v)) return false;
    if (v && !cli_parse_float(v, val)) {
        cli_error(a->cmd, "option %s expects a number, got '%s'", name, v);
        a->failed = true;
    }
    return true;
}

bool cli_help(cli_args *a) { return cli_flag(a, "-h", "--help"); }

int cli_unknown(cli_args *a) {
    cli_error(a->cmd, "unknown option '%s' (see hearth %s --help)", a->argv[a->i], a->cmd);
    return 2;
}

bool cli_parse_int(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

bool cli_parse_float(const char *s, double *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* ---- errors and logging ------------------------------------------------- */

int cli_error(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "hearth %s: error: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_lib_error(const char *cmd) { return cli_error(cmd, "%s", hearth_last_error()); }

static void log_stderr(hearth_log_level level, const char *msg, void *user) {
    (void)user;
    static const char *names[] = {"debug", "info", "warning", "error"};
    bool verbose = getenv("HEARTH_VERBOSE") && strcmp(getenv("HEARTH_VERBOSE"), "0") != 0;
    if (level < HEARTH_LOG_WARN && !verbose) return;
    fprintf(stderr, "hearth: %s: %s\n", names[level], msg);
}

void cli_install_logger(void) { hearth_log_set(log_stderr, NULL); }

/* ---- default model ------------------------------------------------------ */

static bool exists(const char *p) { return access(p, R_OK) == 0; }

const char *cli_default_model(void) {
    static char path[PATH_MAX + 64];
    const char *env = getenv("HEARTH_MODEL");
    if (env && *env) return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        /* build tree: <repo>/build/hearth -> <repo>/models; installed: <prefix>/bin -> <prefix>/share/hearth */
        const char *rel[] = {"/../models/hearth-default.gguf", "/../share/hearth/hearth-default.gguf",
                             "/models/hearth-default.gguf"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(path, sizeof path, "%s%s", exe, rel[i]);
            if (exists(path)) return path;
        }
    }
#ifdef HEARTH_DATADIR
    /* the install prefix configured at build time (a copy of the binary elsewhere) */
    snprintf(path, sizeof path, "%s/hearth-default.gguf", HEARTH_DATADIR);
    if (exists(path)) return path;
#endif
    return NULL;
}

const char *cli_model_or_default(const char *cmd, const char *model) {
    if (model) return model;
    const char *d = cli_default_model();
    if (!d) {
        cli_error(cmd, "no model given: pass -m MODEL.gguf (or set HEARTH_MODEL); "
                       "no default model is installed");
        return NULL;
    }
    return d;
}

/* ---- output helpers ----------------------------------------------------- */

void cli_json_str(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20) fprintf(f, "\\u%04x", c);
            else fputc(c, f);
        }
    }
    fputc('"', f);
}

bool cli_stderr_tty(void) { return isatty(2); }
