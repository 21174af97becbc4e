/*
 * jwt_auth.h - verification of JWT bearer tokens from configured issuers, and
 * the key sets that verify them (private to gateway/).
 *
 * A caller presents `Authorization: Bearer <JWT>`. The token is accepted only
 * when every rule holds: it is a compact JWS of bounded size; its `iss` names a
 * configured issuer exactly; its `alg` is one that issuer allows and that the
 * chosen key can make (RS* on RSA keys, ES256/384/512 on P-256/384/521 keys
 * only, HS* only with the issuer's own HMAC secret, never `none`); the key is
 * the one named by `kid` in the issuer's key set; the signature verifies; `exp`
 * is present and not past, `nbf`/`iat` are not in the future (each with the
 * issuer's leeway); the lifetime is within the issuer's bound; and `aud` names
 * one of the issuer's audiences. See docs/security.md.
 *
 * Every refusal carries a status and a message for people. Messages name the
 * configured issuer and the rule that failed, never the token or values copied
 * from it, so they may be logged as they are.
 *
 * Key sets (struct gw_jwks) come from a JWKS document (RFC 7517: RSA keys by
 * n/e, EC keys by crv/x/y) or from one PEM public key; either way each key is
 * held as a canonical SubjectPublicKeyInfo PEM with what it may verify. Key sets
 * and issuers are immutable once built and may be shared between threads.
 */
#ifndef TASKGATE_GATEWAY_JWT_AUTH_H
#define TASKGATE_GATEWAY_JWT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/secret.h"

enum gw_jwt_status {
	GW_JWT_OK = 0,
	GW_JWT_ERR_MALFORMED = -1,       /* not a well-formed compact JWS / JSON claims */
	GW_JWT_ERR_TOO_LARGE = -2,       /* token over GW_JWT_MAX_TOKEN bytes */
	GW_JWT_ERR_ALG_NONE = -3,        /* unsigned token */
	GW_JWT_ERR_ALG_NOT_ALLOWED = -4, /* alg unknown, not allowed, or not this key's */
	GW_JWT_ERR_UNKNOWN_ISSUER = -5,  /* iss matches no configured issuer */
	GW_JWT_ERR_UNKNOWN_KID = -6,     /* no key in the set for this token */
	GW_JWT_ERR_BAD_SIGNATURE = -7,   /* signature does not verify */
	GW_JWT_ERR_EXPIRED = -8,         /* exp (+ leeway) is past */
	GW_JWT_ERR_NOT_YET_VALID = -9,   /* nbf or iat is in the future (beyond leeway) */
	GW_JWT_ERR_WRONG_AUDIENCE = -10, /* aud absent or names no allowed audience */
	GW_JWT_ERR_MISSING_CLAIM = -11,  /* exp (or iss) absent */
	GW_JWT_ERR_LIFETIME = -12,       /* exp too far after iat or now */
	GW_JWT_ERR_KEYSET = -13,         /* a JWKS or PEM key could not be loaded */
	GW_JWT_ERR_CONFIG = -14,         /* an issuer's configuration is unusable */
	GW_JWT_ERR_IO = -15,             /* a key file could not be read */
	GW_JWT_ERR_NOMEM = -16,
	GW_JWT_ERR_ARG = -17,
};

struct gw_jwt_error {
	int code;          /* an enum gw_jwt_status */
	char message[320]; /* for a person; never contains the token */
};

/* A short, stable name of a status ("expired", "bad_signature", ...) for logs. */
const char *gw_jwt_status_name(int status);

/* Algorithms this build verifies (libjwt 1.10.2 has no PS* nor EdDSA). */
enum gw_jwt_alg {
	GW_JWT_RS256 = 0,
	GW_JWT_RS384,
	GW_JWT_RS512,
	GW_JWT_ES256,
	GW_JWT_ES384,
	GW_JWT_ES512,
	GW_JWT_HS256,
	GW_JWT_HS384,
	GW_JWT_HS512,
	GW_JWT_ALG_COUNT
};

#define GW_JWT_ALG_BIT(a) (1u << (a))
#define GW_JWT_ALGS_RSA                                                                            \
	(GW_JWT_ALG_BIT(GW_JWT_RS256) | GW_JWT_ALG_BIT(GW_JWT_RS384) | GW_JWT_ALG_BIT(GW_JWT_RS512))
#define GW_JWT_ALGS_EC                                                                             \
	(GW_JWT_ALG_BIT(GW_JWT_ES256) | GW_JWT_ALG_BIT(GW_JWT_ES384) | GW_JWT_ALG_BIT(GW_JWT_ES512))
#define GW_JWT_ALGS_HMAC                                                                           \
	(GW_JWT_ALG_BIT(GW_JWT_HS256) | GW_JWT_ALG_BIT(GW_JWT_HS384) | GW_JWT_ALG_BIT(GW_JWT_HS512))
#define GW_JWT_ALGS_ASYMMETRIC (GW_JWT_ALGS_RSA | GW_JWT_ALGS_EC)

/* "RS256" ... ; NULL for an out-of-range value. */
const char *gw_jwt_alg_name(enum gw_jwt_alg alg);
/* The alg named exactly (case matters, as in JOSE); -1 when unknown. */
int gw_jwt_alg_from_name(const char *name, size_t n);

