/*
 * cmd_embed.c — `hearth embed -m MODEL (-p TEXT | -f FILE) [--json]
 * [--no-normalize] [--pooling P] [-t N]`: sentence embeddings of one text or
 * of every non-empty line of a file (see include/hearth/embed.h).
 *
 * Output: one line per text, the vector's floats separated by spaces; with
 * --json one object {"model":..., "dim":n, "data":[{"index":i,
 * "embedding":[...]}]} (index counts the texts in order, empty lines of FILE
 * skipped).
 */
#include "cli.h"
#include "hearth/clip.h"
#include "hearth/embed.h"
#include "hearth/gguf.h"
#include "hearth/image.h"
#include "core/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const cmd_embed_summary = "sentence embeddings of texts (BERT encoders or llama-family models)";

#define CHUNK 256   /* texts per library call */

static void usage(void) {
    printf("usage: hearth embed -m MODEL.gguf (-p TEXT | -f FILE) [options]\n\n"
           "Prints the sentence embedding of TEXT, or of every non-empty line of FILE,\n"
           "one vector per line (floats separated by spaces). BERT-style encoders\n"
           "(BGE, MiniLM...) pool as the model says; llama-family models take the mean\n"
           "of their final hidden states. Vectors are L2-normalized.\n\n"
           "  -m, --model FILE     the model (default: $HEARTH_MODEL or the built-in model)\n"
           "  -p, --prompt TEXT    the text to embed\n"
           "  -f, --file FILE      embed each non-empty line of FILE (one text per line)\n"
           "  --json               print {\"model\":...,\"dim\":N,\"data\":[{\"index\":0,\"embedding\":[...]}]}\n"
           "  --no-normalize       print the pooled vectors as they are, not L2-normalized\n"
           "  --pooling P          mean, cls or last (default: the model's own; llama: mean)\n"
           "  -t, --threads N      threads (default: all CPUs)\n"
           "\nImage embeddings (LLaVA-style image encoders, llama.cpp's mmproj files):\n"
           "  hearth embed --mmproj P.gguf --image IMG [--json]\n"
           "  prints the projected patch embeddings a language model receives for IMG,\n"
           "  one row of n_embd floats per image position; --json prints\n"
           "  {\"n_tokens\":N,\"n_embd\":D,\"embedding\":[N*D floats, row-major]}\n"
           "  --mmproj FILE        the image encoder (GGUF, general.architecture \"clip\")\n"
           "  --image FILE         PNG, JPEG, WebP, GIF or BMP\n");
}

static void print_vec(const float *v, int32_t n, bool json) {
    for (int32_t i = 0; i < n; i++) printf(json ? (i ? ",%.9g" : "%.9g") : (i ? " %.9g" : "%.9g"), v[i]);
}

/* true when path is a GGUF "clip" file (an image encoder or a two-tower CLIP) */
static bool is_clip_file(const char *path) {
    hearth_gguf *g = NULL;
    if (!path || hearth_gguf_open(path, &g)) return false;
    hearth_str arch = {0};
    bool yes = hearth_gguf_get_str(g, "general.architecture", &arch) == HEARTH_OK && arch.len == 4 &&
               !memcmp(arch.ptr, "clip", 4);
    hearth_gguf_close(g);
    return yes;
}

/* -m CLIP.gguf with --image IMG or -p TEXT: the pooled, normalized embedding
 * (two-tower CLIP: image and text in one space) */
static int embed_pooled(const char *path, const char *image, const char *text, bool json, int threads) {
    hearth_clip_params cp = hearth_clip_default_params();
    cp.n_threads = threads;
    hearth_clip *v = NULL;
    hearth_image img = {0};
    float *e = NULL;
    int rc = 0;
    if (hearth_clip_load(path, &cp, &v) || (image && hearth_image_load(image, 3, &img))) {
        rc = cli_lib_error("embed");
        goto out;
    }
    int32_t d = hearth_clip_embd_dim(v);
    if (!(e = malloc(sizeof *e * d))) { rc = cli_error("embed", "out of memory"); goto out; }
    if (image ? hearth_clip_embed_image(v, &img, e) : hearth_clip_embed_text(v, text, strlen(text), e)) {
        rc = cli_lib_error("embed");
        goto out;
    }
    if (json) {
        printf("{\"model\":");
        cli_json_str(stdout, hearth_clip_name(v), strlen(hearth_clip_name(v)));
        printf(",\"dim\":%d,\"data\":[{\"index\":0,\"embedding\":[", d);
        print_vec(e, d, true);
        printf("]}]}\n");
    } else {
        print_vec(e, d, false);
        putchar('\n');
    }
out:
    free(e);
    hearth_image_free(&img);
    hearth_clip_free(v);
    return rc;
}

