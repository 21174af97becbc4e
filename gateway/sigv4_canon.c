/*
 * sigv4_canon.c - the canonical request of AWS Signature Version 4, and the
 * small text rules it rests on (timestamps, percent-encoding, header values).
 *
 * The canonical request is the text both sides hash: if our bytes differ from
 * the signer's by one space, every honest request fails. So this file does
 * what AWS's published test suite and botocore (the signer behind the AWS CLI)
 * do, byte for byte:
 *
 *   METHOD
 *   path      dot segments and empty segments removed (non-S3 rule), then
 *             every byte but A-Z a-z 0-9 - . _ ~ and '/' written %XX; the path
 *             arrives encoded on the wire, so an encoded byte is encoded again
 *             ("%20" -> "%2520"), as every non-S3 service expects;
 *   query     each name and value decoded, then re-encoded with only the
 *             unreserved bytes kept (space is %20, '+' is %2B), sorted by name
 *             then value in byte order; a presigned URL leaves out
 *             X-Amz-Signature;
 *   headers   the signed names in order, each "name:value\n" where value joins
 *             every header of that name in the order received with ',' after
 *             trimming it and folding inner runs of white space to one space;
 *   signed    the SignedHeaders list;
 *   payload   x-amz-content-sha256 when sent (checked by verify), else the hex
 *             SHA-256 of the body.
 *
 * Everything is written into one buffer whose size is bounded from the limits
 * in sigv4.h before it is allocated; sorting the query uses a fixed array.
 * Nothing here sees a secret.
 */
