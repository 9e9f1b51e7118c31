/*
 * test_qc_watch.c — the inspection line as an operator sees it: `hearth qc
 * watch --stdin` scores images as their paths arrive, skips an unreadable
 * one and goes on, queues the alert of a defect on disk while the webhook
 * on 127.0.0.1 is down, delivers it (a POST with the JSON result) once the
 * receiver comes up, counts everything on /metrics, and writes a shift
 * report when stdin ends. Then the folder mode: a file moved into the
 * watched folder is scored.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define QDATA HEARTH_TEST_DATA "/qc/metal"

static char tmpdir[256];

static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

/* ---- a webhook receiver: accepts POSTs, keeps the bodies ---------------------------- */

typedef struct receiver {
    int port, fd;
    char bodies[8][4096];
    int n;
    pthread_mutex_t mu;
} receiver;

static void *receiver_main(void *arg) {
    receiver *r = arg;
    for (;;) {
        int c = accept(r->fd, NULL, NULL);
        if (c < 0) return NULL;
        char buf[8192];
        size_t n = 0;
        ssize_t got;
        char *body = NULL;
        long want = -1;
        while (n < sizeof buf - 1 && (got = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
            n += (size_t)got;
            buf[n] = 0;
            char *hend = strstr(buf, "\r\n\r\n");
            if (hend && want < 0) {
                char *cl = strcasestr(buf, "Content-Length:");
                want = cl ? atol(cl + 15) : 0;
                body = hend + 4;
            }
            if (body && (long)(buf + n - body) >= want) break;
        }
        if (body) {
            pthread_mutex_lock(&r->mu);
            if (r->n < 8) snprintf(r->bodies[r->n++], sizeof r->bodies[0], "%.*s", (int)want, body);
            pthread_mutex_unlock(&r->mu);
        }
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ssize_t wr = write(c, ok, strlen(ok));
        (void)wr;
        close(c);
    }
}

static bool receiver_start(receiver *r) {
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)r->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(r->fd, (struct sockaddr *)&a, sizeof a) || listen(r->fd, 8)) return false;
    pthread_t t;
    pthread_create(&t, NULL, receiver_main, r);
    pthread_detach(t);
    return true;
}

static int count_files(const char *dir) {
    char cmd[600], *out = NULL;
    snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | grep -c json", dir);
    harness_run(cmd, &out);
    int n = out ? atoi(out) : -1;
    free(out);
    return n;
}

static char *get_metrics(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) {
        close(s);
        return NULL;
    }
    const char *req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ssize_t wr = write(s, req, strlen(req));
    (void)wr;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && n < cap - 1 && (got = read(s, buf + n, cap - 1 - n)) > 0) n += (size_t)got;
    if (buf) buf[n] = 0;
    close(s);
    return buf;
}

/* waits (up to a deadline, not a timing assertion) for cond */
#define WAIT_FOR(cond, seconds)                                   \
    do {                                                          \
        for (int w_ = 0; w_ < (seconds) * 10 && !(cond); w_++) usleep(100000); \
    } while (0)

