/*
 * cli_serve.c - `taskgate serve` and `taskgate version`.
 *
 * serve is the gateway's life in order: read the configuration (once, into a
 * fixed struct), set up the log, block the stop signals, open the store, start
 * the listener, tell whoever waits which port it got, then sleep in sigwait.
 * The signals are blocked before any thread exists, so every thread the
 * libraries start inherits the mask and only the main thread ever sees them;
 * nothing runs in a signal handler. On SIGTERM, SIGINT or SIGHUP the listener stops
 * accepting, requests in flight get up to server.shutdown_timeout_s to finish,
 * then the daemon, the store and the log are closed in that order, and the
 * exit status is 0.
 *
 * Exit status: 0 after a clean stop; 2 for a usage error or an invalid
 * configuration (the file is part of how the command was invoked); 1 when a
 * valid configuration cannot be brought up (a certificate unreadable, the
 * port taken, the store refusing to open).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "gateway/cli.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/server.h"
#include "store/store.h"

static void serve_usage(FILE *f)
{
	fprintf(f, "usage: taskgate serve [--config FILE] [--ready-file FILE] [--check]\n"
	           "\n"
	           "Runs the gateway's HTTPS API listener until SIGTERM, SIGINT or SIGHUP.\n"
	           "\n"
	           "  -c, --config FILE      JSON configuration (docs/configuration.md);\n"
	           "                         without it every key has its default\n"
	           "      --ready-file FILE  once listening, write the bound port to FILE\n"
	           "                         (useful with port 0); removed at exit\n"
	           "      --check            only check the configuration: exit 0 if valid\n"
	           "  -h, --help             this text\n"
	           "\n"
	           "Exit status: 0 stopped by a signal, 1 could not start, 2 usage or\n"
	           "configuration error.\n");
}

/* A message for the log; one cut short ends in "..." rather than mid-word
 * without notice. */
static void set_msg(char *msg, size_t msg_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msg_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(msg, msg_size, fmt, ap);
	va_end(ap);
	if (w < 0)
		msg[0] = '\0';
	else if ((size_t)w >= msg_size && msg_size > 4)
		memcpy(msg + msg_size - 4, "...", 4);
}

/* Writes "<port>\n" to path through a temporary file and rename, so a reader
 * polling for the file never sees it half written. */
