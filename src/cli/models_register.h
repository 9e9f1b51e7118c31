/*
 * models_register.h — `--register NAME:TAG [--store DIR]` for commands that
 * write a model or adapter (hearth train): checks the reference before the
 * work starts, then adds the output to the model store with its lineage.
 */
#ifndef HEARTH_CLI_MODELS_REGISTER_H
#define HEARTH_CLI_MODELS_REGISTER_H

#include "cli.h"
#include "hearth/registry.h"

#define MODELS_REGISTER_HELP                                                                     \
    "  --register NAME:TAG     add OUT (a .gguf) to the model store with its lineage: base model\n" \
    "                          and training data digests, this command line\n"                   \
    "  --store DIR             the model store (default $HEARTH_HOME/models)\n"

/* Before the work: ref must be a new NAME:TAG and out a single file (.gguf).
 * Prints the error and returns non-zero otherwise. */
int models_register_check(const char *cmd, const char *store, const char *ref, const char *out);

/* After the work: adds out as ref (kind), base (file, may be NULL: none)
 * recorded as the adapter's base or, for a model, as its parent; data (file,
 * may be NULL) as the training data; argv as the command. Prints what it
 * did; returns non-zero on failure (printed). */
int models_register_output(const char *cmd, const char *store, const char *ref, const char *out,
                           hearth_artifact_kind kind, const char *base, const char *data, int argc, char **argv);

#endif
