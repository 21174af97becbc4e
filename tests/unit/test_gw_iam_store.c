/*
 * test_gw_iam_store.c - applying IAM files to a real store file, exporting
 * them back, and the snapshot the server authorizes against
 * (gateway/iam_apply.c, iam_export.c, iam_snapshot.c, store/iam.c).
 *
 * Every test works on a fresh SQLite file in its own temporary folder, with a
 * key box over a fixed test key. Security properties are checked from both
 * sides: the secret opens with its own key id and not with another; a role's
 * policies allow what they grant and the boundary stops what it does not; a
 * lookup by ARN finds the role only with the right account and path.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/iam.h"
#include "tests/unit/check.h"

#define TRUST                                                                                      \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"         \
	"\"Service\":\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"
#define ALLOW(a)                                                                                   \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":" a           \
	",\"Resource\":\"*\"}]}"

static const char
    base_file[] = "{\"account_id\":\"111122223333\","
                  "\"managed_policies\":["
                  " {\"name\":\"read\",\"path\":\"/ops/"
                  "\",\"versions\":[{\"id\":\"v1\",\"default\":true,"
                  "  \"document\":" ALLOW(
                      "\"ecs:Describe*\"") "}]},"
                                           " {\"name\":\"fence\",\"versions\":[{\"id\":\"v1\","
                                           "\"default\":true,"
                                           "  \"document\":" ALLOW(
                                               "\"ecs:*\"") "}]}],"
                                                            "\"roles\":["
                                                            " {\"name\":\"web\",\"path\":\"/tasks/"
                                                            "\",\"trust_policy\":" TRUST ","
                                                            "  \"inline_policies\":{\"run\":" ALLOW(
                                                                "[\"ecs:RunTask\",\"s3:"
                                                                "GetObject\"]") "},"
                                                                                "  "
                                                                                "\"managed_"
                                                                                "policies\":["
                                                                                "\"read\"],"
                                                                                "\"permissions_"
                                                                                "boundary\":"
                                                                                "\"fence\","
                                                                                "  "
                                                                                "\"tags\":{"
                                                                                "\"team\":\"web\"}}"
                                                                                ","
                                                                                " {\"name\":"
                                                                                "\"host\",\"trust_"
                                                                                "policy\":" TRUST
                                                                                "}],"
                                                                                "\"users\":["
                                                                                " {\"name\":\"ci\","
                                                                                "\"inline_"
                                                                                "policies\":{"
                                                                                "\"p\":" ALLOW(
                                                                                    "\"ecs:"
                                                                                    "ListClusters"
                                                                                    "\"") "},"
                                                                                          "  "
                                                                                          "\"access"
                                                                                          "_keys\":"
                                                                                          "[{"
                                                                                          "\"id\":"
                                                                                          "\"AKIACI"
                                                                                          "EXAMPLE0"
                                                                                          "000001\""
                                                                                          "}]},"
                                                                                          " {"
                                                                                          "\"name\""
                                                                                          ":\"old\""
                                                                                          "}],"
                                                                                          "\"host_"
                                                                                          "mappings"
                                                                                          "\":[{"
                                                                                          "\"subjec"
                                                                                          "t_cn\":"
                                                                                          "\"h1."
                                                                                          "internal"
                                                                                          "\","
                                                                                          "\"role\""
                                                                                          ":\"host"
                                                                                          "\"},"
                                                                                          " {"
                                                                                          "\"subjec"
                                                                                          "t\":"
                                                                                          "\"CN=h2."
                                                                                          "internal"
                                                                                          ",O="
                                                                                          "Example"
                                                                                          "\","
                                                                                          "\"role\""
                                                                                          ":\"web\""
                                                                                          "}]"
                                                                                          "}";

/* ---- fixture ---- */

struct fx {
	char dir[64];
	char db[128];
	struct store *s;
	struct gw_keybox *box;
};

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-iamstore-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->db, sizeof(f->db), "%s/taskgate.db", f->dir);
	struct store_error se;
	if (store_open(f->db, NULL, &f->s, &se) != STORE_OK) {
		printf("    store_open: %s\n", se.message);
		abort();
	}
	unsigned char key[GW_KEYBOX_KEY_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	struct gw_keybox_error ke;
	if (gw_keybox_from_key(key, sizeof(key), &f->box, &ke) != GW_KEYBOX_OK)
		abort();
}

