/*
 * authn.c - the authenticate step: from what a request carries to one
 * principal, or to a refusal in the caller's protocol.
 *
 * The order of the checks is a security decision. A client certificate is
 * checked first because a presented certificate that does not verify is an
 * attack or a broken host either way, and the request should not go on under
 * another identity. A signature or bearer token then outranks the
 * certificate: the certificate proves which machine is calling, the signature
 * which identity the caller chose, and a host may well run a tool signing
 * with a user's keys. Only a request with no credential of its own falls back
 * to the certificate's host role.
 *
 * SigV4 needs the request exactly as it was sent: the raw URI (kept by the
 * server's URI log callback before libmicrohttpd unescapes it), every header
 * field in order, the body. Verification is two calls around the key lookup
 * (sigv4.h): parse says which access key id signs, we find its secret, verify
 * decides. A user's secret is unsealed with the master key for this one check
 * and wiped at once; a temporary key's secret comes from the STS session store
 * (sts.h), which also checks the session token, expiry and revocation.
 *
 * What the caller learns from a refusal is AWS's error code and AWS's wording
 * (gw_sigv4_wire_error). What the log learns is the rule that refused it and
 * the access key id: never a secret, a token, a signature nor a JWT.
 */
#include "gateway/authn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>

#include "gateway/iam.h"
#include "gateway/jwt_auth.h"
#include "gateway/keybox.h"
#include "gateway/principal.h"
#include "gateway/request.h"
#include "gateway/secret.h"
#include "gateway/server.h"
#include "gateway/sigv4.h"
#include "gateway/sts.h"
#include "policy/policy.h"

#define XML_CONTENT_TYPE "text/xml"

/* ---- protocol and errors ---- */

enum gw_protocol gw_authn_protocol(const struct gw_request *r)
{
	const char *v;
	size_t n;
	if (r->conn && gw_request_header(r, "X-Amz-Target", &v, &n))
		return GW_PROTO_JSON;
	/* STS lives at "/" (the query protocol's only path). */
	if (r->path_n == 1 && r->path[0] == '/')
		return GW_PROTO_QUERY;
	return GW_PROTO_REST;
}

const char *gw_authn_service(enum gw_protocol proto)
{
	return proto == GW_PROTO_QUERY ? "sts" : "ecs";
}

int gw_authn_fail(struct gw_request *r, unsigned status, const char *code, const char *message)
{
	if (r->protocol != GW_PROTO_QUERY)
		return gw_request_fail(r, status, code, message);
	/* AWS's query protocol error document, as botocore's parser reads it:
	 * the one STS writes for its own errors. */
	r->status = status;
	r->error_code = code;
	free(r->resp_body);
	/* NULL when out of memory: the status alone */
	r->resp_body = gw_sts_error_xml((int)status, code, message, r->id, &r->resp_len);
	r->content_type = XML_CONTENT_TYPE;
	return GW_STEP_STOP;
}

/* The one log line of a refusal: the rule and the key id, nothing secret. */
static void log_refusal(const struct gw_request *r, const char *how, const char *reason,
                        const char *key_id, const char *message)
{
	struct gw_log_line l;
	gw_log_begin(&l, r->srv->log, GW_LOG_INFO, "authentication refused");
	gw_log_str(&l, "request_id", r->id);
	gw_log_str(&l, "method", how);
	gw_log_str(&l, "reason", reason);
	if (key_id && key_id[0])
		gw_log_str(&l, "access_key_id", key_id);
	gw_log_str(&l, "message", message);
	gw_log_end(&l);
}

/* A SigV4 refusal in the caller's protocol. */
static int fail_sigv4(struct gw_request *r, const struct gw_sigv4_error *e, const char *key_id)
{
	enum gw_sigv4_protocol wp =
	    r->protocol == GW_PROTO_QUERY ? GW_SIGV4_PROTO_QUERY : GW_SIGV4_PROTO_JSON;
	struct gw_sigv4_wire w = gw_sigv4_wire_error(e->code, wp);
	log_refusal(r, "sigv4", gw_sigv4_reason_name(e->reason), key_id, e->message);
	return gw_authn_fail(r, w.http_status, w.code, e->message);
}

