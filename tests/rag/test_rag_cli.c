/*
 * test_rag_cli.c — `hearth rag` as a user runs it: ingest a folder, search
 * with --json in the documented shape ({"results": [{"source", "chunk",
 * "score", "text", "page"?}]}), ask with --json ({"answer", "sources"}),
 * list, delete, snapshot / restore, and errors (unknown collection,
 * malformed filter, bad files named while the rest is ingested).
 *
 * And the crash test: `hearth rag ingest` is killed with SIGKILL in the
 * middle of a folder; after it, every document it had reported is there
 * with all its chunks, no document is half-written, and a second run
 * finishes the folder without duplicating anything.
 */
#include "harness.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA HEARTH_TEST_DATA "/rag/"

static char dir[256];

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Runs `hearth ARGS` in dir; stdout in out (stderr in err when not NULL); returns the exit status. */
static int run(const char *args, char *out, size_t cap, char *err, size_t ecap) {
    char cmd[4096], ef[300];
    snprintf(ef, sizeof ef, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>'%s'", dir, HEARTH_BIN, args, ef);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    if (err) {
        FILE *f = fopen(ef, "rb");
        size_t m = f ? fread(err, 1, ecap - 1, f) : 0;
        err[m] = 0;
        if (f) fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(ingest_search_ask) {
    static char out[1 << 16], err[1 << 14];
    char cmd[512];
    mkdir("docs", 0755);
    write_file("docs/ducks.txt", "The mallard is the most common duck.\n\nDucklings leave the nest within a day.");
    write_file("docs/bread.md", "# Bread\n\n## Proofing\n\nLet the dough rise for two hours.\n");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' '%s' docs/", DATA "manual.pdf", DATA "encrypted.pdf", DATA "kiln.docx");
    CHECK_EQ_INT(system(cmd), 0);
    /* one bad file: named on stderr, exit status 1, the rest ingested */
    CHECK_EQ_INT(run("rag ingest --db db --collection kb docs --json", out, sizeof out, err, sizeof err), 1);
    CHECK(strstr(err, "encrypted.pdf") && strstr(err, "encrypted"));
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "added") ? cJSON_GetObjectItem(j, "added")->valueint : -1, 4);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "failed") ? cJSON_GetObjectItem(j, "failed")->valueint : -1, 1);
    cJSON_Delete(j);

    /* search --json: the documented shape; the PDF's page */
    CHECK_EQ_INT(run("rag search --db db --collection kb -k 3 --json \"sweep the chimney flue\"", out, sizeof out,
                     err, sizeof err),
                 0);
    j = cJSON_Parse(out);
    cJSON *res = j ? cJSON_GetObjectItem(j, "results") : NULL;
    CHECK(cJSON_IsArray(res) && cJSON_GetArraySize(res) >= 1);
    cJSON *h = cJSON_GetArrayItem(res, 0);
    CHECK(h && cJSON_IsString(cJSON_GetObjectItem(h, "source")) &&
          strstr(cJSON_GetObjectItem(h, "source")->valuestring, "manual.pdf"));
    CHECK(h && cJSON_IsNumber(cJSON_GetObjectItem(h, "chunk")) && cJSON_IsNumber(cJSON_GetObjectItem(h, "score")));
    CHECK(h && cJSON_IsString(cJSON_GetObjectItem(h, "text")) &&
          strstr(cJSON_GetObjectItem(h, "text")->valuestring, "chimney flue"));
    CHECK(h && cJSON_IsNumber(cJSON_GetObjectItem(h, "page")) && cJSON_GetObjectItem(h, "page")->valueint == 2);
    cJSON_Delete(j);

    /* ask --json: an answer and its numbered sources */
    snprintf(cmd, sizeof cmd,
             "rag ask --db db --collection kb -m '%s' -n 8 -t 2 --json \"How long should the dough rise?\"",
             HEARTH_TEST_DATA "/models/tiny-qwen2-gpt2-f16.gguf");
    CHECK_EQ_INT(run(cmd, out, sizeof out, err, sizeof err), 0);
    j = cJSON_Parse(out);
    CHECK(j && cJSON_IsString(cJSON_GetObjectItem(j, "answer")));
    cJSON *src = j ? cJSON_GetObjectItem(j, "sources") : NULL;
    CHECK(cJSON_IsArray(src) && cJSON_GetArraySize(src) >= 1);
    h = cJSON_GetArrayItem(src, 0);
    CHECK(h && strstr(cJSON_GetObjectItem(h, "source")->valuestring, "bread.md") &&
          cJSON_IsNumber(cJSON_GetObjectItem(h, "chunk")) && cJSON_IsNumber(cJSON_GetObjectItem(h, "score")));
    cJSON_Delete(j);

    /* list, snapshot, delete, restore */
    CHECK_EQ_INT(run("rag list --db db --json", out, sizeof out, NULL, 0), 0);
    CHECK(strstr(out, "\"name\":\"kb\"") && strstr(out, "\"documents\":4"));
    CHECK_EQ_INT(run("rag snapshot --db db --collection kb kb.snap", out, sizeof out, NULL, 0), 0);
    CHECK_EQ_INT(run("rag delete --db db --collection kb docs/ducks.txt", out, sizeof out, NULL, 0), 0);
    CHECK_EQ_INT(run("rag search --db db --collection kb --json mallard", out, sizeof out, NULL, 0), 0);
    CHECK(strstr(out, "ducks.txt") == NULL);
    CHECK_EQ_INT(run("rag delete --db db --collection kb", out, sizeof out, NULL, 0), 0);
    CHECK_EQ_INT(run("rag search --db db --collection kb mallard", out, sizeof out, err, sizeof err), 1);
    CHECK(strstr(err, "unknown collection 'kb'") != NULL);
    CHECK_EQ_INT(run("rag restore --db db --collection kb kb.snap", out, sizeof out, NULL, 0), 0);
    CHECK_EQ_INT(run("rag search --db db --collection kb --json mallard", out, sizeof out, NULL, 0), 0);
    CHECK(strstr(out, "ducks.txt") != NULL);

    /* errors */
    CHECK_EQ_INT(run("rag search --db db --collection kb --filter '{\"type\":\"eq\"}' bread", out, sizeof out, err,
                     sizeof err),
                 1);
    CHECK(strstr(err, "filter") && strstr(err, "key"));
    CHECK_EQ_INT(run("rag search --db db --collection kb --mode fuzzy bread", out, sizeof out, err, sizeof err), 2);
    CHECK_EQ_INT(run("rag search --collection kb bread", out, sizeof out, err, sizeof err), 2);
    CHECK(strstr(err, "--db") != NULL);
}

