/* Fuzz target: TLS records through the real connection code (net/conn.c
 * driving net/tls.c's BearSSL engine, then net/http.c), see net_harness.h.
 *
 * The server listens "as if" on a TLS port: the harness hands it one end of
 * a socketpair with conn_adopt_tls. Its certificate and key (EC P-256 and
 * RSA 2048, self-signed) are made by the build with openssl in the build
 * directory (PARLEY_FUZZ_TLS_DIR); none is committed.
 *
 * Input: byte 0 = options, byte 1 = seed of the piece sizes, the rest:
 *   bits 0-1  mode:
 *             0 raw: the rest is the client's byte stream from the first
 *               byte (ClientHellos, records, garbage, a plain request);
 *             1 a real handshake by a BearSSL client in this process, then
 *               the rest is plaintext sent through it in records whose
 *               sizes come from the seed (HTTP requests to the routes);
 *             2 a real handshake, then the rest is raw bytes after it
 *               (records the server cannot decrypt, alerts, a second hello);
 *             3 as 1, but the client asks to renegotiate half-way
 *   bit 2     the RSA certificate instead of the EC one
 *   bits 3-5  largest piece: 1, 2, 5, 16, 100, 1000, 5000, 17000 bytes
 *   bit 6     the client ends with close_notify (else the socket is shut
 *             without it)
 *   bit 7     the server shuts down (http_server_shutdown) before the end
 *
 * The in-process client resumes the session of an earlier input when it
 * can (the server's session cache outlives inputs), so most handshakes are
 * abbreviated and cheap.
 *
 * Checks: in raw mode, whatever the server writes is TLS records (content
 * type 20-23, version 3.x — 0.0 for an alert sent before a version was
 * agreed —, length <= 2^14 + 2048, each whole) — or, when
 * the first byte is a capital letter, exactly the 400 for plain HTTP; with
 * a handshake, everything the client decrypts is a sequence of HTTP/1.1
 * responses, each starting with a status line, never more than the
 * requests sent plus one; ASan/UBSan and the leak check over the real
 * teardown.
 */
#include <bearssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/tls.h"
#include "net_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef PARLEY_FUZZ_TLS_DIR
#define PARLEY_FUZZ_TLS_DIR "."
#endif

static const size_t piece_max[8] = { 1, 2, 5, 16, 100, 1000, 5000, 17000 };

/* ---------- keys, once ---------- */

typedef struct {
	tls_ctx *ctx;
	br_x509_decoder_context xd;     /* holds the public key the client trusts */
	const br_x509_pkey *pk;
	br_ssl_session_parameters sess;  /* the last session, for resumption */
	bool have_sess;
} server_key;

static server_key keys[2];

static void load_key(server_key *k, const char *name)
{
	char cert[512], key[512], err[600];
	snprintf(cert, sizeof cert, "%s/%s-cert.pem", PARLEY_FUZZ_TLS_DIR, name);
	snprintf(key, sizeof key, "%s/%s-key.pem", PARLEY_FUZZ_TLS_DIR, name);
	k->ctx = tls_ctx_new(cert, key, err, sizeof err);
	if (!k->ctx) {
		fprintf(stderr, "tls_conn_fuzz: %s\n", err);
		abort();
	}
	/* the certificate's public key, for the client's known-key engine */
	FILE *f = fopen(cert, "rb");
	CHECK(f);
	static char pem[8192];
	size_t n = fread(pem, 1, sizeof pem, f);
	fclose(f);
	br_pem_decoder_context pc;
	br_pem_decoder_init(&pc);
	const char *p = pem;
	bool in = false;
	br_x509_decoder_init(&k->xd, NULL, NULL);
	while (n) {
		size_t used = br_pem_decoder_push(&pc, p, n);
		p += used;
		n -= used;
		int ev = br_pem_decoder_event(&pc);
		if (ev == BR_PEM_BEGIN_OBJ && !in) {
			in = true;
			br_pem_decoder_setdest(&pc, (void (*)(void *, const void *, size_t))br_x509_decoder_push, &k->xd);
		} else if (ev == BR_PEM_END_OBJ && in) {
			break;
		}
	}
	k->pk = br_x509_decoder_get_pkey(&k->xd);
	CHECK(k->pk);
}

static void once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	nh_once();
	load_key(&keys[0], "ec");
	load_key(&keys[1], "rsa");
}

/* ---------- routes ---------- */

static void r_x(http_req *req)
{
	http_respond(req, 200, "text/plain", "x", 1, NULL);
}

static void r_echo(http_req *req)
{
	http_respond(req, 200, "application/octet-stream", req->body, req->body_len, NULL);
}

/* ---------- the in-process client ---------- */

