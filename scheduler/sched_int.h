/*
 * sched_int.h - what the files of scheduler/ share, and nobody else.
 *
 * struct sched holds the configuration and the one lock every public call
 * takes. Objects move between the store and the scheduler as a
 * struct sched_obj: the store row plus its document parsed by jansson, so
 * code reads and edits the ECS-shaped JSON and sched_obj_save writes both the
 * document and the copied lookup fields back under the version it read.
 */
#ifndef TASKGATE_SCHED_INT_H
#define TASKGATE_SCHED_INT_H

#include <pthread.h>
#include <stdarg.h>

#include "scheduler/scheduler.h"

struct sched {
	pthread_mutex_t lock;
	struct store *store;
	char region[64];
	char account[16];
	struct sched_driver driver;
	sched_random_fn random;
	void *random_ctx;
	sched_clock_fn clock;
	void *clock_ctx;
	int port_min, port_max;
	bool host_ports_shared;
	char bind_ip[64];
	struct sched_task_hooks hooks;
	int64_t retention_ms;  /* STOPPED tasks are kept this long after stoppedAt */
	int64_t last_purge_ms; /* sched_tick purges at most once a minute */
	/* services whose tasks keep failing to start (reconcile.c); in memory
	 * only: a restart gives every service a fresh start */
	struct sched_throttle *throttle;
	size_t n_throttle;
};

struct sched_throttle {
	char *service_arn;
	int failures;    /* tasks in a row that stopped before RUNNING */
	int64_t next_ms; /* no new task before this time */
};

struct sched_obj {
	struct store_sched_obj row; /* strings owned */
	json_t *doc;                /* owned reference */
};

__attribute__((format(printf, 3, 4))) int sched_fail(struct sched_error *err, int code,
                                                     const char *fmt, ...);
int sched_fail_store(struct sched_error *err, const struct store_error *serr, const char *what);
void sched_clear_error(struct sched_error *err);

int64_t sched_now_ms(struct sched *s);
double sched_epoch(int64_t ms);          /* ECS timestamps: epoch seconds */
double sched_now_epoch(struct sched *s); /* the scheduler's now, as an ECS timestamp */
/* o[key] as a string, or NULL; as an int, or dflt when it is not an integer. */
const char *sched_jstr(const json_t *o, const char *key);
int sched_jint(const json_t *o, const char *key, int dflt);
void sched_random_hex(struct sched *s, char *out, size_t n_hex); /* out: n_hex + 1 bytes */
uint64_t sched_random_u64(struct sched *s);

/* "arn:aws:ecs:<region>:<account>:<type>/<rest>"; NULL when out of memory. */
char *sched_arn(struct sched *s, const char *type, const char *rest);
/* The part after "<type>/" when ref is an ARN of this type, else ref. */
const char *sched_arn_tail(const char *ref, const char *type);

/* Object I/O. obj_load: STORE_ERR_NOT_FOUND maps to not_found_code. */
int sched_obj_load(struct sched *s, const char *arn, struct sched_obj *o, int not_found_code,
                   struct sched_error *err);
/* Writes o (insert when o->row.version == 0), with the row's fields and the
 * document; updates o->row.version. */
int sched_obj_save(struct sched *s, struct sched_obj *o, struct sched_error *err);
void sched_obj_free(struct sched_obj *o);
/* A new object (not yet saved): doc is taken over. */
int sched_obj_init(struct sched_obj *o, enum store_sched_kind kind, const char *arn,
                   const char *cluster, const char *name, const char *status, json_t *doc,
                   struct sched_error *err);
int sched_obj_set_str(struct sched_obj *o, char **field, const char *v, struct sched_error *err);

/* Writes several objects in one store transaction, all or none, each under
 * the version it was read at (inserted when o->row.version is 0); then sets
 * their seq and version. This is how a task's state and its instance's
 * remainingResources change together: a concurrent writer of either makes the
 * whole write SCHED_ERR_SERVER with nothing written, and the caller reads
 * again. */
int sched_objs_save(struct sched *s, struct sched_obj *const *objs, size_t n,
                    struct sched_error *err);
/* How many objects match f (store_sched_count). */
int sched_count(struct sched *s, const struct store_sched_filter *f, int64_t *out,
                struct sched_error *err);

struct sched_objs {
	struct sched_obj *v;
	size_t n;
};
int sched_objs_query(struct sched *s, const struct store_sched_filter *f, struct sched_objs *out,
                     struct sched_error *err);
void sched_objs_free(struct sched_objs *l);

/* Names of clusters, families, containers, services: 1..max of [A-Za-z0-9_-]. */
bool sched_name_ok(const char *name, size_t max);
/* List* and Describe* (describe.c). */
/* A page of ARNs of the objects base matches (its after_seq and limit are
 * set from page), oldest first, with the next token when more are left. */
