/*
 * placement.c - which container instance a task goes to, as ECS decides it.
 *
 * Placement runs in three stages for each task, the way ECS documents it:
 *
 *   1. Filter: an instance is a candidate when it is ACTIVE, satisfies every
 *      constraint (memberOf expressions in the cluster query language,
 *      distinctInstance: no other live task of the group on it), and has the
 *      CPU, memory and host ports the task needs left. Each refused instance
 *      keeps the reason ECS gives ("RESOURCE:MEMORY", "MemberOf placement
 *      constraint unsatisfied", ...), which is what RunTask's failures list.
 *   2. Strategies, in the order given, each narrowing the candidates: binpack
 *      keeps the instances with the least of cpu or memory left, spread keeps
 *      those whose value of the field (instanceId, or any attribute) carries
 *      the fewest tasks of the group, random keeps one at random (from the
 *      scheduler's injected randomness).
 *   3. Of what is left, the instance registered first.
 *
 * Host ports: static hostPorts must be free on the instance; dynamic ones
 * (hostPort 0) are the lowest free ports of the scheduler's dynamic range.
 * Ports are counted per protocol (tcp and udp are separate spaces), from the
 * instance's reserved ports and the bindings of every live task on it, so two
 * tasks never share a host port of one instance.
 *
 * The cluster query language (sched_expr_eval) covers what people write:
 *   attribute:<name> ==|!=|=~|!~|>|>=|<|<= value, in/not_in [a, b],
 *   exists/!exists; the subjects ec2InstanceId (also instanceId),
 *   agentConnected, agentVersion, registeredAt, runningTasksCount and
 *   task:group; and, or, not, parentheses. The word forms of the operators
 *   (equals, not_equals, matches, not_matches, greater_than, ...) work too.
 *   =~ matches with the wildcards * and ?.
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_MAX       2000 /* ECS's limit on a constraint expression */
#define EXPR_DEPTH_MAX 32
#define EXPR_LIST_MAX  64
#define STRATEGY_MAX   5
#define CONSTRAINT_MAX 10

const char *const SCHED_REASON_CPU = "RESOURCE:CPU";
const char *const SCHED_REASON_MEMORY = "RESOURCE:MEMORY";
const char *const SCHED_REASON_PORTS = "RESOURCE:PORTS";
const char *const SCHED_REASON_MEMBER_OF = "MemberOf placement constraint unsatisfied";
const char *const SCHED_REASON_DISTINCT = "DistinctInstance placement constraint unsatisfied";
const char *const SCHED_REASON_INACTIVE = "INSTANCE_NOT_ACTIVE";

/* --- the cluster query language ------------------------------------------ */

enum tok_kind { T_END, T_WORD, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA };

struct tok {
	enum tok_kind kind;
	const char *p;
	size_t n;
};

struct parser {
	const char *src;
	size_t pos, len;
	struct tok cur;
	int depth;
	/* What the expression is evaluated against (NULL: only parse). */
	const struct sched_obj *inst;
	const struct sched_objs *tasks;
	struct sched_error *err;
	int failed;
};

static bool is_sep(char c)
{
	return c == '(' || c == ')' || c == '[' || c == ']' || c == ',' ||
	       isspace((unsigned char)c);
}

static void next_tok(struct parser *p)
{
	while (p->pos < p->len && isspace((unsigned char)p->src[p->pos]))
		p->pos++;
	struct tok t = {T_END, p->src + p->pos, 0};
	if (p->pos >= p->len) {
		p->cur = t;
		return;
	}
	char c = p->src[p->pos];
	t.n = 1;
	switch (c) {
	case '(':
		t.kind = T_LPAREN;
		break;
	case ')':
		t.kind = T_RPAREN;
		break;
	case '[':
		t.kind = T_LBRACK;
		break;
	case ']':
		t.kind = T_RBRACK;
		break;
	case ',':
		t.kind = T_COMMA;
		break;
	default:
		t.kind = T_WORD;
		if (c == '"' || c == '\'') {
			/* a quoted value: the quotes are not part of it */
			size_t end = p->pos + 1;
			while (end < p->len && p->src[end] != c)
				end++;
			t.p = p->src + p->pos + 1;
			t.n = end - p->pos - 1;
			p->pos = end < p->len ? end + 1 : end;
			p->cur = t;
			return;
		}
		t.n = 0;
		while (p->pos + t.n < p->len && !is_sep(p->src[p->pos + t.n]))
			t.n++;
	}
	p->pos += t.n;
	p->cur = t;
}

