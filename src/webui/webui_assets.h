/*
 * webui_assets.h — the console's files built into the binary (internal). The
 * table is generated at build time from ui/dist by cmake/embed_ui.cmake
 * (build/generated/webui_assets.c); see webui.h.
 */
#ifndef HEARTH_WEBUI_ASSETS_H
#define HEARTH_WEBUI_ASSETS_H

#include <stddef.h>

typedef struct webui_asset {
    const char *path;            /* "/index.html", "/vendor/marked.js" */
    const unsigned char *data;   /* the file's bytes */
    size_t len;
} webui_asset;

extern const webui_asset webui_assets[];
extern const size_t webui_n_assets;

#endif
