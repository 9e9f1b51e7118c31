/*
 * test_index_durable.c — the durable index: every acknowledged write is back
 * after a reopen (log replay), snapshots and their fallback, a log whose tail
 * is truncated or corrupt (replayed up to its last complete record, cut, and
 * said so), a corrupt snapshot, a second opener refused, and a child process
 * killed with SIGKILL in the middle of inserts: nothing acknowledged is lost.
 */
#include "harness.h"
#include "hearth/index.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIM 16

static void vec_of(uint64_t id, float *v) {
    uint64_t s = id * 2654435761u + 1;
    for (int d = 0; d < DIM; d++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[d] = (float)((s >> 40) / (double)(1 << 24)) - 0.5f;
    }
    v[0] += 2.0f;   /* never all zeros */
}

static void make_dir(char *tmpl) { CHECK(mkdtemp(tmpl) != NULL); }

static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') { snprintf(p, sizeof p, "%s/%s", dir, e->d_name); unlink(p); }
    if (d) closedir(d);
    rmdir(dir);
}

/* the newest file of a kind ("wal" or "snap") in dir */
static bool newest(const char *dir, const char *kind, char *out, size_t n) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[256] = "";
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, kind, strlen(kind)) && strcmp(e->d_name, best) > 0 && !strstr(e->d_name, ".tmp"))
            snprintf(best, sizeof best, "%s", e->d_name);
    if (d) closedir(d);
    snprintf(out, n, "%s/%s", dir, best);
    return best[0] != 0;
}

static hearth_index *open_ix(const char *dir) {
    hearth_index_params p = hearth_index_default_params();
    p.dim = DIM;
    p.M = 8;
    p.ef_construction = 40;
    hearth_index *ix = NULL;
    hearth_status st = hearth_index_open(dir, &p, &ix);
    CHECK_MSG(st == HEARTH_OK, "open %s: %s", dir, hearth_last_error());
    return ix;
}

static void put(hearth_index *ix, uint64_t id) {
    float v[DIM];
    char pl[64];
    vec_of(id, v);
    snprintf(pl, sizeof pl, "{\"n\": %llu, \"kind\": \"text\"}", (unsigned long long)id);
    CHECK_EQ_INT(hearth_index_upsert(ix, id, v, pl), HEARTH_OK);
}

/* item id is present with its vector (normalized) and payload */
static bool intact(hearth_index *ix, uint64_t id) {
    float v[DIM], w[DIM];
    char *pl = NULL;
    if (hearth_index_get(ix, id, w, &pl) != HEARTH_OK) return false;
    vec_of(id, v);
    double ss = 0, dot = 0;
    for (int d = 0; d < DIM; d++) ss += v[d] * v[d];
    for (int d = 0; d < DIM; d++) dot += v[d] / sqrt(ss) * w[d];
    char want[64];
    snprintf(want, sizeof want, "{\"n\":%llu,\"kind\":\"text\"}", (unsigned long long)id);
    bool ok = pl && !strcmp(pl, want) && fabs(dot - 1) < 1e-5;
    free(pl);
    return ok;
}

TEST(reopen_replays_the_log) {
    char dir[] = "/tmp/hearth_idx_XXXXXX";
    make_dir(dir);
    hearth_index *ix = open_ix(dir);
    for (uint64_t i = 0; i < 300; i++) put(ix, i);
    for (uint64_t i = 0; i < 300; i += 3) CHECK_EQ_INT(hearth_index_delete(ix, i), HEARTH_OK);
    put(ix, 5);   /* replace */
    hearth_index_close(ix);
    ix = open_ix(dir);
    hearth_index_stats s;
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 200);
    CHECK_EQ_INT(s.replayed, 300 + 100 + 1);
    CHECK_STR(s.recovery, "");
    int ok = 0;
    for (uint64_t i = 0; i < 300; i++) ok += i % 3 ? intact(ix, i) : !hearth_index_contains(ix, i);
    CHECK_EQ_INT(ok, 300);
    /* searches work on the replayed graph */
    float q[DIM];
    vec_of(77, q);
    hearth_index_hit h[3];
    size_t n;
    CHECK_EQ_INT(hearth_index_search(ix, q, 3, NULL, h, &n), HEARTH_OK);
    CHECK(n == 3 && h[0].id == 77);
    /* a second opener is refused while the first holds the directory */
    hearth_index *two = NULL;
    hearth_index_params p = hearth_index_default_params();
    CHECK_EQ_INT(hearth_index_open(dir, &p, &two), HEARTH_ERR_IO);
    CHECK(strstr(hearth_last_error(), "in use") != NULL);
    hearth_index_close(ix);
    rm_dir(dir);
}

