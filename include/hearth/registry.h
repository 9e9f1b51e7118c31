/*
 * registry.h — the model repository: a content-addressed store of models,
 * LoRA adapters, vision projectors, classifiers and prompt sets, with
 * immutable versions (NAME:TAG), movable aliases with their history
 * (NAME@ALIAS), lineage, verified pulls over HTTP(S) and offline bundles.
 *
 *   hearth_registry *r;
 *   hearth_registry_open(NULL, &r);                    // $HEARTH_HOME/models
 *   hearth_registry_add_params ap = hearth_registry_default_add_params();
 *   ap.kind = HEARTH_ARTIFACT_ADAPTER;
 *   ap.base_digest = "sha256:9f86...";                 // the base model's digest
 *   hearth_registry_add(r, "out/adapter.gguf", "support-bot:v3", &ap, NULL);
 *   hearth_registry_alias_set(r, "support-bot@production", "v3", NULL);
 *   hearth_registry_entry e;
 *   hearth_registry_resolve(r, "support-bot@production", &e);
 *   // e.path: the blob to load; e.digest: "sha256:<64 hex>"
 *   hearth_registry_entry_clear(&e);
 *   hearth_registry_free(r);
 *
 * ---- the folder -----------------------------------------------------------
 *   DIR/blobs/sha256-<hex>      file contents, named by their SHA-256
 *   DIR/manifests/sha256-<hex>  one small JSON manifest per version (name,
 *                               tag, kind, blob digest and size, lineage),
 *                               also named by its own SHA-256
 *   DIR/catalog.db              SQLite: versions, aliases, alias history
 *   DIR/tmp/, DIR/partial/      files being written; partial pulls to resume
 * Every file is written to tmp/, fsynced and renamed into place, and the
 * catalogue changes in one SQLite transaction afterwards: an error at any
 * point (a full disk included) leaves the catalogue as it was, and no new
 * blob behind. A manifest or blob whose contents no longer match its name is
 * reported (HEARTH_ERR_FORMAT) when it is resolved, verified or exported.
 *
 * ---- names ----------------------------------------------------------------
 * NAME: 1..128 characters of [a-z0-9._-], optionally one namespace
 * "team/name" (one '/'); starts with a letter or digit; no "..". TAG and
 * ALIAS: 1..64 characters of [A-Za-z0-9._-], starting with a letter or
 * digit. A reference is NAME:TAG (a version), NAME@ALIAS (whatever the alias
 * points at now) or sha256:<hex> (a version by its blob digest). Anything
 * else is HEARTH_ERR_INVALID_ARG with a message saying which character or
 * part is wrong.
 *
 * ---- lineage ---------------------------------------------------------------
 * An adapter records base_digest (its base model's blob digest),
 * data_digest (the training data's) and the command that made it; a merged
 * or quantized model records its parents' digests. hearth_registry_remove
 * refuses a version that an alias points at or whose blob is another
 * version's base or parent, unless forced.
 *
 * One handle, one thread at a time; several processes may share a folder
 * (SQLite locks the catalogue, blobs are immutable once renamed in).
 */
#ifndef HEARTH_REGISTRY_H
#define HEARTH_REGISTRY_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_registry hearth_registry;

typedef enum hearth_artifact_kind {
    HEARTH_ARTIFACT_MODEL = 0,       /* a base (or merged / quantized) model */
    HEARTH_ARTIFACT_ADAPTER = 1,     /* a LoRA adapter (GGUF) */
    HEARTH_ARTIFACT_MMPROJ = 2,      /* a vision projector / image encoder */
    HEARTH_ARTIFACT_CLASSIFIER = 3,
    HEARTH_ARTIFACT_PROMPTS = 4,     /* a prompt set */
    HEARTH_ARTIFACT_OTHER = 5,
} hearth_artifact_kind;

#define HEARTH_REGISTRY_MAX_NAME 128
#define HEARTH_REGISTRY_MAX_TAG 64
#define HEARTH_REGISTRY_MAX_PARENTS 16
/* "sha256:" + 64 hex digits */
#define HEARTH_DIGEST_LEN 71

/* "model", "adapter", "mmproj", "classifier", "prompts", "other". */
const char *hearth_artifact_kind_str(hearth_artifact_kind k);
/* The reverse; HEARTH_ERR_INVALID_ARG for an unknown word. */
hearth_status hearth_artifact_kind_parse(const char *s, hearth_artifact_kind *out);

/* One version. Strings are owned by the entry: hearth_registry_entry_clear
 * frees them (a zeroed entry is empty; clearing twice is harmless). */
