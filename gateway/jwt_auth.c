/*
 * jwt_auth.c - verifying a JWT bearer token against the configured issuers.
 *
 * The idea: decide everything about a token from bytes we parsed ourselves,
 * and use libjwt only as the signature check for a key we chose. libjwt 1.10.2
 * verifies nothing when jwt_decode() gets no key, and it picks the algorithm
 * from the token, so letting it choose would invite the classic attacks: "alg":
 * "none", and an HS256 token whose HMAC key is the issuer's public RSA key. So:
 *
 *   1. bound the size, check the compact form (three base64url segments);
 *   2. decode header and payload strictly (base64url without padding, JSON with
 *      duplicate names refused, so no two parsers can read different claims);
 *   3. find the issuer by iss (exact bytes), then the algorithm it allows,
 *      then the key: HS* only ever the issuer's HMAC secret; RS* or ES* only a key
 *      from the issuer's set, chosen by kid, whose type and curve make that alg;
 *   4. verify the signature with that key and check that libjwt verified with
 *      the algorithm we expected (jwt_get_alg);
 *   5. only then look at the claims: exp, nbf, iat, lifetime, aud.
 *
 * HMAC signatures are also compared here with CRYPTO_memcmp before libjwt sees
 * them: libjwt 1.10.2 compares the base64 text of the MAC with strcmp, whose
 * early exit would leak how much of a guessed MAC was right.
 *
 * Nothing from the token is copied into an error message: the messages name
 * the configured issuer and the failed rule, so they can be logged as they are.
 */
#include "gateway/jwt_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define KID_MAX    256
#define MAX_LEEWAY 600
/* A year: longer-lived bearer tokens are keys in all but name. Also keeps the
 * time arithmetic far from overflow. */
#define MAX_LIFETIME ((int64_t)366 * 24 * 3600)
/* NumericDate values beyond this are not times (2^53: exact in a double). */
#define MAX_NUMERIC_DATE ((int64_t)1 << 53)

static const struct {
	const char *name;
	jwt_alg_t lib;
	size_t hmac_len; /* bytes of the MAC, and the least secret length (RFC 7518 3.2) */
} algs[GW_JWT_ALG_COUNT] = {
    [GW_JWT_RS256] = {"RS256", JWT_ALG_RS256, 0},  [GW_JWT_RS384] = {"RS384", JWT_ALG_RS384, 0},
    [GW_JWT_RS512] = {"RS512", JWT_ALG_RS512, 0},  [GW_JWT_ES256] = {"ES256", JWT_ALG_ES256, 0},
    [GW_JWT_ES384] = {"ES384", JWT_ALG_ES384, 0},  [GW_JWT_ES512] = {"ES512", JWT_ALG_ES512, 0},
    [GW_JWT_HS256] = {"HS256", JWT_ALG_HS256, 32}, [GW_JWT_HS384] = {"HS384", JWT_ALG_HS384, 48},
    [GW_JWT_HS512] = {"HS512", JWT_ALG_HS512, 64},
};

const char *gw_jwt_alg_name(enum gw_jwt_alg alg)
{
	if ((int)alg < 0 || alg >= GW_JWT_ALG_COUNT)
		return NULL;
	return algs[alg].name;
}

int gw_jwt_alg_from_name(const char *name, size_t n)
{
	if (!name)
		return -1;
	for (int i = 0; i < GW_JWT_ALG_COUNT; i++)
		if (strlen(algs[i].name) == n && memcmp(algs[i].name, name, n) == 0)
			return i;
	return -1;
}

