/*
 * docker_auth.c - registry credentials for image pulls: which registry an
 * image comes from, where its credentials are in a config.json-style file,
 * and the X-Registry-Auth header the Engine API takes them in.
 *
 * It is not a credential store: the docker CLI's credsStore and credHelpers
 * (programs that hand out credentials) are not run, and nothing is cached.
 * Every call reads the file, checks that it is still private, takes the one
 * entry it needs and wipes everything it read or made on the way: the file's
 * bytes, the parsed JSON's strings, the decoded "user:password". What it
 * returns is the caller's to wipe (dk_auth_free) once the request is sent.
 * Error messages name the file and what is wrong with it, never a value from
 * it: a JSON syntax error gives its line and column, not jansson's text,
 * which quotes the bytes near the error.
 */
#include "scheduler/docker_auth.h"
#include "scheduler/driver_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

void dk_auth_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static int copy_host(const char *p, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	return 0;
}

int dk_registry_host(const char *image, char *out, size_t cap)
{
	if (!image || !*image)
		return -1;
	const char *slash = strchr(image, '/');
	if (slash) {
		size_t n = (size_t)(slash - image);
		bool registry = (n == 9 && strncmp(image, "localhost", 9) == 0);
		for (size_t i = 0; i < n && !registry; i++)
			registry =
			    image[i] == '.' || image[i] == ':' || isupper((unsigned char)image[i]);
		if (registry) {
			if (copy_host(image, n, out, cap) < 0)
				return -1;
			/* "index.docker.io/library/x" is still Docker Hub */
			if (strcmp(out, "index.docker.io") == 0 ||
			    strcmp(out, "registry-1.docker.io") == 0)
				return copy_host(DK_DOCKER_HUB, strlen(DK_DOCKER_HUB), out, cap);
			return 0;
		}
	}
	return copy_host(DK_DOCKER_HUB, strlen(DK_DOCKER_HUB), out, cap);
}

int dk_registry_key_host(const char *key, char *out, size_t cap)
{
	if (!key)
		return -1;
	if (strncasecmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncasecmp(key, "http://", 7) == 0)
		key += 7;
	size_t n = strcspn(key, "/");
	if (copy_host(key, n, out, cap) < 0)
		return -1;
	if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
		return copy_host(DK_DOCKER_HUB, strlen(DK_DOCKER_HUB), out, cap);
	return 0;
}

/* --- encodings ---------------------------------------------------------------- */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url with padding, as the docker CLI sends X-Registry-Auth. */
static char *b64url(const unsigned char *in, size_t n)
{
	if (n > SIZE_MAX / 4 - 3)
		return NULL;
	char *o = malloc((n + 2) / 3 * 4 + 1);
	if (!o)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		o[j++] = B64URL[(v >> 18) & 63];
		o[j++] = B64URL[(v >> 12) & 63];
		o[j++] = i + 1 < n ? B64URL[(v >> 6) & 63] : '=';
		o[j++] = i + 2 < n ? B64URL[v & 63] : '=';
	}
	o[j] = '\0';
	return o;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 (config.json's "auth") into a new NUL-terminated buffer of
 * *len bytes; NULL when it is not base64 or out of memory. */
static unsigned char *b64std_decode(const char *in, size_t n, size_t *len)
{
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	unsigned char *o = malloc(n / 4 * 3 + 3);
	if (!o)
		return NULL;
	size_t j = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)in[i]);
		if (v < 0) {
			OPENSSL_cleanse(o, n / 4 * 3 + 3);
			free(o);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[j++] = (unsigned char)(acc >> bits);
		}
	}
	acc = 0;
	o[j] = '\0';
	*len = j;
	return o;
}

/* The length of s as a JSON string's contents. */
static size_t json_escaped_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		n += c == '"' || c == '\\' ? 2 : c < 0x20 ? 6 : 1;
	}
	return n;
}

