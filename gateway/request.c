/*
 * request.c - the request context and the road every API request walks.
 *
 * The road is written out as a straight sequence in gw_request_run so that its
 * order can be read in one place: the first three steps may stop a request,
 * audit always runs, execute runs only for a request nobody stopped and whose
 * record is durable, respond always runs. Each step fills its own fields of
 * the request and reads only what earlier steps filled.
 *
 * What is logged and audited about a request is chosen field by field here and
 * in server.c. Header values are never copied wholesale: Authorization and
 * X-Amz-Security-Token carry credentials, and the query string (which SigV4
 * pre-signed URLs use for the same purpose) is not part of the path we keep.
 */
#include "gateway/request.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "gateway/ecs.h"
#include "gateway/authn.h"
#include "gateway/authz.h"
#include "gateway/principal.h"
#include "gateway/secret.h"
#include "gateway/server.h"
#include "gateway/sigv4.h"
#include "gateway/sts.h"
#include "store/store.h"

#define CONTENT_TYPE_JSON "application/json"

static void remote_address(struct MHD_Connection *conn, char *out, size_t out_size)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *ok = NULL;
	out[0] = '\0';
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			               (socklen_t)out_size);
		else if (sa->sa_family == AF_INET6)
			ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			               (socklen_t)out_size);
	}
	if (!ok && out_size > 1) {
		out[0] = '-';
		out[1] = '\0';
	}
}

struct gw_request *gw_request_alloc(const char *raw_uri)
{
	struct gw_request *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	size_t n = strlen(raw_uri);
	r->raw_uri = malloc(n + 1);
	if (!r->raw_uri) {
		free(r);
		return NULL;
	}
	memcpy(r->raw_uri, raw_uri, n + 1);
	r->raw_uri_n = n;
	return r;
}

struct gw_request *gw_request_new(struct gw_server *srv, struct MHD_Connection *conn,
                                  const char *method, const char *url, struct gw_request *pre)
{
	struct gw_request *r = pre ? pre : calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->srv = srv;
	r->conn = conn;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &r->start_mono);
	clock_gettime(CLOCK_REALTIME, &now);
	r->start_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	if (gw_random_hex(r->id, sizeof(r->id), GW_REQUEST_ID_LEN / 2) != GW_SECRET_OK) {
		r->conn = NULL;
		gw_request_free(r);
		return NULL;
	}
	remote_address(conn, r->remote_addr, sizeof(r->remote_addr));

	size_t mn = strlen(method);
	if (mn >= sizeof(r->method))
		mn = sizeof(r->method) - 1;
	memcpy(r->method, method, mn);
	r->method[mn] = '\0';

	/* The URL lives in the connection's memory pool, which
	 * limits.connection_memory_bytes bounds; a copy keeps it for the log
	 * line written after the pool is gone. */
	r->path_n = strlen(url);
	r->path = malloc(r->path_n + 1);
	if (!r->path) {
		r->conn = NULL;
		gw_request_free(r);
		return NULL;
	}
	memcpy(r->path, url, r->path_n + 1);

	const char *ua;
	size_t ua_n;
	if (gw_request_header(r, MHD_HTTP_HEADER_USER_AGENT, &ua, &ua_n)) {
		if (ua_n > GW_REQUEST_UA_MAX)
			ua_n = GW_REQUEST_UA_MAX;
		memcpy(r->user_agent, ua, ua_n);
		r->user_agent_n = ua_n;
	}
	r->user_agent[r->user_agent_n] = '\0';
	return r;
}

void gw_request_free(struct gw_request *r)
{
	if (!r)
		return;
	if (r->body) {
		OPENSSL_cleanse(r->body, r->body_cap);
		free(r->body);
	}
	gw_principal_free(r->principal);
	gw_ecs_call_free(r->ecs);
	free(r->decisions);
	gw_sts_call_free(r->sts_call);
	free(r->audit_params);
	free(r->error_message);
	free(r->path);
	free(r->raw_uri);
	if (r->resp_body && r->resp_secret)
		OPENSSL_cleanse(r->resp_body, r->resp_len);
	free(r->resp_body);
	free(r);
}

