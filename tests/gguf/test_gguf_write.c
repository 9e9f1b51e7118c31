/*
 * test_gguf_write.c — the GGUF writer: every value type survives a write and
 * a read (nested arrays through hearth_gguf_copy_kv), tensors come back with
 * their bytes at aligned offsets, and copying a llama.cpp-written file key by
 * key and tensor by tensor reproduces it byte for byte.
 */
#include "harness.h"
#include "hearth/gguf.h"

#include "gguf_build.h"
#include "gguf_test_util.h"

#include <unistd.h>

static char tmp_path[512];

static const char *tmpfile_path(const char *tag) {
    const char *dir = getenv("TMPDIR");
    snprintf(tmp_path, sizeof tmp_path, "%s/hearth-gguf-%ld-%s.gguf", dir && *dir ? dir : "/tmp", (long)getpid(), tag);
    return tmp_path;
}

static bool str_eq(hearth_str s, const char *c) { return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0; }

/* ---- every value type ------------------------------------------------------ */

TEST(value_round_trip) {
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    CHECK(w != NULL);
    CHECK(hearth_gguf_set_u8(w, "u8", 250) == HEARTH_OK);
    CHECK(hearth_gguf_set_i8(w, "i8", -120) == HEARTH_OK);
    CHECK(hearth_gguf_set_u16(w, "u16", 65000) == HEARTH_OK);
    CHECK(hearth_gguf_set_i16(w, "i16", -32000) == HEARTH_OK);
    CHECK(hearth_gguf_set_u32(w, "u32", 4000000000u) == HEARTH_OK);
    CHECK(hearth_gguf_set_i32(w, "i32", -2000000000) == HEARTH_OK);
    CHECK(hearth_gguf_set_u64(w, "u64", UINT64_MAX) == HEARTH_OK);
    CHECK(hearth_gguf_set_i64(w, "i64", INT64_MIN) == HEARTH_OK);
    CHECK(hearth_gguf_set_f32(w, "f32", 0.15625f) == HEARTH_OK);
    CHECK(hearth_gguf_set_f64(w, "f64", -1e300) == HEARTH_OK);
    CHECK(hearth_gguf_set_bool(w, "bool", true) == HEARTH_OK);
    CHECK(hearth_gguf_set_str(w, "str", "h\xc3\xa9llo") == HEARTH_OK);
    CHECK(hearth_gguf_set_str(w, "empty", "") == HEARTH_OK);
    CHECK(hearth_gguf_set_strn(w, "nul", "a\0b", 3) == HEARTH_OK);
    const int32_t ia[5] = {-1, 0, 1, 2147483647, -2147483647 - 1};
    CHECK(hearth_gguf_set_arr(w, "arr.i32", HEARTH_GGUF_INT32, ia, 5) == HEARTH_OK);
    const float fa[3] = {1.5f, -2.25f, 0};
    CHECK(hearth_gguf_set_arr(w, "arr.f32", HEARTH_GGUF_FLOAT32, fa, 3) == HEARTH_OK);
    const uint8_t ba[2] = {1, 0};
    CHECK(hearth_gguf_set_arr(w, "arr.bool", HEARTH_GGUF_BOOL, ba, 2) == HEARTH_OK);
    const uint64_t ua[2] = {UINT64_MAX, 7};
    CHECK(hearth_gguf_set_arr(w, "arr.u64", HEARTH_GGUF_UINT64, ua, 2) == HEARTH_OK);
    CHECK(hearth_gguf_set_arr(w, "arr.empty", HEARTH_GGUF_INT8, NULL, 0) == HEARTH_OK);
    const char *sa[3] = {"one", "", "thr\xe2\x82\xac" "ee"};
    CHECK(hearth_gguf_set_arr_str(w, "arr.str", sa, 3) == HEARTH_OK);
    /* replacing keeps the position and takes the new type */
    CHECK(hearth_gguf_set_u32(w, "replace.me", 1) == HEARTH_OK);
    CHECK(hearth_gguf_set_str(w, "last", "x") == HEARTH_OK);
    CHECK(hearth_gguf_set_str(w, "replace.me", "now a string") == HEARTH_OK);
    /* wrong uses are refused */
    CHECK(hearth_gguf_set_arr(w, "bad", HEARTH_GGUF_STRING, sa, 3) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_gguf_set_arr(w, "bad", HEARTH_GGUF_ARRAY, sa, 3) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_gguf_set_str(w, "general.alignment", "64") == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_gguf_set_alignment(w, 48) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_gguf_find_key(NULL, "bad") == -1);

    const char *path = tmpfile_path("values");
    CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
    hearth_gguf_writer_free(w);

    hearth_gguf *g = NULL;
    CHECK(hearth_gguf_open(path, &g) == HEARTH_OK);
    if (!g) return;
    CHECK_EQ_INT(hearth_gguf_version(g), 3);
    CHECK_EQ_INT(hearth_gguf_n_kv(g), 22);
    CHECK_EQ_INT(hearth_gguf_n_tensors(g), 0);
    CHECK_EQ_INT(hearth_gguf_file_size(g) % 32, 0);
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    hearth_str s;
    CHECK(hearth_gguf_get_int(g, "u8", &i) == HEARTH_OK && i == 250);
    CHECK(hearth_gguf_get_int(g, "i8", &i) == HEARTH_OK && i == -120);
    CHECK(hearth_gguf_get_int(g, "u16", &i) == HEARTH_OK && i == 65000);
    CHECK(hearth_gguf_get_int(g, "i16", &i) == HEARTH_OK && i == -32000);
    CHECK(hearth_gguf_get_int(g, "u32", &i) == HEARTH_OK && i == 4000000000ll);
    CHECK(hearth_gguf_get_int(g, "i32", &i) == HEARTH_OK && i == -2000000000);
    CHECK(hearth_gguf_get_uint(g, "u64", &u) == HEARTH_OK && u == UINT64_MAX);
    CHECK(hearth_gguf_get_int(g, "u64", &i) == HEARTH_ERR_RANGE);   /* does not fit int64 */
    CHECK(hearth_gguf_get_int(g, "i64", &i) == HEARTH_OK && i == INT64_MIN);
    CHECK(hearth_gguf_get_uint(g, "i64", &u) == HEARTH_ERR_RANGE);  /* negative */
    CHECK(hearth_gguf_get_float(g, "f32", &d) == HEARTH_OK && d == 0.15625);
    CHECK(hearth_gguf_get_float(g, "f64", &d) == HEARTH_OK && d == -1e300);
    CHECK(hearth_gguf_get_int(g, "f32", &i) == HEARTH_ERR_TYPE);
    CHECK(hearth_gguf_get_bool(g, "bool", &b) == HEARTH_OK && b);
    CHECK(hearth_gguf_get_int(g, "bool", &i) == HEARTH_OK && i == 1);
    CHECK(hearth_gguf_get_float(g, "bool", &d) == HEARTH_ERR_TYPE);
    CHECK(hearth_gguf_get_str(g, "str", &s) == HEARTH_OK && str_eq(s, "h\xc3\xa9llo"));
    CHECK(hearth_gguf_get_str(g, "empty", &s) == HEARTH_OK && s.len == 0);
    CHECK(hearth_gguf_get_str(g, "nul", &s) == HEARTH_OK && s.len == 3 && memcmp(s.ptr, "a\0b", 3) == 0);
    CHECK(hearth_gguf_kv_type(g, hearth_gguf_find_key(g, "f64")) == HEARTH_GGUF_FLOAT64);
    CHECK_STR(hearth_gguf_type_name(HEARTH_GGUF_FLOAT64), "float64");

    hearth_gguf_arr a;
    CHECK(hearth_gguf_get_arr(g, "arr.i32", &a) == HEARTH_OK && a.type == HEARTH_GGUF_INT32 && a.n == 5);
    for (uint64_t k = 0; k < 5; k++) CHECK_EQ_INT(hearth_gguf_arr_int(&a, k), ia[k]);
    CHECK(hearth_gguf_arr_int(&a, 5) == 0);
    CHECK(hearth_gguf_arr_float(&a, 0) == -1.0);
    CHECK(memcmp(hearth_gguf_arr_data(&a), ia, sizeof ia) == 0);
    CHECK(hearth_gguf_get_arr(g, "arr.f32", &a) == HEARTH_OK && a.n == 3);
    CHECK(hearth_gguf_arr_float(&a, 1) == -2.25);
    CHECK(hearth_gguf_arr_int(&a, 1) == 0);   /* floats are not integers */
    CHECK(hearth_gguf_get_arr(g, "arr.bool", &a) == HEARTH_OK && a.type == HEARTH_GGUF_BOOL);
    CHECK(hearth_gguf_arr_int(&a, 0) == 1 && hearth_gguf_arr_int(&a, 1) == 0);
    CHECK(hearth_gguf_get_arr(g, "arr.u64", &a) == HEARTH_OK && hearth_gguf_arr_uint(&a, 0) == UINT64_MAX);
    CHECK(hearth_gguf_get_arr(g, "arr.empty", &a) == HEARTH_OK && a.n == 0 && a.type == HEARTH_GGUF_INT8);
    CHECK(hearth_gguf_get_arr(g, "arr.str", &a) == HEARTH_OK && a.type == HEARTH_GGUF_STRING && a.n == 3);
    for (uint64_t k = 0; k < 3; k++) CHECK(str_eq(hearth_gguf_arr_str(&a, k), sa[k]));
    CHECK(hearth_gguf_arr_data(&a) == NULL);
    int64_t r = hearth_gguf_find_key(g, "replace.me");
    CHECK(r >= 0 && r < hearth_gguf_find_key(g, "last"));
    CHECK(hearth_gguf_get_str(g, "replace.me", &s) == HEARTH_OK && str_eq(s, "now a string"));
    hearth_gguf_close(g);
    unlink(path);
}

