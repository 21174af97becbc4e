/*
 * process_int.h - the process driver's supervisor (process_shim.c), shared
 * with driver_process.c and the driver's unit tests only.
 *
 * A container of the process driver is two processes: a supervisor (the
 * "shim", a fork of the gateway that never execs) and the container's own
 * process, which it forks and execs in a process group of its own. The shim
 * waits for it, writes how it ended to an exit file (atomically, by rename),
 * kills what is left of its process group and exits. It outlives the
 * gateway, so an exit that happens while no gateway runs is still recorded.
 * SIGTERM to the shim means "stop the container": it sends SIGTERM to the
 * group and SIGKILL after the stop timeout.
 */
#ifndef TASKGATE_SCHED_PROCESS_INT_H
#define TASKGATE_SCHED_PROCESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Everything the shim and the container need, prepared before fork: after
 * fork only async-signal-safe calls are made, so nothing may be allocated. */
struct pshim_spec {
	const char *path;        /* the executable, already resolved */
	char *const *argv;       /* NULL-terminated */
	char *const *envp;       /* NULL-terminated "NAME=value" */
	const char *cwd;         /* chdir target */
	const char *stdout_path; /* appended to */
	const char *stderr_path;
	const char *exit_path;     /* the exit file */
	const char *exit_tmp_path; /* written first, then renamed to exit_path */
	rlim_t mem_limit;          /* RLIMIT_AS in bytes; 0: none */
	int nice;                  /* 0..19 */
	bool set_ids;              /* run as uid:gid (the gateway runs as root) */
	uid_t uid;
	gid_t gid;
	int stop_timeout; /* seconds from SIGTERM to SIGKILL */
};

/* Starts the shim and the container; returns once the container has exec'd
 * (0, pids filled) or failed to (-1, reason filled, nothing left running but
 * a shim that is exiting: the caller reaps it through out->shim when >0). */
struct pshim_started {
	pid_t shim;
	pid_t pid;
};
int pshim_spawn(const struct pshim_spec *spec, struct pshim_started *out, char *reason,
                size_t reason_cap);

/* How a container ended, from its exit file. */
enum pshim_end {
	PSHIM_EXITED = 1,   /* code: the exit status */
	PSHIM_SIGNALED = 2, /* code: the signal */
	PSHIM_FAILED = 3,   /* code: errno; stage: what failed before exec */
};
struct pshim_exit {
	enum pshim_end how;
	int code;
	int stage;
	long long finished_ms; /* the exit file's mtime, epoch ms */
};
/* 1 and *out filled when the file holds an exit, 0 when there is none yet,
 * -1 when it exists but cannot be read or parsed. */
int pshim_read_exit(const char *exit_path, struct pshim_exit *out);
/* The ECS exit code: the status, or 128 + signal as Docker reports it; -1
 * for a container that never ran. */
int pshim_exit_code(const struct pshim_exit *e);
/* Words for a failed stage ("exec", "chdir", ...). */
const char *pshim_stage_name(int stage);

/* The process's start time in clock ticks since boot (/proc/<pid>/stat field
 * 22): with the pid, it names one process for its whole life. 0 or -1. */
int proc_start_time(pid_t pid, unsigned long long *out);

/* --- launch specs (process_spec.c) -----------------------------------------
 * One container's launch, turned from the task, its definition and the hooks'
 * environment into argv, envp, a resolved executable, limits and ids. */
#include <jansson.h>

struct pcspec {
	char *name;
	bool essential;
	int stop_timeout; /* seconds */
	char **argv;      /* NULL-terminated, owned */
	char **envp;      /* NULL-terminated, owned */
	char *path;       /* the executable argv[0] resolves to */
	char *dir;        /* <task_dir>/<name>: logs, exit file, default cwd */
	char *cwd;
	rlim_t mem_limit; /* bytes; 0: none */
	int nice;
	bool set_ids;
	uid_t uid;
	gid_t gid;
	json_t *health_check; /* the definition's healthCheck (a reference), or NULL */
};
/* Builds every container of the task, in definition order; 0, or -1 with
 * reason (nothing allocated is left behind). */
int pcspec_build(const json_t *task, const json_t *taskdef, const json_t *env, const char *task_dir,
                 int default_stop_timeout, struct pcspec **out, size_t *n_out, char *reason,
                 size_t reason_cap);
