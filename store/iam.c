/*
 * iam.c - the IAM tables: the account's roles, users, managed policies,
 * access keys, token issuers and host mappings, read whole and replaced whole.
 *
 * The gateway manages IAM declaratively: an operator applies a file that is
 * the whole truth, so the store needs only two verbs. store_iam_load reads
 * every IAM row inside one read transaction, so a server building its snapshot
 * never sees half of somebody's apply. store_iam_replace writes a complete new
 * state inside one BEGIN IMMEDIATE transaction, after checking that the
 * generation the caller diffed against is still current (optimistic locking:
 * two operators applying at once cannot silently undo each other), and bumps
 * the generation that running servers poll.
 *
 * This file knows nothing about what the rows mean. Policy documents are text,
 * sealed secrets are blobs; the schema (migration 3) enforces only uniqueness
 * without regard to case and references between rows, and a violation comes
 * back as STORE_ERR_CONFLICT with nothing written.
 */
#include "store/store_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"role", "user"};

/* ---- small helpers ---- */

/* Makes room for one more element in an array that grows by doubling; the
 * capacity is implied by n (4, 8, 16, ...), so the structs need no cap field. */
static int grow(void **arr, size_t n, size_t elem)
{
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return 0;
	size_t cap = n == 0 ? 4 : n * 2;
	if (cap > SIZE_MAX / elem / 2)
		return -1;
	void *p = realloc(*arr, cap * elem);
	if (!p)
		return -1;
	*arr = p;
	return 0;
}

/* Like col_text, but a NULL column is an empty string: for NOT NULL columns,
 * so that readers never meet a NULL where the schema promised text. */
static char *col_text_nn(sqlite3_stmt *st, int i, bool *oom)
{
	char *p = store_col_dup(st, i, oom);
	if (!p && !*oom) {
		p = calloc(1, 1);
		if (!p)
			*oom = true;
	}
	return p;
}

static enum store_iam_kind col_kind(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t && strcmp((const char *)t, "user") == 0 ? STORE_IAM_USER : STORE_IAM_ROLE;
}

/* Binds values by a type string: 't' text (NULL binds SQL NULL), 'i' int64,
 * 'b' blob (pointer, size_t). */
static int bind_all(sqlite3_stmt *st, const char *types, va_list ap)
{
	int rc = SQLITE_OK;
	for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 't': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = n > (size_t)INT32_MAX ? SQLITE_TOOBIG
			                           : sqlite3_bind_blob(st, i + 1, p ? p : "",
			                                               (int)n, SQLITE_TRANSIENT);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
	}
	return rc;
}

/* Runs a prepared statement once with the given values, then resets it for
 * the next row. */
static int run_stmt(struct store *s, sqlite3_stmt *st, const char *what, struct store_error *err,
                    const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = bind_all(st, types, ap);
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STORE_OK;
	if (rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return code;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, const char *what,
                   struct store_error *err)
{
	*st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, what);
	return STORE_OK;
}

static int exec_sql(struct store *s, const char *sql, const char *what, struct store_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(err, s->db, rc, s->path, what);
	return STORE_OK;
}

/* ---- freeing ---- */

static void free_docs(struct store_iam_document *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].name);
		free(d[i].document);
	}
	free(d);
}

static void free_tags(struct store_iam_tag *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].key);
		free(t[i].value);
	}
	free(t);
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_principals(struct store_iam_principal *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].unique_id);
		free(p[i].path);
		free(p[i].description);
		free(p[i].trust_policy);
		free(p[i].permissions_boundary);
		free_docs(p[i].inline_policies, p[i].n_inline);
		free_strs(p[i].managed_policies, p[i].n_managed);
		free_tags(p[i].tags, p[i].n_tags);
	}
	free(p);
}

