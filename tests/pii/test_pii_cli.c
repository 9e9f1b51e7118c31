/*
 * test_pii_cli.c — `hearth pii scan|mask` as a user runs it: output formats,
 * values never printed unless asked, masked copies of text and JSONL (the
 * structure kept, bad lines reported by line number), and errors (missing
 * file, bad policy, bad regex, blocked kinds).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static char *read_back(const char *name) {
    static char buf[8192];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Runs `hearth ARGS` in dir; stdout+stderr in out; returns the exit status. */
static int run(const char *args, char *out, size_t cap) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", dir, HEARTH_BIN, args);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *TEXT = "Mail a@example.com, 电话１３８１２３４５６７８.\nID 11010519491231002X\n";

TEST(scan_text_and_json) {
    char out[4096];
    write_file("in.txt", TEXT);
    CHECK_EQ_INT(run("pii scan -f in.txt", out, sizeof out), 0);
    CHECK_STR(out, "5 13 email\n26 33 phone\n64 18 cn_id\n");
    CHECK(strstr(out, "a@example.com") == NULL);
    CHECK_EQ_INT(run("pii scan -f in.txt --json", out, sizeof out), 0);
    CHECK_STR(out, "{\"kind\":\"email\",\"offset\":5,\"length\":13}\n"
                   "{\"kind\":\"phone\",\"offset\":26,\"length\":33}\n"
                   "{\"kind\":\"cn_id\",\"offset\":64,\"length\":18}\n");
    CHECK_EQ_INT(run("pii scan -f in.txt --show-values", out, sizeof out), 0);
    CHECK(strstr(out, "5 13 email \"a@example.com\"\n") != NULL);
    CHECK_EQ_INT(run("pii scan -f in.txt --pattern emp=EMP-[0-9]+ --json", out, sizeof out), 0);
    write_file("emp.txt", "by EMP-42 today");
    CHECK_EQ_INT(run("pii scan -f emp.txt --pattern 'emp=EMP-[0-9]+'", out, sizeof out), 0);
    CHECK_STR(out, "3 6 emp\n");
}

TEST(mask_text) {
    char out[4096];
    write_file("in.txt", TEXT);
    CHECK_EQ_INT(run("pii mask -f in.txt -o out.txt", out, sizeof out), 0);
    CHECK_STR(read_back("out.txt"), "Mail [EMAIL_1], 电话[PHONE_1].\nID [ID_1]\n");
    CHECK_EQ_INT(run("pii mask -f in.txt -o out.txt --policy email=redact,phone=allow", out, sizeof out), 0);
    CHECK_STR(read_back("out.txt"), "Mail [EMAIL], 电话１３８１２３４５６７８.\nID [ID_1]\n");
    write_file("kw.txt", "# names\nZhang San\n\n");
    write_file("k.txt", "Dear zhang san, hi\n");
    CHECK_EQ_INT(run("pii mask -f k.txt --keywords kw.txt --policy keyword=redact", out, sizeof out), 0);
    CHECK(strstr(out, "Dear [KEYWORD], hi\n") != NULL);
    CHECK_EQ_INT(run("pii mask -f in.txt --policy cn_id=block -o out.txt", out, sizeof out), 3);
    CHECK(strstr(out, "blocked kinds found: cn_id") != NULL);
    CHECK(strstr(read_back("out.txt"), "11010519491231002X") == NULL);
}

TEST(mask_jsonl) {
    char out[4096];
    write_file("d.jsonl",
               "{\"messages\":[{\"role\":\"user\",\"content\":\"I am a@example.com\"},"
               "{\"role\":\"assistant\",\"content\":\"Hi a@example.com\"}],\"id\":7}\n"
               "\n"
               "{\"text\":\"call 13812345678\",\"meta\":{\"ip\":\"10.0.0.1\",\"n\":[1,2]}}\n");
    CHECK_EQ_INT(run("pii mask -f d.jsonl -o m.jsonl", out, sizeof out), 0);
    CHECK_STR(read_back("m.jsonl"),
              "{\"messages\":[{\"role\":\"user\",\"content\":\"I am [EMAIL_1]\"},"
              "{\"role\":\"assistant\",\"content\":\"Hi [EMAIL_1]\"}],\"id\":7}\n"
              "\n"
              "{\"text\":\"call [PHONE_1]\",\"meta\":{\"ip\":\"[IPV4_1]\",\"n\":[1,2]}}\n");
    /* a bad line is reported with its number and left out; the others are written */
    write_file("bad.txt", "{\"a\":\"x@example.com\"}\n{\"a\": oops}\n{\"b\":\"y\"}\n");
    CHECK_EQ_INT(run("pii mask -f bad.txt --jsonl -o m2.jsonl", out, sizeof out), 1);
    CHECK(strstr(out, "bad.txt:2:") != NULL);
    CHECK(strstr(out, "invalid JSON") != NULL);
    CHECK_STR(read_back("m2.jsonl"), "{\"a\":\"[EMAIL_1]\"}\n{\"b\":\"y\"}\n");
}

TEST(errors) {
    char out[4096];
    write_file("in.txt", TEXT);
    CHECK(run("pii scan -f missing.txt", out, sizeof out) != 0);
    CHECK(strstr(out, "missing.txt") != NULL);
    CHECK(run("pii mask -f in.txt --policy email=hide", out, sizeof out) != 0);
    CHECK(strstr(out, "hide") != NULL);
    CHECK(run("pii mask -f in.txt --policy phon=mask", out, sizeof out) != 0);
    CHECK(strstr(out, "phon") != NULL);
    CHECK(run("pii scan -f in.txt --pattern 'emp=EMP-(['", out, sizeof out) != 0);
    CHECK(strstr(out, "emp") != NULL && strstr(out, "regex") != NULL);
    CHECK(run("pii scan -f in.txt --pattern noequals", out, sizeof out) != 0);
    CHECK(run("pii scan", out, sizeof out) != 0);
    CHECK(strstr(out, "-f") != NULL);
    CHECK(run("pii frobnicate -f in.txt", out, sizeof out) != 0);
    CHECK(run("pii mask -f in.txt --keywords nokw.txt", out, sizeof out) != 0);
    CHECK(strstr(out, "nokw.txt") != NULL);
    CHECK_EQ_INT(run("pii --help", out, sizeof out), 0);
    CHECK(strstr(out, "usage") != NULL);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/hearth_pii_cli_%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) return 1;
    RUN(scan_text_and_json);
    RUN(mask_text);
    RUN(mask_jsonl);
    RUN(errors);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
