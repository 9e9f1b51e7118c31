/*
 * cmd_vision.c — `hearth vision train|eval`: small image classifiers
 * trained in C (include/hearth/vision_train.h).
 *
 *   hearth vision train --data IMAGES.idx[.gz] --labels LABELS.idx[.gz] -o clf.gguf
 *                       [--arch cnn|vit|LAYERS] [--epochs N] [-t 2] ...
 *   hearth vision train --data DIR -o clf.gguf        (DIR/<class>/<image>)
 *   hearth vision eval -m clf.gguf --data ... [--labels ...] [--json]
 *       -> {"accuracy": f, "n": N, "per_class": {"name": f, ...}}
 *   hearth vision predict -m clf.gguf [--json] IMG...
 */
#include "cli.h"
#include "hearth/vision_train.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if __has_include("hearth/image.h")
#include "hearth/image.h"
#define HAVE_IMAGE 1
#else
#define HAVE_IMAGE 0
#endif

const char *const cmd_vision_summary = "train and evaluate small image classifiers (CNN, ViT)";

static void usage(void) {
    printf("usage: hearth vision train --data IMAGES [--labels LABELS] -o MODEL.gguf [options]\n"
           "       hearth vision eval -m MODEL.gguf --data IMAGES [--labels LABELS] [--json]\n"
           "       hearth vision predict -m MODEL.gguf [--json] IMAGE...\n\n"
           "IMAGES is an IDX image file (MNIST / Fashion-MNIST, .gz or not) with --labels\n"
           "its IDX label file, or a folder with one sub-folder of images per class.\n\n"
           "train options:\n"
           "  --arch A            cnn (default), vit, or a layer list such as\n"
           "                      conv16,bn,relu,pool,fc64,relu,fc\n"
           "  --epochs N          passes over the data (default 5)\n"
           "  --batch N           images per step (default 64)\n"
           "  --lr X              peak learning rate (default 2e-3 cnn, 1e-3 vit)\n"
           "  --wd X              AdamW weight decay (default 0.05)\n"
           "  --limit N           use only the first N training images\n"
           "  --time-limit S      stop after S seconds of training\n"
           "  --no-flip           no random horizontal flips\n"
           "  --crop N            random shifts of up to N pixels (default 1; 0: none)\n"
           "  --brightness X      random gain in [1-X, 1+X] (default 0.1)\n"
           "  --val IMAGES [--val-labels LABELS]   accuracy after each epoch\n"
           "  --checkpoint FILE   written after every epoch; --resume continues from it\n"
           "  --seed N            (default 1)\n"
           "  -t, --threads N     (default 2)\n"
           "  -q, --quiet         no progress\n"
           "eval options:\n"
           "  --limit N           only the first N images\n"
           "  --json              {\"accuracy\": f, \"n\": N, \"per_class\": {...}}\n");
}

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static hearth_status load_data(const char *data, const char *labels, int w, int h, int c, hearth_vdata *d) {
    if (is_dir(data)) return hearth_vdata_load_dir(data, w, h, c, d);
    if (!labels) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s is an IDX file: give its --labels too", data);
    return hearth_vdata_load_idx(data, labels, d);
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct prog {
    bool tty, quiet;
} prog;

static bool on_progress(const hearth_vtrain_progress *p, void *user) {
    prog *pr = user;
    if (pr->quiet) return !interrupted;
    double rate = p->elapsed_s > 0 ? (double)p->step / p->elapsed_s : 0;
    double left = rate > 0 ? (double)(p->steps - p->step) / rate : 0;
    if (p->val_accuracy >= 0 || !pr->tty) {
        if (pr->tty) fputc('\n', stderr);
        fprintf(stderr, "epoch %d/%d step %lld/%lld loss %.4f %.1f steps/s %.0fs elapsed", p->epoch, p->epochs,
                (long long)p->step, (long long)p->steps, p->loss, rate, p->elapsed_s);
        if (p->val_accuracy >= 0) fprintf(stderr, " val accuracy %.4f", p->val_accuracy);
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "\repoch %d/%d step %lld/%lld loss %.4f %.1f steps/s, %.0fs left   ", p->epoch, p->epochs,
                (long long)p->step, (long long)p->steps, p->loss, rate, left);
    }
    return !interrupted;
}

