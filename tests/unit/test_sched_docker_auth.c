/*
 * test_sched_docker_auth.c - registry credentials for the docker driver's
 * pulls (scheduler/docker_auth.c), without an engine: which registry an
 * image reference names (Docker's rules), how config.json keys match it, the
 * X-Registry-Auth encoding the Engine API decodes, the file's checks (mode,
 * owner, form) and that no error ever carries a credential, and that the
 * HTTP client sends the header as one line and refuses one that would add
 * more.
 */
#include "scheduler/docker_auth.h"
#include "scheduler/docker_http.h"
#include "tests/unit/check.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

static char dir[] = "/tmp/tg_dkauth_XXXXXX";

static const char *host_of(const char *image)
{
	static char h[256];
	if (dk_registry_host(image, h, sizeof(h)) < 0)
		return "(error)";
	return h;
}

static void test_registry_host(void)
{
	CHECK_STR(host_of("busybox"), "docker.io");
	CHECK_STR(host_of("busybox:1.36"), "docker.io");
	CHECK_STR(host_of("library/busybox"), "docker.io");
	CHECK_STR(host_of("acme/app@sha256:0123"), "docker.io");
	CHECK_STR(host_of("docker.io/acme/app"), "docker.io");
	CHECK_STR(host_of("index.docker.io/acme/app"), "docker.io");
	CHECK_STR(host_of("registry.example.com/team/app:1"), "registry.example.com");
	CHECK_STR(host_of("127.0.0.1:5000/private/app:1"), "127.0.0.1:5000");
	CHECK_STR(host_of("localhost/app"), "localhost");
	CHECK_STR(host_of("localhost:5000/app"), "localhost:5000");
	CHECK_STR(host_of("myhost:5000/app"), "myhost:5000");
	/* no dot, colon or capital: a Docker Hub namespace, not a host */
	CHECK_STR(host_of("myhost/app"), "docker.io");
	CHECK_STR(host_of("Registry/app"), "registry");
	CHECK_STR(host_of("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest"),
	          "123456789012.dkr.ecr.us-east-1.amazonaws.com");
	char small[8];
	CHECK(dk_registry_host("registry.example.com/app", small, sizeof(small)) < 0);
	CHECK(dk_registry_host("", small, sizeof(small)) < 0);
}

static const char *key_of(const char *key)
{
	static char h[256];
	if (dk_registry_key_host(key, h, sizeof(h)) < 0)
		return "(error)";
	return h;
}

static void test_key_host(void)
{
	CHECK_STR(key_of("https://index.docker.io/v1/"), "docker.io");
	CHECK_STR(key_of("index.docker.io"), "docker.io");
	CHECK_STR(key_of("docker.io"), "docker.io");
	CHECK_STR(key_of("registry.example.com"), "registry.example.com");
	CHECK_STR(key_of("https://Registry.Example.com/v2/"), "registry.example.com");
	CHECK_STR(key_of("http://127.0.0.1:5000"), "127.0.0.1:5000");
	CHECK_STR(key_of("https://"), "(error)");
}

/* base64url (padded or not) back to bytes, for checking what was encoded. */
static char *unb64url(const char *s)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(s);
	char *o = calloc(1, n + 1);
	size_t j = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *p = strchr(a, s[i]);
		if (!p) {
			free(o);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)(p - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[j++] = (char)(acc >> bits);
		}
	}
	return o;
}

static json_t *decode_header(const char *h)
{
	if (!h)
		return NULL;
	CHECK(strcspn(h, "+/") == strlen(h)); /* the URL alphabet */
	CHECK(strlen(h) % 4 == 0);            /* padded, as the docker CLI sends it */
	char *j = unb64url(h);
	json_t *o = j ? json_loads(j, 0, NULL) : NULL;
	free(j);
	return o;
}

static void test_encode(void)
{
	/* "?>" and "~~" give '+' and '/' in standard base64: the URL alphabet
	 * must not have them */
	char *h = dk_auth_encode("al\"ice", "p?>w\\d~~\n", NULL, "registry.example.com");
	json_t *o = decode_header(h);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "username")), "al\"ice");
	CHECK_STR(json_string_value(json_object_get(o, "password")), "p?>w\\d~~\n");
	CHECK_STR(json_string_value(json_object_get(o, "serveraddress")), "registry.example.com");
	CHECK(json_object_get(o, "identitytoken") == NULL);
	json_decref(o);
	dk_auth_free(h);

	h = dk_auth_encode(NULL, NULL, "tok.en", DK_DOCKER_HUB_SERVER);
	o = decode_header(h);
	CHECK_STR(json_string_value(json_object_get(o, "identitytoken")), "tok.en");
	CHECK_STR(json_string_value(json_object_get(o, "serveraddress")), DK_DOCKER_HUB_SERVER);
	CHECK(json_object_get(o, "password") == NULL);
	json_decref(o);
	dk_auth_free(h);
	dk_auth_free(NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CHECK(chmod(path, mode) == 0);
}

