/*
 * gguf_read.c — GGUF reader (versions 2 and 3): validation at open, then
 * O(1) access to metadata, array elements and tensors.
 *
 * Layout (see include/hearth/gguf.h):
 *   u32 magic | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv      × { str key | u32 type | value }
 *   n_tensors × { str name | u32 n_dims | u64 ne[n_dims] | u32 type | u64 offset }
 *   pad to alignment | tensor data
 *
 * Everything is parsed once at open: scalar values are remembered by their
 * position in the mapping, strings as (ptr, len) into the mapping, and every
 * string array / nested array gets an index (one hearth_str or one node per
 * element), so element access is O(1). Keys and tensor names are found
 * through open-addressing hash tables. Nothing is copied except tensor names
 * (NUL-terminated for the public struct).
 *
 * Validation follows ggml's gguf reader (gguf.cpp) where it has a rule:
 * v1 rejected; duplicate keys and tensor names rejected; general.alignment
 * must be a u32 power of two; n_dims <= 4, ne >= 0, the element count must
 * fit int64, ne[0] must be a multiple of the type's block size, the type id
 * must be known. hearth is stricter on two points: n_dims must be >= 1 and
 * arrays may nest at most GGUF_MAX_DEPTH deep (ggml refuses nested arrays
 * altogether). hearth is more lenient on one: tensors need not be packed in
 * file order, only aligned and inside the file.
 *
 * Every count is checked against the bytes left in the file *before* any
 * allocation, so a 30-byte file claiming 2^63 keys fails cleanly.
 */
#include "formats/gguf_internal.h"

#include "hearth/core.h"

#include <stdlib.h>
#include <string.h>

#define GGUF_MAX_DEPTH 16

/* ---- value types -------------------------------------------------------- */

static const char *const TYPE_NAMES[HEARTH_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *hearth_gguf_type_name(hearth_gguf_type t) {
    if ((unsigned)t >= HEARTH_GGUF_TYPE_COUNT) return "invalid";
    return TYPE_NAMES[t];
}

size_t gguf_scalar_size(hearth_gguf_type t) {
    switch (t) {
    case HEARTH_GGUF_UINT8: case HEARTH_GGUF_INT8: case HEARTH_GGUF_BOOL: return 1;
    case HEARTH_GGUF_UINT16: case HEARTH_GGUF_INT16: return 2;
    case HEARTH_GGUF_UINT32: case HEARTH_GGUF_INT32: case HEARTH_GGUF_FLOAT32: return 4;
    case HEARTH_GGUF_UINT64: case HEARTH_GGUF_INT64: case HEARTH_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* A scalar read as a number. */
typedef struct num {
    enum { NUM_SIGNED, NUM_UNSIGNED, NUM_FLOAT, NUM_BOOL } kind;
    int64_t i;
    uint64_t u;
    double f;
} num;

/* p holds one little-endian scalar of type t (the host is little-endian:
 * x86-64 and aarch64 Linux, which is all hearth targets). */
static num read_num(hearth_gguf_type t, const uint8_t *p) {
    num n = {NUM_SIGNED, 0, 0, 0};
    switch (t) {
    case HEARTH_GGUF_UINT8: n.kind = NUM_UNSIGNED; n.u = p[0]; break;
    case HEARTH_GGUF_INT8: n.i = (int8_t)p[0]; break;
    case HEARTH_GGUF_BOOL: n.kind = NUM_BOOL; n.u = p[0] != 0; break;
    case HEARTH_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); n.kind = NUM_UNSIGNED; n.u = v; break; }
    case HEARTH_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); n.i = v; break; }
    case HEARTH_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); n.kind = NUM_UNSIGNED; n.u = v; break; }
    case HEARTH_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); n.i = v; break; }
    case HEARTH_GGUF_UINT64: { uint64_t v; memcpy(&v, p, 8); n.kind = NUM_UNSIGNED; n.u = v; break; }
    case HEARTH_GGUF_INT64: { int64_t v; memcpy(&v, p, 8); n.i = v; break; }
    case HEARTH_GGUF_FLOAT32: { float v; memcpy(&v, p, 4); n.kind = NUM_FLOAT; n.f = v; break; }
    case HEARTH_GGUF_FLOAT64: { double v; memcpy(&v, p, 8); n.kind = NUM_FLOAT; n.f = v; break; }
    default: break;
    }
    return n;
}

/* ---- hashing ------------------------------------------------------------ */