int sched_list_page(struct sched *s, const struct store_sched_filter *base,
                    const struct sched_page *page, json_t **arns_out, char **next_out,
                    struct sched_error *err);
/* Appends {"arn", "reason": "MISSING"} to a describe call's failures for
 * ref, which named nothing: ref itself when it is an ARN, else the ARN of
 * kind it would have ("<cluster_name>/<ref>", or ref alone when cluster_name
 * is NULL); "" when ref is NULL (not a string). SCHED_OK, or
 * SCHED_ERR_SERVER when out of memory. */
int sched_missing_ref(struct sched *s, json_t *failures, const char *kind, const char *cluster_name,
                      const char *ref, struct sched_error *err);
/* The end of a call that returns two new arrays (found and failures, started
 * and failures): on SCHED_OK they go to *a_out and *b_out, else they are
 * freed. Returns rc. */
int sched_hand_over(int rc, json_t *a, json_t *b, json_t **a_out, json_t **b_out);
/* One kind of object described by references within a cluster. */
struct sched_describe_kind {
	const char *kind;  /* of its ARN: "service", "task" */
	const char *field; /* the request's list: "services" */
	const char *what;  /* what the list holds: "service names or ARNs" */
	size_t max;        /* references at most */
	/* Loads the object ref names in cl; not_found when there is none. */
	int (*find)(struct sched *s, const struct sched_obj *cl, const char *ref,
	            struct sched_obj *o, struct sched_error *err);
	int not_found;
};
/* Describe{Services,Tasks}: each object of kind that refs (1..max names,
 * ids or ARNs) names in cluster, as stored, in *found_out; each one that
 * names nothing as MISSING in *failures_out. */
int sched_describe_in_cluster(struct sched *s, const struct sched_describe_kind *k,
                              const char *cluster, const json_t *refs, json_t **found_out,
                              json_t **failures_out, struct sched_error *err);

/* The ACTIVE cluster called name (NULL/"" -> "default"): made when absent,
 * made ACTIVE again when INACTIVE (with tags), else returned as it is. */
int sched_cluster_ensure(struct sched *s, const char *name, const json_t *tags,
                         struct sched_obj *o, struct sched_error *err);
/* The cluster named by ref (NULL/"" -> "default"), ACTIVE unless any_status. */
int sched_cluster_load(struct sched *s, const char *ref, bool any_status, struct sched_obj *o,
                       struct sched_error *err);
/* The container instance of cluster cl named by ref (id or ARN), any
 * status; InvalidParameterException when it is not there. */
int sched_instance_load(struct sched *s, const struct sched_obj *cl, const char *ref,
                        struct sched_obj *o, struct sched_error *err);
/* The ACTIVE or DRAINING instance of cluster cl whose ec2InstanceId is id;
 * *found false (and o zeroed) when there is none. */
int sched_instance_find_ec2(struct sched *s, const struct sched_obj *cl, const char *id,
                            struct sched_obj *o, bool *found, struct sched_error *err);
/* The task definition named by ref (family, family:revision, ARN). */
int sched_taskdef_load(struct sched *s, const char *ref, struct sched_obj *o,
                       struct sched_error *err);

/* Pagination: a token resumes after seq. */
int sched_page_start(const struct sched_page *page, int64_t *after_seq, size_t *limit,
                     struct sched_error *err);
int sched_page_token(int64_t seq, char **out, struct sched_error *err);

/* Tags (tags.c): NULL or an array of {"key","value"} checked against ECS's
 * rules (see scheduler.h); *out gets a clean copy for a document. */
int sched_tags_copy(const json_t *tags, json_t **out, struct sched_error *err);
/* Puts add (checked as sched_tags_copy) into have (a doc's array), a key
 * already there taking the new value; refused past 50 tags, have unchanged. */
int sched_tags_merge(json_t *have, const json_t *add, struct sched_error *err);

/* Resources a task definition asks for (after overrides), and its ports. */
struct sched_port {
	int container_port;
	int host_port; /* 0: dynamic */
	bool udp;
	const char *container; /* borrowed from the task definition */
};
struct sched_need {
	int cpu, memory;
	struct sched_port *ports; /* owned */
	size_t n_ports;
};
int sched_need_of(const json_t *taskdef, const json_t *overrides, struct sched_need *out,
                  struct sched_error *err);
void sched_need_free(struct sched_need *n);

/* What one instance has left: computed from its registration and the tasks
 * on it that are not STOPPED. */
/* The host ports bound on the one machine every instance runs on
 * (host_ports_shared), as bitmaps: one bit per port and protocol. */
struct sched_host_ports {
	unsigned char tcp[65536 / 8], udp[65536 / 8];
};
void sched_host_ports_take(struct sched_host_ports *h, int port, bool udp);

