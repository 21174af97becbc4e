/*
 * store.h - the embedded SQLite store: the only door into store/, and the only
 * code in taskgate that speaks SQL.
 *
 * One database file, opened in WAL mode with foreign keys on and a busy timeout.
 * Numbered migrations are applied at open, each in its own transaction, and
 * recorded in the database; a file whose schema is newer than this build knows
 * is refused, never touched. Callers see typed functions only.
 */
#ifndef TASKGATE_STORE_H
#define TASKGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
	STORE_OK = 0,
	STORE_ERR_IO = -1,        /* cannot open/read/write the file */
	STORE_ERR_CORRUPT = -2,   /* not a taskgate database (not SQLite, another
	                           * program's SQLite file), or a damaged one */
	STORE_ERR_TOO_NEW = -3,   /* made by a newer taskgate: schema version unknown here */
	STORE_ERR_MIGRATION = -4, /* a migration failed (rolled back) */
	STORE_ERR_NOMEM = -5,
	STORE_ERR_BUSY = -6,
	STORE_ERR_NOT_FOUND = -7,
	STORE_ERR_CONFLICT = -8,
	STORE_ERR_INVALID = -9,
	STORE_ERR_FULL = -10, /* disk or database full */
	STORE_ERR_READONLY = -11,
};

struct store_error {
	int code;          /* an enum store_status */
	char message[512]; /* for a person: names the file and what is wrong */
};

struct store; /* one open database; see store_open */

struct store_options {
	int busy_timeout_ms; /* 0: 5000 */
	bool readonly;       /* open without migrating or writing (audit tools); a
	                      * file behind this build's schema is STORE_ERR_READONLY */
	/* SQLite's synchronous level: "FULL" (survives power loss) or "NORMAL"
	 * (survives a process crash); NULL: "FULL". */
	const char *synchronous;
};

/* Opens (or creates, mode 0600, in an existing directory) the database at
 * path and brings its schema up to date. opts may be NULL (defaults). On
 * success *out owns the connection; close it with store_close. Every function
 * taking a struct store may be called from several threads at once. On a
 * refusal (CORRUPT, TOO_NEW, IO, READONLY) the file's bytes are not changed. */
int store_open(const char *path, const struct store_options *opts, struct store **out,
               struct store_error *err);
/* NULL-safe. Call once, after every other thread has stopped using s. */
void store_close(struct store *s);

/* The schema version this build writes, and the one the open file has. */
int store_schema_version_latest(void);
int store_schema_version(struct store *s);

struct store_health {
	bool ok;
	int schema_version;
	char journal_mode[16];
	char message[256];
};

/* A cheap liveness check for /health: a read on the connection. */
int store_health(struct store *s, struct store_health *out);

const char *store_status_name(int code);

/* The SQLite library this build runs on ("3.40.1"), for `taskgate version`. */
const char *store_library_version(void);

/* --- meta: small key/value facts about the file itself -------------------
 *
 * Migration 1 writes "created_by" (the taskgate version), "created_at" (UTC,
 * ISO 8601) and "instance_id" (32 hex digits, random). Keys are 1..64 bytes of
 * [a-z0-9_.-]; values are text up to STORE_META_VALUE_MAX bytes. */
#define STORE_META_KEY_MAX   64
#define STORE_META_VALUE_MAX 4096

/* Copies the value and its NUL into buf; *len_out (if not NULL) gets its length
 * without the NUL. STORE_ERR_NOT_FOUND if the key is absent; STORE_ERR_INVALID
 * if buf is too small (then *len_out is the length needed). */
int store_meta_get(struct store *s, const char *key, char *buf, size_t cap, size_t *len_out,
                   struct store_error *err);
/* Inserts or replaces. */
int store_meta_set(struct store *s, const char *key, const char *value, struct store_error *err);

/* --- audit events: one row per request, append-only -----------------------
 *
 * The table refuses UPDATE and DELETE (triggers), so a row once written stays as
 * written; the hash chain over rows comes with a later migration. */
#define STORE_AUDIT_ID_MAX        256  /* request_id, source_ip, action, decision, error_code */
#define STORE_AUDIT_PRINCIPAL_MAX 2048 /* an ARN with a session name fits easily */
#define STORE_AUDIT_RECORD_MAX    (1 << 20) /* the canonical JSON record */

/* Strings are NUL-terminated UTF-8. Optional fields may be NULL (stored as
 * SQL NULL); has_status/has_latency say whether the numbers are present. */
struct store_audit_event {
	int64_t time_us;        /* microseconds since the Unix epoch, > 0 */
	const char *request_id; /* required, non-empty */
	const char *source_ip;
	const char *principal; /* ARN, or NULL when unauthenticated */
	const char *action;    /* "ecs:RunTask" */
	const char *decision;  /* "Allow", "ExplicitDeny", "ImplicitDeny" */
	bool has_status;
	int status;             /* HTTP status of the response */
	const char *error_code; /* "AccessDeniedException" */
	bool has_latency;
	int64_t latency_us;
	const char *record; /* required: the canonical JSON record */
};

/* Appends one event in its own transaction; on STORE_OK the row is durable to
 * the configured synchronous level and *seq_out (if not NULL) is its seq, which
 * only grows. Fields over the limits above, a missing request_id or record, or
 * time_us <= 0 give STORE_ERR_INVALID and write nothing. */
int store_audit_append(struct store *s, const struct store_audit_event *ev, int64_t *seq_out,
                       struct store_error *err);

/* Number of rows and the highest seq (0 and 0 when empty). */
int store_audit_count(struct store *s, int64_t *count_out, int64_t *last_seq_out,
                      struct store_error *err);

