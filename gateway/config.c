/*
 * config.c - reads the JSON configuration once into struct gw_config.
 *
 * The document is walked against a table of known keys per object. Each key
 * has one parser that checks the JSON type, then the value's range or shape,
 * and writes one typed field; anything not in the table is an error naming
 * its full dotted path. jansson is asked to reject duplicate keys, so that a
 * file cannot say two things about one setting and have the last one win
 * unnoticed.
 *
 * Values are checked here as far as they can be without touching the system:
 * the GnuTLS priority string is compiled once (and thrown away) so a typo in it
 * is a configuration error, not a failed handshake at the first client; paths
 * are only recorded, because whether a file is readable is a question for the
 * moment it is opened.
 */
#include "gateway/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

static int set_error(struct gw_config_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_error(struct gw_config_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		/* A message cut short still names the key: it comes first. */
		if (w < 0)
			err->message[0] = '\0';
		err->code = code;
	}
	return code;
}

const char *gw_config_status_name(int code)
{
	switch (code) {
	case GW_CONFIG_OK:
		return "ok";
	case GW_CONFIG_ERR_IO:
		return "io";
	case GW_CONFIG_ERR_SYNTAX:
		return "syntax";
	case GW_CONFIG_ERR_UNKNOWN:
		return "unknown key";
	case GW_CONFIG_ERR_TYPE:
		return "wrong type";
	case GW_CONFIG_ERR_VALUE:
		return "bad value";
	case GW_CONFIG_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown status";
}

/* Copies a NUL-terminated string known to fit (checked by the caller). */
static void copy_str(char *dst, size_t dst_size, const char *src)
{
	size_t n = strlen(src);
	if (n >= dst_size)
		n = dst_size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void gw_config_defaults(struct gw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* A constant that parses: the error path cannot be taken. */
	(void)gw_config_parse_listen("127.0.0.1:8443", &cfg->listen, NULL);
	copy_str(cfg->tls.cert, sizeof(cfg->tls.cert), "certs/dev/server.crt");
	copy_str(cfg->tls.key, sizeof(cfg->tls.key), "certs/dev/server.key");
	copy_str(cfg->tls.priorities, sizeof(cfg->tls.priorities), GW_TLS_PRIORITIES_DEFAULT);
	copy_str(cfg->store.path, sizeof(cfg->store.path), "var/taskgate.db");
	copy_str(cfg->store.synchronous, sizeof(cfg->store.synchronous), "FULL");
	cfg->store.busy_timeout_ms = 5000;
	copy_str(cfg->account_id, sizeof(cfg->account_id), "111122223333");
	copy_str(cfg->region, sizeof(cfg->region), "us-east-1");
	cfg->log.level = GW_LOG_INFO;
	cfg->log.format = GW_LOG_FORMAT_JSON;
	cfg->limits.max_connections = 1024;
	cfg->limits.max_connections_per_ip = 64;
	cfg->limits.connection_timeout_s = 30;
	cfg->limits.connection_memory_bytes = 64 * 1024;
	cfg->limits.max_body_bytes = 1024 * 1024;
	cfg->server.threads = 0;
	cfg->server.shutdown_timeout_s = 10;
	cfg->iam.refresh_ms = 1000;
	cfg->sts.default_duration_s = 3600;
	cfg->sts.max_duration_s = 43200;
	copy_str(cfg->scheduler.driver, sizeof(cfg->scheduler.driver), "process");
	cfg->scheduler.tick_ms = 1000;
	cfg->scheduler.dynamic_port_min = 49153;
	cfg->scheduler.dynamic_port_max = 65535;
	cfg->scheduler.stop_timeout_s = 30;
	cfg->scheduler.retain_s = 10800;
	copy_str(cfg->scheduler.docker_port_bind_ip, sizeof(cfg->scheduler.docker_port_bind_ip),
	         "127.0.0.1");
	copy_str(cfg->scheduler.docker_network_mode, sizeof(cfg->scheduler.docker_network_mode),
	         "bridge");
	cfg->scheduler.docker_timeout_ms = 30000;
	cfg->scheduler.local_reserved_memory_mib = 256;
	cfg->task_credentials.lifetime_s = 3600;
	cfg->task_credentials.renew_before_s = 1800;
	cfg->task_credentials.full_uri = false;
	cfg->task_credentials.authorization_token = false;
	cfg->task_credentials.bind_cluster = true;
	cfg->task_credentials.bind_source_ip = false;
	copy_str(cfg->task_credentials.execution_env, sizeof(cfg->task_credentials.execution_env),
	         "AWS_ECS_EC2");
	(void)gw_config_parse_listen("127.0.0.1:51679", &cfg->task_endpoint.listen, NULL);
	cfg->task_endpoint.rate_per_s = 40;
	cfg->task_endpoint.burst = 120;
	cfg->audit.checkpoint_every = 1000;
	cfg->audit.checkpoint_interval_s = 60;
	cfg->audit.batch_max = 256;
}

/* ---- listen addresses ---- */

static int parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Fills family/address/addr from a numeric address without brackets. */
static int set_address(struct gw_listen *out, const char *host, size_t n)
{
	char buf[sizeof(out->address)];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, host, n);
	buf[n] = '\0';
	memset(&out->addr, 0, sizeof(out->addr));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		out->family = AF_INET;
		out->addr_len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		out->family = AF_INET6;
		out->addr_len = sizeof(*v6);
	} else {
		return -1;
	}
	/* Keep the canonical spelling for logs ("::1", not "0:0::1"). */
	const void *a =
	    out->family == AF_INET ? (const void *)&v4->sin_addr : (const void *)&v6->sin6_addr;
	if (!inet_ntop(out->family, a, out->address, sizeof(out->address)))
		return -1;
	return 0;
}