/* FNV-1a from a per-handle random start, then a full-avalanche finalizer
 * (murmur3's fmix64). Without the seed and the finalizer a file could hold
 * thousands of keys that land in one slot (FNV's low bits depend only on the
 * low bits of the input), turning open into a quadratic crawl. */
static uint64_t fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t gguf_hash(uint64_t seed, const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return fmix64(h);
}

uint64_t gguf_hash_seed(const void *p) {
    return fmix64((uint64_t)(uintptr_t)p ^ (uint64_t)(hearth_time_s() * 1e9));
}

/* capacity: a power of two >= 2n (at least 16); slots hold index + 1, 0 = empty */
static size_t table_cap(uint64_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
}

/* ---- the reader --------------------------------------------------------- */

struct hearth_gguf {
    hearth_mapping map;       /* when opened from a file */
    const uint8_t *base;
    size_t size;
    char label[512];          /* path or "buffer", for messages */
    uint32_t version;
    size_t alignment;
    size_t data_offset;

    int64_t n_kv;
    gguf_kv *kv;
    int64_t *kv_table;        /* open addressing: index + 1, 0 = empty */
    size_t kv_cap;

    int64_t n_tensors;
    hearth_gguf_tensor *tensors;
    char *names;              /* all tensor names, NUL-terminated */
    int64_t *t_table;
    size_t t_cap;
    uint64_t seed;            /* of the hash tables */
};

/* Parsing state: the cursor and what is being read, for messages. */
typedef struct rd {
    hearth_gguf *g;
    size_t pos;
    const char *what_key;     /* key being parsed (NULL-terminated copy not needed: printed with %.*s) */
    size_t what_len;
} rd;

#define FAIL(r, off, ...) fail_at((r), (off), __VA_ARGS__)

static hearth_status fail_at(rd *r, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static hearth_status fail_at(rd *r, size_t off, const char *fmt, ...) {
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return hearth_set_error(HEARTH_ERR_FORMAT, "%s: offset %zu: %s", r->g->label, off, what);
}

static size_t left(const rd *r) { return r->g->size - r->pos; }

static hearth_status need(rd *r, uint64_t n, const char *what) {
    if (n > left(r))
        return FAIL(r, r->pos, "%s needs %llu bytes but the file ends after %zu (file size %zu)", what,
                    (unsigned long long)n, left(r), r->g->size);
    return HEARTH_OK;
}

/* n little-endian bytes at the read position into v (host is little-endian) */
static hearth_status rd_bytes(rd *r, void *v, size_t n, const char *what) {
    hearth_status s = need(r, n, what);
    if (s) return s;
    memcpy(v, r->g->base + r->pos, n);
    r->pos += n;
    return HEARTH_OK;
}

static hearth_status rd_u32(rd *r, uint32_t *v, const char *what) { return rd_bytes(r, v, 4, what); }
static hearth_status rd_u64(rd *r, uint64_t *v, const char *what) { return rd_bytes(r, v, 8, what); }

static hearth_status rd_str(rd *r, hearth_str *out, const char *what) {
    size_t at = r->pos;
    uint64_t len;
    hearth_status s = rd_u64(r, &len, what);
    if (s) return s;
    if (len > left(r)) {
        r->pos = at;
        return FAIL(r, at, "%s has length %llu but only %zu bytes follow (file size %zu)", what,
                    (unsigned long long)len, left(r) - 8, r->g->size);
    }
    out->ptr = (const char *)r->g->base + r->pos;
    out->len = (size_t)len;
    r->pos += (size_t)len;
    return HEARTH_OK;
}

/* ---- arrays ------------------------------------------------------------- */

void gguf_arr_free(gguf_arr_node *a) {
    if (!a) return;
    free(a->strs);
    if (a->kids) {
        for (uint64_t i = 0; i < a->n_kids; i++) gguf_arr_free(&a->kids[i]);
        free(a->kids);
    }
    memset(a, 0, sizeof *a);
}

/* Parses an array body (u32 elem type, u64 n, elements) at r->pos into *a. */
static hearth_status parse_array(rd *r, gguf_arr_node *a, int depth) {
    size_t at = r->pos;
    uint32_t et;
    uint64_t n;
    hearth_status s;
    if ((s = rd_u32(r, &et, "array element type")) || (s = rd_u64(r, &n, "array length"))) return s;
    if (et >= HEARTH_GGUF_TYPE_COUNT)
        return FAIL(r, at, "key '%.*s': array has invalid element type %u", (int)r->what_len, r->what_key, et);
    a->type = (hearth_gguf_type)et;
    a->n = n;
    size_t es = gguf_scalar_size(a->type);
    if (es) {
        if (n > left(r) / es)
            return FAIL(r, at, "key '%.*s': array of %llu %s needs more bytes than the %zu left in the file",
                        (int)r->what_len, r->what_key, (unsigned long long)n, hearth_gguf_type_name(a->type),
                        left(r));
        a->elems = r->g->base + r->pos;
        r->pos += (size_t)n * es;
        return HEARTH_OK;
    }
    if (a->type == HEARTH_GGUF_STRING) {
        if (n > left(r) / 8)
            return FAIL(r, at, "key '%.*s': array of %llu strings needs more bytes than the %zu left in the file",
                        (int)r->what_len, r->what_key, (unsigned long long)n, left(r));
        a->elems = r->g->base + r->pos;
        if (n == 0) return HEARTH_OK;
        a->strs = malloc((size_t)n * sizeof *a->strs);
        if (!a->strs) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory indexing %llu strings",
                                              r->g->label, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++)
            if ((s = rd_str(r, &a->strs[i], "array string"))) return s;
        return HEARTH_OK;
    }
    /* nested array */
    if (depth + 1 >= GGUF_MAX_DEPTH)
        return FAIL(r, at, "key '%.*s': arrays nested more than %d deep", (int)r->what_len, r->what_key,
                    GGUF_MAX_DEPTH);
    if (n > left(r) / 12)
        return FAIL(r, at, "key '%.*s': array of %llu arrays needs more bytes than the %zu left in the file",
                    (int)r->what_len, r->what_key, (unsigned long long)n, left(r));
    a->elems = r->g->base + r->pos;
    if (n == 0) return HEARTH_OK;
    a->kids = calloc((size_t)n, sizeof *a->kids);
    if (!a->kids) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory indexing %llu arrays",
                                          r->g->label, (unsigned long long)n);
    a->n_kids = n;
    for (uint64_t i = 0; i < n; i++)
        if ((s = parse_array(r, &a->kids[i], depth + 1))) return s;
    return HEARTH_OK;
}

