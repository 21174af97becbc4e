/*
 * task_endpoint.c - the task endpoint's listener: credentials, metadata,
 * rate limits (task_endpoint.h).
 *
 * Plain HTTP on loopback (or wherever task_endpoint.listen says), one
 * libmicrohttpd daemon with its own small thread pool so that a task hammering
 * its endpoint cannot slow the HTTPS API down. Every answer is JSON in the
 * shape the ECS agent gives: credentials as AccessKeyId/SecretAccessKey/
 * Token/Expiration/RoleArn, errors as {"code", "message", "HTTPErrorCode"},
 * metadata errors as a JSON string.
 */
#include "gateway/task_endpoint.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "gateway/secret.h"

#define JSON_TYPE     "application/json"
#define LIMITER_SLOTS 4096
/* Threads of the daemon. A credentials fetch waits for its audit record's
 * commit; with several threads waiting, their records share one commit
 * (the audit writer's group commit), so the threads are mostly asleep. */
#define GW_TASK_ENDPOINT_THREADS 8

/* ---- per-client token buckets ---- */

struct bucket {
	char ip[64]; /* "" = free */
	double tokens;
	int64_t last_us;
};

struct gw_task_endpoint_limiter {
	pthread_mutex_t lock;
	double rate;  /* tokens per second */
	double burst; /* bucket size */
	struct bucket slots[LIMITER_SLOTS];
};

static int64_t mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static uint32_t ip_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Takes one token from ip's bucket; false when it is empty. The table is
 * open-addressed; when the probe window is full, the stalest bucket in it is
 * reused (an idle client's bucket would be full again anyway). */
static bool limiter_take(struct gw_task_endpoint_limiter *lim, const char *ip)
{
	int64_t now = mono_us();
	uint32_t h = ip_hash(ip);
	pthread_mutex_lock(&lim->lock);
	struct bucket *b = NULL, *stalest = NULL;
	for (unsigned i = 0; i < 16; i++) {
		struct bucket *x = &lim->slots[(h + i) % LIMITER_SLOTS];
		if (strcmp(x->ip, ip) == 0) {
			b = x;
			break;
		}
		if (x->ip[0] == '\0') {
			if (!stalest || stalest->ip[0] != '\0')
				stalest = x;
		} else if (!stalest || (stalest->ip[0] != '\0' && x->last_us < stalest->last_us)) {
			stalest = x;
		}
	}
	if (!b) {
		b = stalest;
		snprintf(b->ip, sizeof(b->ip), "%s", ip);
		b->tokens = lim->burst;
		b->last_us = now;
	}
	double add = (double)(now - b->last_us) / 1e6 * lim->rate;
	b->tokens = b->tokens + add > lim->burst ? lim->burst : b->tokens + add;
	b->last_us = now;
	bool ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	pthread_mutex_unlock(&lim->lock);
	return ok;
}

/* ---- responses ---- */

static void wipe_free(void *p)
{
	/* the credentials body: length is in front of it */
	size_t *n = (size_t *)p - 1;
	OPENSSL_cleanse(n, *n + sizeof(size_t));
	free(n);
}

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status, const char *type,
                                 const char *body, size_t n)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(o);
	if (!s)
		return send_body(conn, 500, "text/plain", "out of memory\n", 14);
	enum MHD_Result r = send_body(conn, status, JSON_TYPE, s, strlen(s));
	free(s);
	return r;
}

