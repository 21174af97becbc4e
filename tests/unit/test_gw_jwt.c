/*
 * test_gw_jwt.c - JWT bearer-token verification and JWKS key sets.
 *
 * Keys are generated here with OpenSSL on every run (RSA-2048, a second
 * RSA-2048 as the forger's key, EC P-256, P-384 and P-521), so no private key
 * is ever committed. Tokens are signed with libjwt's jwt_encode_str, the way an
 * identity provider would, except the attacks, which are crafted by hand: alg
 * none, HS256 keyed with the RSA public key PEM, tokens with altered payloads.
 * The verifier's key set is built from JWKS documents made from the same keys,
 * so the JWK -> PEM conversion is exercised by every accepted token.
 *
 * Each rule is tested from both sides: the token that must pass next to the
 * one that must not. The clock is frozen at NOW.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gateway/jwt_auth.h"
#include "tests/unit/check.h"

#define NOW ((int64_t)1700000000)
#define ISS "https://idp.example.com/tenant-1"
#define AUD "taskgate"

struct tkey {
	EVP_PKEY *pkey;
	char *priv_pem;
	char *pub_pem;
};

static struct tkey rsa_a, rsa_b, ec256, ec384, ec521;
static struct gw_jwks *keyset; /* rsa-a, ec-256, ec-384, ec-521 from a JWKS */
static struct gw_secret hmac32, hmac64;
static const char *const auds[] = {AUD, "other-service"};

static char *bio_string(BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *s = malloc((size_t)n + 1);
	if (!s)
		abort();
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

static void make_key(struct tkey *k, EVP_PKEY *pkey)
{
	if (!pkey)
		abort();
	k->pkey = pkey;
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	k->priv_pem = bio_string(b);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_PUBKEY(b, pkey) != 1)
		abort();
	k->pub_pem = bio_string(b);
	BIO_free(b);
}

static char *b64url_bin(const unsigned char *p, size_t n)
{
	size_t len = gw_base64_encoded_len(n, GW_B64_URL) + 1;
	char *s = malloc(len);
	if (!s || gw_base64_encode(p, n, GW_B64_URL, s, len) != GW_SECRET_OK)
		abort();
	return s;
}

static char *b64url_bn(const BIGNUM *bn, int pad)
{
	int n = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = malloc((size_t)n);
	if (!buf || BN_bn2binpad(bn, buf, n) != n)
		abort();
	char *s = b64url_bin(buf, (size_t)n);
	free(buf);
	return s;
}

/* The public JWK of k (kid and alg optional). */
static json_t *jwk_of(const struct tkey *k, const char *kid, const char *alg)
{
	json_t *j = json_object();
	if (EVP_PKEY_is_a(k->pkey, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
			abort();
		json_object_set_new(j, "kty", json_string("RSA"));
		char *ns = b64url_bn(n, 0), *es = b64url_bn(e, 0);
		json_object_set_new(j, "n", json_string(ns));
		json_object_set_new(j, "e", json_string(es));
		free(ns);
		free(es);
		BN_free(n);
		BN_free(e);
	} else {
		BIGNUM *x = NULL, *y = NULL;
		char group[32];
		size_t glen;
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
		    EVP_PKEY_get_group_name(k->pkey, group, sizeof(group), &glen) != 1)
			abort();
		const char *crv = strcmp(group, "prime256v1") == 0  ? "P-256"
		                  : strcmp(group, "secp384r1") == 0 ? "P-384"
		                                                    : "P-521";
		int field = crv[2] == '2' ? 32 : crv[2] == '3' ? 48 : 66;
		json_object_set_new(j, "kty", json_string("EC"));
		json_object_set_new(j, "crv", json_string(crv));
		char *xs = b64url_bn(x, field), *ys = b64url_bn(y, field);
		json_object_set_new(j, "x", json_string(xs));
		json_object_set_new(j, "y", json_string(ys));
		free(xs);
		free(ys);
		BN_free(x);
		BN_free(y);
	}
	if (kid)
		json_object_set_new(j, "kid", json_string(kid));
	if (alg)
		json_object_set_new(j, "alg", json_string(alg));
	return j;
}

static struct gw_jwks *parse_set(json_t *keys_array)
{
	json_t *doc = json_pack("{s:o}", "keys", keys_array);
	char *s = json_dumps(doc, 0);
	struct gw_jwks *set = NULL;
	struct gw_jwt_error err;
	if (gw_jwks_parse(s, strlen(s), &set, &err) != GW_JWT_OK) {
		printf("    JWKS setup failed: %s\n", err.message);
		abort();
	}
	free(s);
	json_decref(doc);
	return set;
}

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	make_key(&rsa_a, EVP_RSA_gen(2048));
	make_key(&rsa_b, EVP_RSA_gen(2048));
	make_key(&ec256, EVP_EC_gen("P-256"));
	make_key(&ec384, EVP_EC_gen("P-384"));
	make_key(&ec521, EVP_EC_gen("P-521"));
	keyset = parse_set(
	    json_pack("[oooo]", jwk_of(&rsa_a, "rsa-a", NULL), jwk_of(&ec256, "ec-256", "ES256"),
	              jwk_of(&ec384, "ec-384", NULL), jwk_of(&ec521, "ec-521", NULL)));
	unsigned char s[64];
	for (int i = 0; i < 64; i++)
		s[i] = (unsigned char)(i * 7 + 1);
	if (gw_secret_from(&hmac32, s, 32) != 0 || gw_secret_from(&hmac64, s, 64) != 0)
		abort();
}

