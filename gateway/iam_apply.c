/*
 * iam_apply.c - make the store's IAM state equal to a parsed IAM file, all of
 * it or nothing, and say what changed.
 *
 * Apply reads the stored state, sorts it into the same canonical order as the
 * parsed file, and walks the two side by side: an entity only in the file is
 * added ("+ role web"), one only in the store is deleted ("- user old"), one in
 * both is compared field by field ("~ role web (trust_policy, tags)"). What
 * the file cannot say is carried over from the store: the unique ids of roles,
 * users and policies (so aws:userid stays stable), and the sealed secret of an
 * access key that the file names without a secret_file. When nothing differs,
 * nothing is written and the generation does not move: applying the same file
 * twice is a no-op.
 *
 * The new state goes to the store in one replace, guarded by the generation
 * read at the start: if someone applied in between, this apply fails with
 * nothing written rather than undoing their change unseen.
 *
 * Secrets: a new access key without a secret_file gets a generated secret,
 * sealed under the master key with the key id as additional data, and handed
 * back once in the changes for the CLI to print; nothing else ever sees it. A
 * secret_file for an existing key is compared in constant time with the stored
 * secret, so re-applying an unchanged file reseals nothing.
 */
#include "gateway/iam_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the list of changes ---- */

struct diff {
	struct gw_iam_changes *c;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void line(struct diff *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	int n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		d->oom = true;
		return;
	}
	char **v = realloc(d->c->lines, (d->c->n + 1) * sizeof(*v));
	if (!v) {
		free(p);
		d->oom = true;
		return;
	}
	d->c->lines = v;
	v[d->c->n++] = p;
}

void gw_iam_changes_free(struct gw_iam_changes *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
	for (size_t i = 0; i < c->n_new_keys; i++)
		gw_secret_free(&c->new_keys[i].secret);
	free(c->new_keys);
	memset(c, 0, sizeof(*c));
}

/* Field names that differ, joined by ", ". */
struct fields {
	char text[256];
	size_t len;
};

static void field(struct fields *f, bool differs, const char *name)
{
	if (!differs)
		return;
	int n =
	    snprintf(f->text + f->len, sizeof(f->text) - f->len, "%s%s", f->len ? ", " : "", name);
	if (n > 0 && (size_t)n < sizeof(f->text) - f->len)
		f->len += (size_t)n;
}

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool docs_differ(const struct store_iam_document *a, size_t na,
                        const struct store_iam_document *b, size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i].name, b[i].name) != 0 || strcmp(a[i].document, b[i].document) != 0)
			return true;
	}
	return false;
}

static bool strs_differ(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return true;
	}
	return false;
}

static bool tags_differ(const struct store_iam_tag *a, size_t na, const struct store_iam_tag *b,
                        size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].value, b[i].value) != 0)
			return true;
	}
	return false;
}

/* ---- building the next state ---- */

/* Strings and blobs made during apply, freed at its end. */
struct owned {
	void **v;
	size_t n;
	bool oom;
};

static void *keep(struct owned *o, void *p)
{
	if (!p) {
		o->oom = true;
		return NULL;
	}
	void **v = realloc(o->v, (o->n + 1) * sizeof(*v));
	if (!v) {
		free(p);
		o->oom = true;
		return NULL;
	}
	o->v = v;
	v[o->n++] = p;
	return p;
}

static void *copy_array(struct owned *o, const void *src, size_t n, size_t size)
{
	if (n == 0)
		return NULL;
	void *p = malloc(n * size);
	if (p)
		memcpy(p, src, n * size);
	return keep(o, p);
}

static void policies(struct diff *d, struct owned *o, struct store_iam *next,
                     const struct store_iam *cur)
{
	size_t i = 0, j = 0;
	while (i < next->n_policies || j < cur->n_policies) {
		int c = i == next->n_policies ? 1
		        : j == cur->n_policies
		            ? -1
		            : strcasecmp(next->policies[i].name, cur->policies[j].name);
		if (c < 0) {
			struct store_iam_managed_policy *m = &next->policies[i++];
			m->policy_id = keep(o, gw_iam_unique_id("ANPA"));
			line(d, "+ managed_policy %s", m->name);
		} else if (c > 0) {
			line(d, "- managed_policy %s", cur->policies[j++].name);
		} else {
			struct store_iam_managed_policy *m = &next->policies[i++];
			const struct store_iam_managed_policy *p = &cur->policies[j++];
			m->policy_id = p->policy_id;
			struct fields f = {0};
			field(&f, strcmp(m->name, p->name) != 0, "name");
			field(&f, strcmp(m->path, p->path) != 0, "path");
			field(&f, strcmp(m->description, p->description) != 0, "description");
			field(&f,
			      docs_differ(m->versions, m->n_versions, p->versions, p->n_versions),
			      "versions");
			field(&f, strcmp(m->default_version, p->default_version) != 0,
			      "default_version");
			if (f.len)
				line(d, "~ managed_policy %s (%s)", m->name, f.text);
		}
	}
}

