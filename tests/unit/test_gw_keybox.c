/*
 * test_gw_keybox.c - the master key file and AES-256-GCM sealing.
 *
 * Key files are made in a fresh temporary folder per test. Sealing is checked
 * from both sides: what must open (same key, same AAD, untouched blob) next to
 * what must not (each byte flipped, other AAD, other key, truncation, another
 * format version).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/keybox.h"
#include "tests/unit/check.h"

static char tmpdir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp_path(const char *name)
{
	static char path[128];
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-keybox-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
		atexit(remove_tmpdir);
	}
	int n = snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		abort();
	unlink(path);
	return path;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		abort();
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n)
		abort();
	fchmod(fd, mode);
	close(fd);
}

static struct gw_keybox *box_with_byte(unsigned char b)
{
	unsigned char key[GW_KEYBOX_KEY_LEN];
	memset(key, b, sizeof(key));
	struct gw_keybox *box = NULL;
	struct gw_keybox_error err;
	if (gw_keybox_from_key(key, sizeof(key), &box, &err) != GW_KEYBOX_OK)
		abort();
	return box;
}

static void created_key_file_is_0600_and_opens(void)
{
	const char *path = tmp_path("master.key");
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_create_keyfile(path, &err), GW_KEYBOX_OK);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(st.st_size, 23 + 44 + 1);
	FILE *f = fopen(path, "r");
	char line[128] = "";
	CHECK(f && fgets(line, sizeof(line), f));
	CHECK_STR(line, "taskgate-master-key v1\n");
	if (f)
		fclose(f);
	struct gw_keybox *box = NULL;
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_OK);
	CHECK(box != NULL);
	gw_keybox_free(box);
}

static void created_key_file_respects_umask(void)
{
	const char *path = tmp_path("umask.key");
	mode_t old = umask(0277);
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_create_keyfile(path, &err), GW_KEYBOX_OK);
	umask(old);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0400);
}

static void two_created_key_files_hold_different_keys(void)
{
	const char *p1 = tmp_path("a.key");
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_create_keyfile(p1, &err), GW_KEYBOX_OK);
	struct gw_keybox *a = NULL, *b = NULL;
	CHECK_INT(gw_keybox_open(p1, &a, &err), GW_KEYBOX_OK);
	const char *p2 = tmp_path("b.key");
	CHECK_INT(gw_keybox_create_keyfile(p2, &err), GW_KEYBOX_OK);
	CHECK_INT(gw_keybox_open(p2, &b, &err), GW_KEYBOX_OK);
	char ida[17], idb[17];
	if (a && b) {
		gw_keybox_key_id_hex(a, ida);
		gw_keybox_key_id_hex(b, idb);
		CHECK_INT(strlen(ida), 16);
		CHECK(strcmp(ida, idb) != 0);
	}
	gw_keybox_free(a);
	gw_keybox_free(b);
}

/* docs/security.md gives this command for making a key file without taskgate. */
static void key_file_from_the_documented_openssl_command_opens(void)
{
	const char *path = tmp_path("shell.key");
	char cmd[512];
	int n = snprintf(cmd, sizeof(cmd),
	                 "cd '%s' && (umask 077 && { printf 'taskgate-master-key v1\\n'; "
	                 "openssl rand -base64 32; } > shell.key)",
	                 tmpdir);
	CHECK(n > 0 && (size_t)n < sizeof(cmd));
	CHECK_INT(system(cmd), 0);
	struct gw_keybox *box = NULL;
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_OK);
	if (!box)
		printf("    %s\n", err.message);
	gw_keybox_free(box);
}

static void existing_key_file_is_never_overwritten(void)
{
	const char *path = tmp_path("exists.key");
	write_file(path, "precious", 0600);
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_create_keyfile(path, &err), GW_KEYBOX_ERR_EXISTS);
	CHECK(strstr(err.message, "already exists") != NULL);
	char buf[32] = "";
	FILE *f = fopen(path, "r");
	CHECK(f && fgets(buf, sizeof(buf), f));
	if (f)
		fclose(f);
	CHECK_STR(buf, "precious");
	/* Nor is a symlink followed to create or clobber its target. */
	const char *link = tmp_path("link.key");
	const char *target = tmp_path("target.key");
	CHECK(symlink(target, link) == 0);
	CHECK_INT(gw_keybox_create_keyfile(link, &err), GW_KEYBOX_ERR_EXISTS);
	CHECK(access(target, F_OK) != 0);
}

