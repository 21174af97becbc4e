/*
 * server.h - the HTTPS API listener (private to gateway/).
 *
 * One struct gw_server holds everything a request may reach: the frozen
 * configuration, the log, the store, the libmicrohttpd daemon and the two
 * counters shutdown needs. It is created by `taskgate serve` and passed down;
 * there are no globals. The server does not handle signals itself: the
 * command waits for SIGTERM/SIGINT and then calls quiesce, drain and stop in
 * that order.
 */
#ifndef TASKGATE_GATEWAY_SERVER_H
#define TASKGATE_GATEWAY_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/config.h"
#include "gateway/iam.h"
#include "gateway/log.h"

struct MHD_Daemon;
struct store;
struct sched;
struct gw_task_endpoint;
struct gw_taskcreds;
struct gw_audit;

enum gw_server_status {
	GW_SERVER_OK = 0,
	GW_SERVER_ERR_TLS = -1,    /* certificate or key unreadable or unusable */
	GW_SERVER_ERR_LISTEN = -2, /* the daemon would not start (address in use, ...) */
	GW_SERVER_ERR_NOMEM = -3,
	GW_SERVER_ERR_AUDIT = -4,  /* the audit key or writer could not be set up */
};

struct gw_server_error {
	int code;
	char message[512];
};

struct gw_server {
	const struct gw_config *cfg; /* borrowed, immutable while the server runs */
	struct gw_log *log;          /* borrowed */
	struct store *store;         /* borrowed; thread-safe per store.h */
	/* The audit writer (group commit, chain, checkpoints): opened by
	 * gw_server_start from cfg->audit, closed by gw_server_stop after the
	 * daemon. NULL only where a test builds a server by hand: records are
	 * then appended straight to the store, one transaction each. */
	struct gw_audit *audit;
	struct MHD_Daemon *daemon;   /* owned */
	int quiesced_fd;             /* listen socket after quiesce, closed at stop; -1 */
	uint16_t port;               /* the bound port (the kernel's pick for port 0) */
	unsigned threads;            /* polling threads actually started */
	atomic_uint inflight;        /* requests between headers and completion */
	atomic_bool draining;        /* shutdown began: answers carry Connection: close */
	atomic_bool running;         /* the daemon started: its messages are debug lines */

	/* Identity: what authentication reads (gateway/authn.c). */
	struct gw_keybox *keybox;    /* owned; NULL without cfg->master_key */
	struct gw_iam_live iam;      /* the current IAM snapshot, swapped by the poller */
	bool iam_ready;              /* iam was initialised (for stop) */
	bool mtls;                   /* tls.client_ca is set: client certificates verified */
	pthread_t iam_thread;        /* polls the store's IAM generation */
	bool iam_thread_started;
	pthread_mutex_t iam_stop_lock;
	pthread_cond_t iam_stop_cond;
	bool iam_stop;

	/* The scheduler the ECS API executes on (gateway/sched_run.c): opened
	 * on the store with the configured driver at start, ticked by its own
	 * thread, closed at stop. NULL until started. */
	struct sched *sched;
	struct gw_sched_runner *sched_runner; /* owned: driver, ticker thread */
	/* Task credentials and the task endpoint (gateway/task_serve.c). */
	struct gw_task_endpoint *task_endpoint; /* owned */
	struct gw_taskcreds *taskcreds;         /* owned */
};

/*
 * Reads the certificate and key named by cfg->tls, starts the daemon on
 * cfg->listen with the limits of cfg->limits, and wipes the key from memory
 * once the daemon holds it. On success srv->port is the bound port.
 */
int gw_server_start(struct gw_server *srv, const struct gw_config *cfg, struct gw_log *log,
                    struct store *store, struct gw_server_error *err);

/* Stops accepting connections; requests on open connections go on. */
void gw_server_quiesce(struct gw_server *srv);

/* Waits until no request is in flight or timeout_ms passed; returns how many
 * requests were still in flight (0: all finished). */
unsigned gw_server_drain(struct gw_server *srv, unsigned timeout_ms);

/* Stops the daemon and closes every connection; NULL-safe, idempotent. */
void gw_server_stop(struct gw_server *srv);

#endif
