/*
 * iam_snapshot.c - the IAM state as the server uses it: compiled once,
 * immutable, reference-counted, and swapped whole when the store changes.
 *
 * A request authorizes against one snapshot from start to end, so an apply in
 * the middle of a request can never give it half of the old policies and half
 * of the new. Building a snapshot compiles every policy (inline, the default
 * version of each managed policy, trust policies, and boundaries as
 * boundaries) and every issuer's key set once; a request then only looks
 * things up (roles, users and access keys by binary search) and evaluates.
 *
 * The snapshot owns the loaded store state and points into it; nothing in it
 * changes after gw_iam_build returns, so any number of threads may read it
 * without locks. The live holder (struct gw_iam_live) is the only mutable
 * thing: a pointer swapped under a mutex by the poller, read under the same
 * mutex by requests, each of which takes its own reference.
 */
#include "gateway/iam_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct iam_host {
	bool by_cn;
	const char *value;
	const struct gw_iam_entity *role;
};

struct gw_iam {
	atomic_long refs;
	struct store_iam st; /* owned; everything below points into it */
	struct gw_iam_managed *managed;
	size_t n_managed;
	struct gw_iam_entity *roles;
	size_t n_roles;
	struct gw_iam_entity *users;
	size_t n_users;
	struct gw_iam_access_key *keys;
	size_t n_keys;
	struct gw_jwt_issuer *jwt;
	struct gw_jwks **jwks;
	struct gw_iam_oidc *oidc;
	size_t n_issuers;
	struct iam_host *hosts;
	size_t n_hosts;
};

/* ---- lookups ---- */

/* Compares key[0..n) with the NUL-terminated name, ASCII case folded, in the
 * order strcasecmp gives (the order the lists are sorted in). */
