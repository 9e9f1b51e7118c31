/*
 * cmd_pii.c — `hearth pii scan|mask`: find personal data in a file, or write
 * a masked copy of it (JSONL datasets keep their structure). The detectors
 * and the masking are the library's (include/hearth/pii.h); this file parses
 * options and prints.
 *
 *   hearth pii scan -f FILE [--json] [--show-values] [custom kinds]
 *   hearth pii mask -f FILE [-o OUT] [--policy kind=action,...] [--jsonl]
 *                   [--redact-generic] [custom kinds]
 *   custom kinds: --pattern NAME=REGEX (repeatable), --keywords FILE [--substring]
 */
#include "cli.h"
#include "core/lines.h"
#include "hearth/core.h"
#include "hearth/pii.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_pii_summary = "find personal data in a file, or write a masked copy (scan | mask)";

static void usage(void) {
    printf("usage: hearth pii scan -f FILE [--json] [--show-values] [options]\n"
           "       hearth pii mask -f FILE [-o OUT] [--policy KIND=ACTION,...] [options]\n\n"
           "Finds e-mail addresses, phone numbers (China mobile, +E.164), PRC resident ID\n"
           "numbers (check digit verified), bank card numbers (Luhn verified), IPv4 and IPv6\n"
           "addresses, plus custom patterns and keywords.\n\n"
           "scan prints one finding per line: OFFSET LENGTH KIND (bytes of the file); values\n"
           "are never printed unless --show-values is given.\n"
           "mask writes a copy with every finding replaced: [EMAIL_1], [PHONE_2]... (mask),\n"
           "[EMAIL] (redact), or left in place (allow). A .jsonl file (or --jsonl) is masked\n"
           "line by line: only string values change, structure and key order are kept.\n\n"
           "  -f, --file FILE        input file\n"
           "  -o, --output FILE      masked copy (mask; default: standard output)\n"
           "  --json                 scan: one JSON object per line {\"kind\",\"offset\",\"length\"}\n"
           "  --show-values          scan: also print the values found (careful: personal data)\n"
           "  --policy SPEC          mask: KIND=ACTION,... with ACTION allow|mask|redact|block,\n"
           "                         KIND a built-in kind (email, phone, cn_id, bank_card, ipv4,\n"
           "                         ipv6), a custom name, or all; default all=mask. A blocked\n"
           "                         kind is redacted and makes the command exit with status 3\n"
           "  --redact-generic       redact as [REDACTED] instead of [KIND]\n"
           "  --jsonl                treat the input as JSONL whatever its name\n"
           "  --pattern NAME=REGEX   custom kind NAME (a-z0-9_) found by a PCRE2 regex (repeatable)\n"
           "  --keywords FILE        kind 'keyword': one keyword per line, case-insensitive,\n"
           "                         whole words (not touching ASCII letters/digits/_)\n"
           "  --substring            keywords match inside words too\n");
}

#define MAX_PATTERNS 32

typedef struct opts {
    const char *file, *out, *policy, *keywords;
    const char *patterns[MAX_PATTERNS];
    int n_patterns;
    bool json, show_values, jsonl, redact_generic, substring;
} opts;

static hearth_pii_policy *make_policy(const char *cmd, const opts *o) {
    hearth_pii_policy *p = hearth_pii_policy_create(HEARTH_PII_MASK);
    if (!p) {
        cli_lib_error(cmd);
        return NULL;
    }
    for (int i = 0; i < o->n_patterns; i++) {
        const char *eq = strchr(o->patterns[i], '=');
        char name[64];
        if (!eq || eq == o->patterns[i] || (size_t)(eq - o->patterns[i]) >= sizeof name) {
            cli_error(cmd, "--pattern wants NAME=REGEX, got '%s'", o->patterns[i]);
            hearth_pii_policy_free(p);
            return NULL;
        }
        memcpy(name, o->patterns[i], (size_t)(eq - o->patterns[i]));
        name[eq - o->patterns[i]] = 0;
        if (hearth_pii_policy_add_pattern(p, name, eq + 1, HEARTH_PII_MASK) != HEARTH_OK) {
            cli_lib_error(cmd);
            hearth_pii_policy_free(p);
            return NULL;
        }
    }
    if (o->keywords &&
        hearth_pii_policy_add_keyword_file(p, "keyword", o->keywords, !o->substring, HEARTH_PII_MASK) != HEARTH_OK) {
        cli_lib_error(cmd);
        hearth_pii_policy_free(p);
        return NULL;
    }
    if (o->policy && hearth_pii_policy_parse(p, o->policy) != HEARTH_OK) {
        cli_lib_error(cmd);
        hearth_pii_policy_free(p);
        return NULL;
    }
    hearth_pii_policy_set_redact_generic(p, o->redact_generic);
    return p;
}

