/*
 * compile_cond.c - the Condition element: operator names, keys and values,
 * read into typed form at compile time.
 *
 * An operator name is [ForAllValues:|ForAnyValue:]<Base>[IfExists]; the base
 * names are the table below (case-sensitive, as AWS spells them).
 * "NullIfExists" means nothing and is refused. Each value is read as the
 * operator's type now (a number into a decimal, a date into an instant, a
 * block into address and prefix, base64 into bytes, a string into a template),
 * so a value that cannot be read is a validation error with its path, and
 * evaluation only compares.
 *
 * Warnings here: a set qualifier on a key that holds one value, a multi-valued
 * key without one, a condition key that none of the statement's actions
 * carries, a policy variable where it is literal text, and a Deny that
 * depends on a variable without a default (which, by taskgate's rule, turns
 * the Deny off when the variable's key is missing).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy_int.h"

static const struct pol_opinfo ops[] = {
    {"StringEquals", POL_F_STRING, POL_CMP_EQ, false, false},
    {"StringNotEquals", POL_F_STRING, POL_CMP_EQ, true, false},
    {"StringEqualsIgnoreCase", POL_F_STRING, POL_CMP_EQ, false, true},
    {"StringNotEqualsIgnoreCase", POL_F_STRING, POL_CMP_EQ, true, true},
    {"StringLike", POL_F_STRING, POL_CMP_LIKE, false, false},
    {"StringNotLike", POL_F_STRING, POL_CMP_LIKE, true, false},
    {"NumericEquals", POL_F_NUMERIC, POL_CMP_EQ, false, false},
    {"NumericNotEquals", POL_F_NUMERIC, POL_CMP_EQ, true, false},
    {"NumericLessThan", POL_F_NUMERIC, POL_CMP_LT, false, false},
    {"NumericLessThanEquals", POL_F_NUMERIC, POL_CMP_LE, false, false},
    {"NumericGreaterThan", POL_F_NUMERIC, POL_CMP_GT, false, false},
    {"NumericGreaterThanEquals", POL_F_NUMERIC, POL_CMP_GE, false, false},
    {"DateEquals", POL_F_DATE, POL_CMP_EQ, false, false},
    {"DateNotEquals", POL_F_DATE, POL_CMP_EQ, true, false},
    {"DateLessThan", POL_F_DATE, POL_CMP_LT, false, false},
    {"DateLessThanEquals", POL_F_DATE, POL_CMP_LE, false, false},
    {"DateGreaterThan", POL_F_DATE, POL_CMP_GT, false, false},
    {"DateGreaterThanEquals", POL_F_DATE, POL_CMP_GE, false, false},
    {"Bool", POL_F_BOOL, POL_CMP_EQ, false, false},
    {"BinaryEquals", POL_F_BINARY, POL_CMP_EQ, false, false},
    {"IpAddress", POL_F_IP, POL_CMP_EQ, false, false},
    {"NotIpAddress", POL_F_IP, POL_CMP_EQ, true, false},
    {"ArnEquals", POL_F_ARN, POL_CMP_LIKE, false, false},
    {"ArnLike", POL_F_ARN, POL_CMP_LIKE, false, false},
    {"ArnNotEquals", POL_F_ARN, POL_CMP_LIKE, true, false},
    {"ArnNotLike", POL_F_ARN, POL_CMP_LIKE, true, false},
    {"Null", POL_F_NULL, POL_CMP_EQ, false, false},
};

const struct pol_opinfo *pol_op_lookup(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strlen(ops[i].name) == n && memcmp(ops[i].name, name, n) == 0)
			return &ops[i];
	}
	return NULL;
}

static const char *family_name(uint8_t f)
{
	static const char *const names[] = {"String", "Numeric",   "Date", "Bool",
	                                    "Binary", "IpAddress", "Arn",  "Null"};
	return f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

static void pathf(char *buf, const char *a, const char *b)
{
	int w = snprintf(buf, POL_PATH_MAX, "%s.%s", a, b);
	if (w < 0)
		buf[0] = '\0';
	else if (w >= POL_PATH_MAX)
		memcpy(buf + POL_PATH_MAX - 4, "...", 4);
}

static void pathi(char *buf, const char *a, size_t i)
{
	int w = snprintf(buf, POL_PATH_MAX, "%s[%zu]", a, i);
	if (w < 0)
		buf[0] = '\0';
	else if (w >= POL_PATH_MAX)
		memcpy(buf + POL_PATH_MAX - 4, "...", 4);
}

/* Parses an operator name; returns the base entry or NULL after an error. */
static const struct pol_opinfo *parse_op(struct pol_cctx *c, const char *path, const char *name,
                                         uint8_t *qual, bool *if_exists)
{
	size_t n = strlen(name);
	const char *base = name;
	*qual = POL_Q_NONE;
	*if_exists = false;
	if (strncmp(name, "ForAllValues:", 13) == 0) {
		*qual = POL_Q_ALL;
		base += 13;
	} else if (strncmp(name, "ForAnyValue:", 12) == 0) {
		*qual = POL_Q_ANY;
		base += 12;
	} else if (strchr(name, ':') != NULL) {
		pol_cerr(c, path,
		         "unknown condition operator '%s' (the set qualifiers are "
		         "ForAllValues: and ForAnyValue:)",
		         name);
		return NULL;
	}
	size_t bn = n - (size_t)(base - name);
	if (bn > 8 && memcmp(base + bn - 8, "IfExists", 8) == 0) {
		*if_exists = true;
		bn -= 8;
	}
	const struct pol_opinfo *op = pol_op_lookup(base, bn);
	if (op == NULL) {
		pol_cerr(c, path, "unknown condition operator '%s'", name);
		return NULL;
	}
	if (op->family == POL_F_NULL && *if_exists) {
		pol_cerr(c, path,
		         "unknown condition operator '%s': IfExists is not defined for Null "
		         "(Null already tests whether the key exists)",
		         name);
		return NULL;
	}
	return op;
}

