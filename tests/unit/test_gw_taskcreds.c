/*
 * test_gw_taskcreds.c - task credentials from issuance to revocation, and the
 * task endpoint over a real loopback socket: the hooks are driven directly
 * with ECS-shaped task JSON, on a real store, IAM snapshot and key box.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "gateway/audit.h"
#include "gateway/authz.h"
#include "gateway/config.h"
#include "gateway/iam.h"
#include "gateway/keybox.h"
#include "gateway/log.h"
#include "gateway/principal.h"
#include "gateway/server.h"
#include "gateway/sts.h"
#include "gateway/task_endpoint.h"
#include "gateway/taskcreds.h"
#include "store/store.h"
#include "tests/unit/check.h"

#define ACCOUNT      "111122223333"
#define CLUSTER      "arn:aws:ecs:us-east-1:" ACCOUNT ":cluster/prod"
#define TASK_A       "arn:aws:ecs:us-east-1:" ACCOUNT ":task/prod/0123456789abcdef0123456789abcdef"
#define TASK_B       "arn:aws:ecs:us-east-1:" ACCOUNT ":task/prod/fedcba9876543210fedcba9876543210"
#define APP_ROLE     "arn:aws:iam::" ACCOUNT ":role/app"
#define EXEC_ROLE    "arn:aws:iam::" ACCOUNT ":role/exec"
#define NOTRUST_ROLE "arn:aws:iam::" ACCOUNT ":role/no-trust"

static const char iam_doc[] =
    "{\"account_id\":\"" ACCOUNT "\",\"roles\":["
    "{\"name\":\"app\",\"max_session_duration\":3600,\"trust_policy\":{\"Version\":\"2012-10-17\","
    "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ecs-tasks.amazonaws.com\"},"
    "\"Action\":\"sts:AssumeRole\"}]},\"inline_policies\":{\"ecs\":{\"Version\":\"2012-10-17\","
    "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}}},"
    "{\"name\":\"exec\",\"trust_policy\":{\"Version\":\"2012-10-17\","
    "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ecs-tasks.amazonaws.com\"},"
    "\"Action\":\"sts:AssumeRole\"}]}},"
    "{\"name\":\"no-trust\",\"trust_policy\":{\"Version\":\"2012-10-17\","
    "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},"
    "\"Action\":\"sts:AssumeRole\"}]}}]}";

/* ---- fixture ---- */

struct fx {
	char dir[64];
	char db[128];
	char logpath[128];
	struct gw_config cfg;
	struct gw_log log;
	struct gw_server srv;
	struct gw_taskcreds *tc;
	int64_t now;
	json_t *described; /* what the describe callback answers (task), or NULL */
	json_t *taskdef;
};

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int64_t fx_clock(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static int fx_describe(void *ctx, const char *cluster, const char *task_arn, json_t **task,
                       json_t **taskdef)
{
	struct fx *f = ctx;
	(void)cluster;
	if (!f->described ||
	    strcmp(json_string_value(json_object_get(f->described, "taskArn")), task_arn) != 0)
		return -1;
	*task = json_incref(f->described);
	*taskdef = json_incref(f->taskdef);
	return 0;
}

static void fx_config(struct fx *f)
{
	gw_config_defaults(&f->cfg);
	(void)gw_config_parse_listen("127.0.0.1:0", &f->cfg.task_endpoint.listen, NULL);
}

/* Everything but the task credentials object (fx_start makes it). */
static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-taskcreds-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->db, sizeof(f->db), "%s/taskgate.db", f->dir);
	snprintf(f->logpath, sizeof(f->logpath), "%s/log", f->dir);
	fx_config(f);
	int fd = open(f->logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || gw_log_init(&f->log, fd, GW_LOG_DEBUG, GW_LOG_FORMAT_JSON) != 0)
		abort();
	struct store_error se;
	if (store_open(f->db, NULL, &f->srv.store, &se) != STORE_OK)
		abort();
	unsigned char key[GW_KEYBOX_KEY_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 5 + 3);
	struct gw_keybox_error ke;
	if (gw_keybox_from_key(key, sizeof(key), &f->srv.keybox, &ke) != GW_KEYBOX_OK)
		abort();
	struct gw_iam_spec spec;
	struct gw_iam_diags d;
	if (gw_iam_file_parse(iam_doc, strlen(iam_doc), NULL, &spec, &d) != GW_IAM_OK) {
		for (size_t i = 0; i < d.count; i++)
			printf("    %s: %s\n", d.items[i].path, d.items[i].message);
		abort();
	}
	gw_iam_diags_free(&d);
	struct gw_iam_changes ch;
	struct gw_iam_error ie;
	if (gw_iam_apply(f->srv.store, &spec, f->srv.keybox, &ch, &ie) != GW_IAM_OK)
		abort();
	gw_iam_changes_free(&ch);
	gw_iam_spec_free(&spec);
	if (gw_iam_live_init(&f->srv.iam) != 0 ||
	    gw_iam_live_refresh(&f->srv.iam, f->srv.store, NULL, &ie) != GW_IAM_OK)
		abort();
	f->srv.cfg = &f->cfg;
	f->srv.log = &f->log;
	f->now = (int64_t)time(NULL);
}