const char *gw_jwt_status_name(int status)
{
	switch (status) {
	case GW_JWT_OK:
		return "ok";
	case GW_JWT_ERR_MALFORMED:
		return "malformed";
	case GW_JWT_ERR_TOO_LARGE:
		return "too_large";
	case GW_JWT_ERR_ALG_NONE:
		return "alg_none";
	case GW_JWT_ERR_ALG_NOT_ALLOWED:
		return "alg_not_allowed";
	case GW_JWT_ERR_UNKNOWN_ISSUER:
		return "unknown_issuer";
	case GW_JWT_ERR_UNKNOWN_KID:
		return "unknown_kid";
	case GW_JWT_ERR_BAD_SIGNATURE:
		return "bad_signature";
	case GW_JWT_ERR_EXPIRED:
		return "expired";
	case GW_JWT_ERR_NOT_YET_VALID:
		return "not_yet_valid";
	case GW_JWT_ERR_WRONG_AUDIENCE:
		return "wrong_audience";
	case GW_JWT_ERR_MISSING_CLAIM:
		return "missing_claim";
	case GW_JWT_ERR_LIFETIME:
		return "lifetime_too_long";
	case GW_JWT_ERR_KEYSET:
		return "keyset";
	case GW_JWT_ERR_CONFIG:
		return "config";
	case GW_JWT_ERR_IO:
		return "io";
	case GW_JWT_ERR_NOMEM:
		return "nomem";
	case GW_JWT_ERR_ARG:
		return "bad_argument";
	}
	return "unknown";
}

/* ---- issuer configuration ---- */

static const char *issuer_name(const struct gw_jwt_issuer *iss)
{
	return iss && iss->issuer ? iss->issuer : "(unnamed)";
}

int gw_jwt_issuer_check(const struct gw_jwt_issuer *iss, struct gw_jwt_error *err)
{
	gw_jwt_clear_error(err);
	if (!iss || !iss->issuer || !*iss->issuer)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG, "JWT issuer: the issuer URL is empty");
	const char *name = iss->issuer;
	if (iss->n_audiences == 0 || !iss->audiences)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: at least one audience must be configured", name);
	for (size_t i = 0; i < iss->n_audiences; i++)
		if (!iss->audiences[i] || !*iss->audiences[i])
			return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
			                   "JWT issuer %s: audience %zu is empty", name, i);
	if (iss->leeway < 0 || iss->leeway > MAX_LEEWAY)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: leeway must be 0 to %d seconds", name,
		                   MAX_LEEWAY);
	if (iss->max_lifetime <= 0 || iss->max_lifetime > MAX_LIFETIME)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: the maximum token lifetime must be 1 to %lld "
		                   "seconds",
		                   name, (long long)MAX_LIFETIME);
	unsigned known = GW_JWT_ALGS_ASYMMETRIC | GW_JWT_ALGS_HMAC;
	if (iss->algs & ~known)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: unknown algorithm in the allowed set", name);
	bool has_keys = iss->keys && iss->keys->n > 0;
	bool has_secret = iss->hmac_secret && iss->hmac_secret->p;
	if (!has_keys && !has_secret)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: needs a key set or an HMAC secret", name);
	if ((iss->algs & GW_JWT_ALGS_HMAC) && !has_secret)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: HS algorithms allowed but no HMAC secret set",
		                   name);
	if ((iss->algs & GW_JWT_ALGS_ASYMMETRIC) && !has_keys)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: RS/ES algorithms allowed but no key set", name);
	if (has_secret && iss->hmac_secret->n < algs[GW_JWT_HS256].hmac_len)
		return gw_jwt_fail(err, GW_JWT_ERR_CONFIG,
		                   "JWT issuer %s: the HMAC secret has %zu bytes; at least %zu are "
		                   "needed",
		                   name, iss->hmac_secret->n, algs[GW_JWT_HS256].hmac_len);
	return GW_JWT_OK;
}

static unsigned issuer_algs(const struct gw_jwt_issuer *iss)
{
	bool has_secret = iss->hmac_secret && iss->hmac_secret->p;
	unsigned a =
	    iss->algs ? iss->algs : GW_JWT_ALGS_ASYMMETRIC | (has_secret ? GW_JWT_ALGS_HMAC : 0u);
	if (!has_secret)
		a &= ~(unsigned)GW_JWT_ALGS_HMAC;
	if (!iss->keys || iss->keys->n == 0)
		a &= ~(unsigned)GW_JWT_ALGS_ASYMMETRIC;
	return a;
}