/* Text of a scalar JSON value as a request would carry it. Returns 0, or -1
 * when v is not a string, number or boolean. */
static int scalar_text(json_t *v, char *buf, size_t cap, const char **p, size_t *n)
{
	if (json_is_string(v)) {
		*p = json_string_value(v);
		*n = json_string_length(v);
		return 0;
	}
	if (json_is_true(v) || json_is_false(v)) {
		*p = json_is_true(v) ? "true" : "false";
		*n = strlen(*p);
		return 0;
	}
	int w;
	if (json_is_integer(v)) {
		w = snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		/* The shortest text that reads back as the same double. */
		double d = json_real_value(v);
		if (!isfinite(d))
			return -1;
		w = -1;
		for (int prec = 1; prec <= 17; prec++) {
			w = snprintf(buf, cap, "%.*g", prec, d);
			if (w < 0 || (size_t)w >= cap)
				return -1;
			if (strtod(buf, NULL) == d)
				break;
		}
	} else {
		return -1;
	}
	if (w < 0 || (size_t)w >= cap)
		return -1;
	*p = buf;
	*n = (size_t)w;
	return 0;
}

/* Whether a template holds a variable without a default. */
static bool needs_var(const struct pol_tmpl *t)
{
	for (size_t i = 0; i < t->npieces; i++) {
		if (t->pieces[i].kind == POL_PIECE_VAR && !t->pieces[i].has_default)
			return true;
	}
	return false;
}

