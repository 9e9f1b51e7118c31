/*
 * store.c — a collection's file: opening (schema, pragmas), information,
 * listing, dropping, snapshots and restores, documents and their removal.
 *
 * The file DIR/NAME.hearth-rag is a SQLite database in WAL mode with
 * synchronous=FULL: a committed transaction survives a crash or power loss.
 */
#include "rag_internal.h"

#include "hearth/index.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RAG_EXT ".hearth-rag"
#define RAG_FORMAT "hearth-rag 1"

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY, source TEXT UNIQUE NOT NULL, hash TEXT NOT NULL,"
    " settings TEXT NOT NULL, format TEXT, attributes TEXT, n_chunks INTEGER NOT NULL DEFAULT 0,"
    " file_bytes INTEGER NOT NULL DEFAULT 0, text_bytes INTEGER NOT NULL DEFAULT 0, ingested REAL);"
    "CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " kind TEXT NOT NULL DEFAULT 'text', text TEXT NOT NULL, heading TEXT, page INTEGER NOT NULL DEFAULT 0,"
    " char_start INTEGER NOT NULL DEFAULT 0, char_end INTEGER NOT NULL DEFAULT 0, vec BLOB, UNIQUE(doc, idx));"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text, heading, content='chunks', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN"
    " INSERT INTO fts(rowid, text, heading) VALUES (new.id, new.text, coalesce(new.heading, '')); END;"
    "CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN"
    " INSERT INTO fts(fts, rowid, text, heading) VALUES('delete', old.id, old.text, coalesce(old.heading, '')); END;";

/* ==== helpers ======================================================================= */
hearth_status rag_sql_error(hearth_rag *r, const char *what) {
    return hearth_set_error(HEARTH_ERR_IO, "collection %s: %s: %s", r->name, what, sqlite3_errmsg(r->db));
}

hearth_status rag_wrap_error(hearth_status st, const char *a, const char *b) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", hearth_last_error());
    return hearth_set_error(st, "%s%s%s", a, b, msg);
}

void rag_rollback(hearth_rag *r) { sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL); }

bool rag_exec(hearth_rag *r, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(r->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        hearth_set_error(HEARTH_ERR_IO, "collection %s: %s", r->name, err ? err : sqlite3_errmsg(r->db));
        sqlite3_free(err);
        return false;
    }
    return true;
}

char *rag_meta_get(hearth_rag *r, const char *key) {
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

bool rag_meta_set(hearth_rag *r, const char *key, const char *value) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
        return rag_sql_error(r, "meta"), false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok) rag_sql_error(r, "meta");
    sqlite3_finalize(st);
    return ok;
}

bool rag_bump_gen(hearth_rag *r) {
    return rag_exec(r, "INSERT INTO meta(key, value) VALUES ('vec_gen', '1') ON CONFLICT(key) DO UPDATE SET "
                       "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)");
}

int64_t rag_gen(hearth_rag *r) {
    char *v = rag_meta_get(r, "vec_gen");
    int64_t g = v ? strtoll(v, NULL, 10) : 0;
    free(v);
    return g;
}

int32_t rag_dim(hearth_rag *r) {
    char *v = rag_meta_get(r, "dim");
    int32_t d = v ? (int32_t)atoi(v) : 0;
    free(v);
    return d;
}

bool rag_valid_name(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > HEARTH_RAG_NAME_MAX || name[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return false;
    }
    return true;
}

static char *coll_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + sizeof RAG_EXT + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s", dir, name, RAG_EXT);
    return p;
}

static hearth_status check_name(const char *name) {
    if (!rag_valid_name(name))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "collection name '%s': 1..%d characters of A-Z a-z 0-9 _ . - (not starting with '.')",
                                name ? name : "", HEARTH_RAG_NAME_MAX);
    return HEARTH_OK;
}

static hearth_status mkdirs(const char *dir) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s: path too long", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return hearth_set_error(HEARTH_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return hearth_set_error(HEARTH_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
    return HEARTH_OK;
}

