/*
 * test_swap.c — hot swap of models and adapters in `hearth serve` (admin API,
 * admin_models.c), against a real server process:
 *   - the admin API refuses calls without the admin token (401) and lists
 *     every loaded version with its sha256 digest (equal to sha256sum's);
 *     /v1/models lists the adapter with its parent and digest;
 *   - 8 streaming requests for "tiny+ad" are running or queued (4 slots)
 *     when ad is swapped from v1 to v2: all 8 complete with [DONE], each
 *     carries v1's fingerprint and exactly v1's greedy text; requests made
 *     during the drain get v2's text, although
 *     every slot's cache holds the same prompt computed under v1 (v2's text
 *     is that of v2 loaded at start as "ref2"); the old
 *     version is freed once its last request ends;
 *   - rolling back to v1 gives byte-identical output at temperature 0;
 *   - an adapter made for another base digest is refused with 409 naming
 *     both digests; a model is named "tiny:ad" or with the "lora" field too;
 *   - unloading the adapter and then the model while streams run on them:
 *     the streams complete, new requests get 404, the server keeps serving a
 *     reloaded model, and it exits 0 on SIGTERM (under ASan/TSan builds a
 *     use-after-free or race would fail that);
 *   - bad admin calls (malformed JSON, wrong types, a name with '+', a
 *     missing file, a bad digest, unknown names) get 4xx naming the problem;
 *   - serve --registry STORE (tiny@production, ad@production -> ad:1, and
 *     ad:2, ad:bad made for another base): /v1/models lists the aliases with
 *     parent and digests; the adapter is named alone, as base:adapter or with
 *     "lora"; moving the alias (POST /admin/aliases) while 8 streams run
 *     leaves all 8 complete on v1 and new requests on v2, and moves it in the
 *     store; rollback gives byte-identical output; a move to ad:bad is
 *     refused with 409 (alias unchanged), so is loading ad:bad by reference;
 *   - through the gateway (serve --gateway-config): no key 401, a user key
 *     403, the server's token 401 (not a gateway key); an admin key swaps,
 *     and a user's chat through the gateway then gets v2's text.
 */
#include "harness.h"

#include "http_client.h"
#include "lora_maker.h"
#include "hearth/gateway.h"
#include "hearth/registry.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define TINY HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define LIC HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"
#define TOKEN "swap-test-admin-token-0123456789"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"

static int port;
static char v1[256], v2[256], tokfile[256];
static const char *PROMPT = "Hello world, this is";

/* ==== HTTP helpers ================================================================ */
/* method path body with extra headers; the parsed JSON answer, *status the HTTP status */
static cJSON *call(const char *extra, const char *method, const char *path, const char *body, int *status) {
    int fd = http_connect(port, 120);
    http_resp r;
    *status = -1;
    if (fd < 0) return NULL;
    http_send_h(fd, method, path, extra, body);
    bool ok = http_read(fd, &r);
    close(fd);
    if (!ok) return NULL;
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    return j;
}

static cJSON *admin(const char *op, const char *body, int *status) {
    char path[64];
    snprintf(path, sizeof path, "/admin/models%s%s", op ? "/" : "", op ? op : "");
    return call(AUTH, op ? "POST" : "GET", path, body, status);
}

/* greedy completion text; *fp gets the system_fingerprint (if fp) */
static char *greedy(const char *model, const char *lora, char *fp, size_t fpcap) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"model\":\"%s\"%s%s%s,\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":16,"
             "\"temperature\":0}",
             model, lora ? ",\"lora\":\"" : "", lora ? lora : "", lora ? "\"" : "", PROMPT);
    int st;
    cJSON *j = call(NULL, "POST", "/v1/chat/completions", body, &st);
    const char *t = st == 200 ? json_path_str(j, "choices.0.message.content") : NULL;
    if (!t) fprintf(stderr, "%s: status %d\n", model, st);
    if (fp) snprintf(fp, fpcap, "%s", json_path_str(j, "system_fingerprint") ? json_path_str(j, "system_fingerprint") : "");
    char *out = strdup(t ? t : "(error)");
    cJSON_Delete(j);
    return out;
}


/* "sha256:<hex>" of a file by sha256sum */
static void sha256sum(const char *path, char out[72]) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    char *o = cmd_output(cmd);
    snprintf(out, 72, "sha256:%.64s", o);
    free(o);
}

