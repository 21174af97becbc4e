/*
 * sigv4.h - verification of AWS Signature Version 4 (private to gateway/).
 *
 * A caller of the ECS or STS API proves who it is by signing the request with
 * a secret access key it shares with us: the Authorization header
 * (`AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/ecs/aws4_request,
 * SignedHeaders=host;x-amz-date, Signature=<64 hex>`), or the same pieces in the
 * query string of a presigned URL (X-Amz-Algorithm, X-Amz-Credential, ...).
 * We rebuild the canonical request exactly as AWS and botocore build it, derive
 * the signing key from the secret, and compare signatures in constant time.
 *
 * Verification is two calls, so the caller can look up the secret in between:
 *
 *   gw_sigv4_parse   request -> struct gw_sigv4_auth (who claims to sign, the
 *                    scope, the signed header list, the time, the token); pure
 *                    syntax, no secret, no allocation;
 *   (the caller finds the access key id; an unknown one is
 *    gw_sigv4_fail_unknown_key)
 *   gw_sigv4_verify  auth + request + credential + expectations -> OK or an
 *                    error: the time window, the credential scope, the
 *                    credential's state and session token, the payload hash,
 *                    the signature.
 *
 * This module knows nothing of the server: the request is described by slices
 * the server already holds (method, the path exactly as on the wire, the raw
 * query, the headers as received, the body) and the time is passed in, so tests
 * freeze the clock. The path must be the undecoded one: a server that
 * percent-decodes the URL before handing it over breaks every signature over an
 * encoded path.
 *
 * Every refusal has a status (the family of AWS error code, see
 * gw_sigv4_wire_error for the code and HTTP status in each protocol), a reason
 * (the precise rule, for logs and tests) and a message worded as AWS words it.
 * Messages never contain the secret, a derived key, the computed signature, the
 * session token nor the caller's signature; values echoed from the request
 * (a region, an algorithm name) are cut short and reduced to printable ASCII.
 * See docs/sigv4.md.
 */
#ifndef TASKGATE_GATEWAY_SIGV4_H
#define TASKGATE_GATEWAY_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The family of a refusal; each maps to one AWS error code per protocol. */
enum gw_sigv4_status {
	GW_SIGV4_OK = 0,
	GW_SIGV4_ERR_MISSING = -1,    /* no signature at all: MissingAuthenticationToken */
	GW_SIGV4_ERR_INCOMPLETE = -2, /* a signature we cannot read: IncompleteSignature */
	GW_SIGV4_ERR_SIGNATURE = -3,  /* read but wrong: InvalidSignature / SignatureDoesNotMatch */
	GW_SIGV4_ERR_INVALID_KEY = -4, /* unknown or revoked key, bad session token:
	                                  UnrecognizedClient / InvalidClientTokenId */
	GW_SIGV4_ERR_EXPIRED_KEY = -5, /* temporary credentials past their expiry: ExpiredToken */
	GW_SIGV4_ERR_NOMEM = -6,       /* out of memory: the request fails with 503 */
	GW_SIGV4_ERR_ARG = -7,         /* a NULL pointer or impossible size from the caller */
};

