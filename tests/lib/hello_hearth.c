/*
 * hello_hearth.c — a program outside the tree, built against the installed
 * libhearth with `pkg-config --cflags --libs hearth` (check_install.sh):
 * loads a model and generates greedily through the public API only.
 *
 *   hello_hearth MODEL.gguf PROMPT N    prints the N-token greedy continuation
 */
#include <hearth/hearth.h>
#include <hearth/generate.h>
#include <hearth/model.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names that ggml exports (and a generic one): libhearth has internal
 * functions of the same names, which must not be visible to the linker, or
 * this program would fail to link against libhearth.a. */
void quantize_row_q4_K_ref(const float *x, void *y, long k);
void quantize_row_q4_K_ref(const float *x, void *y, long k) { (void)x; (void)y; (void)k; }
int utf8_len(const char *s);
int utf8_len(const char *s) { return (int)strlen(s); }

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: hello_hearth MODEL.gguf PROMPT N\n");
        return 2;
    }
    hearth_model *m = NULL;
    hearth_context *c = NULL;
    if (hearth_model_load(argv[1], NULL, &m) != HEARTH_OK || hearth_context_create(m, NULL, &c) != HEARTH_OK) {
        fprintf(stderr, "hello_hearth: %s\n", hearth_last_error());
        hearth_model_free(m);
        return 1;
    }
    hearth_generate_params p = hearth_generate_default_params();
    p.sampling.temp = 0;
    p.max_tokens = atoi(argv[3]);
    hearth_generation g;
    memset(&g, 0, sizeof g);
    hearth_status st = hearth_generate(c, m, argv[2], strlen(argv[2]), &p, &g);
    if (st != HEARTH_OK) fprintf(stderr, "hello_hearth: %s\n", hearth_last_error());
    else fwrite(g.text, 1, g.text_len, stdout);
    hearth_generation_clear(&g);
    hearth_context_free(c);
    hearth_model_free(m);
    return st == HEARTH_OK ? 0 : 1;
}
