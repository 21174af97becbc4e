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
#include <time.h>
#include <unistd.h>

#include <jansson.h>

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
	const char *export_file = opt(s, p, "--export");
	struct gw_audit_report rep;
	int code;
	if (export_file) {
		if (fv || tv || opt(s, p, "--store") || opt(s, p, "--config")) {
			EVP_PKEY_free(key);
			return usage_error(s, "%s", "--export checks a file alone: no --store, "
			                            "--config, --from or --to");
		}
		char digest[GW_CONFIG_PATH_MAX + 16];
		const char *dg = opt(s, p, "--digest");
		if (!dg) {
			snprintf(digest, sizeof(digest), "%s.digest", export_file);
			dg = digest;
		}
		code = gw_audit_verify_export(export_file, dg, key, &rep, &ae);
		EVP_PKEY_free(key);
	} else {
		if (opt(s, p, "--digest")) {
			EVP_PKEY_free(key);
			return usage_error(s, "%s", "--digest goes with --export");
		}
		struct store *st = NULL;
		int rc = open_store(s, p, true, &st);
		if (rc != 0) {
			EVP_PKEY_free(key);
			return rc;
		}
		code = gw_audit_verify(st, key, from, to, &rep, &ae);
		store_close(st);
		EVP_PKEY_free(key);
	}
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
	if (export_file)
		printf("OK: export holds records %" PRId64 "..%" PRId64 " (%" PRId64
		       " records), every hash and link recomputed; digest signature valid\n",
		       rep.first_seq, rep.last_seq, rep.records);
	else if (rep.records == 0)
		printf("OK: no records in range\n");
	else
		printf("OK: records %" PRId64 "..%" PRId64 " (%" PRId64 " records) chained, "
		       "%" PRId64 " checkpoints %s\n",
		       rep.first_seq, rep.last_seq, rep.records, rep.checkpoints,
		       rep.signatures_checked ? "with valid signatures"
		                              : "matching the chain (signatures NOT checked: "
		                                "no --public-key)");
	if (rep.anchor_seq > 0)
		printf("anchor: records up to %" PRId64 " were pruned; the chain starts from "
		       "signed checkpoint %" PRId64 "\n",
		       rep.anchor_seq, rep.anchor_checkpoint);
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

/* ---- times ---- */

/* "2026-11-30", "2026-11-30T09:00:00Z", "2026-11-30T09:00:00.123456Z", or
 * seconds since the epoch; microseconds since the epoch. */
static bool parse_time(const char *v, int64_t *out)
{
	if (!v || !*v)
		return false;
	bool digits = true;
	for (const char *c = v; *c; c++)
		digits = digits && *c >= '0' && *c <= '9';
	if (digits) {
		int64_t sec = 0;
		if (!parse_i64(v, &sec) || sec > INT64_MAX / 1000000)
			return false;
		*out = sec * 1000000;
		return true;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(v, "%Y-%m-%d", &tm);
	if (!rest)
		return false;
	long usec = 0;
	if (*rest == 'T') {
		rest = strptime(rest + 1, "%H:%M:%S", &tm);
		if (!rest)
			return false;
		if (*rest == '.') {
			int n = 0;
			rest++;
			while (*rest >= '0' && *rest <= '9' && n < 6) {
				usec = usec * 10 + (*rest++ - '0');
				n++;
			}
			if (n == 0 || (*rest >= '0' && *rest <= '9'))
				return false;
			while (n++ < 6)
				usec *= 10;
		}
		if (*rest != 'Z')
			return false;
		rest++;
	}
	if (*rest)
		return false;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (int64_t)t * 1000000 + usec;
	return true;
}

static void format_us(int64_t us, char *out, size_t cap)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	if (!gmtime_r(&sec, &tm)) {
		snprintf(out, cap, "%lld", (long long)us);
		return;
	}
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%06lldZ", (long long)(us % 1000000));
}

