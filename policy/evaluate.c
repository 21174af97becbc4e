/*
 * evaluate.c - one request against a set of typed policies: AWS's evaluation
 * logic, without allocating and without failing open.
 *
 * The walk: for each policy, in input order, the statements that can match
 * the action (from the compile-time index: the literal action's bucket, the
 * service prefix's bucket of wildcard patterns, and the short list of
 * NotAction and prefix-wildcard statements, merged in statement order) are
 * tested for action, resource, principal (resource-based and trust policies),
 * unresolved variables, and conditions. Every statement that matches is
 * recorded. Then the decision, in AWS's order:
 *
 *   1. any matching Deny, in any policy          -> ExplicitDeny
 *   2. guardrails: every level must allow         -> else ImplicitDeny (scp)
 *   3. same account, a resource-based Allow naming the caller itself
 *      (user ARN, session ARN, "*")               -> Allow
 *   4. identity side: an identity Allow, or a resource-based Allow naming
 *      the role of the calling session; across accounts an identity Allow
 *      and a resource-based Allow of any strength -> else ImplicitDeny
 *   5. a boundary, when the caller has one, must allow
 *   6. a session policy, when given, must allow
 *
 * The request's context keys are searched linearly when there are few, and
 * through an index sorted once per evaluation (heapsort on a fixed on-stack
 * array: O(n log n) whatever the keys, so a request cannot make it slow)
 * when there are many. No hash of request data, so no seed is needed.
 */
#include <string.h>

#include "policy/policy_int.h"

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* ---- context keys ---- */

