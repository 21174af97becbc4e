/*
 * principal.h - who is calling: the one struct every authentication path
 * yields (private to gateway/).
 *
 * SigV4 with a user's access key, SigV4 with temporary STS credentials, a JWT
 * bearer token, and a container host's client certificate all end as one
 * struct gw_principal. Authorization never asks how the caller signed in: it
 * reads the principal, and gw_principal_context() turns it into the global
 * condition keys AWS fills (aws:PrincipalArn, aws:userid, aws:SourceIp, ...)
 * for the policy engine.
 *
 * A principal belongs to its request: it is made by the authenticate step,
 * read by every later step and freed with the request (gw_principal_free). It
 * holds a reference on the IAM snapshot it was resolved against, so the role
 * or user it points into stays alive even if the IAM state is replaced while
 * the request runs.
 */
#ifndef TASKGATE_GATEWAY_PRINCIPAL_H
#define TASKGATE_GATEWAY_PRINCIPAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct gw_iam;
struct gw_iam_entity;

enum gw_principal_kind {
	GW_PRINCIPAL_ANONYMOUS = 0,
	GW_PRINCIPAL_USER,         /* IAM user signing with its AKIA key */
	GW_PRINCIPAL_ROLE_SESSION, /* assumed role: STS credentials, JWT sign-in, task, host */
};

enum gw_transport {
	GW_TRANSPORT_SIGV4 = 0,
	GW_TRANSPORT_SIGV4_PRESIGNED,
	GW_TRANSPORT_JWT,  /* Authorization: Bearer */
	GW_TRANSPORT_MTLS, /* container host client certificate */
	GW_TRANSPORT_NONE,
};

struct gw_principal_tag {
	char *key; /* owned */
	char *value;
};

struct gw_principal {
	enum gw_principal_kind kind;
	enum gw_transport transport;
	char *arn;          /* owned: arn:aws:iam::A:user/u or arn:aws:sts::A:assumed-role/r/s */
	char *account;      /* owned: 12 digits */
	char *role_arn;     /* owned: for a role session, arn:aws:iam::A:role/path/r; else NULL */
	char *session_name; /* owned: for a role session; else NULL */
	char *user_name;    /* owned: aws:username for users; NULL for role sessions */
	char *user_id;      /* owned: aws:userid: AIDA... for users, AROA...:session for roles */
	char *access_key_id;    /* owned: the key the request was signed with, or NULL */
	struct gw_principal_tag *tags; /* owned: principal tags (entity tags, session tags) */
	size_t ntags;
	int64_t token_issued_at; /* epoch seconds: when the credentials/token were issued; 0 */
	int64_t expires_at;      /* epoch seconds: when the credentials expire; 0 = never */
	bool mfa;
	char source_ip[64];    /* numeric */
	bool secure_transport; /* TLS */
	unsigned chain_depth;  /* role chaining: 0 from long-term creds, 1+ from a session */

	/* What authorization adds to the identity side. Owned references. */
	struct gw_iam *iam;                  /* the snapshot the entity lives in */
	const struct gw_iam_entity *entity;  /* the role or user, in iam */
	struct policy *session_policy;       /* the session policy, if the session has one */
};

void gw_principal_free(struct gw_principal *p); /* NULL is fine */

/*
 * Builders for the authentication paths. Each takes a new reference on iam,
 * copies what it needs, fills arn, account, user_id and the entity's tags,
 * and leaves transport, source address, times and MFA for the caller.
 * A role session's ARN is arn:aws:sts::<account>:assumed-role/<role>/<session>
 * (no path, as AWS writes it) and its user id "<role unique id>:<session>".
 * Return 0, or -1 when out of memory (*out NULL).
 */
int gw_principal_new_user(struct gw_iam *iam, const struct gw_iam_entity *user,
                          const char *access_key_id, struct gw_principal **out);
int gw_principal_new_role_session(struct gw_iam *iam, const struct gw_iam_entity *role,
                                  const char *session_name, struct gw_principal **out);
/* Sets a principal tag: a key already present (compared without case, as
 * IAM does) gets the new value, as session tags override the role's. */
int gw_principal_set_tag(struct gw_principal *p, const char *key, const char *value);

/*
 * The global condition keys of this principal, for policy_request.context:
 * aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid,
 * aws:username, aws:PrincipalTag/<k>, aws:SourceIp, aws:SecureTransport,
 * aws:CurrentTime, aws:EpochTime, aws:TokenIssueTime, aws:MultiFactorAuthPresent,
 * aws:MultiFactorAuthAge, aws:RequestedRegion (given), as AWS fills them
 * (keys AWS leaves absent for this kind of principal stay absent). `now` is
 * epoch seconds. The entries and their string values are written into the
 * caller's storage (struct gw_principal_ctx) so authorization allocates
 * nothing per request beyond it.
 */
#define GW_PRINCIPAL_CTX_MAX 64

struct gw_principal_ctx {
	struct policy_ctx_entry entries[GW_PRINCIPAL_CTX_MAX];
	struct policy_str values[GW_PRINCIPAL_CTX_MAX];
	size_t n;
	char buf[4096]; /* backing text for formatted values (times, flags, tag key names) */
	size_t used;
};

int gw_principal_context(const struct gw_principal *p, int64_t now, const char *region,
                         struct gw_principal_ctx *out);

/* The policy_principal view of p for policy_evaluate. The slices borrow p. */
void gw_principal_to_policy(const struct gw_principal *p, struct policy_principal *out);

#endif