static int cmp_nocase_n(const char *key, size_t n, const char *name)
{
	size_t i = 0;
	for (; i < n && name[i]; i++) {
		int a = (unsigned char)key[i], b = (unsigned char)name[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return a - b;
	}
	if (i == n)
		return name[i] ? -1 : 0;
	return 1;
}

static const struct gw_iam_entity *entity_by_name(const struct gw_iam_entity *v, size_t count,
                                                  const char *key, size_t n)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_nocase_n(key, n, v[mid].name);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct gw_iam_entity *entity(const struct gw_iam *iam, const struct gw_iam_entity *v,
                                          size_t count, const char *type, const char *key, size_t n)
{
	if (!iam || !key || n == 0)
		return NULL;
	if (n < 4 || memcmp(key, "arn:", 4) != 0)
		return entity_by_name(v, count, key, n);
	const char *acc, *path, *name;
	size_t acc_n, path_n, name_n;
	if (!gw_iam_arn_split(key, n, type, &acc, &acc_n, &path, &path_n, &name, &name_n))
		return NULL;
	const char *mine = iam->st.account_id ? iam->st.account_id : "";
	if (acc_n != strlen(mine) || memcmp(acc, mine, acc_n) != 0)
		return NULL;
	const struct gw_iam_entity *e = entity_by_name(v, count, name, name_n);
	if (!e || strlen(e->path) != path_n || memcmp(e->path, path, path_n) != 0)
		return NULL;
	return e;
}

const struct gw_iam_entity *gw_iam_role(const struct gw_iam *iam, const char *key, size_t n)
{
	return iam ? entity(iam, iam->roles, iam->n_roles, "role", key, n) : NULL;
}

const struct gw_iam_entity *gw_iam_user(const struct gw_iam *iam, const char *key, size_t n)
{
	return iam ? entity(iam, iam->users, iam->n_users, "user", key, n) : NULL;
}

const struct gw_iam_managed *gw_iam_managed_policy(const struct gw_iam *iam, const char *key,
                                                   size_t n)
{
	if (!iam || !key || n == 0)
		return NULL;
	const char *name = key;
	size_t name_n = n;
	const char *acc = NULL, *path = NULL;
	size_t acc_n = 0, path_n = 0;
	bool arn = n >= 4 && memcmp(key, "arn:", 4) == 0;
	if (arn &&
	    !gw_iam_arn_split(key, n, "policy", &acc, &acc_n, &path, &path_n, &name, &name_n))
		return NULL;
	for (size_t i = 0; i < iam->n_managed; i++) {
		const struct gw_iam_managed *m = &iam->managed[i];
		if (cmp_nocase_n(name, name_n, m->name) != 0)
			continue;
		if (arn) {
			const char *mine = iam->st.account_id ? iam->st.account_id : "";
			const char *mpath = iam->st.policies[i].path;
			if (acc_n != strlen(mine) || memcmp(acc, mine, acc_n) != 0 ||
			    path_n != strlen(mpath) || memcmp(path, mpath, path_n) != 0)
				return NULL;
		}
		return m;
	}
	return NULL;
}

const struct gw_iam_access_key *gw_iam_access_key(const struct gw_iam *iam, const char *id,
                                                  size_t n)
{
	if (!iam || !id)
		return NULL;
	size_t lo = 0, hi = iam->n_keys;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = iam->keys[mid].id;
		size_t kn = strlen(k);
		int c = memcmp(id, k, n < kn ? n : kn);
		if (c == 0)
			c = n < kn ? -1 : n > kn ? 1 : 0;
		if (c == 0)
			return &iam->keys[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int gw_iam_access_key_secret(const struct gw_iam_access_key *key, const struct gw_keybox *box,
                             struct gw_secret *out, struct gw_iam_error *err)
{
	gw_iam_clear_error(err);
	if (!key || !box || !out)
		return gw_iam_fail(err, GW_IAM_ERR_ARG, "no access key, key box or output");
	struct gw_keybox_error ke = {0};
	if (gw_keybox_unseal(box, key->sealed_secret, key->sealed_n, key->id, strlen(key->id), out,
	                     &ke) != GW_KEYBOX_OK)
		return gw_iam_fail(err, GW_IAM_ERR_KEY, "access key %s: %s", key->id, ke.message);
	return GW_IAM_OK;
}

const struct gw_jwt_issuer *gw_iam_jwt_issuers(const struct gw_iam *iam, size_t *n)
{
	*n = iam ? iam->n_issuers : 0;
	return iam ? iam->jwt : NULL;
}

const struct gw_iam_oidc *gw_iam_oidc_for(const struct gw_iam *iam,
                                          const struct gw_jwt_issuer *issuer)
{
	if (!iam || !issuer)
		return NULL;
	for (size_t i = 0; i < iam->n_issuers; i++) {
		if (&iam->jwt[i] == issuer)
			return &iam->oidc[i];
	}
	return NULL;
}

static const struct gw_iam_entity *host_find(const struct gw_iam *iam, bool by_cn, const char *v,
                                             size_t n)
{
	for (size_t i = 0; i < iam->n_hosts; i++) {
		const struct iam_host *h = &iam->hosts[i];
		if (h->by_cn == by_cn && strlen(h->value) == n && memcmp(h->value, v, n) == 0)
			return h->role;
	}
	return NULL;
}

const struct gw_iam_entity *gw_iam_host_role(const struct gw_iam *iam, const char *subject,
                                             size_t subject_n, const char *cn, size_t cn_n)
{
	if (!iam)
		return NULL;
	const struct gw_iam_entity *r = NULL;
	if (subject && subject_n)
		r = host_find(iam, false, subject, subject_n);
	if (!r && cn && cn_n)
		r = host_find(iam, true, cn, cn_n);
	return r;
}

int gw_iam_policies_for(const struct gw_iam *iam, const struct gw_iam_entity *e,
                        const struct policy *session, struct policy_input *out, size_t cap,
                        size_t *n_out)
{
	*n_out = 0;
	if (!iam || !e)
		return GW_IAM_ERR_ARG;
	size_t need = e->n_inline + e->n_managed + (e->boundary ? 1 : 0) + (session ? 1 : 0);
	if (need > cap || (need && !out)) {
		*n_out = need;
		return GW_IAM_ERR_SPACE;
	}
	size_t k = 0;
	for (size_t i = 0; i < e->n_inline; i++)
		out[k++] = (struct policy_input){.policy = e->inline_policies[i], .level = 0};
	for (size_t i = 0; i < e->n_managed; i++)
		out[k++] = (struct policy_input){.policy = e->managed[i]->policy, .level = 0};
	if (e->boundary)
		out[k++] = (struct policy_input){.policy = e->boundary->boundary, .level = 0};
	if (session)
		out[k++] = (struct policy_input){.policy = session, .level = 0};
	*n_out = k;
	return GW_IAM_OK;
}

const char *gw_iam_account_id(const struct gw_iam *iam)
{
	return iam && iam->st.account_id ? iam->st.account_id : "";
}

int64_t gw_iam_generation(const struct gw_iam *iam)
{
	return iam ? iam->st.generation : 0;
}

/* ---- building ---- */

static void free_entities(struct gw_iam_entity *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free((char *)v[i].arn);
		policy_unref(v[i].trust);
		for (size_t j = 0; j < v[i].n_inline; j++)
			policy_unref(v[i].inline_policies[j]);
		free(v[i].inline_policies);
		free(v[i].managed);
	}
	free(v);
}

static void destroy(struct gw_iam *iam)
{
	for (size_t i = 0; iam->managed && i < iam->n_managed; i++) {
		free((char *)iam->managed[i].arn);
		policy_unref(iam->managed[i].policy);
		policy_unref(iam->managed[i].boundary);
	}
	free(iam->managed);
	free_entities(iam->roles, iam->n_roles);
	free_entities(iam->users, iam->n_users);
	free(iam->keys);
	for (size_t i = 0; iam->jwks && i < iam->n_issuers; i++)
		gw_jwks_free(iam->jwks[i]);
	free(iam->jwks);
	free(iam->jwt);
	free(iam->oidc);
	free(iam->hosts);
	store_iam_free(&iam->st);
	free(iam);
}

struct gw_iam *gw_iam_ref(struct gw_iam *iam)
{
	if (iam)
		atomic_fetch_add_explicit(&iam->refs, 1, memory_order_relaxed);
	return iam;
}

void gw_iam_unref(struct gw_iam *iam)
{
	if (iam && atomic_fetch_sub_explicit(&iam->refs, 1, memory_order_acq_rel) == 1)
		destroy(iam);
}

static int compile(const char *text, enum policy_type type, bool managed, const char *id,
                   struct policy **out, const char *what, struct gw_iam_error *err)
{
	struct policy_options opts = {.type = type, .managed = managed, .size_limit = 0, .id = id};
	struct policy_diags d;
	policy_diags_init(&d);
	int rc = policy_compile(text, strlen(text), &opts, out, &d);
	int code = GW_IAM_OK;
	if (rc == POLICY_ERR_NOMEM) {
		code = gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory compiling %s", what);
	} else if (rc != POLICY_OK) {
		const struct policy_diag *g = NULL;
		for (size_t i = 0; i < d.count && !g; i++) {
			if (d.items[i].severity == POLICY_SEV_ERROR)
				g = &d.items[i];
		}
		code = gw_iam_fail(
		    err, GW_IAM_ERR_STATE,
		    "the stored %s does not compile: %s%s%s (re-apply a valid IAM file)", what,
		    g ? g->path : "", g && g->path[0] ? ": " : "", g ? g->message : "invalid");
	}
	policy_diags_free(&d);
	return code;
}

static const struct gw_iam_managed *managed_by_name(const struct gw_iam *iam, const char *name)
{
	for (size_t i = 0; i < iam->n_managed; i++) {
		if (strcasecmp(iam->managed[i].name, name) == 0)
			return &iam->managed[i];
	}
	return NULL;
}

static int build_entities(struct gw_iam *iam, struct store_iam_principal *src, size_t n,
                          enum gw_iam_kind kind, struct gw_iam_entity **out,
                          struct gw_iam_error *err)
{
	const char *what = kind == GW_IAM_ROLE ? "role" : "user";
	*out = n ? calloc(n, sizeof(**out)) : NULL;
	if (n && !*out)
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct store_iam_principal *p = &src[i];
		struct gw_iam_entity *e = &(*out)[i];
		e->kind = kind;
		e->name = p->name;
		e->unique_id = p->unique_id;
		e->path = p->path;
		e->description = p->description;
		e->max_session_duration = p->max_session_duration;
		e->tags = p->tags;
		e->n_tags = p->n_tags;
		e->arn = gw_iam_arn(iam->st.account_id, what, p->path, p->name);
		e->inline_policies =
		    p->n_inline ? calloc(p->n_inline, sizeof(*e->inline_policies)) : NULL;
		e->managed = p->n_managed ? calloc(p->n_managed, sizeof(*e->managed)) : NULL;
		if (!e->arn || (p->n_inline && !e->inline_policies) ||
		    (p->n_managed && !e->managed))
			return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
		char what_doc[GW_IAM_ENTITY_NAME_MAX + GW_IAM_POLICY_NAME_MAX + 64];
		if (kind == GW_IAM_ROLE) {
			snprintf(what_doc, sizeof(what_doc), "trust policy of role %s", p->name);
			if (!p->trust_policy)
				return gw_iam_fail(err, GW_IAM_ERR_STATE,
				                   "role %s has no trust policy", p->name);
			int code = compile(p->trust_policy, POLICY_TRUST, false, p->name, &e->trust,
			                   what_doc, err);
			if (code != GW_IAM_OK)
				return code;
		}
		for (size_t j = 0; j < p->n_inline; j++) {
			snprintf(what_doc, sizeof(what_doc), "inline policy %s of %s %s",
			         p->inline_policies[j].name, what, p->name);
			int code = compile(p->inline_policies[j].document, POLICY_IDENTITY, false,
			                   p->inline_policies[j].name, &e->inline_policies[j],
			                   what_doc, err);
			if (code != GW_IAM_OK)
				return code;
			e->n_inline++;
		}
		for (size_t j = 0; j < p->n_managed; j++) {
			const struct gw_iam_managed *m =
			    managed_by_name(iam, p->managed_policies[j]);
			if (!m)
				return gw_iam_fail(
				    err, GW_IAM_ERR_STATE,
				    "%s %s is attached to managed policy %s, which is not "
				    "stored",
				    what, p->name, p->managed_policies[j]);
			e->managed[e->n_managed++] = m;
		}
		if (p->permissions_boundary) {
			const struct gw_iam_managed *m =
			    managed_by_name(iam, p->permissions_boundary);
			if (!m || !m->boundary)
				return gw_iam_fail(
				    err, GW_IAM_ERR_STATE,
				    "the permissions boundary %s of %s %s is not stored",
				    p->permissions_boundary, what, p->name);
			e->boundary = m;
		}
	}
	return GW_IAM_OK;
}

static bool used_as_boundary(const struct store_iam *st, const char *name)
{
	for (size_t i = 0; i < st->n_roles; i++) {
		if (st->roles[i].permissions_boundary &&
		    strcasecmp(st->roles[i].permissions_boundary, name) == 0)
			return true;
	}
	for (size_t i = 0; i < st->n_users; i++) {
		if (st->users[i].permissions_boundary &&
		    strcasecmp(st->users[i].permissions_boundary, name) == 0)
			return true;
	}
	return false;
}

static int build_managed(struct gw_iam *iam, struct gw_iam_error *err)
{
	struct store_iam *st = &iam->st;
	iam->managed = st->n_policies ? calloc(st->n_policies, sizeof(*iam->managed)) : NULL;
	if (st->n_policies && !iam->managed)
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	iam->n_managed = st->n_policies;
	for (size_t i = 0; i < st->n_policies; i++) {
		struct store_iam_managed_policy *p = &st->policies[i];
		struct gw_iam_managed *m = &iam->managed[i];
		m->name = p->name;
		m->policy_id = p->policy_id;
		m->default_version = p->default_version;
		m->arn = gw_iam_arn(st->account_id, "policy", p->path, p->name);
		if (!m->arn)
			return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
		const char *doc = NULL;
		for (size_t j = 0; j < p->n_versions; j++) {
			if (strcmp(p->versions[j].name, p->default_version) == 0)
				doc = p->versions[j].document;
		}
		if (!doc)
			return gw_iam_fail(
			    err, GW_IAM_ERR_STATE,
			    "managed policy %s has no stored version %s (its default)", p->name,
			    p->default_version);
		m->document = doc;
		char what[GW_IAM_POLICY_NAME_MAX + 64];
		snprintf(what, sizeof(what), "managed policy %s", p->name);
		int code = compile(doc, POLICY_IDENTITY, true, p->name, &m->policy, what, err);
		if (code == GW_IAM_OK && used_as_boundary(st, p->name))
			code =
			    compile(doc, POLICY_BOUNDARY, true, p->name, &m->boundary, what, err);
		if (code != GW_IAM_OK)
			return code;
	}
	return GW_IAM_OK;
}

static int build_keys(struct gw_iam *iam, struct gw_iam_error *err)
{
	struct store_iam *st = &iam->st;
	iam->keys = st->n_access_keys ? calloc(st->n_access_keys, sizeof(*iam->keys)) : NULL;
	if (st->n_access_keys && !iam->keys)
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < st->n_access_keys; i++) {
		const struct store_iam_access_key *k = &st->access_keys[i];
		const struct gw_iam_entity *u =
		    entity_by_name(iam->users, iam->n_users, k->user, strlen(k->user));
		if (!u)
			return gw_iam_fail(err, GW_IAM_ERR_STATE,
			                   "access key %s belongs to no user", k->id);
		iam->keys[i] = (struct gw_iam_access_key){.id = k->id,
		                                          .user = u,
		                                          .active = k->active,
		                                          .sealed_secret = k->sealed_secret,
		                                          .sealed_n = k->sealed_n};
	}
	iam->n_keys = st->n_access_keys;
	return GW_IAM_OK;
}

