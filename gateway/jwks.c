/*
 * jwks.c - key sets for JWT verification: JWKS documents and PEM public keys.
 *
 * An identity provider publishes its signing keys as a JWKS (RFC 7517); libjwt
 * 1.10.2 wants a PEM public key. This file turns each usable JWK into an
 * OpenSSL 3 key with EVP_PKEY_fromdata (RSA from n and e, EC from the curve
 * name and the uncompressed point x||y), checks it (EVP_PKEY_public_check: the
 * point is on the curve, the modulus is odd), and keeps it as a canonical
 * SubjectPublicKeyInfo PEM together with the set of algorithms it may verify.
 * A PEM key given directly takes the same road from its EVP_PKEY onward, so
 * both kinds of source end up with identical, re-encoded keys.
 *
 * What a key may verify is decided here, once: an RSA key RS256/384/512, an EC
 * key only the one ES algorithm of its curve; a JWK's "alg" narrows that and
 * may never widen it. jwt_auth.c then only has to intersect sets.
 *
 * Keys for other uses (encryption) and of types this build does not verify
 * (OKP, RSA-PSS-only) are skipped rather than refused: real providers publish
 * mixed sets. A malformed key of a type we do verify is refused, as is a JWK
 * carrying private members, which means someone published a private key.
 */
#include "gateway/jwt_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define KID_MAX      256
#define RSA_MAX_BITS 16384

int gw_jwt_fail(struct gw_jwt_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(err->message, sizeof(err->message), "%s", gw_jwt_status_name(code));
	else if ((size_t)n >= sizeof(err->message))
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	return code;
}

void gw_jwt_clear_error(struct gw_jwt_error *err)
{
	if (err) {
		err->code = GW_JWT_OK;
		err->message[0] = '\0';
	}
}

static void jwk_clear(struct gw_jwk *k)
{
	free(k->kid);
	free(k->pem);
	memset(k, 0, sizeof(*k));
}

void gw_jwks_free(struct gw_jwks *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		jwk_clear(&set->keys[i]);
	free(set->keys);
	free(set);
}

/* ---- from an EVP_PKEY to a struct gw_jwk ---- */

/*
 * Fills k from pkey: kind, bits, the algorithms the key's type and curve allow,
 * and its canonical PEM. `where` names the key in messages.
 */
static int jwk_from_pkey(EVP_PKEY *pkey, const char *where, struct gw_jwk *k,
                         struct gw_jwt_error *err)
{
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		k->kind = GW_JWK_RSA;
		k->bits = EVP_PKEY_get_bits(pkey);
		if (k->bits < GW_JWT_MIN_RSA_BITS || k->bits > RSA_MAX_BITS)
			return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
			                   "%s: RSA key of %d bits; taskgate accepts %d to %d bits",
			                   where, k->bits, GW_JWT_MIN_RSA_BITS, RSA_MAX_BITS);
		k->algs = GW_JWT_ALGS_RSA;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64];
		size_t glen = 0;
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1)
			return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
			                   "%s: EC key without a named curve", where);
		k->kind = GW_JWK_EC;
		k->bits = EVP_PKEY_get_bits(pkey);
		if (strcmp(group, "prime256v1") == 0)
			k->algs = GW_JWT_ALG_BIT(GW_JWT_ES256);
		else if (strcmp(group, "secp384r1") == 0)
			k->algs = GW_JWT_ALG_BIT(GW_JWT_ES384);
		else if (strcmp(group, "secp521r1") == 0)
			k->algs = GW_JWT_ALG_BIT(GW_JWT_ES512);
		else
			return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
			                   "%s: EC curve %s is not one of P-256, P-384, P-521",
			                   where, group);
	} else {
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "%s: key type %s cannot verify tokens here (RSA or EC only)",
		                   where, EVP_PKEY_get0_type_name(pkey));
	}
	EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok = check && EVP_PKEY_public_check(check) == 1;
	EVP_PKEY_CTX_free(check);
	if (!ok)
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "%s: the public key fails OpenSSL's consistency check%s", where,
		                   k->kind == GW_JWK_EC ? " (point not on the curve)" : "");

	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_PUBKEY(bio, pkey) != 1) {
		BIO_free(bio);
		return gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: cannot encode the key as PEM",
		                   where);
	}
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);
	k->pem = len > 0 ? malloc((size_t)len + 1) : NULL;
	if (!k->pem) {
		BIO_free(bio);
		return gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
	}
	memcpy(k->pem, data, (size_t)len);
	k->pem[len] = '\0';
	k->pem_n = (size_t)len;
	BIO_free(bio);
	return GW_JWT_OK;
}

