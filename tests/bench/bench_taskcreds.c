/*
 * bench_taskcreds.c - the task endpoint under load, and issuance per task
 * start.
 *
 * One process runs the real task endpoint (its libmicrohttpd daemon, rate
 * limiter set out of the way) over a real store, IAM snapshot, key box and
 * audit log, and a client on one keep-alive loopback connection per worker
 * thread. It measures, in the same run:
 *
 *   baseline   GET of a route that answers an empty 200 (the same daemon,
 *              the same limiter and logging): the server's ceiling
 *   fetch      GET /v2/credentials/<id>: store lookup, two unseals, the STS
 *              session check, an audit record, the wiped JSON answer
 *
 * and prints requests per second and their ratio; then the time one task
 * start spends issuing (mint, seal, store, audit) for a task role.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gateway/audit.h"
#include "gateway/config.h"
#include "gateway/iam.h"
#include "gateway/keybox.h"
#include "gateway/log.h"
#include "gateway/server.h"
#include "gateway/task_endpoint.h"
#include "gateway/taskcreds.h"
#include "store/store.h"

#define ACCOUNT "111122223333"
#define CLUSTER "arn:aws:ecs:us-east-1:" ACCOUNT ":cluster/bench"
#define WORKERS 8

static const char iam_doc[] =
    "{\"account_id\":\"" ACCOUNT "\",\"roles\":[{\"name\":\"app\",\"trust_policy\":{"
    "\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{"
    "\"Service\":\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}}]}";

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int rm_one(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)st;
	(void)f;
	(void)w;
	return remove(p);
}

struct worker {
	uint16_t port;
	const char *path;
	double until;
	long done;
	long failed;
};

/* One keep-alive connection; a request, then the whole response (headers and
 * Content-Length body). */
