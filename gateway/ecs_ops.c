/*
 * ecs_ops.c - the ECS operations taskgate serves: their names, IAM actions
 * and input members with botocore's types, the check of an input against
 * them, and the audit copy of an input without secrets.
 *
 * This file knows no scheduler and no HTTP: the table is data, so the
 * checks and the authorization table (ecs_authz.c) can be tested alone, and
 * the road (ecs_api.c) dispatches to the handlers by the operation's index.
 * Members of the model that ask for a feature taskgate does not run (load
 * balancers, awsvpc network configuration, capacity providers...) are
 * refused with InvalidParameterException rather than silently ignored: a
 * caller must not believe it got what it asked for. Members outside the
 * model are ignored, as AWS JSON services do.
 */
#include "gateway/ecs.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the operation table ---- */

#define S  GW_ECS_T_STRING
#define I  GW_ECS_T_INTEGER
#define B  GW_ECS_T_BOOLEAN
#define SL GW_ECS_T_STRING_LIST
#define O  GW_ECS_T_OBJECT
#define L  GW_ECS_T_LIST
#define T  GW_ECS_T_TAGS
#define R  GW_ECS_M_REQUIRED
#define U  GW_ECS_M_UNSUPPORTED
#define PAGE                                                                                       \
	{"nextToken", S, 0},                                                                       \
	{                                                                                          \
		"maxResults", I, 0                                                                 \
	}
#define END                                                                                        \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

static const struct gw_ecs_member m_create_cluster[] = {{"clusterName", S, 0},
                                                        {"tags", T, 0},
                                                        {"settings", L, U},
                                                        {"configuration", O, U},
                                                        {"capacityProviders", SL, U},
                                                        {"defaultCapacityProviderStrategy", L, U},
                                                        {"serviceConnectDefaults", O, U},
                                                        END};
static const struct gw_ecs_member m_delete_cluster[] = {{"cluster", S, R}, END};
static const struct gw_ecs_member m_list_clusters[] = {PAGE, END};
static const struct gw_ecs_member m_describe_clusters[] = {
    {"clusters", SL, 0}, {"include", SL, 0}, END};
static const struct gw_ecs_member m_register_taskdef[] = {{"family", S, R},
                                                          {"taskRoleArn", S, 0},
                                                          {"executionRoleArn", S, 0},
                                                          {"networkMode", S, 0},
                                                          {"containerDefinitions", L, R},
                                                          {"volumes", L, 0},
                                                          {"placementConstraints", L, 0},
                                                          {"requiresCompatibilities", SL, 0},
                                                          {"cpu", S, 0},
                                                          {"memory", S, 0},
                                                          {"tags", T, 0},
                                                          {"pidMode", S, 0},
                                                          {"ipcMode", S, 0},
                                                          {"proxyConfiguration", O, U},
                                                          {"inferenceAccelerators", L, U},
                                                          {"ephemeralStorage", O, U},
                                                          {"runtimePlatform", O, 0},
                                                          END};
static const struct gw_ecs_member m_deregister_taskdef[] = {{"taskDefinition", S, R}, END};
static const struct gw_ecs_member m_describe_taskdef[] = {
    {"taskDefinition", S, R}, {"include", SL, 0}, END};
static const struct gw_ecs_member m_list_taskdefs[] = {
    {"familyPrefix", S, 0}, {"status", S, 0}, {"sort", S, 0}, PAGE, END};
static const struct gw_ecs_member m_list_families[] = {
    {"familyPrefix", S, 0}, {"status", S, 0}, PAGE, END};
static const struct gw_ecs_member m_run_task[] = {{"capacityProviderStrategy", L, U},
                                                  {"cluster", S, 0},
                                                  {"count", I, 0},
                                                  {"enableECSManagedTags", B, 0},
                                                  {"enableExecuteCommand", B, 0},
                                                  {"group", S, 0},
                                                  {"launchType", S, 0},
                                                  {"networkConfiguration", O, U},
                                                  {"overrides", O, 0},
                                                  {"placementConstraints", L, 0},
                                                  {"placementStrategy", L, 0},
                                                  {"platformVersion", S, U},
                                                  {"propagateTags", S, 0},
                                                  {"referenceId", S, 0},
                                                  {"startedBy", S, 0},
                                                  {"tags", T, 0},
                                                  {"taskDefinition", S, R},
                                                  END};