/* ---- key/value section -------------------------------------------------- */

static int64_t kv_lookup(const hearth_gguf *g, const char *key, size_t len) {
    if (!g->kv_table) return -1;
    size_t mask = g->kv_cap - 1;
    for (size_t h = (size_t)gguf_hash(g->seed, key, len) & mask;; h = (h + 1) & mask) {
        int64_t slot = g->kv_table[h];
        if (slot == 0) return -1;
        const gguf_kv *kv = &g->kv[slot - 1];
        if (kv->key.len == len && memcmp(kv->key.ptr, key, len) == 0) return slot - 1;
    }
}

static hearth_status parse_kvs(rd *r, uint64_t n_kv) {
    hearth_gguf *g = r->g;
    /* smallest kv: 8 (key len) + 4 (type) + 1 (u8 value) */
    if (n_kv > left(r) / 13)
        return FAIL(r, 16, "header claims %llu key/value pairs, more than the %zu bytes after the header can hold",
                    (unsigned long long)n_kv, left(r));
    g->n_kv = (int64_t)n_kv;
    if (n_kv == 0) return HEARTH_OK;
    g->kv = calloc((size_t)n_kv, sizeof *g->kv);
    g->kv_cap = table_cap(n_kv);
    g->kv_table = calloc(g->kv_cap, sizeof *g->kv_table);
    if (!g->kv || !g->kv_table) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", g->label);
    hearth_status s;
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        size_t at = r->pos;
        if ((s = rd_str(r, &kv->key, "key"))) return s;
        r->what_key = kv->key.ptr;
        r->what_len = kv->key.len;
        /* duplicate? insert into the table */
        size_t mask = g->kv_cap - 1;
        size_t h = (size_t)gguf_hash(g->seed, kv->key.ptr, kv->key.len) & mask;
        for (;; h = (h + 1) & mask) {
            int64_t slot = g->kv_table[h];
            if (slot == 0) break;
            const gguf_kv *o = &g->kv[slot - 1];
            if (o->key.len == kv->key.len && memcmp(o->key.ptr, kv->key.ptr, kv->key.len) == 0)
                return FAIL(r, at, "duplicate key '%.*s' (also key #%lld)", (int)kv->key.len, kv->key.ptr,
                            (long long)(slot - 1));
        }
        g->kv_table[h] = (int64_t)i + 1;

        size_t tat = r->pos;
        uint32_t t;
        if ((s = rd_u32(r, &t, "value type"))) return s;
        if (t >= HEARTH_GGUF_TYPE_COUNT)
            return FAIL(r, tat, "key '%.*s' has invalid value type %u", (int)kv->key.len, kv->key.ptr, t);
        kv->type = (hearth_gguf_type)t;
        kv->voff = r->pos;
        size_t es = gguf_scalar_size(kv->type);
        if (es) {
            if ((s = need(r, es, "value"))) return s;
            r->pos += es;
        } else if (kv->type == HEARTH_GGUF_STRING) {
            if ((s = rd_str(r, &kv->str, "string value"))) return s;
        } else {
            if ((s = parse_array(r, &kv->arr, 0))) return s;
        }
        kv->vend = r->pos;
    }
    r->what_key = NULL;
    r->what_len = 0;
    return HEARTH_OK;
}