/* ---- JWK members ---- */

/* Decodes the base64url member `name` of jwk into a fresh buffer. */
static int b64url_member(json_t *jwk, const char *name, const char *where, unsigned char **out,
                         size_t *out_n, struct gw_jwt_error *err)
{
	*out = NULL;
	*out_n = 0;
	json_t *v = json_object_get(jwk, name);
	if (!v)
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: member \"%s\" is missing", where,
		                   name);
	if (!json_is_string(v))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: member \"%s\" must be a string",
		                   where, name);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	size_t cap = gw_base64_decoded_max(n);
	unsigned char *buf = malloc(cap ? cap : 1);
	if (!buf)
		return gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
	size_t got = 0;
	if (n == 0 || gw_base64_decode(s, n, GW_B64_URL, buf, cap, &got) != GW_SECRET_OK) {
		free(buf);
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "%s: member \"%s\" is not non-empty unpadded base64url", where,
		                   name);
	}
	*out = buf;
	*out_n = got;
	return GW_JWT_OK;
}

static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, const char *where,
                            EVP_PKEY **pkey, struct gw_jwt_error *err)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int ok = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	         EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	if (!ok)
		return gw_jwt_fail(
		    err, GW_JWT_ERR_KEYSET, "%s: OpenSSL refuses the %s key%s", where, type,
		    strcmp(type, "EC") == 0 ? " (the point is not on the curve)" : "");
	return GW_JWT_OK;
}

static int rsa_from_jwk(json_t *jwk, const char *where, EVP_PKEY **pkey, struct gw_jwt_error *err)
{
	unsigned char *nb = NULL, *eb = NULL;
	size_t nn = 0, en = 0;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = b64url_member(jwk, "n", where, &nb, &nn, err);
	if (rc == GW_JWT_OK)
		rc = b64url_member(jwk, "e", where, &eb, &en, err);
	if (rc != GW_JWT_OK)
		goto out;
	if (nn > RSA_MAX_BITS / 8 + 1 || en > 8) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: RSA modulus or exponent too long",
		                 where);
		goto out;
	}
	n = BN_bin2bn(nb, (int)nn, NULL);
	e = BN_bin2bn(eb, (int)en, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
		goto out;
	}
	/* OpenSSL's public check wants an odd e > 1; say so in our own words first. */
	if (!BN_is_odd(e) || BN_is_one(e)) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: RSA exponent e must be odd and > 1",
		                 where);
		goto out;
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
		goto out;
	}
	rc = pkey_from_params("RSA", bld, where, pkey, err);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return rc;
}

static int ec_from_jwk(json_t *jwk, const char *where, EVP_PKEY **pkey, struct gw_jwt_error *err)
{
	json_t *crv = json_object_get(jwk, "crv");
	if (!json_is_string(crv))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: EC key needs a string \"crv\"",
		                   where);
	const char *c = json_string_value(crv);
	size_t field;
	if (strcmp(c, "P-256") == 0)
		field = 32;
	else if (strcmp(c, "P-384") == 0)
		field = 48;
	else if (strcmp(c, "P-521") == 0)
		field = 66;
	else
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "%s: curve \"crv\" must be P-256, P-384 or P-521", where);
	unsigned char *x = NULL, *y = NULL, *pt = NULL;
	size_t xn = 0, yn = 0;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = b64url_member(jwk, "x", where, &x, &xn, err);
	if (rc == GW_JWT_OK)
		rc = b64url_member(jwk, "y", where, &y, &yn, err);
	if (rc != GW_JWT_OK)
		goto out;
	/* RFC 7518 6.2.1.2: x and y are exactly the field size, leading zeros kept. */
	if (xn != field || yn != field) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                 "%s: for %s, \"x\" and \"y\" must each be %zu bytes", where, c,
		                 field);
		goto out;
	}
	pt = malloc(1 + 2 * field);
	bld = OSSL_PARAM_BLD_new();
	if (!pt || !bld) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
		goto out;
	}
	pt[0] = 0x04; /* uncompressed point */
	memcpy(pt + 1, x, field);
	memcpy(pt + 1 + field, y, field);
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * field) !=
	        1) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
		goto out;
	}
	rc = pkey_from_params("EC", bld, where, pkey, err);
