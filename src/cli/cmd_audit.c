/*
 * cmd_audit.c — `hearth audit verify|export`: checks the gateway's hash-chained
 * audit log and exports records as JSON lines.
 */
#include "cli.h"

#include "hearth/gateway.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cmd_audit_summary = "verify or export the gateway's tamper-evident audit log";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth audit verify [--db FILE]\n"
            "       hearth audit export --since DATE [--until DATE] [--format jsonl] [--db FILE]\n"
            "\n"
            "verify walks the hash chain: exit 0 and the record count and head hash when intact,\n"
            "exit 1 naming the first bad record when a record was changed, removed, inserted\n"
            "or reordered. export prints one JSON object per record (with its hash) whose time\n"
            "is in [since, until) (dates YYYY-MM-DD, UTC).\n"
            "\n"
            "  --db FILE|URL    audit database: a SQLite file or postgresql://... (default:\n"
            "                   $HEARTH_AUDIT_DB, else hearth-audit.db)\n"
            "  --config FILE    take the audit database from a gateway config\n");
}

static int print_line(const hearth_audit_record *r, void *user) {
    (void)user;
    char *j = hearth_audit_record_json(r, true);
    if (j) {
        fputs(j, stdout);
        fputc('\n', stdout);
        free(j);
    }
    return 0;
}

static int last_hash(const hearth_audit_record *r, void *user) {
    snprintf((char *)user, 65, "%s", r->hash);
    return 0;
}

int cmd_audit(int argc, char **argv) {
    const char *db = getenv("HEARTH_AUDIT_DB"), *config = NULL, *since = NULL, *until = NULL, *format = "jsonl";
    cli_args a = cli_args_init("audit", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--db", &db)) continue;
        if (cli_opt(&a, NULL, "--config", &config)) continue;
        if (cli_opt(&a, NULL, "--since", &since)) continue;
        if (cli_opt(&a, NULL, "--until", &until)) continue;
        if (cli_opt(&a, NULL, "--format", &format)) continue;
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos != 1) {
        usage(stderr);
        return 2;
    }
    char dbpath[1024];
    if (config) {
        hearth_gateway_config *c;
        if (hearth_gateway_config_load(config, &c)) return cli_lib_error("audit");
        snprintf(dbpath, sizeof dbpath, "%s", hearth_gateway_config_audit_db(c));
        hearth_gateway_config_free(c);
        db = dbpath;
    }
    if (!db) db = "hearth-audit.db";
    const char *sub = a.pos[0];
    int64_t since_s = 0, until_s = 0;
    if (!strcmp(sub, "export")) {
        if (strcmp(format, "jsonl")) return cli_error("audit", "--format: only jsonl is supported, not '%s'", format);
        if (!since) return cli_error("audit", "export needs --since DATE");
        if (!hearth_parse_date(since, &since_s)) return cli_error("audit", "--since wants YYYY-MM-DD, not '%s'", since);
        if (until && !hearth_parse_date(until, &until_s))
            return cli_error("audit", "--until wants YYYY-MM-DD, not '%s'", until);
    } else if (strcmp(sub, "verify")) {
        cli_error("audit", "unknown subcommand '%s' (verify, export)", sub);
        return 2;
    }
    bool url = !strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11);
    if (!url && access(db, F_OK) != 0) return cli_error("audit", "no audit database at %s", db);
    hearth_audit *au;
    if (hearth_audit_open(db, true, &au)) return cli_lib_error("audit");
    int rc = 0;
    if (!strcmp(sub, "verify")) {
        int64_t n, bad;
        if (hearth_audit_verify(au, &n, &bad)) {
            fprintf(stderr, "hearth audit: FAILED at record %lld: %s\n", (long long)bad, hearth_last_error());
            rc = 1;
        } else {
            char head[65] = "";
            if (n > 0) hearth_audit_each(au, 0, 0, last_hash, head);
            printf("ok: %lld records, chain intact; head %s\n", (long long)n, n ? head : "(empty)");
        }
    } else {
        if (hearth_audit_each(au, since_s * 1000, until_s * 1000, print_line, NULL)) rc = cli_lib_error("audit");
    }
    hearth_audit_free(au);
    return rc;
}
