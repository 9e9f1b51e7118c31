/*
 * cmd_keys.c — `hearth keys create|list|revoke|rotate`: manages the gateway's
 * API keys (the work is in libhearth's gateway layer).
 */
#include "cli.h"

#include "hearth/gateway.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cmd_keys_summary = "manage the gateway's API keys (create, list, revoke, rotate)";

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth keys create --name NAME [options]\n"
            "       hearth keys list [--json]\n"
            "       hearth keys revoke ID\n"
            "       hearth keys rotate ID\n"
            "\n"
            "Keys read hk_<id>_<secret>; the full key is printed once, at create or rotate,\n"
            "and only a salted hash of the secret is stored.\n"
            "\n"
            "  --db FILE|URL             key database: a SQLite file or postgresql://... (default:\n"
            "                            $HEARTH_KEYS_DB, else hearth-keys.db)\n"
            "  --config FILE             take the key database from a gateway config\n"
            "create:\n"
            "  --name NAME               who or what the key is for (required)\n"
            "  --models M1,M2            models the key may use (default: all)\n"
            "  --rpm N                   requests per minute (default: the gateway's default)\n"
            "  --tpm N                   tokens per minute\n"
            "  --concurrent N            requests in flight at once\n"
            "  --budget-tokens N         tokens per --period\n"
            "  --period day|month        budget period (UTC)\n"
            "  --expires YYYY-MM-DD      refused from that day on (UTC midnight)\n"
            "  --role admin|user         admin keys may use the gateway's /admin/keys API (default user)\n"
            "list:\n"
            "  --json                    one JSON object per key\n");
}

static const char *period_str(hearth_key_period p) {
    return p == HEARTH_PERIOD_DAY ? "day" : p == HEARTH_PERIOD_MONTH ? "month" : "";
}

static void date_str(int64_t t, char *buf, size_t cap) {
    if (!t) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%d", &tm);
}

static void print_json(const hearth_key_info *k) {
    printf("{\"id\":\"%s\",\"name\":", k->id);
    cli_json_str(stdout, k->name, strlen(k->name));
    printf(",\"role\":\"%s\",\"models\":", k->role == HEARTH_ROLE_ADMIN ? "admin" : "user");
    cli_json_str(stdout, k->models, strlen(k->models));
    printf(",\"rpm\":%lld,\"tpm\":%lld,\"max_concurrent\":%lld,\"budget_tokens\":%lld,\"period\":\"%s\","
           "\"expires\":%lld,\"created\":%lld,\"revoked\":%lld}\n",
           (long long)k->rpm, (long long)k->tpm, (long long)k->max_concurrent, (long long)k->budget_tokens,
           period_str(k->period), (long long)k->expires, (long long)k->created, (long long)k->revoked);
}

