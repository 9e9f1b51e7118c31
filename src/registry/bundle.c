/*
 * bundle.c — offline bundles: export versions (manifests, blobs, aliases)
 * into one file, import them into another store with every digest checked.
 *
 * ---- layout (text header lines, raw bytes) ----------------------------------
 *   hearth-bundle 1\n
 *   index <n>\n <n bytes of JSON> \n
 *       {"versions": [{"name", "tag", "manifest": "sha256:<hex>"}],
 *        "aliases":  [{"name", "alias", "tag"}]}
 *   manifest sha256:<hex> <n>\n <n bytes> \n      (one per version)
 *   blob sha256:<hex> <n>\n <n bytes> \n          (one per distinct blob)
 *   end\n
 * Nothing may follow "end". A record's bytes must hash to the digest in its
 * header; the index must come first; sizes are decimal.
 */
#include "registry_internal.h"

#include "core/buf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUNDLE_MAGIC "hearth-bundle 1"
#define MAX_INDEX (16 << 20)      /* bytes of index JSON */
#define MAX_MANIFEST (1 << 20)    /* bytes of one manifest */

/* ==== export ================================================================ */

static hearth_status put_record(FILE *f, const char *type, const char *digest, const void *data, size_t n) {
    if (fprintf(f, "%s%s%s %zu\n", type, digest ? " " : "", digest ? digest : "", n) < 0 ||
        fwrite(data, 1, n, f) != n || fputc('\n', f) == EOF)
        return hearth_set_error(HEARTH_ERR_IO, "writing the bundle failed: %s", strerror(errno));
    return HEARTH_OK;
}

/* Streams a blob into the bundle, checking it was not altered in the store. */
static hearth_status put_blob(FILE *f, const hearth_registry_entry *e) {
    FILE *in = fopen(e->path, "rb");
    if (!in) return hearth_set_error(HEARTH_ERR_IO, "blob of %s:%s is missing (%s): %s", e->name, e->tag, e->path,
                                     strerror(errno));
    char got[HEARTH_DIGEST_LEN + 1];
    hearth_status s = HEARTH_OK;
    if (fprintf(f, "blob %s %lld\n", e->digest, (long long)e->size) < 0)
        s = hearth_set_error(HEARTH_ERR_IO, "writing the bundle failed: %s", strerror(errno));
    if (!s) s = reg_hash_copy(in, e->path, e->size, f, "the bundle", got, NULL);
    fclose(in);
    if (!s && strcmp(got, e->digest) != 0)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "blob of %s:%s (%s) was altered in the store: its SHA-256 is %s",
                             e->name, e->tag, e->path, got);
    if (!s && fputc('\n', f) == EOF) s = hearth_set_error(HEARTH_ERR_IO, "writing the bundle failed: %s", strerror(errno));
    return s;
}

static hearth_status read_manifest_text(hearth_registry *r, const char *digest, char **text, size_t *len) {
    char *p = reg_obj_path(r, "manifests", digest);
    if (!p) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    hearth_status s = hearth_read_file(p, text, len);
    free(p);
    return s;
}

