/*
 * open.c - opening the database file safely, the connection's settings, the
 * statement cache, health and close.
 *
 * Concurrency: one SQLite connection per struct store, guarded by one mutex.
 * Every public function takes the lock, uses the connection and its cached
 * prepared statements, resets them, and releases the lock. That serialises
 * the gateway's threads on the store, which is the right trade here: SQLite
 * allows one writer at a time anyway, every request writes an audit row, and a
 * single connection means a single statement cache, no per-thread connection
 * bookkeeping, and sqlite3_errmsg read under the same lock as the call that
 * failed. Other processes (an auditor's `taskgate audit` on the same file) are
 * kept apart by SQLite's own file locks and the busy timeout; WAL lets their
 * reads run beside our writes.
 *
 * Opening is careful because the file may be anything: a typo'd path, a
 * directory, a backup of another program's database, half a file copied by
 * hand. Before SQLite sees an existing file we read its first 100 bytes
 * ourselves and refuse anything that is not an intact SQLite header, is shorter
 * than its header says, or carries another program's application_id. Then
 * SQLite's own integrity check runs, then the schema version is compared with
 * the migrations this build knows, and only then is anything written (WAL mode,
 * migrations). A refusal at any of these steps leaves the file's bytes as they
 * were. A new file is created here, mode 0600, so that SQLite never creates it
 * with the process umask's idea of permissions; SQLite gives the -wal and -shm
 * files the same mode as the database.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define SQLITE_HEADER_LEN       100
static const char sqlite_magic[16] = "SQLite format 3"; /* and its NUL: 16 bytes */

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

char *store_col_dup(sqlite3_stmt *st, int i, bool *oom)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	const unsigned char *t = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	if (!t || n < 0) {
		*oom = true; /* sqlite3_column_text returns NULL only when out of memory */
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

void store_lock(struct store *s)
{
	/* A default mutex only fails to lock on misuse (uninitialised, deadlock
	 * detection off): nothing a caller could recover from. */
	int rc = pthread_mutex_lock(&s->lock);
	if (rc != 0)
		abort();
}

void store_unlock(struct store *s)
{
	int rc = pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		abort();
}

int store_stmt(struct store *s, enum store_stmt_id id, const char *sql, sqlite3_stmt **out,
               struct store_error *err)
{
	*out = NULL;
	if (!s->stmts[id]) {
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            &s->stmts[id], NULL);
		if (rc != SQLITE_OK) {
			s->stmts[id] = NULL;
			return store_fail_sqlite(err, s->db, rc, s->path, "preparing a statement");
		}
	}
	sqlite3_reset(s->stmts[id]);
	sqlite3_clear_bindings(s->stmts[id]);
	*out = s->stmts[id];
	return STORE_OK;
}

void store_stmt_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* --- before SQLite: the path and the header ------------------------------ */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The directory a new database (and its -wal and -shm) will live in must exist
 * and be writable. */
static int check_parent(const char *path, bool need_write, struct store_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == path) {
		dir[0] = '/';
		dir[1] = '\0';
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return store_fail(err, STORE_ERR_IO, "%s: path too long", path);
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return store_fail(
			    err, STORE_ERR_IO,
			    "%s: directory %s does not exist (create it first; taskgate "
			    "creates the database file but not its directory)",
			    path, dir);
		return store_fail(err, STORE_ERR_IO, "%s: cannot use directory %s: %s", path, dir,
		                  strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return store_fail(err, STORE_ERR_IO, "%s: %s is not a directory", path, dir);
	if (need_write && access(dir, W_OK | X_OK) != 0)
		return store_fail(
		    err, STORE_ERR_IO,
		    "%s: directory %s is not writable by this user (%s); SQLite needs "
		    "to create the -wal and -shm files beside the database",
		    path, dir, strerror(errno));
	return STORE_OK;
}

static int create_file(const char *path, bool *exists, struct store_error *err)
{
	*exists = false;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			*exists = true; /* someone made it since our stat: treat as existing */
			return STORE_OK;
		}
		return store_fail(err, STORE_ERR_IO, "%s: cannot create the database file: %s",
		                  path, strerror(errno));
	}
	/* The umask may have taken bits away; it cannot have added any, but say
	 * exactly what we mean. */
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return store_fail(err, STORE_ERR_IO, "%s: cannot set mode 0600: %s", path,
		                  strerror(e));
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(path);
		return store_fail(err, STORE_ERR_IO, "%s: cannot create the database file: %s",
		                  path, strerror(e));
	}
	return STORE_OK;
}

