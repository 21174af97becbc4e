/*
 * audit.c - canonical form, hash chain, audit key and checkpoints.
 *
 * A record's canonical form is a fixed list of lines, one per field, each
 * "name SP length ':' bytes LF", or "name SP '-' LF" for an absent field, after
 * a first line naming the format. Length-prefixing makes the encoding
 * unambiguous whatever bytes a field holds, and unlike "JSON with sorted keys"
 * it leaves no room for two implementations to escape a character
 * differently. The hash of a record is SHA-256 over that form; the form
 * includes the previous record's hash, so the rows form a chain in which any
 * edit, removal or reordering changes every hash after it.
 *
 * The chain alone proves nothing against someone who rewrites the whole tail.
 * Checkpoints close that gap: every N records or T seconds the head of the
 * chain is signed with the gateway's Ed25519 audit key, whose public half the
 * auditor holds. verify walks the rows in order and names the first record
 * that fails, distinguishing a changed field, a missing seq, two rows swapped,
 * and a checkpoint whose signature or head is wrong.
 */
#include "gateway/audit.h"
#include "gateway/audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#define CANON_MAGIC      "taskgate-audit-record-v1\n"
#define CHECKPOINT_MAGIC "taskgate-audit-checkpoint-v1\n"

int gw_audit_fail(struct gw_audit_error *err, int code, const char *fmt, ...)
{
	if (err) {
		err->code = code;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		if (n < 0)
			err->message[0] = '\0';
	}
	return code;
}

void gw_audit_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- canonical form ---- */

struct buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n > SIZE_MAX - b->n - 1) {
		b->oom = true;
		return;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void put_field(struct buf *b, const char *name, const char *v, size_t n)
{
	put(b, name, strlen(name));
	if (!v) {
		put(b, " -\n", 3);
		return;
	}
	char len[32];
	int m = snprintf(len, sizeof(len), " %zu:", n);
	if (m < 0 || (size_t)m >= sizeof(len)) {
		b->oom = true;
		return;
	}
	put(b, len, (size_t)m);
	put(b, v, n);
	put(b, "\n", 1);
}

static void put_str(struct buf *b, const char *name, const char *v)
{
	put_field(b, name, v, v ? strlen(v) : 0);
}

static void put_int(struct buf *b, const char *name, bool present, int64_t v)
{
	if (!present) {
		put_field(b, name, NULL, 0);
		return;
	}
	char num[32];
	int m = snprintf(num, sizeof(num), "%" PRId64, v);
	if (m < 0 || (size_t)m >= sizeof(num)) {
		b->oom = true;
		return;
	}
	put_field(b, name, num, (size_t)m);
}

char *gw_audit_canonical(int64_t seq, const struct store_audit_event *ev,
                         const unsigned char prev[STORE_AUDIT_HASH_LEN], size_t *len_out)
{
	struct buf b = {0};
	char prev_hex[GW_AUDIT_HEX_LEN + 1];
	gw_audit_hex(prev, STORE_AUDIT_HASH_LEN, prev_hex);
	put(&b, CANON_MAGIC, sizeof(CANON_MAGIC) - 1);
	put_int(&b, "seq", true, seq);
	put_int(&b, "time_us", true, ev->time_us);
	put_str(&b, "request_id", ev->request_id);
	put_str(&b, "source_ip", ev->source_ip);
	put_str(&b, "principal", ev->principal);
	put_str(&b, "action", ev->action);
	put_str(&b, "decision", ev->decision);
	put_int(&b, "status", ev->has_status, ev->status);
	put_str(&b, "error_code", ev->error_code);
	put_int(&b, "latency_us", ev->has_latency, ev->latency_us);
	put_str(&b, "record", ev->record);
	put_field(&b, "prev_hash", prev_hex, GW_AUDIT_HEX_LEN);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len_out)
		*len_out = b.n;
	return b.p;
}

int gw_audit_hash(int64_t seq, const struct store_audit_event *ev,
                  const unsigned char prev[STORE_AUDIT_HASH_LEN],
                  unsigned char out[STORE_AUDIT_HASH_LEN])
{
	size_t n = 0;
	char *c = gw_audit_canonical(seq, ev, prev, &n);
	if (!c)
		return -1;
	SHA256((const unsigned char *)c, n, out);
	free(c);
	return 0;
}

