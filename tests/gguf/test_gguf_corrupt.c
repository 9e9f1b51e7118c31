/*
 * test_gguf_corrupt.c — malformed GGUF input, made by hand: every prefix of
 * a valid file, absurd counts and lengths, bad types, nesting bombs, tensor
 * tables that lie. Each must be refused with HEARTH_ERR_FORMAT (or
 * UNSUPPORTED for a version hearth does not read) and a message naming the
 * byte offset — never a crash, a hang or a huge allocation.
 */
#include "harness.h"
#include "hearth/gguf.h"

#include "gguf_build.h"

/* ---- a small valid file, with the positions of its fields ----------------- */

typedef struct pos {
    size_t n_tensors, n_kv;
    size_t key0_len, str_val_len, align_type, align_val, arr_elem_type, arr_n, arr_str0_len, kv3_type;
    size_t t0_name_len, t0_ndims, t0_ne0, t0_type, t0_off;
    size_t t1_ndims, t1_ne0, t1_ne1, t1_type, t1_off;
    size_t data;
} pos;

static void build_valid(gbuf *b, pos *p) {
    memset(b, 0, sizeof *b);
    gb_put(b, "GGUF", 4);
    gb_u32(b, 3);
    p->n_tensors = b->n; gb_u64(b, 2);
    p->n_kv = b->n; gb_u64(b, 4);
    p->key0_len = b->n; gb_str(b, "general.architecture");
    gb_u32(b, HEARTH_GGUF_STRING);
    p->str_val_len = b->n; gb_str(b, "llama");
    gb_str(b, "general.alignment");
    p->align_type = b->n; gb_u32(b, HEARTH_GGUF_UINT32);
    p->align_val = b->n; gb_u32(b, 32);
    gb_str(b, "tokenizer.ggml.tokens");
    gb_u32(b, HEARTH_GGUF_ARRAY);
    p->arr_elem_type = b->n; gb_u32(b, HEARTH_GGUF_STRING);
    p->arr_n = b->n; gb_u64(b, 3);
    p->arr_str0_len = b->n; gb_str(b, "a"); gb_str(b, "bb"); gb_str(b, "ccc");
    gb_str(b, "llama.block_count");
    p->kv3_type = b->n; gb_u32(b, HEARTH_GGUF_UINT32); gb_u32(b, 1);
    /* tensor infos */
    p->t0_name_len = b->n; gb_str(b, "w.a");
    p->t0_ndims = b->n; gb_u32(b, 1);
    p->t0_ne0 = b->n; gb_u64(b, 8);
    p->t0_type = b->n; gb_u32(b, HEARTH_TYPE_F32);
    p->t0_off = b->n; gb_u64(b, 0);
    gb_str(b, "w.b");
    p->t1_ndims = b->n; gb_u32(b, 2);
    p->t1_ne0 = b->n; gb_u64(b, 4);
    p->t1_ne1 = b->n; gb_u64(b, 2);
    p->t1_type = b->n; gb_u32(b, HEARTH_TYPE_F16);
    p->t1_off = b->n; gb_u64(b, 32);
    gb_pad(b, 32);
    p->data = b->n;
    for (int i = 0; i < 32 + 16; i++) gb_u8(b, (uint8_t)i);   /* t0: 32 bytes, t1: 16 bytes, no trailing pad */
}

/* Opens b and checks it is refused with `want`, the message naming an offset
 * (and containing `needle` if given). */
#define EXPECT_BAD(b, want, needle) expect_bad((b), (want), (needle), __FILE__, __LINE__)
static void expect_bad(const gbuf *b, hearth_status want, const char *needle, const char *file, int line) {
    hearth_gguf *g = (hearth_gguf *)1;
    hearth_status s = hearth_gguf_open_memory(b->p, b->n, &g);
    const char *msg = hearth_last_error();
    harness_checks++;
    if (s != want || g != NULL || strncmp(msg, "buffer: offset ", 15) != 0 || (needle && !strstr(msg, needle))) {
        harness_failures++;
        fprintf(stderr, "%s:%d: expected status %d with '%s', got %d: %s\n", file, line, (int)want,
                needle ? needle : "", (int)s, msg);
        if (s == HEARTH_OK && g != (hearth_gguf *)1) hearth_gguf_close(g);
    }
}

