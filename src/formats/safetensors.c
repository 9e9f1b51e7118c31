/*
 * safetensors.c — safetensors reader (mmap, zero-copy, every offset checked)
 * and writer. Layout in include/hearth/safetensors.h.
 *
 * The reader enforces what the reference implementation (the `safetensors`
 * crate) enforces: a header length inside the file, a JSON object whose
 * entries are either "__metadata__" (strings) or tensors with a known dtype,
 * a shape of non-negative integers and data_offsets [begin, end] whose span
 * is exactly n_elements * dtype size; the tensors tile the data buffer from
 * byte 0 to its end without gaps or overlaps; names are unique.
 */
#include "hearth/safetensors.h"
#include "hearth/core.h"
#include "kernels/kernels.h"   /* inline F16/BF16 conversions only */
#include "core/buf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100u << 20)   /* the reference rejects headers over 100 MB */

/* ==== dtypes =================================================================== */
static const struct {
    const char *name;
    size_t size;
} dtypes[HEARTH_ST_DTYPE_COUNT] = {
    [HEARTH_ST_BOOL] = {"BOOL", 1},       [HEARTH_ST_U8] = {"U8", 1},   [HEARTH_ST_I8] = {"I8", 1},
    [HEARTH_ST_F8_E5M2] = {"F8_E5M2", 1}, [HEARTH_ST_F8_E4M3] = {"F8_E4M3", 1},
    [HEARTH_ST_I16] = {"I16", 2},         [HEARTH_ST_U16] = {"U16", 2}, [HEARTH_ST_F16] = {"F16", 2},
    [HEARTH_ST_BF16] = {"BF16", 2},       [HEARTH_ST_I32] = {"I32", 4}, [HEARTH_ST_U32] = {"U32", 4},
    [HEARTH_ST_F32] = {"F32", 4},         [HEARTH_ST_F64] = {"F64", 8}, [HEARTH_ST_I64] = {"I64", 8},
    [HEARTH_ST_U64] = {"U64", 8},
};

const char *hearth_st_dtype_name(hearth_st_dtype d) {
    return (unsigned)d < HEARTH_ST_DTYPE_COUNT ? dtypes[d].name : "?";
}

size_t hearth_st_dtype_size(hearth_st_dtype d) { return (unsigned)d < HEARTH_ST_DTYPE_COUNT ? dtypes[d].size : 0; }

static int dtype_from_name(const char *s) {
    for (int i = 0; i < HEARTH_ST_DTYPE_COUNT; i++)
        if (strcmp(s, dtypes[i].name) == 0) return i;
    return -1;
}

/* ==== reader =================================================================== */
typedef struct st_meta {
    char *key, *value;   /* owned */
} st_meta;

struct hearth_safetensors {
    hearth_mapping map;   /* empty for open_memory */
    const uint8_t *base;
    size_t size;
    const char *label;    /* for messages: the path, or "(memory)" */
    char *path;           /* owned copy of the path */
    hearth_st_tensor *t;  /* sorted by name */
    int64_t n_t;
    st_meta *meta;
    int64_t n_meta;
};

void hearth_safetensors_close(hearth_safetensors *st) {
    if (!st) return;
    for (int64_t i = 0; i < st->n_t; i++) free((char *)st->t[i].name);
    for (int64_t i = 0; i < st->n_meta; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->t);
    free(st->meta);
    free(st->path);
    hearth_unmap(&st->map);
    free(st);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* a JSON number that is an integer in [0, 2^53] */
static bool json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const hearth_st_tensor *)a)->name, ((const hearth_st_tensor *)b)->name);
}

