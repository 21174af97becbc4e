/*
 * secret.h - secret buffers, constant-time comparison, randomness and the
 * encodings secrets travel in (private to gateway/).
 *
 * A secret (a master key, an issued secret access key, an HMAC key for JWTs)
 * lives in a struct gw_secret: memory of its own pages, locked against swap
 * when the system allows it, kept out of core dumps, and wiped before it is
 * given back. Equality of secrets is decided in constant time. Random bytes
 * come from the kernel's CSPRNG through OpenSSL; identifiers shaped like AWS's
 * (AKIA/ASIA access key ids, 40-character secret keys) are built from them.
 *
 * The encoders and decoders here are strict on purpose: a decoder refuses any
 * character outside its alphabet, wrong padding and non-canonical trailing bits,
 * so that one secret has exactly one spelling and nothing slips through a
 * lenient parse. None of these functions allocate except gw_secret_alloc, and
 * none of them print or log.
 */
#ifndef TASKGATE_GATEWAY_SECRET_H
#define TASKGATE_GATEWAY_SECRET_H

#include <stdbool.h>
#include <stddef.h>

enum gw_secret_status {
	GW_SECRET_OK = 0,
	GW_SECRET_ERR_NOMEM = -1,   /* allocation failed */
	GW_SECRET_ERR_INVALID = -2, /* input is not valid in the expected encoding */
	GW_SECRET_ERR_SPACE = -3,   /* the output buffer is too small */
	GW_SECRET_ERR_RANDOM = -4,  /* the random generator failed */
	GW_SECRET_ERR_ARG = -5,     /* a NULL pointer or an impossible size */
};

/*
 * A secret: n bytes at p. p is owned by the struct and released only by
 * gw_secret_free. A zero-length secret has p == NULL. Never log p.
 */
struct gw_secret {
	unsigned char *p;
	size_t n;
};

/* Upper bound on one secret, so that size arithmetic cannot overflow. */
#define GW_SECRET_MAX ((size_t)1 << 24)

/* Allocates n zeroed bytes (best effort mlock + MADV_DONTDUMP). */
int gw_secret_alloc(struct gw_secret *s, size_t n);
/* Allocates a copy of n bytes at src. */
int gw_secret_from(struct gw_secret *s, const void *src, size_t n);
/* Wipes and releases; leaves *s as {NULL, 0}. NULL and an empty secret are fine. */
void gw_secret_free(struct gw_secret *s);

/*
 * Constant-time equality of two byte strings. The running time depends only on
 * known_n (the length of the value we hold, e.g. the stored secret), never on
 * where the contents differ nor on the other side's length; unequal lengths
 * compare unequal.
 */
bool gw_ct_equal(const void *known, size_t known_n, const void *given, size_t given_n);

/* n bytes from the CSPRNG. */
int gw_random_bytes(void *buf, size_t n);

/* nbytes random bytes written as 2*nbytes lower-case hex digits + NUL. */
int gw_random_hex(char *out, size_t out_size, size_t nbytes);

/*
 * An AWS-shaped access key id: prefix ("AKIA" for long-term, "ASIA" for
 * temporary credentials) followed by 16 characters of [A-Z2-7] (80 random
 * bits); out needs GW_ACCESS_KEY_ID_LEN + 1 bytes.
 */
#define GW_ACCESS_KEY_ID_LEN 20
int gw_random_access_key_id(const char *prefix, char *out, size_t out_size);

/*
 * An AWS-shaped secret access key: 40 characters of [A-Za-z0-9+/] (240 random
 * bits), NUL-terminated, in a secret buffer (s->n == 40, s->p[40] == 0).
 */
#define GW_SECRET_ACCESS_KEY_LEN 40
int gw_random_secret_access_key(struct gw_secret *s);

/* ---- encodings ---- */

/* Lower-case hex of n bytes + NUL; out_size >= 2n + 1. */
int gw_hex_encode(const void *in, size_t n, char *out, size_t out_size);
/* Even number of hex digits (either case) -> bytes; *out_len gets the count. */
int gw_hex_decode(const char *in, size_t n, unsigned char *out, size_t out_size, size_t *out_len);

enum gw_b64 {
	GW_B64_STD, /* RFC 4648 section 4: A-Z a-z 0-9 + /, padded with '=' */
	GW_B64_URL, /* RFC 4648 section 5: A-Z a-z 0-9 - _, no padding (JOSE) */
};

/* Characters needed to encode n bytes, without the NUL. */
size_t gw_base64_encoded_len(size_t n, enum gw_b64 alphabet);
/* Most bytes that n characters can decode to. */
size_t gw_base64_decoded_max(size_t n);
/* Encodes and NUL-terminates; out_size >= gw_base64_encoded_len(n) + 1. */
int gw_base64_encode(const void *in, size_t n, enum gw_b64 alphabet, char *out, size_t out_size);
/*
 * Strict decode: only the alphabet's characters, no white space; STD needs a
 * length that is a multiple of 4 with correct '=' padding, URL refuses '=' and a
 * length of 1 mod 4; unused bits of the last character must be zero.
 */
int gw_base64_decode(const char *in, size_t n, enum gw_b64 alphabet, unsigned char *out,
                     size_t out_size, size_t *out_len);

#endif
