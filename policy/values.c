/*
 * values.c - reading the typed values of conditions: decimal numbers, dates,
 * IP addresses and blocks, booleans, base64.
 *
 * Each reader takes a length-counted slice (request values are not
 * NUL-terminated), never allocates, and either fills a fixed-size value or
 * says no. The same readers serve compile time (policy values, where "no" is a
 * validation error) and evaluation (request values, where "no" means the value
 * never matches), so a policy and a request agree on what a number or a date
 * is.
 *
 * Numbers are decimals, not doubles: "0.1" and "0.10" are equal, and
 * "0.1000000000000000055" is not "0.1", as a reader of the policy expects.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- decimals ---- */

int pol_dec_parse(const char *p, size_t n, struct pol_dec *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	if (i < n && (p[i] == '-' || p[i] == '+')) {
		out->neg = p[i] == '-';
		i++;
	}
	bool any = false, seen_nonzero = false;
	int64_t exp = 0; /* decimal point position relative to digits kept */
	size_t int_start = i;
	for (; i < n && is_digit(p[i]); i++) {
		any = true;
		if (p[i] == '0' && !seen_nonzero)
			continue;
		seen_nonzero = true;
		if (out->nd >= POL_DEC_DIGITS)
			return -1;
		out->d[out->nd++] = p[i];
		exp++;
	}
	(void)int_start;
	if (i < n && p[i] == '.') {
		i++;
		bool frac = false;
		for (; i < n && is_digit(p[i]); i++) {
			frac = true;
			if (p[i] == '0' && !seen_nonzero) {
				exp--;
				continue;
			}
			seen_nonzero = true;
			if (out->nd >= POL_DEC_DIGITS)
				return -1;
			out->d[out->nd++] = p[i];
		}
		if (!frac)
			return -1; /* "1." is not a number here */
	}
	if (!any && out->nd == 0) {
		/* ".5" is refused: the integer part is required (JSON's rule). */
		return -1;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		bool eneg = false;
		if (i < n && (p[i] == '-' || p[i] == '+')) {
			eneg = p[i] == '-';
			i++;
		}
		int64_t e = 0;
		bool ed = false;
		for (; i < n && is_digit(p[i]); i++) {
			ed = true;
			e = e * 10 + (p[i] - '0');
			if (e > 100000)
				return -1;
		}
		if (!ed)
			return -1;
		exp += eneg ? -e : e;
	}
	if (i != n)
		return -1;
	while (out->nd > 0 && out->d[out->nd - 1] == '0')
		out->nd--;
	if (out->nd == 0) {
		out->neg = false;
		out->exp = 0;
		return 0;
	}
	if (exp > 1000000 || exp < -1000000)
		return -1;
	out->exp = (int32_t)exp;
	return 0;
}

/* Compares magnitudes of two non-zero decimals. */
static int dec_cmp_abs(const struct pol_dec *a, const struct pol_dec *b)
{
	if (a->exp != b->exp)
		return a->exp < b->exp ? -1 : 1;
	size_t m = a->nd < b->nd ? a->nd : b->nd;
	int c = memcmp(a->d, b->d, m);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->nd != b->nd)
		return a->nd < b->nd ? -1 : 1;
	return 0;
}

int pol_dec_cmp(const struct pol_dec *a, const struct pol_dec *b)
{
	bool az = a->nd == 0, bz = b->nd == 0;
	if (az && bz)
		return 0;
	if (az)
		return b->neg ? 1 : -1;
	if (bz)
		return a->neg ? -1 : 1;
	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	int c = dec_cmp_abs(a, b);
	return a->neg ? -c : c;
}

/* ---- dates ---- */

