/*
 * test_registry.c — the model store: names, digests (checked against
 * sha256sum), immutable versions, lineage, aliases and their history,
 * rollback, rm refusals, gc, corrupt manifests, bundles (export -> import
 * into an empty store; tampered and truncated bundles), a full disk
 * (RLIMIT_FSIZE) leaving the store unchanged, and `hearth models` / `-m
 * NAME:TAG` through the real binary.
 */
#include "harness.h"
#include "hearth/registry.h"
#include "registry_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define ADAPTER1 HEARTH_TEST_DATA "/models/licenses-llama-Q4_0.gguf"
#define ADAPTER2 HEARTH_TEST_DATA "/models/tiny-qwen2-gpt2-f16.gguf"
#define DATA HEARTH_TEST_DATA "/train/facts.jsonl"

static char root[256];

static void store_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", root, name); }

/* sha256sum's answer, as "sha256:<hex>" */
static void sha256sum(const char *path, char out[80]) {
    char cmd[600], *txt = NULL;
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    out[0] = 0;
    if (harness_run(cmd, &txt) == 0 && txt && strlen(txt) >= 64) snprintf(out, 80, "sha256:%.64s", txt);
    free(txt);
}

TEST(names_are_strict) {
    const char *bad[] = {"../etc", "a/../b", "/abs", "a/b/c", "Upper", "a b", "a\x01", "", "-lead", "a/", "x..y", NULL};
    for (int i = 0; bad[i]; i++) CHECK_MSG(hearth_registry_check_name(bad[i]) == HEARTH_ERR_INVALID_ARG, "'%s'", bad[i]);
    CHECK(hearth_registry_check_name("team/support-bot_1.2") == HEARTH_OK);
    CHECK(hearth_registry_check_name("a b") != HEARTH_OK && strstr(hearth_last_error(), "position 2"));
    char name[HEARTH_REGISTRY_MAX_NAME + 1], tag[HEARTH_REGISTRY_MAX_TAG + 1];
    bool alias = false;
    CHECK(hearth_registry_parse_ref("bot:v1", name, tag, &alias) == HEARTH_OK && !alias);
    CHECK_STR(name, "bot");
    CHECK_STR(tag, "v1");
    CHECK(hearth_registry_parse_ref("team/bot@production", name, tag, &alias) == HEARTH_OK && alias);
    CHECK_STR(tag, "production");
    CHECK(hearth_registry_parse_ref("bot:../../x", name, tag, &alias) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "'../../x' must start with a letter or digit") != NULL);
    CHECK(hearth_registry_parse_ref("bot", name, tag, &alias) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_registry_parse_ref("bot:v1@x", name, tag, &alias) == HEARTH_ERR_INVALID_ARG);
    CHECK(!hearth_registry_looks_like_ref("model.gguf"));
    CHECK(hearth_registry_looks_like_ref("bot@prod"));
}