static int compile_value(struct pol_cctx *c, const char *path, const struct pol_opinfo *op,
                         json_t *jv, union pol_cval *out, struct pol_stmt *st, bool *has_var)
{
	char buf[64];
	const char *p;
	size_t n;
	if (scalar_text(jv, buf, sizeof(buf), &p, &n) != 0) {
		pol_cerr(c, path,
		         "invalid condition value: must be a string, number or boolean, or "
		         "an array of them");
		return -1;
	}
	int clip = (int)(n > 80 ? 80 : n);
	bool var_text = pol_has_var_syntax(p, n);
	switch (op->family) {
	case POL_F_STRING:
		if (pol_tmpl_parse(c, path, p, n, POL_TW_PATTERN, &out->str) != 0)
			return -1;
		if (needs_var(&out->str))
			*has_var = true;
		return pol_needs_add_tmpl(c, st, &out->str);
	case POL_F_ARN:
		if (pol_arn_parse(c, path, p, n, true, false, &out->arn) != 0)
			return -1;
		for (size_t i = 0; i < out->arn.ncomp; i++) {
			if (needs_var(&out->arn.comp[i]))
				*has_var = true;
			if (pol_needs_add_tmpl(c, st, &out->arn.comp[i]) != 0)
				return -1;
		}
		return 0;
	default:
		break;
	}
	if (var_text)
		pol_cwarn(c, path,
		          "'${' is literal text in a %s value: policy variables work only "
		          "in String and Arn values",
		          family_name(op->family));
	switch (op->family) {
	case POL_F_NUMERIC:
		if (pol_dec_parse(p, n, &out->num) != 0) {
			pol_cerr(c, path, "invalid condition value '%.*s': not a number", clip, p);
			return -1;
		}
		return 0;
	case POL_F_DATE:
		if (pol_time_parse(p, n, &out->time) != 0) {
			pol_cerr(c, path,
			         "invalid condition value '%.*s': not a date (ISO 8601 "
			         "date or date-time, or epoch seconds)",
			         clip, p);
			return -1;
		}
		return 0;
	case POL_F_BOOL:
	case POL_F_NULL:
		if (pol_bool_parse(p, n, &out->b) != 0) {
			pol_cerr(c, path,
			         "invalid condition value '%.*s': %s takes \"true\" or "
			         "\"false\"",
			         clip, p, op->name);
			return -1;
		}
		return 0;
	case POL_F_BINARY: {
		long bl = pol_b64_decoded_len(p, n);
		if (bl < 0) {
			pol_cerr(c, path, "invalid condition value '%.*s': not base64", clip, p);
			return -1;
		}
		unsigned char *b = pol_arena_alloc(c->arena, (size_t)bl + 1);
		if (b == NULL) {
			c->nomem = true;
			return -1;
		}
		pol_b64_decode(p, n, b);
		out->bin.p = b;
		out->bin.n = (size_t)bl;
		return 0;
	}
	case POL_F_IP:
		if (pol_cidr_parse(p, n, true, &out->ip) != 0) {
			pol_cerr(c, path,
			         "invalid condition value '%.*s': not an IPv4 or IPv6 "
			         "address or CIDR block (prefix length 0-32 or 0-128)",
			         clip, p);
			return -1;
		}
		return 0;
	default:
		pol_cerr(c, path, "internal: unhandled operator family");
		return -1;
	}
}

static bool key_prefixed(const char *k, size_t n)
{
	const char *colon = memchr(k, ':', n);
	return colon != NULL && colon != k && (size_t)(colon - k) < n - 1;
}

