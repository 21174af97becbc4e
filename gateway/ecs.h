/*
 * ecs.h - the ECS API over AWS JSON 1.1 (private to gateway/).
 *
 * A request to POST / with X-Amz-Target: AmazonEC2ContainerServiceV20141113.
 * <Action> walks the same road as every other request; this header is what
 * the road's steps call for it:
 *
 *   decode     gw_ecs_decode: the target names one operation of the table in
 *              ecs_api.c; the body parses as one JSON object whose members
 *              have the types botocore's model gives them; what the
 *              operation needs is present. r->api_action, r->audit_params
 *              (environment values removed) and r->ecs are set.
 *   authorize  gw_ecs_authorize: the operation's questions (ecs_authz.c)
 *              through gw_authorize, each recorded with
 *              gw_request_add_decision; the first deny stops the request with
 *              AccessDeniedException before anything is executed.
 *   execute    gw_ecs_execute: the scheduler call (ecs_actions.c,
 *              ecs_tasks.c) and the response, shaped as botocore's model.
 *
 * The authorization questions are built by a pure function
 * (gw_ecs_questions) from the operation, its input and a way to read the tags
 * of existing resources, so the table can be tested without a server.
 */
#ifndef TASKGATE_GATEWAY_ECS_H
#define TASKGATE_GATEWAY_ECS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct gw_request;
struct sched;

/* The X-Amz-Target prefix of every ECS operation. */
#define GW_ECS_TARGET_PREFIX "AmazonEC2ContainerServiceV20141113."

struct gw_ecs_call;

/* One operation of the API: its name on the wire, its IAM action, the
 * members of its input and how it runs. */
struct gw_ecs_op {
	const char *name;       /* "RunTask" */
	const char *iam_action; /* "ecs:RunTask" */
	const struct gw_ecs_member *members;
};

/* Member types of botocore's model, checked at decode. */
enum gw_ecs_type {
	GW_ECS_T_STRING = 1,
	GW_ECS_T_INTEGER,
	GW_ECS_T_BOOLEAN,
	GW_ECS_T_STRING_LIST,
	GW_ECS_T_OBJECT,
	GW_ECS_T_LIST, /* a list of objects */
	GW_ECS_T_TAGS, /* [{"key": string, "value": string}] */
};

/* A member in the model that taskgate refuses (a feature it does not run):
 * InvalidParameterException naming it. */
#define GW_ECS_M_REQUIRED    1u
#define GW_ECS_M_UNSUPPORTED 2u

struct gw_ecs_member {
	const char *name;
	enum gw_ecs_type type;
	unsigned flags;
};

/* The decoded call, owned by the request (gw_ecs_call_free). */
struct gw_ecs_call {
	const struct gw_ecs_op *op;
	json_t *in; /* the request object */
};

/* The operation named name (n bytes), or NULL. */
const struct gw_ecs_op *gw_ecs_op_find(const char *name, size_t n);
/* Every operation, for docs and tests: *n is set to the count. */
const struct gw_ecs_op *gw_ecs_ops(size_t *n);

/*
 * Checks an input object against op's members: types, required ones present,
 * unsupported ones absent. On failure returns -1 with *code the ECS
 * exception (static: "SerializationException" for a type mismatch,
 * "InvalidParameterException" otherwise) and msg filled.
 */
int gw_ecs_check_input(const struct gw_ecs_op *op, const json_t *in, const char **code, char *msg,
                       size_t msg_cap);

/* The input as the audit record keeps it (a new object): the values of every
 * environment variable removed (names kept), since they may be secrets. */
json_t *gw_ecs_audit_params(const json_t *in);

void gw_ecs_call_free(struct gw_ecs_call *c); /* NULL is fine */

/* --- authorization (ecs_authz.c) ---------------------------------------- */

/*
 * One question the policy engine must answer Allow for the call to go on.
 * keys: a JSON object, condition key -> array of string values (a key with
 * an empty array is present with no value, as aws:TagKeys for no tags).
 */
struct gw_ecs_question {
	char action[64];    /* "ecs:RunTask", "iam:PassRole", "ecs:TagResource" */
	char resource[512]; /* ARN or "*" */
	json_t *keys;       /* owned */
};

#define GW_ECS_QUESTIONS_MAX 128

