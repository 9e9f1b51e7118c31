/*
 * http.c — the HTTP side on libmicrohttpd: one thread per connection (a slow
 * client holds only its own thread; the connection limit and idle timeout
 * bound them), bodies collected up to max_body (413 above), routing, JSON
 * responses, and server-sent-event streams fed from a job as the scheduler
 * produces tokens.
 *
 * A client that goes away is noticed while its thread waits for tokens
 * (poll() on the socket for a hang-up) or when a write fails: the job is
 * marked cancelled and the scheduler frees its slot before the next step.
 */
#include "server_internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct conn_state {
    char *body;
    size_t len, cap;
    bool too_big;
} conn_state;

/* ==== plumbing ===================================================================== */
static bool client_gone(int fd) {
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static int conn_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

static void wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    while (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

/* sends body (malloc'd, taken) with status; counts it in the metrics */
static enum MHD_Result reply(hearth_server *s, struct MHD_Connection *c, const char *endpoint, int status,
                             char *body, const char *ctype, int retry_after) {
    if (!body) body = strdup("{}");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(body); return MHD_NO; }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype ? ctype : "application/json");
    if (retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    metrics_request(&s->met, endpoint, status);
    return ok;
}

static enum MHD_Result reply_error(hearth_server *s, struct MHD_Connection *c, const char *endpoint,
                                   const api_error *e, int retry_after) {
    return reply(s, c, endpoint, e->status, api_error_body(e), NULL, retry_after);
}

static enum MHD_Result simple_error(hearth_server *s, struct MHD_Connection *c, const char *endpoint, int status,
                                    const char *type, const char *code, const char *msg, int retry_after) {
    api_error e = {.status = status, .type = type, .code = code};
    snprintf(e.message, sizeof e.message, "%s", msg);
    return reply_error(s, c, endpoint, &e, retry_after);
}

/* ==== streaming ===================================================================== */
typedef struct stream_state {
    hearth_server *s;
    srv_job *j;
    int fd;
    hearth_buf out;   /* events not yet handed to MHD, from out.data + off */
    size_t off;
    bool end;
} stream_state;

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
    stream_state *st = cls;
    (void)pos;
    for (;;) {
        if (st->off < st->out.len) {
            size_t n = st->out.len - st->off < max ? st->out.len - st->off : max;
            memcpy(out, st->out.data + st->off, n);
            st->off += n;
            return (ssize_t)n;
        }
        if (st->end) return MHD_CONTENT_READER_END_OF_STREAM;
        hearth_buf_reset(&st->out);
        st->off = 0;
        pthread_mutex_lock(&st->j->mu);
        api_stream_events(st->j, &st->out, &st->end);
        if (st->out.len == 0 && !st->end) wait_ms(&st->j->cv, &st->j->mu, 50);
        pthread_mutex_unlock(&st->j->mu);
        if (st->out.len == 0 && !st->end && client_gone(st->fd)) {
            atomic_store(&st->j->cancelled, 1);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls) {
    stream_state *st = cls;
    atomic_store(&st->j->cancelled, 1);   /* no-op when it is done */
    job_unref(st->j);
    hearth_buf_free(&st->out);
    free(st);
}

/* ==== the generation endpoints ===================================================== */
static enum MHD_Result handle_job(hearth_server *s, struct MHD_Connection *c, const char *endpoint, int kind,
                                  const conn_state *cs) {
    api_error e = {0};
    char *grounded = NULL, *sources = NULL;   /* a file_search tool: vector_stores.c */
    char *prompted = NULL;                    /* a "prompt" from the library: prompts.c */
    if (kind == JOB_CHAT && pr_expand(s, cs->body, cs->len, &prompted, &e) < 0) return reply_error(s, c, endpoint, &e, 0);
    const char *body = prompted ? prompted : cs->body;
    size_t body_len = prompted ? strlen(prompted) : cs->len;
    if (kind == JOB_CHAT && vs_ground(s, body, body_len, &grounded, &sources, &e) < 0) {
        free(prompted);
        return reply_error(s, c, endpoint, &e, 0);
    }
    srv_job *j = api_parse(s, kind, grounded ? grounded : body ? body : "", grounded ? strlen(grounded) : body_len, &e);
    free(grounded);
    free(prompted);
    if (!j) {
        free(sources);
        return reply_error(s, c, endpoint, &e, 0);
    }
    if (kind == JOB_EMBED) j->stream = false;
    if (j->stream) free(sources), sources = NULL;   /* sources come with whole responses only */
    int rc = sched_enqueue(s, j);
    if (rc) {
        free(sources);
        job_unref(j);
        return simple_error(s, c, endpoint, rc, rc == 429 ? "rate_limit_error" : "server_error",
                            rc == 429 ? "queue_full" : "shutting_down",
                            rc == 429 ? "the server's queue is full; retry later" : "the server is shutting down", 1);
    }
    int fd = conn_fd(c);
    if (j->stream) {
        stream_state *st = calloc(1, sizeof *st);
        struct MHD_Response *r = st ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st,
                                                                        stream_free)
                                    : NULL;
        if (!r) {
            atomic_store(&j->cancelled, 1);
            job_unref(j);
            free(st);
            return MHD_NO;
        }
        st->s = s, st->j = j, st->fd = fd;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        enum MHD_Result ok = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        metrics_request(&s->met, endpoint, 200);
        return ok;
    }
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        wait_ms(&j->cv, &j->mu, 50);
        if (!j->done && client_gone(fd)) {
            pthread_mutex_unlock(&j->mu);
            atomic_store(&j->cancelled, 1);
            job_unref(j);
            free(sources);
            metrics_request(&s->met, endpoint, 499);
            return MHD_NO;
        }
    }
    pthread_mutex_unlock(&j->mu);
    enum MHD_Result ok;
    if (j->error)
        ok = simple_error(s, c, endpoint, j->error_status ? j->error_status : 500,
                          j->error_status && j->error_status < 500 ? "invalid_request_error" : "server_error",
                          j->error_code, j->error, 0);
    else if (atomic_load(&j->cancelled))
        ok = simple_error(s, c, endpoint, 503, "server_error", "shutting_down", "the request was cancelled: the server is shutting down", 1);
    else
        ok = reply(s, c, endpoint, 200, sources ? vs_attach_sources(api_response(j), sources) : api_response(j), NULL, 0);
    free(sources);
    job_unref(j);
    return ok;
}

