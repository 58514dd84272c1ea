/* secretbox — sealed secrets under a server key (see secretbox.h).
 *
 * ChaCha20-Poly1305 rather than AES-GCM: BearSSL's constant-time AES is
 * several times slower than its ChaCha20 without AES-NI, and both give the
 * same guarantee here (a random 96-bit nonce per seal; the server seals a
 * handful of settings, far from the 2^32 seals under one key where random
 * nonces start to risk a repeat). The key file is refused when others may
 * read it rather than silently tightened: a key that was exposed should be
 * replaced, and that is the operator's call.
 */
#include "core/secretbox.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERSION 1
#define NONCE 12
#define TAG 16
#define PLAIN_MAX 1024

static int fail(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "%s: %s", path, what);
	return -1;
}

static int read_key(int fd, const char *path, uint8_t key[SECRETBOX_KEY_LEN], char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(err, errlen, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, path, "not a regular file");
	if (st.st_uid != geteuid())
		return fail(err, errlen, path, "owned by another user");
	if (st.st_mode & 077) {
		char why[96];
		snprintf(why, sizeof why, "mode %03o lets others read or change it (chmod 600, or replace the key)",
			 (unsigned)(st.st_mode & 0777));
		return fail(err, errlen, path, why);
	}
	if (st.st_size != SECRETBOX_KEY_LEN)
		return fail(err, errlen, path, "not a key (must be exactly 32 bytes)");
	size_t got = 0;
	while (got < SECRETBOX_KEY_LEN) {
		ssize_t n = read(fd, key + got, SECRETBOX_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(err, errlen, path, n < 0 ? strerror(errno) : "short read");
		got += (size_t)n;
	}
	return 0;
}

static int create_key(const char *path, uint8_t key[SECRETBOX_KEY_LEN], char *err, size_t errlen)
{
	if (crypto_random(key, SECRETBOX_KEY_LEN) < 0)
		return fail(err, errlen, path, "no randomness");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, path, strerror(errno));
	size_t put = 0;
	int rc = 0;
	while (put < SECRETBOX_KEY_LEN && rc == 0) {
		ssize_t n = write(fd, key + put, SECRETBOX_KEY_LEN - put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = -1;
		else
			put += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -1;
	if (rc < 0) {
		fail(err, errlen, path, strerror(errno));
		close(fd);
		unlink(path);   /* a half-written key must not be found next time */
		return -1;
	}
	close(fd);
	return 0;
}

int secretbox_key_file(const char *path, uint8_t key[SECRETBOX_KEY_LEN], bool *created, char *err, size_t errlen)
{
	*created = false;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (create_key(path, key, err, errlen) < 0)
			return -1;
		*created = true;
		return 0;
	}
	if (fd < 0)
		return fail(err, errlen, path, errno == ELOOP ? "a symbolic link (name the file itself)" : strerror(errno));
	int rc = read_key(fd, path, key, err, errlen);
	close(fd);
	if (rc < 0)
		memset(key, 0, SECRETBOX_KEY_LEN);
	return rc;
}

long secretbox_seal(const uint8_t key[SECRETBOX_KEY_LEN], const void *aad, size_t aad_len, const void *plain,
		    size_t n, char *out, size_t cap)
{
	uint8_t raw[SECRETBOX_OVERHEAD + PLAIN_MAX];
	if (n > PLAIN_MAX || cap < SECRETBOX_SEALED_LEN(n) + 1)
		return -1;
	raw[0] = VERSION;
	if (crypto_random(raw + 1, NONCE) < 0)
		return -1;
	uint8_t *data = raw + 1 + NONCE;
	if (n)
		memcpy(data, plain, n);
	br_poly1305_ctmul_run(key, raw + 1, data, n, aad, aad_len, data + n, br_chacha20_ct_run, 1);
	long len = (long)crypto_b64url_encode(raw, SECRETBOX_OVERHEAD + n, out);
	memset(raw, 0, sizeof raw);
	return len;
}

long secretbox_open(const uint8_t key[SECRETBOX_KEY_LEN], const void *aad, size_t aad_len, const char *sealed,
		    void *out, size_t cap)
{
	uint8_t raw[SECRETBOX_OVERHEAD + PLAIN_MAX];
	long len = crypto_b64url_decode(sealed, strlen(sealed), raw, sizeof raw);
	if (len < SECRETBOX_OVERHEAD || raw[0] != VERSION)
		return -1;
	size_t n = (size_t)len - SECRETBOX_OVERHEAD;
	if (n + 1 > cap)
		return -1;
	uint8_t *data = raw + 1 + NONCE, tag[TAG];
	br_poly1305_ctmul_run(key, raw + 1, data, n, aad, aad_len, tag, br_chacha20_ct_run, 0);
	long rc = -1;
	if (crypto_ct_equal(tag, TAG, data + n, TAG)) {
		memcpy(out, data, n);
		((char *)out)[n] = 0;
		rc = (long)n;
	}
	memset(raw, 0, sizeof raw);
	return rc;
}