static void fx_done(struct fx *f)
{
	store_close(f->s);
	gw_keybox_free(f->box);
	nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool spec_of(const char *text, struct gw_iam_spec *spec)
{
	struct gw_iam_diags d;
	int rc = gw_iam_file_parse(text, strlen(text), NULL, spec, &d);
	for (size_t i = 0; i < d.count; i++)
		printf("    %s: %s\n", d.items[i].path, d.items[i].message);
	gw_iam_diags_free(&d);
	return rc == GW_IAM_OK;
}

/* Applies text; returns the status and keeps the changes in *ch. */
static int apply_text(struct fx *f, const char *text, struct gw_iam_changes *ch)
{
	struct gw_iam_spec spec;
	memset(ch, 0, sizeof(*ch));
	if (!spec_of(text, &spec))
		return GW_IAM_ERR_INVALID;
	struct gw_iam_error err = {0};
	int rc = gw_iam_apply(f->s, &spec, f->box, ch, &err);
	if (rc != GW_IAM_OK)
		printf("    apply: %s\n", err.message);
	gw_iam_spec_free(&spec);
	return rc;
}

static bool has_line(const struct gw_iam_changes *ch, const char *l)
{
	for (size_t i = 0; i < ch->n; i++) {
		if (strcmp(ch->lines[i], l) == 0)
			return true;
	}
	printf("    no line \"%s\" in:\n", l);
	for (size_t i = 0; i < ch->n; i++)
		printf("      %s\n", ch->lines[i]);
	return false;
}

static char *export_text(struct fx *f)
{
	struct store_iam st;
	struct store_error se;
	if (store_iam_load(f->s, &st, &se) != STORE_OK)
		return NULL;
	char *text = NULL;
	struct gw_iam_error err;
	if (gw_iam_export(&st, &text, &err) != GW_IAM_OK)
		printf("    export: %s\n", err.message);
	store_iam_free(&st);
	return text;
}

static int64_t generation(struct fx *f)
{
	int64_t g = -1;
	struct store_error se;
	if (store_iam_generation(f->s, &g, &se) != STORE_OK)
		return -1;
	return g;
}

/* The whole content of a file (for grepping raw bytes). */
static bool file_contains(const char *path, const void *needle, size_t n)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	size_t cap = 1 << 16, len = 0;
	unsigned char *buf = malloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		if (!buf)
			abort();
		size_t r = fread(buf + len, 1, cap - len, fp);
		if (r == 0)
			break;
		len += r;
	}
	fclose(fp);
	bool found = memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

/* ---- apply, export ---- */

static void t_apply_then_again(void)
{
	struct fx f;
	fx_init(&f);
	CHECK_INT(generation(&f), 0);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	CHECK(has_line(&ch, "+ account 111122223333"));
	CHECK(has_line(&ch, "+ managed_policy read"));
	CHECK(has_line(&ch, "+ role web"));
	CHECK(has_line(&ch, "+ user ci"));
	CHECK(has_line(&ch, "+ access_key AKIACIEXAMPLE0000001 (user ci)"));
	CHECK(has_line(&ch, "+ host_mapping subject_cn=h1.internal (role host)"));
	CHECK_INT(ch.n, 10);
	CHECK_INT(ch.n_new_keys, 1);
	CHECK_INT(ch.generation, 1);
	CHECK_INT(generation(&f), 1);
	gw_iam_changes_free(&ch);

	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	CHECK_INT(ch.n, 0);
	CHECK_INT(ch.n_new_keys, 0);
	CHECK_INT(ch.generation, 1);
	CHECK_INT(generation(&f), 1);
	gw_iam_changes_free(&ch);
	fx_done(&f);
}

static void t_export_round_trip(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	char *exported = export_text(&f);
	CHECK(exported != NULL);
	if (exported) {
		CHECK(strstr(exported, "\"arn:aws:iam::111122223333:policy/ops/read\"") != NULL);
		CHECK(strstr(exported, "\"AKIACIEXAMPLE0000001\"") != NULL);
		CHECK(strstr(exported, "secret") == NULL);
		CHECK_INT(apply_text(&f, exported, &ch), GW_IAM_OK);
		CHECK_INT(ch.n, 0);
		CHECK_INT(generation(&f), 1);
		gw_iam_changes_free(&ch);
		/* And the export of the export is the same text. */
		char *again = export_text(&f);
		CHECK_STR(again, exported);
		free(again);
	}
	free(exported);
	fx_done(&f);
}

static void t_export_before_apply(void)
{
	struct fx f;
	fx_init(&f);
	struct store_iam st;
	struct store_error se;
	CHECK_INT(store_iam_load(f.s, &st, &se), STORE_OK);
	char *text = NULL;
	struct gw_iam_error err;
	CHECK_INT(gw_iam_export(&st, &text, &err), GW_IAM_ERR_NOT_FOUND);
	CHECK(text == NULL);
	store_iam_free(&st);
	fx_done(&f);
}