/* ==== open / close =================================================================== */
hearth_status hearth_rag_open(const char *dir, const char *name, bool create, hearth_rag **out) {
    *out = NULL;
    hearth_status st = check_name(name);
    if (st) return st;
    if (!dir || !*dir) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "rag: no store folder (--db) given");
    char *path = coll_path(dir, name);
    if (!path) return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (!create) {
            free(path);
            return hearth_set_error(HEARTH_ERR_NOT_FOUND, "unknown collection '%s' in %s", name, dir);
        }
        if ((st = mkdirs(dir))) {
            free(path);
            return st;
        }
    }
    hearth_rag *r = calloc(1, sizeof *r);
    if (!r) {
        free(path);
        return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->path = path;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        st = hearth_set_error(HEARTH_ERR_IO, "collection %s: cannot open %s: %s", name, path,
                              r->db ? sqlite3_errmsg(r->db) : "out of memory");
        hearth_rag_close(r);
        return st;
    }
    sqlite3_busy_timeout(r->db, 30000);
    if (!rag_exec(r, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")) goto bad;
    char *fmt = NULL;
    /* an existing file must be a collection */
    sqlite3_stmt *q;
    bool has_meta = false;
    if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM sqlite_master WHERE name = 'meta'", -1, &q, NULL) != SQLITE_OK) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "collection %s: %s is not a hearth collection (%s)", name, path,
                              sqlite3_errmsg(r->db));
        hearth_rag_close(r);
        return st;
    }
    has_meta = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (has_meta) {
        fmt = rag_meta_get(r, "format");
        bool ok = fmt && !strcmp(fmt, RAG_FORMAT);
        free(fmt);
        if (!ok) {
            st = hearth_set_error(HEARTH_ERR_FORMAT, "collection %s: %s is not a '%s' file", name, path, RAG_FORMAT);
            hearth_rag_close(r);
            return st;
        }
    }
    if (!has_meta) {   /* a new collection: its tables, in one transaction */
        if (!rag_exec(r, "BEGIN IMMEDIATE")) goto bad;
        char now[32];
        snprintf(now, sizeof now, "%.3f", (double)time(NULL));
        if (!rag_exec(r, SCHEMA) || !rag_meta_set(r, "format", RAG_FORMAT) || !rag_meta_set(r, "created", now)) {
            rag_rollback(r);
            goto bad;
        }
        if (!rag_exec(r, "COMMIT")) goto bad;
    }
    *out = r;
    return HEARTH_OK;
bad:
    st = HEARTH_ERR_IO;   /* its message is set */
    hearth_rag_close(r);
    return st;
}

void hearth_rag_close(hearth_rag *r) {
    if (!r) return;
    hearth_index_close(r->ix);
    sqlite3_close_v2(r->db);
    free(r->path);
    free(r);
}

/* ==== information ===================================================================== */
static int64_t count(hearth_rag *r, const char *sql) {
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

hearth_status hearth_rag_get_info(hearth_rag *r, hearth_rag_info *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", r->name);
    out->n_docs = count(r, "SELECT count(*) FROM docs");
    out->n_chunks = count(r, "SELECT count(*) FROM chunks");
    out->n_vectors = count(r, "SELECT count(*) FROM chunks WHERE vec IS NOT NULL");
    out->text_bytes = count(r, "SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) FROM chunks");
    struct stat sb;
    if (stat(r->path, &sb) == 0) out->file_bytes = (int64_t)sb.st_size;
    out->dim = rag_dim(r);
    char *v = rag_meta_get(r, "embed_model");
    if (v) snprintf(out->embed_model, sizeof out->embed_model, "%s", v);
    free(v);
    v = rag_meta_get(r, "created");
    out->created = v ? atof(v) : 0;
    free(v);
    out->metadata = rag_meta_get(r, "metadata");
    return HEARTH_OK;
}

void hearth_rag_info_clear(hearth_rag_info *i) {
    if (!i) return;
    free(i->metadata);
    i->metadata = NULL;
}

hearth_status hearth_rag_set_metadata(hearth_rag *r, const char *json) {
    cJSON *o = cJSON_Parse(json ? json : "");
    bool ok = o && cJSON_IsObject(o);
    cJSON_Delete(o);
    if (!ok) return hearth_set_error(HEARTH_ERR_FORMAT, "collection %s: metadata must be a JSON object", r->name);
    return rag_meta_set(r, "metadata", json) ? HEARTH_OK : HEARTH_ERR_IO;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

hearth_status hearth_rag_list(const char *dir, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? HEARTH_OK : hearth_set_error(HEARTH_ERR_IO, "%s: %s", dir, strerror(errno));
    char **v = NULL;
    size_t cap = 0, k = 0;
    struct dirent *e;
    size_t el = strlen(RAG_EXT);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= el || strcmp(e->d_name + l - el, RAG_EXT)) continue;
        char *nm = strndup(e->d_name, l - el);
        if (!nm || !rag_valid_name(nm) || !HEARTH_GROW(v, cap, k + 1)) {
            free(nm);
            continue;
        }
        v[k++] = nm;
    }
    closedir(d);
    if (k) qsort(v, k, sizeof *v, cmp_str);
    *names = v;
    *n = k;
    return HEARTH_OK;
}

