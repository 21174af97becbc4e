/*
 * iam_export.c - the stored IAM state written back in the IAM file's format.
 *
 * `taskgate iam export` is how an operator recovers the file from a running
 * store, and how an auditor sees what is in force. Its one promise is the
 * round trip: applying the export changes nothing. So it writes exactly what
 * the parser reads back into the same canonical state: attachments and
 * boundaries as ARNs, defaults written out (path, max_session_duration,
 * leeway), empty optional parts left out.
 *
 * Secrets never appear: an access key is its id and status, and a key that is
 * re-applied without a secret_file keeps the secret the store holds. Key files
 * of issuers appear by the path they were applied from.
 */
#include "gateway/iam_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

struct out {
	bool oom;
};

/* Sets key to v (stealing the reference); a NULL v marks out of memory. */
static void put(struct out *o, json_t *obj, const char *key, json_t *v)
{
	if (!v || !obj || json_object_set_new(obj, key, v) != 0)
		o->oom = true;
}

static void append(struct out *o, json_t *arr, json_t *v)
{
	if (!v || !arr || json_array_append_new(arr, v) != 0)
		o->oom = true;
}

static json_t *document(struct out *o, const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);
	if (!v)
		o->oom = true; /* we stored it from json_dumps: only memory can fail */
	return v;
}

static char *policy_arn(const struct store_iam *st, const char *name)
{
	const char *path = "/";
	for (size_t i = 0; i < st->n_policies; i++) {
		if (strcasecmp(st->policies[i].name, name) == 0)
			path = st->policies[i].path;
	}
	return gw_iam_arn(st->account_id, "policy", path, name);
}

static void put_arn(struct out *o, const struct store_iam *st, json_t *obj, const char *key,
                    json_t *arr, const char *name)
{
	char *arn = policy_arn(st, name);
	if (!arn) {
		o->oom = true;
		return;
	}
	if (arr)
		append(o, arr, json_string(arn));
	else
		put(o, obj, key, json_string(arn));
	free(arn);
}

static json_t *principal(struct out *o, const struct store_iam *st,
                         const struct store_iam_principal *p, bool role)
{
	json_t *e = json_object();
	put(o, e, "name", json_string(p->name));
	put(o, e, "path", json_string(p->path));
	if (role && p->description[0])
		put(o, e, "description", json_string(p->description));
	if (role) {
		put(o, e, "max_session_duration", json_integer(p->max_session_duration));
		put(o, e, "trust_policy", document(o, p->trust_policy));
	}
	if (p->n_inline) {
		json_t *inl = json_object();
		for (size_t i = 0; i < p->n_inline; i++)
			put(o, inl, p->inline_policies[i].name,
			    document(o, p->inline_policies[i].document));
		put(o, e, "inline_policies", inl);
	}
	if (p->n_managed) {
		json_t *arr = json_array();
		for (size_t i = 0; i < p->n_managed; i++)
			put_arn(o, st, NULL, NULL, arr, p->managed_policies[i]);
		put(o, e, "managed_policies", arr);
	}
	if (p->permissions_boundary)
		put_arn(o, st, e, "permissions_boundary", NULL, p->permissions_boundary);
	if (p->n_tags) {
		json_t *tags = json_object();
		for (size_t i = 0; i < p->n_tags; i++)
			put(o, tags, p->tags[i].key, json_string(p->tags[i].value));
		put(o, e, "tags", tags);
	}
	if (!role) {
		json_t *keys = json_array();
		for (size_t i = 0; i < st->n_access_keys; i++) {
			const struct store_iam_access_key *k = &st->access_keys[i];
			if (strcasecmp(k->user, p->name) != 0)
				continue;
			json_t *ko = json_object();
			put(o, ko, "id", json_string(k->id));
			put(o, ko, "status", json_string(k->active ? "Active" : "Inactive"));
			append(o, keys, ko);
		}
		if (json_array_size(keys))
			put(o, e, "access_keys", keys);
		else
			json_decref(keys);
	}
	return e;
}

