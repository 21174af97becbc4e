/*
 * docker_create.c - an ECS container definition (with the task's overrides,
 * network bindings and the hooks' environment) as a Docker Engine
 * container-create body, the way the ECS agent maps it:
 *
 *   image -> Image; entryPoint -> Entrypoint; command (override first) -> Cmd;
 *   environment: the definition's, the override's, then the task's variables
 *   from taskgate (credentials, metadata), which win -> Env;
 *   workingDirectory -> WorkingDir; user -> User; stopTimeout -> StopTimeout;
 *   memory (MiB) -> HostConfig.Memory; memoryReservation -> MemoryReservation;
 *   cpu units -> HostConfig.CpuShares (at least 2, as the agent does);
 *   readonlyRootFilesystem -> ReadonlyRootfs; healthCheck -> Healthcheck
 *   (Test as given, interval/timeout/startPeriod seconds -> nanoseconds,
 *   retries); networkMode -> NetworkMode
 *   (bridge, host or none; awsvpc needs ENIs and is refused);
 *   in bridge mode, the task's networkBindings -> ExposedPorts and
 *   PortBindings on the configured host address.
 *
 * Labels carry the task ARN, container name, family, revision and cluster
 * under the agent's names, plus taskgate's own (essential, stop timeout,
 * order), so a restarted gateway can rebuild its view from the engine alone.
 * Nothing privileged is ever asked for (no Privileged, CapAdd, Devices or
 * host mounts): a task definition cannot reach the host through this driver.
 */
#include "scheduler/docker_int.h"
#include "scheduler/driver.h"
#include "scheduler/driver_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *labels_of(json_t *cfg)
{
	return json_object_get(cfg, "Labels");
}

/* The definition's healthCheck (validated by taskdef.c) as the engine's
 * Healthcheck, the way the ECS agent passes it: Test unchanged (["CMD-SHELL",
 * "..."], ["CMD", ...] or ["NONE"], which also turns off the image's own
 * HEALTHCHECK), durations in nanoseconds. Defaults as ECS's when a field is
 * missing. */
static int health(json_t *cfg, const json_t *cdef, bool *has_check, char *reason, size_t cap)
{
	*has_check = false;
	const json_t *h = json_object_get(cdef, "healthCheck");
	if (!json_is_object(h))
		return 0;
	const json_t *cmd = json_object_get(h, "command");
	size_t i;
	const json_t *v;
	json_array_foreach(cmd, i, v)
	{
		if (!json_is_string(v))
			return drv_fail(reason, cap,
			                "healthCheck.command is not a list of strings");
	}
	const char *first = json_string_value(json_array_get(cmd, 0));
	if (!first)
		return drv_fail(reason, cap, "healthCheck.command is empty");
	long interval = drv_num(json_object_get(h, "interval"));
	long timeout = drv_num(json_object_get(h, "timeout"));
	long retries = drv_num(json_object_get(h, "retries"));
	long start = drv_num(json_object_get(h, "startPeriod"));
	const json_int_t sec = 1000000000;
	json_t *o = json_pack("{s:O, s:I, s:I, s:I, s:I}", "Test", cmd, "Interval",
	                      (json_int_t)(interval > 0 ? interval : 30) * sec, "Timeout",
	                      (json_int_t)(timeout > 0 ? timeout : 5) * sec, "Retries",
	                      (json_int_t)(retries > 0 ? retries : 3), "StartPeriod",
	                      (json_int_t)(start > 0 ? start : 0) * sec);
	if (!o || json_object_set_new(cfg, "Healthcheck", o) < 0)
		return drv_fail(reason, cap, "out of memory");
	*has_check = strcmp(first, "NONE") != 0;
	return 0;
}

static int env_layer(json_t *env, const json_t *list, char *reason, size_t cap)
{
	size_t i;
	const json_t *e;
	if (!json_is_array(list))
		return 0;
	json_array_foreach(list, i, e)
	{
		const json_t *n = json_object_get(e, "name");
		const json_t *v = json_object_get(e, "value");
		if (!drv_plain_string(n) || (v && !json_is_null(v) && !drv_plain_string(v)))
			return drv_fail(reason, cap,
			                "environment entry %zu is not a name and a string", i);
		const char *val = json_string_value(v);
		if (drv_env_set(env, json_string_value(n), val ? val : "", reason, cap) < 0)
			return -1;
	}
	return 0;
}

