/*
 * variables.c - policy variables, compiled once: "${aws:username}",
 * "${aws:PrincipalTag/team, 'shared'}", and the escapes ${*} ${?} ${$}.
 *
 * At compile time each string that may hold variables becomes a template: a
 * list of pieces (policy text in which wildcards act, literal text, variable).
 * At evaluation a variable is looked up in the request context and its value
 * used literally; nothing is ever spliced into a buffer, so evaluation needs
 * no memory and a value cannot smuggle in a wildcard.
 *
 * Only Version 2012-10-17 has variables; in 2008-10-17, and in places where
 * AWS gives them no meaning (actions, condition key names, non-string
 * condition values, the first five ARN components of a Resource), "${...}" is
 * plain text and validation warns. A malformed variable ("${aws:username",
 * "${}") is plain text too, with a warning: it can then only match itself.
 *
 * A variable whose key is missing (or multi-valued) and has no default cannot
 * be resolved. What that does is taskgate's rule from the spec: in a Resource
 * that value matches nothing; in a Condition or a NotResource the statement
 * does not apply. For the latter, the keys are gathered per statement here
 * (pol_needs_add_tmpl) so that evaluation checks them once, up front.
 */
#include <string.h>

#include "policy/policy_int.h"

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

bool pol_has_var_syntax(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '$' && p[i + 1] == '{')
			return true;
	}
	return false;
}

static bool key_char(char c)
{
	return c > 0x20 && c < 0x7f && c != '$' && c != '{' && c != '}' && c != '\'' && c != ',';
}

struct piece_list {
	struct pol_piece items[POL_TMPL_MAX_PIECES];
	size_t n;
	bool overflow;
};

static void push(struct piece_list *l, struct pol_piece pc)
{
	if (pc.kind != POL_PIECE_VAR && pc.n == 0)
		return;
	/* Merge neighbouring pieces of the same text kind. */
	if (l->n > 0 && pc.kind != POL_PIECE_VAR && l->items[l->n - 1].kind == pc.kind &&
	    l->items[l->n - 1].p + l->items[l->n - 1].n == pc.p) {
		l->items[l->n - 1].n += pc.n;
		return;
	}
	if (l->n == POL_TMPL_MAX_PIECES) {
		l->overflow = true;
		return;
	}
	l->items[l->n++] = pc;
}

/*
 * Reads the variable that starts at text[i] ("${"). On success fills *pc,
 * sets *end past the closing brace and returns 0; -1 when malformed, -2 when
 * out of memory.
 */
static int read_var(struct pol_cctx *c, const char *text, size_t n, size_t i, struct pol_piece *pc,
                    size_t *end)
{
	size_t j = i + 2;
	while (j < n && text[j] == ' ')
		j++;
	/* Escapes: ${*} ${?} ${$} */
	if (j + 1 < n && (text[j] == '*' || text[j] == '?' || text[j] == '$')) {
		size_t k = j + 1;
		while (k < n && text[k] == ' ')
			k++;
		if (k < n && text[k] == '}') {
			memset(pc, 0, sizeof(*pc));
			pc->kind = POL_PIECE_LIT;
			pc->p = text + j;
			pc->n = 1;
			*end = k + 1;
			return 0;
		}
	}
	size_t ks = j;
	while (j < n && key_char(text[j]))
		j++;
	size_t kn = j - ks;
	if (kn == 0 || kn > 256)
		return -1;
	while (j < n && text[j] == ' ')
		j++;
	memset(pc, 0, sizeof(*pc));
	pc->kind = POL_PIECE_VAR;
	char *key = pol_arena_strndup(c->arena, text + ks, kn);
	if (key == NULL)
		return -2;
	for (size_t k = 0; k < kn; k++)
		key[k] = lower(key[k]);
	pc->p = key;
	pc->n = (uint32_t)kn;
	if (j < n && text[j] == '}') {
		*end = j + 1;
		return 0;
	}
	if (j >= n || text[j] != ',')
		return -1;
	j++;
	while (j < n && text[j] == ' ')
		j++;
	if (j >= n || text[j] != '\'')
		return -1;
	j++;
	/* The default, with '' standing for one quote. */
	char *def = pol_arena_alloc(c->arena, n - j + 1);
	if (def == NULL)
		return -2;
	size_t dn = 0;
	bool closed = false;
	while (j < n) {
		if (text[j] == '\'') {
			if (j + 1 < n && text[j + 1] == '\'') {
				def[dn++] = '\'';
				j += 2;
				continue;
			}
			closed = true;
			j++;
			break;
		}
		def[dn++] = text[j++];
	}
	if (!closed)
		return -1;
	while (j < n && text[j] == ' ')
		j++;
	if (j >= n || text[j] != '}')
		return -1;
	pc->has_default = true;
	pc->def = def;
	pc->defn = (uint32_t)dn;
	*end = j + 1;
	return 0;
}

static int finish(struct pol_cctx *c, const char *path, struct piece_list *l, struct pol_tmpl *out)
{
	if (l->overflow) {
		pol_cerr(c, path, "too many policy variables and escapes in one value (at most %d)",
		         POL_TMPL_MAX_PIECES / 2);
		return -1;
	}
	struct pol_piece *pcs = pol_arena_array(c->arena, l->n ? l->n : 1, sizeof(*pcs));
	if (pcs == NULL) {
		c->nomem = true;
		return -1;
	}
	memcpy(pcs, l->items, l->n * sizeof(*pcs));
	out->pieces = pcs;
	out->npieces = (uint16_t)l->n;
	out->nvars = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (pcs[i].kind == POL_PIECE_VAR)
			out->nvars++;
	}
	return 0;
}

