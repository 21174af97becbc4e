/*
 * taskdef.c - task definitions: RegisterTaskDefinition's checks and the
 * normalized document, revisions per family, deregistration, lookups by
 * family / family:revision / ARN, and the two list calls.
 *
 * A request is parsed into the document ECS would show (defaults filled:
 * cpu 0, essential true, protocol tcp, hostPort 0 in bridge mode and the
 * containerPort in host/awsvpc mode, task cpu "1 vCPU" turned into "1024")
 * or refused whole with the field it is about. What taskgate cannot honour
 * (volumes, secrets, log drivers, privileged containers...) is refused by
 * name rather than dropped: a definition that registers is one the drivers
 * will run as written. The keys accepted are listed in accepted_task_keys
 * and accepted_container_keys.
 *
 * Revisions are numbered per family from store_sched_max_revision, under the
 * scheduler's lock; the ARN is unique in the store, so a second scheduler on
 * the same file racing for a number loses with a conflict and tries the next.
 *
 * ListTaskDefinitions sorts by family, then revision (ECS's order), not by
 * age; its page token is still the store seq of the last definition shown,
 * and the next page starts after that definition's (family, revision), a
 * keyset the store reads from its index: a page costs a page, not the whole
 * list, and a definition deregistered between two pages keeps its place.
 * A family's token is the seq of its first revision.
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAMILY_MAX     255
#define CONTAINERS_MAX SCHED_DRIVER_MAX_CONTAINERS /* ECS allows 10 */
#define IMAGE_MAX      255
#define TASK_CPU_MIN   128
#define TASK_CPU_MAX   196608 /* 192 vCPU */
#define MEM_MIN        6      /* MiB: what Docker accepts for a container */
#define TASK_MEM_MAX   (1 << 20)
#define STR_MAX        4096 /* command / entryPoint / env items, labels */
#define LIST_MAX       100  /* items in command, entryPoint, environment... */
#define ROLE_ARN_MAX   2048

static const char *const accepted_task_keys[] = {"family",
                                                 "containerDefinitions",
                                                 "taskRoleArn",
                                                 "executionRoleArn",
                                                 "networkMode",
                                                 "requiresCompatibilities",
                                                 "cpu",
                                                 "memory",
                                                 "tags",
                                                 "placementConstraints",
                                                 "runtimePlatform",
                                                 "volumes",
                                                 NULL};
static const char *const accepted_container_keys[] = {"name",
                                                      "image",
                                                      "cpu",
                                                      "memory",
                                                      "memoryReservation",
                                                      "portMappings",
                                                      "essential",
                                                      "entryPoint",
                                                      "command",
                                                      "environment",
                                                      "workingDirectory",
                                                      "user",
                                                      "dockerLabels",
                                                      "stopTimeout",
                                                      "healthCheck",
                                                      NULL};

static bool in_list(const char *const *list, const char *k)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], k) == 0)
			return true;
	return false;
}

static bool absent(const json_t *v)
{
	return !v || json_is_null(v);
}

/* An integer member in [lo, hi]; *set says whether it was there. */
static int get_int(const json_t *o, const char *key, long lo, long hi, long *out, bool *set,
                   const char *where, struct sched_error *err)
{
	const json_t *v = json_object_get(o, key);
	*set = false;
	if (absent(v))
		return SCHED_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return sched_fail(err, SCHED_ERR_CLIENT, "%s.%s must be an integer from %ld to %ld",
		                  where, key, lo, hi);
	*out = (long)json_integer_value(v);
	*set = true;
	return SCHED_OK;
}

static int get_str(const json_t *o, const char *key, size_t max, const char **out,
                   const char *where, struct sched_error *err)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (absent(v))
		return SCHED_OK;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "%s.%s must be a string of at most %zu bytes", where, key, max);
	*out = json_string_value(v);
	return SCHED_OK;
}

/* A list of strings (command, entryPoint): copied, or NULL when absent. */
static int get_str_list(const json_t *o, const char *key, json_t **out, const char *where,
                        struct sched_error *err)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (absent(v))
		return SCHED_OK;
	if (!json_is_array(v) || json_array_size(v) > LIST_MAX)
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "%s.%s must be a list of at most %d strings", where, key,
		                  LIST_MAX);
	size_t i;
	const json_t *x;
	json_array_foreach(v, i, x)
	{
		if (!json_is_string(x) || json_string_length(x) > STR_MAX ||
		    strlen(json_string_value(x)) != json_string_length(x))
			return sched_fail(
			    err, SCHED_ERR_CLIENT,
			    "%s.%s[%zu] must be a string of at most %d bytes without NUL", where,
			    key, i, STR_MAX);
	}
	*out = json_deep_copy(v);
	if (!*out)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	return SCHED_OK;
}

/* A task-level size as ECS writes it: a whole number, or a number (a
 * fraction allowed) followed by unit (any case, spaces before it allowed),
 * which counts 1024 each: "1024", "1 vCPU", "0.25 vcpu" -> CPU units;
 * "512", "1GB", "1 gb" -> MiB. */
static bool parse_task_size(const char *s, const char *unit, long *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v <= 0 || isspace((unsigned char)*s))
		return false;
	while (*end == ' ')
		end++;
	if (*end == '\0') {
		if (v != floor(v))
			return false;
		*out = (long)v;
		return true;
	}
	if (strcasecmp(end, unit) != 0)
		return false;
	v *= 1024.0;
	if (v != floor(v))
		return false;
	*out = (long)v;
	return true;
}