static bool tok_is(const struct tok *t, const char *w)
{
	return t->kind == T_WORD && strlen(w) == t->n && strncmp(t->p, w, t->n) == 0;
}

static bool tok_is_ci(const struct tok *t, const char *w)
{
	return t->kind == T_WORD && strlen(w) == t->n && strncasecmp(t->p, w, t->n) == 0;
}

static int perr(struct parser *p, const char *what)
{
	if (!p->failed) {
		p->failed = 1;
		sched_fail(p->err, SCHED_ERR_INVALID_PARAMETER,
		           "Invalid placement constraint expression at character %zu: %s",
		           (size_t)(p->cur.p - p->src) + 1, what);
	}
	return -1;
}

enum op {
	OP_EQ,
	OP_NE,
	OP_MATCH,
	OP_NOMATCH,
	OP_GT,
	OP_GE,
	OP_LT,
	OP_LE,
	OP_IN,
	OP_NOT_IN,
	OP_EXISTS,
	OP_NOT_EXISTS,
};

static int parse_op(const struct tok *t, enum op *op)
{
	static const struct {
		const char *w;
		enum op op;
	} ops[] = {
	    {"==", OP_EQ},
	    {"equals", OP_EQ},
	    {"!=", OP_NE},
	    {"not_equals", OP_NE},
	    {"=~", OP_MATCH},
	    {"matches", OP_MATCH},
	    {"!~", OP_NOMATCH},
	    {"not_matches", OP_NOMATCH},
	    {">", OP_GT},
	    {"greater_than", OP_GT},
	    {">=", OP_GE},
	    {"greater_than_equal", OP_GE},
	    {"<", OP_LT},
	    {"less_than", OP_LT},
	    {"<=", OP_LE},
	    {"less_than_equal", OP_LE},
	    {"in", OP_IN},
	    {"not_in", OP_NOT_IN},
	    {"exists", OP_EXISTS},
	    {"!exists", OP_NOT_EXISTS},
	    {"not_exists", OP_NOT_EXISTS},
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (tok_is_ci(t, ops[i].w)) {
			*op = ops[i].op;
			return 0;
		}
	}
	return -1;
}

