/*
 * bench_registry.c - what paging through ListTaskDefinitions costs over
 * 2,000 task definitions (200 families of 10 revisions) on a real store.
 *
 * Measured: every page of sched_taskdef_list at 100 per page, in ECS's order
 * (family, then revision), which reads one keyset page from the store's index
 * per call. Baseline, in the same process on the same file: the obvious way,
 * which reads every definition with its document, sorts them and cuts out the
 * page, once per page (what taskdef.c did before the keyset). The ratio is
 * baseline / measured for the whole walk (20 pages; the baseline is run once,
 * it is slow by design). Then ListTaskDefinitionFamilies over the 200
 * families. Timings on a shared machine are evidence,
 * not a verdict: exit status 0 unless the setup fails.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scheduler/sched_int.h"

#define FAMILIES  200
#define REVISIONS 10
#define PAGE      100

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The whole walk with the scheduler's call; returns ARNs seen or -1. */
static long walk_keyset(struct sched *s)
{
	char *token = NULL;
	long seen = 0;
	for (;;) {
		struct sched_page p = {.max_results = PAGE, .next_token = token};
		json_t *arns = NULL;
		char *next = NULL;
		struct sched_error e;
		if (sched_taskdef_list(s, NULL, "ACTIVE", false, &p, &arns, &next, &e) !=
		    SCHED_OK) {
			fprintf(stderr, "list: %s\n", e.message);
			free(token);
			return -1;
		}
		seen += (long)json_array_size(arns);
		json_decref(arns);
		free(token);
		token = next;
		if (!token)
			return seen;
	}
}

static int by_family_rev(const void *a, const void *b)
{
	const struct sched_obj *x = a, *y = b;
	int c = strcmp(x->row.name, y->row.name);
	if (c)
		return c;
	return (x->row.revision > y->row.revision) - (x->row.revision < y->row.revision);
}

/* The baseline walk: every page reads and sorts everything. */
static long walk_load_all(struct sched *s)
{
	long seen = 0;
	int64_t after = 0;
	for (;;) {
		struct store_sched_filter f = {.kind = STORE_SCHED_TASK_DEFINITION};
		struct sched_objs all;
		struct sched_error e;
		if (sched_objs_query(s, &f, &all, &e) != SCHED_OK) {
			fprintf(stderr, "query: %s\n", e.message);
			return -1;
		}
		qsort(all.v, all.n, sizeof(all.v[0]), by_family_rev);
		size_t start = 0;
		if (after > 0)
			for (size_t i = 0; i < all.n; i++)
				if (all.v[i].row.seq == after) {
					start = i + 1;
					break;
				}
		json_t *arns = json_array();
		size_t i = start;
		for (; i < all.n && json_array_size(arns) < PAGE; i++)
			if (strcmp(all.v[i].row.status, "ACTIVE") == 0) {
				json_array_append_new(arns, json_string(all.v[i].row.arn));
				after = all.v[i].row.seq;
			}
		bool more = i < all.n;
		seen += (long)json_array_size(arns);
		json_decref(arns);
		sched_objs_free(&all);
		if (!more)
			return seen;
	}
}

static double median_walk(struct sched *s, long (*walk)(struct sched *), double budget,
                          int min_runs, long *seen)
{
	double t[64];
	int n = 0;
	double start = now_s();
	while (n < 64 && (n < min_runs || now_s() - start < budget)) {
		double t0 = now_s();
		*seen = walk(s);
		t[n++] = now_s() - t0;
		if (*seen < 0)
			return -1;
	}
	qsort(t, (size_t)n, sizeof(t[0]), cmp_d);
	return t[n / 2];
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? atof(argv[1]) : 1.0;
	if (budget <= 0)
		budget = 1.0;
	char dir[] = "/tmp/tg-bench-registry-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char db[128];
	snprintf(db, sizeof(db), "%s/taskgate.db", dir);
	struct store *store = NULL;
	struct store_error se;
	struct store_options opts = {.synchronous = "NORMAL"};
	struct sched_fake *fake = sched_fake_new();
	struct sched *s = NULL;
	struct sched_error e;
	int status = 1;
	if (store_open(db, &opts, &store, &se) != STORE_OK) {
		fprintf(stderr, "store: %s\n", se.message);
		goto out;
	}
	struct sched_config cfg = {.store = store,
	                           .region = "us-east-1",
	                           .account_id = "123456789012",
	                           .driver = sched_fake_driver(fake)};
	if (sched_open(&cfg, &s, &e) != SCHED_OK) {
		fprintf(stderr, "sched: %s\n", e.message);
		goto out;
	}
	double t0 = now_s();
	/* revisions interleaved across families, as real registrations come */
	for (int r = 0; r < REVISIONS; r++) {
		for (int fam = 0; fam < FAMILIES; fam++) {
			char text[512];
			snprintf(
			    text, sizeof(text),
			    "{\"family\":\"svc-%03d\",\"containerDefinitions\":[{\"name\":\"app\","
			    "\"image\":\"registry.example.com/app:%d\",\"memory\":256,"
			    "\"portMappings\":[{\"containerPort\":8080}],\"environment\":"
			    "[{\"name\":\"MODE\",\"value\":\"prod\"}]}]}",
			    (fam * 7919) % FAMILIES, r);
			json_t *in = json_loads(text, 0, NULL);
			json_t *td = NULL;
			int rc = sched_taskdef_register(s, in, &td, &e);
			json_decref(in);
			json_decref(td);
			if (rc != SCHED_OK) {
				fprintf(stderr, "register: %s\n", e.message);
				goto out;
			}
		}
	}
	printf("setup: %d task definitions registered in %.2f s\n", FAMILIES * REVISIONS,
	       now_s() - t0);

	long seen_k = 0, seen_b = 0;
	double keyset = median_walk(s, walk_keyset, budget, 3, &seen_k);
	double base = median_walk(s, walk_load_all, 0, 1, &seen_b);
	if (keyset <= 0 || base <= 0 || seen_k != FAMILIES * REVISIONS || seen_b != seen_k) {
		fprintf(stderr, "walks disagree: %ld vs %ld\n", seen_k, seen_b);
		goto out;
	}
	printf("%-52s %10s %10s %8s\n", "ListTaskDefinitions, every page (100 each)", "measured",
	       "baseline", "ratio");
	printf("%-52s %8.1f ms %8.1f ms %7.1fx\n", "2,000 definitions, 20 pages", keyset * 1e3,
	       base * 1e3, base / keyset);
	printf("%-52s %8.1f us\n", "  per page (measured)", keyset * 1e6 / 20.0);

	/* families: one walk of 500 names, 100 per page */
	double t1 = now_s();
	char *token = NULL;
	long fams = 0;
	for (;;) {
		struct sched_page p = {.max_results = PAGE, .next_token = token};
		json_t *names = NULL;
		char *next = NULL;
		if (sched_taskdef_families(s, NULL, NULL, &p, &names, &next, &e) != SCHED_OK) {
			fprintf(stderr, "families: %s\n", e.message);
			free(token);
			goto out;
		}
		fams += (long)json_array_size(names);
		json_decref(names);
		free(token);
		token = next;
		if (!token)
			break;
	}
	printf("%-52s %8.1f ms (%ld families)\n", "ListTaskDefinitionFamilies, every page",
	       (now_s() - t1) * 1e3, fams);
	status = fams == FAMILIES ? 0 : 1;
out:
	sched_close(s);
	store_close(store);
	sched_fake_free(fake);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}
