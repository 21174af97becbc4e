/*
 * test_policy_util.h - helpers shared by the tests/unit/test_policy_*.c files:
 * compile a document for a type, build a request from short text, evaluate.
 *
 * Requests default to a role session of account 111122223333
 * (arn:aws:sts::111122223333:assumed-role/orders-task/task-7f3c, role
 * arn:aws:iam::111122223333:role/orders-task). A context is written as
 * "key=value;key=[v1,v2];key=[]" (brackets: a multi-valued key, [] present
 * but empty).
 */
#ifndef TASKGATE_TEST_POLICY_UTIL_H
#define TASKGATE_TEST_POLICY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/unit/check.h"

#define T_ACCT    "111122223333"
#define T_SESSION "arn:aws:sts::111122223333:assumed-role/orders-task/task-7f3c"
#define T_ROLE    "arn:aws:iam::111122223333:role/orders-task"
#define T_USER    "arn:aws:iam::111122223333:user/alice"

struct tctx {
	struct policy_ctx_entry e[48];
	struct policy_str v[160];
	char buf[8192];
	size_t n;
};

static inline void tctx_parse(struct tctx *t, const char *spec)
{
	memset(t, 0, sizeof(*t));
	if (spec == NULL || spec[0] == '\0')
		return;
	size_t len = strlen(spec);
	if (len >= sizeof(t->buf)) {
		check_fail(__FILE__, __LINE__, "context spec too long");
		return;
	}
	memcpy(t->buf, spec, len + 1);
	size_t nv = 0;
	char *save = NULL;
	for (char *item = strtok_r(t->buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '=');
		if (eq == NULL || t->n == 48)
			continue;
		*eq = '\0';
		struct policy_ctx_entry *e = &t->e[t->n++];
		e->key = (struct policy_str){item, strlen(item)};
		e->values = &t->v[nv];
		char *val = eq + 1;
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '[' && val[vl - 1] == ']') {
			val[vl - 1] = '\0';
			val++;
			char *s2 = NULL;
			for (char *x = strtok_r(val, ",", &s2); x && nv < 160;
			     x = strtok_r(NULL, ",", &s2)) {
				t->v[nv++] = (struct policy_str){x, strlen(x)};
				e->nvalues++;
			}
		} else if (nv < 160) {
			t->v[nv++] = (struct policy_str){val, vl};
			e->nvalues = 1;
		}
	}
}

static inline struct policy_request treq(const char *action, const char *resource,
                                         const struct tctx *ctx)
{
	struct policy_request r;
	memset(&r, 0, sizeof(r));
	r.principal.kind = POLICY_PRINCIPAL_AWS;
	r.principal.arn = (struct policy_str){T_SESSION, strlen(T_SESSION)};
	r.principal.role_arn = (struct policy_str){T_ROLE, strlen(T_ROLE)};
	r.principal.account = (struct policy_str){T_ACCT, 12};
	r.action = (struct policy_str){action, strlen(action)};
	r.resource = (struct policy_str){resource, strlen(resource)};
	r.context = ctx ? ctx->e : NULL;
	r.ncontext = ctx ? ctx->n : 0;
	return r;
}

static inline void tuser(struct policy_request *r, const char *arn, const char *account)
{
	r->principal.kind = POLICY_PRINCIPAL_AWS;
	r->principal.arn = (struct policy_str){arn, strlen(arn)};
	r->principal.role_arn = (struct policy_str){"", 0};
	r->principal.account = (struct policy_str){account, strlen(account)};
}

/* Compiles or records a failure (printing the diagnostics); NULL on failure. */
static inline struct policy *tcompile(enum policy_type t, const char *json)
{
	struct policy_options o = {.type = t, .id = policy_type_name(t)};
	struct policy_diags d;
	policy_diags_init(&d);
	struct policy *p = NULL;
	int rc = policy_compile(json, strlen(json), &o, &p, &d);
	if (rc != POLICY_OK) {
		check_fail(__FILE__, __LINE__, "policy did not compile");
		for (size_t i = 0; i < d.count; i++)
			printf("      %s: %s\n", d.items[i].path, d.items[i].message);
	}
	policy_diags_free(&d);
	return p;
}

/* Compiles expecting failure; returns the status and fills d. */
static inline int tcompile_rc(enum policy_type t, bool managed, const char *json,
                              struct policy_diags *d)
{
	struct policy_options o = {.type = t, .managed = managed};
	struct policy *p = NULL;
	int rc = policy_compile(json, strlen(json), &o, &p, d);
	policy_unref(p);
	return rc;
}

/* Whether some diagnostic of severity sev has this path and a message holding
 * the text. */
static inline bool tdiag_has(const struct policy_diags *d, enum policy_severity sev,
                             const char *path, const char *text)
{
	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].severity == sev && strcmp(d->items[i].path, path) == 0 &&
		    strstr(d->items[i].message, text) != NULL)
			return true;
	}
	return false;
}

static inline void tdiag_dump(const struct policy_diags *d)
{
	for (size_t i = 0; i < d->count; i++)
		printf("      %s %s: %s\n", d->items[i].severity == POLICY_SEV_ERROR ? "E" : "W",
		       d->items[i].path, d->items[i].message);
}

/* Evaluates req against the NULL-terminated list of policies (level 0). */
static inline enum policy_decision tdecide(const struct policy_request *req,
                                           struct policy_result *r, ...)
{
	struct policy_input in[16];
	size_t n = 0;
	va_list ap;
	va_start(ap, r);
	struct policy *p;
	bool missing = false;
	while ((p = va_arg(ap, struct policy *)) != (struct policy *)-1 && n < 16) {
		if (p == NULL)
			missing = true;
		in[n].policy = p;
		in[n].level = 0;
		n++;
	}
	va_end(ap);
	struct policy_result local;
	if (r == NULL)
		r = &local;
	if (missing)
		return POLICY_IMPLICIT_DENY;
	if (policy_evaluate(in, n, req, r) != POLICY_OK)
		return (enum policy_decision) - 1;
	return r->decision;
}
#define TEND ((struct policy *)-1)

/* Builds an identity policy allowing ecs:RunTask on * under the given
 * Condition and says whether a request with the context is allowed. */
static inline bool tcond(const char *condition, const char *ctx_spec)
{
	char doc[4096];
	int w = snprintf(doc, sizeof(doc),
	                 "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
	                 "\"Action\":\"ecs:RunTask\",\"Resource\":\"*\",\"Condition\":%s}}",
	                 condition);
	if (w < 0 || (size_t)w >= sizeof(doc)) {
		check_fail(__FILE__, __LINE__, "condition too long");
		return false;
	}
	struct policy *p = tcompile(POLICY_IDENTITY, doc);
	if (p == NULL) {
		printf("      (condition %s)\n", condition);
		return false;
	}
	struct tctx ctx;
	tctx_parse(&ctx, ctx_spec);
	struct policy_request req =
	    treq("ecs:RunTask", "arn:aws:ecs:us-east-1:111122223333:task/x", &ctx);
	enum policy_decision d = tdecide(&req, NULL, p, TEND);
	policy_unref(p);
	return d == POLICY_ALLOW;
}

#endif
