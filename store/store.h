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
	/* The most the database file may grow to, in bytes (PRAGMA
	 * max_page_count); 0: no cap. A write past it fails with
	 * STORE_ERR_FULL, as on a full disk. */
	int64_t max_size_bytes;
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
	bool chained; /* prev_hash and hash are set (rows from schema 5 on) */
	unsigned char prev_hash[32];
	unsigned char hash[32];
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

/* --- audit hash chain and signed checkpoints (store/audit.c) -------------
 *
 * The store does the SQL and the transaction; what the bytes mean (the
 * canonical form, SHA-256, Ed25519) is the gateway's, passed in as callbacks
 * that run inside the write transaction, so two writers can never read the
 * same chain head. */
#define STORE_AUDIT_HASH_LEN 32
#define STORE_AUDIT_SIG_MAX  128
#define STORE_AUDIT_KEY_ID_MAX 64

/* Fills hash_out with the hash of ev stored at seq after a record whose hash
 * is prev (32 zero bytes for the first chained record). Returns 0, or -1 to
 * abandon the whole batch. */
struct store_audit_hasher {
	int (*fn)(void *ctx, int64_t seq, const struct store_audit_event *ev,
	          const unsigned char prev[STORE_AUDIT_HASH_LEN],
	          unsigned char hash_out[STORE_AUDIT_HASH_LEN]);
	void *ctx;
};

/* Appends evs[0..n) (1..1000) in one BEGIN IMMEDIATE transaction, each chained
 * to the one before; seqs_out[i] (if not NULL) gets each seq and head_out (if
 * not NULL) the hash of the last. All or nothing: on any error no row is
 * written. Limits as store_audit_append. */
int store_audit_append_chained(struct store *s, const struct store_audit_event *evs, size_t n,
                               const struct store_audit_hasher *h, int64_t *seqs_out,
                               unsigned char head_out[STORE_AUDIT_HASH_LEN],
                               struct store_error *err);

/* The first seq the chain covers: rows below it were written before the
 * chain existed (schema 5) and carry no hash. */
int store_audit_chain_from(struct store *s, int64_t *seq_out, struct store_error *err);

/* A signed statement "the chain up to record seq ends in head". */
struct store_audit_checkpoint {
	int64_t id; /* 1, 2, 3... */
	int64_t seq;
	unsigned char head[STORE_AUDIT_HASH_LEN];
	int64_t time_us;
	char key_id[STORE_AUDIT_KEY_ID_MAX + 1];
	unsigned char sig[STORE_AUDIT_SIG_MAX];
	size_t sig_len;
};

/* Signs cp (id, seq, head, time_us, key_id filled) into cp->sig/sig_len;
 * returns 0, or -1 to write nothing. */
struct store_audit_signer {
	int (*fn)(void *ctx, struct store_audit_checkpoint *cp);
	void *ctx;
};

/* Appends a checkpoint for the record seq, in one transaction: reads that
 * record's hash and the next checkpoint id, calls the signer, inserts. On
 * STORE_OK *out (if not NULL) is the checkpoint written. STORE_ERR_NOT_FOUND if
 * record seq does not exist or is not chained. */
int store_audit_checkpoint_add(struct store *s, int64_t seq, int64_t time_us, const char *key_id,
                               const struct store_audit_signer *signer,
                               struct store_audit_checkpoint *out, struct store_error *err);

/* The highest checkpointed seq and its time (0, 0 without checkpoints). */
int store_audit_checkpoint_last(struct store *s, int64_t *seq_out, int64_t *time_us_out,
                                struct store_error *err);

/* Every checkpoint, by id; *out owned by the caller (free()), *n_out its
 * count. */
int store_audit_checkpoints(struct store *s, struct store_audit_checkpoint **out, size_t *n_out,
                            struct store_error *err);

/* --- reading the log for auditors, retention (store/audit_query.c) ------ */

/* Every field optional (NULL / 0: no condition); all given must hold. */
struct store_audit_filter {
	int64_t since_us;       /* time_us >= since_us */
	int64_t until_us;       /* time_us < until_us (0: no end) */
	const char *principal;  /* the principal ARN; a trailing '*' matches a prefix */
	const char *action;     /* the action column (IAM action) or the record's eventName */
	const char *resource;   /* an ARN among the record's resources */
	const char *decision;   /* "Allow", "ExplicitDeny", "ImplicitDeny" */
	const char *error_code; /* the error code; "-" : records without one */
	const char *request_id;
};

/* Up to limit (1..1000) rows with seq > after_seq matching f, oldest first. */
int store_audit_query(struct store *s, const struct store_audit_filter *f, int64_t after_seq,
                      size_t limit, struct store_audit_list *out, struct store_error *err);

