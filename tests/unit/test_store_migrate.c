/*
 * test_store_migrate.c - numbered migrations: a file from the previous schema
 * is brought up to date and keeps its data; a file from a newer taskgate, or
 * one whose history differs from this build's, is refused untouched; a
 * read-only open never migrates; a failing migration rolls back whole.
 *
 * Files at other versions are made through the store's test hook
 * store_open_with_migrations, which opens a file as if this build knew a
 * different list of migrations: the first one only (the previous schema), or
 * the built-in ones plus a newer or a broken one.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_store_fixture.h"

/* The built-in migrations followed by one extra, version latest+1. */
static struct store_migration with_extra[16];

static size_t list_with(const char *name, const char *sql)
{
	size_t n = 0;
	const struct store_migration *b = store_migrations(&n);
	if (n + 1 > sizeof(with_extra) / sizeof(with_extra[0]))
		abort();
	memcpy(with_extra, b, n * sizeof(*b));
	with_extra[n].version = (int)n + 1;
	with_extra[n].name = name;
	with_extra[n].sql = sql;
	return n + 1;
}

static int open_with(const char *path, const struct store_options *opts,
                     const struct store_migration *list, size_t n, struct store_error *err)
{
	struct store *s = NULL;
	int rc = store_open_with_migrations(path, opts, list, n, &s, err);
	store_close(s);
	return rc;
}

static int64_t file_version(const char *path)
{
	return fx_int(path, "SELECT max(version) FROM schema_migrations");
}

static void test_from_previous_schema(void)
{
	struct fx f;
	fx_init(&f);
	size_t n = 0;
	const struct store_migration *b = store_migrations(&n);
	struct store *s = NULL;
	struct store_error err;
	/* A file as the previous release (schema version 1) left it. */
	CHECK_INT(store_open_with_migrations(f.db, NULL, b, 1, &s, &err), STORE_OK);
	CHECK_INT(store_schema_version(s), 1);
	CHECK_INT(store_meta_set(s, "made.before.upgrade", "yes", &err), STORE_OK);
	char instance[64];
	CHECK_INT(store_meta_get(s, "instance_id", instance, sizeof(instance), NULL, &err),
	          STORE_OK);
	store_close(s);
	CHECK_INT(file_version(f.db), 1);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM sqlite_master WHERE name = 'audit_events'"),
	          0);
	char applied1[32];
	CHECK(fx_text(f.db, "SELECT applied_at FROM schema_migrations WHERE version = 1", applied1,
	              sizeof(applied1)));

	/* This build opens it: migrates, keeps what was there. */
	s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), store_schema_version_latest());
	char v[64];
	CHECK_INT(store_meta_get(s, "made.before.upgrade", v, sizeof(v), NULL, &err), STORE_OK);
	CHECK_STR(v, "yes");
	CHECK_INT(store_meta_get(s, "instance_id", v, sizeof(v), NULL, &err), STORE_OK);
	CHECK_STR(v, instance);
	struct store_audit_event ev = fx_event("req-after-upgrade");
	int64_t seq = 0;
	CHECK_INT(store_audit_append(s, &ev, &seq, &err), STORE_OK);
	CHECK_INT(seq, 1);
	store_close(s);
	CHECK_INT(file_version(f.db), store_schema_version_latest());
	char applied1_after[32];
	CHECK(fx_text(f.db, "SELECT applied_at FROM schema_migrations WHERE version = 1",
	              applied1_after, sizeof(applied1_after)));
	CHECK_STR(applied1_after, applied1);
	fx_done(&f);
}

static void test_too_new_refused(void)
{
	struct fx f;
	fx_init(&f);
	size_t n = list_with("from_the_future", "CREATE TABLE future_things(x INTEGER);");
	struct store_error err;
	CHECK_INT(open_with(f.db, NULL, with_extra, n, &err), STORE_OK);
	CHECK_INT(file_version(f.db), (int64_t)n);

	struct fx_snap before = fx_snap_take(f.db);
	struct store *s = NULL;
	CHECK_INT(store_open(f.db, NULL, &s, &err), STORE_ERR_TOO_NEW);
	CHECK(s == NULL);
	char newer[16], known[32];
	snprintf(newer, sizeof(newer), "version %zu", n);
	snprintf(known, sizeof(known), "up to %d", store_schema_version_latest());
	CHECK(strstr(err.message, f.db) != NULL);
	CHECK(strstr(err.message, newer) != NULL);
	CHECK(strstr(err.message, known) != NULL);
	CHECK(strstr(err.message, "Upgrade taskgate") != NULL);
	struct store_options ro = {.readonly = true};
	CHECK_INT(store_open(f.db, &ro, &s, &err), STORE_ERR_TOO_NEW);
	struct fx_snap after = fx_snap_take(f.db);
	CHECK(fx_snap_same(&before, &after));
	fx_snap_free(&before);
	fx_snap_free(&after);
	CHECK_INT(file_version(f.db), (int64_t)n);
	fx_done(&f);
}

