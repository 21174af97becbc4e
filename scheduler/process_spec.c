/*
 * process_spec.c - what each container of a task becomes under the process
 * driver: argv, environment, executable, working directory, limits, user.
 *
 * The ECS task definition describes images; the process driver runs
 * commands. So argv is the container's entryPoint followed by its command
 * (the override's command replacing the definition's, as in ECS and Docker),
 * the image is not used, and a container with neither is refused at start
 * rather than guessed at. The environment is built in layers, later ones
 * winning: a base like Docker's (PATH, HOSTNAME, HOME = the container's own
 * folder), the definition's environment, the override's, the host ports the
 * scheduler bound (there is no NAT: TASKGATE_HOST_PORT_<containerPort>[_UDP]
 * and PORT for the first TCP one), then the hooks' variables (credentials and
 * metadata URIs), which nothing may shadow.
 *
 * Everything is checked here, before any fork: names that are not safe as
 * file names, variables with '=' or NUL, an executable that is not on PATH, a
 * user that cannot be switched to. Input is the scheduler's JSON, which the
 * API already validated, but a bad value still gets a clear reason, never a
 * half-started task.
 */
#include "scheduler/driver.h"
#include "scheduler/driver_int.h"
#include "scheduler/process_int.h"

#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool safe_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

const char *pcspec_task_id(const char *arn)
{
	if (!arn)
		return NULL;
	const char *slash = strrchr(arn, '/');
	const char *id = slash ? slash + 1 : arn;
	return safe_name(id, 64) ? id : NULL;
}

int pcspec_nice_for_cpu(int cpu)
{
	if (cpu <= 0 || cpu >= 1024)
		return 0;
	double steps = log(1024.0 / cpu) / log(1.25);
	int n = (int)lround(steps);
	return n > 19 ? 19 : n;
}

/* [{"name":..., "value":...}] as ECS writes environment lists. */
static int env_layer(json_t *env, const json_t *list, const char *what, char *reason, size_t cap)
{
	size_t i;
	const json_t *e;
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return drv_fail(reason, cap, "%s environment is not a list", what);
	json_array_foreach(list, i, e)
	{
		const json_t *n = json_object_get(e, "name");
		const json_t *v = json_object_get(e, "value");
		if (!drv_plain_string(n))
			return drv_fail(reason, cap, "%s environment entry %zu has no name", what,
			                i);
		if (v && !json_is_null(v) && !drv_plain_string(v))
			return drv_fail(reason, cap, "%s environment variable %s is not a string",
			                what, json_string_value(n));
		const char *val = json_string_value(v); /* NULL for a missing or null value */
		if (drv_env_set(env, json_string_value(n), val ? val : "", reason, cap) < 0)
			return -1;
	}
	return 0;
}

static int env_ports(json_t *env, const json_t *task, const json_t *cdef, const char *name,
                     char *reason, size_t cap)
{
	const json_t *tc = drv_find_named(json_object_get(task, "containers"), name);
	const json_t *bindings = json_object_get(tc, "networkBindings");
	bool have_port = json_object_get(env, "PORT") != NULL;
	size_t i;
	const json_t *b;
	if (!json_is_array(bindings) || json_array_size(bindings) == 0) {
		/* Fixed host ports from the definition when the task lists none. */
		bindings = json_object_get(cdef, "portMappings");
		if (!json_is_array(bindings))
			return 0;
	}
	json_array_foreach(bindings, i, b)
	{
		long cp = drv_num(json_object_get(b, "containerPort"));
		long hp = drv_num(json_object_get(b, "hostPort"));
		const char *proto = json_string_value(json_object_get(b, "protocol"));
		bool udp = proto && strcmp(proto, "udp") == 0;
		if (cp <= 0 || cp > 65535 || hp <= 0 || hp > 65535)
			continue;
		char key[64], val[16];
		if (snprintf(key, sizeof(key), "TASKGATE_HOST_PORT_%ld%s", cp, udp ? "_UDP" : "") <
		        0 ||
		    snprintf(val, sizeof(val), "%ld", hp) < 0)
			return drv_fail(reason, cap, "out of memory");
		if (drv_env_set(env, key, val, reason, cap) < 0)
			return -1;
		if (!udp && !have_port) {
			if (drv_env_set(env, "PORT", val, reason, cap) < 0)
				return -1;
			have_port = true;
		}
	}
	return 0;
}