static void t_changes_and_deletes(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	/* web: new trust policy and tags; user old and policy read gone (web
	 * stops attaching it); ci's key inactive; a host mapping moves. */
	const char
	    *
	        next = "{\"account_id\":\"111122223333\","
	               "\"managed_policies\":[{\"name\":\"fence\",\"versions\":[{\"id\":\"v1\","
	               "\"default\":true,"
	               "  \"document\":" ALLOW("\"ecs:*\"") "}]}],"
	                                                    "\"roles\":["
	                                                    " {\"name\":\"web\",\"path\":\"/tasks/"
	                                                    "\",\"trust_policy\":{\"Version\":"
	                                                    "\"2012-10-17\","
	                                                    "  "
	                                                    "\"Statement\":[{\"Effect\":\"Allow\","
	                                                    "\"Principal\":{\"Service\":\"ec2."
	                                                    "amazonaws.com\"},"
	                                                    "  \"Action\":\"sts:AssumeRole\"}]},"
	                                                    "  \"inline_policies\":{\"run\":" ALLOW(
	                                                        "[\"ecs:RunTask\",\"s3:"
	                                                        "GetObject\"]") "},"
	                                                                        "  "
	                                                                        "\"permissions_"
	                                                                        "boundary\":"
	                                                                        "\"fence\","
	                                                                        "\"tags\":{"
	                                                                        "\"team\":"
	                                                                        "\"platform\"}},"
	                                                                        " {\"name\":"
	                                                                        "\"host\",\"trust_"
	                                                                        "policy\":" TRUST
	                                                                        "}],"
	                                                                        "\"users\":[{"
	                                                                        "\"name\":\"ci\","
	                                                                        "\"inline_"
	                                                                        "policies\":{"
	                                                                        "\"p\":" ALLOW(
	                                                                            "\"ecs:"
	                                                                            "ListClusters"
	                                                                            "\"") "},"
	                                                                                  "  "
	                                                                                  "\"access"
	                                                                                  "_keys\":"
	                                                                                  "[{"
	                                                                                  "\"id\":"
	                                                                                  "\"AKIACI"
	                                                                                  "EXAMPLE0"
	                                                                                  "000001\""
	                                                                                  ",\"statu"
	                                                                                  "s\":"
	                                                                                  "\"Inacti"
	                                                                                  "ve\"}]}]"
	                                                                                  ","
	                                                                                  "\"host_"
	                                                                                  "mappings"
	                                                                                  "\":[{"
	                                                                                  "\"subjec"
	                                                                                  "t_cn\":"
	                                                                                  "\"h1."
	                                                                                  "internal"
	                                                                                  "\","
	                                                                                  "\"role\""
	                                                                                  ":\"web\""
	                                                                                  "}]}";
	CHECK_INT(apply_text(&f, next, &ch), GW_IAM_OK);
	CHECK(has_line(&ch, "~ role web (trust_policy, managed_policies, tags)"));
	CHECK(has_line(&ch, "- managed_policy read"));
	CHECK(has_line(&ch, "- user old"));
	CHECK(has_line(&ch, "~ access_key AKIACIEXAMPLE0000001 (status)"));
	CHECK(has_line(&ch, "~ host_mapping subject_cn=h1.internal (role)"));
	CHECK(has_line(&ch, "- host_mapping subject=CN=h2.internal,O=Example"));
	CHECK_INT(ch.n, 6);
	CHECK_INT(ch.generation, 2);
	gw_iam_changes_free(&ch);
	fx_done(&f);
}

static void t_unique_ids_kept(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	struct gw_iam *a = NULL, *b = NULL;
	struct gw_iam_error err;
	CHECK_INT(gw_iam_load(f.s, &a, &err), GW_IAM_OK);
	/* A change to web's tags must not give it a new id. */
	char *edited = strdup(base_file);
	char *t = edited ? strstr(edited, "\"team\":\"web\"") : NULL;
	if (t)
		memcpy(t + 8, "WEB", 3);
	CHECK_INT(apply_text(&f, edited, &ch), GW_IAM_OK);
	CHECK(has_line(&ch, "~ role web (tags)"));
	gw_iam_changes_free(&ch);
	free(edited);
	CHECK_INT(gw_iam_load(f.s, &b, &err), GW_IAM_OK);
	const struct gw_iam_entity *wa = gw_iam_role(a, "web", 3), *wb = gw_iam_role(b, "web", 3);
	CHECK(wa && wb);
	if (wa && wb) {
		CHECK(strncmp(wa->unique_id, "AROA", 4) == 0 && strlen(wa->unique_id) == 20);
		CHECK_STR(wa->unique_id, wb->unique_id);
	}
	const struct gw_iam_entity *ci = gw_iam_user(a, "ci", 2);
	CHECK(ci && strncmp(ci->unique_id, "AIDA", 4) == 0);
	const struct gw_iam_entity *host = gw_iam_role(a, "host", 4);
	CHECK(host && wa && strcmp(host->unique_id, wa->unique_id) != 0);
	gw_iam_unref(a);
	gw_iam_unref(b);
	fx_done(&f);
}

