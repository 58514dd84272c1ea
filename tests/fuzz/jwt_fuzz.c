/* Fuzz target for actors/jwt: jwt_verify over hostile tokens, jwt_sign over
 * arbitrary claims.
 *
 * Fixed key (32 bytes), clock (NOW), issuer and audience. Byte 0 picks the
 * mode (mod 4):
 *
 *   0  the rest is the token, verified as given;
 *   1  the rest is the signed part ("header.payload" text, any bytes); the
 *      harness appends "." and the correct signature, so the fuzzer gets
 *      past the MAC with non-canonical base64url, padding, extra dots...;
 *   2  byte 1 is a header length h; the next h bytes are the header JSON
 *      (h = 0: the standard {"alg":"HS256","typ":"JWT"}) and the rest the
 *      payload JSON: both base64url-encoded and correctly signed here;
 *   3  jwt_sign: bytes 1-9 choose the signing clock, the lifetime, the
 *      issuer/audience signed with and a byte to flip; the rest is parsed as
 *      the claims JSON (not an object: jwt_sign must refuse it).
 *
 * Modes 0-2 compare jwt_verify's result code with a reference written here
 * from jwt.h: exactly three '.'-separated parts, no '=', length limit, an
 * independent strict base64url decoder, the header a JSON object (no
 * duplicate keys) whose alg is exactly "HS256" and typ, if present, exactly
 * "JWT", the HMAC-SHA256 of "header.payload" recomputed (with core/crypto.h,
 * and cross-checked against an HMAC built here from crypto_sha256) and
 * compared with the decoded signature, then the claims rules (exp > now;
 * iat not more than JWT_IAT_SKEW_S ahead; iss equal; aud equal or an array
 * holding it). Above all, an accepted token must carry the right MAC: in
 * mode 0 the fuzzer can never forge one, so jwt_verify must never say
 * JWT_OK there unless the reference's MAC check passed. On JWT_OK the
 * claims handed back equal the payload; otherwise the out pointer is NULL.
 *
 * Mode 3 checks jwt_sign refuses exactly what it must (non-object claims,
 * exp overflow, a token over JWT_MAX_LEN) and otherwise issues a token of
 * the predicted length that jwt_verify accepts iff exp/iat/iss/aud satisfy
 * the rules (with the predicted error code otherwise), handing back the
 * claims signed; and that flipping any single byte of the token (every
 * position of the signature part and the dot before it, and 20 random
 * positions of the rest; the flip value comes from the input) makes it fail with a
 * format, algorithm or signature error — never with a claims error, which
 * would mean the payload was read before the MAC was checked.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors/kit/jwt.h"
#include "core/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define NOW ((int64_t)1700000000)
#define ISS "parley"
#define AUD "agent"
static const uint8_t KEY[32] = "0123456789abcdef0123456789abcdef";

/* ---------- reference ---------- */

static int b64v(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

/* Strict unpadded base64url: -1 on a bad char, a length of 1 mod 4 or
 * non-zero unused bits; else the decoded length (out holds len*3/4). */
static long ref_b64(const char *in, size_t len, uint8_t *out)
{
	if (len % 4 == 1)
		return -1;
	size_t o = 0;
	uint32_t bits = 0;
	int nb = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64v((unsigned char)in[i]);
		if (v < 0)
			return -1;
		bits = bits << 6 | (uint32_t)v;
		nb += 6;
		if (nb >= 8) {
			nb -= 8;
			out[o++] = (uint8_t)(bits >> nb);
			bits &= (1u << nb) - 1;
		}
	}
	if (bits != 0)
		return -1;
	return (long)o;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t ref_b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;
	uint32_t bits = 0;
	int nb = 0;
	for (size_t i = 0; i < len; i++) {
		bits = bits << 8 | in[i];
		nb += 8;
		while (nb >= 6) {
			nb -= 6;
			out[o++] = b64chars[(bits >> nb) & 63];
		}
		bits &= (1u << nb) - 1;
	}
	if (nb)
		out[o++] = b64chars[(bits << (6 - nb)) & 63];
	out[o] = 0;
	return o;
}

