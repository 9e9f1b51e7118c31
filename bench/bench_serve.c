/*
 * bench_serve.c — continuous batching under load: starts `hearth serve`,
 * then runs 1, 4 and 8 concurrent streaming clients (each sends R requests
 * one after another, N generated tokens each, end-of-text banned so every
 * request makes exactly N) and prints aggregate generated tokens/s and the
 * p50 / p95 time to first token.
 *
 *   bench_serve [--bin build/hearth] [-m MODEL] [-t THREADS] [--parallel P]
 *               [-n TOKENS] [-r REQUESTS_PER_CLIENT] [--clients 1,4,8]
 *               [--port PORT]
 *
 * --port: measure a server already listening on 127.0.0.1:PORT instead of
 * starting hearth (e.g. llama.cpp's llama-server on the same model, for a
 * side-by-side figure); the end of text is then suppressed with llama.cpp's
 * "ignore_eos" instead of a logit_bias object.
 */
#include "../tests/server/http_client.h"

#include <pthread.h>

static int g_external;   /* --port: not a hearth server */

typedef struct client {
    int port, id, n_tokens, n_req;
    double *ttft;      /* n_req */
    long tokens;
} client;

static void *run_client(void *arg) {
    client *c = arg;
    for (int r = 0; r < c->n_req; r++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"prompt\":\"Client %d, request %d: the license\",\"max_tokens\":%d,\"temperature\":0.8,"
                 "\"seed\":%d,%s\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                 c->id, r, c->n_tokens, c->id * 1000 + r,
                 g_external ? "\"ignore_eos\":true," : "\"logit_bias\":{\"2\":-100},");
        int fd = http_connect(c->port, 300);
        double t0 = now_s();
        http_send(fd, "POST", "/v1/completions", body);
        size_t cap = 1 << 20, len = 0;
        char *buf = malloc(cap);
        c->ttft[r] = -1;
        for (;;) {
            if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
            ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
            if (n <= 0) break;
            len += (size_t)n;
            buf[len] = 0;
            if (c->ttft[r] < 0 && strstr(buf, "data: {")) c->ttft[r] = now_s() - t0;
        }
        close(fd);
        char *u = strstr(buf, "\"completion_tokens\":");
        if (u) c->tokens += atol(u + 20);
        free(buf);
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *bin = "build/hearth", *model = NULL, *threads = "2", *parallel = "8", *clients = "1,4,8";
    int n_tokens = 64, n_req = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--bin")) bin = argv[i + 1];
        else if (!strcmp(argv[i], "-m")) model = argv[i + 1];
        else if (!strcmp(argv[i], "-t")) threads = argv[i + 1];
        else if (!strcmp(argv[i], "--parallel")) parallel = argv[i + 1];
        else if (!strcmp(argv[i], "-n")) n_tokens = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-r")) n_req = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--clients")) clients = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) g_external = atoi(argv[i + 1]);
        else { fprintf(stderr, "bench_serve: unknown option %s\n", argv[i]); return 2; }
    }
    if (!model) model = access("/tmp/hearth-tinyllama-f16.gguf", R_OK) == 0 ? "/tmp/hearth-tinyllama-f16.gguf"
                                                                           : HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf";
    signal(SIGPIPE, SIG_IGN);
    const char *args[] = {"-m", model, "-t", threads, "--parallel", parallel, "--ctx-per-seq", "512", NULL};
    pid_t pid = 0;
    int port = g_external ? g_external : start_server(bin, args, &pid);
    if (port <= 0) { fprintf(stderr, "bench_serve: the server did not start (%s)\n", bin); return 1; }
    if (g_external) printf("server on port %d (not started here)\n", port);
    else printf("model %s, %s threads, %s slots, %d tokens per request, %d requests per client\n", model, threads, parallel,
           n_tokens, n_req);
    printf("%8s %12s %12s %12s\n", "clients", "tokens/s", "ttft p50 s", "ttft p95 s");
    /* warm-up */
    client w = {port, 999, 4, 1, (double[1]){0}, 0};
    run_client(&w);
    char list[64];
    snprintf(list, sizeof list, "%s", clients);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int nc = atoi(tok);
        if (nc < 1 || nc > 64) continue;
        client cs[64];
        pthread_t th[64];
        double *tt = calloc((size_t)nc * n_req, sizeof *tt);
        double t0 = now_s();
        for (int i = 0; i < nc; i++) {
            cs[i] = (client){port, i, n_tokens, n_req, tt + (size_t)i * n_req, 0};
            pthread_create(&th[i], NULL, run_client, &cs[i]);
        }
        long tokens = 0;
        for (int i = 0; i < nc; i++) pthread_join(th[i], NULL), tokens += cs[i].tokens;
        double wall = now_s() - t0;
        int n = nc * n_req;
        qsort(tt, (size_t)n, sizeof *tt, cmp);
        printf("%8d %12.1f %12.3f %12.3f\n", nc, tokens / wall, tt[n / 2], tt[(int)(0.95 * (n - 1) + 0.5)]);
        fflush(stdout);
        free(tt);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return 0;
}
