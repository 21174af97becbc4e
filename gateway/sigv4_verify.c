/*
 * sigv4_verify.c - checking a parsed AWS Signature Version 4 against the
 * request and the stored credential, and the AWS error codes for a refusal.
 *
 * gw_sigv4_verify follows the order AWS reports errors in: the time, the
 * credential scope, the credential itself (revoked, expired, its session
 * token), the payload hash, and last the signature over the canonical request
 * (sigv4_canon.c). The derived keys (kDate, kRegion, kService, kSigning) and
 * our signature are wiped with OPENSSL_cleanse on every path, and the caller's
 * signature and session token are compared with CRYPTO_memcmp over a length we
 * choose, so neither timing nor memory tells what the right value would have
 * been. A session token with a long-term key is refused rather than ignored.
 */
#include "gateway/sigv4_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MSG_MISMATCH                                                                               \
	"The request signature we calculated does not match the signature you provided. Check "    \
	"your AWS Secret Access Key and signing method. Consult the service documentation for "    \
	"details."
#define MSG_TOKEN_EXPIRED "The security token included in the request is expired"

/* ---- verification ---- */

bool gw_sigv4_token_equal(const struct gw_sigv4_auth *auth, const void *stored, size_t stored_n)
{
	if (!auth || !auth->has_token || !stored || stored_n == 0)
		return false;
	/* Compare stored_n bytes whatever the request sent, so the time depends
	 * only on the stored token's length; the length check comes after. */
	unsigned char given[GW_SIGV4_MAX_TOKEN];
	bool fits = stored_n <= sizeof given;
	size_t cmp_n = fits ? stored_n : sizeof given;
	memset(given, 0, cmp_n);
	memcpy(given, auth->token, auth->token_n < cmp_n ? auth->token_n : cmp_n);
	int diff = CRYPTO_memcmp(given, stored, cmp_n);
	OPENSSL_cleanse(given, cmp_n);
	return fits && diff == 0 && auth->token_n == stored_n;
}

static bool hmac256(const void *key, size_t key_n, const void *msg, size_t msg_n,
                    unsigned char out[32])
{
	unsigned int len = 0;
	return HMAC(EVP_sha256(), key, (int)key_n, msg, msg_n, out, &len) && len == 32;
}

int gw_sigv4_sign(const unsigned char *secret, size_t secret_n, const char *date,
                  const char *region, const char *service, const char *string_to_sign, size_t sts_n,
                  char *out, size_t out_size)
{
	if (!secret || secret_n == 0 || secret_n > GW_SIGV4_MAX_SECRET || !date || !region ||
	    !service || !string_to_sign || !out || out_size < GW_SIGV4_SIGNATURE_HEX + 1)
		return GW_SIGV4_ERR_ARG;
	unsigned char k_secret[4 + GW_SIGV4_MAX_SECRET];
	unsigned char k1[32], k2[32], sig[32];
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, secret, secret_n);
	bool ok = hmac256(k_secret, 4 + secret_n, date, strlen(date), k1) &&
	          hmac256(k1, 32, region, strlen(region), k2) &&
	          hmac256(k2, 32, service, strlen(service), k1) &&
	          hmac256(k1, 32, GW_SIGV4_TERMINATOR, strlen(GW_SIGV4_TERMINATOR), k2) &&
	          hmac256(k2, 32, string_to_sign, sts_n, sig);
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; ok && i < 32; i++) {
		out[2 * i] = hex[sig[i] >> 4];
		out[2 * i + 1] = hex[sig[i] & 15];
	}
	out[ok ? GW_SIGV4_SIGNATURE_HEX : 0] = '\0';
	OPENSSL_cleanse(k_secret, sizeof k_secret);
	OPENSSL_cleanse(k1, sizeof k1);
	OPENSSL_cleanse(k2, sizeof k2);
	OPENSSL_cleanse(sig, sizeof sig);
	return ok ? GW_SIGV4_OK : GW_SIGV4_ERR_NOMEM;
}

int gw_sigv4_string_to_sign(const struct gw_sigv4_auth *auth, const char *creq, size_t creq_n,
                            char *out, size_t out_size)
{
	if (!auth || !creq || !out)
		return GW_SIGV4_ERR_ARG;
	char h[GW_SIGV4_SIGNATURE_HEX + 1];
	if (!gw_sigv4_sha256_hex(creq, creq_n, h))
		return GW_SIGV4_ERR_NOMEM;
	int w = snprintf(out, out_size, "%s\n%s\n%s/%s/%s/%s\n%s", GW_SIGV4_ALGORITHM,
	                 auth->timestamp, auth->scope_date, auth->scope_region, auth->scope_service,
	                 auth->scope_terminator, h);
	if (w < 0 || (size_t)w >= out_size)
		return GW_SIGV4_ERR_ARG;
	return GW_SIGV4_OK;
}