hearth_status hearth_registry_export(hearth_registry *r, const char *const *refs, size_t n_refs, const char *path) {
    if (!n_refs) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "nothing to export: name at least one NAME:TAG");
    hearth_registry_entry *v = calloc(n_refs, sizeof *v);
    if (!v) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    hearth_status s = HEARTH_OK;
    size_t n = 0;
    for (; n < n_refs && !s; n++) s = hearth_registry_resolve(r, refs[n], &v[n]);
    if (s) n--;
    cJSON *index = cJSON_CreateObject(), *vers = cJSON_AddArrayToObject(index, "versions"),
          *als = cJSON_AddArrayToObject(index, "aliases");
    for (size_t i = 0; !s && i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) dup |= strcmp(v[j].manifest_digest, v[i].manifest_digest) == 0;
        if (dup) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", v[i].name);
        cJSON_AddStringToObject(o, "tag", v[i].tag);
        cJSON_AddStringToObject(o, "manifest", v[i].manifest_digest);
        cJSON_AddItemToArray(vers, o);
        for (int a = 0; a < v[i].n_aliases; a++) {
            cJSON *al = cJSON_CreateObject();
            cJSON_AddStringToObject(al, "name", v[i].name);
            cJSON_AddStringToObject(al, "alias", v[i].aliases[a]);
            cJSON_AddStringToObject(al, "tag", v[i].tag);
            cJSON_AddItemToArray(als, al);
        }
    }
    char *json = s ? NULL : cJSON_PrintUnformatted(index);
    cJSON_Delete(index);
    if (!s && !json) s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");

    /* written beside the destination, renamed over it at the end */
    hearth_buf tmpb = {0};
    hearth_buf_printf(&tmpb, "%s.partial-XXXXXX", path);
    char *tmp = tmpb.oom ? NULL : hearth_buf_take(&tmpb, NULL);
    FILE *f = NULL;
    if (!s) {
        int fd = tmp ? mkstemp(tmp) : -1;
        if (fd < 0 || !(f = fdopen(fd, "wb"))) {
            s = hearth_set_error(HEARTH_ERR_IO, "cannot write %s: %s", path, strerror(errno));
            if (fd >= 0) { close(fd); unlink(tmp); }
        }
    }
    if (!s && fprintf(f, BUNDLE_MAGIC "\n") < 0) s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed", path);
    if (!s) s = put_record(f, "index", NULL, json, strlen(json));
    for (size_t i = 0; !s && i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) dup |= strcmp(v[j].manifest_digest, v[i].manifest_digest) == 0;
        if (dup) continue;
        char *text = NULL;
        size_t len = 0;
        if (!(s = read_manifest_text(r, v[i].manifest_digest, &text, &len)))
            s = put_record(f, "manifest", v[i].manifest_digest, text, len);
        free(text);
    }
    for (size_t i = 0; !s && i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) dup |= strcmp(v[j].digest, v[i].digest) == 0;
        if (!dup) s = put_blob(f, &v[i]);
    }
    if (!s && fprintf(f, "end\n") < 0) s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed", path);
    if (f) {
        if (!s && (fflush(f) != 0 || fsync(fileno(f)) != 0))
            s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed: %s", path, strerror(errno));
        if (fclose(f) != 0 && !s) s = hearth_set_error(HEARTH_ERR_IO, "writing %s failed: %s", path, strerror(errno));
        if (!s && rename(tmp, path) != 0) s = hearth_set_error(HEARTH_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        if (s) unlink(tmp);
    }
    free(tmp);
    free(json);
    hearth_registry_entries_free(v, n_refs);
    return s;
}

/* ==== import ================================================================ */

typedef struct imported {
    char **files;   /* files this import created (deleted on failure) */
    size_t n, cap;
} imported;

static void note_created(imported *im, const char *sub, hearth_registry *r, const char *digest) {
    char *p = reg_obj_path(r, sub, digest);
    if (p && HEARTH_GROW(im->files, im->cap, im->n + 1)) im->files[im->n++] = p;
    else free(p);
}

/* One header line (without '\n') into line; false at EOF or when too long. */
static bool read_line(FILE *f, char *line, size_t cap) {
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n + 1 >= cap) return false;
        line[n++] = (char)c;
    }
    line[n] = 0;
    return c == '\n';
}

