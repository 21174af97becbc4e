/*
 * placement.c - which container instance a task goes to, as ECS decides it.
 *
 * Placement runs in three stages for each task, the way ECS documents it:
 *
 *   1. Filter: an instance is a candidate when it is ACTIVE, satisfies every
 *      constraint (memberOf expressions in the cluster query language,
 *      distinctInstance: no other live task of the group on it), and has the
 *      CPU, memory and host ports the task needs left. Each refused instance
 *      keeps the reason ECS gives ("RESOURCE:MEMORY", "MemberOf placement
 *      constraint unsatisfied", ...), which is what RunTask's failures list.
 *   2. Strategies, in the order given, each narrowing the candidates: binpack
 *      keeps the instances with the least of cpu or memory left, spread keeps
 *      those whose value of the field (instanceId, or any attribute) carries
 *      the fewest tasks of the group, random keeps one at random (from the
 *      scheduler's injected randomness).
 *   3. Of what is left, the instance registered first.
 *
 * Host ports: static hostPorts must be free on the instance; dynamic ones
 * (hostPort 0) are the lowest free ports of the scheduler's dynamic range.
 * Ports are counted per protocol (tcp and udp are separate spaces), from the
 * instance's reserved ports and the bindings of every live task on it, so two
 * tasks never share a host port of one instance.
 *
 * memberOf expressions are the cluster query language (query.c).
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRATEGY_MAX   5
#define CONSTRAINT_MAX 10

static const char *inst_str(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

static const char *const SCHED_REASON_CPU = "RESOURCE:CPU";
static const char *const SCHED_REASON_MEMORY = "RESOURCE:MEMORY";
static const char *const SCHED_REASON_PORTS = "RESOURCE:PORTS";
static const char *const SCHED_REASON_MEMBER_OF = "MemberOf placement constraint unsatisfied";
static const char *const SCHED_REASON_DISTINCT =
    "DistinctInstance placement constraint unsatisfied";
static const char *const SCHED_REASON_INACTIVE = "INSTANCE_NOT_ACTIVE";

/* --- checking a request's strategies and constraints -------------------- */

static bool spread_field_ok(const char *f)
{
	return strcasecmp(f, "instanceId") == 0 || strcasecmp(f, "host") == 0 ||
	       (strncmp(f, "attribute:", 10) == 0 && f[10] != '\0');
}

int sched_placement_check(const json_t *strategy, const json_t *constraints,
                          struct sched_error *err)
{
	if (strategy && !json_is_null(strategy)) {
		if (!json_is_array(strategy) || json_array_size(strategy) > STRATEGY_MAX)
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "placementStrategy must be a list of at most %d strategies",
			    STRATEGY_MAX);
		size_t i;
		const json_t *st;
		json_array_foreach(strategy, i, st)
		{
			const char *type = inst_str(st, "type");
			const json_t *fj = json_object_get(st, "field");
			const char *field = json_string_value(fj);
			if (fj && !field)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementStrategy[%zu].field must be a string",
				                  i);
			if (!type)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementStrategy[%zu].type is required", i);
			if (strcmp(type, "random") == 0) {
				if (field && field[0])
					return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
					                  "The random placement strategy takes no "
					                  "field");
			} else if (strcmp(type, "binpack") == 0) {
				if (!field || (strcasecmp(field, "cpu") != 0 &&
				               strcasecmp(field, "memory") != 0))
					return sched_fail(
					    err, SCHED_ERR_INVALID_PARAMETER,
					    "The binpack placement strategy needs the "
					    "field cpu or memory");
			} else if (strcmp(type, "spread") == 0) {
				if (!field || !spread_field_ok(field))
					return sched_fail(
					    err, SCHED_ERR_INVALID_PARAMETER,
					    "The spread placement strategy needs the field "
					    "instanceId, host or attribute:<name>");
			} else {
				return sched_fail(
				    err, SCHED_ERR_INVALID_PARAMETER,
				    "Unknown placement strategy type %s (random, spread "
				    "or binpack)",
				    type);
			}
		}
	}
	if (constraints && !json_is_null(constraints)) {
		if (!json_is_array(constraints) || json_array_size(constraints) > CONSTRAINT_MAX)
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "placementConstraints must be a list of at most %d "
			                  "constraints",
			                  CONSTRAINT_MAX);
		size_t i;
		const json_t *c;
		json_array_foreach(constraints, i, c)
		{
			const char *type = inst_str(c, "type");
			const json_t *ej = json_object_get(c, "expression");
			const char *expr = json_string_value(ej);
			if (ej && !expr)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementConstraints[%zu].expression must be a "
				                  "string",
				                  i);
			if (!type)
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "placementConstraints[%zu].type is required", i);
			if (strcmp(type, "distinctInstance") == 0) {
				if (expr && expr[0])
					return sched_fail(
					    err, SCHED_ERR_INVALID_PARAMETER,
					    "The distinctInstance constraint takes no "
					    "expression");
			} else if (strcmp(type, "memberOf") == 0) {
				int rc = sched_expr_eval(expr, NULL, NULL, NULL, err);
				if (rc != SCHED_OK)
					return rc;
			} else {
				return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
				                  "Unknown placement constraint type %s "
				                  "(distinctInstance or memberOf)",
				                  type);
			}
		}
	}
	return SCHED_OK;
}

