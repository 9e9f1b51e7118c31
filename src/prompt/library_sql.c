/*
 * library_sql.c — the prompt library's storage: every SQL statement of the
 * library is in this file (SQLite; a PostgreSQL store would replace only
 * this file, as the gateway's storage does).
 *
 * Tables:
 *   prompt_versions (name, version, spec JSON, author, created_ms)  immutable:
 *                    triggers abort any UPDATE or DELETE
 *   prompt_labels   (name, label, version)                          where each label points now
 *   prompt_label_history (id, name, label, from_version, to_version, actor, time_ms)
 */
#include "library_internal.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct pl_store {
    sqlite3 *db;
};

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS prompt_versions (name TEXT NOT NULL, version INTEGER NOT NULL,"
    " spec TEXT NOT NULL, author TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY (name, version));"
    "CREATE TRIGGER IF NOT EXISTS prompt_versions_no_update BEFORE UPDATE ON prompt_versions"
    " BEGIN SELECT RAISE(ABORT, 'prompt versions are immutable'); END;"
    "CREATE TRIGGER IF NOT EXISTS prompt_versions_no_delete BEFORE DELETE ON prompt_versions"
    " BEGIN SELECT RAISE(ABORT, 'prompt versions are immutable'); END;"
    "CREATE TABLE IF NOT EXISTS prompt_labels (name TEXT NOT NULL, label TEXT NOT NULL,"
    " version INTEGER NOT NULL, PRIMARY KEY (name, label));"
    "CREATE TABLE IF NOT EXISTS prompt_label_history (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " label TEXT NOT NULL, from_version INTEGER NOT NULL, to_version INTEGER NOT NULL, actor TEXT NOT NULL,"
    " time_ms INTEGER NOT NULL);";

static hearth_status db_error(pl_store *s, const char *what) {
    return hearth_set_error(HEARTH_ERR_IO, "prompts database: %s: %s", what, sqlite3_errmsg(s->db));
}

hearth_status pl_store_open(const char *path, pl_store **out) {
    *out = NULL;
    if (!path || !*path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "no prompts database path given");
    pl_store *s = calloc(1, sizeof *s);
    if (!s) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    char *err = NULL;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, 5000);
        if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &err) == SQLITE_OK)
            sqlite3_exec(s->db, SCHEMA, NULL, NULL, &err);
    }
    if (rc != SQLITE_OK || err) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "cannot open prompts database %s: %s", path,
                                            err ? err : s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite3_free(err);
        pl_store_close(s);
        return st;
    }
    *out = s;
    return HEARTH_OK;
}

void pl_store_close(pl_store *s) {
    if (!s) return;
    sqlite3_close(s->db);
    free(s);
}

/* prepares sql; binds the text/int arguments described by fmt ('t' text, 'i' int64) */
static sqlite3_stmt *prep(pl_store *s, const char *sql, const char *fmt, ...) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) return NULL;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 't') sqlite3_bind_text(q, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else sqlite3_bind_int64(q, i + 1, va_arg(ap, int64_t));
    }
    va_end(ap);
    return q;
}

static bool exec(pl_store *s, const char *sql) { return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK; }

