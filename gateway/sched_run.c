/*
 * sched_run.c - the scheduler inside a running gateway: its driver, the
 * scheduler object on the gateway's store, and the ticker thread that keeps
 * tasks and services moving.
 *
 * At start the configured driver is opened ("process": local processes under
 * scheduler.run_dir; "docker": the Docker Engine API), then the scheduler on
 * the store with the gateway's task hooks (task credentials,
 * gw_task_serve_hooks in task_serve.c), then one thread that calls sched_tick and sched_reconcile
 * every scheduler.tick_ms, and at once when the driver reports an event (a
 * container died), so a service replaces a dead task without waiting for the
 * next tick. The first pass runs as soon as the thread starts: after a
 * restart the scheduler finds its tasks again through the driver, which
 * labelled them with their ARNs, and starts nothing twice (sched_reconcile
 * counts the tasks in the store).
 *
 * Before the ticker starts, the host joins each cluster of
 * scheduler.local_instance as a container instance (what the ECS agent does
 * for its own host): the scheduler keeps one instance per cluster for this
 * store across restarts; the measurements are made here, since the scheduler
 * knows nothing of the host. A failure stops the start: a gateway configured
 * to run tasks here that cannot offer this host would refuse every RunTask.
 *
 * At stop the thread is told to finish its pass and joined, the scheduler is
 * closed, then the driver; the tasks' containers keep running, to be found
 * by the next start.
 */
#include "gateway/sched_run.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/server.h"
#include "gateway/task_endpoint.h"
#include "gateway/taskcreds.h"
#include "scheduler/scheduler.h"

struct gw_sched_runner {
	struct gw_server *srv;
	struct sched_driver driver;
	bool driver_open;
	bool docker;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool poked;
};

static int fail(struct gw_server_error *err, int code, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct gw_server_error *err, int code, const char *f, ...)
{
	err->code = code;
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(err->message, sizeof(err->message), f, ap);
	va_end(ap);
	if (n < 0)
		err->message[0] = '\0';
	return code;
}

/* The driver's event callback: wake the ticker (called from the driver's
 * own thread; it must not call back into the driver, and does not). */
