/*
 * iam.h - the account's IAM entities: the declarative IAM file, its
 * validation, applying it to the store, and the immutable snapshot the server
 * authorizes against (private to gateway/).
 *
 * Operators do not edit roles one API call at a time: they keep one JSON file
 * that is the whole truth about the account (docs/iam.md) and apply it.
 *
 *   gw_iam_file_parse()  file text -> struct gw_iam_spec, every policy compiled
 *                        with the right type, every name, limit and reference
 *                        checked; all faults reported, each with its path in
 *                        the file ("roles[2].inline_policies.orders.Statement[0]")
 *   gw_iam_apply()       spec -> store, in one transaction, all or nothing;
 *                        reports what changed ("+ role web") and hands back the
 *                        secrets it generated for new access keys, once
 *   gw_iam_export()      stored state -> the same file format (no secrets)
 *   gw_iam_load()        stored state -> struct gw_iam, the compiled,
 *                        immutable, reference-counted snapshot
 *   struct gw_iam_live   the snapshot a running server uses, replaced
 *                        atomically when the store's IAM generation moves, so
 *                        an apply takes effect without a restart
 *
 * Nothing here prints or exits; failures come back as a status with a message
 * for people (struct gw_iam_error), and a bad file as a list of diagnostics.
 */
#ifndef TASKGATE_GATEWAY_IAM_H
#define TASKGATE_GATEWAY_IAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/jwt_auth.h"
#include "gateway/keybox.h"
#include "gateway/secret.h"
#include "policy/policy.h"
#include "store/store.h"

enum gw_iam_status {
	GW_IAM_OK = 0,
	GW_IAM_ERR_INVALID = -1, /* the IAM file is invalid: see the diagnostics */
	GW_IAM_ERR_NOMEM = -2,
	GW_IAM_ERR_STORE = -3,    /* the store failed; the message says why */
	GW_IAM_ERR_CONFLICT = -4, /* the stored state changed while applying: apply again */
	GW_IAM_ERR_KEY = -5,      /* the master key is needed but missing, or wrong */
	GW_IAM_ERR_STATE = -6,    /* the stored state cannot be used (a policy, a key set) */
	GW_IAM_ERR_SPACE = -7,    /* the caller's array is too small */
	GW_IAM_ERR_NOT_FOUND = -8,
	GW_IAM_ERR_ARG = -9,
};

struct gw_iam_error {
	int code;          /* an enum gw_iam_status */
	char message[512]; /* for a person; never contains a secret */
};

/* ---- limits (AWS's where AWS has one; docs/iam.md lists them) ---- */

#define GW_IAM_FILE_MAX         (16u * 1024u * 1024u)
#define GW_IAM_ENTITY_NAME_MAX  64  /* role and user names */
#define GW_IAM_POLICY_NAME_MAX  128 /* managed and inline policy names */
#define GW_IAM_PATH_MAX         512
#define GW_IAM_DESCRIPTION_MAX  1000
#define GW_IAM_TAGS_MAX         50
#define GW_IAM_TAG_KEY_MAX      128
#define GW_IAM_TAG_VALUE_MAX    256
#define GW_IAM_ROLE_INLINE_MAX  10240 /* aggregate of a role's inline policies */
#define GW_IAM_USER_INLINE_MAX  2048  /* aggregate of a user's inline policies */
#define GW_IAM_ATTACHED_MAX     20    /* managed policies attached to one role or user */
#define GW_IAM_VERSIONS_MAX     5     /* versions of one managed policy */
#define GW_IAM_ACCESS_KEYS_MAX  2     /* access keys of one user */
#define GW_IAM_SESSION_MIN      3600
#define GW_IAM_SESSION_MAX      43200
#define GW_IAM_ISSUER_URL_MAX   255
#define GW_IAM_AUDIENCES_MAX    100
#define GW_IAM_AUDIENCE_MAX     255
#define GW_IAM_LEEWAY_DEFAULT   60
#define GW_IAM_LEEWAY_MAX       600
#define GW_IAM_LIFETIME_DEFAULT 3600
#define GW_IAM_LIFETIME_MIN     60
#define GW_IAM_LIFETIME_MAX     (366 * 86400)
#define GW_IAM_CLAIM_NAME_MAX   256
#define GW_IAM_SUBJECT_MAX      1024
#define GW_IAM_KEY_FILE_MAX     GW_JWKS_MAX_DOCUMENT

/* ---- diagnostics of an IAM file ---- */

struct gw_iam_diag {
	bool warning;   /* false: an error, the file is refused */
	char path[320]; /* "roles[2].inline_policies.orders.Statement[0].Action"; "" = the file */
	char message[320]; /* for a person */
};

