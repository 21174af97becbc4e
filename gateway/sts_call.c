/*
 * sts_call.c - deciding and answering a decoded STS call (see sts.c for
 * decoding, sts_issue.c for minting).
 *
 * Authorization asks AWS's questions, each recorded as one decision:
 *
 *   AssumeRole                 identity: may the caller sts:AssumeRole the role?
 *                              trust:    does the role's trust policy let it?
 *                              (and the same pair for sts:TagSession when
 *                              session tags are passed, sts:SetSourceIdentity
 *                              when a source identity is)
 *   AssumeRoleWithWebIdentity  trust: does the trust policy allow the token's
 *                              issuer (Federated arn:aws:iam::A:oidc-provider/
 *                              <issuer without https://>) with these claims
 *                              as <issuer>:<claim> condition keys?
 *   GetCallerIdentity          nothing to ask: any valid credentials get an
 *                              answer, even under an explicit deny (as in AWS).
 *
 * Both halves of AssumeRole must allow, which is stricter than AWS in one
 * case: AWS lets a same-account trust policy that names the caller's ARN
 * stand alone; taskgate always asks the caller's identity policies too
 * (docs/identity.md).
 *
 * The condition keys a request brings: sts:RoleSessionName, sts:ExternalId,
 * sts:SourceIdentity, aws:RequestTag/<key>, aws:TagKeys and
 * sts:TransitiveTagKeys, beside the caller's global keys (principal.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gateway/authz.h"
#include "gateway/request.h"
#include "gateway/sts.h"
#include "gateway/sts_int.h"

#define CTX_MAX        (GW_AUTHZ_MAX_CONTEXT - GW_PRINCIPAL_CTX_MAX)
#define CLAIM_KEYS_MAX 64

/* The request's own condition keys. */
struct req_ctx {
	struct policy_ctx_entry e[CTX_MAX];
	struct policy_str v[CTX_MAX];
	size_t n;
	struct policy_str tag_keys[STORE_STS_TAGS_MAX];
	struct policy_str transitive[STORE_STS_TAGS_MAX];
	char names[STORE_STS_TAGS_MAX][GW_IAM_TAG_KEY_MAX + 24];
};

static struct policy_str str(const char *s)
{
	struct policy_str r = {s ? s : "", s ? strlen(s) : 0};
	return r;
}

static void ctx_add(struct req_ctx *x, struct policy_str key, const struct policy_str *values,
                    size_t n)
{
	if (x->n >= CTX_MAX)
		return;
	x->e[x->n] = (struct policy_ctx_entry){key, values, n};
	x->n++;
}

static void ctx_add1(struct req_ctx *x, const char *key, const char *value)
{
	if (x->n >= CTX_MAX)
		return;
	x->v[x->n] = str(value);
	ctx_add(x, str(key), &x->v[x->n], 1);
}

static void build_ctx(const struct gw_sts_call *c, struct req_ctx *x)
{
	memset(x, 0, sizeof(*x));
	ctx_add1(x, "sts:RoleSessionName", c->session_name);
	if (c->external_id)
		ctx_add1(x, "sts:ExternalId", c->external_id);
	if (c->source_identity)
		ctx_add1(x, "sts:SourceIdentity", c->source_identity);
	size_t nt = 0;
	for (size_t i = 0; i < c->n_tags; i++) {
		int k =
		    snprintf(x->names[i], sizeof(x->names[i]), "aws:RequestTag/%s", c->tags[i].key);
		if (k < 0 || (size_t)k >= sizeof(x->names[i]))
			continue;
		ctx_add1(x, x->names[i], c->tags[i].value);
		x->tag_keys[nt++] = str(c->tags[i].key);
	}
	if (c->n_tags)
		ctx_add(x, str("aws:TagKeys"), x->tag_keys, nt);
	for (size_t i = 0; i < c->n_transitive; i++)
		x->transitive[i] = str(c->transitive[i]);
	if (c->n_transitive)
		ctx_add(x, str("sts:TransitiveTagKeys"), x->transitive, c->n_transitive);
}