static int cmd_train(int argc, char **argv) {
    const char *data = NULL, *labels = NULL, *out = NULL, *arch = "cnn", *val = NULL, *val_labels = NULL;
    int64_t threads = 2, limit = 0, epochs = 0, batch = 0, seed = 1, crop = 1;
    double lr = 0, wd = -1, tlim = 0, bright = 0.1;
    bool quiet = false, resume = false, flip = true;
    const char *ckpt = NULL;
    cli_args a = cli_args_init("vision train", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--data", &data) || cli_opt(&a, NULL, "--labels", &labels) ||
            cli_opt(&a, "-o", "--output", &out) || cli_opt(&a, NULL, "--arch", &arch) ||
            cli_opt(&a, NULL, "--val", &val) || cli_opt(&a, NULL, "--val-labels", &val_labels) ||
            cli_opt(&a, NULL, "--checkpoint", &ckpt) || cli_opt_int(&a, "-t", "--threads", &threads) ||
            cli_opt_int(&a, NULL, "--limit", &limit) || cli_opt_int(&a, NULL, "--epochs", &epochs) ||
            cli_opt_int(&a, NULL, "--batch", &batch) || cli_opt_int(&a, NULL, "--seed", &seed) ||
            cli_opt_int(&a, NULL, "--crop", &crop) || cli_opt_float(&a, NULL, "--lr", &lr) ||
            cli_opt_float(&a, NULL, "--wd", &wd) || cli_opt_float(&a, NULL, "--time-limit", &tlim) ||
            cli_opt_float(&a, NULL, "--brightness", &bright))
            continue;
        if (cli_flag(&a, "-q", "--quiet")) { quiet = true; continue; }
        if (cli_flag(&a, NULL, "--resume")) { resume = true; continue; }
        if (cli_flag(&a, NULL, "--no-flip")) { flip = false; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!data || !out) return cli_error("vision train", "--data and -o are required (see --help)");
    if (threads < 1 || threads > 64 || epochs < 0 || batch < 0 || crop < 0 || crop > 64)
        return cli_error("vision train", "bad --threads, --epochs, --batch or --crop");

    hearth_vdata d = {0}, vd = {0};
    if (load_data(data, labels, 0, 0, 0, &d)) return cli_lib_error("vision train");
    if (limit > 0) hearth_vdata_truncate(&d, limit);
    if (val && load_data(val, val_labels, d.w, d.h, d.c, &vd)) {
        hearth_vdata_free(&d);
        return cli_lib_error("vision train");
    }
    hearth_vnet *net = NULL;
    hearth_pool *pool = NULL;
    int rc = 0;
    if (hearth_vnet_create(arch, d.w, d.h, d.c, d.n_classes, (uint64_t)seed, &net) ||
        hearth_vnet_set_class_names(net, d.class_names, d.n_classes)) {
        rc = cli_lib_error("vision train");
        goto done;
    }
    pool = hearth_pool_create((int)threads);
    if (!pool) {
        rc = cli_error("vision train", "cannot start %lld threads", (long long)threads);
        goto done;
    }
    hearth_vtrain_params p = hearth_vtrain_default_params();
    p.epochs = (int)epochs;
    p.batch = (int)batch;
    p.lr = (float)lr;
    if (wd >= 0) p.weight_decay = (float)wd;
    p.time_limit_s = tlim;
    p.flip = flip;
    p.crop = (int)crop;
    p.brightness = (float)bright;
    p.seed = (uint64_t)seed;
    p.checkpoint = ckpt;
    p.resume = resume;
    p.val = val ? &vd : NULL;
    prog pr = {cli_stderr_tty(), quiet};
    p.progress = on_progress;
    p.user = &pr;
    if (!quiet)
        fprintf(stderr, "vision train: %lld images %dx%dx%d, %d classes, arch %s (%lld parameters), %lld threads\n",
                (long long)d.n, d.w, d.h, d.c, d.n_classes, arch, (long long)hearth_vnet_n_params(net),
                (long long)threads);
    signal(SIGINT, on_sigint);
    double t0 = hearth_time_s();
    hearth_status st = hearth_vision_train(net, pool, &d, &p);
    signal(SIGINT, SIG_DFL);
    if (st && st != HEARTH_ERR_CANCELLED) {
        rc = cli_lib_error("vision train");
        goto done;
    }
    if (hearth_vnet_save(net, out)) {
        rc = cli_lib_error("vision train");
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "vision train: %s in %.1f s -> %s\n", st ? "stopped" : "done", hearth_time_s() - t0, out);
done:
    hearth_vnet_free(net);
    hearth_pool_free(pool);
    hearth_vdata_free(&d);
    hearth_vdata_free(&vd);
    return rc;
}

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *labels = NULL;
    int64_t threads = 2, limit = 0;
    bool json = false;
    cli_args a = cli_args_init("vision eval", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model) || cli_opt(&a, NULL, "--data", &data) ||
            cli_opt(&a, NULL, "--labels", &labels) || cli_opt_int(&a, "-t", "--threads", &threads) ||
            cli_opt_int(&a, NULL, "--limit", &limit))
            continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!model || !data) return cli_error("vision eval", "-m and --data are required (see --help)");
    if (threads < 1 || threads > 64) return cli_error("vision eval", "bad --threads");
    hearth_vnet *net = NULL;
    if (hearth_vnet_load(model, &net)) return cli_lib_error("vision eval");
    int w, h, c, k;
    hearth_vnet_shape(net, &w, &h, &c, &k);
    hearth_vdata d = {0};
    hearth_pool *pool = NULL;
    int64_t *correct = calloc((size_t)k, sizeof(int64_t)), *total = calloc((size_t)k, sizeof(int64_t));
    int rc = 0;
    double acc = 0;
    if (load_data(data, labels, w, h, c, &d)) {
        rc = cli_lib_error("vision eval");
        goto done;
    }
    if (limit > 0) hearth_vdata_truncate(&d, limit);
    pool = hearth_pool_create((int)threads);
    if (!correct || !total || !pool) {
        rc = cli_error("vision eval", "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < d.n; i++)
        if (d.labels[i] >= k) {
            rc = cli_error("vision eval", "%s: label %d but the model has %d classes", labels ? labels : data,
                           d.labels[i], k);
            goto done;
        }
    if (hearth_vnet_evaluate(net, pool, &d, &acc, correct, total)) {
        rc = cli_lib_error("vision eval");
        goto done;
    }
    if (json) {
        printf("{\"accuracy\": %.6f, \"n\": %lld, \"per_class\": {", acc, (long long)d.n);
        for (int i = 0; i < k; i++) {
            const char *name = hearth_vnet_class_name(net, i);
            printf("%s", i ? ", " : "");
            cli_json_str(stdout, name, strlen(name));
            printf(": %.6f", total[i] ? (double)correct[i] / (double)total[i] : 0.0);
        }
        printf("}}\n");
    } else {
        printf("accuracy %.4f on %lld images\n", acc, (long long)d.n);
        for (int i = 0; i < k; i++)
            printf("  %-20s %.4f (%lld of %lld)\n", hearth_vnet_class_name(net, i),
                   total[i] ? (double)correct[i] / (double)total[i] : 0.0, (long long)correct[i],
                   (long long)total[i]);
    }
done:
    free(correct);
    free(total);
    hearth_pool_free(pool);
    hearth_vdata_free(&d);
    hearth_vnet_free(net);
    return rc;
}

static int cmd_predict(int argc, char **argv) {
    const char *model = NULL;
    bool json = false;
    cli_args a = cli_args_init("vision predict", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!model || a.n_pos == 0) return cli_error("vision predict", "-m and at least one image are required");
#if !HAVE_IMAGE
    (void)json;
    return cli_error("vision predict", "this build has no image decoders");
#else
    hearth_vnet *net = NULL;
    if (hearth_vnet_load(model, &net)) return cli_lib_error("vision predict");
    int w, h, c, k, rc = 0;
    hearth_vnet_shape(net, &w, &h, &c, &k);
    float *probs = malloc((size_t)k * sizeof(float));
    for (int i = 0; i < a.n_pos && probs; i++) {
        hearth_image img = {0};
        if (hearth_image_load(a.pos[i], c, &img)) {
            fprintf(stderr, "hearth vision predict: error: %s: %s\n", a.pos[i], hearth_last_error());
            rc = 1;
            continue;
        }
        if (img.w != w || img.h != h) {
            fprintf(stderr, "hearth vision predict: error: %s is %dx%d, the model wants %dx%d\n", a.pos[i], img.w,
                    img.h, w, h);
            hearth_image_free(&img);
            rc = 1;
            continue;
        }
        hearth_vnet_predict(net, NULL, img.data, 1, probs);
        hearth_image_free(&img);
        int best = 0;
        for (int j = 1; j < k; j++)
            if (probs[j] > probs[best]) best = j;
        const char *name = hearth_vnet_class_name(net, best);
        if (json) {
            printf("{\"image\": ");
            cli_json_str(stdout, a.pos[i], strlen(a.pos[i]));
            printf(", \"class\": ");
            cli_json_str(stdout, name, strlen(name));
            printf(", \"p\": %.6f}\n", probs[best]);
        } else {
            printf("%s\t%s\t%.4f\n", a.pos[i], name, probs[best]);
        }
    }
    free(probs);
    hearth_vnet_free(net);
    return rc;
#endif
}

int cmd_vision(int argc, char **argv) {
    cli_install_logger();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "predict")) return cmd_predict(argc - 1, argv + 1);
    return cli_error("vision", "unknown subcommand \"%s\" (train, eval, predict)", argv[1]);
}
