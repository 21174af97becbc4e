/*
 * usage.c - what a task asks of an instance, and what an instance has left.
 *
 * A task's need comes from its task definition after the RunTask overrides:
 * the task-level cpu and memory when the definition has them ("256", "1 vCPU",
 * "512", "1 GB"), else the sum over its containers (cpu; memoryReservation,
 * else memory, as the ECS agent reserves), and the host ports of its port
 * mappings: in bridge mode hostPort 0 or absent asks for a dynamic port, in
 * host and awsvpc mode the host port is the container port, and "none" has no
 * ports at all.
 *
 * An instance's usage is never stored apart from the tasks: it is its
 * registeredResources (CPU, MEMORY, the PORTS and PORTS_UDP the host keeps for
 * itself) less what every task on it that is not STOPPED holds (the task's
 * cpu and memory, the host ports of its containers' networkBindings). The
 * instance document's remainingResources and task counts are refreshed from
 * that on every write of a task (sched_instance_refresh), in the same store
 * transaction as the task.
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "256", "1 vCPU", "0.5 vcpu" -> CPU units; "512", "1 GB", "2gb" -> MiB.
 * -1 when malformed. */
static int parse_size(const char *v, const char *unit, int per_unit)
{
	if (!v)
		return -1;
	char *end = NULL;
	double d = strtod(v, &end);
	if (end == v || !isfinite(d) || d < 0 || d > 1e7)
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '\0')
		return (int)d;
	if (strcasecmp(end, unit) == 0)
		return (int)lround(d * per_unit);
	return -1;
}

static const json_t *container_override(const json_t *overrides, const char *name)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(overrides, "containerOverrides"), i, c)
	{
		const char *n = sched_jstr(c, "name");
		if (n && name && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

int sched_need_of(const json_t *taskdef, const json_t *overrides, struct sched_need *out,
                  struct sched_error *err)
{
	memset(out, 0, sizeof(*out));
	const json_t *defs = json_object_get(taskdef, "containerDefinitions");
	if (!json_is_array(defs))
		return sched_fail(err, SCHED_ERR_SERVER, "task definition without containers");
	const char *mode = sched_jstr(taskdef, "networkMode");
	bool bridge = !mode || strcmp(mode, "bridge") == 0;
	bool none = mode && strcmp(mode, "none") == 0;
	int cpu_sum = 0, mem_sum = 0;
	size_t n_ports = 0;
	size_t i;
	const json_t *d;
	json_array_foreach(defs, i, d)
	{
		n_ports += json_array_size(json_object_get(d, "portMappings"));
	}
	out->ports = calloc(n_ports ? n_ports : 1, sizeof(*out->ports));
	if (!out->ports)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	json_array_foreach(defs, i, d)
	{
		const char *name = sched_jstr(d, "name");
		const json_t *co = container_override(overrides, name);
		int cpu = sched_jint(co, "cpu", sched_jint(d, "cpu", 0));
		int mem = sched_jint(d, "memory", 0);
		int res = sched_jint(d, "memoryReservation", 0);
		mem = sched_jint(co, "memory", mem);
		res = sched_jint(co, "memoryReservation", res);
		if (cpu < 0 || mem < 0 || res < 0) {
			sched_need_free(out);
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "container %s: cpu and memory cannot be negative",
			                  name ? name : "");
		}
		cpu_sum += cpu;
		mem_sum += res > 0 ? res : mem;
		if (none)
			continue;
		size_t k;
		const json_t *pm;
		json_array_foreach(json_object_get(d, "portMappings"), k, pm)
		{
			struct sched_port *p = &out->ports[out->n_ports];
			p->container_port = sched_jint(pm, "containerPort", 0);
			p->host_port = bridge ? sched_jint(pm, "hostPort", 0) : p->container_port;
			const char *proto = sched_jstr(pm, "protocol");
			p->udp = proto && strcasecmp(proto, "udp") == 0;
			p->container = name;
			if (p->container_port <= 0 || p->container_port > 65535 ||
			    p->host_port < 0 || p->host_port > 65535) {
				sched_need_free(out);
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "container %s: port mappings must be within "
				                  "1-65535",
				                  name ? name : "");
			}
			out->n_ports++;
		}
	}
	const char *tcpu = sched_jstr(overrides, "cpu") ? sched_jstr(overrides, "cpu")
	                                                : sched_jstr(taskdef, "cpu");
	const char *tmem = sched_jstr(overrides, "memory") ? sched_jstr(overrides, "memory")
	                                                   : sched_jstr(taskdef, "memory");
	out->cpu = cpu_sum;
	out->memory = mem_sum;
	if (tcpu) {
		int v = parse_size(tcpu, "vcpu", 1024);
		if (v < 0) {
			sched_need_free(out);
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "cpu must be CPU units (\"256\") or vCPUs (\"1 vCPU\")");
		}
		out->cpu = v;
	}
	if (tmem) {
		int v = parse_size(tmem, "gb", 1024);
		if (v < 0) {
			sched_need_free(out);
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "memory must be MiB (\"512\") or GB (\"1 GB\")");
		}
		out->memory = v;
	}
	return SCHED_OK;
}

void sched_need_free(struct sched_need *n)
{
	if (!n)
		return;
	free(n->ports);
	n->ports = NULL;
	n->n_ports = 0;
}

/* --- usage of one instance ---------------------------------------------- */

int sched_usage_take_port(struct sched_usage *u, int port, bool udp)
{
	if (u->n_ports == u->cap_ports) {
		size_t cap = u->cap_ports ? u->cap_ports * 2 : 16;
		int *p = realloc(u->ports, cap * sizeof(*p));
		if (!p)
			return -1;
		u->ports = p;
		u->cap_ports = cap;
	}
	u->ports[u->n_ports++] = udp ? -port : port;
	return 0;
}

