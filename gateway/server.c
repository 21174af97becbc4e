/*
 * server.c - the HTTPS API listener on libmicrohttpd over GnuTLS.
 *
 * Threads: libmicrohttpd runs a pool of internal polling threads, each with its
 * own epoll set, and calls the access handler on the thread that owns the
 * connection. A pool of event loops rather than a thread per connection,
 * because idle keep-alive connections then cost a socket and a memory pool,
 * not a thread each, and limits.max_connections can be generous. More than one
 * loop, because a request's audit append waits for the disk (synchronous=FULL
 * fsyncs the WAL): while one loop waits, the others serve. server.threads sets
 * the pool size (0: one per online CPU). The store is safe to call from all of
 * them (store.h).
 *
 * A request's life: the handler's first call (headers in) makes the struct
 * gw_request, counts it in flight and checks Content-Length against
 * limits.max_body_bytes before allocating anything for the body; a body
 * announced too large is answered 413 at once, so the client never sends it.
 * A body without a length (chunked) is collected up to the same limit, and the
 * connection is closed at the first byte over it. When the body is complete,
 * the request walks the road (request.c) and its response is queued. The
 * completion callback writes the one request log line, frees the request and
 * takes it out of the in-flight count that shutdown waits on.
 *
 * TLS: the certificate and key are read into memory here (the key into a
 * locked, wiped secret buffer) and handed to the daemon, which parses them
 * into GnuTLS credentials while it starts; the key buffer is wiped as soon as
 * MHD_start_daemon returns. tls.priorities restricts versions and ciphers.
 * With tls.client_ca the daemon also asks for client certificates and trusts
 * that CA; GnuTLS does not refuse a connection without one or with a bad one:
 * authentication (authn.c) verifies the certificate per request, so a caller
 * that signs with SigV4 needs no certificate and a bad one gets a clear error
 * in its protocol instead of a failed handshake.
 *
 * Identity: the server owns the key box (master_key) that opens sealed
 * secrets and the live IAM snapshot. One extra thread polls the store's IAM
 * generation every iam.refresh_ms and swaps in a new snapshot when
 * `taskgate iam apply` changed it, so policy changes need no restart.
 *
 * Raw URI: SigV4 signs the path and query exactly as sent. libmicrohttpd
 * unescapes the URL before the access handler sees it, so the URI log
 * callback, which runs on the raw request line, allocates the request and
 * keeps the raw URI in it.
 */
#include "gateway/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "gateway/audit.h"
#include "gateway/keybox.h"
#include "gateway/sched_run.h"
#include "gateway/taskcreds.h"
#include "gateway/request.h"
#include "gateway/secret.h"

/* A PEM certificate chain or key larger than this is not one. */
#define PEM_FILE_MAX (1024u * 1024u)
/* The first body allocation for a request without Content-Length. */
#define BODY_CHUNK 4096