typedef struct {
	br_ssl_client_context cc;
	br_x509_minimal_context xm;   /* (init_full wants one; the known key replaces it) */
	br_x509_knownkey_context xk;
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
	size_t in_pos;                 /* next byte of h->out (the server's records) to feed */
	buf plain;                     /* what the client decrypted */
	bool broken;                   /* the server closed or the engine failed */
} client;

static br_ssl_engine_context *CE(client *cl)
{
	return &cl->cc.eng;
}

/* Moves records both ways until nothing moves. */
static void client_step(nh *h, client *cl)
{
	br_ssl_engine_context *e = CE(cl);
	for (int i = 0; i < 4096 && !cl->broken; i++) {
		unsigned st = br_ssl_engine_current_state(e);
		if (st & BR_SSL_CLOSED) {
			cl->broken = true;
			break;
		}
		size_t len;
		if (st & BR_SSL_SENDREC) {
			unsigned char *b = br_ssl_engine_sendrec_buf(e, &len);
			if (!nh_send(h, b, len)) {
				cl->broken = true;
				break;
			}
			br_ssl_engine_sendrec_ack(e, len);
			nh_pump(h);
			continue;
		}
		if (st & BR_SSL_RECVAPP) {
			unsigned char *b = br_ssl_engine_recvapp_buf(e, &len);
			CHECK(buf_append(&cl->plain, b, len) == 0);
			br_ssl_engine_recvapp_ack(e, len);
			continue;
		}
		if ((st & BR_SSL_RECVREC) && cl->in_pos < h->out.len) {
			unsigned char *b = br_ssl_engine_recvrec_buf(e, &len);
			size_t k = h->out.len - cl->in_pos < len ? h->out.len - cl->in_pos : len;
			memcpy(b, h->out.data + cl->in_pos, k);
			cl->in_pos += k;
			br_ssl_engine_recvrec_ack(e, k);
			continue;
		}
		if ((st & BR_SSL_RECVREC) && !h->eof) {
			size_t before = h->out.len;
			nh_pump(h);
			if (h->out.len > before)
				continue;
		}
		break;
	}
}

static bool client_handshake(nh *h, client *cl, server_key *k)
{
	br_ssl_client_init_full(&cl->cc, &cl->xm, NULL, 0);
	if (k->pk->key_type == BR_KEYTYPE_EC)
		br_x509_knownkey_init_ec(&cl->xk, &k->pk->key.ec, BR_KEYTYPE_SIGN | BR_KEYTYPE_KEYX);
	else
		br_x509_knownkey_init_rsa(&cl->xk, &k->pk->key.rsa, BR_KEYTYPE_SIGN | BR_KEYTYPE_KEYX);
	br_ssl_engine_set_x509(CE(cl), &cl->xk.vtable);
	br_ssl_engine_set_buffer(CE(cl), cl->iobuf, sizeof cl->iobuf, 1);
	if (k->have_sess)
		br_ssl_engine_set_session_parameters(CE(cl), &k->sess);
	CHECK(br_ssl_client_reset(&cl->cc, "localhost", k->have_sess));
	client_step(h, cl);
	unsigned st = br_ssl_engine_current_state(CE(cl));
	if (!(st & BR_SSL_SENDAPP))
		return false;
	br_ssl_engine_get_session_parameters(CE(cl), &k->sess);
	k->have_sess = true;
	return true;
}

/* Sends plaintext through the client in records of the pieces' sizes. */
static void client_send(nh *h, client *cl, const uint8_t *p, size_t n, nh_pieces *pc, bool reneg_halfway)
{
	br_ssl_engine_context *e = CE(cl);
	size_t pos = 0;
	bool reneg = false;
	while (pos < n && !cl->broken) {
		if (reneg_halfway && !reneg && pos >= n / 2) {
			reneg = true;
			br_ssl_engine_renegotiate(e);
			client_step(h, cl);
			continue;
		}
		size_t room;
		unsigned char *b = br_ssl_engine_sendapp_buf(e, &room);
		if (!b) {
			size_t before = h->out.len;
			client_step(h, cl);
			if (!br_ssl_engine_sendapp_buf(e, &room) && h->out.len == before)
				break;   /* stuck (the server stopped reading or closed) */
			continue;
		}
		size_t k = nh_next_piece(pc);
		if (k > n - pos)
			k = n - pos;
		if (k > room)
			k = room;
		memcpy(b, p + pos, k);
		br_ssl_engine_sendapp_ack(e, k);
		br_ssl_engine_flush(e, 0);
		pos += k;
		client_step(h, cl);
	}
}

/* ---------- checks ---------- */

