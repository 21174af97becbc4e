/*
 * audit.c - the audit_events table: append one row per request, read rows
 * back.
 *
 * The gateway writes a row before it answers (no record, no response), so an
 * append is a single INSERT in its own transaction, durable to the configured
 * synchronous level when this returns. Limits are checked before SQLite sees
 * anything, so an oversized or malformed event writes nothing. Reads copy
 * every string out of SQLite's buffers into memory the caller owns, because
 * those buffers live only until the statement is reset and the lock released.
 * Rows cannot be updated or deleted: triggers in the schema refuse it.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_LIMIT_MAX 1000

static int check_text(const char *name, const char *v, size_t max, bool required,
                      struct store_error *err)
{
	if (!v) {
		if (required)
			return store_fail(err, STORE_ERR_INVALID, "audit event: %s is required",
			                  name);
		return STORE_OK;
	}
	size_t n = strnlen(v, max + 1);
	if (required && n == 0)
		return store_fail(err, STORE_ERR_INVALID, "audit event: %s is empty", name);
	if (n > max)
		return store_fail(err, STORE_ERR_INVALID,
		                  "audit event: %s is longer than %zu bytes", name, max);
	return STORE_OK;
}

static int check_event(const struct store_audit_event *ev, struct store_error *err)
{
	if (!ev)
		return store_fail(err, STORE_ERR_INVALID, "audit event: none given");
	if (ev->time_us <= 0)
		return store_fail(err, STORE_ERR_INVALID,
		                  "audit event: time_us must be positive (got %lld)",
		                  (long long)ev->time_us);
	if (ev->has_latency && ev->latency_us < 0)
		return store_fail(err, STORE_ERR_INVALID,
		                  "audit event: latency_us must not be negative (got %lld)",
		                  (long long)ev->latency_us);
	int code = check_text("request_id", ev->request_id, STORE_AUDIT_ID_MAX, true, err);
	if (code == STORE_OK)
		code = check_text("source_ip", ev->source_ip, STORE_AUDIT_ID_MAX, false, err);
	if (code == STORE_OK)
		code =
		    check_text("principal", ev->principal, STORE_AUDIT_PRINCIPAL_MAX, false, err);
	if (code == STORE_OK)
		code = check_text("action", ev->action, STORE_AUDIT_ID_MAX, false, err);
	if (code == STORE_OK)
		code = check_text("decision", ev->decision, STORE_AUDIT_ID_MAX, false, err);
	if (code == STORE_OK)
		code = check_text("error_code", ev->error_code, STORE_AUDIT_ID_MAX, false, err);
	if (code == STORE_OK)
		code = check_text("record", ev->record, STORE_AUDIT_RECORD_MAX, true, err);
	return code;
}

/* Binds a string or SQL NULL. SQLITE_TRANSIENT: SQLite copies it, so the
 * caller's buffer is free again as soon as we return. */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int store_audit_append(struct store *s, const struct store_audit_event *ev, int64_t *seq_out,
                       struct store_error *err)
{
	store_clear_error(err);
	if (seq_out)
		*seq_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit append: no database open");
	int code = check_event(ev, err);
	if (code != STORE_OK)
		return code;
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY,
		                  "%s: opened read-only; cannot append audit events", s->path);

	store_lock(s);
	sqlite3_stmt *st = NULL;
	code = store_stmt(s, STORE_STMT_AUDIT_APPEND,
	                  "INSERT INTO audit_events(time_us, request_id, source_ip, principal,"
	                  " action, decision, status, error_code, latency_us, record)"
	                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	                  &st, err);
	if (code == STORE_OK) {
		int rc = sqlite3_bind_int64(st, 1, ev->time_us);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 2, ev->request_id);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 3, ev->source_ip);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 4, ev->principal);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 5, ev->action);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 6, ev->decision);
		if (rc == SQLITE_OK)
			rc = ev->has_status ? sqlite3_bind_int(st, 7, ev->status)
			                    : sqlite3_bind_null(st, 7);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 8, ev->error_code);
		if (rc == SQLITE_OK)
			rc = ev->has_latency ? sqlite3_bind_int64(st, 9, ev->latency_us)
			                     : sqlite3_bind_null(st, 9);
		if (rc == SQLITE_OK)
			rc = bind_text(st, 10, ev->record);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			if (seq_out)
				*seq_out = sqlite3_last_insert_rowid(s->db);
		} else {
			code =
			    store_fail_sqlite(err, s->db, rc, s->path, "appending an audit event");
		}
		store_stmt_done(st);
	}
	store_unlock(s);
	return code;
}