static int strv_from_json(const json_t *arr, char ***v, size_t *n, const char *what,
                          const char *name, char *reason, size_t cap)
{
	size_t i;
	const json_t *e;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return drv_fail(reason, cap, "container %s: %s is not a list of strings", name,
		                what);
	json_array_foreach(arr, i, e)
	{
		if (!drv_plain_string(e))
			return drv_fail(reason, cap, "container %s: %s is not a list of strings",
			                name, what);
		char **nv = realloc(*v, (*n + 2) * sizeof(char *));
		if (!nv)
			return drv_fail(reason, cap, "out of memory");
		*v = nv;
		nv[*n] = strdup(json_string_value(e));
		if (!nv[*n])
			return drv_fail(reason, cap, "out of memory");
		(*n)++;
		nv[*n] = NULL;
	}
	return 0;
}

char *pcspec_path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p && snprintf(p, n, "%s/%s", a, b) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

static bool executable_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Docker's rules: a name with '/' is used as it is (relative to the working
 * directory); otherwise the container's PATH is searched. */
static int resolve_exec(struct pcspec *c, const char *path_var, char *reason, size_t cap)
{
	const char *a0 = c->argv[0];
	if (!*a0)
		return drv_fail(reason, cap, "container %s: the command's first word is empty",
		                c->name);
	if (strchr(a0, '/')) {
		c->path = strdup(a0);
		return c->path ? 0 : drv_fail(reason, cap, "out of memory");
	}
	char *copy = strdup(path_var ? path_var : DEFAULT_PATH);
	if (!copy)
		return drv_fail(reason, cap, "out of memory");
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		char *p = pcspec_path_join(d, a0);
		if (!p) {
			free(copy);
			return drv_fail(reason, cap, "out of memory");
		}
		if (executable_file(p)) {
			c->path = p;
			free(copy);
			return 0;
		}
		free(p);
	}
	free(copy);
	return drv_fail(
	    reason, cap,
	    "CannotStartContainerError: container %s: exec: \"%s\": executable file not "
	    "found in $PATH",
	    c->name, a0);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* "user", "uid", "user:group", "uid:gid", as ECS's user field. */
