/* models_register.c — see models_register.h. */
#include "models_register.h"

#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

int models_register_check(const char *cmd, const char *store, const char *ref, const char *out) {
    char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1];
    bool alias = false;
    if (hearth_registry_parse_ref(ref, name, tag, &alias)) return cli_error(cmd, "--register: %s", hearth_last_error());
    if (alias) return cli_error(cmd, "--register %s: give a new version NAME:TAG (then move an alias to it)", ref);
    size_t n = strlen(out);
    if (n < 5 || strcmp(out + n - 5, ".gguf") != 0)
        return cli_error(cmd, "--register needs -o OUT.gguf (the store keeps single files, not PEFT folders)");
    hearth_registry *r;
    if (hearth_registry_open(store, &r)) return cli_lib_error(cmd);
    hearth_registry_entry e;
    int rc = 0;
    if (hearth_registry_resolve(r, ref, &e) == HEARTH_OK) {
        rc = cli_error(cmd, "--register %s: that version exists already (versions are immutable)", ref);
        hearth_registry_entry_clear(&e);
    }
    hearth_registry_free(r);
    return rc;
}

/* argv as one line, arguments with spaces or quotes single-quoted */
static char *command_line(int argc, char **argv) {
    hearth_buf b = {0};
    hearth_buf_puts(&b, "hearth");
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool plain = *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=,+") == strlen(s);
        hearth_buf_putc(&b, ' ');
        if (plain) { hearth_buf_puts(&b, s); continue; }
        hearth_buf_putc(&b, '\'');
        for (; *s; s++) hearth_buf_puts(&b, *s == '\'' ? "'\\''" : (char[]){*s, 0});
        hearth_buf_putc(&b, '\'');
    }
    return b.oom ? (hearth_buf_free(&b), NULL) : hearth_buf_take(&b, NULL);
}

int models_register_output(const char *cmd, const char *store, const char *ref, const char *out,
                           hearth_artifact_kind kind, const char *base, const char *data, int argc, char **argv) {
    char base_d[HEARTH_DIGEST_LEN + 1], data_d[HEARTH_DIGEST_LEN + 1];
    if (base && hearth_sha256_file(base, base_d)) return cli_lib_error(cmd);
    if (data && hearth_sha256_file(data, data_d)) return cli_lib_error(cmd);
    hearth_registry *r;
    if (hearth_registry_open(store, &r)) return cli_lib_error(cmd);
    hearth_registry_add_params p = hearth_registry_default_add_params();
    const char *parents[1] = {base_d};
    p.kind = kind;
    if (base && kind == HEARTH_ARTIFACT_ADAPTER) p.base_digest = base_d;
    else if (base) p.parents = parents, p.n_parents = 1;
    p.data_digest = data ? data_d : NULL;
    char *line = command_line(argc, argv);
    p.command = line;
    hearth_registry_entry e;
    int rc = 0;
    if (hearth_registry_add(r, out, ref, &p, &e)) {
        rc = cli_lib_error(cmd);
    } else {
        fprintf(stderr, "registered %s:%s %s (%s)\n", e.name, e.tag, e.digest, hearth_artifact_kind_str(e.kind));
        hearth_registry_entry_clear(&e);
    }
    free(line);
    hearth_registry_free(r);
    return rc;
}
