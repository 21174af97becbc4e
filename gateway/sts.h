/*
 * sts.h - the STS actions over AWS's query protocol, and the temporary
 * credentials they issue (private to gateway/).
 *
 * `aws sts ... --endpoint-url` and the SDKs speak the query protocol: a
 * form-encoded POST body (or query string) with Action and
 * Version=2011-06-15, answered with XML in the namespace
 * https://sts.amazonaws.com/doc/2011-06-15/ and errors as <ErrorResponse>.
 * Three actions:
 *
 *   GetCallerIdentity          who the signed caller is
 *   AssumeRole                 a signed caller becomes a role session: the
 *                              caller's identity policies must allow
 *                              sts:AssumeRole on the role and the role's trust
 *                              policy must allow the caller
 *   AssumeRoleWithWebIdentity  an unsigned request with a JWT from a configured
 *                              issuer becomes a role session when the role's
 *                              trust policy allows the issuer as a federated
 *                              principal with conditions on its claims
 *
 * Issued credentials are an ASIA access key id, a 40-character secret (sealed
 * in the store with the key box, AAD = key id) and a random 256-bit session
 * token (base64; the store keeps only its SHA-256). gw_sts_credentials turns
 * a key id and token presented on a later request back into the role-session
 * principal, carrying its session policy and tags into every decision.
 * docs/identity.md lists parameters, limits and error codes.
 */
#ifndef TASKGATE_GATEWAY_STS_H
#define TASKGATE_GATEWAY_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/iam.h"
#include "gateway/keybox.h"
#include "gateway/principal.h"
#include "gateway/secret.h"
#include "store/store.h"

#define GW_STS_VERSION             "2011-06-15"
#define GW_STS_NAMESPACE           "https://sts.amazonaws.com/doc/2011-06-15/"
#define GW_STS_DURATION_MIN        900
#define GW_STS_DURATION_DEFAULT    3600
#define GW_STS_CHAINED_MAX         3600 /* role chaining: AWS caps sessions at one hour */
#define GW_STS_SESSION_NAME_MIN    2
#define GW_STS_SESSION_NAME_MAX    64
#define GW_STS_POLICY_MAX          2048 /* characters of a session policy (AWS: packed) */
#define GW_STS_SOURCE_IDENTITY_MAX 64
#define GW_STS_TOKEN_BYTES         32 /* random bytes of a session token */
#define GW_STS_TOKEN_MAX           64 /* characters of its base64 form, with room */
#define GW_STS_BODY_MAX            (64u * 1024u)
#define GW_STS_CHAIN_DEPTH_MAX     10
#define GW_STS_DECISIONS_MAX       8 /* questions one STS call asks (at most 6) */

/* What an STS call needs from the server. All borrowed. */
struct gw_sts_env {
	struct store *store;
	const struct gw_keybox *box;
	struct gw_iam *iam;     /* the current snapshot (the caller holds a reference) */
	int64_t now;            /* epoch seconds */
	const char *region;     /* for aws:RequestedRegion; NULL: absent */
	const char *request_id; /* echoed in <RequestId> */
	const char *source_ip;  /* of the caller, numeric; may be NULL */
	bool secure_transport;
	/* sts.default_duration_s and sts.max_duration_s; 0: 3600 and 43200. */
	unsigned default_duration_s;
	unsigned max_duration_s;
};

struct gw_request_decision;

/* The response to one STS call. */
struct gw_sts_response {
	int http_status;        /* 200, 400, 403, 500 */
	const char *error_code; /* AWS's code ("AccessDenied"), NULL on success */
	const char *action;     /* the IAM action decided ("sts:AssumeRole"), for the audit */
	char message[1024];     /* for the audit log and the <Message>; never a secret */
	char *body;             /* malloc'd XML; free with gw_sts_response_free */
	size_t body_n;
	char issued_key_id[32]; /* the ASIA key id issued, "" if none (for the audit) */
};

void gw_sts_response_free(struct gw_sts_response *r); /* frees body; NULL-safe */

