/*
 * taskcreds.h - task role credentials and the task endpoint (private to
 * gateway/).
 *
 * When a task starts (the scheduler's hooks.starting), taskgate does what the
 * ECS agent and ECS's control plane do together:
 *
 *   - for the task definition's taskRoleArn and, separately, its
 *     executionRoleArn, it mints role-session credentials through STS
 *     (gw_sts_issue_for_task: the role's trust policy must allow
 *     ecs-tasks.amazonaws.com) for arn:aws:sts::<account>:assumed-role/<role>/
 *     <task id>, with a session policy that binds them to their task;
 *   - it gives each kind a random credentials id (128 bits, 32 hex digits)
 *     and each container a random metadata id, and stores them (the ids only
 *     as SHA-256, the session token sealed by the key box);
 *   - it fills the environment every container gets:
 *     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, optionally
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN, ECS_CONTAINER_METADATA_URI(_V4),
 *     AWS_REGION, AWS_DEFAULT_REGION, AWS_EXECUTION_ENV.
 *
 * The task endpoint (gateway/task_endpoint.c, plain HTTP on its own
 * listener) serves them back: GET /v2/credentials/<id> renews credentials
 * that are due (renew_before_s ahead of expiry) before answering, so a task
 * never receives expired ones. When the task stops (hooks.stopped) its rows
 * and its STS sessions are revoked at once: the endpoint answers
 * InvalidIdInRequest and SigV4 requests signed with them are refused.
 *
 * Every issuance, renewal, fetch and revocation leaves an audit record
 * (gw_audit_record_event); an issuance or fetch whose record cannot be
 * written is refused (fail closed). docs/task-credentials.md is the user's
 * description.
 */
#ifndef TASKGATE_GATEWAY_TASKCREDS_H
#define TASKGATE_GATEWAY_TASKCREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/config.h"
#include "gateway/secret.h"
#include "scheduler/scheduler.h"

struct gw_server;
struct gw_taskcreds; /* thread-safe */

/* Bytes of randomness in a credentials id and a metadata id (hex encoded). */
#define GW_TASKCREDS_ID_BYTES 16
#define GW_TASKCREDS_ID_LEN   (2 * GW_TASKCREDS_ID_BYTES)
/* Bytes of randomness in an authorization token (base64url encoded). */
#define GW_TASKCREDS_AUTH_BYTES 32
#define GW_TASKCREDS_AUTH_LEN   43

/* Revoked rows (and their metadata ids) are deleted this long after the stop. */
#define GW_TASKCREDS_RETAIN_S (3 * 3600)

/* The time now in epoch seconds (tests move it). */
typedef int64_t (*gw_taskcreds_clock_fn)(void *ctx);

/* The task as the scheduler shows it now (DescribeTasks shape) and its task
 * definition; *task and *taskdef are new references. 0, or -1 (unknown). */
typedef int (*gw_taskcreds_describe_fn)(void *ctx, const char *cluster_arn, const char *task_arn,
                                        json_t **task, json_t **taskdef);

struct gw_taskcreds_options {
	struct gw_server *srv;       /* required: store, key box, IAM, audit, log */
	const struct gw_config *cfg; /* required: task_credentials.*, region, account */
	const char *endpoint_base;   /* "http://127.0.0.1:51679": FULL_URI and metadata
	                              * base in "full" mode (the bound port filled in) */
	gw_taskcreds_clock_fn clock; /* NULL: the real clock */
	void *clock_ctx;
	gw_taskcreds_describe_fn describe; /* NULL: task addresses and metadata unknown */
	void *describe_ctx;
};

int gw_taskcreds_new(const struct gw_taskcreds_options *opts, struct gw_taskcreds **out, char *err,
                     size_t err_cap);
void gw_taskcreds_free(struct gw_taskcreds *tc); /* NULL-safe */