static int set_error(struct gw_server_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_error(struct gw_server_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (w < 0)
		err->message[0] = '\0';
	err->code = code;
	return code;
}

/*
 * Reads a whole PEM file into out (NUL-terminated, out->n counts the NUL) in
 * secret memory; used for the certificate too, which costs nothing and keeps
 * one reader.
 */
static int read_pem(const char *path, const char *what, struct gw_secret *out,
                    struct gw_server_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return set_error(err, GW_SERVER_ERR_TLS, "tls.%s: cannot open %s: %s", what, path,
		                 strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > (off_t)PEM_FILE_MAX) {
		close(fd);
		return set_error(err, GW_SERVER_ERR_TLS,
		                 "tls.%s: %s is not a regular, non-empty file under %u bytes", what,
		                 path, PEM_FILE_MAX);
	}
	size_t size = (size_t)st.st_size;
	if (gw_secret_alloc(out, size + 1) != GW_SECRET_OK) {
		close(fd);
		return set_error(err, GW_SERVER_ERR_NOMEM, "tls.%s: out of memory", what);
	}
	size_t n = 0;
	while (n < size) {
		ssize_t r = read(fd, out->p + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			close(fd);
			gw_secret_free(out);
			return set_error(err, GW_SERVER_ERR_TLS, "tls.%s: cannot read %s: %s", what,
			                 path, strerror(e));
		}
		n += (size_t)r;
	}
	close(fd);
	out->p[size] = '\0';
	if (memchr(out->p, '\0', size) || !strstr((const char *)out->p, "-----BEGIN ")) {
		gw_secret_free(out);
		return set_error(err, GW_SERVER_ERR_TLS, "tls.%s: %s is not a PEM file", what,
		                 path);
	}
	return GW_SERVER_OK;
}

/* Strict decimal, as RFC 9110 writes Content-Length. */
static bool parse_length(const char *p, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* Grows the body buffer to hold need bytes (need <= the limit). The old buffer
 * is wiped before it is freed, since bodies may carry secrets. */
static bool body_reserve(struct gw_request *r, size_t need, size_t limit)
{
	if (need <= r->body_cap)
		return true;
	size_t cap = r->body_cap ? r->body_cap : BODY_CHUNK;
	while (cap < need)
		cap = cap > limit / 2 ? limit : cap * 2;
	if (cap > limit)
		cap = limit;
	unsigned char *nb = malloc(cap);
	if (!nb)
		return false;
	if (r->body) {
		memcpy(nb, r->body, r->body_len);
		OPENSSL_cleanse(r->body, r->body_cap);
		free(r->body);
	}
	r->body = nb;
	r->body_cap = cap;
	return true;
}

/* First call for a request: headers are in, nothing of the body yet. */
static enum MHD_Result request_begin(struct gw_server *srv, struct gw_request *r)
{
	const char *cl;
	size_t cln;
	unsigned long long len = 0;
	if (!gw_request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH, &cl, &cln))
		return MHD_YES;
	/* libmicrohttpd has already refused a malformed length with 400. */
	if (!parse_length(cl, cln, &len) || len > srv->cfg->limits.max_body_bytes) {
		r->body_too_large = true;
		gw_request_run(r);
		return r->responded ? MHD_YES : MHD_NO;
	}
	if (len > 0 && !body_reserve(r, (size_t)len, srv->cfg->limits.max_body_bytes)) {
		(void)gw_request_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
		                      "The gateway is out of memory.");
		(void)gw_step_audit(r);
		(void)gw_step_respond(r);
		return r->responded ? MHD_YES : MHD_NO;
	}
	return MHD_YES;
}

/* A piece of the body. Returns MHD_NO to close the connection. */
static enum MHD_Result request_body(struct gw_server *srv, struct gw_request *r, const char *data,
                                    size_t n)
{
	size_t limit = srv->cfg->limits.max_body_bytes;
	if (n > limit - r->body_len) {
		/* Only a body without Content-Length gets here (a declared length
		 * was checked up front). No response can be queued while a body
		 * is arriving, so the request is recorded and the connection
		 * closed: reading on would let a client stream without end. */
		r->body_too_large = true;
		(void)gw_request_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "RequestEntityTooLarge",
		                      "The request body is larger than this gateway accepts.");
		(void)gw_step_audit(r);
		return MHD_NO;
	}
	if (!body_reserve(r, r->body_len + n, limit)) {
		(void)gw_request_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
		                      "The gateway is out of memory.");
		(void)gw_step_audit(r);
		return MHD_NO;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct gw_server *srv = cls;
	struct gw_request *r = *con_cls;
	(void)version;
	if (!r || !r->conn) {
		/* r, when set, is what uri_log allocated; gw_request_new takes it. */
		r = gw_request_new(srv, conn, method, url, r);
		if (!r) {
			gw_log_msg(srv->log, GW_LOG_ERROR, "request refused",
			           "out of memory or randomness for a new request");
			return MHD_NO;
		}
		*con_cls = r;
		atomic_fetch_add(&srv->inflight, 1);
		return request_begin(srv, r);
	}
	if (r->responded) {
		/* Answered early (413): libmicrohttpd discards the rest. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return request_body(srv, r, upload_data, n);
	}
	gw_request_run(r);
	return r->responded ? MHD_YES : MHD_NO;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "completed";
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "read_error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client_abort";
	}
	return "unknown";
}

/*
 * The request log line. Its fields are a fixed list: nothing from the request
 * but method, path (without query), remote address and user agent, so that no
 * header carrying a credential and no body can reach the log.
 */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct gw_server *srv = cls;
	struct gw_request *r = *con_cls;
	(void)conn;
	if (!r)
		return;
	if (!r->conn) {
		/* libmicrohttpd refused the request before the handler saw it
		 * (headers too large, malformed): only uri_log's allocation. */
		gw_request_free(r);
		*con_cls = NULL;
		return;
	}
	bool head = strcmp(r->method, MHD_HTTP_METHOD_HEAD) == 0;
	size_t bytes =
	    r->responded && !head && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? r->resp_len : 0;
	enum gw_log_level level = r->status >= 500 || !r->responded ? GW_LOG_WARN : GW_LOG_INFO;
	struct gw_log_line l;
	gw_log_begin(&l, srv->log, level, "request");
	gw_log_str(&l, "request_id", r->id);
	gw_log_str(&l, "remote_addr", r->remote_addr);
	gw_log_str(&l, "method", r->method);
	gw_log_strn(&l, "path", r->path, r->path_n);
	gw_log_uint(&l, "status", r->status);
	gw_log_uint(&l, "bytes", bytes);
	gw_log_int(&l, "latency_us", gw_request_elapsed_us(r));
	gw_log_strn(&l, "user_agent", r->user_agent, r->user_agent_n);
	if (r->error_code)
		gw_log_str(&l, "error_code", r->error_code);
	if (r->audited)
		gw_log_int(&l, "audit_seq", r->audit_seq);
	else
		gw_log_bool(&l, "audited", false);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		gw_log_str(&l, "termination", termination_name(toe));
	gw_log_end(&l);
	gw_request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->inflight, 1);
}

