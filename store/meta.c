/*
 * meta.c - the meta table: a few named facts about the database file itself
 * (which taskgate made it, when, its instance id), and room for later ones.
 *
 * Not a general configuration store: keys are short, lower-case names chosen
 * in code, and values are small text. Keys are checked before use so that a
 * caller's typo is an error rather than a silently new key with odd bytes.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

static int check_key(const char *key, struct store_error *err)
{
	if (!key)
		return store_fail(err, STORE_ERR_INVALID, "meta: no key given");
	size_t n = strnlen(key, STORE_META_KEY_MAX + 1);
	if (n == 0 || n > STORE_META_KEY_MAX)
		return store_fail(err, STORE_ERR_INVALID, "meta: a key is 1..%d bytes",
		                  STORE_META_KEY_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		          c == '.' || c == '-';
		if (!ok)
			return store_fail(
			    err, STORE_ERR_INVALID,
			    "meta: key has a character outside [a-z0-9_.-] at byte %zu", i);
	}
	return STORE_OK;
}

int store_meta_get(struct store *s, const char *key, char *buf, size_t cap, size_t *len_out,
                   struct store_error *err)
{
	store_clear_error(err);
	if (len_out)
		*len_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "meta: no database open");
	int code = check_key(key, err);
	if (code != STORE_OK)
		return code;
	if (!buf || cap == 0)
		return store_fail(err, STORE_ERR_INVALID, "meta: no buffer for the value");
	buf[0] = '\0';

	store_lock(s);
	sqlite3_stmt *st = NULL;
	code =
	    store_stmt(s, STORE_STMT_META_GET, "SELECT value FROM meta WHERE key = ?1", &st, err);
	if (code == STORE_OK) {
		int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			int n = sqlite3_column_bytes(st, 0);
			if (!t || n < 0) {
				code =
				    store_fail(err, STORE_ERR_NOMEM, "%s: out of memory", s->path);
			} else {
				if (len_out)
					*len_out = (size_t)n;
				if ((size_t)n >= cap) {
					code = store_fail(
					    err, STORE_ERR_INVALID,
					    "meta: the value of %s is %d bytes, the buffer "
					    "holds %zu",
					    key, n, cap - 1);
				} else {
					memcpy(buf, t, (size_t)n);
					buf[n] = '\0';
				}
			}
		} else if (rc == SQLITE_DONE) {
			code = store_fail(err, STORE_ERR_NOT_FOUND, "%s: meta has no key %s",
			                  s->path, key);
		} else {
			code = store_fail_sqlite(err, s->db, rc, s->path, "reading meta");
		}
		store_stmt_done(st);
	}
	store_unlock(s);
	return code;
}

int store_meta_set(struct store *s, const char *key, const char *value, struct store_error *err)
{
	store_clear_error(err);
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "meta: no database open");
	int code = check_key(key, err);
	if (code != STORE_OK)
		return code;
	if (!value)
		return store_fail(err, STORE_ERR_INVALID, "meta: no value given for %s", key);
	if (strnlen(value, STORE_META_VALUE_MAX + 1) > STORE_META_VALUE_MAX)
		return store_fail(err, STORE_ERR_INVALID, "meta: the value of %s is over %d bytes",
		                  key, STORE_META_VALUE_MAX);
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY, "%s: opened read-only; cannot set %s",
		                  s->path, key);

	store_lock(s);
	sqlite3_stmt *st = NULL;
	code = store_stmt(s, STORE_STMT_META_SET,
	                  "INSERT INTO meta(key, value) VALUES (?1, ?2)"
	                  " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	                  &st, err);
	if (code == STORE_OK) {
		int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			code = store_fail_sqlite(err, s->db, rc, s->path, "writing meta");
		store_stmt_done(st);
	}
	store_unlock(s);
	return code;
}

int store_meta_int(struct store *s, const char *key, int64_t dflt, int64_t min, int64_t *out,
                   struct store_error *err)
{
	char buf[32];
	*out = dflt;
	int code = store_meta_get(s, key, buf, sizeof(buf), NULL, err);
	if (code == STORE_ERR_NOT_FOUND) {
		store_clear_error(err);
		return STORE_OK;
	}
	if (code != STORE_OK)
		return code;
	char *end = NULL;
	long long v = strtoll(buf, &end, 10);
	if (end == buf || *end != '\0' || v < min)
		return store_fail(err, STORE_ERR_CORRUPT, "meta %s is not a number from %lld: %s",
		                  key, (long long)min, buf);
	*out = v;
	return STORE_OK;
}
