/*
 * hearth.h — libhearth's base contract: status codes, error messages,
 * logging, version. Every other public header includes this one.
 *
 * Errors: every call that can fail returns a hearth_status (HEARTH_OK = 0).
 * The human-readable message of the last failure on the calling thread is
 * returned by hearth_last_error(); it names what was wrong and where
 * (file offset, line, key...). The library never exits the process and never
 * prints: messages go through the log callback.
 */
#ifndef HEARTH_HEARTH_H
#define HEARTH_HEARTH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- export --------------------------------------------------------------
 * libhearth is compiled with -fvisibility=hidden: a function is exported from
 * libhearth.so / libhearth.a only when a public header declares it between
 * HEARTH_API_BEGIN and HEARTH_API_END (every header in include/hearth/ wraps
 * its declarations so) or marks it HEARTH_API. Exported names start with
 * hearth_ (a test checks both). See docs/install.md. */
#if defined(__GNUC__) || defined(__clang__)
#define HEARTH_API __attribute__((visibility("default")))
#define HEARTH_API_BEGIN _Pragma("GCC visibility push(default)")
#define HEARTH_API_END _Pragma("GCC visibility pop")
#else
#define HEARTH_API
#define HEARTH_API_BEGIN
#define HEARTH_API_END
#endif

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

#define HEARTH_VERSION "0.1.0"

typedef enum hearth_status {
    HEARTH_OK = 0,
    HEARTH_ERR_INVALID_ARG = 1,   /* caller passed something unusable */
    HEARTH_ERR_IO = 2,            /* open/read/write/mmap failed */
    HEARTH_ERR_FORMAT = 3,        /* a file or text is malformed/corrupt */
    HEARTH_ERR_UNSUPPORTED = 4,   /* valid, but not something hearth handles */
    HEARTH_ERR_NOT_FOUND = 5,     /* a key, tensor, token... is absent */
    HEARTH_ERR_TYPE = 6,          /* present but of another type */
    HEARTH_ERR_NOMEM = 7,         /* allocation failed */
    HEARTH_ERR_RANGE = 8,         /* a size/index/length is out of bounds */
    HEARTH_ERR_CANCELLED = 9,     /* stopped by the caller */
    HEARTH_ERR_INTERNAL = 10,
} hearth_status;

/* Short constant name of a status ("format error"...). */
const char *hearth_status_str(hearth_status s);

/* Message of the last failure on this thread ("" if none). Borrowed; valid
 * until the next failing call on the same thread. */
const char *hearth_last_error(void);

/* Sets this thread's last error message and returns s (for library code and
 * for callers that want to report their own errors the same way). */
hearth_status hearth_set_error(hearth_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- logging ------------------------------------------------------------ */
typedef enum hearth_log_level {
    HEARTH_LOG_DEBUG = 0,
    HEARTH_LOG_INFO = 1,
    HEARTH_LOG_WARN = 2,
    HEARTH_LOG_ERROR = 3,
} hearth_log_level;

typedef void (*hearth_log_fn)(hearth_log_level level, const char *msg, void *user);

/* Installs the process-wide log callback (NULL: discard). Default: discard. */
void hearth_log_set(hearth_log_fn fn, void *user);
void hearth_log(hearth_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