/* An access-denied style refusal (certificates, bearer tokens). */
static int fail_denied(struct gw_request *r, const char *how, const char *reason,
                       const char *message)
{
	log_refusal(r, how, reason, NULL, message);
	const char *code = r->protocol == GW_PROTO_QUERY  ? "AccessDenied"
	                   : r->protocol == GW_PROTO_JSON ? "AccessDeniedException"
	                                                  : "AccessDenied";
	return gw_authn_fail(r, MHD_HTTP_FORBIDDEN, code, message);
}

static int fail_internal(struct gw_request *r, const char *what)
{
	gw_log_msg(r->srv->log, GW_LOG_ERROR, "authentication failed", what);
	const char *code = r->protocol == GW_PROTO_JSON ? "ServerException" : "InternalFailure";
	return gw_authn_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, code,
	                     "The gateway could not authenticate this request.");
}

/* ---- SigV4 ---- */

#define MAX_FIELDS (GW_SIGV4_MAX_HEADERS + 1)

struct header_list {
	struct gw_sigv4_header h[MAX_FIELDS];
	size_t n;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_n, const char *value, size_t value_n)
{
	struct header_list *l = cls;
	(void)kind;
	/* One over the limit is kept so that parse refuses the request. */
	if (l->n >= MAX_FIELDS)
		return MHD_NO;
	l->h[l->n].name = key;
	l->h[l->n].name_n = key_n;
	l->h[l->n].value = value ? value : "";
	l->h[l->n].value_n = value ? value_n : 0;
	l->n++;
	return MHD_YES;
}

/* The request as SigV4 sees it; headers are borrowed from the connection. */
static void sigv4_request(const struct gw_request *r, struct header_list *hl,
                          struct gw_sigv4_request *req)
{
	memset(req, 0, sizeof(*req));
	hl->n = 0;
	(void)MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, collect_header, hl);
	req->method = r->method;
	req->method_n = strlen(r->method);
	const char *uri = r->raw_uri ? r->raw_uri : r->path;
	size_t uri_n = r->raw_uri ? r->raw_uri_n : r->path_n;
	const char *hash = memchr(uri, '#', uri_n);
	if (hash)
		uri_n = (size_t)(hash - uri);
	const char *q = memchr(uri, '?', uri_n);
	req->path = uri;
	req->path_n = q ? (size_t)(q - uri) : uri_n;
	if (q) {
		req->query = q + 1;
		req->query_n = uri_n - req->path_n - 1;
	}
	req->headers = hl->h;
	req->n_headers = hl->n;
	req->body = r->body;
	req->body_n = r->body_len;
}