/* ---- parsing helpers ---- */

static bool b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Decodes one base64url segment and parses it as a JSON object. */
static json_t *segment_json(const char *p, size_t n)
{
	size_t cap = gw_base64_decoded_max(n);
	char *buf = malloc(cap ? cap : 1);
	if (!buf)
		return NULL;
	size_t len = 0;
	json_t *j = NULL;
	if (gw_base64_decode(p, n, GW_B64_URL, (unsigned char *)buf, cap, &len) == GW_SECRET_OK)
		j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* A string member as a C string without embedded NULs; NULL when absent or not one. */
static const char *member_string(json_t *obj, const char *name, bool *present)
{
	json_t *v = json_object_get(obj, name);
	*present = v != NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/*
 * A NumericDate claim: 0 absent, 1 present (in *out), -1 not a valid time.
 * Fractions round in the cautious direction: up for nbf and iat (later start),
 * down for exp (earlier end).
 */
static int member_time(json_t *obj, const char *name, bool round_up, int64_t *out)
{
	json_t *v = json_object_get(obj, name);
	if (!v)
		return 0;
	double d;
	if (json_is_integer(v))
		d = (double)json_integer_value(v);
	else if (json_is_real(v))
		d = json_real_value(v);
	else
		return -1;
	if (!isfinite(d) || d < 0 || d > (double)MAX_NUMERIC_DATE)
		return -1;
	*out = json_is_integer(v) ? (int64_t)json_integer_value(v)
	                          : (int64_t)(round_up ? ceil(d) : floor(d));
	return 1;
}

/* ---- the signature ---- */

static int check_hmac(const struct gw_secret *secret, enum gw_jwt_alg alg, const char *signed_part,
                      size_t signed_n, const char *sig, size_t sig_n)
{
	const EVP_MD *md = alg == GW_JWT_HS256   ? EVP_sha256()
	                   : alg == GW_JWT_HS384 ? EVP_sha384()
	                                         : EVP_sha512();
	unsigned char mac[EVP_MAX_MD_SIZE], given[EVP_MAX_MD_SIZE];
	unsigned int mac_n = 0;
	size_t given_n = 0;
	int ok = HMAC(md, secret->p, (int)secret->n, (const unsigned char *)signed_part, signed_n,
	              mac, &mac_n) != NULL &&
	         gw_base64_decode(sig, sig_n, GW_B64_URL, given, sizeof(given), &given_n) ==
	             GW_SECRET_OK &&
	         gw_ct_equal(mac, mac_n, given, given_n);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

/* libjwt's verification of the whole token with exactly this key and alg. */
static int libjwt_verify(const char *token, size_t token_n, const unsigned char *key, size_t key_n,
                         enum gw_jwt_alg alg)
{
	char *copy = malloc(token_n + 1);
	if (!copy)
		return GW_JWT_ERR_NOMEM;
	memcpy(copy, token, token_n);
	copy[token_n] = '\0';
	jwt_t *jwt = NULL;
	int r = jwt_decode(&jwt, copy, key, (int)key_n);
	/* Belt and braces: the alg libjwt verified with must be the one we chose. */
	int ok = r == 0 && jwt && jwt_get_alg(jwt) == algs[alg].lib;
	jwt_free(jwt);
	OPENSSL_cleanse(copy, token_n);
	free(copy);
	return ok ? GW_JWT_OK : GW_JWT_ERR_BAD_SIGNATURE;
}

/* ---- claims ---- */

void gw_jwt_claims_free(struct gw_jwt_claims *c)
{
	if (!c)
		return;
	free(c->iss);
	free(c->sub);
	for (size_t i = 0; i < c->n_aud; i++)
		free(c->aud[i]);
	free(c->aud);
	free(c->kid);
	json_decref(c->all);
	memset(c, 0, sizeof(*c));
}

static char *dup_or_fail(const char *s, bool *failed)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

/* Checks aud against the issuer's audiences and copies it into c. */
static int check_audience(json_t *payload, const struct gw_jwt_issuer *iss, struct gw_jwt_claims *c,
                          struct gw_jwt_error *err)
{
	json_t *aud = json_object_get(payload, "aud");
	if (!aud)
		return gw_jwt_fail(err, GW_JWT_ERR_WRONG_AUDIENCE,
		                   "token for issuer %s has no aud claim", issuer_name(iss));
	size_t count = json_is_array(aud) ? json_array_size(aud) : 1;
	if ((!json_is_string(aud) && !json_is_array(aud)) || count == 0 || count > 64)
		return gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
		                   "token for issuer %s: aud must be a string or a non-empty array "
		                   "of at most 64 strings",
		                   issuer_name(iss));
	c->aud = calloc(count, sizeof(*c->aud));
	if (!c->aud)
		return gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "JWT: out of memory");
	for (size_t i = 0; i < count; i++) {
		json_t *v = json_is_array(aud) ? json_array_get(aud, i) : aud;
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
			                   "token for issuer %s: every aud entry must be a string",
			                   issuer_name(iss));
		c->aud[i] = strdup(json_string_value(v));
		if (!c->aud[i])
			return gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "JWT: out of memory");
		c->n_aud = i + 1;
	}
	for (size_t i = 0; i < c->n_aud && !c->audience; i++)
		for (size_t j = 0; j < iss->n_audiences; j++)
			if (strcmp(c->aud[i], iss->audiences[j]) == 0) {
				c->audience = c->aud[i];
				break;
			}
	if (!c->audience)
		return gw_jwt_fail(
		    err, GW_JWT_ERR_WRONG_AUDIENCE,
		    "token for issuer %s is not meant for this gateway: its aud names "
		    "none of the %zu configured audiences",
		    issuer_name(iss), iss->n_audiences);
	return GW_JWT_OK;
}