int store_audit_count(struct store *s, int64_t *count_out, int64_t *last_seq_out,
                      struct store_error *err)
{
	store_clear_error(err);
	if (count_out)
		*count_out = 0;
	if (last_seq_out)
		*last_seq_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit count: no database open");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = store_stmt(s, STORE_STMT_AUDIT_COUNT,
	                      "SELECT count(*), coalesce(max(seq), 0) FROM audit_events", &st, err);
	if (code == STORE_OK) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			if (count_out)
				*count_out = sqlite3_column_int64(st, 0);
			if (last_seq_out)
				*last_seq_out = sqlite3_column_int64(st, 1);
		} else {
			code = store_fail_sqlite(err, s->db, rc, s->path, "counting audit events");
		}
		store_stmt_done(st);
	}
	store_unlock(s);
	return code;
}

/* A copy of a text column, or NULL for SQL NULL. *oom is set when a copy
 * was needed and could not be made. */
static void row_free(struct store_audit_row *r)
{
	/* The strings were allocated by column_dup; const is for the reader. */
	free((char *)r->ev.request_id);
	free((char *)r->ev.source_ip);
	free((char *)r->ev.principal);
	free((char *)r->ev.action);
	free((char *)r->ev.decision);
	free((char *)r->ev.error_code);
	free((char *)r->ev.record);
	memset(r, 0, sizeof(*r));
}

void store_audit_list_free(struct store_audit_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		row_free(&list->rows[i]);
	free(list->rows);
	list->rows = NULL;
	list->n = 0;
}

/* Columns: seq, time_us, request_id, source_ip, principal, action, decision,
 * status, error_code, latency_us, record, prev_hash, hash. */
int store_audit_row_read(sqlite3_stmt *st, struct store_audit_row *r)
{
	bool oom = false;
	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(st, 0);
	r->ev.time_us = sqlite3_column_int64(st, 1);
	r->ev.request_id = store_col_dup(st, 2, &oom);
	r->ev.source_ip = store_col_dup(st, 3, &oom);
	r->ev.principal = store_col_dup(st, 4, &oom);
	r->ev.action = store_col_dup(st, 5, &oom);
	r->ev.decision = store_col_dup(st, 6, &oom);
	r->ev.has_status = sqlite3_column_type(st, 7) != SQLITE_NULL;
	r->ev.status = sqlite3_column_int(st, 7);
	r->ev.error_code = store_col_dup(st, 8, &oom);
	r->ev.has_latency = sqlite3_column_type(st, 9) != SQLITE_NULL;
	r->ev.latency_us = sqlite3_column_int64(st, 9);
	r->ev.record = store_col_dup(st, 10, &oom);
	/* Both hashes or neither: a row with one is not a chained row. */
	if (sqlite3_column_type(st, 11) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 11) == STORE_AUDIT_HASH_LEN &&
	    sqlite3_column_type(st, 12) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 12) == STORE_AUDIT_HASH_LEN) {
		r->chained = true;
		memcpy(r->prev_hash, sqlite3_column_blob(st, 11), STORE_AUDIT_HASH_LEN);
		memcpy(r->hash, sqlite3_column_blob(st, 12), STORE_AUDIT_HASH_LEN);
	}
	if (oom) {
		row_free(r);
		return STORE_ERR_NOMEM;
	}
	return STORE_OK;
}

