/*
 * test_qc.c — what an inspector sees from `hearth qc fit|score`: fitted on
 * 60 good tiles of tests/data/qc/metal (a subset of the shared sample), the
 * detector separates good from defective test tiles (AUROC, F1 at its own
 * threshold), its regions land on the defects, a part turned under the
 * camera stays good, the threshold is set from good images (not the
 * minimum), and bad input (a corrupt image, a non-image in the good folder,
 * a file that is not a model) is named in the error while the other images
 * are still scored.
 */
#include "harness.h"
#include "hearth/qc.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#define QDATA HEARTH_TEST_DATA "/qc/metal"

static char tmpdir[256], model[512];

typedef struct box {
    char file[64];
    int b[4];
} box;

static box boxes[64];
static int n_boxes;

static void read_boxes(void) {
    char *s = harness_read(QDATA "/defects.jsonl", NULL);
    CHECK(s != NULL);
    for (char *line = s ? strtok(s, "\n") : NULL; line && n_boxes < 64; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        cJSON *f = cJSON_GetObjectItem(j, "file"), *b = cJSON_GetObjectItem(j, "box");
        if (cJSON_IsString(f) && cJSON_GetArraySize(b) == 4) {
            snprintf(boxes[n_boxes].file, sizeof boxes[n_boxes].file, "%s", f->valuestring);
            for (int i = 0; i < 4; i++) boxes[n_boxes].b[i] = cJSON_GetArrayItem(b, i)->valueint;
            n_boxes++;
        }
        cJSON_Delete(j);
    }
    free(s);
}

static const int *box_of(const char *path) {
    for (int i = 0; i < n_boxes; i++) {
        size_t n = strlen(path), m = strlen(boxes[i].file);
        if (n >= m && !strcmp(path + n - m, boxes[i].file)) return boxes[i].b;
    }
    return NULL;
}

TEST(fit_reports) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s qc fit --good %s/train/good --val %s/val -o %s --json -q", HEARTH_BIN, QDATA, QDATA,
             model);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    cJSON *j = cJSON_Parse(out ? out : "");
    CHECK_MSG(j != NULL, "fit output: %s", out ? out : "");
    if (j) {
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "train_images")->valueint, 60);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "val_good")->valueint, 20);
        CHECK(cJSON_GetObjectItem(j, "threshold")->valuedouble > 0);
        printf("  fit: %s", out);
    }
    cJSON_Delete(j);
    free(out);
}

/* scores every image of the test folders through `qc score --json` */
TEST(scores_separate_and_locate) {
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "%s qc score -m %s --json", HEARTH_BIN, model);
    const char *sub[2] = {"good", "bad"};
    for (int k = 0; k < 2; k++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/test/%s", QDATA, sub[k]);
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.') n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s/%s", dir, e->d_name);
        if (d) closedir(d);
    }
    char *out = NULL;
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    double scores[64];
    int labels[64], m = 0, tp = 0, fp = 0, fn = 0, located = 0, detected = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; line && m < 64; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        cJSON *img = cJSON_GetObjectItem(j, "image"), *sc = cJSON_GetObjectItem(j, "score"),
              *an = cJSON_GetObjectItem(j, "anomalous"), *rg = cJSON_GetObjectItem(j, "region");
        CHECK_MSG(cJSON_IsString(img) && cJSON_IsNumber(sc) && cJSON_IsBool(an) && cJSON_GetArraySize(rg) == 4,
                  "line: %s", line);
        if (!cJSON_IsString(img) || cJSON_GetArraySize(rg) != 4) {
            cJSON_Delete(j);
            continue;
        }
        int r[4];
        for (int i = 0; i < 4; i++) r[i] = cJSON_GetArrayItem(rg, i)->valueint;
        CHECK(r[0] >= 0 && r[1] >= 0 && r[2] > 0 && r[3] > 0 && r[0] + r[2] <= 64 && r[1] + r[3] <= 64);
        bool bad = strstr(img->valuestring, "/bad/") != NULL, alert = cJSON_IsTrue(an);
        scores[m] = sc->valuedouble;
        labels[m++] = bad;
        tp += bad && alert, fp += !bad && alert, fn += bad && !alert;
        const int *b = bad ? box_of(img->valuestring) : NULL;
        if (b && alert) {
            detected++;
            /* the region overlaps the defect's box (x1, y1 exclusive) */
            located += r[0] < b[2] && b[0] < r[0] + r[2] && r[1] < b[3] && b[1] < r[1] + r[3];
        }
        cJSON_Delete(j);
    }
    free(out);
    CHECK_EQ_INT(m, 40);
    double auroc = hearth_qc_auroc(scores, labels, m), f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0;
    printf("  test: AUROC %.3f, F1 %.3f (%d false alarms, %d missed), %d of %d detected defects located\n", auroc, f1,
           fp, fn, located, detected);
    CHECK_MSG(auroc >= 0.93, "AUROC %.3f", auroc);
    CHECK_MSG(f1 >= 0.8, "F1 %.3f", f1);
    CHECK_MSG(located >= detected * 8 / 10, "%d of %d located", located, detected);
}

