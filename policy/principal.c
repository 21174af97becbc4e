/*
 * principal.c - the Principal and NotPrincipal elements of resource-based and
 * trust policies, read into a list of typed entries.
 *
 * AWS principals are "*", a 12-digit account id (the account: every principal
 * in it, by delegation, not only its root user), an account root ARN (the
 * same), or the ARN of a user, role, role session or federated user. Wildcards
 * inside an ARN are refused, as AWS refuses them: a pattern of callers belongs
 * in a Condition on aws:PrincipalArn. Service names are lowercased so that
 * comparison ignores case, as service principal names do.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy_int.h"

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* Reads an AWS principal into e; returns 0 or -1 with *why set. */
static int aws_principal(const char *s, size_t n, struct pol_pentry *e, const char **why)
{
	if (n == 1 && s[0] == '*') {
		e->kind = POL_P_AWS_ANY;
		return 0;
	}
	if (n == 12 && all_digits(s, n)) {
		e->kind = POL_P_AWS_ACCOUNT;
		e->p = s;
		e->n = 12;
		return 0;
	}
	if (memchr(s, '*', n) != NULL || memchr(s, '?', n) != NULL) {
		*why = "wildcards are not allowed in a principal (use \"*\", or a Condition on "
		       "aws:PrincipalArn with ArnLike)";
		return -1;
	}
	struct pol_arn_split sp;
	pol_arn_split(s, n, &sp);
	*why = "expected \"*\", a 12-digit account id, or the ARN of an account root, user, role "
	       "or role session";
	if (!sp.ok || sp.c[0].n != 3 || memcmp(sp.c[0].p, "arn", 3) != 0 || sp.c[1].n == 0 ||
	    sp.c[3].n != 0 || sp.c[4].n != 12 || !all_digits(sp.c[4].p, 12))
		return -1;
	const struct policy_str *svc = &sp.c[2], *res = &sp.c[5];
	bool iam = svc->n == 3 && memcmp(svc->p, "iam", 3) == 0;
	bool sts = svc->n == 3 && memcmp(svc->p, "sts", 3) == 0;
	if (iam && res->n == 4 && memcmp(res->p, "root", 4) == 0) {
		e->kind = POL_P_AWS_ACCOUNT;
		e->p = sp.c[4].p;
		e->n = 12;
		return 0;
	}
	if ((iam && ((res->n > 5 && memcmp(res->p, "user/", 5) == 0) ||
	             (res->n > 5 && memcmp(res->p, "role/", 5) == 0))) ||
	    (sts && ((res->n > 13 && memcmp(res->p, "assumed-role/", 13) == 0 &&
	              memchr(res->p + 13, '/', res->n - 13) != NULL) ||
	             (res->n > 15 && memcmp(res->p, "federated-user/", 15) == 0)))) {
		e->kind = POL_P_AWS_ARN;
		e->p = s;
		e->n = (uint32_t)n;
		return 0;
	}
	return -1;
}