/* One line of `audit stats`: requests (records that carry a decision: not
 * the outcome half of an executed request) and errors per principal,
 * action and decision. Strings owned by the result. */
struct store_audit_stat {
	char *principal; /* NULL: anonymous */
	char *action;
	char *decision;
	int64_t requests;
	int64_t errors; /* records with an error code */
};
int store_audit_stats(struct store *s, const struct store_audit_filter *f,
                      struct store_audit_stat **out, size_t *n_out, struct store_error *err);
void store_audit_stats_free(struct store_audit_stat *v, size_t n);

/* The signed anchor left by the last prune: records up to seq are gone and
 * checkpoint cp_id (at that seq) holds the hash the next record chains to.
 * 0, 0 when the log was never pruned. */
int store_audit_anchor(struct store *s, int64_t *seq_out, int64_t *cp_id_out,
                       struct store_error *err);

/* Removes the records before before_us down to a signed anchor: the newest
 * checkpoint whose record and every record before it are older than
 * before_us. In one transaction: the records up to the anchor go, the
 * checkpoints stay, meta records the anchor. *anchor_seq_out 0 and
 * *deleted_out 0: nothing could be pruned (no checkpoint old enough). */
int store_audit_prune(struct store *s, int64_t before_us, int64_t *anchor_seq_out,
                      int64_t *anchor_cp_out, int64_t *deleted_out, struct store_error *err);

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

/* --- STS sessions (store/sts.c) -----------------------------------------
 *
 * Temporary credentials issued by STS. The store keeps plain data: the
 * gateway seals the secret (key box, AAD = the key id) and hashes the session
 * token (SHA-256) before a session reaches here, and compares hashes itself.
 * Times are epoch seconds. */
#define STORE_STS_TAGS_MAX 50

struct store_sts_tag {
	char *key;
	char *value;
	bool transitive; /* passes on to sessions chained from this one */
};

struct store_sts_session {
	char *access_key_id; /* "ASIA..." (20 characters) */
	unsigned char *sealed_secret;
	size_t sealed_n;
	unsigned char token_sha256[32];
	char *role_arn;        /* arn:aws:iam::A:role/path/name */
	char *session_name;
	char *source_arn;      /* who asked: a user, a role session, a web identity provider */
	char *session_policy;  /* canonical JSON, or NULL */
	char *source_identity; /* JWT sub or the caller's ARN, or NULL */
	char *owner_task;      /* the task these credentials serve, or NULL */
	int64_t chain_depth;   /* 0: from long-term credentials or a token; 1+: chained */
	int64_t issued_at;
	int64_t expires_at;
	int64_t revoked_at; /* 0: not revoked */
	struct store_sts_tag *tags;
	size_t n_tags;
};

/* Stores a new session with its tags in one transaction. A key id already
 * present is STORE_ERR_CONFLICT; a missing field or a bad count
 * STORE_ERR_INVALID. revoked_at is ignored (a new session is not revoked). */
int store_sts_insert(struct store *s, const struct store_sts_session *sess,
                     struct store_error *err);
/* The session with this key id (expired and revoked ones too: the caller
 * decides), owned by *out (free with store_sts_session_free), or
 * STORE_ERR_NOT_FOUND. */
int store_sts_get(struct store *s, const char *access_key_id, struct store_sts_session *out,
                  struct store_error *err);
void store_sts_session_free(struct store_sts_session *sess); /* NULL-safe; zeroes */
/* Marks one session revoked at `now` (kept for lookups, so a revoked key is
 * told apart from an unknown one). STORE_ERR_NOT_FOUND when no such key;
 * revoking twice keeps the first time. */
int store_sts_revoke(struct store *s, const char *access_key_id, int64_t now,
                     struct store_error *err);
/* Revokes every not yet revoked session of a task; *n_out (may be NULL) gets
 * how many. */
int store_sts_revoke_task(struct store *s, const char *owner_task, int64_t now, int64_t *n_out,
                          struct store_error *err);
/* Deletes sessions whose expires_at is at or before `before`, with their
 * tags; *n_out (may be NULL) gets how many. */
int store_sts_purge_expired(struct store *s, int64_t before, int64_t *n_out,
                            struct store_error *err);

/* --- task credentials and metadata ids (store/taskcreds.c) ----------------
 *
 * What the task endpoint serves (gateway/taskcreds.c). One row per task and
 * kind ("task" for the task role, "execution" for the execution role), found
 * by the SHA-256 of its credentials id (the id itself is a bearer secret and
 * is never stored). The row names the current STS session by its key id and
 * holds that session's token sealed by the gateway (key box, AAD = the key
 * id); the secret stays sealed in sts_sessions. Times are epoch seconds. */
#define STORE_TASKCRED_ARN_MAX 2048

