/*
 * persist.c — the index on disk: snapshots (also the single-file format of
 * hearth_index_save/load), the write-ahead log, and the durable directory
 * (open with recovery, snapshot with log rotation, close).
 *
 * All integers little-endian (the machine's order on x86-64 and arm64).
 *
 * Snapshot file (snap-<gen>.hidx, or any name for save/load):
 *   header, 64 bytes:
 *     "HIDXSNP1"  u32 version (1)  u32 dim  u32 metric  u32 M
 *     u32 ef_construction  u32 flags (bit 0: int8 codes)  u64 seed  u64 gen
 *     u64 n_slots  u32 entry (0xffffffff: none)  i32 max_level
 *   u8  state[n_slots]        1 live, 2 deleted (a tombstone kept in the graph)
 *   u8  level[n_slots]
 *   u64 id[n_slots]           (0 for tombstones)
 *   f32 vec[n_slots][dim]     as stored (normalized for cosine)
 *   links, per slot, layer 0 then 1..level: u32 count, u32 slot[count]
 *   payloads, per slot: u32 length, the JSON object's bytes (0: {})
 *   trailer: u32 crc32 of every byte before it, "HIDXEND1"
 * int8 codes, the id map and payload postings are rebuilt on load.
 *
 * Write-ahead log (wal-<gen>.log):
 *   header, 56 bytes: "HIDXWAL1" u32 version (1) u32 dim u32 metric u32 M
 *     u32 ef_construction u32 flags u64 seed u64 gen u32 0 u32 crc32(first 52 bytes)
 *   records: u32 length of body, u32 crc32(body), body:
 *     u8 type 1 (upsert): u64 id, u32 payload length, f32 vec[dim], payload bytes
 *     u8 type 2 (delete): u64 id
 *
 * Directory (hearth_index_open): snap-G.hidx holds the state at the start of
 * wal-G.log. A snapshot writes wal-(G+1).log first, then snap-(G+1).hidx
 * (temporary name, fsync, rename, fsync of the directory), then removes the
 * files older than G, so the previous snapshot and its log stay as the
 * fallback. LOCK is held with flock() while open.
 */
#include "index/idx.h"

#include "core/buf.h"
#include "hearth/core.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC "HIDXSNP1"
#define SNAP_END "HIDXEND1"
#define WAL_MAGIC "HIDXWAL1"
#define SNAP_HEADER 64
#define WAL_HEADER 56
#define REC_UPSERT 1
#define REC_DELETE 2

/* ==== CRC-32 (IEEE, reflected 0xedb88320) ================================== */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* crc of p[0..n) continuing from crc (start with 0) */
uint32_t idx_crc32(uint32_t crc, const void *p, size_t n) {
    pthread_once(&crc_once, crc_init);
    const uint8_t *b = p;
    crc = ~crc;
    while (n >= 8) {   /* slicing by 8 */
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, b + 4, 4);
        lo ^= crc;
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
              crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        b += 8;
        n -= 8;
    }
    while (n--) crc = crc_table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ==== little helpers ======================================================= */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

typedef struct wfile {
    FILE *f;
    uint32_t crc;
    bool failed;
} wfile;

static void wput(wfile *w, const void *p, size_t n) {
    if (w->failed || !n) return;
    w->crc = idx_crc32(w->crc, p, n);
    if (fwrite(p, 1, n, w->f) != n) w->failed = true;
}
static void wput32(wfile *w, uint32_t v) { uint8_t b[4]; put32(b, v); wput(w, b, 4); }

static hearth_status fsync_dir(const char *path_in_dir) {
    char *d = strdup(path_in_dir);
    if (!d) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    char *slash = strrchr(d, '/');
    if (slash) *slash = 0;
    int fd = open(slash ? (d[0] ? d : "/") : ".", O_RDONLY | O_DIRECTORY);
    free(d);
    if (fd < 0) return HEARTH_OK;
    fsync(fd);
    close(fd);
    return HEARTH_OK;
}

/* ==== snapshot write ======================================================= */

