/*
 * driver_process.c - the `process` driver: a task's containers as local
 * processes, the embedded default when no Docker engine is configured.
 *
 * Layout on disk, under run_dir (0700):
 *   tasks/<task id>/state.json        the task ARN, its containers, their
 *                                     supervisor and process pids with each
 *                                     pid's start time, whether a stop was asked
 *   tasks/<task id>/<container>/stdout, stderr   the container's output
 *   tasks/<task id>/<container>/exit  how it ended, written by its supervisor
 *
 * Each container runs under a supervisor (process_shim.c) that outlives the
 * gateway and records the exit status. The driver watches the supervisors
 * through pidfds in one thread: a supervisor's pidfd turns readable when it
 * exits, which is right after its container ended, so a dying container is
 * noticed at once. When an essential container ends, the task's other
 * containers are asked to stop, as the ECS agent does; once all have ended
 * the task is STOPPED and an event is queued.
 *
 * A driver opened on a run_dir that holds tasks (a restarted gateway) reads
 * every state.json: a container with an exit file has ended; one whose
 * supervisor is alive with the recorded start time (checked after opening a
 * pidfd on it, so the pidfd cannot name a reused pid) is watched again; one
 * whose supervisor vanished without an exit file is killed if its process is
 * still the recorded one, and counts as ended with an unknown exit code.
 *
 * A container definition's healthCheck is run by the watcher thread too
 * (process_health.c): its pidfd is polled with the supervisors', its timers
 * bound the poll, and a change of a task's health queues an event. Only the
 * definition's healthCheck and the container's working directory and ids
 * are kept in state.json; a driver opened again starts each check afresh
 * from UNKNOWN, with the environment read back from the running container.
 *
 * The lock guards the task list; only the watcher thread frees tasks (when a
 * STOPPED task's retention ends), so the pointers it polls stay valid.
 */
#include "scheduler/driver.h"
#include "scheduler/driver_int.h"
#include "scheduler/process_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct pcont {
	char *name;
	bool essential;
	int stop_timeout;
	pid_t shim;
	unsigned long long shim_start;
	pid_t pid;
	unsigned long long pid_start;
	int pidfd; /* the supervisor's; -1 when not watched */
	bool done;
	bool has_exit;
	struct pshim_exit ex;
	long long started_ms, finished_ms;
	/* the health check: the definition's (kept in state.json), what runs
	 * it (NULL: none), and where and as whom the container runs */
	json_t *hc_def;
	struct phealth *hc;
	char *cwd;
	bool set_ids;
	uid_t uid;
	gid_t gid;
	/* the last stats sample, handed back as precpu_stats (read_ns 0:
	 * none yet) */
	struct pstats_sample stats_prev;
};

struct ptask {
	char *arn;
	char *dir;
	struct pcont *c;
	size_t n;
	bool stopping;
	bool failed; /* a container could not start */
	bool stopped;
	bool cause_set;
	int exit_code;
	char reason[256];
	long long stopped_ms;
};

struct pdrv {
	pthread_mutex_t lock;
	char *run_dir;
	char *tasks_dir;
	int stop_timeout;
	int retain_s;
	void (*notify)(void *);
	void *notify_ctx;
	struct drv_tasks tasks; /* of struct ptask */
	struct drv_event_queue events;
	bool loading; /* no events for what happened while no gateway ran */
	int wake;     /* eventfd */
	bool quit;
	bool thread_started;
	pthread_t thread;
	long long last_prune_ms;
};

/* <dir>/<container>/<file> into buf; false when it does not fit. */
static bool cpath(char *buf, size_t cap, const char *dir, const char *name, const char *file)
{
	int n = snprintf(buf, cap, "%s/%s/%s", dir, name, file);
	return n > 0 && (size_t)n < cap;
}

static void wake(struct pdrv *d)
{
	uint64_t one = 1;
	ssize_t w = write(d->wake, &one, sizeof(one));
	(void)w;
}

static void task_free(struct ptask *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		if (t->c[i].pidfd >= 0)
			close(t->c[i].pidfd);
		free(t->c[i].name);
		phealth_free(t->c[i].hc);
		json_decref(t->c[i].hc_def);
		free(t->c[i].cwd);
	}
	free(t->c);
	free(t->arn);
	free(t->dir);
	free(t);
}

static struct ptask *find_task(struct pdrv *d, const char *arn)
{
	return drv_tasks_find(&d->tasks, arn);
}

