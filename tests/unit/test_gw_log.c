/*
 * test_gw_log.c - structured log lines: valid JSON whatever the values hold,
 * one line per event, levels filtered, long values cut visibly.
 */
#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "gateway/log.h"
#include "tests/unit/check.h"

/* A log writing into a pipe, and a reader for what it wrote. */
struct capture {
	int fds[2];
	struct gw_log log;
	char buf[65536];
	size_t n;
};

static void capture_open(struct capture *c, enum gw_log_level level, enum gw_log_format format)
{
	memset(c, 0, sizeof(*c));
	CHECK(pipe(c->fds) == 0);
	CHECK(fcntl(c->fds[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(gw_log_init(&c->log, c->fds[1], level, format) == 0);
}

static const char *capture_read(struct capture *c)
{
	ssize_t r = read(c->fds[0], c->buf, sizeof(c->buf) - 1);
	c->n = r > 0 ? (size_t)r : 0;
	c->buf[c->n] = '\0';
	return c->buf;
}

static void capture_close(struct capture *c)
{
	gw_log_destroy(&c->log);
	close(c->fds[0]);
	close(c->fds[1]);
}

static size_t count_newlines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Parses one JSON line; NULL (and a failed check) if it is not valid. */
static json_t *parse_line(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j) {
		check_fail(__FILE__, __LINE__, "line is valid JSON");
		printf("      %s: %.200s\n", e.text, s);
	}
	return j;
}

static void a_json_line_has_time_level_msg_and_typed_fields(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_INFO, GW_LOG_FORMAT_JSON);
	struct gw_log_line l;
	gw_log_begin(&l, &c.log, GW_LOG_INFO, "listening");
	gw_log_str(&l, "addr", "127.0.0.1");
	gw_log_uint(&l, "port", 43121);
	gw_log_int(&l, "delta", -5);
	gw_log_bool(&l, "tls", true);
	gw_log_end(&l);
	const char *s = capture_read(&c);
	CHECK_INT(count_newlines(s), 1);
	json_t *j = parse_line(s);
	if (j) {
		const char *t = json_string_value(json_object_get(j, "time"));
		CHECK(t && strlen(t) == 27 && t[10] == 'T' && t[19] == '.' && t[26] == 'Z');
		CHECK_STR(json_string_value(json_object_get(j, "level")), "info");
		CHECK_STR(json_string_value(json_object_get(j, "msg")), "listening");
		CHECK_STR(json_string_value(json_object_get(j, "addr")), "127.0.0.1");
		CHECK_INT(json_integer_value(json_object_get(j, "port")), 43121);
		CHECK_INT(json_integer_value(json_object_get(j, "delta")), -5);
		CHECK(json_is_true(json_object_get(j, "tls")));
		CHECK(json_object_get(j, "truncated") == NULL);
		json_decref(j);
	}
	capture_close(&c);
}

static void lines_below_the_level_are_dropped_and_above_kept(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_WARN, GW_LOG_FORMAT_JSON);
	gw_log_msg(&c.log, GW_LOG_INFO, "quiet", NULL);
	gw_log_msg(&c.log, GW_LOG_DEBUG, "quieter", NULL);
	CHECK_STR(capture_read(&c), "");
	gw_log_msg(&c.log, GW_LOG_ERROR, "loud", "why");
	const char *s = capture_read(&c);
	CHECK(strstr(s, "\"msg\":\"loud\"") != NULL);
	CHECK(strstr(s, "\"error\":\"why\"") != NULL);
	CHECK(gw_log_enabled(&c.log, GW_LOG_WARN));
	CHECK(!gw_log_enabled(&c.log, GW_LOG_INFO));
	capture_close(&c);
}

static void quotes_newlines_and_control_bytes_cannot_break_the_line(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_DEBUG, GW_LOG_FORMAT_JSON);
	const char evil[] = "a\"b\\c\nd\r\te\x01\x1f\x7f{\"level\":\"error\"}";
	struct gw_log_line l;
	gw_log_begin(&l, &c.log, GW_LOG_INFO, "request");
	gw_log_strn(&l, "user_agent", evil, sizeof(evil) - 1);
	gw_log_end(&l);
	const char *s = capture_read(&c);
	CHECK_INT(count_newlines(s), 1);
	json_t *j = parse_line(s);
	if (j) {
		/* The value round-trips exactly, and the forged field stays inside it. */
		json_t *ua = json_object_get(j, "user_agent");
		CHECK_INT(json_string_length(ua), sizeof(evil) - 1);
		CHECK(memcmp(json_string_value(ua), evil, sizeof(evil) - 1) == 0);
		CHECK_STR(json_string_value(json_object_get(j, "level")), "info");
		json_decref(j);
	}
	capture_close(&c);
}

static void invalid_utf8_becomes_replacement_characters_and_valid_utf8_stays(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_DEBUG, GW_LOG_FORMAT_JSON);
	/* overlong '/', a lone continuation, a surrogate, a cut sequence; then é and 😀 */
	const char bad[] = "\xc0\xaf|\x80|\xed\xa0\x80|\xe2\x82";
	const char good[] = "caf\xc3\xa9 \xf0\x9f\x98\x80";
	struct gw_log_line l;
	gw_log_begin(&l, &c.log, GW_LOG_INFO, "x");
	gw_log_strn(&l, "bad", bad, sizeof(bad) - 1);
	gw_log_strn(&l, "good", good, sizeof(good) - 1);
	gw_log_end(&l);
	json_t *j = parse_line(capture_read(&c));
	if (j) {
		const char *b = json_string_value(json_object_get(j, "bad"));
		CHECK(b && strstr(b, "\xef\xbf\xbd") != NULL);
		CHECK(b && strchr(b, '\x80') == NULL);
		CHECK_STR(json_string_value(json_object_get(j, "good")), good);
		json_decref(j);
	}
	capture_close(&c);
}