static bool parse_size(const char *s, int64_t *out) {
    if (!*s) return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

/* "TYPE sha256:<hex> <size>" (or "index <size>") */
static hearth_status parse_header(const char *line, const char *bpath, int64_t off, char *type,
                                  char digest[HEARTH_DIGEST_LEN + 1], int64_t *size) {
    char a[16] = "", b[80] = "", c[24] = "";
    int k = sscanf(line, "%15s %79s %23s", a, b, c);
    strcpy(type, a);
    digest[0] = 0;
    if (k == 2 && strcmp(a, "index") == 0 && parse_size(b, size)) return HEARTH_OK;
    if (k == 1 && strcmp(a, "end") == 0) return HEARTH_OK;
    if (k == 3 && (strcmp(a, "manifest") == 0 || strcmp(a, "blob") == 0) && strncmp(b, "sha256:", 7) == 0 &&
        reg_digest_norm(b, digest) && strcmp(b, digest) == 0 && parse_size(c, size))
        return HEARTH_OK;
    return hearth_set_error(HEARTH_ERR_FORMAT, "%s: bad record header at byte %lld: '%.60s'", bpath, (long long)off, line);
}

static hearth_status expect_newline(FILE *f, const char *bpath, const char *what) {
    return fgetc(f) == '\n' ? HEARTH_OK
                            : hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s is not followed by a newline (truncated?)", bpath, what);
}

typedef struct bundle_version {
    char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1];
    char manifest[HEARTH_DIGEST_LEN + 1];
    hearth_registry_entry e;   /* parsed from the manifest record */
    bool have;
} bundle_version;

static hearth_status parse_index(const char *json, size_t len, const char *bpath, bundle_version **out, size_t *n,
                                 cJSON **aliases) {
    cJSON *o = cJSON_ParseWithLength(json, len);
    const cJSON *vers = o ? cJSON_GetObjectItemCaseSensitive(o, "versions") : NULL;
    cJSON *als = o ? cJSON_DetachItemFromObjectCaseSensitive(o, "aliases") : NULL;
    hearth_status s = HEARTH_OK;
    if (!cJSON_IsArray(vers) || (als && !cJSON_IsArray(als)))
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the index is not {\"versions\": [...], \"aliases\": [...]}", bpath);
    int cnt = s ? 0 : cJSON_GetArraySize(vers);
    bundle_version *v = s ? NULL : calloc(cnt ? (size_t)cnt : 1, sizeof *v);
    if (!s && !v) s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < cnt; i++) {
        const cJSON *it = cJSON_GetArrayItem(vers, i);
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name"), *tg = cJSON_GetObjectItemCaseSensitive(it, "tag"),
                    *mf = cJSON_GetObjectItemCaseSensitive(it, "manifest");
        if (!cJSON_IsString(nm) || !cJSON_IsString(tg) || !cJSON_IsString(mf) ||
            !reg_digest_norm(mf->valuestring, v[i].manifest))
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: index entry %d needs \"name\", \"tag\" and a \"manifest\" digest",
                                 bpath, i);
        else if (hearth_registry_check_name(nm->valuestring) || hearth_registry_check_tag(tg->valuestring))
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: index entry %d: %s", bpath, i, hearth_last_error());
        else {
            snprintf(v[i].name, sizeof v[i].name, "%s", nm->valuestring);
            snprintf(v[i].tag, sizeof v[i].tag, "%s", tg->valuestring);
        }
    }
    cJSON_Delete(o);
    if (s) { free(v); cJSON_Delete(als); return s; }
    *out = v;
    *n = (size_t)cnt;
    *aliases = als;
    return HEARTH_OK;
}

/* Streams n bytes of f into blobs/, checking the digest. */
static hearth_status take_blob(hearth_registry *r, FILE *f, const char *bpath, const char *digest, int64_t n,
                               imported *im) {
    char *final = reg_obj_path(r, "blobs", digest), got[HEARTH_DIGEST_LEN + 1], what[128];
    if (!final) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    snprintf(what, sizeof what, "blob %.20s... in the bundle", digest);
    FILE *out = NULL;
    char *tmp = NULL;
    hearth_status s = reg_tmp_open(r, &out, &tmp);
    if (!s) s = reg_hash_copy(f, what, n, out, "a blob in the store", got, NULL);
    if (!s && strcmp(got, digest) != 0)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: blob %s was tampered with or damaged: its contents hash to %s; "
                             "nothing imported", bpath, digest, got);
    if (s) {
        if (out) { fclose(out); unlink(tmp); }
    } else if (access(final, F_OK) == 0) {
        fclose(out);
        unlink(tmp);
    } else if (!(s = reg_tmp_commit(out, tmp, final))) {
        note_created(im, "blobs", r, digest);
    }
    free(tmp);
    free(final);
    return s;
}