static void group_or_world_readable_key_file_is_refused(void)
{
	const char *path = tmp_path("open.key");
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_create_keyfile(path, &err), GW_KEYBOX_OK);
	struct gw_keybox *box = NULL;
	CHECK(chmod(path, 0644) == 0);
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_ERR_PERMISSIONS);
	CHECK(box == NULL);
	CHECK(strstr(err.message, "0644") != NULL);
	CHECK(strstr(err.message, "chmod 600") != NULL);
	CHECK(strstr(err.message, path) != NULL);
	CHECK(chmod(path, 0640) == 0);
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_ERR_PERMISSIONS);
	CHECK(strstr(err.message, "0640") != NULL);
	CHECK(chmod(path, 0604) == 0);
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_ERR_PERMISSIONS);
	CHECK(chmod(path, 0620) == 0); /* group may write: may replace the key */
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_ERR_PERMISSIONS);
	CHECK(chmod(path, 0600) == 0);
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_OK);
	gw_keybox_free(box);
	box = NULL;
	CHECK(chmod(path, 0400) == 0);
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_OK);
	gw_keybox_free(box);
}

static void key_file_that_is_not_a_regular_file_is_refused(void)
{
	const char *path = tmp_path("dir.key");
	CHECK(mkdir(path, 0700) == 0);
	struct gw_keybox *box = NULL;
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_ERR_PERMISSIONS);
	CHECK(strstr(err.message, "not a regular file") != NULL);
	rmdir(path);
	const char *fifo = tmp_path("fifo.key");
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK_INT(gw_keybox_open(fifo, &box, &err), GW_KEYBOX_ERR_PERMISSIONS);
	CHECK_INT(gw_keybox_open(tmp_path("missing.key"), &box, &err), GW_KEYBOX_ERR_IO);
}

static void key_file_in_wrong_format_is_refused(void)
{
	static const char *bad[] = {
	    "",
	    "taskgate-master-key v2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",   /* short */
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n", /* bits */
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  /* 31 B */
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextra\n",
	    "taskgate-master-key v1\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	    "-----BEGIN PRIVATE KEY-----\n",
	};
	struct gw_keybox_error err;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = tmp_path("bad.key");
		write_file(path, bad[i], 0600);
		struct gw_keybox *box = NULL;
		int rc = gw_keybox_open(path, &box, &err);
		if (rc != GW_KEYBOX_ERR_FORMAT)
			printf("    case %zu: rc %d (%s)\n", i, rc, err.message);
		CHECK_INT(rc, GW_KEYBOX_ERR_FORMAT);
		CHECK(box == NULL);
	}
	/* The same key written correctly, with and without the final newline, opens. */
	static const char *good[] = {
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	    "taskgate-master-key v1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	for (size_t i = 0; i < 2; i++) {
		const char *path = tmp_path("good.key");
		write_file(path, good[i], 0600);
		struct gw_keybox *box = NULL;
		CHECK_INT(gw_keybox_open(path, &box, &err), GW_KEYBOX_OK);
		gw_keybox_free(box);
	}
}

static void sealed_value_opens_with_same_key_and_aad(void)
{
	struct gw_keybox *box = box_with_byte(7);
	struct gw_keybox_error err;
	const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	unsigned char *blob = NULL;
	size_t blob_n = 0;
	CHECK_INT(
	    gw_keybox_seal(box, secret, strlen(secret), "AKIAEXAMPLE", 11, &blob, &blob_n, &err),
	    GW_KEYBOX_OK);
	CHECK_INT(blob_n, strlen(secret) + GW_KEYBOX_OVERHEAD);
	CHECK(blob && blob[0] == GW_KEYBOX_VERSION);
	CHECK(blob && memmem(blob, blob_n, "wJalr", 5) == NULL);
	struct gw_secret plain;
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "AKIAEXAMPLE", 11, &plain, &err),
	          GW_KEYBOX_OK);
	CHECK_INT(plain.n, strlen(secret));
	CHECK_STR((char *)plain.p, secret);
	gw_secret_free(&plain);
	/* An empty value and empty AAD are values too. */
	free(blob);
	CHECK_INT(gw_keybox_seal(box, NULL, 0, NULL, 0, &blob, &blob_n, &err), GW_KEYBOX_OK);
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, NULL, 0, &plain, &err), GW_KEYBOX_OK);
	CHECK_INT(plain.n, 0);
	gw_secret_free(&plain);
	free(blob);
	gw_keybox_free(box);
}

