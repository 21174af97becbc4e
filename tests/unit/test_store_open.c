/*
 * test_store_open.c - opening the database file: what a new file looks like,
 * what a reopen keeps, and every kind of file the store must refuse without
 * changing a byte of it (random bytes, text, truncated or damaged databases,
 * another program's SQLite file, directories, missing directories).
 *
 * Every test works on real files in a fresh directory under /tmp. A refusal is
 * proved harmless by comparing the file's full content before and after, and
 * by checking that no -wal/-shm/-journal file was left beside it.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_store_fixture.h"

#include <fcntl.h>
#include <unistd.h>

static bool no_sidecars(const struct fx *f)
{
	char p[PATH_MAX];
	const char *sfx[] = {"-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 3; i++) {
		int n = snprintf(p, sizeof(p), "%s%s", f->db, sfx[i]);
		if (n < 0 || (size_t)n >= sizeof(p) || fx_exists(p))
			return false;
	}
	return true;
}

/* Opens f->db expecting a refusal with code; checks the message names the
 * file and that the file is byte-for-byte unchanged. */
static void expect_refused(const struct fx *f, const struct store_options *opts, int code)
{
	struct fx_snap before = fx_snap_take(f->db);
	struct store *s = (struct store *)0x1;
	struct store_error err;
	int rc = store_open(f->db, opts, &s, &err);
	CHECK_INT(rc, code);
	CHECK_INT(err.code, code);
	CHECK(s == NULL);
	CHECK(strstr(err.message, f->db) != NULL);
	struct fx_snap after = fx_snap_take(f->db);
	CHECK(fx_snap_same(&before, &after));
	CHECK(no_sidecars(f));
	if (rc != code || !strstr(err.message, f->db))
		printf("      message: %s\n", err.message);
	fx_snap_free(&before);
	fx_snap_free(&after);
}

/* A closed, valid, current taskgate database with n audit rows. */
static void make_db(const struct fx *f, int rows)
{
	struct store *s = fx_open(f->db, NULL);
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < rows; i++) {
		char id[32];
		snprintf(id, sizeof(id), "req-%d", i);
		struct store_audit_event ev = fx_event(id);
		CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	}
	store_close(s);
}

static void test_new_file_mode(void)
{
	struct fx f;
	fx_init(&f);
	mode_t old = umask(0);
	struct store *s = fx_open(f.db, NULL);
	umask(old);
	CHECK(s != NULL);
	struct stat st;
	CHECK(stat(f.db, &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	store_close(s);
	fx_done(&f);
}

static void test_new_file_wal_fk(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	if (s) {
		struct store_health h;
		CHECK_INT(store_health(s, &h), STORE_OK);
		CHECK(h.ok);
		CHECK_STR(h.journal_mode, "wal");
		/* foreign_keys belongs to the connection, so ask the store's own. */
		sqlite3_stmt *st = NULL;
		CHECK(sqlite3_prepare_v2(s->db, "PRAGMA foreign_keys", -1, &st, NULL) == SQLITE_OK);
		CHECK(sqlite3_step(st) == SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(st, 0), 1);
		sqlite3_finalize(st);
		CHECK(sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK);
		CHECK(sqlite3_step(st) == SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(st, 0), 2); /* FULL by default */
		sqlite3_finalize(st);
		store_close(s);
	}
	char mode[16];
	CHECK(fx_text(f.db, "PRAGMA journal_mode", mode, sizeof(mode)));
	CHECK_STR(mode, "wal"); /* WAL is a property of the file: it persists */
	fx_done(&f);
}

static void test_new_file_migrations_recorded(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), store_schema_version_latest());
	CHECK(store_schema_version_latest() >= 2);
	store_close(s);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM schema_migrations"),
	          store_schema_version_latest());
	CHECK_INT(fx_int(f.db, "SELECT max(version) FROM schema_migrations"),
	          store_schema_version_latest());
	char name[64];
	CHECK(fx_text(f.db, "SELECT name FROM schema_migrations WHERE version = 2", name,
	              sizeof(name)));
	CHECK_STR(name, "audit_events");
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM schema_migrations WHERE applied_at LIKE "
	                       "'____-__-__T__:__:__Z'"),
	          store_schema_version_latest());
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM sqlite_master WHERE name = 'audit_events'"),
	          1);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	                       "tbl_name = 'audit_events'"),
	          2);
	fx_done(&f);
}

