/*
 * qc_watch.h — `hearth qc watch` (src/cli/qc_watch.c), called by cmd_qc.c.
 */
#ifndef HEARTH_CLI_QC_WATCH_H
#define HEARTH_CLI_QC_WATCH_H

int qc_watch_main(int argc, char **argv);

#endif