/* The filter options shared by query and stats. */
static int read_filter(const struct sub *s, const struct parsed *p, struct store_audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	const char *since = opt(s, p, "--since"), *until = opt(s, p, "--until");
	if (since && !parse_time(since, &f->since_us))
		return usage_error(s, "--since: '%s' is not a time (2026-11-30, "
		                      "2026-11-30T09:00:00Z or epoch seconds)",
		                   since);
	if (until && !parse_time(until, &f->until_us))
		return usage_error(s, "--until: '%s' is not a time (2026-11-30, "
		                      "2026-11-30T09:00:00Z or epoch seconds)",
		                   until);
	if (since && until && f->until_us <= f->since_us)
		return usage_error(s, "%s", "--until must be after --since");
	f->principal = opt(s, p, "--principal");
	f->action = opt(s, p, "--action");
	f->resource = opt(s, p, "--resource");
	f->decision = opt(s, p, "--decision");
	f->error_code = opt(s, p, "--error-code");
	f->request_id = opt(s, p, "--request-id");
	if (f->decision && strcmp(f->decision, "Allow") != 0 &&
	    strcmp(f->decision, "ExplicitDeny") != 0 && strcmp(f->decision, "ImplicitDeny") != 0)
		return usage_error(s, "--decision: '%s' is not Allow, ExplicitDeny or ImplicitDeny",
		                   f->decision);
	return 0;
}

/* ---- query ---- */

static const char *or_dash(const char *v)
{
	return v && *v ? v : "-";
}

static int run_query(const struct sub *s, struct parsed *p)
{
	struct store_audit_filter f;
	int rc = read_filter(s, p, &f);
	if (rc != 0)
		return rc;
	int64_t limit = 50, after = 0;
	const char *lv = opt(s, p, "--limit"), *av = opt(s, p, "--after");
	if (lv && (!parse_i64(lv, &limit) || limit < 1 || limit > 1000))
		return usage_error(s, "--limit: '%s' is not 1..1000", lv);
	if (av && !parse_i64(av, &after))
		return usage_error(s, "--after: '%s' is not a record number", av);
	bool json = opt(s, p, "--json") != NULL;
	struct store *st = NULL;
	rc = open_store(s, p, true, &st);
	if (rc != 0)
		return rc;
	struct store_audit_list l = {0};
	struct store_error se = {0};
	/* One more than asked, to know whether another page follows. */
	if (store_audit_query(st, &f, after, (size_t)limit + (limit < 1000), &l, &se) != STORE_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, se.message);
		store_close(st);
		return GW_EXIT_FAIL;
	}
	size_t shown = l.n > (size_t)limit ? (size_t)limit : l.n;
	if (!json)
		printf("%-6s %-27s %-8s %-44s %-28s %-12s %-6s %s\n", "SEQ", "TIME", "TYPE",
		       "PRINCIPAL", "ACTION", "DECISION", "STATUS", "ERROR");
	int status = GW_EXIT_OK;
	for (size_t i = 0; i < shown; i++) {
		const struct store_audit_row *r = &l.rows[i];
		if (json) {
			json_t *line = gw_audit_export_line(r);
			char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(line);
			if (!text) {
				fprintf(stderr, "taskgate audit %s: record %" PRId64 " unreadable\n",
				        s->name, r->seq);
				status = GW_EXIT_FAIL;
				break;
			}
			puts(text);
			free(text);
			continue;
		}
		char when[40], st_s[16] = "-";
		format_us(r->ev.time_us, when, sizeof(when));
		if (r->ev.has_status)
			snprintf(st_s, sizeof(st_s), "%d", r->ev.status);
		json_t *j = json_loads(r->ev.record, 0, NULL);
		const char *type = json_string_value(json_object_get(j, "recordType"));
		printf("%-6" PRId64 " %-27s %-8s %-44s %-28s %-12s %-6s %s\n", r->seq, when,
		       or_dash(type), r->ev.principal ? r->ev.principal : "(anonymous)",
		       or_dash(r->ev.action), or_dash(r->ev.decision), st_s, or_dash(r->ev.error_code));
		json_decref(j);
	}
	if (status == GW_EXIT_OK && l.n > (size_t)limit)
		fprintf(stderr, "more records follow: next page with --after %" PRId64 "\n",
		        l.rows[shown - 1].seq);
	store_audit_list_free(&l);
	store_close(st);
	if (fflush(stdout) != 0)
		status = GW_EXIT_FAIL;
	return status;
}

/* ---- stats ---- */

