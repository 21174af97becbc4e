/*
 * iam_file_oidc.c - the parts of the IAM file about signing in from outside:
 * OIDC token issuers (JWT bearer tokens) and the mapping of container hosts'
 * client certificates to roles (mutual TLS).
 *
 * An issuer is checked the way the server will use it: its key file is read
 * (relative to the IAM file) and loaded as a key set, and the whole issuer is
 * put through the verifier's own configuration check, so apply never stores
 * an issuer the server would refuse. The key file's content is stored with the
 * issuer: a running gateway does not read key files, and a rotated key shows
 * up as a change at the next apply.
 */
#include "gateway/iam_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- OIDC issuers ---- */

static bool read_text_file(struct gw_iam_walk *w, const char *full, size_t max, char **out)
{
	*out = NULL;
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		gw_iam_err(w, "cannot open %s: %s", full, strerror(errno));
		return false;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		gw_iam_err(w, "%s is not a regular file", full);
		close(fd);
		return false;
	}
	if ((uintmax_t)sb.st_size > max) {
		gw_iam_err(w, "%s is larger than %zu bytes", full, max);
		close(fd);
		return false;
	}
	size_t cap = (size_t)sb.st_size + 1, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		w->oom = true;
		close(fd);
		return false;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			gw_iam_err(w, "cannot read %s: %s", full, strerror(errno));
			free(buf);
			close(fd);
			return false;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max || n == cap) {
			gw_iam_err(w, "%s is larger than %zu bytes (or grew while read)", full,
			           max);
			free(buf);
			close(fd);
			return false;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		gw_iam_err(w, "%s contains a NUL byte: not a text key file", full);
		free(buf);
		return false;
	}
	*out = buf;
	return true;
}