static int count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) n += !strncmp(e->d_name, prefix, strlen(prefix)) && !strstr(e->d_name, ".tmp");
    if (d) closedir(d);
    return n;
}

/* writes that grow the log past params.auto_snapshot_bytes take snapshots, so
 * a reopen replays only the records after the newest one; < 0 turns it off */
TEST(automatic_snapshots) {
    for (int on = 1; on >= 0; on--) {
        char dir[] = "/tmp/hearth_idx_XXXXXX";
        make_dir(dir);
        hearth_index_params p = hearth_index_default_params();
        p.dim = DIM, p.M = 8, p.ef_construction = 40;
        p.auto_snapshot_bytes = on ? 32 << 10 : -1;
        hearth_index *ix = NULL;
        CHECK_EQ_INT(hearth_index_open(dir, &p, &ix), HEARTH_OK);
        if (!ix) return;
        for (uint64_t i = 0; i < 1500; i++) put(ix, i);
        for (uint64_t i = 0; i < 1500; i += 5) CHECK_EQ_INT(hearth_index_delete(ix, i), HEARTH_OK);
        hearth_index_stats s;
        hearth_index_get_stats(ix, &s);
        if (on) {
            CHECK_MSG(s.auto_snapshots >= 2, "%llu automatic snapshots", (unsigned long long)s.auto_snapshots);
            CHECK(s.generation == 1 + s.auto_snapshots);
            uint64_t bound = s.snapshot_bytes / 2 > 32768 ? s.snapshot_bytes / 2 : 32768;
            CHECK_MSG(s.wal_bytes <= bound, "log %llu bytes after the last write (bound %llu)",
                      (unsigned long long)s.wal_bytes, (unsigned long long)bound);
            /* the newest snapshot and the one before it (the fallback), each with its log */
            CHECK(count_files(dir, "snap-") <= 2 && count_files(dir, "wal-") <= 2);
        } else {
            CHECK_EQ_INT(s.auto_snapshots, 0);
            CHECK_EQ_INT(count_files(dir, "snap-"), 0);
        }
        uint64_t log_bytes = s.wal_bytes;
        hearth_index_close(ix);
        CHECK_EQ_INT(hearth_index_open(dir, &p, &ix), HEARTH_OK);
        if (!ix) return;
        hearth_index_get_stats(ix, &s);
        CHECK_EQ_INT(s.count, 1200);
        /* only the last log is replayed: at most its size over the smallest record (a delete: 17 bytes) */
        if (on)
            CHECK_MSG(s.replayed < 1800 && s.replayed <= (log_bytes - 56) / 17, "%llu records replayed from a %llu-byte log",
                      (unsigned long long)s.replayed, (unsigned long long)log_bytes);
        else CHECK_EQ_INT(s.replayed, 1500 + 300);
        int ok = 0;
        for (uint64_t i = 0; i < 1500; i++) ok += i % 5 ? intact(ix, i) : !hearth_index_contains(ix, i);
        CHECK_EQ_INT(ok, 1500);
        float q[DIM];
        vec_of(1234, q);
        hearth_index_hit h[1];
        size_t n = 0;
        CHECK_EQ_INT(hearth_index_search(ix, q, 1, NULL, h, &n), HEARTH_OK);
        CHECK(n == 1 && h[0].id == 1234);
        hearth_index_close(ix);
        rm_dir(dir);
    }
}

