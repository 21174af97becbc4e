/*
 * sts_issue.c - temporary credentials: minting them, and turning them back
 * into a principal when a later request is signed with them.
 *
 * A set of credentials is three values: an ASIA access key id (public, the
 * row's key), a 40-character secret access key and a session token. Neither
 * secret is stored as it was handed out: the secret access key is sealed
 * with the key box (AES-256-GCM under the master key, the key id as
 * additional data, so a sealed secret cannot be moved to another row), and
 * of the token only its SHA-256 is kept. A stolen store file therefore signs
 * nothing. The secret has to be recoverable (SigV4 needs it to recompute the
 * signature); the token only has to be recognised.
 *
 * On every request signed with an ASIA key, gw_sts_credentials checks, in
 * this order, that the key exists, that the token presented is the one
 * issued with it (constant time over the hashes), that the session is not
 * revoked and not expired, and that its role still exists; only then is the
 * secret unsealed for the signature check. The token is checked before the
 * expiry so that someone holding only a key id learns nothing about the
 * session's state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gateway/sts.h"
#include "gateway/sts_int.h"

__attribute__((format(printf, 3, 4))) static int fail(struct gw_sts_error *err, int code,
                                                      const char *f, ...)
{
	if (err) {
		err->code = code;
		va_list ap;
		va_start(ap, f);
		int n = vsnprintf(err->message, sizeof(err->message), f, ap);
		va_end(ap);
		if (n < 0)
			err->message[0] = '\0';
	}
	return code;
}

const char *gw_sts_status_code(int status)
{
	switch (status) {
	case GW_STS_OK:
		return NULL;
	case GW_STS_ERR_EXPIRED:
		return "ExpiredToken";
	case GW_STS_ERR_UNKNOWN_KEY:
	case GW_STS_ERR_BAD_TOKEN:
	case GW_STS_ERR_REVOKED:
	case GW_STS_ERR_ROLE_GONE:
		return "InvalidClientTokenId";
	case GW_STS_ERR_DENIED:
		return "AccessDenied";
	case GW_STS_ERR_ARG:
		return "ValidationError";
	default:
		return "InternalFailure";
	}
}

void gw_sts_iso8601(int64_t t, char out[GW_STS_TIME_LEN])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || snprintf(out, GW_STS_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	                                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                                    tm.tm_hour, tm.tm_min, tm.tm_sec) >= GW_STS_TIME_LEN)
		out[0] = '\0';
}

int gw_sts_token_hash(const void *token, size_t n, unsigned char out[32])
{
	unsigned int len = 0;
	if (EVP_Digest(token, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	return 0;
}

void gw_sts_issued_clear(struct gw_sts_issued *c)
{
	if (!c)
		return;
	gw_secret_free(&c->secret);
	gw_secret_free(&c->token);
	OPENSSL_cleanse(c, sizeof(*c));
}

bool gw_sts_session_name_ok(const char *s, size_t n)
{
	if (!s || n < GW_STS_SESSION_NAME_MIN || n > GW_STS_SESSION_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || (c != '\0' && strchr("_+=,.@-", c) != NULL);
		if (!ok)
			return false;
	}
	return true;
}

/* The session token: 256 random bits in standard base64. */
static int new_token(struct gw_secret *out)
{
	unsigned char raw[GW_STS_TOKEN_BYTES];
	if (gw_random_bytes(raw, sizeof(raw)) != GW_SECRET_OK)
		return -1;
	size_t n = gw_base64_encoded_len(sizeof(raw), GW_B64_STD);
	int rc = -1;
	if (gw_secret_alloc(out, n + 1) == GW_SECRET_OK) {
		if (gw_base64_encode(raw, sizeof(raw), GW_B64_STD, (char *)out->p, n + 1) ==
		    GW_SECRET_OK) {
			out->n = n;
			rc = 0;
		} else {
			gw_secret_free(out);
		}
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		return -1;
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int gw_sts_mint(const struct gw_sts_env *env, const struct gw_sts_mint *m,
                struct gw_sts_issued *out, struct gw_sts_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!env || !env->store || !env->iam || !m || !m->role || !m->session_name ||
	    !m->source_arn || m->duration <= 0)
		return fail(err, GW_STS_ERR_ARG,
		            "issuing credentials needs a role, a session "
		            "name, a source and a duration");
	if (!env->box)
		return fail(err, GW_STS_ERR_KEY,
		            "no master_key is configured: temporary credentials cannot be sealed");
	const char *account = gw_iam_account_id(env->iam);
	int k1 =
	    snprintf(out->assumed_role_arn, sizeof(out->assumed_role_arn),
	             "arn:aws:sts::%s:assumed-role/%s/%s", account, m->role->name, m->session_name);
	int k2 = snprintf(out->assumed_role_id, sizeof(out->assumed_role_id), "%s:%s",
	                  m->role->unique_id, m->session_name);
	if (k1 < 0 || (size_t)k1 >= sizeof(out->assumed_role_arn) || k2 < 0 ||
	    (size_t)k2 >= sizeof(out->assumed_role_id) ||
	    copy_field(out->role_arn, sizeof(out->role_arn), m->role->arn) != 0)
		return fail(err, GW_STS_ERR_ARG, "the role's ARN or session name is too long");

	if (gw_random_access_key_id("ASIA", out->access_key_id, sizeof(out->access_key_id)) !=
	        GW_SECRET_OK ||
	    gw_random_secret_access_key(&out->secret) != GW_SECRET_OK ||
	    new_token(&out->token) != 0) {
		gw_sts_issued_clear(out);
		return fail(err, GW_STS_ERR_NOMEM,
		            "out of memory or randomness for new credentials");
	}
	out->issued_at = env->now;
	out->expires_at = env->now + m->duration;
	gw_sts_iso8601(out->expires_at, out->expiration);

	struct store_sts_session s;
	memset(&s, 0, sizeof(s));
	struct gw_keybox_error ke = {0};
	if (gw_keybox_seal(env->box, out->secret.p, out->secret.n, out->access_key_id,
	                   strlen(out->access_key_id), &s.sealed_secret, &s.sealed_n,
	                   &ke) != GW_KEYBOX_OK) {
		gw_sts_issued_clear(out);
		return fail(err, GW_STS_ERR_KEY, "sealing the secret failed: %s", ke.message);
	}
	if (gw_sts_token_hash(out->token.p, out->token.n, s.token_sha256) != 0) {
		free(s.sealed_secret);
		gw_sts_issued_clear(out);
		return fail(err, GW_STS_ERR_NOMEM, "hashing the session token failed");
	}
	s.access_key_id = out->access_key_id;
	s.role_arn = (char *)m->role->arn;
	s.session_name = (char *)m->session_name;
	s.source_arn = (char *)m->source_arn;
	s.session_policy = (char *)m->session_policy_json;
	s.source_identity = (char *)m->source_identity;
	s.owner_task = (char *)m->owner_task;
	s.chain_depth = m->chain_depth;
	s.issued_at = out->issued_at;
	s.expires_at = out->expires_at;
	s.tags = (struct store_sts_tag *)m->tags;
	s.n_tags = m->n_tags;
	struct store_error se = {0};
	int rc = store_sts_insert(env->store, &s, &se);
	free(s.sealed_secret);
	if (rc != STORE_OK) {
		gw_sts_issued_clear(out);
		return fail(err, GW_STS_ERR_STORE, "storing the session failed: %s", se.message);
	}
	return GW_STS_OK;
}

/* ---- credentials presented on a request ---- */

/* The session policy as stored, compiled again for this request. */
static int compile_session_policy(const char *json, struct policy **out)
{
	struct policy_options o = {.type = POLICY_SESSION, .id = "session"};
	return policy_compile(json, strlen(json), &o, out, NULL) == POLICY_OK ? 0 : -1;
}

static int principal_of(const struct gw_sts_env *env, const struct store_sts_session *s,
                        const struct gw_iam_entity *role, struct gw_principal **out,
                        struct gw_sts_error *err)
{
	struct gw_principal *p = NULL;
	if (gw_principal_new_role_session(env->iam, role, s->session_name, &p) != 0)
		return fail(err, GW_STS_ERR_NOMEM, "out of memory for the principal");
	for (size_t i = 0; i < s->n_tags; i++) {
		if (gw_principal_set_tag(p, s->tags[i].key, s->tags[i].value) != 0) {
			gw_principal_free(p);
			return fail(err, GW_STS_ERR_NOMEM, "out of memory for the session tags");
		}
	}
	if (s->session_policy &&
	    compile_session_policy(s->session_policy, &p->session_policy) != 0) {
		gw_principal_free(p);
		return fail(err, GW_STS_ERR_STATE,
		            "the session policy of %s no longer compiles: the session is refused",
		            s->access_key_id);
	}
	p->access_key_id = strdup(s->access_key_id);
	if (!p->access_key_id) {
		gw_principal_free(p);
		return fail(err, GW_STS_ERR_NOMEM, "out of memory for the principal");
	}
	p->transport = GW_TRANSPORT_SIGV4;
	p->token_issued_at = s->issued_at;
	p->expires_at = s->expires_at;
	p->chain_depth = (unsigned)s->chain_depth;
	p->secure_transport = env->secure_transport;
	if (env->source_ip)
		snprintf(p->source_ip, sizeof(p->source_ip), "%s", env->source_ip);
	*out = p;
	return GW_STS_OK;
}

int gw_sts_credentials(const struct gw_sts_env *env, const char *key_id, size_t key_n,
                       const char *token, size_t token_n, struct gw_principal **principal,
                       struct gw_secret *secret, struct gw_sts_error *err)
{
	if (principal)
		*principal = NULL;
	if (secret)
		memset(secret, 0, sizeof(*secret));
	char id[GW_ACCESS_KEY_ID_LEN + 1];
	if (!env || !env->store || !env->iam || !key_id || key_n != GW_ACCESS_KEY_ID_LEN ||
	    memcmp(key_id, "ASIA", 4) != 0 || memchr(key_id, '\0', key_n))
		return fail(err, GW_STS_ERR_UNKNOWN_KEY,
		            "no temporary credentials have this key id");
	memcpy(id, key_id, key_n);
	id[key_n] = '\0';

	struct store_sts_session s;
	struct store_error se = {0};
	int rc = store_sts_get(env->store, id, &s, &se);
	if (rc == STORE_ERR_NOT_FOUND)
		return fail(err, GW_STS_ERR_UNKNOWN_KEY,
		            "no temporary credentials have the key id %s", id);
	if (rc != STORE_OK)
		return fail(err, GW_STS_ERR_STORE, "reading the session %s: %s", id, se.message);

	unsigned char h[32];
	if (!token || token_n == 0) {
		rc = fail(err, GW_STS_ERR_BAD_TOKEN, "the request for %s carries no session token",
		          id);
	} else if (token_n > GW_STS_TOKEN_LIMIT || gw_sts_token_hash(token, token_n, h) != 0 ||
	           CRYPTO_memcmp(h, s.token_sha256, sizeof(h)) != 0) {
		rc = fail(err, GW_STS_ERR_BAD_TOKEN,
		          "the session token presented is not the one issued with %s", id);
	} else if (s.revoked_at != 0) {
		rc = fail(err, GW_STS_ERR_REVOKED, "the session %s was revoked", id);
	} else if (env->now >= s.expires_at) {
		rc = fail(err, GW_STS_ERR_EXPIRED, "the session %s expired", id);
	} else {
		const struct gw_iam_entity *role =
		    gw_iam_role(env->iam, s.role_arn, strlen(s.role_arn));
		if (!role)
			rc = fail(err, GW_STS_ERR_ROLE_GONE,
			          "the role of session %s no longer exists", id);
		else if (principal)
			rc = principal_of(env, &s, role, principal, err);
		else
			rc = GW_STS_OK;
	}
	if (rc == GW_STS_OK && secret) {
		struct gw_keybox_error ke = {0};
		if (!env->box)
			rc =
			    fail(err, GW_STS_ERR_KEY, "no master_key is configured to open %s", id);
		else if (gw_keybox_unseal(env->box, s.sealed_secret, s.sealed_n, id, strlen(id),
		                          secret, &ke) != GW_KEYBOX_OK)
			rc = fail(err, GW_STS_ERR_KEY, "the secret of %s does not open: %s", id,
			          ke.message);
		if (rc != GW_STS_OK && principal) {
			gw_principal_free(*principal);
			*principal = NULL;
		}
	}
	OPENSSL_cleanse(h, sizeof(h));
	store_sts_session_free(&s);
	return rc;
}

/* ---- task credentials ---- */

int gw_sts_issue_for_task(const struct gw_sts_env *env, const char *role_arn,
                          const char *session_name, const char *session_policy_json,
                          int64_t duration_s, const char *owner_task_arn,
                          const struct store_sts_tag *tags, size_t n_tags,
                          struct gw_sts_issued *out, struct gw_sts_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!env || !env->iam || !role_arn)
		return fail(err, GW_STS_ERR_ARG, "issuing task credentials needs a role ARN");
	if (n_tags > STORE_STS_TAGS_MAX || (n_tags && !tags))
		return fail(err, GW_STS_ERR_ARG, "at most %d session tags", STORE_STS_TAGS_MAX);
	const struct gw_iam_entity *role = gw_iam_role(env->iam, role_arn, strlen(role_arn));
	if (!role || strncmp(role_arn, "arn:", 4) != 0)
		return fail(err, GW_STS_ERR_ARG, "no role has the ARN %.300s", role_arn);
	if (!session_name || !gw_sts_session_name_ok(session_name, strlen(session_name)))
		return fail(err, GW_STS_ERR_ARG,
		            "the session name must be 2 to 64 characters of [\\w+=,.@-]");
	int64_t max = env->max_duration_s ? env->max_duration_s : GW_IAM_SESSION_MAX;
	if (role->max_session_duration > 0 && role->max_session_duration < max)
		max = role->max_session_duration;
	int64_t dur = duration_s;
	if (dur == 0) {
		dur = env->default_duration_s ? env->default_duration_s : GW_STS_DURATION_DEFAULT;
		if (dur > max)
			dur = max;
	}
	if (dur < GW_STS_DURATION_MIN || dur > max)
		return fail(err, GW_STS_ERR_ARG,
		            "the duration %lld is outside %d..%lld seconds for role %s",
		            (long long)dur, GW_STS_DURATION_MIN, (long long)max, role->name);

	/* The trust policy must let ECS's task service assume the role, as in
	 * AWS, where the agent's credentials come from that service principal. */
	static const char service[] = "ecs-tasks.amazonaws.com";
	struct policy_request req = {
	    .principal = {.kind = POLICY_PRINCIPAL_SERVICE, .arn = {service, sizeof(service) - 1}},
	    .action = {"sts:AssumeRole", 14},
	    .resource = {role->arn, strlen(role->arn)},
	};
	struct policy_input in = {.policy = role->trust};
	struct policy_result res;
	if (!role->trust || policy_evaluate(&in, 1, &req, &res) != POLICY_OK ||
	    res.decision != POLICY_ALLOW)
		return fail(err, GW_STS_ERR_DENIED,
		            "the trust policy of role %s does not allow %s to assume it",
		            role->name, service);

	char *canon = NULL;
	if (session_policy_json) {
		struct policy *sp = NULL;
		struct policy_options o = {.type = POLICY_SESSION, .id = "session"};
		if (policy_compile(session_policy_json, strlen(session_policy_json), &o, &sp,
		                   NULL) != POLICY_OK)
			return fail(err, GW_STS_ERR_ARG,
			            "the session policy is not a valid policy");
		policy_unref(sp);
		canon = strdup(session_policy_json);
		if (!canon)
			return fail(err, GW_STS_ERR_NOMEM, "out of memory");
	}
	struct gw_sts_mint m = {
	    .role = role,
	    .session_name = session_name,
	    .session_policy_json = canon,
	    .duration = dur,
	    .source_arn = service,
	    .owner_task = owner_task_arn,
	    .chain_depth = 0,
	    .tags = tags,
	    .n_tags = n_tags,
	};
	int rc = gw_sts_mint(env, &m, out, err);
	free(canon);
	return rc;
}