/* The precise rule that refused a request. */
enum gw_sigv4_reason {
	GW_SIGV4_R_NONE = 0,
	GW_SIGV4_R_NO_AUTH,          /* neither Authorization nor presigned query parameters */
	GW_SIGV4_R_ALGORITHM,        /* an algorithm other than AWS4-HMAC-SHA256 */
	GW_SIGV4_R_SYNTAX,           /* Authorization components not key=value, or unknown */
	GW_SIGV4_R_MISSING_PARAM,    /* Credential, SignedHeaders, Signature or the date absent */
	GW_SIGV4_R_DUPLICATE,        /* a component, header or auth parameter given twice */
	GW_SIGV4_R_CREDENTIAL,       /* Credential is not keyid/date/region/service/term */
	GW_SIGV4_R_SIGNED_HEADERS,   /* SignedHeaders not ascending lower-case names */
	GW_SIGV4_R_DATE_FORMAT,      /* X-Amz-Date or Date is not a valid timestamp */
	GW_SIGV4_R_EXPIRES,          /* X-Amz-Expires absent or outside 1..604800 */
	GW_SIGV4_R_ENCODING,         /* a bad %-escape in the query string */
	GW_SIGV4_R_LIMIT,            /* the request is over one of the limits below */
	GW_SIGV4_R_BOTH,             /* signed in the header and in the query at once */
	GW_SIGV4_R_HOST_UNSIGNED,    /* host is not among the signed headers */
	GW_SIGV4_R_DATE_UNSIGNED,    /* the header carrying the time is not signed */
	GW_SIGV4_R_TOKEN_UNSIGNED,   /* a temporary key's token header is not signed */
	GW_SIGV4_R_SKEW_PAST,        /* the request time is more than 5 minutes ago */
	GW_SIGV4_R_SKEW_FUTURE,      /* the request time is more than 5 minutes ahead */
	GW_SIGV4_R_PRESIGN_EXPIRED,  /* X-Amz-Date + X-Amz-Expires has passed */
	GW_SIGV4_R_SCOPE,            /* region, service, terminator or date of the scope */
	GW_SIGV4_R_HEADER_ABSENT,    /* a signed header is not in the request */
	GW_SIGV4_R_PAYLOAD_HASH,     /* x-amz-content-sha256 is not the body's hash */
	GW_SIGV4_R_UNSIGNED_PAYLOAD, /* UNSIGNED-PAYLOAD where the service refuses it */
	GW_SIGV4_R_MISMATCH,         /* the signature is not the one we compute */
	GW_SIGV4_R_UNKNOWN_KEY,      /* no such access key id (the caller's lookup) */
	GW_SIGV4_R_REVOKED,          /* the key exists but was revoked */
	GW_SIGV4_R_TOKEN_MISSING,    /* a temporary key came without its session token */
	GW_SIGV4_R_TOKEN_MISMATCH,   /* the session token is not the one issued with the key */
	GW_SIGV4_R_TOKEN_UNEXPECTED, /* a session token came with a long-term key */
	GW_SIGV4_R_EXPIRED,          /* temporary credentials past their expiry */
	GW_SIGV4_R_NOMEM,
	GW_SIGV4_R_ARG,
};

struct gw_sigv4_error {
	int code; /* an enum gw_sigv4_status */
	enum gw_sigv4_reason reason;
	char message[512]; /* for a person, AWS's wording; safe to log */
};

/* A short, stable name of a reason ("skew_past", "mismatch", ...) for logs. */
const char *gw_sigv4_reason_name(enum gw_sigv4_reason reason);

/*
 * Hard limits, checked before anything is copied or allocated. A request over
 * one is refused with GW_SIGV4_ERR_INCOMPLETE / GW_SIGV4_R_LIMIT.
 */
#define GW_SIGV4_MAX_HEADERS        128   /* header fields in the request */
#define GW_SIGV4_MAX_HEADER_BYTES   16384 /* sum of names and values */
#define GW_SIGV4_MAX_PATH           4096  /* bytes of the raw path */
#define GW_SIGV4_MAX_QUERY          8192  /* bytes of the raw query string */
#define GW_SIGV4_MAX_QUERY_PARAMS   256   /* name[=value] components of the query */
#define GW_SIGV4_MAX_SIGNED_HEADERS 64    /* names in SignedHeaders */
#define GW_SIGV4_MAX_SIGNED_LIST    2048  /* bytes of the SignedHeaders value */
#define GW_SIGV4_MAX_KEY_ID         128   /* bytes of an access key id */
#define GW_SIGV4_MAX_SCOPE_PART     64    /* bytes of date, region, service, terminator */
#define GW_SIGV4_MAX_TOKEN          4096  /* bytes of X-Amz-Security-Token */
#define GW_SIGV4_MAX_SECRET         256   /* bytes of a secret access key */
#define GW_SIGV4_MAX_METHOD         16    /* bytes of the method */

/* How far the request time may be from ours, either way (AWS: 5 minutes). */
#define GW_SIGV4_SKEW_SECONDS 300
/* The longest a presigned URL may live (X-Amz-Expires), as in AWS: 7 days. */
#define GW_SIGV4_MAX_EXPIRES 604800

/* One header field as received; names match case-blind. Borrowed slices. */
struct gw_sigv4_header {
	const char *name;
	size_t name_n;
	const char *value;
	size_t value_n;
};

/*
 * The request as received. Every pointer is borrowed and need not be
 * NUL-terminated; a zero length may come with a NULL pointer.
 */
