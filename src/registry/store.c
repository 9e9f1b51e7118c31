/*
 * store.c — the model repository's folder and catalogue: names, digests,
 * atomic writes, manifests, versions, aliases, removal and garbage
 * collection (see hearth/registry.h for the layout and the rules).
 */
#include "registry_internal.h"

#include "core/buf.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const KIND_NAMES[] = {"model", "adapter", "mmproj", "classifier", "prompts", "other"};
#define N_KINDS ((int)(sizeof KIND_NAMES / sizeof KIND_NAMES[0]))

const char *hearth_artifact_kind_str(hearth_artifact_kind k) {
    return (int)k >= 0 && (int)k < N_KINDS ? KIND_NAMES[k] : "?";
}

hearth_status hearth_artifact_kind_parse(const char *s, hearth_artifact_kind *out) {
    for (int i = 0; s && i < N_KINDS; i++)
        if (strcmp(s, KIND_NAMES[i]) == 0) { *out = (hearth_artifact_kind)i; return HEARTH_OK; }
    return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                            "unknown kind '%s' (expected model, adapter, mmproj, classifier, prompts or other)",
                            s ? s : "");
}

/* ==== names ================================================================ */

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

/* A printable description of a byte for error messages. */
static const char *show_char(char c, char buf[8]) {
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f) snprintf(buf, 8, "'%c'", c);
    else snprintf(buf, 8, "0x%02x", u);
    return buf;
}

hearth_status hearth_registry_check_name(const char *name) {
    char cb[8];
    if (!name || !*name) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "empty model name");
    size_t n = strlen(name);
    if (n > HEARTH_REGISTRY_MAX_NAME)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "model name is %zu characters long (at most %d)", n,
                                HEARTH_REGISTRY_MAX_NAME);
    int slashes = 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool part_start = i == 0 || name[i - 1] == '/';
        if (c == '/') {
            if (++slashes > 1 || part_start || i + 1 == n)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                        "model name '%.*s': '/' only once, between a namespace and a name "
                                        "(team/name)", (int)n, name);
            continue;
        }
        if (part_start && !is_lower_alnum(c))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "model name '%s' must start with a lowercase letter or digit, not %s", name,
                                    show_char(c, cb));
        if (c >= 'A' && c <= 'Z')
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "model name '%s' has an uppercase letter: names are lowercase",
                                    name);
        if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-')
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "model name has the character %s at position %zu; allowed: a-z 0-9 . _ - "
                                    "and one '/'", show_char(c, cb), i + 1);
        if (c == '.' && i + 1 < n && name[i + 1] == '.')
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "model name '%s' contains '..'", name);
    }
    return HEARTH_OK;
}

hearth_status hearth_registry_check_tag(const char *tag) {
    char cb[8];
    if (!tag || !*tag) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "empty tag or alias");
    size_t n = strlen(tag);
    if (n > HEARTH_REGISTRY_MAX_TAG)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tag or alias is %zu characters long (at most %d)", n,
                                HEARTH_REGISTRY_MAX_TAG);
    if (!is_alnum(tag[0]))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "tag or alias '%s' must start with a letter or digit", tag);
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(tag[i]) && tag[i] != '.' && tag[i] != '_' && tag[i] != '-')
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "tag or alias has the character %s at position %zu; allowed: A-Z a-z 0-9 . _ -",
                                    show_char(tag[i], cb), i + 1);
    return HEARTH_OK;
}

hearth_status hearth_registry_parse_ref(const char *ref, char *name, char *tag, bool *is_alias) {
    if (!ref || !*ref) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "empty model reference");
    const char *at = strchr(ref, '@'), *colon = strchr(ref, ':');
    const char *sep = at ? at : colon;
    if (!sep || (at && colon))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "'%s' is not a model reference: expected NAME:TAG or NAME@ALIAS", ref);
    size_t nl = (size_t)(sep - ref);
    if (nl > HEARTH_REGISTRY_MAX_NAME)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "model name is %zu characters long (at most %d)", nl,
                                HEARTH_REGISTRY_MAX_NAME);
    char nb[HEARTH_REGISTRY_MAX_NAME + 1];
    memcpy(nb, ref, nl);
    nb[nl] = 0;
    hearth_status s = hearth_registry_check_name(nb);
    if (s) return s;
    if ((s = hearth_registry_check_tag(sep + 1))) return s;
    if (name) memcpy(name, nb, nl + 1);
    if (tag) snprintf(tag, HEARTH_REGISTRY_MAX_TAG + 1, "%s", sep + 1);
    if (is_alias) *is_alias = at != NULL;
    return HEARTH_OK;
}

bool reg_digest_norm(const char *s, char out[HEARTH_DIGEST_LEN + 1]) {
    if (!s) return false;
    if (strncmp(s, "sha256:", 7) == 0) s += 7;
    else if (strncmp(s, "sha256-", 7) == 0) s += 7;
    if (strlen(s) != 64) return false;
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 64; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        out[7 + i] = c;
    }
    out[HEARTH_DIGEST_LEN] = 0;
    return true;
}

bool hearth_registry_looks_like_ref(const char *s) {
    char d[HEARTH_DIGEST_LEN + 1];
    if (s && strncmp(s, "sha256:", 7) == 0) return reg_digest_norm(s, d);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hearth_last_error());   /* a probe: keep the caller's last error */
    bool ok = hearth_registry_parse_ref(s, NULL, NULL, NULL) == HEARTH_OK;
    hearth_set_error(HEARTH_OK, "%s", msg);
    return ok;
}

/* ==== digests ============================================================== */

void reg_digest_hex(const unsigned char h[32], char out[HEARTH_DIGEST_LEN + 1]) {
    memcpy(out, "sha256:", 7);
    sodium_bin2hex(out + 7, 65, h, crypto_hash_sha256_BYTES);
}