typedef struct hearth_registry_entry {
    char name[HEARTH_REGISTRY_MAX_NAME + 1];
    char tag[HEARTH_REGISTRY_MAX_TAG + 1];
    char digest[HEARTH_DIGEST_LEN + 1];            /* of the blob: "sha256:<hex>" */
    char manifest_digest[HEARTH_DIGEST_LEN + 1];   /* of the manifest */
    hearth_artifact_kind kind;
    int64_t size;          /* blob bytes */
    int64_t created;       /* unix seconds */
    char *path;            /* absolute path of the blob (load this) */
    char *source;          /* where it came from: a URL or a file path ("" if unknown) */
    /* lineage ("" when not recorded) */
    char *base_digest;
    char *data_digest;
    char *command;
    char *parents[HEARTH_REGISTRY_MAX_PARENTS];   /* digests; n_parents used */
    int n_parents;
    char **aliases;        /* aliases pointing at this version now (list/show) */
    int n_aliases;
} hearth_registry_entry;

void hearth_registry_entry_clear(hearth_registry_entry *e);   /* NULL is a no-op */

/* ---- opening --------------------------------------------------------------- */

/* The default folder: $HEARTH_HOME/models, $HEARTH_HOME defaulting to
 * ~/.hearth. Written into buf (n bytes); HEARTH_ERR_RANGE if too small,
 * HEARTH_ERR_NOT_FOUND when neither HEARTH_HOME nor HOME is set. */
hearth_status hearth_registry_default_dir(char *buf, size_t n);

/* Opens (creating when absent) the store in dir (NULL: the default). */
hearth_status hearth_registry_open(const char *dir, hearth_registry **out);
void hearth_registry_free(hearth_registry *r);   /* NULL is a no-op */
/* The store's folder (borrowed, absolute). */
const char *hearth_registry_dir(const hearth_registry *r);

/* ---- names and digests -------------------------------------------------- */

/* Checks a name, tag or alias against the rules above. */
hearth_status hearth_registry_check_name(const char *name);
hearth_status hearth_registry_check_tag(const char *tag);
/* Splits "NAME:TAG" / "NAME@ALIAS" (checked). name gets
 * HEARTH_REGISTRY_MAX_NAME + 1 bytes, tag HEARTH_REGISTRY_MAX_TAG + 1;
 * *is_alias tells which form it was. */
hearth_status hearth_registry_parse_ref(const char *ref, char *name, char *tag, bool *is_alias);
/* true when s has the shape of a reference (NAME:TAG, NAME@ALIAS or
 * sha256:HEX) -- for callers that accept either a path or a reference. */
bool hearth_registry_looks_like_ref(const char *s);

/* SHA-256 of a file, streamed: out gets "sha256:<64 hex>" (72 bytes with NUL). */
hearth_status hearth_sha256_file(const char *path, char out[HEARTH_DIGEST_LEN + 1]);

/* ---- adding versions ------------------------------------------------------- */

typedef struct hearth_registry_add_params {
    hearth_artifact_kind kind;       /* HEARTH_ARTIFACT_MODEL */
    const char *expected_digest;     /* NULL, or "sha256:<hex>" / "<hex>": refused on mismatch */
    const char *source;              /* recorded as the origin (NULL: the file's path) */
    const char *base_digest;         /* lineage (NULL: none) */
    const char *data_digest;
    const char *command;
    const char *const *parents;      /* n_parents digests */
    int n_parents;
    bool move;                       /* rename the file into the store instead of copying */
} hearth_registry_add_params;

hearth_registry_add_params hearth_registry_default_add_params(void);

/* Copies (or moves) path into the store as version ref "NAME:TAG". The
 * version must not exist yet (versions are immutable: HEARTH_ERR_INVALID_ARG
 * "already exists"). Digests in params are checked for shape. out (may be
 * NULL) gets the new entry. */
hearth_status hearth_registry_add(hearth_registry *r, const char *path, const char *ref,
                                  const hearth_registry_add_params *p, hearth_registry_entry *out);

/* ---- reading ------------------------------------------------------------- */

/* NAME:TAG, NAME@ALIAS or sha256:<hex> -> the version (its manifest read
 * and its digest checked). HEARTH_ERR_NOT_FOUND when absent,
 * HEARTH_ERR_FORMAT when the manifest is corrupt. */
hearth_status hearth_registry_resolve(hearth_registry *r, const char *ref, hearth_registry_entry *out);

/* Every version, sorted by name then creation time; *out is an array of *n
 * entries owned by the caller (hearth_registry_entries_free). */
hearth_status hearth_registry_list(hearth_registry *r, hearth_registry_entry **out, size_t *n);
void hearth_registry_entries_free(hearth_registry_entry *e, size_t n);   /* NULL is a no-op */

