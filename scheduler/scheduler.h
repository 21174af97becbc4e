/*
 * scheduler.h - ECS semantics: the only door into scheduler/.
 *
 * Clusters, task definitions and their revisions, container instances, tasks
 * with their lifecycle and placement, and services kept at their desired
 * count. Every object lives in the store (store_sched_*), so a new scheduler
 * on a reopened store carries on where the last one stopped. Objects come
 * back as jansson objects shaped as ECS's API shows them (botocore's model:
 * "clusterArn", "taskDefinitionArn", epoch-second timestamps...), so the ECS
 * handlers in gateway/ pass them on as they are; the caller owns each
 * returned reference.
 *
 * Errors are a status from enum sched_status, which maps one to one to an ECS
 * exception name (sched_exception_name), and a message for a person. A
 * struct sched is safe to share between threads: one lock serializes calls.
 */
#ifndef TASKGATE_SCHEDULER_H
#define TASKGATE_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "scheduler/driver.h"
#include "store/store.h"

enum sched_status {
	SCHED_OK = 0,
	SCHED_ERR_CLIENT = -1,              /* ClientException */
	SCHED_ERR_INVALID_PARAMETER = -2,   /* InvalidParameterException */
	SCHED_ERR_CLUSTER_NOT_FOUND = -3,   /* ClusterNotFoundException */
	SCHED_ERR_SERVICE_NOT_FOUND = -4,   /* ServiceNotFoundException */
	SCHED_ERR_SERVICE_NOT_ACTIVE = -5,  /* ServiceNotActiveException */
	SCHED_ERR_CLUSTER_HAS_INSTANCES = -6, /* ClusterContainsContainerInstancesException */
	SCHED_ERR_CLUSTER_HAS_SERVICES = -7,  /* ClusterContainsServicesException */
	SCHED_ERR_CLUSTER_HAS_TASKS = -8,     /* ClusterContainsTasksException */
	SCHED_ERR_RESOURCE_NOT_FOUND = -9,    /* ResourceNotFoundException */
	SCHED_ERR_SERVER = -10,               /* ServerException (store failure, no memory) */
};

struct sched_error {
	int code;          /* an enum sched_status */
	char message[512]; /* for a person, as ECS would word it */
};

/* The ECS exception name for a status ("ClusterNotFoundException"). */
const char *sched_exception_name(int code);

struct sched; /* one scheduler over one store */

/* Randomness for task ids and the random placement strategy: fills buf. */
typedef void (*sched_random_fn)(void *ctx, unsigned char *buf, size_t n);
/* The time now, in milliseconds since the Unix epoch. */
typedef int64_t (*sched_clock_fn)(void *ctx);

/*
 * What the gateway adds to a task's life without the scheduler knowing how
 * (task credentials, gateway/taskcreds): called under the scheduler's lock.
 *
 * starting: before the driver starts a task; fills env (a JSON object,
 *   already empty) with what the containers of the task get: name -> string
 *   for every container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI...), or name
 *   -> {container name -> string} where each container gets its own value
 *   (ECS_CONTAINER_METADATA_URI_V4); see driver.h, sched_driver_env_for.
 *   Returns 0, or -1 with reason filled: the task then stops at once with
 *   stopCode TaskFailedToStart and that reason (fail closed).
 * stopped: once a task is STOPPED (by StopTask, a dead container, a failed
 *   start or a service scaling in): revoke what starting issued. Must not fail.
 */
struct sched_task_hooks {
	int (*starting)(void *ctx, const json_t *task, const json_t *taskdef, json_t *env,
	                char *reason, size_t reason_cap);
	void (*stopped)(void *ctx, const json_t *task);
	void *ctx;
};

struct sched_config {
	struct store *store;     /* borrowed; outlives the scheduler */
	const char *region;      /* "us-east-1" */
	const char *account_id;  /* 12 digits */
	struct sched_driver driver; /* copied; its handle is borrowed */
	sched_random_fn random;  /* NULL: the system's CSPRNG */
	void *random_ctx;
	sched_clock_fn clock;    /* NULL: the real clock */
	void *clock_ctx;
	int dynamic_port_min;    /* 0: 49153 */
	int dynamic_port_max;    /* 0: 65535 */
	struct sched_task_hooks hooks; /* all NULL: none */
	int stopped_task_retention_s;  /* 0: 3600; STOPPED tasks older are deleted */
	/* Every container instance runs on the driver's one host (the gateway's
	 * process and docker drivers): a host port bound by a task on any
	 * instance, of any cluster, is taken on all of them, so two instances
	 * never hand out the same port of the one machine. false: each instance
	 * is a host of its own (the fake driver's tests). */
	bool host_ports_shared;
	/* The address published ports are bound to, as networkBindings'
	 * bindIP reports it; NULL: "0.0.0.0". */
	const char *bind_ip;
};

