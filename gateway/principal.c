/*
 * principal.c - the caller as the policy engine sees it: building a
 * principal, and the global condition keys AWS derives from it.
 *
 * Policies written for AWS must mean the same here, so the keys follow AWS's
 * global condition key reference: aws:PrincipalType is "User" for an IAM
 * user, "AssumedRole" for a role session and "Anonymous" for an unsigned
 * caller; aws:userid is the user's AIDA id, or "AROA...:session" for a role
 * session; aws:username exists only for IAM users; aws:PrincipalArn is the
 * role's ARN (not the session's) for a role session; aws:TokenIssueTime and
 * aws:MultiFactorAuthPresent exist only when the request used temporary
 * credentials, and aws:MultiFactorAuthAge only when MFA was used. A key AWS
 * leaves out stays out, because a condition on a missing key behaves
 * differently (IfExists, Null) from one on a present key.
 *
 * gw_principal_context writes every entry and every formatted value into the
 * caller's struct gw_principal_ctx, so one authorization allocates nothing:
 * strings the principal owns are borrowed, numbers and times are formatted
 * into its fixed buffer. Running out of room is an error (the caller fails
 * closed), never a silently shorter context.
 */
#include "gateway/principal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/iam.h"

static void free_tags(struct gw_principal_tag *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].key);
		free(t[i].value);
	}
	free(t);
}

