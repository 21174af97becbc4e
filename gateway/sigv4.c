/*
 * sigv4.c - reading an AWS Signature Version 4 from a request.
 *
 * The idea: refuse early and cheaply what no honest signer produces, before
 * any secret is looked up or any HMAC is spent. gw_sigv4_parse reads the
 * Authorization header (or a presigned URL's X-Amz-* parameters) strictly:
 * the algorithm must be AWS4-HMAC-SHA256, each component key=value, each of
 * Credential, SignedHeaders and Signature exactly once, SignedHeaders already
 * in canonical form (ascending lower-case names), host and the timestamp
 * header among them, the limits of sigv4.h respected. It copies what it keeps
 * into the fixed buffers of struct gw_sigv4_auth, so a parsed signature owns
 * its bytes and nothing is allocated for a request we refuse.
 *
 * Where AWS is lenient and two readings are possible (a component given twice,
 * which AWS resolves by taking the last; an unknown component) we refuse: one
 * request, one meaning. Verification is in sigv4_verify.c; the wording of each
 * message and where it comes from is in docs/sigv4.md.
 */
#include "gateway/sigv4_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MSG_NO_AUTH "Request is missing Authentication Token"

static const char *const reason_names[] = {
    [GW_SIGV4_R_NONE] = "none",
    [GW_SIGV4_R_NO_AUTH] = "no_auth",
    [GW_SIGV4_R_ALGORITHM] = "algorithm",
    [GW_SIGV4_R_SYNTAX] = "syntax",
    [GW_SIGV4_R_MISSING_PARAM] = "missing_param",
    [GW_SIGV4_R_DUPLICATE] = "duplicate",
    [GW_SIGV4_R_CREDENTIAL] = "credential",
    [GW_SIGV4_R_SIGNED_HEADERS] = "signed_headers",
    [GW_SIGV4_R_DATE_FORMAT] = "date_format",
    [GW_SIGV4_R_EXPIRES] = "expires",
    [GW_SIGV4_R_ENCODING] = "encoding",
    [GW_SIGV4_R_LIMIT] = "limit",
    [GW_SIGV4_R_BOTH] = "both",
    [GW_SIGV4_R_HOST_UNSIGNED] = "host_unsigned",
    [GW_SIGV4_R_DATE_UNSIGNED] = "date_unsigned",
    [GW_SIGV4_R_TOKEN_UNSIGNED] = "token_unsigned",
    [GW_SIGV4_R_SKEW_PAST] = "skew_past",
    [GW_SIGV4_R_SKEW_FUTURE] = "skew_future",
    [GW_SIGV4_R_PRESIGN_EXPIRED] = "presign_expired",
    [GW_SIGV4_R_SCOPE] = "scope",
    [GW_SIGV4_R_HEADER_ABSENT] = "header_absent",
    [GW_SIGV4_R_PAYLOAD_HASH] = "payload_hash",
    [GW_SIGV4_R_UNSIGNED_PAYLOAD] = "unsigned_payload",
    [GW_SIGV4_R_MISMATCH] = "mismatch",
    [GW_SIGV4_R_UNKNOWN_KEY] = "unknown_key",
    [GW_SIGV4_R_REVOKED] = "revoked",
    [GW_SIGV4_R_TOKEN_MISSING] = "token_missing",
    [GW_SIGV4_R_TOKEN_MISMATCH] = "token_mismatch",
    [GW_SIGV4_R_TOKEN_UNEXPECTED] = "token_unexpected",
    [GW_SIGV4_R_EXPIRED] = "expired",
    [GW_SIGV4_R_NOMEM] = "nomem",
    [GW_SIGV4_R_ARG] = "arg",
};

const char *gw_sigv4_reason_name(enum gw_sigv4_reason reason)
{
	if ((int)reason < 0 || (size_t)reason >= sizeof reason_names / sizeof reason_names[0] ||
	    !reason_names[reason])
		return "unknown";
	return reason_names[reason];
}

void gw_sigv4_auth_clear(struct gw_sigv4_auth *auth)
{
	if (auth)
		OPENSSL_cleanse(auth, sizeof *auth);
}

void gw_sigv4_fail_unknown_key(struct gw_sigv4_error *err)
{
	gw_sigv4_fail(err, GW_SIGV4_ERR_INVALID_KEY, GW_SIGV4_R_UNKNOWN_KEY, "%s",
	              GW_SIGV4_MSG_TOKEN_INVALID);
}

/* ---- parsing ---- */