TEST(versions_lineage_aliases_rm_gc) {
    char dir[300];
    store_path(dir, sizeof dir, "main");
    hearth_registry *r = NULL;
    CHECK(hearth_registry_open(dir, &r) == HEARTH_OK);
    if (!r) return;
    char want[80], data_d[80];
    sha256sum(BASE, want);
    sha256sum(DATA, data_d);

    hearth_registry_entry base;
    CHECK(hearth_registry_add(r, BASE, "base:v1", NULL, &base) == HEARTH_OK);
    CHECK_STR(base.digest, want);
    CHECK(base.kind == HEARTH_ARTIFACT_MODEL);
    char *blob = NULL;
    size_t blen = 0, olen = 0;
    char *orig = harness_read(BASE, &olen);
    CHECK((blob = harness_read(base.path, &blen)) != NULL && blen == olen && memcmp(blob, orig, olen) == 0);
    free(blob);
    free(orig);

    /* immutable versions; a wrong expected digest registers nothing */
    CHECK(hearth_registry_add(r, ADAPTER2, "base:v1", NULL, NULL) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "immutable") != NULL);
    hearth_registry_add_params ap = hearth_registry_default_add_params();
    ap.expected_digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    int blobs_before = count_files(dir, "blobs");
    CHECK(hearth_registry_add(r, ADAPTER2, "other:v1", &ap, NULL) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "mismatch") != NULL);
    CHECK_EQ_INT(count_files(dir, "blobs"), blobs_before);
    CHECK_EQ_INT(count_files(dir, "tmp"), 0);
    CHECK_EQ_INT(n_versions(r), 1);

    /* an adapter with lineage */
    ap = hearth_registry_default_add_params();
    ap.kind = HEARTH_ARTIFACT_ADAPTER;
    ap.base_digest = base.digest;
    ap.data_digest = data_d;
    ap.command = "hearth train -m base:v1 --data facts.jsonl -o bot.gguf";
    CHECK(hearth_registry_add(r, ADAPTER1, "bot:v1", &ap, NULL) == HEARTH_OK);
    ap.command = "second run";
    CHECK(hearth_registry_add(r, ADAPTER2, "bot:v2", &ap, NULL) == HEARTH_OK);
    hearth_registry_entry e;
    CHECK(hearth_registry_resolve(r, "bot:v1", &e) == HEARTH_OK);
    CHECK(e.kind == HEARTH_ARTIFACT_ADAPTER);
    CHECK_STR(e.base_digest, base.digest);
    CHECK_STR(e.data_digest, data_d);
    CHECK_STR(e.command, "hearth train -m base:v1 --data facts.jsonl -o bot.gguf");
    hearth_registry_entry_clear(&e);

    /* aliases move, keep their history and roll back */
    CHECK(hearth_registry_alias_set(r, "bot@production", "v1", "first") == HEARTH_OK);
    CHECK(hearth_registry_alias_set(r, "bot@production", "v9", NULL) == HEARTH_ERR_NOT_FOUND);
    CHECK(hearth_registry_alias_set(r, "bot@production", "v2", "better") == HEARTH_OK);
    CHECK(hearth_registry_resolve(r, "bot@production", &e) == HEARTH_OK);
    CHECK_STR(e.tag, "v2");
    hearth_registry_entry_clear(&e);
    char tag[HEARTH_REGISTRY_MAX_TAG + 1] = "";
    CHECK(hearth_registry_alias_rollback(r, "bot@production", tag) == HEARTH_OK);
    CHECK_STR(tag, "v1");
    char d1[80];
    sha256sum(ADAPTER1, d1);
    CHECK(hearth_registry_resolve(r, "bot@production", &e) == HEARTH_OK);
    CHECK_STR(e.digest, d1);
    CHECK(e.n_aliases == 1 && strcmp(e.aliases[0], "production") == 0);
    hearth_registry_entry_clear(&e);
    hearth_registry_alias_event *h = NULL;
    size_t nh = 0;
    CHECK(hearth_registry_alias_history(r, "bot@production", &h, &nh) == HEARTH_OK);
    CHECK_EQ_INT(nh, 3);
    if (nh == 3) {
        CHECK_STR(h[0].tag, "v1");
        CHECK_STR(h[0].note, "first");
        CHECK_STR(h[1].tag, "v2");
        CHECK_STR(h[2].tag, "v1");
        CHECK_STR(h[2].note, "rollback");
    }
    free(h);

    /* rm: refused while an alias or a dependent adapter uses it */
    CHECK(hearth_registry_remove(r, "bot:v1", false) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "bot@production") != NULL);
    CHECK(hearth_registry_remove(r, "base:v1", false) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "bot:v1") && strstr(hearth_last_error(), "bot:v2"));
    /* a second name for the same blob: the base may go, the blob stays */
    CHECK(hearth_registry_tag(r, "base:v1", "base:stable") == HEARTH_OK);
    CHECK(hearth_registry_remove(r, "base:v1", false) == HEARTH_OK);
    CHECK(hearth_registry_resolve(r, "sha256:" "0000", &e) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_registry_resolve(r, base.digest, &e) == HEARTH_OK);
    CHECK_STR(e.tag, "stable");
    hearth_registry_entry_clear(&e);

    /* gc frees exactly what no version refers to */
    char v2blob[600];
    CHECK(hearth_registry_resolve(r, "bot:v2", &e) == HEARTH_OK);
    snprintf(v2blob, sizeof v2blob, "%s", e.path ? e.path : "");
    int64_t v2size = e.size;
    hearth_registry_entry_clear(&e);
    CHECK(hearth_registry_remove(r, "bot:v2", false) == HEARTH_OK);
    struct stat st;
    CHECK(stat(v2blob, &st) == 0);   /* until gc */
    int64_t files = 0, bytes = 0;
    CHECK(hearth_registry_gc(r, &files, &bytes) == HEARTH_OK);
    CHECK(stat(v2blob, &st) != 0);
    CHECK(bytes >= v2size && files >= 2);   /* the blob and its manifest (and base:v1's manifest) */
    CHECK(stat(base.path, &st) == 0);       /* still used by base:stable */
    CHECK(hearth_registry_verify(r, "bot@production") == HEARTH_OK);
    CHECK(hearth_registry_remove(r, "bot:v1", true) == HEARTH_OK);   /* forced: its alias goes too */
    CHECK(hearth_registry_resolve(r, "bot@production", &e) == HEARTH_ERR_NOT_FOUND);
    hearth_registry_entry_clear(&base);
    hearth_registry_free(r);
}

