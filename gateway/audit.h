/*
 * audit.h - the tamper-evident decision log (private to gateway/).
 *
 * Every request leaves one row in the store's audit_events table. This module
 * decides what the bytes of a row mean: its canonical form (a line-per-field,
 * length-prefixed encoding that an auditor can rebuild in a few lines of any
 * language), the SHA-256 hash chain that links each row to the one before, and
 * the Ed25519 checkpoints that sign the chain head every N records or T
 * seconds. It also walks a log and says whether it is intact, and if not,
 * names the first broken record. The store runs the hash callback inside its
 * write transaction, so concurrent writers cannot fork the chain.
 *
 * docs/audit.md is the auditor's description of the same formats; the two must
 * agree byte for byte (tests/unit/test_gw_audit.c holds a known answer).
 */
#ifndef TASKGATE_GATEWAY_AUDIT_H
#define TASKGATE_GATEWAY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "store/store.h"

enum gw_audit_status {
	GW_AUDIT_OK = 0,
	GW_AUDIT_TAMPERED = 1,    /* verify: the log is not intact; the report says where */
	GW_AUDIT_ERR_IO = -1,     /* a key file or the store could not be read or written */
	GW_AUDIT_ERR_KEY = -2,    /* not an Ed25519 key, or not private to its owner */
	GW_AUDIT_ERR_EXISTS = -3, /* refusing to overwrite a key file */
	GW_AUDIT_ERR_NOMEM = -4,
	GW_AUDIT_ERR_CRYPTO = -5,
	GW_AUDIT_ERR_ARG = -6,
};

struct gw_audit_error {
	int code;
	char message[512];
};

#define GW_AUDIT_HEX_LEN    64 /* a SHA-256 in lowercase hex */
#define GW_AUDIT_KEY_ID_LEN 16 /* hex digits of the public key's fingerprint */

/* The canonical form of ev stored at seq after a record whose hash is prev;
 * malloc'd, NUL-terminated (the record text cannot hold NUL), *len_out its
 * length. NULL when out of memory. */
char *gw_audit_canonical(int64_t seq, const struct store_audit_event *ev,
                         const unsigned char prev[STORE_AUDIT_HASH_LEN], size_t *len_out);
/* SHA-256 of the canonical form; 0, or -1 when out of memory. */
int gw_audit_hash(int64_t seq, const struct store_audit_event *ev,
                  const unsigned char prev[STORE_AUDIT_HASH_LEN],
                  unsigned char out[STORE_AUDIT_HASH_LEN]);
/* The hasher the store calls inside its transaction (ctx unused). */
extern const struct store_audit_hasher gw_audit_hasher;

void gw_audit_hex(const unsigned char *p, size_t n, char *out /* 2n + 1 */);

/* --- the audit key ------------------------------------------------------ */

/* Makes a new Ed25519 private key at path (PKCS#8 PEM, O_EXCL, mode 0600,
 * fsync'd). An existing file is never touched: GW_AUDIT_ERR_EXISTS. */
int gw_audit_key_create(const char *path, struct gw_audit_error *err);
/* Loads the private key; refuses a file others may read or that is not
 * Ed25519. The caller frees *out with EVP_PKEY_free. */
int gw_audit_key_load(const char *path, EVP_PKEY **out, struct gw_audit_error *err);
/* Loads a public key (PEM SubjectPublicKeyInfo, or a private key file, whose
 * public half is used). */
int gw_audit_public_key_load(const char *path, EVP_PKEY **out, struct gw_audit_error *err);
/* The PEM public half; malloc'd. */
char *gw_audit_public_pem(EVP_PKEY *key);
/* The key's id: the first 16 hex digits of SHA-256(raw 32-byte public key). */
int gw_audit_key_id(EVP_PKEY *key, char out[GW_AUDIT_KEY_ID_LEN + 1]);

/* The exact bytes a checkpoint signature covers; 0 or -1 (too long). */
int gw_audit_checkpoint_message(const struct store_audit_checkpoint *cp, char *buf, size_t cap,
                                size_t *len_out);