/* The agent's error shape. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *message)
{
	return send_json(conn, status,
	                 json_pack("{s:s, s:s, s:i}", "code", code, "message", message,
	                           "HTTPErrorCode", (int)status));
}

/* The credentials document, in wiped memory handed to the daemon. */
static enum MHD_Result send_credentials(struct MHD_Connection *conn,
                                        const struct gw_taskcreds_served *c)
{
	/* Only the role ARN goes through jansson (escaped); the key id, secret
	 * and token are base64-alphabet text and are written directly, so no
	 * copy of a secret is left in memory that is not wiped. */
	json_t *esc = json_string(c->role_arn);
	char *role = esc ? json_dumps(esc, JSON_ENCODE_ANY) : NULL;
	json_decref(esc);
	if (!role)
		return send_error(conn, 500, "InternalServerError", "Internal server error");
	size_t cap = strlen(role) + c->secret.n + c->token.n + 256;
	size_t *mem = malloc(sizeof(size_t) + cap);
	if (!mem) {
		free(role);
		return send_error(conn, 500, "InternalServerError", "Internal server error");
	}
	*mem = cap;
	char *buf = (char *)(mem + 1);
	int n = snprintf(buf, cap,
	                 "{\"RoleArn\":%s,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\","
	                 "\"Token\":\"%s\",\"Expiration\":\"%s\"}",
	                 role, c->access_key_id, (const char *)c->secret.p,
	                 (const char *)c->token.p, c->expiration);
	free(role);
	if (n < 0 || (size_t)n >= cap) {
		OPENSSL_cleanse(mem, sizeof(size_t) + cap);
		free(mem);
		return send_error(conn, 500, "InternalServerError", "Internal server error");
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer_with_free_callback((size_t)n, buf, wipe_free);
	if (!r) {
		wipe_free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

/* ---- metadata documents ---- */

/* "2026-11-25T15:45:33.532811081Z" from epoch seconds (a JSON number). */
static json_t *rfc3339(const json_t *v)
{
	if (json_is_string(v))
		return json_copy((json_t *)v);
	if (!json_is_number(v))
		return NULL;
	double d = json_number_value(v);
	if (d <= 0)
		return NULL;
	time_t s = (time_t)d;
	long ns = (long)((d - (double)s) * 1e9);
	if (ns < 0)
		ns = 0;
	if (ns > 999999999)
		ns = 999999999;
	struct tm tm;
	gmtime_r(&s, &tm);
	char buf[48];
	size_t k = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, sizeof(buf) - k, ".%09ldZ", ns);
	return json_string(buf);
}

static void set_if(json_t *o, const char *key, json_t *v)
{
	if (v)
		json_object_set_new(o, key, v);
}

static const json_t *find_by_name(const json_t *arr, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		const char *n = json_string_value(json_object_get(x, "name"));
		if (n && name && strcmp(n, name) == 0)
			return x;
	}
	return NULL;
}

static const char *family_of(const json_t *task, const json_t *taskdef)
{
	const char *f = json_string_value(json_object_get(taskdef, "family"));
	return f ? f : json_string_value(json_object_get(task, "group"));
}

static json_t *container_doc(const json_t *task, const json_t *taskdef, const json_t *c,
                             const json_t *host)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const json_t *d = find_by_name(json_object_get(taskdef, "containerDefinitions"), name);
	const json_t *h = name ? json_object_get(host, name) : NULL;
	json_t *o = json_object();
	if (!o)
		return NULL;
	const char *docker_id = json_string_value(json_object_get(h, "DockerId"));
	if (!docker_id)
		docker_id = json_string_value(json_object_get(c, "runtimeId"));
	json_object_set_new(o, "DockerId", json_string(docker_id ? docker_id : ""));
	set_if(o, "Name", json_string(name ? name : ""));
	const char *dn = json_string_value(json_object_get(h, "DockerName"));
	set_if(o, "DockerName", json_string(dn ? dn : (name ? name : "")));
	const char *image = json_string_value(json_object_get(c, "image"));
	if (!image)
		image = json_string_value(json_object_get(d, "image"));
	set_if(o, "Image", json_string(image ? image : ""));
	const char *image_id = json_string_value(json_object_get(h, "ImageID"));
	if (!image_id)
		image_id = json_string_value(json_object_get(c, "imageDigest"));
	if (image_id)
		set_if(o, "ImageID", json_string(image_id));
	json_t *labels = json_object_get(h, "Labels");
	if (json_is_object(labels)) {
		json_object_set(o, "Labels", labels);
	} else {
		json_t *l = json_object();
		set_if(l, "com.amazonaws.ecs.cluster",
		       json_copy(json_object_get(task, "clusterArn")));
		set_if(l, "com.amazonaws.ecs.container-name", json_string(name ? name : ""));
		set_if(l, "com.amazonaws.ecs.task-arn",
		       json_copy(json_object_get(task, "taskArn")));
		const char *fam = family_of(task, taskdef);
		if (fam)
			set_if(l, "com.amazonaws.ecs.task-definition-family", json_string(fam));
		json_t *rev = json_object_get(taskdef, "revision");
		if (json_is_integer(rev)) {
			char b[32];
			snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(rev));
			set_if(l, "com.amazonaws.ecs.task-definition-version", json_string(b));
		}
		json_object_set_new(o, "Labels", l);
	}
	const char *desired = json_string_value(json_object_get(task, "desiredStatus"));
	set_if(o, "DesiredStatus", json_string(desired ? desired : "RUNNING"));
	const char *known = json_string_value(json_object_get(h, "KnownStatus"));
	if (!known)
		known = json_string_value(json_object_get(c, "lastStatus"));
	set_if(o, "KnownStatus", json_string(known ? known : "PENDING"));
	json_t *limits = json_object();
	json_t *cpu = json_object_get(d, "cpu");
	json_object_set_new(limits, "CPU",
	                    json_integer(json_is_integer(cpu) ? json_integer_value(cpu) : 0));
	json_t *mem = json_object_get(d, "memory");
	if (!json_is_integer(mem))
		mem = json_object_get(d, "memoryReservation");
	if (json_is_integer(mem))
		json_object_set_new(limits, "Memory", json_integer(json_integer_value(mem)));
	json_object_set_new(o, "Limits", limits);
	static const char *const times[][3] = {{"CreatedAt", "CreatedAt", "createdAt"},
	                                       {"StartedAt", "StartedAt", "startedAt"},
	                                       {"FinishedAt", "FinishedAt", "stoppedAt"}};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(h, times[i][1]);
		if (!v)
			v = json_object_get(i == 2 ? c : task, times[i][2]);
		if (!v && i == 2)
			v = NULL;
		set_if(o, times[i][0], rfc3339(v));
	}
	set_if(o, "Type", json_string("NORMAL"));
	set_if(o, "ContainerARN", json_copy(json_object_get(c, "containerArn")));
	const json_t *logc = json_object_get(d, "logConfiguration");
	if (logc) {
		set_if(o, "LogDriver", json_copy(json_object_get(logc, "logDriver")));
		set_if(o, "LogOptions", json_deep_copy(json_object_get(logc, "options")));
	}
	const char *mode = json_string_value(json_object_get(taskdef, "networkMode"));
	json_t *net = json_pack("{s:s}", "NetworkMode", mode ? mode : "bridge");
	json_t *v4 = json_array();
	size_t i;
	json_t *ni;
	json_array_foreach(json_object_get(c, "networkInterfaces"), i, ni)
	{
		json_t *a = json_object_get(ni, "privateIpv4Address");
		if (json_is_string(a))
			json_array_append(v4, a);
	}
	if (json_array_size(v4) == 0 && mode && strcmp(mode, "host") != 0) {
		json_decref(v4);
		v4 = NULL;
	}
	if (v4)
		json_object_set_new(net, "IPv4Addresses", v4);
	json_object_set_new(o, "Networks", json_pack("[o]", net));
	json_t *ports = json_array();
	json_t *nb;
	json_array_foreach(json_object_get(c, "networkBindings"), i, nb)
	{
		json_t *p = json_object();
		set_if(p, "ContainerPort", json_copy(json_object_get(nb, "containerPort")));
		const char *proto = json_string_value(json_object_get(nb, "protocol"));
		set_if(p, "Protocol", json_string(proto ? proto : "tcp"));
		set_if(p, "HostPort", json_copy(json_object_get(nb, "hostPort")));
		const char *ip = json_string_value(json_object_get(nb, "bindIP"));
		set_if(p, "HostIp", json_string(ip ? ip : "0.0.0.0"));
		json_array_append_new(ports, p);
	}
	if (json_array_size(ports) > 0)
		json_object_set_new(o, "Ports", ports);
	else
		json_decref(ports);
	json_t *exit_code = json_object_get(h, "ExitCode");
	if (!exit_code)
		exit_code = json_object_get(c, "exitCode");
	if (json_is_integer(exit_code))
		json_object_set(o, "ExitCode", exit_code);
	json_t *health = json_object_get(c, "healthStatus");
	if (json_is_string(health))
		json_object_set_new(o, "Health", json_pack("{s:O}", "status", health));
	return o;
}

