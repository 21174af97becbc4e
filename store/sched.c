/*
 * sched.c - the scheduler's objects in sched_objects: put (insert, or replace
 * under an optimistic version check), get by ARN, query by the copied fields.
 *
 * The store does not know ECS. Each row is the JSON document the scheduler
 * keeps for one object plus the few fields it looks objects up by, so the
 * scheduler can change what a task carries without a migration, while lists
 * ("the running tasks of this cluster", "the ACTIVE revisions of web") stay
 * index lookups. A replace names the version it read; if another writer got
 * there first the put is STORE_ERR_CONFLICT and the caller reads again, which
 * is what keeps two reconcile passes from both starting the same task.
 */
#include "store/store_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_LIMIT_MAX 10000

static const char *const kind_names[] = {"cluster", "task-definition", "container-instance",
                                         "task", "service"};

const char *store_sched_kind_name(enum store_sched_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return NULL;
	return kind_names[kind];
}

static int kind_from_name(const char *name, enum store_sched_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (name && strcmp(name, kind_names[i]) == 0) {
			*out = (enum store_sched_kind)i;
			return 0;
		}
	}
	return -1;
}

static int check_field(const char *what, const char *v, bool required, struct store_error *err)
{
	if (!v) {
		if (required)
			return store_fail(err, STORE_ERR_INVALID, "scheduler object: %s is required",
			                  what);
		return STORE_OK;
	}
	size_t n = strnlen(v, STORE_SCHED_FIELD_MAX + 1);
	if (required && n == 0)
		return store_fail(err, STORE_ERR_INVALID, "scheduler object: %s is empty", what);
	if (n > STORE_SCHED_FIELD_MAX)
		return store_fail(err, STORE_ERR_INVALID,
		                  "scheduler object: %s is longer than %d bytes", what,
		                  STORE_SCHED_FIELD_MAX);
	return STORE_OK;
}

static int check_obj(const struct store_sched_obj *o, struct store_error *err)
{
	if (!o || !store_sched_kind_name(o->kind))
		return store_fail(err, STORE_ERR_INVALID, "scheduler object: no valid kind");
	int code = check_field("arn", o->arn, true, err);
	if (code == STORE_OK)
		code = check_field("cluster", o->cluster, false, err);
	if (code == STORE_OK)
		code = check_field("name", o->name, true, err);
	if (code == STORE_OK)
		code = check_field("status", o->status, true, err);
	if (code == STORE_OK)
		code = check_field("grp", o->grp, false, err);
	if (code == STORE_OK)
		code = check_field("parent", o->parent, false, err);
	if (code != STORE_OK)
		return code;
	if (!o->doc || strnlen(o->doc, STORE_SCHED_DOC_MAX + 1) > STORE_SCHED_DOC_MAX)
		return store_fail(err, STORE_ERR_INVALID,
		                  "scheduler object %s: doc is missing or longer than %d bytes",
		                  o->arn, STORE_SCHED_DOC_MAX);
	json_error_t jerr;
	json_t *j = json_loads(o->doc, JSON_REJECT_DUPLICATES, &jerr);
	bool ok = j && json_is_object(j);
	json_decref(j);
	if (!ok)
		return store_fail(err, STORE_ERR_INVALID,
		                  "scheduler object %s: doc is not a JSON object", o->arn);
	return STORE_OK;
}

static int bind_str(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static int exec_sql(struct store *s, const char *sql, const char *what, struct store_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, what);
	return STORE_OK;
}

