/*
 * compile.c - a policy document (JSON text) into its compiled form: parsing,
 * validation with a JSON path on every error, and the action index.
 *
 * Validation is strict where a lenient reading could widen access: unknown
 * elements are errors (a misspelt "Condition" silently ignored would grant
 * without the condition), element names are case-sensitive, duplicate JSON
 * keys are refused (jansson's JSON_REJECT_DUPLICATES: a second "Effect" must
 * not quietly win), and every condition value is read into its type now, so
 * evaluation never meets a policy value it cannot read. What AWS accepts but
 * is almost surely a mistake becomes a warning instead.
 *
 * Errors do not stop the walk: one run reports every fault of a document.
 * Conditions are compiled in compile_cond.c, variables in variables.c.
 * Principal elements are read in principal.c; the action index, built
 * last, in index.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "policy/policy_int.h"

/* Formats a JSON path; a path too long for the buffer is cut and marked. */
void pol_pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf, POL_PATH_MAX, fmt, ap);
	va_end(ap);
	if (w < 0) {
		buf[0] = '\0';
	} else if ((size_t)w >= POL_PATH_MAX) {
		memcpy(buf + POL_PATH_MAX - 4, "...", 4);
	}
}

void pol_cerr(struct pol_cctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w < 0)
		msg[0] = '\0';
	c->errors++;
	if (pol_diag_add(c->diags, POLICY_SEV_ERROR, path, "%s", msg) != 0)
		c->nomem = true;
}

void pol_cwarn(struct pol_cctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w < 0)
		msg[0] = '\0';
	if (pol_diag_add(c->diags, POLICY_SEV_WARNING, path, "%s", msg) != 0)
		c->nomem = true;
}

static bool iam_policy_type(enum policy_type t)
{
	return t == POLICY_IDENTITY || t == POLICY_BOUNDARY || t == POLICY_SESSION ||
	       t == POLICY_TRUST;
}

static const char *type_words(enum policy_type t)
{
	switch (t) {
	case POLICY_IDENTITY:
		return "an identity-based policy";
	case POLICY_RESOURCE:
		return "a resource-based policy";
	case POLICY_BOUNDARY:
		return "a permissions boundary";
	case POLICY_SESSION:
		return "a session policy";
	case POLICY_SCP:
		return "a service control policy";
	case POLICY_TRUST:
		return "a trust policy";
	default:
		return "this policy type";
	}
}

/* ---- size ---- */

/* Characters (UTF-8 code points) of the document, white space outside strings
 * left out unless it counts. */
static size_t count_chars(const char *s, size_t n, bool ws_counts)
{
	size_t count = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch & 0xc0) == 0x80)
			continue; /* continuation byte: same character */
		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
			count++;
			continue;
		}
		if (ch == '"')
			in_str = true;
		if (!ws_counts && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'))
			continue;
		count++;
	}
	return count;
}

/* ---- string-or-array elements ---- */

/* Checks that v is a string or a non-empty array of strings; fills the list. */
int pol_string_list(struct pol_cctx *c, const char *path, const char *what, json_t *v,
                    json_t ***items, size_t *n)
{
	if (json_is_string(v)) {
		json_t **arr = pol_arena_array(c->arena, 1, sizeof(*arr));
		if (arr == NULL) {
			c->nomem = true;
			return -1;
		}
		arr[0] = v;
		*items = arr;
		*n = 1;
		return 0;
	}
	if (!json_is_array(v)) {
		pol_cerr(c, path, "invalid %s: must be a string or an array of strings", what);
		return -1;
	}
	size_t len = json_array_size(v);
	if (len == 0) {
		pol_cerr(c, path, "invalid %s: the array is empty", what);
		return -1;
	}
	json_t **arr = pol_arena_array(c->arena, len, sizeof(*arr));
	if (arr == NULL) {
		c->nomem = true;
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < len; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e)) {
			char p[POL_PATH_MAX];
			pol_pathf(p, "%s[%zu]", path, i);
			pol_cerr(c, p, "invalid %s: every entry must be a string", what);
			rc = -1;
		}
		arr[i] = e;
	}
	*items = arr;
	*n = len;
	return rc;
}

/* Path of entry i of a list that may have been a single string. */
void pol_entry_path(char *out, const char *path, json_t *v, size_t i)
{
	if (json_is_array(v))
		pol_pathf(out, "%s[%zu]", path, i);
	else
		pol_pathf(out, "%s", path);
}

