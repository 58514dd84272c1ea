/* crypto — hashing, MACs, encodings and randomness used across Parley.
 *
 * Thin wrappers over BearSSL (SHA-1, SHA-256, HMAC) and getrandom(2), plus
 * base64 / base64url codecs and a constant-time comparison. No allocation:
 * callers supply output buffers.
 */
#ifndef PARLEY_CRYPTO_H
#define PARLEY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CRYPTO_SHA1_LEN   20
#define CRYPTO_SHA256_LEN 32

/* SHA-1 of data (WebSocket handshake only). */
void crypto_sha1(const void *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN]);

/* SHA-256 of data. */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* SHA-256 over data given in pieces: new (NULL on OOM), update any number
 * of times, then final, which writes the digest and frees the context. */
typedef struct crypto_sha256_ctx crypto_sha256_ctx;
crypto_sha256_ctx *crypto_sha256_new(void);
void crypto_sha256_update(crypto_sha256_ctx *c, const void *data, size_t len);
void crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[CRYPTO_SHA256_LEN]);

/* HMAC-SHA256 of data under key. */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN]);

/* Constant-time equality of two equal-length buffers; false if lengths differ. */
bool crypto_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* Fills buf with cryptographically secure random bytes; 0 or -1. */
int crypto_random(void *buf, size_t len);

/* Length of the standard base64 encoding of n bytes (with padding), excluding NUL. */
#define CRYPTO_B64_LEN(n) ((((n) + 2) / 3) * 4)
/* Length of the unpadded base64url encoding of n bytes, excluding NUL. */
#define CRYPTO_B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* Standard base64 with padding; writes NUL; returns chars written (excl. NUL). */
size_t crypto_b64_encode(const void *in, size_t len, char *out);

/* base64url without padding; writes NUL; returns chars written (excl. NUL). */
size_t crypto_b64url_encode(const void *in, size_t len, char *out);

/* Decodes unpadded (or correctly padded) base64url; returns bytes written, or
 * -1 on an invalid character, invalid length (len % 4 == 1), non-zero unused
 * trailing bits, or output capacity exceeded. Strict, so each byte string
 * has exactly one unpadded encoding. */
long crypto_b64url_decode(const char *in, size_t len, void *out, size_t cap);

/* Lower-case hex of in; writes NUL; out must hold 2*len+1. */
void crypto_hex(const void *in, size_t len, char *out);

#endif