/* the in_flight / state of a version in GET /admin/models; -1: not listed */
static int admin_count(const char *name, const char *digest, const char **state) {
    int st;
    cJSON *j = admin(NULL, NULL, &st), *x;
    int n = -1;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "data")) {
        const char *nm = json_path_str(x, "name"), *dg = json_path_str(x, "digest");
        if (nm && dg && !strcmp(nm, name) && !strcmp(dg, digest)) {
            n = cJSON_GetObjectItem(x, "in_flight")->valueint;
            if (state) *state = !strcmp(json_path_str(x, "state"), "live") ? "live" : "draining";
        }
    }
    cJSON_Delete(j);
    return n;
}

/* ==== streams =================================================================== */
typedef struct stream {
    const char *model;
    int max_tokens;
    pthread_t th;
    atomic_int started;    /* the first event arrived (the request holds its versions) */
    int status;
    bool done;             /* ended with data: [DONE] */
    char text[4096];
    char fp[64];
} stream;

static void stream_progress(const char *so_far, void *user) {
    if (strstr(so_far, "data: ")) atomic_store(&((stream *)user)->started, 1);
}

static void *stream_main(void *arg) {
    stream *s = arg;
    char body[512];
    snprintf(body, sizeof body,
             "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":%d,"
             "\"temperature\":0,\"stream\":true}",
             s->model, PROMPT, s->max_tokens);
    int fd = http_connect(port, 120);
    http_resp r = {0};
    bool ok = fd >= 0 && http_send(fd, "POST", "/v1/chat/completions", body) && http_read_cb(fd, &r, stream_progress, s);
    if (fd >= 0) close(fd);
    atomic_store(&s->started, 1);
    if (!ok) return NULL;
    s->status = r.status;
    s->done = strstr(r.body, "data: [DONE]") != NULL;
    for (char *ev = strstr(r.body, "data: {"); ev; ev = strstr(ev + 1, "data: {")) {
        char *end = strstr(ev, "\n\n");
        if (!end) break;
        cJSON *j = cJSON_ParseWithLength(ev + 6, (size_t)(end - ev - 6));
        const char *t = json_path_str(j, "choices.0.delta.content"), *fp = json_path_str(j, "system_fingerprint");
        if (t) strncat(s->text, t, sizeof s->text - strlen(s->text) - 1);
        if (fp) snprintf(s->fp, sizeof s->fp, "%s", fp);
        cJSON_Delete(j);
    }
    http_resp_free(&r);
    return NULL;
}

static void streams_start(stream *s, int n, const char *model, int max_tokens) {
    for (int i = 0; i < n; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].model = model, s[i].max_tokens = max_tokens;
        pthread_create(&s[i].th, NULL, stream_main, &s[i]);
    }
    /* every request parsed and queued (it holds its versions) once its first
     * event (the role) is out: the first 4 run, the others wait for a slot */
    double t0 = now_s();
    for (int i = 0; i < n && now_s() - t0 < 60; i++)
        while (!atomic_load(&s[i].started) && now_s() - t0 < 60) usleep(2000);
}

/* ==== tests ======================================================================= */
static char *text_v1, *text_v2, *text_base;
static char dg_v1[72], dg_v2[72], dg_tiny[72];

TEST(admin_needs_token_and_lists_digests) {
    int st;
    cJSON *j = call(NULL, "GET", "/admin/models", NULL, &st);
    CHECK_EQ_INT(st, 401);
    cJSON_Delete(j);
    j = call("Authorization: Bearer not-the-token\r\n", "POST", "/admin/models/unload", "{\"name\":\"tiny\"}", &st);
    CHECK_EQ_INT(st, 401);
    cJSON_Delete(j);
    const char *state = NULL;
    CHECK_MSG(admin_count("tiny", dg_tiny, &state) >= 0, "tiny with digest %s not in GET /admin/models", dg_tiny);
    CHECK_MSG(admin_count("ad", dg_v1, &state) >= 0 && state && !strcmp(state, "live"), "ad (v1) %s not live", dg_v1);
    /* /v1/models: the adapter with its parent and digest */
    http_resp r;
    CHECK(http_do(port, "GET", "/v1/models", NULL, &r));
    cJSON *m = cJSON_Parse(r.body), *x;
    bool seen = false;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(m, "data")) {
        const char *id = json_path_str(x, "id");
        if (id && !strcmp(id, "tiny+ad")) {
            seen = true;
            CHECK_MSG(json_path_str(x, "parent") && !strcmp(json_path_str(x, "parent"), "tiny"), "parent of tiny+ad");
            CHECK_MSG(json_path_str(x, "digest") && !strcmp(json_path_str(x, "digest"), dg_v1), "digest of tiny+ad");
            CHECK_MSG(json_path_str(x, "parent_digest") && !strcmp(json_path_str(x, "parent_digest"), dg_tiny),
                      "parent_digest of tiny+ad");
        }
    }
    CHECK_MSG(seen, "tiny+ad not in /v1/models: %s", r.body);
    cJSON_Delete(m);
    http_resp_free(&r);
}

