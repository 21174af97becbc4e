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

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#define CANON_MAGIC      "taskgate-audit-record-v1\n"
#define CHECKPOINT_MAGIC "taskgate-audit-checkpoint-v1\n"

__attribute__((format(printf, 3, 4))) static int fail(struct gw_audit_error *err, int code,
                                                      const char *fmt, ...)
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
		return fail(err, GW_AUDIT_ERR_CRYPTO, "%s: could not generate an Ed25519 key", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		EVP_PKEY_free(key);
		if (e == EEXIST)
			return fail(err, GW_AUDIT_ERR_EXISTS,
			            "%s: already exists; refusing to overwrite an audit key", path);
		return fail(err, GW_AUDIT_ERR_IO, "%s: cannot create: %s", path, strerror(e));
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		(void)unlink(path);
		EVP_PKEY_free(key);
		return fail(err, GW_AUDIT_ERR_IO, "%s: cannot write: %s", path, strerror(e));
	}
	bool ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(f) == 0 && ok;
	ok = fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(key);
	if (!ok) {
		(void)unlink(path); /* ours: O_EXCL made it */
		return fail(err, GW_AUDIT_ERR_IO, "%s: could not write the key", path);
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
		return fail(err, GW_AUDIT_ERR_IO, "%s: cannot open the audit key: %s", path,
		            strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, GW_AUDIT_ERR_KEY, "%s: the audit key is not a regular file", path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return fail(err, GW_AUDIT_ERR_KEY,
		            "%s: the audit key may be read by others (mode %03o); chmod 600 it",
		            path, (unsigned)(st.st_mode & 0777));
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return fail(err, GW_AUDIT_ERR_NOMEM, "%s: out of memory", path);
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!is_ed25519(k)) {
		EVP_PKEY_free(k);
		return fail(err, GW_AUDIT_ERR_KEY, "%s: not an Ed25519 private key in PEM", path);
	}
	*out = k;
	return GW_AUDIT_OK;
}