/* state.json, written to a temporary file and renamed over the old one. */
static int save_state(const struct ptask *t)
{
	json_t *cs = json_array();
	json_t *doc = json_pack("{s:s, s:b, s:b, s:o}", "taskArn", t->arn, "stopping", t->stopping,
	                        "failed", t->failed, "containers", cs);
	if (!doc)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct pcont *c = &t->c[i];
		json_t *o = json_pack(
		    "{s:s, s:b, s:i, s:i, s:I, s:i, s:I, s:I}", "name", c->name, "essential",
		    c->essential, "stopTimeout", c->stop_timeout, "shimPid", (int)c->shim,
		    "shimStart", (json_int_t)c->shim_start, "pid", (int)c->pid, "pidStart",
		    (json_int_t)c->pid_start, "startedAt", (json_int_t)c->started_ms);
		if (!o || json_array_append_new(cs, o) < 0) {
			json_decref(doc);
			return -1;
		}
		if (c->hc_def &&
		    (json_object_set(o, "healthCheck", c->hc_def) < 0 ||
		     json_object_set_new(o, "cwd", json_string(c->cwd ? c->cwd : "")) < 0 ||
		     json_object_set_new(o, "setIds", json_boolean(c->set_ids)) < 0 ||
		     json_object_set_new(o, "uid", json_integer((json_int_t)c->uid)) < 0 ||
		     json_object_set_new(o, "gid", json_integer((json_int_t)c->gid)) < 0)) {
			json_decref(doc);
			return -1;
		}
	}
	char *tmp = pcspec_path_join(t->dir, "state.json.tmp");
	char *fin = pcspec_path_join(t->dir, "state.json");
	int rc = -1;
	if (tmp && fin && json_dump_file(doc, tmp, JSON_COMPACT) == 0 && rename(tmp, fin) == 0)
		rc = 0;
	free(tmp);
	free(fin);
	json_decref(doc);
	return rc;
}

/* A container's health as its running check last judged it (no check
 * running: none), for drv_task_health. */
static struct drv_container_health container_health(const void *task, size_t i)
{
	const struct pcont *c = &((const struct ptask *)task)->c[i];
	return (struct drv_container_health){c->hc != NULL, c->essential,
	                                     c->hc ? c->hc->verdict : SCHED_HEALTH_UNKNOWN};
}

static void fill_status(const struct ptask *t, struct sched_driver_status *out)
{
	memset(out, 0, sizeof(*out));
	if (t->stopped) {
		out->state = SCHED_DRIVER_STOPPED;
		out->failed_to_start = t->failed;
		out->exit_code = t->exit_code;
		memcpy(out->reason, t->reason, sizeof(out->reason));
	} else {
		out->state = SCHED_DRIVER_RUNNING;
		drv_task_health(t, t->n, container_health, out);
	}
}

static void queue_event(struct pdrv *d, const struct ptask *t)
{
	if (d->loading)
		return;
	struct sched_driver_event *e = drv_events_add(&d->events, t->arn);
	if (e)
		fill_status(t, &e->status);
}

static void signal_container(struct pcont *c, int sig)
{
	if (c->done || c->pidfd < 0)
		return;
	pidfd_send_signal(c->pidfd, sig, NULL, 0);
}

static void stop_task_locked(struct ptask *t)
{
	if (!t->stopping) {
		t->stopping = true;
		save_state(t);
	}
	for (size_t i = 0; i < t->n; i++)
		signal_container(&t->c[i], SIGTERM);
}

static int container_exit_code(const struct pcont *c)
{
	return c->has_exit ? pshim_exit_code(&c->ex) : -1;
}

/* A container ended: what it means for its task. */
static void container_ended(struct pdrv *d, struct ptask *t, struct pcont *c)
{
	if (t->stopped)
		return;
	if (c->essential && !t->cause_set) {
		t->cause_set = true;
		t->exit_code = container_exit_code(c);
		if (!t->stopping && !t->failed && !t->reason[0]) {
			if (snprintf(t->reason, sizeof(t->reason),
			             "Essential container in task exited") < 0)
				t->reason[0] = '\0';
		}
		stop_task_locked(t);
	}
	for (size_t i = 0; i < t->n; i++)
		if (!t->c[i].done)
			return;
	t->stopped = true;
	t->stopped_ms = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].finished_ms > t->stopped_ms)
			t->stopped_ms = t->c[i].finished_ms;
	if (!t->stopped_ms)
		t->stopped_ms = drv_now_ms();
	if (!t->reason[0] && snprintf(t->reason, sizeof(t->reason), "Task stopped") < 0)
		t->reason[0] = '\0';
	queue_event(d, t);
}

/* Reads the exit file of a container whose supervisor is gone. */
static void finish_container(struct ptask *t, struct pcont *c)
{
	char p[PATH_MAX];
	c->done = true;
	if (cpath(p, sizeof(p), t->dir, c->name, "exit") && pshim_read_exit(p, &c->ex) == 1) {
		c->has_exit = true;
		c->finished_ms = c->ex.finished_ms;
		return;
	}
	/* The supervisor died without writing (killed by someone): its
	 * container may live on; end it if the pid is still the one we
	 * started (same start time). */
	unsigned long long st;
	if (c->pid > 0 && proc_start_time(c->pid, &st) == 0 && st == c->pid_start) {
		int fd = pidfd_open(c->pid, 0);
		if (fd >= 0) {
			if (proc_start_time(c->pid, &st) == 0 && st == c->pid_start)
				pidfd_send_signal(fd, SIGKILL, NULL, 0);
			close(fd);
		}
	}
	c->finished_ms = drv_now_ms();
	if (!t->reason[0] &&
	    snprintf(t->reason, sizeof(t->reason),
	             "The supervisor of container %s exited without an exit status", c->name) < 0)
		t->reason[0] = '\0';
}