int sched_open(const struct sched_config *cfg, struct sched **out, struct sched_error *err);
void sched_close(struct sched *s); /* NULL-safe */

/* A page: max_results 0 means the action's default (100); next_token NULL or
 * "" is the first page. The token given back (owned by the caller, free())
 * is NULL on the last page. Tokens are opaque and stable: the same token
 * always resumes after the same object. */
struct sched_page {
	int max_results;
	const char *next_token;
};

/* --- clusters ------------------------------------------------------------
 * A cluster is named by its name or ARN; NULL or "" means "default". */
int sched_cluster_create(struct sched *s, const char *name, const json_t *tags,
                         json_t **cluster_out, struct sched_error *err);
/* Refused while the cluster has ACTIVE services, registered instances or
 * tasks that are not STOPPED; the cluster then stays as INACTIVE. */
int sched_cluster_delete(struct sched *s, const char *cluster, json_t **cluster_out,
                         struct sched_error *err);
int sched_cluster_list(struct sched *s, const struct sched_page *page, json_t **arns_out,
                       char **next_out, struct sched_error *err);
/* names: an array of names or ARNs (NULL: ["default"]); unknown ones are in
 * *failures_out with reason "MISSING". */
int sched_cluster_describe(struct sched *s, const json_t *names, json_t **clusters_out,
                           json_t **failures_out, struct sched_error *err);

/* --- task definitions ---------------------------------------------------- */
/* input: a RegisterTaskDefinition request object (family, containerDefinitions,
 * cpu, memory, networkMode, taskRoleArn, executionRoleArn, tags...). Errors
 * are ClientException naming the field, as ECS; fields taskgate cannot honour
 * (volumes, secrets, logConfiguration...) are refused by name. The task
 * definition object also carries "tags" (ECS returns them beside
 * taskDefinition in RegisterTaskDefinition/DescribeTaskDefinition, so the
 * gateway moves them there). */
int sched_taskdef_register(struct sched *s, const json_t *input, json_t **taskdef_out,
                           struct sched_error *err);
/* ref: "family:revision" or an ARN (deregistering needs the revision).
 * Deregistering an INACTIVE revision again gives it back unchanged. */
int sched_taskdef_deregister(struct sched *s, const char *ref, json_t **taskdef_out,
                             struct sched_error *err);
/* ref: "family" (its latest ACTIVE revision), "family:revision" or an ARN. */
int sched_taskdef_describe(struct sched *s, const char *ref, json_t **taskdef_out,
                           struct sched_error *err);
/* family_prefix/status (NULL: any family, "ACTIVE") filter; newest_first is
 * sort DESC. */
int sched_taskdef_list(struct sched *s, const char *family_prefix, const char *status,
                       bool newest_first, const struct sched_page *page, json_t **arns_out,
                       char **next_out, struct sched_error *err);
/* Family names in order. status as ECS: "ACTIVE" families with an ACTIVE
 * revision, "INACTIVE" those without any, "ALL" (also NULL, ECS's default)
 * every family ever registered. */
int sched_taskdef_families(struct sched *s, const char *family_prefix, const char *status,
                           const struct sched_page *page, json_t **families_out,
                           char **next_out, struct sched_error *err);

/* --- container instances ------------------------------------------------- */
struct sched_instance_spec {
	const char *cluster;
	const char *ec2_instance_id; /* NULL: made up from the container instance id */
	int cpu;                     /* CPU units, > 0 */
	int memory;                  /* MiB, > 0 */
	const json_t *reserved_ports; /* array of host ports already taken, or NULL */
	const json_t *attributes;     /* [{"name":..., "value":...}], or NULL */
	const json_t *tags;
	/* EC2's instance identity document (JSON text), or NULL: its instanceId,
	 * availabilityZone, instanceType and imageId become defaults (unsigned:
	 * trusted no more than the caller). */
	const char *identity_document;
	const json_t *version_info; /* {agentVersion, agentHash, dockerVersion}, or NULL */
};
int sched_instance_register(struct sched *s, const struct sched_instance_spec *spec,
                            json_t **instance_out, struct sched_error *err);
/* A cluster NULL, "" or "default" is made when missing (as the ECS agent
 * does); another unknown cluster is ClusterNotFoundException. A host whose
 * ec2InstanceId is already ACTIVE or DRAINING in the cluster is updated in
 * place (resources, attributes, version info; tags added), not registered
 * twice. reserved_ports NULL: the ECS agent's 22, 2375, 2376, 51678, 51679. */
