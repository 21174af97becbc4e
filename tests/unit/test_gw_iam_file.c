/*
 * test_gw_iam_file.c - the IAM file's parser and validator (gateway/iam_file.c).
 *
 * Each rule is tested from both sides: the value at the limit that must pass
 * next to the one just past it that must fail, and every refusal is checked
 * for the path it names in the file, because the path is what an author acts
 * on. Files that point at other files (secret files, issuer keys) get them in
 * a fresh temporary folder.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gateway/iam.h"
#include "tests/unit/check.h"

#define TRUST                                                                                      \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"         \
	"\"Service\":\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"
#define ALLOW(a)                                                                                   \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"" a         \
	"\",\"Resource\":\"*\"}]}"
#define ACCOUNT "\"account_id\":\"111122223333\""

static char tmpdir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-iamfile-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp(), name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		abort();
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n || fchmod(fd, mode) != 0)
		abort();
	close(fd);
}

/* A file's diagnostics, kept for checks; the spec freed unless wanted. */
struct parsed {
	int rc;
	struct gw_iam_spec spec;
	struct gw_iam_diags d;
};

static struct parsed parse(const char *text)
{
	struct parsed p;
	p.rc = gw_iam_file_parse(text, strlen(text), tmp(), &p.spec, &p.d);
	return p;
}

__attribute__((format(printf, 1, 2))) static struct parsed parsef(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	struct parsed p = parse(text);
	free(text);
	return p;
}

static void done(struct parsed *p)
{
	gw_iam_spec_free(&p->spec);
	gw_iam_diags_free(&p->d);
}

/* An error at exactly this path whose message contains `words`. */
static bool has_error(const struct parsed *p, const char *path, const char *words)
{
	for (size_t i = 0; i < p->d.count; i++) {
		const struct gw_iam_diag *g = &p->d.items[i];
		if (!g->warning && strcmp(g->path, path) == 0 &&
		    (!words || strstr(g->message, words)))
			return true;
	}
	printf("    no error at \"%s\" saying \"%s\"; got:\n", path, words ? words : "");
	for (size_t i = 0; i < p->d.count; i++)
		printf("      %s: %s\n", p->d.items[i].path, p->d.items[i].message);
	return false;
}

static bool valid(struct parsed *p)
{
	if (p->rc == GW_IAM_OK)
		return true;
	for (size_t i = 0; i < p->d.count; i++)
		printf("    unexpected: %s: %s\n", p->d.items[i].path, p->d.items[i].message);
	return false;
}

/* ---- a good file ---- */