static int resolve_user(struct pcspec *c, const char *user, char *reason, size_t cap)
{
	char u[256], g[256] = "";
	const char *colon = strchr(user, ':');
	size_t ul = colon ? (size_t)(colon - user) : strlen(user);
	if (ul == 0 || ul >= sizeof(u) || (colon && strlen(colon + 1) >= sizeof(g)))
		return drv_fail(reason, cap, "container %s: user \"%s\" is not valid", c->name,
		                user);
	memcpy(u, user, ul);
	u[ul] = '\0';
	if (colon)
		memcpy(g, colon + 1, strlen(colon + 1) + 1);

	char buf[4096];
	struct passwd pw, *pwp = NULL;
	uid_t uid;
	gid_t gid = 0;
	if (all_digits(u)) {
		unsigned long v = strtoul(u, NULL, 10);
		if (v > 0x7fffffffUL)
			return drv_fail(reason, cap, "container %s: user \"%s\" is not valid",
			                c->name, user);
		uid = (uid_t)v;
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
			gid = pwp->pw_gid;
	} else {
		if (getpwnam_r(u, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
			return drv_fail(reason, cap,
			                "container %s: no such user \"%s\" on this host", c->name,
			                u);
		uid = pwp->pw_uid;
		gid = pwp->pw_gid;
	}
	if (*g) {
		if (all_digits(g)) {
			unsigned long v = strtoul(g, NULL, 10);
			if (v > 0x7fffffffUL)
				return drv_fail(reason, cap,
				                "container %s: group \"%s\" is not valid", c->name,
				                g);
			gid = (gid_t)v;
		} else {
			struct group gr, *grp = NULL;
			if (getgrnam_r(g, &gr, buf, sizeof(buf), &grp) != 0 || !grp)
				return drv_fail(reason, cap,
				                "container %s: no such group \"%s\" on this host",
				                c->name, g);
			gid = grp->gr_gid;
		}
	}
	if (geteuid() == 0) {
		c->set_ids = true;
		c->uid = uid;
		c->gid = gid;
		return 0;
	}
	if (uid == geteuid() && (!*g || gid == getegid()))
		return 0;
	return drv_fail(reason, cap,
	                "container %s: cannot run as user \"%s\": the gateway does not run as root",
	                c->name, user);
}

static int build_one(const json_t *task, const json_t *taskdef, const json_t *cdef,
                     const json_t *hooks_env, const char *task_dir, int default_stop,
                     struct pcspec *c, char *reason, size_t cap)
{
	const char *name = json_string_value(json_object_get(cdef, "name"));
	if (!name || !safe_name(name, 255))
		return drv_fail(reason, cap,
		                "container name \"%s\" is not valid (letters, digits, '-' and '_')",
		                name ? name : "");
	c->name = strdup(name);
	c->dir = pcspec_path_join(task_dir, name);
	if (!c->name || !c->dir)
		return drv_fail(reason, cap, "out of memory");
	const json_t *ess = json_object_get(cdef, "essential");
	c->essential = !json_is_false(ess);
	c->stop_timeout = drv_stop_timeout(cdef, default_stop);

	const json_t *ovr = drv_container_override(task, name);
	size_t argc = 0;
	if (strv_from_json(json_object_get(cdef, "entryPoint"), &c->argv, &argc, "entryPoint", name,
	                   reason, cap) < 0)
		return -1;
	if (strv_from_json(drv_command(ovr, cdef), &c->argv, &argc, "command", name, reason, cap) <
	    0)
		return -1;
	if (argc == 0)
		return drv_fail(
		    reason, cap,
		    "CannotStartContainerError: container %s has no entryPoint or command: "
		    "the process driver runs commands, not images",
		    name);

	json_t *env = json_object();
	if (!env)
		return drv_fail(reason, cap, "out of memory");
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	int rc = -1;
	json_t *mine = NULL;
	if (drv_env_set(env, "PATH", DEFAULT_PATH, reason, cap) < 0 ||
	    drv_env_set(env, "HOSTNAME", host, reason, cap) < 0 ||
	    drv_env_set(env, "HOME", c->dir, reason, cap) < 0 ||
	    env_layer(env, json_object_get(cdef, "environment"), "the definition's", reason, cap) <
	        0 ||
	    env_layer(env, json_object_get(ovr, "environment"), "the override's", reason, cap) <
	        0 ||
	    env_ports(env, task, cdef, name, reason, cap) < 0)
		goto out;
	const char *k;
	json_t *v;
	mine = sched_driver_env_for(hooks_env, name);
	if (!mine) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	json_object_foreach(mine, k, v)
	{
		if (!drv_plain_string(v)) {
			drv_fail(reason, cap, "task environment variable %s is not a string", k);
			goto out;
		}
		if (drv_env_set(env, k, json_string_value(v), reason, cap) < 0)
			goto out;
	}
	size_t n = json_object_size(env), i = 0;
	c->envp = calloc(n + 1, sizeof(char *));
	if (!c->envp) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	json_object_foreach(env, k, v)
	{
		const char *s = json_string_value(v);
		size_t len = strlen(k) + strlen(s) + 2;
		c->envp[i] = malloc(len);
		if (!c->envp[i] || snprintf(c->envp[i], len, "%s=%s", k, s) < 0) {
			drv_fail(reason, cap, "out of memory");
			goto out;
		}
		i++;
	}
	if (resolve_exec(c, json_string_value(json_object_get(env, "PATH")), reason, cap) < 0)
		goto out;
	rc = 0;
out:
	json_decref(mine);
	json_decref(env);
	if (rc < 0)
		return -1;

	const char *wd = json_string_value(json_object_get(cdef, "workingDirectory"));
	if (wd && *wd && wd[0] != '/')
		return drv_fail(reason, cap,
		                "container %s: workingDirectory must be an absolute path", name);
	c->cwd = strdup(wd && *wd ? wd : c->dir);
	if (!c->cwd)
		return drv_fail(reason, cap, "out of memory");

	/* Hard memory limit: the container's (override first), else the task's. */
	const json_t *tov = json_object_get(task, "overrides");
	long mem = drv_num(json_object_get(ovr, "memory"));
	if (mem <= 0)
		mem = drv_num(json_object_get(cdef, "memory"));
	if (mem <= 0)
		mem = drv_num(json_object_get(tov, "memory"));
	if (mem <= 0)
		mem = drv_num(json_object_get(taskdef, "memory"));
	if (mem > 0)
		c->mem_limit = (rlim_t)mem * 1024 * 1024;
	long cpu = drv_num(json_object_get(ovr, "cpu"));
	if (cpu <= 0)
		cpu = drv_num(json_object_get(cdef, "cpu"));
	c->nice = pcspec_nice_for_cpu(cpu > INT_MAX ? INT_MAX : (int)cpu);

	const char *user = json_string_value(json_object_get(cdef, "user"));
	if (user && *user && resolve_user(c, user, reason, cap) < 0)
		return -1;
	const json_t *hc = json_object_get(cdef, "healthCheck");
	if (json_is_object(hc))
		c->health_check = json_incref((json_t *)hc);
	return 0;
}

static void spec_clear(struct pcspec *c)
{
	free(c->name);
	free(c->path);
	free(c->dir);
	free(c->cwd);
	for (size_t i = 0; c->argv && c->argv[i]; i++)
		free(c->argv[i]);
	free(c->argv);
	for (size_t i = 0; c->envp && c->envp[i]; i++)
		free(c->envp[i]);
	free(c->envp);
	json_decref(c->health_check);
}

void pcspec_free(struct pcspec *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		spec_clear(&v[i]);
	free(v);
}

int pcspec_build(const json_t *task, const json_t *taskdef, const json_t *env, const char *task_dir,
                 int default_stop_timeout, struct pcspec **out, size_t *n_out, char *reason,
                 size_t reason_cap)
{
	*out = NULL;
	*n_out = 0;
	const json_t *defs = json_object_get(taskdef, "containerDefinitions");
	size_t n = json_array_size(defs);
	if (!json_is_array(defs) || n == 0)
		return drv_fail(reason, reason_cap,
		                "the task definition has no containerDefinitions");
	if (env && !json_is_object(env))
		return drv_fail(reason, reason_cap, "the task environment is not an object");
	struct pcspec *v = calloc(n, sizeof(*v));
	if (!v)
		return drv_fail(reason, reason_cap, "out of memory");
	json_t *empty = env ? NULL : json_object();
	for (size_t i = 0; i < n; i++) {
		if (build_one(task, taskdef, json_array_get(defs, i), env ? env : empty, task_dir,
		              default_stop_timeout, &v[i], reason, reason_cap) < 0) {
			json_decref(empty);
			pcspec_free(v, n);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j].name, v[i].name) == 0) {
				drv_fail(reason, reason_cap, "two containers are named %s",
				         v[i].name);
				json_decref(empty);
				pcspec_free(v, n);
				return -1;
			}
	}
	json_decref(empty);
	bool any_essential = false;
	for (size_t i = 0; i < n; i++)
		any_essential |= v[i].essential;
	if (!any_essential) {
		pcspec_free(v, n);
		return drv_fail(reason, reason_cap, "the task has no essential container");
	}
	*out = v;
	*n_out = n;
	return 0;
}
