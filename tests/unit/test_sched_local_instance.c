/*
 * test_sched_local_instance.c - the gateway's own host as a container
 * instance (scheduler/local_instance.c) on a real store with the fake
 * driver: the first start makes the cluster and registers the host once,
 * later starts (and restarts) reuse that container instance and update what
 * it offers, DRAINING and the tasks on it survive, a deregistered one is
 * registered anew, each cluster gets its own, and an id edited by hand in
 * the store is refused rather than trusted.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#define CL_ARN(name) "arn:aws:ecs:us-east-1:123456789012:cluster/" name
#define CI_PREFIX    "arn:aws:ecs:us-east-1:123456789012:container-instance/"

/* What sched_run.c passes: the host's measurements and capabilities. */
static json_t *host_attrs(void)
{
	return sfx_json("[{\"name\":\"com.amazonaws.ecs.capability.task-iam-role\"},"
	                "{\"name\":\"taskgate.driver\",\"value\":\"process\"}]");
}

static json_t *ensure(struct sfx *f, const char *cluster, int cpu, int memory, bool *created)
{
	json_t *attrs = host_attrs();
	struct sched_local_host h = {.cpu = cpu, .memory = memory, .attributes = attrs};
	json_t *ci = NULL;
	if (sched_local_instance_ensure(f->s, cluster, &h, &ci, created, &f->err) != SCHED_OK)
		printf("    ensure %s: %s\n", cluster, f->err.message);
	json_decref(attrs);
	return ci;
}

static size_t count_instances(struct sfx *f, const char *cluster, const char *status)
{
	json_t *arns = NULL;
	char *next = NULL;
	size_t n = (size_t)-1;
	if (sched_instance_list(f->s, cluster, status, NULL, &arns, &next, &f->err) == SCHED_OK)
		n = json_array_size(arns);
	json_decref(arns);
	free(next);
	return n;
}

static const char *attr(const json_t *ci, const char *name)
{
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(ci, "attributes"), i, a)
	{
		if (strcmp(sfx_str(a, "name"), name) == 0) {
			const char *v = sfx_str(a, "value");
			return v ? v : "";
		}
	}
	return NULL;
}

static long long res_int(const json_t *ci, const char *list, const char *name)
{
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(ci, list), i, r)
	{
		if (strcmp(sfx_str(r, "name"), name) == 0)
			return json_integer_value(json_object_get(r, "integerValue"));
	}
	return -1;
}

static const char *cluster_status(struct sfx *f, const char *name)
{
	static char status[32];
	json_t *names = json_pack("[s]", name), *out = NULL, *fail = NULL;
	status[0] = '\0';
	if (sched_cluster_describe(f->s, names, &out, &fail, &f->err) == SCHED_OK &&
	    json_array_size(out) == 1)
		snprintf(status, sizeof(status), "%s", sfx_str(json_array_get(out, 0), "status"));
	json_decref(names);
	json_decref(out);
	json_decref(fail);
	return status;
}

static void test_the_first_start_makes_the_cluster_and_registers_once(void)
{
	struct sfx f;
	sfx_init(&f);
	bool created = false;
	json_t *ci = ensure(&f, "default", 2048, 3840, &created);
	CHECK(ci != NULL);
	CHECK(created);
	CHECK_STR(cluster_status(&f, "default"), "ACTIVE");
	const char *arn = sfx_str(ci, "containerInstanceArn");
	CHECK(arn && strncmp(arn, CI_PREFIX "default/", strlen(CI_PREFIX "default/")) == 0);
	/* the host's id: EC2's shape, and the one the store keeps */
	char id[32];
	CHECK_INT(sched_local_host_id(f.s, id, sizeof(id), &f.err), SCHED_OK);
	CHECK_STR(sfx_str(ci, "ec2InstanceId"), id);
	CHECK_INT(strlen(id), 19);
	CHECK(strncmp(id, "i-", 2) == 0 && strspn(id + 2, "0123456789abcdef") == 17);
	char stored[64];
	struct store_error se;
	CHECK_INT(store_meta_get(f.store, "sched.local_host_id", stored, sizeof(stored), NULL, &se),
	          STORE_OK);
	CHECK_STR(stored, id);
	/* what the host offers, and the attributes: ECS's defaults and ours */
	CHECK_INT(res_int(ci, "registeredResources", "CPU"), 2048);
	CHECK_INT(res_int(ci, "registeredResources", "MEMORY"), 3840);
	CHECK_STR(attr(ci, "ecs.os-type"), "linux");
	CHECK(attr(ci, "ecs.cpu-architecture") != NULL);
	CHECK_STR(attr(ci, "com.amazonaws.ecs.capability.task-iam-role"), "");
	CHECK_STR(attr(ci, "taskgate.driver"), "process");
	CHECK_STR(sfx_str(ci, "status"), "ACTIVE");
	CHECK(json_is_true(json_object_get(ci, "agentConnected")));
	CHECK_INT(count_instances(&f, "default", NULL), 1);
	/* taskgate's version; no Docker engine, so no dockerVersion */
	const json_t *vi = json_object_get(ci, "versionInfo");
	CHECK_STR(sfx_str(vi, "agentVersion"), "taskgate-" TASKGATE_VERSION);
	CHECK(json_object_get(vi, "dockerVersion") == NULL);
	json_decref(ci);
	sfx_done(&f);
}