static void test_application_id(void)
{
	struct fx f;
	fx_init(&f);
	make_db(&f, 0);
	CHECK_INT(fx_int(f.db, "PRAGMA application_id"), STORE_APPLICATION_ID);
	CHECK_INT(strtoll(STORE_APPLICATION_ID_SQL, NULL, 10), STORE_APPLICATION_ID);
	struct fx_snap snap = fx_snap_take(f.db);
	CHECK(snap.len >= 100);
	if (snap.len >= 100)
		CHECK(memcmp(snap.data + 68, "TGW1", 4) == 0);
	fx_snap_free(&snap);
	fx_done(&f);
}

static void test_meta_written(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	char v[128];
	size_t n = 0;
	CHECK_INT(store_meta_get(s, "created_by", v, sizeof(v), &n, NULL), STORE_OK);
	CHECK_STR(v, TASKGATE_VERSION_STRING);
	CHECK_INT(store_meta_get(s, "created_at", v, sizeof(v), &n, NULL), STORE_OK);
	CHECK(n == 24 && v[4] == '-' && v[10] == 'T' && v[23] == 'Z');
	CHECK_INT(store_meta_get(s, "instance_id", v, sizeof(v), &n, NULL), STORE_OK);
	CHECK_INT(n, 32);
	CHECK(strspn(v, "0123456789abcdef") == 32);
	store_close(s);
	fx_done(&f);
}

static void test_reopen_keeps_data(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	char id1[64], id2[64];
	CHECK_INT(store_meta_get(s, "instance_id", id1, sizeof(id1), NULL, NULL), STORE_OK);
	CHECK_INT(store_meta_set(s, "operator.note", "kept", NULL), STORE_OK);
	struct store_audit_event ev = fx_event("req-before-reopen");
	CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	store_close(s);
	char applied[256];
	CHECK(fx_text(f.db, "SELECT group_concat(applied_at) FROM schema_migrations", applied,
	              sizeof(applied)));
	/* A second passes, so a reapplied migration would show a new time. */
	sleep(1);

	s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), store_schema_version_latest());
	CHECK_INT(store_meta_get(s, "instance_id", id2, sizeof(id2), NULL, NULL), STORE_OK);
	CHECK_STR(id2, id1);
	char note[16];
	CHECK_INT(store_meta_get(s, "operator.note", note, sizeof(note), NULL, NULL), STORE_OK);
	CHECK_STR(note, "kept");
	int64_t count = 0;
	CHECK_INT(store_audit_count(s, &count, NULL, NULL), STORE_OK);
	CHECK_INT(count, 1);
	store_close(s);
	char applied2[256];
	CHECK(fx_text(f.db, "SELECT group_concat(applied_at) FROM schema_migrations", applied2,
	              sizeof(applied2)));
	CHECK_STR(applied2, applied);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM schema_migrations"),
	          store_schema_version_latest());
	fx_done(&f);
}

static void test_empty_file_is_new(void)
{
	struct fx f;
	fx_init(&f);
	fx_write(f.db, "", 0);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), store_schema_version_latest());
	store_close(s);
	fx_done(&f);
}

static void test_empty_sqlite_file_is_new(void)
{
	struct fx f;
	fx_init(&f);
	/* A database SQLite initialised but that has no tables (e.g. made by
	 * `sqlite3 taskgate.db 'PRAGMA user_version=0;'` before first start). */
	CHECK_INT(fx_sql(f.db, "PRAGMA page_size=4096; VACUUM;"), SQLITE_OK);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), store_schema_version_latest());
	store_close(s);
	fx_done(&f);
}

static void test_random_bytes_refused(void)
{
	struct fx f;
	fx_init(&f);
	unsigned char junk[8192];
	unsigned x = 12345;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	fx_write(f.db, junk, sizeof(junk));
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	fx_done(&f);
}

static void test_text_file_refused(void)
{
	struct fx f;
	fx_init(&f);
	const char *text = "[server]\nlisten = 127.0.0.1:8443\n";
	fx_write(f.db, text, strlen(text));
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	struct store_options ro = {.readonly = true};
	expect_refused(&f, &ro, STORE_ERR_CORRUPT);
	fx_done(&f);
}

static void test_short_header_refused(void)
{
	struct fx f;
	fx_init(&f);
	fx_write(f.db, "SQLite format 3\0\x10\0", 18);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	fx_done(&f);
}