/* Reads every record; files land in the store, the catalogue is untouched. */
static hearth_status read_records(hearth_registry *r, FILE *f, const char *bpath, imported *im, bundle_version **vout,
                                  size_t *nv, cJSON **aliases) {
    char line[256], type[16], digest[HEARTH_DIGEST_LEN + 1];
    int64_t size = 0;
    if (!read_line(f, line, sizeof line) || strcmp(line, BUNDLE_MAGIC) != 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s is not a hearth bundle (no '" BUNDLE_MAGIC "' line)", bpath);
    bundle_version *v = NULL;
    size_t n = 0;
    hearth_status s = HEARTH_OK;
    bool ended = false;
    while (!s && !ended) {
        int64_t off = (int64_t)ftello(f);
        if (!read_line(f, line, sizeof line)) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s ends early at byte %lld (no 'end' record)", bpath, (long long)off);
            break;
        }
        if ((s = parse_header(line, bpath, off, type, digest, &size))) break;
        if (strcmp(type, "end") == 0) { ended = true; break; }
        if (!v && strcmp(type, "index") != 0) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the first record must be the index", bpath);
            break;
        }
        if (strcmp(type, "blob") == 0) {
            if (!(s = take_blob(r, f, bpath, digest, size, im))) s = expect_newline(f, bpath, "a blob");
            continue;
        }
        if (strcmp(type, "index") == 0 ? (v || size > MAX_INDEX) : size > MAX_MANIFEST) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s record at byte %lld is %s", bpath, type, (long long)off,
                                 v && strcmp(type, "index") == 0 ? "repeated" : "too large");
            break;
        }
        char *text = malloc((size_t)size + 1);
        if (!text) { s = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory"); break; }
        if (fread(text, 1, (size_t)size, f) != (size_t)size)
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s ends early inside the %s record at byte %lld", bpath, type,
                                 (long long)off);
        if (!s) s = expect_newline(f, bpath, type);
        if (!s && strcmp(type, "index") == 0) {
            s = parse_index(text, (size_t)size, bpath, &v, &n, aliases);
        } else if (!s) {
            unsigned char h[crypto_hash_sha256_BYTES];
            char got[HEARTH_DIGEST_LEN + 1], put[HEARTH_DIGEST_LEN + 1];
            crypto_hash_sha256(h, (const unsigned char *)text, (size_t)size);
            reg_digest_hex(h, got);
            bundle_version *bv = NULL;
            for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].manifest, digest) == 0 && !v[i].have) { bv = &v[i]; break; }
            bool created = false;
            if (strcmp(got, digest) != 0)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: manifest %s was tampered with or damaged (hashes to %s)",
                                     bpath, digest, got);
            else if (!bv)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: manifest %s is not in the index", bpath, digest);
            else if ((s = reg_manifest_parse(text, (size_t)size, &bv->e)))
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: manifest %s: %s", bpath, digest, hearth_last_error());
            else if (strcmp(bv->e.name, bv->name) != 0 || strcmp(bv->e.tag, bv->tag) != 0)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: manifest %s names %s:%s, the index %s:%s", bpath, digest,
                                     bv->e.name, bv->e.tag, bv->name, bv->tag);
            else if (!(s = reg_manifest_put(r, text, (size_t)size, put, &created))) {
                bv->have = true;
                snprintf(bv->e.manifest_digest, sizeof bv->e.manifest_digest, "%s", digest);
                if (created) note_created(im, "manifests", r, digest);
            }
        }
        free(text);
    }
    if (!s && fgetc(f) != EOF) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: data after the 'end' record", bpath);
    if (!s && !v) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s has no index", bpath);
    for (size_t i = 0; !s && i < n; i++) {
        char *b = v[i].have ? reg_obj_path(r, "blobs", v[i].e.digest) : NULL;
        if (!v[i].have)
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the manifest of %s:%s is missing", bpath, v[i].name, v[i].tag);
        else if (!b || access(b, F_OK) != 0)
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the blob %s of %s:%s is missing", bpath, v[i].e.digest,
                                 v[i].name, v[i].tag);
        free(b);
    }
    *vout = v;
    *nv = n;
    return s;
}

