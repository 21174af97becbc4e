/*
 * iam_walk.c - the IAM file parser's tools: the path of where it is, the
 * diagnostics that carry that path, AWS's character rules, typed reads of
 * JSON members, policy documents compiled into canonical text, and tags.
 *
 * Nothing here knows what a role or a user is; iam_file.c and iam_file_oidc.c
 * do. Every helper reports its own fault at the current path and lets the
 * caller carry on, so one run finds every fault of a file.
 */
#include "gateway/iam_walk.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- diagnostics and the path of where we are ---- */

void gw_iam_diags_free(struct gw_iam_diags *d)
{
	if (!d)
		return;
	free(d->items);
	memset(d, 0, sizeof(*d));
}

static void add_diag(struct gw_iam_walk *w, bool warning, const char *path, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));
static void add_diag(struct gw_iam_walk *w, bool warning, const char *path, const char *fmt,
                     va_list ap)
{
	struct gw_iam_diags *d = w->d;
	if (warning)
		d->warnings++;
	else
		d->errors++;
	if (d->count >= GW_IAM_DIAGS_MAX) {
		d->truncated = true;
		return;
	}
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct gw_iam_diag *p = realloc(d->items, cap * sizeof(*p));
		if (!p) {
			w->oom = true;
			return;
		}
		d->items = p;
		d->cap = cap;
	}
	struct gw_iam_diag *it = &d->items[d->count++];
	it->warning = warning;
	int n = snprintf(it->path, sizeof(it->path), "%s", path);
	if (n < 0)
		it->path[0] = '\0';
	else if ((size_t)n >= sizeof(it->path))
		memcpy(it->path + sizeof(it->path) - 4, "...", 4);
	n = vsnprintf(it->message, sizeof(it->message), fmt, ap);
	if (n < 0)
		it->message[0] = '\0';
	else if ((size_t)n >= sizeof(it->message))
		memcpy(it->message + sizeof(it->message) - 4, "...", 4);
}

void gw_iam_err(struct gw_iam_walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_diag(w, false, w->path, fmt, ap);
	va_end(ap);
}

void gw_iam_warn(struct gw_iam_walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_diag(w, true, w->path, fmt, ap);
	va_end(ap);
}

/* Appends to the path; returns the length to restore with pop. */
size_t gw_iam_push(struct gw_iam_walk *w, const char *fmt, ...)
{
	size_t saved = w->len;
	if (w->len + 1 >= sizeof(w->path))
		return saved;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->path + w->len, sizeof(w->path) - w->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		w->path[w->len] = '\0';
	else if ((size_t)n >= sizeof(w->path) - w->len)
		w->len = sizeof(w->path) - 1;
	else
		w->len += (size_t)n;
	return saved;
}

size_t gw_iam_push_key(struct gw_iam_walk *w, const char *key)
{
	return w->len == 0 ? gw_iam_push(w, "%s", key) : gw_iam_push(w, ".%s", key);
}

size_t gw_iam_push_index(struct gw_iam_walk *w, size_t i)
{
	return gw_iam_push(w, "[%zu]", i);
}

void gw_iam_pop(struct gw_iam_walk *w, size_t saved)
{
	w->len = saved;
	w->path[saved] = '\0';
}

/* ---- character rules ---- */

/* Decodes one UTF-8 sequence (jansson has already refused invalid UTF-8). */
static unsigned long next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned long c = s[0];
	int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
	if (extra)
		c &= 0x3F >> extra;
	for (int i = 1; i <= extra && s[i]; i++)
		c = (c << 6) | (s[i] & 0x3F);
	*p = s + 1 + extra;
	return c;
}

size_t gw_iam_count_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xC0) != 0x80;
	return n;
}

/* Characters other than white space: how AWS measures policy sizes. */
static size_t count_chars_no_space(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xC0) != 0x80 && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r';
	return n;
}

/* Role, user and policy names: [\w+=,.@-]. */
bool gw_iam_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr("_+=,.@-", c) != NULL;
		if (!ok)
			return false;
	}
	return true;
}

/* "/" or "/" [!-~]+ "/". */
bool gw_iam_path_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > GW_IAM_PATH_MAX || s[0] != '/' || s[n - 1] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7E)
			return false;
	}
	return true;
}

/* Descriptions: tab, line feed, carriage return, printable ASCII, U+00A1..U+00FF. */
bool gw_iam_description_ok(const char *s)
{
	if (gw_iam_count_chars(s) > GW_IAM_DESCRIPTION_MAX)
		return false;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned long c = next_cp(&p);
		bool ok = c == 9 || c == 10 || c == 13 || (c >= 0x20 && c <= 0x7E) ||
		          (c >= 0xA1 && c <= 0xFF);
		if (!ok)
			return false;
	}
	return true;
}

/* Tag keys and values: letters, digits, spaces and _.:/=+-@. Outside ASCII,
 * any character but the C1 controls counts as a letter (docs/iam.md). */