static void record(struct gw_request_decision *dec, size_t cap, size_t *n,
                   const struct gw_request_decision *d)
{
	if (*n < cap)
		dec[(*n)++] = *d;
}

/* ---- session policy ---- */

static int first_diag(const struct policy_diags *d, char *out, size_t n)
{
	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].severity != POLICY_SEV_ERROR)
			continue;
		return snprintf(out, n, "%.120s%s%.250s", d->items[i].path,
		                d->items[i].path[0] ? ": " : "", d->items[i].message);
	}
	return snprintf(out, n, "the policy is not valid");
}

static int compile_check(const char *json, size_t limit, const char *rid,
                         struct gw_sts_response *resp)
{
	struct policy_diags d;
	policy_diags_init(&d);
	struct policy_options o = {.type = POLICY_SESSION, .size_limit = limit, .id = "session"};
	struct policy *p = NULL;
	int rc = policy_compile(json, strlen(json), &o, &p, &d);
	policy_unref(p);
	if (rc == POLICY_OK) {
		policy_diags_free(&d);
		return 0;
	}
	char why[420];
	first_diag(&d, why, sizeof(why));
	policy_diags_free(&d);
	if (rc == POLICY_ERR_NOMEM)
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	if (rc == POLICY_ERR_LIMIT)
		return gw_sts_fail(resp, rid, 400, "PackedPolicyTooLarge",
		                   "The session policy is too large: %s", why);
	return gw_sts_fail(resp, rid, 400, "MalformedPolicyDocument",
	                   "The session policy is not valid: %s", why);
}

/* Appends the statements of doc to all, renaming a Sid already used. */
static int add_statements(json_t *all, const char *doc)
{
	json_t *root = json_loads(doc, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return -1;
	json_t *st = json_object_get(root, "Statement");
	json_t *one = json_is_object(st) ? st : NULL;
	size_t n = one ? 1 : json_is_array(st) ? json_array_size(st) : 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *s = one ? one : json_array_get(st, i);
		json_t *copy = json_deep_copy(s);
		if (!copy) {
			rc = -1;
			break;
		}
		const char *sid = json_string_value(json_object_get(copy, "Sid"));
		if (sid && sid[0]) {
			for (size_t k = 0; k < json_array_size(all); k++) {
				const char *o = json_string_value(
				    json_object_get(json_array_get(all, k), "Sid"));
				if (o && strcmp(o, sid) == 0) {
					char renamed[160];
					snprintf(renamed, sizeof(renamed), "%.120s%zu", sid,
					         json_array_size(all) + 1);
					json_object_set_new(copy, "Sid", json_string(renamed));
					break;
				}
			}
		}
		rc = json_array_append_new(all, copy);
	}
	json_decref(root);
	return rc;
}

static int build_session_policy(struct gw_sts_call *c, const char *rid,
                                struct gw_sts_response *resp)
{
	if (!c->policy && c->n_policy_arns == 0)
		return 0;
	if (c->policy && compile_check(c->policy, 0, rid, resp) != 0)
		return -1;
	if (c->n_policy_arns == 0) {
		c->session_policy = strdup(c->policy);
		return c->session_policy
		           ? 0
		           : gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	}
	json_t *all = json_array();
	int rc = all ? 0 : -1;
	if (rc == 0 && c->policy)
		rc = add_statements(all, c->policy);
	for (size_t i = 0; i < c->n_policy_arns && rc == 0; i++) {
		const struct gw_iam_managed *m =
		    gw_iam_managed_policy(c->iam, c->policy_arns[i], strlen(c->policy_arns[i]));
		if (!m || strncmp(c->policy_arns[i], "arn:", 4) != 0 || !m->document) {
			json_decref(all);
			return gw_sts_fail(resp, rid, 400, "ValidationError",
			                   "Policy %.300s does not exist or is not attachable.",
			                   c->policy_arns[i]);
		}
		rc = add_statements(all, m->document);
	}
	json_t *doc =
	    rc == 0 ? json_pack("{s:s, s:o}", "Version", "2012-10-17", "Statement", all) : NULL;
	if (!doc) {
		if (rc != 0)
			json_decref(all);
		return gw_sts_fail(resp, rid, 500, "InternalFailure",
		                   "The session policies could not be merged.");
	}
	c->session_policy = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!c->session_policy)
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	return compile_check(c->session_policy, MERGED_POLICY_MAX, rid, resp);
}

