/*
 * test_store_sched.c - the scheduler's object table (store/sched.c): insert,
 * versioned replace, lookups and filtered lists, on real files.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_store_fixture.h"

static struct store_sched_obj obj(enum store_sched_kind kind, const char *arn, const char *cluster,
                                  const char *name, const char *status)
{
	struct store_sched_obj o = {
	    .kind = kind,
	    .arn = (char *)arn,
	    .cluster = (char *)cluster,
	    .name = (char *)name,
	    .status = (char *)status,
	    .grp = (char *)"",
	    .parent = (char *)"",
	    .doc = (char *)"{\"a\":1}",
	};
	return o;
}

static void test_insert_get_and_reopen(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	struct store_error err;
	struct store_sched_obj o = obj(STORE_SCHED_CLUSTER, "arn:c/a", "", "a", "ACTIVE");
	int64_t seq = 0, ver = 0;
	CHECK_INT(store_sched_put(s, &o, 0, &seq, &ver, &err), STORE_OK);
	CHECK(seq > 0);
	CHECK_INT(ver, 1);
	store_close(s);
	s = fx_open(f.db, NULL);
	struct store_sched_obj got;
	CHECK_INT(store_sched_get(s, "arn:c/a", &got, &err), STORE_OK);
	CHECK_STR(got.name, "a");
	CHECK_STR(got.doc, "{\"a\":1}");
	CHECK_INT(got.kind, STORE_SCHED_CLUSTER);
	CHECK_INT(got.seq, seq);
	store_sched_obj_free(&got);
	CHECK_INT(store_sched_get(s, "arn:c/none", &got, &err), STORE_ERR_NOT_FOUND);
	store_close(s);
	fx_done(&f);
}

static void test_insert_twice_conflicts(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_sched_obj o = obj(STORE_SCHED_CLUSTER, "arn:c/a", "", "a", "ACTIVE");
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_OK);
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_ERR_CONFLICT);
	store_close(s);
	fx_done(&f);
}

static void test_replace_needs_current_version(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_sched_obj o = obj(STORE_SCHED_TASK, "arn:t/1", "arn:c/a", "1", "PENDING");
	int64_t seq = 0, ver = 0, seq2 = 0;
	CHECK_INT(store_sched_put(s, &o, 0, &seq, &ver, &err), STORE_OK);
	o.status = (char *)"RUNNING";
	CHECK_INT(store_sched_put(s, &o, 1, &seq2, &ver, &err), STORE_OK);
	CHECK_INT(ver, 2);
	CHECK_INT(seq2, seq); /* a replace keeps the object's place in lists */
	o.status = (char *)"STOPPED";
	CHECK_INT(store_sched_put(s, &o, 1, NULL, NULL, &err), STORE_ERR_CONFLICT);
	struct store_sched_obj got;
	CHECK_INT(store_sched_get(s, "arn:t/1", &got, &err), STORE_OK);
	CHECK_STR(got.status, "RUNNING");
	store_sched_obj_free(&got);
	struct store_sched_obj absent = obj(STORE_SCHED_TASK, "arn:t/2", "arn:c/a", "2", "PENDING");
	CHECK_INT(store_sched_put(s, &absent, 1, NULL, NULL, &err), STORE_ERR_NOT_FOUND);
	store_close(s);
	fx_done(&f);
}

static void test_put_many_is_all_or_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_sched_obj two[2] = {
	    obj(STORE_SCHED_TASK, "arn:t/1", "arn:c/a", "1", "PENDING"),
	    obj(STORE_SCHED_TASK, "arn:t/1", "arn:c/a", "1", "PENDING"),
	};
	CHECK_INT(store_sched_put_many(s, two, NULL, 2, &err), STORE_ERR_CONFLICT);
	struct store_sched_obj got;
	CHECK_INT(store_sched_get(s, "arn:t/1", &got, &err), STORE_ERR_NOT_FOUND);
	two[1].arn = (char *)"arn:t/2";
	CHECK_INT(store_sched_put_many(s, two, NULL, 2, &err), STORE_OK);
	CHECK_INT(store_sched_get(s, "arn:t/2", &got, &err), STORE_OK);
	store_sched_obj_free(&got);
	store_close(s);
	fx_done(&f);
}

