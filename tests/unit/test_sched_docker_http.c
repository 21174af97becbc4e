/*
 * test_sched_docker_http.c - the docker driver's HTTP/1.1 response parser
 * (every body framing, fed whole and one byte at a time, and every refusal)
 * and its client against a scripted engine on a Unix socket.
 */
#include "scheduler/docker_http.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct sink {
	char buf[65536];
	size_t len;
	bool refuse;
};

static int sink_body(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;
	if (s->refuse)
		return -1;
	if (s->len + n > sizeof(s->buf))
		return -1;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

/* Parses text whole (bytewise=false) or one byte at a time; returns the
 * parser's final state (after eof when eof is true). */
static enum dhttp_state parse(const char *text, size_t n, bool bytewise, bool eof, bool head,
                              struct sink *s, int *status, char *error, size_t ecap)
{
	struct dhttp_parser *p = malloc(sizeof(*p));
	memset(s->buf, 0, sizeof(s->buf));
	s->len = 0;
	dhttp_parser_init(p, head, sink_body, s);
	if (bytewise) {
		for (size_t i = 0; i < n && p->state != DHTTP_ERROR && p->state != DHTTP_DONE; i++)
			dhttp_parser_feed(p, text + i, 1, NULL);
	} else {
		dhttp_parser_feed(p, text, n, NULL);
	}
	if (eof && p->state != DHTTP_ERROR)
		dhttp_parser_eof(p);
	enum dhttp_state st = p->state;
	*status = p->status;
	snprintf(error, ecap, "%s", p->error);
	free(p);
	return st;
}

static void both_ways(const char *text, bool eof, enum dhttp_state want, int want_status,
                      const char *want_body)
{
	for (int way = 0; way < 2; way++) {
		struct sink s = {0};
		int status;
		char error[160];
		enum dhttp_state st = parse(text, strlen(text), way == 1, eof, false, &s, &status,
		                            error, sizeof(error));
		CHECK_INT(st, want);
		if (want != DHTTP_ERROR) {
			CHECK_INT(status, want_status);
			CHECK_STR(s.buf, want_body);
		} else {
			CHECK(error[0] != '\0');
		}
	}
}

static void test_content_length(void)
{
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\n"
	          "hello",
	          false, DHTTP_DONE, 200, "hello");
	/* Bytes after the end are not part of this response. */
	both_ways("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}trailing", false, DHTTP_DONE,
	          201, "{}");
	both_ways("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, DHTTP_DONE, 404,
	          "");
	/* Bare LF line ends are read too. */
	both_ways("HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", false, DHTTP_DONE, 200, "abc");
	/* Same length twice is fine, two lengths are not. */
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", false,
	          DHTTP_DONE, 200, "abc");
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", false,
	          DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false,
	          DHTTP_ERROR, 0, NULL);
	/* Cut short: the connection closes before the length is reached. */
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, DHTTP_ERROR, 0, NULL);
}

static void test_chunked(void)
{
	both_ways(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n1;name=value\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
	    false, DHTTP_DONE, 200, "hello 0123456789");
	/* chunked wins over Content-Length. */
	both_ways("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: identity, Chunked\r\n"
	          "\r\n3\r\nabc\r\n0\r\n\r\n",
	          false, DHTTP_DONE, 200, "abc");
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, DHTTP_ERROR,
	          0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", false,
	          DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, DHTTP_ERROR,
	          0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false, DHTTP_ERROR,
	          0, NULL);
	/* More data than the chunk size announced. */
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
	          false, DHTTP_ERROR, 0, NULL);
	/* A chunk size that would overflow. */
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
	          false, DHTTP_ERROR, 0, NULL);
	/* The stream ends inside a chunk. */
	both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true, DHTTP_ERROR,
	          0, NULL);
}

