/*
 * taskcreds.c - the task endpoint's tables: task credentials rows (found by
 * the SHA-256 of their id) and the metadata ids of a task's containers.
 *
 * Plain data, as for STS sessions: the gateway hashes the id and seals the
 * session token before they get here. A task's rows and ids are written in
 * one transaction, so the endpoint never sees a task half registered; a
 * renewal is a compare-and-swap on the current key id, so two fetches racing
 * to renew the same credentials cannot both win; revoking stamps revoked_at
 * and keeps the row, so a revoked id is told apart from an unknown one in the
 * audit log, until the purge deletes it.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

static bool text_ok(const char *v)
{
	return v && v[0] && strnlen(v, STORE_TASKCRED_ARN_MAX + 1) <= STORE_TASKCRED_ARN_MAX;
}

static bool valid_cred(const struct store_taskcred *c)
{
	return c && text_ok(c->task_arn) && text_ok(c->cluster_arn) && c->kind &&
	       (strcmp(c->kind, "task") == 0 || strcmp(c->kind, "execution") == 0) &&
	       text_ok(c->role_arn) && c->access_key_id && strlen(c->access_key_id) == 20 &&
	       c->sealed_token && c->sealed_token_n > 0 && c->sealed_token_n <= (size_t)INT32_MAX &&
	       c->expires_at > c->issued_at;
}

static bool valid_meta(const struct store_taskmeta *m)
{
	return m && text_ok(m->id) && strlen(m->id) >= 32 && text_ok(m->task_arn) &&
	       text_ok(m->cluster_arn) && text_ok(m->container_name);
}

static int insert_cred(struct store *s, const struct store_taskcred *c, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "INSERT INTO task_credentials(id_sha256, task_arn, cluster_arn, kind, role_arn,"
	    " access_key_id, sealed_token, auth_sha256, issued_at, expires_at, renew_at)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 1, c->id_sha256, 32, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, c->task_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, c->cluster_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, c->kind, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, c->role_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, c->access_key_id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 7, c->sealed_token, (int)c->sealed_token_n,
		                       SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = c->has_auth ? sqlite3_bind_blob(st, 8, c->auth_sha256, 32, SQLITE_TRANSIENT)
		                 : sqlite3_bind_null(st, 8);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 9, c->issued_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, c->expires_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 11, c->renew_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "storing task credentials");
	return STORE_OK;
}

static int insert_meta(struct store *s, const struct store_taskmeta *m, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT INTO task_metadata_ids(id, task_arn, cluster_arn,"
	                            " container_name, created_at) VALUES (?,?,?,?,?)",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, m->id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, m->task_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, m->cluster_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, m->container_name, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, m->created_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "storing a task metadata id");
	return STORE_OK;
}

int store_taskcred_put(struct store *s, const struct store_taskcred *creds, size_t n_creds,
                       const struct store_taskmeta *meta, size_t n_meta, struct store_error *err)
{
	store_clear_error(err);
	if (!s || (n_creds && !creds) || (n_meta && !meta) || n_creds + n_meta == 0)
		return store_fail(err, STORE_ERR_INVALID, "nothing to store for the task");
	for (size_t i = 0; i < n_creds; i++)
		if (!valid_cred(&creds[i]))
			return store_fail(err, STORE_ERR_INVALID,
			                  "task credentials need a task, cluster, kind (task or "
			                  "execution), role, 20-character key id, sealed token and "
			                  "expires_at after issued_at");
	for (size_t i = 0; i < n_meta; i++)
		if (!valid_meta(&meta[i]))
			return store_fail(
			    err, STORE_ERR_INVALID,
			    "a task metadata id needs an id of 32 characters or more, "
			    "a task, a cluster and a container name");
	store_lock(s);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	int code = rc == SQLITE_OK ? STORE_OK
	                           : store_fail_sqlite(err, s->db, rc, s->path,
	                                               "starting to store task credentials");
	for (size_t i = 0; code == STORE_OK && i < n_creds; i++)
		code = insert_cred(s, &creds[i], err);
	for (size_t i = 0; code == STORE_OK && i < n_meta; i++)
		code = insert_meta(s, &meta[i], err);
	if (code == STORE_OK) {
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			code = store_fail_sqlite(err, s->db, rc, s->path,
			                         "committing task credentials");
	}
	if (code != STORE_OK)
		store_rollback(s);
	store_unlock(s);
	return code;
}

void store_taskcred_free(struct store_taskcred *c)
{
	if (!c)
		return;
	free(c->task_arn);
	free(c->cluster_arn);
	free(c->kind);
	free(c->role_arn);
	free(c->access_key_id);
	free(c->sealed_token);
	memset(c, 0, sizeof(*c));
}

void store_taskmeta_free(struct store_taskmeta *m)
{
	if (!m)
		return;
	free(m->id);
	free(m->task_arn);
	free(m->cluster_arn);
	free(m->container_name);
	memset(m, 0, sizeof(*m));
}

#define CRED_COLUMNS                                                                               \
	"id_sha256, task_arn, cluster_arn, kind, role_arn, access_key_id, sealed_token,"           \
	" auth_sha256, issued_at, expires_at, renew_at, coalesce(revoked_at, 0)"

static void read_cred_row(sqlite3_stmt *st, struct store_taskcred *c, bool *oom)
{
	memset(c, 0, sizeof(*c));
	const void *b = sqlite3_column_blob(st, 0);
	if (b && sqlite3_column_bytes(st, 0) == 32)
		memcpy(c->id_sha256, b, 32);
	c->task_arn = store_col_dup(st, 1, oom);
	c->cluster_arn = store_col_dup(st, 2, oom);
	c->kind = store_col_dup(st, 3, oom);
	c->role_arn = store_col_dup(st, 4, oom);
	c->access_key_id = store_col_dup(st, 5, oom);
	int n = sqlite3_column_bytes(st, 6);
	b = sqlite3_column_blob(st, 6);
	if (b && n > 0) {
		c->sealed_token = malloc((size_t)n);
		if (c->sealed_token) {
			memcpy(c->sealed_token, b, (size_t)n);
			c->sealed_token_n = (size_t)n;
		} else {
			*oom = true;
		}
	}
	b = sqlite3_column_blob(st, 7);
	if (b && sqlite3_column_bytes(st, 7) == 32) {
		memcpy(c->auth_sha256, b, 32);
		c->has_auth = true;
	}
	c->issued_at = sqlite3_column_int64(st, 8);
	c->expires_at = sqlite3_column_int64(st, 9);
	c->renew_at = sqlite3_column_int64(st, 10);
	c->revoked_at = sqlite3_column_int64(st, 11);
}

int store_taskcred_get(struct store *s, const unsigned char id_sha256[32],
                       struct store_taskcred *out, struct store_error *err)
{
	store_clear_error(err);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!s || !id_sha256 || !out)
		return store_fail(err, STORE_ERR_INVALID, "a task credentials lookup needs an id");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT " CRED_COLUMNS " FROM task_credentials"
	                            " WHERE id_sha256 = ?",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 1, id_sha256, 32, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	bool oom = false;
	if (rc == SQLITE_ROW)
		read_cred_row(st, out, &oom);
	else if (rc == SQLITE_DONE)
		code = store_fail(err, STORE_ERR_NOT_FOUND, "no task credentials have this id");
	else
		code = store_fail_sqlite(err, s->db, rc, s->path, "reading task credentials");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code == STORE_OK && oom)
		code = store_fail(err, STORE_ERR_NOMEM, "out of memory reading task credentials");
	if (code != STORE_OK)
		store_taskcred_free(out);
	return code;
}

int store_taskcred_for_task(struct store *s, const char *task_arn, struct store_taskcred *out,
                            size_t cap, size_t *n_out, struct store_error *err)
{
	store_clear_error(err);
	if (n_out)
		*n_out = 0;
	if (!s || !task_arn || (cap && !out) || !n_out)
		return store_fail(err, STORE_ERR_INVALID, "a task credentials list needs a task");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT " CRED_COLUMNS " FROM task_credentials"
	                            " WHERE task_arn = ? ORDER BY kind DESC",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, task_arn, -1, SQLITE_TRANSIENT);
	bool oom = false;
	size_t n = 0;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (n < cap)
			read_cred_row(st, &out[n], &oom);
		n++;
	}
	int code = STORE_OK;
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "listing a task's credentials");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code == STORE_OK && oom)
		code = store_fail(err, STORE_ERR_NOMEM, "out of memory listing task credentials");
	if (code != STORE_OK) {
		for (size_t i = 0; i < n && i < cap; i++)
			store_taskcred_free(&out[i]);
		return code;
	}
	*n_out = n < cap ? n : cap;
	return STORE_OK;
}

int store_taskcred_rotate(struct store *s, const unsigned char id_sha256[32],
                          const char *old_key_id, const char *new_key_id,
                          const unsigned char *sealed_token, size_t sealed_token_n,
                          int64_t issued_at, int64_t expires_at, int64_t renew_at,
                          struct store_error *err)
{
	store_clear_error(err);
	if (!s || !id_sha256 || !old_key_id || !new_key_id || strlen(new_key_id) != 20 ||
	    !sealed_token || sealed_token_n == 0 || sealed_token_n > (size_t)INT32_MAX ||
	    expires_at <= issued_at)
		return store_fail(err, STORE_ERR_INVALID,
		                  "renewing task credentials needs the old and new key ids, a "
		                  "sealed token and expires_at after issued_at");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "UPDATE task_credentials SET access_key_id = ?, sealed_token = ?, issued_at = ?,"
	    " expires_at = ?, renew_at = ? WHERE id_sha256 = ? AND access_key_id = ?"
	    " AND revoked_at IS NULL",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, new_key_id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 2, sealed_token, (int)sealed_token_n, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, issued_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, expires_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, renew_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 6, id_sha256, 32, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 7, old_key_id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "renewing task credentials");
	else if (sqlite3_changes64(s->db) == 0)
		code = store_fail(err, STORE_ERR_CONFLICT,
		                  "the task credentials were renewed or revoked meanwhile");
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

int store_taskcred_revoke_task(struct store *s, const char *task_arn, int64_t now, int64_t *n_out,
                               struct store_error *err)
{
	store_clear_error(err);
	if (n_out)
		*n_out = 0;
	if (!s || !task_arn)
		return store_fail(err, STORE_ERR_INVALID, "revoking task credentials needs a task");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "UPDATE task_credentials SET revoked_at = ?"
	                            " WHERE task_arn = ? AND revoked_at IS NULL",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, now);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, task_arn, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "revoking task credentials");
	else if (n_out)
		*n_out = sqlite3_changes64(s->db);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

int store_taskcred_purge(struct store *s, int64_t before, int64_t *n_out, struct store_error *err)
{
	store_clear_error(err);
	if (n_out)
		*n_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "purging needs a store");
	store_lock(s);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "DELETE FROM task_metadata_ids WHERE task_arn IN"
		                        " (SELECT task_arn FROM task_credentials WHERE"
		                        " revoked_at IS NOT NULL AND revoked_at <= ?1)",
		                        -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, before);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "DELETE FROM task_credentials WHERE revoked_at IS NOT NULL"
		                        " AND revoked_at <= ?1",
		                        -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, before);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	if (rc == SQLITE_OK)
		n = sqlite3_changes64(s->db);
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	int code = STORE_OK;
	if (rc != SQLITE_OK) {
		code =
		    store_fail_sqlite(err, s->db, rc, s->path, "purging revoked task credentials");
		store_rollback(s);
	} else if (n_out) {
		*n_out = n;
	}
	store_unlock(s);
	return code;
}

static void read_meta_row(sqlite3_stmt *st, struct store_taskmeta *m, bool *oom)
{
	memset(m, 0, sizeof(*m));
	m->id = store_col_dup(st, 0, oom);
	m->task_arn = store_col_dup(st, 1, oom);
	m->cluster_arn = store_col_dup(st, 2, oom);
	m->container_name = store_col_dup(st, 3, oom);
	m->created_at = sqlite3_column_int64(st, 4);
}

int store_taskmeta_get(struct store *s, const char *id, struct store_taskmeta *out,
                       struct store_error *err)
{
	store_clear_error(err);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!s || !id || !out)
		return store_fail(err, STORE_ERR_INVALID, "a metadata lookup needs an id");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT id, task_arn, cluster_arn, container_name, created_at"
	                            " FROM task_metadata_ids WHERE id = ?",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	bool oom = false;
	if (rc == SQLITE_ROW)
		read_meta_row(st, out, &oom);
	else if (rc == SQLITE_DONE)
		code = store_fail(err, STORE_ERR_NOT_FOUND, "no container has this metadata id");
	else
		code = store_fail_sqlite(err, s->db, rc, s->path, "reading a task metadata id");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code == STORE_OK && oom)
		code = store_fail(err, STORE_ERR_NOMEM, "out of memory reading a metadata id");
	if (code != STORE_OK)
		store_taskmeta_free(out);
	return code;
}

int store_taskmeta_for_task(struct store *s, const char *task_arn, struct store_taskmeta **out,
                            size_t *n_out, struct store_error *err)
{
	store_clear_error(err);
	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (!s || !task_arn || !out || !n_out)
		return store_fail(err, STORE_ERR_INVALID, "a metadata list needs a task");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT id, task_arn, cluster_arn, container_name, created_at"
	                            " FROM task_metadata_ids WHERE task_arn = ? ORDER BY rowid",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, task_arn, -1, SQLITE_TRANSIENT);
	struct store_taskmeta *list = NULL;
	size_t n = 0, cap = 0;
	bool oom = false;
	while (rc == SQLITE_OK && !oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct store_taskmeta *p = realloc(list, nc * sizeof(*p));
			if (!p) {
				oom = true;
				break;
			}
			list = p;
			cap = nc;
		}
		read_meta_row(st, &list[n++], &oom);
	}
	int code = STORE_OK;
	if (oom)
		code = store_fail(err, STORE_ERR_NOMEM, "out of memory listing metadata ids");
	else if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "listing a task's metadata ids");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code != STORE_OK) {
		for (size_t i = 0; i < n; i++)
			store_taskmeta_free(&list[i]);
		free(list);
		return code;
	}
	*out = list;
	*n_out = n;
	return STORE_OK;
}
