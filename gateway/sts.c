/*
 * sts.c - the STS actions: GetCallerIdentity, AssumeRole and
 * AssumeRoleWithWebIdentity over AWS's query protocol.
 *
 * A call goes through the three steps the request road gives it. Decode reads
 * the form once (sts_xml.c refuses repeated names and bad escapes) and checks
 * every parameter against botocore's model of STS (lengths, patterns, ranges,
 * list members numbered 1..n without holes), so later steps only meet typed,
 * valid values. Authorize asks every question AWS asks and records each one:
 * for AssumeRole the caller's identity policies and the role's trust policy
 * must both allow sts:AssumeRole (and sts:TagSession when session tags are
 * passed, sts:SetSourceIdentity when a source identity is); for
 * AssumeRoleWithWebIdentity the token is verified against the configured
 * issuers and the trust policy must allow the issuer as a federated principal
 * under conditions on its claims. Execute mints the credentials
 * (sts_issue.c) and writes the XML botocore parses.
 *
 * Nothing here logs. Messages put in responses never contain the token, a
 * secret or a policy document; values from the request appear only escaped
 * (gw_sts_xml_text), so no parameter can change the shape of a response.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "gateway/authz.h"
#include "gateway/request.h"
#include "gateway/sts.h"
#include "gateway/sts_int.h"

static const char *const op_names[] = {"GetCallerIdentity", "AssumeRole",
                                       "AssumeRoleWithWebIdentity"};

/* ---- responses ---- */

static void resp_reset(struct gw_sts_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void gw_sts_response_free(struct gw_sts_response *r)
{
	if (!r)
		return;
	if (r->body) {
		OPENSSL_cleanse(r->body, r->body_n);
		free(r->body);
	}
	r->body = NULL;
	r->body_n = 0;
}

void gw_sts_take_xml(struct gw_sts_response *r, struct gw_sts_xml *x)
{
	if (x->oom || !x->p) {
		gw_sts_xml_free(x);
		return;
	}
	r->body = x->p;
	r->body_n = x->n;
	memset(x, 0, sizeof(*x));
}

int gw_sts_fail(struct gw_sts_response *r, const char *request_id, int status, const char *code,
                const char *f, ...)
{
	const char *action = r->action;
	resp_reset(r);
	r->action = action;
	r->http_status = status;
	r->error_code = code;
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(r->message, sizeof(r->message), f, ap);
	va_end(ap);
	if (n < 0)
		r->message[0] = '\0';
	r->body = gw_sts_error_xml(status, code, r->message, request_id, &r->body_n);
	return -1;
}

char *gw_sts_error_xml(int status, const char *code, const char *message, const char *request_id,
                       size_t *n)
{
	struct gw_sts_xml x = {0};
	gw_sts_xml_raw(&x, "<ErrorResponse xmlns=\"" GW_STS_NAMESPACE "\">\n  <Error>\n    ");
	gw_sts_xml_elem(&x, "Type", status >= 500 ? "Receiver" : "Sender");
	gw_sts_xml_raw(&x, "\n    ");
	gw_sts_xml_elem(&x, "Code", code);
	gw_sts_xml_raw(&x, "\n    ");
	gw_sts_xml_elem(&x, "Message", message);
	gw_sts_xml_raw(&x, "\n  </Error>\n  ");
	gw_sts_xml_elem(&x, "RequestId", request_id ? request_id : "");
	gw_sts_xml_raw(&x, "\n</ErrorResponse>\n");
	*n = 0;
	if (x.oom || !x.p) {
		gw_sts_xml_free(&x);
		return NULL;
	}
	*n = x.n;
	return x.p;
}

/* ---- decode ---- */

static bool in_set(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(extra, c) != NULL);
}

static bool pattern_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], extra))
			return false;
	return true;
}

/* Tag keys and values: letters, digits, white space and _.:/=+-@; any
 * non-ASCII UTF-8 is taken for a letter (\p{L}). */
static bool tag_text_ok(const char *s, size_t min, size_t max)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80)
			chars++;
		if (*p >= 0x80)
			continue;
		if (!in_set((char)*p, " _.:/=+-@"))
			return false;
	}
	return chars >= min && chars <= max;
}