/* Glob match with * and ?, case-sensitive. */
static bool glob_match(const char *pat, size_t pn, const char *s)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0, sn = strlen(s);
	while (si < sn) {
		if (pi < pn && (pat[pi] == '?' || pat[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static bool parse_number(const char *p, size_t n, double *out)
{
	char buf[64];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	char *end = NULL;
	double v = strtod(buf, &end);
	if (!end || *end != '\0' || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* One value of a subject, compared with one operand. */
static bool cmp_one(enum op op, const char *v, const struct tok *operand)
{
	const char *o = operand->p;
	size_t on = operand->n;
	switch (op) {
	case OP_EQ:
	case OP_IN:
		return strlen(v) == on && strncmp(v, o, on) == 0;
	case OP_NE:
	case OP_NOT_IN:
		return !(strlen(v) == on && strncmp(v, o, on) == 0);
	case OP_MATCH:
		return glob_match(o, on, v);
	case OP_NOMATCH:
		return !glob_match(o, on, v);
	case OP_GT:
	case OP_GE:
	case OP_LT:
	case OP_LE: {
		double a, b;
		int c;
		if (parse_number(v, strlen(v), &a) && parse_number(o, on, &b)) {
			c = a < b ? -1 : a > b ? 1 : 0;
		} else {
			size_t vn = strlen(v);
			c = strncmp(v, o, vn < on ? vn : on);
			if (c == 0)
				c = vn < on ? -1 : vn > on ? 1 : 0;
		}
		return op == OP_GT ? c > 0 : op == OP_GE ? c >= 0 : op == OP_LT ? c < 0 : c <= 0;
	}
	default:
		return false;
	}
}

/* The values a subject has on the instance: most subjects have one (or none,
 * for an attribute that is not set); task:group has one per live task. */
struct values {
	const char *v[64];
	char own[4][64];
	size_t n;
	bool any; /* the subject exists (an attribute may exist without a value) */
};

static const char *inst_str(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

static void subject_values(struct parser *p, const struct tok *subj, struct values *out)
{
	memset(out, 0, sizeof(*out));
	const json_t *doc = p->inst->doc;
	if (subj->n > 10 && strncmp(subj->p, "attribute:", 10) == 0) {
		const char *name = subj->p + 10;
		size_t nn = subj->n - 10;
		size_t i;
		const json_t *a;
		json_array_foreach(json_object_get(doc, "attributes"), i, a)
		{
			const char *an = inst_str(a, "name");
			if (an && strlen(an) == nn && strncmp(an, name, nn) == 0) {
				out->any = true;
				const char *v = inst_str(a, "value");
				if (v && out->n < 64)
					out->v[out->n++] = v;
			}
		}
		return;
	}
	if (tok_is(subj, "ec2InstanceId") || tok_is(subj, "instanceId")) {
		const char *v = inst_str(doc, "ec2InstanceId");
		if (v) {
			out->v[out->n++] = v;
			out->any = true;
		}
		return;
	}
	if (tok_is(subj, "agentConnected")) {
		const json_t *b = json_object_get(doc, "agentConnected");
		out->v[out->n++] = (!b || json_is_true(b)) ? "true" : "false";
		out->any = true;
		return;
	}
	if (tok_is(subj, "agentVersion")) {
		const char *v = inst_str(json_object_get(doc, "versionInfo"), "agentVersion");
		if (v) {
			out->v[out->n++] = v;
			out->any = true;
		}
		return;
	}
	if (tok_is(subj, "runningTasksCount")) {
		/* from the tasks, which are newer than the instance document */
		long n = 0;
		for (size_t i = 0; p->tasks && i < p->tasks->n; i++) {
			const struct sched_obj *t = &p->tasks->v[i];
			if (t->row.parent && strcmp(t->row.parent, p->inst->row.arn) == 0 &&
			    strcmp(t->row.status, "RUNNING") == 0)
				n++;
		}
		if (!p->tasks)
			n = (long)json_integer_value(json_object_get(doc, "runningTasksCount"));
		snprintf(out->own[0], sizeof(out->own[0]), "%ld", n);
		out->v[out->n++] = out->own[0];
		out->any = true;
		return;
	}
	if (tok_is(subj, "registeredAt")) {
		const json_t *n = json_object_get(doc, "registeredAt");
		if (json_is_number(n)) {
			snprintf(out->own[0], sizeof(out->own[0]), "%.17g", json_number_value(n));
			out->v[out->n++] = out->own[0];
			out->any = true;
		}
		return;
	}
	/* task:group: the groups of the live tasks on this instance */
	const char *arn = p->inst->row.arn;
	for (size_t i = 0; p->tasks && i < p->tasks->n && out->n < 64; i++) {
		const struct sched_obj *t = &p->tasks->v[i];
		if (strcmp(t->row.parent ? t->row.parent : "", arn) != 0 ||
		    strcmp(t->row.status, "STOPPED") == 0)
			continue;
		const char *g = inst_str(t->doc, "group");
		if (g) {
			out->v[out->n++] = g;
			out->any = true;
		}
	}
}

static bool known_subject(const struct tok *t)
{
	if (t->kind != T_WORD)
		return false;
	if (t->n > 10 && strncmp(t->p, "attribute:", 10) == 0)
		return true;
	return tok_is(t, "ec2InstanceId") || tok_is(t, "instanceId") ||
	       tok_is(t, "agentConnected") || tok_is(t, "agentVersion") ||
	       tok_is(t, "registeredAt") || tok_is(t, "runningTasksCount") ||
	       tok_is(t, "task:group");
}

static int parse_or(struct parser *p, bool *out);

static int parse_comparison(struct parser *p, bool *out)
{
	struct tok subj = p->cur;
	if (!known_subject(&subj))
		return perr(p, "expected attribute:<name>, ec2InstanceId, agentConnected, "
		               "agentVersion, registeredAt, runningTasksCount or task:group");
	next_tok(p);
	enum op op;
	if (parse_op(&p->cur, &op) != 0)
		return perr(p, "expected an operator (==, !=, =~, !~, >, >=, <, <=, in, not_in, "
		               "exists, !exists)");
	next_tok(p);
	struct tok operands[EXPR_LIST_MAX];
	size_t n_ops = 0;
	if (op == OP_IN || op == OP_NOT_IN) {
		enum tok_kind close = p->cur.kind == T_LBRACK ? T_RBRACK : T_RPAREN;
		if (p->cur.kind != T_LBRACK && p->cur.kind != T_LPAREN)
			return perr(p, "expected a list [a, b, ...] after in/not_in");
		next_tok(p);
		for (;;) {
			if (p->cur.kind != T_WORD)
				return perr(p, "expected a value in the list");
			if (n_ops == EXPR_LIST_MAX)
				return perr(p, "too many values in the list");
			operands[n_ops++] = p->cur;
			next_tok(p);
			if (p->cur.kind == T_COMMA) {
				next_tok(p);
				continue;
			}
			if (p->cur.kind != close)
				return perr(p, "expected , or the end of the list");
			next_tok(p);
			break;
		}
	} else if (op != OP_EXISTS && op != OP_NOT_EXISTS) {
		if (p->cur.kind != T_WORD || tok_is_ci(&p->cur, "and") || tok_is_ci(&p->cur, "or"))
			return perr(p, "expected a value after the operator");
		operands[n_ops++] = p->cur;
		next_tok(p);
	}
	if (!p->inst) {
		*out = false;
		return 0;
	}
	struct values vals;
	subject_values(p, &subj, &vals);
	bool negative = op == OP_NE || op == OP_NOMATCH || op == OP_NOT_IN;
	switch (op) {
	case OP_EXISTS:
		*out = vals.any;
		return 0;
	case OP_NOT_EXISTS:
		*out = !vals.any;
		return 0;
	default:
		break;
	}
	if (negative) {
		/* true when no value is equal to (matches, is in) an operand */
		enum op pos = op == OP_NE ? OP_EQ : op == OP_NOMATCH ? OP_MATCH : OP_IN;
		bool hit = false;
		for (size_t i = 0; i < vals.n && !hit; i++)
			for (size_t j = 0; j < n_ops && !hit; j++)
				hit = cmp_one(pos, vals.v[i], &operands[j]);
		*out = !hit;
		return 0;
	}
	bool hit = false;
	for (size_t i = 0; i < vals.n && !hit; i++)
		for (size_t j = 0; j < n_ops && !hit; j++)
			hit = cmp_one(op, vals.v[i], &operands[j]);
	*out = hit;
	return 0;
}

static int parse_unary(struct parser *p, bool *out)
{
	if (++p->depth > EXPR_DEPTH_MAX)
		return perr(p, "nested too deeply");
	int rc;
	if (tok_is_ci(&p->cur, "not") || tok_is(&p->cur, "!")) {
		next_tok(p);
		bool v = false;
		rc = parse_unary(p, &v);
		*out = !v;
	} else if (p->cur.kind == T_LPAREN) {
		next_tok(p);
		rc = parse_or(p, out);
		if (rc == 0 && p->cur.kind != T_RPAREN)
			rc = perr(p, "expected )");
		if (rc == 0)
			next_tok(p);
	} else {
		rc = parse_comparison(p, out);
	}
	p->depth--;
	return rc;
}

static int parse_and(struct parser *p, bool *out)
{
	bool acc = false;
	if (parse_unary(p, &acc) != 0)
		return -1;
	while (tok_is_ci(&p->cur, "and") || tok_is(&p->cur, "&&")) {
		next_tok(p);
		bool v = false;
		if (parse_unary(p, &v) != 0)
			return -1;
		acc = acc && v;
	}
	*out = acc;
	return 0;
}

static int parse_or(struct parser *p, bool *out)
{
	bool acc = false;
	if (parse_and(p, &acc) != 0)
		return -1;
	while (tok_is_ci(&p->cur, "or") || tok_is(&p->cur, "||")) {
		next_tok(p);
		bool v = false;
		if (parse_and(p, &v) != 0)
			return -1;
		acc = acc || v;
	}
	*out = acc;
	return 0;
}

static int expr_run(const char *expr, const struct sched_obj *inst, const struct sched_objs *tasks,
                    bool *result, struct sched_error *err)
{
	if (!expr || !expr[0])
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "A memberOf placement constraint needs an expression");
	size_t len = strnlen(expr, EXPR_MAX + 1);
	if (len > EXPR_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "Placement constraint expressions are limited to %d characters",
		                  EXPR_MAX);
	struct parser p = {.src = expr, .len = len, .inst = inst, .tasks = tasks, .err = err};
	next_tok(&p);
	bool v = false;
	if (parse_or(&p, &v) != 0)
		return SCHED_ERR_INVALID_PARAMETER;
	if (p.cur.kind != T_END) {
		perr(&p, "unexpected text after the expression");
		return SCHED_ERR_INVALID_PARAMETER;
	}
	if (result)
		*result = v;
	return SCHED_OK;
}

int sched_expr_eval(const char *expr, const struct sched_obj *inst, const struct sched_objs *tasks,
                    bool *result, struct sched_error *err)
{
	return expr_run(expr, inst, tasks, result, err);
}

/* --- checking a request's strategies and constraints -------------------- */

static bool spread_field_ok(const char *f)
{
	return strcasecmp(f, "instanceId") == 0 || strcasecmp(f, "host") == 0 ||
	       (strncmp(f, "attribute:", 10) == 0 && f[10] != '\0');
}

int sched_placement_check(const json_t *strategy, const json_t *constraints,
                          struct sched_error *err)
{
	if (strategy && !json_is_null(strategy)) {
		if (!json_is_array(strategy) || json_array_size(strategy) > STRATEGY_MAX)
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "placementStrategy must be a list of at most %d strategies",
			    STRATEGY_MAX);
		size_t i;
		const json_t *st;
		json_array_foreach(strategy, i, st)
		{
			const char *type = inst_str(st, "type");
			const json_t *fj = json_object_get(st, "field");
			const char *field = json_string_value(fj);
			if (fj && !field)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementStrategy[%zu].field must be a string",
				                  i);
			if (!type)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementStrategy[%zu].type is required", i);
			if (strcmp(type, "random") == 0) {
				if (field && field[0])
					return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
					                  "The random placement strategy takes no "
					                  "field");
			} else if (strcmp(type, "binpack") == 0) {
				if (!field || (strcasecmp(field, "cpu") != 0 &&
				               strcasecmp(field, "memory") != 0))
					return sched_fail(
					    err, SCHED_ERR_INVALID_PARAMETER,
					    "The binpack placement strategy needs the "
					    "field cpu or memory");
			} else if (strcmp(type, "spread") == 0) {
				if (!field || !spread_field_ok(field))
					return sched_fail(
					    err, SCHED_ERR_INVALID_PARAMETER,
					    "The spread placement strategy needs the field "
					    "instanceId, host or attribute:<name>");
			} else {
				return sched_fail(
				    err, SCHED_ERR_INVALID_PARAMETER,
				    "Unknown placement strategy type %s (random, spread "
				    "or binpack)",
				    type);
			}
		}
	}
	if (constraints && !json_is_null(constraints)) {
		if (!json_is_array(constraints) || json_array_size(constraints) > CONSTRAINT_MAX)
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "placementConstraints must be a list of at most %d "
			                  "constraints",
			                  CONSTRAINT_MAX);
		size_t i;
		const json_t *c;
		json_array_foreach(constraints, i, c)
		{
			const char *type = inst_str(c, "type");
			const json_t *ej = json_object_get(c, "expression");
			const char *expr = json_string_value(ej);
			if (ej && !expr)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementConstraints[%zu].expression must be a "
				                  "string",
				                  i);
			if (!type)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementConstraints[%zu].type is required", i);
			if (strcmp(type, "distinctInstance") == 0) {
				if (expr && expr[0])
					return sched_fail(
					    err, SCHED_ERR_INVALID_PARAMETER,
					    "The distinctInstance constraint takes no "
					    "expression");
			} else if (strcmp(type, "memberOf") == 0) {
				int rc = expr_run(expr, NULL, NULL, NULL, err);
				if (rc != SCHED_OK)
					return rc;
			} else {
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "Unknown placement constraint type %s "
				                  "(distinctInstance or memberOf)",
				                  type);
			}
		}
	}
	return SCHED_OK;
}