/* Refused with tasks still on it unless force (then they are stopped). */
int sched_instance_deregister(struct sched *s, const char *cluster, const char *instance,
                              bool force, json_t **instance_out, struct sched_error *err);
/* status: "ACTIVE" or "DRAINING" (also puts it out of placement). */
int sched_instance_set_status(struct sched *s, const char *cluster, const char *instance,
                              const char *status, json_t **instance_out,
                              struct sched_error *err);
/* status NULL: every instance but INACTIVE ones (ECS's default). */
int sched_instance_list(struct sched *s, const char *cluster, const char *status,
                        const struct sched_page *page, json_t **arns_out, char **next_out,
                        struct sched_error *err);
/* The same with ListContainerInstances' filter, a cluster query language
 * expression (NULL or "": none) such as "attribute:ecs.instance-type ==
 * t3.micro"; a malformed one is InvalidParameterException. */
int sched_instance_list_filtered(struct sched *s, const char *cluster, const char *status,
                                 const char *filter, const struct sched_page *page,
                                 json_t **arns_out, char **next_out, struct sched_error *err);
/* remainingResources are worked out from the tasks on each instance. */
int sched_instance_describe(struct sched *s, const char *cluster, const json_t *instances,
                            json_t **instances_out, json_t **failures_out,
                            struct sched_error *err);

/* --- the gateway's own host ----------------------------------------------
 * What the ECS agent does for the host it runs on, done by the gateway for
 * the machine its driver runs tasks on (scheduler.local_instance): make sure
 * the cluster exists and that one container instance stands for this host in
 * it. The scheduler does not measure the host; the caller says what it
 * offers. */
struct sched_local_host {
	int cpu;                      /* CPU units: online CPUs x 1024 */
	int memory;                   /* MiB offered to tasks */
	const json_t *reserved_ports; /* host ports tasks may not take; NULL: the agent's */
	const json_t *attributes;     /* on top of ECS's defaults (os, architecture...) */
	const json_t *version_info;   /* NULL: taskgate's version */
};
/* The cluster is made (or made ACTIVE again after a delete); then this host
 * is registered in it, or its container instance from an earlier start is
 * updated in place (resources, attributes, version info; its status,
 * ACTIVE or DRAINING, and its tasks stay). The host is known by an
 * ec2InstanceId made once per store ("i-" and 17 hex digits, kept in the
 * store's meta table as sched.local_host_id), so the same store on the same
 * host keeps one container instance across restarts. One deregistered
 * (INACTIVE) is not brought back: a new container instance is registered, as
 * an ECS agent registers anew after its instance was deregistered.
 * *created_out (may be NULL): true when a new container instance was made. */
int sched_local_instance_ensure(struct sched *s, const char *cluster,
                                const struct sched_local_host *host, json_t **instance_out,
                                bool *created_out, struct sched_error *err);
/* The ec2InstanceId this store gives its own host (made on first use). */
int sched_local_host_id(struct sched *s, char *out, size_t cap, struct sched_error *err);

/* --- tasks --------------------------------------------------------------- */
struct sched_run_request {
	const char *cluster;
	const char *task_definition; /* family, family:revision or ARN */
	int count;                   /* 1..10; 0: 1 */
	const char *started_by;      /* up to 128 characters, or NULL */
	const char *group;           /* NULL: "family:<family>" */
	const json_t *overrides;     /* a TaskOverride object, or NULL */
	const json_t *placement_strategy;    /* [{"type":..., "field":...}], or NULL */
	const json_t *placement_constraints; /* [{"type":..., "expression":...}], or NULL */
	const json_t *tags;
};
/* Places and starts up to count tasks. Tasks that found no instance are in
 * *failures_out ({"arn": instance ARN, "reason": "RESOURCE:MEMORY"}); that is
 * not an error. A cluster without any instance is InvalidParameterException
 * ("No Container Instances were found in your cluster."), as in ECS. */
int sched_run_task(struct sched *s, const struct sched_run_request *req, json_t **tasks_out,
                   json_t **failures_out, struct sched_error *err);
/* StartTask: one task on each of container_instances (1..10 ids or ARNs of
 * the cluster), which must have the resources; req's count and placement
 * are ignored. Failures as in sched_run_task. */
int sched_start_task(struct sched *s, const struct sched_run_request *req,
                     const json_t *container_instances, json_t **tasks_out,
                     json_t **failures_out, struct sched_error *err);
/* Sets desiredStatus STOPPED (stopCode UserInitiated) and asks the driver. */
int sched_stop_task(struct sched *s, const char *cluster, const char *task, const char *reason,
                    json_t **task_out, struct sched_error *err);