/* The tags of an existing resource by ARN: 0 with *tags an array of
 * {"key","value"} (new reference; empty when the resource has none or does
 * not exist), -1 when they could not be read (the call is then denied). */
typedef int (*gw_ecs_tags_fn)(void *ctx, const char *arn, json_t **tags);

/* The latest ACTIVE revision of a family as a task definition ARN, for a
 * RunTask that names a family alone: 0 with arn filled, 1 when there is no
 * such family, -1 on error. NULL in tests: the family is used as
 * "family:*". */
typedef int (*gw_ecs_resolve_fn)(void *ctx, const char *family, char *arn, size_t cap);

struct gw_ecs_env {
	const char *region;
	const char *account_id;
	gw_ecs_tags_fn tags;
	gw_ecs_resolve_fn resolve;
	void *ctx;
};

/*
 * The questions for op with input in, per AWS's service authorization
 * reference for ECS (docs/api.md lists them). Fills q[0..*n) (free each
 * q[i].keys with gw_ecs_questions_free). Returns 0, or -1 with msg filled and
 * *n = 0 (nothing to free) when the questions could not be built (out of
 * memory, too many resources, unreadable tags): the call must then be denied.
 */
int gw_ecs_questions(const struct gw_ecs_op *op, const json_t *in, const struct gw_ecs_env *env,
                     struct gw_ecs_question *q, size_t cap, size_t *n, char *msg, size_t msg_cap);
void gw_ecs_questions_free(struct gw_ecs_question *q, size_t n);

/* ARNs as ECS writes them, from a name or an ARN given by the caller (an ARN
 * is kept as it is). 0, or -1 when it does not fit. */
int gw_ecs_cluster_arn(const struct gw_ecs_env *env, const char *cluster, char *out, size_t cap);
/* The short name of a cluster given by name or ARN ("default" for NULL/""). */
const char *gw_ecs_cluster_name(const char *cluster, char *buf, size_t cap);

/* --- the road (ecs_api.c) ------------------------------------------------ */
int gw_ecs_decode(struct gw_request *r);
int gw_ecs_authorize(struct gw_request *r);
int gw_ecs_execute(struct gw_request *r);

/* Helpers for the operations' handlers. */
/* An ECS error: status 400 (500 for ServerException) and the JSON error body. */
int gw_ecs_fail(struct gw_request *r, const char *code, const char *message);
/* A scheduler error in ECS's shape. */
struct sched_error;
int gw_ecs_fail_sched(struct gw_request *r, const struct sched_error *e);
/* 200 with obj (consumed) as the body, Content-Type application/x-amz-json-1.1. */
int gw_ecs_reply(struct gw_request *r, json_t *obj);
/* Reads maxResults/nextToken into a page; -1 (and the response set) when
 * maxResults is outside 1..100. */
struct sched_page;
int gw_ecs_page(struct gw_request *r, const json_t *in, struct sched_page *page);
/* A string member, or NULL when absent. */
const char *gw_ecs_str(const json_t *in, const char *name);
/* Whether the input's "include" list names what (for "TAGS"). */
bool gw_ecs_includes(const json_t *in, const char *what);
/* Removes "tags" from an object, or from each object of an array: ECS shows
 * tags only when include names TAGS. */
void gw_ecs_drop_tags(json_t *v);
/* Adds "nextToken" (consumed, NULL: nothing) to obj. */
json_t *gw_ecs_with_token(json_t *obj, char *next_token);
/* A string member against a list of accepted values (NULL-terminated):
 * 0 when absent or accepted; -1 with the response set otherwise. */
int gw_ecs_enum(struct gw_request *r, const json_t *in, const char *name,
                const char *const *accepted);

/* The handlers, one per operation (ecs_actions.c, ecs_tasks.c). */
int gw_ecs_create_cluster(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_delete_cluster(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_clusters(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_describe_clusters(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_register_task_definition(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_deregister_task_definition(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_describe_task_definition(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_task_definitions(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_task_definition_families(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_register_container_instance(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_deregister_container_instance(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_container_instances(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_describe_container_instances(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_tag_resource(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_untag_resource(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_tags_for_resource(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_run_task(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_start_task(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_stop_task(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_describe_tasks(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_tasks(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_create_service(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_update_service(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_delete_service(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_describe_services(struct gw_request *r, struct gw_ecs_call *c);
int gw_ecs_list_services(struct gw_request *r, struct gw_ecs_call *c);

#endif