int store_audit_rows_collect(struct store *s, sqlite3_stmt *st, int rc,
                             struct store_audit_row *rows, size_t limit, const char *what,
                             struct store_audit_list *out, struct store_error *err)
{
	size_t n = 0;
	int code = STORE_OK;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		/* n == limit cannot happen with LIMIT bound; it guards the array */
		if (rc != SQLITE_ROW || n == limit)
			break;
		if (store_audit_row_read(st, &rows[n]) != STORE_OK) {
			code = store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", s->path);
			break;
		}
		n++;
	}
	if (code == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		code = store_fail_sqlite(err, s->db, rc, s->path, what);
	/* An empty result owns nothing: a caller that stops at n == 0
	 * without freeing leaks nothing. */
	if (n == 0) {
		free(rows);
		rows = NULL;
	}
	out->rows = rows;
	out->n = n;
	if (code != STORE_OK)
		store_audit_list_free(out);
	return code;
}

static int read_rows(struct store *s, enum store_stmt_id id, const char *sql, bool has_after,
                     int64_t after_seq, size_t limit, struct store_audit_list *out,
                     struct store_error *err)
{
	store_clear_error(err);
	if (!out)
		return store_fail(err, STORE_ERR_INVALID, "audit read: no place for the result");
	out->rows = NULL;
	out->n = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit read: no database open");
	if (limit == 0 || limit > READ_LIMIT_MAX)
		return store_fail(err, STORE_ERR_INVALID,
		                  "audit read: limit must be 1..%d (got %zu)", READ_LIMIT_MAX,
		                  limit);
	/* Allocated up front, outside the lock: limit is capped, so this is at
	 * most a thousand rows' headers. */
	struct store_audit_row *rows = calloc(limit, sizeof(*rows));
	if (!rows)
		return store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", s->path);

	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = store_stmt(s, id, sql, &st, err);
	if (code == STORE_OK) {
		int p = 1;
		int rc = SQLITE_OK;
		if (has_after)
			rc = sqlite3_bind_int64(st, p++, after_seq);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, p, (sqlite3_int64)limit);
		code = store_audit_rows_collect(s, st, rc, rows, limit, "reading audit events", out,
		                                err);
		store_stmt_done(st);
	} else {
		free(rows);
	}
	store_unlock(s);
	return code;
}

int store_audit_read(struct store *s, int64_t after_seq, size_t limit, struct store_audit_list *out,
                     struct store_error *err)
{
	return read_rows(
	    s, STORE_STMT_AUDIT_READ,
	    "SELECT seq, time_us, request_id, source_ip, principal, action, decision,"
	    " status, error_code, latency_us, record, prev_hash, hash FROM audit_events"
	    " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	    true, after_seq, limit, out, err);
}

int store_audit_recent(struct store *s, size_t limit, struct store_audit_list *out,
                       struct store_error *err)
{
	return read_rows(
	    s, STORE_STMT_AUDIT_RECENT,
	    "SELECT seq, time_us, request_id, source_ip, principal, action, decision,"
	    " status, error_code, latency_us, record, prev_hash, hash FROM audit_events"
	    " ORDER BY seq DESC LIMIT ?1",
	    false, 0, limit, out, err);
}

/* ---- the hash chain and checkpoints ---- */

static int exec_sql(struct store *s, const char *sql, const char *what, struct store_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, what);
	return STORE_OK;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct store_error *err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "preparing an audit statement");
	return STORE_OK;
}

/* Steps and finalizes st, a select of at most one (seq, hash) row: *found
 * says whether there was one; hash is left alone unless the row holds one
 * of the right length. what names the work in a database error. */
static int step_seq_hash(struct store *s, sqlite3_stmt *st, int64_t *seq,
                         unsigned char hash[STORE_AUDIT_HASH_LEN], bool *found, const char *what,
                         struct store_error *err)
{
	int code = STORE_OK;
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) == SQLITE_BLOB &&
		    sqlite3_column_bytes(st, 1) == STORE_AUDIT_HASH_LEN)
			memcpy(hash, sqlite3_column_blob(st, 1), STORE_AUDIT_HASH_LEN);
	} else if (rc != SQLITE_DONE) {
		code = store_fail_sqlite(err, s->db, rc, s->path, what);
	}
	sqlite3_finalize(st);
	return code;
}