/* ---- tensor infos ------------------------------------------------------- */

static int64_t tensor_lookup(const hearth_gguf *g, const char *name) {
    if (!g->t_table) return -1;
    size_t len = strlen(name);
    size_t mask = g->t_cap - 1;
    for (size_t h = (size_t)gguf_hash(g->seed, name, len) & mask;; h = (h + 1) & mask) {
        int64_t slot = g->t_table[h];
        if (slot == 0) return -1;
        if (strcmp(g->tensors[slot - 1].name, name) == 0) return slot - 1;
    }
}

static hearth_status parse_tensors(rd *r, uint64_t n_tensors) {
    hearth_gguf *g = r->g;
    /* smallest info: 8 (name len) + 4 (n_dims) + 8 (one ne) + 4 (type) + 8 (offset) */
    if (n_tensors > left(r) / 32)
        return FAIL(r, 8, "header claims %llu tensors, more than the %zu bytes left after the metadata can describe",
                    (unsigned long long)n_tensors, left(r));
    g->n_tensors = (int64_t)n_tensors;
    if (n_tensors == 0) return HEARTH_OK;
    g->tensors = calloc((size_t)n_tensors, sizeof *g->tensors);
    size_t *name_off = calloc((size_t)n_tensors, sizeof *name_off);
    size_t *info_off = calloc((size_t)n_tensors, sizeof *info_off);
    size_t names_cap = 4096, names_len = 0;
    g->names = malloc(names_cap);
    hearth_status s = HEARTH_OK;
    if (!g->tensors || !name_off || !info_off || !g->names) {
        s = hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", g->label);
        goto done;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        hearth_gguf_tensor *t = &g->tensors[i];
        size_t at = r->pos;
        info_off[i] = at;
        hearth_str name;
        if ((s = rd_str(r, &name, "tensor name"))) goto done;
        if (memchr(name.ptr, 0, name.len)) {
            s = FAIL(r, at, "tensor #%llu: name contains a NUL byte", (unsigned long long)i);
            goto done;
        }
        if (!HEARTH_GROW(g->names, names_cap, names_len + name.len + 1)) {
            s = hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", g->label);
            goto done;
        }
        memcpy(g->names + names_len, name.ptr, name.len);
        g->names[names_len + name.len] = 0;
        name_off[i] = names_len;
        names_len += name.len + 1;
        const char *nm = g->names + name_off[i];   /* valid until the next realloc */

        size_t dat = r->pos;
        uint32_t n_dims;
        if ((s = rd_u32(r, &n_dims, "tensor n_dims"))) goto done;
        if (n_dims < 1 || n_dims > 4) {
            s = FAIL(r, dat, "tensor '%s': n_dims is %u, must be 1..4", nm, n_dims);
            goto done;
        }
        t->n_dims = (int)n_dims;
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < n_dims; d++) {
            size_t nat = r->pos;
            uint64_t ne;
            if ((s = rd_u64(r, &ne, "tensor dimension"))) goto done;
            if (ne > (uint64_t)INT64_MAX) {
                s = FAIL(r, nat, "tensor '%s': dimension %u is negative (%lld)", nm, d, (long long)(int64_t)ne);
                goto done;
            }
            t->ne[d] = (int64_t)ne;
        }
        /* element count must fit int64 (ggml's rule) */
        int64_t prod = 1;
        bool zero = false;
        for (int d = 0; d < 4; d++) zero |= t->ne[d] == 0;
        for (int d = 0; d < 4 && !zero; d++) {
            if (prod > INT64_MAX / t->ne[d]) {
                s = FAIL(r, dat + 4, "tensor '%s': element count %lld x %lld x %lld x %lld overflows int64", nm,
                         (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
                goto done;
            }
            prod *= t->ne[d];
        }
        size_t tat = r->pos;
        if ((s = rd_u32(r, &t->type, "tensor type"))) goto done;
        const hearth_type_info *ti = hearth_type_get(t->type);
        if (!ti) {
            s = FAIL(r, tat, "tensor '%s': unknown tensor type id %u", nm, t->type);
            goto done;
        }
        if (t->ne[0] % ti->block_size != 0) {
            s = FAIL(r, dat + 4, "tensor '%s': row length %lld is not a multiple of %s's block size %lld", nm,
                     (long long)t->ne[0], ti->name, (long long)ti->block_size);
            goto done;
        }
        /* bytes = row size × rows, checked against SIZE_MAX */
        if ((uint64_t)(t->ne[0] / ti->block_size) > SIZE_MAX / ti->type_size) {
            s = FAIL(r, dat + 4, "tensor '%s': size overflows", nm);
            goto done;
        }
        size_t nbytes = (size_t)(t->ne[0] / ti->block_size) * ti->type_size;
        for (int d = 1; d < 4; d++) {
            if (t->ne[d] != 0 && nbytes > SIZE_MAX / (uint64_t)t->ne[d]) {
                s = FAIL(r, dat + 4, "tensor '%s': size overflows", nm);
                goto done;
            }
            nbytes *= (size_t)t->ne[d];
        }
        t->nbytes = nbytes;
        if ((s = rd_u64(r, &t->offset, "tensor offset"))) goto done;
    }

    /* names are final now: fix pointers, build the table, reject duplicates */
    g->t_cap = table_cap(n_tensors);
    g->t_table = calloc(g->t_cap, sizeof *g->t_table);
    if (!g->t_table) { s = hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", g->label); goto done; }
    for (uint64_t i = 0; i < n_tensors; i++) {
        hearth_gguf_tensor *t = &g->tensors[i];
        t->name = g->names + name_off[i];
        size_t mask = g->t_cap - 1, h = (size_t)gguf_hash(g->seed, t->name, strlen(t->name)) & mask;
        for (;; h = (h + 1) & mask) {
            int64_t slot = g->t_table[h];
            if (slot == 0) break;
            if (strcmp(g->tensors[slot - 1].name, t->name) == 0) {
                s = FAIL(r, info_off[i], "duplicate tensor name '%s' (also tensor #%lld)", t->name,
                         (long long)(slot - 1));
                goto done;
            }
        }
        g->t_table[h] = (int64_t)i + 1;
    }
done:
    free(name_off);
    free(info_off);
    return s;
}

/* Checks each tensor's data range once the data section's start is known. */
static hearth_status check_tensor_data(rd *r) {
    hearth_gguf *g = r->g;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        hearth_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return FAIL(r, g->data_offset, "tensor '%s': data offset %llu is not a multiple of the alignment %zu",
                        t->name, (unsigned long long)t->offset, g->alignment);
        uint64_t avail = g->size >= g->data_offset ? g->size - g->data_offset : 0;
        if (g->data_offset > g->size || t->offset > avail || t->nbytes > avail - t->offset)
            return FAIL(r, g->data_offset,
                        "tensor '%s': data [%llu, %llu + %zu) lies outside the data section of %llu bytes "
                        "(file truncated?)",
                        t->name, (unsigned long long)t->offset, (unsigned long long)t->offset, t->nbytes,
                        (unsigned long long)avail);
        t->data = g->base + g->data_offset + t->offset;
    }
    return HEARTH_OK;
}

/* ---- open / close ------------------------------------------------------- */

static hearth_status parse(hearth_gguf *g) {
    rd r = {g, 0, NULL, 0};
    hearth_status s;
    uint32_t magic;
    if ((s = rd_u32(&r, &magic, "magic"))) return s;
    if (memcmp(g->base, "GGUF", 4) != 0)
        return FAIL(&r, 0, "not a GGUF file (magic bytes %02x %02x %02x %02x, expected \"GGUF\")", g->base[0],
                    g->base[1], g->base[2], g->base[3]);
    if ((s = rd_u32(&r, &g->version, "version"))) return s;
    if (g->version == 1)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "%s: offset 4: GGUF version 1 is obsolete and not supported; convert the model "
                                "again with a current llama.cpp",
                                g->label);
    if ((g->version & 0xffff) == 0 && g->version != 0)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "%s: offset 4: version field %u looks byte-swapped: big-endian GGUF files are "
                                "not supported",
                                g->label, g->version);
    if (g->version != 2 && g->version != 3)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "%s: offset 4: unsupported GGUF version %u (hearth reads versions 2 and 3)",
                                g->label, g->version);
    uint64_t n_tensors, n_kv;
    if ((s = rd_u64(&r, &n_tensors, "tensor count")) || (s = rd_u64(&r, &n_kv, "key/value count"))) return s;
    if ((s = parse_kvs(&r, n_kv))) return s;

    g->alignment = 32;
    int64_t ai = kv_lookup(g, "general.alignment", strlen("general.alignment"));
    if (ai >= 0) {
        const gguf_kv *kv = &g->kv[ai];
        if (kv->type != HEARTH_GGUF_UINT32)
            return FAIL(&r, kv->voff - 4, "general.alignment is %s, must be uint32", hearth_gguf_type_name(kv->type));
        uint32_t a;
        memcpy(&a, g->base + kv->voff, 4);
        if (a == 0 || (a & (a - 1)) != 0)
            return FAIL(&r, kv->voff, "general.alignment is %u, must be a power of two", a);
        g->alignment = a;
    }

    if ((s = parse_tensors(&r, n_tensors))) return s;
    /* data section starts at the next multiple of the alignment */
    size_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
    g->data_offset = r.pos + pad;   /* r.pos <= size, pad < 2^32: no overflow */
    return check_tensor_data(&r);
}