#include "gateway/sigv4_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static bool is_ws(unsigned char c)
{
	/* Python's str.split() as botocore uses it folds these (ASCII only: header
	 * values outside ASCII are left as they are). */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool gw_sigv4_name_is(const char *a, size_t n, const char *lit)
{
	size_t ln = strlen(lit);
	if (n != ln)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

void gw_sigv4_trim(const char **p, size_t *n)
{
	const char *s = *p;
	size_t len = *n;
	while (len > 0 && is_ws((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_ws((unsigned char)s[len - 1]))
		len--;
	*p = s;
	*n = len;
}

size_t gw_sigv4_header_count(const struct gw_sigv4_request *req, const char *name,
                             const struct gw_sigv4_header **first)
{
	size_t count = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct gw_sigv4_header *h = &req->headers[i];
		if (!gw_sigv4_name_is(h->name, h->name_n, name))
			continue;
		if (count == 0 && first)
			*first = h;
		count++;
	}
	return count;
}

bool gw_sigv4_list_has(const char *list, size_t list_n, const char *name)
{
	size_t nn = strlen(name);
	size_t i = 0;
	while (i <= list_n) {
		size_t j = i;
		while (j < list_n && list[j] != ';')
			j++;
		if (j - i == nn && memcmp(list + i, name, nn) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

/* ---- time ---- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : dim[m - 1];
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool make_time(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
                      int64_t *t)
{
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return false;
	*t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
	return true;
}

bool gw_sigv4_parse_timestamp(const char *s, size_t n, int64_t *t)
{
	unsigned y, mo, d, h, mi, sec;
	if (!s || n != GW_SIGV4_TIMESTAMP_LEN || s[8] != 'T' || s[15] != 'Z')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) ||
	    !digits(s + 9, 2, &h) || !digits(s + 11, 2, &mi) || !digits(s + 13, 2, &sec))
		return false;
	return make_time(y, mo, d, h, mi, sec, t);
}

bool gw_sigv4_parse_http_date(const char *s, size_t n, int64_t *t)
{
	static const char *const wdays[7] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	/* "Sun, 06 Nov 1994 08:49:37 " is 26 bytes, then the zone. */
	if (!s || n < 29)
		return false;
	const char *zone = s + 26;
	size_t zone_n = n - 26;
	if (!((zone_n == 3 && (memcmp(zone, "GMT", 3) == 0 || memcmp(zone, "UTC", 3) == 0)) ||
	      (zone_n == 5 && (memcmp(zone, "+0000", 5) == 0 || memcmp(zone, "-0000", 5) == 0))))
		return false;
	if (s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
	    s[19] != ':' || s[22] != ':' || s[25] != ' ')
		return false;
	unsigned y, mo = 0, d, h, mi, sec;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mo = i + 1;
	if (mo == 0 || !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) || !digits(s + 17, 2, &h) ||
	    !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &sec))
		return false;
	if (!make_time(y, mo, d, h, mi, sec, t))
		return false;
	/* 1970-01-01 was a Thursday; a weekday that contradicts the date is a
	 * forged or broken header, not a typo to forgive. */
	int64_t days = days_from_civil(y, mo, d);
	int64_t wd = ((days % 7) + 7) % 7;
	return memcmp(s, wdays[wd], 3) == 0;
}

void gw_sigv4_format_timestamp(int64_t t, char out[GW_SIGV4_TIMESTAMP_LEN + 1])
{
	int64_t days = t / 86400, rem = t % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		/* Outside what the format can say; callers bound their times. */
		memcpy(out, "00000000T000000Z", GW_SIGV4_TIMESTAMP_LEN + 1);
		return;
	}
	unsigned v[6] = {
	    (unsigned)y,         m, d, (unsigned)(rem / 3600), (unsigned)(rem % 3600 / 60),
	    (unsigned)(rem % 60)};
	char *o = out;
	o[0] = (char)('0' + v[0] / 1000);
	o[1] = (char)('0' + v[0] / 100 % 10);
	o[2] = (char)('0' + v[0] / 10 % 10);
	o[3] = (char)('0' + v[0] % 10);
	o += 4;
	for (int i = 1; i < 6; i++) {
		if (i == 3)
			*o++ = 'T';
		*o++ = (char)('0' + v[i] / 10);
		*o++ = (char)('0' + v[i] % 10);
	}
	*o++ = 'Z';
	*o = '\0';
}

/* ---- percent-encoding ---- */

bool gw_sigv4_query_scan(const char *q, size_t n, size_t *components)
{
	size_t count = 0, len = 0;
	for (size_t i = 0; i < n; i++) {
		if (q[i] == '&') {
			count += len > 0;
			len = 0;
			continue;
		}
		if (q[i] == '%') {
			if (i + 2 >= n || hex_val((unsigned char)q[i + 1]) < 0 ||
			    hex_val((unsigned char)q[i + 2]) < 0)
				return false;
			i += 2;
		}
		len++;
	}
	count += len > 0;
	*components = count;
	return true;
}

bool gw_sigv4_pct_decode(const char *in, size_t n, char *out, size_t cap, size_t *out_n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '%') {
			if (i + 2 >= n)
				return false;
			int hi = hex_val((unsigned char)in[i + 1]),
			    lo = hex_val((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (o >= cap)
			return false;
		out[o++] = (char)c;
	}
	*out_n = o;
	return true;
}

bool gw_sigv4_sha256_hex(const void *p, size_t n, char out[GW_SIGV4_SIGNATURE_HEX + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int md_n = 0;
	static const unsigned char empty = 0;
	if (EVP_Digest(n ? p : &empty, n, md, &md_n, EVP_sha256(), NULL) != 1 ||
	    md_n != SHA256_DIGEST_LENGTH)
		return false;
	for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = hex_lower[md[i] >> 4];
		out[2 * i + 1] = hex_lower[md[i] & 15];
	}
	out[GW_SIGV4_SIGNATURE_HEX] = '\0';
	return true;
}

/* ---- messages ---- */

int gw_sigv4_fail(struct gw_sigv4_error *err, int code, enum gw_sigv4_reason reason,
                  const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	err->reason = reason;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	/* A message cut short is still a true message; an encoding error is not. */
	if (w < 0)
		snprintf(err->message, sizeof err->message, "%s", "signature refused");
	return code;
}

void gw_sigv4_err_reset(struct gw_sigv4_error *err)
{
	if (err) {
		err->code = GW_SIGV4_OK;
		err->reason = GW_SIGV4_R_NONE;
		err->message[0] = '\0';
	}
}

void gw_sigv4_append(char *buf, size_t size, const char *s)
{
	size_t len = strlen(buf);
	if (len >= size - 1)
		return;
	int w = snprintf(buf + len, size - len, "%s%s", len ? " " : "", s);
	if (w < 0)
		buf[len] = '\0';
}

void gw_sigv4_echo(const char *p, size_t n, size_t max, char *out, size_t out_size)
{
	size_t o = 0;
	if (out_size == 0)
		return;
	bool cut = n > max;
	size_t take = cut ? max : n;
	for (size_t i = 0; i < take && o + 1 < out_size; i++) {
		unsigned char c = (unsigned char)p[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	for (int k = 0; cut && k < 3 && o + 1 < out_size; k++)
		out[o++] = '.';
	out[o] = '\0';
}

/* ---- the canonical request ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	bool overflow;
};

static void put(struct sbuf *b, const void *s, size_t n)
{
	if (b->overflow || n > b->cap - b->n) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void putc_(struct sbuf *b, char c)
{
	put(b, &c, 1);
}

static void put_encoded_byte(struct sbuf *b, unsigned char c)
{
	if (is_unreserved(c)) {
		putc_(b, (char)c);
		return;
	}
	char e[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
	put(b, e, 3);
}

/* botocore's remove_dot_segments on the raw path, then each byte encoded. */
static void canon_path(struct sbuf *b, const char *path, size_t n)
{
	size_t start = b->n;
	size_t i = 0;
	bool any = false;
	while (i < n) {
		size_t j = i;
		while (j < n && path[j] != '/')
			j++;
		size_t seg = j - i;
		if (seg == 0 || (seg == 1 && path[i] == '.')) {
			/* empty (from "//") and "." segments vanish */
		} else if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (any) {
				size_t k = b->n;
				while (k > start && b->p[k - 1] != '/')
					k--;
				b->n = k - 1; /* drop the segment and its '/' */
				any = b->n > start;
			}
		} else {
			putc_(b, '/');
			for (size_t k = i; k < j; k++)
				put_encoded_byte(b, (unsigned char)path[k]);
			any = true;
		}
		i = j + 1;
	}
	if (!any)
		putc_(b, '/');
	else if (n > 0 && path[n - 1] == '/')
		putc_(b, '/');
}

struct qpair {
	const char *k;
	size_t kn;
	const char *v;
	size_t vn;
};

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int c = m ? memcmp(a, b, m) : 0;
	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static int cmp_pair(const void *x, const void *y)
{
	const struct qpair *a = x, *b = y;
	int c = cmp_bytes(a->k, a->kn, b->k, b->kn);
	return c ? c : cmp_bytes(a->v, a->vn, b->v, b->vn);
}

/* Decodes in[0..n) (already scanned) and writes it strictly re-encoded. */
static void put_reencoded(struct sbuf *b, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '%' && i + 2 < n) {
			c = (unsigned char)(hex_val((unsigned char)in[i + 1]) << 4 |
			                    hex_val((unsigned char)in[i + 2]));
			i += 2;
		}
		put_encoded_byte(b, c);
	}
}

static void canon_query(struct sbuf *out, struct sbuf *scratch, const char *q, size_t n,
                        bool skip_signature)
{
	struct qpair pairs[GW_SIGV4_MAX_QUERY_PARAMS];
	size_t np = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && q[j] != '&')
			j++;
		if (j > i && np < GW_SIGV4_MAX_QUERY_PARAMS) {
			size_t eq = i;
			while (eq < j && q[eq] != '=')
				eq++;
			struct qpair *p = &pairs[np];
			size_t k0 = scratch->n;
			put_reencoded(scratch, q + i, eq - i);
			size_t v0 = scratch->n;
			if (eq < j)
				put_reencoded(scratch, q + eq + 1, j - eq - 1);
			size_t v1 = scratch->n;
			p->k = scratch->p + k0;
			p->kn = v0 - k0;
			p->v = scratch->p + v0;
			p->vn = v1 - v0;
			/* X-Amz-Signature is never encoded differently from itself. */
			if (!(skip_signature && p->kn == 15 &&
			      memcmp(p->k, "X-Amz-Signature", 15) == 0))
				np++;
		}
		i = j + 1;
	}
	if (scratch->overflow) {
		out->overflow = true;
		return;
	}
	qsort(pairs, np, sizeof pairs[0], cmp_pair);
	for (size_t k = 0; k < np; k++) {
		if (k > 0)
			putc_(out, '&');
		put(out, pairs[k].k, pairs[k].kn);
		putc_(out, '=');
		put(out, pairs[k].v, pairs[k].vn);
	}
}

