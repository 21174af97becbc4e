/*
 * fake_driver.c - the in-memory container host the scheduler's tests use.
 *
 * It keeps one record per task ARN it was asked to start: a copy of the task
 * and task definition JSON and of the environment, and a state. Nothing runs;
 * the tests steer what the scheduler will see: starts that fail (at once, or
 * later as a driver that starts in the background reports them), tasks that
 * stay PENDING until the next inspect, containers that die (an event, then
 * STOPPED with the exit code), and a host that forgets everything.
 *
 * The fake is made and freed by the test, not by a scheduler, so a test can
 * close a scheduler, open a new one on the same store and the same fake, and
 * see what a gateway restart with containers still running looks like. It
 * locks itself, so several schedulers (or threads) may share one.
 *
 * What "PENDING, then RUNNING on the next inspect" means exactly: with
 * start_pending on, a started task is PENDING; the first inspect of it moves
 * it to RUNNING and reports RUNNING. sched_fake_starts counts starts that
 * succeeded (refused ones, from sched_fake_fail_starts, are not counted).
 */
#include "scheduler/driver.h"
#include "scheduler/driver_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_task {
	char *arn;
	json_t *task;
	json_t *taskdef;
	json_t *env;
	struct sched_driver_status st;
};

struct sched_fake {
	pthread_mutex_t lock;
	struct fake_task *v;
	size_t n, cap;
	bool start_pending;
	int fail_left;
	char fail_reason[256];
	int fail_later_left;
	char fail_later_reason[256];
	struct drv_event_queue events;
	size_t starts;
};

static void set_reason(char *dst, size_t cap, const char *src)
{
	if (!dst || cap == 0)
		return;
	int n = snprintf(dst, cap, "%s", src ? src : "");
	if (n < 0)
		dst[0] = '\0';
}

struct sched_fake *sched_fake_new(void)
{
	struct sched_fake *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void task_clear(struct fake_task *t)
{
	free(t->arn);
	json_decref(t->task);
	json_decref(t->taskdef);
	json_decref(t->env);
	memset(t, 0, sizeof(*t));
}

void sched_fake_free(struct sched_fake *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		task_clear(&f->v[i]);
	free(f->v);
	drv_events_free(&f->events);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct fake_task *find(const struct sched_fake *f, const char *arn)
{
	if (!arn)
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].arn, arn) == 0)
			return &f->v[i];
	return NULL;
}

static int push_event(struct sched_fake *f, const struct fake_task *t)
{
	struct sched_driver_event *e = drv_events_add(&f->events, t->arn);
	if (!e)
		return -1;
	e->status = t->st;
	return 0;
}