/* --- ports --------------------------------------------------------------- */

int sched_ports_fit(struct sched *s, const struct sched_usage *u, const struct sched_need *need,
                    int *host_ports)
{
	int next_dyn = s->port_min;
	for (size_t i = 0; i < need->n_ports; i++) {
		const struct sched_port *pt = &need->ports[i];
		int hp = pt->host_port;
		if (hp > 0) {
			if (sched_usage_port_taken(u, hp, pt->udp))
				return -1;
			for (size_t j = 0; j < i; j++)
				if (host_ports[j] == hp && need->ports[j].udp == pt->udp)
					return -1;
			host_ports[i] = hp;
			continue;
		}
		/* dynamic: the lowest free port of the range not taken by this task
		 * already (static ports of this task come later in the list too) */
		for (;;) {
			if (next_dyn > s->port_max)
				return -1;
			bool taken = sched_usage_port_taken(u, next_dyn, pt->udp);
			for (size_t j = 0; !taken && j < need->n_ports; j++)
				if (need->ports[j].host_port == next_dyn)
					taken = true;
			for (size_t j = 0; !taken && j < i; j++)
				if (host_ports[j] == next_dyn)
					taken = true;
			if (!taken)
				break;
			next_dyn++;
		}
		host_ports[i] = next_dyn++;
	}
	return 0;
}