typedef struct span {
    uint64_t begin, end;
    int64_t i;   /* tensor index (before the name sort) */
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* one tensor entry of the header -> t (name owned); spans[i] = its offsets */
static hearth_status parse_tensor(hearth_safetensors *st, const cJSON *e, hearth_st_tensor *t, span *sp,
                                  uint64_t data_size) {
    const char *L = st->label, *name = e->string;
    if (!cJSON_IsObject(e))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: header entry \"%s\" is not an object", L, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\" has no \"dtype\" string", L, name);
    int d = dtype_from_name(dt->valuestring);
    if (d < 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\" has an unknown dtype \"%.32s\"", L, name,
                                dt->valuestring);
    if (!cJSON_IsArray(sh))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\" has no \"shape\" array", L, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > HEARTH_ST_MAX_DIMS)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: tensor \"%s\" has %d dimensions (at most %d)", L, name, nd,
                                HEARTH_ST_MAX_DIMS);
    t->dtype = (hearth_st_dtype)d;
    t->n_dims = nd;
    uint64_t n = 1;
    bool overflow = false;
    int k = 0;
    for (const cJSON *x = sh->child; x; x = x->next, k++) {
        uint64_t v;
        if (!json_uint(x, &v))
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\": shape[%d] is not a non-negative integer", L,
                                    name, k);
        t->shape[k] = (int64_t)v;
        if (v && n > UINT64_MAX / v) overflow = true;
        n *= v;
    }
    size_t esz = dtypes[d].size;
    if (!overflow && n > UINT64_MAX / esz) overflow = true;
    uint64_t b, en;
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !json_uint(of->child, &b) || !json_uint(of->child->next, &en))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\": \"data_offsets\" is not [begin, end]", L, name);
    if (en < b)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%llu, %llu] end before they begin", L,
                                name, (unsigned long long)b, (unsigned long long)en);
    if (en > data_size)
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "%s: tensor \"%s\": data_offsets [%llu, %llu] run past the end of the data (%llu bytes; "
                                "file truncated?)",
                                L, name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_size);
    if (overflow)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\": its shape needs more than 2^64 bytes", L, name);
    if (en - b != n * esz)
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "%s: tensor \"%s\": data_offsets [%llu, %llu] hold %llu bytes but %s %s needs %llu", L,
                                name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b),
                                dtypes[d].name, nd ? "of that shape" : "scalar", (unsigned long long)(n * esz));
    t->n_elements = (int64_t)n;
    t->nbytes = (size_t)(en - b);
    sp->begin = b;
    sp->end = en;
    t->name = dup_str(name);
    if (!t->name) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", L);
    return HEARTH_OK;
}

static hearth_status parse_meta(hearth_safetensors *st, const cJSON *m) {
    if (!cJSON_IsObject(m))
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: \"__metadata__\" is not an object", st->label);
    int n = cJSON_GetArraySize(m);
    st->meta = calloc(n ? (size_t)n : 1, sizeof *st->meta);
    if (!st->meta) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", st->label);
    for (const cJSON *x = m->child; x; x = x->next) {
        if (!cJSON_IsString(x))
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: __metadata__ value of \"%s\" is not a string", st->label,
                                    x->string);
        st_meta *e = &st->meta[st->n_meta];
        e->key = dup_str(x->string);
        e->value = dup_str(x->valuestring);
        st->n_meta++;
        if (!e->key || !e->value) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", st->label);
    }
    return HEARTH_OK;
}

static hearth_status parse(hearth_safetensors *st) {
    const char *L = st->label;
    if (st->size < 8)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: truncated: %zu bytes, shorter than the 8-byte header length", L,
                                st->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | st->base[i];
    if (hlen > st->size - 8)
        return hearth_set_error(HEARTH_ERR_FORMAT,
                                "%s: header length %llu runs past the end of the file (%zu bytes after the length; "
                                "truncated or not safetensors)",
                                L, (unsigned long long)hlen, st->size - 8);
    if (hlen > ST_MAX_HEADER)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: header length %llu is over the 100 MB limit", L,
                                (unsigned long long)hlen);
    const char *h = (const char *)st->base + 8;
    if (hlen < 2 || h[0] != '{')
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: the header (%llu bytes at offset 8) is not a JSON object", L,
                                (unsigned long long)hlen);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(h, (size_t)hlen, &end, false);
    if (!root) {
        size_t at = end && end >= h && end <= h + hlen ? (size_t)(end - h) : 0;
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: the header is not valid JSON (error near byte %zu of %llu)", L,
                                at + 8, (unsigned long long)hlen);
    }
    hearth_status s = HEARTH_OK;
    for (const char *p = end; p < h + hlen && !s; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: unexpected bytes after the header's JSON (at byte %zu)", L,
                                 (size_t)(p - h) + 8);
    if (!s && !cJSON_IsObject(root)) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the header is not a JSON object", L);
    uint64_t data_off = 8 + hlen, data_size = st->size - data_off;
    int n = s ? 0 : cJSON_GetArraySize(root);
    span *sp = NULL;
    if (!s) {
        st->t = calloc(n ? (size_t)n : 1, sizeof *st->t);
        sp = calloc(n ? (size_t)n : 1, sizeof *sp);
        if (!st->t || !sp) s = hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory for %d tensors", L, n);
    }
    bool seen_meta = false;
    for (const cJSON *e = s ? NULL : root->child; e && !s; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (seen_meta) s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: two \"__metadata__\" entries", L);
            else s = parse_meta(st, e);
            seen_meta = true;
            continue;
        }
        hearth_st_tensor *t = &st->t[st->n_t];
        sp[st->n_t].i = st->n_t;
        s = parse_tensor(st, e, t, &sp[st->n_t], data_size);
        if (t->name) st->n_t++;
    }
    cJSON_Delete(root);
    /* the tensors must tile the data buffer: no gap, no overlap, nothing after */
    if (!s) {
        qsort(sp, (size_t)st->n_t, sizeof *sp, cmp_span);
        uint64_t at = 0;
        for (int64_t i = 0; i < st->n_t && !s; i++) {
            hearth_st_tensor *t = &st->t[sp[i].i];
            if (sp[i].begin != at)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\" starts at data byte %llu but the previous "
                                     "tensor ends at %llu (%s)", L, t->name, (unsigned long long)sp[i].begin,
                                     (unsigned long long)at, sp[i].begin > at ? "gap" : "overlap");
            t->data = st->base + data_off + sp[i].begin;
            at = sp[i].end;
        }
        if (!s && at != data_size)
            s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %llu bytes after the last tensor's data (the tensors end at "
                                 "data byte %llu of %llu)", L, (unsigned long long)(data_size - at),
                                 (unsigned long long)at, (unsigned long long)data_size);
    }
    free(sp);
    if (!s) {
        qsort(st->t, (size_t)st->n_t, sizeof *st->t, cmp_name);
        for (int64_t i = 1; i < st->n_t && !s; i++)
            if (strcmp(st->t[i - 1].name, st->t[i].name) == 0)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: tensor \"%s\" appears twice in the header", L, st->t[i].name);
    }
    return s;
}