void sched_host_ports_take(struct sched_host_ports *h, int port, bool udp)
{
	if (port <= 0 || port > 65535)
		return;
	unsigned char *bits = udp ? h->udp : h->tcp;
	bits[port / 8] |= (unsigned char)(1u << (port % 8));
}

bool sched_usage_port_taken(const struct sched_usage *u, int port, bool udp)
{
	if (u->host && port > 0 && port <= 65535) {
		const unsigned char *bits = udp ? u->host->udp : u->host->tcp;
		if (bits[port / 8] & (1u << (port % 8)))
			return true;
	}
	int want = udp ? -port : port;
	for (size_t i = 0; i < u->n_ports; i++)
		if (u->ports[i] == want)
			return true;
	return false;
}

void sched_usage_free(struct sched_usage *u)
{
	if (!u)
		return;
	free(u->ports);
	memset(u, 0, sizeof(*u));
}

static const json_t *resource(const json_t *list, const char *name)
{
	size_t i;
	const json_t *r;
	json_array_foreach(list, i, r)
	{
		const char *n = sched_jstr(r, "name");
		if (n && strcmp(n, name) == 0)
			return r;
	}
	return NULL;
}

static int take_string_ports(struct sched_usage *u, const json_t *res, bool udp)
{
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(res, "stringSetValue"), i, p)
	{
		const char *v = json_string_value(p);
		char *end = NULL;
		long port = v ? strtol(v, &end, 10) : 0;
		if (!v || *end != '\0' || port <= 0 || port > 65535)
			continue;
		if (sched_usage_take_port(u, (int)port, udp) != 0)
			return -1;
	}
	return 0;
}

static int int_of_string(const json_t *o, const char *key)
{
	const char *v = sched_jstr(o, key);
	if (!v)
		return sched_jint(o, key, 0);
	return atoi(v);
}

int sched_usage_of(struct sched *s, const struct sched_obj *inst, const struct sched_objs *tasks,
                   struct sched_usage *u, struct sched_error *err)
{
	(void)s;
	memset(u, 0, sizeof(*u));
	const json_t *reg = json_object_get(inst->doc, "registeredResources");
	u->cpu_total = sched_jint(resource(reg, "CPU"), "integerValue", 0);
	u->mem_total = sched_jint(resource(reg, "MEMORY"), "integerValue", 0);
	if (take_string_ports(u, resource(reg, "PORTS"), false) != 0 ||
	    take_string_ports(u, resource(reg, "PORTS_UDP"), true) != 0)
		goto oom;
	for (size_t i = 0; tasks && i < tasks->n; i++) {
		const struct sched_obj *t = &tasks->v[i];
		if (t->row.kind != STORE_SCHED_TASK || !t->row.parent ||
		    strcmp(t->row.parent, inst->row.arn) != 0 ||
		    strcmp(t->row.status, "STOPPED") == 0)
			continue;
		u->cpu_used += int_of_string(t->doc, "cpu");
		u->mem_used += int_of_string(t->doc, "memory");
		const char *last = t->row.status;
		if (strcmp(last, "RUNNING") == 0)
			u->running++;
		else if (strcmp(last, "PENDING") == 0 || strcmp(last, "PROVISIONING") == 0)
			u->pending++;
		size_t c;
		const json_t *cont;
		json_array_foreach(json_object_get(t->doc, "containers"), c, cont)
		{
			size_t b;
			const json_t *nb;
			json_array_foreach(json_object_get(cont, "networkBindings"), b, nb)
			{
				int hp = sched_jint(nb, "hostPort", 0);
				const char *proto = sched_jstr(nb, "protocol");
				if (hp > 0 && sched_usage_take_port(
				                  u, hp, proto && strcmp(proto, "udp") == 0) != 0)
					goto oom;
			}
		}
	}
	return SCHED_OK;
oom:
	sched_usage_free(u);
	return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
}

static json_t *ports_set(const struct sched_usage *u, bool udp)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < u->n_ports; i++) {
		int p = u->ports[i];
		if ((p < 0) != udp)
			continue;
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", p < 0 ? -p : p);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

int sched_instance_refresh(struct sched *s, struct sched_obj *inst, const struct sched_objs *tasks,
                           struct sched_error *err)
{
	struct sched_usage u;
	int rc = sched_usage_of(s, inst, tasks, &u, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *rem = json_pack(
	    "[{s:s,s:s,s:i,s:f,s:i},{s:s,s:s,s:i,s:f,s:i},"
	    "{s:s,s:s,s:i,s:f,s:i,s:o},{s:s,s:s,s:i,s:f,s:i,s:o}]",
	    "name", "CPU", "type", "INTEGER", "integerValue", u.cpu_total - u.cpu_used,
	    "doubleValue", 0.0, "longValue", 0, "name", "MEMORY", "type", "INTEGER", "integerValue",
	    u.mem_total - u.mem_used, "doubleValue", 0.0, "longValue", 0, "name", "PORTS", "type",
	    "STRINGSET", "integerValue", 0, "doubleValue", 0.0, "longValue", 0, "stringSetValue",
	    ports_set(&u, false), "name", "PORTS_UDP", "type", "STRINGSET", "integerValue", 0,
	    "doubleValue", 0.0, "longValue", 0, "stringSetValue", ports_set(&u, true));
	if (!rem) {
		sched_usage_free(&u);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	json_object_set_new(inst->doc, "remainingResources", rem);
	json_object_set_new(inst->doc, "runningTasksCount", json_integer(u.running));
	json_object_set_new(inst->doc, "pendingTasksCount", json_integer(u.pending));
	sched_usage_free(&u);
	return SCHED_OK;
}