hearth_status reg_hash_copy(FILE *from, const char *what, int64_t limit, FILE *to, const char *to_what,
                            char out[HEARTH_DIGEST_LEN + 1], int64_t *size) {
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK), h[crypto_hash_sha256_BYTES];
    if (!buf) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory hashing %s", what);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    int64_t total = 0;
    size_t got;
    hearth_status s = HEARTH_OK;
    for (;;) {
        size_t want = limit < 0 || limit - total > CHUNK ? CHUNK : (size_t)(limit - total);
        if (want == 0 || (got = fread(buf, 1, want, from)) == 0) break;
        crypto_hash_sha256_update(&st, buf, got);
        total += (int64_t)got;
        if (to && fwrite(buf, 1, got, to) != got) {
            s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed: %s", to_what, strerror(errno));
            break;
        }
    }
    if (!s && ferror(from)) s = hearth_set_error(HEARTH_ERR_IO, "reading %s failed: %s", what, strerror(errno));
    if (!s && limit >= 0 && total < limit)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s ends early: %lld of %lld bytes", what, (long long)total,
                             (long long)limit);
    free(buf);
    if (s) return s;
    crypto_hash_sha256_final(&st, h);
    reg_digest_hex(h, out);
    if (size) *size = total;
    return HEARTH_OK;
}

hearth_status hearth_sha256_file(const char *path, char out[HEARTH_DIGEST_LEN + 1]) {
    FILE *f = fopen(path, "rb");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    hearth_status s = reg_hash_copy(f, path, -1, NULL, NULL, out, NULL);
    fclose(f);
    return s;
}

/* ==== the folder =========================================================== */

char *reg_obj_path(const hearth_registry *r, const char *sub, const char *digest) {
    hearth_buf b = {0};
    hearth_buf_printf(&b, "%s/%s/sha256-%s", r->dir, sub, digest + 7);
    if (b.oom) { hearth_buf_free(&b); return NULL; }
    return hearth_buf_take(&b, NULL);
}

static hearth_status mkdir_p(const char *path) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return hearth_set_error(HEARTH_ERR_RANGE, "path too long: %s", path);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return hearth_set_error(HEARTH_ERR_IO, "cannot create folder %s: %s", tmp, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return HEARTH_OK;
}

static void fsync_dir_of(const char *path) {
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *slash = strrchr(d, '/');
    if (!slash) return;
    *slash = 0;
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

hearth_status reg_tmp_open(hearth_registry *r, FILE **f, char **path) {
    hearth_buf b = {0};
    hearth_buf_printf(&b, "%s/tmp/write-XXXXXX", r->dir);
    if (b.oom) { hearth_buf_free(&b); return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); }
    char *p = hearth_buf_take(&b, NULL);
    int fd = mkstemp(p);
    if (fd < 0) {
        hearth_status s = hearth_set_error(HEARTH_ERR_IO, "cannot create a file in %s/tmp: %s", r->dir, strerror(errno));
        free(p);
        return s;
    }
    *f = fdopen(fd, "wb");
    if (!*f) { close(fd); unlink(p); free(p); return hearth_set_error(HEARTH_ERR_IO, "fdopen failed"); }
    *path = p;
    return HEARTH_OK;
}

hearth_status reg_tmp_commit(FILE *f, char *tmp, const char *final) {
    hearth_status s = HEARTH_OK;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed: %s", final, strerror(errno));
    if (fclose(f) != 0 && !s) s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed: %s", final, strerror(errno));
    if (!s && rename(tmp, final) != 0)
        s = hearth_set_error(HEARTH_ERR_IO, "cannot rename into %s: %s", final, strerror(errno));
    if (s) unlink(tmp);
    else fsync_dir_of(final);
    return s;
}

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

hearth_status reg_blob_put(hearth_registry *r, const char *path, bool move, const char *expected, const char *known,
                           char digest[HEARTH_DIGEST_LEN + 1], int64_t *size, bool *created) {
    char want[HEARTH_DIGEST_LEN + 1];
    *created = false;
    if (expected && !reg_digest_norm(expected, want))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s' is not a SHA-256 digest (64 hex digits)", expected);
    struct stat st;
    if (stat(path, &st) != 0) return hearth_set_error(HEARTH_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s is not a regular file (the store keeps single files; "
                                "a PEFT folder: convert it to GGUF first)", path);
    FILE *out = NULL;
    char *tmp = NULL;
    hearth_status s = HEARTH_OK;
    if (move && known) {   /* hashed as it was written (a pull) */
        snprintf(digest, HEARTH_DIGEST_LEN + 1, "%s", known);
        *size = (int64_t)st.st_size;
    } else {
        FILE *in = fopen(path, "rb");
        if (!in) return hearth_set_error(HEARTH_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        if (!move && (s = reg_tmp_open(r, &out, &tmp))) { fclose(in); return s; }
        s = reg_hash_copy(in, path, -1, out, "a blob in the store", digest, size);
        fclose(in);
    }
    if (!s && expected && strcmp(want, digest) != 0)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: SHA-256 mismatch: expected %s, got %s; nothing registered", path,
                             want, digest);
    if (s) {
        if (out) { fclose(out); unlink(tmp); }
        free(tmp);
        return s;
    }
    char *final = reg_obj_path(r, "blobs", digest);
    if (!final) {
        if (out) { fclose(out); unlink(tmp); }
        free(tmp);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    if (file_exists(final)) {   /* the same contents are already stored */
        if (out) { fclose(out); unlink(tmp); }
        if (move) unlink(path);
    } else if (move) {
        if (rename(path, final) != 0) s = hearth_set_error(HEARTH_ERR_IO, "cannot move %s into the store: %s", path,
                                                           strerror(errno));
        else { fsync_dir_of(final); *created = true; }
    } else {
        s = reg_tmp_commit(out, tmp, final);
        *created = s == HEARTH_OK;
    }
    free(final);
    free(tmp);
    return s;
}

/* ==== manifests ============================================================ */

hearth_status reg_manifest_put(hearth_registry *r, const char *json, size_t len,
                               char digest[HEARTH_DIGEST_LEN + 1], bool *created) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)json, len);
    reg_digest_hex(h, digest);
    *created = false;
    char *final = reg_obj_path(r, "manifests", digest);
    if (!final) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    hearth_status s = HEARTH_OK;
    if (!file_exists(final)) {
        FILE *f;
        char *tmp;
        if (!(s = reg_tmp_open(r, &f, &tmp))) {
            if (fwrite(json, 1, len, f) != len) {
                s = hearth_set_error(HEARTH_ERR_IO, "writing a manifest failed: %s", strerror(errno));
                fclose(f);
                unlink(tmp);
            } else {
                s = reg_tmp_commit(f, tmp, final);
                *created = s == HEARTH_OK;
            }
            free(tmp);
        }
    }
    free(final);
    return s;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

