/*
 * sigv4_int.h - what sigv4.c (parsing), sigv4_verify.c (verification, errors)
 * and sigv4_canon.c (the canonical request, timestamps, percent-encoding) share.
 * Private to those three files; everyone else uses gateway/sigv4.h.
 */
#ifndef TASKGATE_GATEWAY_SIGV4_INT_H
#define TASKGATE_GATEWAY_SIGV4_INT_H

#include "gateway/sigv4.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_SIGV4_ALGORITHM        "AWS4-HMAC-SHA256"
#define GW_SIGV4_TERMINATOR       "aws4_request"
#define GW_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* AWS answers every unusable key id or session token with this. */
#define GW_SIGV4_MSG_TOKEN_INVALID "The security token included in the request is invalid."

/* True when a (n bytes) equals the lower-case literal lit, ignoring ASCII case in a. */
bool gw_sigv4_name_is(const char *a, size_t n, const char *lit);

/* Narrows *p,*n to its content without leading or trailing white space. */
void gw_sigv4_trim(const char **p, size_t *n);

/* How many headers are named name (lower-case literal); *first gets the first. */
size_t gw_sigv4_header_count(const struct gw_sigv4_request *req, const char *name,
                             const struct gw_sigv4_header **first);

/* Whether the ';'-separated list (ascending names) contains name. */
bool gw_sigv4_list_has(const char *list, size_t list_n, const char *name);

/* YYYYMMDDTHHMMSSZ, strictly (a real date and time of day) -> seconds since the epoch. */
bool gw_sigv4_parse_timestamp(const char *s, size_t n, int64_t *t);
/* An HTTP date "Sun, 06 Nov 1994 08:49:37 GMT" (zone GMT, UTC, +0000 or -0000),
 * with the weekday matching the date -> seconds since the epoch. */
bool gw_sigv4_parse_http_date(const char *s, size_t n, int64_t *t);
/* Seconds since the epoch (years 0..9999) -> YYYYMMDDTHHMMSSZ + NUL. */
void gw_sigv4_format_timestamp(int64_t t, char out[GW_SIGV4_TIMESTAMP_LEN + 1]);

/*
 * Walks a raw query string. Checks every %-escape (two hex digits) and counts
 * the non-empty '&'-separated components; false on a bad escape.
 */
bool gw_sigv4_query_scan(const char *q, size_t n, size_t *components);
/* Percent-decodes in (already scanned) into out; false when it does not fit. */
bool gw_sigv4_pct_decode(const char *in, size_t n, char *out, size_t cap, size_t *out_n);

/* Lower-case hex of the SHA-256 of n bytes, + NUL. */
bool gw_sigv4_sha256_hex(const void *p, size_t n, char out[GW_SIGV4_SIGNATURE_HEX + 1]);

/* Sets err (code, reason) and a formatted message; returns code. */
int gw_sigv4_fail(struct gw_sigv4_error *err, int code, enum gw_sigv4_reason reason,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Empties err (status OK, no reason, no message); NULL is fine. */
void gw_sigv4_err_reset(struct gw_sigv4_error *err);
/* Appends s to the message in buf (size bytes), after a space when buf is not
 * empty; what does not fit is dropped. For messages that list several faults. */
void gw_sigv4_append(char *buf, size_t size, const char *s);

/* A value from the request made safe to echo in a message: at most max bytes,
 * printable ASCII only ('?' for the rest), "..." when cut. Always NUL-terminated. */
void gw_sigv4_echo(const char *p, size_t n, size_t max, char *out, size_t out_size);

#endif