void pcspec_free(struct pcspec *v, size_t n); /* NULL-safe */
/* CPU units (1024 = one CPU) -> nice 0..19: each nice step weighs 1.25x less
 * in the kernel's scheduler, as 1024 units against fewer. */
int pcspec_nice_for_cpu(int cpu);
/* The task id of a task ARN (the part after the last '/'), when it is safe
 * as a file name ([A-Za-z0-9_-], 1..64); NULL otherwise. Borrowed from arn. */
const char *pcspec_task_id(const char *arn);
/* "a/b", malloc'd; NULL when out of memory. */
char *pcspec_path_join(const char *a, const char *b);

/* --- health checks (process_health.c) ---------------------------------------
 * One container's healthCheck, run by the driver's watcher thread: see the
 * top of process_health.c. Every field is the watcher's (under the driver's
 * lock). */
#include "scheduler/driver.h"

struct phealth {
	char **argv;    /* NULL-terminated: CMD's words, or /bin/sh -c <line> */
	char **envp;    /* the container's environment; NULL: empty */
	char *cwd;      /* NULL: the gateway's */
	char *out_path; /* the last check's output; NULL: discarded */
	bool set_ids;
	uid_t uid;
	gid_t gid;
	long long interval_ms, timeout_ms, start_period_ms;
	int retries;
	long long started_ms; /* the container's start: startPeriod counts from it */
	enum sched_driver_health verdict;
	int fails;         /* in a row, outside startPeriod */
	long long next_ms; /* the next run; while one runs, its deadline */
	pid_t pid;         /* the running check, 0: none */
	int pidfd;
};
/* From the definition's healthCheck (as taskdef.c validated it): *out NULL
 * when there is none or it is NONE. 0, or -1 when out of memory. */
int phealth_new(const json_t *hc, struct phealth **out);
/* Frees h (NULL-safe), killing a check that runs. */
void phealth_free(struct phealth *h);
/* The check's environment: a copy of envp, or the container's own as
 * /proc/<pid>/environ shows it (pid checked against its start time). 0/-1. */
int phealth_set_env(struct phealth *h, char *const *envp);
int phealth_env_from_proc(struct phealth *h, pid_t pid, unsigned long long start);
/* Does what is due at now (ms): reaps a check that ended, kills one that
 * overran, starts one whose time came. True when the verdict changed. */
bool phealth_step(struct phealth *h, long long now);
/* Kills and reaps a check that runs (the container ended). */
void phealth_kill(struct phealth *h);

/* --- stats (process_stats.c) -------------------------------------------------
 * A container's process group read from /proc, in Docker's stats shape. */
struct pstats_group {
	pid_t pgid; /* in: the group to count (the container's pid); <= 0: none */
	size_t procs;
	unsigned long long threads;                  /* what Docker's pids_stats.current counts */
	unsigned long long user_ticks, kernel_ticks; /* own and reaped children's */
	unsigned long long rss_pages;
};
/* One pass over <proc_root>/<pid>/stat filling every group of g. 0, or -1
 * when proc_root cannot be listed. */
int pstats_scan(const char *proc_root, struct pstats_group *g, size_t n);
/* The host's CPU time in clock ticks (<proc_root>/stat, Docker's sum). 0/-1. */
int pstats_system_ticks(const char *proc_root, unsigned long long *out);
/* The process's RLIMIT_AS in bytes from <proc_root>/<pid>/limits: *out 0
 * when unlimited. 0, or -1 when unreadable. */
int pstats_as_limit(const char *proc_root, pid_t pid, unsigned long long *out);
/* Physical memory in bytes (0 when unknown). */
unsigned long long pstats_host_memory(void);

struct pstats_sample {
	long long read_ns; /* CLOCK_REALTIME; 0: never taken */
	unsigned long long total_ns, kernel_ns, user_ns;
	unsigned long long system_ns;
	bool have_system;
};
void pstats_take(const struct pstats_group *g, unsigned long long system_ticks, long long read_ns,
                 struct pstats_sample *out);
/* The stats object (a new reference, NULL when out of memory): prev NULL
 * for a first read; mem_limit 0 leaves memory_stats.limit out. */
json_t *pstats_doc(const char *id, const char *name, const struct pstats_group *g,
                   const struct pstats_sample *now, const struct pstats_sample *prev,
                   unsigned long long mem_limit);

#endif
