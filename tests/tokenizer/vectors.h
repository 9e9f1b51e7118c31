/*
 * vectors.h — reading llama.cpp's tokenizer test vectors: NAME.inp holds
 * test strings separated by the line "__ggml_vocab_test__" (the separator
 * is "\n__ggml_vocab_test__\n", so a string never includes the newline
 * before it); NAME.out holds one line per string, the expected ids each
 * preceded by a space.
 */
#ifndef HEARTH_TEST_VECTORS_H
#define HEARTH_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct vec_case {
    char *text;
    size_t len;
    int32_t *ids;
    size_t n_ids;
} vec_case;

/* Loads inp/out; returns the number of cases (-1 on error, message on stderr). */
int vectors_load(const char *inp_path, const char *out_path, vec_case **cases);
void vectors_free(vec_case *cases, int n);

/* the 12 vector sets: vocab file name and .inp/.out base */
extern const char *const k_vector_sets[12][2];

#endif