static struct gw_jwt_issuer issuer(void)
{
	setup();
	struct gw_jwt_issuer i = {
	    .issuer = ISS,
	    .audiences = auds,
	    .n_audiences = 2,
	    .keys = keyset,
	    .hmac_secret = NULL,
	    .algs = 0,
	    .leeway = 60,
	    .max_lifetime = 3600,
	};
	return i;
}

/* Default claims: iss, aud, sub, iat now, exp in 10 minutes. */
static json_t *claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", ISS, "aud", AUD, "sub",
	                 "system:serviceaccount:ci:builder", "iat", (json_int_t)NOW, "exp",
	                 (json_int_t)(NOW + 600));
}

/* Signs c (consumed) with libjwt: alg, key bytes, kid (may be NULL). */
static char *sign(jwt_alg_t alg, const void *key, size_t key_n, const char *kid, json_t *c)
{
	jwt_t *jwt = NULL;
	char *grants = json_dumps(c, 0);
	json_decref(c);
	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, grants) != 0 ||
	    (kid && jwt_add_header(jwt, "kid", kid) != 0) ||
	    jwt_set_alg(jwt, alg, key, (int)key_n) != 0)
		abort();
	char *tok = jwt_encode_str(jwt);
	if (!tok)
		abort();
	free(grants);
	jwt_free(jwt);
	return tok;
}

static char *sign_with(jwt_alg_t alg, const struct tkey *k, const char *kid, json_t *c)
{
	return sign(alg, k->priv_pem, strlen(k->priv_pem), kid, c);
}

/* Verifies tok against one issuer; returns the status, checks the message. */
static int verify_one(const struct gw_jwt_issuer *iss, const char *tok, struct gw_jwt_claims *c,
                      struct gw_jwt_error *err)
{
	int rc = gw_jwt_verify(iss, 1, tok, strlen(tok), NOW, c, err);
	if (rc != GW_JWT_OK) {
		/* The message never carries the token or any of its segments. */
		const char *d1 = strchr(tok, '.');
		if (strlen(tok) >= 4)
			CHECK(strstr(err->message, tok) == NULL);
		if (d1 && strlen(d1 + 1) > 8) {
			char seg[9];
			memcpy(seg, d1 + 1, 8);
			seg[8] = '\0';
			CHECK(strstr(err->message, seg) == NULL);
		}
		CHECK(strstr(err->message, "serviceaccount") == NULL);
		CHECK(err->message[0] != '\0');
		CHECK_INT(err->code, rc);
		CHECK(c->all == NULL && c->iss == NULL);
	}
	return rc;
}

static int verify_tok(const struct gw_jwt_issuer *iss, char *tok)
{
	struct gw_jwt_claims c;
	struct gw_jwt_error err;
	int rc = verify_one(iss, tok, &c, &err);
	gw_jwt_claims_free(&c);
	free(tok);
	return rc;
}

/* header and payload JSON by hand, then "." sig (may be ""). */
static char *craft(const char *header, const char *payload, const char *sig)
{
	char *h = b64url_bin((const unsigned char *)header, strlen(header));
	char *p = b64url_bin((const unsigned char *)payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
	char *t = malloc(n);
	if (!t || snprintf(t, n, "%s.%s.%s", h, p, sig) >= (int)n)
		abort();
	free(h);
	free(p);
	return t;
}

static char *default_payload(void)
{
	json_t *c = claims();
	char *s = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return s;
}

/* ---- accepted tokens ---- */

static void accepts_valid_rs256_token_and_returns_claims(void)
{
	struct gw_jwt_issuer iss = issuer();
	json_t *c = claims();
	json_object_set_new(c, "groups", json_pack("[ss]", "dev", "ops"));
	char *tok = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c);
	struct gw_jwt_claims out;
	struct gw_jwt_error err;
	CHECK_INT(verify_one(&iss, tok, &out, &err), GW_JWT_OK);
	CHECK_STR(out.iss, ISS);
	CHECK_STR(out.sub, "system:serviceaccount:ci:builder");
	CHECK_INT(out.n_aud, 1);
	CHECK_STR(out.audience, AUD);
	CHECK_INT(out.exp, NOW + 600);
	CHECK(out.has_iat && out.iat == NOW);
	CHECK(!out.has_nbf);
	CHECK_INT(out.alg, GW_JWT_RS256);
	CHECK_STR(out.kid, "rsa-a");
	CHECK(out.issuer == &iss);
	CHECK(json_is_array(json_object_get(out.all, "groups")));
	gw_jwt_claims_free(&out);
	free(tok);
}

static void accepts_rs384_and_rs512_with_the_rsa_key(void)
{
	struct gw_jwt_issuer iss = issuer();
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS384, &rsa_a, "rsa-a", claims())), GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS512, &rsa_a, "rsa-a", claims())), GW_JWT_OK);
}

static void accepts_es256_es384_es512_each_on_its_curve(void)
{
	struct gw_jwt_issuer iss = issuer();
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "ec-256", claims())),
	          GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES384, &ec384, "ec-384", claims())),
	          GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES512, &ec521, "ec-521", claims())),
	          GW_JWT_OK);
}

