/*
 * cmd_schema.c — `hearth schema validate --schema S.json --jsonl FILE`:
 * validates one JSON instance per line of FILE against a JSON Schema
 * (draft 2020-12, or draft-07 when "$schema" says so).
 *
 * Output: one line per instance line, `valid` or `invalid` (a line that is
 * not JSON is invalid); with --why, invalid lines carry the reason after a
 * tab. Exit 0. A schema hearth cannot use (not JSON, another draft, an
 * unresolvable $ref, a bad pattern): exit 2 and one line on stderr.
 */
#include "cli.h"
#include "hearth/core.h"
#include "hearth/schema.h"

#include <stdlib.h>
#include <string.h>

const char *const cmd_schema_summary = "validate JSON instances against a JSON Schema";

static void usage(void) {
    printf("usage: hearth schema validate --schema S.json --jsonl FILE [options]\n\n"
           "Validates each line of FILE (one JSON instance per line) against the JSON Schema\n"
           "S.json (draft 2020-12; draft-07 when its \"$schema\" says so) and prints `valid` or\n"
           "`invalid` per line.\n\n"
           "  --schema FILE      the JSON Schema\n"
           "  --jsonl FILE       the instances, one JSON value per line (UTF-8)\n"
           "  --format-assert    check \"format\" (date-time, email, uri...) instead of treating it\n"
           "                     as an annotation\n"
           "  --why              after `invalid`, a tab and the reason\n\n"
           "Exit status: 0 when every line was checked; 2 when the schema cannot be used.\n");
}

int cmd_schema(int argc, char **argv) {
    const char *schema_path = NULL, *jsonl = NULL;
    bool fmt = false, why = false;
    cli_args a = cli_args_init("schema", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--schema", &schema_path)) continue;
        if (cli_opt(&a, NULL, "--jsonl", &jsonl)) continue;
        if (cli_flag(&a, NULL, "--format-assert")) { fmt = true; continue; }
        if (cli_flag(&a, NULL, "--why")) { why = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos != 1 || strcmp(a.pos[0], "validate") != 0) {
        fprintf(stderr, "hearth schema: error: expected `hearth schema validate --schema S.json --jsonl FILE`\n");
        return 2;
    }
    if (!schema_path || !jsonl) {
        fprintf(stderr, "hearth schema: error: --schema and --jsonl are required\n");
        return 2;
    }
    char *stext = NULL, *itext = NULL;
    size_t slen = 0, ilen = 0;
    if (hearth_read_file(schema_path, &stext, &slen) != HEARTH_OK) {
        fprintf(stderr, "hearth schema: error: %s\n", hearth_last_error());
        return 2;
    }
    hearth_schema_params p = hearth_schema_default_params();
    p.format_assert = fmt;
    hearth_schema *s = NULL;
    if (hearth_schema_compile(stext, slen, &p, &s) != HEARTH_OK) {
        fprintf(stderr, "hearth schema: error: %s: %s\n", schema_path, hearth_last_error());
        free(stext);
        return 2;
    }
    free(stext);
    if (hearth_read_file(jsonl, &itext, &ilen) != HEARTH_OK) {
        fprintf(stderr, "hearth schema: error: %s\n", hearth_last_error());
        hearth_schema_free(s);
        return 2;
    }
    size_t i = 0;
    while (i < ilen) {
        const char *line = itext + i;
        const char *nl = memchr(line, '\n', ilen - i);
        size_t n = nl ? (size_t)(nl - line) : ilen - i;
        i += n + (nl ? 1 : 0);
        size_t m = n;
        if (m && line[m - 1] == '\r') m--;
        bool ok = false;
        char *reason = NULL;
        hearth_status st = hearth_schema_validate(s, line, m, &ok, why ? &reason : NULL);
        if (st != HEARTH_OK) ok = false;
        if (ok) {
            puts("valid");
        } else if (why) {
            printf("invalid\t%s\n", st != HEARTH_OK ? hearth_last_error() : reason ? reason : "");
        } else {
            puts("invalid");
        }
        free(reason);
    }
    free(itext);
    hearth_schema_free(s);
    return fflush(stdout) == 0 ? 0 : 1;
}
