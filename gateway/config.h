/*
 * config.h - the gateway's configuration (private to gateway/).
 *
 * `taskgate serve --config FILE` reads one JSON document. It is parsed and
 * checked once, at start-up, into the fixed struct gw_config below; after that
 * nobody looks at JSON again, and every part of the server reads plain typed
 * fields that are known to be in range. A key we do not know, a value of the
 * wrong JSON type or a value out of range stops the start with a message that
 * names the key ("config: listen.port: expected an integer"), because a typo in
 * a security gateway's configuration must not silently fall back to a default.
 *
 * Without a file the defaults apply; docs/configuration.md lists every key and
 * its default, and the defaults live in exactly one place, gw_config_defaults.
 * Nothing here opens sockets or reads certificates: paths are only recorded.
 */
#ifndef TASKGATE_GATEWAY_CONFIG_H
#define TASKGATE_GATEWAY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway/log.h"

enum gw_config_status {
	GW_CONFIG_OK = 0,
	GW_CONFIG_ERR_IO = -1,      /* the file cannot be read */
	GW_CONFIG_ERR_SYNTAX = -2,  /* not JSON, or a duplicate key */
	GW_CONFIG_ERR_UNKNOWN = -3, /* a key this build does not know */
	GW_CONFIG_ERR_TYPE = -4,    /* a value of the wrong JSON type */
	GW_CONFIG_ERR_VALUE = -5,   /* right type, value not acceptable */
	GW_CONFIG_ERR_NOMEM = -6,
};

struct gw_config_error {
	int code;          /* an enum gw_config_status */
	char message[512]; /* for a person: "config: <key>: <what is wrong>" */
};

/* The largest configuration file we read: a few KiB is typical. */
#define GW_CONFIG_FILE_MAX (1024u * 1024u)

#define GW_CONFIG_PATH_MAX       PATH_MAX
#define GW_CONFIG_PRIORITIES_MAX 1024
#define GW_CONFIG_REGION_MAX     32
#define GW_CONFIG_ACCOUNT_ID_LEN 12

/* Where to listen: a numeric IPv4 or IPv6 address and a port (0: any free port). */
struct gw_listen {
	int family;                   /* AF_INET or AF_INET6 */
	char address[64];             /* numeric, without brackets: "127.0.0.1", "::1" */
	uint16_t port;                /* 0: the kernel picks one; logged once bound */
	struct sockaddr_storage addr; /* ready for bind() */
	socklen_t addr_len;
};

struct gw_config_tls {
	char cert[GW_CONFIG_PATH_MAX]; /* PEM certificate chain, leaf first */
	char key[GW_CONFIG_PATH_MAX];  /* PEM private key, unencrypted */
	/* GnuTLS priority string; checked with gnutls_priority_init at load. */
	char priorities[GW_CONFIG_PRIORITIES_MAX];
	/* PEM CA certificate(s) that sign container hosts' client certificates;
	 * "" = no mutual TLS (client certificates are not asked for). */
	char client_ca[GW_CONFIG_PATH_MAX];
};

struct gw_config_iam {
	unsigned refresh_ms; /* how often the server polls the store's IAM generation */
};

struct gw_config_sts {
	unsigned default_duration_s; /* DurationSeconds when a caller gives none */
	unsigned max_duration_s;     /* the most any session may last (roles may say less) */
};

/* Per-role settings of task credentials (task_credentials.roles.<name>). */
#define GW_CONFIG_TASK_ROLES_MAX 64
struct gw_config_task_role {
	char name[65];       /* the role's name, as in the IAM file */
	int bind_cluster;    /* -1: the global setting; 0/1 */
	int bind_source_ip;  /* -1: the global setting; 0/1 */
	unsigned lifetime_s; /* 0: the global setting */
};

struct gw_config_taskcreds {
	unsigned lifetime_s;     /* how long minted credentials last (role max bounds it) */
	unsigned renew_before_s; /* renewed when less than this is left */
	bool full_uri;           /* AWS_CONTAINER_CREDENTIALS_FULL_URI instead of RELATIVE_URI */
	bool authorization_token; /* AWS_CONTAINER_AUTHORIZATION_TOKEN required */
	bool bind_cluster;       /* session policy: ecs:* only in the task's cluster */
	bool bind_source_ip;     /* session policy: aws:SourceIp must be the task's address */
	char execution_env[32];  /* AWS_EXECUTION_ENV */
	struct gw_config_task_role roles[GW_CONFIG_TASK_ROLES_MAX];
	size_t n_roles;
};

struct gw_config_task_endpoint {
	struct gw_listen listen; /* plain HTTP, for tasks */
	char advertise_url[256]; /* base URL tasks use ("" = by task_credentials.uri) */
	unsigned rate_per_s;     /* sustained requests per second per client address */
	unsigned burst;          /* requests a client may make at once */
};

struct gw_config_store {
	char path[GW_CONFIG_PATH_MAX];
	char synchronous[8]; /* "FULL" or "NORMAL" */
	int busy_timeout_ms;
	unsigned max_size_mb; /* cap on the database file; 0: none */
};

struct gw_config_log {
	enum gw_log_level level;
	enum gw_log_format format;
};