/* Fargate's CPU/memory pairs (AWS's table for Linux tasks). */
static bool fargate_pair(long cpu, long mem)
{
	static const struct {
		long cpu, lo, hi, step;
	} t[] = {
	    {256, 512, 2048, 0},          {512, 1024, 4096, 1024},   {1024, 2048, 8192, 1024},
	    {2048, 4096, 16384, 1024},    {4096, 8192, 30720, 1024}, {8192, 16384, 61440, 4096},
	    {16384, 32768, 122880, 8192},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].cpu != cpu)
			continue;
		if (t[i].step == 0)
			return mem == 512 || mem == 1024 || mem == 2048;
		return mem >= t[i].lo && mem <= t[i].hi && (mem - t[i].lo) % t[i].step == 0;
	}
	return false;
}

/* arn:aws:iam::<12 digits>:role/<path/name> */
static bool role_arn_ok(const char *a)
{
	const char *p = a;
	if (strncmp(p, "arn:aws", 7) != 0)
		return false;
	p += 7;
	if (*p == '-') { /* aws-cn, aws-us-gov */
		p++;
		while (islower((unsigned char)*p) || *p == '-')
			p++;
	}
	if (strncmp(p, ":iam::", 6) != 0)
		return false;
	p += 6;
	for (int i = 0; i < 12; i++, p++)
		if (!isdigit((unsigned char)*p))
			return false;
	if (strncmp(p, ":role/", 6) != 0 || !p[6])
		return false;
	for (p += 6; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+=,.@_-/", *p))
			return false;
	return p[-1] != '/' && strlen(a) <= ROLE_ARN_MAX;
}

struct port_seen {
	long port;
	bool udp;
};

static int parse_ports(const json_t *c, const char *mode, const char *where, json_t *out_c,
                       struct port_seen *seen, size_t *n_seen, size_t seen_cap,
                       struct sched_error *err)
{
	const json_t *pm = json_object_get(c, "portMappings");
	json_t *out = json_array();
	if (!out)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (json_object_set_new(out_c, "portMappings", out) != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (absent(pm))
		return SCHED_OK;
	if (!json_is_array(pm) || json_array_size(pm) > LIST_MAX)
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "%s.portMappings must be a list of at most %d port mappings",
		                  where, LIST_MAX);
	if (json_array_size(pm) > 0 && strcmp(mode, "none") == 0)
		return sched_fail(
		    err, SCHED_ERR_CLIENT,
		    "%s.portMappings: port mappings are not valid with network mode none", where);
	size_t i;
	const json_t *m;
	json_array_foreach(pm, i, m)
	{
		char w[320];
		snprintf(w, sizeof(w), "%s.portMappings[%zu]", where, i);
		if (!json_is_object(m))
			return sched_fail(err, SCHED_ERR_CLIENT, "%s must be an object", w);
		const char *k;
		const json_t *x;
		json_object_foreach((json_t *)m, k, x)
		{
			if (strcmp(k, "containerPort") && strcmp(k, "hostPort") &&
			    strcmp(k, "protocol") && strcmp(k, "name") && strcmp(k, "appProtocol"))
				return sched_fail(err, SCHED_ERR_CLIENT,
				                  "%s.%s is not supported by taskgate", w, k);
		}
		long cport = 0, hport = 0;
		bool cset, hset;
		int rc = get_int(m, "containerPort", 1, 65535, &cport, &cset, w, err);
		if (rc == SCHED_OK)
			rc = get_int(m, "hostPort", 0, 65535, &hport, &hset, w, err);
		if (rc != SCHED_OK)
			return rc;
		if (!cset)
			return sched_fail(err, SCHED_ERR_CLIENT, "%s.containerPort is required", w);
		const char *proto = NULL, *name = NULL, *app = NULL;
		rc = get_str(m, "protocol", 8, &proto, w, err);
		if (rc == SCHED_OK)
			rc = get_str(m, "name", 64, &name, w, err);
		if (rc == SCHED_OK)
			rc = get_str(m, "appProtocol", 8, &app, w, err);
		if (rc != SCHED_OK)
			return rc;
		if (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
			return sched_fail(err, SCHED_ERR_CLIENT, "%s.protocol must be tcp or udp",
			                  w);
		if (app && strcmp(app, "http") && strcmp(app, "http2") && strcmp(app, "grpc"))
			return sched_fail(err, SCHED_ERR_CLIENT,
			                  "%s.appProtocol must be http, http2 or grpc", w);
		if (strcmp(mode, "bridge") != 0) {
			if (hset && hport != cport)
				return sched_fail(
				    err, SCHED_ERR_CLIENT,
				    "%s: with network mode %s, hostPort must be left out or "
				    "equal containerPort",
				    w, mode);
			hport = cport;
		}
		bool udp = proto && strcmp(proto, "udp") == 0;
		if (hport != 0) {
			for (size_t j = 0; j < *n_seen; j++)
				if (seen[j].port == hport && seen[j].udp == udp)
					return sched_fail(
					    err, SCHED_ERR_CLIENT,
					    "%s: host port %ld/%s is mapped twice in this task "
					    "definition",
					    w, hport, udp ? "udp" : "tcp");
			if (*n_seen < seen_cap)
				seen[(*n_seen)++] = (struct port_seen){hport, udp};
		}
		json_t *one =
		    json_pack("{s:I,s:I,s:s}", "containerPort", (json_int_t)cport, "hostPort",
		              (json_int_t)hport, "protocol", udp ? "udp" : "tcp");
		if (one && name)
			json_object_set_new(one, "name", json_string(name));
		if (one && app)
			json_object_set_new(one, "appProtocol", json_string(app));
		if (!one || json_array_append_new(out, one) != 0)
			return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	return SCHED_OK;
}

static int parse_env(const json_t *c, const char *where, json_t *out_c, struct sched_error *err)
{
	const json_t *env = json_object_get(c, "environment");
	json_t *out = json_array();
	if (!out || json_object_set_new(out_c, "environment", out) != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (absent(env))
		return SCHED_OK;
	if (!json_is_array(env) || json_array_size(env) > LIST_MAX)
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "%s.environment must be a list of at most %d name/value pairs",
		                  where, LIST_MAX);
	size_t i;
	const json_t *e;
	json_array_foreach(env, i, e)
	{
		char w[320];
		snprintf(w, sizeof(w), "%s.environment[%zu]", where, i);
		const char *name = NULL, *value = NULL;
		if (!json_is_object(e))
			return sched_fail(err, SCHED_ERR_CLIENT, "%s must be an object", w);
		int rc = get_str(e, "name", 255, &name, w, err);
		if (rc == SCHED_OK)
			rc = get_str(e, "value", STR_MAX, &value, w, err);
		if (rc != SCHED_OK)
			return rc;
		if (!name || !name[0] || strchr(name, '='))
			return sched_fail(err, SCHED_ERR_CLIENT,
			                  "%s.name is required and cannot contain '='", w);
		json_t *one = json_pack("{s:s,s:s}", "name", name, "value", value ? value : "");
		if (!one || json_array_append_new(out, one) != 0)
			return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	return SCHED_OK;
}

static int parse_health(const json_t *c, const char *where, json_t *out_c, struct sched_error *err)
{
	const json_t *h = json_object_get(c, "healthCheck");
	if (absent(h))
		return SCHED_OK;
	char w[320];
	snprintf(w, sizeof(w), "%s.healthCheck", where);
	if (!json_is_object(h))
		return sched_fail(err, SCHED_ERR_CLIENT, "%s must be an object", w);
	json_t *cmd = NULL;
	int rc = get_str_list(h, "command", &cmd, w, err);
	if (rc != SCHED_OK)
		return rc;
	if (!cmd || json_array_size(cmd) == 0) {
		json_decref(cmd);
		return sched_fail(err, SCHED_ERR_CLIENT, "%s.command is required", w);
	}
	const char *first = json_string_value(json_array_get(cmd, 0));
	if (strcmp(first, "CMD") && strcmp(first, "CMD-SHELL") && strcmp(first, "NONE")) {
		json_decref(cmd);
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "%s.command must start with CMD, CMD-SHELL or NONE", w);
	}
	long interval = 30, timeout = 5, retries = 3, start = 0;
	bool set;
	rc = get_int(h, "interval", 5, 300, &interval, &set, w, err);
	if (rc == SCHED_OK)
		rc = get_int(h, "timeout", 2, 120, &timeout, &set, w, err);
	if (rc == SCHED_OK)
		rc = get_int(h, "retries", 1, 10, &retries, &set, w, err);
	if (rc == SCHED_OK)
		rc = get_int(h, "startPeriod", 0, 300, &start, &set, w, err);
	if (rc != SCHED_OK) {
		json_decref(cmd);
		return rc;
	}
	json_t *out = json_pack("{s:o,s:I,s:I,s:I,s:I}", "command", cmd, "interval",
	                        (json_int_t)interval, "timeout", (json_int_t)timeout, "retries",
	                        (json_int_t)retries, "startPeriod", (json_int_t)start);
	if (!out || json_object_set_new(out_c, "healthCheck", out) != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	return SCHED_OK;
}

static bool image_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IMAGE_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_:./#@", *s))
			return false;
	return true;
}

struct td_sums {
	long cpu;
	long mem_reserved; /* sum of memoryReservation, else memory */
	long mem_max;      /* the largest hard limit */
	bool all_have_memory;
	int essential;
};

static int parse_container(const json_t *c, size_t idx, const char *mode, json_t *out_list,
                           struct td_sums *sums, struct port_seen *seen, size_t *n_seen,
                           size_t seen_cap, struct sched_error *err)
{
	char where[64];
	snprintf(where, sizeof(where), "containerDefinitions[%zu]", idx);
	if (!json_is_object(c))
		return sched_fail(err, SCHED_ERR_CLIENT, "%s must be an object", where);
	const char *k;
	const json_t *x;
	json_object_foreach((json_t *)c, k, x)
	{
		if (!in_list(accepted_container_keys, k) && !absent(x))
			return sched_fail(err, SCHED_ERR_CLIENT,
			                  "%s.%s is not supported by taskgate", where, k);
	}
	const char *name = NULL, *image = NULL, *wd = NULL, *user = NULL;
	int rc = get_str(c, "name", 255, &name, where, err);
	if (rc == SCHED_OK)
		rc = get_str(c, "image", IMAGE_MAX, &image, where, err);
	if (rc == SCHED_OK)
		rc = get_str(c, "workingDirectory", STR_MAX, &wd, where, err);
	if (rc == SCHED_OK)
		rc = get_str(c, "user", 255, &user, where, err);
	if (rc != SCHED_OK)
		return rc;
	if (!name || !sched_name_ok(name, 255))
		return sched_fail(
		    err, SCHED_ERR_CLIENT,
		    "%s.name is required: up to 255 letters (uppercase and lowercase), "
		    "numbers, hyphens and underscores are allowed",
		    where);
	size_t i;
	const json_t *prev;
	json_array_foreach(out_list, i, prev)
	{
		if (strcmp(json_string_value(json_object_get(prev, "name")), name) == 0)
			return sched_fail(err, SCHED_ERR_CLIENT,
			                  "%s.name: the container name %s is used twice", where,
			                  name);
	}
	if (!image || !image_ok(image))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "%s.image is required: up to %d letters, numbers, hyphens, "
		                  "underscores, colons, periods, slashes, number signs and @",
		                  where, IMAGE_MAX);
	long cpu = 0, mem = 0, res = 0, stop_timeout = 0;
	bool cpu_set, mem_set, res_set, st_set;
	rc = get_int(c, "cpu", 0, TASK_CPU_MAX, &cpu, &cpu_set, where, err);
	if (rc == SCHED_OK)
		rc = get_int(c, "memory", MEM_MIN, TASK_MEM_MAX, &mem, &mem_set, where, err);
	if (rc == SCHED_OK)
		rc = get_int(c, "memoryReservation", MEM_MIN, TASK_MEM_MAX, &res, &res_set, where,
		             err);
	if (rc == SCHED_OK)
		rc = get_int(c, "stopTimeout", 2, 120, &stop_timeout, &st_set, where, err);
	if (rc != SCHED_OK)
		return rc;
	if (mem_set && res_set && res > mem)
		return sched_fail(
		    err, SCHED_ERR_CLIENT,
		    "Invalid 'memory' setting for container '%s'. Hard limit (%ld MiB) "
		    "must be greater than or equal to the soft limit (%ld MiB).",
		    name, mem, res);
	const json_t *ess = json_object_get(c, "essential");
	if (!absent(ess) && !json_is_boolean(ess))
		return sched_fail(err, SCHED_ERR_CLIENT, "%s.essential must be true or false",
		                  where);
	bool essential = absent(ess) || json_is_true(ess);
	const json_t *labels = json_object_get(c, "dockerLabels");
	if (!absent(labels)) {
		if (!json_is_object(labels) || json_object_size(labels) > LIST_MAX)
			return sched_fail(err, SCHED_ERR_CLIENT,
			                  "%s.dockerLabels must be a map of at most %d strings",
			                  where, LIST_MAX);
		json_object_foreach((json_t *)labels, k, x)
		{
			if (!json_is_string(x) || json_string_length(x) > STR_MAX || !k[0] ||
			    strncmp(k, "com.amazonaws.ecs.", 18) == 0)
				return sched_fail(err, SCHED_ERR_CLIENT,
				                  "%s.dockerLabels.%s must be a string, and the "
				                  "com.amazonaws.ecs. labels are the scheduler's",
				                  where, k);
		}
	}

	json_t *out =
	    json_pack("{s:s,s:s,s:I,s:b,s:[],s:[]}", "name", name, "image", image, "cpu",
	              (json_int_t)cpu, "essential", essential, "mountPoints", "volumesFrom");
	if (!out || json_array_append_new(out_list, out) != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	int w = 0;
	if (mem_set)
		w |= json_object_set_new(out, "memory", json_integer(mem));
	if (res_set)
		w |= json_object_set_new(out, "memoryReservation", json_integer(res));
	if (st_set)
		w |= json_object_set_new(out, "stopTimeout", json_integer(stop_timeout));
	if (wd)
		w |= json_object_set_new(out, "workingDirectory", json_string(wd));
	if (user)
		w |= json_object_set_new(out, "user", json_string(user));
	if (!absent(labels))
		w |= json_object_set_new(out, "dockerLabels", json_deep_copy(labels));
	if (w != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	json_t *cmd = NULL, *ep = NULL;
	rc = get_str_list(c, "command", &cmd, where, err);
	if (rc == SCHED_OK && cmd && json_object_set_new(out, "command", cmd) != 0)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK)
		rc = get_str_list(c, "entryPoint", &ep, where, err);
	if (rc == SCHED_OK && ep && json_object_set_new(out, "entryPoint", ep) != 0)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK)
		rc = parse_ports(c, mode, where, out, seen, n_seen, seen_cap, err);
	if (rc == SCHED_OK)
		rc = parse_env(c, where, out, err);
	if (rc == SCHED_OK)
		rc = parse_health(c, where, out, err);
	if (rc != SCHED_OK)
		return rc;
	sums->cpu += cpu;
	sums->mem_reserved += res_set ? res : mem;
	if (mem_set && mem > sums->mem_max)
		sums->mem_max = mem;
	if (!mem_set && !res_set)
		sums->all_have_memory = false;
	if (essential)
		sums->essential++;
	return SCHED_OK;
}

static int parse_constraints(const json_t *in, json_t *doc, struct sched_error *err)
{
	json_t *out = json_array();
	if (!out || json_object_set_new(doc, "placementConstraints", out) != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (absent(in))
		return SCHED_OK;
	if (!json_is_array(in) || json_array_size(in) > 10)
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "placementConstraints must be a list of at most 10 constraints");
	size_t i;
	const json_t *c;
	json_array_foreach(in, i, c)
	{
		char w[64];
		snprintf(w, sizeof(w), "placementConstraints[%zu]", i);
		const char *type = NULL, *expr = NULL;
		int rc = json_is_object(c)
		             ? get_str(c, "type", 32, &type, w, err)
		             : sched_fail(err, SCHED_ERR_CLIENT, "%s must be an object", w);
		if (rc == SCHED_OK)
			rc = get_str(c, "expression", 2000, &expr, w, err);
		if (rc != SCHED_OK)
			return rc;
		if (!type || strcmp(type, "memberOf") != 0 || !expr || !expr[0])
			return sched_fail(
			    err, SCHED_ERR_CLIENT,
			    "%s: a task definition takes memberOf constraints with an "
			    "expression",
			    w);
		if (json_array_append_new(
		        out, json_pack("{s:s,s:s}", "type", type, "expression", expr)) != 0)
			return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	return SCHED_OK;
}

static int parse_runtime_platform(const json_t *in, json_t *doc, struct sched_error *err)
{
	if (absent(in))
		return SCHED_OK;
	const char *os = NULL, *arch = NULL;
	int rc = json_is_object(in)
	             ? get_str(in, "operatingSystemFamily", 64, &os, "runtimePlatform", err)
	             : sched_fail(err, SCHED_ERR_CLIENT, "runtimePlatform must be an object");
	if (rc == SCHED_OK)
		rc = get_str(in, "cpuArchitecture", 16, &arch, "runtimePlatform", err);
	if (rc != SCHED_OK)
		return rc;
	if (os && strcmp(os, "LINUX") != 0)
		return sched_fail(
		    err, SCHED_ERR_CLIENT,
		    "runtimePlatform.operatingSystemFamily: taskgate runs LINUX tasks only");
	if (arch && strcmp(arch, "X86_64") != 0 && strcmp(arch, "ARM64") != 0)
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "runtimePlatform.cpuArchitecture must be X86_64 or ARM64");
	json_t *rp = json_object();
	if (!rp || json_object_set_new(doc, "runtimePlatform", rp) != 0)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (os)
		json_object_set_new(rp, "operatingSystemFamily", json_string(os));
	if (arch)
		json_object_set_new(rp, "cpuArchitecture", json_string(arch));
	return SCHED_OK;
}

/* The request checked and turned into ECS's document, without ARN,
 * revision, status and times (the caller adds those). */
static int taskdef_doc(const json_t *in, json_t **out, const char **family_out,
                       struct sched_error *err)
{
	*out = NULL;
	if (!in || !json_is_object(in))
		return sched_fail(err, SCHED_ERR_CLIENT, "the request must be a JSON object");
	const char *k;
	const json_t *x;
	json_object_foreach((json_t *)in, k, x)
	{
		if (!in_list(accepted_task_keys, k) && !absent(x))
			return sched_fail(err, SCHED_ERR_CLIENT, "%s is not supported by taskgate",
			                  k);
	}
	const json_t *vols = json_object_get(in, "volumes");
	if (!absent(vols) && (!json_is_array(vols) || json_array_size(vols) > 0))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "volumes are not supported by taskgate: leave the list empty");
	const char *family = NULL, *mode = NULL, *task_role = NULL, *exec_role = NULL,
	           *cpu_s = NULL, *mem_s = NULL;
	int rc = get_str(in, "family", FAMILY_MAX, &family, "request", err);
	if (rc == SCHED_OK && (!family || !sched_name_ok(family, FAMILY_MAX)))
		rc = sched_fail(err, SCHED_ERR_CLIENT,
		                "family is required: up to 255 letters (uppercase and lowercase), "
		                "numbers, underscores, and hyphens are allowed");
	if (rc == SCHED_OK)
		rc = get_str(in, "networkMode", 16, &mode, "request", err);
	if (rc == SCHED_OK)
		rc = get_str(in, "taskRoleArn", ROLE_ARN_MAX, &task_role, "request", err);
	if (rc == SCHED_OK)
		rc = get_str(in, "executionRoleArn", ROLE_ARN_MAX, &exec_role, "request", err);
	if (rc == SCHED_OK)
		rc = get_str(in, "cpu", 32, &cpu_s, "request", err);
	if (rc == SCHED_OK)
		rc = get_str(in, "memory", 32, &mem_s, "request", err);
	if (rc != SCHED_OK)
		return rc;
	if (!mode)
		mode = "bridge";
	if (strcmp(mode, "bridge") && strcmp(mode, "host") && strcmp(mode, "awsvpc") &&
	    strcmp(mode, "none"))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "networkMode must be bridge, host, awsvpc or none");
	if (task_role && !role_arn_ok(task_role))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "taskRoleArn must be the ARN of an IAM role "
		                  "(arn:aws:iam::<account>:role/<name>)");
	if (exec_role && !role_arn_ok(exec_role))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "executionRoleArn must be the ARN of an IAM role "
		                  "(arn:aws:iam::<account>:role/<name>)");
	long task_cpu = 0, task_mem = 0;
	if (cpu_s && (!parse_task_size(cpu_s, "vcpu", &task_cpu) || task_cpu < TASK_CPU_MIN ||
	              task_cpu > TASK_CPU_MAX))
		return sched_fail(
		    err, SCHED_ERR_CLIENT,
		    "cpu must be CPU units (\"1024\") or vCPUs (\"1 vCPU\") from %d to %d "
		    "units",
		    TASK_CPU_MIN, TASK_CPU_MAX);
	if (mem_s && (!parse_task_size(mem_s, "gb", &task_mem) || task_mem < MEM_MIN ||
	              task_mem > TASK_MEM_MAX))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "memory must be MiB (\"512\") or GB (\"1 GB\") from %d to %d MiB",
		                  MEM_MIN, TASK_MEM_MAX);

	const json_t *defs = json_object_get(in, "containerDefinitions");
	if (!json_is_array(defs) || json_array_size(defs) == 0 ||
	    json_array_size(defs) > CONTAINERS_MAX)
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "containerDefinitions must list 1 to %d containers",
		                  CONTAINERS_MAX);
	json_t *doc = json_object();
	json_t *containers = json_array();
	if (!doc || !containers || json_object_set_new(doc, "containerDefinitions", containers)) {
		json_decref(doc);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	struct td_sums sums = {.all_have_memory = true};
	struct port_seen seen[CONTAINERS_MAX * LIST_MAX];
	size_t n_seen = 0;
	size_t i;
	const json_t *c;
	json_array_foreach(defs, i, c)
	{
		rc = parse_container(c, i, mode, containers, &sums, seen, &n_seen,
		                     sizeof(seen) / sizeof(seen[0]), err);
		if (rc != SCHED_OK)
			goto fail;
	}
	if (sums.essential == 0) {
		rc = sched_fail(err, SCHED_ERR_CLIENT,
		                "Invalid setting for containerDefinitions: at least one essential "
		                "container is required.");
		goto fail;
	}
	if (!mem_s && !sums.all_have_memory) {
		const char *which = "";
		const json_t *cd;
		json_array_foreach(containers, i, cd)
		{
			if (!json_object_get(cd, "memory") &&
			    !json_object_get(cd, "memoryReservation")) {
				which = json_string_value(json_object_get(cd, "name"));
				break;
			}
		}
		rc = sched_fail(err, SCHED_ERR_CLIENT,
		                "Invalid setting for container '%s'. At least one of 'memory' or "
		                "'memoryReservation' must be specified.",
		                which);
		goto fail;
	}
	if (cpu_s && sums.cpu > task_cpu) {
		rc = sched_fail(err, SCHED_ERR_CLIENT,
		                "The containers ask for %ld CPU units, more than the task's %ld",
		                sums.cpu, task_cpu);
		goto fail;
	}
	if (mem_s && (sums.mem_reserved > task_mem || sums.mem_max > task_mem)) {
		rc = sched_fail(err, SCHED_ERR_CLIENT,
		                "The containers ask for more memory than the task's %ld MiB",
		                task_mem);
		goto fail;
	}

	/* compatibilities: what this definition can run as */
	bool fargate =
	    strcmp(mode, "awsvpc") == 0 && cpu_s && mem_s && fargate_pair(task_cpu, task_mem);
	json_t *compat = json_pack("[s]", "EC2");
	if (compat && strcmp(mode, "awsvpc") != 0)
		json_array_append_new(compat, json_string("EXTERNAL"));
	if (compat && fargate)
		json_array_append_new(compat, json_string("FARGATE"));
	if (!compat || json_object_set_new(doc, "compatibilities", compat) != 0) {
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		goto fail;
	}
	const json_t *req = json_object_get(in, "requiresCompatibilities");
	if (!absent(req)) {
		if (!json_is_array(req) || json_array_size(req) > 3) {
			rc = sched_fail(
			    err, SCHED_ERR_CLIENT,
			    "requiresCompatibilities must list EC2, FARGATE or EXTERNAL");
			goto fail;
		}
		const json_t *r;
		json_array_foreach(req, i, r)
		{
			const char *v = json_string_value(r);
			if (!v ||
			    (strcmp(v, "EC2") && strcmp(v, "FARGATE") && strcmp(v, "EXTERNAL"))) {
				rc = sched_fail(
				    err, SCHED_ERR_CLIENT,
				    "requiresCompatibilities[%zu] must be EC2, FARGATE or "
				    "EXTERNAL",
				    i);
				goto fail;
			}
			if (strcmp(v, "FARGATE") == 0 && strcmp(mode, "awsvpc") != 0) {
				rc = sched_fail(err, SCHED_ERR_CLIENT,
				                "Fargate only supports network mode 'awsvpc'.");
				goto fail;
			}
			if (strcmp(v, "FARGATE") == 0 && (!cpu_s || !mem_s)) {
				rc = sched_fail(
				    err, SCHED_ERR_CLIENT,
				    "Fargate requires that 'cpu' and 'memory' be defined at the "
				    "task level.");
				goto fail;
			}
			if (strcmp(v, "FARGATE") == 0 && !fargate) {
				rc = sched_fail(
				    err, SCHED_ERR_CLIENT,
				    "No Fargate configuration exists for given values: %ld CPU, "
				    "%ld memory.",
				    task_cpu, task_mem);
				goto fail;
			}
			if (strcmp(v, "EXTERNAL") == 0 && strcmp(mode, "awsvpc") == 0) {
				rc = sched_fail(
				    err, SCHED_ERR_CLIENT,
				    "Tasks for the EXTERNAL launch type cannot use network mode "
				    "'awsvpc'.");
				goto fail;
			}
		}
		if (json_object_set_new(doc, "requiresCompatibilities", json_deep_copy(req)) != 0) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			goto fail;
		}
	}
	rc = parse_constraints(json_object_get(in, "placementConstraints"), doc, err);
	if (rc == SCHED_OK)
		rc = parse_runtime_platform(json_object_get(in, "runtimePlatform"), doc, err);
	if (rc != SCHED_OK)
		goto fail;
	json_t *tags = NULL;
	rc = sched_tags_copy(json_object_get(in, "tags"), &tags, err);
	if (rc != SCHED_OK)
		goto fail;
	char num[32];
	int w = json_object_set_new(doc, "family", json_string(family)) |
	        json_object_set_new(doc, "networkMode", json_string(mode)) |
	        json_object_set_new(doc, "volumes", json_array()) |
	        json_object_set_new(doc, "requiresAttributes", json_array()) |
	        json_object_set_new(doc, "tags", tags);
	if (task_role)
		w |= json_object_set_new(doc, "taskRoleArn", json_string(task_role));
	if (exec_role)
		w |= json_object_set_new(doc, "executionRoleArn", json_string(exec_role));
	if (cpu_s) {
		snprintf(num, sizeof(num), "%ld", task_cpu);
		w |= json_object_set_new(doc, "cpu", json_string(num));
	}
	if (mem_s) {
		snprintf(num, sizeof(num), "%ld", task_mem);
		w |= json_object_set_new(doc, "memory", json_string(num));
	}
	if (w != 0) {
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		goto fail;
	}
	*family_out = family;
	*out = doc;
	return SCHED_OK;
