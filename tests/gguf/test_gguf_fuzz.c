/*
 * test_gguf_fuzz.c — runs the fuzz target's entry point (fuzz/fuzz_gguf.c)
 * without libFuzzer: over the seed corpus, then over a few thousand
 * deterministic mutations of it (bit flips, interesting integers, cuts,
 * inserted and erased chunks). Every input must either open and be walked
 * without a fault, or be refused with a message that names the offset.
 *   test_gguf_fuzz [ITERATIONS]
 */
#include "harness.h"
#include "hearth/gguf.h"

#include <dirent.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seed {
    uint8_t *p;
    size_t n;
} seed;

static seed seeds[64];
static int n_seeds;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {   /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static int accepted, refused;

static void run_one(const uint8_t *p, size_t n, const char *what) {
    hearth_gguf *g = NULL;
    hearth_status s = hearth_gguf_open_memory(p, n, &g);
    if (s == HEARTH_OK) {
        accepted++;
        hearth_gguf_close(g);
    } else {
        refused++;
        const char *m = hearth_last_error();
        CHECK_MSG((s == HEARTH_ERR_FORMAT || s == HEARTH_ERR_UNSUPPORTED) && strncmp(m, "buffer: offset ", 15) == 0,
                  "%s: status %d: %s", what, (int)s, m);
    }
    LLVMFuzzerTestOneInput(p, n);
}

static void load_seeds(void) {
    DIR *d = opendir(GGUF_FUZZ_CORPUS);
    CHECK_MSG(d != NULL, "cannot open %s", GGUF_FUZZ_CORPUS);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && n_seeds < 64) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", GGUF_FUZZ_CORPUS, e->d_name);
        size_t n = 0;
        char *p = harness_read(path, &n);
        if (!p) continue;
        seeds[n_seeds].p = (uint8_t *)p;
        seeds[n_seeds].n = n;
        n_seeds++;
    }
    closedir(d);
    /* readdir order is arbitrary: sort by size then bytes, for a reproducible run */
    for (int i = 1; i < n_seeds; i++)
        for (int j = i; j > 0; j--) {
            seed a = seeds[j - 1], b = seeds[j];
            int c = a.n != b.n ? (a.n > b.n) - (a.n < b.n) : memcmp(a.p, b.p, a.n);
            if (c <= 0) break;
            seeds[j - 1] = b;
            seeds[j] = a;
        }
}

TEST(seed_corpus) {
    load_seeds();
    CHECK(n_seeds >= 5);
    for (int i = 0; i < n_seeds; i++) {
        hearth_gguf *g = NULL;
        CHECK_MSG(hearth_gguf_open_memory(seeds[i].p, seeds[i].n, &g) == HEARTH_OK, "seed %d: %s", i,
                  hearth_last_error());
        hearth_gguf_close(g);
        LLVMFuzzerTestOneInput(seeds[i].p, seeds[i].n);
    }
}

static const uint64_t INTERESTING[] = {0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 33, 64, 255, 256, 0x7fffffff,
                                       0x80000000ull, 0xffffffffull, 1ull << 32, 1ull << 61, 1ull << 62,
                                       1ull << 63, UINT64_MAX - 1, UINT64_MAX};

static int iterations = 20000;

TEST(mutations) {
    if (!n_seeds) return;
    uint8_t *buf = malloc(1 << 17);
    for (int it = 0; it < iterations; it++) {
        const seed *s = &seeds[next() % (uint64_t)n_seeds];
        size_t n = s->n;
        memcpy(buf, s->p, n);
        int k = 1 + (int)(next() % 4);
        for (int m = 0; m < k && n > 0; m++) {
            size_t at = (size_t)(next() % n);
            switch (next() % 7) {
            case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
            case 1: buf[at] = (uint8_t)INTERESTING[next() % 15]; break;
            case 2:
            case 3: {   /* an interesting u32/u64 at a position */
                uint64_t v = INTERESTING[next() % (sizeof INTERESTING / sizeof INTERESTING[0])];
                size_t w = next() % 2 ? 8 : 4;
                if (at + w <= n) memcpy(buf + at, &v, w);
                break;
            }
            case 4: n = at; break;   /* cut */
            case 5: {                /* erase a chunk */
                size_t len = 1 + (size_t)(next() % 16);
                if (at + len <= n) { memmove(buf + at, buf + at + len, n - at - len); n -= len; }
                break;
            }
            case 6: {                /* duplicate a chunk */
                size_t len = 1 + (size_t)(next() % 32);
                if (at + len <= n && n + len <= (1 << 17)) {
                    memmove(buf + at + len, buf + at, n - at);
                    n += len;
                }
                break;
            }
            }
        }
        /* run from an exactly-sized copy so ASan sees reads past the end */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        char what[64];
        snprintf(what, sizeof what, "mutation %d", it);
        run_one(exact, n, what);
        free(exact);
    }
    free(buf);
    printf("  %d mutated inputs: %d accepted, %d refused\n", iterations, accepted, refused);
    CHECK(accepted > 0 && refused > 0);   /* the mutations reach both paths */
}

int main(int argc, char **argv) {
    if (argc > 1) iterations = atoi(argv[1]);
    RUN(seed_corpus);
    RUN(mutations);
    for (int i = 0; i < n_seeds; i++) free(seeds[i].p);
    return harness_done();
}
