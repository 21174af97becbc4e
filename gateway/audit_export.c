/*
 * audit_export.c - JSON-lines exports of the decision log and their signed
 * digests, and the check of an export on its own.
 *
 * The model is CloudTrail's log file integrity validation: the log files go
 * wherever the auditor keeps them, and a digest signed by a key the auditor
 * trusts says what they must contain. Here each line also carries what its
 * hash covers (taskgateIntegrity), so the check recomputes every record's
 * hash and link instead of trusting the file hash alone, and names the first
 * line that does not fit.
 *
 * A record's text in the chain is its JSON with sorted keys and no white
 * space. A line is that object plus taskgateIntegrity; removing the member
 * and writing the object back the same way gives the record text again,
 * byte for byte, because both were written by the same JSON writer from the
 * same values (docs/audit.md gives the rules).
 */
#include "gateway/audit.h"
#include "gateway/audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define DIGEST_MAGIC "taskgate-audit-export-v1\n"

static json_t *opt_str(const char *v)
{
	return v ? json_string(v) : json_null();
}

json_t *gw_audit_export_line(const struct store_audit_row *row)
{
	const struct store_audit_event *ev = &row->ev;
	json_t *o = json_loads(ev->record ? ev->record : "", 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	char prev[GW_AUDIT_HEX_LEN + 1], hash[GW_AUDIT_HEX_LEN + 1];
	gw_audit_hex(row->prev_hash, STORE_AUDIT_HASH_LEN, prev);
	gw_audit_hex(row->hash, STORE_AUDIT_HASH_LEN, hash);
	json_t *i = json_object();
	int bad = !i;
	if (i) {
		bad |= json_object_set_new(i, "seq", json_integer(row->seq));
		bad |= json_object_set_new(i, "timeUs", json_integer(ev->time_us));
		bad |= json_object_set_new(i, "requestId", opt_str(ev->request_id));
		bad |= json_object_set_new(i, "sourceIp", opt_str(ev->source_ip));
		bad |= json_object_set_new(i, "principal", opt_str(ev->principal));
		bad |= json_object_set_new(i, "action", opt_str(ev->action));
		bad |= json_object_set_new(i, "decision", opt_str(ev->decision));
		bad |= json_object_set_new(i, "status",
		                           ev->has_status ? json_integer(ev->status) : json_null());
		bad |= json_object_set_new(i, "errorCode", opt_str(ev->error_code));
		bad |= json_object_set_new(i, "latencyUs", ev->has_latency
		                                                ? json_integer(ev->latency_us)
		                                                : json_null());
		bad |= json_object_set_new(i, "prevHash", json_string(row->chained ? prev : ""));
		bad |= json_object_set_new(i, "hash", json_string(row->chained ? hash : ""));
	}
	bad |= json_object_set_new(o, "taskgateIntegrity", i);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the digest ---- */

struct digest {
	char file_sha256[GW_AUDIT_HEX_LEN + 1];
	int64_t records, first_seq, last_seq;
	char prev_hash[GW_AUDIT_HEX_LEN + 1];
	char head_hash[GW_AUDIT_HEX_LEN + 1];
	int64_t since_us, until_us, created_us;
	char key_id[GW_AUDIT_KEY_ID_LEN + 1];
};

static int digest_message(const struct digest *d, char *buf, size_t cap, size_t *len)
{
	int n = snprintf(buf, cap,
	                 DIGEST_MAGIC "file_sha256 %s\nrecords %" PRId64 "\nfirst_seq %" PRId64
	                              "\nlast_seq %" PRId64 "\nprev_hash %s\nhead_hash %s\nsince_us %" PRId64
	                              "\nuntil_us %" PRId64 "\ncreated_us %" PRId64 "\nkey_id %s\n",
	                 d->file_sha256, d->records, d->first_seq, d->last_seq, d->prev_hash,
	                 d->head_hash, d->since_us, d->until_us, d->created_us, d->key_id);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*len = (size_t)n;
	return 0;
}

static char *b64(const unsigned char *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static int unb64(const char *s, unsigned char *out, size_t cap, size_t *n_out)
{
	size_t n = strlen(s);
	if (n == 0 || n % 4 != 0 || (n / 4) * 3 > cap + 2)
		return -1;
	unsigned char tmp[256];
	if ((n / 4) * 3 > sizeof(tmp))
		return -1;
	int m = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (m < 0)
		return -1;
	size_t pad = (n >= 1 && s[n - 1] == '=') + (n >= 2 && s[n - 2] == '=');
	size_t len = (size_t)m - pad;
	if (len > cap)
		return -1;
	memcpy(out, tmp, len);
	*n_out = len;
	return 0;
}

/* SHA-256 of a whole file, in hex. */
static int file_sha256(const char *path, char out[GW_AUDIT_HEX_LEN + 1])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	unsigned char buf[65536];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, n) == 1;
	ok = ok && !ferror(f);
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned len = 0;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1;
	EVP_MD_CTX_free(ctx);
	fclose(f);
	if (!ok)
		return -1;
	gw_audit_hex(md, SHA256_DIGEST_LENGTH, out);
	return 0;
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes text to path via path.tmp, fsync and rename. */
static int write_file_atomic(const char *path, const char *text, size_t n)
{
	char tmp[4096];
	int m = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (m < 0 || (size_t)m >= sizeof(tmp))
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The contiguous seq range of records in [since, until). */
static int find_range(struct store *s, int64_t since_us, int64_t until_us, int64_t *first,
                      int64_t *last, struct gw_audit_error *err)
{
	*first = *last = 0;
	struct store_audit_filter f = {.since_us = since_us, .until_us = until_us};
	int64_t after = 0;
	for (;;) {
		struct store_audit_list l = {0};
		struct store_error se = {0};
		if (store_audit_query(s, &f, after, 1000, &l, &se) != STORE_OK)
			return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
		if (l.n == 0) {
			store_audit_list_free(&l);
			break;
		}
		if (*first == 0)
			*first = l.rows[0].seq;
		*last = l.rows[l.n - 1].seq;
		after = *last;
		store_audit_list_free(&l);
	}
	return GW_AUDIT_OK;
}

int gw_audit_export(struct store *s, EVP_PKEY *key, int64_t since_us, int64_t until_us,
                    const char *out_path, const char *digest_path,
                    struct gw_audit_export_result *res, struct gw_audit_error *err)
{
	memset(res, 0, sizeof(*res));
	if (!key)
		return gw_audit_fail(err, GW_AUDIT_ERR_ARG,
		                     "export: the audit key is needed to sign the digest");
	struct digest d = {.since_us = since_us, .until_us = until_us};
	if (gw_audit_key_id(key, d.key_id) != 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_KEY,
		                     "export: the key is not an Ed25519 key");
	int64_t first = 0, last = 0;
	int code = find_range(s, since_us, until_us, &first, &last, err);
	if (code != GW_AUDIT_OK)
		return code;
	char tmp[4096];
	int m = snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
	if (m < 0 || (size_t)m >= sizeof(tmp))
		return gw_audit_fail(err, GW_AUDIT_ERR_ARG, "export: file name too long");
	FILE *f = fopen(tmp, "w");
	if (!f)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot create: %s", tmp,
		                     strerror(errno));
	memset(d.prev_hash, '0', GW_AUDIT_HEX_LEN);
	memset(d.head_hash, '0', GW_AUDIT_HEX_LEN);
	int64_t after = first > 0 ? first - 1 : 0;
	while (first > 0 && code == GW_AUDIT_OK) {
		struct store_audit_list l = {0};
		struct store_error se = {0};
		if (store_audit_read(s, after, 1000, &l, &se) != STORE_OK) {
			code = gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s", se.message);
			break;
		}
		bool done = l.n == 0;
		for (size_t i = 0; i < l.n && code == GW_AUDIT_OK; i++) {
			const struct store_audit_row *r = &l.rows[i];
			if (r->seq > last) {
				done = true;
				break;
			}
			if (!r->chained) {
				code = gw_audit_fail(
				    err, GW_AUDIT_ERR_ARG,
				    "export: record %" PRId64 " predates the hash chain", r->seq);
				break;
			}
			json_t *line = gw_audit_export_line(r);
			char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(line);
			if (!text) {
				code = gw_audit_fail(
				    err, GW_AUDIT_ERR_NOMEM,
				    "export: record %" PRId64 " could not be written", r->seq);
				break;
			}
			if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
				code = gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: write failed", tmp);
			free(text);
			if (d.records == 0) {
				gw_audit_hex(r->prev_hash, STORE_AUDIT_HASH_LEN, d.prev_hash);
				d.first_seq = r->seq;
			}
			gw_audit_hex(r->hash, STORE_AUDIT_HASH_LEN, d.head_hash);
			d.last_seq = r->seq;
			d.records++;
			after = r->seq;
			if (r->seq == last)
				done = true;
		}
		store_audit_list_free(&l);
		if (done)
			break;
	}
	bool ok = code == GW_AUDIT_OK && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, out_path) != 0) {
		unlink(tmp);
		if (code == GW_AUDIT_OK)
			code = gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot write the export",
			                     out_path);
		return code;
	}
	if (file_sha256(out_path, d.file_sha256) != 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot read back the export",
		                     out_path);
	d.created_us = wall_us();
	char msg[1024];
	size_t mn = 0;
	if (digest_message(&d, msg, sizeof(msg), &mn) != 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_ARG, "export: digest too long");
	unsigned char sig[STORE_AUDIT_SIG_MAX];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool signed_ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
	                 EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, mn) == 1;
	EVP_MD_CTX_free(md);
	if (!signed_ok)
		return gw_audit_fail(err, GW_AUDIT_ERR_CRYPTO, "export: signing the digest failed");
	char *sig64 = b64(sig, siglen);
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:s}",
	                      "digestVersion", "taskgate-audit-export-v1", "exportFile", out_path,
	                      "fileSha256", d.file_sha256, "records", (json_int_t)d.records,
	                      "firstSeq", (json_int_t)d.first_seq, "lastSeq",
	                      (json_int_t)d.last_seq, "prevHash", d.prev_hash, "headHash",
	                      d.head_hash, "sinceUs", (json_int_t)d.since_us, "untilUs",
	                      (json_int_t)d.until_us, "createdUs", (json_int_t)d.created_us,
	                      "keyId", d.key_id, "signature", sig64 ? sig64 : "");
	free(sig64);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!text || !sig64) {
		free(text);
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "export: out of memory");
	}
	size_t tn = strlen(text);
	text[tn] = '\0';
	char *withnl = realloc(text, tn + 2);
	if (!withnl) {
		free(text);
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "export: out of memory");
	}
	withnl[tn] = '\n';
	withnl[tn + 1] = '\0';
	int w = write_file_atomic(digest_path, withnl, tn + 1);
	free(withnl);
	if (w != 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot write the digest: %s",
		                     digest_path, strerror(errno));
	res->records = d.records;
	res->first_seq = d.first_seq;
	res->last_seq = d.last_seq;
	return GW_AUDIT_OK;
}

