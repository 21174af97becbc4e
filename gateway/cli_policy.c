/*
 * cli_policy.c - `taskgate policy validate | simulate | test`: the policy
 * library, for people at a terminal and for scripts.
 *
 * This file is a thin shell around policy/policy.h. `validate` compiles files
 * and shows every diagnostic with its JSON path, the way a compiler shows line
 * numbers; `simulate` compiles a set of typed policies, evaluates one request
 * and says what decided and why; `test` (cli_policy_test.c) runs conformance
 * vectors. Nothing here decides anything about access: every decision comes
 * from policy_evaluate(), so what the CLI shows is what the gateway would do.
 *
 * Output goes to stdout (diagnostics included: they are what `validate` is
 * asked for); usage errors go to stderr. Exit status: 0 success, 1 the
 * command's own failure (an invalid or unreadable policy), 2 a usage error;
 * `simulate` adds 3 for ImplicitDeny and 4 for ExplicitDeny so that scripts can
 * branch on the decision without parsing text (docs/cli.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gateway/cli.h"
#include "gateway/cli_policy.h"

#define SIM_EXIT_IMPLICIT_DENY 3
#define SIM_EXIT_EXPLICIT_DENY 4

/* ---- shared helpers (declared in cli_policy.h) ---- */

int gw_cli_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errn)
{
	*out = NULL;
	*len = 0;
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errn, "cannot open: %s", strerror(errno));
		return -1;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int rc = -1;
	if (buf == NULL) {
		snprintf(err, errn, "out of memory");
		goto done;
	}
	for (;;) {
		if (n + 1 >= cap) {
			/* Read one byte past max so that "exactly max" and "over" differ. */
			if (cap > max + 1) {
				snprintf(err, errn, "file is larger than %zu bytes", max);
				goto done;
			}
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				snprintf(err, errn, "out of memory");
				goto done;
			}
			buf = bigger;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - 1 - n, f);
		n += got;
		if (n > max) {
			snprintf(err, errn, "file is larger than %zu bytes", max);
			goto done;
		}
		if (got == 0) {
			if (ferror(f)) {
				snprintf(err, errn, "cannot read: %s", strerror(errno));
				goto done;
			}
			break;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	if (!is_stdin)
		fclose(f);
	return rc;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

static int copy_str(char *dst, size_t dstn, const char *src, size_t n)
{
	if (n >= dstn)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* The hosts of the web identity providers AWS names in trust policies: they
 * look like service names but are Federated principals. */
static const char *const web_identity_providers[] = {
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
    "cognito-identity.amazonaws.com",
};

static int kind_from_name(const char *s, enum policy_principal_kind *out)
{
	static const struct {
		const char *name;
		enum policy_principal_kind kind;
	} kinds[] = {
	    {"aws", POLICY_PRINCIPAL_AWS},
	    {"service", POLICY_PRINCIPAL_SERVICE},
	    {"federated", POLICY_PRINCIPAL_FEDERATED},
	    {"anonymous", POLICY_PRINCIPAL_ANONYMOUS},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcasecmp(s, kinds[i].name) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

int gw_cli_principal_parse(const char *text, const char *kind, const char *role_arn,
                           struct gw_cli_principal *out, char *err, size_t errn)
{
	memset(out, 0, sizeof(*out));
	size_t tn = strlen(text);
	enum policy_principal_kind k = POLICY_PRINCIPAL_AWS;
	bool forced = false;
	if (kind != NULL) {
		if (kind_from_name(kind, &k) != 0) {
			snprintf(err, errn,
			         "unknown principal kind '%s' (aws, service, federated, anonymous)",
			         kind);
			return -1;
		}
		forced = true;
	}
	if (tn > GW_CLI_ARN_MAX) {
		snprintf(err, errn, "principal is longer than %d characters", GW_CLI_ARN_MAX);
		return -1;
	}

	if (strcmp(text, "*") == 0 || strcasecmp(text, "anonymous") == 0) {
		if (forced && k != POLICY_PRINCIPAL_ANONYMOUS) {
			snprintf(err, errn, "'%s' names the anonymous principal", text);
			return -1;
		}
		out->p.kind = POLICY_PRINCIPAL_ANONYMOUS;
		return 0;
	}

	if (all_digits(text, tn)) {
		if (tn != 12 || (forced && k != POLICY_PRINCIPAL_AWS)) {
			snprintf(err, errn, "'%s' is not a 12-digit account id", text);
			return -1;
		}
		int w = snprintf(out->arn, sizeof(out->arn), "arn:aws:iam::%s:root", text);
		if (w < 0 || (size_t)w >= sizeof(out->arn)) {
			snprintf(err, errn, "principal too long");
			return -1;
		}
		memcpy(out->account, text, 13);
		out->p.kind = POLICY_PRINCIPAL_AWS;
		goto slices;
	}

	if (strncmp(text, "arn:", 4) != 0) {
		/* A name, not an ARN: a service or a web identity provider. */
		if (tn == 0 || strchr(text, ':') != NULL || strchr(text, '.') == NULL) {
			snprintf(err, errn,
			         "'%s' is neither an ARN, a 12-digit account id, a service name "
			         "(ecs-tasks.amazonaws.com) nor *",
			         text);
			return -1;
		}
		if (!forced) {
			k = POLICY_PRINCIPAL_SERVICE;
			for (size_t i = 0;
			     i < sizeof(web_identity_providers) / sizeof(web_identity_providers[0]);
			     i++) {
				if (strcasecmp(text, web_identity_providers[i]) == 0)
					k = POLICY_PRINCIPAL_FEDERATED;
			}
		}
		if (k == POLICY_PRINCIPAL_AWS || k == POLICY_PRINCIPAL_ANONYMOUS) {
			snprintf(err, errn, "'%s' is not an AWS principal ARN", text);
			return -1;
		}
		memcpy(out->arn, text, tn + 1);
		out->p.kind = k;
		goto slices;
	}

	/* arn:partition:service:region:account:resource */
	const char *field[6];
	size_t flen[6];
	const char *s = text;
	for (int i = 0; i < 6; i++) {
		field[i] = s;
		const char *colon = i < 5 ? strchr(s, ':') : NULL;
		if (i < 5 && colon == NULL) {
			snprintf(
			    err, errn,
			    "'%s' is not an ARN (arn:partition:service:region:account:resource)",
			    text);
			return -1;
		}
		flen[i] = colon ? (size_t)(colon - s) : strlen(s);
		s = colon ? colon + 1 : s + flen[i];
	}
	const char *res = field[5];
	size_t resn = flen[5];
	bool federated = (resn > 14 && strncmp(res, "oidc-provider/", 14) == 0) ||
	                 (resn > 14 && strncmp(res, "saml-provider/", 14) == 0);
	if (!forced)
		k = federated ? POLICY_PRINCIPAL_FEDERATED : POLICY_PRINCIPAL_AWS;
	if (k == POLICY_PRINCIPAL_ANONYMOUS || k == POLICY_PRINCIPAL_SERVICE) {
		snprintf(err, errn, "an ARN cannot name a %s principal",
		         k == POLICY_PRINCIPAL_SERVICE ? "service" : "anonymous");
		return -1;
	}
	memcpy(out->arn, text, tn + 1);
	out->p.kind = k;
	if (k == POLICY_PRINCIPAL_FEDERATED)
		goto slices;

	if (flen[4] != 12 || !all_digits(field[4], 12)) {
		snprintf(err, errn, "'%s' has no 12-digit account in its fifth field", text);
		return -1;
	}
	memcpy(out->account, field[4], 12);
	out->account[12] = '\0';

	/* A role session: AWS puts the role's ARN in aws:PrincipalArn, and
	 * resource policies naming the role match against it. */
	bool sts = flen[2] == 3 && strncmp(field[2], "sts", 3) == 0;
	if (sts && resn > 13 && strncmp(res, "assumed-role/", 13) == 0) {
		const char *role = res + 13;
		const char *slash = memchr(role, '/', resn - 13);
		size_t rolen = slash ? (size_t)(slash - role) : resn - 13;
		if (rolen == 0 || slash == NULL || slash[1] == '\0') {
			snprintf(err, errn,
			         "'%s' is not an assumed-role ARN (.../assumed-role/ROLE/SESSION)",
			         text);
			return -1;
		}
		if (role_arn == NULL) {
			int w = snprintf(out->role_arn, sizeof(out->role_arn),
			                 "arn:%.*s:iam::%s:role/%.*s", (int)flen[1], field[1],
			                 out->account, (int)rolen, role);
			if (w < 0 || (size_t)w >= sizeof(out->role_arn)) {
				snprintf(err, errn, "role ARN too long");
				return -1;
			}
		}
	}
	if (role_arn != NULL) {
		if (out->role_arn[0] == '\0' && !(sts && strncmp(res, "assumed-role/", 13) == 0)) {
			snprintf(err, errn,
			         "a role ARN applies only to a role session (an sts "
			         "assumed-role ARN)");
			return -1;
		}
		if (strncmp(role_arn, "arn:", 4) != 0 || strstr(role_arn, ":role/") == NULL) {
			snprintf(err, errn, "'%s' is not a role ARN (arn:aws:iam::A:role/NAME)",
			         role_arn);
			return -1;
		}
		if (copy_str(out->role_arn, sizeof(out->role_arn), role_arn, strlen(role_arn)) !=
		    0) {
			snprintf(err, errn, "role ARN too long");
			return -1;
		}
	}

slices:
	out->p.arn = (struct policy_str){out->arn, strlen(out->arn)};
	out->p.role_arn = (struct policy_str){out->role_arn, strlen(out->role_arn)};
	out->p.account = (struct policy_str){out->account, strlen(out->account)};
	return 0;
}

void gw_cli_context_free(struct gw_cli_context *c)
{
	for (size_t i = 0; i < c->n; i++)
		free((void *)c->entries[i].values);
	free(c->entries);
	memset(c, 0, sizeof(*c));
}

long gw_cli_context_find(const struct gw_cli_context *c, const char *key, size_t keylen)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct policy_str *k = &c->entries[i].key;
		if (k->n == keylen && strncasecmp(k->p, key, keylen) == 0)
			return (long)i;
	}
	return -1;
}

long gw_cli_context_key(struct gw_cli_context *c, const char *key, size_t keylen)
{
	long found = gw_cli_context_find(c, key, keylen);
	if (found >= 0)
		return found;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct policy_ctx_entry *e = realloc(c->entries, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		c->entries = e;
		c->cap = cap;
	}
	c->entries[c->n] =
	    (struct policy_ctx_entry){.key = {key, keylen}, .values = NULL, .nvalues = 0};
	return (long)c->n++;
}

int gw_cli_context_add_value(struct gw_cli_context *c, size_t i, const char *v, size_t vlen)
{
	struct policy_ctx_entry *e = &c->entries[i];
	/* Grow one at a time: contexts are small and built once per command. */
	struct policy_str *vals = realloc((void *)e->values, (e->nvalues + 1) * sizeof(*vals));
	if (vals == NULL)
		return -1;
	vals[e->nvalues] = (struct policy_str){v, vlen};
	e->values = vals;
	e->nvalues++;
	return 0;
}

/* ---- option parsing ---- */

/*
 * One step over argv. Long options take their value as `--opt value` or
 * `--opt=value`. Returns 1 for an option (*name, *value when it takes one), 0
 * for an operand (*value), -1 at the end, 2 after printing a usage error.
 */
struct optspec {
	const char *name;
	bool has_value;
};

struct opt_state {
	int argc;
	char **argv;
	int i;
	bool operands_only; /* after "--" */
	const char *cmd;
};

static int next_opt(struct opt_state *st, const struct optspec *specs, size_t nspecs,
                    const struct optspec **spec, const char **value)
{
	*spec = NULL;
	*value = NULL;
	if (st->i >= st->argc)
		return -1;
	const char *a = st->argv[st->i++];
	if (st->operands_only || a[0] != '-' || strcmp(a, "-") == 0) {
		*value = a;
		return 0;
	}
	if (strcmp(a, "--") == 0) {
		st->operands_only = true;
		return next_opt(st, specs, nspecs, spec, value);
	}
	if (strcmp(a, "-h") == 0)
		a = "--help";
	const char *eq = strchr(a, '=');
	size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
	for (size_t j = 0; j < nspecs; j++) {
		if (strlen(specs[j].name) != nlen || strncmp(specs[j].name, a, nlen) != 0)
			continue;
		*spec = &specs[j];
		if (!specs[j].has_value) {
			if (eq != NULL) {
				fprintf(stderr, "taskgate policy %s: option %s takes no value\n",
				        st->cmd, specs[j].name);
				return 2;
			}
			return 1;
		}
		if (eq != NULL) {
			*value = eq + 1;
		} else if (st->i < st->argc) {
			*value = st->argv[st->i++];
		} else {
			fprintf(stderr, "taskgate policy %s: option %s needs a value\n", st->cmd,
			        specs[j].name);
			return 2;
		}
		return 1;
	}
	fprintf(stderr, "taskgate policy %s: unknown option '%.*s'\n", st->cmd, (int)nlen, a);
	return 2;
}

static int parse_size(const char *s, size_t *out)
{
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > SIZE_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* ---- validate ---- */

static const char validate_usage[] =
    "usage: taskgate policy validate [--type TYPE] [--managed] [--size-limit N] [--json] FILE...\n"
    "\n"
    "Compiles each FILE (- for standard input) as a policy of TYPE and prints every\n"
    "error and warning with its JSON path. Exit 0 when no file has an error, 1 when\n"
    "one has (or cannot be read), 2 on a usage error.\n"
    "\n"
    "  --type TYPE       identity (default), resource, boundary, session, scp, trust\n"
    "  --managed         the document is a managed policy (Version 2012-10-17 required,\n"
    "                    managed-policy size limit)\n"
    "  --size-limit N    size limit in characters instead of AWS's default for the type\n"
    "  --json            print a JSON array with one result per file\n";

static const char *status_name(int rc)
{
	switch (rc) {
	case POLICY_OK:
		return "valid";
	case POLICY_ERR_MALFORMED:
		return "malformed";
	case POLICY_ERR_LIMIT:
		return "limit_exceeded";
	case POLICY_ERR_NOMEM:
		return "out_of_memory";
	default:
		return "error";
	}
}

static void print_diag(FILE *f, const char *file, const struct policy_diag *d)
{
	const char *sev = d->severity == POLICY_SEV_ERROR ? "error" : "warning";
	if (d->path[0] != '\0')
		fprintf(f, "%s: %s: %s: %s\n", file, sev, d->path, d->message);
	else
		fprintf(f, "%s: %s: %s\n", file, sev, d->message);
}

/* Adds `value` under `key`, consuming it; remembers failure in *ok. */
static void jset(json_t *obj, const char *key, json_t *value, bool *ok)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		*ok = false;
}

static void jappend(json_t *arr, json_t *value, bool *ok)
{
	if (value == NULL || json_array_append_new(arr, value) != 0)
		*ok = false;
}

static json_t *diags_json(const struct policy_diags *d, enum policy_severity sev, bool *ok)
{
	json_t *arr = json_array();
	if (arr == NULL) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].severity != sev)
			continue;
		json_t *o = json_object();
		jset(o, "path", json_string(d->items[i].path), ok);
		jset(o, "message", json_string(d->items[i].message), ok);
		jappend(arr, o, ok);
	}
	return arr;
}

