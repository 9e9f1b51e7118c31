/*
 * cmd_images.c — `hearth images add|search`: cross-modal retrieval with a
 * two-tower CLIP model over a knowledge collection (include/hearth/rag.h):
 * images and texts are embedded into CLIP's one space and stored as items
 * of kind "image" / "text"; a text finds images and an image finds texts
 * (or either finds both) by cosine similarity.
 *
 *   hearth images add    --db DIR -c NAME -m CLIP.gguf IMG... [-p TEXT]...
 *   hearth images search --db DIR -c NAME -m CLIP.gguf (-p TEXT | --image IMG)
 *                        [--kind image|text] [-k N] [--json]
 */
#include "cli.h"
#include "hearth/clip.h"
#include "hearth/image.h"
#include "hearth/rag.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_images_summary = "cross-modal search: images and texts in one collection (two-tower CLIP)";

static void usage(void) {
    printf("usage: hearth images add    --db DIR -c NAME -m CLIP.gguf [IMAGE...] [-p TEXT]...\n"
           "       hearth images search --db DIR -c NAME -m CLIP.gguf (-p TEXT | --image IMG) [options]\n\n"
           "Stores images (and texts) as items of a knowledge collection (hearth rag), embedded\n"
           "with a two-tower CLIP model, and searches them by cosine similarity: a text finds\n"
           "images, an image finds texts, either finds both.\n\n"
           "  --db DIR             the collections' folder (as hearth rag --db)\n"
           "  -c, --collection N   the collection (created by add)\n"
           "  -m, --model FILE     two-tower CLIP GGUF\n"
           "  -p, --prompt TEXT    add: a text item (repeatable); search: the query text\n"
           "  --image IMG          search: the query image\n"
           "  --kind K             search: only items of kind image or text\n"
           "  -k N                 results (default 5)\n"
           "  --json               search: {\"results\":[{\"kind\",\"source\",\"text\",\"score\"}]}\n"
           "  -t, --threads N      threads (default: all CPUs)\n");
}

int cmd_images(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "search"))) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            usage();
            return 0;
        }
        return cli_error("images", "expected 'add' or 'search' (see hearth images --help)"), 2;
    }
    bool add = !strcmp(argv[1], "add");
    const char *db = NULL, *coll = NULL, *model = NULL, *image = NULL, *kind = NULL, *texts[64];
    int n_texts = 0;
    int64_t k = 5, threads = 0;
    bool json = false;
    cli_args a = cli_args_init("images", argc - 1, argv + 1);
    while (cli_next(&a)) {
        const char *t;
        if (cli_opt(&a, NULL, "--db", &db)) continue;
        if (cli_opt(&a, "-c", "--collection", &coll)) continue;
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, NULL, "--image", &image)) continue;
        if (cli_opt(&a, NULL, "--kind", &kind)) continue;
        if (cli_opt(&a, "-p", "--prompt", &t)) {
            if (n_texts == 64) return cli_error("images", "at most 64 -p texts"), 2;
            texts[n_texts++] = t;
            continue;
        }
        if (cli_opt_int(&a, "-k", NULL, &k)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (!db || !coll || !model) return cli_error("images", "give --db DIR, -c NAME and -m CLIP.gguf"), 2;
    if (add && a.n_pos == 0 && n_texts == 0) return cli_error("images", "add: nothing to add (images or -p TEXT)"), 2;
    if (!add && (!!image + (n_texts > 0) != 1 || n_texts > 1))
        return cli_error("images", "search: give one query, -p TEXT or --image IMG"), 2;
    if (!add && kind && strcmp(kind, "image") && strcmp(kind, "text"))
        return cli_error("images", "--kind must be image or text"), 2;
    if (k < 1 || k > 1000) return cli_error("images", "-k must be 1 .. 1000"), 2;

    hearth_clip_params cp = hearth_clip_default_params();
    cp.n_threads = (int)threads;
    hearth_clip *v = NULL;
    hearth_rag *r = NULL;
    float *e = NULL;
    int rc = 0;
    if (hearth_clip_load(model, &cp, &v) || hearth_rag_open(db, coll, add, &r)) {
        rc = cli_lib_error("images");
        goto out;
    }
    if (!hearth_clip_has_text(v)) {
        rc = cli_error("images", "%s has no text tower: cross-modal search needs a two-tower CLIP file", model);
        goto out;
    }
    int32_t d = hearth_clip_embd_dim(v);
    if (!(e = malloc(sizeof *e * d))) { rc = cli_error("images", "out of memory"); goto out; }
    if (add) {
        for (int i = 0; i < a.n_pos; i++) {   /* images: source = path, text = path */
            hearth_image img;
            if (hearth_image_load(a.pos[i], 3, &img)) { rc = cli_lib_error("images"); goto out; }
            hearth_status st = hearth_clip_embed_image(v, &img, e);
            hearth_image_free(&img);
            if (st || hearth_rag_add_item(r, a.pos[i], "image", a.pos[i], e, d, NULL, NULL)) {
                rc = cli_lib_error("images");
                goto out;
            }
        }
        for (int i = 0; i < n_texts; i++) {
            if (hearth_clip_embed_text(v, texts[i], strlen(texts[i]), e) ||
                hearth_rag_add_item(r, texts[i], "text", texts[i], e, d, NULL, NULL)) {
                rc = cli_lib_error("images");
                goto out;
            }
        }
        fprintf(stderr, "hearth images: added %d image%s and %d text%s to %s\n", a.n_pos, a.n_pos == 1 ? "" : "s",
                n_texts, n_texts == 1 ? "" : "s", coll);
        goto out;
    }
    /* search */
    if (image) {
        hearth_image img;
        if (hearth_image_load(image, 3, &img)) { rc = cli_lib_error("images"); goto out; }
        hearth_status st = hearth_clip_embed_image(v, &img, e);
        hearth_image_free(&img);
        if (st) { rc = cli_lib_error("images"); goto out; }
    } else if (hearth_clip_embed_text(v, texts[0], strlen(texts[0]), e)) {
        rc = cli_lib_error("images");
        goto out;
    }
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.k = (int32_t)k;
    char filter[96];
    if (kind) {
        snprintf(filter, sizeof filter, "{\"type\": \"eq\", \"key\": \"kind\", \"value\": \"%s\"}", kind);
        sp.filter = filter;
    }
    hearth_rag_results res = {0};
    if (hearth_rag_search_vector(r, e, d, &sp, &res)) { rc = cli_lib_error("images"); goto out; }
    if (json) printf("{\"results\": [");
    for (size_t i = 0; i < res.n; i++) {
        const hearth_rag_hit *h = &res.hits[i];
        if (json) {
            printf("%s{\"kind\": \"%s\", \"source\": ", i ? ", " : "", h->kind);
            cli_json_str(stdout, h->source, strlen(h->source));
            printf(", \"text\": ");
            cli_json_str(stdout, h->text ? h->text : "", h->text ? strlen(h->text) : 0);
            printf(", \"score\": %.6f}", h->score);
        } else {
            printf("%.4f  %-5s  %s\n", h->score, h->kind, h->text ? h->text : h->source);
        }
    }
    if (json) printf("]}\n");
    hearth_rag_results_clear(&res);
out:
    free(e);
    hearth_rag_close(r);
    hearth_clip_free(v);
    return rc;
}