char *reg_manifest_json(const hearth_registry_entry *e, size_t *len) {
    cJSON *o = cJSON_CreateObject(), *lin = cJSON_CreateObject(), *par = cJSON_CreateArray();
    char *out = NULL;
    if (o && lin && par) {
        cJSON_AddNumberToObject(o, "schema", 1);
        cJSON_AddStringToObject(o, "name", e->name);
        cJSON_AddStringToObject(o, "tag", e->tag);
        cJSON_AddStringToObject(o, "kind", hearth_artifact_kind_str(e->kind));
        cJSON_AddStringToObject(o, "digest", e->digest);
        cJSON_AddNumberToObject(o, "size", (double)e->size);
        cJSON_AddNumberToObject(o, "created", (double)e->created);
        cJSON_AddStringToObject(o, "source", e->source ? e->source : "");
        cJSON_AddStringToObject(lin, "base", e->base_digest ? e->base_digest : "");
        cJSON_AddStringToObject(lin, "data", e->data_digest ? e->data_digest : "");
        cJSON_AddStringToObject(lin, "command", e->command ? e->command : "");
        for (int i = 0; i < e->n_parents; i++) cJSON_AddItemToArray(par, cJSON_CreateString(e->parents[i]));
        cJSON_AddItemToObject(lin, "parents", par);
        par = NULL;
        cJSON_AddItemToObject(o, "lineage", lin);
        lin = NULL;
        out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    cJSON_Delete(lin);
    cJSON_Delete(par);
    if (out && len) *len = strlen(out);
    return out;
}

static const char *json_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An optional digest field: "" or a digest. */
static hearth_status lineage_digest(const cJSON *lin, const char *key, char **out) {
    const char *v = lin ? json_str(lin, key) : "";
    char d[HEARTH_DIGEST_LEN + 1];
    if (!v) v = "";
    if (*v && !reg_digest_norm(v, d))
        return hearth_set_error(HEARTH_ERR_FORMAT, "manifest: lineage \"%s\" is not a sha256 digest", key);
    *out = strdup(*v ? d : "");
    return *out ? HEARTH_OK : hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
}

hearth_status reg_manifest_parse(const char *json, size_t len, hearth_registry_entry *e) {
    memset(e, 0, sizeof *e);
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return hearth_set_error(HEARTH_ERR_FORMAT, "manifest is not a JSON object");
    }
    hearth_status s = HEARTH_OK;
    const char *name = json_str(o, "name"), *tag = json_str(o, "tag"), *kind = json_str(o, "kind"),
               *digest = json_str(o, "digest"), *source = json_str(o, "source");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size"),
                *created = cJSON_GetObjectItemCaseSensitive(o, "created"),
                *schema = cJSON_GetObjectItemCaseSensitive(o, "schema"),
                *lin = cJSON_GetObjectItemCaseSensitive(o, "lineage");
    if (!cJSON_IsNumber(schema) || schema->valuedouble != 1)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: \"schema\" must be 1");
    else if (!name || !tag || !kind || !digest)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: \"name\", \"tag\", \"kind\" and \"digest\" are required strings");
    else if (hearth_registry_check_name(name) || hearth_registry_check_tag(tag))
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: %s", hearth_last_error());
    else if (hearth_artifact_kind_parse(kind, &e->kind))
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: %s", hearth_last_error());
    else if (!reg_digest_norm(digest, e->digest) || strncmp(digest, "sha256:", 7) != 0)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: \"digest\" is not \"sha256:<64 hex digits>\"");
    else if (!cJSON_IsNumber(size) || size->valuedouble < 0 || size->valuedouble > 9.0e15 ||
             size->valuedouble != (double)(int64_t)size->valuedouble)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: \"size\" must be a whole number of bytes");
    else if (lin && !cJSON_IsObject(lin))
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: \"lineage\" must be an object");
    if (!s && name && tag && size) {   /* (all checked above; spelled out for cppcheck) */
        snprintf(e->name, sizeof e->name, "%s", name);
        snprintf(e->tag, sizeof e->tag, "%s", tag);
        e->size = (int64_t)size->valuedouble;
        e->created = cJSON_IsNumber(created) ? (int64_t)created->valuedouble : 0;
        e->source = dup_or_empty(source);
        const char *cmd = lin ? json_str(lin, "command") : NULL;
        e->command = dup_or_empty(cmd);
        if (!e->source || !e->command) s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    if (!s) s = lineage_digest(lin, "base", &e->base_digest);
    if (!s) s = lineage_digest(lin, "data", &e->data_digest);
    const cJSON *par = lin ? cJSON_GetObjectItemCaseSensitive(lin, "parents") : NULL;
    if (!s && par) {
        if (!cJSON_IsArray(par) || cJSON_GetArraySize(par) > HEARTH_REGISTRY_MAX_PARENTS)
            s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: lineage \"parents\" must be an array of at most %d digests",
                                 HEARTH_REGISTRY_MAX_PARENTS);
        const cJSON *it;
        cJSON_ArrayForEach(it, par) {
            if (s) break;
            char d[HEARTH_DIGEST_LEN + 1];
            if (!cJSON_IsString(it) || !reg_digest_norm(it->valuestring, d))
                s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest: a lineage parent is not a sha256 digest");
            else if (!(e->parents[e->n_parents++] = strdup(d)))
                s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
        }
    }
    cJSON_Delete(o);
    if (s) hearth_registry_entry_clear(e);
    return s;
}

