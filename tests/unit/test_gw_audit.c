/*
 * test_gw_audit.c - the decision log's writer and formats without a server:
 * the canonical form and its hash against known answers (the same bytes
 * docs/audit.md spells out, hashed by Python's hashlib), group commit under
 * concurrent writers, checkpoints by count and by time, a refused event that
 * writes nothing, non-HTTP event records, and verification after a prune.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/audit.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/server.h"
#include "store/store.h"
#include "tests/unit/check.h"

struct fx {
	char dir[64];
	char db[128];
	char key[128];
	struct store *s;
};

static void fx_open(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-audit-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit.key", f->dir);
	struct store_error se;
	struct store_options o = {.synchronous = "NORMAL"};
	CHECK_INT(store_open(f->db, &o, &f->s, &se), STORE_OK);
}

static void fx_close(struct fx *f)
{
	store_close(f->s);
	char path[200];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", f->db, suffix[i]);
		unlink(path);
	}
	unlink(f->key);
	rmdir(f->dir);
}

static EVP_PKEY *make_key(struct fx *f)
{
	struct gw_audit_error ae = {0};
	CHECK_INT(gw_audit_key_create(f->key, &ae), GW_AUDIT_OK);
	EVP_PKEY *k = NULL;
	CHECK_INT(gw_audit_key_load(f->key, &k, &ae), GW_AUDIT_OK);
	return k;
}

static struct store_audit_event sample(const char *rid, const char *record)
{
	struct store_audit_event ev = {
	    .time_us = 1700000000123456,
	    .request_id = rid,
	    .source_ip = "127.0.0.1",
	    .action = "ecs:RunTask",
	    .decision = "Allow",
	    .has_status = true,
	    .status = 200,
	    .has_latency = true,
	    .latency_us = 1234,
	    .record = record,
	};
	return ev;
}

static void canonical_form_is_the_documented_bytes(void)
{
	struct store_audit_event ev = sample("req-1", "{\"a\":1}");
	unsigned char prev[STORE_AUDIT_HASH_LEN];
	memset(prev, 0x11, sizeof(prev));
	size_t n = 0;
	char *c = gw_audit_canonical(5, &ev, prev, &n);
	CHECK(c != NULL);
	static const char want[] =
	    "taskgate-audit-record-v1\n"
	    "seq 1:5\n"
	    "time_us 16:1700000000123456\n"
	    "request_id 5:req-1\n"
	    "source_ip 9:127.0.0.1\n"
	    "principal -\n"
	    "action 11:ecs:RunTask\n"
	    "decision 5:Allow\n"
	    "status 3:200\n"
	    "error_code -\n"
	    "latency_us 4:1234\n"
	    "record 7:{\"a\":1}\n"
	    "prev_hash 64:1111111111111111111111111111111111111111111111111111111111111111\n";
	CHECK_INT(n, sizeof(want) - 1);
	CHECK_STR(c, want);
	free(c);
	unsigned char h[STORE_AUDIT_HASH_LEN];
	char hex[GW_AUDIT_HEX_LEN + 1];
	CHECK_INT(gw_audit_hash(5, &ev, prev, h), 0);
	gw_audit_hex(h, sizeof(h), hex);
	/* hashlib.sha256(want).hexdigest() */
	CHECK_STR(hex, "ff73323e527938f779ff10b1b6eb02a454fdf7b68d0085ab08de677911a3c815");
}

static void every_field_changes_the_hash(void)
{
	unsigned char prev[STORE_AUDIT_HASH_LEN] = {0}, base[STORE_AUDIT_HASH_LEN],
	                                         h[STORE_AUDIT_HASH_LEN];
	struct store_audit_event ev = sample("req-1", "{\"a\":1}");
	CHECK_INT(gw_audit_hash(5, &ev, prev, base), 0);
	struct store_audit_event v[9];
	for (int i = 0; i < 9; i++)
		v[i] = ev;
	v[0].time_us++;
	v[1].request_id = "req-2";
	v[2].source_ip = "::1";
	v[3].principal = "arn:aws:iam::111122223333:user/a";
	v[4].action = "ecs:StopTask";
	v[5].decision = "ExplicitDeny";
	v[6].status = 500;
	v[7].has_latency = false;
	v[8].record = "{\"a\":2}";
	for (int i = 0; i < 9; i++) {
		CHECK_INT(gw_audit_hash(5, &v[i], prev, h), 0);
		CHECK(memcmp(h, base, sizeof(h)) != 0);
	}
	CHECK_INT(gw_audit_hash(6, &ev, prev, h), 0);
	CHECK(memcmp(h, base, sizeof(h)) != 0);
	prev[31] = 1;
	CHECK_INT(gw_audit_hash(5, &ev, prev, h), 0);
	CHECK(memcmp(h, base, sizeof(h)) != 0);
	/* Length prefixes: moving a byte between fields is a different form. */
	struct store_audit_event a = ev, b = ev;
	a.request_id = "ab";
	a.source_ip = "c";
	b.request_id = "a";
	b.source_ip = "bc";
	unsigned char ha[STORE_AUDIT_HASH_LEN], hb[STORE_AUDIT_HASH_LEN];
	CHECK_INT(gw_audit_hash(5, &a, prev, ha), 0);
	CHECK_INT(gw_audit_hash(5, &b, prev, hb), 0);
	CHECK(memcmp(ha, hb, sizeof(ha)) != 0);
}

