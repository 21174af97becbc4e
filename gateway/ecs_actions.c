/*
 * ecs_actions.c - the ECS operations on clusters, task definitions,
 * container instances and tags: each turns a decoded, authorized input into
 * one scheduler call and the scheduler's objects into the output shape of
 * botocore's model.
 *
 * The scheduler already returns objects shaped as ECS shows them; what is
 * left here is the envelope ({"cluster": ...}, {"clusters": [...],
 * "failures": [...]}), pagination tokens, the include=TAGS rule (ECS shows
 * tags only when asked), and the few defaults ECS takes from the EC2 world
 * that a container host registering itself cannot give (its CPU and memory
 * when totalResources is absent: the gateway host's own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/ecs.h"
#include "gateway/request.h"
#include "gateway/server.h"
#include "scheduler/scheduler.h"

#define SCHED(r) ((r)->srv->sched)

/* ---- clusters ---- */

int gw_ecs_create_cluster(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *cl = NULL;
	if (sched_cluster_create(SCHED(r), gw_ecs_str(c->in, "clusterName"),
	                         json_object_get(c->in, "tags"), &cl, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, json_pack("{s:o}", "cluster", cl));
}

int gw_ecs_delete_cluster(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *cl = NULL;
	if (sched_cluster_delete(SCHED(r), gw_ecs_str(c->in, "cluster"), &cl, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	gw_ecs_drop_tags(cl);
	return gw_ecs_reply(r, json_pack("{s:o}", "cluster", cl));
}

int gw_ecs_list_clusters(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_page page;
	if (gw_ecs_page(r, c->in, &page) != 0)
		return GW_STEP_STOP;
	struct sched_error e = {0};
	json_t *arns = NULL;
	char *next = NULL;
	if (sched_cluster_list(SCHED(r), &page, &arns, &next, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, gw_ecs_with_token(json_pack("{s:o}", "clusterArns", arns), next));
}

int gw_ecs_describe_clusters(struct gw_request *r, struct gw_ecs_call *c)
{
	const json_t *names = json_object_get(c->in, "clusters");
	if (names && json_array_size(names) > 100)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "clusters can name at most 100 clusters.");
	if (json_array_size(names) == 0)
		names = NULL;
	struct sched_error e = {0};
	json_t *cls = NULL, *fails = NULL;
	if (sched_cluster_describe(SCHED(r), names, &cls, &fails, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	if (!gw_ecs_includes(c->in, "TAGS"))
		gw_ecs_drop_tags(cls);
	return gw_ecs_reply(r, json_pack("{s:o, s:o}", "clusters", cls ? cls : json_array(),
	                                 "failures", fails ? fails : json_array()));
}

/* ---- task definitions ---- */

/* The task definition without its tags, and its tags apart (new references). */
static json_t *tags_of_taskdef(struct gw_request *r, json_t *td, bool from_store)
{
	json_t *t = json_object_get(td, "tags");
	if (t) {
		json_incref(t);
		json_object_del(td, "tags");
		return t;
	}
	if (!from_store)
		return json_array();
	const char *arn = gw_ecs_str(td, "taskDefinitionArn");
	struct sched_error e = {0};
	json_t *tags = NULL;
	if (!arn || sched_list_tags(SCHED(r), arn, &tags, &e) != SCHED_OK) {
		json_decref(tags);
		return json_array();
	}
	return tags ? tags : json_array();
}

int gw_ecs_register_task_definition(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const modes[] = {"bridge", "host", "none", "awsvpc", NULL};
	if (gw_ecs_enum(r, c->in, "networkMode", modes) != 0)
		return GW_STEP_STOP;
	struct sched_error e = {0};
	json_t *td = NULL;
	if (sched_taskdef_register(SCHED(r), c->in, &td, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	json_t *tags = tags_of_taskdef(r, td, false);
	if (json_array_size(tags) == 0 && json_is_array(json_object_get(c->in, "tags"))) {
		json_decref(tags);
		tags = json_deep_copy(json_object_get(c->in, "tags"));
	}
	return gw_ecs_reply(
	    r, json_pack("{s:o, s:o}", "taskDefinition", td, "tags", tags ? tags : json_array()));
}

int gw_ecs_deregister_task_definition(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *td = NULL;
	if (sched_taskdef_deregister(SCHED(r), gw_ecs_str(c->in, "taskDefinition"), &td, &e) !=
	    SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	gw_ecs_drop_tags(td);
	return gw_ecs_reply(r, json_pack("{s:o}", "taskDefinition", td));
}

int gw_ecs_describe_task_definition(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *td = NULL;
	if (sched_taskdef_describe(SCHED(r), gw_ecs_str(c->in, "taskDefinition"), &td, &e) !=
	    SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	bool want = gw_ecs_includes(c->in, "TAGS");
	json_t *tags = tags_of_taskdef(r, td, want);
	if (!want) {
		json_decref(tags);
		return gw_ecs_reply(r, json_pack("{s:o}", "taskDefinition", td));
	}
	return gw_ecs_reply(
	    r, json_pack("{s:o, s:o}", "taskDefinition", td, "tags", tags ? tags : json_array()));
}

int gw_ecs_list_task_definitions(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const statuses[] = {"ACTIVE", "INACTIVE", NULL};
	static const char *const sorts[] = {"ASC", "DESC", NULL};
	struct sched_page page;
	if (gw_ecs_enum(r, c->in, "status", statuses) != 0 ||
	    gw_ecs_enum(r, c->in, "sort", sorts) != 0 || gw_ecs_page(r, c->in, &page) != 0)
		return GW_STEP_STOP;
	const char *sort = gw_ecs_str(c->in, "sort");
	struct sched_error e = {0};
	json_t *arns = NULL;
	char *next = NULL;
	if (sched_taskdef_list(SCHED(r), gw_ecs_str(c->in, "familyPrefix"),
	                       gw_ecs_str(c->in, "status"), sort && strcmp(sort, "DESC") == 0,
	                       &page, &arns, &next, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(
	    r, gw_ecs_with_token(json_pack("{s:o}", "taskDefinitionArns", arns), next));
}

int gw_ecs_list_task_definition_families(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const statuses[] = {"ACTIVE", "INACTIVE", "ALL", NULL};
	struct sched_page page;
	if (gw_ecs_enum(r, c->in, "status", statuses) != 0 || gw_ecs_page(r, c->in, &page) != 0)
		return GW_STEP_STOP;
	struct sched_error e = {0};
	json_t *fams = NULL;
	char *next = NULL;
	if (sched_taskdef_families(SCHED(r), gw_ecs_str(c->in, "familyPrefix"),
	                           gw_ecs_str(c->in, "status"), &page, &fams, &next,
	                           &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, gw_ecs_with_token(json_pack("{s:o}", "families", fams), next));
}

/* ---- container instances ---- */

/* This host's CPU units (1024 per online CPU) and memory in MiB: what a
 * host registering without totalResources offers, as the ECS agent reports
 * its own machine. */
static void host_resources(int *cpu, int *memory)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES);
	long psize = sysconf(_SC_PAGESIZE);
	*cpu = ncpu > 0 && ncpu < 1024 * 1024 ? (int)ncpu * 1024 : 1024;
	long long mib = pages > 0 && psize > 0 ? (long long)pages * psize / (1024 * 1024) : 1024;
	*memory = mib > 0 && mib < 0x7fffffff ? (int)mib : 1024;
}

/* Reads totalResources [{name, type, integerValue | stringSetValue}]. */
static int read_resources(struct gw_request *r, const json_t *list, int *cpu, int *memory,
                          json_t **ports)
{
	size_t i;
	json_t *e;
	*ports = NULL;
	json_array_foreach(list, i, e)
	{
		const char *name = gw_ecs_str(e, "name");
		if (!name)
			return gw_ecs_fail(r, "InvalidParameterException",
			                   "Each of totalResources needs a name."),
			       -1;
		if (strcmp(name, "CPU") == 0 || strcmp(name, "MEMORY") == 0) {
			const json_t *v = json_object_get(e, "integerValue");
			if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
			    json_integer_value(v) > 0x7fffffff)
				return gw_ecs_fail(r, "InvalidParameterException",
				                   "totalResources CPU and MEMORY need a positive "
				                   "integerValue."),
				       -1;
			if (name[0] == 'C')
				*cpu = (int)json_integer_value(v);
			else
				*memory = (int)json_integer_value(v);
		} else if (strcmp(name, "PORTS") == 0 || strcmp(name, "PORTS_UDP") == 0) {
			const json_t *set = json_object_get(e, "stringSetValue");
			size_t k;
			json_t *p;
			if (!*ports)
				*ports = json_array();
			if (!*ports)
				return gw_ecs_fail(r, "ServerException",
				                   "The gateway is out of memory."),
				       -1;
			json_array_foreach(set, k, p)
			{
				char *end = NULL;
				const char *s = json_string_value(p);
				long port = s ? strtol(s, &end, 10) : -1;
				if (!s || !*s || *end || port < 1 || port > 65535) {
					json_decref(*ports);
					*ports = NULL;
					return gw_ecs_fail(
					           r, "InvalidParameterException",
					           "totalResources PORTS must list port numbers "
					           "(1-65535) as strings."),
					       -1;
				}
				json_array_append_new(*ports, json_integer(port));
			}
		}
	}
	return 0;
}

int gw_ecs_register_container_instance(struct gw_request *r, struct gw_ecs_call *c)
{
	int cpu = 0, memory = 0;
	host_resources(&cpu, &memory);
	json_t *ports = NULL;
	if (read_resources(r, json_object_get(c->in, "totalResources"), &cpu, &memory, &ports) != 0)
		return GW_STEP_STOP;
	/* EC2's identity document gives defaults (instanceId, zone, type); it
	 * is not signed by anyone taskgate trusts, so it says no more than the
	 * caller, whose role policy allowed the registration. */
	struct sched_instance_spec spec = {
	    .cluster = gw_ecs_str(c->in, "cluster"),
	    .cpu = cpu,
	    .memory = memory,
	    .reserved_ports = ports,
	    .attributes = json_object_get(c->in, "attributes"),
	    .tags = json_object_get(c->in, "tags"),
	    .identity_document = gw_ecs_str(c->in, "instanceIdentityDocument"),
	    .version_info = json_object_get(c->in, "versionInfo"),
	};
	struct sched_error e = {0};
	json_t *ci = NULL;
	int rc = sched_instance_register(SCHED(r), &spec, &ci, &e);
	json_decref(ports);
	if (rc != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, json_pack("{s:o}", "containerInstance", ci));
}

int gw_ecs_deregister_container_instance(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *ci = NULL;
	if (sched_instance_deregister(
	        SCHED(r), gw_ecs_str(c->in, "cluster"), gw_ecs_str(c->in, "containerInstance"),
	        json_is_true(json_object_get(c->in, "force")), &ci, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	gw_ecs_drop_tags(ci);
	return gw_ecs_reply(r, json_pack("{s:o}", "containerInstance", ci));
}

int gw_ecs_list_container_instances(struct gw_request *r, struct gw_ecs_call *c)
{
	static const char *const statuses[] = {
	    "ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED", NULL};
	struct sched_page page;
	if (gw_ecs_enum(r, c->in, "status", statuses) != 0 || gw_ecs_page(r, c->in, &page) != 0)
		return GW_STEP_STOP;
	struct sched_error e = {0};
	json_t *arns = NULL;
	char *next = NULL;
	if (sched_instance_list_filtered(SCHED(r), gw_ecs_str(c->in, "cluster"),
	                                 gw_ecs_str(c->in, "status"), gw_ecs_str(c->in, "filter"),
	                                 &page, &arns, &next, &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(
	    r, gw_ecs_with_token(json_pack("{s:o}", "containerInstanceArns", arns), next));
}

int gw_ecs_describe_container_instances(struct gw_request *r, struct gw_ecs_call *c)
{
	const json_t *list = json_object_get(c->in, "containerInstances");
	if (json_array_size(list) == 0 || json_array_size(list) > 100)
		return gw_ecs_fail(r, "InvalidParameterException",
		                   "containerInstances must name between 1 and 100 container "
		                   "instances.");
	struct sched_error e = {0};
	json_t *cis = NULL, *fails = NULL;
	if (sched_instance_describe(SCHED(r), gw_ecs_str(c->in, "cluster"), list, &cis, &fails,
	                            &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	if (!gw_ecs_includes(c->in, "TAGS"))
		gw_ecs_drop_tags(cis);
	return gw_ecs_reply(r,
	                    json_pack("{s:o, s:o}", "containerInstances", cis ? cis : json_array(),
	                              "failures", fails ? fails : json_array()));
}

/* ---- tags ---- */

int gw_ecs_tag_resource(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	if (sched_tag_resource(SCHED(r), gw_ecs_str(c->in, "resourceArn"),
	                       json_object_get(c->in, "tags"), &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, json_object());
}

int gw_ecs_untag_resource(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	if (sched_untag_resource(SCHED(r), gw_ecs_str(c->in, "resourceArn"),
	                         json_object_get(c->in, "tagKeys"), &e) != SCHED_OK)
		return gw_ecs_fail_sched(r, &e);
	return gw_ecs_reply(r, json_object());
}

int gw_ecs_list_tags_for_resource(struct gw_request *r, struct gw_ecs_call *c)
{
	struct sched_error e = {0};
	json_t *tags = NULL;
	if (sched_list_tags(SCHED(r), gw_ecs_str(c->in, "resourceArn"), &tags, &e) != SCHED_OK) {
		json_decref(tags);
		return gw_ecs_fail_sched(r, &e);
	}
	return gw_ecs_reply(r, json_pack("{s:o}", "tags", tags ? tags : json_array()));
}