static int build_issuers(struct gw_iam *iam, struct gw_iam_error *err)
{
	struct store_iam *st = &iam->st;
	size_t n = st->n_issuers;
	if (n == 0)
		return GW_IAM_OK;
	iam->jwt = calloc(n, sizeof(*iam->jwt));
	iam->jwks = calloc(n, sizeof(*iam->jwks));
	iam->oidc = calloc(n, sizeof(*iam->oidc));
	if (!iam->jwt || !iam->jwks || !iam->oidc)
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	iam->n_issuers = n;
	for (size_t i = 0; i < n; i++) {
		const struct store_iam_oidc_issuer *o = &st->issuers[i];
		struct gw_jwt_error je = {0};
		const char *doc = o->key_document;
		int rc = strcmp(o->key_source, "pem_file") == 0
		             ? gw_jwks_from_pem(doc, strlen(doc), o->key_kid, &iam->jwks[i], &je)
		             : gw_jwks_parse(doc, strlen(doc), &iam->jwks[i], &je);
		if (rc != GW_JWT_OK)
			return gw_iam_fail(
			    err, rc == GW_JWT_ERR_NOMEM ? GW_IAM_ERR_NOMEM : GW_IAM_ERR_STATE,
			    "the stored keys of issuer %s do not load: %s", o->issuer, je.message);
		unsigned algs = 0;
		const char *p = o->algorithms;
		while (*p) {
			size_t len = strcspn(p, " ");
			int a = gw_jwt_alg_from_name(p, len);
			if (a < 0)
				return gw_iam_fail(err, GW_IAM_ERR_STATE,
				                   "issuer %s has an unknown stored algorithm",
				                   o->issuer);
			algs |= GW_JWT_ALG_BIT(a);
			p += len;
			while (*p == ' ')
				p++;
		}
		iam->jwt[i] = (struct gw_jwt_issuer){
		    .issuer = o->issuer,
		    .audiences = (const char *const *)o->audiences,
		    .n_audiences = o->n_audiences,
		    .keys = iam->jwks[i],
		    .hmac_secret = NULL,
		    .algs = algs,
		    .leeway = o->leeway,
		    .max_lifetime = o->max_lifetime,
		};
		if (gw_jwt_issuer_check(&iam->jwt[i], &je) != GW_JWT_OK)
			return gw_iam_fail(err, GW_IAM_ERR_STATE, "stored issuer %s: %s", o->issuer,
			                   je.message);
		iam->oidc[i] = (struct gw_iam_oidc){.jwt = &iam->jwt[i],
		                                    .role_claim = o->role_claim,
		                                    .tag_claims = o->tag_claims,
		                                    .n_tag_claims = o->n_tag_claims};
	}
	return GW_IAM_OK;
}