static void picks_the_issuer_among_several_by_exact_iss(void)
{
	struct gw_jwt_issuer two[2] = {issuer(), issuer()};
	two[0].issuer = "https://other.example.com";
	char *tok = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims());
	struct gw_jwt_claims c;
	struct gw_jwt_error err;
	CHECK_INT(gw_jwt_verify(two, 2, tok, strlen(tok), NOW, &c, &err), GW_JWT_OK);
	CHECK(c.issuer == &two[1]);
	gw_jwt_claims_free(&c);
	free(tok);
}

/* ---- signatures ---- */

static void refuses_forged_signatures(void)
{
	struct gw_jwt_issuer iss = issuer();
	/* Signed by another RSA key that claims the trusted kid. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_b, "rsa-a", claims())),
	          GW_JWT_ERR_BAD_SIGNATURE);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "ec-256", claims())),
	          GW_JWT_OK);
	/* One signature character changed. */
	char *tok = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims());
	char *last = tok + strlen(tok) - 3;
	*last = *last == 'A' ? 'B' : 'A';
	CHECK_INT(verify_tok(&iss, tok), GW_JWT_ERR_BAD_SIGNATURE);
	tok = sign_with(JWT_ALG_ES256, &ec256, "ec-256", claims());
	last = strrchr(tok, '.') + 5;
	*last = *last == 'A' ? 'B' : 'A';
	CHECK_INT(verify_tok(&iss, tok), GW_JWT_ERR_BAD_SIGNATURE);
	/* Signature removed. */
	tok = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims());
	strrchr(tok, '.')[1] = '\0';
	CHECK_INT(verify_tok(&iss, tok), GW_JWT_ERR_BAD_SIGNATURE);
}

static void refuses_a_payload_changed_after_signing(void)
{
	struct gw_jwt_issuer iss = issuer();
	char *good = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims());
	json_t *c = claims();
	json_object_set_new(c, "sub", json_string("admin"));
	char *other = sign_with(JWT_ALG_RS256, &rsa_b, "rsa-a", c);
	/* good's header and signature around other's payload. */
	char *gd1 = strchr(good, '.'), *gd2 = strrchr(good, '.');
	char *od1 = strchr(other, '.'), *od2 = strrchr(other, '.');
	size_t n = strlen(good) + strlen(other) + 1;
	char *spliced = malloc(n);
	if (!spliced)
		abort();
	int w =
	    snprintf(spliced, n, "%.*s%.*s%s", (int)(gd1 - good), good, (int)(od2 - od1), od1, gd2);
	CHECK(w > 0 && (size_t)w < n);
	CHECK_INT(verify_tok(&iss, spliced), GW_JWT_ERR_BAD_SIGNATURE);
	CHECK_INT(verify_tok(&iss, good), GW_JWT_OK);
	free(other);
}

/* ---- times ---- */

static char *rs_token_times(int64_t iat, int64_t exp, int64_t nbf)
{
	json_t *c = claims();
	if (iat >= 0)
		json_object_set_new(c, "iat", json_integer(iat));
	else
		json_object_del(c, "iat");
	if (exp >= 0)
		json_object_set_new(c, "exp", json_integer(exp));
	else
		json_object_del(c, "exp");
	if (nbf >= 0)
		json_object_set_new(c, "nbf", json_integer(nbf));
	return sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c);
}

static void refuses_expired_tokens_beyond_leeway_only(void)
{
	struct gw_jwt_issuer iss = issuer(); /* leeway 60 */
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 700, NOW - 100, -1)), GW_JWT_ERR_EXPIRED);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 700, NOW - 60, -1)), GW_JWT_ERR_EXPIRED);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 700, NOW - 59, -1)), GW_JWT_OK);
	iss.leeway = 0;
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 700, NOW, -1)), GW_JWT_ERR_EXPIRED);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 700, NOW + 1, -1)), GW_JWT_OK);
}

static void refuses_tokens_not_yet_valid_beyond_leeway_only(void)
{
	struct gw_jwt_issuer iss = issuer(); /* leeway 60 */
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW, NOW + 600, NOW + 61)),
	          GW_JWT_ERR_NOT_YET_VALID);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW, NOW + 600, NOW + 60)), GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW, NOW + 600, NOW - 5)), GW_JWT_OK);
	/* iat in the future is the same lie as nbf in the future. */
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW + 120, NOW + 600, -1)),
	          GW_JWT_ERR_NOT_YET_VALID);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW + 30, NOW + 600, -1)), GW_JWT_OK);
}

static void refuses_tokens_without_exp(void)
{
	struct gw_jwt_issuer iss = issuer();
	struct gw_jwt_claims c;
	struct gw_jwt_error err;
	char *tok = rs_token_times(NOW, -1, -1);
	CHECK_INT(verify_one(&iss, tok, &c, &err), GW_JWT_ERR_MISSING_CLAIM);
	CHECK(strstr(err.message, "exp") != NULL);
	free(tok);
	json_t *cl = claims();
	json_object_set_new(cl, "exp", json_string("tomorrow"));
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", cl)),
	          GW_JWT_ERR_MALFORMED);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW, NOW + 600, -1)), GW_JWT_OK);
}

static void refuses_lifetimes_over_the_maximum(void)
{
	struct gw_jwt_issuer iss = issuer(); /* max 3600 */
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 10, NOW + 3591, -1)), GW_JWT_ERR_LIFETIME);
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 10, NOW + 3590, -1)), GW_JWT_OK);
	/* No iat: the time left is what counts. */
	CHECK_INT(verify_tok(&iss, rs_token_times(-1, NOW + 86400, -1)), GW_JWT_ERR_LIFETIME);
	CHECK_INT(verify_tok(&iss, rs_token_times(-1, NOW + 3000, -1)), GW_JWT_OK);
	/* An old iat does not buy a far exp. */
	CHECK_INT(verify_tok(&iss, rs_token_times(NOW - 86400 + 100, NOW + 86400, -1)),
	          GW_JWT_ERR_LIFETIME);
}