/* ---- actions ---- */

static bool action_prefix_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '*' || ch == '?' || ch == '.' || ch == '_';
}

static int compile_actions(struct pol_cctx *c, const char *path, const char *elem, json_t *v,
                           struct pol_stmt *st)
{
	json_t **items;
	size_t n;
	if (pol_string_list(c, path, elem, v, &items, &n) != 0)
		return -1;
	struct pol_action *acts = pol_arena_array(c->arena, n, sizeof(*acts));
	if (acts == NULL) {
		c->nomem = true;
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char p[POL_PATH_MAX];
		pol_entry_path(p, path, v, i);
		const char *s = json_string_value(items[i]);
		size_t sl = json_string_length(items[i]);
		if (!(sl == 1 && s[0] == '*')) {
			const char *colon = memchr(s, ':', sl);
			size_t pn = colon ? (size_t)(colon - s) : 0;
			bool ok = colon != NULL && pn > 0 && pn < sl - 1;
			for (size_t k = 0; ok && k < pn; k++)
				ok = action_prefix_char(s[k]);
			for (size_t k = pn + 1; ok && k < sl; k++)
				ok = (unsigned char)s[k] > 0x20 && s[k] != 0x7f && s[k] != ':';
			if (!ok) {
				pol_cerr(
				    c, p,
				    "invalid %s '%.*s': an action is service:Name (Actions must be "
				    "prefaced by a vendor, e.g. ecs:RunTask) or \"*\"",
				    elem, (int)(sl > 100 ? 100 : sl), s);
				rc = -1;
				continue;
			}
			if (memchr(s, '*', pn) == NULL && memchr(s, '?', pn) == NULL &&
			    !pol_service_known(s, pn))
				pol_cwarn(c, p, "'%.*s' is not a known AWS service prefix", (int)pn,
				          s);
			if (pol_has_var_syntax(s, sl))
				pol_cwarn(c, p,
				          "'${' is literal text in an action: policy variables do "
				          "not work in %s",
				          elem);
		}
		char *low = pol_arena_strndup(c->arena, s, sl);
		if (low == NULL) {
			c->nomem = true;
			return -1;
		}
		for (size_t k = 0; k < sl; k++) {
			if (low[k] >= 'A' && low[k] <= 'Z')
				low[k] = (char)(low[k] + 32);
		}
		acts[i].lower = low;
		acts[i].n = (uint32_t)sl;
		acts[i].wild = memchr(s, '*', sl) != NULL || memchr(s, '?', sl) != NULL;
	}
	st->actions = acts;
	st->nactions = (uint32_t)n;
	return rc;
}

/* ---- resources ---- */

static int compile_resources(struct pol_cctx *c, const char *path, const char *elem, json_t *v,
                             struct pol_stmt *st, bool not )
{
	json_t **items;
	size_t n;
	if (pol_string_list(c, path, elem, v, &items, &n) != 0)
		return -1;
	struct pol_arn_pat *pats = pol_arena_array(c->arena, n, sizeof(*pats));
	if (pats == NULL) {
		c->nomem = true;
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char p[POL_PATH_MAX];
		pol_entry_path(p, path, v, i);
		const char *s = json_string_value(items[i]);
		size_t sl = json_string_length(items[i]);
		if (pol_arn_parse(c, p, s, sl, false, true, &pats[i]) != 0) {
			rc = -1;
			continue;
		}
		if (not &&pats[i].ncomp == 6 && pol_needs_add_tmpl(c, st, &pats[i].comp[5]) != 0)
			return -1;
	}
	st->res = pats;
	st->nres = (uint32_t)n;
	return rc;
}

/* ---- principals ---- */

/* ---- statements ---- */

static const char *const stmt_elements[] = {
    "Sid",         "Effect",    "Action",       "NotAction", "Resource",
    "NotResource", "Principal", "NotPrincipal", "Condition",
};