static hearth_status open_common(hearth_safetensors *st, hearth_safetensors **out) {
    hearth_status s = parse(st);
    if (s) {
        hearth_safetensors_close(st);
        return s;
    }
    *out = st;
    return HEARTH_OK;
}

hearth_status hearth_safetensors_open_memory(const void *data, size_t size, hearth_safetensors **out) {
    *out = NULL;
    hearth_safetensors *st = calloc(1, sizeof *st);
    if (!st) return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors: out of memory");
    st->base = data;
    st->size = size;
    st->label = "(memory)";
    return open_common(st, out);
}

hearth_status hearth_safetensors_open(const char *path, hearth_safetensors **out) {
    *out = NULL;
    hearth_safetensors *st = calloc(1, sizeof *st);
    if (!st) return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors: out of memory");
    st->path = dup_str(path);
    if (!st->path) {
        free(st);
        return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors: out of memory");
    }
    st->label = st->path;
    hearth_status s = hearth_map_file(path, &st->map);
    if (s) {
        hearth_safetensors_close(st);
        return s;
    }
    st->base = st->map.data;
    st->size = st->map.size;
    return open_common(st, out);
}

int64_t hearth_safetensors_n_tensors(const hearth_safetensors *st) { return st->n_t; }

const hearth_st_tensor *hearth_safetensors_tensor_at(const hearth_safetensors *st, int64_t i) {
    return i >= 0 && i < st->n_t ? &st->t[i] : NULL;
}

const hearth_st_tensor *hearth_safetensors_find(const hearth_safetensors *st, const char *name) {
    hearth_st_tensor key = {.name = name};
    return st->n_t ? bsearch(&key, st->t, (size_t)st->n_t, sizeof *st->t, cmp_name) : NULL;
}

int64_t hearth_safetensors_n_meta(const hearth_safetensors *st) { return st->n_meta; }
const char *hearth_safetensors_meta_key(const hearth_safetensors *st, int64_t i) {
    return i >= 0 && i < st->n_meta ? st->meta[i].key : NULL;
}
const char *hearth_safetensors_meta_value(const hearth_safetensors *st, int64_t i) {
    return i >= 0 && i < st->n_meta ? st->meta[i].value : NULL;
}
const char *hearth_safetensors_meta_get(const hearth_safetensors *st, const char *key) {
    for (int64_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}

hearth_status hearth_safetensors_to_f32(const hearth_st_tensor *t, float *dst) {
    const uint8_t *p = t->data;
    int64_t n = t->n_elements;
    switch (t->dtype) {
    case HEARTH_ST_F32:
        memcpy(dst, p, (size_t)n * 4);
        return HEARTH_OK;
    case HEARTH_ST_F16:
    case HEARTH_ST_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = t->dtype == HEARTH_ST_F16 ? hearth_fp16_to_fp32(h) : hearth_bf16_to_fp32(h);
        }
        return HEARTH_OK;
    default:
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "safetensors: tensor \"%s\" is %s; only F32, F16 and BF16 "
                                "convert to floats", t->name, hearth_st_dtype_name(t->dtype));
    }
}

/* ==== writer =================================================================== */
typedef struct wtensor {
    char *name;
    hearth_st_dtype dtype;
    int n_dims;
    int64_t shape[HEARTH_ST_MAX_DIMS];
    size_t nbytes;
    const void *data;   /* borrowed */
} wtensor;

struct hearth_st_writer {
    wtensor *t;
    size_t n_t, cap_t;
    st_meta *meta;
    size_t n_meta, cap_meta;
};

