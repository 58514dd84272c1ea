/* secretbox_test — sealing round trips, every kind of refused opening, and
 * the key file: created 0600 once, read back the same, refused when it is
 * too open, the wrong size or a link. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/secretbox.h"

static const uint8_t KEY[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void test_round_trip(void **state)
{
	char sealed[SECRETBOX_SEALED_LEN(64) + 1], plain[65];
	const char *pw = "s3cret pässword";
	long n = secretbox_seal(KEY, "t1", 2, pw, strlen(pw), sealed, sizeof sealed);
	assert_int_equal(n, SECRETBOX_SEALED_LEN(strlen(pw)));
	assert_int_equal((long)strlen(sealed), n);
	assert_null(strstr(sealed, "s3cret"));
	assert_int_equal(secretbox_open(KEY, "t1", 2, sealed, plain, sizeof plain), (long)strlen(pw));
	assert_string_equal(plain, pw);
	/* empty secrets seal too */
	assert_true(secretbox_seal(KEY, NULL, 0, "", 0, sealed, sizeof sealed) > 0);
	assert_int_equal(secretbox_open(KEY, NULL, 0, sealed, plain, sizeof plain), 0);
	assert_string_equal(plain, "");
}

static void test_fresh_nonce(void **state)
{
	char a[SECRETBOX_SEALED_LEN(8) + 1], b[sizeof a];
	assert_true(secretbox_seal(KEY, NULL, 0, "password", 8, a, sizeof a) > 0);
	assert_true(secretbox_seal(KEY, NULL, 0, "password", 8, b, sizeof b) > 0);
	assert_string_not_equal(a, b);
}

static void test_refused(void **state)
{
	char sealed[SECRETBOX_SEALED_LEN(16) + 1], plain[64];
	assert_true(secretbox_seal(KEY, "t1", 2, "0123456789abcdef", 16, sealed, sizeof sealed) > 0);
	/* another key */
	uint8_t other[32];
	memcpy(other, KEY, 32);
	other[31] ^= 1;
	memset(plain, 'x', sizeof plain);
	assert_int_equal(secretbox_open(other, "t1", 2, sealed, plain, sizeof plain), -1);
	assert_null(memchr(plain, '0', sizeof plain));   /* nothing of it left behind */
	/* other additional data (another tenant) */
	assert_int_equal(secretbox_open(KEY, "t2", 2, sealed, plain, sizeof plain), -1);
	assert_int_equal(secretbox_open(KEY, NULL, 0, sealed, plain, sizeof plain), -1);
	/* every byte altered in turn: nonce, ciphertext, tag, version */
	size_t len = strlen(sealed);
	for (size_t i = 0; i < len; i++) {
		char t[sizeof sealed];
		strcpy(t, sealed);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		long rc = secretbox_open(KEY, "t1", 2, t, plain, sizeof plain);
		/* the last character carries unused bits in some lengths: either
		 * refused by the decoder or by the tag */
		assert_int_equal(rc, -1);
	}
	/* truncated, empty, not base64url */
	char t[sizeof sealed];
	strcpy(t, sealed);
	t[len - 4] = 0;
	assert_int_equal(secretbox_open(KEY, "t1", 2, t, plain, sizeof plain), -1);
	assert_int_equal(secretbox_open(KEY, "t1", 2, "", plain, sizeof plain), -1);
	assert_int_equal(secretbox_open(KEY, "t1", 2, "not base64!", plain, sizeof plain), -1);
	/* too small an output */
	assert_int_equal(secretbox_open(KEY, "t1", 2, sealed, plain, 16), -1);
	assert_int_equal(secretbox_seal(KEY, NULL, 0, "0123456789abcdef", 16, t, SECRETBOX_SEALED_LEN(16)), -1);
}

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/secretbox-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_key_file(void **state)
{
	char path[128], err[256];
	snprintf(path, sizeof path, "%s/secret.key", dir);
	uint8_t k1[32], k2[32];
	bool created;
	assert_int_equal(secretbox_key_file(path, k1, &created, err, sizeof err), 0);
	assert_true(created);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(secretbox_key_file(path, k2, &created, err, sizeof err), 0);
	assert_false(created);
	assert_memory_equal(k1, k2, 32);

	/* too open: refused, not tightened */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(secretbox_key_file(path, k2, &created, err, sizeof err), -1);
	assert_non_null(strstr(err, "644"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(chmod(path, 0600), 0);

	/* a link to the key */
	char link[160];
	snprintf(link, sizeof link, "%s/link.key", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(secretbox_key_file(link, k2, &created, err, sizeof err), -1);
	assert_non_null(strstr(err, "link"));

	/* the wrong size */
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(secretbox_key_file(path, k2, &created, err, sizeof err), -1);
	assert_non_null(strstr(err, "32 bytes"));

	/* a directory that cannot hold it */
	snprintf(path, sizeof path, "%s/missing/secret.key", dir);
	assert_int_equal(secretbox_key_file(path, k2, &created, err, sizeof err), -1);
	assert_false(created);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fresh_nonce),
		cmocka_unit_test(test_refused),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