/* ---- tests -------------------------------------------------------------- */

TEST(valid_base) {
    gbuf b;
    pos p;
    build_valid(&b, &p);
    hearth_gguf *g = NULL;
    CHECK_MSG(hearth_gguf_open_memory(b.p, b.n, &g) == HEARTH_OK, "%s", hearth_last_error());
    if (g) {
        CHECK_EQ_INT(hearth_gguf_n_kv(g), 4);
        CHECK_EQ_INT(hearth_gguf_n_tensors(g), 2);
        CHECK_EQ_INT(hearth_gguf_data_offset(g), p.data);
        const hearth_gguf_tensor *t = hearth_gguf_find_tensor(g, "w.b");
        CHECK(t && t->nbytes == 16 && (const uint8_t *)t->data == b.p + p.data + 32);
        hearth_gguf_close(g);
    }
    gb_free(&b);
}

TEST(every_prefix) {
    gbuf b;
    pos p;
    build_valid(&b, &p);
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        gbuf c = {b.p, n, n};
        hearth_gguf *g = NULL;
        hearth_status s = hearth_gguf_open_memory(b.p, n, &g);
        (void)c;
        if (s != HEARTH_ERR_FORMAT || g || !strstr(hearth_last_error(), "offset ")) {
            bad++;
            if (bad < 5) fprintf(stderr, "prefix %zu: status %d: %s\n", n, (int)s, hearth_last_error());
            hearth_gguf_close(g);
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* NULL buffer with size 0 is an empty (truncated) file, not a crash */
    hearth_gguf *g = NULL;
    CHECK(hearth_gguf_open_memory(NULL, 0, &g) == HEARTH_ERR_FORMAT && g == NULL);
    gb_free(&b);
}

TEST(header) {
    gbuf b;
    pos p;
    build_valid(&b, &p);
    b.p[0] = 'X';
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "offset 0: not a GGUF file");
    b.p[0] = 'G';
    gb_set_u32(&b, 4, 1);
    EXPECT_BAD(&b, HEARTH_ERR_UNSUPPORTED, "version 1");
    gb_set_u32(&b, 4, 4);
    EXPECT_BAD(&b, HEARTH_ERR_UNSUPPORTED, "version 4");
    gb_set_u32(&b, 4, 3u << 24);   /* a big-endian file */
    EXPECT_BAD(&b, HEARTH_ERR_UNSUPPORTED, "big-endian");
    gb_set_u32(&b, 4, 2);          /* version 2 has the same layout */
    hearth_gguf *g = NULL;
    CHECK(hearth_gguf_open_memory(b.p, b.n, &g) == HEARTH_OK && hearth_gguf_version(g) == 2);
    hearth_gguf_close(g);
    gb_set_u32(&b, 4, 3);
    gb_set_u64(&b, p.n_kv, 1ull << 63);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "offset 16: header claims 9223372036854775808 key/value pairs");
    gb_set_u64(&b, p.n_kv, UINT64_MAX);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "key/value pairs");
    gb_set_u64(&b, p.n_kv, 5);     /* one more than there are: the tensor table is read as a key */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, NULL);
    gb_set_u64(&b, p.n_kv, 4);
    gb_set_u64(&b, p.n_tensors, 1ull << 63);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "tensors");
    gb_set_u64(&b, p.n_tensors, 3);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, NULL);
    gb_free(&b);
}