hearth_st_writer *hearth_st_writer_create(void) {
    hearth_st_writer *w = calloc(1, sizeof *w);
    if (!w) hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    return w;
}

void hearth_st_writer_free(hearth_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->t);
    free(w->meta);
    free(w);
}

hearth_status hearth_st_writer_set_meta(hearth_st_writer *w, const char *key, const char *value) {
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            char *v = dup_str(value);
            if (!v) return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
            free(w->meta[i].value);
            w->meta[i].value = v;
            return HEARTH_OK;
        }
    if (!HEARTH_GROW(w->meta, w->cap_meta, w->n_meta + 1))
        return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    st_meta *e = &w->meta[w->n_meta];
    e->key = dup_str(key);
    e->value = dup_str(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->n_meta++;
    return HEARTH_OK;
}

hearth_status hearth_st_writer_add(hearth_st_writer *w, const char *name, hearth_st_dtype dtype, int n_dims,
                                   const int64_t *shape, const void *data) {
    if ((unsigned)dtype >= HEARTH_ST_DTYPE_COUNT || n_dims < 0 || n_dims > HEARTH_ST_MAX_DIMS || !name ||
        strcmp(name, "__metadata__") == 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "safetensors writer: bad dtype, dimensions or name for \"%s\"",
                                name ? name : "(null)");
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "safetensors writer: tensor \"%s\" added twice", name);
    if (!HEARTH_GROW(w->t, w->cap_t, w->n_t + 1))
        return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    size_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        if (shape[i] < 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "safetensors writer: negative shape for %s", name);
        t->shape[i] = shape[i];
        n *= (size_t)shape[i];
    }
    t->name = dup_str(name);
    if (!t->name) return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    t->dtype = dtype;
    t->n_dims = n_dims;
    t->nbytes = n * dtypes[dtype].size;
    t->data = data;
    w->n_t++;
    return HEARTH_OK;
}

static void sb_json_str(hearth_buf *b, const char *s) { hearth_buf_json_str(b, s, strlen(s)); }

static int cmp_write_order(const void *a, const void *b) {
    const wtensor *x = *(const wtensor *const *)a, *y = *(const wtensor *const *)b;
    size_t sx = dtypes[x->dtype].size, sy = dtypes[y->dtype].size;
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

hearth_status hearth_st_writer_write(hearth_st_writer *w, const char *path) {
    wtensor **order = malloc((w->n_t ? w->n_t : 1) * sizeof *order);
    if (!order) return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    for (size_t i = 0; i < w->n_t; i++) order[i] = &w->t[i];
    qsort(order, w->n_t, sizeof *order, cmp_write_order);

    hearth_buf h = {0};
    hearth_buf_puts(&h, "{");
    if (w->n_meta) {
        hearth_buf_puts(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < w->n_meta; i++) {
            if (i) hearth_buf_puts(&h, ",");
            sb_json_str(&h, w->meta[i].key);
            hearth_buf_puts(&h, ":");
            sb_json_str(&h, w->meta[i].value);
        }
        hearth_buf_puts(&h, "}");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = order[i];
        if (i || w->n_meta) hearth_buf_puts(&h, ",");
        sb_json_str(&h, t->name);
        hearth_buf_puts(&h, ":{\"dtype\":\"");
        hearth_buf_puts(&h, dtypes[t->dtype].name);
        hearth_buf_puts(&h, "\",\"shape\":[");
        for (int d = 0; d < t->n_dims; d++) hearth_buf_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        hearth_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                          (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    hearth_buf_puts(&h, "}");
    while (!h.oom && (8 + h.len) % 8) hearth_buf_puts(&h, " ");
    if (h.oom) {
        free(order);
        hearth_buf_free(&h);
        return hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory for the header");
    }

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    hearth_status s = HEARTH_OK;
    FILE *f = NULL;
    if (!tmp) s = hearth_set_error(HEARTH_ERR_NOMEM, "safetensors writer: out of memory");
    if (!s) {
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, ".tmp", 5);
        f = fopen(tmp, "wb");
        if (!f) s = hearth_set_error(HEARTH_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    if (!s) {
        uint8_t len[8];
        for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
        bool ok = fwrite(len, 1, 8, f) == 8 && fwrite(h.data, 1, h.len, f) == h.len;
        for (size_t i = 0; i < w->n_t && ok; i++)
            if (order[i]->nbytes) ok = fwrite(order[i]->data, 1, order[i]->nbytes, f) == order[i]->nbytes;
        if (fclose(f) != 0) ok = false;
        if (!ok) s = hearth_set_error(HEARTH_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        if (!s && rename(tmp, path) != 0)
            s = hearth_set_error(HEARTH_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        if (s) remove(tmp);
    }
    free(tmp);
    free(order);
    hearth_buf_free(&h);
    return s;
}