/* SELECT of one integer (0 when no row); false on an error */
static bool one_int(sqlite3_stmt *q, int64_t *v) {
    int rc = q ? sqlite3_step(q) : SQLITE_ERROR;
    *v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

static bool run(sqlite3_stmt *q) {
    int rc = q ? sqlite3_step(q) : SQLITE_ERROR;
    sqlite3_finalize(q);
    return rc == SQLITE_DONE;
}

static char *col_dup(sqlite3_stmt *q, int i) {
    const char *t = (const char *)sqlite3_column_text(q, i);
    return strdup(t ? t : "");
}

hearth_status pl_store_add(pl_store *s, const char *name, const char *spec, const char *author, int64_t now_ms,
                           int32_t *version) {
    if (!exec(s, "BEGIN IMMEDIATE")) return db_error(s, "begin");
    int64_t last = 0;
    if (!one_int(prep(s, "SELECT MAX(version) FROM prompt_versions WHERE name = ?", "t", name), &last) ||
        !run(prep(s, "INSERT INTO prompt_versions VALUES (?, ?, ?, ?, ?)", "titti", name, last + 1, spec, author,
                  now_ms)) ||
        !exec(s, "COMMIT")) {
        hearth_status st = db_error(s, "add");
        exec(s, "ROLLBACK");
        return st;
    }
    *version = (int32_t)(last + 1);
    return HEARTH_OK;
}

hearth_status pl_store_get(pl_store *s, const char *name, int32_t version, pl_version *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q = version > 0
                          ? prep(s, "SELECT version, spec, author, created_ms FROM prompt_versions"
                                    " WHERE name = ? AND version = ?", "ti", name, (int64_t)version)
                          : prep(s, "SELECT version, spec, author, created_ms FROM prompt_versions"
                                    " WHERE name = ? ORDER BY version DESC LIMIT 1", "t", name);
    if (!q) return db_error(s, "get");
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        out->version = sqlite3_column_int(q, 0);
        out->spec = col_dup(q, 1);
        out->author = col_dup(q, 2);
        out->created_ms = sqlite3_column_int64(q, 3);
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW) {
        if (!out->spec || !out->author) {
            pl_version_clear(out);
            return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
        }
        return HEARTH_OK;
    }
    if (rc != SQLITE_DONE) return db_error(s, "get");
    int64_t any = 0;
    if (version > 0 && one_int(prep(s, "SELECT 1 FROM prompt_versions WHERE name = ?", "t", name), &any) && any)
        return hearth_set_error(HEARTH_ERR_NOT_FOUND, "prompt %s has no version %d", name, (int)version);
    return hearth_set_error(HEARTH_ERR_NOT_FOUND, "no prompt named %s", name);
}

void pl_version_clear(pl_version *v) {
    if (!v) return;
    free(v->spec);
    free(v->author);
    memset(v, 0, sizeof *v);
}

hearth_status pl_store_label_get(pl_store *s, const char *name, const char *label, int32_t *version) {
    int64_t v = 0;
    if (!one_int(prep(s, "SELECT version FROM prompt_labels WHERE name = ? AND label = ?", "tt", name, label), &v))
        return db_error(s, "label");
    if (!v) {
        int64_t any = 0;
        one_int(prep(s, "SELECT 1 FROM prompt_versions WHERE name = ?", "t", name), &any);
        if (!any) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "no prompt named %s", name);
        return hearth_set_error(HEARTH_ERR_NOT_FOUND, "prompt %s has no label %s", name, label);
    }
    *version = (int32_t)v;
    return HEARTH_OK;
}

hearth_status pl_store_label_set(pl_store *s, const char *name, const char *label, int32_t version,
                                 const char *actor, int64_t now_ms, int32_t *from) {
    if (!exec(s, "BEGIN IMMEDIATE")) return db_error(s, "begin");
    int64_t exists = 0, old = 0;
    if (!one_int(prep(s, "SELECT 1 FROM prompt_versions WHERE name = ? AND version = ?", "ti", name,
                      (int64_t)version), &exists) ||
        !one_int(prep(s, "SELECT version FROM prompt_labels WHERE name = ? AND label = ?", "tt", name, label), &old))
        goto bad;
    if (!exists) {
        exec(s, "ROLLBACK");
        pl_version v;
        hearth_status st = pl_store_get(s, name, version, &v);   /* the precise message */
        pl_version_clear(&v);
        return st ? st : hearth_set_error(HEARTH_ERR_NOT_FOUND, "prompt %s has no version %d", name, (int)version);
    }
    if (!run(prep(s, "INSERT INTO prompt_labels VALUES (?, ?, ?) ON CONFLICT (name, label) DO UPDATE"
                     " SET version = excluded.version", "tti", name, label, (int64_t)version)) ||
        !run(prep(s, "INSERT INTO prompt_label_history (name, label, from_version, to_version, actor, time_ms)"
                     " VALUES (?, ?, ?, ?, ?, ?)", "ttiiti", name, label, old, (int64_t)version, actor, now_ms)) ||
        !exec(s, "COMMIT"))
        goto bad;
    *from = (int32_t)old;
    return HEARTH_OK;
bad:;
    hearth_status st = db_error(s, "label");
    exec(s, "ROLLBACK");
    return st;
}

