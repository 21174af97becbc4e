/*
 * cli_iam.c - `taskgate iam validate | apply | export`: the declarative IAM
 * file, for operators at a terminal and for deployment scripts.
 *
 * A thin shell over gateway/iam.h. `validate` checks a file and prints every
 * fault with its path in the file, the way a compiler prints line numbers.
 * `apply` validates the whole file, then makes the store equal to it in one
 * transaction and prints what changed, one line per entity ("+ role web",
 * "~ role web (trust_policy)", "- user old"), or "no changes". A secret it
 * generates for a new access key is printed exactly once, on standard output,
 * and exists nowhere else in the clear. `export` prints the stored state in the
 * same format.
 *
 * Exit status: 0 success, 1 the command's own failure (an invalid file, a store
 * or master key that cannot be used), 2 a usage error (docs/cli.md).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/cli.h"
#include "gateway/config.h"
#include "gateway/iam.h"
#include "gateway/keybox.h"
#include "store/store.h"

static const char usage_text[] =
    "usage: taskgate iam validate FILE\n"
    "       taskgate iam apply FILE [--config FILE | --store PATH] [--master-key PATH]\n"
    "       taskgate iam export [--config FILE | --store PATH]\n"
    "\n"
    "validate  check an IAM file: JSON, names, limits, references, every policy\n"
    "apply     make the store's IAM state equal to the file (all or nothing);\n"
    "          prints what changed; entities not in the file are deleted\n"
    "export    print the stored IAM state in the file format (no secrets)\n"
    "\n"
    "--config FILE     take the store path and account id from a gateway config\n"
    "--store PATH      the store file (default: var/taskgate.db)\n"
    "--master-key PATH the master key file that seals access key secrets\n"
    "                  (default: master.key next to the store)\n"
    "\n"
    "Exit status: 0 success, 1 invalid file or unusable store or key, 2 usage error.\n"
    "docs/iam.md describes the file.\n";

struct opts {
	const char *file;
	const char *config;
	const char *store;
	const char *master_key;
};

/* Parses `--name value`, `--name=value` and operands; 0, or an exit status. */
static int parse_opts(int argc, char **argv, bool takes_file, bool takes_key, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	bool only_operands = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_operands || a[0] != '-' || strcmp(a, "-") == 0) {
			if (!takes_file || o->file) {
				fprintf(stderr, "taskgate iam %s: unexpected argument '%s'\n%s",
				        argv[0], a, usage_text);
				return GW_EXIT_USAGE;
			}
			o->file = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_operands = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return -1;
		}
		const char *eq = strchr(a, '=');
		size_t name_n = eq ? (size_t)(eq - a) : strlen(a);
		const char **slot = NULL;
		if (name_n == 8 && strncmp(a, "--config", 8) == 0)
			slot = &o->config;
		else if (name_n == 7 && strncmp(a, "--store", 7) == 0)
			slot = &o->store;
		else if (takes_key && name_n == 12 && strncmp(a, "--master-key", 12) == 0)
			slot = &o->master_key;
		if (!slot || !strcmp(argv[0], "validate")) {
			fprintf(stderr, "taskgate iam %s: unknown option '%.*s'\n%s", argv[0],
			        (int)name_n, a, usage_text);
			return GW_EXIT_USAGE;
		}
		if (eq) {
			*slot = eq + 1;
		} else if (i + 1 < argc) {
			*slot = argv[++i];
		} else {
			fprintf(stderr, "taskgate iam %s: option '%s' needs a value\n", argv[0], a);
			return GW_EXIT_USAGE;
		}
		if (!**slot) {
			fprintf(stderr, "taskgate iam %s: option '%.*s' needs a non-empty value\n",
			        argv[0], (int)name_n, a);
			return GW_EXIT_USAGE;
		}
	}
	if (o->config && o->store) {
		fprintf(stderr, "taskgate iam %s: give --config or --store, not both\n", argv[0]);
		return GW_EXIT_USAGE;
	}
	if (takes_file && !o->file) {
		fprintf(stderr, "taskgate iam %s: no IAM file given\n%s", argv[0], usage_text);
		return GW_EXIT_USAGE;
	}
	return 0;
}

/* Reads a whole file (at most max bytes; "-" is standard input). */
static int read_all(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	int rc = -1;
	while (buf) {
		if (n == cap) {
			if (cap > max) {
				fprintf(stderr, "%s: larger than %zu bytes\n", path, max);
				goto done;
			}
			char *b = realloc(buf, cap * 2 + 1);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
				goto done;
			}
			if (n > max) {
				fprintf(stderr, "%s: larger than %zu bytes\n", path, max);
				goto done;
			}
			buf[n] = '\0';
			*out = buf;
			*len = n;
			buf = NULL;
			rc = 0;
			goto done;
		}
	}
	fprintf(stderr, "%s: out of memory\n", path);