TEST(strings_and_values) {
    gbuf b;
    pos p;
    build_valid(&b, &p);
    char want[64];
    gb_set_u64(&b, p.key0_len, 1ull << 63);
    snprintf(want, sizeof want, "offset %zu: key has length 9223372036854775808", p.key0_len);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, want);
    gb_set_u64(&b, p.key0_len, UINT64_MAX);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "key has length");
    gb_set_u64(&b, p.key0_len, 20);
    gb_set_u64(&b, p.str_val_len, b.n);   /* longer than what follows */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "string value has length");
    gb_set_u64(&b, p.str_val_len, 5);
    gb_set_u64(&b, p.arr_str0_len, 1ull << 62);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "array string");
    gb_set_u64(&b, p.arr_str0_len, 1);
    /* value types */
    gb_set_u32(&b, p.kv3_type, 13);
    snprintf(want, sizeof want, "offset %zu: key 'llama.block_count' has invalid value type 13", p.kv3_type);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, want);
    gb_set_u32(&b, p.kv3_type, UINT32_MAX);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "invalid value type");
    gb_set_u32(&b, p.kv3_type, HEARTH_GGUF_UINT32);
    gb_set_u32(&b, p.arr_elem_type, 99);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "tokenizer.ggml.tokens': array has invalid element type 99");
    gb_set_u32(&b, p.arr_elem_type, HEARTH_GGUF_UINT64);   /* 3 u64 = 24 bytes: misparses, fails later */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, NULL);
    gb_set_u64(&b, p.arr_n, 1ull << 61);                    /* n * 8 wraps to 0 in 64 bits */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "array of 2305843009213693952 uint64");
    gb_set_u32(&b, p.arr_elem_type, HEARTH_GGUF_STRING);
    gb_set_u64(&b, p.arr_n, 1ull << 60);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "array of 1152921504606846976 strings");
    gb_set_u64(&b, p.arr_n, 3);
    /* alignment: must be a u32 power of two */
    gb_set_u32(&b, p.align_val, 0);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "general.alignment is 0");
    gb_set_u32(&b, p.align_val, 24);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "power of two");
    gb_set_u32(&b, p.align_val, 32);
    gb_set_u32(&b, p.align_type, HEARTH_GGUF_INT32);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "general.alignment is int32, must be uint32");
    gb_free(&b);
}

TEST(nesting_bomb) {
    /* one key whose value is an array of an array of ... 100000 deep */
    gbuf b = {0};
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "bomb");
    gb_u32(&b, HEARTH_GGUF_ARRAY);
    for (int i = 0; i < 100000; i++) {
        gb_u32(&b, HEARTH_GGUF_ARRAY);
        gb_u64(&b, 1);
    }
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "nested more than");
    gb_free(&b);
    /* wide: 10^6 empty arrays claimed in 100 bytes */
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "wide");
    gb_u32(&b, HEARTH_GGUF_ARRAY);
    gb_u32(&b, HEARTH_GGUF_ARRAY);
    gb_u64(&b, 1000000);
    for (int i = 0; i < 5; i++) { gb_u32(&b, HEARTH_GGUF_UINT8); gb_u64(&b, 0); }
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "array of 1000000 arrays");
    gb_free(&b);
}

TEST(duplicates) {
    gbuf b = {0};
    gb_header(&b, 3, 0, 2);
    gb_str(&b, "k"); gb_u32(&b, HEARTH_GGUF_UINT8); gb_u8(&b, 1);
    size_t at = b.n;
    gb_str(&b, "k"); gb_u32(&b, HEARTH_GGUF_INT8); gb_u8(&b, 2);
    char want[64];
    snprintf(want, sizeof want, "offset %zu: duplicate key 'k'", at);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, want);
    gb_free(&b);

    pos p;
    build_valid(&b, &p);
    memcpy(b.p + p.t1_ndims - 1, "a", 1);   /* "w.b" -> "w.a" */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "duplicate tensor name 'w.a'");
    gb_free(&b);
}