static const char good[] =
    "{" ACCOUNT ","
    "\"managed_policies\":["
    " {\"name\":\"zeta\",\"path\":\"/ops/\",\"versions\":["
    "   {\"id\":\"v10\",\"default\":true,\"document\":" ALLOW(
        "ecs:List*") "},"
                     "   {\"id\":\"v2\",\"document\":" ALLOW(
                         "ecs:Describe*") "}]},"
                                          " {\"name\":\"Alpha\",\"versions\":[{\"id\":\"v1\","
                                          "\"default\":true,\"document\":" ALLOW(
                                              "ecs:*") "}]}],"
                                                       "\"roles\":["
                                                       " {\"name\":\"web\",\"trust_policy\":" TRUST
                                                       ",\"managed_policies\":["
                                                       "   "
                                                       "\"arn:aws:iam::111122223333:policy/ops/"
                                                       "zeta\",\"alpha\"],"
                                                       "  "
                                                       "\"permissions_boundary\":\"Alpha\","
                                                       "\"tags\":{\"team\":\"web\",\"Env\":"
                                                       "\"prod\"},"
                                                       "  \"inline_policies\":{\"b\":" ALLOW(
                                                           "ecs:RunTask") ",\"a\":" ALLOW("ecs:"
                                                                                          "StopTas"
                                                                                          "k") "}},"
                                                                                               " {"
                                                                                               "\"n"
                                                                                               "ame"
                                                                                               "\":"
                                                                                               "\"A"
                                                                                               "pi"
                                                                                               "\","
                                                                                               "\"p"
                                                                                               "ath"
                                                                                               "\":"
                                                                                               "\"/"
                                                                                               "svc"
                                                                                               "/\""
                                                                                               ",\""
                                                                                               "des"
                                                                                               "cri"
                                                                                               "pti"
                                                                                               "on"
                                                                                               "\":"
                                                                                               "\"t"
                                                                                               "he "
                                                                                               "API"
                                                                                               "\","
                                                                                               "  "
                                                                                               "\"m"
                                                                                               "ax_"
                                                                                               "ses"
                                                                                               "sio"
                                                                                               "n_"
                                                                                               "dur"
                                                                                               "ati"
                                                                                               "on"
                                                                                               "\":"
                                                                                               "720"
                                                                                               "0,"
                                                                                               "\"t"
                                                                                               "rus"
                                                                                               "t_"
                                                                                               "pol"
                                                                                               "icy"
                                                                                               "\""
                                                                                               ":" TRUST
                                                                                               "}],"
                                                                                               "\"u"
                                                                                               "ser"
                                                                                               "s\""
                                                                                               ":[{"
                                                                                               "\"n"
                                                                                               "ame"
                                                                                               "\":"
                                                                                               "\"c"
                                                                                               "i\""
                                                                                               ",\""
                                                                                               "acc"
                                                                                               "ess"
                                                                                               "_ke"
                                                                                               "ys"
                                                                                               "\":"
                                                                                               "[{"
                                                                                               "\"i"
                                                                                               "d\""
                                                                                               ":\""
                                                                                               "AKI"
                                                                                               "AZZ"
                                                                                               "ZZZ"
                                                                                               "ZZZ"
                                                                                               "ZZZ"
                                                                                               "ZZZ"
                                                                                               "Z1"
                                                                                               "\"}"
                                                                                               ","
                                                                                               "  "
                                                                                               "{\""
                                                                                               "id"
                                                                                               "\":"
                                                                                               "\"A"
                                                                                               "KIA"
                                                                                               "AAA"
                                                                                               "AAA"
                                                                                               "AAA"
                                                                                               "AAA"
                                                                                               "AAA"
                                                                                               "1\""
                                                                                               ",\""
                                                                                               "sta"
                                                                                               "tus"
                                                                                               "\":"
                                                                                               "\"I"
                                                                                               "nac"
                                                                                               "tiv"
                                                                                               "e\""
                                                                                               "}]}"
                                                                                               "],"
                                                                                               "\"h"
                                                                                               "ost"
                                                                                               "_ma"
                                                                                               "ppi"
                                                                                               "ngs"
                                                                                               "\":"
                                                                                               "[{"
                                                                                               "\"s"
                                                                                               "ubj"
                                                                                               "ect"
                                                                                               "_cn"
                                                                                               "\":"
                                                                                               "\"h"
                                                                                               "1\""
                                                                                               ",\""
                                                                                               "rol"
                                                                                               "e\""
                                                                                               ":\""
                                                                                               "WEB"
                                                                                               "\"}"
                                                                                               "]"
                                                                                               "}";

static void t_good_file(void)
{
	struct parsed p = parse(good);
	CHECK(valid(&p));
	const struct store_iam *st = &p.spec.state;
	CHECK_STR(st->account_id, "111122223333");
	CHECK_INT(st->n_policies, 2);
	CHECK_INT(st->n_roles, 2);
	if (st->n_policies == 2 && st->n_roles == 2 && st->n_users == 1 && st->n_access_keys == 2) {
		/* Sorted without case; versions by number. */
		CHECK_STR(st->policies[0].name, "Alpha");
		CHECK_STR(st->policies[0].path, "/");
		CHECK_STR(st->policies[1].versions[0].name, "v2");
		CHECK_STR(st->policies[1].versions[1].name, "v10");
		CHECK_STR(st->policies[1].default_version, "v10");
		CHECK_STR(st->roles[0].name, "Api");
		CHECK_INT(st->roles[0].max_session_duration, 7200);
		CHECK_STR(st->roles[0].description, "the API");
		const struct store_iam_principal *web = &st->roles[1];
		CHECK_INT(web->max_session_duration, 3600);
		CHECK_STR(web->path, "/");
		/* References resolve to the policies' own names. */
		CHECK_INT(web->n_managed, 2);
		if (web->n_managed == 2) {
			CHECK_STR(web->managed_policies[0], "Alpha");
			CHECK_STR(web->managed_policies[1], "zeta");
		}
		CHECK_STR(web->permissions_boundary, "Alpha");
		CHECK_INT(web->n_inline, 2);
		if (web->n_inline == 2)
			CHECK_STR(web->inline_policies[0].name, "a");
		CHECK_INT(web->n_tags, 2);
		if (web->n_tags == 2)
			CHECK_STR(web->tags[0].key, "Env");
		CHECK(web->trust_policy && strstr(web->trust_policy, "ecs-tasks.amazonaws.com"));
		CHECK_STR(st->access_keys[0].id, "AKIAAAAAAAAAAAAAAAA1");
		CHECK(!st->access_keys[0].active);
		CHECK(st->access_keys[1].active);
		CHECK_STR(st->access_keys[0].user, "ci");
		CHECK(p.spec.secrets && !p.spec.secrets[0].secret_file);
		CHECK_INT(st->n_host_mappings, 1);
		if (st->n_host_mappings == 1)
			CHECK_STR(st->host_mappings[0].role, "web");
		CHECK(st->users[0].unique_id == NULL); /* only apply knows ids */
	}
	done(&p);
}