static void test_query_filters_and_pages(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	const char *arns[] = {"arn:t/1", "arn:t/2", "arn:t/3", "arn:t/4"};
	for (int i = 0; i < 4; i++) {
		struct store_sched_obj o =
		    obj(STORE_SCHED_TASK, arns[i], i < 3 ? "arn:c/a" : "arn:c/b", arns[i] + 6,
		        i == 1 ? "STOPPED" : "RUNNING");
		CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_OK);
	}
	struct store_sched_list l;
	struct store_sched_filter q = {.kind = STORE_SCHED_TASK, .cluster = "arn:c/a"};
	CHECK_INT(store_sched_query(s, &q, &l, &err), STORE_OK);
	CHECK_INT(l.n, 3);
	store_sched_list_free(&l);
	q.not_status = "STOPPED";
	CHECK_INT(store_sched_query(s, &q, &l, &err), STORE_OK);
	CHECK_INT(l.n, 2);
	store_sched_list_free(&l);
	q.not_status = NULL;
	q.limit = 2;
	CHECK_INT(store_sched_query(s, &q, &l, &err), STORE_OK);
	CHECK_INT(l.n, 2);
	int64_t after = l.n == 2 ? l.objs[1].seq : 0;
	store_sched_list_free(&l);
	q.after_seq = after;
	CHECK_INT(store_sched_query(s, &q, &l, &err), STORE_OK);
	CHECK_INT(l.n, 1);
	if (l.n == 1)
		CHECK_STR(l.objs[0].arn, "arn:t/3");
	store_sched_list_free(&l);
	struct store_sched_filter other = {.kind = STORE_SCHED_CLUSTER};
	CHECK_INT(store_sched_query(s, &other, &l, &err), STORE_OK);
	CHECK_INT(l.n, 0);
	store_close(s);
	fx_done(&f);
}

static void test_max_revision_counts_every_revision(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	int64_t rev = -1;
	CHECK_INT(store_sched_max_revision(s, "web", &rev, &err), STORE_OK);
	CHECK_INT(rev, 0);
	struct store_sched_obj o =
	    obj(STORE_SCHED_TASK_DEFINITION, "arn:td/web:7", "", "web", "INACTIVE");
	o.revision = 7;
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_OK);
	CHECK_INT(store_sched_max_revision(s, "web", &rev, &err), STORE_OK);
	CHECK_INT(rev, 7);
	CHECK_INT(store_sched_max_revision(s, "we", &rev, &err), STORE_OK);
	CHECK_INT(rev, 0);
	store_close(s);
	fx_done(&f);
}

static void test_refuses_bad_objects(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_sched_obj o = obj(STORE_SCHED_CLUSTER, "arn:c/a", "", "a", "ACTIVE");
	o.doc = (char *)"[1]";
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_ERR_INVALID);
	o.doc = (char *)"{\"a\":";
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_ERR_INVALID);
	o.doc = (char *)"{}";
	o.arn = (char *)"";
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_ERR_INVALID);
	o.arn = (char *)"arn:c/a";
	o.kind = (enum store_sched_kind)9;
	CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_ERR_INVALID);
	struct store_sched_obj got;
	CHECK_INT(store_sched_get(s, "arn:c/a", &got, &err), STORE_ERR_NOT_FOUND);
	store_close(s);
	fx_done(&f);
}

static void test_put_batch_gives_seqs_and_versions(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_sched_obj inst =
	    obj(STORE_SCHED_CONTAINER_INSTANCE, "arn:i/1", "arn:c/a", "i1", "ACTIVE");
	int64_t iseq = 0;
	CHECK_INT(store_sched_put(s, &inst, 0, &iseq, NULL, &err), STORE_OK);
	/* a new task and its instance's new version, together */
	struct store_sched_obj two[2] = {
	    obj(STORE_SCHED_TASK, "arn:t/1", "arn:c/a", "1", "PENDING"),
	    inst,
	};
	int64_t expect[2] = {0, 1}, seqs[2] = {0, 0}, vers[2] = {0, 0};
	CHECK_INT(store_sched_put_batch(s, two, expect, 2, seqs, vers, &err), STORE_OK);
	CHECK(seqs[0] > iseq);
	CHECK_INT(seqs[1], iseq);
	CHECK_INT(vers[0], 1);
	CHECK_INT(vers[1], 2);
	/* a stale instance version refuses the task as well */
	two[0].arn = (char *)"arn:t/2";
	CHECK_INT(store_sched_put_batch(s, two, expect, 2, seqs, vers, &err), STORE_ERR_CONFLICT);
	struct store_sched_obj got;
	CHECK_INT(store_sched_get(s, "arn:t/2", &got, &err), STORE_ERR_NOT_FOUND);
	CHECK_INT(store_sched_get(s, "arn:i/1", &got, &err), STORE_OK);
	CHECK_INT(got.version, 2);
	store_sched_obj_free(&got);
	store_close(s);
	fx_done(&f);
}