static int hasher_fn(void *ctx, int64_t seq, const struct store_audit_event *ev,
                     const unsigned char prev[STORE_AUDIT_HASH_LEN],
                     unsigned char hash_out[STORE_AUDIT_HASH_LEN])
{
	(void)ctx;
	return gw_audit_hash(seq, ev, prev, hash_out);
}

const struct store_audit_hasher gw_audit_hasher = {hasher_fn, NULL};

/* ---- the audit key ---- */

int gw_audit_key_create(const char *path, struct gw_audit_error *err)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key)
		return gw_audit_fail(err, GW_AUDIT_ERR_CRYPTO,
		                     "%s: could not generate an Ed25519 key", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		EVP_PKEY_free(key);
		if (e == EEXIST)
			return gw_audit_fail(
			    err, GW_AUDIT_ERR_EXISTS,
			    "%s: already exists; refusing to overwrite an audit key", path);
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot create: %s", path,
		                     strerror(e));
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		(void)unlink(path);
		EVP_PKEY_free(key);
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot write: %s", path,
		                     strerror(e));
	}
	bool ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(f) == 0 && ok;
	ok = fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(key);
	if (!ok) {
		(void)unlink(path); /* ours: O_EXCL made it */
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: could not write the key", path);
	}
	return GW_AUDIT_OK;
}

static bool is_ed25519(EVP_PKEY *k)
{
	return k && EVP_PKEY_get_id(k) == EVP_PKEY_ED25519;
}

int gw_audit_key_load(const char *path, EVP_PKEY **out, struct gw_audit_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot open the audit key: %s",
		                     path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gw_audit_fail(err, GW_AUDIT_ERR_KEY,
		                     "%s: the audit key is not a regular file", path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return gw_audit_fail(
		    err, GW_AUDIT_ERR_KEY,
		    "%s: the audit key may be read by others (mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "%s: out of memory", path);
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!is_ed25519(k)) {
		EVP_PKEY_free(k);
		return gw_audit_fail(err, GW_AUDIT_ERR_KEY, "%s: not an Ed25519 private key in PEM",
		                     path);
	}
	*out = k;
	return GW_AUDIT_OK;
}

int gw_audit_public_key_load(const char *path, EVP_PKEY **out, struct gw_audit_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot open the public key: %s",
		                     path, strerror(errno));
	EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k) {
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!is_ed25519(k)) {
		EVP_PKEY_free(k);
		return gw_audit_fail(err, GW_AUDIT_ERR_KEY, "%s: not an Ed25519 public key in PEM",
		                     path);
	}
	*out = k;
	return GW_AUDIT_OK;
}

char *gw_audit_public_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return NULL;
	char *out = NULL;
	if (PEM_write_bio_PUBKEY(b, key) == 1) {
		char *p = NULL;
		long n = BIO_get_mem_data(b, &p);
		if (n > 0 && p) {
			out = malloc((size_t)n + 1);
			if (out) {
				memcpy(out, p, (size_t)n);
				out[n] = '\0';
			}
		}
	}
	BIO_free(b);
	return out;
}

int gw_audit_key_id(EVP_PKEY *key, char out[GW_AUDIT_KEY_ID_LEN + 1])
{
	unsigned char raw[32];
	size_t n = sizeof(raw);
	if (EVP_PKEY_get_raw_public_key(key, raw, &n) != 1 || n != sizeof(raw))
		return -1;
	unsigned char h[SHA256_DIGEST_LENGTH];
	SHA256(raw, n, h);
	gw_audit_hex(h, GW_AUDIT_KEY_ID_LEN / 2, out);
	return 0;
}

int gw_audit_checkpoint_message(const struct store_audit_checkpoint *cp, char *buf, size_t cap,
                                size_t *len_out)
{
	char head[GW_AUDIT_HEX_LEN + 1];
	gw_audit_hex(cp->head, STORE_AUDIT_HASH_LEN, head);
	int n = snprintf(buf, cap,
	                 CHECKPOINT_MAGIC "id %" PRId64 "\nseq %" PRId64
	                                  "\nhead %s\ntime_us %" PRId64 "\nkey_id %s\n",
	                 cp->id, cp->seq, head, cp->time_us, cp->key_id);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*len_out = (size_t)n;
	return 0;
}