static const struct gw_ecs_member m_start_task[] = {{"cluster", S, 0},
                                                    {"containerInstances", SL, R},
                                                    {"enableECSManagedTags", B, 0},
                                                    {"enableExecuteCommand", B, 0},
                                                    {"group", S, 0},
                                                    {"networkConfiguration", O, U},
                                                    {"overrides", O, 0},
                                                    {"propagateTags", S, 0},
                                                    {"referenceId", S, 0},
                                                    {"startedBy", S, 0},
                                                    {"tags", T, 0},
                                                    {"taskDefinition", S, R},
                                                    END};
static const struct gw_ecs_member m_stop_task[] = {
    {"cluster", S, 0}, {"task", S, R}, {"reason", S, 0}, END};
static const struct gw_ecs_member m_describe_tasks[] = {
    {"cluster", S, 0}, {"tasks", SL, R}, {"include", SL, 0}, END};
static const struct gw_ecs_member m_list_tasks[] = {{"cluster", S, 0},
                                                    {"containerInstance", S, 0},
                                                    {"family", S, 0},
                                                    PAGE,
                                                    {"startedBy", S, 0},
                                                    {"serviceName", S, 0},
                                                    {"desiredStatus", S, 0},
                                                    {"launchType", S, 0},
                                                    END};
static const struct gw_ecs_member m_create_service[] = {{"cluster", S, 0},
                                                        {"serviceName", S, R},
                                                        {"taskDefinition", S, 0},
                                                        {"loadBalancers", L, U},
                                                        {"serviceRegistries", L, U},
                                                        {"desiredCount", I, 0},
                                                        {"clientToken", S, 0},
                                                        {"launchType", S, 0},
                                                        {"capacityProviderStrategy", L, U},
                                                        {"platformVersion", S, U},
                                                        {"role", S, U},
                                                        {"deploymentConfiguration", O, 0},
                                                        {"placementConstraints", L, 0},
                                                        {"placementStrategy", L, 0},
                                                        {"networkConfiguration", O, U},
                                                        {"healthCheckGracePeriodSeconds", I, 0},
                                                        {"schedulingStrategy", S, 0},
                                                        {"deploymentController", O, 0},
                                                        {"tags", T, 0},
                                                        {"enableECSManagedTags", B, 0},
                                                        {"propagateTags", S, 0},
                                                        {"enableExecuteCommand", B, 0},
                                                        {"serviceConnectConfiguration", O, U},
                                                        {"volumeConfigurations", L, U},
                                                        END};
static const struct gw_ecs_member m_update_service[] = {{"cluster", S, 0},
                                                        {"service", S, R},
                                                        {"desiredCount", I, 0},
                                                        {"taskDefinition", S, 0},
                                                        {"capacityProviderStrategy", L, U},
                                                        {"deploymentConfiguration", O, 0},
                                                        {"networkConfiguration", O, U},
                                                        {"placementConstraints", L, U},
                                                        {"placementStrategy", L, U},
                                                        {"platformVersion", S, U},
                                                        {"forceNewDeployment", B, 0},
                                                        {"healthCheckGracePeriodSeconds", I, 0},
                                                        {"enableExecuteCommand", B, 0},
                                                        {"enableECSManagedTags", B, 0},
                                                        {"loadBalancers", L, U},
                                                        {"propagateTags", S, 0},
                                                        {"serviceRegistries", L, U},
                                                        {"serviceConnectConfiguration", O, U},
                                                        {"volumeConfigurations", L, U},
                                                        END};
static const struct gw_ecs_member m_delete_service[] = {
    {"cluster", S, 0}, {"service", S, R}, {"force", B, 0}, END};
static const struct gw_ecs_member m_describe_services[] = {
    {"cluster", S, 0}, {"services", SL, R}, {"include", SL, 0}, END};