static bool is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 9110 tchar, lower-case only: a canonical signed header name. */
static bool is_lower_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

static bool copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n > cap)
		return false;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* keyid/date/region/service/terminator */
static int parse_credential(struct gw_sigv4_auth *auth, const char *v, size_t n,
                            struct gw_sigv4_error *err)
{
	size_t cut[4], nc = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] != '/')
			continue;
		if (nc == 4) {
			nc = 5;
			break;
		}
		cut[nc++] = i;
	}
	if (nc != 4) {
		char echo[96];
		gw_sigv4_echo(v, n, 80, echo, sizeof echo);
		return gw_sigv4_fail(
		    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_CREDENTIAL,
		    "Credential must have exactly 5 slash-delimited elements, e.g. "
		    "keyid/date/region/service/term, got '%s'",
		    echo);
	}
	const char *key = v;
	size_t key_n = cut[0];
	/* A key id outside [A-Za-z0-9]{1,128} names no key we could hold: answer as
	 * for an unknown key rather than describe its shape. */
	bool key_ok = key_n >= 1 && key_n <= GW_SIGV4_MAX_KEY_ID;
	for (size_t i = 0; key_ok && i < key_n; i++)
		key_ok = is_alnum((unsigned char)key[i]);
	if (!key_ok)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INVALID_KEY, GW_SIGV4_R_UNKNOWN_KEY, "%s",
		                     GW_SIGV4_MSG_TOKEN_INVALID);
	memcpy(auth->access_key_id, key, key_n);
	auth->access_key_id[key_n] = '\0';
	const char *p[4] = {v + cut[0] + 1, v + cut[1] + 1, v + cut[2] + 1, v + cut[3] + 1};
	size_t pn[4] = {cut[1] - cut[0] - 1, cut[2] - cut[1] - 1, cut[3] - cut[2] - 1,
	                n - cut[3] - 1};
	char *dst[4] = {auth->scope_date, auth->scope_region, auth->scope_service,
	                auth->scope_terminator};
	for (int i = 0; i < 4; i++) {
		/* Printable ASCII only: a NUL would cut the C strings compared and
		 * signed later, and no region, service or date needs more. */
		for (size_t k = 0; k < pn[i]; k++)
			if ((unsigned char)p[i][k] < 0x21 || (unsigned char)p[i][k] > 0x7e)
				return gw_sigv4_fail(
				    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_CREDENTIAL, "%s",
				    "Credential scope elements must be printable ASCII "
				    "without spaces.");
		if (!copy_part(dst[i], GW_SIGV4_MAX_SCOPE_PART, p[i], pn[i]))
			return gw_sigv4_fail(
			    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_CREDENTIAL,
			    "Credential scope elements may be at most %d bytes long.",
			    GW_SIGV4_MAX_SCOPE_PART);
	}
	return GW_SIGV4_OK;
}

static int parse_signed_headers(struct gw_sigv4_auth *auth, const char *v, size_t n,
                                struct gw_sigv4_error *err)
{
	if (n > GW_SIGV4_MAX_SIGNED_LIST)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "SignedHeaders is longer than %d bytes.",
		                     GW_SIGV4_MAX_SIGNED_LIST);
	size_t count = 0, i = 0;
	const char *prev = NULL;
	size_t prev_n = 0;
	bool ok = n > 0;
	while (ok && i <= n) {
		size_t j = i;
		while (j < n && v[j] != ';')
			j++;
		size_t len = j - i;
		ok = len > 0;
		for (size_t k = i; ok && k < j; k++)
			ok = is_lower_tchar((unsigned char)v[k]);
		if (ok && prev) {
			size_t m = prev_n < len ? prev_n : len;
			int c = memcmp(prev, v + i, m);
			ok = c < 0 || (c == 0 && prev_n < len);
		}
		prev = v + i;
		prev_n = len;
		count++;
		i = j + 1;
	}
	if (!ok)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_SIGNED_HEADERS, "%s",
		                     "SignedHeaders must list lower-case header names in ascending "
		                     "order, each once, separated by ';'.");
	if (count > GW_SIGV4_MAX_SIGNED_HEADERS)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "SignedHeaders names more than %d headers.",
		                     GW_SIGV4_MAX_SIGNED_HEADERS);
	memcpy(auth->signed_headers, v, n);
	auth->signed_headers[n] = '\0';
	auth->signed_headers_n = n;
	auth->n_signed = count;
	return GW_SIGV4_OK;
}