static void test_truncated_refused(void)
{
	struct fx f;
	fx_init(&f);
	make_db(&f, 300); /* several pages of audit rows */
	struct stat st;
	CHECK(stat(f.db, &st) == 0);
	CHECK(st.st_size >= 8 * 4096);
	/* Cut at a page boundary: only the header's page count gives it away. */
	CHECK(truncate(f.db, st.st_size / 2 / 4096 * 4096) == 0);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	/* Cut mid-page. */
	CHECK(truncate(f.db, 4096 * 2 + 1000) == 0);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	fx_done(&f);
}

static void test_damaged_page_refused(void)
{
	struct fx f;
	fx_init(&f);
	make_db(&f, 300);
	struct stat st;
	CHECK(stat(f.db, &st) == 0);
	/* Scribble over the middle of a page past the schema: the header stays
	 * perfect, so only SQLite's integrity check can find this. */
	int fd = open(f.db, O_WRONLY);
	CHECK(fd >= 0);
	unsigned char junk[512];
	memset(junk, 0xA5, sizeof(junk));
	off_t at = (st.st_size / 4096 / 2) * 4096;
	CHECK(pwrite(fd, junk, sizeof(junk), at) == (ssize_t)sizeof(junk));
	close(fd);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	struct store_error err;
	struct store *s = NULL;
	CHECK_INT(store_open(f.db, NULL, &s, &err), STORE_ERR_CORRUPT);
	CHECK(strstr(err.message, "integrity") != NULL || strstr(err.message, "malformed") != NULL);
	fx_done(&f);
}

static void test_foreign_application_id_refused(void)
{
	struct fx f;
	fx_init(&f);
	CHECK_INT(fx_sql(f.db, "PRAGMA application_id = 1; CREATE TABLE t(x); INSERT INTO t "
	                       "VALUES (1);"),
	          SQLITE_OK);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open(f.db, NULL, &s, &err), STORE_ERR_CORRUPT);
	CHECK(strstr(err.message, "another program") != NULL);
	fx_done(&f);
}

static void test_foreign_tables_refused(void)
{
	struct fx f;
	fx_init(&f);
	CHECK_INT(fx_sql(f.db, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"),
	          SQLITE_OK);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	fx_done(&f);
}

static void test_foreign_schema_migrations_refused(void)
{
	struct fx f;
	fx_init(&f);
	/* Rails keeps a table of the same name; it must not pass for ours. */
	CHECK_INT(fx_sql(f.db, "CREATE TABLE schema_migrations(version varchar NOT NULL PRIMARY "
	                       "KEY); INSERT INTO schema_migrations VALUES ('20240101000000');"),
	          SQLITE_OK);
	expect_refused(&f, NULL, STORE_ERR_CORRUPT);
	fx_done(&f);
}

static void test_directory_is_io_error(void)
{
	struct fx f;
	fx_init(&f);
	CHECK(mkdir(f.db, 0700) == 0);
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open(f.db, NULL, &s, &err), STORE_ERR_IO);
	CHECK(s == NULL);
	CHECK(strstr(err.message, f.db) != NULL);
	CHECK(strstr(err.message, "directory") != NULL);
	struct stat st;
	CHECK(stat(f.db, &st) == 0 && S_ISDIR(st.st_mode));
	fx_done(&f);
}

static void test_missing_parent_is_io_error(void)
{
	struct fx f;
	fx_init(&f);
	char path[PATH_MAX], parent[PATH_MAX];
	fx_path(&f, "no-such-dir/taskgate.db", path, sizeof(path));
	fx_path(&f, "no-such-dir", parent, sizeof(parent));
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open(path, NULL, &s, &err), STORE_ERR_IO);
	CHECK(s == NULL);
	CHECK(strstr(err.message, parent) != NULL);
	CHECK(strstr(err.message, "does not exist") != NULL);
	CHECK(!fx_exists(parent));
	fx_done(&f);
}

static void test_path_through_file_is_io_error(void)
{
	struct fx f;
	fx_init(&f);
	char file[PATH_MAX], path[PATH_MAX];
	fx_path(&f, "plain", file, sizeof(file));
	fx_path(&f, "plain/taskgate.db", path, sizeof(path));
	fx_write(file, "x", 1);
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open(path, NULL, &s, &err), STORE_ERR_IO);
	CHECK(strstr(err.message, path) != NULL);
	fx_done(&f);
}

