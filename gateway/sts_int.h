/*
 * sts_int.h - what the STS files share (sts.c, sts_xml.c) and the unit
 * tests may use; not part of gateway/sts.h's contract.
 *
 * The XML writer is a growing buffer that escapes every value it is given,
 * so that no text from a request or the IAM file can change the shape of a
 * response. The form parser decodes the query protocol's
 * application/x-www-form-urlencoded parameters once, refusing malformed
 * escapes and repeated names so that the handler and the signature check
 * cannot read two different requests out of one text.
 */
#ifndef TASKGATE_GATEWAY_STS_INT_H
#define TASKGATE_GATEWAY_STS_INT_H

#include <stdbool.h>
#include <stddef.h>

struct gw_sts_xml {
	char *p; /* owned, NUL-terminated when not oom */
	size_t n;
	size_t cap;
	bool oom; /* sticky: one failed append fails the whole document */
};

void gw_sts_xml_raw(struct gw_sts_xml *x, const char *s);
/* Appends s[0..n) escaped for XML text and attribute values: & < > " ' as
 * entities; control characters XML 1.0 cannot carry become '?'. */
void gw_sts_xml_text(struct gw_sts_xml *x, const char *s, size_t n);
/* <name>escaped value</name>; a NULL value writes nothing. */
void gw_sts_xml_elem(struct gw_sts_xml *x, const char *name, const char *value);
/* Frees and wipes (the buffer may hold a secret). */
void gw_sts_xml_free(struct gw_sts_xml *x);

#define GW_STS_PARAMS_MAX 256

struct gw_sts_param {
	const char *name; /* decoded, NUL-terminated, in the form's buffer */
	const char *value;
	size_t value_n;
};

struct gw_sts_form {
	char *buf; /* owned: decoded names and values */
	struct gw_sts_param params[GW_STS_PARAMS_MAX];
	size_t n;
};

/* 0, or -1 with why filled (malformed escape, repeated name, too many). */
int gw_sts_form_parse(const char *text, size_t n, struct gw_sts_form *out, char *why,
                      size_t why_size);
void gw_sts_form_free(struct gw_sts_form *f);
/* The value of a parameter by exact name, or NULL. */
const char *gw_sts_form_get(const struct gw_sts_form *f, const char *name);

#endif
