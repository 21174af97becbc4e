/*
 * log.h - structured log lines on standard error (private to gateway/).
 *
 * Every line is one event: a JSON object on one line (the default) or the
 * same fields as key=value pairs ("text", for people reading a terminal).
 * Each starts with the time in UTC with microseconds, the level and a short
 * fixed message ("listening", "request", "shutdown"); the rest are fields the
 * caller adds one by one with a typed function, so values are always escaped
 * and a line can never be broken by what a client sends.
 *
 * A line is built in a fixed buffer on the caller's stack and written with one
 * write(2) under a mutex, so lines from different threads never interleave and
 * building a line never allocates. A value too long for the line is cut and
 * the line says "truncated":true; it stays valid JSON.
 *
 * What this file cannot know is which values are secret. Callers must never
 * pass credentials, tokens, Authorization or X-Amz-Security-Token headers or
 * request bodies here; the request log line (server.c) is built from a fixed
 * list of fields for that reason.
 */
#ifndef TASKGATE_GATEWAY_LOG_H
#define TASKGATE_GATEWAY_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gw_log_level {
	GW_LOG_DEBUG = 0,
	GW_LOG_INFO = 1,
	GW_LOG_WARN = 2,
	GW_LOG_ERROR = 3,
};

enum gw_log_format {
	GW_LOG_FORMAT_JSON = 0,
	GW_LOG_FORMAT_TEXT = 1,
};

/* The destination; shared by threads. */
struct gw_log {
	int fd;
	enum gw_log_level level; /* lines below this level are dropped */
	enum gw_log_format format;
	pthread_mutex_t lock; /* held only around write(2) */
};

/* One line. 8 KiB holds every line we write with room for a long path. */
#define GW_LOG_LINE_MAX 8192
/* A single string value longer than this is cut (user agents, paths). */
#define GW_LOG_VALUE_MAX 1024

struct gw_log_line {
	struct gw_log *log; /* NULL when the level is filtered out: every call is a no-op */
	enum gw_log_format format;
	bool truncated;
	size_t n;
	char buf[GW_LOG_LINE_MAX];
};

/* Returns 0, or -1 when the mutex cannot be made. */
int gw_log_init(struct gw_log *log, int fd, enum gw_log_level level, enum gw_log_format format);
void gw_log_destroy(struct gw_log *log);

bool gw_log_enabled(const struct gw_log *log, enum gw_log_level level);

/* Starts a line with time, level and msg. */
void gw_log_begin(struct gw_log_line *l, struct gw_log *log, enum gw_log_level level,
                  const char *msg);
void gw_log_str(struct gw_log_line *l, const char *key, const char *value);
/* n bytes at p, which may hold anything (invalid UTF-8 becomes U+FFFD). */
void gw_log_strn(struct gw_log_line *l, const char *key, const char *p, size_t n);
void gw_log_int(struct gw_log_line *l, const char *key, long long value);
void gw_log_uint(struct gw_log_line *l, const char *key, unsigned long long value);
void gw_log_bool(struct gw_log_line *l, const char *key, bool value);
/* Closes the line and writes it. */
void gw_log_end(struct gw_log_line *l);

/* A one-field shortcut: time, level, msg and "error": detail (NULL: none). */
void gw_log_msg(struct gw_log *log, enum gw_log_level level, const char *msg, const char *detail);

/* "debug", "info", "warn", "error"; parse returns -1 for anything else. */
const char *gw_log_level_name(enum gw_log_level level);
int gw_log_level_parse(const char *s, enum gw_log_level *out);
int gw_log_format_parse(const char *s, enum gw_log_format *out);

/* "2026-11-25T08:15:40.123456Z" (28 bytes with NUL) for the current time. */
#define GW_LOG_TIME_LEN 28
int gw_log_time_now(char out[GW_LOG_TIME_LEN]);
/* The same for a time in microseconds since the epoch. */
int gw_log_time_format(int64_t us, char out[GW_LOG_TIME_LEN]);

#endif
