/*
 * bench_placement.c - how long placing one task takes over 1,000 container
 * instances running 3,000 tasks, and what a whole RunTask costs there.
 *
 * Placement (sched_place) is timed per task for each strategy users pick:
 * binpack on memory, spread over zones then instances (the service default),
 * random, and spread with a memberOf constraint. The baseline, run in the
 * same process on the same data, is the straightforward spread that counts
 * each instance's tasks of the group by scanning every task for every
 * instance (instances x tasks), which is what sched_place avoids with one
 * pass and a hash table; the ratio is baseline / measured.
 *
 * Then RunTask end to end (sched_run_task on a real store file and the fake
 * driver: read 1,000 instances and the live tasks, place, write the task and
 * the instance in one transaction, start) for count 1, median of the runs.
 * Timings on a shared machine are evidence, not a verdict: exit status 0.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scheduler/sched_int.h"

#define N_INST 1000
#define PER    3
#define ARN_CI "arn:aws:ecs:us-east-1:123456789012:container-instance/c/"

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

static uint64_t rng_state = 88172645463325252ULL;
static void bench_random(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		buf[i] = (unsigned char)rng_state;
	}
}

static json_t *inst_doc(int i)
{
	char arn[128], ec2[32], az[32];
	snprintf(arn, sizeof(arn), ARN_CI "i%d", i);
	snprintf(ec2, sizeof(ec2), "i-%08d", i);
	snprintf(az, sizeof(az), "us-east-1%c", 'a' + i % 3);
	return json_pack("{s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[{s:s,s:i},{s:s,s:i},"
	                 "{s:s,s:[s]}]}",
	                 "containerInstanceArn", arn, "ec2InstanceId", ec2, "status", "ACTIVE",
	                 "attributes", "name", "ecs.availability-zone", "value", az, "name",
	                 "ecs.instance-type", "value", i % 4 ? "m5.large" : "t3.large",
	                 "registeredResources", "name", "CPU", "integerValue", 8192, "name",
	                 "MEMORY", "integerValue", 16384, "name", "PORTS", "stringSetValue", "22");
}

static json_t *task_doc(int i, int k)
{
	char arn[128];
	snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:123456789012:task/c/t%d-%d", i, k);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:[{s:i,s:i,s:s}]}]}", "taskArn", arn,
	                 "group", k == 0 ? "service:web" : "family:batch", "cpu", "256", "memory",
	                 (i % 7) ? "512" : "2048", "lastStatus", "RUNNING", "desiredStatus",
	                 "RUNNING", "containers", "name", "app", "networkBindings", "containerPort",
	                 80, "hostPort", 49153 + k, "protocol", "tcp");
}

/* The baseline: spread by instance, counting by scanning all tasks. */
static int naive_spread(const struct sched_objs *insts, const struct sched_usage *u,
                        const struct sched_objs *tasks, const char *group, int cpu, int mem)
{
	int best = -1;
	size_t best_n = 0;
	for (size_t i = 0; i < insts->n; i++) {
		if (u[i].cpu_total - u[i].cpu_used < cpu || u[i].mem_total - u[i].mem_used < mem)
			continue;
		size_t n = 0;
		for (size_t t = 0; t < tasks->n; t++) {
			const struct sched_obj *o = &tasks->v[t];
			const char *g = json_string_value(json_object_get(o->doc, "group"));
			if (strcmp(o->row.parent, insts->v[i].row.arn) == 0 && g &&
			    strcmp(g, group) == 0)
				n++;
		}
		if (best < 0 || n < best_n) {
			best = (int)i;
			best_n = n;
		}
	}
	return best;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? atof(argv[1]) : 1.0;
	if (budget <= 0)
		budget = 1.0;
	char dir[] = "/tmp/tg-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char db[128];
	snprintf(db, sizeof(db), "%s/taskgate.db", dir);
	struct store *st = NULL;
	struct store_error se;
	if (store_open(db, NULL, &st, &se) != STORE_OK) {
		fprintf(stderr, "bench: %s\n", se.message);
		return 1;
	}
	struct sched_fake *fake = sched_fake_new();
	struct sched_config cfg = {.store = st,
	                           .region = "us-east-1",
	                           .account_id = "123456789012",
	                           .driver = sched_fake_driver(fake),
	                           .random = bench_random,
	                           /* as the gateway runs it: one machine's ports */
	                           .host_ports_shared = true};
	struct sched *s = NULL;
	struct sched_error err;
	if (sched_open(&cfg, &s, &err) != SCHED_OK) {
		fprintf(stderr, "bench: %s\n", err.message);
		return 1;
	}

	/* in memory: instances, tasks and usages */
	struct sched_objs insts = {calloc(N_INST, sizeof(struct sched_obj)), 0};
	struct sched_objs tasks = {calloc(N_INST * PER, sizeof(struct sched_obj)), 0};
	for (int i = 0; i < N_INST; i++) {
		char arn[128], id[16];
		snprintf(arn, sizeof(arn), ARN_CI "i%d", i);
		snprintf(id, sizeof(id), "i%d", i);
		sched_obj_init(&insts.v[insts.n++], STORE_SCHED_CONTAINER_INSTANCE, arn,
		               "arn:aws:ecs:us-east-1:123456789012:cluster/c", id, "ACTIVE",
		               inst_doc(i), &err);
		for (int k = 0; k < PER; k++) {
			struct sched_obj *o = &tasks.v[tasks.n++];
			json_t *d = task_doc(i, k);
			sched_obj_init(o, STORE_SCHED_TASK,
			               json_string_value(json_object_get(d, "taskArn")),
			               "arn:aws:ecs:us-east-1:123456789012:cluster/c", "t",
			               "RUNNING", d, &err);
			sched_obj_set_str(o, &o->row.parent, arn, &err);
			sched_obj_set_str(o, &o->row.grp, "RUNNING", &err);
		}
	}
	struct sched_usage *u = calloc(N_INST, sizeof(*u));
	for (size_t i = 0; i < insts.n; i++)
		sched_usage_of(s, &insts.v[i], &tasks, &u[i], &err);
	const char **reasons = calloc(N_INST, sizeof(*reasons));
	struct sched_port port = {.container_port = 80, .host_port = 0, .container = "app"};
	struct sched_need need = {.cpu = 256, .memory = 512, .ports = &port, .n_ports = 1};

	struct {
		const char *name, *strategy, *constraints;
	} w[] = {
	    {"binpack memory", "[{\"type\":\"binpack\",\"field\":\"memory\"}]", NULL},
	    {"spread zone, instanceId (service default)",
	     "[{\"type\":\"spread\",\"field\":\"attribute:ecs.availability-zone\"},"
	     "{\"type\":\"spread\",\"field\":\"instanceId\"}]",
	     NULL},
	    {"random", "[{\"type\":\"random\"}]", NULL},
	    {"spread instanceId + memberOf =~ m5.*",
	     "[{\"type\":\"spread\",\"field\":\"instanceId\"}]",
	     "[{\"type\":\"memberOf\",\"expression\":\"attribute:ecs.instance-type =~ m5.*\"}]"},
	    {"spread instanceId", "[{\"type\":\"spread\",\"field\":\"instanceId\"}]", NULL},
	};
	size_t nw = sizeof(w) / sizeof(w[0]);
	printf("placement over %d instances with %d live tasks (budget %.2fs per path)\n", N_INST,
	       N_INST * PER, budget);
	printf("%-44s %12s %8s\n", "strategy", "us/task", "runs");
	double spread_us = 0;
	for (size_t k = 0; k < nw; k++) {
		json_t *stj = json_loads(w[k].strategy, 0, NULL);
		json_t *co = w[k].constraints ? json_loads(w[k].constraints, 0, NULL) : NULL;
		int runs = 0, chosen = -1;
		double t0 = now_s(), t;
		do {
			sched_place(s, &insts, u, &tasks, "service:web", &need, stj, co, &chosen,
			            reasons, &err);
			runs++;
			t = now_s();
		} while (t - t0 < budget);
		double us = (t - t0) / runs * 1e6;
		if (k == nw - 1)
			spread_us = us;
		printf("%-44s %12.1f %8d%s\n", w[k].name, us, runs,
		       chosen < 0 ? "  (no fit!)" : "");
		json_decref(stj);
		json_decref(co);
	}
	int runs = 0;
	double t0 = now_s(), t;
	do {
		naive_spread(&insts, u, &tasks, "service:web", 256, 512);
		runs++;
		t = now_s();
	} while (t - t0 < budget);
	double naive_us = (t - t0) / runs * 1e6;
	printf("%-44s %12.1f %8d\n", "baseline: spread instanceId, scan per instance", naive_us,
	       runs);
	printf("ratio baseline / sched_place (spread instanceId): %.1fx\n\n", naive_us / spread_us);

	/* RunTask end to end on a store with the same cluster */
	json_t *cl = NULL, *td = NULL;
	sched_cluster_create(s, "c", NULL, &cl, &err);
	json_t *tdin =
	    json_pack("{s:s,s:[{s:s,s:s,s:i,s:i,s:[{s:i,s:i}]}]}", "family", "web",
	              "containerDefinitions", "name", "app", "image", "busybox", "cpu", 64,
	              "memory", 64, "portMappings", "containerPort", 80, "hostPort", 0);
	if (sched_taskdef_register(s, tdin, &td, &err) != SCHED_OK) {
		fprintf(stderr, "bench: %s\n", err.message);
		return 1;
	}
	for (size_t i = 0; i < insts.n; i++) {
		insts.v[i].row.version = 0;
		if (sched_obj_save(s, &insts.v[i], &err) != SCHED_OK) {
			fprintf(stderr, "bench: %s\n", err.message);
			return 1;
		}
	}
	double samples[200];
	int n = 0;
	json_t *strategy = json_loads("[{\"type\":\"spread\",\"field\":\"instanceId\"}]", 0, NULL);
	t0 = now_s();
	while (n < 200 && (n < 5 || now_s() - t0 < budget * 3)) {
		struct sched_run_request req = {.cluster = "c",
		                                .task_definition = "web",
		                                .count = 1,
		                                .placement_strategy = strategy};
		json_t *out = NULL, *fails = NULL;
		double a = now_s();
		if (sched_run_task(s, &req, &out, &fails, &err) != SCHED_OK) {
			fprintf(stderr, "bench: %s\n", err.message);
			return 1;
		}
		samples[n++] = (now_s() - a) * 1e3;
		json_decref(out);
		json_decref(fails);
	}
	qsort(samples, (size_t)n, sizeof(samples[0]), cmp_d);
	printf("RunTask count 1 over %d instances (store + fake driver): median %.2f ms, "
	       "max %.2f ms, %d runs (%d live tasks at the end)\n",
	       N_INST, samples[n / 2], samples[n - 1], n, n);
	json_decref(strategy);
	json_decref(tdin);
	json_decref(td);
	json_decref(cl);
	for (size_t i = 0; i < insts.n; i++)
		sched_usage_free(&u[i]);
	free(u);
	free(reasons);
	sched_objs_free(&insts);
	sched_objs_free(&tasks);
	sched_close(s);
	store_close(st);
	sched_fake_free(fake);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