static void test_same_version_opens(void)
{
	struct fx f;
	fx_init(&f);
	/* The other side of the too-new check: a file at exactly this build's
	 * version opens, read-write and read-only. */
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	store_close(s);
	struct store_options ro = {.readonly = true};
	s = fx_open(f.db, &ro);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), store_schema_version_latest());
	store_close(s);
	fx_done(&f);
}

static void test_readonly_old_file_refused(void)
{
	struct fx f;
	fx_init(&f);
	size_t n = 0;
	const struct store_migration *b = store_migrations(&n);
	struct store_error err;
	CHECK_INT(open_with(f.db, NULL, b, 1, &err), STORE_OK);
	struct fx_snap before = fx_snap_take(f.db);
	struct store_options ro = {.readonly = true};
	struct store *s = NULL;
	CHECK_INT(store_open(f.db, &ro, &s, &err), STORE_ERR_READONLY);
	CHECK(s == NULL);
	CHECK(strstr(err.message, "read-only open never migrates") != NULL);
	CHECK(strstr(err.message, f.db) != NULL);
	struct fx_snap after = fx_snap_take(f.db);
	CHECK(fx_snap_same(&before, &after));
	fx_snap_free(&before);
	fx_snap_free(&after);
	CHECK_INT(file_version(f.db), 1);
	fx_done(&f);
}

static void test_readonly_current_file_writes_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_audit_event ev = fx_event("req-1");
	CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	store_close(s);
	struct fx_snap before = fx_snap_take(f.db);
	struct store_options ro = {.readonly = true};
	s = fx_open(f.db, &ro);
	CHECK(s != NULL);
	struct store_error err;
	int64_t count = 0;
	CHECK_INT(store_audit_count(s, &count, NULL, &err), STORE_OK);
	CHECK_INT(count, 1);
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_READONLY);
	CHECK_INT(store_meta_set(s, "k", "v", &err), STORE_ERR_READONLY);
	struct store_health h;
	CHECK_INT(store_health(s, &h), STORE_OK);
	CHECK(h.ok);
	store_close(s);
	struct fx_snap after = fx_snap_take(f.db);
	CHECK(fx_snap_same(&before, &after));
	fx_snap_free(&before);
	fx_snap_free(&after);
	fx_done(&f);
}

static void test_failing_migration_rolls_back(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	store_close(s);
	int latest = store_schema_version_latest();

	/* Its first statement works, its second does not: neither may remain. */
	size_t n = list_with("broken", "CREATE TABLE half_done(x INTEGER);"
	                               "INSERT INTO no_such_table VALUES (1);");
	struct store_error err;
	CHECK_INT(open_with(f.db, NULL, with_extra, n, &err), STORE_ERR_MIGRATION);
	char which[64];
	snprintf(which, sizeof(which), "migration %zu (broken)", n);
	CHECK(strstr(err.message, which) != NULL);
	CHECK(strstr(err.message, "no_such_table") != NULL);
	CHECK(strstr(err.message, "rolled back") != NULL);
	CHECK_INT(file_version(f.db), latest);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"), 0);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM schema_migrations"), latest);

	/* The file is still good for this build. */
	s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	CHECK_INT(store_schema_version(s), latest);
	store_close(s);
	fx_done(&f);
}

static void test_failing_migration_on_new_file_keeps_earlier(void)
{
	struct fx f;
	fx_init(&f);
	size_t n = list_with("broken", "CREATE TABLE half_done(x INTEGER); SELECT nonsense(;");
	struct store_error err;
	CHECK_INT(open_with(f.db, NULL, with_extra, n, &err), STORE_ERR_MIGRATION);
	/* Migrations before the broken one were each committed on their own. */
	CHECK_INT(file_version(f.db), (int64_t)n - 1);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"), 0);
	fx_done(&f);
}