/* Characters of UTF-8 text, and whether every one is in sessionPolicyDocumentType
 * ([\t\n\r\x20-\xFF]). */
static bool policy_text_ok(const char *s, size_t *chars)
{
	*chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80)
			(*chars)++;
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	}
	return true;
}

/* "Tags.member.12.Key" -> 12 with rest "Key"; 0 when name is not prefix.N.rest. */
static size_t member_index(const char *name, const char *prefix, const char **rest)
{
	size_t pn = strlen(prefix);
	if (strncmp(name, prefix, pn) != 0)
		return 0;
	const char *p = name + pn;
	if (*p < '1' || *p > '9')
		return 0;
	size_t v = 0;
	while (*p >= '0' && *p <= '9' && v < 1000)
		v = v * 10 + (size_t)(*p++ - '0');
	if (v >= 1000)
		return 0;
	if (*p == '.')
		*rest = p + 1;
	else if (*p == '\0')
		*rest = p;
	else
		return 0;
	return v;
}

static bool parse_int(const char *s, int64_t *out)
{
	if (!*s || strlen(s) > 9)
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return true;
}

static int decode_lists(struct gw_sts_call *c, const char *rid, struct gw_sts_response *resp)
{
	for (size_t i = 0; i < c->form.n; i++) {
		const char *name = c->form.params[i].name;
		const char *value = c->form.params[i].value;
		const char *rest = NULL;
		size_t k;
		if ((k = member_index(name, "PolicyArns.member.", &rest)) != 0) {
			if (c->op == OP_GET_CALLER_IDENTITY || strcmp(rest, "arn") != 0)
				return GW_STS_VALIDATION(resp, rid,
				                         "The parameter %.80s is not known.", name);
			if (k > POLICY_ARNS_MAX)
				return gw_sts_fail(
				    resp, rid, 400, "ValidationError",
				    "1 validation error detected: Value at 'policyArns' "
				    "failed to satisfy constraint: Member must have length "
				    "less than or equal to %d",
				    POLICY_ARNS_MAX);
			c->policy_arns[k - 1] = value;
			if (k > c->n_policy_arns)
				c->n_policy_arns = k;
		} else if ((k = member_index(name, "Tags.member.", &rest)) != 0) {
			if (c->op != OP_ASSUME_ROLE ||
			    (strcmp(rest, "Key") != 0 && strcmp(rest, "Value") != 0))
				return GW_STS_VALIDATION(resp, rid,
				                         "The parameter %.80s is not known.", name);
			if (k > STORE_STS_TAGS_MAX)
				return GW_STS_VALIDATION(
				    resp, rid,
				    "1 validation error detected: Value at 'tags' failed to "
				    "satisfy constraint: Member must have length less than "
				    "or equal to %d",
				    STORE_STS_TAGS_MAX);
			if (rest[0] == 'K')
				c->tags[k - 1].key = value;
			else
				c->tags[k - 1].value = value;
			if (k > c->n_tags)
				c->n_tags = k;
		} else if ((k = member_index(name, "TransitiveTagKeys.member.", &rest)) != 0) {
			if (c->op != OP_ASSUME_ROLE || rest[0] != '\0')
				return GW_STS_VALIDATION(resp, rid,
				                         "The parameter %.80s is not known.", name);
			if (k > STORE_STS_TAGS_MAX)
				return GW_STS_VALIDATION(
				    resp, rid,
				    "1 validation error detected: Value at "
				    "'transitiveTagKeys' failed to satisfy constraint: Member "
				    "must have length less than or equal to %d",
				    STORE_STS_TAGS_MAX);
			c->transitive[k - 1] = value;
			if (k > c->n_transitive)
				c->n_transitive = k;
		}
	}
	for (size_t i = 0; i < c->n_policy_arns; i++)
		if (!c->policy_arns[i] || strlen(c->policy_arns[i]) < 20 ||
		    strlen(c->policy_arns[i]) > ROLE_ARN_MAX)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "PolicyArns.member.%zu.arn is missing or not a valid ARN "
			    "(members are numbered from 1 without gaps).",
			    i + 1);
	for (size_t i = 0; i < c->n_tags; i++) {
		if (!c->tags[i].key || !c->tags[i].value)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "Tags.member.%zu needs both Key and Value (members are "
			    "numbered from 1 without gaps).",
			    i + 1);
		if (!tag_text_ok(c->tags[i].key, 1, GW_IAM_TAG_KEY_MAX) ||
		    !tag_text_ok(c->tags[i].value, 0, GW_IAM_TAG_VALUE_MAX))
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at "
			    "'tags.%zu.member' failed to satisfy constraint: keys are 1 "
			    "to 128 and values 0 to 256 characters of "
			    "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]",
			    i + 1);
		if (strncasecmp(c->tags[i].key, "aws:", 4) == 0)
			return GW_STS_VALIDATION(resp, rid,
			                         "Session tag keys may not begin with aws:.");
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(c->tags[i].key, c->tags[j].key) == 0)
				return GW_STS_VALIDATION(
				    resp, rid,
				    "Duplicate tag keys found. Tag keys are case "
				    "insensitive.");
	}
	for (size_t i = 0; i < c->n_transitive; i++) {
		if (!c->transitive[i])
			return GW_STS_VALIDATION(
			    resp, rid,
			    "TransitiveTagKeys.member.%zu is missing (members are "
			    "numbered from 1 without gaps).",
			    i + 1);
		bool found = false;
		for (size_t j = 0; j < c->n_tags; j++) {
			if (strcasecmp(c->transitive[i], c->tags[j].key) == 0) {
				c->tags[j].transitive = true;
				found = true;
			}
		}
		if (!found)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "The transitive tag key %.128s is not among the session "
			    "tags.",
			    c->transitive[i]);
	}
	return 0;
}