static void any_altered_byte_makes_the_blob_fail(void)
{
	struct gw_keybox *box = box_with_byte(9);
	struct gw_keybox_error err;
	unsigned char *blob = NULL;
	size_t blob_n = 0;
	CHECK_INT(gw_keybox_seal(box, "secret-value", 12, "row-1", 5, &blob, &blob_n, &err),
	          GW_KEYBOX_OK);
	int refused = 0;
	for (size_t i = 0; i < blob_n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			blob[i] ^= (unsigned char)(1u << bit);
			struct gw_secret plain = {(unsigned char *)1, 1};
			int rc = gw_keybox_unseal(box, blob, blob_n, "row-1", 5, &plain, &err);
			if (rc != GW_KEYBOX_OK && plain.p == NULL && plain.n == 0)
				refused++;
			if (rc == GW_KEYBOX_OK)
				gw_secret_free(&plain);
			blob[i] ^= (unsigned char)(1u << bit);
		}
	}
	CHECK_INT(refused, (int)blob_n * 2);
	/* Each region fails for its own reason. */
	struct gw_secret plain;
	blob[0] ^= 1;
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "row-1", 5, &plain, &err),
	          GW_KEYBOX_ERR_FORMAT);
	blob[0] ^= 1;
	blob[blob_n - 1] ^= 1;
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "row-1", 5, &plain, &err),
	          GW_KEYBOX_ERR_AUTH);
	CHECK(strstr(err.message, "altered") != NULL);
	blob[blob_n - 1] ^= 1;
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n - 1, "row-1", 5, &plain, &err),
	          GW_KEYBOX_ERR_AUTH);
	CHECK_INT(gw_keybox_unseal(box, blob, GW_KEYBOX_OVERHEAD - 1, "row-1", 5, &plain, &err),
	          GW_KEYBOX_ERR_FORMAT);
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "row-1", 5, &plain, &err), GW_KEYBOX_OK);
	gw_secret_free(&plain);
	free(blob);
	gw_keybox_free(box);
}

static void blob_moved_to_another_row_fails(void)
{
	struct gw_keybox *box = box_with_byte(3);
	struct gw_keybox_error err;
	unsigned char *blob = NULL;
	size_t blob_n = 0;
	CHECK_INT(
	    gw_keybox_seal(box, "s3cr3t", 6, "AKIAAAAAAAAAAAAAAAAA", 20, &blob, &blob_n, &err),
	    GW_KEYBOX_OK);
	struct gw_secret plain;
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "AKIAAAAAAAAAAAAAAAAB", 20, &plain, &err),
	          GW_KEYBOX_ERR_AUTH);
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "AKIAAAAAAAAAAAAAAAA", 19, &plain, &err),
	          GW_KEYBOX_ERR_AUTH);
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, NULL, 0, &plain, &err), GW_KEYBOX_ERR_AUTH);
	CHECK_INT(gw_keybox_unseal(box, blob, blob_n, "AKIAAAAAAAAAAAAAAAAA", 20, &plain, &err),
	          GW_KEYBOX_OK);
	gw_secret_free(&plain);
	free(blob);
	gw_keybox_free(box);
}

static void blob_from_another_key_is_reported_as_wrong_key(void)
{
	struct gw_keybox *a = box_with_byte(1), *b = box_with_byte(2);
	struct gw_keybox_error err;
	unsigned char *blob = NULL;
	size_t blob_n = 0;
	CHECK_INT(gw_keybox_seal(a, "value", 5, "row", 3, &blob, &blob_n, &err), GW_KEYBOX_OK);
	struct gw_secret plain;
	CHECK_INT(gw_keybox_unseal(b, blob, blob_n, "row", 3, &plain, &err),
	          GW_KEYBOX_ERR_WRONG_KEY);
	char ida[17], idb[17];
	gw_keybox_key_id_hex(a, ida);
	gw_keybox_key_id_hex(b, idb);
	CHECK(strstr(err.message, ida) != NULL && strstr(err.message, idb) != NULL);
	/* Forging the key id to b's does not help: the tag still fails. */
	unsigned char *forged = malloc(blob_n);
	if (forged) {
		memcpy(forged, blob, blob_n);
		unsigned char *c = NULL;
		size_t cn = 0;
		CHECK_INT(gw_keybox_seal(b, "x", 1, NULL, 0, &c, &cn, &err), GW_KEYBOX_OK);
		if (c)
			memcpy(forged + 1, c + 1, GW_KEYBOX_KEY_ID_LEN);
		CHECK_INT(gw_keybox_unseal(b, forged, blob_n, "row", 3, &plain, &err),
		          GW_KEYBOX_ERR_AUTH);
		free(c);
		free(forged);
	}
	CHECK_INT(gw_keybox_unseal(a, blob, blob_n, "row", 3, &plain, &err), GW_KEYBOX_OK);
	gw_secret_free(&plain);
	free(blob);
	gw_keybox_free(a);
	gw_keybox_free(b);
}