static void fx_start(struct fx *f, const char *base)
{
	struct gw_taskcreds_options o = {
	    .srv = &f->srv,
	    .cfg = &f->cfg,
	    .endpoint_base = base,
	    .clock = fx_clock,
	    .clock_ctx = f,
	    .describe = fx_describe,
	    .describe_ctx = f,
	};
	char err[256];
	if (gw_taskcreds_new(&o, &f->tc, err, sizeof(err)) != 0) {
		printf("    %s\n", err);
		abort();
	}
}

static void fx_done(struct fx *f)
{
	gw_taskcreds_free(f->tc);
	gw_iam_live_destroy(&f->srv.iam);
	gw_keybox_free(f->srv.keybox);
	store_close(f->srv.store);
	gw_log_destroy(&f->log);
	close(f->log.fd);
	json_decref(f->described);
	json_decref(f->taskdef);
	nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static json_t *taskdef_of(const char *task_role, const char *exec_role)
{
	json_t *td = json_pack(
	    "{s:s, s:i, s:s, s:s, s:[{s:s, s:s, s:i, s:i, s:[{s:s, s:s}]}, {s:s, s:s, s:i}]}",
	    "family", "web", "revision", 3, "networkMode", "host", "cpu", "256",
	    "containerDefinitions", "name", "app", "image", "example/app:1", "cpu", 128, "memory",
	    256, "environment", "name", "AWS_REGION", "value", "eu-west-1", "name", "log", "image",
	    "example/log:1", "memory", 64);
	if (task_role)
		json_object_set_new(td, "taskRoleArn", json_string(task_role));
	if (exec_role)
		json_object_set_new(td, "executionRoleArn", json_string(exec_role));
	return td;
}

static json_t *task_of(const char *arn)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:f, s:[{s:s, s:s, s:s, s:[{s:i, s:i, s:s}]},"
	    " {s:s, s:s, s:s}]}",
	    "taskArn", arn, "clusterArn", CLUSTER, "lastStatus", "RUNNING", "desiredStatus",
	    "RUNNING", "createdAt", 1764500000.25, "containers", "name", "app", "containerArn",
	    "arn:aws:ecs:us-east-1:" ACCOUNT ":container/prod/x/app", "lastStatus", "RUNNING",
	    "networkBindings", "containerPort", 8080, "hostPort", 49153, "protocol", "tcp", "name",
	    "log", "containerArn", "arn:aws:ecs:us-east-1:" ACCOUNT ":container/prod/x/log",
	    "lastStatus", "RUNNING");
}

static const char *env_str(const json_t *env, const char *name)
{
	return json_string_value(json_object_get(env, name));
}

/* The id at the end of a credentials URI. */
static const char *id_of(const char *uri)
{
	const char *s = uri ? strrchr(uri, '/') : NULL;
	return s ? s + 1 : "";
}

static int start_task(struct fx *f, const char *arn, const json_t *td, json_t **env_out,
                      char *reason, size_t cap)
{
	json_t *task = task_of(arn);
	json_t *env = json_object();
	int rc = gw_taskcreds_starting(f->tc, task, td, env, reason, cap);
	json_decref(task);
	*env_out = env;
	return rc;
}