/* ---- all or nothing ---- */

static void t_stale_generation_refused(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	char *before = export_text(&f);
	struct store_iam st;
	struct store_error se;
	CHECK_INT(store_iam_load(f.s, &st, &se), STORE_OK);
	size_t users = st.n_users;
	st.n_users = 0; /* a change, written as if from generation 0 */
	int64_t gen = 0;
	CHECK_INT(store_iam_replace(f.s, &st, 0, &gen, &se), STORE_ERR_CONFLICT);
	CHECK(strstr(se.message, "changed while") != NULL);
	CHECK_INT(generation(&f), 1);
	/* The same replace from the current generation goes through. */
	size_t keys = st.n_access_keys;
	st.n_access_keys = 0; /* ci's key would dangle without ci */
	CHECK_INT(store_iam_replace(f.s, &st, 1, &gen, &se), STORE_OK);
	CHECK_INT(gen, 2);
	st.n_access_keys = keys;
	st.n_users = users;
	store_iam_free(&st);
	char *after = export_text(&f);
	CHECK(before && after && strcmp(before, after) != 0);
	free(before);
	free(after);
	fx_done(&f);
}

static void t_dangling_reference_refused(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	char *before = export_text(&f);
	struct store_iam st;
	struct store_error se;
	CHECK_INT(store_iam_load(f.s, &st, &se), STORE_OK);
	/* Drop every managed policy while web still attaches one: the store must
	 * refuse the whole replace, including the deletes it did first. */
	size_t n = st.n_policies;
	st.n_policies = 0;
	int64_t gen = 0;
	CHECK_INT(store_iam_replace(f.s, &st, 1, &gen, &se), STORE_ERR_CONFLICT);
	st.n_policies = n;
	store_iam_free(&st);
	CHECK_INT(generation(&f), 1);
	char *after = export_text(&f);
	CHECK_STR(after, before);
	free(before);
	free(after);
	fx_done(&f);
}

static void t_invalid_file_writes_nothing(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	char *before = export_text(&f);
	const char *bad = "{\"account_id\":\"111122223333\",\"roles\":[{\"name\":\"new\","
	                  "\"trust_policy\":" TRUST "},{\"name\":\"x\",\"trust_policy\":" TRUST ","
	                  "\"inline_policies\":{\"p\":{\"Version\":\"2012-10-17\",\"Statement\":"
	                  "[{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\"}]}}}]}";
	CHECK_INT(apply_text(&f, bad, &ch), GW_IAM_ERR_INVALID);
	char *after = export_text(&f);
	CHECK_STR(after, before);
	CHECK_INT(generation(&f), 1);
	free(before);
	free(after);
	fx_done(&f);
}