static void principals(struct diff *d, struct owned *o, struct store_iam_principal *next, size_t nn,
                       const struct store_iam_principal *cur, size_t nc, bool role)
{
	const char *what = role ? "role" : "user";
	size_t i = 0, j = 0;
	while (i < nn || j < nc) {
		int c = i == nn ? 1 : j == nc ? -1 : strcasecmp(next[i].name, cur[j].name);
		if (c < 0) {
			next[i].unique_id = keep(o, gw_iam_unique_id(role ? "AROA" : "AIDA"));
			line(d, "+ %s %s", what, next[i++].name);
		} else if (c > 0) {
			line(d, "- %s %s", what, cur[j++].name);
		} else {
			struct store_iam_principal *n = &next[i++];
			const struct store_iam_principal *p = &cur[j++];
			n->unique_id = p->unique_id;
			struct fields f = {0};
			field(&f, strcmp(n->name, p->name) != 0, "name");
			field(&f, strcmp(n->path, p->path) != 0, "path");
			field(&f, strcmp(n->description, p->description) != 0, "description");
			field(&f, str_differs(n->trust_policy, p->trust_policy), "trust_policy");
			field(&f, n->max_session_duration != p->max_session_duration,
			      "max_session_duration");
			field(&f,
			      docs_differ(n->inline_policies, n->n_inline, p->inline_policies,
			                  p->n_inline),
			      "inline_policies");
			field(&f,
			      strs_differ(n->managed_policies, n->n_managed, p->managed_policies,
			                  p->n_managed),
			      "managed_policies");
			field(&f, str_differs(n->permissions_boundary, p->permissions_boundary),
			      "permissions_boundary");
			field(&f, tags_differ(n->tags, n->n_tags, p->tags, p->n_tags), "tags");
			if (f.len)
				line(d, "~ %s %s (%s)", what, n->name, f.text);
		}
	}
}

/* Seals secret under box bound to the key id; the blob is kept in o. */
static int seal(struct owned *o, const struct gw_keybox *box, const char *id,
                const struct gw_secret *secret, struct store_iam_access_key *k,
                struct gw_iam_error *err)
{
	struct gw_keybox_error ke = {0};
	unsigned char *blob = NULL;
	size_t blob_n = 0;
	if (gw_keybox_seal(box, secret->p, secret->n, id, strlen(id), &blob, &blob_n, &ke) !=
	    GW_KEYBOX_OK)
		return gw_iam_fail(err, GW_IAM_ERR_KEY, "sealing the secret of access key %s: %s",
		                   id, ke.message);
	k->sealed_secret = keep(o, blob);
	k->sealed_n = blob_n;
	return k->sealed_secret
	           ? GW_IAM_OK
	           : gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory sealing %s", id);
}

static int need_box(const struct gw_keybox *box, const char *id, struct gw_iam_error *err)
{
	if (box)
		return GW_IAM_OK;
	return gw_iam_fail(err, GW_IAM_ERR_KEY,
	                   "access key %s needs the master key (to seal or check its secret): "
	                   "give --master-key, or create the key file as docs/security.md shows",
	                   id);
}

static int add_new_key(struct gw_iam_changes *c, const char *id, const char *user,
                       struct gw_secret *secret)
{
	struct gw_iam_new_key *v = realloc(c->new_keys, (c->n_new_keys + 1) * sizeof(*v));
	if (!v)
		return GW_IAM_ERR_NOMEM;
	c->new_keys = v;
	struct gw_iam_new_key *k = &v[c->n_new_keys++];
	memset(k, 0, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->user, sizeof(k->user), "%s", user);
	k->secret = *secret; /* moved: the caller's copy is emptied */
	secret->p = NULL;
	secret->n = 0;
	return GW_IAM_OK;
}