struct sched_usage {
	int cpu_total, mem_total;
	int cpu_used, mem_used;
	int *ports; /* taken ports, tcp as n, udp as -n; owned */
	size_t n_ports, cap_ports;
	int running, pending;
	/* Ports taken on the machine through any instance (borrowed; NULL:
	 * the instance is a host of its own). */
	const struct sched_host_ports *host;
};
int sched_usage_of(struct sched *s, const struct sched_obj *inst, const struct sched_objs *tasks,
                   struct sched_usage *u, struct sched_error *err);
void sched_usage_free(struct sched_usage *u);
bool sched_usage_port_taken(const struct sched_usage *u, int port, bool udp);
int sched_usage_take_port(struct sched_usage *u, int port, bool udp);
/* The instance document with remainingResources and task counts refreshed. */
int sched_instance_refresh(struct sched *s, struct sched_obj *inst, const struct sched_objs *tasks,
                           struct sched_error *err);

/* Placement (placement.c). Picks an instance for one task of group among
 * insts (their usages in the same order); *chosen is its index, or -1 with
 * *reason_at (per instance) filled: "RESOURCE:CPU", "RESOURCE:MEMORY",
 * "RESOURCE:PORTS", "MemberOf placement constraint unsatisfied",
 * "DistinctInstance placement constraint unsatisfied", "INSTANCE_NOT_ACTIVE";
 * NULL for candidates. Strategies apply in order; what is left after them
 * goes to the instance first in insts. */
int sched_place(struct sched *s, const struct sched_objs *insts, struct sched_usage *usages,
                const struct sched_objs *tasks, const char *group, const struct sched_need *need,
                const json_t *strategy, const json_t *constraints, int *chosen,
                const char **reason_at, struct sched_error *err);
/* Checks the strategies and constraints of a request before any work. */
int sched_placement_check(const json_t *strategy, const json_t *constraints,
                          struct sched_error *err);
/* Evaluates a cluster query language expression against one instance. */
int sched_expr_eval(const char *expr, const struct sched_obj *inst, const struct sched_objs *tasks,
                    bool *result, struct sched_error *err);
/* The host ports a task would get on an instance (need's order): static ones
 * when free, dynamic ones the lowest free of the scheduler's range. 0, or -1
 * when they do not fit. u is not changed. */
int sched_ports_fit(struct sched *s, const struct sched_usage *u, const struct sched_need *need,
                    int *host_ports);

/* Tasks (task.c), used by services. Runs tasks and appends them (as task
 * objects, saved) to started; failures as in sched_run_task. */
int sched_run_locked(struct sched *s, const struct sched_run_request *req, struct sched_obj *cl,
                     struct sched_obj *td, json_t *started, json_t *failures,
                     struct sched_error *err);
/* Like sched_run_locked; only_instances (an array of ids or ARNs, or NULL)
 * limits placement to those instances (StartTask). */
int sched_run_on(struct sched *s, const struct sched_run_request *req, struct sched_obj *cl,
                 struct sched_obj *td, const json_t *only_instances, json_t *started,
                 json_t *failures, struct sched_error *err);
/* desiredStatus STOPPED with stop_code and reason; the driver is asked; the
 * task is STOPPED at once when the driver says its containers are gone. */
int sched_stop_locked(struct sched *s, struct sched_obj *task, const char *stop_code,
                      const char *reason, struct sched_error *err);
/* sched_tick under the lock; *changed counts. */
int sched_tick_locked(struct sched *s, int *changed, struct sched_error *err);
/* Appends a copy of o (doc shared) to l. */
int sched_objs_put(struct sched_objs *l, const struct sched_obj *o, struct sched_error *err);
/* Lifecycle (lifecycle.c). Writes the task with its instance's refreshed
 * remainingResources and task counts in one transaction (the row's status
 * and grp follow the document's lastStatus and desiredStatus). */
int sched_task_commit(struct sched *s, struct sched_obj *task, struct sched_error *err);
/* Starts a task saved PROVISIONING: the starting hook, then the driver;
 * PENDING when started, else STOPPED with TaskFailedToStart. */
int sched_task_start(struct sched *s, struct sched_obj *task, const struct sched_obj *td,
                     struct sched_error *err);
/* reason cut to ECS's 255 characters into buf. */
void sched_clip_reason(char *buf, size_t cap, const char *reason);
/* A service task reached RUNNING (ok) or STOPPED without ever running (not
 * ok, and not stopped on purpose): the service's start throttle follows. */
void sched_throttle_note(struct sched *s, const json_t *task, bool ok);
void sched_throttle_free(struct sched *s);
/* One reconcile pass over one service (reconcile.c); saves it. */
int sched_service_reconcile(struct sched *s, struct sched_obj *svc, struct sched_error *err);
/* The non-STOPPED tasks of a cluster. */
int sched_live_tasks(struct sched *s, const char *cluster_arn, struct sched_objs *out,
                     struct sched_error *err);

#endif
