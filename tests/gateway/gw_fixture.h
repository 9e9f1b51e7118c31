/*
 * gw_fixture.h — what the gateway's HTTP tests share: a fake OpenAI-shaped
 * replica run in a child process (echoes the last user message, remembers the
 * last body it received at GET /last, streams with SSE, with model "die"
 * kills itself with SIGKILL in the middle of a stream, and with model "leaky"
 * adds an e-mail address of its own to the answer), a `hearth gateway`
 * child process, and a small libcurl client.
 */
#ifndef HEARTH_GW_FIXTURE_H
#define HEARTH_GW_FIXTURE_H

#include "harness.h"

#include <stdbool.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAKE_LEAKED_EMAIL "support.desk@replica-leak.example"

/* ==== the fake replica ============================================================== */
typedef struct fake_state { char *last; pthread_mutex_t mu; int id; } fake_state;
typedef struct fake_conn { char *body; size_t len; } fake_conn;
typedef struct fake_stream { char **ev; int n, i; bool die; } fake_stream;

static ssize_t fake_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    fake_stream *s = cls;
    if (s->i == s->n) return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->die && s->i == 2) {
        usleep(100000);
        kill(getpid(), SIGKILL);
    }
    size_t n = strlen(s->ev[s->i]);
    if (n > max) n = max;
    memcpy(buf, s->ev[s->i], n);
    free(s->ev[s->i]);
    s->ev[s->i++] = NULL;
    usleep(2000);
    return (ssize_t)n;
}

static void fake_free(void *cls) {
    fake_stream *s = cls;
    for (int i = 0; i < s->n; i++) free(s->ev[i]);
    free(s->ev);
    free(s);
}

static enum MHD_Result fake_reply(struct MHD_Connection *c, int status, const char *body) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static char *fake_event(const char *model, const char *content, const char *finish, bool usage) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddStringToObject(o, "model", model);
    cJSON *ch = cJSON_AddArrayToObject(o, "choices");
    if (!usage) {
        cJSON *c0 = cJSON_CreateObject();
        cJSON_AddNumberToObject(c0, "index", 0);
        cJSON *d = cJSON_AddObjectToObject(c0, "delta");
        if (content) cJSON_AddStringToObject(d, "content", content);
        if (finish) cJSON_AddStringToObject(c0, "finish_reason", finish);
        else cJSON_AddNullToObject(c0, "finish_reason");
        cJSON_AddItemToArray(ch, c0);
    } else {
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", 10);
        cJSON_AddNumberToObject(u, "completion_tokens", 20);
        cJSON_AddNumberToObject(u, "total_tokens", 30);
    }
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(js) + 16;
    char *ev = malloc(n);
    snprintf(ev, n, "data: %s\n\n", js);
    free(js);
    return ev;
}

