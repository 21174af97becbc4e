/*
 * bench_audit.c - what the decision log costs a request, and what group
 * commit buys.
 *
 * The same load three ways, each for the time budget (argv[1] seconds):
 * THREADS threads play requests in a closed loop; each request builds a
 * CloudTrail-shaped record of realistic size (the JSON writer included) and
 *   off    - stops there: the log switched off, the baseline;
 *   group  - appends it through the gateway's writer with group commit
 *            (batch_max 256): the production path;
 *   single - the same writer with batch_max 1: one transaction, one fsync
 *            per record.
 * The store is a fresh file with synchronous=FULL (the default: a record
 * acknowledged survives power loss), so each transaction waits for the disk.
 * Printed: records per second, mean and p99 latency per request, records per
 * transaction, the latency added against "off", and the group/single
 * throughput ratio. Exit status 0 either way: timing on a shared machine is
 * evidence, not a verdict; the chain is verified at the end, and a broken
 * one exits 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gateway/audit.h"
#include "store/store.h"

#define THREADS   16
#define LAT_MAX   (1 << 20)

enum mode { MODE_OFF, MODE_GROUP, MODE_SINGLE };

struct run {
	enum mode mode;
	struct gw_audit *a;
	double seconds;
	atomic_bool stop;
	atomic_ullong done;
	atomic_ullong failed;
	/* latencies in ns, sampled per request (shared, index by atomic) */
	uint64_t *lat;
	atomic_ullong nlat;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A record like the gateway's for an ECS call: about 900 bytes. */
static char *build_record(unsigned id, unsigned long long n, char rid[33])
{
	snprintf(rid, 33, "%08x%024llx", id, n);
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s},"
	    " s:[{s:s, s:s, s:s, s:s, s:s, s:I, s:[s, s], s:s}], s:[s], s:[{s:s}], s:{s:s, s:s}}",
	    "eventVersion", "1.09", "eventTime", "2026-11-30T10:00:00.123456Z", "eventSource",
	    "ecs.amazonaws.com", "eventName", "RunTask", "eventType", "AwsApiCall", "awsRegion",
	    "us-east-1", "recipientAccountId", "111122223333", "requestID", rid, "recordType",
	    "decision", "sourceIPAddress", "10.0.0.12", "userAgent",
	    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 botocore/2.4.5", "userIdentity", "type",
	    "AssumedRole", "arn", "arn:aws:sts::111122223333:assumed-role/deployer/ci-1234",
	    "accountId", "111122223333", "principalId", "AROAEXAMPLEID:ci-1234", "accessKeyId",
	    "ASIAEXAMPLEKEYID", "decisions", "action", "ecs:RunTask", "resource",
	    "arn:aws:ecs:us-east-1:111122223333:task-definition/web:7", "decision", "Allow",
	    "policy", "deploy", "sid", "RunWebTasks", "statementIndex", (json_int_t)0,
	    "conditionKeys", "ecs:cluster", "aws:PrincipalTag/team", "decidedBy", "identity",
	    "iamActions", "ecs:RunTask", "resources", "ARN",
	    "arn:aws:ecs:us-east-1:111122223333:task-definition/web:7", "requestParameters",
	    "cluster", "prod", "taskDefinition", "web:7");
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

struct worker {
	struct run *run;
	unsigned id;
};