/* ---- issuer and audience ---- */

static void refuses_unknown_issuers_compared_exactly(void)
{
	struct gw_jwt_issuer iss = issuer();
	static const char *const wrong[] = {
	    "https://idp.example.com/tenant-1/", "https://IDP.example.com/tenant-1",
	    "http://idp.example.com/tenant-1",   "https://idp.example.com/tenant-12",
	    "idp.example.com/tenant-1",
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		json_t *c = claims();
		json_object_set_new(c, "iss", json_string(wrong[i]));
		CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
		          GW_JWT_ERR_UNKNOWN_ISSUER);
	}
	json_t *c = claims();
	json_object_del(c, "iss");
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
	          GW_JWT_ERR_MISSING_CLAIM);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims())), GW_JWT_OK);
}

static void requires_an_allowed_audience(void)
{
	struct gw_jwt_issuer iss = issuer();
	json_t *c = claims();
	json_object_set_new(c, "aud", json_string("someone-else"));
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
	          GW_JWT_ERR_WRONG_AUDIENCE);
	c = claims();
	json_object_set_new(c, "aud", json_string("TASKGATE"));
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
	          GW_JWT_ERR_WRONG_AUDIENCE);
	c = claims();
	json_object_del(c, "aud");
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
	          GW_JWT_ERR_WRONG_AUDIENCE);
	c = claims();
	json_object_set_new(c, "aud", json_pack("[s]", "someone-else"));
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
	          GW_JWT_ERR_WRONG_AUDIENCE);
	c = claims();
	json_object_set_new(c, "aud", json_pack("[i]", 5));
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c)),
	          GW_JWT_ERR_MALFORMED);
	/* An array holding an allowed audience is accepted. */
	c = claims();
	json_object_set_new(c, "aud", json_pack("[ss]", "someone-else", "other-service"));
	char *tok = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", c);
	struct gw_jwt_claims out;
	struct gw_jwt_error err;
	CHECK_INT(verify_one(&iss, tok, &out, &err), GW_JWT_OK);
	CHECK_INT(out.n_aud, 2);
	CHECK_STR(out.audience, "other-service");
	gw_jwt_claims_free(&out);
	free(tok);
}

/* ---- algorithms ---- */

static void refuses_alg_none_always(void)
{
	struct gw_jwt_issuer iss = issuer();
	iss.hmac_secret = &hmac32; /* not even an issuer with a secret */
	char *payload = default_payload();
	static const char *const headers[] = {
	    "{\"alg\":\"none\"}",
	    "{\"alg\":\"none\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"None\"}",
	    "{\"alg\":\"NONE\",\"kid\":\"rsa-a\"}",
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		CHECK_INT(verify_tok(&iss, craft(headers[i], payload, "")), GW_JWT_ERR_ALG_NONE);
		CHECK_INT(verify_tok(&iss, craft(headers[i], payload, "c2lnbmF0dXJl")),
		          GW_JWT_ERR_ALG_NONE);
	}
	/* libjwt itself would let an unsigned token through when given no key. */
	char *tok = craft(headers[0], payload, "");
	jwt_t *jwt = NULL;
	CHECK_INT(jwt_decode(&jwt, tok, NULL, 0), 0);
	jwt_free(jwt);
	free(tok);
	free(payload);
}

static void refuses_hs256_keyed_with_the_rsa_public_key(void)
{
	struct gw_jwt_issuer iss = issuer();
	const char *pub = keyset->keys[0].pem; /* exactly the PEM the verifier holds */
	size_t pub_n = keyset->keys[0].pem_n;
	/* No HMAC secret configured: HS* is not allowed at all. */
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, pub, pub_n, "rsa-a", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, rsa_a.pub_pem, strlen(rsa_a.pub_pem), NULL,
	                                claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	/* With a secret configured, HS* is checked with the secret only. */
	iss.hmac_secret = &hmac32;
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, pub, pub_n, "rsa-a", claims())),
	          GW_JWT_ERR_BAD_SIGNATURE);
	/* Even an allow-list naming HS256 cannot make a public key an HMAC key. */
	iss.algs = GW_JWT_ALG_BIT(GW_JWT_HS256) | GW_JWT_ALGS_RSA;
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, pub, pub_n, "rsa-a", claims())),
	          GW_JWT_ERR_BAD_SIGNATURE);
	/* The honest RS256 token of the same issuer still passes. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims())), GW_JWT_OK);
}

static void accepts_hs_tokens_only_with_the_configured_secret(void)
{
	struct gw_jwt_issuer iss = issuer();
	iss.keys = NULL;
	iss.hmac_secret = &hmac32;
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, hmac32.p, hmac32.n, NULL, claims())),
	          GW_JWT_OK);
	unsigned char wrong[32];
	memcpy(wrong, hmac32.p, 32);
	wrong[31] ^= 1;
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, wrong, 32, NULL, claims())),
	          GW_JWT_ERR_BAD_SIGNATURE);
	/* HS512 needs a 64-byte secret: refused with 32, accepted with 64. */
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS512, hmac32.p, hmac32.n, NULL, claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	iss.hmac_secret = &hmac64;
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS512, hmac64.p, hmac64.n, NULL, claims())),
	          GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS384, hmac64.p, hmac64.n, NULL, claims())),
	          GW_JWT_OK);
	/* An HMAC-only issuer has no key for RS256. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
}

static void honours_the_issuer_allow_list(void)
{
	struct gw_jwt_issuer iss = issuer();
	iss.algs = GW_JWT_ALG_BIT(GW_JWT_RS256);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims())), GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS512, &rsa_a, "rsa-a", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "ec-256", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	/* An alg this build does not know is refused, not guessed at. */
	char *payload = default_payload();
	CHECK_INT(verify_tok(&iss, craft("{\"alg\":\"PS256\",\"kid\":\"rsa-a\"}", payload, "AAAA")),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	CHECK_INT(verify_tok(&iss, craft("{\"alg\":\"rs256\",\"kid\":\"rsa-a\"}", payload, "AAAA")),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	free(payload);
}

/* ---- kid and key type ---- */

static void chooses_the_key_by_kid(void)
{
	struct gw_jwt_issuer iss = issuer();
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "no-such-key", claims())),
	          GW_JWT_ERR_UNKNOWN_KID);
	/* Without kid: refused when the set has several keys... */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, NULL, claims())),
	          GW_JWT_ERR_UNKNOWN_KID);
	/* ...accepted when it has exactly one. */
	struct gw_jwks *one = parse_set(json_pack("[o]", jwk_of(&rsa_a, "only", NULL)));
	iss.keys = one;
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, NULL, claims())), GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "only", claims())), GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "other", claims())),
	          GW_JWT_ERR_UNKNOWN_KID);
	gw_jwks_free(one);
}

