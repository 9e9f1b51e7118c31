/*
 * cmd_inspect.c — `hearth inspect MODEL [--json] [--no-tensors] [--full]`:
 * prints a GGUF file's header, metadata and tensor table.
 *
 * Text mode abbreviates: strings longer than 60 bytes are cut (with their
 * length), arrays show their first 6 elements and their count. JSON mode
 * prints one object:
 *   {"file", "version", "alignment", "data_offset", "file_size",
 *    "metadata": {key: value, ...},            arrays cut to 16 elements
 *    "truncated_arrays": {key: full_count, ...},  only the arrays that were cut
 *    "tensors": [{"name","type","shape","offset","bytes"}, ...],
 *    "n_tensors", "n_params", "n_bytes"}
 * --full prints arrays and strings whole in both modes; --no-tensors leaves
 * out the tensor list (the totals stay).
 */
#include "cli.h"
#include "hearth/gguf.h"
#include "core/utf8.h"

#include <math.h>
#include <string.h>

const char *const cmd_inspect_summary = "show a GGUF file's metadata and tensors";

#define TEXT_ARR 6
#define TEXT_STR 60
#define JSON_ARR 16

static void usage(void) {
    printf("usage: hearth inspect MODEL.gguf [--json] [--no-tensors] [--full]\n"
           "       hearth inspect -m MODEL.gguf ...\n\n"
           "Prints the GGUF version, alignment, every metadata key with its type and\n"
           "value, and the tensor table (name, type, shape, bytes) with totals.\n\n"
           "  -m, --model FILE   the file (or give it as the argument)\n"
           "  --json             one JSON object (arrays cut to their first %d elements;\n"
           "                     \"truncated_arrays\" gives the full counts)\n"
           "  --no-tensors       leave out the tensor table (totals are still printed)\n"
           "  --full             print arrays and long strings in full\n",
           JSON_ARR);
}

/* ---- JSON strings (valid UTF-8 out, whatever the file holds) ------------- */

/* Invalid bytes become U+FFFD. */
static void json_str(const char *p, size_t len) {
    const unsigned char *s = (const unsigned char *)p;
    putchar('"');
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t l;
        if (hearth_utf8_decode(p + i, len - i, &l) < 0) { fputs("\\ufffd", stdout); i++; continue; }
        if (l > 1) { fwrite(s + i, 1, l, stdout); i += l; continue; }
        switch (c) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (c < 0x20 || c == 0x7f) printf("\\u%04x", c);
            else putchar(c);
        }
        i++;
    }
    putchar('"');
}

static void json_double(double d, bool f32) {
    if (!isfinite(d)) fputs("null", stdout);
    else printf(f32 ? "%.9g" : "%.17g", d);
}

/* ---- text strings (escaped, maybe cut) ----------------------------------- */

static void text_str(const char *p, size_t len, bool full) {
    size_t shown = full || len <= TEXT_STR ? len : TEXT_STR;
    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '"') fputs("\\\"", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (shown < len) printf("... (%zu bytes)", len);
}

/* ---- values -------------------------------------------------------------- */

typedef struct ictx {
    bool json, full;
    const hearth_gguf *g;
} ictx;

static void print_arr(const ictx *c, const hearth_gguf_arr *a);

/* Element i of a (fixed-size types). */
static void print_elem(const ictx *c, const hearth_gguf_arr *a, uint64_t i) {
    switch (a->type) {
    case HEARTH_GGUF_FLOAT32:
    case HEARTH_GGUF_FLOAT64:
        if (c->json) json_double(hearth_gguf_arr_float(a, i), a->type == HEARTH_GGUF_FLOAT32);
        else printf("%g", hearth_gguf_arr_float(a, i));
        break;
    case HEARTH_GGUF_BOOL: fputs(hearth_gguf_arr_int(a, i) ? "true" : "false", stdout); break;
    case HEARTH_GGUF_UINT8: case HEARTH_GGUF_UINT16: case HEARTH_GGUF_UINT32: case HEARTH_GGUF_UINT64:
        printf("%llu", (unsigned long long)hearth_gguf_arr_uint(a, i));
        break;
    case HEARTH_GGUF_STRING: {
        hearth_str s = hearth_gguf_arr_str(a, i);
        if (c->json) json_str(s.ptr, s.len);
        else text_str(s.ptr, s.len, c->full);
        break;
    }
    case HEARTH_GGUF_ARRAY: {
        hearth_gguf_arr sub = hearth_gguf_arr_arr(a, i);
        print_arr(c, &sub);
        break;
    }
    default: printf("%lld", (long long)hearth_gguf_arr_int(a, i)); break;
    }
}