static json_t *strings_of(const json_t *arr, bool *bad)
{
	size_t i;
	const json_t *e;
	*bad = false;
	if (!arr || json_is_null(arr))
		return NULL;
	if (!json_is_array(arr)) {
		*bad = true;
		return NULL;
	}
	json_array_foreach(arr, i, e) if (!drv_plain_string(e))
	{
		*bad = true;
		return NULL;
	}
	return json_deep_copy(arr);
}

/* Docker names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else becomes '-'. */
static void name_clean(char *s)
{
	for (char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || (p != s && (c == '_' || c == '.' || c == '-'));
		if (!ok)
			*p = p == s ? 'x' : '-';
	}
}

static int ports(json_t *cfg, json_t *hc, const json_t *task, const json_t *cdef, const char *name,
                 const char *bind_ip, char *reason, size_t cap)
{
	const json_t *tc = drv_find_named(json_object_get(task, "containers"), name);
	const json_t *b = json_object_get(tc, "networkBindings");
	if (!json_is_array(b) || json_array_size(b) == 0)
		b = json_object_get(cdef, "portMappings");
	if (!json_is_array(b) || json_array_size(b) == 0)
		return 0;
	json_t *exposed = json_object();
	json_t *bind = json_object();
	if (!exposed || !bind || json_object_set_new(cfg, "ExposedPorts", exposed) < 0 ||
	    json_object_set_new(hc, "PortBindings", bind) < 0)
		return drv_fail(reason, cap, "out of memory");
	size_t i;
	const json_t *m;
	json_array_foreach(b, i, m)
	{
		long cp = drv_num(json_object_get(m, "containerPort"));
		long hp = drv_num(json_object_get(m, "hostPort"));
		const char *proto = json_string_value(json_object_get(m, "protocol"));
		if (!proto)
			proto = "tcp";
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
			return drv_fail(reason, cap, "container %s: protocol %s is not tcp or udp",
			                name, proto);
		if (cp <= 0 || cp > 65535 || hp < 0 || hp > 65535)
			return drv_fail(reason, cap,
			                "container %s: port mapping %zu is out of range", name, i);
		char key[32], hps[8];
		if (snprintf(key, sizeof(key), "%ld/%s", cp, proto) < 0 ||
		    snprintf(hps, sizeof(hps), "%ld", hp) < 0)
			return drv_fail(reason, cap, "out of memory");
		json_object_set_new(exposed, key, json_object());
		json_t *list = json_object_get(bind, key);
		if (!list) {
			list = json_array();
			json_object_set_new(bind, key, list);
		}
		/* hostPort 0 without a binding from the scheduler: Docker picks. */
		json_array_append_new(
		    list, json_pack("{s:s, s:s}", "HostIp", bind_ip, "HostPort", hp ? hps : ""));
	}
	return 0;
}

