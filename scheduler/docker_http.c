/*
 * docker_http.c - HTTP/1.1 to a Docker engine: an incremental response
 * parser (status line, headers, Content-Length, chunked or close-delimited
 * bodies) and a client over a Unix socket or TCP with TLS (OpenSSL).
 *
 * It is not a general HTTP client: one request per connection (Connection:
 * close), no redirects, no compression, no pipelining; that is all the
 * Engine API needs, and what is not needed is refused rather than half
 * supported (a transfer coding other than chunked, folded header lines).
 */
#include "scheduler/docker_http.h"
#include "scheduler/driver_int.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* --- the parser ----------------------------------------------------------- */

void dhttp_parser_init(struct dhttp_parser *p, bool head_request, dhttp_body_fn on_body, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->state = DHTTP_STATUS;
	p->no_body = head_request;
	p->on_body = on_body;
	p->ctx = ctx;
}

static int perr(struct dhttp_parser *p, const char *msg)
{
	p->state = DHTTP_ERROR;
	if (snprintf(p->error, sizeof(p->error), "%s", msg) < 0)
		p->error[0] = '\0';
	return -1;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int parse_status(struct dhttp_parser *p, const char *l, size_t n)
{
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
		return perr(p, "malformed status line");
	int st = 0;
	for (int i = 9; i < 12; i++) {
		if (l[i] < '0' || l[i] > '9')
			return perr(p, "malformed status code");
		st = st * 10 + (l[i] - '0');
	}
	if (n > 12 && l[12] != ' ')
		return perr(p, "malformed status line");
	if (st < 100 || st > 599)
		return perr(p, "status code out of range");
	p->status = st;
	p->state = DHTTP_HEADERS;
	return 0;
}

static int end_of_headers(struct dhttp_parser *p)
{
	if (p->status >= 100 && p->status < 200 && p->status != 101) {
		/* An interim answer: the real one follows. */
		p->state = DHTTP_STATUS;
		p->chunked = false;
		p->has_length = false;
		p->n_headers = 0;
		p->content_type[0] = '\0';
		return 0;
	}
	if (p->no_body || p->status == 204 || p->status == 304 || p->status == 101) {
		p->state = DHTTP_DONE;
		return 0;
	}
	if (p->chunked) {
		p->state = DHTTP_CHUNK_SIZE;
	} else if (p->has_length) {
		p->left = p->length;
		p->state = p->length ? DHTTP_BODY_LENGTH : DHTTP_DONE;
	} else {
		p->state = DHTTP_BODY_EOF;
	}
	return 0;
}

static bool token_ieq(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(v, word, n) == 0;
}

static int parse_header(struct dhttp_parser *p, const char *l, size_t n)
{
	if (n == 0)
		return end_of_headers(p);
	if (l[0] == ' ' || l[0] == '\t')
		return perr(p, "folded header lines are not accepted");
	if (++p->n_headers > DHTTP_MAX_HEADERS)
		return perr(p, "too many header fields");
	size_t k = 0;
	while (k < n && l[k] != ':') {
		if (!is_tchar((unsigned char)l[k]))
			return perr(p, "malformed header name");
		k++;
	}
	if (k == 0 || k == n)
		return perr(p, "malformed header field");
	const char *name = l;
	size_t name_len = k;
	const char *v = l + k + 1;
	size_t vn = n - k - 1;
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	for (size_t i = 0; i < vn; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return perr(p, "control character in a header value");

	if (token_ieq(name, name_len, "content-length")) {
		if (vn == 0 || vn > 18)
			return perr(p, "malformed Content-Length");
		uint64_t len = 0;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return perr(p, "malformed Content-Length");
			len = len * 10 + (uint64_t)(v[i] - '0');
		}
		if (p->has_length && p->length != len)
			return perr(p, "conflicting Content-Length fields");
		p->has_length = true;
		p->length = len;
	} else if (token_ieq(name, name_len, "transfer-encoding")) {
		/* Only "chunked" (possibly after "identity") is understood. */
		size_t s = 0;
		bool chunked = false;
		while (s < vn) {
			size_t e = s;
			while (e < vn && v[e] != ',')
				e++;
			size_t a = s, b = e;
			while (a < b && (v[a] == ' ' || v[a] == '\t'))
				a++;
			while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
				b--;
			if (token_ieq(v + a, b - a, "chunked")) {
				if (chunked)
					return perr(p, "chunked applied twice");
				chunked = true;
			} else if (!token_ieq(v + a, b - a, "identity") || chunked) {
				return perr(p, "unsupported transfer coding");
			}
			s = e + 1;
		}
		p->chunked = p->chunked || chunked;
	} else if (token_ieq(name, name_len, "content-type")) {
		size_t c = vn < sizeof(p->content_type) - 1 ? vn : sizeof(p->content_type) - 1;
		memcpy(p->content_type, v, c);
		p->content_type[c] = '\0';
	}
	return 0;
}

static int parse_chunk_size(struct dhttp_parser *p, const char *l, size_t n)
{
	size_t i = 0;
	uint64_t size = 0;
	while (i < n) {
		char c = l[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (i >= 15)
			return perr(p, "chunk size too large");
		size = size * 16 + (uint64_t)d;
		i++;
	}
	if (i == 0)
		return perr(p, "malformed chunk size");
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < n && l[i] != ';')
		return perr(p, "malformed chunk size");
	if (size == 0) {
		p->state = DHTTP_TRAILERS;
	} else {
		p->left = size;
		p->state = DHTTP_CHUNK_DATA;
	}
	return 0;
}

static int line_done(struct dhttp_parser *p)
{
	size_t n = p->line_len;
	if (n && p->line[n - 1] == '\r')
		n--;
	p->line[n] = '\0';
	p->line_len = 0;
	if (memchr(p->line, '\0', n))
		return perr(p, "NUL byte in a line");
	switch (p->state) {
	case DHTTP_STATUS:
		return parse_status(p, p->line, n);
	case DHTTP_HEADERS:
		return parse_header(p, p->line, n);
	case DHTTP_CHUNK_SIZE:
		return parse_chunk_size(p, p->line, n);
	case DHTTP_CHUNK_END:
		if (n != 0)
			return perr(p, "chunk data longer than its size");
		p->state = DHTTP_CHUNK_SIZE;
		return 0;
	case DHTTP_TRAILERS:
		if (n == 0) {
			p->state = DHTTP_DONE;
			return 0;
		}
		if (++p->n_headers > DHTTP_MAX_HEADERS)
			return perr(p, "too many trailer fields");
		return 0;
	default:
		return perr(p, "parser state broken");
	}
}

static int give_body(struct dhttp_parser *p, const char *b, size_t n)
{
	if (n && p->on_body && p->on_body(p->ctx, b, n) != 0)
		return perr(p, "the body was refused (too large or malformed)");
	return 0;
}

int dhttp_parser_feed(struct dhttp_parser *p, const char *buf, size_t n, size_t *used)
{
	size_t i = 0;
	while (i < n) {
		switch (p->state) {
		case DHTTP_DONE:
			if (used)
				*used = i;
			return 0;
		case DHTTP_ERROR:
			return -1;
		case DHTTP_BODY_LENGTH:
		case DHTTP_CHUNK_DATA: {
			size_t take = n - i;
			if ((uint64_t)take > p->left)
				take = (size_t)p->left;
			if (give_body(p, buf + i, take) < 0)
				return -1;
			p->left -= take;
			i += take;
			if (p->left == 0)
				p->state =
				    p->state == DHTTP_BODY_LENGTH ? DHTTP_DONE : DHTTP_CHUNK_END;
			break;
		}
		case DHTTP_BODY_EOF:
			if (give_body(p, buf + i, n - i) < 0)
				return -1;
			i = n;
			break;
		default: {
			/* A line: status, header, chunk size, chunk end, trailer. */
			const char *nl = memchr(buf + i, '\n', n - i);
			size_t take = nl ? (size_t)(nl - (buf + i)) : n - i;
			bool head = p->state == DHTTP_STATUS || p->state == DHTTP_HEADERS ||
			            p->state == DHTTP_TRAILERS;
			if (p->line_len + take >= DHTTP_MAX_LINE)
				return perr(p, "line too long");
			if (head) {
				p->header_bytes += take + (nl ? 1 : 0);
				if (p->header_bytes > DHTTP_MAX_HEADER_BYTES)
					return perr(p, "header block too large");
			}
			memcpy(p->line + p->line_len, buf + i, take);
			p->line_len += take;
			i += take;
			if (nl) {
				i++;
				if (line_done(p) < 0)
					return -1;
			}
			break;
		}
		}
	}
	if (used)
		*used = i;
	return p->state == DHTTP_ERROR ? -1 : 0;
}

int dhttp_parser_eof(struct dhttp_parser *p)
{
	if (p->state == DHTTP_BODY_EOF)
		p->state = DHTTP_DONE;
	if (p->state == DHTTP_DONE)
		return 0;
	if (p->state != DHTTP_ERROR)
		perr(p, "the connection closed before the response ended");
	return -1;
}

/* --- the connection ------------------------------------------------------- */

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeouts(int fd, int ms)
{
	if (ms <= 0)
		return;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static const char *ssl_error_text(void)
{
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	return e ? ERR_reason_error_string(e) : "TLS error";
}

/* OpenSSL writes to the socket with write(2), which raises SIGPIPE when the
 * engine has closed the connection (it does, for one, after refusing a
 * client certificate). The gateway ignores SIGPIPE, but this client must not
 * depend on the process's signal dispositions: around a TLS call the thread
 * blocks SIGPIPE, and takes back one the call raised, so the call just
 * fails with EPIPE. */
struct nosigpipe {
	sigset_t old;
	bool pending_before;
};

static void nosigpipe_begin(struct nosigpipe *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	g->pending_before = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void nosigpipe_end(struct nosigpipe *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	if (!g->pending_before && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1) {
		const struct timespec none = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &none) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

int dhttp_connect(const struct dhttp_target *t, struct dhttp_conn *c, char *err, size_t cap)
{
	c->fd = -1;
	c->ssl = NULL;
	if (t->unix_path) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(t->unix_path) >= sizeof(sa.sun_path))
			return drv_fail(err, cap, "socket path too long: %s", t->unix_path);
		memcpy(sa.sun_path, t->unix_path, strlen(t->unix_path) + 1);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return drv_fail(err, cap, "socket: %s", strerror(errno));
		set_timeouts(c->fd, t->timeout_ms);
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			dhttp_close(c);
			return drv_fail(err, cap, "cannot connect to %s: %s", t->unix_path,
			                strerror(e));
		}
		return 0;
	}
	if (!t->host || t->port <= 0 || t->port > 65535)
		return drv_fail(err, cap, "no engine address");
	char port[8];
	if (snprintf(port, sizeof(port), "%d", t->port) < 0)
		return drv_fail(err, cap, "bad port");
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int gai = getaddrinfo(t->host, port, &hints, &res);
	if (gai != 0)
		return drv_fail(err, cap, "cannot resolve %s: %s", t->host, gai_strerror(gai));
	int last = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (c->fd < 0) {
			last = errno;
			continue;
		}
		set_timeouts(c->fd, t->timeout_ms);
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		last = errno;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return drv_fail(err, cap, "cannot connect to %s:%d: %s", t->host, t->port,
		                strerror(last));
	if (!t->tls) {
		dhttp_close(c);
		return drv_fail(err, cap, "TCP to a Docker engine needs TLS");
	}
	SSL *ssl = SSL_new(t->tls);
	if (!ssl) {
		dhttp_close(c);
		return drv_fail(err, cap, "out of memory");
	}
	c->ssl = ssl;
	SSL_set_fd(ssl, c->fd);
	unsigned char ipbuf[16];
	bool is_ip =
	    inet_pton(AF_INET, t->host, ipbuf) == 1 || inet_pton(AF_INET6, t->host, ipbuf) == 1;
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
	} else {
		SSL_set_tlsext_host_name(ssl, t->host);
		SSL_set1_host(ssl, t->host);
	}
	struct nosigpipe g;
	nosigpipe_begin(&g);
	int connected = SSL_connect(ssl);
	nosigpipe_end(&g);
	if (connected != 1) {
		const char *why = ssl_error_text();
		long vr = SSL_get_verify_result(ssl);
		dhttp_close(c);
		if (vr != X509_V_OK)
			return drv_fail(err, cap, "TLS to %s:%d: %s", t->host, t->port,
			                X509_verify_cert_error_string(vr));
		return drv_fail(err, cap, "TLS to %s:%d: %s", t->host, t->port, why);
	}
	return 0;
}