struct gw_sigv4_request {
	const char *method; /* "GET", "POST" */
	size_t method_n;
	const char *path; /* the path exactly as on the wire (undecoded), no query */
	size_t path_n;
	const char *query; /* the raw query string after '?', without '#...' */
	size_t query_n;
	const struct gw_sigv4_header *headers; /* in the order received */
	size_t n_headers;
	const unsigned char *body;
	size_t body_n;
};

enum gw_sigv4_mode {
	GW_SIGV4_MODE_HEADER = 1, /* the Authorization header */
	GW_SIGV4_MODE_QUERY,      /* a presigned URL: X-Amz-* query parameters */
};

#define GW_SIGV4_SIGNATURE_HEX 64 /* hex digits of a signature */
#define GW_SIGV4_TIMESTAMP_LEN 16 /* YYYYMMDDTHHMMSSZ */

/*
 * What a request claims, as gw_sigv4_parse read it. Owns copies of everything
 * it needs, so it does not point into the request; clear it with
 * gw_sigv4_auth_clear (the session token is wiped).
 */
struct gw_sigv4_auth {
	enum gw_sigv4_mode mode;
	char access_key_id[GW_SIGV4_MAX_KEY_ID + 1]; /* [A-Za-z0-9], 1..128 */
	/* The credential scope as the caller wrote it; checked by verify. */
	char scope_date[GW_SIGV4_MAX_SCOPE_PART + 1];
	char scope_region[GW_SIGV4_MAX_SCOPE_PART + 1];
	char scope_service[GW_SIGV4_MAX_SCOPE_PART + 1];
	char scope_terminator[GW_SIGV4_MAX_SCOPE_PART + 1];
	/* The request time, from X-Amz-Date (header or query) or Date, in the
	 * form the string to sign uses, and as seconds since the epoch. */
	char timestamp[GW_SIGV4_TIMESTAMP_LEN + 1];
	int64_t request_time;
	int64_t expires; /* presigned: X-Amz-Expires seconds; 0 in header mode */
	/* SignedHeaders: ascending lower-case names separated by ';'. */
	char signed_headers[GW_SIGV4_MAX_SIGNED_LIST + 1];
	size_t signed_headers_n;
	size_t n_signed;
	/* The caller's signature as sent (at most 64 characters kept);
	 * signature_n is the length sent, which may exceed 64. */
	char signature[GW_SIGV4_SIGNATURE_HEX + 1];
	size_t signature_n;
	/* X-Amz-Security-Token, decoded (query) or trimmed (header). */
	bool has_token;
	bool token_signed; /* the header is signed, or the token is in the query */
	char token[GW_SIGV4_MAX_TOKEN + 1];
	size_t token_n;
};

/*
 * Reads the signature of req into *auth. Refuses (status, reason, message in
 * err) what no valid signature can look like: no signature at all
 * (GW_SIGV4_ERR_MISSING), an unreadable one (GW_SIGV4_ERR_INCOMPLETE:
 * unsupported algorithm, missing or duplicate components, a malformed
 * Credential, SignedHeaders or timestamp, bad X-Amz-Expires, a bad %-escape,
 * a request over a limit), an access key id with characters no key has
 * (GW_SIGV4_ERR_INVALID_KEY), and an unsigned host or timestamp header, or
 * both header and query signatures (GW_SIGV4_ERR_SIGNATURE). Never allocates.
 */
int gw_sigv4_parse(const struct gw_sigv4_request *req, struct gw_sigv4_auth *auth,
                   struct gw_sigv4_error *err);

/* Wipes *auth (the session token included); NULL is fine. */
void gw_sigv4_auth_clear(struct gw_sigv4_auth *auth);

/* Fills err for an access key id the caller could not find (it decides). */
void gw_sigv4_fail_unknown_key(struct gw_sigv4_error *err);

enum gw_sigv4_key_kind {
	GW_SIGV4_KEY_LONG_TERM = 1, /* a user's access key (AKIA...): no session token */
	GW_SIGV4_KEY_TEMPORARY,     /* issued credentials (ASIA...): token required */
};