static int check_times(json_t *payload, const struct gw_jwt_issuer *iss, int64_t now,
                       struct gw_jwt_claims *c, struct gw_jwt_error *err)
{
	const char *name = issuer_name(iss);
	int has_exp = member_time(payload, "exp", false, &c->exp);
	int has_nbf = member_time(payload, "nbf", true, &c->nbf);
	int has_iat = member_time(payload, "iat", true, &c->iat);
	if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
		return gw_jwt_fail(
		    err, GW_JWT_ERR_MALFORMED,
		    "token for issuer %s: exp, nbf and iat must be NumericDate numbers", name);
	if (!has_exp)
		return gw_jwt_fail(err, GW_JWT_ERR_MISSING_CLAIM,
		                   "token for issuer %s has no exp claim; tokens must expire",
		                   name);
	c->has_nbf = has_nbf;
	c->has_iat = has_iat;
	int64_t leeway = iss->leeway;
	/* RFC 7519 4.1.4: valid only while now is before exp. */
	if (now >= c->exp + leeway)
		return gw_jwt_fail(err, GW_JWT_ERR_EXPIRED,
		                   "token for issuer %s expired %lld s ago (leeway %lld s)", name,
		                   (long long)(now - c->exp), (long long)leeway);
	if (has_nbf && now + leeway < c->nbf)
		return gw_jwt_fail(
		    err, GW_JWT_ERR_NOT_YET_VALID,
		    "token for issuer %s is not valid for another %lld s (nbf; leeway "
		    "%lld s)",
		    name, (long long)(c->nbf - now), (long long)leeway);
	if (has_iat && now + leeway < c->iat)
		return gw_jwt_fail(
		    err, GW_JWT_ERR_NOT_YET_VALID,
		    "token for issuer %s was issued %lld s in the future (iat; leeway "
		    "%lld s)",
		    name, (long long)(c->iat - now), (long long)leeway);
	if (has_iat && c->exp - c->iat > iss->max_lifetime)
		return gw_jwt_fail(
		    err, GW_JWT_ERR_LIFETIME,
		    "token for issuer %s lives %lld s (exp - iat), more than the %lld s "
		    "allowed",
		    name, (long long)(c->exp - c->iat), (long long)iss->max_lifetime);
	/* Without iat, or with an iat that lies, the time left still has to fit. */
	if (c->exp - now > iss->max_lifetime + leeway)
		return gw_jwt_fail(err, GW_JWT_ERR_LIFETIME,
		                   "token for issuer %s is valid for another %lld s, more than the "
		                   "%lld s allowed",
		                   name, (long long)(c->exp - now), (long long)iss->max_lifetime);
	return GW_JWT_OK;
}

