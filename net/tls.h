/* tls — TLS 1.2 for the connection layer, with BearSSL.
 *
 * A tls_ctx is the server side's configuration, shared by every loop: the
 * certificate chain and private key read from PEM files (RSA or ECDSA),
 * the cipher suites (ECDHE with AES-GCM or ChaCha20-Poly1305 only, the
 * server's order), and a bounded session cache shared by all loops (a
 * client resumes whichever loop it lands on). BearSSL speaks TLS 1.0 to
 * 1.2; only 1.2 is enabled. It has no TLS 1.3 and no session tickets.
 *
 * A tls_conn is one connection's engine and buffers. net/conn.c drives it
 * from the I/O loop and never blocks: tls_read moves records from the
 * socket into the engine and hands back decrypted bytes, tls_write takes
 * plaintext into it, tls_send writes the records it made; each does what
 * the socket allows now and says what it waits for.
 *
 * Buffers (docs/performance.md, "TLS"): the input buffer has the full
 * BR_SSL_BUFSIZE_INPUT (16,709 bytes), since a client may send records
 * of 16 KiB and few negotiate a smaller size; the output buffer holds
 * records of TLS_OUT_PAYLOAD plaintext bytes, enough for a chat frame or a
 * typical response in one record, larger bodies going out in several.
 *
 * Reloading: tls_ctx_reload re-reads the same files; a pair that does not
 * parse or whose key does not match the certificate leaves the old pair in
 * use. Connections keep the pair they started with (reference counted), so
 * none is dropped.
 */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLS_OUT_PAYLOAD 4096
#define TLS_CACHE_BYTES (512 * 1024)   /* session cache: ~5,000 sessions */

typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;

typedef struct {
	uint64_t handshakes;      /* completed */
	uint64_t failed;          /* engine errors before or after the handshake */
	uint64_t plain_refused;   /* plain HTTP on the TLS port */
	uint64_t timeouts;        /* handshakes not finished in time */
	uint64_t reloads, reload_failed;
	int64_t open;             /* connections with an engine now */
} tls_stats;

/* Reads the chain (cert_path: the server's certificate first, then the
 * intermediates) and the key (RSA or EC, PKCS#1/SEC1 or PKCS#8). NULL with
 * the reason in err. */
tls_ctx *tls_ctx_new(const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Re-reads both files: 0 (the new pair serves new handshakes) or -1 (the
 * old pair stays; the reason in err). Any thread. */
int tls_ctx_reload(tls_ctx *t, char *err, size_t errlen);

/* "RSA 2048" or "EC P-256", and the number of certificates in the chain. */
void tls_ctx_describe(tls_ctx *t, char *out, size_t len);

void tls_ctx_stats(tls_ctx *t, tls_stats *out);
void tls_ctx_count_plain(tls_ctx *t);
void tls_ctx_count_timeout(tls_ctx *t);

/* Frees the context once no connection uses it. */
void tls_ctx_free(tls_ctx **t_p);

/* ---- any BearSSL engine over a non-blocking socket ---- */

/* Writes the records the engine has ready: 1 none left, 0 the socket is
 * full, -1 the socket failed or the engine did. */
int tls_engine_send(br_ssl_engine_context *e, int fd);

/* Moves records from fd into the engine (sending what it has to send
 * first) and copies out up to cap decrypted bytes: > 0 bytes, 0 end of
 * stream (close_notify, or the peer closed the socket), -1 nothing now,
 * -2 error. *wants_write: records wait for the socket. parley-bench's
 * client uses these too. */
ssize_t tls_engine_read(br_ssl_engine_context *e, int fd, void *dst, size_t cap, bool *wants_write);

/* ---- one connection (its loop thread only) ---- */

tls_conn *tls_conn_new(tls_ctx *t);
void tls_conn_free(tls_conn **c_p);

/* Bytes one connection's engine holds (for the documentation and tests). */
size_t tls_conn_size(void);

/* Reads records from fd while the engine takes them and copies out up to
 * cap decrypted bytes: > 0 bytes, 0 end of stream (close_notify, or the
 * peer closed the socket), -1 nothing now, -2 error (a bad record, a
 * refused handshake). *wants_write is set when records wait for the
 * socket to take them. */
ssize_t tls_read(tls_conn *c, int fd, void *dst, size_t cap, bool *wants_write);

/* Takes up to len plaintext bytes into the engine: the number taken (0
 * when it has no room now: records wait, or the handshake is not done). */
size_t tls_write(tls_conn *c, const void *data, size_t len);

/* Ends the current record (after tls_write took everything queued). */
void tls_flush_record(tls_conn *c);

/* Writes the records ready: 1 none left, 0 the socket is full, -1 error or
 * the engine failed. */
int tls_send(tls_conn *c, int fd);

/* Record bytes waiting for the socket. */
size_t tls_pending(tls_conn *c);

/* Decrypted bytes not yet taken by tls_read. */
bool tls_has_input(tls_conn *c);

/* The handshake is done (application data may flow). */
bool tls_established(tls_conn *c);

/* The engine is closed or failed. */
bool tls_closed(tls_conn *c);

/* Sends close_notify (queued; tls_send writes it). */
void tls_close(tls_conn *c);

/* The engine's last error (BearSSL's BR_ERR_* code), 0 if none. */
int tls_error(tls_conn *c);

/* The name the client asked for (SNI), "" if none. */
const char *tls_server_name(tls_conn *c);

#endif
