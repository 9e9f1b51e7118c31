/*
 * cmd_qc.c — `hearth qc fit|score|eval|watch`: anomaly detection for
 * quality inspection, fitted on good parts only (include/hearth/qc.h).
 *
 *   hearth qc fit --good DIR [--val DIR] -o qc.gguf [--false-alarm 0.01]
 *   hearth qc score -m qc.gguf [--json] [--heatmap DIR] IMG...
 *       -> {"image": PATH, "score": f, "anomalous": bool, "region": [x, y, w, h]}
 *   hearth qc eval -m qc.gguf --good DIR --bad DIR [--json]
 *   hearth qc watch -m qc.gguf (DIR | --stdin) [...]      (qc_watch.c)
 */
#include "cli.h"
#include "core/buf.h"
#include "qc_watch.h"
#include "hearth/qc.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const cmd_qc_summary = "quality inspection: fit on good parts, score images, watch a line";

static void usage(void) {
    printf("usage: hearth qc fit --good DIR [--val DIR] -o QC.gguf [options]\n"
           "       hearth qc score -m QC.gguf [--json] [--heatmap DIR] IMAGE...\n"
           "       hearth qc eval -m QC.gguf --good DIR --bad DIR [--json]\n"
           "       hearth qc watch -m QC.gguf (DIR | --stdin) [options]   (see hearth qc watch --help)\n\n"
           "fit: learns what good parts look like from the images in --good (no defects\n"
           "needed) and sets the alert threshold on good validation images so that about\n"
           "--false-alarm of good parts raise an alert. --val DIR holds good/ (and\n"
           "optionally bad/, used only to report AUROC and F1); without --val, a fifth\n"
           "of the good images is held out for the threshold.\n"
           "  --false-alarm X     share of good parts allowed to alert (default 0.01)\n"
           "  --bank N            memory-bank size (default: 10%% of the patches)\n"
           "  -t, --threads N     (default 2)\n"
           "  --json              print the fit report as JSON\n\n"
           "score: one line per image: PATH SCORE ok|DEFECT x,y,w,h; with --json\n"
           "{\"image\", \"score\", \"anomalous\", \"region\": [x, y, w, h]}. --heatmap DIR writes\n"
           "one PGM heat map per image (brighter = more unusual). --threshold X overrides\n"
           "the model's threshold.\n");
}

static void on_progress(const char *stage, int64_t done, int64_t total, void *user) {
    if (!*(bool *)user) return;
    fprintf(stderr, "\rqc fit: %s %lld/%lld   ", stage, (long long)done, (long long)total);
    if (done == total) fputc('\n', stderr);
}

static int cmd_fit(int argc, char **argv) {
    const char *good = NULL, *val = NULL, *out = NULL;
    double fa = 0.01;
    int64_t bank = 0, threads = 2;
    bool json = false, quiet = false;
    cli_args a = cli_args_init("qc fit", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--good", &good) || cli_opt(&a, NULL, "--val", &val) ||
            cli_opt(&a, "-o", "--output", &out) || cli_opt_float(&a, NULL, "--false-alarm", &fa) ||
            cli_opt_int(&a, NULL, "--bank", &bank) || cli_opt_int(&a, "-t", "--threads", &threads))
            continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, "-q", "--quiet")) { quiet = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!good || !out) return cli_error("qc fit", "--good and -o are required (see --help)");
    if (fa <= 0 || fa >= 1) return cli_error("qc fit", "--false-alarm must be between 0 and 1");
    if (threads < 1 || threads > 64 || bank < 0) return cli_error("qc fit", "bad --threads or --bank");
    hearth_pool *pool = hearth_pool_create((int)threads);
    hearth_qc_params p = hearth_qc_default_params();
    p.false_alarm = fa;
    p.bank_size = (int)bank;
    bool show = !quiet && cli_stderr_tty();
    p.progress = on_progress;
    p.user = &show;
    hearth_qc *qc = NULL;
    hearth_qc_fit_report r;
    double t0 = hearth_time_s();
    hearth_status st = hearth_qc_fit_dirs(good, val, &p, pool, &qc, &r);
    hearth_pool_free(pool);
    if (st) return cli_lib_error("qc fit");
    if (hearth_qc_save(qc, out)) {
        hearth_qc_free(qc);
        return cli_lib_error("qc fit");
    }
    hearth_qc_free(qc);
    double el = hearth_time_s() - t0;
    if (json) {
        printf("{\"model\": ");
        cli_json_str(stdout, out, strlen(out));
        printf(", \"train_images\": %d, \"patches\": %lld, \"bank\": %lld, \"val_good\": %d, \"val_bad\": %d, "
               "\"threshold\": %.6f, \"val_false_alarm\": %.4f",
               r.n_train, (long long)r.n_patches, (long long)r.bank_size, r.n_val_good, r.n_val_bad, r.threshold,
               r.val_false_alarm);
        if (r.val_auroc >= 0) printf(", \"val_auroc\": %.4f, \"val_f1\": %.4f", r.val_auroc, r.val_f1);
        printf(", \"seconds\": %.2f}\n", el);
    } else if (!quiet) {
        fprintf(stderr, "qc fit: %d good images -> %lld patches -> bank of %lld; threshold %.4f (%.1f%% of %d good "
                        "validation images over it)",
                r.n_train, (long long)r.n_patches, (long long)r.bank_size, r.threshold, 100 * r.val_false_alarm,
                r.n_val_good);
        if (r.val_auroc >= 0) fprintf(stderr, "; validation AUROC %.4f, F1 %.4f", r.val_auroc, r.val_f1);
        fprintf(stderr, "; %.1f s -> %s\n", el, out);
    }
    return 0;
}

