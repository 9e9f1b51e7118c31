/*
 * http_client.h — a tiny HTTP/1.1 client over sockets for the server tests
 * (and bench_serve): one request per connection, Connection: close, the
 * response read to the end (chunked bodies de-chunked), bounded by a
 * receive timeout. Also starts `hearth serve` on a free port.
 */
#ifndef HEARTH_TEST_HTTP_CLIENT_H
#define HEARTH_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct http_resp {
    int status;
    char *head;    /* status line and headers */
    char *body;    /* de-chunked, NUL-terminated */
    size_t len;
} http_resp;

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int http_connect(int port, int timeout_s) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline bool send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w, n -= (size_t)w;
    }
    return true;
}

/* extra: more header lines, each ending in \r\n (NULL: none) */
static inline bool http_send_h(int fd, const char *method, const char *path, const char *extra, const char *body) {
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    snprintf(head, sizeof head,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
             "%sContent-Length: %zu\r\n\r\n",
             method, path, extra ? extra : "", blen);
    return send_all(fd, head, strlen(head)) && (!blen || send_all(fd, body, blen));
}

static inline bool http_send(int fd, const char *method, const char *path, const char *body) {
    return http_send_h(fd, method, path, NULL, body);
}

/* de-chunks in place; returns the new length */
static inline size_t dechunk(char *b, size_t n) {
    size_t r = 0, w = 0;
    while (r < n) {
        char *end;
        unsigned long sz = strtoul(b + r, &end, 16);
        char *crlf = strstr(b + r, "\r\n");
        if (!crlf || end > crlf) break;
        r = (size_t)(crlf - b) + 2;
        if (sz == 0 || r + sz > n) break;
        memmove(b + w, b + r, sz);
        w += sz, r += sz + 2;
    }
    b[w] = 0;
    return w;
}

/* reads the whole response (until the server closes); on_data (may be NULL)
 * sees what has arrived so far after each piece (raw, NUL-terminated) */
static inline bool http_read_cb(int fd, http_resp *out, void (*on_data)(const char *so_far, void *user), void *user) {
    memset(out, 0, sizeof *out);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = 0;
        if (on_data) on_data(buf, user);
    }
    buf[len] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        return false;
    }
    size_t hl = (size_t)(sep - buf);
    out->head = strndup(buf, hl);
    size_t bl = len - hl - 4;
    out->body = malloc(bl + 1);
    memcpy(out->body, sep + 4, bl);
    out->body[bl] = 0;
    out->len = strcasestr(out->head, "transfer-encoding: chunked") ? dechunk(out->body, bl) : bl;
    free(buf);
    return true;
}

static inline bool http_read(int fd, http_resp *out) { return http_read_cb(fd, out, NULL, NULL); }

/* stdout of a shell command (malloc'd, NUL-terminated; empty if it failed) */
static inline char *cmd_output(const char *cmd) {
    FILE *f = popen(cmd, "r");
    size_t cap = 1 << 20, n = 0;
    char *out = calloc(cap, 1);
    if (f) {
        size_t r;
        while ((r = fread(out + n, 1, cap - 1 - n, f)) > 0) n += r;
        pclose(f);
    }
    out[n] = 0;
    return out;
}

static inline bool http_do(int port, const char *method, const char *path, const char *body, http_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = http_connect(port, 60);
    if (fd < 0) return false;
    /* a server may answer (413) and close before the whole body is sent */
    http_send(fd, method, path, body);
    bool ok = http_read(fd, out);
    close(fd);
    return ok;
}

static inline void http_resp_free(http_resp *r) {
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Starts `bin serve ARGS --port 0` and reads the port from the first stderr
 * line with marker (the number after the marker, or after its line's last
 * ':'); *pid gets the child. Returns the port or -1. */
static inline int start_server_marked(const char *bin, const char *const *args, pid_t *pid, const char *marker) {
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t p = fork();
    if (p == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        const char *argv[64];
        int n = 0;
        argv[n++] = bin;
        argv[n++] = "serve";
        for (int i = 0; args[i] && n < 60; i++) argv[n++] = args[i];
        argv[n++] = "--port";
        argv[n++] = "0";
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    *pid = p;
    FILE *f = fdopen(pfd[0], "r");
    char line[512];
    int port = -1;
    while (fgets(line, sizeof line, f)) {
        fputs(line, stderr);
        char *at = strstr(line, marker);
        if (at) {
            at += strlen(marker);
            char *colon = strrchr(at, ':');
            port = atoi(colon ? colon + 1 : at);
            break;
        }
    }
    /* keep draining stderr in the background so the server never blocks on it */
    if (fork() == 0) {
        while (fgets(line, sizeof line, f)) fputs(line, stderr);
        _exit(0);
    }
    fclose(f);
    return port;
}

/* the model server's port, from its "listening on http://HOST:PORT" line */
static inline int start_server(const char *bin, const char *const *args, pid_t *pid) {
    return start_server_marked(bin, args, pid, "listening on http://");
}

/* ---- JSON helpers (the tests link cJSON) ---- */
#include <cjson/cJSON.h>

/* POSTs body to path; the parsed JSON answer (NULL if none; *status -1 when
 * the request failed) */
static inline cJSON *http_post_json(int port, const char *path, const char *body, int *status) {
    http_resp r;
    if (!http_do(port, "POST", path, body, &r)) {
        *status = -1;
        return NULL;
    }
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    if (!j) fprintf(stderr, "not JSON (%d): %.300s\n", r.status, r.body);
    http_resp_free(&r);
    return j;
}

/* the string at a dotted path like "choices.0.message.content", or NULL */
static inline const char *json_path_str(const cJSON *o, const char *path) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *x = o;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && x; t = strtok_r(NULL, ".", &save))
        x = (*t >= '0' && *t <= '9') ? cJSON_GetArrayItem(x, atoi(t)) : cJSON_GetObjectItemCaseSensitive(x, t);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

#endif