/* Trims value and folds inner runs of white space to one space. */
static void put_header_value(struct sbuf *b, const char *v, size_t n)
{
	gw_sigv4_trim(&v, &n);
	bool in_ws = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (is_ws(c)) {
			in_ws = true;
			continue;
		}
		if (in_ws)
			putc_(b, ' ');
		in_ws = false;
		putc_(b, (char)c);
	}
}

/* Returns false (name in *missing) when a signed header is not in the request. */
static bool canon_headers(struct sbuf *b, const struct gw_sigv4_auth *auth,
                          const struct gw_sigv4_request *req, const char **missing,
                          size_t *missing_n)
{
	const char *list = auth->signed_headers;
	size_t ln = auth->signed_headers_n;
	size_t i = 0;
	while (i < ln) {
		size_t j = i;
		while (j < ln && list[j] != ';')
			j++;
		const char *name = list + i;
		size_t nn = j - i;
		put(b, name, nn);
		putc_(b, ':');
		bool found = false;
		for (size_t h = 0; h < req->n_headers; h++) {
			const struct gw_sigv4_header *hd = &req->headers[h];
			if (hd->name_n != nn)
				continue;
			bool same = true;
			for (size_t k = 0; k < nn && same; k++)
				same = lower((unsigned char)hd->name[k]) == (unsigned char)name[k];
			if (!same)
				continue;
			if (found)
				putc_(b, ',');
			put_header_value(b, hd->value, hd->value_n);
			found = true;
		}
		if (!found) {
			*missing = name;
			*missing_n = nn;
			return false;
		}
		putc_(b, '\n');
		i = j + 1;
	}
	return true;
}

