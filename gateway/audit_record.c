/*
 * audit_record.c - what a decision record says, and the audit steps of the
 * request road.
 *
 * A record is one JSON object shaped like a CloudTrail event wherever
 * CloudTrail has the field (eventTime, eventSource, eventName, userIdentity,
 * sourceIPAddress, userAgent, requestParameters, errorCode, errorMessage,
 * resources, requestID), plus what a gateway that decides knows and
 * CloudTrail does not show: every authorization question asked (IAM action,
 * resource, decision, the deciding statement by policy, Sid and index, the
 * condition keys present, the reason for a deny), the HTTP status and the
 * latency. It is written with sorted keys and no white space, and those exact
 * bytes are what the hash chain covers (docs/audit.md).
 *
 * Which fields come from a request is a fixed list read from struct
 * gw_request: never a header wholesale, never the body, never the query
 * string, so no credential, signature or token can reach the log. The
 * requestParameters are what decode chose to keep, secrets already removed.
 *
 * A request leaves one or two records, linked by requestID:
 *   "request"  - stopped before execute (denied, not found, bad input): the
 *                decision and the answer in one record;
 *   "decision" - allowed: written and committed BEFORE execute runs, so an
 *                action never runs unrecorded;
 *   "outcome"  - after execute, before the answer goes out: status, error
 *                code and latency of what was done.
 * Any record that cannot be committed turns the answer into a 503.
 */
#include "gateway/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "gateway/log.h"
#include "gateway/principal.h"
#include "gateway/request.h"
#include "gateway/secret.h"
#include "gateway/server.h"

#define EVENT_VERSION "1.09"

/*
 * A JSON string of bytes from the network. jansson accepts only valid UTF-8;
 * anything else is kept with each byte above 0x7f replaced by '?', so the
 * record still shows what was asked and a bad byte cannot fail the audit.
 */
static json_t *lossy_string(const char *p, size_t n)
{
	json_t *s = json_stringn(p, n);
	if (s)
		return s;
	char *copy = malloc(n + 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++)
		copy[i] = (unsigned char)p[i] >= 0x80 || p[i] == '\0' ? '?' : p[i];
	s = json_stringn(copy, n);
	free(copy);
	return s;
}

/* Sets key to a string, or leaves it out when v is NULL. */
static int set_opt(json_t *o, const char *key, const char *v)
{
	if (!v)
		return 0;
	return json_object_set_new(o, key, lossy_string(v, strlen(v)));
}

static const char *transport_name(enum gw_transport t)
{
	switch (t) {
	case GW_TRANSPORT_SIGV4:
		return "sigv4";
	case GW_TRANSPORT_SIGV4_PRESIGNED:
		return "sigv4-presigned";
	case GW_TRANSPORT_JWT:
		return "jwt";
	case GW_TRANSPORT_MTLS:
		return "mtls";
	case GW_TRANSPORT_NONE:
		return "none";
	}
	return "none";
}

/* CloudTrail's userIdentity for p (NULL: an anonymous caller). Access key
 * ids are identifiers, logged as CloudTrail logs them; secrets and session
 * tokens are not in a principal at all. */
