/*
 * test_safetensors_fuzz.c — runs the fuzz target's entry point
 * (fuzz/fuzz_safetensors.c) without libFuzzer over a few valid files written
 * by the writer and thousands of deterministic mutations of them (byte and
 * bit flips, digits changed in the JSON, interesting header lengths, cuts,
 * inserted and erased chunks). Every input must either open and be walked
 * without a fault, or be refused with a message.
 *   test_safetensors_fuzz [ITERATIONS]
 */
#include "harness.h"
#include "kernels/kernels.h"
#include "hearth/safetensors.h"

#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

typedef struct seed {
    uint8_t *p;
    size_t n;
} seed;

static seed make_seed(int variant) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/hearth-st-fuzz-%d-%d.safetensors", (int)getpid(), variant);
    hearth_st_writer *w = hearth_st_writer_create();
    float a[12];
    uint16_t h[8];
    for (int i = 0; i < 12; i++) a[i] = (float)i - 3.5f;
    for (int i = 0; i < 8; i++) h[i] = hearth_fp32_to_fp16((float)i / 3);
    int64_t s34[2] = {3, 4}, s8[1] = {8}, s222[3] = {2, 2, 2};
    hearth_st_writer_add(w, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", HEARTH_ST_F32, 2, s34, a);
    if (variant > 0) hearth_st_writer_add(w, "b", HEARTH_ST_F16, 1, s8, h);
    if (variant > 1) hearth_st_writer_add(w, "c", HEARTH_ST_BF16, 3, s222, h);
    if (variant > 1) hearth_st_writer_add(w, "empty", HEARTH_ST_I64, 0, NULL, a);
    hearth_st_writer_set_meta(w, "format", "pt");
    hearth_st_writer_write(w, path);
    hearth_st_writer_free(w);
    size_t n = 0;
    seed s = {(uint8_t *)harness_read(path, &n), 0};
    s.n = n;
    unlink(path);
    return s;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    seed seeds[3];
    for (int i = 0; i < 3; i++) {
        seeds[i] = make_seed(i);
        CHECK(seeds[i].p && seeds[i].n > 8);
        hearth_safetensors *st = NULL;
        CHECK_MSG(seeds[i].p && hearth_safetensors_open_memory(seeds[i].p, seeds[i].n, &st) == HEARTH_OK, "seed %d: %s",
                  i, hearth_last_error());
        hearth_safetensors_close(st);
        if (!seeds[i].p) return harness_done();
    }
    long accepted = 0, refused = 0;
    uint8_t *buf = malloc(1 << 16);
    for (long it = 0; it < iters; it++) {
        const seed *s = &seeds[next() % 3];
        size_t n = s->n;
        memcpy(buf, s->p, n);
        int muts = 1 + (int)(next() % 4);
        for (int m = 0; m < muts; m++) {
            size_t at = n ? next() % n : 0;
            switch (next() % 8) {
            case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
            case 1: buf[at] = (uint8_t)next(); break;
            case 2: /* a digit of the JSON */
                if (buf[at] >= '0' && buf[at] <= '9') buf[at] = (uint8_t)('0' + next() % 10);
                else buf[at] = "0123456789[]{},:\"-"[next() % 18];
                break;
            case 3: { /* header length */
                static const uint64_t v[] = {0, 1, 2, 7, 8, 0xff, 0xffffffffull, 0x7fffffffffffffffull, UINT64_MAX};
                uint64_t x = v[next() % 9];
                if (next() % 2) {
                    x = 0;
                    for (int i = 7; i >= 0; i--) x = x << 8 | buf[i];
                    x += (uint64_t)(int)(next() % 17) - 8;
                }
                for (int i = 0; i < 8 && n >= 8; i++) buf[i] = (uint8_t)(x >> (8 * i));
                break;
            }
            case 4: n = at; break;   /* cut */
            case 5: { /* erase a chunk */
                size_t k = next() % 16;
                if (at + k > n) k = n - at;
                memmove(buf + at, buf + at + k, n - at - k);
                n -= k;
                break;
            }
            case 6: { /* insert a chunk */
                size_t k = next() % 16;
                if (n + k < (1 << 16)) {
                    memmove(buf + at + k, buf + at, n - at);
                    for (size_t i = 0; i < k; i++) buf[at + i] = (uint8_t)next();
                    n += k;
                }
                break;
            }
            default: /* copy a byte from elsewhere */
                if (n) buf[at] = buf[next() % n];
            }
        }
        /* the entry point on an exact-size heap copy (ASan sees overreads) */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        hearth_safetensors *st = NULL;
        hearth_status r = hearth_safetensors_open_memory(exact, n, &st);
        if (r == HEARTH_OK) accepted++;
        else {
            refused++;
            CHECK_MSG(hearth_last_error()[0] != 0, "refused without a message");
        }
        hearth_safetensors_close(st);
        free(exact);
    }
    printf("  %ld inputs: %ld accepted, %ld refused\n", iters, accepted, refused);
    CHECK(refused > 0 && accepted > 0);
    free(buf);
    for (int i = 0; i < 3; i++) free(seeds[i].p);
    return harness_done();
}