bool gw_iam_tag_chars_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned long c = next_cp(&p);
		if (c >= 0x80) {
			if (c <= 0x9F)
				return false;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || (c != 0 && strchr(" _.:/=+-@", (int)c) != NULL);
		if (!ok)
			return false;
	}
	return true;
}

/* Printable text without controls (claims, audiences, subjects). */
bool gw_iam_printable_ok(const char *s, size_t max)
{
	size_t n = gw_iam_count_chars(s);
	if (n == 0 || n > max)
		return false;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned long c = next_cp(&p);
		if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F))
			return false;
	}
	return true;
}

bool gw_iam_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* "AKIA" and 16 of [A-Z0-9]. */
bool gw_iam_access_key_id_ok(const char *s)
{
	if (strlen(s) != GW_ACCESS_KEY_ID_LEN || strncmp(s, "AKIA", 4) != 0)
		return false;
	for (size_t i = 4; i < GW_ACCESS_KEY_ID_LEN; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	}
	return true;
}

/* v[1-9][0-9]*(\.[A-Za-z0-9-]*)? */
bool gw_iam_version_id_ok(const char *s)
{
	if (s[0] != 'v' || s[1] < '1' || s[1] > '9' || strlen(s) > 64)
		return false;
	const char *p = s + 2;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '\0')
		return true;
	if (*p != '.')
		return false;
	for (p++; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	}
	return true;
}

/* ---- JSON members ---- */

bool gw_iam_keys_known(struct gw_iam_walk *w, json_t *obj, const char *const *known)
{
	bool ok = true;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		(void)v;
		bool found = false;
		for (size_t i = 0; known[i]; i++)
			found = found || strcmp(key, known[i]) == 0;
		if (!found) {
			size_t s = gw_iam_push_key(w, key);
			gw_iam_err(w, "unknown key (a typo?)");
			gw_iam_pop(w, s);
			ok = false;
		}
	}
	return ok;
}

const char *gw_iam_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A string member; NULL when absent (an error if required) or not a string. */
const char *gw_iam_get_str(struct gw_iam_walk *w, json_t *obj, const char *key, bool required)
{
	json_t *v = json_object_get(obj, key);
	size_t s = gw_iam_push_key(w, key);
	const char *out = NULL;
	if (!v) {
		if (required)
			gw_iam_err(w, "is required");
	} else if (!json_is_string(v)) {
		gw_iam_err(w, "must be a string, not %s", gw_iam_json_kind(v));
	} else if (strlen(json_string_value(v)) != json_string_length(v)) {
		gw_iam_err(w, "contains a NUL character");
	} else {
		out = json_string_value(v);
	}
	gw_iam_pop(w, s);
	return out;
}

/* An integer member in [min, max]; def when absent. false on a fault. */
bool gw_iam_get_int(struct gw_iam_walk *w, json_t *obj, const char *key, int64_t min, int64_t max,
                    int64_t def, int64_t *out)
{
	*out = def;
	json_t *v = json_object_get(obj, key);
	if (!v)
		return true;
	size_t s = gw_iam_push_key(w, key);
	bool ok = false;
	if (!json_is_integer(v))
		gw_iam_err(w, "must be an integer, not %s", gw_iam_json_kind(v));
	else if (json_integer_value(v) < min || json_integer_value(v) > max)
		gw_iam_err(w, "must be between %lld and %lld, not %lld", (long long)min,
		           (long long)max, (long long)json_integer_value(v));
	else {
		*out = json_integer_value(v);
		ok = true;
	}
	gw_iam_pop(w, s);
	return ok;
}

/* A member that must be of one JSON type when present. */
json_t *gw_iam_get_typed(struct gw_iam_walk *w, json_t *obj, const char *key, json_type type,
                         bool required)
{
	json_t *v = json_object_get(obj, key);
	size_t s = gw_iam_push_key(w, key);
	json_t *out = NULL;
	if (!v) {
		if (required)
			gw_iam_err(w, "is required");
	} else if (json_typeof(v) != type) {
		gw_iam_err(w, "must be %s, not %s",
		           type == JSON_OBJECT  ? "an object"
		           : type == JSON_ARRAY ? "an array"
		                                : "a boolean",
		           gw_iam_json_kind(v));
	} else {
		out = v;
	}
	gw_iam_pop(w, s);
	return out;
}

char *gw_iam_sdup(struct gw_iam_walk *w, const char *s)
{
	if (!s)
		return NULL;
	char *p = gw_iam_strdup(s);
	if (!p)
		w->oom = true;
	return p;
}

/* Makes room for one more element; capacity implied by n (4, 8, 16...). */
bool gw_iam_grow(struct gw_iam_walk *w, void **arr, size_t n, size_t elem)
{
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return true;
	size_t cap = n == 0 ? 4 : n * 2;
	void *p = cap > SIZE_MAX / elem ? NULL : realloc(*arr, cap * elem);
	if (!p) {
		w->oom = true;
		return false;
	}
	*arr = p;
	return true;
}

/* ---- policy documents ---- */