static void test_readonly_missing_creates_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct store_options ro = {.readonly = true};
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open(f.db, &ro, &s, &err), STORE_ERR_IO);
	CHECK(strstr(err.message, "does not exist") != NULL);
	CHECK(!fx_exists(f.db));
	fx_done(&f);
}

static void test_synchronous_normal_and_invalid(void)
{
	struct fx f;
	fx_init(&f);
	struct store_options normal = {.synchronous = "NORMAL"};
	struct store *s = fx_open(f.db, &normal);
	CHECK(s != NULL);
	if (s) {
		sqlite3_stmt *st = NULL;
		CHECK(sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK);
		CHECK(sqlite3_step(st) == SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(st, 0), 1); /* NORMAL */
		sqlite3_finalize(st);
		store_close(s);
	}
	struct store_options bad = {.synchronous = "OFF"};
	struct store_error err;
	s = NULL;
	CHECK_INT(store_open(f.db, &bad, &s, &err), STORE_ERR_INVALID);
	CHECK(strstr(err.message, "OFF") != NULL);
	struct store_options negative = {.busy_timeout_ms = -1};
	CHECK_INT(store_open(f.db, &negative, &s, &err), STORE_ERR_INVALID);
	fx_done(&f);
}

static void test_bad_arguments(void)
{
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open(NULL, NULL, &s, &err), STORE_ERR_INVALID);
	CHECK_INT(store_open("", NULL, &s, &err), STORE_ERR_INVALID);
	CHECK_INT(store_open("/tmp/x.db", NULL, NULL, &err), STORE_ERR_INVALID);
	store_close(NULL);
	CHECK_STR(store_status_name(STORE_ERR_TOO_NEW), "too_new");
	CHECK_STR(store_status_name(STORE_ERR_CORRUPT), "corrupt");
	CHECK_STR(store_status_name(12345), "unknown");
}

static void test_error_mapping(void)
{
	CHECK_INT(store_status_from_sqlite(SQLITE_FULL), STORE_ERR_FULL);
	CHECK_INT(store_status_from_sqlite(SQLITE_READONLY), STORE_ERR_READONLY);
	CHECK_INT(store_status_from_sqlite(SQLITE_READONLY_DBMOVED), STORE_ERR_READONLY);
	CHECK_INT(store_status_from_sqlite(SQLITE_NOTADB), STORE_ERR_CORRUPT);
	CHECK_INT(store_status_from_sqlite(SQLITE_CORRUPT), STORE_ERR_CORRUPT);
	CHECK_INT(store_status_from_sqlite(SQLITE_BUSY), STORE_ERR_BUSY);
	CHECK_INT(store_status_from_sqlite(SQLITE_BUSY_SNAPSHOT), STORE_ERR_BUSY);
	CHECK_INT(store_status_from_sqlite(SQLITE_CONSTRAINT_UNIQUE), STORE_ERR_CONFLICT);
	CHECK_INT(store_status_from_sqlite(SQLITE_IOERR_FSYNC), STORE_ERR_IO);
	CHECK_INT(store_status_from_sqlite(SQLITE_NOMEM), STORE_ERR_NOMEM);
	struct store_error err;
	CHECK_INT(store_fail_sqlite(&err, NULL, SQLITE_FULL, "/var/lib/taskgate/x.db", "writing"),
	          STORE_ERR_FULL);
	CHECK(strstr(err.message, "/var/lib/taskgate/x.db") != NULL);
	CHECK(strstr(err.message, "full") != NULL);
}

static void test_crash_with_wal_recovers(void)
{
	struct fx f, g;
	fx_init(&f);
	fx_init(&g);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	for (int i = 0; i < 50; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c%d", i);
		struct store_audit_event ev = fx_event(id);
		CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	}
	/* Copy the file and its WAL while the store is open: what a power cut
	 * leaves behind. The committed rows are in the WAL, not yet in the file. */
	char wal[PATH_MAX], gwal[PATH_MAX];
	int n1 = snprintf(wal, sizeof(wal), "%s-wal", f.db);
	int n2 = snprintf(gwal, sizeof(gwal), "%s-wal", g.db);
	CHECK(n1 > 0 && (size_t)n1 < sizeof(wal) && n2 > 0 && (size_t)n2 < sizeof(gwal));
	struct fx_snap db = fx_snap_take(f.db), w = fx_snap_take(wal);
	CHECK(w.exists && w.len > 0);
	fx_write(g.db, db.data, db.len);
	fx_write(gwal, w.data, w.len);
	fx_snap_free(&db);
	fx_snap_free(&w);
	store_close(s);

	s = fx_open(g.db, NULL);
	CHECK(s != NULL);
	int64_t count = 0;
	CHECK_INT(store_audit_count(s, &count, NULL, NULL), STORE_OK);
	CHECK_INT(count, 50);
	store_close(s);
	fx_done(&f);
	fx_done(&g);
}