/* Nested arrays cannot be built with the setters; they come from files
 * (hand-made here) and must survive copy_kv -> write -> read. */
TEST(nested_array_round_trip) {
    gbuf b = {0};
    gb_header(&b, 3, 0, 2);
    gb_str(&b, "nested");             /* [[1,2,3], [], [["x","yz"]]] as array of arrays */
    gb_u32(&b, HEARTH_GGUF_ARRAY);
    gb_u32(&b, HEARTH_GGUF_ARRAY);
    gb_u64(&b, 3);
    gb_u32(&b, HEARTH_GGUF_INT16); gb_u64(&b, 3);
    for (int16_t v = 1; v <= 3; v++) gb_put(&b, &v, 2);
    gb_u32(&b, HEARTH_GGUF_UINT8); gb_u64(&b, 0);
    gb_u32(&b, HEARTH_GGUF_ARRAY); gb_u64(&b, 1);
    gb_u32(&b, HEARTH_GGUF_STRING); gb_u64(&b, 2); gb_str(&b, "x"); gb_str(&b, "yz");
    gb_str(&b, "after");
    gb_u32(&b, HEARTH_GGUF_UINT32); gb_u32(&b, 77);

    hearth_gguf *src = NULL;
    CHECK_MSG(hearth_gguf_open_memory(b.p, b.n, &src) == HEARTH_OK, "%s", hearth_last_error());
    if (!src) { gb_free(&b); return; }
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    for (int64_t i = 0; i < hearth_gguf_n_kv(src); i++) CHECK(hearth_gguf_copy_kv(w, src, i) == HEARTH_OK);
    CHECK(hearth_gguf_copy_kv(w, src, 2) == HEARTH_ERR_RANGE);
    const char *path = tmpfile_path("nested");
    CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
    hearth_gguf_writer_free(w);
    hearth_gguf_close(src);

    hearth_gguf *g = NULL;
    CHECK(hearth_gguf_open(path, &g) == HEARTH_OK);
    if (g) {
        /* the bytes of the metadata are the hand-made ones, then zero padding */
        size_t n = 0;
        char *got = harness_read(path, &n);
        CHECK(got && n == (b.n + 31) / 32 * 32 && memcmp(got, b.p, b.n) == 0);
        free(got);
        hearth_gguf_arr a, x;
        CHECK(hearth_gguf_get_arr(g, "nested", &a) == HEARTH_OK);
        CHECK(a.type == HEARTH_GGUF_ARRAY && a.n == 3);
        CHECK(hearth_gguf_arr_data(&a) == NULL);
        x = hearth_gguf_arr_arr(&a, 0);
        CHECK(x.type == HEARTH_GGUF_INT16 && x.n == 3 && hearth_gguf_arr_int(&x, 2) == 3);
        x = hearth_gguf_arr_arr(&a, 1);
        CHECK(x.type == HEARTH_GGUF_UINT8 && x.n == 0);
        x = hearth_gguf_arr_arr(&a, 2);
        CHECK(x.type == HEARTH_GGUF_ARRAY && x.n == 1);
        hearth_gguf_arr y = hearth_gguf_arr_arr(&x, 0);
        CHECK(y.type == HEARTH_GGUF_STRING && y.n == 2 && str_eq(hearth_gguf_arr_str(&y, 1), "yz"));
        CHECK(hearth_gguf_arr_arr(&a, 3).n == 0);   /* out of range: empty */
        int64_t v;
        CHECK(hearth_gguf_get_int(g, "after", &v) == HEARTH_OK && v == 77);
        hearth_gguf_close(g);
    }
    unlink(path);
    gb_free(&b);
}