/* --mmproj P --image IMG: llama.cpp's clip_image_encode for the same file */
static int embed_image(const char *mmproj, const char *image, bool json, int threads) {
    hearth_clip_params cp = hearth_clip_default_params();
    cp.n_threads = threads;
    hearth_clip *v = NULL;
    hearth_image img = {0};
    if (hearth_clip_load(mmproj, &cp, &v)) return cli_error("embed", "%s", hearth_last_error());
    if (hearth_image_load(image, 3, &img)) {
        hearth_clip_free(v);
        return cli_error("embed", "%s", hearth_last_error());
    }
    int32_t nt = hearth_clip_n_tokens(v), ne = hearth_clip_n_embd(v);
    float *e = malloc((size_t)nt * ne * sizeof *e);
    int rc = 0;
    if (!e) rc = cli_error("embed", "out of memory");
    else if (hearth_clip_encode(v, &img, e)) rc = cli_error("embed", "%s", hearth_last_error());
    else if (json) {
        printf("{\"n_tokens\":%d,\"n_embd\":%d,\"embedding\":[", nt, ne);
        print_vec(e, nt * ne, true);
        printf("]}\n");
    } else {
        for (int32_t t = 0; t < nt; t++) {
            print_vec(e + (size_t)t * ne, ne, false);
            putchar('\n');
        }
    }
    free(e);
    hearth_image_free(&img);
    hearth_clip_free(v);
    return rc;
}


