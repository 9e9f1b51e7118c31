/*
 * webui.c — serving the web console's files: the table built into the binary
 * (webui_assets.h, generated from ui/dist) or a folder on disk; path checks,
 * MIME types, ETags, gzip (zlib) and the security headers. See webui.h.
 */
#include "webui/webui.h"
#include "webui/webui_assets.h"

#include "core/buf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_PATH_LEN 1024
#define MAX_FILE_SIZE (64u << 20)   /* a folder's file larger than this is not served */

const char *const webui_csp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

/* an embedded file, ready to send: raw and gzipped bytes, its ETag */
typedef struct entry {
    const webui_asset *a;
    unsigned char *gz;   /* NULL when gzip does not make it smaller */
    size_t gz_len;
    char etag[40];       /* without quotes */
} entry;

struct webui {
    char *dir;           /* realpath of the folder; NULL: embedded */
    entry *e;            /* webui_n_assets entries (embedded only) */
};

/* ==== content: MIME types, ETags, gzip ============================================ */
static const char *mime_of(const char *path) {
    static const struct { const char *ext, *mime; } types[] = {
        {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},           {".svg", "image/svg+xml"},
        {".png", "image/png"},                   {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},                 {".webp", "image/webp"},
        {".ico", "image/x-icon"},                {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},   {".webmanifest", "application/manifest+json"},
    };
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext)) return types[i].mime;
    return "application/octet-stream";
}

static bool compressible(const char *mime) {
    return !strncmp(mime, "text/", 5) || strstr(mime, "json") || strstr(mime, "svg");
}

/* a strong validator of the bytes: CRC-32 and length (not a security hash:
 * it only has to change when the file does) */
static void etag_of(const unsigned char *p, size_t n, char *out, size_t cap) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n;) {   /* crc32 takes uInt lengths */
        uInt step = n - off > (1u << 30) ? (1u << 30) : (uInt)(n - off);
        crc = crc32(crc, p + off, step);
        off += step;
    }
    snprintf(out, cap, "%08lx-%zx", (unsigned long)crc, n);
}

/* gzip of p[0..n) into *out (malloc'd); false when out of memory or not smaller */
static bool gzip_bytes(const unsigned char *p, size_t n, unsigned char **out, size_t *out_len) {
    *out = NULL, *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;   /* +16: gzip */
    uLong cap = deflateBound(&z, (uLong)n);
    unsigned char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return false;
    }
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || len >= n) {
        free(buf);
        return false;
    }
    *out = buf, *out_len = len;
    return true;
}

/* ==== request headers ============================================================= */
/* true when Accept-Encoding lists gzip (or *) with a q-value above 0 */
static bool accepts_gzip(const char *ae) {
    if (!ae) return false;
    bool star = false, gz = false, gz_listed = false;
    while (*ae) {
        while (*ae == ' ' || *ae == '\t' || *ae == ',') ae++;
        const char *tok = ae;
        while (*ae && *ae != ',' && *ae != ';' && *ae != ' ' && *ae != '\t') ae++;
        size_t tn = (size_t)(ae - tok);
        double q = 1;
        while (*ae && *ae != ',') {   /* parameters: only q matters */
            while (*ae == ' ' || *ae == '\t' || *ae == ';') ae++;
            if ((ae[0] == 'q' || ae[0] == 'Q') && ae[1] == '=') {
                char *end;
                q = strtod(ae + 2, &end);
                ae = end > ae + 2 ? end : ae + 2;
            } else {
                while (*ae && *ae != ',' && *ae != ';') ae++;
            }
        }
        if (tn == 4 && !strncasecmp(tok, "gzip", 4)) gz_listed = true, gz = q > 0;
        else if (tn == 1 && *tok == '*') star = q > 0;
    }
    return gz_listed ? gz : star;
}

/* true when If-None-Match names etag (quoted, weak or strong) or is "*" */
static bool etag_matches(const char *inm, const char *etag) {
    if (!inm) return false;
    size_t en = strlen(etag);
    while (*inm) {
        while (*inm == ' ' || *inm == '\t' || *inm == ',') inm++;
        if (*inm == '*') return true;
        if (!strncmp(inm, "W/", 2)) inm += 2;
        if (*inm != '"') {   /* malformed: skip to the next comma */
            while (*inm && *inm != ',') inm++;
            continue;
        }
        const char *end = strchr(inm + 1, '"');
        if (!end) return false;
        if ((size_t)(end - inm - 1) == en && !memcmp(inm + 1, etag, en)) return true;
        inm = end + 1;
    }
    return false;
}

/* ==== paths ======================================================================= */
/* false for paths the console never serves: not absolute, too long, control
 * characters, backslashes, or a segment starting with '.' */
static bool path_ok(const char *path) {
    if (path[0] != '/' || strlen(path) >= MAX_PATH_LEN - 16) return false;
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') return false;
        if (*p == '/' && p[1] == '.') return false;
    }
    return true;
}

/* the file names to try for path: itself, or its index.html (see webui.h) */
static int candidates(const char *path, char out[2][MAX_PATH_LEN]) {
    size_t n = strlen(path);
    if (path[n - 1] == '/') {
        snprintf(out[0], MAX_PATH_LEN, "%sindex.html", path);
        return 1;
    }
    snprintf(out[0], MAX_PATH_LEN, "%s", path);
    const char *last = strrchr(path, '/');
    if (strchr(last, '.')) return 1;
    snprintf(out[1], MAX_PATH_LEN, "%s/index.html", path);
    return 2;
}

/* reads dir + name, a regular file inside dir (symbolic links that lead out
 * are refused); false when absent */
