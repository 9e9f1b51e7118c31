/*
 * test_deploy_k8s.c — the Kubernetes manifests of deploy/kubernetes, checked
 * without a cluster. kustomize and kubectl are not in Debian 12, so this
 * parses every file with libyaml (the gateway's YAML parser) and checks what
 * `kubectl apply -k` would trip over or what would silently not work:
 *   - every kustomization's resources, patches and generator files exist and
 *     parse; overlays name only objects of their base (replicas, patch
 *     targets, images, replaced ConfigMaps);
 *   - every object has apiVersion, kind and metadata.name, unique per kind;
 *   - a workload's selector matches its pod template's labels; probes and
 *     Service target ports name container ports; volumes name a generated
 *     ConfigMap or a PersistentVolumeClaim; a StatefulSet's serviceName is a
 *     headless Service; a Service selects some pods; an Ingress backend is a
 *     Service port;
 *   - the gateways' configuration lists exactly the StatefulSet's replicas
 *     (hearth-serve-0 .. N-1) in each of base and overlay.
 * A broken copy (selector typo, missing resource file) must be reported, so
 * the checks can fail.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define DEPLOY HEARTH_SOURCE_DIR "/deploy/kubernetes"

/* ==== YAML documents ================================================================ */
typedef struct doc {
    yaml_document_t d;
    char file[512];
} doc;

typedef struct kset {        /* what one kustomization builds */
    doc *docs;               /* manifests, generated config files included (kind "") */
    int n;
    char cm[16][128];        /* generated ConfigMap names */
    int n_cm;
    int problems;
    char log[4096];
} kset;

static void problem(kset *k, const char *fmt, ...) {
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    fprintf(stderr, "  deploy check: %s\n", m);
    size_t l = strlen(k->log);
    snprintf(k->log + l, sizeof k->log - l, "%s\n", m);
    k->problems++;
}

static yaml_node_t *root(doc *d) { return yaml_document_get_root_node(&d->d); }

static yaml_node_t *get(doc *d, yaml_node_t *n, const char *key) {
    if (!n || n->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&d->d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(&d->d, p->value);
    }
    return NULL;
}

/* a dotted path of mapping keys ("spec.template.metadata.labels") */
static yaml_node_t *path(doc *d, yaml_node_t *n, const char *p) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", p);
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && n; t = strtok_r(NULL, ".", &save)) n = get(d, n, t);
    return n;
}