static void refuses_a_kid_that_picks_the_wrong_key_type(void)
{
	struct gw_jwt_issuer iss = issuer();
	/* ES256 token naming the RSA key. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "rsa-a", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	/* RS256 token naming an EC key. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "ec-256", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	/* ES384 token naming the P-256 key, ES256 naming the P-384 key. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES384, &ec384, "ec-256", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "ec-384", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	/* The right pairing passes. */
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES384, &ec384, "ec-384", claims())),
	          GW_JWT_OK);
}

static void a_jwk_alg_narrows_what_its_key_verifies(void)
{
	setup();
	struct gw_jwks *set = parse_set(json_pack("[o]", jwk_of(&rsa_a, "k", "RS512")));
	struct gw_jwt_issuer iss = issuer();
	iss.keys = set;
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS512, &rsa_a, "k", claims())), GW_JWT_OK);
	CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_RS256, &rsa_a, "k", claims())),
	          GW_JWT_ERR_ALG_NOT_ALLOWED);
	gw_jwks_free(set);
}

/* ---- shape ---- */

static void refuses_malformed_and_oversized_tokens(void)
{
	struct gw_jwt_issuer iss = issuer();
	char *good = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims());
	char *payload = default_payload();
	const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"rsa-a\"}";
	char *cases[] = {
	    strdup(""),
	    strdup("abc"),
	    strdup("abc.def"),
	    strdup("a.b.c.d"),
	    strdup("..sig"),
	    craft("not json", payload, "AAAA"),
	    craft("[\"alg\",\"RS256\"]", payload, "AAAA"),
	    craft("{\"alg\":\"RS256\",\"alg\":\"none\"}", payload, "AAAA"),
	    craft(hdr, "{\"iss\":\"" ISS "\",\"iss\":\"x\"}", "AAAA"),
	    craft(hdr, "not json", "AAAA"),
	    craft("{\"alg\":5}", payload, "AAAA"),
	    craft("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", payload, "AAAA"),
	    craft("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", payload, "AAAA"),
	    craft("{\"alg\":\"RS256\",\"kid\":7}", payload, "AAAA"),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = verify_tok(&iss, cases[i]);
		if (rc != GW_JWT_ERR_MALFORMED)
			printf("    case %zu gave %s\n", i, gw_jwt_status_name(rc));
		CHECK_INT(rc, GW_JWT_ERR_MALFORMED);
	}
	/* Padding, white space and foreign characters in an otherwise good token. */
	size_t n = strlen(good);
	char *padded = malloc(n + 2);
	char *dot = strchr(good, '.');
	if (!padded || !dot)
		abort();
	memcpy(padded, good, (size_t)(dot - good));
	padded[dot - good] = '=';
	memcpy(padded + (dot - good) + 1, dot, n - (size_t)(dot - good) + 1);
	CHECK_INT(verify_tok(&iss, padded), GW_JWT_ERR_MALFORMED);
	char *spaced = strdup(good);
	spaced[5] = ' ';
	CHECK_INT(verify_tok(&iss, spaced), GW_JWT_ERR_MALFORMED);
	/* Size is capped before anything is decoded. */
	char *big = malloc(GW_JWT_MAX_TOKEN + 2);
	if (!big)
		abort();
	memset(big, 'A', GW_JWT_MAX_TOKEN + 1);
	big[GW_JWT_MAX_TOKEN + 1] = '\0';
	CHECK_INT(verify_tok(&iss, big), GW_JWT_ERR_TOO_LARGE);
	CHECK_INT(verify_tok(&iss, good), GW_JWT_OK);
	free(payload);
}