/* One put; the caller holds the lock. */
static int put_locked(struct store *s, const struct store_sched_obj *o, int64_t expect_version,
                      int64_t *seq_out, int64_t *version_out, struct store_error *err)
{
	const char *sql =
	    expect_version > 0
	        ? "UPDATE sched_objects SET kind = ?1, cluster = ?3, name = ?4, revision = ?5,"
	          " status = ?6, grp = ?7, parent = ?8, doc = ?9, version = version + 1"
	          " WHERE arn = ?2 AND version = ?10 RETURNING seq, version"
	        : "INSERT INTO sched_objects(kind, arn, cluster, name, revision, status, grp,"
	          " parent, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	          " RETURNING seq, version";
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 1, store_sched_kind_name(o->kind));
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, o->arn);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 3, o->cluster);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 4, o->name);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, o->revision);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 6, o->status);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 7, o->grp);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 8, o->parent);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 9, o->doc);
	if (rc == SQLITE_OK && expect_version > 0)
		rc = sqlite3_bind_int64(st, 10, expect_version);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc == SQLITE_ROW) {
		if (seq_out)
			*seq_out = sqlite3_column_int64(st, 0);
		if (version_out)
			*version_out = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		/* UPDATE matched nothing: absent, or written by someone else since. */
		sqlite3_finalize(st);
		st = NULL;
		int64_t have = 0;
		rc = sqlite3_prepare_v2(s->db, "SELECT version FROM sched_objects WHERE arn = ?1", -1,
		                        &st, NULL);
		if (rc == SQLITE_OK)
			rc = bind_str(st, 1, o->arn);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			have = sqlite3_column_int64(st, 0);
			code = store_fail(err, STORE_ERR_CONFLICT,
			                  "%s was changed by another writer (version %lld, expected "
			                  "%lld)",
			                  o->arn, (long long)have, (long long)expect_version);
		} else if (rc == SQLITE_DONE) {
			code = store_fail(err, STORE_ERR_NOT_FOUND, "%s does not exist", o->arn);
		} else {
			code = store_fail_sqlite(err, s->db, rc, s->path, "re-reading an object");
		}
	} else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		code = store_fail(err, STORE_ERR_CONFLICT, "%s already exists", o->arn);
	} else {
		code = store_fail_sqlite(err, s->db, rc, s->path, "writing a scheduler object");
	}
	sqlite3_finalize(st);
	return code;
}

int store_sched_put(struct store *s, const struct store_sched_obj *o, int64_t expect_version,
                    int64_t *seq_out, int64_t *version_out, struct store_error *err)
{
	store_clear_error(err);
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "scheduler put: no database open");
	int code = check_obj(o, err);
	if (code != STORE_OK)
		return code;
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY, "%s: opened read-only", s->path);
	store_lock(s);
	code = put_locked(s, o, expect_version, seq_out, version_out, err);
	store_unlock(s);
	return code;
}

int store_sched_put_batch(struct store *s, const struct store_sched_obj *objs,
                          const int64_t *expect_versions, size_t n, int64_t *seqs_out,
                          int64_t *versions_out, struct store_error *err)
{
	store_clear_error(err);
	if (!s || (n > 0 && !objs))
		return store_fail(err, STORE_ERR_INVALID, "scheduler put: nothing to write");
	for (size_t i = 0; i < n; i++) {
		int code = check_obj(&objs[i], err);
		if (code != STORE_OK)
			return code;
	}
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY, "%s: opened read-only", s->path);
	store_lock(s);
	int code = exec_sql(s, "BEGIN IMMEDIATE", "starting a scheduler change", err);
	for (size_t i = 0; code == STORE_OK && i < n; i++)
		code = put_locked(s, &objs[i], expect_versions ? expect_versions[i] : 0,
		                  seqs_out ? &seqs_out[i] : NULL,
		                  versions_out ? &versions_out[i] : NULL, err);
	if (code == STORE_OK)
		code = exec_sql(s, "COMMIT", "committing a scheduler change", err);
	if (code != STORE_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store_unlock(s);
	return code;
}

int store_sched_put_many(struct store *s, const struct store_sched_obj *objs,
                         const int64_t *expect_versions, size_t n, struct store_error *err)
{
	return store_sched_put_batch(s, objs, expect_versions, n, NULL, NULL, err);
}

static char *dup_col(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	if (!t || n < 0) {
		*oom = true;
		return NULL;
	}
	char *p = malloc((size_t)n + 1);
	if (!p) {
		*oom = true;
		return NULL;
	}
	memcpy(p, t, (size_t)n);
	p[n] = '\0';
	return p;
}

#define SELECT_COLS                                                                                \
	"SELECT seq, kind, arn, cluster, name, revision, status, grp, parent, version, doc"

static int read_row(sqlite3_stmt *st, struct store_sched_obj *o, struct store_error *err)
{
	memset(o, 0, sizeof(*o));
	bool oom = false;
	o->seq = sqlite3_column_int64(st, 0);
	enum store_sched_kind k = STORE_SCHED_CLUSTER;
	if (kind_from_name((const char *)sqlite3_column_text(st, 1), &k) != 0)
		return store_fail(err, STORE_ERR_CORRUPT, "sched_objects row %lld has an unknown kind",
		                  (long long)o->seq);
	o->kind = k;
	o->arn = dup_col(st, 2, &oom);
	o->cluster = dup_col(st, 3, &oom);
	o->name = dup_col(st, 4, &oom);
	o->revision = sqlite3_column_int64(st, 5);
	o->status = dup_col(st, 6, &oom);
	o->grp = dup_col(st, 7, &oom);
	o->parent = dup_col(st, 8, &oom);
	o->version = sqlite3_column_int64(st, 9);
	o->doc = dup_col(st, 10, &oom);
	if (oom) {
		store_sched_obj_free(o);
		return store_fail(err, STORE_ERR_NOMEM, "out of memory reading a scheduler object");
	}
	return STORE_OK;
}

