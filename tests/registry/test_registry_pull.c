/*
 * test_registry_pull.c — `hearth models pull` against an HTTP server inside
 * the test (libmicrohttpd on 127.0.0.1, a free port) that serves a model
 * file with Range support, and on request cuts the connection mid-body,
 * ignores Range, redirects, or answers 404. Checks: the digest is verified;
 * a wrong digest or a cut body registers nothing and says why; a cut pull
 * resumes with a Range request; hf:// URLs (HF_ENDPOINT, HF_TOKEN); a full
 * disk during the download leaves the catalogue unchanged; the command's
 * plain progress lines.
 */
#include "harness.h"
#include "hearth/registry.h"
#include "registry_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODEL HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"

/* ==== the server =========================================================== */

static struct {
    pthread_mutex_t mu;
    char *body;
    size_t size;
    int port;
    int n_cut;               /* how many /cut/ requests were cut so far */
    char last_range[64];     /* the Range header of the latest request ("" none) */
    int n_ranged;            /* requests that came with a Range header */
    char last_auth[128];
    char last_path[256];
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct reader {
    size_t start, end;   /* bytes [start, end) of the body */
    size_t cut_at;       /* end the connection with an error here (0: never) */
} reader;

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max) {
    reader *r = cls;
    size_t at = r->start + (size_t)pos;
    if (r->cut_at && at >= r->cut_at) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (at >= r->end) return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = r->end - at;
    if (n > max) n = max;
    if (r->cut_at && at + n > r->cut_at) n = r->cut_at - at;
    memcpy(buf, srv.body + at, n);
    return (ssize_t)n;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (strcmp(method, "GET") != 0) return reply_text(c, 405, "GET only");
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    bool cut = strncmp(url, "/cut/", 5) == 0, norange = strncmp(url, "/norange/", 9) == 0;
    pthread_mutex_lock(&srv.mu);
    snprintf(srv.last_range, sizeof srv.last_range, "%s", range ? range : "");
    snprintf(srv.last_auth, sizeof srv.last_auth, "%s", auth ? auth : "");
    snprintf(srv.last_path, sizeof srv.last_path, "%s", url);
    srv.n_ranged += range != NULL;
    bool cut_now = cut && srv.n_cut++ == 0;   /* only the first /cut/ request is cut */
    pthread_mutex_unlock(&srv.mu);
    if (strncmp(url, "/redirect/", 10) == 0) {
        char loc[300];
        snprintf(loc, sizeof loc, "http://127.0.0.1:%d/ok/%s", srv.port, url + 10);
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Location", loc);
        enum MHD_Result ret = MHD_queue_response(c, 302, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    bool hf = strstr(url, "/resolve/main/model.gguf") != NULL;
    if (!strstr(url, "model.gguf") || (!hf && !cut && !norange && strncmp(url, "/ok/", 4) != 0))
        return reply_text(c, 404, "not found");
    reader *r = calloc(1, sizeof *r);
    r->end = srv.size;
    unsigned code = 200;
    unsigned long long from = 0;
    if (range && !norange && sscanf(range, "bytes=%llu-", &from) == 1) {
        if (from >= srv.size) { free(r); return reply_text(c, 416, "range not satisfiable"); }
        r->start = (size_t)from;
        code = 206;
    }
    if (cut_now) r->cut_at = srv.size / 2;
    struct MHD_Response *resp = MHD_create_response_from_callback(r->end - r->start, 64 * 1024, read_body, r, free);
    if (code == 206) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", r->start, srv.size - 1, srv.size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    MHD_add_response_header(resp, "Accept-Ranges", norange ? "none" : "bytes");
    enum MHD_Result ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct MHD_Daemon *start_server(void) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                                            NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                            MHD_OPTION_END);
    if (d) srv.port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return d;
}

/* ==== helpers =============================================================== */

static char root[256], want[80];

static hearth_registry *open_store(const char *name) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    hearth_registry *r = NULL;
    if (hearth_registry_open(dir, &r) != HEARTH_OK) fprintf(stderr, "open: %s\n", hearth_last_error());
    return r;
}