int pol_tmpl_parse(struct pol_cctx *c, const char *path, const char *text, size_t n,
                   enum pol_tmpl_where where, struct pol_tmpl *out)
{
	memset(out, 0, sizeof(*out));
	char *copy = pol_arena_strndup(c->arena, text, n);
	if (copy == NULL) {
		c->nomem = true;
		return -1;
	}
	struct piece_list l;
	memset(&l, 0, sizeof(l));
	bool has_syntax = pol_has_var_syntax(copy, n);
	if (!has_syntax || !c->vars || where == POL_TW_LITERAL) {
		if (has_syntax && !c->vars)
			pol_cwarn(c, path,
			          "'${' is literal text: policy variables need Version 2012-10-17");
		else if (has_syntax)
			pol_cwarn(
			    c, path,
			    "'${' is literal text here: policy variables work only in the "
			    "resource part of a Resource or NotResource ARN and in String and "
			    "Arn condition values");
		push(&l, (struct pol_piece){.kind = POL_PIECE_PAT, .p = copy, .n = (uint32_t)n});
		return finish(c, path, &l, out);
	}
	size_t start = 0, i = 0;
	bool warned = false;
	while (i + 1 < n) {
		if (copy[i] != '$' || copy[i + 1] != '{') {
			i++;
			continue;
		}
		struct pol_piece pc;
		size_t end = 0;
		int rc = read_var(c, copy, n, i, &pc, &end);
		if (rc == -2) {
			c->nomem = true;
			return -1;
		}
		if (rc != 0) {
			if (!warned)
				pol_cwarn(
				    c, path,
				    "malformed policy variable at offset %zu: taken as literal "
				    "text (write ${key} or ${key, 'default'})",
				    i);
			warned = true;
			i += 2;
			continue;
		}
		push(&l, (struct pol_piece){
		             .kind = POL_PIECE_PAT, .p = copy + start, .n = (uint32_t)(i - start)});
		push(&l, pc);
		i = start = end;
	}
	push(&l, (struct pol_piece){
	             .kind = POL_PIECE_PAT, .p = copy + start, .n = (uint32_t)(n - start)});
	return finish(c, path, &l, out);
}

/* Finds the end of component text starting at i: the next ':' outside a
 * "${...}" when skip_vars. */
static size_t comp_end(const char *t, size_t n, size_t i, bool skip_vars)
{
	while (i < n) {
		if (skip_vars && t[i] == '$' && i + 1 < n && t[i + 1] == '{') {
			const char *close = memchr(t + i, '}', n - i);
			if (close != NULL) {
				i = (size_t)(close - t) + 1;
				continue;
			}
		}
		if (t[i] == ':')
			return i;
		i++;
	}
	return n;
}

int pol_arn_parse(struct pol_cctx *c, const char *path, const char *text, size_t n,
                  bool vars_anywhere, bool strict, struct pol_arn_pat *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 1 && text[0] == '*') {
		out->any = true;
		return 0;
	}
	size_t starts[6], ends[6], k = 0, i = 0;
	bool skip = vars_anywhere && c->vars;
	while (k < 6) {
		starts[k] = i;
		ends[k] = k == 5 ? n : comp_end(text, n, i, skip);
		k++;
		if (ends[k - 1] >= n)
			break;
		i = ends[k - 1] + 1;
	}
	bool arn = k >= 1 && ends[0] - starts[0] == 3 && memcmp(text, "arn", 3) == 0;
	size_t lastn = ends[k - 1] - starts[k - 1];
	bool run_on = k < 6 && lastn > 0 && text[ends[k - 1] - 1] == '*';
	if (!arn || (k < 6 && !run_on) || k < 2) {
		if (strict) {
			pol_cerr(
			    c, path,
			    "'%.*s' must be in ARN format (arn:partition:service:region:account:"
			    "resource) or \"*\"",
			    (int)(n > 120 ? 120 : n), text);
			return -1;
		}
		pol_cwarn(c, path,
		          "'%.*s' is not an ARN (arn:partition:service:region:account:resource): "
		          "it matches nothing",
		          (int)(n > 120 ? 120 : n), text);
		out->ncomp = 0;
		return 0;
	}
	out->ncomp = (uint8_t)k;
	out->run_on = run_on;
	for (size_t j = 0; j < k; j++) {
		enum pol_tmpl_where w = (vars_anywhere || j == 5) ? POL_TW_PATTERN : POL_TW_LITERAL;
		if (pol_tmpl_parse(c, path, text + starts[j], ends[j] - starts[j], w,
		                   &out->comp[j]) != 0)
			return -1;
	}
	return 0;
}

int pol_needs_add_tmpl(struct pol_cctx *c, struct pol_stmt *st, const struct pol_tmpl *t)
{
	for (size_t i = 0; i < t->npieces; i++) {
		const struct pol_piece *pc = &t->pieces[i];
		if (pc->kind != POL_PIECE_VAR || pc->has_default)
			continue;
		bool have = false;
		for (size_t j = 0; j < st->nneeds && !have; j++)
			have = st->needs[j].n == pc->n && memcmp(st->needs[j].p, pc->p, pc->n) == 0;
		if (have)
			continue;
		struct pol_key *nk = pol_arena_array(c->arena, st->nneeds + 1, sizeof(*nk));
		if (nk == NULL) {
			c->nomem = true;
			return -1;
		}
		if (st->nneeds)
			memcpy(nk, st->needs, st->nneeds * sizeof(*nk));
		nk[st->nneeds].p = pc->p;
		nk[st->nneeds].n = pc->n;
		st->needs = nk;
		st->nneeds++;
	}
	return 0;
}
