/*
 * iam_file.c - the IAM file: parse it, check every rule, and turn it into the
 * canonical state that apply writes (docs/iam.md describes the format).
 *
 * The file is the whole truth about the account, so a fault anywhere refuses
 * all of it, and an operator should see every fault in one run rather than one
 * per run: the walk below never stops at the first error. Each diagnostic
 * carries its place in the file as a path ("roles[2].inline_policies.orders"),
 * and a policy's own diagnostics from policy_compile() are appended to that
 * path ("...orders.Statement[0].Action"), so the message points at the line an
 * author has to change.
 *
 * What is checked: the JSON itself (duplicate keys refused, unknown keys
 * refused so a typo is not silently ignored), AWS's rules for names, paths,
 * descriptions and tags, the limits in iam.h, every policy compiled as the type
 * it will be evaluated as, references (attachments, boundaries, host mappings)
 * that resolve within the file, duplicates (names compare without case, as
 * IAM's do), and the files the IAM file points at: key sets must load and
 * secret files must be private. Nothing here touches the store.
 *
 * Documents are kept as canonical JSON (compact, keys sorted): two files that
 * differ only in white space or key order describe the same state, and apply
 * sees no change between them.
 *
 * This file holds the account's own entities (managed policies, roles, users
 * and their access keys) and the top of the file; the walking and checking
 * tools are in iam_walk.c, issuers and host mappings in iam_file_oidc.c.
 */
#include "gateway/iam_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

/* ---- managed policies ---- */

static const struct store_iam_managed_policy *
find_policy_ref(struct gw_iam_walk *w, const struct store_iam *st, const char *ref)
{
	const char *acc, *path, *name;
	size_t acc_n, path_n, name_n;
	if (strncmp(ref, "arn:", 4) == 0) {
		if (!gw_iam_arn_split(ref, strlen(ref), "policy", &acc, &acc_n, &path, &path_n,
		                      &name, &name_n)) {
			gw_iam_err(w,
			           "\"%s\" is not a managed policy ARN "
			           "(arn:aws:iam::<account>:policy/...)",
			           ref);
			return NULL;
		}
		if (acc_n == 3 && memcmp(acc, "aws", 3) == 0) {
			gw_iam_err(
			    w,
			    "\"%s\" is an AWS managed policy; taskgate knows only the managed "
			    "policies in this file",
			    ref);
			return NULL;
		}
		if (!w->account || acc_n != strlen(w->account) ||
		    memcmp(acc, w->account, acc_n) != 0) {
			gw_iam_err(w, "\"%s\" names another account than this file's", ref);
			return NULL;
		}
		for (size_t i = 0; i < st->n_policies; i++) {
			const struct store_iam_managed_policy *m = &st->policies[i];
			if (strlen(m->name) == name_n && strncasecmp(m->name, name, name_n) == 0) {
				if (strlen(m->path) != path_n ||
				    memcmp(m->path, path, path_n) != 0) {
					gw_iam_err(w, "\"%s\": managed policy %s has path %s", ref,
					           m->name, m->path);
					return NULL;
				}
				return m;
			}
		}
	} else {
		for (size_t i = 0; i < st->n_policies; i++) {
			if (strcasecmp(st->policies[i].name, ref) == 0)
				return &st->policies[i];
		}
	}
	gw_iam_err(w, "no managed policy \"%s\" in managed_policies", ref);
	return NULL;
}