static bool known_param(enum gw_sts_op op, const char *name)
{
	static const char *const common[] = {"Action", "Version"};
	static const char *const ar[] = {"RoleArn",         "RoleSessionName", "Policy",
	                                 "DurationSeconds", "ExternalId",      "SourceIdentity",
	                                 "SerialNumber",    "TokenCode"};
	static const char *const web[] = {"RoleArn",         "RoleSessionName",  "Policy",
	                                  "DurationSeconds", "WebIdentityToken", "ProviderId"};
	for (size_t i = 0; i < 2; i++)
		if (strcmp(name, common[i]) == 0)
			return true;
	/* SigV4 presigned parameters travel in the same query string. */
	if (strncasecmp(name, "X-Amz-", 6) == 0)
		return true;
	if (strncmp(name, "PolicyArns.member.", 18) == 0 ||
	    strncmp(name, "Tags.member.", 12) == 0 ||
	    strncmp(name, "TransitiveTagKeys.member.", 25) == 0)
		return op != OP_GET_CALLER_IDENTITY;
	if (op == OP_ASSUME_ROLE)
		for (size_t i = 0; i < sizeof(ar) / sizeof(ar[0]); i++)
			if (strcmp(name, ar[i]) == 0)
				return true;
	if (op == OP_ASSUME_ROLE_WEB)
		for (size_t i = 0; i < sizeof(web) / sizeof(web[0]); i++)
			if (strcmp(name, web[i]) == 0)
				return true;
	return false;
}

