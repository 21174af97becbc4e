/*
 * instance.c - container instances: the hosts a cluster places tasks on.
 * Register (resources, attributes with ECS's defaults, the optional EC2
 * identity document and version info), deregister (force stops the tasks
 * still there), ACTIVE/DRAINING, list (status and a cluster query language
 * filter) and describe.
 *
 * An instance's document is ECS's ContainerInstance. registeredResources is
 * what the host offers (CPU, MEMORY, and as PORTS / PORTS_UDP the host ports
 * it keeps for itself); remainingResources and the running/pending counts
 * are never trusted from the document when shown: describe works them out
 * again from the tasks on the instance (sched_instance_refresh, usage.c), the
 * same computation every task write commits together with the task.
 *
 * Registering a host whose ec2InstanceId is already ACTIVE or DRAINING in
 * the cluster updates that container instance (resources, attributes,
 * version info) instead of adding a second one: a gateway or an agent that
 * registers its host again after a restart keeps one container instance and
 * the tasks on it. The identity document is EC2's unsigned JSON; taskgate
 * does not check a signature, so its instanceId, availabilityZone and
 * instanceType are defaults like attributes, trusted no more than the caller
 * allowed to call RegisterContainerInstance.
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define ATTR_NAME_MAX    128
#define ATTR_VALUE_MAX   128
#define CUSTOM_ATTRS_MAX 10
#define DESCRIBE_MAX     100
#define INSTANCE_ID_MAX  64
#define RESOURCE_MAX     (1 << 24) /* CPU units or MiB */
#define IDENTITY_DOC_MAX 8192

/* ECS agent's default reserved ports: SSH, Docker, and the agent itself. */
static const int default_reserved[] = {22, 2375, 2376, 51678, 51679};

/* ECS: names of letters, digits, - _ / \ . ; values also @ : and space. */
static bool attr_ok(const char *s, bool value)
{
	size_t n = strlen(s);
	if (n == 0 || n > (value ? ATTR_VALUE_MAX : ATTR_NAME_MAX))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_/\\.", *s) &&
		    !(value && strchr("@: ", *s)))
			return false;
	return true;
}

static bool ecs_attr(const char *name)
{
	return strncmp(name, "ecs.", 4) == 0 || strncmp(name, "com.amazonaws.ecs.", 18) == 0;
}

static int set_attr(json_t *attrs, const char *name, const char *value)
{
	size_t i;
	json_t *a;
	json_array_foreach(attrs, i, a)
	{
		if (strcmp(sched_jstr(a, "name"), name) == 0) {
			if (!value) {
				json_object_del(a, "value"); /* absent already is fine */
				return 0;
			}
			return json_object_set_new(a, "value", json_string(value));
		}
	}
	json_t *one = json_pack("{s:s}", "name", name);
	if (!one)
		return -1;
	if (value && json_object_set_new(one, "value", json_string(value)) != 0) {
		json_decref(one);
		return -1;
	}
	return json_array_append_new(attrs, one);
}