static void store_signature(struct gw_sigv4_auth *auth, const char *v, size_t n)
{
	size_t keep = n < GW_SIGV4_SIGNATURE_HEX ? n : GW_SIGV4_SIGNATURE_HEX;
	memcpy(auth->signature, v, keep);
	auth->signature[keep] = '\0';
	auth->signature_n = n;
}

static int fail_date_format(struct gw_sigv4_error *err, const char *v, size_t n)
{
	char echo[64];
	gw_sigv4_echo(v, n, 40, echo, sizeof echo);
	return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DATE_FORMAT,
	                     "Date must be in ISO-8601 'basic format'. Got '%s'. See "
	                     "http://en.wikipedia.org/wiki/ISO_8601",
	                     echo);
}

static int set_time(struct gw_sigv4_auth *auth, int64_t t)
{
	auth->request_time = t;
	gw_sigv4_format_timestamp(t, auth->timestamp);
	return GW_SIGV4_OK;
}

/* AWS refuses a signature that does not cover the host it was sent to. */
static int check_host_signed(const struct gw_sigv4_auth *auth, struct gw_sigv4_error *err)
{
	if (gw_sigv4_list_has(auth->signed_headers, auth->signed_headers_n, "host"))
		return GW_SIGV4_OK;
	return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_HOST_UNSIGNED, "%s",
	                     "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
	                     "Authorization.");
}

static int parse_header_mode(const struct gw_sigv4_request *req, const struct gw_sigv4_header *h,
                             struct gw_sigv4_auth *auth, struct gw_sigv4_error *err)
{
	const char *v = h->value;
	size_t n = h->value_n;
	gw_sigv4_trim(&v, &n);
	size_t alg_n = 0;
	while (alg_n < n && v[alg_n] != ' ' && v[alg_n] != '\t')
		alg_n++;
	if (alg_n != strlen(GW_SIGV4_ALGORITHM) || memcmp(v, GW_SIGV4_ALGORITHM, alg_n) != 0) {
		char echo[64];
		gw_sigv4_echo(v, alg_n, 40, echo, sizeof echo);
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_ALGORITHM,
		                     "Unsupported AWS 'algorithm': '%s'.", echo);
	}

	static const char *const keys[3] = {"Credential", "SignedHeaders", "Signature"};
	const char *val[3] = {NULL, NULL, NULL};
	size_t val_n[3] = {0, 0, 0};
	size_t i = alg_n;
	while (i < n) {
		while (i < n && is_sep(v[i]))
			i++;
		if (i >= n)
			break;
		size_t j = i;
		while (j < n && !is_sep(v[j]))
			j++;
		const char *tok = v + i;
		size_t tok_n = j - i;
		const char *eq = memchr(tok, '=', tok_n);
		if (!eq) {
			char echo[96];
			gw_sigv4_echo(tok, tok_n, 64, echo, sizeof echo);
			return gw_sigv4_fail(
			    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_SYNTAX,
			    "'%s' not a valid key=value pair (missing equal-sign) in "
			    "Authorization header.",
			    echo);
		}
		size_t key_n = (size_t)(eq - tok);
		int which = -1;
		for (int k = 0; k < 3; k++)
			if (key_n == strlen(keys[k]) && memcmp(tok, keys[k], key_n) == 0)
				which = k;
		if (which < 0) {
			char echo[64];
			gw_sigv4_echo(tok, key_n, 40, echo, sizeof echo);
			return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_SYNTAX,
			                     "Authorization header has an unknown component '%s'.",
			                     echo);
		}
		if (val[which])
			return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DUPLICATE,
			                     "Authorization header has '%s' more than once.",
			                     keys[which]);
		val[which] = eq + 1;
		val_n[which] = tok_n - key_n - 1;
		i = j;
	}

	/* The time: X-Amz-Date first, else Date (AWS's documented order). */
	const struct gw_sigv4_header *xd = NULL, *dd = NULL;
	size_t n_xd = gw_sigv4_header_count(req, "x-amz-date", &xd);
	size_t n_dd = n_xd ? 0 : gw_sigv4_header_count(req, "date", &dd);

	char missing[sizeof err->message] = "";
	if (!val[0])
		gw_sigv4_append(missing, sizeof missing,
		                "Authorization header requires 'Credential' parameter.");
	if (!val[2])
		gw_sigv4_append(missing, sizeof missing,
		                "Authorization header requires 'Signature' parameter.");
	if (!val[1])
		gw_sigv4_append(missing, sizeof missing,
		                "Authorization header requires 'SignedHeaders' parameter.");
	if (!n_xd && !n_dd)
		gw_sigv4_append(
		    missing, sizeof missing,
		    "Authorization header requires existence of either a 'X-Amz-Date' or a "
		    "'Date' header.");
	if (missing[0])
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_MISSING_PARAM, "%s",
		                     missing);
	if (n_xd > 1 || n_dd > 1)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DUPLICATE,
		                     "The request has more than one '%s' header.",
		                     n_xd ? "X-Amz-Date" : "Date");

	const struct gw_sigv4_header *th = n_xd ? xd : dd;
	const char *tv = th->value;
	size_t tn = th->value_n;
	gw_sigv4_trim(&tv, &tn);
	int64_t t;
	bool ok =
	    gw_sigv4_parse_timestamp(tv, tn, &t) || (!n_xd && gw_sigv4_parse_http_date(tv, tn, &t));
	if (!ok)
		return fail_date_format(err, tv, tn);
	set_time(auth, t);

	int rc = parse_credential(auth, val[0], val_n[0], err);
	if (rc != GW_SIGV4_OK)
		return rc;
	rc = parse_signed_headers(auth, val[1], val_n[1], err);
	if (rc != GW_SIGV4_OK)
		return rc;
	store_signature(auth, val[2], val_n[2]);

	rc = check_host_signed(auth, err);
	if (rc != GW_SIGV4_OK)
		return rc;
	const char *date_name = n_xd ? "x-amz-date" : "date";
	if (!gw_sigv4_list_has(auth->signed_headers, auth->signed_headers_n, date_name))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_DATE_UNSIGNED,
		                     "'%s' must be a 'SignedHeader' in the AWS Authorization.",
		                     date_name);

	const struct gw_sigv4_header *tok = NULL;
	size_t n_tok = gw_sigv4_header_count(req, "x-amz-security-token", &tok);
	if (n_tok > 1)
		return gw_sigv4_fail(
		    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DUPLICATE, "%s",
		    "The request has more than one 'X-Amz-Security-Token' header.");
	if (n_tok == 1) {
		const char *kv = tok->value;
		size_t kn = tok->value_n;
		gw_sigv4_trim(&kv, &kn);
		if (kn > GW_SIGV4_MAX_TOKEN)
			return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
			                     "X-Amz-Security-Token is longer than %d bytes.",
			                     GW_SIGV4_MAX_TOKEN);
		memcpy(auth->token, kv, kn);
		auth->token[kn] = '\0';
		auth->token_n = kn;
		auth->has_token = true;
		auth->token_signed = gw_sigv4_list_has(auth->signed_headers, auth->signed_headers_n,
		                                       "x-amz-security-token");
	}
	return GW_SIGV4_OK;
}

