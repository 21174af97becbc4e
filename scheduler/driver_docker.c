/*
 * driver_docker.c - the `docker` driver: a task's containers as Docker
 * containers, through the Docker Engine API (docker_http.c).
 *
 * start only records the task (PENDING) and hands it to a worker thread, so
 * that a slow image pull never holds the driver's lock, nor the scheduler's
 * that start is called under. The worker creates every container of the
 * task (pulling a missing image once, with the host's credentials for its
 * registry when scheduler.docker_registry_auth_file names some: docker_auth.c
 * reads them for that pull only), then starts them in definition order;
 * if any step fails, what was created is removed and the task is STOPPED
 * with failed_to_start and the ECS error name (CannotPullContainerError,
 * CannotCreateContainerError, CannotStartContainerError), reported by
 * inspect and queued as an event, as a start that failed at once would be.
 * A stop while starting cancels the start (a pull in progress is abandoned)
 * and removes what was created; close cancels and waits for the workers. A
 * container found in the engine's "created" state when the driver adopts a
 * task belongs to a start that a gateway restart cut short: the task's
 * containers are removed and it is STOPPED, failed to start.
 *
 * A container definition's healthCheck becomes the engine's Healthcheck;
 * its verdict (State.Health.Status) is read on inspect and followed through
 * health_status events, which queue an event when a task's health changes.
 *
 * The driver remembers each task's containers
 * (Docker id, essential, stop timeout) and rebuilds that memory from the
 * engine's labels when it opens, so a restarted gateway carries on.
 *
 * A thread follows GET /events for taskgate's containers (die, oom,
 * destroy). A container that dies is therefore seen at once: if it was
 * essential the task's other containers are stopped, and once all have
 * ended the task is STOPPED and an event is queued for the scheduler. The
 * stream resumes with `since` after a broken connection, so no death is
 * missed; inspect also asks the engine, so the scheduler's view never rests
 * on the stream alone.
 *
 * docker stop blocks until the container is gone (up to its timeout), so
 * stop hands each container to a short-lived thread and returns at once;
 * close waits for those threads. STOPPED tasks' containers are removed after
 * the retention time, as the ECS agent's cleanup does.
 */
#include "scheduler/docker_auth.h"
#include "scheduler/docker_http.h"
#include "scheduler/docker_int.h"
#include "scheduler/driver.h"
#include "scheduler/driver_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define API "/v1.41"

struct dcont {
	char *name;
	char *id;
	bool essential;
	int stop_timeout;
	int index;
	bool ended;
	bool has_code;
	int exit_code;
	bool oom;
	bool stop_sent;     /* a stop thread for it is running */
	bool has_check;     /* the definition has a healthCheck (label on adopt) */
	bool never_started; /* adopted in the engine's "created" state */
	enum sched_driver_health health;
};

struct dtask {
	char *arn;
	struct dcont *c;
	size_t n;
	bool stopping, stopped, failed, cause_set;
	bool starting; /* a worker is creating and starting the containers */
	int cancel_fd; /* eventfd the worker's pull gives up on; -1: none */
	int exit_code;
	char reason[256];
	long long stopped_ms;
};

struct ddrv {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct dhttp_target tgt;
	char *sock, *host;
	void *tls;
	struct dk_create_opts co;
	char *bind_ip, *net_mode;
	char *engine_version; /* GET /version's Version at open, or NULL */
	char *auth_file;      /* registry credentials (docker_auth.c), or NULL */
	int retain_s;
	void (*notify)(void *);
	void *notify_ctx;
	struct drv_tasks tasks; /* of struct dtask */
	struct drv_event_queue events;
	int cancel[2];
	bool quit;
	bool thread_started;
	pthread_t thread;
	int stoppers;
	int starters;       /* start workers running */
	long long since_ns; /* of the last event seen */
	long long last_cleanup_ms;
};

/* The engine's own words from an error body {"message": ...}. */
static const char *engine_message(const json_t *body)
{
	const char *m = json_string_value(json_object_get(body, "message"));
	return m ? m : "no message";
}

static void task_free(struct dtask *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->c[i].name);
		free(t->c[i].id);
	}
	free(t->c);
	free(t->arn);
	if (t->cancel_fd >= 0)
		close(t->cancel_fd);
	free(t);
}

static struct dtask *task_new(void)
{
	struct dtask *t = calloc(1, sizeof(*t));
	if (t)
		t->cancel_fd = -1;
	return t;
}

/* A container's health as the engine last reported it, for drv_task_health
 * (the check itself is known from the definition's label). */
static struct drv_container_health container_health(const void *task, size_t i)
{
	const struct dcont *c = &((const struct dtask *)task)->c[i];
	return (struct drv_container_health){c->has_check, c->essential, c->health};
}

/* What inspect and events report for a task the driver knows (lock held;
 * a RUNNING task's containers are as last refreshed). */
static void fill_status(const struct dtask *t, struct sched_driver_status *out)
{
	memset(out, 0, sizeof(*out));
	if (t->stopped) {
		out->state = SCHED_DRIVER_STOPPED;
		out->failed_to_start = t->failed;
		out->exit_code = t->exit_code;
		memcpy(out->reason, t->reason, sizeof(out->reason));
	} else if (t->starting) {
		out->state = SCHED_DRIVER_PENDING;
	} else {
		out->state = SCHED_DRIVER_RUNNING;
		drv_task_health(t, t->n, container_health, out);
	}
}

static struct dtask *find_task(struct ddrv *d, const char *arn)
{
	return drv_tasks_find(&d->tasks, arn);
}

static void queue_event(struct ddrv *d, const struct dtask *t)
{
	struct sched_driver_event *e = drv_events_add(&d->events, t->arn);
	if (e)
		fill_status(t, &e->status);
}

/* Tells a start worker to give up (stop or close while it runs). */
static void cancel_start(struct dtask *t)
{
	uint64_t one = 1;
	if (t->starting && t->cancel_fd >= 0) {
		ssize_t w = write(t->cancel_fd, &one, sizeof(one));
		(void)w;
	}
}

static struct dcont *find_container(struct ddrv *d, const char *id, struct dtask **task);
static int remove_container(struct ddrv *d, const char *id);