static json_t *user_identity(const struct gw_principal *p)
{
	json_t *u = json_object();
	if (!u)
		return NULL;
	int bad = 0;
	if (!p || p->kind == GW_PRINCIPAL_ANONYMOUS) {
		bad |= json_object_set_new(u, "type", json_string("Anonymous"));
		if (p)
			bad |= json_object_set_new(u, "transport",
			                           json_string(transport_name(p->transport)));
		if (bad) {
			json_decref(u);
			return NULL;
		}
		return u;
	}
	bool role = p->kind == GW_PRINCIPAL_ROLE_SESSION;
	bad |= json_object_set_new(u, "type", json_string(role ? "AssumedRole" : "IAMUser"));
	bad |= set_opt(u, "principalId", p->user_id);
	bad |= set_opt(u, "arn", p->arn);
	bad |= set_opt(u, "accountId", p->account);
	bad |= set_opt(u, "accessKeyId", p->access_key_id);
	bad |= set_opt(u, "userName", p->user_name);
	bad |= json_object_set_new(u, "transport", json_string(transport_name(p->transport)));
	if (role) {
		json_t *sc = json_object(), *issuer = json_object(), *attrs = json_object();
		if (!sc || !issuer || !attrs) {
			json_decref(sc);
			json_decref(issuer);
			json_decref(attrs);
			json_decref(u);
			return NULL;
		}
		bad |= json_object_set_new(issuer, "type", json_string("Role"));
		if (p->user_id) {
			const char *colon = strchr(p->user_id, ':');
			size_t n = colon ? (size_t)(colon - p->user_id) : strlen(p->user_id);
			bad |= json_object_set_new(issuer, "principalId", lossy_string(p->user_id, n));
		}
		bad |= set_opt(issuer, "arn", p->role_arn);
		bad |= set_opt(issuer, "accountId", p->account);
		if (p->role_arn) {
			const char *slash = strrchr(p->role_arn, '/');
			bad |= set_opt(issuer, "userName", slash ? slash + 1 : p->role_arn);
		}
		bad |= set_opt(sc, "sessionName", p->session_name);
		if (p->token_issued_at > 0) {
			char when[GW_LOG_TIME_LEN];
			if (gw_log_time_format(p->token_issued_at * 1000000, when) == 0)
				bad |= json_object_set_new(attrs, "creationDate", json_string(when));
		}
		bad |= json_object_set_new(attrs, "mfaAuthenticated",
		                           json_string(p->mfa ? "true" : "false"));
		bad |= json_object_set_new(sc, "sessionIssuer", issuer);
		bad |= json_object_set_new(sc, "attributes", attrs);
		bad |= json_object_set_new(u, "sessionContext", sc);
	}
	if (bad) {
		json_decref(u);
		return NULL;
	}
	return u;
}

static const char *protocol_name(enum gw_protocol p)
{
	switch (p) {
	case GW_PROTO_REST:
		return "rest";
	case GW_PROTO_JSON:
		return "json";
	case GW_PROTO_QUERY:
		return "query";
	}
	return "rest";
}

static const char *event_source(const struct gw_request *r)
{
	switch (r->route) {
	case GW_ROUTE_ECS:
		return "ecs.amazonaws.com";
	case GW_ROUTE_STS:
		return "sts.amazonaws.com";
	case GW_ROUTE_HEALTH:
	case GW_ROUTE_NONE:
		break;
	}
	return "taskgate";
}

/* The protocol action: what decode named, or the tail of the gateway's own
 * action name ("taskgate:GetHealth" -> "GetHealth"). NULL when undecoded. */
static const char *event_name(const struct gw_request *r)
{
	if (r->api_action)
		return r->api_action;
	if (r->action_name) {
		const char *colon = strchr(r->action_name, ':');
		return colon ? colon + 1 : r->action_name;
	}
	return NULL;
}

/* The IAM action of the row's action column: the first question asked. */
static const char *primary_action(const struct gw_request *r)
{
	if (r->n_decisions > 0 && r->decisions[0].action[0])
		return r->decisions[0].action;
	return r->action_name;
}

static const char *authorization_name(enum gw_decision d)
{
	return d == GW_DECISION_PUBLIC ? "public" : d == GW_DECISION_NONE ? "none" : "policy";
}

/* "a,b,c" -> ["a","b","c"]; empty items are skipped. */
static json_t *split_keys(const char *s)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (n > 0 && json_array_append_new(a, lossy_string(s, n)) != 0) {
			json_decref(a);
			return NULL;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return a;
}

