/*
 * process_health.c - a container definition's healthCheck, run by the
 * process driver itself (Docker's HEALTHCHECK, for containers that are local
 * processes).
 *
 * The driver's watcher thread owns every check: it starts one when it is due
 * (interval after the container started, then interval after each check
 * ended), polls the check's pidfd with the supervisors', and kills the
 * check's process group when it overruns its timeout. Checks never run
 * under a scheduler call, so a slow check holds nothing up.
 *
 * A check runs as the container does: same environment, working directory,
 * user and group; CMD-SHELL through /bin/sh -c, CMD by execve of its argv
 * (a bare name searched on the container's PATH). Its output goes to
 * <container>/health, the last check's only. The verdict follows Docker's
 * rules: exit 0 is a pass and makes the container HEALTHY at once; anything
 * else (a non-zero exit, a signal, a timeout, a check that could not run) is
 * a failure, ignored during startPeriod, and `retries` failures in a row make
 * it UNHEALTHY.
 *
 * Nothing here is kept on disk but the definition's healthCheck (in the
 * driver's state.json); a driver opened again starts from UNKNOWN and takes
 * the environment from the container's own /proc/<pid>/environ, so that the
 * task's secrets are never written to the run folder.
 *
 * As in process_shim.c, only async-signal-safe calls are made between fork
 * and exec: everything is prepared first.
 */
#include "scheduler/process_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ENVIRON_MAX  (1u << 20) /* /proc/<pid>/environ read at most */

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void phealth_free(struct phealth *h)
{
	if (!h)
		return;
	phealth_kill(h);
	strv_free(h->argv);
	strv_free(h->envp);
	free(h->cwd);
	free(h->out_path);
	free(h);
}

static long num_or(const json_t *o, const char *k, long dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v)
	                                                        : dflt;
}

static const char *str_at(const json_t *a, size_t i)
{
	const char *v = json_string_value(json_array_get(a, i));
	return v ? v : "";
}

int phealth_new(const json_t *hc, struct phealth **out)
{
	*out = NULL;
	const json_t *cmd = json_object_get(hc, "command");
	const char *kind = json_string_value(json_array_get(cmd, 0));
	if (!json_is_object(hc) || !kind || strcmp(kind, "NONE") == 0)
		return 0;
	bool shell = strcmp(kind, "CMD-SHELL") == 0;
	if (!shell && strcmp(kind, "CMD") != 0)
		return 0; /* taskdef.c accepts nothing else */
	size_t n = json_array_size(cmd);
	if (n < 2)
		return 0;
	struct phealth *h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	h->pidfd = -1;
	h->argv = calloc(n + 2, sizeof(char *));
	if (!h->argv)
		goto oom;
	size_t k = 0;
	if (shell) {
		/* ECS joins a CMD-SHELL's words with spaces, as Docker does. */
		size_t len = 1;
		for (size_t i = 1; i < n; i++)
			len += strlen(str_at(cmd, i)) + 1;
		char *line = malloc(len);
		if (!line)
			goto oom;
		size_t at = 0;
		for (size_t i = 1; i < n; i++) {
			const char *w = str_at(cmd, i);
			size_t wl = strlen(w);
			if (i > 1)
				line[at++] = ' ';
			memcpy(line + at, w, wl);
			at += wl;
		}
		line[at] = '\0';
		h->argv[k++] = strdup("/bin/sh");
		h->argv[k++] = strdup("-c");
		h->argv[k++] = line;
	} else {
		for (size_t i = 1; i < n; i++)
			h->argv[k++] = strdup(str_at(cmd, i));
	}
	for (size_t i = 0; i < k; i++)
		if (!h->argv[i])
			goto oom;
	h->interval_ms = num_or(hc, "interval", 30) * 1000LL;
	h->timeout_ms = num_or(hc, "timeout", 5) * 1000LL;
	h->retries = (int)num_or(hc, "retries", 3);
	h->start_period_ms = num_or(hc, "startPeriod", 0) * 1000LL;
	if (h->interval_ms <= 0)
		h->interval_ms = 30000;
	if (h->timeout_ms <= 0)
		h->timeout_ms = 5000;
	if (h->retries <= 0)
		h->retries = 3;
	*out = h;
	return 0;
oom:
	phealth_free(h);
	return -1;
}

int phealth_set_env(struct phealth *h, char *const *envp)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(envp[i]))) {
			strv_free(v);
			return -1;
		}
	strv_free(h->envp);
	h->envp = v;
	return 0;
}

