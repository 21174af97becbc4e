/*
 * iam_util.c - small pieces the IAM files share: the error helper, ARNs,
 * unique ids, and the canonical order of an IAM state.
 *
 * The canonical order exists so that "did anything change?" is a walk over two
 * sorted lists rather than a search: the parsed file and the loaded store are
 * both sorted here, with the same comparisons, before apply diffs them.
 */
#include "gateway/iam_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int gw_iam_fail(struct gw_iam_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->message[0] = '\0';
	else if ((size_t)n >= sizeof(err->message))
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	return code;
}

void gw_iam_clear_error(struct gw_iam_error *err)
{
	if (err) {
		err->code = GW_IAM_OK;
		err->message[0] = '\0';
	}
}

char *gw_iam_strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *p = malloc(n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

char *gw_iam_arn(const char *account, const char *type, const char *path, const char *name)
{
	int n = snprintf(NULL, 0, "arn:aws:iam::%s:%s%s%s", account, type, path, name);
	if (n < 0)
		return NULL;
	char *p = malloc((size_t)n + 1);
	if (!p)
		return NULL;
	int m = snprintf(p, (size_t)n + 1, "arn:aws:iam::%s:%s%s%s", account, type, path, name);
	if (m != n) {
		free(p);
		return NULL;
	}
	return p;
}

bool gw_iam_arn_split(const char *arn, size_t n, const char *type, const char **account,
                      size_t *account_n, const char **path, size_t *path_n, const char **name,
                      size_t *name_n)
{
	static const char prefix[] = "arn:aws:iam::";
	size_t pn = sizeof(prefix) - 1;
	if (n < pn || memcmp(arn, prefix, pn) != 0)
		return false;
	const char *a = arn + pn;
	const char *end = arn + n;
	const char *colon = memchr(a, ':', (size_t)(end - a));
	if (!colon)
		return false;
	*account = a;
	*account_n = (size_t)(colon - a);
	const char *t = colon + 1;
	size_t tn = strlen(type);
	if ((size_t)(end - t) < tn + 2 || memcmp(t, type, tn) != 0 || t[tn] != '/')
		return false;
	const char *p = t + tn; /* the path starts with its '/' */
	const char *last = end;
	while (last > p && last[-1] != '/')
		last--;
	*path = p;
	*path_n = (size_t)(last - p);
	*name = last;
	*name_n = (size_t)(end - last);
	return *name_n > 0;
}

char *gw_iam_unique_id(const char *prefix)
{
	char id[GW_ACCESS_KEY_ID_LEN + 1];
	if (strlen(prefix) != 4 || gw_random_access_key_id("AKIA", id, sizeof(id)) != GW_SECRET_OK)
		return NULL;
	memcpy(id, prefix, 4); /* same shape, the entity's own prefix */
	return gw_iam_strdup(id);
}

/* "v12" -> 12; ids that are not v<digits> sort after every numbered one. */
static unsigned long long version_number(const char *v, bool *ok)
{
	*ok = false;
	if (v[0] != 'v' || v[1] < '1' || v[1] > '9')
		return 0;
	unsigned long long x = 0;
	const char *p = v + 1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > 1000000000000ULL)
			return 0;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	*ok = true;
	return x;
}

int gw_iam_version_cmp(const char *a, const char *b)
{
	bool oka, okb;
	unsigned long long x = version_number(a, &oka), y = version_number(b, &okb);
	if (oka && okb && x != y)
		return x < y ? -1 : 1;
	if (oka != okb)
		return oka ? -1 : 1;
	return strcmp(a, b);
}

/* ---- the canonical order ---- */

static int cmp_doc_name(const void *a, const void *b)
{
	return strcmp(((const struct store_iam_document *)a)->name,
	              ((const struct store_iam_document *)b)->name);
}

static int cmp_version(const void *a, const void *b)
{
	return gw_iam_version_cmp(((const struct store_iam_document *)a)->name,
	                          ((const struct store_iam_document *)b)->name);
}

static int cmp_tag(const void *a, const void *b)
{
	return strcasecmp(((const struct store_iam_tag *)a)->key,
	                  ((const struct store_iam_tag *)b)->key);
}

static int cmp_claim(const void *a, const void *b)
{
	return strcmp(((const struct store_iam_tag *)a)->key,
	              ((const struct store_iam_tag *)b)->key);
}

static int cmp_str_nocase(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_principal(const void *a, const void *b)
{
	return strcasecmp(((const struct store_iam_principal *)a)->name,
	                  ((const struct store_iam_principal *)b)->name);
}

static int cmp_policy(const void *a, const void *b)
{
	return strcasecmp(((const struct store_iam_managed_policy *)a)->name,
	                  ((const struct store_iam_managed_policy *)b)->name);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct store_iam_access_key *)a)->id,
	              ((const struct store_iam_access_key *)b)->id);
}

static int cmp_issuer(const void *a, const void *b)
{
	return strcmp(((const struct store_iam_oidc_issuer *)a)->issuer,
	              ((const struct store_iam_oidc_issuer *)b)->issuer);
}

static int cmp_host(const void *a, const void *b)
{
	const struct store_iam_host_mapping *x = a, *y = b;
	int c = strcmp(x->match, y->match);
	return c ? c : strcmp(x->value, y->value);
}

static void sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (v && n > 1)
		qsort(v, n, size, cmp);
}

static void sort_principals(struct store_iam_principal *v, size_t n)
{
	sort(v, n, sizeof(*v), cmp_principal);
	for (size_t i = 0; i < n; i++) {
		sort(v[i].inline_policies, v[i].n_inline, sizeof(*v[i].inline_policies),
		     cmp_doc_name);
		sort(v[i].managed_policies, v[i].n_managed, sizeof(*v[i].managed_policies),
		     cmp_str_nocase);
		sort(v[i].tags, v[i].n_tags, sizeof(*v[i].tags), cmp_tag);
	}
}

void gw_iam_state_sort(struct store_iam *st)
{
	sort(st->policies, st->n_policies, sizeof(*st->policies), cmp_policy);
	for (size_t i = 0; i < st->n_policies; i++)
		sort(st->policies[i].versions, st->policies[i].n_versions,
		     sizeof(*st->policies[i].versions), cmp_version);
	sort_principals(st->roles, st->n_roles);
	sort_principals(st->users, st->n_users);
	sort(st->access_keys, st->n_access_keys, sizeof(*st->access_keys), cmp_key);
	sort(st->issuers, st->n_issuers, sizeof(*st->issuers), cmp_issuer);
	for (size_t i = 0; i < st->n_issuers; i++) {
		sort(st->issuers[i].audiences, st->issuers[i].n_audiences,
		     sizeof(*st->issuers[i].audiences), cmp_str);
		sort(st->issuers[i].tag_claims, st->issuers[i].n_tag_claims,
		     sizeof(*st->issuers[i].tag_claims), cmp_claim);
	}
	sort(st->host_mappings, st->n_host_mappings, sizeof(*st->host_mappings), cmp_host);
}