bool gw_request_header(const struct gw_request *r, const char *name, const char **value, size_t *n)
{
	const char *v = NULL;
	size_t vn = 0;
	if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, name, strlen(name), &v, &vn) !=
	        MHD_YES ||
	    !v)
		return false;
	*value = v;
	*n = vn;
	return true;
}

int64_t gw_request_elapsed_us(const struct gw_request *r)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - r->start_mono.tv_sec) * 1000000 +
	       (now.tv_nsec - r->start_mono.tv_nsec) / 1000;
}

const char *gw_decision_name(enum gw_decision d)
{
	switch (d) {
	case GW_DECISION_NONE:
		return NULL;
	case GW_DECISION_PUBLIC:
	case GW_DECISION_ALLOW:
		return "Allow";
	case GW_DECISION_EXPLICIT_DENY:
		return "ExplicitDeny";
	case GW_DECISION_IMPLICIT_DENY:
		return "ImplicitDeny";
	}
	return NULL;
}

/* Drops the response body, wiping it when it held credentials. */
static void drop_body(struct gw_request *r)
{
	if (r->resp_body && r->resp_secret)
		OPENSSL_cleanse(r->resp_body, r->resp_len);
	free(r->resp_body);
	r->resp_body = NULL;
	r->resp_len = 0;
	r->resp_secret = false;
}

/* Replaces the response body with the compact JSON of obj (consumed). */
static void set_body(struct gw_request *r, json_t *obj)
{
	drop_body(r);
	if (!obj)
		return;
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s) {
		r->resp_body = s;
		r->resp_len = strlen(s);
	}
}

int gw_request_fail(struct gw_request *r, unsigned status, const char *error_code,
                    const char *message)
{
	r->content_type = NULL;
	r->status = status;
	r->error_code = error_code;
	/* On out of memory the status still goes out, with an empty body. */
	set_body(r, json_pack("{s:s, s:s}", "__type", error_code, "message", message));
	return GW_STEP_STOP;
}

int gw_request_set_json(struct gw_request *r, unsigned status, struct json_t *obj)
{
	set_body(r, obj);
	if (!r->resp_body)
		return gw_request_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
		                       "The gateway is out of memory.");
	r->status = status;
	return GW_STEP_OK;
}

bool gw_request_add_decision(struct gw_request *r, const struct gw_request_decision *d)
{
	if (r->n_decisions >= GW_REQUEST_DECISIONS_MAX)
		return false;
	if (r->n_decisions == r->decisions_cap) {
		size_t cap = r->decisions_cap ? r->decisions_cap * 2 : 4;
		if (cap > GW_REQUEST_DECISIONS_MAX)
			cap = GW_REQUEST_DECISIONS_MAX;
		struct gw_request_decision *nd = realloc(r->decisions, cap * sizeof(*nd));
		if (!nd)
			return false;
		r->decisions = nd;
		r->decisions_cap = cap;
	}
	r->decisions[r->n_decisions++] = *d;
	/* The overall decision: Allow only while every question was allowed. */
	if (r->n_decisions == 1 || r->decision == GW_DECISION_ALLOW)
		r->decision = d->decision;
	return true;
}

/* ---- the steps ---- */

int gw_step_authenticate(struct gw_request *r)
{
	/* Client certificate, SigV4, bearer token or host role; none of them
	 * leaves r->principal NULL (anonymous) for later steps to judge. */
	return gw_authn_authenticate(r);
}

static bool method_is(const struct gw_request *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

/* ---- STS on the road ---- */

#define CONTENT_TYPE_XML "text/xml"

/* Moves an STS response into r; GW_STEP_OK for a success, STOP for an error. */
static int sts_respond(struct gw_request *r, struct gw_sts_response *resp)
{
	drop_body(r);
	r->content_type = CONTENT_TYPE_XML;
	r->allow = NULL;
	if (!resp->body) {
		gw_sts_response_free(resp);
		return gw_authn_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalFailure",
		                     "The gateway is out of memory.");
	}
	r->status = (unsigned)resp->http_status;
	r->error_code = resp->error_code;
	r->resp_body = resp->body;
	r->resp_len = resp->body_n;
	r->resp_secret = resp->error_code == NULL; /* issued credentials */
	resp->body = NULL;
	resp->body_n = 0;
	if (resp->error_code && resp->message[0]) {
		free(r->error_message);
		r->error_message = strdup(resp->message);
	}
	return resp->error_code ? GW_STEP_STOP : GW_STEP_OK;
}