/* The chain head: the last row's seq and hash (zeros when the last row is
 * not chained or there is none). Inside the write transaction. */
static int read_head(struct store *s, int64_t *seq, unsigned char hash[STORE_AUDIT_HASH_LEN],
                     struct store_error *err)
{
	*seq = 0;
	memset(hash, 0, STORE_AUDIT_HASH_LEN);
	sqlite3_stmt *st = NULL;
	int code =
	    prepare(s, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", &st, err);
	if (code != STORE_OK)
		return code;
	bool found;
	code = step_seq_hash(s, st, seq, hash, &found, "reading the audit chain head", err);
	if (code != STORE_OK || found)
		return code;
	/* No rows: a new log, or one pruned to its last record. After a prune
	 * the chain goes on from the anchor: its seq and its signed head. */
	code = prepare(s,
	               "SELECT CAST(a.value AS INTEGER), c.head_hash FROM meta a"
	               " JOIN meta k ON k.key = 'audit_anchor_checkpoint'"
	               " JOIN audit_checkpoints c ON c.id = CAST(k.value AS INTEGER)"
	               " WHERE a.key = 'audit_anchor_seq'",
	               &st, err);
	if (code != STORE_OK)
		return code;
	return step_seq_hash(s, st, seq, hash, &found, "reading the audit prune anchor", err);
}

static int insert_chained(struct store *s, sqlite3_stmt *st, int64_t seq,
                          const struct store_audit_event *ev,
                          const unsigned char prev[STORE_AUDIT_HASH_LEN],
                          const unsigned char hash[STORE_AUDIT_HASH_LEN], struct store_error *err)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	int rc = sqlite3_bind_int64(st, 1, seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, ev->time_us);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 3, ev->request_id);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 4, ev->source_ip);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 5, ev->principal);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 6, ev->action);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 7, ev->decision);
	if (rc == SQLITE_OK)
		rc =
		    ev->has_status ? sqlite3_bind_int(st, 8, ev->status) : sqlite3_bind_null(st, 8);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 9, ev->error_code);
	if (rc == SQLITE_OK)
		rc = ev->has_latency ? sqlite3_bind_int64(st, 10, ev->latency_us)
		                     : sqlite3_bind_null(st, 10);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 11, ev->record);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 12, prev, STORE_AUDIT_HASH_LEN, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 13, hash, STORE_AUDIT_HASH_LEN, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return store_fail_sqlite(err, s->db, rc, s->path, "appending an audit event");
	return STORE_OK;
}

static int append_batch(struct store *s, const struct store_audit_event *evs, size_t n,
                        const struct store_audit_hasher *h, int64_t *seqs_out,
                        unsigned char head_out[STORE_AUDIT_HASH_LEN], struct store_error *err)
{
	int64_t seq = 0;
	unsigned char prev[STORE_AUDIT_HASH_LEN];
	unsigned char hash[STORE_AUDIT_HASH_LEN];
	int code = read_head(s, &seq, prev, err);
	if (code != STORE_OK)
		return code;
	sqlite3_stmt *st = NULL;
	code = prepare(s,
	               "INSERT INTO audit_events(seq, time_us, request_id, source_ip, principal,"
	               " action, decision, status, error_code, latency_us, record, prev_hash, hash)"
	               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	               &st, err);
	for (size_t i = 0; code == STORE_OK && i < n; i++) {
		seq++;
		if (h->fn(h->ctx, seq, &evs[i], prev, hash) != 0) {
			code = store_fail(err, STORE_ERR_INVALID,
			                  "audit append: the record could not be hashed");
			break;
		}
		code = insert_chained(s, st, seq, &evs[i], prev, hash, err);
		if (code == STORE_OK) {
			if (seqs_out)
				seqs_out[i] = seq;
			memcpy(prev, hash, STORE_AUDIT_HASH_LEN);
		}
	}
	sqlite3_finalize(st);
	if (code == STORE_OK && head_out)
		memcpy(head_out, prev, STORE_AUDIT_HASH_LEN);
	return code;
}