/* The caller's attributes checked, on top of the defaults. */
static int build_attrs(struct sched *s, const struct sched_instance_spec *spec,
                       const json_t *identity, json_t **out, struct sched_error *err)
{
	*out = NULL;
	const json_t *in = spec->attributes;
	if (in && !json_is_null(in) && (!json_is_array(in) || json_array_size(in) > 100))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "attributes must be a list of name/value pairs");
	struct utsname u;
	const char *arch = "x86_64";
	if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
		arch = "arm64";
	char az[80];
	snprintf(az, sizeof(az), "%sa", s->region);
	const char *id_az = sched_jstr(identity, "availabilityZone");
	const char *id_type = sched_jstr(identity, "instanceType");
	const char *id_ami = sched_jstr(identity, "imageId");
	json_t *attrs = json_array();
	if (!attrs)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	int w =
	    set_attr(attrs, "ecs.availability-zone", id_az && attr_ok(id_az, true) ? id_az : az) |
	    set_attr(attrs, "ecs.instance-type",
	             id_type && attr_ok(id_type, true) ? id_type : "taskgate.host") |
	    set_attr(attrs, "ecs.os-type", "linux") | set_attr(attrs, "ecs.os-family", "LINUX") |
	    set_attr(attrs, "ecs.cpu-architecture", arch);
	if (id_ami && attr_ok(id_ami, true))
		w |= set_attr(attrs, "ecs.ami-id", id_ami);
	if (w != 0) {
		json_decref(attrs);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	size_t i, custom = 0;
	const json_t *a;
	json_array_foreach(in, i, a)
	{
		const char *name = sched_jstr(a, "name");
		const json_t *v = json_object_get(a, "value");
		const char *value = json_string_value(v);
		const char *tt = sched_jstr(a, "targetType");
		if (!json_is_object(a) || !name || !attr_ok(name, false) ||
		    (v && !json_is_null(v) && (!value || !attr_ok(value, true))) ||
		    (tt && strcmp(tt, "container-instance") != 0)) {
			json_decref(attrs);
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "attributes[%zu]: a name of up to %d letters, numbers, "
			    "hyphens, underscores, slashes, backslashes or periods, and a "
			    "value of up to %d of those or @, : and space",
			    i, ATTR_NAME_MAX, ATTR_VALUE_MAX);
		}
		if (!ecs_attr(name) && ++custom > CUSTOM_ATTRS_MAX) {
			json_decref(attrs);
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "at most %d custom attributes are allowed on a container "
			                  "instance",
			                  CUSTOM_ATTRS_MAX);
		}
		if (set_attr(attrs, name, value) != 0) {
			json_decref(attrs);
			return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		}
	}
	*out = attrs;
	return SCHED_OK;
}

static int port_of(const json_t *p)
{
	if (json_is_integer(p))
		return json_integer_value(p) >= 1 && json_integer_value(p) <= 65535
		           ? (int)json_integer_value(p)
		           : -1;
	const char *s = json_string_value(p);
	if (!s || !s[0] || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return -1;
	int v = atoi(s);
	return v >= 1 && v <= 65535 ? v : -1;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static json_t *resource(const char *name, const char *type, long long v, json_t *set)
{
	json_t *r = json_pack("{s:s,s:s,s:f,s:I,s:I}", "name", name, "type", type, "doubleValue",
	                      0.0, "longValue", (json_int_t)0, "integerValue", (json_int_t)v);
	if (r && set)
		json_object_set_new(r, "stringSetValue", set);
	else
		json_decref(set);
	return r;
}

/* registeredResources from the spec: CPU, MEMORY, PORTS, PORTS_UDP. */
static int build_resources(const struct sched_instance_spec *spec, json_t **out,
                           struct sched_error *err)
{
	*out = NULL;
	if (spec->cpu <= 0 || spec->cpu > RESOURCE_MAX || spec->memory <= 0 ||
	    spec->memory > RESOURCE_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "totalResources: CPU and MEMORY must be positive integers (up to "
		                  "%d)",
		                  RESOURCE_MAX);
	const json_t *rp = spec->reserved_ports;
	if (rp && !json_is_null(rp) && (!json_is_array(rp) || json_array_size(rp) > 1000))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "totalResources PORTS must be a list of at most 1000 ports");
	size_t n = rp && json_is_array(rp) ? json_array_size(rp)
	                                   : sizeof(default_reserved) / sizeof(default_reserved[0]);
	int *ports = calloc(n ? n : 1, sizeof(*ports));
	if (!ports)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ports[i] =
		    rp && json_is_array(rp) ? port_of(json_array_get(rp, i)) : default_reserved[i];
		if (ports[i] < 0) {
			free(ports);
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "totalResources PORTS[%zu] must be a port number from 1 to "
			    "65535",
			    i);
		}
	}
	qsort(ports, n, sizeof(*ports), cmp_int);
	json_t *set = json_array();
	for (size_t i = 0; set && i < n; i++) {
		if (i > 0 && ports[i] == ports[i - 1])
			continue;
		char buf[8];
		snprintf(buf, sizeof(buf), "%d", ports[i]);
		if (json_array_append_new(set, json_string(buf)) != 0) {
			json_decref(set);
			set = NULL;
		}
	}
	free(ports);
	json_t *res = set ? json_array() : NULL;
	int w = res ? 0 : -1;
	if (w == 0)
		w = json_array_append_new(res, resource("CPU", "INTEGER", spec->cpu, NULL)) |
		    json_array_append_new(res, resource("MEMORY", "INTEGER", spec->memory, NULL)) |
		    json_array_append_new(res,
		                          resource("PORTS", "STRINGSET", 0, json_incref(set))) |
		    json_array_append_new(res, resource("PORTS_UDP", "STRINGSET", 0, json_array()));
	json_decref(set);
	if (w != 0 || json_array_size(res) != 4) {
		json_decref(res);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	*out = res;
	return SCHED_OK;
}

