/*
 * index.c - the action index of a compiled policy.
 *
 * Each literal action ("ecs:runtask", lowercased) and each service prefix of
 * a wildcard pattern ("ecs" for "ecs:Describe*") maps to the ascending list of
 * statements that name it; NotAction statements and patterns with a wildcard
 * in the prefix ("*", "*:Get*") sit in one short list of their own. Evaluation
 * merges the three lists for a request's action, so its cost follows the
 * statements that can match, not the size of the policy.
 *
 * The hash (FNV-1a, open addressing, load at most one half) needs no secret
 * seed: its keys come from the policy text, which the operator writes, not
 * from requests. A request's action only chooses which chain to probe, and the
 * longest chain is fixed when the policy is compiled.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy_int.h"

uint32_t pol_hash(const char *p, size_t n)
{
	/* FNV-1a; see the top of this file for why no seed is needed. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

const struct pol_bucket *pol_table_find(const struct pol_table *t, const char *key, size_t n)
{
	if (t->nslots == 0)
		return NULL;
	uint32_t h = pol_hash(key, n);
	for (uint32_t i = 0; i < t->nslots; i++) {
		const struct pol_bucket *b = &t->slots[(h + i) & t->mask];
		if (b->key == NULL)
			return NULL;
		if (b->hash == h && b->keyn == n && memcmp(b->key, key, n) == 0)
			return b;
	}
	return NULL;
}

struct ipair {
	const char *key;
	uint32_t keyn;
	uint32_t stmt;
};

static int ipair_cmp(const void *a, const void *b)
{
	const struct ipair *x = a, *y = b;
	size_t m = x->keyn < y->keyn ? x->keyn : y->keyn;
	int c = memcmp(x->key, y->key, m);
	if (c != 0)
		return c;
	if (x->keyn != y->keyn)
		return x->keyn < y->keyn ? -1 : 1;
	return x->stmt < y->stmt ? -1 : (x->stmt > y->stmt);
}

static int build_table(struct pol_arena *a, struct ipair *pairs, size_t n, struct pol_table *t)
{
	memset(t, 0, sizeof(*t));
	if (n == 0)
		return 0;
	qsort(pairs, n, sizeof(*pairs), ipair_cmp);
	size_t groups = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 ||
		    ipair_cmp(&(struct ipair){pairs[i].key, pairs[i].keyn, 0},
		              &(struct ipair){pairs[i - 1].key, pairs[i - 1].keyn, 0}) != 0)
			groups++;
	}
	uint32_t slots = 4;
	while (slots < groups * 2)
		slots *= 2;
	struct pol_bucket *b = pol_arena_array(a, slots, sizeof(*b));
	uint32_t *ids = pol_arena_array(a, n, sizeof(*ids));
	if (b == NULL || ids == NULL)
		return -1;
	t->slots = b;
	t->nslots = slots;
	t->mask = slots - 1;
	size_t i = 0, used = 0;
	while (i < n) {
		size_t j = i;
		uint32_t *start = ids + used;
		uint32_t cnt = 0;
		while (j < n && pairs[j].keyn == pairs[i].keyn &&
		       memcmp(pairs[j].key, pairs[i].key, pairs[i].keyn) == 0) {
			if (cnt == 0 || start[cnt - 1] != pairs[j].stmt)
				start[cnt++] = pairs[j].stmt;
			j++;
		}
		used += cnt;
		uint32_t h = pol_hash(pairs[i].key, pairs[i].keyn);
		uint32_t s = h & t->mask;
		while (b[s].key != NULL)
			s = (s + 1) & t->mask;
		b[s].key = pairs[i].key;
		b[s].keyn = pairs[i].keyn;
		b[s].hash = h;
		b[s].stmts = start;
		b[s].n = cnt;
		i = j;
	}
	return 0;
}

int pol_build_index(struct policy *pol)
{
	size_t total = 0;
	for (uint32_t i = 0; i < pol->nstmts; i++)
		total += pol->stmts[i].nactions;
	struct ipair *exact = calloc(total ? total : 1, sizeof(*exact));
	struct ipair *svc = calloc(total ? total : 1, sizeof(*svc));
	uint32_t *other =
	    pol_arena_array(&pol->arena, pol->nstmts ? pol->nstmts : 1, sizeof(*other));
	int rc = -1;
	if (exact == NULL || svc == NULL || other == NULL)
		goto out;
	size_t ne = 0, ns = 0, no = 0;
	for (uint32_t i = 0; i < pol->nstmts; i++) {
		const struct pol_stmt *st = &pol->stmts[i];
		bool in_other = st->not_action;
		for (uint32_t k = 0; k < st->nactions && !st->not_action; k++) {
			const struct pol_action *a = &st->actions[k];
			const char *colon = memchr(a->lower, ':', a->n);
			size_t pn = colon ? (size_t)(colon - a->lower) : a->n;
			bool prefix_wild = colon == NULL || memchr(a->lower, '*', pn) != NULL ||
			                   memchr(a->lower, '?', pn) != NULL;
			if (prefix_wild)
				in_other = true;
			else if (a->wild)
				svc[ns++] = (struct ipair){a->lower, (uint32_t)pn, i};
			else
				exact[ne++] = (struct ipair){a->lower, a->n, i};
		}
		if (in_other)
			other[no++] = i;
	}
	if (build_table(&pol->arena, exact, ne, &pol->index.exact) != 0 ||
	    build_table(&pol->arena, svc, ns, &pol->index.svc) != 0)
		goto out;
	pol->index.other = other;
	pol->index.nother = (uint32_t)no;
	rc = 0;
out:
	free(exact);
	free(svc);
	return rc;
}
