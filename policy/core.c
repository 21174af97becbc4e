/*
 * core.c - the life of a compiled policy: its arena, its reference count, its
 * accessors, and the diagnostics list that compilation fills.
 *
 * A compiled policy owns one arena; every string and array of it is carved
 * from there and freed at once when the last reference is dropped. The count
 * is a C11 atomic so that a gateway thread swapping in a new IAM snapshot and
 * request threads still evaluating against the old one need no lock: the
 * release decrement and acquire fence make every write of the compile visible
 * to the thread that frees.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

struct pol_arena_block {
	struct pol_arena_block *next;
	size_t used;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 8192u
/* No single allocation of a compiled policy comes near this; a bigger request
 * is a size computation gone wrong. */
#define ARENA_MAX_ALLOC (64u * 1024u * 1024u)

void *pol_arena_alloc(struct pol_arena *a, size_t n)
{
	if (n > ARENA_MAX_ALLOC)
		return NULL;
	size_t need = (n + 15u) & ~(size_t)15u;
	if (need == 0)
		need = 16;
	struct pol_arena_block *b = a->head;
	if (b == NULL || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += need;
	memset(p, 0, need);
	return p;
}

void *pol_arena_array(struct pol_arena *a, size_t count, size_t size)
{
	if (size != 0 && count > ARENA_MAX_ALLOC / size)
		return NULL;
	return pol_arena_alloc(a, count * size);
}

char *pol_arena_strndup(struct pol_arena *a, const char *s, size_t n)
{
	if (n >= ARENA_MAX_ALLOC)
		return NULL;
	char *d = pol_arena_alloc(a, n + 1);
	if (d == NULL)
		return NULL;
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void pol_arena_free(struct pol_arena *a)
{
	struct pol_arena_block *b = a->head;
	while (b != NULL) {
		struct pol_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

/* ---- diagnostics ---- */

void policy_diags_init(struct policy_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void policy_diags_free(struct policy_diags *d)
{
	if (d == NULL)
		return;
	free(d->items);
	memset(d, 0, sizeof(*d));
}

/* Copies src into a fixed field, marking a cut with "..." so that a reader
 * never takes a truncated path for a whole one. */
static void copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n < cap) {
		memcpy(dst, src, n + 1);
		return;
	}
	memcpy(dst, src, cap - 4);
	memcpy(dst + cap - 4, "...", 4);
}

int pol_diag_add(struct policy_diags *d, enum policy_severity sev, const char *path,
                 const char *fmt, ...)
{
	if (d == NULL)
		return 0;
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		if (cap > SIZE_MAX / sizeof(*d->items))
			return -1;
		struct policy_diag *items = realloc(d->items, cap * sizeof(*items));
		if (items == NULL)
			return -1;
		d->items = items;
		d->cap = cap;
	}
	struct policy_diag *it = &d->items[d->count];
	memset(it, 0, sizeof(*it));
	it->severity = sev;
	copy_field(it->path, sizeof(it->path), path ? path : "");
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w < 0)
		copy_field(it->message, sizeof(it->message), "(message could not be formatted)");
	else
		copy_field(it->message, sizeof(it->message), msg);
	d->count++;
	if (sev == POLICY_SEV_ERROR)
		d->errors++;
	else
		d->warnings++;
	return 0;
}

/* ---- reference counting and accessors ---- */

struct policy *policy_ref(struct policy *p)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void policy_unref(struct policy *p)
{
	if (p == NULL)
		return;
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_release) != 1)
		return;
	atomic_thread_fence(memory_order_acquire);
	struct pol_arena arena = p->arena;
	/* The policy struct itself lives in its arena. */
	pol_arena_free(&arena);
}

enum policy_type policy_type_of(const struct policy *p)
{
	return p ? p->type : POLICY_IDENTITY;
}

const char *policy_id(const struct policy *p)
{
	return p && p->id ? p->id : "";
}

const char *policy_version(const struct policy *p)
{
	return p && p->version ? p->version : "2008-10-17";
}

size_t policy_statement_count(const struct policy *p)
{
	return p ? p->nstmts : 0;
}

const char *policy_statement_sid(const struct policy *p, size_t index)
{
	if (p == NULL || index >= p->nstmts)
		return "";
	return p->stmts[index].sid ? p->stmts[index].sid : "";
}

size_t policy_default_size_limit(enum policy_type type, bool managed, bool *whitespace_counts)
{
	bool ws = false;
	size_t limit;
	switch (type) {
	case POLICY_IDENTITY:
		/* Managed: 6,144. Inline: AWS counts all inline policies of a
		 * role together against 10,240; one document can use all of it. */
		limit = managed ? 6144 : 10240;
		break;
	case POLICY_BOUNDARY:
		/* A boundary is always a managed policy. */
		limit = 6144;
		break;
	case POLICY_SESSION:
		limit = 2048;
		break;
	case POLICY_TRUST:
		limit = 2048;
		break;
	case POLICY_SCP:
		limit = 5120;
		ws = true;
		break;
	case POLICY_RESOURCE:
	default:
		/* The largest of AWS's resource-policy limits (S3 bucket
		 * policies, 20 KB). */
		limit = 20480;
		break;
	}
	if (whitespace_counts != NULL)
		*whitespace_counts = ws;
	return limit;
}