hearth_status reg_manifest_load(hearth_registry *r, const char *digest, hearth_registry_entry *e) {
    char *path = reg_obj_path(r, "manifests", digest), got[HEARTH_DIGEST_LEN + 1];
    if (!path) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    hearth_status s = hearth_read_file(path, &text, &len);
    if (s) {
        s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest %s is missing or unreadable (%s)", path, hearth_last_error());
    } else {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)text, len);
        reg_digest_hex(h, got);
        if (strcmp(got, digest) != 0)
            s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest %s is corrupt: its SHA-256 is %s", path, got);
        else if ((s = reg_manifest_parse(text, len, e)))
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s", path, hearth_last_error());
    }
    free(text);
    free(path);
    if (!s) {
        snprintf(e->manifest_digest, sizeof e->manifest_digest, "%s", digest);
        if (!(e->path = reg_obj_path(r, "blobs", e->digest))) {
            hearth_registry_entry_clear(e);
            s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
        }
    }
    return s;
}

void hearth_registry_entry_clear(hearth_registry_entry *e) {
    if (!e) return;
    free(e->path);
    free(e->source);
    free(e->base_digest);
    free(e->data_digest);
    free(e->command);
    for (int i = 0; i < e->n_parents; i++) free(e->parents[i]);
    for (int i = 0; i < e->n_aliases; i++) free(e->aliases[i]);
    free(e->aliases);
    memset(e, 0, sizeof *e);
}

void hearth_registry_entries_free(hearth_registry_entry *e, size_t n) {
    if (!e) return;
    for (size_t i = 0; i < n; i++) hearth_registry_entry_clear(&e[i]);
    free(e);
}

/* ==== catalogue ============================================================ */

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS versions("
    "  name TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, manifest TEXT NOT NULL,"
    "  kind TEXT NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '', base_digest TEXT NOT NULL DEFAULT '',"
    "  data_digest TEXT NOT NULL DEFAULT '', command TEXT NOT NULL DEFAULT '',"
    "  parents TEXT NOT NULL DEFAULT '', PRIMARY KEY(name, tag));"
    "CREATE INDEX IF NOT EXISTS versions_digest ON versions(digest);"
    "CREATE TABLE IF NOT EXISTS aliases("
    "  name TEXT NOT NULL, alias TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY(name, alias));"
    "CREATE TABLE IF NOT EXISTS alias_history("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, alias TEXT NOT NULL, tag TEXT NOT NULL,"
    "  at INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '');";

hearth_status reg_sql_error(hearth_registry *r, const char *what) {
    return hearth_set_error(HEARTH_ERR_IO, "model store %s: %s: %s", r->dir, what, sqlite3_errmsg(r->db));
}

hearth_status reg_begin(hearth_registry *r) {
    return sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? HEARTH_OK
                                                                                  : reg_sql_error(r, "begin");
}

hearth_status reg_commit(hearth_registry *r) {
    if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return HEARTH_OK;
    hearth_status s = reg_sql_error(r, "commit");
    reg_rollback(r);
    return s;
}

void reg_rollback(hearth_registry *r) { sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL); }

static sqlite3_stmt *prep(hearth_registry *r, const char *sql) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        reg_sql_error(r, "query");
        return NULL;
    }
    return st;
}

hearth_status hearth_registry_default_dir(char *buf, size_t n) {
    const char *home = getenv("HEARTH_HOME");
    int w;
    if (home && *home) w = snprintf(buf, n, "%s/models", home);
    else if ((home = getenv("HOME")) && *home) w = snprintf(buf, n, "%s/.hearth/models", home);
    else return hearth_set_error(HEARTH_ERR_NOT_FOUND, "neither HEARTH_HOME nor HOME is set: give --store DIR");
    if (w < 0 || (size_t)w >= n) return hearth_set_error(HEARTH_ERR_RANGE, "model store path too long");
    return HEARTH_OK;
}

hearth_status hearth_registry_open(const char *dir, hearth_registry **out) {
    *out = NULL;
    char def[PATH_MAX], abs[PATH_MAX];
    hearth_status s;
    if (!dir || !*dir) {
        if ((s = hearth_registry_default_dir(def, sizeof def))) return s;
        dir = def;
    }
    static const char *const subs[] = {"", "/blobs", "/manifests", "/tmp", "/partial"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s%s", dir, subs[i]) >= (int)sizeof p)
            return hearth_set_error(HEARTH_ERR_RANGE, "model store path too long");
        if ((s = mkdir_p(p))) return s;
    }
    if (!realpath(dir, abs)) return hearth_set_error(HEARTH_ERR_IO, "cannot open model store %s: %s", dir, strerror(errno));
    if (sodium_init() < 0) return hearth_set_error(HEARTH_ERR_INTERNAL, "libsodium failed to start");
    hearth_registry *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(abs))) { free(r); return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); }
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/catalog.db", abs);
    if (sqlite3_open_v2(db, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        s = hearth_set_error(HEARTH_ERR_IO, "cannot open %s: %s", db, r->db ? sqlite3_errmsg(r->db) : "no memory");
        hearth_registry_free(r);
        return s;
    }
    sqlite3_busy_timeout(r->db, 10000);
    char *err = NULL;
    if (sqlite3_exec(r->db, SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s is not a hearth model catalogue: %s", db, err ? err : "?");
        sqlite3_free(err);
        hearth_registry_free(r);
        return s;
    }
    *out = r;
    return HEARTH_OK;
}

void hearth_registry_free(hearth_registry *r) {
    if (!r) return;
    sqlite3_close(r->db);
    free(r->dir);
    free(r);
}

const char *hearth_registry_dir(const hearth_registry *r) { return r ? r->dir : NULL; }

static void bind_text(sqlite3_stmt *st, int i, const char *s) { sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT); }