json_t *gw_task_metadata(const json_t *task, const json_t *taskdef, const json_t *host,
                         const char *container, bool with_tags)
{
	const json_t *containers = json_object_get(task, "containers");
	if (container) {
		const json_t *c = find_by_name(containers, container);
		json_t *fake = NULL;
		if (!c) {
			/* not yet in the task's list: what the definition says */
			fake = json_pack("{s:s}", "name", container);
			c = fake;
		}
		json_t *o = container_doc(task, taskdef, c, host);
		json_decref(fake);
		return o;
	}
	json_t *o = json_object();
	if (!o)
		return NULL;
	set_if(o, "Cluster", json_copy(json_object_get(task, "clusterArn")));
	set_if(o, "TaskARN", json_copy(json_object_get(task, "taskArn")));
	const char *fam = family_of(task, taskdef);
	set_if(o, "Family", json_string(fam ? fam : ""));
	json_t *rev = json_object_get(taskdef, "revision");
	char b[32];
	snprintf(b, sizeof(b), "%lld",
	         json_is_integer(rev) ? (long long)json_integer_value(rev) : 0LL);
	set_if(o, "Revision", json_string(b));
	const char *desired = json_string_value(json_object_get(task, "desiredStatus"));
	const char *known = json_string_value(json_object_get(task, "lastStatus"));
	set_if(o, "DesiredStatus", json_string(desired ? desired : "RUNNING"));
	set_if(o, "KnownStatus", json_string(known ? known : "PENDING"));
	json_t *limits = json_object();
	const char *cpu = json_string_value(json_object_get(task, "cpu"));
	if (!cpu)
		cpu = json_string_value(json_object_get(taskdef, "cpu"));
	if (cpu)
		json_object_set_new(limits, "CPU", json_real(strtod(cpu, NULL) / 1024.0));
	const char *mem = json_string_value(json_object_get(task, "memory"));
	if (!mem)
		mem = json_string_value(json_object_get(taskdef, "memory"));
	if (mem)
		json_object_set_new(limits, "Memory", json_integer(strtoll(mem, NULL, 10)));
	json_object_set_new(o, "Limits", limits);
	set_if(o, "PullStartedAt", rfc3339(json_object_get(task, "pullStartedAt")));
	set_if(o, "PullStoppedAt", rfc3339(json_object_get(task, "pullStoppedAt")));
	set_if(o, "ExecutionStoppedAt", rfc3339(json_object_get(task, "executionStoppedAt")));
	const char *az = json_string_value(json_object_get(task, "availabilityZone"));
	if (az)
		set_if(o, "AvailabilityZone", json_string(az));
	const char *lt = json_string_value(json_object_get(task, "launchType"));
	set_if(o, "LaunchType", json_string(lt ? lt : "EC2"));
	json_t *list = json_array();
	const json_t *defs = json_object_get(taskdef, "containerDefinitions");
	size_t i;
	json_t *d;
	json_array_foreach(defs, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		json_t *one = gw_task_metadata(task, taskdef, host, name ? name : "", false);
		if (one)
			json_array_append_new(list, one);
	}
	json_object_set_new(o, "Containers", list);
	const char *grp = json_string_value(json_object_get(task, "group"));
	if (grp && strncmp(grp, "service:", 8) == 0)
		set_if(o, "ServiceName", json_string(grp + 8));
	json_object_set_new(o, "FaultInjectionEnabled", json_false());
	if (with_tags) {
		json_t *tags = json_object();
		json_t *t;
		json_array_foreach(json_object_get(task, "tags"), i, t)
		{
			const char *k = json_string_value(json_object_get(t, "key"));
			const char *v = json_string_value(json_object_get(t, "value"));
			if (k)
				json_object_set_new(tags, k, json_string(v ? v : ""));
		}
		json_object_set_new(o, "TaskTags", tags);
		json_object_set_new(o, "ContainerInstanceTags", json_object());
	}
	return o;
}

