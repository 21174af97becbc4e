/*
 * migrate.c - the schema, as a numbered list of changes, and the code that
 * brings a file up to date.
 *
 * The schema is never described in one place as "what it should look like";
 * it is the sum of the migrations below, applied in order. Each file records
 * which ones it has had in schema_migrations (version, name, applied_at), and
 * its header carries taskgate's application_id, set by migration 1 in the same
 * transaction that creates the first table. So on open we can tell apart: a
 * new empty file (version 0: migrate), an older taskgate file (migrate the
 * rest), a current one (nothing to do), a newer one (refuse, untouched), a file
 * that recorded a migration under a different name (a different build's file:
 * refuse), and another program's database (refuse).
 *
 * To change the schema, add one entry at the end of the array: the next
 * version number, a name, and the SQL. Never edit or rename a shipped entry;
 * files in the field have its name recorded. Each migration runs in its own
 * BEGIN IMMEDIATE transaction with its schema_migrations row, and ends with a
 * foreign_key_check, so a migration lands whole or not at all. Foreign keys
 * are on and cannot be switched off inside a transaction: a migration that
 * rebuilds a referenced table must use SQLite's "make a new table, copy,
 * drop, rename" procedure and leave the references consistent by its end.
 */
#include "store/store_int.h"

#include <limits.h>
#include <string.h>

