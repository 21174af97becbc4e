/*
 * process_stats.c - Docker-shaped stats for the process driver's containers,
 * read from /proc.
 *
 * A process-driver container is a process group (the container's process
 * leads it; process_shim.c): one pass over /proc/<pid>/stat finds every
 * process of each group asked about and adds up their CPU time (their own
 * and that of children they reaped, utime+stime+cutime+cstime, so work done
 * by short-lived children is not lost), resident memory and threads. A
 * process that left its group (setsid, setpgid) is not counted: following
 * descendants through every parent link would cost a walk of the whole tree
 * per call for a case the containers taskgate runs do not need.
 *
 * The numbers are put in the shape of Docker's GET /containers/<id>/stats
 * answer, with the fields monitoring tools read (cpu_stats, precpu_stats,
 * memory_stats, pids_stats), so that a percentage works out as it does with
 * Docker: (total - pre_total) / (system - pre_system) * online_cpus. What
 * /proc cannot say for a process group (network and block I/O counters, a
 * cgroup's page cache) is left out rather than reported as zero.
 *
 * It is not a sampler: the driver keeps each container's last sample and
 * hands it back as precpu_stats on the next call.
 */
#include "scheduler/process_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ULL

/* Reads a small /proc file whole; the length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, cap - 1, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad)
		return -1;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The fields of a /proc/<pid>/stat line after the command name, which is in
 * parentheses and may hold spaces and parentheses itself: the last ')'
 * ends it. field[0] is field 3 (state) of proc(5). */
#define STAT_FIELDS 22 /* up to field 24, rss */
static int stat_fields(const char *line, unsigned long long *field, size_t n)
{
	const char *p = strrchr(line, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	for (size_t i = 0; i < n; i++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		if (i == 0) { /* the state letter */
			field[i] = (unsigned char)*p;
			p++;
		} else {
			char *end;
			errno = 0;
			long long v = strtoll(p, &end, 10);
			if (end == p || errno)
				return -1;
			/* cutime and cstime are signed in the kernel's
			 * output; the others this code reads never are */
			field[i] = v < 0 ? 0 : (unsigned long long)v;
			p = end;
		}
	}
	return 0;
}

int pstats_scan(const char *proc_root, struct pstats_group *g, size_t n)
{
	DIR *dir = opendir(proc_root);
	if (!dir)
		return -1;
	for (size_t i = 0; i < n; i++) {
		g[i].procs = g[i].threads = 0;
		g[i].user_ticks = g[i].kernel_ticks = g[i].rss_pages = 0;
	}
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    strspn(e->d_name, "0123456789") != strlen(e->d_name))
			continue;
		char path[512], line[1024];
		if (snprintf(path, sizeof(path), "%s/%s/stat", proc_root, e->d_name) >=
		        (int)sizeof(path) ||
		    read_small(path, line, sizeof(line)) < 0)
			continue; /* gone since readdir, or not ours to read */
		unsigned long long f[STAT_FIELDS];
		if (stat_fields(line, f, STAT_FIELDS) < 0)
			continue;
		/* f[k] is proc(5)'s field k + 3 */
		pid_t pgrp = (pid_t)f[5 - 3];
		for (size_t i = 0; i < n; i++) {
			if (g[i].pgid <= 0 || g[i].pgid != pgrp)
				continue;
			/* a zombie's times are its parent's cutime once
			 * reaped; until then they are counted here */
			g[i].procs++;
			g[i].threads += f[20 - 3];
			g[i].user_ticks += f[14 - 3] + f[16 - 3];
			g[i].kernel_ticks += f[15 - 3] + f[17 - 3];
			g[i].rss_pages += f[24 - 3];
			break;
		}
	}
	closedir(dir);
	return 0;
}

int pstats_system_ticks(const char *proc_root, unsigned long long *out)
{
	char path[512], buf[4096];
	if (snprintf(path, sizeof(path), "%s/stat", proc_root) >= (int)sizeof(path) ||
	    read_small(path, buf, sizeof(buf)) < 0 || strncmp(buf, "cpu ", 4) != 0)
		return -1;
	/* user nice system idle iowait irq softirq steal, as Docker adds them
	 * up for system_cpu_usage (guest time is already in user) */
	const char *p = buf + 4;
	unsigned long long sum = 0;
	for (int i = 0; i < 8; i++) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p || errno) {
			if (i < 4) /* kernels before 2.6.11 lack steal: still a total */
				return -1;
			break;
		}
		sum += v;
		p = end;
	}
	*out = sum;
	return 0;
}