/* ==== routing ===================================================================== */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    hearth_server *s = cls;
    (void)version;
    conn_state *cs = *con_cls;
    if (!cs) {
        if (!(cs = calloc(1, sizeof *cs))) return MHD_NO;
        *con_cls = cs;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->p.max_body) {
            cs->too_big = true;
            char msg[128];
            snprintf(msg, sizeof msg, "the request body is larger than this server's limit of %zu bytes", s->p.max_body);
            return simple_error(s, c, url, 413, "invalid_request_error", "request_too_large", msg, 0);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cs->too_big) {
            if (cs->len + *upload_size > s->p.max_body) {
                cs->too_big = true;
                free(cs->body), cs->body = NULL, cs->len = cs->cap = 0;
            } else {
                if (!HEARTH_GROW(cs->body, cs->cap, cs->len + *upload_size + 1)) return MHD_NO;
                memcpy(cs->body + cs->len, upload, *upload_size);
                cs->len += *upload_size;
                cs->body[cs->len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    const char *ep = !strcmp(url, "/v1/chat/completions") ? "/v1/chat/completions"
                   : !strcmp(url, "/v1/completions")      ? "/v1/completions"
                   : !strcmp(url, "/v1/embeddings")       ? "/v1/embeddings"
                   : !strcmp(url, "/v1/models")           ? "/v1/models"
                   : !strcmp(url, "/health")              ? "/health"
                   : !strcmp(url, "/ready")               ? "/ready"
                   : !strcmp(url, "/metrics")             ? "/metrics"
                                                          : "other";
    if (cs->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than this server's limit of %zu bytes", s->p.max_body);
        return simple_error(s, c, ep, 413, "invalid_request_error", "request_too_large", msg, 0);
    }
    if (admin_route(url)) {   /* hot load / swap / unload (admin_models.c) */
        char *out = NULL;
        int st = admin_handle(s, method, url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                              cs->body, cs->len, &out);
        return reply(s, c, "/admin/models", st, out, NULL, 0);
    }
    if (cls_route(url)) {
        char *out = NULL;
        int st = cls_handle(s, method, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                            cs->body, cs->len, &out);
        return reply(s, c, "/v1/images/classify", st, out, NULL, 0);
    }
    if (pr_route(url)) {
        char *out = NULL;
        int st = pr_handle(s, method, url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                           cs->body, cs->len, &out);
        return reply(s, c, "/v1/prompts", st, out, NULL, 0);
    }
    if (vs_route(url)) {
        char *out = NULL;
        size_t n = 0;
        const char *ctype = NULL;
        int st = vs_handle(s, method, url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                           cs->body, cs->len, &out, &n, &ctype);
        if (!ctype) return reply(s, c, vs_endpoint(url), st, out, NULL, 0);
        struct MHD_Response *r = MHD_create_response_from_buffer(n, out, MHD_RESPMEM_MUST_FREE);   /* bytes of a file */
        if (!r) { free(out); return MHD_NO; }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        enum MHD_Result ok = MHD_queue_response(c, (unsigned)st, r);
        MHD_destroy_response(r);
        metrics_request(&s->met, vs_endpoint(url), st);
        return ok;
    }
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(ep, "other")) {
        int ui = webui_respond(s->ui, c, method, url);   /* the web console's files */
        if (ui < 0) return MHD_NO;
        if (ui > 0) {
            metrics_request(&s->met, "/ui", ui);
            return MHD_YES;
        }
        char msg[300];
        snprintf(msg, sizeof msg, "no such endpoint: %s %.200s", method, url);
        return simple_error(s, c, ep, 404, "not_found_error", "unknown_url", msg, 0);
    }
    bool want_post = !strncmp(ep, "/v1/", 4) && strcmp(ep, "/v1/models");
    if ((want_post && !post) || (!want_post && !get)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s takes %s, not %s", ep, want_post ? "POST" : "GET", method);
        return simple_error(s, c, ep, 405, "invalid_request_error", "method_not_allowed", msg, 0);
    }
    if (!strcmp(ep, "/health")) {
        if (atomic_load(&s->stopping))
            return reply(s, c, ep, 503, strdup("{\"status\":\"shutting down\"}"), NULL, 1);
        return reply(s, c, ep, 200, strdup("{\"status\":\"ok\"}"), NULL, 0);
    }
    if (!strcmp(ep, "/ready")) {   /* load balancers: send traffic only when this answers 200 */
        const char *why;
        int ready = metrics_ready(s, &why);
        char body[96];
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", why);
        return reply(s, c, ep, ready ? 200 : 503, strdup(body), NULL, ready ? 0 : 1);
    }
    if (!strcmp(ep, "/metrics")) return reply(s, c, ep, 200, metrics_render(s), "text/plain; version=0.0.4", 0);
    if (!strcmp(ep, "/v1/models")) return reply(s, c, ep, 200, api_models(s), NULL, 0);
    int kind = !strcmp(ep, "/v1/chat/completions") ? JOB_CHAT : !strcmp(ep, "/v1/completions") ? JOB_COMPLETION
                                                                                                : JOB_EMBED;
    return handle_job(s, c, ep, kind, cs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    conn_state *cs = *con_cls;
    if (!cs) return;
    free(cs->body);
    free(cs);
    *con_cls = NULL;
}

/* ==== start / stop ===================================================================== */
hearth_status http_start(hearth_server *s) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->p.port);
    if (inet_pton(AF_INET, s->p.host, &sa.sin_addr) != 1)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "serve: host '%s' is not an IPv4 address", s->p.host);
    s->httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC,
                                (uint16_t)s->p.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->p.timeout_s, MHD_OPTION_CONNECTION_LIMIT,
                                (unsigned)s->p.max_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                MHD_OPTION_END);
    if (!s->httpd)
        return hearth_set_error(HEARTH_ERR_IO, "serve: cannot listen on %s:%d (in use, or not allowed)", s->p.host,
                                s->p.port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->httpd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->p.port;
    return HEARTH_OK;
}

void http_quiesce(hearth_server *s) {
    if (s->httpd) {
        MHD_socket fd = MHD_quiesce_daemon(s->httpd);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    }
}

void http_stop(hearth_server *s) {
    if (s->httpd) MHD_stop_daemon(s->httpd);
    s->httpd = NULL;
}