static const struct gw_ecs_member m_list_services[] = {
    {"cluster", S, 0}, PAGE, {"launchType", S, 0}, {"schedulingStrategy", S, 0}, END};
static const struct gw_ecs_member m_register_instance[] = {
    {"cluster", S, 0},
    {"instanceIdentityDocument", S, 0},
    {"instanceIdentityDocumentSignature", S, 0},
    {"totalResources", L, 0},
    {"versionInfo", O, 0},
    {"containerInstanceArn", S, U},
    {"attributes", L, 0},
    {"platformDevices", L, U},
    {"tags", T, 0},
    END};
static const struct gw_ecs_member m_deregister_instance[] = {
    {"cluster", S, 0}, {"containerInstance", S, R}, {"force", B, 0}, END};
static const struct gw_ecs_member m_list_instances[] = {
    {"cluster", S, 0}, {"filter", S, 0}, PAGE, {"status", S, 0}, END};
static const struct gw_ecs_member m_describe_instances[] = {
    {"cluster", S, 0}, {"containerInstances", SL, R}, {"include", SL, 0}, END};
static const struct gw_ecs_member m_tag_resource[] = {{"resourceArn", S, R}, {"tags", T, R}, END};
static const struct gw_ecs_member m_untag_resource[] = {
    {"resourceArn", S, R}, {"tagKeys", SL, R}, END};
static const struct gw_ecs_member m_list_tags[] = {{"resourceArn", S, R}, END};

#undef S
#undef I
#undef B
#undef SL
#undef O
#undef L
#undef T
#undef R
#undef U
#undef PAGE
#undef END

#define OP(name, members)                                                                          \
	{                                                                                          \
		name, "ecs:" name, members                                                         \
	}
static const struct gw_ecs_op ops[] = {
    OP("CreateCluster", m_create_cluster),
    OP("DeleteCluster", m_delete_cluster),
    OP("ListClusters", m_list_clusters),
    OP("DescribeClusters", m_describe_clusters),
    OP("RegisterTaskDefinition", m_register_taskdef),
    OP("DeregisterTaskDefinition", m_deregister_taskdef),
    OP("DescribeTaskDefinition", m_describe_taskdef),
    OP("ListTaskDefinitions", m_list_taskdefs),
    OP("ListTaskDefinitionFamilies", m_list_families),
    OP("RunTask", m_run_task),
    OP("StartTask", m_start_task),
    OP("StopTask", m_stop_task),
    OP("DescribeTasks", m_describe_tasks),
    OP("ListTasks", m_list_tasks),
    OP("CreateService", m_create_service),
    OP("UpdateService", m_update_service),
    OP("DeleteService", m_delete_service),
    OP("DescribeServices", m_describe_services),
    OP("ListServices", m_list_services),
    OP("RegisterContainerInstance", m_register_instance),
    OP("DeregisterContainerInstance", m_deregister_instance),
    OP("ListContainerInstances", m_list_instances),
    OP("DescribeContainerInstances", m_describe_instances),
    OP("TagResource", m_tag_resource),
    OP("UntagResource", m_untag_resource),
    OP("ListTagsForResource", m_list_tags),
};
#undef OP

const struct gw_ecs_op *gw_ecs_ops(size_t *n)
{
	*n = sizeof(ops) / sizeof(ops[0]);
	return ops;
}

const struct gw_ecs_op *gw_ecs_op_find(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == n && memcmp(ops[i].name, name, n) == 0)
			return &ops[i];
	return NULL;
}

/* ---- input checks ---- */

static const char *type_words(enum gw_ecs_type t)
{
	switch (t) {
	case GW_ECS_T_STRING:
		return "a string";
	case GW_ECS_T_INTEGER:
		return "an integer";
	case GW_ECS_T_BOOLEAN:
		return "a boolean";
	case GW_ECS_T_STRING_LIST:
		return "a list of strings";
	case GW_ECS_T_OBJECT:
		return "an object";
	case GW_ECS_T_LIST:
		return "a list of objects";
	case GW_ECS_T_TAGS:
		return "a list of tags ({\"key\": string, \"value\": string})";
	}
	return "a value";
}