/* --- stopping: one detached thread per container --------------------------- */

struct stop_job {
	struct ddrv *d;
	char *id;
	int timeout;
};

static void *stop_main(void *arg)
{
	struct stop_job *j = arg;
	struct ddrv *d = j->d;
	char path[256], err[256];
	struct dhttp_target t = d->tgt;
	t.timeout_ms = (j->timeout + 30) * 1000;
	int status;
	if (snprintf(path, sizeof(path), API "/containers/%s/stop?t=%d", j->id, j->timeout) > 0)
		dhttp_request(&t, "POST", path, NULL, &status, NULL, NULL, err, sizeof(err));
	pthread_mutex_lock(&d->lock);
	/* Done (or failed: the next inspect of a stopping task asks again). */
	struct dtask *owner = NULL;
	struct dcont *c = find_container(d, j->id, &owner);
	if (c)
		c->stop_sent = false;
	free(j->id);
	free(j);
	d->stoppers--;
	pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* Under the lock. */
static void stop_container(struct ddrv *d, struct dcont *c)
{
	if (c->ended || !c->id || c->stop_sent)
		return;
	struct stop_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->d = d;
	j->id = strdup(c->id);
	j->timeout = c->stop_timeout;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	if (!j->id || pthread_create(&th, &at, stop_main, j) != 0) {
		free(j->id);
		free(j);
	} else {
		d->stoppers++;
		c->stop_sent = true;
	}
	pthread_attr_destroy(&at);
}

static void stop_task_locked(struct ddrv *d, struct dtask *t)
{
	t->stopping = true;
	if (t->starting) {
		/* The worker removes what it created. */
		cancel_start(t);
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		stop_container(d, &t->c[i]);
}

/* A container ended (died, or is gone): what it means for the task. */
static void container_ended(struct ddrv *d, struct dtask *t, struct dcont *c, bool has_code,
                            int code, bool oom)
{
	if (c->ended)
		return;
	c->ended = true;
	c->has_code = has_code;
	c->exit_code = has_code ? code : -1;
	c->oom = c->oom || oom;
	if (t->stopped)
		return;
	if (c->essential && !t->cause_set) {
		t->cause_set = true;
		t->exit_code = c->exit_code;
		if (!t->reason[0]) {
			const char *why = c->oom
			                      ? "OutOfMemoryError: Container killed due to memory "
			                        "usage"
			                      : "Essential container in task exited";
			if (snprintf(t->reason, sizeof(t->reason), "%s", why) < 0)
				t->reason[0] = '\0';
		}
		stop_task_locked(d, t);
	}
	for (size_t i = 0; i < t->n; i++)
		if (!t->c[i].ended)
			return;
	t->stopped = true;
	t->stopped_ms = drv_now_ms();
	if (!t->cause_set) {
		t->exit_code = -1;
		for (size_t i = 0; i < t->n; i++)
			if (t->c[i].essential) {
				t->exit_code = t->c[i].exit_code;
				break;
			}
	}
	if (!t->reason[0] && snprintf(t->reason, sizeof(t->reason), "Task stopped") < 0)
		t->reason[0] = '\0';
	queue_event(d, t);
}

static struct dcont *find_container(struct ddrv *d, const char *id, struct dtask **task)
{
	for (size_t i = 0; i < d->tasks.n; i++) {
		struct dtask *t = d->tasks.v[i];
		for (size_t j = 0; j < t->n; j++)
			if (t->c[j].id && strcmp(t->c[j].id, id) == 0) {
				*task = t;
				return &t->c[j];
			}
	}
	return NULL;
}

/* The engine's State.Health.Status, or the word after "health_status: " in
 * an event: "starting" (in the start period, or no verdict yet) counts as
 * UNKNOWN, as ECS shows it. */
static enum sched_driver_health health_of(const char *s)
{
	if (s && strcmp(s, "healthy") == 0)
		return SCHED_HEALTH_HEALTHY;
	if (s && strcmp(s, "unhealthy") == 0)
		return SCHED_HEALTH_UNHEALTHY;
	return SCHED_HEALTH_UNKNOWN;
}

/* Asks the engine about one container (lock held). 0 with the container
 * updated, -1 when the engine cannot be asked. */
static int refresh_container(struct ddrv *d, struct dtask *t, struct dcont *c)
{
	if (c->ended)
		return 0;
	char path[256], err[256];
	if (snprintf(path, sizeof(path), API "/containers/%s/json", c->id) < 0)
		return -1;
	int status;
	json_t *j = NULL;
	if (dhttp_request_json(&d->tgt, "GET", path, NULL, &status, &j, err, sizeof(err)) < 0)
		return -1;
	if (status == 404) {
		if (!t->reason[0] &&
		    snprintf(t->reason, sizeof(t->reason), "Container %s was removed from the host",
		             c->name) < 0)
			t->reason[0] = '\0';
		container_ended(d, t, c, false, -1, false);
	} else if (status == 200) {
		const json_t *st = json_object_get(j, "State");
		const char *s = json_string_value(json_object_get(st, "Status"));
		c->health = health_of(
		    json_string_value(json_object_get(json_object_get(st, "Health"), "Status")));
		if (s && (strcmp(s, "exited") == 0 || strcmp(s, "dead") == 0))
			container_ended(d, t, c, true,
			                (int)json_integer_value(json_object_get(st, "ExitCode")),
			                json_is_true(json_object_get(st, "OOMKilled")));
	} else {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* --- adopting what the engine has (open, and unknown ARNs) ------------------ */

static const char *label(const json_t *labels, const char *k)
{
	return json_string_value(json_object_get(labels, k));
}

static int by_index(const void *a, const void *b)
{
	const struct dcont *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

/* Lists taskgate's containers (of one task when arn is not NULL) and adds
 * the tasks not known yet. -1 when the engine cannot be asked. */
static int adopt(struct ddrv *d, const char *arn)
{
	json_t *f = json_pack("{s:[s]}", "label", DK_LABEL_MANAGED "=true");
	if (!f)
		return -1;
	if (arn) {
		size_t n = strlen(DK_LABEL_TASK) + strlen(arn) + 2;
		char *l = malloc(n);
		if (!l || snprintf(l, n, "%s=%s", DK_LABEL_TASK, arn) < 0) {
			free(l);
			json_decref(f);
			return -1;
		}
		json_array_append_new(json_object_get(f, "label"), json_string(l));
		free(l);
	}
	char *fs = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	char *q = fs ? dhttp_query_escape(fs) : NULL;
	free(fs);
	if (!q)
		return -1;
	size_t pn = strlen(q) + 64;
	char *path = malloc(pn);
	if (!path || snprintf(path, pn, API "/containers/json?all=1&filters=%s", q) < 0) {
		free(q);
		free(path);
		return -1;
	}
	free(q);
	int status;
	json_t *list = NULL;
	char err[256];
	int rc = dhttp_request_json(&d->tgt, "GET", path, NULL, &status, &list, err, sizeof(err));
	free(path);
	if (rc < 0 || status != 200 || !json_is_array(list)) {
		json_decref(list);
		return -1;
	}
	size_t i;
	json_t *e;
	struct dtask **fresh = NULL;
	size_t n_fresh = 0;
	json_array_foreach(list, i, e)
	{
		const json_t *labels = json_object_get(e, "Labels");
		const char *tarn = label(labels, DK_LABEL_TASK);
		const char *cname = label(labels, DK_LABEL_CONTAINER);
		const char *id = json_string_value(json_object_get(e, "Id"));
		if (!tarn || !cname || !id)
			continue;
		struct dtask *t = find_task(d, tarn);
		bool is_fresh = false;
		for (size_t k = 0; t && k < n_fresh; k++)
			is_fresh |= fresh[k] == t;
		if (t && !is_fresh)
			continue; /* already known */
		if (!t) {
			t = task_new();
			struct dtask **nf = realloc(fresh, (n_fresh + 1) * sizeof(*nf));
			if (!t || !nf || !(t->arn = strdup(tarn)) ||
			    drv_tasks_add(&d->tasks, t) < 0) {
				if (nf)
					fresh = nf;
				task_free(t);
				continue;
			}
			fresh = nf;
			fresh[n_fresh++] = t;
		}
		struct dcont *nc = realloc(t->c, (t->n + 1) * sizeof(*nc));
		if (!nc)
			continue;
		t->c = nc;
		struct dcont *c = &t->c[t->n];
		memset(c, 0, sizeof(*c));
		c->name = strdup(cname);
		c->id = strdup(id);
		if (!c->name || !c->id) {
			free(c->name);
			free(c->id);
			continue;
		}
		const char *es = label(labels, DK_LABEL_ESSENTIAL);
		c->essential = !es || strcmp(es, "false") != 0;
		const char *sts = label(labels, DK_LABEL_STOP_TIMEOUT);
		c->stop_timeout = sts ? atoi(sts) : d->co.stop_timeout;
		if (c->stop_timeout <= 0)
			c->stop_timeout = d->co.stop_timeout;
		const char *ix = label(labels, DK_LABEL_INDEX);
		c->index = ix ? atoi(ix) : 0;
		const char *hc = label(labels, DK_LABEL_HEALTH);
		c->has_check = hc && strcmp(hc, "true") == 0;
		const char *state = json_string_value(json_object_get(e, "State"));
		c->never_started = state && strcmp(state, "created") == 0;
		t->n++;
	}
	json_decref(list);
	/* Order containers as defined, then learn how each one is doing. */
	for (size_t k = 0; k < n_fresh; k++) {
		struct dtask *t = fresh[k];
		qsort(t->c, t->n, sizeof(*t->c), by_index);
		size_t before = d->events.n;
		bool interrupted = false;
		for (size_t j = 0; j < t->n; j++)
			interrupted |= t->c[j].never_started;
		if (interrupted) {
			/* Every start creates all containers, then starts them
			 * all: one never started means a gateway stopped in
			 * the middle (the task may lack containers too). What
			 * was made goes; the task failed to start. */
			for (size_t j = 0; j < t->n; j++) {
				remove_container(d, t->c[j].id);
				t->c[j].ended = true;
			}
			t->failed = t->cause_set = t->stopped = true;
			t->exit_code = -1;
			t->stopped_ms = drv_now_ms();
			if (snprintf(
			        t->reason, sizeof(t->reason),
			        "CannotStartContainerError: the gateway stopped while the task "
			        "was starting") < 0)
				t->reason[0] = '\0';
		}
		for (size_t j = 0; j < t->n; j++)
			refresh_container(d, t, &t->c[j]);
		/* What ended while no gateway ran is for inspect, not an event. */
		d->events.n = before;
	}
	free(fresh);
	return 0;
}

/* --- the event stream ----------------------------------------------------- */

struct evbuf {
	struct ddrv *d;
	char *buf;
	size_t len, cap;
	bool told;
};

static void handle_event(struct ddrv *d, const json_t *ev, bool *told)
{
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const json_t *actor = json_object_get(ev, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const json_t *attrs = json_object_get(actor, "Attributes");
	json_int_t tn = json_integer_value(json_object_get(ev, "timeNano"));
	if (!type || strcmp(type, "container") != 0 || !action || !id)
		return;
	pthread_mutex_lock(&d->lock);
	if (tn > d->since_ns)
		d->since_ns = tn;
	struct dtask *t = NULL;
	struct dcont *c = find_container(d, id, &t);
	if (!c) {
		/* A container of a task this driver has not seen (started by an
		 * earlier gateway after our scan): learn it. */
		const char *tarn = json_string_value(json_object_get(attrs, DK_LABEL_TASK));
		if (tarn && !find_task(d, tarn)) {
			size_t before = d->events.n;
			adopt(d, tarn);
			*told |= d->events.n > before;
		}
		pthread_mutex_unlock(&d->lock);
		return;
	}
	size_t before = d->events.n;
	if (strcmp(action, "oom") == 0) {
		c->oom = true;
	} else if (strcmp(action, "die") == 0) {
		const char *code = json_string_value(json_object_get(attrs, "exitCode"));
		container_ended(d, t, c, code != NULL, code ? atoi(code) : -1, false);
	} else if (strcmp(action, "destroy") == 0) {
		container_ended(d, t, c, false, -1, false);
	} else if (strncmp(action, "health_status:", 14) == 0 && c->has_check && !c->ended) {
		const char *v = action + 14;
		while (*v == ' ')
			v++;
		enum sched_driver_health h = health_of(v);
		if (h != c->health) {
			c->health = h;
			if (!t->starting && !t->stopped && !t->stopping)
				queue_event(d, t);
		}
	}
	*told |= d->events.n > before;
	pthread_mutex_unlock(&d->lock);
}

static int on_stream(void *ctx, const char *p, size_t n)
{
	struct evbuf *b = ctx;
	if (b->len + n > (1u << 20))
		return -1; /* one event never gets this large */
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 8192;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *nb = realloc(b->buf, nc);
		if (!nb)
			return -1;
		b->buf = nb;
		b->cap = nc;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	/* Events are JSON objects, one per line. */
	size_t start = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->buf[i] != '\n')
			continue;
		if (i > start) {
			json_t *ev = json_loadb(b->buf + start, i - start, 0, NULL);
			if (ev)
				handle_event(b->d, ev, &b->told);
			json_decref(ev);
		}
		start = i + 1;
	}
	memmove(b->buf, b->buf + start, b->len - start);
	b->len -= start;
	if (b->told && b->d->notify) {
		b->told = false;
		b->d->notify(b->d->notify_ctx);
	}
	return 0;
}

static bool wait_cancel(struct ddrv *d, int ms)
{
	struct pollfd p = {.fd = d->cancel[0], .events = POLLIN};
	return poll(&p, 1, ms) > 0;
}

static void *events_main(void *arg)
{
	struct ddrv *d = arg;
	int backoff = 100;
	char *q = NULL;
	{
		/* "health_status" matches the engine's "health_status: <verdict>"
		 * actions (the engine matches that name by prefix). */
		json_t *f = json_pack("{s:[s], s:[s], s:[s,s,s,s]}", "type", "container", "label",
		                      DK_LABEL_MANAGED "=true", "event", "die", "oom", "destroy",
		                      "health_status");
		char *fs = f ? json_dumps(f, JSON_COMPACT) : NULL;
		json_decref(f);
		q = fs ? dhttp_query_escape(fs) : NULL;
		free(fs);
	}
	while (q) {
		pthread_mutex_lock(&d->lock);
		bool quit = d->quit;
		long long since = d->since_ns;
		pthread_mutex_unlock(&d->lock);
		if (quit)
			break;
		char path[1024], err[256];
		struct dhttp_conn c;
		struct evbuf b = {.d = d};
		struct dhttp_parser *p = malloc(sizeof(*p));
		struct dhttp_target t = d->tgt;
		t.timeout_ms = d->tgt.timeout_ms;
		int rc = -1;
		if (p &&
		    snprintf(path, sizeof(path), API "/events?since=%lld.%09lld&filters=%s",
		             since / 1000000000LL, since % 1000000000LL, q) > 0 &&
		    dhttp_connect(&t, &c, err, sizeof(err)) == 0) {
			dhttp_parser_init(p, false, on_stream, &b);
			if (dhttp_send(&t, &c, "GET", path, NULL, err, sizeof(err)) == 0) {
				backoff = 100;
				rc = dhttp_recv(&c, p, d->cancel[0], -1, err, sizeof(err));
			}
			dhttp_close(&c);
		}
		(void)rc;
		free(p);
		free(b.buf);
		if (wait_cancel(d, backoff))
			break;
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	free(q);
	return NULL;
}

/* --- the driver calls ---------------------------------------------------------- */

static int remove_container(struct ddrv *d, const char *id)
{
	char path[256], err[256];
	int status;
	if (snprintf(path, sizeof(path), API "/containers/%s?force=1&v=1", id) < 0)
		return -1;
	if (dhttp_request(&d->tgt, "DELETE", path, NULL, &status, NULL, NULL, err, sizeof(err)) < 0)
		return -1;
	return status == 204 || status == 404 ? 0 : -1;
}

static int pull(struct ddrv *d, const char *image, int cancel_fd, char *reason, size_t cap)
{
	char *from, *tag;
	if (dk_image_ref(image, &from, &tag) < 0)
		return drv_fail(reason, cap, "out of memory");
	char *qf = dhttp_query_escape(from), *qt = dhttp_query_escape(tag);
	free(from);
	free(tag);
	size_t n = (qf ? strlen(qf) : 0) + (qt ? strlen(qt) : 0) + 64;
	char *path = malloc(n);
	char *auth = NULL;
	int rc = -1;
	if (!qf || !qt || !path ||
	    snprintf(path, n, API "/images/create?fromImage=%s%s%s", qf, *qt ? "&tag=" : "", qt) <
	        0) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	struct dhttp_target t = d->tgt;
	t.timeout_ms = 600000;
	int status;
	char *body = NULL;
	size_t len = 0;
	char err[256];
	if (d->auth_file) {
		/* the header exists only while this request is sent */
		char *a = NULL;
		if (dk_auth_for_image(d->auth_file, image, &a, err, sizeof(err)) < 0) {
			drv_fail(reason, cap, "CannotPullContainerError: %s: %s", image, err);
			goto out;
		}
		if (a) {
			size_t an = strlen(a) + sizeof("X-Registry-Auth: \r\n");
			auth = malloc(an);
			if (!auth || snprintf(auth, an, "X-Registry-Auth: %s\r\n", a) < 0) {
				dk_auth_free(a);
				drv_fail(reason, cap, "out of memory");
				goto out;
			}
			dk_auth_free(a);
			t.extra_header = auth;
		}
	}
	int sent = dhttp_request_cancel(&t, "POST", path, NULL, cancel_fd, &status, &body, &len,
	                                err, sizeof(err));
	dk_auth_free(auth);
	auth = NULL;
	if (sent < 0) {
		drv_fail(reason, cap, "CannotPullContainerError: %s: %s", image, err);
		goto out;
	}
	if (status != 200) {
		json_t *j = json_loadb(body, len, 0, NULL);
		drv_fail(reason, cap, "CannotPullContainerError: %s: %s", image, engine_message(j));
		json_decref(j);
		free(body);
		goto out;
	}
	/* A progress stream; a failed pull says so in an "error" field. */
	rc = 0;
	char *save = NULL;
	for (char *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *e = json_string_value(json_object_get(j, "error"));
		if (e) {
			drv_fail(reason, cap, "CannotPullContainerError: %s: %s", image, e);
			rc = -1;
		}
		json_decref(j);
	}
	free(body);
out:
	dk_auth_free(auth);
	free(qf);
	free(qt);
	free(path);
	return rc;
}

static int create_one(struct ddrv *d, const struct dk_create *s, int cancel_fd, char **id,
                      char *reason, size_t cap)
{
	char *qn = dhttp_query_escape(s->docker_name);
	if (!qn)
		return drv_fail(reason, cap, "out of memory");
	size_t n = strlen(qn) + 64;
	char *path = malloc(n);
	if (!path || snprintf(path, n, API "/containers/create?name=%s", qn) < 0) {
		free(qn);
		free(path);
		return drv_fail(reason, cap, "out of memory");
	}
	free(qn);
	int rc = -1;
	bool pulled = false, cleared = false;
	for (;;) {
		int status;
		json_t *j = NULL;
		char err[256];
		if (dhttp_request_json(&d->tgt, "POST", path, s->body, &status, &j, err,
		                       sizeof(err)) < 0) {
			drv_fail(reason, cap, "CannotCreateContainerError: container %s: %s",
			         s->name, err);
			break;
		}
		if (status == 201) {
			const char *cid = json_string_value(json_object_get(j, "Id"));
			*id = cid ? strdup(cid) : NULL;
			json_decref(j);
			if (!*id)
				drv_fail(reason, cap,
				         "CannotCreateContainerError: no container id");
			else
				rc = 0;
			break;
		}
		if (status == 404 && !pulled) {
			json_decref(j);
			pulled = true;
			if (pull(d, s->image, cancel_fd, reason, cap) < 0)
				break;
			continue;
		}
		if (status == 409 && !cleared) {
			/* A container of an earlier, interrupted start of the same
			 * task holds the name. */
			json_decref(j);
			cleared = true;
			remove_container(d, s->docker_name);
			continue;
		}
		drv_fail(reason, cap, "CannotCreateContainerError: container %s: %s", s->name,
		         engine_message(j));
		json_decref(j);
		break;
	}
	free(path);
	return rc;
}

/* --- starting: one detached worker per task --------------------------------- */

struct start_job {
	struct ddrv *d;
	struct dtask *t; /* in d's list; not freed while t->starting */
	struct dk_create *specs;
	size_t n;
};

static bool start_cancelled(struct ddrv *d, struct dtask *t)
{
	pthread_mutex_lock(&d->lock);
	bool c = t->stopping || d->quit;
	pthread_mutex_unlock(&d->lock);
	return c;
}

/* Creates and starts the task's containers without the driver's lock (the
 * lock is taken only to publish each container id and the outcome). */
static void *start_main(void *arg)
{
	struct start_job *j = arg;
	struct ddrv *d = j->d;
	struct dtask *t = j->t;
	char reason[256] = "";
	char **ids = calloc(j->n, sizeof(*ids));
	size_t made = 0, started = 0;
	bool ok = false;
	if (!ids) {
		drv_fail(reason, sizeof(reason), "out of memory");
		goto done;
	}
	for (; made < j->n && !start_cancelled(d, t); made++) {
		if (create_one(d, &j->specs[made], t->cancel_fd, &ids[made], reason,
		               sizeof(reason)) < 0)
			break;
		char *mine = strdup(ids[made]);
		pthread_mutex_lock(&d->lock);
		t->c[made].id = mine;
		pthread_mutex_unlock(&d->lock);
		if (!mine) {
			made++;
			drv_fail(reason, sizeof(reason), "out of memory");
			break;
		}
	}
	for (; made == j->n && started < j->n && !start_cancelled(d, t); started++) {
		char path[256], err[256];
		int status;
		json_t *r = NULL;
		if (snprintf(path, sizeof(path), API "/containers/%s/start", ids[started]) < 0 ||
		    dhttp_request_json(&d->tgt, "POST", path, NULL, &status, &r, err, sizeof(err)) <
		        0) {
			drv_fail(reason, sizeof(reason),
			         "CannotStartContainerError: container %s: %s", t->c[started].name,
			         err);
			break;
		}
		if (status != 204 && status != 304) {
			drv_fail(reason, sizeof(reason),
			         "CannotStartContainerError: container %s: %s", t->c[started].name,
			         engine_message(r));
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	ok = made == j->n && started == j->n;
done:
	pthread_mutex_lock(&d->lock);
	bool cancelled = t->stopping || d->quit;
	if (ok || t->stopped) {
		/* Running (a stop that came in the meantime is carried out
		 * now), or every container already ended by itself. */
		t->starting = false;
		if (!t->stopped && t->stopping)
			stop_task_locked(d, t);
		else if (!t->stopped)
			queue_event(d, t);
		ok = true;
	} else {
		/* Failed or cancelled: nothing of the task stays on the host.
		 * Ended first, so the die and destroy events of the removal
		 * change nothing. */
		for (size_t i = 0; i < t->n; i++)
			t->c[i].ended = true;
		if (!t->cause_set)
			t->exit_code = -1; /* else: the essential container's exit */
		t->cause_set = true;
		t->failed = !cancelled;
		if (!t->reason[0] || t->failed) {
			const char *why = reason[0] ? reason : "The task failed to start";
			if (cancelled && !reason[0])
				why = "Task stopped on request";
			if (snprintf(t->reason, sizeof(t->reason), "%s", why) < 0)
				t->reason[0] = '\0';
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (!ok)
		for (size_t i = 0; i < made; i++)
			if (ids[i])
				remove_container(d, ids[i]);
	pthread_mutex_lock(&d->lock);
	if (!ok) {
		t->starting = false;
		t->stopped = true;
		t->stopped_ms = drv_now_ms();
		queue_event(d, t);
	}
	bool tell = !d->quit && d->notify;
	/* Only this worker used the descriptor. */
	close(t->cancel_fd);
	t->cancel_fd = -1;
	d->starters--;
	pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
	if (tell)
		d->notify(d->notify_ctx);
	for (size_t i = 0; ids && i < j->n; i++)
		free(ids[i]);
	free(ids);
	dk_create_free(j->specs, j->n);
	free(j);
	return NULL;
}

static int drv_start(void *h, const json_t *task, const json_t *taskdef, const json_t *env,
                     char *reason, size_t cap)
{
	struct ddrv *d = h;
	const char *arn = json_string_value(json_object_get(task, "taskArn"));
	if (!arn)
		return drv_fail(reason, cap, "the task has no taskArn");
	pthread_mutex_lock(&d->lock);
	struct dk_create *specs = NULL;
	size_t n = 0;
	struct dtask *t = find_task(d, arn);
	struct start_job *j = NULL;
	int rc = -1;
	if (!t && adopt(d, arn) < 0) {
		drv_fail(reason, cap, "the Docker engine cannot be reached");
		goto out;
	}
	t = find_task(d, arn);
	if (t) {
		rc =
		    t->stopped ? drv_fail(reason, cap, "task %s already ran on this host", arn) : 0;
		t = NULL;
		goto out;
	}
	if (dk_create_build(task, taskdef, env, &d->co, &specs, &n, reason, cap) < 0)
		goto out;
	t = task_new();
	j = calloc(1, sizeof(*j));
	if (!t || !j || !(t->c = calloc(n, sizeof(*t->c))) || !(t->arn = strdup(arn))) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		t->c[i].name = strdup(specs[i].name);
		t->c[i].essential = specs[i].essential;
		t->c[i].has_check = specs[i].has_check;
		t->c[i].stop_timeout = specs[i].stop_timeout;
		t->c[i].index = (int)i;
		if (!t->c[i].name) {
			drv_fail(reason, cap, "out of memory");
			goto out;
		}
	}
	t->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->cancel_fd < 0) {
		drv_fail(reason, cap, "eventfd: %s", strerror(errno));
		goto out;
	}
	if (drv_tasks_add(&d->tasks, t) < 0) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	t->starting = true;
	*j = (struct start_job){.d = d, .t = t, .specs = specs, .n = n};
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int pc = pthread_create(&th, &at, start_main, j);
	pthread_attr_destroy(&at);
	if (pc != 0) {
		d->tasks.n--; /* added last, nothing ran since */
		drv_fail(reason, cap, "cannot start a thread for the task");
		goto out;
	}
	d->starters++;
	specs = NULL;
	n = 0;
	t = NULL;
	j = NULL;
	rc = 0;
out:
	free(j);
	task_free(t);
	dk_create_free(specs, n);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int drv_stop(void *h, const char *arn, char *reason, size_t cap)
{
	struct ddrv *d = h;
	pthread_mutex_lock(&d->lock);
	struct dtask *t = find_task(d, arn);
	if (!t && adopt(d, arn) < 0) {
		pthread_mutex_unlock(&d->lock);
		return drv_fail(reason, cap, "the Docker engine cannot be reached");
	}
	t = find_task(d, arn);
	if (t && !t->stopped) {
		if (!t->stopping && !t->reason[0] &&
		    snprintf(t->reason, sizeof(t->reason), "Task stopped on request") < 0)
			t->reason[0] = '\0';
		stop_task_locked(d, t);
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int drv_inspect(void *h, const char *arn, struct sched_driver_status *out)
{
	struct ddrv *d = h;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	struct dtask *t = find_task(d, arn);
	if (!t && adopt(d, arn) < 0) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	t = find_task(d, arn);
	if (!t) {
		out->state = SCHED_DRIVER_UNKNOWN;
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	int rc = 0;
	for (size_t i = 0; i < t->n && !t->stopped && !t->starting; i++)
		if (refresh_container(d, t, &t->c[i]) < 0)
			rc = -1;
	if (rc < 0 && !t->stopped) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	/* A stop that did not reach the engine is asked again. */
	if (!t->stopped && !t->starting && t->stopping)
		stop_task_locked(d, t);
	fill_status(t, out);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void cleanup_locked(struct ddrv *d)
{
	long long now = drv_now_ms();
	if (now - d->last_cleanup_ms < 60000)
		return;
	d->last_cleanup_ms = now;
	size_t w = 0;
	for (size_t i = 0; i < d->tasks.n; i++) {
		struct dtask *t = d->tasks.v[i];
		if (t->stopped && !t->starting &&
		    t->stopped_ms + (long long)d->retain_s * 1000 <= now) {
			bool all = true;
			for (size_t j = 0; j < t->n; j++)
				if (t->c[j].id && remove_container(d, t->c[j].id) < 0)
					all = false;
			if (all) {
				task_free(t);
				continue;
			}
		}
		d->tasks.v[w++] = t;
	}
	d->tasks.n = w;
}

static int drv_events(void *h, struct sched_driver_event *out, size_t cap)
{
	struct ddrv *d = h;
	pthread_mutex_lock(&d->lock);
	size_t n = drv_events_take(&d->events, out, cap);
	cleanup_locked(d);
	pthread_mutex_unlock(&d->lock);
	return (int)n;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Copies the names and Docker ids of the task's containers under the lock,
 * so that the engine calls of containers() and stats() run without it. 0,
 * or -1 with reason. */
static int task_ids(struct ddrv *d, const char *arn, char ***names, char ***ids, size_t *n,
                    char *reason, size_t cap)
{
	*names = *ids = NULL;
	*n = 0;
	pthread_mutex_lock(&d->lock);
	int r = 0;
	struct dtask *t = find_task(d, arn);
	if (!t && adopt(d, arn) < 0)
		r = -1;
	if (!t && r == 0) {
		t = find_task(d, arn);
		if (!t)
			r = -2;
	}
	if (t) {
		*names = calloc(t->n, sizeof(char *));
		*ids = calloc(t->n, sizeof(char *));
		if (!*names || !*ids)
			r = -1;
		for (size_t i = 0; r == 0 && i < t->n; i++) {
			(*names)[i] = strdup(t->c[i].name);
			(*ids)[i] = t->c[i].id ? strdup(t->c[i].id) : NULL;
			(*n)++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (r < 0) {
		strv_free(*names, *n);
		strv_free(*ids, *n);
		return drv_fail(reason, cap,
		                r == -2 ? "no task %s on this host"
		                        : "the Docker engine cannot be reached (%s)",
		                arn);
	}
	return 0;
}

/* GET API/containers/<id>/<what> as JSON; -1 with reason when the engine
 * cannot be reached. */
static int container_get(struct ddrv *d, const char *id, const char *what, int *status, json_t **j,
                         char *reason, size_t cap)
{
	char path[256], err[256] = "";
	if (snprintf(path, sizeof(path), API "/containers/%s/%s", id, what) < 0 ||
	    dhttp_request_json(&d->tgt, "GET", path, NULL, status, j, err, sizeof(err)) < 0)
		return drv_fail(reason, cap, "the Docker engine cannot be reached: %s", err);
	return 0;
}

static void copy_field(json_t *dst, const char *to, const json_t *src)
{
	if (src && !json_is_null(src))
		json_object_set(dst, to, (json_t *)src);
}

static int drv_containers(void *h, const char *arn, json_t **out, char *reason, size_t cap)
{
	struct ddrv *d = h;
	*out = NULL;
	char **names, **ids;
	size_t n;
	if (task_ids(d, arn, &names, &ids, &n, reason, cap) < 0)
		return -1;
	json_t *all = json_object();
	int rc = all ? 0 : -1;
	for (size_t i = 0; all && i < n; i++) {
		if (!ids[i] || !names[i])
			continue;
		int status;
		json_t *j = NULL;
		rc = container_get(d, ids[i], "json", &status, &j, reason, cap);
		if (rc < 0)
			break;
		json_t *o = json_object();
		if (status == 200 && o) {
			const json_t *st = json_object_get(j, "State");
			const json_t *cfg = json_object_get(j, "Config");
			json_object_set_new(o, "DockerId", json_string(ids[i]));
			const char *nm = json_string_value(json_object_get(j, "Name"));
			if (nm)
				json_object_set_new(o, "DockerName",
				                    json_string(nm[0] == '/' ? nm + 1 : nm));
			copy_field(o, "Image", json_object_get(cfg, "Image"));
			copy_field(o, "ImageID", json_object_get(j, "Image"));
			copy_field(o, "Labels", json_object_get(cfg, "Labels"));
			copy_field(o, "CreatedAt", json_object_get(j, "Created"));
			const char *s = json_string_value(json_object_get(st, "Status"));
			bool done = s && (!strcmp(s, "exited") || !strcmp(s, "dead"));
			json_object_set_new(
			    o, "KnownStatus",
			    json_string(
			        done ? "STOPPED"
			             : (s && !strcmp(s, "running") ? "RUNNING" : "PENDING")));
			copy_field(o, "StartedAt", json_object_get(st, "StartedAt"));
			if (done) {
				copy_field(o, "FinishedAt", json_object_get(st, "FinishedAt"));
				copy_field(o, "ExitCode", json_object_get(st, "ExitCode"));
			}
			copy_field(o, "Pid", json_object_get(st, "Pid"));
			json_object_set_new(all, names[i], o);
		} else {
			json_decref(o);
		}
		json_decref(j);
	}
	strv_free(names, n);
	strv_free(ids, n);
	if (rc < 0 || !all) {
		json_decref(all);
		return rc < 0 ? -1 : drv_fail(reason, cap, "out of memory");
	}
	*out = all;
	return 0;
}

static int drv_stats(void *h, const char *arn, json_t **out, char *reason, size_t cap)
{
	struct ddrv *d = h;
	*out = NULL;
	char **names, **ids;
	size_t n;
	if (task_ids(d, arn, &names, &ids, &n, reason, cap) < 0)
		return -1;
	json_t *all = json_object();
	int rc = all ? 0 : drv_fail(reason, cap, "out of memory");
	for (size_t i = 0; all && i < n; i++) {
		if (!ids[i])
			continue;
		int status;
		json_t *j = NULL;
		rc = container_get(d, ids[i], "stats?stream=false", &status, &j, reason, cap);
		if (rc < 0)
			break;
		if (status == 200 && json_is_object(j))
			json_object_set(all, ids[i], j);
		json_decref(j);
	}
	strv_free(names, n);
	strv_free(ids, n);
	if (rc < 0) {
		json_decref(all);
		return -1;
	}
	*out = all;
	return 0;
}

/* --- open and close -------------------------------------------------------- */

static void drv_free(struct ddrv *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		pthread_mutex_lock(&d->lock);
		d->quit = true;
		pthread_mutex_unlock(&d->lock);
		ssize_t w = write(d->cancel[1], "x", 1);
		(void)w;
		pthread_join(d->thread, NULL);
	}
	pthread_mutex_lock(&d->lock);
	/* Starts in progress give up and remove what they made: a task
	 * half-created by this gateway is not left for the next one. */
	d->quit = true;
	for (size_t i = 0; i < d->tasks.n; i++)
		cancel_start(d->tasks.v[i]);
	while (d->stoppers > 0 || d->starters > 0)
		pthread_cond_wait(&d->idle, &d->lock);
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < d->tasks.n; i++)
		task_free(d->tasks.v[i]);
	drv_tasks_free(&d->tasks);
	drv_events_free(&d->events);
	if (d->cancel[0] >= 0)
		close(d->cancel[0]);
	if (d->cancel[1] >= 0)
		close(d->cancel[1]);
	if (d->tls)
		dhttp_tls_free(d->tls);
	free(d->sock);
	free(d->host);
	free(d->bind_ip);
	free(d->net_mode);
	free(d->engine_version);
	free(d->auth_file);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int parse_hostport(const char *addr, char **host, int *port)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1])
		return -1;
	const char *h = addr;
	size_t hn = (size_t)(colon - addr);
	if (h[0] == '[' && hn >= 2 && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p <= 0 || p > 65535)
		return -1;
	*host = strndup(h, hn);
	*port = (int)p;
	return *host ? 0 : -1;
}

int sched_docker_driver_open(const struct sched_docker_opts *opts, struct sched_driver *out,
                             char *err, size_t err_cap)
{
	memset(out, 0, sizeof(*out));
	if (!opts)
		return drv_fail(err, err_cap, "no options");
	struct ddrv *d = calloc(1, sizeof(*d));
	if (!d)
		return drv_fail(err, err_cap, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	d->cancel[0] = d->cancel[1] = -1;
	d->tasks.arn_offset = offsetof(struct dtask, arn);
	d->retain_s = opts->retain_seconds > 0 ? opts->retain_seconds : 10800;
	d->notify = opts->notify;
	d->notify_ctx = opts->notify_ctx;
	d->bind_ip = strdup(opts->port_bind_ip ? opts->port_bind_ip : "127.0.0.1");
	d->net_mode = strdup(opts->network_mode ? opts->network_mode : "bridge");
	if (!d->bind_ip || !d->net_mode) {
		drv_free(d);
		return drv_fail(err, err_cap, "out of memory");
	}
	if (opts->registry_auth_file) {
		/* a file that is not private or not well formed refuses the
		 * start, as a bad master key file does, not a pull hours later */
		if (dk_auth_for_image(opts->registry_auth_file, NULL, NULL, err, err_cap) < 0) {
			drv_free(d);
			return -1;
		}
		d->auth_file = strdup(opts->registry_auth_file);
		if (!d->auth_file) {
			drv_free(d);
			return drv_fail(err, err_cap, "out of memory");
		}
	}
	if (strcmp(d->net_mode, "bridge") && strcmp(d->net_mode, "host") &&
	    strcmp(d->net_mode, "none")) {
		drv_free(d);
		return drv_fail(err, err_cap, "network mode must be bridge, host or none");
	}
	d->co.bind_ip = d->bind_ip;
	d->co.network_mode = d->net_mode;
	d->co.stop_timeout = opts->stop_timeout > 0 ? opts->stop_timeout : 30;
	d->tgt.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	if (opts->tcp_address) {
		if (parse_hostport(opts->tcp_address, &d->host, &d->tgt.port) < 0) {
			drv_free(d);
			return drv_fail(err, err_cap, "the engine address must be host:port");
		}
		d->tgt.host = d->host;
		d->tls = dhttp_tls_new(opts->tls_ca, opts->tls_cert, opts->tls_key, err, err_cap);
		if (!d->tls) {
			drv_free(d);
			return -1;
		}
		d->tgt.tls = d->tls;
	} else {
		d->sock = strdup(opts->socket_path ? opts->socket_path : "/var/run/docker.sock");
		if (!d->sock) {
			drv_free(d);
			return drv_fail(err, err_cap, "out of memory");
		}
		d->tgt.unix_path = d->sock;
	}
	int status;
	char *body = NULL;
	if (dhttp_request(&d->tgt, "GET", "/_ping", NULL, &status, &body, NULL, err, err_cap) < 0) {
		drv_free(d);
		return -1;
	}
	bool pong = status == 200 && body && strcmp(body, "OK") == 0;
	free(body);
	if (!pong) {
		drv_free(d);
		return drv_fail(err, err_cap, "not a Docker engine (GET /_ping answered %d)",
		                status);
	}
	json_t *v = NULL;
	if (dhttp_request_json(&d->tgt, "GET", "/version", NULL, &status, &v, err, err_cap) < 0) {
		drv_free(d);
		return -1;
	}
	const char *ver = json_string_value(json_object_get(v, "Version"));
	/* kept for the local container instance's versionInfo.dockerVersion;
	 * capped, since it is the engine's word, shown as given */
	if (ver && ver[0] && strlen(ver) <= 64)
		d->engine_version = strdup(ver);
	const char *api = json_string_value(json_object_get(v, "ApiVersion"));
	const char *minapi = json_string_value(json_object_get(v, "MinAPIVersion"));
	int amaj = 0, amin = 0, mmaj = 1, mmin = 12;
	bool ok = api && sscanf(api, "%d.%d", &amaj, &amin) == 2 &&
	          (amaj > 1 || (amaj == 1 && amin >= 41)) &&
	          (!minapi || (sscanf(minapi, "%d.%d", &mmaj, &mmin) == 2 &&
	                       (mmaj < 1 || (mmaj == 1 && mmin <= 41))));
	json_decref(v);
	if (!ok) {
		drv_free(d);
		return drv_fail(err, err_cap, "the engine does not speak Engine API 1.41");
	}
	d->since_ns = (drv_now_ms() - 1000) * 1000000LL;
	if (adopt(d, NULL) < 0) {
		drv_free(d);
		return drv_fail(err, err_cap, "cannot list the engine's containers");
	}
	d->events.n = 0;
	/* Tasks whose essential container ended while no gateway ran: stop
	 * the rest now, as the agent would have. */
	for (size_t i = 0; i < d->tasks.n; i++) {
		struct dtask *t = d->tasks.v[i];
		if (t->cause_set && !t->stopped)
			stop_task_locked(d, t);
	}
	if (pipe2(d->cancel, O_CLOEXEC) < 0 ||
	    pthread_create(&d->thread, NULL, events_main, d) != 0) {
		drv_free(d);
		return drv_fail(err, err_cap, "cannot start the event thread");
	}
	d->thread_started = true;
	out->name = "docker";
	out->handle = d;
	out->start = drv_start;
	out->stop = drv_stop;
	out->inspect = drv_inspect;
	out->events = drv_events;
	out->containers = drv_containers;
	out->stats = drv_stats;
	return 0;
}

void sched_docker_driver_close(struct sched_driver *d)
{
	if (!d || !d->handle)
		return;
	drv_free(d->handle);
	d->handle = NULL;
}

const char *sched_docker_driver_engine_version(const struct sched_driver *d)
{
	if (!d || !d->handle || !d->name || strcmp(d->name, "docker") != 0)
		return NULL;
	const struct ddrv *dd = d->handle;
	return dd->engine_version;
}