fail:
	json_decref(doc);
	return rc;
}

int sched_taskdef_register(struct sched *s, const json_t *input, json_t **taskdef_out,
                           struct sched_error *err)
{
	sched_clear_error(err);
	*taskdef_out = NULL;
	json_t *doc = NULL;
	const char *family = NULL;
	int rc = taskdef_doc(input, &doc, &family, err);
	if (rc != SCHED_OK)
		return rc;
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	memset(&o, 0, sizeof(o));
	for (int attempt = 0; attempt < 64; attempt++) {
		int64_t rev = 0;
		struct store_error se;
		if (store_sched_max_revision(s->store, family, &rev, &se) != STORE_OK) {
			rc = sched_fail_store(err, &se, "reading the family's revisions");
			break;
		}
		rev++;
		char rest[FAMILY_MAX + 32];
		snprintf(rest, sizeof(rest), "%s:%lld", family, (long long)rev);
		char *arn = sched_arn(s, "task-definition", rest);
		json_t *d = json_deep_copy(doc);
		int w = (!arn || !d) ? -1 : 0;
		if (w == 0)
			w = json_object_set_new(d, "taskDefinitionArn", json_string(arn)) |
			    json_object_set_new(d, "revision", json_integer(rev)) |
			    json_object_set_new(d, "status", json_string("ACTIVE")) |
			    json_object_set_new(d, "registeredAt",
			                        json_real(sched_epoch(sched_now_ms(s))));
		if (w != 0) {
			free(arn);
			json_decref(d);
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			break;
		}
		rc = sched_obj_init(&o, STORE_SCHED_TASK_DEFINITION, arn, "", family, "ACTIVE", d,
		                    err);
		free(arn);
		o.row.revision = rev;
		if (rc == SCHED_OK) {
			struct store_sched_obj row = o.row;
			char *text = json_dumps(o.doc, JSON_COMPACT | JSON_SORT_KEYS);
			if (!text) {
				rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			} else {
				row.doc = text;
				int64_t seq = 0, ver = 0;
				int src = store_sched_put(s->store, &row, 0, &seq, &ver, &se);
				if (src == STORE_ERR_CONFLICT) {
					free(text);
					sched_obj_free(&o);
					continue; /* another writer took this revision */
				}
				o.row.doc = text;
				o.row.seq = seq;
				o.row.version = ver;
				if (src != STORE_OK)
					rc = sched_fail_store(err, &se,
					                      "writing the task definition");
			}
		}
		if (rc == SCHED_OK) {
			*taskdef_out = json_incref(o.doc);
		}
		sched_obj_free(&o);
		break;
	}
	if (rc == SCHED_OK && !*taskdef_out)
		rc = sched_fail(err, SCHED_ERR_SERVER,
		                "could not take a revision number: too many concurrent writers");
	pthread_mutex_unlock(&s->lock);
	json_decref(doc);
	return rc;
}