hearth_status reg_catalog_insert(hearth_registry *r, const hearth_registry_entry *e) {
    hearth_buf parents = {0};
    for (int i = 0; i < e->n_parents; i++) hearth_buf_printf(&parents, "%s%s", i ? " " : "", e->parents[i]);
    if (parents.oom) { hearth_buf_free(&parents); return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); }
    sqlite3_stmt *st = prep(r, "INSERT INTO versions(name,tag,digest,manifest,kind,size,created,source,base_digest,"
                               "data_digest,command,parents) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) { hearth_buf_free(&parents); return HEARTH_ERR_IO; }
    bind_text(st, 1, e->name);
    bind_text(st, 2, e->tag);
    bind_text(st, 3, e->digest);
    bind_text(st, 4, e->manifest_digest);
    bind_text(st, 5, hearth_artifact_kind_str(e->kind));
    sqlite3_bind_int64(st, 6, e->size);
    sqlite3_bind_int64(st, 7, e->created);
    bind_text(st, 8, e->source);
    bind_text(st, 9, e->base_digest);
    bind_text(st, 10, e->data_digest);
    bind_text(st, 11, e->command);
    bind_text(st, 12, parents.data);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    hearth_buf_free(&parents);
    if (rc == SQLITE_CONSTRAINT)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s:%s already exists (versions are immutable: use a new tag)",
                                e->name, e->tag);
    return rc == SQLITE_DONE ? HEARTH_OK : reg_sql_error(r, "adding a version");
}

/* Whether version name:tag exists; its manifest digest into manifest (may be NULL). */
static hearth_status find_version(hearth_registry *r, const char *name, const char *tag,
                                  char manifest[HEARTH_DIGEST_LEN + 1]) {
    sqlite3_stmt *st = prep(r, "SELECT manifest FROM versions WHERE name=? AND tag=?");
    if (!st) return HEARTH_ERR_IO;
    bind_text(st, 1, name);
    bind_text(st, 2, tag);
    int rc = sqlite3_step(st);
    hearth_status s = HEARTH_OK;
    if (rc == SQLITE_ROW) {
        if (manifest) snprintf(manifest, HEARTH_DIGEST_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    } else if (rc == SQLITE_DONE) {
        s = hearth_set_error(HEARTH_ERR_NOT_FOUND, "no model %s:%s in the store %s", name, tag, r->dir);
    } else {
        s = reg_sql_error(r, "looking up a version");
    }
    sqlite3_finalize(st);
    return s;
}

/* The tag alias name@alias points at. */
static hearth_status find_alias(hearth_registry *r, const char *name, const char *alias,
                                char tag[HEARTH_REGISTRY_MAX_TAG + 1]) {
    sqlite3_stmt *st = prep(r, "SELECT tag FROM aliases WHERE name=? AND alias=?");
    if (!st) return HEARTH_ERR_IO;
    bind_text(st, 1, name);
    bind_text(st, 2, alias);
    int rc = sqlite3_step(st);
    hearth_status s = HEARTH_OK;
    if (rc == SQLITE_ROW) snprintf(tag, HEARTH_REGISTRY_MAX_TAG + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (rc == SQLITE_DONE) s = hearth_set_error(HEARTH_ERR_NOT_FOUND, "no alias %s@%s in the store %s", name, alias, r->dir);
    else s = reg_sql_error(r, "looking up an alias");
    sqlite3_finalize(st);
    return s;
}

static hearth_status load_aliases(hearth_registry *r, hearth_registry_entry *e) {
    sqlite3_stmt *st = prep(r, "SELECT alias FROM aliases WHERE name=? AND tag=? ORDER BY alias");
    if (!st) return HEARTH_ERR_IO;
    bind_text(st, 1, e->name);
    bind_text(st, 2, e->tag);
    size_t cap = 0;
    hearth_status s = HEARTH_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!HEARTH_GROW(e->aliases, cap, (size_t)e->n_aliases + 1) ||
            !(e->aliases[e->n_aliases] = strdup((const char *)sqlite3_column_text(st, 0)))) {
            s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
            break;
        }
        e->n_aliases++;
    }
    sqlite3_finalize(st);
    return s;
}

hearth_status hearth_registry_resolve(hearth_registry *r, const char *ref, hearth_registry_entry *out) {
    memset(out, 0, sizeof *out);
    char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1], man[HEARTH_DIGEST_LEN + 1];
    bool is_alias = false;
    hearth_status s;
    if (ref && strncmp(ref, "sha256:", 7) == 0) {
        char d[HEARTH_DIGEST_LEN + 1];
        if (!reg_digest_norm(ref, d))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s' is not sha256:<64 hex digits>", ref);
        sqlite3_stmt *st = prep(r, "SELECT manifest FROM versions WHERE digest=? ORDER BY created LIMIT 1");
        if (!st) return HEARTH_ERR_IO;
        bind_text(st, 1, d);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) snprintf(man, sizeof man, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "no version with digest %s in %s", d, r->dir);
    } else {
        if ((s = hearth_registry_parse_ref(ref, name, tag, &is_alias))) return s;
        if (is_alias && (s = find_alias(r, name, tag, tag))) return s;
        if ((s = find_version(r, name, tag, man))) return s;
    }
    if ((s = reg_manifest_load(r, man, out))) return s;
    if (!ref || strncmp(ref, "sha256:", 7) != 0) {
        if (strcmp(out->name, name) != 0 || strcmp(out->tag, tag) != 0) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "manifest %s names %s:%s, but the catalogue lists it as %s:%s", man,
                                 out->name, out->tag, name, tag);
            hearth_registry_entry_clear(out);
            return s;
        }
    }
    if ((s = load_aliases(r, out))) hearth_registry_entry_clear(out);
    return s;
}

hearth_registry_add_params hearth_registry_default_add_params(void) {
    hearth_registry_add_params p;
    memset(&p, 0, sizeof p);
    p.kind = HEARTH_ARTIFACT_MODEL;
    return p;
}