/* The hooks to put in struct sched_config (ctx = tc). */
struct sched_task_hooks gw_taskcreds_hooks(struct gw_taskcreds *tc);

/* hooks.starting and hooks.stopped, callable directly. */
int gw_taskcreds_starting(struct gw_taskcreds *tc, const json_t *task, const json_t *taskdef,
                          json_t *env, char *reason, size_t reason_cap);
void gw_taskcreds_stopped(struct gw_taskcreds *tc, const json_t *task);

/* ---- what the endpoint asks ---- */

enum gw_taskcreds_status {
	GW_TASKCREDS_OK = 0,
	GW_TASKCREDS_NO_ID = -1,    /* 400 NoIdInRequest */
	GW_TASKCREDS_UNKNOWN = -2,  /* 400 InvalidIdInRequest: unknown, revoked */
	GW_TASKCREDS_DENIED = -3,   /* 403 AccessDenied: token or source address wrong */
	GW_TASKCREDS_UNINIT = -4,   /* 503 CredentialsUninitialized: could not renew */
	GW_TASKCREDS_INTERNAL = -5, /* 500 InternalServerError (store, key, audit) */
};

/* Credentials served to a task. secret and token are secrets: clear with
 * gw_taskcreds_served_clear, never log them. */
struct gw_taskcreds_served {
	char access_key_id[GW_ACCESS_KEY_ID_LEN + 1];
	struct gw_secret secret; /* NUL-terminated */
	struct gw_secret token;  /* NUL-terminated */
	char expiration[24];     /* "2026-11-30T10:00:00Z" */
	char role_arn[2048];
	char task_arn[2048];
	char kind[16]; /* "task" or "execution" */
	bool renewed;  /* this fetch minted new credentials */
};
void gw_taskcreds_served_clear(struct gw_taskcreds_served *s);

/*
 * The credentials with this id (id_n bytes, from the request path or query),
 * for a caller at source_ip presenting the Authorization header authz (NULL:
 * none). On GW_TASKCREDS_OK *out holds credentials that are valid for at
 * least renew_before_s more (renewed first when due). Any other status has
 * message filled (for the response and the log; never a secret). Every call
 * leaves one audit record.
 */
int gw_taskcreds_fetch(struct gw_taskcreds *tc, const char *id, size_t id_n, const char *authz,
                       size_t authz_n, const char *source_ip, struct gw_taskcreds_served *out,
                       char *message, size_t message_cap);

/* The task and container a metadata id names (NULL when unknown): *task_arn,
 * *cluster_arn and *container are malloc'd. 0, -1 unknown, -2 store error. */
/* The describe callback of the options (NULL-safe results: -1 without one). */
int gw_taskcreds_describe(struct gw_taskcreds *tc, const char *cluster_arn, const char *task_arn,
                          json_t **task, json_t **taskdef);

int gw_taskcreds_metadata_id(struct gw_taskcreds *tc, const char *id, char **task_arn,
                             char **cluster_arn, char **container);

/* The status's ECS code ("InvalidIdInRequest") and HTTP status. */
const char *gw_taskcreds_status_code(int status);
unsigned gw_taskcreds_status_http(int status);

/* ---- inside a running gateway (gateway/task_serve.c) ---- */

struct gw_server_error;
/* Starts the task endpoint and makes srv->taskcreds; call before the
 * scheduler opens. GW_SERVER_OK or an error with nothing left open. */
int gw_task_serve_start(struct gw_server *srv, struct gw_server_error *err);
/* Stops the endpoint (no more fetches); before the scheduler closes. */
void gw_task_serve_stop_endpoint(struct gw_server *srv);
/* Stops the endpoint if still running and frees srv->taskcreds; after the
 * scheduler closed. */
void gw_task_serve_free(struct gw_server *srv);
/* The task credentials hooks for the scheduler of srv (left as they are
 * when task credentials are not set up). */
void gw_task_serve_hooks(struct gw_server *srv, struct sched_task_hooks *out);

#endif
