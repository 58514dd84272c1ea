/* crypto_test — known-answer vectors for the hashes/HMAC, codec round trips
 * and the strict base64url decoder's rejections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/crypto.h"

static void hex_of(const uint8_t *in, size_t len, char *out)
{
	crypto_hex(in, len, out);
}

static void test_sha1_vectors(void **state)
{
	uint8_t d[CRYPTO_SHA1_LEN];
	char hex[2 * CRYPTO_SHA1_LEN + 1];

	crypto_sha1("abc", 3, d);
	hex_of(d, sizeof d, hex);
	assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");

	crypto_sha1("", 0, d);
	hex_of(d, sizeof d, hex);
	assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");

	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	crypto_sha1(m, strlen(m), d);
	hex_of(d, sizeof d, hex);
	assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_sha256_vectors(void **state)
{
	uint8_t d[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	crypto_sha256("abc", 3, d);
	hex_of(d, sizeof d, hex);
	assert_string_equal(hex,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	crypto_sha256("", 0, d);
	hex_of(d, sizeof d, hex);
	assert_string_equal(hex,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	crypto_sha256(m, strlen(m), d);
	hex_of(d, sizeof d, hex);
	assert_string_equal(hex,
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* RFC 4231 test cases 1, 2 and 6 (key longer than the block size). */
static void test_hmac_sha256_rfc4231(void **state)
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	uint8_t key1[20];
	memset(key1, 0x0b, sizeof key1);
	crypto_hmac_sha256(key1, sizeof key1, "Hi There", 8, mac);
	hex_of(mac, sizeof mac, hex);
	assert_string_equal(hex,
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	const char *data2 = "what do ya want for nothing?";
	crypto_hmac_sha256("Jefe", 4, data2, strlen(data2), mac);
	hex_of(mac, sizeof mac, hex);
	assert_string_equal(hex,
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	uint8_t key6[131];
	memset(key6, 0xaa, sizeof key6);
	const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	crypto_hmac_sha256(key6, sizeof key6, data6, strlen(data6), mac);
	hex_of(mac, sizeof mac, hex);
	assert_string_equal(hex,
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* RFC 6455 section 1.3: Sec-WebSocket-Accept for the sample key. */
static void test_websocket_accept(void **state)
{
	const char *in = "dGhlIHNhbXBsZSBub25jZQ==" "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	uint8_t d[CRYPTO_SHA1_LEN];
	crypto_sha1(in, strlen(in), d);
	char out[CRYPTO_B64_LEN(CRYPTO_SHA1_LEN) + 1];
	size_t n = crypto_b64_encode(d, sizeof d, out);
	assert_int_equal(n, 28);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* RFC 4648 section 10. */
static void test_b64_rfc4648(void **state)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char out[16];
		size_t len = strlen(plain[i]);
		assert_int_equal(crypto_b64_encode(plain[i], len, out), strlen(std[i]));
		assert_string_equal(out, std[i]);
		assert_int_equal(crypto_b64url_encode(plain[i], len, out), strlen(url[i]));
		assert_string_equal(out, url[i]);

		char dec[16];
		assert_int_equal(crypto_b64url_decode(url[i], strlen(url[i]), dec, sizeof dec),
				 (long)len);
		assert_memory_equal(dec, plain[i], len);
		/* The padded spelling decodes too. */
		assert_int_equal(crypto_b64url_decode(std[i], strlen(std[i]), dec, sizeof dec),
				 (long)len);
		assert_memory_equal(dec, plain[i], len);
	}
}

static void test_b64_alphabets(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0xbf };
	char out[8];
	crypto_b64_encode(in, 2, out);
	assert_string_equal(out, "+/8=");
	crypto_b64url_encode(in, 2, out);
	assert_string_equal(out, "-_8");
	crypto_b64_encode(in, 3, out);
	assert_string_equal(out, "+/+/");
	crypto_b64url_encode(in, 3, out);
	assert_string_equal(out, "-_-_");
}

static void test_b64_round_trips(void **state)
{
	for (size_t n = 0; n <= 40; n++) {
		uint8_t in[40];
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(i * 37 + n * 11 + 0xf0);

		char std[CRYPTO_B64_LEN(40) + 1];
		char url[CRYPTO_B64URL_LEN(40) + 1];
		size_t sn = crypto_b64_encode(in, n, std);
		size_t un = crypto_b64url_encode(in, n, url);
		assert_int_equal(sn, CRYPTO_B64_LEN(n));
		assert_int_equal(un, CRYPTO_B64URL_LEN(n));
		assert_int_equal(strlen(std), sn);
		assert_int_equal(strlen(url), un);

		/* Same bits, different alphabet and padding. */
		for (size_t i = 0; i < un; i++) {
			char c = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
			assert_int_equal(c, url[i]);
		}
		for (size_t i = un; i < sn; i++)
			assert_int_equal(std[i], '=');

		uint8_t out[40];
		assert_int_equal(crypto_b64url_decode(url, un, out, sizeof out), (long)n);
		assert_memory_equal(out, in, n);
		/* Exact capacity is enough; one less is not. */
		assert_int_equal(crypto_b64url_decode(url, un, out, n), (long)n);
		if (n > 0)
			assert_int_equal(crypto_b64url_decode(url, un, out, n - 1), -1);
	}
}

static void test_b64url_invalid(void **state)
{
	static const char *bad[] = {
		"a",        /* len % 4 == 1 */
		"abcde",    /* len % 4 == 1 */
		"ab+c",     /* standard alphabet */
		"ab/c",
		"ab c",
		"ab\nc",
		"ab=c",     /* padding in the middle */
		"a===",
		"=",
		"==",
		"====",
		"Zg=",      /* padding without a multiple of 4 */
		"Zg===",
		"Zm8==",
		"Zh",       /* non-zero trailing bits (canonical: "Zg") */
		"Zm9",      /* non-zero trailing bits (canonical: "Zm8") */
		"Zh==",
	};
	uint8_t out[16];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long rc = crypto_b64url_decode(bad[i], strlen(bad[i]), out, sizeof out);
		if (rc != -1)
			fail_msg("accepted \"%s\" (rc %ld)", bad[i], rc);
	}
	/* An embedded NUL is an invalid character, not a terminator. */
	assert_int_equal(crypto_b64url_decode("Zm\0v", 4, out, sizeof out), -1);
	/* Non-ASCII bytes. */
	assert_int_equal(crypto_b64url_decode("Zm\xc3\xa9", 4, out, sizeof out), -1);
	/* Empty input decodes to nothing, even into no buffer. */
	assert_int_equal(crypto_b64url_decode("", 0, NULL, 0), 0);
	/* Capacity exceeded. */
	assert_int_equal(crypto_b64url_decode("Zm9v", 4, out, 2), -1);
}