/* Re-hashes a version's blob: HEARTH_ERR_FORMAT when it was altered. */
hearth_status hearth_registry_verify(hearth_registry *r, const char *ref);

/* ---- tags, aliases --------------------------------------------------------- */

/* A new immutable version "NAME:TAG" with the same blob and lineage as src
 * (any reference). */
hearth_status hearth_registry_tag(hearth_registry *r, const char *src, const char *ref);

/* Points "NAME@ALIAS" at version TAG of the same NAME (moves it when it
 * exists) and appends to its history. note: why (NULL: none). */
hearth_status hearth_registry_alias_set(hearth_registry *r, const char *alias_ref, const char *tag,
                                        const char *note);
/* Removes the alias (recorded in the history). */
hearth_status hearth_registry_alias_remove(hearth_registry *r, const char *alias_ref);
/* Points the alias back at the version it pointed at before its latest
 * move; *tag_out (may be NULL, HEARTH_REGISTRY_MAX_TAG + 1 bytes) gets it.
 * HEARTH_ERR_NOT_FOUND when there is no earlier version to go back to. */
hearth_status hearth_registry_alias_rollback(hearth_registry *r, const char *alias_ref, char *tag_out);

typedef struct hearth_registry_alias_event {
    char tag[HEARTH_REGISTRY_MAX_TAG + 1];   /* "" when the alias was removed */
    int64_t at;                              /* unix seconds */
    char note[256];
} hearth_registry_alias_event;
/* The alias's moves, oldest first (*out owned by the caller: free()). */
hearth_status hearth_registry_alias_history(hearth_registry *r, const char *alias_ref,
                                            hearth_registry_alias_event **out, size_t *n);

/* ---- removing ------------------------------------------------------------ */

/* Removes version NAME:TAG. Refused (HEARTH_ERR_INVALID_ARG, naming what
 * depends on it) while an alias points at it or its blob is the base or a
 * parent of another version, unless force (which also removes its aliases).
 * The blob stays until hearth_registry_gc. */
hearth_status hearth_registry_remove(hearth_registry *r, const char *ref, bool force);
/* Deletes blobs and manifests no version refers to, and stale temporary
 * files; partial pulls stay (they resume). */
hearth_status hearth_registry_gc(hearth_registry *r, int64_t *files_removed, int64_t *bytes_freed);

/* ---- pulling ------------------------------------------------------------ */

/* done / total bytes (total -1 when unknown); return false to cancel. */
typedef bool (*hearth_registry_progress_fn)(void *user, int64_t done, int64_t total);

typedef struct hearth_registry_pull_params {
    hearth_registry_add_params add;      /* kind, expected_digest, lineage */
    hearth_registry_progress_fn progress;
    void *progress_user;
    const char *bearer_token;            /* NULL: $HF_TOKEN for huggingface.co URLs */
    long connect_timeout_s;              /* 30 */
    long low_speed_time_s;               /* abort below 1 byte/s for this long (60) */
} hearth_registry_pull_params;

hearth_registry_pull_params hearth_registry_default_pull_params(void);

/* "hf://OWNER/REPO[@REV]/PATH" and "https://huggingface.co/OWNER/REPO/blob/REV/PATH"
 * -> "<endpoint>/OWNER/REPO/resolve/REV/PATH" (endpoint $HF_ENDPOINT or
 * https://huggingface.co); other URLs are copied. *out is malloc'd. */
hearth_status hearth_registry_url_resolve(const char *url, char **out);

/* Downloads url into DIR/partial/ (resuming a partial file with a Range
 * request; a server that ignores Range restarts it), checks the SHA-256
 * against p->add.expected_digest when given, and adds it as "NAME:TAG".
 * A cut transfer keeps the partial file (HEARTH_ERR_IO, "run again to
 * resume"); a wrong digest deletes it (HEARTH_ERR_FORMAT); either way
 * nothing is registered. *resumed_from (may be NULL) gets the bytes that
 * were already there. */
hearth_status hearth_registry_pull(hearth_registry *r, const char *url, const char *ref,
                                   const hearth_registry_pull_params *p, hearth_registry_entry *out,
                                   int64_t *resumed_from);

/* ---- bundles --------------------------------------------------------------
 * One file with the versions' manifests and blobs (text headers, raw bytes;
 * see docs/registry.md), the aliases pointing at them, lineage included.
 * Importing verifies every digest before anything is registered; versions
 * already present with the same manifest are kept, a clash (same NAME:TAG,
 * other contents) is refused. */
hearth_status hearth_registry_export(hearth_registry *r, const char *const *refs, size_t n_refs, const char *path);
/* *n_versions (may be NULL) gets how many versions the bundle held. */
hearth_status hearth_registry_import(hearth_registry *r, const char *path, size_t *n_versions);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
