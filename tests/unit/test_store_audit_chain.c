/*
 * test_store_audit_chain.c - the store's half of the hash chain: chained
 * appends read the head and insert inside one transaction (so threads never
 * fork the chain), batches are all or nothing, checkpoints are stored with the
 * head of the record they name and cannot be edited, and rows from before the
 * chain existed are marked by audit_chain_from.
 *
 * The hash here is a test stand-in (SHA-256 over seq, request id and prev);
 * the real canonical form is the gateway's and has its own tests.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_store_fixture.h"

#include <pthread.h>

#include <openssl/sha.h>

static int test_hash(void *ctx, int64_t seq, const struct store_audit_event *ev,
                     const unsigned char prev[STORE_AUDIT_HASH_LEN],
                     unsigned char out[STORE_AUDIT_HASH_LEN])
{
	int *fail_at = ctx;
	if (fail_at && *fail_at == (int)seq)
		return -1;
	unsigned char in[8 + STORE_AUDIT_ID_MAX + STORE_AUDIT_HASH_LEN];
	size_t idn = strlen(ev->request_id);
	memcpy(in, &seq, 8);
	memcpy(in + 8, ev->request_id, idn);
	memcpy(in + 8 + idn, prev, STORE_AUDIT_HASH_LEN);
	SHA256(in, 8 + idn + STORE_AUDIT_HASH_LEN, out);
	return 0;
}

static const struct store_audit_hasher hasher = {test_hash, NULL};

/* Every row's prev_hash is the stored hash of the row before it (zeros for
 * the first) and its hash is what test_hash gives. */
static bool chain_intact(struct store *s, int64_t expect_rows)
{
	struct store_audit_list l = {0};
	struct store_error err;
	unsigned char prev[STORE_AUDIT_HASH_LEN] = {0};
	int64_t after = 0, n = 0;
	bool ok = true;
	for (;;) {
		if (store_audit_read(s, after, 1000, &l, &err) != STORE_OK)
			return false;
		if (l.n == 0)
			break;
		for (size_t i = 0; i < l.n; i++) {
			const struct store_audit_row *r = &l.rows[i];
			unsigned char h[STORE_AUDIT_HASH_LEN];
			test_hash(NULL, r->seq, &r->ev, prev, h);
			if (!r->chained || r->seq != n + 1 ||
			    memcmp(r->prev_hash, prev, sizeof(prev)) != 0 ||
			    memcmp(r->hash, h, sizeof(h)) != 0)
				ok = false;
			memcpy(prev, r->hash, sizeof(prev));
			after = r->seq;
			n++;
		}
		store_audit_list_free(&l);
	}
	return ok && n == expect_rows;
}

static void test_chained_rows_link(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	struct store_error err;
	struct store_audit_event evs[3] = {fx_event("a"), fx_event("b"), fx_event("c")};
	int64_t seqs[3] = {0};
	unsigned char head[STORE_AUDIT_HASH_LEN];
	CHECK_INT(store_audit_append_chained(s, evs, 1, &hasher, seqs, head, &err), STORE_OK);
	CHECK_INT(seqs[0], 1);
	CHECK_INT(store_audit_append_chained(s, evs + 1, 2, &hasher, seqs + 1, head, &err),
	          STORE_OK);
	CHECK_INT(seqs[1], 2);
	CHECK_INT(seqs[2], 3);
	CHECK(chain_intact(s, 3));
	struct store_audit_list l = {0};
	CHECK_INT(store_audit_read(s, 2, 10, &l, &err), STORE_OK);
	CHECK_INT(l.n, 1);
	if (l.n == 1)
		CHECK(memcmp(l.rows[0].hash, head, sizeof(head)) == 0);
	store_audit_list_free(&l);
	int64_t from = 0;
	CHECK_INT(store_audit_chain_from(s, &from, &err), STORE_OK);
	CHECK_INT(from, 1);
	store_close(s);
	fx_done(&f);
}