static void test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof in + 1];
	crypto_hex(in, sizeof in, out);
	assert_string_equal(out, "00017f80abff");
	crypto_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void test_ct_equal(void **state)
{
	const uint8_t a[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t b[sizeof a];
	memcpy(b, a, sizeof a);
	assert_true(crypto_ct_equal(a, sizeof a, b, sizeof b));
	b[0] ^= 0x80;
	assert_false(crypto_ct_equal(a, sizeof a, b, sizeof b));
	b[0] = a[0];
	b[7] ^= 0x01;
	assert_false(crypto_ct_equal(a, sizeof a, b, sizeof b));
	b[7] = a[7];
	assert_false(crypto_ct_equal(a, sizeof a, b, sizeof b - 1));
	assert_false(crypto_ct_equal(a, 0, b, 1));
	assert_true(crypto_ct_equal(a, 0, b, 0));
}

static void test_random(void **state)
{
	uint8_t a[32], b[32];
	assert_int_equal(crypto_random(a, sizeof a), 0);
	assert_int_equal(crypto_random(b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);

	/* Over getrandom's 256-byte single-call guarantee. */
	static uint8_t big[4096];
	static const uint8_t zero[4096];
	assert_int_equal(crypto_random(big, sizeof big), 0);
	assert_memory_not_equal(big, zero, sizeof big);

	assert_int_equal(crypto_random(a, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_websocket_accept),
		cmocka_unit_test(test_b64_rfc4648),
		cmocka_unit_test(test_b64_alphabets),
		cmocka_unit_test(test_b64_round_trips),
		cmocka_unit_test(test_b64url_invalid),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