#define SECRET "s3cr3t-Pa55"

static void test_file_lookup(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	/* "YWxpY2U6czNjcjN0LVBhNTU=" is base64("alice:" SECRET) */
	write_file(path,
	           "{\"auths\": {"
	           "\"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},"
	           "\"http://127.0.0.1:5000\": {\"auth\": \"YWxpY2U6czNjcjN0LVBhNTU=\"},"
	           "\"registry.example.com\": {\"username\": \"bob\", \"password\": \"pw2\"},"
	           "\"tok.example.com\": {\"identitytoken\": \"idtok\"},"
	           "\"empty.example.com\": {}"
	           "}, \"credsStore\": \"desktop\"}",
	           0600);
	char err[512] = "", *h = NULL;
	CHECK(dk_auth_for_image(path, NULL, NULL, err, sizeof(err)) == 0);

	CHECK(dk_auth_for_image(path, "127.0.0.1:5000/private/app:1", &h, err, sizeof(err)) == 0);
	json_t *o = decode_header(h);
	CHECK_STR(json_string_value(json_object_get(o, "username")), "alice");
	CHECK_STR(json_string_value(json_object_get(o, "password")), SECRET);
	CHECK_STR(json_string_value(json_object_get(o, "serveraddress")), "127.0.0.1:5000");
	json_decref(o);
	dk_auth_free(h);

	CHECK(dk_auth_for_image(path, "busybox", &h, err, sizeof(err)) == 0);
	o = decode_header(h);
	CHECK_STR(json_string_value(json_object_get(o, "username")), "hub");
	CHECK_STR(json_string_value(json_object_get(o, "serveraddress")), DK_DOCKER_HUB_SERVER);
	json_decref(o);
	dk_auth_free(h);

	CHECK(dk_auth_for_image(path, "registry.example.com/x", &h, err, sizeof(err)) == 0);
	o = decode_header(h);
	CHECK_STR(json_string_value(json_object_get(o, "username")), "bob");
	CHECK_STR(json_string_value(json_object_get(o, "password")), "pw2");
	json_decref(o);
	dk_auth_free(h);

	CHECK(dk_auth_for_image(path, "tok.example.com/x", &h, err, sizeof(err)) == 0);
	o = decode_header(h);
	CHECK_STR(json_string_value(json_object_get(o, "identitytoken")), "idtok");
	json_decref(o);
	dk_auth_free(h);

	/* no entry, or an empty one: an anonymous pull, no header */
	h = (char *)"x";
	CHECK(dk_auth_for_image(path, "other.example.com/x", &h, err, sizeof(err)) == 0);
	CHECK(h == NULL);
	CHECK(dk_auth_for_image(path, "empty.example.com/x", &h, err, sizeof(err)) == 0);
	CHECK(h == NULL);
	/* the port is part of the registry */
	CHECK(dk_auth_for_image(path, "127.0.0.1:5001/private/app", &h, err, sizeof(err)) == 0);
	CHECK(h == NULL);
	unlink(path);
}