static void parse_managed_policy(struct gw_iam_walk *w, json_t *o, struct store_iam *st)
{
	static const char *const known[] = {"name", "path", "description", "versions", NULL};
	gw_iam_keys_known(w, o, known);
	const char *name = gw_iam_get_str(w, o, "name", true);
	const char *path = gw_iam_get_str(w, o, "path", false);
	const char *desc = gw_iam_get_str(w, o, "description", false);
	json_t *versions = gw_iam_get_typed(w, o, "versions", JSON_ARRAY, true);
	bool ok = name && versions;
	if (name && !gw_iam_name_ok(name, GW_IAM_POLICY_NAME_MAX)) {
		size_t s = gw_iam_push_key(w, "name");
		gw_iam_err(w, "a policy name is 1 to %d characters of letters, digits and _+=,.@-",
		           GW_IAM_POLICY_NAME_MAX);
		gw_iam_pop(w, s);
		ok = false;
	}
	if (name) {
		for (size_t i = 0; i < st->n_policies; i++) {
			if (strcasecmp(st->policies[i].name, name) == 0) {
				size_t s = gw_iam_push_key(w, "name");
				gw_iam_err(
				    w,
				    "a managed policy named \"%s\" is already defined (names "
				    "compare without case)",
				    st->policies[i].name);
				gw_iam_pop(w, s);
				ok = false;
			}
		}
	}
	if (path && !gw_iam_path_ok(path)) {
		size_t s = gw_iam_push_key(w, "path");
		gw_iam_err(w,
		           "a path is \"/\" or starts and ends with \"/\", at most %d printable "
		           "ASCII characters",
		           GW_IAM_PATH_MAX);
		gw_iam_pop(w, s);
	}
	if (desc && !gw_iam_description_ok(desc)) {
		size_t s = gw_iam_push_key(w, "description");
		gw_iam_err(w, "a description is at most %d characters, without control characters",
		           GW_IAM_DESCRIPTION_MAX);
		gw_iam_pop(w, s);
	}
	struct store_iam_managed_policy m = {0};
	size_t defaults = 0;
	if (versions) {
		size_t s = gw_iam_push_key(w, "versions");
		size_t nv = json_array_size(versions);
		if (nv == 0 || nv > GW_IAM_VERSIONS_MAX)
			gw_iam_err(w, "a managed policy has 1 to %d versions", GW_IAM_VERSIONS_MAX);
		for (size_t i = 0; i < nv; i++) {
			json_t *v = json_array_get(versions, i);
			size_t s2 = gw_iam_push_index(w, i);
			if (!json_is_object(v)) {
				gw_iam_err(w, "must be an object, not %s", gw_iam_json_kind(v));
				gw_iam_pop(w, s2);
				continue;
			}
			static const char *const vknown[] = {"id", "document", "default", NULL};
			gw_iam_keys_known(w, v, vknown);
			const char *id = gw_iam_get_str(w, v, "id", true);
			json_t *def = json_object_get(v, "default");
			if (def && !json_is_boolean(def)) {
				size_t s3 = gw_iam_push_key(w, "default");
				gw_iam_err(w, "must be true or false");
				gw_iam_pop(w, s3);
			} else if (def && json_is_true(def)) {
				defaults++;
				if (id) {
					free(m.default_version);
					m.default_version = gw_iam_sdup(w, id);
				}
			}
			if (id && !gw_iam_version_id_ok(id)) {
				size_t s3 = gw_iam_push_key(w, "id");
				gw_iam_err(
				    w, "a version id is \"v\" and a number: \"v1\", \"v2\", ...");
				gw_iam_pop(w, s3);
				id = NULL;
			}
			for (size_t j = 0; id && j < m.n_versions; j++) {
				if (strcmp(m.versions[j].name, id) == 0) {
					size_t s3 = gw_iam_push_key(w, "id");
					gw_iam_err(w, "version \"%s\" is defined twice", id);
					gw_iam_pop(w, s3);
					id = NULL;
				}
			}
			json_t *doc = json_object_get(v, "document");
			char *text = NULL;
			if (!doc) {
				size_t s3 = gw_iam_push_key(w, "document");
				gw_iam_err(w, "is required");
				gw_iam_pop(w, s3);
			} else {
				size_t s3 = gw_iam_push_key(w, "document");
				text = gw_iam_compile_doc(w, doc, POLICY_IDENTITY, true,
				                          name ? name : "", NULL);
				gw_iam_pop(w, s3);
			}
			if (id && text &&
			    gw_iam_grow(w, (void **)&m.versions, m.n_versions,
			                sizeof(*m.versions))) {
				m.versions[m.n_versions].name = gw_iam_sdup(w, id);
				m.versions[m.n_versions++].document = text;
				text = NULL;
			}
			free(text);
			gw_iam_pop(w, s2);
		}
		if (nv > 0 && defaults != 1)
			gw_iam_err(w, "exactly one version must have \"default\": true (found %zu)",
			           defaults);
		gw_iam_pop(w, s);
	}
	m.name = gw_iam_sdup(w, name);
	m.path = gw_iam_sdup(w, path ? path : "/");
	m.description = gw_iam_sdup(w, desc ? desc : "");
	if (ok && gw_iam_grow(w, (void **)&st->policies, st->n_policies, sizeof(*st->policies))) {
		st->policies[st->n_policies++] = m;
	} else {
		/* Not kept: free what was built. */
		free(m.name);
		free(m.path);
		free(m.description);
		free(m.default_version);
		for (size_t i = 0; i < m.n_versions; i++) {
			free(m.versions[i].name);
			free(m.versions[i].document);
		}
		free(m.versions);
	}
}