static void write_snapshot_body(hearth_index *ix, wfile *w) {
    uint8_t h[SNAP_HEADER];
    memset(h, 0, sizeof h);
    memcpy(h, SNAP_MAGIC, 8);
    put32(h + 8, 1);
    put32(h + 12, (uint32_t)ix->dim);
    put32(h + 16, (uint32_t)ix->p.metric);
    put32(h + 20, (uint32_t)ix->M);
    put32(h + 24, (uint32_t)ix->p.ef_construction);
    put32(h + 28, ix->p.quantize_int8 ? 1 : 0);
    put64(h + 32, ix->p.seed);
    put64(h + 40, ix->gen);
    put64(h + 48, ix->n_slots);
    put32(h + 56, ix->entry);
    put32(h + 60, (uint32_t)ix->max_level);
    wput(w, h, sizeof h);
    size_t n = ix->n_slots;
    wput(w, ix->state, n);
    wput(w, ix->level, n);
    for (size_t s = 0; s < n; s++) {
        uint64_t id = ix->state[s] == IDX_LIVE ? ix->ids[s] : 0;
        wput(w, &id, 8);
    }
    for (size_t s = 0; s < n; s++) wput(w, ix->vec + s * ix->stride, ix->dim * sizeof(float));
    for (size_t s = 0; s < n; s++)
        for (int l = 0; l <= ix->level[s]; l++) {
            const uint32_t *ln = idx_links(ix, (uint32_t)s, l);
            wput(w, ln, (1 + ln[0]) * sizeof(uint32_t));
        }
    for (size_t s = 0; s < n; s++) {
        const char *p = ix->state[s] == IDX_LIVE ? ix->payload[s] : NULL;
        uint32_t len = p ? (uint32_t)strlen(p) : 0;
        wput32(w, len);
        wput(w, p, len);
    }
    uint32_t crc = w->crc;
    uint8_t t[12];
    put32(t, crc);
    memcpy(t + 4, SNAP_END, 8);
    if (!w->failed && fwrite(t, 1, sizeof t, w->f) != sizeof t) w->failed = true;
}

hearth_status idx_snapshot_write(hearth_index *ix, const char *path) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    snprintf(tmp, plen + 8, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "index: cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    wfile w = {f, 0, false};
    write_snapshot_body(ix, &w);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) w.failed = true;
    int err = errno;
    if (fclose(f) != 0) w.failed = true;
    if (w.failed || rename(tmp, path) != 0) {
        if (!w.failed) err = errno;
        unlink(tmp);
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "index: cannot write %s: %s", path, strerror(err));
        free(tmp);
        return st;
    }
    free(tmp);
    return fsync_dir(path);
}

/* ==== snapshot read ======================================================== */

typedef struct rcur {
    const uint8_t *p;
    size_t n, at;
} rcur;

static const uint8_t *take(rcur *c, size_t n) {
    if (n > c->n - c->at) return NULL;
    const uint8_t *r = c->p + c->at;
    c->at += n;
    return r;
}

#define BAD(...) do { st = hearth_set_error(HEARTH_ERR_FORMAT, __VA_ARGS__); goto fail; } while (0)

