/*
 * docker_http.h - the small HTTP/1.1 client the docker driver speaks to a
 * Docker engine with (docker_http.c), shared with its tests and fuzzer only.
 *
 * The response parser is incremental: bytes go in as they arrive, body bytes
 * come out through a callback, so the same code reads a short JSON answer and
 * the endless chunked stream of /events. It treats the engine's bytes as
 * hostile: every line, header count, header block and chunk size is capped
 * before it is trusted, and anything malformed is an error, never a guess.
 */
#ifndef TASKGATE_SCHED_DOCKER_HTTP_H
#define TASKGATE_SCHED_DOCKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DHTTP_MAX_LINE         8192        /* status line, header line, chunk size line */
#define DHTTP_MAX_HEADERS      100         /* header fields in one response */
#define DHTTP_MAX_HEADER_BYTES 65536       /* the whole header block */
#define DHTTP_MAX_BODY         (64u << 20) /* a body collected into memory */

enum dhttp_state {
	DHTTP_STATUS = 0,
	DHTTP_HEADERS,
	DHTTP_BODY_LENGTH, /* Content-Length bytes */
	DHTTP_CHUNK_SIZE,  /* a chunk-size line */
	DHTTP_CHUNK_DATA,
	DHTTP_CHUNK_END, /* the CRLF after a chunk's data */
	DHTTP_TRAILERS,
	DHTTP_BODY_EOF, /* no length, not chunked: until the connection closes */
	DHTTP_DONE,
	DHTTP_ERROR,
};

/* Body bytes as they are decoded; return non-zero to stop with an error. */
typedef int (*dhttp_body_fn)(void *ctx, const char *p, size_t n);

struct dhttp_parser {
	enum dhttp_state state;
	bool no_body; /* a response to HEAD */
	int status;
	bool chunked;
	bool has_length;
	uint64_t length;
	uint64_t left; /* of the Content-Length body or of the current chunk */
	char line[DHTTP_MAX_LINE];
	size_t line_len;
	size_t n_headers;
	size_t header_bytes;
	char content_type[128];
	char error[160];
	dhttp_body_fn on_body;
	void *ctx;
};

void dhttp_parser_init(struct dhttp_parser *p, bool head_request, dhttp_body_fn on_body, void *ctx);
/* Feeds n bytes. Returns 0 (more wanted, or DONE: bytes after the end are
 * ignored and counted in *used when not NULL) or -1 (state ERROR, error
 * filled). */
int dhttp_parser_feed(struct dhttp_parser *p, const char *buf, size_t n, size_t *used);
/* The connection closed: completes a body that runs until close; -1 when
 * the response was cut short. */
int dhttp_parser_eof(struct dhttp_parser *p);

/* Where the engine is. tls (an SSL_CTX *) is used for TCP. */
struct dhttp_target {
	const char *unix_path; /* or NULL */
	const char *host;      /* TCP when unix_path is NULL */
	int port;
	void *tls;      /* SSL_CTX *, borrowed */
	int timeout_ms; /* per request; <= 0: no limit */
	/* One more header line, "Name: value\r\n" (an image pull's
	 * X-Registry-Auth), or NULL; borrowed, and never copied into
	 * anything but the socket, since it may hold a secret. */
	const char *extra_header;
};

struct dhttp_conn {
	int fd;
	void *ssl; /* SSL *, owned */
};

int dhttp_connect(const struct dhttp_target *t, struct dhttp_conn *c, char *err, size_t cap);
void dhttp_close(struct dhttp_conn *c);
/* Sends one request (Connection: close; body: JSON text or NULL). */
int dhttp_send(const struct dhttp_target *t, struct dhttp_conn *c, const char *method,
               const char *path, const char *body, char *err, size_t cap);
/* Reads the response into p until DONE. cancel_fd (or -1): readable means
 * give up. timeout_ms <= 0: none. 0, or -1 with err. */
int dhttp_recv(struct dhttp_conn *c, struct dhttp_parser *p, int cancel_fd, int timeout_ms,
               char *err, size_t cap);

/* One whole request: *status and *body (NUL-terminated, owned by the caller,
 * may be NULL when body is NULL). 0 when an answer came (any status). */
int dhttp_request(const struct dhttp_target *t, const char *method, const char *path,
                  const json_t *json_body, int *status, char **body, size_t *body_len, char *err,
                  size_t cap);
/* The same, given up ("cancelled") as soon as cancel_fd (or -1) is readable:
 * for an image pull, which can take minutes. */
int dhttp_request_cancel(const struct dhttp_target *t, const char *method, const char *path,
                         const json_t *json_body, int cancel_fd, int *status, char **body,
                         size_t *body_len, char *err, size_t cap);
/* The same, with the answer parsed as JSON (*out owned, NULL when the body
 * is empty or not JSON). */
int dhttp_request_json(const struct dhttp_target *t, const char *method, const char *path,
                       const json_t *json_body, int *status, json_t **out, char *err, size_t cap);

/* Makes an SSL_CTX for TCP: CA to verify the engine, optional client
 * certificate and key. NULL with err. */
void *dhttp_tls_new(const char *ca, const char *cert, const char *key, char *err, size_t cap);
void dhttp_tls_free(void *tls);

/* Percent-encodes s for a query string into a new string (caller frees). */
char *dhttp_query_escape(const char *s);

#endif