/* Fills e's lineage from p, digests normalised. */
static hearth_status lineage_from_params(hearth_registry_entry *e, const hearth_registry_add_params *p) {
    char d[HEARTH_DIGEST_LEN + 1];
    const char *names[2] = {"base", "training data"};
    const char *vals[2] = {p->base_digest, p->data_digest};
    char **outs[2] = {&e->base_digest, &e->data_digest};
    for (int i = 0; i < 2; i++) {
        if (vals[i] && *vals[i] && !reg_digest_norm(vals[i], d))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s digest '%s' is not a SHA-256 digest", names[i], vals[i]);
        *outs[i] = strdup(vals[i] && *vals[i] ? d : "");
    }
    if (p->n_parents < 0 || p->n_parents > HEARTH_REGISTRY_MAX_PARENTS)
        return hearth_set_error(HEARTH_ERR_RANGE, "at most %d parents", HEARTH_REGISTRY_MAX_PARENTS);
    for (int i = 0; i < p->n_parents; i++) {
        if (!reg_digest_norm(p->parents[i], d))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "parent digest '%s' is not a SHA-256 digest", p->parents[i]);
        e->parents[e->n_parents++] = strdup(d);
    }
    e->command = dup_or_empty(p->command);
    return HEARTH_OK;
}

hearth_status hearth_registry_add(hearth_registry *r, const char *path, const char *ref,
                                  const hearth_registry_add_params *p, hearth_registry_entry *out) {
    return reg_add(r, path, ref, p, NULL, out);
}

hearth_status reg_add(hearth_registry *r, const char *path, const char *ref, const hearth_registry_add_params *p,
                      const char *known, hearth_registry_entry *out) {
    hearth_registry_add_params def = hearth_registry_default_add_params();
    if (!p) p = &def;
    if (out) memset(out, 0, sizeof *out);
    hearth_registry_entry e;
    memset(&e, 0, sizeof e);
    bool is_alias = false;
    hearth_status s = hearth_registry_parse_ref(ref, e.name, e.tag, &is_alias);
    if (s) return s;
    if (is_alias)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s' is an alias: add a version as NAME:TAG, then point the "
                                "alias at it", ref);
    if ((int)p->kind < 0 || (int)p->kind >= N_KINDS) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "bad artifact kind");
    if (find_version(r, e.name, e.tag, NULL) == HEARTH_OK)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s already exists (versions are immutable: use a new tag)", ref);
    e.kind = p->kind;
    e.created = (int64_t)time(NULL);
    char absrc[PATH_MAX];
    e.source = strdup(p->source ? p->source : (realpath(path, absrc) ? absrc : path));
    if ((s = lineage_from_params(&e, p))) { hearth_registry_entry_clear(&e); return s; }
    bool blob_new = false, man_new = false;
    if ((s = reg_blob_put(r, path, p->move, p->expected_digest, known, e.digest, &e.size, &blob_new))) {
        hearth_registry_entry_clear(&e);
        return s;
    }
    size_t len = 0;
    char *json = reg_manifest_json(&e, &len);
    if (!json) s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    if (!s) s = reg_manifest_put(r, json, len, e.manifest_digest, &man_new);
    free(json);
    if (!s) s = reg_catalog_insert(r, &e);
    if (s) {   /* leave the store as it was */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        if (blob_new) { char *b = reg_obj_path(r, "blobs", e.digest); if (b) unlink(b); free(b); }
        if (man_new) { char *m = reg_obj_path(r, "manifests", e.manifest_digest); if (m) unlink(m); free(m); }
        hearth_registry_entry_clear(&e);
        return hearth_set_error(s, "%s", msg);
    }
    e.path = reg_obj_path(r, "blobs", e.digest);
    if (out) *out = e;
    else hearth_registry_entry_clear(&e);
    return HEARTH_OK;
}

hearth_status hearth_registry_list(hearth_registry *r, hearth_registry_entry **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(r, "SELECT name,tag,digest,manifest,kind,size,created,source,base_digest,data_digest,"
                               "command,parents FROM versions ORDER BY name, created, tag");
    if (!st) return HEARTH_ERR_IO;
    hearth_registry_entry *v = NULL;
    size_t cap = 0, cnt = 0;
    hearth_status s = HEARTH_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!HEARTH_GROW(v, cap, cnt + 1)) { s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); break; }
        hearth_registry_entry *e = &v[cnt++];
        memset(e, 0, sizeof *e);
#define COL(i) ((const char *)sqlite3_column_text(st, i))
        snprintf(e->name, sizeof e->name, "%s", COL(0));
        snprintf(e->tag, sizeof e->tag, "%s", COL(1));
        snprintf(e->digest, sizeof e->digest, "%s", COL(2));
        snprintf(e->manifest_digest, sizeof e->manifest_digest, "%s", COL(3));
        if (hearth_artifact_kind_parse(COL(4), &e->kind)) e->kind = HEARTH_ARTIFACT_OTHER;
        e->size = sqlite3_column_int64(st, 5);
        e->created = sqlite3_column_int64(st, 6);
        e->source = strdup(COL(7));
        e->base_digest = strdup(COL(8));
        e->data_digest = strdup(COL(9));
        e->command = strdup(COL(10));
        const char *par = COL(11);
        while (par && *par && e->n_parents < HEARTH_REGISTRY_MAX_PARENTS) {
            const char *sp = strchr(par, ' ');
            size_t l = sp ? (size_t)(sp - par) : strlen(par);
            e->parents[e->n_parents++] = strndup(par, l);
            par = sp ? sp + 1 : NULL;
        }
#undef COL
        e->path = reg_obj_path(r, "blobs", e->digest);
        if (!e->path || !e->source || !e->base_digest || !e->data_digest || !e->command ||
            (s = load_aliases(r, e))) {
            s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
            break;
        }
    }
    if (!s && rc != SQLITE_DONE) s = reg_sql_error(r, "listing versions");
    sqlite3_finalize(st);
    if (s) { hearth_registry_entries_free(v, cnt); return s; }
    *out = v;
    *n = cnt;
    return HEARTH_OK;
}

hearth_status hearth_registry_verify(hearth_registry *r, const char *ref) {
    hearth_registry_entry e;
    hearth_status s = hearth_registry_resolve(r, ref, &e);
    if (s) return s;
    char got[HEARTH_DIGEST_LEN + 1];
    s = hearth_sha256_file(e.path, got);
    if (!s && strcmp(got, e.digest) != 0)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "blob of %s:%s (%s) was altered: its SHA-256 is now %s", e.name, e.tag,
                             e.path, got);
    hearth_registry_entry_clear(&e);
    return s;
}