int store_sched_delete(struct store *s, const char *arn, int64_t expect_version,
                       struct store_error *err)
{
	store_clear_error(err);
	if (!s || !arn)
		return store_fail(err, STORE_ERR_INVALID, "scheduler delete: no database or ARN");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "DELETE FROM sched_objects WHERE arn = ?1 AND version = ?2",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 1, arn);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, expect_version);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "deleting a scheduler object");
	sqlite3_finalize(st);
	if (code == STORE_OK && sqlite3_changes(s->db) == 0) {
		st = NULL;
		rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM sched_objects WHERE arn = ?1", -1, &st,
		                        NULL);
		if (rc == SQLITE_OK)
			rc = bind_str(st, 1, arn);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			code = store_fail(err, STORE_ERR_CONFLICT, "%s was changed by another writer",
			                  arn);
		else if (rc == SQLITE_DONE)
			code = store_fail(err, STORE_ERR_NOT_FOUND, "%s does not exist", arn);
		else
			code = store_fail_sqlite(err, s->db, rc, s->path, "deleting a scheduler object");
		sqlite3_finalize(st);
	}
	store_unlock(s);
	return code;
}

/* Steps st, a select of one object (prepared and bound when rc is
 * SQLITE_OK), into out: STORE_OK, STORE_ERR_NOT_FOUND with err left for the
 * caller to word, or the database's error. */
static int read_one(struct store *s, sqlite3_stmt *st, int rc, struct store_sched_obj *out,
                    struct store_error *err)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return read_row(st, out, err);
	if (rc == SQLITE_DONE)
		return STORE_ERR_NOT_FOUND;
	return store_fail_sqlite(err, s->db, rc, s->path, "reading a scheduler object");
}

int store_sched_get(struct store *s, const char *arn, struct store_sched_obj *out,
                    struct store_error *err)
{
	store_clear_error(err);
	memset(out, 0, sizeof(*out));
	if (!s || !arn)
		return store_fail(err, STORE_ERR_INVALID, "scheduler get: no database or ARN");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, SELECT_COLS " FROM sched_objects WHERE arn = ?1", -1,
	                            &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 1, arn);
	int code = read_one(s, st, rc, out, err);
	if (code == STORE_ERR_NOT_FOUND)
		code = store_fail(err, STORE_ERR_NOT_FOUND, "%s does not exist", arn);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

static int bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* What a store_sched_filter selects, for query and count alike. Optional
 * filters are NULL-bound parameters, so one statement serves every
 * combination; name_prefix compares a substring, not LIKE or GLOB, because
 * names may hold the wildcard characters of either. */
#define FILTER_WHERE                                                                               \
	" FROM sched_objects WHERE kind = ?1"                                                      \
	" AND (?2 IS NULL OR cluster = ?2) AND (?3 IS NULL OR name = ?3)"                          \
	" AND (?4 IS NULL OR substr(name, 1, length(?4)) = ?4)"                                    \
	" AND (?5 IS NULL OR status = ?5)"                                                         \
	" AND (?6 IS NULL OR status != ?6)"                                                        \
	" AND (?7 IS NULL OR grp = ?7) AND (?8 IS NULL OR parent = ?8)"

/* Binds ?1..?8 of FILTER_WHERE from f. */
static int bind_filter(sqlite3_stmt *st, const struct store_sched_filter *f)
{
	int rc = bind_str(st, 1, store_sched_kind_name(f->kind));
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 2, f->cluster);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 3, f->name);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 4, f->name_prefix);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 5, f->status);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 6, f->not_status);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 7, f->grp);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 8, f->parent);
	return rc;
}

/* Steps st, a select of one integer (prepared and bound when rc is
 * SQLITE_OK), into *out; what names the work in a database error. */
static int read_int64(struct store *s, sqlite3_stmt *st, int rc, int64_t *out, const char *what,
                      struct store_error *err)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail_sqlite(err, s->db, rc, s->path, what);
	*out = sqlite3_column_int64(st, 0);
	return STORE_OK;
}