#define GW_JWT_MAX_TOKEN     16384  /* bytes of a compact token, checked before parsing */
#define GW_JWKS_MAX_DOCUMENT 262144 /* bytes of a JWKS document */
#define GW_JWKS_MAX_KEYS     64
#define GW_JWT_MIN_RSA_BITS  2048

/* ---- key sets ---- */

enum gw_jwk_kind { GW_JWK_RSA, GW_JWK_EC };

struct gw_jwk {
	char *kid; /* owned; NULL when the key has none */
	enum gw_jwk_kind kind;
	unsigned algs; /* GW_JWT_ALG_BIT set this key may verify: from its type
	                  and curve, narrowed by the JWK's "alg" */
	int bits;      /* RSA modulus or EC field size */
	char *pem;     /* owned, NUL-terminated SubjectPublicKeyInfo PEM */
	size_t pem_n;
};

struct gw_jwks {
	struct gw_jwk *keys; /* owned */
	size_t n;
	size_t skipped; /* JWKs left out: other use, unsupported kty or alg */
};

/*
 * Parses a JWKS document ({"keys":[...]}, or one bare JWK) of n bytes. Keys
 * for another use ("use" other than "sig", "key_ops" without "verify") or of a
 * type or alg this build cannot verify are skipped and counted. Refused with
 * GW_JWT_ERR_KEYSET: malformed JSON, a malformed key of a supported type,
 * private key members, an RSA modulus under 2048 bits, an EC point not on its
 * curve, an "alg" that contradicts the key's type, duplicate kids, and a set
 * with no usable key.
 */
int gw_jwks_parse(const char *json, size_t n, struct gw_jwks **out, struct gw_jwt_error *err);
int gw_jwks_load_file(const char *path, struct gw_jwks **out, struct gw_jwt_error *err);

/* One PEM public key (SubjectPublicKeyInfo or PKCS#1 RSA), named kid (may be NULL). */
int gw_jwks_from_pem(const char *pem, size_t n, const char *kid, struct gw_jwks **out,
                     struct gw_jwt_error *err);
int gw_jwks_load_pem_file(const char *path, const char *kid, struct gw_jwks **out,
                          struct gw_jwt_error *err);

void gw_jwks_free(struct gw_jwks *set); /* NULL is fine */

/* ---- issuers and verification ---- */

/* One trusted token issuer. Borrowed pointers: the caller keeps them alive. */
struct gw_jwt_issuer {
	const char *issuer;           /* compared exactly with the token's iss */
	const char *const *audiences; /* at least one; aud must contain one of them */
	size_t n_audiences;
	const struct gw_jwks *keys;          /* may be NULL when only HMAC tokens are expected */
	const struct gw_secret *hmac_secret; /* NULL: HS* refused. At least as long as the
	                                        hash (32/48/64 bytes for HS256/384/512) */
	unsigned algs;                       /* GW_JWT_ALG_BIT set; 0 means every asymmetric
	                                        alg, plus HS* when hmac_secret is set */
	int64_t leeway;                      /* seconds of clock skew tolerated, 0..600 */
	int64_t max_lifetime;                /* seconds: exp - iat and exp - now may not exceed */
};

/* Checks one issuer's configuration (at start-up, and on every use). */
int gw_jwt_issuer_check(const struct gw_jwt_issuer *iss, struct gw_jwt_error *err);

/* What a verified token says. */
struct gw_jwt_claims {
	const struct gw_jwt_issuer *issuer; /* borrowed: the configured issuer that matched */
	char *iss;                          /* owned */
	char *sub;                          /* owned; NULL when absent */
	char **aud;                         /* owned, n_aud strings */
	size_t n_aud;
	const char *audience; /* the allowed audience that matched (in aud) */
	int64_t exp;
	int64_t iat, nbf; /* valid when has_iat / has_nbf */
	bool has_iat, has_nbf;
	enum gw_jwt_alg alg;
	char *kid;   /* owned; NULL when the token had none */
	json_t *all; /* one reference: the whole claim set, for mapping
	                to principal tags and condition keys */
};

void gw_jwt_claims_free(struct gw_jwt_claims *c); /* frees the members, not c */

/*
 * Verifies token (token_n bytes, need not be NUL-terminated) against the n
 * configured issuers at time now (seconds since the epoch). On GW_JWT_OK fills
 * *claims (free with gw_jwt_claims_free); on any failure *claims is left empty
 * and err says why.
 */
int gw_jwt_verify(const struct gw_jwt_issuer *issuers, size_t n, const char *token, size_t token_n,
                  int64_t now, struct gw_jwt_claims *claims, struct gw_jwt_error *err);

/*
 * Finds the token in an Authorization header value: the scheme "Bearer"
 * (any case), one or more spaces, the token, optional trailing spaces.
 * GW_JWT_ERR_MALFORMED when it is not a bearer credential.
 */
int gw_jwt_bearer_token(const char *value, size_t n, const char **token, size_t *token_n);

/*
 * The prefix of the condition keys for an issuer, as IAM writes them for web
 * identity federation: the issuer URL without "https://" (e.g.
 * "accounts.example.com/tenant" for the keys "accounts.example.com/tenant:sub"
 * and ":aud"). NUL-terminated in out.
 */
int gw_jwt_condition_prefix(const char *issuer, char *out, size_t out_size);

#endif