static bool type_ok(enum gw_ecs_type t, const json_t *v)
{
	size_t i;
	json_t *e;
	switch (t) {
	case GW_ECS_T_STRING:
		return json_is_string(v);
	case GW_ECS_T_INTEGER:
		return json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
		       json_integer_value(v) <= INT32_MAX;
	case GW_ECS_T_BOOLEAN:
		return json_is_boolean(v);
	case GW_ECS_T_STRING_LIST:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
		return true;
	case GW_ECS_T_OBJECT:
		return json_is_object(v);
	case GW_ECS_T_LIST:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e) if (!json_is_object(e)) return false;
		return true;
	case GW_ECS_T_TAGS:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e)
		{
			if (!json_is_object(e))
				return false;
			const char *k;
			json_t *x;
			json_object_foreach(e, k, x)
			{
				if (strcmp(k, "key") != 0 && strcmp(k, "value") != 0)
					return false;
				if (!json_is_string(x))
					return false;
			}
		}
		return true;
	}
	return false;
}

__attribute__((format(printf, 3, 4))) static int input_fail(char *msg, size_t cap, const char *f,
                                                            ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(msg, cap, f, ap);
	va_end(ap);
	if (n < 0 && cap)
		msg[0] = '\0';
	return -1;
}

int gw_ecs_check_input(const struct gw_ecs_op *op, const json_t *in, const char **code, char *msg,
                       size_t msg_cap)
{
	*code = "SerializationException";
	if (!json_is_object(in))
		return input_fail(msg, msg_cap, "The request body must be a JSON object.");
	for (const struct gw_ecs_member *m = op->members; m->name; m++) {
		json_t *v = json_object_get(in, m->name);
		if (!v || json_is_null(v)) {
			if (m->flags & GW_ECS_M_REQUIRED) {
				*code = "InvalidParameterException";
				return input_fail(msg, msg_cap, "%s is required.", m->name);
			}
			continue;
		}
		if (!type_ok(m->type, v)) {
			*code = "SerializationException";
			return input_fail(msg, msg_cap, "%s must be %s.", m->name,
			                  type_words(m->type));
		}
		/* A required name or ARN that is empty names nothing: refused
		 * before any question is asked on an empty resource (found by
		 * fuzz_ecs_input). */
		if ((m->flags & GW_ECS_M_REQUIRED) && m->type == GW_ECS_T_STRING &&
		    json_string_length(v) == 0) {
			*code = "InvalidParameterException";
			return input_fail(msg, msg_cap, "%s must not be empty.", m->name);
		}
		if (m->flags & GW_ECS_M_UNSUPPORTED) {
			*code = "InvalidParameterException";
			return input_fail(msg, msg_cap,
			                  "%s is not supported by this endpoint (taskgate); see "
			                  "docs/api.md.",
			                  m->name);
		}
	}
	return 0;
}

/* ---- audit parameters ---- */

/* Drops "value" from every {"name", "value"} of an environment list. */
static void strip_environment(json_t *list)
{
	size_t i;
	json_t *e;
	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, e) if (json_is_object(e)) json_object_del(e, "value");
}

static void strip_containers(json_t *containers)
{
	size_t i;
	json_t *c;
	if (!json_is_array(containers))
		return;
	json_array_foreach(containers, i, c)
	{
		if (!json_is_object(c))
			continue;
		strip_environment(json_object_get(c, "environment"));
		/* Registry credentials and Docker labels are not secrets; but a
		 * repositoryCredentials object names a secret's ARN only. */
	}
}

json_t *gw_ecs_audit_params(const json_t *in)
{
	json_t *copy = json_deep_copy(in);
	if (!copy)
		return NULL;
	strip_containers(json_object_get(copy, "containerDefinitions"));
	json_t *ov = json_object_get(copy, "overrides");
	if (json_is_object(ov))
		strip_containers(json_object_get(ov, "containerOverrides"));
	return copy;
}

void gw_ecs_call_free(struct gw_ecs_call *c)
{
	if (!c)
		return;
	json_decref(c->in);
	free(c);
}

const char *gw_ecs_str(const json_t *in, const char *name)
{
	const json_t *v = json_object_get(in, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}