/* ---- routing ---- */

struct req_log {
	const char *route; /* "credentials", "metadata", ... */
	char path[128];    /* with any credentials id replaced by its hash prefix */
	unsigned status;
	char task[2048];
};

static void log_request(struct gw_task_endpoint *ep, const char *ip, const char *method,
                        const struct req_log *rl, int64_t started)
{
	struct gw_log_line l;
	gw_log_begin(&l, ep->log, rl->status >= 500 ? GW_LOG_WARN : GW_LOG_INFO, "task endpoint");
	gw_log_str(&l, "method", method);
	gw_log_str(&l, "route", rl->route);
	gw_log_str(&l, "path", rl->path);
	gw_log_uint(&l, "status", rl->status);
	gw_log_str(&l, "remote", ip);
	if (rl->task[0])
		gw_log_str(&l, "task", rl->task);
	gw_log_int(&l, "latency_us", mono_us() - started);
	gw_log_end(&l);
}

static void id_fingerprint(const char *id, size_t n, char out[9])
{
	unsigned char h[32];
	SHA256((const unsigned char *)id, n, h);
	gw_hex_encode(h, 4, out, 9);
}

static enum MHD_Result credentials(struct gw_task_endpoint *ep, struct MHD_Connection *conn,
                                   const char *ip, const char *prefix, const char *id,
                                   struct req_log *rl)
{
	rl->route = "credentials";
	size_t id_n = id ? strlen(id) : 0;
	char fp[9] = "-";
	if (id_n)
		id_fingerprint(id, id_n, fp);
	snprintf(rl->path, sizeof(rl->path), "%s <id sha256 %s...>", prefix, fp);
	struct gw_taskcreds *tc = atomic_load(&ep->tc);
	char message[512], full[640];
	if (!tc) {
		rl->status = 503;
		snprintf(full, sizeof(full), "%s: Credentials uninitialized for ID", prefix);
		return send_error(conn, 503, "CredentialsUninitialized", full);
	}
	const char *authz =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	struct gw_taskcreds_served c;
	int rc = gw_taskcreds_fetch(tc, id, id_n, authz, authz ? strlen(authz) : 0, ip, &c, message,
	                            sizeof(message));
	snprintf(rl->task, sizeof(rl->task), "%s", c.task_arn);
	rl->status = gw_taskcreds_status_http(rc);
	enum MHD_Result r;
	if (rc == GW_TASKCREDS_OK) {
		r = send_credentials(conn, &c);
		atomic_fetch_add(&ep->served, 1);
	} else {
		snprintf(full, sizeof(full), "%s: %s", prefix, message);
		r = send_error(conn, rl->status, gw_taskcreds_status_code(rc), full);
	}
	gw_taskcreds_served_clear(&c);
	return r;
}

