/*
 * test_sched_fixture.h - helpers shared by the scheduler's unit tests
 * (tests/unit/test_sched_*.c): a real store file in a fresh directory, a
 * scheduler over it with the fake driver, a clock the test moves by hand and
 * a counter as its "randomness", so ids and times are the same on every run.
 *
 * sfx_restart closes the scheduler and the store and opens both again on the
 * same file and the same fake driver: what a gateway restart with containers
 * still running looks like.
 */
#ifndef TASKGATE_TESTS_SCHED_FIXTURE_H
#define TASKGATE_TESTS_SCHED_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/scheduler.h"
#include "store/store.h"

#define SFX_REGION  "us-east-1"
#define SFX_ACCOUNT "123456789012"

struct sfx {
	char dir[64];
	char db[PATH_MAX];
	struct store *store;
	struct sched *s;
	struct sched_fake *fake;
	int64_t now_ms;   /* the scheduler's clock */
	uint64_t counter; /* the scheduler's "randomness" */
	struct sched_error err;
	/* read by every (re)open: 0 and NULL for the defaults */
	int port_min, port_max;
	struct sched_task_hooks hooks;
	bool host_ports_shared;
	const char *bind_ip;
};

static inline int64_t sfx_clock(void *ctx)
{
	return ((struct sfx *)ctx)->now_ms;
}

/* Bytes of a counter run through a mixer: distinct, repeatable ids. */
static inline void sfx_random(void *ctx, unsigned char *buf, size_t n)
{
	struct sfx *f = ctx;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = ++f->counter * 0x9E3779B97F4A7C15ULL;
		x ^= x >> 31;
		x *= 0xBF58476D1CE4E5B9ULL;
		x ^= x >> 27;
		for (size_t j = 0; j < 8 && i + j < n; j++)
			buf[i + j] = (unsigned char)(x >> (8 * j));
	}
}

static inline int sfx_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline int sfx_open_sched(struct sfx *f)
{
	struct store_error se;
	if (store_open(f->db, NULL, &f->store, &se) != STORE_OK) {
		fprintf(stdout, "    store_open: %s\n", se.message);
		return -1;
	}
	struct sched_config cfg = {
	    .store = f->store,
	    .region = SFX_REGION,
	    .account_id = SFX_ACCOUNT,
	    .driver = sched_fake_driver(f->fake),
	    .random = sfx_random,
	    .random_ctx = f,
	    .clock = sfx_clock,
	    .clock_ctx = f,
	    .dynamic_port_min = f->port_min,
	    .dynamic_port_max = f->port_max,
	    .hooks = f->hooks,
	    .host_ports_shared = f->host_ports_shared,
	    .bind_ip = f->bind_ip,
	};
	if (sched_open(&cfg, &f->s, &f->err) != SCHED_OK) {
		fprintf(stdout, "    sched_open: %s\n", f->err.message);
		return -1;
	}
	return 0;
}

/* A fresh directory, store and scheduler; aborts when that cannot be made. */
static inline void sfx_init(struct sfx *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->dir, "/tmp/tg-sched-XXXXXX", sizeof("/tmp/tg-sched-XXXXXX"));
	if (!mkdtemp(f->dir))
		abort();
	int n = snprintf(f->db, sizeof(f->db), "%s/taskgate.db", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->db))
		abort();
	f->now_ms = 1700000000000LL;
	f->fake = sched_fake_new();
	if (!f->fake || sfx_open_sched(f) != 0)
		abort();
}

static inline void sfx_restart(struct sfx *f)
{
	sched_close(f->s);
	f->s = NULL;
	store_close(f->store);
	f->store = NULL;
	if (sfx_open_sched(f) != 0)
		abort();
}

static inline void sfx_done(struct sfx *f)
{
	sched_close(f->s);
	store_close(f->store);
	sched_fake_free(f->fake);
	nftw(f->dir, sfx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A JSON literal (aborts on a typo in the test itself). */
static inline json_t *sfx_json(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j) {
		fprintf(stdout, "    bad JSON in test: %s: %s\n", je.text, text);
		abort();
	}
	return j;
}

static inline const char *sfx_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A row written behind the scheduler's back (a task or instance made by
 * another part of the scheduler), for counting and refusal tests. */
static inline int sfx_put_raw(struct sfx *f, enum store_sched_kind kind, const char *arn,
                              const char *cluster, const char *name, const char *status,
                              const char *parent, const char *doc)
{
	struct store_sched_obj o = {
	    .kind = kind,
	    .arn = (char *)arn,
	    .cluster = (char *)cluster,
	    .name = (char *)name,
	    .status = (char *)status,
	    .grp = (char *)"",
	    .parent = (char *)(parent ? parent : ""),
	    .doc = (char *)(doc ? doc : "{}"),
	};
	struct store_error se;
	int rc = store_sched_put(f->store, &o, 0, NULL, NULL, &se);
	if (rc != STORE_OK)
		fprintf(stdout, "    store_sched_put(%s): %s\n", arn, se.message);
	return rc;
}

/* Follows nextToken through every page of a list call made by fn; returns
 * all ARNs, or NULL when a call failed or a token repeated. */
typedef int (*sfx_list_fn)(struct sfx *f, const struct sched_page *p, json_t **arns, char **next);
static inline json_t *sfx_list_all(struct sfx *f, int page_size, sfx_list_fn fn, int *pages)
{
	json_t *all = json_array();
	char *token = NULL;
	*pages = 0;
	for (;;) {
		struct sched_page p = {.max_results = page_size, .next_token = token};
		json_t *arns = NULL;
		char *next = NULL;
		int rc = fn(f, &p, &arns, &next);
		(*pages)++;
		if (rc != SCHED_OK || (token && next && strcmp(token, next) == 0) ||
		    *pages > 1000) {
			fprintf(stdout, "    list page %d: %s\n", *pages, f->err.message);
			json_decref(arns);
			free(next);
			free(token);
			json_decref(all);
			return NULL;
		}
		json_array_extend(all, arns);
		json_decref(arns);
		free(token);
		token = next;
		if (!token)
			return all;
	}
}

#endif
