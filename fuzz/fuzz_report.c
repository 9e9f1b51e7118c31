/*
 * fuzz_report.c — libFuzzer entry for the report data reader (CSV / JSON,
 * hearth_report_load_data), the chart drawer and the figure check: whatever
 * loads is charted with every kind over its first two columns and checked
 * against its own text. Checks: no crash, charts are NUL-terminated SVG.
 *   (target made by fuzz/CMakeLists.txt with every layer)
 */
#include "apps/report_cjson.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    cJSON *d = NULL;
    if (hearth_report_load_data((const char *)data, size, "fuzz", &d) != HEARTH_OK) {
        if (d) abort();
        return 0;
    }
    const cJSON *cols = cJSON_GetObjectItem(d, "columns");
    const cJSON *c0 = cJSON_GetArrayItem(cols, 0), *c1 = cJSON_GetArrayItem(cols, 1);
    const char *a = cJSON_IsString(c0) ? c0->valuestring : "x", *b = cJSON_IsString(c1) ? c1->valuestring : a;
    static const char *const kinds[] = {"line", "hist", "bars", "rate"};
    for (int k = 0; k < 4; k++) {
        hearth_chart_spec s = {.kind = kinds[k], .x = a, .y = b, .by = a, .title = b, .bins = 7};
        char *svg = NULL;
        if (hearth_chart_svg(d, &s, &svg) == HEARTH_OK && (!svg || strncmp(svg, "<svg", 4))) abort();
        free(svg);
    }
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = 0;
        free(hearth_report_check_figures(text, d));
        free(text);
    }
    cJSON_Delete(d);
    return 0;
}