static int build_hosts(struct gw_iam *iam, struct gw_iam_error *err)
{
	struct store_iam *st = &iam->st;
	if (st->n_host_mappings == 0)
		return GW_IAM_OK;
	iam->hosts = calloc(st->n_host_mappings, sizeof(*iam->hosts));
	if (!iam->hosts)
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < st->n_host_mappings; i++) {
		const struct store_iam_host_mapping *h = &st->host_mappings[i];
		const struct gw_iam_entity *r =
		    entity_by_name(iam->roles, iam->n_roles, h->role, strlen(h->role));
		if (!r)
			return gw_iam_fail(err, GW_IAM_ERR_STATE,
			                   "host mapping %s=%s names no role", h->match, h->value);
		iam->hosts[i] = (struct iam_host){
		    .by_cn = strcmp(h->match, "subject_cn") == 0, .value = h->value, .role = r};
	}
	iam->n_hosts = st->n_host_mappings;
	return GW_IAM_OK;
}

int gw_iam_build(struct store_iam *state, struct gw_iam **out, struct gw_iam_error *err)
{
	gw_iam_clear_error(err);
	*out = NULL;
	struct gw_iam *iam = calloc(1, sizeof(*iam));
	if (!iam) {
		store_iam_free(state);
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	}
	atomic_init(&iam->refs, 1);
	iam->st = *state;
	memset(state, 0, sizeof(*state));
	gw_iam_state_sort(&iam->st);
	int code = GW_IAM_OK;
	if (!iam->st.account_id && (iam->st.n_roles || iam->st.n_users || iam->st.n_policies))
		code =
		    gw_iam_fail(err, GW_IAM_ERR_STATE, "the IAM state has entities but no account");
	const char *acc = iam->st.account_id ? iam->st.account_id : "";
	if (code == GW_IAM_OK && !iam->st.account_id) {
		iam->st.account_id = gw_iam_strdup(acc);
		if (!iam->st.account_id)
			code = gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory");
	}
	if (code == GW_IAM_OK)
		code = build_managed(iam, err);
	if (code == GW_IAM_OK) {
		code = build_entities(iam, iam->st.roles, iam->st.n_roles, GW_IAM_ROLE, &iam->roles,
		                      err);
		iam->n_roles = iam->roles ? iam->st.n_roles : 0;
	}
	if (code == GW_IAM_OK) {
		code = build_entities(iam, iam->st.users, iam->st.n_users, GW_IAM_USER, &iam->users,
		                      err);
		iam->n_users = iam->users ? iam->st.n_users : 0;
	}
	if (code == GW_IAM_OK)
		code = build_keys(iam, err);
	if (code == GW_IAM_OK)
		code = build_issuers(iam, err);
	if (code == GW_IAM_OK)
		code = build_hosts(iam, err);
	if (code != GW_IAM_OK) {
		/* Entities partly built still need their parts freed. */
		if (!iam->n_roles && iam->roles)
			iam->n_roles = iam->st.n_roles;
		if (!iam->n_users && iam->users)
			iam->n_users = iam->st.n_users;
		destroy(iam);
		return code;
	}
	*out = iam;
	return GW_IAM_OK;
}