/* Prints a JSON value followed by a newline; returns 0 or -1. */
static int print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s == NULL)
		return -1;
	fputs(s, stdout);
	fputc('\n', stdout);
	free(s);
	return 0;
}

static int cmd_validate(int argc, char **argv)
{
	static const struct optspec specs[] = {
	    {"--type", true},  {"--managed", false}, {"--size-limit", true},
	    {"--json", false}, {"--help", false},
	};
	struct opt_state st = {.argc = argc, .argv = argv, .i = 1, .cmd = "validate"};
	struct policy_options opts = {.type = POLICY_IDENTITY};
	bool as_json = false;
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	if (files == NULL) {
		fprintf(stderr, "taskgate policy validate: out of memory\n");
		return GW_EXIT_FAIL;
	}
	int r;
	const struct optspec *spec;
	const char *val;
	while ((r = next_opt(&st, specs, sizeof(specs) / sizeof(specs[0]), &spec, &val)) >= 0) {
		if (r == 2) {
			fputs(validate_usage, stderr);
			free(files);
			return GW_EXIT_USAGE;
		}
		if (r == 0) {
			files[nfiles++] = val;
		} else if (strcmp(spec->name, "--help") == 0) {
			fputs(validate_usage, stdout);
			free(files);
			return GW_EXIT_OK;
		} else if (strcmp(spec->name, "--type") == 0) {
			if (policy_type_from_name(val, &opts.type) != 0) {
				fprintf(stderr,
				        "taskgate policy validate: unknown policy type '%s'\n",
				        val);
				fputs(validate_usage, stderr);
				free(files);
				return GW_EXIT_USAGE;
			}
		} else if (strcmp(spec->name, "--managed") == 0) {
			opts.managed = true;
		} else if (strcmp(spec->name, "--size-limit") == 0) {
			if (parse_size(val, &opts.size_limit) != 0 || opts.size_limit == 0) {
				fprintf(stderr, "taskgate policy validate: --size-limit needs a "
				                "positive number\n");
				free(files);
				return GW_EXIT_USAGE;
			}
		} else if (strcmp(spec->name, "--json") == 0) {
			as_json = true;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "taskgate policy validate: no policy file given\n");
		fputs(validate_usage, stderr);
		free(files);
		return GW_EXIT_USAGE;
	}
	if (opts.managed && opts.type != POLICY_IDENTITY && opts.type != POLICY_BOUNDARY) {
		fprintf(stderr,
		        "taskgate policy validate: --managed applies to identity and boundary "
		        "policies only\n");
		free(files);
		return GW_EXIT_USAGE;
	}

	int status = GW_EXIT_OK;
	bool ok = true;
	json_t *results = as_json ? json_array() : NULL;
	if (as_json && results == NULL)
		ok = false;
	for (size_t i = 0; i < nfiles && ok; i++) {
		const char *file = files[i];
		char err[512];
		char *text = NULL;
		size_t len = 0;
		json_t *res = as_json ? json_object() : NULL;
		if (as_json) {
			jset(res, "file", json_string(file), &ok);
			jset(res, "type", json_string(policy_type_name(opts.type)), &ok);
			jset(res, "managed", json_boolean(opts.managed), &ok);
		}
		if (gw_cli_read_file(file, GW_CLI_POLICY_FILE_MAX, &text, &len, err, sizeof(err)) !=
		    0) {
			status = GW_EXIT_FAIL;
			if (as_json) {
				jset(res, "status", json_string("unreadable"), &ok);
				jset(res, "valid", json_false(), &ok);
				json_t *errs = json_array();
				json_t *o = json_object();
				jset(o, "path", json_string(""), &ok);
				jset(o, "message", json_string(err), &ok);
				jappend(errs, o, &ok);
				jset(res, "errors", errs, &ok);
				jset(res, "warnings", json_array(), &ok);
				jappend(results, res, &ok);
			} else {
				printf("%s: error: %s\n", file, err);
			}
			continue;
		}
		struct policy_diags diags;
		policy_diags_init(&diags);
		opts.id = file;
		struct policy *pol = NULL;
		int rc = policy_compile(text, len, &opts, &pol, &diags);
		if (rc != POLICY_OK)
			status = GW_EXIT_FAIL;
		if (as_json) {
			jset(res, "status", json_string(status_name(rc)), &ok);
			jset(res, "valid", json_boolean(rc == POLICY_OK), &ok);
			if (pol != NULL) {
				jset(res, "version", json_string(policy_version(pol)), &ok);
				jset(res, "statements",
				     json_integer((json_int_t)policy_statement_count(pol)), &ok);
			}
			jset(res, "errors", diags_json(&diags, POLICY_SEV_ERROR, &ok), &ok);
			jset(res, "warnings", diags_json(&diags, POLICY_SEV_WARNING, &ok), &ok);
			jappend(results, res, &ok);
		} else {
			for (size_t d = 0; d < diags.count; d++)
				print_diag(stdout, file, &diags.items[d]);
			if (rc == POLICY_OK) {
				size_t nst = policy_statement_count(pol);
				printf("%s: ok: valid %s policy, %zu statement%s, %zu warning%s\n",
				       file, policy_type_name(opts.type), nst, nst == 1 ? "" : "s",
				       diags.warnings, diags.warnings == 1 ? "" : "s");
			} else if (diags.errors == 0) {
				/* Out of memory leaves no diagnostic; still say something. */
				printf("%s: error: %s\n", file,
				       rc == POLICY_ERR_NOMEM ? "out of memory"
				                              : "not a valid policy");
			}
		}
		policy_unref(pol);
		policy_diags_free(&diags);
		free(text);
	}
	if (as_json) {
		if (!ok || print_json(results) != 0) {
			fprintf(stderr, "taskgate policy validate: out of memory\n");
			status = GW_EXIT_FAIL;
		}
		json_decref(results);
	}
	free(files);
	return status;
}