enum qp {
	QP_ALGORITHM,
	QP_CREDENTIAL,
	QP_DATE,
	QP_EXPIRES,
	QP_SIGNED_HEADERS,
	QP_SIGNATURE,
	QP_TOKEN,
	QP_COUNT
};

static const char *const qp_names[QP_COUNT] = {
    "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",           "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Security-Token",
};

/* Finds the presigning parameters (raw, still encoded) in a scanned query. */
static int find_query_params(const struct gw_sigv4_request *req, const char *val[QP_COUNT],
                             size_t val_n[QP_COUNT], struct gw_sigv4_error *err)
{
	const char *q = req->query;
	size_t n = req->query_n, i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && q[j] != '&')
			j++;
		size_t eq = i;
		while (eq < j && q[eq] != '=')
			eq++;
		char name[32];
		size_t name_n;
		if (j > i && gw_sigv4_pct_decode(q + i, eq - i, name, sizeof name, &name_n)) {
			for (int k = 0; k < QP_COUNT; k++) {
				if (name_n != strlen(qp_names[k]) ||
				    memcmp(name, qp_names[k], name_n))
					continue;
				if (val[k])
					return gw_sigv4_fail(
					    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DUPLICATE,
					    "The query string has '%s' more than once.",
					    qp_names[k]);
				val[k] = eq < j ? q + eq + 1 : q + j;
				val_n[k] = eq < j ? j - eq - 1 : 0;
			}
		}
		i = j + 1;
	}
	return GW_SIGV4_OK;
}