TEST(snapshots_and_their_fallback) {
    char dir[] = "/tmp/hearth_idx_XXXXXX";
    make_dir(dir);
    hearth_index *ix = open_ix(dir);
    for (uint64_t i = 0; i < 100; i++) put(ix, i);
    CHECK_EQ_INT(hearth_index_snapshot(ix), HEARTH_OK);
    for (uint64_t i = 100; i < 200; i++) put(ix, i);
    CHECK_EQ_INT(hearth_index_snapshot(ix), HEARTH_OK);
    for (uint64_t i = 200; i < 250; i++) put(ix, i);
    hearth_index_close(ix);
    ix = open_ix(dir);
    hearth_index_stats s;
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 250);
    CHECK_EQ_INT(s.replayed, 50);   /* only the log after the newest snapshot */
    hearth_index_close(ix);
    /* corrupt the newest snapshot: the previous one and its logs give everything back */
    char snap[512];
    CHECK(newest(dir, "snap-", snap, sizeof snap));
    int fd = open(snap, O_RDWR);
    char c = 0x5a;
    CHECK(pwrite(fd, &c, 1, 200) == 1);
    close(fd);
    ix = open_ix(dir);
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 250);
    CHECK_MSG(strstr(s.recovery, "checksum") != NULL, "recovery: %s", s.recovery);
    int ok = 0;
    for (uint64_t i = 0; i < 250; i++) ok += intact(ix, i);
    CHECK_EQ_INT(ok, 250);
    /* compaction snapshots too */
    for (uint64_t i = 0; i < 250; i += 2) hearth_index_delete(ix, i);
    CHECK_EQ_INT(hearth_index_compact(ix), HEARTH_OK);
    hearth_index_close(ix);
    ix = open_ix(dir);
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 125);
    CHECK_EQ_INT(s.deleted, 0);
    CHECK_EQ_INT(s.replayed, 0);
    hearth_index_close(ix);
    rm_dir(dir);
}

TEST(truncated_and_corrupt_log_tails) {
    char dir[] = "/tmp/hearth_idx_XXXXXX";
    make_dir(dir);
    hearth_index *ix = open_ix(dir);
    for (uint64_t i = 0; i < 50; i++) put(ix, i);
    hearth_index_close(ix);
    char wal[512];
    CHECK(newest(dir, "wal-", wal, sizeof wal));
    struct stat sb;
    stat(wal, &sb);
    /* a crash in the middle of the last record: cut 5 bytes */
    CHECK(truncate(wal, sb.st_size - 5) == 0);
    ix = open_ix(dir);
    hearth_index_stats s;
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 49);
    CHECK_MSG(strstr(s.recovery, "truncated") != NULL, "recovery: %s", s.recovery);
    CHECK(!hearth_index_contains(ix, 49));
    /* the log was cut at the last complete record: new writes land after it */
    put(ix, 1000);
    hearth_index_close(ix);
    ix = open_ix(dir);
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 50);
    CHECK_STR(s.recovery, "");
    CHECK(intact(ix, 1000) && intact(ix, 48));
    hearth_index_close(ix);
    /* a flipped byte inside record 20's vector: replay stops before it */
    stat(wal, &sb);
    size_t rec = 8 + 1 + 8 + 4 + DIM * 4 + strlen("{\"n\":10,\"kind\":\"text\"}");
    int fd = open(wal, O_RDWR);
    char c;
    off_t at = 56 + 20 * (off_t)rec + 30;
    CHECK(pread(fd, &c, 1, at) == 1);
    c ^= 0x40;
    CHECK(pwrite(fd, &c, 1, at) == 1);
    close(fd);
    ix = open_ix(dir);
    hearth_index_get_stats(ix, &s);
    CHECK_EQ_INT(s.count, 20);
    CHECK_MSG(strstr(s.recovery, "checksum") != NULL, "recovery: %s", s.recovery);
    for (uint64_t i = 0; i < 20; i++) CHECK(intact(ix, i));
    hearth_index_close(ix);
    /* garbage instead of a log header, and no snapshot: refused by name, no crash */
    fd = open(wal, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "garbage!", 8) == 8);
    close(fd);
    hearth_index_params p = hearth_index_default_params();
    hearth_index *bad = NULL;
    hearth_status st = hearth_index_open(dir, &p, &bad);   /* no dim: cannot start over */
    CHECK(st != HEARTH_OK);
    CHECK(bad == NULL);
    CHECK(strlen(hearth_last_error()) > 0);
    rm_dir(dir);
}