static void supervisor_exited(struct pdrv *d, struct ptask *t, struct pcont *c)
{
	/* Reap it if it is our child, whether this driver or an earlier one
	 * in the same process started it: waiting on the pidfd names exactly
	 * that process, never a reused pid, and fails (ECHILD) for a process
	 * another parent owns. */
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	(void)waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG);
	close(c->pidfd);
	c->pidfd = -1;
	if (c->done)
		return; /* its end was read when the driver opened */
	finish_container(t, c);
	container_ended(d, t, c);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void prune(struct pdrv *d)
{
	long long now = drv_now_ms();
	d->last_prune_ms = now;
	size_t w = 0;
	for (size_t i = 0; i < d->tasks.n; i++) {
		struct ptask *t = d->tasks.v[i];
		if (t->stopped && t->stopped_ms + (long long)d->retain_s * 1000 <= now) {
			nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			task_free(t);
			continue;
		}
		d->tasks.v[w++] = t;
	}
	d->tasks.n = w;
}

/* How long the watcher may sleep: until the next check is due or overdue. */
static int health_wait(struct pdrv *d)
{
	long long now = drv_now_ms(), best = 60000;
	for (size_t i = 0; i < d->tasks.n; i++) {
		const struct ptask *t = d->tasks.v[i];
		for (size_t j = 0; j < t->n; j++) {
			const struct phealth *h = t->c[j].hc;
			if (!h || t->c[j].done || t->stopping)
				continue;
			long long left = h->next_ms - now;
			if (left < best)
				best = left < 0 ? 0 : left;
		}
	}
	return (int)best;
}

/* Runs what is due of every check (lock held); a task whose health changed
 * gets an event. Checks of ended containers and stopping tasks end. */
static void health_steps(struct pdrv *d)
{
	long long now = drv_now_ms();
	for (size_t i = 0; i < d->tasks.n; i++) {
		struct ptask *t = d->tasks.v[i];
		bool changed = false;
		for (size_t j = 0; j < t->n; j++) {
			struct pcont *c = &t->c[j];
			if (!c->hc)
				continue;
			if (c->done || t->stopping || t->stopped) {
				phealth_kill(c->hc);
				continue;
			}
			changed |= phealth_step(c->hc, now);
		}
		if (changed && !t->stopping && !t->stopped)
			queue_event(d, t);
	}
}

static void *watch_main(void *arg)
{
	struct pdrv *d = arg;
	struct pollfd *fds = NULL;
	struct pcont **cs = NULL;
	struct ptask **ts = NULL;
	size_t cap = 0;
	for (;;) {
		pthread_mutex_lock(&d->lock);
		if (d->quit) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		size_t want = 1;
		for (size_t i = 0; i < d->tasks.n; i++) {
			const struct ptask *t = d->tasks.v[i];
			want += 2 * t->n; /* supervisors and checks */
		}
		if (want > cap) {
			struct pollfd *nf = realloc(fds, want * sizeof(*fds));
			if (nf)
				fds = nf;
			struct pcont **nc = realloc(cs, want * sizeof(*cs));
			if (nc)
				cs = nc;
			struct ptask **nt = realloc(ts, want * sizeof(*ts));
			if (nt)
				ts = nt;
			if (nf && nc && nt)
				cap = want;
		}
		size_t n = 0;
		if (cap) {
			fds[n++] = (struct pollfd){.fd = d->wake, .events = POLLIN};
			for (size_t i = 0; i < d->tasks.n && n < cap; i++) {
				struct ptask *t = d->tasks.v[i];
				for (size_t j = 0; j < t->n && n < cap; j++)
					if (t->c[j].pidfd >= 0) {
						fds[n] = (struct pollfd){.fd = t->c[j].pidfd,
						                         .events = POLLIN};
						cs[n] = &t->c[j];
						ts[n] = t;
						n++;
					}
			}
			/* Checks only wake the loop: health_steps looks at all. */
			for (size_t i = 0; i < d->tasks.n; i++) {
				const struct ptask *t = d->tasks.v[i];
				for (size_t j = 0; j < t->n && n < cap; j++)
					if (t->c[j].hc && t->c[j].hc->pidfd >= 0) {
						fds[n] = (struct pollfd){.fd = t->c[j].hc->pidfd,
						                         .events = POLLIN};
						cs[n] = NULL;
						ts[n] = NULL;
						n++;
					}
			}
		}
		int wait_ms = health_wait(d);
		pthread_mutex_unlock(&d->lock);
		if (!n) {
			/* Out of memory for the poll set: try again shortly. */
			struct timespec ts100 = {.tv_sec = 0, .tv_nsec = 100000000};
			nanosleep(&ts100, NULL);
			continue;
		}
		int r = poll(fds, n, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			ssize_t got = read(d->wake, &v, sizeof(v));
			(void)got;
		}
		pthread_mutex_lock(&d->lock);
		size_t before = d->events.n;
		for (size_t i = 1; i < n && r > 0; i++)
			if (fds[i].revents && cs[i] && cs[i]->pidfd == fds[i].fd)
				supervisor_exited(d, ts[i], cs[i]);
		health_steps(d);
		if (drv_now_ms() - d->last_prune_ms > 60000)
			prune(d);
		bool told = d->events.n > before;
		pthread_mutex_unlock(&d->lock);
		if (told && d->notify)
			d->notify(d->notify_ctx);
	}
	free(fds);
	free(cs);
	free(ts);
	return NULL;
}