/* The credential the access key id names, as the caller stored it. Borrowed. */
struct gw_sigv4_credential {
	const unsigned char *secret; /* the secret access key, 1..GW_SIGV4_MAX_SECRET bytes */
	size_t secret_n;
	enum gw_sigv4_key_kind kind;
	const unsigned char *session_token; /* temporary: the token issued with the key */
	size_t session_token_n;
	int64_t expires_at; /* temporary: refused from this second on; 0 = no expiry */
	bool revoked;       /* refused whatever else holds */
};

/* What the endpoint serves, and the time. */
struct gw_sigv4_expect {
	const char *region;          /* the configured region, e.g. "us-east-1" */
	const char *service;         /* "ecs" or "sts" */
	bool allow_unsigned_payload; /* accept x-amz-content-sha256: UNSIGNED-PAYLOAD
	                                (false for ECS and STS) */
	int64_t now;                 /* seconds since the epoch */
};

/*
 * Verifies a parsed signature against the request and the stored credential,
 * in this order (the first failure is reported):
 *   1. the time: header signatures within GW_SIGV4_SKEW_SECONDS of now either
 *      way (a difference of exactly 300 s is accepted); presigned URLs from 300 s
 *      before X-Amz-Date until X-Amz-Date + X-Amz-Expires inclusive;
 *   2. the scope: region, service, "aws4_request", and the date of the request
 *      time (one message lists every mismatch, as AWS does);
 *   3. the credential: revoked, then expired (now >= expires_at);
 *   4. the session token: a temporary key needs one, signed, equal (constant
 *      time) to the stored one; a long-term key must come without;
 *   5. the payload: x-amz-content-sha256, when present, must be the SHA-256 of
 *      the body, or UNSIGNED-PAYLOAD (signed) where expect allows it;
 *   6. every signed header is present; the signature, compared in constant time.
 * Derived keys and the computed signature are wiped on every path.
 */
int gw_sigv4_verify(const struct gw_sigv4_auth *auth, const struct gw_sigv4_request *req,
                    const struct gw_sigv4_credential *cred, const struct gw_sigv4_expect *expect,
                    struct gw_sigv4_error *err);

/* Constant-time equality of the request's session token and a stored one
 * (time depends on stored_n only). False when the request has no token. */
bool gw_sigv4_token_equal(const struct gw_sigv4_auth *auth, const void *stored, size_t stored_n);

/* ---- the steps, for known-answer tests and for signing our own requests ---- */

/*
 * The canonical request for a parsed auth, NUL-terminated in a malloc'd
 * buffer (*out, *out_n; free with free()). The payload line is the
 * x-amz-content-sha256 header's value when the request has one, else the hex
 * SHA-256 of the body (verify checks the header first). GW_SIGV4_ERR_SIGNATURE
 * when a signed header is absent from the request.
 */
int gw_sigv4_canonical_request(const struct gw_sigv4_auth *auth, const struct gw_sigv4_request *req,
                               char **out, size_t *out_n, struct gw_sigv4_error *err);

/* "AWS4-HMAC-SHA256\n<timestamp>\n<date>/<region>/<service>/<term>\n<hex sha256>"
 * into out (NUL-terminated); GW_SIGV4_ERR_ARG when out_size is too small. */
int gw_sigv4_string_to_sign(const struct gw_sigv4_auth *auth, const char *creq, size_t creq_n,
                            char *out, size_t out_size);

/*
 * The signature of string_to_sign under the key derived from secret for
 * date/region/service/aws4_request: 64 lower-case hex digits + NUL in out
 * (out_size >= 65). Intermediate keys are wiped.
 */
int gw_sigv4_sign(const unsigned char *secret, size_t secret_n, const char *date,
                  const char *region, const char *service, const char *string_to_sign, size_t sts_n,
                  char *out, size_t out_size);

/* ---- errors on the wire ---- */

enum gw_sigv4_protocol {
	GW_SIGV4_PROTO_JSON = 1, /* AWS JSON 1.1 (ECS): codes end in "Exception" */
	GW_SIGV4_PROTO_QUERY,    /* AWS query (STS): XML error codes */
};

struct gw_sigv4_wire {
	const char *code;     /* static: "InvalidSignatureException", "SignatureDoesNotMatch" */
	unsigned http_status; /* 400, 403, 500, 503 */
};

/* The AWS error code and HTTP status for a status in a protocol; the message
 * is err->message. Unknown statuses map to InternalFailure / 500. */
struct gw_sigv4_wire gw_sigv4_wire_error(int status, enum gw_sigv4_protocol proto);

#endif