/* HMAC-SHA256 from crypto_sha256 (RFC 2104, key <= 64 bytes). */
static void ref_hmac(const uint8_t *key, size_t klen, const void *msg, size_t len, uint8_t out[32])
{
	uint8_t k[64] = { 0 };
	memcpy(k, key, klen);
	uint8_t *in = malloc(64 + len + 1);
	CHECK(in);
	for (int i = 0; i < 64; i++)
		in[i] = k[i] ^ 0x36;
	if (len)
		memcpy(in + 64, msg, len);
	uint8_t inner[32], outer[64 + 32];
	crypto_sha256(in, 64 + len, inner);
	free(in);
	for (int i = 0; i < 64; i++)
		outer[i] = k[i] ^ 0x5c;
	memcpy(outer + 64, inner, 32);
	crypto_sha256(outer, sizeof outer, out);
}

static void mac(const void *msg, size_t len, uint8_t out[32])
{
	crypto_hmac_sha256(KEY, sizeof KEY, msg, len, out);
	uint8_t ref[32];
	ref_hmac(KEY, sizeof KEY, msg, len, ref);
	CHECK(memcmp(out, ref, 32) == 0);
}

static bool str_is(const json_t *v, const char *want)
{
	size_t n = strlen(want);
	return json_is_string(v) && json_string_length(v) == n &&
	       memcmp(json_string_value(v), want, n) == 0;
}

/* Decodes a part and parses it as a JSON object; NULL if it is not one. */
static json_t *ref_object(const char *p, size_t len)
{
	uint8_t *raw = malloc(len + 1);
	CHECK(raw);
	long n = ref_b64(p, len, raw);
	json_t *o = NULL;
	if (n >= 0) {
		o = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
		if (o && !json_is_object(o)) {
			json_decref(o);
			o = NULL;
		}
	}
	free(raw);
	return o;
}

static int ref_claims(const json_t *c)
{
	const json_t *exp = json_object_get(c, "exp");
	if (!json_is_integer(exp) || json_integer_value(exp) <= NOW)
		return JWT_EEXPIRED;
	const json_t *iat = json_object_get(c, "iat");
	if (!json_is_integer(iat))
		return JWT_EIAT;
	json_int_t iv = json_integer_value(iat);
	if (iv > NOW && iv - NOW > JWT_IAT_SKEW_S)
		return JWT_EIAT;
	if (!str_is(json_object_get(c, "iss"), ISS))
		return JWT_EISS;
	const json_t *a = json_object_get(c, "aud");
	if (json_is_array(a)) {
		for (size_t i = 0; i < json_array_size(a); i++)
			if (str_is(json_array_get(a, i), AUD))
				return JWT_OK;
		return JWT_EAUD;
	}
	return str_is(a, AUD) ? JWT_OK : JWT_EAUD;
}

/* The expected result of jwt_verify; *mac_ok says whether the signature
 * part decoded to exactly the HMAC of the signed part; *payload gets the
 * payload object when the result is JWT_OK. */
static int reference(const char *t, size_t len, bool *mac_ok, json_t **payload)
{
	*mac_ok = false;
	*payload = NULL;
	if (len == 0 || len > JWT_MAX_LEN || memchr(t, '=', len))
		return JWT_EFORMAT;
	size_t dots[3], nd = 0;
	for (size_t i = 0; i < len; i++)
		if (t[i] == '.') {
			if (nd == 2)
				return JWT_EFORMAT;
			dots[nd++] = i;
		}
	if (nd != 2)
		return JWT_EFORMAT;

	json_t *hdr = ref_object(t, dots[0]);
	if (!hdr)
		return JWT_EFORMAT;
	int rc = JWT_OK;
	if (!str_is(json_object_get(hdr, "alg"), "HS256"))
		rc = JWT_EALG;
	else if (json_object_get(hdr, "typ") && !str_is(json_object_get(hdr, "typ"), "JWT"))
		rc = JWT_EFORMAT;
	json_decref(hdr);
	if (rc)
		return rc;

	size_t slen = len - dots[1] - 1;
	uint8_t *sig = malloc(slen + 1);
	CHECK(sig);
	long sn = ref_b64(t + dots[1] + 1, slen, sig);
	if (sn < 0) {
		free(sig);
		return JWT_EFORMAT;
	}
	uint8_t m[32];
	mac(t, dots[1], m);
	*mac_ok = sn == 32 && memcmp(sig, m, 32) == 0;
	free(sig);
	if (!*mac_ok)
		return JWT_ESIG;

	json_t *claims = ref_object(t + dots[0] + 1, dots[1] - dots[0] - 1);
	if (!claims)
		return JWT_EFORMAT;
	rc = ref_claims(claims);
	if (rc == JWT_OK)
		*payload = claims;
	else
		json_decref(claims);
	return rc;
}