/* --- placing one task ---------------------------------------------------- */

static bool task_live(const struct sched_obj *t)
{
	return strcmp(t->row.status, "STOPPED") != 0 && t->row.grp &&
	       strcmp(t->row.grp, "STOPPED") != 0;
}

static bool task_in_group(const struct sched_obj *t, const char *group)
{
	const char *g = inst_str(t->doc, "group");
	return g && group && strcmp(g, group) == 0;
}

static uint64_t fnv1a(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return h;
}

/* How many live tasks of group each instance runs: one pass over the tasks,
 * instances found by ARN through a small open-addressing table. */
static int group_counts(const struct sched_objs *insts, const struct sched_objs *tasks,
                        const char *group, size_t *count)
{
	size_t n = insts->n, cap = 16;
	while (cap < n * 2)
		cap *= 2;
	int *slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return -1;
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)fnv1a(insts->v[i].row.arn) & (cap - 1);
		while (slot[h] >= 0)
			h = (h + 1) & (cap - 1);
		slot[h] = (int)i;
	}
	for (size_t t = 0; tasks && t < tasks->n; t++) {
		const struct sched_obj *o = &tasks->v[t];
		if (!o->row.parent || !o->row.parent[0] || !task_live(o) ||
		    !task_in_group(o, group))
			continue;
		size_t h = (size_t)fnv1a(o->row.parent) & (cap - 1);
		while (slot[h] >= 0) {
			if (strcmp(insts->v[slot[h]].row.arn, o->row.parent) == 0) {
				count[slot[h]]++;
				break;
			}
			h = (h + 1) & (cap - 1);
		}
	}
	free(slot);
	return 0;
}