void store_iam_free(struct store_iam *iam)
{
	if (!iam)
		return;
	free(iam->account_id);
	for (size_t i = 0; i < iam->n_policies; i++) {
		struct store_iam_managed_policy *m = &iam->policies[i];
		free(m->name);
		free(m->policy_id);
		free(m->path);
		free(m->description);
		free(m->default_version);
		free_docs(m->versions, m->n_versions);
	}
	free(iam->policies);
	free_principals(iam->roles, iam->n_roles);
	free_principals(iam->users, iam->n_users);
	for (size_t i = 0; i < iam->n_access_keys; i++) {
		free(iam->access_keys[i].id);
		free(iam->access_keys[i].user);
		free(iam->access_keys[i].sealed_secret);
	}
	free(iam->access_keys);
	for (size_t i = 0; i < iam->n_issuers; i++) {
		struct store_iam_oidc_issuer *o = &iam->issuers[i];
		free(o->issuer);
		free_strs(o->audiences, o->n_audiences);
		free(o->algorithms);
		free(o->key_source);
		free(o->key_path);
		free(o->key_kid);
		free(o->key_document);
		free(o->role_claim);
		free_tags(o->tag_claims, o->n_tag_claims);
	}
	free(iam->issuers);
	for (size_t i = 0; i < iam->n_host_mappings; i++) {
		free(iam->host_mappings[i].match);
		free(iam->host_mappings[i].value);
		free(iam->host_mappings[i].role);
	}
	free(iam->host_mappings);
	memset(iam, 0, sizeof(*iam));
}

/* ---- loading ---- */

/* Parents are read in name order (COLLATE NOCASE), so a child row finds its
 * parent by binary search with the same ASCII-only case folding. */