static bool digits(const char *p, size_t n, size_t at, size_t count, int *out)
{
	if (at + count > n)
		return false;
	int v = 0;
	for (size_t i = 0; i < count; i++) {
		if (!is_digit(p[at + i]))
			return false;
		v = v * 10 + (p[at + i] - '0');
	}
	*out = v;
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's
 * algorithm. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Epoch seconds, optionally with a fraction: "1700000000", "1700000000.5". */
static int epoch_parse(const char *p, size_t n, struct pol_time *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && p[i] == '-') {
		neg = true;
		i++;
	}
	int64_t s = 0;
	size_t start = i;
	for (; i < n && is_digit(p[i]); i++) {
		if (i - start >= 15)
			return -1; /* beyond any date anyone means */
		s = s * 10 + (p[i] - '0');
	}
	if (i == start)
		return -1;
	uint32_t ns = 0;
	if (i < n && p[i] == '.') {
		i++;
		size_t fs = i;
		uint32_t scale = 100000000;
		for (; i < n && is_digit(p[i]); i++) {
			ns += (uint32_t)(p[i] - '0') * scale;
			scale /= 10;
			if (i - fs >= 9 && p[i] != '0')
				return -1; /* finer than a nanosecond */
		}
		if (i == fs)
			return -1;
	}
	if (i != n)
		return -1;
	if (neg) {
		s = -s;
		if (ns) {
			s -= 1;
			ns = 1000000000u - ns;
		}
	}
	out->sec = s;
	out->nsec = ns;
	return 0;
}

int pol_time_parse(const char *p, size_t n, struct pol_time *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0 || n > 64)
		return -1;
	/* All digits (with an optional fraction): epoch seconds. */
	bool dash = false;
	for (size_t i = 1; i < n; i++) {
		if (p[i] == '-' || p[i] == 'T' || p[i] == 't' || p[i] == ':')
			dash = true;
	}
	if (!dash)
		return epoch_parse(p, n, out);

	int y, mo = 1, d = 1, h = 0, mi = 0, s = 0;
	if (!digits(p, n, 0, 4, &y))
		return -1;
	size_t i = 4;
	if (i < n) {
		if (p[i] != '-' || !digits(p, n, i + 1, 2, &mo))
			return -1;
		i += 3;
		if (i < n && p[i] == '-') {
			if (!digits(p, n, i + 1, 2, &d))
				return -1;
			i += 3;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	uint32_t ns = 0;
	int64_t offset = 0;
	if (i < n) {
		if (p[i] != 'T' && p[i] != 't')
			return -1;
		i++;
		if (!digits(p, n, i, 2, &h) || i + 2 >= n || p[i + 2] != ':' ||
		    !digits(p, n, i + 3, 2, &mi))
			return -1;
		i += 5;
		if (i < n && p[i] == ':') {
			if (!digits(p, n, i + 1, 2, &s))
				return -1;
			i += 3;
			if (i < n && (p[i] == '.' || p[i] == ',')) {
				i++;
				size_t fs = i;
				uint32_t scale = 100000000;
				for (; i < n && is_digit(p[i]); i++) {
					ns += (uint32_t)(p[i] - '0') * scale;
					scale /= 10;
					if (i - fs >= 9 && p[i] != '0')
						return -1;
				}
				if (i == fs)
					return -1;
			}
		}
		/* 24:00:00 is not accepted; 60 seconds is (a leap second,
		 * counted as the next second, as POSIX time does). */
		if (h > 23 || mi > 59 || s > 60)
			return -1;
		if (i < n) {
			if ((p[i] == 'Z' || p[i] == 'z') && i + 1 == n) {
				i++;
			} else if (p[i] == '+' || p[i] == '-') {
				int oh, om;
				bool neg = p[i] == '-';
				if (!digits(p, n, i + 1, 2, &oh))
					return -1;
				size_t j = i + 3;
				if (j < n && p[j] == ':')
					j++;
				if (!digits(p, n, j, 2, &om))
					return -1;
				if (oh > 23 || om > 59)
					return -1;
				i = j + 2;
				offset = (int64_t)oh * 3600 + om * 60;
				if (neg)
					offset = -offset;
			} else {
				return -1;
			}
		}
	}
	if (i != n)
		return -1;
	int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	out->sec = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s - offset;
	out->nsec = ns;
	return 0;
}

int pol_time_cmp(const struct pol_time *a, const struct pol_time *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	if (a->nsec != b->nsec)
		return a->nsec < b->nsec ? -1 : 1;
	return 0;
}

/* ---- addresses ---- */

int pol_cidr_parse(const char *p, size_t n, bool allow_prefix, struct pol_cidr *out)
{
	memset(out, 0, sizeof(*out));
	char buf[64];
	size_t an = n;
	const char *slash = memchr(p, '/', n);
	if (slash != NULL) {
		if (!allow_prefix)
			return -1;
		an = (size_t)(slash - p);
	}
	if (an == 0 || an >= sizeof(buf))
		return -1;
	memcpy(buf, p, an);
	buf[an] = '\0';
	bool v4 = memchr(buf, ':', an) == NULL;
	int maxp;
	if (v4) {
		unsigned char a4[4];
		if (inet_pton(AF_INET, buf, a4) != 1)
			return -1;
		memset(out->addr, 0, 10);
		out->addr[10] = 0xff;
		out->addr[11] = 0xff;
		memcpy(out->addr + 12, a4, 4);
		maxp = 32;
	} else {
		if (inet_pton(AF_INET6, buf, out->addr) != 1)
			return -1;
		maxp = 128;
	}
	int plen = maxp;
	if (slash != NULL) {
		const char *q = slash + 1;
		size_t qn = n - an - 1;
		if (qn == 0 || qn > 3)
			return -1;
		plen = 0;
		for (size_t i = 0; i < qn; i++) {
			if (!is_digit(q[i]))
				return -1;
			plen = plen * 10 + (q[i] - '0');
		}
		if (qn > 1 && q[0] == '0')
			return -1;
		if (plen > maxp)
			return -1;
	}
	out->plen = (uint8_t)(v4 ? plen + 96 : plen);
	return 0;
}

bool pol_cidr_contains(const struct pol_cidr *block, const struct pol_cidr *addr)
{
	unsigned bits = block->plen;
	size_t full = bits / 8;
	if (memcmp(block->addr, addr->addr, full) != 0)
		return false;
	unsigned rem = bits % 8;
	if (rem == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rem));
	return (block->addr[full] & mask) == (addr->addr[full] & mask);
}