static const struct store_migration builtin[] = {
    {1, "meta_and_schema_migrations",
     "CREATE TABLE schema_migrations ("
     " version INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " applied_at TEXT NOT NULL"
     ") STRICT;"
     "CREATE TABLE meta ("
     " key TEXT PRIMARY KEY NOT NULL,"
     " value TEXT NOT NULL"
     ") STRICT, WITHOUT ROWID;"
     "INSERT INTO meta(key, value) VALUES"
     " ('created_by', taskgate_version()),"
     " ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
     " ('instance_id', lower(hex(randomblob(16))));"
     "PRAGMA application_id = " STORE_APPLICATION_ID_SQL ";"},
    {2, "audit_events",
     /* One row per request from the first release on, so every decision has
      * a place. record is the canonical JSON of the event; the other columns
      * are copies of its fields for queries. */
     "CREATE TABLE audit_events ("
     " seq INTEGER PRIMARY KEY,"
     " time_us INTEGER NOT NULL CHECK (time_us > 0),"
     " request_id TEXT NOT NULL CHECK (length(request_id) > 0),"
     " source_ip TEXT,"
     " principal TEXT,"
     " action TEXT,"
     " decision TEXT,"
     " status INTEGER,"
     " error_code TEXT,"
     " latency_us INTEGER CHECK (latency_us >= 0),"
     " record TEXT NOT NULL"
     ") STRICT;"
     "CREATE INDEX audit_events_time ON audit_events(time_us);"
     "CREATE INDEX audit_events_principal ON audit_events(principal, time_us);"
     /* Append-only at the database level too: a row cannot be edited or
      * removed through SQL without first dropping these triggers, which a
      * later migration (the hash chain) makes detectable anyway. */
     "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
     " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;"
     "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
     " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;"},
    {3, "iam_entities",
     /* The IAM state of the one account (store/iam.c). Names compare without
      * case, as IAM's do: "Web" and "web" cannot both be roles. Roles and
      * users share one table so their policies, attachments and tags can
      * share theirs; kind is part of every key. */
     "CREATE TABLE iam_account ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " account_id TEXT CHECK (account_id IS NULL OR (length(account_id) = 12"
     "  AND account_id NOT GLOB '*[^0-9]*')),"
     " generation INTEGER NOT NULL CHECK (generation >= 0)"
     ") STRICT;"
     "INSERT INTO iam_account(id, account_id, generation) VALUES (1, NULL, 0);"
     "CREATE TABLE iam_managed_policies ("
     " name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
     " policy_id TEXT NOT NULL UNIQUE,"
     " path TEXT NOT NULL,"
     " description TEXT NOT NULL,"
     " default_version TEXT NOT NULL"
     ") STRICT;"
     "CREATE TABLE iam_policy_versions ("
     " policy TEXT NOT NULL REFERENCES iam_managed_policies(name) ON DELETE CASCADE,"
     " version_id TEXT NOT NULL,"
     " document TEXT NOT NULL,"
     " PRIMARY KEY (policy, version_id)"
     ") STRICT;"
     "CREATE TABLE iam_principals ("
     " kind TEXT NOT NULL CHECK (kind IN ('role', 'user')),"
     " name TEXT NOT NULL COLLATE NOCASE,"
     " unique_id TEXT NOT NULL UNIQUE,"
     " path TEXT NOT NULL,"
     " description TEXT NOT NULL,"
     " trust_policy TEXT,"
     " max_session_duration INTEGER NOT NULL,"
     " permissions_boundary TEXT REFERENCES iam_managed_policies(name),"
     " PRIMARY KEY (kind, name),"
     " CHECK ((kind = 'role') = (trust_policy IS NOT NULL))"
     ") STRICT;"
     "CREATE INDEX iam_principals_boundary ON iam_principals(permissions_boundary);"
     "CREATE TABLE iam_inline_policies ("
     " kind TEXT NOT NULL,"
     " principal TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " document TEXT NOT NULL,"
     " PRIMARY KEY (kind, principal, name),"
     " FOREIGN KEY (kind, principal) REFERENCES iam_principals(kind, name) ON DELETE CASCADE"
     ") STRICT;"
     "CREATE TABLE iam_attachments ("
     " kind TEXT NOT NULL,"
     " principal TEXT NOT NULL,"
     " policy TEXT NOT NULL REFERENCES iam_managed_policies(name),"
     " PRIMARY KEY (kind, principal, policy),"
     " FOREIGN KEY (kind, principal) REFERENCES iam_principals(kind, name) ON DELETE CASCADE"
     ") STRICT;"
     "CREATE INDEX iam_attachments_policy ON iam_attachments(policy);"
     "CREATE TABLE iam_tags ("
     " kind TEXT NOT NULL,"
     " principal TEXT NOT NULL,"
     " key TEXT NOT NULL COLLATE NOCASE,"
     " value TEXT NOT NULL,"
     " PRIMARY KEY (kind, principal, key),"
     " FOREIGN KEY (kind, principal) REFERENCES iam_principals(kind, name) ON DELETE CASCADE"
     ") STRICT;"
     "CREATE TABLE iam_access_keys ("
     " id TEXT PRIMARY KEY NOT NULL,"
     " kind TEXT NOT NULL DEFAULT 'user' CHECK (kind = 'user'),"
     " user TEXT NOT NULL,"
     " active INTEGER NOT NULL CHECK (active IN (0, 1)),"
     " secret BLOB NOT NULL,"
     " FOREIGN KEY (kind, user) REFERENCES iam_principals(kind, name) ON DELETE CASCADE"
     ") STRICT;"
     "CREATE INDEX iam_access_keys_user ON iam_access_keys(kind, user);"
     "CREATE TABLE iam_oidc_issuers ("
     " issuer TEXT PRIMARY KEY NOT NULL,"
     " algorithms TEXT NOT NULL,"
     " key_source TEXT NOT NULL CHECK (key_source IN ('jwks_file', 'pem_file')),"
     " key_path TEXT NOT NULL,"
     " key_kid TEXT,"
     " key_document TEXT NOT NULL,"
     " leeway INTEGER NOT NULL,"
     " max_lifetime INTEGER NOT NULL,"
     " role_claim TEXT"
     ") STRICT;"
     "CREATE TABLE iam_oidc_audiences ("
     " issuer TEXT NOT NULL REFERENCES iam_oidc_issuers(issuer) ON DELETE CASCADE,"
     " audience TEXT NOT NULL,"
     " PRIMARY KEY (issuer, audience)"
     ") STRICT;"
     "CREATE TABLE iam_oidc_tag_claims ("
     " issuer TEXT NOT NULL REFERENCES iam_oidc_issuers(issuer) ON DELETE CASCADE,"
     " claim TEXT NOT NULL,"
     " tag_key TEXT NOT NULL,"
     " PRIMARY KEY (issuer, claim)"
     ") STRICT;"
     "CREATE TABLE iam_host_mappings ("
     " match TEXT NOT NULL CHECK (match IN ('subject_cn', 'subject')),"
     " value TEXT NOT NULL,"
     " kind TEXT NOT NULL DEFAULT 'role' CHECK (kind = 'role'),"
     " role TEXT NOT NULL,"
     " PRIMARY KEY (match, value),"
     " FOREIGN KEY (kind, role) REFERENCES iam_principals(kind, name) ON DELETE CASCADE"
     ") STRICT;"
     "CREATE INDEX iam_host_mappings_role ON iam_host_mappings(kind, role);"},
    {4, "sts_sessions",
     /* Temporary credentials issued by STS (store/sts.c). The secret is
      * sealed by the gateway's key box with the key id as additional data;
      * of the session token only its SHA-256 is kept, so a copy of the file
      * cannot be replayed as credentials. Session tags live in their own
      * table; transitive marks the keys that pass on when chaining. Times are
      * epoch seconds; revoked_at NULL means not revoked. owner_task names the
      * task the credentials were issued for, so stopping it can revoke them. */
     "CREATE TABLE sts_sessions ("
     " access_key_id TEXT PRIMARY KEY NOT NULL CHECK (length(access_key_id) = 20"
     "  AND access_key_id GLOB 'ASIA*'),"
     " sealed_secret BLOB NOT NULL,"
     " token_sha256 BLOB NOT NULL CHECK (length(token_sha256) = 32),"
     " role_arn TEXT NOT NULL,"
     " session_name TEXT NOT NULL,"
     " source_arn TEXT NOT NULL,"
     " session_policy TEXT,"
     " source_identity TEXT,"
     " owner_task TEXT,"
     " chain_depth INTEGER NOT NULL CHECK (chain_depth >= 0),"
     " issued_at INTEGER NOT NULL,"
     " expires_at INTEGER NOT NULL CHECK (expires_at > issued_at),"
     " revoked_at INTEGER"
     ") STRICT;"
     "CREATE INDEX sts_sessions_expires ON sts_sessions(expires_at);"
     "CREATE INDEX sts_sessions_owner ON sts_sessions(owner_task) WHERE owner_task IS NOT NULL;"
     "CREATE TABLE sts_session_tags ("
     " access_key_id TEXT NOT NULL REFERENCES sts_sessions(access_key_id) ON DELETE CASCADE,"
     " key TEXT NOT NULL COLLATE NOCASE,"
     " value TEXT NOT NULL,"
     " transitive INTEGER NOT NULL CHECK (transitive IN (0, 1)),"
     " PRIMARY KEY (access_key_id, key)"
     ") STRICT;"},
    {5, "sched_objects",
     /* The scheduler's state (store/sched.c): clusters, task definitions,
      * container instances, tasks and services, one row each. doc is the
      * object as ECS shows it (JSON, tags included), owned by scheduler/;
      * the other columns are copies of the fields it is looked up by. seq
      * only grows, so it orders lists and makes stable pagination cursors.
      * version counts the object's writes (the task's ECS "version"). */
     "CREATE TABLE sched_objects ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     " kind TEXT NOT NULL CHECK (kind IN ('cluster', 'task-definition',"
     "  'container-instance', 'task', 'service')),"
     " arn TEXT NOT NULL UNIQUE,"
     " cluster TEXT NOT NULL DEFAULT '',"
     " name TEXT NOT NULL,"
     " revision INTEGER NOT NULL DEFAULT 0,"
     " status TEXT NOT NULL,"
     " grp TEXT NOT NULL DEFAULT '',"
     " parent TEXT NOT NULL DEFAULT '',"
     " version INTEGER NOT NULL DEFAULT 1,"
     " doc TEXT NOT NULL"
     ") STRICT;"
     "CREATE INDEX sched_objects_lookup ON sched_objects(kind, cluster, name);"
     "CREATE INDEX sched_objects_parent ON sched_objects(kind, parent) WHERE parent != '';"},
    {6, "audit_chain",
     /* The hash chain over audit_events (store/audit.c, gateway/audit.c):
      * each row keeps the SHA-256 of the row before it and its own, so an
      * edit, a removal or a reordering shows. Rows written before this
      * migration have neither; meta audit_chain_from says where the chain
      * starts. audit_checkpoints holds signed chain heads, append-only too. */
     "ALTER TABLE audit_events ADD COLUMN prev_hash BLOB"
     " CHECK (prev_hash IS NULL OR length(prev_hash) = 32);"
     "ALTER TABLE audit_events ADD COLUMN hash BLOB"
     " CHECK (hash IS NULL OR length(hash) = 32);"
     "INSERT INTO meta(key, value) SELECT 'audit_chain_from',"
     " CAST(coalesce(max(seq), 0) + 1 AS TEXT) FROM audit_events;"
     "CREATE TABLE audit_checkpoints ("
     " id INTEGER PRIMARY KEY,"
     " seq INTEGER NOT NULL CHECK (seq > 0),"
     " head_hash BLOB NOT NULL CHECK (length(head_hash) = 32),"
     " time_us INTEGER NOT NULL CHECK (time_us > 0),"
     " key_id TEXT NOT NULL,"
     " signature BLOB NOT NULL"
     ") STRICT;"
     "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
     " BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
     "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
     " BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"},
    {7, "task_credentials",
     /* Task credentials and metadata ids (store/taskcreds.c, gateway/
      * taskcreds.c). A credentials id is a bearer secret: only its SHA-256
      * is kept. access_key_id names the current STS session (sts_sessions)
      * the id serves; its session token is sealed by the key box with the
      * key id as additional data (the session row keeps only the token's
      * hash). auth_sha256 is the SHA-256 of the task's authorization token,
      * NULL when none is required. renew_at is when the endpoint mints the
      * next session; revoked_at NULL means the task still runs. A metadata
      * id names one container of a task for the v4 metadata endpoint. */
     "CREATE TABLE task_credentials ("
     " id_sha256 BLOB PRIMARY KEY NOT NULL CHECK (length(id_sha256) = 32),"
     " task_arn TEXT NOT NULL,"
     " cluster_arn TEXT NOT NULL,"
     " kind TEXT NOT NULL CHECK (kind IN ('task', 'execution')),"
     " role_arn TEXT NOT NULL,"
     " access_key_id TEXT NOT NULL CHECK (length(access_key_id) = 20),"
     " sealed_token BLOB NOT NULL,"
     " auth_sha256 BLOB CHECK (auth_sha256 IS NULL OR length(auth_sha256) = 32),"
     " issued_at INTEGER NOT NULL,"
     " expires_at INTEGER NOT NULL CHECK (expires_at > issued_at),"
     " renew_at INTEGER NOT NULL,"
     " revoked_at INTEGER,"
     " UNIQUE (task_arn, kind)"
     ") STRICT;"
     "CREATE TABLE task_metadata_ids ("
     " id TEXT PRIMARY KEY NOT NULL,"
     " task_arn TEXT NOT NULL,"
     " cluster_arn TEXT NOT NULL,"
     " container_name TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " UNIQUE (task_arn, container_name)"
     ") STRICT;"},
};

const struct store_migration *store_migrations(size_t *n_out)
{
	*n_out = sizeof(builtin) / sizeof(builtin[0]);
	return builtin;
}

int store_migrations_valid(const struct store_migration *list, size_t n, struct store_error *err)
{
	if (!list || n == 0 || n > INT_MAX)
		return store_fail(err, STORE_ERR_INVALID, "no migrations given");
	for (size_t i = 0; i < n; i++) {
		if (list[i].version != (int)i + 1 || !list[i].name || !list[i].name[0] ||
		    !list[i].sql || !list[i].sql[0])
			return store_fail(err, STORE_ERR_INVALID,
			                  "migration list entry %zu is not version %zu with a name "
			                  "and SQL",
			                  i, i + 1);
	}
	return STORE_OK;
}

/* Runs a one-integer query. */
static int query_int(struct store *s, const char *sql, int64_t *out, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int code = store_fail_sqlite(err, s->db, rc, s->path, "reading the schema");
		sqlite3_finalize(st);
		return code;
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return STORE_OK;
}

static int has_migrations_table(struct store *s, bool *out, struct store_error *err)
{
	int64_t n = 0;
	int code = query_int(s,
	                     "SELECT count(*) FROM sqlite_master"
	                     " WHERE type = 'table' AND name = 'schema_migrations'",
	                     &n, err);
	*out = n > 0;
	return code;
}

/* The highest recorded version, 0 without a schema_migrations table. */
static int current_version(struct store *s, int64_t *out, struct store_error *err)
{
	*out = 0;
	bool has = false;
	int code = has_migrations_table(s, &has, err);
	if (code != STORE_OK || !has)
		return code;
	return query_int(s, "SELECT coalesce(max(version), 0) FROM schema_migrations", out, err);
}

int store_schema_check(struct store *s, const struct store_migration *list, size_t n,
                       int *version_out, struct store_error *err)
{
	*version_out = 0;
	int64_t app = 0;
	int code = query_int(s, "PRAGMA application_id", &app, err);
	if (code != STORE_OK)
		return code;
	bool ours = (uint32_t)app == STORE_APPLICATION_ID;
	if (!ours && app != 0)
		return store_fail(err, STORE_ERR_CORRUPT,
		                  "%s: is an SQLite database of another program (application_id "
		                  "0x%08x), not a taskgate store; refusing to change it",
		                  s->path, (unsigned)(uint32_t)app);
	bool has = false;
	code = has_migrations_table(s, &has, err);
	if (code != STORE_OK)
		return code;
	if (!has || !ours) {
		int64_t objects = 0;
		code = query_int(s,
		                 "SELECT count(*) FROM sqlite_master"
		                 " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
		                 &objects, err);
		if (code != STORE_OK)
			return code;
		if (ours)
			return store_fail(err, STORE_ERR_CORRUPT,
			                  "%s: is marked as a taskgate store but has no "
			                  "schema_migrations table; refusing to change it",
			                  s->path);
		if (objects > 0)
			return store_fail(err, STORE_ERR_CORRUPT,
			                  "%s: is an SQLite database of another program (it has "
			                  "tables but is not marked as taskgate's); refusing to "
			                  "change it",
			                  s->path);
		return STORE_OK; /* a new, empty database: version 0 */
	}

	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db, "SELECT version, name FROM schema_migrations ORDER BY version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "reading schema_migrations");
	int64_t expect = 1;
	for (;;) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		int64_t v = sqlite3_column_int64(st, 0);
		const unsigned char *name = sqlite3_column_text(st, 1);
		if (v != expect) {
			code = store_fail(
			    err, STORE_ERR_CORRUPT,
			    "%s: schema_migrations is not a run 1, 2, 3...: found version "
			    "%lld where %lld was expected; refusing to change it",
			    s->path, (long long)v, (long long)expect);
			break;
		}
		if (v <= (int64_t)n &&
		    (!name || strcmp((const char *)name, list[v - 1].name) != 0)) {
			code = store_fail(
			    err, STORE_ERR_CORRUPT,
			    "%s: records migration %lld as \"%s\" but this taskgate calls "
			    "it \"%s\": the file was made by a different build; refusing "
			    "to change it",
			    s->path, (long long)v, name ? (const char *)name : "",
			    list[v - 1].name);
			break;
		}
		expect++;
	}
	if (code == STORE_OK && rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, "reading schema_migrations");
	sqlite3_finalize(st);
	if (code != STORE_OK)
		return code;
	int64_t version = expect - 1;
	if (version > (int64_t)n)
		return store_fail(err, STORE_ERR_TOO_NEW,
		                  "%s: has schema version %lld, but this taskgate (%s) knows "
		                  "versions up to %zu: the file was written by a newer taskgate. "
		                  "Upgrade taskgate to use it; the file was not changed",
		                  s->path, (long long)version, TASKGATE_VERSION_STRING, n);
	*version_out = (int)version;
	return STORE_OK;
}

static int apply_one(struct store *s, const struct store_migration *m, int before,
                     struct store_error *err)
{
	const char *step = "running its SQL";
	int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, NULL);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK) {
		/* A migration must leave every reference it touched valid. */
		step = "checking foreign keys";
		rc = sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *table = sqlite3_column_text(st, 0);
			int code = store_fail(err, STORE_ERR_MIGRATION,
			                      "%s: migration %d (%s) left a broken foreign key in "
			                      "table %s and was rolled back; the database is "
			                      "unchanged at schema version %d",
			                      s->path, m->version, m->name,
			                      table ? (const char *)table : "?", before);
			sqlite3_finalize(st);
			store_rollback(s);
			return code;
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == SQLITE_OK) {
		step = "recording it";
		rc = sqlite3_prepare_v2(s->db,
		                        "INSERT INTO schema_migrations(version, name, applied_at)"
		                        " VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
		                        -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(st, 1, m->version);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_OK) {
		step = "committing it";
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		return STORE_OK;
	/* Keep SQLite's reason before ROLLBACK replaces it. */
	struct store_error why;
	store_fail_sqlite(&why, s->db, rc, NULL, step);
	store_rollback(s);
	return store_fail(err, STORE_ERR_MIGRATION,
	                  "%s: migration %d (%s) failed and was rolled back (%s); the database "
	                  "is unchanged at schema version %d",
	                  s->path, m->version, m->name, why.message, before);
}

int store_migrate(struct store *s, const struct store_migration *list, size_t n, int from,
                  struct store_error *err)
{
	for (size_t i = (size_t)from; i < n; i++) {
		const struct store_migration *m = &list[i];
		/* IMMEDIATE takes the write lock now, so two processes opening the
		 * same new file cannot both decide to run migration 1. */
		int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return store_fail_sqlite(err, s->db, rc, s->path,
			                         "starting a migration transaction");
		int64_t cur = 0;
		int code = current_version(s, &cur, err);
		if (code != STORE_OK) {
			store_rollback(s);
			return code;
		}
		if (cur > (int64_t)n) {
			store_rollback(s);
			return store_fail(
			    err, STORE_ERR_TOO_NEW,
			    "%s: was migrated to schema version %lld by a newer taskgate "
			    "while this one (%s, up to %zu) was opening it; upgrade "
			    "taskgate",
			    s->path, (long long)cur, TASKGATE_VERSION_STRING, n);
		}
		if (cur >= m->version) {
			/* Another process got here first. */
			store_rollback(s);
			continue;
		}
		if (cur != m->version - 1) {
			store_rollback(s);
			return store_fail(err, STORE_ERR_CORRUPT,
			                  "%s: is at schema version %lld where %d was expected",
			                  s->path, (long long)cur, m->version - 1);
		}
		code = apply_one(s, m, (int)cur, err);
		if (code != STORE_OK)
			return code;
	}
	return STORE_OK;
}
