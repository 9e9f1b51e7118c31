/*
 * fuzz_constraint.c — libFuzzer entry for the text helpers under the
 * sequence step: the JSON-object constraint (include/hearth/constraint.h),
 * core/utf8 and core/lines, on arbitrary bytes. Checks: allows() agrees with
 * advance() over the same bytes, whether fed at once or split where the
 * first byte says; a text the constraint calls DONE parses as a JSON object
 * (cJSON; texts with \u escapes left out: RFC 8259 allows lone surrogate
 * escapes, cJSON refuses them); strictly decoded code points encode back to the same bytes; the
 * line reader's lines and endings cover the input exactly.
 * Built with src/sample/constraint.c and json_object.c (fuzz/CMakeLists.txt).
 */
#include "hearth/constraint.h"
#include "core/lines.h"
#include "core/utf8.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *t = (const char *)data;
    /* ---- the JSON-object constraint ---- */
    hearth_constraint *a = NULL, *b = NULL;
    if (hearth_constraint_json_object(&a) != HEARTH_OK || hearth_constraint_json_object(&b) != HEARTH_OK) abort();
    bool allowed = hearth_constraint_allows(a, t, size);
    bool whole = hearth_constraint_advance(a, t, size);
    size_t cut = size ? data[0] % (size + 1) : 0;
    bool split = hearth_constraint_advance(b, t, cut) && hearth_constraint_advance(b, t + cut, size - cut);
    if (allowed != whole || whole != split) abort();
    if (whole && hearth_constraint_complete(a) != hearth_constraint_complete(b)) abort();
    if (whole && hearth_constraint_complete(a) == HEARTH_CONSTRAINT_DONE && !memmem(t, size, "\\u", 2)) {
        cJSON *o = cJSON_ParseWithLength(t, size);
        if (!o || !cJSON_IsObject(o)) abort();
        cJSON_Delete(o);
    }
    hearth_constraint_free(a);
    hearth_constraint_free(b);
    /* ---- UTF-8 ---- */
    for (size_t i = 0; i < size;) {
        size_t len;
        int32_t cp = hearth_utf8_decode(t + i, size - i, &len);
        if (cp >= 0) {
            char out[4];
            if (hearth_utf8_encode((uint32_t)cp, out) != len || memcmp(out, t + i, len) != 0) abort();
        } else if (len != 1) {
            abort();
        }
        uint32_t lcp = hearth_utf8_decode_lenient(t + i, size - i, &len);
        if (len < 1 || len > 4 || len > size - i || lcp > 0x10FFFF) abort();
        i += len;
    }
    size_t keep = hearth_utf8_complete_prefix(t, size);
    if (keep > size || (hearth_utf8_valid(t, size, NULL) && keep != size)) abort();
    /* ---- lines ---- */
    hearth_lines r;
    hearth_lines_mem(&r, t, size);
    const char *line;
    size_t n, covered = 0;
    while (hearth_lines_next(&r, &line, &n)) {
        if (line != t + covered || memchr(line, '\n', n)) abort();
        covered += n;
        if (covered < size && t[covered] == '\r') covered++;
        if (covered < size && t[covered] == '\n') covered++;
    }
    if (covered != size) abort();
    return 0;
}
