/* error.c — status names, per-thread last error message, logging callback. */
#include "hearth/hearth.h"

#include <stdio.h>
#include <string.h>

/* ---- status and last error ---------------------------------------------- */

const char *hearth_status_str(hearth_status s) {
    switch (s) {
    case HEARTH_OK: return "ok";
    case HEARTH_ERR_INVALID_ARG: return "invalid argument";
    case HEARTH_ERR_IO: return "I/O error";
    case HEARTH_ERR_FORMAT: return "format error";
    case HEARTH_ERR_UNSUPPORTED: return "unsupported";
    case HEARTH_ERR_NOT_FOUND: return "not found";
    case HEARTH_ERR_TYPE: return "wrong type";
    case HEARTH_ERR_NOMEM: return "out of memory";
    case HEARTH_ERR_RANGE: return "out of range";
    case HEARTH_ERR_CANCELLED: return "cancelled";
    case HEARTH_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

static _Thread_local char last_error[1024];

const char *hearth_last_error(void) { return last_error; }

hearth_status hearth_set_error(hearth_status s, const char *fmt, ...) {
    /* formatted aside first: the arguments may be the message itself
     * (hearth_set_error(st, "%s: %s", path, hearth_last_error())), and
     * vsnprintf into the buffer it reads from would garble it */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return s;
}

/* ---- logging ------------------------------------------------------------ */

static hearth_log_fn log_fn;   /* set once by the application */
static void *log_user;

void hearth_log_set(hearth_log_fn fn, void *user) {
    log_fn = fn;
    log_user = user;
}

void hearth_log(hearth_log_level level, const char *fmt, ...) {
    if (!log_fn) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_user);
}
