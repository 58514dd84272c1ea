/* secretbox — small secrets encrypted at rest under a server key.
 *
 * Settings that hold a credential for another system (a tenant's SMTP
 * password) are stored sealed: ChaCha20-Poly1305 (RFC 8439, BearSSL) under
 * a 32-byte server key that lives in its own file outside the data
 * directory, so a copy of the database alone (a backup, a stolen disk
 * image of the data volume) does not give the passwords away. Each seal
 * draws a fresh random 96-bit nonce; the caller binds the secret to where
 * it belongs through the additional data (e.g. the tenant id), so a sealed
 * value moved to another record does not open.
 *
 * Sealed form: base64url (no padding) of version (1 byte, 1) · nonce (12)
 * · ciphertext · tag (16). No allocation; thread-safe.
 */
#ifndef PARLEY_SECRETBOX_H
#define PARLEY_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/crypto.h"

#define SECRETBOX_KEY_LEN 32
#define SECRETBOX_OVERHEAD (1 + 12 + 16)   /* version, nonce, tag */
/* Length of the sealed text of n plaintext bytes, excluding NUL. */
#define SECRETBOX_SEALED_LEN(n) CRYPTO_B64URL_LEN(SECRETBOX_OVERHEAD + (n))

/* Loads the key from path, or, when there is no such file, creates it: 32
 * random bytes, mode 0600, written and synced before use (*created set).
 * An existing file must be a regular file (not a link) of exactly 32 bytes
 * owned by this user and not readable or writable by group or others.
 * 0, or -1 with the reason in err. */
int secretbox_key_file(const char *path, uint8_t key[SECRETBOX_KEY_LEN], bool *created, char *err,
		       size_t errlen);

/* Seals n bytes of plain under key, bound to aad (may be NULL with
 * aad_len 0), into out as NUL-terminated text; its length, or -1 when it
 * does not fit in cap bytes or no randomness could be had. */
long secretbox_seal(const uint8_t key[SECRETBOX_KEY_LEN], const void *aad, size_t aad_len, const void *plain,
		    size_t n, char *out, size_t cap);

/* Opens sealed text into out (cap bytes; a NUL is added after the
 * plaintext): the plaintext's length, or -1 when the text is malformed,
 * was sealed under another key or other aad, was altered, or does not fit.
 * Nothing of a refused plaintext is left in out. */
long secretbox_open(const uint8_t key[SECRETBOX_KEY_LEN], const void *aad, size_t aad_len, const char *sealed,
		    void *out, size_t cap);

#endif
