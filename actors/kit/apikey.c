/* apikey — see apikey.h. The in-flight table is 1,024 slots keyed by a
 * hash of (tenant, key) under one lock: it is consulted only when the
 * stored last use is due, so it is almost never touched; two keys that
 * share a slot may each submit a write the other would have held back,
 * and the writer's own check keeps the stored time to one write a minute. */
#include "actors/kit/apikey.h"
#include "actors/kit/app.h"
#include "actors/kit/perm.h"
#include "storage/apikey_store.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool apikey_is_secret(const char *tok, size_t len)
{
	return len >= 3 && memcmp(tok, APIKEY_PREFIX, 3) == 0;
}

int apikey_new_secret(uint64_t tid, char out[APIKEY_SECRET_MAX], uint8_t hash[32], char hint[REC_HINT_MAX + 1])
{
	uint8_t raw[APIKEY_RAW];
	if (crypto_random(raw, sizeof raw) < 0)
		return -1;
	char ts[24];
	int n = snprintf(out, APIKEY_SECRET_MAX, APIKEY_PREFIX "%s_", id_str(tid, ts));
	size_t len = (size_t)n + crypto_b64url_encode(raw, sizeof raw, out + n);
	out[len] = 0;
	memset(raw, 0, sizeof raw);
	crypto_sha256(out, len, hash);
	memcpy(hint, out + len - APIKEY_HINT_LEN, APIKEY_HINT_LEN);
	hint[APIKEY_HINT_LEN] = 0;
	return 0;
}

int apikey_parse(const char *tok, size_t len, uint64_t *tid, uint8_t hash[32])
{
	if (!apikey_is_secret(tok, len))
		return -1;
	const char *p = tok + 3, *end = tok + len;
	const char *us = memchr(p, '_', (size_t)(end - p));
	if (!us || us == p || !id_parse(p, (size_t)(us - p), tid) || *tid == 0 ||
	    (size_t)(end - us - 1) != CRYPTO_B64URL_LEN(APIKEY_RAW))
		return -1;
	for (const char *c = us + 1; c < end; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '_'))
			return -1;
	crypto_sha256(tok, len, hash);
	return 0;
}

/* ------------------------------------------------------------------ last use */

typedef struct {
	wr_req w;
	uint64_t tid, id;
	int64_t at;
} touch_op;

static int touch_apply(wr_req *w, store_txn *t)
{
	touch_op *op = container_of(w, touch_op, w);
	int rc = apikey_touch(t, op->tid, op->id, op->at, APIKEY_TOUCH_MS);
	/* a key gone or undecodable since the request: nothing to record */
	return rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT ? 0 : rc < 0 ? rc : 0;
}

static void touch_done(wr_req *w, int rc)
{
	touch_op *op = container_of(w, touch_op, w);
	if (rc)
		log_warn("apikey.touch", "tid=%llu id=%llu err=\"%s\"", (unsigned long long)op->tid,
			 (unsigned long long)op->id, store_strerror(rc));
	free(op);
}

static void touch(app *a, const rec_apikey *k, int64_t now)
{
	if (!a->key_use || !keyuse_due(a->key_use, k->tid, k->id, now, k->last_used_ms))
		return;
	touch_op *op = calloc(1, sizeof *op);
	if (!op)
		return;   /* the next request tries again once the slot is due */
	op->tid = k->tid;
	op->id = k->id;
	op->at = now;
	op->w.apply = touch_apply;
	op->w.done = touch_done;
	writer_submit(a->wr, &op->w);
}

/* ------------------------------------------------------------------ the caller */

int apikey_principal(app *a, const char *tok, size_t len, principal *out)
{
	uint64_t tid;
	uint8_t hash[32];
	if (apikey_parse(tok, len, &tid, hash) < 0)
		return -1;
	store_txn t;
	if (store_read(a->db, &t))
		return -1;
	rec_apikey k;
	int rc = apikey_by_hash(&t, tid, hash, &k);
	store_done(&t);
	int64_t now = clock_now_ms();
	if (rc || k.revoked || (k.expires_ms && now >= k.expires_ms) || perm_scope_role(k.scope) == ROLE_NONE)
		return -1;
	memset(out, 0, sizeof *out);
	out->kind = P_APIKEY;
	out->scope = k.scope;
	out->tid = k.tid;
	out->id = k.id;
	strcpy(out->role, role_name(perm_scope_role(k.scope)));
	strcpy(out->name, k.name);
	touch(a, &k, now);
	return 0;
}

/* ------------------------------------------------------------------ the in-flight table */

#define KU_SLOTS 1024

struct keyuse {
	pthread_mutex_t lock;
	struct {
		uint64_t tid, id;
		int64_t asked_ms;
	} slot[KU_SLOTS];
};

keyuse *keyuse_new(void)
{
	keyuse *u = calloc(1, sizeof *u);
	if (u)
		pthread_mutex_init(&u->lock, NULL);
	return u;
}

void keyuse_free(keyuse **u_p)
{
	if (*u_p) {
		pthread_mutex_destroy(&(*u_p)->lock);
		free(*u_p);
	}
	*u_p = NULL;
}

bool keyuse_due(keyuse *u, uint64_t tid, uint64_t id, int64_t now, int64_t stored_ms)
{
	if (stored_ms && now - stored_ms < APIKEY_TOUCH_MS)
		return false;
	uint64_t h = (tid * 0x9E3779B97F4A7C15ull) ^ (id * 0xC2B2AE3D27D4EB4Full);
	size_t i = (size_t)(h >> 32) % KU_SLOTS;
	bool due;
	pthread_mutex_lock(&u->lock);
	due = !(u->slot[i].tid == tid && u->slot[i].id == id && now - u->slot[i].asked_ms < APIKEY_TOUCH_MS &&
		now >= u->slot[i].asked_ms);
	if (due) {
		u->slot[i].tid = tid;
		u->slot[i].id = id;
		u->slot[i].asked_ms = now;
	}
	pthread_mutex_unlock(&u->lock);
	return due;
}
