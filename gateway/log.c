/*
 * log.c - structured log lines: JSON lines or key=value text on one fd.
 *
 * The builder appends into a fixed buffer and keeps a small reserve at its
 * end so that the closing of a line ("truncated":true, "}", newline) always
 * fits: a field that does not fit is dropped whole, a string value that does
 * not fit is cut at a character boundary. Strings from the network may hold any
 * bytes; they are written as JSON strings with control characters escaped and
 * invalid UTF-8 replaced by U+FFFD, so a client cannot forge a second line or
 * a field of its own. The text format uses the same escaping inside quotes.
 *
 * Nothing here allocates; the mutex is held only for the write(2) calls of one
 * finished line.
 */
#include "gateway/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bytes kept free for the end of a line: ,"truncated":true}\n and a NUL. */
#define LINE_RESERVE 32

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int gw_log_init(struct gw_log *log, int fd, enum gw_log_level level, enum gw_log_format format)
{
	log->fd = fd;
	log->level = level;
	log->format = format;
	if (pthread_mutex_init(&log->lock, NULL) != 0)
		return -1;
	return 0;
}

void gw_log_destroy(struct gw_log *log)
{
	pthread_mutex_destroy(&log->lock);
}

bool gw_log_enabled(const struct gw_log *log, enum gw_log_level level)
{
	return log && level >= log->level;
}

const char *gw_log_level_name(enum gw_log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "unknown";
}

int gw_log_level_parse(const char *s, enum gw_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum gw_log_level)i;
			return 0;
		}
	}
	return -1;
}

int gw_log_format_parse(const char *s, enum gw_log_format *out)
{
	if (strcmp(s, "json") == 0) {
		*out = GW_LOG_FORMAT_JSON;
		return 0;
	}
	if (strcmp(s, "text") == 0) {
		*out = GW_LOG_FORMAT_TEXT;
		return 0;
	}
	return -1;
}

static int format_time(time_t sec, long usec, char out[GW_LOG_TIME_LEN])
{
	struct tm tm;
	char date[24];
	if (!gmtime_r(&sec, &tm))
		return -1;
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -1;
	int w = snprintf(out, GW_LOG_TIME_LEN, "%s.%06ldZ", date, usec);
	if (w < 0 || w >= GW_LOG_TIME_LEN)
		return -1;
	return 0;
}

int gw_log_time_now(char out[GW_LOG_TIME_LEN])
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	return format_time(ts.tv_sec, ts.tv_nsec / 1000, out);
}

int gw_log_time_format(int64_t us, char out[GW_LOG_TIME_LEN])
{
	if (us < 0)
		return -1;
	return format_time((time_t)(us / 1000000), (long)(us % 1000000), out);
}

/* Room left before the reserve. */
static size_t room(const struct gw_log_line *l)
{
	size_t limit = sizeof(l->buf) - LINE_RESERVE;
	return l->n < limit ? limit - l->n : 0;
}

static bool put(struct gw_log_line *l, const char *s, size_t n)
{
	if (n > room(l)) {
		l->truncated = true;
		return false;
	}
	memcpy(l->buf + l->n, s, n);
	l->n += n;
	return true;
}

static bool puts_(struct gw_log_line *l, const char *s)
{
	return put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char b = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		len = 2;
	else if (b >= 0xE0 && b <= 0xEF) {
		len = 3;
		if (b == 0xE0)
			lo = 0xA0;
		else if (b == 0xED)
			hi = 0x9F; /* no UTF-16 surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	}
	return len;
}

/*
 * Writes p[0..n) as the inside of a JSON string. Stops at a character boundary
 * when the line or GW_LOG_VALUE_MAX is reached, marking the line truncated.
 */
static void put_escaped(struct gw_log_line *l, const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
	if (n > GW_LOG_VALUE_MAX) {
		n = GW_LOG_VALUE_MAX;
		l->truncated = true;
	}
	while (i < n) {
		char tmp[8];
		const char *out = tmp;
		size_t out_n;
		size_t adv = 1;
		unsigned char c = u[i];
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			out_n = 2;
		} else if (c == '\n') {
			out = "\\n";
			out_n = 2;
		} else if (c == '\r') {
			out = "\\r";
			out_n = 2;
		} else if (c == '\t') {
			out = "\\t";
			out_n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			static const char hex[] = "0123456789abcdef";
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hex[c >> 4];
			tmp[5] = hex[c & 15];
			out_n = 6;
		} else if (c < 0x80) {
			tmp[0] = (char)c;
			out_n = 1;
		} else {
			adv = utf8_seq(u + i, n - i);
			if (adv == 0) {
				out = "\\ufffd";
				out_n = 6;
				adv = 1;
			} else {
				out = p + i;
				out_n = adv;
			}
		}
		if (!put(l, out, out_n))
			return;
		i += adv;
	}
}

/* Text format: a value needs quotes when it is empty or has a space, quote,
 * equals sign, backslash, control character or non-ASCII byte. */
static bool text_needs_quotes(const char *p, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=' || c == '\\')
			return true;
	}
	return false;
}

