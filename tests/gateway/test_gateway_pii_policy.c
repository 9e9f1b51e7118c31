/*
 * test_gateway_pii_policy.c — the PII policy beyond placeholders: the
 * response policy (redact / block) applied to model output in plain answers
 * and in streams where the value is split across chunks (the fake replica
 * echoes the prompt in 3-byte pieces), and custom PII kinds from the config
 * (PCRE2 patterns, keyword lists, per key), including config errors that name
 * the line and PCRE2's message; the audit record's pii_kinds naming what was
 * found in the request and in the answer.
 */
#include "gw_fixture.h"

#include "hearth/gateway.h"

static char dir[256], cfg[300], keys_db[300];
static int gw_port, rep_port;
static pid_t gw_pid, rep_pid;
static char k_redact[HEARTH_KEY_MAX], k_block[HEARTH_KEY_MAX], k_custom[HEARTH_KEY_MAX], k_plain[HEARTH_KEY_MAX];

static void make_key(hearth_keystore *ks, const char *name, char *out) {
    hearth_key_params p = hearth_key_default_params();
    p.name = name;
    CHECK(hearth_keys_create(ks, &p, out, NULL) == HEARTH_OK);
}

static http_resp chat(const char *key, const char *text, bool stream) {
    char *b = chat_body("m1", text, stream);
    http_resp r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    return r;
}

static char *replica_saw(void) {
    http_resp r = http(rep_port, "GET", "/last", NULL, false, NULL);
    return r.body;
}

#define EMAIL "reach.me.please@example-mail.com"

TEST(response_redact_plain_and_streamed) {
    /* the replica echoes the prompt: the model "produces" the e-mail address */
    http_resp r = chat(k_redact, "my address is " EMAIL " ok", false);
    CHECK_EQ_INT(r.status, 200);
    char *t = answer_text(&r);
    CHECK_MSG(t && !strstr(t, EMAIL) && strstr(t, "[EMAIL]"), "%s", t ? t : "");
    free(t);
    free(r.body);
    /* streamed in 3-byte pieces: no piece of the address may leave */
    r = chat(k_redact, "my address is " EMAIL " ok and a long tail so that text is released", true);
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(!strstr(r.body, "@example-mail"), "%s", r.body);
    CHECK(strstr(r.body, "[DONE]"));
    t = answer_text(&r);
    CHECK_STR(t, "You said: my address is [EMAIL] ok and a long tail so that text is released");
    free(t);
    free(r.body);
}

TEST(response_block_streamed) {
    http_resp r = chat(k_block, "hello, write to " EMAIL " now, then some more words to stream", true);
    CHECK_EQ_INT(r.status, 200);
    /* an error event naming the kind, no [DONE], nothing of the address */
    CHECK_MSG(strstr(r.body, "pii_blocked_response") && strstr(r.body, "(email)"), "%s", r.body);
    CHECK(!strstr(r.body, "[DONE]"));
    CHECK_MSG(!strstr(r.body, "reach.me") && !strstr(r.body, "example-mail"), "%s", r.body);
    char *t = answer_text(&r);
    CHECK_MSG(!strstr(t, "@"), "%s", t);
    free(t);
    free(r.body);
    /* without personal data the same key streams normally */
    r = chat(k_block, "nothing personal here", true);
    CHECK(strstr(r.body, "[DONE]"));
    t = answer_text(&r);
    CHECK_STR(t, "You said: nothing personal here");
    free(t);
    free(r.body);
    /* plain answers under block are withheld with the kinds named */
    r = chat(k_block, "call +8613800138000", false);
    CHECK_EQ_INT(r.status, 502);
    CHECK_MSG(strstr(r.body, "phone") && !strstr(r.body, "13800138000"), "%s", r.body);
    free(r.body);
}

TEST(custom_patterns_and_keywords) {
    /* default policy: pattern employee_id masked before the replica sees it */
    http_resp r = chat(k_plain, "badge EMP-123456 please", false);
    CHECK_EQ_INT(r.status, 200);
    char *seen = replica_saw();
    CHECK_MSG(seen && !strstr(seen, "EMP-123456") && strstr(seen, "[EMPLOYEE_ID_1]"), "%s", seen ? seen : "");
    free(seen);
    char *t = answer_text(&r);
    CHECK_STR(t, "You said: badge EMP-123456 please");   /* restored for the client */
    free(t);
    free(r.body);
    /* the default's keyword list, whole words, case-insensitive */
    r = chat(k_plain, "about project falcon today", false);
    seen = replica_saw();
    CHECK_MSG(seen && !strstr(seen, "falcon") && strstr(seen, "[PROJECT_1]"), "%s", seen ? seen : "");
    free(seen);
    free(r.body);
    r = chat(k_plain, "falconry is not a keyword", false);
    seen = replica_saw();
    CHECK_MSG(seen && strstr(seen, "falconry"), "%s", seen ? seen : "");
    free(seen);
    free(r.body);
    /* a key's own pattern, under block: 400 naming the kind */
    r = chat(k_custom, "ticket TK#99812 is open", false);
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "ticket") && !strstr(r.body, "99812"), "%s", r.body);
    free(r.body);
    /* ... and it inherits the default's kinds */
    r = chat(k_custom, "badge EMP-654321", false);
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "employee_id"), "%s", r.body);
    free(r.body);
    /* the default policy does not know the key's kind */
    r = chat(k_plain, "ticket TK#99812 is open", false);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
}