static void test_close_delimited_and_no_body(void)
{
	both_ways("HTTP/1.1 200 OK\r\n\r\nuntil the end", true, DHTTP_DONE, 200, "until the end");
	both_ways("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, DHTTP_DONE, 204,
	          "");
	both_ways("HTTP/1.1 304 Not Modified\r\n\r\n", false, DHTTP_DONE, 304, "");
	/* An interim 100 Continue, then the answer. */
	both_ways("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	          false, DHTTP_DONE, 200, "ok");
	struct sink s = {0};
	int status;
	char error[160];
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
	CHECK_INT(parse(head, strlen(head), false, false, true, &s, &status, error, sizeof(error)),
	          DHTTP_DONE);
	CHECK_INT(s.len, 0);
}

static void test_refusals(void)
{
	both_ways("HTTP/2 200 OK\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 20 OK\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 2000 OK\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 600 Odd\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 099 Odd\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	both_ways("HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n", false, DHTTP_ERROR, 0, NULL);
	/* A NUL inside a header line. */
	struct sink s = {0};
	int status;
	char error[160];
	const char nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	CHECK_INT(
	    parse(nul, sizeof(nul) - 1, false, false, false, &s, &status, error, sizeof(error)),
	    DHTTP_ERROR);
	/* Limits: one long line, many fields, a large header block. */
	size_t big = DHTTP_MAX_LINE + 100;
	char *t = malloc(big + 64);
	int n = snprintf(t, 64, "HTTP/1.1 200 OK\r\nX: ");
	memset(t + n, 'a', big);
	memcpy(t + n + big, "\r\n\r\n", 5);
	CHECK_INT(parse(t, strlen(t), false, false, false, &s, &status, error, sizeof(error)),
	          DHTTP_ERROR);
	CHECK(strstr(error, "too long") != NULL);
	free(t);
	size_t cap = (DHTTP_MAX_HEADERS + 5) * 16 + 64;
	t = malloc(cap);
	size_t k = (size_t)snprintf(t, cap, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < DHTTP_MAX_HEADERS + 1; i++)
		k += (size_t)snprintf(t + k, cap - k, "H%d: v\r\n", i);
	snprintf(t + k, cap - k, "\r\n");
	CHECK_INT(parse(t, strlen(t), false, false, false, &s, &status, error, sizeof(error)),
	          DHTTP_ERROR);
	CHECK(strstr(error, "too many") != NULL);
	free(t);
	cap = DHTTP_MAX_HEADER_BYTES + 8192;
	t = malloc(cap);
	k = (size_t)snprintf(t, cap, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; k + 8000 < cap - 16 && i < 50; i++) {
		k += (size_t)snprintf(t + k, cap - k, "H%d: ", i);
		memset(t + k, 'v', 7000);
		k += 7000;
		k += (size_t)snprintf(t + k, cap - k, "\r\n");
	}
	snprintf(t + k, cap - k, "\r\n");
	CHECK_INT(parse(t, strlen(t), false, false, false, &s, &status, error, sizeof(error)),
	          DHTTP_ERROR);
	CHECK(strstr(error, "header block too large") != NULL);
	free(t);
	/* A body the caller refuses stops the parser. */
	s.refuse = true;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	CHECK_INT(parse(ok, strlen(ok), false, false, false, &s, &status, error, sizeof(error)),
	          DHTTP_ERROR);
}

static void test_query_escape(void)
{
	char *q = dhttp_query_escape("{\"label\":[\"a=b c\"]}/~._-");
	CHECK_STR(q, "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D%2F~._-");
	free(q);
}

/* --- a scripted engine on a Unix socket ------------------------------------ */

struct server {
	char path[108];
	int lfd;
	const char *reply; /* NULL: read the request, never answer */
	char request[8192];
	size_t request_len;
	pthread_t th;
};

static void *serve_one(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	/* Read until the request's headers and body have arrived. */
	for (;;) {
		ssize_t n =
		    read(fd, s->request + s->request_len, sizeof(s->request) - 1 - s->request_len);
		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		char *end = strstr(s->request, "\r\n\r\n");
		if (!end)
			continue;
		const char *cl = strstr(s->request, "Content-Length: ");
		size_t want =
		    (size_t)(end + 4 - s->request) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		if (s->request_len >= want)
			break;
	}
	if (s->reply) {
		ssize_t w = write(fd, s->reply, strlen(s->reply));
		(void)w;
		close(fd);
	} else {
		/* Hold the connection until the client gives up. */
		char b[16];
		while (read(fd, b, sizeof(b)) > 0)
			;
		close(fd);
	}
	return NULL;
}

static void server_start(struct server *s, const char *reply)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "/tmp/tg-dhttp-%d.sock", (int)getpid());
	unlink(s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->lfd, 4) < 0)
		abort();
	s->reply = reply;
	pthread_create(&s->th, NULL, serve_one, s);
}