/* AWS reports how full the packed policy and tags are, in percent. */
static int packed_size(const struct gw_sts_call *c)
{
	size_t n = c->policy ? strlen(c->policy) : 0;
	for (size_t i = 0; i < c->n_tags; i++)
		n += strlen(c->tags[i].key) + strlen(c->tags[i].value);
	return (int)((n * 100 + GW_STS_POLICY_MAX - 1) / GW_STS_POLICY_MAX);
}

/* ---- duration ---- */

static int pick_duration(const struct gw_sts_env *env, struct gw_sts_call *c, bool chained,
                         const char *rid, struct gw_sts_response *resp)
{
	int64_t cfg_max = env->max_duration_s ? env->max_duration_s : GW_IAM_SESSION_MAX;
	int64_t role_max = c->role->max_session_duration > 0 ? c->role->max_session_duration
	                                                     : GW_STS_DURATION_DEFAULT;
	int64_t def = env->default_duration_s ? env->default_duration_s : GW_STS_DURATION_DEFAULT;
	if (!c->has_duration) {
		int64_t d = def;
		if (d > role_max)
			d = role_max;
		if (d > cfg_max)
			d = cfg_max;
		if (chained && d > GW_STS_CHAINED_MAX)
			d = GW_STS_CHAINED_MAX;
		c->final_duration = d;
		return 0;
	}
	if (chained && c->duration > GW_STS_CHAINED_MAX)
		return gw_sts_fail(resp, rid, 400, "ValidationError",
		                   "The requested DurationSeconds exceeds the 1 hour session limit "
		                   "for roles assumed by role chaining.");
	if (c->duration > role_max)
		return gw_sts_fail(
		    resp, rid, 400, "ValidationError",
		    "The requested DurationSeconds exceeds the MaxSessionDuration set "
		    "for this role.");
	if (c->duration > cfg_max)
		return gw_sts_fail(resp, rid, 400, "ValidationError",
		                   "The requested DurationSeconds exceeds the %lld seconds this "
		                   "gateway allows (sts.max_duration_s).",
		                   (long long)cfg_max);
	c->final_duration = c->duration;
	return 0;
}

/* ---- session tags ---- */

static int add_session_tag(struct gw_sts_call *c, const char *key, const char *value,
                           bool transitive)
{
	for (size_t i = 0; i < c->n_session_tags; i++) {
		if (strcasecmp(c->session_tags[i].key, key) == 0) {
			c->session_tags[i].value = (char *)value;
			c->session_tags[i].transitive = transitive;
			return 0;
		}
	}
	if (c->n_session_tags >= STORE_STS_TAGS_MAX)
		return -1;
	c->session_tags[c->n_session_tags++] =
	    (struct store_sts_tag){(char *)key, (char *)value, transitive};
	return 0;
}