/* ---- simulate ---- */

static const char simulate_usage[] =
    "usage: taskgate policy simulate --principal ARN --action ACTION [options]\n"
    "\n"
    "Evaluates one request against a set of policies and prints the decision, the\n"
    "policy type that decided, every matching statement and an explanation.\n"
    "Exit 0 Allow, 3 ImplicitDeny, 4 ExplicitDeny, 1 invalid input (a policy that\n"
    "does not compile, an unreadable file), 2 usage error.\n"
    "\n"
    "  --identity FILE           identity-based policy (repeatable)\n"
    "  --resource-policy FILE    resource-based policy (repeatable)\n"
    "  --trust FILE              role trust policy (repeatable)\n"
    "  --boundary FILE           permissions boundary (the principal then has one)\n"
    "  --session-policy FILE     session policy (repeatable)\n"
    "  --scp FILE[:LEVEL]        guardrail at organisation LEVEL (default 0; repeatable)\n"
    "  --principal ARN           caller: ARN, 12-digit account, service name or *\n"
    "  --principal-kind KIND     aws, service, federated or anonymous (default: from ARN)\n"
    "  --principal-role-arn ARN  role ARN of a role session (default: derived from the\n"
    "                            assumed-role ARN, without the role's path)\n"
    "  --action ACTION           e.g. ecs:RunTask\n"
    "  --resource ARN            default *\n"
    "  --context KEY=VALUE       request context (repeatable; a repeated KEY is multi-valued)\n"
    "  --context-empty KEY       KEY present with no values (an empty multi-valued key)\n"
    "  --no-default-context      do not add aws:PrincipalArn and aws:PrincipalAccount\n"
    "  --json                    print the result as a JSON object\n";