static int compile_stmt(struct pol_cctx *c, const char *path, json_t *obj, struct pol_stmt *st)
{
	size_t err0 = c->errors;
	char p[POL_PATH_MAX];
	if (!json_is_object(obj)) {
		pol_cerr(c, path, "invalid Statement: each statement must be a JSON object");
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		bool known = false;
		const char *near = NULL;
		for (size_t i = 0; i < sizeof(stmt_elements) / sizeof(stmt_elements[0]); i++) {
			if (strcmp(k, stmt_elements[i]) == 0)
				known = true;
			else if (strcasecmp(k, stmt_elements[i]) == 0)
				near = stmt_elements[i];
		}
		if (!known) {
			pol_pathf(p, "%s.%s", path, k);
			if (near)
				pol_cerr(c, p,
				         "unknown element '%s' (element names are case-sensitive: "
				         "%s)",
				         k, near);
			else
				pol_cerr(c, p, "unknown element '%s' in a statement", k);
		}
	}

	st->sid = "";
	json_t *sid = json_object_get(obj, "Sid");
	if (sid != NULL) {
		pol_pathf(p, "%s.Sid", path);
		if (!json_is_string(sid)) {
			pol_cerr(c, p, "invalid Sid: must be a string");
		} else {
			const char *s = json_string_value(sid);
			size_t sl = json_string_length(sid);
			bool ok = true;
			if (iam_policy_type(c->type)) {
				for (size_t i = 0; i < sl && ok; i++)
					ok = (s[i] >= 'a' && s[i] <= 'z') ||
					     (s[i] >= 'A' && s[i] <= 'Z') ||
					     (s[i] >= '0' && s[i] <= '9');
			}
			if (!ok)
				pol_cerr(
				    c, p,
				    "invalid Sid '%.*s': in %s a Sid holds only ASCII letters and "
				    "digits",
				    (int)(sl > 100 ? 100 : sl), s, type_words(c->type));
			st->sid = pol_arena_strndup(c->arena, s, sl);
			if (st->sid == NULL) {
				c->nomem = true;
				return -1;
			}
		}
	}

	json_t *eff = json_object_get(obj, "Effect");
	pol_pathf(p, "%s.Effect", path);
	if (eff == NULL) {
		pol_cerr(c, path, "missing Effect");
	} else if (!json_is_string(eff) ||
	           (strcmp(json_string_value(eff), "Allow") != 0 &&
	            strcmp(json_string_value(eff), "Deny") != 0) ||
	           json_string_length(eff) != strlen(json_string_value(eff))) {
		pol_cerr(c, p, "invalid Effect: must be exactly \"Allow\" or \"Deny\"");
	} else {
		st->allow = strcmp(json_string_value(eff), "Allow") == 0;
	}

	json_t *act = json_object_get(obj, "Action"), *nact = json_object_get(obj, "NotAction");
	if (act != NULL && nact != NULL) {
		pol_cerr(c, path, "both Action and NotAction: a statement takes exactly one");
	} else if (act == NULL && nact == NULL) {
		pol_cerr(c, path, "missing Action: a statement needs Action or NotAction");
	} else {
		pol_pathf(p, "%s.%s", path, act ? "Action" : "NotAction");
		st->not_action = act == NULL;
		compile_actions(c, p, act ? "Action" : "NotAction", act ? act : nact, st);
		if (st->not_action && eff != NULL && st->allow)
			pol_cwarn(c, p,
			          "NotAction with Allow grants every action not listed, of every "
			          "service, including ones added later");
	}

	json_t *res = json_object_get(obj, "Resource"), *nres = json_object_get(obj, "NotResource");
	if (res != NULL && nres != NULL) {
		pol_cerr(c, path, "both Resource and NotResource: a statement takes at most one");
	} else if (c->type == POLICY_TRUST && (res != NULL || nres != NULL)) {
		pol_pathf(p, "%s.%s", path, res ? "Resource" : "NotResource");
		pol_cerr(c, p, "%s not allowed in a trust policy: the resource is the role itself",
		         res ? "Resource" : "NotResource");
	} else if (res == NULL && nres == NULL) {
		if (c->type != POLICY_TRUST)
			pol_cerr(c, path,
			         "missing Resource: a statement of %s needs Resource or "
			         "NotResource",
			         type_words(c->type));
		st->res_mode = POL_RES_NONE;
	} else {
		pol_pathf(p, "%s.%s", path, res ? "Resource" : "NotResource");
		st->res_mode = res ? POL_RES_RESOURCE : POL_RES_NOT;
		compile_resources(c, p, res ? "Resource" : "NotResource", res ? res : nres, st,
		                  res == NULL);
		if (res == NULL && eff != NULL && st->allow)
			pol_cwarn(c, p,
			          "NotResource with Allow grants on every resource not listed, "
			          "including ones created later");
	}

	json_t *pr = json_object_get(obj, "Principal"), *npr = json_object_get(obj, "NotPrincipal");
	bool resource_like = c->type == POLICY_RESOURCE || c->type == POLICY_TRUST;
	if (pr != NULL && npr != NULL) {
		pol_cerr(c, path, "both Principal and NotPrincipal: a statement takes at most one");
	} else if (pr != NULL && !resource_like) {
		pol_pathf(p, "%s.Principal", path);
		pol_cerr(c, p,
		         "Principal not allowed: %s names no principal (Policy document should "
		         "not specify a principal)",
		         type_words(c->type));
	} else if (npr != NULL && c->type != POLICY_RESOURCE) {
		pol_pathf(p, "%s.NotPrincipal", path);
		pol_cerr(c, p,
		         "NotPrincipal not allowed in %s (only resource-based policies take "
		         "it)",
		         type_words(c->type));
	} else if (pr == NULL && npr == NULL) {
		if (resource_like)
			pol_cerr(c, path,
			         "missing Principal: a statement of %s must name who it "
			         "applies to",
			         type_words(c->type));
	} else {
		pol_pathf(p, "%s.%s", path, pr ? "Principal" : "NotPrincipal");
		st->prin_mode = pr ? POL_PRIN_PRINCIPAL : POL_PRIN_NOT;
		if (npr != NULL && eff != NULL && st->allow)
			pol_cerr(c, p,
			         "NotPrincipal needs Deny: AWS refuses NotPrincipal with Allow");
		pol_compile_principal(c, p, pr ? "Principal" : "NotPrincipal", pr ? pr : npr, st);
	}

	json_t *cond = json_object_get(obj, "Condition");
	if (cond != NULL) {
		pol_pathf(p, "%s.Condition", path);
		pol_compile_condition(c, p, cond, st->allow, st, st->actions, st->nactions,
		                      st->not_action);
	}
	return c->errors == err0 ? 0 : -1;
}