/* --- start ------------------------------------------------------------------ */

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int spawn_container(struct ptask *t, const struct pcspec *s, struct pcont *c, char *reason,
                           size_t cap)
{
	char out[PATH_MAX], err[PATH_MAX], ex[PATH_MAX], extmp[PATH_MAX];
	if (!cpath(out, sizeof(out), t->dir, s->name, "stdout") ||
	    !cpath(err, sizeof(err), t->dir, s->name, "stderr") ||
	    !cpath(ex, sizeof(ex), t->dir, s->name, "exit") ||
	    !cpath(extmp, sizeof(extmp), t->dir, s->name, "exit.tmp"))
		return drv_fail(reason, cap, "the run folder's path is too long");
	if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
		return drv_fail(reason, cap, "mkdir %s: %s", s->dir, strerror(errno));
	if (s->set_ids && chown(s->dir, s->uid, s->gid) < 0)
		return drv_fail(reason, cap, "chown %s: %s", s->dir, strerror(errno));
	unlink(ex);
	struct pshim_spec sp = {
	    .path = s->path,
	    .argv = s->argv,
	    .envp = s->envp,
	    .cwd = s->cwd,
	    .stdout_path = out,
	    .stderr_path = err,
	    .exit_path = ex,
	    .exit_tmp_path = extmp,
	    .mem_limit = s->mem_limit,
	    .nice = s->nice,
	    .set_ids = s->set_ids,
	    .uid = s->uid,
	    .gid = s->gid,
	    .stop_timeout = s->stop_timeout,
	};
	struct pshim_started st;
	char why[200];
	if (pshim_spawn(&sp, &st, why, sizeof(why)) < 0)
		return drv_fail(reason, cap, "CannotStartContainerError: container %s: %s", s->name,
		                why);
	c->shim = st.shim;
	c->pid = st.pid;
	c->started_ms = drv_now_ms();
	/* The shim is our unreaped child, so its pid is its own until we reap
	 * it; the container is the shim's unreaped child likewise. */
	c->pidfd = pidfd_open(st.shim, 0);
	if (proc_start_time(st.shim, &c->shim_start) < 0 ||
	    proc_start_time(st.pid, &c->pid_start) < 0) {
		/* The container already ended: the pidfd (or the exit file)
		 * tells the watcher; start times only matter after a restart. */
		c->shim_start = c->shim_start ? c->shim_start : 0;
	}
	if (c->pidfd < 0) {
		int e = errno;
		kill(st.shim, SIGTERM);
		return drv_fail(reason, cap, "pidfd_open: %s", strerror(e));
	}
	return 0;
}

/* The check of a container just started or found again: the definition's
 * healthCheck in c->hc_def, run as the container runs. Its first run is one
 * interval after the container started (at once when that has passed). 0, or
 * -1 when out of memory. */
static int health_arm(struct ptask *t, struct pcont *c)
{
	if (!c->hc_def)
		return 0;
	if (phealth_new(c->hc_def, &c->hc) < 0)
		return -1;
	if (!c->hc)
		return 0;
	char p[PATH_MAX];
	c->hc->out_path = cpath(p, sizeof(p), t->dir, c->name, "health") ? strdup(p) : NULL;
	c->hc->cwd = c->cwd && *c->cwd ? strdup(c->cwd) : NULL;
	if (!c->hc->out_path || (c->cwd && *c->cwd && !c->hc->cwd))
		return -1;
	c->hc->set_ids = c->set_ids;
	c->hc->uid = c->uid;
	c->hc->gid = c->gid;
	c->hc->started_ms = c->started_ms ? c->started_ms : drv_now_ms();
	c->hc->next_ms = c->hc->started_ms + c->hc->interval_ms;
	return 0;
}

static int health_setup(struct ptask *t, struct pcont *c, const struct pcspec *s)
{
	if (!s->health_check)
		return 0;
	c->hc_def = json_incref(s->health_check);
	c->cwd = strdup(s->cwd);
	c->set_ids = s->set_ids;
	c->uid = s->uid;
	c->gid = s->gid;
	if (!c->cwd || health_arm(t, c) < 0)
		return -1;
	return c->hc ? phealth_set_env(c->hc, s->envp) : 0;
}