static void server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	unlink(s->path);
}

static void test_client_request(void)
{
	struct server s;
	server_start(&s, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	                 "Transfer-Encoding: chunked\r\n\r\n"
	                 "4\r\n{\"Id\r\n9\r\n\":\"abc\"}\n\r\n0\r\n\r\n");
	struct dhttp_target t = {.unix_path = s.path, .timeout_ms = 10000};
	json_t *body = json_pack("{s:s}", "Image", "busybox");
	int status = 0;
	json_t *out = NULL;
	char err[256] = "";
	CHECK_INT(dhttp_request_json(&t, "POST", "/v1.41/containers/create?name=x", body, &status,
	                             &out, err, sizeof(err)),
	          0);
	CHECK_INT(status, 201);
	CHECK_STR(json_string_value(json_object_get(out, "Id")), "abc");
	server_stop(&s);
	CHECK(strncmp(s.request, "POST /v1.41/containers/create?name=x HTTP/1.1\r\n", 47) == 0);
	CHECK(strstr(s.request, "\r\nHost: docker\r\n") != NULL);
	CHECK(strstr(s.request, "\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(s.request, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(s.request, "\r\nContent-Length: 19\r\n\r\n{\"Image\":\"busybox\"}") != NULL);
	json_decref(out);
	json_decref(body);
}

static void test_client_errors(void)
{
	struct dhttp_target t = {.unix_path = "/tmp/tg-no-such-engine.sock", .timeout_ms = 1000};
	int status;
	char err[256] = "";
	CHECK_INT(dhttp_request(&t, "GET", "/_ping", NULL, &status, NULL, NULL, err, sizeof(err)),
	          -1);
	CHECK(strstr(err, "cannot connect") != NULL);

	/* An engine that answers garbage. */
	struct server s;
	server_start(&s, "SSH-2.0-OpenSSH\r\n");
	t.unix_path = s.path;
	CHECK_INT(dhttp_request(&t, "GET", "/_ping", NULL, &status, NULL, NULL, err, sizeof(err)),
	          -1);
	CHECK(strstr(err, "malformed status line") != NULL);
	server_stop(&s);

	/* An engine that never answers: the request gives up. */
	server_start(&s, NULL);
	t.unix_path = s.path;
	t.timeout_ms = 200;
	CHECK_INT(dhttp_request(&t, "GET", "/_ping", NULL, &status, NULL, NULL, err, sizeof(err)),
	          -1);
	CHECK(strstr(err, "did not answer") != NULL);
	server_stop(&s);

	/* A path with a space or control byte is never sent. */
	t.unix_path = "/tmp/tg-no-such-engine.sock";
	struct dhttp_conn c = {.fd = -1};
	CHECK_INT(dhttp_send(&t, &c, "GET", "/a b", NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "bad request path") != NULL);

	/* TLS settings are checked before any connection. */
	CHECK(dhttp_tls_new(NULL, NULL, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "CA") != NULL);
	CHECK(dhttp_tls_new("/etc/hostname", "/x", NULL, err, sizeof(err)) == NULL);
	CHECK(dhttp_tls_new("/no/such/ca.pem", NULL, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "cannot load the CA file") != NULL);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"a Content-Length body is read whole or byte by byte, and conflicts are refused",
	     test_content_length},
	    {"a chunked body with extensions and trailers is decoded; bad chunks are refused",
	     test_chunked},
	    {"close-delimited bodies need the close; 204, 304, HEAD and 100 Continue have none",
	     test_close_delimited_and_no_body},
	    {"malformed status lines and headers, and responses over the limits, are refused",
	     test_refusals},
	    {"query strings are percent-encoded", test_query_escape},
	    {"a request reaches the engine whole and its chunked JSON answer is read",
	     test_client_request},
	    {"an absent, garbled or silent engine is an error with a reason", test_client_errors},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
