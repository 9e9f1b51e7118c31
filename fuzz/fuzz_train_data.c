/*
 * fuzz_train_data.c — libFuzzer entry for fine-tuning data
 * (hearth_train_data_load: JSONL records in the Alpaca, chat, completion and
 * text forms, rendered in the Alpaca format and tokenized with a SentencePiece
 * vocabulary). The input is written to a .jsonl file in a private temporary
 * folder. Checks: loaded examples have tokens, a mask of the same length
 * and lines inside the file; a refusal names the file.
 */
#include "hearth/tokenizer.h"
#include "hearth/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[96];
static hearth_vocab *vocab;

static void cleanup(void) {
    unlink(path);
    rmdir(dir);
    hearth_vocab_free(vocab);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/hearth-fuzz-data-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/data.jsonl", dir);
        if (hearth_vocab_load_file(HEARTH_SOURCE_DIR "/tests/data/vocab/ggml-vocab-llama-spm.gguf", &vocab) != HEARTH_OK)
            abort();
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    hearth_data_params p = {.n_ctx = 64};
    hearth_train_data *d = NULL;
    if (hearth_train_data_load(path, NULL, vocab, &p, &d) == HEARTH_OK) {
        for (int32_t i = 0; i < d->n; i++) {
            const hearth_train_example *x = &d->ex[i];
            if (x->n <= 0 || x->n > 65 || !x->tokens || !x->mask || x->line < 1 || (size_t)x->line > lines) abort();
            for (int32_t k = 0; k < x->n; k++)
                if (x->tokens[k] < 0 || x->tokens[k] >= hearth_vocab_n_tokens(vocab) || x->mask[k] > 1) abort();
        }
        hearth_train_data_free(d);
    } else if (!strstr(hearth_last_error(), "data.jsonl")) {
        abort();
    }
    return 0;
}
