/*
 * ecs_authz.c - what each ECS operation asks of IAM: the authorization table.
 *
 * For every operation this file says which IAM action is asked, on which
 * resource ARN, with which condition keys, following AWS's service
 * authorization reference for ECS ("Actions, resources, and condition keys
 * for Amazon Elastic Container Service") and its tagging rules:
 *
 *   - the resource is the object the call acts on (the task definition for
 *     RunTask and StartTask, the task for StopTask, the service for
 *     Create/Update/Delete/DescribeServices, the cluster for cluster calls,
 *     "*" for list calls that have no resource);
 *   - ecs:cluster, ecs:task-definition, ecs:container-instances and
 *     ecs:enable-execute-command are carried only by the actions AWS lists
 *     them for (adding a key everywhere would make a Deny on it too wide);
 *   - aws:RequestTag/<k> and aws:TagKeys come with the tags a call sets;
 *     aws:ResourceTag/<k> (and ecs:ResourceTag/<k>) with the tags an existing
 *     resource already has;
 *   - creating a resource with tags also asks ecs:TagResource with
 *     ecs:CreateAction naming the creating call ("tag on create");
 *   - a role handed to tasks (taskRoleArn, executionRoleArn, and the same in
 *     RunTask/StartTask overrides) asks iam:PassRole on that role with
 *     iam:PassedToService = ecs-tasks.amazonaws.com.
 *
 * Everything is built from the decoded input alone, plus two reads through
 * the environment: tags of existing resources, and the latest revision of a
 * family named without one. Nothing here changes any state, and any failure
 * to build a question is a failure of the call (it is then denied).
 */
#include "gateway/ecs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PASSED_TO_TASKS "ecs-tasks.amazonaws.com"

