/*
 * local_instance.c - the gateway's own host as a container instance, as the
 * ECS agent registers the host it runs on.
 *
 * On ECS, a cluster has somewhere to run tasks because an agent on each host
 * registers that host at start. A gateway whose driver runs tasks on its own
 * machine is that agent: at start it makes sure the cluster exists and that
 * one container instance stands for the machine in it, so RunTask works on
 * a fresh store without a RegisterContainerInstance call first.
 *
 * One container instance per store and host, across restarts: the host is
 * named by an ec2InstanceId made once ("i-" and 17 random hex digits, EC2's
 * shape) and kept in the store's meta table, and registration already
 * updates the ACTIVE or DRAINING instance with that ec2InstanceId in place
 * (instance.c). The id belongs to the store rather than to the machine
 * (/etc/machine-id, the host name): the tasks, their ports and the instance
 * all live in the store, and a store copied elsewhere carries its state with
 * it. The host's measurements come from the caller: the scheduler knows
 * nothing host-specific.
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <string.h>

#define LOCAL_HOST_KEY "sched.local_host_id"
#define LOCAL_HOST_HEX 17 /* as EC2's i-0123456789abcdef0 */

static bool host_id_ok(const char *v)
{
	return strlen(v) == 2 + LOCAL_HOST_HEX && strncmp(v, "i-", 2) == 0 &&
	       strspn(v + 2, "0123456789abcdef") == LOCAL_HOST_HEX;
}

int sched_local_host_id(struct sched *s, char *out, size_t cap, struct sched_error *err)
{
	sched_clear_error(err);
	if (!s || !out || cap < 3 + LOCAL_HOST_HEX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "no room for the local host's id");
	struct store_error se;
	int rc = store_meta_get(s->store, LOCAL_HOST_KEY, out, cap, NULL, &se);
	if (rc == STORE_OK) {
		/* Written only here; anything else was edited by hand, and
		 * registering under it could merge with another host. */
		if (!host_id_ok(out))
			return sched_fail(err, SCHED_ERR_SERVER,
			                  "the store's %s is not an id this gateway made",
			                  LOCAL_HOST_KEY);
		return SCHED_OK;
	}
	if (rc != STORE_ERR_NOT_FOUND)
		return sched_fail_store(err, &se, "reading the local host's id");
	char hex[LOCAL_HOST_HEX + 1];
	sched_random_hex(s, hex, LOCAL_HOST_HEX);
	snprintf(out, cap, "i-%s", hex);
	if (store_meta_set(s->store, LOCAL_HOST_KEY, out, &se) != STORE_OK)
		return sched_fail_store(err, &se, "saving the local host's id");
	return SCHED_OK;
}

int sched_local_instance_ensure(struct sched *s, const char *cluster,
                                const struct sched_local_host *host, json_t **instance_out,
                                bool *created_out, struct sched_error *err)
{
	sched_clear_error(err);
	*instance_out = NULL;
	if (created_out)
		*created_out = false;
	if (!s || !host)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "no host to register");
	/* Checked before the cluster is made: a host with nothing to offer
	 * leaves no trace. Registration checks the rest (the upper bounds). */
	if (host->cpu <= 0 || host->memory <= 0)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "the host offers no CPU or no memory (%d units, %d MiB)",
		                  host->cpu, host->memory);
	char id[3 + LOCAL_HOST_HEX];
	int rc = sched_local_host_id(s, id, sizeof(id), err);
	if (rc != SCHED_OK)
		return rc;

	/* The cluster first, as CreateCluster would (an INACTIVE one becomes
	 * ACTIVE again): the configuration names it, so it must be there. */
	bool found = false;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, o;
	rc = sched_cluster_ensure(s, cluster, NULL, &cl, err);
	if (rc == SCHED_OK) {
		rc = sched_instance_find_ec2(s, &cl, id, &o, &found, err);
		if (rc == SCHED_OK)
			sched_obj_free(&o);
		sched_obj_free(&cl);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK)
		return rc;

	/* The gateway registers before its listener and ticker start, so
	 * nothing else registers or deregisters between the look and this. */
	struct sched_instance_spec spec = {
	    .cluster = cluster,
	    .ec2_instance_id = id,
	    .cpu = host->cpu,
	    .memory = host->memory,
	    .reserved_ports = host->reserved_ports,
	    .attributes = host->attributes,
	    .version_info = host->version_info,
	};
	rc = sched_instance_register(s, &spec, instance_out, err);
	if (rc == SCHED_OK && created_out)
		*created_out = !found;
	return rc;
}
