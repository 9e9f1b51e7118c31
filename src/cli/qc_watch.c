/*
 * qc_watch.c — `hearth qc watch -m QC.gguf (DIR | --stdin)`: the inspection
 * line. Scores images as they arrive (files closed or moved into DIR, seen
 * with inotify; or paths on stdin, one a line), prints one JSON line per
 * image with a caption, posts an alert per defect to --webhook (queued on
 * disk, retried with backoff: include/hearth/alert.h), serves Prometheus
 * metrics on 127.0.0.1:--metrics-port, and writes a shift report when it
 * stops (end of stdin, SIGINT / SIGTERM) or every --shift-minutes. With
 * --vlm / --mmproj a vision-language model writes the defects' captions
 * (hearth_qc_captioner in include/hearth/qc.h). An image
 * that cannot be read is logged and skipped; the line goes on.
 */
#include "cli.h"
#include "qc_watch.h"

#include "core/buf.h"
#include "hearth/alert.h"
#include "hearth/qc.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static void usage(void) {
    printf("usage: hearth qc watch -m QC.gguf (DIR | --stdin) [options]\n\n"
           "Scores each image as it arrives: a file written or moved into DIR (inotify),\n"
           "or a path read from stdin (one a line). Prints one JSON line per image:\n"
           "{\"time\", \"image\", \"score\", \"anomalous\", \"region\", \"caption\"}.\n\n"
           "  --webhook URL        POST each defect as JSON (retried with backoff)\n"
           "  --queue DIR          where undelivered alerts wait (default: qc-alerts)\n"
           "  --webhook-timeout S  give up on a POST after S seconds (default 5; retried later)\n"
           "  --metrics-port N     Prometheus metrics at http://127.0.0.1:N/metrics\n"
           "  --shift-report FILE  shift report (.html or .pdf) written when the watch stops\n"
           "  --shift-minutes N    also write it every N minutes (the shift so far)\n"
           "  --title TEXT         the shift report's title\n"
           "  --existing           with DIR: score the images already there first\n"
           "  --threshold X        override the model's threshold\n"
           "  --vlm MODEL --mmproj P  captions of defects written by a vision-language model\n"
           "                       (LLaVA; greedy; the template caption when it fails)\n"
           "  --caption-prompt T   the instruction the model gets after the inspection's facts\n"
           "  --caption-tokens N   at most N tokens per caption (default 48)\n"
           "  -t, --threads N      threads for the vision-language model\n");
}

/* ---- state shared with the metrics thread ------------------------------------ */

typedef struct line_state {
    pthread_mutex_t mu;
    int64_t images, defects, errors;
    double score_seconds_sum, started;
    double recent[64];          /* arrival times of the last 64 images (images/s) */
    int n_recent;
    hearth_alerts_stats alerts;
    double threshold;
} line_state;

static line_state S = {.mu = PTHREAD_MUTEX_INITIALIZER};
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                       const char *version, const char *data, size_t *size, void **ptr) {
    (void)cls, (void)version, (void)data, (void)size, (void)ptr;
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
        static const char nf[] = "not found\n";
        r = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return ret;
    }
    hearth_buf b = {0};
    pthread_mutex_lock(&S.mu);
    double now = hearth_time_s(), rate = 0;
    if (S.n_recent > 1) {
        int n = S.n_recent < 64 ? S.n_recent : 64;
        double oldest = S.recent[(S.n_recent - n) % 64];
        rate = now > oldest ? (n - 1) / (now - oldest) : 0;
    }
    hearth_buf_printf(&b,
                      "# HELP hearth_qc_images_total Images scored.\n# TYPE hearth_qc_images_total counter\n"
                      "hearth_qc_images_total %lld\n"
                      "# HELP hearth_qc_defects_total Images over the threshold.\n# TYPE hearth_qc_defects_total counter\n"
                      "hearth_qc_defects_total %lld\n"
                      "# HELP hearth_qc_errors_total Images that could not be read or scored.\n"
                      "# TYPE hearth_qc_errors_total counter\nhearth_qc_errors_total %lld\n"
                      "# HELP hearth_qc_defect_rate Share of scored images that were defective.\n"
                      "# TYPE hearth_qc_defect_rate gauge\nhearth_qc_defect_rate %.6f\n"
                      "# HELP hearth_qc_images_per_second Arrival rate over the last 64 images.\n"
                      "# TYPE hearth_qc_images_per_second gauge\nhearth_qc_images_per_second %.4f\n"
                      "# HELP hearth_qc_score_seconds Time spent reading and scoring images.\n"
                      "# TYPE hearth_qc_score_seconds summary\nhearth_qc_score_seconds_sum %.6f\n"
                      "hearth_qc_score_seconds_count %lld\n"
                      "# HELP hearth_qc_alerts_queued Alerts waiting for the webhook.\n"
                      "# TYPE hearth_qc_alerts_queued gauge\nhearth_qc_alerts_queued %lld\n"
                      "# HELP hearth_qc_alerts_sent_total Alerts the webhook accepted.\n"
                      "# TYPE hearth_qc_alerts_sent_total counter\nhearth_qc_alerts_sent_total %lld\n"
                      "# HELP hearth_qc_alert_failures_total Failed webhook attempts.\n"
                      "# TYPE hearth_qc_alert_failures_total counter\nhearth_qc_alert_failures_total %lld\n"
                      "# HELP hearth_qc_threshold The alert threshold in use.\n# TYPE hearth_qc_threshold gauge\n"
                      "hearth_qc_threshold %.6f\n",
                      (long long)S.images, (long long)S.defects, (long long)S.errors,
                      S.images ? (double)S.defects / S.images : 0.0, rate, S.score_seconds_sum,
                      (long long)(S.images + S.errors), (long long)S.alerts.queued, (long long)S.alerts.sent,
                      (long long)S.alerts.failures, S.threshold);
    pthread_mutex_unlock(&S.mu);
    size_t len = 0;
    char *text = hearth_buf_take(&b, &len);
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the line ------------------------------------------------------------------- */