static void t_new_key_needs_master_key(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_spec spec;
	CHECK(spec_of(base_file, &spec));
	struct gw_iam_changes ch;
	struct gw_iam_error err = {0};
	CHECK_INT(gw_iam_apply(f.s, &spec, NULL, &ch, &err), GW_IAM_ERR_KEY);
	CHECK(strstr(err.message, "AKIACIEXAMPLE0000001") != NULL);
	CHECK_INT(ch.n, 0);
	CHECK_INT(generation(&f), 0);
	gw_iam_spec_free(&spec);
	/* Without access keys no key is needed. */
	CHECK(spec_of("{\"account_id\":\"111122223333\",\"users\":[{\"name\":\"u\"}]}", &spec));
	CHECK_INT(gw_iam_apply(f.s, &spec, NULL, &ch, &err), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	gw_iam_spec_free(&spec);
	fx_done(&f);
}

/* ---- secrets ---- */

static void t_secret_sealed(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	CHECK_INT(ch.n_new_keys, 1);
	char secret[GW_SECRET_ACCESS_KEY_LEN + 1] = "";
	if (ch.n_new_keys == 1) {
		CHECK_STR(ch.new_keys[0].id, "AKIACIEXAMPLE0000001");
		CHECK_STR(ch.new_keys[0].user, "ci");
		CHECK_INT(ch.new_keys[0].secret.n, GW_SECRET_ACCESS_KEY_LEN);
		memcpy(secret, ch.new_keys[0].secret.p, GW_SECRET_ACCESS_KEY_LEN);
	}
	gw_iam_changes_free(&ch);
	struct gw_iam *iam = NULL;
	struct gw_iam_error err;
	CHECK_INT(gw_iam_load(f.s, &iam, &err), GW_IAM_OK);
	/* The raw secret is nowhere in the database's bytes. */
	store_close(f.s);
	f.s = NULL;
	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", f.db);
	CHECK(strlen(secret) == 40);
	CHECK(!file_contains(f.db, secret, 40));
	CHECK(!file_contains(wal, secret, 40));
	/* It opens with its own id as AAD ... */
	const struct gw_iam_access_key *k = gw_iam_access_key(iam, "AKIACIEXAMPLE0000001", 20);
	CHECK(k != NULL);
	if (k) {
		struct gw_secret out = {0};
		CHECK_INT(gw_iam_access_key_secret(k, f.box, &out, &err), GW_IAM_OK);
		CHECK(out.n == 40 && memcmp(out.p, secret, 40) == 0);
		gw_secret_free(&out);
		/* ... and not as another key's: a blob moved to another row fails. */
		struct gw_iam_access_key moved = *k;
		moved.id = "AKIACIEXAMPLE0000002";
		CHECK_INT(gw_iam_access_key_secret(&moved, f.box, &out, &err), GW_IAM_ERR_KEY);
		CHECK(out.p == NULL);
		/* ... nor under another master key. */
		unsigned char other[GW_KEYBOX_KEY_LEN] = {9};
		struct gw_keybox *box2 = NULL;
		struct gw_keybox_error ke;
		CHECK_INT(gw_keybox_from_key(other, sizeof(other), &box2, &ke), GW_KEYBOX_OK);
		CHECK_INT(gw_iam_access_key_secret(k, box2, &out, &err), GW_IAM_ERR_KEY);
		gw_keybox_free(box2);
	}
	gw_iam_unref(iam);
	fx_done(&f);
}

static void t_secret_file_compared(void)
{
	struct fx f;
	fx_init(&f);
	char path[160];
	snprintf(path, sizeof(path), "%s/k.secret", f.dir);
	FILE *fp = fopen(path, "w");
	if (!fp || fputs("abcdefghijABCDEFGHIJ0123456789+/abcdefgh\n", fp) < 0)
		abort();
	fclose(fp);
	chmod(path, 0600);
	char *text = NULL;
	if (asprintf(&text,
	             "{\"account_id\":\"111122223333\",\"users\":[{\"name\":\"u\",\"access_keys\":"
	             "[{\"id\":\"AKIAFILEEXAMPLE00001\",\"secret_file\":\"%s\"}]}]}",
	             path) < 0)
		abort();
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, text, &ch), GW_IAM_OK);
	CHECK(has_line(&ch, "+ access_key AKIAFILEEXAMPLE00001 (user u)"));
	CHECK_INT(ch.n_new_keys, 0); /* nothing to show: the operator has the secret */
	gw_iam_changes_free(&ch);
	CHECK_INT(apply_text(&f, text, &ch), GW_IAM_OK);
	CHECK_INT(ch.n, 0);
	gw_iam_changes_free(&ch);
	fp = fopen(path, "w");
	if (!fp || fputs("ZZZdefghijABCDEFGHIJ0123456789+/abcdefgh", fp) < 0)
		abort();
	fclose(fp);
	CHECK_INT(apply_text(&f, text, &ch), GW_IAM_OK);
	CHECK(has_line(&ch, "~ access_key AKIAFILEEXAMPLE00001 (secret)"));
	gw_iam_changes_free(&ch);
	struct gw_iam *iam = NULL;
	struct gw_iam_error err;
	CHECK_INT(gw_iam_load(f.s, &iam, &err), GW_IAM_OK);
	const struct gw_iam_access_key *k = gw_iam_access_key(iam, "AKIAFILEEXAMPLE00001", 20);
	struct gw_secret out = {0};
	CHECK(k && gw_iam_access_key_secret(k, f.box, &out, &err) == GW_IAM_OK);
	CHECK(out.n == 40 && memcmp(out.p, "ZZZdefghij", 10) == 0);
	gw_secret_free(&out);
	gw_iam_unref(iam);
	free(text);
	fx_done(&f);
}

/* ---- the snapshot ---- */