/* Signature checks out under key (and the key id matches). */
bool gw_audit_checkpoint_valid(const struct store_audit_checkpoint *cp, EVP_PKEY *key);

/* --- the writer: group commit, chained appends and checkpoints ---------
 *
 * One committer thread owns the writes. A caller of gw_audit_append queues its
 * event and sleeps; the committer takes everything queued (up to batch_max),
 * appends it in ONE transaction (store_audit_append_chained), and wakes each
 * caller with its own result. So a record is never reported durable before
 * its transaction committed, and under load many requests share one fsync:
 * that is where the throughput comes from, not from a weaker guarantee. The
 * committer also writes checkpoints when due (by count after a batch, by time
 * even when idle), off every caller's path. */

struct gw_audit; /* thread-safe; one per server */

struct gw_audit_options {
	EVP_PKEY *key;       /* the signing key, or NULL: no checkpoints; owned by
	                      * the writer on success */
	int64_t every;       /* checkpoint after this many records (0: never by count) */
	int64_t interval_us; /* ... or when this long passed since the last (0: never by time) */
	unsigned batch_max;  /* most records per transaction; 0: 256; 1: no grouping */
};

/* Opens the writer and starts its committer thread. */
int gw_audit_open(struct store *store, const struct gw_audit_options *opts, struct gw_audit **out,
                  struct gw_audit_error *err);
/* Commits what is queued, stops the committer, writes a final checkpoint
 * when records came after the last one; NULL-safe. No append may be running. */
void gw_audit_close(struct gw_audit *a);

/* Appends ev to the chain and waits for its transaction. On STORE_OK the
 * record is durable and *seq_out is its seq. On an error nothing of ev was
 * written. ev's strings are only read while this call runs. */
int gw_audit_append(struct gw_audit *a, const struct store_audit_event *ev, int64_t *seq_out,
                    struct store_error *err);
/* A checkpoint of the current head now (no-op without a key or new records). */
int gw_audit_checkpoint_now(struct gw_audit *a, struct store_error *err);

struct gw_audit_stats {
	uint64_t records;      /* committed by this writer */
	uint64_t transactions; /* batches committed */
	uint64_t failures;     /* records refused (the callers got an error) */
	uint64_t checkpoints;  /* written by this writer */
};
void gw_audit_get_stats(struct gw_audit *a, struct gw_audit_stats *out);

/* --- the records of a request (gateway/audit_record.c) ----------------- */
struct gw_request;

enum gw_audit_record_type {
	GW_AUDIT_RECORD_REQUEST = 0, /* stopped before execute: decision and answer */
	GW_AUDIT_RECORD_DECISION,    /* allowed: committed before execute runs */
	GW_AUDIT_RECORD_OUTCOME,     /* after execute: status, error, latency */
};

/* The record's JSON text (sorted keys, no white space), malloc'd; NULL when
 * out of memory. latency_us is what the record reports as latencyUs. */
char *gw_audit_request_record(const struct gw_request *r, enum gw_audit_record_type type,
                              int64_t latency_us);

/* --- records that do not come from an HTTP request ----------------------
 *
 * Credential issuance, a task fetching its credentials, a revocation: each
 * leaves one record in the same chain, CloudTrail-shaped like a request's
 * (eventType "AwsServiceEvent"). Strings may be NULL unless said otherwise;
 * nothing here may hold a secret or a token: the caller passes identifiers
 * (access key ids, task ARNs), never secret keys or session tokens. */
struct gw_server;
struct gw_principal;