/* Role chaining: the caller's transitive tags and source identity pass on. */
static int inherit(const struct gw_sts_env *env, const struct gw_principal *caller,
                   struct gw_sts_call *c, const char *rid, struct gw_sts_response *resp)
{
	if (!caller->access_key_id || strncmp(caller->access_key_id, "ASIA", 4) != 0)
		return 0;
	struct store_error se = {0};
	if (store_sts_get(env->store, caller->access_key_id, &c->inherited, &se) != STORE_OK)
		return gw_sts_fail(resp, rid, 500, "InternalFailure",
		                   "The caller's session could not be read.");
	c->has_inherited = true;
	for (size_t i = 0; i < c->inherited.n_tags; i++) {
		const struct store_sts_tag *t = &c->inherited.tags[i];
		if (!t->transitive)
			continue;
		for (size_t j = 0; j < c->n_tags; j++)
			if (strcasecmp(c->tags[j].key, t->key) == 0)
				return gw_sts_fail(resp, rid, 400, "ValidationError",
				                   "The session tag %.128s is transitive from the "
				                   "caller's session and cannot be overridden.",
				                   t->key);
		if (add_session_tag(c, t->key, t->value, true) != 0)
			return gw_sts_fail(resp, rid, 400, "ValidationError",
			                   "More than %d session tags.", STORE_STS_TAGS_MAX);
	}
	const char *si = c->inherited.source_identity;
	if (si && c->source_identity && strcmp(si, c->source_identity) != 0)
		return gw_sts_fail(resp, rid, 400, "ValidationError",
		                   "The source identity was set by the caller's session and cannot "
		                   "be changed.");
	return 0;
}

/* ---- AssumeRole ---- */

static int deny_message(struct gw_sts_response *resp, const char *rid, const char *msg)
{
	return gw_sts_fail(resp, rid, 403, "AccessDenied", "%s", msg);
}

static int authorize_assume_role(const struct gw_sts_env *env, const struct gw_principal *caller,
                                 struct gw_sts_call *c, struct gw_request_decision *dec, size_t cap,
                                 size_t *n_dec, struct gw_sts_response *resp)
{
	const char *rid = env->request_id;
	c->role = gw_iam_role(c->iam, c->role_arn, strlen(c->role_arn));
	if (!c->role) {
		/* As AWS: an unknown role is denied like a forbidden one, so a caller
		 * cannot probe which roles exist. */
		struct gw_request_decision d;
		struct policy_request preq = {.action = str("sts:AssumeRole"),
		                              .resource = str(c->role_arn)};
		gw_authz_record(&d, &preq, NULL, "no role of this account has this ARN");
		record(dec, cap, n_dec, &d);
		return gw_sts_fail(resp, rid, 403, "AccessDenied",
		                   "User: %s is not authorized to perform: sts:AssumeRole on "
		                   "resource: %.1024s",
		                   caller->arn, c->role_arn);
	}
	bool chained = caller->kind == GW_PRINCIPAL_ROLE_SESSION;
	c->chain_depth = chained ? (int64_t)caller->chain_depth + 1 : 0;
	if (c->chain_depth > GW_STS_CHAIN_DEPTH_MAX)
		return gw_sts_fail(resp, rid, 400, "ValidationError",
		                   "Role chaining is limited to %d roles deep.",
		                   GW_STS_CHAIN_DEPTH_MAX);
	if (pick_duration(env, c, chained, rid, resp) != 0 ||
	    inherit(env, caller, c, rid, resp) != 0)
		return -1;
	for (size_t i = 0; i < c->n_tags; i++)
		if (add_session_tag(c, c->tags[i].key, c->tags[i].value, c->tags[i].transitive) !=
		    0)
			return gw_sts_fail(resp, rid, 400, "ValidationError",
			                   "More than %d session tags.", STORE_STS_TAGS_MAX);
	if (packed_size(c) > 100)
		return gw_sts_fail(resp, rid, 400, "PackedPolicyTooLarge",
		                   "The session policy and tags take %d%% of the allowed size.",
		                   packed_size(c));
	if (build_session_policy(c, rid, resp) != 0)
		return -1;

	struct req_ctx *x = malloc(sizeof(*x));
	if (!x)
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	build_ctx(c, x);
	const char *actions[3] = {"sts:AssumeRole", NULL, NULL};
	size_t na = 1;
	if (c->n_tags)
		actions[na++] = "sts:TagSession";
	if (c->source_identity)
		actions[na++] = "sts:SetSourceIdentity";
	struct policy_input trust = {.policy = c->role->trust};
	struct gw_authz_result *res = malloc(sizeof(*res));
	int rc = res ? 0 : gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	for (size_t i = 0; i < na && rc == 0; i++) {
		for (int side = 0; side < 2 && rc == 0; side++) {
			struct gw_authz_request ar = {
			    .action = actions[i],
			    .resource = c->role->arn,
			    .extra = x->e,
			    .n_extra = x->n,
			    .resource_policies = side ? &trust : NULL,
			    .n_resource_policies = side && c->role->trust ? 1 : 0,
			    .resource_policies_only = side == 1,
			    .now = env->now,
			    .region = env->region,
			};
			gw_authorize(caller, &ar, res);
			if (side == 1 && res->status == GW_AUTHZ_OK)
				snprintf(res->record.decided_by, sizeof(res->record.decided_by),
				         "trust");
			record(dec, cap, n_dec, &res->record);
			if (!res->allowed)
				rc = deny_message(resp, rid,
				                  res->message[0]
				                      ? res->message
				                      : "Not authorized to assume this role.");
		}
	}
	free(res);
	free(x);
	return rc;
}