out:
	OSSL_PARAM_BLD_free(bld);
	free(pt);
	free(x);
	free(y);
	return rc;
}

/* 1: use this key for signatures; 0: skip it (meant for something else). */
static int jwk_is_for_signatures(json_t *jwk, const char *where, struct gw_jwt_error *err, int *rc)
{
	*rc = GW_JWT_OK;
	json_t *use = json_object_get(jwk, "use");
	if (use && !json_is_string(use)) {
		*rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: \"use\" must be a string", where);
		return 0;
	}
	if (use && strcmp(json_string_value(use), "sig") != 0)
		return 0;
	json_t *ops = json_object_get(jwk, "key_ops");
	if (ops) {
		if (!json_is_array(ops)) {
			*rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
			                  "%s: \"key_ops\" must be an array", where);
			return 0;
		}
		size_t i;
		json_t *op;
		int verify = 0;
		json_array_foreach(ops, i, op) verify |=
		    json_is_string(op) && strcmp(json_string_value(op), "verify") == 0;
		if (!verify)
			return 0;
	}
	return 1;
}

/*
 * Parses one JWK into k. Returns GW_JWT_OK with k->pem set for a usable key,
 * GW_JWT_OK with k->pem NULL for a key to skip, or an error.
 */
static int jwk_parse(json_t *jwk, size_t index, struct gw_jwk *k, struct gw_jwt_error *err)
{
	char where[KID_MAX + 48];
	memset(k, 0, sizeof(*k));
	if (!json_is_object(jwk))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "JWKS keys[%zu]: not a JSON object",
		                   index);
	json_t *kid = json_object_get(jwk, "kid");
	if (kid && (!json_is_string(kid) || json_string_length(kid) == 0 ||
	            json_string_length(kid) > KID_MAX ||
	            strlen(json_string_value(kid)) != json_string_length(kid)))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "JWKS keys[%zu]: \"kid\" must be a string of 1 to %d characters",
		                   index, KID_MAX);
	int wn;
	if (kid)
		wn = snprintf(where, sizeof(where), "JWKS keys[%zu] (kid \"%s\")", index,
		              json_string_value(kid));
	else
		wn = snprintf(where, sizeof(where), "JWKS keys[%zu]", index);
	if (wn < 0 || (size_t)wn >= sizeof(where))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "JWKS keys[%zu]: kid too long", index);

	static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(jwk, private_members[i]))
			return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
			                   "%s: holds private or symmetric key material (\"%s\"); "
			                   "a JWKS for verification must contain public keys only",
			                   where, private_members[i]);

	json_t *kty = json_object_get(jwk, "kty");
	if (!json_is_string(kty))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: \"kty\" is missing or not a string",
		                   where);
	const char *t = json_string_value(kty);
	int rc;
	if (!jwk_is_for_signatures(jwk, where, err, &rc))
		return rc; /* GW_JWT_OK: skipped */
	if (strcmp(t, "RSA") != 0 && strcmp(t, "EC") != 0)
		return GW_JWT_OK; /* OKP, oct-less types we cannot verify: skipped */

	unsigned narrowed = ~0u;
	json_t *alg = json_object_get(jwk, "alg");
	if (alg) {
		if (!json_is_string(alg))
			return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: \"alg\" must be a string",
			                   where);
		int a = gw_jwt_alg_from_name(json_string_value(alg), json_string_length(alg));
		if (a < 0)
			return GW_JWT_OK; /* PS256, EdDSA, RSA-OAEP...: not ours, skipped */
		narrowed = GW_JWT_ALG_BIT(a);
	}

	EVP_PKEY *pkey = NULL;
	rc = strcmp(t, "RSA") == 0 ? rsa_from_jwk(jwk, where, &pkey, err)
	                           : ec_from_jwk(jwk, where, &pkey, err);
	if (rc == GW_JWT_OK)
		rc = jwk_from_pkey(pkey, where, k, err);
	EVP_PKEY_free(pkey);
	if (rc == GW_JWT_OK && !(k->algs & narrowed)) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                 "%s: \"alg\" %s does not fit a %s key of %d bits", where,
		                 json_string_value(alg), t, k->bits);
	}
	if (rc == GW_JWT_OK) {
		k->algs &= narrowed;
		if (kid) {
			k->kid = strdup(json_string_value(kid));
			if (!k->kid)
				rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", where);
		}
	}
	if (rc != GW_JWT_OK)
		jwk_clear(k);
	return rc;
}

