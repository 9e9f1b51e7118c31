/*
 * alert.c — webhook alerts with an on-disk queue and retries with backoff
 * (include/hearth/alert.h), over libcurl.
 *
 * Queue files: DIR/NNNNNNNNNNNN.json (a counter, zero-padded so that names
 * sort in order), written as DIR/.tmp-N and renamed.
 */
#include "hearth/alert.h"

#include "core/buf.h"
#include "hearth/core.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hearth_alerts {
    char *url, *dir;
    hearth_alerts_params p;
    CURL *curl;
    uint64_t next_id;
    double backoff_s, retry_at;
    hearth_alerts_stats st;
};

hearth_alerts_params hearth_alerts_default_params(void) {
    hearth_alerts_params p = {5.0, 30.0};
    return p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted names of the queued alert files (malloc'd array of malloc'd names) */
static int list_queue(const char *dir, char ***out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t cap = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        char *s = strdup(e->d_name);
        if (!s || !HEARTH_GROW(*out, cap, (size_t)n + 1)) {
            free(s);
            break;
        }
        (*out)[n++] = s;
    }
    closedir(d);
    if (n) qsort(*out, (size_t)n, sizeof(char *), cmp_str);
    return n;
}

static void free_list(char **l, int n) {
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

hearth_status hearth_alerts_open(const char *url, const char *queue_dir, const hearth_alerts_params *p,
                                 hearth_alerts **out) {
    *out = NULL;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "alerts: webhook \"%s\" is not an http(s) URL", url ? url : "");
    if (mkdir(queue_dir, 0755) != 0 && errno != EEXIST)
        return hearth_set_error(HEARTH_ERR_IO, "%s: cannot create the alert queue folder", queue_dir);
    pthread_once(&curl_once, curl_init);
    hearth_alerts *a = calloc(1, sizeof *a);
    if (!a) return HEARTH_ERR_NOMEM;
    a->url = strdup(url);
    a->dir = strdup(queue_dir);
    a->p = p ? *p : hearth_alerts_default_params();
    if (a->p.timeout_s <= 0) a->p.timeout_s = 5;
    if (a->p.max_backoff_s <= 0) a->p.max_backoff_s = 30;
    a->curl = curl_easy_init();
    if (!a->url || !a->dir || !a->curl) {
        hearth_alerts_close(a);
        return HEARTH_ERR_NOMEM;
    }
    /* continue numbering after what an earlier run left */
    char **l = NULL;
    int n = list_queue(queue_dir, &l);
    if (n) a->next_id = strtoull(l[n - 1], NULL, 10) + 1;
    a->st.queued = n;
    free_list(l, n);
    *out = a;
    return HEARTH_OK;
}

void hearth_alerts_close(hearth_alerts *a) {
    if (!a) return;
    if (a->curl) curl_easy_cleanup(a->curl);
    free(a->url);
    free(a->dir);
    free(a);
}

hearth_status hearth_alerts_post(hearth_alerts *a, const char *json) {
    hearth_buf tmp = {0}, fin = {0};
    hearth_buf_printf(&tmp, "%s/.tmp-%012llu", a->dir, (unsigned long long)a->next_id);
    hearth_buf_printf(&fin, "%s/%012llu.json", a->dir, (unsigned long long)a->next_id);
    hearth_status st = HEARTH_OK;
    FILE *f = tmp.oom ? NULL : fopen(tmp.data, "wb");
    size_t n = strlen(json);
    if (!f || fwrite(json, 1, n, f) != n || fflush(f) != 0 || fsync(fileno(f)) != 0)
        st = hearth_set_error(HEARTH_ERR_IO, "%s: cannot write the alert", tmp.data ? tmp.data : a->dir);
    if (f && fclose(f) != 0 && !st) st = hearth_set_error(HEARTH_ERR_IO, "%s: cannot write the alert", tmp.data);
    if (!st && rename(tmp.data, fin.data) != 0) st = hearth_set_error(HEARTH_ERR_IO, "%s: cannot rename", fin.data);
    if (!st) {
        a->next_id++;
        a->st.queued++;
    } else if (tmp.data) {
        unlink(tmp.data);
    }
    hearth_buf_free(&tmp);
    hearth_buf_free(&fin);
    return st;
}

static size_t discard(void *p, size_t s, size_t n, void *u) {
    (void)p, (void)u;
    return s * n;
}

/* one POST; true on a 2xx answer */
static bool deliver(hearth_alerts *a, const char *body, size_t len) {
    CURL *c = a->curl;
    curl_easy_reset(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(a->p.timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(a->p.timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    a->st.last_http_status = (int)code;
    if (rc != CURLE_OK) hearth_log(HEARTH_LOG_WARN, "alerts: %s: %s", a->url, curl_easy_strerror(rc));
    else if (code < 200 || code > 299) hearth_log(HEARTH_LOG_WARN, "alerts: %s answered %ld", a->url, code);
    return rc == CURLE_OK && code >= 200 && code <= 299;
}

int hearth_alerts_flush(hearth_alerts *a) {
    double now = hearth_time_s();
    if (a->retry_at > now) return (int)a->st.queued;
    char **l = NULL;
    int n = list_queue(a->dir, &l), i = 0;
    for (; i < n; i++) {
        hearth_buf path = {0};
        hearth_buf_printf(&path, "%s/%s", a->dir, l[i]);
        char *body = NULL;
        size_t len = 0;
        if (path.oom || hearth_read_file(path.data, &body, &len)) {
            hearth_buf_free(&path);
            break;
        }
        bool ok = deliver(a, body, len);
        free(body);
        if (!ok) {
            a->st.failures++;
            a->backoff_s = a->backoff_s <= 0 ? 0.5 : a->backoff_s * 2;
            if (a->backoff_s > a->p.max_backoff_s) a->backoff_s = a->p.max_backoff_s;
            a->retry_at = hearth_time_s() + a->backoff_s;
            hearth_buf_free(&path);
            break;
        }
        unlink(path.data);
        hearth_buf_free(&path);
        a->st.sent++;
        a->backoff_s = 0;
        a->retry_at = 0;
    }
    a->st.queued = n - i;
    free_list(l, n);
    return (int)a->st.queued;
}

hearth_alerts_stats hearth_alerts_get_stats(const hearth_alerts *a) {
    hearth_alerts_stats s = a->st;
    double now = hearth_time_s();
    s.next_retry_in_s = a->retry_at > now ? a->retry_at - now : 0;
    return s;
}