/* Verifies t[0..len) (an exact-size copy, no NUL after it) and compares
 * with the reference. mode 0: the MAC was not made here. */
static void verify_vs_reference(const char *t, size_t len)
{
	char *copy = malloc(len ? len : 1);
	CHECK(copy);
	if (len)
		memcpy(copy, t, len);
	json_t *claims = (json_t *)1;
	int rc = jwt_verify(copy, len, KEY, sizeof KEY, ISS, AUD, NOW, &claims);
	bool mac_ok;
	json_t *want;
	int ref = reference(copy, len, &mac_ok, &want);
	if (rc == JWT_OK)
		CHECK(mac_ok);           /* never accept a token without the right MAC */
	CHECK(rc == ref);
	if (rc == JWT_OK) {
		CHECK(claims && json_equal(claims, want));
		json_decref(claims);
	} else {
		CHECK(claims == NULL);
	}
	json_decref(want);
	/* claims_out may be NULL */
	CHECK(jwt_verify(copy, len, KEY, sizeof KEY, ISS, AUD, NOW, NULL) == rc);
	free(copy);
}

/* Appends "." and the signature of t[0..len) to t (room for 44 more). */
static size_t sign_here(char *t, size_t len)
{
	uint8_t m[32];
	mac(t, len, m);
	t[len++] = '.';
	return len + ref_b64_encode(m, 32, t + len);
}

/* ---------- mode 3: jwt_sign ---------- */

