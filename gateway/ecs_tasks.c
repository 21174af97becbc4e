/*
 * ecs_tasks.c - the ECS operations on tasks and services: RunTask, StartTask,
 * StopTask, DescribeTasks, ListTasks, and Create/Update/Delete/Describe/
 * ListServices, each one scheduler call behind checks ECS makes itself.
 *
 * The checks kept here are those of the wire (counts, lengths, enums) and of
 * features taskgate does not run: FARGATE, execute-command, ECS managed tags
 * and tag propagation, the DAEMON strategy, external deployment controllers,
 * circuit breakers and alarms. Such a request is refused with
 * InvalidParameterException naming the member, never half-honoured.
 * Everything about placement, lifecycle and deployments is the scheduler's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ecs.h"
#include "gateway/request.h"
#include "gateway/server.h"
#include "scheduler/scheduler.h"

#define SCHED(r) ((r)->srv->sched)

static const char *const launch_types[] = {"EC2", "EXTERNAL", NULL};

/* Members ECS accepts that taskgate runs only in their default form. */
static int defaults_only(struct gw_request *r, const json_t *in)
{
	static const char *const none[] = {"NONE", NULL};
	if (gw_ecs_enum(r, in, "launchType", launch_types) != 0 ||
	    gw_ecs_enum(r, in, "propagateTags", none) != 0)
		return -1;
	if (json_is_true(json_object_get(in, "enableExecuteCommand")))
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "enableExecuteCommand is not supported by this endpoint "
		                   "(taskgate)."),
		       -1;
	if (json_is_true(json_object_get(in, "enableECSManagedTags")))
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "enableECSManagedTags is not supported by this endpoint "
		                   "(taskgate)."),
		       -1;
	return 0;
}

static int check_len(struct gw_request *r, const json_t *in, const char *name, size_t max)
{
	const char *v = gw_ecs_str(in, name);
	if (v && strlen(v) > max) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "%s must be at most %zu characters.", name, max);
		(void)gw_ecs_fail(r, "InvalidParameterException", n > 0 ? msg : "Too long.");
		return -1;
	}
	return 0;
}

/* ---- tasks ---- */

static int run_checks(struct gw_request *r, const json_t *in, int *count)
{
	if (defaults_only(r, in) != 0 || check_len(r, in, "startedBy", 128) != 0 ||
	    check_len(r, in, "group", 255) != 0)
		return -1;
	*count = 1;
	const json_t *n = json_object_get(in, "count");
	if (n) {
		json_int_t v = json_integer_value(n);
		if (v < 1 || v > 10)
			return gw_ecs_fail(r, "InvalidParameterException",
			                   "count must be between 1 and 10."),
			       -1;
		*count = (int)v;
	}
	return 0;
}

static int reply_tasks(struct gw_request *r, json_t *tasks, json_t *fails, bool with_tags)
{
	if (!with_tags)
		gw_ecs_drop_tags(tasks);
	return gw_ecs_reply(r, json_pack("{s:o, s:o}", "tasks", tasks ? tasks : json_array(),
	                                 "failures", fails ? fails : json_array()));
}

