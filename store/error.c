/*
 * error.c - how the store reports failure.
 *
 * Every error in store/ passes through store_fail: one function to put a
 * breakpoint on, as SQLite does with its own corruption reports. SQLite's
 * result codes are mapped here, once, to the store's statuses, and the message
 * always names the file, because an operator reading "disk I/O error" needs to
 * know which disk. Messages are for people; the code is for programs.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

int store_fail(struct store_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0) {
		int m = snprintf(err->message, sizeof(err->message), "store error %d", code);
		if (m < 0)
			err->message[0] = '\0';
	} else if ((size_t)n >= sizeof(err->message)) {
		/* Mark the cut so nobody mistakes a truncated message for the whole. */
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	}
	return code;
}

void store_clear_error(struct store_error *err)
{
	if (err) {
		err->code = STORE_OK;
		err->message[0] = '\0';
	}
}

int store_status_from_sqlite(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_NOMEM:
		return STORE_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_ERR_BUSY;
	case SQLITE_READONLY:
		return STORE_ERR_READONLY;
	case SQLITE_FULL:
		return STORE_ERR_FULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return STORE_ERR_CORRUPT;
	case SQLITE_CONSTRAINT:
		return STORE_ERR_CONFLICT;
	case SQLITE_NOTFOUND:
		return STORE_ERR_NOT_FOUND;
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return STORE_ERR_INVALID;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_PROTOCOL:
	default:
		return STORE_ERR_IO;
	}
}

int store_fail_sqlite(struct store_error *err, sqlite3 *db, int rc, const char *path,
                      const char *what)
{
	int code = store_status_from_sqlite(rc);
	if (code == STORE_OK)
		code = STORE_ERR_IO; /* a caller reporting success as failure is still a failure */
	/* sqlite3_errmsg describes the last call on db, which is the one that
	 * failed: callers hold the store's lock from the call to here. */
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	const char *hint = "";
	if (code == STORE_ERR_FULL)
		hint = " (free disk space, then retry)";
	else if (code == STORE_ERR_BUSY)
		hint = " (another process holds a lock on the database)";
	else if (code == STORE_ERR_CORRUPT)
		hint = " (restore it from a backup: see docs/store.md)";
	return store_fail(err, code, "%s%s%s: %s%s", path ? path : "", path ? ": " : "", what,
	                  msg ? msg : sqlite3_errstr(rc), hint);
}

const char *store_status_name(int code)
{
	switch (code) {
	case STORE_OK:
		return "ok";
	case STORE_ERR_IO:
		return "io";
	case STORE_ERR_CORRUPT:
		return "corrupt";
	case STORE_ERR_TOO_NEW:
		return "too_new";
	case STORE_ERR_MIGRATION:
		return "migration";
	case STORE_ERR_NOMEM:
		return "nomem";
	case STORE_ERR_BUSY:
		return "busy";
	case STORE_ERR_NOT_FOUND:
		return "not_found";
	case STORE_ERR_CONFLICT:
		return "conflict";
	case STORE_ERR_INVALID:
		return "invalid";
	case STORE_ERR_FULL:
		return "full";
	case STORE_ERR_READONLY:
		return "readonly";
	default:
		return "unknown";
	}
}

const char *store_library_version(void)
{
	return sqlite3_libversion();
}