/* The STS parameters: the form-encoded body of a POST, the query of a GET. */
static int sts_params(struct gw_request *r, const char **p, size_t *n)
{
	*p = "";
	*n = 0;
	if (method_is(r, MHD_HTTP_METHOD_GET)) {
		const char *q = r->raw_uri ? memchr(r->raw_uri, '?', r->raw_uri_n) : NULL;
		if (q) {
			*p = q + 1;
			*n = r->raw_uri_n - (size_t)(q + 1 - r->raw_uri);
			const char *hash = memchr(*p, '#', *n);
			if (hash)
				*n = (size_t)(hash - *p);
		}
		return 0;
	}
	const char *ct = NULL;
	size_t ct_n = 0;
	static const char form[] = "application/x-www-form-urlencoded";
	const size_t fn = sizeof(form) - 1;
	if (r->body_len > 0 &&
	    (!r->conn || !gw_request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, &ct, &ct_n) ||
	     ct_n < fn || strncasecmp(ct, form, fn) != 0 ||
	     (ct_n > fn && ct[fn] != ';' && ct[fn] != ' ')))
		return -1;
	*p = r->body_len ? (const char *)r->body : "";
	*n = r->body_len;
	return 0;
}

static int sts_missing_auth(struct gw_request *r)
{
	return gw_authn_fail(r, MHD_HTTP_FORBIDDEN, "MissingAuthenticationToken",
	                     "Request is missing Authentication Token");
}

static int decode_sts(struct gw_request *r)
{
	r->route = GW_ROUTE_STS;
	r->action_name = "sts:Unknown";
	if (!method_is(r, MHD_HTTP_METHOD_POST) && !method_is(r, MHD_HTTP_METHOD_GET)) {
		int st = gw_authn_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "MethodNotAllowed",
		                       "STS answers POST and GET only.");
		r->allow = "GET, POST";
		return st;
	}
	const char *p;
	size_t n;
	if (sts_params(r, &p, &n) != 0) {
		if (!r->principal)
			return sts_missing_auth(r);
		return gw_authn_fail(r, MHD_HTTP_BAD_REQUEST, "InvalidParameterValue",
		                     "STS takes application/x-www-form-urlencoded parameters.");
	}
	struct gw_sts_response resp;
	if (gw_sts_call_decode(p, n, r->id, &r->sts_call, &resp) != 0) {
		if (resp.action)
			r->api_action = resp.action;
		if (!r->principal) {
			gw_sts_response_free(&resp);
			return sts_missing_auth(r);
		}
		return sts_respond(r, &resp);
	}
	r->api_action = gw_sts_call_action(r->sts_call);
	r->audit_params = gw_sts_call_audit_params(r->sts_call);
	if (!r->audit_params)
		return gw_authn_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
		                     "The gateway is out of memory.");
	/* The IAM action the call is about; authorize records each question. */
	r->action_name = strcmp(r->api_action, "AssumeRoleWithWebIdentity") == 0
	                     ? "sts:AssumeRoleWithWebIdentity"
	                 : strcmp(r->api_action, "AssumeRole") == 0 ? "sts:AssumeRole"
	                                                            : "sts:GetCallerIdentity";
	/* Only AssumeRoleWithWebIdentity is served to an unsigned caller. */
	if (!r->principal && strcmp(r->api_action, "AssumeRoleWithWebIdentity") != 0)
		return sts_missing_auth(r);
	return GW_STEP_OK;
}

