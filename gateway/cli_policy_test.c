/*
 * cli_policy_test.c - `taskgate policy test FILE...`: the conformance runner.
 *
 * A vector file (format of /work/shared/conformance/README.md) lists cases of
 * two kinds: a decision case (typed policies, one request, the expected
 * Allow / ExplicitDeny / ImplicitDeny) and an invalid-document case (a
 * document that validation must reject for a policy type). The runner feeds
 * each case through exactly the library calls the gateway makes, so a green run
 * says something about production, not about a test double.
 *
 * Documents arrive as JSON values inside the vector file. The library compiles
 * text, so each document is written back out; numbers are written in their
 * shortest form that reads back to the same double ("2.5", not
 * "2.50000000000000000"), because a decimal's text is what a Numeric condition
 * compares. A case may give `document_text` (a string) instead, for documents
 * that are not valid JSON or that repeat a key, which a parsed value cannot
 * carry.
 *
 * Output: one line per failing case (name, expected, actual, why), `-v` adds a
 * line per passing case, and the last line is `N passed, N failed`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gateway/cli.h"
#include "gateway/cli_policy.h"

/* Vectors nest documents a few levels deep; anything deeper is hostile. */
#define DOC_MAX_DEPTH 64

struct sbuf {
	char *p;
	size_t n;
	size_t cap;
	bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (n > SIZE_MAX / 2 - b->n) {
		b->failed = true;
		return;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (q == NULL) {
			b->failed = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_json_string(struct sbuf *b, const char *s, size_t n)
{
	sb_put(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_put(b, s + run, i - run);
		run = i + 1;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else {
			int w = snprintf(esc, sizeof(esc), "\\u%04x", c);
			if (w != 6) {
				b->failed = true;
				return;
			}
		}
		sb_puts(b, esc);
	}
	sb_put(b, s + run, n - run);
	sb_put(b, "\"", 1);
}

/* The shortest %g text that reads back as exactly d. */
static int shortest_real(double d, char *buf, size_t n)
{
	for (int prec = 1; prec <= 17; prec++) {
		int w = snprintf(buf, n, "%.*g", prec, d);
		if (w < 0 || (size_t)w >= n)
			return -1;
		if (strtod(buf, NULL) == d)
			break;
	}
	/* JSON needs a digit where %g may print "1e+20" (fine) or "inf" (not
	 * possible from parsed JSON). */
	return 0;
}

/* Writes a scalar as the text a request context carries. */
static int scalar_text(const json_t *v, char *buf, size_t n)
{
	int w;
	switch (json_typeof(v)) {
	case JSON_TRUE:
		w = snprintf(buf, n, "true");
		break;
	case JSON_FALSE:
		w = snprintf(buf, n, "false");
		break;
	case JSON_INTEGER:
		w = snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		return shortest_real(json_real_value(v), buf, n);
	default:
		return -1;
	}
	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

static void sb_json(struct sbuf *b, const json_t *v, int depth)
{
	if (depth > DOC_MAX_DEPTH) {
		b->failed = true;
		return;
	}
	char num[64];
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		sb_put(b, "{", 1);
		bool first = true;
		for (void *it = json_object_iter((json_t *)v); it != NULL;
		     it = json_object_iter_next((json_t *)v, it)) {
			if (!first)
				sb_put(b, ",", 1);
			first = false;
			sb_json_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
			sb_put(b, ":", 1);
			sb_json(b, json_object_iter_value(it), depth + 1);
		}
		sb_put(b, "}", 1);
		break;
	}
	case JSON_ARRAY:
		sb_put(b, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				sb_put(b, ",", 1);
			sb_json(b, json_array_get(v, i), depth + 1);
		}
		sb_put(b, "]", 1);
		break;
	case JSON_STRING:
		sb_json_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_NULL:
		sb_puts(b, "null");
		break;
	default:
		if (scalar_text(v, num, sizeof(num)) != 0) {
			b->failed = true;
			return;
		}
		sb_puts(b, num);
		break;
	}
}

struct runner {
	bool verbose;
	const char *file_label; /* prefix for lines when several files run */
	unsigned passed;
	unsigned failed;
};

static void case_fail(struct runner *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void case_fail(struct runner *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	r->failed++;
	printf("FAIL: %s%s%s: ", r->file_label ? r->file_label : "", r->file_label ? ": " : "",
	       name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void case_pass(struct runner *r, const char *name, const char *detail)
{
	r->passed++;
	if (r->verbose)
		printf("ok: %s%s%s%s%s\n", r->file_label ? r->file_label : "",
		       r->file_label ? ": " : "", name, detail ? ": " : "", detail ? detail : "");
}

/* The document's text: document_text as given, or document written out. */
static int document_text(const json_t *c, struct sbuf *out, const char **why)
{
	const json_t *raw = json_object_get(c, "document_text");
	if (raw != NULL) {
		if (!json_is_string(raw)) {
			*why = "document_text is not a string";
			return -1;
		}
		sb_put(out, json_string_value(raw), json_string_length(raw));
	} else {
		const json_t *doc = json_object_get(c, "document");
		if (doc == NULL) {
			*why = "no document";
			return -1;
		}
		sb_json(out, doc, 0);
	}
	if (out->failed) {
		*why = "document too deep or out of memory";
		return -1;
	}
	if (out->p == NULL)
		sb_put(out, "", 0);
	return 0;
}

/* Optional "managed" and "size_limit" of a policy entry or invalid case. */
static int policy_options_from(const json_t *c, struct policy_options *o, const char **why)
{
	const json_t *m = json_object_get(c, "managed");
	const json_t *lim = json_object_get(c, "size_limit");
	if (m != NULL && !json_is_boolean(m)) {
		*why = "managed is not a boolean";
		return -1;
	}
	if (lim != NULL && (!json_is_integer(lim) || json_integer_value(lim) <= 0)) {
		*why = "size_limit is not a positive integer";
		return -1;
	}
	o->managed = m != NULL && json_is_true(m);
	o->size_limit = lim ? (size_t)json_integer_value(lim) : 0;
	return 0;
}

static const char *status_text(int rc)
{
	switch (rc) {
	case POLICY_ERR_MALFORMED:
		return "malformed";
	case POLICY_ERR_LIMIT:
		return "over the size limit";
	case POLICY_ERR_NOMEM:
		return "out of memory";
	default:
		return "error";
	}
}

static void first_error(const struct policy_diags *d, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].severity != POLICY_SEV_ERROR)
			continue;
		int w = d->items[i].path[0]
		            ? snprintf(buf, n, "%s: %s", d->items[i].path, d->items[i].message)
		            : snprintf(buf, n, "%s", d->items[i].message);
		if (w < 0)
			buf[0] = '\0';
		return;
	}
}

static void run_invalid_case(struct runner *r, const char *name, const json_t *c)
{
	const char *why = NULL;
	const json_t *jt = json_object_get(c, "policy_type");
	const json_t *hint = json_object_get(c, "expect_error");
	const char *hint_s = json_is_string(hint) ? json_string_value(hint) : "";
	struct policy_options opts = {.type = POLICY_IDENTITY, .id = name};
	if (jt != NULL && (!json_is_string(jt) ||
	                   policy_type_from_name(json_string_value(jt), &opts.type) != 0)) {
		case_fail(r, name, "malformed case: unknown policy_type");
		return;
	}
	if (policy_options_from(c, &opts, &why) != 0) {
		case_fail(r, name, "malformed case: %s", why);
		return;
	}
	struct sbuf text = {0};
	if (document_text(c, &text, &why) != 0) {
		case_fail(r, name, "malformed case: %s", why);
		free(text.p);
		return;
	}
	struct policy_diags diags;
	policy_diags_init(&diags);
	struct policy *pol = NULL;
	int rc = policy_compile(text.p, text.n, &opts, &pol, &diags);
	if (rc == POLICY_OK) {
		case_fail(r, name,
		          "expected a validation error (%s), but the document compiled as a "
		          "valid %s policy",
		          hint_s, policy_type_name(opts.type));
	} else if (rc == POLICY_ERR_NOMEM) {
		case_fail(r, name, "expected a validation error (%s), got out of memory", hint_s);
	} else {
		char msg[512];
		first_error(&diags, msg, sizeof(msg));
		case_pass(r, name, msg[0] ? msg : "rejected");
	}
	policy_unref(pol);
	policy_diags_free(&diags);
	free(text.p);
}

/* Storage for scalar context values that were not strings in the file. */
struct scalars {
	char (*text)[64];
	size_t n;
	size_t cap;
};

static const char *scalar_keep(struct scalars *s, const json_t *v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char(*t)[64] = realloc(s->text, cap * sizeof(*t));
		if (t == NULL)
			return NULL;
		s->text = t;
		s->cap = cap;
	}
	if (scalar_text(v, s->text[s->n], sizeof(s->text[0])) != 0)
		return NULL;
	return s->text[s->n++];
}

/* Builds the context from the case's object; pointers into s stay valid
 * because they are taken only after every value is stored. */
static int build_context(const json_t *jctx, struct gw_cli_context *ctx, struct scalars *s,
                         const char **why)
{
	if (jctx == NULL)
		return 0;
	if (!json_is_object(jctx)) {
		*why = "context is not an object";
		return -1;
	}
	/* First pass: store non-string scalars so the array stops moving. */
	for (void *it = json_object_iter((json_t *)jctx); it;
	     it = json_object_iter_next((json_t *)jctx, it)) {
		const json_t *v = json_object_iter_value(it);
		size_t nv = json_is_array(v) ? json_array_size(v) : 1;
		for (size_t i = 0; i < nv; i++) {
			const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
			if (json_is_string(e))
				continue;
			if (json_is_array(e) || json_is_object(e) || json_is_null(e)) {
				*why = "context values must be strings or arrays of strings";
				return -1;
			}
			if (scalar_keep(s, e) == NULL) {
				*why = "out of memory";
				return -1;
			}
		}
	}
	size_t si = 0;
	for (void *it = json_object_iter((json_t *)jctx); it;
	     it = json_object_iter_next((json_t *)jctx, it)) {
		const char *key = json_object_iter_key(it);
		size_t keylen = json_object_iter_key_len(it);
		const json_t *v = json_object_iter_value(it);
		if (gw_cli_context_find(ctx, key, keylen) >= 0) {
			*why = "context repeats a key (key names compare without case)";
			return -1;
		}
		long k = gw_cli_context_key(ctx, key, keylen);
		if (k < 0) {
			*why = "out of memory";
			return -1;
		}
		size_t nv = json_is_array(v) ? json_array_size(v) : 1;
		for (size_t i = 0; i < nv; i++) {
			const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
			const char *p;
			size_t n;
			if (json_is_string(e)) {
				p = json_string_value(e);
				n = json_string_length(e);
			} else {
				p = s->text[si++];
				n = strlen(p);
			}
			if (gw_cli_context_add_value(ctx, (size_t)k, p, n) != 0) {
				*why = "out of memory";
				return -1;
			}
		}
	}
	return 0;
}

static const char *opt_string(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void run_decision_case(struct runner *r, const char *name, const json_t *c)
{
	const json_t *jpols = json_object_get(c, "policies");
	const json_t *jreq = json_object_get(c, "request");
	const char *expect = opt_string(c, "expect");
	const char *why = NULL;
	char err[512];
	size_t npols = json_array_size(jpols);
	struct policy_input *inputs = calloc(npols + 1, sizeof(*inputs));
	struct gw_cli_principal *who = calloc(1, sizeof(*who));
	struct gw_cli_context ctx = {0};
	struct scalars sc = {0};

	if (inputs == NULL || who == NULL) {
		case_fail(r, name, "out of memory");
		goto done;
	}
	if (!json_is_array(jpols) || !json_is_object(jreq) || expect == NULL) {
		case_fail(r, name,
		          "malformed case: needs policies (array), request (object), expect");
		goto done;
	}
	if (strcmp(expect, "Allow") != 0 && strcmp(expect, "ExplicitDeny") != 0 &&
	    strcmp(expect, "ImplicitDeny") != 0) {
		case_fail(r, name,
		          "malformed case: expect is '%s', not Allow, ExplicitDeny or "
		          "ImplicitDeny",
		          expect);
		goto done;
	}
	bool any_boundary = false;
	for (size_t i = 0; i < npols; i++) {
		const json_t *jp = json_array_get(jpols, i);
		const char *type = opt_string(jp, "type");
		const char *id = opt_string(jp, "id");
		char idbuf[32];
		if (id == NULL) {
			int w = snprintf(idbuf, sizeof(idbuf), "policies[%zu]", i);
			id = (w > 0 && (size_t)w < sizeof(idbuf)) ? idbuf : "";
		}
		struct policy_options opts = {.id = id};
		if (type == NULL || policy_type_from_name(type, &opts.type) != 0) {
			case_fail(r, name, "malformed case: policy '%s' has no known type", id);
			goto done;
		}
		if (policy_options_from(jp, &opts, &why) != 0) {
			case_fail(r, name, "malformed case: policy '%s': %s", id, why);
			goto done;
		}
		const json_t *lvl = json_object_get(jp, "level");
		if (lvl != NULL && (!json_is_integer(lvl) || json_integer_value(lvl) < 0 ||
		                    json_integer_value(lvl) > 1000)) {
			case_fail(r, name, "malformed case: policy '%s': level is not 0..1000", id);
			goto done;
		}
		inputs[i].level = lvl ? (unsigned)json_integer_value(lvl) : 0;
		if (opts.type == POLICY_BOUNDARY)
			any_boundary = true;
		struct sbuf text = {0};
		if (document_text(jp, &text, &why) != 0) {
			free(text.p);
			case_fail(r, name, "malformed case: policy '%s': %s", id, why);
			goto done;
		}
		struct policy_diags diags;
		policy_diags_init(&diags);
		struct policy *pol = NULL;
		int rc = policy_compile(text.p, text.n, &opts, &pol, &diags);
		free(text.p);
		if (rc != POLICY_OK) {
			first_error(&diags, err, sizeof(err));
			policy_diags_free(&diags);
			case_fail(r, name, "expected %s, but %s policy '%s' did not compile: %s",
			          expect, type, id, err[0] ? err : status_text(rc));
			goto done;
		}
		policy_diags_free(&diags);
		inputs[i].policy = pol;
	}

	const char *principal = opt_string(jreq, "principal");
	const char *action = opt_string(jreq, "action");
	const char *resource = opt_string(jreq, "resource");
	if (principal == NULL || action == NULL) {
		case_fail(r, name, "malformed case: request needs principal and action");
		goto done;
	}
	if (build_context(json_object_get(jreq, "context"), &ctx, &sc, &why) != 0) {
		case_fail(r, name, "malformed case: %s", why);
		goto done;
	}
	/* A role session's role ARN is what the context's aws:PrincipalArn says
	 * (AWS fills it so); without it, derive it from the session ARN. */
	const char *role_arn = NULL;
	char role_buf[GW_CLI_ARN_MAX + 1];
	long pk = gw_cli_context_find(&ctx, "aws:PrincipalArn", 16);
	if (pk >= 0 && strstr(principal, ":assumed-role/") != NULL &&
	    ctx.entries[pk].nvalues == 1 && ctx.entries[pk].values[0].n <= GW_CLI_ARN_MAX &&
	    strstr(ctx.entries[pk].values[0].p, ":role/") != NULL) {
		memcpy(role_buf, ctx.entries[pk].values[0].p, ctx.entries[pk].values[0].n);
		role_buf[ctx.entries[pk].values[0].n] = '\0';
		role_arn = role_buf;
	}
	if (gw_cli_principal_parse(principal, opt_string(jreq, "principal_kind"), role_arn, who,
	                           err, sizeof(err)) != 0) {
		case_fail(r, name, "malformed case: principal: %s", err);
		goto done;
	}
	/* The principal has a boundary when the case gives one, unless told. */
	const json_t *hb = json_object_get(jreq, "has_boundary");
	if (hb == NULL)
		hb = json_object_get(c, "has_boundary");
	if (hb != NULL && !json_is_boolean(hb)) {
		case_fail(r, name, "malformed case: has_boundary is not a boolean");
		goto done;
	}
	who->p.has_boundary = hb ? json_is_true(hb) : any_boundary;

	struct policy_request req = {
	    .principal = who->p,
	    .action = {action, strlen(action)},
	    .resource = {resource ? resource : "*", resource ? strlen(resource) : 1},
	    .context = ctx.entries,
	    .ncontext = ctx.n,
	};
	struct policy_result res;
	memset(&res, 0, sizeof(res));
	int rc = policy_evaluate(inputs, npols, &req, &res);
	const char *got = policy_decision_name(res.decision);
	char expl[1024];
	policy_explain(&res, &req, expl, sizeof(expl));
	if (rc != POLICY_OK) {
		case_fail(r, name, "expected %s, got an evaluation error (%d)", expect, rc);
	} else if (strcmp(got, expect) != 0) {
		case_fail(r, name, "expected %s, got %s (decided by %s): %s", expect, got,
		          policy_type_name(res.decided_by), expl);
	} else {
		case_pass(r, name, expl);
	}

done:
	if (inputs != NULL) {
		for (size_t i = 0; i < npols; i++)
			policy_unref((struct policy *)inputs[i].policy);
	}
	free(inputs);
	free(who);
	free(sc.text);
	gw_cli_context_free(&ctx);
}

static const char test_usage[] =
    "usage: taskgate policy test [-v] FILE...\n"
    "\n"
    "Runs the conformance vectors in each FILE: decision cases (policies, a request,\n"
    "the expected decision) and invalid-document cases (validation must reject).\n"
    "Prints one line per failing case and ends with \"N passed, N failed\".\n"
    "Exit 0 when every case passed, 1 otherwise, 2 on a usage error.\n"
    "\n"
    "  -v, --verbose   also print a line per passing case, with its explanation\n";

/* Runs one vector file; returns 0, or -1 when the file itself is unusable. */
static int run_file(struct runner *r, const char *path)
{
	char err[512];
	char *text = NULL;
	size_t len = 0;
	if (gw_cli_read_file(path, GW_CLI_VECTOR_FILE_MAX, &text, &len, err, sizeof(err)) != 0) {
		printf("%s: error: %s\n", path, err);
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	free(text);
	if (root == NULL) {
		printf("%s: error: not valid JSON at line %d column %d: %s\n", path, jerr.line,
		       jerr.column, jerr.text);
		return -1;
	}
	int rc = -1;
	const json_t *fmt = json_object_get(root, "format");
	const json_t *cases = json_object_get(root, "cases");
	if (!json_is_object(root) || !json_is_integer(fmt) || json_integer_value(fmt) != 1) {
		printf("%s: error: not a vector file of format 1 ({\"format\": 1, \"cases\": "
		       "[...]})\n",
		       path);
		goto done;
	}
	if (!json_is_array(cases)) {
		printf("%s: error: \"cases\" is not an array\n", path);
		goto done;
	}
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		char fallback[32];
		const char *name = opt_string(c, "name");
		if (name == NULL) {
			int w = snprintf(fallback, sizeof(fallback), "cases[%zu]", i);
			name = (w > 0 && (size_t)w < sizeof(fallback)) ? fallback : "?";
		}
		if (!json_is_object(c)) {
			case_fail(r, name, "malformed case: not an object");
		} else if (json_object_get(c, "expect_error") != NULL) {
			run_invalid_case(r, name, c);
		} else {
			run_decision_case(r, name, c);
		}
		fflush(stdout);
	}
	rc = 0;
done:
	json_decref(root);
	return rc;
}

int gw_cli_policy_test(int argc, char **argv)
{
	struct runner r = {0};
	int nfiles = 0;
	bool operands_only = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (operands_only || a[0] != '-' || strcmp(a, "-") == 0) {
			nfiles++;
		} else if (strcmp(a, "--") == 0) {
			operands_only = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			r.verbose = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(test_usage, stdout);
			return GW_EXIT_OK;
		} else {
			fprintf(stderr, "taskgate policy test: unknown option '%s'\n", a);
			fputs(test_usage, stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "taskgate policy test: no vector file given\n");
		fputs(test_usage, stderr);
		return GW_EXIT_USAGE;
	}
	bool file_errors = false;
	operands_only = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!operands_only && strcmp(a, "--") == 0) {
			operands_only = true;
			continue;
		}
		if (!operands_only && a[0] == '-' && strcmp(a, "-") != 0)
			continue;
		r.file_label = nfiles > 1 ? a : NULL;
		if (run_file(&r, a) != 0)
			file_errors = true;
	}
	printf("%u passed, %u failed\n", r.passed, r.failed);
	return (r.failed == 0 && !file_errors) ? GW_EXIT_OK : GW_EXIT_FAIL;
}