static int fetch(struct fx *f, const char *id, const char *authz, const char *ip,
                 struct gw_taskcreds_served *out)
{
	char msg[256];
	return gw_taskcreds_fetch(f->tc, id, strlen(id), authz, authz ? strlen(authz) : 0, ip, out,
	                          msg, sizeof(msg));
}

static struct gw_principal *principal_for(struct fx *f, const struct gw_taskcreds_served *c,
                                          int *status)
{
	struct gw_iam *iam = gw_iam_live_get(&f->srv.iam);
	struct gw_sts_env env = {
	    .store = f->srv.store, .box = f->srv.keybox, .iam = iam, .now = f->now};
	struct gw_principal *p = NULL;
	struct gw_sts_error e;
	*status = gw_sts_credentials(&env, c->access_key_id, strlen(c->access_key_id),
	                             (const char *)c->token.p, c->token.n, &p, NULL, &e);
	gw_iam_unref(iam);
	return p;
}

static bool file_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return needle[0] && memmem(buf, n, needle, strlen(needle)) != NULL;
}

/* ---- tests ---- */

static void test_issue_fills_environment(void)
{
	struct fx f;
	fx_init(&f);
	fx_start(&f, NULL);
	json_t *td = taskdef_of(APP_ROLE, EXEC_ROLE), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), 0);
	const char *rel = env_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	CHECK(rel && strncmp(rel, "/v2/credentials/", 16) == 0 && strlen(id_of(rel)) == 32);
	CHECK(json_object_get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") == NULL);
	CHECK(json_object_get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN") == NULL);
	CHECK_STR(env_str(env, "AWS_EXECUTION_ENV"), "AWS_ECS_EC2");
	/* per container: metadata URIs differ; region only where not set */
	json_t *app = sched_driver_env_for(env, "app"), *log = sched_driver_env_for(env, "log");
	const char *m1 = env_str(app, "ECS_CONTAINER_METADATA_URI_V4");
	const char *m2 = env_str(log, "ECS_CONTAINER_METADATA_URI_V4");
	CHECK(m1 && m2 && strcmp(m1, m2) != 0);
	CHECK(m1 && strncmp(m1, "http://169.254.170.2/v4/", 24) == 0);
	CHECK(strncmp(env_str(app, "ECS_CONTAINER_METADATA_URI"), "http://169.254.170.2/v3/", 24) ==
	      0);
	CHECK(json_object_get(app, "AWS_REGION") == NULL);
	CHECK_STR(env_str(log, "AWS_REGION"), "us-east-1");
	CHECK_STR(env_str(log, "AWS_DEFAULT_REGION"), "us-east-1");
	/* two audit records (task and execution issuance) */
	int64_t n = 0, last = 0;
	struct store_error se;
	CHECK_INT(store_audit_count(f.srv.store, &n, &last, &se), STORE_OK);
	CHECK_INT(n, 2);
	/* the id is nowhere in the database file */
	CHECK(!file_has(f.db, id_of(rel)));
	json_decref(app);
	json_decref(log);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

static void test_fetch_serves_bound_credentials(void)
{
	struct fx f;
	fx_init(&f);
	fx_start(&f, NULL);
	json_t *td = taskdef_of(APP_ROLE, NULL), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), 0);
	const char *id = id_of(env_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	struct gw_taskcreds_served c;
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c), GW_TASKCREDS_OK);
	CHECK(strncmp(c.access_key_id, "ASIA", 4) == 0);
	CHECK_INT(c.secret.n, 40);
	CHECK(c.token.n > 20);
	CHECK_STR(c.role_arn, APP_ROLE);
	CHECK_INT(strlen(c.expiration), 20);
	CHECK(!c.renewed);
	int st = 0;
	struct gw_principal *p = principal_for(&f, &c, &st);
	CHECK_INT(st, GW_STS_OK);
	if (p) {
		CHECK_STR(p->arn, "arn:aws:sts::" ACCOUNT
		                  ":assumed-role/app/0123456789abcdef0123456789abcdef");
		bool tagged = false;
		for (size_t i = 0; i < p->ntags; i++)
			if (strcmp(p->tags[i].key, "ecs:taskArn") == 0 &&
			    strcmp(p->tags[i].value, TASK_A) == 0)
				tagged = true;
		CHECK(tagged);
		/* the session policy keeps ECS calls in the task's cluster */
		struct policy_ctx_entry own = {.key = {"ecs:cluster", 11},
		                               .values =
		                                   &(struct policy_str){CLUSTER, strlen(CLUSTER)},
		                               .nvalues = 1};
		const char *other_c = "arn:aws:ecs:us-east-1:" ACCOUNT ":cluster/other";
		struct policy_ctx_entry other = {.key = {"ecs:cluster", 11},
		                                 .values =
		                                     &(struct policy_str){other_c, strlen(other_c)},
		                                 .nvalues = 1};
		struct gw_authz_request rq = {.action = "ecs:ListTasks",
		                              .resource = "*",
		                              .extra = &own,
		                              .n_extra = 1,
		                              .now = f.now};
		struct gw_authz_result res;
		gw_authorize(p, &rq, &res);
		CHECK(res.allowed);
		rq.extra = &other;
		gw_authorize(p, &rq, &res);
		CHECK(!res.allowed);
		/* an ECS action without a cluster (ListClusters) is not denied */
		struct gw_authz_request lc = {
		    .action = "ecs:ListClusters", .resource = "*", .now = f.now};
		gw_authorize(p, &lc, &res);
		CHECK(res.allowed);
		gw_principal_free(p);
	}
	/* the id fetches again; the secret is the same until renewal */
	struct gw_taskcreds_served c2;
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c2), GW_TASKCREDS_OK);
	CHECK_STR(c2.access_key_id, c.access_key_id);
	CHECK(c.secret.n == c2.secret.n && memcmp(c.secret.p, c2.secret.p, c.secret.n) == 0);
	/* nothing secret reached the log */
	CHECK(!file_has(f.logpath, (const char *)c.secret.p));
	CHECK(!file_has(f.logpath, (const char *)c.token.p));
	CHECK(!file_has(f.logpath, id));
	gw_taskcreds_served_clear(&c);
	gw_taskcreds_served_clear(&c2);
	/* unknown and malformed ids */
	CHECK_INT(fetch(&f, "00000000000000000000000000000000", NULL, "127.0.0.1", &c),
	          GW_TASKCREDS_UNKNOWN);
	CHECK_INT(fetch(&f, "../../etc", NULL, "127.0.0.1", &c), GW_TASKCREDS_UNKNOWN);
	CHECK_INT(fetch(&f, "", NULL, "127.0.0.1", &c), GW_TASKCREDS_NO_ID);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