static int check_time(const struct gw_sigv4_auth *auth, int64_t now, struct gw_sigv4_error *err)
{
	char req_ts[GW_SIGV4_TIMESTAMP_LEN + 1], now_ts[GW_SIGV4_TIMESTAMP_LEN + 1],
	    edge_ts[GW_SIGV4_TIMESTAMP_LEN + 1];
	gw_sigv4_format_timestamp(now, now_ts);
	memcpy(req_ts, auth->timestamp, sizeof req_ts);
	int64_t t = auth->request_time;
	if (t > now + GW_SIGV4_SKEW_SECONDS) {
		gw_sigv4_format_timestamp(now + GW_SIGV4_SKEW_SECONDS, edge_ts);
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_SKEW_FUTURE,
		                     "Signature not yet current: %s is still later than %s (%s + 5 "
		                     "min.)",
		                     req_ts, edge_ts, now_ts);
	}
	if (auth->mode == GW_SIGV4_MODE_QUERY) {
		if (now > t + auth->expires) {
			gw_sigv4_format_timestamp(t + auth->expires, edge_ts);
			return gw_sigv4_fail(
			    err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_PRESIGN_EXPIRED,
			    "Request has expired: it was valid until %s (X-Amz-Date "
			    "%s + X-Amz-Expires %lld s), and it is now %s.",
			    edge_ts, req_ts, (long long)auth->expires, now_ts);
		}
		return GW_SIGV4_OK;
	}
	if (t < now - GW_SIGV4_SKEW_SECONDS) {
		gw_sigv4_format_timestamp(now - GW_SIGV4_SKEW_SECONDS, edge_ts);
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_SKEW_PAST,
		                     "Signature expired: %s is now earlier than %s (%s - 5 min.)",
		                     req_ts, edge_ts, now_ts);
	}
	return GW_SIGV4_OK;
}

static int check_scope(const struct gw_sigv4_auth *auth, const struct gw_sigv4_expect *expect,
                       struct gw_sigv4_error *err)
{
	char msg[sizeof err->message] = "";
	char part[256], echo[80];
	if (strcmp(auth->scope_region, expect->region) != 0) {
		gw_sigv4_echo(auth->scope_region, strlen(auth->scope_region), 64, echo,
		              sizeof echo);
		if (snprintf(part, sizeof part,
		             "Credential should be scoped to a valid region, not '%s'.", echo) >= 0)
			gw_sigv4_append(msg, sizeof msg, part);
	}
	if (strcmp(auth->scope_service, expect->service) != 0) {
		gw_sigv4_echo(expect->service, strlen(expect->service), 64, echo, sizeof echo);
		if (snprintf(part, sizeof part,
		             "Credential should be scoped to correct service: '%s'.", echo) >= 0)
			gw_sigv4_append(msg, sizeof msg, part);
	}
	if (strcmp(auth->scope_terminator, GW_SIGV4_TERMINATOR) != 0) {
		gw_sigv4_echo(auth->scope_terminator, strlen(auth->scope_terminator), 64, echo,
		              sizeof echo);
		if (snprintf(part, sizeof part,
		             "Credential should be scoped with a valid terminator: 'aws4_request', "
		             "not '%s'.",
		             echo) >= 0)
			gw_sigv4_append(msg, sizeof msg, part);
	}
	if (strlen(auth->scope_date) != 8 || memcmp(auth->scope_date, auth->timestamp, 8) != 0) {
		gw_sigv4_echo(auth->scope_date, strlen(auth->scope_date), 16, echo, sizeof echo);
		if (snprintf(
		        part, sizeof part,
		        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
		        "of date from HTTP: '%s' != '%.8s', from '%s'.",
		        echo, auth->timestamp, auth->timestamp) >= 0)
			gw_sigv4_append(msg, sizeof msg, part);
	}
	if (msg[0])
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_SCOPE, "%s", msg);
	return GW_SIGV4_OK;
}