static void a_token_need_not_be_nul_terminated(void)
{
	struct gw_jwt_issuer iss = issuer();
	char *tok = sign_with(JWT_ALG_RS256, &rsa_a, "rsa-a", claims());
	size_t n = strlen(tok);
	char *buf = malloc(n + 8);
	if (!buf)
		abort();
	memcpy(buf, tok, n);
	memcpy(buf + n, "garbage", 8);
	struct gw_jwt_claims c;
	struct gw_jwt_error err;
	CHECK_INT(gw_jwt_verify(&iss, 1, buf, n, NOW, &c, &err), GW_JWT_OK);
	gw_jwt_claims_free(&c);
	CHECK(gw_jwt_verify(&iss, 1, buf, n + 3, NOW, &c, &err) != GW_JWT_OK);
	free(buf);
	free(tok);
}

/* ---- issuer configuration ---- */

static void refuses_unusable_issuer_configuration(void)
{
	struct gw_jwt_error err;
	struct gw_jwt_issuer iss = issuer();
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_OK);
	iss.n_audiences = 0;
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	CHECK(strstr(err.message, "audience") != NULL);
	iss = issuer();
	iss.max_lifetime = 0;
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	iss = issuer();
	iss.max_lifetime = INT64_MAX;
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	iss = issuer();
	iss.leeway = 3600;
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	iss = issuer();
	iss.keys = NULL;
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	iss = issuer();
	iss.algs = GW_JWT_ALG_BIT(GW_JWT_HS256);
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	struct gw_secret short_secret;
	CHECK_INT(gw_secret_from(&short_secret, "0123456789abcdef", 16), GW_SECRET_OK);
	iss = issuer();
	iss.hmac_secret = &short_secret;
	CHECK_INT(gw_jwt_issuer_check(&iss, &err), GW_JWT_ERR_CONFIG);
	/* A token for a misconfigured issuer is refused too. */
	CHECK_INT(verify_tok(&iss, sign(JWT_ALG_HS256, short_secret.p, 16, NULL, claims())),
	          GW_JWT_ERR_CONFIG);
	gw_secret_free(&short_secret);
}

/* ---- JWKS ---- */

static int jwks_status(const char *json, struct gw_jwt_error *err)
{
	struct gw_jwks *set = NULL;
	int rc = gw_jwks_parse(json, strlen(json), &set, err);
	CHECK((rc == GW_JWT_OK) == (set != NULL));
	gw_jwks_free(set);
	return rc;
}

static char *jwks_with(json_t *key)
{
	json_t *doc = json_pack("{s:[o]}", "keys", key);
	char *s = json_dumps(doc, 0);
	json_decref(doc);
	return s;
}

static int jwk_status_after(json_t *key, const char *member, json_t *value,
                            struct gw_jwt_error *err)
{
	if (value)
		json_object_set_new(key, member, value);
	else
		json_object_del(key, member);
	char *s = jwks_with(key);
	int rc = jwks_status(s, err);
	free(s);
	return rc;
}

static void jwks_keeps_signing_keys_and_skips_others(void)
{
	setup();
	json_t *enc = jwk_of(&rsa_b, "enc-key", NULL);
	json_object_set_new(enc, "use", json_string("enc"));
	json_t *okp = json_pack("{s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
	                        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid", "ed");
	json_t *ps = jwk_of(&rsa_b, "ps", "PS256");
	json_t *wrap = jwk_of(&rsa_b, "wrap", NULL);
	json_object_set_new(wrap, "key_ops", json_pack("[s]", "wrapKey"));
	json_t *sig = jwk_of(&ec256, "sig", NULL);
	json_object_set_new(sig, "use", json_string("sig"));
	json_object_set_new(sig, "key_ops", json_pack("[s]", "verify"));
	json_t *doc = json_pack("{s:[ooooo]}", "keys", enc, okp, ps, wrap, sig);
	char *s = json_dumps(doc, 0);
	struct gw_jwks *set = NULL;
	struct gw_jwt_error err;
	CHECK_INT(gw_jwks_parse(s, strlen(s), &set, &err), GW_JWT_OK);
	if (set) {
		CHECK_INT(set->n, 1);
		CHECK_INT(set->skipped, 4);
		CHECK_STR(set->keys[0].kid, "sig");
		CHECK(set->keys[0].kind == GW_JWK_EC);
		CHECK_INT(set->keys[0].algs, GW_JWT_ALG_BIT(GW_JWT_ES256));
		CHECK(strstr(set->keys[0].pem, "BEGIN PUBLIC KEY") != NULL);
	}
	gw_jwks_free(set);
	free(s);
	json_decref(doc);
	/* A single bare JWK is a set of one. */
	json_t *bare = jwk_of(&rsa_a, "bare", NULL);
	s = json_dumps(bare, 0);
	CHECK_INT(jwks_status(s, &err), GW_JWT_OK);
	free(s);
	json_decref(bare);
}

static void jwks_refuses_malformed_documents(void)
{
	setup();
	struct gw_jwt_error err;
	CHECK_INT(jwks_status("", &err), GW_JWT_ERR_KEYSET);
	CHECK_INT(jwks_status("{\"keys\":", &err), GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "not valid JSON") != NULL);
	CHECK_INT(jwks_status("[]", &err), GW_JWT_ERR_KEYSET);
	CHECK_INT(jwks_status("{\"keys\":{}}", &err), GW_JWT_ERR_KEYSET);
	CHECK_INT(jwks_status("{\"keys\":[]}", &err), GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "no usable") != NULL);
	CHECK_INT(jwks_status("{\"keys\":[5]}", &err), GW_JWT_ERR_KEYSET);
	CHECK_INT(jwks_status("{\"keys\":[],\"keys\":[]}", &err), GW_JWT_ERR_KEYSET);
	/* The well-formed document next to them parses. */
	char *ok = jwks_with(jwk_of(&rsa_a, "a", NULL));
	CHECK_INT(jwks_status(ok, &err), GW_JWT_OK);
	free(ok);
}

