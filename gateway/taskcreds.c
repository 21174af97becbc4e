/*
 * taskcreds.c - task role credentials: issued when a task starts, renewed
 * when a fetch finds them due, revoked when the task stops (taskcreds.h).
 *
 * Nothing secret stays in memory between calls: a credentials row holds the
 * SHA-256 of its id, the current STS session's key id and that session's
 * token sealed by the key box; the secret access key stays sealed in the STS
 * session itself. A fetch unseals both into wiped buffers that the endpoint
 * clears as soon as the answer is written.
 *
 * Renewal reuses the session being replaced as its template (role, session
 * name, session policy, tags), so renewed credentials are bound exactly as
 * the first ones were, even if the configuration changed meanwhile; the swap
 * is a compare-and-swap on the key id, so concurrent fetches renew once.
 */
#include "gateway/taskcreds.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "gateway/audit.h"
#include "gateway/iam.h"
#include "gateway/keybox.h"
#include "gateway/log.h"
#include "gateway/server.h"
#include "gateway/sts.h"
#include "store/store.h"

#define TAG_TASK    "ecs:taskArn"
#define TAG_CLUSTER "ecs:clusterArn"
#define ECS_TASKS   "ecs-tasks.amazonaws.com"
#define LINK_LOCAL  "http://169.254.170.2"

struct gw_taskcreds {
	struct gw_server *srv;
	const struct gw_config *cfg;
	char full_base[256];     /* FULL_URI base */
	char metadata_base[256]; /* base of ECS_CONTAINER_METADATA_URI(_V4) */
	gw_taskcreds_clock_fn clock;
	void *clock_ctx;
	gw_taskcreds_describe_fn describe;
	void *describe_ctx;
	pthread_mutex_t renew_lock; /* one renewal at a time */
};

static int64_t now_s(const struct gw_taskcreds *tc)
{
	if (tc->clock)
		return tc->clock(tc->clock_ctx);
	return (int64_t)time(NULL);
}

