/*
 * db.c — SQLite plumbing shared by the key store and the audit log (WAL mode,
 * busy timeout so several processes can share a file), the gateway's upkeep
 * thread (WAL checkpoints and periodic flushes off the request path), clocks,
 * and a growable text buffer.
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

/* ==== upkeep thread: checkpoints off the request path ============================= */
/* SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past
 * 1000 pages: that request then copies the pages back into the database file
 * and fsyncs it (milliseconds, the p99 tail of the gateway). Instead each
 * watched connection gets a WAL hook that only signals this thread, which
 * checkpoints through a connection of its own (PASSIVE: it never blocks a
 * writer). If the thread falls far behind, the hook checkpoints inline as
 * before so the WAL stays bounded.
 *
 * After a complete checkpoint the next commit starts the WAL over, and SQLite
 * fsyncs the new WAL header in that commit even under synchronous=NORMAL. The
 * watcher's restart callback makes that commit here (a write that changes
 * nothing), so it is not a request's. */
#define GW_CKPT_PAGES 1000          /* WAL pages that trigger a checkpoint (SQLite's default) */
#define GW_CKPT_INLINE_PAGES 20000  /* past this the committing connection checkpoints itself */
#define GW_BG_MAX_DBS 4

typedef struct gw_bg_db {
    gw_bg *bg;
    sqlite3 *ckpt;              /* the thread's own connection to the same file */
    bool due;                   /* under bg->mu */
    void (*restart)(void *);    /* after a complete checkpoint (may be NULL) */
    void *restart_user;
} gw_bg_db;

struct gw_bg {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, quit;
    int n_db;
    gw_bg_db db[GW_BG_MAX_DBS];
    void (*tick)(void *);
    void *tick_user;
    double interval_s;
};

gw_bg *gw_bg_new(void) {
    gw_bg *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;   /* timed waits on the monotonic clock: a clock change does not stall the tick */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    return b;
}

/* runs in the committing thread with the connection's mutex held */
static int wal_hook(void *user, sqlite3 *db, const char *name, int n_pages) {
    gw_bg_db *d = user;
    if (n_pages < GW_CKPT_PAGES) return SQLITE_OK;
    pthread_mutex_lock(&d->bg->mu);
    bool inline_ckpt = !d->bg->running || n_pages >= GW_CKPT_INLINE_PAGES;
    if (!inline_ckpt && !d->due) {
        d->due = true;
        pthread_cond_signal(&d->bg->cv);
    }
    pthread_mutex_unlock(&d->bg->mu);
    if (inline_ckpt) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

hearth_status gw_bg_watch(gw_bg *b, sqlite3 *db, const char *path, void (*restart)(void *), void *user) {
    if (b->running) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "the upkeep thread is already running");
    for (int i = 0; i < b->n_db; i++) {   /* the same file twice (keys and audit in one database) */
        const char *f = sqlite3_db_filename(b->db[i].ckpt, "main");
        const char *g = sqlite3_db_filename(db, "main");
        if (f && g && !strcmp(f, g)) {
            sqlite3_wal_hook(db, wal_hook, &b->db[i]);
            return HEARTH_OK;
        }
    }
    if (b->n_db == GW_BG_MAX_DBS) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "too many databases to watch");
    sqlite3 *c = NULL;
    if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "cannot open database %s for checkpoints: %s", path,
                                            c ? sqlite3_errmsg(c) : "out of memory");
        sqlite3_close(c);
        return st;
    }
    sqlite3_busy_timeout(c, 5000);
    /* a connection knows the file is in WAL mode only once it has read it;
     * until then a checkpoint through it does nothing */
    if (sqlite3_exec(c, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "database %s: %s", path, sqlite3_errmsg(c));
        sqlite3_close(c);
        return st;
    }
    gw_bg_db *d = &b->db[b->n_db++];
    d->bg = b;
    d->ckpt = c;
    d->restart = restart;
    d->restart_user = user;
    sqlite3_wal_hook(db, wal_hook, d);   /* replaces the automatic checkpoint of that connection */
    return HEARTH_OK;
}

static void *bg_main(void *arg) {
    gw_bg *b = arg;
    pthread_mutex_lock(&b->mu);
    double next_tick = gw_mono_s() + b->interval_s;
    while (!b->quit) {
        bool any = false;
        for (int i = 0; i < b->n_db; i++) any = any || b->db[i].due;
        double now = gw_mono_s();
        if (!any && (!b->tick || now < next_tick)) {
            double t = b->tick ? next_tick : now + 1.0;
            struct timespec ts;
            ts.tv_sec = (time_t)t;
            ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
            pthread_cond_timedwait(&b->cv, &b->mu, &ts);
            continue;
        }
        for (int i = 0; i < b->n_db; i++) {
            if (!b->db[i].due) continue;
            b->db[i].due = false;
            pthread_mutex_unlock(&b->mu);
            int n_log = 0, n_done = 0;
            if (sqlite3_wal_checkpoint_v2(b->db[i].ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_done) !=
                SQLITE_OK)
                hearth_log(HEARTH_LOG_WARN, "gateway: checkpoint of %s: %s",
                           sqlite3_db_filename(b->db[i].ckpt, "main"), sqlite3_errmsg(b->db[i].ckpt));
            else if (n_log > 0 && n_done == n_log && b->db[i].restart)
                b->db[i].restart(b->db[i].restart_user);   /* the WAL starts over here, not in a request */
            pthread_mutex_lock(&b->mu);
        }
        if (b->tick && gw_mono_s() >= next_tick) {
            pthread_mutex_unlock(&b->mu);
            b->tick(b->tick_user);
            pthread_mutex_lock(&b->mu);
            next_tick = gw_mono_s() + b->interval_s;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

void gw_bg_start(gw_bg *b, void (*tick)(void *), void *user, double interval_s) {
    if (b->running) return;
    b->tick = tick;
    b->tick_user = user;
    b->interval_s = interval_s > 0 ? interval_s : 1.0;
    b->quit = false;
    pthread_mutex_lock(&b->mu);
    b->running = pthread_create(&b->thread, NULL, bg_main, b) == 0;
    pthread_mutex_unlock(&b->mu);
    if (!b->running) hearth_log(HEARTH_LOG_WARN, "gateway: no upkeep thread; checkpoints stay on the request path");
}

void gw_bg_stop(gw_bg *b) {
    if (!b || !b->running) return;
    pthread_mutex_lock(&b->mu);
    b->quit = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_lock(&b->mu);
    b->running = false;   /* later commits checkpoint inline again */
    pthread_mutex_unlock(&b->mu);
}

void gw_bg_free(gw_bg *b) {
    if (!b) return;
    gw_bg_stop(b);
    for (int i = 0; i < b->n_db; i++) sqlite3_close(b->db[i].ckpt);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
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