struct sim_policy {
	const char *file; /* as given, also the policy's id */
	char *path_buf;   /* owned copy when FILE:LEVEL was split */
	enum policy_type type;
	unsigned level;
	struct policy *pol;
};

/* --scp FILE[:LEVEL]: the level is the digits after the last colon. */
static int split_scp(const char *arg, struct sim_policy *sp)
{
	const char *colon = strrchr(arg, ':');
	if (colon == NULL || !all_digits(colon + 1, strlen(colon + 1)) || colon == arg) {
		sp->file = arg;
		return 0;
	}
	size_t digits = strlen(colon + 1);
	if (digits > 4)
		return -1;
	sp->level = (unsigned)strtoul(colon + 1, NULL, 10);
	sp->path_buf = strndup(arg, (size_t)(colon - arg));
	if (sp->path_buf == NULL)
		return -1;
	sp->file = sp->path_buf;
	return 0;
}

static const char *type_label(enum policy_type t)
{
	return policy_type_name(t);
}

static int compile_file(struct sim_policy *sp)
{
	char err[512];
	char *text = NULL;
	size_t len = 0;
	if (gw_cli_read_file(sp->file, GW_CLI_POLICY_FILE_MAX, &text, &len, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "%s: error: %s\n", sp->file, err);
		return -1;
	}
	struct policy_options opts = {.type = sp->type, .id = sp->file};
	struct policy_diags diags;
	policy_diags_init(&diags);
	int rc = policy_compile(text, len, &opts, &sp->pol, &diags);
	for (size_t d = 0; d < diags.count; d++)
		print_diag(stderr, sp->file, &diags.items[d]);
	if (rc != POLICY_OK && diags.errors == 0)
		fprintf(stderr, "%s: error: %s\n", sp->file,
		        rc == POLICY_ERR_NOMEM ? "out of memory" : "not a valid policy");
	policy_diags_free(&diags);
	free(text);
	return rc == POLICY_OK ? 0 : -1;
}