static int access_keys(struct diff *d, struct owned *o, struct store_iam *next,
                       const struct gw_iam_key_secret *sec, const struct store_iam *cur,
                       const struct gw_keybox *box, struct gw_iam_error *err)
{
	size_t i = 0, j = 0;
	while (i < next->n_access_keys || j < cur->n_access_keys) {
		int c = i == next->n_access_keys ? 1
		        : j == cur->n_access_keys
		            ? -1
		            : strcmp(next->access_keys[i].id, cur->access_keys[j].id);
		if (c > 0) {
			line(d, "- access_key %s (user %s)", cur->access_keys[j].id,
			     cur->access_keys[j].user);
			j++;
			continue;
		}
		struct store_iam_access_key *k = &next->access_keys[i];
		const struct gw_iam_key_secret *s = &sec[i];
		i++;
		int code = GW_IAM_OK;
		if (c < 0) {
			code = need_box(box, k->id, err);
			if (code != GW_IAM_OK)
				return code;
			if (s->secret_file) {
				code = seal(o, box, k->id, &s->secret, k, err);
			} else {
				struct gw_secret fresh = {0};
				if (gw_random_secret_access_key(&fresh) != GW_SECRET_OK)
					return gw_iam_fail(
					    err, GW_IAM_ERR_KEY,
					    "cannot generate a secret for access key %s", k->id);
				code = seal(o, box, k->id, &fresh, k, err);
				if (code == GW_IAM_OK &&
				    add_new_key(d->c, k->id, k->user, &fresh) != GW_IAM_OK)
					code = gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
				gw_secret_free(&fresh);
			}
			if (code != GW_IAM_OK)
				return code;
			line(d, "+ access_key %s (user %s)", k->id, k->user);
			continue;
		}
		const struct store_iam_access_key *p = &cur->access_keys[j++];
		k->sealed_secret = p->sealed_secret;
		k->sealed_n = p->sealed_n;
		bool secret_changed = false;
		if (s->secret_file) {
			code = need_box(box, k->id, err);
			if (code != GW_IAM_OK)
				return code;
			struct gw_secret old = {0};
			struct gw_keybox_error ke = {0};
			if (gw_keybox_unseal(box, p->sealed_secret, p->sealed_n, k->id,
			                     strlen(k->id), &old, &ke) != GW_KEYBOX_OK)
				return gw_iam_fail(
				    err, GW_IAM_ERR_KEY,
				    "cannot open the stored secret of access key %s to "
				    "compare it with %s: %s",
				    k->id, s->secret_file, ke.message);
			secret_changed = !gw_ct_equal(old.p, old.n, s->secret.p, s->secret.n);
			gw_secret_free(&old);
			if (secret_changed) {
				code = seal(o, box, k->id, &s->secret, k, err);
				if (code != GW_IAM_OK)
					return code;
			}
		}
		struct fields f = {0};
		field(&f, strcasecmp(k->user, p->user) != 0, "user");
		field(&f, k->active != p->active, "status");
		field(&f, secret_changed, "secret");
		if (f.len)
			line(d, "~ access_key %s (%s)", k->id, f.text);
	}
	return GW_IAM_OK;
}

static void issuers(struct diff *d, const struct store_iam *next, const struct store_iam *cur)
{
	size_t i = 0, j = 0;
	while (i < next->n_issuers || j < cur->n_issuers) {
		int c = i == next->n_issuers ? 1
		        : j == cur->n_issuers
		            ? -1
		            : strcmp(next->issuers[i].issuer, cur->issuers[j].issuer);
		if (c < 0) {
			line(d, "+ oidc_issuer %s", next->issuers[i++].issuer);
		} else if (c > 0) {
			line(d, "- oidc_issuer %s", cur->issuers[j++].issuer);
		} else {
			const struct store_iam_oidc_issuer *n = &next->issuers[i++];
			const struct store_iam_oidc_issuer *p = &cur->issuers[j++];
			struct fields f = {0};
			field(
			    &f,
			    strs_differ(n->audiences, n->n_audiences, p->audiences, p->n_audiences),
			    "audiences");
			field(&f, strcmp(n->algorithms, p->algorithms) != 0, "algorithms");
			field(&f,
			      strcmp(n->key_source, p->key_source) != 0 ||
			          strcmp(n->key_path, p->key_path) != 0 ||
			          str_differs(n->key_kid, p->key_kid) ||
			          strcmp(n->key_document, p->key_document) != 0,
			      "keys");
			field(&f, n->leeway != p->leeway, "leeway");
			field(&f, n->max_lifetime != p->max_lifetime, "max_lifetime");
			field(&f, str_differs(n->role_claim, p->role_claim), "role_claim");
			field(&f,
			      tags_differ(n->tag_claims, n->n_tag_claims, p->tag_claims,
			                  p->n_tag_claims),
			      "tag_claims");
			if (f.len)
				line(d, "~ oidc_issuer %s (%s)", n->issuer, f.text);
		}
	}
}