/* ---- roles and users ---- */

static void free_principal(struct store_iam_principal *p)
{
	free(p->name);
	free(p->unique_id);
	free(p->path);
	free(p->description);
	free(p->trust_policy);
	free(p->permissions_boundary);
	for (size_t i = 0; i < p->n_inline; i++) {
		free(p->inline_policies[i].name);
		free(p->inline_policies[i].document);
	}
	free(p->inline_policies);
	for (size_t i = 0; i < p->n_managed; i++)
		free(p->managed_policies[i]);
	free(p->managed_policies);
	for (size_t i = 0; i < p->n_tags; i++) {
		free(p->tags[i].key);
		free(p->tags[i].value);
	}
	free(p->tags);
	memset(p, 0, sizeof(*p));
}

struct secrets {
	struct gw_iam_key_secret *v; /* aligned with st->access_keys */
};

/*
 * Reads a secret access key from a file only its owner may read: 40
 * characters of [A-Za-z0-9+/], optionally followed by one newline.
 */
static void read_secret_file(struct gw_iam_walk *w, const char *path, struct gw_secret *out)
{
	char *full = gw_iam_join_path(w, path);
	if (!full)
		return;
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		gw_iam_err(w, "cannot open %s: %s", full, strerror(errno));
		free(full);
		return;
	}
	struct stat sb;
	unsigned char buf[GW_SECRET_ACCESS_KEY_LEN + 2];
	ssize_t got = -1;
	if (fstat(fd, &sb) != 0) {
		gw_iam_err(w, "cannot stat %s: %s", full, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		gw_iam_err(w, "%s is not a regular file", full);
	} else if ((sb.st_mode & 077) != 0) {
		gw_iam_err(w,
		           "%s has mode %04o: a secret file must be readable by its owner only "
		           "(run: chmod 600 %s)",
		           full, (unsigned)(sb.st_mode & 07777), full);
	} else if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		gw_iam_err(w, "%s belongs to user %u, not to this user or root", full,
		           (unsigned)sb.st_uid);
	} else {
		size_t n = 0;
		for (;;) {
			ssize_t r = read(fd, buf + n, sizeof(buf) - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				got = r < 0 ? -1 : (ssize_t)n;
				break;
			}
			n += (size_t)r;
			if (n == sizeof(buf)) {
				got = (ssize_t)n;
				break;
			}
		}
		if (got < 0)
			gw_iam_err(w, "cannot read %s: %s", full, strerror(errno));
	}
	close(fd);
	if (got >= 0) {
		size_t n = (size_t)got;
		if (n == GW_SECRET_ACCESS_KEY_LEN + 1 && buf[n - 1] == '\n')
			n--;
		bool ok = n == GW_SECRET_ACCESS_KEY_LEN;
		for (size_t i = 0; ok && i < n; i++) {
			unsigned char c = buf[i];
			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/';
		}
		if (!ok)
			gw_iam_err(
			    w,
			    "%s must hold a secret access key: 40 characters of A-Z a-z 0-9 + / "
			    "and at most one newline",
			    full);
		else if (gw_secret_alloc(out, n + 1) != GW_SECRET_OK)
			w->oom = true;
		else {
			memcpy(out->p, buf, n);
			out->n = n;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	free(full);
}

static void parse_access_keys(struct gw_iam_walk *w, json_t *o, const char *user,
                              struct store_iam *st, struct secrets *sec)
{
	json_t *keys = gw_iam_get_typed(w, o, "access_keys", JSON_ARRAY, false);
	if (!keys)
		return;
	size_t s = gw_iam_push_key(w, "access_keys");
	if (json_array_size(keys) > GW_IAM_ACCESS_KEYS_MAX)
		gw_iam_err(w, "a user has at most %d access keys", GW_IAM_ACCESS_KEYS_MAX);
	for (size_t i = 0; i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i);
		size_t s2 = gw_iam_push_index(w, i);
		if (!json_is_object(k)) {
			gw_iam_err(w, "must be an object, not %s", gw_iam_json_kind(k));
			gw_iam_pop(w, s2);
			continue;
		}
		static const char *const known[] = {"id", "status", "secret_file", NULL};
		gw_iam_keys_known(w, k, known);
		const char *id = gw_iam_get_str(w, k, "id", true);
		const char *status = gw_iam_get_str(w, k, "status", false);
		const char *secret_file = gw_iam_get_str(w, k, "secret_file", false);
		bool ok = id != NULL;
		if (id && !gw_iam_access_key_id_ok(id)) {
			size_t s3 = gw_iam_push_key(w, "id");
			gw_iam_err(w, "an access key id is \"AKIA\" and 16 characters of A-Z 0-9");
			gw_iam_pop(w, s3);
			ok = false;
		}
		for (size_t j = 0; id && j < st->n_access_keys; j++) {
			if (strcmp(st->access_keys[j].id, id) == 0) {
				size_t s3 = gw_iam_push_key(w, "id");
				gw_iam_err(w, "access key %s is already given to user %s", id,
				           st->access_keys[j].user);
				gw_iam_pop(w, s3);
				ok = false;
			}
		}
		if (status && strcmp(status, "Active") != 0 && strcmp(status, "Inactive") != 0) {
			size_t s3 = gw_iam_push_key(w, "status");
			gw_iam_err(w, "must be \"Active\" or \"Inactive\"");
			gw_iam_pop(w, s3);
			ok = false;
		}
		struct gw_secret secret = {0};
		if (secret_file) {
			size_t s3 = gw_iam_push_key(w, "secret_file");
			size_t before = w->d->errors;
			read_secret_file(w, secret_file, &secret);
			ok = ok && w->d->errors == before;
			gw_iam_pop(w, s3);
		}
		if (ok && user &&
		    gw_iam_grow(w, (void **)&st->access_keys, st->n_access_keys,
		                sizeof(*st->access_keys))) {
			/* sec->v grows in step with st->access_keys, by the same rule. */
			if (!gw_iam_grow(w, (void **)&sec->v, st->n_access_keys, sizeof(*sec->v))) {
				gw_secret_free(&secret);
				gw_iam_pop(w, s2);
				continue;
			}
			struct store_iam_access_key *a = &st->access_keys[st->n_access_keys];
			memset(a, 0, sizeof(*a));
			a->id = gw_iam_sdup(w, id);
			a->user = gw_iam_sdup(w, user);
			a->active = !status || strcmp(status, "Active") == 0;
			sec->v[st->n_access_keys].secret_file = gw_iam_sdup(w, secret_file);
			sec->v[st->n_access_keys].secret = secret;
			st->n_access_keys++;
		} else {
			gw_secret_free(&secret);
		}
		gw_iam_pop(w, s2);
	}
	gw_iam_pop(w, s);
}