/* Size of the file named path + suffix ("-wal", "-journal"), 0 if none. */
static off_t sidecar_size(const char *path, const char *suffix)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (n < 0 || (size_t)n >= sizeof(p))
		return 0;
	struct stat st;
	if (stat(p, &st) != 0)
		return 0;
	return st.st_size;
}

/* Reads the header of an existing file and refuses what SQLite must not be
 * let loose on. An empty file is accepted: it is a database with no pages. */
static int check_header(const char *path, struct store_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES)
			return store_fail(
			    err, STORE_ERR_IO,
			    "%s: cannot read the database: permission denied (it must "
			    "be readable by the user taskgate runs as)",
			    path);
		return store_fail(err, STORE_ERR_IO, "%s: cannot open the database: %s", path,
		                  strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return store_fail(err, STORE_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
	}
	unsigned char h[SQLITE_HEADER_LEN];
	size_t got = 0;
	while (got < sizeof(h)) {
		ssize_t r = read(fd, h + got, sizeof(h) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return store_fail(err, STORE_ERR_IO, "%s: cannot read: %s", path,
			                  strerror(e));
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);

	if (st.st_size == 0)
		return STORE_OK;
	if (got < sizeof(h) || memcmp(h, sqlite_magic, sizeof(sqlite_magic)) != 0) {
		if (got >= sizeof(sqlite_magic) &&
		    memcmp(h, sqlite_magic, sizeof(sqlite_magic)) == 0)
			return store_fail(
			    err, STORE_ERR_CORRUPT,
			    "%s: is only %lld bytes, shorter than an SQLite header: the "
			    "file is truncated; refusing to open it (nothing was changed)",
			    path, (long long)st.st_size);
		return store_fail(
		    err, STORE_ERR_CORRUPT,
		    "%s: is not an SQLite database (it does not start with the SQLite "
		    "header); refusing to open it (nothing was changed). Check the "
		    "path, or restore the file from a backup",
		    path);
	}
	uint32_t page_size = (uint32_t)h[16] << 8 | h[17];
	if (page_size == 1)
		page_size = 65536;
	bool page_ok = page_size >= 512 && page_size <= 65536 && (page_size & (page_size - 1)) == 0;
	if (!page_ok || h[21] != 64 || h[22] != 32 || h[23] != 32)
		return store_fail(
		    err, STORE_ERR_CORRUPT,
		    "%s: has a damaged SQLite header; refusing to open it (nothing was "
		    "changed). Restore it from a backup",
		    path);
	/* A non-empty WAL or rollback journal means the file may be mid-write
	 * (a checkpoint, or a transaction cut short by a crash that SQLite will
	 * roll back): its size is then not evidence of damage, and SQLite's own
	 * recovery and integrity check decide. */
	bool settled = sidecar_size(path, "-wal") == 0 && sidecar_size(path, "-journal") == 0;
	if (st.st_size % page_size != 0 && settled)
		return store_fail(
		    err, STORE_ERR_CORRUPT,
		    "%s: is %lld bytes, not a whole number of %u-byte pages: the file "
		    "is truncated; refusing to open it (nothing was changed)",
		    path, (long long)st.st_size, page_size);
	/* The page count at offset 28 is only meaningful when the change counter
	 * at 24 matches "version-valid-for" at 92. */
	uint32_t pages = be32(h + 28);
	if (be32(h + 24) == be32(h + 92) && pages != 0 && settled &&
	    (uint64_t)pages * page_size > (uint64_t)st.st_size)
		return store_fail(
		    err, STORE_ERR_CORRUPT,
		    "%s: its header says %u pages but the file holds %lld: the file is "
		    "truncated; refusing to open it (nothing was changed)",
		    path, pages, (long long)(st.st_size / page_size));
	uint32_t app = be32(h + 68);
	if (app != 0 && app != STORE_APPLICATION_ID)
		return store_fail(
		    err, STORE_ERR_CORRUPT,
		    "%s: is an SQLite database of another program (application_id "
		    "0x%08x, taskgate's is 0x%08x), not a taskgate store; refusing to "
		    "open it (nothing was changed)",
		    path, app, (unsigned)STORE_APPLICATION_ID);
	return STORE_OK;
}

/* Decides whether the path may be opened and creates it if it is new. */
static int prepare_path(const char *path, bool readonly, struct store_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int e = errno;
		if (e == ENOTDIR)
			return store_fail(err, STORE_ERR_IO,
			                  "%s: a component of the path is not a directory", path);
		if (e != ENOENT)
			return store_fail(err, STORE_ERR_IO, "%s: cannot use: %s", path,
			                  strerror(e));
		if (readonly)
			return store_fail(err, STORE_ERR_IO,
			                  "%s: does not exist (a read-only open never creates the "
			                  "database)",
			                  path);
		int rc = check_parent(path, true, err);
		if (rc != STORE_OK)
			return rc;
		bool exists = false;
		rc = create_file(path, &exists, err);
		if (rc != STORE_OK || !exists)
			return rc;
		if (stat(path, &st) != 0)
			return store_fail(err, STORE_ERR_IO, "%s: cannot use: %s", path,
			                  strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		return store_fail(err, STORE_ERR_IO,
		                  "%s: is a directory, not a database file (give the path of the "
		                  "file, e.g. %s/taskgate.db)",
		                  path, path);
	if (!S_ISREG(st.st_mode))
		return store_fail(err, STORE_ERR_IO, "%s: is not a regular file", path);
	int rc = check_header(path, err);
	if (rc != STORE_OK)
		return rc;
	if (!readonly) {
		if (access(path, W_OK) != 0)
			return store_fail(err, STORE_ERR_READONLY,
			                  "%s: is not writable by this user (%s); fix its owner or "
			                  "mode, or open it read-only",
			                  path, strerror(errno));
		rc = check_parent(path, true, err);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* --- the connection -------------------------------------------------------- */

static void sql_taskgate_version(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_text(ctx, TASKGATE_VERSION_STRING, -1, SQLITE_STATIC);
}

/* Runs a statement that returns one text row (a PRAGMA) and copies the value. */
static int pragma_text(struct store *s, const char *sql, char *buf, size_t cap,
                       struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int code = store_fail_sqlite(err, s->db, rc, s->path, sql);
		sqlite3_finalize(st);
		return code;
	}
	const unsigned char *t = sqlite3_column_text(st, 0);
	int n = snprintf(buf, cap, "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	if (n < 0 || (size_t)n >= cap)
		return store_fail(err, STORE_ERR_INVALID, "%s: unexpected answer to %s", s->path,
		                  sql);
	return STORE_OK;
}

static int exec(struct store *s, const char *sql, struct store_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, sql);
	return STORE_OK;
}

static int integrity_check(struct store *s, struct store_error *err)
{
	struct stat st;
	bool small = stat(s->path, &st) == 0 && st.st_size <= STORE_INTEGRITY_CHECK_MAX_BYTES;
	const char *sql = small ? "PRAGMA integrity_check(5)" : "PRAGMA quick_check(5)";
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		int code = store_fail_sqlite(err, s->db, rc, s->path, "checking the database");
		sqlite3_finalize(q);
		return code;
	}
	const unsigned char *t = sqlite3_column_text(q, 0);
	if (!t || strcmp((const char *)t, "ok") != 0) {
		int code = store_fail(err, STORE_ERR_CORRUPT,
		                      "%s: failed SQLite's integrity check (%s); refusing to use "
		                      "it. Restore it from a backup (see docs/store.md)",
		                      s->path, t ? (const char *)t : "no answer");
		sqlite3_finalize(q);
		return code;
	}
	sqlite3_finalize(q);
	return STORE_OK;
}

static int configure(struct store *s, int busy_ms, const char *sync_sql, struct store_error *err)
{
	int rc = sqlite3_extended_result_codes(s->db, 1);
	/* Hardening that costs nothing: no writable_schema tricks, no functions
	 * from the schema we did not register, no "double-quoted strings" that
	 * silently become literals when a column name is misspelt, no extensions. */
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	if (rc == SQLITE_OK)
		rc =
		    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, busy_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s->db, "taskgate_version", 0,
		                             SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
		                             NULL, sql_taskgate_version, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, "configuring the connection");

	int code = exec(s, "PRAGMA foreign_keys=ON", err);
	if (code != STORE_OK)
		return code;
	char v[16];
	code = pragma_text(s, "PRAGMA foreign_keys", v, sizeof(v), err);
	if (code != STORE_OK)
		return code;
	if (strcmp(v, "1") != 0)
		return store_fail(err, STORE_ERR_INVALID,
		                  "%s: SQLite refused to enable foreign keys (built without them?)",
		                  s->path);
	return exec(s, sync_sql, err);
}

static int enable_wal(struct store *s, struct store_error *err)
{
	char mode[16];
	int code = pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err);
	if (code != STORE_OK)
		return code;
	if (strcasecmp(mode, "wal") != 0)
		return store_fail(err, STORE_ERR_IO,
		                  "%s: could not switch the database to WAL mode (it stays in %s "
		                  "mode); the file system must support shared-memory files, which "
		                  "network file systems often do not",
		                  s->path, mode);
	return STORE_OK;
}