static http_resp chat_model(const char *key, const char *model, const char *text, bool stream) {
    char *b = chat_body(model, text, stream);
    http_resp r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    return r;
}

/* the pii_kinds of the newest audit record (`hearth audit export`), malloc'd */
static char *last_audit_kinds(void) {
    char cmd[700], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s audit export --since 2000-01-01 --db %s/audit.db", HEARTH_BIN, dir);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    char *kinds = NULL;
    for (const char *p = out; p && (p = strstr(p, "\"pii_kinds\":\"")); p++) {
        p += strlen("\"pii_kinds\":\"");
        free(kinds);
        kinds = strndup(p, strcspn(p, "\""));
    }
    free(out);
    return kinds ? kinds : strdup("(no record)");
}

TEST(audit_kinds_of_request_and_answer) {
    /* plain answer: the prompt's phone number (masked) and the e-mail address
     * the model added (allowed through, but recorded) */
    http_resp r = chat_model(k_plain, "leaky", "call me on +8613800138000", false);
    CHECK_EQ_INT(r.status, 200);
    char *t = answer_text(&r);
    CHECK_MSG(t && strstr(t, FAKE_LEAKED_EMAIL) && strstr(t, "+8613800138000"), "%s", t ? t : "");
    free(t);
    free(r.body);
    char *k = last_audit_kinds();
    CHECK_STR(k, "request: phone; response: email");
    free(k);
    /* streamed, nothing personal in the prompt: only the answer's kind */
    r = chat_model(k_plain, "leaky", "nothing personal here", true);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.body, "[DONE]"));
    free(r.body);
    k = last_audit_kinds();
    CHECK_STR(k, "response: email");
    free(k);
    /* under response redact, streamed: the address never leaves, the record names it */
    r = chat_model(k_redact, "leaky", "no secrets in this prompt", true);
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(!strstr(r.body, "replica-leak"), "%s", r.body);
    free(r.body);
    k = last_audit_kinds();
    CHECK_STR(k, "response: email");
    free(k);
    /* a request without personal data in either direction records none */
    r = chat_model(k_plain, "m1", "nothing personal here", false);
    free(r.body);
    k = last_audit_kinds();
    CHECK_STR(k, "");
    free(k);
    /* and the log still verifies */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "%s audit verify --db %s/audit.db", HEARTH_BIN, dir);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
}

/* ---- files and vector stores (pii_store.c) ---- */
static http_resp search(const char *key, const char *query) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "query", query);
    char *b = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    http_resp r = http(gw_port, "POST", "/v1/vector_stores/vs_1/search", key, false, b);
    free(b);
    return r;
}