TEST(corrupt_manifest_and_blob) {
    char dir[300];
    store_path(dir, sizeof dir, "corrupt");
    hearth_registry *r = NULL;
    CHECK(hearth_registry_open(dir, &r) == HEARTH_OK);
    if (!r) return;
    hearth_registry_entry e;
    CHECK(hearth_registry_add(r, ADAPTER1, "m:v1", NULL, &e) == HEARTH_OK);
    char man[600];
    snprintf(man, sizeof man, "%s/manifests/sha256-%s", dir, e.manifest_digest + 7);
    FILE *f = fopen(man, "r+b");
    CHECK(f != NULL);
    if (f) { fseek(f, 5, SEEK_SET); fputc('X', f); fclose(f); }
    hearth_registry_entry e2;
    CHECK(hearth_registry_resolve(r, "m:v1", &e2) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "corrupt") != NULL);
    /* an altered blob is found by verify */
    CHECK(hearth_registry_add(r, ADAPTER2, "m:v2", NULL, &e2) == HEARTH_OK);
    f = fopen(e2.path, "r+b");
    if (f) { fseek(f, 1000, SEEK_SET); fputc(0x5a ^ fgetc(f), f); fclose(f); }
    CHECK(hearth_registry_verify(r, "m:v2") == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "altered") != NULL);
    hearth_registry_entry_clear(&e);
    hearth_registry_entry_clear(&e2);
    hearth_registry_free(r);
}

/* flips one byte at offset off of path */
static void flip_byte(const char *path, long off) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
}