/* The query protocol's error document (<ErrorResponse> with Type, Code,
 * Message and RequestId, values escaped), as botocore's parser reads it: the
 * one STS answers its errors with, and the authenticate step its refusals
 * of query-protocol requests. malloc'd, its length in *n; NULL when out of
 * memory. */
char *gw_sts_error_xml(int status, const char *code, const char *message, const char *request_id,
                       size_t *n);

/*
 * Handles one STS call. params is the form-encoded text (the POST body of
 * type application/x-www-form-urlencoded, or the query string), params_n its
 * length. caller is the authenticated principal, or NULL when the request was
 * not signed (then only AssumeRoleWithWebIdentity is served; the others get
 * MissingAuthenticationToken). Always fills *out with a complete response,
 * errors included; returns 0, or -1 when even the error response could not be
 * built (out of memory: send a bare 500).
 */
int gw_sts_handle(const struct gw_sts_env *env, const struct gw_principal *caller,
                  const char *params, size_t params_n, struct gw_sts_response *out);

/* Whether params (form-encoded) ask for AssumeRoleWithWebIdentity, the one
 * action served without a signature. */
bool gw_sts_is_unsigned_action(const char *params, size_t params_n);

/*
 * The same call in the three steps of the request road (gw_sts_handle is
 * these three in a row):
 *
 *   gw_sts_call_decode     parses and validates the parameters (ValidationError,
 *                          InvalidAction, MissingAction, ... into *resp)
 *   gw_sts_call_authorize  decides: GetCallerIdentity needs no permission;
 *                          AssumeRole asks the caller's identity policies for
 *                          sts:AssumeRole on the role and the role's trust
 *                          policy (plus sts:TagSession / sts:SetSourceIdentity
 *                          when tags or a source identity are asked for);
 *                          AssumeRoleWithWebIdentity verifies the token and asks
 *                          the trust policy for the federated principal. Every
 *                          question is appended to dec[0..cap) (*n_dec), the
 *                          way request.h records decisions.
 *   gw_sts_call_execute    issues the credentials and writes the XML answer.
 *
 * Each returns 0 to go on, or -1 with a complete error response in *resp
 * (resp->body NULL only when out of memory: send a bare 500).
 */
struct gw_sts_call; /* owned by whoever decoded it */

int gw_sts_call_decode(const char *params, size_t params_n, const char *request_id,
                       struct gw_sts_call **out, struct gw_sts_response *resp);
/* "GetCallerIdentity", "AssumeRole", "AssumeRoleWithWebIdentity" (static). */
const char *gw_sts_call_action(const struct gw_sts_call *c);
/* The parameters as compact JSON for the audit record, with
 * WebIdentityToken, TokenCode and every X-Amz-* parameter left out;
 * malloc'd, NULL when out of memory. */
char *gw_sts_call_audit_params(const struct gw_sts_call *c);
int gw_sts_call_authorize(const struct gw_sts_env *env, const struct gw_principal *caller,
                          struct gw_sts_call *c, struct gw_request_decision *dec, size_t cap,
                          size_t *n_dec, struct gw_sts_response *resp);
int gw_sts_call_execute(const struct gw_sts_env *env, const struct gw_principal *caller,
                        struct gw_sts_call *c, struct gw_sts_response *resp);
void gw_sts_call_free(struct gw_sts_call *c); /* wipes the token; NULL is fine */

/* ---- temporary credentials on later requests ---- */

