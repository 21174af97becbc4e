/*
 * core.c - the scheduler's plumbing: open and close, errors and their ECS
 * names, ARNs, randomness and time, pagination tokens, and moving objects
 * between the store and jansson.
 *
 * Pagination tokens are the store's seq of the last object on a page,
 * encoded so that they look opaque and carry a check: a token is stable (the
 * same token always resumes after the same object, whatever was added since)
 * and a token that was edited is refused as InvalidParameterException rather
 * than silently read as another position.
 */
#include "scheduler/sched_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *const exception_names[] = {
    "",
    "ClientException",
    "InvalidParameterException",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "ServiceNotActiveException",
    "ClusterContainsContainerInstancesException",
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ResourceNotFoundException",
    "ServerException",
};

const char *sched_exception_name(int code)
{
	if (code > 0 || -code >= (int)(sizeof(exception_names) / sizeof(exception_names[0])))
		return "ServerException";
	return exception_names[-code];
}

int sched_fail(struct sched_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->message[0] = '\0';
	return code;
}

int sched_fail_store(struct sched_error *err, const struct store_error *serr, const char *what)
{
	return sched_fail(err, SCHED_ERR_SERVER, "%s: %s", what, serr->message);
}

void sched_clear_error(struct sched_error *err)
{
	if (err) {
		err->code = SCHED_OK;
		err->message[0] = '\0';
	}
}

static int64_t real_clock(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void real_random(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* getrandom cannot fail on Linux >= 3.17 once seeded; a failure
			 * here is a broken invariant, not a request error. */
			abort();
		}
		got += (size_t)r;
	}
}

int sched_open(const struct sched_config *cfg, struct sched **out, struct sched_error *err)
{
	sched_clear_error(err);
	*out = NULL;
	if (!cfg || !cfg->store || !cfg->region || !cfg->account_id)
		return sched_fail(err, SCHED_ERR_CLIENT, "scheduler: store, region and account required");
	if (!cfg->driver.start || !cfg->driver.stop || !cfg->driver.inspect)
		return sched_fail(err, SCHED_ERR_CLIENT, "scheduler: the driver lacks start/stop/inspect");
	struct sched *s = calloc(1, sizeof(*s));
	if (!s)
		return sched_fail(err, SCHED_ERR_SERVER, "scheduler: out of memory");
	int n1 = snprintf(s->region, sizeof(s->region), "%s", cfg->region);
	int n2 = snprintf(s->account, sizeof(s->account), "%s", cfg->account_id);
	if (n1 < 0 || (size_t)n1 >= sizeof(s->region) || n2 < 0 ||
	    (size_t)n2 >= sizeof(s->account)) {
		free(s);
		return sched_fail(err, SCHED_ERR_CLIENT, "scheduler: region or account id too long");
	}
	s->store = cfg->store;
	s->driver = cfg->driver;
	s->random = cfg->random ? cfg->random : real_random;
	s->random_ctx = cfg->random_ctx;
	s->clock = cfg->clock ? cfg->clock : real_clock;
	s->clock_ctx = cfg->clock_ctx;
	s->port_min = cfg->dynamic_port_min > 0 ? cfg->dynamic_port_min : 49153;
	s->port_max = cfg->dynamic_port_max > 0 ? cfg->dynamic_port_max : 65535;
	s->host_ports_shared = cfg->host_ports_shared;
	if (snprintf(s->bind_ip, sizeof(s->bind_ip), "%s", cfg->bind_ip ? cfg->bind_ip : "0.0.0.0") >=
	    (int)sizeof(s->bind_ip)) {
		free(s);
		return sched_fail(err, SCHED_ERR_CLIENT, "scheduler: bind address too long");
	}
	s->hooks = cfg->hooks;
	s->retention_ms =
	    (int64_t)(cfg->stopped_task_retention_s > 0 ? cfg->stopped_task_retention_s : 3600) *
	    1000;
	if (s->port_min > s->port_max || s->port_max > 65535) {
		free(s);
		return sched_fail(err, SCHED_ERR_CLIENT, "scheduler: bad dynamic port range");
	}
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return SCHED_OK;
}

void sched_close(struct sched *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	sched_throttle_free(s);
	free(s);
}

int64_t sched_now_ms(struct sched *s)
{
	return s->clock(s->clock_ctx);
}

double sched_epoch(int64_t ms)
{
	return (double)ms / 1000.0;
}

double sched_now_epoch(struct sched *s)
{
	return sched_epoch(sched_now_ms(s));
}

