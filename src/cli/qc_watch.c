/*
 * qc_watch.c — `hearth qc watch`: not yet.
 */
#include "cli.h"
#include "qc_watch.h"

int qc_watch_main(int argc, char **argv) {
    (void)argc, (void)argv;
    return cli_error("qc watch", "not implemented yet");
}
