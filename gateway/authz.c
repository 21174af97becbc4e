/*
 * authz.c - gw_authorize: one AWS-style decision for one principal.
 *
 * The pieces exist elsewhere: the principal knows its global condition keys
 * (principal.c), the IAM snapshot knows which identity policies, boundary
 * and session policy apply to an entity (gw_iam_policies_for), and the policy
 * engine decides. This file only assembles them in the order AWS documents
 * and turns a deny into AWS's AccessDenied wording.
 *
 * Everything lives in fixed arrays inside one stack frame: a decision on the
 * request path never allocates, and every failure to assemble (too many
 * policies, too many context keys, a principal without its IAM entity) is a
 * deny with a reason, never an evaluation of part of the request.
 */
#include "gateway/authz.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway/iam.h"

/* Copies s into a fixed field, cut to fit. */
static void put(char *dst, size_t cap, const char *s, size_t n)
{
	if (!s)
		n = 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

void gw_authz_record(struct gw_request_decision *d, const struct policy_request *req,
                     const struct policy_result *res, const char *error)
{
	memset(d, 0, sizeof(*d));
	d->statement_index = -1;
	if (req) {
		put(d->action, sizeof(d->action), req->action.p, req->action.n);
		put(d->resource, sizeof(d->resource), req->resource.p, req->resource.n);
		/* The names of the keys present, never their values: a value may be
		 * a tag or claim the caller chose, and the names are what explains a
		 * condition's outcome. */
		size_t used = 0;
		for (size_t i = 0; req->context && i < req->ncontext; i++) {
			size_t kn = req->context[i].key.n;
			if (used + kn + 2 > sizeof(d->context_keys))
				break;
			if (used)
				d->context_keys[used++] = ',';
			memcpy(d->context_keys + used, req->context[i].key.p, kn);
			used += kn;
		}
		d->context_keys[used] = '\0';
	}
	if (error || !res || !req) {
		d->decision = GW_DECISION_IMPLICIT_DENY;
		put(d->decided_by, sizeof(d->decided_by), "error", 5);
		put(d->reason, sizeof(d->reason), error ? error : "not evaluated",
		    strlen(error ? error : "not evaluated"));
		return;
	}
	d->decision = res->decision == POLICY_ALLOW           ? GW_DECISION_ALLOW
	              : res->decision == POLICY_EXPLICIT_DENY ? GW_DECISION_EXPLICIT_DENY
	                                                      : GW_DECISION_IMPLICIT_DENY;
	const char *by = policy_type_name(res->decided_by);
	put(d->decided_by, sizeof(d->decided_by), by, by ? strlen(by) : 0);
	if (res->has_decider && res->decider.policy) {
		const char *id = policy_id(res->decider.policy);
		const char *sid = policy_statement_sid(res->decider.policy, res->decider.statement);
		put(d->policy, sizeof(d->policy), id, id ? strlen(id) : 0);
		put(d->sid, sizeof(d->sid), sid, sid ? strlen(sid) : 0);
		d->statement_index = (int)res->decider.statement;
	}
	size_t need = policy_explain(res, req, d->reason, sizeof(d->reason));
	if (need >= sizeof(d->reason))
		d->reason[sizeof(d->reason) - 1] = '\0';
}

__attribute__((format(printf, 4, 5))) static int fail(struct gw_authz_result *out,
                                                      const struct gw_authz_request *req,
                                                      int status, const char *f, ...)
{
	out->allowed = false;
	out->status = status;
	out->result.decision = POLICY_IMPLICIT_DENY;
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(out->message, sizeof(out->message), f, ap);
	va_end(ap);
	if (n < 0)
		out->message[0] = '\0';
	struct policy_request preq;
	memset(&preq, 0, sizeof(preq));
	if (req && req->action)
		preq.action = (struct policy_str){req->action, strlen(req->action)};
	if (req && req->resource)
		preq.resource = (struct policy_str){req->resource, strlen(req->resource)};
	gw_authz_record(&out->record, &preq, NULL, out->message);
	return status;
}

int gw_authorize(const struct gw_principal *p, const struct gw_authz_request *req,
                 struct gw_authz_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!p || !req || !req->action || !req->action[0] || !req->resource || !req->resource[0])
		return fail(out, req, GW_AUTHZ_ERR_ARG,
		            "authorization needs a principal, an action "
		            "and a resource");
	if (req->n_extra > GW_AUTHZ_MAX_CONTEXT - GW_PRINCIPAL_CTX_MAX ||
	    (req->n_extra && !req->extra))
		return fail(out, req, GW_AUTHZ_ERR_SPACE, "too many request context keys (%zu)",
		            req->n_extra);
	if (req->n_resource_policies > GW_AUTHZ_MAX_POLICIES ||
	    (req->n_resource_policies && !req->resource_policies))
		return fail(out, req, GW_AUTHZ_ERR_SPACE, "too many resource-based policies (%zu)",
		            req->n_resource_policies);

	struct policy_input inputs[GW_AUTHZ_MAX_POLICIES * 2];
	size_t n_inputs = 0;
	if (p->kind != GW_PRINCIPAL_ANONYMOUS && !req->resource_policies_only) {
		if (!p->iam || !p->entity)
			return fail(out, req, GW_AUTHZ_ERR_STATE,
			            "the principal %s has no IAM entity to authorize against",
			            p->arn ? p->arn : "(unnamed)");
		size_t cap = sizeof(inputs) / sizeof(inputs[0]) - req->n_resource_policies;
		int rc = gw_iam_policies_for(p->iam, p->entity, p->session_policy, inputs, cap,
		                             &n_inputs);
		if (rc != GW_IAM_OK)
			return fail(out, req, GW_AUTHZ_ERR_SPACE,
			            "the policies of %s do not fit one decision (%zu needed)",
			            p->arn, n_inputs);
	}
	for (size_t i = 0; i < req->n_resource_policies; i++)
		inputs[n_inputs++] = req->resource_policies[i];

	struct gw_principal_ctx pctx;
	if (gw_principal_context(p, req->now, req->region, &pctx) != 0)
		return fail(out, req, GW_AUTHZ_ERR_SPACE,
		            "the principal's condition keys do not fit");
	struct policy_ctx_entry ctx[GW_AUTHZ_MAX_CONTEXT];
	memcpy(ctx, pctx.entries, pctx.n * sizeof(ctx[0]));
	if (req->n_extra)
		memcpy(ctx + pctx.n, req->extra, req->n_extra * sizeof(ctx[0]));

	struct policy_request preq;
	memset(&preq, 0, sizeof(preq));
	gw_principal_to_policy(p, &preq.principal);
	preq.action.p = req->action;
	preq.action.n = strlen(req->action);
	preq.resource.p = req->resource;
	preq.resource.n = strlen(req->resource);
	preq.context = ctx;
	preq.ncontext = pctx.n + req->n_extra;

	if (policy_evaluate(inputs, n_inputs, &preq, &out->result) != POLICY_OK) {
		/* policy_evaluate already answered deny; say why for the log */
		return fail(out, req, GW_AUTHZ_ERR_EVAL,
		            "the request for %s could not be evaluated", req->action);
	}
	out->status = GW_AUTHZ_OK;
	out->allowed = out->result.decision == POLICY_ALLOW;
	gw_authz_record(&out->record, &preq, &out->result, NULL);
	if (!out->allowed)
		policy_deny_message(&out->result, &preq, out->message, sizeof(out->message));
	return GW_AUTHZ_OK;
}