static int build_version_info(const json_t *in, json_t **out, struct sched_error *err)
{
	/* dockerVersion only when given: a host without a Docker engine (the
	 * process driver's) has none to report, and an empty string would
	 * read as an engine of unknown version */
	*out =
	    json_pack("{s:s,s:s}", "agentVersion", "taskgate-" TASKGATE_VERSION, "agentHash", "");
	if (!*out)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (!in || json_is_null(in))
		return SCHED_OK;
	static const char *const keys[] = {"agentVersion", "agentHash", "dockerVersion"};
	if (!json_is_object(in))
		goto bad;
	for (size_t i = 0; i < 3; i++) {
		const json_t *v = json_object_get(in, keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v) || json_string_length(v) > 256)
			goto bad;
		json_object_set_new(*out, keys[i], json_string(json_string_value(v)));
	}
	return SCHED_OK;
bad:
	json_decref(*out);
	*out = NULL;
	return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
	                  "versionInfo takes agentVersion, agentHash and dockerVersion strings");
}

static int parse_identity(const char *text, json_t **out, struct sched_error *err)
{
	*out = NULL;
	if (!text || !text[0])
		return SCHED_OK;
	json_error_t je;
	json_t *j = strlen(text) <= IDENTITY_DOC_MAX ? json_loads(text, 0, &je) : NULL;
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "instanceIdentityDocument must be EC2's instance identity document "
		    "(a JSON object)");
	}
	const char *id = sched_jstr(j, "instanceId");
	if (id && (strlen(id) > INSTANCE_ID_MAX || !attr_ok(id, false))) {
		json_decref(j);
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "instanceIdentityDocument: instanceId is not an EC2 instance id");
	}
	*out = j;
	return SCHED_OK;
}

/* The instance's id from a reference (id, or ARN in the long or old
 * format); NULL when the reference cannot name an instance of cluster cl. */
static const char *instance_id_of(struct sched *s, const struct sched_obj *cl, const char *ref)
{
	if (!ref || !ref[0])
		return NULL;
	const char *id = ref;
	if (strncmp(ref, "arn:", 4) == 0) {
		char prefix[128];
		int n = snprintf(prefix, sizeof(prefix), "arn:aws:ecs:%s:%s:container-instance/",
		                 s->region, s->account);
		if (n < 0 || (size_t)n >= sizeof(prefix) || strncmp(ref, prefix, (size_t)n) != 0)
			return NULL;
		id = ref + n;
		const char *slash = strchr(id, '/');
		if (slash) {
			const char *cname = sched_jstr(cl->doc, "clusterName");
			size_t cn = (size_t)(slash - id);
			if (!cname || strlen(cname) != cn || strncmp(id, cname, cn) != 0)
				return NULL;
			id = slash + 1;
		}
	}
	size_t n = strlen(id);
	if (n == 0 || n > INSTANCE_ID_MAX || strspn(id, "abcdefABCDEF0123456789-") != n)
		return NULL;
	return id;
}

