/* crypto — BearSSL hashes/HMAC, getrandom(2), base64 codecs, ct compare.
 *
 * BearSSL is used only for its hash and HMAC primitives: it is small, does no
 * allocation and has no global state, so these wrappers are thread-safe and
 * need no init/teardown. Randomness comes straight from the kernel through
 * getrandom(2), which blocks only until the pool is seeded at boot and never
 * needs a file descriptor. The base64url decoder is deliberately strict
 * (no stray '=', no len % 4 == 1, no non-zero trailing bits) so that every
 * byte string has exactly one accepted encoding — JWT signatures must not be
 * malleable.
 */
#include "core/crypto.h"

#include <bearssl.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

static const char B64_STD[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char HEX[] = "0123456789abcdef";

void crypto_sha1(const void *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN])
{
	br_sha1_context ctx;
	br_sha1_init(&ctx);
	br_sha1_update(&ctx, data, len);
	br_sha1_out(&ctx, out);
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	br_sha256_context ctx;
	br_sha256_init(&ctx);
	br_sha256_update(&ctx, data, len);
	br_sha256_out(&ctx, out);
}

struct crypto_sha256_ctx {
	br_sha256_context br;
};

crypto_sha256_ctx *crypto_sha256_new(void)
{
	crypto_sha256_ctx *c = malloc(sizeof *c);
	if (c)
		br_sha256_init(&c->br);
	return c;
}

void crypto_sha256_update(crypto_sha256_ctx *c, const void *data, size_t len)
{
	br_sha256_update(&c->br, data, len);
}

void crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[CRYPTO_SHA256_LEN])
{
	br_sha256_out(&c->br, out);
	free(c);
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN])
{
	br_hmac_key_context kc;
	br_hmac_context ctx;
	br_hmac_key_init(&kc, &br_sha256_vtable, key, key_len);
	br_hmac_init(&ctx, &kc, 0);
	br_hmac_update(&ctx, data, len);
	br_hmac_out(&ctx, out);
}

bool crypto_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
	/* Lengths are public (a MAC's length is fixed); only contents are secret. */
	if (a_len != b_len)
		return false;
	const volatile uint8_t *pa = a, *pb = b;
	uint8_t diff = 0;
	for (size_t i = 0; i < a_len; i++)
		diff |= (uint8_t)(pa[i] ^ pb[i]);
	return diff == 0;
}

int crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		/* Requests over 256 bytes may be satisfied partially; loop. */
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t b64_encode(const uint8_t *in, size_t len, char *out, const char *alphabet,
			 bool pad)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	size_t rem = len - i;
	if (rem > 0) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (rem == 2)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (rem == 2)
			out[o++] = alphabet[v >> 6 & 63];
		if (pad) {
			if (rem == 1)
				out[o++] = '=';
			out[o++] = '=';
		}
	}
	out[o] = '\0';
	return o;
}

size_t crypto_b64_encode(const void *in, size_t len, char *out)
{
	return b64_encode(in, len, out, B64_STD, true);
}

size_t crypto_b64url_encode(const void *in, size_t len, char *out)
{
	return b64_encode(in, len, out, B64_URL, false);
}

/* Value of a base64url character, or -1. */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long crypto_b64url_decode(const char *in, size_t len, void *out, size_t cap)
{
	if (!in && len > 0)
		return -1;
	/* Padding is accepted only in its canonical form: a multiple-of-4 input
	 * ending in one or two '='. Any other '=' fails as an invalid char. */
	size_t n = len;
	if (len >= 4 && len % 4 == 0 && in[n - 1] == '=') {
		n--;
		if (in[n - 1] == '=')
			n--;
	}
	size_t rem = n % 4;
	if (rem == 1)
		return -1;
	size_t out_len = n / 4 * 3 + (rem ? rem - 1 : 0);
	if (out_len > cap)
		return -1;

	uint8_t *o = out;
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			*o++ = (uint8_t)(acc >> 16);
			*o++ = (uint8_t)(acc >> 8);
			*o++ = (uint8_t)acc;
			acc = 0;
		}
	}
	if (rem == 2) {
		/* 12 bits carry 8: the low 4 must be zero. */
		if (acc & 0xf)
			return -1;
		*o++ = (uint8_t)(acc >> 4);
	} else if (rem == 3) {
		/* 18 bits carry 16: the low 2 must be zero. */
		if (acc & 0x3)
			return -1;
		*o++ = (uint8_t)(acc >> 10);
		*o++ = (uint8_t)(acc >> 2);
	}
	return (long)out_len;
}

void crypto_hex(const void *in, size_t len, char *out)
{
	const uint8_t *p = in;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = HEX[p[i] >> 4];
		out[2 * i + 1] = HEX[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}