void gw_iam_parse_issuer(struct gw_iam_walk *w, json_t *o, struct store_iam *st)
{
	static const char *const known[] = {"issuer",     "audiences",  "jwks_file", "pem_file",
	                                    "kid",        "algorithms", "leeway",    "max_lifetime",
	                                    "role_claim", "tag_claims", NULL};
	gw_iam_keys_known(w, o, known);
	struct store_iam_oidc_issuer is = {0};
	size_t errors_before = w->d->errors;

	const char *url = gw_iam_get_str(w, o, "issuer", true);
	if (url) {
		size_t s = gw_iam_push_key(w, "issuer");
		size_t n = strlen(url);
		bool ok = n > 8 && n <= GW_IAM_ISSUER_URL_MAX && strncmp(url, "https://", 8) == 0 &&
		          url[8] != '/';
		for (size_t i = 0; ok && i < n; i++)
			ok = url[i] > 0x20 && url[i] < 0x7F && url[i] != '?' && url[i] != '#';
		if (!ok)
			gw_iam_err(w,
			           "an issuer is an https:// URL of at most %d characters, without "
			           "query or fragment, as tokens carry it in \"iss\"",
			           GW_IAM_ISSUER_URL_MAX);
		for (size_t i = 0; i < st->n_issuers; i++) {
			if (strcmp(st->issuers[i].issuer, url) == 0)
				gw_iam_err(w, "issuer %s is already defined", url);
		}
		gw_iam_pop(w, s);
	}
	is.issuer = gw_iam_sdup(w, url);

	json_t *aud = gw_iam_get_typed(w, o, "audiences", JSON_ARRAY, true);
	if (aud) {
		size_t s = gw_iam_push_key(w, "audiences");
		if (json_array_size(aud) == 0 || json_array_size(aud) > GW_IAM_AUDIENCES_MAX)
			gw_iam_err(w, "an issuer has 1 to %d audiences", GW_IAM_AUDIENCES_MAX);
		for (size_t i = 0; i < json_array_size(aud); i++) {
			json_t *a = json_array_get(aud, i);
			size_t s2 = gw_iam_push_index(w, i);
			const char *v = json_is_string(a) ? json_string_value(a) : NULL;
			if (!v || strlen(v) != json_string_length(a) ||
			    !gw_iam_printable_ok(v, GW_IAM_AUDIENCE_MAX)) {
				gw_iam_err(w, "an audience is 1 to %d printable characters",
				           GW_IAM_AUDIENCE_MAX);
			} else {
				bool again = false;
				for (size_t j = 0; j < is.n_audiences; j++)
					again = again || strcmp(is.audiences[j], v) == 0;
				if (again)
					gw_iam_err(w, "audience \"%s\" is listed twice", v);
				else if (gw_iam_grow(w, (void **)&is.audiences, is.n_audiences,
				                     sizeof(*is.audiences)))
					is.audiences[is.n_audiences++] = gw_iam_sdup(w, v);
			}
			gw_iam_pop(w, s2);
		}
		gw_iam_pop(w, s);
	}

	/* Algorithms: a list of JOSE names, kept as one space-separated string. */
	unsigned algs = 0;
	json_t *alg = gw_iam_get_typed(w, o, "algorithms", JSON_ARRAY, false);
	char algtext[GW_JWT_ALG_COUNT * 8 + 1] = "";
	if (alg) {
		size_t s = gw_iam_push_key(w, "algorithms");
		if (json_array_size(alg) == 0)
			gw_iam_err(w, "list at least one algorithm, or leave the key out for every "
			              "asymmetric one");
		for (size_t i = 0; i < json_array_size(alg); i++) {
			json_t *a = json_array_get(alg, i);
			size_t s2 = gw_iam_push_index(w, i);
			const char *v = json_is_string(a) ? json_string_value(a) : "";
			int id = gw_jwt_alg_from_name(v, strlen(v));
			if (id < 0 || (GW_JWT_ALG_BIT(id) & GW_JWT_ALGS_ASYMMETRIC) == 0)
				gw_iam_err(
				    w, "\"%s\" is not one of RS256 RS384 RS512 ES256 ES384 ES512",
				    v);
			else if (algs & GW_JWT_ALG_BIT(id))
				gw_iam_err(w, "%s is listed twice", v);
			else
				algs |= GW_JWT_ALG_BIT(id);
			gw_iam_pop(w, s2);
		}
		gw_iam_pop(w, s);
	}
	for (int a = 0; a < GW_JWT_ALG_COUNT; a++) {
		if (algs & GW_JWT_ALG_BIT(a)) {
			size_t l = strlen(algtext);
			int n = snprintf(algtext + l, sizeof(algtext) - l, "%s%s", l ? " " : "",
			                 gw_jwt_alg_name((enum gw_jwt_alg)a));
			if (n < 0 || (size_t)n >= sizeof(algtext) - l)
				w->oom = true;
		}
	}
	is.algorithms = gw_iam_sdup(w, algtext);

	const char *jwks = gw_iam_get_str(w, o, "jwks_file", false);
	const char *pem = gw_iam_get_str(w, o, "pem_file", false);
	const char *kid = gw_iam_get_str(w, o, "kid", false);
	struct gw_jwks *keys = NULL;
	if ((jwks != NULL) == (pem != NULL)) {
		gw_iam_err(w, "an issuer needs exactly one of jwks_file and pem_file");
	} else {
		size_t s = gw_iam_push_key(w, jwks ? "jwks_file" : "pem_file");
		char *full = gw_iam_join_path(w, jwks ? jwks : pem);
		char *doc = NULL;
		if (full && read_text_file(w, full, GW_IAM_KEY_FILE_MAX, &doc)) {
			struct gw_jwt_error je = {0};
			int rc = jwks ? gw_jwks_parse(doc, strlen(doc), &keys, &je)
			              : gw_jwks_from_pem(doc, strlen(doc), kid, &keys, &je);
			if (rc != GW_JWT_OK)
				gw_iam_err(w, "%s: %s", full, je.message);
		}
		is.key_source = gw_iam_sdup(w, jwks ? "jwks_file" : "pem_file");
		is.key_path = gw_iam_sdup(w, jwks ? jwks : pem);
		is.key_document = doc;
		free(full);
		gw_iam_pop(w, s);
	}
	if (kid && jwks) {
		size_t s = gw_iam_push_key(w, "kid");
		gw_iam_err(w, "kid names a pem_file key; a JWKS names its own keys");
		gw_iam_pop(w, s);
	}
	if (kid && !gw_iam_printable_ok(kid, GW_IAM_CLAIM_NAME_MAX)) {
		size_t s = gw_iam_push_key(w, "kid");
		gw_iam_err(w, "a kid is 1 to %d printable characters", GW_IAM_CLAIM_NAME_MAX);
		gw_iam_pop(w, s);
	}
	is.key_kid = gw_iam_sdup(w, kid);

	gw_iam_get_int(w, o, "leeway", 0, GW_IAM_LEEWAY_MAX, GW_IAM_LEEWAY_DEFAULT, &is.leeway);
	gw_iam_get_int(w, o, "max_lifetime", GW_IAM_LIFETIME_MIN, GW_IAM_LIFETIME_MAX,
	               GW_IAM_LIFETIME_DEFAULT, &is.max_lifetime);

	const char *role_claim = gw_iam_get_str(w, o, "role_claim", false);
	if (role_claim && !gw_iam_printable_ok(role_claim, GW_IAM_CLAIM_NAME_MAX)) {
		size_t s = gw_iam_push_key(w, "role_claim");
		gw_iam_err(w, "a claim name is 1 to %d printable characters",
		           GW_IAM_CLAIM_NAME_MAX);
		gw_iam_pop(w, s);
	}
	is.role_claim = gw_iam_sdup(w, role_claim);

	json_t *tc = gw_iam_get_typed(w, o, "tag_claims", JSON_OBJECT, false);
	if (tc) {
		size_t s = gw_iam_push_key(w, "tag_claims");
		if (json_object_size(tc) > GW_IAM_TAGS_MAX)
			gw_iam_err(w, "at most %d claims may map to tags", GW_IAM_TAGS_MAX);
		const char *claim;
		json_t *tag;
		json_object_foreach(tc, claim, tag)
		{
			size_t s2 = gw_iam_push_key(w, claim);
			const char *t = json_is_string(tag) ? json_string_value(tag) : NULL;
			if (!gw_iam_printable_ok(claim, GW_IAM_CLAIM_NAME_MAX))
				gw_iam_err(w, "a claim name is 1 to %d printable characters",
				           GW_IAM_CLAIM_NAME_MAX);
			else if (!t || gw_iam_count_chars(t) == 0 ||
			         gw_iam_count_chars(t) > GW_IAM_TAG_KEY_MAX ||
			         !gw_iam_tag_chars_ok(t) || strncasecmp(t, "aws:", 4) == 0)
				gw_iam_err(
				    w,
				    "must name a principal tag key: 1 to %d characters of letters, "
				    "digits, spaces and _.:/=+-@, not starting with \"aws:\"",
				    GW_IAM_TAG_KEY_MAX);
			else {
				bool again = false;
				for (size_t j = 0; j < is.n_tag_claims; j++)
					again = again || strcasecmp(is.tag_claims[j].value, t) == 0;
				if (again)
					gw_iam_err(w, "two claims map to tag \"%s\"", t);
				else if (gw_iam_grow(w, (void **)&is.tag_claims, is.n_tag_claims,
				                     sizeof(*is.tag_claims))) {
					is.tag_claims[is.n_tag_claims].key = gw_iam_sdup(w, claim);
					is.tag_claims[is.n_tag_claims++].value = gw_iam_sdup(w, t);
				}
			}
			gw_iam_pop(w, s2);
		}
		gw_iam_pop(w, s);
	}

	/* The verifier's own check of the whole configuration, so that apply never
	 * stores an issuer the server would refuse at start. */
	if (w->d->errors == errors_before && is.issuer && is.n_audiences > 0 && keys) {
		struct gw_jwt_issuer cfg = {
		    .issuer = is.issuer,
		    .audiences = (const char *const *)is.audiences,
		    .n_audiences = is.n_audiences,
		    .keys = keys,
		    .hmac_secret = NULL,
		    .algs = algs,
		    .leeway = is.leeway,
		    .max_lifetime = is.max_lifetime,
		};
		struct gw_jwt_error je = {0};
		if (gw_jwt_issuer_check(&cfg, &je) != GW_JWT_OK)
			gw_iam_err(w, "%s", je.message);
	}
	gw_jwks_free(keys);

	if (w->d->errors == errors_before &&
	    gw_iam_grow(w, (void **)&st->issuers, st->n_issuers, sizeof(*st->issuers))) {
		st->issuers[st->n_issuers++] = is;
	} else {
		free(is.issuer);
		for (size_t i = 0; i < is.n_audiences; i++)
			free(is.audiences[i]);
		free(is.audiences);
		free(is.algorithms);
		free(is.key_source);
		free(is.key_path);
		free(is.key_kid);
		free(is.key_document);
		free(is.role_claim);
		for (size_t i = 0; i < is.n_tag_claims; i++) {
			free(is.tag_claims[i].key);
			free(is.tag_claims[i].value);
		}
		free(is.tag_claims);
	}
}