enum gw_sts_status {
	GW_STS_OK = 0,
	GW_STS_ERR_UNKNOWN_KEY = -1, /* no such ASIA key (AWS: InvalidClientTokenId) */
	GW_STS_ERR_BAD_TOKEN = -2,   /* token missing or not the key's (InvalidClientTokenId) */
	GW_STS_ERR_EXPIRED = -3,     /* past expires_at (ExpiredToken) */
	GW_STS_ERR_REVOKED = -4,     /* revoked (InvalidClientTokenId) */
	GW_STS_ERR_ROLE_GONE = -5,   /* the role no longer exists (InvalidClientTokenId) */
	GW_STS_ERR_STORE = -6,
	GW_STS_ERR_KEY = -7, /* the secret does not open with the master key */
	GW_STS_ERR_NOMEM = -8,
	GW_STS_ERR_STATE = -9,   /* the stored session policy no longer compiles */
	GW_STS_ERR_DENIED = -10, /* issuing: the role's trust policy does not allow it */
	GW_STS_ERR_ARG = -11,    /* issuing: a bad role, name, policy or duration */
};

struct gw_sts_error {
	int code;          /* an enum gw_sts_status */
	char message[384]; /* for a person; never a secret or token */
};

/*
 * The temporary credentials with this key id and session token: on GW_STS_OK
 * *principal is the role session (kind ROLE_SESSION, transport SIGV4, session
 * policy and tags from the session, a reference on env->iam; free with
 * gw_principal_free) and *secret the secret access key to verify the
 * signature with (free with gw_secret_free). The token is compared by its
 * SHA-256 in constant time. Either out pointer may be NULL when not wanted.
 */
int gw_sts_credentials(const struct gw_sts_env *env, const char *key_id, size_t key_n,
                       const char *token, size_t token_n, struct gw_principal **principal,
                       struct gw_secret *secret, struct gw_sts_error *err);

/* AWS's error code for a gw_sts_credentials status, e.g. "ExpiredToken". */
const char *gw_sts_status_code(int status);

/* ---- issuing without a request: task role credentials ---- */

/* Credentials just issued. The secret and the token are secrets: clear with
 * gw_sts_issued_clear, never log them. */
struct gw_sts_issued {
	char access_key_id[GW_ACCESS_KEY_ID_LEN + 1]; /* "ASIA..." */
	struct gw_secret secret;                      /* 40 characters, NUL-terminated */
	struct gw_secret token;                       /* the session token, NUL-terminated */
	int64_t issued_at;                            /* epoch seconds */
	int64_t expires_at;                           /* epoch seconds */
	char expiration[24];                          /* "2026-11-30T10:00:00Z" */
	char role_arn[GW_IAM_PATH_MAX + 256];         /* arn:aws:iam::A:role/path/name */
	char assumed_role_arn[GW_IAM_PATH_MAX + 256]; /* arn:aws:sts::A:assumed-role/r/s */
	char assumed_role_id[192];                    /* AROA...:session */
};

void gw_sts_issued_clear(struct gw_sts_issued *c); /* wipes; safe to call twice */

/*
 * Mints role-session credentials for a task (the task credentials endpoint)
 * with no HTTP request in between: role_arn must name a role of env->iam
 * whose trust policy allows sts:AssumeRole for the service principal
 * ecs-tasks.amazonaws.com; session_name follows RoleSessionName's rules
 * (2..64 of [\w+=,.@-]); session_policy_json (NULL: none) is a session
 * policy; duration_s 0 means sts.default_duration_s, else 900..the role's
 * max_session_duration and env->max_duration_s; owner_task_arn (NULL: none)
 * is stored with the session so store_sts_revoke_task revokes it when the
 * task stops; tags[0..n_tags) (at most STORE_STS_TAGS_MAX) become the
 * session's principal tags (the task credentials put the task and cluster
 * ARNs there). GW_STS_OK with *out filled, or GW_STS_ERR_DENIED,
 * GW_STS_ERR_ARG, GW_STS_ERR_KEY (no master key), GW_STS_ERR_STORE,
 * GW_STS_ERR_NOMEM with err->message.
 */
int gw_sts_issue_for_task(const struct gw_sts_env *env, const char *role_arn,
                          const char *session_name, const char *session_policy_json,
                          int64_t duration_s, const char *owner_task_arn,
                          const struct store_sts_tag *tags, size_t n_tags,
                          struct gw_sts_issued *out, struct gw_sts_error *err);

#endif