static json_t *decisions_json(const struct gw_request *r, json_t **actions_out,
                              json_t **resources_out, const char **deny_reason)
{
	json_t *list = json_array(), *actions = json_array(), *resources = json_array();
	int bad = !list || !actions || !resources;
	*deny_reason = NULL;
	for (size_t i = 0; !bad && i < r->n_decisions; i++) {
		const struct gw_request_decision *d = &r->decisions[i];
		json_t *o = json_object();
		if (!o) {
			bad = 1;
			break;
		}
		const char *dn = gw_decision_name(d->decision);
		bad |= json_object_set_new(o, "action", lossy_string(d->action, strlen(d->action)));
		bad |= json_object_set_new(o, "resource",
		                           lossy_string(d->resource, strlen(d->resource)));
		bad |= json_object_set_new(o, "decision", dn ? json_string(dn) : json_null());
		if (d->decided_by[0])
			bad |= set_opt(o, "decidedBy", d->decided_by);
		if (d->policy[0])
			bad |= set_opt(o, "policy", d->policy);
		if (d->sid[0])
			bad |= set_opt(o, "sid", d->sid);
		if (d->statement_index >= 0 && (d->policy[0] || d->sid[0]))
			bad |= json_object_set_new(o, "statementIndex", json_integer(d->statement_index));
		bad |= json_object_set_new(o, "conditionKeys", split_keys(d->context_keys));
		if (d->reason[0])
			bad |= set_opt(o, "reason", d->reason);
		bad |= json_array_append_new(list, o);
		/* The distinct IAM actions and resource ARNs, in order. */
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(r->decisions[j].action, d->action) == 0;
		if (!seen && d->action[0])
			bad |= json_array_append_new(actions, lossy_string(d->action, strlen(d->action)));
		seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(r->decisions[j].resource, d->resource) == 0;
		if (!seen && d->resource[0] && strcmp(d->resource, "*") != 0) {
			json_t *res = json_object();
			bad |= !res;
			if (res) {
				bad |= json_object_set_new(res, "ARN",
				                           lossy_string(d->resource, strlen(d->resource)));
				bad |= json_array_append_new(resources, res);
			}
		}
		if (!*deny_reason && d->decision != GW_DECISION_ALLOW &&
		    d->decision != GW_DECISION_PUBLIC && d->reason[0])
			*deny_reason = d->reason;
	}
	if (!bad && r->n_decisions == 0 && r->action_name)
		bad |= json_array_append_new(actions, json_string(r->action_name));
	if (bad) {
		json_decref(list);
		json_decref(actions);
		json_decref(resources);
		return NULL;
	}
	*actions_out = actions;
	*resources_out = resources;
	return list;
}

/* The error message of a stopped request: what execute or a step said, or
 * the "message" of the JSON error body it set. */
static json_t *error_message(const struct gw_request *r)
{
	if (r->error_message)
		return lossy_string(r->error_message, strlen(r->error_message));
	if (!r->resp_body || r->status < 400)
		return NULL;
	json_t *body = json_loadb(r->resp_body, r->resp_len, 0, NULL);
	json_t *m = body ? json_object_get(body, "message") : NULL;
	if (!m && body)
		m = json_object_get(body, "Message");
	json_t *out = json_is_string(m) ? json_copy(m) : NULL;
	json_decref(body);
	return out;
}