static int fake_start(void *handle, const json_t *task, const json_t *taskdef, const json_t *env,
                      char *reason, size_t reason_cap)
{
	struct sched_fake *f = handle;
	const char *arn = json_string_value(json_object_get(task, "taskArn"));
	if (!arn || !arn[0]) {
		set_reason(reason, reason_cap, "fake driver: the task has no taskArn");
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	int rc = -1;
	if (f->fail_left > 0) {
		f->fail_left--;
		set_reason(reason, reason_cap, f->fail_reason);
		goto out;
	}
	struct fake_task *t = find(f, arn);
	if (!t) {
		if (f->n == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 16;
			struct fake_task *p = realloc(f->v, cap * sizeof(*p));
			if (!p) {
				set_reason(reason, reason_cap, "fake driver: out of memory");
				goto out;
			}
			f->v = p;
			f->cap = cap;
		}
		t = &f->v[f->n];
		memset(t, 0, sizeof(*t));
		t->arn = strdup(arn);
		if (!t->arn) {
			set_reason(reason, reason_cap, "fake driver: out of memory");
			goto out;
		}
		f->n++;
	}
	json_decref(t->task);
	json_decref(t->taskdef);
	json_decref(t->env);
	t->task = json_deep_copy(task);
	t->taskdef = taskdef ? json_deep_copy(taskdef) : json_object();
	t->env = env ? json_deep_copy(env) : json_object();
	if (!t->task || !t->taskdef || !t->env) {
		/* leave a record that inspect reports as failed, not a half one */
		memset(&t->st, 0, sizeof(t->st));
		t->st.state = SCHED_DRIVER_STOPPED;
		t->st.failed_to_start = true;
		set_reason(t->st.reason, sizeof(t->st.reason), "fake driver: out of memory");
		set_reason(reason, reason_cap, "fake driver: out of memory");
		goto out;
	}
	memset(&t->st, 0, sizeof(t->st));
	if (f->fail_later_left > 0) {
		/* Accepted, then failed in the background: an event says so. */
		f->fail_later_left--;
		t->st.state = SCHED_DRIVER_STOPPED;
		t->st.failed_to_start = true;
		t->st.exit_code = -1;
		set_reason(t->st.reason, sizeof(t->st.reason), f->fail_later_reason);
		rc = push_event(f, t);
		goto out;
	}
	t->st.state = f->start_pending ? SCHED_DRIVER_PENDING : SCHED_DRIVER_RUNNING;
	f->starts++;
	rc = 0;
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int fake_stop(void *handle, const char *task_arn, char *reason, size_t reason_cap)
{
	(void)reason;
	(void)reason_cap;
	struct sched_fake *f = handle;
	pthread_mutex_lock(&f->lock);
	struct fake_task *t = find(f, task_arn);
	if (t && t->st.state != SCHED_DRIVER_STOPPED) {
		t->st.state = SCHED_DRIVER_STOPPED;
		t->st.failed_to_start = false;
		t->st.exit_code = 0;
		set_reason(t->st.reason, sizeof(t->st.reason), "Task stopped by the scheduler");
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_inspect(void *handle, const char *task_arn, struct sched_driver_status *out)
{
	struct sched_fake *f = handle;
	pthread_mutex_lock(&f->lock);
	struct fake_task *t = find(f, task_arn);
	memset(out, 0, sizeof(*out));
	if (t) {
		if (t->st.state == SCHED_DRIVER_PENDING)
			t->st.state = SCHED_DRIVER_RUNNING;
		*out = t->st;
	} else {
		out->state = SCHED_DRIVER_UNKNOWN;
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_events(void *handle, struct sched_driver_event *out, size_t cap)
{
	struct sched_fake *f = handle;
	pthread_mutex_lock(&f->lock);
	size_t n = drv_events_take(&f->events, out, cap);
	pthread_mutex_unlock(&f->lock);
	return (int)n;
}

struct sched_driver sched_fake_driver(struct sched_fake *f)
{
	struct sched_driver d = {
	    .name = "fake",
	    .handle = f,
	    .start = fake_start,
	    .stop = fake_stop,
	    .inspect = fake_inspect,
	    .events = fake_events,
	};
	return d;
}

void sched_fake_start_pending(struct sched_fake *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->start_pending = on;
	pthread_mutex_unlock(&f->lock);
}

void sched_fake_fail_starts(struct sched_fake *f, int n, const char *reason)
{
	pthread_mutex_lock(&f->lock);
	f->fail_left = n > 0 ? n : 0;
	set_reason(f->fail_reason, sizeof(f->fail_reason),
	           reason ? reason : "CannotPullContainerError: fake driver refused the start");
	pthread_mutex_unlock(&f->lock);
}

void sched_fake_fail_starts_later(struct sched_fake *f, int n, const char *reason)
{
	pthread_mutex_lock(&f->lock);
	f->fail_later_left = n > 0 ? n : 0;
	set_reason(f->fail_later_reason, sizeof(f->fail_later_reason),
	           reason ? reason : "CannotPullContainerError: fake driver failed the start");
	pthread_mutex_unlock(&f->lock);
}

int sched_fake_kill(struct sched_fake *f, const char *task_arn, int exit_code)
{
	pthread_mutex_lock(&f->lock);
	int rc = -1;
	struct fake_task *t = find(f, task_arn);
	if (t && t->st.state != SCHED_DRIVER_STOPPED) {
		t->st.state = SCHED_DRIVER_STOPPED;
		t->st.failed_to_start = false;
		t->st.exit_code = exit_code;
		set_reason(t->st.reason, sizeof(t->st.reason),
		           "Essential container in task exited");
		rc = push_event(f, t);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int sched_fake_set_health(struct sched_fake *f, const char *task_arn,
                          enum sched_driver_health health)
{
	pthread_mutex_lock(&f->lock);
	int rc = -1;
	struct fake_task *t = find(f, task_arn);
	if (t && t->st.state == SCHED_DRIVER_RUNNING) {
		/* Every container says the same, as if each had a check. */
		t->st.health = health;
		size_t n = json_array_size(json_object_get(t->task, "containers"));
		t->st.n_health = n < SCHED_DRIVER_MAX_CONTAINERS ? n : SCHED_DRIVER_MAX_CONTAINERS;
		for (size_t i = 0; i < t->st.n_health; i++)
			t->st.container_health[i] = health;
		rc = push_event(f, t);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void sched_fake_forget_all(struct sched_fake *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		task_clear(&f->v[i]);
	f->n = 0;
	f->events.n = 0;
	pthread_mutex_unlock(&f->lock);
}

size_t sched_fake_live(const struct sched_fake *f)
{
	struct sched_fake *m = (struct sched_fake *)f;
	pthread_mutex_lock(&m->lock);
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].st.state == SCHED_DRIVER_RUNNING ||
		    f->v[i].st.state == SCHED_DRIVER_PENDING)
			n++;
	pthread_mutex_unlock(&m->lock);
	return n;
}

size_t sched_fake_starts(const struct sched_fake *f)
{
	struct sched_fake *m = (struct sched_fake *)f;
	pthread_mutex_lock(&m->lock);
	size_t n = f->starts;
	pthread_mutex_unlock(&m->lock);
	return n;
}

const json_t *sched_fake_task(const struct sched_fake *f, const char *task_arn)
{
	struct sched_fake *m = (struct sched_fake *)f;
	pthread_mutex_lock(&m->lock);
	const struct fake_task *t = find(f, task_arn);
	const json_t *j = t ? t->task : NULL;
	pthread_mutex_unlock(&m->lock);
	return j;
}

const json_t *sched_fake_env(const struct sched_fake *f, const char *task_arn)
{
	struct sched_fake *m = (struct sched_fake *)f;
	pthread_mutex_lock(&m->lock);
	const struct fake_task *t = find(f, task_arn);
	const json_t *j = t ? t->env : NULL;
	pthread_mutex_unlock(&m->lock);
	return j;
}
