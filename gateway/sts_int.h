/*
 * sts_int.h - what the STS files share (sts.c, sts_xml.c) and the unit
 * tests may use; not part of gateway/sts.h's contract.
 *
 * The XML writer is a growing buffer that escapes every value it is given,
 * so that no text from a request or the IAM file can change the shape of a
 * response. The form parser decodes the query protocol's
 * application/x-www-form-urlencoded parameters once, refusing malformed
 * escapes and repeated names so that the handler and the signature check
 * cannot read two different requests out of one text.
 */
#ifndef TASKGATE_GATEWAY_STS_INT_H
#define TASKGATE_GATEWAY_STS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/sts.h"

/* ISO 8601 in UTC as STS writes times: "2026-11-30T10:00:00Z" + NUL. */
#define GW_STS_TIME_LEN 24
void gw_sts_iso8601(int64_t t, char out[GW_STS_TIME_LEN]);

/* The longest session token a request may present (SigV4's own limit). */
#define GW_STS_TOKEN_LIMIT 4096

/* SHA-256 of a session token as presented; 0 or -1. */
int gw_sts_token_hash(const void *token, size_t n, unsigned char out[32]);

/* RoleSessionName's rule: 2..64 characters of [\w+=,.@-]. */
bool gw_sts_session_name_ok(const char *s, size_t n);

/* What to issue; everything borrowed. */
struct gw_sts_mint {
	const struct gw_iam_entity *role;
	const char *session_name;
	const char *session_policy_json; /* NULL: none */
	int64_t duration;                /* seconds, already bounded */
	const char *source_arn;          /* who asked */
	const char *source_identity;     /* NULL: none */
	const char *owner_task;          /* NULL: none */
	int64_t chain_depth;
	const struct store_sts_tag *tags;
	size_t n_tags;
};

/* Mints, seals and stores one set of credentials (sts_issue.c). */
int gw_sts_mint(const struct gw_sts_env *env, const struct gw_sts_mint *m,
                struct gw_sts_issued *out, struct gw_sts_error *err);

struct gw_sts_xml {
	char *p; /* owned, NUL-terminated when not oom */
	size_t n;
	size_t cap;
	bool oom; /* sticky: one failed append fails the whole document */
};

void gw_sts_xml_raw(struct gw_sts_xml *x, const char *s);
/* Appends s[0..n) escaped for XML text and attribute values: & < > " ' as
 * entities; control characters XML 1.0 cannot carry become '?'. */
void gw_sts_xml_text(struct gw_sts_xml *x, const char *s, size_t n);
/* <name>escaped value</name>; a NULL value writes nothing. */
void gw_sts_xml_elem(struct gw_sts_xml *x, const char *name, const char *value);
/* Frees and wipes (the buffer may hold a secret). */
void gw_sts_xml_free(struct gw_sts_xml *x);

#define GW_STS_PARAMS_MAX 256

struct gw_sts_param {
	const char *name; /* decoded, NUL-terminated, in the form's buffer */
	const char *value;
	size_t value_n;
};

struct gw_sts_form {
	char *buf; /* owned: decoded names and values; wiped when freed */
	size_t buf_n;
	struct gw_sts_param params[GW_STS_PARAMS_MAX];
	size_t n;
};

/* 0, or -1 with why filled (malformed escape, repeated name, too many). */
int gw_sts_form_parse(const char *text, size_t n, struct gw_sts_form *out, char *why,
                      size_t why_size);
void gw_sts_form_free(struct gw_sts_form *f);
/* The value of a parameter by exact name, or NULL. */
const char *gw_sts_form_get(const struct gw_sts_form *f, const char *name);

/* ---- the STS call (sts.c decodes, sts_call.c decides and answers) ---- */

#define POLICY_ARNS_MAX 10
#define EXTERNAL_ID_MAX 1224
#define WEB_TOKEN_MAX   20000
#define ROLE_ARN_MAX    2048
/* Merged session policies (inline + managed) may pass AWS's inline limit. */
#define MERGED_POLICY_MAX (64u * 1024u)

enum gw_sts_op { OP_GET_CALLER_IDENTITY = 0, OP_ASSUME_ROLE, OP_ASSUME_ROLE_WEB };

struct gw_sts_tag {
	const char *key;
	const char *value;
	bool transitive;
};

struct gw_sts_call {
	struct gw_sts_form form;
	enum gw_sts_op op;
	/* validated parameters, pointing into form */
	const char *role_arn;
	const char *session_name;
	const char *policy;
	const char *external_id;
	const char *source_identity;
	const char *web_token;
	size_t web_token_n;
	bool has_duration;
	int64_t duration;
	const char *policy_arns[POLICY_ARNS_MAX];
	size_t n_policy_arns;
	struct gw_sts_tag tags[STORE_STS_TAGS_MAX];
	size_t n_tags;
	const char *transitive[STORE_STS_TAGS_MAX];
	size_t n_transitive;

	/* authorize */
	bool authorized;
	struct gw_iam *iam; /* one reference */
	const struct gw_iam_entity *role;
	char *session_policy; /* what the session keeps: inline and managed, merged */
	int64_t chain_depth;
	int64_t final_duration;
	struct gw_jwt_claims claims; /* web identity */
	bool has_claims;
	char provider_arn[GW_IAM_ISSUER_URL_MAX + 64];
	/* the session's tags: inherited transitive ones, request tags, claim tags */
	struct store_sts_tag session_tags[STORE_STS_TAGS_MAX];
	size_t n_session_tags;
	struct store_sts_session inherited; /* the caller's session, for its tags */
	bool has_inherited;
};

/* An <ErrorResponse> into r (r->action kept); returns -1 so a step can
 * `return gw_sts_fail(...)`. */
__attribute__((format(printf, 5, 6))) int gw_sts_fail(struct gw_sts_response *r,
                                                      const char *request_id, int status,
                                                      const char *code, const char *f, ...);
#define GW_STS_VALIDATION(resp, rid, ...)                                                          \
	gw_sts_fail(resp, rid, 400, "ValidationError", __VA_ARGS__)
/* Moves the finished document into r->body (nothing on out of memory). */
void gw_sts_take_xml(struct gw_sts_response *r, struct gw_sts_xml *x);

#endif