static void set_port(struct gw_listen *out, uint16_t port)
{
	out->port = port;
	if (out->family == AF_INET)
		((struct sockaddr_in *)&out->addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&out->addr)->sin6_port = htons(port);
}

int gw_config_parse_listen(const char *s, struct gw_listen *out, struct gw_config_error *err)
{
	const char *host, *port;
	size_t host_n;
	uint16_t p;
	struct gw_listen l;
	memset(&l, 0, sizeof(l));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return set_error(err, GW_CONFIG_ERR_VALUE,
			                 "config: listen: \"%.80s\" is not \"[IPv6]:port\"", s);
		host = s + 1;
		host_n = (size_t)(close - host);
		port = close + 2;
		if (memchr(host, ':', host_n) == NULL)
			return set_error(err, GW_CONFIG_ERR_VALUE,
			                 "config: listen: brackets are for IPv6 addresses only");
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return set_error(
			    err, GW_CONFIG_ERR_VALUE,
			    "config: listen: \"%.80s\" has no port (write \"address:port\")", s);
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return set_error(err, GW_CONFIG_ERR_VALUE,
			                 "config: listen: write an IPv6 address in brackets, as "
			                 "\"[::1]:8443\"");
		host = s;
		host_n = (size_t)(colon - s);
		port = colon + 1;
	}
	if (set_address(&l, host, host_n) != 0)
		return set_error(err, GW_CONFIG_ERR_VALUE,
		                 "config: listen: \"%.*s\" is not a numeric IPv4 or IPv6 address",
		                 (int)(host_n > 80 ? 80 : host_n), host);
	if (parse_port(port, strlen(port), &p) != 0)
		return set_error(err, GW_CONFIG_ERR_VALUE,
		                 "config: listen: port \"%.20s\" is not a number from 0 to 65535",
		                 port);
	set_port(&l, p);
	*out = l;
	return GW_CONFIG_OK;
}

int gw_listen_format(const struct gw_listen *l, uint16_t port, char *out, size_t out_size)
{
	int w;
	if (l->family == AF_INET6)
		w = snprintf(out, out_size, "[%s]:%u", l->address, (unsigned)port);
	else
		w = snprintf(out, out_size, "%s:%u", l->address, (unsigned)port);
	if (w < 0 || (size_t)w >= out_size)
		return -1;
	return 0;
}

/* ---- typed value parsers ---- */

/* The walk carries the dotted path of the current object for messages. */
struct walk {
	struct gw_config *cfg;
	struct gw_config_error *err;
};

static int want_string(struct walk *w, const char *path, json_t *v, size_t max, const char **out)
{
	if (!json_is_string(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE, "config: %s: expected a string", path);
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE, "config: %s: must not be empty",
		                 path);
	if (n >= max)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: longer than %zu characters", path, max - 1);
	if (strlen(s) != n)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: contains a NUL character", path);
	*out = s;
	return GW_CONFIG_OK;
}

/* A string where "" means "not set" (optional files). */
static int want_optional_string(struct walk *w, const char *path, json_t *v, char *dst, size_t max)
{
	if (json_is_string(v) && json_string_length(v) == 0) {
		dst[0] = '\0';
		return GW_CONFIG_OK;
	}
	const char *s = NULL;
	int rc = want_string(w, path, v, max, &s);
	if (rc == GW_CONFIG_OK)
		copy_str(dst, max, s);
	return rc;
}

static int want_uint(struct walk *w, const char *path, json_t *v, unsigned long long lo,
                     unsigned long long hi, unsigned long long *out)
{
	if (!json_is_integer(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE, "config: %s: expected an integer",
		                 path);
	json_int_t i = json_integer_value(v);
	if (i < 0 || (unsigned long long)i < lo || (unsigned long long)i > hi)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: %lld is out of range (%llu to %llu)", path,
		                 (long long)i, lo, hi);
	*out = (unsigned long long)i;
	return GW_CONFIG_OK;
}