TEST(tensor_infos) {
    gbuf b;
    pos p;
    build_valid(&b, &p);
    char want[96];
    /* n_dims 0 and 5 */
    gb_set_u32(&b, p.t0_ndims, 0);
    snprintf(want, sizeof want, "offset %zu: tensor 'w.a': n_dims is 0", p.t0_ndims);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, want);
    gb_set_u32(&b, p.t0_ndims, 5);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "n_dims is 5");
    gb_set_u32(&b, p.t0_ndims, 1);
    /* unknown type ids: removed (4), past the table (40, 2^32-1) */
    uint32_t bad_types[] = {4, 31, 40, UINT32_MAX};
    for (size_t i = 0; i < 4; i++) {
        gb_set_u32(&b, p.t1_type, bad_types[i]);
        snprintf(want, sizeof want, "offset %zu: tensor 'w.b': unknown tensor type id %u", p.t1_type, bad_types[i]);
        EXPECT_BAD(&b, HEARTH_ERR_FORMAT, want);
    }
    gb_set_u32(&b, p.t1_type, HEARTH_TYPE_F16);
    /* negative and overflowing dimensions */
    gb_set_u64(&b, p.t1_ne1, UINT64_MAX);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "dimension 1 is negative (-1)");
    gb_set_u64(&b, p.t1_ne0, 1ull << 32);
    gb_set_u64(&b, p.t1_ne1, 1ull << 32);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "overflows int64");
    gb_set_u64(&b, p.t1_ne0, 1ull << 62);   /* 2^62 elements of 8 bytes: count fits, bytes do not */
    gb_set_u64(&b, p.t1_ne1, 1);
    gb_set_u32(&b, p.t1_type, HEARTH_TYPE_F64);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "size overflows");
    gb_set_u32(&b, p.t1_type, HEARTH_TYPE_F16);
    gb_set_u64(&b, p.t1_ne0, 1ull << 40);   /* fits, but not in the file */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "outside the data section");
    gb_set_u64(&b, p.t1_ne0, 4);
    gb_set_u64(&b, p.t1_ne1, 2);
    /* block size: Q8_0 rows must be multiples of 32 */
    gb_set_u32(&b, p.t0_type, HEARTH_TYPE_Q8_0);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "not a multiple of Q8_0's block size 32");
    gb_set_u32(&b, p.t0_type, HEARTH_TYPE_F32);
    /* offsets: misaligned, past the end, wrapping */
    gb_set_u64(&b, p.t1_off, 36);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "data offset 36 is not a multiple of the alignment 32");
    gb_set_u64(&b, p.t1_off, 64);
    snprintf(want, sizeof want, "offset %zu: tensor 'w.b': data [64, 64 + 16)", p.data);
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, want);
    gb_set_u64(&b, p.t1_off, UINT64_MAX - 31);   /* offset + size wraps around */
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "outside the data section");
    gb_set_u64(&b, p.t1_off, 32);
    /* a tensor name with a NUL byte cannot be looked up: refused */
    b.p[p.t0_name_len + 8 + 1] = 0;
    EXPECT_BAD(&b, HEARTH_ERR_FORMAT, "NUL byte");
    b.p[p.t0_name_len + 8 + 1] = '.';
    /* the base file is still valid after all that patching */
    hearth_gguf *g = NULL;
    CHECK(hearth_gguf_open_memory(b.p, b.n, &g) == HEARTH_OK);
    hearth_gguf_close(g);
    /* ggml allows empty dimensions (ne = 0): a tensor of no bytes */
    gb_set_u64(&b, p.t1_ne1, 0);
    CHECK(hearth_gguf_open_memory(b.p, b.n, &g) == HEARTH_OK);
    if (g) {
        const hearth_gguf_tensor *t = hearth_gguf_find_tensor(g, "w.b");
        CHECK(t && t->nbytes == 0 && hearth_gguf_tensor_nelements(t) == 0);
        hearth_gguf_close(g);
    }
    gb_free(&b);
}

int main(void) {
    RUN(valid_base);
    RUN(every_prefix);
    RUN(header);
    RUN(strings_and_values);
    RUN(nesting_bomb);
    RUN(duplicates);
    RUN(tensor_infos);
    return harness_done();
}
