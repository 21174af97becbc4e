/*
 * process_shim.c - the supervisor process behind each container of the
 * process driver (see process_int.h for the idea).
 *
 * The gateway is multi-threaded, so between fork and exec only
 * async-signal-safe calls are allowed: everything (paths, argv, envp, ids) is
 * prepared by the caller, and the shim and the child only make system calls
 * and format numbers by hand. The calling thread blocks every signal around
 * fork, so the shim starts with all of them blocked and can wait for the ones
 * it cares about with sigwaitinfo, never running a handler it inherited.
 *
 * Exit status handling is ordered so that a pid is never signalled after it
 * could have been reused: the shim peeks at the child's exit with WNOWAIT,
 * kills what is left of the child's process group while the unreaped child
 * still holds its pid (and so its group id), writes the exit file, and only
 * then reaps it.
 */
#include "scheduler/process_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	ST_SETPGID = 1,
	ST_STDIN = 2,
	ST_STDOUT = 3,
	ST_STDERR = 4,
	ST_CHDIR = 5,
	ST_RLIMIT = 6,
	ST_NICE = 7,
	ST_SETGID = 8,
	ST_SETUID = 9,
	ST_EXEC = 10,
	ST_FORK = 11,
	ST_PIPE = 12,
};

const char *pshim_stage_name(int stage)
{
	switch (stage) {
	case ST_SETPGID:
		return "setpgid";
	case ST_STDIN:
		return "open /dev/null";
	case ST_STDOUT:
		return "open stdout log";
	case ST_STDERR:
		return "open stderr log";
	case ST_CHDIR:
		return "chdir to the working directory";
	case ST_RLIMIT:
		return "setrlimit RLIMIT_AS";
	case ST_NICE:
		return "setpriority";
	case ST_SETGID:
		return "setgid";
	case ST_SETUID:
		return "setuid";
	case ST_EXEC:
		return "exec";
	case ST_FORK:
		return "fork";
	case ST_PIPE:
		return "pipe";
	default:
		return "start";
	}
}

/* What the shim tells the gateway once: the container runs, or it failed. */
struct report {
	int ok;
	int pid;
	int stage;
	int err;
};

/* --- async-signal-safe helpers (used after fork) -------------------------- */

static size_t fmt_int(char *buf, size_t at, size_t cap, long long v)
{
	char tmp[24];
	size_t n = 0;
	bool neg = v < 0;
	unsigned long long u = neg ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && n < sizeof(tmp));
	if (neg && at < cap)
		buf[at++] = '-';
	while (n && at < cap)
		buf[at++] = tmp[--n];
	return at;
}

static size_t fmt_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void write_exit(const struct pshim_spec *s, const char *word, int a, int b, bool two)
{
	char buf[64];
	size_t n = fmt_str(buf, 0, sizeof(buf), word);
	n = fmt_str(buf, n, sizeof(buf), " ");
	n = fmt_int(buf, n, sizeof(buf), a);
	if (two) {
		n = fmt_str(buf, n, sizeof(buf), " ");
		n = fmt_int(buf, n, sizeof(buf), b);
	}
	n = fmt_str(buf, n, sizeof(buf), "\n");
	int fd = open(s->exit_tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	write_all(fd, buf, n);
	fsync(fd);
	close(fd);
	rename(s->exit_tmp_path, s->exit_path);
}

static void send_report(int fd, int ok, int pid, int stage, int err)
{
	struct report r = {.ok = ok, .pid = pid, .stage = stage, .err = err};
	write_all(fd, &r, sizeof(r));
}

__attribute__((noreturn)) static void child_exec(const struct pshim_spec *s, int errfd)
{
	int stage;
	sigset_t none;
	sigemptyset(&none);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (setpgid(0, 0) < 0) {
		stage = ST_SETPGID;
		goto fail;
	}
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0) {
		stage = ST_STDIN;
		goto fail;
	}
	fd = open(s->stdout_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0 || dup2(fd, 1) < 0) {
		stage = ST_STDOUT;
		goto fail;
	}
	fd = open(s->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0 || dup2(fd, 2) < 0) {
		stage = ST_STDERR;
		goto fail;
	}
	if (s->set_ids && fchown(1, s->uid, s->gid) == 0)
		(void)fchown(2, s->uid, s->gid);
	if (chdir(s->cwd) < 0) {
		stage = ST_CHDIR;
		goto fail;
	}
	if (s->mem_limit) {
		struct rlimit rl = {.rlim_cur = s->mem_limit, .rlim_max = s->mem_limit};
		if (setrlimit(RLIMIT_AS, &rl) < 0) {
			stage = ST_RLIMIT;
			goto fail;
		}
	}
	if (s->nice > 0 && setpriority(PRIO_PROCESS, 0, s->nice) < 0) {
		stage = ST_NICE;
		goto fail;
	}
	if (s->set_ids) {
		if (setgroups(0, NULL) < 0 || setgid(s->gid) < 0) {
			stage = ST_SETGID;
			goto fail;
		}
		if (setuid(s->uid) < 0) {
			stage = ST_SETUID;
			goto fail;
		}
	}
	execve(s->path, s->argv, s->envp);
	stage = ST_EXEC;
fail:;
	int msg[2] = {stage, errno};
	write_all(errfd, msg, sizeof(msg));
	_exit(127);
}