/* ==== tags and aliases ====================================================== */

hearth_status hearth_registry_tag(hearth_registry *r, const char *src, const char *ref) {
    hearth_registry_entry e;
    hearth_status s = hearth_registry_resolve(r, src, &e);
    if (s) return s;
    bool is_alias = false;
    if ((s = hearth_registry_parse_ref(ref, e.name, e.tag, &is_alias))) goto done;
    if (is_alias) {
        s = hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s' is an alias: use `alias` to move it", ref);
        goto done;
    }
    e.created = (int64_t)time(NULL);
    size_t len = 0;
    bool man_new = false;
    char *json = reg_manifest_json(&e, &len);
    if (!json) { s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); goto done; }
    s = reg_manifest_put(r, json, len, e.manifest_digest, &man_new);
    free(json);
    if (!s && (s = reg_catalog_insert(r, &e)) && man_new) {
        char *m = reg_obj_path(r, "manifests", e.manifest_digest);
        if (m) unlink(m);
        free(m);
    }
done:
    hearth_registry_entry_clear(&e);
    return s;
}

hearth_status reg_alias_move(hearth_registry *r, const char *name, const char *alias, const char *tag,
                             const char *note) {
    sqlite3_stmt *st = prep(r, tag ? "INSERT INTO aliases(name,alias,tag) VALUES(?1,?2,?3) "
                                     "ON CONFLICT(name,alias) DO UPDATE SET tag=excluded.tag"
                                   : "DELETE FROM aliases WHERE name=?1 AND alias=?2");
    if (!st) return HEARTH_ERR_IO;
    bind_text(st, 1, name);
    bind_text(st, 2, alias);
    if (tag) bind_text(st, 3, tag);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return reg_sql_error(r, "moving an alias");
    if (!(st = prep(r, "INSERT INTO alias_history(name,alias,tag,at,note) VALUES(?,?,?,?,?)"))) return HEARTH_ERR_IO;
    bind_text(st, 1, name);
    bind_text(st, 2, alias);
    bind_text(st, 3, tag);
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    bind_text(st, 5, note);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? HEARTH_OK : reg_sql_error(r, "recording an alias move");
}

/* Splits an alias reference and checks its form. */
static hearth_status alias_ref(const char *ref, char *name, char *alias) {
    bool is_alias = false;
    hearth_status s = hearth_registry_parse_ref(ref, name, alias, &is_alias);
    if (!s && !is_alias)
        s = hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s' is a version, not an alias: expected NAME@ALIAS", ref);
    return s;
}

hearth_status hearth_registry_alias_set(hearth_registry *r, const char *ref, const char *tag, const char *note) {
    char name[HEARTH_REGISTRY_MAX_NAME + 1], alias[HEARTH_REGISTRY_MAX_TAG + 1];
    hearth_status s = alias_ref(ref, name, alias);
    if (s || (s = hearth_registry_check_tag(tag))) return s;
    if ((s = reg_begin(r))) return s;
    if (!(s = find_version(r, name, tag, NULL)) && !(s = reg_alias_move(r, name, alias, tag, note))) return reg_commit(r);
    reg_rollback(r);
    return s;
}

hearth_status hearth_registry_alias_remove(hearth_registry *r, const char *ref) {
    char name[HEARTH_REGISTRY_MAX_NAME + 1], alias[HEARTH_REGISTRY_MAX_TAG + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1];
    hearth_status s = alias_ref(ref, name, alias);
    if (s || (s = reg_begin(r))) return s;
    if (!(s = find_alias(r, name, alias, tag)) && !(s = reg_alias_move(r, name, alias, NULL, "removed")))
        return reg_commit(r);
    reg_rollback(r);
    return s;
}

hearth_status hearth_registry_alias_history(hearth_registry *r, const char *ref, hearth_registry_alias_event **out,
                                            size_t *n) {
    *out = NULL;
    *n = 0;
    char name[HEARTH_REGISTRY_MAX_NAME + 1], alias[HEARTH_REGISTRY_MAX_TAG + 1];
    hearth_status s = alias_ref(ref, name, alias);
    if (s) return s;
    sqlite3_stmt *st = prep(r, "SELECT tag, at, note FROM alias_history WHERE name=? AND alias=? ORDER BY id");
    if (!st) return HEARTH_ERR_IO;
    bind_text(st, 1, name);
    bind_text(st, 2, alias);
    hearth_registry_alias_event *v = NULL;
    size_t cap = 0, cnt = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!HEARTH_GROW(v, cap, cnt + 1)) { s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); break; }
        snprintf(v[cnt].tag, sizeof v[cnt].tag, "%s", (const char *)sqlite3_column_text(st, 0));
        v[cnt].at = sqlite3_column_int64(st, 1);
        snprintf(v[cnt].note, sizeof v[cnt].note, "%s", (const char *)sqlite3_column_text(st, 2));
        cnt++;
    }
    sqlite3_finalize(st);
    if (s) { free(v); return s; }
    *out = v;
    *n = cnt;
    return HEARTH_OK;
}

hearth_status hearth_registry_alias_rollback(hearth_registry *r, const char *ref, char *tag_out) {
    hearth_registry_alias_event *h = NULL;
    size_t n = 0;
    char name[HEARTH_REGISTRY_MAX_NAME + 1], alias[HEARTH_REGISTRY_MAX_TAG + 1];
    hearth_status s = alias_ref(ref, name, alias);
    if (s || (s = hearth_registry_alias_history(r, ref, &h, &n))) return s;
    /* the version before the current one: the latest earlier event whose tag
     * differs from the current tag and still exists */
    const char *target = NULL;
    if (n > 0) {
        const char *cur = h[n - 1].tag;
        for (size_t i = n - 1; i-- > 0;)
            if (h[i].tag[0] && strcmp(h[i].tag, cur) != 0 && find_version(r, name, h[i].tag, NULL) == HEARTH_OK) {
                target = h[i].tag;
                break;
            }
    }
    if (!target) s = hearth_set_error(HEARTH_ERR_NOT_FOUND, "%s has no earlier version to roll back to", ref);
    else if (!(s = hearth_registry_alias_set(r, ref, target, "rollback")) && tag_out)
        snprintf(tag_out, HEARTH_REGISTRY_MAX_TAG + 1, "%s", target);
    free(h);
    return s;
}