static int parse_query_mode(const char *val[QP_COUNT], const size_t val_n[QP_COUNT],
                            struct gw_sigv4_auth *auth, struct gw_sigv4_error *err)
{
	char missing[sizeof err->message] = "";
	if (!val[QP_ALGORITHM])
		gw_sigv4_append(missing, sizeof missing,
		                "AWS query-string parameters must include 'X-Amz-Algorithm'.");
	if (!val[QP_CREDENTIAL])
		gw_sigv4_append(missing, sizeof missing,
		                "AWS query-string parameters must include 'X-Amz-Credential'.");
	if (!val[QP_SIGNATURE])
		gw_sigv4_append(missing, sizeof missing,
		                "AWS query-string parameters must include 'X-Amz-Signature'.");
	if (!val[QP_SIGNED_HEADERS])
		gw_sigv4_append(missing, sizeof missing,
		                "AWS query-string parameters must include 'X-Amz-SignedHeaders'.");
	if (!val[QP_DATE])
		gw_sigv4_append(missing, sizeof missing,
		                "AWS query-string parameters must include 'X-Amz-Date'.");
	if (!val[QP_EXPIRES])
		gw_sigv4_append(missing, sizeof missing,
		                "AWS query-string parameters must include 'X-Amz-Expires'.");
	if (missing[0]) {
		gw_sigv4_append(missing, sizeof missing, "Re-examine the query-string parameters.");
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_MISSING_PARAM, "%s",
		                     missing);
	}

	/* Every value is decoded into this one buffer in turn; the query is at
	 * most GW_SIGV4_MAX_QUERY bytes, so no value decodes to more. */
	char buf[GW_SIGV4_MAX_QUERY];
	size_t bn;

	gw_sigv4_pct_decode(val[QP_ALGORITHM], val_n[QP_ALGORITHM], buf, sizeof buf, &bn);
	if (bn != strlen(GW_SIGV4_ALGORITHM) || memcmp(buf, GW_SIGV4_ALGORITHM, bn) != 0) {
		char echo[64];
		gw_sigv4_echo(buf, bn, 40, echo, sizeof echo);
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_ALGORITHM,
		                     "Unsupported AWS 'algorithm': '%s'.", echo);
	}

	gw_sigv4_pct_decode(val[QP_DATE], val_n[QP_DATE], buf, sizeof buf, &bn);
	int64_t t;
	if (!gw_sigv4_parse_timestamp(buf, bn, &t))
		return fail_date_format(err, buf, bn);
	set_time(auth, t);

	gw_sigv4_pct_decode(val[QP_EXPIRES], val_n[QP_EXPIRES], buf, sizeof buf, &bn);
	unsigned long long ex = 0;
	bool ok = bn >= 1 && bn <= 7 && buf[0] != '0';
	for (size_t i = 0; ok && i < bn; i++) {
		ok = buf[i] >= '0' && buf[i] <= '9';
		ex = ex * 10 + (unsigned)(buf[i] - '0');
	}
	if (!ok || ex < 1 || ex > GW_SIGV4_MAX_EXPIRES)
		return gw_sigv4_fail(
		    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_EXPIRES,
		    "X-Amz-Expires must be a whole number of seconds from 1 to %d.",
		    GW_SIGV4_MAX_EXPIRES);
	auth->expires = (int64_t)ex;

	gw_sigv4_pct_decode(val[QP_CREDENTIAL], val_n[QP_CREDENTIAL], buf, sizeof buf, &bn);
	int rc = parse_credential(auth, buf, bn, err);
	if (rc != GW_SIGV4_OK)
		return rc;
	gw_sigv4_pct_decode(val[QP_SIGNED_HEADERS], val_n[QP_SIGNED_HEADERS], buf, sizeof buf, &bn);
	rc = parse_signed_headers(auth, buf, bn, err);
	if (rc != GW_SIGV4_OK)
		return rc;
	rc = check_host_signed(auth, err);
	if (rc != GW_SIGV4_OK)
		return rc;
	gw_sigv4_pct_decode(val[QP_SIGNATURE], val_n[QP_SIGNATURE], buf, sizeof buf, &bn);
	store_signature(auth, buf, bn);

	if (val[QP_TOKEN]) {
		gw_sigv4_pct_decode(val[QP_TOKEN], val_n[QP_TOKEN], buf, sizeof buf, &bn);
		if (bn > GW_SIGV4_MAX_TOKEN) {
			OPENSSL_cleanse(buf, bn);
			return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
			                     "X-Amz-Security-Token is longer than %d bytes.",
			                     GW_SIGV4_MAX_TOKEN);
		}
		memcpy(auth->token, buf, bn);
		auth->token[bn] = '\0';
		auth->token_n = bn;
		auth->has_token = true;
		auth->token_signed = true; /* it is part of the canonical query */
		OPENSSL_cleanse(buf, bn);
	}
	return GW_SIGV4_OK;
}