int gw_jwks_parse(const char *json, size_t n, struct gw_jwks **out, struct gw_jwt_error *err)
{
	gw_jwt_clear_error(err);
	if (!out || (!json && n))
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "JWKS: missing argument");
	*out = NULL;
	if (n > GW_JWKS_MAX_DOCUMENT)
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "JWKS: document of %zu bytes is over the %d limit", n,
		                   GW_JWKS_MAX_DOCUMENT);
	json_error_t jerr;
	json_t *doc = json_loadb(json ? json : "", n, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "JWKS: not valid JSON (line %d, column %d: %s)", jerr.line,
		                   jerr.column, jerr.text);
	struct gw_jwks *set = NULL;
	int rc = GW_JWT_OK;
	json_t *keys;
	json_t *single = NULL;
	if (json_is_object(doc) && json_object_get(doc, "keys")) {
		keys = json_object_get(doc, "keys");
		if (!json_is_array(keys)) {
			rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "JWKS: \"keys\" must be an array");
			goto out;
		}
	} else if (json_is_object(doc) && json_object_get(doc, "kty")) {
		single = json_array();
		if (!single || json_array_append(single, doc) != 0) {
			rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "JWKS: out of memory");
			goto out;
		}
		keys = single;
	} else {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                 "JWKS: expected an object with a \"keys\" array (or one JWK)");
		goto out;
	}
	size_t count = json_array_size(keys);
	if (count > GW_JWKS_MAX_KEYS) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "JWKS: %zu keys, more than the %d allowed",
		                 count, GW_JWKS_MAX_KEYS);
		goto out;
	}
	set = calloc(1, sizeof(*set));
	if (set)
		set->keys = calloc(count ? count : 1, sizeof(*set->keys));
	if (!set || !set->keys) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "JWKS: out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct gw_jwk k;
		rc = jwk_parse(json_array_get(keys, i), i, &k, err);
		if (rc != GW_JWT_OK)
			goto out;
		if (!k.pem) {
			set->skipped++;
			continue;
		}
		for (size_t j = 0; k.kid && j < set->n; j++) {
			if (set->keys[j].kid && strcmp(set->keys[j].kid, k.kid) == 0) {
				rc = gw_jwt_fail(
				    err, GW_JWT_ERR_KEYSET,
				    "JWKS keys[%zu]: kid \"%s\" is used by another key; "
				    "a kid must name one key",
				    i, k.kid);
				jwk_clear(&k);
				goto out;
			}
		}
		set->keys[set->n++] = k;
	}
	if (set->n == 0) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                 "JWKS: no usable signing key (%zu skipped: other use, or a type "
		                 "or alg other than RSA RS256/384/512 and EC ES256/384/512)",
		                 set->skipped);
		goto out;
	}
	*out = set;
	set = NULL;
out:
	gw_jwks_free(set);
	json_decref(single);
	json_decref(doc);
	return rc;
}

