/*
 * test_store_fixture.h - helpers shared by the store's unit tests
 * (tests/unit/test_store_*.c): a fresh directory per test under /tmp, byte
 * snapshots of files to prove that a refusal changed nothing, and raw SQLite
 * access to build and inspect files behind the store's back.
 *
 * Raw SQL appears here and in the store tests only: the tests make files that
 * the store itself would never make (another program's database, a file from
 * a newer taskgate, a damaged one) and look at what the store wrote.
 */
#ifndef TASKGATE_TESTS_STORE_FIXTURE_H
#define TASKGATE_TESTS_STORE_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_int.h"

struct fx {
	char dir[64];
	char db[PATH_MAX];
};

static inline void fx_path(const struct fx *f, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", f->dir, name);
	if (n < 0 || (size_t)n >= cap)
		abort();
}

/* A new empty directory; f->db is "<dir>/taskgate.db" (not yet created). */
static inline void fx_init(struct fx *f)
{
	memcpy(f->dir, "/tmp/tg-store-XXXXXX", sizeof("/tmp/tg-store-XXXXXX"));
	if (!mkdtemp(f->dir)) {
		perror("mkdtemp");
		abort();
	}
	fx_path(f, "taskgate.db", f->db, sizeof(f->db));
}

static inline int fx_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void fx_done(struct fx *f)
{
	nftw(f->dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline bool fx_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* The whole content of a file, to compare before and after. */
struct fx_snap {
	bool exists;
	unsigned char *data;
	size_t len;
};

static inline struct fx_snap fx_snap_take(const char *path)
{
	struct fx_snap s = {0};
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return s;
	s.exists = true;
	size_t cap = 4096;
	s.data = malloc(cap);
	for (;;) {
		if (s.len == cap) {
			cap *= 2;
			s.data = realloc(s.data, cap);
		}
		if (!s.data)
			abort();
		size_t r = fread(s.data + s.len, 1, cap - s.len, fp);
		if (r == 0)
			break;
		s.len += r;
	}
	fclose(fp);
	return s;
}

static inline bool fx_snap_same(const struct fx_snap *a, const struct fx_snap *b)
{
	return a->exists == b->exists && a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static inline void fx_snap_free(struct fx_snap *s)
{
	free(s->data);
	s->data = NULL;
}

static inline void fx_write(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		abort();
}

/* Raw SQLite, outside the store. */
static inline int fx_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* One integer from a query on a read-only raw connection; -1 on error. */
static inline int64_t fx_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* One text value (copied into out); false on error. */
static inline bool fx_text(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok = false;
	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		int n = snprintf(out, cap, "%s", t ? (const char *)t : "");
		ok = n >= 0 && (size_t)n < cap;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

/* Opens with the built-in migrations; prints the error on failure. */
static inline struct store *fx_open(const char *path, const struct store_options *opts)
{
	struct store *s = NULL;
	struct store_error err;
	int rc = store_open(path, opts, &s, &err);
	if (rc != STORE_OK)
		fprintf(stdout, "    store_open(%s): %s: %s\n", path, store_status_name(rc),
		        err.message);
	return s;
}

/* A plausible event; the strings are static. */
static inline struct store_audit_event fx_event(const char *request_id)
{
	struct store_audit_event ev = {
	    .time_us = 1700000000000000LL,
	    .request_id = request_id,
	    .source_ip = "127.0.0.1",
	    .principal = "arn:aws:iam::123456789012:role/deployer",
	    .action = "ecs:RunTask",
	    .decision = "Allow",
	    .has_status = true,
	    .status = 200,
	    .error_code = NULL,
	    .has_latency = true,
	    .latency_us = 1234,
	    .record = "{\"decision\":\"Allow\"}",
	};
	return ev;
}

#endif
