/*
 * audit_query.c - the audit log read the way an auditor asks (filters,
 * statistics) and its retention (prune down to a signed anchor).
 *
 * Filters become one WHERE clause with bound parameters only: no value from
 * the command line is ever spliced into SQL text. The resource filter looks
 * inside the record's JSON (its "resources" array) with SQLite's JSON
 * functions, since a request may name several.
 *
 * Prune is the one place rows leave audit_events. The table's triggers
 * refuse DELETE, so prune drops them, deletes and re-creates them inside ONE
 * transaction: no other connection ever sees the table without them, and a
 * crash midway rolls everything back. It deletes only up to a record that a
 * signed checkpoint covers, so the records kept still chain to something the
 * gateway's key signed (meta audit_anchor_seq / audit_anchor_checkpoint).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_LIMIT_MAX 1000

#define COLUMNS                                                                                    \
	"seq, time_us, request_id, source_ip, principal, action, decision, status, error_code,"    \
	" latency_us, record, prev_hash, hash"

struct where {
	char sql[1024];
	size_t n;
	const char *texts[8];
	int ntexts;
	int64_t ints[2];
	int nints;
	bool overflow;
};

static void add(struct where *w, const char *clause)
{
	size_t len = strlen(clause);
	if (w->n + len + 6 >= sizeof(w->sql)) {
		w->overflow = true;
		return;
	}
	memcpy(w->sql + w->n, " AND ", 5);
	memcpy(w->sql + w->n + 5, clause, len + 1);
	w->n += 5 + len;
}

/* Parameters are numbered: ?1..?2 integers (since, until), ?3.. texts, in
 * the order added. */
static void build_where(struct where *w, const struct store_audit_filter *f)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->sql, "1", 2);
	w->n = 1;
	if (!f)
		return;
	if (f->since_us > 0)
		add(w, "time_us >= ?1");
	if (f->until_us > 0)
		add(w, "time_us < ?2");
	w->ints[0] = f->since_us;
	w->ints[1] = f->until_us;
	char clause[256];
	int p = 3;
	if (f->principal) {
		size_t n = strlen(f->principal);
		if (n > 0 && f->principal[n - 1] == '*') {
			snprintf(clause, sizeof(clause),
			         "substr(principal, 1, length(?%d) - 1) = "
			         "substr(?%d, 1, length(?%d) - 1)",
			         p, p, p);
		} else {
			snprintf(clause, sizeof(clause), "principal = ?%d", p);
		}
		add(w, clause);
		w->texts[w->ntexts++] = f->principal;
		p++;
	}
	if (f->action) {
		snprintf(clause, sizeof(clause),
		         "(action = ?%d OR json_extract(record, '$.eventName') = ?%d)", p, p);
		add(w, clause);
		w->texts[w->ntexts++] = f->action;
		p++;
	}
	if (f->resource) {
		snprintf(clause, sizeof(clause),
		         "EXISTS (SELECT 1 FROM json_each(record, '$.resources') AS r"
		         " WHERE json_extract(r.value, '$.ARN') = ?%d)",
		         p);
		add(w, clause);
		w->texts[w->ntexts++] = f->resource;
		p++;
	}
	if (f->decision) {
		snprintf(clause, sizeof(clause), "decision = ?%d", p);
		add(w, clause);
		w->texts[w->ntexts++] = f->decision;
		p++;
	}
	if (f->error_code) {
		if (strcmp(f->error_code, "-") == 0) {
			add(w, "error_code IS NULL");
		} else {
			snprintf(clause, sizeof(clause), "error_code = ?%d", p);
			add(w, clause);
			w->texts[w->ntexts++] = f->error_code;
			p++;
		}
	}
	if (f->request_id) {
		snprintf(clause, sizeof(clause), "request_id = ?%d", p);
		add(w, clause);
		w->texts[w->ntexts++] = f->request_id;
		p++;
	}
}