hearth_status idx_snapshot_parse(const uint8_t *data, size_t size, const char *what, const hearth_index_params *pp,
                                 hearth_index **out) {
    *out = NULL;
    hearth_status st = HEARTH_OK;
    hearth_index *ix = NULL;
    if (size < SNAP_HEADER + 12 || memcmp(data, SNAP_MAGIC, 8) != 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "index: %s is not a hearth index snapshot (bad magic or too short: %zu bytes)", what, size);
    if (memcmp(data + size - 8, SNAP_END, 8) != 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "index: %s is truncated (no end marker; %zu bytes)", what, size);
    uint32_t crc = get32(data + size - 12);
    if (idx_crc32(0, data, size - 12) != crc)
        return hearth_set_error(HEARTH_ERR_FORMAT, "index: %s is corrupt (checksum mismatch)", what);
    if (get32(data + 8) != 1) return hearth_set_error(HEARTH_ERR_FORMAT, "index: %s: unsupported version %u", what, get32(data + 8));
    hearth_index_params p = pp ? *pp : hearth_index_default_params();
    int32_t want_dim = pp ? pp->dim : 0;
    p.dim = (int32_t)get32(data + 12);
    p.metric = (hearth_index_metric)get32(data + 16);
    p.M = (int32_t)get32(data + 20);
    p.ef_construction = (int32_t)get32(data + 24);
    p.quantize_int8 = get32(data + 28) & 1;
    p.seed = get64(data + 32);
    if (want_dim && want_dim != p.dim)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: %s holds %d-dimensional vectors, not %d", what, p.dim, want_dim);
    if (p.dim <= 0 || p.dim > 65536 || (uint32_t)p.metric > 2 || p.M < 2 || p.M > 128 || p.ef_construction <= 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "index: %s: bad parameters in the header", what);
    if ((st = idx_new(&p, &ix))) return st;
    ix->gen = get64(data + 40);
    uint64_t n = get64(data + 48);
    uint32_t entry = get32(data + 56);
    int32_t max_level = (int32_t)get32(data + 60);
    rcur c = {data, size - 12, SNAP_HEADER};
    /* every slot takes at least its state, level, id, vector, a link count and a payload length */
    if (n > IDX_MAX_SLOTS || n > size / (18 + 4 * (uint64_t)p.dim))
        BAD("index: %s: slot count %" PRIu64 " too large for the file", what, n);
    if ((st = idx_reserve(ix, (size_t)n))) goto fail;
    const uint8_t *state = take(&c, n), *level = take(&c, n), *ids = take(&c, n * 8);
    if (!state || !level || !ids) BAD("index: %s: truncated slot table", what);
    ix->n_slots = (size_t)n;
    for (size_t s = 0; s < n; s++) {
        if (state[s] != IDX_LIVE && state[s] != IDX_DELETED) BAD("index: %s: slot %zu has bad state %u", what, s, state[s]);
        if (level[s] > IDX_MAX_LEVEL) BAD("index: %s: slot %zu has level %u (most %d)", what, s, level[s], IDX_MAX_LEVEL);
        ix->state[s] = state[s];
        ix->level[s] = level[s];
        ix->ids[s] = get64(ids + s * 8);
        if ((st = idx_alloc_up(ix, (uint32_t)s, level[s]))) goto fail;
    }
    for (size_t s = 0; s < n; s++) {
        const uint8_t *v = take(&c, (size_t)p.dim * 4);
        if (!v) BAD("index: %s: truncated vectors", what);
        memcpy(ix->vec + s * ix->stride, v, (size_t)p.dim * 4);
        for (int32_t d = 0; d < p.dim; d++)
            if (!isfinite(ix->vec[s * ix->stride + d])) BAD("index: %s: slot %zu has a non-finite value", what, s);
        idx_set_codes(ix, (uint32_t)s);
    }
    for (size_t s = 0; s < n; s++)
        for (int l = 0; l <= ix->level[s]; l++) {
            const uint8_t *cnt = take(&c, 4);
            if (!cnt) BAD("index: %s: truncated links", what);
            uint32_t k = get32(cnt), cap = l ? (uint32_t)ix->M : (uint32_t)ix->M0;
            if (k > cap) BAD("index: %s: slot %zu layer %d has %u links (most %u)", what, s, l, k, cap);
            const uint8_t *ln = take(&c, (size_t)k * 4);
            if (!ln) BAD("index: %s: truncated links", what);
            uint32_t *dst = idx_links(ix, (uint32_t)s, l);
            dst[0] = k;
            for (uint32_t i = 0; i < k; i++) {
                uint32_t t = get32(ln + 4 * i);
                if (t >= n || ix->level[t] < l) BAD("index: %s: slot %zu links to bad slot %u at layer %d", what, s, t, l);
                dst[1 + i] = t;
            }
        }
    for (size_t s = 0; s < n; s++) {
        const uint8_t *lb = take(&c, 4);
        if (!lb) BAD("index: %s: truncated payloads", what);
        uint32_t len = get32(lb);
        const uint8_t *pl = take(&c, len);
        if (!pl) BAD("index: %s: truncated payload of slot %zu", what, s);
        if (ix->state[s] != IDX_LIVE) {
            if (len) BAD("index: %s: deleted slot %zu has a payload", what, s);
            ix->n_deleted++;
            if (!HEARTH_GROW(ix->free_slots, ix->free_cap, ix->n_free + 1)) { st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory"); goto fail; }
            ix->free_slots[ix->n_free++] = (uint32_t)s;
            continue;
        }
        ix->n_live++;
        if (idx_map_get(ix, ix->ids[s]) != IDX_NONE) BAD("index: %s: id %" PRIu64 " appears twice", what, ix->ids[s]);
        if ((st = idx_map_put(ix, ix->ids[s], (uint32_t)s))) goto fail;
        if (len) {
            cJSON *j = cJSON_ParseWithLength((const char *)pl, len);
            if (!j || !cJSON_IsObject(j)) { cJSON_Delete(j); BAD("index: %s: payload of slot %zu is not a JSON object", what, s); }
            st = idx_fields_from_json(&ix->dict, j, &ix->fields[s]);
            cJSON_Delete(j);
            if (st) goto fail;
            ix->payload[s] = malloc(len + 1);
            if (!ix->payload[s]) { st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory"); goto fail; }
            memcpy(ix->payload[s], pl, len);
            ix->payload[s][len] = 0;
            if ((st = idx_post_add(ix, (uint32_t)s))) goto fail;
        }
    }
    if (c.at != c.n) BAD("index: %s: %zu unexpected bytes before the trailer", what, c.n - c.at);
    if (n == 0 ? entry != IDX_NONE : (entry >= n || max_level != ix->level[entry]))
        BAD("index: %s: bad entry point %u (level %d)", what, entry, max_level);
    ix->entry = entry;
    ix->max_level = n ? max_level : -1;
    *out = ix;
    return HEARTH_OK;
fail:
    idx_destroy(ix);
    return st;
}

hearth_status idx_snapshot_read(const char *path, const hearth_index_params *p, hearth_index **out) {
    hearth_mapping m;
    hearth_status st = hearth_map_file(path, &m);
    if (st) return st;
    st = idx_snapshot_parse(m.data, m.size, path, p, out);
    hearth_unmap(&m);
    return st;
}

hearth_status hearth_index_save(hearth_index *ix, const char *path) {
    if (!ix || !path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_save: NULL argument");
    pthread_rwlock_wrlock(&ix->rw);
    hearth_status st = idx_snapshot_write(ix, path);
    pthread_rwlock_unlock(&ix->rw);
    return st;
}

hearth_status hearth_index_load(const char *path, const hearth_index_params *p, hearth_index **out) {
    if (!path || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_load: NULL argument");
    hearth_status st = idx_snapshot_read(path, p, out);
    if (!st) (*out)->gen = 0;
    return st;
}

/* ==== write-ahead log ====================================================== */

static hearth_status wal_write(hearth_index *ix, const uint8_t *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(ix->wal_fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = errno;
            /* cut a partial record so the log stays well formed */
            if (done && ftruncate(ix->wal_fd, (off_t)ix->wal_bytes) != 0) (void)0;
            return hearth_set_error(HEARTH_ERR_IO, "index: cannot append to the write-ahead log in %s: %s", ix->dir,
                                    strerror(err));
        }
        done += (size_t)w;
    }
    if (ix->p.fsync == HEARTH_INDEX_FSYNC_ALWAYS && fdatasync(ix->wal_fd) != 0)
        return hearth_set_error(HEARTH_ERR_IO, "index: cannot fsync the write-ahead log in %s: %s", ix->dir, strerror(errno));
    ix->wal_bytes += n;
    return HEARTH_OK;
}

hearth_status idx_wal_log_upserts(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                                  char *const *payloads, const size_t *plens) {
    hearth_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        uint32_t plen = payloads && payloads[i] ? (uint32_t)plens[i] : 0;
        uint32_t body = 1 + 8 + 4 + (uint32_t)ix->dim * 4 + plen;
        if (!hearth_buf_reserve(&b, 8 + body)) break;
        uint8_t *r = (uint8_t *)b.data + b.len;
        put32(r, body);
        r[8] = REC_UPSERT;
        put64(r + 9, ids[i]);
        put32(r + 17, plen);
        memcpy(r + 21, vecs + i * ix->dim, (size_t)ix->dim * 4);
        if (plen) memcpy(r + 21 + (size_t)ix->dim * 4, payloads[i], plen);
        put32(r + 4, idx_crc32(0, r + 8, body));
        b.len += 8 + body;
    }
    hearth_status st = b.oom ? hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory for the log") : wal_write(ix, (uint8_t *)b.data, b.len);
    hearth_buf_free(&b);
    return st;
}

hearth_status idx_wal_log_delete(hearth_index *ix, uint64_t id) {
    uint8_t r[8 + 9];
    put32(r, 9);
    r[8] = REC_DELETE;
    put64(r + 9, id);
    put32(r + 4, idx_crc32(0, r + 8, 9));
    return wal_write(ix, r, sizeof r);
}

static void wal_header(const hearth_index *ix, uint64_t gen, uint8_t h[WAL_HEADER]) {
    memset(h, 0, WAL_HEADER);
    memcpy(h, WAL_MAGIC, 8);
    put32(h + 8, 1);
    put32(h + 12, (uint32_t)ix->dim);
    put32(h + 16, (uint32_t)ix->p.metric);
    put32(h + 20, (uint32_t)ix->M);
    put32(h + 24, (uint32_t)ix->p.ef_construction);
    put32(h + 28, ix->p.quantize_int8 ? 1 : 0);
    put64(h + 32, ix->p.seed);
    put64(h + 40, gen);
    put32(h + 52, idx_crc32(0, h, 52));
}

/* Replays records; stops at the first incomplete or corrupt one. Consecutive
 * upserts are applied as one batch (threaded). */
hearth_status idx_wal_replay(hearth_index *ix, const uint8_t *data, size_t size, size_t *good, uint64_t *records,
                             char *why, size_t why_len) {
    size_t at = 0;
    *records = 0;
    why[0] = 0;
    hearth_status st = HEARTH_OK;
    size_t cap = 0, nb = 0;
    uint64_t *ids = NULL;
    float *vecs = NULL;
    const char **pls = NULL;
    size_t *plens = NULL;
    size_t vcap = 0, pcap = 0, lcap = 0;
    for (;;) {
        bool end = false, flush = false;
        const uint8_t *r = data + at;
        uint32_t body = 0;
        if (size - at == 0) end = true;
        else if (size - at < 8) { snprintf(why, why_len, "a truncated record header at byte %zu", at); end = true; }
        else {
            body = get32(r);
            if (body < 9 || body > size - at - 8) { snprintf(why, why_len, "a truncated record at byte %zu (%u bytes announced, %zu left)", at, body, size - at - 8); end = true; }
            else if (idx_crc32(0, r + 8, body) != get32(r + 4)) { snprintf(why, why_len, "a corrupt record at byte %zu (checksum mismatch)", at); end = true; }
            else if (r[8] == REC_UPSERT) {
                uint32_t plen = body >= 21 ? get32(r + 17) : UINT32_MAX;
                if (body < 21 || (uint64_t)body != 13ull + (uint64_t)ix->dim * 4 + plen) { snprintf(why, why_len, "a malformed upsert at byte %zu", at); end = true; }
                else {
                    const unsigned char *v = r + 21;   /* the vector's bytes, maybe unaligned: copied below */
                    if (!HEARTH_GROW(ids, cap, nb + 1) || !HEARTH_GROW(vecs, vcap, (nb + 1) * ix->dim) ||
                        !HEARTH_GROW(pls, pcap, nb + 1) || !HEARTH_GROW(plens, lcap, nb + 1)) {
                        st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory replaying the log");
                        break;
                    }
                    ids[nb] = get64(r + 9);
                    memcpy(vecs + nb * ix->dim, v, (size_t)ix->dim * 4);
                    pls[nb] = plen ? (const char *)(r + 21 + (size_t)ix->dim * 4) : NULL;
                    plens[nb] = plen;
                    bool bad = false;
                    for (int32_t d = 0; d < ix->dim && !bad; d++) bad = !isfinite(vecs[nb * ix->dim + d]);
                    if (bad) { snprintf(why, why_len, "a non-finite vector at byte %zu", at); end = true; }
                    else { nb++; at += 8 + body; (*records)++; if (nb >= 4096) flush = true; }
                }
            } else if (r[8] == REC_DELETE && body == 9) {
                flush = true;
            } else { snprintf(why, why_len, "an unknown record type %u at byte %zu", r[8], at); end = true; }
        }
        if (flush || end) {
            if (nb) st = idx_apply_batch(ix, nb, ids, vecs, pls, plens, ix->p.n_threads);
            if (st == HEARTH_ERR_FORMAT) { /* a payload that is not an object: stop here */
                snprintf(why, why_len, "a bad payload in the records before byte %zu: %s", at, hearth_last_error());
                st = HEARTH_OK;
                end = true;
            }
            nb = 0;
            if (st) break;
            if (!end && r[8] == REC_DELETE && size - at >= 8 + 9 && get32(r) == 9) {
                idx_apply_delete(ix, get64(r + 9));   /* a missing id is fine: deleted twice */
                at += 8 + 9;
                (*records)++;
            }
        }
        if (end) break;
    }
    free(ids); free(vecs); free(pls); free(plens);
    *good = at;
    return st;
}

/* ==== the durable directory ================================================ */

static char *path_of(const char *dir, const char *kind, uint64_t gen, const char *ext) {
    hearth_buf b = {0};
    hearth_buf_printf(&b, "%s/%s-%016" PRIu64 ".%s", dir, kind, gen, ext);
    return hearth_buf_take(&b, NULL);
}

typedef struct gens {
    uint64_t *snap, *wal;
    size_t n_snap, n_wal, cap_snap, cap_wal;
} gens;

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool parse_gen(const char *name, const char *prefix, const char *ext, uint64_t *g) {
    size_t pl = strlen(prefix), el = strlen(ext), n = strlen(name);
    if (n != pl + 16 + el || strncmp(name, prefix, pl) || strcmp(name + pl + 16, ext)) return false;
    uint64_t v = 0;
    for (size_t i = pl; i < pl + 16; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *g = v;
    return true;
}

static hearth_status list_gens(const char *dir, gens *g) {
    memset(g, 0, sizeof *g);
    DIR *d = opendir(dir);
    if (!d) return hearth_set_error(HEARTH_ERR_IO, "index: cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *e;
    uint64_t v;
    while ((e = readdir(d))) {
        if (parse_gen(e->d_name, "snap-", ".hidx", &v)) {
            if (HEARTH_GROW(g->snap, g->cap_snap, g->n_snap + 1)) g->snap[g->n_snap++] = v;
        } else if (parse_gen(e->d_name, "wal-", ".log", &v)) {
            if (HEARTH_GROW(g->wal, g->cap_wal, g->n_wal + 1)) g->wal[g->n_wal++] = v;
        }
    }
    closedir(d);
    if (g->n_snap) qsort(g->snap, g->n_snap, sizeof *g->snap, u64_cmp);   /* NULL when empty */
    if (g->n_wal) qsort(g->wal, g->n_wal, sizeof *g->wal, u64_cmp);
    return HEARTH_OK;
}

static hearth_status wal_create(hearth_index *ix, uint64_t gen, int *fd_out) {
    char *path = path_of(ix->dir, "wal", gen, "log");
    if (!path) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    hearth_status st = HEARTH_OK;
    if (fd < 0) st = hearth_set_error(HEARTH_ERR_IO, "index: cannot create %s: %s", path, strerror(errno));
    else {
        uint8_t h[WAL_HEADER];
        wal_header(ix, gen, h);
        if (write(fd, h, sizeof h) != (ssize_t)sizeof h || fsync(fd) != 0) {
            st = hearth_set_error(HEARTH_ERR_IO, "index: cannot write %s: %s", path, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    if (!st) fsync_dir(path);
    free(path);
    *fd_out = fd;
    return st;
}

static void note(hearth_index *ix, const char *fmt, const char *a, const char *b) {
    size_t n = strlen(ix->recovery);
    if (n && n < sizeof ix->recovery - 2) { ix->recovery[n++] = ';'; ix->recovery[n++] = ' '; ix->recovery[n] = 0; }
    snprintf(ix->recovery + n, sizeof ix->recovery - n, fmt, a, b);
}

/* checks a log header against the index; *p_out gets its parameters when ix is NULL */
static bool wal_header_ok(const uint8_t *h, size_t size, hearth_index_params *p) {
    if (size < WAL_HEADER || memcmp(h, WAL_MAGIC, 8) != 0 || get32(h + 8) != 1 || idx_crc32(0, h, 52) != get32(h + 52))
        return false;
    p->dim = (int32_t)get32(h + 12);
    p->metric = (hearth_index_metric)get32(h + 16);
    p->M = (int32_t)get32(h + 20);
    p->ef_construction = (int32_t)get32(h + 24);
    p->quantize_int8 = get32(h + 28) & 1;
    p->seed = get64(h + 32);
    return true;
}

static hearth_status replay_segment(hearth_index *ix, uint64_t gen, bool last) {
    char *path = path_of(ix->dir, "wal", gen, "log");
    if (!path) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    char *data = NULL;
    size_t size = 0;
    hearth_status st = hearth_read_file(path, &data, &size);
    if (st) { free(path); return st; }
    hearth_index_params hp;
    if (!wal_header_ok((uint8_t *)data, size, &hp) || hp.dim != ix->dim || hp.metric != ix->p.metric) {
        note(ix, "%s has a bad header (ignored)%s", path, "");
        hearth_log(HEARTH_LOG_WARN, "index: %s has a bad or foreign header; its records are ignored", path);
        if (last && size < WAL_HEADER) {   /* a crash while creating it: write the header again */
            int fd = -1;
            free(data);
            free(path);
            st = wal_create(ix, gen, &fd);
            if (fd >= 0) close(fd);
            return st;
        }
        free(data);
        free(path);
        return HEARTH_OK;
    }
    size_t good = 0;
    uint64_t recs = 0;
    char why[160];
    st = idx_wal_replay(ix, (uint8_t *)data + WAL_HEADER, size - WAL_HEADER, &good, &recs, why, sizeof why);
    ix->replayed += recs;
    if (!st && why[0]) {
        char msg[400];
        snprintf(msg, sizeof msg, "%" PRIu64 " records replayed, then %s; the %zu bytes from there were cut", recs, why,
                 size - WAL_HEADER - good);
        note(ix, "%s: %s", path, msg);
        hearth_log(HEARTH_LOG_WARN, "index: %s: %s", path, msg);
        if (truncate(path, (off_t)(WAL_HEADER + good)) != 0)
            st = hearth_set_error(HEARTH_ERR_IO, "index: cannot cut %s: %s", path, strerror(errno));
    }
    free(data);
    free(path);
    return st;
}

hearth_status idx_durable_open(const char *dir, const hearth_index_params *p, hearth_index **out) {
    *out = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return hearth_set_error(HEARTH_ERR_IO, "index: cannot create directory %s: %s", dir, strerror(errno));
    hearth_buf lp = {0};
    hearth_buf_printf(&lp, "%s/LOCK", dir);
    if (lp.oom) return hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    int lock_fd = open(lp.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "index: cannot open %s: %s", lp.data, strerror(errno));
        hearth_buf_free(&lp);
        return st;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        hearth_status st = hearth_set_error(HEARTH_ERR_IO, "index: %s is in use by another process (%s is locked)", dir, lp.data);
        hearth_buf_free(&lp);
        close(lock_fd);
        return st;
    }
    hearth_buf_free(&lp);
    gens g;
    hearth_status st = list_gens(dir, &g);
    hearth_index *ix = NULL;
    char recovery[256] = "";
    uint64_t base = 0;
    if (!st) {
        /* the newest snapshot that reads */
        for (size_t i = g.n_snap; i-- > 0 && !ix;) {
            char *path = path_of(dir, "snap", g.snap[i], "hidx");
            if (!path) { st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory"); break; }
            hearth_status s2 = idx_snapshot_read(path, p, &ix);
            if (s2 == HEARTH_ERR_INVALID_ARG) { st = s2; free(path); break; }
            if (s2) {
                size_t n = strlen(recovery);
                snprintf(recovery + n, sizeof recovery - n, "%s%s (skipped)", n ? "; " : "", hearth_last_error());
                hearth_log(HEARTH_LOG_WARN, "%s; trying an older snapshot", hearth_last_error());
            } else base = g.snap[i];
            free(path);
        }
        if (!st && !ix) {
            if (g.n_snap && (!g.n_wal || g.wal[0] != 1)) {
                st = hearth_set_error(HEARTH_ERR_FORMAT, "index: %s: no usable snapshot and the log does not start at the beginning (%s)",
                                      dir, recovery);
            } else if (g.n_wal) {   /* history complete from the first log */
                hearth_index_params hp = p ? *p : hearth_index_default_params();
                char *path = path_of(dir, "wal", g.wal[0], "log");
                char *data = NULL;
                size_t size = 0;
                if (path && hearth_read_file(path, &data, &size) == HEARTH_OK && wal_header_ok((uint8_t *)data, size, &hp)) {
                    if (p && p->dim && p->dim != hp.dim)
                        st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: %s holds %d-dimensional vectors, not %d", dir, hp.dim, p->dim);
                    else st = idx_new(&hp, &ix);
                } else if (p && p->dim) st = idx_new(p, &ix);
                else st = hearth_set_error(HEARTH_ERR_FORMAT, "index: %s: the first log %s has a bad header and no dim was given", dir, path ? path : "");
                free(data);
                free(path);
                base = 1;
            } else {
                if (!p || p->dim <= 0) st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: %s holds no index and params.dim is not set", dir);
                else st = idx_new(p, &ix);
                base = 1;
            }
        }
    }
    if (!st) {
        ix->dir = strdup(dir);
        ix->lock_fd = lock_fd;
        snprintf(ix->recovery, sizeof ix->recovery, "%s", recovery);
        if (p) {
            ix->p.fsync = p->fsync;
            if (p->ef_search > 0) ix->p.ef_search = p->ef_search;
            ix->p.n_threads = p->n_threads;
            ix->p.auto_snapshot_bytes = p->auto_snapshot_bytes;
        }
        char *sp = base ? path_of(dir, "snap", base, "hidx") : NULL;
        struct stat ss;
        ix->snap_bytes = sp && stat(sp, &ss) == 0 ? (uint64_t)ss.st_size : 0;
        free(sp);
        if (!ix->dir) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
        uint64_t last = base;
        for (size_t i = 0; !st && i < g.n_wal; i++) {
            if (g.wal[i] < base) continue;
            bool is_last = i + 1 == g.n_wal;
            st = replay_segment(ix, g.wal[i], is_last);
            last = g.wal[i];
        }
        if (!st) {
            ix->gen = last;
            char *path = path_of(dir, "wal", last, "log");
            int fd = path ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
            if (fd < 0 && path) st = wal_create(ix, last, &fd);
            else if (!path) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
            if (!st && fd >= 0) {
                struct stat sb;
                ix->wal_fd = fd;
                ix->wal = true;
                ix->wal_bytes = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
            }
            free(path);
        }
    }
    free(g.snap);
    free(g.wal);
    if (st) {
        if (ix) { ix->lock_fd = -1; idx_destroy(ix); }
        close(lock_fd);
        return st;
    }
    *out = ix;
    return HEARTH_OK;
}

hearth_status hearth_index_open(const char *dir, const hearth_index_params *p, hearth_index **out) {
    if (!dir || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_open: NULL argument");
    return idx_durable_open(dir, p, out);
}

static void remove_older(hearth_index *ix, uint64_t keep_from) {
    gens g;
    if (list_gens(ix->dir, &g)) return;
    for (size_t i = 0; i < g.n_snap; i++)
        if (g.snap[i] < keep_from) { char *p = path_of(ix->dir, "snap", g.snap[i], "hidx"); if (p) unlink(p); free(p); }
    for (size_t i = 0; i < g.n_wal; i++)
        if (g.wal[i] < keep_from) { char *p = path_of(ix->dir, "wal", g.wal[i], "log"); if (p) unlink(p); free(p); }
    free(g.snap);
    free(g.wal);
}

/* the snapshot, with ix->rw held exclusively */
static hearth_status snapshot_locked(hearth_index *ix) {
    uint64_t g1 = ix->gen + 1;
    int fd = -1;
    hearth_status st = wal_create(ix, g1, &fd);
    char *snap = st ? NULL : path_of(ix->dir, "snap", g1, "hidx");
    if (!st && !snap) st = hearth_set_error(HEARTH_ERR_NOMEM, "index: out of memory");
    if (!st) {
        uint64_t old = ix->gen;
        ix->gen = g1;
        st = idx_snapshot_write(ix, snap);
        if (st) {
            ix->gen = old;
            close(fd);
            char *w = path_of(ix->dir, "wal", g1, "log");
            if (w) unlink(w);
            free(w);
        } else {
            struct stat sb;
            close(ix->wal_fd);
            ix->wal_fd = fd;
            ix->wal_bytes = WAL_HEADER;
            ix->snap_bytes = stat(snap, &sb) == 0 ? (uint64_t)sb.st_size : 0;
            remove_older(ix, old);
        }
    } else if (fd >= 0) close(fd);
    free(snap);
    return st;
}

hearth_status hearth_index_snapshot(hearth_index *ix) {
    if (!ix) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_index_snapshot: index is NULL");
    if (!ix->wal) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "index: snapshot needs a durable index (hearth_index_open); use hearth_index_save");
    pthread_rwlock_wrlock(&ix->rw);
    hearth_status st = snapshot_locked(ix);
    pthread_rwlock_unlock(&ix->rw);
    return st;
}

static bool wants_snapshot(const hearth_index *ix) {
    if (!ix->wal || ix->p.auto_snapshot_bytes < 0) return false;
    uint64_t limit = ix->p.auto_snapshot_bytes ? (uint64_t)ix->p.auto_snapshot_bytes : (uint64_t)64 << 20;
    /* after a failure (a full disk...) try again only once the log grew by another quarter of the limit */
    if (ix->auto_failed_at && ix->wal_bytes < ix->auto_failed_at + limit / 4) return false;
    return ix->wal_bytes > limit && ix->wal_bytes > ix->snap_bytes / 2;
}

void idx_auto_snapshot(hearth_index *ix) {
    pthread_rwlock_rdlock(&ix->rw);
    bool want = wants_snapshot(ix);
    pthread_rwlock_unlock(&ix->rw);
    if (!want) return;
    pthread_rwlock_wrlock(&ix->rw);
    if (wants_snapshot(ix)) {   /* another writer may have taken it meanwhile */
        if (snapshot_locked(ix)) {
            ix->auto_failed_at = ix->wal_bytes;
            hearth_log(HEARTH_LOG_WARN, "index: %s: automatic snapshot failed: %s (writes stay durable in the log)",
                       ix->dir, hearth_last_error());
        } else {
            ix->auto_snapshots++;
            ix->auto_failed_at = 0;
        }
    }
    pthread_rwlock_unlock(&ix->rw);
}

void idx_durable_close(hearth_index *ix) {
    if (!ix->wal) return;
    if (ix->wal_fd >= 0) { fdatasync(ix->wal_fd); close(ix->wal_fd); }
    ix->wal_fd = -1;
    ix->wal = false;
    if (ix->lock_fd >= 0) close(ix->lock_fd);
    ix->lock_fd = -1;
}
