/*
 * request.h - one API request and the road it walks (private to gateway/).
 *
 * A struct gw_request is made when a request's headers have arrived and freed
 * when libmicrohttpd reports it complete; everything the gateway learns about
 * the request on the way lives in it, so no step needs to look anywhere else
 * and nothing about a request outlives it. Its road, in this order:
 *
 *     authenticate -> decode -> authorize -> audit -> execute -> respond
 *
 * Each step is one function that takes the request, fills its own fields and
 * returns GW_STEP_OK to let the request go on, or GW_STEP_STOP once it has set
 * the response status and error (a 404 from decode, later a 403 from
 * authorize). A stopped request still passes through audit, so every request
 * leaves a record, and through respond. Audit failing stops everything with a
 * 503: no record, no answer (fail closed).
 *
 * Today the road carries only GET /health, which needs no identity: the
 * principal stays NULL (anonymous) and authorize marks the route public. The
 * fields reserved for principal, action and decision are where later issues
 * put JWT/SigV4/mTLS identities, decoded ECS actions and policy decisions.
 */
#ifndef TASKGATE_GATEWAY_REQUEST_H
#define TASKGATE_GATEWAY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct MHD_Connection;
struct gw_server;
struct gw_principal; /* who is calling: comes with authentication */
struct gw_action;    /* a decoded API action: comes with the ECS API */
struct gw_ecs_call;  /* a decoded ECS call: gateway/ecs.h */
struct gw_sts_call;  /* a decoded STS call: gateway/sts.h */

/* The wire protocol a request speaks, which decides the shape of its errors
 * (set by authenticate, from headers, method and path). */
enum gw_protocol {
	GW_PROTO_REST = 0, /* plain JSON routes (/health) */
	GW_PROTO_JSON,     /* AWS JSON 1.1: X-Amz-Target (ECS) */
	GW_PROTO_QUERY,    /* AWS query: form-encoded Action=... (STS), XML answers */
};

enum gw_step_status {
	GW_STEP_OK = 0,    /* go on to the next step */
	GW_STEP_STOP = -1, /* the response is decided (status and error set) */
};

enum gw_route {
	GW_ROUTE_NONE = 0, /* not decoded yet, or no such path */
	GW_ROUTE_HEALTH,   /* GET|HEAD /health */
	GW_ROUTE_STS,      /* POST / (or GET /?Action=) in the query protocol: gateway/sts.c */
	GW_ROUTE_ECS,      /* POST / with X-Amz-Target: AmazonEC2ContainerServiceV20141113.* */
};

enum gw_decision {
	GW_DECISION_NONE = 0,      /* not authorized (stopped before authorize) */
	GW_DECISION_PUBLIC,        /* a route that needs no identity (/health) */
	GW_DECISION_ALLOW,         /* policy evaluation allowed the action */
	GW_DECISION_EXPLICIT_DENY, /* a Deny statement matched */
	GW_DECISION_IMPLICIT_DENY, /* nothing allowed it */
};

/*
 * One authorization decision made for a request. A request may need several
 * (RunTask asks for ecs:RunTask on the task definition and iam:PassRole on its
 * roles; AssumeRole for the caller's sts:AssumeRole and the role's trust
 * policy). Whoever authorizes appends one per question with
 * gw_request_add_decision; the audit step records them all. The request's
 * overall r->decision is the first non-Allow one, or Allow.
 */
/* At most this many per request: an ECS Describe call names up to 100
 * resources, each its own question, plus iam:PassRole and tag-on-create
 * questions. The array grows as decisions are added. */
#define GW_REQUEST_DECISIONS_MAX 128
#define GW_REQUEST_CTX_KEYS_MAX 512
struct gw_request_decision {
	char action[128];            /* IAM action: "ecs:RunTask" */
	char resource[1024];         /* ARN, or "*" */
	enum gw_decision decision;   /* ALLOW, EXPLICIT_DENY or IMPLICIT_DENY */
	char decided_by[32];         /* policy type that decided: "identity", "boundary", ... */
	char policy[128];            /* deciding statement's policy name ("" if none) */
	char sid[128];               /* its Sid ("" if none) */
	int statement_index;         /* its index in the policy, -1 if none */
	char context_keys[GW_REQUEST_CTX_KEYS_MAX]; /* condition keys present, comma-separated */
	char reason[768];            /* policy_explain text; never a secret */
};

/* 128 random bits as 32 lower-case hex digits. */
#define GW_REQUEST_ID_LEN 32
/* The user agent is kept for the log; longer ones are cut. */
#define GW_REQUEST_UA_MAX 256

struct gw_request {
	struct gw_server *srv;       /* borrowed: config, log, store */
	struct MHD_Connection *conn; /* borrowed: header access while the request lives */
	char id[GW_REQUEST_ID_LEN + 1];
	int64_t start_us;           /* wall clock, microseconds since the epoch */
	struct timespec start_mono; /* for the latency */
	char remote_addr[64];       /* numeric, no port: "127.0.0.1", "::1" */
	char method[16];            /* as sent, cut to 15 bytes ("GET") */
	char *path;                 /* owned, NUL-terminated; the query string is not in it */
	size_t path_n;
	/* The request target exactly as on the wire (undecoded, with the query),
	 * for SigV4; NULL when the request was made without one (tests). Never
	 * logged: a presigned URL carries credentials in its query. */
	char *raw_uri; /* owned */
	size_t raw_uri_n;
	char user_agent[GW_REQUEST_UA_MAX + 1];
	size_t user_agent_n;