static void test_count_uses_the_query_filters(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	const char *st[] = {"RUNNING", "RUNNING", "PENDING", "STOPPED"};
	for (int i = 0; i < 4; i++) {
		char arn[32], name[16];
		snprintf(arn, sizeof(arn), "arn:t/%d", i);
		snprintf(name, sizeof(name), "%d", i);
		struct store_sched_obj o =
		    obj(STORE_SCHED_TASK, arn, i < 3 ? "arn:c/a" : "arn:c/b", name, st[i]);
		CHECK_INT(store_sched_put(s, &o, 0, NULL, NULL, &err), STORE_OK);
	}
	int64_t n = -1;
	struct store_sched_filter f1 = {.kind = STORE_SCHED_TASK};
	CHECK_INT(store_sched_count(s, &f1, &n, &err), STORE_OK);
	CHECK_INT(n, 4);
	struct store_sched_filter f2 = {
	    .kind = STORE_SCHED_TASK, .cluster = "arn:c/a", .status = "RUNNING"};
	CHECK_INT(store_sched_count(s, &f2, &n, &err), STORE_OK);
	CHECK_INT(n, 2);
	struct store_sched_filter f3 = {.kind = STORE_SCHED_TASK, .not_status = "STOPPED"};
	CHECK_INT(store_sched_count(s, &f3, &n, &err), STORE_OK);
	CHECK_INT(n, 3);
	struct store_sched_filter f4 = {.kind = STORE_SCHED_CLUSTER};
	CHECK_INT(store_sched_count(s, &f4, &n, &err), STORE_OK);
	CHECK_INT(n, 0);
	struct store_sched_filter bad = {.kind = (enum store_sched_kind)9};
	CHECK_INT(store_sched_count(s, &bad, &n, &err), STORE_ERR_INVALID);
	store_close(s);
	fx_done(&f);
}

static void test_task_definitions_by_name_and_revision(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	/* registered out of order: b:1, a:1, b:2, a:2, ab:1 (a:2 INACTIVE) */
	const char *names[] = {"b", "a", "b", "a", "ab"};
	int revs[] = {1, 1, 2, 2, 1};
	int64_t seqs[5];
	for (int i = 0; i < 5; i++) {
		char arn[32];
		snprintf(arn, sizeof(arn), "arn:td/%s:%d", names[i], revs[i]);
		struct store_sched_obj o = obj(STORE_SCHED_TASK_DEFINITION, arn, "", names[i],
		                               i == 3 ? "INACTIVE" : "ACTIVE");
		o.revision = revs[i];
		CHECK_INT(store_sched_put(s, &o, 0, &seqs[i], NULL, &err), STORE_OK);
	}
	struct store_sched_filter fl = {
	    .kind = STORE_SCHED_TASK_DEFINITION, .cluster = "", .by_name_revision = true};
	struct store_sched_list l;
	CHECK_INT(store_sched_query(s, &fl, &l, &err), STORE_OK);
	CHECK_INT(l.n, 5);
	const char *want[] = {"arn:td/a:1", "arn:td/a:2", "arn:td/ab:1", "arn:td/b:1",
	                      "arn:td/b:2"};
	for (size_t i = 0; i < l.n && i < 5; i++)
		CHECK_STR(l.objs[i].arn, want[i]);
	store_sched_list_free(&l);
	fl.after_name = "a";
	fl.after_revision = 2;
	fl.limit = 2;
	CHECK_INT(store_sched_query(s, &fl, &l, &err), STORE_OK);
	CHECK_INT(l.n, 2);
	if (l.n == 2)
		CHECK_STR(l.objs[0].arn, "arn:td/ab:1");
	store_sched_list_free(&l);
	fl.newest_first = true;
	fl.after_name = "b";
	fl.after_revision = 1;
	fl.status = "ACTIVE";
	fl.limit = 0;
	CHECK_INT(store_sched_query(s, &fl, &l, &err), STORE_OK);
	CHECK_INT(l.n, 2); /* ab:1, a:1 (a:2 is INACTIVE) */
	if (l.n == 2) {
		CHECK_STR(l.objs[0].arn, "arn:td/ab:1");
		CHECK_STR(l.objs[1].arn, "arn:td/a:1");
	}
	store_sched_list_free(&l);

	/* one family, newest first, from the start */
	struct store_sched_filter one = {.kind = STORE_SCHED_TASK_DEFINITION,
	                                 .cluster = "",
	                                 .name = "b",
	                                 .newest_first = true,
	                                 .by_name_revision = true};
	CHECK_INT(store_sched_query(s, &one, &l, &err), STORE_OK);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		CHECK_STR(l.objs[0].arn, "arn:td/b:2");
		CHECK_STR(l.objs[1].arn, "arn:td/b:1");
	}
	store_sched_list_free(&l);
	/* this order takes a cluster and no other filters */
	one.cluster = NULL;
	CHECK_INT(store_sched_query(s, &one, &l, &err), STORE_ERR_INVALID);
	one.cluster = "";
	one.parent = "x";
	CHECK_INT(store_sched_query(s, &one, &l, &err), STORE_ERR_INVALID);

	struct store_sched_obj got;
	CHECK_INT(store_sched_get_seq(s, seqs[2], &got, &err), STORE_OK);
	CHECK_STR(got.arn, "arn:td/b:2");
	store_sched_obj_free(&got);
	CHECK_INT(store_sched_get_seq(s, 999, &got, &err), STORE_ERR_NOT_FOUND);

	struct store_sched_families fam;
	CHECK_INT(store_sched_families(s, NULL, STORE_FAMILIES_ALL, NULL, 10, &fam, &err),
	          STORE_OK);
	CHECK_INT(fam.n, 3);
	CHECK_STR(fam.v[0].name, "a");
	CHECK_INT(fam.v[0].first_seq, seqs[1]);
	CHECK(fam.v[0].active);
	store_sched_families_free(&fam);
	CHECK_INT(store_sched_families(s, "a", STORE_FAMILIES_ALL, "a", 10, &fam, &err), STORE_OK);
	CHECK_INT(fam.n, 1);
	CHECK_STR(fam.v[0].name, "ab");
	store_sched_families_free(&fam);
	CHECK_INT(store_sched_families(s, NULL, STORE_FAMILIES_INACTIVE, NULL, 10, &fam, &err),
	          STORE_OK);
	CHECK_INT(fam.n, 0); /* a has an ACTIVE revision left */
	store_sched_families_free(&fam);
	CHECK_INT(store_sched_families(s, NULL, STORE_FAMILIES_ALL, NULL, 0, &fam, &err),
	          STORE_ERR_INVALID);
	store_close(s);
	fx_done(&f);
}