/* Reads a whole small file into a NUL-terminated buffer. */
static int read_small_file(const char *path, size_t max, char **buf, size_t *n,
                           struct gw_jwt_error *err)
{
	*buf = NULL;
	*n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return gw_jwt_fail(err, GW_JWT_ERR_IO, "%s: cannot open: %s", path,
		                   strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gw_jwt_fail(err, GW_JWT_ERR_IO, "%s: not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: %lld bytes, over the %zu limit",
		                   path, (long long)st.st_size, max);
	}
	char *b = malloc(max + 1);
	if (!b) {
		close(fd);
		return gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "%s: out of memory", path);
	}
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, b + len, max + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			close(fd);
			return gw_jwt_fail(err, GW_JWT_ERR_IO, "%s: cannot read: %s", path,
			                   strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			free(b);
			close(fd);
			return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "%s: over the %zu byte limit",
			                   path, max);
		}
	}
	close(fd);
	b[len] = '\0';
	*buf = b;
	*n = len;
	return GW_JWT_OK;
}

int gw_jwks_load_file(const char *path, struct gw_jwks **out, struct gw_jwt_error *err)
{
	gw_jwt_clear_error(err);
	if (!path || !out)
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "JWKS: missing argument");
	*out = NULL;
	char *buf;
	size_t n;
	int rc = read_small_file(path, GW_JWKS_MAX_DOCUMENT, &buf, &n, err);
	if (rc != GW_JWT_OK)
		return rc;
	rc = gw_jwks_parse(buf, n, out, err);
	free(buf);
	if (rc != GW_JWT_OK && err) {
		/* Name the file in front of the parser's message. */
		char msg[sizeof(err->message)];
		memcpy(msg, err->message, sizeof(msg));
		gw_jwt_fail(err, rc, "%s: %s", path, msg);
	}
	return rc;
}

int gw_jwks_from_pem(const char *pem, size_t n, const char *kid, struct gw_jwks **out,
                     struct gw_jwt_error *err)
{
	gw_jwt_clear_error(err);
	if (!out || !pem)
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "PEM key: missing argument");
	*out = NULL;
	if (n > GW_JWKS_MAX_DOCUMENT)
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET, "PEM key: over the size limit");
	if (kid && (!*kid || strlen(kid) > KID_MAX))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "PEM key: kid must be 1 to %d characters", KID_MAX);
	if (memmem(pem, n, "PRIVATE KEY", 11))
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "PEM key: holds a private key; configure the public key only "
		                   "(openssl pkey -pubout)");
	BIO *bio = BIO_new_mem_buf(pem, (int)n);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!pkey)
		return gw_jwt_fail(err, GW_JWT_ERR_KEYSET,
		                   "PEM key: no \"BEGIN PUBLIC KEY\" block that OpenSSL can read");
	struct gw_jwks *set = calloc(1, sizeof(*set));
	int rc = GW_JWT_OK;
	if (set)
		set->keys = calloc(1, sizeof(*set->keys));
	if (!set || !set->keys) {
		rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "PEM key: out of memory");
		goto out;
	}
	rc = jwk_from_pkey(pkey, "PEM key", &set->keys[0], err);
	if (rc != GW_JWT_OK)
		goto out;
	set->n = 1;
	if (kid) {
		set->keys[0].kid = strdup(kid);
		if (!set->keys[0].kid) {
			rc = gw_jwt_fail(err, GW_JWT_ERR_NOMEM, "PEM key: out of memory");
			goto out;
		}
	}
	*out = set;
	set = NULL;
out:
	EVP_PKEY_free(pkey);
	gw_jwks_free(set);
	return rc;
}

int gw_jwks_load_pem_file(const char *path, const char *kid, struct gw_jwks **out,
                          struct gw_jwt_error *err)
{
	gw_jwt_clear_error(err);
	if (!path || !out)
		return gw_jwt_fail(err, GW_JWT_ERR_ARG, "PEM key: missing argument");
	*out = NULL;
	char *buf;
	size_t n;
	int rc = read_small_file(path, GW_JWKS_MAX_DOCUMENT, &buf, &n, err);
	if (rc != GW_JWT_OK)
		return rc;
	rc = gw_jwks_from_pem(buf, n, kid, out, err);
	OPENSSL_cleanse(buf, n); /* in case it was a private key after all */
	free(buf);
	if (rc != GW_JWT_OK && err) {
		char msg[sizeof(err->message)];
		memcpy(msg, err->message, sizeof(msg));
		gw_jwt_fail(err, rc, "%s: %s", path, msg);
	}
	return rc;
}