static bool read_in_dir(const char *dir, const char *name, unsigned char **out, size_t *len) {
    char full[PATH_MAX + MAX_PATH_LEN], real[PATH_MAX];
    snprintf(full, sizeof full, "%s%s", dir, name);
    if (!realpath(full, real)) return false;
    size_t dn = strlen(dir);
    if (strncmp(real, dir, dn) != 0 || real[dn] != '/') return false;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= MAX_FILE_SIZE;
    unsigned char *buf = ok ? malloc((size_t)st.st_size + 1) : NULL;
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return false;
    }
    buf[got] = 0;   /* a terminator after the body: text files can be read as strings */
    *out = buf, *len = got;
    return true;
}

/* ==== lifetime ==================================================================== */
hearth_status webui_create(const char *dir, webui **out) {
    *out = NULL;
    webui *u = calloc(1, sizeof *u);
    if (!u) return hearth_set_error(HEARTH_ERR_NOMEM, "ui: out of memory");
    if (dir) {
        char real[PATH_MAX];
        struct stat st;
        if (!realpath(dir, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(u);
            return hearth_set_error(HEARTH_ERR_IO, "ui: --ui-dir %s is not a readable folder", dir);
        }
        if (!(u->dir = strdup(real))) {
            free(u);
            return hearth_set_error(HEARTH_ERR_NOMEM, "ui: out of memory");
        }
        *out = u;
        return HEARTH_OK;
    }
    if (!(u->e = calloc(webui_n_assets ? webui_n_assets : 1, sizeof *u->e))) {
        free(u);
        return hearth_set_error(HEARTH_ERR_NOMEM, "ui: out of memory");
    }
    for (size_t i = 0; i < webui_n_assets; i++) {
        entry *e = &u->e[i];
        e->a = &webui_assets[i];
        etag_of(e->a->data, e->a->len, e->etag, sizeof e->etag);
        if (compressible(mime_of(e->a->path))) gzip_bytes(e->a->data, e->a->len, &e->gz, &e->gz_len);
    }
    *out = u;
    return HEARTH_OK;
}

void webui_free(webui *u) {
    if (!u) return;
    for (size_t i = 0; u->e && i < webui_n_assets; i++) free(u->e[i].gz);
    free(u->e);
    free(u->dir);
    free(u);
}

/* ==== answers ===================================================================== */
static const entry *find_embedded(const webui *u, const char *name) {
    for (size_t i = 0; i < webui_n_assets; i++)
        if (!strcmp(u->e[i].a->path, name)) return &u->e[i];
    return NULL;
}

/* the reply for bytes (raw), gz (its gzip or NULL), with etag; the gzipped
 * representation has its own ETag ("-gz") as HTTP asks of strong validators */
static void fill(webui_reply *r, const char *name, const char *etag, bool use_gz, const char *inm) {
    r->mime = mime_of(name);
    r->gzip = use_gz;
    snprintf(r->etag, sizeof r->etag, "\"%s%s\"", etag, use_gz ? "-gz" : "");
    char bare[sizeof r->etag];
    snprintf(bare, sizeof bare, "%s%s", etag, use_gz ? "-gz" : "");
    r->status = etag_matches(inm, bare) ? 304 : 200;
}

bool webui_get(webui *u, const char *path, const char *accept_encoding, const char *if_none_match, webui_reply *r) {
    memset(r, 0, sizeof *r);
    if (!u || !path || !path_ok(path)) return false;
    char names[2][MAX_PATH_LEN];
    int n = candidates(path, names);
    bool gz_ok = accepts_gzip(accept_encoding);
    for (int i = 0; i < n; i++) {
        if (!u->dir) {
            const entry *e = find_embedded(u, names[i]);
            if (!e) continue;
            bool use_gz = gz_ok && e->gz;
            fill(r, names[i], e->etag, use_gz, if_none_match);
            r->body = use_gz ? e->gz : e->a->data;
            r->len = use_gz ? e->gz_len : e->a->len;
            return true;
        }
        unsigned char *raw;
        size_t len;
        if (!read_in_dir(u->dir, names[i], &raw, &len)) continue;
        char etag[40];
        etag_of(raw, len, etag, sizeof etag);
        unsigned char *gz = NULL;
        size_t gz_len = 0;
        bool use_gz = gz_ok && compressible(mime_of(names[i])) && gzip_bytes(raw, len, &gz, &gz_len);
        fill(r, names[i], etag, use_gz, if_none_match);
        if (use_gz) free(raw), raw = gz, len = gz_len;
        r->owned = raw;
        r->body = raw;
        r->len = len;
        return true;
    }
    return false;
}

void webui_reply_free(webui_reply *r) {
    if (!r) return;
    free(r->owned);
    memset(r, 0, sizeof *r);
}

/* ==== libmicrohttpd =============================================================== */
int webui_respond(webui *u, struct MHD_Connection *c, const char *method, const char *url) {
    if (!u || (strcmp(method, "GET") && strcmp(method, "HEAD"))) return 0;
    webui_reply r;
    if (!webui_get(u, url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH), &r))
        return 0;
    struct MHD_Response *resp;
    if (r.status == 304) resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else if (r.owned) {
        resp = MHD_create_response_from_buffer(r.len, r.owned, MHD_RESPMEM_MUST_FREE);
        if (resp) r.owned = NULL;   /* MHD frees it */
    } else
        resp = MHD_create_response_from_buffer(r.len, (void *)r.body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        webui_reply_free(&r);
        return -1;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r.etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");   /* revalidate: 304 */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (r.status == 200) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.mime);
        if (r.gzip) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        MHD_add_response_header(resp, "Content-Security-Policy", webui_csp);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    }
    int status = r.status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    webui_reply_free(&r);
    return ok == MHD_YES ? status : -1;
}