/* ---- checking an export ---- */

static bool get_int(json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool get_hex(json_t *o, const char *k, char out[GW_AUDIT_HEX_LEN + 1])
{
	json_t *v = json_object_get(o, k);
	if (!json_is_string(v) || json_string_length(v) != GW_AUDIT_HEX_LEN)
		return false;
	memcpy(out, json_string_value(v), GW_AUDIT_HEX_LEN + 1);
	return true;
}

static const char *str_or_null(json_t *o, const char *k, bool *bad)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

static int hex_decode(const char *hex, unsigned char out[STORE_AUDIT_HASH_LEN])
{
	for (size_t i = 0; i < STORE_AUDIT_HASH_LEN; i++) {
		unsigned v = 0;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* One line: its record rebuilt, its hash recomputed and compared, its link
 * to the previous. */
static int check_line(json_t *line, size_t lineno, int64_t expect_seq, const char *expect_prev,
                      char prev_out[GW_AUDIT_HEX_LEN + 1], struct gw_audit_report *rep)
{
	json_t *integ = json_object_get(line, "taskgateIntegrity");
	if (!json_is_object(integ))
		return gw_audit_tampered(rep, "line %zu: no taskgateIntegrity object", lineno);
	json_incref(integ);
	json_object_del(line, "taskgateIntegrity");
	int64_t seq = 0, time_us = 0, status = 0, latency = 0;
	char prev[GW_AUDIT_HEX_LEN + 1], hash[GW_AUDIT_HEX_LEN + 1];
	bool bad = !get_int(integ, "seq", &seq) || !get_int(integ, "timeUs", &time_us) ||
	           !get_hex(integ, "prevHash", prev) || !get_hex(integ, "hash", hash);
	json_t *st = json_object_get(integ, "status"), *lat = json_object_get(integ, "latencyUs");
	bool has_status = json_is_integer(st), has_latency = json_is_integer(lat);
	if (has_status)
		status = json_integer_value(st);
	if (has_latency)
		latency = json_integer_value(lat);
	struct store_audit_event ev = {
	    .time_us = time_us,
	    .request_id = str_or_null(integ, "requestId", &bad),
	    .source_ip = str_or_null(integ, "sourceIp", &bad),
	    .principal = str_or_null(integ, "principal", &bad),
	    .action = str_or_null(integ, "action", &bad),
	    .decision = str_or_null(integ, "decision", &bad),
	    .has_status = has_status,
	    .status = (int)status,
	    .error_code = str_or_null(integ, "errorCode", &bad),
	    .has_latency = has_latency,
	    .latency_us = latency,
	};
	int code = GW_AUDIT_OK;
	char *record = NULL;
	if (bad) {
		code = gw_audit_tampered(rep, "line %zu: taskgateIntegrity is malformed", lineno);
		goto out;
	}
	if (seq != expect_seq) {
		code = seq > expect_seq
		           ? gw_audit_tampered(rep,
		                               "line %zu: record %" PRId64
		                               " missing (found record %" PRId64 ")",
		                               lineno, expect_seq, seq)
		           : gw_audit_tampered(rep,
		                               "line %zu: record %" PRId64
		                               " out of order (expected record %" PRId64 ")",
		                               lineno, seq, expect_seq);
		goto out;
	}
	record = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
	if (!record) {
		code = GW_AUDIT_ERR_NOMEM;
		goto out;
	}
	ev.record = record;
	unsigned char prevb[STORE_AUDIT_HASH_LEN], want[STORE_AUDIT_HASH_LEN],
	    got[STORE_AUDIT_HASH_LEN];
	if (hex_decode(prev, prevb) != 0 || hex_decode(hash, want) != 0) {
		code = gw_audit_tampered(rep, "line %zu (record %" PRId64 "): a hash is not hex",
		                         lineno, seq);
		goto out;
	}
	if (gw_audit_hash(seq, &ev, prevb, got) != 0) {
		code = GW_AUDIT_ERR_NOMEM;
		goto out;
	}
	if (CRYPTO_memcmp(got, want, STORE_AUDIT_HASH_LEN) != 0) {
		code = gw_audit_tampered(
		    rep, "line %zu (record %" PRId64 "): content changed (hash mismatch)", lineno,
		    seq);
		goto out;
	}
	if (strcmp(prev, expect_prev) != 0) {
		code = gw_audit_tampered(rep,
		                         "line %zu (record %" PRId64
		                         "): prevHash does not match the record "
		                         "before it",
		                         lineno, seq);
		goto out;
	}
	memcpy(prev_out, hash, GW_AUDIT_HEX_LEN + 1);
out:
	free(record);
	json_decref(integ);
	return code;
}

int gw_audit_verify_export(const char *export_path, const char *digest_path, EVP_PKEY *key,
                           struct gw_audit_report *rep, struct gw_audit_error *err)
{
	memset(rep, 0, sizeof(*rep));
	if (!key)
		return gw_audit_fail(
		    err, GW_AUDIT_ERR_ARG,
		    "verify --export: --public-key is required (the digest is signed)");
	rep->signatures_checked = true;
	json_error_t je;
	json_t *dj = json_load_file(digest_path, JSON_REJECT_DUPLICATES, &je);
	if (!dj)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot read the digest: %s",
		                     digest_path, je.text);
	struct digest d = {0};
	json_t *sigj = json_object_get(dj, "signature"), *kid = json_object_get(dj, "keyId");
	bool ok = get_hex(dj, "fileSha256", d.file_sha256) && get_int(dj, "records", &d.records) &&
	          get_int(dj, "firstSeq", &d.first_seq) && get_int(dj, "lastSeq", &d.last_seq) &&
	          get_hex(dj, "prevHash", d.prev_hash) && get_hex(dj, "headHash", d.head_hash) &&
	          get_int(dj, "sinceUs", &d.since_us) && get_int(dj, "untilUs", &d.until_us) &&
	          get_int(dj, "createdUs", &d.created_us) && json_is_string(sigj) &&
	          json_is_string(kid) && json_string_length(kid) == GW_AUDIT_KEY_ID_LEN;
	unsigned char sig[STORE_AUDIT_SIG_MAX];
	size_t siglen = 0;
	if (ok) {
		memcpy(d.key_id, json_string_value(kid), GW_AUDIT_KEY_ID_LEN + 1);
		ok = unb64(json_string_value(sigj), sig, sizeof(sig), &siglen) == 0;
	}
	json_decref(dj);
	if (!ok)
		return gw_audit_tampered(
		    rep, "digest %s: malformed (a field is missing or has the wrong type)",
		    digest_path);
	char msg[1024];
	size_t mn = 0;
	char want_kid[GW_AUDIT_KEY_ID_LEN + 1];
	if (gw_audit_key_id(key, want_kid) != 0 || digest_message(&d, msg, sizeof(msg), &mn) != 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_KEY, "verify --export: unusable key");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool sig_ok = strcmp(want_kid, d.key_id) == 0 && md &&
	              EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
	              EVP_DigestVerify(md, sig, siglen, (const unsigned char *)msg, mn) == 1;
	EVP_MD_CTX_free(md);
	if (!sig_ok)
		return gw_audit_tampered(rep, "digest %s: bad signature (key %s)", digest_path,
		                         d.key_id);
	rep->checkpoints = 1;
	char actual[GW_AUDIT_HEX_LEN + 1];
	if (file_sha256(export_path, actual) != 0)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot read: %s", export_path,
		                     strerror(errno));
	bool file_ok = strcmp(actual, d.file_sha256) == 0;
	/* Walk the lines even when the file hash is off, to name the line. */
	FILE *f = fopen(export_path, "r");
	if (!f)
		return gw_audit_fail(err, GW_AUDIT_ERR_IO, "%s: cannot read: %s", export_path,
		                     strerror(errno));
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	size_t lineno = 0;
	char prev[GW_AUDIT_HEX_LEN + 1];
	memcpy(prev, d.prev_hash, sizeof(prev));
	int code = GW_AUDIT_OK;
	int64_t expect = d.first_seq;
	while (code == GW_AUDIT_OK && (n = getline(&buf, &cap, f)) > 0) {
		lineno++;
		json_t *line = json_loadb(buf, (size_t)n, 0, NULL);
		if (!json_is_object(line)) {
			json_decref(line);
			code = gw_audit_tampered(rep, "line %zu: not a JSON object", lineno);
			break;
		}
		code = check_line(line, lineno, expect, prev, prev, rep);
		json_decref(line);
		if (code == GW_AUDIT_OK) {
			if (rep->first_seq == 0)
				rep->first_seq = expect;
			rep->last_seq = expect;
			rep->records++;
			expect++;
		}
	}
	free(buf);
	fclose(f);
	if (code == GW_AUDIT_ERR_NOMEM)
		return gw_audit_fail(err, GW_AUDIT_ERR_NOMEM, "verify --export: out of memory");
	if (code != GW_AUDIT_OK)
		return code;
	if (rep->records != d.records || (d.records > 0 && rep->last_seq != d.last_seq))
		return gw_audit_tampered(
		    rep,
		    "export ends at line %zu (record %" PRId64 "); the digest says %" PRId64
		    " records up to record %" PRId64 " (records removed from the end)",
		    lineno, rep->last_seq, d.records, d.last_seq);
	if (strcmp(prev, d.head_hash) != 0)
		return gw_audit_tampered(rep,
		                         "the last record's hash is not the digest's headHash");
	if (!file_ok)
		return gw_audit_tampered(rep,
		                         "the export's SHA-256 is not the digest's (bytes changed "
		                         "outside the records: white space, line ends)");
	return GW_AUDIT_OK;
}
