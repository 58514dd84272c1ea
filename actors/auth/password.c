/* password — Argon2id via libargon2, stored as self-describing PHC strings.
 *
 * The encoded string carries its own m/t/p and salt, so raising the cost
 * later only affects new hashes and old ones still verify. The cost is the
 * only mutable global here: set once at start-up (tests lower it to stay
 * fast) before worker threads hash anything; it is kept in relaxed atomics
 * only so that a late change is still free of data races.
 */
#include "actors/auth/password.h"
#include "core/crypto.h"

#include <argon2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32
#define PARALLELISM 1

static atomic_uint cost_m_kib = 19456;
static atomic_uint cost_t = 2;

void password_set_cost(unsigned m_kib, unsigned t)
{
	/* Clamp to libargon2's minimums rather than make every hash fail. */
	if (m_kib < ARGON2_MIN_MEMORY)
		m_kib = ARGON2_MIN_MEMORY;
	if (t < ARGON2_MIN_TIME)
		t = ARGON2_MIN_TIME;
	atomic_store_explicit(&cost_m_kib, m_kib, memory_order_relaxed);
	atomic_store_explicit(&cost_t, t, memory_order_relaxed);
}

int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX])
{
	if (!out)
		return -1;
	out[0] = '\0';
	if (!password || len < PASSWORD_MIN_LEN || len > PASSWORD_MAX_LEN)
		return -1;
	uint8_t salt[SALT_LEN];
	if (crypto_random(salt, sizeof salt) != 0)
		return -1;
	uint32_t m = atomic_load_explicit(&cost_m_kib, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&cost_t, memory_order_relaxed);
	int rc = argon2id_hash_encoded(t, m, PARALLELISM, password, len, salt, sizeof salt,
				       HASH_LEN, out, PASSWORD_HASH_MAX);
	if (rc != ARGON2_OK) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

bool password_verify(const char *encoded, const char *password, size_t len)
{
	if (!encoded || !password || len > PASSWORD_MAX_LEN)
		return false;
	/* Only our own format: bounded, and Argon2id (not i/d) by prefix. */
	if (strnlen(encoded, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX ||
	    strncmp(encoded, "$argon2id$", 10) != 0)
		return false;
	/* argon2id_verify recomputes and compares in constant time. */
	return argon2id_verify(encoded, password, len) == ARGON2_OK;
}