static json_t *str_json(struct policy_str s)
{
	return json_stringn(s.p ? s.p : "", s.n);
}

/* Calls a policy_explain-shaped function into a buffer of the size it asks
 * for; returns a string the caller frees, or NULL when out of memory. */
static char *render(size_t (*fn)(const struct policy_result *, const struct policy_request *,
                                 char *, size_t),
                    const struct policy_result *res, const struct policy_request *req)
{
	char probe[1];
	size_t need = fn(res, req, probe, sizeof(probe));
	char *buf = malloc(need + 1);
	if (buf == NULL)
		return NULL;
	fn(res, req, buf, need + 1);
	return buf;
}

/* What the library said about a result, for people. */
struct sim_words {
	const char *explanation;
	const char *message; /* AWS's AccessDenied message; "" for an Allow */
};

static json_t *match_json(const struct policy_match *pm, bool *ok)
{
	json_t *e = json_object();
	jset(e, "policy", json_string(policy_id(pm->policy)), ok);
	jset(e, "type", json_string(type_label(policy_type_of(pm->policy))), ok);
	jset(e, "statement", json_integer(pm->statement), ok);
	jset(e, "sid", json_string(policy_statement_sid(pm->policy, pm->statement)), ok);
	jset(e, "effect", json_string(pm->allow ? "Allow" : "Deny"), ok);
	return e;
}