static void jwks_refuses_malformed_rsa_keys(void)
{
	setup();
	struct gw_jwt_error err;
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "n", NULL, &err), GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "\"n\" is missing") != NULL);
	CHECK(strstr(err.message, "kid \"a\"") != NULL);
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "e", json_string("AQAB=="), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "e", json_integer(65537), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "e", json_string("AQA+"), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "e", json_string("Ag"), &err),
	          GW_JWT_ERR_KEYSET); /* even exponent */
	/* A 1024-bit modulus is too weak. */
	EVP_PKEY *weak = EVP_RSA_gen(1024);
	struct tkey w = {weak, NULL, NULL};
	CHECK_INT(jwk_status_after(jwk_of(&w, "weak", NULL), "x-unused", NULL, &err),
	          GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "1024 bits") != NULL);
	EVP_PKEY_free(weak);
	/* Private members mean a private key was published. */
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "d", json_string("AQAB"), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "private") != NULL);
	/* alg that contradicts the key type. */
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "alg", json_string("ES256"), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "kid", json_integer(1), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&rsa_a, "a", NULL), "use", json_string("sig"), &err),
	          GW_JWT_OK);
}

static void jwks_refuses_malformed_ec_keys(void)
{
	setup();
	struct gw_jwt_error err;
	CHECK_INT(jwk_status_after(jwk_of(&ec256, "e", NULL), "crv", json_string("P-192"), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&ec256, "e", NULL), "crv", json_string("P-384"), &err),
	          GW_JWT_ERR_KEYSET); /* x and y are the wrong size for P-384 */
	CHECK_INT(jwk_status_after(jwk_of(&ec256, "e", NULL), "y", NULL, &err), GW_JWT_ERR_KEYSET);
	/* A point off the curve: y replaced by x. */
	json_t *k = jwk_of(&ec256, "e", NULL);
	json_t *x = json_object_get(k, "x");
	CHECK_INT(jwk_status_after(k, "y", json_copy(x), &err), GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "curve") != NULL);
	/* x with its leading bytes dropped (wrong length). */
	CHECK_INT(jwk_status_after(jwk_of(&ec256, "e", NULL), "x", json_string("AQAB"), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&ec256, "e", NULL), "alg", json_string("ES384"), &err),
	          GW_JWT_ERR_KEYSET);
	CHECK_INT(jwk_status_after(jwk_of(&ec256, "e", NULL), "alg", json_string("ES256"), &err),
	          GW_JWT_OK);
}

static void jwks_refuses_duplicate_kids(void)
{
	setup();
	struct gw_jwt_error err;
	json_t *doc = json_pack("{s:[oo]}", "keys", jwk_of(&rsa_a, "same", NULL),
	                        jwk_of(&ec256, "same", NULL));
	char *s = json_dumps(doc, 0);
	CHECK_INT(jwks_status(s, &err), GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "same") != NULL);
	free(s);
	json_decref(doc);
	doc =
	    json_pack("{s:[oo]}", "keys", jwk_of(&rsa_a, "one", NULL), jwk_of(&ec256, "two", NULL));
	s = json_dumps(doc, 0);
	CHECK_INT(jwks_status(s, &err), GW_JWT_OK);
	free(s);
	json_decref(doc);
}

static void pem_key_sets_take_public_keys_only(void)
{
	setup();
	struct gw_jwks *set = NULL;
	struct gw_jwt_error err;
	CHECK_INT(gw_jwks_from_pem(ec256.pub_pem, strlen(ec256.pub_pem), "pem-ec", &set, &err),
	          GW_JWT_OK);
	if (set) {
		CHECK_INT(set->n, 1);
		CHECK_STR(set->keys[0].kid, "pem-ec");
		struct gw_jwt_issuer iss = issuer();
		iss.keys = set;
		CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "pem-ec", claims())),
		          GW_JWT_OK);
		CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, NULL, claims())),
		          GW_JWT_OK);
		CHECK_INT(verify_tok(&iss, sign_with(JWT_ALG_ES256, &ec256, "other", claims())),
		          GW_JWT_ERR_UNKNOWN_KID);
	}
	gw_jwks_free(set);
	set = NULL;
	CHECK_INT(gw_jwks_from_pem(rsa_a.priv_pem, strlen(rsa_a.priv_pem), NULL, &set, &err),
	          GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, "private key") != NULL);
	CHECK_INT(gw_jwks_from_pem("hello", 5, NULL, &set, &err), GW_JWT_ERR_KEYSET);
	CHECK(set == NULL);
}

static void key_set_files_load_and_missing_files_are_reported(void)
{
	setup();
	char path[] = "/tmp/tg-jwks-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	char *doc = jwks_with(jwk_of(&rsa_a, "file-key", NULL));
	FILE *f = fdopen(fd, "w");
	CHECK(f && fputs(doc, f) >= 0);
	if (f)
		fclose(f);
	struct gw_jwks *set = NULL;
	struct gw_jwt_error err;
	CHECK_INT(gw_jwks_load_file(path, &set, &err), GW_JWT_OK);
	CHECK(set && set->n == 1);
	gw_jwks_free(set);
	CHECK_INT(gw_jwks_load_pem_file(path, NULL, &set, &err), GW_JWT_ERR_KEYSET);
	CHECK(strstr(err.message, path) != NULL);
	unlink(path);
	free(doc);
	CHECK_INT(gw_jwks_load_file(path, &set, &err), GW_JWT_ERR_IO);
	CHECK(strstr(err.message, path) != NULL);
}