/* Opens a field: `,"key":` or ` key=`. Returns the offset to roll back to. */
static size_t field_open(struct gw_log_line *l, const char *key, bool *ok)
{
	size_t mark = l->n;
	if (l->format == GW_LOG_FORMAT_JSON)
		*ok = put(l, ",\"", 2) && puts_(l, key) && put(l, "\":", 2);
	else
		*ok = put(l, " ", 1) && puts_(l, key) && put(l, "=", 1);
	if (!*ok)
		l->n = mark;
	return mark;
}

void gw_log_begin(struct gw_log_line *l, struct gw_log *log, enum gw_log_level level,
                  const char *msg)
{
	char ts[GW_LOG_TIME_LEN];
	l->n = 0;
	l->truncated = false;
	if (!gw_log_enabled(log, level)) {
		l->log = NULL;
		return;
	}
	l->log = log;
	l->format = log->format;
	if (gw_log_time_now(ts) != 0)
		memcpy(ts, "1970-01-01T00:00:00.000000Z", GW_LOG_TIME_LEN);
	if (l->format == GW_LOG_FORMAT_JSON) {
		puts_(l, "{\"time\":\"");
		puts_(l, ts);
		puts_(l, "\",\"level\":\"");
		puts_(l, gw_log_level_name(level));
		puts_(l, "\"");
	} else {
		puts_(l, "time=");
		puts_(l, ts);
		puts_(l, " level=");
		puts_(l, gw_log_level_name(level));
	}
	gw_log_str(l, "msg", msg);
}

void gw_log_strn(struct gw_log_line *l, const char *key, const char *p, size_t n)
{
	bool ok;
	if (!l->log)
		return;
	size_t mark = field_open(l, key, &ok);
	if (!ok)
		return;
	bool quote = l->format == GW_LOG_FORMAT_JSON || text_needs_quotes(p, n);
	if (quote && !put(l, "\"", 1)) {
		l->n = mark;
		return;
	}
	put_escaped(l, p, n);
	/* The reserve guarantees room for the closing quote. */
	if (quote) {
		l->buf[l->n] = '"';
		l->n++;
	}
}

void gw_log_str(struct gw_log_line *l, const char *key, const char *value)
{
	if (!value)
		value = "";
	gw_log_strn(l, key, value, strlen(value));
}

static void put_number(struct gw_log_line *l, const char *key, const char *digits)
{
	bool ok;
	if (!l->log)
		return;
	size_t mark = field_open(l, key, &ok);
	if (!ok)
		return;
	if (!puts_(l, digits))
		l->n = mark;
}

void gw_log_int(struct gw_log_line *l, const char *key, long long value)
{
	char d[24];
	int w = snprintf(d, sizeof(d), "%lld", value);
	if (w < 0 || (size_t)w >= sizeof(d))
		return;
	put_number(l, key, d);
}

void gw_log_uint(struct gw_log_line *l, const char *key, unsigned long long value)
{
	char d[24];
	int w = snprintf(d, sizeof(d), "%llu", value);
	if (w < 0 || (size_t)w >= sizeof(d))
		return;
	put_number(l, key, d);
}

void gw_log_bool(struct gw_log_line *l, const char *key, bool value)
{
	put_number(l, key, value ? "true" : "false");
}

void gw_log_end(struct gw_log_line *l)
{
	if (!l->log)
		return;
	/* The reserve always has room for these. */
	const char *tail;
	if (l->format == GW_LOG_FORMAT_JSON)
		tail = l->truncated ? ",\"truncated\":true}\n" : "}\n";
	else
		tail = l->truncated ? " truncated=true\n" : "\n";
	size_t tn = strlen(tail);
	memcpy(l->buf + l->n, tail, tn);
	l->n += tn;

	pthread_mutex_lock(&l->log->lock);
	size_t off = 0;
	while (off < l->n) {
		ssize_t w = write(l->log->fd, l->buf + off, l->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to report a failing log */
		off += (size_t)w;
	}
	pthread_mutex_unlock(&l->log->lock);
	l->log = NULL;
}

void gw_log_msg(struct gw_log *log, enum gw_log_level level, const char *msg, const char *detail)
{
	struct gw_log_line l;
	gw_log_begin(&l, log, level, msg);
	if (detail)
		gw_log_str(&l, "error", detail);
	gw_log_end(&l);
}
