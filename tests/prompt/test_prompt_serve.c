/*
 * test_prompt_serve.c — the prompt library through `hearth serve --prompts DB`
 * and the `hearth prompt` command: prompts added and labelled over HTTP, a
 * chat completion called by prompt name (the output schema constraining the
 * reply), `production` moved only with the admin token, and bad requests
 * answered 400/403/404 naming the field.
 */
#include "harness.h"

#include "../server/http_client.h"

#include "hearth/gateway.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <sys/stat.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

static char g_db[256];
static const char *volatile g_step = "start";   /* what the test is doing, for the watchdog */
static pid_t g_server = 0;

/* a hang fails in 240 s naming the step (and stops the server) instead of the ctest timeout */
static void on_alarm(int sig) {
    (void)sig;
    const char *m = "test_prompt_serve: watchdog: stuck at step: ";
    write(2, m, strlen(m));
    write(2, g_step, strlen(g_step));
    write(2, "\n", 1);
    if (g_server > 0) kill(g_server, SIGKILL);
    _exit(3);
}

/* a request with an Authorization header (http_client.h sends none) */
static cJSON *post_auth(int port, const char *path, const char *body, const char *token, int *status) {
    int fd = http_connect(port, 120);
    *status = -1;
    if (fd < 0) return NULL;
    char head[512];
    snprintf(head, sizeof head,
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
             "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n", path, token, strlen(body));
    send_all(fd, head, strlen(head));
    send_all(fd, body, strlen(body));
    http_resp r;
    cJSON *j = NULL;
    if (http_read(fd, &r)) {
        *status = r.status;
        j = cJSON_Parse(r.body);
        http_resp_free(&r);
    }
    close(fd);
    return j;
}

static cJSON *get_json(int port, const char *path, int *status) {
    http_resp r;
    *status = -1;
    if (!http_do(port, "GET", path, NULL, &r)) return NULL;
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    return j;
}

static const char *param_of(const cJSON *j) { return json_path_str(j, "error.param"); }

/* runs `hearth prompt ARGS --db g_db`; the exit status */
static int prompt_cmd(const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s prompt %s --db %s >/dev/null 2>&1", HEARTH_BIN, args, g_db);
    return harness_run(cmd, NULL);
}