/* A row read back. Every string is owned by the list it came in. */
struct store_audit_row {
	int64_t seq;
	struct store_audit_event ev;
};

struct store_audit_list {
	struct store_audit_row *rows; /* owned; free with store_audit_list_free */
	size_t n;
};

/* Up to limit (1..1000) rows with seq > after_seq, oldest first. */
int store_audit_read(struct store *s, int64_t after_seq, size_t limit, struct store_audit_list *out,
                     struct store_error *err);
/* The newest limit (1..1000) rows, newest first. */
int store_audit_recent(struct store *s, size_t limit, struct store_audit_list *out,
                       struct store_error *err);
/* Frees the rows and their strings and empties the list; NULL-safe. */
void store_audit_list_free(struct store_audit_list *list);

/* --- IAM entities (store/iam.c) ------------------------------------------
 *
 * The whole IAM state of the one account: managed policies and their
 * versions, roles and users with their inline policies, attachments and tags,
 * users' access keys, OIDC token issuers and the mTLS host mappings. The store
 * keeps it as plain data and checks only what the schema can (names unique
 * without regard to case, references that resolve); what the data means
 * (policy documents, name rules, limits) is the gateway's, which validates the
 * IAM file before it ever reaches here. Policy documents are canonical JSON
 * text; a sealed secret is an opaque blob.
 *
 * The state is read whole (one read transaction, so it is consistent) and
 * replaced whole (one write transaction: all of it or nothing). Every replace
 * bumps a generation counter that a running server polls to pick up changes
 * without a restart. */

struct store_iam_tag { /* also a claim -> tag mapping of an OIDC issuer */
	char *key;
	char *value;
};

struct store_iam_document { /* an inline policy, or a managed policy's version */
	char *name;             /* inline policy name, or version id "v1" */
	char *document;         /* canonical JSON text */
};

struct store_iam_managed_policy {
	char *name;
	char *policy_id; /* "ANPA..." */
	char *path;      /* "/" or "/a/b/" */
	char *description;
	char *default_version;
	struct store_iam_document *versions;
	size_t n_versions;
};

enum store_iam_kind { STORE_IAM_ROLE = 0, STORE_IAM_USER = 1 };

struct store_iam_principal { /* a role or a user */
	char *name;
	char *unique_id; /* "AROA..." or "AIDA..." */
	char *path;
	char *description;
	char *trust_policy;         /* roles: canonical JSON; users: NULL */
	char *permissions_boundary; /* a managed policy name, or NULL */
	int64_t max_session_duration; /* roles: seconds; users: 0 */
	struct store_iam_document *inline_policies;
	size_t n_inline;
	char **managed_policies; /* names of attached managed policies */
	size_t n_managed;
	struct store_iam_tag *tags;
	size_t n_tags;
};

struct store_iam_access_key {
	char *id;   /* "AKIA..." */
	char *user; /* the user's name */
	bool active;
	unsigned char *sealed_secret; /* opaque blob (sealed by the gateway's key box) */
	size_t sealed_n;
};

struct store_iam_oidc_issuer {
	char *issuer; /* "https://..." */
	char **audiences;
	size_t n_audiences;
	char *algorithms;   /* space-separated JOSE names; "" for the default set */
	char *key_source;   /* "jwks_file" or "pem_file" */
	char *key_path;     /* as written in the IAM file */
	char *key_kid;      /* pem_file: the kid given to the key, or NULL */
	char *key_document; /* the file's content when it was applied */
	int64_t leeway;
	int64_t max_lifetime;
	char *role_claim; /* or NULL */
	struct store_iam_tag *tag_claims; /* key: claim name, value: tag key */
	size_t n_tag_claims;
};

struct store_iam_host_mapping {
	char *match; /* "subject_cn" or "subject" */
	char *value;
	char *role;
};

/* One account's IAM state. Loaded by store_iam_load (then owned: free it with
 * store_iam_free); given to store_iam_replace (then only read). */
struct store_iam {
	char *account_id; /* 12 digits; NULL before the first apply */
	int64_t generation;
	struct store_iam_managed_policy *policies;
	size_t n_policies;
	struct store_iam_principal *roles;
	size_t n_roles;
	struct store_iam_principal *users;
	size_t n_users;
	struct store_iam_access_key *access_keys;
	size_t n_access_keys;
	struct store_iam_oidc_issuer *issuers;
	size_t n_issuers;
	struct store_iam_host_mapping *host_mappings;
	size_t n_host_mappings;
};

/* Reads the whole state in one read transaction. Lists come back ordered by
 * name (issuers by URL, access keys by id). */
int store_iam_load(struct store *s, struct store_iam *out, struct store_error *err);

/* Replaces the whole state with *next in one write transaction, provided the
 * stored generation still equals expect_generation (else STORE_ERR_CONFLICT:
 * someone applied in between; nothing is written). On success the generation
 * is expect_generation + 1, written to *generation_out if not NULL. A name used
 * twice, a dangling reference or a missing required field is
 * STORE_ERR_CONFLICT or STORE_ERR_INVALID, and nothing is written. */
int store_iam_replace(struct store *s, const struct store_iam *next, int64_t expect_generation,
                      int64_t *generation_out, struct store_error *err);

/* The current generation: cheap, for polling. 0 before the first apply. */
int store_iam_generation(struct store *s, int64_t *out, struct store_error *err);

/* Frees what store_iam_load filled and zeroes *iam; NULL-safe. */
void store_iam_free(struct store_iam *iam);

#endif
