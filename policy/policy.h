/*
 * policy.h - the AWS IAM policy language: the only door into policy/.
 *
 * A pure library in three stages, each with its own types (the Cedar shape):
 *
 *   policy_compile()   JSON text -> validated, compiled, immutable `struct policy`
 *                      (errors and warnings carry the JSON path of the fault)
 *   policy_evaluate()  one request against a set of compiled policies of several
 *                      types -> Allow | ExplicitDeny | ImplicitDeny, with the
 *                      statements that matched and which policy type decided
 *   policy_explain_*() turn a result into words for people, logs and AccessDenied
 *
 * No I/O, no globals, no locks, no threads. A compiled policy never changes after
 * policy_compile() returns, so any number of threads may evaluate against it at
 * once; it is reference-counted so a newer IAM snapshot can replace it while old
 * requests still hold it. policy_evaluate() does not allocate and never fails
 * open: on any internal doubt it answers a deny.
 *
 * Strings crossing this border from requests are length-counted slices
 * (struct policy_str): they need not be NUL-terminated.
 */
#ifndef TASKGATE_POLICY_H
#define TASKGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes returned by functions of this module. */
enum policy_status {
	POLICY_OK = 0,
	POLICY_ERR_MALFORMED = -1, /* AWS: MalformedPolicyDocument */
	POLICY_ERR_LIMIT = -2,     /* AWS: LimitExceeded (document over the size limit) */
	POLICY_ERR_NOMEM = -3,
	POLICY_ERR_INVALID_ARG = -4,
};

enum policy_type {
	POLICY_IDENTITY = 0, /* identity-based, inline or managed */
	POLICY_RESOURCE,     /* resource-based; names a Principal */
	POLICY_BOUNDARY,     /* permissions boundary of a user or role */
	POLICY_SESSION,      /* session policy passed when a role session was made */
	POLICY_SCP,          /* organisation guardrail: never grants, only limits */
	POLICY_TRUST,        /* a role's trust policy: resource-based, on the role */
	POLICY_TYPE_COUNT
};

enum policy_decision {
	POLICY_IMPLICIT_DENY = 0, /* zero value: a result never initialised is a deny */
	POLICY_ALLOW,
	POLICY_EXPLICIT_DENY,
};

/* What a document is being compiled as. */
struct policy_options {
	enum policy_type type;
	bool managed;      /* identity/boundary policy stored as a managed policy: must be
	                      Version 2012-10-17; managed size limit */
	size_t size_limit; /* 0: AWS's default for the type (see policy_default_size_limit) */
	const char *id;    /* name used in explanations (copied); NULL: "" */
};

/* AWS's default size limit for a document of this kind, in characters, and
 * whether white space counts towards it (it does only for guardrails). */
size_t policy_default_size_limit(enum policy_type type, bool managed, bool *whitespace_counts);

/* Diagnostics from compilation: errors make the document invalid, warnings flag
 * what AWS accepts but is almost surely a mistake. */
enum policy_severity { POLICY_SEV_ERROR, POLICY_SEV_WARNING };

struct policy_diag {
	enum policy_severity severity;
	char path[160]; /* JSON path, e.g. "Statement[2].Condition.StringLikee" ("" = whole doc) */
	char message[256]; /* for a person, e.g. "unknown condition operator" */
};

struct policy_diags {
	struct policy_diag *items; /* owned; freed by policy_diags_free */
	size_t count;
	size_t cap;
	size_t errors;
	size_t warnings;
};

void policy_diags_init(struct policy_diags *d);
void policy_diags_free(struct policy_diags *d);

struct policy; /* compiled, immutable, reference-counted */

/*
 * Parses and validates `json` (len bytes, need not be NUL-terminated) as a policy
 * of opts->type. On success returns POLICY_OK and a policy holding one reference in
 * *out. On failure returns POLICY_ERR_MALFORMED or POLICY_ERR_LIMIT (with at least
 * one error in diags) or POLICY_ERR_NOMEM, and *out is NULL. Warnings are added to
 * diags in both cases. diags may be NULL when the caller does not want them.
 */
int policy_compile(const char *json, size_t len, const struct policy_options *opts,
                   struct policy **out, struct policy_diags *diags);

struct policy *policy_ref(struct policy *p); /* returns p; thread-safe */
void policy_unref(struct policy *p);         /* frees at zero; NULL is fine; thread-safe */

enum policy_type policy_type_of(const struct policy *p);
const char *policy_id(const struct policy *p);
const char *policy_version(const struct policy *p); /* "2012-10-17" or "2008-10-17" */
size_t policy_statement_count(const struct policy *p);
const char *policy_statement_sid(const struct policy *p, size_t index); /* "" if none */

/* ---- requests ---- */

struct policy_str {
	const char *p;
	size_t n;
};

/* One condition key of the request context. A single-valued key has one value; a
 * multi-valued key (aws:TagKeys, aws:CalledVia, ...) may have any number, and zero
 * values means present but empty. Key names compare case-insensitively. */
struct policy_ctx_entry {
	struct policy_str key;
	const struct policy_str *values;
	size_t nvalues;
};

enum policy_principal_kind {
	POLICY_PRINCIPAL_AWS = 0,   /* IAM user, role session, account root */
	POLICY_PRINCIPAL_SERVICE,   /* e.g. ecs-tasks.amazonaws.com (trust policies) */
	POLICY_PRINCIPAL_FEDERATED, /* web identity / SAML provider (trust policies) */
	POLICY_PRINCIPAL_ANONYMOUS,
};