static int build_one(const json_t *task, const json_t *taskdef, const json_t *cdef, size_t index,
                     const json_t *hooks_env, const struct dk_create_opts *o, struct dk_create *c,
                     char *reason, size_t cap)
{
	const char *name = json_string_value(json_object_get(cdef, "name"));
	const char *image = json_string_value(json_object_get(cdef, "image"));
	const char *arn = json_string_value(json_object_get(task, "taskArn"));
	if (!name || !*name)
		return drv_fail(reason, cap, "a container definition has no name");
	if (!image || !*image)
		return drv_fail(reason, cap, "container %s has no image", name);
	c->name = strdup(name);
	c->image = strdup(image);
	if (!c->name || !c->image)
		return drv_fail(reason, cap, "out of memory");
	c->essential = !json_is_false(json_object_get(cdef, "essential"));
	c->stop_timeout = drv_stop_timeout(cdef, o->stop_timeout);

	const char *family = json_string_value(json_object_get(taskdef, "family"));
	long revision = drv_num(json_object_get(taskdef, "revision"));
	const char *tid = strrchr(arn, '/');
	tid = tid ? tid + 1 : arn;
	size_t dn = strlen(family ? family : "task") + strlen(name) + strlen(tid) + 48;
	c->docker_name = malloc(dn);
	if (!c->docker_name || snprintf(c->docker_name, dn, "ecs-%s-%ld-%s-%s",
	                                family ? family : "task", revision, name, tid) < 0)
		return drv_fail(reason, cap, "out of memory");
	name_clean(c->docker_name);

	const char *mode = json_string_value(json_object_get(taskdef, "networkMode"));
	if (!mode || !*mode)
		mode = o->network_mode;
	if (strcmp(mode, "bridge") != 0 && strcmp(mode, "host") != 0 && strcmp(mode, "none") != 0)
		return drv_fail(
		    reason, cap,
		    "networkMode %s is not supported by the docker driver (bridge, host or "
		    "none)",
		    mode);

	const json_t *ovr = drv_container_override(task, name);
	json_t *cfg = json_object();
	json_t *hc = json_object();
	json_t *labels = json_object();
	json_t *env = json_object();
	json_t *mine = sched_driver_env_for(hooks_env, name);
	int rc = -1;
	if (!cfg || !hc || !labels || !env || !mine) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	json_object_set_new(cfg, "Image", json_string(image));
	bool bad;
	json_t *ep = strings_of(json_object_get(cdef, "entryPoint"), &bad);
	if (bad) {
		drv_fail(reason, cap, "container %s: entryPoint is not a list of strings", name);
		goto out;
	}
	if (ep)
		json_object_set_new(cfg, "Entrypoint", ep);
	json_t *cmd = strings_of(drv_command(ovr, cdef), &bad);
	if (bad) {
		drv_fail(reason, cap, "container %s: command is not a list of strings", name);
		goto out;
	}
	if (cmd)
		json_object_set_new(cfg, "Cmd", cmd);

	if (env_layer(env, json_object_get(cdef, "environment"), reason, cap) < 0 ||
	    env_layer(env, json_object_get(ovr, "environment"), reason, cap) < 0)
		goto out;
	const char *k;
	json_t *v;
	json_object_foreach(mine, k, v)
	{
		if (!drv_plain_string(v) ||
		    drv_env_set(env, k, json_string_value(v), reason, cap) < 0) {
			drv_fail(reason, cap, "task environment variable %s is not valid", k);
			goto out;
		}
	}
	json_t *envl = json_array();
	if (!envl || json_object_set_new(cfg, "Env", envl) < 0) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	json_object_foreach(env, k, v)
	{
		size_t len = strlen(k) + json_string_length(v) + 2;
		char *kv = malloc(len);
		if (!kv || snprintf(kv, len, "%s=%s", k, json_string_value(v)) < 0) {
			free(kv);
			drv_fail(reason, cap, "out of memory");
			goto out;
		}
		json_array_append_new(envl, json_string(kv));
		free(kv);
	}

	char num[32];
	const char *cluster = json_string_value(json_object_get(task, "clusterArn"));
	json_object_set_new(labels, DK_LABEL_TASK, json_string(arn));
	json_object_set_new(labels, DK_LABEL_CONTAINER, json_string(name));
	json_object_set_new(labels, DK_LABEL_FAMILY, json_string(family ? family : ""));
	snprintf(num, sizeof(num), "%ld", revision);
	json_object_set_new(labels, DK_LABEL_VERSION, json_string(num));
	json_object_set_new(labels, DK_LABEL_CLUSTER, json_string(cluster ? cluster : ""));
	json_object_set_new(labels, DK_LABEL_MANAGED, json_string("true"));
	json_object_set_new(labels, DK_LABEL_ESSENTIAL,
	                    json_string(c->essential ? "true" : "false"));
	snprintf(num, sizeof(num), "%d", c->stop_timeout);
	json_object_set_new(labels, DK_LABEL_STOP_TIMEOUT, json_string(num));
	snprintf(num, sizeof(num), "%zu", index);
	json_object_set_new(labels, DK_LABEL_INDEX, json_string(num));
	json_object_set_new(cfg, "Labels", labels);
	labels = NULL;

	const char *wd = json_string_value(json_object_get(cdef, "workingDirectory"));
	if (wd && *wd)
		json_object_set_new(cfg, "WorkingDir", json_string(wd));
	const char *user = json_string_value(json_object_get(cdef, "user"));
	if (user && *user)
		json_object_set_new(cfg, "User", json_string(user));
	json_object_set_new(cfg, "StopTimeout", json_integer(c->stop_timeout));
	if (health(cfg, cdef, &c->has_check, reason, cap) < 0)
		goto out;
	if (c->has_check)
		json_object_set_new(labels_of(cfg), DK_LABEL_HEALTH, json_string("true"));

	json_object_set_new(hc, "NetworkMode", json_string(mode));
	long mem = drv_num(json_object_get(ovr, "memory"));
	if (mem <= 0)
		mem = drv_num(json_object_get(cdef, "memory"));
	if (mem > 0)
		json_object_set_new(hc, "Memory", json_integer((json_int_t)mem * 1024 * 1024));
	long res = drv_num(json_object_get(ovr, "memoryReservation"));
	if (res <= 0)
		res = drv_num(json_object_get(cdef, "memoryReservation"));
	if (res > 0)
		json_object_set_new(hc, "MemoryReservation",
		                    json_integer((json_int_t)res * 1024 * 1024));
	long cpu = drv_num(json_object_get(ovr, "cpu"));
	if (cpu <= 0)
		cpu = drv_num(json_object_get(cdef, "cpu"));
	json_object_set_new(hc, "CpuShares", json_integer(cpu < 2 ? 2 : cpu));
	if (json_is_true(json_object_get(cdef, "readonlyRootFilesystem")))
		json_object_set_new(hc, "ReadonlyRootfs", json_true());
	if (strcmp(mode, "bridge") == 0 &&
	    ports(cfg, hc, task, cdef, name, o->bind_ip, reason, cap) < 0)
		goto out;
	json_object_set_new(cfg, "HostConfig", hc);
	hc = NULL;
	c->body = cfg;
	cfg = NULL;
	rc = 0;
out:
	json_decref(cfg);
	json_decref(hc);
	json_decref(labels);
	json_decref(env);
	json_decref(mine);
	return rc;
}