int phealth_env_from_proc(struct phealth *h, pid_t pid, unsigned long long start)
{
	char p[64];
	if (snprintf(p, sizeof(p), "/proc/%d/environ", (int)pid) < 0)
		return -1;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char *buf = malloc(ENVIRON_MAX + 1);
	size_t len = 0;
	while (buf && len < ENVIRON_MAX) {
		ssize_t got = read(fd, buf + len, ENVIRON_MAX - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	/* The pid must still be the container read: same start time after. */
	unsigned long long st;
	if (!buf || proc_start_time(pid, &st) < 0 || st != start) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\0';
	char **v = calloc(n + 2, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; v && i < len; i += strlen(buf + i) + 1)
		if (buf[i] && strchr(buf + i, '=') && !(v[k++] = strdup(buf + i))) {
			strv_free(v);
			v = NULL;
		}
	free(buf);
	if (!v)
		return -1;
	strv_free(h->envp);
	h->envp = v;
	return 0;
}

/* The executable of argv[0]: as it is with a '/', else searched on the
 * container's PATH. NULL when not found (the run is then a failure). */
static char *resolve(const struct phealth *h)
{
	const char *a0 = h->argv[0];
	if (strchr(a0, '/'))
		return strdup(a0);
	const char *path = DEFAULT_PATH;
	for (size_t i = 0; h->envp && h->envp[i]; i++)
		if (strncmp(h->envp[i], "PATH=", 5) == 0)
			path = h->envp[i] + 5;
	char *copy = strdup(path);
	char *save = NULL;
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
	     d = strtok_r(NULL, ":", &save)) {
		size_t len = strlen(d) + strlen(a0) + 2;
		char *p = d[0] == '/' ? malloc(len) : NULL;
		struct stat sb;
		if (p && snprintf(p, len, "%s/%s", d, a0) > 0 && stat(p, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && access(p, X_OK) == 0) {
			free(copy);
			return p;
		}
		free(p);
	}
	free(copy);
	return NULL;
}

__attribute__((noreturn)) static void child(const struct phealth *h, const char *path, int out)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setpgid(0, 0) < 0)
		_exit(126);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0)
		_exit(126);
	if (out >= 0 && (dup2(out, 1) < 0 || dup2(out, 2) < 0))
		_exit(126);
	close_range(3, ~0U, 0);
	if (h->cwd && chdir(h->cwd) < 0)
		_exit(126);
	if (h->set_ids && (setgroups(0, NULL) < 0 || setgid(h->gid) < 0 || setuid(h->uid) < 0))
		_exit(126);
	char *const empty[] = {NULL};
	execve(path, h->argv, h->envp ? h->envp : empty);
	_exit(127);
}

/* One run ended (status from waitid, or timed out): the verdict. */
static bool verdict(struct phealth *h, bool pass, long long now)
{
	enum sched_driver_health was = h->verdict;
	if (pass) {
		h->fails = 0;
		h->verdict = SCHED_HEALTH_HEALTHY;
	} else if (now >= h->started_ms + h->start_period_ms) {
		if (++h->fails >= h->retries)
			h->verdict = SCHED_HEALTH_UNHEALTHY;
	}
	h->next_ms = now + h->interval_ms;
	return h->verdict != was;
}

static void reap(struct phealth *h, siginfo_t *si, bool wait)
{
	memset(si, 0, sizeof(*si));
	if (waitid(P_PIDFD, (id_t)h->pidfd, si, WEXITED | (wait ? 0 : WNOHANG)) < 0)
		si->si_pid = 0;
	if (wait || si->si_pid != 0) {
		close(h->pidfd);
		h->pidfd = -1;
		h->pid = 0;
	}
}

void phealth_kill(struct phealth *h)
{
	if (!h || h->pid <= 0)
		return;
	/* The check is our unreaped child: its pid, and so its group, is
	 * still its own. */
	kill(-h->pid, SIGKILL);
	siginfo_t si;
	reap(h, &si, true);
}

bool phealth_step(struct phealth *h, long long now)
{
	if (h->pid > 0) {
		siginfo_t si;
		reap(h, &si, false);
		if (h->pid == 0)
			return verdict(h, si.si_code == CLD_EXITED && si.si_status == 0, now);
		if (now < h->next_ms)
			return false;
		phealth_kill(h); /* overran its timeout: a failure */
		return verdict(h, false, now);
	}
	if (now < h->next_ms)
		return false;
	char *path = resolve(h);
	if (!path)
		return verdict(h, false, now);
	int out =
	    h->out_path ? open(h->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) : -1;
	if (out >= 0 && h->set_ids && fchown(out, h->uid, h->gid) < 0) {
		close(out);
		out = -1;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		child(h, path, out);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(path);
	if (out >= 0)
		close(out);
	if (pid < 0)
		return verdict(h, false, now);
	h->pid = pid;
	h->pidfd = pidfd_open(pid, 0);
	if (h->pidfd < 0) {
		/* Cannot watch it: end it at once, a failed run. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		h->pid = 0;
		return verdict(h, false, now);
	}
	h->next_ms = now + h->timeout_ms; /* the deadline while it runs */
	return false;
}