static void test_a_docker_host_reports_its_engine_version(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *vinfo = sfx_json("{\"dockerVersion\":\"DockerVersion: 24.0.5\"}");
	struct sched_local_host h = {.cpu = 1024, .memory = 1024, .version_info = vinfo};
	json_t *ci = NULL;
	CHECK_INT(sched_local_instance_ensure(f.s, "default", &h, &ci, NULL, &f.err), SCHED_OK);
	const json_t *vi = json_object_get(ci, "versionInfo");
	CHECK_STR(sfx_str(vi, "dockerVersion"), "DockerVersion: 24.0.5");
	CHECK_STR(sfx_str(vi, "agentVersion"), "taskgate-" TASKGATE_VERSION);
	json_decref(ci);
	/* the same store started again with the process driver: no engine */
	h.version_info = NULL;
	CHECK_INT(sched_local_instance_ensure(f.s, "default", &h, &ci, NULL, &f.err), SCHED_OK);
	CHECK(json_object_get(json_object_get(ci, "versionInfo"), "dockerVersion") == NULL);
	json_decref(ci);
	json_decref(vinfo);
	sfx_done(&f);
}

static void test_a_restart_reuses_the_instance_and_updates_what_it_offers(void)
{
	struct sfx f;
	sfx_init(&f);
	bool created = false;
	json_t *first = ensure(&f, "default", 2048, 3840, &created);
	CHECK(created);
	/* the same start asking again changes nothing */
	json_t *again = ensure(&f, "default", 2048, 3840, &created);
	CHECK(!created);
	CHECK_STR(sfx_str(again, "containerInstanceArn"), sfx_str(first, "containerInstanceArn"));
	/* a restart with more memory (the host grew): the same instance */
	sfx_restart(&f);
	json_t *later = ensure(&f, "default", 2048, 7936, &created);
	CHECK(later != NULL);
	CHECK(!created);
	CHECK_STR(sfx_str(later, "containerInstanceArn"), sfx_str(first, "containerInstanceArn"));
	CHECK_STR(sfx_str(later, "ec2InstanceId"), sfx_str(first, "ec2InstanceId"));
	CHECK_INT(res_int(later, "registeredResources", "MEMORY"), 7936);
	CHECK_INT(count_instances(&f, "default", NULL), 1);
	json_decref(first);
	json_decref(again);
	json_decref(later);
	sfx_done(&f);
}

static void test_tasks_and_draining_survive_a_restart(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *in = sfx_json("{\"family\":\"sleeper\",\"containerDefinitions\":[{\"name\":\"s\","
	                      "\"image\":\"busybox\",\"command\":[\"sleep\",\"60\"],"
	                      "\"cpu\":256,\"memory\":128}]}");
	json_t *td = NULL;
	CHECK_INT(sched_taskdef_register(f.s, in, &td, &f.err), SCHED_OK);
	json_decref(td);
	json_decref(in);
	bool created = false;
	json_t *ci = ensure(&f, "default", 1024, 1024, &created);
	const char *arn = sfx_str(ci, "containerInstanceArn");
	/* RunTask without a cluster: the default one, on this host */
	struct sched_run_request req = {.task_definition = "sleeper"};
	json_t *tasks = NULL, *fails = NULL;
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(tasks), 1);
	CHECK_STR(sfx_str(json_array_get(tasks, 0), "containerInstanceArn"), arn);
	json_t *drained = NULL;
	CHECK_INT(sched_instance_set_status(f.s, "default", arn, "DRAINING", &drained, &f.err),
	          SCHED_OK);
	json_decref(drained);

	sfx_restart(&f);
	json_t *later = ensure(&f, "default", 1024, 1024, &created);
	CHECK(!created);
	CHECK_STR(sfx_str(later, "containerInstanceArn"), arn);
	CHECK_STR(sfx_str(later, "status"), "DRAINING");
	CHECK_INT(res_int(later, "remainingResources", "CPU"), 1024 - 256);
	CHECK_INT(res_int(later, "remainingResources", "MEMORY"), 1024 - 128);
	json_decref(later);
	json_decref(tasks);
	json_decref(fails);
	json_decref(ci);
	sfx_done(&f);
}