static enum MHD_Result fake_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    fake_state *st = cls;
    fake_conn *fc = *con_cls;
    if (!fc) {
        *con_cls = calloc(1, sizeof *fc);
        return MHD_YES;
    }
    if (*upload_size) {
        fc->body = realloc(fc->body, fc->len + *upload_size + 1);
        memcpy(fc->body + fc->len, upload, *upload_size);
        fc->len += *upload_size;
        fc->body[fc->len] = 0;
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/health") || !strcmp(url, "/ready")) return fake_reply(c, 200, "{\"status\":\"ok\"}");
    if (!strcmp(url, "/last")) {
        pthread_mutex_lock(&st->mu);
        enum MHD_Result ok = fake_reply(c, 200, st->last ? st->last : "");
        pthread_mutex_unlock(&st->mu);
        return ok;
    }
    /* files and vector stores: the body is kept; a search answers one result
     * quoting the query and a contact address of the "document" */
    if (!strcmp(method, "POST") && (!strcmp(url, "/v1/files") || !strncmp(url, "/v1/vector_stores/", 18))) {
        pthread_mutex_lock(&st->mu);
        free(st->last);
        st->last = fc->body ? malloc(fc->len + 1) : strdup("");
        if (fc->body) memcpy(st->last, fc->body, fc->len + 1);
        pthread_mutex_unlock(&st->mu);
        if (strcmp(url, "/v1/files") == 0) return fake_reply(c, 200, "{\"id\":\"file-1\",\"object\":\"file\"}");
        cJSON *req = cJSON_Parse(fc->body ? fc->body : ""), *o = cJSON_CreateObject();
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(req, "query");
        char text[1024];
        snprintf(text, sizeof text, "About %s: write to " FAKE_LEAKED_EMAIL ".",
                 cJSON_IsString(q) ? q->valuestring : "?");
        cJSON_AddStringToObject(o, "object", "vector_store.search_results.page");
        cJSON *hit = cJSON_CreateObject(), *part = cJSON_CreateObject();
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "data"), hit);
        cJSON_AddStringToObject(hit, "file_id", "file-1");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(hit, "content"), part);
        cJSON_AddStringToObject(part, "type", "text");
        cJSON_AddStringToObject(part, "text", text);
        char *js = cJSON_PrintUnformatted(o);
        enum MHD_Result ok = fake_reply(c, 200, js);
        free(js);
        cJSON_Delete(o);
        cJSON_Delete(req);
        return ok;
    }
    if (strcmp(method, "POST") || strcmp(url, "/v1/chat/completions")) return fake_reply(c, 404, "{}");
    pthread_mutex_lock(&st->mu);
    free(st->last);
    st->last = strdup(fc->body ? fc->body : "");
    pthread_mutex_unlock(&st->mu);
    cJSON *req = cJSON_Parse(fc->body ? fc->body : "");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    const cJSON *lastm = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(lastm, "content");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    const char *mname = cJSON_IsString(model) ? model->valuestring : "m";
    char reply[2048];
    snprintf(reply, sizeof reply, "You said: %s%s", cJSON_IsString(content) ? content->valuestring : "",
             !strcmp(mname, "leaky") ? " Write to " FAKE_LEAKED_EMAIL " for more." : "");
    bool stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"));
    if (stream) {
        const cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
        bool usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
        fake_stream *s = calloc(1, sizeof *s);
        s->ev = calloc(strlen(reply) + 8, sizeof(char *));
        s->die = !strcmp(mname, "die");
        for (size_t i = 0; i < strlen(reply); i += 3) {
            char piece[4] = {0};
            memcpy(piece, reply + i, strlen(reply + i) < 3 ? strlen(reply + i) : 3);
            s->ev[s->n++] = fake_event(mname, piece, NULL, false);
        }
        s->ev[s->n++] = fake_event(mname, NULL, "stop", false);
        if (usage) s->ev[s->n++] = fake_event(mname, NULL, NULL, true);
        s->ev[s->n++] = strdup("data: [DONE]\n\n");
        cJSON_Delete(req);
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, fake_read, s, fake_free);
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        enum MHD_Result ok = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ok;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddStringToObject(o, "model", mname);
    cJSON_AddNumberToObject(o, "replica", st->id);
    cJSON *ch = cJSON_AddArrayToObject(o, "choices"), *c0 = cJSON_CreateObject();
    cJSON_AddNumberToObject(c0, "index", 0);
    cJSON *m = cJSON_AddObjectToObject(c0, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", reply);
    cJSON_AddStringToObject(c0, "finish_reason", "stop");
    cJSON_AddItemToArray(ch, c0);
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", 10);
    cJSON_AddNumberToObject(u, "completion_tokens", 20);
    cJSON_AddNumberToObject(u, "total_tokens", 30);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cJSON_Delete(req);
    enum MHD_Result ok = fake_reply(c, 200, js);
    free(js);
    return ok;
}

static void fake_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    (void)cls; (void)c; (void)t;
    fake_conn *fc = *con_cls;
    if (fc) { free(fc->body); free(fc); }
    *con_cls = NULL;
}

/* forks a fake replica; returns its pid, *port its port */
__attribute__((unused)) static pid_t fake_start(int id, int *port) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        static fake_state st;
        pthread_mutex_init(&st.mu, NULL);
        st.id = id;
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                                                NULL, NULL, fake_request, &st, MHD_OPTION_NOTIFY_COMPLETED, fake_done,
                                                NULL, MHD_OPTION_END);
        int p = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port : -1;
        if (write(fd[1], &p, sizeof p) != sizeof p) _exit(1);
        close(fd[1]);
        for (;;) pause();
    }
    close(fd[1]);
    *port = -1;
    if (read(fd[0], port, sizeof *port) != sizeof *port) *port = -1;
    close(fd[0]);
    return pid;
}

/* ==== the gateway process =========================================================== */
/* runs argv (argv[0] = HEARTH_BIN) with stdout on a pipe and reads the
 * "port N" line it prints once listening; *port = -1 if none came */