void hearth_rag_names_free(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

hearth_status hearth_rag_drop(const char *dir, const char *name) {
    hearth_status st = check_name(name);
    if (st) return st;
    char *path = coll_path(dir, name);
    if (!path) return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    if (unlink(path) != 0) {
        st = errno == ENOENT ? hearth_set_error(HEARTH_ERR_NOT_FOUND, "unknown collection '%s' in %s", name, dir)
                             : hearth_set_error(HEARTH_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
        free(path);
        return st;
    }
    char side[4200];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rag_index_drop_files(path, -1);
    free(path);
    return HEARTH_OK;
}

/* ==== snapshots ========================================================================= */
hearth_status hearth_rag_snapshot(const char *dir, const char *name, const char *file) {
    hearth_rag *r;
    hearth_status st = hearth_rag_open(dir, name, false, &r);
    if (st) return st;
    if (access(file, F_OK) == 0) {
        hearth_rag_close(r);
        return hearth_set_error(HEARTH_ERR_IO, "snapshot %s: the file exists (choose a new name)", file);
    }
    sqlite3_stmt *q;
    st = HEARTH_OK;
    if (sqlite3_prepare_v2(r->db, "VACUUM INTO ?", -1, &q, NULL) != SQLITE_OK) {
        st = rag_sql_error(r, "snapshot");
    } else {
        sqlite3_bind_text(q, 1, file, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            st = hearth_set_error(HEARTH_ERR_IO, "snapshot of %s to %s: %s", name, file, sqlite3_errmsg(r->db));
        sqlite3_finalize(q);
    }
    hearth_rag_close(r);
    return st;
}

hearth_status hearth_rag_restore(const char *dir, const char *name, const char *file) {
    hearth_status st = check_name(name);
    if (st) return st;
    if (access(file, R_OK) != 0) return hearth_set_error(HEARTH_ERR_IO, "restore: %s cannot be read", file);
    sqlite3 *src = NULL;
    char *cp = coll_path(dir, name);
    if (cp) rag_index_drop_files(cp, -1);   /* an index of the old content must not pass for the new */
    free(cp);
    if (sqlite3_open_v2(file, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(src);
        return hearth_set_error(HEARTH_ERR_FORMAT, "restore: %s is not a collection snapshot", file);
    }
    /* it must be a collection, and whole */
    sqlite3_stmt *q;
    bool ok = false;
    if (sqlite3_prepare_v2(src, "SELECT value FROM meta WHERE key = 'format'", -1, &q, NULL) == SQLITE_OK) {
        ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) &&
             !strcmp((const char *)sqlite3_column_text(q, 0), RAG_FORMAT);
        sqlite3_finalize(q);
    }
    if (ok && sqlite3_prepare_v2(src, "PRAGMA quick_check", -1, &q, NULL) == SQLITE_OK) {
        ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) &&
             !strcmp((const char *)sqlite3_column_text(q, 0), "ok");
        sqlite3_finalize(q);
    }
    if (!ok) {
        sqlite3_close(src);
        return hearth_set_error(HEARTH_ERR_FORMAT, "restore: %s is not a hearth collection snapshot (or is damaged)",
                                file);
    }
    hearth_rag *r;
    if ((st = hearth_rag_open(dir, name, true, &r))) {
        sqlite3_close(src);
        return st;
    }
    sqlite3_backup *b = sqlite3_backup_init(r->db, "main", src, "main");
    if (!b) st = rag_sql_error(r, "restore");
    else {
        int rc = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE)
            st = hearth_set_error(HEARTH_ERR_IO, "restore of %s from %s: %s", name, file, sqlite3_errstr(rc));
    }
    sqlite3_close(src);
    hearth_rag_close(r);
    return st;
}

/* ==== documents ======================================================================= */
bool rag_delete_doc(hearth_rag *r, int64_t doc_id) {
    if (!rag_bump_gen(r)) return false;
    sqlite3_stmt *st;
    const char *sql[] = {"DELETE FROM chunks WHERE doc = ?", "DELETE FROM docs WHERE id = ?"};
    for (int i = 0; i < 2; i++) {
        if (sqlite3_prepare_v2(r->db, sql[i], -1, &st, NULL) != SQLITE_OK) return rag_sql_error(r, "delete"), false;
        sqlite3_bind_int64(st, 1, doc_id);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return rag_sql_error(r, "delete"), false;
    }
    return true;
}

hearth_status hearth_rag_remove(hearth_rag *r, const char *source) {
    sqlite3_stmt *st;
    if (!rag_exec(r, "BEGIN IMMEDIATE")) return HEARTH_ERR_IO;
    if (sqlite3_prepare_v2(r->db, "SELECT id FROM docs WHERE source = ?", -1, &st, NULL) != SQLITE_OK) {
        rag_rollback(r);
        return rag_sql_error(r, "remove");
    }
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    int64_t id = -1;
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (id < 0) {
        rag_rollback(r);
        return hearth_set_error(HEARTH_ERR_NOT_FOUND, "collection %s has no document '%s'", r->name, source);
    }
    if (!rag_delete_doc(r, id) || !rag_exec(r, "COMMIT")) {
        hearth_status s = HEARTH_ERR_IO;   /* its message is set */
        rag_rollback(r);
        return s;
    }
    return HEARTH_OK;
}

static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

hearth_status hearth_rag_docs(hearth_rag *r, hearth_rag_doc_info **docs, size_t *n) {
    *docs = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT source, format, attributes, hash, n_chunks, file_bytes, text_bytes, ingested "
                           "FROM docs ORDER BY source",
                           -1, &st, NULL) != SQLITE_OK)
        return rag_sql_error(r, "documents");
    hearth_rag_doc_info *v = NULL;
    size_t cap = 0, k = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!HEARTH_GROW(v, cap, k + 1)) {
            sqlite3_finalize(st);
            hearth_rag_docs_free(v, k);
            return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
        }
        hearth_rag_doc_info *d = &v[k++];
        memset(d, 0, sizeof *d);
        d->source = col_dup(st, 0);
        d->format = col_dup(st, 1);
        d->attributes = col_dup(st, 2);
        const unsigned char *h = sqlite3_column_text(st, 3);
        snprintf(d->hash, sizeof d->hash, "%s", h ? (const char *)h : "");
        d->n_chunks = sqlite3_column_int64(st, 4);
        d->file_bytes = sqlite3_column_int64(st, 5);
        d->text_bytes = sqlite3_column_int64(st, 6);
        d->ingested = sqlite3_column_double(st, 7);
    }
    sqlite3_finalize(st);
    *docs = v;
    *n = k;
    return HEARTH_OK;
}

void hearth_rag_docs_free(hearth_rag_doc_info *docs, size_t n) {
    for (size_t i = 0; docs && i < n; i++) {
        free(docs[i].source);
        free(docs[i].format);
        free(docs[i].attributes);
    }
    free(docs);
}