TEST(names_and_lora_field) {
    char fp[64];
    char *a = greedy("tiny+ad", NULL, fp, sizeof fp), *b = greedy("tiny:ad", NULL, NULL, 0),
         *c = greedy("tiny", "ad", NULL, 0), *d = greedy("tiny", NULL, NULL, 0);
    text_v1 = strdup(a);
    CHECK_MSG(!strcmp(a, b) && !strcmp(a, c), "tiny+ad [%s], tiny:ad [%s], lora field [%s]", a, b, c);
    CHECK_MSG(strcmp(a, d) != 0, "the adapter did not change the text [%s]", a);
    char want[64];
    snprintf(want, sizeof want, "hearth-%.12s-%.12s", dg_tiny + 7, dg_v1 + 7);
    CHECK_MSG(!strcmp(fp, want), "fingerprint %s, want %s", fp, want);
    text_base = d;
    free(a), free(b), free(c);
    int st;
    cJSON *j = call(NULL, "POST", "/v1/completions", "{\"model\":\"tiny\",\"lora\":\"nope\",\"prompt\":\"x\"}", &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);
    j = call(NULL, "POST", "/v1/completions", "{\"model\":\"tiny\",\"lora\":7,\"prompt\":\"x\"}", &st);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(j);
}

/* 8 streams of model (4 run, 4 wait for a slot), then POST body to the admin
 * path: all 8 finish on v1, a request during the drain gets v2; returns the
 * seconds the admin call took */
static double swap_with_streams(const char *model, const char *path, const char *body) {
    stream s[8];
    streams_start(s, 8, model, 16);
    double t0 = now_s();
    int st;
    cJSON *j = call(AUTH, "POST", path, body, &st);
    double swap_s = now_s() - t0;
    CHECK_MSG(st == 200, "%s %s: %d", path, body, st);
    cJSON_Delete(j);
    /* new requests during the drain: v2, although every slot caches the prompt under v1 */
    char fp[64], fp_v1[64], fp_v2[64];
    snprintf(fp_v1, sizeof fp_v1, "hearth-%.12s-%.12s", dg_tiny + 7, dg_v1 + 7);
    snprintf(fp_v2, sizeof fp_v2, "hearth-%.12s-%.12s", dg_tiny + 7, dg_v2 + 7);
    char *during = greedy(model, NULL, fp, sizeof fp);
    CHECK_MSG(!strcmp(during, text_v2), "after the swap: [%s], want v2's [%s]", during, text_v2);
    CHECK_MSG(!strcmp(fp, fp_v2), "after the swap: fingerprint %s, want %s", fp, fp_v2);
    free(during);
    int on_v1 = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(s[i].th, NULL);
        CHECK_MSG(s[i].status == 200 && s[i].done, "stream %d: status %d, [DONE] %d", i, s[i].status, s[i].done);
        CHECK_MSG(!strcmp(s[i].fp, fp_v1), "stream %d started before the swap ran on %s", i, s[i].fp);
        CHECK_MSG(!strcmp(s[i].text, text_v1), "stream %d: [%s], want v1's [%s]", i, s[i].text, text_v1);
        on_v1 += !strcmp(s[i].fp, fp_v1) && !strcmp(s[i].text, text_v1);
    }
    fprintf(stderr, "%s: %.3f s with 8 streams in flight; %d of 8 completed on v1\n", path, swap_s, on_v1);
    return swap_s;
}