/* Raw mode: the server wrote whole TLS records, or the plain-HTTP 400. */
static void check_records(const nh *h, const uint8_t *in, size_t n)
{
	const unsigned char *s = (const unsigned char *)h->out.data;
	size_t len = h->out.len, pos = 0;
	if (n && in[0] >= 'A' && in[0] <= 'Z') {
		CHECK(len == 0 || (len > 12 && memcmp(s, "HTTP/1.1 400 ", 13) == 0));
		return;
	}
	while (pos < len) {
		CHECK(len - pos >= 5);
		/* an alert before the version is agreed says version 0.0 */
		CHECK(s[pos] >= 20 && s[pos] <= 23 && (s[pos + 1] == 3 || (s[pos] == 21 && s[pos + 1] == 0 && s[pos + 2] == 0)));
		size_t rl = (size_t)s[pos + 3] << 8 | s[pos + 4];
		CHECK(rl <= 16384 + 2048 && rl <= len - pos - 5);
		pos += 5 + rl;
	}
}

/* Requests in the plaintext the client sent (heads ending in CRLFCRLF). */
static int count_heads(const uint8_t *p, size_t n)
{
	int k = 0;
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			k++;
	return k;
}

/* The decrypted answers: HTTP/1.1 responses, no more than requests + 1. */
static void check_plain(const buf *b, const uint8_t *sent, size_t n)
{
	if (!b->len)
		return;
	CHECK(b->len >= 9 && memcmp(b->data, "HTTP/1.1 ", 9) == 0);
	int responses = 0;
	const char *p = b->data, *end = b->data + b->len;
	while ((p = memmem(p, (size_t)(end - p), "HTTP/1.1 ", 9))) {
		responses++;
		p += 9;
	}
	/* a body may itself hold "HTTP/1.1 " (POST /echo): bounded by what was sent */
	CHECK(responses <= count_heads(sent, n) * 2 + 1);
}

/* ---------- the run ---------- */

/* The bytes as they are, in pieces, the loop run between them. */
static void send_raw(nh *h, const uint8_t *in, size_t n, nh_pieces *pc)
{
	size_t pos = 0;
	while (pos < n) {
		size_t p = nh_next_piece(pc);
		if (p > n - pos)
			p = n - pos;
		if (!nh_send(h, in + pos, p))
			break;
		pos += p;
		nh_pump(h);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	once();
	uint8_t opt = data[0];
	int mode = opt & 3;
	server_key *k = &keys[(opt >> 2) & 1];
	nh_pieces pc = { 0x9E3779B9u ^ ((uint32_t)data[1] * 0x01000193u), piece_max[(opt >> 3) & 7] };
	const uint8_t *in = data + 2;
	size_t n = size - 2;
	if (n > 200000)
		n = 200000;

	http_opts o;
	http_opts_default(&o);
	o.max_head = 1024;
	o.max_body = 100000;
	o.server_name = "fuzz";
	nh h;
	nh_init(&h, &o);
	CHECK(http_route(h.srv, "GET", "/x", 0, r_x, NULL) == 0);
	CHECK(http_route(h.srv, "POST", "/echo", 0, r_echo, NULL) == 0);
	nh_connect_tls(&h, k->ctx);

	client *cl = NULL;
	if (mode == 0) {
		send_raw(&h, in, n, &pc);
	} else {
		cl = calloc(1, sizeof *cl);
		CHECK(cl);
		if (client_handshake(&h, cl, k)) {
			if (mode == 2) {
				send_raw(&h, in, n, &pc);
			} else {
				client_send(&h, cl, in, n, &pc, mode == 3);
			}
		}
	}
	nh_pump(&h);
	if (opt & 0x80) {
		http_server_shutdown(h.srv);
		nh_pump(&h);
	}
	if (cl && (opt & 0x40) && !cl->broken) {
		br_ssl_engine_close(CE(cl));
		client_step(&h, cl);
	}
	nh_shut_write(&h);
	nh_pump(&h);
	if (cl)
		client_step(&h, cl);

	nh_trace(&h);
	if (cl && getenv("PARLEY_FUZZ_TRACE")) {
		fprintf(stderr, "---- the client decrypted %zu bytes%s:\n", cl->plain.len, cl->broken ? " (closed)" : "");
		if (cl->plain.len)
			fwrite(cl->plain.data, 1, cl->plain.len < 2000 ? cl->plain.len : 2000, stderr);
		fprintf(stderr, "\n----\n");
	}
	if (mode == 0)
		check_records(&h, in, n);
	else if (cl && mode != 2)
		check_plain(&cl->plain, in, n);
	if (cl) {
		buf_free(&cl->plain);
		free(cl);
	}
	nh_free(&h);
	return 0;
}