/* Compares a request key with a lowercased key, ignoring the request key's case. */
static int key_cmp(const char *a, size_t an, const char *lb, size_t bn)
{
	size_t m = an < bn ? an : bn;
	for (size_t i = 0; i < m; i++) {
		unsigned char ca = (unsigned char)lower(a[i]), cb = (unsigned char)lb[i];
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (an != bn)
		return an < bn ? -1 : 1;
	return 0;
}

/* Compares two request keys, both case-folded. */
static int entry_cmp(const struct policy_ctx_entry *a, const struct policy_ctx_entry *b)
{
	size_t m = a->key.n < b->key.n ? a->key.n : b->key.n;
	for (size_t i = 0; i < m; i++) {
		unsigned char ca = (unsigned char)lower(a->key.p[i]);
		unsigned char cb = (unsigned char)lower(b->key.p[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (a->key.n != b->key.n)
		return a->key.n < b->key.n ? -1 : 1;
	return 0;
}

static void sift_down(uint16_t *o, const struct policy_ctx_entry *e, size_t start, size_t end)
{
	size_t root = start;
	while (2 * root + 1 < end) {
		size_t child = 2 * root + 1, sw = root;
		if (entry_cmp(&e[o[sw]], &e[o[child]]) < 0)
			sw = child;
		if (child + 1 < end && entry_cmp(&e[o[sw]], &e[o[child + 1]]) < 0)
			sw = child + 1;
		if (sw == root)
			return;
		uint16_t t = o[root];
		o[root] = o[sw];
		o[sw] = t;
		root = sw;
	}
}

/* Stable order on equal keys is not needed: a key given twice is ambiguous,
 * and the lookup below then answers the first in sorted order. */
static void sort_context(struct pol_ectx *x)
{
	size_t n = x->req->ncontext;
	const struct policy_ctx_entry *e = x->req->context;
	for (size_t i = 0; i < n; i++)
		x->order[i] = (uint16_t)i;
	for (size_t s = n / 2; s-- > 0;)
		sift_down(x->order, e, s, n);
	for (size_t end = n; end-- > 1;) {
		uint16_t t = x->order[0];
		x->order[0] = x->order[end];
		x->order[end] = t;
		sift_down(x->order, e, 0, end);
	}
	x->sorted = true;
}

#define CTX_LINEAR_MAX 16

const struct policy_ctx_entry *pol_ctx_find(struct pol_ectx *x, const char *lkey, size_t n)
{
	size_t nc = x->req->ncontext;
	const struct policy_ctx_entry *e = x->req->context;
	if (nc <= CTX_LINEAR_MAX) {
		for (size_t i = 0; i < nc; i++) {
			if (e[i].key.n == n && key_cmp(e[i].key.p, n, lkey, n) == 0)
				return &e[i];
		}
		return NULL;
	}
	if (!x->sorted)
		sort_context(x);
	size_t lo = 0, hi = nc;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct policy_ctx_entry *m = &e[x->order[mid]];
		if (key_cmp(m->key.p, m->key.n, lkey, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < nc) {
		const struct policy_ctx_entry *m = &e[x->order[lo]];
		if (key_cmp(m->key.p, m->key.n, lkey, n) == 0)
			return m;
	}
	return NULL;
}

bool pol_tmpl_resolve(const struct pol_tmpl *t, struct pol_ectx *x, struct policy_str *res)
{
	for (size_t i = 0; i < t->npieces; i++) {
		const struct pol_piece *pc = &t->pieces[i];
		if (pc->kind != POL_PIECE_VAR)
			continue;
		const struct policy_ctx_entry *e = pol_ctx_find(x, pc->p, pc->n);
		if (e != NULL && e->nvalues == 1) {
			res[i] = e->values[0];
			if (res[i].p == NULL)
				res[i].p = "";
		} else if (pc->has_default) {
			res[i].p = pc->def;
			res[i].n = pc->defn;
		} else {
			return false;
		}
	}
	return true;
}

/* ---- principals ---- */

enum pmatch { PM_NONE = 0, PM_ACCOUNT, PM_ROLE, PM_SELF };

static bool str_eq(const char *a, size_t an, struct policy_str b)
{
	return an == b.n && (an == 0 || memcmp(a, b.p, an) == 0);
}

static bool str_eq_ci(const char *lower_a, size_t an, struct policy_str b)
{
	return an == b.n && key_cmp(b.p, b.n, lower_a, an) == 0;
}

/* How strongly a Principal element names the caller. */
static enum pmatch principal_match(const struct pol_principal *pr, const struct policy_principal *p)
{
	enum pmatch best = PM_NONE;
	for (uint32_t i = 0; i < pr->n; i++) {
		const struct pol_pentry *e = &pr->e[i];
		enum pmatch m = PM_NONE;
		switch (e->kind) {
		case POL_P_AWS_ANY:
			/* "*" and {"AWS": "*"} name everyone, anonymous callers too. */
			m = PM_SELF;
			break;
		case POL_P_AWS_ACCOUNT:
			if (p->kind == POLICY_PRINCIPAL_AWS && p->account.n == 12 &&
			    str_eq(e->p, e->n, p->account))
				m = PM_ACCOUNT;
			break;
		case POL_P_AWS_ARN:
			if (p->kind != POLICY_PRINCIPAL_AWS)
				break;
			if (str_eq(e->p, e->n, p->arn))
				m = PM_SELF;
			else if (p->role_arn.n > 0 && str_eq(e->p, e->n, p->role_arn))
				m = PM_ROLE;
			break;
		case POL_P_SERVICE:
			if (p->kind == POLICY_PRINCIPAL_SERVICE && str_eq_ci(e->p, e->n, p->arn))
				m = PM_SELF;
			break;
		case POL_P_FEDERATED:
			if (p->kind == POLICY_PRINCIPAL_FEDERATED && str_eq(e->p, e->n, p->arn))
				m = PM_SELF;
			break;
		default:
			break;
		}
		if (m > best)
			best = m;
	}
	return best;
}

static bool lists(const struct pol_principal *pr, int kind, struct policy_str s)
{
	for (uint32_t i = 0; i < pr->n; i++) {
		if (pr->e[i].kind == kind && str_eq(pr->e[i].p, pr->e[i].n, s))
			return true;
	}
	return false;
}

/*
 * Whether a NotPrincipal spares the caller. AWS may evaluate the account, then
 * the role, then the session, and the Deny applies as soon as one of them is
 * not listed; so a caller is spared only when every one of its identities is.
 * A caller with a permissions boundary is never spared.
 */
static bool notprincipal_spares(const struct pol_principal *pr, const struct policy_principal *p,
                                bool has_boundary)
{
	if (has_boundary)
		return false;
	for (uint32_t i = 0; i < pr->n; i++) {
		if (pr->e[i].kind == POL_P_AWS_ANY)
			return true;
	}
	switch (p->kind) {
	case POLICY_PRINCIPAL_AWS: {
		if (p->account.n != 12 || !lists(pr, POL_P_AWS_ACCOUNT, p->account))
			return false;
		struct policy_str root_suffix = {":root", 5};
		bool is_root = p->arn.n > 5 &&
		               memcmp(p->arn.p + p->arn.n - 5, root_suffix.p, 5) == 0 &&
		               memmem(p->arn.p, p->arn.n, ":iam::", 6) != NULL;
		if (is_root)
			return true;
		if (!lists(pr, POL_P_AWS_ARN, p->arn))
			return false;
		if (p->role_arn.n > 0 && !lists(pr, POL_P_AWS_ARN, p->role_arn))
			return false;
		return true;
	}
	case POLICY_PRINCIPAL_SERVICE:
		for (uint32_t i = 0; i < pr->n; i++) {
			if (pr->e[i].kind == POL_P_SERVICE &&
			    str_eq_ci(pr->e[i].p, pr->e[i].n, p->arn))
				return true;
		}
		return false;
	case POLICY_PRINCIPAL_FEDERATED:
		return lists(pr, POL_P_FEDERATED, p->arn);
	default:
		return false;
	}
}

/* ---- statements ---- */

static bool action_matches(const struct pol_stmt *st, const struct pol_ectx *x)
{
	bool any = false;
	for (uint32_t k = 0; k < st->nactions && !any; k++) {
		const struct pol_action *a = &st->actions[k];
		any = pol_glob(a->lower, a->n, x->action, x->actionn, a->wild, false);
	}
	return st->not_action ? !any : any;
}

static bool resource_matches(const struct pol_stmt *st, struct pol_ectx *x)
{
	if (st->res_mode == POL_RES_NONE)
		return true;
	bool any = false;
	for (uint32_t k = 0; k < st->nres && !any; k++)
		any = pol_arn_match(&st->res[k], x, &x->res, NULL);
	return st->res_mode == POL_RES_NOT ? !any : any;
}

/* Whether the statement applies; *strength says how a resource-based one
 * names the caller. */
static bool stmt_applies(const struct pol_stmt *st, bool resource_like, struct pol_ectx *x,
                         enum pmatch *strength)
{
	*strength = PM_NONE;
	if (!action_matches(st, x) || !resource_matches(st, x))
		return false;
	if (resource_like) {
		const struct policy_principal *p = &x->req->principal;
		if (st->prin_mode == POL_PRIN_PRINCIPAL) {
			*strength = principal_match(&st->prin, p);
			if (*strength == PM_NONE)
				return false;
		} else if (st->prin_mode == POL_PRIN_NOT) {
			if (notprincipal_spares(&st->prin, p, x->has_boundary))
				return false;
			*strength = PM_SELF;
		} else {
			/* Compile refuses this; never grant on it. */
			return false;
		}
	}
	for (uint32_t i = 0; i < st->nneeds; i++) {
		const struct policy_ctx_entry *e = pol_ctx_find(x, st->needs[i].p, st->needs[i].n);
		if (e == NULL || e->nvalues != 1)
			return false;
	}
	for (uint32_t i = 0; i < st->nconds; i++) {
		if (!pol_cond_holds(&st->conds[i], x))
			return false;
	}
	return true;
}

/* ---- decision ---- */

struct walk {
	/* what allowed, per type */
	bool id_allow, bnd_allow, sess_allow;
	enum pmatch res_best;
	bool any_scp, any_boundary, any_session;
	bool deny;
	struct policy_match first_deny, first_id, first_res[PM_SELF + 1];
	bool have_res[PM_SELF + 1];
	enum policy_type deny_type, res_type[PM_SELF + 1];
	uint8_t scp_ok[POLICY_MAX_INPUTS / 8];
};

static void record(struct policy_result *out, const struct policy *p, uint32_t stmt, bool allow)
{
	out->total_matches++;
	if (out->nmatches < POLICY_MAX_MATCHES) {
		out->matches[out->nmatches].policy = p;
		out->matches[out->nmatches].statement = stmt;
		out->matches[out->nmatches].allow = allow;
		out->nmatches++;
	}
}

static void one_stmt(struct walk *w, struct policy_result *out, const struct policy *p,
                     size_t input, uint32_t si, struct pol_ectx *x)
{
	const struct pol_stmt *st = &p->stmts[si];
	bool resource_like = p->type == POLICY_RESOURCE || p->type == POLICY_TRUST;
	enum pmatch strength;
	if (!stmt_applies(st, resource_like, x, &strength))
		return;
	record(out, p, si, st->allow);
	struct policy_match m = {.policy = p, .statement = si, .allow = st->allow};
	if (!st->allow) {
		if (!w->deny) {
			w->deny = true;
			w->first_deny = m;
			w->deny_type = p->type;
		}
		return;
	}
	switch (p->type) {
	case POLICY_IDENTITY:
		if (!w->id_allow)
			w->first_id = m;
		w->id_allow = true;
		break;
	case POLICY_BOUNDARY:
		w->bnd_allow = true;
		break;
	case POLICY_SESSION:
		w->sess_allow = true;
		break;
	case POLICY_SCP:
		w->scp_ok[input / 8] |= (uint8_t)(1u << (input % 8));
		break;
	case POLICY_RESOURCE:
	case POLICY_TRUST:
		if (!w->have_res[strength]) {
			w->have_res[strength] = true;
			w->first_res[strength] = m;
			w->res_type[strength] = p->type;
		}
		if (strength > w->res_best)
			w->res_best = strength;
		break;
	default:
		break;
	}
}

static const uint32_t *bucket_list(const struct pol_table *t, const char *k, size_t n,
                                   uint32_t *cnt)
{
	const struct pol_bucket *b = pol_table_find(t, k, n);
	*cnt = b ? b->n : 0;
	return b ? b->stmts : NULL;
}

static void walk_policy(struct walk *w, struct policy_result *out, const struct policy *p,
                        size_t input, struct pol_ectx *x)
{
	uint32_t na, ns, no = p->index.nother;
	const uint32_t *a = bucket_list(&p->index.exact, x->action, x->actionn, &na);
	const char *colon = memchr(x->action, ':', x->actionn);
	size_t pn = colon ? (size_t)(colon - x->action) : 0;
	const uint32_t *s = colon ? bucket_list(&p->index.svc, x->action, pn, &ns) : NULL;
	if (s == NULL)
		ns = 0;
	const uint32_t *o = p->index.other;
	uint32_t ia = 0, is = 0, io = 0;
	int64_t last = -1;
	for (;;) {
		uint32_t best = UINT32_MAX;
		if (ia < na && a[ia] < best)
			best = a[ia];
		if (is < ns && s[is] < best)
			best = s[is];
		if (io < no && o[io] < best)
			best = o[io];
		if (best == UINT32_MAX)
			break;
		if (ia < na && a[ia] == best)
			ia++;
		if (is < ns && s[is] == best)
			is++;
		if (io < no && o[io] == best)
			io++;
		if ((int64_t)best == last)
			continue;
		last = best;
		one_stmt(w, out, p, input, best, x);
	}
}

static bool slice_ok(struct policy_str s)
{
	return s.p != NULL || s.n == 0;
}

static int check_args(const struct policy_input *inputs, size_t n, const struct policy_request *req)
{
	if (req == NULL || (inputs == NULL && n > 0) || n > POLICY_MAX_INPUTS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (inputs[i].policy == NULL)
			return -1;
	}
	if (!slice_ok(req->action) || req->action.n == 0 || req->action.n > POLICY_MAX_ACTION ||
	    !slice_ok(req->resource) || !slice_ok(req->principal.arn) ||
	    !slice_ok(req->principal.role_arn) || !slice_ok(req->principal.account))
		return -1;
	if ((req->context == NULL && req->ncontext > 0) || req->ncontext > POLICY_MAX_CONTEXT)
		return -1;
	for (size_t i = 0; i < req->ncontext; i++) {
		const struct policy_ctx_entry *e = &req->context[i];
		if (!slice_ok(e->key) || (e->values == NULL && e->nvalues > 0))
			return -1;
		for (size_t k = 0; k < e->nvalues; k++) {
			if (!slice_ok(e->values[k]))
				return -1;
		}
	}
	return 0;
}

static void decide(struct policy_result *out, enum policy_decision d, enum policy_type by)
{
	out->decision = d;
	out->decided_by = by;
}

int policy_evaluate(const struct policy_input *inputs, size_t n, const struct policy_request *req,
                    struct policy_result *out)
{
	if (out == NULL)
		return POLICY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	out->decision = POLICY_IMPLICIT_DENY;
	out->decided_by = POLICY_IDENTITY;
	if (check_args(inputs, n, req) != 0)
		return POLICY_ERR_INVALID_ARG;

	struct pol_ectx x;
	x.req = req;
	x.sorted = false;
	char action[POLICY_MAX_ACTION];
	for (size_t i = 0; i < req->action.n; i++)
		action[i] = lower(req->action.p[i]);
	x.action = action;
	x.actionn = req->action.n;
	const char *rp = req->resource.p ? req->resource.p : "";
	pol_arn_split(rp, req->resource.n, &x.res);
	x.res_star = req->resource.n == 1 && rp[0] == '*';

	struct walk w;
	memset(&w, 0, sizeof(w));
	x.has_boundary = req->principal.has_boundary;
	for (size_t i = 0; i < n; i++) {
		enum policy_type t = inputs[i].policy->type;
		if (t == POLICY_BOUNDARY)
			x.has_boundary = true;
		else if (t == POLICY_SESSION)
			w.any_session = true;
		else if (t == POLICY_SCP)
			w.any_scp = true;
	}
	for (size_t i = 0; i < n; i++)
		walk_policy(&w, out, inputs[i].policy, i, &x);

	/* 1. An explicit deny anywhere decides. */
	if (w.deny) {
		decide(out, POLICY_EXPLICIT_DENY, w.deny_type);
		out->decider = w.first_deny;
		out->has_decider = true;
		return POLICY_OK;
	}
	/* 2. Every guardrail level must allow; the lowest that does not decides. */
	if (w.any_scp) {
		bool failed = false;
		unsigned worst = 0;
		for (size_t i = 0; i < n; i++) {
			if (inputs[i].policy->type != POLICY_SCP)
				continue;
			unsigned lvl = inputs[i].level;
			bool ok = false;
			for (size_t j = 0; j < n && !ok; j++) {
				if (inputs[j].policy->type == POLICY_SCP &&
				    inputs[j].level == lvl && (w.scp_ok[j / 8] & (1u << (j % 8))))
					ok = true;
			}
			if (!ok && (!failed || lvl < worst)) {
				failed = true;
				worst = lvl;
			}
		}
		if (failed) {
			decide(out, POLICY_IMPLICIT_DENY, POLICY_SCP);
			out->scp_level = worst;
			return POLICY_OK;
		}
	}
	const struct policy_principal *pr = &req->principal;
	bool cross = pr->kind == POLICY_PRINCIPAL_AWS && pr->account.n > 0 && x.res.ok &&
	             x.res.c[4].n > 0 &&
	             !(x.res.c[4].n == pr->account.n &&
	               memcmp(x.res.c[4].p, pr->account.p, pr->account.n) == 0);

	/* 3. A resource-based policy naming the caller itself grants alone. */
	if (!cross && w.res_best == PM_SELF) {
		decide(out, POLICY_ALLOW, w.res_type[PM_SELF]);
		out->decider = w.first_res[PM_SELF];
		out->has_decider = true;
		return POLICY_OK;
	}
	/* 4. The identity side. */
	bool by_role = !cross && w.res_best == PM_ROLE;
	if (!w.id_allow && !by_role) {
		decide(out, POLICY_IMPLICIT_DENY, POLICY_IDENTITY);
		return POLICY_OK;
	}
	if (cross && w.res_best == PM_NONE) {
		decide(out, POLICY_IMPLICIT_DENY, POLICY_RESOURCE);
		return POLICY_OK;
	}
	/* 5, 6. Boundary and session policy limit what the identity side grants. */
	if (x.has_boundary && !w.bnd_allow) {
		decide(out, POLICY_IMPLICIT_DENY, POLICY_BOUNDARY);
		return POLICY_OK;
	}
	if (w.any_session && !w.sess_allow) {
		decide(out, POLICY_IMPLICIT_DENY, POLICY_SESSION);
		return POLICY_OK;
	}
	if (w.id_allow) {
		decide(out, POLICY_ALLOW, POLICY_IDENTITY);
		out->decider = w.first_id;
	} else {
		decide(out, POLICY_ALLOW, w.res_type[PM_ROLE]);
		out->decider = w.first_res[PM_ROLE];
	}
	out->has_decider = true;
	return POLICY_OK;
}