static int want_object(struct walk *w, const char *path, json_t *v)
{
	if (!json_is_object(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE, "config: %s: expected an object",
		                 path);
	return GW_CONFIG_OK;
}

/* A key of an object: its name and the parser for its value. */
struct key {
	const char *name;
	int (*parse)(struct walk *w, const char *path, json_t *v);
};

static int walk_object(struct walk *w, const char *prefix, json_t *obj, const struct key *keys,
                       size_t nkeys)
{
	const char *name;
	json_t *v;
	json_object_foreach(obj, name, v)
	{
		char path[256];
		int n = prefix ? snprintf(path, sizeof(path), "%s.%s", prefix, name)
		               : snprintf(path, sizeof(path), "%s", name);
		if (n < 0 || (size_t)n >= sizeof(path))
			return set_error(w->err, GW_CONFIG_ERR_UNKNOWN,
			                 "config: unknown key \"%.60s...\"", name);
		const struct key *k = NULL;
		for (size_t i = 0; i < nkeys; i++) {
			if (strcmp(keys[i].name, name) == 0) {
				k = &keys[i];
				break;
			}
		}
		if (!k)
			return set_error(w->err, GW_CONFIG_ERR_UNKNOWN, "config: %s: unknown key",
			                 path);
		int rc = k->parse(w, path, v);
		if (rc != GW_CONFIG_OK)
			return rc;
	}
	return GW_CONFIG_OK;
}

/* ---- listen ---- */

static int p_listen_address(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->listen.address), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	uint16_t port = w->cfg->listen.port;
	if (set_address(&w->cfg->listen, s, strlen(s)) != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: \"%s\" is not a numeric IPv4 or IPv6 address", path,
		                 s);
	set_port(&w->cfg->listen, port);
	return GW_CONFIG_OK;
}

static int p_listen_port(struct walk *w, const char *path, json_t *v)
{
	unsigned long long port = 0;
	int rc = want_uint(w, path, v, 0, 65535, &port);
	if (rc != GW_CONFIG_OK)
		return rc;
	set_port(&w->cfg->listen, (uint16_t)port);
	return GW_CONFIG_OK;
}

static int p_listen(struct walk *w, const char *path, json_t *v)
{
	if (json_is_string(v)) {
		struct gw_config_error e;
		if (gw_config_parse_listen(json_string_value(v), &w->cfg->listen, &e) != 0)
			return set_error(w->err, e.code, "%s", e.message);
		return GW_CONFIG_OK;
	}
	if (!json_is_object(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE,
		                 "config: %s: expected a string (\"127.0.0.1:8443\") or an object "
		                 "({\"address\": ..., \"port\": ...})",
		                 path);
	/* Order matters: the port must land in the address family chosen. */
	json_t *a = json_object_get(v, "address");
	json_t *p = json_object_get(v, "port");
	const char *name;
	json_t *x;
	json_object_foreach(v, name, x)
	{
		if (strcmp(name, "address") != 0 && strcmp(name, "port") != 0)
			return set_error(w->err, GW_CONFIG_ERR_UNKNOWN,
			                 "config: %s.%s: unknown key", path, name);
	}
	int rc;
	if (a) {
		rc = p_listen_address(w, "listen.address", a);
		if (rc != GW_CONFIG_OK)
			return rc;
	}
	if (p) {
		rc = p_listen_port(w, "listen.port", p);
		if (rc != GW_CONFIG_OK)
			return rc;
	}
	return GW_CONFIG_OK;
}

/* ---- tls ---- */

static int p_tls_cert(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->tls.cert), &s);
	if (rc == GW_CONFIG_OK)
		copy_str(w->cfg->tls.cert, sizeof(w->cfg->tls.cert), s);
	return rc;
}

static int p_tls_key(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->tls.key), &s);
	if (rc == GW_CONFIG_OK)
		copy_str(w->cfg->tls.key, sizeof(w->cfg->tls.key), s);
	return rc;
}

static int p_tls_priorities(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->tls.priorities), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	gnutls_priority_t prio;
	const char *at = NULL;
	int g = gnutls_priority_init(&prio, s, &at);
	if (g < 0) {
		if (g == GNUTLS_E_INVALID_REQUEST && at)
			return set_error(w->err, GW_CONFIG_ERR_VALUE,
			                 "config: %s: GnuTLS does not understand \"%.60s\"", path,
			                 at);
		return set_error(w->err, GW_CONFIG_ERR_VALUE, "config: %s: %s", path,
		                 gnutls_strerror(g));
	}
	gnutls_priority_deinit(prio);
	copy_str(w->cfg->tls.priorities, sizeof(w->cfg->tls.priorities), s);
	return GW_CONFIG_OK;
}

static int p_tls_client_ca(struct walk *w, const char *path, json_t *v)
{
	return want_optional_string(w, path, v, w->cfg->tls.client_ca,
	                            sizeof(w->cfg->tls.client_ca));
}

static const struct key tls_keys[] = {
    {"cert", p_tls_cert},
    {"key", p_tls_key},
    {"priorities", p_tls_priorities},
    {"client_ca", p_tls_client_ca},
};

static int p_tls(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, tls_keys, sizeof(tls_keys) / sizeof(tls_keys[0]));
}

/* ---- store ---- */

static int p_store_path(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->store.path), &s);
	if (rc == GW_CONFIG_OK)
		copy_str(w->cfg->store.path, sizeof(w->cfg->store.path), s);
	return rc;
}

static int p_store_synchronous(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->store.synchronous), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (strcmp(s, "FULL") != 0 && strcmp(s, "NORMAL") != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: must be \"FULL\" or \"NORMAL\", not \"%s\"", path, s);
	copy_str(w->cfg->store.synchronous, sizeof(w->cfg->store.synchronous), s);
	return GW_CONFIG_OK;
}

static int p_store_busy_timeout(struct walk *w, const char *path, json_t *v)
{
	unsigned long long ms = 0;
	int rc = want_uint(w, path, v, 1, 600000, &ms);
	if (rc == GW_CONFIG_OK)
		w->cfg->store.busy_timeout_ms = (int)ms;
	return rc;
}