static void test_untrusted_role_fails_start(void)
{
	struct fx f;
	fx_init(&f);
	fx_start(&f, NULL);
	json_t *td = taskdef_of(APP_ROLE, NOTRUST_ROLE), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "executionRoleArn") && strstr(reason, "ecs-tasks.amazonaws.com"));
	CHECK(json_object_size(env) == 0);
	/* the task role's credentials minted before the refusal are revoked */
	struct store_taskcred rows[2];
	size_t n = 9;
	struct store_error se;
	CHECK_INT(store_taskcred_for_task(f.srv.store, TASK_A, rows, 2, &n, &se), STORE_OK);
	CHECK_INT(n, 0);
	json_decref(env);
	json_decref(td);
	td = taskdef_of("arn:aws:iam::" ACCOUNT ":role/missing", NULL);
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "no such role") != NULL);
	json_decref(env);
	json_decref(td);
	/* a task without roles still gets metadata and region */
	td = taskdef_of(NULL, NULL);
	CHECK_INT(start_task(&f, TASK_B, td, &env, reason, sizeof(reason)), 0);
	CHECK(json_object_get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") == NULL);
	CHECK(json_object_get(env, "ECS_CONTAINER_METADATA_URI_V4") != NULL);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

static void test_renewal_before_expiry(void)
{
	struct fx f;
	fx_init(&f);
	f.cfg.task_credentials.lifetime_s = 900;
	f.cfg.task_credentials.renew_before_s = 600;
	fx_start(&f, NULL);
	json_t *td = taskdef_of(APP_ROLE, NULL), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), 0);
	const char *id = id_of(env_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	struct gw_taskcreds_served c1, c2, c3;
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c1), GW_TASKCREDS_OK);
	f.now += 299; /* 601 s left: not yet due */
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c2), GW_TASKCREDS_OK);
	CHECK_STR(c2.access_key_id, c1.access_key_id);
	CHECK(!c2.renewed);
	gw_taskcreds_served_clear(&c2);
	f.now += 2; /* 599 s left: renewed */
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c2), GW_TASKCREDS_OK);
	CHECK(c2.renewed);
	CHECK(strcmp(c2.access_key_id, c1.access_key_id) != 0);
	/* the old credentials stay valid until their own expiry */
	int st = 0;
	struct gw_principal *p = principal_for(&f, &c1, &st);
	CHECK_INT(st, GW_STS_OK);
	gw_principal_free(p);
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c3), GW_TASKCREDS_OK);
	CHECK_STR(c3.access_key_id, c2.access_key_id);
	CHECK(!c3.renewed);
	gw_taskcreds_served_clear(&c1);
	gw_taskcreds_served_clear(&c2);
	gw_taskcreds_served_clear(&c3);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

