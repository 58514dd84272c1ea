/* tls — TLS 1.2 with BearSSL for the connection layer (see tls.h). */
#include "net/tls.h"

#include <bearssl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CHAIN 8
#define MAX_PEM_FILE (1 << 20)

/* ECDHE only (forward secrecy), AEAD only; the server's order: AES-GCM
 * first (AES-NI where the CPU has it), ChaCha20-Poly1305 for the rest. */
static const uint16_t suites_ec[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
};
static const uint16_t suites_rsa[] = {
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

/* ---------- credentials ---------- */

typedef struct {
	atomic_int refs;
	br_x509_certificate chain[MAX_CHAIN];
	size_t nchain;
	int key_type;                  /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	br_skey_decoder_context key;   /* holds the decoded key */
	char desc[64];
} creds;

static void creds_unref(creds *k)
{
	if (!k || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	for (size_t i = 0; i < k->nchain; i++)
		free(k->chain[i].data);
	explicit_bzero(&k->key, sizeof k->key);
	free(k);
}

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static unsigned char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		seterr(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	unsigned char *b = malloc(MAX_PEM_FILE);
	size_t n = b ? fread(b, 1, MAX_PEM_FILE, f) : 0;
	bool big = b && n == MAX_PEM_FILE;
	fclose(f);
	if (!b || big || n == 0) {
		seterr(err, errlen, "%s: %s", path, !b ? "out of memory" : big ? "larger than 1 MiB" : "empty");
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

typedef struct {
	unsigned char *data;
	size_t len, cap;
	bool oom;
} dbuf;

static void dbuf_add(void *ctx, const void *src, size_t len)
{
	dbuf *d = ctx;
	if (d->oom)
		return;
	if (d->len + len > d->cap) {
		size_t cap = (d->len + len) * 2;
		unsigned char *p = realloc(d->data, cap);
		if (!p) {
			d->oom = true;
			return;
		}
		d->data = p;
		d->cap = cap;
	}
	memcpy(d->data + d->len, src, len);
	d->len += len;
}

/* The PEM objects of a file: fn(name, der, len, arg) for each; -1 on a PEM
 * error. */
static int pem_each(const unsigned char *p, size_t len,
		    int (*fn)(const char *name, dbuf *der, void *arg), void *arg, char *err, size_t errlen)
{
	br_pem_decoder_context pc;
	br_pem_decoder_init(&pc);
	dbuf d = { 0 };
	char name[128] = "";
	int rc = 0, inobj = 0;
	while (len > 0 && rc == 0) {
		size_t k = br_pem_decoder_push(&pc, p, len);
		p += k;
		len -= k;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
			d.len = 0;
			d.oom = false;
			br_pem_decoder_setdest(&pc, dbuf_add, &d);
			inobj = 1;
			break;
		case BR_PEM_END_OBJ:
			inobj = 0;
			if (d.oom) {
				seterr(err, errlen, "out of memory");
				rc = -1;
			} else {
				rc = fn(name, &d, arg);
			}
			break;
		case BR_PEM_ERROR:
			seterr(err, errlen, "not valid PEM");
			rc = -1;
			break;
		default:
			break;
		}
	}
	if (rc == 0 && inobj) {
		seterr(err, errlen, "PEM object \"%s\" not terminated", name);
		rc = -1;
	}
	free(d.data);
	return rc;
}

typedef struct {
	creds *k;
	char *err;
	size_t errlen;
	int nkeys;
} load_st;

static int on_cert(const char *name, dbuf *der, void *arg)
{
	load_st *st = arg;
	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0)
		return 0;   /* other objects (parameters, a key) are not the chain's */
	if (st->k->nchain == MAX_CHAIN) {
		seterr(st->err, st->errlen, "more than %d certificates in the chain", MAX_CHAIN);
		return -1;
	}
	unsigned char *c = malloc(der->len);
	if (!c) {
		seterr(st->err, st->errlen, "out of memory");
		return -1;
	}
	memcpy(c, der->data, der->len);
	st->k->chain[st->k->nchain++] = (br_x509_certificate){ c, der->len };
	return 0;
}

static int on_key(const char *name, dbuf *der, void *arg)
{
	load_st *st = arg;
	if (strcmp(name, "RSA PRIVATE KEY") != 0 && strcmp(name, "EC PRIVATE KEY") != 0 &&
	    strcmp(name, "PRIVATE KEY") != 0)
		return 0;   /* EC PARAMETERS before an EC key, certificates */
	if (st->nkeys++) {
		seterr(st->err, st->errlen, "more than one private key");
		return -1;
	}
	br_skey_decoder_init(&st->k->key);
	br_skey_decoder_push(&st->k->key, der->data, der->len);
	int e = br_skey_decoder_last_error(&st->k->key);
	explicit_bzero(der->data, der->len);
	if (e) {
		seterr(st->err, st->errlen, "the private key does not decode (BearSSL error %d)", e);
		return -1;
	}
	return 0;
}

static size_t strip0(const unsigned char **p, size_t len)
{
	while (len > 0 && **p == 0) {
		(*p)++;
		len--;
	}
	return len;
}

static bool same_int(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	alen = strip0(&a, alen);
	blen = strip0(&b, blen);
	return alen == blen && memcmp(a, b, alen) == 0;
}

static const char *curve_name(int curve)
{
	switch (curve) {
	case BR_EC_secp256r1: return "P-256";
	case BR_EC_secp384r1: return "P-384";
	case BR_EC_secp521r1: return "P-521";
	default: return "?";
	}
}

/* Checks that the key is the certificate's: the public key recomputed from
 * the private one equals the one in the first certificate. */
static int check_pair(creds *k, char *err, size_t errlen)
{
	br_x509_decoder_context *xd = malloc(sizeof *xd);
	if (!xd) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	br_x509_decoder_init(xd, NULL, NULL);
	br_x509_decoder_push(xd, k->chain[0].data, k->chain[0].data_len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(xd);
	int rc = -1;
	if (!pk) {
		seterr(err, errlen, "the certificate does not decode (BearSSL error %d)", br_x509_decoder_last_error(xd));
		goto out;
	}
	int kt = br_skey_decoder_key_type(&k->key);
	if (pk->key_type != kt) {
		seterr(err, errlen, "the key does not match the certificate (a %s key for a %s certificate)",
		       kt == BR_KEYTYPE_RSA ? "RSA" : "EC", pk->key_type == BR_KEYTYPE_RSA ? "RSA" : "EC");
		goto out;
	}
	if (kt == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&k->key);
		br_rsa_compute_modulus modf = br_rsa_compute_modulus_get_default();
		br_rsa_compute_pubexp expf = br_rsa_compute_pubexp_get_default();
		size_t nlen = modf(NULL, sk);
		unsigned char *n = nlen ? malloc(nlen) : NULL;
		uint32_t e = expf(sk);
		unsigned char eb[4] = { (unsigned char)(e >> 24), (unsigned char)(e >> 16), (unsigned char)(e >> 8),
					(unsigned char)e };
		size_t got = n ? modf(n, sk) : 0;
		/* the modulus decides (p and q are the key); BearSSL 0.6's
		 * pubexp sometimes gives 0 for a good key, so e is compared only
		 * when it could be recomputed */
		bool ok = got && same_int(n, got, pk->key.rsa.n, pk->key.rsa.nlen) &&
			  (!e || same_int(eb, 4, pk->key.rsa.e, pk->key.rsa.elen));
		free(n);
		if (!ok) {
			seterr(err, errlen, "the RSA key does not match the certificate");
			goto out;
		}
		snprintf(k->desc, sizeof k->desc, "RSA %u", sk->n_bitlen);
	} else if (kt == BR_KEYTYPE_EC) {
		const br_ec_private_key *sk = br_skey_decoder_get_ec(&k->key);
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_public_key pub;
		size_t qlen = br_ec_compute_pub(br_ec_get_default(), &pub, q, sk);
		if (!qlen || sk->curve != pk->key.ec.curve || qlen != pk->key.ec.qlen ||
		    memcmp(q, pk->key.ec.q, qlen) != 0) {
			seterr(err, errlen, "the EC key does not match the certificate");
			goto out;
		}
		snprintf(k->desc, sizeof k->desc, "EC %s", curve_name(sk->curve));
	} else {
		seterr(err, errlen, "unsupported key type");
		goto out;
	}
	rc = 0;
out:
	free(xd);
	return rc;
}

static creds *creds_load(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	creds *k = calloc(1, sizeof *k);
	if (!k) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&k->refs, 1);
	load_st st = { k, err, errlen, 0 };
	size_t len;
	char why[200] = "";
	unsigned char *b = read_file(cert_path, &len, err, errlen);
	if (!b)
		goto fail;
	int rc = pem_each(b, len, on_cert, &st, why, sizeof why);
	free(b);
	if (rc < 0 || !k->nchain) {
		if (rc == 0)
			snprintf(why, sizeof why, "no CERTIFICATE in it");
		if (why[0])
			seterr(err, errlen, "%s: %s", cert_path, why);
		goto fail;
	}
	b = read_file(key_path, &len, err, errlen);
	if (!b)
		goto fail;
	why[0] = 0;
	st.err = why;
	st.errlen = sizeof why;
	rc = pem_each(b, len, on_key, &st, why, sizeof why);
	explicit_bzero(b, len);
	free(b);
	if (rc < 0 || !st.nkeys) {
		seterr(err, errlen, "%s: %s", key_path, rc < 0 ? why : "no PRIVATE KEY in it");
		goto fail;
	}
	if (check_pair(k, why, sizeof why) < 0) {
		seterr(err, errlen, "%s and %s: %s", cert_path, key_path, why);
		goto fail;
	}
	k->key_type = br_skey_decoder_key_type(&k->key);
	size_t n = strlen(k->desc);
	snprintf(k->desc + n, sizeof k->desc - n, ", %zu certificate%s", k->nchain, k->nchain > 1 ? "s" : "");
	return k;
fail:
	creds_unref(k);
	return NULL;
}

/* ---------- the shared session cache ---------- */

/* BearSSL's LRU cache is not thread-safe; the loops share one behind a
 * lock (taken once per full handshake and once per resumption). */
typedef struct {
	const br_ssl_session_cache_class *vtable;
	pthread_mutex_t mu;
	br_ssl_session_cache_lru lru;
	unsigned char *store;
} shared_cache;

static void cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		       const br_ssl_session_parameters *p)
{
	shared_cache *sh = (shared_cache *)ctx;
	pthread_mutex_lock(&sh->mu);
	sh->lru.vtable->save(&sh->lru.vtable, sc, p);
	pthread_mutex_unlock(&sh->mu);
}

