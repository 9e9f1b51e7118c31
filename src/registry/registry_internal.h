/*
 * registry_internal.h — what store.c shares with pull.c and bundle.c:
 * the handle, atomic file writes into the store, the catalogue rows.
 */
#ifndef HEARTH_REGISTRY_INTERNAL_H
#define HEARTH_REGISTRY_INTERNAL_H

#include "hearth/core.h"
#include "hearth/registry.h"

#include <sqlite3.h>
#include <stdio.h>

struct hearth_registry {
    char *dir;      /* absolute, no trailing '/' */
    sqlite3 *db;    /* DIR/catalog.db */
};

/* "sha256:<hex>" or "<hex>" (64 lowercase/uppercase hex digits) ->
 * "sha256:<lowercase hex>" in out; false when it is neither. */
bool reg_digest_norm(const char *s, char out[HEARTH_DIGEST_LEN + 1]);

/* 32 bytes of SHA-256 -> "sha256:<hex>". */
void reg_digest_hex(const unsigned char h[32], char out[HEARTH_DIGEST_LEN + 1]);
/* Hashes `limit` bytes of from (-1: to its end; fewer is HEARTH_ERR_FORMAT
 * "ends early"), copying them to `to` when not NULL; what / to_what name the
 * two in messages. */
hearth_status reg_hash_copy(FILE *from, const char *what, int64_t limit, FILE *to, const char *to_what,
                            char out[HEARTH_DIGEST_LEN + 1], int64_t *size);

/* DIR/<sub>/sha256-<hex> for digest "sha256:<hex>" (malloc'd; NULL: no memory). */
char *reg_obj_path(const hearth_registry *r, const char *sub, const char *digest);

/* An open temporary file in DIR/tmp (mkstemp); *path malloc'd. */
hearth_status reg_tmp_open(hearth_registry *r, FILE **f, char **path);
/* fflush + fsync + fclose of f, then renames tmp to final and fsyncs the
 * folder; on any failure tmp is deleted. */
hearth_status reg_tmp_commit(FILE *f, char *tmp, const char *final);

/* Streams the file at path into blobs/ (copy, or rename when move is true
 * and the file is inside the store's filesystem), checking expected (may be
 * NULL). known: the file's digest when the caller hashed it as it wrote it
 * (only with move; NULL: hash it here). digest gets the blob's digest,
 * *size its bytes; *created true when the blob was not in the store before
 * (the caller deletes it on a later failure). */
hearth_status reg_blob_put(hearth_registry *r, const char *path, bool move, const char *expected, const char *known,
                           char digest[HEARTH_DIGEST_LEN + 1], int64_t *size, bool *created);
/* hearth_registry_add with the file's digest already known (see reg_blob_put). */
hearth_status reg_add(hearth_registry *r, const char *path, const char *ref, const hearth_registry_add_params *p,
                      const char *known, hearth_registry_entry *out);

/* Writes a manifest (JSON text) into manifests/; digest out. */
hearth_status reg_manifest_put(hearth_registry *r, const char *json, size_t len,
                               char digest[HEARTH_DIGEST_LEN + 1], bool *created);
/* Reads manifests/sha256-<hex>, checks its digest and parses it into e
 * (e->path set). */
hearth_status reg_manifest_load(hearth_registry *r, const char *digest, hearth_registry_entry *e);
/* Parses manifest JSON (untrusted: bundles) into e; no path. */
hearth_status reg_manifest_parse(const char *json, size_t len, hearth_registry_entry *e);
/* Manifest JSON for e (malloc'd, NUL-terminated). */
char *reg_manifest_json(const hearth_registry_entry *e, size_t *len);

/* Inserts e (manifest already written) as a catalogue row; caller holds a
 * transaction or not. */
hearth_status reg_catalog_insert(hearth_registry *r, const hearth_registry_entry *e);

/* Aliases inside the catalogue (no transaction of their own). */
hearth_status reg_alias_move(hearth_registry *r, const char *name, const char *alias, const char *tag,
                             const char *note);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK with errors set. */
hearth_status reg_begin(hearth_registry *r);
hearth_status reg_commit(hearth_registry *r);
void reg_rollback(hearth_registry *r);
hearth_status reg_sql_error(hearth_registry *r, const char *what);

#endif