static pid_t start_reading_port(char *const argv[], int *port) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    char line[64] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && read(fd[0], line + n, 1) == 1 && line[n] != '\n') n++;
    close(fd[0]);
    *port = -1;
    if (sscanf(line, "port %d", port) != 1) *port = -1;
    return pid;
}

static pid_t gateway_start(const char *config, int *port) {
    char *const argv[] = {HEARTH_BIN, "gateway", "--config", (char *)config, "--port", "0", NULL};
    return start_reading_port(argv, port);
}

static void stop(pid_t pid, int sig) {
    if (pid <= 0) return;
    kill(pid, sig);
    for (int i = 0; i < 200; i++) {   /* at most 10 s, then SIGKILL */
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ==== client ======================================================================== */
typedef struct http_resp {
    int status;
    char *body;
    size_t len;
    int retry_after;
    char set_cookie[512];   /* the last Set-Cookie header's value */
    char ctype[128];        /* Content-Type */
} http_resp;

static size_t http_collect(char *p, size_t s, size_t n, void *u) {
    http_resp *r = u;
    r->body = realloc(r->body, r->len + s * n + 1);
    memcpy(r->body + r->len, p, s * n);
    r->len += s * n;
    r->body[r->len] = 0;
    return s * n;
}

static size_t http_header(char *p, size_t s, size_t n, void *u) {
    http_resp *r = u;
    int len = (int)(s * n);
    while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n')) len--;
    if (!strncasecmp(p, "Retry-After:", 12)) r->retry_after = atoi(p + 12);
    if (len > 12 && !strncasecmp(p, "Set-Cookie: ", 12)) snprintf(r->set_cookie, sizeof r->set_cookie, "%.*s", len - 12, p + 12);
    if (len > 14 && !strncasecmp(p, "Content-Type: ", 14)) snprintf(r->ctype, sizeof r->ctype, "%.*s", len - 14, p + 14);
    return s * n;
}

/* one request with the given headers (NULL-terminated list; may be NULL);
 * the path is sent as it is ("../" included) */
__attribute__((unused)) static http_resp http_with(int port, const char *method, const char *path,
                                                   const char *const *headers, const char *body) {
    http_resp r = {0};
    r.body = calloc(1, 1);
    CURL *h = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hd = NULL;
    for (int i = 0; headers && headers[i]; i++) hd = curl_slist_append(hd, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    r.status = (int)code;
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return r;
}

/* method "GET"/"POST"/"DELETE"; key may be NULL; x_api_key: send as X-Api-Key */
__attribute__((unused)) static http_resp http(int port, const char *method, const char *path, const char *key, bool x_api_key,
                      const char *body) {
    char auth[256];
    if (key) snprintf(auth, sizeof auth, x_api_key ? "X-Api-Key: %s" : "Authorization: Bearer %s", key);
    const char *headers[] = {"Content-Type: application/json", key ? auth : NULL, NULL};
    return http_with(port, method, path, headers, body);
}

__attribute__((unused)) static char *chat_body(const char *model, const char *text, bool stream) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model);
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages"), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", text);
    cJSON_AddItemToArray(msgs, m);
    if (stream) cJSON_AddTrueToObject(o, "stream");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* the assistant text of a non-streaming answer, or the joined deltas of a stream */
__attribute__((unused)) static char *answer_text(const http_resp *r) {
    char *out = calloc(1, 1);
    size_t n = 0;
    if (r->body && !strncmp(r->body, "data:", 5)) {
        for (const char *p = r->body; (p = strstr(p, "data: ")); p += 6) {
            const char *e = strstr(p, "\n\n");
            if (!e) break;
            char *js = strndup(p + 6, (size_t)(e - p - 6));
            cJSON *o = cJSON_Parse(js);
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0), "delta");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "content");
            if (cJSON_IsString(t)) {
                out = realloc(out, n + strlen(t->valuestring) + 1);
                strcpy(out + n, t->valuestring);
                n += strlen(t->valuestring);
            }
            cJSON_Delete(o);
            free(js);
        }
        return out;
    }
    cJSON *o = cJSON_Parse(r->body ? r->body : "");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0), "message");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (cJSON_IsString(t)) {
        free(out);
        out = strdup(t->valuestring);
    }
    cJSON_Delete(o);
    return out;
}

#endif
