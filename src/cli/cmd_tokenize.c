/*
 * cmd_tokenize.c — `hearth tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos]
 * [--parse-special] [--ids] [--json]`: shows how a model's tokenizer splits
 * a text. Needs only the tokenizer metadata, so vocab-only GGUF files work.
 *
 * Output: one line per token, `ID 'PIECE'` (the piece's raw bytes); with
 * --ids the ids on one line separated by single spaces; with --json one
 * object {"ids":[...],"pieces":[...]} (bytes that are not valid UTF-8 on
 * their own, e.g. half of a character split over byte tokens, appear as
 * U+FFFD in the JSON pieces).
 */
#include "cli.h"
#include "core/utf8.h"
#include "hearth/core.h"
#include "hearth/tokenizer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const cmd_tokenize_summary = "show the token ids and pieces of a text";

static void usage(void) {
    printf("usage: hearth tokenize -m MODEL.gguf (-p TEXT | -f FILE) [options]\n\n"
           "Tokenizes TEXT (or the bytes of FILE) with the model's tokenizer and prints\n"
           "one line per token: ID 'PIECE'. Works on vocab-only GGUF files.\n\n"
           "  -m, --model FILE     the model (default: $HEARTH_MODEL or the built-in model)\n"
           "  -p, --prompt TEXT    the text to tokenize\n"
           "  -f, --file FILE      tokenize the contents of FILE, byte for byte\n"
           "  --no-bos             add no special tokens (BOS/EOS, CLS/SEP)\n"
           "  --parse-special      treat control-token texts in the input (e.g. <s>) as those tokens\n"
           "  --ids                print only the ids, on one line, separated by spaces\n"
           "  --json               print {\"ids\":[...],\"pieces\":[...]}\n");
}

/* copies s to dst replacing bytes that do not start a valid UTF-8 character by U+FFFD; returns length */
static size_t sanitize_utf8(const char *s, size_t n, char *dst) {
    const unsigned char *p = (const unsigned char *)s;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t k;
        bool ok = hearth_utf8_decode(s + i, n - i, &k) >= 0;
        if (ok) {
            memcpy(dst + m, p + i, k);
            m += k;
            i += k;
        } else {
            memcpy(dst + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i++;
        }
    }
    return m;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *file = NULL;
    bool no_bos = false, parse_special = false, ids_only = false, json = false;
    cli_args a = cli_args_init("tokenize", argc, argv);
    while (cli_next(&a)) {
        if (cli_opt(&a, "-m", "--model", &model)) continue;
        if (cli_opt(&a, "-p", "--prompt", &prompt)) continue;
        if (cli_opt(&a, "-f", "--file", &file)) continue;
        if (cli_flag(&a, NULL, "--no-bos")) { no_bos = true; continue; }
        if (cli_flag(&a, NULL, "--parse-special")) { parse_special = true; continue; }
        if (cli_flag(&a, NULL, "--ids")) { ids_only = true; continue; }
        if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
        if (cli_help(&a)) { usage(); return 0; }
        return cli_unknown(&a);
    }
    if (a.failed) return 2;
    if (a.n_pos > 0) return cli_error("tokenize", "unexpected argument '%s' (the text goes after -p)", a.pos[0]) + 1;
    if (prompt && file) return cli_error("tokenize", "give either -p TEXT or -f FILE, not both") + 1;
    if (!prompt && !file) return cli_error("tokenize", "nothing to tokenize: give -p TEXT or -f FILE") + 1;
    if (ids_only && json) return cli_error("tokenize", "--ids and --json cannot be combined") + 1;
    model = cli_model_or_default("tokenize", model);
    if (!model) return 1;

    size_t len = 0;
    char *text = NULL;
    if (file) {
        if (hearth_read_file(file, &text, &len) != HEARTH_OK) return cli_lib_error("tokenize");
    } else {
        len = strlen(prompt);
    }

    hearth_vocab *v = NULL;
    if (hearth_vocab_load_file(model, &v) != HEARTH_OK) {
        free(text);
        return cli_lib_error("tokenize");
    }
    hearth_tokenize_params p = hearth_tokenize_default_params();
    p.add_special = !no_bos;
    p.parse_special = parse_special;
    int32_t *ids = NULL;
    size_t n = 0;
    if (hearth_tokenize(v, file ? text : prompt, len, &p, &ids, &n) != HEARTH_OK) {
        free(text);
        hearth_vocab_free(v);
        return cli_lib_error("tokenize");
    }

    char small[256];
    if (ids_only) {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    } else if (json) {
        printf("{\"ids\":[");
        for (size_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        printf("],\"pieces\":[");
        for (size_t i = 0; i < n; i++) {
            int64_t k = hearth_token_to_piece(v, ids[i], true, NULL, 0);
            char *pc = malloc((size_t)(k > 0 ? k : 0) + 1), *clean = malloc((size_t)(k > 0 ? k : 0) * 3 + 1);
            if (!pc || !clean) { free(pc); free(clean); break; }
            hearth_token_to_piece(v, ids[i], true, pc, (size_t)k);
            size_t m = sanitize_utf8(pc, (size_t)k, clean);
            if (i) putchar(',');
            cli_json_str(stdout, clean, m);
            free(pc);
            free(clean);
        }
        printf("]}\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            int64_t k = hearth_token_to_piece(v, ids[i], true, small, sizeof small);
            printf("%d '", ids[i]);
            if (k > (int64_t)sizeof small) {
                char *big = malloc((size_t)k);
                if (big) {
                    hearth_token_to_piece(v, ids[i], true, big, (size_t)k);
                    fwrite(big, 1, (size_t)k, stdout);
                    free(big);
                }
            } else if (k > 0) {
                fwrite(small, 1, (size_t)k, stdout);
            }
            printf("'\n");
        }
    }
    free(ids);
    free(text);
    hearth_vocab_free(v);
    return fflush(stdout) == 0 ? 0 : 1;
}