int gw_iam_load(struct store *s, struct gw_iam **out, struct gw_iam_error *err)
{
	gw_iam_clear_error(err);
	*out = NULL;
	struct store_iam st;
	struct store_error se = {0};
	if (store_iam_load(s, &st, &se) != STORE_OK)
		return gw_iam_fail(err, GW_IAM_ERR_STORE, "%s", se.message);
	return gw_iam_build(&st, out, err);
}

/* ---- the live snapshot ---- */

int gw_iam_live_init(struct gw_iam_live *live)
{
	live->current = NULL;
	return pthread_mutex_init(&live->lock, NULL) == 0 ? GW_IAM_OK : GW_IAM_ERR_NOMEM;
}

void gw_iam_live_destroy(struct gw_iam_live *live)
{
	gw_iam_unref(live->current);
	live->current = NULL;
	pthread_mutex_destroy(&live->lock);
}

struct gw_iam *gw_iam_live_get(struct gw_iam_live *live)
{
	pthread_mutex_lock(&live->lock);
	struct gw_iam *iam = gw_iam_ref(live->current);
	pthread_mutex_unlock(&live->lock);
	return iam;
}

int gw_iam_live_refresh(struct gw_iam_live *live, struct store *s, bool *changed,
                        struct gw_iam_error *err)
{
	gw_iam_clear_error(err);
	if (changed)
		*changed = false;
	int64_t gen = 0;
	struct store_error se = {0};
	if (store_iam_generation(s, &gen, &se) != STORE_OK)
		return gw_iam_fail(err, GW_IAM_ERR_STORE, "%s", se.message);
	struct gw_iam *cur = gw_iam_live_get(live);
	bool same = cur && cur->st.generation == gen;
	gw_iam_unref(cur);
	if (same)
		return GW_IAM_OK;
	struct gw_iam *fresh = NULL;
	int code = gw_iam_load(s, &fresh, err);
	if (code != GW_IAM_OK)
		return code;
	pthread_mutex_lock(&live->lock);
	struct gw_iam *old = live->current;
	live->current = fresh;
	pthread_mutex_unlock(&live->lock);
	gw_iam_unref(old); /* requests still holding it keep it alive */
	if (changed)
		*changed = true;
	return GW_IAM_OK;
}

const char *gw_iam_status_name(int code)
{
	switch (code) {
	case GW_IAM_OK:
		return "ok";
	case GW_IAM_ERR_INVALID:
		return "invalid";
	case GW_IAM_ERR_NOMEM:
		return "nomem";
	case GW_IAM_ERR_STORE:
		return "store";
	case GW_IAM_ERR_CONFLICT:
		return "conflict";
	case GW_IAM_ERR_KEY:
		return "key";
	case GW_IAM_ERR_STATE:
		return "state";
	case GW_IAM_ERR_SPACE:
		return "space";
	case GW_IAM_ERR_NOT_FOUND:
		return "not_found";
	case GW_IAM_ERR_ARG:
		return "arg";
	default:
		return "unknown";
	}
}
