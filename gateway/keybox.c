/*
 * keybox.c - the master key file and AES-256-GCM sealing under it.
 *
 * Key file (v1), text so that an operator can tell what it is:
 *
 *     taskgate-master-key v1\n
 *     <44 characters: the 32-byte key in standard padded base64>\n
 *
 * The final newline may be missing; nothing else may differ. The file must be
 * a regular file, owned by the gateway's user (or root), with no permission
 * bits for group or others; the checks run on the opened descriptor (fstat),
 * so the file checked is the file read.
 *
 * Sealed blob (v1), binary:
 *
 *     0x01 | key id (8) | nonce (12) | ciphertext (n) | GCM tag (16)
 *
 * The key id is the first 8 bytes of SHA-256("taskgate keybox key id v1\0" ||
 * key): a fingerprint that names the key without being a hash of the bare key
 * that could be reused elsewhere. GCM authenticates the 21-byte header and then
 * the caller's AAD, so neither the version, nor the key id, nor the row the
 * blob is bound to can be changed without the tag failing. The header has a
 * fixed length, so header || aad cannot be split two ways.
 *
 * Nonces are 96 random bits per seal. With random nonces one key should seal at
 * most 2^32 values (NIST SP 800-38D); taskgate seals one value per issued key
 * or credential, far below that, and docs/security.md says to rotate well
 * before.
 */
#include "gateway/keybox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define KEYFILE_MAGIC   "taskgate-master-key v1\n"
#define KEYFILE_B64_LEN 44
#define KEYFILE_MAX     128 /* bigger than any valid file; bounds the read */
#define HEADER_LEN      (1 + GW_KEYBOX_KEY_ID_LEN + GW_KEYBOX_NONCE_LEN)

struct gw_keybox {
	struct gw_secret key; /* GW_KEYBOX_KEY_LEN bytes */
	unsigned char key_id[GW_KEYBOX_KEY_ID_LEN];
};

/* Every error leaves through here: one place to break on. */
__attribute__((format(printf, 3, 4))) static int fail(struct gw_keybox_error *err, int code,
                                                      const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(err->message, sizeof(err->message), "key box error %d", code);
	else if ((size_t)n >= sizeof(err->message))
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	return code;
}

static void clear_error(struct gw_keybox_error *err)
{
	if (err) {
		err->code = GW_KEYBOX_OK;
		err->message[0] = '\0';
	}
}