static void url(char *out, size_t n, const char *path) { snprintf(out, n, "http://127.0.0.1:%d%s", srv.port, path); }

/* ==== tests ================================================================= */

TEST(pull_verifies_digest) {
    hearth_registry *r = open_store("a");
    if (!r) { CHECK(0); return; }
    char u[300];
    url(u, sizeof u, "/ok/model.gguf");
    hearth_registry_pull_params p = hearth_registry_default_pull_params();
    p.add.expected_digest = want;
    hearth_registry_entry e;
    CHECK(hearth_registry_pull(r, u, "tiny:v1", &p, &e, NULL) == HEARTH_OK);
    CHECK_STR(e.digest, want);
    CHECK_STR(e.source, u);
    CHECK(hearth_registry_verify(r, "tiny:v1") == HEARTH_OK);
    hearth_registry_entry_clear(&e);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "partial"), 0);

    /* a wrong digest: nothing registered, the download deleted, and it says why */
    p.add.expected_digest = "sha256:00000000000000000000000000000000000000000000000000000000000000ff";
    int blobs = count_files(hearth_registry_dir(r), "blobs");
    CHECK(hearth_registry_pull(r, u, "tiny:v2", &p, &e, NULL) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "SHA-256 mismatch") && strstr(hearth_last_error(), "nothing registered"));
    CHECK(hearth_registry_resolve(r, "tiny:v2", &e) == HEARTH_ERR_NOT_FOUND);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "blobs"), blobs);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "partial"), 0);

    /* 404 and a redirect */
    url(u, sizeof u, "/ok/missing.bin");
    CHECK(hearth_registry_pull(r, u, "tiny:v3", NULL, &e, NULL) == HEARTH_ERR_IO);
    CHECK(strstr(hearth_last_error(), "HTTP 404") != NULL);
    CHECK_EQ_INT(n_versions(r), 1);
    url(u, sizeof u, "/redirect/model.gguf");
    p.add.expected_digest = want;
    CHECK(hearth_registry_pull(r, u, "tiny:v4", &p, &e, NULL) == HEARTH_OK);
    hearth_registry_entry_clear(&e);
    /* versions stay immutable */
    CHECK(hearth_registry_pull(r, u, "tiny:v4", &p, &e, NULL) == HEARTH_ERR_INVALID_ARG);
    hearth_registry_free(r);
}

TEST(cut_pull_resumes) {
    hearth_registry *r = open_store("b");
    if (!r) { CHECK(0); return; }
    char u[300];
    url(u, sizeof u, "/cut/model.gguf");
    hearth_registry_pull_params p = hearth_registry_default_pull_params();
    p.add.expected_digest = want;
    hearth_registry_entry e;
    int64_t resumed = -1;
    CHECK(hearth_registry_pull(r, u, "cut:v1", &p, &e, &resumed) == HEARTH_ERR_IO);
    CHECK(strstr(hearth_last_error(), "resume") && strstr(hearth_last_error(), "nothing registered"));
    CHECK_EQ_INT(n_versions(r), 0);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "partial"), 1);
    pthread_mutex_lock(&srv.mu);
    int ranged_before = srv.n_ranged;
    pthread_mutex_unlock(&srv.mu);
    CHECK(hearth_registry_pull(r, u, "cut:v1", &p, &e, &resumed) == HEARTH_OK);
    CHECK(resumed > 0 && resumed <= (int64_t)srv.size / 2);
    pthread_mutex_lock(&srv.mu);
    char expect[64];
    snprintf(expect, sizeof expect, "bytes=%lld-", (long long)resumed);
    CHECK_STR(srv.last_range, expect);
    CHECK_EQ_INT(srv.n_ranged, ranged_before + 1);
    pthread_mutex_unlock(&srv.mu);
    CHECK_STR(e.digest, want);
    CHECK(hearth_registry_verify(r, "cut:v1") == HEARTH_OK);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "partial"), 0);
    hearth_registry_entry_clear(&e);

    hearth_registry_free(r);
}