int gw_step_decode(struct gw_request *r)
{
	/* The size limit comes first: it is a property of the transport, and a
	 * body we did not keep cannot be decoded. */
	if (r->body_too_large)
		return gw_authn_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "RequestEntityTooLarge",
		                     "The request body is larger than this gateway accepts.");
	if (r->path_n == 7 && memcmp(r->path, "/health", 7) == 0) {
		if (!method_is(r, MHD_HTTP_METHOD_GET) && !method_is(r, MHD_HTTP_METHOD_HEAD)) {
			r->allow = "GET, HEAD";
			return gw_request_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "MethodNotAllowed",
			                       "This path answers GET and HEAD only.");
		}
		r->route = GW_ROUTE_HEALTH;
		r->action_name = "taskgate:GetHealth";
		return GW_STEP_OK;
	}
	if (r->protocol == GW_PROTO_QUERY)
		return decode_sts(r);
	if (r->protocol == GW_PROTO_JSON && !r->principal) {
		/* Nothing in the JSON protocol is public. */
		struct gw_sigv4_wire w =
		    gw_sigv4_wire_error(GW_SIGV4_ERR_MISSING, GW_SIGV4_PROTO_JSON);
		return gw_authn_fail(r, w.http_status, w.code, "Missing Authentication Token");
	}
	const char *target;
	size_t target_n;
	if (r->path_n == 1 && r->path[0] == '/' &&
	    gw_request_header(r, "X-Amz-Target", &target, &target_n))
		return gw_ecs_decode(r);
	return gw_request_fail(r, MHD_HTTP_NOT_FOUND, "NotFound", "There is nothing at this path.");
}

static int authorize_sts(struct gw_request *r)
{
	struct gw_iam *iam = r->principal && r->principal->iam ? gw_iam_ref(r->principal->iam)
	                                                       : gw_iam_live_get(&r->srv->iam);
	struct gw_sts_env env;
	gw_authn_sts_env(r, iam, &env);
	struct gw_request_decision *dec = calloc(GW_STS_DECISIONS_MAX, sizeof(*dec));
	if (!dec) {
		gw_iam_unref(iam);
		return gw_authn_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
		                     "The gateway is out of memory.");
	}
	struct gw_sts_response resp;
	size_t n = 0;
	int rc = gw_sts_call_authorize(&env, r->principal, r->sts_call, dec,
	                               GW_STS_DECISIONS_MAX, &n, &resp);
	gw_iam_unref(iam); /* the call holds its own reference */
	bool all = true;
	for (size_t i = 0; i < n; i++)
		all &= gw_request_add_decision(r, &dec[i]);
	free(dec);
	if (rc != 0) {
		/* A refusal before any policy was asked (a bad token, a bad
		 * duration) still denies. */
		if (r->decision == GW_DECISION_NONE || r->decision == GW_DECISION_ALLOW)
			r->decision = GW_DECISION_IMPLICIT_DENY;
		return sts_respond(r, &resp);
	}
	gw_sts_response_free(&resp);
	if (!all || r->decision != GW_DECISION_ALLOW) {
		r->decision = GW_DECISION_IMPLICIT_DENY;
		return gw_authn_fail(r, MHD_HTTP_FORBIDDEN, "AccessDenied",
		                     "This request is not authorized.");
	}
	return GW_STEP_OK;
}

int gw_step_authorize(struct gw_request *r)
{
	switch (r->route) {
	case GW_ROUTE_HEALTH:
		r->decision = GW_DECISION_PUBLIC;
		return GW_STEP_OK;
	case GW_ROUTE_STS:
		if (!r->sts_call)
			break;
		return authorize_sts(r);
	case GW_ROUTE_ECS:
		if (!r->principal) {
			struct gw_sigv4_wire w =
			    gw_sigv4_wire_error(GW_SIGV4_ERR_MISSING, GW_SIGV4_PROTO_JSON);
			r->decision = GW_DECISION_IMPLICIT_DENY;
			return gw_authn_fail(r, w.http_status, w.code,
			                     "Missing Authentication Token");
		}
		return gw_ecs_authorize(r);
	case GW_ROUTE_NONE:
		break;
	}
	/* A route nobody listed here is denied: new routes must be added on
	 * purpose, with their authorization. */
	r->decision = GW_DECISION_IMPLICIT_DENY;
	return gw_authn_fail(r, MHD_HTTP_FORBIDDEN,
	                     r->protocol == GW_PROTO_QUERY ? "AccessDenied"
	                                                   : "AccessDeniedException",
	                     "This request is not authorized.");
}

