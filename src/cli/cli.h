/*
 * cli.h — shared helpers for the hearth command's subcommands: argument
 * parsing, error reporting, the default model path. No library logic here.
 *
 * A subcommand lives in src/cli/cmd_NAME.c and defines
 *   const char *const cmd_NAME_summary = "one line for `hearth --help`";
 *   int cmd_NAME(int argc, char **argv);   // argv[0] is NAME; returns exit code
 * The table of commands is generated from the file names by CMake.
 *
 * Typical option loop:
 *   cli_args a = cli_args_init("tokenize", argc, argv);
 *   while (cli_next(&a)) {
 *       if (cli_opt(&a, "-m", "--model", &model)) continue;
 *       if (cli_flag(&a, NULL, "--json")) { json = true; continue; }
 *       if (cli_help(&a)) { usage(); return 0; }
 *       return cli_unknown(&a);
 *   }
 *   if (a.failed) return 2;
 */
#ifndef HEARTH_CLI_H
#define HEARTH_CLI_H

#include "hearth/hearth.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_args {
    const char *cmd;
    int argc;
    char **argv;
    int i;            /* index of the current argument */
    bool failed;      /* an option lacked its value or had a bad one (already reported) */
    int n_pos;        /* positional arguments seen, collected in pos[] */
    const char *pos[16];
} cli_args;

cli_args cli_args_init(const char *cmd, int argc, char **argv);
/* Advances to the next argument; returns false at the end. Positional
 * arguments (not starting with '-', or after "--") are collected into pos[]
 * and skipped. */
bool cli_next(cli_args *a);
/* Current argument is short_ or long_ (either may be NULL). */
bool cli_flag(cli_args *a, const char *short_, const char *long_);
/* Current argument is the option; its value (next argument, or after '=') goes in *val. */
bool cli_opt(cli_args *a, const char *short_, const char *long_, const char **val);
bool cli_opt_int(cli_args *a, const char *short_, const char *long_, int64_t *val);
bool cli_opt_float(cli_args *a, const char *short_, const char *long_, double *val);
bool cli_help(cli_args *a);   /* -h / --help */
/* Reports the current argument as unknown; returns exit code 2. */
int cli_unknown(cli_args *a);

/* Strict number parsing: the whole string must be a number. */
bool cli_parse_int(const char *s, int64_t *out);
bool cli_parse_float(const char *s, double *out);

/* Prints "hearth CMD: error: ..." to stderr; returns 1. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "hearth CMD: error: <hearth_last_error()>" and returns 1. */
int cli_lib_error(const char *cmd);

/* The model used when no -m is given: $HEARTH_MODEL, else the default model
 * shipped with hearth (next to the binary or installed). NULL if none exists;
 * then commands say that no model was given. */
const char *cli_default_model(void);
/* Resolves -m: returns model if non-NULL, else the default; on neither,
 * prints a clear error and returns NULL. */
const char *cli_model_or_default(const char *cmd, const char *model);

/* Installs a log callback that prints warnings and errors to stderr
 * (everything with HEARTH_VERBOSE=1). */
void cli_install_logger(void);

/* JSON string output (quotes and escapes) of len bytes to f. */
void cli_json_str(FILE *f, const char *s, size_t len);

/* true if stderr is a terminal (for progress bars). */
bool cli_stderr_tty(void);

#endif