static struct gw_iam *applied_snapshot(struct fx *f)
{
	struct gw_iam_changes ch;
	if (apply_text(f, base_file, &ch) != GW_IAM_OK)
		return NULL;
	gw_iam_changes_free(&ch);
	struct gw_iam *iam = NULL;
	struct gw_iam_error err;
	if (gw_iam_load(f->s, &iam, &err) != GW_IAM_OK)
		printf("    load: %s\n", err.message);
	return iam;
}

#define S(x) x, strlen(x)

static void t_lookup_roles(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam *iam = applied_snapshot(&f);
	CHECK(iam != NULL);
	CHECK_STR(gw_iam_account_id(iam), "111122223333");
	const struct gw_iam_entity *web = gw_iam_role(iam, S("WEB"));
	CHECK(web != NULL);
	if (web) {
		CHECK_STR(web->name, "web");
		CHECK_STR(web->arn, "arn:aws:iam::111122223333:role/tasks/web");
		CHECK_INT(web->kind, GW_IAM_ROLE);
		CHECK(web->trust != NULL);
		CHECK_INT(web->n_tags, 1);
	}
	CHECK(gw_iam_role(iam, S("arn:aws:iam::111122223333:role/tasks/web")) == web);
	CHECK(gw_iam_role(iam, S("arn:aws:iam::111122223333:role/web")) == NULL);
	CHECK(gw_iam_role(iam, S("arn:aws:iam::444455556666:role/tasks/web")) == NULL);
	CHECK(gw_iam_role(iam, S("arn:aws:iam::111122223333:user/tasks/web")) == NULL);
	CHECK(gw_iam_role(iam, S("we")) == NULL);
	CHECK(gw_iam_role(iam, "webx", 3) == web); /* length-counted: "web" */
	CHECK(gw_iam_role(iam, S("ci")) == NULL);  /* a user is not a role */
	CHECK(gw_iam_user(iam, S("arn:aws:iam::111122223333:user/ci")) != NULL);
	const struct gw_iam_managed *m =
	    gw_iam_managed_policy(iam, S("arn:aws:iam::111122223333:policy/ops/read"));
	CHECK(m && strcmp(m->name, "read") == 0 && m->policy != NULL);
	CHECK(gw_iam_managed_policy(iam, S("arn:aws:iam::111122223333:policy/read")) == NULL);
	gw_iam_unref(iam);
	fx_done(&f);
}

static void t_lookup_access_keys(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam *iam = applied_snapshot(&f);
	const struct gw_iam_access_key *k = gw_iam_access_key(iam, S("AKIACIEXAMPLE0000001"));
	CHECK(k != NULL);
	if (k) {
		CHECK_STR(k->user->name, "ci");
		CHECK(k->active);
		CHECK(k->sealed_n == 40 + GW_KEYBOX_OVERHEAD);
	}
	CHECK(gw_iam_access_key(iam, S("AKIACIEXAMPLE000000")) == NULL);
	CHECK(gw_iam_access_key(iam, S("AKIACIEXAMPLE00000011")) == NULL);
	CHECK(gw_iam_access_key(iam, S("akiaciexample0000001")) == NULL); /* ids are exact */
	gw_iam_unref(iam);
	fx_done(&f);
}

static void t_policies_for(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam *iam = applied_snapshot(&f);
	const struct gw_iam_entity *web = gw_iam_role(iam, S("web"));
	struct policy_input in[8];
	size_t n = 0;
	CHECK_INT(gw_iam_policies_for(iam, web, NULL, in, 8, &n), GW_IAM_OK);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_INT(policy_type_of(in[0].policy), POLICY_IDENTITY); /* inline */
		CHECK_INT(policy_type_of(in[1].policy), POLICY_IDENTITY); /* read */
		CHECK_INT(policy_type_of(in[2].policy), POLICY_BOUNDARY); /* fence */
	}
	/* A session policy comes last; too little room says how much. */
	struct policy *session = NULL;
	const char *sp = ALLOW("\"ecs:RunTask\"");
	struct policy_options so = {.type = POLICY_SESSION};
	CHECK_INT(policy_compile(sp, strlen(sp), &so, &session, NULL), POLICY_OK);
	CHECK_INT(gw_iam_policies_for(iam, web, session, in, 3, &n), GW_IAM_ERR_SPACE);
	CHECK_INT(n, 4);
	CHECK_INT(gw_iam_policies_for(iam, web, session, in, 4, &n), GW_IAM_OK);
	CHECK(n == 4 && in[3].policy == session);
	policy_unref(session);
	const struct gw_iam_entity *host = gw_iam_role(iam, S("host"));
	CHECK_INT(gw_iam_policies_for(iam, host, NULL, in, 8, &n), GW_IAM_OK);
	CHECK_INT(n, 0);
	gw_iam_unref(iam);
	fx_done(&f);
}