static struct store_iam_principal *find_principal(struct store_iam *iam, enum store_iam_kind kind,
                                                  const char *name)
{
	struct store_iam_principal *v = kind == STORE_IAM_ROLE ? iam->roles : iam->users;
	size_t lo = 0, hi = kind == STORE_IAM_ROLE ? iam->n_roles : iam->n_users;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(name, v[mid].name);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static struct store_iam_managed_policy *find_policy(struct store_iam *iam, const char *name)
{
	size_t lo = 0, hi = iam->n_policies;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(name, iam->policies[mid].name);
		if (c == 0)
			return &iam->policies[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static struct store_iam_oidc_issuer *find_issuer(struct store_iam *iam, const char *issuer)
{
	for (size_t i = 0; i < iam->n_issuers; i++) {
		if (strcmp(iam->issuers[i].issuer, issuer) == 0)
			return &iam->issuers[i];
	}
	return NULL;
}

/* One SELECT, one callback per row. */
typedef int (*row_fn)(struct store_iam *iam, sqlite3_stmt *st, bool *oom);

static int each_row(struct store *s, struct store_iam *iam, const char *sql, row_fn fn,
                    const char *what, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int code = prepare(s, sql, &st, what, err);
	if (code != STORE_OK)
		return code;
	int rc;
	bool oom = false;
	for (;;) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		code = fn(iam, st, &oom);
		if (oom)
			code =
			    store_fail(err, STORE_ERR_NOMEM, "%s: out of memory %s", s->path, what);
		else if (code != STORE_OK)
			code = store_fail(err, STORE_ERR_CORRUPT,
			                  "%s: %s: a row refers to an entity that is not there "
			                  "(restore it from a backup: see docs/store.md)",
			                  s->path, what);
		if (code != STORE_OK)
			break;
	}
	if (code == STORE_OK && rc != SQLITE_DONE)
		code = store_fail_sqlite(err, s->db, rc, s->path, what);
	sqlite3_finalize(st);
	return code;
}

static int row_account(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	iam->account_id = store_col_dup(st, 0, oom);
	iam->generation = sqlite3_column_int64(st, 1);
	return STORE_OK;
}

static int row_policy(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	if (grow((void **)&iam->policies, iam->n_policies, sizeof(*iam->policies)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_managed_policy *m = &iam->policies[iam->n_policies++];
	memset(m, 0, sizeof(*m));
	m->name = col_text_nn(st, 0, oom);
	m->policy_id = col_text_nn(st, 1, oom);
	m->path = col_text_nn(st, 2, oom);
	m->description = col_text_nn(st, 3, oom);
	m->default_version = col_text_nn(st, 4, oom);
	return STORE_OK;
}

static int add_doc(struct store_iam_document **v, size_t *n, sqlite3_stmt *st, int col, bool *oom)
{
	if (grow((void **)v, *n, sizeof(**v)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_document *d = &(*v)[(*n)++];
	d->name = col_text_nn(st, col, oom);
	d->document = col_text_nn(st, col + 1, oom);
	return STORE_OK;
}

static int row_version(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	const unsigned char *name = sqlite3_column_text(st, 0);
	struct store_iam_managed_policy *m = name ? find_policy(iam, (const char *)name) : NULL;
	if (!m)
		return STORE_ERR_CORRUPT;
	return add_doc(&m->versions, &m->n_versions, st, 1, oom);
}

static int row_principal(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	enum store_iam_kind kind = col_kind(st, 0);
	struct store_iam_principal **v = kind == STORE_IAM_ROLE ? &iam->roles : &iam->users;
	size_t *n = kind == STORE_IAM_ROLE ? &iam->n_roles : &iam->n_users;
	if (grow((void **)v, *n, sizeof(**v)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_principal *p = &(*v)[(*n)++];
	memset(p, 0, sizeof(*p));
	p->name = col_text_nn(st, 1, oom);
	p->unique_id = col_text_nn(st, 2, oom);
	p->path = col_text_nn(st, 3, oom);
	p->description = col_text_nn(st, 4, oom);
	p->trust_policy = store_col_dup(st, 5, oom);
	p->max_session_duration = sqlite3_column_int64(st, 6);
	p->permissions_boundary = store_col_dup(st, 7, oom);
	return STORE_OK;
}

static struct store_iam_principal *row_owner(struct store_iam *iam, sqlite3_stmt *st)
{
	const unsigned char *name = sqlite3_column_text(st, 1);
	return name ? find_principal(iam, col_kind(st, 0), (const char *)name) : NULL;
}

static int row_inline(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	struct store_iam_principal *p = row_owner(iam, st);
	if (!p)
		return STORE_ERR_CORRUPT;
	return add_doc(&p->inline_policies, &p->n_inline, st, 2, oom);
}

static int add_str(char ***v, size_t *n, sqlite3_stmt *st, int col, bool *oom)
{
	if (grow((void **)v, *n, sizeof(**v)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	(*v)[(*n)++] = col_text_nn(st, col, oom);
	return STORE_OK;
}

static int row_attachment(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	struct store_iam_principal *p = row_owner(iam, st);
	if (!p)
		return STORE_ERR_CORRUPT;
	return add_str(&p->managed_policies, &p->n_managed, st, 2, oom);
}

static int add_tag(struct store_iam_tag **v, size_t *n, sqlite3_stmt *st, int col, bool *oom)
{
	if (grow((void **)v, *n, sizeof(**v)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_tag *t = &(*v)[(*n)++];
	t->key = col_text_nn(st, col, oom);
	t->value = col_text_nn(st, col + 1, oom);
	return STORE_OK;
}

static int row_tag(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	struct store_iam_principal *p = row_owner(iam, st);
	if (!p)
		return STORE_ERR_CORRUPT;
	return add_tag(&p->tags, &p->n_tags, st, 2, oom);
}

static int row_access_key(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	if (grow((void **)&iam->access_keys, iam->n_access_keys, sizeof(*iam->access_keys)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_access_key *k = &iam->access_keys[iam->n_access_keys++];
	memset(k, 0, sizeof(*k));
	k->id = col_text_nn(st, 0, oom);
	k->user = col_text_nn(st, 1, oom);
	k->active = sqlite3_column_int(st, 2) != 0;
	const void *blob = sqlite3_column_blob(st, 3);
	int n = sqlite3_column_bytes(st, 3);
	if (n > 0 && blob) {
		k->sealed_secret = malloc((size_t)n);
		if (!k->sealed_secret) {
			*oom = true;
			return STORE_ERR_NOMEM;
		}
		memcpy(k->sealed_secret, blob, (size_t)n);
		k->sealed_n = (size_t)n;
	}
	return STORE_OK;
}

static int row_issuer(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	if (grow((void **)&iam->issuers, iam->n_issuers, sizeof(*iam->issuers)) != 0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_oidc_issuer *o = &iam->issuers[iam->n_issuers++];
	memset(o, 0, sizeof(*o));
	o->issuer = col_text_nn(st, 0, oom);
	o->algorithms = col_text_nn(st, 1, oom);
	o->key_source = col_text_nn(st, 2, oom);
	o->key_path = col_text_nn(st, 3, oom);
	o->key_kid = store_col_dup(st, 4, oom);
	o->key_document = col_text_nn(st, 5, oom);
	o->leeway = sqlite3_column_int64(st, 6);
	o->max_lifetime = sqlite3_column_int64(st, 7);
	o->role_claim = store_col_dup(st, 8, oom);
	return STORE_OK;
}

static int row_audience(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	const unsigned char *name = sqlite3_column_text(st, 0);
	struct store_iam_oidc_issuer *o = name ? find_issuer(iam, (const char *)name) : NULL;
	if (!o)
		return STORE_ERR_CORRUPT;
	return add_str(&o->audiences, &o->n_audiences, st, 1, oom);
}

static int row_tag_claim(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	const unsigned char *name = sqlite3_column_text(st, 0);
	struct store_iam_oidc_issuer *o = name ? find_issuer(iam, (const char *)name) : NULL;
	if (!o)
		return STORE_ERR_CORRUPT;
	return add_tag(&o->tag_claims, &o->n_tag_claims, st, 1, oom);
}

static int row_host_mapping(struct store_iam *iam, sqlite3_stmt *st, bool *oom)
{
	if (grow((void **)&iam->host_mappings, iam->n_host_mappings, sizeof(*iam->host_mappings)) !=
	    0) {
		*oom = true;
		return STORE_ERR_NOMEM;
	}
	struct store_iam_host_mapping *h = &iam->host_mappings[iam->n_host_mappings++];
	memset(h, 0, sizeof(*h));
	h->match = col_text_nn(st, 0, oom);
	h->value = col_text_nn(st, 1, oom);
	h->role = col_text_nn(st, 2, oom);
	return STORE_OK;
}

static const struct {
	const char *sql;
	row_fn fn;
	const char *what;
} load_steps[] = {
    {"SELECT account_id, generation FROM iam_account WHERE id = 1", row_account,
     "reading the IAM account"},
    {"SELECT name, policy_id, path, description, default_version FROM iam_managed_policies"
     " ORDER BY name COLLATE NOCASE",
     row_policy, "reading managed policies"},
    {"SELECT policy, version_id, document FROM iam_policy_versions ORDER BY policy, version_id",
     row_version, "reading managed policy versions"},
    {"SELECT kind, name, unique_id, path, description, trust_policy, max_session_duration,"
     " permissions_boundary FROM iam_principals ORDER BY kind, name COLLATE NOCASE",
     row_principal, "reading roles and users"},
    {"SELECT kind, principal, name, document FROM iam_inline_policies"
     " ORDER BY kind, principal, name",
     row_inline, "reading inline policies"},
    {"SELECT kind, principal, policy FROM iam_attachments ORDER BY kind, principal, policy",
     row_attachment, "reading policy attachments"},
    {"SELECT kind, principal, key, value FROM iam_tags ORDER BY kind, principal, key", row_tag,
     "reading tags"},
    {"SELECT id, user, active, secret FROM iam_access_keys ORDER BY id", row_access_key,
     "reading access keys"},
    {"SELECT issuer, algorithms, key_source, key_path, key_kid, key_document, leeway,"
     " max_lifetime, role_claim FROM iam_oidc_issuers ORDER BY issuer",
     row_issuer, "reading OIDC issuers"},
    {"SELECT issuer, audience FROM iam_oidc_audiences ORDER BY issuer, audience", row_audience,
     "reading OIDC audiences"},
    {"SELECT issuer, claim, tag_key FROM iam_oidc_tag_claims ORDER BY issuer, claim", row_tag_claim,
     "reading OIDC tag claims"},
    {"SELECT match, value, role FROM iam_host_mappings ORDER BY match, value", row_host_mapping,
     "reading host mappings"},
};

int store_iam_load(struct store *s, struct store_iam *out, struct store_error *err)
{
	store_clear_error(err);
	if (!out)
		return store_fail(err, STORE_ERR_INVALID, "iam load: nowhere to put the state");
	memset(out, 0, sizeof(*out));
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "iam load: no database open");
	store_lock(s);
	/* One read transaction: every SELECT below sees the same commit. */
	int code = exec_sql(s, "BEGIN", "starting to read the IAM state", err);
	for (size_t i = 0; code == STORE_OK && i < sizeof(load_steps) / sizeof(load_steps[0]); i++)
		code =
		    each_row(s, out, load_steps[i].sql, load_steps[i].fn, load_steps[i].what, err);
	if (code == STORE_OK)
		code = exec_sql(s, "COMMIT", "finishing the read of the IAM state", err);
	if (code != STORE_OK) {
		store_rollback(s);
		store_iam_free(out);
	}
	store_unlock(s);
	return code;
}

int store_iam_generation(struct store *s, int64_t *out, struct store_error *err)
{
	store_clear_error(err);
	if (!out)
		return store_fail(err, STORE_ERR_INVALID, "iam generation: nowhere to put it");
	*out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "iam generation: no database open");
	store_lock(s);
	sqlite3_stmt *st = NULL;
	int code = prepare(s, "SELECT generation FROM iam_account WHERE id = 1", &st,
	                   "reading the IAM generation", err);
	if (code == STORE_OK) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			code = store_fail(err, STORE_ERR_CORRUPT,
			                  "%s: the iam_account row is missing", s->path);
		else
			code = store_fail_sqlite(err, s->db, rc, s->path,
			                         "reading the IAM generation");
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return code;
}

/* ---- replacing ---- */

static int check_next(const struct store_iam *n, struct store_error *err)
{
	if (!n->account_id)
		return store_fail(err, STORE_ERR_INVALID, "iam replace: no account id");
	for (size_t i = 0; i < n->n_policies; i++) {
		const struct store_iam_managed_policy *m = &n->policies[i];
		if (!m->name || !m->policy_id || !m->path || !m->description || !m->default_version)
			return store_fail(err, STORE_ERR_INVALID,
			                  "iam replace: managed policy %zu lacks a required field",
			                  i);
		for (size_t j = 0; j < m->n_versions; j++) {
			if (!m->versions[j].name || !m->versions[j].document)
				return store_fail(err, STORE_ERR_INVALID,
				                  "iam replace: a version of %s lacks its id or "
				                  "document",
				                  m->name);
		}
	}
	for (int k = 0; k < 2; k++) {
		const struct store_iam_principal *v = k == 0 ? n->roles : n->users;
		size_t count = k == 0 ? n->n_roles : n->n_users;
		for (size_t i = 0; i < count; i++) {
			const struct store_iam_principal *p = &v[i];
			if (!p->name || !p->unique_id || !p->path || !p->description ||
			    (k == 0) != (p->trust_policy != NULL))
				return store_fail(err, STORE_ERR_INVALID,
				                  "iam replace: %s %zu lacks a required field",
				                  kind_names[k], i);
			for (size_t j = 0; j < p->n_inline; j++) {
				if (!p->inline_policies[j].name || !p->inline_policies[j].document)
					return store_fail(
					    err, STORE_ERR_INVALID,
					    "iam replace: an inline policy of %s lacks its "
					    "name or document",
					    p->name);
			}
			for (size_t j = 0; j < p->n_managed; j++) {
				if (!p->managed_policies[j])
					return store_fail(err, STORE_ERR_INVALID,
					                  "iam replace: %s has an empty attachment",
					                  p->name);
			}
			for (size_t j = 0; j < p->n_tags; j++) {
				if (!p->tags[j].key || !p->tags[j].value)
					return store_fail(
					    err, STORE_ERR_INVALID,
					    "iam replace: a tag of %s lacks its key or value",
					    p->name);
			}
		}
	}
	for (size_t i = 0; i < n->n_access_keys; i++) {
		const struct store_iam_access_key *a = &n->access_keys[i];
		if (!a->id || !a->user || !a->sealed_secret || a->sealed_n == 0)
			return store_fail(
			    err, STORE_ERR_INVALID,
			    "iam replace: access key %zu lacks its id, user or secret", i);
	}
	for (size_t i = 0; i < n->n_issuers; i++) {
		const struct store_iam_oidc_issuer *o = &n->issuers[i];
		if (!o->issuer || !o->algorithms || !o->key_source || !o->key_path ||
		    !o->key_document)
			return store_fail(err, STORE_ERR_INVALID,
			                  "iam replace: OIDC issuer %zu lacks a required field", i);
		for (size_t j = 0; j < o->n_audiences; j++) {
			if (!o->audiences[j])
				return store_fail(err, STORE_ERR_INVALID,
				                  "iam replace: an audience of %s is missing",
				                  o->issuer);
		}
		for (size_t j = 0; j < o->n_tag_claims; j++) {
			if (!o->tag_claims[j].key || !o->tag_claims[j].value)
				return store_fail(err, STORE_ERR_INVALID,
				                  "iam replace: a tag claim of %s is incomplete",
				                  o->issuer);
		}
	}
	for (size_t i = 0; i < n->n_host_mappings; i++) {
		const struct store_iam_host_mapping *h = &n->host_mappings[i];
		if (!h->match || !h->value || !h->role)
			return store_fail(err, STORE_ERR_INVALID,
			                  "iam replace: host mapping %zu is incomplete", i);
	}
	return STORE_OK;
}

/* The tables in an order that deletes children before their parents. */
static const char *const delete_sql = "DELETE FROM iam_host_mappings;"
                                      "DELETE FROM iam_access_keys;"
                                      "DELETE FROM iam_tags;"
                                      "DELETE FROM iam_attachments;"
                                      "DELETE FROM iam_inline_policies;"
                                      "DELETE FROM iam_principals;"
                                      "DELETE FROM iam_policy_versions;"
                                      "DELETE FROM iam_managed_policies;"
                                      "DELETE FROM iam_oidc_tag_claims;"
                                      "DELETE FROM iam_oidc_audiences;"
                                      "DELETE FROM iam_oidc_issuers;";

enum ins {
	INS_POLICY,
	INS_VERSION,
	INS_PRINCIPAL,
	INS_INLINE,
	INS_ATTACH,
	INS_TAG,
	INS_KEY,
	INS_ISSUER,
	INS_AUDIENCE,
	INS_TAG_CLAIM,
	INS_HOST,
	INS_COUNT_
};

static const char *const ins_sql[INS_COUNT_] = {
    [INS_POLICY] = "INSERT INTO iam_managed_policies(name, policy_id, path, description,"
                   " default_version) VALUES (?1, ?2, ?3, ?4, ?5)",
    [INS_VERSION] = "INSERT INTO iam_policy_versions(policy, version_id, document)"
                    " VALUES (?1, ?2, ?3)",
    [INS_PRINCIPAL] = "INSERT INTO iam_principals(kind, name, unique_id, path, description,"
                      " trust_policy, max_session_duration, permissions_boundary)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [INS_INLINE] = "INSERT INTO iam_inline_policies(kind, principal, name, document)"
                   " VALUES (?1, ?2, ?3, ?4)",
    [INS_ATTACH] = "INSERT INTO iam_attachments(kind, principal, policy) VALUES (?1, ?2, ?3)",
    [INS_TAG] = "INSERT INTO iam_tags(kind, principal, key, value) VALUES (?1, ?2, ?3, ?4)",
    [INS_KEY] = "INSERT INTO iam_access_keys(id, user, active, secret) VALUES (?1, ?2, ?3, ?4)",
    [INS_ISSUER] = "INSERT INTO iam_oidc_issuers(issuer, algorithms, key_source, key_path,"
                   " key_kid, key_document, leeway, max_lifetime, role_claim)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [INS_AUDIENCE] = "INSERT INTO iam_oidc_audiences(issuer, audience) VALUES (?1, ?2)",
    [INS_TAG_CLAIM] = "INSERT INTO iam_oidc_tag_claims(issuer, claim, tag_key)"
                      " VALUES (?1, ?2, ?3)",
    [INS_HOST] = "INSERT INTO iam_host_mappings(match, value, role) VALUES (?1, ?2, ?3)",
};

static int write_principals(struct store *s, sqlite3_stmt **ins, enum store_iam_kind kind,
                            const struct store_iam_principal *v, size_t n, struct store_error *err)
{
	const char *k = kind_names[kind];
	int code = STORE_OK;
	for (size_t i = 0; i < n && code == STORE_OK; i++) {
		const struct store_iam_principal *p = &v[i];
		code = run_stmt(s, ins[INS_PRINCIPAL], "writing a role or user", err, "ttttttit", k,
		                p->name, p->unique_id, p->path, p->description, p->trust_policy,
		                p->max_session_duration, p->permissions_boundary);
		for (size_t j = 0; j < p->n_inline && code == STORE_OK; j++)
			code = run_stmt(s, ins[INS_INLINE], "writing an inline policy", err, "tttt",
			                k, p->name, p->inline_policies[j].name,
			                p->inline_policies[j].document);
		for (size_t j = 0; j < p->n_managed && code == STORE_OK; j++)
			code = run_stmt(s, ins[INS_ATTACH], "writing a policy attachment", err,
			                "ttt", k, p->name, p->managed_policies[j]);
		for (size_t j = 0; j < p->n_tags && code == STORE_OK; j++)
			code = run_stmt(s, ins[INS_TAG], "writing a tag", err, "tttt", k, p->name,
			                p->tags[j].key, p->tags[j].value);
	}
	return code;
}

static int write_all(struct store *s, sqlite3_stmt **ins, const struct store_iam *n,
                     struct store_error *err)
{
	int code = STORE_OK;
	for (size_t i = 0; i < n->n_policies && code == STORE_OK; i++) {
		const struct store_iam_managed_policy *m = &n->policies[i];
		code = run_stmt(s, ins[INS_POLICY], "writing a managed policy", err, "ttttt",
		                m->name, m->policy_id, m->path, m->description, m->default_version);
		for (size_t j = 0; j < m->n_versions && code == STORE_OK; j++)
			code = run_stmt(s, ins[INS_VERSION], "writing a policy version", err, "ttt",
			                m->name, m->versions[j].name, m->versions[j].document);
	}
	if (code == STORE_OK)
		code = write_principals(s, ins, STORE_IAM_ROLE, n->roles, n->n_roles, err);
	if (code == STORE_OK)
		code = write_principals(s, ins, STORE_IAM_USER, n->users, n->n_users, err);
	for (size_t i = 0; i < n->n_access_keys && code == STORE_OK; i++) {
		const struct store_iam_access_key *a = &n->access_keys[i];
		code = run_stmt(s, ins[INS_KEY], "writing an access key", err, "ttib", a->id,
		                a->user, (int64_t)(a->active ? 1 : 0),
		                (const void *)a->sealed_secret, a->sealed_n);
	}
	for (size_t i = 0; i < n->n_issuers && code == STORE_OK; i++) {
		const struct store_iam_oidc_issuer *o = &n->issuers[i];
		code = run_stmt(s, ins[INS_ISSUER], "writing an OIDC issuer", err, "ttttttiit",
		                o->issuer, o->algorithms, o->key_source, o->key_path, o->key_kid,
		                o->key_document, o->leeway, o->max_lifetime, o->role_claim);
		for (size_t j = 0; j < o->n_audiences && code == STORE_OK; j++)
			code = run_stmt(s, ins[INS_AUDIENCE], "writing an OIDC audience", err, "tt",
			                o->issuer, o->audiences[j]);
		for (size_t j = 0; j < o->n_tag_claims && code == STORE_OK; j++)
			code =
			    run_stmt(s, ins[INS_TAG_CLAIM], "writing an OIDC tag claim", err, "ttt",
			             o->issuer, o->tag_claims[j].key, o->tag_claims[j].value);
	}
	for (size_t i = 0; i < n->n_host_mappings && code == STORE_OK; i++) {
		const struct store_iam_host_mapping *h = &n->host_mappings[i];
		code = run_stmt(s, ins[INS_HOST], "writing a host mapping", err, "ttt", h->match,
		                h->value, h->role);
	}
	return code;
}

/* Everything between BEGIN IMMEDIATE and COMMIT; the caller rolls back on
 * failure. */
static int replace_locked(struct store *s, const struct store_iam *next, int64_t expect,
                          int64_t *gen_out, struct store_error *err)
{
	sqlite3_stmt *st = NULL;
	int code = prepare(s, "SELECT generation FROM iam_account WHERE id = 1", &st,
	                   "reading the IAM generation", err);
	if (code != STORE_OK)
		return code;
	int rc = sqlite3_step(st);
	int64_t cur = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? store_fail(err, STORE_ERR_CORRUPT,
		                                      "%s: the iam_account row is missing", s->path)
		                         : store_fail_sqlite(err, s->db, rc, s->path,
		                                             "reading the IAM generation");
	if (cur != expect)
		return store_fail(err, STORE_ERR_CONFLICT,
		                  "%s: the IAM state changed while this change was prepared "
		                  "(generation %lld, expected %lld); nothing was written, apply "
		                  "again",
		                  s->path, (long long)cur, (long long)expect);
	if (cur == INT64_MAX)
		return store_fail(err, STORE_ERR_INVALID, "%s: the IAM generation is exhausted",
		                  s->path);

	code = exec_sql(s, delete_sql, "clearing the IAM state", err);
	if (code != STORE_OK)
		return code;
	sqlite3_stmt *ins[INS_COUNT_] = {0};
	for (int i = 0; i < INS_COUNT_ && code == STORE_OK; i++)
		code = prepare(s, ins_sql[i], &ins[i], "preparing the IAM writes", err);
	if (code == STORE_OK)
		code = write_all(s, ins, next, err);
	for (int i = 0; i < INS_COUNT_; i++)
		sqlite3_finalize(ins[i]);
	if (code != STORE_OK)
		return code;

	code = prepare(s, "UPDATE iam_account SET account_id = ?1, generation = ?2 WHERE id = 1",
	               &st, "writing the IAM account", err);
	if (code == STORE_OK)
		code = run_stmt(s, st, "writing the IAM account", err, "ti", next->account_id,
		                cur + 1);
	sqlite3_finalize(st);
	if (code == STORE_OK)
		*gen_out = cur + 1;
	return code;
}

int store_iam_replace(struct store *s, const struct store_iam *next, int64_t expect_generation,
                      int64_t *generation_out, struct store_error *err)
{
	store_clear_error(err);
	if (generation_out)
		*generation_out = 0;
	if (!s)
		return store_fail(err, STORE_ERR_INVALID, "iam replace: no database open");
	if (!next)
		return store_fail(err, STORE_ERR_INVALID, "iam replace: no state given");
	int code = check_next(next, err);
	if (code != STORE_OK)
		return code;
	if (s->readonly)
		return store_fail(err, STORE_ERR_READONLY,
		                  "%s: opened read-only; cannot change the IAM state", s->path);
	store_lock(s);
	code = exec_sql(s, "BEGIN IMMEDIATE", "starting the IAM change", err);
	int64_t gen = 0;
	if (code == STORE_OK)
		code = replace_locked(s, next, expect_generation, &gen, err);
	if (code == STORE_OK)
		code = exec_sql(s, "COMMIT", "committing the IAM change", err);
	if (code != STORE_OK)
		store_rollback(s);
	else if (generation_out)
		*generation_out = gen;
	store_unlock(s);
	return code;
}