struct store_taskcred {
	unsigned char id_sha256[32];
	char *task_arn;
	char *cluster_arn;
	char *kind;          /* "task" or "execution" */
	char *role_arn;
	char *access_key_id; /* the current session's ASIA key id */
	unsigned char *sealed_token;
	size_t sealed_token_n;
	bool has_auth;       /* an authorization token is required */
	unsigned char auth_sha256[32];
	int64_t issued_at;   /* of the current session */
	int64_t expires_at;
	int64_t renew_at;
	int64_t revoked_at;  /* 0: not revoked */
};

/* A container's metadata id (task metadata v4). */
struct store_taskmeta {
	char *id; /* random, 32 hex digits and more; the path element of the URI */
	char *task_arn;
	char *cluster_arn;
	char *container_name;
	int64_t created_at;
};

/* Stores a task's credentials rows and metadata ids in one transaction: all
 * or none. An id or (task, kind) already present is STORE_ERR_CONFLICT. */
int store_taskcred_put(struct store *s, const struct store_taskcred *creds, size_t n_creds,
                       const struct store_taskmeta *meta, size_t n_meta,
                       struct store_error *err);
/* The row with this id hash (revoked ones too), owned by *out (free with
 * store_taskcred_free), or STORE_ERR_NOT_FOUND. */
int store_taskcred_get(struct store *s, const unsigned char id_sha256[32],
                       struct store_taskcred *out, struct store_error *err);
/* The task's rows (up to cap; *n_out how many were found, at most 2). */
int store_taskcred_for_task(struct store *s, const char *task_arn, struct store_taskcred *out,
                            size_t cap, size_t *n_out, struct store_error *err);
/* Points a row at a new session, provided it still names old_key_id and is
 * not revoked (else STORE_ERR_CONFLICT: someone renewed or revoked it first). */
int store_taskcred_rotate(struct store *s, const unsigned char id_sha256[32],
                          const char *old_key_id, const char *new_key_id,
                          const unsigned char *sealed_token, size_t sealed_token_n,
                          int64_t issued_at, int64_t expires_at, int64_t renew_at,
                          struct store_error *err);
/* Marks every row of the task revoked at now; *n_out (may be NULL) counts
 * the rows newly revoked. */
int store_taskcred_revoke_task(struct store *s, const char *task_arn, int64_t now,
                               int64_t *n_out, struct store_error *err);
/* Deletes rows revoked at or before `before` and the metadata ids of their
 * tasks; *n_out (may be NULL) counts the credentials rows. */
int store_taskcred_purge(struct store *s, int64_t before, int64_t *n_out,
                         struct store_error *err);
void store_taskcred_free(struct store_taskcred *c); /* NULL-safe; zeroes */

/* The metadata id's row, or STORE_ERR_NOT_FOUND. */
int store_taskmeta_get(struct store *s, const char *id, struct store_taskmeta *out,
                       struct store_error *err);
/* The task's metadata ids; *out is a malloc'd array (free each with
 * store_taskmeta_free, then free()). */
int store_taskmeta_for_task(struct store *s, const char *task_arn, struct store_taskmeta **out,
                            size_t *n_out, struct store_error *err);
void store_taskmeta_free(struct store_taskmeta *m); /* NULL-safe; zeroes */

/* --- scheduler objects (store/sched.c) -------------------------------------
 *
 * Clusters, task definitions, container instances, tasks and services, one
 * row each in sched_objects. The store keeps each object as the scheduler
 * hands it over: doc is its JSON (what ECS would show, tags included), and a
 * few copied fields make lookups and lists cheap. What the fields mean is the
 * scheduler's; the store checks only lengths and that doc is JSON. */
#define STORE_SCHED_FIELD_MAX 2048      /* arn, cluster, name, status, grp, parent */
#define STORE_SCHED_DOC_MAX   (1 << 20) /* one object's JSON */

enum store_sched_kind {
	STORE_SCHED_CLUSTER = 0,
	STORE_SCHED_TASK_DEFINITION = 1,
	STORE_SCHED_CONTAINER_INSTANCE = 2,
	STORE_SCHED_TASK = 3,
	STORE_SCHED_SERVICE = 4,
};

/* One object. Read back, every string is owned by the object (free with
 * store_sched_obj_free); given to store_sched_put, only read. */
struct store_sched_obj {
	int64_t seq; /* set by the store on insert; grows with every new object */
	enum store_sched_kind kind;
	char *arn;      /* unique across kinds */
	char *cluster;  /* the cluster's ARN ("" for clusters and task definitions) */
	char *name;     /* cluster/service name, family, instance or task id */
	int64_t revision; /* task definitions; else 0 */
	char *status;   /* ACTIVE/INACTIVE/DRAINING, or a task's lastStatus */
	char *grp;      /* a task's desiredStatus; "" elsewhere */
	char *parent;   /* a task's container instance ARN, or service name; else "" */
	int64_t version; /* writes so far: 1 after the insert */
	char *doc;
};