int sched_instance_load(struct sched *s, const struct sched_obj *cl, const char *ref,
                        struct sched_obj *o, struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	const char *id = instance_id_of(s, cl, ref);
	if (!id)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "Container instance %s was not found in cluster %s.",
		                  ref ? ref : "(none)", cl->row.name);
	char rest[600];
	snprintf(rest, sizeof(rest), "%s/%s", cl->row.name, id);
	char *arn = sched_arn(s, "container-instance", rest);
	if (!arn)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	struct sched_error lerr;
	int rc = sched_obj_load(s, arn, o, SCHED_ERR_INVALID_PARAMETER, &lerr);
	free(arn);
	if (rc == SCHED_OK && (o->row.kind != STORE_SCHED_CONTAINER_INSTANCE ||
	                       strcmp(o->row.cluster, cl->row.arn) != 0)) {
		sched_obj_free(o);
		rc = SCHED_ERR_INVALID_PARAMETER;
	}
	if (rc == SCHED_ERR_INVALID_PARAMETER)
		return sched_fail(err, rc, "Container instance %s was not found in cluster %s.",
		                  ref, cl->row.name);
	if (rc != SCHED_OK && err)
		*err = lerr;
	return rc;
}

/* The instance as ECS shows it: remainingResources and counts from the
 * tasks on it (tasks: the cluster's live tasks, or NULL to read them). */
static int instance_view(struct sched *s, const struct sched_obj *inst,
                         const struct sched_objs *tasks, json_t **out, struct sched_error *err)
{
	*out = NULL;
	struct sched_objs own = {0};
	int rc = SCHED_OK;
	if (!tasks) {
		rc = sched_live_tasks(s, inst->row.cluster, &own, err);
		if (rc != SCHED_OK)
			return rc;
		tasks = &own;
	}
	struct sched_obj v = {.row = inst->row, .doc = json_deep_copy(inst->doc)};
	if (!v.doc)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK)
		rc = sched_instance_refresh(s, &v, tasks, err);
	if (rc == SCHED_OK &&
	    json_object_set_new(v.doc, "version", json_integer(inst->row.version)) != 0)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK)
		*out = v.doc;
	else
		json_decref(v.doc);
	sched_objs_free(&own);
	return rc;
}

int sched_instance_find_ec2(struct sched *s, const struct sched_obj *cl, const char *id,
                            struct sched_obj *o, bool *found, struct sched_error *err)
{
	*found = false;
	memset(o, 0, sizeof(*o));
	struct store_sched_filter f = {.kind = STORE_SCHED_CONTAINER_INSTANCE,
	                               .cluster = cl->row.arn,
	                               .not_status = "INACTIVE"};
	for (;;) {
		struct sched_objs l;
		int rc = sched_objs_query(s, &f, &l, err);
		if (rc != SCHED_OK)
			return rc;
		for (size_t i = 0; i < l.n && !*found; i++) {
			const char *have = sched_jstr(l.v[i].doc, "ec2InstanceId");
			if (have && strcmp(have, id) == 0) {
				*o = l.v[i];
				memset(&l.v[i], 0, sizeof(l.v[i]));
				*found = true;
			}
		}
		size_t n = l.n;
		if (n > 0)
			f.after_seq = l.v[n - 1].row.seq;
		sched_objs_free(&l);
		if (*found || n < 10000)
			return SCHED_OK;
	}
}