done:
	free(buf);
	if (!is_stdin)
		fclose(f);
	return rc;
}

/* Reads and validates the file; prints diagnostics to `to`. 0, or exit 1. */
static int load_spec(const char *path, FILE *to, struct gw_iam_spec *spec)
{
	char *text = NULL;
	size_t len = 0;
	if (read_all(path, GW_IAM_FILE_MAX, &text, &len) != 0)
		return GW_EXIT_FAIL;
	char dirbuf[PATH_MAX];
	int n = snprintf(dirbuf, sizeof(dirbuf), "%s", strcmp(path, "-") == 0 ? "." : path);
	if (n < 0 || (size_t)n >= sizeof(dirbuf)) {
		fprintf(stderr, "%s: path too long\n", path);
		free(text);
		return GW_EXIT_FAIL;
	}
	const char *base = strcmp(path, "-") == 0 ? "." : dirname(dirbuf);
	struct gw_iam_diags d;
	int rc = gw_iam_file_parse(text, len, base, spec, &d);
	free(text);
	for (size_t i = 0; i < d.count; i++) {
		const struct gw_iam_diag *g = &d.items[i];
		fprintf(to, "%s: %s: %s%s%s\n", path, g->warning ? "warning" : "error",
		        g->path[0] ? g->path : "", g->path[0] ? ": " : "", g->message);
	}
	if (d.truncated)
		fprintf(to, "%s: error: more than %d problems; the rest are not shown\n", path,
		        GW_IAM_DIAGS_MAX);
	size_t errors = d.errors;
	gw_iam_diags_free(&d);
	if (rc == GW_IAM_ERR_NOMEM) {
		fprintf(stderr, "%s: out of memory\n", path);
		return GW_EXIT_FAIL;
	}
	if (rc != GW_IAM_OK) {
		fprintf(to, "%s: invalid: %zu error%s; nothing was applied\n", path, errors,
		        errors == 1 ? "" : "s");
		return GW_EXIT_FAIL;
	}
	return 0;
}

static int cmd_validate(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, true, false, &o);
	if (rc != 0)
		return rc < 0 ? GW_EXIT_OK : rc;
	struct gw_iam_spec spec;
	rc = load_spec(o.file, stdout, &spec);
	if (rc != 0)
		return rc;
	const struct store_iam *st = &spec.state;
	printf("%s: valid: account %s, %zu managed polic%s, %zu role%s, %zu user%s, %zu access "
	       "key%s, %zu OIDC issuer%s, %zu host mapping%s\n",
	       o.file, st->account_id, st->n_policies, st->n_policies == 1 ? "y" : "ies",
	       st->n_roles, st->n_roles == 1 ? "" : "s", st->n_users, st->n_users == 1 ? "" : "s",
	       st->n_access_keys, st->n_access_keys == 1 ? "" : "s", st->n_issuers,
	       st->n_issuers == 1 ? "" : "s", st->n_host_mappings,
	       st->n_host_mappings == 1 ? "" : "s");
	gw_iam_spec_free(&spec);
	return GW_EXIT_OK;
}

/* Where the store is, from --config or --store; the config's account id. */
static int store_target(const struct opts *o, struct gw_config *cfg)
{
	gw_config_defaults(cfg);
	if (o->config) {
		struct gw_config_error ce = {0};
		if (gw_config_load(o->config, cfg, &ce) != GW_CONFIG_OK) {
			fprintf(stderr, "%s: %s\n", o->config, ce.message);
			return GW_EXIT_FAIL;
		}
	} else if (o->store) {
		int n = snprintf(cfg->store.path, sizeof(cfg->store.path), "%s", o->store);
		if (n < 0 || (size_t)n >= sizeof(cfg->store.path)) {
			fprintf(stderr, "taskgate iam: --store path too long\n");
			return GW_EXIT_USAGE;
		}
	}
	return 0;
}

static int open_store(const struct gw_config *cfg, bool readonly, struct store **s)
{
	struct store_options so = {.busy_timeout_ms = cfg->store.busy_timeout_ms,
	                           .readonly = readonly,
	                           .synchronous = cfg->store.synchronous};
	struct store_error se = {0};
	if (store_open(cfg->store.path, &so, s, &se) != STORE_OK) {
		fprintf(stderr, "taskgate iam: %s\n", se.message);
		return GW_EXIT_FAIL;
	}
	return 0;
}

/* The master key: --master-key, or master.key beside the store if it exists
 * (apply then fails only if it needs the key). */