static void test_stop_revokes_at_once(void)
{
	struct fx f;
	fx_init(&f);
	fx_start(&f, NULL);
	json_t *td = taskdef_of(APP_ROLE, EXEC_ROLE), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), 0);
	const char *id = id_of(env_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	struct gw_taskcreds_served c;
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &c), GW_TASKCREDS_OK);
	json_t *task = task_of(TASK_A);
	gw_taskcreds_stopped(f.tc, task);
	struct gw_taskcreds_served after;
	CHECK_INT(fetch(&f, id, NULL, "127.0.0.1", &after), GW_TASKCREDS_UNKNOWN);
	int st = 0;
	struct gw_principal *p = principal_for(&f, &c, &st);
	CHECK(p == NULL);
	CHECK_INT(st, GW_STS_ERR_REVOKED);
	/* stopping twice is harmless */
	gw_taskcreds_stopped(f.tc, task);
	gw_taskcreds_served_clear(&c);
	json_decref(task);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

static void test_authorization_token_and_isolation(void)
{
	struct fx f;
	fx_init(&f);
	f.cfg.task_credentials.authorization_token = true;
	f.cfg.task_credentials.full_uri = true;
	fx_start(&f, "http://127.0.0.1:51679");
	json_t *td = taskdef_of(APP_ROLE, NULL), *ea = NULL, *eb = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &ea, reason, sizeof(reason)), 0);
	CHECK_INT(start_task(&f, TASK_B, td, &eb, reason, sizeof(reason)), 0);
	const char *full = env_str(ea, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	CHECK(full && strncmp(full, "http://127.0.0.1:51679/v2/credentials/", 38) == 0);
	CHECK(json_object_get(ea, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") == NULL);
	const char *ta = env_str(ea, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tb = env_str(eb, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	CHECK(ta && tb && strlen(ta) == 43 && strcmp(ta, tb) != 0);
	json_t *app = sched_driver_env_for(ea, "app");
	CHECK(strncmp(env_str(app, "ECS_CONTAINER_METADATA_URI_V4"), "http://127.0.0.1:51679/v4/",
	              26) == 0);
	json_decref(app);
	const char *ida = id_of(full);
	const char *idb = id_of(env_str(eb, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
	struct gw_taskcreds_served c;
	CHECK_INT(fetch(&f, ida, NULL, "127.0.0.1", &c), GW_TASKCREDS_DENIED);
	CHECK_INT(fetch(&f, ida, "wrong", "127.0.0.1", &c), GW_TASKCREDS_DENIED);
	CHECK_INT(fetch(&f, ida, tb, "127.0.0.1", &c), GW_TASKCREDS_DENIED); /* B's token */
	CHECK_INT(fetch(&f, idb, ta, "127.0.0.1", &c), GW_TASKCREDS_DENIED); /* A's token */
	CHECK_INT(fetch(&f, ida, ta, "127.0.0.1", &c), GW_TASKCREDS_OK);
	CHECK_STR(c.task_arn, TASK_A);
	gw_taskcreds_served_clear(&c);
	CHECK_INT(fetch(&f, idb, tb, "127.0.0.1", &c), GW_TASKCREDS_OK);
	CHECK_STR(c.task_arn, TASK_B);
	gw_taskcreds_served_clear(&c);
	json_decref(ea);
	json_decref(eb);
	json_decref(td);
	fx_done(&f);
}

static void test_source_address_when_known(void)
{
	struct fx f;
	fx_init(&f);
	fx_start(&f, NULL);
	json_t *td = taskdef_of(APP_ROLE, NULL), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), 0);
	const char *id = id_of(env_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	f.taskdef = json_incref(td);
	f.described = task_of(TASK_A);
	json_t *ni = json_pack("[{s:s}]", "privateIpv4Address", "10.0.3.7");
	json_object_set_new(json_array_get(json_object_get(f.described, "containers"), 0),
	                    "networkInterfaces", ni);
	struct gw_taskcreds_served c;
	CHECK_INT(fetch(&f, id, NULL, "10.0.3.8", &c), GW_TASKCREDS_DENIED);
	CHECK_INT(fetch(&f, id, NULL, "10.0.3.7", &c), GW_TASKCREDS_OK);
	gw_taskcreds_served_clear(&c);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

/* ---- over HTTP ---- */

struct http_resp {
	int status;
	char head[2048];
	char body[16384];
};

static int http_get(uint16_t port, const char *path, const char *authz, struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char req[1024];
	int n =
	    snprintf(req, sizeof(req),
	             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
	             "%s%s%sConnection: close\r\n\r\n",
	             path, authz ? "Authorization: " : "", authz ? authz : "", authz ? "\r\n" : "");
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	static char buf[32768];
	size_t got = 0;
	for (;;) {
		ssize_t k = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	char *sep = strstr(buf, "\r\n\r\n");
	if (!sep)
		return -1;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	snprintf(r->body, sizeof(r->body), "%s", sep + 4);
	return 0;
}

static void test_endpoint_over_http(void)
{
	struct fx f;
	fx_init(&f);
	f.cfg.task_endpoint.burst = 1000;
	struct gw_task_endpoint ep;
	char err[256];
	CHECK_INT(gw_task_endpoint_start(&ep, &f.cfg, &f.log, err, sizeof(err)), 0);
	char base[128];
	gw_task_endpoint_base(&ep, base, sizeof(base));
	struct http_resp r;
	/* before issuance is wired in: uninitialized */
	CHECK_INT(http_get(ep.port, "/v2/credentials/0123", NULL, &r), 0);
	CHECK_INT(r.status, 503);
	fx_start(&f, base);
	gw_task_endpoint_set_taskcreds(&ep, f.tc);
	json_t *td = taskdef_of(APP_ROLE, NULL), *env = NULL;
	char reason[512] = "";
	CHECK_INT(start_task(&f, TASK_A, td, &env, reason, sizeof(reason)), 0);
	f.taskdef = json_incref(td);
	f.described = task_of(TASK_A);
	const char *id = id_of(env_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	char path[256];
	snprintf(path, sizeof(path), "/v2/credentials/%s", id);
	CHECK_INT(http_get(ep.port, path, NULL, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(r.head, "Content-Type: application/json") != NULL);
	json_t *doc = json_loads(r.body, 0, NULL);
	CHECK(json_is_object(doc) && json_object_size(doc) == 5);
	CHECK_STR(json_string_value(json_object_get(doc, "RoleArn")), APP_ROLE);
	CHECK(strncmp(json_string_value(json_object_get(doc, "AccessKeyId")), "ASIA", 4) == 0);
	CHECK_INT(strlen(json_string_value(json_object_get(doc, "SecretAccessKey"))), 40);
	CHECK(json_string_value(json_object_get(doc, "Token")) != NULL);
	const char *exp = json_string_value(json_object_get(doc, "Expiration"));
	CHECK(exp && strlen(exp) == 20 && exp[10] == 'T' && exp[19] == 'Z');
	/* the v1 form serves the same */
	snprintf(path, sizeof(path), "/v1/credentials?id=%s", id);
	CHECK_INT(http_get(ep.port, path, NULL, &r), 0);
	CHECK_INT(r.status, 200);
	json_t *doc1 = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc1, "AccessKeyId")),
	          json_string_value(json_object_get(doc, "AccessKeyId")));
	CHECK(!file_has(f.logpath, json_string_value(json_object_get(doc, "SecretAccessKey"))));
	CHECK(!file_has(f.logpath, json_string_value(json_object_get(doc, "Token"))));
	CHECK(!file_has(f.logpath, id));
	json_decref(doc1);
	json_decref(doc);
	/* ECS's errors */
	CHECK_INT(http_get(ep.port, "/v2/credentials/", NULL, &r), 0);
	CHECK_INT(r.status, 400);
	doc = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "code")), "NoIdInRequest");
	CHECK_STR(json_string_value(json_object_get(doc, "message")),
	          "CredentialsV2Request: No Credential ID in the request");
	CHECK_INT(json_integer_value(json_object_get(doc, "HTTPErrorCode")), 400);
	json_decref(doc);
	CHECK_INT(http_get(ep.port, "/v2/credentials/ffffffffffffffffffffffffffffffff", NULL, &r),
	          0);
	CHECK_INT(r.status, 400);
	doc = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "code")), "InvalidIdInRequest");
	CHECK_STR(json_string_value(json_object_get(doc, "message")),
	          "CredentialsV2Request: Credentials not found");
	json_decref(doc);
	CHECK_INT(http_get(ep.port, "/v1/credentials?id=ffff", NULL, &r), 0);
	doc = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "message")),
	          "CredentialsV1Request: Credentials not found");
	json_decref(doc);
	CHECK_INT(http_get(ep.port, "/v1/credentials", NULL, &r), 0);
	doc = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "code")), "NoIdInRequest");
	json_decref(doc);
	CHECK_INT(http_get(ep.port, "/nope", NULL, &r), 0);
	CHECK_INT(r.status, 404);

	/* metadata v4: container, task */
	json_t *app = sched_driver_env_for(env, "app");
	const char *muri = env_str(app, "ECS_CONTAINER_METADATA_URI_V4");
	const char *mpath = strstr(muri ? muri : "", "/v4/");
	CHECK(mpath != NULL);
	CHECK_INT(http_get(ep.port, mpath ? mpath : "/v4/x", NULL, &r), 0);
	CHECK_INT(r.status, 200);
	doc = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "Name")), "app");
	CHECK_STR(json_string_value(json_object_get(doc, "Image")), "example/app:1");
	CHECK_STR(json_string_value(json_object_get(doc, "KnownStatus")), "RUNNING");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(doc, "Limits"), "Memory")),
	          256);
	json_t *port0 = json_array_get(json_object_get(doc, "Ports"), 0);
	CHECK_INT(json_integer_value(json_object_get(port0, "ContainerPort")), 8080);
	CHECK_INT(json_integer_value(json_object_get(port0, "HostPort")), 49153);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/task", mpath ? mpath : "/v4/x");
	CHECK_INT(http_get(ep.port, path, NULL, &r), 0);
	CHECK_INT(r.status, 200);
	doc = json_loads(r.body, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "Cluster")), CLUSTER);
	CHECK_STR(json_string_value(json_object_get(doc, "TaskARN")), TASK_A);
	CHECK_STR(json_string_value(json_object_get(doc, "Family")), "web");
	CHECK_STR(json_string_value(json_object_get(doc, "Revision")), "3");
	CHECK_INT(json_array_size(json_object_get(doc, "Containers")), 2);
	CHECK(json_is_false(json_object_get(doc, "FaultInjectionEnabled")));
	json_decref(doc);
	CHECK_INT(http_get(ep.port, "/v4/00000000000000000000000000000000/task", NULL, &r), 0);
	CHECK_INT(r.status, 404);
	json_decref(app);

	/* after the task stops */
	json_t *task = task_of(TASK_A);
	gw_taskcreds_stopped(f.tc, task);
	json_decref(task);
	snprintf(path, sizeof(path), "/v2/credentials/%s", id);
	CHECK_INT(http_get(ep.port, path, NULL, &r), 0);
	CHECK_INT(r.status, 400);
	CHECK(strstr(r.body, "InvalidIdInRequest") != NULL);
	gw_task_endpoint_stop(&ep);
	json_decref(env);
	json_decref(td);
	fx_done(&f);
}

