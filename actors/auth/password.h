/* password — Argon2id password hashing (libargon2), encoded PHC strings.
 *
 * Parameters follow OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
 * Hashing takes tens of milliseconds of CPU: call it on worker threads,
 * never on an I/O thread. Tests may lower the cost with password_set_cost().
 */
#ifndef PARLEY_PASSWORD_H
#define PARLEY_PASSWORD_H

#include <stddef.h>
#include <stdbool.h>

#define PASSWORD_HASH_MAX 128   /* encoded hash fits in this many bytes incl. NUL */
#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 256

/* Hashes password into out (encoded "$argon2id$v=19$m=...,t=...,p=...$salt$hash").
 * Returns 0, or -1 on failure (e.g. length outside [MIN,MAX]). */
int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX]);

/* True when password matches the encoded hash. */
bool password_verify(const char *encoded, const char *password, size_t len);

/* Sets the memory cost (KiB) and iterations for later hashes (process-wide,
 * set once at start-up before threads run). */
void password_set_cost(unsigned m_kib, unsigned t);

#endif