static void t_formatting_does_not_matter(void)
{
	struct parsed a = parsef("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"trust_policy\":" TRUST
	                         ",\"inline_policies\":{\"p\":" ALLOW("ecs:RunTask") "}}]}");
	struct parsed b =
	    parse("{\n  \"roles\": [ {\"inline_policies\": {\"p\": {\"Statement\": [ "
	          "{\"Resource\": \"*\",\n"
	          "  \"Action\": \"ecs:RunTask\", \"Effect\": \"Allow\"} ], \"Version\": "
	          "\"2012-10-17\"}},\n"
	          "  \"trust_policy\": " TRUST ", \"name\": \"r\" } ],\n  " ACCOUNT "\n}\n");
	CHECK(valid(&a) && valid(&b));
	if (a.rc == GW_IAM_OK && b.rc == GW_IAM_OK && a.spec.state.n_roles == 1 &&
	    b.spec.state.n_roles == 1 && a.spec.state.roles[0].n_inline == 1 &&
	    b.spec.state.roles[0].n_inline == 1)
		CHECK_STR(a.spec.state.roles[0].inline_policies[0].document,
		          b.spec.state.roles[0].inline_policies[0].document);
	done(&a);
	done(&b);
}

/* ---- errors and their paths ---- */

static void t_all_errors_with_paths(void)
{
	struct parsed p =
	    parse("{\"account_id\":\"12\",\"rolez\":[],"
	          "\"roles\":[{\"name\":\"ok\",\"trust_policy\":" TRUST "},"
	          " {\"name\":\"bad name\",\"trust_policy\":" TRUST "},"
	          " {\"name\":\"r3\",\"max_session_duration\":1,\"trust_policy\":" TRUST "}],"
	          "\"users\":[{\"name\":\"u\",\"managed_policies\":[\"nope\"]}]}");
	CHECK_INT(p.rc, GW_IAM_ERR_INVALID);
	CHECK(p.d.errors >= 5);
	CHECK(has_error(&p, "account_id", "12 digits"));
	CHECK(has_error(&p, "rolez", "unknown key"));
	CHECK(has_error(&p, "roles[1].name", "1 to 64"));
	CHECK(has_error(&p, "roles[2].max_session_duration", "between 3600 and 43200"));
	CHECK(has_error(&p, "users[0].managed_policies[0]", "no managed policy \"nope\""));
	done(&p);
}

static void t_policy_error_path(void)
{
	struct parsed p = parse(
	    "{" ACCOUNT ",\"roles\":[{\"name\":\"a\",\"trust_policy\":" TRUST "},"
	    "{\"name\":\"b\",\"trust_policy\":" TRUST ",\"inline_policies\":{\"orders\":"
	    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:"
	    "RunTask\","
	    "\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":5,\"Resource\":\"*\"}]}}}]}");
	CHECK_INT(p.rc, GW_IAM_ERR_INVALID);
	CHECK(has_error(&p, "roles[1].inline_policies.orders.Statement[1].Action", NULL));
	done(&p);
}

static void t_policy_types(void)
{
	/* A trust policy must name a Principal; an identity policy must not. */
	struct parsed bad = parse("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"trust_policy\":" ALLOW(
	    "sts:AssumeRole") ","
	                      "\"inline_policies\":{\"p\":" TRUST "}}]}");
	CHECK_INT(bad.rc, GW_IAM_ERR_INVALID);
	bool trust_err = false, inline_err = false;
	for (size_t i = 0; i < bad.d.count; i++) {
		trust_err |= strncmp(bad.d.items[i].path, "roles[0].trust_policy", 21) == 0;
		inline_err |= strncmp(bad.d.items[i].path, "roles[0].inline_policies.p", 26) == 0;
	}
	CHECK(trust_err);
	CHECK(inline_err);
	done(&bad);
	struct parsed ok =
	    parse("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"trust_policy\":" TRUST ","
	          "\"inline_policies\":{\"p\":" ALLOW("ecs:RunTask") "}}]}");
	CHECK(valid(&ok));
	done(&ok);
	struct parsed missing = parse("{" ACCOUNT ",\"roles\":[{\"name\":\"r\"}]}");
	CHECK(has_error(&missing, "roles[0].trust_policy", "required"));
	done(&missing);
}

/* An inline policy document whose canonical form is exactly `chars`
 * characters (without white space), built around a Sid of the right length. */