/* libmicrohttpd's own messages. Before the daemon runs they explain a failed
 * start (an address in use) and are errors; after, they are mostly clients
 * failing handshakes, which are worth seeing only when debugging. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct gw_server *srv = cls;
	char buf[512];
	int w = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (w < 0)
		return;
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	struct gw_log_line l;
	gw_log_begin(&l, srv->log, atomic_load(&srv->running) ? GW_LOG_DEBUG : GW_LOG_ERROR,
	             "libmicrohttpd");
	gw_log_strn(&l, "detail", buf, n);
	gw_log_end(&l);
}

/* The raw request URI, before libmicrohttpd unescapes it; its return value
 * becomes the request's context. NULL (out of memory) is handled by
 * on_request, which then refuses the request. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	return gw_request_alloc(uri);
}

/* ---- identity: key box, IAM snapshot and its poller ---- */

static void *iam_poller(void *arg)
{
	struct gw_server *srv = arg;
	bool failing = false;
	pthread_mutex_lock(&srv->iam_stop_lock);
	while (!srv->iam_stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		unsigned ms = srv->cfg->iam.refresh_ms;
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!srv->iam_stop && pthread_cond_timedwait(&srv->iam_stop_cond,
		                                                &srv->iam_stop_lock, &until) == 0)
			;
		if (srv->iam_stop)
			break;
		pthread_mutex_unlock(&srv->iam_stop_lock);
		bool changed = false;
		struct gw_iam_error ie = {0};
		int rc = gw_iam_live_refresh(&srv->iam, srv->store, &changed, &ie);
		if (rc != GW_IAM_OK && !failing) {
			/* Logged once per failing spell: the old snapshot stays. */
			gw_log_msg(srv->log, GW_LOG_WARN,
			           "iam refresh failed; keeping the current state", ie.message);
			failing = true;
		} else if (rc == GW_IAM_OK) {
			failing = false;
			if (changed) {
				struct gw_iam *now = gw_iam_live_get(&srv->iam);
				struct gw_log_line l;
				gw_log_begin(&l, srv->log, GW_LOG_INFO, "iam state replaced");
				gw_log_int(&l, "generation", now ? gw_iam_generation(now) : 0);
				gw_log_end(&l);
				gw_iam_unref(now);
			}
		}
		pthread_mutex_lock(&srv->iam_stop_lock);
	}
	pthread_mutex_unlock(&srv->iam_stop_lock);
	return NULL;
}

static void identity_stop(struct gw_server *srv)
{
	if (srv->iam_thread_started) {
		pthread_mutex_lock(&srv->iam_stop_lock);
		srv->iam_stop = true;
		pthread_cond_signal(&srv->iam_stop_cond);
		pthread_mutex_unlock(&srv->iam_stop_lock);
		pthread_join(srv->iam_thread, NULL);
		srv->iam_thread_started = false;
	}
	if (srv->iam_ready) {
		gw_iam_live_destroy(&srv->iam);
		pthread_cond_destroy(&srv->iam_stop_cond);
		pthread_mutex_destroy(&srv->iam_stop_lock);
		srv->iam_ready = false;
	}
	gw_keybox_free(srv->keybox);
	srv->keybox = NULL;
}