static int run_stats(const struct sub *s, struct parsed *p)
{
	struct store_audit_filter f;
	int rc = read_filter(s, p, &f);
	if (rc != 0)
		return rc;
	bool json = opt(s, p, "--json") != NULL;
	struct store *st = NULL;
	rc = open_store(s, p, true, &st);
	if (rc != 0)
		return rc;
	struct store_audit_stat *v = NULL;
	size_t n = 0;
	struct store_error se = {0};
	if (store_audit_stats(st, &f, &v, &n, &se) != STORE_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, se.message);
		store_close(st);
		return GW_EXIT_FAIL;
	}
	int64_t total = 0, errors = 0, allow = 0, deny = 0;
	if (!json)
		printf("%-44s %-28s %-12s %9s %7s\n", "PRINCIPAL", "ACTION", "DECISION", "REQUESTS",
		       "ERRORS");
	for (size_t i = 0; i < n; i++) {
		total += v[i].requests;
		errors += v[i].errors;
		if (v[i].decision && strcmp(v[i].decision, "Allow") == 0)
			allow += v[i].requests;
		else if (v[i].decision)
			deny += v[i].requests;
		if (json) {
			json_t *o = json_pack("{s:o, s:o, s:o, s:I, s:I}", "principal",
			                      v[i].principal ? json_string(v[i].principal) : json_null(),
			                      "action", v[i].action ? json_string(v[i].action) : json_null(),
			                      "decision",
			                      v[i].decision ? json_string(v[i].decision) : json_null(),
			                      "requests", (json_int_t)v[i].requests, "errors",
			                      (json_int_t)v[i].errors);
			char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(o);
			if (t)
				puts(t);
			free(t);
			continue;
		}
		printf("%-44s %-28s %-12s %9" PRId64 " %7" PRId64 "\n",
		       v[i].principal ? v[i].principal : "(anonymous)", or_dash(v[i].action),
		       or_dash(v[i].decision), v[i].requests, v[i].errors);
	}
	if (!json)
		printf("total: %" PRId64 " requests, %" PRId64 " allowed, %" PRId64
		       " denied, %" PRId64 " with an error\n",
		       total, allow, deny, errors);
	store_audit_stats_free(v, n);
	store_close(st);
	return fflush(stdout) == 0 ? GW_EXIT_OK : GW_EXIT_FAIL;
}

/* ---- export ---- */

