/* jwt_test — round trips plus the attacks HS256-only verification must stop:
 * alg confusion, tampering, malformed shapes and bad claims. Hostile tokens
 * are hand-crafted (and, where it matters, correctly signed) so each test
 * reaches the check it is aimed at. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/kit/jwt.h"
#include "core/crypto.h"

#define NOW 1700000000
#define ISS "parley"
#define AUD "agent"

static const uint8_t KEY[] = "0123456789abcdef0123456789abcdef";
#define KEY_LEN 32

/* {"alg":"HS256","typ":"JWT"} */
#define HS256_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* Token from raw header/payload JSON text. Signed with key when given,
 * else the signature part is sig_text (may be ""). Caller frees. */
static char *craft(const char *hdr, const char *payload, const uint8_t *key, size_t key_len,
		   const char *sig_text)
{
	size_t hl = strlen(hdr), pl = strlen(payload);
	size_t cap = CRYPTO_B64URL_LEN(hl) + CRYPTO_B64URL_LEN(pl) +
		     CRYPTO_B64URL_LEN(CRYPTO_SHA256_LEN) + (sig_text ? strlen(sig_text) : 0) + 4;
	char *t = malloc(cap);
	assert_non_null(t);
	size_t n = crypto_b64url_encode(hdr, hl, t);
	t[n++] = '.';
	n += crypto_b64url_encode(payload, pl, t + n);
	if (key) {
		uint8_t mac[CRYPTO_SHA256_LEN];
		crypto_hmac_sha256(key, key_len, t, n, mac);
		t[n++] = '.';
		crypto_b64url_encode(mac, sizeof mac, t + n);
	} else {
		snprintf(t + n, cap - n, ".%s", sig_text ? sig_text : "");
	}
	return t;
}

static const char *good_payload(void)
{
	static char buf[256];
	snprintf(buf, sizeof buf,
		 "{\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\",\"sub\":\"u1\"}",
		 NOW + 900, NOW);
	return buf;
}

static int verify(const char *token, int64_t now)
{
	json_t *claims = (json_t *)0x1;
	int rc = jwt_verify(token, strlen(token), KEY, KEY_LEN, ISS, AUD, now, &claims);
	if (rc == JWT_OK) {
		assert_non_null(claims);
		json_decref(claims);
	} else {
		assert_null(claims);
	}
	return rc;
}

static int verify_crafted(const char *hdr, const char *payload)
{
	char *t = craft(hdr, payload, KEY, KEY_LEN, NULL);
	int rc = verify(t, NOW);
	free(t);
	return rc;
}

static char *sign_default(int64_t now, int64_t ttl)
{
	json_t *c = json_pack("{s:s, s:s}", "sub", "u1", "role", "agent");
	char *t = jwt_sign(c, KEY, KEY_LEN, ISS, AUD, now, ttl);
	json_decref(c);
	assert_non_null(t);
	return t;
}

static void test_round_trip(void **state)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:i}", "sub", "u1", "role", "admin",
			      "iss", "overwritten", "exp", 1);
	char *t = jwt_sign(c, KEY, KEY_LEN, ISS, AUD, NOW, 900);
	json_decref(c);
	assert_non_null(t);
	assert_true(strlen(t) <= JWT_MAX_LEN);
	/* Header is the fixed, sorted, compact {"alg":"HS256","typ":"JWT"}. */
	assert_int_equal(strncmp(t, HS256_HEADER_B64 ".", strlen(HS256_HEADER_B64) + 1), 0);

	json_t *claims = NULL;
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, ISS, AUD, NOW, &claims), JWT_OK);
	assert_non_null(claims);
	assert_string_equal(json_string_value(json_object_get(claims, "sub")), "u1");
	assert_string_equal(json_string_value(json_object_get(claims, "role")), "admin");
	assert_string_equal(json_string_value(json_object_get(claims, "iss")), ISS);
	assert_string_equal(json_string_value(json_object_get(claims, "aud")), AUD);
	assert_int_equal(json_integer_value(json_object_get(claims, "iat")), NOW);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")), NOW + 900);
	json_decref(claims);

	/* Still valid just before expiry; NULL claims_out is allowed. */
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, ISS, AUD, NOW + 899, NULL),
			 JWT_OK);
	/* len bounds the token: it need not be NUL-terminated. */
	size_t n = strlen(t);
	char *copy = malloc(n + 5);
	assert_non_null(copy);
	memcpy(copy, t, n);
	memcpy(copy + n, "junk", 5);
	assert_int_equal(jwt_verify(copy, n, KEY, KEY_LEN, ISS, AUD, NOW, NULL), JWT_OK);
	assert_int_not_equal(jwt_verify(copy, n + 4, KEY, KEY_LEN, ISS, AUD, NOW, NULL), JWT_OK);
	free(copy);
	free(t);

	/* NULL claims sign as an empty object plus the registered claims. */
	t = jwt_sign(NULL, KEY, KEY_LEN, ISS, AUD, NOW, 60);
	assert_non_null(t);
	assert_int_equal(verify(t, NOW), JWT_OK);
	free(t);
}