int gw_audit_public_key_load(const char *path, EVP_PKEY **out, struct gw_audit_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return fail(err, GW_AUDIT_ERR_IO, "%s: cannot open the public key: %s", path,
		            strerror(errno));
	EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k) {
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!is_ed25519(k)) {
		EVP_PKEY_free(k);
		return fail(err, GW_AUDIT_ERR_KEY, "%s: not an Ed25519 public key in PEM", path);
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
	                 CHECKPOINT_MAGIC "id %" PRId64 "\nseq %" PRId64 "\nhead %s\ntime_us %" PRId64
	                                  "\nkey_id %s\n",
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

struct gw_audit {
	struct store *store; /* borrowed */
	EVP_PKEY *key;       /* owned; NULL: no checkpoints */
	char key_id[GW_AUDIT_KEY_ID_LEN + 1];
	int64_t every, interval_us;
	pthread_mutex_t lock; /* guards the fields below */
	int64_t head_seq;     /* last record appended */
	int64_t cp_seq;       /* last checkpointed record */
	int64_t cp_time_us;   /* when it was written (monotonic-free: wall clock) */
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int gw_audit_open(struct store *store, const struct gw_audit_options *opts, struct gw_audit **out,
                  struct gw_audit_error *err)
{
	*out = NULL;
	if (!store || !opts || opts->every < 0 || opts->interval_us < 0)
		return fail(err, GW_AUDIT_ERR_ARG, "audit: invalid writer options");
	struct gw_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return fail(err, GW_AUDIT_ERR_NOMEM, "audit: out of memory");
	a->store = store;
	a->every = opts->every;
	a->interval_us = opts->interval_us;
	if (opts->key && gw_audit_key_id(opts->key, a->key_id) != 0) {
		free(a);
		return fail(err, GW_AUDIT_ERR_KEY, "audit: the key is not an Ed25519 key");
	}
	struct store_error se = {0};
	int64_t count = 0;
	if (store_audit_count(store, &count, &a->head_seq, &se) != STORE_OK ||
	    store_audit_checkpoint_last(store, &a->cp_seq, &a->cp_time_us, &se) != STORE_OK) {
		free(a);
		return fail(err, GW_AUDIT_ERR_IO, "audit: %s", se.message);
	}
	if (a->cp_time_us == 0)
		a->cp_time_us = now_us();
	pthread_mutex_init(&a->lock, NULL);
	a->key = opts->key;
	*out = a;
	return GW_AUDIT_OK;
}

/* With a->lock held. */
static int checkpoint_locked(struct gw_audit *a, int64_t t, struct store_error *err)
{
	if (!a->key || a->head_seq <= a->cp_seq)
		return STORE_OK;
	struct store_audit_signer signer = {sign_fn, a->key};
	int code = store_audit_checkpoint_add(a->store, a->head_seq, t, a->key_id, &signer, NULL, err);
	if (code == STORE_OK) {
		a->cp_seq = a->head_seq;
		a->cp_time_us = t;
	}
	return code;
}

int gw_audit_append(struct gw_audit *a, const struct store_audit_event *ev, int64_t *seq_out,
                    struct store_error *err)
{
	int64_t seq = 0;
	int code = store_audit_append_chained(a->store, ev, 1, &gw_audit_hasher, &seq, NULL, err);
	if (code != STORE_OK)
		return code;
	if (seq_out)
		*seq_out = seq;
	pthread_mutex_lock(&a->lock);
	if (seq > a->head_seq)
		a->head_seq = seq;
	int64_t t = now_us();
	bool due = a->key && ((a->every > 0 && a->head_seq - a->cp_seq >= a->every) ||
	                      (a->interval_us > 0 && t - a->cp_time_us >= a->interval_us));
	if (due) {
		/* The record is durable already; a checkpoint that fails now is
		 * due again on the next append. */
		struct store_error ce = {0};
		(void)checkpoint_locked(a, t, &ce);
	}
	pthread_mutex_unlock(&a->lock);
	return STORE_OK;
}

int gw_audit_checkpoint_now(struct gw_audit *a, struct store_error *err)
{
	pthread_mutex_lock(&a->lock);
	int code = checkpoint_locked(a, now_us(), err);
	pthread_mutex_unlock(&a->lock);
	return code;
}

void gw_audit_close(struct gw_audit *a)
{
	if (!a)
		return;
	struct store_error se = {0};
	(void)gw_audit_checkpoint_now(a, &se);
	pthread_mutex_destroy(&a->lock);
	EVP_PKEY_free(a->key);
	free(a);
}

/* ---- verification ---- */

__attribute__((format(printf, 2, 3))) static int tampered(struct gw_audit_report *rep,
                                                          const char *fmt, ...)
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

struct walk {
	struct gw_audit_report *rep;
	int64_t from, to, chain_from;
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
		rep->unchained++;
		return GW_AUDIT_OK;
	}
	/* The record before the range is read only for its hash. */
	bool in_range = seq >= w->from;
	int64_t expect = w->have_prev ? w->prev_seq + 1 : (w->from > w->chain_from ? w->from : w->chain_from);
	if (in_range && seq > expect) {
		if (seq == expect + 1)
			return tampered(rep, "record %" PRId64 " missing: seq gap %" PRId64 " -> %" PRId64,
			                expect, expect - 1, seq);
		return tampered(rep,
		                "records %" PRId64 "..%" PRId64 " missing: seq gap %" PRId64
		                " -> %" PRId64,
		                expect, seq - 1, expect - 1, seq);
	}
	if (!r->chained) {
		if (!in_range)
			return GW_AUDIT_OK;
		return tampered(rep, "record %" PRId64 ": no hash (written outside the chain)", seq);
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
				return tampered(rep, "records %" PRId64 "/%" PRId64 " out of order", seq,
				                seq + 1);
			if (before)
				return tampered(rep, "records %" PRId64 "/%" PRId64 " out of order",
				                seq - 1, seq);
			return tampered(rep, "record %" PRId64 ": field changed (hash mismatch)", seq);
		}
		const unsigned char zero[STORE_AUDIT_HASH_LEN] = {0};
		const unsigned char *want = w->have_prev ? w->prev_hash : zero;
		if ((w->have_prev || seq == w->chain_from) &&
		    CRYPTO_memcmp(r->prev_hash, want, STORE_AUDIT_HASH_LEN) != 0)
			return tampered(rep,
			                "record %" PRId64 ": prev_hash does not match record %" PRId64
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
				continue; /* before the range, or a seq already gone (reported as a gap) */
			if (CRYPTO_memcmp(cp->head, r->hash, STORE_AUDIT_HASH_LEN) != 0)
				return tampered(rep,
				                "checkpoint %" PRId64 ": chain head does not match record %" PRId64
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
			return tampered(w->rep, "checkpoint %zu missing: id gap %zu -> %" PRId64, i + 1, i,
			                cp->id);
		if (w->to > 0 && cp->seq > w->to)
			continue;
		if (cp->seq < w->from)
			continue;
		if (key && !gw_audit_checkpoint_valid(cp, key))
			return tampered(w->rep, "checkpoint %" PRId64 ": bad signature (record %" PRId64
			                        ", key %s)",
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
		return fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
	if (store_audit_checkpoints(s, &w.cps, &w.ncps, &se) != STORE_OK)
		return fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
	int code = check_signatures(&w, key);
	if (code == GW_AUDIT_OK && w.ncps > 1)
		qsort(w.cps, w.ncps, sizeof(*w.cps), cmp_cp_seq);

	int64_t after = w.from > 1 ? w.from - 2 : 0; /* read record from-1 for its hash */
	while (code == GW_AUDIT_OK) {
		struct store_audit_list list = {0};
		if (store_audit_read(s, after, 1000, &list, &se) != STORE_OK) {
			code = fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
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
			code = fail(err, GW_AUDIT_ERR_NOMEM, "audit verify: out of memory");
		if (done)
			break;
	}
	/* Checkpoints beyond the last record: the tail was cut off. */
	if (code == GW_AUDIT_OK) {
		for (size_t i = w.next_cp; i < w.ncps; i++) {
			const struct store_audit_checkpoint *cp = &w.cps[i];
			if (cp->seq < w.from || (to > 0 && cp->seq > to))
				continue;
			if (w.have_prev && cp->seq <= w.prev_seq)
				continue;
			code = tampered(rep,
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
