/*
 * ecs_api.c - the ECS API on the request road: decode, authorize and execute
 * for GW_ROUTE_ECS, and the reply helpers every handler uses.
 *
 * Decode finds the operation in the table (ecs_ops.c) and turns the wire
 * into a checked JSON object once: after it, handlers read members knowing
 * their types. Authorize asks every question of the authorization table
 * (ecs_authz.c) through gw_authorize and records each answer; the first deny
 * stops the request before the scheduler is called. Execute dispatches to the
 * operation's handler (ecs_actions.c, ecs_tasks.c).
 *
 * Errors follow AWS JSON 1.1: {"__type": "<code>", "message": "..."}, 400
 * for everything the caller can fix (AccessDeniedException included, as ECS
 * does), 500 for ServerException. The Content-Type of every ECS answer is
 * application/x-amz-json-1.1.
 */
#include "gateway/ecs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "gateway/authz.h"
#include "gateway/principal.h"
#include "gateway/request.h"
#include "gateway/sched_run.h"
#include "gateway/server.h"
#include "scheduler/scheduler.h"

#define CT_AMZ_JSON "application/x-amz-json-1.1"

/* ---- replies ---- */

int gw_ecs_fail(struct gw_request *r, const char *code, const char *message)
{
	unsigned status = strcmp(code, "ServerException") == 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR
	                                                       : MHD_HTTP_BAD_REQUEST;
	free(r->error_message);
	r->error_message = strdup(message);
	(void)gw_request_fail(r, status, code, message);
	r->content_type = CT_AMZ_JSON;
	return GW_STEP_STOP;
}

int gw_ecs_fail_sched(struct gw_request *r, const struct sched_error *e)
{
	const char *msg = e->message[0] ? e->message : "The scheduler refused the request.";
	if (e->code == SCHED_ERR_SERVER) {
		struct gw_log_line l;
		gw_log_begin(&l, r->srv->log, GW_LOG_ERROR, "scheduler error");
		gw_log_str(&l, "request_id", r->id);
		gw_log_str(&l, "action", r->api_action ? r->api_action : "-");
		gw_log_str(&l, "error", msg);
		gw_log_end(&l);
		/* The store's words may name files: the caller gets the code only. */
		msg = "The server encountered an internal error; see the gateway's log.";
	}
	return gw_ecs_fail(r, sched_exception_name(e->code), msg);
}

int gw_ecs_reply(struct gw_request *r, json_t *obj)
{
	if (!obj)
		return gw_ecs_fail(r, "ServerException", "The gateway is out of memory.");
	r->content_type = CT_AMZ_JSON;
	return gw_request_set_json(r, MHD_HTTP_OK, obj);
}

int gw_ecs_page(struct gw_request *r, const json_t *in, struct sched_page *page)
{
	page->max_results = 0;
	page->next_token = gw_ecs_str(in, "nextToken");
	const json_t *m = json_object_get(in, "maxResults");
	if (json_is_integer(m)) {
		json_int_t v = json_integer_value(m);
		if (v < 1 || v > 100) {
			(void)gw_ecs_fail(r, "InvalidParameterException",
			                  "maxResults must be between 1 and 100.");
			return -1;
		}
		page->max_results = (int)v;
	}
	return 0;
}

/* ---- decode ---- */

static bool content_type_ok(const struct gw_request *r)
{
	const char *v;
	size_t n;
	if (!gw_request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, &v, &n))
		return true; /* botocore always sends it; curl users may not */
	static const char *const ok[] = {"application/x-amz-json-1.1", "application/x-amz-json-1.0",
	                                 "application/json"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t k = strlen(ok[i]);
		if (n >= k && strncasecmp(v, ok[i], k) == 0 &&
		    (n == k || v[k] == ';' || v[k] == ' '))
			return true;
	}
	return false;
}

