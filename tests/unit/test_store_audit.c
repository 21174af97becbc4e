/*
 * test_store_audit.c - the typed functions over an open store: audit events
 * appended and read back field by field, their limits, the append-only rule,
 * many threads appending at once, meta get/set, and the health check.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_store_fixture.h"

#include <pthread.h>

static void test_append_and_read_back(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	struct store_audit_event ev = fx_event("req-0001");
	ev.decision = "ExplicitDeny";
	ev.status = 400;
	ev.error_code = "AccessDeniedException";
	ev.record = "{\"request_id\":\"req-0001\",\"decision\":\"ExplicitDeny\"}";
	int64_t seq = 0;
	struct store_error err;
	CHECK_INT(store_audit_append(s, &ev, &seq, &err), STORE_OK);
	CHECK_INT(seq, 1);

	struct store_audit_list list = {0};
	CHECK_INT(store_audit_read(s, 0, 10, &list, &err), STORE_OK);
	CHECK_INT(list.n, 1);
	if (list.n == 1) {
		const struct store_audit_row *r = &list.rows[0];
		CHECK_INT(r->seq, 1);
		CHECK_INT(r->ev.time_us, 1700000000000000LL);
		CHECK_STR(r->ev.request_id, "req-0001");
		CHECK_STR(r->ev.source_ip, "127.0.0.1");
		CHECK_STR(r->ev.principal, "arn:aws:iam::123456789012:role/deployer");
		CHECK_STR(r->ev.action, "ecs:RunTask");
		CHECK_STR(r->ev.decision, "ExplicitDeny");
		CHECK(r->ev.has_status);
		CHECK_INT(r->ev.status, 400);
		CHECK_STR(r->ev.error_code, "AccessDeniedException");
		CHECK(r->ev.has_latency);
		CHECK_INT(r->ev.latency_us, 1234);
		CHECK_STR(r->ev.record, ev.record);
	}
	store_audit_list_free(&list);
	CHECK(list.rows == NULL && list.n == 0);
	store_close(s);
	fx_done(&f);
}

static void test_optional_fields_absent(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_audit_event ev = {
	    .time_us = 1,
	    .request_id = "req-anon",
	    .record = "{}",
	};
	struct store_error err;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_OK);
	struct store_audit_list list = {0};
	CHECK_INT(store_audit_recent(s, 1, &list, &err), STORE_OK);
	CHECK_INT(list.n, 1);
	if (list.n == 1) {
		const struct store_audit_event *r = &list.rows[0].ev;
		CHECK(r->source_ip == NULL);
		CHECK(r->principal == NULL);
		CHECK(r->action == NULL);
		CHECK(r->decision == NULL);
		CHECK(r->error_code == NULL);
		CHECK(!r->has_status);
		CHECK(!r->has_latency);
		CHECK_STR(r->record, "{}");
	}
	store_audit_list_free(&list);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM audit_events WHERE principal IS NULL AND "
	                       "status IS NULL"),
	          1);
	store_close(s);
	fx_done(&f);
}

static void test_invalid_events_write_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;

	struct store_audit_event ev = fx_event(NULL);
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);
	CHECK(strstr(err.message, "request_id") != NULL);
	ev = fx_event("");
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);
	ev = fx_event("req");
	ev.record = NULL;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);
	CHECK(strstr(err.message, "record") != NULL);
	ev = fx_event("req");
	ev.time_us = 0;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);
	ev = fx_event("req");
	ev.latency_us = -5;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);
	CHECK_INT(store_audit_append(s, NULL, NULL, &err), STORE_ERR_INVALID);

	/* At the limit is accepted, one byte over is not. */
	char *big = malloc(STORE_AUDIT_RECORD_MAX + 2);
	memset(big, 'x', STORE_AUDIT_RECORD_MAX + 1);
	big[STORE_AUDIT_RECORD_MAX + 1] = '\0';
	ev = fx_event("req-big");
	ev.record = big;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);
	char principal[STORE_AUDIT_PRINCIPAL_MAX + 2];
	memset(principal, 'p', sizeof(principal) - 1);
	principal[sizeof(principal) - 1] = '\0';
	ev = fx_event("req-long-principal");
	ev.principal = principal;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_INVALID);

	int64_t count = -1;
	CHECK_INT(store_audit_count(s, &count, NULL, &err), STORE_OK);
	CHECK_INT(count, 0);

	big[STORE_AUDIT_RECORD_MAX] = '\0';
	ev = fx_event("req-big");
	ev.record = big;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_OK);
	principal[STORE_AUDIT_PRINCIPAL_MAX] = '\0';
	ev = fx_event("req-long-principal");
	ev.principal = principal;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_OK);
	CHECK_INT(store_audit_count(s, &count, NULL, &err), STORE_OK);
	CHECK_INT(count, 2);
	free(big);
	store_close(s);
	fx_done(&f);
}