/* Fields every record of a request carries. */
static int common_fields(json_t *o, const struct gw_request *r, const char *type)
{
	const struct gw_config *cfg = r->srv->cfg;
	char when[GW_LOG_TIME_LEN];
	if (gw_log_time_format(r->start_us, when) != 0)
		return -1;
	int bad = 0;
	bad |= json_object_set_new(o, "eventVersion", json_string(EVENT_VERSION));
	bad |= json_object_set_new(o, "eventTime", json_string(when));
	bad |= json_object_set_new(o, "eventSource", json_string(event_source(r)));
	const char *name = event_name(r);
	bad |= json_object_set_new(o, "eventName", name ? lossy_string(name, strlen(name))
	                                                  : json_null());
	bad |= json_object_set_new(o, "eventType", json_string("AwsApiCall"));
	bad |= json_object_set_new(o, "eventCategory", json_string("Management"));
	bad |= json_object_set_new(o, "awsRegion", json_string(cfg->region));
	bad |= json_object_set_new(o, "recipientAccountId", json_string(cfg->account_id));
	bad |= json_object_set_new(o, "requestID", json_string(r->id));
	bad |= json_object_set_new(o, "recordType", json_string(type));
	bad |= json_object_set_new(o, "sourceIPAddress", json_string(r->remote_addr));
	bad |= json_object_set_new(o, "userAgent", lossy_string(r->user_agent, r->user_agent_n));
	bad |= json_object_set_new(o, "userIdentity", user_identity(r->principal));
	bad |= json_object_set_new(o, "protocol", json_string(protocol_name(r->protocol)));
	bad |= json_object_set_new(o, "httpMethod", lossy_string(r->method, strlen(r->method)));
	bad |= json_object_set_new(o, "path", lossy_string(r->path, r->path_n));
	const char *decision = gw_decision_name(r->decision);
	bad |= json_object_set_new(o, "decision", decision ? json_string(decision) : json_null());
	bad |= json_object_set_new(o, "authorization",
	                           json_string(authorization_name(r->decision)));
	return bad ? -1 : 0;
}

static int outcome_fields(json_t *o, const struct gw_request *r, int64_t latency_us)
{
	int bad = 0;
	bad |= json_object_set_new(o, "httpStatus", json_integer(r->status));
	if (r->status >= 400 && r->error_code) {
		bad |= json_object_set_new(o, "errorCode", json_string(r->error_code));
		json_t *m = error_message(r);
		if (m)
			bad |= json_object_set_new(o, "errorMessage", m);
	}
	bad |= json_object_set_new(o, "latencyUs", json_integer(latency_us));
	return bad ? -1 : 0;
}