int gw_ecs_decode(struct gw_request *r)
{
	r->route = GW_ROUTE_ECS;
	r->content_type = CT_AMZ_JSON;
	r->action_name = "ecs:Unknown";
	if (strcmp(r->method, MHD_HTTP_METHOD_POST) != 0) {
		r->allow = "POST";
		return gw_request_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "MethodNotAllowed",
		                       "The ECS API answers POST only.");
	}
	const char *t;
	size_t tn;
	size_t pn = strlen(GW_ECS_TARGET_PREFIX);
	if (!gw_request_header(r, "X-Amz-Target", &t, &tn) || tn <= pn ||
	    memcmp(t, GW_ECS_TARGET_PREFIX, pn) != 0)
		return gw_ecs_fail(r, "UnknownOperationException",
		                   "The X-Amz-Target header names no operation of this service.");
	const struct gw_ecs_op *op = gw_ecs_op_find(t + pn, tn - pn);
	if (!op)
		return gw_ecs_fail(r, "UnknownOperationException",
		                   "The X-Amz-Target header names no operation of this service.");
	r->api_action = op->name;
	r->action_name = op->iam_action;
	if (!content_type_ok(r))
		return gw_ecs_fail(r, "SerializationException",
		                   "The Content-Type must be application/x-amz-json-1.1.");

	json_t *in;
	if (r->body_len == 0) {
		in = json_object();
	} else {
		json_error_t je;
		in = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!in)
			return gw_ecs_fail(r, "SerializationException",
			                   "The request body is not valid JSON.");
	}
	if (!in)
		return gw_ecs_fail(r, "ServerException", "The gateway is out of memory.");
	const char *code;
	char msg[256];
	if (gw_ecs_check_input(op, in, &code, msg, sizeof(msg)) != 0) {
		/* A body that parsed is still worth recording, minus secrets. */
		json_t *ap = json_is_object(in) ? gw_ecs_audit_params(in) : NULL;
		if (ap) {
			free(r->audit_params);
			r->audit_params = json_dumps(ap, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(ap);
		}
		json_decref(in);
		return gw_ecs_fail(r, code, msg);
	}
	json_t *ap = gw_ecs_audit_params(in);
	free(r->audit_params);
	r->audit_params = ap ? json_dumps(ap, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(ap);
	struct gw_ecs_call *c = calloc(1, sizeof(*c));
	if (!c || !r->audit_params) {
		free(c);
		json_decref(in);
		return gw_ecs_fail(r, "ServerException", "The gateway is out of memory.");
	}
	c->op = op;
	c->in = in;
	gw_ecs_call_free(r->ecs);
	r->ecs = c;
	return GW_STEP_OK;
}

/* ---- authorize ---- */

static int env_tags(void *ctx, const char *arn, json_t **tags)
{
	struct gw_server *srv = ctx;
	*tags = NULL;
	if (!srv->sched)
		return -1;
	struct sched_error se = {0};
	json_t *t = NULL;
	int rc = sched_list_tags(srv->sched, arn, &t, &se);
	if (rc == SCHED_OK) {
		*tags = t ? t : json_array();
		return *tags ? 0 : -1;
	}
	json_decref(t);
	/* A resource that does not exist has no tags; the call then fails
	 * (not found) once it is allowed. */
	if (rc == SCHED_ERR_RESOURCE_NOT_FOUND || rc == SCHED_ERR_CLUSTER_NOT_FOUND ||
	    rc == SCHED_ERR_SERVICE_NOT_FOUND || rc == SCHED_ERR_INVALID_PARAMETER ||
	    rc == SCHED_ERR_CLIENT) {
		*tags = json_array();
		return *tags ? 0 : -1;
	}
	return -1;
}

static int env_resolve(void *ctx, const char *family, char *arn, size_t cap)
{
	struct gw_server *srv = ctx;
	if (!srv->sched)
		return -1;
	struct sched_error se = {0};
	json_t *td = NULL;
	int rc = sched_taskdef_describe(srv->sched, family, &td, &se);
	if (rc != SCHED_OK) {
		json_decref(td);
		return rc == SCHED_ERR_SERVER ? -1 : 1;
	}
	const char *a = gw_ecs_str(td, "taskDefinitionArn");
	int out = 1;
	if (a && strlen(a) < cap) {
		memcpy(arn, a, strlen(a) + 1);
		out = 0;
	}
	json_decref(td);
	return out;
}

/* The condition keys of a question, as comma-separated names for the record. */
static void keys_list(const json_t *keys, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)keys, k, v)
	{
		size_t kn = strlen(k);
		if (used + kn + 2 >= cap)
			break;
		if (used)
			out[used++] = ',';
		memcpy(out + used, k, kn);
		used += kn;
		out[used] = '\0';
	}
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Asks one question; 0 allowed, -1 denied (the response is set). */
static int ask(struct gw_request *r, const struct gw_ecs_question *q)
{
	size_t nk = json_object_size(q->keys);
	size_t nv = 0;
	const char *k;
	json_t *v;
	json_object_foreach(q->keys, k, v) nv += json_array_size(v);
	struct policy_ctx_entry *ctx = calloc(nk ? nk : 1, sizeof(*ctx));
	struct policy_str *vals = calloc(nv ? nv : 1, sizeof(*vals));
	struct gw_authz_result *res = calloc(1, sizeof(*res));
	struct gw_request_decision *d = calloc(1, sizeof(*d));
	int out = -1;
	if (!ctx || !vals || !res || !d) {
		(void)gw_ecs_fail(r, "ServerException", "The gateway is out of memory.");
		goto done;
	}
	size_t ik = 0, iv = 0;
	json_object_foreach(q->keys, k, v)
	{
		ctx[ik].key.p = k;
		ctx[ik].key.n = strlen(k);
		ctx[ik].values = vals + iv;
		size_t i;
		json_t *s;
		json_array_foreach(v, i, s)
		{
			vals[iv].p = json_string_value(s);
			vals[iv].n = json_string_length(s);
			iv++;
		}
		ctx[ik].nvalues = json_array_size(v);
		ik++;
	}
	struct gw_authz_request areq = {
	    .action = q->action,
	    .resource = q->resource,
	    .extra = ctx,
	    .n_extra = nk,
	    .now = (int64_t)time(NULL),
	    .region = r->srv->cfg->region,
	};
	(void)gw_authorize(r->principal, &areq, res);

	copy_cut(d->action, sizeof(d->action), q->action);
	copy_cut(d->resource, sizeof(d->resource), q->resource);
	d->decision = res->allowed                                   ? GW_DECISION_ALLOW
	              : res->result.decision == POLICY_EXPLICIT_DENY ? GW_DECISION_EXPLICIT_DENY
	                                                             : GW_DECISION_IMPLICIT_DENY;
	copy_cut(d->decided_by, sizeof(d->decided_by),
	         res->status == GW_AUTHZ_OK ? policy_type_name(res->result.decided_by) : "error");
	d->statement_index = -1;
	if (res->status == GW_AUTHZ_OK && res->result.has_decider && res->result.decider.policy) {
		const struct policy *p = res->result.decider.policy;
		copy_cut(d->policy, sizeof(d->policy), policy_id(p));
		copy_cut(d->sid, sizeof(d->sid),
		         policy_statement_sid(p, res->result.decider.statement));
		d->statement_index = (int)res->result.decider.statement;
	}
	keys_list(q->keys, d->context_keys, sizeof(d->context_keys));
	copy_cut(d->reason, sizeof(d->reason),
	         res->allowed ? "allowed" : (res->message[0] ? res->message : "denied"));
	if (!gw_request_add_decision(r, d)) {
		r->decision = GW_DECISION_IMPLICIT_DENY;
		(void)gw_ecs_fail(r, "AccessDeniedException",
		                  "This request asks too many authorization questions.");
		goto done;
	}
	if (!res->allowed) {
		if (res->status != GW_AUTHZ_OK) {
			struct gw_log_line l;
			gw_log_begin(&l, r->srv->log, GW_LOG_WARN, "authorization error");
			gw_log_str(&l, "request_id", r->id);
			gw_log_str(&l, "action", q->action);
			gw_log_str(&l, "error", res->message);
			gw_log_end(&l);
			char m[1024];
			int n = snprintf(
			    m, sizeof(m),
			    "User: %s is not authorized to perform: %s on resource: %s",
			    r->principal && r->principal->arn ? r->principal->arn : "anonymous",
			    q->action, q->resource);
			(void)gw_ecs_fail(r, "AccessDeniedException",
			                  n > 0 ? m : "This request is not authorized.");
		} else {
			(void)gw_ecs_fail(r, "AccessDeniedException", res->message);
		}
		goto done;
	}
	out = 0;
done:
	free(ctx);
	free(vals);
	free(res);
	free(d);
	return out;
}