/* writes the heat map as an 8-bit PGM at image resolution (each cell a block) */
static void write_heatmap(const char *dir, const char *img_path, const hearth_qc_result *r, double thr) {
    const char *base = strrchr(img_path, '/');
    base = base ? base + 1 : img_path;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.heat.pgm", dir, base);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "hearth qc score: error: cannot write %s\n", path);
        return;
    }
    int W = r->heat_w * r->cell, H = r->heat_h * r->cell;
    fprintf(f, "P5\n%d %d\n255\n", W, H);
    double top = thr > 0 ? 2 * thr : 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double v = r->heat[(size_t)(y / r->cell) * r->heat_w + x / r->cell] / top;
            fputc((int)(255 * (v > 1 ? 1 : v)), f);
        }
    fclose(f);
}

/* splits argv into options (with their values) and any number of image paths: cli_args keeps at most
 * 16 positional arguments and an inspection batch has hundreds */
static int split_images(int argc, char **argv, const char *const *with_value, char **opts, const char **imgs,
                        int *n_imgs) {
    int no = 0;
    *n_imgs = 0;
    opts[no++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] != '-' || s[1] == 0) {
            imgs[(*n_imgs)++] = s;
            continue;
        }
        opts[no++] = argv[i];
        for (int k = 0; with_value[k]; k++)
            if (!strcmp(s, with_value[k]) && i + 1 < argc) opts[no++] = argv[++i];
    }
    return no;
}

static int qc_score_run(int argc, char **argv, const char **imgs, int n_imgs);

static int cmd_score(int argc, char **argv) {
    static const char *const with_value[] = {"-m", "--model", "--heatmap", "--threshold", NULL};
    char **opts = calloc((size_t)argc + 1, sizeof(char *));
    const char **imgs = calloc((size_t)argc + 1, sizeof(char *));
    int n_imgs = 0;
    if (!opts || !imgs) {
        free(opts), free(imgs);
        return cli_error("qc score", "out of memory");
    }
    int n_opts = split_images(argc, argv, with_value, opts, imgs, &n_imgs);
    int rc = qc_score_run(n_opts, opts, imgs, n_imgs);
    free(opts), free(imgs);
    return rc;
}

static int qc_score_run(int argc, char **argv, const char **imgs, int n_imgs) {
    const char *model = NULL, *heat = NULL;
    double thr = -1;
    bool json = false;
    cli_args a = cli_args_init("qc score", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model) || cli_opt(&a, NULL, "--heatmap", &heat) ||
            cli_opt_float(&a, NULL, "--threshold", &thr))
            continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!model || n_imgs == 0) return cli_error("qc score", "-m and at least one image are required");
    hearth_qc *qc = NULL;
    if (hearth_qc_load(model, &qc)) return cli_lib_error("qc score");
    if (thr >= 0) hearth_qc_set_threshold(qc, thr);
    int rc = 0;
    for (int i = 0; i < n_imgs; i++) {
        hearth_image img = {0};
        hearth_qc_result r;
        if (hearth_image_load(imgs[i], 1, &img) || hearth_qc_score(qc, &img, &r)) {
            const char *msg = hearth_last_error();
            if (strstr(msg, imgs[i])) fprintf(stderr, "hearth qc score: error: %s\n", msg);
            else fprintf(stderr, "hearth qc score: error: %s: %s\n", imgs[i], msg);
            hearth_image_free(&img);
            rc = 1;
            continue;
        }
        hearth_image_free(&img);
        if (json) {
            printf("{\"image\": ");
            cli_json_str(stdout, imgs[i], strlen(imgs[i]));
            printf(", \"score\": %.6f, \"anomalous\": %s, \"region\": [%d, %d, %d, %d]}\n", r.score,
                   r.anomalous ? "true" : "false", r.region[0], r.region[1], r.region[2], r.region[3]);
        } else {
            printf("%s\t%.4f\t%s\t%d,%d,%d,%d\n", imgs[i], r.score, r.anomalous ? "DEFECT" : "ok", r.region[0],
                   r.region[1], r.region[2], r.region[3]);
        }
        fflush(stdout);
        if (heat) write_heatmap(heat, imgs[i], &r, hearth_qc_threshold(qc));
        hearth_qc_result_free(&r);
    }
    hearth_qc_free(qc);
    return rc;
}