struct qb {
	const struct gw_ecs_env *env;
	struct gw_ecs_question *q;
	size_t cap;
	size_t n;
	char *msg;
	size_t msg_cap;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void qb_fail(struct qb *b, const char *f, ...)
{
	if (b->failed)
		return;
	b->failed = true;
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(b->msg, b->msg_cap, f, ap);
	va_end(ap);
	if (n < 0 && b->msg_cap)
		b->msg[0] = '\0';
}

/* A new question, or NULL (b failed) when the table is full or a value does
 * not fit. A question equal in action and resource to an earlier one without
 * keys is not asked twice. */
static struct gw_ecs_question *ask(struct qb *b, const char *action, const char *resource)
{
	if (b->failed)
		return NULL;
	if (b->n >= b->cap) {
		qb_fail(b, "This request names more resources than one call may authorize.");
		return NULL;
	}
	if (strlen(action) >= sizeof(b->q[0].action) ||
	    strlen(resource) >= sizeof(b->q[0].resource)) {
		qb_fail(b, "A resource name in this request is too long.");
		return NULL;
	}
	struct gw_ecs_question *q = &b->q[b->n];
	memset(q, 0, sizeof(*q));
	memcpy(q->action, action, strlen(action) + 1);
	memcpy(q->resource, resource, strlen(resource) + 1);
	q->keys = json_object();
	if (!q->keys) {
		qb_fail(b, "The gateway is out of memory.");
		return NULL;
	}
	b->n++;
	return q;
}

static void key_add(struct qb *b, struct gw_ecs_question *q, const char *key, const char *value)
{
	if (!q || b->failed)
		return;
	json_t *arr = json_object_get(q->keys, key);
	if (!arr) {
		arr = json_array();
		if (!arr || json_object_set_new(q->keys, key, arr) != 0) {
			qb_fail(b, "The gateway is out of memory.");
			return;
		}
	}
	if (value && json_array_append_new(arr, json_string(value)) != 0)
		qb_fail(b, "The gateway is out of memory.");
}

/* Copies every key of src into dst (same values). */
static void keys_copy(struct qb *b, struct gw_ecs_question *dst, const struct gw_ecs_question *src)
{
	if (!dst || !src || b->failed)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(src->keys, k, v)
	{
		json_t *c = json_deep_copy(v);
		if (!c || json_object_set_new(dst->keys, k, c) != 0) {
			qb_fail(b, "The gateway is out of memory.");
			return;
		}
	}
}

/* aws:RequestTag/<k> for each tag and aws:TagKeys with every key. */
static void request_tags(struct qb *b, struct gw_ecs_question *q, const json_t *tags)
{
	if (!q || !json_is_array(tags))
		return;
	key_add(b, q, "aws:TagKeys", NULL);
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
	{
		const char *k = gw_ecs_str(t, "key");
		const char *v = gw_ecs_str(t, "value");
		if (!k)
			continue;
		char name[300];
		int n = snprintf(name, sizeof(name), "aws:RequestTag/%s", k);
		if (n < 0 || (size_t)n >= sizeof(name)) {
			qb_fail(b, "A tag key in this request is too long.");
			return;
		}
		key_add(b, q, name, v ? v : "");
		key_add(b, q, "aws:TagKeys", k);
	}
}

/* aws:ResourceTag/<k> and ecs:ResourceTag/<k> for the tags arn has now. */
static void resource_tags(struct qb *b, struct gw_ecs_question *q, const char *arn)
{
	if (!q || b->failed || !b->env->tags)
		return;
	json_t *tags = NULL;
	if (b->env->tags(b->env->ctx, arn, &tags) != 0) {
		json_decref(tags);
		qb_fail(b, "The tags of %s could not be read to authorize this request.", arn);
		return;
	}
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
	{
		const char *k = gw_ecs_str(t, "key");
		const char *v = gw_ecs_str(t, "value");
		if (!k)
			continue;
		char name[300];
		int n = snprintf(name, sizeof(name), "aws:ResourceTag/%s", k);
		if (n > 0 && (size_t)n < sizeof(name))
			key_add(b, q, name, v ? v : "");
		n = snprintf(name, sizeof(name), "ecs:ResourceTag/%s", k);
		if (n > 0 && (size_t)n < sizeof(name))
			key_add(b, q, name, v ? v : "");
	}
	json_decref(tags);
}

/* ---- ARNs ---- */

static bool is_arn(const char *s)
{
	return s && strncmp(s, "arn:", 4) == 0;
}

/* The part of an ARN after "<type>/", or NULL when s is not such an ARN. */
static const char *arn_after(const char *s, const char *type)
{
	if (!is_arn(s))
		return NULL;
	/* arn:partition:service:region:account:resource */
	const char *p = s;
	for (int i = 0; i < 5; i++) {
		p = strchr(p, ':');
		if (!p)
			return NULL;
		p++;
	}
	size_t tn = strlen(type);
	if (strncmp(p, type, tn) != 0 || p[tn] != '/')
		return NULL;
	return p + tn + 1;
}

const char *gw_ecs_cluster_name(const char *cluster, char *buf, size_t cap)
{
	if (!cluster || !cluster[0])
		return "default";
	const char *n = arn_after(cluster, "cluster");
	if (!n)
		return cluster;
	size_t len = strlen(n);
	if (len >= cap)
		len = cap - 1;
	memcpy(buf, n, len);
	buf[len] = '\0';
	return buf;
}

static int fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *out, size_t cap, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(out, cap, f, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int gw_ecs_cluster_arn(const struct gw_ecs_env *env, const char *cluster, char *out, size_t cap)
{
	if (is_arn(cluster))
		return fmt(out, cap, "%s", cluster);
	return fmt(out, cap, "arn:aws:ecs:%s:%s:cluster/%s", env->region, env->account_id,
	           cluster && cluster[0] ? cluster : "default");
}

/* A task, service or container instance ARN from an id or name in a cluster. */
static int member_arn(const struct gw_ecs_env *env, const char *type, const char *cluster_name,
                      const char *id, char *out, size_t cap)
{
	if (is_arn(id))
		return fmt(out, cap, "%s", id);
	return fmt(out, cap, "arn:aws:ecs:%s:%s:%s/%s/%s", env->region, env->account_id, type,
	           cluster_name, id);
}

/* A task definition ARN from "family", "family:revision" or an ARN. */
static int taskdef_arn(struct qb *b, const char *ref, char *out, size_t cap)
{
	const struct gw_ecs_env *env = b->env;
	if (is_arn(ref))
		return fmt(out, cap, "%s", ref);
	if (strchr(ref, ':'))
		return fmt(out, cap, "arn:aws:ecs:%s:%s:task-definition/%s", env->region,
		           env->account_id, ref);
	if (env->resolve) {
		int rc = env->resolve(env->ctx, ref, out, cap);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			qb_fail(b,
			        "The task definition %s could not be looked up to authorize this "
			        "request.",
			        ref);
			return -1;
		}
	}
	/* No ACTIVE revision: asked as every revision of the family; the call
	 * fails afterwards if it is allowed. */
	return fmt(out, cap, "arn:aws:ecs:%s:%s:task-definition/%s:*", env->region, env->account_id,
	           ref);
}

/* The cluster of a task/service/container-instance ARN in the long format
 * (".../task/<cluster>/<id>"), or of a cluster ARN; NULL otherwise. */
static const char *cluster_of_arn(const char *arn, char *buf, size_t cap)
{
	static const char *const types[] = {"task", "service", "container-instance"};
	const char *c = arn_after(arn, "cluster");
	if (c)
		return gw_ecs_cluster_name(arn, buf, cap);
	for (size_t i = 0; i < 3; i++) {
		const char *p = arn_after(arn, types[i]);
		if (!p)
			continue;
		const char *slash = strchr(p, '/');
		if (!slash)
			return NULL;
		size_t n = (size_t)(slash - p);
		if (n >= cap)
			return NULL;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/* ---- the table ---- */

struct ctx {
	struct qb *b;
	const struct gw_ecs_op *op;
	const json_t *in;
	char cluster[256];     /* short name */
	char cluster_arn[512]; /* its ARN */
};

static void pass_role(struct ctx *c, const char *role)
{
	if (!role || !role[0])
		return;
	/* The same role twice is one question. */
	for (size_t i = 0; i < c->b->n; i++)
		if (strcmp(c->b->q[i].action, "iam:PassRole") == 0 &&
		    strcmp(c->b->q[i].resource, role) == 0)
			return;
	struct gw_ecs_question *q = ask(c->b, "iam:PassRole", role);
	key_add(c->b, q, "iam:PassedToService", PASSED_TO_TASKS);
}

static void pass_override_roles(struct ctx *c)
{
	const json_t *ov = json_object_get(c->in, "overrides");
	if (!json_is_object(ov))
		return;
	pass_role(c, gw_ecs_str(ov, "taskRoleArn"));
	pass_role(c, gw_ecs_str(ov, "executionRoleArn"));
}

/* Tag on create: ecs:TagResource on what is made, when tags are given. */
static void tag_on_create(struct ctx *c, const char *resource, const struct gw_ecs_question *main)
{
	const json_t *tags = json_object_get(c->in, "tags");
	if (!json_is_array(tags) || json_array_size(tags) == 0)
		return;
	struct gw_ecs_question *q = ask(c->b, "ecs:TagResource", resource);
	keys_copy(c->b, q, main);
	key_add(c->b, q, "ecs:CreateAction", c->op->name);
}

static void exec_key(struct ctx *c, struct gw_ecs_question *q)
{
	const json_t *v = json_object_get(c->in, "enableExecuteCommand");
	if (json_is_boolean(v))
		key_add(c->b, q, "ecs:enable-execute-command", json_is_true(v) ? "true" : "false");
}

static void q_cluster_resource(struct ctx *c, bool tagged)
{
	struct gw_ecs_question *q = ask(c->b, c->op->iam_action, c->cluster_arn);
	if (tagged)
		resource_tags(c->b, q, c->cluster_arn);
}

static void q_star(struct ctx *c, bool with_cluster)
{
	struct gw_ecs_question *q = ask(c->b, c->op->iam_action, "*");
	if (with_cluster)
		key_add(c->b, q, "ecs:cluster", c->cluster_arn);
}

/* One question per named member of the cluster (tasks, services, container
 * instances), with ecs:cluster and the member's tags. */
static void q_members(struct ctx *c, const char *list_member, const char *type, const char *one)
{
	const json_t *list = one ? NULL : json_object_get(c->in, list_member);
	size_t count = one ? 1 : json_array_size(list);
	for (size_t i = 0; i < count && !c->b->failed; i++) {
		const char *id = one ? one : json_string_value(json_array_get(list, i));
		char arn[512];
		if (!id || member_arn(c->b->env, type, c->cluster, id, arn, sizeof(arn)) != 0) {
			qb_fail(c->b, "A %s name in this request is too long.", type);
			return;
		}
		bool seen = false;
		for (size_t k = 0; k < c->b->n && !seen; k++)
			seen = strcmp(c->b->q[k].resource, arn) == 0 &&
			       strcmp(c->b->q[k].action, c->op->iam_action) == 0;
		if (seen)
			continue;
		struct gw_ecs_question *q = ask(c->b, c->op->iam_action, arn);
		key_add(c->b, q, "ecs:cluster", c->cluster_arn);
		resource_tags(c->b, q, arn);
	}
}

static void q_run(struct ctx *c, bool start)
{
	const char *ref = gw_ecs_str(c->in, "taskDefinition");
	char td[512];
	if (!ref || taskdef_arn(c->b, ref, td, sizeof(td)) != 0) {
		qb_fail(c->b, "The task definition in this request could not be named.");
		return;
	}
	struct gw_ecs_question *q = ask(c->b, c->op->iam_action, td);
	key_add(c->b, q, "ecs:cluster", c->cluster_arn);
	/* The task definition is the resource: its tags are aws:ResourceTag
	 * (none for a family without an ACTIVE revision). */
	if (!strchr(td, '*'))
		resource_tags(c->b, q, td);
	if (start) {
		const json_t *list = json_object_get(c->in, "containerInstances");
		key_add(c->b, q, "ecs:container-instances", NULL);
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		{
			char arn[512];
			if (member_arn(c->b->env, "container-instance", c->cluster,
			               json_string_value(e), arn, sizeof(arn)) != 0) {
				qb_fail(c->b,
				        "A container instance name in this request is too long.");
				return;
			}
			key_add(c->b, q, "ecs:container-instances", arn);
		}
	}
	exec_key(c, q);
	request_tags(c->b, q, json_object_get(c->in, "tags"));
	if (c->b->failed)
		return;
	char tasks[512];
	if (fmt(tasks, sizeof(tasks), "arn:aws:ecs:%s:%s:task/%s/*", c->b->env->region,
	        c->b->env->account_id, c->cluster) != 0) {
		qb_fail(c->b, "The cluster name in this request is too long.");
		return;
	}
	tag_on_create(c, tasks, q);
	pass_override_roles(c);
}

static void q_service(struct ctx *c, bool create)
{
	const char *name = gw_ecs_str(c->in, create ? "serviceName" : "service");
	char arn[512];
	if (!name || member_arn(c->b->env, "service", c->cluster, name, arn, sizeof(arn)) != 0) {
		qb_fail(c->b, "The service name in this request is too long.");
		return;
	}
	struct gw_ecs_question *q = ask(c->b, c->op->iam_action, arn);
	key_add(c->b, q, "ecs:cluster", c->cluster_arn);
	const char *ref = gw_ecs_str(c->in, "taskDefinition");
	if (ref) {
		char td[512];
		if (taskdef_arn(c->b, ref, td, sizeof(td)) != 0) {
			qb_fail(c->b, "The task definition in this request could not be named.");
			return;
		}
		key_add(c->b, q, "ecs:task-definition", td);
	}
	exec_key(c, q);
	if (create) {
		request_tags(c->b, q, json_object_get(c->in, "tags"));
		tag_on_create(c, arn, q);
	} else {
		resource_tags(c->b, q, arn);
	}
}

static void q_tagging(struct ctx *c)
{
	const char *arn = gw_ecs_str(c->in, "resourceArn");
	if (!arn)
		return;
	struct gw_ecs_question *q = ask(c->b, c->op->iam_action, arn);
	char buf[256];
	const char *cl = cluster_of_arn(arn, buf, sizeof(buf));
	bool tag_or_untag = strcmp(c->op->name, "ListTagsForResource") != 0;
	if (cl && tag_or_untag && !arn_after(arn, "cluster")) {
		char carn[512];
		if (gw_ecs_cluster_arn(c->b->env, cl, carn, sizeof(carn)) == 0)
			key_add(c->b, q, "ecs:cluster", carn);
	}
	if (strcmp(c->op->name, "TagResource") == 0)
		request_tags(c->b, q, json_object_get(c->in, "tags"));
	if (strcmp(c->op->name, "UntagResource") == 0) {
		key_add(c->b, q, "aws:TagKeys", NULL);
		size_t i;
		json_t *k;
		json_array_foreach(json_object_get(c->in, "tagKeys"), i, k)
		    key_add(c->b, q, "aws:TagKeys", json_string_value(k));
	}
	resource_tags(c->b, q, arn);
}

static void build(struct ctx *c)
{
	const char *name = c->op->name;
	const json_t *in = c->in;
	struct qb *b = c->b;

	if (strcmp(name, "CreateCluster") == 0) {
		struct gw_ecs_question *q = ask(b, c->op->iam_action, c->cluster_arn);
		request_tags(b, q, json_object_get(in, "tags"));
		tag_on_create(c, c->cluster_arn, q);
	} else if (strcmp(name, "DeleteCluster") == 0 ||
	           strcmp(name, "ListContainerInstances") == 0 ||
	           strcmp(name, "DeregisterContainerInstance") == 0) {
		q_cluster_resource(c, true);
	} else if (strcmp(name, "DescribeClusters") == 0) {
		const json_t *list = json_object_get(in, "clusters");
		if (!json_is_array(list) || json_array_size(list) == 0) {
			q_cluster_resource(c, true);
			return;
		}
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		{
			char arn[512];
			if (gw_ecs_cluster_arn(b->env, json_string_value(e), arn, sizeof(arn)) !=
			    0) {
				qb_fail(b, "A cluster name in this request is too long.");
				return;
			}
			bool seen = false;
			for (size_t k = 0; k < b->n && !seen; k++)
				seen = strcmp(b->q[k].resource, arn) == 0;
			if (seen)
				continue;
			struct gw_ecs_question *q = ask(b, c->op->iam_action, arn);
			resource_tags(b, q, arn);
		}
	} else if (strcmp(name, "ListClusters") == 0 || strcmp(name, "ListTaskDefinitions") == 0 ||
	           strcmp(name, "ListTaskDefinitionFamilies") == 0 ||
	           strcmp(name, "DescribeTaskDefinition") == 0 ||
	           strcmp(name, "DeregisterTaskDefinition") == 0) {
		q_star(c, false);
	} else if (strcmp(name, "RegisterTaskDefinition") == 0) {
		const char *family = gw_ecs_str(in, "family");
		char arn[512];
		if (!family || fmt(arn, sizeof(arn), "arn:aws:ecs:%s:%s:task-definition/%s:*",
		                   b->env->region, b->env->account_id, family) != 0) {
			qb_fail(b, "The family name in this request is too long.");
			return;
		}
		struct gw_ecs_question *q = ask(b, c->op->iam_action, arn);
		request_tags(b, q, json_object_get(in, "tags"));
		tag_on_create(c, arn, q);
		pass_role(c, gw_ecs_str(in, "taskRoleArn"));
		pass_role(c, gw_ecs_str(in, "executionRoleArn"));
	} else if (strcmp(name, "RunTask") == 0) {
		q_run(c, false);
	} else if (strcmp(name, "StartTask") == 0) {
		q_run(c, true);
	} else if (strcmp(name, "StopTask") == 0) {
		q_members(c, NULL, "task", gw_ecs_str(in, "task"));
	} else if (strcmp(name, "DescribeTasks") == 0) {
		q_members(c, "tasks", "task", NULL);
	} else if (strcmp(name, "ListTasks") == 0) {
		const char *ci = gw_ecs_str(in, "containerInstance");
		if (!ci) {
			q_star(c, true);
			return;
		}
		char arn[512];
		if (member_arn(b->env, "container-instance", c->cluster, ci, arn, sizeof(arn)) !=
		    0) {
			qb_fail(b, "The container instance name in this request is too long.");
			return;
		}
		struct gw_ecs_question *q = ask(b, c->op->iam_action, arn);
		key_add(b, q, "ecs:cluster", c->cluster_arn);
	} else if (strcmp(name, "CreateService") == 0) {
		q_service(c, true);
	} else if (strcmp(name, "UpdateService") == 0) {
		q_service(c, false);
	} else if (strcmp(name, "DeleteService") == 0) {
		q_members(c, NULL, "service", gw_ecs_str(in, "service"));
	} else if (strcmp(name, "DescribeServices") == 0) {
		q_members(c, "services", "service", NULL);
	} else if (strcmp(name, "ListServices") == 0) {
		q_star(c, true);
	} else if (strcmp(name, "RegisterContainerInstance") == 0) {
		struct gw_ecs_question *q = ask(b, c->op->iam_action, c->cluster_arn);
		request_tags(b, q, json_object_get(in, "tags"));
		char arn[512];
		if (fmt(arn, sizeof(arn), "arn:aws:ecs:%s:%s:container-instance/%s/*",
		        b->env->region, b->env->account_id, c->cluster) != 0) {
			qb_fail(b, "The cluster name in this request is too long.");
			return;
		}
		tag_on_create(c, arn, q);
	} else if (strcmp(name, "DescribeContainerInstances") == 0) {
		q_members(c, "containerInstances", "container-instance", NULL);
	} else if (strcmp(name, "TagResource") == 0 || strcmp(name, "UntagResource") == 0 ||
	           strcmp(name, "ListTagsForResource") == 0) {
		q_tagging(c);
	} else {
		qb_fail(b, "The operation %s has no authorization rule.", name);
	}
}

int gw_ecs_questions(const struct gw_ecs_op *op, const json_t *in, const struct gw_ecs_env *env,
                     struct gw_ecs_question *q, size_t cap, size_t *n, char *msg, size_t msg_cap)
{
	struct qb b = {.env = env, .q = q, .cap = cap, .msg = msg, .msg_cap = msg_cap};
	struct ctx c = {.b = &b, .op = op, .in = in};
	if (msg_cap)
		msg[0] = '\0';
	const char *cl = strcmp(op->name, "CreateCluster") == 0 ? gw_ecs_str(in, "clusterName")
	                                                        : gw_ecs_str(in, "cluster");
	const char *name = gw_ecs_cluster_name(cl, c.cluster, sizeof(c.cluster));
	if (name != c.cluster) {
		if (strlen(name) >= sizeof(c.cluster)) {
			*n = 0;
			qb_fail(&b, "The cluster name in this request is too long.");
			return -1;
		}
		memcpy(c.cluster, name, strlen(name) + 1);
	}
	if (gw_ecs_cluster_arn(env, cl, c.cluster_arn, sizeof(c.cluster_arn)) != 0) {
		*n = 0;
		qb_fail(&b, "The cluster name in this request is too long.");
		return -1;
	}
	build(&c);
	*n = b.n;
	if (b.failed || b.n == 0) {
		if (!b.failed)
			qb_fail(&b, "The request names nothing to authorize.");
		/* nothing for the caller to free on failure */
		gw_ecs_questions_free(q, b.n);
		*n = 0;
		return -1;
	}
	return 0;
}

void gw_ecs_questions_free(struct gw_ecs_question *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(q[i].keys);
		q[i].keys = NULL;
	}
}
