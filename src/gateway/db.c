/*
 * db.c — SQLite plumbing shared by the key store and the audit log (WAL mode,
 * busy timeout so several processes can share a file), clocks, and a
 * growable text buffer.
 */
#include "gateway_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== SQLite ======================================================================== */
hearth_status gw_db_error(sqlite3 *db, const char *what) {
    return hearth_set_error(HEARTH_ERR_IO, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

hearth_status gw_db_open(const char *path, const char *sync, const char *schema, sqlite3 **out) {
    *out = NULL;
    if (!path || !*path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "no database path given");
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "cannot open database %s: %s", path,
                                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return st;
    }
    sqlite3_busy_timeout(db, 5000);
    char pragmas[128];
    snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", sync);
    char *err = NULL;
    if (sqlite3_exec(db, pragmas, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, &err) != SQLITE_OK) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "database %s: %s", path, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return HEARTH_OK;
}

/* ==== clocks ======================================================================== */
int64_t gw_now_s(void) { return (int64_t)time(NULL); }

int64_t gw_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double gw_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ==== text buffer =================================================================== */
void gw_buf_add(gw_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void gw_buf_printf(gw_buf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        gw_buf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    gw_buf_add(b, big, (size_t)n);
    free(big);
}
