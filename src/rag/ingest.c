/*
 * ingest.c — files and folders into a collection: walking, hashing,
 * skipping what is unchanged, parsing (doc.h), chunking (chunk.c),
 * embedding, and one transaction per document; pruning documents whose
 * files are gone; single items (images) for multimodal collections.
 */
#include "rag_internal.h"

#include "hearth/core.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

hearth_rag_ingest_params hearth_rag_ingest_default_params(void) {
    hearth_rag_ingest_params p = {.chunk_tokens = 200, .overlap_tokens = 40, .by_headings = true, .prune = true,
                                  .doc = hearth_doc_default_params(), .index_min_vectors = 20000};
    return p;
}

const char *hearth_rag_event_name(hearth_rag_event e) {
    switch (e) {
    case HEARTH_RAG_ADDED: return "added";
    case HEARTH_RAG_UPDATED: return "updated";
    case HEARTH_RAG_UNCHANGED: return "unchanged";
    case HEARTH_RAG_REMOVED: return "removed";
    case HEARTH_RAG_FAILED: return "failed";
    }
    return "?";
}

/* ==== helpers ======================================================================== */
static void hash_hex(const void *data, size_t n, char out[65]) {
    unsigned char h[32];
    crypto_generichash(h, sizeof h, data, n, NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* what, besides the content, decides a document's chunks and vectors */
static void settings_of(const hearth_rag_ingest_params *p, char *out, size_t cap) {
    const char *m = p->embed_model ? p->embed_model : "";
    const char *slash = strrchr(m, '/');
    snprintf(out, cap, "chunk=%d overlap=%d headings=%d embed=%s/%d", p->chunk_tokens, p->overlap_tokens,
             p->by_headings ? 1 : 0, p->embedder ? (slash ? slash + 1 : m) : "",
             p->embedder ? hearth_embedder_n_embd(p->embedder) : 0);
}

static hearth_status check_dim(hearth_rag *r, const hearth_rag_ingest_params *p) {
    if (!p->embedder) return HEARTH_OK;
    int32_t d = rag_dim(r), e = hearth_embedder_n_embd(p->embedder);
    if (d && d != e) {
        char *m = rag_meta_get(r, "embed_model");
        hearth_status st = hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                            "dimension mismatch: collection %s holds %d-dimensional vectors (from %s); "
                                            "the embedding model gives %d",
                                            r->name, d, m ? m : "another model", e);
        free(m);
        return st;
    }
    return HEARTH_OK;
}

/* the document row of source: its id, hash and settings (false if absent) */
static bool find_doc(hearth_rag *r, const char *source, int64_t *id, char hash[65], char *settings, size_t scap,
                     int64_t *n_chunks) {
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(r->db, "SELECT id, hash, settings, n_chunks FROM docs WHERE source = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = true;
        *id = sqlite3_column_int64(st, 0);
        snprintf(hash, 65, "%s", sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        snprintf(settings, scap, "%s", sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "");
        *n_chunks = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return found;
}

/* embeds the chunks (heading path + text); vecs: n * dim floats */
static hearth_status embed_chunks(hearth_embedder *e, const hearth_doc *d, const rag_chunk *c, size_t n, float *vecs) {
    int32_t dim = hearth_embedder_n_embd(e);
    hearth_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        hearth_buf_reset(&b);
        if (c[i].heading) {
            hearth_buf_puts(&b, c[i].heading);
            hearth_buf_puts(&b, "\n");
        }
        hearth_buf_put(&b, d->text + c[i].start, c[i].end - c[i].start);
        if (b.oom) {
            hearth_buf_free(&b);
            return hearth_set_error(HEARTH_ERR_NOMEM, "embedding: out of memory");
        }
        size_t len = b.len;
        hearth_status st;
        /* a chunk over the embedder's context (its tokenizer counts differently) is cut */
        while ((st = hearth_embed(e, b.data, len, vecs + i * (size_t)dim, dim)) == HEARTH_ERR_RANGE && len > 16) {
            len = len * 3 / 4;
            while (len > 0 && ((unsigned char)b.data[len] & 0xC0) == 0x80) len--;
        }
        if (st) {
            hearth_buf_free(&b);
            return st;
        }
    }
    hearth_buf_free(&b);
    return HEARTH_OK;
}

/* one transaction: the document's old chunks out, the new ones in */
static hearth_status write_doc(hearth_rag *r, const char *source, const char *hash, const char *settings,
                               const char *format, const char *attributes, const hearth_doc *d, const rag_chunk *c,
                               size_t n, const float *vecs, int32_t dim, const char *embed_model, int64_t file_bytes,
                               bool *updated) {
    if (!rag_exec(r, "BEGIN IMMEDIATE")) return HEARTH_ERR_IO;
    sqlite3_stmt *st = NULL;
    int64_t id = -1, old_n = 0;
    char oh[65], os[256];
    *updated = find_doc(r, source, &id, oh, os, sizeof os, &old_n);
    if (*updated && !rag_delete_doc(r, id)) goto bad;
    if (sqlite3_prepare_v2(r->db,
                           "INSERT INTO docs(source, hash, settings, format, attributes, n_chunks, file_bytes, "
                           "text_bytes, ingested) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto sqlbad;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, settings, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, format, -1, SQLITE_STATIC);
    if (attributes) sqlite3_bind_text(st, 5, attributes, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, (int64_t)n);
    sqlite3_bind_int64(st, 7, file_bytes);
    sqlite3_bind_int64(st, 8, (int64_t)d->len);
    sqlite3_bind_double(st, 9, (double)time(NULL));
    if (sqlite3_step(st) != SQLITE_DONE) goto sqlbad;
    sqlite3_finalize(st);
    id = sqlite3_last_insert_rowid(r->db);
    if (sqlite3_prepare_v2(r->db,
                           "INSERT INTO chunks(doc, idx, kind, text, heading, page, char_start, char_end, vec) "
                           "VALUES (?, ?, 'text', ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto sqlbad;
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        sqlite3_bind_text(st, 3, d->text + c[i].start, (int)(c[i].end - c[i].start), SQLITE_STATIC);
        if (c[i].heading) sqlite3_bind_text(st, 4, c[i].heading, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4);
        sqlite3_bind_int(st, 5, c[i].page);
        sqlite3_bind_int64(st, 6, (int64_t)c[i].start);
        sqlite3_bind_int64(st, 7, (int64_t)c[i].end);
        if (vecs) sqlite3_bind_blob(st, 8, vecs + i * (size_t)dim, dim * (int)sizeof(float), SQLITE_STATIC);
        else sqlite3_bind_null(st, 8);
        if (sqlite3_step(st) != SQLITE_DONE) goto sqlbad;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (vecs && rag_dim(r) == 0) {
        char ds[16];
        snprintf(ds, sizeof ds, "%d", dim);
        if (!rag_meta_set(r, "dim", ds) || !rag_meta_set(r, "embed_model", embed_model ? embed_model : "")) goto bad;
    }
    if (vecs && !rag_bump_gen(r)) goto bad;
    if (!rag_exec(r, "COMMIT")) goto bad;
    return HEARTH_OK;
sqlbad:
    rag_sql_error(r, source);
bad:;
    hearth_status s = HEARTH_ERR_IO;   /* its message is set */
    sqlite3_finalize(st);
    rag_rollback(r);
    return s;
}

/* ==== one document ==================================================================== */
static hearth_status ingest_parsed(hearth_rag *r, const char *source, const hearth_doc *d, const char *hash,
                                   int64_t file_bytes, const hearth_rag_ingest_params *p, hearth_rag_event *ev,
                                   int64_t *n_out) {
    rag_chunk *c = NULL;
    size_t n = 0;
    const hearth_vocab *v = p->embedder ? hearth_model_vocab(hearth_embedder_model(p->embedder)) : NULL;
    int32_t ct = p->chunk_tokens;
    if (p->embedder) {
        /* room for [CLS]/[SEP] and the heading path */
        int32_t room = hearth_embedder_n_ctx(p->embedder) - 24;
        if (room > 16 && ct > room) ct = room;
    }
    hearth_status st = rag_chunk_doc(d, ct, p->overlap_tokens, p->by_headings, v, &c, &n);
    if (st) return st;
    float *vecs = NULL;
    int32_t dim = 0;
    if (p->embedder && n > 0) {
        dim = hearth_embedder_n_embd(p->embedder);
        if (!(vecs = malloc(n * (size_t)dim * sizeof *vecs))) {
            rag_chunks_free(c, n);
            return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", source);
        }
        if ((st = embed_chunks(p->embedder, d, c, n, vecs))) {
            st = rag_wrap_error(st, source, ": embedding: ");
            free(vecs);
            rag_chunks_free(c, n);
            return st;
        }
    }
    char settings[256];
    settings_of(p, settings, sizeof settings);
    bool updated = false;
    st = write_doc(r, source, hash ? hash : "", settings, hearth_doc_kind_name(d->kind), p->attributes, d, c, n, vecs,
                   dim, p->embed_model, file_bytes, &updated);
    free(vecs);
    rag_chunks_free(c, n);
    if (st) return st;
    if (ev) *ev = updated ? HEARTH_RAG_UPDATED : HEARTH_RAG_ADDED;
    if (n_out) *n_out = (int64_t)n;
    return HEARTH_OK;
}

hearth_status hearth_rag_ingest_doc(hearth_rag *r, const char *source, const hearth_doc *doc, const char *hash,
                                    int64_t file_bytes, const hearth_rag_ingest_params *pp, hearth_rag_event *event,
                                    int64_t *n_chunks) {
    hearth_rag_ingest_params p = pp ? *pp : hearth_rag_ingest_default_params();
    hearth_status st = check_dim(r, &p);
    if (st) return st;
    if (hash && !p.force) {
        int64_t id, n;
        char oh[65], os[256], settings[256];
        settings_of(&p, settings, sizeof settings);
        if (find_doc(r, source, &id, oh, os, sizeof os, &n) && !strcmp(oh, hash) && !strcmp(os, settings)) {
            if (event) *event = HEARTH_RAG_UNCHANGED;
            if (n_chunks) *n_chunks = n;
            return HEARTH_OK;
        }
    }
    return ingest_parsed(r, source, doc, hash, file_bytes, &p, event, n_chunks);
}

/* ==== walking ========================================================================== */
typedef struct file_ent { char *path; int64_t size; } file_ent;
typedef struct walk { file_ent *f; size_t n, cap; } walk;

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk_dir(walk *w, const char *dir, int depth) {
    if (depth > 64) return;
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;   /* hidden, "." and ".." */
        char *s = strdup(e->d_name);
        if (!s || !HEARTH_GROW(names, cap, n + 1)) {
            free(s);
            continue;
        }
        names[n++] = s;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(l);
        if (p) snprintf(p, l, "%s/%s", dir, names[i]);
        struct stat sb;
        if (p && lstat(p, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) walk_dir(w, p, depth + 1);
            else if ((S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) &&
                     hearth_doc_kind_from_path(p) != HEARTH_DOC_UNKNOWN && stat(p, &sb) == 0 &&
                     S_ISREG(sb.st_mode) && HEARTH_GROW(w->f, w->cap, w->n + 1)) {
                w->f[w->n].path = p;
                w->f[w->n].size = (int64_t)sb.st_size;
                w->n++;
                p = NULL;
            }
        }
        free(p);
        free(names[i]);
    }
    free(names);
}

/* an absolute, normalized path even for a file that no longer exists */
static char *abs_path(const char *path) {
    char buf[PATH_MAX];
    if (realpath(path, buf)) return strdup(buf);
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else snprintf(dir, sizeof dir, ".");
    if (!dir[0]) snprintf(dir, sizeof dir, "/");
    if (!realpath(dir, buf)) return strdup(path);
    size_t l = strlen(buf) + strlen(slash ? slash + 1 : path) + 2;
    char *o = malloc(l);
    if (o) snprintf(o, l, "%s/%s", strcmp(buf, "/") ? buf : "", slash ? slash + 1 : path);
    return o;
}

static void report(const hearth_rag_ingest_params *p, hearth_rag_event ev, const char *source, const char *msg,
                   int64_t n_chunks, int64_t text, int64_t file, int64_t done, int64_t total, int64_t bdone,
                   int64_t btotal) {
    if (!p->on_file) return;
    hearth_rag_file_report fr = {.event = ev, .source = source, .message = msg, .n_chunks = n_chunks,
                                 .text_bytes = text, .file_bytes = file};
    p->on_file(&fr, done, total, bdone, btotal, p->user);
}

/* sources stored under dir/ that the walk did not see: removed */
static hearth_status prune(hearth_rag *r, const char *dir, const walk *w, const hearth_rag_ingest_params *p,
                           hearth_rag_ingest_stats *s) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT source FROM docs WHERE substr(source, 1, ?) = ? ORDER BY source", -1, &st,
                           NULL) != SQLITE_OK)
        return rag_sql_error(r, "prune");
    size_t dl = strlen(dir);
    char *pre = malloc(dl + 2);
    if (!pre) {
        sqlite3_finalize(st);
        return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    }
    snprintf(pre, dl + 2, "%s/", dir);
    sqlite3_bind_int(st, 1, (int)dl + 1);
    sqlite3_bind_text(st, 2, pre, -1, SQLITE_STATIC);
    char **gone = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *src = (const char *)sqlite3_column_text(st, 0);
        bool seen = false;
        for (size_t i = 0; i < w->n && !seen; i++) seen = !strcmp(w->f[i].path, src);
        if (!seen && HEARTH_GROW(gone, cap, n + 1) && (gone[n] = strdup(src))) n++;
    }
    sqlite3_finalize(st);
    free(pre);
    hearth_status rc = HEARTH_OK;
    for (size_t i = 0; i < n; i++) {
        if (!rc && (rc = hearth_rag_remove(r, gone[i])) == HEARTH_OK) {
            s->n_removed++;
            report(p, HEARTH_RAG_REMOVED, gone[i], NULL, 0, 0, 0, s->n_files, s->n_files, 0, 0);
        }
        free(gone[i]);
    }
    free(gone);
    return rc;
}

hearth_status hearth_rag_ingest(hearth_rag *r, const char *const *paths, size_t n_paths,
                                const hearth_rag_ingest_params *pp, hearth_rag_ingest_stats *stats) {
    hearth_rag_ingest_params p = pp ? *pp : hearth_rag_ingest_default_params();
    hearth_rag_ingest_stats s;
    memset(&s, 0, sizeof s);
    if (stats) *stats = s;
    double t0 = hearth_time_s();
    hearth_status st = check_dim(r, &p);
    if (st) return st;
    /* 1. the list of files, with sizes for the progress */
    walk w = {0};
    char **dirs = calloc(n_paths ? n_paths : 1, sizeof *dirs);
    char **missing = calloc(n_paths ? n_paths : 1, sizeof *missing);
    if (!dirs || !missing) {
        free(dirs);
        free(missing);
        return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    }
    for (size_t i = 0; i < n_paths; i++) {
        char *a = abs_path(paths[i]);
        if (!a) continue;
        struct stat sb;
        if (stat(a, &sb) != 0) {
            missing[i] = a;
        } else if (S_ISDIR(sb.st_mode)) {
            walk_dir(&w, a, 0);
            dirs[i] = a;
        } else if (HEARTH_GROW(w.f, w.cap, w.n + 1)) {
            w.f[w.n].path = a;
            w.f[w.n].size = (int64_t)sb.st_size;
            w.n++;
        } else {
            free(a);
        }
    }
    int64_t bytes_total = 0, bytes_done = 0;
    for (size_t i = 0; i < w.n; i++) bytes_total += w.f[i].size;
    s.n_files = (int64_t)w.n;
    char settings[256];
    settings_of(&p, settings, sizeof settings);
    /* 2. each file */
    for (size_t i = 0; i < w.n && !st; i++) {
        if (p.cancel && *p.cancel) {
            st = hearth_set_error(HEARTH_ERR_CANCELLED, "ingestion cancelled after %zu of %zu files", i, w.n);
            break;
        }
        const char *src = w.f[i].path;
        int64_t done = (int64_t)i + 1;
        char *data = NULL;
        size_t len = 0;
        if ((uint64_t)w.f[i].size > p.doc.max_file_bytes) {
            hearth_set_error(HEARTH_ERR_RANGE, "%s: %lld bytes is larger than the limit of %zu bytes", src,
                             (long long)w.f[i].size, p.doc.max_file_bytes);
            goto failed;
        }
        if (hearth_read_file(src, &data, &len) != HEARTH_OK) goto failed;
        char hash[65];
        hash_hex(data, len, hash);
        int64_t id, n_old;
        char oh[65], os[256];
        if (!p.force && find_doc(r, src, &id, oh, os, sizeof os, &n_old) && !strcmp(oh, hash) &&
            !strcmp(os, settings)) {
            free(data);
            bytes_done += w.f[i].size;
            s.n_unchanged++;
            report(&p, HEARTH_RAG_UNCHANGED, src, NULL, n_old, 0, (int64_t)len, done, s.n_files, bytes_done,
                   bytes_total);
            continue;
        }
        hearth_doc d;
        hearth_doc_kind k = hearth_doc_kind_from_path(src);
        if (hearth_doc_parse(data, len, k, src, &p.doc, &d) != HEARTH_OK) {
            free(data);
            goto failed;
        }
        free(data);
        hearth_rag_event ev;
        int64_t nc = 0;
        hearth_status rc = ingest_parsed(r, src, &d, hash, (int64_t)len, &p, &ev, &nc);
        int64_t tl = (int64_t)d.len;
        hearth_doc_clear(&d);
        if (rc == HEARTH_ERR_IO) {   /* the collection cannot be written: stop */
            st = rc;
            break;
        }
        if (rc) goto failed;
        bytes_done += w.f[i].size;
        if (ev == HEARTH_RAG_ADDED) s.n_added++;
        else s.n_updated++;
        s.n_chunks += nc;
        s.text_bytes += tl;
        s.file_bytes += (int64_t)len;
        report(&p, ev, src, NULL, nc, tl, (int64_t)len, done, s.n_files, bytes_done, bytes_total);
        continue;
    failed:
        bytes_done += w.f[i].size;
        s.n_failed++;
        report(&p, HEARTH_RAG_FAILED, src, hearth_last_error(), 0, 0, w.f[i].size, done, s.n_files, bytes_done,
               bytes_total);
    }
    /* 3. what is gone: paths given that no longer exist, files gone from folders */
    for (size_t i = 0; i < n_paths && !st; i++) {
        if (missing[i]) {
            if (p.prune && hearth_rag_remove(r, missing[i]) == HEARTH_OK) {
                s.n_removed++;
                report(&p, HEARTH_RAG_REMOVED, missing[i], NULL, 0, 0, 0, s.n_files, s.n_files, bytes_done,
                       bytes_total);
            } else {
                /* a path that does not exist, and a folder-prune error, are both about this path */
                s.n_failed++;
                char msg[600];
                snprintf(msg, sizeof msg, "%s: no such file or folder", paths[i]);
                report(&p, HEARTH_RAG_FAILED, missing[i], msg, 0, 0, 0, s.n_files, s.n_files, bytes_done,
                       bytes_total);
            }
        } else if (dirs[i] && p.prune && !(p.cancel && *p.cancel)) {
            st = prune(r, dirs[i], &w, &p, &s);
        }
    }
    for (size_t i = 0; i < n_paths; i++) free(dirs[i]), free(missing[i]);
    free(dirs);
    free(missing);
    for (size_t i = 0; i < w.n; i++) free(w.f[i].path);
    free(w.f);
    /* the HNSW index of a large collection whose vectors changed */
    if (!st && p.embedder && p.index_min_vectors > 0 && (s.n_added || s.n_updated || s.n_removed)) {
        hearth_rag_info info;
        hearth_rag_get_info(r, &info);
        hearth_rag_info_clear(&info);
        if (info.n_vectors >= p.index_min_vectors) st = hearth_rag_build_index(r, p.index_threads);
    }
    s.seconds = hearth_time_s() - t0;
    if (stats) *stats = s;
    return st;
}

/* ==== single items ====================================================================== */
hearth_status hearth_rag_add_item(hearth_rag *r, const char *source, const char *kind, const char *text,
                                  const float *vec, int32_t dim, const char *attributes, int64_t *chunk) {
    if (!source || !*source) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "collection %s: an item needs a source", r->name);
    if (!kind || (strcmp(kind, "text") && strcmp(kind, "image")))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "collection %s: item kind '%s' (expected text or image)",
                                r->name, kind ? kind : "");
    if (attributes) {
        cJSON *o = cJSON_Parse(attributes);
        bool ok = o && cJSON_IsObject(o);
        cJSON_Delete(o);
        if (!ok) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: attributes must be a JSON object", source);
    }
    if (!text) text = "";
    float *v = NULL;
    if (vec) {
        int32_t d = rag_dim(r);
        if (dim <= 0 || (d && d != dim))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "dimension mismatch: collection %s holds %d-dimensional vectors; the item %s has %d",
                                    r->name, d, source, dim);
        if (!(v = malloc((size_t)dim * sizeof *v))) return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
        memcpy(v, vec, (size_t)dim * sizeof *v);
        hearth_embed_normalize(v, dim);
    }
    if (!rag_exec(r, "BEGIN IMMEDIATE")) {
        free(v);
        return HEARTH_ERR_IO;
    }
    sqlite3_stmt *st = NULL;
    int64_t id = -1, n = 0;
    char oh[65], os[256];
    if (!find_doc(r, source, &id, oh, os, sizeof os, &n)) {
        if (sqlite3_prepare_v2(r->db,
                               "INSERT INTO docs(source, hash, settings, format, attributes, ingested) "
                               "VALUES (?, '', 'items', ?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK)
            goto bad;
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        if (attributes) sqlite3_bind_text(st, 3, attributes, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 3);
        sqlite3_bind_double(st, 4, (double)time(NULL));
        if (sqlite3_step(st) != SQLITE_DONE) goto bad;
        sqlite3_finalize(st);
        st = NULL;
        id = sqlite3_last_insert_rowid(r->db);
    }
    if (sqlite3_prepare_v2(r->db,
                           "INSERT INTO chunks(doc, idx, kind, text, page, char_start, char_end, vec) "
                           "VALUES (?, (SELECT coalesce(max(idx) + 1, 0) FROM chunks WHERE doc = ?1), ?, ?, 0, 0, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto bad;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)strlen(text));
    if (v) sqlite3_bind_blob(st, 5, v, dim * (int)sizeof(float), SQLITE_STATIC);
    else sqlite3_bind_null(st, 5);
    if (sqlite3_step(st) != SQLITE_DONE) goto bad;
    sqlite3_finalize(st);
    st = NULL;
    int64_t idx = 0;
    if (sqlite3_prepare_v2(r->db, "SELECT idx FROM chunks WHERE id = last_insert_rowid()", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        idx = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE docs SET n_chunks = n_chunks + 1 WHERE id = %lld", (long long)id);
    if (!rag_exec(r, sql)) goto bad;
    if (v && rag_dim(r) == 0) {
        char ds[16];
        snprintf(ds, sizeof ds, "%d", dim);
        if (!rag_meta_set(r, "dim", ds)) goto bad;
    }
    if (v && !rag_bump_gen(r)) goto bad;
    if (!rag_exec(r, "COMMIT")) goto bad;
    free(v);
    if (chunk) *chunk = idx;
    return HEARTH_OK;
bad:;
    hearth_status s = rag_sql_error(r, source);
    sqlite3_finalize(st);
    rag_rollback(r);
    free(v);
    return s;
}
