/*
 * fuzz_admin_login.c — libFuzzer entry for what an unauthenticated client
 * sends the admin console's login and session checks: the form body of POST
 * /admin/login (gw_form_field: fields split on '&', '+' and %XX decoded), and
 * the cookie's session id and X-CSRF-Token header looked up in the session
 * table. Checks: a decoded field fits its buffer and is NUL-terminated; no
 * made-up id or token matches a real session.
 */
#include "../src/gateway/gateway_internal.h"

#include <stdlib.h>
#include <string.h>

static gw_sessions *t;
static char sid[GW_SESSION_TOKEN_LEN + 1], csrf[GW_SESSION_TOKEN_LEN + 1];

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!t) {
        t = gw_sessions_new(60, 600);
        if (!t || gw_session_create(t, "0123456789ab", 1000, sid, csrf)) abort();
    }
    char *body = malloc(size + 1);
    if (!body) return 0;
    memcpy(body, data, size);
    body[size] = 0;
    char out[128];
    memset(out, 'x', sizeof out);
    if (gw_form_field(body, "key", out, sizeof out) && strnlen(out, sizeof out) == sizeof out) abort();
    /* the body as a session id and as a CSRF token */
    bool known = !strcmp(body, sid), token = !strcmp(body, csrf);
    if (gw_session_check(t, body, 1001, NULL, NULL, NULL) != known) abort();
    if (gw_session_csrf_ok(t, sid, body, 1001) != token) abort();
    free(body);
    return 0;
}
