/*
 * alert.h — alerts as HTTP POSTs of JSON to a webhook, with nothing lost
 * when the receiver is down: every alert is first written to a queue folder
 * (one file per alert, written to a temporary name and renamed, so a crash
 * leaves whole files only) and deleted only after the receiver answered
 * 2xx. Failed deliveries are retried oldest first with exponential backoff
 * (0.5 s doubling to max_backoff_s); a receiver that hangs is cut off after
 * timeout_s. A queue folder left by an earlier run is sent first.
 *
 * No threads: the caller pumps deliveries with hearth_alerts_flush() (it
 * returns at once while a backoff is running).
 */
#ifndef HEARTH_ALERT_H
#define HEARTH_ALERT_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_alerts hearth_alerts;

typedef struct hearth_alerts_params {
    double timeout_s;        /* per POST, connection included; 0: 5 */
    double max_backoff_s;    /* 0: 30 */
} hearth_alerts_params;

hearth_alerts_params hearth_alerts_default_params(void);

/* url: http(s)://... ; queue_dir is created when missing. */
hearth_status hearth_alerts_open(const char *url, const char *queue_dir, const hearth_alerts_params *p,
                                 hearth_alerts **out);
void hearth_alerts_close(hearth_alerts *a);   /* NULL is a no-op; queued alerts stay on disk */

/* Queues one alert (a JSON text, copied to disk before returning). */
hearth_status hearth_alerts_post(hearth_alerts *a, const char *json);
/* Tries to deliver queued alerts, oldest first, until one fails or the
 * queue is empty; does nothing while backing off. Returns the number still
 * queued. */
int hearth_alerts_flush(hearth_alerts *a);

typedef struct hearth_alerts_stats {
    int64_t queued, sent, failures;   /* now queued; delivered; failed attempts */
    double next_retry_in_s;           /* 0 when not backing off */
    int last_http_status;             /* 0: none or no answer */
} hearth_alerts_stats;
hearth_alerts_stats hearth_alerts_get_stats(const hearth_alerts *a);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