/* --- ports --------------------------------------------------------------- */

int sched_ports_fit(struct sched *s, const struct sched_usage *u, const struct sched_need *need,
                    int *host_ports)
{
	int next_dyn = s->port_min;
	for (size_t i = 0; i < need->n_ports; i++) {
		const struct sched_port *pt = &need->ports[i];
		int hp = pt->host_port;
		if (hp > 0) {
			if (sched_usage_port_taken(u, hp, pt->udp))
				return -1;
			for (size_t j = 0; j < i; j++)
				if (host_ports[j] == hp && need->ports[j].udp == pt->udp)
					return -1;
			host_ports[i] = hp;
			continue;
		}
		/* dynamic: the lowest free port of the range not taken by this task
		 * already (static ports of this task come later in the list too) */
		for (;;) {
			if (next_dyn > s->port_max)
				return -1;
			bool taken = sched_usage_port_taken(u, next_dyn, pt->udp);
			for (size_t j = 0; !taken && j < need->n_ports; j++)
				if (need->ports[j].host_port == next_dyn)
					taken = true;
			for (size_t j = 0; !taken && j < i; j++)
				if (host_ports[j] == next_dyn)
					taken = true;
			if (!taken)
				break;
			next_dyn++;
		}
		host_ports[i] = next_dyn++;
	}
	return 0;
}

/* --- placing one task ---------------------------------------------------- */

static bool task_live(const struct sched_obj *t)
{
	return strcmp(t->row.status, "STOPPED") != 0 && t->row.grp &&
	       strcmp(t->row.grp, "STOPPED") != 0;
}

static bool task_in_group(const struct sched_obj *t, const char *group)
{
	const char *g = inst_str(t->doc, "group");
	return g && group && strcmp(g, group) == 0;
}

static uint64_t fnv1a(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return h;
}

/* How many live tasks of group each instance runs: one pass over the tasks,
 * instances found by ARN through a small open-addressing table. */
static int group_counts(const struct sched_objs *insts, const struct sched_objs *tasks,
                        const char *group, size_t *count)
{
	size_t n = insts->n, cap = 16;
	while (cap < n * 2)
		cap *= 2;
	int *slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return -1;
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)fnv1a(insts->v[i].row.arn) & (cap - 1);
		while (slot[h] >= 0)
			h = (h + 1) & (cap - 1);
		slot[h] = (int)i;
	}
	for (size_t t = 0; tasks && t < tasks->n; t++) {
		const struct sched_obj *o = &tasks->v[t];
		if (!o->row.parent || !o->row.parent[0] || !task_live(o) ||
		    !task_in_group(o, group))
			continue;
		size_t h = (size_t)fnv1a(o->row.parent) & (cap - 1);
		while (slot[h] >= 0) {
			if (strcmp(insts->v[slot[h]].row.arn, o->row.parent) == 0) {
				count[slot[h]]++;
				break;
			}
			h = (h + 1) & (cap - 1);
		}
	}
	free(slot);
	return 0;
}

/* The value of a spread field on an instance ("" when it has none). */
static const char *field_value(const struct sched_obj *inst, const char *field)
{
	if (strcasecmp(field, "instanceId") == 0 || strcasecmp(field, "host") == 0)
		return inst->row.arn;
	const char *name = field + 10; /* after "attribute:" */
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(inst->doc, "attributes"), i, a)
	{
		const char *an = inst_str(a, "name");
		if (an && strcmp(an, name) == 0) {
			const char *v = inst_str(a, "value");
			return v ? v : "";
		}
	}
	if (strcmp(name, "ecs.availability-zone") == 0) {
		const char *az = inst_str(inst->doc, "availabilityZone");
		if (az)
			return az;
	}
	return "";
}

/* For each candidate, the tasks of the group on every instance that has the
 * same value of field: values summed once through a hash table. */
static int spread_counts(const struct sched_objs *insts, const size_t *on, const char *field,
                         const int *cand, size_t nc, size_t *count)
{
	size_t n = insts->n, cap = 16;
	while (cap < n * 2)
		cap *= 2;
	const char **vals = malloc(n * sizeof(*vals));
	int *slot = malloc(cap * sizeof(*slot)); /* an instance index with that value */
	size_t *sum = calloc(cap, sizeof(*sum));
	if (!vals || !slot || !sum) {
		free(vals);
		free(slot);
		free(sum);
		return -1;
	}
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (size_t i = 0; i < n; i++) {
		vals[i] = field_value(&insts->v[i], field);
		size_t h = (size_t)fnv1a(vals[i]) & (cap - 1);
		while (slot[h] >= 0 && strcmp(vals[slot[h]], vals[i]) != 0)
			h = (h + 1) & (cap - 1);
		if (slot[h] < 0)
			slot[h] = (int)i;
		sum[h] += on[i];
	}
	for (size_t j = 0; j < nc; j++) {
		const char *v = vals[cand[j]];
		size_t h = (size_t)fnv1a(v) & (cap - 1);
		while (slot[h] >= 0 && strcmp(vals[slot[h]], v) != 0)
			h = (h + 1) & (cap - 1);
		count[j] = sum[h];
	}
	free(vals);
	free(slot);
	free(sum);
	return 0;
}