/* ---- host mappings (mutual TLS) ---- */

void gw_iam_parse_host_mapping(struct gw_iam_walk *w, json_t *o, struct store_iam *st)
{
	static const char *const known[] = {"subject_cn", "subject", "role", NULL};
	gw_iam_keys_known(w, o, known);
	const char *cn = gw_iam_get_str(w, o, "subject_cn", false);
	const char *dn = gw_iam_get_str(w, o, "subject", false);
	const char *role = gw_iam_get_str(w, o, "role", true);
	bool ok = role != NULL;
	if ((cn != NULL) == (dn != NULL)) {
		gw_iam_err(w, "a host mapping needs exactly one of subject_cn and subject");
		ok = false;
	}
	const char *match = cn ? "subject_cn" : "subject";
	const char *value = cn ? cn : dn;
	if (value && !gw_iam_printable_ok(value, GW_IAM_SUBJECT_MAX)) {
		size_t s = gw_iam_push_key(w, match);
		gw_iam_err(w, "is 1 to %d printable characters", GW_IAM_SUBJECT_MAX);
		gw_iam_pop(w, s);
		ok = false;
	}
	for (size_t i = 0; ok && value && i < st->n_host_mappings; i++) {
		if (strcmp(st->host_mappings[i].match, match) == 0 &&
		    strcmp(st->host_mappings[i].value, value) == 0) {
			size_t s = gw_iam_push_key(w, match);
			gw_iam_err(w, "\"%s\" is already mapped to role %s", value,
			           st->host_mappings[i].role);
			gw_iam_pop(w, s);
			ok = false;
		}
	}
	const char *role_name = NULL;
	if (role) {
		for (size_t i = 0; i < st->n_roles; i++) {
			if (strcasecmp(st->roles[i].name, role) == 0)
				role_name = st->roles[i].name;
		}
		if (!role_name) {
			size_t s = gw_iam_push_key(w, "role");
			gw_iam_err(w, "no role \"%s\" in roles", role);
			gw_iam_pop(w, s);
			ok = false;
		}
	}
	if (ok && value &&
	    gw_iam_grow(w, (void **)&st->host_mappings, st->n_host_mappings,
	                sizeof(*st->host_mappings))) {
		struct store_iam_host_mapping *h = &st->host_mappings[st->n_host_mappings++];
		h->match = gw_iam_sdup(w, match);
		h->value = gw_iam_sdup(w, value);
		h->role = gw_iam_sdup(w, role_name);
	}
}