/* ---- scan ------------------------------------------------------------------ */
static int do_scan(const opts *o, hearth_pii_policy *p, const char *text, size_t len) {
    hearth_pii_finding *f;
    size_t n;
    if (hearth_pii_scan(p, text, len, &f, &n) != HEARTH_OK) return cli_lib_error("pii");
    for (size_t i = 0; i < n; i++) {
        if (o->json) {
            printf("{\"kind\":");
            cli_json_str(stdout, f[i].kind, strlen(f[i].kind));
            printf(",\"offset\":%zu,\"length\":%zu", f[i].offset, f[i].length);
            if (o->show_values) {
                printf(",\"value\":");
                cli_json_str(stdout, text + f[i].offset, f[i].length);
            }
            printf("}\n");
        } else {
            printf("%zu %zu %s", f[i].offset, f[i].length, f[i].kind);
            if (o->show_values) {
                putchar(' ');
                cli_json_str(stdout, text + f[i].offset, f[i].length);
            }
            putchar('\n');
        }
    }
    free(f);
    return 0;
}

/* ---- mask ------------------------------------------------------------------ */
static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* Adds the names of comma-separated src not yet in dst. */
static void merge_list(char *dst, size_t cap, const char *src) {
    while (*src) {
        size_t n = strcspn(src, ",");
        bool have = false;
        for (const char *d = dst; *d && !have;) {
            size_t m = strcspn(d, ",");
            have = m == n && !memcmp(d, src, n);
            d += m + (d[m] == ',');
        }
        size_t dl = strlen(dst);
        if (!have && dl + n + 2 < cap) {
            if (dl) dst[dl++] = ',';
            memcpy(dst + dl, src, n);
            dst[dl + n] = 0;
        }
        src += n + (src[n] == ',');
    }
}