__attribute__((noreturn)) static void shim_main(const struct pshim_spec *s, int report_fd)
{
	/* Every handler the gateway installed is replaced: the shim must never
	 * run gateway code. Signals stay blocked (the mask came from fork). */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	struct sigaction ign = dfl;
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, NULL);
	setsid();
	/* A copy of the gateway's memory lives in the shim: no ptrace or core
	 * dump of it by anything running as the same user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	if (report_fd != 3) {
		if (dup2(report_fd, 3) < 0)
			_exit(1);
		report_fd = 3;
	}
	fcntl(report_fd, F_SETFD, FD_CLOEXEC);
	close_range(4, ~0U, 0);
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 3)
			close(nul);
	}

	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0) {
		int e = errno;
		write_exit(s, "failed", ST_PIPE, e, true);
		send_report(report_fd, 0, 0, ST_PIPE, e);
		_exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		write_exit(s, "failed", ST_FORK, e, true);
		send_report(report_fd, 0, 0, ST_FORK, e);
		_exit(1);
	}
	if (pid == 0) {
		close(ep[0]);
		close(report_fd);
		child_exec(s, ep[1]);
	}
	close(ep[1]);
	int msg[2];
	ssize_t got;
	do
		got = read(ep[0], msg, sizeof(msg));
	while (got < 0 && errno == EINTR);
	close(ep[0]);
	if (got == (ssize_t)sizeof(msg)) {
		int st;
		waitpid(pid, &st, 0);
		write_exit(s, "failed", msg[0], msg[1], true);
		send_report(report_fd, 0, pid, msg[0], msg[1]);
		_exit(0);
	}
	send_report(report_fd, 1, pid, 0, 0);
	close(report_fd);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGALRM);
	bool stopping = false;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig == SIGTERM) {
			if (stopping)
				continue;
			stopping = true;
			if (s->stop_timeout <= 0) {
				kill(-pid, SIGKILL);
			} else {
				kill(-pid, SIGTERM);
				alarm((unsigned)s->stop_timeout);
			}
			continue;
		}
		if (sig == SIGALRM) {
			kill(-pid, SIGKILL);
			continue;
		}
		siginfo_t wi;
		memset(&wi, 0, sizeof(wi));
		if (waitid(P_PID, (id_t)pid, &wi, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    wi.si_pid != pid)
			continue;
		kill(-pid, SIGKILL);
		if (wi.si_code == CLD_EXITED)
			write_exit(s, "exited", wi.si_status, 0, false);
		else
			write_exit(s, "signaled", wi.si_status, 0, false);
		int st;
		waitpid(pid, &st, 0);
		_exit(0);
	}
}

/* --- the gateway's side ----------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void set_reason(char *dst, size_t cap, const char *fmt,
                                                             ...)
{
	if (!dst || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(dst, cap, fmt, ap) < 0)
		dst[0] = '\0';
	va_end(ap);
}

int pshim_spawn(const struct pshim_spec *spec, struct pshim_started *out, char *reason,
                size_t reason_cap)
{
	out->shim = 0;
	out->pid = 0;
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		set_reason(reason, reason_cap, "pipe: %s", strerror(errno));
		return -1;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t shim = fork();
	if (shim == 0) {
		close(rp[0]);
		shim_main(spec, rp[1]);
	}
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(rp[1]);
	if (shim < 0) {
		close(rp[0]);
		set_reason(reason, reason_cap, "fork: %s", strerror(fork_errno));
		return -1;
	}
	out->shim = shim;

	struct report r;
	size_t have = 0;
	while (have < sizeof(r)) {
		struct pollfd p = {.fd = rp[0], .events = POLLIN};
		int n = poll(&p, 1, 30000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ssize_t got = read(rp[0], (char *)&r + have, sizeof(r) - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	close(rp[0]);
	if (have < sizeof(r)) {
		kill(shim, SIGKILL);
		waitpid(shim, NULL, 0);
		out->shim = 0;
		set_reason(reason, reason_cap, "the container's supervisor did not report");
		return -1;
	}
	if (!r.ok) {
		waitpid(shim, NULL, 0);
		out->shim = 0;
		set_reason(reason, reason_cap, "%s: %s", pshim_stage_name(r.stage),
		           strerror(r.err));
		return -1;
	}
	out->pid = r.pid;
	return 0;
}

int pshim_read_exit(const char *exit_path, struct pshim_exit *out)
{
	int fd = open(exit_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	char buf[80];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	struct stat st;
	int sr = fstat(fd, &st);
	close(fd);
	if (n <= 0 || sr < 0)
		return -1;
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	out->finished_ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	char word[16];
	int a = 0, b = 0;
	int k = sscanf(buf, "%15s %d %d", word, &a, &b);
	if (k >= 2 && strcmp(word, "exited") == 0) {
		out->how = PSHIM_EXITED;
		out->code = a;
	} else if (k >= 2 && strcmp(word, "signaled") == 0) {
		out->how = PSHIM_SIGNALED;
		out->code = a;
	} else if (k == 3 && strcmp(word, "failed") == 0) {
		out->how = PSHIM_FAILED;
		out->stage = a;
		out->code = b;
	} else {
		return -1;
	}
	return 1;
}

int pshim_exit_code(const struct pshim_exit *e)
{
	switch (e->how) {
	case PSHIM_EXITED:
		return e->code;
	case PSHIM_SIGNALED:
		return 128 + e->code;
	default:
		return -1;
	}
}

int proc_start_time(pid_t pid, unsigned long long *out)
{
	char path[64];
	if (snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: fields
	 * are counted from the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	/* Fields 3..21 are skipped; field 22 is starttime. */
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		if (field == 22) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p, &end, 10);
			if (errno || end == p)
				return -1;
			*out = v;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -1;
}