int main(void) {
    signal(SIGALRM, on_alarm);
    alarm(240);
    snprintf(g_db, sizeof g_db, "/tmp/hearth_test_prompt_serve_%d.db", (int)getpid());
    unlink(g_db);
    /* a version added from the command line, labelled staging */
    char spec_path[300];
    snprintf(spec_path, sizeof spec_path, "%s.yaml", g_db);
    FILE *f = fopen(spec_path, "w");
    fputs("system: \"You extract data.\"\n"
          "template: \"Extract the license named in: {{ text }}\"\n"
          "variables: {text: string}\n"
          "sampling: {temperature: 0, max_tokens: 48}\n"
          "output_schema:\n"
          "  type: object\n"
          "  properties: {license: {enum: [MIT, Apache-2.0, GPL-3.0]}}\n"
          "  required: [license]\n"
          "  additionalProperties: false\n", f);
    fclose(f);
    char args[600];
    snprintf(args, sizeof args, "add extract %s --author ci", spec_path);
    g_step = "hearth prompt commands";
    CHECK_EQ_INT(prompt_cmd(args), 0);
    CHECK_EQ_INT(prompt_cmd("label extract staging 1"), 0);
    CHECK_EQ_INT(prompt_cmd("label extract production 1"), 1);   /* protected without --admin */
    CHECK_EQ_INT(prompt_cmd("render extract@staging --var text=hi"), 0);
    CHECK_EQ_INT(prompt_cmd("render extract@staging"), 1);       /* missing variable */
    unlink(spec_path);

    setenv("HEARTH_ADMIN_TOKEN", "s3cret-admin-token-0123", 1);
    const char *sargs[] = {"-m", MODEL, "--prompts", g_db, "-t", "2", NULL};
    pid_t pid = 0;
    g_step = "starting hearth serve";
    int port = start_server(HEARTH_BIN, sargs, &pid);
    g_server = pid;
    CHECK(port > 0);
    if (port <= 0) return harness_done();
    int st;

    /* the chat completion by prompt name: the reply is the schema's JSON */
    g_step = "chat completion by prompt name";
    cJSON *j = http_post_json(port, "/v1/chat/completions",
                              "{\"prompt\": {\"name\": \"extract\", \"label\": \"staging\", \"variables\": "
                              "{\"text\": \"Released under the MIT license.\"}}}", &st);
    CHECK_EQ_INT(st, 200);
    const char *content = json_path_str(j, "choices.0.message.content");
    cJSON *reply = content ? cJSON_Parse(content) : NULL;
    CHECK_MSG(reply && cJSON_IsString(cJSON_GetObjectItem(reply, "license")), "content: %s", content ? content : "(none)");
    cJSON_Delete(reply);
    cJSON_Delete(j);

    /* bad requests name the field */
    g_step = "bad chat requests";
    struct { const char *body, *param; int status; } bad[] = {
        {"{\"prompt\": {\"name\": \"nosuch\"}}", "prompt.name", 400},
        {"{\"prompt\": {\"name\": \"extract\", \"label\": \"canary\"}}", "prompt.label", 400},
        {"{\"prompt\": {\"name\": \"extract\", \"label\": \"staging\"}}", "prompt.variables.text", 400},
        {"{\"prompt\": {\"name\": \"extract\", \"variables\": {\"text\": 5}}}", "prompt.variables.text", 400},
        {"{\"prompt\": {\"name\": \"extract\", \"variables\": {\"text\": \"x\", \"other\": 1}}}", "prompt.variables.other", 400},
        {"{\"prompt\": 7}", "prompt", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = http_post_json(port, "/v1/chat/completions", bad[i].body, &st);
        CHECK_EQ_INT(st, bad[i].status);
        CHECK_MSG(param_of(j) && !strcmp(param_of(j), bad[i].param), "case %zu: param %s, message %s", i,
                  param_of(j) ? param_of(j) : "(none)", json_path_str(j, "error.message") ? json_path_str(j, "error.message") : "");
        cJSON_Delete(j);
    }

    g_step = "adding over HTTP";
    /* adding over HTTP: invalid Jinja is refused naming the line; a good spec is version 2 */
    j = http_post_json(port, "/v1/prompts", "{\"name\": \"extract\", \"spec\": \"template: \\\"{% for x in %}\\\"\"}", &st);
    CHECK_EQ_INT(st, 400);
    CHECK(param_of(j) && !strcmp(param_of(j), "spec"));
    CHECK(json_path_str(j, "error.message") && strstr(json_path_str(j, "error.message"), "line 1"));
    cJSON_Delete(j);
    j = http_post_json(port, "/v1/prompts",
                       "{\"name\": \"extract\", \"author\": \"web\", \"spec\": {\"template\": \"Say {{ text }}\","
                       " \"variables\": {\"text\": \"string\"}, \"sampling\": {\"max_tokens\": 4}}}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "version") ? cJSON_GetObjectItem(j, "version")->valueint : 0, 2);
    cJSON_Delete(j);

    /* labels over HTTP: production needs the admin token */
    g_step = "labels over HTTP";
    j = http_post_json(port, "/v1/prompts/extract/labels", "{\"label\": \"production\", \"version\": 2}", &st);
    CHECK_EQ_INT(st, 403);
    cJSON_Delete(j);
    j = post_auth(port, "/v1/prompts/extract/labels", "{\"label\": \"production\", \"version\": 2}", "wrong", &st);
    CHECK_EQ_INT(st, 403);
    cJSON_Delete(j);
    j = post_auth(port, "/v1/prompts/extract/labels", "{\"label\": \"production\", \"version\": 2, \"actor\": \"ops\"}",
                  "s3cret-admin-token-0123", &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
    j = http_post_json(port, "/v1/prompts/extract/labels", "{\"label\": \"staging\", \"version\": 9}", &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);
    j = get_json(port, "/v1/prompts/extract@production", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "version") ? cJSON_GetObjectItem(j, "version")->valueint : 0, 2);
    cJSON_Delete(j);
    j = get_json(port, "/v1/prompts/extract/history", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetArraySize(j), 2);
    CHECK(json_path_str(j, "1.actor") && !strcmp(json_path_str(j, "1.actor"), "ops"));
    cJSON_Delete(j);
    j = get_json(port, "/v1/prompts", &st);
    CHECK_EQ_INT(st, 200);
    CHECK(json_path_str(j, "0.name") && !strcmp(json_path_str(j, "0.name"), "extract"));
    cJSON_Delete(j);
    j = get_json(port, "/v1/prompts/..%2F..%2Fetc", &st);
    CHECK(st == 400 || st == 404);
    cJSON_Delete(j);

    g_step = "stopping hearth serve";
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    /* through the gateway (serve --gateway-config): only admin keys move production, and the move is in
     * the audit chain; a user's chat completion by prompt name passes through */
    g_step = "through the gateway";
    char gwdir[300], cfg[400], keys[400], audit[400];
    snprintf(gwdir, sizeof gwdir, "%s.gw", g_db);
    snprintf(cfg, sizeof cfg, "%s/gw.yaml", gwdir);
    snprintf(keys, sizeof keys, "%s/keys.db", gwdir);
    snprintf(audit, sizeof audit, "%s/audit.db", gwdir);
    char k_user[HEARTH_KEY_MAX], k_admin[HEARTH_KEY_MAX];
    hearth_keystore *ks = NULL;
    FILE *g = mkdir(gwdir, 0700) == 0 ? fopen(cfg, "w") : NULL;
    if (g) {
        fputs("keys_db: keys.db\naudit: {db: audit.db, sync: normal}\n", g);
        fclose(g);
    }
    hearth_key_params kp = hearth_key_default_params(), ka = kp;
    kp.name = "user", ka.name = "ops", ka.role = HEARTH_ROLE_ADMIN;
    CHECK(g && hearth_keystore_open(keys, &ks) == HEARTH_OK && hearth_keys_create(ks, &kp, k_user, NULL) == HEARTH_OK &&
          hearth_keys_create(ks, &ka, k_admin, NULL) == HEARTH_OK);
    hearth_keystore_free(ks);
    const char *gargs[] = {"-m", MODEL, "--prompts", g_db, "-t", "2", "--gateway-config", cfg, NULL};
    port = start_server_marked(HEARTH_BIN, gargs, &pid, "gateway listening on port ");
    g_server = pid;
    CHECK(port > 0);
    if (port > 0) {
        const char *move = "{\"label\": \"production\", \"version\": 1, \"actor\": \"ops\"}";
        j = post_auth(port, "/admin/prompts/extract/labels", move, k_user, &st);
        CHECK_EQ_INT(st, 403);
        cJSON_Delete(j);
        j = post_auth(port, "/admin/prompts/extract/labels", move, k_admin, &st);
        CHECK_EQ_INT(st, 200);
        cJSON_Delete(j);
        j = post_auth(port, "/v1/chat/completions",
                      "{\"prompt\": {\"name\": \"extract\", \"label\": \"production\", \"variables\": "
                      "{\"text\": \"GPL-3.0 applies.\"}}}", k_user, &st);
        CHECK_EQ_INT(st, 200);
        content = json_path_str(j, "choices.0.message.content");
        reply = content ? cJSON_Parse(content) : NULL;
        CHECK_MSG(reply && cJSON_GetObjectItem(reply, "license"), "through the gateway: %s", content ? content : "(none)");
        cJSON_Delete(reply);
        cJSON_Delete(j);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        /* the audit chain holds the move: who, which label, which version */
        sqlite3 *db = NULL;
        sqlite3_stmt *q = NULL;
        int n = 0;
        if (sqlite3_open(audit, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT model, status FROM audit WHERE endpoint = '/admin/prompts'", -1, &q, NULL) ==
                SQLITE_OK)
            while (sqlite3_step(q) == SQLITE_ROW) {
                const char *m = (const char *)sqlite3_column_text(q, 0);
                if (sqlite3_column_int(q, 1) == 200 && m && strstr(m, "extract/labels") && strstr(m, "production")) n++;
            }
        sqlite3_finalize(q);
        sqlite3_close(db);
        CHECK_EQ_INT(n, 1);
    }
    snprintf(cfg, sizeof cfg, "rm -rf '%s'", gwdir);
    CHECK(system(cfg) == 0);
    unlink(g_db);
    return harness_done();
}