__attribute__((format(printf, 3, 4))) static void setmsg(char *buf, size_t cap, const char *fmt,
                                                         ...)
{
	if (!buf || cap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
}

static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int gw_taskcreds_new(const struct gw_taskcreds_options *opts, struct gw_taskcreds **out, char *err,
                     size_t err_cap)
{
	*out = NULL;
	if (!opts || !opts->srv || !opts->cfg) {
		setmsg(err, err_cap, "task credentials need the server and its configuration");
		return -1;
	}
	struct gw_taskcreds *tc = calloc(1, sizeof(*tc));
	if (!tc) {
		setmsg(err, err_cap, "out of memory");
		return -1;
	}
	tc->srv = opts->srv;
	tc->cfg = opts->cfg;
	tc->clock = opts->clock;
	tc->clock_ctx = opts->clock_ctx;
	tc->describe = opts->describe;
	tc->describe_ctx = opts->describe_ctx;
	const char *adv = opts->cfg->task_endpoint.advertise_url;
	const char *base = opts->endpoint_base ? opts->endpoint_base : "";
	copy(tc->full_base, sizeof(tc->full_base), adv[0] ? adv : base);
	if (opts->cfg->task_credentials.full_uri)
		copy(tc->metadata_base, sizeof(tc->metadata_base), tc->full_base);
	else
		copy(tc->metadata_base, sizeof(tc->metadata_base), adv[0] ? adv : LINK_LOCAL);
	if (opts->cfg->task_credentials.full_uri && !tc->full_base[0]) {
		setmsg(err, err_cap,
		       "task_credentials.uri is \"full\" but the task endpoint has no address");
		free(tc);
		return -1;
	}
	if (pthread_mutex_init(&tc->renew_lock, NULL) != 0) {
		setmsg(err, err_cap, "cannot make a mutex");
		free(tc);
		return -1;
	}
	*out = tc;
	return 0;
}

void gw_taskcreds_free(struct gw_taskcreds *tc)
{
	if (!tc)
		return;
	pthread_mutex_destroy(&tc->renew_lock);
	free(tc);
}

static int hook_starting(void *ctx, const json_t *task, const json_t *taskdef, json_t *env,
                         char *reason, size_t reason_cap)
{
	return gw_taskcreds_starting(ctx, task, taskdef, env, reason, reason_cap);
}

static void hook_stopped(void *ctx, const json_t *task)
{
	gw_taskcreds_stopped(ctx, task);
}

struct sched_task_hooks gw_taskcreds_hooks(struct gw_taskcreds *tc)
{
	struct sched_task_hooks h = {.starting = hook_starting, .stopped = hook_stopped, .ctx = tc};
	return h;
}

void gw_taskcreds_served_clear(struct gw_taskcreds_served *s)
{
	if (!s)
		return;
	gw_secret_free(&s->secret);
	gw_secret_free(&s->token);
	OPENSSL_cleanse(s, sizeof(*s));
}

/* ---- audit ---- */

static int audit(struct gw_taskcreds *tc, const char *name, const char *principal_arn,
                 const char *key_id, const char *source_ip, const char *resource, unsigned status,
                 const char *error_code, const char *error_message, const char *params)
{
	struct gw_audit_event ev = {
	    .event_source = ECS_TASKS,
	    .event_name = name,
	    .principal_arn = principal_arn,
	    .access_key_id = key_id,
	    .source_ip = source_ip,
	    .iam_action = "sts:AssumeRole",
	    .resource = resource,
	    .decision = error_code ? "ImplicitDeny" : "Allow",
	    .status = status,
	    .error_code = error_code,
	    .error_message = error_message,
	    .request_parameters = params,
	    .latency_us = -1,
	};
	struct store_error se = {0};
	int rc = gw_audit_record_event(tc->srv, &ev, NULL, &se);
	if (rc != STORE_OK) {
		struct gw_log_line l;
		gw_log_begin(&l, tc->srv->log, GW_LOG_ERROR, "audit record failed");
		gw_log_str(&l, "event", name);
		gw_log_str(&l, "error", se.message);
		gw_log_end(&l);
		return -1;
	}
	return 0;
}

/* {"taskArn": ..., "kind": ..., "roleArn": ...} for requestParameters. */
static char *params_json(const char *task_arn, const char *kind, const char *role_arn)
{
	json_t *o =
	    json_pack("{s:s?, s:s?, s:s?}", "taskArn", task_arn, "kind", kind, "roleArn", role_arn);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

/* ---- the session policy ---- */

static const struct gw_config_task_role *role_cfg(const struct gw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->task_credentials.n_roles; i++)
		if (strcasecmp(cfg->task_credentials.roles[i].name, name) == 0)
			return &cfg->task_credentials.roles[i];
	return NULL;
}

/* The task's addresses the scheduler knows (awsvpc network interfaces,
 * attachment details), as a JSON array of "a.b.c.d/32" or "x::y/128". */
static json_t *task_cidrs(const json_t *task)
{
	json_t *out = json_array();
	if (!out)
		return NULL;
	size_t i, j;
	json_t *c, *ni;
	json_array_foreach(json_object_get(task, "containers"), i, c)
	{
		json_array_foreach(json_object_get(c, "networkInterfaces"), j, ni)
		{
			const char *v4 =
			    json_string_value(json_object_get(ni, "privateIpv4Address"));
			const char *v6 = json_string_value(json_object_get(ni, "ipv6Address"));
			char buf[80];
			struct in6_addr a6;
			struct in_addr a4;
			if (v4 && inet_pton(AF_INET, v4, &a4) == 1) {
				snprintf(buf, sizeof(buf), "%s/32", v4);
				json_array_append_new(out, json_string(buf));
			}
			if (v6 && inet_pton(AF_INET6, v6, &a6) == 1) {
				snprintf(buf, sizeof(buf), "%s/128", v6);
				json_array_append_new(out, json_string(buf));
			}
		}
	}
	return out;
}

/*
 * The session policy binding credentials to their task: everything the role
 * allows, except ECS actions on another cluster and (optionally) any action
 * from an address that is not the task's. Session policies only narrow.
 */
static char *binding_policy(const char *cluster_arn, bool bind_cluster, const json_t *cidrs)
{
	json_t *st = json_array();
	json_array_append_new(st, json_pack("{s:s, s:s, s:s, s:s}", "Sid", "TaskRole", "Effect",
	                                    "Allow", "Action", "*", "Resource", "*"));
	if (bind_cluster)
		json_array_append_new(st, json_pack("{s:s, s:s, s:s, s:s, s:{s:{s:s}, s:{s:s}}}",
		                                    "Sid", "OwnClusterOnly", "Effect", "Deny",
		                                    "Action", "ecs:*", "Resource", "*", "Condition",
		                                    "StringNotEquals", "ecs:cluster", cluster_arn,
		                                    "Null", "ecs:cluster", "false"));
	if (cidrs && json_array_size(cidrs) > 0)
		json_array_append_new(st, json_pack("{s:s, s:s, s:s, s:s, s:{s:{s:O}}}", "Sid",
		                                    "TaskAddressOnly", "Effect", "Deny", "Action",
		                                    "*", "Resource", "*", "Condition",
		                                    "NotIpAddress", "aws:SourceIp", cidrs));
	json_t *doc = json_pack("{s:s, s:o}", "Version", "2012-10-17", "Statement", st);
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return s;
}

/* ---- issuing ---- */

static void sts_env(struct gw_taskcreds *tc, struct gw_iam *iam, struct gw_sts_env *env)
{
	memset(env, 0, sizeof(*env));
	env->store = tc->srv->store;
	env->box = tc->srv->keybox;
	env->iam = iam;
	env->now = now_s(tc);
	env->region = tc->cfg->region;
	env->default_duration_s = tc->cfg->sts.default_duration_s;
	env->max_duration_s = tc->cfg->sts.max_duration_s;
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
	SHA256(p, n, out);
}

static int64_t renew_at_for(const struct gw_taskcreds *tc, int64_t issued, int64_t expires)
{
	int64_t life = expires - issued;
	int64_t before = tc->cfg->task_credentials.renew_before_s;
	if (before >= life)
		before = life / 2;
	return expires - before;
}

/* One role's credentials for a task being started. */
struct issue {
	const char *kind;
	const char *role_arn;
	char id[GW_TASKCREDS_ID_LEN + 1];
	struct gw_sts_issued cred;
	unsigned char *sealed_token;
	size_t sealed_n;
	int64_t renew_at;
	bool issued;
};

static int issue_one(struct gw_taskcreds *tc, struct gw_iam *iam, struct issue *is,
                     const char *task_arn, const char *task_id, const char *cluster_arn,
                     const json_t *task, char *reason, size_t cap)
{
	const char *arn = is->role_arn;
	const struct gw_iam_entity *role = gw_iam_role(iam, arn, strlen(arn));
	const char *field = strcmp(is->kind, "task") == 0 ? "taskRoleArn" : "executionRoleArn";
	if (!role) {
		setmsg(reason, cap, "%s %.300s: no such role", field, arn);
		return -1;
	}
	const struct gw_config_task_role *rc = role_cfg(tc->cfg, role->name);
	const struct gw_config_taskcreds *g = &tc->cfg->task_credentials;
	bool bind_cluster = rc && rc->bind_cluster >= 0 ? rc->bind_cluster : g->bind_cluster;
	bool bind_ip = rc && rc->bind_source_ip >= 0 ? rc->bind_source_ip : g->bind_source_ip;
	int64_t life = rc && rc->lifetime_s ? rc->lifetime_s : g->lifetime_s;
	if (role->max_session_duration > 0 && life > role->max_session_duration)
		life = role->max_session_duration;
	if (tc->cfg->sts.max_duration_s && life > tc->cfg->sts.max_duration_s)
		life = tc->cfg->sts.max_duration_s;

	json_t *cidrs = NULL;
	if (bind_ip) {
		cidrs = task_cidrs(task);
		if (!cidrs || json_array_size(cidrs) == 0) {
			json_decref(cidrs);
			setmsg(
			    reason, cap,
			    "%s %.300s: bind_source_ip is set for this role but the task's address "
			    "is not known at start (it needs awsvpc network interfaces)",
			    field, arn);
			return -1;
		}
	}
	char *policy = binding_policy(cluster_arn, bind_cluster, cidrs);
	json_decref(cidrs);
	if (!policy) {
		setmsg(reason, cap, "out of memory");
		return -1;
	}
	struct store_sts_tag tags[2] = {
	    {.key = (char *)TAG_TASK, .value = (char *)task_arn, .transitive = false},
	    {.key = (char *)TAG_CLUSTER, .value = (char *)cluster_arn, .transitive = false},
	};
	struct gw_sts_env env;
	sts_env(tc, iam, &env);
	struct gw_sts_error se = {0};
	int rc2 = gw_sts_issue_for_task(&env, arn, task_id, policy, life, task_arn, tags, 2,
	                                &is->cred, &se);
	free(policy);
	if (rc2 != GW_STS_OK) {
		if (rc2 == GW_STS_ERR_DENIED)
			setmsg(reason, cap,
			       "%s %.300s: the role's trust policy does not allow " ECS_TASKS
			       " to assume it",
			       field, arn);
		else
			setmsg(reason, cap, "%s %.300s: %s", field, arn, se.message);
		return -1;
	}
	is->issued = true;
	struct gw_keybox_error ke = {0};
	if (gw_keybox_seal(tc->srv->keybox, is->cred.token.p, is->cred.token.n,
	                   is->cred.access_key_id, strlen(is->cred.access_key_id),
	                   &is->sealed_token, &is->sealed_n, &ke) != GW_KEYBOX_OK) {
		setmsg(reason, cap, "%s: cannot seal the session token: %s", field, ke.message);
		return -1;
	}
	if (gw_random_hex(is->id, sizeof(is->id), GW_TASKCREDS_ID_BYTES) != GW_SECRET_OK) {
		setmsg(reason, cap, "no randomness for a credentials id");
		return -1;
	}
	is->renew_at = renew_at_for(tc, is->cred.issued_at, is->cred.expires_at);
	return 0;
}

static const char *last_part(const char *arn)
{
	const char *s = strrchr(arn, '/');
	return s ? s + 1 : arn;
}

/* The role ARN for a kind: the task's overrides win over the definition. */
static const char *role_for(const json_t *task, const json_t *taskdef, const char *field)
{
	const char *o =
	    json_string_value(json_object_get(json_object_get(task, "overrides"), field));
	if (o && o[0])
		return o;
	const char *d = json_string_value(json_object_get(taskdef, field));
	return d && d[0] ? d : NULL;
}

/* Whether container c of the definition (or the task's overrides for it)
 * sets variable name itself. */
static bool container_sets(const json_t *task, const json_t *cdef, const char *cname,
                           const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(cdef, "environment"), i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && strcmp(n, name) == 0)
			return true;
	}
	json_t *co;
	json_array_foreach(
	    json_object_get(json_object_get(task, "overrides"), "containerOverrides"), i, co)
	{
		const char *n = json_string_value(json_object_get(co, "name"));
		if (!n || strcmp(n, cname) != 0)
			continue;
		size_t j;
		json_array_foreach(json_object_get(co, "environment"), j, e)
		{
			const char *k = json_string_value(json_object_get(e, "name"));
			if (k && strcmp(k, name) == 0)
				return true;
		}
	}
	return false;
}

