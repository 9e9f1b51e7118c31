/*
 * cmd_serve.c — `hearth serve`: the OpenAI-compatible HTTP server (the work
 * is in libhearth's server layer; this parses options, waits for SIGTERM or
 * SIGINT and stops gracefully).
 */
#include "cli.h"

#include "hearth/gateway.h"
#include "hearth/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cmd_serve_summary = "OpenAI-compatible HTTP server with continuous batching";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth serve [-m MODEL | --model NAME=PATH ...] [options]\n"
            "\n"
            "Serves the OpenAI API: POST /v1/chat/completions, /v1/completions, /v1/embeddings;\n"
            "GET /v1/models, /health, /metrics (Prometheus). Requests pick a model by name\n"
            "(\"model\": NAME, or NAME+ADAPTER); the first model is the default.\n"
            "\n"
            "  -m FILE                   a GGUF model, served under its file name (without .gguf)\n"
            "      --model NAME=PATH     a model under NAME (repeatable); --model PATH works like -m\n"
            "      --lora NAME=PATH[:S]  a LoRA adapter (GGUF or PEFT folder; scale S, default 1), requested as\n"
            "                            MODEL+NAME for every model it fits (repeatable); one that fits no\n"
            "                            model is an error. An encoder (BERT) model serves embeddings only\n"
            "      --mmproj [NAME=]PATH  image encoder (llama.cpp mmproj GGUF) for model NAME (default: the\n"
            "                            first): chat messages may carry an image_url part (a data URL)\n"
            "                            and /v1/embeddings image inputs (repeatable, one per model)\n"
            "      --host ADDR           IPv4 address to listen on (default 127.0.0.1)\n"
            "      --port N              port (default 8080; 0: any free port, printed at start)\n"
            "  -t, --threads N           threads for the forward pass (default: all CPUs)\n"
            "      --parallel N          sequences decoded together per model (slots; default 4)\n"
            "      --ctx-per-seq N       context of each slot in tokens (default: the model's, at most 2048)\n"
            "      --batch N             tokens per forward step, prompt chunks included (default 256)\n"
            "      --queue N             requests waiting for a slot before 429 (default 64)\n"
            "      --timeout S           idle connection timeout in seconds (default 60)\n"
            "      --max-body BYTES      request body limit (default 4194304; 413 above)\n"
            "      --drain S             on SIGTERM, seconds running requests may finish (default 10)\n"
            "      --rag-db DIR          serve OpenAI's files and vector stores API (/v1/files,\n"
            "                            /v1/vector_stores), kept in DIR as hearth rag collections, and\n"
            "                            grounded chat (a file_search tool in a chat request)\n"
            "      --rag-embed FILE      embedding model for vector stores (default: none, BM25 search)\n"
            "      --prompts DB          the prompt library (hearth prompt): /v1/prompts and the \"prompt\"\n"
            "                            field of chat completions; moving the production label\n"
            "                            needs the admin token (--admin-token-file)\n"
            "      --prompts-embedder FILE  embedding model for the prompts' few-shot selection\n"
            "      --classifier FILE     an image classifier (hearth vision train) at POST\n"
            "                            /v1/images/classify (image bytes, or JSON {\"image\": base64})\n"
            "      --registry DIR        serve a model repository (hearth models --store DIR): every\n"
            "                            version an alias points at, as NAME@ALIAS (adapters on the\n"
            "                            served base their lineage names); with the admin API, load\n"
            "                            by reference and move aliases (POST /admin/aliases)\n"
            "      --admin-token-file FILE  turn on the admin API (GET /admin/models, POST\n"
            "                            /admin/models/load|swap|unload: hot model and adapter swaps)\n"
            "                            for 'Authorization: Bearer TOKEN', TOKEN being FILE's first line\n"
            "                            (or the environment's HEARTH_ADMIN_TOKEN)\n"
            "      --ui-dir DIR          serve the web console (chat playground at /) from DIR, read on\n"
            "                            every request (developing ui/: --ui-dir ui/dist); default: the\n"
            "                            files built into hearth\n"
            "      --no-ui               no web console (GET / answers 404)\n"
            "      --gateway-config FILE single-node install: put the enterprise gateway (API keys,\n"
            "                            limits, PII masking, audit log; see hearth gateway) in front,\n"
            "                            in this process. The gateway listens where FILE says (or on\n"
            "                            --port); the model server only on an internal 127.0.0.1 port\n");
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* "name=path" -> name, path; a bare path is named after its file */
static void split_spec(const char *spec, char *name, size_t cap, const char **path) {
    const char *eq = strchr(spec, '=');
    if (eq && eq != spec) {
        size_t n = (size_t)(eq - spec) < cap - 1 ? (size_t)(eq - spec) : cap - 1;
        memcpy(name, spec, n);
        name[n] = 0;
        *path = eq + 1;
        return;
    }
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    snprintf(name, cap, "%s", base);
    char *dot = strstr(name, ".gguf");
    if (dot && dot[5] == 0) *dot = 0;
    *path = spec;
}