/* a partial file altered between two runs: the resumed pull hashes what is on
 * disk, so the digest check catches it */
TEST(altered_partial_is_caught) {
    hearth_registry *r = open_store("g");
    if (!r) { CHECK(0); return; }
    pthread_mutex_lock(&srv.mu);
    srv.n_cut = 0;
    pthread_mutex_unlock(&srv.mu);
    char u[300], part[1000] = "";
    url(u, sizeof u, "/cut/model.gguf");
    hearth_registry_pull_params p = hearth_registry_default_pull_params();
    p.add.expected_digest = want;
    hearth_registry_entry e;
    CHECK(hearth_registry_pull(r, u, "alt:v1", &p, &e, NULL) == HEARTH_ERR_IO);
    char pdir[600];
    snprintf(pdir, sizeof pdir, "%s/partial", hearth_registry_dir(r));
    DIR *d = opendir(pdir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(part, sizeof part, "%s/%s", pdir, de->d_name);
    if (d) closedir(d);
    FILE *f = fopen(part, "r+b");
    CHECK(f != NULL);
    if (f) { fseek(f, 100, SEEK_SET); fputc(0xA5, f); fclose(f); }
    CHECK(hearth_registry_pull(r, u, "alt:v1", &p, &e, NULL) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "mismatch") != NULL);
    CHECK_EQ_INT(n_versions(r), 0);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "partial"), 0);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "blobs"), 0);
    hearth_registry_free(r);
}

static bool cancel_midway(void *user, int64_t done, int64_t total) {
    (void)user;
    return !(total > 0 && done > 0 && done < total);
}

TEST(server_ignoring_range_restarts) {
    hearth_registry *r = open_store("c");
    if (!r) { CHECK(0); return; }
    char u[300];
    url(u, sizeof u, "/norange/model.gguf");
    hearth_registry_pull_params p = hearth_registry_default_pull_params();
    p.add.expected_digest = want;
    p.progress = cancel_midway;
    hearth_registry_entry e;
    int64_t resumed = -1;
    CHECK(hearth_registry_pull(r, u, "nr:v1", &p, &e, &resumed) == HEARTH_ERR_CANCELLED);
    CHECK_EQ_INT(count_files(hearth_registry_dir(r), "partial"), 1);
    p.progress = NULL;
    CHECK(hearth_registry_pull(r, u, "nr:v1", &p, &e, &resumed) == HEARTH_OK);   /* sent Range, got 200: restarted */
    pthread_mutex_lock(&srv.mu);
    CHECK(strncmp(srv.last_range, "bytes=", 6) == 0);
    pthread_mutex_unlock(&srv.mu);
    CHECK_EQ_INT(resumed, 0);
    CHECK_STR(e.digest, want);
    hearth_registry_entry_clear(&e);
    hearth_registry_free(r);
}