static int drv_start(void *h, const json_t *task, const json_t *taskdef, const json_t *env,
                     char *reason, size_t cap)
{
	struct pdrv *d = h;
	const char *arn = json_string_value(json_object_get(task, "taskArn"));
	const char *id = pcspec_task_id(arn);
	if (!arn || !id)
		return drv_fail(reason, cap, "the task has no usable taskArn");
	pthread_mutex_lock(&d->lock);
	int rc = -1;
	struct pcspec *specs = NULL;
	size_t n = 0;
	struct ptask *t = NULL;
	struct ptask *old = find_task(d, arn);
	if (old) {
		pthread_mutex_unlock(&d->lock);
		if (!old->stopped)
			return 0;
		return drv_fail(reason, cap, "task %s already ran on this host", arn);
	}
	char *dir = pcspec_path_join(d->tasks_dir, id);
	if (!dir) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	if (pcspec_build(task, taskdef, env, dir, d->stop_timeout, &specs, &n, reason, cap) < 0)
		goto out;
	if (mkdir(dir, 0700) < 0) {
		drv_fail(reason, cap,
		         errno == EEXIST ? "task folder %s already exists" : "mkdir %s: %s", dir,
		         strerror(errno));
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->c = calloc(n, sizeof(*t->c))) || !(t->arn = strdup(arn))) {
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	t->dir = dir;
	dir = NULL;
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		t->c[i].pidfd = -1;
		t->c[i].essential = specs[i].essential;
		t->c[i].stop_timeout = specs[i].stop_timeout;
		t->c[i].name = strdup(specs[i].name);
		if (!t->c[i].name) {
			drv_fail(reason, cap, "out of memory");
			goto out;
		}
	}
	/* ECS starts containers in order; a container that cannot start fails
	 * the task, and those already started are stopped. */
	size_t started = 0;
	for (; started < n; started++) {
		if (spawn_container(t, &specs[started], &t->c[started], reason, cap) < 0)
			break;
		if (health_setup(t, &t->c[started], &specs[started]) < 0) {
			drv_fail(reason, cap, "out of memory");
			signal_container(&t->c[started], SIGKILL);
			t->c[started].done = true;
			t->c[started].finished_ms = drv_now_ms();
			started++;
			t->failed = true;
			break;
		}
	}
	if (started < n || t->failed) {
		t->failed = true;
		if (snprintf(t->reason, sizeof(t->reason), "%s", reason) < 0)
			t->reason[0] = '\0';
		for (size_t i = started; i < n; i++) {
			t->c[i].done = true;
			t->c[i].finished_ms = drv_now_ms();
		}
		t->cause_set = true;
		t->exit_code = -1;
		t->stopping = true;
		for (size_t i = 0; i < started; i++)
			signal_container(&t->c[i], SIGTERM);
		if (started == 0) {
			t->stopped = true;
			t->stopped_ms = drv_now_ms();
		}
	}
	if (save_state(t) < 0 && started == n) {
		/* Without a state file a restart would lose the task: refuse. */
		drv_fail(reason, cap, "cannot write the task's state file in %s", t->dir);
		t->failed = true;
		t->cause_set = true;
		t->exit_code = -1;
		t->stopping = true;
		for (size_t i = 0; i < n; i++)
			signal_container(&t->c[i], SIGTERM);
		started = 0;
	}
	if (drv_tasks_add(&d->tasks, t) < 0) {
		for (size_t i = 0; i < n; i++)
			signal_container(&t->c[i], SIGKILL);
		task_free(t);
		t = NULL;
		drv_fail(reason, cap, "out of memory");
		goto out;
	}
	rc = t->failed ? -1 : 0;
	t = NULL;
	wake(d);
out:
	task_free(t);
	free(dir);
	pcspec_free(specs, n);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int drv_stop(void *h, const char *arn, char *reason, size_t cap)
{
	(void)reason;
	(void)cap;
	struct pdrv *d = h;
	pthread_mutex_lock(&d->lock);
	struct ptask *t = find_task(d, arn);
	if (t && !t->stopped) {
		if (!t->stopping && !t->reason[0] &&
		    snprintf(t->reason, sizeof(t->reason), "Task stopped on request") < 0)
			t->reason[0] = '\0';
		stop_task_locked(t);
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int drv_inspect(void *h, const char *arn, struct sched_driver_status *out)
{
	struct pdrv *d = h;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	struct ptask *t = find_task(d, arn);
	if (!t)
		out->state = SCHED_DRIVER_UNKNOWN;
	else
		fill_status(t, out);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int drv_events(void *h, struct sched_driver_event *out, size_t cap)
{
	struct pdrv *d = h;
	pthread_mutex_lock(&d->lock);
	size_t n = drv_events_take(&d->events, out, cap);
	pthread_mutex_unlock(&d->lock);
	return (int)n;
}

/* RFC 3339 with nanoseconds, as task metadata v4 writes times. */
static json_t *rfc3339(long long ms)
{
	if (ms <= 0)
		return NULL;
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&s, &tm))
		return NULL;
	size_t k = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!k || snprintf(buf + k, sizeof(buf) - k, ".%09lldZ", (ms % 1000) * 1000000) < 0)
		return NULL;
	return json_string(buf);
}