static char *json_escape_into(char *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

/* The JSON is written by hand, not with json_dumps, so that every byte of
 * it is in one buffer that is wiped: jansson's dump grows its buffer by
 * copying and frees the old copies unwiped. */
char *dk_auth_encode(const char *username, const char *password, const char *identitytoken,
                     const char *serveraddress)
{
	const char *k[3], *v[3];
	size_t nf = 0;
	if (identitytoken) {
		k[nf] = "identitytoken";
		v[nf++] = identitytoken;
	} else {
		k[nf] = "username";
		v[nf++] = username ? username : "";
		k[nf] = "password";
		v[nf++] = password ? password : "";
	}
	k[nf] = "serveraddress";
	v[nf++] = serveraddress ? serveraddress : "";
	size_t n = 3;
	for (size_t i = 0; i < nf; i++)
		n += strlen(k[i]) + json_escaped_len(v[i]) + 6;
	char *json = malloc(n);
	if (!json)
		return NULL;
	char *o = json;
	*o++ = '{';
	for (size_t i = 0; i < nf; i++) {
		if (i)
			*o++ = ',';
		*o++ = '"';
		memcpy(o, k[i], strlen(k[i]));
		o += strlen(k[i]);
		memcpy(o, "\":\"", 3);
		o += 3;
		o = json_escape_into(o, v[i]);
		*o++ = '"';
	}
	*o++ = '}';
	size_t len = (size_t)(o - json);
	char *out = b64url((const unsigned char *)json, len);
	OPENSSL_cleanse(json, n);
	free(json);
	return out;
}

/* --- the file ------------------------------------------------------------------- */

/* Zeroes every string value under j, in place, before it is freed. */
static void wipe_json(json_t *j)
{
	if (json_is_string(j)) {
		OPENSSL_cleanse((char *)json_string_value(j), json_string_length(j));
	} else if (json_is_object(j)) {
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v)
		{
			wipe_json(v);
		}
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
		{
			wipe_json(v);
		}
	}
}