static int bind_where(sqlite3_stmt *st, const struct where *w)
{
	int rc = SQLITE_OK;
	/* Unused numbered parameters are fine: binding one the statement does
	 * not have is SQLITE_RANGE, which we skip. */
	for (int i = 0; i < 2 && rc == SQLITE_OK; i++) {
		if (sqlite3_bind_parameter_count(st) < i + 1)
			break;
		rc = sqlite3_bind_int64(st, i + 1, w->ints[i]);
	}
	for (int i = 0; i < w->ntexts && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_text(st, 3 + i, w->texts[i], -1, SQLITE_TRANSIENT);
	return rc;
}

int store_audit_query(struct store *s, const struct store_audit_filter *f, int64_t after_seq,
                      size_t limit, struct store_audit_list *out, struct store_error *err)
{
	store_clear_error(err);
	out->rows = NULL;
	out->n = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit query: no database open");
	if (limit == 0 || limit > QUERY_LIMIT_MAX)
		return store_fail(err, STORE_ERR_INVALID,
		                  "audit query: limit must be 1..%d (got %zu)", QUERY_LIMIT_MAX,
		                  limit);
	struct where w;
	build_where(&w, f);
	if (w.overflow)
		return store_fail(err, STORE_ERR_INVALID, "audit query: too many conditions");
	char sql[1400];
	/* ?1 and ?2 always appear so the numbering of texts is fixed. */
	int m = snprintf(sql, sizeof(sql),
	                 "SELECT " COLUMNS " FROM audit_events WHERE %s AND ?1 = ?1 AND ?2 = ?2"
	                 " AND seq > ?%d ORDER BY seq LIMIT ?%d",
	                 w.sql, 3 + w.ntexts, 4 + w.ntexts);
	if (m < 0 || (size_t)m >= sizeof(sql))
		return store_fail(err, STORE_ERR_INVALID, "audit query: too many conditions");
	struct store_audit_row *rows = calloc(limit, sizeof(*rows));
	if (!rows)
		return store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", s->path);
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_where(st, &w);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3 + w.ntexts, after_seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4 + w.ntexts, (sqlite3_int64)limit);
	int code =
	    store_audit_rows_collect(s, st, rc, rows, limit, "querying audit events", out, err);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

void store_audit_stats_free(struct store_audit_stat *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].principal);
		free(v[i].action);
		free(v[i].decision);
	}
	free(v);
}

int store_audit_stats(struct store *s, const struct store_audit_filter *f,
                      struct store_audit_stat **out, size_t *n_out, struct store_error *err)
{
	store_clear_error(err);
	*out = NULL;
	*n_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit stats: no database open");
	struct where w;
	build_where(&w, f);
	char sql[1600];
	/* A request counts once: by its decision-carrying record ("request",
	 * "decision", "event"); its errors by whichever record holds one. */
	int m = snprintf(sql, sizeof(sql),
	                 "SELECT principal, action, decision,"
	                 " sum(coalesce(json_extract(record, '$.recordType'), '') != 'outcome'),"
	                 " sum(error_code IS NOT NULL)"
	                 " FROM audit_events WHERE %s AND ?1 = ?1 AND ?2 = ?2"
	                 " GROUP BY principal, action, decision"
	                 " ORDER BY 4 DESC, principal, action, decision",
	                 w.sql);
	if (w.overflow || m < 0 || (size_t)m >= sizeof(sql))
		return store_fail(err, STORE_ERR_INVALID, "audit stats: too many conditions");
	struct store_audit_stat *v = NULL;
	size_t n = 0, cap = 0;
	bool oom = false;
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = STORE_OK;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_where(st, &w);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct store_audit_stat *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				oom = true;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct store_audit_stat *e = &v[n++];
		e->principal = store_col_dup(st, 0, &oom);
		e->action = store_col_dup(st, 1, &oom);
		e->decision = store_col_dup(st, 2, &oom);
		e->requests = sqlite3_column_int64(st, 3);
		e->errors = sqlite3_column_int64(st, 4);
		if (oom)
			break;
	}
	if (oom)
		code = store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", s->path);
	else if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "summarising audit events");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code != STORE_OK) {
		store_audit_stats_free(v, n);
		return code;
	}
	*out = v;
	*n_out = n;
	return STORE_OK;
}

int store_audit_anchor(struct store *s, int64_t *seq_out, int64_t *cp_id_out,
                       struct store_error *err)
{
	store_clear_error(err);
	*seq_out = 0;
	*cp_id_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit anchor: no database open");
	int code = store_meta_int(s, "audit_anchor_seq", 0, 0, seq_out, err);
	if (code == STORE_OK)
		code = store_meta_int(s, "audit_anchor_checkpoint", 0, 0, cp_id_out, err);
	return code;
}

static int exec(struct store *s, const char *sql, struct store_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "pruning the audit log");
	return STORE_OK;
}

