/*
 * keybox.h - encryption at rest under the gateway's master key (private to
 * gateway/).
 *
 * The key box holds one 256-bit master key, read from a key file that only its
 * owner may read, and seals small values (secret access keys of issued
 * credentials, HMAC secrets of token issuers) with AES-256-GCM before they
 * reach the database. A sealed blob names the key that sealed it, so opening a
 * blob with another key is reported as "wrong master key" rather than as
 * corruption, and each seal takes additional authenticated data - the identity
 * of the row the blob belongs to - so that a blob copied into another row no
 * longer opens. docs/security.md describes the key file and blob formats.
 *
 * The box is immutable after gw_keybox_open and may be shared by threads.
 */
#ifndef TASKGATE_GATEWAY_KEYBOX_H
#define TASKGATE_GATEWAY_KEYBOX_H

#include <stddef.h>

#include "gateway/secret.h"

enum gw_keybox_status {
	GW_KEYBOX_OK = 0,
	GW_KEYBOX_ERR_NOMEM = -1,
	GW_KEYBOX_ERR_IO = -2,          /* the key file cannot be read or written */
	GW_KEYBOX_ERR_EXISTS = -3,      /* refusing to overwrite an existing key file */
	GW_KEYBOX_ERR_PERMISSIONS = -4, /* key file not private to its owner, or not a file */
	GW_KEYBOX_ERR_FORMAT = -5,      /* key file or blob not in a format we know */
	GW_KEYBOX_ERR_WRONG_KEY = -6,   /* blob sealed under another master key */
	GW_KEYBOX_ERR_AUTH = -7,        /* blob altered, or opened with other AAD */
	GW_KEYBOX_ERR_CRYPTO = -8,      /* the cipher library failed */
	GW_KEYBOX_ERR_ARG = -9,
};

struct gw_keybox_error {
	int code;          /* an enum gw_keybox_status */
	char message[512]; /* for a person: names the file and what to do */
};

#define GW_KEYBOX_KEY_LEN    32 /* AES-256 */
#define GW_KEYBOX_KEY_ID_LEN 8  /* bytes of the key's fingerprint in each blob */
#define GW_KEYBOX_NONCE_LEN  12
#define GW_KEYBOX_TAG_LEN    16
#define GW_KEYBOX_VERSION    1
/* version + key id + nonce in front, tag behind. */
#define GW_KEYBOX_OVERHEAD (1 + GW_KEYBOX_KEY_ID_LEN + GW_KEYBOX_NONCE_LEN + GW_KEYBOX_TAG_LEN)
/* Largest value the box seals: these are keys and secrets, not documents. */
#define GW_KEYBOX_MAX_PLAINTEXT ((size_t)1 << 16)

struct gw_keybox; /* opaque; owns a copy of the key in a wiped secret buffer */

/*
 * Creates a new key file at path holding a fresh random key: created with
 * O_EXCL and mode 0600 (the umask may only narrow it), written and fsync'd, its
 * folder fsync'd. An existing file (or symlink) at path is never touched:
 * GW_KEYBOX_ERR_EXISTS. A partly written file is removed.
 */
int gw_keybox_create_keyfile(const char *path, struct gw_keybox_error *err);

/*
 * Reads the key file at path. Refused: anything but a regular file, a file
 * whose mode grants any permission to group or others (the message gives the
 * mode and the chmod that fixes it), a file owned by someone other than this
 * user or root, and any content other than the v1 format.
 */
int gw_keybox_open(const char *path, struct gw_keybox **out, struct gw_keybox_error *err);

/* A box over a key held in memory (exactly GW_KEYBOX_KEY_LEN bytes; copied). */
int gw_keybox_from_key(const unsigned char *key, size_t n, struct gw_keybox **out,
                       struct gw_keybox_error *err);

void gw_keybox_free(struct gw_keybox *box); /* wipes the key; NULL is fine */

/* The key's fingerprint as 16 hex digits + NUL, for logs and `taskgate` output. */
void gw_keybox_key_id_hex(const struct gw_keybox *box, char out[2 * GW_KEYBOX_KEY_ID_LEN + 1]);

/*
 * Seals plain (n bytes, at most GW_KEYBOX_MAX_PLAINTEXT) bound to aad (aad_n
 * bytes, may be empty). *blob gets a malloc'd buffer of n + GW_KEYBOX_OVERHEAD
 * bytes that the caller frees with free(); it is not secret.
 */
int gw_keybox_seal(const struct gw_keybox *box, const void *plain, size_t n, const void *aad,
                   size_t aad_n, unsigned char **blob, size_t *blob_n, struct gw_keybox_error *err);

/*
 * Opens a blob sealed by gw_keybox_seal with the same aad. The plaintext goes
 * into *plain, a secret buffer the caller frees with gw_secret_free; it is
 * NUL-terminated one byte past plain->n for callers that hold text.
 */
int gw_keybox_unseal(const struct gw_keybox *box, const unsigned char *blob, size_t blob_n,
                     const void *aad, size_t aad_n, struct gw_secret *plain,
                     struct gw_keybox_error *err);

#endif