/* ---- AssumeRoleWithWebIdentity ---- */

static int authorize_web(const struct gw_sts_env *env, struct gw_sts_call *c,
                         struct gw_request_decision *dec, size_t cap, size_t *n_dec,
                         struct gw_sts_response *resp)
{
	const char *rid = env->request_id;
	size_t n_iss = 0;
	const struct gw_jwt_issuer *issuers = gw_iam_jwt_issuers(c->iam, &n_iss);
	if (n_iss == 0)
		return gw_sts_fail(resp, rid, 400, "InvalidIdentityToken",
		                   "No OpenIDConnect provider is configured in this account.");
	struct gw_jwt_error je = {0};
	if (gw_jwt_verify(issuers, n_iss, c->web_token, c->web_token_n, env->now, &c->claims,
	                  &je) != GW_JWT_OK) {
		if (je.code == GW_JWT_ERR_NOMEM)
			return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
		if (je.code == GW_JWT_ERR_EXPIRED)
			return gw_sts_fail(resp, rid, 400, "ExpiredTokenException", "%s",
			                   je.message);
		return gw_sts_fail(resp, rid, 400, "InvalidIdentityToken", "%s", je.message);
	}
	c->has_claims = true;
	c->role = gw_iam_role(c->iam, c->role_arn, strlen(c->role_arn));

	char prefix[GW_IAM_ISSUER_URL_MAX + 1];
	if (gw_jwt_condition_prefix(c->claims.iss, prefix, sizeof(prefix)) != 0)
		return gw_sts_fail(resp, rid, 400, "InvalidIdentityToken",
		                   "The token's issuer cannot name a provider.");
	int pn = snprintf(c->provider_arn, sizeof(c->provider_arn),
	                  "arn:aws:iam::%s:oidc-provider/%s", gw_iam_account_id(c->iam), prefix);
	if (pn < 0 || (size_t)pn >= sizeof(c->provider_arn))
		return gw_sts_fail(resp, rid, 400, "InvalidIdentityToken",
		                   "The token's issuer is too long.");