static int cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		      br_ssl_session_parameters *p)
{
	shared_cache *sh = (shared_cache *)ctx;
	pthread_mutex_lock(&sh->mu);
	int r = sh->lru.vtable->load(&sh->lru.vtable, sc, p);
	pthread_mutex_unlock(&sh->mu);
	return r;
}

static const br_ssl_session_cache_class shared_cache_class = { sizeof(shared_cache), cache_save, cache_load };

/* ---------- the context ---------- */

struct tls_ctx {
	pthread_mutex_t mu;
	creds *cur;
	char cert_path[1024], key_path[1024];
	shared_cache cache;
	atomic_uint_fast64_t handshakes, failed, plain_refused, timeouts, reloads, reload_failed;
	atomic_int_fast64_t open;
};

tls_ctx *tls_ctx_new(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	if (strlen(cert_path) >= 1024 || strlen(key_path) >= 1024) {
		seterr(err, errlen, "path too long");
		return NULL;
	}
	creds *k = creds_load(cert_path, key_path, err, errlen);
	if (!k)
		return NULL;
	tls_ctx *t = calloc(1, sizeof *t);
	unsigned char *store = malloc(TLS_CACHE_BYTES);
	if (!t || !store) {
		free(t);
		free(store);
		creds_unref(k);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->cur = k;
	strcpy(t->cert_path, cert_path);
	strcpy(t->key_path, key_path);
	t->cache.vtable = &shared_cache_class;
	pthread_mutex_init(&t->cache.mu, NULL);
	t->cache.store = store;
	br_ssl_session_cache_lru_init(&t->cache.lru, store, TLS_CACHE_BYTES);
	return t;
}

int tls_ctx_reload(tls_ctx *t, char *err, size_t errlen)
{
	creds *k = creds_load(t->cert_path, t->key_path, err, errlen);
	if (!k) {
		atomic_fetch_add(&t->reload_failed, 1);
		return -1;
	}
	pthread_mutex_lock(&t->mu);
	creds *old = t->cur;
	t->cur = k;
	pthread_mutex_unlock(&t->mu);
	creds_unref(old);   /* freed when the last connection using it goes */
	atomic_fetch_add(&t->reloads, 1);
	return 0;
}

void tls_ctx_describe(tls_ctx *t, char *out, size_t len)
{
	pthread_mutex_lock(&t->mu);
	snprintf(out, len, "%s", t->cur->desc);
	pthread_mutex_unlock(&t->mu);
}

void tls_ctx_stats(tls_ctx *t, tls_stats *o)
{
	o->handshakes = atomic_load(&t->handshakes);
	o->failed = atomic_load(&t->failed);
	o->plain_refused = atomic_load(&t->plain_refused);
	o->timeouts = atomic_load(&t->timeouts);
	o->reloads = atomic_load(&t->reloads);
	o->reload_failed = atomic_load(&t->reload_failed);
	o->open = atomic_load(&t->open);
}

void tls_ctx_count_plain(tls_ctx *t)
{
	atomic_fetch_add_explicit(&t->plain_refused, 1, memory_order_relaxed);
}

void tls_ctx_count_timeout(tls_ctx *t)
{
	atomic_fetch_add_explicit(&t->timeouts, 1, memory_order_relaxed);
}

void tls_ctx_free(tls_ctx **t_p)
{
	tls_ctx *t = *t_p;
	if (!t)
		return;
	creds_unref(t->cur);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->cache.mu);
	free(t->cache.store);
	free(t);
	*t_p = NULL;
}