static enum MHD_Result metadata(struct gw_task_endpoint *ep, struct MHD_Connection *conn,
                                const char *rest, struct req_log *rl)
{
	rl->route = "metadata";
	snprintf(rl->path, sizeof(rl->path), "%.120s", rest);
	/* rest: "v4/<id>[/task|/taskWithTags|/stats|/task/stats]" */
	const char *id = rest + 3;
	const char *slash = strchr(id, '/');
	size_t id_n = slash ? (size_t)(slash - id) : strlen(id);
	const char *what = slash ? slash : "";
	char idbuf[80];
	struct gw_taskcreds *tc = atomic_load(&ep->tc);
	if (id_n == 0 || id_n >= sizeof(idbuf) || !tc) {
		rl->status = 404;
		return send_json(conn, 404,
		                 json_string("Unable to find container for the request"));
	}
	memcpy(idbuf, id, id_n);
	idbuf[id_n] = '\0';
	char *task_arn = NULL, *cluster = NULL, *container = NULL;
	int m = gw_taskcreds_metadata_id(tc, idbuf, &task_arn, &cluster, &container);
	if (m != 0) {
		rl->status = m == -1 ? 404 : 500;
		return send_json(conn, rl->status,
		                 json_string(m == -1 ? "Unable to find container for the request"
		                                     : "Unable to read task metadata"));
	}
	snprintf(rl->task, sizeof(rl->task), "%s", task_arn);
	json_t *task = NULL, *taskdef = NULL, *host = NULL, *doc = NULL;
	enum MHD_Result r;
	if (gw_taskcreds_describe(tc, cluster, task_arn, &task, &taskdef) != 0) {
		rl->status = 404;
		r = send_json(conn, 404, json_string("Unable to find task for the request"));
		goto done;
	}
	bool stats = strcmp(what, "/stats") == 0 || strcmp(what, "/task/stats") == 0;
	if (stats) {
		json_t *all = NULL;
		if (ep->stats)
			(void)ep->stats(ep->host_ctx, task_arn, &all);
		json_t *cont = NULL;
		if (ep->containers)
			(void)ep->containers(ep->host_ctx, task_arn, &cont);
		if (strcmp(what, "/stats") == 0) {
			const char *did = json_string_value(
			    json_object_get(json_object_get(cont, container), "DockerId"));
			json_t *s = did ? json_object_get(all, did) : NULL;
			doc = s ? json_incref(s) : json_null();
		} else {
			doc = json_object();
			const char *name;
			json_t *info;
			json_object_foreach(cont, name, info)
			{
				const char *did =
				    json_string_value(json_object_get(info, "DockerId"));
				if (did) {
					json_t *s = json_object_get(all, did);
					json_object_set_new(doc, did,
					                    s ? json_incref(s) : json_null());
				}
			}
		}
		json_decref(all);
		json_decref(cont);
	} else {
		if (ep->containers)
			(void)ep->containers(ep->host_ctx, task_arn, &host);
		if (what[0] == '\0')
			doc = gw_task_metadata(task, taskdef, host, container, false);
		else if (strcmp(what, "/task") == 0)
			doc = gw_task_metadata(task, taskdef, host, NULL, false);
		else if (strcmp(what, "/taskWithTags") == 0)
			doc = gw_task_metadata(task, taskdef, host, NULL, true);
		else {
			rl->status = 404;
			r = send_json(conn, 404, json_string("Unknown task metadata path"));
			goto done;
		}
	}
	rl->status = doc ? 200 : 500;
	r = doc ? send_json(conn, 200, doc) : send_json(conn, 500, json_string("out of memory"));
done:
	json_decref(task);
	json_decref(taskdef);
	json_decref(host);
	free(task_arn);
	free(cluster);
	free(container);
	return r;
}