/*
 * Compiles the document at the current path as `type` and returns its
 * canonical text (malloc'd), or NULL after reporting why. *chars gets its
 * length in characters, for the aggregate limits.
 */
char *gw_iam_compile_doc(struct gw_iam_walk *w, json_t *doc, enum policy_type type, bool managed,
                         const char *id, size_t *chars)
{
	if (chars)
		*chars = 0;
	if (!json_is_object(doc)) {
		gw_iam_err(w, "a policy document must be a JSON object, not %s",
		           gw_iam_json_kind(doc));
		return NULL;
	}
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		w->oom = true;
		return NULL;
	}
	struct policy_options opts = {.type = type, .managed = managed, .size_limit = 0, .id = id};
	struct policy_diags pd;
	policy_diags_init(&pd);
	struct policy *p = NULL;
	int rc = policy_compile(text, strlen(text), &opts, &p, &pd);
	for (size_t i = 0; i < pd.count; i++) {
		const struct policy_diag *g = &pd.items[i];
		size_t s = w->len;
		if (g->path[0])
			s = gw_iam_push(w, g->path[0] == '[' ? "%s" : ".%s", g->path);
		if (g->severity == POLICY_SEV_ERROR)
			gw_iam_err(w, "%s", g->message);
		else
			gw_iam_warn(w, "%s", g->message);
		gw_iam_pop(w, s);
	}
	if (rc == POLICY_ERR_NOMEM)
		w->oom = true;
	else if (rc != POLICY_OK && pd.errors == 0)
		gw_iam_err(w, "the policy is invalid");
	policy_diags_free(&pd);
	policy_unref(p);
	if (rc != POLICY_OK) {
		free(text);
		return NULL;
	}
	if (chars)
		*chars = count_chars_no_space(text);
	return text;
}

/* ---- tags ---- */

void gw_iam_parse_tags(struct gw_iam_walk *w, json_t *obj, struct store_iam_tag **out,
                       size_t *n_out)
{
	json_t *tags = gw_iam_get_typed(w, obj, "tags", JSON_OBJECT, false);
	if (!tags)
		return;
	size_t s = gw_iam_push_key(w, "tags");
	if (json_object_size(tags) > GW_IAM_TAGS_MAX)
		gw_iam_err(w, "has %zu tags; at most %d are allowed", json_object_size(tags),
		           GW_IAM_TAGS_MAX);
	const char *key;
	json_t *v;
	json_object_foreach(tags, key, v)
	{
		size_t s2 = gw_iam_push_key(w, key);
		bool ok = true;
		size_t kn = gw_iam_count_chars(key);
		if (kn == 0 || kn > GW_IAM_TAG_KEY_MAX) {
			gw_iam_err(w, "a tag key is 1 to %d characters", GW_IAM_TAG_KEY_MAX);
			ok = false;
		} else if (!gw_iam_tag_chars_ok(key)) {
			gw_iam_err(w,
			           "a tag key may hold letters, digits, spaces and _.:/=+-@ only");
			ok = false;
		} else if (strncasecmp(key, "aws:", 4) == 0) {
			gw_iam_err(w, "tag keys starting with \"aws:\" are reserved for AWS");
			ok = false;
		}
		for (size_t i = 0; i < *n_out; i++) {
			if (strcasecmp((*out)[i].key, key) == 0) {
				gw_iam_err(w,
				           "duplicates tag \"%s\" (tag keys compare without case)",
				           (*out)[i].key);
				ok = false;
			}
		}
		if (!json_is_string(v)) {
			gw_iam_err(w, "a tag value must be a string, not %s", gw_iam_json_kind(v));
			ok = false;
		} else if (strlen(json_string_value(v)) != json_string_length(v) ||
		           gw_iam_count_chars(json_string_value(v)) > GW_IAM_TAG_VALUE_MAX ||
		           !gw_iam_tag_chars_ok(json_string_value(v))) {
			gw_iam_err(
			    w,
			    "a tag value is at most %d characters of letters, digits, spaces and "
			    "_.:/=+-@",
			    GW_IAM_TAG_VALUE_MAX);
			ok = false;
		}
		if (ok && gw_iam_grow(w, (void **)out, *n_out, sizeof(**out))) {
			struct store_iam_tag *t = &(*out)[(*n_out)++];
			t->key = gw_iam_sdup(w, key);
			t->value = gw_iam_sdup(w, json_string_value(v));
		}
		gw_iam_pop(w, s2);
	}
	gw_iam_pop(w, s);
}

char *gw_iam_join_path(struct gw_iam_walk *w, const char *path)
{
	if (path[0] == '/' || !w->base_dir || !w->base_dir[0])
		return gw_iam_sdup(w, path);
	int n = snprintf(NULL, 0, "%s/%s", w->base_dir, path);
	char *p = n < 0 ? NULL : malloc((size_t)n + 1);
	if (!p || snprintf(p, (size_t)n + 1, "%s/%s", w->base_dir, path) != n) {
		free(p);
		w->oom = true;
		return NULL;
	}
	return p;
}