int gw_sigv4_canonical_request(const struct gw_sigv4_auth *auth, const struct gw_sigv4_request *req,
                               char **out, size_t *out_n, struct gw_sigv4_error *err)
{
	if (!auth || !req || !out || !out_n)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "canonical request: missing argument");
	*out = NULL;
	*out_n = 0;
	if (req->path_n > GW_SIGV4_MAX_PATH || req->query_n > GW_SIGV4_MAX_QUERY ||
	    req->method_n > GW_SIGV4_MAX_METHOD || req->n_headers > GW_SIGV4_MAX_HEADERS)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "canonical request: request over the limits (not parsed?)");
	size_t header_bytes = 0;
	for (size_t i = 0; i < req->n_headers; i++)
		header_bytes += req->headers[i].name_n + req->headers[i].value_n;
	if (header_bytes > GW_SIGV4_MAX_HEADER_BYTES)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "canonical request: request over the limits (not parsed?)");

	/* Upper bounds, from the limits: every byte of path and query can become
	 * "%XX", a query component can gain '=', header values can only shrink. */
	size_t cap = req->method_n + 1 + 3 * req->path_n + 2 + 4 * req->query_n + 1 +
	             auth->signed_headers_n + 2 * auth->n_signed + header_bytes + req->n_headers +
	             1 + auth->signed_headers_n + 1 + header_bytes + GW_SIGV4_SIGNATURE_HEX + 1;
	size_t scratch_cap = 4 * req->query_n + 1;
	char *mem = malloc(cap + scratch_cap);
	if (!mem)
		return gw_sigv4_fail(err, GW_SIGV4_ERR_NOMEM, GW_SIGV4_R_NOMEM, "%s",
		                     "out of memory while checking the signature");
	struct sbuf b = {mem, 0, cap - 1, false};
	struct sbuf scratch = {mem + cap, 0, scratch_cap, false};

	put(&b, req->method, req->method_n);
	putc_(&b, '\n');
	canon_path(&b, req->path, req->path_n);
	putc_(&b, '\n');
	canon_query(&b, &scratch, req->query, req->query_n, auth->mode == GW_SIGV4_MODE_QUERY);
	putc_(&b, '\n');
	const char *missing = NULL;
	size_t missing_n = 0;
	if (!canon_headers(&b, auth, req, &missing, &missing_n)) {
		free(mem);
		char name[80];
		gw_sigv4_echo(missing, missing_n, 64, name, sizeof name);
		return gw_sigv4_fail(err, GW_SIGV4_ERR_SIGNATURE, GW_SIGV4_R_HEADER_ABSENT,
		                     "'%s' is named in SignedHeaders but is not in the request.",
		                     name);
	}
	putc_(&b, '\n');
	put(&b, auth->signed_headers, auth->signed_headers_n);
	putc_(&b, '\n');

	const struct gw_sigv4_header *xacs = NULL;
	if (gw_sigv4_header_count(req, "x-amz-content-sha256", &xacs) > 0) {
		const char *v = xacs->value;
		size_t vn = xacs->value_n;
		gw_sigv4_trim(&v, &vn);
		put(&b, v, vn);
	} else {
		char h[GW_SIGV4_SIGNATURE_HEX + 1];
		if (!gw_sigv4_sha256_hex(req->body, req->body_n, h)) {
			free(mem);
			return gw_sigv4_fail(err, GW_SIGV4_ERR_NOMEM, GW_SIGV4_R_NOMEM, "%s",
			                     "SHA-256 failed while checking the signature");
		}
		put(&b, h, GW_SIGV4_SIGNATURE_HEX);
	}
	if (b.overflow) {
		/* The bound above is wrong: a bug, not the caller's fault. */
		free(mem);
		return gw_sigv4_fail(err, GW_SIGV4_ERR_ARG, GW_SIGV4_R_ARG, "%s",
		                     "canonical request larger than its bound");
	}
	b.p[b.n] = '\0';
	*out = b.p;
	*out_n = b.n;
	return GW_SIGV4_OK;
}