TEST(bundles) {
    char src[300], dst[300], bundle[300], bad[300], cmd[1200];
    store_path(src, sizeof src, "export-src");
    store_path(dst, sizeof dst, "export-dst");
    store_path(bundle, sizeof bundle, "bot.bundle");
    store_path(bad, sizeof bad, "bad.bundle");
    hearth_registry *r = NULL, *r2 = NULL;
    CHECK(hearth_registry_open(src, &r) == HEARTH_OK);
    if (!r) return;
    hearth_registry_entry base, ad;
    CHECK(hearth_registry_add(r, BASE, "base:v1", NULL, &base) == HEARTH_OK);
    hearth_registry_add_params ap = hearth_registry_default_add_params();
    ap.kind = HEARTH_ARTIFACT_ADAPTER;
    ap.base_digest = base.digest;
    ap.data_digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    ap.command = "hearth train ...";
    CHECK(hearth_registry_add(r, ADAPTER1, "bot:v1", &ap, &ad) == HEARTH_OK);
    CHECK(hearth_registry_alias_set(r, "bot@production", "v1", NULL) == HEARTH_OK);
    const char *refs[] = {"bot@production", "base:v1"};
    CHECK(hearth_registry_export(r, refs, 2, bundle) == HEARTH_OK);

    /* a tampered blob: nothing imported, nothing left behind */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", bundle, bad);
    CHECK(harness_run(cmd, NULL) == 0);
    struct stat st;
    CHECK(stat(bundle, &st) == 0);
    flip_byte(bad, (long)st.st_size - 5000);
    CHECK(hearth_registry_open(dst, &r2) == HEARTH_OK);
    if (!r2) { hearth_registry_free(r); return; }
    size_t n = 0;
    CHECK(hearth_registry_import(r2, bad, &n) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "tampered") != NULL);
    CHECK_EQ_INT(n_versions(r2), 0);
    CHECK_EQ_INT(count_files(dst, "blobs"), 0);
    CHECK_EQ_INT(count_files(dst, "manifests"), 0);
    /* truncated */
    CHECK(truncate(bad, st.st_size / 2) == 0);
    CHECK(hearth_registry_import(r2, bad, &n) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "early") != NULL);
    CHECK_EQ_INT(count_files(dst, "blobs"), 0);
    /* not a bundle */
    CHECK(hearth_registry_import(r2, BASE, &n) == HEARTH_ERR_FORMAT);

    /* the real one: identical digests, lineage and alias */
    CHECK(hearth_registry_import(r2, bundle, &n) == HEARTH_OK);
    CHECK_EQ_INT(n, 2);
    hearth_registry_entry e;
    CHECK(hearth_registry_resolve(r2, "bot@production", &e) == HEARTH_OK);
    CHECK_STR(e.digest, ad.digest);
    CHECK_STR(e.manifest_digest, ad.manifest_digest);
    CHECK_STR(e.base_digest, base.digest);
    CHECK_STR(e.data_digest, ap.data_digest);
    CHECK_STR(e.command, "hearth train ...");
    CHECK(e.kind == HEARTH_ARTIFACT_ADAPTER);
    hearth_registry_entry_clear(&e);
    CHECK(hearth_registry_resolve(r2, "base:v1", &e) == HEARTH_OK);
    CHECK_STR(e.digest, base.digest);
    hearth_registry_entry_clear(&e);
    CHECK(hearth_registry_verify(r2, "bot:v1") == HEARTH_OK);
    CHECK(hearth_registry_verify(r2, "base:v1") == HEARTH_OK);
    /* importing again is harmless */
    CHECK(hearth_registry_import(r2, bundle, &n) == HEARTH_OK);
    CHECK_EQ_INT(n_versions(r2), 2);
    hearth_registry_entry_clear(&base);
    hearth_registry_entry_clear(&ad);
    hearth_registry_free(r);
    hearth_registry_free(r2);
}

/* A full disk while adding: the child writes with a 1 MiB file-size limit. */
TEST(full_disk_leaves_store_unchanged) {
    char dir[300];
    store_path(dir, sizeof dir, "full");
    hearth_registry *r = NULL;
    CHECK(hearth_registry_open(dir, &r) == HEARTH_OK);
    if (!r) return;
    CHECK(hearth_registry_add(r, HEARTH_TEST_DATA "/train/facts.jsonl", "small:v1", NULL, NULL) == HEARTH_OK);
    hearth_registry_free(r);
    int blobs = count_files(dir, "blobs"), mans = count_files(dir, "manifests");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);   /* write() fails with EFBIG instead */
        struct rlimit rl = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        hearth_registry *c = NULL;
        if (hearth_registry_open(dir, &c)) _exit(10);
        hearth_status s = hearth_registry_add(c, BASE, "big:v1", NULL, NULL);
        fprintf(stderr, "child: %s\n", hearth_last_error());
        bool said = strstr(hearth_last_error(), "File too large") != NULL;
        hearth_registry_free(c);
        _exit(s == HEARTH_ERR_IO && said ? 0 : 11);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK_EQ_INT(count_files(dir, "blobs"), blobs);
    CHECK_EQ_INT(count_files(dir, "manifests"), mans);
    CHECK_EQ_INT(count_files(dir, "tmp"), 0);
    CHECK(hearth_registry_open(dir, &r) == HEARTH_OK);
    if (r) {
        CHECK_EQ_INT(n_versions(r), 1);
        CHECK(hearth_registry_verify(r, "small:v1") == HEARTH_OK);
    }
    hearth_registry_free(r);

    /* the same while importing the bundle of the `bundles` test (a 9 MB blob) */
    char imp[300], bundle[300];
    store_path(imp, sizeof imp, "full-import");
    store_path(bundle, sizeof bundle, "bot.bundle");
    fflush(NULL);
    if ((pid = fork()) == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        hearth_registry *c = NULL;
        if (hearth_registry_open(imp, &c)) _exit(10);
        size_t n = 0;
        hearth_status s = hearth_registry_import(c, bundle, &n);
        fprintf(stderr, "child: %s\n", hearth_last_error());
        bool said = strstr(hearth_last_error(), "File too large") != NULL;
        hearth_registry_free(c);
        _exit(s == HEARTH_ERR_IO && said ? 0 : 11);
    }
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK_EQ_INT(count_files(imp, "blobs"), 0);
    CHECK_EQ_INT(count_files(imp, "manifests"), 0);
    CHECK_EQ_INT(count_files(imp, "tmp"), 0);
    CHECK(hearth_registry_open(imp, &r) == HEARTH_OK);
    if (r) CHECK_EQ_INT(n_versions(r), 0);
    hearth_registry_free(r);
}