static void parse_principal(struct gw_iam_walk *w, json_t *o, enum store_iam_kind kind,
                            struct store_iam *st, struct secrets *sec)
{
	static const char *const role_keys[] = {"name",
	                                        "path",
	                                        "description",
	                                        "trust_policy",
	                                        "inline_policies",
	                                        "managed_policies",
	                                        "permissions_boundary",
	                                        "tags",
	                                        "max_session_duration",
	                                        NULL};
	static const char *const user_keys[] = {"name",
	                                        "path",
	                                        "inline_policies",
	                                        "managed_policies",
	                                        "permissions_boundary",
	                                        "tags",
	                                        "access_keys",
	                                        NULL};
	bool role = kind == STORE_IAM_ROLE;
	const char *what = role ? "role" : "user";
	gw_iam_keys_known(w, o, role ? role_keys : user_keys);
	struct store_iam_principal p = {0};
	bool ok = true;

	const char *name = gw_iam_get_str(w, o, "name", true);
	ok = name != NULL;
	if (name && !gw_iam_name_ok(name, GW_IAM_ENTITY_NAME_MAX)) {
		size_t s = gw_iam_push_key(w, "name");
		gw_iam_err(w, "a %s name is 1 to %d characters of letters, digits and _+=,.@-",
		           what, GW_IAM_ENTITY_NAME_MAX);
		gw_iam_pop(w, s);
		ok = false;
	}
	struct store_iam_principal *list = role ? st->roles : st->users;
	size_t n_list = role ? st->n_roles : st->n_users;
	for (size_t i = 0; name && i < n_list; i++) {
		if (strcasecmp(list[i].name, name) == 0) {
			size_t s = gw_iam_push_key(w, "name");
			gw_iam_err(
			    w, "a %s named \"%s\" is already defined (names compare without case)",
			    what, list[i].name);
			gw_iam_pop(w, s);
			ok = false;
		}
	}
	const char *path = gw_iam_get_str(w, o, "path", false);
	if (path && !gw_iam_path_ok(path)) {
		size_t s = gw_iam_push_key(w, "path");
		gw_iam_err(w,
		           "a path is \"/\" or starts and ends with \"/\", at most %d printable "
		           "ASCII characters",
		           GW_IAM_PATH_MAX);
		gw_iam_pop(w, s);
	}
	const char *desc = role ? gw_iam_get_str(w, o, "description", false) : NULL;
	if (desc && !gw_iam_description_ok(desc)) {
		size_t s = gw_iam_push_key(w, "description");
		gw_iam_err(w, "a description is at most %d characters, without control characters",
		           GW_IAM_DESCRIPTION_MAX);
		gw_iam_pop(w, s);
	}
	p.name = gw_iam_sdup(w, name);
	p.path = gw_iam_sdup(w, path ? path : "/");
	p.description = gw_iam_sdup(w, desc ? desc : "");