static void test_sign_rejects(void **state)
{
	json_t *arr = json_array();
	assert_null(jwt_sign(arr, KEY, KEY_LEN, ISS, AUD, NOW, 60));
	json_decref(arr);
	assert_null(jwt_sign(NULL, KEY, 0, ISS, AUD, NOW, 60));
	assert_null(jwt_sign(NULL, KEY, KEY_LEN, NULL, AUD, NOW, 60));
	assert_null(jwt_sign(NULL, KEY, KEY_LEN, ISS, NULL, NOW, 60));
	assert_null(jwt_sign(NULL, KEY, KEY_LEN, ISS, AUD, INT64_MAX - 10, 60));
}

static void test_expired(void **state)
{
	char *t = sign_default(NOW, 900);
	assert_int_equal(verify(t, NOW + 900), JWT_EEXPIRED);
	assert_int_equal(verify(t, NOW + 100000), JWT_EEXPIRED);
	free(t);

	char p[128];
	snprintf(p, sizeof p, "{\"aud\":\"" AUD "\",\"iat\":%d,\"iss\":\"" ISS "\"}", NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EEXPIRED);
	snprintf(p, sizeof p, "{\"aud\":\"" AUD "\",\"exp\":\"%d\",\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EEXPIRED);
	snprintf(p, sizeof p, "{\"aud\":\"" AUD "\",\"exp\":%d.5,\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EEXPIRED);
}

static void test_iat_future(void **state)
{
	char *t = sign_default(NOW + 120, 900);
	assert_int_equal(verify(t, NOW), JWT_EIAT);
	free(t);
	/* 60 s of clock skew is tolerated. */
	t = sign_default(NOW + 60, 900);
	assert_int_equal(verify(t, NOW), JWT_OK);
	free(t);
	t = sign_default(NOW + 61, 900);
	assert_int_equal(verify(t, NOW), JWT_EIAT);
	free(t);

	char p[128];
	snprintf(p, sizeof p, "{\"aud\":\"" AUD "\",\"exp\":%d,\"iss\":\"" ISS "\"}", NOW + 900);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EIAT);
	snprintf(p, sizeof p, "{\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":null,\"iss\":\"" ISS "\"}",
		 NOW + 900);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EIAT);
}

static void test_wrong_key(void **state)
{
	char *t = sign_default(NOW, 900);
	const uint8_t other[] = "0123456789abcdef0123456789abcdeX";
	assert_int_equal(jwt_verify(t, strlen(t), other, KEY_LEN, ISS, AUD, NOW, NULL), JWT_ESIG);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN - 1, ISS, AUD, NOW, NULL), JWT_ESIG);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, 0, ISS, AUD, NOW, NULL), JWT_ESIG);
	free(t);
}

static void test_wrong_iss(void **state)
{
	char *t = sign_default(NOW, 900);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, "other", AUD, NOW, NULL),
			 JWT_EISS);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, "parle", AUD, NOW, NULL),
			 JWT_EISS);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, NULL, AUD, NOW, NULL), JWT_EISS);
	free(t);

	char p[128];
	snprintf(p, sizeof p, "{\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":%d}", NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EISS);
}

static void test_wrong_aud(void **state)
{
	char *t = sign_default(NOW, 900);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, ISS, "visitor", NOW, NULL),
			 JWT_EAUD);
	assert_int_equal(jwt_verify(t, strlen(t), KEY, KEY_LEN, ISS, NULL, NOW, NULL), JWT_EAUD);
	free(t);

	char p[128];
	snprintf(p, sizeof p, "{\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\"}", NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EAUD);
	snprintf(p, sizeof p, "{\"aud\":7,\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EAUD);
}