	struct {
		struct policy_ctx_entry e[CLAIM_KEYS_MAX + 4];
		struct policy_str v[CLAIM_KEYS_MAX + 4];
		char names[CLAIM_KEYS_MAX][GW_IAM_ISSUER_URL_MAX + GW_IAM_CLAIM_NAME_MAX + 2];
	} *k = malloc(sizeof(*k));
	if (!k)
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	size_t n = 0, nc = 0;
	const char *claim;
	json_t *value;
	json_object_foreach(c->claims.all, claim, value)
	{
		if (nc >= CLAIM_KEYS_MAX)
			break;
		const char *sv = strcmp(claim, "aud") == 0 ? c->claims.audience
		                 : json_is_string(value)   ? json_string_value(value)
		                                           : NULL;
		if (!sv)
			continue;
		int kn = snprintf(k->names[nc], sizeof(k->names[nc]), "%s:%s", prefix, claim);
		if (kn < 0 || (size_t)kn >= sizeof(k->names[nc]))
			continue;
		k->v[n] = str(sv);
		k->e[n] = (struct policy_ctx_entry){{k->names[nc], (size_t)kn}, &k->v[n], 1};
		n++;
		nc++;
	}
	k->v[n] = str(c->session_name);
	k->e[n] = (struct policy_ctx_entry){str("sts:RoleSessionName"), &k->v[n], 1};
	n++;
	if (env->source_ip && env->source_ip[0]) {
		k->v[n] = str(env->source_ip);
		k->e[n] = (struct policy_ctx_entry){str("aws:SourceIp"), &k->v[n], 1};
		n++;
	}
	k->v[n] = str(env->secure_transport ? "true" : "false");
	k->e[n] = (struct policy_ctx_entry){str("aws:SecureTransport"), &k->v[n], 1};
	n++;
	struct policy_request preq = {
	    .principal = {.kind = POLICY_PRINCIPAL_FEDERATED,
	                  .arn = {c->provider_arn, (size_t)pn},
	                  .role_arn = {"", 0},
	                  .account = {"", 0}},
	    .action = str("sts:AssumeRoleWithWebIdentity"),
	    .resource = str(c->role ? c->role->arn : c->role_arn),
	    .context = k->e,
	    .ncontext = n,
	};
	struct gw_request_decision d;
	struct policy_result res;
	memset(&res, 0, sizeof(res));
	int rc = 0;
	if (!c->role || !c->role->trust) {
		gw_authz_record(&d, &preq, NULL, "no role of this account has this ARN");
		rc = -1;
	} else {
		struct policy_input in = {.policy = c->role->trust};
		int ev = policy_evaluate(&in, 1, &preq, &res);
		gw_authz_record(&d, &preq, &res, ev == POLICY_OK ? NULL : "evaluation failed");
		snprintf(d.decided_by, sizeof(d.decided_by), "trust");
		rc = ev == POLICY_OK && res.decision == POLICY_ALLOW ? 0 : -1;
	}
	record(dec, cap, n_dec, &d);
	free(k);
	if (rc != 0)
		return gw_sts_fail(resp, rid, 403, "AccessDenied",
		                   "Not authorized to perform sts:AssumeRoleWithWebIdentity");

	if (pick_duration(env, c, false, rid, resp) != 0)
		return -1;
	const struct gw_iam_oidc *oidc = gw_iam_oidc_for(c->iam, c->claims.issuer);
	for (size_t i = 0; oidc && i < oidc->n_tag_claims; i++) {
		json_t *tv = json_object_get(c->claims.all, oidc->tag_claims[i].key);
		if (json_is_string(tv) && add_session_tag(c, oidc->tag_claims[i].value,
		                                          json_string_value(tv), false) != 0)
			return gw_sts_fail(resp, rid, 400, "ValidationError",
			                   "More than %d session tags.", STORE_STS_TAGS_MAX);
	}
	return build_session_policy(c, rid, resp);
}

/* ---- the steps ---- */