static char *doc_of_size(size_t chars)
{
	const char *shell = "{\"Statement\":[{\"Action\":\"ecs:RunTask\",\"Effect\":\"Allow\","
	                    "\"Resource\":\"*\",\"Sid\":\"\"}],\"Version\":\"2012-10-17\"}";
	size_t base = strlen(shell);
	if (chars < base)
		abort();
	size_t sid = chars - base;
	char *s = malloc(chars + 1);
	if (!s)
		abort();
	const char *cut = strstr(shell, "\"Sid\":\"") + 7;
	size_t head = (size_t)(cut - shell);
	memcpy(s, shell, head);
	for (size_t i = 0; i < sid; i++)
		s[head + i] = (char)('a' + (char)(i % 26));
	memcpy(s + head + sid, cut, strlen(cut) + 1);
	return s;
}

static struct parsed with_inline(const char *kind, size_t a, size_t b)
{
	char *da = doc_of_size(a), *db = doc_of_size(b);
	struct parsed p;
	if (strcmp(kind, "roles") == 0)
		p = parsef("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"trust_policy\":" TRUST
		           ",\"inline_policies\":{\"one\":%s,\"two\":%s}}]}",
		           da, db);
	else
		p = parsef("{" ACCOUNT
		           ",\"users\":[{\"name\":\"u\",\"inline_policies\":{\"one\":%s,"
		           "\"two\":%s}}]}",
		           da, db);
	free(da);
	free(db);
	return p;
}

static void t_role_inline_aggregate(void)
{
	struct parsed at = with_inline("roles", 5120, 5120);
	CHECK(valid(&at));
	done(&at);
	struct parsed over = with_inline("roles", 5120, 5121);
	CHECK(has_error(&over, "roles[0].inline_policies", "10241 characters"));
	done(&over);
}

static void t_user_inline_aggregate(void)
{
	struct parsed at = with_inline("users", 1024, 1024);
	CHECK(valid(&at));
	done(&at);
	struct parsed over = with_inline("users", 1024, 1025);
	CHECK(has_error(&over, "users[0].inline_policies", "at most 2048"));
	done(&over);
}

/* ---- names, paths, tags, numbers ---- */

static void t_names(void)
{
	char name64[65], name65[66];
	memset(name64, 'a', 64);
	name64[64] = '\0';
	memset(name65, 'a', 65);
	name65[65] = '\0';
	struct parsed ok = parsef("{" ACCOUNT ",\"roles\":[{\"name\":\"%s\",\"trust_policy\":" TRUST
	                          "},{\"name\":\"a_+=,.@-Z9\",\"trust_policy\":" TRUST "}]}",
	                          name64);
	CHECK(valid(&ok));
	done(&ok);
	const char *bad[] = {name65, "", "has space", "slash/no", "t\\u00e9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parsed p =
		    parsef("{" ACCOUNT ",\"roles\":[{\"name\":\"%s\",\"trust_policy\":" TRUST "}]}",
		           bad[i]);
		CHECK(has_error(&p, "roles[0].name", "1 to 64"));
		done(&p);
	}
}

static void t_paths(void)
{
	struct parsed ok =
	    parse("{" ACCOUNT ",\"users\":[{\"name\":\"a\",\"path\":\"/\"},{\"name\":\"b\","
	          "\"path\":\"/x/y-z/\"}]}");
	CHECK(valid(&ok));
	done(&ok);
	const char *bad[] = {"x/", "/x", "", "/a b/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parsed p =
		    parsef("{" ACCOUNT ",\"users\":[{\"name\":\"a\",\"path\":\"%s\"}]}", bad[i]);
		CHECK(has_error(&p, "users[0].path", "starts and ends"));
		done(&p);
	}
}

static struct parsed with_tags(size_t n, size_t key_len, size_t value_len)
{
	json_t *tags = json_object();
	for (size_t i = 0; i < n; i++) {
		char key[200], value[300];
		int kn = snprintf(key, sizeof(key), "k%zu-", i);
		while ((size_t)kn < key_len && (size_t)kn < sizeof(key) - 1)
			key[kn++] = 'x';
		key[kn] = '\0';
		memset(value, 'v', value_len);
		value[value_len] = '\0';
		json_object_set_new(tags, key, json_string(value));
	}
	char *t = json_dumps(tags, JSON_COMPACT);
	json_decref(tags);
	struct parsed p = parsef("{" ACCOUNT ",\"users\":[{\"name\":\"u\",\"tags\":%s}]}", t);
	free(t);
	return p;
}

static void t_tag_count(void)
{
	struct parsed ok = with_tags(50, 5, 3);
	CHECK(valid(&ok));
	done(&ok);
	struct parsed over = with_tags(51, 5, 3);
	CHECK(has_error(&over, "users[0].tags", "at most 50"));
	done(&over);
}

