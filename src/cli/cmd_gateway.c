/*
 * cmd_gateway.c — `hearth gateway --config FILE`: runs the enterprise gateway
 * in front of `hearth serve` replicas until SIGTERM or SIGINT. With
 * upstream.inprocess in the config (a single-node install) the models are
 * served by a hearth server inside this same process, on an internal
 * 127.0.0.1 port that only the gateway uses.
 */
#include "cli.h"

#include "hearth/gateway.h"
#include "hearth/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cmd_gateway_summary = "API gateway: keys, limits, PII masking, audit, metrics, load balancing";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth gateway --config FILE.yaml [--port N]\n"
            "\n"
            "Serves the OpenAI API of the replicas named in the config behind API keys\n"
            "(Authorization: Bearer KEY or X-Api-Key: KEY; create them with `hearth keys`),\n"
            "per-key model access, rate limits and token budgets, the PII policy, a hash-\n"
            "chained audit record per request, /metrics, and /admin/keys for admin keys.\n"
            "GET /health needs no key. See docs/gateway.md and examples/gateway.yaml for the config file.\n"
            "With an upstream.inprocess section ({models: {NAME: PATH}, parallel, ctx_per_seq,\n"
            "threads}) the models are served inside this process (single-node install).\n"
            "\n"
            "  --config FILE    YAML configuration (required)\n"
            "  --port N         listen port, overriding the config (0: any free port, printed)\n"
            "  --ui-dir DIR     serve the web console (/) from DIR, read on every request\n"
            "                   (developing ui/); default: the files built into hearth\n"
            "  --no-ui          no web console (GET / answers 404)\n");
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* upstream.inprocess: a hearth server in this process on 127.0.0.1:<any free
 * port>, added to the config's replicas */
static hearth_status start_inprocess(hearth_gateway_config *c, hearth_server **out) {
    hearth_server_params p = hearth_server_default_params();
    int parallel, ctx, threads;
    hearth_gateway_config_inprocess_params(c, &parallel, &ctx, &threads);
    p.host = "127.0.0.1";
    p.port = 0;
    if (parallel > 0) p.n_parallel = parallel;
    if (ctx > 0) p.n_ctx_per_seq = ctx;
    if (threads > 0) p.n_threads = threads;
    hearth_status st = hearth_server_create(&p, out);
    for (int i = 0; !st && i < hearth_gateway_config_inprocess_count(c); i++) {
        const char *name, *path;
        hearth_gateway_config_inprocess_model(c, i, &name, &path);
        st = hearth_server_add_model(*out, name, path);
    }
    if (!st) st = hearth_server_start(*out);
    if (!st) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", hearth_server_port(*out));
        st = hearth_gateway_config_add_replica(c, url);
        if (!st) fprintf(stderr, "hearth gateway: in-process models served at %s (gateway use only)\n", url);
    }
    return st;
}

int cmd_gateway(int argc, char **argv) {
    const char *config = NULL, *ui_dir = NULL;
    int64_t port = -1;
    bool no_ui = false;
    cli_args a = cli_args_init("gateway", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-c", "--config", &config)) continue;
        if (cli_opt_int(&a, NULL, "--port", &port)) continue;
        if (cli_opt(&a, NULL, "--ui-dir", &ui_dir)) continue;
        if (cli_flag(&a, NULL, "--no-ui")) { no_ui = true; continue; }
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("gateway", "unexpected argument '%s'", a.pos[0]);
    if (!config) {
        usage(stderr);
        return 2;
    }
    if (port > 65535) return cli_error("gateway", "--port must be 0..65535");
    cli_install_logger();
    hearth_gateway_config *c;
    if (hearth_gateway_config_load(config, &c)) return cli_lib_error("gateway");
    if (port >= 0) hearth_gateway_config_set_port(c, (int)port);
    hearth_gateway_config_set_ui(c, ui_dir, !no_ui);
    hearth_server *srv = NULL;
    if (hearth_gateway_config_inprocess_count(c) > 0 && start_inprocess(c, &srv)) {
        int rc = cli_lib_error("gateway");
        hearth_server_free(srv);
        hearth_gateway_config_free(c);
        return rc;
    }
    hearth_gateway *g;
    if (hearth_gateway_create(c, &g)) {
        int rc = cli_lib_error("gateway");
        hearth_server_free(srv);
        hearth_gateway_config_free(c);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (hearth_gateway_start(g)) {
        int rc = cli_lib_error("gateway");
        hearth_gateway_free(g);
        hearth_server_free(srv);
        hearth_gateway_config_free(c);
        return rc;
    }
    fprintf(stderr, "hearth gateway: listening on port %d\n", hearth_gateway_port(g));
    printf("port %d\n", hearth_gateway_port(g));
    fflush(stdout);
    while (!g_stop) pause();
    fprintf(stderr, "hearth gateway: stopping\n");
    hearth_gateway_free(g);
    hearth_server_free(srv);   /* graceful: running requests may finish */
    hearth_gateway_config_free(c);
    return 0;
}