static int write_ready_file(const char *path, unsigned port, char *msg, size_t msg_size)
{
	char tmp[GW_CONFIG_PATH_MAX + 32];
	char line[16];
	int w = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	int lw = snprintf(line, sizeof(line), "%u\n", port);
	if (w < 0 || (size_t)w >= sizeof(tmp) || lw < 0 || (size_t)lw >= sizeof(line)) {
		set_msg(msg, msg_size, "ready file name too long");
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		set_msg(msg, msg_size, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	ssize_t n = write(fd, line, (size_t)lw);
	int e = errno;
	if (close(fd) != 0 && n == lw) {
		n = -1;
		e = errno;
	}
	if (n != lw || rename(tmp, path) != 0) {
		if (n == lw)
			e = errno;
		unlink(tmp);
		set_msg(msg, msg_size, "cannot write %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	}
	return "signal";
}

/* From the open store to a stopped server; returns the exit status. */
static int run(const struct gw_config *cfg, struct gw_log *log, const sigset_t *stop_signals,
               const char *ready_file)
{
	struct store *store = NULL;
	struct store_error se = {0};
	struct store_options so = {
	    .busy_timeout_ms = cfg->store.busy_timeout_ms,
	    .readonly = false,
	    .synchronous = cfg->store.synchronous,
	    .max_size_bytes = (int64_t)cfg->store.max_size_mb * 1024 * 1024,
	};
	if (store_open(cfg->store.path, &so, &store, &se) != STORE_OK) {
		struct gw_log_line l;
		gw_log_begin(&l, log, GW_LOG_ERROR, "cannot open the store");
		gw_log_str(&l, "path", cfg->store.path);
		gw_log_str(&l, "status", store_status_name(se.code));
		gw_log_str(&l, "error", se.message);
		gw_log_end(&l);
		return GW_EXIT_FAIL;
	}

	struct gw_server srv;
	struct gw_server_error ge = {0};
	if (gw_server_start(&srv, cfg, log, store, &ge) != GW_SERVER_OK) {
		gw_log_msg(log, GW_LOG_ERROR, "cannot start the listener", ge.message);
		store_close(store);
		return GW_EXIT_FAIL;
	}

	struct gw_log_line l;
	gw_log_begin(&l, log, GW_LOG_INFO, "listening");
	gw_log_str(&l, "addr", cfg->listen.address);
	gw_log_uint(&l, "port", srv.port);
	gw_log_uint(&l, "threads", srv.threads);
	gw_log_str(&l, "store", cfg->store.path);
	gw_log_int(&l, "schema_version", store_schema_version(store));
	gw_log_str(&l, "account_id", cfg->account_id);
	gw_log_str(&l, "region", cfg->region);
	gw_log_end(&l);

	int status = GW_EXIT_OK;
	if (ready_file) {
		char msg[GW_CONFIG_PATH_MAX + 128];
		if (write_ready_file(ready_file, srv.port, msg, sizeof(msg)) != 0) {
			gw_log_msg(log, GW_LOG_ERROR, "cannot write the ready file", msg);
			status = GW_EXIT_FAIL;
			ready_file = NULL;
			goto stop;
		}
	}

	int sig = 0;
	for (;;) {
		int rc = sigwait(stop_signals, &sig);
		if (rc == 0)
			break;
		if (rc != EINTR) {
			gw_log_msg(log, GW_LOG_ERROR, "sigwait failed", strerror(rc));
			break;
		}
	}
	gw_log_begin(&l, log, GW_LOG_INFO, "shutdown");
	gw_log_str(&l, "signal", signal_name(sig));
	gw_log_uint(&l, "in_flight", atomic_load(&srv.inflight));
	gw_log_uint(&l, "timeout_s", cfg->server.shutdown_timeout_s);
	gw_log_end(&l);

stop:
	gw_server_quiesce(&srv);
	unsigned left = gw_server_drain(&srv, cfg->server.shutdown_timeout_s * 1000u);
	if (left > 0) {
		gw_log_begin(&l, log, GW_LOG_WARN, "shutdown timeout");
		gw_log_uint(&l, "abandoned", left);
		gw_log_end(&l);
	}
	gw_server_stop(&srv);
	store_close(store);
	if (ready_file)
		(void)unlink(ready_file);
	gw_log_begin(&l, log, GW_LOG_INFO, "stopped");
	gw_log_uint(&l, "abandoned", left);
	gw_log_end(&l);
	return status;
}

int gw_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"ready-file", required_argument, NULL, 'r'},
	    {"check", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *ready_file = NULL;
	bool check_only = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'h':
			serve_usage(stdout);
			return GW_EXIT_OK;
		case ':':
			fprintf(stderr, "taskgate serve: %s needs an argument\n", argv[optind - 1]);
			serve_usage(stderr);
			return GW_EXIT_USAGE;
		default:
			fprintf(stderr, "taskgate serve: unknown option '%s'\n", argv[optind - 1]);
			serve_usage(stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "taskgate serve: unexpected argument '%s'\n", argv[optind]);
		serve_usage(stderr);
		return GW_EXIT_USAGE;
	}

	/* The configuration is large (paths are PATH_MAX each): not on the stack. */
	struct gw_config *cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "taskgate serve: out of memory\n");
		return GW_EXIT_FAIL;
	}
	struct gw_config_error ce = {0};
	if (config_path) {
		if (gw_config_load(config_path, cfg, &ce) != GW_CONFIG_OK) {
			fprintf(stderr, "taskgate serve: %s\n", ce.message);
			free(cfg);
			return GW_EXIT_USAGE;
		}
	} else {
		gw_config_defaults(cfg);
	}
	if (check_only) {
		printf("taskgate serve: configuration %s is valid\n",
		       config_path ? config_path : "(defaults)");
		free(cfg);
		return GW_EXIT_OK;
	}

	struct gw_log log;
	if (gw_log_init(&log, STDERR_FILENO, cfg->log.level, cfg->log.format) != 0) {
		fprintf(stderr, "taskgate serve: cannot set up the log\n");
		free(cfg);
		return GW_EXIT_FAIL;
	}

	/* Before any thread exists: see the top of this file. A client closing
	 * its socket, or a closed stderr pipe, must not kill the gateway. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	/* A closed terminal: stop as cleanly as for SIGTERM. There is no reload;
	 * a new configuration or certificate takes a restart. */
	sigaddset(&stop_signals, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	if (rc != 0) {
		gw_log_msg(&log, GW_LOG_ERROR, "cannot block signals", strerror(rc));
		gw_log_destroy(&log);
		free(cfg);
		return GW_EXIT_FAIL;
	}

	struct gw_log_line l;
	gw_log_begin(&l, &log, GW_LOG_INFO, "starting");
	gw_log_str(&l, "version", TASKGATE_VERSION);
	gw_log_str(&l, "config", config_path ? config_path : "(defaults)");
	gw_log_end(&l);

	int status = run(cfg, &log, &stop_signals, ready_file);
	gw_log_destroy(&log);
	free(cfg);
	return status;
}

static void version_usage(FILE *f)
{
	fprintf(f, "usage: taskgate version\n"
	           "\n"
	           "Prints the version of taskgate and of the libraries it runs on.\n");
}

int gw_cmd_version(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			version_usage(stdout);
			return GW_EXIT_OK;
		}
		fprintf(stderr, "taskgate version: unknown option '%s'\n", argv[optind - 1]);
		version_usage(stderr);
		return GW_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "taskgate version: unexpected argument '%s'\n", argv[optind]);
		version_usage(stderr);
		return GW_EXIT_USAGE;
	}
	printf("taskgate %s\n", TASKGATE_VERSION);
	printf("libmicrohttpd %s\n", MHD_get_version());
	printf("GnuTLS %s\n", gnutls_check_version(NULL));
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("jansson %s\n", jansson_version_str());
	printf("SQLite %s\n", store_library_version());
	return fflush(stdout) == 0 ? GW_EXIT_OK : GW_EXIT_FAIL;
}