int store_audit_append_chained(struct store *s, const struct store_audit_event *evs, size_t n,
                               const struct store_audit_hasher *h, int64_t *seqs_out,
                               unsigned char head_out[STORE_AUDIT_HASH_LEN],
                               struct store_error *err)
{
	store_clear_error(err);
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit append: no database open");
	if (!evs || n == 0 || n > READ_LIMIT_MAX)
		return store_fail(err, STORE_ERR_INVALID,
		                  "audit append: 1..%d events per batch (got %zu)", READ_LIMIT_MAX,
		                  n);
	if (!h || !h->fn)
		return store_fail(err, STORE_ERR_INVALID, "audit append: no hash function");
	for (size_t i = 0; i < n; i++) {
		int code = check_event(&evs[i], err);
		if (code != STORE_OK)
			return code;
	}
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY,
		                  "%s: opened read-only; cannot append audit events", s->path);
	store_lock(s);
	int code = exec_sql(s, "BEGIN IMMEDIATE", "starting an audit append", err);
	if (code == STORE_OK)
		code = append_batch(s, evs, n, h, seqs_out, head_out, err);
	if (code == STORE_OK)
		code = exec_sql(s, "COMMIT", "committing audit events", err);
	if (code != STORE_OK)
		store_rollback(s);
	store_unlock(s);
	return code;
}

int store_audit_chain_from(struct store *s, int64_t *seq_out, struct store_error *err)
{
	store_clear_error(err);
	return store_meta_int(s, "audit_chain_from", 1, 1, seq_out, err);
}

static int checkpoint_insert(struct store *s, int64_t seq, int64_t time_us, const char *key_id,
                             const struct store_audit_signer *signer,
                             struct store_audit_checkpoint *cp, struct store_error *err)
{
	memset(cp, 0, sizeof(*cp));
	sqlite3_stmt *st = NULL;
	int code = prepare(s,
	                   "SELECT (SELECT hash FROM audit_events WHERE seq = ?1),"
	                   " (SELECT coalesce(max(id), 0) + 1 FROM audit_checkpoints)",
	                   &st, err);
	if (code != STORE_OK)
		return code;
	int rc = sqlite3_bind_int64(st, 1, seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		code = store_fail_sqlite(err, s->db, rc, s->path, "reading the checkpoint head");
	} else if (sqlite3_column_type(st, 0) != SQLITE_BLOB ||
	           sqlite3_column_bytes(st, 0) != STORE_AUDIT_HASH_LEN) {
		code = store_fail(err, STORE_ERR_NOT_FOUND,
		                  "audit checkpoint: record %lld does not exist or is not chained",
		                  (long long)seq);
	} else {
		memcpy(cp->head, sqlite3_column_blob(st, 0), STORE_AUDIT_HASH_LEN);
		cp->id = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (code != STORE_OK)
		return code;
	cp->seq = seq;
	cp->time_us = time_us;
	int n = snprintf(cp->key_id, sizeof(cp->key_id), "%s", key_id);
	if (n < 0 || (size_t)n >= sizeof(cp->key_id))
		return store_fail(err, STORE_ERR_INVALID, "audit checkpoint: key id too long");
	if (signer->fn(signer->ctx, cp) != 0 || cp->sig_len == 0 ||
	    cp->sig_len > STORE_AUDIT_SIG_MAX)
		return store_fail(err, STORE_ERR_INVALID, "audit checkpoint: signing failed");
	code = prepare(s,
	               "INSERT INTO audit_checkpoints(id, seq, head_hash, time_us, key_id,"
	               " signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	               &st, err);
	if (code != STORE_OK)
		return code;
	rc = sqlite3_bind_int64(st, 1, cp->id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, cp->seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, cp->head, STORE_AUDIT_HASH_LEN, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, cp->time_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, cp->key_id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 6, cp->sig, (int)cp->sig_len, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "writing an audit checkpoint");
	sqlite3_finalize(st);
	return code;
}

int store_audit_checkpoint_add(struct store *s, int64_t seq, int64_t time_us, const char *key_id,
                               const struct store_audit_signer *signer,
                               struct store_audit_checkpoint *out, struct store_error *err)
{
	store_clear_error(err);
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit checkpoint: no database open");
	if (!signer || !signer->fn || !key_id || seq < 1 || time_us <= 0)
		return store_fail(err, STORE_ERR_INVALID, "audit checkpoint: invalid arguments");
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY,
		                  "%s: opened read-only; cannot write checkpoints", s->path);
	struct store_audit_checkpoint cp;
	store_lock(s);
	int code = exec_sql(s, "BEGIN IMMEDIATE", "starting an audit checkpoint", err);
	if (code == STORE_OK)
		code = checkpoint_insert(s, seq, time_us, key_id, signer, &cp, err);
	if (code == STORE_OK)
		code = exec_sql(s, "COMMIT", "committing an audit checkpoint", err);
	if (code != STORE_OK)
		store_rollback(s);
	store_unlock(s);
	if (code == STORE_OK && out)
		*out = cp;
	return code;
}

int store_audit_checkpoint_last(struct store *s, int64_t *seq_out, int64_t *time_us_out,
                                struct store_error *err)
{
	store_clear_error(err);
	*seq_out = 0;
	*time_us_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit checkpoint: no database open");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = prepare(s, "SELECT seq, time_us FROM audit_checkpoints ORDER BY id DESC LIMIT 1",
	                   &st, err);
	if (code == STORE_OK) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*seq_out = sqlite3_column_int64(st, 0);
			*time_us_out = sqlite3_column_int64(st, 1);
		} else if (rc != SQLITE_DONE) {
			code = store_fail_sqlite(err, s->db, rc, s->path, "reading checkpoints");
		}
		sqlite3_finalize(st);
	}
	store_unlock(s);
	return code;
}