TEST(snapshot_only_corrupt_is_an_error) {
    char dir[] = "/tmp/hearth_idx_XXXXXX";
    make_dir(dir);
    hearth_index *ix = open_ix(dir);
    for (uint64_t i = 0; i < 40; i++) put(ix, i);
    CHECK_EQ_INT(hearth_index_snapshot(ix), HEARTH_OK);
    CHECK_EQ_INT(hearth_index_snapshot(ix), HEARTH_OK);   /* the first log is gone now */
    hearth_index_close(ix);
    char snap[512];
    /* corrupt both snapshots */
    for (int k = 0; k < 2; k++) {
        CHECK(newest(dir, "snap-", snap, sizeof snap));
        if (k == 0) {
            int fd = open(snap, O_RDWR);
            CHECK(ftruncate(fd, 100) == 0);
            close(fd);
            char moved[600];
            snprintf(moved, sizeof moved, "%s/snap-0000000000000000.hidx", dir);
            rename(snap, moved);
        } else {
            int fd = open(snap, O_RDWR);
            CHECK(pwrite(fd, "X", 1, 80) == 1);
            close(fd);
        }
    }
    hearth_index *bad = NULL;
    hearth_index_params p = hearth_index_default_params();
    p.dim = DIM;
    CHECK_EQ_INT(hearth_index_open(dir, &p, &bad), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "no usable snapshot") != NULL, "%s", hearth_last_error());
    CHECK(bad == NULL);
    rm_dir(dir);
}

/* A child inserts with fsync on and reports each acknowledged id through a
 * pipe; it is killed with SIGKILL mid-stream. Every acknowledged item must
 * come back, with at most the one in flight besides. */
TEST(sigkill_mid_insert_loses_nothing_acknowledged) {
    char dir[] = "/tmp/hearth_idx_XXXXXX";
    make_dir(dir);
    size_t total = 0;
    for (int round = 0; round < 2; round++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            hearth_index *ix = open_ix(dir);
            if (!ix) _exit(3);
            for (uint64_t i = (uint64_t)round * 100000;; i++) {
                float v[DIM];
                char pl[64];
                vec_of(i, v);
                snprintf(pl, sizeof pl, "{\"n\": %llu, \"kind\": \"text\"}", (unsigned long long)i);
                if (round == 1 && i % 2) {   /* batches of 8 in the second round */
                    uint64_t ids[8];
                    float vs[8 * DIM];
                    const char *pls[8];
                    char buf[8][64];
                    for (int j = 0; j < 8; j++) {
                        ids[j] = i + (uint64_t)j;
                        vec_of(ids[j], vs + j * DIM);
                        snprintf(buf[j], 64, "{\"n\": %llu, \"kind\": \"text\"}", (unsigned long long)ids[j]);
                        pls[j] = buf[j];
                    }
                    if (hearth_index_upsert_batch(ix, 8, ids, vs, pls) != HEARTH_OK) _exit(4);
                    for (int j = 0; j < 8; j++)
                        if (write(fds[1], &ids[j], 8) != 8) _exit(5);
                    i += 7;
                    continue;
                }
                if (hearth_index_upsert(ix, i, v, pl) != HEARTH_OK) _exit(4);
                if (write(fds[1], &i, 8) != 8) _exit(5);
            }
        }
        close(fds[1]);
        uint64_t *acked = malloc(1000000 * sizeof *acked);
        size_t n = 0;
        while (n < 400) {
            ssize_t r = read(fds[0], &acked[n], 8);
            if (r != 8) break;
            n++;
        }
        kill(pid, SIGKILL);
        for (;;) {   /* acknowledgements already in the pipe count too */
            ssize_t r = read(fds[0], &acked[n], 8);
            if (r != 8) break;
            n++;
        }
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        close(fds[0]);
        hearth_index *ix = open_ix(dir);
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) ok += intact(ix, acked[i]);
        CHECK_EQ_INT(ok, n);
        hearth_index_stats s;
        hearth_index_get_stats(ix, &s);
        /* what was there before, the acknowledged ones, and at most one write (a batch of 8) in flight */
        CHECK_MSG(s.count >= total + n && s.count <= total + n + 8, "%zu items for %zu before and %zu acknowledged",
                  s.count, total, n);
        total = s.count;
        printf("  round %d: %zu acknowledged, %zu after recovery%s%s\n", round, n, s.count, s.recovery[0] ? ": " : "",
               s.recovery);
        hearth_index_close(ix);
        free(acked);
    }
    rm_dir(dir);
}

int main(void) {
    RUN(reopen_replays_the_log);
    RUN(snapshots_and_their_fallback);
    RUN(automatic_snapshots);
    RUN(truncated_and_corrupt_log_tails);
    RUN(snapshot_only_corrupt_is_an_error);
    RUN(sigkill_mid_insert_loses_nothing_acknowledged);
    return harness_done();
}