/* ---- helpers for the server ---- */

static void finds_the_bearer_token_in_an_authorization_header(void)
{
	const char *t;
	size_t n;
	const char *h = "Bearer abc.def.ghi";
	CHECK_INT(gw_jwt_bearer_token(h, strlen(h), &t, &n), GW_JWT_OK);
	CHECK(n == 11 && memcmp(t, "abc.def.ghi", 11) == 0);
	h = "bearer   abc.def.ghi  ";
	CHECK_INT(gw_jwt_bearer_token(h, strlen(h), &t, &n), GW_JWT_OK);
	CHECK(n == 11);
	static const char *const bad[] = {
	    "Basic dXNlcjpwYXNz", "Bearer",         "Bearer ",
	    "Bearerabc",          "Bearer abc def", "AWS4-HMAC-SHA256 Credential=x",
	    "Bearer a\tb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(gw_jwt_bearer_token(bad[i], strlen(bad[i]), &t, &n),
		          GW_JWT_ERR_MALFORMED);
}

static void condition_key_prefix_drops_the_https_scheme(void)
{
	char out[128];
	CHECK_INT(gw_jwt_condition_prefix("https://idp.example.com/tenant-1", out, sizeof(out)),
	          GW_JWT_OK);
	CHECK_STR(out, "idp.example.com/tenant-1");
	CHECK_INT(gw_jwt_condition_prefix("accounts.example.com", out, sizeof(out)), GW_JWT_OK);
	CHECK_STR(out, "accounts.example.com");
	CHECK_INT(gw_jwt_condition_prefix("https://a-rather-long-issuer.example.com", out, 8),
	          GW_JWT_ERR_ARG);
}

static const struct check_case cases[] = {
    {"accepts a valid RS256 token and returns its claims",
     accepts_valid_rs256_token_and_returns_claims},
    {"accepts RS384 and RS512 tokens signed with the RSA key",
     accepts_rs384_and_rs512_with_the_rsa_key},
    {"accepts ES256, ES384 and ES512 each on its own curve",
     accepts_es256_es384_es512_each_on_its_curve},
    {"picks the issuer among several by exact iss", picks_the_issuer_among_several_by_exact_iss},
    {"refuses forged, altered and missing signatures", refuses_forged_signatures},
    {"refuses a payload swapped in after signing", refuses_a_payload_changed_after_signing},
    {"refuses expired tokens, but only beyond the leeway",
     refuses_expired_tokens_beyond_leeway_only},
    {"refuses tokens not yet valid (nbf, iat), but only beyond the leeway",
     refuses_tokens_not_yet_valid_beyond_leeway_only},
    {"refuses tokens without a numeric exp", refuses_tokens_without_exp},
    {"refuses tokens whose lifetime exceeds the maximum", refuses_lifetimes_over_the_maximum},
    {"refuses issuers that do not match a configured one exactly",
     refuses_unknown_issuers_compared_exactly},
    {"requires aud to name an allowed audience", requires_an_allowed_audience},
    {"refuses alg none in every spelling, signed or not, for every issuer",
     refuses_alg_none_always},
    {"refuses HS256 tokens keyed with the RSA public key",
     refuses_hs256_keyed_with_the_rsa_public_key},
    {"accepts HS tokens only with the configured secret of sufficient length",
     accepts_hs_tokens_only_with_the_configured_secret},
    {"honours the issuer's algorithm allow-list and refuses unknown algs",
     honours_the_issuer_allow_list},
    {"chooses the key by kid; no kid only when the set has one key", chooses_the_key_by_kid},
    {"refuses a kid that picks a key of the wrong type or curve",
     refuses_a_kid_that_picks_the_wrong_key_type},
    {"a JWK's alg narrows what its key verifies", a_jwk_alg_narrows_what_its_key_verifies},
    {"refuses malformed and oversized tokens before verifying",
     refuses_malformed_and_oversized_tokens},
    {"verifies a length-counted token that is not NUL-terminated",
     a_token_need_not_be_nul_terminated},
    {"refuses unusable issuer configuration", refuses_unusable_issuer_configuration},
    {"a JWKS keeps signing keys and skips encryption and unsupported keys",
     jwks_keeps_signing_keys_and_skips_others},
    {"a JWKS that is not a key set is refused", jwks_refuses_malformed_documents},
    {"a JWKS with a malformed, weak or private RSA key is refused",
     jwks_refuses_malformed_rsa_keys},
    {"a JWKS with a malformed or off-curve EC key is refused", jwks_refuses_malformed_ec_keys},
    {"a JWKS that uses one kid for two keys is refused", jwks_refuses_duplicate_kids},
    {"a PEM key set takes a public key and refuses a private one",
     pem_key_sets_take_public_keys_only},
    {"key set files load, and a missing file is reported with its path",
     key_set_files_load_and_missing_files_are_reported},
    {"finds the bearer token in an Authorization header and refuses other schemes",
     finds_the_bearer_token_in_an_authorization_header},
    {"the condition key prefix is the issuer without https://",
     condition_key_prefix_drops_the_https_scheme},
};

CHECK_MAIN(cases)
