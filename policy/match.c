/*
 * match.c - wildcard matching of actions, resources and condition values, and
 * the component-wise comparison of ARNs.
 *
 * One matcher serves all: `*` matches any run of characters (including none),
 * `?` exactly one. It is the classic linear glob with a single backtrack point
 * (the last star seen), so its cost is at most pattern x subject and it needs
 * no memory. It runs over a template, the compiled form of a string that may
 * hold policy variables: wildcards act only in the policy's own text, while
 * the text a variable brings in, and the escapes ${*} ${?} ${$}, are taken
 * literally. A tag value of "*" therefore never turns into a wildcard.
 *
 * ARNs are compared component by component (partition, service, region,
 * account, resource) so that a `*` in the region never swallows the account;
 * the resource part is the rest of the string, in which `*` crosses `/` and
 * `:`. A pattern with fewer than six components whose last one ends in `*`
 * lets that last component run on past the colons ("arn:aws:ecs:*").
 */
#include <string.h>

#include "policy/policy_int.h"

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static inline bool ch_eq(char a, char b, bool icase)
{
	return icase ? lower(a) == lower(b) : a == b;
}

bool pol_glob(const char *pat, size_t pn, const char *s, size_t sn, bool wild, bool icase)
{
	if (!wild) {
		if (pn != sn)
			return false;
		if (!icase)
			return memcmp(pat, s, pn) == 0;
		for (size_t i = 0; i < pn; i++) {
			if (lower(pat[i]) != lower(s[i]))
				return false;
		}
		return true;
	}
	size_t p = 0, i = 0, star_p = 0, star_i = 0;
	bool have_star = false;
	for (;;) {
		if (i < sn) {
			if (p < pn && pat[p] == '*') {
				have_star = true;
				star_p = ++p;
				star_i = i;
				continue;
			}
			if (p < pn && (pat[p] == '?' || ch_eq(pat[p], s[i], icase))) {
				p++;
				i++;
				continue;
			}
		} else {
			while (p < pn && pat[p] == '*')
				p++;
			return p == pn;
		}
		if (!have_star)
			return false;
		i = ++star_i;
		p = star_p;
	}
}

/* ---- templates ---- */

struct tcur {
	uint32_t i; /* piece */
	uint32_t j; /* offset in the piece */
};

enum { TOK_END = 0, TOK_CHAR, TOK_STAR, TOK_QMARK };

/* The token under the cursor; moves the cursor past empty piece ends. */
static int tok(const struct pol_tmpl *t, const struct policy_str *res, struct tcur *c, bool wild,
               char *ch)
{
	while (c->i < t->npieces) {
		const struct pol_piece *pc = &t->pieces[c->i];
		const char *p = pc->p;
		size_t n = pc->n;
		if (pc->kind == POL_PIECE_VAR) {
			p = res[c->i].p;
			n = res[c->i].n;
		}
		if (c->j < n) {
			char x = p[c->j];
			if (wild && pc->kind == POL_PIECE_PAT) {
				if (x == '*')
					return TOK_STAR;
				if (x == '?')
					return TOK_QMARK;
			}
			*ch = x;
			return TOK_CHAR;
		}
		c->i++;
		c->j = 0;
	}
	return TOK_END;
}

bool pol_tmpl_match(const struct pol_tmpl *t, const struct policy_str *res, const char *s,
                    size_t sn, bool wild, bool icase)
{
	if (t->npieces == 0)
		return sn == 0;
	if (t->npieces == 1 && t->pieces[0].kind != POL_PIECE_VAR)
		return pol_glob(t->pieces[0].p, t->pieces[0].n, s, sn,
		                wild && t->pieces[0].kind == POL_PIECE_PAT, icase);
	struct tcur p = {0, 0}, star_p = {0, 0};
	size_t i = 0, star_i = 0;
	bool have_star = false;
	for (;;) {
		char ch = 0;
		int k = tok(t, res, &p, wild, &ch);
		if (i < sn) {
			if (k == TOK_STAR) {
				have_star = true;
				p.j++;
				star_p = p;
				star_i = i;
				continue;
			}
			if (k == TOK_QMARK || (k == TOK_CHAR && ch_eq(ch, s[i], icase))) {
				p.j++;
				i++;
				continue;
			}
		} else {
			while (k == TOK_STAR) {
				p.j++;
				k = tok(t, res, &p, wild, &ch);
			}
			return k == TOK_END;
		}
		if (!have_star)
			return false;
		i = ++star_i;
		p = star_p;
	}
}

/* ---- ARNs ---- */

void pol_arn_split(const char *s, size_t n, struct pol_arn_split *out)
{
	memset(out, 0, sizeof(*out));
	size_t start = 0, k = 0;
	for (size_t i = 0; i < n && k < 5; i++) {
		if (s[i] == ':') {
			out->c[k].p = s + start;
			out->c[k].n = i - start;
			k++;
			start = i + 1;
		}
	}
	out->c[k].p = s + start;
	out->c[k].n = n - start;
	out->ok = k == 5;
}

/* Number of components the split found (1..6). */
static size_t split_count(const struct pol_arn_split *s)
{
	if (s->ok)
		return 6;
	size_t k = 0;
	while (k < 5 && s->c[k + 1].p != NULL)
		k++;
	return k + 1;
}

bool pol_arn_match(const struct pol_arn_pat *pat, struct pol_ectx *x, const struct pol_arn_split *s,
                   bool *unresolved)
{
	if (pat->any)
		return true;
	size_t have = split_count(s);
	size_t k = pat->ncomp;
	if (k == 0)
		return false;
	if (!pat->run_on) {
		if (k != 6 || have != 6)
			return false;
	} else if (have < k) {
		return false;
	}
	struct policy_str res[POL_TMPL_MAX_PIECES];
	for (size_t i = 0; i < k; i++) {
		const struct pol_tmpl *t = &pat->comp[i];
		struct policy_str subj = s->c[i];
		if (pat->run_on && i == k - 1) {
			/* the rest of the subject, colons and all */
			const char *end = s->c[have - 1].p + s->c[have - 1].n;
			subj.n = (size_t)(end - subj.p);
		}
		if (t->nvars && !pol_tmpl_resolve(t, x, res)) {
			if (unresolved != NULL)
				*unresolved = true;
			return false;
		}
		if (!pol_tmpl_match(t, res, subj.p, subj.n, true, false))
			return false;
	}
	return true;
}