static void poke(void *ctx)
{
	struct gw_sched_runner *run = ctx;
	pthread_mutex_lock(&run->lock);
	run->poked = true;
	pthread_cond_signal(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

static void log_error(struct gw_server *srv, const char *what, const struct sched_error *e)
{
	struct gw_log_line l;
	gw_log_begin(&l, srv->log, GW_LOG_WARN, what);
	gw_log_str(&l, "error", e->message);
	gw_log_end(&l);
}

static void one_pass(struct gw_sched_runner *run)
{
	struct sched_error e = {0};
	int changed = 0;
	if (sched_tick(run->srv->sched, &changed, &e) != SCHED_OK)
		log_error(run->srv, "scheduler tick failed", &e);
	memset(&e, 0, sizeof(e));
	if (sched_reconcile(run->srv->sched, &e) != SCHED_OK)
		log_error(run->srv, "scheduler reconcile failed", &e);
}

static void *ticker(void *arg)
{
	struct gw_sched_runner *run = arg;
	unsigned ms = run->srv->cfg->scheduler.tick_ms;
	pthread_mutex_lock(&run->lock);
	while (!run->stop) {
		pthread_mutex_unlock(&run->lock);
		one_pass(run);
		pthread_mutex_lock(&run->lock);
		if (run->stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!run->stop && !run->poked &&
		       pthread_cond_timedwait(&run->cond, &run->lock, &until) != ETIMEDOUT)
			;
		run->poked = false;
	}
	pthread_mutex_unlock(&run->lock);
	return NULL;
}

/* <directory of the store>/tasks, for the process driver's run_dir. */
static int default_run_dir(const char *store_path, char *out, size_t cap)
{
	const char *slash = strrchr(store_path, '/');
	int n = slash ? snprintf(out, cap, "%.*s/tasks", (int)(slash - store_path), store_path)
	              : snprintf(out, cap, "tasks");
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int open_driver(struct gw_sched_runner *run, struct gw_server_error *err)
{
	const struct gw_config_scheduler *sc = &run->srv->cfg->scheduler;
	char why[512] = "";
	if (strcmp(sc->driver, "docker") == 0) {
		struct sched_docker_opts o = {
		    .socket_path = sc->docker_socket[0] ? sc->docker_socket : NULL,
		    .tcp_address = sc->docker_tcp[0] ? sc->docker_tcp : NULL,
		    .tls_ca = sc->docker_tls_ca[0] ? sc->docker_tls_ca : NULL,
		    .tls_cert = sc->docker_tls_cert[0] ? sc->docker_tls_cert : NULL,
		    .tls_key = sc->docker_tls_key[0] ? sc->docker_tls_key : NULL,
		    .registry_auth_file =
		        sc->docker_registry_auth_file[0] ? sc->docker_registry_auth_file : NULL,
		    .port_bind_ip = sc->docker_port_bind_ip,
		    .network_mode = sc->docker_network_mode,
		    .stop_timeout = (int)sc->stop_timeout_s,
		    .timeout_ms = (int)sc->docker_timeout_ms,
		    .notify = poke,
		    .notify_ctx = run,
		};
		if (sched_docker_driver_open(&o, &run->driver, why, sizeof(why)) != 0)
			return fail(err, GW_SERVER_ERR_LISTEN, "scheduler: docker driver: %s", why);
		run->docker = true;
	} else {
		char dir[GW_CONFIG_PATH_MAX];
		if (sc->run_dir[0])
			snprintf(dir, sizeof(dir), "%s", sc->run_dir);
		else if (default_run_dir(run->srv->cfg->store.path, dir, sizeof(dir)) != 0)
			return fail(err, GW_SERVER_ERR_LISTEN,
			            "scheduler: the process driver's run_dir is too long");
		/* A relative folder is taken from the working directory, as the
		 * store's path is; the driver keeps an absolute one (its
		 * supervisors must not depend on a later chdir). */
		char abs_dir[GW_CONFIG_PATH_MAX + 4096];
		if (dir[0] != '/') {
			char cwd[4096];
			if (!getcwd(cwd, sizeof(cwd)))
				return fail(
				    err, GW_SERVER_ERR_LISTEN,
				    "scheduler: cannot read the working directory for run_dir");
			int n = snprintf(abs_dir, sizeof(abs_dir), "%s/%s", cwd, dir);
			if (n < 0 || (size_t)n >= sizeof(abs_dir))
				return fail(err, GW_SERVER_ERR_LISTEN,
				            "scheduler: the process driver's run_dir is too long");
		} else {
			snprintf(abs_dir, sizeof(abs_dir), "%s", dir);
		}
		struct sched_process_opts o = {
		    .run_dir = abs_dir,
		    .stop_timeout = (int)sc->stop_timeout_s,
		    .retain_seconds = (int)sc->retain_s,
		    .notify = poke,
		    .notify_ctx = run,
		};
		if (sched_process_driver_open(&o, &run->driver, why, sizeof(why)) != 0)
			return fail(err, GW_SERVER_ERR_LISTEN, "scheduler: process driver: %s",
			            why);
	}
	run->driver_open = true;
	return GW_SERVER_OK;
}

/* The ECS agent's reserved ports (scheduler/instance.c keeps the same list
 * when none is given), then the gateway's own: a task's static hostPort must
 * not be one this process listens on. */
static const int agent_reserved_ports[] = {22, 2375, 2376, 51678, 51679};

/* What this machine offers tasks, as the ECS agent measures its host: every
 * online CPU as 1024 units, physical memory less what is kept back for the
 * system and the gateway. */
static int measure_host(const struct gw_config *cfg, int *cpu, int *memory,
                        struct gw_server_error *err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES);
	long page_size = sysconf(_SC_PAGESIZE);
	if (cpus < 1 || pages < 1 || page_size < 1)
		return fail(err, GW_SERVER_ERR_LISTEN,
		            "scheduler.local_instance: cannot read this host's CPUs and memory");
	long long mib = (long long)pages * page_size / (1024 * 1024);
	long long offer = mib - (long long)cfg->scheduler.local_reserved_memory_mib;
	if (offer < 1)
		return fail(err, GW_SERVER_ERR_LISTEN,
		            "scheduler.local_instance: this host has %lld MiB of memory, no more "
		            "than scheduler.local_reserved_memory_mib (%u)",
		            mib, cfg->scheduler.local_reserved_memory_mib);
	/* The scheduler caps resources at 2^24 units or MiB. */
	long long units = (long long)cpus * 1024;
	*cpu = units > (1 << 24) ? 1 << 24 : (int)units;
	*memory = offer > (1 << 24) ? 1 << 24 : (int)offer;
	return GW_SERVER_OK;
}

/* The attributes the agent would report that hold here, and which driver
 * runs the tasks (for placement constraints such as
 * attribute:taskgate.driver == docker). Only true capabilities are claimed:
 * task roles, since every task gets its role's credentials from the task
 * endpoint. */
static json_t *local_attributes(const struct gw_config *cfg)
{
	return json_pack("[{s:s},{s:s,s:s}]", "name", "com.amazonaws.ecs.capability.task-iam-role",
	                 "name", "taskgate.driver", "value", cfg->scheduler.driver);
}

static json_t *local_reserved_ports(const struct gw_server *srv)
{
	const struct gw_config *cfg = srv->cfg;
	json_t *ports = json_array();
	for (size_t i = 0;
	     ports && i < sizeof(agent_reserved_ports) / sizeof(agent_reserved_ports[0]); i++)
		if (json_array_append_new(ports, json_integer(agent_reserved_ports[i])) != 0) {
			json_decref(ports);
			return NULL;
		}
	/* The task endpoint is bound already (its port may be the kernel's
	 * pick); the API listener binds after the scheduler starts, so only a
	 * port the configuration names can be kept for it. */
	uint16_t own[] = {cfg->listen.port, srv->task_endpoint ? srv->task_endpoint->port
	                                                       : cfg->task_endpoint.listen.port};
	for (size_t i = 0; ports && i < sizeof(own) / sizeof(own[0]); i++)
		if (own[i] != 0 && json_array_append_new(ports, json_integer(own[i])) != 0) {
			json_decref(ports);
			return NULL;
		}
	return ports;
}

static int register_local_host(struct gw_server *srv, struct gw_server_error *err)
{
	const struct gw_config *cfg = srv->cfg;
	if (cfg->scheduler.n_local_instance == 0)
		return GW_SERVER_OK;
	struct sched_local_host host = {0};
	int rc = measure_host(cfg, &host.cpu, &host.memory, err);
	if (rc != GW_SERVER_OK)
		return rc;
	json_t *attrs = local_attributes(cfg);
	json_t *ports = local_reserved_ports(srv);
	if (!attrs || !ports) {
		json_decref(attrs);
		json_decref(ports);
		return fail(err, GW_SERVER_ERR_NOMEM, "scheduler: out of memory");
	}
	host.attributes = attrs;
	host.reserved_ports = ports;
	/* The docker driver's engine, as the ECS agent reports it
	 * ("DockerVersion: 20.10.x"); the process driver has none. */
	const char *engine = sched_docker_driver_engine_version(&srv->sched_runner->driver);
	json_t *vinfo = NULL;
	if (engine) {
		char dv[96]; /* the driver keeps at most 64 characters */
		int n = snprintf(dv, sizeof(dv), "DockerVersion: %s", engine);
		vinfo = n > 0 && (size_t)n < sizeof(dv) ? json_pack("{s:s}", "dockerVersion", dv)
		                                        : NULL;
		if (!vinfo) {
			json_decref(attrs);
			json_decref(ports);
			return fail(err, GW_SERVER_ERR_NOMEM, "scheduler: out of memory");
		}
		host.version_info = vinfo;
	}
	for (size_t i = 0; rc == GW_SERVER_OK && i < cfg->scheduler.n_local_instance; i++) {
		const char *cluster = cfg->scheduler.local_instance[i];
		json_t *ci = NULL;
		bool created = false;
		struct sched_error se = {0};
		if (sched_local_instance_ensure(srv->sched, cluster, &host, &ci, &created, &se) !=
		    SCHED_OK) {
			rc = fail(err, GW_SERVER_ERR_LISTEN,
			          "scheduler.local_instance: cannot register this host in cluster "
			          "%s: %s",
			          cluster, se.message);
			break;
		}
		struct gw_log_line l;
		gw_log_begin(&l, srv->log, GW_LOG_INFO,
		             created ? "local container instance registered"
		                     : "local container instance reused");
		gw_log_str(&l, "cluster", cluster);
		gw_log_str(&l, "container_instance",
		           json_string_value(json_object_get(ci, "containerInstanceArn")));
		gw_log_str(&l, "ec2_instance_id",
		           json_string_value(json_object_get(ci, "ec2InstanceId")));
		gw_log_str(&l, "status", json_string_value(json_object_get(ci, "status")));
		gw_log_int(&l, "cpu", host.cpu);
		gw_log_int(&l, "memory_mib", host.memory);
		gw_log_end(&l);
		json_decref(ci);
	}
	json_decref(attrs);
	json_decref(ports);
	json_decref(vinfo);
	return rc;
}

static void close_driver(struct gw_sched_runner *run)
{
	if (!run->driver_open)
		return;
	if (run->docker)
		sched_docker_driver_close(&run->driver);
	else
		sched_process_driver_close(&run->driver);
	run->driver_open = false;
}

int gw_sched_start(struct gw_server *srv, struct gw_server_error *err)
{
	struct gw_sched_runner *run = calloc(1, sizeof(*run));
	if (!run)
		return fail(err, GW_SERVER_ERR_NOMEM, "scheduler: out of memory");
	run->srv = srv;
	if (pthread_mutex_init(&run->lock, NULL) != 0) {
		free(run);
		return fail(err, GW_SERVER_ERR_NOMEM, "scheduler: cannot create a lock");
	}
	if (pthread_cond_init(&run->cond, NULL) != 0) {
		pthread_mutex_destroy(&run->lock);
		free(run);
		return fail(err, GW_SERVER_ERR_NOMEM, "scheduler: cannot create a condition");
	}
	srv->sched_runner = run;
	int rc = open_driver(run, err);
	if (rc != GW_SERVER_OK) {
		gw_sched_stop(srv);
		return rc;
	}
	const struct gw_config *cfg = srv->cfg;
	struct sched_config sc = {
	    .store = srv->store,
	    .region = cfg->region,
	    .account_id = cfg->account_id,
	    .driver = run->driver,
	    .dynamic_port_min = (int)cfg->scheduler.dynamic_port_min,
	    .dynamic_port_max = (int)cfg->scheduler.dynamic_port_max,
	    /* Both drivers run every instance's tasks on one machine. */
	    .host_ports_shared = true,
	    .bind_ip = run->docker && cfg->scheduler.docker_port_bind_ip[0]
	                   ? cfg->scheduler.docker_port_bind_ip
	                   : (run->docker ? "127.0.0.1" : "0.0.0.0"),
	};
	gw_task_serve_hooks(srv, &sc.hooks);
	struct sched_error se = {0};
	if (sched_open(&sc, &srv->sched, &se) != SCHED_OK) {
		gw_sched_stop(srv);
		return fail(err, GW_SERVER_ERR_LISTEN, "scheduler: %s", se.message);
	}
	rc = register_local_host(srv, err);
	if (rc != GW_SERVER_OK) {
		gw_sched_stop(srv);
		return rc;
	}
	if (pthread_create(&run->thread, NULL, ticker, run) != 0) {
		gw_sched_stop(srv);
		return fail(err, GW_SERVER_ERR_NOMEM, "scheduler: cannot start the ticker thread");
	}
	run->thread_started = true;
	struct gw_log_line l;
	gw_log_begin(&l, srv->log, GW_LOG_INFO, "scheduler started");
	gw_log_str(&l, "driver", cfg->scheduler.driver);
	gw_log_int(&l, "tick_ms", cfg->scheduler.tick_ms);
	gw_log_end(&l);
	return GW_SERVER_OK;
}

void gw_sched_stop(struct gw_server *srv)
{
	struct gw_sched_runner *run = srv->sched_runner;
	if (!run)
		return;
	if (run->thread_started) {
		pthread_mutex_lock(&run->lock);
		run->stop = true;
		pthread_cond_broadcast(&run->cond);
		pthread_mutex_unlock(&run->lock);
		pthread_join(run->thread, NULL);
		run->thread_started = false;
	}
	sched_close(srv->sched);
	srv->sched = NULL;
	close_driver(run);
	pthread_cond_destroy(&run->cond);
	pthread_mutex_destroy(&run->lock);
	free(run);
	srv->sched_runner = NULL;
}

void gw_sched_poke(struct gw_server *srv)
{
	if (srv->sched_runner)
		poke(srv->sched_runner);
}