/* ---------- one connection ---------- */

struct tls_conn {
	br_ssl_server_context sc;
	tls_ctx *ctx;
	creds *k;
	bool counted;        /* the handshake's end (or failure) was counted */
	bool up;             /* the handshake is done */
	unsigned char ibuf[BR_SSL_BUFSIZE_INPUT];
	unsigned char obuf[TLS_OUT_PAYLOAD + 85];   /* 5 header + up to 80 bytes of MAC/padding */
};

size_t tls_conn_size(void)
{
	return sizeof(tls_conn);
}

tls_conn *tls_conn_new(tls_ctx *t)
{
	tls_conn *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	c->ctx = t;
	c->counted = false;
	c->up = false;
	pthread_mutex_lock(&t->mu);
	c->k = t->cur;
	atomic_fetch_add(&c->k->refs, 1);
	pthread_mutex_unlock(&t->mu);
	br_ssl_server_context *sc = &c->sc;
	br_ssl_engine_context *e = &sc->eng;
	/* the "full" profiles install every implementation (AES-NI, the
	 * constant-time fallbacks, every curve); the suites are narrowed
	 * below */
	if (c->k->key_type == BR_KEYTYPE_RSA) {
		br_ssl_server_init_full_rsa(sc, c->k->chain, c->k->nchain, br_skey_decoder_get_rsa(&c->k->key));
		br_ssl_engine_set_suites(e, suites_rsa, sizeof suites_rsa / sizeof suites_rsa[0]);
	} else {
		br_ssl_server_init_full_ec(sc, c->k->chain, c->k->nchain, BR_KEYTYPE_EC,
					   br_skey_decoder_get_ec(&c->k->key));
		br_ssl_engine_set_suites(e, suites_ec, sizeof suites_ec / sizeof suites_ec[0]);
	}
	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_all_flags(e, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_buffers_bidi(e, c->ibuf, sizeof c->ibuf, c->obuf, sizeof c->obuf);
	br_ssl_server_set_cache(sc, &t->cache.vtable);
	if (!br_ssl_server_reset(sc)) {
		creds_unref(c->k);
		free(c);
		return NULL;
	}
	atomic_fetch_add_explicit(&t->open, 1, memory_order_relaxed);
	return c;
}

void tls_conn_free(tls_conn **c_p)
{
	tls_conn *c = *c_p;
	if (!c)
		return;
	if (!c->counted && br_ssl_engine_last_error(&c->sc.eng) != BR_ERR_OK)
		atomic_fetch_add_explicit(&c->ctx->failed, 1, memory_order_relaxed);
	creds_unref(c->k);
	atomic_fetch_sub_explicit(&c->ctx->open, 1, memory_order_relaxed);
	explicit_bzero(&c->sc, sizeof c->sc);
	free(c);
	*c_p = NULL;
}

static br_ssl_engine_context *ENG(tls_conn *c)
{
	return &c->sc.eng;
}

/* Counts the handshake's end once. */
static void note_state(tls_conn *c, unsigned st)
{
	if (c->counted)
		return;
	if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) {
		c->counted = true;
		c->up = true;
		atomic_fetch_add_explicit(&c->ctx->handshakes, 1, memory_order_relaxed);
	} else if ((st & BR_SSL_CLOSED) && br_ssl_engine_last_error(ENG(c)) != BR_ERR_OK) {
		c->counted = true;
		atomic_fetch_add_explicit(&c->ctx->failed, 1, memory_order_relaxed);
	}
}