static int execute_sts(struct gw_request *r)
{
	struct gw_sts_env env;
	gw_authn_sts_env(r, NULL, &env);
	struct gw_sts_response resp;
	(void)gw_sts_call_execute(&env, r->principal, r->sts_call, &resp);
	if (resp.issued_key_id[0]) {
		struct gw_log_line l;
		gw_log_begin(&l, r->srv->log, GW_LOG_INFO, "sts credentials issued");
		gw_log_str(&l, "request_id", r->id);
		gw_log_str(&l, "action", r->api_action);
		gw_log_str(&l, "access_key_id", resp.issued_key_id);
		gw_log_end(&l);
	}
	return sts_respond(r, &resp);
}

int gw_step_execute(struct gw_request *r)
{
	switch (r->route) {
	case GW_ROUTE_HEALTH:
		return gw_health_execute(r);
	case GW_ROUTE_STS:
		if (r->sts_call)
			return execute_sts(r);
		break;
	case GW_ROUTE_ECS:
		return gw_ecs_execute(r);
	case GW_ROUTE_NONE:
		break;
	}
	return gw_request_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalFailure",
	                       "The gateway has no handler for this request.");
}

struct wiped {
	char *p;
	size_t n;
};

static void wipe_free(void *cls)
{
	struct wiped *w = cls;
	OPENSSL_cleanse(w->p, w->n);
	free(w->p);
	free(w);
}

int gw_step_respond(struct gw_request *r)
{
	struct MHD_Response *resp;
	if (r->resp_body && r->resp_secret) {
		/* Credentials: hand the buffer over and wipe it once sent. */
		struct wiped *w = malloc(sizeof(*w));
		resp = w ? MHD_create_response_from_buffer_with_free_callback_cls(
		               r->resp_len, r->resp_body, wipe_free, w)
		         : NULL;
		if (resp) {
			w->p = r->resp_body;
			w->n = r->resp_len;
			r->resp_body = NULL;
			r->resp_len = 0;
			r->resp_secret = false;
		} else {
			free(w);
		}
	} else if (r->resp_body)
		resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body,
		                                       MHD_RESPMEM_MUST_COPY);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return GW_STEP_STOP;
	const char *ctype = r->content_type ? r->content_type : CONTENT_TYPE_JSON;
	bool ok =
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES &&
	    MHD_add_response_header(resp, "x-amzn-RequestId", r->id) == MHD_YES &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
	if (ok && r->allow)
		ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) == MHD_YES;
	/* During shutdown, tell keep-alive clients not to send another request
	 * on this connection: it is about to close. */
	if (ok && atomic_load(&r->srv->draining))
		ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
	if (!ok) {
		MHD_destroy_response(resp);
		return GW_STEP_STOP;
	}
	enum MHD_Result q = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	if (q != MHD_YES)
		return GW_STEP_STOP;
	r->responded = true;
	return GW_STEP_OK;
}

void gw_request_run(struct gw_request *r)
{
	int st = gw_step_authenticate(r);
	if (st == GW_STEP_OK)
		st = gw_step_decode(r);
	if (st == GW_STEP_OK)
		st = gw_step_authorize(r);
	/* Every request is recorded, stopped or not; without a record it ends
	 * here with the 503 audit has set. A request going on to execute has
	 * its decision committed first and its outcome after, before the
	 * answer leaves (gateway/audit_record.c). */
	int audited = gw_step_audit(r);
	if (audited == GW_STEP_OK && st == GW_STEP_OK) {
		(void)gw_step_execute(r);
		if (r->status == 0)
			(void)gw_request_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalFailure",
			                      "The request produced no response.");
		(void)gw_step_audit_outcome(r);
	}
	if (r->status == 0)
		(void)gw_request_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalFailure",
		                      "The request produced no response.");
	(void)gw_step_respond(r);
}