int gw_ecs_run_task(struct gw_request *r, struct gw_ecs_call *c)
{
	int count;
	if (run_checks(r, c->in, &count) != 0)
		return GW_STEP_STOP;
	struct sched_run_request req = {
	    .cluster = gw_ecs_str(c->in, "cluster"),
	    .task_definition = gw_ecs_str(c->in, "taskDefinition"),
	    .count = count,
	    .started_by = gw_ecs_str(c->in, "startedBy"),
	    .group = gw_ecs_str(c->in, "group"),
	    .overrides = json_object_get(c->in, "overrides"),
	    .placement_strategy = json_object_get(c->in, "placementStrategy"),
	    .placement_constraints = json_object_get(c->in, "placementConstraints"),
	    .tags = json_object_get(c->in, "tags"),
	};
	struct sched_error e = {0};
	json_t *tasks = NULL, *fails = NULL;
	if (sched_run_task(SCHED(r), &req, &tasks, &fails, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return reply_tasks(r, tasks, fails, true);
}

int gw_ecs_start_task(struct gw_request *r, struct gw_ecs_call *c)
{
	int count;
	if (run_checks(r, c->in, &count) != 0)
		return GW_STEP_STOP;
	const json_t *list = json_object_get(c->in, "containerInstances");
	if (json_array_size(list) == 0 || json_array_size(list) > 10)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "containerInstances must name between 1 and 10 container "
		                   "instances.");
	struct sched_run_request req = {
	    .cluster = gw_ecs_str(c->in, "cluster"),
	    .task_definition = gw_ecs_str(c->in, "taskDefinition"),
	    .count = 1,
	    .started_by = gw_ecs_str(c->in, "startedBy"),
	    .group = gw_ecs_str(c->in, "group"),
	    .overrides = json_object_get(c->in, "overrides"),
	    .tags = json_object_get(c->in, "tags"),
	};
	struct sched_error e = {0};
	json_t *tasks = NULL, *fails = NULL;
	if (sched_start_task(SCHED(r), &req, list, &tasks, &fails, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return reply_tasks(r, tasks, fails, true);
}

int gw_ecs_stop_task(struct gw_request *r, struct gw_ecs_call *c)
{
	if (check_len(r, c->in, "reason", 1024) != 0)
		return GW_STEP_STOP;
	struct sched_error e = {0};
	json_t *t = NULL;
	if (sched_stop_task(SCHED(r), gw_ecs_str(c->in, "cluster"), gw_ecs_str(c->in, "task"),
	                    gw_ecs_str(c->in, "reason"), &t, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	gw_ecs_drop_tags(t);
	return gw_ecs_reply(r, json_pack("{s:o}", "task", t));
}

int gw_ecs_describe_tasks(struct gw_request *r, struct gw_ecs_call *c)
{
	const json_t *list = json_object_get(c->in, "tasks");
	if (json_array_size(list) == 0 || json_array_size(list) > 100)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "tasks must name between 1 and 100 tasks.");
	struct sched_error e = {0};
	json_t *tasks = NULL, *fails = NULL;
	if (sched_task_describe(SCHED(r), gw_ecs_str(c->in, "cluster"), list, &tasks, &fails, &e) !=
	    SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return reply_tasks(r, tasks, fails, gw_ecs_includes(c->in, "TAGS"));
}

int gw_ecs_list_tasks(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const desired[] = {"RUNNING", "PENDING", "STOPPED", NULL};
	struct sched_page page;
	if (gw_ecs_enum(r, c->in, "desiredStatus", desired) != 0 ||
	    gw_ecs_enum(r, c->in, "launchType", launch_types) != 0 ||
	    gw_ecs_page(r, c->in, &page) != 0)
		return GW_STEP_STOP;
	struct sched_task_filter f = {
	    .cluster = gw_ecs_str(c->in, "cluster"),
	    .container_instance = gw_ecs_str(c->in, "containerInstance"),
	    .family = gw_ecs_str(c->in, "family"),
	    .started_by = gw_ecs_str(c->in, "startedBy"),
	    .service_name = gw_ecs_str(c->in, "serviceName"),
	    .desired_status = gw_ecs_str(c->in, "desiredStatus"),
	};
	struct sched_error e = {0};
	json_t *arns = NULL;
	char *next = NULL;
	if (sched_task_list(SCHED(r), &f, &page, &arns, &next, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, gw_ecs_with_token(json_pack("{s:o}", "taskArns", arns), next));
}

/* ---- services ---- */

/* deploymentConfiguration: the two percentages (-1 when absent); the
 * circuit breaker and alarms only switched off. */
static int deployment_config(struct gw_request *r, const json_t *in, int *min_healthy,
                             int *max_percent)
{
	*min_healthy = -1;
	*max_percent = -1;
	const json_t *dc = json_object_get(in, "deploymentConfiguration");
	if (!dc)
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)dc, k, v)
	{
		if (strcmp(k, "minimumHealthyPercent") == 0 || strcmp(k, "maximumPercent") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 100000)
				return gw_ecs_fail(r, "InvalidParameterException",
				                   "deploymentConfiguration percentages must be "
				                   "non-negative integers."),
				       -1;
			if (k[1] == 'i')
				*min_healthy = (int)json_integer_value(v);
			else
				*max_percent = (int)json_integer_value(v);
		} else if (strcmp(k, "deploymentCircuitBreaker") == 0 || strcmp(k, "alarms") == 0) {
			if (!json_is_object(v))
				return gw_ecs_fail(
				           r, "SerializationException",
				           "deploymentConfiguration members must be objects."),
				       -1;
			if (json_is_true(json_object_get(v, "enable")))
				return gw_ecs_fail(r, "InvalidParameterException",
				                   "deploymentCircuitBreaker and alarms are not "
				                   "supported by this endpoint (taskgate)."),
				       -1;
		} else {
			char msg[160];
			int n = snprintf(msg, sizeof(msg),
			                 "deploymentConfiguration.%.64s is not supported by this "
			                 "endpoint (taskgate).",
			                 k);
			return gw_ecs_fail(r, "InvalidParameterException",
			                   n > 0 ? msg : "Unsupported member."),
			       -1;
		}
	}
	if (*min_healthy >= 0 && *max_percent >= 0 && *max_percent < *min_healthy)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "maximumPercent must be at least minimumHealthyPercent."),
		       -1;
	return 0;
}

int gw_ecs_create_service(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const strategies[] = {"REPLICA", NULL};
	if (defaults_only(r, c->in) != 0 ||
	    gw_ecs_enum(r, c->in, "schedulingStrategy", strategies) != 0 ||
	    check_len(r, c->in, "serviceName", 255) != 0)
		return GW_STEP_STOP;
	const json_t *ctl = json_object_get(c->in, "deploymentController");
	const char *ctype = gw_ecs_str(ctl, "type");
	if (ctl && (!ctype || strcmp(ctype, "ECS") != 0))
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "deploymentController: only the ECS (rolling update) type is "
		                   "supported by this endpoint (taskgate).");
	if (!gw_ecs_str(c->in, "taskDefinition"))
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "taskDefinition is required with the ECS deployment "
		                   "controller.");
	const json_t *dc = json_object_get(c->in, "desiredCount");
	if (!dc)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "desiredCount is required with the REPLICA scheduling "
		                   "strategy.");
	if (json_integer_value(dc) < 0)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "desiredCount must not be negative.");
	int minh, maxp;
	if (deployment_config(r, c->in, &minh, &maxp) != 0)
		return GW_STEP_STOP;
	struct sched_service_spec spec = {
	    .cluster = gw_ecs_str(c->in, "cluster"),
	    .name = gw_ecs_str(c->in, "serviceName"),
	    .task_definition = gw_ecs_str(c->in, "taskDefinition"),
	    .desired_count = (int)json_integer_value(dc),
	    .minimum_healthy_percent = minh,
	    .maximum_percent = maxp,
	    .placement_strategy = json_object_get(c->in, "placementStrategy"),
	    .placement_constraints = json_object_get(c->in, "placementConstraints"),
	    .tags = json_object_get(c->in, "tags"),
	};
	struct sched_error e = {0};
	json_t *svc = NULL;
	if (sched_service_create(SCHED(r), &spec, &svc, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, json_pack("{s:o}", "service", svc));
}