static void test_batch_all_or_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	struct store_error err;
	struct store_audit_event evs[3] = {fx_event("a"), fx_event("b"), fx_event("c")};
	int fail_at = 2;
	struct store_audit_hasher failing = {test_hash, &fail_at};
	CHECK(store_audit_append_chained(s, evs, 3, &failing, NULL, NULL, &err) != STORE_OK);
	evs[2].record = NULL; /* invalid: refused before any write */
	CHECK_INT(store_audit_append_chained(s, evs, 3, &hasher, NULL, NULL, &err),
	          STORE_ERR_INVALID);
	int64_t count = -1, last = -1;
	CHECK_INT(store_audit_count(s, &count, &last, &err), STORE_OK);
	CHECK_INT(count, 0);
	/* The good batch goes in whole. */
	evs[2].record = "{}";
	CHECK_INT(store_audit_append_chained(s, evs, 3, &hasher, NULL, NULL, &err), STORE_OK);
	CHECK(chain_intact(s, 3));
	store_close(s);
	fx_done(&f);
}

struct writer {
	struct store *s;
	int n;
	int failures;
};

static void *write_many(void *p)
{
	struct writer *w = p;
	struct store_error err;
	for (int i = 0; i < w->n; i++) {
		struct store_audit_event ev = fx_event("concurrent");
		if (store_audit_append_chained(w->s, &ev, 1, &hasher, NULL, NULL, &err) != STORE_OK)
			w->failures++;
	}
	return NULL;
}

static void test_concurrent_writers_keep_one_chain(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	/* A second connection to the same file, as a second process would. */
	struct store *s2 = fx_open(f.db, NULL);
	CHECK(s2 != NULL);
	pthread_t t[8];
	struct writer w[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (struct writer){.s = i % 2 ? s2 : s, .n = 40};
		pthread_create(&t[i], NULL, write_many, &w[i]);
	}
	int failures = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	CHECK_INT(failures, 0);
	CHECK(chain_intact(s, 320));
	store_close(s2);
	store_close(s);
	fx_done(&f);
}

static int test_sign(void *ctx, struct store_audit_checkpoint *cp)
{
	if (ctx)
		return -1;
	memset(cp->sig, 0xab, 64);
	cp->sig[0] = (unsigned char)cp->id;
	cp->sig_len = 64;
	return 0;
}

static void test_checkpoints_stored_and_append_only(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	struct store_error err;
	struct store_audit_event evs[2] = {fx_event("a"), fx_event("b")};
	unsigned char head[STORE_AUDIT_HASH_LEN];
	CHECK_INT(store_audit_append_chained(s, evs, 2, &hasher, NULL, head, &err), STORE_OK);
	struct store_audit_signer signer = {test_sign, NULL};
	struct store_audit_checkpoint cp;
	CHECK_INT(store_audit_checkpoint_add(s, 3, 5, "k1", &signer, &cp, &err),
	          STORE_ERR_NOT_FOUND);
	struct store_audit_signer bad = {test_sign, &err};
	CHECK(store_audit_checkpoint_add(s, 2, 5, "k1", &bad, &cp, &err) != STORE_OK);
	CHECK_INT(store_audit_checkpoint_add(s, 1, 5, "k1", &signer, &cp, &err), STORE_OK);
	CHECK_INT(cp.id, 1);
	CHECK_INT(store_audit_checkpoint_add(s, 2, 6, "k1", &signer, &cp, &err), STORE_OK);
	CHECK_INT(cp.id, 2);
	CHECK(memcmp(cp.head, head, sizeof(head)) == 0);
	int64_t last = 0, t = 0;
	CHECK_INT(store_audit_checkpoint_last(s, &last, &t, &err), STORE_OK);
	CHECK_INT(last, 2);
	CHECK_INT(t, 6);
	struct store_audit_checkpoint *all = NULL;
	size_t n = 0;
	CHECK_INT(store_audit_checkpoints(s, &all, &n, &err), STORE_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(all[0].seq, 1);
		CHECK_STR(all[1].key_id, "k1");
		CHECK_INT(all[1].sig_len, 64);
		CHECK_INT(all[1].sig[0], 2);
		CHECK(memcmp(all[1].head, head, sizeof(head)) == 0);
	}
	free(all);
	store_close(s);
	CHECK(fx_sql(f.db, "UPDATE audit_checkpoints SET seq = 1") != SQLITE_OK);
	CHECK(fx_sql(f.db, "DELETE FROM audit_checkpoints") != SQLITE_OK);
	CHECK_INT(fx_int(f.db, "SELECT count(*) FROM audit_checkpoints"), 2);
	fx_done(&f);
}

