/*
 * explain.c - decisions into words: names of types and decisions, a
 * one-paragraph explanation for people and logs, and the phrases AWS uses in
 * an AccessDenied message.
 *
 * Request text (action, resource, principal) comes from the network and
 * policy ids from operators; both are copied with control characters and
 * non-ASCII bytes escaped as \xNN, so an explanation written to a log is one
 * line that says what it seems to say. The writers behave like snprintf:
 * they write what fits, always NUL-terminate, and return the length needed.
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

static const char *const type_names[POLICY_TYPE_COUNT] = {
    [POLICY_IDENTITY] = "identity", [POLICY_RESOURCE] = "resource", [POLICY_BOUNDARY] = "boundary",
    [POLICY_SESSION] = "session",   [POLICY_SCP] = "scp",           [POLICY_TRUST] = "trust",
};

const char *policy_type_name(enum policy_type t)
{
	if ((unsigned)t >= POLICY_TYPE_COUNT)
		return "unknown";
	return type_names[t];
}

int policy_type_from_name(const char *name, enum policy_type *out)
{
	if (name == NULL || out == NULL)
		return -1;
	for (unsigned i = 0; i < POLICY_TYPE_COUNT; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum policy_type)i;
			return 0;
		}
	}
	return -1;
}

const char *policy_decision_name(enum policy_decision d)
{
	switch (d) {
	case POLICY_ALLOW:
		return "Allow";
	case POLICY_EXPLICIT_DENY:
		return "ExplicitDeny";
	default:
		return "ImplicitDeny";
	}
}

/* The type as AWS's messages name it. */
static const char *type_phrase(enum policy_type t)
{
	switch (t) {
	case POLICY_IDENTITY:
		return "identity-based policy";
	case POLICY_RESOURCE:
		return "resource-based policy";
	case POLICY_BOUNDARY:
		return "permissions boundary";
	case POLICY_SESSION:
		return "session policy";
	case POLICY_SCP:
		return "service control policy";
	case POLICY_TRUST:
		return "trust policy";
	default:
		return "policy";
	}
}

const char *policy_deny_reason(const struct policy_result *r)
{
	if (r == NULL)
		return "no identity-based policy allows";
	if (r->decision == POLICY_ALLOW)
		return "";
	if (r->decision == POLICY_EXPLICIT_DENY) {
		switch (r->decided_by) {
		case POLICY_RESOURCE:
			return "an explicit deny in a resource-based policy";
		case POLICY_BOUNDARY:
			return "an explicit deny in a permissions boundary";
		case POLICY_SESSION:
			return "an explicit deny in a session policy";
		case POLICY_SCP:
			return "an explicit deny in a service control policy";
		case POLICY_TRUST:
			return "an explicit deny in a trust policy";
		default:
			return "an explicit deny in an identity-based policy";
		}
	}
	switch (r->decided_by) {
	case POLICY_RESOURCE:
		return "no resource-based policy allows";
	case POLICY_BOUNDARY:
		return "no permissions boundary allows";
	case POLICY_SESSION:
		return "no session policy allows";
	case POLICY_SCP:
		return "no service control policy allows";
	case POLICY_TRUST:
		return "no trust policy allows";
	default:
		return "no identity-based policy allows";
	}
}

/* ---- a bounded writer ---- */

struct out {
	char *buf;
	size_t cap;
	size_t len; /* needed so far */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - 1 - o->len;
		size_t k = n < room ? n : room;
		memcpy(o->buf + o->len, s, k);
		o->buf[o->len + k] = '\0';
	}
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Copies untrusted text, escaping what is not printable ASCII. */
static void put_text(struct out *o, const char *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			put(o, (const char *)&s[i], 1);
		} else if (c == '\\') {
			put(o, "\\\\", 2);
		} else {
			static const char hex[] = "0123456789abcdef";
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			put(o, e, 4);
		}
	}
}

static void put_str(struct out *o, struct policy_str s)
{
	put_text(o, s.p, s.n);
}

static void put_num(struct out *o, unsigned long v)
{
	char b[32];
	int w = snprintf(b, sizeof(b), "%lu", v);
	if (w > 0 && (size_t)w < sizeof(b))
		put(o, b, (size_t)w);
}