int sched_place(struct sched *s, const struct sched_objs *insts, struct sched_usage *usages,
                const struct sched_objs *tasks, const char *group, const struct sched_need *need,
                const json_t *strategy, const json_t *constraints, int *chosen,
                const char **reason_at, struct sched_error *err)
{
	*chosen = -1;
	size_t n = insts->n;
	if (n == 0)
		return SCHED_OK;
	int *cand = malloc(n * sizeof(*cand));
	int *ports = malloc((need->n_ports ? need->n_ports : 1) * sizeof(*ports));
	size_t *on = calloc(n, sizeof(*on));
	size_t *count = calloc(n, sizeof(*count));
	if (!cand || !ports || !on || !count || group_counts(insts, tasks, group, on) != 0) {
		free(cand);
		free(ports);
		free(on);
		free(count);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	size_t nc = 0;
	int rc = SCHED_OK;
	for (size_t i = 0; i < n; i++) {
		const struct sched_obj *inst = &insts->v[i];
		const struct sched_usage *u = &usages[i];
		const char *reason = NULL;
		const char *st = inst_str(inst->doc, "status");
		if (strcmp(st ? st : inst->row.status, "ACTIVE") != 0)
			reason = SCHED_REASON_INACTIVE;
		size_t k;
		const json_t *c;
		json_array_foreach(constraints, k, c)
		{
			if (reason)
				break;
			const char *type = inst_str(c, "type");
			if (type && strcmp(type, "memberOf") == 0) {
				bool ok = false;
				rc = sched_expr_eval(inst_str(c, "expression"), inst, tasks, &ok,
				                     err);
				if (rc != SCHED_OK)
					goto out;
				if (!ok)
					reason = SCHED_REASON_MEMBER_OF;
			} else if (type && strcmp(type, "distinctInstance") == 0) {
				if (on[i] > 0)
					reason = SCHED_REASON_DISTINCT;
			}
		}
		if (!reason && u->cpu_total - u->cpu_used < need->cpu)
			reason = SCHED_REASON_CPU;
		if (!reason && u->mem_total - u->mem_used < need->memory)
			reason = SCHED_REASON_MEMORY;
		if (!reason && sched_ports_fit(s, u, need, ports) != 0)
			reason = SCHED_REASON_PORTS;
		reason_at[i] = reason;
		if (!reason)
			cand[nc++] = (int)i;
	}
	size_t k;
	const json_t *stj;
	json_array_foreach(strategy, k, stj)
	{
		if (nc <= 1)
			break;
		const char *type = inst_str(stj, "type");
		const char *field = inst_str(stj, "field");
		if (!type)
			continue;
		if (strcmp(type, "random") == 0) {
			size_t pick = (size_t)(sched_random_u64(s) % nc);
			cand[0] = cand[pick];
			nc = 1;
		} else if (strcmp(type, "binpack") == 0 && field) {
			bool cpu = strcasecmp(field, "cpu") == 0;
			long best = 0;
			size_t m = 0;
			for (size_t j = 0; j < nc; j++) {
				const struct sched_usage *u = &usages[cand[j]];
				long left = cpu ? (long)u->cpu_total - u->cpu_used
				                : (long)u->mem_total - u->mem_used;
				if (j == 0 || left < best) {
					best = left;
					m = 0;
				}
				if (left == best)
					cand[m++] = cand[j];
			}
			nc = m;
		} else if (strcmp(type, "spread") == 0 && field) {
			/* tasks of the group per value of the field, over every
			 * ACTIVE instance (not only the candidates) */
			bool per_instance =
			    strcasecmp(field, "instanceId") == 0 || strcasecmp(field, "host") == 0;
			for (size_t j = 0; j < nc; j++) {
				if (per_instance) {
					count[j] = on[cand[j]];
					continue;
				}
			}
			if (!per_instance &&
			    spread_counts(insts, on, field, cand, nc, count) != 0) {
				rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
				goto out;
			}
			size_t best = 0, m = 0;
			for (size_t j = 0; j < nc; j++)
				if (j == 0 || count[j] < best)
					best = count[j];
			for (size_t j = 0; j < nc; j++)
				if (count[j] == best)
					cand[m++] = cand[j];
			nc = m;
		}
	}
	if (nc > 0) {
		*chosen = cand[0];
		reason_at[cand[0]] = NULL;
	}
out:
	free(cand);
	free(ports);
	free(on);
	free(count);
	return rc;
}