static int do_mask(const opts *o, hearth_pii_policy *p, const char *text, size_t len) {
    FILE *out = stdout;
    if (o->out && !(out = fopen(o->out, "wb"))) return cli_error("pii", "cannot write %s", o->out);
    bool jsonl = o->jsonl || ends_with(o->file, ".jsonl");
    int rc = 0;
    size_t n_bad = 0, n_lines = 0, n_masked = 0;
    char blocked[4096] = "", kinds[4096] = "";
    if (!jsonl) {
        hearth_pii_mapping *m = hearth_pii_mapping_create();
        char *masked = NULL;
        size_t mlen = 0;
        if (!m || hearth_pii_mask(p, m, text, len, &masked, &mlen) != HEARTH_OK) {
            rc = cli_lib_error("pii");
        } else {
            fwrite(masked, 1, mlen, out);
            n_masked = hearth_pii_mapping_count(m);
            snprintf(kinds, sizeof kinds, "%s", hearth_pii_mapping_kinds(m));
            snprintf(blocked, sizeof blocked, "%s", hearth_pii_mapping_blocked(m));
        }
        free(masked);
        hearth_pii_mapping_free(m);
    } else {
        /* one mapping per record: placeholders are consistent inside a record */
        hearth_lines r;
        hearth_lines_mem(&r, text, len);
        const char *line;
        size_t ll;
        while (rc == 0 && hearth_lines_next(&r, &line, &ll)) {
            n_lines = r.line_no;
            bool blank = true;
            for (size_t i = 0; i < ll && blank; i++) blank = line[i] == ' ' || line[i] == '\t';
            if (blank) {
                fputc('\n', out);
            } else {
                hearth_pii_mapping *m = hearth_pii_mapping_create();
                char *masked = NULL;
                size_t mlen = 0;
                hearth_status st = m ? hearth_pii_mask_json(p, m, line, ll, &masked, &mlen) : HEARTH_ERR_NOMEM;
                if (st == HEARTH_ERR_FORMAT) {
                    fprintf(stderr, "hearth pii: %s:%zu: %s (line left out of the output)\n", o->file, n_lines,
                            hearth_last_error());
                    n_bad++;
                } else if (st != HEARTH_OK) {
                    rc = cli_lib_error("pii");
                } else {
                    fwrite(masked, 1, mlen, out);
                    fputc('\n', out);
                    n_masked += hearth_pii_mapping_count(m);
                    merge_list(kinds, sizeof kinds, hearth_pii_mapping_kinds(m));
                    merge_list(blocked, sizeof blocked, hearth_pii_mapping_blocked(m));
                }
                free(masked);
                hearth_pii_mapping_free(m);
            }
        }
    }
    if (out == stdout) fflush(stdout);
    else if (fclose(out) != 0 && rc == 0) rc = cli_error("pii", "error writing %s", o->out);
    if (rc) return rc;
    fprintf(stderr, "hearth pii: %zu value(s) masked; kinds found: %s\n", n_masked, *kinds ? kinds : "none");
    if (n_bad) return cli_error("pii", "%zu line(s) of %s are not valid JSON (listed above)", n_bad, o->file);
    if (*blocked) {
        fprintf(stderr, "hearth pii: error: blocked kinds found: %s\n", blocked);
        return 3;
    }
    return 0;
}

/* ---- entry ----------------------------------------------------------------- */
int cmd_pii(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    bool scan = !strcmp(sub, "scan"), mask = !strcmp(sub, "mask");
    if (!scan && !mask) return cli_error("pii", "unknown subcommand '%s' (want scan or mask)", sub);
    opts o = {0};
    cli_args a = cli_args_init(scan ? "pii scan" : "pii mask", argc - 1, argv + 1);
    const char *pat;
    while (cli_next(&a)) {
        if (cli_opt(&a, "-f", "--file", &o.file)) continue;
        if (mask && cli_opt(&a, "-o", "--output", &o.out)) continue;
        if (mask && cli_opt(&a, NULL, "--policy", &o.policy)) continue;
        if (cli_opt(&a, NULL, "--keywords", &o.keywords)) continue;
        if (cli_opt(&a, NULL, "--pattern", &pat)) {
            if (o.n_patterns == MAX_PATTERNS) return cli_error("pii", "at most %d --pattern options", MAX_PATTERNS);
            o.patterns[o.n_patterns++] = pat;
            continue;
        }
        if (cli_flag(&a, NULL, "--substring")) { o.substring = true; continue; }
        if (scan && cli_flag(&a, NULL, "--json")) { o.json = true; continue; }
        if (scan && cli_flag(&a, NULL, "--show-values")) { o.show_values = true; continue; }
        if (mask && cli_flag(&a, NULL, "--jsonl")) { o.jsonl = true; continue; }
        if (mask && cli_flag(&a, NULL, "--redact-generic")) { o.redact_generic = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos) return cli_error("pii", "unexpected argument '%s' (the input is given with -f FILE)", a.pos[0]);
    if (!o.file) return cli_error("pii", "no input file (-f FILE)");
    hearth_pii_policy *p = make_policy("pii", &o);
    if (!p) return 1;
    char *text;
    size_t len;
    if (hearth_read_file(o.file, &text, &len) != HEARTH_OK) {
        hearth_pii_policy_free(p);
        return cli_lib_error("pii");
    }
    int rc = scan ? do_scan(&o, p, text, len) : do_mask(&o, p, text, len);
    free(text);
    hearth_pii_policy_free(p);
    return rc;
}