/* The private audit key: --key, or the audit.key_file of --config. */
static int load_private_key(const struct sub *s, const struct parsed *p, EVP_PKEY **key)
{
	const char *kf = opt(s, p, "--key"), *cf = opt(s, p, "--config");
	char path[GW_CONFIG_PATH_MAX] = "";
	if (!kf && cf) {
		struct gw_config *cfg = malloc(sizeof(*cfg));
		struct gw_config_error ce = {0};
		if (!cfg || gw_config_load(cf, cfg, &ce) != GW_CONFIG_OK) {
			fprintf(stderr, "taskgate audit %s: %s\n", s->name,
			        cfg ? ce.message : "out of memory");
			free(cfg);
			return GW_EXIT_FAIL;
		}
		snprintf(path, sizeof(path), "%s", cfg->audit.key_file);
		free(cfg);
		if (!path[0]) {
			fprintf(stderr, "taskgate audit %s: %s sets no audit.key_file; give --key\n",
			        s->name, cf);
			return GW_EXIT_FAIL;
		}
		kf = path;
	}
	if (!kf)
		return usage_error(s, "%s", "give --key FILE (the audit key) or --config FILE");
	struct gw_audit_error ae = {0};
	if (gw_audit_key_load(kf, key, &ae) != GW_AUDIT_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	return 0;
}

static int run_export(const struct sub *s, struct parsed *p)
{
	int64_t since = 0, until = 0;
	const char *sv = opt(s, p, "--since"), *uv = opt(s, p, "--until");
	const char *out = opt(s, p, "--output");
	if (!sv || !uv || !out)
		return usage_error(s, "%s", "--since, --until and --output are required");
	if (!parse_time(sv, &since))
		return usage_error(s, "--since: '%s' is not a time", sv);
	if (!parse_time(uv, &until))
		return usage_error(s, "--until: '%s' is not a time", uv);
	if (until <= since)
		return usage_error(s, "%s", "--until must be after --since");
	char digest[GW_CONFIG_PATH_MAX + 16];
	const char *dg = opt(s, p, "--digest");
	if (!dg) {
		snprintf(digest, sizeof(digest), "%s.digest", out);
		dg = digest;
	}
	EVP_PKEY *key = NULL;
	int rc = load_private_key(s, p, &key);
	if (rc != 0)
		return rc;
	struct store *st = NULL;
	rc = open_store(s, p, true, &st);
	if (rc != 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	struct gw_audit_export_result res;
	struct gw_audit_error ae = {0};
	int code = gw_audit_export(st, key, since, until, out, dg, &res, &ae);
	store_close(st);
	EVP_PKEY_free(key);
	if (code != GW_AUDIT_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	if (res.records == 0)
		printf("exported 0 records to %s (none in range); digest %s\n", out, dg);
	else
		printf("exported records %" PRId64 "..%" PRId64 " (%" PRId64 " records) to %s; "
		       "signed digest %s\n",
		       res.first_seq, res.last_seq, res.records, out, dg);
	return GW_EXIT_OK;
}

/* ---- prune ---- */

static int run_prune(const struct sub *s, struct parsed *p)
{
	int64_t before = 0;
	const char *bv = opt(s, p, "--before");
	if (!bv)
		return usage_error(s, "%s", "--before is required");
	if (!parse_time(bv, &before))
		return usage_error(s, "--before: '%s' is not a time", bv);
	EVP_PKEY *pub = NULL;
	const char *kf = opt(s, p, "--public-key");
	struct gw_audit_error ae = {0};
	if (kf && gw_audit_public_key_load(kf, &pub, &ae) != GW_AUDIT_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		return GW_EXIT_FAIL;
	}
	struct store *st = NULL;
	int rc = open_store(s, p, false, &st);
	if (rc != 0) {
		EVP_PKEY_free(pub);
		return rc;
	}
	/* Never prune away the evidence of tampering: the log must verify
	 * first. */
	struct gw_audit_report rep;
	int code = gw_audit_verify(st, pub, 0, 0, &rep, &ae);
	EVP_PKEY_free(pub);
	if (code != GW_AUDIT_OK) {
		if (code == GW_AUDIT_TAMPERED)
			fprintf(stderr, "taskgate audit %s: refusing to prune a log that does not "
			                "verify: %s\n",
			        s->name, rep.problem);
		else
			fprintf(stderr, "taskgate audit %s: %s\n", s->name, ae.message);
		store_close(st);
		return GW_EXIT_FAIL;
	}
	int64_t anchor = 0, cp = 0, deleted = 0;
	struct store_error se = {0};
	if (store_audit_prune(st, before, &anchor, &cp, &deleted, &se) != STORE_OK) {
		fprintf(stderr, "taskgate audit %s: %s\n", s->name, se.message);
		store_close(st);
		return GW_EXIT_FAIL;
	}
	if (anchor == 0) {
		store_close(st);
		printf("nothing pruned: no signed checkpoint covers only records before %s\n", bv);
		return GW_EXIT_OK;
	}
	/* The prune itself goes on the record, in the same chain. */
	char when[40], req[33];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t t = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	format_us(t, when, sizeof(when));
	snprintf(req, sizeof(req), "prune-%016llx", (unsigned long long)t);
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:I}, s:{s:s, s:I, s:I, s:I}}",
	    "eventVersion", "1.09", "eventTime", when, "eventSource", "taskgate", "eventName",
	    "PruneAuditLog", "eventType", "AwsServiceEvent", "recordType", "event", "requestID", req,
	    "userIdentity", "type", "Operator", "uid", (json_int_t)getuid(), "requestParameters",
	    "before", bv, "anchorSeq", (json_int_t)anchor, "anchorCheckpoint", (json_int_t)cp,
	    "recordsDeleted", (json_int_t)deleted);
	char *record = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	struct store_audit_event ev = {
	    .time_us = t, .request_id = req, .action = "PruneAuditLog", .record = record};
	int64_t seq = 0;
	int arc = record ? store_audit_append_chained(st, &ev, 1, &gw_audit_hasher, &seq, NULL, &se)
	                 : STORE_ERR_NOMEM;
	free(record);
	store_close(st);
	printf("pruned %" PRId64 " records up to record %" PRId64 "; the log now starts from signed "
	       "checkpoint %" PRId64 "\n",
	       deleted, anchor, cp);
	if (arc != STORE_OK) {
		fprintf(stderr, "taskgate audit %s: the prune could not be recorded in the log: %s\n",
		        s->name, se.message);
		return GW_EXIT_FAIL;
	}
	printf("recorded as record %" PRId64 "\n", seq);
	return GW_EXIT_OK;
}