static int check_credential(const struct gw_sigv4_auth *auth,
                            const struct gw_sigv4_credential *cred, int64_t now,
                            struct gw_sigv4_error *err)
{
	if (cred->revoked)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INVALID_KEY, GW_SIGV4_R_REVOKED, "%s",
		                     GW_SIGV4_MSG_TOKEN_INVALID);
	if (cred->kind == GW_SIGV4_KEY_LONG_TERM) {
		if (auth->has_token)
			return gw_sigv4_fail(err, GW_SIGV4_ERR_INVALID_KEY,
			                     GW_SIGV4_R_TOKEN_UNEXPECTED, "%s",
			                     GW_SIGV4_MSG_TOKEN_INVALID);
		return GW_SIGV4_OK;
	}
	if (cred->expires_at != 0 && now >= cred->expires_at)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_EXPIRED_KEY, GW_SIGV4_R_EXPIRED, "%s",
		                     MSG_TOKEN_EXPIRED);
	if (!auth->has_token)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INVALID_KEY, GW_SIGV4_R_TOKEN_MISSING, "%s",
		                     GW_SIGV4_MSG_TOKEN_INVALID);
	if (!auth->token_signed)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_TOKEN_UNSIGNED, "%s",
		                     "'x-amz-security-token' must be a 'SignedHeader' in the AWS "
		                     "Authorization.");
	if (!gw_sigv4_token_equal(auth, cred->session_token, cred->session_token_n))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_INVALID_KEY, GW_SIGV4_R_TOKEN_MISMATCH, "%s",
		                     GW_SIGV4_MSG_TOKEN_INVALID);
	return GW_SIGV4_OK;
}

static int check_payload(const struct gw_sigv4_auth *auth, const struct gw_sigv4_request *req,
                         const struct gw_sigv4_expect *expect, struct gw_sigv4_error *err)
{
	const struct gw_sigv4_header *h = NULL;
	size_t count = gw_sigv4_header_count(req, "x-amz-content-sha256", &h);
	if (count == 0)
		return GW_SIGV4_OK;
	if (count > 1)
		return gw_sigv4_fail(
		    err, GW_SIGV4_ERR_INCOMPLETE, GW_SIGV4_R_DUPLICATE, "%s",
		    "The request has more than one 'X-Amz-Content-Sha256' header.");
	const char *v = h->value;
	size_t n = h->value_n;
	gw_sigv4_trim(&v, &n);
	size_t un = strlen(GW_SIGV4_UNSIGNED_PAYLOAD);
	if (n == un && memcmp(v, GW_SIGV4_UNSIGNED_PAYLOAD, un) == 0) {
		if (!expect->allow_unsigned_payload)
			return gw_sigv4_fail(
			    err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_UNSIGNED_PAYLOAD,
			    "This service does not accept UNSIGNED-PAYLOAD: sign the "
			    "SHA-256 of the payload.");
		if (!gw_sigv4_list_has(auth->signed_headers, auth->signed_headers_n,
		                       "x-amz-content-sha256"))
			return gw_sigv4_fail(
			    err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_UNSIGNED_PAYLOAD, "%s",
			    "'x-amz-content-sha256' must be a 'SignedHeader' in the AWS "
			    "Authorization.");
		return GW_SIGV4_OK;
	}
	char hash[GW_SIGV4_SIGNATURE_HEX + 1];
	if (!gw_sigv4_sha256_hex(req->body, req->body_n, hash))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_NOMEM, GW_SIGV4_R_NOMEM, "%s",
		                     "SHA-256 failed while checking the signature");
	/* Both sides are public (the body is the caller's), so a plain compare. */
	if (n != GW_SIGV4_SIGNATURE_HEX || memcmp(v, hash, n) != 0)
		return gw_sigv4_fail(
		    err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_PAYLOAD_HASH, "%s",
		    "The provided 'x-amz-content-sha256' header does not match what "
		    "was computed.");
	return GW_SIGV4_OK;
}

