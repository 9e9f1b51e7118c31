/* cpu.c — CPU feature detection, done once. */
#include "hearth/core.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void detect(hearth_cpu *c) {
    unsigned a, b, cc, d;
    if (!__get_cpuid(1, &a, &b, &cc, &d)) return;
    bool osxsave = (cc >> 27) & 1;
    bool fma = (cc >> 12) & 1, f16c = (cc >> 29) & 1;
    if (!osxsave) return;
    unsigned long long xcr0 = read_xcr0();
    bool ymm = (xcr0 & 6) == 6, zmm = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &cc, &d)) return;
    c->avx2 = ymm && ((b >> 5) & 1);
    c->fma = ymm && fma;
    c->f16c = ymm && f16c;
    c->avx512f = zmm && ((b >> 16) & 1);
    c->avx512bw = zmm && ((b >> 30) & 1);
    c->avx512vl = zmm && ((b >> 31) & 1);
    c->avx512vnni = zmm && ((cc >> 11) & 1);
    unsigned a1, b1, c1, d1;
    if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) {
        c->avxvnni = ymm && ((a1 >> 4) & 1);
        c->avx512bf16 = zmm && ((a1 >> 5) & 1);
    }
}
#else
static void detect(hearth_cpu *c) { (void)c; }
#endif

static hearth_cpu features;
static bool detected;

const hearth_cpu *hearth_cpu_features(void) {
    /* Benign race: every thread computes the same bits. */
    if (!detected) {
        hearth_cpu c;
        memset(&c, 0, sizeof c);
        detect(&c);
        features = c;
        detected = true;
    }
    return &features;
}

bool hearth_force_reference(void) {
    const char *e = getenv("HEARTH_FORCE_REFERENCE");
    return e && *e && strcmp(e, "0") != 0;
}