struct gw_iam_diags {
	struct gw_iam_diag *items; /* owned; free with gw_iam_diags_free */
	size_t count;
	size_t cap;
	size_t errors;
	size_t warnings;
	bool truncated; /* more than GW_IAM_DIAGS_MAX were found; the rest dropped */
};

#define GW_IAM_DIAGS_MAX 1000

void gw_iam_diags_free(struct gw_iam_diags *d);

/* ---- the IAM file ---- */

/* An access key's secret as the file gives it (secret_file), aligned with
 * spec->state.access_keys. */
struct gw_iam_key_secret {
	char *secret_file;       /* owned; NULL: keep the stored secret, or generate one */
	struct gw_secret secret; /* the file's secret; empty when secret_file is NULL */
};

/* A parsed, valid IAM file. state holds the whole intended state in canonical
 * form (lists sorted, documents as canonical JSON, references by name); what
 * only apply can fill is still empty: unique ids and policy ids (NULL), sealed
 * secrets (NULL). Owned; free with gw_iam_spec_free. */
struct gw_iam_spec {
	struct store_iam state;
	struct gw_iam_key_secret *secrets;
};

/*
 * Parses and validates an IAM file of n bytes. Relative key and secret file
 * paths are read relative to base_dir (NULL: the working directory). Returns
 * GW_IAM_OK with *out filled, GW_IAM_ERR_INVALID with every error (and
 * warning) in diags, or GW_IAM_ERR_NOMEM. Warnings alone do not refuse a file.
 */
int gw_iam_file_parse(const char *json, size_t n, const char *base_dir, struct gw_iam_spec *out,
                      struct gw_iam_diags *diags);

void gw_iam_spec_free(struct gw_iam_spec *spec); /* wipes secrets; NULL-safe */

/*
 * The stored state in the file format, pretty-printed with a final newline,
 * in a malloc'd string the caller frees. Secrets are never in it; applying it
 * again changes nothing.
 */
int gw_iam_export(const struct store_iam *state, char **out, struct gw_iam_error *err);

/* ---- applying ---- */

struct gw_iam_new_key {
	char id[GW_ACCESS_KEY_ID_LEN + 1];
	char user[GW_IAM_ENTITY_NAME_MAX + 1];
	struct gw_secret secret; /* 40 characters, NUL-terminated: show once, never log */
};

struct gw_iam_changes {
	char **lines; /* "+ role web", "~ role web (trust_policy, tags)", "- user old" */
	size_t n;
	struct gw_iam_new_key *new_keys; /* secrets generated by this apply */
	size_t n_new_keys;
	int64_t generation; /* the store's IAM generation after the apply */
};

void gw_iam_changes_free(struct gw_iam_changes *c); /* wipes the secrets; NULL-safe */

/*
 * Makes the store's IAM state equal to spec, in one store transaction: all of
 * it or nothing. Entities absent from spec are deleted. Applying the same spec
 * twice changes nothing the second time (out->n == 0, the generation stays).
 * box is needed when an access key is new or names a secret_file
 * (GW_IAM_ERR_KEY otherwise); secrets are sealed with the access key id as
 * additional data. GW_IAM_ERR_CONFLICT when someone else applied meanwhile.
 */
int gw_iam_apply(struct store *s, const struct gw_iam_spec *spec, const struct gw_keybox *box,
                 struct gw_iam_changes *out, struct gw_iam_error *err);

/* ---- the snapshot ---- */

enum gw_iam_kind { GW_IAM_ROLE = 0, GW_IAM_USER = 1 };

struct gw_iam_managed {
	const char *name;
	const char *arn; /* arn:aws:iam::<account>:policy<path><name> */
	const char *policy_id;
	const char *default_version;
	const char *document;    /* the default version's JSON (for session policies) */
	struct policy *policy;   /* the default version as an identity policy */
	struct policy *boundary; /* the same as a permissions boundary; NULL unless one
	                            role or user uses it as its boundary */
};

struct gw_iam_entity { /* a role or a user */
	enum gw_iam_kind kind;
	const char *name;
	const char *arn; /* arn:aws:iam::<account>:role<path><name> (or user) */
	const char *unique_id;
	const char *path;
	const char *description;
	int64_t max_session_duration; /* roles */
	struct policy *trust;         /* roles: the trust policy; users: NULL */
	struct policy **inline_policies;
	size_t n_inline;
	const struct gw_iam_managed **managed; /* attached */
	size_t n_managed;
	const struct gw_iam_managed *boundary; /* NULL: none */
	const struct store_iam_tag *tags;
	size_t n_tags;
};