int cmd_embed(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *file = NULL, *pooling = NULL, *image = NULL, *mmproj = NULL;
    bool json = false, no_norm = false;
    int64_t threads = 0;
    cli_args a = cli_args_init("embed", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, "-p", "--prompt", &prompt)) continue;
        if (cli_opt(&a, "-f", "--file", &file)) continue;
        if (cli_opt(&a, NULL, "--pooling", &pooling)) continue;
        if (cli_opt(&a, NULL, "--image", &image)) continue;
        if (cli_opt(&a, NULL, "--mmproj", &mmproj)) continue;
        if (cli_opt_int(&a, "-t", "--threads", &threads)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, NULL, "--no-normalize")) { no_norm = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (threads < 0 || threads > 1024) return cli_error("embed", "--threads %lld: expected 0 .. 1024", (long long)threads) + 1;
    if (mmproj && !image) return cli_error("embed", "--mmproj needs --image IMG (the image to embed)") + 1;
    bool clip_model = model && is_clip_file(model);
    if (clip_model && !mmproj) {   /* a two-tower CLIP: pooled image or text embeddings */
        if (!!image + !!prompt != 1 || file)
            return cli_error("embed", "with a CLIP model give either --image IMG or -p TEXT") + 1;
        return embed_pooled(model, image, prompt, json, (int)threads);
    }
    if (image && !mmproj)
        return cli_error("embed", "--image needs --mmproj P.gguf (the image encoder) or -m CLIP.gguf (a two-tower CLIP)") + 1;
    if (image) {
        if (prompt || file) return cli_error("embed", "give either an image (--image) or text (-p/-f), not both") + 1;
        return embed_image(mmproj, image, json, (int)threads);
    }
    if (a.n_pos > 0) return cli_error("embed", "unexpected argument '%s' (the text goes after -p)", a.pos[0]) + 1;
    if (prompt && file) return cli_error("embed", "give either -p TEXT or -f FILE, not both") + 1;
    if (!prompt && !file) return cli_error("embed", "nothing to embed: give -p TEXT or -f FILE") + 1;
    if (threads < 0 || threads > 1024) return cli_error("embed", "--threads %lld: expected 0 .. 1024", (long long)threads) + 1;
    hearth_embed_params ep = hearth_embed_default_params();
    ep.normalize = !no_norm;
    ep.n_threads = (int)threads;
    if (pooling) {
        if (strcmp(pooling, "mean") == 0) ep.pooling = HEARTH_POOLING_MEAN;
        else if (strcmp(pooling, "cls") == 0) ep.pooling = HEARTH_POOLING_CLS;
        else if (strcmp(pooling, "last") == 0) ep.pooling = HEARTH_POOLING_LAST;
        else return cli_error("embed", "--pooling '%s': expected mean, cls or last", pooling) + 1;
    }
    model = cli_model_or_default("embed", model);
    if (!model) return 1;

    /* the texts: -p, or the non-empty lines of FILE (a trailing \r dropped) */
    size_t flen = 0, n = 0, cap = 1;
    char *buf = NULL;
    const char **texts = NULL;
    size_t *lens = NULL, *line_no = NULL;
    if (file) {
        if (hearth_read_file(file, &buf, &flen) != HEARTH_OK) return cli_lib_error("embed");
        for (size_t i = 0; i < flen; i++) cap += buf[i] == '\n';
    }
    texts = malloc(cap * sizeof *texts);
    lens = malloc(cap * sizeof *lens);
    line_no = malloc(cap * sizeof *line_no);
    if (!texts || !lens || !line_no) {
        free(buf); free(texts); free(lens); free(line_no);
        return cli_error("embed", "out of memory");
    }
    if (file) {
        hearth_lines r;
        hearth_lines_mem(&r, buf, flen);
        const char *line;
        size_t l;
        while (hearth_lines_next(&r, &line, &l))
            if (l) texts[n] = line, lens[n] = l, line_no[n++] = r.line_no;
        if (n == 0) {
            free(buf); free(texts); free(lens); free(line_no);
            return cli_error("embed", "'%s' has no text (every line is empty)", file);
        }
    } else {
        texts[0] = prompt, lens[0] = strlen(prompt), line_no[0] = 0, n = 1;
    }

    int rc = 0;
    hearth_model *m = NULL;
    hearth_embedder *e = NULL;
    float *out = NULL;
    if (hearth_model_load(model, NULL, &m) != HEARTH_OK || hearth_embedder_create(m, &ep, &e) != HEARTH_OK) {
        rc = cli_lib_error("embed");
        goto done;
    }
    int32_t dim = hearth_embedder_n_embd(e);
    out = malloc((size_t)CHUNK * dim * sizeof *out);
    if (!out) {
        rc = cli_error("embed", "out of memory");
        goto done;
    }
    if (json) {
        printf("{\"model\":");
        const char *name = hearth_model_name(m);
        cli_json_str(stdout, name, strlen(name));
        printf(",\"dim\":%d,\"data\":[", dim);
    }
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        int k = (int)(n - i0 < CHUNK ? n - i0 : CHUNK);
        if (hearth_embed_batch(e, texts + i0, lens + i0, k, out, (int64_t)k * dim) != HEARTH_OK) {
            /* name the line: find the first text that fails on its own */
            for (int i = 0; i < k && file; i++)
                if (hearth_embed(e, texts[i0 + i], lens[i0 + i], out, dim) != HEARTH_OK) {
                    if (json) printf("\n");
                    rc = cli_error("embed", "%s:%zu: %s", file, line_no[i0 + i], hearth_last_error());
                    goto done;
                }
            if (json) printf("\n");
            rc = cli_lib_error("embed");
            goto done;
        }
        for (int i = 0; i < k; i++) {
            if (json) {
                printf("%s{\"index\":%zu,\"embedding\":[", i0 + i ? "," : "", i0 + i);
                print_vec(out + (size_t)i * dim, dim, true);
                printf("]}");
            } else {
                print_vec(out + (size_t)i * dim, dim, false);
                printf("\n");
            }
        }
    }
    if (json) printf("]}\n");
    if (fflush(stdout) != 0) rc = 1;
done:
    free(out);
    hearth_embedder_free(e);
    hearth_model_free(m);
    free(buf); free(texts); free(lens); free(line_no);
    return rc;
}