bool gw_audit_checkpoint_valid(const struct store_audit_checkpoint *cp, EVP_PKEY *key)
{
	char kid[GW_AUDIT_KEY_ID_LEN + 1];
	if (gw_audit_key_id(key, kid) != 0 || strcmp(kid, cp->key_id) != 0)
		return false;
	char msg[512];
	size_t n = 0;
	if (gw_audit_checkpoint_message(cp, msg, sizeof(msg), &n) != 0)
		return false;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	          EVP_DigestVerify(ctx, cp->sig, cp->sig_len, (const unsigned char *)msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int sign_fn(void *ctx, struct store_audit_checkpoint *cp)
{
	EVP_PKEY *key = ctx;
	char msg[512];
	size_t n = 0;
	if (gw_audit_checkpoint_message(cp, msg, sizeof(msg), &n) != 0)
		return -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = sizeof(cp->sig);
	bool ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
	          EVP_DigestSign(md, cp->sig, &siglen, (const unsigned char *)msg, n) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	cp->sig_len = siglen;
	return 0;
}

/* ---- the writer ---- */

/* One caller waiting for its record: on the caller's stack, linked into the
 * queue under a->lock, completed by the committer. */
struct pending {
	const struct store_audit_event *ev;
	struct pending *next;
	int64_t seq;
	int code;
	struct store_error err;
	bool done;
};

struct gw_audit {
	struct store *store; /* borrowed */
	EVP_PKEY *key;       /* owned; NULL: no checkpoints */
	char key_id[GW_AUDIT_KEY_ID_LEN + 1];
	int64_t every, interval_us;
	unsigned batch_max;
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t work;  /* the committer waits here for records or stop */
	pthread_cond_t done;  /* callers wait here for their batch */
	struct pending *head, *tail;
	bool stop;
	int64_t head_seq;   /* last record appended */
	int64_t cp_seq;     /* last checkpointed record */
	int64_t cp_time_us; /* when it was written or last tried (wall clock) */
	struct gw_audit_stats stats;
	/* The committer's batch buffers, batch_max long. */
	struct store_audit_event *evs;
	int64_t *seqs;
	struct pending **batch;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* With a->lock held; the store call runs with it held too, which is fine:
 * only the committer thread and gw_audit_checkpoint_now get here. */
static int checkpoint_locked(struct gw_audit *a, int64_t t, struct store_error *err)
{
	if (!a->key || a->head_seq <= a->cp_seq)
		return STORE_OK;
	struct store_audit_signer signer = {sign_fn, a->key};
	int code =
	    store_audit_checkpoint_add(a->store, a->head_seq, t, a->key_id, &signer, NULL, err);
	if (code == STORE_OK) {
		a->cp_seq = a->head_seq;
		a->cp_time_us = t;
		a->stats.checkpoints++;
	}
	return code;
}

static bool checkpoint_due(const struct gw_audit *a, int64_t t)
{
	if (!a->key || a->head_seq <= a->cp_seq)
		return false;
	return (a->every > 0 && a->head_seq - a->cp_seq >= a->every) ||
	       (a->interval_us > 0 && t - a->cp_time_us >= a->interval_us);
}

/* Commits n queued records (a->lock not held); fills each pending. */
static void commit_batch(struct gw_audit *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a->evs[i] = *a->batch[i]->ev;
	struct store_error err = {0};
	int code =
	    store_audit_append_chained(a->store, a->evs, n, &gw_audit_hasher, a->seqs, NULL, &err);
	if (code == STORE_OK) {
		for (size_t i = 0; i < n; i++) {
			a->batch[i]->code = STORE_OK;
			a->batch[i]->seq = a->seqs[i];
		}
		return;
	}
	if (n > 1 && code == STORE_ERR_INVALID) {
		/* One bad event refuses the whole transaction; the others
		 * deserve their own chance. */
		for (size_t i = 0; i < n; i++) {
			struct pending *p = a->batch[i];
			p->code = store_audit_append_chained(a->store, p->ev, 1, &gw_audit_hasher,
			                                     &p->seq, NULL, &p->err);
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		a->batch[i]->code = code;
		a->batch[i]->err = err;
	}
}

static void *committer(void *arg)
{
	struct gw_audit *a = arg;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->head && !a->stop) {
			if (a->key && a->interval_us > 0 && a->head_seq > a->cp_seq) {
				/* Idle with records not yet checkpointed: wake when
				 * the interval is up. */
				int64_t due = a->cp_time_us + a->interval_us;
				struct timespec ts = {(time_t)(due / 1000000),
				                      (long)(due % 1000000) * 1000};
				int rc = pthread_cond_timedwait(&a->work, &a->lock, &ts);
				if (rc == ETIMEDOUT) {
					struct store_error ce = {0};
					int64_t t = now_us();
					/* A failed one is tried again an interval later,
					 * not in a busy loop. */
					if (checkpoint_locked(a, t, &ce) != STORE_OK)
						a->cp_time_us = t;
				}
			} else {
				pthread_cond_wait(&a->work, &a->lock);
			}
		}
		if (!a->head && a->stop)
			break;
		size_t n = 0;
		while (a->head && n < a->batch_max) {
			a->batch[n++] = a->head;
			a->head = a->head->next;
		}
		if (!a->head)
			a->tail = NULL;
		pthread_mutex_unlock(&a->lock);
		commit_batch(a, n);
		pthread_mutex_lock(&a->lock);
		a->stats.transactions++;
		for (size_t i = 0; i < n; i++) {
			struct pending *p = a->batch[i];
			if (p->code == STORE_OK) {
				a->stats.records++;
				if (p->seq > a->head_seq)
					a->head_seq = p->seq;
			} else {
				a->stats.failures++;
			}
			p->done = true;
		}
		pthread_cond_broadcast(&a->done);
		int64_t t = now_us();
		if (checkpoint_due(a, t)) {
			/* The records are durable already; a checkpoint that fails
			 * now is due again after the next batch. */
			struct store_error ce = {0};
			(void)checkpoint_locked(a, t, &ce);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int gw_audit_open(struct store *store, const struct gw_audit_options *opts, struct gw_audit **out,
                  struct gw_audit_error *err)
{
	*out = NULL;
	if (!store || !opts || opts->every < 0 || opts->interval_us < 0 || opts->batch_max > 1000)
		return gw_audit_fail(err, GW_AUDIT_ERR_ARG, "audit: invalid writer options");
	struct gw_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "audit: out of memory");
	a->store = store;
	a->every = opts->every;
	a->interval_us = opts->interval_us;
	a->batch_max = opts->batch_max ? opts->batch_max : 256;
	if (opts->key && gw_audit_key_id(opts->key, a->key_id) != 0) {
		free(a);
		return gw_audit_fail(err, GW_AUDIT_ERR_KEY, "audit: the key is not an Ed25519 key");
	}
	struct store_error se = {0};
	int64_t count = 0;
	if (store_audit_count(store, &count, &a->head_seq, &se) != STORE_OK ||
	    store_audit_checkpoint_last(store, &a->cp_seq, &a->cp_time_us, &se) != STORE_OK) {
		free(a);
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "audit: %s", se.message);
	}
	if (a->cp_time_us == 0)
		a->cp_time_us = now_us();
	a->evs = calloc(a->batch_max, sizeof(*a->evs));
	a->seqs = calloc(a->batch_max, sizeof(*a->seqs));
	a->batch = calloc(a->batch_max, sizeof(*a->batch));
	if (!a->evs || !a->seqs || !a->batch) {
		free(a->evs);
		free(a->seqs);
		free(a->batch);
		free(a);
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "audit: out of memory");
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, &ca); /* CLOCK_REALTIME: deadlines are wall-clock times */
	pthread_cond_init(&a->done, NULL);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&a->thread, NULL, committer, a) != 0) {
		pthread_cond_destroy(&a->work);
		pthread_cond_destroy(&a->done);
		pthread_mutex_destroy(&a->lock);
		free(a->evs);
		free(a->seqs);
		free(a->batch);
		free(a);
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM,
		                     "audit: cannot start the committer thread");
	}
	a->key = opts->key;
	*out = a;
	return GW_AUDIT_OK;
}