static void t_tag_lengths(void)
{
	struct parsed ok = with_tags(1, 128, 256);
	CHECK(valid(&ok));
	done(&ok);
	struct parsed long_key = with_tags(1, 129, 1);
	CHECK(long_key.rc == GW_IAM_ERR_INVALID && long_key.d.errors == 1);
	done(&long_key);
	struct parsed long_value = with_tags(1, 3, 257);
	CHECK(long_value.rc == GW_IAM_ERR_INVALID && long_value.d.errors == 1);
	done(&long_value);
	struct parsed empty_value = with_tags(1, 3, 0);
	CHECK(valid(&empty_value));
	done(&empty_value);
}

static void t_tag_rules(void)
{
	struct parsed p = parse("{" ACCOUNT ",\"users\":[{\"name\":\"u\",\"tags\":{\"AWS:x\":\"1\","
	                        "\"Team\":\"a\",\"team\":\"b\",\"bad!\":\"c\"}}]}");
	CHECK(has_error(&p, "users[0].tags.AWS:x", "reserved"));
	CHECK(has_error(&p, "users[0].tags.team", "without case"));
	CHECK(has_error(&p, "users[0].tags.bad!", "letters, digits"));
	done(&p);
	struct parsed ok =
	    parse("{" ACCOUNT ",\"users\":[{\"name\":\"u\",\"tags\":{\"cost center:a/b"
	          "=+-@_.\":\"x y\",\"\\u00e9quipe\":\"caf\\u00e9\"}}]}");
	CHECK(valid(&ok));
	done(&ok);
}

static void t_session_duration(void)
{
	long ok_values[] = {3600, 43200};
	for (size_t i = 0; i < 2; i++) {
		struct parsed p =
		    parsef("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"max_session_duration\":"
		           "%ld,\"trust_policy\":" TRUST "}]}",
		           ok_values[i]);
		CHECK(valid(&p));
		done(&p);
	}
	long bad_values[] = {3599, 43201};
	for (size_t i = 0; i < 2; i++) {
		struct parsed p =
		    parsef("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"max_session_duration\":"
		           "%ld,\"trust_policy\":" TRUST "}]}",
		           bad_values[i]);
		CHECK(has_error(&p, "roles[0].max_session_duration", "between"));
		done(&p);
	}
	struct parsed s = parse("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"max_session_duration\":"
	                        "\"3600\",\"trust_policy\":" TRUST "}]}");
	CHECK(has_error(&s, "roles[0].max_session_duration", "integer"));
	done(&s);
}

static void t_duplicates(void)
{
	struct parsed p =
	    parse("{" ACCOUNT ",\"managed_policies\":[{\"name\":\"P\",\"versions\":[{\"id\":\"v1\","
	          "\"default\":true,\"document\":" ALLOW(
	              "ecs:*") "}]},{\"name\":\"p\",\"versions\":[{\"id\":"
	                       "\"v1\",\"default\":true,\"document\":" ALLOW(
	                           "ecs:*") "}]}],"
	                                    "\"roles\":[{\"name\":\"Web\",\"trust_policy\":" TRUST
	                                    "},{\"name\":\"WEB\","
	                                    "\"trust_policy\":" TRUST
	                                    "}],\"users\":[{\"name\":\"u\"},{\"name\":\"U\"}]}");
	CHECK(has_error(&p, "managed_policies[1].name", "already defined"));
	CHECK(has_error(&p, "roles[1].name", "already defined"));
	CHECK(has_error(&p, "users[1].name", "already defined"));
	done(&p);
	/* A role and a user may share a name: they are different kinds. */
	struct parsed ok =
	    parse("{" ACCOUNT ",\"roles\":[{\"name\":\"x\",\"trust_policy\":" TRUST "}],"
	          "\"users\":[{\"name\":\"x\"}]}");
	CHECK(valid(&ok));
	done(&ok);
}

static void t_references(void)
{
	const char *pol =
	    "\"managed_policies\":[{\"name\":\"p\",\"path\":\"/a/\",\"versions\":[{\"id\":"
	    "\"v1\",\"default\":true,\"document\":" ALLOW("ecs:*") "}]}]";
	struct parsed ok =
	    parsef("{" ACCOUNT ",%s,\"users\":[{\"name\":\"u\",\"managed_policies\":["
	           "\"arn:aws:iam::111122223333:policy/a/p\"],\"permissions_boundary\":"
	           "\"P\"}]}",
	           pol);
	CHECK(valid(&ok));
	done(&ok);
	struct parsed bad = parsef(
	    "{" ACCOUNT ",%s,\"users\":[{\"name\":\"u\",\"managed_policies\":["
	    "\"arn:aws:iam::444455556666:policy/a/p\",\"arn:aws:iam::111122223333:policy/p\","
	    "\"arn:aws:iam::aws:policy/"
	    "ReadOnlyAccess\",\"p\",\"p\"],\"permissions_boundary\":\"q\"}],"
	    "\"host_mappings\":[{\"subject_cn\":\"h\",\"role\":\"nobody\"}]}",
	    pol);
	CHECK(has_error(&bad, "users[0].managed_policies[0]", "another account"));
	CHECK(has_error(&bad, "users[0].managed_policies[1]", "has path /a/"));
	CHECK(has_error(&bad, "users[0].managed_policies[2]", "AWS managed policy"));
	CHECK(has_error(&bad, "users[0].managed_policies[4]", "attached twice"));
	CHECK(has_error(&bad, "users[0].permissions_boundary", "no managed policy \"q\""));
	CHECK(has_error(&bad, "host_mappings[0].role", "no role \"nobody\""));
	done(&bad);
}

