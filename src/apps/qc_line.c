/*
 * qc_line.c — pieces of the inspection line that are not the detector:
 * template captions of results and the shift report (a built-in report
 * template over the shift's results).
 */
#include "hearth/qc.h"
#include "apps/report_cjson.h"

#include "core/buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hearth_qc_caption(const hearth_qc_result *r, double threshold, const char *image, int img_w, int img_h) {
    const char *base = image ? strrchr(image, '/') : NULL;
    base = base ? base + 1 : image ? image : "image";
    hearth_buf b = {0};
    if (!r->anomalous) {
        hearth_buf_printf(&b, "%s looks good (score %.2f, threshold %.2f).", base, r->score, threshold);
        return hearth_buf_take(&b, NULL);
    }
    double cx = r->region[0] + r->region[2] / 2.0, cy = r->region[1] + r->region[3] / 2.0;
    const char *v = cy < img_h / 3.0 ? "upper" : cy > 2 * img_h / 3.0 ? "lower" : "middle";
    const char *h = cx < img_w / 3.0 ? "left" : cx > 2 * img_w / 3.0 ? "right" : "centre";
    double ratio = threshold > 0 ? r->score / threshold : 0;
    const char *how = ratio > 3 ? "Clear" : ratio > 1.5 ? "Likely" : "Possible";
    bool centre = !strcmp(v, "middle") && !strcmp(h, "centre");
    hearth_buf_printf(&b, "%s defect in the %s%s%s of %s: %dx%d px at (%d, %d), score %.2f (%.1fx the threshold).",
                      how, centre ? "centre" : v, centre ? "" : " ", centre ? "" : h, base, r->region[2],
                      r->region[3], r->region[0], r->region[1], r->score, ratio);
    return hearth_buf_take(&b, NULL);
}

static const char SHIFT_TEMPLATE[] =
    "{# chart rate rate x=period y=anomalous title=\"Defect rate (%)\" #}\n"
    "{# chart scores hist y=score bins=24 title=\"Anomaly scores\" #}\n"
    "{# chart count bars by=period title=\"Parts inspected\" #}\n"
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{ title }}</title>\n"
    "<style>body{font-family:\"DejaVu Sans\",Arial,sans-serif;max-width:760px;margin:2em auto;color:#1a202c}"
    "table{border-collapse:collapse;width:100%;font-size:12px}td,th{padding:3px 6px;border-bottom:1px solid #e2e8f0;"
    "text-align:left}th{background:#edf2f7}</style></head><body>\n"
    "<h1>{{ title }}</h1>\n"
    "{% set n = rows | length %}{% set bad = rows | selectattr('anomalous') | list | length %}"
    "<p>{{ n }} parts inspected{% if n %} from {{ rows[0].time }} to {{ rows[-1].time }}{% endif %}; "
    "<b>{{ bad }} defective</b> ({{ ((100 * bad / n) if n else 0) | round(1) }} %). "
    "Threshold {{ meta.threshold | round(3) }}. Generated {{ generated }} UTC.</p>\n"
    "{% if meta.errors %}<p>{{ meta.errors }} images could not be read (see the log).</p>{% endif %}\n"
    "<h2>Defect rate</h2>\n{{ charts.rate }}\n<h2>Scores</h2>\n{{ charts.scores }}\n{{ charts.count }}\n"
    "<h2>Defects</h2>\n{% if bad %}<table><tr><th>Time</th><th>Score</th><th>Caption</th></tr>\n"
    "{% for r in rows if r.anomalous %}<tr><td>{{ r.time }}</td><td>{{ r.score | round(2) }}</td><td>{{ r.caption | e }}</td></tr>\n"
    "{% endfor %}</table>{% else %}<p>None.</p>{% endif %}\n</body></html>\n";

hearth_status hearth_qc_shift_report(const void *data, const char *title, const char *path) {
    hearth_report_params p = {.title = title ? title : "Shift report"};
    char *html = NULL;
    /* the period of each row: its minute when the shift so far is shorter than two hours, else its hour */
    cJSON *d = cJSON_Duplicate((const cJSON *)data, true);
    if (!d) return HEARTH_ERR_NOMEM;
    cJSON *rows = cJSON_GetObjectItemCaseSensitive(d, "rows"), *row;
    int n = cJSON_GetArraySize(rows), first = -1, last = -1;
    cJSON_ArrayForEach(row, rows) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(row, "time");
        int hh, mm;
        if (cJSON_IsString(t) && strlen(t->valuestring) >= 16 && sscanf(t->valuestring + 11, "%d:%d", &hh, &mm) == 2) {
            if (first < 0) first = hh * 60 + mm;
            last = hh * 60 + mm;
        }
    }
    bool minutes = n > 0 && first >= 0 && ((last - first + 1440) % 1440) < 120;
    cJSON_ArrayForEach(row, rows) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(row, "time");
        char per[8] = "?";
        if (cJSON_IsString(t) && strlen(t->valuestring) >= 16) {
            memcpy(per, t->valuestring + 11, 5);
            per[5] = 0;
            if (!minutes) per[3] = per[4] = '0';
        }
        cJSON_AddStringToObject(row, "period", per);
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(d, "columns"), cJSON_CreateString("period"));
    hearth_status st = hearth_report_render(SHIFT_TEMPLATE, sizeof SHIFT_TEMPLATE - 1, "shift report template", d,
                                            &p, &html, NULL);
    cJSON_Delete(d);
    if (st) return st;
    size_t plen = strlen(path);
    if (plen > 4 && !strcmp(path + plen - 4, ".pdf")) {
        st = hearth_report_pdf(html, path);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(html, 1, strlen(html), f) != strlen(html)) st = hearth_set_error(HEARTH_ERR_IO, "%s: cannot write", path);
        if (f && fclose(f) != 0 && !st) st = hearth_set_error(HEARTH_ERR_IO, "%s: cannot write", path);
    }
    free(html);
    return st;
}