static int set_env(json_t *env, const char *name, const char *value)
{
	return json_object_set_new(env, name, json_string(value));
}

int gw_taskcreds_starting(struct gw_taskcreds *tc, const json_t *task, const json_t *taskdef,
                          json_t *env, char *reason, size_t reason_cap)
{
	const char *task_arn = json_string_value(json_object_get(task, "taskArn"));
	const char *cluster_arn = json_string_value(json_object_get(task, "clusterArn"));
	if (!tc || !task_arn || !cluster_arn || !json_is_object(env)) {
		setmsg(reason, reason_cap,
		       "task credentials: the task has no taskArn or clusterArn");
		return -1;
	}
	const char *task_id = last_part(task_arn);
	struct issue is[2] = {
	    {.kind = "task", .role_arn = role_for(task, taskdef, "taskRoleArn")},
	    {.kind = "execution", .role_arn = role_for(task, taskdef, "executionRoleArn")},
	};
	bool any_role = is[0].role_arn || is[1].role_arn;
	struct gw_iam *iam = NULL;
	if (any_role) {
		if (!tc->srv->keybox) {
			setmsg(reason, reason_cap,
			       "the task has a role but no master_key is configured to seal its "
			       "credentials");
			return -1;
		}
		iam = gw_iam_live_get(&tc->srv->iam);
		if (!iam) {
			setmsg(reason, reason_cap, "the IAM state is not loaded yet");
			return -1;
		}
	}
	int rc = 0;
	for (size_t k = 0; k < 2 && rc == 0; k++)
		if (is[k].role_arn)
			rc = issue_one(tc, iam, &is[k], task_arn, task_id, cluster_arn, task,
			               reason, reason_cap);

	/* metadata ids, one per container */
	const json_t *cdefs = json_object_get(taskdef, "containerDefinitions");
	size_t nc = json_array_size(cdefs);
	struct store_taskmeta *meta = nc ? calloc(nc, sizeof(*meta)) : NULL;
	char(*mids)[GW_TASKCREDS_ID_LEN + 1] = nc ? calloc(nc, sizeof(*mids)) : NULL;
	int64_t now = now_s(tc);
	if (rc == 0 && nc && (!meta || !mids)) {
		setmsg(reason, reason_cap, "out of memory");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < nc; i++) {
		const char *cname =
		    json_string_value(json_object_get(json_array_get(cdefs, i), "name"));
		if (!cname || gw_random_hex(mids[i], sizeof(mids[i]), GW_TASKCREDS_ID_BYTES) != 0) {
			setmsg(reason, reason_cap, "a container definition without a name");
			rc = -1;
			break;
		}
		meta[i] = (struct store_taskmeta){.id = mids[i],
		                                  .task_arn = (char *)task_arn,
		                                  .cluster_arn = (char *)cluster_arn,
		                                  .container_name = (char *)cname,
		                                  .created_at = now};
	}

	char auth[GW_TASKCREDS_AUTH_LEN + 1] = "";
	unsigned char auth_h[32] = {0};
	bool use_auth = tc->cfg->task_credentials.authorization_token && is[0].role_arn;
	if (rc == 0 && use_auth) {
		unsigned char raw[GW_TASKCREDS_AUTH_BYTES];
		if (gw_random_bytes(raw, sizeof(raw)) != GW_SECRET_OK ||
		    gw_base64_encode(raw, sizeof(raw), GW_B64_URL, auth, sizeof(auth)) !=
		        GW_SECRET_OK) {
			setmsg(reason, reason_cap, "no randomness for an authorization token");
			rc = -1;
		}
		OPENSSL_cleanse(raw, sizeof(raw));
		sha256(auth, strlen(auth), auth_h);
	}

	struct store_taskcred rows[2];
	size_t nrows = 0;
	for (size_t k = 0; rc == 0 && k < 2; k++) {
		if (!is[k].issued)
			continue;
		struct store_taskcred *r = &rows[nrows++];
		memset(r, 0, sizeof(*r));
		sha256(is[k].id, strlen(is[k].id), r->id_sha256);
		r->task_arn = (char *)task_arn;
		r->cluster_arn = (char *)cluster_arn;
		r->kind = (char *)is[k].kind;
		r->role_arn = is[k].cred.role_arn;
		r->access_key_id = is[k].cred.access_key_id;
		r->sealed_token = is[k].sealed_token;
		r->sealed_token_n = is[k].sealed_n;
		r->issued_at = is[k].cred.issued_at;
		r->expires_at = is[k].cred.expires_at;
		r->renew_at = is[k].renew_at;
		if (use_auth && k == 0) {
			r->has_auth = true;
			memcpy(r->auth_sha256, auth_h, 32);
		}
	}
	if (rc == 0 && nrows + nc > 0) {
		struct store_error se = {0};
		if (store_taskcred_put(tc->srv->store, rows, nrows, meta, nc, &se) != STORE_OK) {
			setmsg(reason, reason_cap, "cannot store the task's credentials: %s",
			       se.message);
			rc = -1;
		}
	}
	/* the audit record of each issuance; no record, no credentials */
	for (size_t k = 0; rc == 0 && k < 2; k++) {
		if (!is[k].issued)
			continue;
		char *p = params_json(task_arn, is[k].kind, is[k].cred.role_arn);
		if (audit(tc, "IssueTaskCredentials", is[k].cred.assumed_role_arn,
		          is[k].cred.access_key_id, NULL, task_arn, 200, NULL, NULL, p) != 0) {
			setmsg(reason, reason_cap, "the audit log could not record the issuance");
			rc = -1;
		}
		free(p);
	}

	if (rc == 0) {
		int bad = 0;
		const struct gw_config_taskcreds *g = &tc->cfg->task_credentials;
		if (is[0].issued) {
			char uri[512];
			if (g->full_uri) {
				snprintf(uri, sizeof(uri), "%s/v2/credentials/%s", tc->full_base,
				         is[0].id);
				bad |= set_env(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
			} else {
				snprintf(uri, sizeof(uri), "/v2/credentials/%s", is[0].id);
				bad |= set_env(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", uri);
			}
			if (use_auth)
				bad |= set_env(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", auth);
		}
		json_t *v4 = json_object(), *v3 = json_object(), *region = json_object();
		for (size_t i = 0; i < nc && v4 && v3 && region; i++) {
			char uri[512];
			const char *cname = meta[i].container_name;
			snprintf(uri, sizeof(uri), "%s/v4/%s", tc->metadata_base, mids[i]);
			bad |= json_object_set_new(v4, cname, json_string(uri));
			snprintf(uri, sizeof(uri), "%s/v3/%s", tc->metadata_base, mids[i]);
			bad |= json_object_set_new(v3, cname, json_string(uri));
			if (!container_sets(task, json_array_get(cdefs, i), cname, "AWS_REGION") &&
			    !container_sets(task, json_array_get(cdefs, i), cname,
			                    "AWS_DEFAULT_REGION"))
				bad |= json_object_set_new(region, cname,
				                           json_string(tc->cfg->region));
		}
		if (!v4 || !v3 || !region)
			bad = 1;
		bad |= json_object_set_new(env, "ECS_CONTAINER_METADATA_URI_V4", v4);
		bad |= json_object_set_new(env, "ECS_CONTAINER_METADATA_URI", v3);
		bad |= json_object_set(env, "AWS_REGION", region);
		bad |= json_object_set_new(env, "AWS_DEFAULT_REGION", region);
		bad |= set_env(env, "AWS_EXECUTION_ENV", g->execution_env);
		if (bad) {
			setmsg(reason, reason_cap, "out of memory filling the environment");
			rc = -1;
		}
	}

	if (rc != 0 && (is[0].issued || is[1].issued)) {
		/* fail closed: nothing issued for this task stays usable */
		struct store_error se = {0};
		int64_t t = now_s(tc);
		(void)store_sts_revoke_task(tc->srv->store, task_arn, t, NULL, &se);
		(void)store_taskcred_revoke_task(tc->srv->store, task_arn, t, NULL, &se);
	}
	for (size_t k = 0; k < 2; k++) {
		gw_sts_issued_clear(&is[k].cred);
		free(is[k].sealed_token);
		OPENSSL_cleanse(is[k].id, sizeof(is[k].id));
	}
	OPENSSL_cleanse(auth, sizeof(auth));
	free(meta);
	free(mids);
	gw_iam_unref(iam);
	return rc;
}

void gw_taskcreds_stopped(struct gw_taskcreds *tc, const json_t *task)
{
	const char *task_arn = json_string_value(json_object_get(task, "taskArn"));
	if (!tc || !task_arn)
		return;
	struct store_taskcred rows[2];
	size_t n = 0;
	struct store_error se = {0};
	if (store_taskcred_for_task(tc->srv->store, task_arn, rows, 2, &n, &se) != STORE_OK)
		n = 0;
	int64_t t = now_s(tc);
	int64_t revoked = 0, sessions = 0;
	int rc1 = store_taskcred_revoke_task(tc->srv->store, task_arn, t, &revoked, &se);
	int rc2 = store_sts_revoke_task(tc->srv->store, task_arn, t, &sessions, &se);
	if (rc1 != STORE_OK || rc2 != STORE_OK) {
		struct gw_log_line l;
		gw_log_begin(&l, tc->srv->log, GW_LOG_ERROR, "task credentials not revoked");
		gw_log_str(&l, "task", task_arn);
		gw_log_str(&l, "error", se.message);
		gw_log_end(&l);
	}
	for (size_t i = 0; i < n; i++) {
		if (rows[i].revoked_at == 0) {
			char *p = params_json(task_arn, rows[i].kind, rows[i].role_arn);
			(void)audit(tc, "RevokeTaskCredentials", NULL, rows[i].access_key_id, NULL,
			            task_arn, rc1 == STORE_OK && rc2 == STORE_OK ? 200 : 500,
			            rc1 == STORE_OK && rc2 == STORE_OK ? NULL : "InternalFailure",
			            rc1 == STORE_OK && rc2 == STORE_OK ? NULL : se.message, p);
			free(p);
		}
		store_taskcred_free(&rows[i]);
	}
	/* rows of tasks stopped long ago go, with their metadata ids (metadata
	 * of a stopped task is served as long as the host keeps its logs) */
	int64_t purged = 0;
	(void)store_taskcred_purge(tc->srv->store, t - GW_TASKCREDS_RETAIN_S, &purged, &se);
	if (revoked > 0 || sessions > 0) {
		struct gw_log_line l;
		gw_log_begin(&l, tc->srv->log, GW_LOG_INFO, "task credentials revoked");
		gw_log_str(&l, "task", task_arn);
		gw_log_int(&l, "sessions", sessions);
		gw_log_end(&l);
	}
}

/* ---- fetching ---- */

const char *gw_taskcreds_status_code(int status)
{
	switch (status) {
	case GW_TASKCREDS_OK:
		return NULL;
	case GW_TASKCREDS_NO_ID:
		return "NoIdInRequest";
	case GW_TASKCREDS_UNKNOWN:
		return "InvalidIdInRequest";
	case GW_TASKCREDS_DENIED:
		return "AccessDenied";
	case GW_TASKCREDS_UNINIT:
		return "CredentialsUninitialized";
	default:
		return "InternalServerError";
	}
}

unsigned gw_taskcreds_status_http(int status)
{
	switch (status) {
	case GW_TASKCREDS_OK:
		return 200;
	case GW_TASKCREDS_NO_ID:
	case GW_TASKCREDS_UNKNOWN:
		return 400;
	case GW_TASKCREDS_DENIED:
		return 403;
	case GW_TASKCREDS_UNINIT:
		return 503;
	default:
		return 500;
	}
}

static bool id_shape_ok(const char *id, size_t n)
{
	if (n != GW_TASKCREDS_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

/*
 * Mints the next session for row (its current session as the template) and
 * swaps it in. 0: renewed (row updated in place); 1: someone else renewed or
 * revoked it first (re-read); -1: failed, message filled.
 */
static int renew(struct gw_taskcreds *tc, struct store_taskcred *row, char *msg, size_t cap)
{
	struct store_sts_session old = {0};
	struct store_error se = {0};
	if (store_sts_get(tc->srv->store, row->access_key_id, &old, &se) != STORE_OK) {
		setmsg(msg, cap, "the current session of these credentials is gone: %s",
		       se.message);
		return -1;
	}
	struct gw_iam *iam = gw_iam_live_get(&tc->srv->iam);
	if (!iam) {
		store_sts_session_free(&old);
		setmsg(msg, cap, "the IAM state is not loaded");
		return -1;
	}
	const struct gw_iam_entity *role = gw_iam_role(iam, row->role_arn, strlen(row->role_arn));
	int64_t life = old.expires_at - old.issued_at;
	if (role && role->max_session_duration > 0 && life > role->max_session_duration)
		life = role->max_session_duration;
	struct gw_sts_env env;
	sts_env(tc, iam, &env);
	struct gw_sts_issued cred;
	struct gw_sts_error ste = {0};
	int rc = gw_sts_issue_for_task(&env, row->role_arn, old.session_name, old.session_policy,
	                               life, row->task_arn, old.tags, old.n_tags, &cred, &ste);
	store_sts_session_free(&old);
	gw_iam_unref(iam);
	if (rc != GW_STS_OK) {
		setmsg(msg, cap, "renewing: %s", ste.message);
		return -1;
	}
	unsigned char *sealed = NULL;
	size_t sealed_n = 0;
	struct gw_keybox_error ke = {0};
	int out = 0;
	if (gw_keybox_seal(tc->srv->keybox, cred.token.p, cred.token.n, cred.access_key_id,
	                   strlen(cred.access_key_id), &sealed, &sealed_n, &ke) != GW_KEYBOX_OK) {
		setmsg(msg, cap, "renewing: cannot seal the session token: %s", ke.message);
		out = -1;
	}
	int64_t renew_at = renew_at_for(tc, cred.issued_at, cred.expires_at);
	if (out == 0) {
		int s = store_taskcred_rotate(tc->srv->store, row->id_sha256, row->access_key_id,
		                              cred.access_key_id, sealed, sealed_n, cred.issued_at,
		                              cred.expires_at, renew_at, &se);
		if (s == STORE_ERR_CONFLICT)
			out = 1;
		else if (s != STORE_OK) {
			setmsg(msg, cap, "renewing: %s", se.message);
			out = -1;
		}
	}
	if (out != 0) {
		/* the new session is not served: revoke it at once */
		(void)store_sts_revoke(tc->srv->store, cred.access_key_id, now_s(tc), &se);
	} else {
		char *p = params_json(row->task_arn, row->kind, row->role_arn);
		(void)audit(tc, "RenewTaskCredentials", cred.assumed_role_arn, cred.access_key_id,
		            NULL, row->task_arn, 200, NULL, NULL, p);
		free(p);
		free(row->access_key_id);
		row->access_key_id = strdup(cred.access_key_id);
		free(row->sealed_token);
		row->sealed_token = sealed;
		row->sealed_token_n = sealed_n;
		sealed = NULL;
		row->issued_at = cred.issued_at;
		row->expires_at = cred.expires_at;
		row->renew_at = renew_at;
		if (!row->access_key_id) {
			setmsg(msg, cap, "out of memory");
			out = -1;
		}
	}
	free(sealed);
	gw_sts_issued_clear(&cred);
	return out;
}

int gw_taskcreds_describe(struct gw_taskcreds *tc, const char *cluster_arn, const char *task_arn,
                          json_t **task, json_t **taskdef)
{
	*task = NULL;
	if (taskdef)
		*taskdef = NULL;
	if (!tc->describe)
		return -1;
	json_t *td = NULL;
	int rc = tc->describe(tc->describe_ctx, cluster_arn, task_arn, task, &td);
	if (taskdef)
		*taskdef = td;
	else
		json_decref(td);
	return rc;
}

/* Whether source_ip may fetch row's credentials: always when the task's
 * address is not known (host networking), else only from that address. */
static bool source_matches(struct gw_taskcreds *tc, const struct store_taskcred *row,
                           const char *source_ip)
{
	json_t *task = NULL;
	if (gw_taskcreds_describe(tc, row->cluster_arn, row->task_arn, &task, NULL) != 0)
		return true;
	json_t *cidrs = task_cidrs(task);
	json_decref(task);
	if (!cidrs)
		return false;
	bool ok = json_array_size(cidrs) == 0;
	size_t i;
	json_t *c;
	json_array_foreach(cidrs, i, c)
	{
		const char *s = json_string_value(c);
		const char *slash = strrchr(s, '/');
		if (source_ip && slash && strlen(source_ip) == (size_t)(slash - s) &&
		    strncmp(s, source_ip, (size_t)(slash - s)) == 0)
			ok = true;
	}
	json_decref(cidrs);
	return ok;
}

int gw_taskcreds_fetch(struct gw_taskcreds *tc, const char *id, size_t id_n, const char *authz,
                       size_t authz_n, const char *source_ip, struct gw_taskcreds_served *out,
                       char *message, size_t message_cap)
{
	memset(out, 0, sizeof(*out));
	if (!id || id_n == 0) {
		setmsg(message, message_cap, "No Credential ID in the request");
		return GW_TASKCREDS_NO_ID;
	}
	if (!id_shape_ok(id, id_n)) {
		setmsg(message, message_cap, "Credentials not found");
		(void)audit(tc, "GetTaskCredentials", NULL, NULL, source_ip, NULL, 400,
		            "InvalidIdInRequest", "not a credentials id", NULL);
		return GW_TASKCREDS_UNKNOWN;
	}
	unsigned char h[32];
	sha256(id, id_n, h);
	struct store_taskcred row;
	struct store_error se = {0};
	int s = store_taskcred_get(tc->srv->store, h, &row, &se);
	OPENSSL_cleanse(h, sizeof(h));
	if (s == STORE_ERR_NOT_FOUND) {
		setmsg(message, message_cap, "Credentials not found");
		(void)audit(tc, "GetTaskCredentials", NULL, NULL, source_ip, NULL, 400,
		            "InvalidIdInRequest", "no credentials have this id", NULL);
		return GW_TASKCREDS_UNKNOWN;
	}
	if (s != STORE_OK) {
		setmsg(message, message_cap, "Internal server error");
		return GW_TASKCREDS_INTERNAL;
	}
	int rc = GW_TASKCREDS_OK;
	const char *why = NULL;
	if (row.revoked_at != 0) {
		rc = GW_TASKCREDS_UNKNOWN;
		why = "the task stopped: its credentials were revoked";
		setmsg(message, message_cap, "Credentials not found");
	} else if (row.has_auth) {
		unsigned char ah[32];
		sha256(authz ? authz : "", authz ? authz_n : 0, ah);
		bool ok = authz && authz_n > 0 && CRYPTO_memcmp(ah, row.auth_sha256, 32) == 0;
		OPENSSL_cleanse(ah, sizeof(ah));
		if (!ok) {
			rc = GW_TASKCREDS_DENIED;
			why = authz
			          ? "the Authorization header is not the task's authorization token"
			          : "the Authorization header (the task's authorization token) is "
			            "missing";
			setmsg(message, message_cap, "%s", why);
		}
	}
	if (rc == GW_TASKCREDS_OK && !source_matches(tc, &row, source_ip)) {
		rc = GW_TASKCREDS_DENIED;
		why = "the request does not come from the task's address";
		setmsg(message, message_cap, "%s", why);
	}
	int64_t t = now_s(tc);
	if (rc == GW_TASKCREDS_OK && t >= row.renew_at) {
		pthread_mutex_lock(&tc->renew_lock);
		for (int attempt = 0; attempt < 3 && t >= row.renew_at; attempt++) {
			char rmsg[384];
			int r = renew(tc, &row, rmsg, sizeof(rmsg));
			if (r == 0) {
				out->renewed = true;
				break;
			}
			if (r < 0) {
				struct gw_log_line l;
				gw_log_begin(&l, tc->srv->log, GW_LOG_WARN,
				             "task credentials not renewed");
				gw_log_str(&l, "task", row.task_arn);
				gw_log_str(&l, "error", rmsg);
				gw_log_end(&l);
				break;
			}
			/* someone renewed or revoked it first: read it again */
			unsigned char again[32];
			memcpy(again, row.id_sha256, 32);
			store_taskcred_free(&row);
			if (store_taskcred_get(tc->srv->store, again, &row, &se) != STORE_OK) {
				rc = GW_TASKCREDS_INTERNAL;
				break;
			}
			if (row.revoked_at) {
				rc = GW_TASKCREDS_UNKNOWN;
				why = "the task stopped: its credentials were revoked";
				setmsg(message, message_cap, "Credentials not found");
				break;
			}
		}
		pthread_mutex_unlock(&tc->renew_lock);
		if (rc == GW_TASKCREDS_OK && t >= row.expires_at) {
			rc = GW_TASKCREDS_UNINIT;
			why = "the credentials expired and could not be renewed";
			setmsg(message, message_cap, "Credentials uninitialized for ID");
		}
	}
	if (rc == GW_TASKCREDS_OK) {
		struct gw_keybox_error ke = {0};
		if (gw_keybox_unseal(tc->srv->keybox, row.sealed_token, row.sealed_token_n,
		                     row.access_key_id, strlen(row.access_key_id), &out->token,
		                     &ke) != GW_KEYBOX_OK) {
			rc = GW_TASKCREDS_INTERNAL;
			why = "the session token does not open with the master key";
		}
	}
	if (rc == GW_TASKCREDS_OK) {
		struct gw_iam *iam = gw_iam_live_get(&tc->srv->iam);
		struct gw_sts_env env;
		sts_env(tc, iam, &env);
		struct gw_sts_error ste = {0};
		int c = iam ? gw_sts_credentials(&env, row.access_key_id, strlen(row.access_key_id),
		                                 (const char *)out->token.p, out->token.n, NULL,
		                                 &out->secret, &ste)
		            : GW_STS_ERR_STATE;
		gw_iam_unref(iam);
		if (c == GW_STS_ERR_REVOKED) {
			rc = GW_TASKCREDS_UNKNOWN;
			why = "the task's session was revoked";
			setmsg(message, message_cap, "Credentials not found");
		} else if (c == GW_STS_ERR_EXPIRED) {
			rc = GW_TASKCREDS_UNINIT;
			why = "the credentials expired and could not be renewed";
			setmsg(message, message_cap, "Credentials uninitialized for ID");
		} else if (c != GW_STS_OK) {
			rc = GW_TASKCREDS_INTERNAL;
			why = "the task's session cannot be opened";
		}
	}
	if (rc == GW_TASKCREDS_INTERNAL)
		setmsg(message, message_cap, "Internal server error");

	char assumed[2300];
	snprintf(assumed, sizeof(assumed), "%s", row.role_arn ? row.role_arn : "");
	char *p = params_json(row.task_arn, row.kind, row.role_arn);
	int a = audit(tc, "GetTaskCredentials", NULL, row.access_key_id, source_ip, row.task_arn,
	              gw_taskcreds_status_http(rc), gw_taskcreds_status_code(rc), why, p);
	free(p);
	if (rc == GW_TASKCREDS_OK && a != 0) {
		rc = GW_TASKCREDS_INTERNAL;
		setmsg(message, message_cap, "Internal server error");
	}
	if (rc == GW_TASKCREDS_OK) {
		copy(out->access_key_id, sizeof(out->access_key_id), row.access_key_id);
		struct tm tm;
		time_t e = (time_t)row.expires_at;
		gmtime_r(&e, &tm);
		strftime(out->expiration, sizeof(out->expiration), "%Y-%m-%dT%H:%M:%SZ", &tm);
		copy(out->role_arn, sizeof(out->role_arn), row.role_arn);
		copy(out->task_arn, sizeof(out->task_arn), row.task_arn);
		copy(out->kind, sizeof(out->kind), row.kind);
	} else {
		bool renewed = out->renewed;
		gw_taskcreds_served_clear(out);
		out->renewed = renewed;
		copy(out->task_arn, sizeof(out->task_arn), row.task_arn);
	}
	store_taskcred_free(&row);
	return rc;
}

int gw_taskcreds_metadata_id(struct gw_taskcreds *tc, const char *id, char **task_arn,
                             char **cluster_arn, char **container)
{
	*task_arn = *cluster_arn = *container = NULL;
	struct store_taskmeta m;
	struct store_error se = {0};
	int s = store_taskmeta_get(tc->srv->store, id, &m, &se);
	if (s == STORE_ERR_NOT_FOUND)
		return -1;
	if (s != STORE_OK)
		return -2;
	*task_arn = m.task_arn;
	*cluster_arn = m.cluster_arn;
	*container = m.container_name;
	m.task_arn = m.cluster_arn = m.container_name = NULL;
	store_taskmeta_free(&m);
	return 0;
}