/* scores every image of a folder; appends to s / l */
static int score_dir(const char *cmd, const hearth_qc *qc, const char *dir, int label, double **s, int **l, int *n,
                     size_t *cap) {
    DIR *d = opendir(dir);
    if (!d) return cli_error(cmd, "%s: cannot open folder", dir);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        hearth_image img = {0};
        hearth_qc_result r;
        if (hearth_image_load(path, 1, &img) || hearth_qc_score(qc, &img, &r)) {
            fprintf(stderr, "hearth %s: error: %s: %s\n", cmd, path, hearth_last_error());
            hearth_image_free(&img);
            rc = 1;
            continue;
        }
        hearth_image_free(&img);
        size_t c2 = *cap;
        if (!HEARTH_GROW(*s, *cap, (size_t)*n + 1) || !HEARTH_GROW(*l, c2, (size_t)*n + 1)) {
            rc = cli_error(cmd, "out of memory");
            hearth_qc_result_free(&r);
            break;
        }
        (*s)[*n] = r.score;
        (*l)[(*n)++] = label;
        hearth_qc_result_free(&r);
    }
    closedir(d);
    return rc;
}

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *good = NULL, *bad = NULL;
    bool json = false;
    cli_args a = cli_args_init("qc eval", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model) || cli_opt(&a, NULL, "--good", &good) ||
            cli_opt(&a, NULL, "--bad", &bad))
            continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!model || !good || !bad) return cli_error("qc eval", "-m, --good and --bad are required");
    hearth_qc *qc = NULL;
    if (hearth_qc_load(model, &qc)) return cli_lib_error("qc eval");
    double *s = NULL;
    int *l = NULL, n = 0;
    size_t cap = 0;
    double t0 = hearth_time_s();
    int rc = score_dir("qc eval", qc, good, 0, &s, &l, &n, &cap);
    if (!rc) rc = score_dir("qc eval", qc, bad, 1, &s, &l, &n, &cap);
    double el = hearth_time_s() - t0;
    if (!rc) {
        double thr = hearth_qc_threshold(qc);
        int tp = 0, fp = 0, fn = 0, ng = 0;
        for (int i = 0; i < n; i++) {
            bool alert = s[i] > thr;
            tp += alert && l[i], fp += alert && !l[i], fn += !alert && l[i], ng += !l[i];
        }
        double auroc = hearth_qc_auroc(s, l, n), f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
        if (json)
            printf("{\"auroc\": %.4f, \"f1\": %.4f, \"threshold\": %.6f, \"good\": %d, \"bad\": %d, "
                   "\"false_alarms\": %d, \"missed\": %d, \"seconds\": %.2f}\n",
                   auroc, f1, thr, ng, n - ng, fp, fn, el);
        else
            printf("AUROC %.4f  F1 %.4f at threshold %.4f  (%d good: %d false alarms; %d bad: %d missed)  %.1f s\n",
                   auroc, f1, thr, ng, fp, n - ng, fn, el);
    }
    free(s);
    free(l);
    hearth_qc_free(qc);
    return rc;
}

int cmd_qc(int argc, char **argv) {
    cli_install_logger();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "fit")) return cmd_fit(argc - 1, argv + 1);
    if (!strcmp(argv[1], "score")) return cmd_score(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "watch")) return qc_watch_main(argc - 1, argv + 1);
    return cli_error("qc", "unknown subcommand \"%s\" (fit, score, eval, watch)", argv[1]);
}
