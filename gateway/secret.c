/*
 * secret.c - secret buffers, constant-time equality, randomness, strict
 * encodings.
 *
 * Secret memory comes from its own anonymous mapping rather than malloc. The
 * reason is mlock: locks do not nest, so unlocking a malloc'd secret on free
 * would also unlock whatever other secret shares its page. A private mapping
 * per secret costs a few system calls and one page, and a secret's lock, its
 * MADV_DONTDUMP and its unmapping concern no one else. Both calls are best
 * effort: without CAP_IPC_LOCK or with a small RLIMIT_MEMLOCK the secret still
 * works, it merely may be swapped.
 *
 * Randomness is RAND_bytes (OpenSSL's DRBG, seeded from getrandom); OpenSSL is
 * already the process's crypto provider, and its DRBG is fork-safe.
 *
 * The codecs are written by hand rather than with EVP_DecodeBlock because that
 * one skips white space, tolerates missing padding in places and never reports
 * non-canonical trailing bits; here every input has one accepted spelling.
 */
#include "gateway/secret.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static size_t page_round(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t p = page > 0 ? (size_t)page : 4096;
	/* n <= GW_SECRET_MAX, so this cannot overflow. */
	return (n + p - 1) / p * p;
}

int gw_secret_alloc(struct gw_secret *s, size_t n)
{
	if (!s)
		return GW_SECRET_ERR_ARG;
	s->p = NULL;
	s->n = 0;
	if (n == 0)
		return GW_SECRET_OK;
	if (n > GW_SECRET_MAX)
		return GW_SECRET_ERR_ARG;
	size_t len = page_round(n);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return GW_SECRET_ERR_NOMEM;
	/* Best effort, see the top of the file: failure leaves a usable secret. */
	(void)mlock(m, len);
#ifdef MADV_DONTDUMP
	(void)madvise(m, len, MADV_DONTDUMP);
#endif
	s->p = m; /* anonymous mappings start zeroed */
	s->n = n;
	return GW_SECRET_OK;
}

int gw_secret_from(struct gw_secret *s, const void *src, size_t n)
{
	if (!s || (!src && n))
		return GW_SECRET_ERR_ARG;
	int rc = gw_secret_alloc(s, n);
	if (rc != GW_SECRET_OK)
		return rc;
	if (n)
		memcpy(s->p, src, n);
	return GW_SECRET_OK;
}

void gw_secret_free(struct gw_secret *s)
{
	if (!s || !s->p) {
		if (s)
			s->n = 0;
		return;
	}
	size_t len = page_round(s->n);
	/* Wipe the whole mapping: callers may have used the slack past n. */
	OPENSSL_cleanse(s->p, len);
	(void)munlock(s->p, len);
	(void)munmap(s->p, len);
	s->p = NULL;
	s->n = 0;
}

bool gw_ct_equal(const void *known, size_t known_n, const void *given, size_t given_n)
{
	if (known_n == 0)
		return given_n == 0;
	if (!known || !given)
		return false;
	/*
	 * On a length mismatch still walk known_n bytes (known against itself),
	 * so the time taken says nothing the lengths did not already say.
	 */
	const void *other = known_n == given_n ? given : known;
	int diff = CRYPTO_memcmp(known, other, known_n);
	return (known_n == given_n) & (diff == 0);
}

int gw_random_bytes(void *buf, size_t n)
{
	if (!buf && n)
		return GW_SECRET_ERR_ARG;
	while (n) {
		/* RAND_bytes takes an int; feed it in bounded chunks. */
		int chunk = n > (1u << 20) ? (1 << 20) : (int)n;
		if (RAND_bytes(buf, chunk) != 1)
			return GW_SECRET_ERR_RANDOM;
		buf = (unsigned char *)buf + chunk;
		n -= (size_t)chunk;
	}
	return GW_SECRET_OK;
}

/* ---- hex ---- */

static const char hex_digits[] = "0123456789abcdef";

