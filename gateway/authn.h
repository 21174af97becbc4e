/*
 * authn.h - who is calling: the authenticate step of the request road
 * (private to gateway/).
 *
 * Four ways in, tried in this order, each ending in one struct gw_principal
 * (principal.h) or in a refusal worded in the caller's protocol:
 *
 *   1. a client certificate (only with tls.client_ca): verified by GnuTLS
 *      against the configured CA for every request; a certificate that does
 *      not verify refuses the request whatever else it carries;
 *   2. SigV4 (Authorization: AWS4-HMAC-SHA256 ..., or a presigned URL's
 *      X-Amz-* query): an AKIA key from the IAM snapshot (its secret unsealed
 *      with the master key for this one check) signs in as its user; an ASIA
 *      key issued by STS signs in as its role session, bound to its token;
 *   3. Authorization: Bearer <JWT> from a configured issuer whose role_claim
 *      names a role whose trust policy allows sts:AssumeRoleWithWebIdentity
 *      for that issuer and these claims: a role session;
 *   4. none of them but a verified client certificate: the host role the
 *      certificate's subject maps to (IAM host_mappings): a role session.
 *
 * Without any of them the caller is anonymous (r->principal stays NULL) and
 * later steps decide: /health is public, STS serves AssumeRoleWithWebIdentity
 * unsigned, everything else answers MissingAuthenticationToken.
 *
 * Nothing here logs or stores a secret, session token, signature or JWT: the
 * log line of a refusal names the rule and the access key id only.
 */
#ifndef TASKGATE_GATEWAY_AUTHN_H
#define TASKGATE_GATEWAY_AUTHN_H

#include <stdbool.h>
#include <stddef.h>

#include "gateway/request.h"

struct gw_request;

/* The protocol of r from its headers, method and path (no body needed). */
enum gw_protocol gw_authn_protocol(const struct gw_request *r);

/*
 * Authenticates r: sets r->protocol, and r->principal (owned by r) unless the
 * caller is anonymous. Returns GW_STEP_OK, or GW_STEP_STOP with the refusal
 * set as r's response (gw_authn_fail).
 */
int gw_authn_authenticate(struct gw_request *r);

/*
 * Sets r's response to an error in r's protocol: JSON {"__type", "message"}
 * for JSON and REST, an <ErrorResponse> XML document for the query protocol.
 * code is static text. Returns GW_STEP_STOP.
 */
int gw_authn_fail(struct gw_request *r, unsigned status, const char *code, const char *message);

struct gw_iam;
struct gw_sts_env;
/* The STS environment of r (store, key box, times, limits) over iam. */
void gw_authn_sts_env(const struct gw_request *r, struct gw_iam *iam, struct gw_sts_env *env);

/* The SigV4 service name for a protocol: "sts" or "ecs". */
const char *gw_authn_service(enum gw_protocol proto);

#endif