static void test_aud_array(void **state)
{
	char p[160];
	snprintf(p, sizeof p,
		 "{\"aud\":[\"visitor\",\"" AUD "\"],\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p), JWT_OK);

	snprintf(p, sizeof p,
		 "{\"aud\":[\"visitor\",\"admin\"],\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EAUD);

	snprintf(p, sizeof p, "{\"aud\":[],\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EAUD);

	snprintf(p, sizeof p, "{\"aud\":[[\"" AUD "\"]],\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS "\"}",
		 NOW + 900, NOW);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", p), JWT_EAUD);
}

static void test_alg_none(void **state)
{
	/* The classic: header {"alg":"none"} and an empty signature. */
	char *t = craft("{\"alg\":\"none\"}", good_payload(), NULL, 0, "");
	assert_int_equal(strncmp(t, "eyJhbGciOiJub25lIn0.", 20), 0);
	assert_int_equal(verify(t, NOW), JWT_EALG);
	free(t);

	/* Same, but carrying a signature that is valid HMAC of the input. */
	t = craft("{\"alg\":\"none\"}", good_payload(), KEY, KEY_LEN, NULL);
	assert_int_equal(verify(t, NOW), JWT_EALG);
	free(t);

	static const char *hdrs[] = {
		"{\"alg\":\"None\"}",
		"{\"alg\":\"NONE\",\"typ\":\"JWT\"}",
		"{\"typ\":\"JWT\"}",
		"{\"alg\":null}",
		"{\"alg\":256}",
		"{\"alg\":[\"HS256\"]}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"RS256\"}",
	};
	for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		t = craft(hdrs[i], good_payload(), KEY, KEY_LEN, NULL);
		int rc = verify(t, NOW);
		if (rc != JWT_EALG)
			fail_msg("header %s: rc %d", hdrs[i], rc);
		free(t);
	}
}

static void test_alg_hs512(void **state)
{
	char *t = craft("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good_payload(), KEY, KEY_LEN, NULL);
	assert_int_equal(verify(t, NOW), JWT_EALG);
	free(t);
}

static void test_duplicate_alg(void **state)
{
	char *t = craft("{\"alg\":\"none\",\"alg\":\"HS256\"}", good_payload(), KEY, KEY_LEN, NULL);
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);
}

static void test_tampered_payload(void **state)
{
	char *t = sign_default(NOW, 900);
	char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');

	/* Re-encode a different payload and keep the old signature. */
	char evil[256];
	int n = snprintf(evil, sizeof evil,
			 "{\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS
			 "\",\"role\":\"owner\",\"sub\":\"u1\"}", NOW + 900, NOW);
	char forged[1024];
	size_t pos = (size_t)(d1 - t) + 1;
	memcpy(forged, t, pos);
	pos += crypto_b64url_encode(evil, (size_t)n, forged + pos);
	snprintf(forged + pos, sizeof forged - pos, "%s", d2);
	assert_int_equal(verify(forged, NOW), JWT_ESIG);

	/* Flip one payload character. */
	d1[1] = d1[1] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(t, NOW), JWT_ESIG);
	free(t);
}

static void test_tampered_signature(void **state)
{
	char *t = sign_default(NOW, 900);
	size_t n = strlen(t);
	char *sig = strrchr(t, '.') + 1;
	assert_int_equal(strlen(sig), CRYPTO_B64URL_LEN(CRYPTO_SHA256_LEN));

	char saved = sig[0];
	sig[0] = saved == 'A' ? 'B' : 'A';
	assert_int_equal(verify(t, NOW), JWT_ESIG);
	sig[0] = saved;
	assert_int_equal(verify(t, NOW), JWT_OK);

	/* The last char of a 32-byte MAC carries 2 padding bits: setting them
	 * would decode to the same MAC, so the strict decoder must refuse. */
	char last = t[n - 1];
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t v = (size_t)(strchr(alpha, last) - alpha);
	assert_int_equal(v & 3, 0);
	t[n - 1] = alpha[v | 1];
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	t[n - 1] = last;

	/* Truncated (30-byte) and empty signatures. */
	assert_int_not_equal(jwt_verify(t, n - 1, KEY, KEY_LEN, ISS, AUD, NOW, NULL), JWT_OK);
	assert_int_equal(jwt_verify(t, n - 3, KEY, KEY_LEN, ISS, AUD, NOW, NULL), JWT_ESIG);
	assert_int_equal(jwt_verify(t, (size_t)(sig - t), KEY, KEY_LEN, ISS, AUD, NOW, NULL),
			 JWT_ESIG);

	/* '=' padding would decode to the same MAC: JWS forbids it, and so do we. */
	char padded[1024];
	snprintf(padded, sizeof padded, "%s=", t);
	assert_int_equal(verify(padded, NOW), JWT_EFORMAT);
	free(t);
}

static void test_two_parts(void **state)
{
	char *t = sign_default(NOW, 900);
	*strrchr(t, '.') = '\0';
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);
	assert_int_equal(verify("abc", NOW), JWT_EFORMAT);
	assert_int_equal(verify("", NOW), JWT_EFORMAT);
	assert_int_equal(jwt_verify(NULL, 0, KEY, KEY_LEN, ISS, AUD, NOW, NULL), JWT_EFORMAT);
}