/* ---- booleans ---- */

int pol_bool_parse(const char *p, size_t n, bool *out)
{
	if (n == 4 && strncasecmp(p, "true", 4) == 0) {
		*out = true;
		return 0;
	}
	if (n == 5 && strncasecmp(p, "false", 5) == 0) {
		*out = false;
		return 0;
	}
	return -1;
}

/* ---- base64 ---- */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long pol_b64_decoded_len(const char *p, size_t n)
{
	if (n % 4 != 0 || n > (size_t)1 << 30)
		return -1;
	size_t pad = 0;
	if (n >= 1 && p[n - 1] == '=')
		pad++;
	if (n >= 2 && p[n - 2] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		if (b64_val((unsigned char)p[i]) < 0)
			return -1;
	}
	/* Canonical form: the bits the padding drops are zero. */
	if (pad == 1 && (b64_val((unsigned char)p[n - 2]) & 0x03) != 0)
		return -1;
	if (pad == 2 && (b64_val((unsigned char)p[n - 3]) & 0x0f) != 0)
		return -1;
	return (long)(n / 4 * 3 - pad);
}

/* Decodes the group of four at p into up to three bytes; returns the count. */
static size_t b64_group(const char *p, bool last, size_t n_total_pad, unsigned char out[3])
{
	int v[4];
	for (int k = 0; k < 4; k++)
		v[k] = p[k] == '=' ? 0 : b64_val((unsigned char)p[k]);
	uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
	             (uint32_t)v[3];
	out[0] = (unsigned char)(w >> 16);
	out[1] = (unsigned char)(w >> 8);
	out[2] = (unsigned char)w;
	return last ? 3 - n_total_pad : 3;
}

void pol_b64_decode(const char *p, size_t n, unsigned char *out)
{
	size_t pad = (n >= 1 && p[n - 1] == '=') + (n >= 2 && p[n - 2] == '=');
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		unsigned char g[3];
		size_t k = b64_group(p + i, i + 4 == n, pad, g);
		memcpy(out + o, g, k);
		o += k;
	}
}

bool pol_b64_equals(const char *p, size_t n, const unsigned char *b, size_t bn)
{
	long len = pol_b64_decoded_len(p, n);
	if (len < 0 || (size_t)len != bn)
		return false;
	size_t pad = (n >= 1 && p[n - 1] == '=') + (n >= 2 && p[n - 2] == '=');
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		unsigned char g[3];
		size_t k = b64_group(p + i, i + 4 == n, pad, g);
		if (memcmp(b + o, g, k) != 0)
			return false;
		o += k;
	}
	return true;
}