const char *sched_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int sched_jint(const json_t *o, const char *key, int dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

void sched_random_hex(struct sched *s, char *out, size_t n_hex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64];
	size_t nb = (n_hex + 1) / 2;
	if (nb > sizeof(buf))
		nb = sizeof(buf);
	s->random(s->random_ctx, buf, nb);
	for (size_t i = 0; i < n_hex && i / 2 < nb; i++)
		out[i] = hex[(i % 2 == 0) ? buf[i / 2] >> 4 : buf[i / 2] & 15];
	out[n_hex] = '\0';
}

uint64_t sched_random_u64(struct sched *s)
{
	unsigned char b[8];
	s->random(s->random_ctx, b, sizeof(b));
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

char *sched_arn(struct sched *s, const char *type, const char *rest)
{
	size_t n = strlen(type) + strlen(rest) + strlen(s->region) + strlen(s->account) + 32;
	char *p = malloc(n);
	if (!p)
		return NULL;
	int w = snprintf(p, n, "arn:aws:ecs:%s:%s:%s/%s", s->region, s->account, type, rest);
	if (w < 0 || (size_t)w >= n) {
		free(p);
		return NULL;
	}
	return p;
}

const char *sched_arn_tail(const char *ref, const char *type)
{
	if (!ref || strncmp(ref, "arn:", 4) != 0)
		return ref;
	/* arn:partition:ecs:region:account:type/rest */
	const char *p = ref;
	for (int colons = 0; colons < 5; colons++) {
		p = strchr(p, ':');
		if (!p)
			return ref;
		p++;
	}
	size_t tn = strlen(type);
	if (strncmp(p, type, tn) == 0 && p[tn] == '/')
		return p + tn + 1;
	return ref;
}

void sched_obj_free(struct sched_obj *o)
{
	if (!o)
		return;
	store_sched_obj_free(&o->row);
	json_decref(o->doc);
	o->doc = NULL;
}

static int parse_doc(struct sched_obj *o, struct sched_error *err)
{
	json_error_t jerr;
	o->doc = json_loads(o->row.doc, 0, &jerr);
	if (!o->doc || !json_is_object(o->doc)) {
		json_decref(o->doc);
		o->doc = NULL;
		return sched_fail(err, SCHED_ERR_SERVER, "stored object %s is not a JSON object",
		                  o->row.arn);
	}
	return SCHED_OK;
}

int sched_obj_load(struct sched *s, const char *arn, struct sched_obj *o, int not_found_code,
                   struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	struct store_error se;
	int rc = store_sched_get(s->store, arn, &o->row, &se);
	if (rc == STORE_ERR_NOT_FOUND)
		return sched_fail(err, not_found_code, "%s not found", arn);
	if (rc != STORE_OK)
		return sched_fail_store(err, &se, "reading the store");
	rc = parse_doc(o, err);
	if (rc != SCHED_OK)
		sched_obj_free(o);
	return rc;
}

int sched_obj_set_str(struct sched_obj *o, char **field, const char *v, struct sched_error *err)
{
	(void)o;
	char *p = strdup(v ? v : "");
	if (!p)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	free(*field);
	*field = p;
	return SCHED_OK;
}

int sched_obj_init(struct sched_obj *o, enum store_sched_kind kind, const char *arn,
                   const char *cluster, const char *name, const char *status, json_t *doc,
                   struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	o->doc = doc;
	o->row.kind = kind;
	if (!doc)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	int rc = sched_obj_set_str(o, &o->row.arn, arn, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(o, &o->row.cluster, cluster, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(o, &o->row.name, name, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(o, &o->row.status, status, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(o, &o->row.grp, "", err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(o, &o->row.parent, "", err);
	return rc;
}

int sched_obj_save(struct sched *s, struct sched_obj *o, struct sched_error *err)
{
	char *text = json_dumps(o->doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	free(o->row.doc);
	o->row.doc = text;
	struct store_error se;
	int64_t seq = 0, ver = 0;
	int rc = store_sched_put(s->store, &o->row, o->row.version, &seq, &ver, &se);
	if (rc != STORE_OK)
		return sched_fail_store(err, &se, "writing the store");
	o->row.seq = seq;
	o->row.version = ver;
	return SCHED_OK;
}

int sched_objs_query(struct sched *s, const struct store_sched_filter *f, struct sched_objs *out,
                     struct sched_error *err)
{
	memset(out, 0, sizeof(*out));
	struct store_sched_list l;
	struct store_error se;
	int rc = store_sched_query(s->store, f, &l, &se);
	if (rc != STORE_OK)
		return sched_fail_store(err, &se, "listing the store");
	out->v = calloc(l.n ? l.n : 1, sizeof(*out->v));
	if (!out->v) {
		store_sched_list_free(&l);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		out->v[i].row = l.objs[i]; /* moved */
		memset(&l.objs[i], 0, sizeof(l.objs[i]));
		out->n++;
		rc = parse_doc(&out->v[i], err);
		if (rc != SCHED_OK) {
			store_sched_list_free(&l);
			sched_objs_free(out);
			return rc;
		}
	}
	store_sched_list_free(&l);
	return SCHED_OK;
}

void sched_objs_free(struct sched_objs *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		sched_obj_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Tokens: "tg1" + 16 hex digits of seq, + 8 hex digits of a check over
 * them. Not a secret; only a guard against edited tokens. */
static uint32_t token_check(uint64_t seq)
{
	uint64_t h = seq * 0x9E3779B97F4A7C15ULL;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32) ^ 0x7a5c3e1dU);
}

int sched_page_token(int64_t seq, char **out, struct sched_error *err)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "tg1%016llx%08x", (unsigned long long)seq,
	                 (unsigned)token_check((uint64_t)seq));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return sched_fail(err, SCHED_ERR_SERVER, "cannot format a page token");
	*out = strdup(buf);
	if (!*out)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	return SCHED_OK;
}

int sched_page_start(const struct sched_page *page, int64_t *after_seq, size_t *limit,
                     struct sched_error *err)
{
	*after_seq = 0;
	*limit = 100;
	if (!page)
		return SCHED_OK;
	if (page->max_results != 0) {
		if (page->max_results < 1 || page->max_results > 100)
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "maxResults must be between 1 and 100");
		*limit = (size_t)page->max_results;
	}
	const char *t = page->next_token;
	if (!t || !t[0])
		return SCHED_OK;
	char seqhex[17], chk[9];
	if (strlen(t) != 27 || strncmp(t, "tg1", 3) != 0 ||
	    strspn(t + 3, "0123456789abcdef") != 24)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "Invalid nextToken");
	memcpy(seqhex, t + 3, 16);
	seqhex[16] = '\0';
	memcpy(chk, t + 19, 8);
	chk[8] = '\0';
	uint64_t seq = strtoull(seqhex, NULL, 16);
	if ((uint32_t)strtoul(chk, NULL, 16) != token_check(seq) || seq > INT64_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "Invalid nextToken");
	*after_seq = (int64_t)seq;
	return SCHED_OK;
}

int sched_objs_save(struct sched *s, struct sched_obj *const *objs, size_t n,
                    struct sched_error *err)
{
	if (n == 0)
		return SCHED_OK;
	struct store_sched_obj *rows = calloc(n, sizeof(*rows));
	int64_t *expect = calloc(n, sizeof(*expect));
	int64_t *seqs = calloc(n, sizeof(*seqs));
	int64_t *vers = calloc(n, sizeof(*vers));
	char **texts = calloc(n, sizeof(*texts));
	int rc = SCHED_OK;
	if (!rows || !expect || !seqs || !vers || !texts) {
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		texts[i] = json_dumps(objs[i]->doc, JSON_COMPACT | JSON_SORT_KEYS);
		if (!texts[i]) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			goto out;
		}
		rows[i] = objs[i]->row; /* shallow: strings stay the object's */
		rows[i].doc = texts[i];
		expect[i] = objs[i]->row.version;
	}
	struct store_error se;
	if (store_sched_put_batch(s->store, rows, expect, n, seqs, vers, &se) != STORE_OK) {
		rc = sched_fail_store(err, &se, "writing the store");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		free(objs[i]->row.doc);
		objs[i]->row.doc = texts[i];
		texts[i] = NULL;
		objs[i]->row.seq = seqs[i];
		objs[i]->row.version = vers[i];
	}
out:
	for (size_t i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
	free(rows);
	free(expect);
	free(seqs);
	free(vers);
	return rc;
}

int sched_count(struct sched *s, const struct store_sched_filter *f, int64_t *out,
                struct sched_error *err)
{
	struct store_error se;
	if (store_sched_count(s->store, f, out, &se) != STORE_OK)
		return sched_fail_store(err, &se, "counting in the store");
	return SCHED_OK;
}