static void t_account(void)
{
	const char *bad[] = {"\"11112222333\"", "\"1111222233334\"", "\"11112222333a\"",
	                     "111122223333"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parsed p = parsef("{\"account_id\":%s}", bad[i]);
		CHECK(has_error(&p, "account_id", NULL));
		done(&p);
	}
	struct parsed none = parse("{}");
	CHECK(has_error(&none, "account_id", "required"));
	done(&none);
	struct parsed ok = parse("{" ACCOUNT "}");
	CHECK(valid(&ok));
	done(&ok);
}

static void t_versions(void)
{
	struct parsed none =
	    parse("{" ACCOUNT ",\"managed_policies\":[{\"name\":\"p\",\"versions\":["
	          "{\"id\":\"v1\",\"document\":" ALLOW("ecs:*") "}]}]}");
	CHECK(has_error(&none, "managed_policies[0].versions", "exactly one"));
	done(&none);
	struct parsed two =
	    parse("{" ACCOUNT ",\"managed_policies\":[{\"name\":\"p\",\"versions\":["
	          "{\"id\":\"v1\",\"default\":true,\"document\":" ALLOW(
	              "ecs:*") "},"
	                       "{\"id\":\"v1\",\"default\":true,\"document\":" ALLOW(
	                           "ecs:*") "},"
	                                    "{\"id\":\"1\",\"document\":" ALLOW("ecs:*") "}]}]}");
	CHECK(has_error(&two, "managed_policies[0].versions", "exactly one"));
	CHECK(has_error(&two, "managed_policies[0].versions[1].id", "defined twice"));
	CHECK(has_error(&two, "managed_policies[0].versions[2].id", "\"v\" and a number"));
	done(&two);
	char *six = NULL;
	if (asprintf(
	        &six,
	        "{" ACCOUNT ",\"managed_policies\":[{\"name\":\"p\",\"versions\":["
	        "{\"id\":\"v1\",\"default\":true,\"document\":%s},{\"id\":\"v2\",\"document\":%s},"
	        "{\"id\":\"v3\",\"document\":%s},{\"id\":\"v4\",\"document\":%s},"
	        "{\"id\":\"v5\",\"document\":%s}%s]}]}",
	        ALLOW("ecs:*"), ALLOW("ecs:*"), ALLOW("ecs:*"), ALLOW("ecs:*"), ALLOW("ecs:*"),
	        ",{\"id\":\"v6\",\"document\":" ALLOW("ecs:*") "}") < 0)
		abort();
	struct parsed p6 = parse(six);
	CHECK(has_error(&p6, "managed_policies[0].versions", "1 to 5"));
	done(&p6);
	free(six);
	/* A managed document must be 2012-10-17. */
	struct parsed old = parse(
	    "{" ACCOUNT ",\"managed_policies\":[{\"name\":\"p\",\"versions\":[{\"id\":\"v1\","
	    "\"default\":true,\"document\":{\"Version\":\"2008-10-17\",\"Statement\":[{\"Effect\":"
	    "\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}}]}]}");
	CHECK_INT(old.rc, GW_IAM_ERR_INVALID);
	bool at_doc = false;
	for (size_t i = 0; i < old.d.count; i++)
		at_doc |= strncmp(old.d.items[i].path, "managed_policies[0].versions[0].document",
		                  40) == 0;
	CHECK(at_doc);
	done(&old);
}

static void t_access_keys(void)
{
	struct parsed p =
	    parse("{" ACCOUNT ",\"users\":[{\"name\":\"a\",\"access_keys\":[{\"id\":\"AKIA123\"},"
	          "{\"id\":\"ASIAAAAAAAAAAAAAAAA1\"},{\"id\":\"AKIAAAAAAAAAAAAAAAA1\",\"status\":"
	          "\"on\"}]},"
	          "{\"name\":\"b\",\"access_keys\":[{\"id\":\"AKIABBBBBBBBBBBBBBB1\"}]},"
	          "{\"name\":\"c\",\"access_keys\":[{\"id\":\"AKIABBBBBBBBBBBBBBB1\"}]}]}");
	CHECK(has_error(&p, "users[0].access_keys", "at most 2"));
	CHECK(has_error(&p, "users[0].access_keys[0].id", "AKIA"));
	CHECK(has_error(&p, "users[0].access_keys[1].id", "AKIA"));
	CHECK(has_error(&p, "users[0].access_keys[2].status", "Active"));
	CHECK(has_error(&p, "users[2].access_keys[0].id", "already given to user b"));
	done(&p);
}