int gw_ecs_authorize(struct gw_request *r)
{
	r->content_type = CT_AMZ_JSON;
	if (!r->principal) {
		r->decision = GW_DECISION_IMPLICIT_DENY;
		return gw_ecs_fail(r, "MissingAuthenticationTokenException",
		                   "Missing Authentication Token");
	}
	struct gw_ecs_call *c = r->ecs;
	if (!c)
		return gw_ecs_fail(r, "ServerException", "The request was not decoded.");
	struct gw_ecs_env env = {
	    .region = r->srv->cfg->region,
	    .account_id = r->srv->cfg->account_id,
	    .tags = env_tags,
	    .resolve = env_resolve,
	    .ctx = r->srv,
	};
	struct gw_ecs_question *q = calloc(GW_ECS_QUESTIONS_MAX, sizeof(*q));
	if (!q)
		return gw_ecs_fail(r, "ServerException", "The gateway is out of memory.");
	size_t n = 0;
	char msg[512];
	int st = GW_STEP_OK;
	if (gw_ecs_questions(c->op, c->in, &env, q, GW_ECS_QUESTIONS_MAX, &n, msg, sizeof(msg)) !=
	    0) {
		r->decision = GW_DECISION_IMPLICIT_DENY;
		st = gw_ecs_fail(r, "AccessDeniedException", msg);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (ask(r, &q[i]) != 0) {
				st = GW_STEP_STOP;
				break;
			}
		}
	}
	gw_ecs_questions_free(q, n);
	free(q);
	return st;
}

