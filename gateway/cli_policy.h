/*
 * cli_policy.h - what the `taskgate policy` subcommands share (private to
 * gateway/cli_policy*.c).
 *
 * `policy validate` and `policy simulate` live in cli_policy.c, the conformance
 * runner `policy test` in cli_policy_test.c. Both need to read a file whole,
 * to turn a principal written by a person (an ARN, an account id, a service
 * name) into the struct policy_principal the library evaluates, and to hold a
 * request context whose keys may repeat. Those helpers are declared here; they
 * print nothing, and report failures through a message buffer so that each
 * command decides where and how to show it.
 */
#ifndef TASKGATE_GATEWAY_CLI_POLICY_H
#define TASKGATE_GATEWAY_CLI_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* IAM caps ARNs at 2048 characters; anything longer is not a principal. */
#define GW_CLI_ARN_MAX 2048
/* A policy document is at most a few KiB; a MiB leaves room for white space
 * and for checking the size limit ourselves rather than by truncation. */
#define GW_CLI_POLICY_FILE_MAX (1024u * 1024u)
/* Conformance vector files hold hundreds of cases. */
#define GW_CLI_VECTOR_FILE_MAX (64u * 1024u * 1024u)

/*
 * Reads `path` ("-" = standard input) whole into a NUL-terminated buffer the
 * caller frees. Files over `max` bytes are refused before they are read past
 * the limit. Returns 0, or -1 with a message in err.
 */
int gw_cli_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errn);

/* A principal with its own storage: the slices in `p` point into the arrays. */
struct gw_cli_principal {
	struct policy_principal p;
	char arn[GW_CLI_ARN_MAX + 1];
	char role_arn[GW_CLI_ARN_MAX + 1];
	char account[13];
};

/*
 * Fills *out from what a person wrote:
 *   arn:...:sts::A:assumed-role/R/S  AWS; account A; role ARN arn:...:iam::A:role/R
 *   arn:...:iam::A:user/..., :root, :role/...  AWS; account A
 *   arn:...:iam::A:oidc-provider/..., :saml-provider/...  FEDERATED
 *   123456789012                     AWS; the account (arn:aws:iam::A:root)
 *   ecs-tasks.amazonaws.com          SERVICE (the web identity providers
 *                                    accounts.google.com, graph.facebook.com,
 *                                    www.amazon.com, cognito-identity.amazonaws.com
 *                                    are FEDERATED)
 *   * or anonymous                   ANONYMOUS
 * `kind` ("aws", "service", "federated", "anonymous"; NULL = as above) forces
 * the kind. `role_arn` (NULL = derive) overrides the role ARN of a role session:
 * an assumed-role ARN does not carry the role's path, so a role with a path
 * needs it given. Returns 0, or -1 with a message in err.
 */
int gw_cli_principal_parse(const char *text, const char *kind, const char *role_arn,
                           struct gw_cli_principal *out, char *err, size_t errn);

/* A request context built key by key; a key added twice (compared without
 * case, as IAM compares key names) becomes multi-valued. */
struct gw_cli_context {
	struct policy_ctx_entry *entries; /* owned; values arrays owned too */
	size_t n;
	size_t cap;
};

void gw_cli_context_free(struct gw_cli_context *c);
/* Adds the key if absent (with no values) and returns its index, or -1 when
 * out of memory. The key's bytes are borrowed: they must outlive the context. */
long gw_cli_context_key(struct gw_cli_context *c, const char *key, size_t keylen);
/* Appends a value (borrowed) to entry i. Returns 0 or -1 when out of memory. */
int gw_cli_context_add_value(struct gw_cli_context *c, size_t i, const char *v, size_t vlen);
/* The index of key, or -1 when absent. */
long gw_cli_context_find(const struct gw_cli_context *c, const char *key, size_t keylen);

/* `taskgate policy test FILE...` (cli_policy_test.c). */
int gw_cli_policy_test(int argc, char **argv);

#endif