/* family and revision (0: none) of a reference; false when malformed. */
static bool split_ref(struct sched *s, const char *ref, char *family, size_t cap, int64_t *rev)
{
	*rev = 0;
	if (!ref || !ref[0])
		return false;
	const char *p = ref;
	if (strncmp(ref, "arn:", 4) == 0) {
		char prefix[128];
		int n = snprintf(prefix, sizeof(prefix), "arn:aws:ecs:%s:%s:task-definition/",
		                 s->region, s->account);
		if (n < 0 || (size_t)n >= sizeof(prefix) || strncmp(ref, prefix, (size_t)n) != 0)
			return false;
		p = ref + n;
		if (!strchr(p, ':'))
			return false; /* an ARN always names a revision */
	}
	const char *colon = strchr(p, ':');
	size_t fl = colon ? (size_t)(colon - p) : strlen(p);
	if (fl == 0 || fl >= cap)
		return false;
	memcpy(family, p, fl);
	family[fl] = '\0';
	if (!sched_name_ok(family, FAMILY_MAX))
		return false;
	if (colon) {
		const char *r = colon + 1;
		if (!*r || strlen(r) > 9 || strspn(r, "0123456789") != strlen(r) || r[0] == '0')
			return false;
		*rev = strtoll(r, NULL, 10);
	}
	return true;
}