typedef struct watch {
    hearth_qc *qc;
    hearth_alerts *alerts;
    hearth_qc_captioner *vlm;   /* may be NULL: template captions */
    cJSON *shift;            /* {"rows": [...], "columns": [...], "meta": {...}} */
    const char *shift_path, *title;
} watch;

static void now_str(char *dst, size_t cap, char *hour, size_t hcap) {
    time_t t = time(NULL);
    struct tm tmv;
    localtime_r(&t, &tmv);
    strftime(dst, cap, "%Y-%m-%d %H:%M:%S", &tmv);
    strftime(hour, hcap, "%H:00", &tmv);
}

static void process(watch *w, const char *path) {
    double t0 = hearth_time_s();
    hearth_image img = {0};
    hearth_qc_result r;
    char ts[32], hour[16];
    now_str(ts, sizeof ts, hour, sizeof hour);
    if (hearth_image_load(path, 1, &img) || hearth_qc_score(w->qc, &img, &r)) {
        const char *msg = hearth_last_error();
        if (strstr(msg, path)) fprintf(stderr, "hearth qc watch: error: %s (skipped)\n", msg);
        else fprintf(stderr, "hearth qc watch: error: %s: %s (skipped)\n", path, msg);
        hearth_image_free(&img);
        pthread_mutex_lock(&S.mu);
        S.errors++;
        S.score_seconds_sum += hearth_time_s() - t0;
        pthread_mutex_unlock(&S.mu);
        cJSON *meta = cJSON_GetObjectItem(w->shift, "meta");
        cJSON *e = cJSON_GetObjectItem(meta, "errors");
        cJSON_SetNumberValue(e, e->valuedouble + 1);
        return;
    }
    double thr = hearth_qc_threshold(w->qc);
    char *caption = NULL;
    if (w->vlm && r.anomalous && hearth_qc_captioner_caption(w->vlm, &img, &r, thr, &caption))
        fprintf(stderr, "hearth qc watch: error: %s: caption: %s (template caption instead)\n", path,
                hearth_last_error());
    if (!caption) caption = hearth_qc_caption(&r, thr, path, img.w, img.h);
    hearth_buf line = {0};
    hearth_buf_printf(&line, "{\"time\": \"%s\", \"image\": ", ts);
    hearth_buf_json_str(&line, path, strlen(path));
    hearth_buf_printf(&line, ", \"score\": %.6f, \"anomalous\": %s, \"region\": [%d, %d, %d, %d], \"caption\": ",
                      r.score, r.anomalous ? "true" : "false", r.region[0], r.region[1], r.region[2], r.region[3]);
    hearth_buf_json_str(&line, caption ? caption : "", caption ? strlen(caption) : 0);
    hearth_buf_puts(&line, "}");
    if (!line.oom) {
        printf("%s\n", line.data);
        fflush(stdout);
        if (r.anomalous && w->alerts && hearth_alerts_post(w->alerts, line.data))
            fprintf(stderr, "hearth qc watch: error: %s\n", hearth_last_error());
    }
    /* the shift's rows */
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "time", ts);
    cJSON_AddStringToObject(row, "hour", hour);
    cJSON_AddStringToObject(row, "image", path);
    cJSON_AddNumberToObject(row, "score", r.score);
    cJSON_AddBoolToObject(row, "anomalous", r.anomalous);
    cJSON_AddStringToObject(row, "caption", caption ? caption : "");
    cJSON_AddItemToArray(cJSON_GetObjectItem(w->shift, "rows"), row);
    pthread_mutex_lock(&S.mu);
    S.images++;
    S.defects += r.anomalous;
    S.score_seconds_sum += hearth_time_s() - t0;
    S.recent[S.n_recent++ % 64] = hearth_time_s();
    if (S.n_recent >= 128) S.n_recent -= 64;
    pthread_mutex_unlock(&S.mu);
    free(caption);
    hearth_buf_free(&line);
    hearth_qc_result_free(&r);
    hearth_image_free(&img);
}