static void print_arr(const ictx *c, const hearth_gguf_arr *a) {
    uint64_t limit = c->full ? a->n : c->json ? JSON_ARR : TEXT_ARR;
    uint64_t shown = a->n < limit ? a->n : limit;
    if (!c->json) printf("[%s; %llu] ", hearth_gguf_type_name(a->type), (unsigned long long)a->n);
    putchar('[');
    for (uint64_t i = 0; i < shown; i++) {
        if (i) fputs(", ", stdout);
        print_elem(c, a, i);
    }
    if (!c->json && shown < a->n) fputs(", ...", stdout);
    putchar(']');
}

static void print_value(const ictx *c, int64_t i) {
    hearth_gguf_type t = hearth_gguf_kv_type(c->g, i);
    int64_t iv;
    uint64_t uv;
    double dv;
    bool bv;
    hearth_str sv;
    hearth_gguf_arr av;
    switch (t) {
    case HEARTH_GGUF_STRING:
        hearth_gguf_kv_str(c->g, i, &sv);
        if (c->json) json_str(sv.ptr, sv.len);
        else text_str(sv.ptr, sv.len, c->full);
        break;
    case HEARTH_GGUF_ARRAY:
        hearth_gguf_kv_arr(c->g, i, &av);
        print_arr(c, &av);
        break;
    case HEARTH_GGUF_BOOL:
        hearth_gguf_kv_bool(c->g, i, &bv);
        fputs(bv ? "true" : "false", stdout);
        break;
    case HEARTH_GGUF_FLOAT32:
    case HEARTH_GGUF_FLOAT64:
        hearth_gguf_kv_float(c->g, i, &dv);
        if (c->json) json_double(dv, t == HEARTH_GGUF_FLOAT32);
        else printf("%g", dv);
        break;
    case HEARTH_GGUF_UINT8: case HEARTH_GGUF_UINT16: case HEARTH_GGUF_UINT32: case HEARTH_GGUF_UINT64:
        hearth_gguf_kv_uint(c->g, i, &uv);
        printf("%llu", (unsigned long long)uv);
        break;
    default:
        hearth_gguf_kv_int(c->g, i, &iv);
        printf("%lld", (long long)iv);
        break;
    }
}

/* ---- the command --------------------------------------------------------- */

static const char *type_name(uint32_t t) {
    const hearth_type_info *ti = hearth_type_get(t);
    return ti ? ti->name : "?";
}

static void totals(const hearth_gguf *g, int64_t *params, uint64_t *bytes) {
    *params = 0;
    *bytes = 0;
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        *params += hearth_gguf_tensor_nelements(t);
        *bytes += t->nbytes;
    }
}

static void print_json(const ictx *c, const char *path, bool tensors) {
    const hearth_gguf *g = c->g;
    printf("{\"file\": ");
    json_str(path, strlen(path));
    printf(", \"version\": %u, \"alignment\": %zu, \"data_offset\": %zu, \"file_size\": %zu,\n \"metadata\": {",
           hearth_gguf_version(g), hearth_gguf_alignment(g), hearth_gguf_data_offset(g), hearth_gguf_file_size(g));
    int64_t n_kv = hearth_gguf_n_kv(g);
    for (int64_t i = 0; i < n_kv; i++) {
        hearth_str k = hearth_gguf_kv_key(g, i);
        printf("%s\n  ", i ? "," : "");
        json_str(k.ptr, k.len);
        fputs(": ", stdout);
        print_value(c, i);
    }
    printf("},\n \"truncated_arrays\": {");
    int cut = 0;
    for (int64_t i = 0; i < n_kv && !c->full; i++) {
        hearth_gguf_arr a;
        if (hearth_gguf_kv_type(g, i) != HEARTH_GGUF_ARRAY || hearth_gguf_kv_arr(g, i, &a) || a.n <= JSON_ARR) continue;
        hearth_str k = hearth_gguf_kv_key(g, i);
        fputs(cut++ ? ", " : "", stdout);
        json_str(k.ptr, k.len);
        printf(": %llu", (unsigned long long)a.n);
    }
    printf("},\n \"tensors\": [");
    for (int64_t i = 0; tensors && i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_str(t->name, strlen(t->name));
        printf(", \"type\": \"%s\", \"shape\": [", type_name(t->type));
        for (int d = 0; d < t->n_dims; d++) printf("%s%lld", d ? ", " : "", (long long)t->ne[d]);
        printf("], \"offset\": %llu, \"bytes\": %zu}", (unsigned long long)t->offset, t->nbytes);
    }
    int64_t params;
    uint64_t bytes;
    totals(g, &params, &bytes);
    printf("],\n \"n_tensors\": %lld, \"n_params\": %lld, \"n_bytes\": %llu}\n", (long long)hearth_gguf_n_tensors(g),
           (long long)params, (unsigned long long)bytes);
}