/* ---- JSON views ----------------------------------------------------------- */
/* a prepared query and an empty array for its rows; false (error set, both freed) on failure */
static bool rows_begin(pl_store *s, sqlite3_stmt *q, cJSON **arr, const char *what) {
    *arr = cJSON_CreateArray();
    if (q && *arr) return true;
    sqlite3_finalize(q);
    cJSON_Delete(*arr);
    *arr = NULL;
    db_error(s, what);
    return false;
}

hearth_status pl_store_labels_of(pl_store *s, const char *name, int32_t version, cJSON *arr) {
    sqlite3_stmt *q = prep(s, "SELECT label FROM prompt_labels WHERE name = ? AND version = ? ORDER BY label", "ti",
                           name, (int64_t)version);
    if (!q) return db_error(s, "labels");
    while (sqlite3_step(q) == SQLITE_ROW) cJSON_AddItemToArray(arr, cJSON_CreateString((const char *)sqlite3_column_text(q, 0)));
    sqlite3_finalize(q);
    return HEARTH_OK;
}

hearth_status pl_store_list(pl_store *s, cJSON **out) {
    sqlite3_stmt *q = prep(s, "SELECT name, MAX(version), MAX(created_ms) FROM prompt_versions GROUP BY name"
                              " ORDER BY name", "");
    cJSON *arr;
    if (!rows_begin(s, q, &arr, "list")) return HEARTH_ERR_IO;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddNumberToObject(o, "latest", sqlite3_column_int(q, 1));
        cJSON *labels = cJSON_AddObjectToObject(o, "labels");
        cJSON_AddNumberToObject(o, "updated_ms", (double)sqlite3_column_int64(q, 2));
        sqlite3_stmt *l = prep(s, "SELECT label, version FROM prompt_labels WHERE name = ? ORDER BY label", "t", name);
        while (l && sqlite3_step(l) == SQLITE_ROW)
            cJSON_AddNumberToObject(labels, (const char *)sqlite3_column_text(l, 0), sqlite3_column_int(l, 1));
        sqlite3_finalize(l);
    }
    sqlite3_finalize(q);
    *out = arr;
    return HEARTH_OK;
}

hearth_status pl_store_history(pl_store *s, const char *name, cJSON **out) {
    sqlite3_stmt *q = prep(s, "SELECT label, from_version, to_version, actor, time_ms FROM prompt_label_history"
                              " WHERE name = ? ORDER BY id", "t", name);
    cJSON *arr;
    if (!rows_begin(s, q, &arr, "history")) return HEARTH_ERR_IO;
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "label", (const char *)sqlite3_column_text(q, 0));
        cJSON_AddNumberToObject(o, "from", sqlite3_column_int(q, 1));
        cJSON_AddNumberToObject(o, "to", sqlite3_column_int(q, 2));
        cJSON_AddStringToObject(o, "actor", (const char *)sqlite3_column_text(q, 3));
        cJSON_AddNumberToObject(o, "time_ms", (double)sqlite3_column_int64(q, 4));
    }
    sqlite3_finalize(q);
    *out = arr;
    return HEARTH_OK;
}

hearth_status pl_store_versions(pl_store *s, const char *name, cJSON **out) {
    sqlite3_stmt *q = prep(s, "SELECT version, author, created_ms FROM prompt_versions WHERE name = ?"
                              " ORDER BY version", "t", name);
    cJSON *arr;
    if (!rows_begin(s, q, &arr, "versions")) return HEARTH_ERR_IO;
    while (sqlite3_step(q) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "version", sqlite3_column_int(q, 0));
        cJSON_AddStringToObject(o, "author", (const char *)sqlite3_column_text(q, 1));
        cJSON_AddNumberToObject(o, "created_ms", (double)sqlite3_column_int64(q, 2));
    }
    sqlite3_finalize(q);
    *out = arr;
    return HEARTH_OK;
}