static void pump(watch *w) {
    if (!w->alerts) return;
    hearth_alerts_flush(w->alerts);
    pthread_mutex_lock(&S.mu);
    S.alerts = hearth_alerts_get_stats(w->alerts);
    pthread_mutex_unlock(&S.mu);
}

static void write_shift(watch *w) {
    if (!w->shift_path) return;
    if (hearth_qc_shift_report(w->shift, w->title, w->shift_path))
        fprintf(stderr, "hearth qc watch: error: shift report: %s\n", hearth_last_error());
    else
        fprintf(stderr, "hearth qc watch: shift report -> %s\n", w->shift_path);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int qc_watch_main(int argc, char **argv) {
    const char *model = NULL, *vlm = NULL, *mmproj = NULL, *caption_prompt = NULL, *webhook = NULL, *queue = "qc-alerts", *shift = NULL, *title = NULL;
    int64_t port = 0, shift_min = 0, caption_tokens = 0, n_threads = 0;
    double thr = -1, wh_timeout = 5;
    bool use_stdin = false, existing = false;
    cli_args a = cli_args_init("qc watch", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model) || cli_opt(&a, NULL, "--webhook", &webhook) ||
            cli_opt(&a, NULL, "--queue", &queue) || cli_opt(&a, NULL, "--shift-report", &shift) ||
            cli_opt(&a, NULL, "--title", &title) || cli_opt_int(&a, NULL, "--metrics-port", &port) ||
            cli_opt_int(&a, NULL, "--shift-minutes", &shift_min) || cli_opt_float(&a, NULL, "--threshold", &thr) ||
            cli_opt_float(&a, NULL, "--webhook-timeout", &wh_timeout) || cli_opt(&a, NULL, "--vlm", &vlm) ||
            cli_opt(&a, NULL, "--mmproj", &mmproj) || cli_opt(&a, NULL, "--caption-prompt", &caption_prompt) ||
            cli_opt_int(&a, NULL, "--caption-tokens", &caption_tokens) || cli_opt_int(&a, "-t", "--threads", &n_threads))
            continue;
        if (cli_flag(&a, NULL, "--stdin")) { use_stdin = true; continue; }
        if (cli_flag(&a, NULL, "--existing")) { existing = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    const char *dir = a.n_pos ? a.pos[0] : NULL;
    if (!model || (!dir && !use_stdin) || (dir && use_stdin))
        return cli_error("qc watch", "give -m and either a folder or --stdin (see --help)");
    if (port < 0 || port > 65535 || shift_min < 0) return cli_error("qc watch", "bad --metrics-port or --shift-minutes");
    if (!vlm != !mmproj) return cli_error("qc watch", "--vlm and --mmproj go together (a model and its image encoder)"), 2;
    if (caption_tokens < 0 || n_threads < 0) return cli_error("qc watch", "bad --caption-tokens or --threads"), 2;
    watch w = {0};
    if (hearth_qc_load(model, &w.qc)) return cli_lib_error("qc watch");
    if (vlm) {
        hearth_qc_captioner_params cp = hearth_qc_captioner_default_params();
        cp.instruction = caption_prompt;
        cp.max_tokens = (int)caption_tokens;
        cp.n_threads = (int)n_threads;
        if (hearth_qc_captioner_load(vlm, mmproj, &cp, &w.vlm)) {
            hearth_qc_free(w.qc);
            return cli_lib_error("qc watch");
        }
    }
    if (thr >= 0) hearth_qc_set_threshold(w.qc, thr);
    S.threshold = hearth_qc_threshold(w.qc);
    S.started = hearth_time_s();
    hearth_alerts_params ap = hearth_alerts_default_params();
    if (wh_timeout > 0) ap.timeout_s = wh_timeout;
    if (webhook && hearth_alerts_open(webhook, queue, &ap, &w.alerts)) {
        hearth_qc_captioner_free(w.vlm);
        hearth_qc_free(w.qc);
        return cli_lib_error("qc watch");
    }
    w.shift = cJSON_CreateObject();
    cJSON_AddArrayToObject(w.shift, "rows");
    cJSON *cols = cJSON_AddArrayToObject(w.shift, "columns");
    static const char *const names[] = {"time", "hour", "image", "score", "anomalous", "caption"};
    for (size_t i = 0; i < 6; i++) cJSON_AddItemToArray(cols, cJSON_CreateString(names[i]));
    cJSON *meta = cJSON_AddObjectToObject(w.shift, "meta");
    cJSON_AddNumberToObject(meta, "threshold", S.threshold);
    cJSON_AddNumberToObject(meta, "errors", 0);
    w.shift_path = shift;
    w.title = title ? title : "Inspection shift report";

    struct MHD_Daemon *mhd = NULL;
    int rc = 0, ifd = -1;
    if (port) {
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, metrics_handler, NULL,
                               MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
        if (!mhd) {
            rc = cli_error("qc watch", "cannot serve metrics on 127.0.0.1:%lld", (long long)port);
            goto done;
        }
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (dir) {
        ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ifd < 0 || inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
            rc = cli_error("qc watch", "%s: cannot watch the folder (%s)", dir, strerror(errno));
            goto done;
        }
        if (existing) {   /* what is already there, in name order */
            DIR *d = opendir(dir);
            char **names2 = NULL;
            size_t cap = 0, n = 0;
            struct dirent *e;
            while (d && (e = readdir(d)))
                if (e->d_name[0] != '.' && HEARTH_GROW(names2, cap, n + 1)) names2[n++] = strdup(e->d_name);
            if (d) closedir(d);
            if (n) qsort(names2, n, sizeof(char *), cmp_str);
            for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s", dir, names2[i] ? names2[i] : "");
                if (names2[i]) process(&w, p);
                free(names2[i]);
            }
            free(names2);
        }
    }
    fprintf(stderr, "hearth qc watch: watching %s (threshold %.4f)%s%s\n", dir ? dir : "stdin", S.threshold,
            webhook ? ", alerts to " : "", webhook ? webhook : "");
    double next_shift = shift_min ? hearth_time_s() + 60.0 * shift_min : 0;
    hearth_buf pending = {0};   /* a partial stdin line */
    while (!stop_requested) {
        struct pollfd pf = {dir ? ifd : 0, POLLIN, 0};
        int pr = poll(&pf, 1, 250);
        if (pr < 0 && errno != EINTR) break;
        if (pr > 0 && dir) {
            char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t len;
            while ((len = read(ifd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + len;) {
                    struct inotify_event *ev = (struct inotify_event *)p;
                    if (ev->len && ev->name[0] != '.') {
                        char path[PATH_MAX];
                        snprintf(path, sizeof path, "%s/%s", dir, ev->name);
                        process(&w, path);
                    }
                    p += sizeof *ev + ev->len;
                }
        } else if (pr > 0) {
            char buf[4096];
            ssize_t len = read(0, buf, sizeof buf);
            if (len <= 0) break;   /* end of stdin: the shift is over */
            for (ssize_t i = 0; i < len; i++) {
                if (buf[i] != '\n') {
                    hearth_buf_putc(&pending, buf[i]);
                    continue;
                }
                if (pending.len) {
                    while (pending.len && (pending.data[pending.len - 1] == '\r' || pending.data[pending.len - 1] == ' '))
                        pending.data[--pending.len] = 0;
                    if (pending.len) process(&w, pending.data);
                }
                hearth_buf_reset(&pending);
            }
        }
        pump(&w);
        if (next_shift && hearth_time_s() >= next_shift) {
            write_shift(&w);
            next_shift = hearth_time_s() + 60.0 * shift_min;
        }
    }
    if (pending.len) process(&w, pending.data);
    hearth_buf_free(&pending);
    pump(&w);
    if (w.alerts && hearth_alerts_get_stats(w.alerts).queued)
        fprintf(stderr, "hearth qc watch: %lld alerts not delivered yet, kept in %s (sent at the next start)\n",
                (long long)hearth_alerts_get_stats(w.alerts).queued, queue);
    write_shift(&w);
done:
    if (ifd >= 0) close(ifd);
    if (mhd) MHD_stop_daemon(mhd);
    hearth_alerts_close(w.alerts);
    cJSON_Delete(w.shift);
    hearth_qc_captioner_free(w.vlm);
    hearth_qc_free(w.qc);
    return rc;
}