void dhttp_close(struct dhttp_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

static int write_all(struct dhttp_conn *c, const char *p, size_t n, char *err, size_t cap)
{
	while (n) {
		ssize_t w;
		if (c->ssl) {
			struct nosigpipe g;
			nosigpipe_begin(&g);
			int k = SSL_write(c->ssl, p, n > (1u << 30) ? (1 << 30) : (int)n);
			nosigpipe_end(&g);
			w = k > 0 ? k : -1;
			if (w < 0)
				return drv_fail(err, cap, "TLS write: %s", ssl_error_text());
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return drv_fail(err, cap, "write to the engine: %s",
				                strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int dhttp_send(const struct dhttp_target *t, struct dhttp_conn *c, const char *method,
               const char *path, const char *body, char *err, size_t cap)
{
	char head[1024];
	char host[300];
	if (t->unix_path) {
		snprintf(host, sizeof(host), "docker");
	} else if (snprintf(host, sizeof(host), strchr(t->host, ':') ? "[%s]:%d" : "%s:%d", t->host,
	                    t->port) < 0) {
		return drv_fail(err, cap, "bad host");
	}
	for (const char *s = path; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return drv_fail(err, cap, "bad request path");
	int n;
	if (body)
		n = snprintf(head, sizeof(head),
		             "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: taskgate\r\n"
		             "Connection: close\r\nContent-Type: application/json\r\n"
		             "Content-Length: %zu\r\n",
		             method, path, host, strlen(body));
	else
		n = snprintf(head, sizeof(head),
		             "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: taskgate\r\n"
		             "Connection: close\r\n",
		             method, path, host);
	if (n < 0 || (size_t)n >= sizeof(head))
		return drv_fail(err, cap, "request line too long");
	const char *x = t->extra_header;
	if (x) {
		/* one line: no CR or LF but its own end, so it cannot add more */
		size_t xn = strlen(x);
		if (xn < 3 || x[xn - 2] != '\r' || x[xn - 1] != '\n' ||
		    strcspn(x, "\r\n") != xn - 2)
			return drv_fail(err, cap, "bad extra header");
	}
	if (write_all(c, head, (size_t)n, err, cap) < 0 ||
	    (x && write_all(c, x, strlen(x), err, cap) < 0) ||
	    write_all(c, "\r\n", 2, err, cap) < 0)
		return -1;
	if (body && write_all(c, body, strlen(body), err, cap) < 0)
		return -1;
	return 0;
}

int dhttp_recv(struct dhttp_conn *c, struct dhttp_parser *p, int cancel_fd, int timeout_ms,
               char *err, size_t cap)
{
	char buf[16384];
	long long deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;
	while (p->state != DHTTP_DONE) {
		bool pending = c->ssl && SSL_pending(c->ssl) > 0;
		if (!pending) {
			struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN},
			                        {.fd = cancel_fd, .events = POLLIN}};
			int wait = -1;
			if (deadline) {
				long long left = deadline - mono_ms();
				if (left <= 0)
					return drv_fail(err, cap,
					                "the engine did not answer in %d ms",
					                timeout_ms);
				wait = left > 60000 ? 60000 : (int)left;
			}
			int r = poll(fds, cancel_fd >= 0 ? 2 : 1, wait);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return drv_fail(err, cap, "poll: %s", strerror(errno));
			if (cancel_fd >= 0 && (fds[1].revents & POLLIN))
				return drv_fail(err, cap, "cancelled");
			if (r == 0)
				continue;
		}
		ssize_t got;
		if (c->ssl) {
			int k = SSL_read(c->ssl, buf, sizeof(buf));
			if (k <= 0) {
				int e = SSL_get_error(c->ssl, k);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					continue;
				got = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? 0 : -1;
				if (got < 0)
					return drv_fail(err, cap, "TLS read: %s", ssl_error_text());
			} else {
				got = k;
			}
		} else {
			got = recv(c->fd, buf, sizeof(buf), 0);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got < 0)
				return drv_fail(err, cap, "read from the engine: %s",
				                strerror(errno));
		}
		if (got == 0) {
			if (dhttp_parser_eof(p) < 0)
				return drv_fail(err, cap, "engine response: %s", p->error);
			break;
		}
		if (dhttp_parser_feed(p, buf, (size_t)got, NULL) < 0)
			return drv_fail(err, cap, "engine response: %s", p->error);
	}
	return 0;
}

struct collect {
	char *buf;
	size_t len, cap;
};

static int collect_body(void *ctx, const char *p, size_t n)
{
	struct collect *c = ctx;
	if (n > DHTTP_MAX_BODY - c->len)
		return -1;
	if (c->len + n + 1 > c->cap) {
		size_t nc = c->cap ? c->cap : 4096;
		while (nc < c->len + n + 1)
			nc *= 2;
		char *nb = realloc(c->buf, nc);
		if (!nb)
			return -1;
		c->buf = nb;
		c->cap = nc;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return 0;
}

int dhttp_request(const struct dhttp_target *t, const char *method, const char *path,
                  const json_t *json_body, int *status, char **body, size_t *body_len, char *err,
                  size_t cap)
{
	return dhttp_request_cancel(t, method, path, json_body, -1, status, body, body_len, err,
	                            cap);
}

int dhttp_request_cancel(const struct dhttp_target *t, const char *method, const char *path,
                         const json_t *json_body, int cancel_fd, int *status, char **body,
                         size_t *body_len, char *err, size_t cap)
{
	*status = 0;
	if (body)
		*body = NULL;
	if (body_len)
		*body_len = 0;
	char *text = NULL;
	if (json_body) {
		text = json_dumps(json_body, JSON_COMPACT);
		if (!text)
			return drv_fail(err, cap, "out of memory");
	}
	struct dhttp_conn c;
	if (dhttp_connect(t, &c, err, cap) < 0) {
		free(text);
		return -1;
	}
	struct collect col = {0};
	struct dhttp_parser *p = malloc(sizeof(*p));
	int rc = -1;
	if (!p) {
		drv_fail(err, cap, "out of memory");
		goto out;
	}
	dhttp_parser_init(p, strcmp(method, "HEAD") == 0, collect_body, &col);
	if (dhttp_send(t, &c, method, path, text, err, cap) < 0 ||
	    dhttp_recv(&c, p, cancel_fd, t->timeout_ms, err, cap) < 0)
		goto out;
	*status = p->status;
	if (body) {
		if (!col.buf)
			col.buf = calloc(1, 1);
		if (!col.buf) {
			drv_fail(err, cap, "out of memory");
			goto out;
		}
		*body = col.buf;
		col.buf = NULL;
	}
	if (body_len)
		*body_len = col.len;
	rc = 0;
out:
	free(col.buf);
	free(p);
	free(text);
	dhttp_close(&c);
	return rc;
}

int dhttp_request_json(const struct dhttp_target *t, const char *method, const char *path,
                       const json_t *json_body, int *status, json_t **out, char *err, size_t cap)
{
	*out = NULL;
	char *body = NULL;
	size_t len = 0;
	if (dhttp_request(t, method, path, json_body, status, &body, &len, err, cap) < 0)
		return -1;
	if (len)
		*out = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	free(body);
	return 0;
}

void *dhttp_tls_new(const char *ca, const char *cert, const char *key, char *err, size_t cap)
{
	if (!ca) {
		drv_fail(err, cap, "TCP to a Docker engine needs a CA file (tls_ca)");
		return NULL;
	}
	if ((cert == NULL) != (key == NULL)) {
		drv_fail(err, cap, "a client certificate needs its key, and a key its certificate");
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		drv_fail(err, cap, "out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		drv_fail(err, cap, "cannot load the CA file %s: %s", ca, ssl_error_text());
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	             SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	             SSL_CTX_check_private_key(ctx) != 1)) {
		drv_fail(err, cap, "cannot load the client certificate %s and key %s: %s", cert,
		         key, ssl_error_text());
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void dhttp_tls_free(void *tls)
{
	SSL_CTX_free(tls);
}

char *dhttp_query_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[k++] = (char)c;
		} else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	out[k] = '\0';
	return out;
}