/* One checkpoint row; a head or signature of the wrong size is kept as
 * empty/zero, which verification then reports as a bad checkpoint. */
static void read_checkpoint(sqlite3_stmt *st, struct store_audit_checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->id = sqlite3_column_int64(st, 0);
	cp->seq = sqlite3_column_int64(st, 1);
	if (sqlite3_column_bytes(st, 2) == STORE_AUDIT_HASH_LEN && sqlite3_column_blob(st, 2))
		memcpy(cp->head, sqlite3_column_blob(st, 2), STORE_AUDIT_HASH_LEN);
	cp->time_us = sqlite3_column_int64(st, 3);
	const unsigned char *k = sqlite3_column_text(st, 4);
	int kn = sqlite3_column_bytes(st, 4);
	if (k && kn > 0 && kn <= STORE_AUDIT_KEY_ID_MAX)
		memcpy(cp->key_id, k, (size_t)kn);
	int sn = sqlite3_column_bytes(st, 5);
	const void *sig = sqlite3_column_blob(st, 5);
	if (sig && sn > 0 && sn <= STORE_AUDIT_SIG_MAX) {
		memcpy(cp->sig, sig, (size_t)sn);
		cp->sig_len = (size_t)sn;
	}
}

int store_audit_checkpoints(struct store *s, struct store_audit_checkpoint **out, size_t *n_out,
                            struct store_error *err)
{
	store_clear_error(err);
	*out = NULL;
	*n_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit checkpoints: no database open");
	struct store_audit_checkpoint *v = NULL;
	size_t n = 0, cap = 0;
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = prepare(s,
	                   "SELECT id, seq, head_hash, time_us, key_id, signature"
	                   " FROM audit_checkpoints ORDER BY id",
	                   &st, err);
	int rc = SQLITE_ROW;
	while (code == STORE_OK) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct store_audit_checkpoint *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				code =
				    store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", s->path);
				break;
			}
			v = nv;
			cap = ncap;
		}
		read_checkpoint(st, &v[n++]);
	}
	if (code == STORE_OK && rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "reading checkpoints");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code != STORE_OK) {
		free(v);
		return code;
	}
	*out = v;
	*n_out = n;
	return STORE_OK;
}