/* ---- the document ---- */

static int compile_doc(struct pol_cctx *c, json_t *root, const struct policy_options *opts,
                       struct policy *pol)
{
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 &&
		    strcmp(k, "Statement") != 0) {
			char p[POL_PATH_MAX];
			pol_pathf(p, "%s", k);
			if (strcasecmp(k, "Version") == 0 || strcasecmp(k, "Id") == 0 ||
			    strcasecmp(k, "Statement") == 0)
				pol_cerr(c, p,
				         "unknown element '%s' (element names are case-sensitive)",
				         k);
			else
				pol_cerr(c, p, "unknown element '%s' at the top of the document",
				         k);
		}
	}
	bool must_2012 = opts->managed || opts->type == POLICY_SCP;
	json_t *ver = json_object_get(root, "Version");
	pol->version = "2008-10-17";
	if (ver == NULL) {
		if (must_2012)
			pol_cerr(c, "Version",
			         "missing Version: %s must be Version 2012-10-17 (Policy document "
			         "must be version 2012-10-17 or greater)",
			         opts->managed ? "a managed policy" : "a service control policy");
	} else if (!json_is_string(ver)) {
		pol_cerr(c, "Version", "invalid Version: must be the string \"2012-10-17\"");
	} else if (strcmp(json_string_value(ver), "2012-10-17") == 0 &&
	           json_string_length(ver) == 10) {
		pol->version = "2012-10-17";
		pol->vars = true;
	} else if (strcmp(json_string_value(ver), "2008-10-17") == 0 &&
	           json_string_length(ver) == 10) {
		if (must_2012)
			pol_cerr(
			    c, "Version",
			    "invalid Version for %s: must be 2012-10-17 (Policy document must be "
			    "version 2012-10-17 or greater)",
			    opts->managed ? "a managed policy" : "a service control policy");
	} else {
		pol_cerr(c, "Version", "invalid Version '%.40s': use 2012-10-17 (or 2008-10-17)",
		         json_string_value(ver));
	}
	c->vars = pol->vars;

	json_t *id = json_object_get(root, "Id");
	if (id != NULL && !json_is_string(id))
		pol_cerr(c, "Id", "invalid Id: must be a string");

	json_t *stmts = json_object_get(root, "Statement");
	if (stmts == NULL) {
		pol_cerr(c, "Statement", "missing Statement");
		return -1;
	}
	size_t n;
	bool single = json_is_object(stmts);
	if (single) {
		n = 1;
	} else if (json_is_array(stmts)) {
		n = json_array_size(stmts);
	} else {
		pol_cerr(c, "Statement",
		         "invalid Statement: must be a statement object or an array "
		         "of them");
		return -1;
	}
	if (n > UINT32_MAX / 2) {
		pol_cerr(c, "Statement", "too many statements");
		return -1;
	}
	struct pol_stmt *sts = pol_arena_array(c->arena, n ? n : 1, sizeof(*sts));
	if (sts == NULL) {
		c->nomem = true;
		return -1;
	}
	for (size_t i = 0; i < n && !c->nomem; i++) {
		char p[POL_PATH_MAX];
		if (single)
			pol_pathf(p, "Statement");
		else
			pol_pathf(p, "Statement[%zu]", i);
		compile_stmt(c, p, single ? stmts : json_array_get(stmts, i), &sts[i]);
	}
	/* Sids are unique where given. */
	for (size_t i = 0; i < n; i++) {
		if (sts[i].sid == NULL || sts[i].sid[0] == '\0')
			continue;
		for (size_t j = 0; j < i; j++) {
			if (sts[j].sid != NULL && strcmp(sts[i].sid, sts[j].sid) == 0) {
				char p[POL_PATH_MAX];
				pol_pathf(p, "Statement[%zu].Sid", i);
				pol_cerr(c, p,
				         "duplicate Sid '%s' (also Statement[%zu]): Sids must be "
				         "unique within a policy",
				         sts[i].sid, j);
				break;
			}
		}
	}
	pol->stmts = sts;
	pol->nstmts = (uint32_t)n;
	return 0;
}