static void destroy(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < STORE_STMT_COUNT_; i++)
		sqlite3_finalize(s->stmts[i]);
	/* Every statement is finalized, so close cannot be refused as busy; the
	 * last close of a WAL database checkpoints it and removes the -wal file. */
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static int set_max_size(struct store *s, int64_t bytes, struct store_error *err);

int store_open_with_migrations(const char *path, const struct store_options *opts,
                               const struct store_migration *list, size_t n, struct store **out,
                               struct store_error *err)
{
	store_clear_error(err);
	if (!out)
		return store_fail(err, STORE_ERR_INVALID, "store_open: no place for the result");
	*out = NULL;
	if (!path || !path[0])
		return store_fail(err, STORE_ERR_INVALID, "no database path given");
	if (strlen(path) >= PATH_MAX - 8) /* room for "-wal", "-shm", "-journal" */
		return store_fail(err, STORE_ERR_INVALID, "database path is too long");
	int code = store_migrations_valid(list, n, err);
	if (code != STORE_OK)
		return code;

	int busy_ms = DEFAULT_BUSY_TIMEOUT_MS;
	bool readonly = false;
	const char *sync_sql = "PRAGMA synchronous=FULL";
	if (opts) {
		if (opts->busy_timeout_ms < 0)
			return store_fail(err, STORE_ERR_INVALID,
			                  "busy timeout must not be negative (got %d ms)",
			                  opts->busy_timeout_ms);
		if (opts->busy_timeout_ms > 0)
			busy_ms = opts->busy_timeout_ms;
		readonly = opts->readonly;
		if (opts->synchronous) {
			/* A fixed choice of statements, not a value pasted into SQL. */
			if (strcasecmp(opts->synchronous, "FULL") == 0)
				sync_sql = "PRAGMA synchronous=FULL";
			else if (strcasecmp(opts->synchronous, "NORMAL") == 0)
				sync_sql = "PRAGMA synchronous=NORMAL";
			else
				return store_fail(err, STORE_ERR_INVALID,
				                  "synchronous must be FULL or NORMAL (got \"%s\")",
				                  opts->synchronous);
		}
	}
	if (sqlite3_threadsafe() == 0)
		return store_fail(err, STORE_ERR_INVALID,
		                  "the SQLite library was built without thread support");