	if (role) {
		json_t *trust = json_object_get(o, "trust_policy");
		size_t s = gw_iam_push_key(w, "trust_policy");
		if (!trust)
			gw_iam_err(w, "is required: it says who may assume the role");
		else
			p.trust_policy = gw_iam_compile_doc(w, trust, POLICY_TRUST, false,
			                                    name ? name : "", NULL);
		gw_iam_pop(w, s);
		gw_iam_get_int(w, o, "max_session_duration", GW_IAM_SESSION_MIN, GW_IAM_SESSION_MAX,
		               GW_IAM_SESSION_MIN, &p.max_session_duration);
	}

	json_t *inl = gw_iam_get_typed(w, o, "inline_policies", JSON_OBJECT, false);
	if (inl) {
		size_t s = gw_iam_push_key(w, "inline_policies");
		size_t total = 0;
		const char *pname;
		json_t *doc;
		json_object_foreach(inl, pname, doc)
		{
			size_t s2 = gw_iam_push_key(w, pname);
			bool pok = true;
			if (!gw_iam_name_ok(pname, GW_IAM_POLICY_NAME_MAX)) {
				gw_iam_err(
				    w,
				    "a policy name is 1 to %d characters of letters, digits and "
				    "_+=,.@-",
				    GW_IAM_POLICY_NAME_MAX);
				pok = false;
			}
			size_t chars = 0;
			char *text =
			    gw_iam_compile_doc(w, doc, POLICY_IDENTITY, false, pname, &chars);
			total += chars;
			if (pok && text &&
			    gw_iam_grow(w, (void **)&p.inline_policies, p.n_inline,
			                sizeof(*p.inline_policies))) {
				p.inline_policies[p.n_inline].name = gw_iam_sdup(w, pname);
				p.inline_policies[p.n_inline++].document = text;
				text = NULL;
			}
			free(text);
			gw_iam_pop(w, s2);
		}
		size_t limit = role ? GW_IAM_ROLE_INLINE_MAX : GW_IAM_USER_INLINE_MAX;
		if (total > limit)
			gw_iam_err(
			    w,
			    "the inline policies of a %s total %zu characters (white space not "
			    "counted); AWS allows at most %zu",
			    what, total, limit);
		gw_iam_pop(w, s);
	}