static void an_overlong_value_is_cut_and_the_line_says_truncated(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_DEBUG, GW_LOG_FORMAT_JSON);
	char big[GW_LOG_VALUE_MAX * 3];
	memset(big, 'x', sizeof(big));
	struct gw_log_line l;
	gw_log_begin(&l, &c.log, GW_LOG_INFO, "x");
	gw_log_strn(&l, "path", big, sizeof(big));
	gw_log_uint(&l, "status", 200);
	gw_log_end(&l);
	json_t *j = parse_line(capture_read(&c));
	if (j) {
		CHECK_INT(json_string_length(json_object_get(j, "path")), GW_LOG_VALUE_MAX);
		CHECK(json_is_true(json_object_get(j, "truncated")));
		CHECK_INT(json_integer_value(json_object_get(j, "status")), 200);
		json_decref(j);
	}
	capture_close(&c);
}

static void a_line_full_of_fields_stays_valid_json_within_its_buffer(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_DEBUG, GW_LOG_FORMAT_JSON);
	char v[GW_LOG_VALUE_MAX];
	memset(v, '"', sizeof(v)); /* each byte doubles when escaped */
	struct gw_log_line l;
	gw_log_begin(&l, &c.log, GW_LOG_INFO, "x");
	for (int i = 0; i < 20; i++)
		gw_log_strn(&l, "k", v, sizeof(v));
	gw_log_uint(&l, "after", 1);
	gw_log_end(&l);
	const char *s = capture_read(&c);
	CHECK(c.n <= GW_LOG_LINE_MAX);
	CHECK_INT(count_newlines(s), 1);
	json_t *j = parse_line(s);
	if (j) {
		CHECK(json_is_true(json_object_get(j, "truncated")));
		json_decref(j);
	}
	capture_close(&c);
}

static void text_format_writes_key_value_pairs_quoting_when_needed(void)
{
	struct capture c;
	capture_open(&c, GW_LOG_DEBUG, GW_LOG_FORMAT_TEXT);
	struct gw_log_line l;
	gw_log_begin(&l, &c.log, GW_LOG_WARN, "request");
	gw_log_str(&l, "path", "/health");
	gw_log_str(&l, "user_agent", "curl/8 \"x\"\nlevel=error");
	gw_log_str(&l, "empty", "");
	gw_log_uint(&l, "status", 404);
	gw_log_end(&l);
	const char *s = capture_read(&c);
	CHECK_INT(count_newlines(s), 1);
	CHECK(strncmp(s, "time=", 5) == 0);
	CHECK(strstr(s, " level=warn msg=request path=/health ") != NULL);
	CHECK(strstr(s, " user_agent=\"curl/8 \\\"x\\\"\\nlevel=error\"") != NULL);
	CHECK(strstr(s, " empty=\"\"") != NULL);
	CHECK(strstr(s, " status=404\n") != NULL);
	capture_close(&c);
}

static void time_format_is_utc_with_microseconds(void)
{
	char t[GW_LOG_TIME_LEN];
	CHECK_INT(gw_log_time_format(0, t), 0);
	CHECK_STR(t, "1970-01-01T00:00:00.000000Z");
	CHECK_INT(gw_log_time_format(1795596279899720LL, t), 0);
	CHECK_STR(t, "2026-11-25T08:44:39.899720Z");
	CHECK_INT(gw_log_time_format(-1, t), -1);
}

static void level_and_format_names_parse_both_ways(void)
{
	enum gw_log_level lv;
	enum gw_log_format f;
	CHECK_INT(gw_log_level_parse("debug", &lv), 0);
	CHECK_INT(lv, GW_LOG_DEBUG);
	CHECK_INT(gw_log_level_parse("error", &lv), 0);
	CHECK_STR(gw_log_level_name(lv), "error");
	CHECK_INT(gw_log_level_parse("INFO", &lv), -1);
	CHECK_INT(gw_log_level_parse("warning", &lv), -1);
	CHECK_INT(gw_log_format_parse("text", &f), 0);
	CHECK_INT(f, GW_LOG_FORMAT_TEXT);
	CHECK_INT(gw_log_format_parse("logfmt", &f), -1);
}

static const struct check_case cases[] = {
    {"a JSON line has time, level, msg and typed fields",
     a_json_line_has_time_level_msg_and_typed_fields},
    {"lines below the level are dropped and above kept",
     lines_below_the_level_are_dropped_and_above_kept},
    {"quotes, newlines and control bytes cannot break the line",
     quotes_newlines_and_control_bytes_cannot_break_the_line},
    {"invalid UTF-8 becomes U+FFFD and valid UTF-8 stays",
     invalid_utf8_becomes_replacement_characters_and_valid_utf8_stays},
    {"an overlong value is cut and the line says truncated",
     an_overlong_value_is_cut_and_the_line_says_truncated},
    {"a line full of fields stays valid JSON within its buffer",
     a_line_full_of_fields_stays_valid_json_within_its_buffer},
    {"text format writes key=value pairs, quoting when needed",
     text_format_writes_key_value_pairs_quoting_when_needed},
    {"time format is UTC with microseconds", time_format_is_utc_with_microseconds},
    {"level and format names parse both ways", level_and_format_names_parse_both_ways},
};

CHECK_MAIN(cases)