int policy_compile(const char *json, size_t len, const struct policy_options *opts,
                   struct policy **out, struct policy_diags *diags)
{
	if (out != NULL)
		*out = NULL;
	if (out == NULL || opts == NULL || (json == NULL && len > 0) ||
	    (unsigned)opts->type >= POLICY_TYPE_COUNT)
		return POLICY_ERR_INVALID_ARG;

	bool ws_counts = false;
	size_t limit = policy_default_size_limit(opts->type, opts->managed, &ws_counts);
	if (opts->size_limit != 0)
		limit = opts->size_limit;
	/* Every character is at least one byte, so a document of at most limit
	 * bytes needs no counting. */
	if (len > limit) {
		size_t chars = count_chars(json, len, ws_counts);
		if (chars > limit) {
			if (pol_diag_add(
			        diags, POLICY_SEV_ERROR, "",
			        "policy document is %zu characters%s, over the limit of %zu "
			        "(LimitExceeded)",
			        chars, ws_counts ? "" : " not counting white space", limit) != 0)
				return POLICY_ERR_NOMEM;
			return POLICY_ERR_LIMIT;
		}
	}

	json_error_t jerr;
	json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (pol_diag_add(diags, POLICY_SEV_ERROR, "",
		                 "JSON syntax error at line %d column %d: %s", jerr.line,
		                 jerr.column, jerr.text) != 0)
			return POLICY_ERR_NOMEM;
		return POLICY_ERR_MALFORMED;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		if (pol_diag_add(
		        diags, POLICY_SEV_ERROR, "",
		        "not a JSON object: a policy document is an object with Version and "
		        "Statement") != 0)
			return POLICY_ERR_NOMEM;
		return POLICY_ERR_MALFORMED;
	}

	struct pol_arena arena = {0};
	struct policy *pol = pol_arena_alloc(&arena, sizeof(*pol));
	if (pol == NULL) {
		json_decref(root);
		return POLICY_ERR_NOMEM;
	}
	pol->arena = arena;
	pol->type = opts->type;
	pol->id = pol_arena_strndup(&pol->arena, opts->id ? opts->id : "",
	                            opts->id ? strlen(opts->id) : 0);
	struct pol_cctx c = {
	    .arena = &pol->arena,
	    .diags = diags,
	    .type = opts->type,
	};
	if (pol->id == NULL)
		c.nomem = true;
	else
		compile_doc(&c, root, opts, pol);
	json_decref(root);

	int rc = POLICY_OK;
	if (c.nomem)
		rc = POLICY_ERR_NOMEM;
	else if (c.errors > 0)
		rc = POLICY_ERR_MALFORMED;
	else if (pol_build_index(pol) != 0)
		rc = POLICY_ERR_NOMEM;
	if (rc != POLICY_OK) {
		/* The policy lives in its own arena: copy the handle out first. */
		struct pol_arena a = pol->arena;
		pol_arena_free(&a);
		return rc;
	}
	atomic_init(&pol->refs, 1);
	*out = pol;
	return POLICY_OK;
}