struct sched_task_filter {
	const char *cluster;
	const char *container_instance; /* id or ARN */
	const char *family;
	const char *started_by;
	const char *service_name;
	const char *desired_status; /* NULL: "RUNNING" */
};
int sched_task_list(struct sched *s, const struct sched_task_filter *f,
                    const struct sched_page *page, json_t **arns_out, char **next_out,
                    struct sched_error *err);
int sched_task_describe(struct sched *s, const char *cluster, const json_t *tasks,
                        json_t **tasks_out, json_t **failures_out, struct sched_error *err);

/* What the container host knows of a task (the driver's optional containers
 * and stats calls, driver.h): *containers_out an object container name ->
 * facts, *stats_out an object Docker id -> Docker stats; either may be NULL
 * (not wanted) and is left NULL when the driver cannot say. The caller owns
 * the references. */
int sched_task_host(struct sched *s, const char *task_arn, json_t **containers_out,
                    json_t **stats_out, struct sched_error *err);

/* Moves tasks along their lifecycle from what the driver reports: PENDING to
 * RUNNING, dead ones to STOPPED with stopCode and stoppedReason, stopping
 * ones to STOPPED once their containers are gone. *changed_out (may be NULL)
 * counts tasks whose state changed. */
int sched_tick(struct sched *s, int *changed_out, struct sched_error *err);

/* --- services ------------------------------------------------------------ */
struct sched_service_spec {
	const char *cluster;
	const char *name;
	const char *task_definition;
	int desired_count;                 /* >= 0 */
	int minimum_healthy_percent;       /* -1: 100 */
	int maximum_percent;               /* -1: 200 */
	const json_t *placement_strategy;
	const json_t *placement_constraints;
	const json_t *tags;
};
int sched_service_create(struct sched *s, const struct sched_service_spec *spec,
                         json_t **service_out, struct sched_error *err);
struct sched_service_update {
	const char *cluster;
	const char *service;
	const char *task_definition; /* NULL: unchanged; a new one starts a deployment */
	int desired_count;           /* -1: unchanged */
	int minimum_healthy_percent; /* -1: unchanged */
	int maximum_percent;         /* -1: unchanged */
};
int sched_service_update(struct sched *s, const struct sched_service_update *u,
                         json_t **service_out, struct sched_error *err);
/* Refused while desiredCount > 0 unless force. The service turns DRAINING
 * until its tasks have stopped, then INACTIVE. */
int sched_service_delete(struct sched *s, const char *cluster, const char *service, bool force,
                         json_t **service_out, struct sched_error *err);
int sched_service_list(struct sched *s, const char *cluster, const struct sched_page *page,
                       json_t **arns_out, char **next_out, struct sched_error *err);
int sched_service_describe(struct sched *s, const char *cluster, const json_t *services,
                           json_t **services_out, json_t **failures_out,
                           struct sched_error *err);

/* One pass over every ACTIVE or DRAINING service of every cluster: start
 * tasks up to desiredCount (replacing stopped ones), stop surplus ones, roll
 * tasks of an older task definition over to the primary deployment within
 * minimumHealthyPercent and maximumPercent, and record service events. Safe to
 * call at any time and after a restart: it counts the tasks in the store, so
 * it never starts a task twice. Call sched_tick first to see dead tasks. */
int sched_reconcile(struct sched *s, struct sched_error *err);

/* --- tags ----------------------------------------------------------------
 * On any object by its ARN: a cluster, task definition (family:revision),
 * container instance, task or service. ECS's rules: at most 50 tags on a
 * resource, keys of 1-128 and values of 0-256 characters (letters, digits,
 * spaces and + - = . _ : / @), unique keys, and no key or value starting with
 * "aws:" in any case (reserved). A malformed ARN, or a rule broken, is
 * InvalidParameterException and nothing changes; an unknown (or INACTIVE)
 * cluster is ClusterNotFoundException, any other unknown object
 * ResourceNotFoundException. */
/* tags: [{"key","value"}]; a key already there gets the new value. */
int sched_tag_resource(struct sched *s, const char *resource_arn, const json_t *tags,
                       struct sched_error *err);
/* tag_keys: an array of keys; keys the resource does not have are ignored. */
int sched_untag_resource(struct sched *s, const char *resource_arn, const json_t *tag_keys,
                         struct sched_error *err);
/* *tags_out: the resource's tags, [{"key","value"}] in the order they were
 * added (new reference). This is also what aws:ResourceTag/<key> reads. */
int sched_list_tags(struct sched *s, const char *resource_arn, json_t **tags_out,
                    struct sched_error *err);

#endif