void dk_create_free(struct dk_create *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].docker_name);
		free(v[i].image);
		json_decref(v[i].body);
	}
	free(v);
}

int dk_create_build(const json_t *task, const json_t *taskdef, const json_t *env,
                    const struct dk_create_opts *o, struct dk_create **out, size_t *n_out,
                    char *reason, size_t cap)
{
	*out = NULL;
	*n_out = 0;
	if (!json_string_value(json_object_get(task, "taskArn")))
		return drv_fail(reason, cap, "the task has no taskArn");
	const json_t *defs = json_object_get(taskdef, "containerDefinitions");
	size_t n = json_array_size(defs);
	if (n == 0)
		return drv_fail(reason, cap, "the task definition has no containerDefinitions");
	struct dk_create *v = calloc(n, sizeof(*v));
	if (!v)
		return drv_fail(reason, cap, "out of memory");
	bool any_essential = false;
	for (size_t i = 0; i < n; i++) {
		if (build_one(task, taskdef, json_array_get(defs, i), i, env, o, &v[i], reason,
		              cap) < 0) {
			dk_create_free(v, n);
			return -1;
		}
		any_essential |= v[i].essential;
	}
	if (!any_essential) {
		dk_create_free(v, n);
		return drv_fail(reason, cap, "the task has no essential container");
	}
	*out = v;
	*n_out = n;
	return 0;
}

int dk_image_ref(const char *image, char **from, char **tag)
{
	*from = NULL;
	*tag = NULL;
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	const char *at = strchr(last, '@');
	const char *colon = strchr(last, ':');
	if (at) {
		/* A digest: fromImage carries it whole. */
		*from = strdup(image);
		*tag = strdup("");
	} else if (colon) {
		*from = strndup(image, (size_t)(colon - image));
		*tag = strdup(colon + 1);
	} else {
		*from = strdup(image);
		*tag = strdup("latest");
	}
	if (!*from || !*tag) {
		free(*from);
		free(*tag);
		*from = *tag = NULL;
		return -1;
	}
	return 0;
}
