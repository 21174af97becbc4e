/*
 * test_store_taskcreds.c - task credentials rows and metadata ids
 * (store/taskcreds.c) on real files: all-or-nothing puts, lookups by id hash,
 * compare-and-swap renewal, revocation and the purge.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_store_fixture.h"

static unsigned char sealed[] = {1, 2, 3, 4, 5, 6, 7, 8};

static struct store_taskcred cred(unsigned char idbyte, const char *task, const char *kind,
                                  const char *key)
{
	struct store_taskcred c = {
	    .task_arn = (char *)task,
	    .cluster_arn = (char *)"arn:aws:ecs:us-east-1:111122223333:cluster/default",
	    .kind = (char *)kind,
	    .role_arn = (char *)"arn:aws:iam::111122223333:role/app",
	    .access_key_id = (char *)key,
	    .sealed_token = sealed,
	    .sealed_token_n = sizeof(sealed),
	    .issued_at = 1000,
	    .expires_at = 4600,
	    .renew_at = 2800,
	};
	memset(c.id_sha256, idbyte, 32);
	return c;
}

static struct store_taskmeta meta(const char *id, const char *task, const char *container)
{
	struct store_taskmeta m = {
	    .id = (char *)id,
	    .task_arn = (char *)task,
	    .cluster_arn = (char *)"arn:aws:ecs:us-east-1:111122223333:cluster/default",
	    .container_name = (char *)container,
	    .created_at = 1000,
	};
	return m;
}

#define TASK_A "arn:aws:ecs:us-east-1:111122223333:task/default/aaaa"
#define TASK_B "arn:aws:ecs:us-east-1:111122223333:task/default/bbbb"
#define MID1   "0123456789abcdef0123456789abcdef"
#define MID2   "fedcba9876543210fedcba9876543210"

static void test_put_get_and_reopen(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_taskcred c[2] = {cred(1, TASK_A, "task", "ASIAAAAAAAAAAAAAAAA1"),
	                              cred(2, TASK_A, "execution", "ASIAAAAAAAAAAAAAAAA2")};
	c[0].has_auth = true;
	memset(c[0].auth_sha256, 9, 32);
	struct store_taskmeta m[2] = {meta(MID1, TASK_A, "web"), meta(MID2, TASK_A, "log")};
	CHECK_INT(store_taskcred_put(s, c, 2, m, 2, &err), STORE_OK);
	store_close(s);
	s = fx_open(f.db, NULL);
	unsigned char id[32];
	memset(id, 1, 32);
	struct store_taskcred got;
	CHECK_INT(store_taskcred_get(s, id, &got, &err), STORE_OK);
	CHECK_STR(got.task_arn, TASK_A);
	CHECK_STR(got.kind, "task");
	CHECK_STR(got.access_key_id, "ASIAAAAAAAAAAAAAAAA1");
	CHECK_INT(got.sealed_token_n, sizeof(sealed));
	CHECK(got.has_auth && got.auth_sha256[5] == 9);
	CHECK_INT(got.renew_at, 2800);
	CHECK_INT(got.revoked_at, 0);
	store_taskcred_free(&got);
	memset(id, 2, 32);
	CHECK_INT(store_taskcred_get(s, id, &got, &err), STORE_OK);
	CHECK(!got.has_auth);
	store_taskcred_free(&got);
	memset(id, 3, 32);
	CHECK_INT(store_taskcred_get(s, id, &got, &err), STORE_ERR_NOT_FOUND);

	struct store_taskmeta gm;
	CHECK_INT(store_taskmeta_get(s, MID2, &gm, &err), STORE_OK);
	CHECK_STR(gm.container_name, "log");
	CHECK_STR(gm.task_arn, TASK_A);
	store_taskmeta_free(&gm);
	CHECK_INT(store_taskmeta_get(s, "nope", &gm, &err), STORE_ERR_NOT_FOUND);
	struct store_taskmeta *all = NULL;
	size_t n = 0;
	CHECK_INT(store_taskmeta_for_task(s, TASK_A, &all, &n, &err), STORE_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(all[0].container_name, "web");
		store_taskmeta_free(&all[0]);
		store_taskmeta_free(&all[1]);
	}
	free(all);
	struct store_taskcred two[2];
	CHECK_INT(store_taskcred_for_task(s, TASK_A, two, 2, &n, &err), STORE_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(two[0].kind, "task");
		store_taskcred_free(&two[0]);
		store_taskcred_free(&two[1]);
	}
	store_close(s);
	fx_done(&f);
}

static void test_put_is_all_or_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_taskcred a = cred(1, TASK_A, "task", "ASIAAAAAAAAAAAAAAAA1");
	CHECK_INT(store_taskcred_put(s, &a, 1, NULL, 0, &err), STORE_OK);
	/* B's metadata id is new, but its credentials id collides with A's */
	struct store_taskcred b = cred(1, TASK_B, "task", "ASIAAAAAAAAAAAAAAAB1");
	struct store_taskmeta mb = meta(MID1, TASK_B, "web");
	CHECK_INT(store_taskcred_put(s, &b, 1, &mb, 1, &err), STORE_ERR_CONFLICT);
	struct store_taskmeta gm;
	CHECK_INT(store_taskmeta_get(s, MID1, &gm, &err), STORE_ERR_NOT_FOUND);
	/* a second task-role row for the same task */
	struct store_taskcred a2 = cred(7, TASK_A, "task", "ASIAAAAAAAAAAAAAAAA7");
	CHECK_INT(store_taskcred_put(s, &a2, 1, NULL, 0, &err), STORE_ERR_CONFLICT);
	/* invalid rows are refused before anything is written */
	struct store_taskcred bad = cred(8, TASK_B, "other", "ASIAAAAAAAAAAAAAAAB8");
	CHECK_INT(store_taskcred_put(s, &bad, 1, NULL, 0, &err), STORE_ERR_INVALID);
	bad = cred(8, TASK_B, "task", "ASIASHORT");
	CHECK_INT(store_taskcred_put(s, &bad, 1, NULL, 0, &err), STORE_ERR_INVALID);
	struct store_taskmeta mshort = meta("short", TASK_B, "web");
	CHECK_INT(store_taskcred_put(s, NULL, 0, &mshort, 1, &err), STORE_ERR_INVALID);
	store_close(s);
	fx_done(&f);
}