static void test_rows_before_the_chain_are_marked(void)
{
	struct fx f;
	fx_init(&f);
	size_t n = 0;
	const struct store_migration *all = store_migrations(&n);
	/* A file from before the chain migration, with two rows. */
	size_t before = 0;
	while (before < n && strcmp(all[before].name, "audit_chain") != 0)
		before++;
	CHECK(before < n);
	struct store *s = NULL;
	struct store_error err;
	CHECK_INT(store_open_with_migrations(f.db, NULL, all, before, &s, &err), STORE_OK);
	struct store_audit_event ev = fx_event("old");
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_OK);
	CHECK_INT(store_audit_append(s, &ev, NULL, &err), STORE_OK);
	store_close(s);
	s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	int64_t from = 0;
	CHECK_INT(store_audit_chain_from(s, &from, &err), STORE_OK);
	CHECK_INT(from, 3);
	int64_t seq = 0;
	CHECK_INT(store_audit_append_chained(s, &ev, 1, &hasher, &seq, NULL, &err), STORE_OK);
	CHECK_INT(seq, 3);
	struct store_audit_list l = {0};
	CHECK_INT(store_audit_read(s, 0, 10, &l, &err), STORE_OK);
	CHECK_INT(l.n, 3);
	if (l.n == 3) {
		CHECK(!l.rows[0].chained);
		CHECK(l.rows[2].chained);
		unsigned char zero[STORE_AUDIT_HASH_LEN] = {0};
		CHECK(memcmp(l.rows[2].prev_hash, zero, sizeof(zero)) == 0);
	}
	store_audit_list_free(&l);
	store_close(s);
	fx_done(&f);
}

static void test_readonly_refuses_chained_append(void)
{
	struct fx f;
	fx_init(&f);
	struct store *s = fx_open(f.db, NULL);
	CHECK(s != NULL);
	store_close(s);
	struct store_options ro = {.readonly = true};
	s = fx_open(f.db, &ro);
	CHECK(s != NULL);
	struct store_error err;
	struct store_audit_event ev = fx_event("x");
	CHECK_INT(store_audit_append_chained(s, &ev, 1, &hasher, NULL, NULL, &err),
	          STORE_ERR_READONLY);
	store_close(s);
	fx_done(&f);
}

static const struct check_case cases[] = {
    {"chained appends link each row to the hash of the one before, the first to zeros",
     test_chained_rows_link},
    {"a batch whose hash fails or holds an invalid event writes nothing; a good batch lands "
     "whole",
     test_batch_all_or_nothing},
    {"eight threads on two connections appending at once leave one unbroken chain",
     test_concurrent_writers_keep_one_chain},
    {"checkpoints store the head of the record they name, number from 1, refuse an unknown "
     "record or failed signer, and cannot be updated or deleted",
     test_checkpoints_stored_and_append_only},
    {"rows written before the chain migration are marked by audit_chain_from and the chain "
     "starts after them from zeros",
     test_rows_before_the_chain_are_marked},
    {"a read-only store refuses chained appends", test_readonly_refuses_chained_append},
};

CHECK_MAIN(cases)
