/* index_stub.c — placeholder behind include/hearth/index.h until the real
 * index lands: every call that would do work returns HEARTH_ERR_UNSUPPORTED. */
#include "hearth/index.h"

#include <string.h>

#define NOT_YET() hearth_set_error(HEARTH_ERR_UNSUPPORTED, "index: %s: not implemented yet", __func__)

const char *hearth_index_metric_name(hearth_index_metric m) {
    switch (m) {
    case HEARTH_INDEX_COSINE: return "cosine";
    case HEARTH_INDEX_IP: return "ip";
    case HEARTH_INDEX_L2: return "l2";
    }
    return "?";
}
hearth_status hearth_index_metric_parse(const char *name, hearth_index_metric *out) { return NOT_YET(); }
hearth_index_params hearth_index_default_params(void) {
    hearth_index_params p;
    memset(&p, 0, sizeof p);
    p.M = 16; p.ef_construction = 200; p.ef_search = 64; p.seed = 42;
    return p;
}
hearth_index_search_params hearth_index_default_search_params(void) {
    hearth_index_search_params p;
    memset(&p, 0, sizeof p);
    return p;
}
hearth_status hearth_index_create(const hearth_index_params *p, hearth_index **out) { return NOT_YET(); }
hearth_status hearth_index_open(const char *dir, const hearth_index_params *p, hearth_index **out) { return NOT_YET(); }
void hearth_index_close(hearth_index *ix) {}
hearth_status hearth_index_save(hearth_index *ix, const char *path) { return NOT_YET(); }
hearth_status hearth_index_load(const char *path, const hearth_index_params *p, hearth_index **out) { return NOT_YET(); }
hearth_status hearth_index_upsert(hearth_index *ix, uint64_t id, const float *vec, const char *payload_json) { return NOT_YET(); }
hearth_status hearth_index_upsert_batch(hearth_index *ix, size_t n, const uint64_t *ids, const float *vecs,
                                        const char *const *payloads) { return NOT_YET(); }
hearth_status hearth_index_delete(hearth_index *ix, uint64_t id) { return NOT_YET(); }
hearth_status hearth_index_get(hearth_index *ix, uint64_t id, float *vec_out, char **payload_out) { return NOT_YET(); }
bool hearth_index_contains(hearth_index *ix, uint64_t id) { return false; }
size_t hearth_index_count(hearth_index *ix) { return 0; }
int32_t hearth_index_dim(const hearth_index *ix) { return 0; }
hearth_index_metric hearth_index_get_metric(const hearth_index *ix) { return HEARTH_INDEX_COSINE; }
hearth_status hearth_index_select(hearth_index *ix, const hearth_index_filter *filter, uint64_t **ids, size_t *n) { return NOT_YET(); }
hearth_status hearth_index_search(hearth_index *ix, const float *query, size_t k,
                                  const hearth_index_search_params *sp, hearth_index_hit *hits, size_t *n_hits) { return NOT_YET(); }
hearth_status hearth_index_filter_parse(const char *json, hearth_index_filter **out) { return NOT_YET(); }
void hearth_index_filter_free(hearth_index_filter *f) {}
hearth_status hearth_index_filter_match(const hearth_index_filter *f, const char *payload_json, bool *match) { return NOT_YET(); }
hearth_status hearth_index_snapshot(hearth_index *ix) { return NOT_YET(); }
hearth_status hearth_index_compact(hearth_index *ix) { return NOT_YET(); }
hearth_status hearth_index_get_stats(hearth_index *ix, hearth_index_stats *out) { return NOT_YET(); }
