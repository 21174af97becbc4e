/*
 * iam_file.c - the IAM file: parse it, check every rule, and turn it into the
 * canonical state that apply writes (docs/iam.md describes the format).
 *
 * The file is the whole truth about the account, so a fault anywhere refuses
 * all of it, and an operator should see every fault in one run rather than one
 * per run: the walk below never stops at the first error. Each diagnostic
 * carries its place in the file as a path ("roles[2].inline_policies.orders"),
 * and a policy's own diagnostics from policy_compile() are appended to that
 * path ("...orders.Statement[0].Action"), so the message points at the line an
 * author has to change.
 *
 * What is checked: the JSON itself (duplicate keys refused, unknown keys
 * refused so a typo is not silently ignored), AWS's rules for names, paths,
 * descriptions and tags, the limits in iam.h, every policy compiled as the type
 * it will be evaluated as, references (attachments, boundaries, host mappings)
 * that resolve within the file, duplicates (names compare without case, as
 * IAM's do), and the files the IAM file points at: key sets must load and
 * secret files must be private. Nothing here touches the store.
 *
 * Documents are kept as canonical JSON (compact, keys sorted): two files that
 * differ only in white space or key order describe the same state, and apply
 * sees no change between them.
 */
#include "gateway/iam_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

/* ---- diagnostics and the path of where we are ---- */

struct walk {
	struct gw_iam_diags *d;
	char path[320];
	size_t len;
	bool oom;
	const char *base_dir;
	const char *account; /* the file's account id once known to be valid */
};

void gw_iam_diags_free(struct gw_iam_diags *d)
{
	if (!d)
		return;
	free(d->items);
	memset(d, 0, sizeof(*d));
}

static void add_diag(struct walk *w, bool warning, const char *path, const char *fmt, va_list ap)
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