static enum policy_decision decide(const struct gw_iam *iam, const char *role, const char *action,
                                   enum policy_type *by)
{
	const struct gw_iam_entity *e = gw_iam_role(iam, role, strlen(role));
	struct policy_input in[8];
	size_t n = 0;
	if (!e || gw_iam_policies_for(iam, e, NULL, in, 8, &n) != GW_IAM_OK)
		return POLICY_IMPLICIT_DENY;
	const char *session = "arn:aws:sts::111122223333:assumed-role/web/s1";
	struct policy_request req = {
	    .principal = {.kind = POLICY_PRINCIPAL_AWS,
	                  .arn = {session, strlen(session)},
	                  .role_arn = {e->arn, strlen(e->arn)},
	                  .account = {"111122223333", 12},
	                  .has_boundary = e->boundary != NULL},
	    .action = {action, strlen(action)},
	    .resource = {"*", 1},
	};
	struct policy_result r;
	if (policy_evaluate(in, n, &req, &r) != POLICY_OK)
		return POLICY_IMPLICIT_DENY;
	*by = r.decided_by;
	return r.decision;
}

static void t_snapshot_decides(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam *iam = applied_snapshot(&f);
	enum policy_type by = POLICY_IDENTITY;
	CHECK_INT(decide(iam, "web", "ecs:RunTask", &by), POLICY_ALLOW);
	CHECK_INT(decide(iam, "web", "ecs:DescribeTasks", &by), POLICY_ALLOW); /* attached */
	/* Granted inline but outside the boundary: denied, by the boundary. */
	CHECK_INT(decide(iam, "web", "s3:GetObject", &by), POLICY_IMPLICIT_DENY);
	CHECK_INT(by, POLICY_BOUNDARY);
	CHECK_INT(decide(iam, "web", "ecs:StopTask", &by), POLICY_IMPLICIT_DENY);
	CHECK_INT(decide(iam, "host", "ecs:RunTask", &by), POLICY_IMPLICIT_DENY);
	gw_iam_unref(iam);
	fx_done(&f);
}

static void t_host_roles(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam *iam = applied_snapshot(&f);
	const struct gw_iam_entity *r = gw_iam_host_role(iam, NULL, 0, S("h1.internal"));
	CHECK(r && strcmp(r->name, "host") == 0);
	/* The whole subject wins over the common name. */
	r = gw_iam_host_role(iam, S("CN=h2.internal,O=Example"), S("h1.internal"));
	CHECK(r && strcmp(r->name, "web") == 0);
	CHECK(gw_iam_host_role(iam, S("CN=h2.internal,O=Other"), S("h2.internal")) == NULL);
	CHECK(gw_iam_host_role(iam, NULL, 0, S("H1.internal")) == NULL); /* exact */
	CHECK(gw_iam_host_role(iam, NULL, 0, S("h1.internal.evil")) == NULL);
	gw_iam_unref(iam);
	fx_done(&f);
}

static void t_live_swap(void)
{
	struct fx f;
	fx_init(&f);
	struct gw_iam_live live;
	CHECK_INT(gw_iam_live_init(&live), GW_IAM_OK);
	CHECK(gw_iam_live_get(&live) == NULL);
	bool changed = false;
	struct gw_iam_error err;
	CHECK_INT(gw_iam_live_refresh(&live, f.s, &changed, &err), GW_IAM_OK);
	CHECK(changed); /* the first snapshot, of an empty state */
	struct gw_iam *empty = gw_iam_live_get(&live);
	CHECK(empty && gw_iam_role(empty, S("web")) == NULL && gw_iam_generation(empty) == 0);
	CHECK_INT(gw_iam_live_refresh(&live, f.s, &changed, &err), GW_IAM_OK);
	CHECK(!changed);

	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	CHECK_INT(gw_iam_live_refresh(&live, f.s, &changed, &err), GW_IAM_OK);
	CHECK(changed);
	struct gw_iam *now = gw_iam_live_get(&live);
	CHECK(now && gw_iam_role(now, S("web")) != NULL && gw_iam_generation(now) == 1);
	/* The holder of the old snapshot still sees the old state, intact. */
	CHECK(empty && gw_iam_role(empty, S("web")) == NULL);
	gw_iam_unref(empty);
	/* A no-op apply does not rebuild. */
	CHECK_INT(apply_text(&f, base_file, &ch), GW_IAM_OK);
	gw_iam_changes_free(&ch);
	CHECK_INT(gw_iam_live_refresh(&live, f.s, &changed, &err), GW_IAM_OK);
	CHECK(!changed);
	struct gw_iam *same = gw_iam_live_get(&live);
	CHECK(same == now);
	gw_iam_unref(same);
	gw_iam_unref(now);
	gw_iam_live_destroy(&live);
	fx_done(&f);
}