int gw_sigv4_verify(const struct gw_sigv4_auth *auth, const struct gw_sigv4_request *req,
                    const struct gw_sigv4_credential *cred, const struct gw_sigv4_expect *expect,
                    struct gw_sigv4_error *err)
{
	gw_sigv4_err_reset(err);
	if (!auth || !req || !cred || !expect || !expect->region || !expect->service ||
	    (auth->mode != GW_SIGV4_MODE_HEADER && auth->mode != GW_SIGV4_MODE_QUERY))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "verify: missing argument or an auth that was not parsed");
	if (!cred->secret || cred->secret_n == 0 || cred->secret_n > GW_SIGV4_MAX_SECRET ||
	    (cred->kind != GW_SIGV4_KEY_LONG_TERM && cred->kind != GW_SIGV4_KEY_TEMPORARY))
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "verify: unusable stored credential");
	/* Times the timestamp format cannot express cannot be compared fairly. */
	if (expect->now < 0 || expect->now > (int64_t)253402300799)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "verify: the clock is outside years 1970..9999");

	int rc = check_time(auth, expect->now, err);
	if (rc == GW_SIGV4_OK)
		rc = check_scope(auth, expect, err);
	if (rc == GW_SIGV4_OK)
		rc = check_credential(auth, cred, expect->now, err);
	if (rc == GW_SIGV4_OK)
		rc = check_payload(auth, req, expect, err);
	if (rc != GW_SIGV4_OK)
		return rc;

	char *creq = NULL;
	size_t creq_n = 0;
	rc = gw_sigv4_canonical_request(auth, req, &creq, &creq_n, err);
	if (rc != GW_SIGV4_OK)
		return rc;
	char sts[512];
	rc = gw_sigv4_string_to_sign(auth, creq, creq_n, sts, sizeof sts);
	free(creq);
	if (rc != GW_SIGV4_OK)
		return gw_sigv4_fail(err, rc,
		                     rc == GW_SIGV4_ERR_NOMEM ? GW_SIGV4_R_NOMEM : GW_SIGV4_R_ARG,
		                     "%s", "the string to sign could not be built");

	char mine[GW_SIGV4_SIGNATURE_HEX + 1];
	rc = gw_sigv4_sign(cred->secret, cred->secret_n, auth->scope_date, auth->scope_region,
	                   auth->scope_service, sts, strlen(sts), mine, sizeof mine);
	if (rc != GW_SIGV4_OK) {
		OPENSSL_cleanse(mine, sizeof mine);
		return gw_sigv4_fail(err, rc,
		                     rc == GW_SIGV4_ERR_NOMEM ? GW_SIGV4_R_NOMEM : GW_SIGV4_R_ARG,
		                     "%s", "the signature could not be computed");
	}
	/* Always compare 64 bytes: a short or long signature costs the same time
	 * as a wrong one, and is wrong. */
	char given[GW_SIGV4_SIGNATURE_HEX];
	memset(given, 0, sizeof given);
	memcpy(given, auth->signature, strlen(auth->signature));
	int diff = CRYPTO_memcmp(given, mine, GW_SIGV4_SIGNATURE_HEX);
	OPENSSL_cleanse(mine, sizeof mine);
	OPENSSL_cleanse(given, sizeof given);
	if (diff != 0 || auth->signature_n != GW_SIGV4_SIGNATURE_HEX)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_MISMATCH, "%s",
		                     MSG_MISMATCH);
	return GW_SIGV4_OK;
}

/* ---- errors on the wire ---- */

struct gw_sigv4_wire gw_sigv4_wire_error(int status, enum gw_sigv4_protocol proto)
{
	bool json = proto == GW_SIGV4_PROTO_JSON;
	struct gw_sigv4_wire w;
	switch (status) {
	case GW_SIGV4_ERR_MISSING:
		w.code =
		    json ? "MissingAuthenticationTokenException" : "MissingAuthenticationToken";
		w.http_status = json ? 400 : 403;
		break;
	case GW_SIGV4_ERR_INCOMPLETE:
		w.code = json ? "IncompleteSignatureException" : "IncompleteSignature";
		w.http_status = 400;
		break;
	case GW_SIGV4_ERR_SIGNATURE:
		w.code = json ? "InvalidSignatureException" : "SignatureDoesNotMatch";
		w.http_status = json ? 400 : 403;
		break;
	case GW_SIGV4_ERR_INVALID_KEY:
		w.code = json ? "UnrecognizedClientException" : "InvalidClientTokenId";
		w.http_status = json ? 400 : 403;
		break;
	case GW_SIGV4_ERR_EXPIRED_KEY:
		w.code = json ? "ExpiredTokenException" : "ExpiredToken";
		w.http_status = 400;
		break;
	case GW_SIGV4_ERR_NOMEM:
		w.code = json ? "ServiceUnavailableException" : "ServiceUnavailable";
		w.http_status = 503;
		break;
	default:
		w.code = "InternalFailure";
		w.http_status = 500;
		break;
	}
	return w;
}
