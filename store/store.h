/*
 * store.h - the embedded SQLite store: the only door into store/, and the only
 * code in taskgate that speaks SQL.
 *
 * One database file, opened in WAL mode with foreign keys on and a busy timeout.
 * Numbered migrations are applied at open, each in its own transaction, and
 * recorded in the database; a file whose schema is newer than this build knows
 * is refused, never touched. Callers see typed functions only.
 */
#ifndef TASKGATE_STORE_H
#define TASKGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
	STORE_OK = 0,
	STORE_ERR_IO = -1,        /* cannot open/read/write the file */
	STORE_ERR_CORRUPT = -2,   /* not a database, or a damaged one */
	STORE_ERR_TOO_NEW = -3,   /* made by a newer taskgate: schema version unknown here */
	STORE_ERR_MIGRATION = -4, /* a migration failed (rolled back) */
	STORE_ERR_NOMEM = -5,
	STORE_ERR_BUSY = -6,
	STORE_ERR_NOT_FOUND = -7,
	STORE_ERR_CONFLICT = -8,
	STORE_ERR_INVALID = -9,
	STORE_ERR_FULL = -10,     /* disk or database full */
	STORE_ERR_READONLY = -11,
};

struct store_error {
	int code;          /* an enum store_status */
	char message[512]; /* for a person: names the file and what is wrong */
};

struct store; /* one open database; see store_open */

struct store_options {
	int busy_timeout_ms; /* 0: 5000 */
	bool readonly;       /* open without migrating or writing (audit tools) */
	/* SQLite's synchronous level: "FULL" (survives power loss) or "NORMAL"
	 * (survives a process crash); NULL: "FULL". */
	const char *synchronous;
};

int store_open(const char *path, const struct store_options *opts, struct store **out,
               struct store_error *err);
void store_close(struct store *s);

/* The schema version this build writes, and the one the open file has. */
int store_schema_version_latest(void);
int store_schema_version(struct store *s);

struct store_health {
	bool ok;
	int schema_version;
	char journal_mode[16];
	char message[256];
};

/* A cheap liveness check for /health: a read on the connection. */
int store_health(struct store *s, struct store_health *out);

const char *store_status_name(int code);

#endif