static void test_sqlite3_backup_restores(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	for (int i = 0; i < 20; i++) {
		char id[16];
		snprintf(id, sizeof(id), "b%d", i);
		struct store_audit_event ev = fx_event(id);
		CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	}
	/* The command docs/store.md gives, run while the store is open. */
	char backup[PATH_MAX], cmd[3 * PATH_MAX];
	fx_path(&f, "backup.db", backup, sizeof(backup));
	int n = snprintf(cmd, sizeof(cmd), "umask 077; /usr/bin/sqlite3 '%s' \".backup '%s'\"",
	                 f.db, backup);
	CHECK(n > 0 && (size_t)n < sizeof(cmd));
	CHECK_INT(system(cmd), 0);
	struct store_audit_event ev = fx_event("after-backup");
	CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	store_close(s);

	struct stat st;
	CHECK(stat(backup, &st) == 0);
	CHECK_INT(st.st_mode & 077, 0);
	s = fx_open(backup, NULL);
	CHECK(s != NULL);
	int64_t count = 0;
	CHECK_INT(store_audit_count(s, &count, NULL, NULL), STORE_OK);
	CHECK_INT(count, 20); /* the snapshot, without what came after */
	store_close(s);
	fx_done(&f);
}

static const struct check_case cases[] = {
    {"a new database file is created with mode 0600 whatever the umask", test_new_file_mode},
    {"a new database is in WAL mode with foreign keys on and synchronous FULL",
     test_new_file_wal_fk},
    {"a new database records every migration in schema_migrations",
     test_new_file_migrations_recorded},
    {"a new database carries taskgate's application_id in its header", test_application_id},
    {"a new database records created_by, created_at and an instance id in meta", test_meta_written},
    {"reopening applies no migration again and keeps the data", test_reopen_keeps_data},
    {"a database left with a WAL by a crash opens with every committed row",
     test_crash_with_wal_recovers},
    {"a backup taken with sqlite3 .backup while the store is open is a complete store",
     test_sqlite3_backup_restores},
    {"an existing empty file is initialised as a new database", test_empty_file_is_new},
    {"an SQLite file with no tables is initialised as a new database",
     test_empty_sqlite_file_is_new},
    {"a file of random bytes is refused as corrupt and left unchanged", test_random_bytes_refused},
    {"a text file is refused as corrupt and left unchanged, read-write or read-only",
     test_text_file_refused},
    {"a file shorter than the SQLite header is refused as corrupt", test_short_header_refused},
    {"a truncated database is refused as corrupt and left unchanged", test_truncated_refused},
    {"a database with a damaged page fails the integrity check and is left unchanged",
     test_damaged_page_refused},
    {"another program's SQLite file (other application_id) is refused and left unchanged",
     test_foreign_application_id_refused},
    {"an SQLite file with tables but no taskgate mark is refused and left unchanged",
     test_foreign_tables_refused},
    {"another program's schema_migrations table does not pass for taskgate's",
     test_foreign_schema_migrations_refused},
    {"a directory in place of the database file is an I/O error naming the path",
     test_directory_is_io_error},
    {"a missing parent directory is an I/O error and is not created",
     test_missing_parent_is_io_error},
    {"a path through a regular file is an I/O error", test_path_through_file_is_io_error},
    {"a read-only open of a missing file fails and creates nothing",
     test_readonly_missing_creates_nothing},
    {"synchronous NORMAL is applied and an unknown level or negative timeout is refused",
     test_synchronous_normal_and_invalid},
    {"missing path or result pointer is refused as invalid", test_bad_arguments},
    {"SQLite errors map to store statuses and the message names the file", test_error_mapping},
};

CHECK_MAIN(cases)