static void test_migration_breaking_foreign_key_rolls_back(void)
{
	struct fx f;
	fx_init(&f);
	/* Deferred, so the violation survives to the end of the SQL; the
	 * foreign_key_check before the commit must catch it. */
	size_t n = list_with("dangling_reference",
	                     "PRAGMA defer_foreign_keys = ON;"
	                     "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
	                     "CREATE TABLE child(parent_id INTEGER REFERENCES parent(id));"
	                     "INSERT INTO child VALUES (42);");
	struct store_error err;
	CHECK_INT(open_with(f.db, NULL, with_extra, n, &err), STORE_ERR_MIGRATION);
	CHECK(strstr(err.message, "child") != NULL);
	CHECK_INT(file_version(f.db), (int64_t)n - 1);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM sqlite_master WHERE name = 'child'"), 0);

	/* The same migration with the reference satisfied goes through. */
	struct fx g;
	fx_init(&g);
	n = list_with("good_reference",
	              "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
	              "CREATE TABLE child(parent_id INTEGER REFERENCES parent(id));"
	              "INSERT INTO parent VALUES (42);"
	              "INSERT INTO child VALUES (42);");
	CHECK_INT(open_with(g.db, NULL, with_extra, n, &err), STORE_OK);
	CHECK_INT(file_version(g.db), (int64_t)n);
	fx_done(&g);
	fx_done(&f);
}

static void test_renamed_history_refused(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	store_close(s);
	CHECK_INT(fx_sql(f.db, "UPDATE schema_migrations SET name = 'something_else' WHERE "
	                       "version = 2"),
	          SQLITE_OK);
	struct fx_snap before = fx_snap_take(f.db);
	struct store_error err;
	s = NULL;
	CHECK_INT(store_open(f.db, NULL, &s, &err), STORE_ERR_CORRUPT);
	CHECK(strstr(err.message, "something_else") != NULL);
	CHECK(strstr(err.message, "different build") != NULL);
	struct fx_snap after = fx_snap_take(f.db);
	CHECK(fx_snap_same(&before, &after));
	fx_snap_free(&before);
	fx_snap_free(&after);
	fx_done(&f);
}

static void test_gap_in_history_refused(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	store_close(s);
	CHECK_INT(fx_sql(f.db, "DELETE FROM schema_migrations WHERE version = 1"), SQLITE_OK);
	struct store_error err;
	s = NULL;
	CHECK_INT(store_open(f.db, NULL, &s, &err), STORE_ERR_CORRUPT);
	CHECK(strstr(err.message, "schema_migrations") != NULL);
	fx_done(&f);
}

static void test_migration_list_validated(void)
{
	struct fx f;
	fx_init(&f);
	static const struct store_migration gap[] = {
	    {1, "one",
	     "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, name TEXT, "
	     "applied_at TEXT);"},
	    {3, "three", "CREATE TABLE t(x);"},
	};
	struct store_error err;
	CHECK_INT(open_with(f.db, NULL, gap, 2, &err), STORE_ERR_INVALID);
	CHECK_INT(open_with(f.db, NULL, gap, 0, &err), STORE_ERR_INVALID);
	CHECK(!fx_exists(f.db)); /* checked before the file is touched */
	CHECK_INT(open_with(f.db, NULL, gap, 1, &err), STORE_OK);
	fx_done(&f);
}

static void test_builtin_list_is_numbered(void)
{
	size_t n = 0;
	const struct store_migration *b = store_migrations(&n);
	CHECK_INT(store_migrations_valid(b, n, NULL), STORE_OK);
	CHECK_INT((int64_t)n, store_schema_version_latest());
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			CHECK(strcmp(b[i].name, b[j].name) != 0);
}

static const struct check_case cases[] = {
    {"a file at the previous schema version is migrated and keeps its data",
     test_from_previous_schema},
    {"a file from a newer taskgate is refused as too new, names both versions, and is "
     "unchanged",
     test_too_new_refused},
    {"a file at exactly this build's version opens read-write and read-only",
     test_same_version_opens},
    {"a read-only open of an out-of-date file is refused and does not migrate it",
     test_readonly_old_file_refused},
    {"a read-only open of a current file reads, refuses writes and changes nothing",
     test_readonly_current_file_writes_nothing},
    {"a failing migration rolls back whole, leaving the file at the previous version",
     test_failing_migration_rolls_back},
    {"a failing migration on a new file keeps the earlier migrations that succeeded",
     test_failing_migration_on_new_file_keeps_earlier},
    {"a migration that leaves a dangling foreign key is rolled back; a consistent one lands",
     test_migration_breaking_foreign_key_rolls_back},
    {"a file whose recorded migration name differs from this build's is refused unchanged",
     test_renamed_history_refused},
    {"a file with a gap in schema_migrations is refused", test_gap_in_history_refused},
    {"a migration list that is not numbered 1, 2, 3... is refused before the file is touched",
     test_migration_list_validated},
    {"the built-in migrations are numbered from 1 with distinct names",
     test_builtin_list_is_numbered},
};

CHECK_MAIN(cases)