int sched_instance_register(struct sched *s, const struct sched_instance_spec *spec,
                            json_t **instance_out, struct sched_error *err)
{
	sched_clear_error(err);
	*instance_out = NULL;
	if (!spec)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "nothing to register");
	json_t *identity = NULL, *attrs = NULL, *res = NULL, *vinfo = NULL, *tags = NULL;
	int rc = parse_identity(spec->identity_document, &identity, err);
	if (rc == SCHED_OK)
		rc = build_resources(spec, &res, err);
	if (rc == SCHED_OK)
		rc = build_attrs(s, spec, identity, &attrs, err);
	if (rc == SCHED_OK)
		rc = build_version_info(spec->version_info, &vinfo, err);
	if (rc == SCHED_OK)
		rc = sched_tags_copy(spec->tags, &tags, err);
	const char *ec2 =
	    spec->ec2_instance_id ? spec->ec2_instance_id : sched_jstr(identity, "instanceId");
	if (rc == SCHED_OK && ec2 &&
	    (!ec2[0] || strlen(ec2) > INSTANCE_ID_MAX || !attr_ok(ec2, false)))
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "ec2InstanceId must be up to %d letters, numbers, hyphens, "
		                "underscores or periods",
		                INSTANCE_ID_MAX);
	if (rc != SCHED_OK)
		goto done_unlocked;

	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, o;
	memset(&o, 0, sizeof(o));
	const char *cref = spec->cluster;
	bool dflt = !cref || !cref[0] || strcmp(cref, "default") == 0;
	rc = dflt ? sched_cluster_ensure(s, "default", NULL, &cl, err)
	          : sched_cluster_load(s, cref, false, &cl, err);
	if (rc != SCHED_OK)
		goto done;
	bool found = false;
	if (ec2)
		rc = sched_instance_find_ec2(s, &cl, ec2, &o, &found, err);
	if (rc != SCHED_OK)
		goto done_cl;
	double now = sched_epoch(sched_now_ms(s));
	if (found) {
		/* the same host again: new resources, attributes and version info */
		int w = json_object_set(o.doc, "registeredResources", res) |
		        json_object_set(o.doc, "attributes", attrs) |
		        json_object_set(o.doc, "versionInfo", vinfo) |
		        json_object_set_new(o.doc, "agentConnected", json_true());
		if (w != 0) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			goto done_o;
		}
		if (json_array_size(tags) > 0) {
			json_t *have = json_object_get(o.doc, "tags");
			if (!json_is_array(have)) {
				have = json_array();
				json_object_set_new(o.doc, "tags", have);
			}
			rc = have ? sched_tags_merge(have, tags, err)
			          : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			if (rc != SCHED_OK)
				goto done_o;
		}
	} else {
		char id[33];
		sched_random_hex(s, id, 32);
		char rest[600];
		snprintf(rest, sizeof(rest), "%s/%s", cl.row.name, id);
		char *arn = sched_arn(s, "container-instance", rest);
		char ec2buf[24];
		if (!ec2) {
			snprintf(ec2buf, sizeof(ec2buf), "i-%.17s", id);
			ec2 = ec2buf;
		}
		json_t *doc =
		    arn ? json_pack("{s:s,s:s,s:O,s:o,s:s,s:b,s:i,s:i,s:O,s:f,s:[],s:O,s:O}",
		                    "containerInstanceArn", arn, "ec2InstanceId", ec2,
		                    "registeredResources", res, "remainingResources",
		                    json_deep_copy(res), "status", "ACTIVE", "agentConnected", 1,
		                    "runningTasksCount", 0, "pendingTasksCount", 0, "attributes",
		                    attrs, "registeredAt", now, "attachments", "tags", tags,
		                    "versionInfo", vinfo)
		        : NULL;
		rc = sched_obj_init(&o, STORE_SCHED_CONTAINER_INSTANCE, arn ? arn : "", cl.row.arn,
		                    id, "ACTIVE", doc, err);
		free(arn);
		if (rc != SCHED_OK)
			goto done_o;
	}
	rc = sched_obj_save(s, &o, err);
	if (rc == SCHED_OK)
		rc = instance_view(s, &o, NULL, instance_out, err);
done_o:
	sched_obj_free(&o);
done_cl:
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
done_unlocked:
	json_decref(identity);
	json_decref(attrs);
	json_decref(res);
	json_decref(vinfo);
	json_decref(tags);
	return rc;
}