static json_t *issuer(struct out *o, const struct store_iam_oidc_issuer *is)
{
	json_t *e = json_object();
	put(o, e, "issuer", json_string(is->issuer));
	json_t *aud = json_array();
	for (size_t i = 0; i < is->n_audiences; i++)
		append(o, aud, json_string(is->audiences[i]));
	put(o, e, "audiences", aud);
	put(o, e, strcmp(is->key_source, "pem_file") == 0 ? "pem_file" : "jwks_file",
	    json_string(is->key_path));
	if (is->key_kid)
		put(o, e, "kid", json_string(is->key_kid));
	if (is->algorithms[0]) {
		json_t *algs = json_array();
		const char *p = is->algorithms;
		while (*p) {
			size_t n = strcspn(p, " ");
			append(o, algs, json_stringn(p, n));
			p += n;
			while (*p == ' ')
				p++;
		}
		put(o, e, "algorithms", algs);
	}
	put(o, e, "leeway", json_integer(is->leeway));
	put(o, e, "max_lifetime", json_integer(is->max_lifetime));
	if (is->role_claim)
		put(o, e, "role_claim", json_string(is->role_claim));
	if (is->n_tag_claims) {
		json_t *tc = json_object();
		for (size_t i = 0; i < is->n_tag_claims; i++)
			put(o, tc, is->tag_claims[i].key, json_string(is->tag_claims[i].value));
		put(o, e, "tag_claims", tc);
	}
	return e;
}

int gw_iam_export(const struct store_iam *st, char **out, struct gw_iam_error *err)
{
	gw_iam_clear_error(err);
	*out = NULL;
	if (!st->account_id)
		return gw_iam_fail(err, GW_IAM_ERR_NOT_FOUND,
		                   "no IAM file has been applied to this store yet");
	struct out o = {0};
	json_t *root = json_object();
	put(&o, root, "account_id", json_string(st->account_id));

	json_t *mps = json_array();
	for (size_t i = 0; i < st->n_policies; i++) {
		const struct store_iam_managed_policy *m = &st->policies[i];
		json_t *e = json_object();
		put(&o, e, "name", json_string(m->name));
		put(&o, e, "path", json_string(m->path));
		if (m->description[0])
			put(&o, e, "description", json_string(m->description));
		json_t *vs = json_array();
		for (size_t j = 0; j < m->n_versions; j++) {
			json_t *v = json_object();
			put(&o, v, "id", json_string(m->versions[j].name));
			put(&o, v, "default",
			    json_boolean(strcmp(m->versions[j].name, m->default_version) == 0));
			put(&o, v, "document", document(&o, m->versions[j].document));
			append(&o, vs, v);
		}
		put(&o, e, "versions", vs);
		append(&o, mps, e);
	}
	put(&o, root, "managed_policies", mps);

	json_t *roles = json_array();
	for (size_t i = 0; i < st->n_roles; i++)
		append(&o, roles, principal(&o, st, &st->roles[i], true));
	put(&o, root, "roles", roles);

	json_t *users = json_array();
	for (size_t i = 0; i < st->n_users; i++)
		append(&o, users, principal(&o, st, &st->users[i], false));
	put(&o, root, "users", users);

	json_t *iss = json_array();
	for (size_t i = 0; i < st->n_issuers; i++)
		append(&o, iss, issuer(&o, &st->issuers[i]));
	put(&o, root, "oidc_issuers", iss);

	json_t *hosts = json_array();
	for (size_t i = 0; i < st->n_host_mappings; i++) {
		const struct store_iam_host_mapping *h = &st->host_mappings[i];
		json_t *e = json_object();
		put(&o, e, h->match, json_string(h->value));
		put(&o, e, "role", json_string(h->role));
		append(&o, hosts, e);
	}
	put(&o, root, "host_mappings", hosts);

	char *text = o.oom ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory while exporting");
	size_t n = strlen(text);
	char *with_nl = realloc(text, n + 2);
	if (!with_nl) {
		free(text);
		return gw_iam_fail(err, GW_IAM_ERR_NOMEM, "out of memory while exporting");
	}
	with_nl[n] = '\n';
	with_nl[n + 1] = '\0';
	*out = with_nl;
	return GW_IAM_OK;
}