int gw_audit_append(struct gw_audit *a, const struct store_audit_event *ev, int64_t *seq_out,
                    struct store_error *err)
{
	if (seq_out)
		*seq_out = 0;
	struct pending p = {.ev = ev};
	pthread_mutex_lock(&a->lock);
	if (a->stop) {
		pthread_mutex_unlock(&a->lock);
		if (err) {
			err->code = STORE_ERR_INVALID;
			snprintf(err->message, sizeof(err->message), "audit: the writer is closed");
		}
		return STORE_ERR_INVALID;
	}
	if (a->tail)
		a->tail->next = &p;
	else
		a->head = &p;
	a->tail = &p;
	pthread_cond_signal(&a->work);
	while (!p.done)
		pthread_cond_wait(&a->done, &a->lock);
	pthread_mutex_unlock(&a->lock);
	if (p.code == STORE_OK) {
		if (seq_out)
			*seq_out = p.seq;
	} else if (err) {
		*err = p.err;
	}
	return p.code;
}

int gw_audit_checkpoint_now(struct gw_audit *a, struct store_error *err)
{
	pthread_mutex_lock(&a->lock);
	int code = checkpoint_locked(a, now_us(), err);
	pthread_mutex_unlock(&a->lock);
	return code;
}

void gw_audit_get_stats(struct gw_audit *a, struct gw_audit_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	pthread_mutex_unlock(&a->lock);
}