static void test_a_deregistered_instance_is_registered_anew(void)
{
	struct sfx f;
	sfx_init(&f);
	bool created = false;
	json_t *ci = ensure(&f, "default", 1024, 1024, &created);
	json_t *gone = NULL;
	CHECK_INT(sched_instance_deregister(f.s, "default", sfx_str(ci, "containerInstanceArn"),
	                                    false, &gone, &f.err),
	          SCHED_OK);
	json_decref(gone);
	CHECK_INT(count_instances(&f, "default", NULL), 0);
	/* the configuration still names the cluster: the next start joins it
	 * again with a new container instance; the old one stays INACTIVE */
	sfx_restart(&f);
	json_t *back = ensure(&f, "default", 1024, 1024, &created);
	CHECK(back != NULL);
	CHECK(created);
	CHECK(strcmp(sfx_str(back, "containerInstanceArn"), sfx_str(ci, "containerInstanceArn")) !=
	      0);
	CHECK_STR(sfx_str(back, "ec2InstanceId"), sfx_str(ci, "ec2InstanceId"));
	CHECK_INT(count_instances(&f, "default", NULL), 1);
	json_t *both = json_pack("[s,s]", sfx_str(ci, "containerInstanceArn"),
	                         sfx_str(back, "containerInstanceArn"));
	json_t *out = NULL, *fail = NULL;
	CHECK_INT(sched_instance_describe(f.s, "default", both, &out, &fail, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(json_array_get(out, 0), "status"), "INACTIVE");
	CHECK_STR(sfx_str(json_array_get(out, 1), "status"), "ACTIVE");
	json_decref(both);
	json_decref(out);
	json_decref(fail);
	json_decref(back);
	json_decref(ci);
	sfx_done(&f);
}

static void test_each_cluster_gets_one_and_a_deleted_cluster_comes_back(void)
{
	struct sfx f;
	sfx_init(&f);
	bool created = false;
	json_t *a = ensure(&f, "default", 1024, 1024, &created);
	json_t *b = ensure(&f, "dev", 1024, 1024, &created);
	CHECK(created);
	CHECK_STR(cluster_status(&f, "dev"), "ACTIVE");
	CHECK(strncmp(sfx_str(b, "containerInstanceArn"), CI_PREFIX "dev/",
	              strlen(CI_PREFIX "dev/")) == 0);
	/* one host: the same ec2InstanceId in both clusters */
	CHECK_STR(sfx_str(a, "ec2InstanceId"), sfx_str(b, "ec2InstanceId"));
	CHECK_INT(count_instances(&f, "default", NULL), 1);
	CHECK_INT(count_instances(&f, "dev", NULL), 1);
	/* an operator takes the host out and deletes the cluster; a start that
	 * still names it makes both again */
	json_t *gone = NULL;
	CHECK_INT(sched_instance_deregister(f.s, "dev", sfx_str(b, "containerInstanceArn"), false,
	                                    &gone, &f.err),
	          SCHED_OK);
	json_decref(gone);
	CHECK_INT(sched_cluster_delete(f.s, "dev", &gone, &f.err), SCHED_OK);
	json_decref(gone);
	CHECK_STR(cluster_status(&f, "dev"), "INACTIVE");
	json_t *c = ensure(&f, "dev", 1024, 1024, &created);
	CHECK(c != NULL);
	CHECK(created);
	CHECK_STR(cluster_status(&f, "dev"), "ACTIVE");
	CHECK_INT(count_instances(&f, "dev", NULL), 1);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	sfx_done(&f);
}

static void test_refuses_a_bad_cluster_a_bad_host_and_a_hand_edited_id(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *ci = NULL;
	struct sched_local_host h = {.cpu = 1024, .memory = 1024};
	CHECK_INT(sched_local_instance_ensure(f.s, "no spaces", &h, &ci, NULL, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	struct sched_local_host none = {.cpu = 0, .memory = 1024};
	CHECK_INT(sched_local_instance_ensure(f.s, "default", &none, &ci, NULL, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK(ci == NULL);
	CHECK_STR(cluster_status(&f, "default"), ""); /* nothing was made */
	/* an id that this code did not write could name another host */
	struct store_error se;
	CHECK_INT(store_meta_set(f.store, "sched.local_host_id", "i-0123", &se), STORE_OK);
	CHECK_INT(sched_local_instance_ensure(f.s, "default", &h, &ci, NULL, &f.err),
	          SCHED_ERR_SERVER);
	CHECK(strstr(f.err.message, "sched.local_host_id") != NULL);
	CHECK(ci == NULL);
	CHECK_STR(cluster_status(&f, "default"), "");
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"the first start makes the cluster and registers this host once",
	     test_the_first_start_makes_the_cluster_and_registers_once},
	    {"a restart reuses the host's container instance and updates what it offers",
	     test_a_restart_reuses_the_instance_and_updates_what_it_offers},
	    {"a docker host's container instance reports the engine's version as dockerVersion; a "
	     "process host's has none",
	     test_a_docker_host_reports_its_engine_version},
	    {"the tasks on the host and DRAINING survive a restart",
	     test_tasks_and_draining_survive_a_restart},
	    {"a deregistered host is registered anew at the next start",
	     test_a_deregistered_instance_is_registered_anew},
	    {"each cluster gets one instance of the host; a deleted cluster comes back",
	     test_each_cluster_gets_one_and_a_deleted_cluster_comes_back},
	    {"refuses a bad cluster name, a host offering nothing and a hand-edited id",
	     test_refuses_a_bad_cluster_a_bad_host_and_a_hand_edited_id},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