/* a good part turned by 90 degrees or mirrored is still good; a threshold is not the minimum */
TEST(orientation_and_threshold) {
    hearth_qc *qc = NULL;
    CHECK(hearth_qc_load(model, &qc) == HEARTH_OK);
    if (!qc) return;
    hearth_image img = {0};
    CHECK(hearth_image_load(QDATA "/test/good/0003.png", 1, &img) == HEARTH_OK);
    hearth_qc_result r0, r1, r2;
    CHECK(hearth_qc_score(qc, &img, &r0) == HEARTH_OK);
    hearth_image rot = img;
    rot.data = malloc((size_t)img.w * img.h);
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < img.w; x++) rot.data[(size_t)x * img.h + (img.h - 1 - y)] = img.data[(size_t)y * img.w + x];
    rot.w = img.h, rot.h = img.w;
    CHECK(hearth_qc_score(qc, &rot, &r1) == HEARTH_OK);
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < img.w; x++) rot.data[(size_t)y * img.w + x] = img.data[(size_t)y * img.w + img.w - 1 - x];
    rot.w = img.w, rot.h = img.h;
    CHECK(hearth_qc_score(qc, &rot, &r2) == HEARTH_OK);
    printf("  good tile: score %.3f, turned %.3f, mirrored %.3f (threshold %.3f)\n", r0.score, r1.score, r2.score,
           hearth_qc_threshold(qc));
    CHECK(!r0.anomalous && !r1.anomalous && !r2.anomalous);
    CHECK_NEAR(r1.score, r0.score, 0.25 * r0.score);
    CHECK(r0.heat && r0.heat_w == 16 && r0.heat_h == 16);
    hearth_qc_result_free(&r0), hearth_qc_result_free(&r1), hearth_qc_result_free(&r2);
    free(rot.data);
    hearth_image_free(&img);
    hearth_qc_free(qc);

    /* without --val: the held-out good images set it, above most of them */
    char cmd[2048], *out = NULL, m2[512];
    snprintf(m2, sizeof m2, "%s/noval.gguf", tmpdir);
    snprintf(cmd, sizeof cmd, "%s qc fit --good %s/train/good -o %s --json -q", HEARTH_BIN, QDATA, m2);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    cJSON *j = cJSON_Parse(out ? out : "");
    CHECK(j && cJSON_GetObjectItem(j, "val_good")->valueint == 12);
    CHECK(j && cJSON_GetObjectItem(j, "val_false_alarm")->valuedouble <= 0.1);
    cJSON_Delete(j);
    free(out);
}

TEST(bad_input_named) {
    char bad[512], cmd[2048], *out = NULL;
    snprintf(bad, sizeof bad, "%s/broken.png", tmpdir);
    FILE *f = fopen(bad, "wb");
    fputs("\x89PNG\r\n\x1a\nthis is not a png at all", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s qc score -m %s --json %s %s/test/good/0000.png 2>%s/err.txt", HEARTH_BIN, model, bad,
             QDATA, tmpdir);
    CHECK_EQ_INT(harness_run(cmd, &out), 1);
    CHECK(out && strstr(out, "0000.png") && !strstr(out, "broken.png"));   /* the good one still scored */
    free(out);
    char ep[512];
    snprintf(ep, sizeof ep, "%s/err.txt", tmpdir);
    char *err = harness_read(ep, NULL);
    CHECK(err && strstr(err, "broken.png"));
    free(err);
    /* a folder of good parts with a non-image in it */
    char gdir[512];
    snprintf(gdir, sizeof gdir, "%s/good", tmpdir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/train/good/000[0-4].png %s/ && echo hello > %s/notes.txt", gdir,
             QDATA, gdir, gdir);
    harness_run(cmd, NULL);
    snprintf(cmd, sizeof cmd, "%s qc fit --good %s -o %s/x.gguf -q 2>&1", HEARTH_BIN, gdir, tmpdir);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK_MSG(out && strstr(out, "notes.txt"), "%s", out ? out : "");
    free(out);
    /* a model that is not one */
    hearth_qc *qc = NULL;
    CHECK(hearth_qc_load(QDATA "/defects.jsonl", &qc) != HEARTH_OK);
    CHECK(qc == NULL);
    /* an image too small for the features */
    hearth_image tiny = {8, 8, 1, (uint8_t[64]){0}};
    hearth_qc_result r;
    if (hearth_qc_load(model, &qc) == HEARTH_OK) {
        CHECK(hearth_qc_score(qc, &tiny, &r) == HEARTH_ERR_INVALID_ARG);
        hearth_qc_free(qc);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth_qc_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(model, sizeof model, "%s/qc.gguf", tmpdir);
    read_boxes();
    RUN(fit_reports);
    RUN(scores_separate_and_locate);
    RUN(orientation_and_threshold);
    RUN(bad_input_named);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    harness_run(cmd, NULL);
    return harness_done();
}
