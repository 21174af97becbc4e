/*
 * sts_xml.c - the two text formats of STS's query protocol: the form-encoded
 * parameters coming in, and the XML going out.
 *
 * Both sides are small enough to write by hand and important enough not to
 * get wrong. Parameters are decoded exactly once, into one buffer, and a name
 * given twice is refused: "Action=A&Action=B" must not be read one way by one
 * layer and the other way by another. XML is built by appending, and every
 * value goes through one escaping function, so an ARN, a session name or an
 * error message can never open an element of its own.
 */
#include "gateway/sts_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static void put(struct gw_sts_xml *x, const char *s, size_t n)
{
	if (x->oom)
		return;
	if (x->cap - x->n <= n) {
		size_t cap = x->cap ? x->cap : 1024;
		while (cap - x->n <= n) {
			if (cap > ((size_t)1 << 26)) {
				x->oom = true;
				return;
			}
			cap *= 2;
		}
		/* grow by copying, so an old buffer holding a secret is wiped */
		char *p = malloc(cap);
		if (!p) {
			x->oom = true;
			return;
		}
		if (x->p) {
			memcpy(p, x->p, x->n);
			OPENSSL_cleanse(x->p, x->cap);
			free(x->p);
		}
		x->p = p;
		x->cap = cap;
	}
	memcpy(x->p + x->n, s, n);
	x->n += n;
	x->p[x->n] = '\0';
}

void gw_sts_xml_raw(struct gw_sts_xml *x, const char *s)
{
	put(x, s, strlen(s));
}

void gw_sts_xml_text(struct gw_sts_xml *x, const char *s, size_t n)
{
	size_t run = 0; /* start of the pending stretch that needs no escaping */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				rep = "?";
		}
		if (!rep)
			continue;
		put(x, s + run, i - run);
		put(x, rep, strlen(rep));
		run = i + 1;
	}
	put(x, s + run, n - run);
}

void gw_sts_xml_elem(struct gw_sts_xml *x, const char *name, const char *value)
{
	if (!value)
		return;
	put(x, "<", 1);
	gw_sts_xml_raw(x, name);
	put(x, ">", 1);
	gw_sts_xml_text(x, value, strlen(value));
	put(x, "</", 2);
	gw_sts_xml_raw(x, name);
	put(x, ">", 1);
}

void gw_sts_xml_free(struct gw_sts_xml *x)
{
	if (x->p) {
		OPENSSL_cleanse(x->p, x->cap);
		free(x->p);
	}
	memset(x, 0, sizeof(*x));
}

/* ---- the form ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) to dst (NUL-terminated); returns the decoded length or -1. */
static long decode(const char *s, size_t n, char *dst)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			dst[o++] = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			dst[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			dst[o++] = c;
		}
	}
	dst[o] = '\0';
	return (long)o;
}

int gw_sts_form_parse(const char *text, size_t n, struct gw_sts_form *out, char *why,
                      size_t why_size)
{
	memset(out, 0, sizeof(*out));
	/* each piece decodes to at most its own length, plus a NUL per piece */
	out->buf = malloc(2 * n + 2);
	out->buf_n = 2 * n + 2;
	if (!out->buf) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	char *w = out->buf;
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && text[end] != '&')
			end++;
		if (end > i) {
			size_t eq = i;
			while (eq < end && text[eq] != '=')
				eq++;
			if (out->n >= GW_STS_PARAMS_MAX) {
				snprintf(why, why_size, "more than %d parameters",
				         GW_STS_PARAMS_MAX);
				goto fail;
			}
			char *name = w;
			long nn = decode(text + i, eq - i, name);
			if (nn < 0)
				goto bad;
			w += nn + 1;
			char *value = w;
			long vn = eq < end ? decode(text + eq + 1, end - eq - 1, value) : 0;
			if (vn < 0)
				goto bad;
			if (eq >= end)
				value[0] = '\0';
			w += vn + 1;
			if ((size_t)nn != strlen(name) || (size_t)vn != strlen(value)) {
				/* the handler reads C strings: a NUL would cut a value short */
				snprintf(why, why_size, "a parameter contains a NUL byte");
				goto fail;
			}
			if (gw_sts_form_get(out, name)) {
				snprintf(why, why_size,
				         "the parameter %.64s is given more than once", name);
				goto fail;
			}
			out->params[out->n].name = name;
			out->params[out->n].value = value;
			out->params[out->n].value_n = (size_t)vn;
			out->n++;
		}
		i = end + 1;
	}
	return 0;
bad:
	snprintf(why, why_size, "a parameter has a malformed %%-escape");
fail:
	gw_sts_form_free(out);
	return -1;
}

void gw_sts_form_free(struct gw_sts_form *f)
{
	/* the form may hold a web identity token or an MFA code */
	if (f->buf)
		OPENSSL_cleanse(f->buf, f->buf_n);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

const char *gw_sts_form_get(const struct gw_sts_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->params[i].name, name) == 0)
			return f->params[i].value;
	return NULL;
}