struct writer_arg {
	struct gw_audit *a;
	int id;
	int n;
	int failures;
};

static void *writer(void *p)
{
	struct writer_arg *w = p;
	for (int i = 0; i < w->n; i++) {
		char rid[32], rec[64];
		snprintf(rid, sizeof(rid), "w%d-%d", w->id, i);
		snprintf(rec, sizeof(rec), "{\"w\":%d,\"i\":%d}", w->id, i);
		struct store_audit_event ev = sample(rid, rec);
		int64_t seq = 0;
		struct store_error se = {0};
		if (gw_audit_append(w->a, &ev, &seq, &se) != STORE_OK || seq <= 0)
			w->failures++;
	}
	return NULL;
}

static void concurrent_writers_share_transactions_and_one_unbroken_chain(void)
{
	struct fx f;
	fx_open(&f);
	EVP_PKEY *key = make_key(&f);
	struct gw_audit *a = NULL;
	struct gw_audit_error ae = {0};
	struct gw_audit_options o = {.key = key, .every = 100, .batch_max = 64};
	CHECK_INT(gw_audit_open(f.s, &o, &a, &ae), GW_AUDIT_OK);
	enum { THREADS = 8, EACH = 150 };
	pthread_t t[THREADS];
	struct writer_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct writer_arg){.a = a, .id = i, .n = EACH};
		CHECK_INT(pthread_create(&t[i], NULL, writer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(args[i].failures, 0);
	}
	struct gw_audit_stats st;
	gw_audit_get_stats(a, &st);
	CHECK_INT(st.records, THREADS * EACH);
	CHECK_INT(st.failures, 0);
	CHECK(st.transactions >= 1 && st.transactions <= st.records);
	CHECK(st.checkpoints >= 1);
	gw_audit_close(a);
	struct store_error se;
	int64_t count = 0, last = 0;
	CHECK_INT(store_audit_count(f.s, &count, &last, &se), STORE_OK);
	CHECK_INT(count, THREADS * EACH);
	CHECK_INT(last, THREADS * EACH);
	EVP_PKEY *pub = NULL;
	CHECK_INT(gw_audit_public_key_load(f.key, &pub, &ae), GW_AUDIT_OK);
	struct gw_audit_report rep;
	CHECK_INT(gw_audit_verify(f.s, pub, 0, 0, &rep, &ae), GW_AUDIT_OK);
	CHECK_INT(rep.records, THREADS * EACH);
	CHECK(rep.checkpoints >= 12); /* every 100, and one at close */
	CHECK_INT(rep.unchecked_tail, 0);
	EVP_PKEY_free(pub);
	fx_close(&f);
}

static void a_refused_event_writes_nothing_and_the_next_one_chains_on(void)
{
	struct fx f;
	fx_open(&f);
	struct gw_audit *a = NULL;
	struct gw_audit_error ae = {0};
	struct gw_audit_options o = {0};
	CHECK_INT(gw_audit_open(f.s, &o, &a, &ae), GW_AUDIT_OK);
	struct store_audit_event ok = sample("r1", "{}");
	struct store_audit_event bad = sample(NULL, "{}"); /* request_id is required */
	struct store_error se = {0};
	int64_t seq = 0;
	CHECK_INT(gw_audit_append(a, &ok, &seq, &se), STORE_OK);
	CHECK_INT(seq, 1);
	CHECK_INT(gw_audit_append(a, &bad, &seq, &se), STORE_ERR_INVALID);
	CHECK_INT(seq, 0);
	CHECK(strstr(se.message, "request_id") != NULL);
	CHECK_INT(gw_audit_append(a, &ok, &seq, &se), STORE_OK);
	CHECK_INT(seq, 2);
	gw_audit_close(a);
	struct gw_audit_report rep;
	CHECK_INT(gw_audit_verify(f.s, NULL, 0, 0, &rep, &ae), GW_AUDIT_OK);
	CHECK_INT(rep.records, 2);
	fx_close(&f);
}