/* ---- execute ---- */

static const struct {
	const char *name;
	int (*fn)(struct gw_request *r, struct gw_ecs_call *c);
} handlers[] = {
    {"CreateCluster", gw_ecs_create_cluster},
    {"DeleteCluster", gw_ecs_delete_cluster},
    {"ListClusters", gw_ecs_list_clusters},
    {"DescribeClusters", gw_ecs_describe_clusters},
    {"RegisterTaskDefinition", gw_ecs_register_task_definition},
    {"DeregisterTaskDefinition", gw_ecs_deregister_task_definition},
    {"DescribeTaskDefinition", gw_ecs_describe_task_definition},
    {"ListTaskDefinitions", gw_ecs_list_task_definitions},
    {"ListTaskDefinitionFamilies", gw_ecs_list_task_definition_families},
    {"RunTask", gw_ecs_run_task},
    {"StartTask", gw_ecs_start_task},
    {"StopTask", gw_ecs_stop_task},
    {"DescribeTasks", gw_ecs_describe_tasks},
    {"ListTasks", gw_ecs_list_tasks},
    {"CreateService", gw_ecs_create_service},
    {"UpdateService", gw_ecs_update_service},
    {"DeleteService", gw_ecs_delete_service},
    {"DescribeServices", gw_ecs_describe_services},
    {"ListServices", gw_ecs_list_services},
    {"RegisterContainerInstance", gw_ecs_register_container_instance},
    {"DeregisterContainerInstance", gw_ecs_deregister_container_instance},
    {"ListContainerInstances", gw_ecs_list_container_instances},
    {"DescribeContainerInstances", gw_ecs_describe_container_instances},
    {"TagResource", gw_ecs_tag_resource},
    {"UntagResource", gw_ecs_untag_resource},
    {"ListTagsForResource", gw_ecs_list_tags_for_resource},
};

int gw_ecs_execute(struct gw_request *r)
{
	struct gw_ecs_call *c = r->ecs;
	if (!c)
		return gw_ecs_fail(r, "ServerException", "The request was not decoded.");
	if (!r->srv->sched)
		return gw_ecs_fail(r, "ServerException", "The scheduler is not running.");
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (strcmp(handlers[i].name, c->op->name) != 0)
			continue;
		int st = handlers[i].fn(r, c);
		/* A call that changed tasks or services: the ticker moves them on
		 * now rather than at its next tick. */
		if (st == GW_STEP_OK && strncmp(c->op->name, "Describe", 8) != 0 &&
		    strncmp(c->op->name, "List", 4) != 0)
			gw_sched_poke(r->srv);
		return st;
	}
	return gw_ecs_fail(r, "ServerException", "The operation has no handler.");
}

/* ---- small helpers for handlers ---- */

bool gw_ecs_includes(const json_t *in, const char *what)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(in, "include"), i, e)
	{
		if (json_is_string(e) && strcmp(json_string_value(e), what) == 0)
			return true;
	}
	return false;
}

void gw_ecs_drop_tags(json_t *v)
{
	if (json_is_object(v)) {
		json_object_del(v, "tags");
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) if (json_is_object(e)) json_object_del(e, "tags");
}

json_t *gw_ecs_with_token(json_t *obj, char *next_token)
{
	if (obj && next_token && next_token[0] &&
	    json_object_set_new(obj, "nextToken", json_string(next_token)) != 0) {
		json_decref(obj);
		obj = NULL;
	}
	free(next_token);
	return obj;
}

int gw_ecs_enum(struct gw_request *r, const json_t *in, const char *name,
                const char *const *accepted)
{
	const char *v = gw_ecs_str(in, name);
	if (!v)
		return 0;
	for (size_t i = 0; accepted[i]; i++)
		if (strcmp(v, accepted[i]) == 0)
			return 0;
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%s: '%.64s' is not a value this endpoint accepts.",
	                 name, v);
	(void)gw_ecs_fail(r, "InvalidParameterException", n > 0 ? msg : "A value is not accepted.");
	return -1;
}