static void remote_ip(struct MHD_Connection *conn, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			          (socklen_t)cap);
		else if (sa->sa_family == AF_INET6) {
			const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
			if (IN6_IS_ADDR_V4MAPPED(a))
				inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
			else
				inet_ntop(AF_INET6, a, out, (socklen_t)cap);
		}
	}
	if (!out[0])
		snprintf(out, cap, "-");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	struct gw_task_endpoint *ep = cls;
	if (*con_cls == NULL) {
		/* first call: headers only; answer on the next one */
		*con_cls = ep;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* bodies are ignored: every route is a GET */
		return MHD_YES;
	}
	int64_t started = mono_us();
	char ip[64];
	remote_ip(conn, ip, sizeof(ip));
	struct req_log rl = {.route = "other"};
	snprintf(rl.path, sizeof(rl.path), "%.120s", url);
	enum MHD_Result r;
	bool get =
	    strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (!limiter_take(ep->limiter, ip)) {
		rl.route = "limited";
		rl.status = 429;
		static const char m[] = "You have reached maximum request limit.";
		r = send_body(conn, 429, "text/plain; charset=utf-8", m, sizeof(m) - 1);
	} else if (!get) {
		rl.status = 405;
		r = send_body(conn, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", 19);
	} else if (ep->empty_route && strcmp(url, "/__empty") == 0) {
		rl.status = 200;
		r = send_body(conn, 200, "text/plain", "", 0);
	} else if (strncmp(url, "/v2/credentials", 15) == 0 &&
	           (url[15] == '\0' || url[15] == '/')) {
		const char *id = url[15] == '/' ? url + 16 : "";
		r = credentials(ep, conn, ip, "CredentialsV2Request", id, &rl);
	} else if (strcmp(url, "/v1/credentials") == 0) {
		const char *id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
		r = credentials(ep, conn, ip, "CredentialsV1Request", id ? id : "", &rl);
	} else if ((strncmp(url, "/v4/", 4) == 0 || strncmp(url, "/v3/", 4) == 0)) {
		r = metadata(ep, conn, url + 1, &rl);
	} else {
		rl.status = 404;
		r = send_body(conn, 404, "text/plain; charset=utf-8", "404 page not found\n", 19);
	}
	log_request(ep, ip, method, &rl, started);
	return r;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct gw_task_endpoint *ep = cls;
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	size_t len = strnlen(buf, sizeof(buf));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	struct gw_log_line l;
	gw_log_begin(&l, ep->log, GW_LOG_DEBUG, "task endpoint libmicrohttpd");
	gw_log_strn(&l, "detail", buf, len);
	gw_log_end(&l);
}