static void test_rotate_is_compare_and_swap(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_taskcred a = cred(1, TASK_A, "task", "ASIAAAAAAAAAAAAAAAA1");
	CHECK_INT(store_taskcred_put(s, &a, 1, NULL, 0, &err), STORE_OK);
	unsigned char tok[] = {9, 9, 9};
	CHECK_INT(store_taskcred_rotate(s, a.id_sha256, "ASIAAAAAAAAAAAAAAAA1",
	                                "ASIAAAAAAAAAAAAAAAN1", tok, 3, 2000, 5600, 3800, &err),
	          STORE_OK);
	/* a second renewal from the same old key lost the race */
	CHECK_INT(store_taskcred_rotate(s, a.id_sha256, "ASIAAAAAAAAAAAAAAAA1",
	                                "ASIAAAAAAAAAAAAAAAN2", tok, 3, 2000, 5600, 3800, &err),
	          STORE_ERR_CONFLICT);
	struct store_taskcred got;
	CHECK_INT(store_taskcred_get(s, a.id_sha256, &got, &err), STORE_OK);
	CHECK_STR(got.access_key_id, "ASIAAAAAAAAAAAAAAAN1");
	CHECK_INT(got.sealed_token_n, 3);
	CHECK_INT(got.expires_at, 5600);
	store_taskcred_free(&got);
	store_close(s);
	fx_done(&f);
}

static void test_revoke_and_purge(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	struct store_error err;
	struct store_taskcred c[2] = {cred(1, TASK_A, "task", "ASIAAAAAAAAAAAAAAAA1"),
	                              cred(2, TASK_A, "execution", "ASIAAAAAAAAAAAAAAAA2")};
	struct store_taskmeta m = meta(MID1, TASK_A, "web");
	CHECK_INT(store_taskcred_put(s, c, 2, &m, 1, &err), STORE_OK);
	struct store_taskcred b = cred(3, TASK_B, "task", "ASIAAAAAAAAAAAAAAAB1");
	CHECK_INT(store_taskcred_put(s, &b, 1, NULL, 0, &err), STORE_OK);
	int64_t n = 0;
	CHECK_INT(store_taskcred_revoke_task(s, TASK_A, 5000, &n, &err), STORE_OK);
	CHECK_INT(n, 2);
	CHECK_INT(store_taskcred_revoke_task(s, TASK_A, 6000, &n, &err), STORE_OK);
	CHECK_INT(n, 0);
	struct store_taskcred got;
	CHECK_INT(store_taskcred_get(s, c[0].id_sha256, &got, &err), STORE_OK);
	CHECK_INT(got.revoked_at, 5000);
	store_taskcred_free(&got);
	/* a revoked row cannot be renewed */
	unsigned char tok[] = {1};
	CHECK_INT(store_taskcred_rotate(s, c[0].id_sha256, "ASIAAAAAAAAAAAAAAAA1",
	                                "ASIAAAAAAAAAAAAAAAN1", tok, 1, 2000, 5600, 3800, &err),
	          STORE_ERR_CONFLICT);
	CHECK_INT(store_taskcred_purge(s, 4999, &n, &err), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(store_taskcred_purge(s, 5000, &n, &err), STORE_OK);
	CHECK_INT(n, 2);
	CHECK_INT(store_taskcred_get(s, c[0].id_sha256, &got, &err), STORE_ERR_NOT_FOUND);
	struct store_taskmeta gm;
	CHECK_INT(store_taskmeta_get(s, MID1, &gm, &err), STORE_ERR_NOT_FOUND);
	CHECK_INT(store_taskcred_get(s, b.id_sha256, &got, &err), STORE_OK);
	store_taskcred_free(&got);
	store_close(s);
	fx_done(&f);
}

static const struct check_case cases[] = {
    {"a task's credentials rows and metadata ids are stored and found again after reopening",
     test_put_get_and_reopen},
    {"a put with one bad or colliding row writes nothing", test_put_is_all_or_nothing},
    {"renewal swaps the key only while the row still names the old one",
     test_rotate_is_compare_and_swap},
    {"revoking stamps every row of the task once; the purge removes them and their ids",
     test_revoke_and_purge},
};

CHECK_MAIN(cases)