static void test_delete_versioned(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_sched_obj a = obj(STORE_SCHED_TASK, "arn:t/a", "arn:c/x", "a", "STOPPED");
	struct store_sched_obj b = obj(STORE_SCHED_TASK, "arn:t/b", "arn:c/x", "b", "STOPPED");
	int64_t seq_b = 0;
	CHECK_INT(store_sched_put(s, &a, 0, NULL, NULL, &err), STORE_OK);
	CHECK_INT(store_sched_put(s, &b, 0, &seq_b, NULL, &err), STORE_OK);
	CHECK_INT(store_sched_delete(s, "arn:t/b", 2, &err), STORE_ERR_CONFLICT);
	CHECK_INT(store_sched_delete(s, "arn:t/none", 1, &err), STORE_ERR_NOT_FOUND);
	CHECK_INT(store_sched_delete(s, "arn:t/b", 1, &err), STORE_OK);
	struct store_sched_obj got;
	CHECK_INT(store_sched_get(s, "arn:t/b", &got, &err), STORE_ERR_NOT_FOUND);
	CHECK_INT(store_sched_get(s, "arn:t/a", &got, &err), STORE_OK);
	store_sched_obj_free(&got);
	/* the deleted row's seq is not given to the next object */
	struct store_sched_obj c = obj(STORE_SCHED_TASK, "arn:t/c", "arn:c/x", "c", "RUNNING");
	int64_t seq_c = 0;
	CHECK_INT(store_sched_put(s, &c, 0, &seq_c, NULL, &err), STORE_OK);
	CHECK(seq_c > seq_b);
	store_close(s);
	fx_done(&f);
}

static const struct check_case cases[] = {
    {"an inserted object reads back whole after reopening the file", test_insert_get_and_reopen},
    {"inserting an ARN that exists is a conflict", test_insert_twice_conflicts},
    {"a delete names the version it read; seqs are not reused", test_delete_versioned},
    {"a replace succeeds with the current version and conflicts with a stale one",
     test_replace_needs_current_version},
    {"put_many writes all objects or none", test_put_many_is_all_or_nothing},
    {"put_batch gives back seqs and versions; a stale version refuses the whole batch",
     test_put_batch_gives_seqs_and_versions},
    {"count takes the query's filters", test_count_uses_the_query_filters},
    {"task definitions list by name and revision from a keyset, get by seq, families",
     test_task_definitions_by_name_and_revision},
    {"queries filter by cluster and status and page by seq", test_query_filters_and_pages},
    {"the max revision of a family counts inactive revisions and only that family",
     test_max_revision_counts_every_revision},
    {"objects with a non-object doc, an empty ARN or an unknown kind are refused",
     test_refuses_bad_objects},
};

CHECK_MAIN(cases)