static void t_oidc_in_snapshot(void)
{
	struct fx f;
	fx_init(&f);
	/* A JWKS with one P-256 key (RFC 7515 appendix A.3's public part). */
	char path[160];
	snprintf(path, sizeof(path), "%s/jwks.json", f.dir);
	FILE *fp = fopen(path, "w");
	if (!fp || fputs("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\","
	                 "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	                 "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}",
	                 fp) < 0)
		abort();
	fclose(fp);
	char *text = NULL;
	if (asprintf(&text,
	             "{\"account_id\":\"111122223333\",\"oidc_issuers\":[{\"issuer\":"
	             "\"https://id.example.com\",\"audiences\":[\"b\",\"a\"],\"jwks_file\":\"%s\","
	             "\"leeway\":5,\"role_claim\":\"role\",\"tag_claims\":{\"team\":\"Team\"}}]}",
	             path) < 0)
		abort();
	struct gw_iam_changes ch;
	CHECK_INT(apply_text(&f, text, &ch), GW_IAM_OK);
	CHECK(has_line(&ch, "+ oidc_issuer https://id.example.com"));
	gw_iam_changes_free(&ch);
	struct gw_iam *iam = NULL;
	struct gw_iam_error err;
	CHECK_INT(gw_iam_load(f.s, &iam, &err), GW_IAM_OK);
	size_t n = 0;
	const struct gw_jwt_issuer *iss = gw_iam_jwt_issuers(iam, &n);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(iss[0].issuer, "https://id.example.com");
		CHECK_INT(iss[0].n_audiences, 2);
		CHECK_INT(iss[0].leeway, 5);
		CHECK(iss[0].keys && iss[0].keys->n == 1);
		const struct gw_iam_oidc *o = gw_iam_oidc_for(iam, &iss[0]);
		CHECK(o && o->role_claim && strcmp(o->role_claim, "role") == 0);
		CHECK(o && o->n_tag_claims == 1 && strcmp(o->tag_claims[0].value, "Team") == 0);
	}
	struct gw_jwt_issuer stranger = {0};
	CHECK(gw_iam_oidc_for(iam, &stranger) == NULL);
	gw_iam_unref(iam);
	/* The key set is stored, so a removed file does not matter until the next
	 * apply, which then reports it. */
	unlink(path);
	CHECK_INT(gw_iam_load(f.s, &iam, &err), GW_IAM_OK);
	gw_iam_unref(iam);
	CHECK_INT(apply_text(&f, text, &ch), GW_IAM_ERR_INVALID);
	free(text);
	fx_done(&f);
}

static const struct check_case cases[] = {
    {"applying a file adds every entity; applying it again changes nothing and keeps the "
     "generation",
     t_apply_then_again},
    {"an export re-applies as no change and exports to the same text", t_export_round_trip},
    {"export refuses a store to which nothing was ever applied", t_export_before_apply},
    {"changed fields are named, and entities left out of the file are deleted",
     t_changes_and_deletes},
    {"unique ids are made once and kept when an entity changes", t_unique_ids_kept},
    {"the store refuses a replace from a stale generation and writes nothing",
     t_stale_generation_refused},
    {"the store refuses a replace with a dangling reference and keeps the old state whole",
     t_dangling_reference_refused},
    {"a file with one bad policy changes nothing in the store", t_invalid_file_writes_nothing},
    {"a new access key without a master key is refused and nothing is written",
     t_new_key_needs_master_key},
    {"a generated secret is not in the database bytes and opens only with its key id and key",
     t_secret_sealed},
    {"a secret_file is compared with the stored secret: same file no change, new secret "
     "resealed",
     t_secret_file_compared},
    {"a role is found by name without case, and by ARN only with this account and its path",
     t_lookup_roles},
    {"an access key id finds its user; a shorter, longer or lower-case id finds nothing",
     t_lookup_access_keys},
    {"policies_for gives inline, attached and boundary policies, then the session policy",
     t_policies_for},
    {"a role's policies allow what they grant and its boundary denies what it does not allow",
     t_snapshot_decides},
    {"a host certificate maps by whole subject before common name, exactly, or not at all",
     t_host_roles},
    {"the live snapshot is swapped when the generation moves and old holders keep theirs",
     t_live_swap},
    {"an OIDC issuer in the snapshot is ready to verify, with its role and tag claims",
     t_oidc_in_snapshot},
};

CHECK_MAIN(cases)