int pstats_as_limit(const char *proc_root, pid_t pid, unsigned long long *out)
{
	char path[512], buf[4096];
	*out = 0;
	if (snprintf(path, sizeof(path), "%s/%d/limits", proc_root, (int)pid) >=
	        (int)sizeof(path) ||
	    read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strstr(buf, "\nMax address space");
	if (!p)
		return -1;
	p += strlen("\nMax address space");
	while (*p == ' ')
		p++;
	if (strncmp(p, "unlimited", 9) == 0)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (end == p || errno)
		return -1;
	*out = v;
	return 0;
}

void pstats_take(const struct pstats_group *g, unsigned long long system_ticks, long long read_ns,
                 struct pstats_sample *out)
{
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long per = hz > 0 ? NS_PER_S / (unsigned long long)hz : 10000000ULL;
	memset(out, 0, sizeof(*out));
	out->read_ns = read_ns;
	out->user_ns = g->user_ticks * per;
	out->kernel_ns = g->kernel_ticks * per;
	out->total_ns = out->user_ns + out->kernel_ns;
	out->system_ns = system_ticks * per;
	out->have_system = system_ticks > 0;
}

/* RFC 3339 with nanoseconds, as Docker writes read and preread; Docker's
 * zero time for a sample that was never taken. */
static json_t *time_json(long long ns)
{
	if (ns <= 0)
		return json_string("0001-01-01T00:00:00Z");
	time_t s = (time_t)(ns / (long long)NS_PER_S);
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&s, &tm))
		return NULL;
	size_t k = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!k || snprintf(buf + k, sizeof(buf) - k, ".%09lldZ", ns % (long long)NS_PER_S) < 0)
		return NULL;
	return json_string(buf);
}

static json_t *cpu_json(const struct pstats_sample *s, long online)
{
	json_t *o =
	    json_pack("{s:{s:I, s:I, s:I}}", "cpu_usage", "total_usage", (json_int_t)s->total_ns,
	              "usage_in_kernelmode", (json_int_t)s->kernel_ns, "usage_in_usermode",
	              (json_int_t)s->user_ns);
	if (o && s->have_system)
		json_object_set_new(o, "system_cpu_usage", json_integer((json_int_t)s->system_ns));
	if (o && online > 0)
		json_object_set_new(o, "online_cpus", json_integer(online));
	return o;
}

json_t *pstats_doc(const char *id, const char *name, const struct pstats_group *g,
                   const struct pstats_sample *now, const struct pstats_sample *prev,
                   unsigned long long mem_limit)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	long page = sysconf(_SC_PAGESIZE);
	static const struct pstats_sample none;
	char nm[320];
	if (snprintf(nm, sizeof(nm), "/%s", name) >= (int)sizeof(nm))
		return NULL;
	json_t *doc = json_pack(
	    "{s:s, s:s, s:o, s:o, s:{s:I}, s:o, s:o, s:{s:I}}", "id", id, "name", nm, "read",
	    time_json(now->read_ns), "preread", time_json(prev ? prev->read_ns : 0), "pids_stats",
	    "current", (json_int_t)g->threads, "cpu_stats", cpu_json(now, online), "precpu_stats",
	    /* without a previous sample, Docker's first read: zero usage,
	     * no system_cpu_usage or online_cpus (omitted when zero) */
	    cpu_json(prev ? prev : &none, prev ? online : 0), "memory_stats", "usage",
	    (json_int_t)(g->rss_pages * (unsigned long long)(page > 0 ? page : 4096)));
	if (!doc)
		return NULL;
	if (mem_limit > 0)
		json_object_set_new(json_object_get(doc, "memory_stats"), "limit",
		                    json_integer((json_int_t)mem_limit));
	return doc;
}

unsigned long long pstats_host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (unsigned long long)pages * (unsigned long long)page : 0;
}