void gw_principal_free(struct gw_principal *p)
{
	if (!p)
		return;
	free(p->arn);
	free(p->account);
	free(p->role_arn);
	free(p->session_name);
	free(p->user_name);
	free(p->user_id);
	free(p->access_key_id);
	free_tags(p->tags, p->ntags);
	policy_unref(p->session_policy);
	gw_iam_unref(p->iam);
	free(p);
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* "<a><b><c>" into a fresh string; NULL when out of memory. */
static char *join3(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	char *s = malloc(na + nb + nc + 1);
	if (!s)
		return NULL;
	memcpy(s, a, na);
	memcpy(s + na, b, nb);
	memcpy(s + na + nb, c, nc);
	s[na + nb + nc] = '\0';
	return s;
}

int gw_principal_set_tag(struct gw_principal *p, const char *key, const char *value)
{
	if (!p || !key || !value)
		return -1;
	char *v = strdup(value);
	if (!v)
		return -1;
	for (size_t i = 0; i < p->ntags; i++) {
		if (strcasecmp(p->tags[i].key, key) == 0) {
			free(p->tags[i].value);
			p->tags[i].value = v;
			return 0;
		}
	}
	char *k = strdup(key);
	struct gw_principal_tag *t =
	    k ? realloc(p->tags, (p->ntags + 1) * sizeof(*p->tags)) : NULL;
	if (!t) {
		free(k);
		free(v);
		return -1;
	}
	p->tags = t;
	p->tags[p->ntags].key = k;
	p->tags[p->ntags].value = v;
	p->ntags++;
	return 0;
}

static struct gw_principal *new_common(struct gw_iam *iam, const struct gw_iam_entity *e)
{
	struct gw_principal *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->iam = gw_iam_ref(iam);
	p->entity = e;
	p->transport = GW_TRANSPORT_NONE;
	bool oom = false;
	p->account = dup_or_null(gw_iam_account_id(iam), &oom);
	for (size_t i = 0; i < e->n_tags && !oom; i++)
		if (gw_principal_set_tag(p, e->tags[i].key, e->tags[i].value) != 0)
			oom = true;
	if (oom) {
		gw_principal_free(p);
		return NULL;
	}
	return p;
}

int gw_principal_new_user(struct gw_iam *iam, const struct gw_iam_entity *user,
                          const char *access_key_id, struct gw_principal **out)
{
	*out = NULL;
	if (!iam || !user || user->kind != GW_IAM_USER)
		return -1;
	struct gw_principal *p = new_common(iam, user);
	if (!p)
		return -1;
	bool oom = false;
	p->kind = GW_PRINCIPAL_USER;
	p->arn = dup_or_null(user->arn, &oom);
	p->user_name = dup_or_null(user->name, &oom);
	p->user_id = dup_or_null(user->unique_id, &oom);
	p->access_key_id = dup_or_null(access_key_id, &oom);
	if (oom) {
		gw_principal_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int gw_principal_new_role_session(struct gw_iam *iam, const struct gw_iam_entity *role,
                                  const char *session_name, struct gw_principal **out)
{
	*out = NULL;
	if (!iam || !role || role->kind != GW_IAM_ROLE || !session_name)
		return -1;
	struct gw_principal *p = new_common(iam, role);
	if (!p)
		return -1;
	bool oom = false;
	p->kind = GW_PRINCIPAL_ROLE_SESSION;
	p->role_arn = dup_or_null(role->arn, &oom);
	p->session_name = dup_or_null(session_name, &oom);
	p->user_id = join3(role->unique_id, ":", session_name);
	if (!p->user_id)
		oom = true;
	/* arn:aws:sts::<account>:assumed-role/<name>/<session>: the role's path
	 * is not part of a session ARN. */
	char head[64];
	int n = snprintf(head, sizeof(head), "arn:aws:sts::%s:assumed-role/",
	                 p->account ? p->account : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		oom = true;
	char *tail = oom ? NULL : join3(role->name, "/", session_name);
	p->arn = tail ? join3(head, tail, "") : NULL;
	free(tail);
	if (!p->arn)
		oom = true;
	if (oom) {
		gw_principal_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ---- the context ---- */

static struct policy_str slice(const char *s)
{
	struct policy_str r = {s ? s : "", s ? strlen(s) : 0};
	return r;
}

/* One entry with one value; the key text must outlive the context. */
static int add(struct gw_principal_ctx *c, struct policy_str key, struct policy_str value)
{
	if (c->n >= GW_PRINCIPAL_CTX_MAX)
		return -1;
	c->values[c->n] = value;
	c->entries[c->n].key = key;
	c->entries[c->n].values = &c->values[c->n];
	c->entries[c->n].nvalues = 1;
	c->n++;
	return 0;
}

/* Formats into the context's buffer and returns the slice (p NULL on overflow). */
__attribute__((format(printf, 2, 3))) static struct policy_str fmt(struct gw_principal_ctx *c,
                                                                   const char *f, ...)
{
	struct policy_str r = {NULL, 0};
	size_t room = sizeof(c->buf) - c->used;
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(c->buf + c->used, room, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return r;
	r.p = c->buf + c->used;
	r.n = (size_t)n;
	c->used += (size_t)n + 1;
	return r;
}

static int add_str(struct gw_principal_ctx *c, const char *key, const char *value)
{
	return add(c, slice(key), slice(value));
}

static int add_fmt_value(struct gw_principal_ctx *c, const char *key, struct policy_str v)
{
	return v.p ? add(c, slice(key), v) : -1;
}

static struct policy_str iso8601(struct gw_principal_ctx *c, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	struct policy_str none = {NULL, 0};
	if (!gmtime_r(&tt, &tm))
		return none;
	return fmt(c, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static const char *principal_type(enum gw_principal_kind k)
{
	switch (k) {
	case GW_PRINCIPAL_USER:
		return "User";
	case GW_PRINCIPAL_ROLE_SESSION:
		return "AssumedRole";
	case GW_PRINCIPAL_ANONYMOUS:
	default:
		return "Anonymous";
	}
}

int gw_principal_context(const struct gw_principal *p, int64_t now, const char *region,
                         struct gw_principal_ctx *out)
{
	out->n = 0;
	out->used = 0;
	if (!p)
		return -1;
	int rc = 0;
	rc |= add_fmt_value(out, "aws:CurrentTime", iso8601(out, now));
	rc |= add_fmt_value(out, "aws:EpochTime", fmt(out, "%lld", (long long)now));
	rc |= add_str(out, "aws:SecureTransport", p->secure_transport ? "true" : "false");
	if (p->source_ip[0])
		rc |= add_str(out, "aws:SourceIp", p->source_ip);
	if (region && region[0])
		rc |= add_str(out, "aws:RequestedRegion", region);
	rc |= add_str(out, "aws:PrincipalType", principal_type(p->kind));
	if (p->kind != GW_PRINCIPAL_ANONYMOUS) {
		const char *parn = p->kind == GW_PRINCIPAL_ROLE_SESSION && p->role_arn ? p->role_arn
		                                                                      : p->arn;
		if (parn)
			rc |= add_str(out, "aws:PrincipalArn", parn);
		if (p->account)
			rc |= add_str(out, "aws:PrincipalAccount", p->account);
		if (p->user_id)
			rc |= add_str(out, "aws:userid", p->user_id);
		if (p->kind == GW_PRINCIPAL_USER && p->user_name)
			rc |= add_str(out, "aws:username", p->user_name);
		/* Temporary credentials are what a role session signs with; only
		 * they carry an issue time and an MFA flag. */
		bool temporary = p->kind == GW_PRINCIPAL_ROLE_SESSION;
		if (temporary) {
			if (p->token_issued_at > 0)
				rc |= add_fmt_value(out, "aws:TokenIssueTime",
				                    iso8601(out, p->token_issued_at));
			rc |= add_str(out, "aws:MultiFactorAuthPresent", p->mfa ? "true" : "false");
		}
		if (p->mfa && p->token_issued_at > 0 && now >= p->token_issued_at)
			rc |= add_fmt_value(out, "aws:MultiFactorAuthAge",
			                    fmt(out, "%lld", (long long)(now - p->token_issued_at)));
		for (size_t i = 0; i < p->ntags && rc == 0; i++)
			rc |= add_fmt_value(out, "", fmt(out, "aws:PrincipalTag/%s", p->tags[i].key));
	}
	if (rc != 0) {
		out->n = 0;
		return -1;
	}
	/* Principal tags: the entries added last with an empty key hold the key
	 * name as their value; swap in the tag's value. */
	size_t t = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (out->entries[i].key.n != 0)
			continue;
		out->entries[i].key = out->values[i];
		out->values[i] = slice(p->tags[t].value);
		t++;
	}
	return 0;
}

void gw_principal_to_policy(const struct gw_principal *p, struct policy_principal *out)
{
	memset(out, 0, sizeof(*out));
	if (!p || p->kind == GW_PRINCIPAL_ANONYMOUS) {
		out->kind = POLICY_PRINCIPAL_ANONYMOUS;
		return;
	}
	out->kind = POLICY_PRINCIPAL_AWS;
	out->arn = slice(p->arn);
	if (p->kind == GW_PRINCIPAL_ROLE_SESSION)
		out->role_arn = slice(p->role_arn);
	out->account = slice(p->account);
	out->has_boundary = p->entity && p->entity->boundary;
}