/* the admin token: FILE's first line, at least 16 characters */
static bool read_token(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("serve", "--admin-token-file %s cannot be read", path), false;
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    if (ok) out[strcspn(out, "\r\n")] = 0;
    if (!ok || strlen(out) < 16)
        return cli_error("serve", "--admin-token-file %s: the token (its first line) must be 16 characters or more",
                         path),
               false;
    return true;
}

int cmd_serve(int argc, char **argv) {
    const char *models[32], *loras[32], *mpath = NULL;
    int n_models = 0, n_loras = 0;
    hearth_server_params p = hearth_server_default_params();
    int64_t port = p.port, threads = 0, parallel = p.n_parallel, ctx = 0, batch = p.n_batch, queue = p.queue_max,
            timeout = p.timeout_s, max_body = (int64_t)p.max_body;
    double drain = p.drain_s;
    const char *spec, *gw_config = NULL, *mmprojs[32], *token_file = NULL;
    int n_mmproj = 0;
    bool port_given = false;

    cli_args a = cli_args_init("serve", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", NULL, &mpath)) continue;
        if (cli_opt(&a, NULL, "--model", &spec)) {
            if (n_models == 32) return cli_error("serve", "at most 32 models"), 2;
            models[n_models++] = spec;
            continue;
        }
        if (cli_opt(&a, NULL, "--mmproj", &spec)) {
            if (n_mmproj == 32) return cli_error("serve", "at most 32 image encoders"), 2;
            mmprojs[n_mmproj++] = spec;
            continue;
        }
        if (cli_opt(&a, NULL, "--lora", &spec)) {
            if (n_loras == 32) return cli_error("serve", "at most 32 adapters"), 2;
            loras[n_loras++] = spec;
            continue;
        }
        if (cli_opt(&a, NULL, "--host", &p.host)) continue;
        if (cli_opt_int(&a, NULL, "--port", &port)) { port_given = true; continue; }
        if (cli_opt(&a, NULL, "--gateway-config", &gw_config)) continue;
        if (cli_opt(&a, NULL, "--admin-token-file", &token_file)) continue;
        if (cli_opt(&a, NULL, "--registry", &p.registry_dir)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_opt_int(&a, NULL, "--parallel", &parallel)) continue;
        if (cli_opt_int(&a, NULL, "--ctx-per-seq", &ctx)) continue;
        if (cli_opt_int(&a, NULL, "--batch", &batch)) continue;
        if (cli_opt_int(&a, NULL, "--queue", &queue)) continue;
        if (cli_opt_int(&a, NULL, "--timeout", &timeout)) continue;
        if (cli_opt_int(&a, NULL, "--max-body", &max_body)) continue;
        if (cli_opt_float(&a, NULL, "--drain", &drain)) continue;
        if (cli_opt(&a, NULL, "--rag-db", &p.rag_dir)) continue;
        if (cli_opt(&a, NULL, "--classifier", &p.classifier)) continue;
        if (cli_opt(&a, NULL, "--rag-embed", &p.rag_embed)) continue;
        if (cli_opt(&a, NULL, "--ui-dir", &p.ui_dir)) continue;
        if (cli_flag(&a, NULL, "--no-ui")) { p.ui_off = true; continue; }
        if (cli_opt(&a, NULL, "--prompts", &p.prompts_db)) continue;
        if (cli_opt(&a, NULL, "--prompts-embedder", &p.prompts_embed)) continue;
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("serve", "unexpected argument '%s'", a.pos[0]), 2;
    if (port < 0 || port > 65535) return cli_error("serve", "--port must be 0 .. 65535, got %lld", (long long)port), 2;
    if (threads < 0 || threads > 4096) return cli_error("serve", "-t must be 0 .. 4096"), 2;
    if (parallel < 1 || parallel > 256) return cli_error("serve", "--parallel must be 1 .. 256"), 2;
    if (ctx < 0 || ctx > 1 << 20) return cli_error("serve", "--ctx-per-seq must be 0 .. 1048576"), 2;
    if (batch < 1 || batch > 8192) return cli_error("serve", "--batch must be 1 .. 8192"), 2;
    if (queue < 1 || queue > 100000) return cli_error("serve", "--queue must be 1 .. 100000"), 2;
    if (timeout < 1 || timeout > 86400) return cli_error("serve", "--timeout must be 1 .. 86400 seconds"), 2;
    if (max_body < 1) return cli_error("serve", "--max-body must be positive"), 2;
    if (!(drain >= 0)) return cli_error("serve", "--drain must be 0 or more"), 2;
    p.port = (int)port, p.n_threads = (int)threads, p.n_parallel = (int)parallel, p.n_ctx_per_seq = (int)ctx;
    p.n_batch = (int)batch, p.queue_max = (int)queue, p.timeout_s = (int)timeout, p.max_body = (size_t)max_body;
    p.drain_s = drain;
    if (!mpath && n_models == 0 && !p.registry_dir && !(mpath = cli_model_or_default("serve", NULL))) return 1;
    char token[256] = "";
    if (token_file && !read_token(token_file, token, sizeof token)) return 1;
    if (!token_file && getenv("HEARTH_ADMIN_TOKEN")) snprintf(token, sizeof token, "%s", getenv("HEARTH_ADMIN_TOKEN"));
    if (token[0]) p.admin_token = token;

    cli_install_logger();
    hearth_gateway_config *gc = NULL;
    hearth_gateway *g = NULL;
    if (gw_config) {   /* the gateway takes the public address; the server an internal one */
        if (hearth_gateway_config_load_local(gw_config, &gc) != HEARTH_OK) return cli_lib_error("serve");
        if (port_given) hearth_gateway_config_set_port(gc, (int)port);
        if (p.admin_token) hearth_gateway_config_set_upstream_admin_token(gc, p.admin_token);
        hearth_gateway_config_set_ui(gc, p.ui_dir, !p.ui_off);   /* the console is the gateway's */
        p.ui_off = true;
        p.host = "127.0.0.1";
        p.port = 0;
    }
    hearth_server *s = NULL;
    int rc = 0;
    if (hearth_server_create(&p, &s) != HEARTH_OK) { rc = cli_lib_error("serve"); goto out; }
    char name[128];
    const char *path;
    if (mpath) {
        split_spec(mpath, name, sizeof name, &path);
        if (hearth_server_add_model(s, name, mpath) != HEARTH_OK) { rc = cli_lib_error("serve"); goto out; }
    }
    for (int i = 0; i < n_models; i++) {
        split_spec(models[i], name, sizeof name, &path);
        if (hearth_server_add_model(s, name, path) != HEARTH_OK) { rc = cli_lib_error("serve"); goto out; }
    }
    for (int i = 0; i < n_mmproj; i++) {   /* NAME=PATH, or PATH for the first model */
        const char *eq = strchr(mmprojs[i], '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - mmprojs[i]) : 0, mmprojs[i]);
        if (hearth_server_add_mmproj(s, eq ? name : NULL, eq ? eq + 1 : mmprojs[i]) != HEARTH_OK) {
            rc = cli_lib_error("serve");
            goto out;
        }
    }
    for (int i = 0; i < n_loras; i++) {
        split_spec(loras[i], name, sizeof name, &path);
        if (hearth_server_add_lora(s, name, path) != HEARTH_OK) { rc = cli_lib_error("serve"); goto out; }
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (hearth_server_start(s) != HEARTH_OK) { rc = cli_lib_error("serve"); goto out; }
    fprintf(stderr, "hearth serve: listening on http://%s:%d (%d slot%s per model)%s\n", p.host, hearth_server_port(s),
            p.n_parallel, p.n_parallel == 1 ? "" : "s", gc ? " for the in-process gateway" : "");
    if (gc) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", hearth_server_port(s));
        if (hearth_gateway_config_add_replica(gc, url) != HEARTH_OK || hearth_gateway_create(gc, &g) != HEARTH_OK ||
            hearth_gateway_start(g) != HEARTH_OK) {
            rc = cli_lib_error("serve");
            goto out;
        }
        fprintf(stderr, "hearth serve: gateway listening on port %d\n", hearth_gateway_port(g));
        printf("port %d\n", hearth_gateway_port(g));
        fflush(stdout);
    }
    fflush(stderr);
    while (!g_stop) pause();
    fprintf(stderr, "hearth serve: stopping (finishing running requests)\n");
    hearth_gateway_free(g);
    g = NULL;
    hearth_server_stop(s);
    fprintf(stderr, "hearth serve: stopped\n");
out:
    hearth_gateway_free(g);
    hearth_server_free(s);
    hearth_gateway_config_free(gc);
    return rc;
}
