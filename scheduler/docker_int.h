/*
 * docker_int.h - what driver_docker.c and docker_create.c share (and the
 * docker driver's unit tests): turning an ECS container definition into the
 * Engine API's container-create body.
 */
#ifndef TASKGATE_SCHED_DOCKER_INT_H
#define TASKGATE_SCHED_DOCKER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Labels, as the ECS agent writes them, and taskgate's own. */
#define DK_LABEL_TASK         "com.amazonaws.ecs.task-arn"
#define DK_LABEL_CONTAINER    "com.amazonaws.ecs.container-name"
#define DK_LABEL_FAMILY       "com.amazonaws.ecs.task-definition-family"
#define DK_LABEL_VERSION      "com.amazonaws.ecs.task-definition-version"
#define DK_LABEL_CLUSTER      "com.amazonaws.ecs.cluster"
#define DK_LABEL_MANAGED      "taskgate.managed"
#define DK_LABEL_ESSENTIAL    "taskgate.essential"
#define DK_LABEL_STOP_TIMEOUT "taskgate.stop-timeout"
#define DK_LABEL_INDEX        "taskgate.index"
#define DK_LABEL_HEALTH       "taskgate.health-check" /* "true": the definition has one */

struct dk_create_opts {
	const char *bind_ip;      /* HostIp of port bindings */
	const char *network_mode; /* when the definition has none */
	int stop_timeout;         /* default, seconds */
};

/* One container to create: the Engine API body and the facts the driver
 * keeps. */
struct dk_create {
	char *name;        /* the container definition's name */
	char *docker_name; /* ecs-<family>-<revision>-<name>-<task id> */
	char *image;
	bool essential;
	bool has_check; /* a healthCheck that is not NONE: Config.Healthcheck */
	int stop_timeout;
	json_t *body; /* POST /containers/create body, owned */
};

/* Every container of the task in definition order; 0, or -1 with reason. */
int dk_create_build(const json_t *task, const json_t *taskdef, const json_t *env,
                    const struct dk_create_opts *o, struct dk_create **out, size_t *n_out,
                    char *reason, size_t cap);
void dk_create_free(struct dk_create *v, size_t n);

/* "repo[:tag]" or "repo@digest" -> fromImage and tag for a pull ("latest"
 * when none is given, so that a pull never fetches every tag). Strings are
 * new (caller frees). */
int dk_image_ref(const char *image, char **from, char **tag);

#endif