static void t_secret_files(void)
{
	const char secret[] = "abcdefghijABCDEFGHIJ0123456789+/abcdefgh";
	write_file("open.secret", secret, 0644);
	write_file("good.secret", "abcdefghijABCDEFGHIJ0123456789+/abcdefgh\n", 0600);
	write_file("short.secret", "abc\n", 0600);
	struct parsed bad = parse(
	    "{" ACCOUNT ",\"users\":[{\"name\":\"u\",\"access_keys\":["
	    "{\"id\":\"AKIAAAAAAAAAAAAAAAA1\",\"secret_file\":\"open.secret\"},"
	    "{\"id\":\"AKIAAAAAAAAAAAAAAAA2\",\"secret_file\":\"short.secret\"}]},"
	    "{\"name\":\"v\",\"access_keys\":[{\"id\":\"AKIAAAAAAAAAAAAAAAA3\",\"secret_file\":"
	    "\"missing.secret\"}]}]}");
	CHECK(has_error(&bad, "users[0].access_keys[0].secret_file", "chmod 600"));
	CHECK(has_error(&bad, "users[0].access_keys[1].secret_file", "40 characters"));
	CHECK(has_error(&bad, "users[1].access_keys[0].secret_file", "cannot open"));
	done(&bad);
	struct parsed ok =
	    parse("{" ACCOUNT ",\"users\":[{\"name\":\"u\",\"access_keys\":["
	          "{\"id\":\"AKIAAAAAAAAAAAAAAAA1\",\"secret_file\":\"good.secret\"}]}]}");
	CHECK(valid(&ok));
	if (ok.rc == GW_IAM_OK) {
		CHECK_INT(ok.spec.secrets[0].secret.n, 40);
		CHECK(memcmp(ok.spec.secrets[0].secret.p, secret, 40) == 0);
		CHECK_STR(ok.spec.secrets[0].secret_file, "good.secret");
	}
	done(&ok);
}

static void t_host_mappings(void)
{
	struct parsed p = parse(
	    "{" ACCOUNT ",\"roles\":[{\"name\":\"h\",\"trust_policy\":" TRUST "}],"
	    "\"host_mappings\":[{\"role\":\"h\"},{\"subject_cn\":\"a\",\"subject\":\"CN=a\","
	    "\"role\":"
	    "\"h\"},{\"subject_cn\":\"x\",\"role\":\"h\"},{\"subject_cn\":\"x\",\"role\":\"h\"}]}");
	CHECK(has_error(&p, "host_mappings[0]", "exactly one of subject_cn and subject"));
	CHECK(has_error(&p, "host_mappings[1]", "exactly one of subject_cn and subject"));
	CHECK(has_error(&p, "host_mappings[3].subject_cn", "already mapped"));
	done(&p);
	struct parsed ok = parse(
	    "{" ACCOUNT ",\"roles\":[{\"name\":\"h\",\"trust_policy\":" TRUST "}],"
	    "\"host_mappings\":[{\"subject_cn\":\"x\",\"role\":\"h\"},{\"subject\":\"CN=x,O=Y\","
	    "\"role\":\"H\"}]}");
	CHECK(valid(&ok));
	done(&ok);
}

static void write_pem(const char *name)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp(), name);
	FILE *f = fopen(path, "w");
	if (!k || !f || PEM_write_PUBKEY(f, k) != 1)
		abort();
	fclose(f);
	EVP_PKEY_free(k);
}