static void test_append_only(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_audit_event ev = fx_event("req-1");
	CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	store_close(s);
	/* Even a direct SQL connection cannot edit or remove a row, while it can
	 * still read them. */
	CHECK(fx_sql(f.db, "UPDATE audit_events SET decision = 'Allow'") != SQLITE_OK);
	CHECK(fx_sql(f.db, "DELETE FROM audit_events") != SQLITE_OK);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM audit_events"), 1);
	char d[16];
	CHECK(fx_text(f.db, "SELECT decision FROM audit_events", d, sizeof(d)));
	CHECK_STR(d, "Allow");
	fx_done(&f);
}

static void test_read_paging_and_recent(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	for (int i = 1; i <= 25; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%02d", i);
		struct store_audit_event ev = fx_event(id);
		int64_t seq = 0;
		CHECK_INT(store_audit_append(s, &ev, &seq, &err), STORE_OK);
		CHECK_INT(seq, i);
	}
	int64_t count = 0, last = 0;
	CHECK_INT(store_audit_count(s, &count, &last, &err), STORE_OK);
	CHECK_INT(count, 25);
	CHECK_INT(last, 25);

	struct store_audit_list list = {0};
	CHECK_INT(store_audit_read(s, 10, 10, &list, &err), STORE_OK);
	CHECK_INT(list.n, 10);
	if (list.n == 10) {
		CHECK_INT(list.rows[0].seq, 11);
		CHECK_STR(list.rows[0].ev.request_id, "r11");
		CHECK_INT(list.rows[9].seq, 20);
	}
	store_audit_list_free(&list);
	CHECK_INT(store_audit_read(s, 20, 10, &list, &err), STORE_OK);
	CHECK_INT(list.n, 5);
	store_audit_list_free(&list);
	CHECK_INT(store_audit_read(s, 25, 10, &list, &err), STORE_OK);
	CHECK_INT(list.n, 0);
	store_audit_list_free(&list);

	CHECK_INT(store_audit_recent(s, 3, &list, &err), STORE_OK);
	CHECK_INT(list.n, 3);
	if (list.n == 3) {
		CHECK_INT(list.rows[0].seq, 25);
		CHECK_INT(list.rows[2].seq, 23);
	}
	store_audit_list_free(&list);

	CHECK_INT(store_audit_read(s, 0, 0, &list, &err), STORE_ERR_INVALID);
	CHECK_INT(store_audit_recent(s, 1001, &list, &err), STORE_ERR_INVALID);
	CHECK_INT(store_audit_recent(s, 1000, &list, &err), STORE_OK);
	CHECK_INT(list.n, 25);
	store_audit_list_free(&list);
	store_close(s);
	fx_done(&f);
}

static void test_append_durable_across_reopen(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_audit_event ev = fx_event("req-durable");
	CHECK_INT(store_audit_append(s, &ev, NULL, NULL), STORE_OK);
	/* Another connection sees it while the store is still open (committed,
	 * not sitting in a transaction). */
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM audit_events WHERE request_id = "
	                       "'req-durable'"),
	          1);
	store_close(s);
	s = fx_open(f.db, NULL);
	int64_t count = 0;
	CHECK_INT(store_audit_count(s, &count, NULL, NULL), STORE_OK);
	CHECK_INT(count, 1);
	store_close(s);
	fx_done(&f);
}

#define THREADS    8
#define PER_THREAD 250

struct worker {
	struct store *s;
	int id;
	int failures;
};

static void *append_many(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char id[32];
		snprintf(id, sizeof(id), "t%d-%d", w->id, i);
		struct store_audit_event ev = fx_event(id);
		struct store_error err;
		int64_t seq = 0;
		if (store_audit_append(w->s, &ev, &seq, &err) != STORE_OK || seq <= 0)
			w->failures++;
		/* Readers interleave with writers on the same store. */
		if (i % 50 == 0) {
			int64_t count = 0;
			if (store_audit_count(w->s, &count, NULL, &err) != STORE_OK)
				w->failures++;
		}
	}
	return NULL;
}

static void test_concurrent_appends(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.s = s, .id = i};
		CHECK(pthread_create(&t[i], NULL, append_many, &w[i]) == 0);
	}
	int failures = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	CHECK_INT(failures, 0);
	int64_t count = 0, last = 0;
	CHECK_INT(store_audit_count(s, &count, &last, NULL), STORE_OK);
	CHECK_INT(count, THREADS * PER_THREAD);
	CHECK_INT(last, THREADS * PER_THREAD);
	store_close(s);
	CHECK_INT(fx_int(f.db, "SELECT count(DISTINCT request_id) FROM audit_events"),
	          THREADS * PER_THREAD);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM audit_events WHERE request_id = 't7-249'"), 1);
	fx_done(&f);
}