static void test_rate_limit_per_client(void)
{
	struct fx f;
	fx_init(&f);
	f.cfg.task_endpoint.rate_per_s = 1;
	f.cfg.task_endpoint.burst = 5;
	struct gw_task_endpoint ep;
	char err[256];
	CHECK_INT(gw_task_endpoint_start(&ep, &f.cfg, &f.log, err, sizeof(err)), 0);
	struct http_resp r;
	int ok = 0, limited = 0;
	for (int i = 0; i < 8; i++) {
		CHECK_INT(http_get(ep.port, "/nope", NULL, &r), 0);
		if (r.status == 429)
			limited++;
		else
			ok++;
	}
	/* one token may come back during the loop: 5 or 6 pass */
	CHECK(ok >= 5 && ok <= 6);
	CHECK(limited >= 2);
	CHECK(strstr(r.body, "maximum request limit") != NULL);
	gw_task_endpoint_stop(&ep);
	fx_done(&f);
}

static void test_metadata_document_shape(void)
{
	json_t *td = taskdef_of(NULL, NULL);
	json_t *task = task_of(TASK_A);
	json_object_set_new(task, "group", json_string("service:web"));
	json_object_set_new(task, "tags", json_pack("[{s:s, s:s}]", "key", "team", "value", "a"));
	json_t *host = json_pack("{s:{s:s, s:s, s:i}}", "app", "DockerId", "abc123", "DockerName",
	                         "ecs-web-3-app", "ExitCode", 0);
	json_t *d = gw_task_metadata(task, td, host, NULL, true);
	CHECK_STR(json_string_value(json_object_get(d, "ServiceName")), "web");
	CHECK_STR(json_string_value(json_object_get(json_object_get(d, "TaskTags"), "team")), "a");
	CHECK(json_is_object(json_object_get(d, "ContainerInstanceTags")));
	CHECK(json_real_value(json_object_get(json_object_get(d, "Limits"), "CPU")) == 0.25);
	json_t *c0 = json_array_get(json_object_get(d, "Containers"), 0);
	CHECK_STR(json_string_value(json_object_get(c0, "DockerId")), "abc123");
	CHECK_STR(json_string_value(json_object_get(c0, "DockerName")), "ecs-web-3-app");
	CHECK_INT(json_integer_value(json_object_get(c0, "ExitCode")), 0);
	CHECK_STR(json_string_value(json_object_get(c0, "CreatedAt")),
	          "2025-11-30T10:53:20.250000000Z");
	CHECK_STR(json_string_value(json_object_get(
	              json_array_get(json_object_get(c0, "Networks"), 0), "NetworkMode")),
	          "host");
	json_decref(d);
	json_decref(host);
	json_decref(task);
	json_decref(td);
}