struct gw_config_limits {
	unsigned max_connections;        /* MHD_OPTION_CONNECTION_LIMIT */
	unsigned max_connections_per_ip; /* MHD_OPTION_PER_IP_CONNECTION_LIMIT; 0: no limit */
	unsigned connection_timeout_s;   /* MHD_OPTION_CONNECTION_TIMEOUT: idle seconds */
	size_t connection_memory_bytes;  /* MHD_OPTION_CONNECTION_MEMORY_LIMIT */
	size_t max_body_bytes;           /* larger request bodies get 413 */
};

struct gw_config_server {
	unsigned threads;            /* polling threads; 0: one per online CPU */
	unsigned shutdown_timeout_s; /* how long SIGTERM waits for requests in flight */
};

/* scheduler.local_instance: clusters this host joins as a container instance
 * at start, as the ECS agent does for its own host (sched_run.c). ECS cluster
 * names are at most 255 characters. */
#define GW_CONFIG_LOCAL_CLUSTERS_MAX 8
#define GW_CONFIG_CLUSTER_NAME_MAX   255

/* The scheduler behind the ECS API and the host driver it runs tasks with. */
struct gw_config_scheduler {
	char driver[16];               /* "process" or "docker" */
	unsigned tick_ms;              /* how often tasks and services are reconciled */
	unsigned dynamic_port_min;     /* host ports for hostPort 0 */
	unsigned dynamic_port_max;
	unsigned stop_timeout_s;       /* SIGTERM to SIGKILL when a container gives none */
	char run_dir[GW_CONFIG_PATH_MAX]; /* process driver; "": <store dir>/tasks */
	unsigned retain_s;             /* process driver: a stopped task's folder is kept */
	char docker_socket[GW_CONFIG_PATH_MAX]; /* "": /var/run/docker.sock */
	char docker_tcp[256];          /* "host:port": TCP with TLS instead; "": socket */
	char docker_tls_ca[GW_CONFIG_PATH_MAX];
	char docker_tls_cert[GW_CONFIG_PATH_MAX];
	char docker_tls_key[GW_CONFIG_PATH_MAX];
	/* registry credentials (docker CLI config.json form) for pulls; "": none */
	char docker_registry_auth_file[GW_CONFIG_PATH_MAX];
	char docker_port_bind_ip[64];  /* HostIp of published ports */
	char docker_network_mode[16];  /* when a task definition names none */
	unsigned docker_timeout_ms;    /* per engine request */
	/* Clusters this host is registered in at start; none by default. */
	char local_instance[GW_CONFIG_LOCAL_CLUSTERS_MAX][GW_CONFIG_CLUSTER_NAME_MAX + 1];
	size_t n_local_instance;
	unsigned local_reserved_memory_mib; /* physical memory kept from tasks */
};

/* The decision log (docs/audit.md). */
struct gw_config_audit {
	/* PEM Ed25519 private key (mode 0600) that signs checkpoints; "" = no
	 * checkpoints: the chain is still written and checked, but nothing
	 * proves that its tail was not rewritten. */
	char key_file[GW_CONFIG_PATH_MAX];
	unsigned checkpoint_every;      /* records between checkpoints; 0: not by count */
	unsigned checkpoint_interval_s; /* seconds between checkpoints; 0: not by time */
	unsigned batch_max;             /* most records committed in one transaction */
};

struct gw_config {
	struct gw_listen listen;
	struct gw_config_tls tls;
	struct gw_config_store store;
	char account_id[GW_CONFIG_ACCOUNT_ID_LEN + 1];
	char region[GW_CONFIG_REGION_MAX];
	struct gw_config_log log;
	struct gw_config_limits limits;
	struct gw_config_server server;
	/* The master key file that opens sealed secrets (access keys, issued
	 * credentials); "" = none: access keys cannot sign requests. */
	char master_key[GW_CONFIG_PATH_MAX];
	struct gw_config_iam iam;
	struct gw_config_sts sts;
	struct gw_config_scheduler scheduler;
	struct gw_config_taskcreds task_credentials;
	struct gw_config_task_endpoint task_endpoint;
	struct gw_config_audit audit;
};

/* The recommended priority string: TLS 1.3 and 1.2, ECDHE, AEAD ciphers only. */
#define GW_TLS_PRIORITIES_DEFAULT                                                                  \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"        \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:"            \
	"+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE"

/* Fills every field with its documented default. */
void gw_config_defaults(struct gw_config *cfg);

/*
 * Parses a JSON document of n bytes over the defaults already in *cfg. On
 * failure *cfg may be partly changed and err names the key at fault.
 */
int gw_config_parse(const char *text, size_t n, struct gw_config *cfg, struct gw_config_error *err);

/* gw_config_defaults, then the file at path (at most GW_CONFIG_FILE_MAX bytes). */
int gw_config_load(const char *path, struct gw_config *cfg, struct gw_config_error *err);

/*
 * Parses a listen address, "IPv4:port" or "[IPv6]:port", into *out. Numeric
 * addresses only: a host name would make the bound address depend on DNS.
 */
int gw_config_parse_listen(const char *s, struct gw_listen *out, struct gw_config_error *err);

/* "127.0.0.1:8443" or "[::1]:8443" for a listen struct and the given port. */
int gw_listen_format(const struct gw_listen *l, uint16_t port, char *out, size_t out_size);

const char *gw_config_status_name(int code);

#endif