char *gw_audit_request_record(const struct gw_request *r, enum gw_audit_record_type type,
                              int64_t latency_us)
{
	static const char *const names[] = {"request", "decision", "outcome"};
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = common_fields(o, r, names[type]);
	if (!bad && type != GW_AUDIT_RECORD_OUTCOME) {
		json_t *actions = NULL, *resources = NULL;
		const char *deny_reason = NULL;
		json_t *ds = decisions_json(r, &actions, &resources, &deny_reason);
		if (!ds) {
			bad = 1;
		} else {
			bad |= json_object_set_new(o, "decisions", ds);
			bad |= json_object_set_new(o, "iamActions", actions);
			bad |= json_object_set_new(o, "resources", resources);
			if (deny_reason)
				bad |= set_opt(o, "denyReason", deny_reason);
		}
		json_t *params = NULL;
		if (r->audit_params) {
			params = json_loads(r->audit_params, JSON_REJECT_DUPLICATES, NULL);
			/* Decode promised JSON; anything else is not copied in: it
			 * might be a body holding a secret. */
			if (!params)
				params = json_string("(requestParameters were not valid JSON; "
				                     "left out)");
		}
		bad |= json_object_set_new(o, "requestParameters", params ? params : json_null());
	}
	if (!bad && type != GW_AUDIT_RECORD_DECISION)
		bad |= outcome_fields(o, r, latency_us);
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* The write itself: through the server's group-committing writer, or, where
 * none was opened (unit tests of single steps), one transaction of its own. */
static int append(struct gw_server *srv, const struct store_audit_event *ev, int64_t *seq,
                  struct store_error *se)
{
	if (srv->audit)
		return gw_audit_append(srv->audit, ev, seq, se);
	return store_audit_append_chained(srv->store, ev, 1, &gw_audit_hasher, seq, NULL, se);
}

static int write_request_record(struct gw_request *r, enum gw_audit_record_type type,
                                struct store_error *se)
{
	int64_t latency = gw_request_elapsed_us(r);
	if (latency < 0)
		latency = 0;
	char *record = gw_audit_request_record(r, type, latency);
	if (!record) {
		se->code = STORE_ERR_NOMEM;
		snprintf(se->message, sizeof(se->message), "out of memory building the record");
		return STORE_ERR_NOMEM;
	}
	bool has_outcome = type != GW_AUDIT_RECORD_DECISION;
	const char *who = r->principal && r->principal->kind != GW_PRINCIPAL_ANONYMOUS
	                      ? r->principal->arn
	                      : NULL;
	struct store_audit_event ev = {
	    .time_us = r->start_us,
	    .request_id = r->id,
	    .source_ip = r->remote_addr,
	    .principal = who,
	    .action = primary_action(r),
	    .decision = gw_decision_name(r->decision),
	    .has_status = has_outcome,
	    .status = (int)r->status,
	    .error_code = has_outcome && r->status >= 400 ? r->error_code : NULL,
	    .has_latency = has_outcome,
	    .latency_us = latency,
	    .record = record,
	};
	int64_t seq = 0;
	int rc = append(r->srv, &ev, &seq, se);
	free(record);
	if (rc == STORE_OK)
		r->audit_seq = seq;
	return rc;
}

static void log_failure(const struct gw_request *r, const char *what, const struct store_error *se)
{
	struct gw_log_line l;
	gw_log_begin(&l, r->srv->log, GW_LOG_ERROR, what);
	gw_log_str(&l, "request_id", r->id);
	gw_log_str(&l, "error", se->message);
	gw_log_end(&l);
}

int gw_step_audit(struct gw_request *r)
{
	/* A request stopped earlier has its answer already: one record holds
	 * decision and outcome. One going on to execute is recorded now and
	 * its outcome after. */
	bool stopped = r->status != 0;
	struct store_error se = {0};
	int rc = write_request_record(
	    r, stopped ? GW_AUDIT_RECORD_REQUEST : GW_AUDIT_RECORD_DECISION, &se);
	if (rc == STORE_OK) {
		r->audited = true;
		return GW_STEP_OK;
	}
	log_failure(r, "audit append failed", &se);
	r->allow = NULL;
	free(r->error_message);
	r->error_message = NULL;
	return gw_request_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
	                       "The audit log could not record this request; it was not "
	                       "carried out.");
}

int gw_step_audit_outcome(struct gw_request *r)
{
	struct store_error se = {0};
	if (write_request_record(r, GW_AUDIT_RECORD_OUTCOME, &se) == STORE_OK)
		return GW_STEP_OK;
	log_failure(r, "audit outcome append failed", &se);
	/* The action ran, but an answer would leave the log without its
	 * outcome: the caller is told the truth instead (docs/audit.md). */
	r->allow = NULL;
	r->content_type = NULL;
	return gw_request_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
	                       "The request was carried out, but the audit log could not "
	                       "record its outcome; check the state before retrying.");
}

/* ---- records that are not requests ---- */

static int set_json_text(json_t *o, const char *key, const char *text)
{
	if (!text)
		return 0;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new(o, key, v);
}