static int connect_lo(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int one_request(int fd, const char *req, size_t req_n, char *buf, size_t cap)
{
	if (write(fd, req, req_n) != (ssize_t)req_n)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t k = read(fd, buf + got, cap - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		const char *cl = strcasestr(buf, "Content-Length:");
		size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0;
		if (got >= (size_t)(end + 4 - buf) + len)
			return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
	}
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	char req[512], buf[8192];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", w->path);
	int fd = connect_lo(w->port);
	while (fd >= 0 && now_s() < w->until) {
		if (one_request(fd, req, (size_t)n, buf, sizeof(buf)) == 0) {
			w->done++;
		} else {
			w->failed++;
			close(fd);
			fd = connect_lo(w->port);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static double measure(uint16_t port, const char *path, double seconds, long *failed)
{
	struct worker w[WORKERS];
	pthread_t th[WORKERS];
	double start = now_s();
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){.port = port, .path = path, .until = start + seconds};
		pthread_create(&th[i], NULL, run_worker, &w[i]);
	}
	long done = 0;
	*failed = 0;
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
		done += w[i].done;
		*failed += w[i].failed;
	}
	return (double)done / (now_s() - start);
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? atof(argv[1]) : 1.0;
	if (budget <= 0)
		budget = 1.0;
	char dir[] = "/tmp/tg-bench-tc-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char db[128];
	snprintf(db, sizeof(db), "%s/taskgate.db", dir);
	static struct gw_config cfg;
	gw_config_defaults(&cfg);
	(void)gw_config_parse_listen("127.0.0.1:0", &cfg.task_endpoint.listen, NULL);
	cfg.task_endpoint.rate_per_s = 100000;
	cfg.task_endpoint.burst = 1000000;
	struct gw_log log;
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	gw_log_init(&log, devnull, GW_LOG_WARN, GW_LOG_FORMAT_JSON);
	struct gw_server srv;
	memset(&srv, 0, sizeof(srv));
	srv.cfg = &cfg;
	srv.log = &log;
	struct store_error se;
	struct store_options so = {.synchronous = "FULL"};
	if (store_open(db, &so, &srv.store, &se) != STORE_OK) {
		fprintf(stderr, "bench: %s\n", se.message);
		return 1;
	}
	unsigned char key[GW_KEYBOX_KEY_LEN] = {1, 2, 3};
	struct gw_keybox_error ke;
	struct gw_iam_spec spec;
	struct gw_iam_diags d;
	struct gw_iam_changes ch;
	struct gw_iam_error ie;
	if (gw_keybox_from_key(key, sizeof(key), &srv.keybox, &ke) != GW_KEYBOX_OK ||
	    gw_iam_file_parse(iam_doc, strlen(iam_doc), NULL, &spec, &d) != GW_IAM_OK ||
	    gw_iam_apply(srv.store, &spec, srv.keybox, &ch, &ie) != GW_IAM_OK ||
	    gw_iam_live_init(&srv.iam) != 0 ||
	    gw_iam_live_refresh(&srv.iam, srv.store, NULL, &ie) != GW_IAM_OK) {
		fprintf(stderr, "bench: setting up IAM failed\n");
		return 1;
	}
	gw_iam_diags_free(&d);
	gw_iam_changes_free(&ch);
	gw_iam_spec_free(&spec);

	/* the audit writer the server runs: group commit, hash chain */
	struct gw_audit_options ao = {.key = NULL};
	struct gw_audit_error ae;
	if (gw_audit_open(srv.store, &ao, &srv.audit, &ae) != GW_AUDIT_OK) {
		fprintf(stderr, "bench: audit: %s\n", ae.message);
		return 1;
	}

	struct gw_task_endpoint ep;
	char err[256];
	if (gw_task_endpoint_start(&ep, &cfg, &log, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	ep.empty_route = true;
	char base[128];
	gw_task_endpoint_base(&ep, base, sizeof(base));
	struct gw_taskcreds *tc = NULL;
	struct gw_taskcreds_options o = {.srv = &srv, .cfg = &cfg, .endpoint_base = base};
	if (gw_taskcreds_new(&o, &tc, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	gw_task_endpoint_set_taskcreds(&ep, tc);

	/* issuance: one task start after another */
	json_t *td = json_pack("{s:s, s:i, s:s, s:[{s:s, s:s}]}", "family", "bench", "revision", 1,
	                       "taskRoleArn", "arn:aws:iam::" ACCOUNT ":role/app",
	                       "containerDefinitions", "name", "app", "image", "x");
	char uri[256] = "";
	int starts = 0;
	double t0 = now_s(), issue_total = 0;
	while (starts < 5 || (now_s() - t0 < budget && starts < 2000)) {
		char arn[160];
		snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:" ACCOUNT ":task/bench/%032x",
		         (unsigned)starts + 1);
		json_t *task = json_pack("{s:s, s:s, s:[{s:s}]}", "taskArn", arn, "clusterArn",
		                         CLUSTER, "containers", "name", "app");
		json_t *env = json_object();
		char reason[512];
		double a = now_s();
		int rc = gw_taskcreds_starting(tc, task, td, env, reason, sizeof(reason));
		issue_total += now_s() - a;
		if (rc != 0) {
			fprintf(stderr, "bench: issuance failed: %s\n", reason);
			return 1;
		}
		if (!uri[0])
			snprintf(uri, sizeof(uri), "%s",
			         json_string_value(json_object_get(
			             env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")));
		json_decref(env);
		json_decref(task);
		starts++;
	}

	/* in-process, one thread: what a fetch costs without HTTP */
	const char *idp = strrchr(uri, '/') + 1;
	int nf = 0;
	double tf = now_s();
	while (now_s() - tf < budget / 4 || nf < 5) {
		struct gw_taskcreds_served c;
		char msg[256];
		if (gw_taskcreds_fetch(tc, idp, strlen(idp), NULL, 0, "127.0.0.1", &c, msg,
		                       sizeof(msg)) != GW_TASKCREDS_OK) {
			fprintf(stderr, "bench: fetch failed: %s\n", msg);
			return 1;
		}
		gw_taskcreds_served_clear(&c);
		nf++;
	}
	double inproc_ms = (now_s() - tf) * 1000.0 / nf;

	long f1 = 0, f2 = 0;
	double base_rps = measure(ep.port, "/__empty", budget, &f1);
	double fetch_rps = measure(ep.port, uri, budget, &f2);
	printf("task endpoint benchmark (%d keep-alive loopback clients, %.2fs per path)\n",
	       WORKERS, budget);
	printf("%-44s %14s %8s\n", "path", "requests/s", "failed");
	printf("%-44s %14.0f %8ld\n", "baseline: empty 200 (same daemon)", base_rps, f1);
	printf("%-44s %14.0f %8ld\n", "GET /v2/credentials/<id> (audited)", fetch_rps, f2);
	printf("ratio credentials/baseline: %.3f\n", base_rps > 0 ? fetch_rps / base_rps : 0.0);
	printf("one fetch in process, one thread (no HTTP): %.3f ms\n", inproc_ms);
	printf("issuance per task start (task role: mint, seal, store, audit): %.3f ms over %d "
	       "starts\n",
	       issue_total * 1000.0 / starts, starts);

	json_decref(td);
	gw_task_endpoint_stop(&ep);
	gw_taskcreds_free(tc);
	gw_audit_close(srv.audit);
	gw_iam_live_destroy(&srv.iam);
	gw_keybox_free(srv.keybox);
	store_close(srv.store);
	gw_log_destroy(&log);
	close(devnull);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return (f2 > 0 || fetch_rps <= 0) ? 1 : 0;
}