/* The key box, the first IAM snapshot and the poller; undone by identity_stop. */
static int identity_start(struct gw_server *srv, struct gw_server_error *err)
{
	const struct gw_config *cfg = srv->cfg;
	if (cfg->master_key[0]) {
		struct gw_keybox_error ke = {0};
		if (gw_keybox_open(cfg->master_key, &srv->keybox, &ke) != GW_KEYBOX_OK)
			return set_error(err, GW_SERVER_ERR_TLS, "master_key: %s", ke.message);
	}
	if (gw_iam_live_init(&srv->iam) != GW_IAM_OK) {
		identity_stop(srv);
		return set_error(err, GW_SERVER_ERR_NOMEM, "iam: cannot initialise the snapshot");
	}
	if (pthread_mutex_init(&srv->iam_stop_lock, NULL) != 0) {
		gw_iam_live_destroy(&srv->iam);
		identity_stop(srv);
		return set_error(err, GW_SERVER_ERR_NOMEM, "iam: cannot create a lock");
	}
	if (pthread_cond_init(&srv->iam_stop_cond, NULL) != 0) {
		pthread_mutex_destroy(&srv->iam_stop_lock);
		gw_iam_live_destroy(&srv->iam);
		identity_stop(srv);
		return set_error(err, GW_SERVER_ERR_NOMEM, "iam: cannot create a condition");
	}
	srv->iam_ready = true;
	struct gw_iam_error ie = {0};
	if (gw_iam_live_refresh(&srv->iam, srv->store, NULL, &ie) != GW_IAM_OK) {
		identity_stop(srv);
		return set_error(err, GW_SERVER_ERR_NOMEM, "iam: cannot load the IAM state: %s",
		                 ie.message);
	}
	if (pthread_create(&srv->iam_thread, NULL, iam_poller, srv) != 0) {
		identity_stop(srv);
		return set_error(err, GW_SERVER_ERR_NOMEM, "iam: cannot start the refresh thread");
	}
	srv->iam_thread_started = true;
	return GW_SERVER_OK;
}

/* The audit writer: the checkpoint key (if configured) and the committer. */
static int audit_start(struct gw_server *srv, struct gw_server_error *err)
{
	const struct gw_config_audit *ac = &srv->cfg->audit;
	struct gw_audit_error ae = {0};
	EVP_PKEY *key = NULL;
	if (ac->key_file[0] && gw_audit_key_load(ac->key_file, &key, &ae) != GW_AUDIT_OK)
		return set_error(err, GW_SERVER_ERR_AUDIT, "audit.key_file: %s", ae.message);
	struct gw_audit_options o = {
	    .key = key,
	    .every = ac->checkpoint_every,
	    .interval_us = (int64_t)ac->checkpoint_interval_s * 1000000,
	    .batch_max = ac->batch_max,
	};
	if (gw_audit_open(srv->store, &o, &srv->audit, &ae) != GW_AUDIT_OK) {
		EVP_PKEY_free(key);
		return set_error(err, GW_SERVER_ERR_AUDIT, "%s", ae.message);
	}
	if (!key)
		gw_log_msg(srv->log, GW_LOG_WARN, "audit checkpoints off",
		           "audit.key_file is not set: the log is hash-chained but its head is "
		           "never signed");
	return GW_SERVER_OK;
}

static unsigned pool_size(const struct gw_config *cfg)
{
	if (cfg->server.threads > 0)
		return cfg->server.threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > 64 ? 64 : (unsigned)n;
}

int gw_server_start(struct gw_server *srv, const struct gw_config *cfg, struct gw_log *log,
                    struct store *store, struct gw_server_error *err)
{
	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->log = log;
	srv->store = store;
	srv->quiesced_fd = -1;
	atomic_init(&srv->inflight, 0);
	atomic_init(&srv->draining, false);
	atomic_init(&srv->running, false);
	srv->threads = pool_size(cfg);

	int rc = identity_start(srv, err);
	if (rc != GW_SERVER_OK)
		return rc;
	struct gw_secret cert = {0}, key = {0}, ca = {0};
	rc = read_pem(cfg->tls.cert, "cert", &cert, err);
	if (rc != GW_SERVER_OK) {
		identity_stop(srv);
		return rc;
	}
	rc = read_pem(cfg->tls.key, "key", &key, err);
	if (rc != GW_SERVER_OK) {
		gw_secret_free(&cert);
		identity_stop(srv);
		return rc;
	}
	struct MHD_OptionItem trust[2] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
	if (cfg->tls.client_ca[0]) {
		rc = read_pem(cfg->tls.client_ca, "client_ca", &ca, err);
		if (rc != GW_SERVER_OK) {
			gw_secret_free(&key);
			gw_secret_free(&cert);
			identity_stop(srv);
			return rc;
		}
		trust[0].option = MHD_OPTION_HTTPS_MEM_TRUST;
		trust[0].ptr_value = ca.p;
		srv->mtls = true;
	}