/* Rows of a prepared select appended to out. */
static int read_rows(struct store *s, sqlite3_stmt *st, struct store_sched_list *out, size_t *cap,
                     struct store_error *err)
{
	for (;;) {
		int step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			return STORE_OK;
		if (step != SQLITE_ROW)
			return store_fail_sqlite(err, s->db, step, s->path,
			                         "listing scheduler objects");
		if (out->n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 16;
			struct store_sched_obj *p = realloc(out->objs, ncap * sizeof(*p));
			if (!p)
				return store_fail(err, STORE_ERR_NOMEM,
				                  "out of memory listing scheduler objects");
			out->objs = p;
			*cap = ncap;
		}
		int code = read_row(st, &out->objs[out->n], err);
		if (code != STORE_OK)
			return code;
		out->n++;
	}
}

/*
 * Task definitions in (name, revision) order from a keyset, in two index
 * range scans so a page costs a page: the rest of after_name's revisions,
 * then the names after it (the index gives names in order; SQLite sorts only
 * the revisions within a name). Filters other than kind, cluster (required),
 * name and status do not apply to this order.
 */
static int query_name_revision(struct store *s, const struct store_sched_filter *f, size_t limit,
                               struct store_sched_list *out, struct store_error *err)
{
	if (!f->cluster || f->name_prefix || f->not_status || f->grp || f->parent)
		return store_fail(err, STORE_ERR_INVALID,
		                  "scheduler query: by name and revision takes a cluster, and only "
		                  "name and status filters");
	bool desc = f->newest_first;
	char sql[1024];
	size_t cap = 0;
	int code = STORE_OK;
	store_lock(s);
	for (int part = f->after_name ? 0 : 1; part < 2 && code == STORE_OK; part++) {
		if (out->n >= limit)
			break;
		const char *key = part == 0        ? (desc ? " AND name = ?3 AND revision < ?4"
		                                           : " AND name = ?3 AND revision > ?4")
		                  : !f->after_name ? ""
		                  : desc           ? " AND name < ?3"
		                                   : " AND name > ?3";
		const char *order = part == 0
		                        ? (desc ? "revision DESC" : "revision")
		                        : (desc ? "name DESC, revision DESC" : "name, revision");
		int n = snprintf(sql, sizeof(sql),
		                 SELECT_COLS
		                 " FROM sched_objects WHERE kind = ?1 AND cluster = ?2%s%s%s"
		                 " ORDER BY %s LIMIT ?5",
		                 key, f->name ? " AND name = ?6" : "",
		                 f->status ? " AND status = ?7" : "", order);
		if (n < 0 || (size_t)n >= sizeof(sql)) {
			code = store_fail(err, STORE_ERR_INVALID, "scheduler query too long");
			break;
		}
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = bind_str(st, 1, store_sched_kind_name(f->kind));
		if (rc == SQLITE_OK)
			rc = bind_str(st, 2, f->cluster);
		if (rc == SQLITE_OK && f->after_name)
			rc = bind_str(st, 3, f->after_name);
		if (rc == SQLITE_OK && part == 0)
			rc = sqlite3_bind_int64(st, 4, f->after_revision);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 5, (int64_t)(limit - out->n));
		if (rc == SQLITE_OK && f->name)
			rc = bind_str(st, 6, f->name);
		if (rc == SQLITE_OK && f->status)
			rc = bind_str(st, 7, f->status);
		if (rc != SQLITE_OK)
			code =
			    store_fail_sqlite(err, s->db, rc, s->path, "listing task definitions");
		else
			code = read_rows(s, st, out, &cap, err);
		sqlite3_finalize(st);
	}
	store_unlock(s);
	if (code != STORE_OK)
		store_sched_list_free(out);
	return code;
}

int store_sched_query(struct store *s, const struct store_sched_filter *f,
                      struct store_sched_list *out, struct store_error *err)
{
	store_clear_error(err);
	memset(out, 0, sizeof(*out));
	if (!s || !f || !store_sched_kind_name(f->kind))
		return store_fail(err, STORE_ERR_INVALID, "scheduler query: no database or kind");
	size_t limit = f->limit ? f->limit : QUERY_LIMIT_MAX;
	if (limit > QUERY_LIMIT_MAX)
		return store_fail(err, STORE_ERR_INVALID, "scheduler query: limit above %d",
		                  QUERY_LIMIT_MAX);
	const char *asc = SELECT_COLS FILTER_WHERE " AND seq > ?9 ORDER BY seq LIMIT ?10";
	const char *desc =
	    SELECT_COLS FILTER_WHERE " AND (?9 = 0 OR seq < ?9) ORDER BY seq DESC LIMIT ?10";
	if (f->by_name_revision)
		return query_name_revision(s, f, limit, out, err);
	const char *sql = f->newest_first ? desc : asc;
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_filter(st, f);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 9, f->after_seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, (int64_t)limit);
	size_t cap = 0;
	int code = rc == SQLITE_OK
	               ? read_rows(s, st, out, &cap, err)
	               : store_fail_sqlite(err, s->db, rc, s->path, "listing scheduler objects");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code != STORE_OK)
		store_sched_list_free(out);
	return code;
}