struct gw_iam_access_key {
	const char *id;
	const struct gw_iam_entity *user;
	bool active;
	const unsigned char *sealed_secret; /* open with gw_iam_access_key_secret */
	size_t sealed_n;
};

/* What the IAM file says about an issuer beyond what verifies its tokens. */
struct gw_iam_oidc {
	const struct gw_jwt_issuer *jwt;        /* in the array of gw_iam_jwt_issuers */
	const char *role_claim;                 /* NULL: the role comes from the request */
	const struct store_iam_tag *tag_claims; /* key: claim, value: principal tag key */
	size_t n_tag_claims;
};

struct gw_iam; /* immutable, reference-counted */

/* Reads the store's IAM state and builds a snapshot holding one reference. */
int gw_iam_load(struct store *s, struct gw_iam **out, struct gw_iam_error *err);
/* Builds a snapshot from a state; takes ownership of *state (emptied) on
 * success and on failure alike. */
int gw_iam_build(struct store_iam *state, struct gw_iam **out, struct gw_iam_error *err);

struct gw_iam *gw_iam_ref(struct gw_iam *iam); /* thread-safe; returns iam */
void gw_iam_unref(struct gw_iam *iam);         /* thread-safe; NULL is fine */

const char *gw_iam_account_id(const struct gw_iam *iam); /* "" before the first apply */
int64_t gw_iam_generation(const struct gw_iam *iam);

/* A role or user by name (compared without case, as IAM does) or by ARN (the
 * account and path must match). n: bytes of key. NULL when there is none. */
const struct gw_iam_entity *gw_iam_role(const struct gw_iam *iam, const char *key, size_t n);
const struct gw_iam_entity *gw_iam_user(const struct gw_iam *iam, const char *key, size_t n);
const struct gw_iam_managed *gw_iam_managed_policy(const struct gw_iam *iam, const char *key,
                                                   size_t n);

const struct gw_iam_access_key *gw_iam_access_key(const struct gw_iam *iam, const char *id,
                                                  size_t n);
/* Opens an access key's secret (AAD: its id) into *out (free with
 * gw_secret_free). */
int gw_iam_access_key_secret(const struct gw_iam_access_key *key, const struct gw_keybox *box,
                             struct gw_secret *out, struct gw_iam_error *err);

/* Every configured issuer, ready for gw_jwt_verify, and the rest of what the
 * file says about the one that matched (claims.issuer). */
const struct gw_jwt_issuer *gw_iam_jwt_issuers(const struct gw_iam *iam, size_t *n);
const struct gw_iam_oidc *gw_iam_oidc_for(const struct gw_iam *iam,
                                          const struct gw_jwt_issuer *issuer);

/* The role a container host's client certificate signs in as: a mapping by
 * the certificate's whole subject DN (as the TLS library prints it) first,
 * then by its common name. Either may be NULL. NULL when none maps. */
const struct gw_iam_entity *gw_iam_host_role(const struct gw_iam *iam, const char *subject,
                                             size_t subject_n, const char *cn, size_t cn_n);

/*
 * The policies that apply to a request by entity e (a role session or a
 * user): its inline policies and the default versions of its attached managed
 * policies (POLICY_IDENTITY), its permissions boundary (POLICY_BOUNDARY), and
 * the session policy when given (POLICY_SESSION), written to out[0..*n_out).
 * GW_IAM_ERR_SPACE (and *n_out the number needed) when cap is too small.
 * The policies are borrowed from the snapshot: hold a reference while using them.
 */
int gw_iam_policies_for(const struct gw_iam *iam, const struct gw_iam_entity *e,
                        const struct policy *session, struct policy_input *out, size_t cap,
                        size_t *n_out);

/* ---- the live snapshot of a running server ---- */

struct gw_iam_live {
	pthread_mutex_t lock;
	struct gw_iam *current; /* one reference; NULL before the first refresh */
};

int gw_iam_live_init(struct gw_iam_live *live);
void gw_iam_live_destroy(struct gw_iam_live *live); /* drops the current snapshot */
/* The current snapshot with one more reference (release with gw_iam_unref),
 * or NULL before the first successful refresh. */
struct gw_iam *gw_iam_live_get(struct gw_iam_live *live);
/*
 * Polls the store's IAM generation; when it differs from the current
 * snapshot's, builds a new snapshot and swaps it in. Requests holding the old
 * one keep it until they release it. On failure the current snapshot stays.
 * *changed (may be NULL) says whether a new snapshot was swapped in. Call from
 * one thread at a time (the poller); gw_iam_live_get may run concurrently.
 */
int gw_iam_live_refresh(struct gw_iam_live *live, struct store *s, bool *changed,
                        struct gw_iam_error *err);

const char *gw_iam_status_name(int code);

#endif