static int p_store_max_size(struct walk *w, const char *path, json_t *v)
{
	unsigned long long mb = 0;
	int rc = want_uint(w, path, v, 0, 16u * 1024 * 1024, &mb);
	if (rc == GW_CONFIG_OK)
		w->cfg->store.max_size_mb = (unsigned)mb;
	return rc;
}

static const struct key store_keys[] = {
    {"path", p_store_path},
    {"synchronous", p_store_synchronous},
    {"busy_timeout_ms", p_store_busy_timeout},
    {"max_size_mb", p_store_max_size},
};

static int p_store(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, store_keys, sizeof(store_keys) / sizeof(store_keys[0]));
}

/* ---- account and region ---- */

static int p_account_id(struct walk *w, const char *path, json_t *v)
{
	if (!json_is_string(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE,
		                 "config: %s: expected a string (twelve digits, quoted)", path);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	bool ok = n == GW_CONFIG_ACCOUNT_ID_LEN;
	for (size_t i = 0; ok && i < n; i++)
		ok = s[i] >= '0' && s[i] <= '9';
	if (!ok)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: an AWS account id is exactly 12 digits", path);
	copy_str(w->cfg->account_id, sizeof(w->cfg->account_id), s);
	return GW_CONFIG_OK;
}

/*
 * A region name as AWS spells them: lower-case words joined by hyphens,
 * ending in a number ("us-east-1", "us-gov-west-1", "ap-southeast-4").
 */
static bool region_ok(const char *s, size_t n)
{
	size_t parts = 0, i = 0;
	bool last_numeric = false;
	while (i < n) {
		size_t start = i;
		bool alpha = true, digit = true;
		while (i < n && s[i] != '-') {
			if (s[i] < 'a' || s[i] > 'z')
				alpha = false;
			if (s[i] < '0' || s[i] > '9')
				digit = false;
			i++;
		}
		if (i == start || (!alpha && !digit))
			return false;
		if (parts == 0 && !alpha)
			return false;
		last_numeric = digit;
		parts++;
		if (i < n) {
			i++; /* the hyphen */
			if (i == n)
				return false;
		}
	}
	return parts >= 3 && last_numeric;
}

static int p_region(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->region), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (!region_ok(s, strlen(s)))
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: \"%s\" is not a region name like \"us-east-1\"", path,
		                 s);
	copy_str(w->cfg->region, sizeof(w->cfg->region), s);
	return GW_CONFIG_OK;
}

/* ---- log ---- */

static int p_log_level(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, 16, &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (gw_log_level_parse(s, &w->cfg->log.level) != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: must be \"debug\", \"info\", \"warn\" or \"error\"",
		                 path);
	return GW_CONFIG_OK;
}

static int p_log_format(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, 16, &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (gw_log_format_parse(s, &w->cfg->log.format) != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: must be \"json\" or \"text\"", path);
	return GW_CONFIG_OK;
}

static const struct key log_keys[] = {
    {"level", p_log_level},
    {"format", p_log_format},
};

static int p_log(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, log_keys, sizeof(log_keys) / sizeof(log_keys[0]));
}

/* ---- limits ---- */

static int p_max_connections(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 1, 100000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->limits.max_connections = (unsigned)x;
	return rc;
}

static int p_max_connections_per_ip(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 0, 100000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->limits.max_connections_per_ip = (unsigned)x;
	return rc;
}

static int p_connection_timeout(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	/* No 0: a connection that never times out is a slot an idle client keeps. */
	int rc = want_uint(w, path, v, 1, 3600, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->limits.connection_timeout_s = (unsigned)x;
	return rc;
}

static int p_connection_memory(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	/* Below 8 KiB a request's headers may not fit; above 16 MiB is a typo. */
	int rc = want_uint(w, path, v, 8 * 1024, 16 * 1024 * 1024, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->limits.connection_memory_bytes = (size_t)x;
	return rc;
}

static int p_max_body(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 1024, 64 * 1024 * 1024, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->limits.max_body_bytes = (size_t)x;
	return rc;
}

static const struct key limits_keys[] = {
    {"max_connections", p_max_connections},
    {"max_connections_per_ip", p_max_connections_per_ip},
    {"connection_timeout_s", p_connection_timeout},
    {"connection_memory_bytes", p_connection_memory},
    {"max_body_bytes", p_max_body},
};

static int p_limits(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, limits_keys, sizeof(limits_keys) / sizeof(limits_keys[0]));
}

/* ---- server ---- */

static int p_threads(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 0, 256, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->server.threads = (unsigned)x;
	return rc;
}

static int p_shutdown_timeout(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 0, 3600, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->server.shutdown_timeout_s = (unsigned)x;
	return rc;
}

static const struct key server_keys[] = {
    {"threads", p_threads},
    {"shutdown_timeout_s", p_shutdown_timeout},
};

static int p_server(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, server_keys, sizeof(server_keys) / sizeof(server_keys[0]));
}

/* ---- master key, iam, sts ---- */

static int p_master_key(struct walk *w, const char *path, json_t *v)
{
	return want_optional_string(w, path, v, w->cfg->master_key, sizeof(w->cfg->master_key));
}