static void test_meta_get_set(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	char v[16];
	size_t n = 0;
	CHECK_INT(store_meta_get(s, "audit.key_id", v, sizeof(v), &n, &err), STORE_ERR_NOT_FOUND);
	CHECK(strstr(err.message, "audit.key_id") != NULL);
	CHECK_INT(store_meta_set(s, "audit.key_id", "k1", &err), STORE_OK);
	CHECK_INT(store_meta_set(s, "audit.key_id", "k2", &err), STORE_OK);
	CHECK_INT(store_meta_get(s, "audit.key_id", v, sizeof(v), &n, &err), STORE_OK);
	CHECK_STR(v, "k2");
	CHECK_INT(n, 2);

	/* A buffer too small says how much is needed and copies nothing. */
	CHECK_INT(store_meta_set(s, "long", "0123456789abcdefXYZ", &err), STORE_OK);
	CHECK_INT(store_meta_get(s, "long", v, sizeof(v), &n, &err), STORE_ERR_INVALID);
	CHECK_INT(n, 19);
	CHECK_STR(v, "");

	/* Keys are names chosen in code, not arbitrary bytes. */
	CHECK_INT(store_meta_set(s, "Bad Key", "x", &err), STORE_ERR_INVALID);
	CHECK_INT(store_meta_set(s, "", "x", &err), STORE_ERR_INVALID);
	CHECK_INT(store_meta_set(s, "k'; DROP TABLE meta; --", "x", &err), STORE_ERR_INVALID);
	CHECK_INT(store_meta_set(s, "k", NULL, &err), STORE_ERR_INVALID);
	CHECK_INT(store_meta_get(s, NULL, v, sizeof(v), &n, &err), STORE_ERR_INVALID);
	/* Values are data: quotes and SQL pass through as text. */
	CHECK_INT(store_meta_set(s, "quoted", "it's'); DROP TABLE meta; --", &err), STORE_OK);
	char q[64];
	CHECK_INT(store_meta_get(s, "quoted", q, sizeof(q), NULL, &err), STORE_OK);
	CHECK_STR(q, "it's'); DROP TABLE meta; --");
	store_close(s);
	fx_done(&f);
}

static void test_health(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_health h;
	CHECK_INT(store_health(s, &h), STORE_OK);
	CHECK(h.ok);
	CHECK_INT(h.schema_version, store_schema_version_latest());
	CHECK_STR(h.journal_mode, "wal");
	CHECK_STR(h.message, "ok");

	/* Behind the store's back, the schema moves on: health says so. */
	CHECK_INT(fx_sql(f.db, "INSERT INTO schema_migrations VALUES (99, 'x', 'now')"), SQLITE_OK);
	CHECK(store_health(s, &h) != STORE_OK);
	CHECK(!h.ok);
	CHECK_INT(h.schema_version, 99);
	CHECK(strstr(h.message, "99") != NULL);
	store_close(s);
	CHECK(store_health(NULL, &h) != STORE_OK);
	CHECK(!h.ok);
	fx_done(&f);
}

static void test_busy_when_another_process_writes(void)
{
	struct fx f;
	fx_init(&f);
	struct store_options opts = {.busy_timeout_ms = 100};
	struct store *s = fx_open(f.db, &opts);
	CHECK(s != NULL);
	/* Another connection (as another process would) holds the write lock. */
	sqlite3 *other = NULL;
	CHECK(sqlite3_open_v2(f.db, &other, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	struct store_audit_event ev = fx_event("req-blocked");
	struct store_error err;
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_ERR_BUSY);
	CHECK(strstr(err.message, f.db) != NULL);
	/* Reads go on beside the writer (WAL). */
	int64_t count = -1;
	CHECK_INT(store_audit_count(s, &count, NULL, &err), STORE_OK);
	CHECK_INT(count, 0);
	/* Once the lock is released, the same append goes through. */
	CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(other);
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_OK);
	store_close(s);
	fx_done(&f);
}

static const struct check_case cases[] = {
    {"an appended audit event reads back with every field", test_append_and_read_back},
    {"absent optional fields are stored as NULL and read back as absent",
     test_optional_fields_absent},
    {"an event missing its id or record, or over a limit, is refused and writes nothing; "
     "at the limit it is stored",
     test_invalid_events_write_nothing},
    {"audit rows cannot be updated or deleted, even through SQL", test_append_only},
    {"audit rows page forward from a seq and the most recent come newest first",
     test_read_paging_and_recent},
    {"an appended event is committed at once and survives a reopen",
     test_append_durable_across_reopen},
    {"concurrent appends from eight threads all land with distinct seqs", test_concurrent_appends},
    {"an append while another process holds the write lock is BUSY after the timeout, and "
     "succeeds once it is released",
     test_busy_when_another_process_writes},
    {"meta values are set, replaced and read back; bad keys and small buffers are refused",
     test_meta_get_set},
    {"health reports the schema version and WAL, and notices a schema it does not expect",
     test_health},
};

CHECK_MAIN(cases)