int cmd_keys(int argc, char **argv) {
    const char *db = getenv("HEARTH_KEYS_DB"), *config = NULL, *name = NULL, *models = NULL, *period = NULL,
               *expires = NULL, *role = NULL;
    int64_t rpm = 0, tpm = 0, conc = 0, budget = 0;
    bool json = false;
    cli_args a = cli_args_init("keys", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, NULL, "--db", &db)) continue;
        if (cli_opt(&a, NULL, "--config", &config)) continue;
        if (cli_opt(&a, NULL, "--name", &name)) continue;
        if (cli_opt(&a, NULL, "--models", &models)) continue;
        if (cli_opt_int(&a, NULL, "--rpm", &rpm)) continue;
        if (cli_opt_int(&a, NULL, "--tpm", &tpm)) continue;
        if (cli_opt_int(&a, NULL, "--concurrent", &conc)) continue;
        if (cli_opt_int(&a, NULL, "--budget-tokens", &budget)) continue;
        if (cli_opt(&a, NULL, "--period", &period)) continue;
        if (cli_opt(&a, NULL, "--expires", &expires)) continue;
        if (cli_opt(&a, NULL, "--role", &role)) continue;
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(stdout); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos < 1) {
        usage(stderr);
        return 2;
    }
    const char *sub = a.pos[0];
    char dbpath[1024];
    if (config) {
        hearth_gateway_config *c;
        if (hearth_gateway_config_load(config, &c)) return cli_lib_error("keys");
        snprintf(dbpath, sizeof dbpath, "%s", hearth_gateway_config_keys_db(c));
        hearth_gateway_config_free(c);
        db = dbpath;
    }
    if (!db) db = "hearth-keys.db";

    hearth_keystore *ks;
    if (hearth_keystore_open(db, &ks)) return cli_lib_error("keys");
    int rc = 0;
    if (!strcmp(sub, "create")) {
        hearth_key_params p = hearth_key_default_params();
        p.name = name;
        p.models = models;
        p.rpm = rpm;
        p.tpm = tpm;
        p.max_concurrent = conc;
        p.budget_tokens = budget;
        if (period && !strcmp(period, "day")) p.period = HEARTH_PERIOD_DAY;
        else if (period && !strcmp(period, "month")) p.period = HEARTH_PERIOD_MONTH;
        else if (period) { rc = cli_error("keys", "--period must be day or month, not '%s'", period); goto out; }
        if (role && !strcmp(role, "admin")) p.role = HEARTH_ROLE_ADMIN;
        else if (role && strcmp(role, "user")) { rc = cli_error("keys", "--role must be admin or user, not '%s'", role); goto out; }
        if (expires && !hearth_parse_date(expires, &p.expires)) {
            rc = cli_error("keys", "--expires wants a date YYYY-MM-DD, not '%s'", expires);
            goto out;
        }
        if (!name) { rc = cli_error("keys", "create needs --name"); goto out; }
        char key[HEARTH_KEY_MAX];
        hearth_key_info k;
        if (hearth_keys_create(ks, &p, key, &k)) { rc = cli_lib_error("keys"); goto out; }
        if (json) {
            printf("{\"id\":\"%s\",\"key\":\"%s\"}\n", k.id, key);
        } else {
            printf("%s\n", key);
            fprintf(stderr, "key %s (%s) created; it is shown only now, store it safely\n", k.id, k.name);
        }
    } else if (!strcmp(sub, "list")) {
        hearth_key_info *v;
        size_t n;
        if (hearth_keys_list(ks, &v, &n)) { rc = cli_lib_error("keys"); goto out; }
        if (!json) printf("%-12s  %-20s %-5s %-7s %-20s %6s %8s %10s %-10s %s\n", "ID", "NAME", "ROLE", "STATE",
                          "MODELS", "RPM", "TPM", "BUDGET", "EXPIRES", "CREATED");
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; i < n; i++) {
            const hearth_key_info *k = &v[i];
            if (json) {
                print_json(k);
                continue;
            }
            char exp[16], cre[16], budget_s[32];
            date_str(k->expires, exp, sizeof exp);
            date_str(k->created, cre, sizeof cre);
            if (k->budget_tokens) snprintf(budget_s, sizeof budget_s, "%lld/%s", (long long)k->budget_tokens, period_str(k->period));
            else snprintf(budget_s, sizeof budget_s, "-");
            const char *state = k->revoked ? "revoked" : (k->expires && now >= k->expires) ? "expired" : "active";
            printf("%-12s  %-20s %-5s %-7s %-20s %6lld %8lld %10s %-10s %s\n", k->id, k->name,
                   k->role == HEARTH_ROLE_ADMIN ? "admin" : "user", state, k->models[0] ? k->models : "*",
                   (long long)k->rpm, (long long)k->tpm, budget_s, exp, cre);
        }
        free(v);
    } else if (!strcmp(sub, "revoke") || !strcmp(sub, "rotate")) {
        if (a.n_pos != 2) { rc = cli_error("keys", "%s needs one key id", sub); goto out; }
        if (!strcmp(sub, "revoke")) {
            if (hearth_keys_revoke(ks, a.pos[1])) { rc = cli_lib_error("keys"); goto out; }
            fprintf(stderr, "key %s revoked\n", a.pos[1]);
        } else {
            char key[HEARTH_KEY_MAX];
            if (hearth_keys_rotate(ks, a.pos[1], key)) { rc = cli_lib_error("keys"); goto out; }
            printf("%s\n", key);
            fprintf(stderr, "key %s rotated; the old secret no longer works\n", a.pos[1]);
        }
    } else {
        rc = cli_error("keys", "unknown subcommand '%s' (create, list, revoke, rotate)", sub);
        if (rc == 1) rc = 2;
    }
out:
    hearth_keystore_free(ks);
    return rc;
}