int sched_instance_deregister(struct sched *s, const char *cluster, const char *instance,
                              bool force, json_t **instance_out, struct sched_error *err)
{
	sched_clear_error(err);
	*instance_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, o;
	memset(&o, 0, sizeof(o));
	struct sched_objs live = {0};
	int rc = sched_cluster_load(s, cluster, false, &cl, err);
	if (rc != SCHED_OK)
		goto done;
	rc = sched_instance_load(s, &cl, instance, &o, err);
	if (rc == SCHED_OK && strcmp(o.row.status, "INACTIVE") == 0)
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "Container instance %s is already deregistered.", o.row.arn);
	if (rc != SCHED_OK)
		goto done_o;
	struct store_sched_filter f = {
	    .kind = STORE_SCHED_TASK, .parent = o.row.arn, .not_status = "STOPPED"};
	rc = sched_objs_query(s, &f, &live, err);
	if (rc != SCHED_OK)
		goto done_o;
	if (live.n > 0 && !force) {
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "Container instance %s has %zu tasks running. Stop them first, or "
		                "deregister with force.",
		                o.row.arn, live.n);
		goto done_o;
	}
	for (size_t i = 0; i < live.n && rc == SCHED_OK; i++)
		rc = sched_stop_locked(s, &live.v[i], "UserInitiated",
		                       "Container instance deregistered with force", err);
	if (rc != SCHED_OK)
		goto done_o;
	if (live.n > 0) {
		/* the stops rewrote the instance; take its newest version */
		char *arn = strdup(o.row.arn);
		sched_obj_free(&o);
		rc = arn ? sched_obj_load(s, arn, &o, SCHED_ERR_SERVER, err)
		         : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		free(arn);
		if (rc != SCHED_OK)
			goto done_o;
	}
	int w = json_object_set_new(o.doc, "status", json_string("INACTIVE")) |
	        json_object_set_new(o.doc, "agentConnected", json_false());
	rc = w ? sched_fail(err, SCHED_ERR_SERVER, "out of memory")
	       : sched_obj_set_str(&o, &o.row.status, "INACTIVE", err);
	if (rc == SCHED_OK)
		rc = sched_obj_save(s, &o, err);
	if (rc == SCHED_OK)
		rc = instance_view(s, &o, NULL, instance_out, err);