TEST(swap_under_load) {
    text_v2 = greedy("tiny+ref2", NULL, NULL, 0);   /* v2, loaded at start under another name */
    CHECK_MSG(strcmp(text_v2, text_v1) != 0, "v1 and v2 give the same text [%s]", text_v1);
    char body[600];
    snprintf(body, sizeof body, "{\"name\":\"ad\",\"base\":\"tiny\",\"path\":\"%s\"}", v2);
    swap_with_streams("tiny+ad", "/admin/models/swap", body);
    /* v1 is freed once its last request ended */
    int left = 0;
    double t0;
    for (t0 = now_s(); (left = admin_count("ad", dg_v1, NULL)) >= 0 && now_s() - t0 < 10;) usleep(20000);
    CHECK_MSG(left < 0, "the old version is still loaded (%d in flight)", left);
    /* (a connection's references go when the server is done with it: shortly after the client is) */
    for (t0 = now_s(); (left = admin_count("ad", dg_v2, NULL)) != 0 && now_s() - t0 < 10;) usleep(20000);
    CHECK_MSG(left == 0, "v2 not live and idle (%d)", left);
}

TEST(rollback_byte_identical) {
    char body[600];
    snprintf(body, sizeof body, "{\"name\":\"ad\",\"base\":\"tiny\",\"path\":\"%s\"}", v1);
    int st;
    cJSON *j = admin("swap", body, &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
    char *back = greedy("tiny+ad", NULL, NULL, 0);
    CHECK_MSG(!strcmp(back, text_v1), "rolled back: [%s], want [%s]", back, text_v1);
    free(back);
}

TEST(base_digest_mismatch_409) {
    char body[800];
    snprintf(body, sizeof body,
             "{\"name\":\"ad2\",\"base\":\"tiny\",\"path\":\"%s\",\"base_digest\":\"sha256:%064d\"}", v2, 0);
    int st;
    cJSON *j = admin("load", body, &st);
    CHECK_EQ_INT(st, 409);
    const char *msg = json_path_str(j, "error.message");
    CHECK_MSG(msg && strstr(msg, "sha256:0000") && strstr(msg, dg_tiny), "message: %s", msg ? msg : "(none)");
    cJSON_Delete(j);
    /* with the right base digest it loads, and is listed */
    snprintf(body, sizeof body, "{\"name\":\"ad2\",\"base\":\"tiny\",\"path\":\"%s\",\"base_digest\":\"%s\"}", v2,
             dg_tiny);
    j = admin("load", body, &st);
    CHECK_EQ_INT(st, 201);
    cJSON_Delete(j);
    char *t = greedy("tiny+ad2", NULL, NULL, 0);
    CHECK_MSG(!strcmp(t, text_v2), "ad2 (= v2): [%s], want [%s]", t, text_v2);
    free(t);
    /* an adapter whose shapes are another model's: 400 naming it */
    snprintf(body, sizeof body, "{\"name\":\"lic\",\"path\":\"%s\"}", LIC);
    j = admin("load", body, &st);
    CHECK_EQ_INT(st, 201);
    cJSON_Delete(j);
    snprintf(body, sizeof body, "{\"name\":\"ad\",\"base\":\"lic\",\"path\":\"%s\"}", v1);
    j = admin("load", body, &st);
    CHECK_EQ_INT(st, 400);
    msg = json_path_str(j, "error.message");
    CHECK_MSG(msg && strstr(msg, "'ad'") && strstr(msg, "'lic'"), "message: %s", msg ? msg : "(none)");
    cJSON_Delete(j);
}

TEST(unload_while_in_use) {
    stream s[4];
    streams_start(s, 4, "tiny+ad", 40);
    int st;
    cJSON *j = admin("unload", "{\"name\":\"ad\",\"base\":\"tiny\"}", &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
    j = call(NULL, "POST", "/v1/completions", "{\"model\":\"tiny+ad\",\"prompt\":\"x\"}", &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);
    stream b[3];
    streams_start(b, 3, "tiny", 40);
    j = admin("unload", "{\"name\":\"tiny\"}", &st);   /* the base, with ad2 on it */
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
    j = call(NULL, "POST", "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\"}", &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);
    for (int i = 0; i < 4; i++) {
        pthread_join(s[i].th, NULL);
        CHECK_MSG(s[i].status == 200 && s[i].done, "adapter stream %d: status %d, [DONE] %d", i, s[i].status, s[i].done);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(b[i].th, NULL);
        CHECK_MSG(b[i].status == 200 && b[i].done, "base stream %d: status %d, [DONE] %d", i, b[i].status, b[i].done);
    }
    /* load it again: served, same text as before */
    char body[600];
    snprintf(body, sizeof body, "{\"name\":\"tiny\",\"path\":\"%s\"}", TINY);
    j = admin("load", body, &st);
    CHECK_EQ_INT(st, 201);
    cJSON_Delete(j);
    snprintf(body, sizeof body, "{\"name\":\"ad\",\"base\":\"tiny\",\"path\":\"%s\"}", v1);
    j = admin("load", body, &st);
    CHECK_EQ_INT(st, 201);
    cJSON_Delete(j);
    char *t = greedy("tiny+ad", NULL, NULL, 0), *u = greedy("tiny", NULL, NULL, 0);
    CHECK_MSG(!strcmp(t, text_v1) && !strcmp(u, text_base), "reloaded: [%s] [%s]", t, u);
    free(t), free(u);
}

TEST(bad_admin_calls) {
    static const struct { const char *op, *body; int status; const char *says; } cases[] = {
        {"load", "{\"name\":", 400, "JSON object"},
        {"load", "[1,2]", 400, "JSON object"},
        {"load", "{\"name\":5,\"path\":\"x\"}", 400, "'name'"},
        {"load", "{\"name\":\"a+b\",\"path\":\"" TINY "\"}", 400, "'+'"},
        {"load", "{\"name\":\"x\",\"path\":\"/nonexistent/model.gguf\"}", 400, "/nonexistent/model.gguf"},
        {"load", "{\"name\":\"x\",\"path\":\"" TINY "\",\"digest\":\"md5:00\"}", 400, "digest"},
        {"load", "{\"name\":\"tiny\",\"path\":\"" TINY "\"}", 409, "already loaded"},
        {"swap", "{\"name\":\"nope\",\"path\":\"" TINY "\"}", 404, "'nope'"},
        {"load", "{\"name\":\"a\",\"base\":\"nope\",\"path\":\"" TINY "\"}", 404, "'nope'"},
        {"unload", "{\"name\":\"nope\"}", 404, "'nope'"},
        {"load", "{\"name\":\"a\",\"base\":\"tiny\",\"path\":\"" TINY "\",\"scale\":-1}", 400, "scale"},
        {"frobnicate", "{}", 404, "frobnicate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st;
        cJSON *j = admin(cases[i].op, cases[i].body, &st);
        const char *msg = json_path_str(j, "error.message");
        CHECK_MSG(st == cases[i].status && msg && strstr(msg, cases[i].says), "%s %s: %d [%s]", cases[i].op,
                  cases[i].body, st, msg ? msg : "(none)");
        cJSON_Delete(j);
    }
    /* still serving */
    char *t = greedy("tiny+ad", NULL, NULL, 0);
    CHECK_MSG(!strcmp(t, text_v1), "after bad calls: [%s]", t);
    free(t);
}

/* ==== serve --registry: aliases ===================================================== */
static char store[256], v3[256], dg_lic[72];

/* the store's ad@production must point at tag want (read with a handle of our own) */
static void check_alias(const char *want, const char *when) {
    hearth_registry *r = NULL;
    hearth_registry_entry e;
    char tag[HEARTH_REGISTRY_MAX_TAG + 1] = "";
    if (hearth_registry_open(store, &r) == HEARTH_OK && hearth_registry_resolve(r, "ad@production", &e) == HEARTH_OK) {
        snprintf(tag, sizeof tag, "%s", e.tag);
        hearth_registry_entry_clear(&e);
    }
    hearth_registry_free(r);
    CHECK_MSG(!strcmp(tag, want), "%s: the store's ad@production points at '%s', want '%s'", when, tag, want);
}

static bool make_store(void) {
    hearth_registry *r = NULL;
    if (hearth_registry_open(store, &r) != HEARTH_OK) return false;
    hearth_registry_add_params mp = hearth_registry_default_add_params(), ap = mp, bad = mp;
    ap.kind = bad.kind = HEARTH_ARTIFACT_ADAPTER;
    ap.base_digest = dg_tiny;
    bad.base_digest = dg_lic;   /* an adapter made for another base */
    bool ok = hearth_registry_add(r, TINY, "tiny:1", &mp, NULL) == HEARTH_OK &&
              hearth_registry_add(r, v1, "ad:1", &ap, NULL) == HEARTH_OK &&
              hearth_registry_add(r, v2, "ad:2", &ap, NULL) == HEARTH_OK &&
              hearth_registry_add(r, v3, "ad:bad", &bad, NULL) == HEARTH_OK &&
              hearth_registry_alias_set(r, "tiny@production", "1", NULL) == HEARTH_OK &&
              hearth_registry_alias_set(r, "ad@production", "1", NULL) == HEARTH_OK;
    if (!ok) fprintf(stderr, "make_store: %s\n", hearth_last_error());
    hearth_registry_free(r);
    return ok;
}

TEST(registry_models_listed) {
    http_resp r;
    CHECK(http_do(port, "GET", "/v1/models", NULL, &r));
    cJSON *m = cJSON_Parse(r.body), *x;
    int seen = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(m, "data")) {
        const char *id = json_path_str(x, "id"), *dg = json_path_str(x, "digest"), *parent = json_path_str(x, "parent");
        if (id && !strcmp(id, "tiny@production")) {
            seen++;
            CHECK_MSG(dg && !strcmp(dg, dg_tiny) && !parent, "tiny@production: digest %s", dg ? dg : "-");
        }
        if (id && !strcmp(id, "tiny@production+ad@production")) {
            seen++;
            CHECK_MSG(dg && !strcmp(dg, dg_v1) && parent && !strcmp(parent, "tiny@production"),
                      "ad@production: digest %s parent %s", dg ? dg : "-", parent ? parent : "-");
        }
    }
    CHECK_MSG(seen == 2, "/v1/models: %s", r.body);
    cJSON_Delete(m);
    http_resp_free(&r);
    /* named alone, as base:adapter, or with the lora field: v1 */
    char *a = greedy("ad@production", NULL, NULL, 0), *b = greedy("tiny@production:ad@production", NULL, NULL, 0),
         *c = greedy("tiny@production", "ad@production", NULL, 0);
    CHECK_MSG(!strcmp(a, text_v1) && !strcmp(b, text_v1) && !strcmp(c, text_v1), "[%s] [%s] [%s], want [%s]", a, b, c,
              text_v1);
    free(a), free(b), free(c);
}

TEST(alias_swap_under_load) {
    double t = swap_with_streams("ad@production", "/admin/aliases", "{\"alias\":\"ad@production\",\"tag\":\"2\"}");
    check_alias("2", "after the move");
    printf("alias swap under load: %.3f s, 8 of 8 streams completed\n", t);
}

TEST(alias_rollback_byte_identical) {
    int st;
    double t0 = now_s();
    cJSON *j = call(AUTH, "POST", "/admin/aliases", "{\"alias\":\"ad@production\",\"rollback\":true}", &st);
    double t = now_s() - t0;
    CHECK_EQ_INT(st, 200);
    const char *tag = json_path_str(j, "tag");
    CHECK_MSG(tag && !strcmp(tag, "1"), "rolled back to %s", tag ? tag : "-");
    cJSON_Delete(j);
    char *back = greedy("ad@production", NULL, NULL, 0);
    CHECK_MSG(!strcmp(back, text_v1), "rolled back: [%s], want [%s]", back, text_v1);
    free(back);
    check_alias("1", "after the rollback");
    printf("rollback: %.3f s\n", t);
}

TEST(alias_base_mismatch_409) {
    int st;
    cJSON *j = call(AUTH, "POST", "/admin/aliases", "{\"alias\":\"ad@production\",\"tag\":\"bad\"}", &st);
    CHECK_EQ_INT(st, 409);
    const char *msg = json_path_str(j, "error.message");
    CHECK_MSG(msg && strstr(msg, dg_lic) && strstr(msg, dg_tiny) && strstr(msg, "unchanged"), "message: %s",
              msg ? msg : "(none)");
    cJSON_Delete(j);
    check_alias("1", "after a refused move");
    char *t = greedy("ad@production", NULL, NULL, 0);
    CHECK_MSG(!strcmp(t, text_v1), "after the refused move: [%s]", t);
    free(t);
    /* loading it by reference: its lineage names a base that is not loaded */
    j = call(AUTH, "POST", "/admin/models/load", "{\"ref\":\"ad:bad\"}", &st);
    CHECK_EQ_INT(st, 409);
    msg = json_path_str(j, "error.message");
    CHECK_MSG(msg && strstr(msg, dg_lic) && strstr(msg, "not loaded"), "message: %s", msg ? msg : "(none)");
    cJSON_Delete(j);
    /* a version by reference, its base found by its lineage */
    j = call(AUTH, "POST", "/admin/models/load", "{\"ref\":\"ad:2\",\"name\":\"ad-two\"}", &st);
    CHECK_EQ_INT(st, 201);
    cJSON_Delete(j);
    t = greedy("ad-two", NULL, NULL, 0);
    CHECK_MSG(!strcmp(t, text_v2), "ad:2 by reference: [%s], want [%s]", t, text_v2);
    free(t);
    /* bad references and alias calls */
    j = call(AUTH, "POST", "/admin/models/load", "{\"ref\":\"../../etc/passwd:1\"}", &st);
    CHECK_MSG(st == 400 && json_path_str(j, "error.message"), "traversal in a ref: %d", st);
    cJSON_Delete(j);
    j = call(AUTH, "POST", "/admin/aliases", "{\"alias\":\"ad:1\",\"tag\":\"2\"}", &st);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(j);
    j = call(AUTH, "POST", "/admin/aliases", "{\"alias\":\"ad@production\",\"tag\":\"nope\"}", &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);
}

/* ==== through the gateway: admin keys only ============================================ */
static char k_admin[HEARTH_KEY_MAX], k_user[HEARTH_KEY_MAX];

TEST(gateway_admin_keys_only) {
    char h_user[300], h_admin[300];
    snprintf(h_user, sizeof h_user, "Authorization: Bearer %s\r\n", k_user);
    snprintf(h_admin, sizeof h_admin, "Authorization: Bearer %s\r\n", k_admin);
    int st;
    cJSON *j = call(NULL, "GET", "/admin/models", NULL, &st);
    CHECK_EQ_INT(st, 401);
    cJSON_Delete(j);
    char body[600];
    snprintf(body, sizeof body, "{\"name\":\"ad\",\"base\":\"tiny\",\"path\":\"%s\"}", v2);
    j = call(h_user, "POST", "/admin/models/swap", body, &st);
    CHECK_EQ_INT(st, 403);
    cJSON_Delete(j);
    /* (the server's own token is not a gateway key) */
    j = call(AUTH, "POST", "/admin/models/swap", body, &st);
    CHECK_EQ_INT(st, 401);
    cJSON_Delete(j);
    j = call(h_admin, "GET", "/admin/models", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_MSG(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")) == 2, "GET /admin/models through the gateway");
    cJSON_Delete(j);
    j = call(h_admin, "POST", "/admin/models/swap", body, &st);
    CHECK_EQ_INT(st, 200);
    const char *now = json_path_str(j, "loaded.digest");
    CHECK_MSG(now && !strcmp(now, dg_v2), "swapped to %s", now ? now : "-");
    cJSON_Delete(j);
    /* a user's request through the gateway now gets v2 */
    char req[400];
    snprintf(req, sizeof req,
             "{\"model\":\"tiny+ad\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":16,"
             "\"temperature\":0}",
             PROMPT);
    j = call(h_user, "POST", "/v1/chat/completions", req, &st);
    CHECK_EQ_INT(st, 200);
    const char *t = json_path_str(j, "choices.0.message.content");
    CHECK_MSG(t && !strcmp(t, text_v2), "through the gateway after the swap: [%s], want [%s]", t ? t : "-", text_v2);
    cJSON_Delete(j);
}

/* ==== the servers ================================================================= */
/* starts `hearth serve ARGS` (its port: the number after marker), runs the
 * tests against it, then SIGTERM: it must exit 0 (a sanitizer's report would
 * make it fail) */
static void with_server(const char *what, const char *const *args, const char *marker, void (*tests)(void)) {
    pid_t pid;
    port = start_server_marked(HEARTH_BIN, args, &pid, marker);
    if (port <= 0) {
        CHECK_MSG(0, "%s did not start", what);
        return;
    }
    tests();
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: exit status %d", what, status);
}

static void path_tests(void) {
    RUN(admin_needs_token_and_lists_digests);
    RUN(names_and_lora_field);
    RUN(swap_under_load);
    RUN(rollback_byte_identical);
    RUN(base_digest_mismatch_409);
    RUN(unload_while_in_use);
    RUN(bad_admin_calls);
}

static void registry_tests(void) {
    RUN(registry_models_listed);
    RUN(alias_swap_under_load);
    RUN(alias_rollback_byte_identical);
    RUN(alias_base_mismatch_409);
}

static void gateway_tests(void) { RUN(gateway_admin_keys_only); }

/* the gateway's config and keys in dir: a user key and an admin key */
static bool make_gateway(const char *dir, const char *cfg) {
    char keys[300];
    snprintf(keys, sizeof keys, "%s/keys.db", dir);
    FILE *g = mkdir(dir, 0700) == 0 ? fopen(cfg, "w") : NULL;
    if (!g) return false;
    fputs("keys_db: keys.db\naudit: {db: audit.db, sync: normal}\n", g);
    fclose(g);
    hearth_keystore *ks = NULL;
    hearth_key_params kp = hearth_key_default_params(), ka = kp;
    kp.name = "user", ka.name = "ops", ka.role = HEARTH_ROLE_ADMIN;
    bool ok = hearth_keystore_open(keys, &ks) == HEARTH_OK && hearth_keys_create(ks, &kp, k_user, NULL) == HEARTH_OK &&
              hearth_keys_create(ks, &ka, k_admin, NULL) == HEARTH_OK;
    if (!ok) fprintf(stderr, "make_gateway: %s\n", hearth_last_error());
    hearth_keystore_free(ks);
    return ok;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    int pid0 = (int)getpid();
    char gwdir[256], cfg[300], lora[300], lora2[300], cmd[800];
    snprintf(v1, sizeof v1, "/tmp/hearth-test-swap-v1-%d.gguf", pid0);
    snprintf(v2, sizeof v2, "/tmp/hearth-test-swap-v2-%d.gguf", pid0);
    snprintf(v3, sizeof v3, "/tmp/hearth-test-swap-v3-%d.gguf", pid0);
    snprintf(tokfile, sizeof tokfile, "/tmp/hearth-test-swap-token-%d", pid0);
    snprintf(store, sizeof store, "/tmp/hearth-test-swap-store-%d", pid0);
    snprintf(gwdir, sizeof gwdir, "/tmp/hearth-test-swap-gw-%d", pid0);
    snprintf(cfg, sizeof cfg, "%s/gw.yaml", gwdir);
    snprintf(lora, sizeof lora, "ad=%s", v1);
    snprintf(lora2, sizeof lora2, "ref2=%s", v2);
    FILE *f = fopen(tokfile, "w");
    if (!f || !make_adapter(TINY, v1, 0x9E3779B97F4A7C15ull) || !make_adapter(TINY, v2, 0x2545F4914F6CDD1Dull) ||
        !make_adapter(TINY, v3, 0x106689D45497FDB5ull))
        return 1;
    fputs(TOKEN "\n", f);
    fclose(f);
    sha256sum(v1, dg_v1), sha256sum(v2, dg_v2), sha256sum(TINY, dg_tiny), sha256sum(LIC, dg_lic);

    /* models and adapters by path */
    const char *args[] = {"--model", "tiny=" TINY, "--lora", lora, "--lora", lora2, "--admin-token-file", tokfile,
                          "-t", "1", "--parallel", "4", "--ctx-per-seq", "256", NULL};
    with_server("hearth serve", args, "listening on http://", path_tests);
    /* serve --registry: the aliases of a store */
    const char *rargs[] = {"--registry", store, "--admin-token-file", tokfile, "-t", "1", "--parallel", "4",
                           "--ctx-per-seq", "256", NULL};
    if (make_store()) with_server("hearth serve --registry", rargs, "listening on http://", registry_tests);
    else CHECK_MSG(0, "the store was not made");
    /* the admin API through the gateway (serve --gateway-config: the gateway in this process) */
    const char *gargs[] = {"--model", "tiny=" TINY, "--lora", lora, "--admin-token-file", tokfile, "-t", "1",
                           "--parallel", "2", "--ctx-per-seq", "256", "--gateway-config", cfg, NULL};
    if (make_gateway(gwdir, cfg)) with_server("hearth serve --gateway-config", gargs, "gateway listening on port ", gateway_tests);
    else CHECK_MSG(0, "the gateway's keys were not made");

    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", store, gwdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s, %s\n", store, gwdir);
    free(text_v1), free(text_v2), free(text_base);
    unlink(v1), unlink(v2), unlink(v3), unlink(tokfile);
    return harness_done();
}