static int p_iam_refresh(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	/* Under 50 ms the poll is busy work; over an hour a change waits too long. */
	int rc = want_uint(w, path, v, 50, 3600 * 1000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->iam.refresh_ms = (unsigned)x;
	return rc;
}

static const struct key iam_keys[] = {
    {"refresh_ms", p_iam_refresh},
};

static int p_iam(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, iam_keys, sizeof(iam_keys) / sizeof(iam_keys[0]));
}

/* AWS's bounds: sessions last 15 minutes to 12 hours. */
static int p_sts_default(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 900, 43200, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->sts.default_duration_s = (unsigned)x;
	return rc;
}

static int p_sts_max(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 900, 43200, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->sts.max_duration_s = (unsigned)x;
	return rc;
}

static const struct key sts_keys[] = {
    {"default_duration_s", p_sts_default},
    {"max_duration_s", p_sts_max},
};

static int p_sts(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, sts_keys, sizeof(sts_keys) / sizeof(sts_keys[0]));
}

/* ---- scheduler ---- */

static int p_sched_driver(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->scheduler.driver), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (strcmp(s, "process") != 0 && strcmp(s, "docker") != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: must be \"process\" or \"docker\"", path);
	copy_str(w->cfg->scheduler.driver, sizeof(w->cfg->scheduler.driver), s);
	return GW_CONFIG_OK;
}

#define SCHED_UINT(fn, field, lo, hi)                                                              \
	static int fn(struct walk *w, const char *path, json_t *v)                                 \
	{                                                                                          \
		unsigned long long x = 0;                                                          \
		int rc = want_uint(w, path, v, lo, hi, &x);                                        \
		if (rc == GW_CONFIG_OK)                                                            \
			w->cfg->scheduler.field = (unsigned)x;                                     \
		return rc;                                                                         \
	}
/* Under 50 ms the ticker is busy work; a minute is as slow as a service may
 * notice a dead task. */
SCHED_UINT(p_sched_tick, tick_ms, 50, 60000)
SCHED_UINT(p_sched_port_min, dynamic_port_min, 1024, 65535)
SCHED_UINT(p_sched_port_max, dynamic_port_max, 1024, 65535)
SCHED_UINT(p_sched_stop_timeout, stop_timeout_s, 1, 3600)
SCHED_UINT(p_sched_retain, retain_s, 0, 30 * 86400)
SCHED_UINT(p_sched_docker_timeout, docker_timeout_ms, 100, 600000)
/* 1 TiB: more than any host this runs on would keep for itself. */
SCHED_UINT(p_sched_local_reserve, local_reserved_memory_mib, 0, 1024 * 1024)
#undef SCHED_UINT

#define SCHED_STR(fn, field)                                                                       \
	static int fn(struct walk *w, const char *path, json_t *v)                                 \
	{                                                                                          \
		return want_optional_string(w, path, v, w->cfg->scheduler.field,                   \
		                            sizeof(w->cfg->scheduler.field));                      \
	}
SCHED_STR(p_sched_run_dir, run_dir)
SCHED_STR(p_sched_docker_socket, docker_socket)
SCHED_STR(p_sched_docker_tcp, docker_tcp)
SCHED_STR(p_sched_docker_tls_ca, docker_tls_ca)
SCHED_STR(p_sched_docker_tls_cert, docker_tls_cert)
SCHED_STR(p_sched_docker_tls_key, docker_tls_key)
SCHED_STR(p_sched_docker_registry_auth_file, docker_registry_auth_file)
#undef SCHED_STR

static int p_sched_bind_ip(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->scheduler.docker_port_bind_ip), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	unsigned char buf[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: must be a numeric IPv4 or IPv6 address", path);
	copy_str(w->cfg->scheduler.docker_port_bind_ip,
	         sizeof(w->cfg->scheduler.docker_port_bind_ip), s);
	return GW_CONFIG_OK;
}

static int p_sched_network_mode(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->scheduler.docker_network_mode), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (strcmp(s, "bridge") != 0 && strcmp(s, "host") != 0 && strcmp(s, "none") != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: must be \"bridge\", \"host\" or \"none\"", path);
	copy_str(w->cfg->scheduler.docker_network_mode,
	         sizeof(w->cfg->scheduler.docker_network_mode), s);
	return GW_CONFIG_OK;
}

/* The clusters this host joins: ECS cluster names (letters, digits, - and _),
 * each once. Checked here so that a typo stops the start with the key's
 * name rather than failing later inside the scheduler. */