static int cmp_host(const struct store_iam_host_mapping *a, const struct store_iam_host_mapping *b)
{
	int c = strcmp(a->match, b->match);
	return c ? c : strcmp(a->value, b->value);
}

static void hosts(struct diff *d, const struct store_iam *next, const struct store_iam *cur)
{
	size_t i = 0, j = 0;
	while (i < next->n_host_mappings || j < cur->n_host_mappings) {
		int c = i == next->n_host_mappings ? 1
		        : j == cur->n_host_mappings
		            ? -1
		            : cmp_host(&next->host_mappings[i], &cur->host_mappings[j]);
		if (c < 0) {
			const struct store_iam_host_mapping *h = &next->host_mappings[i++];
			line(d, "+ host_mapping %s=%s (role %s)", h->match, h->value, h->role);
		} else if (c > 0) {
			const struct store_iam_host_mapping *h = &cur->host_mappings[j++];
			line(d, "- host_mapping %s=%s", h->match, h->value);
		} else {
			const struct store_iam_host_mapping *h = &next->host_mappings[i++];
			const struct store_iam_host_mapping *p = &cur->host_mappings[j++];
			if (strcmp(h->role, p->role) != 0)
				line(d, "~ host_mapping %s=%s (role)", h->match, h->value);
		}
	}
}

int gw_iam_apply(struct store *s, const struct gw_iam_spec *spec, const struct gw_keybox *box,
                 struct gw_iam_changes *out, struct gw_iam_error *err)
{
	gw_iam_clear_error(err);
	memset(out, 0, sizeof(*out));
	if (!s || !spec || !spec->state.account_id)
		return gw_iam_fail(err, GW_IAM_ERR_ARG, "iam apply: no store or no parsed file");

	struct store_iam cur;
	struct store_error se = {0};
	if (store_iam_load(s, &cur, &se) != STORE_OK)
		return gw_iam_fail(err, GW_IAM_ERR_STORE, "%s", se.message);
	gw_iam_state_sort(&cur);

	/* next: the file's state with what only the store knows filled in. The
	 * arrays are copies (their elements point into spec and cur); what apply
	 * creates is in `owned`. */
	struct owned o = {0};
	struct store_iam next = spec->state;
	next.policies =
	    copy_array(&o, spec->state.policies, spec->state.n_policies, sizeof(*next.policies));
	next.roles = copy_array(&o, spec->state.roles, spec->state.n_roles, sizeof(*next.roles));
	next.users = copy_array(&o, spec->state.users, spec->state.n_users, sizeof(*next.users));
	next.access_keys = copy_array(&o, spec->state.access_keys, spec->state.n_access_keys,
	                              sizeof(*next.access_keys));

	struct diff d = {.c = out};
	int code = GW_IAM_OK;
	if (o.oom) {
		code = gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (!cur.account_id)
		line(&d, "+ account %s", next.account_id);
	else if (strcmp(cur.account_id, next.account_id) != 0)
		line(&d, "~ account %s (was %s)", next.account_id, cur.account_id);
	policies(&d, &o, &next, &cur);
	principals(&d, &o, next.roles, next.n_roles, cur.roles, cur.n_roles, true);
	principals(&d, &o, next.users, next.n_users, cur.users, cur.n_users, false);
	code = access_keys(&d, &o, &next, spec->secrets, &cur, box, err);
	if (code != GW_IAM_OK)
		goto done;
	issuers(&d, &next, &cur);
	hosts(&d, &next, &cur);
	if (d.oom || o.oom) {
		code = gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
		goto done;
	}

	out->generation = cur.generation;
	if (out->n == 0)
		goto done; /* nothing differs: write nothing, keep the generation */
	int64_t gen = 0;
	int rc = store_iam_replace(s, &next, cur.generation, &gen, &se);
	if (rc == STORE_ERR_CONFLICT)
		code = gw_iam_fail(err, GW_IAM_ERR_CONFLICT, "%s", se.message);
	else if (rc != STORE_OK)
		code = gw_iam_fail(err, GW_IAM_ERR_STORE, "%s", se.message);
	else
		out->generation = gen;

done:
	if (code != GW_IAM_OK)
		gw_iam_changes_free(out); /* generated secrets were never stored: drop them */
	for (size_t i = 0; i < o.n; i++)
		free(o.v[i]);
	free(o.v);
	store_iam_free(&cur);
	return code;
}