__attribute__((format(printf, 2, 3))) static void err_here(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_diag(w, false, w->path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void warn_here(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_diag(w, true, w->path, fmt, ap);
	va_end(ap);
}

/* Appends to the path; returns the length to restore with pop. */
static size_t push(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(struct walk *w, const char *fmt, ...)
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

static size_t push_key(struct walk *w, const char *key)
{
	return w->len == 0 ? push(w, "%s", key) : push(w, ".%s", key);
}

static size_t push_index(struct walk *w, size_t i)
{
	return push(w, "[%zu]", i);
}

static void pop(struct walk *w, size_t saved)
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

static size_t count_chars(const char *s)
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
static bool name_ok(const char *s, size_t max)
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
static bool path_ok(const char *s)
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
static bool description_ok(const char *s)
{
	if (count_chars(s) > GW_IAM_DESCRIPTION_MAX)
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
static bool tag_chars_ok(const char *s)
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
static bool printable_ok(const char *s, size_t max)
{
	size_t n = count_chars(s);
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

static bool digits(const char *s, size_t n)
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
static bool access_key_id_ok(const char *s)
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
static bool version_id_ok(const char *s)
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

static bool keys_known(struct walk *w, json_t *obj, const char *const *known)
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
			size_t s = push_key(w, key);
			err_here(w, "unknown key (a typo?)");
			pop(w, s);
			ok = false;
		}
	}
	return ok;
}

static const char *json_kind(const json_t *v)
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
static const char *get_str(struct walk *w, json_t *obj, const char *key, bool required)
{
	json_t *v = json_object_get(obj, key);
	size_t s = push_key(w, key);
	const char *out = NULL;
	if (!v) {
		if (required)
			err_here(w, "is required");
	} else if (!json_is_string(v)) {
		err_here(w, "must be a string, not %s", json_kind(v));
	} else if (strlen(json_string_value(v)) != json_string_length(v)) {
		err_here(w, "contains a NUL character");
	} else {
		out = json_string_value(v);
	}
	pop(w, s);
	return out;
}

/* An integer member in [min, max]; def when absent. false on a fault. */
static bool get_int(struct walk *w, json_t *obj, const char *key, int64_t min, int64_t max,
                    int64_t def, int64_t *out)
{
	*out = def;
	json_t *v = json_object_get(obj, key);
	if (!v)
		return true;
	size_t s = push_key(w, key);
	bool ok = false;
	if (!json_is_integer(v))
		err_here(w, "must be an integer, not %s", json_kind(v));
	else if (json_integer_value(v) < min || json_integer_value(v) > max)
		err_here(w, "must be between %lld and %lld, not %lld", (long long)min,
		         (long long)max, (long long)json_integer_value(v));
	else {
		*out = json_integer_value(v);
		ok = true;
	}
	pop(w, s);
	return ok;
}

/* A member that must be of one JSON type when present. */
static json_t *get_typed(struct walk *w, json_t *obj, const char *key, json_type type,
                         bool required)
{
	json_t *v = json_object_get(obj, key);
	size_t s = push_key(w, key);
	json_t *out = NULL;
	if (!v) {
		if (required)
			err_here(w, "is required");
	} else if (json_typeof(v) != type) {
		err_here(w, "must be %s, not %s",
		         type == JSON_OBJECT  ? "an object"
		         : type == JSON_ARRAY ? "an array"
		                              : "a boolean",
		         json_kind(v));
	} else {
		out = v;
	}
	pop(w, s);
	return out;
}

static char *sdup(struct walk *w, const char *s)
{
	if (!s)
		return NULL;
	char *p = gw_iam_strdup(s);
	if (!p)
		w->oom = true;
	return p;
}

/* Makes room for one more element; capacity implied by n (4, 8, 16...). */
static bool grow(struct walk *w, void **arr, size_t n, size_t elem)
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
static char *compile_doc(struct walk *w, json_t *doc, enum policy_type type, bool managed,
                         const char *id, size_t *chars)
{
	if (chars)
		*chars = 0;
	if (!json_is_object(doc)) {
		err_here(w, "a policy document must be a JSON object, not %s", json_kind(doc));
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
			s = push(w, g->path[0] == '[' ? "%s" : ".%s", g->path);
		if (g->severity == POLICY_SEV_ERROR)
			err_here(w, "%s", g->message);
		else
			warn_here(w, "%s", g->message);
		pop(w, s);
	}
	if (rc == POLICY_ERR_NOMEM)
		w->oom = true;
	else if (rc != POLICY_OK && pd.errors == 0)
		err_here(w, "the policy is invalid");
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

static void parse_tags(struct walk *w, json_t *obj, struct store_iam_tag **out, size_t *n_out)
{
	json_t *tags = get_typed(w, obj, "tags", JSON_OBJECT, false);
	if (!tags)
		return;
	size_t s = push_key(w, "tags");
	if (json_object_size(tags) > GW_IAM_TAGS_MAX)
		err_here(w, "has %zu tags; at most %d are allowed", json_object_size(tags),
		         GW_IAM_TAGS_MAX);
	const char *key;
	json_t *v;
	json_object_foreach(tags, key, v)
	{
		size_t s2 = push_key(w, key);
		bool ok = true;
		size_t kn = count_chars(key);
		if (kn == 0 || kn > GW_IAM_TAG_KEY_MAX) {
			err_here(w, "a tag key is 1 to %d characters", GW_IAM_TAG_KEY_MAX);
			ok = false;
		} else if (!tag_chars_ok(key)) {
			err_here(w, "a tag key may hold letters, digits, spaces and _.:/=+-@ only");
			ok = false;
		} else if (strncasecmp(key, "aws:", 4) == 0) {
			err_here(w, "tag keys starting with \"aws:\" are reserved for AWS");
			ok = false;
		}
		for (size_t i = 0; i < *n_out; i++) {
			if (strcasecmp((*out)[i].key, key) == 0) {
				err_here(w, "duplicates tag \"%s\" (tag keys compare without case)",
				         (*out)[i].key);
				ok = false;
			}
		}
		if (!json_is_string(v)) {
			err_here(w, "a tag value must be a string, not %s", json_kind(v));
			ok = false;
		} else if (strlen(json_string_value(v)) != json_string_length(v) ||
		           count_chars(json_string_value(v)) > GW_IAM_TAG_VALUE_MAX ||
		           !tag_chars_ok(json_string_value(v))) {
			err_here(
			    w,
			    "a tag value is at most %d characters of letters, digits, spaces and "
			    "_.:/=+-@",
			    GW_IAM_TAG_VALUE_MAX);
			ok = false;
		}
		if (ok && grow(w, (void **)out, *n_out, sizeof(**out))) {
			struct store_iam_tag *t = &(*out)[(*n_out)++];
			t->key = sdup(w, key);
			t->value = sdup(w, json_string_value(v));
		}
		pop(w, s2);
	}
	pop(w, s);
}

/* ---- managed policies ---- */

static const struct store_iam_managed_policy *
find_policy_ref(struct walk *w, const struct store_iam *st, const char *ref)
{
	const char *acc, *path, *name;
	size_t acc_n, path_n, name_n;
	if (strncmp(ref, "arn:", 4) == 0) {
		if (!gw_iam_arn_split(ref, strlen(ref), "policy", &acc, &acc_n, &path, &path_n,
		                      &name, &name_n)) {
			err_here(w,
			         "\"%s\" is not a managed policy ARN "
			         "(arn:aws:iam::<account>:policy/...)",
			         ref);
			return NULL;
		}
		if (acc_n == 3 && memcmp(acc, "aws", 3) == 0) {
			err_here(w,
			         "\"%s\" is an AWS managed policy; taskgate knows only the managed "
			         "policies in this file",
			         ref);
			return NULL;
		}
		if (!w->account || acc_n != strlen(w->account) ||
		    memcmp(acc, w->account, acc_n) != 0) {
			err_here(w, "\"%s\" names another account than this file's", ref);
			return NULL;
		}
		for (size_t i = 0; i < st->n_policies; i++) {
			const struct store_iam_managed_policy *m = &st->policies[i];
			if (strlen(m->name) == name_n && strncasecmp(m->name, name, name_n) == 0) {
				if (strlen(m->path) != path_n ||
				    memcmp(m->path, path, path_n) != 0) {
					err_here(w, "\"%s\": managed policy %s has path %s", ref,
					         m->name, m->path);
					return NULL;
				}
				return m;
			}
		}
	} else {
		for (size_t i = 0; i < st->n_policies; i++) {
			if (strcasecmp(st->policies[i].name, ref) == 0)
				return &st->policies[i];
		}
	}
	err_here(w, "no managed policy \"%s\" in managed_policies", ref);
	return NULL;
}

static void parse_managed_policy(struct walk *w, json_t *o, struct store_iam *st)
{
	static const char *const known[] = {"name", "path", "description", "versions", NULL};
	keys_known(w, o, known);
	const char *name = get_str(w, o, "name", true);
	const char *path = get_str(w, o, "path", false);
	const char *desc = get_str(w, o, "description", false);
	json_t *versions = get_typed(w, o, "versions", JSON_ARRAY, true);
	bool ok = name && versions;
	if (name && !name_ok(name, GW_IAM_POLICY_NAME_MAX)) {
		size_t s = push_key(w, "name");
		err_here(w, "a policy name is 1 to %d characters of letters, digits and _+=,.@-",
		         GW_IAM_POLICY_NAME_MAX);
		pop(w, s);
		ok = false;
	}
	if (name) {
		for (size_t i = 0; i < st->n_policies; i++) {
			if (strcasecmp(st->policies[i].name, name) == 0) {
				size_t s = push_key(w, "name");
				err_here(w,
				         "a managed policy named \"%s\" is already defined (names "
				         "compare without case)",
				         st->policies[i].name);
				pop(w, s);
				ok = false;
			}
		}
	}
	if (path && !path_ok(path)) {
		size_t s = push_key(w, "path");
		err_here(w,
		         "a path is \"/\" or starts and ends with \"/\", at most %d printable "
		         "ASCII characters",
		         GW_IAM_PATH_MAX);
		pop(w, s);
	}
	if (desc && !description_ok(desc)) {
		size_t s = push_key(w, "description");
		err_here(w, "a description is at most %d characters, without control characters",
		         GW_IAM_DESCRIPTION_MAX);
		pop(w, s);
	}
	struct store_iam_managed_policy m = {0};
	size_t defaults = 0;
	if (versions) {
		size_t s = push_key(w, "versions");
		size_t nv = json_array_size(versions);
		if (nv == 0 || nv > GW_IAM_VERSIONS_MAX)
			err_here(w, "a managed policy has 1 to %d versions", GW_IAM_VERSIONS_MAX);
		for (size_t i = 0; i < nv; i++) {
			json_t *v = json_array_get(versions, i);
			size_t s2 = push_index(w, i);
			if (!json_is_object(v)) {
				err_here(w, "must be an object, not %s", json_kind(v));
				pop(w, s2);
				continue;
			}
			static const char *const vknown[] = {"id", "document", "default", NULL};
			keys_known(w, v, vknown);
			const char *id = get_str(w, v, "id", true);
			json_t *def = json_object_get(v, "default");
			if (def && !json_is_boolean(def)) {
				size_t s3 = push_key(w, "default");
				err_here(w, "must be true or false");
				pop(w, s3);
			} else if (def && json_is_true(def)) {
				defaults++;
				if (id) {
					free(m.default_version);
					m.default_version = sdup(w, id);
				}
			}
			if (id && !version_id_ok(id)) {
				size_t s3 = push_key(w, "id");
				err_here(w,
				         "a version id is \"v\" and a number: \"v1\", \"v2\", ...");
				pop(w, s3);
				id = NULL;
			}
			for (size_t j = 0; id && j < m.n_versions; j++) {
				if (strcmp(m.versions[j].name, id) == 0) {
					size_t s3 = push_key(w, "id");
					err_here(w, "version \"%s\" is defined twice", id);
					pop(w, s3);
					id = NULL;
				}
			}
			json_t *doc = json_object_get(v, "document");
			char *text = NULL;
			if (!doc) {
				size_t s3 = push_key(w, "document");
				err_here(w, "is required");
				pop(w, s3);
			} else {
				size_t s3 = push_key(w, "document");
				text = compile_doc(w, doc, POLICY_IDENTITY, true, name ? name : "",
				                   NULL);
				pop(w, s3);
			}
			if (id && text &&
			    grow(w, (void **)&m.versions, m.n_versions, sizeof(*m.versions))) {
				m.versions[m.n_versions].name = sdup(w, id);
				m.versions[m.n_versions++].document = text;
				text = NULL;
			}
			free(text);
			pop(w, s2);
		}
		if (nv > 0 && defaults != 1)
			err_here(w, "exactly one version must have \"default\": true (found %zu)",
			         defaults);
		pop(w, s);
	}
	m.name = sdup(w, name);
	m.path = sdup(w, path ? path : "/");
	m.description = sdup(w, desc ? desc : "");
	if (ok && grow(w, (void **)&st->policies, st->n_policies, sizeof(*st->policies))) {
		st->policies[st->n_policies++] = m;
	} else {
		/* Not kept: free what was built. */
		free(m.name);
		free(m.path);
		free(m.description);
		free(m.default_version);
		for (size_t i = 0; i < m.n_versions; i++) {
			free(m.versions[i].name);
			free(m.versions[i].document);
		}
		free(m.versions);
	}
}

/* ---- roles and users ---- */

static void free_principal(struct store_iam_principal *p)
{
	free(p->name);
	free(p->unique_id);
	free(p->path);
	free(p->description);
	free(p->trust_policy);
	free(p->permissions_boundary);
	for (size_t i = 0; i < p->n_inline; i++) {
		free(p->inline_policies[i].name);
		free(p->inline_policies[i].document);
	}
	free(p->inline_policies);
	for (size_t i = 0; i < p->n_managed; i++)
		free(p->managed_policies[i]);
	free(p->managed_policies);
	for (size_t i = 0; i < p->n_tags; i++) {
		free(p->tags[i].key);
		free(p->tags[i].value);
	}
	free(p->tags);
	memset(p, 0, sizeof(*p));
}

struct secrets {
	struct gw_iam_key_secret *v; /* aligned with st->access_keys */
};

static char *join_path(struct walk *w, const char *path)
{
	if (path[0] == '/' || !w->base_dir || !w->base_dir[0])
		return sdup(w, path);
	int n = snprintf(NULL, 0, "%s/%s", w->base_dir, path);
	char *p = n < 0 ? NULL : malloc((size_t)n + 1);
	if (!p || snprintf(p, (size_t)n + 1, "%s/%s", w->base_dir, path) != n) {
		free(p);
		w->oom = true;
		return NULL;
	}
	return p;
}

/*
 * Reads a secret access key from a file only its owner may read: 40
 * characters of [A-Za-z0-9+/], optionally followed by one newline.
 */
static void read_secret_file(struct walk *w, const char *path, struct gw_secret *out)
{
	char *full = join_path(w, path);
	if (!full)
		return;
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_here(w, "cannot open %s: %s", full, strerror(errno));
		free(full);
		return;
	}
	struct stat sb;
	unsigned char buf[GW_SECRET_ACCESS_KEY_LEN + 2];
	ssize_t got = -1;
	if (fstat(fd, &sb) != 0) {
		err_here(w, "cannot stat %s: %s", full, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		err_here(w, "%s is not a regular file", full);
	} else if ((sb.st_mode & 077) != 0) {
		err_here(w,
		         "%s has mode %04o: a secret file must be readable by its owner only "
		         "(run: chmod 600 %s)",
		         full, (unsigned)(sb.st_mode & 07777), full);
	} else if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		err_here(w, "%s belongs to user %u, not to this user or root", full,
		         (unsigned)sb.st_uid);
	} else {
		size_t n = 0;
		for (;;) {
			ssize_t r = read(fd, buf + n, sizeof(buf) - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				got = r < 0 ? -1 : (ssize_t)n;
				break;
			}
			n += (size_t)r;
			if (n == sizeof(buf)) {
				got = (ssize_t)n;
				break;
			}
		}
		if (got < 0)
			err_here(w, "cannot read %s: %s", full, strerror(errno));
	}
	close(fd);
	if (got >= 0) {
		size_t n = (size_t)got;
		if (n == GW_SECRET_ACCESS_KEY_LEN + 1 && buf[n - 1] == '\n')
			n--;
		bool ok = n == GW_SECRET_ACCESS_KEY_LEN;
		for (size_t i = 0; ok && i < n; i++) {
			unsigned char c = buf[i];
			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/';
		}
		if (!ok)
			err_here(
			    w,
			    "%s must hold a secret access key: 40 characters of A-Z a-z 0-9 + / "
			    "and at most one newline",
			    full);
		else if (gw_secret_alloc(out, n + 1) != GW_SECRET_OK)
			w->oom = true;
		else {
			memcpy(out->p, buf, n);
			out->n = n;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	free(full);
}

static void parse_access_keys(struct walk *w, json_t *o, const char *user, struct store_iam *st,
                              struct secrets *sec)
{
	json_t *keys = get_typed(w, o, "access_keys", JSON_ARRAY, false);
	if (!keys)
		return;
	size_t s = push_key(w, "access_keys");
	if (json_array_size(keys) > GW_IAM_ACCESS_KEYS_MAX)
		err_here(w, "a user has at most %d access keys", GW_IAM_ACCESS_KEYS_MAX);
	for (size_t i = 0; i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i);
		size_t s2 = push_index(w, i);
		if (!json_is_object(k)) {
			err_here(w, "must be an object, not %s", json_kind(k));
			pop(w, s2);
			continue;
		}
		static const char *const known[] = {"id", "status", "secret_file", NULL};
		keys_known(w, k, known);
		const char *id = get_str(w, k, "id", true);
		const char *status = get_str(w, k, "status", false);
		const char *secret_file = get_str(w, k, "secret_file", false);
		bool ok = id != NULL;
		if (id && !access_key_id_ok(id)) {
			size_t s3 = push_key(w, "id");
			err_here(w, "an access key id is \"AKIA\" and 16 characters of A-Z 0-9");
			pop(w, s3);
			ok = false;
		}
		for (size_t j = 0; id && j < st->n_access_keys; j++) {
			if (strcmp(st->access_keys[j].id, id) == 0) {
				size_t s3 = push_key(w, "id");
				err_here(w, "access key %s is already given to user %s", id,
				         st->access_keys[j].user);
				pop(w, s3);
				ok = false;
			}
		}
		if (status && strcmp(status, "Active") != 0 && strcmp(status, "Inactive") != 0) {
			size_t s3 = push_key(w, "status");
			err_here(w, "must be \"Active\" or \"Inactive\"");
			pop(w, s3);
			ok = false;
		}
		struct gw_secret secret = {0};
		if (secret_file) {
			size_t s3 = push_key(w, "secret_file");
			size_t before = w->d->errors;
			read_secret_file(w, secret_file, &secret);
			ok = ok && w->d->errors == before;
			pop(w, s3);
		}
		if (ok && user &&
		    grow(w, (void **)&st->access_keys, st->n_access_keys,
		         sizeof(*st->access_keys))) {
			/* sec->v grows in step with st->access_keys, by the same rule. */
			if (!grow(w, (void **)&sec->v, st->n_access_keys, sizeof(*sec->v))) {
				gw_secret_free(&secret);
				pop(w, s2);
				continue;
			}
			struct store_iam_access_key *a = &st->access_keys[st->n_access_keys];
			memset(a, 0, sizeof(*a));
			a->id = sdup(w, id);
			a->user = sdup(w, user);
			a->active = !status || strcmp(status, "Active") == 0;
			sec->v[st->n_access_keys].secret_file = sdup(w, secret_file);
			sec->v[st->n_access_keys].secret = secret;
			st->n_access_keys++;
		} else {
			gw_secret_free(&secret);
		}
		pop(w, s2);
	}
	pop(w, s);
}

static void parse_principal(struct walk *w, json_t *o, enum store_iam_kind kind,
                            struct store_iam *st, struct secrets *sec)
{
	static const char *const role_keys[] = {"name",
	                                        "path",
	                                        "description",
	                                        "trust_policy",
	                                        "inline_policies",
	                                        "managed_policies",
	                                        "permissions_boundary",
	                                        "tags",
	                                        "max_session_duration",
	                                        NULL};
	static const char *const user_keys[] = {"name",
	                                        "path",
	                                        "inline_policies",
	                                        "managed_policies",
	                                        "permissions_boundary",
	                                        "tags",
	                                        "access_keys",
	                                        NULL};
	bool role = kind == STORE_IAM_ROLE;
	const char *what = role ? "role" : "user";
	keys_known(w, o, role ? role_keys : user_keys);
	struct store_iam_principal p = {0};
	bool ok = true;

	const char *name = get_str(w, o, "name", true);
	ok = name != NULL;
	if (name && !name_ok(name, GW_IAM_ENTITY_NAME_MAX)) {
		size_t s = push_key(w, "name");
		err_here(w, "a %s name is 1 to %d characters of letters, digits and _+=,.@-", what,
		         GW_IAM_ENTITY_NAME_MAX);
		pop(w, s);
		ok = false;
	}
	struct store_iam_principal *list = role ? st->roles : st->users;
	size_t n_list = role ? st->n_roles : st->n_users;
	for (size_t i = 0; name && i < n_list; i++) {
		if (strcasecmp(list[i].name, name) == 0) {
			size_t s = push_key(w, "name");
			err_here(
			    w, "a %s named \"%s\" is already defined (names compare without case)",
			    what, list[i].name);
			pop(w, s);
			ok = false;
		}
	}
	const char *path = get_str(w, o, "path", false);
	if (path && !path_ok(path)) {
		size_t s = push_key(w, "path");
		err_here(w,
		         "a path is \"/\" or starts and ends with \"/\", at most %d printable "
		         "ASCII characters",
		         GW_IAM_PATH_MAX);
		pop(w, s);
	}
	const char *desc = role ? get_str(w, o, "description", false) : NULL;
	if (desc && !description_ok(desc)) {
		size_t s = push_key(w, "description");
		err_here(w, "a description is at most %d characters, without control characters",
		         GW_IAM_DESCRIPTION_MAX);
		pop(w, s);
	}
	p.name = sdup(w, name);
	p.path = sdup(w, path ? path : "/");
	p.description = sdup(w, desc ? desc : "");

	if (role) {
		json_t *trust = json_object_get(o, "trust_policy");
		size_t s = push_key(w, "trust_policy");
		if (!trust)
			err_here(w, "is required: it says who may assume the role");
		else
			p.trust_policy =
			    compile_doc(w, trust, POLICY_TRUST, false, name ? name : "", NULL);
		pop(w, s);
		get_int(w, o, "max_session_duration", GW_IAM_SESSION_MIN, GW_IAM_SESSION_MAX,
		        GW_IAM_SESSION_MIN, &p.max_session_duration);
	}

	json_t *inl = get_typed(w, o, "inline_policies", JSON_OBJECT, false);
	if (inl) {
		size_t s = push_key(w, "inline_policies");
		size_t total = 0;
		const char *pname;
		json_t *doc;
		json_object_foreach(inl, pname, doc)
		{
			size_t s2 = push_key(w, pname);
			bool pok = true;
			if (!name_ok(pname, GW_IAM_POLICY_NAME_MAX)) {
				err_here(
				    w,
				    "a policy name is 1 to %d characters of letters, digits and "
				    "_+=,.@-",
				    GW_IAM_POLICY_NAME_MAX);
				pok = false;
			}
			size_t chars = 0;
			char *text = compile_doc(w, doc, POLICY_IDENTITY, false, pname, &chars);
			total += chars;
			if (pok && text &&
			    grow(w, (void **)&p.inline_policies, p.n_inline,
			         sizeof(*p.inline_policies))) {
				p.inline_policies[p.n_inline].name = sdup(w, pname);
				p.inline_policies[p.n_inline++].document = text;
				text = NULL;
			}
			free(text);
			pop(w, s2);
		}
		size_t limit = role ? GW_IAM_ROLE_INLINE_MAX : GW_IAM_USER_INLINE_MAX;
		if (total > limit)
			err_here(
			    w,
			    "the inline policies of a %s total %zu characters (white space not "
			    "counted); AWS allows at most %zu",
			    what, total, limit);
		pop(w, s);
	}

	json_t *att = get_typed(w, o, "managed_policies", JSON_ARRAY, false);
	if (att) {
		size_t s = push_key(w, "managed_policies");
		if (json_array_size(att) > GW_IAM_ATTACHED_MAX)
			err_here(w, "at most %d managed policies may be attached to one %s",
			         GW_IAM_ATTACHED_MAX, what);
		for (size_t i = 0; i < json_array_size(att); i++) {
			json_t *r = json_array_get(att, i);
			size_t s2 = push_index(w, i);
			if (!json_is_string(r)) {
				err_here(w, "must be a managed policy name or ARN, not %s",
				         json_kind(r));
			} else {
				const struct store_iam_managed_policy *m =
				    find_policy_ref(w, st, json_string_value(r));
				bool again = false;
				for (size_t j = 0; m && j < p.n_managed; j++)
					again =
					    again || strcmp(p.managed_policies[j], m->name) == 0;
				if (again)
					err_here(w, "managed policy %s is attached twice", m->name);
				else if (m && grow(w, (void **)&p.managed_policies, p.n_managed,
				                   sizeof(*p.managed_policies)))
					p.managed_policies[p.n_managed++] = sdup(w, m->name);
			}
			pop(w, s2);
		}
		pop(w, s);
	}

	const char *boundary = get_str(w, o, "permissions_boundary", false);
	if (boundary) {
		size_t s = push_key(w, "permissions_boundary");
		const struct store_iam_managed_policy *m = find_policy_ref(w, st, boundary);
		if (m) {
			p.permissions_boundary = sdup(w, m->name);
			/* The boundary is evaluated as a boundary: compile its default version
			 * as one, so a document that is fine as an identity policy but not as
			 * a boundary is caught here rather than at snapshot time. */
			for (size_t i = 0; i < m->n_versions; i++) {
				if (m->default_version &&
				    strcmp(m->versions[i].name, m->default_version) == 0) {
					json_error_t je;
					json_t *doc = json_loads(m->versions[i].document, 0, &je);
					if (doc) {
						char *t = compile_doc(w, doc, POLICY_BOUNDARY, true,
						                      m->name, NULL);
						free(t);
						json_decref(doc);
					} else {
						w->oom = true;
					}
				}
			}
		}
		pop(w, s);
	}

	parse_tags(w, o, &p.tags, &p.n_tags);
	if (!role)
		parse_access_keys(w, o, name, st, sec);

	struct store_iam_principal **dst = role ? &st->roles : &st->users;
	size_t *dn = role ? &st->n_roles : &st->n_users;
	if (ok && grow(w, (void **)dst, *dn, sizeof(**dst)))
		(*dst)[(*dn)++] = p;
	else
		free_principal(&p);
}

/* ---- OIDC issuers ---- */

static bool read_text_file(struct walk *w, const char *full, size_t max, char **out)
{
	*out = NULL;
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_here(w, "cannot open %s: %s", full, strerror(errno));
		return false;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		err_here(w, "%s is not a regular file", full);
		close(fd);
		return false;
	}
	if ((uintmax_t)sb.st_size > max) {
		err_here(w, "%s is larger than %zu bytes", full, max);
		close(fd);
		return false;
	}
	size_t cap = (size_t)sb.st_size + 1, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		w->oom = true;
		close(fd);
		return false;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_here(w, "cannot read %s: %s", full, strerror(errno));
			free(buf);
			close(fd);
			return false;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max || n == cap) {
			err_here(w, "%s is larger than %zu bytes (or grew while read)", full, max);
			free(buf);
			close(fd);
			return false;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		err_here(w, "%s contains a NUL byte: not a text key file", full);
		free(buf);
		return false;
	}
	*out = buf;
	return true;
}

static void parse_issuer(struct walk *w, json_t *o, struct store_iam *st)
{
	static const char *const known[] = {"issuer",     "audiences",  "jwks_file", "pem_file",
	                                    "kid",        "algorithms", "leeway",    "max_lifetime",
	                                    "role_claim", "tag_claims", NULL};
	keys_known(w, o, known);
	struct store_iam_oidc_issuer is = {0};
	size_t errors_before = w->d->errors;

	const char *url = get_str(w, o, "issuer", true);
	if (url) {
		size_t s = push_key(w, "issuer");
		size_t n = strlen(url);
		bool ok = n > 8 && n <= GW_IAM_ISSUER_URL_MAX && strncmp(url, "https://", 8) == 0 &&
		          url[8] != '/';
		for (size_t i = 0; ok && i < n; i++)
			ok = url[i] > 0x20 && url[i] < 0x7F && url[i] != '?' && url[i] != '#';
		if (!ok)
			err_here(w,
			         "an issuer is an https:// URL of at most %d characters, without "
			         "query or fragment, as tokens carry it in \"iss\"",
			         GW_IAM_ISSUER_URL_MAX);
		for (size_t i = 0; i < st->n_issuers; i++) {
			if (strcmp(st->issuers[i].issuer, url) == 0)
				err_here(w, "issuer %s is already defined", url);
		}
		pop(w, s);
	}
	is.issuer = sdup(w, url);

	json_t *aud = get_typed(w, o, "audiences", JSON_ARRAY, true);
	if (aud) {
		size_t s = push_key(w, "audiences");
		if (json_array_size(aud) == 0 || json_array_size(aud) > GW_IAM_AUDIENCES_MAX)
			err_here(w, "an issuer has 1 to %d audiences", GW_IAM_AUDIENCES_MAX);
		for (size_t i = 0; i < json_array_size(aud); i++) {
			json_t *a = json_array_get(aud, i);
			size_t s2 = push_index(w, i);
			const char *v = json_is_string(a) ? json_string_value(a) : NULL;
			if (!v || strlen(v) != json_string_length(a) ||
			    !printable_ok(v, GW_IAM_AUDIENCE_MAX)) {
				err_here(w, "an audience is 1 to %d printable characters",
				         GW_IAM_AUDIENCE_MAX);
			} else {
				bool again = false;
				for (size_t j = 0; j < is.n_audiences; j++)
					again = again || strcmp(is.audiences[j], v) == 0;
				if (again)
					err_here(w, "audience \"%s\" is listed twice", v);
				else if (grow(w, (void **)&is.audiences, is.n_audiences,
				              sizeof(*is.audiences)))
					is.audiences[is.n_audiences++] = sdup(w, v);
			}
			pop(w, s2);
		}
		pop(w, s);
	}

	/* Algorithms: a list of JOSE names, kept as one space-separated string. */
	unsigned algs = 0;
	json_t *alg = get_typed(w, o, "algorithms", JSON_ARRAY, false);
	char algtext[GW_JWT_ALG_COUNT * 8 + 1] = "";
	if (alg) {
		size_t s = push_key(w, "algorithms");
		if (json_array_size(alg) == 0)
			err_here(w, "list at least one algorithm, or leave the key out for every "
			            "asymmetric one");
		for (size_t i = 0; i < json_array_size(alg); i++) {
			json_t *a = json_array_get(alg, i);
			size_t s2 = push_index(w, i);
			const char *v = json_is_string(a) ? json_string_value(a) : "";
			int id = gw_jwt_alg_from_name(v, strlen(v));
			if (id < 0 || (GW_JWT_ALG_BIT(id) & GW_JWT_ALGS_ASYMMETRIC) == 0)
				err_here(w,
				         "\"%s\" is not one of RS256 RS384 RS512 ES256 ES384 ES512",
				         v);
			else if (algs & GW_JWT_ALG_BIT(id))
				err_here(w, "%s is listed twice", v);
			else
				algs |= GW_JWT_ALG_BIT(id);
			pop(w, s2);
		}
		pop(w, s);
	}
	for (int a = 0; a < GW_JWT_ALG_COUNT; a++) {
		if (algs & GW_JWT_ALG_BIT(a)) {
			size_t l = strlen(algtext);
			int n = snprintf(algtext + l, sizeof(algtext) - l, "%s%s", l ? " " : "",
			                 gw_jwt_alg_name((enum gw_jwt_alg)a));
			if (n < 0 || (size_t)n >= sizeof(algtext) - l)
				w->oom = true;
		}
	}
	is.algorithms = sdup(w, algtext);

	const char *jwks = get_str(w, o, "jwks_file", false);
	const char *pem = get_str(w, o, "pem_file", false);
	const char *kid = get_str(w, o, "kid", false);
	struct gw_jwks *keys = NULL;
	if ((jwks != NULL) == (pem != NULL)) {
		err_here(w, "an issuer needs exactly one of jwks_file and pem_file");
	} else {
		size_t s = push_key(w, jwks ? "jwks_file" : "pem_file");
		char *full = join_path(w, jwks ? jwks : pem);
		char *doc = NULL;
		if (full && read_text_file(w, full, GW_IAM_KEY_FILE_MAX, &doc)) {
			struct gw_jwt_error je = {0};
			int rc = jwks ? gw_jwks_parse(doc, strlen(doc), &keys, &je)
			              : gw_jwks_from_pem(doc, strlen(doc), kid, &keys, &je);
			if (rc != GW_JWT_OK)
				err_here(w, "%s: %s", full, je.message);
		}
		is.key_source = sdup(w, jwks ? "jwks_file" : "pem_file");
		is.key_path = sdup(w, jwks ? jwks : pem);
		is.key_document = doc;
		free(full);
		pop(w, s);
	}
	if (kid && jwks) {
		size_t s = push_key(w, "kid");
		err_here(w, "kid names a pem_file key; a JWKS names its own keys");
		pop(w, s);
	}
	if (kid && !printable_ok(kid, GW_IAM_CLAIM_NAME_MAX)) {
		size_t s = push_key(w, "kid");
		err_here(w, "a kid is 1 to %d printable characters", GW_IAM_CLAIM_NAME_MAX);
		pop(w, s);
	}
	is.key_kid = sdup(w, kid);

	get_int(w, o, "leeway", 0, GW_IAM_LEEWAY_MAX, GW_IAM_LEEWAY_DEFAULT, &is.leeway);
	get_int(w, o, "max_lifetime", GW_IAM_LIFETIME_MIN, GW_IAM_LIFETIME_MAX,
	        GW_IAM_LIFETIME_DEFAULT, &is.max_lifetime);

	const char *role_claim = get_str(w, o, "role_claim", false);
	if (role_claim && !printable_ok(role_claim, GW_IAM_CLAIM_NAME_MAX)) {
		size_t s = push_key(w, "role_claim");
		err_here(w, "a claim name is 1 to %d printable characters", GW_IAM_CLAIM_NAME_MAX);
		pop(w, s);
	}
	is.role_claim = sdup(w, role_claim);

	json_t *tc = get_typed(w, o, "tag_claims", JSON_OBJECT, false);
	if (tc) {
		size_t s = push_key(w, "tag_claims");
		if (json_object_size(tc) > GW_IAM_TAGS_MAX)
			err_here(w, "at most %d claims may map to tags", GW_IAM_TAGS_MAX);
		const char *claim;
		json_t *tag;
		json_object_foreach(tc, claim, tag)
		{
			size_t s2 = push_key(w, claim);
			const char *t = json_is_string(tag) ? json_string_value(tag) : NULL;
			if (!printable_ok(claim, GW_IAM_CLAIM_NAME_MAX))
				err_here(w, "a claim name is 1 to %d printable characters",
				         GW_IAM_CLAIM_NAME_MAX);
			else if (!t || count_chars(t) == 0 || count_chars(t) > GW_IAM_TAG_KEY_MAX ||
			         !tag_chars_ok(t) || strncasecmp(t, "aws:", 4) == 0)
				err_here(
				    w,
				    "must name a principal tag key: 1 to %d characters of letters, "
				    "digits, spaces and _.:/=+-@, not starting with \"aws:\"",
				    GW_IAM_TAG_KEY_MAX);
			else {
				bool again = false;
				for (size_t j = 0; j < is.n_tag_claims; j++)
					again = again || strcasecmp(is.tag_claims[j].value, t) == 0;
				if (again)
					err_here(w, "two claims map to tag \"%s\"", t);
				else if (grow(w, (void **)&is.tag_claims, is.n_tag_claims,
				              sizeof(*is.tag_claims))) {
					is.tag_claims[is.n_tag_claims].key = sdup(w, claim);
					is.tag_claims[is.n_tag_claims++].value = sdup(w, t);
				}
			}
			pop(w, s2);
		}
		pop(w, s);
	}

	/* The verifier's own check of the whole configuration, so that apply never
	 * stores an issuer the server would refuse at start. */
	if (w->d->errors == errors_before && is.issuer && is.n_audiences > 0 && keys) {
		struct gw_jwt_issuer cfg = {
		    .issuer = is.issuer,
		    .audiences = (const char *const *)is.audiences,
		    .n_audiences = is.n_audiences,
		    .keys = keys,
		    .hmac_secret = NULL,
		    .algs = algs,
		    .leeway = is.leeway,
		    .max_lifetime = is.max_lifetime,
		};
		struct gw_jwt_error je = {0};
		if (gw_jwt_issuer_check(&cfg, &je) != GW_JWT_OK)
			err_here(w, "%s", je.message);
	}
	gw_jwks_free(keys);

	if (w->d->errors == errors_before &&
	    grow(w, (void **)&st->issuers, st->n_issuers, sizeof(*st->issuers))) {
		st->issuers[st->n_issuers++] = is;
	} else {
		free(is.issuer);
		for (size_t i = 0; i < is.n_audiences; i++)
			free(is.audiences[i]);
		free(is.audiences);
		free(is.algorithms);
		free(is.key_source);
		free(is.key_path);
		free(is.key_kid);
		free(is.key_document);
		free(is.role_claim);
		for (size_t i = 0; i < is.n_tag_claims; i++) {
			free(is.tag_claims[i].key);
			free(is.tag_claims[i].value);
		}
		free(is.tag_claims);
	}
}

/* ---- host mappings (mutual TLS) ---- */

static void parse_host_mapping(struct walk *w, json_t *o, struct store_iam *st)
{
	static const char *const known[] = {"subject_cn", "subject", "role", NULL};
	keys_known(w, o, known);
	const char *cn = get_str(w, o, "subject_cn", false);
	const char *dn = get_str(w, o, "subject", false);
	const char *role = get_str(w, o, "role", true);
	bool ok = role != NULL;
	if ((cn != NULL) == (dn != NULL)) {
		err_here(w, "a host mapping needs exactly one of subject_cn and subject");
		ok = false;
	}
	const char *match = cn ? "subject_cn" : "subject";
	const char *value = cn ? cn : dn;
	if (value && !printable_ok(value, GW_IAM_SUBJECT_MAX)) {
		size_t s = push_key(w, match);
		err_here(w, "is 1 to %d printable characters", GW_IAM_SUBJECT_MAX);
		pop(w, s);
		ok = false;
	}
	for (size_t i = 0; ok && value && i < st->n_host_mappings; i++) {
		if (strcmp(st->host_mappings[i].match, match) == 0 &&
		    strcmp(st->host_mappings[i].value, value) == 0) {
			size_t s = push_key(w, match);
			err_here(w, "\"%s\" is already mapped to role %s", value,
			         st->host_mappings[i].role);
			pop(w, s);
			ok = false;
		}
	}
	const char *role_name = NULL;
	if (role) {
		for (size_t i = 0; i < st->n_roles; i++) {
			if (strcasecmp(st->roles[i].name, role) == 0)
				role_name = st->roles[i].name;
		}
		if (!role_name) {
			size_t s = push_key(w, "role");
			err_here(w, "no role \"%s\" in roles", role);
			pop(w, s);
			ok = false;
		}
	}
	if (ok && value &&
	    grow(w, (void **)&st->host_mappings, st->n_host_mappings, sizeof(*st->host_mappings))) {
		struct store_iam_host_mapping *h = &st->host_mappings[st->n_host_mappings++];
		h->match = sdup(w, match);
		h->value = sdup(w, value);
		h->role = sdup(w, role_name);
	}
}

/* ---- the file ---- */

typedef void (*entry_fn)(struct walk *w, json_t *o, struct store_iam *st, struct secrets *sec);

static void entry_policy(struct walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	(void)sec;
	parse_managed_policy(w, o, st);
}

static void entry_role(struct walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	parse_principal(w, o, STORE_IAM_ROLE, st, sec);
}

static void entry_user(struct walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	parse_principal(w, o, STORE_IAM_USER, st, sec);
}

static void entry_issuer(struct walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	(void)sec;
	parse_issuer(w, o, st);
}

static void entry_host(struct walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	(void)sec;
	parse_host_mapping(w, o, st);
}

static void parse_list(struct walk *w, json_t *root, const char *key, entry_fn fn,
                       struct store_iam *st, struct secrets *sec)
{
	json_t *arr = get_typed(w, root, key, JSON_ARRAY, false);
	if (!arr)
		return;
	size_t s = push_key(w, key);
	for (size_t i = 0; i < json_array_size(arr) && !w->oom; i++) {
		json_t *o = json_array_get(arr, i);
		size_t s2 = push_index(w, i);
		if (!json_is_object(o))
			err_here(w, "must be an object, not %s", json_kind(o));
		else
			fn(w, o, st, sec);
		pop(w, s2);
	}
	pop(w, s);
}

/* Sorts access keys by id with their secrets alongside (insertion sort: a
 * user has at most two keys, a file a few hundred). */
static void sort_keys(struct store_iam *st, struct gw_iam_key_secret *sec)
{
	for (size_t i = 1; i < st->n_access_keys; i++) {
		for (size_t j = i;
		     j > 0 && strcmp(st->access_keys[j - 1].id, st->access_keys[j].id) > 0; j--) {
			struct store_iam_access_key t = st->access_keys[j];
			st->access_keys[j] = st->access_keys[j - 1];
			st->access_keys[j - 1] = t;
			struct gw_iam_key_secret u = sec[j];
			sec[j] = sec[j - 1];
			sec[j - 1] = u;
		}
	}
}

void gw_iam_spec_free(struct gw_iam_spec *spec)
{
	if (!spec)
		return;
	for (size_t i = 0; spec->secrets && i < spec->state.n_access_keys; i++) {
		free(spec->secrets[i].secret_file);
		gw_secret_free(&spec->secrets[i].secret);
	}
	free(spec->secrets);
	store_iam_free(&spec->state);
	memset(spec, 0, sizeof(*spec));
}

int gw_iam_file_parse(const char *json, size_t n, const char *base_dir, struct gw_iam_spec *out,
                      struct gw_iam_diags *diags)
{
	memset(out, 0, sizeof(*out));
	memset(diags, 0, sizeof(*diags));
	struct walk w = {.d = diags, .base_dir = base_dir};
	if (!json || n > GW_IAM_FILE_MAX) {
		err_here(&w, "the IAM file is larger than %u bytes", GW_IAM_FILE_MAX);
		return GW_IAM_ERR_INVALID;
	}
	json_error_t je;
	json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		err_here(&w, "not valid JSON: line %d column %d: %s", je.line, je.column, je.text);
		return w.oom ? GW_IAM_ERR_NOMEM : GW_IAM_ERR_INVALID;
	}
	struct store_iam *st = &out->state;
	struct secrets sec = {0};
	if (!json_is_object(root)) {
		err_here(&w, "the IAM file must be a JSON object, not %s", json_kind(root));
	} else {
		static const char *const known[] = {
		    "account_id",   "managed_policies", "roles", "users",
		    "oidc_issuers", "host_mappings",    NULL};
		keys_known(&w, root, known);
		const char *acc = get_str(&w, root, "account_id", true);
		if (acc && !digits(acc, 12)) {
			size_t s = push_key(&w, "account_id");
			err_here(&w, "an account id is 12 digits");
			pop(&w, s);
		} else if (acc) {
			w.account = acc;
		}
		st->account_id = sdup(&w, acc);
		/* Policies first: roles and users refer to them, host mappings to roles. */
		parse_list(&w, root, "managed_policies", entry_policy, st, &sec);
		parse_list(&w, root, "roles", entry_role, st, &sec);
		parse_list(&w, root, "users", entry_user, st, &sec);
		parse_list(&w, root, "oidc_issuers", entry_issuer, st, &sec);
		parse_list(&w, root, "host_mappings", entry_host, st, &sec);
	}
	json_decref(root);
	out->secrets = sec.v;
	if (w.oom) {
		gw_iam_spec_free(out);
		return GW_IAM_ERR_NOMEM;
	}
	if (diags->errors > 0) {
		gw_iam_spec_free(out);
		return GW_IAM_ERR_INVALID;
	}
	sort_keys(st, out->secrets);
	gw_iam_state_sort(st);
	return GW_IAM_OK;
}