struct policy_principal {
	enum policy_principal_kind kind;
	/* AWS: the caller's ARN (arn:aws:iam::A:user/u, arn:aws:sts::A:assumed-role/r/s,
	 * arn:aws:iam::A:root). SERVICE: the service name. FEDERATED: the provider
	 * (issuer URL or provider ARN). */
	struct policy_str arn;
	/* For a role session, the role's ARN (what AWS puts in aws:PrincipalArn);
	 * empty otherwise. */
	struct policy_str role_arn;
	/* The principal's 12-digit account (empty for SERVICE/FEDERATED). */
	struct policy_str account;
	/* The principal has a permissions boundary (a Deny with NotPrincipal then
	 * always applies to it). */
	bool has_boundary;
};

struct policy_request {
	struct policy_principal principal;
	struct policy_str action;   /* "ecs:RunTask" */
	struct policy_str resource; /* an ARN, or "*" */
	const struct policy_ctx_entry *context;
	size_t ncontext;
};

/* One policy taking part in a decision. */
struct policy_input {
	const struct policy *policy;
	unsigned level; /* for POLICY_SCP: the organisation level (root 0, OUs, account) */
};

#define POLICY_MAX_MATCHES 32

/* Limits of one evaluation; a request beyond them is refused with
 * POLICY_ERR_INVALID_ARG (and so denied), never evaluated in part. */
#define POLICY_MAX_INPUTS  1024 /* policies in one decision */
#define POLICY_MAX_CONTEXT 1024 /* context keys of one request */
#define POLICY_MAX_ACTION  256  /* bytes of the action name */

struct policy_match {
	const struct policy *policy; /* borrowed from the inputs */
	uint32_t statement;          /* index in the document's Statement list */
	bool allow;                  /* the statement's Effect */
};

struct policy_result {
	enum policy_decision decision;
	/*
	 * The policy type that decided:
	 *  ALLOW:          POLICY_IDENTITY or POLICY_RESOURCE / POLICY_TRUST (what granted)
	 *  EXPLICIT_DENY:  the type holding the first matching Deny
	 *  IMPLICIT_DENY:  the type that failed to allow (POLICY_SCP with scp_level,
	 *                  POLICY_BOUNDARY, POLICY_SESSION, or POLICY_IDENTITY when
	 *                  nothing granted at all)
	 */
	enum policy_type decided_by;
	unsigned scp_level;
	/* Every statement whose Action, Resource, Principal and Condition all matched,
	 * Allow and Deny alike, in input order (at most POLICY_MAX_MATCHES kept;
	 * total_matches counts them all). */
	struct policy_match matches[POLICY_MAX_MATCHES];
	size_t nmatches;
	size_t total_matches;
	/* The statement that decided: the first matching Deny (EXPLICIT_DENY), or
	 * the Allow that granted (ALLOW); has_decider is false for IMPLICIT_DENY.
	 * Kept even when matches[] overflowed. */
	struct policy_match decider;
	bool has_decider;
};

/*
 * Evaluates req against the n inputs following AWS's evaluation logic (one
 * account, and the cross-account rule when the resource's account differs from
 * the principal's). Policies of type POLICY_TRUST are treated as resource-based.
 * The principal has a permissions boundary when principal.has_boundary is set
 * or a POLICY_BOUNDARY input is given (then a boundary must allow); a session
 * policy applies when a POLICY_SESSION input is given.
 * Never allocates. Returns POLICY_OK, or POLICY_ERR_INVALID_ARG (then *out says
 * POLICY_IMPLICIT_DENY) for a NULL pointer, a slice with a NULL pointer and a
 * non-zero length, an empty action, or a request beyond the limits above.
 */
int policy_evaluate(const struct policy_input *inputs, size_t n, const struct policy_request *req,
                    struct policy_result *out);

/* ---- words ---- */

const char *policy_type_name(enum policy_type t); /* "identity", "resource", ... */
const char *
policy_decision_name(enum policy_decision d); /* "Allow", "ExplicitDeny", "ImplicitDeny" */
int policy_type_from_name(const char *name, enum policy_type *out); /* 0 or -1 */

/*
 * A one-paragraph explanation of a result, e.g.
 *   "ExplicitDeny: statement 'DenyProd' (#1) of identity policy 'orders' denies."
 *   "ImplicitDeny: no permissions boundary allows ecs:RunTask."
 * Writes at most n bytes including the NUL; returns the length it needed (as
 * snprintf does).
 */
size_t policy_explain(const struct policy_result *r, const struct policy_request *req, char *buf,
                      size_t n);

/* The words AWS uses for the kind of deny in an AccessDenied message, e.g.
 * "no identity-based policy allows", "an explicit deny in an identity-based
 * policy", "no permissions boundary allows", "an explicit deny in a service
 * control policy". "" for an Allow; never NULL. */
const char *policy_deny_reason(const struct policy_result *r);

/*
 * The whole AccessDenied message as AWS words it, e.g.
 *   "User: arn:aws:sts::111122223333:assumed-role/r/s is not authorized to
 *    perform: ecs:RunTask on resource: arn:... because no identity-based policy
 *    allows the ecs:RunTask action"
 *   "... on resource: arn:... with an explicit deny in an identity-based policy"
 * Request text is copied with control characters escaped (\xNN). For an Allow
 * it writes "". Writes at most n bytes including the NUL; returns the length
 * it needed (as snprintf does).
 */
size_t policy_deny_message(const struct policy_result *r, const struct policy_request *req,
                           char *buf, size_t n);

#endif