/* ---- verification ---- */

static const struct gw_jwk *find_key(const struct gw_jwks *set, const char *kid)
{
	if (!kid)
		return set->n == 1 ? &set->keys[0] : NULL;
	for (size_t i = 0; i < set->n; i++)
		if (set->keys[i].kid && strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}

int gw_jwt_verify(const struct gw_jwt_issuer *issuers, size_t n, const char *token, size_t token_n,
                  int64_t now, struct gw_jwt_claims *claims, struct gw_jwt_error *err)
{
	gw_jwt_clear_error(err);
	if (!claims)
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "JWT: no claims output");
	memset(claims, 0, sizeof(*claims));
	if ((!issuers && n) || (!token && token_n))
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "JWT: missing argument");
	if (now < 0 || now > MAX_NUMERIC_DATE)
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "JWT: the clock reads %lld, not a time",
		                   (long long)now);
	if (token_n > GW_JWT_MAX_TOKEN)
		return gw_jwt_fail(err, GW_JWT_ERR_TOO_LARGE,
		                   "token of %zu bytes is over the %d byte limit", token_n,
		                   GW_JWT_MAX_TOKEN);

	/* 1. Compact form: header.payload.signature, base64url characters only. */
	size_t dot[2], dots = 0;
	for (size_t i = 0; i < token_n; i++) {
		unsigned char ch = (unsigned char)token[i];
		if (ch == '.') {
			if (dots == 2)
				return gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
				                   "token has more than three segments (JWE is not "
				                   "accepted)");
			dot[dots++] = i;
		} else if (!b64url_char(ch)) {
			return gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
			                   "token has a character outside base64url at offset %zu",
			                   i);
		}
	}
	if (dots != 2 || dot[0] == 0 || dot[1] == dot[0] + 1)
		return gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
		                   "token is not header.payload.signature in compact form");
	const char *sig = token + dot[1] + 1;
	size_t sig_n = token_n - dot[1] - 1;

	/* 2. Header and payload, strictly decoded. */
	json_t *header = segment_json(token, dot[0]);
	json_t *payload = NULL;
	int rc = GW_JWT_OK;
	bool present;
	if (!header) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
		                 "token header is not base64url of a JSON object without duplicate "
		                 "names");
		goto out;
	}
	const char *alg_s = member_string(header, "alg", &present);
	if (!alg_s) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_MALFORMED, "token header has no string alg");
		goto out;
	}
	if (strcasecmp(alg_s, "none") == 0) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_ALG_NONE,
		                 "unsigned tokens (alg none) are never accepted");
		goto out;
	}
	int alg = gw_jwt_alg_from_name(alg_s, strlen(alg_s));
	if (alg < 0) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_ALG_NOT_ALLOWED,
		                 "token alg is not one taskgate verifies (RS256/384/512, "
		                 "ES256/384/512, HS256/384/512)");
		goto out;
	}
	if (json_object_get(header, "crit")) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
		                 "token header has crit extensions, which taskgate does not "
		                 "implement (RFC 7515 4.1.11: refuse)");
		goto out;
	}
	const char *typ = member_string(header, "typ", &present);
	if (present && (!typ || strcasecmp(typ, "JWT") != 0)) {
		/* libjwt 1.10.2 refuses any other typ; say so instead of "bad signature". */
		rc = gw_jwt_fail(err, GW_JWT_ERR_MALFORMED, "token header typ must be JWT");
		goto out;
	}
	const char *kid = member_string(header, "kid", &present);
	if (present && (!kid || !*kid || strlen(kid) > KID_MAX)) {
		rc =
		    gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
		                "token header kid must be a string of 1 to %d characters", KID_MAX);
		goto out;
	}
	payload = segment_json(token + dot[0] + 1, dot[1] - dot[0] - 1);
	if (!payload) {
		rc =
		    gw_jwt_fail(err, GW_JWT_ERR_MALFORMED,
		                "token payload is not base64url of a JSON object without duplicate "
		                "names");
		goto out;
	}

	/* 3. Issuer, algorithm, key. */
	json_t *iss_j = json_object_get(payload, "iss");
	if (!iss_j) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_MISSING_CLAIM, "token has no iss claim");
		goto out;
	}
	if (!json_is_string(iss_j)) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_MALFORMED, "token iss claim is not a string");
		goto out;
	}
	const struct gw_jwt_issuer *iss = NULL;
	for (size_t i = 0; i < n && !iss; i++) {
		const char *want = issuers[i].issuer;
		if (want && strlen(want) == json_string_length(iss_j) &&
		    memcmp(want, json_string_value(iss_j), json_string_length(iss_j)) == 0)
			iss = &issuers[i];
	}
	if (!iss) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_UNKNOWN_ISSUER,
		                 "token iss matches none of the %zu configured issuers", n);
		goto out;
	}
	rc = gw_jwt_issuer_check(iss, err);
	if (rc != GW_JWT_OK)
		goto out;
	if (!(issuer_algs(iss) & GW_JWT_ALG_BIT(alg))) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_ALG_NOT_ALLOWED,
		                 "alg %s is not allowed for issuer %s%s", algs[alg].name,
		                 iss->issuer,
		                 (GW_JWT_ALG_BIT(alg) & GW_JWT_ALGS_HMAC) && !iss->hmac_secret
		                     ? " (HS algorithms need a configured HMAC secret)"
		                     : "");
		goto out;
	}
	const unsigned char *key;
	size_t key_n;
	if (GW_JWT_ALG_BIT(alg) & GW_JWT_ALGS_HMAC) {
		/* Only ever the issuer's secret: never a public key's bytes. */
		if (iss->hmac_secret->n < algs[alg].hmac_len) {
			rc = gw_jwt_fail(
			    err, GW_JWT_ERR_ALG_NOT_ALLOWED,
			    "alg %s needs an HMAC secret of %zu bytes; issuer %s has %zu",
			    algs[alg].name, algs[alg].hmac_len, iss->issuer, iss->hmac_secret->n);
			goto out;
		}
		if (!check_hmac(iss->hmac_secret, (enum gw_jwt_alg)alg, token, dot[1], sig,
		                sig_n)) {
			rc = gw_jwt_fail(err, GW_JWT_ERR_BAD_SIGNATURE,
			                 "token signature does not verify with the HMAC secret of "
			                 "issuer %s",
			                 iss->issuer);
			goto out;
		}
		key = iss->hmac_secret->p;
		key_n = iss->hmac_secret->n;
	} else {
		const struct gw_jwk *k = find_key(iss->keys, kid);
		if (!k) {
			if (kid)
				rc =
				    gw_jwt_fail(err, GW_JWT_ERR_UNKNOWN_KID,
				                "token kid names no key of issuer %s", iss->issuer);
			else
				rc = gw_jwt_fail(
				    err, GW_JWT_ERR_UNKNOWN_KID,
				    "token has no kid and issuer %s has %zu keys to choose "
				    "from",
				    iss->issuer, iss->keys->n);
			goto out;
		}
		if (!(k->algs & GW_JWT_ALG_BIT(alg))) {
			rc = gw_jwt_fail(err, GW_JWT_ERR_ALG_NOT_ALLOWED,
			                 "alg %s does not fit issuer %s's key%s%s (%s, %d bits)",
			                 algs[alg].name, iss->issuer, k->kid ? " " : "",
			                 k->kid ? k->kid : "", k->kind == GW_JWK_RSA ? "RSA" : "EC",
			                 k->bits);
			goto out;
		}
		key = (const unsigned char *)k->pem;
		key_n = k->pem_n;
	}
	if (sig_n == 0) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_BAD_SIGNATURE, "token has an empty signature");
		goto out;
	}

	/* 4. The signature, by libjwt, with the key and alg chosen above. */
	rc = libjwt_verify(token, token_n, key, key_n, (enum gw_jwt_alg)alg);
	if (rc == GW_JWT_ERR_NOMEM) {
		rc = gw_jwt_fail(err, rc, "JWT: out of memory");
		goto out;
	}
	if (rc != GW_JWT_OK) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_BAD_SIGNATURE,
		                 "token signature does not verify with issuer %s's %s key",
		                 iss->issuer, algs[alg].name);
		goto out;
	}

	/* 5. Claims, now that we know who wrote them. */
	rc = check_times(payload, iss, now, claims, err);
	if (rc == GW_JWT_OK)
		rc = check_audience(payload, iss, claims, err);
	if (rc != GW_JWT_OK)
		goto out;
	const char *sub = member_string(payload, "sub", &present);
	if (present && !sub) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_MALFORMED, "token sub claim is not a string");
		goto out;
	}
	bool oom = false;
	claims->issuer = iss;
	claims->iss = dup_or_fail(iss->issuer, &oom);
	claims->sub = dup_or_fail(sub, &oom);
	claims->kid = dup_or_fail(kid, &oom);
	claims->alg = (enum gw_jwt_alg)alg;
	claims->all = json_incref(payload);
	if (oom) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "JWT: out of memory");
		goto out;
	}
	rc = GW_JWT_OK;