static size_t finish(struct out *o, char *buf, size_t n)
{
	if (buf != NULL && n > 0 && o->len == 0)
		buf[0] = '\0';
	return o->len;
}

static void put_statement(struct out *o, const struct policy_match *m)
{
	const char *sid = policy_statement_sid(m->policy, m->statement);
	puts_(o, "statement ");
	if (sid[0] != '\0') {
		puts_(o, "'");
		put_text(o, sid, strlen(sid));
		puts_(o, "' ");
	}
	puts_(o, "(Statement[");
	put_num(o, m->statement);
	puts_(o, "]) of ");
	puts_(o, type_phrase(policy_type_of(m->policy)));
	puts_(o, " '");
	const char *id = policy_id(m->policy);
	put_text(o, id, strlen(id));
	puts_(o, "'");
}

static void put_action_on(struct out *o, const struct policy_request *req)
{
	if (req == NULL)
		return;
	put_str(o, req->action);
	puts_(o, " on ");
	if (req->resource.n == 0)
		puts_(o, "*");
	else
		put_str(o, req->resource);
}

size_t policy_explain(const struct policy_result *r, const struct policy_request *req, char *buf,
                      size_t n)
{
	struct out o = {buf, buf ? n : 0, 0};
	if (r == NULL) {
		puts_(&o, "ImplicitDeny: no result.");
		return finish(&o, buf, n);
	}
	puts_(&o, policy_decision_name(r->decision));
	puts_(&o, ": ");
	switch (r->decision) {
	case POLICY_ALLOW:
		if (r->has_decider) {
			put_statement(&o, &r->decider);
			puts_(&o, " allows ");
		} else {
			puts_(&o, "allowed: ");
		}
		put_action_on(&o, req);
		puts_(&o, ".");
		break;
	case POLICY_EXPLICIT_DENY:
		if (r->has_decider) {
			put_statement(&o, &r->decider);
			puts_(&o, " denies ");
		} else {
			puts_(&o, "an explicit deny in a ");
			puts_(&o, type_phrase(r->decided_by));
			puts_(&o, " denies ");
		}
		put_action_on(&o, req);
		puts_(&o, ".");
		break;
	default:
		puts_(&o, policy_deny_reason(r));
		if (r->decided_by == POLICY_SCP) {
			puts_(&o, " at level ");
			put_num(&o, r->scp_level);
		}
		puts_(&o, " ");
		put_action_on(&o, req);
		if (r->decided_by == POLICY_RESOURCE && req != NULL) {
			puts_(&o, " (the caller's account ");
			put_str(&o, req->principal.account);
			puts_(&o,
			      " is not the resource's: a resource-based policy must allow too)");
		} else if (r->decided_by == POLICY_BOUNDARY) {
			puts_(&o, " (the boundary limits what the identity side grants)");
		} else if (r->decided_by == POLICY_SESSION) {
			puts_(&o, " (the session policy limits what the role grants)");
		}
		puts_(&o, ".");
		break;
	}
	return finish(&o, buf, n);
}

size_t policy_deny_message(const struct policy_result *r, const struct policy_request *req,
                           char *buf, size_t n)
{
	struct out o = {buf, buf ? n : 0, 0};
	if (r == NULL || req == NULL || r->decision == POLICY_ALLOW)
		return finish(&o, buf, n);
	switch (req->principal.kind) {
	case POLICY_PRINCIPAL_ANONYMOUS:
		puts_(&o, "User: anonymous");
		break;
	default:
		puts_(&o, "User: ");
		put_str(&o, req->principal.arn);
		break;
	}
	puts_(&o, " is not authorized to perform: ");
	put_str(&o, req->action);
	puts_(&o, " on resource: ");
	if (req->resource.n == 0)
		puts_(&o, "*");
	else
		put_str(&o, req->resource);
	if (r->decision == POLICY_EXPLICIT_DENY) {
		puts_(&o, " with ");
		puts_(&o, policy_deny_reason(r));
	} else {
		puts_(&o, " because ");
		puts_(&o, policy_deny_reason(r));
		puts_(&o, " the ");
		put_str(&o, req->action);
		puts_(&o, " action");
	}
	return finish(&o, buf, n);
}