static int p_sched_local_instance(struct walk *w, const char *path, json_t *v)
{
	struct gw_config_scheduler *sc = &w->cfg->scheduler;
	if (!json_is_array(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE,
		                 "config: %s: expected a list of cluster names", path);
	if (json_array_size(v) > GW_CONFIG_LOCAL_CLUSTERS_MAX)
		return set_error(w->err, GW_CONFIG_ERR_VALUE, "config: %s: at most %d clusters",
		                 path, GW_CONFIG_LOCAL_CLUSTERS_MAX);
	sc->n_local_instance = 0;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		char where[300];
		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		const char *name = NULL;
		int rc = want_string(w, where, e, GW_CONFIG_CLUSTER_NAME_MAX + 1, &name);
		if (rc != GW_CONFIG_OK)
			return rc;
		if (strspn(name,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
		    strlen(name))
			return set_error(w->err, GW_CONFIG_ERR_VALUE,
			                 "config: %s: a cluster name is letters, digits, hyphens "
			                 "and underscores",
			                 where);
		for (size_t k = 0; k < sc->n_local_instance; k++)
			if (strcmp(sc->local_instance[k], name) == 0)
				return set_error(w->err, GW_CONFIG_ERR_VALUE,
				                 "config: %s: cluster %s is named twice", where,
				                 name);
		copy_str(sc->local_instance[sc->n_local_instance], sizeof(sc->local_instance[0]),
		         name);
		sc->n_local_instance++;
	}
	return GW_CONFIG_OK;
}

static const struct key scheduler_keys[] = {
    {"driver", p_sched_driver},
    {"tick_ms", p_sched_tick},
    {"dynamic_port_min", p_sched_port_min},
    {"dynamic_port_max", p_sched_port_max},
    {"stop_timeout_s", p_sched_stop_timeout},
    {"run_dir", p_sched_run_dir},
    {"retain_s", p_sched_retain},
    {"docker_socket", p_sched_docker_socket},
    {"docker_tcp", p_sched_docker_tcp},
    {"docker_tls_ca", p_sched_docker_tls_ca},
    {"docker_tls_cert", p_sched_docker_tls_cert},
    {"docker_tls_key", p_sched_docker_tls_key},
    {"docker_registry_auth_file", p_sched_docker_registry_auth_file},
    {"docker_port_bind_ip", p_sched_bind_ip},
    {"docker_network_mode", p_sched_network_mode},
    {"docker_timeout_ms", p_sched_docker_timeout},
    {"local_instance", p_sched_local_instance},
    {"local_reserved_memory_mib", p_sched_local_reserve},
};

static int p_scheduler(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, scheduler_keys,
	                   sizeof(scheduler_keys) / sizeof(scheduler_keys[0]));
}

/* ---- audit ---- */

static int p_audit_key_file(struct walk *w, const char *path, json_t *v)
{
	return want_optional_string(w, path, v, w->cfg->audit.key_file,
	                            sizeof(w->cfg->audit.key_file));
}

static int p_audit_every(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 0, 1000000000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->audit.checkpoint_every = (unsigned)x;
	return rc;
}

static int p_audit_interval(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 0, 86400, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->audit.checkpoint_interval_s = (unsigned)x;
	return rc;
}

static int p_audit_batch(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 1, 1000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->audit.batch_max = (unsigned)x;
	return rc;
}

static const struct key audit_keys[] = {
    {"key_file", p_audit_key_file},
    {"checkpoint_every", p_audit_every},
    {"checkpoint_interval_s", p_audit_interval},
    {"batch_max", p_audit_batch},
};

static int p_audit(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, audit_keys, sizeof(audit_keys) / sizeof(audit_keys[0]));
}

/* ---- task_credentials, task_endpoint ---- */

static int want_bool(struct walk *w, const char *path, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return set_error(w->err, GW_CONFIG_ERR_TYPE, "config: %s: expected true or false",
		                 path);
	*out = json_is_true(v);
	return GW_CONFIG_OK;
}

static int p_tc_lifetime(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 900, 43200, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->task_credentials.lifetime_s = (unsigned)x;
	return rc;
}

static int p_tc_renew(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 1, 43199, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->task_credentials.renew_before_s = (unsigned)x;
	return rc;
}

static int p_tc_uri(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, 16, &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	if (strcmp(s, "relative") != 0 && strcmp(s, "full") != 0)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: expected \"relative\" or \"full\"", path);
	w->cfg->task_credentials.full_uri = strcmp(s, "full") == 0;
	return GW_CONFIG_OK;
}

static int p_tc_auth(struct walk *w, const char *path, json_t *v)
{
	return want_bool(w, path, v, &w->cfg->task_credentials.authorization_token);
}

static int p_tc_bind_cluster(struct walk *w, const char *path, json_t *v)
{
	return want_bool(w, path, v, &w->cfg->task_credentials.bind_cluster);
}

static int p_tc_bind_ip(struct walk *w, const char *path, json_t *v)
{
	return want_bool(w, path, v, &w->cfg->task_credentials.bind_source_ip);
}

static int p_tc_exec_env(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, sizeof(w->cfg->task_credentials.execution_env), &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return set_error(w->err, GW_CONFIG_ERR_VALUE,
			                 "config: %s: only A-Z, 0-9 and _ (\"AWS_ECS_EC2\")", path);
	copy_str(w->cfg->task_credentials.execution_env,
	         sizeof(w->cfg->task_credentials.execution_env), s);
	return GW_CONFIG_OK;
}