static const struct check_case cases[] = {
    {"a task with a task and an execution role gets its credentials URI, per-container "
     "metadata URIs, region and execution env; the id is not in the store",
     test_issue_fills_environment},
    {"a fetch serves ASIA credentials of the assumed role for the task id, tagged with the "
     "task and bound to its cluster; unknown ids are refused",
     test_fetch_serves_bound_credentials},
    {"a role whose trust policy does not allow ecs-tasks.amazonaws.com fails the start and "
     "revokes what was issued",
     test_untrusted_role_fails_start},
    {"credentials are renewed once renew_before_s is left; the old ones stay valid",
     test_renewal_before_expiry},
    {"stopping the task revokes its credentials at the endpoint and for SigV4",
     test_stop_revokes_at_once},
    {"with authorization tokens, only the task's own token fetches its credentials",
     test_authorization_token_and_isolation},
    {"a fetch from another address than the task's known one is refused",
     test_source_address_when_known},
    {"the endpoint answers ECS's JSON for credentials, errors and metadata over HTTP",
     test_endpoint_over_http},
    {"each client address is limited to its burst, then 429", test_rate_limit_per_client},
    {"task metadata carries ECS's field names, tags, limits and RFC 3339 times",
     test_metadata_document_shape},
};

CHECK_MAIN(cases)