static uint32_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void sign_mode(const uint8_t *d, size_t n)
{
	if (n < 9)
		return;
	static const int64_t bases[8] = {
		NOW, NOW - 61, NOW + 60, NOW + 61, INT64_MAX, INT64_MIN, 0, NOW - 3600,
	};
	int64_t delta = (int16_t)(d[1] | d[2] << 8);
	int64_t base = bases[d[0] & 7], now_s;
	if (base == INT64_MAX)
		now_s = base - (delta < 0 ? -delta : delta);
	else if (base == INT64_MIN)
		now_s = base + (delta < 0 ? -delta : delta);
	else
		now_s = base + delta;
	int64_t ttl = (int32_t)((uint32_t)d[3] | (uint32_t)d[4] << 8 | (uint32_t)d[5] << 16 |
				(uint32_t)d[6] << 24);
	switch ((d[0] >> 3) & 3) {
	case 1: ttl = INT64_MAX - (ttl & 0xFFFF); break;
	case 2: ttl = INT64_MIN + (ttl & 0xFFFF); break;
	default: break;
	}
	static const char *isses[4] = { ISS, "parley2", "", "Parley" };
	static const char *auds[4] = { AUD, "visitor", "", "agent\x01" };
	const char *iss = (d[0] >> 5) & 1 ? isses[1 + d[7] % 3] : ISS;
	const char *aud = (d[0] >> 6) & 1 ? auds[1 + (d[7] >> 4) % 3] : AUD;
	uint8_t flip = d[8] ? d[8] : 0x80;
	rng = 0x9E3779B9u ^ ((uint32_t)d[7] << 8 | d[8]);

	json_t *claims = n > 9 ? json_loadb((const char *)d + 9, n - 9, JSON_DECODE_ANY, NULL) : NULL;
	char *tok = jwt_sign(claims, KEY, sizeof KEY, iss, aud, now_s, ttl);
	if (claims && !json_is_object(claims)) {
		CHECK(tok == NULL);
		json_decref(claims);
		return;
	}
	bool overflow = (ttl > 0 && now_s > INT64_MAX - ttl) || (ttl < 0 && now_s < INT64_MIN - ttl);
	if (overflow) {
		CHECK(tok == NULL);
		json_decref(claims);
		return;
	}
	/* the body jwt_sign must have signed, and the token's length */
	json_t *body = claims ? json_deep_copy(claims) : json_object();
	CHECK(body);
	CHECK(json_object_set_new(body, "iss", json_string(iss)) == 0);
	CHECK(json_object_set_new(body, "aud", json_string(aud)) == 0);
	CHECK(json_object_set_new(body, "iat", json_integer(now_s)) == 0);
	CHECK(json_object_set_new(body, "exp", json_integer(now_s + ttl)) == 0);
	char *bs = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(bs);
	size_t want_len = CRYPTO_B64URL_LEN(strlen("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")) + 1 +
			  CRYPTO_B64URL_LEN(strlen(bs)) + 1 + CRYPTO_B64URL_LEN(32);
	free(bs);
	json_decref(claims);
	if (want_len > JWT_MAX_LEN) {
		CHECK(tok == NULL);
		json_decref(body);
		return;
	}
	CHECK(tok != NULL);
	size_t len = strlen(tok);
	CHECK(len == want_len);

	int want = JWT_OK;
	if (now_s + ttl <= NOW)
		want = JWT_EEXPIRED;
	else if (now_s > NOW && now_s - NOW > JWT_IAT_SKEW_S)
		want = JWT_EIAT;
	else if (strcmp(iss, ISS) != 0)
		want = JWT_EISS;
	else if (strcmp(aud, AUD) != 0)
		want = JWT_EAUD;

	char *t = malloc(len);        /* exact size, no NUL */
	CHECK(t);
	memcpy(t, tok, len);
	json_t *got = (json_t *)1;
	int rc = jwt_verify(t, len, KEY, sizeof KEY, ISS, AUD, NOW, &got);
	CHECK(rc == want);
	if (rc == JWT_OK) {
		CHECK(got && json_equal(got, body));
		json_decref(got);
	} else {
		CHECK(got == NULL);
	}
	/* the reference agrees (and its MAC check passes) */
	bool mac_ok;
	json_t *refp;
	CHECK(reference(t, len, &mac_ok, &refp) == want && mac_ok);
	json_decref(refp);

	/* any single flipped byte: refused before the claims are looked at */
	size_t nflip = len <= 64 ? len : 64;
	for (size_t k = 0; k < nflip; k++) {
		/* the signature and the dot before it, then random positions */
		size_t i = len <= 64 ? k : k < 44 ? len - 1 - k : rnd() % len;
		t[i] ^= flip;
		rc = jwt_verify(t, len, KEY, sizeof KEY, ISS, AUD, NOW, NULL);
		CHECK(rc == JWT_EFORMAT || rc == JWT_EALG || rc == JWT_ESIG);
		t[i] ^= flip;
	}
	free(t);
	free(tok);
	json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	switch (data[0] & 3) {
	case 0:
		verify_vs_reference((const char *)in, n);
		break;
	case 1: {
		if (n > JWT_MAX_LEN)
			return 0;
		char *t = malloc(n + 45);
		CHECK(t);
		if (n)
			memcpy(t, in, n);
		size_t len = sign_here(t, n);
		verify_vs_reference(t, len);
		free(t);
		break;
	}
	case 2: {
		if (n < 1 || n > 3 * JWT_MAX_LEN / 4)
			return 0;
		static const char std[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
		size_t h = in[0];
		const uint8_t *hp = (const uint8_t *)std;
		const uint8_t *rest = in + 1;
		size_t rn = n - 1;
		if (h == 0) {
			h = sizeof std - 1;
		} else {
			if (h > rn)
				h = rn;
			hp = rest;
			rest += h;
			rn -= h;
		}
		char *t = malloc(CRYPTO_B64URL_LEN(h) + CRYPTO_B64URL_LEN(rn) + 48);
		CHECK(t);
		size_t len = ref_b64_encode(hp, h, t);
		t[len++] = '.';
		len += ref_b64_encode(rest, rn, t + len);
		len = sign_here(t, len);
		verify_vs_reference(t, len);
		free(t);
		break;
	}
	case 3:
		sign_mode(in, n);
		break;
	}
	return 0;
}