static int one_int(struct store *s, const char *sql, int64_t a, int64_t *out, int64_t *out2,
                   struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) > 0)
		rc = sqlite3_bind_int64(st, 1, a);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		if (out2)
			*out2 = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		if (out2)
			*out2 = 0;
	} else {
		code = store_fail_sqlite(err, s->db, rc, s->path, "pruning the audit log");
	}
	sqlite3_finalize(st);
	return code;
}

static int set_meta_in_tx(struct store *s, const char *key, int64_t v, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT INTO meta(key, value) VALUES (?1, CAST(?2 AS TEXT))"
	                            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, v);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail_sqlite(err, s->db, rc, s->path, "recording the prune anchor");
	return STORE_OK;
}

/* The triggers exactly as migration 2 made them. */
#define TRIGGERS                                                                                   \
	"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"                      \
	" BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;"                          \
	"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"                      \
	" BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;"

int store_audit_prune(struct store *s, int64_t before_us, int64_t *anchor_seq_out,
                      int64_t *anchor_cp_out, int64_t *deleted_out, struct store_error *err)
{
	store_clear_error(err);
	*anchor_seq_out = 0;
	*anchor_cp_out = 0;
	*deleted_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "audit prune: no database open");
	if (before_us <= 0)
		return store_fail(err, STORE_ERR_INVALID, "audit prune: no time given");
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY, "%s: opened read-only; cannot prune",
		                  s->path);
	store_lock(s);
	int code = exec(s, "BEGIN IMMEDIATE", err);
	int64_t boundary = 0, cp_seq = 0, cp_id = 0, old_anchor = 0, dummy = 0;
	/* The last seq before the first record at or after before_us. */
	if (code == STORE_OK)
		code = one_int(
		    s,
		    "SELECT coalesce((SELECT min(seq) FROM audit_events WHERE time_us >= ?1)"
		    " - 1, (SELECT max(seq) FROM audit_events), 0)",
		    before_us, &boundary, NULL, err);
	if (code == STORE_OK)
		code = one_int(s,
		               "SELECT coalesce(CAST(value AS INTEGER), 0), 0 FROM meta"
		               " WHERE key = 'audit_anchor_seq'",
		               0, &old_anchor, &dummy, err);
	/* The newest checkpoint at or below it whose record is still there. */
	if (code == STORE_OK)
		code = one_int(s,
		               "SELECT c.seq, c.id FROM audit_checkpoints c"
		               " JOIN audit_events e ON e.seq = c.seq"
		               " WHERE c.seq <= ?1 ORDER BY c.seq DESC, c.id DESC LIMIT 1",
		               boundary, &cp_seq, &cp_id, err);
	if (code == STORE_OK && cp_seq > old_anchor) {
		int64_t before = 0, after = 0;
		code = one_int(s, "SELECT count(*) FROM audit_events", 0, &before, NULL, err);
		if (code == STORE_OK)
			code = exec(s,
			            "DROP TRIGGER audit_events_no_delete;"
			            "DROP TRIGGER audit_events_no_update;",
			            err);
		if (code == STORE_OK) {
			sqlite3_stmt *st = NULL;
			int rc = sqlite3_prepare_v2(
			    s->db, "DELETE FROM audit_events WHERE seq <= ?1", -1, &st, NULL);
			if (rc == SQLITE_OK)
				rc = sqlite3_bind_int64(st, 1, cp_seq);
			if (rc == SQLITE_OK)
				rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				code = store_fail_sqlite(err, s->db, rc, s->path,
				                         "deleting pruned audit events");
		}
		if (code == STORE_OK)
			code = exec(s, TRIGGERS, err);
		if (code == STORE_OK)
			code = set_meta_in_tx(s, "audit_anchor_seq", cp_seq, err);
		if (code == STORE_OK)
			code = set_meta_in_tx(s, "audit_anchor_checkpoint", cp_id, err);
		if (code == STORE_OK)
			code =
			    one_int(s, "SELECT count(*) FROM audit_events", 0, &after, NULL, err);
		if (code == STORE_OK) {
			*anchor_seq_out = cp_seq;
			*anchor_cp_out = cp_id;
			*deleted_out = before - after;
		}
	}
	if (code == STORE_OK)
		code = exec(s, "COMMIT", err);
	if (code != STORE_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store_unlock(s);
	return code;
}
