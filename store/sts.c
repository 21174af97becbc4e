/*
 * sts.c - the STS session tables: temporary credentials issued by the
 * gateway, looked up by access key id on every request signed with them.
 *
 * The rows are plain data. What makes them safe is decided before they get
 * here: the secret arrives sealed by the gateway's key box and the session
 * token arrives as its SHA-256, so neither a backup nor a stolen file yields
 * usable credentials. A session is revoked by stamping revoked_at rather than
 * deleting it, so that a revoked key is told apart from one never issued and
 * the refusal can say so; only the expiry purge deletes rows.
 *
 * Each function takes the store's lock for its whole transaction; a session
 * and its tags are written in one BEGIN IMMEDIATE transaction, so a reader
 * never sees a session without its tags.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

static int bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static bool valid_session(const struct store_sts_session *x)
{
	return x && x->access_key_id && strlen(x->access_key_id) == 20 && x->sealed_secret &&
	       x->sealed_n > 0 && x->sealed_n <= (size_t)INT32_MAX && x->role_arn &&
	       x->session_name && x->source_arn && x->chain_depth >= 0 &&
	       x->expires_at > x->issued_at && x->n_tags <= STORE_STS_TAGS_MAX &&
	       (x->n_tags == 0 || x->tags);
}

static int insert_rows(struct store *s, const struct store_sts_session *x, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "INSERT INTO sts_sessions(access_key_id, sealed_secret, token_sha256, role_arn,"
	    " session_name, source_arn, session_policy, source_identity, owner_task, chain_depth,"
	    " issued_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, x->access_key_id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 2, x->sealed_secret, (int)x->sealed_n, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, x->token_sha256, 32, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, x->role_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, x->session_name, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, x->source_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = bind_opt_text(st, 7, x->session_policy);
	if (rc == SQLITE_OK)
		rc = bind_opt_text(st, 8, x->source_identity);
	if (rc == SQLITE_OK)
		rc = bind_opt_text(st, 9, x->owner_task);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, x->chain_depth);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 11, x->issued_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 12, x->expires_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "storing an STS session");

	rc =
	    sqlite3_prepare_v2(s->db,
	                       "INSERT INTO sts_session_tags(access_key_id, key, value, transitive)"
	                       " VALUES (?,?,?,?)",
	                       -1, &st, NULL);
	for (size_t i = 0; i < x->n_tags && rc == SQLITE_OK; i++) {
		if (!x->tags[i].key || !x->tags[i].value) {
			sqlite3_finalize(st);
			return store_fail(err, STORE_ERR_INVALID,
			                  "an STS session tag lacks its key or value");
		}
		rc = sqlite3_bind_text(st, 1, x->access_key_id, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 2, x->tags[i].key, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 3, x->tags[i].value, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(st, 4, x->tags[i].transitive ? 1 : 0);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "storing an STS session's tags");
	return STORE_OK;
}

int store_sts_insert(struct store *s, const struct store_sts_session *sess, struct store_error *err)
{
	store_clear_error(err);
	if (!s || !valid_session(sess))
		return store_fail(
		    err, STORE_ERR_INVALID,
		    "an STS session needs a 20-character key id, a sealed secret, role, "
		    "session name, source, and expires_at after issued_at");
	store_lock(s);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	int code = rc == SQLITE_OK ? STORE_OK
	                           : store_fail_sqlite(err, s->db, rc, s->path,
	                                               "starting to store an STS session");
	if (code == STORE_OK)
		code = insert_rows(s, sess, err);
	if (code == STORE_OK) {
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			code =
			    store_fail_sqlite(err, s->db, rc, s->path, "committing an STS session");
	}
	if (code != STORE_OK)
		store_rollback(s);
	store_unlock(s);
	return code;
}

void store_sts_session_free(struct store_sts_session *x)
{
	if (!x)
		return;
	free(x->access_key_id);
	free(x->sealed_secret);
	free(x->role_arn);
	free(x->session_name);
	free(x->source_arn);
	free(x->session_policy);
	free(x->source_identity);
	free(x->owner_task);
	for (size_t i = 0; i < x->n_tags; i++) {
		free(x->tags[i].key);
		free(x->tags[i].value);
	}
	free(x->tags);
	memset(x, 0, sizeof(*x));
}

static int read_session(struct store *s, const char *id, struct store_sts_session *out,
                        struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT access_key_id, sealed_secret, token_sha256, role_arn, session_name, source_arn,"
	    " session_policy, source_identity, owner_task, chain_depth, issued_at, expires_at,"
	    " coalesce(revoked_at, 0) FROM sts_sessions WHERE access_key_id = ?",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return store_fail(err, STORE_ERR_NOT_FOUND,
		                  "no STS session has this access key id");
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_fail_sqlite(err, s->db, rc, s->path, "reading an STS session");
	}
	bool oom = false;
	out->access_key_id = store_col_dup(st, 0, &oom);
	int n = sqlite3_column_bytes(st, 1);
	const void *b = sqlite3_column_blob(st, 1);
	if (b && n > 0) {
		out->sealed_secret = malloc((size_t)n);
		if (out->sealed_secret) {
			memcpy(out->sealed_secret, b, (size_t)n);
			out->sealed_n = (size_t)n;
		} else {
			oom = true;
		}
	}
	b = sqlite3_column_blob(st, 2);
	if (b && sqlite3_column_bytes(st, 2) == 32)
		memcpy(out->token_sha256, b, 32);
	out->role_arn = store_col_dup(st, 3, &oom);
	out->session_name = store_col_dup(st, 4, &oom);
	out->source_arn = store_col_dup(st, 5, &oom);
	out->session_policy = store_col_dup(st, 6, &oom);
	out->source_identity = store_col_dup(st, 7, &oom);
	out->owner_task = store_col_dup(st, 8, &oom);
	out->chain_depth = sqlite3_column_int64(st, 9);
	out->issued_at = sqlite3_column_int64(st, 10);
	out->expires_at = sqlite3_column_int64(st, 11);
	out->revoked_at = sqlite3_column_int64(st, 12);
	sqlite3_finalize(st);
	if (oom)
		return store_fail(err, STORE_ERR_NOMEM, "out of memory reading an STS session");

	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT key, value, transitive FROM sts_session_tags"
	                        " WHERE access_key_id = ? ORDER BY key",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (out->n_tags >= STORE_STS_TAGS_MAX) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if (!out->tags) {
			out->tags = calloc(STORE_STS_TAGS_MAX, sizeof(*out->tags));
			if (!out->tags) {
				oom = true;
				break;
			}
		}
		struct store_sts_tag *t = &out->tags[out->n_tags++];
		t->key = store_col_dup(st, 0, &oom);
		t->value = store_col_dup(st, 1, &oom);
		t->transitive = sqlite3_column_int(st, 2) != 0;
		if (oom)
			break;
	}
	sqlite3_finalize(st);
	if (oom)
		return store_fail(err, STORE_ERR_NOMEM,
		                  "out of memory reading an STS session's tags");
	if (rc != SQLITE_DONE)
		return store_fail_sqlite(err, s->db, rc, s->path, "reading an STS session's tags");
	return STORE_OK;
}

int store_sts_get(struct store *s, const char *access_key_id, struct store_sts_session *out,
                  struct store_error *err)
{
	store_clear_error(err);
	memset(out, 0, sizeof(*out));
	if (!s || !access_key_id)
		return store_fail(err, STORE_ERR_INVALID, "an STS lookup needs an access key id");
	store_lock(s);
	int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	int code = rc == SQLITE_OK ? read_session(s, access_key_id, out, err)
	                           : store_fail_sqlite(err, s->db, rc, s->path,
	                                               "starting to read an STS session");
	store_rollback(s); /* a read transaction: nothing to keep */
	store_unlock(s);
	if (code != STORE_OK)
		store_sts_session_free(out);
	return code;
}