/* ---- tensors --------------------------------------------------------------- */

TEST(tensor_round_trip) {
    for (int pass = 0; pass < 2; pass++) {
        hearth_gguf_writer *w = hearth_gguf_writer_create();
        size_t align = pass ? 64 : 32;
        if (pass) CHECK(hearth_gguf_set_alignment(w, 64) == HEARTH_OK);
        /* a few types with sizes that need padding */
        static uint8_t data[4][4096];
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < 4096; k++) data[t][k] = (uint8_t)(k * 31 + t * 7 + 1);
        const int64_t ne_f32[1] = {5};            /* 20 bytes */
        const int64_t ne_f16[2] = {3, 7};         /* 42 bytes */
        const int64_t ne_q8[3] = {64, 2, 3};      /* 2 blocks x 34 x 6 = 408 bytes */
        const int64_t ne_q4k[2] = {256, 3};       /* 144 x 3 = 432 bytes */
        CHECK(hearth_gguf_add_tensor(w, "a.f32", HEARTH_TYPE_F32, 1, ne_f32, data[0]) == HEARTH_OK);
        CHECK(hearth_gguf_add_tensor(w, "b.f16", HEARTH_TYPE_F16, 2, ne_f16, data[1]) == HEARTH_OK);
        CHECK(hearth_gguf_add_tensor(w, "c.q8_0", HEARTH_TYPE_Q8_0, 3, ne_q8, data[2]) == HEARTH_OK);
        CHECK(hearth_gguf_add_tensor(w, "d.q4_k", HEARTH_TYPE_Q4_K, 2, ne_q4k, data[3]) == HEARTH_OK);
        /* refused: duplicate, unknown type, partial block, n_dims, negative */
        CHECK(hearth_gguf_add_tensor(w, "a.f32", HEARTH_TYPE_F32, 1, ne_f32, data[0]) == HEARTH_ERR_INVALID_ARG);
        CHECK(hearth_gguf_add_tensor(w, "x", 4, 1, ne_f32, data[0]) == HEARTH_ERR_INVALID_ARG);
        CHECK(hearth_gguf_add_tensor(w, "x", HEARTH_TYPE_Q8_0, 1, ne_f32, data[0]) == HEARTH_ERR_INVALID_ARG);
        CHECK(hearth_gguf_add_tensor(w, "x", HEARTH_TYPE_F32, 5, ne_q8, data[0]) == HEARTH_ERR_INVALID_ARG);
        CHECK(hearth_gguf_add_tensor(w, "x", HEARTH_TYPE_F32, 0, ne_q8, data[0]) == HEARTH_ERR_INVALID_ARG);
        const int64_t neg[1] = {-4};
        CHECK(hearth_gguf_add_tensor(w, "x", HEARTH_TYPE_F32, 1, neg, data[0]) == HEARTH_ERR_INVALID_ARG);
        CHECK(hearth_gguf_set_str(w, "general.architecture", "test") == HEARTH_OK);
        const char *path = tmpfile_path("tensors");
        CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
        hearth_gguf_writer_free(w);

        hearth_gguf *g = NULL;
        CHECK_MSG(hearth_gguf_open(path, &g) == HEARTH_OK, "%s", hearth_last_error());
        if (!g) continue;
        CHECK_EQ_INT(hearth_gguf_alignment(g), align);
        CHECK_EQ_INT(hearth_gguf_n_tensors(g), 4);
        const char *names[4] = {"a.f32", "b.f16", "c.q8_0", "d.q4_k"};
        const size_t sizes[4] = {20, 42, 408, 432};
        size_t expect_off = 0;
        for (int t = 0; t < 4; t++) {
            const hearth_gguf_tensor *ti = hearth_gguf_tensor_at(g, t);
            CHECK_STR(ti->name, names[t]);
            CHECK(hearth_gguf_find_tensor(g, names[t]) == ti);
            CHECK_EQ_INT(ti->nbytes, sizes[t]);
            CHECK_EQ_INT(ti->offset, expect_off);
            CHECK(memcmp(ti->data, data[t], sizes[t]) == 0);
            CHECK(((uintptr_t)ti->data) % align == 0);   /* mmap is page-aligned */
            expect_off += (sizes[t] + align - 1) / align * align;
        }
        const hearth_gguf_tensor *q8 = hearth_gguf_find_tensor(g, "c.q8_0");
        CHECK(q8 && q8->n_dims == 3 && q8->ne[0] == 64 && q8->ne[1] == 2 && q8->ne[2] == 3 && q8->ne[3] == 1);
        CHECK_EQ_INT(hearth_gguf_data_offset(g) + expect_off, hearth_gguf_file_size(g));
        hearth_gguf_close(g);
        unlink(path);
    }
}