static void print_match(const char *indent, const struct policy_match *pm)
{
	const char *sid = policy_statement_sid(pm->policy, pm->statement);
	printf("%s%-5s %s policy '%s' Statement[%u]%s%s%s\n", indent, pm->allow ? "Allow" : "Deny",
	       type_label(policy_type_of(pm->policy)), policy_id(pm->policy),
	       (unsigned)pm->statement, sid[0] ? " (Sid " : "", sid, sid[0] ? ")" : "");
}

static json_t *simulate_json(const struct sim_policy *pols, size_t npols,
                             const struct policy_request *req, const struct policy_result *res,
                             const struct sim_words *words, bool *ok)
{
	json_t *o = json_object();
	jset(o, "decision", json_string(policy_decision_name(res->decision)), ok);
	jset(o, "decided_by", json_string(type_label(res->decided_by)), ok);
	if (res->decided_by == POLICY_SCP)
		jset(o, "scp_level", json_integer(res->scp_level), ok);
	if (res->has_decider)
		jset(o, "decider", match_json(&res->decider, ok), ok);
	json_t *m = json_array();
	for (size_t i = 0; i < res->nmatches; i++)
		jappend(m, match_json(&res->matches[i], ok), ok);
	jset(o, "matches", m, ok);
	jset(o, "total_matches", json_integer((json_int_t)res->total_matches), ok);
	jset(o, "explanation", json_string(words->explanation), ok);
	if (res->decision != POLICY_ALLOW) {
		jset(o, "deny_reason", json_string(policy_deny_reason(res)), ok);
		jset(o, "message", json_string(words->message), ok);
	}

	json_t *rq = json_object();
	json_t *pr = json_object();
	static const char *const kinds[] = {"aws", "service", "federated", "anonymous"};
	jset(pr, "kind", json_string(kinds[req->principal.kind]), ok);
	jset(pr, "arn", str_json(req->principal.arn), ok);
	jset(pr, "role_arn", str_json(req->principal.role_arn), ok);
	jset(pr, "account", str_json(req->principal.account), ok);
	jset(pr, "has_boundary", json_boolean(req->principal.has_boundary), ok);
	jset(rq, "principal", pr, ok);
	jset(rq, "action", str_json(req->action), ok);
	jset(rq, "resource", str_json(req->resource), ok);
	json_t *ctx = json_object();
	for (size_t i = 0; i < req->ncontext; i++) {
		const struct policy_ctx_entry *e = &req->context[i];
		json_t *vals = json_array();
		for (size_t v = 0; v < e->nvalues; v++)
			jappend(vals, str_json(e->values[v]), ok);
		char key[512];
		if (copy_str(key, sizeof(key), e->key.p, e->key.n) != 0) {
			json_decref(vals);
			*ok = false;
			continue;
		}
		jset(ctx, key, vals, ok);
	}
	jset(rq, "context", ctx, ok);
	jset(o, "request", rq, ok);

	json_t *used = json_array();
	for (size_t i = 0; i < npols; i++) {
		json_t *p = json_object();
		jset(p, "policy", json_string(pols[i].file), ok);
		jset(p, "type", json_string(type_label(pols[i].type)), ok);
		if (pols[i].type == POLICY_SCP)
			jset(p, "level", json_integer(pols[i].level), ok);
		jappend(used, p, ok);
	}
	jset(o, "policies", used, ok);
	return o;
}

static void simulate_text(const struct policy_request *req, const struct policy_result *res,
                          const struct sim_words *words)
{
	printf("decision:   %s\n", policy_decision_name(res->decision));
	if (res->decided_by == POLICY_SCP)
		printf("decided by: %s policy (level %u)\n", type_label(res->decided_by),
		       res->scp_level);
	else
		printf("decided by: %s policy\n", type_label(res->decided_by));
	if (res->has_decider)
		print_match("deciding statement: ", &res->decider);
	printf("request:    %.*s on %.*s by %.*s\n", (int)req->action.n, req->action.p,
	       (int)req->resource.n, req->resource.p, (int)req->principal.arn.n,
	       req->principal.arn.p ? req->principal.arn.p : "");
	if (res->nmatches == 0) {
		printf("matched statements: none\n");
	} else {
		printf("matched statements: %zu\n", res->total_matches);
		for (size_t i = 0; i < res->nmatches; i++)
			print_match("  ", &res->matches[i]);
		if (res->total_matches > res->nmatches)
			printf("  ... and %zu more\n", res->total_matches - res->nmatches);
	}
	printf("explanation: %s\n", words->explanation);
	if (res->decision != POLICY_ALLOW) {
		printf("deny reason: %s\n", policy_deny_reason(res));
		printf("message:     %s\n", words->message);
	}
}