int gw_audit_record_event(struct gw_server *srv, const struct gw_audit_event *ev,
                          int64_t *seq_out, struct store_error *err)
{
	struct store_error local = {0};
	if (!err)
		err = &local;
	if (seq_out)
		*seq_out = 0;
	if (!srv || !ev || !ev->event_source || !ev->event_name) {
		err->code = STORE_ERR_INVALID;
		snprintf(err->message, sizeof(err->message),
		         "audit event: event_source and event_name are required");
		return STORE_ERR_INVALID;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t t = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	char rid[GW_REQUEST_ID_LEN + 1];
	const char *request_id = ev->request_id;
	if (!request_id) {
		if (gw_random_hex(rid, sizeof(rid), GW_REQUEST_ID_LEN / 2) != GW_SECRET_OK) {
			err->code = STORE_ERR_IO;
			snprintf(err->message, sizeof(err->message), "audit event: no randomness");
			return STORE_ERR_IO;
		}
		request_id = rid;
	}
	const struct gw_principal *p = ev->principal;
	const char *who = p && p->kind != GW_PRINCIPAL_ANONYMOUS ? p->arn : ev->principal_arn;
	char when[GW_LOG_TIME_LEN];
	json_t *o = json_object();
	int bad = !o || gw_log_time_format(t, when) != 0;
	if (!bad) {
		bad |= json_object_set_new(o, "eventVersion", json_string(EVENT_VERSION));
		bad |= json_object_set_new(o, "eventTime", json_string(when));
		bad |= set_opt(o, "eventSource", ev->event_source);
		bad |= set_opt(o, "eventName", ev->event_name);
		bad |= json_object_set_new(o, "eventType", json_string("AwsServiceEvent"));
		bad |= json_object_set_new(o, "eventCategory", json_string("Management"));
		bad |= json_object_set_new(o, "awsRegion", json_string(srv->cfg->region));
		bad |= json_object_set_new(o, "recipientAccountId",
		                           json_string(srv->cfg->account_id));
		bad |= json_object_set_new(o, "requestID", json_string(request_id));
		bad |= json_object_set_new(o, "recordType", json_string("event"));
		bad |= set_opt(o, "sourceIPAddress", ev->source_ip);
		bad |= set_opt(o, "userAgent", ev->user_agent);
		json_t *u = user_identity(p);
		if (u && (!p || p->kind == GW_PRINCIPAL_ANONYMOUS) && ev->principal_arn) {
			bad |= json_object_set_new(u, "type", json_string("AssumedRole"));
			bad |= set_opt(u, "arn", ev->principal_arn);
		}
		if (u && ev->access_key_id && !json_object_get(u, "accessKeyId"))
			bad |= set_opt(u, "accessKeyId", ev->access_key_id);
		bad |= json_object_set_new(o, "userIdentity", u);
		if (ev->iam_action) {
			json_t *acts = json_array();
			bad |= !acts || json_array_append_new(acts, json_string(ev->iam_action)) != 0;
			bad |= json_object_set_new(o, "iamActions", acts);
		}
		if (ev->resource) {
			json_t *res = json_array(), *one = json_object();
			bad |= !res || !one;
			if (one)
				bad |= set_opt(one, "ARN", ev->resource);
			bad |= json_array_append_new(res, one);
			bad |= json_object_set_new(o, "resources", res);
		}
		bad |= set_opt(o, "decision", ev->decision);
		if (ev->status)
			bad |= json_object_set_new(o, "httpStatus", json_integer(ev->status));
		bad |= set_opt(o, "errorCode", ev->error_code);
		bad |= set_opt(o, "errorMessage", ev->error_message);
		bad |= set_json_text(o, "requestParameters", ev->request_parameters);
		bad |= set_json_text(o, "responseElements", ev->response_elements);
		if (ev->latency_us >= 0)
			bad |= json_object_set_new(o, "latencyUs", json_integer(ev->latency_us));
	}
	char *record = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!record) {
		err->code = bad && o ? STORE_ERR_INVALID : STORE_ERR_NOMEM;
		snprintf(err->message, sizeof(err->message),
		         "audit event: the record could not be built (request_parameters and "
		         "response_elements must be JSON objects)");
		return err->code;
	}
	struct store_audit_event sev = {
	    .time_us = t,
	    .request_id = request_id,
	    .source_ip = ev->source_ip,
	    .principal = who,
	    .action = ev->iam_action ? ev->iam_action : ev->event_name,
	    .decision = ev->decision,
	    .has_status = ev->status != 0,
	    .status = (int)ev->status,
	    .error_code = ev->error_code,
	    .has_latency = ev->latency_us >= 0,
	    .latency_us = ev->latency_us >= 0 ? ev->latency_us : 0,
	    .record = record,
	};
	int rc = append(srv, &sev, seq_out, err);
	free(record);
	return rc;
}