static bool host_like(const char *s, size_t n)
{
	if (n == 0 || n > 253 || memchr(s, '.', n) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

int pol_compile_principal(struct pol_cctx *c, const char *path, const char *elem, json_t *v,
                          struct pol_stmt *st)
{
	if (json_is_string(v)) {
		if (json_string_length(v) != 1 || json_string_value(v)[0] != '*') {
			pol_cerr(
			    c, path,
			    "invalid %s: a string %s must be \"*\"; name principals in an object "
			    "with AWS, Service, Federated or CanonicalUser",
			    elem, elem);
			return -1;
		}
		struct pol_pentry *e = pol_arena_alloc(c->arena, sizeof(*e));
		if (e == NULL) {
			c->nomem = true;
			return -1;
		}
		e->kind = POL_P_AWS_ANY;
		st->prin.e = e;
		st->prin.n = 1;
		return 0;
	}
	if (!json_is_object(v) || json_object_size(v) == 0) {
		pol_cerr(c, path,
		         "invalid %s: must be \"*\" or an object with AWS, Service, Federated or "
		         "CanonicalUser",
		         elem);
		return -1;
	}
	size_t total = 0;
	const char *k;
	json_t *val;
	int rc = 0;
	json_object_foreach(v, k, val)
	{
		total += json_is_array(val) ? json_array_size(val) : 1;
	}
	struct pol_pentry *es = pol_arena_array(c->arena, total ? total : 1, sizeof(*es));
	if (es == NULL) {
		c->nomem = true;
		return -1;
	}
	size_t ne = 0;
	json_object_foreach(v, k, val)
	{
		char kp[POL_PATH_MAX];
		pol_pathf(kp, "%s.%s", path, k);
		int kind;
		if (strcmp(k, "AWS") == 0)
			kind = POL_P_AWS_ARN;
		else if (strcmp(k, "Service") == 0)
			kind = POL_P_SERVICE;
		else if (strcmp(k, "Federated") == 0)
			kind = POL_P_FEDERATED;
		else if (strcmp(k, "CanonicalUser") == 0)
			kind = POL_P_CANONICAL;
		else {
			pol_cerr(
			    c, kp,
			    "invalid %s: unknown principal type '%s' (AWS, Service, Federated, "
			    "CanonicalUser)",
			    elem, k);
			rc = -1;
			continue;
		}
		json_t **items;
		size_t n;
		if (pol_string_list(c, kp, elem, val, &items, &n) != 0) {
			rc = -1;
			continue;
		}
		for (size_t i = 0; i < n && ne < total; i++) {
			char ip[POL_PATH_MAX];
			pol_entry_path(ip, kp, val, i);
			const char *s = json_string_value(items[i]);
			size_t sl = json_string_length(items[i]);
			char *copy = pol_arena_strndup(c->arena, s, sl);
			if (copy == NULL) {
				c->nomem = true;
				return -1;
			}
			struct pol_pentry *e = &es[ne];
			const char *why = NULL;
			bool ok = true;
			switch (kind) {
			case POL_P_AWS_ARN:
				ok = aws_principal(copy, sl, e, &why) == 0;
				break;
			case POL_P_SERVICE:
				ok = host_like(copy, sl);
				why = "expected a service principal name such as "
				      "ecs-tasks.amazonaws.com";
				for (size_t q = 0; q < sl; q++) {
					if (copy[q] >= 'A' && copy[q] <= 'Z')
						copy[q] = (char)(copy[q] + 32);
				}
				e->kind = POL_P_SERVICE;
				break;
			case POL_P_FEDERATED: {
				struct pol_arn_split sp;
				pol_arn_split(copy, sl, &sp);
				bool provider = sp.ok && sp.c[0].n == 3 &&
				                memcmp(sp.c[0].p, "arn", 3) == 0 &&
				                sp.c[4].n == 12 && all_digits(sp.c[4].p, 12) &&
				                ((sp.c[5].n > 14 &&
				                  memcmp(sp.c[5].p, "oidc-provider/", 14) == 0) ||
				                 (sp.c[5].n > 14 &&
				                  memcmp(sp.c[5].p, "saml-provider/", 14) == 0));
				ok = provider || host_like(copy, sl);
				why = "expected an identity provider ARN (oidc-provider/..., "
				      "saml-provider/...) or a provider name such as "
				      "accounts.google.com";
				e->kind = POL_P_FEDERATED;
				break;
			}
			default:
				ok = sl == 64;
				for (size_t q = 0; ok && q < sl; q++)
					ok = (copy[q] >= '0' && copy[q] <= '9') ||
					     (copy[q] >= 'a' && copy[q] <= 'f');
				why = "expected a 64-digit lowercase hexadecimal canonical user id";
				e->kind = POL_P_CANONICAL;
				break;
			}
			if (!ok) {
				pol_cerr(c, ip, "invalid %s '%.*s': %s", elem,
				         (int)(sl > 100 ? 100 : sl), s, why);
				rc = -1;
				continue;
			}
			if (e->p == NULL) {
				e->p = copy;
				e->n = (uint32_t)sl;
			}
			ne++;
		}
	}
	st->prin.e = es;
	st->prin.n = (uint32_t)ne;
	return rc;
}