static void test_four_parts(void **state)
{
	char *t = sign_default(NOW, 900);
	char buf[1024];
	snprintf(buf, sizeof buf, "%s.", t);
	assert_int_equal(verify(buf, NOW), JWT_EFORMAT);
	snprintf(buf, sizeof buf, "%s.AAAA", t);
	assert_int_equal(verify(buf, NOW), JWT_EFORMAT);
	free(t);
	assert_int_equal(verify("...", NOW), JWT_EFORMAT);
}

static void test_garbage_base64(void **state)
{
	assert_int_equal(verify("!!!.@@@.###", NOW), JWT_EFORMAT);
	assert_int_equal(verify("..", NOW), JWT_EFORMAT);

	char *t = sign_default(NOW, 900);
	/* Standard-alphabet characters in the header. */
	t[2] = '+';
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);

	/* Valid base64url that is not JSON, or JSON that is not an object. */
	t = craft("not json", good_payload(), KEY, KEY_LEN, NULL);
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);
	t = craft("[\"HS256\"]", good_payload(), KEY, KEY_LEN, NULL);
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);

	/* Correctly signed, but the payload is not a JSON object. */
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", "[1,2]"), JWT_EFORMAT);
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", "{\"exp\":"), JWT_EFORMAT);

	/* Garbage in the signature part. */
	t = sign_default(NOW, 900);
	strrchr(t, '.')[1] = '*';
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);
}

static void test_oversize(void **state)
{
	/* A correctly signed token just over the limit is refused unread. */
	size_t filler = JWT_MAX_LEN;
	char *payload = malloc(filler + 128);
	assert_non_null(payload);
	int n = snprintf(payload, 128, "{\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":%d,\"iss\":\"" ISS
			 "\",\"x\":\"", NOW + 900, NOW);
	memset(payload + n, 'a', filler);
	strcpy(payload + n + filler, "\"}");
	char *t = craft("{\"alg\":\"HS256\"}", payload, KEY, KEY_LEN, NULL);
	assert_true(strlen(t) > JWT_MAX_LEN);
	assert_int_equal(verify(t, NOW), JWT_EFORMAT);
	free(t);
	free(payload);

	/* jwt_sign never issues a token that verify would refuse. */
	char *big = malloc(JWT_MAX_LEN + 1);
	assert_non_null(big);
	memset(big, 'a', JWT_MAX_LEN);
	big[JWT_MAX_LEN] = '\0';
	json_t *c = json_pack("{s:s}", "x", big);
	assert_null(jwt_sign(c, KEY, KEY_LEN, ISS, AUD, NOW, 900));
	json_decref(c);
	free(big);

	/* Length, not content, is what counts. */
	t = sign_default(NOW, 900);
	assert_int_equal(jwt_verify(t, JWT_MAX_LEN + 1, KEY, KEY_LEN, ISS, AUD, NOW, NULL),
			 JWT_EFORMAT);
	free(t);
}

static void test_typ(void **state)
{
	static const char *bad[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
		"{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
		"{\"alg\":\"HS256\",\"typ\":\"\"}",
		"{\"alg\":\"HS256\",\"typ\":null}",
		"{\"alg\":\"HS256\",\"typ\":1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = verify_crafted(bad[i], good_payload());
		if (rc != JWT_EFORMAT)
			fail_msg("header %s: rc %d", bad[i], rc);
	}
	/* typ is optional. */
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", good_payload()), JWT_OK);
}

static void test_strerror(void **state)
{
	static const int codes[] = { JWT_OK, JWT_EFORMAT, JWT_EALG, JWT_ESIG, JWT_EEXPIRED,
				     JWT_EIAT, JWT_EISS, JWT_EAUD, JWT_ENOMEM, -1, 12345 };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		const char *s = jwt_strerror(codes[i]);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	assert_string_not_equal(jwt_strerror(JWT_ESIG), jwt_strerror(JWT_EALG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_sign_rejects),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_iat_future),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_wrong_iss),
		cmocka_unit_test(test_wrong_aud),
		cmocka_unit_test(test_aud_array),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_alg_hs512),
		cmocka_unit_test(test_duplicate_alg),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_two_parts),
		cmocka_unit_test(test_four_parts),
		cmocka_unit_test(test_garbage_base64),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_typ),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
