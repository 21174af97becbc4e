/*
 * store_int.h - what the files of store/ share with each other (and with the
 * store's own unit tests), and nobody else.
 *
 * The connection, its lock and its cache of prepared statements live in
 * struct store. Every error in store/ leaves through store_fail or
 * store_fail_sqlite (error.c): one place to break on, one wording for the file
 * name. The migration list is data (migrate.c); the test hook
 * store_open_with_migrations lets a test open a file as if this build knew a
 * different list (fewer, to make an old file; one more, or a broken one).
 */
#ifndef TASKGATE_STORE_INT_H
#define TASKGATE_STORE_INT_H

#include <pthread.h>
#include <stdarg.h>

#include <sqlite3.h>

#include "store/store.h"

/* A numbered change to the schema. Versions run 1, 2, 3... with no gaps, in
 * array order. A shipped migration is never edited or renamed: its name is
 * recorded in the file and checked on every open. */
struct store_migration {
	int version;
	const char *name; /* short, lower_snake_case */
	const char *sql;  /* one or more statements; run inside the migration's transaction */
};

/* The migrations this build knows, in order. */
const struct store_migration *store_migrations(size_t *n_out);

/* Every statement the store prepares once and reuses. */
enum store_stmt_id {
	STORE_STMT_META_GET,
	STORE_STMT_META_SET,
	STORE_STMT_AUDIT_APPEND,
	STORE_STMT_AUDIT_COUNT,
	STORE_STMT_AUDIT_READ,
	STORE_STMT_AUDIT_RECENT,
	STORE_STMT_HEALTH_VERSION,
	STORE_STMT_HEALTH_JOURNAL,
	STORE_STMT_COUNT_
};

struct store {
	pthread_mutex_t lock; /* guards everything below: one thread in SQLite at a time */
	sqlite3 *db;
	char *path; /* owned; as given to store_open, for messages */
	bool readonly;
	int schema_version; /* after migrations */
	int latest_version; /* the last version of the migration list opened with */
	sqlite3_stmt *stmts[STORE_STMT_COUNT_];
};

/* Fills err (if not NULL) and returns code. */
__attribute__((format(printf, 3, 4))) int store_fail(struct store_error *err, int code,
                                                     const char *fmt, ...);
/* Maps an SQLite result code to a store status and fills err with the file
 * name (omitted if path is NULL), what was being done, and SQLite's message for
 * db (or for rc when db is NULL). */
int store_fail_sqlite(struct store_error *err, sqlite3 *db, int rc, const char *path,
                      const char *what);
int store_status_from_sqlite(int rc);
void store_clear_error(struct store_error *err);

/* The cached statement id (prepared on first use), reset and with its
 * bindings cleared. Call with s->lock held. */
int store_stmt(struct store *s, enum store_stmt_id id, const char *sql, sqlite3_stmt **out,
               struct store_error *err);
/* Resets a statement after use so it holds no read transaction open. */
void store_stmt_done(sqlite3_stmt *st);

/* store/audit.c: one audit_events row (columns seq, time_us, request_id,
 * source_ip, principal, action, decision, status, error_code, latency_us,
 * record, prev_hash, hash) copied out of st; STORE_ERR_NOMEM or STORE_OK. */
struct store_audit_row;
int store_audit_row_read(sqlite3_stmt *st, struct store_audit_row *r);
/* store/audit.c: steps st (bound when rc is SQLITE_OK) into rows, which has
 * room for limit rows and becomes out's (freed when nothing was read or on
 * an error); what names the work in a database error. */
struct store_audit_list;
int store_audit_rows_collect(struct store *s, sqlite3_stmt *st, int rc,
                             struct store_audit_row *rows, size_t limit, const char *what,
                             struct store_audit_list *out, struct store_error *err);

/* store/meta.c: the meta value key as a whole number, dflt when it is
 * absent; STORE_ERR_CORRUPT when it is not a number of at least min. */
int store_meta_int(struct store *s, const char *key, int64_t dflt, int64_t min, int64_t *out,
                   struct store_error *err);

void store_lock(struct store *s);
void store_unlock(struct store *s);

/* Rolls back the open transaction, if any: SQLite rolls back by itself on
 * some errors (a full disk), so there may be none left. */
void store_rollback(struct store *s);
/* A malloc'd copy of text column i; NULL for SQL NULL. Out of memory (or a
 * text SQLite could not produce) sets *oom and returns NULL. */
char *store_col_dup(sqlite3_stmt *st, int i, bool *oom);

/* Reads the file's schema version (0 for a new, empty database) and checks it
 * against list[0..n) without writing anything: another program's SQLite file
 * is STORE_ERR_CORRUPT, a version above the list's last STORE_ERR_TOO_NEW, a
 * recorded migration whose name differs from the list's STORE_ERR_CORRUPT. */
int store_schema_check(struct store *s, const struct store_migration *list, size_t n,
                       int *version_out, struct store_error *err);
/* Applies list[from..n), each in its own BEGIN IMMEDIATE transaction together
 * with its row in schema_migrations; a failure rolls back that migration only
 * and leaves the file at the version before it. */
int store_migrate(struct store *s, const struct store_migration *list, size_t n, int from,
                  struct store_error *err);
/* Checks that list[0..n) is numbered 1..n with names and SQL. */
int store_migrations_valid(const struct store_migration *list, size_t n, struct store_error *err);

/* Test hook: store_open as if this build's migrations were list[0..n). */
int store_open_with_migrations(const char *path, const struct store_options *opts,
                               const struct store_migration *list, size_t n, struct store **out,
                               struct store_error *err);

/* The taskgate version, for messages and meta.created_by. */
#ifdef TASKGATE_VERSION
#define TASKGATE_VERSION_STRING TASKGATE_VERSION
#else
#define TASKGATE_VERSION_STRING "unknown"
#endif

/* The value written in the file header's application_id field: "TGW1", also
 * spelled in decimal for the PRAGMA in migration 1 (PRAGMA values cannot be
 * bound; a unit test checks that the two agree). */
#define STORE_APPLICATION_ID     0x54475731
#define STORE_APPLICATION_ID_SQL "1413961521"

/* Databases up to this size get a full integrity_check at open; larger ones
 * the faster quick_check (which skips index-to-table cross checks). */
#define STORE_INTEGRITY_CHECK_MAX_BYTES (64 * 1024 * 1024)

#endif