static void t_oidc_issuers(void)
{
	write_pem("issuer.pem");
	write_file("not-a-key.pem", "hello\n", 0644);
	struct parsed ok = parse(
	    "{" ACCOUNT ",\"oidc_issuers\":[{\"issuer\":\"https://id.example.com\",\"audiences\":["
	    "\"tg\"],\"pem_file\":\"issuer.pem\",\"kid\":\"k1\",\"algorithms\":[\"ES256\"],"
	    "\"role_claim\":\"role\",\"tag_claims\":{\"team\":\"team\"}}]}");
	CHECK(valid(&ok));
	if (ok.rc == GW_IAM_OK && ok.spec.state.n_issuers == 1) {
		const struct store_iam_oidc_issuer *is = &ok.spec.state.issuers[0];
		CHECK_INT(is->leeway, GW_IAM_LEEWAY_DEFAULT);
		CHECK_INT(is->max_lifetime, GW_IAM_LIFETIME_DEFAULT);
		CHECK_STR(is->algorithms, "ES256");
		CHECK(is->key_document && strstr(is->key_document, "BEGIN PUBLIC KEY"));
	}
	done(&ok);
	struct parsed bad = parse(
	    "{" ACCOUNT ",\"oidc_issuers\":["
	    "{\"issuer\":\"http://id.example.com\",\"audiences\":[],\"pem_file\":\"issuer.pem\","
	    "\"leeway\":601},"
	    "{\"issuer\":\"https://b.example.com\",\"audiences\":[\"a\",\"a\"],\"pem_file\":"
	    "\"not-a-key.pem\",\"algorithms\":[\"HS256\"]},"
	    "{\"issuer\":\"https://c.example.com\",\"audiences\":[\"a\"]}]}");
	CHECK(has_error(&bad, "oidc_issuers[0].issuer", "https://"));
	CHECK(has_error(&bad, "oidc_issuers[0].audiences", "1 to 100"));
	CHECK(has_error(&bad, "oidc_issuers[0].leeway", "between 0 and 600"));
	CHECK(has_error(&bad, "oidc_issuers[1].audiences[1]", "listed twice"));
	CHECK(has_error(&bad, "oidc_issuers[1].algorithms[0]", "not one of"));
	CHECK(has_error(&bad, "oidc_issuers[1].pem_file", NULL));
	CHECK(has_error(&bad, "oidc_issuers[2]", "exactly one of jwks_file and pem_file"));
	done(&bad);
}

static void t_json_faults(void)
{
	struct parsed syntax = parse("{" ACCOUNT ",");
	CHECK(has_error(&syntax, "", "not valid JSON"));
	done(&syntax);
	struct parsed dup = parse("{" ACCOUNT "," ACCOUNT "}");
	CHECK(has_error(&dup, "", "not valid JSON"));
	done(&dup);
	struct parsed arr = parse("[]");
	CHECK(has_error(&arr, "", "must be a JSON object"));
	done(&arr);
	struct parsed typo = parse("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"trust_policy\":" TRUST
	                           ",\"inline_policy\":{}}]}");
	CHECK(has_error(&typo, "roles[0].inline_policy", "unknown key"));
	done(&typo);
	struct parsed str_doc =
	    parse("{" ACCOUNT ",\"roles\":[{\"name\":\"r\",\"trust_policy\":\"{}\"}]}");
	CHECK(has_error(&str_doc, "roles[0].trust_policy", "JSON object"));
	done(&str_doc);
	struct parsed nul = parse("{" ACCOUNT ",\"users\":[{\"name\":\"a\\u0000b\"}]}");
	CHECK(has_error(&nul, "", "not valid JSON")); /* jansson refuses \u0000 itself */
	done(&nul);
}

static const struct check_case cases[] = {
    {"a valid file parses into the canonical state: sorted, references by name, defaults filled",
     t_good_file},
    {"white space and key order in a document do not change its stored form",
     t_formatting_does_not_matter},
    {"every error of a file is reported, each with its path in the file", t_all_errors_with_paths},
    {"a policy's own error is reported under the path of the entity that holds it",
     t_policy_error_path},
    {"a trust policy must name a Principal and an identity policy must not", t_policy_types},
    {"a role's inline policies may total 10,240 characters but not 10,241",
     t_role_inline_aggregate},
    {"a user's inline policies may total 2,048 characters but not 2,049", t_user_inline_aggregate},
    {"names of 64 allowed characters pass; 65, empty, spaces, slashes and accents are refused",
     t_names},
    {"a path must start and end with a slash", t_paths},
    {"50 tags pass and 51 are refused", t_tag_count},
    {"tag keys of 128 and values of 256 characters pass, one more is refused", t_tag_lengths},
    {"tag keys starting with aws:, differing only in case, or with other characters are refused",
     t_tag_rules},
    {"max_session_duration accepts 3600 and 43200 and refuses 3599, 43201 and a string",
     t_session_duration},
    {"names of roles, users and managed policies are unique without regard to case", t_duplicates},
    {"references resolve by name or by an ARN of this account with the policy's path",
     t_references},
    {"the account id is required and must be exactly 12 digits in a string", t_account},
    {"a managed policy has 1 to 5 versions with v<number> ids and exactly one default", t_versions},
    {"access key ids are AKIA and 16 characters, unique, at most two per user", t_access_keys},
    {"a secret file must be private and hold a 40-character secret, which is read", t_secret_files},
    {"a host mapping has one of subject_cn and subject, a role from the file, and no twin",
     t_host_mappings},
    {"an OIDC issuer needs https, audiences, asymmetric algorithms and a key file that loads",
     t_oidc_issuers},
    {"JSON syntax errors, duplicate keys, unknown keys and NUL characters are refused",
     t_json_faults},
};

CHECK_MAIN(cases)
