/*
 * library_internal.h — what the prompt library's files share (internal):
 * the YAML reader, the SQL store (library_sql.c, the only file with SQL, so
 * a PostgreSQL store can replace it) and the spec checks.
 */
#ifndef HEARTH_PROMPT_LIBRARY_INTERNAL_H
#define HEARTH_PROMPT_LIBRARY_INTERNAL_H

#include "hearth/prompt_library.h"

#include <cjson/cJSON.h>

/* ---- YAML (yaml_json.c) -------------------------------------------------- */
/* Reads one YAML document (JSON is YAML) into a cJSON tree: mappings become
 * objects (keys must be scalars), sequences arrays, plain scalars null /
 * booleans / numbers when they read as such (YAML 1.2 core schema), quoted
 * scalars strings. Anchors and aliases are refused (no billion laughs).
 * `what` names the text in errors ("suite.yaml: line 3: ..."). NULL on error
 * (HEARTH_ERR_FORMAT, message set). */
cJSON *pl_yaml_parse(const char *text, size_t len, const char *what);

/* ---- errors -------------------------------------------------------------- */
/* Sets the error to "<prefix>: <the current error>" (the current message is
 * copied first: hearth_set_error must not read the buffer it writes). */
hearth_status pl_error_prefix(hearth_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the store (library_sql.c) ------------------------------------------- */
typedef struct pl_store pl_store;

typedef struct pl_version {
    int32_t version;
    char *spec;        /* JSON text, owned */
    char *author;      /* owned */
    int64_t created_ms;
} pl_version;

hearth_status pl_store_open(const char *path, pl_store **out);
void pl_store_close(pl_store *s);
/* next version number, inserted in one transaction */
hearth_status pl_store_add(pl_store *s, const char *name, const char *spec, const char *author, int64_t now_ms,
                           int32_t *version);
/* version 0: the latest. HEARTH_ERR_NOT_FOUND naming what is missing. */
hearth_status pl_store_get(pl_store *s, const char *name, int32_t version, pl_version *out);
void pl_version_clear(pl_version *v);
hearth_status pl_store_label_get(pl_store *s, const char *name, const char *label, int32_t *version);
/* moves the label and appends to the history in one transaction; *from gets the old version (0: new) */
hearth_status pl_store_label_set(pl_store *s, const char *name, const char *label, int32_t version,
                                 const char *actor, int64_t now_ms, int32_t *from);
/* JSON views (cJSON trees owned by the caller) */
hearth_status pl_store_list(pl_store *s, cJSON **out);
hearth_status pl_store_labels_of(pl_store *s, const char *name, int32_t version, cJSON *arr);
hearth_status pl_store_history(pl_store *s, const char *name, cJSON **out);
hearth_status pl_store_versions(pl_store *s, const char *name, cJSON **out);

#endif