static int compute_key_id(const unsigned char *key, unsigned char out[GW_KEYBOX_KEY_ID_LEN])
{
	static const char label[] = "taskgate keybox key id v1"; /* sizeof includes the NUL */
	unsigned char md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	         EVP_DigestUpdate(ctx, label, sizeof(label)) == 1 &&
	         EVP_DigestUpdate(ctx, key, GW_KEYBOX_KEY_LEN) == 1 &&
	         EVP_DigestFinal_ex(ctx, md, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (ok)
		memcpy(out, md, GW_KEYBOX_KEY_ID_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? GW_KEYBOX_OK : GW_KEYBOX_ERR_CRYPTO;
}

int gw_keybox_from_key(const unsigned char *key, size_t n, struct gw_keybox **out,
                       struct gw_keybox_error *err)
{
	clear_error(err);
	if (!out)
		return fail(err, GW_KEYBOX_ERR_ARG, "key box: no output pointer");
	*out = NULL;
	if (!key || n != GW_KEYBOX_KEY_LEN)
		return fail(err, GW_KEYBOX_ERR_ARG, "key box: a master key is %d bytes, got %zu",
		            GW_KEYBOX_KEY_LEN, n);
	struct gw_keybox *box = calloc(1, sizeof(*box));
	if (!box)
		return fail(err, GW_KEYBOX_ERR_NOMEM, "key box: out of memory");
	if (gw_secret_from(&box->key, key, n) != GW_SECRET_OK) {
		free(box);
		return fail(err, GW_KEYBOX_ERR_NOMEM, "key box: out of memory for the key");
	}
	if (compute_key_id(box->key.p, box->key_id) != GW_KEYBOX_OK) {
		gw_keybox_free(box);
		return fail(err, GW_KEYBOX_ERR_CRYPTO, "key box: SHA-256 failed");
	}
	*out = box;
	return GW_KEYBOX_OK;
}

void gw_keybox_free(struct gw_keybox *box)
{
	if (!box)
		return;
	gw_secret_free(&box->key);
	OPENSSL_cleanse(box->key_id, sizeof(box->key_id));
	free(box);
}

void gw_keybox_key_id_hex(const struct gw_keybox *box, char out[2 * GW_KEYBOX_KEY_ID_LEN + 1])
{
	if (gw_hex_encode(box->key_id, sizeof(box->key_id), out, 2 * GW_KEYBOX_KEY_ID_LEN + 1) !=
	    GW_SECRET_OK)
		out[0] = '\0';
}

/* ---- the key file ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the folder holding path, so the new name survives a crash. */
static void sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int n;
	if (!slash)
		n = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		n = snprintf(dir, sizeof(dir), "/");
	else
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int gw_keybox_create_keyfile(const char *path, struct gw_keybox_error *err)
{
	clear_error(err);
	if (!path || !*path)
		return fail(err, GW_KEYBOX_ERR_ARG, "key file: no path given");
	/* O_EXCL with O_CREAT also refuses a symlink at path, dangling or not. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return fail(
			    err, GW_KEYBOX_ERR_EXISTS,
			    "key file %s already exists; refusing to overwrite a master key "
			    "(data sealed under it would be lost)",
			    path);
		return fail(err, GW_KEYBOX_ERR_IO, "key file %s: cannot create: %s", path,
		            strerror(errno));
	}
	unsigned char key[GW_KEYBOX_KEY_LEN];
	char text[sizeof(KEYFILE_MAGIC) - 1 + KEYFILE_B64_LEN + 2];
	int rc = GW_KEYBOX_OK;
	if (gw_random_bytes(key, sizeof(key)) != GW_SECRET_OK) {
		rc = fail(err, GW_KEYBOX_ERR_CRYPTO, "key file %s: random generator failed", path);
		goto out;
	}
	size_t m = sizeof(KEYFILE_MAGIC) - 1;
	memcpy(text, KEYFILE_MAGIC, m);
	if (gw_base64_encode(key, sizeof(key), GW_B64_STD, text + m, sizeof(text) - m) !=
	    GW_SECRET_OK) {
		rc = fail(err, GW_KEYBOX_ERR_CRYPTO, "key file %s: encoding failed", path);
		goto out;
	}
	text[m + KEYFILE_B64_LEN] = '\n';
	if (write_all(fd, text, m + KEYFILE_B64_LEN + 1) != 0 || fsync(fd) != 0) {
		rc = fail(err, GW_KEYBOX_ERR_IO, "key file %s: cannot write: %s", path,
		          strerror(errno));
		goto out;
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(text, sizeof(text));
	if (close(fd) != 0 && rc == GW_KEYBOX_OK)
		rc = fail(err, GW_KEYBOX_ERR_IO, "key file %s: cannot write: %s", path,
		          strerror(errno));
	if (rc != GW_KEYBOX_OK)
		(void)unlink(path); /* the file is ours: O_EXCL made it */
	else
		sync_parent(path);
	return rc;
}

static int check_keyfile_stat(const char *path, const struct stat *st, struct gw_keybox_error *err)
{
	if (!S_ISREG(st->st_mode))
		return fail(err, GW_KEYBOX_ERR_PERMISSIONS,
		            "key file %s is not a regular file; it must be a file of its own",
		            path);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return fail(err, GW_KEYBOX_ERR_PERMISSIONS,
		            "key file %s is owned by uid %u, neither this user (uid %u) nor root; "
		            "another user could replace the master key: chown it to uid %u",
		            path, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)geteuid());
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (mode & 077)
		return fail(err, GW_KEYBOX_ERR_PERMISSIONS,
		            "key file %s has mode %04o, which lets %s read or change the master "
		            "key; run: chmod 600 %s",
		            path, mode,
		            (mode & 070) && (mode & 07) ? "group and others"
		            : (mode & 070)              ? "its group"
		                                        : "other users",
		            path);
	return GW_KEYBOX_OK;
}

int gw_keybox_open(const char *path, struct gw_keybox **out, struct gw_keybox_error *err)
{
	clear_error(err);
	if (!out)
		return fail(err, GW_KEYBOX_ERR_ARG, "key box: no output pointer");
	*out = NULL;
	if (!path || !*path)
		return fail(err, GW_KEYBOX_ERR_ARG, "key file: no path given");
	/* O_NONBLOCK: a FIFO put in the key file's place must not hang start-up. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(err, GW_KEYBOX_ERR_IO, "key file %s: cannot open: %s%s", path,
		            strerror(errno),
		            errno == ENOENT ? " (create one with gw_keybox_create_keyfile, see "
		                              "docs/security.md)"
		                            : "");
	char buf[KEYFILE_MAX + 1];
	unsigned char key[GW_KEYBOX_KEY_LEN];
	size_t len = 0, key_len = 0;
	struct stat st;
	int rc;
	if (fstat(fd, &st) != 0) {
		rc = fail(err, GW_KEYBOX_ERR_IO, "key file %s: cannot stat: %s", path,
		          strerror(errno));
		goto out;
	}
	rc = check_keyfile_stat(path, &st, err);
	if (rc != GW_KEYBOX_OK)
		goto out;
	while (len < sizeof(buf)) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail(err, GW_KEYBOX_ERR_IO, "key file %s: cannot read: %s", path,
			          strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	size_t m = sizeof(KEYFILE_MAGIC) - 1;
	if (len < m || memcmp(buf, KEYFILE_MAGIC, m) != 0) {
		rc = fail(err, GW_KEYBOX_ERR_FORMAT,
		          "key file %s does not start with \"taskgate-master-key v1\"; it is not a "
		          "taskgate master key file",
		          path);
		goto out;
	}
	size_t body = len - m;
	if (body == KEYFILE_B64_LEN + 1 && buf[len - 1] == '\n')
		body--;
	if (body != KEYFILE_B64_LEN ||
	    gw_base64_decode(buf + m, body, GW_B64_STD, key, sizeof(key), &key_len) !=
	        GW_SECRET_OK ||
	    key_len != GW_KEYBOX_KEY_LEN) {
		rc = fail(err, GW_KEYBOX_ERR_FORMAT,
		          "key file %s: the second line must be the %d-byte key in base64 (%d "
		          "characters) and nothing may follow it",
		          path, GW_KEYBOX_KEY_LEN, KEYFILE_B64_LEN);
		goto out;
	}
	rc = gw_keybox_from_key(key, key_len, out, err);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(key, sizeof(key));
	close(fd);
	return rc;
}

/* ---- sealing ---- */

int gw_keybox_seal(const struct gw_keybox *box, const void *plain, size_t n, const void *aad,
                   size_t aad_n, unsigned char **blob, size_t *blob_n, struct gw_keybox_error *err)
{
	clear_error(err);
	if (!box || !blob || !blob_n || (!plain && n) || (!aad && aad_n))
		return fail(err, GW_KEYBOX_ERR_ARG, "seal: missing argument");
	*blob = NULL;
	*blob_n = 0;
	if (n > GW_KEYBOX_MAX_PLAINTEXT || aad_n > INT_MAX)
		return fail(err, GW_KEYBOX_ERR_ARG,
		            "seal: value of %zu bytes is over the %zu limit", n,
		            GW_KEYBOX_MAX_PLAINTEXT);
	size_t total = n + GW_KEYBOX_OVERHEAD;
	unsigned char *out = malloc(total);
	if (!out)
		return fail(err, GW_KEYBOX_ERR_NOMEM, "seal: out of memory");
	out[0] = GW_KEYBOX_VERSION;
	memcpy(out + 1, box->key_id, GW_KEYBOX_KEY_ID_LEN);
	unsigned char *nonce = out + 1 + GW_KEYBOX_KEY_ID_LEN;
	unsigned char *ct = out + HEADER_LEN;
	unsigned char *tag = ct + n;
	int rc = GW_KEYBOX_OK, len = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	if (gw_random_bytes(nonce, GW_KEYBOX_NONCE_LEN) != GW_SECRET_OK) {
		rc = fail(err, GW_KEYBOX_ERR_CRYPTO, "seal: random generator failed");
		goto out;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GW_KEYBOX_NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, box->key.p, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, out, HEADER_LEN) != 1 ||
	    (aad_n && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_n) != 1) ||
	    (n && EVP_EncryptUpdate(ctx, ct, &len, plain, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GW_KEYBOX_TAG_LEN, tag) != 1) {
		rc = fail(err, GW_KEYBOX_ERR_CRYPTO, "seal: AES-256-GCM failed");
		goto out;
	}
	*blob = out;
	*blob_n = total;
	out = NULL;
out:
	EVP_CIPHER_CTX_free(ctx); /* frees and cleanses the expanded key */
	if (out) {
		OPENSSL_cleanse(out, total);
		free(out);
	}
	return rc;
}

int gw_keybox_unseal(const struct gw_keybox *box, const unsigned char *blob, size_t blob_n,
                     const void *aad, size_t aad_n, struct gw_secret *plain,
                     struct gw_keybox_error *err)
{
	clear_error(err);
	if (!box || !plain || (!blob && blob_n) || (!aad && aad_n))
		return fail(err, GW_KEYBOX_ERR_ARG, "unseal: missing argument");
	plain->p = NULL;
	plain->n = 0;
	if (aad_n > INT_MAX)
		return fail(err, GW_KEYBOX_ERR_ARG, "unseal: additional data too long");
	if (blob_n < GW_KEYBOX_OVERHEAD || blob_n - GW_KEYBOX_OVERHEAD > GW_KEYBOX_MAX_PLAINTEXT)
		return fail(err, GW_KEYBOX_ERR_FORMAT,
		            "unseal: a sealed value is %d to %zu bytes, this one is %zu",
		            GW_KEYBOX_OVERHEAD, GW_KEYBOX_MAX_PLAINTEXT + GW_KEYBOX_OVERHEAD,
		            blob_n);
	if (blob[0] != GW_KEYBOX_VERSION)
		return fail(err, GW_KEYBOX_ERR_FORMAT,
		            "unseal: sealed value has format version %u; this taskgate reads %d",
		            blob[0], GW_KEYBOX_VERSION);
	/* The key id is not secret; a plain comparison is fine, and the tag is the
	 * real check (a forged key id still fails it). */
	if (memcmp(blob + 1, box->key_id, GW_KEYBOX_KEY_ID_LEN) != 0) {
		char want[2 * GW_KEYBOX_KEY_ID_LEN + 1], got[2 * GW_KEYBOX_KEY_ID_LEN + 1];
		gw_keybox_key_id_hex(box, want);
		if (gw_hex_encode(blob + 1, GW_KEYBOX_KEY_ID_LEN, got, sizeof(got)) != GW_SECRET_OK)
			got[0] = '\0';
		return fail(err, GW_KEYBOX_ERR_WRONG_KEY,
		            "unseal: value was sealed under master key %s, but the key file holds "
		            "key %s (wrong or rotated master key file)",
		            got, want);
	}
	size_t n = blob_n - GW_KEYBOX_OVERHEAD;
	const unsigned char *nonce = blob + 1 + GW_KEYBOX_KEY_ID_LEN;
	const unsigned char *ct = blob + HEADER_LEN;
	unsigned char tag[GW_KEYBOX_TAG_LEN];
	memcpy(tag, ct + n, sizeof(tag)); /* the ctrl below takes a non-const pointer */
	int rc = gw_secret_alloc(plain, n + 1);
	if (rc != GW_SECRET_OK)
		return fail(err, GW_KEYBOX_ERR_NOMEM, "unseal: out of memory");
	int len = 0;
	unsigned char final[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GW_KEYBOX_NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, box->key.p, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, blob, HEADER_LEN) != 1 ||
	    (aad_n && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_n) != 1) ||
	    (n && EVP_DecryptUpdate(ctx, plain->p, &len, ct, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GW_KEYBOX_TAG_LEN, tag) != 1) {
		rc = fail(err, GW_KEYBOX_ERR_CRYPTO, "unseal: AES-256-GCM failed");
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, final, &len) != 1) {
		rc = fail(err, GW_KEYBOX_ERR_AUTH,
		          "unseal: authentication failed: the sealed value was altered or belongs "
		          "to another record");
		goto out;
	}
	plain->p[n] = '\0';
	plain->n = n;
	rc = GW_KEYBOX_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(final, sizeof(final));
	if (rc != GW_KEYBOX_OK)
		gw_secret_free(plain); /* never hand out unauthenticated plaintext */
	return rc;
}