done_o:
	sched_objs_free(&live);
	sched_obj_free(&o);
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_instance_set_status(struct sched *s, const char *cluster, const char *instance,
                              const char *status, json_t **instance_out, struct sched_error *err)
{
	sched_clear_error(err);
	*instance_out = NULL;
	if (!status || (strcmp(status, "ACTIVE") != 0 && strcmp(status, "DRAINING") != 0))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "status must be ACTIVE or DRAINING");
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, o;
	memset(&o, 0, sizeof(o));
	int rc = sched_cluster_load(s, cluster, false, &cl, err);
	if (rc != SCHED_OK)
		goto done;
	rc = sched_instance_load(s, &cl, instance, &o, err);
	if (rc == SCHED_OK && strcmp(o.row.status, "INACTIVE") == 0)
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "Container instance %s is deregistered; its status cannot change.",
		                o.row.arn);
	if (rc == SCHED_OK && strcmp(o.row.status, status) != 0) {
		rc = json_object_set_new(o.doc, "status", json_string(status))
		         ? sched_fail(err, SCHED_ERR_SERVER, "out of memory")
		         : sched_obj_set_str(&o, &o.row.status, status, err);
		if (rc == SCHED_OK)
			rc = sched_obj_save(s, &o, err);
	}
	if (rc == SCHED_OK)
		rc = instance_view(s, &o, NULL, instance_out, err);
	sched_obj_free(&o);
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_instance_list_filtered(struct sched *s, const char *cluster, const char *status,
                                 const char *filter, const struct sched_page *page,
                                 json_t **arns_out, char **next_out, struct sched_error *err)
{
	sched_clear_error(err);
	*arns_out = NULL;
	*next_out = NULL;
	static const char *const statuses[] = {"ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING",
	                                       "REGISTRATION_FAILED"};
	bool known = !status || !status[0];
	for (size_t i = 0; !known && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known = strcmp(status, statuses[i]) == 0;
	if (!known)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "status must be ACTIVE, DRAINING, REGISTERING, DEREGISTERING or "
		                  "REGISTRATION_FAILED");
	if (filter && filter[0]) {
		/* the expression is checked once, whatever instances there are */
		json_t *empty = json_object();
		struct sched_obj probe = {.row = {.arn = (char *)"", .parent = (char *)""},
		                          .doc = empty};
		bool ignored;
		int prc = empty ? sched_expr_eval(filter, &probe, NULL, &ignored, err)
		                : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		json_decref(empty);
		if (prc != SCHED_OK)
			return prc;
	}
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	int rc = sched_cluster_load(s, cluster, false, &cl, err);
	if (rc != SCHED_OK)
		goto done;
	struct store_sched_filter f = {.kind = STORE_SCHED_CONTAINER_INSTANCE,
	                               .cluster = cl.row.arn,
	                               .status = status && status[0] ? status : NULL,
	                               .not_status = status && status[0] ? NULL : "INACTIVE"};
	if (!filter || !filter[0]) {
		rc = sched_list_page(s, &f, page, arns_out, next_out, err);
		goto done_cl;
	}
	/* a filter: walk the instances in order, keep those it matches */
	size_t limit;
	rc = sched_page_start(page, &f.after_seq, &limit, err);
	if (rc != SCHED_OK)
		goto done_cl;
	struct sched_objs tasks = {0};
	rc = sched_live_tasks(s, cl.row.arn, &tasks, err);
	json_t *arns = json_array();
	if (rc == SCHED_OK && !arns)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	int64_t last = 0;
	bool more = false;
	f.limit = 1000;
	while (rc == SCHED_OK && !more) {
		struct sched_objs l;
		rc = sched_objs_query(s, &f, &l, err);
		if (rc != SCHED_OK)
			break;
		for (size_t i = 0; i < l.n && rc == SCHED_OK; i++) {
			bool match = false;
			rc = sched_expr_eval(filter, &l.v[i], &tasks, &match, err);
			if (rc != SCHED_OK || !match)
				continue;
			if (json_array_size(arns) == limit) {
				more = true;
				break;
			}
			if (json_array_append_new(arns, json_string(l.v[i].row.arn)) != 0)
				rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			last = l.v[i].row.seq;
		}
		size_t n = l.n;
		if (n > 0)
			f.after_seq = l.v[n - 1].row.seq;
		sched_objs_free(&l);
		if (n < f.limit)
			break;
	}
	if (rc == SCHED_OK && more)
		rc = sched_page_token(last, next_out, err);
	if (rc == SCHED_OK)
		*arns_out = arns;
	else
		json_decref(arns);
	sched_objs_free(&tasks);
done_cl:
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_instance_list(struct sched *s, const char *cluster, const char *status,
                        const struct sched_page *page, json_t **arns_out, char **next_out,
                        struct sched_error *err)
{
	return sched_instance_list_filtered(s, cluster, status, NULL, page, arns_out, next_out,
	                                    err);
}

int sched_instance_describe(struct sched *s, const char *cluster, const json_t *instances,
                            json_t **instances_out, json_t **failures_out, struct sched_error *err)
{
	sched_clear_error(err);
	*instances_out = NULL;
	*failures_out = NULL;
	if (!json_is_array(instances) || json_array_size(instances) == 0 ||
	    json_array_size(instances) > DESCRIBE_MAX)
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "containerInstances must name between 1 and %d container instances",
		    DESCRIBE_MAX);
	size_t i;
	const json_t *ref;
	json_array_foreach(instances, i, ref)
	{
		if (!json_is_string(ref))
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "containerInstances[%zu] must be an id or ARN", i);
	}
	json_t *out = json_array(), *failures = json_array();
	if (!out || !failures) {
		json_decref(out);
		json_decref(failures);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	struct sched_objs tasks = {0};
	int rc = sched_cluster_load(s, cluster, false, &cl, err);
	if (rc != SCHED_OK)
		goto done;
	rc = sched_live_tasks(s, cl.row.arn, &tasks, err);
	json_array_foreach(instances, i, ref)
	{
		if (rc != SCHED_OK)
			break;
		const char *r = json_string_value(ref);
		struct sched_obj o;
		struct sched_error lerr;
		int lr = sched_instance_load(s, &cl, r, &o, &lerr);
		if (lr == SCHED_ERR_INVALID_PARAMETER) {
			rc = sched_missing_ref(s, failures, "container-instance", cl.row.name, r,
			                       err);
			continue;
		}
		if (lr != SCHED_OK) {
			rc = lr;
			if (err)
				*err = lerr;
			break;
		}
		json_t *v = NULL;
		rc = instance_view(s, &o, &tasks, &v, err);
		if (rc == SCHED_OK && json_array_append_new(out, v) != 0)
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		sched_obj_free(&o);
	}
	sched_objs_free(&tasks);
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	return sched_hand_over(rc, out, failures, instances_out, failures_out);
}