int tls_engine_send(br_ssl_engine_context *e, int fd)
{
	for (;;) {
		size_t len;
		unsigned char *b = br_ssl_engine_sendrec_buf(e, &len);
		if (!b)
			break;
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
		if (n > 0) {
			br_ssl_engine_sendrec_ack(e, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	unsigned st = br_ssl_engine_current_state(e);
	return (st & BR_SSL_CLOSED) && br_ssl_engine_last_error(e) != BR_ERR_OK ? -1 : 1;
}

ssize_t tls_engine_read(br_ssl_engine_context *e, int fd, void *dst, size_t cap, bool *wants_write)
{
	size_t got = 0;
	*wants_write = false;
	for (;;) {
		unsigned st = br_ssl_engine_current_state(e);
		if (st & BR_SSL_SENDREC) {
			int r = tls_engine_send(e, fd);
			if (r < 0 && !(br_ssl_engine_current_state(e) & BR_SSL_CLOSED))
				return got ? (ssize_t)got : -2;   /* the socket failed */
			if (r == 0)
				*wants_write = true;
			st = br_ssl_engine_current_state(e);
		}
		if (st & BR_SSL_CLOSED) {
			if (got)
				return (ssize_t)got;
			return br_ssl_engine_last_error(e) == BR_ERR_OK ? 0 : -2;
		}
		if (st & BR_SSL_RECVAPP) {
			size_t len;
			unsigned char *b = br_ssl_engine_recvapp_buf(e, &len);
			size_t k = len < cap - got ? len : cap - got;
			memcpy((char *)dst + got, b, k);
			br_ssl_engine_recvapp_ack(e, k);
			got += k;
			if (got == cap)
				return (ssize_t)got;
			continue;
		}
		if (st & BR_SSL_RECVREC) {
			size_t len;
			unsigned char *b = br_ssl_engine_recvrec_buf(e, &len);
			ssize_t n = recv(fd, b, len, 0);
			if (n > 0) {
				br_ssl_engine_recvrec_ack(e, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (got)
				return (ssize_t)got;
			if (n == 0)
				return 0;   /* closed without close_notify: the end of the stream all the same */
			return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
		}
		return got ? (ssize_t)got : -1;   /* records wait for the socket first */
	}
}

int tls_send(tls_conn *c, int fd)
{
	int r = tls_engine_send(ENG(c), fd);
	note_state(c, br_ssl_engine_current_state(ENG(c)));
	return r;
}

ssize_t tls_read(tls_conn *c, int fd, void *dst, size_t cap, bool *wants_write)
{
	ssize_t n = tls_engine_read(ENG(c), fd, dst, cap, wants_write);
	note_state(c, br_ssl_engine_current_state(ENG(c)));
	return n;
}

size_t tls_write(tls_conn *c, const void *data, size_t len)
{
	br_ssl_engine_context *e = ENG(c);
	size_t done = 0;
	while (done < len) {
		size_t room;
		unsigned char *b = br_ssl_engine_sendapp_buf(e, &room);
		if (!b)
			break;
		size_t k = room < len - done ? room : len - done;
		memcpy(b, (const char *)data + done, k);
		br_ssl_engine_sendapp_ack(e, k);
		done += k;
		if (k == room)
			break;   /* a full record is ready: it goes out before more is taken */
	}
	return done;
}

void tls_flush_record(tls_conn *c)
{
	br_ssl_engine_flush(ENG(c), 0);
}

size_t tls_pending(tls_conn *c)
{
	size_t len = 0;
	return br_ssl_engine_sendrec_buf(ENG(c), &len) ? len : 0;
}

bool tls_has_input(tls_conn *c)
{
	return (br_ssl_engine_current_state(ENG(c)) & BR_SSL_RECVAPP) != 0;
}

bool tls_established(tls_conn *c)
{
	return c->up && !(br_ssl_engine_current_state(ENG(c)) & BR_SSL_CLOSED);
}

bool tls_closed(tls_conn *c)
{
	return (br_ssl_engine_current_state(ENG(c)) & BR_SSL_CLOSED) != 0;
}

void tls_close(tls_conn *c)
{
	br_ssl_engine_close(ENG(c));
}

int tls_error(tls_conn *c)
{
	return br_ssl_engine_last_error(ENG(c));
}

const char *tls_server_name(tls_conn *c)
{
	return br_ssl_engine_get_server_name(ENG(c));
}
