/*
 * gguf_internal.h — what the GGUF reader and writer share (not public API):
 * the parsed form of a key/value and of an array, scalar sizes, hashing.
 */
#ifndef HEARTH_GGUF_INTERNAL_H
#define HEARTH_GGUF_INTERNAL_H

#include "hearth/gguf.h"
#include "core/buf.h"

#include <stdio.h>

/* An array value as indexed at open. `elems` points at the first element in
 * the mapping (for string/nested arrays: at the first element's header);
 * strs[i] (string arrays) and kids[i] (nested arrays) give O(1) access. */
typedef struct gguf_arr_node {
    hearth_gguf_type type;   /* element type */
    uint64_t n;
    const uint8_t *elems;
    hearth_str *strs;              /* owned; n entries for string arrays */
    struct gguf_arr_node *kids;    /* owned; n_kids entries for nested arrays */
    uint64_t n_kids;
} gguf_arr_node;

typedef struct gguf_kv {
    hearth_str key;          /* into the mapping */
    hearth_gguf_type type;
    size_t voff, vend;       /* the value's bytes in the file: [voff, vend) */
    hearth_str str;          /* STRING values */
    gguf_arr_node arr;       /* ARRAY values */
} gguf_kv;

/* Bytes of one fixed-size value; 0 for STRING, ARRAY and invalid types. */
size_t gguf_scalar_size(hearth_gguf_type t);
/* Seeded string hash for the key/name tables; gguf_hash_seed() makes a seed. */
uint64_t gguf_hash(uint64_t seed, const char *s, size_t len);
uint64_t gguf_hash_seed(const void *p);
void gguf_arr_free(gguf_arr_node *a);

const uint8_t *gguf_base(const hearth_gguf *g);
/* NULL if i is out of range. */
const gguf_kv *gguf_kv_at(const hearth_gguf *g, int64_t i);

#endif