struct store_sched_list {
	struct store_sched_obj *objs; /* owned; free with store_sched_list_free */
	size_t n;
};

/* Filters for store_sched_query; NULL (or 0) fields do not filter. */
struct store_sched_filter {
	enum store_sched_kind kind;
	const char *cluster;
	const char *name;
	const char *name_prefix; /* name starts with this */
	const char *status;
	const char *not_status; /* status differs from this */
	const char *grp;
	const char *parent;
	int64_t after_seq; /* only objects with seq > after_seq */
	size_t limit;      /* 1..10000; 0: 10000 */
	bool newest_first; /* order by seq descending (after_seq then means seq < it) */
	/* Task definitions' order: by name, then revision (newest_first: both
	 * descending), instead of seq, read as index ranges. It needs cluster and
	 * takes only the name and status filters (else STORE_ERR_INVALID);
	 * after_seq is ignored and, when after_name is set, the list starts after
	 * (after_name, after_revision). */
	bool by_name_revision;
	const char *after_name;
	int64_t after_revision;
};

/* Inserts a new object (version 1; o->arn must be new, else
 * STORE_ERR_CONFLICT) or, when expect_version > 0, replaces the stored one
 * provided its version still equals expect_version (else STORE_ERR_CONFLICT;
 * STORE_ERR_NOT_FOUND when absent). *seq_out and *version_out (may be NULL)
 * get the row's seq and new version. */
int store_sched_put(struct store *s, const struct store_sched_obj *o, int64_t expect_version,
                    int64_t *seq_out, int64_t *version_out, struct store_error *err);
/* Several puts in one transaction: all of them or none. */
int store_sched_put_many(struct store *s, const struct store_sched_obj *objs,
                         const int64_t *expect_versions, size_t n, struct store_error *err);
/* The same, giving back each row's seq and new version (arrays of n, or NULL);
 * on failure nothing was written and the arrays are not meaningful. */
int store_sched_put_batch(struct store *s, const struct store_sched_obj *objs,
                          const int64_t *expect_versions, size_t n, int64_t *seqs_out,
                          int64_t *versions_out, struct store_error *err);
/* Deletes the object with this ARN provided its version still equals
 * expect_version (else STORE_ERR_CONFLICT; STORE_ERR_NOT_FOUND when absent).
 * Its seq is never given again (AUTOINCREMENT), so page tokens stay stable. */
int store_sched_delete(struct store *s, const char *arn, int64_t expect_version,
                       struct store_error *err);
/* The object with this ARN, or STORE_ERR_NOT_FOUND. */
int store_sched_get(struct store *s, const char *arn, struct store_sched_obj *out,
                    struct store_error *err);
/* Objects matching f, ordered by seq. */
int store_sched_query(struct store *s, const struct store_sched_filter *f,
                      struct store_sched_list *out, struct store_error *err);
/* How many objects match f (after_seq, limit and newest_first ignored). */
int store_sched_count(struct store *s, const struct store_sched_filter *f, int64_t *out,
                      struct store_error *err);
/* The object with this seq (a page token's position), or STORE_ERR_NOT_FOUND. */
int store_sched_get_seq(struct store *s, int64_t seq, struct store_sched_obj *out,
                        struct store_error *err);

/* Task definition families, by name: each with the seq of its first
 * revision and whether one of its revisions is ACTIVE. */
struct store_sched_family {
	char *name;
	int64_t first_seq;
	bool active;
};
struct store_sched_families {
	struct store_sched_family *v; /* owned; free with store_sched_families_free */
	size_t n;
};
enum store_sched_family_status {
	STORE_FAMILIES_ALL = 0,
	STORE_FAMILIES_ACTIVE = 1,   /* with an ACTIVE revision */
	STORE_FAMILIES_INACTIVE = 2, /* without any */
};
/* Up to limit (1..10000) families whose name starts with prefix (NULL: any),
 * after after_name (NULL: from the first), in name order. */
int store_sched_families(struct store *s, const char *prefix,
                         enum store_sched_family_status status, const char *after_name,
                         size_t limit, struct store_sched_families *out,
                         struct store_error *err);
void store_sched_families_free(struct store_sched_families *l); /* NULL-safe; zeroes */
/* The highest revision of a family ever registered (0 if none). */
int store_sched_max_revision(struct store *s, const char *family, int64_t *out,
                             struct store_error *err);
void store_sched_obj_free(struct store_sched_obj *o);     /* NULL-safe; zeroes */
void store_sched_list_free(struct store_sched_list *list); /* NULL-safe; zeroes */
const char *store_sched_kind_name(enum store_sched_kind kind);

#endif