static int decode_params(struct gw_sts_call *c, const char *rid, struct gw_sts_response *resp)
{
	const struct gw_sts_form *f = &c->form;
	for (size_t i = 0; i < f->n; i++)
		if (!known_param(c->op, f->params[i].name))
			return GW_STS_VALIDATION(resp, rid,
			                         "The parameter %.80s is not known to %s.",
			                         f->params[i].name, op_names[c->op]);
	if (c->op == OP_GET_CALLER_IDENTITY)
		return 0;

	c->role_arn = gw_sts_form_get(f, "RoleArn");
	c->session_name = gw_sts_form_get(f, "RoleSessionName");
	if (!c->role_arn)
		return GW_STS_VALIDATION(resp, rid,
		                         "1 validation error detected: Value null at 'roleArn' "
		                         "failed to satisfy constraint: Member must not be null");
	if (!c->session_name)
		return GW_STS_VALIDATION(resp, rid,
		                         "1 validation error detected: Value null at "
		                         "'roleSessionName' failed to satisfy constraint: Member "
		                         "must not be null");
	size_t an = strlen(c->role_arn);
	if (an < 20 || an > ROLE_ARN_MAX || strncmp(c->role_arn, "arn:aws:iam::", 13) != 0 ||
	    !strstr(c->role_arn, ":role/"))
		return GW_STS_VALIDATION(resp, rid,
		                         "RoleArn is not the ARN of a role "
		                         "(arn:aws:iam::<account>:role/<name>).");
	if (!gw_sts_session_name_ok(c->session_name, strlen(c->session_name)))
		return GW_STS_VALIDATION(
		    resp, rid,
		    "1 validation error detected: Value at 'roleSessionName' failed "
		    "to satisfy constraint: Member must have length 2 to 64 and "
		    "match the regular expression pattern: [\\w+=,.@-]*");
	c->policy = gw_sts_form_get(f, "Policy");
	if (c->policy) {
		size_t chars = 0;
		if (!policy_text_ok(c->policy, &chars) || chars < 1)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at 'policy' failed to "
			    "satisfy constraint: Member must satisfy regular expression "
			    "pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
		if (chars > GW_STS_POLICY_MAX)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at 'policy' failed to "
			    "satisfy constraint: Member must have length less than or "
			    "equal to %d",
			    GW_STS_POLICY_MAX);
	}
	const char *d = gw_sts_form_get(f, "DurationSeconds");
	if (d) {
		if (!parse_int(d, &c->duration) || c->duration < GW_STS_DURATION_MIN ||
		    c->duration > GW_IAM_SESSION_MAX)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at 'durationSeconds' "
			    "failed to satisfy constraint: Member must be an integer from "
			    "%d to %d",
			    GW_STS_DURATION_MIN, GW_IAM_SESSION_MAX);
		c->has_duration = true;
	}
	if (c->op == OP_ASSUME_ROLE) {
		c->external_id = gw_sts_form_get(f, "ExternalId");
		if (c->external_id && !pattern_ok(c->external_id, 2, EXTERNAL_ID_MAX, "_+=,.@:/-"))
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at 'externalId' failed "
			    "to satisfy constraint: Member must have length 2 to 1224 and "
			    "match the regular expression pattern: [\\w+=,.@:\\/-]*");
		c->source_identity = gw_sts_form_get(f, "SourceIdentity");
		if (c->source_identity &&
		    (!pattern_ok(c->source_identity, 2, GW_STS_SOURCE_IDENTITY_MAX, "_+=,.@-") ||
		     strncasecmp(c->source_identity, "aws:", 4) == 0))
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at 'sourceIdentity' "
			    "failed to satisfy constraint: Member must have length 2 to "
			    "64, match [\\w+=,.@-]* and not begin with aws:");
		if (gw_sts_form_get(f, "SerialNumber") || gw_sts_form_get(f, "TokenCode"))
			return GW_STS_VALIDATION(
			    resp, rid,
			    "taskgate has no MFA devices: SerialNumber and TokenCode are "
			    "not accepted.");
	} else {
		c->web_token = gw_sts_form_get(f, "WebIdentityToken");
		if (!c->web_token)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value null at "
			    "'webIdentityToken' failed to satisfy constraint: Member must "
			    "not be null");
		c->web_token_n = strlen(c->web_token);
		if (c->web_token_n < 4 || c->web_token_n > WEB_TOKEN_MAX)
			return GW_STS_VALIDATION(
			    resp, rid,
			    "1 validation error detected: Value at 'webIdentityToken' "
			    "failed to satisfy constraint: Member must have length 4 to "
			    "%d",
			    WEB_TOKEN_MAX);
		if (gw_sts_form_get(f, "ProviderId"))
			return GW_STS_VALIDATION(
			    resp, rid,
			    "ProviderId is for OAuth 2.0 access tokens; taskgate accepts "
			    "OpenID Connect ID tokens only: leave it out.");
	}
	return decode_lists(c, rid, resp);
}