	code = prepare_path(path, readonly, err);
	if (code != STORE_OK)
		return code;

	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", path);
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", path);
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s->path);
		free(s);
		return store_fail(err, STORE_ERR_NOMEM, "%s: cannot create a lock", path);
	}
	s->readonly = readonly;
	s->latest_version = (int)n;

	/* No SQLITE_OPEN_CREATE: the file exists by now (prepare_path made it with
	 * the right mode), and if it vanished since, that is an error, not a cue
	 * to make another. NOMUTEX: s->lock is the connection's only lock. */
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
	            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
	int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		code = store_fail_sqlite(err, s->db, rc, path, "cannot open the database");
		goto fail;
	}
	if (!readonly && sqlite3_db_readonly(s->db, "main") == 1) {
		code = store_fail(err, STORE_ERR_READONLY,
		                  "%s: SQLite could open the database only read-only; fix the "
		                  "file's owner or mode, or open it read-only",
		                  path);
		goto fail;
	}
	code = configure(s, busy_ms, sync_sql, err);
	if (code != STORE_OK)
		goto fail;
	code = integrity_check(s, err);
	if (code != STORE_OK)
		goto fail;
	int version = 0;
	code = store_schema_check(s, list, n, &version, err);
	if (code != STORE_OK)
		goto fail;
	if (readonly) {
		if (version < (int)n) {
			code =
			    store_fail(err, STORE_ERR_READONLY,
			               "%s: has schema version %d but this taskgate (%s) needs "
			               "version %d; a read-only open never migrates. Open it once "
			               "read-write (start `taskgate serve` on it) to migrate",
			               path, version, TASKGATE_VERSION_STRING, (int)n);
			goto fail;
		}
	} else {
		code = enable_wal(s, err);
		if (code != STORE_OK)
			goto fail;
		code = store_migrate(s, list, n, version, err);
		if (code != STORE_OK)
			goto fail;
		version = (int)n;
		if (opts && opts->max_size_bytes > 0) {
			code = set_max_size(s, opts->max_size_bytes, err);
			if (code != STORE_OK)
				goto fail;
		}
	}
	s->schema_version = version;
	*out = s;
	return STORE_OK;