static hearth_status open_common(hearth_gguf *g, hearth_gguf **out) {
    g->seed = gguf_hash_seed(g);
    hearth_status s = parse(g);
    if (s) {
        hearth_gguf_close(g);
        return s;
    }
    *out = g;
    return HEARTH_OK;
}

hearth_status hearth_gguf_open(const char *path, hearth_gguf **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_gguf_open: out is NULL");
    *out = NULL;
    if (!path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_gguf_open: path is NULL");
    hearth_gguf *g = calloc(1, sizeof *g);
    if (!g) return hearth_set_error(HEARTH_ERR_NOMEM, "%s: out of memory", path);
    hearth_status s = hearth_map_file(path, &g->map);
    if (s) {
        free(g);
        return s;
    }
    g->base = g->map.data;
    g->size = g->map.size;
    snprintf(g->label, sizeof g->label, "%s", path);
    return open_common(g, out);
}

hearth_status hearth_gguf_open_memory(const void *data, size_t size, hearth_gguf **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_gguf_open_memory: data is NULL");
    static const uint8_t empty[1];
    hearth_gguf *g = calloc(1, sizeof *g);
    if (!g) return hearth_set_error(HEARTH_ERR_NOMEM, "buffer: out of memory");
    g->base = data ? data : empty;
    g->size = size;
    snprintf(g->label, sizeof g->label, "buffer");
    return open_common(g, out);
}

void hearth_gguf_close(hearth_gguf *g) {
    if (!g) return;
    if (g->kv)
        for (int64_t i = 0; i < g->n_kv; i++) gguf_arr_free(&g->kv[i].arr);
    free(g->kv);
    free(g->kv_table);
    free(g->tensors);
    free(g->names);
    free(g->t_table);
    hearth_unmap(&g->map);
    free(g);
}

/* ---- file-level getters ------------------------------------------------- */

uint32_t hearth_gguf_version(const hearth_gguf *g) { return g ? g->version : 0; }
size_t hearth_gguf_alignment(const hearth_gguf *g) { return g ? g->alignment : 0; }
size_t hearth_gguf_data_offset(const hearth_gguf *g) { return g ? g->data_offset : 0; }
size_t hearth_gguf_file_size(const hearth_gguf *g) { return g ? g->size : 0; }
int64_t hearth_gguf_n_kv(const hearth_gguf *g) { return g ? g->n_kv : 0; }
const uint8_t *gguf_base(const hearth_gguf *g) { return g->base; }
const gguf_kv *gguf_kv_at(const hearth_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_kv ? &g->kv[i] : NULL;
}

int64_t hearth_gguf_find_key(const hearth_gguf *g, const char *key) {
    if (!g || !key) return -1;
    return kv_lookup(g, key, strlen(key));
}

hearth_str hearth_gguf_kv_key(const hearth_gguf *g, int64_t i) {
    const gguf_kv *kv = gguf_kv_at(g, i);
    hearth_str s = {"", 0};
    return kv ? kv->key : s;
}

hearth_gguf_type hearth_gguf_kv_type(const hearth_gguf *g, int64_t i) {
    const gguf_kv *kv = gguf_kv_at(g, i);
    return kv ? kv->type : HEARTH_GGUF_TYPE_COUNT;
}

/* ---- typed value getters ------------------------------------------------ */

static hearth_status bad_index(const hearth_gguf *g, int64_t i) {
    return hearth_set_error(HEARTH_ERR_RANGE, "%s: key index %lld out of range (%lld keys)",
                            g ? g->label : "(null)", (long long)i, (long long)(g ? g->n_kv : 0));
}

static hearth_status wrong_type(const hearth_gguf *g, const gguf_kv *kv, const char *want) {
    return hearth_set_error(HEARTH_ERR_TYPE, "%s: key '%.*s' is %s, not %s", g->label, (int)kv->key.len,
                            kv->key.ptr, hearth_gguf_type_name(kv->type), want);
}

static bool is_int_type(hearth_gguf_type t) {
    return gguf_scalar_size(t) && t != HEARTH_GGUF_FLOAT32 && t != HEARTH_GGUF_FLOAT64;
}

static hearth_status kv_int(const hearth_gguf *g, const gguf_kv *kv, int64_t *out) {
    if (!is_int_type(kv->type)) return wrong_type(g, kv, "an integer");
    num n = read_num(kv->type, g->base + kv->voff);
    if (n.kind == NUM_SIGNED) { *out = n.i; return HEARTH_OK; }
    if (n.u > (uint64_t)INT64_MAX)
        return hearth_set_error(HEARTH_ERR_RANGE, "%s: key '%.*s' = %llu does not fit int64", g->label,
                                (int)kv->key.len, kv->key.ptr, (unsigned long long)n.u);
    *out = (int64_t)n.u;
    return HEARTH_OK;
}

static hearth_status kv_uint(const hearth_gguf *g, const gguf_kv *kv, uint64_t *out) {
    if (!is_int_type(kv->type)) return wrong_type(g, kv, "an integer");
    num n = read_num(kv->type, g->base + kv->voff);
    if (n.kind != NUM_SIGNED) { *out = n.u; return HEARTH_OK; }
    if (n.i < 0)
        return hearth_set_error(HEARTH_ERR_RANGE, "%s: key '%.*s' = %lld is negative, expected unsigned", g->label,
                                (int)kv->key.len, kv->key.ptr, (long long)n.i);
    *out = (uint64_t)n.i;
    return HEARTH_OK;
}

static hearth_status kv_float(const hearth_gguf *g, const gguf_kv *kv, double *out) {
    if (!gguf_scalar_size(kv->type) || kv->type == HEARTH_GGUF_BOOL) return wrong_type(g, kv, "a number");
    num n = read_num(kv->type, g->base + kv->voff);
    *out = n.kind == NUM_FLOAT ? n.f : n.kind == NUM_SIGNED ? (double)n.i : (double)n.u;
    return HEARTH_OK;
}

static hearth_status kv_bool(const hearth_gguf *g, const gguf_kv *kv, bool *out) {
    if (kv->type != HEARTH_GGUF_BOOL) return wrong_type(g, kv, "bool");
    *out = g->base[kv->voff] != 0;
    return HEARTH_OK;
}

static hearth_status kv_str(const hearth_gguf *g, const gguf_kv *kv, hearth_str *out) {
    if (kv->type != HEARTH_GGUF_STRING) return wrong_type(g, kv, "string");
    *out = kv->str;
    return HEARTH_OK;
}

static hearth_status kv_arr(const hearth_gguf *g, const gguf_kv *kv, hearth_gguf_arr *out) {
    if (kv->type != HEARTH_GGUF_ARRAY) return wrong_type(g, kv, "array");
    out->type = kv->arr.type;
    out->n = kv->arr.n;
    out->impl_ = &kv->arr;
    return HEARTH_OK;
}

#define BY_KEY(fn, T)                                                                                   \
    hearth_status hearth_gguf_get_##fn(const hearth_gguf *g, const char *key, T *out) {                 \
        if (!g || !key || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_gguf_get_" #fn ": NULL argument"); \
        int64_t i = kv_lookup(g, key, strlen(key));                                                     \
        if (i < 0) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "%s: key '%s' not found", g->label, key); \
        return kv_##fn(g, &g->kv[i], out);                                                              \
    }                                                                                                   \
    hearth_status hearth_gguf_kv_##fn(const hearth_gguf *g, int64_t i, T *out) {                        \
        if (!g || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_gguf_kv_" #fn ": NULL argument"); \
        if (i < 0 || i >= g->n_kv) return bad_index(g, i);                                              \
        return kv_##fn(g, &g->kv[i], out);                                                              \
    }

BY_KEY(int, int64_t)
BY_KEY(uint, uint64_t)
BY_KEY(float, double)
BY_KEY(bool, bool)
BY_KEY(str, hearth_str)
BY_KEY(arr, hearth_gguf_arr)

/* ---- array elements ------------------------------------------------------ */

static const gguf_arr_node *node_of(const hearth_gguf_arr *a, uint64_t i) {
    if (!a || !a->impl_) return NULL;
    const gguf_arr_node *n = a->impl_;
    return i < n->n ? n : NULL;
}

int64_t hearth_gguf_arr_int(const hearth_gguf_arr *a, uint64_t i) {
    const gguf_arr_node *n = node_of(a, i);
    if (!n || !is_int_type(n->type)) return 0;
    num v = read_num(n->type, n->elems + i * gguf_scalar_size(n->type));
    return v.kind == NUM_SIGNED ? v.i : (int64_t)v.u;
}

uint64_t hearth_gguf_arr_uint(const hearth_gguf_arr *a, uint64_t i) {
    const gguf_arr_node *n = node_of(a, i);
    if (!n || !is_int_type(n->type)) return 0;
    num v = read_num(n->type, n->elems + i * gguf_scalar_size(n->type));
    return v.kind == NUM_SIGNED ? (uint64_t)v.i : v.u;
}

double hearth_gguf_arr_float(const hearth_gguf_arr *a, uint64_t i) {
    const gguf_arr_node *n = node_of(a, i);
    if (!n || !gguf_scalar_size(n->type) || n->type == HEARTH_GGUF_BOOL) return 0;
    num v = read_num(n->type, n->elems + i * gguf_scalar_size(n->type));
    return v.kind == NUM_FLOAT ? v.f : v.kind == NUM_SIGNED ? (double)v.i : (double)v.u;
}

hearth_str hearth_gguf_arr_str(const hearth_gguf_arr *a, uint64_t i) {
    const gguf_arr_node *n = node_of(a, i);
    hearth_str empty = {"", 0};
    if (!n || n->type != HEARTH_GGUF_STRING) return empty;
    return n->strs[i];
}

hearth_gguf_arr hearth_gguf_arr_arr(const hearth_gguf_arr *a, uint64_t i) {
    const gguf_arr_node *n = node_of(a, i);
    hearth_gguf_arr empty = {HEARTH_GGUF_UINT8, 0, NULL};
    if (!n || n->type != HEARTH_GGUF_ARRAY) return empty;
    hearth_gguf_arr r = {n->kids[i].type, n->kids[i].n, &n->kids[i]};
    return r;
}

const void *hearth_gguf_arr_data(const hearth_gguf_arr *a) {
    if (!a || !a->impl_) return NULL;
    const gguf_arr_node *n = a->impl_;
    return gguf_scalar_size(n->type) ? n->elems : NULL;
}

/* ---- tensors ------------------------------------------------------------ */

int64_t hearth_gguf_n_tensors(const hearth_gguf *g) { return g ? g->n_tensors : 0; }

const hearth_gguf_tensor *hearth_gguf_tensor_at(const hearth_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const hearth_gguf_tensor *hearth_gguf_find_tensor(const hearth_gguf *g, const char *name) {
    if (!g || !name) return NULL;
    int64_t i = tensor_lookup(g, name);
    return i >= 0 ? &g->tensors[i] : NULL;
}

int64_t hearth_gguf_tensor_nelements(const hearth_gguf_tensor *t) {
    if (!t) return 0;
    if (!t->ne[0] || !t->ne[1] || !t->ne[2] || !t->ne[3]) return 0;   /* the others may be huge */
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];   /* checked at open not to overflow */
}