int gw_sts_call_authorize(const struct gw_sts_env *env, const struct gw_principal *caller,
                          struct gw_sts_call *c, struct gw_request_decision *dec, size_t cap,
                          size_t *n_dec, struct gw_sts_response *resp)
{
	*n_dec = 0;
	memset(resp, 0, sizeof(*resp));
	resp->action = gw_sts_call_action(c);
	const char *rid = env->request_id;
	if (c->op != OP_ASSUME_ROLE_WEB && !caller)
		return gw_sts_fail(resp, rid, 403, "MissingAuthenticationToken",
		                   "Request is missing Authentication Token");
	if (!env->iam)
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "No IAM state is loaded.");
	gw_iam_unref(c->iam);
	c->iam = gw_iam_ref(env->iam);
	int rc;
	switch (c->op) {
	case OP_GET_CALLER_IDENTITY: {
		struct gw_request_decision d;
		memset(&d, 0, sizeof(d));
		snprintf(d.action, sizeof(d.action), "sts:GetCallerIdentity");
		snprintf(d.resource, sizeof(d.resource), "*");
		d.decision = GW_DECISION_ALLOW;
		d.statement_index = -1;
		snprintf(d.decided_by, sizeof(d.decided_by), "none");
		snprintf(d.reason, sizeof(d.reason),
		         "GetCallerIdentity needs no permission: valid credentials always get an "
		         "answer.");
		record(dec, cap, n_dec, &d);
		rc = 0;
		break;
	}
	case OP_ASSUME_ROLE:
		rc = authorize_assume_role(env, caller, c, dec, cap, n_dec, resp);
		break;
	case OP_ASSUME_ROLE_WEB:
		rc = authorize_web(env, c, dec, cap, n_dec, resp);
		break;
	default:
		rc = gw_sts_fail(resp, rid, 400, "InvalidAction", "Unknown action.");
	}
	c->authorized = rc == 0;
	return rc;
}

static void begin(struct gw_sts_xml *x, const char *op)
{
	gw_sts_xml_raw(x, "<");
	gw_sts_xml_raw(x, op);
	gw_sts_xml_raw(x, "Response xmlns=\"" GW_STS_NAMESPACE "\">\n  <");
	gw_sts_xml_raw(x, op);
	gw_sts_xml_raw(x, "Result>\n");
}

static void end(struct gw_sts_xml *x, const char *op, const char *rid)
{
	gw_sts_xml_raw(x, "  </");
	gw_sts_xml_raw(x, op);
	gw_sts_xml_raw(x, "Result>\n  <ResponseMetadata>\n    ");
	gw_sts_xml_elem(x, "RequestId", rid ? rid : "");
	gw_sts_xml_raw(x, "\n  </ResponseMetadata>\n</");
	gw_sts_xml_raw(x, op);
	gw_sts_xml_raw(x, "Response>\n");
}

static void line(struct gw_sts_xml *x, const char *indent, const char *name, const char *value)
{
	if (!value)
		return;
	gw_sts_xml_raw(x, indent);
	gw_sts_xml_elem(x, name, value);
	gw_sts_xml_raw(x, "\n");
}