static int cmp_nonce(const void *x, const void *y)
{
	return memcmp(x, y, GW_KEYBOX_NONCE_LEN);
}

static void nonces_are_unique_over_many_seals(void)
{
	enum { N = 20000 };
	struct gw_keybox *box = box_with_byte(5);
	struct gw_keybox_error err;
	unsigned char(*nonces)[GW_KEYBOX_NONCE_LEN] = malloc(N * GW_KEYBOX_NONCE_LEN);
	CHECK(nonces != NULL);
	if (!nonces)
		return;
	int sealed = 0;
	for (int i = 0; i < N; i++) {
		unsigned char *blob = NULL;
		size_t blob_n = 0;
		if (gw_keybox_seal(box, "same", 4, "same", 4, &blob, &blob_n, &err) ==
		    GW_KEYBOX_OK) {
			memcpy(nonces[i], blob + 1 + GW_KEYBOX_KEY_ID_LEN, GW_KEYBOX_NONCE_LEN);
			sealed++;
		}
		free(blob);
	}
	CHECK_INT(sealed, N);
	qsort(nonces, N, GW_KEYBOX_NONCE_LEN, cmp_nonce);
	int dups = 0;
	for (int i = 1; i < N; i++)
		dups += memcmp(nonces[i - 1], nonces[i], GW_KEYBOX_NONCE_LEN) == 0;
	CHECK_INT(dups, 0);
	free(nonces);
	gw_keybox_free(box);
}

static void in_memory_key_of_wrong_size_is_refused(void)
{
	unsigned char key[16] = {0};
	struct gw_keybox *box = NULL;
	struct gw_keybox_error err;
	CHECK_INT(gw_keybox_from_key(key, sizeof(key), &box, &err), GW_KEYBOX_ERR_ARG);
	CHECK(box == NULL);
	struct gw_keybox *ok = box_with_byte(0);
	unsigned char *blob = NULL;
	size_t n = 0;
	CHECK_INT(gw_keybox_seal(ok, key, GW_KEYBOX_MAX_PLAINTEXT + 1, NULL, 0, &blob, &n, &err),
	          GW_KEYBOX_ERR_ARG);
	gw_keybox_free(ok);
}

static const struct check_case cases[] = {
    {"a created key file is mode 0600, v1 text, and opens", created_key_file_is_0600_and_opens},
    {"creating a key file respects a stricter umask", created_key_file_respects_umask},
    {"two created key files hold different keys", two_created_key_files_hold_different_keys},
    {"a key file made with the documented openssl command opens",
     key_file_from_the_documented_openssl_command_opens},
    {"an existing key file or symlink is never overwritten",
     existing_key_file_is_never_overwritten},
    {"a key file readable by group or others is refused with its mode and the chmod fix",
     group_or_world_readable_key_file_is_refused},
    {"a key file that is a folder, a FIFO or missing is refused",
     key_file_that_is_not_a_regular_file_is_refused},
    {"a key file in any other format is refused, the v1 format opens",
     key_file_in_wrong_format_is_refused},
    {"a sealed value opens with the same key and AAD", sealed_value_opens_with_same_key_and_aad},
    {"altering any byte of a sealed value makes it fail", any_altered_byte_makes_the_blob_fail},
    {"a sealed value moved to another row (other AAD) fails", blob_moved_to_another_row_fails},
    {"a value sealed under another key is reported as the wrong key",
     blob_from_another_key_is_reported_as_wrong_key},
    {"nonces are unique over 20000 seals", nonces_are_unique_over_many_seals},
    {"a key of the wrong size and an oversized value are refused",
     in_memory_key_of_wrong_size_is_refused},
};

CHECK_MAIN(cases)
