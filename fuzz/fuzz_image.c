/*
 * fuzz_image.c — libFuzzer target for hearth_image_decode: PNG, JPEG, WebP,
 * GIF and BMP (the format is sniffed from the input). Every input is decoded
 * as stored, as gray and as RGB under a 4-megapixel limit (so the fuzzer
 * spends its time in the parsers, not in big allocations); an accepted
 * image's every byte is read, so ASan sees a buffer of the wrong size.
 */
#include "hearth/image.h"

#include <stdint.h>
#include <stdlib.h>

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hearth_image_limits lim = hearth_image_default_limits();
    lim.max_pixels = 4 << 20;
    int w, h;
    hearth_image_format f;
    sink += hearth_image_probe(data, size, &w, &h, &f) == HEARTH_OK;
    for (int ch = 0; ch <= 3; ch += (ch == 1 ? 2 : 1)) {
        hearth_image im;
        if (hearth_image_decode_ex(data, size, ch, &lim, &im) != HEARTH_OK) continue;
        if (im.w <= 0 || im.h <= 0 || (im.c != 1 && im.c != 3) || (ch && im.c != ch)) __builtin_trap();
        size_t n = (size_t)im.w * im.h * im.c;
        for (size_t i = 0; i < n; i++) sink += im.data[i];
        hearth_image_free(&im);
    }
    return 0;
}