/* ==== kill -9 in the middle of an ingestion ================================================ */
#define N_FILES 240

/* "added /abs/path (N chunks) [i/n]" -> path, N; -1 for other lines */
static int64_t parse_ack(const char *line, char *path, size_t cap) {
    if (strncmp(line, "added ", 6)) return -1;
    const char *p = line + 6, *q = strstr(p, " (");
    if (!q || (size_t)(q - p) >= cap) return -1;
    snprintf(path, cap, "%.*s", (int)(q - p), p);
    return strtoll(q + 2, NULL, 10);
}

/* chunks stored for source (-1: no document), and whether its count matches its row */
static int64_t stored(sqlite3 *db, const char *source, bool *whole) {
    sqlite3_stmt *st;
    int64_t n = -1;
    *whole = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.n_chunks, (SELECT count(*) FROM chunks c WHERE c.doc = d.id) FROM docs d "
                           "WHERE d.source = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -2;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 1);
        *whole = n == sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

static int64_t scalar(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -2;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* every document whole, the FTS index consistent, no chunk twice */
static void check_consistent(sqlite3 *db) {
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM docs d WHERE d.n_chunks != "
                            "(SELECT count(*) FROM chunks c WHERE c.doc = d.id)"),
                 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM chunks WHERE doc NOT IN (SELECT id FROM docs)"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM (SELECT doc, idx FROM chunks GROUP BY doc, idx HAVING count(*) > 1)"),
                 0);
    CHECK_EQ_INT(sqlite3_exec(db, "INSERT INTO fts(fts, rank) VALUES('integrity-check', 1)", NULL, NULL, NULL),
                 SQLITE_OK);
}

TEST(kill9_during_ingest) {
    mkdir("many", 0755);
    char name[64], text[4096];
    for (int i = 0; i < N_FILES; i++) {
        size_t n = (size_t)snprintf(text, sizeof text, "uniq%04d opens this file.", i);
        for (int k = 0; k < 60; k++) n += (size_t)snprintf(text + n, sizeof text - n, " filler%d text%d.", k, i % 7);
        snprintf(name, sizeof name, "many/f%04d.txt", i);
        write_file(name, text);
    }
    int pipefd[2];
    CHECK_EQ_INT(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execl(HEARTH_BIN, HEARTH_BIN, "rag", "ingest", "--db", "crashdb", "--collection", "c", "--chunk-tokens", "24",
              "--overlap", "4", "many", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *f = fdopen(pipefd[0], "r");
    static char acked[N_FILES][300];
    static int64_t acked_n[N_FILES];
    int n_acked = 0;
    char line[1024];
    /* SIGKILL once a third of the files were reported */
    while (n_acked < N_FILES / 3 && fgets(line, sizeof line, f)) {
        int64_t n = parse_ack(line, acked[n_acked], sizeof acked[0]);
        if (n >= 0) acked_n[n_acked++] = n;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    fclose(f);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);   /* killed before it finished */
    CHECK_EQ_INT(n_acked, N_FILES / 3);

    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open("crashdb/c.hearth-rag", &db), SQLITE_OK);
    int64_t n_docs = scalar(db, "SELECT count(*) FROM docs");
    CHECK(n_docs >= n_acked && n_docs < N_FILES);
    for (int i = 0; i < n_acked; i++) {
        bool whole;
        CHECK_MSG(stored(db, acked[i], &whole) == acked_n[i] && whole, "%s", acked[i]);
    }
    check_consistent(db);
    sqlite3_close(db);

    /* the second run finishes the folder: the acknowledged files unchanged, nothing twice */
    static char out[1 << 14], err[1 << 16];
    CHECK_EQ_INT(run("rag ingest --db crashdb --collection c --chunk-tokens 24 --overlap 4 many --json", out,
                     sizeof out, err, sizeof err),
                 0);
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "unchanged")->valueint, n_docs);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "added")->valueint, N_FILES - n_docs);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "failed")->valueint, 0);
    }
    cJSON_Delete(j);
    CHECK_EQ_INT(sqlite3_open("crashdb/c.hearth-rag", &db), SQLITE_OK);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM docs"), N_FILES);
    for (int i = 0; i < n_acked; i++) {
        bool whole;
        CHECK_MSG(stored(db, acked[i], &whole) == acked_n[i] && whole, "%s", acked[i]);
    }
    check_consistent(db);
    sqlite3_close(db);
    /* each file's unique word is found once */
    CHECK_EQ_INT(run("rag search --db crashdb --collection c -k 5 --json uniq0007", out, sizeof out, NULL, 0), 0);
    j = cJSON_Parse(out);
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")) == 1);
    cJSON_Delete(j);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/hearth-test-rag-cli-XXXXXX");
    if (!mkdtemp(dir) || chdir(dir) != 0) return 1;
    RUN(ingest_search_ask);
    RUN(kill9_during_ingest);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (harness_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