struct gw_audit_event {
	const char *event_source; /* required: "ecs-tasks.amazonaws.com", "sts.amazonaws.com" */
	const char *event_name;   /* required: "IssueTaskCredentials", "GetTaskCredentials",
	                           * "RevokeTaskCredentials" */
	const char *request_id;   /* NULL: a fresh random one */
	const struct gw_principal *principal; /* who acted, or NULL */
	const char *principal_arn;            /* when principal is NULL: the ARN the event is about
	                                       * (the task role session); NULL: none */
	const char *access_key_id;            /* the credentials' key id (never the secret) */
	const char *source_ip;
	const char *user_agent;
	const char *iam_action; /* "sts:AssumeRole", or NULL */
	const char *resource;   /* an ARN (task, role), or NULL */
	const char *decision;   /* "Allow", "ExplicitDeny", "ImplicitDeny", or NULL */
	unsigned status;        /* HTTP status of the answer given, 0: none */
	const char *error_code; /* NULL: success */
	const char *error_message;
	const char *request_parameters; /* a compact JSON object, secrets removed, or NULL */
	const char *response_elements;  /* a compact JSON object, secrets removed, or NULL */
	int64_t latency_us;             /* < 0: none */
};

/* Builds the record and appends it through srv's writer (or, without one,
 * straight to srv->store in its own transaction). STORE_OK: durable; any
 * other code: nothing written, and the caller must fail closed (not hand out
 * the credentials). *seq_out (if not NULL) gets the record's seq. */
int gw_audit_record_event(struct gw_server *srv, const struct gw_audit_event *ev, int64_t *seq_out,
                          struct store_error *err);

/* --- verification ------------------------------------------------------- */

struct gw_audit_report {
	int64_t records;   /* chained records checked */
	int64_t unchained; /* rows from before the chain existed (not verifiable) */
	int64_t first_seq; /* first and last record seen in range (0 when none) */
	int64_t last_seq;
	int64_t checkpoints;     /* checkpoints whose signature and head were checked */
	int64_t unchecked_tail;  /* chained records after the last checkpoint in range */
	int64_t anchor_seq;      /* pruned up to this record (0: never pruned) */
	int64_t anchor_checkpoint; /* ... down to this signed checkpoint */
	bool signatures_checked; /* false: no public key was given */
	char problem[512];       /* GW_AUDIT_TAMPERED: the first broken thing, named */
};

/* Walks records from..to (0: from the start / to the end) and every
 * checkpoint in that range. GW_AUDIT_OK: intact; GW_AUDIT_TAMPERED: see
 * rep->problem; negative: the log could not be read. key NULL: checkpoint
 * heads are checked but not their signatures. */
int gw_audit_verify(struct store *s, EVP_PKEY *key, int64_t from, int64_t to,
                    struct gw_audit_report *rep, struct gw_audit_error *err);

/* --- export with a signed digest (gateway/audit_export.c) ---------------
 *
 * An export is JSON lines: each record's JSON object with one more member,
 * "taskgateIntegrity", holding its seq, the columns its canonical form
 * covers, prevHash and hash, so that the chain can be recomputed from the
 * export alone. The digest (a small JSON file) states the export file's
 * SHA-256, its record range, the hash before the first and after the last
 * record, and an Ed25519 signature over those by the audit key. */

struct gw_audit_export_result {
	int64_t records;
	int64_t first_seq, last_seq;
};

/* Writes the records with since_us <= time_us < until_us (until_us 0: no end)
 * as the contiguous seq range from the first such record to the last, to
 * out_path, and the signed digest to digest_path. Both are written to a
 * temporary name and renamed, so a failure leaves neither. */
int gw_audit_export(struct store *s, EVP_PKEY *key, int64_t since_us, int64_t until_us,
                    const char *out_path, const char *digest_path,
                    struct gw_audit_export_result *res, struct gw_audit_error *err);

/* Checks an export against its digest: the digest's signature (key required),
 * the file's SHA-256, and every record's hash and link, in order.
 * GW_AUDIT_OK, GW_AUDIT_TAMPERED (rep->problem names the line and record), or
 * negative. */
int gw_audit_verify_export(const char *export_path, const char *digest_path, EVP_PKEY *key,
                           struct gw_audit_report *rep, struct gw_audit_error *err);

/* The JSON object of one exported row (the record plus taskgateIntegrity);
 * NULL when out of memory or when the record is not a JSON object. */
struct json_t;
struct json_t *gw_audit_export_line(const struct store_audit_row *row);

#endif