	/* The body, capped at limits.max_body_bytes before any byte is stored. */
	unsigned char *body; /* owned; wiped when freed (it may hold secrets) */
	size_t body_len;
	size_t body_cap;
	bool body_too_large;

	/* Filled by the steps, in road order. */
	enum gw_protocol protocol;            /* authenticate */
	struct gw_principal *principal;       /* authenticate, owned: NULL is anonymous */
	enum gw_route route;                  /* decode */
	const struct gw_action *action;       /* decode: NULL until the ECS API */
	struct gw_ecs_call *ecs;              /* decode (GW_ROUTE_ECS): owned, gateway/ecs.h */
	struct gw_sts_call *sts_call;         /* decode (GW_ROUTE_STS): owned, gateway/sts.h */
	const char *action_name;              /* decode: "taskgate:GetHealth", static */
	enum gw_decision decision;            /* authorize: the overall decision */
	/* authorize, in order; owned, grown by gw_request_add_decision */
	struct gw_request_decision *decisions;
	size_t n_decisions;
	size_t decisions_cap;
	/* decode: the protocol action ("AssumeRole", "RunTask"; static or owned by
	 * the route's state) and requestParameters for the audit record as compact
	 * JSON with every secret removed (owned, may stay NULL). */
	const char *api_action;
	char *audit_params;
	/* execute: a short outcome text for the audit record (an error message;
	 * never a secret), owned, may stay NULL. */
	char *error_message;
	bool audited;                         /* audit: the record is durable */
	int64_t audit_seq;                    /* audit: the record's sequence number */

	/* The response, decided by a step that stops or by execute. */
	const char *content_type; /* static; NULL: application/json */
	unsigned status;
	const char *error_code; /* static: "NotFound", "ServiceUnavailable", ... */
	const char *allow;      /* static: the Allow header of a 405 */
	char *resp_body;        /* owned, malloc'd JSON */
	size_t resp_len;
	bool resp_secret; /* the body carries credentials: wiped once sent or freed */
	bool responded; /* a response was queued */
};

/* An empty request holding only a copy of the raw URI (the URI log callback
 * makes it before the URL is unescaped); NULL when out of memory. */
struct gw_request *gw_request_alloc(const char *raw_uri);

/* Fills a request for a connection: id, times, remote address, method, path
 * and user agent. pre is what gw_request_alloc made, or NULL for a fresh one;
 * it is taken over (freed on failure). NULL when out of memory or out of
 * randomness. */
struct gw_request *gw_request_new(struct gw_server *srv, struct MHD_Connection *conn,
                                  const char *method, const char *url, struct gw_request *pre);
/* Wipes the body, frees everything; NULL is fine. */
void gw_request_free(struct gw_request *r);

/* A request header's value as a length-counted slice (borrowed from the
 * connection); false when the header is absent. Names match case-blind. */
bool gw_request_header(const struct gw_request *r, const char *name, const char **value, size_t *n);

/* Appends a decision (copies d); false when GW_REQUEST_DECISIONS_MAX are
 * already there or memory ran out, which the caller must treat as a deny.
 * Updates r->decision. */
bool gw_request_add_decision(struct gw_request *r, const struct gw_request_decision *d);

/* Microseconds since the request began. */
int64_t gw_request_elapsed_us(const struct gw_request *r);

/* Sets status, error code and a JSON error body ({"__type":..., "message":...});
 * always returns GW_STEP_STOP so a step can `return gw_request_fail(...)`. */
int gw_request_fail(struct gw_request *r, unsigned status, const char *error_code,
                    const char *message);

/* Sets status and the response body to the compact JSON of obj (consumed);
 * out of memory turns into a 503. Returns a step status. */
struct json_t;
int gw_request_set_json(struct gw_request *r, unsigned status, struct json_t *obj);

/* The steps of the road, in order; see the top of this file. */
int gw_step_authenticate(struct gw_request *r);
int gw_step_decode(struct gw_request *r);
int gw_step_authorize(struct gw_request *r);
int gw_step_audit(struct gw_request *r);
/* After execute: the outcome record (status, error, latency), linked to the
 * decision record by the request id. A failure turns the answer into a 503
 * although the action ran (docs/audit.md says so). gateway/audit_record.c. */
int gw_step_audit_outcome(struct gw_request *r);
int gw_step_execute(struct gw_request *r);
int gw_step_respond(struct gw_request *r);

/* Route handlers, called by execute. health.c: the JSON of GET /health. */
int gw_health_execute(struct gw_request *r);

/* Walks the whole road; the response is queued unless the connection failed. */
void gw_request_run(struct gw_request *r);

const char *gw_decision_name(enum gw_decision d);

#endif