	json_t *att = gw_iam_get_typed(w, o, "managed_policies", JSON_ARRAY, false);
	if (att) {
		size_t s = gw_iam_push_key(w, "managed_policies");
		if (json_array_size(att) > GW_IAM_ATTACHED_MAX)
			gw_iam_err(w, "at most %d managed policies may be attached to one %s",
			           GW_IAM_ATTACHED_MAX, what);
		for (size_t i = 0; i < json_array_size(att); i++) {
			json_t *r = json_array_get(att, i);
			size_t s2 = gw_iam_push_index(w, i);
			if (!json_is_string(r)) {
				gw_iam_err(w, "must be a managed policy name or ARN, not %s",
				           gw_iam_json_kind(r));
			} else {
				const struct store_iam_managed_policy *m =
				    find_policy_ref(w, st, json_string_value(r));
				bool again = false;
				for (size_t j = 0; m && j < p.n_managed; j++)
					again =
					    again || strcmp(p.managed_policies[j], m->name) == 0;
				if (again)
					gw_iam_err(w, "managed policy %s is attached twice",
					           m->name);
				else if (m && gw_iam_grow(w, (void **)&p.managed_policies,
				                          p.n_managed, sizeof(*p.managed_policies)))
					p.managed_policies[p.n_managed++] = gw_iam_sdup(w, m->name);
			}
			gw_iam_pop(w, s2);
		}
		gw_iam_pop(w, s);
	}

	const char *boundary = gw_iam_get_str(w, o, "permissions_boundary", false);
	if (boundary) {
		size_t s = gw_iam_push_key(w, "permissions_boundary");
		const struct store_iam_managed_policy *m = find_policy_ref(w, st, boundary);
		if (m) {
			p.permissions_boundary = gw_iam_sdup(w, m->name);
			/* The boundary is evaluated as a boundary: compile its default version
			 * as one, so a document that is fine as an identity policy but not as
			 * a boundary is caught here rather than at snapshot time. */
			for (size_t i = 0; i < m->n_versions; i++) {
				if (m->default_version &&
				    strcmp(m->versions[i].name, m->default_version) == 0) {
					json_error_t je;
					json_t *doc = json_loads(m->versions[i].document, 0, &je);
					if (doc) {
						char *t = gw_iam_compile_doc(
						    w, doc, POLICY_BOUNDARY, true, m->name, NULL);
						free(t);
						json_decref(doc);
					} else {
						w->oom = true;
					}
				}
			}
		}
		gw_iam_pop(w, s);
	}

	gw_iam_parse_tags(w, o, &p.tags, &p.n_tags);
	if (!role)
		parse_access_keys(w, o, name, st, sec);

	struct store_iam_principal **dst = role ? &st->roles : &st->users;
	size_t *dn = role ? &st->n_roles : &st->n_users;
	if (ok && gw_iam_grow(w, (void **)dst, *dn, sizeof(**dst)))
		(*dst)[(*dn)++] = p;
	else
		free_principal(&p);
}

/* ---- the file ---- */

typedef void (*entry_fn)(struct gw_iam_walk *w, json_t *o, struct store_iam *st,
                         struct secrets *sec);

static void entry_policy(struct gw_iam_walk *w, json_t *o, struct store_iam *st,
                         struct secrets *sec)
{
	(void)sec;
	parse_managed_policy(w, o, st);
}

static void entry_role(struct gw_iam_walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	parse_principal(w, o, STORE_IAM_ROLE, st, sec);
}

static void entry_user(struct gw_iam_walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	parse_principal(w, o, STORE_IAM_USER, st, sec);
}

static void entry_issuer(struct gw_iam_walk *w, json_t *o, struct store_iam *st,
                         struct secrets *sec)
{
	(void)sec;
	gw_iam_parse_issuer(w, o, st);
}

static void entry_host(struct gw_iam_walk *w, json_t *o, struct store_iam *st, struct secrets *sec)
{
	(void)sec;
	gw_iam_parse_host_mapping(w, o, st);
}

