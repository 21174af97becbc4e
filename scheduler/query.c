/*
 * query.c - the cluster query language of memberOf placement constraints,
 * parsed and evaluated against one container instance in one pass.
 *
 *   expr       := and_expr (("or" | "||") and_expr)*
 *   and_expr   := unary (("and" | "&&") unary)*
 *   unary      := ("not" | "!") unary | "(" expr ")" | comparison
 *   comparison := subject op [value | list]
 *   list       := "[" value ("," value)* "]"   (or with parentheses)
 *
 * Subjects: attribute:<name>, ec2InstanceId (also instanceId),
 * agentConnected, agentVersion, registeredAt, runningTasksCount, task:group.
 * Operators: == != =~ !~ > >= < <= in not_in exists !exists, and their word
 * forms (equals, not_equals, matches, not_matches, greater_than, ...). =~
 * matches with the wildcards * and ?; ordering compares numbers when both
 * sides are numbers, else text. An attribute that is not set is neither equal
 * to nor in anything, so != and not_in are true for it; task:group has one
 * value per live task on the instance and == is true when any matches.
 *
 * Expressions come from callers, so the parser bounds everything: at most
 * 2,000 characters, 32 levels of nesting, 64 values in a list; errors name
 * the character where the expression went wrong. With no instance given
 * (sched_placement_check) it only parses.
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