int gw_ecs_update_service(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const none[] = {"NONE", NULL};
	if (gw_ecs_enum(r, c->in, "propagateTags", none) != 0)
		return GW_STEP_STOP;
	if (json_is_true(json_object_get(c->in, "enableExecuteCommand")) ||
	    json_is_true(json_object_get(c->in, "enableECSManagedTags")))
		return gw_ecs_fail(
		    r, "InvalidParameterException",
		    "enableExecuteCommand and enableECSManagedTags are not supported "
		    "by this endpoint (taskgate).");
	if (json_is_true(json_object_get(c->in, "forceNewDeployment")))
		return gw_ecs_fail(
		    r, "InvalidParameterException",
		    "forceNewDeployment is not supported by this endpoint (taskgate); "
		    "register a new revision and update taskDefinition.");
	const json_t *dc = json_object_get(c->in, "desiredCount");
	if (dc && json_integer_value(dc) < 0)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "desiredCount must not be negative.");
	int minh, maxp;
	if (deployment_config(r, c->in, &minh, &maxp) != 0)
		return GW_STEP_STOP;
	struct sched_service_update u = {
	    .cluster = gw_ecs_str(c->in, "cluster"),
	    .service = gw_ecs_str(c->in, "service"),
	    .task_definition = gw_ecs_str(c->in, "taskDefinition"),
	    .desired_count = dc ? (int)json_integer_value(dc) : -1,
	    .minimum_healthy_percent = minh,
	    .maximum_percent = maxp,
	};
	struct sched_error e = {0};
	json_t *svc = NULL;
	if (sched_service_update(SCHED(r), &u, &svc, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	gw_ecs_drop_tags(svc);
	return gw_ecs_reply(r, json_pack("{s:o}", "service", svc));
}

int gw_ecs_delete_service(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *svc = NULL;
	if (sched_service_delete(
	        SCHED(r), gw_ecs_str(c->in, "cluster"), gw_ecs_str(c->in, "service"),
	        json_is_true(json_object_get(c->in, "force")), &svc, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	gw_ecs_drop_tags(svc);
	return gw_ecs_reply(r, json_pack("{s:o}", "service", svc));
}

int gw_ecs_describe_services(struct gw_request *r, struct gw_ecs_call *c)
{
	const json_t *list = json_object_get(c->in, "services");
	if (json_array_size(list) == 0 || json_array_size(list) > 10)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "services must name between 1 and 10 services.");
	struct sched_error e = {0};
	json_t *svcs = NULL, *fails = NULL;
	if (sched_service_describe(SCHED(r), gw_ecs_str(c->in, "cluster"), list, &svcs, &fails,
	                           &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	if (!gw_ecs_includes(c->in, "TAGS"))
		gw_ecs_drop_tags(svcs);
	return gw_ecs_reply(r, json_pack("{s:o, s:o}", "services", svcs ? svcs : json_array(),
	                                 "failures", fails ? fails : json_array()));
}

int gw_ecs_list_services(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_page page;
	if (gw_ecs_page(r, c->in, &page) != 0)
		return GW_STEP_STOP;
	/* Every service here is a REPLICA service of launch type EC2: asking
	 * for another kind finds none. */
	const char *lt = gw_ecs_str(c->in, "launchType");
	const char *ss = gw_ecs_str(c->in, "schedulingStrategy");
	if ((lt && strcmp(lt, "EC2") != 0) || (ss && strcmp(ss, "REPLICA") != 0))
		return gw_ecs_reply(r, json_pack("{s:[]}", "serviceArns"));
	struct sched_error e = {0};
	json_t *arns = NULL;
	char *next = NULL;
	if (sched_service_list(SCHED(r), gw_ecs_str(c->in, "cluster"), &page, &arns, &next, &e) !=
	    SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, gw_ecs_with_token(json_pack("{s:o}", "serviceArns", arns), next));
}