/* The value of a spread field on an instance ("" when it has none). */
static const char *field_value(const struct sched_obj *inst, const char *field)
{
	if (strcasecmp(field, "instanceId") == 0 || strcasecmp(field, "host") == 0)
		return inst->row.arn;
	const char *name = field + 10; /* after "attribute:" */
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(inst->doc, "attributes"), i, a)
	{
		const char *an = inst_str(a, "name");
		if (an && strcmp(an, name) == 0) {
			const char *v = inst_str(a, "value");
			return v ? v : "";
		}
	}
	if (strcmp(name, "ecs.availability-zone") == 0) {
		const char *az = inst_str(inst->doc, "availabilityZone");
		if (az)
			return az;
	}
	return "";
}

/* For each candidate, the tasks of the group on every instance that has the
 * same value of field: values summed once through a hash table. */
static int spread_counts(const struct sched_objs *insts, const size_t *on, const char *field,
                         const int *cand, size_t nc, size_t *count)
{
	size_t n = insts->n, cap = 16;
	while (cap < n * 2)
		cap *= 2;
	const char **vals = malloc(n * sizeof(*vals));
	int *slot = malloc(cap * sizeof(*slot)); /* an instance index with that value */
	size_t *sum = calloc(cap, sizeof(*sum));
	if (!vals || !slot || !sum) {
		free(vals);
		free(slot);
		free(sum);
		return -1;
	}
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (size_t i = 0; i < n; i++) {
		vals[i] = field_value(&insts->v[i], field);
		size_t h = (size_t)fnv1a(vals[i]) & (cap - 1);
		while (slot[h] >= 0 && strcmp(vals[slot[h]], vals[i]) != 0)
			h = (h + 1) & (cap - 1);
		if (slot[h] < 0)
			slot[h] = (int)i;
		sum[h] += on[i];
	}
	for (size_t j = 0; j < nc; j++) {
		const char *v = vals[cand[j]];
		size_t h = (size_t)fnv1a(v) & (cap - 1);
		while (slot[h] >= 0 && strcmp(vals[slot[h]], v) != 0)
			h = (h + 1) & (cap - 1);
		count[j] = sum[h];
	}
	free(vals);
	free(slot);
	free(sum);
	return 0;
}