fail:
	destroy(s);
	return code;
}

/* A cap on the file: SQLite refuses a write that would grow the database
 * past it (SQLITE_FULL), which is how "the disk is full" looks from here.
 * A file already larger keeps its size but cannot grow. */
static int set_max_size(struct store *s, int64_t bytes, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL);
	int64_t page = 0;
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (page <= 0)
		return store_fail_sqlite(err, s->db, rc, s->path, "reading the page size");
	char sql[64];
	int m = snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	                 (long long)(bytes / page > 0 ? bytes / page : 1));
	if (m < 0 || (size_t)m >= sizeof(sql))
		return store_fail(err, STORE_ERR_INVALID, "max size out of range");
	st = NULL;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		return store_fail_sqlite(err, s->db, rc, s->path, "setting the maximum size");
	return STORE_OK;
}

int store_open(const char *path, const struct store_options *opts, struct store **out,
               struct store_error *err)
{
	size_t n = 0;
	const struct store_migration *list = store_migrations(&n);
	return store_open_with_migrations(path, opts, list, n, out, err);
}

void store_close(struct store *s)
{
	destroy(s);
}

int store_schema_version_latest(void)
{
	size_t n = 0;
	(void)store_migrations(&n);
	return (int)n;
}

int store_schema_version(struct store *s)
{
	if (!s)
		return 0;
	store_lock(s);
	int v = s->schema_version;
	store_unlock(s);
	return v;
}

int store_health(struct store *s, struct store_health *out)
{
	if (!out)
		return STORE_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (!s) {
		int n = snprintf(out->message, sizeof(out->message), "no database open");
		if (n < 0)
			out->message[0] = '\0';
		return STORE_ERR_INVALID;
	}
	struct store_error err;
	store_clear_error(&err);
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = store_stmt(s, STORE_STMT_HEALTH_VERSION,
	                      "SELECT coalesce(max(version), 0) FROM schema_migrations", &st, &err);
	if (code == STORE_OK) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			out->schema_version = sqlite3_column_int(st, 0);
		else
			code = store_fail_sqlite(&err, s->db, rc, s->path,
			                         "reading the schema version");
		store_stmt_done(st);
	}
	if (code == STORE_OK)
		code = store_stmt(s, STORE_STMT_HEALTH_JOURNAL, "PRAGMA journal_mode", &st, &err);
	if (code == STORE_OK) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			int n = snprintf(out->journal_mode, sizeof(out->journal_mode), "%s",
			                 t ? (const char *)t : "");
			if (n < 0 || (size_t)n >= sizeof(out->journal_mode))
				code = store_fail(&err, STORE_ERR_INVALID,
				                  "%s: unexpected journal mode", s->path);
		} else {
			code =
			    store_fail_sqlite(&err, s->db, rc, s->path, "reading the journal mode");
		}
		store_stmt_done(st);
	}
	int latest = s->latest_version;
	bool readonly = s->readonly;
	store_unlock(s);

	int n = 0;
	if (code != STORE_OK) {
		n = snprintf(out->message, sizeof(out->message), "%s", err.message);
	} else if (out->schema_version != latest) {
		code = out->schema_version > latest ? STORE_ERR_TOO_NEW : STORE_ERR_MIGRATION;
		n = snprintf(out->message, sizeof(out->message),
		             "schema version %d, this taskgate expects %d", out->schema_version,
		             latest);
	} else if (!readonly && strcmp(out->journal_mode, "wal") != 0) {
		code = STORE_ERR_IO;
		n = snprintf(out->message, sizeof(out->message), "journal mode is %s, expected wal",
		             out->journal_mode);
	} else {
		out->ok = true;
		n = snprintf(out->message, sizeof(out->message), "ok");
	}
	if (n < 0)
		out->message[0] = '\0';
	/* A longer message is cut by snprintf; the status still says it all. */
	return code;
}