/* a multipart upload of one file (as the openai client sends it) */
static http_resp upload(const char *key, const char *name, const char *data, size_t len) {
    http_resp r = {0};
    r.body = calloc(1, 1);
    CURL *h = curl_easy_init();
    char url[128], auth[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/files", gw_port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    curl_mime *mime = curl_mime_init(h);
    curl_mimepart *p = curl_mime_addpart(mime);
    curl_mime_name(p, "purpose");
    curl_mime_data(p, "assistants", CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(mime);
    curl_mime_name(p, "file");
    curl_mime_filename(p, name);
    curl_mime_data(p, data, len);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    r.status = (int)code;
    curl_mime_free(mime);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return r;
}

/* a one-page PDF whose text is line */
static char *tiny_pdf(const char *line, size_t *len) {
    char content[512], *out = malloc(4096);
    int cl = snprintf(content, sizeof content, "BT /F1 12 Tf 72 720 Td (%s) Tj ET", line);
    const char *objs[5];
    char o4[700];
    objs[0] = "<< /Type /Catalog /Pages 2 0 R >>";
    objs[1] = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
    objs[2] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>";
    snprintf(o4, sizeof o4, "<< /Length %d >>\nstream\n%s\nendstream", cl, content);
    objs[3] = o4;
    objs[4] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    size_t n = (size_t)sprintf(out, "%%PDF-1.4\n"), off[5];
    for (int i = 0; i < 5; i++) {
        off[i] = n;
        n += (size_t)sprintf(out + n, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
    }
    size_t xref = n;
    n += (size_t)sprintf(out + n, "xref\n0 6\n0000000000 65535 f \n");
    for (int i = 0; i < 5; i++) n += (size_t)sprintf(out + n, "%010zu 00000 n \n", off[i]);
    n += (size_t)sprintf(out + n, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
    *len = n;
    return out;
}

TEST(vector_store_search_queries_and_results) {
    /* mask (the default): the replica never sees the address; the client gets it back in the results */
    http_resp r = search(k_plain, "orders of " EMAIL);
    CHECK_EQ_INT(r.status, 200);
    char *saw = replica_saw();
    CHECK_MSG(saw && !strstr(saw, EMAIL) && strstr(saw, "orders of"), "the replica saw %s", saw ? saw : "");
    free(saw);
    CHECK_MSG(strstr(r.body, "About orders of " EMAIL) && strstr(r.body, FAKE_LEAKED_EMAIL), "%s", r.body);
    free(r.body);
    char *k = last_audit_kinds();
    CHECK_STR(k, "request: email; response: email");
    free(k);
    /* request block (custom key): refused, nothing forwarded */
    r = search(k_custom, "status of TK#4711");
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "pii_blocked") && strstr(r.body, "ticket"), "%s", r.body);
    free(r.body);
    saw = replica_saw();
    CHECK_MSG(saw && !strstr(saw, "TK#4711"), "the replica saw %s", saw ? saw : "");
    free(saw);
    /* response redact: the documents' own addresses do not leave */
    r = search(k_redact, "opening hours");
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(strstr(r.body, "About opening hours") && !strstr(r.body, FAKE_LEAKED_EMAIL), "%s", r.body);
    free(r.body);
    /* response block: withheld */
    r = search(k_block, "opening hours");
    CHECK_EQ_INT(r.status, 502);
    CHECK_MSG(strstr(r.body, "pii_blocked_response") && strstr(r.body, "email"), "%s", r.body);
    free(r.body);
}

TEST(uploads) {
    /* a text file under mask: the stored text has no address, the rest is kept */
    const char *txt = "Minutes of the kiln meeting.\nQuestions to " EMAIL " please.\n";
    http_resp r = upload(k_plain, "minutes.txt", txt, strlen(txt));
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    char *saw = replica_saw();
    CHECK_MSG(saw && !strstr(saw, EMAIL) && strstr(saw, "Minutes of the kiln meeting.") &&
                  strstr(saw, "filename=\"minutes.txt\"") && strstr(saw, " please."),
              "the replica saw %s", saw ? saw : "");
    free(saw);
    /* the same file under block: refused, named */
    const char *tk = "Escalate TK#99 today\n";
    r = upload(k_custom, "ticket.md", tk, strlen(tk));
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "ticket.md") && strstr(r.body, "ticket"), "%s", r.body);
    free(r.body);
    /* a PDF: read and scanned; with an address it cannot be masked, so it is refused */
    size_t n = 0;
    char *pdf = tiny_pdf("Contact " EMAIL " for the kiln", &n);
    r = upload(k_plain, "contact.pdf", pdf, n);
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "contact.pdf") && strstr(r.body, "email") && strstr(r.body, "PDF"), "%s", r.body);
    free(r.body);
    free(pdf);
    pdf = tiny_pdf("The kiln runs at 1200 degrees", &n);
    r = upload(k_plain, "kiln.pdf", pdf, n);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    free(pdf);
    /* a corrupt PDF under a policy that must read it: refused, saying why */
    r = upload(k_plain, "broken.pdf", "%PDF-1.4 garbage", 16);
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "pii_unreadable") && strstr(r.body, "broken.pdf"), "%s", r.body);
    free(r.body);
    /* request allow (redacter): passed as it is */
    r = upload(k_redact, "minutes.txt", txt, strlen(txt));
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    saw = replica_saw();
    CHECK_MSG(saw && strstr(saw, EMAIL), "allow must not change the upload: %s", saw ? saw : "");
    free(saw);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