static int cmd_simulate(int argc, char **argv)
{
	static const struct optspec specs[] = {
	    {"--identity", true},
	    {"--resource-policy", true},
	    {"--trust", true},
	    {"--boundary", true},
	    {"--session-policy", true},
	    {"--scp", true},
	    {"--principal", true},
	    {"--principal-kind", true},
	    {"--principal-role-arn", true},
	    {"--action", true},
	    {"--resource", true},
	    {"--context", true},
	    {"--context-empty", true},
	    {"--no-default-context", false},
	    {"--json", false},
	    {"--help", false},
	};
	static const struct {
		const char *opt;
		enum policy_type type;
	} typed[] = {
	    {"--identity", POLICY_IDENTITY},
	    {"--resource-policy", POLICY_RESOURCE},
	    {"--trust", POLICY_TRUST},
	    {"--boundary", POLICY_BOUNDARY},
	    {"--session-policy", POLICY_SESSION},
	    {"--scp", POLICY_SCP},
	};
	struct opt_state st = {.argc = argc, .argv = argv, .i = 1, .cmd = "simulate"};
	struct sim_policy *pols = calloc((size_t)argc + 1, sizeof(*pols));
	struct policy_input *inputs = calloc((size_t)argc + 1, sizeof(*inputs));
	struct gw_cli_context ctx = {0};
	struct gw_cli_principal *who = calloc(1, sizeof(*who));
	size_t npols = 0;
	const char *principal = NULL, *kind = NULL, *role_arn = NULL, *action = NULL;
	const char *resource = "*";
	bool as_json = false, default_ctx = true, has_boundary = false;
	/* Keys given with --context-empty, to refuse mixing them with values. */
	bool *empty_key = calloc((size_t)argc + 1, sizeof(*empty_key));
	int status = GW_EXIT_USAGE;
	char err[512];

	if (pols == NULL || inputs == NULL || who == NULL || empty_key == NULL) {
		fprintf(stderr, "taskgate policy simulate: out of memory\n");
		status = GW_EXIT_FAIL;
		goto done;
	}
	int r;
	const struct optspec *spec;
	const char *val;
	while ((r = next_opt(&st, specs, sizeof(specs) / sizeof(specs[0]), &spec, &val)) >= 0) {
		if (r == 2)
			goto usage;
		if (r == 0) {
			fprintf(stderr,
			        "taskgate policy simulate: unexpected argument '%s' (policies are "
			        "given with --identity, --resource-policy, ...)\n",
			        val);
			goto usage;
		}
		const char *name = spec->name;
		bool is_typed = false;
		for (size_t t = 0; t < sizeof(typed) / sizeof(typed[0]); t++) {
			if (strcmp(name, typed[t].opt) != 0)
				continue;
			is_typed = true;
			struct sim_policy *sp = &pols[npols++];
			sp->type = typed[t].type;
			sp->file = val;
			if (sp->type == POLICY_SCP && split_scp(val, sp) != 0) {
				fprintf(stderr,
				        "taskgate policy simulate: bad --scp '%s' (FILE or "
				        "FILE:LEVEL)\n",
				        val);
				goto usage;
			}
			if (sp->type == POLICY_BOUNDARY)
				has_boundary = true;
		}
		if (is_typed)
			continue;
		if (strcmp(name, "--help") == 0) {
			fputs(simulate_usage, stdout);
			status = GW_EXIT_OK;
			goto done;
		} else if (strcmp(name, "--principal") == 0) {
			principal = val;
		} else if (strcmp(name, "--principal-kind") == 0) {
			kind = val;
		} else if (strcmp(name, "--principal-role-arn") == 0) {
			role_arn = val;
		} else if (strcmp(name, "--action") == 0) {
			action = val;
		} else if (strcmp(name, "--resource") == 0) {
			resource = val;
		} else if (strcmp(name, "--no-default-context") == 0) {
			default_ctx = false;
		} else if (strcmp(name, "--json") == 0) {
			as_json = true;
		} else if (strcmp(name, "--context") == 0 || strcmp(name, "--context-empty") == 0) {
			bool empty = strcmp(name, "--context-empty") == 0;
			const char *eq = empty ? NULL : strchr(val, '=');
			size_t klen = empty ? strlen(val) : (eq ? (size_t)(eq - val) : 0);
			if (klen == 0) {
				fprintf(stderr, "taskgate policy simulate: %s needs %s, got '%s'\n",
				        name, empty ? "a key" : "KEY=VALUE", val);
				goto usage;
			}
			long existed = gw_cli_context_find(&ctx, val, klen);
			long k = gw_cli_context_key(&ctx, val, klen);
			if (k < 0) {
				fprintf(stderr, "taskgate policy simulate: out of memory\n");
				status = GW_EXIT_FAIL;
				goto done;
			}
			if (existed >= 0 && (empty || empty_key[k])) {
				fprintf(stderr,
				        "taskgate policy simulate: key '%.*s' given both empty and "
				        "with values\n",
				        (int)klen, val);
				goto usage;
			}
			if (empty) {
				empty_key[k] = true;
			} else if (gw_cli_context_add_value(&ctx, (size_t)k, eq + 1,
			                                    strlen(eq + 1)) != 0) {
				fprintf(stderr, "taskgate policy simulate: out of memory\n");
				status = GW_EXIT_FAIL;
				goto done;
			}
		}
	}
	if (principal == NULL || action == NULL) {
		fprintf(stderr, "taskgate policy simulate: %s\n",
		        principal == NULL ? "--principal is required" : "--action is required");
		goto usage;
	}
	if (gw_cli_principal_parse(principal, kind, role_arn, who, err, sizeof(err)) != 0) {
		fprintf(stderr, "taskgate policy simulate: --principal: %s\n", err);
		goto usage;
	}
	who->p.has_boundary = has_boundary;

	/* What AWS always puts in the context for an AWS principal, unless given. */
	if (default_ctx && who->p.kind == POLICY_PRINCIPAL_AWS) {
		struct policy_str parn = who->p.role_arn.n ? who->p.role_arn : who->p.arn;
		static const char k_arn[] = "aws:PrincipalArn", k_acct[] = "aws:PrincipalAccount";
		long k;
		if (gw_cli_context_find(&ctx, k_arn, sizeof(k_arn) - 1) < 0) {
			k = gw_cli_context_key(&ctx, k_arn, sizeof(k_arn) - 1);
			if (k < 0 || gw_cli_context_add_value(&ctx, (size_t)k, parn.p, parn.n) != 0)
				goto oom;
		}
		if (gw_cli_context_find(&ctx, k_acct, sizeof(k_acct) - 1) < 0) {
			k = gw_cli_context_key(&ctx, k_acct, sizeof(k_acct) - 1);
			if (k < 0 || gw_cli_context_add_value(&ctx, (size_t)k, who->p.account.p,
			                                      who->p.account.n) != 0)
				goto oom;
		}
	}

	status = GW_EXIT_FAIL;
	bool compiled = true;
	for (size_t i = 0; i < npols; i++) {
		if (compile_file(&pols[i]) != 0)
			compiled = false;
		inputs[i] = (struct policy_input){.policy = pols[i].pol, .level = pols[i].level};
	}
	if (!compiled)
		goto done;

	struct policy_request req = {
	    .principal = who->p,
	    .action = {action, strlen(action)},
	    .resource = {resource, strlen(resource)},
	    .context = ctx.entries,
	    .ncontext = ctx.n,
	};
	struct policy_result res;
	memset(&res, 0, sizeof(res));
	if (policy_evaluate(inputs, npols, &req, &res) != POLICY_OK) {
		fprintf(stderr,
		        "taskgate policy simulate: the request is not valid for evaluation\n");
		goto done;
	}
	/* Both texts are sized by asking first, as with snprintf. */
	char *expl = render(policy_explain, &res, &req);
	char *msg = render(policy_deny_message, &res, &req);
	if (expl == NULL || msg == NULL) {
		free(expl);
		free(msg);
		goto oom;
	}
	struct sim_words words = {.explanation = expl, .message = msg};
	bool printed = true;
	if (as_json) {
		bool ok = true;
		json_t *o = simulate_json(pols, npols, &req, &res, &words, &ok);
		printed = ok && print_json(o) == 0;
		json_decref(o);
	} else {
		simulate_text(&req, &res, &words);
	}
	free(expl);
	free(msg);
	if (!printed)
		goto oom;
	status = res.decision == POLICY_ALLOW           ? GW_EXIT_OK
	         : res.decision == POLICY_EXPLICIT_DENY ? SIM_EXIT_EXPLICIT_DENY
	                                                : SIM_EXIT_IMPLICIT_DENY;
	goto done;

oom:
	fprintf(stderr, "taskgate policy simulate: out of memory\n");
	status = GW_EXIT_FAIL;
	goto done;
usage:
	fputs(simulate_usage, stderr);
	status = GW_EXIT_USAGE;
done:
	if (pols != NULL) {
		for (size_t i = 0; i < npols; i++) {
			policy_unref(pols[i].pol);
			free(pols[i].path_buf);
		}
	}
	free(pols);
	free(inputs);
	free(who);
	free(empty_key);
	gw_cli_context_free(&ctx);
	return status;
}

/* ---- dispatch ---- */

static const char policy_usage[] =
    "usage: taskgate policy <validate|simulate|test> [options]\n"
    "\n"
    "  validate   check policy documents; print errors and warnings with JSON paths\n"
    "  simulate   evaluate one request against a set of policies and explain it\n"
    "  test       run conformance vectors (expected decisions and invalid documents)\n"
    "\n"
    "`taskgate policy <subcommand> --help` describes each one.\n";

int gw_cmd_policy(int argc, char **argv)
{
	if (argc < 2) {
		fputs(policy_usage, stderr);
		return GW_EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(policy_usage, stdout);
		return GW_EXIT_OK;
	}
	if (strcmp(sub, "validate") == 0)
		return cmd_validate(argc - 1, argv + 1);
	if (strcmp(sub, "simulate") == 0)
		return cmd_simulate(argc - 1, argv + 1);
	if (strcmp(sub, "test") == 0)
		return gw_cli_policy_test(argc - 1, argv + 1);
	fprintf(stderr, "taskgate policy: unknown subcommand '%s'\n", sub);
	fputs(policy_usage, stderr);
	return GW_EXIT_USAGE;
}