/* Does the query string carry a presigned signature? */
static bool presigned(const struct gw_sigv4_request *req)
{
	static const char name[] = "X-Amz-Credential=";
	const char *p = req->query;
	size_t n = req->query_n;
	while (p && n > 0) {
		const char *amp = memchr(p, '&', n);
		size_t len = amp ? (size_t)(amp - p) : n;
		if (len >= sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0)
			return true;
		if (!amp)
			break;
		n -= len + 1;
		p = amp + 1;
	}
	return false;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

void gw_authn_sts_env(const struct gw_request *r, struct gw_iam *iam, struct gw_sts_env *env)
{
	memset(env, 0, sizeof(*env));
	env->store = r->srv->store;
	env->box = r->srv->keybox;
	env->iam = iam;
	env->now = now_s();
	env->region = r->srv->cfg->region;
	env->request_id = r->id;
	env->source_ip = r->remote_addr;
	env->secure_transport = true;
	env->default_duration_s = r->srv->cfg->sts.default_duration_s;
	env->max_duration_s = r->srv->cfg->sts.max_duration_s;
}

static int sts_to_sigv4(int sts_status)
{
	switch (sts_status) {
	case GW_STS_ERR_EXPIRED:
		return GW_SIGV4_ERR_EXPIRED_KEY;
	case GW_STS_ERR_UNKNOWN_KEY:
	case GW_STS_ERR_BAD_TOKEN:
	case GW_STS_ERR_REVOKED:
	case GW_STS_ERR_ROLE_GONE:
		return GW_SIGV4_ERR_INVALID_KEY;
	default:
		return 0;
	}
}

static int authn_sigv4(struct gw_request *r, struct gw_iam *iam, struct header_list *hl,
                       const struct gw_sigv4_request *req)
{
	struct gw_sigv4_auth auth;
	struct gw_sigv4_error e = {0};
	if (gw_sigv4_parse(req, &auth, &e) != GW_SIGV4_OK) {
		gw_sigv4_auth_clear(&auth);
		return fail_sigv4(r, &e, NULL);
	}
	(void)hl;
	struct gw_secret secret = {0};
	struct gw_principal *p = NULL;
	struct gw_sigv4_credential cred = {0};
	int rc = GW_STEP_OK;
	size_t id_n = strlen(auth.access_key_id);

	if (id_n > 4 && memcmp(auth.access_key_id, "ASIA", 4) == 0) {
		struct gw_sts_env env;
		gw_authn_sts_env(r, iam, &env);
		struct gw_sts_error se = {0};
		int st = gw_sts_credentials(&env, auth.access_key_id, id_n,
		                            auth.has_token ? auth.token : NULL,
		                            auth.has_token ? auth.token_n : 0, &p, &secret, &se);
		if (st != GW_STS_OK) {
			int code = sts_to_sigv4(st);
			if (!code) {
				gw_sigv4_auth_clear(&auth);
				return fail_internal(r, se.message);
			}
			e.code = code;
			e.reason = st == GW_STS_ERR_EXPIRED     ? GW_SIGV4_R_EXPIRED
			           : st == GW_STS_ERR_REVOKED   ? GW_SIGV4_R_REVOKED
			           : st == GW_STS_ERR_BAD_TOKEN ? GW_SIGV4_R_TOKEN_MISMATCH
			                                        : GW_SIGV4_R_UNKNOWN_KEY;
			/* AWS's wording for each; se.message stays in our log. */
			const char *msg =
			    st == GW_STS_ERR_EXPIRED
			        ? "The security token included in the request is expired"
			        : "The security token included in the request is invalid.";
			size_t mn = strlen(msg);
			memcpy(e.message, msg, mn + 1);
			rc = fail_sigv4(r, &e, auth.access_key_id);
			gw_sigv4_auth_clear(&auth);
			return rc;
		}
		cred.kind = GW_SIGV4_KEY_TEMPORARY;
		/* gw_sts_credentials compared the token with the stored hash; verify
		 * still insists that it was signed. */
		cred.session_token = (const unsigned char *)auth.token;
		cred.session_token_n = auth.token_n;
		cred.expires_at = p->expires_at;
	} else {
		const struct gw_iam_access_key *key =
		    gw_iam_access_key(iam, auth.access_key_id, id_n);
		if (!key) {
			gw_sigv4_fail_unknown_key(&e);
			rc = fail_sigv4(r, &e, auth.access_key_id);
			gw_sigv4_auth_clear(&auth);
			return rc;
		}
		if (!r->srv->keybox) {
			gw_sigv4_auth_clear(&auth);
			return fail_internal(r,
			                     "an access key signed this request but no master_key "
			                     "is configured to open its secret");
		}
		struct gw_iam_error ie = {0};
		if (gw_iam_access_key_secret(key, r->srv->keybox, &secret, &ie) != GW_IAM_OK) {
			gw_sigv4_auth_clear(&auth);
			return fail_internal(r, ie.message);
		}
		if (gw_principal_new_user(iam, key->user, auth.access_key_id, &p) != 0) {
			gw_secret_free(&secret);
			gw_sigv4_auth_clear(&auth);
			return fail_internal(r, "out of memory for the principal");
		}
		cred.kind = GW_SIGV4_KEY_LONG_TERM;
		cred.revoked = !key->active;
	}
	cred.secret = secret.p;
	cred.secret_n = secret.n;
	struct gw_sigv4_expect ex = {
	    .region = r->srv->cfg->region,
	    .service = gw_authn_service(r->protocol),
	    .allow_unsigned_payload = false,
	    .now = now_s(),
	};
	int v = gw_sigv4_verify(&auth, req, &cred, &ex, &e);
	gw_secret_free(&secret);
	if (v != GW_SIGV4_OK) {
		gw_principal_free(p);
		rc = fail_sigv4(r, &e, auth.access_key_id);
		gw_sigv4_auth_clear(&auth);
		return rc;
	}
	p->transport =
	    auth.mode == GW_SIGV4_MODE_QUERY ? GW_TRANSPORT_SIGV4_PRESIGNED : GW_TRANSPORT_SIGV4;
	gw_sigv4_auth_clear(&auth);
	r->principal = p;
	return GW_STEP_OK;
}

/* ---- Bearer JWT ---- */

/* A session name from a claim: the characters AWS allows in role session
 * names ([\w+=,.@-]), others replaced by '-', 2..64 characters. */
static void session_name(const char *in, char out[GW_STS_SESSION_NAME_MAX + 1])
{
	size_t n = 0;
	for (; in && in[n] && n < GW_STS_SESSION_NAME_MAX; n++) {
		char c = in[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr("_+=,.@-", c) != NULL;
		out[n] = ok ? c : '-';
	}
	while (n < GW_STS_SESSION_NAME_MIN)
		out[n++] = '-';
	out[n] = '\0';
}

/*
 * Whether role's trust policy allows sts:AssumeRoleWithWebIdentity for the
 * token's issuer (Federated arn:aws:iam::<account>:oidc-provider/<prefix>),
 * with <prefix>:sub, <prefix>:aud and every other string claim as condition
 * keys.
 */
static bool trust_allows(const struct gw_iam *iam, const struct gw_iam_entity *role,
                         const struct gw_jwt_claims *c, char *why, size_t why_n)
{
	char prefix[GW_IAM_ISSUER_URL_MAX + 1];
	char provider[GW_IAM_ISSUER_URL_MAX + 64];
	if (!role->trust || gw_jwt_condition_prefix(c->iss, prefix, sizeof(prefix)) != 0)
		return false;
	int pn = snprintf(provider, sizeof(provider), "arn:aws:iam::%s:oidc-provider/%s",
	                  gw_iam_account_id(iam), prefix);
	if (pn < 0 || (size_t)pn >= sizeof(provider))
		return false;

	enum { MAX_KEYS = 64 };
	struct policy_ctx_entry ctx[MAX_KEYS];
	struct policy_str vals[MAX_KEYS];
	char names[MAX_KEYS][GW_IAM_ISSUER_URL_MAX + GW_IAM_CLAIM_NAME_MAX + 2];
	size_t n = 0;
	const char *claim;
	json_t *value;
	json_object_foreach(c->all, claim, value)
	{
		if (n >= MAX_KEYS)
			break;
		const char *sv = NULL;
		/* aud may be a list: the audience that matched is the one AWS uses. */
		if (strcmp(claim, "aud") == 0)
			sv = c->audience;
		else if (json_is_string(value))
			sv = json_string_value(value);
		if (!sv)
			continue;
		int k = snprintf(names[n], sizeof(names[n]), "%s:%s", prefix, claim);
		if (k < 0 || (size_t)k >= sizeof(names[n]))
			continue;
		vals[n] = (struct policy_str){sv, strlen(sv)};
		ctx[n] = (struct policy_ctx_entry){{names[n], (size_t)k}, &vals[n], 1};
		n++;
	}
	struct policy_request req = {
	    .principal = {.kind = POLICY_PRINCIPAL_FEDERATED,
	                  .arn = {provider, (size_t)pn},
	                  .role_arn = {"", 0},
	                  .account = {"", 0}},
	    .action = {"sts:AssumeRoleWithWebIdentity", strlen("sts:AssumeRoleWithWebIdentity")},
	    .resource = {role->arn, strlen(role->arn)},
	    .context = ctx,
	    .ncontext = n,
	};
	struct policy_input in = {.policy = role->trust, .level = 0};
	struct policy_result res;
	if (policy_evaluate(&in, 1, &req, &res) != 0 || res.decision != POLICY_ALLOW) {
		int k =
		    snprintf(why, why_n,
		             "Not authorized to perform sts:AssumeRoleWithWebIdentity: the trust "
		             "policy of role %s does not allow this token",
		             role->name);
		if (k < 0 || (size_t)k >= why_n)
			why[0] = '\0';
		return false;
	}
	return true;
}

static int authn_bearer(struct gw_request *r, struct gw_iam *iam, const char *token, size_t token_n)
{
	size_t n_iss = 0;
	const struct gw_jwt_issuer *issuers = gw_iam_jwt_issuers(iam, &n_iss);
	struct gw_jwt_claims c;
	memset(&c, 0, sizeof(c));
	struct gw_jwt_error je = {0};
	if (n_iss == 0)
		return fail_denied(
		    r, "bearer", "no_issuers",
		    "No token issuer is configured: bearer tokens are not accepted.");
	if (gw_jwt_verify(issuers, n_iss, token, token_n, now_s(), &c, &je) != GW_JWT_OK) {
		if (je.code == GW_JWT_ERR_NOMEM)
			return fail_internal(r, je.message);
		const char *code = r->protocol == GW_PROTO_QUERY   ? "InvalidIdentityToken"
		                   : je.code == GW_JWT_ERR_EXPIRED ? "ExpiredTokenException"
		                                                   : "UnrecognizedClientException";
		log_refusal(r, "bearer", gw_jwt_status_name(je.code), NULL, je.message);
		return gw_authn_fail(r, MHD_HTTP_FORBIDDEN, code, je.message);
	}
	const struct gw_iam_oidc *oidc = gw_iam_oidc_for(iam, c.issuer);
	char why[256];
	int rc;
	if (!oidc || !oidc->role_claim) {
		gw_jwt_claims_free(&c);
		return fail_denied(
		    r, "bearer", "no_role_claim",
		    "This token's issuer names no role claim: exchange the token with "
		    "sts:AssumeRoleWithWebIdentity instead.");
	}
	json_t *rv = json_object_get(c.all, oidc->role_claim);
	const char *role_name = json_is_string(rv) ? json_string_value(rv) : NULL;
	const struct gw_iam_entity *role =
	    role_name ? gw_iam_role(iam, role_name, strlen(role_name)) : NULL;
	if (!role) {
		gw_jwt_claims_free(&c);
		int k = snprintf(why, sizeof(why),
		                 "The token's %.64s claim names no role of this account.",
		                 oidc->role_claim);
		if (k < 0)
			why[0] = '\0';
		return fail_denied(r, "bearer", "no_role", why);
	}
	if (!trust_allows(iam, role, &c, why, sizeof(why))) {
		gw_jwt_claims_free(&c);
		return fail_denied(r, "bearer", "trust_policy", why);
	}
	char sname[GW_STS_SESSION_NAME_MAX + 1];
	session_name(c.sub, sname);
	struct gw_principal *p = NULL;
	if (gw_principal_new_role_session(iam, role, sname, &p) != 0) {
		gw_jwt_claims_free(&c);
		return fail_internal(r, "out of memory for the principal");
	}
	rc = GW_STEP_OK;
	for (size_t i = 0; i < oidc->n_tag_claims; i++) {
		json_t *tv = json_object_get(c.all, oidc->tag_claims[i].key);
		if (json_is_string(tv) &&
		    gw_principal_set_tag(p, oidc->tag_claims[i].value, json_string_value(tv)) != 0)
			rc = GW_STEP_STOP;
	}
	p->transport = GW_TRANSPORT_JWT;
	p->token_issued_at = c.has_iat ? c.iat : now_s();
	p->expires_at = c.exp;
	gw_jwt_claims_free(&c);
	if (rc != GW_STEP_OK) {
		gw_principal_free(p);
		return fail_internal(r, "out of memory for the principal's tags");
	}
	r->principal = p;
	return GW_STEP_OK;
}

/* ---- client certificates ---- */

enum cert_state { CERT_NONE, CERT_VALID, CERT_INVALID };

struct peer {
	char dn[GW_IAM_SUBJECT_MAX + 1];
	size_t dn_n;
	char cn[GW_IAM_SUBJECT_MAX + 1];
	size_t cn_n;
};

static enum cert_state client_cert(const struct gw_request *r, struct peer *out)
{
	memset(out, 0, sizeof(*out));
	if (!r->srv->mtls || !r->conn)
		return CERT_NONE;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return CERT_NONE;
	gnutls_session_t s = (gnutls_session_t)ci->tls_session;
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	if (!chain || n == 0)
		return CERT_NONE;
	unsigned status = 0;
	if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0)
		return CERT_INVALID;
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
		return CERT_INVALID;
	enum cert_state st = CERT_INVALID;
	gnutls_datum_t dn = {NULL, 0};
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) == GNUTLS_E_SUCCESS &&
	    dn.size <= GW_IAM_SUBJECT_MAX) {
		memcpy(out->dn, dn.data, dn.size);
		out->dn[dn.size] = '\0';
		out->dn_n = strlen(out->dn);
		size_t cn_n = sizeof(out->cn);
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out->cn,
		                                  &cn_n) == GNUTLS_E_SUCCESS)
			out->cn_n = strlen(out->cn);
		else
			out->cn[0] = '\0';
		st = CERT_VALID;
	}
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	return st;
}