static int op_of(const char *action)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(action, op_names[i]) == 0)
			return (int)i;
	return -1;
}

int gw_sts_call_decode(const char *params, size_t params_n, const char *request_id,
                       struct gw_sts_call **out, struct gw_sts_response *resp)
{
	*out = NULL;
	memset(resp, 0, sizeof(*resp));
	if (params_n > GW_STS_BODY_MAX)
		return gw_sts_fail(resp, request_id, 400, "ValidationError",
		                   "The parameters are longer than %u bytes.", GW_STS_BODY_MAX);
	struct gw_sts_call *c = calloc(1, sizeof(*c));
	if (!c)
		return gw_sts_fail(resp, request_id, 500, "InternalFailure", "Out of memory.");
	char why[160];
	if (gw_sts_form_parse(params ? params : "", params_n, &c->form, why, sizeof(why)) != 0) {
		free(c);
		return gw_sts_fail(resp, request_id, 400, "MalformedQueryString",
		                   "The parameters are not valid form encoding: %s.", why);
	}
	const char *action = gw_sts_form_get(&c->form, "Action");
	int op = action ? op_of(action) : -1;
	int rc;
	if (!action) {
		rc = gw_sts_fail(resp, request_id, 400, "MissingAction",
		                 "The request names no Action.");
	} else if (op < 0) {
		rc = gw_sts_fail(resp, request_id, 400, "InvalidAction",
		                 "Could not find operation %.64s for version " GW_STS_VERSION ".",
		                 action);
	} else {
		c->op = (enum gw_sts_op)op;
		resp->action = op_names[op];
		const char *v = gw_sts_form_get(&c->form, "Version");
		if (!v)
			rc = gw_sts_fail(resp, request_id, 400, "MissingParameter",
			                 "The request must contain the parameter Version.");
		else if (strcmp(v, GW_STS_VERSION) != 0)
			rc = gw_sts_fail(resp, request_id, 400, "InvalidAction",
			                 "Could not find operation %s for version %.32s.",
			                 op_names[op], v);
		else
			rc = decode_params(c, request_id, resp);
	}
	if (rc != 0) {
		gw_sts_call_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

const char *gw_sts_call_action(const struct gw_sts_call *c)
{
	return c ? op_names[c->op] : NULL;
}

char *gw_sts_call_audit_params(const struct gw_sts_call *c)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = 0;
	for (size_t i = 0; i < c->form.n; i++) {
		const char *name = c->form.params[i].name;
		if (strcmp(name, "Action") == 0 || strcmp(name, "Version") == 0 ||
		    strcmp(name, "WebIdentityToken") == 0 || strcmp(name, "TokenCode") == 0 ||
		    strncasecmp(name, "X-Amz-", 6) == 0)
			continue;
		/* values were checked as text; lossy only for bytes jansson refuses */
		json_t *v = json_stringn(c->form.params[i].value, c->form.params[i].value_n);
		if (!v)
			v = json_string("(not UTF-8)");
		bad |= json_object_set_new(o, name, v);
	}
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

void gw_sts_call_free(struct gw_sts_call *c)
{
	if (!c)
		return;
	gw_sts_form_free(&c->form);
	if (c->has_claims)
		gw_jwt_claims_free(&c->claims);
	free(c->session_policy);
	if (c->has_inherited)
		store_sts_session_free(&c->inherited);
	gw_iam_unref(c->iam);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

bool gw_sts_is_unsigned_action(const char *params, size_t params_n)
{
	struct gw_sts_form f;
	char why[64];
	if (gw_sts_form_parse(params ? params : "", params_n, &f, why, sizeof(why)) != 0)
		return false;
	const char *a = gw_sts_form_get(&f, "Action");
	bool yes = a && strcmp(a, "AssumeRoleWithWebIdentity") == 0;
	gw_sts_form_free(&f);
	return yes;
}