static int check_limits(const struct gw_sigv4_request *req, struct gw_sigv4_error *err)
{
	if ((!req->method && req->method_n) || (!req->path && req->path_n) ||
	    (!req->query && req->query_n) || (!req->headers && req->n_headers) ||
	    (!req->body && req->body_n))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "request slice with a length but no bytes");
	if (req->method_n < 1 || req->method_n > GW_SIGV4_MAX_METHOD)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "The request method must be 1 to %d bytes.",
		                     GW_SIGV4_MAX_METHOD);
	if (req->n_headers > GW_SIGV4_MAX_HEADERS)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "The request has more than %d headers.", GW_SIGV4_MAX_HEADERS);
	size_t total = 0;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct gw_sigv4_header *h = &req->headers[i];
		if ((!h->name && h->name_n) || (!h->value && h->value_n))
			return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
			                     "header slice with a length but no bytes");
		/* Each is below the total limit, so the sum cannot wrap. */
		if (h->name_n > GW_SIGV4_MAX_HEADER_BYTES ||
		    h->value_n > GW_SIGV4_MAX_HEADER_BYTES) {
			total = GW_SIGV4_MAX_HEADER_BYTES + 1;
			break;
		}
		total += h->name_n + h->value_n;
		if (total > GW_SIGV4_MAX_HEADER_BYTES)
			break;
	}
	if (total > GW_SIGV4_MAX_HEADER_BYTES)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "The request headers exceed %d bytes.",
		                     GW_SIGV4_MAX_HEADER_BYTES);
	if (req->path_n > GW_SIGV4_MAX_PATH)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "The request path exceeds %d bytes.", GW_SIGV4_MAX_PATH);
	if (req->query_n > GW_SIGV4_MAX_QUERY)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "The query string exceeds %d bytes.", GW_SIGV4_MAX_QUERY);
	if (req->path_n > 0 && req->path[0] != '/')
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_SYNTAX, "%s",
		                     "The request path must begin with '/'.");
	size_t comps = 0;
	if (!gw_sigv4_query_scan(req->query, req->query_n, &comps))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_ENCODING, "%s",
		                     "The query string has a '%' not followed by two hex digits.");
	if (comps > GW_SIGV4_MAX_QUERY_PARAMS)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_LIMIT,
		                     "The query string has more than %d parameters.",
		                     GW_SIGV4_MAX_QUERY_PARAMS);
	return GW_SIGV4_OK;
}

int gw_sigv4_parse(const struct gw_sigv4_request *req, struct gw_sigv4_auth *auth,
                   struct gw_sigv4_error *err)
{
	gw_sigv4_err_reset(err);
	if (!auth)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "no auth to fill");
	memset(auth, 0, sizeof *auth);
	if (!req)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s", "no request");
	int rc = check_limits(req, err);
	if (rc != GW_SIGV4_OK)
		return rc;

	const struct gw_sigv4_header *authz = NULL;
	size_t n_authz = gw_sigv4_header_count(req, "authorization", &authz);
	const char *qv[QP_COUNT] = {NULL};
	size_t qn[QP_COUNT] = {0};
	rc = find_query_params(req, qv, qn, err);
	if (rc != GW_SIGV4_OK)
		return rc;
	bool presigned = qv[QP_ALGORITHM] || qv[QP_CREDENTIAL] || qv[QP_SIGNATURE];

	if (n_authz > 1)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DUPLICATE, "%s",
		                     "The request has more than one Authorization header.");
	if (n_authz == 1 && presigned)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_BOTH, "%s",
		                     "Sign a request either in the Authorization header or in the "
		                     "query string, not both.");
	if (n_authz == 1) {
		auth->mode = GW_SIGV4_MODE_HEADER;
		rc = parse_header_mode(req, authz, auth, err);
	} else if (presigned) {
		auth->mode = GW_SIGV4_MODE_QUERY;
		rc = parse_query_mode(qv, qn, auth, err);
	} else {
		return gw_sigv4_fail(err, GW_SIGV4_ERR_MISSING, GW_SIGV4_R_NO_AUTH, "%s",
		                     MSG_NO_AUTH);
	}
	if (rc != GW_SIGV4_OK) {
		enum gw_sigv4_mode mode = auth->mode;
		gw_sigv4_auth_clear(auth);
		auth->mode = mode;
	}
	return rc;
}
