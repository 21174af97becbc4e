/*
 * authz.h - one authorization decision for an authenticated principal
 * (private to gateway/).
 *
 * Every route that does something asks the same question: may this principal
 * perform this IAM action on this resource, in this context? gw_authorize
 * answers it the way AWS does: the principal's global condition keys plus the
 * route's request keys form the request; the principal's identity policies,
 * its permissions boundary, its session policy and any resource-based
 * policies the route supplies are the inputs; policy_evaluate decides. A
 * deny comes back with AWS's AccessDenied wording so the route can send it.
 *
 * The decision is made in fixed buffers (no allocation) and fails closed:
 * any error (a principal without its IAM snapshot, too many policies or
 * context keys, an evaluation error) is a deny with a message saying why.
 */
#ifndef TASKGATE_GATEWAY_AUTHZ_H
#define TASKGATE_GATEWAY_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/principal.h"
#include "gateway/request.h"
#include "policy/policy.h"

enum gw_authz_status {
	GW_AUTHZ_OK = 0,         /* evaluated: see result.decision */
	GW_AUTHZ_ERR_ARG = -1,   /* NULL or empty action, resource */
	GW_AUTHZ_ERR_STATE = -2, /* principal has no IAM entity / snapshot */
	GW_AUTHZ_ERR_SPACE = -3, /* too many policies or context keys */
	GW_AUTHZ_ERR_EVAL = -4,  /* policy_evaluate refused the request */
};

/* Policies of one decision beyond the identity side: at most this many. */
#define GW_AUTHZ_MAX_POLICIES 64
/* Context keys of one decision: the principal's plus the extras. */
#define GW_AUTHZ_MAX_CONTEXT (GW_PRINCIPAL_CTX_MAX + 64)

struct gw_authz_request {
	const char *action;   /* "ecs:RunTask" */
	const char *resource; /* an ARN, or "*" */
	/* request keys of the route: ecs:cluster, aws:RequestTag/k, aws:TagKeys... */
	const struct policy_ctx_entry *extra;
	size_t n_extra;
	/* resource-based policies on the resource (POLICY_RESOURCE or POLICY_TRUST) */
	const struct policy_input *resource_policies;
	size_t n_resource_policies;
	int64_t now;        /* epoch seconds */
	const char *region; /* aws:RequestedRegion; NULL: absent */
	/* Evaluate only resource_policies (a role's trust policy), without the
	 * principal's identity policies, boundary and session policy: the
	 * resource side of a decision AWS takes in two parts (AssumeRole). */
	bool resource_policies_only;
};

struct gw_authz_result {
	bool allowed; /* the one field a caller must read */
	int status;   /* an enum gw_authz_status */
	struct policy_result result;
	/* Deny: AWS's AccessDenied message ("User: arn... is not authorized to
	 * perform: ecs:RunTask on resource: ... because ..."); or, for an error,
	 * what went wrong. "" on Allow. */
	char message[1536];
	/* The decision as the audit record keeps it (request.h), filled on every
	 * path, errors included: pass it to gw_request_add_decision. */
	struct gw_request_decision record;
};

/* Decides; returns out->status. out->allowed is true only for an evaluated
 * Allow. */
int gw_authorize(const struct gw_principal *p, const struct gw_authz_request *req,
                 struct gw_authz_result *out);

/*
 * Fills d from an evaluated request (action, resource, the decision, the
 * deciding policy type, policy, Sid and index, the context key names and
 * policy_explain's reason). error != NULL records a request that could not be
 * evaluated: an implicit deny with that reason. For callers that evaluate
 * with policy_evaluate directly (web identity trust policies).
 */
void gw_authz_record(struct gw_request_decision *d, const struct policy_request *req,
                     const struct policy_result *res, const char *error);

#endif