int sched_taskdef_load(struct sched *s, const char *ref, struct sched_obj *o,
                       struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	char family[FAMILY_MAX + 1];
	int64_t rev = 0;
	if (!split_ref(s, ref, family, sizeof(family), &rev))
		return sched_fail(err, SCHED_ERR_CLIENT,
		                  "Unable to describe task definition: %s is not a family, "
		                  "family:revision or task definition ARN",
		                  ref ? ref : "(none)");
	if (rev > 0) {
		char rest[FAMILY_MAX + 32];
		snprintf(rest, sizeof(rest), "%s:%lld", family, (long long)rev);
		char *arn = sched_arn(s, "task-definition", rest);
		if (!arn)
			return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		struct sched_error lerr;
		int rc = sched_obj_load(s, arn, o, SCHED_ERR_CLIENT, &lerr);
		free(arn);
		if (rc == SCHED_OK && o->row.kind != STORE_SCHED_TASK_DEFINITION) {
			sched_obj_free(o);
			rc = SCHED_ERR_CLIENT;
		}
		if (rc == SCHED_ERR_CLIENT)
			return sched_fail(err, rc, "Unable to describe task definition.");
		if (rc != SCHED_OK && err)
			*err = lerr;
		return rc;
	}
	struct store_sched_filter f = {.kind = STORE_SCHED_TASK_DEFINITION,
	                               .name = family,
	                               .status = "ACTIVE",
	                               .newest_first = true,
	                               .limit = 1};
	struct sched_objs l;
	int rc = sched_objs_query(s, &f, &l, err);
	if (rc != SCHED_OK)
		return rc;
	if (l.n == 0) {
		sched_objs_free(&l);
		return sched_fail(err, SCHED_ERR_CLIENT, "Unable to describe task definition.");
	}
	*o = l.v[0];
	memset(&l.v[0], 0, sizeof(l.v[0]));
	sched_objs_free(&l);
	return SCHED_OK;
}