TEST(hf_urls) {
    char *full = NULL;
    setenv("HF_ENDPOINT", "https://hf.example", 1);
    CHECK(hearth_registry_url_resolve("hf://org/repo@v2/sub/model.gguf", &full) == HEARTH_OK);
    CHECK_STR(full, "https://hf.example/org/repo/resolve/v2/sub/model.gguf");
    free(full);
    CHECK(hearth_registry_url_resolve("https://huggingface.co/org/repo/blob/main/m.gguf", &full) == HEARTH_OK);
    CHECK_STR(full, "https://huggingface.co/org/repo/resolve/main/m.gguf");
    free(full);
    CHECK(hearth_registry_url_resolve("hf://org/repo/../../etc/passwd", &full) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_registry_url_resolve("file:///etc/passwd", &full) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_registry_url_resolve("hf://org", &full) == HEARTH_ERR_INVALID_ARG);

    char ep[100];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv.port);
    setenv("HF_ENDPOINT", ep, 1);
    setenv("HF_TOKEN", "hf_test_token", 1);
    hearth_registry *r = open_store("d");
    if (!r) { CHECK(0); return; }
    hearth_registry_pull_params p = hearth_registry_default_pull_params();
    p.add.expected_digest = want + 7;   /* bare hex works too */
    hearth_registry_entry e;
    CHECK(hearth_registry_pull(r, "hf://someone/tiny/model.gguf", "hf/tiny:v1", &p, &e, NULL) == HEARTH_OK);
    CHECK_STR(e.digest, want);
    hearth_registry_entry_clear(&e);
    pthread_mutex_lock(&srv.mu);
    CHECK_STR(srv.last_path, "/someone/tiny/resolve/main/model.gguf");
    CHECK_STR(srv.last_auth, "Bearer hf_test_token");
    pthread_mutex_unlock(&srv.mu);
    unsetenv("HF_TOKEN");
    unsetenv("HF_ENDPOINT");
    hearth_registry_free(r);
}

/* the download hits a 1 MiB file-size limit: an error that says so, no version */
TEST(full_disk_during_pull) {
    hearth_registry *r = open_store("e");
    if (!r) { CHECK(0); return; }
    char dir[400], u[300];
    snprintf(dir, sizeof dir, "%s", hearth_registry_dir(r));
    hearth_registry_free(r);
    url(u, sizeof u, "/ok/model.gguf");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        hearth_registry *c = NULL;
        if (hearth_registry_open(dir, &c)) _exit(10);
        hearth_status s = hearth_registry_pull(c, u, "big:v1", NULL, NULL, NULL);
        fprintf(stderr, "child: %s\n", hearth_last_error());
        bool said = strstr(hearth_last_error(), "File too large") && strstr(hearth_last_error(), "nothing registered");
        hearth_registry_free(c);
        _exit(s == HEARTH_ERR_IO && said ? 0 : 11);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    r = open_store("e");
    if (r) CHECK_EQ_INT(n_versions(r), 0);
    CHECK_EQ_INT(count_files(dir, "blobs"), 0);
    hearth_registry_free(r);
}

TEST(cli_pull_progress_lines) {
    char cmd[1500], u[300], *out = NULL;
    url(u, sizeof u, "/ok/model.gguf");
    snprintf(cmd, sizeof cmd, "%s models pull %s --name tiny:v1 --sha256 %s --store %s/f 2>&1", HEARTH_BIN, u, want,
             root);
    CHECK(harness_run(cmd, &out) == 0);
    CHECK(out && strstr(out, "pull: 100%") && strstr(out, "/s") && strstr(out, "added tiny:v1 sha256:"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s models pull %s --name tiny:v2 --sha256 abc --store %s/f 2>&1", HEARTH_BIN, u, root);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK(out && strstr(out, "not a SHA-256 digest"));
    free(out);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/hearth-pull-test-XXXXXX");
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    srv.body = harness_read(MODEL, &srv.size);
    if (!srv.body || hearth_sha256_file(MODEL, want) != HEARTH_OK) { fprintf(stderr, "no test model\n"); return 1; }
    struct MHD_Daemon *d = start_server();
    if (!d) { fprintf(stderr, "cannot start the test server\n"); return 1; }
    RUN(pull_verifies_digest);
    RUN(cut_pull_resumes);
    RUN(server_ignoring_range_restarts);
    RUN(altered_partial_is_caught);
    RUN(hf_urls);
    RUN(full_disk_during_pull);
    RUN(cli_pull_progress_lines);
    MHD_stop_daemon(d);
    free(srv.body);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (harness_failures == 0) harness_run(cmd, NULL);
    return harness_done();
}