static int issue(const struct gw_sts_env *env, const struct gw_principal *caller,
                 struct gw_sts_call *c, struct gw_sts_response *resp)
{
	const char *rid = env->request_id;
	const char *op = gw_sts_call_action(c);
	const char *source_identity = c->source_identity;
	if (!source_identity && c->has_inherited)
		source_identity = c->inherited.source_identity;
	struct gw_sts_env e = *env;
	e.iam = c->iam;
	struct gw_sts_mint m = {
	    .role = c->role,
	    .session_name = c->session_name,
	    .session_policy_json = c->session_policy,
	    .duration = c->final_duration,
	    .source_arn = caller ? caller->arn : c->provider_arn,
	    .source_identity = source_identity,
	    .chain_depth = c->chain_depth,
	    .tags = c->session_tags,
	    .n_tags = c->n_session_tags,
	};
	struct gw_sts_issued is;
	struct gw_sts_error se = {0};
	int rc = gw_sts_mint(&e, &m, &is, &se);
	if (rc != GW_STS_OK) {
		return gw_sts_fail(resp, rid, 500, "InternalFailure",
		                   rc == GW_STS_ERR_KEY
		                       ? "The gateway has no master key to seal credentials with."
		                       : "The credentials could not be issued.");
	}
	char packed[16];
	snprintf(packed, sizeof(packed), "%d", packed_size(c));
	bool has_packed = c->policy || c->n_policy_arns || c->n_tags;
	struct gw_sts_xml x = {0};
	begin(&x, op);
	if (c->op == OP_ASSUME_ROLE_WEB) {
		line(&x, "    ", "SubjectFromWebIdentityToken", c->claims.sub ? c->claims.sub : "");
		line(&x, "    ", "Audience", c->claims.audience);
	}
	gw_sts_xml_raw(&x, "    <AssumedRoleUser>\n");
	line(&x, "      ", "Arn", is.assumed_role_arn);
	line(&x, "      ", "AssumedRoleId", is.assumed_role_id);
	gw_sts_xml_raw(&x, "    </AssumedRoleUser>\n    <Credentials>\n");
	line(&x, "      ", "AccessKeyId", is.access_key_id);
	line(&x, "      ", "SecretAccessKey", (const char *)is.secret.p);
	line(&x, "      ", "SessionToken", (const char *)is.token.p);
	line(&x, "      ", "Expiration", is.expiration);
	gw_sts_xml_raw(&x, "    </Credentials>\n");
	if (has_packed)
		line(&x, "    ", "PackedPolicySize", packed);
	line(&x, "    ", "SourceIdentity", source_identity);
	if (c->op == OP_ASSUME_ROLE_WEB)
		line(&x, "    ", "Provider", c->claims.iss);
	end(&x, op, rid);
	snprintf(resp->issued_key_id, sizeof(resp->issued_key_id), "%s", is.access_key_id);
	gw_sts_issued_clear(&is);
	if (x.oom) {
		gw_sts_xml_free(&x);
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	}
	resp->http_status = 200;
	resp->error_code = NULL;
	gw_sts_take_xml(resp, &x);
	return 0;
}

int gw_sts_call_execute(const struct gw_sts_env *env, const struct gw_principal *caller,
                        struct gw_sts_call *c, struct gw_sts_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->action = gw_sts_call_action(c);
	const char *rid = env->request_id;
	if (!c->authorized)
		return gw_sts_fail(resp, rid, 500, "InternalFailure",
		                   "The call was not authorized before it ran.");
	if (c->op != OP_GET_CALLER_IDENTITY)
		return issue(env, caller, c, resp);
	struct gw_sts_xml x = {0};
	begin(&x, "GetCallerIdentity");
	line(&x, "    ", "Arn", caller->arn);
	line(&x, "    ", "UserId", caller->user_id);
	line(&x, "    ", "Account", caller->account);
	end(&x, "GetCallerIdentity", rid);
	if (x.oom) {
		gw_sts_xml_free(&x);
		return gw_sts_fail(resp, rid, 500, "InternalFailure", "Out of memory.");
	}
	resp->http_status = 200;
	gw_sts_take_xml(resp, &x);
	return 0;
}

int gw_sts_handle(const struct gw_sts_env *env, const struct gw_principal *caller,
                  const char *params, size_t params_n, struct gw_sts_response *out)
{
	struct gw_sts_call *c = NULL;
	if (gw_sts_call_decode(params, params_n, env->request_id, &c, out) != 0)
		return out->body ? 0 : -1;
	struct gw_request_decision *dec = malloc(GW_STS_DECISIONS_MAX * sizeof(*dec));
	size_t n = 0;
	int rc = dec ? gw_sts_call_authorize(env, caller, c, dec, GW_STS_DECISIONS_MAX, &n, out)
	             : gw_sts_fail(out, env->request_id, 500, "InternalFailure", "Out of memory.");
	free(dec);
	if (rc == 0)
		rc = gw_sts_call_execute(env, caller, c, out);
	gw_sts_call_free(c);
	return out->body ? 0 : -1;
}
