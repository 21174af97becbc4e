/*
 * condition.c - does one condition (operator, key, policy values) hold for a
 * request?
 *
 * The rules, in the order they are applied:
 *
 *   Null          "true" holds when the key is absent (or present with no
 *                 values), "false" when it has a value.
 *   missing key   (absent, or a multi-valued key with no values)
 *                 ForAllValues: true. ...IfExists: true. ForAnyValue: false.
 *                 Otherwise a positive operator is false, a negated one true.
 *   no qualifier  a positive operator holds when a request value matches any
 *                 policy value; a negated one when every request value is
 *                 readable and matches none of them.
 *   ForAnyValue   some request value passes the per-value test.
 *   ForAllValues  every request value passes the per-value test.
 *                 The per-value test: positive, the value matches a policy
 *                 value; negated, it is readable and matches none.
 *
 * A request value that cannot be read as the operator's type (a word for
 * Numeric, a malformed address) never matches, under a negated operator too:
 * the condition does not become true because the request was garbled.
 *
 * Nothing here allocates: request values are parsed into stack structs once
 * per value, not once per policy value.
 */
#include <string.h>

#include "policy/policy_int.h"

struct rval {
	struct policy_str s;
	union {
		struct pol_dec num;
		struct pol_time time;
		struct pol_cidr ip;
		bool b;
		struct pol_arn_split arn;
	} u;
};

/* Reads a request value as the operator's type; false when it cannot be. */
static bool read_rval(const struct pol_opinfo *op, struct policy_str v, struct rval *r)
{
	r->s = v;
	if (v.p == NULL)
		v.p = "";
	switch (op->family) {
	case POL_F_STRING:
		return true;
	case POL_F_NUMERIC:
		return pol_dec_parse(v.p, v.n, &r->u.num) == 0;
	case POL_F_DATE:
		return pol_time_parse(v.p, v.n, &r->u.time) == 0;
	case POL_F_BOOL:
		return pol_bool_parse(v.p, v.n, &r->u.b) == 0;
	case POL_F_BINARY:
		return pol_b64_decoded_len(v.p, v.n) >= 0;
	case POL_F_IP:
		return pol_cidr_parse(v.p, v.n, false, &r->u.ip) == 0;
	case POL_F_ARN:
		pol_arn_split(v.p, v.n, &r->u.arn);
		return r->u.arn.ok && r->u.arn.c[0].n == 3 &&
		       memcmp(r->u.arn.c[0].p, "arn", 3) == 0;
	default:
		return false;
	}
}

static bool ordered(int cmp, uint8_t how)
{
	switch (how) {
	case POL_CMP_EQ:
		return cmp == 0;
	case POL_CMP_LT:
		return cmp < 0;
	case POL_CMP_LE:
		return cmp <= 0;
	case POL_CMP_GT:
		return cmp > 0;
	case POL_CMP_GE:
		return cmp >= 0;
	default:
		return false;
	}
}

static bool match_one(const struct pol_opinfo *op, const union pol_cval *pv, const struct rval *r,
                      struct pol_ectx *x)
{
	switch (op->family) {
	case POL_F_STRING: {
		struct policy_str res[POL_TMPL_MAX_PIECES];
		if (pv->str.nvars && !pol_tmpl_resolve(&pv->str, x, res))
			return false;
		const char *s = r->s.p ? r->s.p : "";
		return pol_tmpl_match(&pv->str, res, s, r->s.n, op->cmp == POL_CMP_LIKE, op->icase);
	}
	case POL_F_NUMERIC:
		return ordered(pol_dec_cmp(&r->u.num, &pv->num), op->cmp);
	case POL_F_DATE:
		return ordered(pol_time_cmp(&r->u.time, &pv->time), op->cmp);
	case POL_F_BOOL:
		return r->u.b == pv->b;
	case POL_F_BINARY:
		return pol_b64_equals(r->s.p, r->s.n, pv->bin.p, pv->bin.n);
	case POL_F_IP:
		return pol_cidr_contains(&pv->ip, &r->u.ip);
	case POL_F_ARN:
		return pol_arn_match(&pv->arn, x, &r->u.arn, NULL);
	default:
		return false;
	}
}

static bool match_any(const struct pol_cond *c, const struct rval *r, struct pol_ectx *x)
{
	for (uint32_t i = 0; i < c->nvals; i++) {
		if (match_one(c->op, &c->vals[i], r, x))
			return true;
	}
	return false;
}

/* The per-value test of the set qualifiers. */
static bool value_passes(const struct pol_cond *c, struct policy_str v, struct pol_ectx *x)
{
	struct rval r;
	if (!read_rval(c->op, v, &r))
		return false;
	bool m = match_any(c, &r, x);
	return c->op->negated ? !m : m;
}

bool pol_cond_holds(const struct pol_cond *c, struct pol_ectx *x)
{
	const struct policy_ctx_entry *e = pol_ctx_find(x, c->key, c->keyn);
	size_t nv = e ? e->nvalues : 0;

	if (c->op->family == POL_F_NULL) {
		bool absent = nv == 0;
		for (uint32_t i = 0; i < c->nvals; i++) {
			if (c->vals[i].b == absent)
				return true;
		}
		return false;
	}
	if (nv == 0) {
		if (c->qual == POL_Q_ALL || c->if_exists)
			return true;
		if (c->qual == POL_Q_ANY)
			return false;
		return c->op->negated;
	}
	switch (c->qual) {
	case POL_Q_ANY:
		for (size_t i = 0; i < nv; i++) {
			if (value_passes(c, e->values[i], x))
				return true;
		}
		return false;
	case POL_Q_ALL:
		for (size_t i = 0; i < nv; i++) {
			if (!value_passes(c, e->values[i], x))
				return false;
		}
		return true;
	default:
		break;
	}
	if (!c->op->negated) {
		for (size_t i = 0; i < nv; i++) {
			struct rval r;
			if (read_rval(c->op, e->values[i], &r) && match_any(c, &r, x))
				return true;
		}
		return false;
	}
	for (size_t i = 0; i < nv; i++) {
		struct rval r;
		if (!read_rval(c->op, e->values[i], &r) || match_any(c, &r, x))
			return false;
	}
	return true;
}