TEST(write_errors) {
    hearth_gguf_writer_free(NULL);
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    CHECK(hearth_gguf_writer_write(w, "/nonexistent-dir/x.gguf") == HEARTH_ERR_IO);
    CHECK(strstr(hearth_last_error(), "/nonexistent-dir/x.gguf") != NULL);
    hearth_gguf_writer_free(w);
}

/* ---- llama.cpp's files, copied through the writer ---------------------------- */

TEST(byte_identical_copies) {
    gguf_files f = gguf_files_all();
    const char *path = tmpfile_path("copy");
    int n_exact = 0;
    for (int i = 0; i < f.n; i++) {
        hearth_gguf *g = NULL;
        if (hearth_gguf_open(f.path[i], &g) != HEARTH_OK) {
            CHECK_MSG(0, "%s: %s", f.path[i], hearth_last_error());
            continue;
        }
        hearth_gguf_writer *w = hearth_gguf_writer_create();
        for (int64_t k = 0; k < hearth_gguf_n_kv(g); k++) CHECK(hearth_gguf_copy_kv(w, g, k) == HEARTH_OK);
        for (int64_t k = 0; k < hearth_gguf_n_tensors(g); k++) {
            const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, k);
            CHECK(hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data) == HEARTH_OK);
        }
        CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
        hearth_gguf_writer_free(w);
        size_t n_in = 0, n_out = 0;
        char *in = harness_read(f.path[i], &n_in), *out = harness_read(path, &n_out);
        size_t a = hearth_gguf_alignment(g);
        CHECK(in && out);
        if (in && out) {
            /* The vocab files were written by llama.cpp's Python writer, which
             * leaves out the padding after the metadata when there are no
             * tensors; the C writer (and hearth) always pads. */
            bool ok = n_out == (n_in + a - 1) / a * a && memcmp(in, out, n_in) == 0;
            for (size_t k = n_in; ok && k < n_out; k++) ok = out[k] == 0;
            if (hearth_gguf_n_tensors(g) > 0) ok = ok && n_out == n_in;
            CHECK_MSG(ok, "%s: copy differs (%zu vs %zu bytes)", f.path[i], n_out, n_in);
            n_exact += ok && n_out == n_in;
        }
        free(in);
        free(out);
        hearth_gguf_close(g);
    }
    printf("  %d files copied, %d byte-identical, the rest identical up to trailing padding\n", f.n, n_exact);
    unlink(path);
    gguf_files_free(&f);
}

int main(void) {
    RUN(value_round_trip);
    RUN(nested_array_round_trip);
    RUN(tensor_round_trip);
    RUN(write_errors);
    RUN(byte_identical_copies);
    return harness_done();
}