int store_sched_get_seq(struct store *s, int64_t seq, struct store_sched_obj *out,
                        struct store_error *err)
{
	store_clear_error(err);
	memset(out, 0, sizeof(*out));
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "scheduler get: no database open");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, SELECT_COLS " FROM sched_objects WHERE seq = ?1", -1,
	                            &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, seq);
	int code = read_one(s, st, rc, out, err);
	if (code == STORE_ERR_NOT_FOUND)
		code = store_fail(err, STORE_ERR_NOT_FOUND, "no scheduler object has seq %lld",
		                  (long long)seq);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

int store_sched_families(struct store *s, const char *prefix,
                         enum store_sched_family_status status, const char *after_name,
                         size_t limit, struct store_sched_families *out,
                         struct store_error *err)
{
	store_clear_error(err);
	memset(out, 0, sizeof(*out));
	if (!s || limit == 0 || limit > QUERY_LIMIT_MAX || (unsigned)status > 2)
		return store_fail(err, STORE_ERR_INVALID, "families: bad arguments");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT name, min(seq), max(status = 'ACTIVE') FROM sched_objects"
	    " WHERE kind = 'task-definition' AND cluster = ''"
	    " AND (?1 IS NULL OR substr(name, 1, length(?1)) = ?1)"
	    " AND (?2 IS NULL OR name > ?2) GROUP BY name"
	    " HAVING ?3 = 0 OR (?3 = 1 AND max(status = 'ACTIVE') = 1)"
	    " OR (?3 = 2 AND max(status = 'ACTIVE') = 0)"
	    " ORDER BY name LIMIT ?4",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 1, prefix);
	if (rc == SQLITE_OK)
		rc = bind_opt(st, 2, after_name);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, (int)status);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, (int64_t)limit);
	int code = STORE_OK;
	size_t cap = 0;
	while (code == STORE_OK && rc == SQLITE_OK) {
		int step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = step;
			break;
		}
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct store_sched_family *p = realloc(out->v, ncap * sizeof(*p));
			if (!p) {
				code = store_fail(err, STORE_ERR_NOMEM, "out of memory listing families");
				break;
			}
			out->v = p;
			cap = ncap;
		}
		bool oom = false;
		struct store_sched_family *fam = &out->v[out->n];
		fam->name = dup_col(st, 0, &oom);
		fam->first_seq = sqlite3_column_int64(st, 1);
		fam->active = sqlite3_column_int(st, 2) != 0;
		if (oom) {
			free(fam->name);
			code = store_fail(err, STORE_ERR_NOMEM, "out of memory listing families");
			break;
		}
		out->n++;
	}
	if (code == STORE_OK && rc != SQLITE_OK)
		code = store_fail_sqlite(err, s->db, rc, s->path, "listing families");
	sqlite3_finalize(st);
	store_unlock(s);
	if (code != STORE_OK)
		store_sched_families_free(out);
	return code;
}

void store_sched_families_free(struct store_sched_families *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int store_sched_count(struct store *s, const struct store_sched_filter *f, int64_t *out,
                      struct store_error *err)
{
	store_clear_error(err);
	*out = 0;
	if (!s || !f || !store_sched_kind_name(f->kind))
		return store_fail(err, STORE_ERR_INVALID, "scheduler count: no database or kind");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT count(*)" FILTER_WHERE, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_filter(st, f);
	int code = read_int64(s, st, rc, out, "counting scheduler objects", err);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

int store_sched_max_revision(struct store *s, const char *family, int64_t *out,
                             struct store_error *err)
{
	store_clear_error(err);
	*out = 0;
	if (!s || !family)
		return store_fail(err, STORE_ERR_INVALID, "max revision: no database or family");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT coalesce(max(revision), 0) FROM sched_objects"
	                            " WHERE kind = 'task-definition' AND cluster = '' AND name = ?1",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 1, family);
	int code = read_int64(s, st, rc, out, "reading a family's revisions", err);
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

void store_sched_obj_free(struct store_sched_obj *o)
{
	if (!o)
		return;
	free(o->arn);
	free(o->cluster);
	free(o->name);
	free(o->status);
	free(o->grp);
	free(o->parent);
	free(o->doc);
	memset(o, 0, sizeof(*o));
}

void store_sched_list_free(struct store_sched_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		store_sched_obj_free(&list->objs[i]);
	free(list->objs);
	list->objs = NULL;
	list->n = 0;
}
