/*
 * fuzz_adapter_config.c — libFuzzer entry for PEFT adapter folders'
 * adapter_config.json (hearth_adapter_load_peft: peft_type, r, lora_alpha,
 * dropout, rsLoRA, the unsupported variants, and r against the tensors'
 * shapes). A valid adapter_model.safetensors (r = 4, o_proj and v_proj of
 * layer 0) is written once into a private temporary folder; each input
 * becomes that folder's adapter_config.json. Checks: a loaded adapter has
 * the file's rank and positive shapes; a refusal names the folder.
 */
#include "hearth/adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], cfg[96], st[96];

static void cleanup(void) {
    unlink(cfg);
    unlink(st);
    rmdir(dir);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/hearth-fuzz-peft-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(cfg, sizeof cfg, "%s/adapter_config.json", dir);
    snprintf(st, sizeof st, "%s/adapter_model.safetensors", dir);
    hearth_adapter *a = hearth_adapter_create(4, 8.0f, false);
    if (!a || hearth_adapter_add(a, "blk.0.attn_output.weight", 16, 16) != HEARTH_OK ||
        hearth_adapter_add(a, "blk.0.attn_v.weight", 16, 8) != HEARTH_OK ||
        hearth_adapter_save_peft(a, NULL, dir) != HEARTH_OK)
        abort();
    hearth_adapter_free(a);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!dir[0]) setup();
    FILE *f = fopen(cfg, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    hearth_adapter *a = NULL;
    if (hearth_adapter_load_peft(dir, NULL, &a) == HEARTH_OK) {
        if (!a || a->r != 4 || a->n != 2) abort();
        hearth_adapter_free(a);
    } else {
        if (a) abort();
        if (!strstr(hearth_last_error(), dir)) abort();
    }
    return 0;
}