int gw_task_endpoint_start(struct gw_task_endpoint *ep, const struct gw_config *cfg,
                           struct gw_log *log, char *err, size_t err_cap)
{
	memset(ep, 0, sizeof(*ep));
	ep->cfg = cfg;
	ep->log = log;
	atomic_init(&ep->tc, NULL);
	atomic_init(&ep->served, 0);
	ep->limiter = calloc(1, sizeof(*ep->limiter));
	if (!ep->limiter || pthread_mutex_init(&ep->limiter->lock, NULL) != 0) {
		free(ep->limiter);
		ep->limiter = NULL;
		snprintf(err, err_cap, "out of memory");
		return -1;
	}
	ep->limiter->rate = cfg->task_endpoint.rate_per_s;
	ep->limiter->burst = cfg->task_endpoint.burst;
	const struct gw_listen *l = &cfg->task_endpoint.listen;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (l->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	ep->daemon = MHD_start_daemon(
	    flags, l->port, NULL, NULL, on_request, ep, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, ep,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&l->addr, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)1024, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)GW_TASK_ENDPOINT_THREADS, MHD_OPTION_END);
	if (!ep->daemon) {
		char where[80];
		if (gw_listen_format(l, l->port, where, sizeof(where)) != 0)
			where[0] = '\0';
		snprintf(err, err_cap, "cannot start the task endpoint on %s (address in use?)",
		         where);
		pthread_mutex_destroy(&ep->limiter->lock);
		free(ep->limiter);
		ep->limiter = NULL;
		return -1;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(ep->daemon, MHD_DAEMON_INFO_BIND_PORT);
	ep->port = info ? info->port : l->port;
	return 0;
}

void gw_task_endpoint_base(const struct gw_task_endpoint *ep, char *out, size_t cap)
{
	const struct gw_listen *l = &ep->cfg->task_endpoint.listen;
	if (l->family == AF_INET6)
		snprintf(out, cap, "http://[%s]:%u", l->address, (unsigned)ep->port);
	else
		snprintf(out, cap, "http://%s:%u", l->address, (unsigned)ep->port);
}

void gw_task_endpoint_set_taskcreds(struct gw_task_endpoint *ep, struct gw_taskcreds *tc)
{
	atomic_store(&ep->tc, tc);
}

void gw_task_endpoint_stop(struct gw_task_endpoint *ep)
{
	if (!ep)
		return;
	if (ep->daemon) {
		MHD_stop_daemon(ep->daemon);
		ep->daemon = NULL;
	}
	if (ep->limiter) {
		pthread_mutex_destroy(&ep->limiter->lock);
		free(ep->limiter);
		ep->limiter = NULL;
	}
}