static void *work(void *p)
{
	struct worker *w = p;
	struct run *r = w->run;
	unsigned long long n = 0;
	while (!atomic_load(&r->stop)) {
		uint64_t t0 = now_ns();
		char rid[33];
		char *record = build_record(w->id, n++, rid);
		if (!record) {
			atomic_fetch_add(&r->failed, 1);
			continue;
		}
		if (r->mode != MODE_OFF) {
			struct store_audit_event ev = {
			    .time_us = 1764496800123456,
			    .request_id = rid,
			    .source_ip = "10.0.0.12",
			    .principal = "arn:aws:sts::111122223333:assumed-role/deployer/ci-1234",
			    .action = "ecs:RunTask",
			    .decision = "Allow",
			    .record = record,
			};
			struct store_error se = {0};
			if (gw_audit_append(r->a, &ev, NULL, &se) != STORE_OK)
				atomic_fetch_add(&r->failed, 1);
		}
		free(record);
		uint64_t dt = now_ns() - t0;
		unsigned long long i = atomic_fetch_add(&r->nlat, 1);
		if (i < LAT_MAX)
			r->lat[i] = dt;
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct result {
	double per_s, mean_us, p99_us, per_tx;
	unsigned long long records, failed;
};

static int measure(const char *dir, enum mode mode, double seconds, struct result *res)
{
	char db[256];
	snprintf(db, sizeof(db), "%s/bench-%d.db", dir, (int)mode);
	struct store *s = NULL;
	struct store_error se = {0};
	struct store_options so = {.synchronous = "FULL"};
	if (store_open(db, &so, &s, &se) != STORE_OK) {
		fprintf(stderr, "bench: %s\n", se.message);
		return -1;
	}
	struct run r = {.mode = mode, .seconds = seconds};
	r.lat = malloc(sizeof(uint64_t) * LAT_MAX);
	if (!r.lat) {
		store_close(s);
		return -1;
	}
	struct gw_audit_error ae = {0};
	if (mode != MODE_OFF) {
		struct gw_audit_options o = {.batch_max = mode == MODE_GROUP ? 256 : 1};
		if (gw_audit_open(s, &o, &r.a, &ae) != GW_AUDIT_OK) {
			fprintf(stderr, "bench: %s\n", ae.message);
			free(r.lat);
			store_close(s);
			return -1;
		}
	}
	pthread_t t[THREADS];
	struct worker w[THREADS];
	uint64_t start = now_ns();
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){&r, i};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	struct timespec budget = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
	nanosleep(&budget, NULL);
	atomic_store(&r.stop, true);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	double elapsed = (double)(now_ns() - start) / 1e9;
	struct gw_audit_stats st = {0};
	if (r.a) {
		gw_audit_get_stats(r.a, &st);
		gw_audit_close(r.a);
	}
	unsigned long long n = atomic_load(&r.nlat);
	if (n > LAT_MAX)
		n = LAT_MAX;
	qsort(r.lat, n, sizeof(uint64_t), cmp_u64);
	double sum = 0;
	for (unsigned long long i = 0; i < n; i++)
		sum += (double)r.lat[i];
	res->records = atomic_load(&r.done);
	res->failed = atomic_load(&r.failed);
	res->per_s = (double)res->records / elapsed;
	res->mean_us = n ? sum / (double)n / 1000.0 : 0;
	res->p99_us = n ? (double)r.lat[(n * 99) / 100] / 1000.0 : 0;
	res->per_tx = st.transactions ? (double)st.records / (double)st.transactions : 0;
	int rc = 0;
	if (mode != MODE_OFF) {
		struct gw_audit_report rep;
		if (gw_audit_verify(s, NULL, 0, 0, &rep, &ae) != GW_AUDIT_OK ||
		    (unsigned long long)rep.records != st.records) {
			fprintf(stderr, "bench: the chain does not verify after the %s run: %s\n",
			        mode == MODE_GROUP ? "group" : "single", rep.problem);
			rc = 1;
		}
	}
	free(r.lat);
	store_close(s);
	char path[300];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
		unlink(path);
	}
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	if (seconds <= 0)
		seconds = 1.0;
	char dir[] = "/tmp/tg-bench-audit-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench: mkdtemp");
		return 1;
	}
	struct result off, group, single;
	int rc = 0;
	rc |= measure(dir, MODE_OFF, seconds, &off);
	rc |= measure(dir, MODE_GROUP, seconds, &group);
	rc |= measure(dir, MODE_SINGLE, seconds, &single);
	rmdir(dir);
	if (rc < 0)
		return 1;
	printf("audit log benchmark: %d threads in a closed loop, %.2fs per mode, store "
	       "synchronous=FULL on %s\n",
	       THREADS, seconds, "/tmp");
	printf("%-34s %12s %11s %11s %10s %8s\n", "mode", "records/s", "mean us", "p99 us",
	       "rec/tx", "failed");
	printf("%-34s %12.0f %11.1f %11.1f %10s %8llu\n", "off (record built, not written)",
	       off.per_s, off.mean_us, off.p99_us, "-", off.failed);
	printf("%-34s %12.0f %11.1f %11.1f %10.1f %8llu\n", "group commit (batch_max 256)",
	       group.per_s, group.mean_us, group.p99_us, group.per_tx, group.failed);
	printf("%-34s %12.0f %11.1f %11.1f %10.1f %8llu\n", "one transaction per record",
	       single.per_s, single.mean_us, single.p99_us, single.per_tx, single.failed);
	printf("\nadded latency per request with group commit: %.1f us mean, %.1f us p99 "
	       "(vs log off)\n",
	       group.mean_us - off.mean_us, group.p99_us - off.p99_us);
	printf("group commit throughput vs one transaction per record: %.1fx\n",
	       single.per_s > 0 ? group.per_s / single.per_s : 0.0);
	return rc;
}