/* Adds the versions and absent aliases in one transaction. */
static hearth_status register_all(hearth_registry *r, bundle_version *v, size_t n, const cJSON *aliases,
                                  const char *bpath) {
    hearth_status s = reg_begin(r);
    if (s) return s;
    for (size_t i = 0; !s && i < n; i++) {
        char ref[HEARTH_REGISTRY_MAX_NAME + HEARTH_REGISTRY_MAX_TAG + 2];
        snprintf(ref, sizeof ref, "%s:%s", v[i].name, v[i].tag);
        hearth_registry_entry cur;
        if (hearth_registry_resolve(r, ref, &cur) == HEARTH_OK) {
            bool same = strcmp(cur.manifest_digest, v[i].manifest) == 0;
            hearth_registry_entry_clear(&cur);
            if (!same)
                s = hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: %s already exists here with other contents; "
                                     "nothing imported", bpath, ref);
            continue;
        }
        s = reg_catalog_insert(r, &v[i].e);
    }
    const cJSON *al;
    cJSON_ArrayForEach(al, aliases) {
        if (s) break;
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(al, "name"), *a = cJSON_GetObjectItemCaseSensitive(al, "alias"),
                    *tg = cJSON_GetObjectItemCaseSensitive(al, "tag");
        if (!cJSON_IsString(nm) || !cJSON_IsString(a) || !cJSON_IsString(tg) || hearth_registry_check_name(nm->valuestring) ||
            hearth_registry_check_tag(a->valuestring) || hearth_registry_check_tag(tg->valuestring)) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: a bad alias entry in the index", bpath);
            break;
        }
        char ref[HEARTH_REGISTRY_MAX_NAME + HEARTH_REGISTRY_MAX_TAG + 2];
        hearth_registry_entry cur;
        snprintf(ref, sizeof ref, "%s:%s", nm->valuestring, tg->valuestring);
        if ((s = hearth_registry_resolve(r, ref, &cur))) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: alias %s@%s points at %s, which is not here", bpath,
                                 nm->valuestring, a->valuestring, ref);
            break;
        }
        hearth_registry_entry_clear(&cur);
        snprintf(ref, sizeof ref, "%s@%s", nm->valuestring, a->valuestring);
        if (hearth_registry_resolve(r, ref, &cur) == HEARTH_OK) {   /* an alias here stays as it is */
            hearth_registry_entry_clear(&cur);
            continue;
        }
        s = reg_alias_move(r, nm->valuestring, a->valuestring, tg->valuestring, "imported");
    }
    if (s) { reg_rollback(r); return s; }
    return reg_commit(r);
}

hearth_status hearth_registry_import(hearth_registry *r, const char *path, size_t *n_versions) {
    if (n_versions) *n_versions = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    imported im = {0};
    bundle_version *v = NULL;
    size_t n = 0;
    cJSON *aliases = NULL;
    hearth_status s = read_records(r, f, path, &im, &v, &n, &aliases);
    fclose(f);
    if (!s) s = register_all(r, v, n, aliases, path);
    if (s) {   /* the store as it was: drop what this import wrote */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        for (size_t i = 0; i < im.n; i++) unlink(im.files[i]);
        hearth_set_error(s, "%s", msg);
    } else if (n_versions) {
        *n_versions = n;
    }
    for (size_t i = 0; i < im.n; i++) free(im.files[i]);
    free(im.files);
    for (size_t i = 0; i < n; i++) hearth_registry_entry_clear(&v[i].e);
    free(v);
    cJSON_Delete(aliases);
    return s;
}