int pol_compile_condition(struct pol_cctx *c, const char *path, json_t *cond, bool allow,
                          struct pol_stmt *st, const struct pol_action *actions, uint32_t nactions,
                          bool not_action)
{
	if (!json_is_object(cond)) {
		pol_cerr(c, path, "invalid Condition: must be an object of condition operators");
		return -1;
	}
	size_t total = 0;
	const char *opname;
	json_t *body;
	json_object_foreach(cond, opname, body)
	{
		if (json_is_object(body))
			total += json_object_size(body);
	}
	struct pol_cond *conds = pol_arena_array(c->arena, total ? total : 1, sizeof(*conds));
	if (conds == NULL) {
		c->nomem = true;
		return -1;
	}
	size_t nc = 0;
	int rc = 0;
	json_object_foreach(cond, opname, body)
	{
		char op_path[POL_PATH_MAX];
		pathf(op_path, path, opname);
		uint8_t qual;
		bool if_exists;
		const struct pol_opinfo *op = parse_op(c, op_path, opname, &qual, &if_exists);
		if (op == NULL) {
			rc = -1;
			continue;
		}
		if (!json_is_object(body) || json_object_size(body) == 0) {
			pol_cerr(c, op_path,
			         "invalid Condition: the value of %s must be an object of "
			         "condition keys and values",
			         opname);
			rc = -1;
			continue;
		}
		const char *key;
		json_t *jv;
		json_object_foreach(body, key, jv)
		{
			char kp[POL_PATH_MAX];
			pathf(kp, op_path, key);
			size_t kn = strlen(key);
			if (!key_prefixed(key, kn)) {
				pol_cerr(
				    c, kp,
				    "condition key '%s' has no service prefix (Conditions must "
				    "be prefaced by a vendor, e.g. aws:SourceIp)",
				    key);
				rc = -1;
				continue;
			}
			if (pol_has_var_syntax(key, kn))
				pol_cwarn(c, kp, "'${' is literal text in a condition key name");
			char *lk = pol_arena_strndup(c->arena, key, kn);
			if (lk == NULL) {
				c->nomem = true;
				return -1;
			}
			for (size_t i = 0; i < kn; i++) {
				if (lk[i] >= 'A' && lk[i] <= 'Z')
					lk[i] = (char)(lk[i] + 32);
			}
			size_t nv = json_is_array(jv) ? json_array_size(jv) : 1;
			if (json_is_array(jv) && nv == 0) {
				pol_cerr(c, kp, "invalid condition value: the array is empty");
				rc = -1;
				continue;
			}
			if (json_is_object(jv) || json_is_null(jv)) {
				pol_cerr(c, kp,
				         "invalid condition value: must be a string, number or "
				         "boolean, or an array of them");
				rc = -1;
				continue;
			}
			union pol_cval *vals = pol_arena_array(c->arena, nv, sizeof(*vals));
			if (vals == NULL) {
				c->nomem = true;
				return -1;
			}
			bool has_var = false, bad = false;
			for (size_t i = 0; i < nv; i++) {
				char vp[POL_PATH_MAX];
				json_t *e = jv;
				if (json_is_array(jv)) {
					e = json_array_get(jv, i);
					pathi(vp, kp, i);
				} else {
					memcpy(vp, kp, POL_PATH_MAX);
				}
				if (compile_value(c, vp, op, e, &vals[i], st, &has_var) != 0)
					bad = true;
				if (c->nomem)
					return -1;
			}
			if (bad) {
				rc = -1;
				continue;
			}
			/* Warnings about how the key is used. */
			if (qual != POL_Q_NONE && pol_key_single_valued(lk, kn))
				pol_cwarn(c, kp,
				          "%s on '%s', which holds one value: set qualifiers are "
				          "for multi-valued keys and here may allow more than "
				          "meant",
				          qual == POL_Q_ALL ? "ForAllValues" : "ForAnyValue", key);
			else if (qual == POL_Q_NONE && op->family != POL_F_NULL &&
			         pol_key_multivalued(lk, kn))
				pol_cwarn(c, kp,
				          "'%s' holds several values: qualify the operator with "
				          "ForAllValues: or ForAnyValue:",
				          key);
			char why[200];
			if (!pol_key_plausible(lk, kn, actions, nactions, not_action, why,
			                       sizeof(why)))
				pol_cwarn(c, kp, "%s", why);
			if (!allow && has_var && !if_exists)
				pol_cwarn(c, kp,
				          "this Deny depends on a policy variable without a "
				          "default: when its key is missing from a request the "
				          "statement does not apply and nothing is denied (give a "
				          "default, ${key, 'value'}, or use %sIfExists)",
				          op->name);
			struct pol_cond *cd = &conds[nc++];
			cd->op = op;
			cd->qual = qual;
			cd->if_exists = if_exists;
			cd->key = lk;
			cd->keyn = (uint32_t)kn;
			cd->vals = vals;
			cd->nvals = (uint32_t)nv;
		}
	}
	st->conds = conds;
	st->nconds = (uint32_t)nc;
	return rc;
}
