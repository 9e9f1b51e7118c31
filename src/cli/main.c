/* main.c — the hearth command: dispatches to subcommands (src/cli/cmd_*.c). */
#include "cli.h"

#include <string.h>

#define HEARTH_COMMAND(name)                 \
    extern const char *const cmd_##name##_summary; \
    int cmd_##name(int argc, char **argv);
#include "commands.inc"
#undef HEARTH_COMMAND

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *const *summary;
} command;

static const command COMMANDS[] = {
#define HEARTH_COMMAND(name) {#name, cmd_##name, &cmd_##name##_summary},
#include "commands.inc"
#undef HEARTH_COMMAND
    {NULL, NULL, NULL},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]) - 1)

static void usage(FILE *f) {
    fprintf(f, "hearth %s — a private LLM platform\n\n", HEARTH_VERSION);
    fprintf(f, "usage: hearth COMMAND [options]   (hearth COMMAND --help for its options)\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", COMMANDS[i].name, *COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    cli_install_logger();
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("hearth %s\n", HEARTH_VERSION);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hearth: error: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