int gw_hex_encode(const void *in, size_t n, char *out, size_t out_size)
{
	if ((!in && n) || !out)
		return GW_SECRET_ERR_ARG;
	if (n > (SIZE_MAX - 1) / 2 || out_size < 2 * n + 1)
		return GW_SECRET_ERR_SPACE;
	const unsigned char *b = in;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[b[i] >> 4];
		out[2 * i + 1] = hex_digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return GW_SECRET_OK;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gw_hex_decode(const char *in, size_t n, unsigned char *out, size_t out_size, size_t *out_len)
{
	if ((!in && n) || (!out && n) || !out_len)
		return GW_SECRET_ERR_ARG;
	*out_len = 0;
	if (n % 2)
		return GW_SECRET_ERR_INVALID;
	if (out_size < n / 2)
		return GW_SECRET_ERR_SPACE;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_value((unsigned char)in[i]);
		int lo = hex_value((unsigned char)in[i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, i / 2);
			return GW_SECRET_ERR_INVALID;
		}
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*out_len = n / 2;
	return GW_SECRET_OK;
}

/* ---- base64 ---- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t gw_base64_encoded_len(size_t n, enum gw_b64 alphabet)
{
	if (n > SIZE_MAX / 4 - 3)
		return SIZE_MAX;
	if (alphabet == GW_B64_STD)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t gw_base64_decoded_max(size_t n)
{
	return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}

int gw_base64_encode(const void *in, size_t n, enum gw_b64 alphabet, char *out, size_t out_size)
{
	if ((!in && n) || !out)
		return GW_SECRET_ERR_ARG;
	size_t need = gw_base64_encoded_len(n, alphabet);
	if (need == SIZE_MAX || out_size < need + 1)
		return GW_SECRET_ERR_SPACE;
	const char *abc = alphabet == GW_B64_URL ? b64_url : b64_std;
	const unsigned char *b = in;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)b[i] << 16;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		if (alphabet == GW_B64_STD) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		if (alphabet == GW_B64_STD)
			out[o++] = '=';
	}
	out[o] = '\0';
	return GW_SECRET_OK;
}

static int b64_value(unsigned char c, enum gw_b64 alphabet)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (alphabet == GW_B64_STD) {
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
	} else {
		if (c == '-')
			return 62;
		if (c == '_')
			return 63;
	}
	return -1;
}

int gw_base64_decode(const char *in, size_t n, enum gw_b64 alphabet, unsigned char *out,
                     size_t out_size, size_t *out_len)
{
	if ((!in && n) || (!out && n) || !out_len)
		return GW_SECRET_ERR_ARG;
	*out_len = 0;
	size_t data = n; /* characters that carry bits */
	if (alphabet == GW_B64_STD) {
		if (n % 4)
			return GW_SECRET_ERR_INVALID;
		if (n && in[n - 1] == '=')
			data--;
		if (n && in[n - 2] == '=')
			data--;
	} else if (n % 4 == 1) {
		return GW_SECRET_ERR_INVALID;
	}
	size_t full = data / 4, rest = data % 4;
	if (rest == 1)
		return GW_SECRET_ERR_INVALID;
	size_t need = full * 3 + (rest ? rest - 1 : 0);
	if (out_size < need)
		return GW_SECRET_ERR_SPACE;
	size_t o = 0;
	int rc = GW_SECRET_OK;
	for (size_t i = 0; i < full * 4; i += 4) {
		int a = b64_value((unsigned char)in[i], alphabet);
		int b = b64_value((unsigned char)in[i + 1], alphabet);
		int c = b64_value((unsigned char)in[i + 2], alphabet);
		int d = b64_value((unsigned char)in[i + 3], alphabet);
		if ((a | b | c | d) < 0) {
			rc = GW_SECRET_ERR_INVALID;
			goto fail;
		}
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	if (rest) {
		const char *t = in + full * 4;
		int a = b64_value((unsigned char)t[0], alphabet);
		int b = b64_value((unsigned char)t[1], alphabet);
		int c = rest == 3 ? b64_value((unsigned char)t[2], alphabet) : 0;
		if ((a | b | c) < 0) {
			rc = GW_SECRET_ERR_INVALID;
			goto fail;
		}
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		/* Bits past the last whole byte must be zero: one spelling per value. */
		if ((rest == 2 && (v & 0xffff)) || (rest == 3 && (v & 0xff))) {
			rc = GW_SECRET_ERR_INVALID;
			goto fail;
		}
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	*out_len = o;
	return GW_SECRET_OK;
fail:
	OPENSSL_cleanse(out, o);
	return rc;
}

/* ---- AWS-shaped identifiers ---- */

int gw_random_hex(char *out, size_t out_size, size_t nbytes)
{
	if (!out)
		return GW_SECRET_ERR_ARG;
	if (nbytes > 256)
		return GW_SECRET_ERR_ARG;
	if (out_size < 2 * nbytes + 1)
		return GW_SECRET_ERR_SPACE;
	unsigned char buf[256];
	int rc = gw_random_bytes(buf, nbytes);
	if (rc == GW_SECRET_OK)
		rc = gw_hex_encode(buf, nbytes, out, out_size);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int gw_random_access_key_id(const char *prefix, char *out, size_t out_size)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	if (!prefix || !out)
		return GW_SECRET_ERR_ARG;
	if (strcmp(prefix, "AKIA") != 0 && strcmp(prefix, "ASIA") != 0)
		return GW_SECRET_ERR_ARG;
	if (out_size < GW_ACCESS_KEY_ID_LEN + 1)
		return GW_SECRET_ERR_SPACE;
	/* 10 bytes are exactly 16 base32 characters: no bias, no padding. */
	unsigned char r[10];
	int rc = gw_random_bytes(r, sizeof(r));
	if (rc != GW_SECRET_OK)
		return rc;
	memcpy(out, prefix, 4);
	for (size_t g = 0; g < 2; g++) {
		const unsigned char *b = r + 5 * g;
		uint64_t v = (uint64_t)b[0] << 32 | (uint64_t)b[1] << 24 | (uint64_t)b[2] << 16 |
		             (uint64_t)b[3] << 8 | b[4];
		for (int k = 0; k < 8; k++)
			out[4 + 8 * g + (size_t)k] = b32[v >> (35 - 5 * k) & 31];
	}
	out[GW_ACCESS_KEY_ID_LEN] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return GW_SECRET_OK;
}

int gw_random_secret_access_key(struct gw_secret *s)
{
	if (!s)
		return GW_SECRET_ERR_ARG;
	s->p = NULL;
	s->n = 0;
	/* 30 bytes are exactly 40 base64 characters, so no '=' appears. */
	unsigned char r[30];
	int rc = gw_random_bytes(r, sizeof(r));
	if (rc != GW_SECRET_OK)
		return rc;
	rc = gw_secret_alloc(s, GW_SECRET_ACCESS_KEY_LEN + 1);
	if (rc == GW_SECRET_OK)
		rc = gw_base64_encode(r, sizeof(r), GW_B64_STD, (char *)s->p, s->n);
	OPENSSL_cleanse(r, sizeof(r));
	if (rc != GW_SECRET_OK) {
		gw_secret_free(s);
		return rc;
	}
	s->n = GW_SECRET_ACCESS_KEY_LEN; /* the NUL stays inside the mapping */
	return GW_SECRET_OK;
}