static const char *str(yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int seq_len(yaml_node_t *n) {
    return n && n->type == YAML_SEQUENCE_NODE ? (int)(n->data.sequence.items.top - n->data.sequence.items.start) : 0;
}

static yaml_node_t *seq_at(doc *d, yaml_node_t *n, int i) {
    return yaml_document_get_node(&d->d, n->data.sequence.items.start[i]);
}

/* every document of file into k (0 on success) */
static int load(kset *k, const char *file) {
    FILE *f = fopen(file, "rb");
    if (!f) return problem(k, "%s: cannot open", file), -1;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = 0;
    for (;;) {
        doc d = {0};
        snprintf(d.file, sizeof d.file, "%s", file);
        if (!yaml_parser_load(&p, &d.d)) {
            problem(k, "%s:%zu: %s", file, p.problem_mark.line + 1, p.problem ? p.problem : "YAML error");
            rc = -1;
            break;
        }
        if (!yaml_document_get_root_node(&d.d)) {
            yaml_document_delete(&d.d);
            break;
        }
        k->docs = realloc(k->docs, (size_t)(k->n + 1) * sizeof *k->docs);
        k->docs[k->n++] = d;
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

static void kset_free(kset *k) {
    for (int i = 0; i < k->n; i++) yaml_document_delete(&k->docs[i].d);
    free(k->docs);
    memset(k, 0, sizeof *k);
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ==== kustomizations ================================================================ */
/* the object of kind and name among k's manifests, or -1 */
static int find(kset *k, const char *kind, const char *name) {
    for (int i = 0; i < k->n; i++) {
        const char *kd = str(get(&k->docs[i], root(&k->docs[i]), "kind"));
        const char *nm = str(path(&k->docs[i], root(&k->docs[i]), "metadata.name"));
        if (kd && nm && !strcmp(kd, kind) && !strcmp(nm, name)) return i;
    }
    return -1;
}

static bool is_workload(const char *kind) {
    return kind && (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet"));
}

/* reads dir/kustomization.yaml and what it names into k */
static void kustomize(kset *k, const char *dir) {
    char kf[600];
    snprintf(kf, sizeof kf, "%s/kustomization.yaml", dir);
    kset kz = {0};
    if (load(&kz, kf) || kz.n != 1) {
        problem(k, "%s: missing or unreadable", kf);
        kset_free(&kz);
        return;
    }
    doc *d = &kz.docs[0];
    yaml_node_t *r = root(d);
    if (!str(get(d, r, "apiVersion")) || strcmp(str(get(d, r, "kind")) ? str(get(d, r, "kind")) : "", "Kustomization"))
        problem(k, "%s: not a Kustomization (apiVersion, kind)", kf);
    yaml_node_t *res = get(d, r, "resources");
    for (int i = 0; i < seq_len(res); i++) {
        const char *s = str(seq_at(d, res, i));
        char p[800];
        snprintf(p, sizeof p, "%s/%s", dir, s ? s : "");
        if (!s) problem(k, "%s: resources[%d] is not a path", kf, i);
        else if (is_dir(p)) kustomize(k, p);
        else if (access(p, R_OK)) problem(k, "%s: resource %s does not exist", kf, s);
        else load(k, p);
    }
    /* generated ConfigMaps: files exist; behavior replace names an existing one */
    yaml_node_t *gen = get(d, r, "configMapGenerator");
    for (int i = 0; i < seq_len(gen); i++) {
        yaml_node_t *g = seq_at(d, gen, i);
        const char *name = str(get(d, g, "name")), *beh = str(get(d, g, "behavior"));
        if (!name) { problem(k, "%s: configMapGenerator[%d] has no name", kf, i); continue; }
        bool known = false;
        for (int c = 0; c < k->n_cm; c++) known |= !strcmp(k->cm[c], name);
        if (beh && (!strcmp(beh, "replace") || !strcmp(beh, "merge")) && !known)
            problem(k, "%s: configMapGenerator %s replaces a ConfigMap the base does not make", kf, name);
        if (!known && k->n_cm < 16) snprintf(k->cm[k->n_cm++], sizeof k->cm[0], "%s", name);
        yaml_node_t *files = get(d, g, "files");
        for (int f = 0; f < seq_len(files); f++) {
            const char *s = str(seq_at(d, files, f));
            const char *eq = s ? strchr(s, '=') : NULL;
            char p[800];
            snprintf(p, sizeof p, "%s/%s", dir, eq ? eq + 1 : s ? s : "");
            if (!s || access(p, R_OK)) problem(k, "%s: generator file %s does not exist", kf, s ? s : "?");
            else if (!load(k, p)) snprintf(k->docs[k->n - 1].file, sizeof k->docs[0].file, "configmap:%s", name);
        }
    }
    /* overlays: what they change must be in what came before */
    yaml_node_t *reps = get(d, r, "replicas");
    for (int i = 0; i < seq_len(reps); i++) {
        const char *name = str(get(d, seq_at(d, reps, i), "name"));
        if (!name || (find(k, "Deployment", name) < 0 && find(k, "StatefulSet", name) < 0))
            problem(k, "%s: replicas names %s, no Deployment or StatefulSet", kf, name ? name : "?");
    }
    yaml_node_t *patches = get(d, r, "patches");
    for (int i = 0; i < seq_len(patches); i++) {
        yaml_node_t *pt = seq_at(d, patches, i);
        const char *pp = str(get(d, pt, "path"));
        char p[800];
        snprintf(p, sizeof p, "%s/%s", dir, pp ? pp : "");
        kset tmp = {0};
        if (pp && load(&tmp, p)) problem(k, "%s: patch %s does not exist or does not parse", kf, pp);
        kset_free(&tmp);
        const char *tk = str(path(d, pt, "target.kind")), *tn = str(path(d, pt, "target.name"));
        if (tk && tn && find(k, tk, tn) < 0) problem(k, "%s: patch target %s/%s does not exist", kf, tk, tn);
    }
    yaml_node_t *images = get(d, r, "images");
    for (int i = 0; i < seq_len(images); i++) {
        const char *name = str(get(d, seq_at(d, images, i), "name"));
        bool used = false;
        for (int j = 0; j < k->n && name; j++) {
            doc *m = &k->docs[j];
            yaml_node_t *cs = path(m, root(m), "spec.template.spec.containers");
            for (int c = 0; c < seq_len(cs); c++) {
                const char *im = str(get(m, seq_at(m, cs, c), "image"));
                size_t l = strlen(name);
                used |= im && !strncmp(im, name, l) && (im[l] == 0 || im[l] == ':' || im[l] == '@');
            }
        }
        if (!used) problem(k, "%s: images names %s, which no container uses", kf, name ? name : "?");
    }
    kset_free(&kz);
}

/* ==== objects ====================================================================== */
/* all pairs of sub (a mapping of scalars) are in sup */
static bool labels_within(doc *a, yaml_node_t *sub, doc *b, yaml_node_t *sup) {
    if (!sub || sub->type != YAML_MAPPING_NODE || sub->data.mapping.pairs.top == sub->data.mapping.pairs.start)
        return false;
    for (yaml_node_pair_t *p = sub->data.mapping.pairs.start; p < sub->data.mapping.pairs.top; p++) {
        const char *key = str(yaml_document_get_node(&a->d, p->key));
        const char *v = str(yaml_document_get_node(&a->d, p->value)), *w = str(get(b, sup, key));
        if (!v || !w || strcmp(v, w)) return false;
    }
    return true;
}

static bool container_port(doc *m, yaml_node_t *cs, const char *port) {
    for (int c = 0; c < seq_len(cs); c++) {
        yaml_node_t *ports = get(m, seq_at(m, cs, c), "ports");
        for (int p = 0; p < seq_len(ports); p++) {
            yaml_node_t *pp = seq_at(m, ports, p);
            const char *nm = str(get(m, pp, "name")), *num = str(get(m, pp, "containerPort"));
            if ((nm && !strcmp(nm, port)) || (num && !strcmp(num, port))) return true;
        }
    }
    return false;
}

static int replicas_of(kset *k, const char *name) {
    int i = find(k, "StatefulSet", name);
    const char *r = i < 0 ? NULL : str(path(&k->docs[i], root(&k->docs[i]), "spec.replicas"));
    return r ? atoi(r) : -1;
}

static void check_objects(kset *k, int replica_count) {
    for (int i = 0; i < k->n; i++) {
        doc *m = &k->docs[i];
        yaml_node_t *r = root(m);
        if (!strncmp(m->file, "configmap:", 10)) continue;
        const char *api = str(get(m, r, "apiVersion")), *kind = str(get(m, r, "kind")),
                   *name = str(path(m, r, "metadata.name"));
        if (!api || !kind || !name) {
            problem(k, "%s: an object without apiVersion, kind or metadata.name", m->file);
            continue;
        }
        if (find(k, kind, name) != i) problem(k, "%s: %s/%s defined twice", m->file, kind, name);
        if (is_workload(kind)) {
            yaml_node_t *tl = path(m, r, "spec.template.metadata.labels");
            if (!labels_within(m, path(m, r, "spec.selector.matchLabels"), m, tl))
                problem(k, "%s: %s/%s: spec.selector.matchLabels do not match the pod template's labels", m->file,
                        kind, name);
            yaml_node_t *cs = path(m, r, "spec.template.spec.containers");
            if (seq_len(cs) == 0) problem(k, "%s: %s/%s has no containers", m->file, kind, name);
            for (int c = 0; c < seq_len(cs); c++) {
                yaml_node_t *ct = seq_at(m, cs, c);
                if (!str(get(m, ct, "name")) || !str(get(m, ct, "image")))
                    problem(k, "%s: %s/%s: a container without name or image", m->file, kind, name);
                const char *probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
                for (int p = 0; p < 3; p++) {
                    const char *port = str(path(m, get(m, ct, probes[p]), "httpGet.port"));
                    if (port && !container_port(m, cs, port))
                        problem(k, "%s: %s/%s: %s port %s is no container port", m->file, kind, name, probes[p], port);
                }
            }
            yaml_node_t *vols = path(m, r, "spec.template.spec.volumes");
            for (int v = 0; v < seq_len(vols); v++) {
                yaml_node_t *vol = seq_at(m, vols, v);
                const char *cm = str(path(m, vol, "configMap.name")),
                           *pvc = str(path(m, vol, "persistentVolumeClaim.claimName"));
                bool ok = true;
                if (cm) {
                    ok = find(k, "ConfigMap", cm) >= 0;
                    for (int g = 0; g < k->n_cm; g++) ok |= !strcmp(k->cm[g], cm);
                }
                if (pvc) ok = find(k, "PersistentVolumeClaim", pvc) >= 0;
                if (!ok) problem(k, "%s: %s/%s: volume names %s, which nothing makes", m->file, kind, name, cm ? cm : pvc);
            }
            const char *svc = str(path(m, r, "spec.serviceName"));
            if (svc) {
                int s = find(k, "Service", svc);
                const char *ip = s < 0 ? NULL : str(path(&k->docs[s], root(&k->docs[s]), "spec.clusterIP"));
                if (!ip || strcmp(ip, "None")) problem(k, "%s: %s/%s: serviceName %s is no headless Service", m->file, kind, name, svc);
            }
        }
        if (!strcmp(kind, "Service")) {
            yaml_node_t *sel = path(m, r, "spec.selector");
            int w = -1;
            for (int j = 0; j < k->n && w < 0; j++) {
                doc *o = &k->docs[j];
                if (is_workload(str(get(o, root(o), "kind"))) &&
                    labels_within(m, sel, o, path(o, root(o), "spec.template.metadata.labels")))
                    w = j;
            }
            if (w < 0) {
                problem(k, "%s: Service/%s selects no pods", m->file, name);
                continue;
            }
            yaml_node_t *ports = path(m, r, "spec.ports");
            doc *o = &k->docs[w];
            for (int p = 0; p < seq_len(ports); p++) {
                const char *tp = str(get(m, seq_at(m, ports, p), "targetPort"));
                if (tp && !container_port(o, path(o, root(o), "spec.template.spec.containers"), tp))
                    problem(k, "%s: Service/%s: targetPort %s is no container port", m->file, name, tp);
            }
        }
        if (!strcmp(kind, "Ingress")) {
            yaml_node_t *rules = path(m, r, "spec.rules");
            for (int ru = 0; ru < seq_len(rules); ru++) {
                yaml_node_t *paths = path(m, seq_at(m, rules, ru), "http.paths");
                for (int p = 0; p < seq_len(paths); p++) {
                    yaml_node_t *b = path(m, seq_at(m, paths, p), "backend.service");
                    const char *sn = str(get(m, b, "name")), *pn = str(path(m, b, "port.name"));
                    int s = sn ? find(k, "Service", sn) : -1;
                    bool ok = s >= 0;
                    if (ok && pn) {
                        yaml_node_t *sp = path(&k->docs[s], root(&k->docs[s]), "spec.ports");
                        ok = false;
                        for (int q = 0; q < seq_len(sp); q++)
                            ok |= str(get(&k->docs[s], seq_at(&k->docs[s], sp, q), "name")) &&
                                  !strcmp(str(get(&k->docs[s], seq_at(&k->docs[s], sp, q), "name")), pn);
                    }
                    if (!ok) problem(k, "%s: Ingress/%s: backend %s:%s is no Service port", m->file, name,
                                     sn ? sn : "?", pn ? pn : "?");
                }
            }
        }
    }
    /* the gateways' replica list is the StatefulSet's pods: the LAST generated
     * config (an overlay's replace wins) */
    int n = replica_count > 0 ? replica_count : replicas_of(k, "hearth-serve");
    for (int i = k->n - 1; i >= 0; i--) {
        if (strncmp(k->docs[i].file, "configmap:", 10)) continue;
        doc *c = &k->docs[i];
        yaml_node_t *urls = path(c, root(c), "upstream.replicas");
        if (seq_len(urls) != n) problem(k, "%s: the gateways list %d replicas, the StatefulSet runs %d", c->file, seq_len(urls), n);
        for (int u = 0; u < seq_len(urls); u++) {
            char want[128];
            snprintf(want, sizeof want, "http://hearth-serve-%d.hearth-serve:8081", u);
            const char *got = str(seq_at(c, urls, u));
            if (!got || strcmp(got, want)) problem(k, "%s: replica %d is %s, want %s", c->file, u, got ? got : "?", want);
        }
        break;
    }
}

/* the replicas an overlay's kustomization sets for hearth-serve (-1: none) */
static int overlay_replicas(const char *dir) {
    char kf[600];
    snprintf(kf, sizeof kf, "%s/kustomization.yaml", dir);
    kset kz = {0};
    int n = -1;
    if (!load(&kz, kf) && kz.n == 1) {
        doc *d = &kz.docs[0];
        yaml_node_t *reps = get(d, root(d), "replicas");
        for (int i = 0; i < seq_len(reps); i++)
            if (str(get(d, seq_at(d, reps, i), "name")) && !strcmp(str(get(d, seq_at(d, reps, i), "name")), "hearth-serve"))
                n = atoi(str(get(d, seq_at(d, reps, i), "count")) ? str(get(d, seq_at(d, reps, i), "count")) : "-1");
    }
    kset_free(&kz);
    return n;
}

static int check_dir(const char *dir, char *log, size_t cap) {
    kset k = {0};
    kustomize(&k, dir);
    check_objects(&k, overlay_replicas(dir));
    int n = k.problems;
    if (log) snprintf(log, cap, "%s", k.log);
    kset_free(&k);
    return n;
}

/* ==== tests ======================================================================== */
TEST(base_and_overlay_are_consistent) {
    CHECK_EQ_INT(check_dir(DEPLOY "/base", NULL, 0), 0);
    CHECK_EQ_INT(check_dir(DEPLOY "/overlays/production", NULL, 0), 0);
}

static void copy_file(const char *from, const char *to, const char *find_s, const char *repl) {
    FILE *f = fopen(from, "rb");
    char buf[16384];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    FILE *o = fopen(to, "wb");
    if (!o) return;
    char *at = find_s ? strstr(buf, find_s) : NULL;
    if (at) {
        fwrite(buf, 1, (size_t)(at - buf), o);
        fputs(repl, o);
        fputs(at + strlen(find_s), o);
    } else {
        fputs(buf, o);
    }
    fclose(o);
}

TEST(broken_copies_are_reported) {
    char dir[] = "/tmp/hearth-k8s-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *files[] = {"kustomization.yaml", "namespace.yaml", "serve.yaml", "gateway.yaml",
                           "ingress.yaml",       "models-pvc.yaml", "gateway-config.yaml"};
    char from[600], to[600], log[4096];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(from, sizeof from, DEPLOY "/base/%s", files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        copy_file(from, to, NULL, NULL);
    }
    CHECK_EQ_INT(check_dir(dir, NULL, 0), 0);   /* the copy itself is fine */
    /* a selector that no longer matches the pod template */
    snprintf(from, sizeof from, DEPLOY "/base/gateway.yaml");
    snprintf(to, sizeof to, "%s/gateway.yaml", dir);
    copy_file(from, to, "    matchLabels:\n      app.kubernetes.io/name: hearth-gateway",
              "    matchLabels:\n      app.kubernetes.io/name: hearth-gatewey");
    CHECK(check_dir(dir, log, sizeof log) >= 1);
    CHECK_MSG(strstr(log, "Deployment/hearth-gateway: spec.selector.matchLabels do not match") != NULL, "log: %s", log);
    copy_file(from, to, NULL, NULL);
    /* a missing resource, and a third replica the gateways do not list */
    snprintf(to, sizeof to, "%s/ingress.yaml", dir);
    unlink(to);
    snprintf(from, sizeof from, DEPLOY "/base/serve.yaml");
    snprintf(to, sizeof to, "%s/serve.yaml", dir);
    copy_file(from, to, "  replicas: 2\n", "  replicas: 3\n");
    CHECK_EQ_INT(check_dir(dir, log, sizeof log), 2);
    CHECK_MSG(strstr(log, "resource ingress.yaml does not exist") != NULL, "log: %s", log);
    CHECK_MSG(strstr(log, "the gateways list 2 replicas, the StatefulSet runs 3") != NULL, "log: %s", log);
    /* not YAML at all */
    snprintf(to, sizeof to, "%s/namespace.yaml", dir);
    FILE *f = fopen(to, "w");
    if (f) fputs("apiVersion: v1\nkind: [Namespace\n", f), fclose(f);
    CHECK(check_dir(dir, log, sizeof log) >= 3);
    CHECK_MSG(strstr(log, "namespace.yaml:") != NULL, "log: %s", log);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        unlink(to);
    }
    rmdir(dir);
}

int main(void) {
    RUN(base_and_overlay_are_consistent);
    RUN(broken_copies_are_reported);
    return harness_done();
}