int sched_taskdef_describe(struct sched *s, const char *ref, json_t **taskdef_out,
                           struct sched_error *err)
{
	sched_clear_error(err);
	*taskdef_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = sched_taskdef_load(s, ref, &o, err);
	if (rc == SCHED_OK) {
		*taskdef_out = json_incref(o.doc);
		sched_obj_free(&o);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_taskdef_deregister(struct sched *s, const char *ref, json_t **taskdef_out,
                             struct sched_error *err)
{
	sched_clear_error(err);
	*taskdef_out = NULL;
	char family[FAMILY_MAX + 1];
	int64_t rev = 0;
	if (!split_ref(s, ref, family, sizeof(family), &rev) || rev == 0)
		return sched_fail(
		    err, SCHED_ERR_CLIENT,
		    "%s: name the task definition with its revision (family:revision) "
		    "or its full ARN",
		    ref ? ref : "(none)");
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = sched_taskdef_load(s, ref, &o, err);
	if (rc == SCHED_OK && strcmp(o.row.status, "INACTIVE") != 0) {
		int w = json_object_set_new(o.doc, "status", json_string("INACTIVE")) |
		        json_object_set_new(o.doc, "deregisteredAt",
		                            json_real(sched_epoch(sched_now_ms(s))));
		rc = w ? sched_fail(err, SCHED_ERR_SERVER, "out of memory")
		       : sched_obj_set_str(&o, &o.row.status, "INACTIVE", err);
		if (rc == SCHED_OK)
			rc = sched_obj_save(s, &o, err);
	}
	if (rc == SCHED_OK)
		*taskdef_out = json_incref(o.doc);
	sched_obj_free(&o);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* The task definition at a page token's position; Invalid nextToken when
 * the token does not point at one. */
static int token_taskdef(struct sched *s, int64_t seq, struct store_sched_obj *row,
                         struct sched_error *err)
{
	struct store_error se;
	int rc = store_sched_get_seq(s->store, seq, row, &se);
	if (rc == STORE_ERR_NOT_FOUND ||
	    (rc == STORE_OK && row->kind != STORE_SCHED_TASK_DEFINITION)) {
		store_sched_obj_free(row);
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "Invalid nextToken");
	}
	if (rc != STORE_OK)
		return sched_fail_store(err, &se, "reading the store");
	return SCHED_OK;
}

int sched_taskdef_list(struct sched *s, const char *family_prefix, const char *status,
                       bool newest_first, const struct sched_page *page, json_t **arns_out,
                       char **next_out, struct sched_error *err)
{
	sched_clear_error(err);
	*arns_out = NULL;
	*next_out = NULL;
	if (!status || !status[0])
		status = "ACTIVE";
	if (strcmp(status, "ACTIVE") != 0 && strcmp(status, "INACTIVE") != 0)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "status must be ACTIVE or INACTIVE");
	if (family_prefix && family_prefix[0] && !sched_name_ok(family_prefix, FAMILY_MAX))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "familyPrefix must be a task definition family name");
	int64_t after = 0;
	size_t limit;
	int rc = sched_page_start(page, &after, &limit, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *arns = json_array();
	if (!arns)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	pthread_mutex_lock(&s->lock);
	struct store_sched_obj at = {0};
	struct store_sched_list l = {0};
	if (after > 0)
		rc = token_taskdef(s, after, &at, err);
	/* ECS's order by family and revision, resumed after the token's
	 * definition (which stays where it is whatever its status now) */
	struct store_sched_filter f = {.kind = STORE_SCHED_TASK_DEFINITION,
	                               .cluster = "",
	                               .name =
	                                   family_prefix && family_prefix[0] ? family_prefix : NULL,
	                               .status = status,
	                               .limit = limit + 1,
	                               .newest_first = newest_first,
	                               .by_name_revision = true,
	                               .after_name = after > 0 ? at.name : NULL,
	                               .after_revision = at.revision};
	struct store_error se;
	if (rc == SCHED_OK && store_sched_query(s->store, &f, &l, &se) != STORE_OK)
		rc = sched_fail_store(err, &se, "listing task definitions");
	size_t shown = l.n < limit ? l.n : limit;
	for (size_t i = 0; rc == SCHED_OK && i < shown; i++)
		if (json_array_append_new(arns, json_string(l.objs[i].arn)) != 0)
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK && l.n > limit)
		rc = sched_page_token(l.objs[shown - 1].seq, next_out, err);
	store_sched_list_free(&l);
	store_sched_obj_free(&at);
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK) {
		json_decref(arns);
		free(*next_out);
		*next_out = NULL;
		return rc;
	}
	*arns_out = arns;
	return SCHED_OK;
}