/* ---- the table ---- */

#define FILTER_OPTS                                                                                \
	{"--store", true}, {"--config", true}, {"--since", true}, {"--until", true},               \
	    {"--principal", true}, {"--action", true}, {"--resource", true}, {"--decision", true}, \
	    {"--error-code", true}, {"--request-id", true}, {"--json", false}
static const struct opt_spec query_opts[] = {FILTER_OPTS, {"--limit", true}, {"--after", true}};
static const struct opt_spec stats_opts[] = {FILTER_OPTS};
static const struct opt_spec export_opts[] = {
    {"--store", true}, {"--config", true}, {"--since", true}, {"--until", true},
    {"--output", true}, {"--digest", true}, {"--key", true},
};
static const struct opt_spec prune_opts[] = {
    {"--store", true}, {"--config", true}, {"--before", true}, {"--public-key", true}};
static const struct opt_spec pk_opts[] = {{"--config", true}};
static const struct opt_spec verify_opts[] = {
    {"--store", true},      {"--config", true}, {"--from", true},
    {"--to", true},         {"--public-key", true}, {"--export", true},
    {"--digest", true},
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
     "       taskgate audit verify --export FILE [--digest FILE] --public-key PEM\n"
     "\n"
     "Checks the hash chain of every record and every checkpoint (with --public-key\n"
     "also their signatures), offline, on the database file or a copy of it, and\n"
     "names the first broken record. With --export, checks an export and its digest\n"
     "(default FILE.digest) on their own: the signature, every record's hash and link.\n"
     "\n"
     "Exit status: 0 intact, 1 tampered or unreadable, 2 usage error.\n",
     verify_opts, N(verify_opts), 0, run_verify},
    {"query",
     "usage: taskgate audit query [--store DB | --config FILE] [--since T] [--until T]\n"
     "                            [--principal ARN[*]] [--action A] [--resource ARN]\n"
     "                            [--decision D] [--error-code C | --error-code -]\n"
     "                            [--request-id ID] [--limit N] [--after SEQ] [--json]\n"
     "\n"
     "Prints the records that match every filter, oldest first, as a table or (--json)\n"
     "as JSON lines in the export format. A page holds --limit records (default 50,\n"
     "at most 1000); when more follow, standard error says which --after gives the\n"
     "next page. Times: 2026-11-30, 2026-11-30T09:00:00Z, or epoch seconds; --since\n"
     "is inclusive, --until exclusive. A principal ending in * matches a prefix;\n"
     "--action matches the IAM action or the API action; --error-code - selects\n"
     "records without an error.\n",
     query_opts, N(query_opts), 0, run_query},
    {"export",
     "usage: taskgate audit export --since T --until T --output FILE [--digest FILE]\n"
     "                             [--key KEY | --config FILE] [--store DB]\n"
     "\n"
     "Writes the records from the first at or after --since to the last before --until\n"
     "(every record between them, so the chain is unbroken) to FILE as JSON lines, and\n"
     "a digest (default FILE.digest) signed with the audit key. `taskgate audit verify\n"
     "--export FILE --public-key PEM` checks the pair on its own.\n",
     export_opts, N(export_opts), 0, run_export},
    {"stats",
     "usage: taskgate audit stats [--store DB | --config FILE] [filters of query] [--json]\n"
     "\n"
     "Counts requests and errors by principal, action and decision (an executed\n"
     "request counts once, by its decision record).\n",
     stats_opts, N(stats_opts), 0, run_stats},
    {"prune",
     "usage: taskgate audit prune --before T [--store DB | --config FILE]\n"
     "                            [--public-key PEM]\n"
     "\n"
     "Removes the records older than T down to the newest signed checkpoint that only\n"
     "covers such records; the records kept chain to that checkpoint's signed head, so\n"
     "`audit verify` still proves them. Refuses a log that does not verify first\n"
     "(with --public-key, signatures included). The prune is itself recorded in the\n"
     "log. The store is written: run it where the gateway's store is.\n",
     prune_opts, N(prune_opts), 0, run_prune},
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