static int authn_host(struct gw_request *r, struct gw_iam *iam, const struct peer *peer)
{
	const struct gw_iam_entity *role =
	    gw_iam_host_role(iam, peer->dn, peer->dn_n, peer->cn_n ? peer->cn : NULL, peer->cn_n);
	if (!role)
		return fail_denied(r, "mtls", "no_host_mapping",
		                   "The client certificate is valid but maps to no host role.");
	char sname[GW_STS_SESSION_NAME_MAX + 1];
	session_name(peer->cn_n ? peer->cn : "host", sname);
	struct gw_principal *p = NULL;
	if (gw_principal_new_role_session(iam, role, sname, &p) != 0)
		return fail_internal(r, "out of memory for the principal");
	p->transport = GW_TRANSPORT_MTLS;
	p->token_issued_at = now_s();
	r->principal = p;
	return GW_STEP_OK;
}

/* ---- the step ---- */

static int authenticate(struct gw_request *r, struct gw_iam *iam)
{
	struct peer peer;
	enum cert_state cs = client_cert(r, &peer);
	if (cs == CERT_INVALID)
		return fail_denied(r, "mtls", "certificate",
		                   "The client certificate was not issued by a trusted CA or is "
		                   "not valid now.");
	const char *auth = NULL;
	size_t auth_n = 0;
	bool has_auth = gw_request_header(r, MHD_HTTP_HEADER_AUTHORIZATION, &auth, &auth_n);
	const char *token;
	size_t token_n;
	if (has_auth && gw_jwt_bearer_token(auth, auth_n, &token, &token_n) == GW_JWT_OK)
		return authn_bearer(r, iam, token, token_n);

	struct header_list *hl = malloc(sizeof(*hl));
	if (!hl)
		return fail_internal(r, "out of memory for the header list");
	struct gw_sigv4_request req;
	sigv4_request(r, hl, &req);
	int rc = GW_STEP_OK;
	if (has_auth || presigned(&req))
		rc = authn_sigv4(r, iam, hl, &req);
	else if (cs == CERT_VALID)
		rc = authn_host(r, iam, &peer);
	free(hl);
	return rc;
}

int gw_authn_authenticate(struct gw_request *r)
{
	r->protocol = gw_authn_protocol(r);
	r->principal = NULL;
	if (!r->conn)
		return GW_STEP_OK;
	struct gw_iam *iam = gw_iam_live_get(&r->srv->iam);
	if (!iam)
		return fail_internal(r, "no IAM state is loaded");
	int rc = authenticate(r, iam);
	gw_iam_unref(iam); /* the principal holds its own reference */
	if (rc == GW_STEP_OK && r->principal) {
		r->principal->secure_transport = true;
		size_t n = strnlen(r->remote_addr, sizeof(r->principal->source_ip) - 1);
		memcpy(r->principal->source_ip, r->remote_addr, n);
		r->principal->source_ip[n] = '\0';
	}
	return rc;
}