out:
	if (rc != GW_JWT_OK)
		gw_jwt_claims_free(claims);
	json_decref(header);
	json_decref(payload);
	return rc;
}

/* ---- helpers for the server ---- */

int gw_jwt_bearer_token(const char *value, size_t n, const char **token, size_t *token_n)
{
	if (!value || !token || !token_n)
		return GW_JWT_ERR_ARG;
	*token = NULL;
	*token_n = 0;
	static const char scheme[] = "Bearer";
	size_t s = sizeof(scheme) - 1;
	if (n <= s + 1 || strncasecmp(value, scheme, s) != 0 || value[s] != ' ')
		return GW_JWT_ERR_MALFORMED;
	size_t i = s;
	while (i < n && value[i] == ' ')
		i++;
	size_t end = n;
	while (end > i && value[end - 1] == ' ')
		end--;
	if (end == i)
		return GW_JWT_ERR_MALFORMED;
	for (size_t k = i; k < end; k++)
		if (value[k] == ' ' || value[k] == '\t' || (unsigned char)value[k] < 0x21 ||
		    (unsigned char)value[k] > 0x7e)
			return GW_JWT_ERR_MALFORMED;
	*token = value + i;
	*token_n = end - i;
	return GW_JWT_OK;
}

int gw_jwt_condition_prefix(const char *issuer, char *out, size_t out_size)
{
	if (!issuer || !out || out_size == 0)
		return GW_JWT_ERR_ARG;
	static const char https[] = "https://";
	if (strncmp(issuer, https, sizeof(https) - 1) == 0)
		issuer += sizeof(https) - 1;
	int w = snprintf(out, out_size, "%s", issuer);
	if (w < 0 || (size_t)w >= out_size) {
		out[0] = '\0';
		return GW_JWT_ERR_ARG;
	}
	return GW_JWT_OK;
}