/* ==== removal and garbage collection ======================================== */

/* Appends "what" lines (one per row of the query) to b; the query takes ?1 ?2 ?3. */
static int list_rows(hearth_registry *r, const char *sql, const char *a1, const char *a2, const char *a3,
                     hearth_buf *b) {
    sqlite3_stmt *st = prep(r, sql);
    if (!st) return -1;
    bind_text(st, 1, a1);
    bind_text(st, 2, a2);
    bind_text(st, 3, a3);
    int cnt = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        hearth_buf_printf(b, "%s%s", b->len ? ", " : "", (const char *)sqlite3_column_text(st, 0));
        cnt++;
    }
    sqlite3_finalize(st);
    return cnt;
}

hearth_status hearth_registry_remove(hearth_registry *r, const char *ref, bool force) {
    char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1];
    bool is_alias = false;
    hearth_status s = hearth_registry_parse_ref(ref, name, tag, &is_alias);
    if (s) return s;
    if (is_alias)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "'%s' is an alias: remove a version NAME:TAG, or the alias with "
                                "`alias --remove`", ref);
    if ((s = reg_begin(r))) return s;
    if ((s = find_version(r, name, tag, NULL))) { reg_rollback(r); return s; }
    hearth_buf al = {0}, dep = {0};
    int n_alias = list_rows(r, "SELECT name||'@'||alias FROM aliases WHERE name=?1 AND tag=?2", name, tag, NULL, &al);
    /* dependents only matter when no other version keeps the same blob */
    int n_dep = list_rows(r,
                          "SELECT v.name||':'||v.tag FROM versions v, versions me WHERE me.name=?1 AND me.tag=?2 "
                          "AND NOT EXISTS(SELECT 1 FROM versions o WHERE o.digest=me.digest AND NOT (o.name=?1 AND o.tag=?2)) "
                          "AND (v.base_digest=me.digest OR instr(v.parents, me.digest) > 0) "
                          "AND NOT (v.name=?1 AND v.tag=?2)",
                          name, tag, NULL, &dep);
    if (n_alias < 0 || n_dep < 0) { s = reg_sql_error(r, "checking dependents"); goto fail; }
    if ((n_alias || n_dep) && !force) {
        s = hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s:%s is in use:%s%s%s%s; move or remove those first, or use --force",
                             name, tag, n_alias ? " alias " : "", n_alias ? al.data : "",
                             n_dep ? " base or parent of " : "", n_dep ? dep.data : "");
        goto fail;
    }
    if (force && n_alias) {
        sqlite3_stmt *st = prep(r, "SELECT alias FROM aliases WHERE name=? AND tag=?");
        if (!st) { s = HEARTH_ERR_IO; goto fail; }
        bind_text(st, 1, name);
        bind_text(st, 2, tag);
        char aliases[64][HEARTH_REGISTRY_MAX_TAG + 1];
        int na = 0;
        while (sqlite3_step(st) == SQLITE_ROW && na < 64)
            snprintf(aliases[na++], HEARTH_REGISTRY_MAX_TAG + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        for (int i = 0; i < na && !s; i++) s = reg_alias_move(r, name, aliases[i], NULL, "its version was removed");
        if (s) goto fail;
    }
    sqlite3_stmt *st = prep(r, "DELETE FROM versions WHERE name=? AND tag=?");
    if (!st) { s = HEARTH_ERR_IO; goto fail; }
    bind_text(st, 1, name);
    bind_text(st, 2, tag);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) { s = reg_sql_error(r, "removing a version"); goto fail; }
    hearth_buf_free(&al);
    hearth_buf_free(&dep);
    return reg_commit(r);
fail:
    hearth_buf_free(&al);
    hearth_buf_free(&dep);
    reg_rollback(r);
    return s;
}

/* Whether digest is still referred to (column col of versions). */
static bool referenced(hearth_registry *r, const char *col, const char *digest) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT 1 FROM versions WHERE %s=? LIMIT 1", col);
    sqlite3_stmt *st = prep(r, sql);
    if (!st) return true;   /* in doubt, keep it */
    bind_text(st, 1, digest);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc != SQLITE_DONE;
}

/* Removes the unreferenced sha256-* files of DIR/sub (all files older than
 * an hour when col is NULL: leftovers of interrupted writes). */
static hearth_status sweep(hearth_registry *r, const char *sub, const char *col, int64_t *files, int64_t *bytes) {
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/%s", r->dir, sub);
    DIR *dir = opendir(d);
    if (!dir) return hearth_set_error(HEARTH_ERR_IO, "cannot read %s: %s", d, strerror(errno));
    struct dirent *de;
    time_t now = time(NULL);
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.') continue;
        char p[PATH_MAX + 300];
        snprintf(p, sizeof p, "%s/%s", d, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        bool drop;
        if (col) {
            char dg[HEARTH_DIGEST_LEN + 1];
            if (!reg_digest_norm(de->d_name, dg)) continue;   /* not ours: leave it */
            drop = !referenced(r, col, dg);
        } else {
            drop = now - st.st_mtime > 3600;
        }
        if (drop && unlink(p) == 0) {
            (*files)++;
            *bytes += st.st_size;
        }
    }
    closedir(dir);
    return HEARTH_OK;
}

hearth_status hearth_registry_gc(hearth_registry *r, int64_t *files_removed, int64_t *bytes_freed) {
    int64_t f = 0, b = 0;
    /* hold the write lock so no version is added between the check and the unlink */
    hearth_status s = reg_begin(r);
    if (s) return s;
    if (!(s = sweep(r, "manifests", "manifest", &f, &b)) && !(s = sweep(r, "blobs", "digest", &f, &b)))
        s = sweep(r, "tmp", NULL, &f, &b);
    reg_rollback(r);
    if (files_removed) *files_removed = f;
    if (bytes_freed) *bytes_freed = b;
    return s;
}