int sched_taskdef_families(struct sched *s, const char *family_prefix, const char *status,
                           const struct sched_page *page, json_t **families_out, char **next_out,
                           struct sched_error *err)
{
	sched_clear_error(err);
	*families_out = NULL;
	*next_out = NULL;
	enum store_sched_family_status fs;
	if (!status || !status[0] || strcmp(status, "ALL") == 0)
		fs = STORE_FAMILIES_ALL;
	else if (strcmp(status, "ACTIVE") == 0)
		fs = STORE_FAMILIES_ACTIVE;
	else if (strcmp(status, "INACTIVE") == 0)
		fs = STORE_FAMILIES_INACTIVE;
	else
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "status must be ACTIVE, INACTIVE or ALL");
	if (family_prefix && strlen(family_prefix) > FAMILY_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "familyPrefix is longer than %d characters", FAMILY_MAX);
	int64_t after = 0;
	size_t limit;
	int rc = sched_page_start(page, &after, &limit, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *families = json_array();
	if (!families)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	pthread_mutex_lock(&s->lock);
	/* a family's token is the seq of its first revision, which never moves */
	struct store_sched_obj at = {0};
	struct store_sched_families l = {0};
	if (after > 0)
		rc = token_taskdef(s, after, &at, err);
	struct store_error se;
	if (rc == SCHED_OK &&
	    store_sched_families(s->store, family_prefix && family_prefix[0] ? family_prefix : NULL,
	                         fs, after > 0 ? at.name : NULL, limit + 1, &l, &se) != STORE_OK)
		rc = sched_fail_store(err, &se, "listing task definition families");
	size_t shown = l.n < limit ? l.n : limit;
	for (size_t i = 0; rc == SCHED_OK && i < shown; i++)
		if (json_array_append_new(families, json_string(l.v[i].name)) != 0)
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK && l.n > limit)
		rc = sched_page_token(l.v[shown - 1].first_seq, next_out, err);
	store_sched_families_free(&l);
	store_sched_obj_free(&at);
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK) {
		json_decref(families);
		free(*next_out);
		*next_out = NULL;
		return rc;
	}
	*families_out = families;
	return SCHED_OK;
}