static void human(uint64_t b, char *out, size_t n) {
    if (b >= (1ull << 30)) snprintf(out, n, "%.2f GiB", (double)b / (1ull << 30));
    else if (b >= (1ull << 20)) snprintf(out, n, "%.2f MiB", (double)b / (1ull << 20));
    else if (b >= 1024) snprintf(out, n, "%.1f KiB", (double)b / 1024);
    else snprintf(out, n, "%llu B", (unsigned long long)b);
}

static void print_text(const ictx *c, const char *path, bool tensors) {
    const hearth_gguf *g = c->g;
    char h[32];
    human(hearth_gguf_file_size(g), h, sizeof h);
    printf("file:       %s (%s)\n", path, h);
    printf("version:    GGUF v%u\n", hearth_gguf_version(g));
    printf("alignment:  %zu (tensor data at offset %zu)\n", hearth_gguf_alignment(g), hearth_gguf_data_offset(g));
    int64_t n_kv = hearth_gguf_n_kv(g);
    printf("metadata:   %lld keys\n", (long long)n_kv);
    for (int64_t i = 0; i < n_kv; i++) {
        hearth_str k = hearth_gguf_kv_key(g, i);
        hearth_gguf_type t = hearth_gguf_kv_type(g, i);
        printf("  %-44.*s %-8s ", (int)k.len, k.ptr, t == HEARTH_GGUF_ARRAY ? "array" : hearth_gguf_type_name(t));
        print_value(c, i);
        putchar('\n');
    }
    int64_t nt = hearth_gguf_n_tensors(g);
    if (tensors && nt > 0) {
        printf("tensors:\n  %-40s %-7s %-20s %12s\n", "name", "type", "shape", "bytes");
        for (int64_t i = 0; i < nt; i++) {
            const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
            char shape[96];
            size_t o = 0;
            for (int d = 0; d < t->n_dims && o < sizeof shape; d++)
                o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%lld", d ? " x " : "", (long long)t->ne[d]);
            printf("  %-40s %-7s %-20s %12zu\n", t->name, type_name(t->type), shape, t->nbytes);
        }
    }
    int64_t params;
    uint64_t bytes;
    totals(g, &params, &bytes);
    human(bytes, h, sizeof h);
    printf("total:      %lld tensors, %lld parameters, %llu bytes (%s)\n", (long long)nt, (long long)params,
           (unsigned long long)bytes, h);
}

int cmd_inspect(int argc, char **argv) {
    const char *model = NULL;
    bool json = false, tensors = true, full = false;
    cli_args a = cli_args_init("inspect", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_flag(&a, NULL, "--no-tensors")) { tensors = false; continue; }
        if (cli_flag(&a, NULL, "--full")) { full = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos > 1 || (a.n_pos == 1 && model))
        return cli_error("inspect", "give one file (as the argument or with -m)") + 1;
    if (a.n_pos == 1) model = a.pos[0];
    model = cli_model_or_default("inspect", model);
    if (!model) return 2;
    hearth_gguf *g = NULL;
    if (hearth_gguf_open(model, &g) != HEARTH_OK) return cli_lib_error("inspect");
    ictx c = {json, full, g};
    if (json) print_json(&c, model, tensors);
    else print_text(&c, model, tensors);
    hearth_gguf_close(g);
    return ferror(stdout) ? 1 : 0;
}