static int p_tc_role(struct walk *w, const char *path, const char *name, json_t *v)
{
	struct gw_config_taskcreds *tc = &w->cfg->task_credentials;
	size_t n = strlen(name);
	if (n == 0 || n > 64)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: a role name has 1 to 64 characters", path);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("+=,.@_-", c)))
			return set_error(w->err, GW_CONFIG_ERR_VALUE,
			                 "config: %s: not a role name (letters, digits and +=,.@_-)",
			                 path);
	}
	if (tc->n_roles >= GW_CONFIG_TASK_ROLES_MAX)
		return set_error(w->err, GW_CONFIG_ERR_VALUE, "config: %s: more than %d roles", path,
		                 GW_CONFIG_TASK_ROLES_MAX);
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	struct gw_config_task_role *r = &tc->roles[tc->n_roles];
	memset(r, 0, sizeof(*r));
	copy_str(r->name, sizeof(r->name), name);
	r->bind_cluster = -1;
	r->bind_source_ip = -1;
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x)
	{
		char sub[800];
		int sn = snprintf(sub, sizeof(sub), "%s.%s", path, k);
		if (sn < 0 || (size_t)sn >= sizeof(sub))
			return set_error(w->err, GW_CONFIG_ERR_UNKNOWN, "config: %s: unknown key",
			                 path);
		bool b = false;
		if (strcmp(k, "bind_cluster") == 0) {
			rc = want_bool(w, sub, x, &b);
			r->bind_cluster = b;
		} else if (strcmp(k, "bind_source_ip") == 0) {
			rc = want_bool(w, sub, x, &b);
			r->bind_source_ip = b;
		} else if (strcmp(k, "lifetime_s") == 0) {
			unsigned long long l = 0;
			rc = want_uint(w, sub, x, 900, 43200, &l);
			r->lifetime_s = (unsigned)l;
		} else {
			rc = set_error(w->err, GW_CONFIG_ERR_UNKNOWN, "config: %s: unknown key", sub);
		}
		if (rc != GW_CONFIG_OK)
			return rc;
	}
	tc->n_roles++;
	return GW_CONFIG_OK;
}

static int p_tc_roles(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	w->cfg->task_credentials.n_roles = 0;
	const char *name;
	json_t *x;
	json_object_foreach(v, name, x)
	{
		char sub[400];
		int sn = snprintf(sub, sizeof(sub), "%s.%s", path, name);
		if (sn < 0 || (size_t)sn >= sizeof(sub))
			return set_error(w->err, GW_CONFIG_ERR_VALUE,
			                 "config: %s: a role name has 1 to 64 characters", path);
		rc = p_tc_role(w, sub, name, x);
		if (rc != GW_CONFIG_OK)
			return rc;
	}
	return GW_CONFIG_OK;
}

static const struct key tc_keys[] = {
    {"lifetime_s", p_tc_lifetime},
    {"renew_before_s", p_tc_renew},
    {"uri", p_tc_uri},
    {"authorization_token", p_tc_auth},
    {"bind_cluster", p_tc_bind_cluster},
    {"bind_source_ip", p_tc_bind_ip},
    {"execution_env", p_tc_exec_env},
    {"roles", p_tc_roles},
};

static int p_task_credentials(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, tc_keys, sizeof(tc_keys) / sizeof(tc_keys[0]));
}

static int p_te_listen(struct walk *w, const char *path, json_t *v)
{
	const char *s = NULL;
	int rc = want_string(w, path, v, 128, &s);
	if (rc != GW_CONFIG_OK)
		return rc;
	struct gw_config_error e;
	if (gw_config_parse_listen(s, &w->cfg->task_endpoint.listen, &e) != 0)
		return set_error(w->err, e.code, "config: %s: %s", path,
		                 strncmp(e.message, "config: ", 8) == 0 ? e.message + 8 : e.message);
	return GW_CONFIG_OK;
}

static int p_te_advertise(struct walk *w, const char *path, json_t *v)
{
	char *dst = w->cfg->task_endpoint.advertise_url;
	size_t cap = sizeof(w->cfg->task_endpoint.advertise_url);
	int rc = want_optional_string(w, path, v, dst, cap);
	if (rc != GW_CONFIG_OK || !dst[0])
		return rc;
	size_t n = strlen(dst);
	bool scheme = strncmp(dst, "http://", 7) == 0 || strncmp(dst, "https://", 8) == 0;
	if (!scheme || dst[n - 1] == '/' || strpbrk(dst, " ?#\"\\") != NULL) {
		dst[0] = '\0';
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: %s: expected a base URL such as \"http://169.254.170.2\" "
		                 "(http or https, no trailing slash, query or fragment)",
		                 path);
	}
	return GW_CONFIG_OK;
}

static int p_te_rate(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 1, 100000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->task_endpoint.rate_per_s = (unsigned)x;
	return rc;
}

static int p_te_burst(struct walk *w, const char *path, json_t *v)
{
	unsigned long long x = 0;
	int rc = want_uint(w, path, v, 1, 1000000, &x);
	if (rc == GW_CONFIG_OK)
		w->cfg->task_endpoint.burst = (unsigned)x;
	return rc;
}

static const struct key te_keys[] = {
    {"listen", p_te_listen},
    {"advertise_url", p_te_advertise},
    {"rate_per_s", p_te_rate},
    {"burst", p_te_burst},
};

static int p_task_endpoint(struct walk *w, const char *path, json_t *v)
{
	int rc = want_object(w, path, v);
	if (rc != GW_CONFIG_OK)
		return rc;
	return walk_object(w, path, v, te_keys, sizeof(te_keys) / sizeof(te_keys[0]));
}

