/*
 * cli_audit.c - `taskgate audit ...`: the decision log for auditors.
 *
 * Every subcommand works on the database file alone, opened read-only (prune
 * excepted), so an auditor can run it on a copy without the server and
 * without trusting it: keygen and public-key manage the checkpoint key,
 * verify walks the hash chain and the signed checkpoints, query/stats read
 * records, export writes JSON lines plus a signed digest, prune removes old
 * records down to a signed anchor. docs/audit.md is the manual.
 *
 * Exit status: 0 success (verify: intact), 1 the command's own failure
 * (verify: tampered; an unreadable store or key), 2 a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gateway/audit.h"
#include "gateway/cli.h"
#include "gateway/config.h"
#include "store/store.h"

/* ---- options ---- */

#define OPT_MAX 16

struct opt_spec {
	const char *name; /* "--from" */
	bool value;       /* takes a value */
};

struct parsed {
	const char *values[OPT_MAX]; /* by spec index; flags get "" */
	const char *operand;
};

struct sub {
	const char *name;
	const char *usage;
	const struct opt_spec *specs;
	size_t nspecs;
	int operand; /* 0: no operand, 1: one required, 2: one optional */
	int (*run)(const struct sub *s, struct parsed *p);
};

__attribute__((format(printf, 2, 3))) static int usage_error(const struct sub *s,
                                                               const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "taskgate audit %s: ", s->name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", s->usage);
	return GW_EXIT_USAGE;
}

/* 0 to go on, -1 after --help, or an exit status. */
static int parse(const struct sub *s, int argc, char **argv, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(s->usage, stdout);
			return -1;
		}
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (!s->operand || p->operand)
				return usage_error(s, "unexpected argument '%s'", a);
			p->operand = a;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		size_t k = 0;
		while (k < s->nspecs &&
		       !(strlen(s->specs[k].name) == n && strncmp(s->specs[k].name, a, n) == 0))
			k++;
		if (k == s->nspecs)
			return usage_error(s, "unknown option '%s'", a);
		if (p->values[k])
			return usage_error(s, "option '%s' given twice", s->specs[k].name);
		if (!s->specs[k].value) {
			if (eq)
				return usage_error(s, "option '%s' takes no value", s->specs[k].name);
			p->values[k] = "";
			continue;
		}
		if (eq) {
			p->values[k] = eq + 1;
		} else {
			if (i + 1 >= argc)
				return usage_error(s, "option '%s' needs a value", a);
			p->values[k] = argv[++i];
		}
	}
	if (s->operand == 1 && !p->operand)
		return usage_error(s, "%s", "an argument is missing");
	return 0;
}

static const char *opt(const struct sub *s, const struct parsed *p, const char *name)
{
	for (size_t k = 0; k < s->nspecs; k++)
		if (strcmp(s->specs[k].name, name) == 0)
			return p->values[k];
	return NULL;
}

/* A whole positive number; false for anything else. */
static bool parse_i64(const char *v, int64_t *out)
{
	if (!v || !*v)
		return false;
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || *end || x < 0)
		return false;
	*out = x;
	return true;
}

/* The store file: --store, or store.path of --config, or the default. */
static int store_path(const struct sub *s, const struct parsed *p, char *out, size_t cap)
{
	const char *st = opt(s, p, "--store"), *cf = opt(s, p, "--config");
	if (st && cf)
		return usage_error(s, "%s", "give --store or --config, not both");
	if (cf) {
		struct gw_config *cfg = malloc(sizeof(*cfg));
		struct gw_config_error ce = {0};
		if (!cfg || gw_config_load(cf, cfg, &ce) != GW_CONFIG_OK) {
			fprintf(stderr, "taskgate audit %s: %s\n", s->name,
			        cfg ? ce.message : "out of memory");
			free(cfg);
			return GW_EXIT_FAIL;
		}
		snprintf(out, cap, "%s", cfg->store.path);
		free(cfg);
		return 0;
	}
	snprintf(out, cap, "%s", st ? st : "var/taskgate.db");
	return 0;
}

