/*
 * cmd_classify.c — `hearth classify -m CLIP.gguf --image IMG --labels "a,b,c"`:
 * zero-shot image classification with a two-tower CLIP file
 * (include/hearth/clip.h): each label is a text, the probabilities are the
 * softmax of the scaled cosine similarities between the image and the
 * labels' embeddings.
 *
 * Output: one line per label, most probable first ("0.9132  a photo of a
 * scratch"); with --json {"image":..., "labels":[{"label":..., "probability":
 * p}] (in the order given), "best":...}.
 */
#include "cli.h"
#include "hearth/clip.h"
#include "hearth/image.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_classify_summary = "zero-shot image classification with a two-tower CLIP model";

static void usage(void) {
    printf("usage: hearth classify -m CLIP.gguf --image IMG --labels \"a photo of a scratch,a photo of a clean surface\"\n\n"
           "Scores the image against each label (a comma-separated list of texts) with a\n"
           "two-tower CLIP model and prints the probabilities, most probable first.\n\n"
           "  -m, --model FILE     two-tower CLIP GGUF (vision + text towers, projections)\n"
           "  --image FILE         PNG, JPEG, WebP, GIF or BMP\n"
           "  --labels LIST        comma-separated label texts (2 or more)\n"
           "  --json               print {\"image\",\"labels\":[{\"label\",\"probability\"}],\"best\"}\n"
           "  -t, --threads N      threads (default: all CPUs)\n");
}

int cmd_classify(int argc, char **argv) {
    const char *model = NULL, *image = NULL, *labels = NULL;
    bool json = false;
    int64_t threads = 0;
    cli_args a = cli_args_init("classify", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, NULL, "--image", &image)) continue;
        if (cli_opt(&a, NULL, "--labels", &labels)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!model || !image || !labels)
        return cli_error("classify", "give -m CLIP.gguf, --image IMG and --labels \"a,b\" (see hearth classify --help)"), 2;
    if (threads < 0 || threads > 4096) return cli_error("classify", "-t must be 0 .. 4096"), 2;
    /* the labels: comma-separated, trimmed, non-empty */
    char *list = strdup(labels);
    const char **lab = calloc(strlen(labels) / 2 + 2, sizeof *lab);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        size_t l = strlen(t);
        while (l && t[l - 1] == ' ') t[--l] = 0;
        if (l) lab[n++] = t;
    }
    int rc = 0;
    hearth_clip *v = NULL;
    hearth_image img = {0};
    float *p = calloc((size_t)n + 1, sizeof *p);
    if (n < 2) {
        rc = cli_error("classify", "--labels: give at least two labels, separated by commas");
        goto out;
    }
    hearth_clip_params cp = hearth_clip_default_params();
    cp.n_threads = (int)threads;
    if (hearth_clip_load(model, &cp, &v) || hearth_image_load(image, 3, &img) ||
        hearth_clip_classify(v, &img, lab, n, p)) {
        rc = cli_lib_error("classify");
        goto out;
    }
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    if (json) {
        printf("{\"image\": ");
        cli_json_str(stdout, image, strlen(image));
        printf(", \"labels\": [");
        for (int i = 0; i < n; i++) {
            printf("%s{\"label\": ", i ? ", " : "");
            cli_json_str(stdout, lab[i], strlen(lab[i]));
            printf(", \"probability\": %.6g}", p[i]);
        }
        printf("], \"best\": ");
        cli_json_str(stdout, lab[best], strlen(lab[best]));
        printf("}\n");
    } else {
        bool *done = calloc((size_t)n, sizeof *done);
        for (int k = 0; k < n && done; k++) {   /* most probable first */
            int m = -1;
            for (int i = 0; i < n; i++)
                if (!done[i] && (m < 0 || p[i] > p[m])) m = i;
            done[m] = true;
            printf("%.4f  %s\n", p[m], lab[m]);
        }
        free(done);
    }
out:
    hearth_image_free(&img);
    hearth_clip_free(v);
    free(p);
    free(lab);
    free(list);
    return rc;
}