static const struct key top_keys[] = {
    {"listen", p_listen},         {"tls", p_tls},       {"store", p_store},
    {"account_id", p_account_id}, {"region", p_region}, {"log", p_log},
    {"limits", p_limits},         {"server", p_server}, {"master_key", p_master_key},
    {"iam", p_iam},               {"sts", p_sts},       {"scheduler", p_scheduler},
    {"audit", p_audit},
    {"task_credentials", p_task_credentials},
    {"task_endpoint", p_task_endpoint},
};

/* Cross-key checks, once every key is read. */
static int check_whole(struct walk *w)
{
	const struct gw_config_limits *l = &w->cfg->limits;
	if (l->max_connections_per_ip > l->max_connections)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: limits.max_connections_per_ip: %u is more than "
		                 "limits.max_connections (%u)",
		                 l->max_connections_per_ip, l->max_connections);
	if (w->cfg->sts.default_duration_s > w->cfg->sts.max_duration_s)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: sts.default_duration_s: %u is more than "
		                 "sts.max_duration_s (%u)",
		                 w->cfg->sts.default_duration_s, w->cfg->sts.max_duration_s);
	const struct gw_config_scheduler *sc = &w->cfg->scheduler;
	if (sc->dynamic_port_min > sc->dynamic_port_max)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: scheduler.dynamic_port_min: %u is more than "
		                 "scheduler.dynamic_port_max (%u)",
		                 sc->dynamic_port_min, sc->dynamic_port_max);
	if ((sc->docker_tls_cert[0] != '\0') != (sc->docker_tls_key[0] != '\0'))
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: scheduler.docker_tls_cert: needs scheduler.docker_tls_key "
		                 "(and the reverse)");
	if (sc->docker_tcp[0] && !sc->docker_tls_ca[0])
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: scheduler.docker_tcp: needs scheduler.docker_tls_ca (the "
		                 "engine is reached over TLS only)");
	/* The local instance offers this machine's CPUs and memory; an engine
	 * reached over TCP runs the tasks on another machine, whose resources
	 * this one cannot measure. */
	if (sc->n_local_instance > 0 && strcmp(sc->driver, "docker") == 0 && sc->docker_tcp[0])
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: scheduler.local_instance: describes this machine, but "
		                 "scheduler.docker_tcp runs the tasks on another one; register "
		                 "that host with RegisterContainerInstance instead");
	const struct gw_config_taskcreds *tc = &w->cfg->task_credentials;
	if (tc->renew_before_s >= tc->lifetime_s)
		return set_error(w->err, GW_CONFIG_ERR_VALUE,
		                 "config: task_credentials.renew_before_s: %u is not less than "
		                 "task_credentials.lifetime_s (%u)",
		                 tc->renew_before_s, tc->lifetime_s);
	for (size_t i = 0; i < tc->n_roles; i++)
		if (tc->roles[i].lifetime_s && tc->renew_before_s >= tc->roles[i].lifetime_s)
			return set_error(w->err, GW_CONFIG_ERR_VALUE,
			                 "config: task_credentials.roles.%s.lifetime_s: %u is not "
			                 "more than task_credentials.renew_before_s (%u)",
			                 tc->roles[i].name, tc->roles[i].lifetime_s,
			                 tc->renew_before_s);
	return GW_CONFIG_OK;
}

int gw_config_parse(const char *text, size_t n, struct gw_config *cfg, struct gw_config_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return set_error(err, GW_CONFIG_ERR_SYNTAX, "config: line %d, column %d: %s",
		                 je.line, je.column, je.text);
	struct walk w = {.cfg = cfg, .err = err};
	int rc;
	if (!json_is_object(root))
		rc = set_error(err, GW_CONFIG_ERR_TYPE,
		               "config: the document must be a JSON object");
	else
		rc = walk_object(&w, NULL, root, top_keys, sizeof(top_keys) / sizeof(top_keys[0]));
	if (rc == GW_CONFIG_OK)
		rc = check_whole(&w);
	json_decref(root);
	return rc;
}

int gw_config_load(const char *path, struct gw_config *cfg, struct gw_config_error *err)
{
	gw_config_defaults(cfg);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return set_error(err, GW_CONFIG_ERR_IO, "config: cannot open %s: %s", path,
		                 strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return set_error(err, GW_CONFIG_ERR_IO, "config: %s is not a regular file", path);
	}
	if (st.st_size > (off_t)GW_CONFIG_FILE_MAX) {
		close(fd);
		return set_error(err, GW_CONFIG_ERR_IO, "config: %s is larger than %u bytes", path,
		                 GW_CONFIG_FILE_MAX);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return set_error(err, GW_CONFIG_ERR_NOMEM, "config: out of memory reading %s",
		                 path);
	}
	size_t n = 0;
	for (;;) {
		/* Read one byte past the size we saw, to notice a file that grew. */
		if (n > (size_t)st.st_size) {
			free(buf);
			close(fd);
			return set_error(err, GW_CONFIG_ERR_IO, "config: %s changed while read",
			                 path);
		}
		ssize_t r = read(fd, buf + n, (size_t)st.st_size + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return set_error(err, GW_CONFIG_ERR_IO, "config: cannot read %s: %s", path,
			                 strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	int rc = gw_config_parse(buf, n, cfg, err);
	free(buf);
	return rc;
}