/* A container's runtime id, which the task metadata's DockerId, DescribeTasks'
 * runtimeId and the stats' id are: "<task id>-<container name>", Fargate's
 * shape ("<task id>-<number>"), stable across gateway restarts and naming
 * the folder tasks/<task id>/<container name> that holds the container's
 * logs. Both parts are [A-Za-z0-9_-] (pcspec_task_id, taskdef.c). */
static int runtime_id(const struct ptask *t, const struct pcont *c, char *buf, size_t cap)
{
	const char *tid = pcspec_task_id(t->arn);
	int n = tid ? snprintf(buf, cap, "%s-%s", tid, c->name) : -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int drv_containers(void *h, const char *arn, json_t **out, char *reason, size_t cap)
{
	struct pdrv *d = h;
	*out = NULL;
	pthread_mutex_lock(&d->lock);
	struct ptask *t = find_task(d, arn);
	if (!t) {
		pthread_mutex_unlock(&d->lock);
		return drv_fail(reason, cap, "no task %s on this host", arn);
	}
	json_t *all = json_object();
	for (size_t i = 0; all && i < t->n; i++) {
		const struct pcont *c = &t->c[i];
		json_t *o = json_pack("{s:s, s:i, s:s}", "Name", c->name, "Pid", (int)c->pid,
		                      "KnownStatus", c->done ? "STOPPED" : "RUNNING");
		char id[400];
		if (o && runtime_id(t, c, id, sizeof(id)) == 0)
			json_object_set_new(o, "DockerId", json_string(id));
		if (!o) {
			json_decref(all);
			all = NULL;
			break;
		}
		json_t *ts = rfc3339(c->started_ms);
		if (ts)
			json_object_set_new(o, "StartedAt", ts);
		if (c->done) {
			ts = rfc3339(c->finished_ms);
			if (ts)
				json_object_set_new(o, "FinishedAt", ts);
			if (c->has_exit && c->ex.how != PSHIM_FAILED)
				json_object_set_new(o, "ExitCode",
				                    json_integer(pshim_exit_code(&c->ex)));
		}
		json_object_set_new(all, c->name, o);
	}
	pthread_mutex_unlock(&d->lock);
	if (!all)
		return drv_fail(reason, cap, "out of memory");
	*out = all;
	return 0;
}

/* One running container as drv_stats copies it out of the task under the
 * lock, so that /proc is read without holding the watcher thread up. */
struct pstats_want {
	char id[400];
	char name[256];
	pid_t pid;
	unsigned long long pid_start;
	struct pstats_sample prev;
	struct pstats_sample now;
	bool taken;
};

static int drv_stats(void *h, const char *arn, json_t **out, char *reason, size_t cap)
{
	struct pdrv *d = h;
	*out = NULL;
	struct pstats_want w[SCHED_DRIVER_MAX_CONTAINERS];
	struct pstats_group g[SCHED_DRIVER_MAX_CONTAINERS];
	size_t n = 0;
	memset(g, 0, sizeof(g));
	pthread_mutex_lock(&d->lock);
	struct ptask *t = find_task(d, arn);
	if (!t) {
		pthread_mutex_unlock(&d->lock);
		return drv_fail(reason, cap, "no task %s on this host", arn);
	}
	for (size_t i = 0; i < t->n && n < SCHED_DRIVER_MAX_CONTAINERS; i++) {
		const struct pcont *c = &t->c[i];
		if (c->done || c->pid <= 0 || runtime_id(t, c, w[n].id, sizeof(w[n].id)) < 0 ||
		    snprintf(w[n].name, sizeof(w[n].name), "%s", c->name) >= (int)sizeof(w[n].name))
			continue;
		w[n].pid = c->pid;
		w[n].pid_start = c->pid_start;
		w[n].prev = c->stats_prev;
		w[n].taken = false;
		n++;
	}
	pthread_mutex_unlock(&d->lock);
	/* The container leads its process group; a pid whose start time
	 * differs was reused by another process and is not counted. */
	for (size_t i = 0; i < n; i++) {
		unsigned long long st;
		if (proc_start_time(w[i].pid, &st) == 0 && st == w[i].pid_start)
			g[i].pgid = w[i].pid;
	}
	json_t *all = json_object();
	if (!all)
		return drv_fail(reason, cap, "out of memory");
	unsigned long long sys = 0;
	if (n > 0 && pstats_scan("/proc", g, n) < 0) {
		json_decref(all);
		return drv_fail(reason, cap, "cannot read /proc");
	}
	if (n > 0 && pstats_system_ticks("/proc", &sys) < 0)
		sys = 0; /* system_cpu_usage is left out */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long read_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	for (size_t i = 0; i < n; i++) {
		if (g[i].procs == 0)
			continue; /* ended, or reused: no stats, as for a stopped container */
		pstats_take(&g[i], sys, read_ns, &w[i].now);
		/* RLIMIT_AS is what the driver enforces (pcspec: memory);
		 * without one the host's memory bounds the container, which
		 * is what Docker reports as the limit of an unlimited one */
		unsigned long long limit = 0;
		if (pstats_as_limit("/proc", w[i].pid, &limit) < 0 || limit == 0)
			limit = pstats_host_memory();
		json_t *doc = pstats_doc(w[i].id, w[i].name, &g[i], &w[i].now,
		                         w[i].prev.read_ns > 0 ? &w[i].prev : NULL, limit);
		if (!doc || json_object_set_new(all, w[i].id, doc) < 0) {
			json_decref(all);
			return drv_fail(reason, cap, "out of memory");
		}
		w[i].taken = true;
	}
	/* Keep each sample for the next call's precpu_stats; the task may
	 * have been pruned meanwhile (only the watcher frees it, under the
	 * lock, so it is looked up again). */
	pthread_mutex_lock(&d->lock);
	t = find_task(d, arn);
	for (size_t i = 0; t && i < n; i++) {
		if (!w[i].taken)
			continue;
		for (size_t k = 0; k < t->n; k++)
			if (t->c[k].pid == w[i].pid && strcmp(t->c[k].name, w[i].name) == 0)
				t->c[k].stats_prev = w[i].now;
	}
	pthread_mutex_unlock(&d->lock);
	*out = all;
	return 0;
}

/* --- open: find the tasks of an earlier gateway ----------------------------- */

static void adopt_container(struct ptask *t, struct pcont *c)
{
	char p[PATH_MAX];
	if (cpath(p, sizeof(p), t->dir, c->name, "exit") && pshim_read_exit(p, &c->ex) == 1) {
		c->done = true;
		c->has_exit = true;
		c->finished_ms = c->ex.finished_ms;
	}
	/* A supervisor still there (running, about to exit after writing the
	 * exit file, or a zombie of this very process) is watched: for the
	 * container's end, or only to be reaped. */
	if (c->shim > 0) {
		int fd = pidfd_open(c->shim, 0);
		unsigned long long st;
		if (fd >= 0 && proc_start_time(c->shim, &st) == 0 && st == c->shim_start) {
			c->pidfd = fd;
			/* A running container's check starts afresh (UNKNOWN),
			 * with the environment the container was given. */
			if (!c->done &&
			    (health_arm(t, c) < 0 ||
			     (c->hc && phealth_env_from_proc(c->hc, c->pid, c->pid_start) < 0))) {
				/* Without its environment a check would fail
				 * for the wrong reason: none, the task's
				 * health stays UNKNOWN. */
				phealth_free(c->hc);
				c->hc = NULL;
			}
			if (c->hc && c->hc->next_ms < drv_now_ms())
				c->hc->next_ms = drv_now_ms();
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	if (!c->done)
		finish_container(t, c);
}

static struct ptask *load_task(const char *dir)
{
	char *path = pcspec_path_join(dir, "state.json");
	if (!path)
		return NULL;
	json_t *doc = json_load_file(path, 0, NULL);
	free(path);
	const char *arn = json_string_value(json_object_get(doc, "taskArn"));
	const json_t *cs = json_object_get(doc, "containers");
	struct ptask *t = calloc(1, sizeof(*t));
	if (!t || !arn || !json_is_array(cs) || json_array_size(cs) == 0)
		goto bad;
	t->arn = strdup(arn);
	t->dir = strdup(dir);
	t->n = json_array_size(cs);
	t->c = calloc(t->n, sizeof(*t->c));
	if (!t->arn || !t->dir || !t->c)
		goto bad;
	t->stopping = json_is_true(json_object_get(doc, "stopping"));
	t->failed = json_is_true(json_object_get(doc, "failed"));
	for (size_t i = 0; i < t->n; i++)
		t->c[i].pidfd = -1;
	for (size_t i = 0; i < t->n; i++) {
		const json_t *o = json_array_get(cs, i);
		struct pcont *c = &t->c[i];
		const char *name = json_string_value(json_object_get(o, "name"));
		if (!name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
			goto bad;
		c->name = strdup(name);
		if (!c->name)
			goto bad;
		c->essential = json_is_true(json_object_get(o, "essential"));
		c->stop_timeout = (int)json_integer_value(json_object_get(o, "stopTimeout"));
		c->shim = (pid_t)json_integer_value(json_object_get(o, "shimPid"));
		c->shim_start =
		    (unsigned long long)json_integer_value(json_object_get(o, "shimStart"));
		c->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
		c->pid_start =
		    (unsigned long long)json_integer_value(json_object_get(o, "pidStart"));
		c->started_ms = json_integer_value(json_object_get(o, "startedAt"));
		const json_t *hc = json_object_get(o, "healthCheck");
		if (json_is_object(hc)) {
			c->hc_def = json_incref((json_t *)hc);
			const char *cwd = json_string_value(json_object_get(o, "cwd"));
			c->cwd = strdup(cwd ? cwd : "");
			if (!c->cwd)
				goto bad;
			c->set_ids = json_is_true(json_object_get(o, "setIds"));
			c->uid = (uid_t)json_integer_value(json_object_get(o, "uid"));
			c->gid = (gid_t)json_integer_value(json_object_get(o, "gid"));
		}
	}
	if (t->failed && snprintf(t->reason, sizeof(t->reason), "A container failed to start") < 0)
		t->reason[0] = '\0';
	json_decref(doc);
	return t;
bad:
	json_decref(doc);
	task_free(t);
	return NULL;
}

static int by_finish(const void *a, const void *b)
{
	const struct pcont *x = *(struct pcont *const *)a, *y = *(struct pcont *const *)b;
	return (x->finished_ms > y->finished_ms) - (x->finished_ms < y->finished_ms);
}

static void load_all(struct pdrv *d)
{
	DIR *dir = opendir(d->tasks_dir);
	if (!dir)
		return;
	d->loading = true;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *p = pcspec_path_join(d->tasks_dir, e->d_name);
		if (!p)
			continue;
		struct ptask *t = load_task(p);
		if (!t) {
			/* No readable state: a start that never finished. Its
			 * folder goes once it is older than the retention. */
			struct stat st;
			if (stat(p, &st) == 0 &&
			    (long long)st.st_mtim.tv_sec * 1000 + (long long)d->retain_s * 1000 <=
			        drv_now_ms())
				nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			free(p);
			continue;
		}
		free(p);
		if (find_task(d, t->arn) || drv_tasks_add(&d->tasks, t) < 0) {
			task_free(t);
			continue;
		}
		for (size_t i = 0; i < t->n; i++)
			adopt_container(t, &t->c[i]);
		/* Replay what ended while no gateway ran, in order. */
		struct pcont **ended = calloc(t->n, sizeof(*ended));
		size_t k = 0;
		for (size_t i = 0; ended && i < t->n; i++)
			if (t->c[i].done)
				ended[k++] = &t->c[i];
		if (ended) {
			qsort(ended, k, sizeof(*ended), by_finish);
			for (size_t i = 0; i < k; i++)
				container_ended(d, t, ended[i]);
			free(ended);
		}
		if (t->stopping && !t->stopped)
			stop_task_locked(t);
	}
	closedir(dir);
	d->loading = false;
}

static void drv_free(struct pdrv *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		pthread_mutex_lock(&d->lock);
		d->quit = true;
		pthread_mutex_unlock(&d->lock);
		wake(d);
		pthread_join(d->thread, NULL);
	}
	for (size_t i = 0; i < d->tasks.n; i++)
		task_free(d->tasks.v[i]);
	drv_tasks_free(&d->tasks);
	drv_events_free(&d->events);
	if (d->wake >= 0)
		close(d->wake);
	free(d->run_dir);
	free(d->tasks_dir);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int sched_process_driver_open(const struct sched_process_opts *opts, struct sched_driver *out,
                              char *err, size_t err_cap)
{
	memset(out, 0, sizeof(*out));
	if (!opts || !opts->run_dir || !*opts->run_dir)
		return drv_fail(err, err_cap, "the process driver needs a run folder");
	if (opts->run_dir[0] != '/')
		return drv_fail(err, err_cap,
		                "the process driver's run folder must be an absolute path");
	struct pdrv *d = calloc(1, sizeof(*d));
	if (!d)
		return drv_fail(err, err_cap, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	d->wake = -1;
	d->tasks.arn_offset = offsetof(struct ptask, arn);
	d->stop_timeout = opts->stop_timeout > 0 ? opts->stop_timeout : 30;
	d->retain_s = opts->retain_seconds > 0 ? opts->retain_seconds : 10800;
	d->notify = opts->notify;
	d->notify_ctx = opts->notify_ctx;
	d->run_dir = strdup(opts->run_dir);
	d->tasks_dir = d->run_dir ? pcspec_path_join(d->run_dir, "tasks") : NULL;
	if (!d->run_dir || !d->tasks_dir) {
		drv_free(d);
		return drv_fail(err, err_cap, "out of memory");
	}
	if (mkdir_p(d->run_dir, 0700) < 0 || (mkdir(d->tasks_dir, 0700) < 0 && errno != EEXIST)) {
		int e = errno;
		drv_free(d);
		return drv_fail(err, err_cap, "cannot make the run folder %s: %s", opts->run_dir,
		                strerror(e));
	}
	if (access(d->tasks_dir, R_OK | W_OK | X_OK) < 0) {
		int e = errno;
		drv_free(d);
		return drv_fail(err, err_cap, "cannot use the run folder %s: %s", opts->run_dir,
		                strerror(e));
	}
	d->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake < 0) {
		int e = errno;
		drv_free(d);
		return drv_fail(err, err_cap, "eventfd: %s", strerror(e));
	}
	load_all(d);
	prune(d);
	if (pthread_create(&d->thread, NULL, watch_main, d) != 0) {
		drv_free(d);
		return drv_fail(err, err_cap, "cannot start the process driver's thread");
	}
	d->thread_started = true;
	out->name = "process";
	out->handle = d;
	out->start = drv_start;
	out->stop = drv_stop;
	out->inspect = drv_inspect;
	out->events = drv_events;
	out->containers = drv_containers;
	out->stats = drv_stats;
	return 0;
}

void sched_process_driver_close(struct sched_driver *d)
{
	if (!d || !d->handle)
		return;
	drv_free(d->handle);
	d->handle = NULL;
}