static void test_file_refused(void)
{
	char path[128], err[512] = "";
	snprintf(path, sizeof(path), "%s/config.json", dir);
	const char *good =
	    "{\"auths\": {\"r.example.com\": {\"auth\": \"YWxpY2U6czNjcjN0LVBhNTU=\"}}}";

	write_file(path, good, 0640);
	CHECK(dk_auth_for_image(path, NULL, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "mode 0640") && strstr(err, "its group") && strstr(err, "chmod 600"));
	write_file(path, good, 0604);
	CHECK(dk_auth_for_image(path, NULL, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "other users") != NULL);
	/* a pull re-checks: a file made readable after start is refused too */
	char *h = (char *)"x";
	CHECK(dk_auth_for_image(path, "r.example.com/a", &h, err, sizeof(err)) < 0);
	CHECK(h == NULL);
	write_file(path, good, 0400);
	CHECK(dk_auth_for_image(path, NULL, NULL, err, sizeof(err)) == 0);

	char sub[160];
	snprintf(sub, sizeof(sub), "%s/d", dir);
	mkdir(sub, 0700);
	CHECK(dk_auth_for_image(sub, NULL, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "not a regular file") != NULL);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/missing.json", dir);
	CHECK(dk_auth_for_image(sub, NULL, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "cannot open") != NULL);

	/* malformed files: the error names the file and the place, never the
	 * bytes that were there */
	struct {
		const char *text, *want;
	} bad[] = {
	    {"{\"auths\": {\"r.example.com\": {\"auth\": \"" SECRET "\" oops}}}", "line 1"},
	    {"{\"auths\": {\"r.example.com\": {\"auth\": " SECRET "}}}", "line 1"},
	    {"{\"auths\": {\"r.example.com\": {\"auth\": \"" SECRET "!\"}}}", "not base64"},
	    {"{\"auths\": {\"r.example.com\": {\"auth\": \"c2VjcmV0\"}}}", "username:password"},
	    {"{\"auths\": {\"r.example.com\": {\"password\": 7}}}", "must be strings"},
	    {"{\"auths\": {\"r.example.com\": \"" SECRET "\"}}", "not an object"},
	    {"{\"auths\": {\"https://\": {}}}", "not a registry host"},
	    {"[\"" SECRET "\"]", "no \"auths\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i].text, 0600);
		err[0] = '\0';
		h = (char *)"x";
		int rc = dk_auth_for_image(path, "r.example.com/a", &h, err, sizeof(err));
		CHECK(rc < 0);
		CHECK(h == NULL);
		if (!strstr(err, bad[i].want))
			printf("      case %zu: %s\n", i, err);
		CHECK(strstr(err, bad[i].want) != NULL);
		CHECK(strstr(err, SECRET) == NULL);
		CHECK(strstr(err, "c2VjcmV0") == NULL);
	}
	unlink(path);
}

static void test_header_sent(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct dhttp_target t = {.unix_path = "/nonexistent", .timeout_ms = 1000};
	struct dhttp_conn c = {.fd = sv[0], .ssl = NULL};
	char err[256];
	t.extra_header = "X-Registry-Auth: abc_-=\r\n";
	CHECK(dhttp_send(&t, &c, "POST", "/v1.41/images/create?fromImage=x", NULL, err,
	                 sizeof(err)) == 0);
	char buf[2048];
	ssize_t n = read(sv[1], buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "\r\nX-Registry-Auth: abc_-=\r\n\r\n") != NULL);
	CHECK(strncmp(buf, "POST /v1.41/images/create?fromImage=x HTTP/1.1\r\n", 48) == 0);

	/* a value that would smuggle in another header, or end the head, is
	 * refused before anything is written */
	const char *bad[] = {"X-Registry-Auth: a\r\nX-Other: b\r\n", "X-Registry-Auth: a\n",
	                     "X-Registry-Auth: a", "\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.extra_header = bad[i];
		CHECK(dhttp_send(&t, &c, "POST", "/x", NULL, err, sizeof(err)) < 0);
	}
	t.extra_header = NULL;
	CHECK(dhttp_send(&t, &c, "GET", "/_ping", NULL, err, sizeof(err)) == 0);
	n = read(sv[1], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strncmp(buf, "GET /_ping HTTP/1.1\r\n", 21) == 0);
	CHECK(strstr(buf, "X-Registry-Auth") == NULL);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	static const struct check_case cases[] = {
	    {"an image's registry is its first component when that has a dot, a colon or a "
	     "capital, or is localhost; otherwise Docker Hub",
	     test_registry_host},
	    {"a config.json key matches its registry without scheme or path, Docker Hub by any "
	     "of its names",
	     test_key_host},
	    {"X-Registry-Auth is padded base64url of the engine's auth JSON, escaped", test_encode},
	    {"the credentials for an image's registry are found by host and port (auth, "
	     "username/password, identitytoken); none for other registries",
	     test_file_lookup},
	    {"a group- or world-readable, missing or malformed credentials file is refused, and "
	     "no error quotes a credential",
	     test_file_refused},
	    {"the client sends the registry header as one line and refuses one that adds more",
	     test_header_sent},
	};
	int rc = check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
	rmdir(dir);
	return rc;
}