void gw_audit_close(struct gw_audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	struct store_error se = {0};
	(void)gw_audit_checkpoint_now(a, &se);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->lock);
	EVP_PKEY_free(a->key);
	free(a->evs);
	free(a->seqs);
	free(a->batch);
	free(a);
}

/* ---- verification ---- */

int gw_audit_tampered(struct gw_audit_report *rep, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rep->problem, sizeof(rep->problem), fmt, ap);
	va_end(ap);
	if (n < 0)
		rep->problem[0] = '\0';
	return GW_AUDIT_TAMPERED;
}

static int cmp_cp_seq(const void *x, const void *y)
{
	const struct store_audit_checkpoint *a = x, *b = y;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Does the row's stored hash match its content placed at seq? */
static int hash_at(const struct store_audit_row *r, int64_t seq, bool *match)
{
	unsigned char h[STORE_AUDIT_HASH_LEN];
	if (gw_audit_hash(seq, &r->ev, r->prev_hash, h) != 0)
		return -1;
	*match = CRYPTO_memcmp(h, r->hash, sizeof(h)) == 0;
	return 0;
}

/* A record's columns are copies of fields of its JSON record. After a hash
 * mismatch, the first column that disagrees with the record names the field
 * that was edited (an edit of the column alone, or of the record alone). */
static bool same_str(const char *col, json_t *v)
{
	if (!col)
		return !v || json_is_null(v);
	return json_is_string(v) && strcmp(col, json_string_value(v)) == 0;
}

static void describe_change(const struct store_audit_row *r, char *out, size_t cap)
{
	const struct store_audit_event *ev = &r->ev;
	json_t *j = json_loads(ev->record ? ev->record : "", 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(out, cap, "the record text is no longer a JSON object");
		return;
	}
	const char *field = NULL;
	char col[96] = "", rec[96] = "";
	json_t *v;
	json_t *acts = json_object_get(j, "iamActions");
	/* The action column is iamActions[0], or an event's name; an outcome
	 * record repeats no actions, so its column is compared with nothing. */
	json_t *type = json_object_get(j, "recordType");
	bool is_event = json_is_string(type) && strcmp(json_string_value(type), "event") == 0;
	json_t *act = json_array_size(acts) > 0 ? json_array_get(acts, 0)
	              : is_event                ? json_object_get(j, "eventName")
	                                        : NULL;
	bool check_action = json_array_size(acts) > 0 || is_event || ev->action == NULL;
	json_t *ts = json_object_get(j, "eventTime");
	char when[40] = "";
	if (ev->time_us >= 0) {
		time_t sec = (time_t)(ev->time_us / 1000000);
		struct tm tm;
		if (gmtime_r(&sec, &tm)) {
			size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(when + n, sizeof(when) - n, ".%06lldZ",
			         (long long)(ev->time_us % 1000000));
		}
	}
#define STRCOL(name, c, jv)                                                                        \
	if (!field && !same_str((c), (v = (jv)))) {                                                \
		field = name;                                                                      \
		snprintf(col, sizeof(col), "%s", (c) ? (c) : "(none)");                            \
		snprintf(rec, sizeof(rec), "%s",                                                   \
		         json_is_string(v) ? json_string_value(v) : "(none)");                     \
	}
	const char *when_p = when;
	STRCOL("time_us/eventTime", when_p, ts)
	STRCOL("request_id/requestID", ev->request_id, json_object_get(j, "requestID"))
	STRCOL("source_ip/sourceIPAddress", ev->source_ip, json_object_get(j, "sourceIPAddress"))
	STRCOL("principal/userIdentity.arn", ev->principal,
	       json_object_get(json_object_get(j, "userIdentity"), "arn"))
	if (check_action) {
		STRCOL("action/iamActions", ev->action, act)
	}
	STRCOL("decision", ev->decision, json_object_get(j, "decision"))
	STRCOL("error_code/errorCode", ev->error_code, json_object_get(j, "errorCode"))
#undef STRCOL
	v = json_object_get(j, "httpStatus");
	if (!field &&
	    (ev->has_status != (v != NULL) || (v && json_integer_value(v) != ev->status))) {
		field = "status/httpStatus";
		snprintf(col, sizeof(col), ev->has_status ? "%d" : "(none)", ev->status);
		snprintf(rec, sizeof(rec), v ? "%lld" : "(none)", (long long)json_integer_value(v));
	}
	v = json_object_get(j, "latencyUs");
	if (!field &&
	    (ev->has_latency != (v != NULL) || (v && json_integer_value(v) != ev->latency_us))) {
		field = "latency_us/latencyUs";
		snprintf(col, sizeof(col), ev->has_latency ? "%lld" : "(none)",
		         (long long)ev->latency_us);
		snprintf(rec, sizeof(rec), v ? "%lld" : "(none)", (long long)json_integer_value(v));
	}
	json_decref(j);
	if (field)
		snprintf(out, cap, "field %s changed: the column says \"%s\", the record \"%s\"",
		         field, col, rec);
	else
		snprintf(out, cap,
		         "the columns agree with the record, so both (or a field only "
		         "the record holds) were edited");
}

struct walk {
	struct gw_audit_report *rep;
	int64_t from, to, chain_from;
	bool has_anchor; /* pruned: the first record chains to a checkpoint's head */
	unsigned char anchor_head[STORE_AUDIT_HASH_LEN];
	bool have_prev;
	int64_t prev_seq;
	unsigned char prev_hash[STORE_AUDIT_HASH_LEN]; /* stored hash of prev */
	struct store_audit_checkpoint *cps;
	size_t ncps, next_cp;
};

/* Checks one row; GW_AUDIT_OK to go on. */
static int check_row(struct walk *w, const struct store_audit_row *r)
{
	struct gw_audit_report *rep = w->rep;
	int64_t seq = r->seq;
	if (seq < w->chain_from) {
		if (w->has_anchor)
			return gw_audit_tampered(rep,
			                         "record %" PRId64
			                         ": below the prune anchor (records up to %" PRId64
			                         " were pruned; this one was added afterwards)",
			                         seq, w->chain_from - 1);
		rep->unchained++;
		return GW_AUDIT_OK;
	}
	/* The record before the range is read only for its hash. */
	bool in_range = seq >= w->from;
	int64_t expect =
	    w->have_prev ? w->prev_seq + 1 : (w->from > w->chain_from ? w->from : w->chain_from);
	if (in_range && seq > expect) {
		if (seq == expect + 1)
			return gw_audit_tampered(
			    rep, "record %" PRId64 " missing: seq gap %" PRId64 " -> %" PRId64,
			    expect, expect - 1, seq);
		return gw_audit_tampered(rep,
		                         "records %" PRId64 "..%" PRId64
		                         " missing: seq gap %" PRId64 " -> %" PRId64,
		                         expect, seq - 1, expect - 1, seq);
	}
	if (!r->chained) {
		if (!in_range)
			return GW_AUDIT_OK;
		return gw_audit_tampered(
		    rep, "record %" PRId64 ": no hash (written outside the chain)", seq);
	}
	if (in_range) {
		bool ok = false;
		if (hash_at(r, seq, &ok) != 0)
			return GW_AUDIT_ERR_NOMEM;
		if (!ok) {
			bool after = false, before = false;
			if (hash_at(r, seq + 1, &after) != 0 || hash_at(r, seq - 1, &before) != 0)
				return GW_AUDIT_ERR_NOMEM;
			if (after)
				return gw_audit_tampered(
				    rep, "records %" PRId64 "/%" PRId64 " out of order", seq,
				    seq + 1);
			if (before)
				return gw_audit_tampered(
				    rep, "records %" PRId64 "/%" PRId64 " out of order", seq - 1,
				    seq);
			char what[384];
			describe_change(r, what, sizeof(what));
			return gw_audit_tampered(
			    rep, "record %" PRId64 ": content changed (hash mismatch); %s", seq,
			    what);
		}
		const unsigned char zero[STORE_AUDIT_HASH_LEN] = {0};
		const unsigned char *want = w->have_prev ? w->prev_hash
		                            : w->has_anchor && seq == w->chain_from ? w->anchor_head
		                                                                     : zero;
		if ((w->have_prev || seq == w->chain_from) &&
		    CRYPTO_memcmp(r->prev_hash, want, STORE_AUDIT_HASH_LEN) != 0)
			return gw_audit_tampered(rep,
			                         "record %" PRId64
			                         ": prev_hash does not match record %" PRId64
			                         " (record %" PRId64 " or its hash was changed)",
			                         seq, seq - 1, seq - 1);
		rep->records++;
		if (rep->first_seq == 0)
			rep->first_seq = seq;
		rep->last_seq = seq;
		/* Checkpoints of this record: their head must be its hash. */
		while (w->next_cp < w->ncps && w->cps[w->next_cp].seq <= seq) {
			const struct store_audit_checkpoint *cp = &w->cps[w->next_cp++];
			if (cp->seq < seq || cp->seq < w->from)
				continue; /* before the range, or a seq already gone (reported as a
				             gap) */
			if (CRYPTO_memcmp(cp->head, r->hash, STORE_AUDIT_HASH_LEN) != 0)
				return gw_audit_tampered(
				    rep,
				    "checkpoint %" PRId64
				    ": chain head does not match record %" PRId64
				    " (records up to %" PRId64 " were rewritten)",
				    cp->id, seq, seq);
			rep->checkpoints++;
		}
	}
	w->have_prev = true;
	w->prev_seq = seq;
	memcpy(w->prev_hash, r->hash, STORE_AUDIT_HASH_LEN);
	return GW_AUDIT_OK;
}

static int check_signatures(struct walk *w, EVP_PKEY *key)
{
	/* Ids run 1, 2, 3...: a removed checkpoint leaves a gap. cps is still in
	 * id order here. */
	for (size_t i = 0; i < w->ncps; i++) {
		const struct store_audit_checkpoint *cp = &w->cps[i];
		if (cp->id != (int64_t)i + 1)
			return gw_audit_tampered(w->rep,
			                         "checkpoint %zu missing: id gap %zu -> %" PRId64,
			                         i + 1, i, cp->id);
		if (w->to > 0 && cp->seq > w->to)
			continue;
		if (cp->seq < w->from)
			continue;
		if (key && !gw_audit_checkpoint_valid(cp, key))
			return gw_audit_tampered(w->rep,
			                         "checkpoint %" PRId64
			                         ": bad signature (record %" PRId64 ", key %s)",
			                         cp->id, cp->seq, cp->key_id[0] ? cp->key_id : "-");
	}
	return GW_AUDIT_OK;
}

int gw_audit_verify(struct store *s, EVP_PKEY *key, int64_t from, int64_t to,
                    struct gw_audit_report *rep, struct gw_audit_error *err)
{
	memset(rep, 0, sizeof(*rep));
	rep->signatures_checked = key != NULL;
	struct walk w = {.rep = rep, .from = from > 0 ? from : 1, .to = to};
	struct store_error se = {0};
	if (store_audit_chain_from(s, &w.chain_from, &se) != STORE_OK)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
	if (store_audit_checkpoints(s, &w.cps, &w.ncps, &se) != STORE_OK)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
	int code = check_signatures(&w, key);
	int64_t anchor_seq = 0, anchor_cp = 0;
	if (code == GW_AUDIT_OK && store_audit_anchor(s, &anchor_seq, &anchor_cp, &se) != STORE_OK) {
		free(w.cps);
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
	}
	if (code == GW_AUDIT_OK && anchor_seq > 0) {
		/* Pruned: records up to the anchor are gone, and the next one must
		 * chain to the head the anchor checkpoint signed. */
		const struct store_audit_checkpoint *a = NULL;
		for (size_t i = 0; i < w.ncps; i++)
			if (w.cps[i].id == anchor_cp)
				a = &w.cps[i];
		if (!a)
			code = gw_audit_tampered(rep,
			                         "anchor checkpoint %" PRId64
			                         " missing (records up to %" PRId64
			                         " were pruned down to it)",
			                         anchor_cp, anchor_seq);
		else if (a->seq != anchor_seq)
			code =
			    gw_audit_tampered(rep,
			                      "anchor checkpoint %" PRId64 " is for record %" PRId64
			                      ", but the log says it anchors record %" PRId64,
			                      anchor_cp, a->seq, anchor_seq);
		else {
			w.has_anchor = true;
			memcpy(w.anchor_head, a->head, STORE_AUDIT_HASH_LEN);
			if (w.chain_from < anchor_seq + 1)
				w.chain_from = anchor_seq + 1;
			if (w.from < anchor_seq + 1)
				w.from = anchor_seq + 1;
			rep->anchor_seq = anchor_seq;
			rep->anchor_checkpoint = anchor_cp;
		}
	}
	if (code == GW_AUDIT_OK && w.ncps > 1)
		qsort(w.cps, w.ncps, sizeof(*w.cps), cmp_cp_seq);

	int64_t after = w.from > 1 ? w.from - 2 : 0; /* read record from-1 for its hash */
	while (code == GW_AUDIT_OK) {
		struct store_audit_list list = {0};
		if (store_audit_read(s, after, 1000, &list, &se) != STORE_OK) {
			code = gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
			break;
		}
		bool done = list.n == 0;
		for (size_t i = 0; i < list.n && code == GW_AUDIT_OK; i++) {
			if (to > 0 && list.rows[i].seq > to) {
				done = true;
				break;
			}
			code = check_row(&w, &list.rows[i]);
			after = list.rows[i].seq;
		}
		store_audit_list_free(&list);
		if (code == GW_AUDIT_ERR_NOMEM)
			code =
			    gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "audit verify: out of memory");
		if (done)
			break;
	}
	/* Checkpoints beyond the last record: the tail was cut off. */
	if (code == GW_AUDIT_OK) {
		int64_t last_cp = 0;
		for (size_t i = 0; i < w.ncps; i++)
			if (w.cps[i].seq > last_cp && (to <= 0 || w.cps[i].seq <= to))
				last_cp = w.cps[i].seq;
		if (rep->last_seq > last_cp)
			rep->unchecked_tail =
			    rep->last_seq -
			    (last_cp >= rep->first_seq ? last_cp : rep->first_seq - 1);
		for (size_t i = w.next_cp; i < w.ncps; i++) {
			const struct store_audit_checkpoint *cp = &w.cps[i];
			if (cp->seq < w.from || (to > 0 && cp->seq > to))
				continue;
			if (w.have_prev && cp->seq <= w.prev_seq)
				continue;
			code = gw_audit_tampered(rep,
			                         "checkpoint %" PRId64 ": record %" PRId64
			                         " missing (the log ends at record %" PRId64
			                         "; records after it were removed)",
			                         cp->id, cp->seq, w.have_prev ? w.prev_seq : 0);
			break;
		}
	}
	free(w.cps);
	return code;
}