static int open_box(const struct opts *o, const char *store_path, struct gw_keybox **box)
{
	*box = NULL;
	char def[PATH_MAX];
	const char *path = o->master_key;
	if (!path) {
		char dirbuf[PATH_MAX];
		int n = snprintf(dirbuf, sizeof(dirbuf), "%s", store_path);
		if (n < 0 || (size_t)n >= sizeof(dirbuf))
			return 0;
		n = snprintf(def, sizeof(def), "%s/master.key", dirname(dirbuf));
		if (n < 0 || (size_t)n >= sizeof(def))
			return 0;
		struct stat sb;
		if (lstat(def, &sb) != 0)
			return 0;
		path = def;
	}
	struct gw_keybox_error ke = {0};
	if (gw_keybox_open(path, box, &ke) != GW_KEYBOX_OK) {
		fprintf(stderr, "taskgate iam apply: %s\n", ke.message);
		return GW_EXIT_FAIL;
	}
	return 0;
}

static int cmd_apply(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, true, true, &o);
	if (rc != 0)
		return rc < 0 ? GW_EXIT_OK : rc;
	struct gw_config cfg;
	rc = store_target(&o, &cfg);
	if (rc != 0)
		return rc;
	struct gw_iam_spec spec;
	rc = load_spec(o.file, stderr, &spec);
	if (rc != 0)
		return rc;
	if (o.config && strcmp(cfg.account_id, spec.state.account_id) != 0) {
		fprintf(stderr,
		        "%s: account_id %s differs from the gateway's account_id %s in %s; make "
		        "them agree\n",
		        o.file, spec.state.account_id, cfg.account_id, o.config);
		gw_iam_spec_free(&spec);
		return GW_EXIT_FAIL;
	}
	struct gw_keybox *box = NULL;
	struct store *s = NULL;
	rc = open_box(&o, cfg.store.path, &box);
	if (rc == 0)
		rc = open_store(&cfg, false, &s);
	if (rc != 0) {
		gw_keybox_free(box);
		gw_iam_spec_free(&spec);
		return rc;
	}
	struct gw_iam_changes ch;
	struct gw_iam_error ie = {0};
	int code = gw_iam_apply(s, &spec, box, &ch, &ie);
	if (code != GW_IAM_OK) {
		fprintf(stderr, "%s: not applied: %s\n", o.file, ie.message);
		rc = GW_EXIT_FAIL;
	} else if (ch.n == 0) {
		printf("no changes (IAM generation %lld)\n", (long long)ch.generation);
	} else {
		for (size_t i = 0; i < ch.n; i++)
			printf("%s\n", ch.lines[i]);
		for (size_t i = 0; i < ch.n_new_keys; i++)
			printf("secret access key of %s (user %s), shown only now: %s\n",
			       ch.new_keys[i].id, ch.new_keys[i].user,
			       (const char *)ch.new_keys[i].secret.p);
		printf("applied %zu change%s (IAM generation %lld)\n", ch.n, ch.n == 1 ? "" : "s",
		       (long long)ch.generation);
	}
	fflush(stdout);
	gw_iam_changes_free(&ch);
	store_close(s);
	gw_keybox_free(box);
	gw_iam_spec_free(&spec);
	return rc;
}

static int cmd_export(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, false, false, &o);
	if (rc != 0)
		return rc < 0 ? GW_EXIT_OK : rc;
	struct gw_config cfg;
	rc = store_target(&o, &cfg);
	if (rc != 0)
		return rc;
	struct store *s = NULL;
	rc = open_store(&cfg, true, &s);
	if (rc != 0)
		return rc;
	struct store_iam st;
	struct store_error se = {0};
	if (store_iam_load(s, &st, &se) != STORE_OK) {
		fprintf(stderr, "taskgate iam export: %s\n", se.message);
		store_close(s);
		return GW_EXIT_FAIL;
	}
	store_close(s);
	char *text = NULL;
	struct gw_iam_error ie = {0};
	int code = gw_iam_export(&st, &text, &ie);
	store_iam_free(&st);
	if (code != GW_IAM_OK) {
		fprintf(stderr, "taskgate iam export: %s: %s\n", cfg.store.path, ie.message);
		return GW_EXIT_FAIL;
	}
	fputs(text, stdout);
	free(text);
	return fflush(stdout) == 0 ? GW_EXIT_OK : GW_EXIT_FAIL;
}

int gw_cmd_iam(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return GW_EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(usage_text, stdout);
		return GW_EXIT_OK;
	}
	if (strcmp(sub, "validate") == 0)
		return cmd_validate(argc - 1, argv + 1);
	if (strcmp(sub, "apply") == 0)
		return cmd_apply(argc - 1, argv + 1);
	if (strcmp(sub, "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	fprintf(stderr, "taskgate iam: unknown subcommand '%s'\n%s", sub, usage_text);
	return GW_EXIT_USAGE;
}