static int open_store(const struct sub *s, const struct parsed *p, bool readonly,
                      struct store **out)
{
	char path[GW_CONFIG_PATH_MAX];
	int rc = store_path(s, p, path, sizeof(path));
	if (rc != 0)
		return rc;
	struct store_options so = {.readonly = readonly};
	struct store_error se = {0};
	if (store_open(path, &so, out, &se) != STORE_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, se.message);
		return GW_EXIT_FAIL;
	}
	return 0;
}

/* ---- keygen, public-key ---- */

static int run_keygen(const struct sub *s, struct parsed *p)
{
	struct gw_audit_error ae = {0};
	if (gw_audit_key_create(p->operand, &ae) != GW_AUDIT_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	EVP_PKEY *k = NULL;
	char kid[GW_AUDIT_KEY_ID_LEN + 1] = "";
	if (gw_audit_key_load(p->operand, &k, &ae) == GW_AUDIT_OK)
		(void)gw_audit_key_id(k, kid);
	EVP_PKEY_free(k);
	printf("audit key %s written to %s (mode 0600)\n", kid, p->operand);
	return GW_EXIT_OK;
}

static int run_public_key(const struct sub *s, struct parsed *p)
{
	const char *cf = opt(s, p, "--config");
	const char *file = p->operand;
	struct gw_config *cfg = NULL;
	if (!file && cf) {
		cfg = malloc(sizeof(*cfg));
		struct gw_config_error ce = {0};
		if (!cfg || gw_config_load(cf, cfg, &ce) != GW_CONFIG_OK) {
			fprintf(stderr, "taskgate audit %s: %s\n", s->name,
			        cfg ? ce.message : "out of memory");
			free(cfg);
			return GW_EXIT_FAIL;
		}
		if (!cfg->audit.key_file[0]) {
			fprintf(stderr, "taskgate audit %s: %s sets no audit.key_file\n", s->name, cf);
			free(cfg);
			return GW_EXIT_FAIL;
		}
		file = cfg->audit.key_file;
	}
	if (!file) {
		free(cfg);
		return usage_error(s, "%s", "give the key file or --config");
	}
	EVP_PKEY *k = NULL;
	struct gw_audit_error ae = {0};
	int rc = gw_audit_key_load(file, &k, &ae);
	free(cfg);
	if (rc != GW_AUDIT_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	char *pem = gw_audit_public_pem(k);
	EVP_PKEY_free(k);
	if (!pem) {
		fprintf(stderr, "taskgate audit %s: out of memory\n", s->name);
		return GW_EXIT_FAIL;
	}
	fputs(pem, stdout);
	free(pem);
	return fflush(stdout) == 0 ? GW_EXIT_OK : GW_EXIT_FAIL;
}

/* ---- verify ---- */

static int run_verify(const struct sub *s, struct parsed *p)
{
	int64_t from = 0, to = 0;
	const char *fv = opt(s, p, "--from"), *tv = opt(s, p, "--to");
	if (fv && !parse_i64(fv, &from))
		return usage_error(s, "--from: '%s' is not a record number", fv);
	if (tv && !parse_i64(tv, &to))
		return usage_error(s, "--to: '%s' is not a record number", tv);
	if (to > 0 && from > to)
		return usage_error(s, "%s", "--from is after --to");
	EVP_PKEY *key = NULL;
	const char *kf = opt(s, p, "--public-key");
	struct gw_audit_error ae = {0};
	if (kf && gw_audit_public_key_load(kf, &key, &ae) != GW_AUDIT_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	struct store *st = NULL;
	int rc = open_store(s, p, true, &st);
	if (rc != 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	struct gw_audit_report rep;
	int code = gw_audit_verify(st, key, from, to, &rep, &ae);
	store_close(st);
	EVP_PKEY_free(key);
	if (code < 0) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	if (code == GW_AUDIT_TAMPERED) {
		printf("TAMPERED: %s\n", rep.problem);
		printf("checked before it: %" PRId64 " records, %" PRId64 " checkpoints\n",
		       rep.records, rep.checkpoints);
		return GW_EXIT_FAIL;
	}
	if (rep.records == 0)
		printf("OK: no records in range\n");
	else
		printf("OK: records %" PRId64 "..%" PRId64 " (%" PRId64 " records) chained, "
		       "%" PRId64 " checkpoints %s\n",
		       rep.first_seq, rep.last_seq, rep.records, rep.checkpoints,
		       rep.signatures_checked ? "with valid signatures"
		                              : "matching the chain (signatures NOT checked: "
		                                "no --public-key)");
	if (rep.unchecked_tail > 0)
		printf("note: %" PRId64 " records after the last checkpoint are chained but not "
		       "yet signed\n",
		       rep.unchecked_tail);
	if (rep.unchained > 0)
		printf("note: %" PRId64 " records from before the hash chain existed are not "
		       "verifiable\n",
		       rep.unchained);
	return GW_EXIT_OK;
}

/* ---- the table ---- */

static const struct opt_spec store_opts[] = {{"--store", true}, {"--config", true}};
static const struct opt_spec pk_opts[] = {{"--config", true}};
static const struct opt_spec verify_opts[] = {
    {"--store", true},      {"--config", true}, {"--from", true},
    {"--to", true},         {"--public-key", true},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct sub subs[] = {
    {"keygen",
     "usage: taskgate audit keygen FILE\n"
     "\n"
     "Makes a new Ed25519 audit key (PEM, mode 0600) at FILE, which must not exist.\n"
     "The gateway signs checkpoints with it (config audit.key_file).\n",
     NULL, 0, 1, run_keygen},
    {"public-key",
     "usage: taskgate audit public-key [FILE | --config FILE]\n"
     "\n"
     "Prints the public half of the audit key (PEM) for auditors: of FILE, or of\n"
     "the audit.key_file a gateway configuration names.\n",
     pk_opts, N(pk_opts), 2, run_public_key},
    {"verify",
     "usage: taskgate audit verify [--store DB | --config FILE] [--from SEQ] [--to SEQ]\n"
     "                             [--public-key PEM]\n"
     "\n"
     "Checks the hash chain of every record and every checkpoint (with --public-key\n"
     "also their signatures), offline, on the database file or a copy of it, and\n"
     "names the first broken record.\n"
     "\n"
     "Exit status: 0 intact, 1 tampered or unreadable, 2 usage error.\n",
     verify_opts, N(verify_opts), 0, run_verify},
};

static void usage_all(FILE *f)
{
	fprintf(f, "usage: taskgate audit <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < N(subs); i++) {
		const char *u = subs[i].usage + strlen("usage: ");
		const char *nl = strchr(u, '\n');
		fprintf(f, "  %.*s\n", (int)(nl ? nl - u : (long)strlen(u)), u);
	}
	fprintf(f, "\n`taskgate audit <command> --help` describes each; docs/audit.md is the "
	           "manual.\n");
}

int gw_cmd_audit(int argc, char **argv)
{
	(void)store_opts;
	if (argc < 2) {
		usage_all(stderr);
		return GW_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		usage_all(stdout);
		return GW_EXIT_OK;
	}
	for (size_t i = 0; i < N(subs); i++) {
		if (strcmp(subs[i].name, name) != 0)
			continue;
		struct parsed p;
		int rc = parse(&subs[i], argc - 1, argv + 1, &p);
		if (rc == -1)
			return GW_EXIT_OK;
		if (rc != 0)
			return rc;
		return subs[i].run(&subs[i], &p);
	}
	fprintf(stderr, "taskgate audit: unknown command '%s'\n", name);
	usage_all(stderr);
	return GW_EXIT_USAGE;
}