TEST(cli_models_and_model_refs) {
    char dir[300], cmd[2000], *out = NULL;
    store_path(dir, sizeof dir, "cli");
    snprintf(cmd, sizeof cmd, "%s models add %s --name tiny:v1 --store %s", HEARTH_BIN, BASE, dir);
    CHECK(harness_run(cmd, &out) == 0);
    CHECK(out && strstr(out, "added tiny:v1 sha256:"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s models alias tiny@prod v1 --store %s && %s models list --json --store %s", HEARTH_BIN,
             dir, HEARTH_BIN, dir);
    CHECK(harness_run(cmd, &out) == 0);
    CHECK(out && strstr(out, "\"ref\":\t\"tiny:v1\"") && strstr(out, "\"prod\""));
    free(out);
    /* -m NAME@ALIAS anywhere: the same tokens as the file itself */
    char *via_ref = NULL, *via_file = NULL;
    snprintf(cmd, sizeof cmd, "HEARTH_STORE=%s %s tokenize -m tiny@prod -p 'hello world'", dir, HEARTH_BIN);
    CHECK(harness_run(cmd, &via_ref) == 0);
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s -p 'hello world'", HEARTH_BIN, BASE);
    CHECK(harness_run(cmd, &via_file) == 0);
    CHECK(via_ref && via_file && strlen(via_file) > 0 && strcmp(via_ref, via_file) == 0);
    free(via_ref);
    free(via_file);
    snprintf(cmd, sizeof cmd, "HEARTH_STORE=%s %s tokenize -m tiny:v9 -p x 2>&1", dir, HEARTH_BIN);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK(out && strstr(out, "no model tiny:v9"));
    free(out);
    snprintf(cmd, sizeof cmd, "HEARTH_STORE=%s/none %s tokenize -m tiny:v1 -p x 2>&1", root, HEARTH_BIN);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK(out && strstr(out, "no model store at"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s/none", root);
    CHECK(access(cmd, F_OK) != 0);   /* not created by the lookup */
    snprintf(cmd, sizeof cmd, "%s models add %s --name '../evil:v1' --store %s 2>&1", HEARTH_BIN, BASE, dir);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK(out && strstr(out, "must start with a lowercase letter or digit"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s models rm tiny:v1 --store %s 2>&1", HEARTH_BIN, dir);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK(out && strstr(out, "tiny@prod") && strstr(out, "--force"));
    free(out);
}

/* The README's flow: train an adapter on a base named by alias, register it
 * with lineage, alias it, run it by name; roll back; export and import. */
TEST(cli_train_register_alias_rollback) {
    char dir[300], dir2[300], cmd[3000], *out = NULL;
    store_path(dir, sizeof dir, "flow");
    store_path(dir2, sizeof dir2, "flow-offline");
    const char *lic = HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf";
    snprintf(cmd, sizeof cmd,
             "(export HEARTH_STORE=%s; H=%s; $H models add %s --name lic:v1 --store %s && $H models alias lic@prod v1 "
             "--store %s && $H train -m lic@prod --data %s -o %s/a1.gguf --max-steps 2 --register bot:v1 --store %s -q -t 2 "
             "&& $H train -m lic@prod --data %s -o %s/a2.gguf --max-steps 2 --lr 0.05 --seed 7 --register bot:v2 "
             "--store %s -q -t 2) 2>&1",
             dir, HEARTH_BIN, lic, dir, dir, DATA, root, dir, DATA, root, dir);
    CHECK(harness_run(cmd, &out) == 0);
    CHECK(out && strstr(out, "registered bot:v1 sha256:") && strstr(out, "(adapter)"));
    free(out);
    hearth_registry *r = NULL;
    CHECK(hearth_registry_open(dir, &r) == HEARTH_OK);
    if (!r) return;
    hearth_registry_entry base, ad;
    CHECK(hearth_registry_resolve(r, "lic@prod", &base) == HEARTH_OK);
    CHECK(hearth_registry_resolve(r, "bot:v1", &ad) == HEARTH_OK);
    char data_d[80];
    sha256sum(DATA, data_d);
    CHECK_STR(ad.base_digest, base.digest);
    CHECK_STR(ad.data_digest, data_d);
    CHECK(ad.command && strstr(ad.command, "hearth train -m lic@prod") && strstr(ad.command, "--register bot:v1"));
    CHECK(hearth_registry_remove(r, "lic:v1", false) == HEARTH_ERR_INVALID_ARG);   /* the adapters need it */
    hearth_registry_free(r);

    /* run by name = run by file, at temperature 0 */
    char *by_name = NULL, *by_file = NULL, *after = NULL;
    snprintf(cmd, sizeof cmd, "HEARTH_STORE=%s %s models alias bot@production v1 --store %s >/dev/null && "
             "HEARTH_STORE=%s %s run -m lic@prod --lora bot@production -p 'Who holds the copyright' -n 8 --temp 0",
             dir, HEARTH_BIN, dir, dir, HEARTH_BIN);
    CHECK(harness_run(cmd, &by_name) == 0);
    snprintf(cmd, sizeof cmd, "%s run -m %s --lora %s:1 -p 'Who holds the copyright' -n 8 --temp 0", HEARTH_BIN, lic,
             ad.path);
    CHECK(harness_run(cmd, &by_file) == 0);
    CHECK(by_name && by_file && *by_file && strcmp(by_name, by_file) == 0);
    /* move to v2, roll back: byte-identical to v1 again */
    snprintf(cmd, sizeof cmd, "H=%s; S=%s; $H models alias bot@production v2 --store $S >/dev/null && "
             "$H models alias bot@production --rollback --store $S && HEARTH_STORE=$S $H run -m lic:v1 "
             "--lora bot@production -p 'Who holds the copyright' -n 8 --temp 0", HEARTH_BIN, dir);
    CHECK(harness_run(cmd, &after) == 0);
    CHECK(after && strstr(after, "bot@production -> bot:v1\n") && by_file && strstr(after, by_file));
    free(by_name);
    free(after);

    /* export, import on "another machine", same text */
    snprintf(cmd, sizeof cmd, "H=%s; $H models export bot@production lic:v1 -o %s/flow.bundle --store %s >/dev/null && "
             "$H models import %s/flow.bundle --store %s && HEARTH_STORE=%s $H run -m lic:v1 --lora bot@production "
             "-p 'Who holds the copyright' -n 8 --temp 0", HEARTH_BIN, root, dir, root, dir2, dir2);
    CHECK(harness_run(cmd, &after) == 0);
    CHECK(after && strstr(after, "imported 2 versions") && by_file && strstr(after, by_file));
    free(after);
    free(by_file);
    hearth_registry_entry_clear(&base);
    hearth_registry_entry_clear(&ad);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/hearth-registry-test-XXXXXX");
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    RUN(names_are_strict);
    RUN(versions_lineage_aliases_rm_gc);
    RUN(corrupt_manifest_and_blob);
    RUN(bundles);
    RUN(full_disk_leaves_store_unchanged);
    RUN(cli_models_and_model_refs);
    RUN(cli_train_register_alias_rollback);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (harness_failures == 0) harness_run(cmd, NULL);
    return harness_done();
}