static void checkpoints_come_every_n_records_and_at_close(void)
{
	struct fx f;
	fx_open(&f);
	EVP_PKEY *key = make_key(&f);
	struct gw_audit *a = NULL;
	struct gw_audit_error ae = {0};
	struct gw_audit_options o = {.key = key, .every = 3, .batch_max = 1};
	CHECK_INT(gw_audit_open(f.s, &o, &a, &ae), GW_AUDIT_OK);
	for (int i = 0; i < 7; i++) {
		struct store_audit_event ev = sample("r", "{}");
		struct store_error se = {0};
		CHECK_INT(gw_audit_append(a, &ev, NULL, &se), STORE_OK);
	}
	gw_audit_close(a);
	struct store_audit_checkpoint *cps = NULL;
	size_t n = 0;
	struct store_error se = {0};
	CHECK_INT(store_audit_checkpoints(f.s, &cps, &n, &se), STORE_OK);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_INT(cps[0].seq, 3);
		CHECK_INT(cps[1].seq, 6);
		CHECK_INT(cps[2].seq, 7);
	}
	free(cps);
	fx_close(&f);
}

static void an_idle_writer_checkpoints_when_the_interval_is_up(void)
{
	struct fx f;
	fx_open(&f);
	EVP_PKEY *key = make_key(&f);
	struct gw_audit *a = NULL;
	struct gw_audit_error ae = {0};
	struct gw_audit_options o = {.key = key, .interval_us = 50000};
	CHECK_INT(gw_audit_open(f.s, &o, &a, &ae), GW_AUDIT_OK);
	struct store_audit_event ev = sample("r", "{}");
	struct store_error se = {0};
	CHECK_INT(gw_audit_append(a, &ev, NULL, &se), STORE_OK);
	/* Poll (up to 10 s) for the committer's timed checkpoint. */
	int64_t seq = 0, t = 0;
	for (int i = 0; i < 1000 && seq == 0; i++) {
		CHECK_INT(store_audit_checkpoint_last(f.s, &seq, &t, &se), STORE_OK);
		if (seq == 0) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	CHECK_INT(seq, 1);
	gw_audit_close(a);
	fx_close(&f);
}

static void event_records_are_cloudtrail_shaped_and_refuse_bad_json(void)
{
	struct fx f;
	fx_open(&f);
	struct gw_config cfg;
	gw_config_defaults(&cfg);
	struct gw_server srv;
	memset(&srv, 0, sizeof(srv));
	srv.cfg = &cfg;
	srv.store = f.s;
	struct gw_audit_event ev = {
	    .event_source = "ecs-tasks.amazonaws.com",
	    .event_name = "IssueTaskCredentials",
	    .principal_arn = "arn:aws:sts::111122223333:assumed-role/app/task-1",
	    .access_key_id = "ASIAEXAMPLE",
	    .iam_action = "sts:AssumeRole",
	    .resource = "arn:aws:iam::111122223333:role/app",
	    .decision = "Allow",
	    .request_parameters = "{\"taskArn\":\"arn:aws:ecs:us-east-1:111122223333:task/c/1\"}",
	    .response_elements = "{\"expiration\":\"2026-11-30T10:00:00Z\"}",
	    .latency_us = -1,
	};
	int64_t seq = 0;
	struct store_error se = {0};
	CHECK_INT(gw_audit_record_event(&srv, &ev, &seq, &se), STORE_OK);
	CHECK_INT(seq, 1);
	struct store_audit_list l = {0};
	CHECK_INT(store_audit_read(f.s, 0, 10, &l, &se), STORE_OK);
	CHECK_INT(l.n, 1);
	if (l.n == 1) {
		const struct store_audit_event *r = &l.rows[0].ev;
		CHECK_STR(r->principal, ev.principal_arn);
		CHECK_STR(r->action, "sts:AssumeRole");
		CHECK_STR(r->decision, "Allow");
		CHECK(!r->has_status && !r->has_latency);
		CHECK_INT(strlen(r->request_id), 32);
		json_t *j = json_loads(r->record, 0, NULL);
		CHECK_STR(json_string_value(json_object_get(j, "eventType")), "AwsServiceEvent");
		CHECK_STR(json_string_value(json_object_get(j, "eventName")), "IssueTaskCredentials");
		CHECK_STR(json_string_value(json_object_get(j, "recordType")), "event");
		json_t *u = json_object_get(j, "userIdentity");
		CHECK_STR(json_string_value(json_object_get(u, "type")), "AssumedRole");
		CHECK_STR(json_string_value(json_object_get(u, "accessKeyId")), "ASIAEXAMPLE");
		CHECK_STR(json_string_value(json_object_get(
		              json_array_get(json_object_get(j, "resources"), 0), "ARN")),
		          "arn:aws:iam::111122223333:role/app");
		CHECK(json_is_object(json_object_get(j, "responseElements")));
		json_decref(j);
	}
	store_audit_list_free(&l);
	ev.request_parameters = "not json";
	CHECK_INT(gw_audit_record_event(&srv, &ev, &seq, &se), STORE_ERR_INVALID);
	ev.request_parameters = NULL;
	ev.event_name = NULL;
	CHECK_INT(gw_audit_record_event(&srv, &ev, &seq, &se), STORE_ERR_INVALID);
	int64_t count = 0, last = 0;
	CHECK_INT(store_audit_count(f.s, &count, &last, &se), STORE_OK);
	CHECK_INT(count, 1);
	fx_close(&f);
}

static void a_pruned_log_verifies_from_its_anchor_and_appends_after_it(void)
{
	struct fx f;
	fx_open(&f);
	EVP_PKEY *key = make_key(&f);
	struct gw_audit *a = NULL;
	struct gw_audit_error ae = {0};
	struct gw_audit_options o = {.key = key, .every = 4, .batch_max = 1};
	CHECK_INT(gw_audit_open(f.s, &o, &a, &ae), GW_AUDIT_OK);
	for (int i = 0; i < 10; i++) {
		struct store_audit_event ev = sample("r", "{}");
		ev.time_us += i * 1000000; /* one second apart */
		struct store_error se = {0};
		CHECK_INT(gw_audit_append(a, &ev, NULL, &se), STORE_OK);
	}
	gw_audit_close(a); /* checkpoints at 4, 8, 10 */
	int64_t anchor = 0, cp = 0, deleted = 0;
	struct store_error se = {0};
	/* Before the 7th record (time + 6 s): the newest checkpoint in range is
	 * at record 4. */
	CHECK_INT(store_audit_prune(f.s, 1700000000123456 + 6 * 1000000, &anchor, &cp, &deleted, &se),
	          STORE_OK);
	CHECK_INT(anchor, 4);
	CHECK_INT(cp, 1);
	CHECK_INT(deleted, 4);
	EVP_PKEY *pub = NULL;
	CHECK_INT(gw_audit_public_key_load(f.key, &pub, &ae), GW_AUDIT_OK);
	struct gw_audit_report rep;
	CHECK_INT(gw_audit_verify(f.s, pub, 0, 0, &rep, &ae), GW_AUDIT_OK);
	CHECK_INT(rep.records, 6);
	CHECK_INT(rep.first_seq, 5);
	CHECK_INT(rep.anchor_seq, 4);
	/* Appends go on after the newest record, not after the anchor. */
	struct store_audit_event ev = sample("r", "{}");
	int64_t seq = 0;
	CHECK_INT(store_audit_append_chained(f.s, &ev, 1, &gw_audit_hasher, &seq, NULL, &se),
	          STORE_OK);
	CHECK_INT(seq, 11);
	CHECK_INT(gw_audit_verify(f.s, pub, 0, 0, &rep, &ae), GW_AUDIT_OK);
	/* Pruning "everything" stops at the newest checkpoint (10): record 11
	 * has none yet, so it stays, and the chain goes on from it. */
	CHECK_INT(store_audit_prune(f.s, 1800000000000000, &anchor, &cp, &deleted, &se), STORE_OK);
	CHECK_INT(anchor, 10);
	CHECK_INT(deleted, 6);
	CHECK_INT(store_audit_append_chained(f.s, &ev, 1, &gw_audit_hasher, &seq, NULL, &se),
	          STORE_OK);
	CHECK_INT(seq, 12);
	CHECK_INT(gw_audit_verify(f.s, pub, 0, 0, &rep, &ae), GW_AUDIT_OK);
	CHECK_INT(rep.first_seq, 11);
	CHECK_INT(rep.records, 2);
	CHECK_INT(rep.anchor_seq, 10);
	EVP_PKEY_free(pub);
	fx_close(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"the canonical form is the documented bytes, and its SHA-256 the known answer",
	     canonical_form_is_the_documented_bytes},
	    {"every field, the seq and the previous hash change the hash",
	     every_field_changes_the_hash},
	    {"concurrent writers share transactions and leave one unbroken chain",
	     concurrent_writers_share_transactions_and_one_unbroken_chain},
	    {"a refused event writes nothing and the next one chains on",
	     a_refused_event_writes_nothing_and_the_next_one_chains_on},
	    {"checkpoints come every N records and at close",
	     checkpoints_come_every_n_records_and_at_close},
	    {"an idle writer checkpoints when the interval is up",
	     an_idle_writer_checkpoints_when_the_interval_is_up},
	    {"event records are CloudTrail-shaped and refuse bad JSON",
	     event_records_are_cloudtrail_shaped_and_refuse_bad_json},
	    {"a pruned log verifies from its anchor and appends after it",
	     a_pruned_log_verifies_from_its_anchor_and_appends_after_it},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
