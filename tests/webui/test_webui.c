/*
 * test_webui.c — the web console's files as served (src/webui): the files
 * built into the binary are ui/dist's, byte for byte; "/" and folders mean
 * index.html; ETags and If-None-Match (304); gzip only when accepted, and it
 * inflates to the file; MIME types; the CSP; paths that try to leave the
 * folder or reach hidden files; a folder given with --ui-dir (files changed
 * on disk are served at once, symbolic links out of it are refused); and
 * ui/dist holds what ui/src has (`npm run build` was run before committing).
 */
#include "harness.h"
#include "webui/webui.h"

#include "hearth/core.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define UI_DIST HEARTH_SOURCE_DIR "/ui/dist"

/* inflates a gzip body; malloc'd, NULL on a bad stream */
static unsigned char *gunzip(const unsigned char *p, size_t n, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return NULL;
    size_t cap = n * 8 + 1024;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)p, z.avail_in = (uInt)n, z.next_out = out, z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    *out_len = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static char *read_all(const char *path, size_t *n) {
    char *s = NULL;
    if (hearth_read_file(path, &s, n) != HEARTH_OK) return NULL;
    return s;
}

TEST(embedded_files_are_ui_dist) {
    webui *u = NULL;
    CHECK_EQ_INT(webui_create(NULL, &u), HEARTH_OK);
    const char *files[] = {"/index.html", "/chat.js", "/style.css", "/vendor/marked.js", "/vendor/purify.js"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s", UI_DIST, files[i]);
        size_t n = 0;
        char *want = read_all(path, &n);
        CHECK_MSG(want != NULL, "%s", path);
        webui_reply r;
        CHECK_MSG(webui_get(u, files[i], NULL, NULL, &r), "%s", files[i]);
        CHECK_EQ_INT(r.status, 200);
        CHECK(!r.gzip);
        CHECK_EQ_INT(r.len, n);
        CHECK_MSG(want && r.body && !memcmp(r.body, want, n), "%s differs from ui/dist", files[i]);
        webui_reply_free(&r);
        free(want);
    }
    webui_reply r;
    CHECK(webui_get(u, "/", NULL, NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(!strcmp(r.mime, "text/html; charset=utf-8"));
    CHECK(r.len > 100 && strstr((const char *)r.body, "<html") != NULL);
    webui_reply_free(&r);
    CHECK(webui_get(u, "/chat.js", NULL, NULL, &r) && !strcmp(r.mime, "text/javascript; charset=utf-8"));
    CHECK(webui_get(u, "/style.css", NULL, NULL, &r) && !strcmp(r.mime, "text/css; charset=utf-8"));
    CHECK(webui_get(u, "/favicon.svg", NULL, NULL, &r) && !strcmp(r.mime, "image/svg+xml"));
    CHECK(!webui_get(u, "/no-such.js", NULL, NULL, &r));
    CHECK(!webui_get(u, "/v1/models", NULL, NULL, &r));   /* the API's, not the console's */
    CHECK(strstr(webui_csp, "script-src 'self'") && !strstr(webui_csp, "unsafe-inline"));
    webui_free(u);
    webui_free(NULL);
}

TEST(etags_and_304) {
    webui *u = NULL;
    CHECK_EQ_INT(webui_create(NULL, &u), HEARTH_OK);
    webui_reply a, b;
    CHECK(webui_get(u, "/index.html", NULL, NULL, &a));
    CHECK(webui_get(u, "/chat.js", NULL, NULL, &b));
    CHECK(a.etag[0] == '"' && a.etag[strlen(a.etag) - 1] == '"');
    CHECK(strcmp(a.etag, b.etag) != 0);
    char list[256], weak[128], bare[64];
    snprintf(bare, sizeof bare, "%.*s", (int)strlen(a.etag) - 2, a.etag + 1);
    struct { const char *inm; int status; } cases[] = {
        {a.etag, 304}, {b.etag, 200}, {"*", 304}, {"\"nope\"", 200}, {"", 200}, {"garbage, \"", 200}, {bare, 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        webui_reply r;
        CHECK(webui_get(u, "/", NULL, cases[i].inm, &r));
        CHECK_MSG(r.status == cases[i].status, "If-None-Match: %s -> %d", cases[i].inm, r.status);
    }
    snprintf(list, sizeof list, "\"x\", %s , \"y\"", a.etag);
    snprintf(weak, sizeof weak, "W/%s", a.etag);
    webui_reply r;
    CHECK(webui_get(u, "/", NULL, list, &r) && r.status == 304);
    CHECK(webui_get(u, "/", NULL, weak, &r) && r.status == 304);
    /* the gzipped representation has its own ETag */
    CHECK(webui_get(u, "/", "gzip", NULL, &r) && r.gzip && strcmp(r.etag, a.etag) != 0);
    char gz_etag[64];
    snprintf(gz_etag, sizeof gz_etag, "%s", r.etag);
    CHECK(webui_get(u, "/", "gzip", gz_etag, &r) && r.status == 304);
    CHECK(webui_get(u, "/", "identity", gz_etag, &r) && r.status == 200);
    webui_free(u);
}

TEST(gzip_when_accepted) {
    webui *u = NULL;
    CHECK_EQ_INT(webui_create(NULL, &u), HEARTH_OK);
    webui_reply raw, r;
    CHECK(webui_get(u, "/vendor/purify.js", NULL, NULL, &raw));
    struct { const char *ae; int gz; } cases[] = {
        {"gzip", 1}, {"gzip, deflate, br", 1}, {"br;q=1.0, GZIP;q=0.5", 1}, {"*", 1}, {"gzip;q=0", 0},
        {"gzip;q=0, *", 0}, {"deflate", 0}, {"identity", 0}, {"", 0}, {"xgzip", 0}, {";;;,,q=", 0},
        {"*;q=0", 0}, {"br, *;q=0.1", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(webui_get(u, "/vendor/purify.js", cases[i].ae, NULL, &r));
        CHECK_MSG(r.gzip == (cases[i].gz != 0), "Accept-Encoding: %s -> gzip %d", cases[i].ae, r.gzip);
    }
    CHECK(webui_get(u, "/vendor/purify.js", "gzip", NULL, &r));
    CHECK(r.gzip && r.len < raw.len / 2);
    size_t n = 0;
    unsigned char *plain = gunzip(r.body, r.len, &n);
    CHECK(plain && n == raw.len && !memcmp(plain, raw.body, n));
    free(plain);
    webui_free(u);
}

TEST(bad_paths) {
    webui *u = NULL;
    CHECK_EQ_INT(webui_create(NULL, &u), HEARTH_OK);
    const char *bad[] = {"", "index.html", "/../index.html", "/vendor/../index.html", "/./index.html", "/.git/config",
                         "/vendor/..", "/\\index.html", "/index.html\r\n", "/a/../../../etc/passwd", "//etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        webui_reply r;
        CHECK_MSG(!webui_get(u, bad[i], NULL, NULL, &r), "'%s' was served", bad[i]);
    }
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = 0;
    webui_reply r;
    CHECK(!webui_get(u, longp, "gzip", "\"x\"", &r));
    CHECK(!webui_get(NULL, "/", NULL, NULL, &r));   /* --no-ui */
    webui_free(u);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

TEST(folder) {
    char root[] = "/tmp/hearth-webui-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/site", root);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/admin", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/index.html", dir);
    write_file(p, "<!doctype html><p>one</p>");
    snprintf(p, sizeof p, "%s/admin/index.html", dir);
    write_file(p, "<!doctype html><p>admin</p>");
    snprintf(p, sizeof p, "%s/secret.txt", root);
    write_file(p, "outside");
    char link[600];
    snprintf(link, sizeof link, "%s/leak.txt", dir);
    CHECK(symlink(p, link) == 0);

    webui *u = NULL;
    CHECK_EQ_INT(webui_create(dir, &u), HEARTH_OK);
    webui_reply r;
    CHECK(webui_get(u, "/", NULL, NULL, &r) && r.status == 200 && r.len == 25 && !memcmp(r.body, "<!doctype html><p>one", 21));
    char etag[64];
    snprintf(etag, sizeof etag, "%s", r.etag);
    webui_reply_free(&r);
    CHECK(webui_get(u, "/", NULL, etag, &r) && r.status == 304);
    webui_reply_free(&r);
    snprintf(p, sizeof p, "%s/index.html", dir);
    write_file(p, "<!doctype html><p>two</p>");   /* edited: served at once, with a new ETag */
    CHECK(webui_get(u, "/", NULL, etag, &r) && r.status == 200 && strstr((const char *)r.body, "two"));
    webui_reply_free(&r);
    CHECK(webui_get(u, "/admin", NULL, NULL, &r) && strstr((const char *)r.body, "admin"));
    webui_reply_free(&r);
    CHECK(webui_get(u, "/admin/", NULL, NULL, &r) && strstr((const char *)r.body, "admin"));
    webui_reply_free(&r);
    CHECK(!webui_get(u, "/leak.txt", NULL, NULL, &r));   /* a symbolic link out of the folder */
    CHECK(!webui_get(u, "/../secret.txt", NULL, NULL, &r));
    CHECK(!webui_get(u, "/nothing", NULL, NULL, &r));
    webui_free(u);

    u = NULL;
    CHECK(webui_create("/nonexistent/hearth-ui", &u) == HEARTH_ERR_IO && u == NULL);
    CHECK(strstr(hearth_last_error(), "/nonexistent/hearth-ui") != NULL);
    CHECK(webui_create(p, &u) == HEARTH_ERR_IO);   /* a file, not a folder */

    snprintf(p, sizeof p, "rm -rf '%s'", root);
    CHECK(system(p) == 0);
}

/* every page source in ui/src is in ui/dist as it is: a change to the pages
 * committed without `npm run build` would not reach the binary */
TEST(dist_is_built_from_src) {
    DIR *d = opendir(HEARTH_SOURCE_DIR "/ui/src");
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/ui/src/%s", HEARTH_SOURCE_DIR, e->d_name);
        snprintf(b, sizeof b, "%s/%s", UI_DIST, e->d_name);
        size_t na = 0, nb = 0;
        char *x = read_all(a, &na), *y = read_all(b, &nb);
        CHECK_MSG(x && y && na == nb && !memcmp(x, y, na), "ui/dist/%s is not ui/src/%s: run npm run build in ui/",
                  e->d_name, e->d_name);
        free(x);
        free(y);
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 5);
}

int main(void) {
    RUN(embedded_files_are_ui_dist);
    RUN(etags_and_304);
    RUN(gzip_when_accepted);
    RUN(bad_paths);
    RUN(folder);
    RUN(dist_is_built_from_src);
    return harness_done();
}