static int read_private_file(const char *path, char **buf, size_t *len, char *err, size_t cap)
{
	/* O_NONBLOCK: a FIFO put in the file's place must not hang a pull. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return drv_fail(err, cap, "registry auth file %s: cannot open: %s", path,
		                strerror(errno));
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	int rc = -1;
	if (fstat(fd, &st) != 0) {
		drv_fail(err, cap, "registry auth file %s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		drv_fail(err, cap, "registry auth file %s is not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		drv_fail(err, cap,
		         "registry auth file %s is owned by uid %u, neither this user (uid %u) "
		         "nor root; another user could change the credentials: chown it to uid "
		         "%u",
		         path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid());
		goto out;
	}
	unsigned mode = (unsigned)(st.st_mode & 07777);
	if (mode & 077) {
		drv_fail(err, cap,
		         "registry auth file %s has mode %04o, which lets %s read or change the "
		         "registry credentials; run: chmod 600 %s",
		         path, mode,
		         (mode & 070) && (mode & 07) ? "group and others"
		         : (mode & 070)              ? "its group"
		                                     : "other users",
		         path);
		goto out;
	}
	if (st.st_size > (off_t)DK_AUTH_FILE_MAX) {
		drv_fail(err, cap, "registry auth file %s is larger than %u bytes", path,
		         DK_AUTH_FILE_MAX);
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		drv_fail(err, cap, "out of memory");
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			drv_fail(err, cap, "registry auth file %s: cannot read: %s", path,
			         strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	if (b) {
		OPENSSL_cleanse(b, (size_t)st.st_size + 1);
		free(b);
	}
	close(fd);
	return rc;
}

/* The header value for one config.json entry; 0 with *out NULL when the
 * entry holds no credentials (an entry a credsStore left empty). */
static int entry_auth(const char *path, const char *key, const json_t *e, const char *server,
                      char **out, char *err, size_t cap)
{
	if (!json_is_object(e))
		return drv_fail(err, cap, "registry auth file %s: auths.\"%s\" is not an object",
		                path, key);
	const json_t *ja = json_object_get(e, "auth");
	const json_t *ju = json_object_get(e, "username");
	const json_t *jp = json_object_get(e, "password");
	const json_t *jt = json_object_get(e, "identitytoken");
	if ((ja && !json_is_string(ja)) || (ju && !json_is_string(ju)) ||
	    (jp && !json_is_string(jp)) || (jt && !json_is_string(jt)))
		return drv_fail(err, cap,
		                "registry auth file %s: auths.\"%s\": auth, username, password and "
		                "identitytoken must be strings",
		                path, key);
	if (jt && json_string_length(jt) > 0) {
		*out = dk_auth_encode(NULL, NULL, json_string_value(jt), server);
		return *out ? 0 : drv_fail(err, cap, "out of memory");
	}
	if (ja && json_string_length(ja) > 0) {
		size_t n = 0;
		unsigned char *up =
		    b64std_decode(json_string_value(ja), json_string_length(ja), &n);
		if (!up)
			return drv_fail(
			    err, cap,
			    "registry auth file %s: auths.\"%s\".auth is not base64 (or "
			    "out of memory)",
			    path, key);
		char *colon = memchr(up, ':', n);
		if (!colon || memchr(up, '\0', n)) {
			OPENSSL_cleanse(up, n);
			free(up);
			return drv_fail(err, cap,
			                "registry auth file %s: auths.\"%s\".auth is not "
			                "base64(\"username:password\")",
			                path, key);
		}
		*colon = '\0';
		*out = dk_auth_encode((char *)up, colon + 1, NULL, server);
		OPENSSL_cleanse(up, n);
		free(up);
		return *out ? 0 : drv_fail(err, cap, "out of memory");
	}
	if (ju && json_string_length(ju) > 0) {
		*out = dk_auth_encode(json_string_value(ju), jp ? json_string_value(jp) : "", NULL,
		                      server);
		return *out ? 0 : drv_fail(err, cap, "out of memory");
	}
	return 0;
}

int dk_auth_for_image(const char *path, const char *image, char **out, char *err, size_t cap)
{
	if (out)
		*out = NULL;
	char host[256];
	if (image && dk_registry_host(image, host, sizeof(host)) < 0)
		return drv_fail(err, cap, "image %s names no registry host taskgate can read",
		                image);
	char *buf = NULL;
	size_t len = 0;
	if (read_private_file(path, &buf, &len, err, cap) < 0)
		return -1;
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	OPENSSL_cleanse(buf, len + 1);
	free(buf);
	int line = je.line, column = je.column;
	OPENSSL_cleanse(&je, sizeof(je));
	int rc = -1;
	if (!root) {
		drv_fail(err, cap, "registry auth file %s is not JSON (line %d, column %d)", path,
		         line, column);
		goto out;
	}
	const json_t *auths = json_object_get(root, "auths");
	if (!json_is_object(root) || !json_is_object(auths)) {
		drv_fail(err, cap,
		         "registry auth file %s has no \"auths\" object (the docker CLI's "
		         "config.json form)",
		         path);
		goto out;
	}
	/* Every entry is checked, not just the one wanted, so that a mistake
	 * shows at open rather than at the first pull from that registry. */
	const char *key;
	json_t *e;
	rc = 0;
	json_object_foreach((json_t *)auths, key, e)
	{
		char kh[256];
		char *h = NULL;
		if (dk_registry_key_host(key, kh, sizeof(kh)) < 0) {
			rc = drv_fail(err, cap,
			              "registry auth file %s: \"%s\" is not a registry host", path,
			              key);
			break;
		}
		bool want = image && out && !*out && strcmp(kh, host) == 0;
		const char *server = strcmp(kh, DK_DOCKER_HUB) == 0 ? DK_DOCKER_HUB_SERVER : kh;
		if (entry_auth(path, key, e, server, &h, err, cap) < 0) {
			rc = -1;
			break;
		}
		if (want)
			*out = h;
		else
			dk_auth_free(h);
	}
	if (rc < 0 && out) {
		dk_auth_free(*out);
		*out = NULL;
	}
out:
	if (root) {
		wipe_json(root);
		json_decref(root);
	}
	return rc;
}