TEST(stdin_line_with_down_webhook) {
    char model[512], queue[512], report[512], outp[512], cmd[4096];
    snprintf(model, sizeof model, "%s/qc.gguf", tmpdir);
    snprintf(queue, sizeof queue, "%s/queue", tmpdir);
    snprintf(report, sizeof report, "%s/shift.html", tmpdir);
    snprintf(outp, sizeof outp, "%s/out.jsonl", tmpdir);
    snprintf(cmd, sizeof cmd, "%s qc fit --good %s/train/good --val %s/val -o %s -q", HEARTH_BIN, QDATA, QDATA, model);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    receiver r = {.port = free_port(), .mu = PTHREAD_MUTEX_INITIALIZER};
    int mport = free_port();
    snprintf(cmd, sizeof cmd,
             "%s qc watch -m %s --stdin --webhook http://127.0.0.1:%d/hook --queue %s --metrics-port %d "
             "--shift-report %s > %s 2>%s/err.txt",
             HEARTH_BIN, model, r.port, queue, mport, report, outp, tmpdir);
    FILE *in = popen(cmd, "w");
    CHECK(in != NULL);
    if (!in) return;
    /* a defect, an unreadable file, a good part */
    fprintf(in, "%s/test/bad/0003.png\n%s/nope.png\n%s/test/good/0001.png\n", QDATA, tmpdir, QDATA);
    fflush(in);
    /* the receiver is down: the alert waits on disk */
    WAIT_FOR(count_files(queue) == 1, 30);
    CHECK_EQ_INT(count_files(queue), 1);
    /* the alert of the first image is queued; the other two lines may still be in
     * the pipe: wait (a deadline, not a timing assertion) until all three are counted */
    char *m = NULL;
    WAIT_FOR((free(m), m = get_metrics(mport)) && strstr(m, "hearth_qc_images_total 2") &&
                 strstr(m, "hearth_qc_errors_total 1"),
             30);
    CHECK_MSG(m && strstr(m, "hearth_qc_images_total 2") && strstr(m, "hearth_qc_errors_total 1") &&
                  strstr(m, "hearth_qc_defects_total 1"),
              "metrics: %s", m ? m : "(none)");
    free(m);
    /* the receiver comes up: the queued alert is delivered by a retry */
    CHECK(receiver_start(&r));
    WAIT_FOR(r.n >= 1 && count_files(queue) == 0, 60);
    pthread_mutex_lock(&r.mu);
    CHECK_EQ_INT(r.n, 1);
    cJSON *j = r.n ? cJSON_Parse(r.bodies[0]) : NULL;
    pthread_mutex_unlock(&r.mu);
    CHECK(j && strstr(cJSON_GetObjectItem(j, "image")->valuestring, "bad/0003.png"));
    CHECK(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "anomalous")));
    CHECK(j && strstr(cJSON_GetObjectItem(j, "caption")->valuestring, "defect"));
    cJSON_Delete(j);
    CHECK_EQ_INT(count_files(queue), 0);
    m = get_metrics(mport);
    CHECK_MSG(m && strstr(m, "hearth_qc_alerts_sent_total 1"), "metrics: %s", m ? m : "(none)");
    free(m);
    /* end of the shift */
    CHECK_EQ_INT(pclose(in), 0);
    char *out = harness_read(outp, NULL);
    CHECK(out && strstr(out, "bad/0003.png") && strstr(out, "good/0001.png") && !strstr(out, "nope.png"));
    free(out);
    char ep[600];
    snprintf(ep, sizeof ep, "%s/err.txt", tmpdir);
    char *err = harness_read(ep, NULL);
    CHECK_MSG(err && strstr(err, "nope.png") && strstr(err, "skipped"), "%s", err ? err : "");
    free(err);
    char *html = harness_read(report, NULL);
    CHECK(html && strstr(html, "2 parts inspected") && strstr(html, "<svg") && strstr(html, "1 images could not"));
    free(html);
    close(r.fd);
}

TEST(folder_mode) {
    char model[512], dir[512], cmd[4096], outp[512];
    snprintf(model, sizeof model, "%s/qc.gguf", tmpdir);
    snprintf(dir, sizeof dir, "%s/incoming", tmpdir);
    snprintf(outp, sizeof outp, "%s/folder.jsonl", tmpdir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    harness_run(cmd, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 2);
        execl(HEARTH_BIN, HEARTH_BIN, "qc", "watch", "-m", model, dir, (char *)NULL);
        _exit(127);
    }
    usleep(500000);
    /* a camera writes elsewhere and moves the finished file in; then writes a broken one in place */
    snprintf(cmd, sizeof cmd, "cp %s/test/bad/0005.png %s/part.tmp && mv %s/part.tmp %s/part1.png && echo junk > %s/part2.png",
             QDATA, tmpdir, tmpdir, dir, dir);
    harness_run(cmd, NULL);
    char *out = NULL;
    WAIT_FOR((free(out), out = harness_read(outp, NULL)) && strstr(out, "part1.png"), 30);
    CHECK(out && strstr(out, "part1.png") && strstr(out, "\"anomalous\": true"));
    free(out);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* a receiver that takes the connection and never answers: the POST times out, the alert stays queued,
 * and the next image is still scored */
TEST(hanging_webhook) {
    char model[512], queue[512], outp[512], cmd[4096];
    snprintf(model, sizeof model, "%s/qc.gguf", tmpdir);
    snprintf(queue, sizeof queue, "%s/queue2", tmpdir);
    snprintf(outp, sizeof outp, "%s/hang.jsonl", tmpdir);
    int port = free_port();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 8) == 0);   /* never accepts */
    snprintf(cmd, sizeof cmd,
             "(echo %s/test/bad/0003.png; sleep 2; echo %s/test/good/0004.png) | %s qc watch -m %s --stdin "
             "--webhook http://127.0.0.1:%d/hook --webhook-timeout 1 --queue %s > %s 2>/dev/null",
             QDATA, QDATA, HEARTH_BIN, model, port, queue, outp);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    char *out = harness_read(outp, NULL);
    CHECK(out && strstr(out, "bad/0003.png") && strstr(out, "good/0004.png"));
    free(out);
    CHECK_EQ_INT(count_files(queue), 1);
    close(fd);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth_watch_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(stdin_line_with_down_webhook);
    RUN(folder_mode);
    RUN(hanging_webhook);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    harness_run(cmd, NULL);
    return harness_done();
}