static void parse_list(struct gw_iam_walk *w, json_t *root, const char *key, entry_fn fn,
                       struct store_iam *st, struct secrets *sec)
{
	json_t *arr = gw_iam_get_typed(w, root, key, JSON_ARRAY, false);
	if (!arr)
		return;
	size_t s = gw_iam_push_key(w, key);
	for (size_t i = 0; i < json_array_size(arr) && !w->oom; i++) {
		json_t *o = json_array_get(arr, i);
		size_t s2 = gw_iam_push_index(w, i);
		if (!json_is_object(o))
			gw_iam_err(w, "must be an object, not %s", gw_iam_json_kind(o));
		else
			fn(w, o, st, sec);
		gw_iam_pop(w, s2);
	}
	gw_iam_pop(w, s);
}

/* Sorts access keys by id with their secrets alongside (insertion sort: a
 * user has at most two keys, a file a few hundred). */
static void sort_keys(struct store_iam *st, struct gw_iam_key_secret *sec)
{
	for (size_t i = 1; i < st->n_access_keys; i++) {
		for (size_t j = i;
		     j > 0 && strcmp(st->access_keys[j - 1].id, st->access_keys[j].id) > 0; j--) {
			struct store_iam_access_key t = st->access_keys[j];
			st->access_keys[j] = st->access_keys[j - 1];
			st->access_keys[j - 1] = t;
			struct gw_iam_key_secret u = sec[j];
			sec[j] = sec[j - 1];
			sec[j - 1] = u;
		}
	}
}

void gw_iam_spec_free(struct gw_iam_spec *spec)
{
	if (!spec)
		return;
	for (size_t i = 0; spec->secrets && i < spec->state.n_access_keys; i++) {
		free(spec->secrets[i].secret_file);
		gw_secret_free(&spec->secrets[i].secret);
	}
	free(spec->secrets);
	store_iam_free(&spec->state);
	memset(spec, 0, sizeof(*spec));
}

int gw_iam_file_parse(const char *json, size_t n, const char *base_dir, struct gw_iam_spec *out,
                      struct gw_iam_diags *diags)
{
	memset(out, 0, sizeof(*out));
	memset(diags, 0, sizeof(*diags));
	struct gw_iam_walk w = {.d = diags, .base_dir = base_dir};
	if (!json || n > GW_IAM_FILE_MAX) {
		gw_iam_err(&w, "the IAM file is larger than %u bytes", GW_IAM_FILE_MAX);
		return GW_IAM_ERR_INVALID;
	}
	json_error_t je;
	json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		gw_iam_err(&w, "not valid JSON: line %d column %d: %s", je.line, je.column,
		           je.text);
		return w.oom ? GW_IAM_ERR_NOMEM : GW_IAM_ERR_INVALID;
	}
	struct store_iam *st = &out->state;
	struct secrets sec = {0};
	if (!json_is_object(root)) {
		gw_iam_err(&w, "the IAM file must be a JSON object, not %s",
		           gw_iam_json_kind(root));
	} else {
		static const char *const known[] = {
		    "account_id",   "managed_policies", "roles", "users",
		    "oidc_issuers", "host_mappings",    NULL};
		gw_iam_keys_known(&w, root, known);
		const char *acc = gw_iam_get_str(&w, root, "account_id", true);
		if (acc && !gw_iam_digits(acc, 12)) {
			size_t s = gw_iam_push_key(&w, "account_id");
			gw_iam_err(&w, "an account id is 12 digits");
			gw_iam_pop(&w, s);
		} else if (acc) {
			w.account = acc;
		}
		st->account_id = gw_iam_sdup(&w, acc);
		/* Policies first: roles and users refer to them, host mappings to roles. */
		parse_list(&w, root, "managed_policies", entry_policy, st, &sec);
		parse_list(&w, root, "roles", entry_role, st, &sec);
		parse_list(&w, root, "users", entry_user, st, &sec);
		parse_list(&w, root, "oidc_issuers", entry_issuer, st, &sec);
		parse_list(&w, root, "host_mappings", entry_host, st, &sec);
	}
	json_decref(root);
	out->secrets = sec.v;
	if (w.oom) {
		gw_iam_spec_free(out);
		return GW_IAM_ERR_NOMEM;
	}
	if (diags->errors > 0) {
		gw_iam_spec_free(out);
		return GW_IAM_ERR_INVALID;
	}
	sort_keys(st, out->secrets);
	gw_iam_state_sort(st);
	return GW_IAM_OK;
}