int sched_place(struct sched *s, const struct sched_objs *insts, struct sched_usage *usages,
                const struct sched_objs *tasks, const char *group, const struct sched_need *need,
                const json_t *strategy, const json_t *constraints, int *chosen,
                const char **reason_at, struct sched_error *err)
{
	*chosen = -1;
	size_t n = insts->n;
	if (n == 0)
		return SCHED_OK;
	int *cand = malloc(n * sizeof(*cand));
	int *ports = malloc((need->n_ports ? need->n_ports : 1) * sizeof(*ports));
	size_t *on = calloc(n, sizeof(*on));
	size_t *count = calloc(n, sizeof(*count));
	if (!cand || !ports || !on || !count || group_counts(insts, tasks, group, on) != 0) {
		free(cand);
		free(ports);
		free(on);
		free(count);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	size_t nc = 0;
	int rc = SCHED_OK;
	for (size_t i = 0; i < n; i++) {
		const struct sched_obj *inst = &insts->v[i];
		const struct sched_usage *u = &usages[i];
		const char *reason = NULL;
		const char *st = inst_str(inst->doc, "status");
		if (strcmp(st ? st : inst->row.status, "ACTIVE") != 0)
			reason = SCHED_REASON_INACTIVE;
		size_t k;
		const json_t *c;
		json_array_foreach(constraints, k, c)
		{
			if (reason)
				break;
			const char *type = inst_str(c, "type");
			if (type && strcmp(type, "memberOf") == 0) {
				bool ok = false;
				rc = sched_expr_eval(inst_str(c, "expression"), inst, tasks, &ok,
				                     err);
				if (rc != SCHED_OK)
					goto out;
				if (!ok)
					reason = SCHED_REASON_MEMBER_OF;
			} else if (type && strcmp(type, "distinctInstance") == 0) {
				if (on[i] > 0)
					reason = SCHED_REASON_DISTINCT;
			}
		}
		if (!reason && u->cpu_total - u->cpu_used < need->cpu)
			reason = SCHED_REASON_CPU;
		if (!reason && u->mem_total - u->mem_used < need->memory)
			reason = SCHED_REASON_MEMORY;
		if (!reason && sched_ports_fit(s, u, need, ports) != 0)
			reason = SCHED_REASON_PORTS;
		reason_at[i] = reason;
		if (!reason)
			cand[nc++] = (int)i;
	}
	size_t k;
	const json_t *stj;
	json_array_foreach(strategy, k, stj)
	{
		if (nc <= 1)
			break;
		const char *type = inst_str(stj, "type");
		const char *field = inst_str(stj, "field");
		if (!type)
			continue;
		if (strcmp(type, "random") == 0) {
			size_t pick = (size_t)(sched_random_u64(s) % nc);
			cand[0] = cand[pick];
			nc = 1;
		} else if (strcmp(type, "binpack") == 0 && field) {
			bool cpu = strcasecmp(field, "cpu") == 0;
			long best = 0;
			size_t m = 0;
			for (size_t j = 0; j < nc; j++) {
				const struct sched_usage *u = &usages[cand[j]];
				long left = cpu ? (long)u->cpu_total - u->cpu_used
				                : (long)u->mem_total - u->mem_used;
				if (j == 0 || left < best) {
					best = left;
					m = 0;
				}
				if (left == best)
					cand[m++] = cand[j];
			}
			nc = m;
		} else if (strcmp(type, "spread") == 0 && field) {
			/* tasks of the group per value of the field, over every
			 * ACTIVE instance (not only the candidates) */
			bool per_instance =
			    strcasecmp(field, "instanceId") == 0 || strcasecmp(field, "host") == 0;
			for (size_t j = 0; j < nc; j++) {
				if (per_instance) {
					count[j] = on[cand[j]];
					continue;
				}
			}
			if (!per_instance &&
			    spread_counts(insts, on, field, cand, nc, count) != 0) {
				rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
				goto out;
			}
			size_t best = 0, m = 0;
			for (size_t j = 0; j < nc; j++)
				if (j == 0 || count[j] < best)
					best = count[j];
			for (size_t j = 0; j < nc; j++)
				if (count[j] == best)
					cand[m++] = cand[j];
			nc = m;
		}
	}
	if (nc > 0) {
		*chosen = cand[0];
		reason_at[cand[0]] = NULL;
	}
out:
	free(cand);
	free(ports);
	free(on);
	free(count);
	return rc;
}