/* Runs one UPDATE/DELETE with a text and an integer parameter; *changes gets
 * the number of rows it touched. */
static int change(struct store *s, const char *sql, const char *text, int64_t num, int64_t *changes,
                  const char *what, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	store_lock(s);
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	int bind = 1;
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, bind++, num);
	if (rc == SQLITE_OK && text)
		rc = sqlite3_bind_text(st, bind, text, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, what);
	else if (changes)
		*changes = sqlite3_changes64(s->db);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

int store_sts_revoke(struct store *s, const char *access_key_id, int64_t now,
                     struct store_error *err)
{
	store_clear_error(err);
	if (!s || !access_key_id)
		return store_fail(err, STORE_ERR_INVALID, "revoking needs an access key id");
	int64_t n = 0;
	int code = change(s,
	                  "UPDATE sts_sessions SET revoked_at = coalesce(revoked_at, ?)"
	                  " WHERE access_key_id = ?",
	                  access_key_id, now, &n, "revoking an STS session", err);
	if (code == STORE_OK && n == 0)
		return store_fail(err, STORE_ERR_NOT_FOUND,
		                  "no STS session has this access key id");
	return code;
}

int store_sts_revoke_task(struct store *s, const char *owner_task, int64_t now, int64_t *n_out,
                          struct store_error *err)
{
	store_clear_error(err);
	if (n_out)
		*n_out = 0;
	if (!s || !owner_task)
		return store_fail(err, STORE_ERR_INVALID,
		                  "revoking a task's sessions needs the task");
	return change(s,
	              "UPDATE sts_sessions SET revoked_at = ?"
	              " WHERE owner_task = ? AND revoked_at IS NULL",
	              owner_task, now, n_out, "revoking a task's STS sessions", err);
}

int store_sts_purge_expired(struct store *s, int64_t before, int64_t *n_out,
                            struct store_error *err)
{
	store_clear_error(err);
	if (n_out)
		*n_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "purging needs a store");
	/* the tags go with their session (ON DELETE CASCADE) */
	return change(s, "DELETE FROM sts_sessions WHERE expires_at <= ?", NULL, before, n_out,
	              "purging expired STS sessions", err);
}