TEST(config_errors_name_the_line) {
    char p[320];
    snprintf(p, sizeof p, "%s/bad.yaml", dir);
    hearth_gateway_config *c = NULL;
    write_file(p, "keys_db: k.db\naudit: {db: a.db}\nupstream: {replicas: [http://127.0.0.1:1]}\n"
                  "pii:\n  patterns:\n    ok_kind: 'A[0-9]+'\n    broken: 'EMP-([0-9]{6}'\n");
    CHECK(hearth_gateway_config_load(p, &c) == HEARTH_ERR_FORMAT);
    const char *e = hearth_last_error();
    CHECK_MSG(strstr(e, "bad.yaml:7:") && strstr(e, "broken") && strstr(e, "missing closing parenthesis"), "%s", e);
    write_file(p, "keys_db: k.db\naudit: {db: a.db}\nupstream: {replicas: [http://127.0.0.1:1]}\n"
                  "pii:\n  keywords:\n    email: [x]\n");
    CHECK(hearth_gateway_config_load(p, &c) == HEARTH_ERR_FORMAT);
    e = hearth_last_error();
    CHECK_MSG(strstr(e, "bad.yaml:6:") && strstr(e, "email"), "%s", e);
    write_file(p, "keys_db: k.db\naudit: {db: a.db}\nupstream: {replicas: [http://127.0.0.1:1]}\n"
                  "pii:\n  keywords:\n    things: {words: [a], colour: red}\n");
    CHECK(hearth_gateway_config_load(p, &c) == HEARTH_ERR_FORMAT);
    e = hearth_last_error();
    CHECK_MSG(strstr(e, "bad.yaml:6:") && strstr(e, "colour"), "%s", e);
    /* a keyword file is read by the library's one keyword-file parser: a
     * missing file names the config line and the file */
    write_file(p, "keys_db: k.db\naudit: {db: a.db}\nupstream: {replicas: [http://127.0.0.1:1]}\n"
                  "pii:\n  keywords:\n    things: {file: no-such-words.txt}\n");
    CHECK(hearth_gateway_config_load(p, &c) == HEARTH_ERR_FORMAT);
    e = hearth_last_error();
    CHECK_MSG(strstr(e, "bad.yaml:6:") && strstr(e, "no-such-words.txt"), "%s", e);
    /* the command reports it too */
    char cmd[700], *out = NULL;
    write_file(p, "keys_db: k.db\naudit: {db: a.db}\nupstream: {replicas: [http://127.0.0.1:1]}\n"
                  "pii:\n  keys:\n    bob:\n      patterns: {x1: '[z-a]'}\n");
    snprintf(cmd, sizeof cmd, "%s gateway --config %s --port 0 2>&1", HEARTH_BIN, p);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK_MSG(out && strstr(out, "bad.yaml:7:") && strstr(out, "x1"), "%s", out ? out : "");
    free(out);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof dir, "/tmp/hearth-gw-pii-%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    rep_pid = fake_start(0, &rep_port);
    CHECK(rep_port > 0);
    snprintf(keys_db, sizeof keys_db, "%s/keys.db", dir);
    snprintf(cfg, sizeof cfg, "%s/gateway.yaml", dir);
    hearth_keystore *ks;
    CHECK(hearth_keystore_open(keys_db, &ks) == HEARTH_OK);
    make_key(ks, "redacter", k_redact);
    make_key(ks, "blocker", k_block);
    make_key(ks, "custom", k_custom);
    make_key(ks, "plain", k_plain);
    hearth_keystore_free(ks);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "listen: {host: 127.0.0.1, port: 0}\n"
            "keys_db: keys.db\n"
            "audit: {db: audit.db, sync: normal}\n"
            "upstream:\n  replicas: [http://127.0.0.1:%d]\n  health_interval_s: 0.5\n"
            "pii:\n  request: mask\n  response: allow\n"
            "  patterns:\n    employee_id: 'EMP-[0-9]{6}'\n"
            "  keywords:\n    project: [Falcon, Osprey]\n"
            "  keys:\n"
            "    redacter: {request: allow, response: redact}\n"
            "    blocker: {request: allow, response: block}\n"
            "    custom:\n      request: block\n      patterns: {ticket: 'TK#[0-9]+'}\n",
            rep_port);
    fclose(f);
    gw_pid = gateway_start(cfg, &gw_port);
    CHECK_MSG(gw_port > 0, "the gateway did not start");
    if (gw_port > 0) {
        RUN(response_redact_plain_and_streamed);
        RUN(response_block_streamed);
        RUN(custom_patterns_and_keywords);
        RUN(audit_kinds_of_request_and_answer);
        RUN(vector_store_search_queries_and_results);
        RUN(uploads);
    }
    RUN(config_errors_name_the_line);
    stop(gw_pid, SIGTERM);
    stop(rep_pid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (harness_failures == 0 && system(cmd) != 0) return 1;
    return harness_done();
}