	rc = audit_start(srv, err);
	if (rc != GW_SERVER_OK) {
		gw_secret_free(&key);
		gw_secret_free(&cert);
		gw_secret_free(&ca);
		identity_stop(srv);
		return rc;
	}
	/* The task endpoint and task credentials: after the audit writer
	 * (every issuance and fetch is recorded), before the scheduler. */
	rc = gw_task_serve_start(srv, err);
	if (rc != GW_SERVER_OK) {
		gw_secret_free(&key);
		gw_secret_free(&cert);
		gw_secret_free(&ca);
		gw_audit_close(srv->audit);
		srv->audit = NULL;
		identity_stop(srv);
		return rc;
	}

	/* The scheduler before the listener: an ECS call finds it running. */
	rc = gw_sched_start(srv, err);
	if (rc != GW_SERVER_OK) {
		gw_task_serve_free(srv);
		gw_secret_free(&key);
		gw_secret_free(&cert);
		gw_secret_free(&ca);
		gw_audit_close(srv->audit);
		srv->audit = NULL;
		identity_stop(srv);
		return rc;
	}

	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (cfg->listen.family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, cfg->listen.port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_log, srv, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&cfg->listen.addr,
	    MHD_OPTION_HTTPS_MEM_CERT, (const char *)cert.p, MHD_OPTION_HTTPS_MEM_KEY,
	    (const char *)key.p, MHD_OPTION_HTTPS_PRIORITIES, cfg->tls.priorities,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->limits.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->limits.max_connections_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->limits.connection_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->limits.connection_memory_bytes,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_THREAD_POOL_SIZE,
	    srv->threads, MHD_OPTION_URI_LOG_CALLBACK, uri_log, srv, MHD_OPTION_ARRAY, trust,
	    MHD_OPTION_END);
	/* The daemon holds the key as GnuTLS credentials now (or failed). */
	gw_secret_free(&key);
	gw_secret_free(&cert);
	gw_secret_free(&ca);
	if (!d) {
		gw_sched_stop(srv);
		gw_task_serve_free(srv);
		gw_audit_close(srv->audit);
		srv->audit = NULL;
		identity_stop(srv);
		char where[80];
		if (gw_listen_format(&cfg->listen, cfg->listen.port, where, sizeof(where)) != 0)
			where[0] = '\0';
		return set_error(err, GW_SERVER_ERR_LISTEN,
		                 "cannot start the HTTPS listener on %s (address in use, not "
		                 "local, or certificate and key unusable together; see the "
		                 "libmicrohttpd line above)",
		                 where);
	}
	srv->daemon = d;
	atomic_store(&srv->running, true);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->listen.port;
	return GW_SERVER_OK;
}

void gw_server_quiesce(struct gw_server *srv)
{
	atomic_store(&srv->draining, true);
	if (!srv->daemon || srv->quiesced_fd >= 0)
		return;
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
	if (fd == MHD_INVALID_SOCKET)
		return;
	srv->quiesced_fd = fd;
	/* The socket must stay open until the daemon stops (a polling thread
	 * may still hold it), but it need not keep listening: without this the
	 * kernel would go on completing handshakes into a backlog nobody
	 * accepts, and clients would hang instead of being refused. Shutting a
	 * listening socket down on Linux resets what is queued and refuses new
	 * connections. */
	(void)shutdown(fd, SHUT_RDWR);
}

unsigned gw_server_drain(struct gw_server *srv, unsigned timeout_ms)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		unsigned n = atomic_load(&srv->inflight);
		if (n == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long ms = (long long)(now.tv_sec - start.tv_sec) * 1000 +
		               (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms >= (long long)timeout_ms)
			return n;
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
	}
}

void gw_server_stop(struct gw_server *srv)
{
	if (srv->daemon) {
		MHD_stop_daemon(srv->daemon);
		srv->daemon = NULL;
	}
	/* Only after the stop: a polling thread may still hold the socket. */
	if (srv->quiesced_fd >= 0) {
		close(srv->quiesced_fd);
		srv->quiesced_fd = -1;
	}
	/* No request runs any more: the scheduler can stop (its tasks run on),
	 * then the task credentials its hooks use. */
	gw_sched_stop(srv);
	gw_task_serve_free(srv);
	identity_stop(srv);
	/* After the daemon: no request can be waiting for a commit now. */
	gw_audit_close(srv->audit);
	srv->audit = NULL;
}
