/* db — LMDB environment. MDB_NOTLS lets read transactions move between
 * threads and lets one thread hold several; MDB_NORDAHEAD avoids reading
 * whole pages ahead for our small random reads. The map is sized large
 * (64 GiB of address space, sparse on disk) so MDB_MAP_FULL is not a
 * practical failure mode; the writer reports it if it happens. */
#include "storage/db.h"
#include "storage/rollup_store.h"
#include "storage/search_store.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct db {
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	char path[4096];
	bool search_off;   /* db_set_search_index */
	bool rollups_off;  /* db_set_rollups */
	struct rollup_batch *rollup_batch;   /* rollup_store.c's deferred figures */
	struct search_cache *search_cache;   /* search_store.c's known postings */
	uint64_t aborts;                     /* db_note_abort */
};

static const char *names[DB__COUNT] = {
	"meta", "tenants", "tenant_slug", "widget_keys", "users", "user_email",
	"visitors", "convs", "conv_status", "conv_assignee", "visitor_convs",
	"events", "inbox", "refresh", "families", "invites", "email", "api_keys", "api_key_hash",
	"webhooks", "outbox", "outbox_log", "outbox_counts",
	"files", "blobs", "usage",
	"depts", "dept_members", "agent_depts", "presence", "audit", "due",
	"canned", "canned_code", "tags", "tag_name", "tag_convs", "attr_defs", "attrs", "mentions",
	"search", "ratings", "rating_time", "rollups", "alerts", "pageviews", "vsessions",
};

const char *db_table_name(enum db_table t)
{
	return names[t];
}

int db_rc(int rc)
{
	return store_rc(rc);
}

db *db_open(const char *dir, const db_opts *opts, int *err)
{
	db *d = calloc(1, sizeof *d);
	int rc;
	if (!d) {
		*err = ENOMEM;
		return NULL;
	}
	snprintf(d->path, sizeof d->path, "%s/db", dir);
	mkdir(dir, 0700);
	if (!(opts && opts->read_only))
		mkdir(d->path, 0700);
	if ((rc = mdb_env_create(&d->env)))
		goto out_free;
	mdb_env_set_maxdbs(d->env, DB__COUNT + 4);
	mdb_env_set_maxreaders(d->env, 1024);
	mdb_env_set_mapsize(d->env, opts && opts->map_size ? opts->map_size : (size_t)64 << 30);
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
	if (opts && opts->no_sync)
		flags |= MDB_NOSYNC;
	if (opts && opts->read_only)
		flags |= MDB_RDONLY;
	if ((rc = mdb_env_open(d->env, d->path, flags, 0600)))
		goto out_env;
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(d->env, NULL, opts && opts->read_only ? MDB_RDONLY : 0, &txn)))
		goto out_env;
	for (int i = 0; i < DB__COUNT; i++) {
		rc = mdb_dbi_open(txn, names[i], opts && opts->read_only ? 0 : MDB_CREATE, &d->dbi[i]);
		if (rc) {
			mdb_txn_abort(txn);
			goto out_env;
		}
	}
	if ((rc = mdb_txn_commit(txn)))
		goto out_env;
	return d;

out_env:
	mdb_env_close(d->env);
out_free:
	log_error("db.open", "path=%s err=\"%s\"", d->path, mdb_strerror(rc));
	free(d);
	*err = rc;
	return NULL;
}

void db_set_search_index(db *d, bool on)
{
	d->search_off = !on;
}

bool db_search_index(const db *d)
{
	return !d->search_off;
}

void db_set_rollups(db *d, bool on)
{
	d->rollups_off = !on;
}

bool db_rollups(const db *d)
{
	return !d->rollups_off;
}

struct rollup_batch **db_rollup_batch(db *d)
{
	return &d->rollup_batch;
}

struct search_cache **db_search_cache(db *d)
{
	return &d->search_cache;
}

void db_note_abort(db *d)
{
	d->aborts++;
}

uint64_t db_aborts(const db *d)
{
	return d->aborts;
}

void db_close(db **db_p)
{
	db *d = *db_p;
	if (!d)
		return;
	rollup_batch_free(&d->rollup_batch);
	searchstore_cache_free(&d->search_cache);
	mdb_env_close(d->env);
	free(d);
	*db_p = NULL;
}

MDB_env *db_env(db *d)
{
	return d->env;
}

MDB_dbi db_dbi(db *d, enum db_table t)
{
	return d->dbi[t];
}

int db_read(db *d, MDB_txn **txn)
{
	int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, txn);
	if (rc)
		log_error("db.read", "err=\"%s\"", mdb_strerror(rc));
	return db_rc(rc);
}

int db_write(db *d, MDB_txn **txn)
{
	int rc = mdb_txn_begin(d->env, NULL, 0, txn);
	if (rc)
		log_error("db.write", "err=\"%s\"", mdb_strerror(rc));
	return db_rc(rc);
}

int db_get(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen, MDB_val *v)
{
	MDB_val key = { klen, (void *)k };
	return db_rc(mdb_get(txn, d->dbi[t], &key, v));
}

int db_put(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen,
	   const void *v, size_t vlen)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
	int rc = mdb_put(txn, d->dbi[t], &key, &val, 0);
	if (rc)
		log_error("db.put", "table=%s err=\"%s\"", names[t], mdb_strerror(rc));
	return db_rc(rc);
}

int db_put_last(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen, const void *v, size_t vlen)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
	int rc = mdb_put(txn, d->dbi[t], &key, &val, MDB_APPEND);
	if (rc == MDB_KEYEXIST)   /* not past the last key: an ordinary insert */
		return db_put_new(d, txn, t, k, klen, v, vlen);
	if (rc)
		log_error("db.put", "table=%s err=\"%s\"", names[t], mdb_strerror(rc));
	return db_rc(rc);
}

int db_put_new(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen, const void *v, size_t vlen)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
	int rc = mdb_put(txn, d->dbi[t], &key, &val, MDB_NOOVERWRITE);
	if (rc && rc != MDB_KEYEXIST)
		log_error("db.put", "table=%s err=\"%s\"", names[t], mdb_strerror(rc));
	return db_rc(rc);
}

int db_walk_begin(db *d, MDB_txn *txn, const char *name, MDB_cursor *c, MDB_val *k, MDB_val *v, int *mrc)
{
	uint8_t at[16] = { 0 };    /* where to seek: the place, or the start */
	MDB_val m;
	int rc = db_get(d, txn, DB_META, name, strlen(name), &m);
	if (rc == 0 && m.mv_size == 1)
		return 1;
	if (rc != 0 && rc != STORE_ENOTFOUND)
		return rc;
	bool started = rc == 0 && m.mv_size == 16;
	if (started)
		memcpy(at, m.mv_data, 16);
	*k = (MDB_val){ 16, at };
	*mrc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	/* the record named by the place is done: step past it */
	if (*mrc == 0 && started && k->mv_size == 16 && memcmp(k->mv_data, at, 16) == 0)
		*mrc = mdb_cursor_get(c, k, v, MDB_NEXT);
	return 0;
}

int db_walk_end(db *d, MDB_txn *txn, const char *name, const uint8_t *last)
{
	uint8_t one = 1;
	return db_put(d, txn, DB_META, name, strlen(name), last ? last : &one, last ? 16 : 1);
}

int db_put_encoded(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen,
		   int enc_rc, buf *b)
{
	int rc = enc_rc ? STORE_ENOMEM : db_put(d, txn, t, k, klen, b->data, b->len);
	buf_free(b);
	return rc;
}

int db_absent(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen)
{
	MDB_val v;
	int rc = db_get(d, txn, t, k, klen, &v);
	return rc == 0 ? STORE_EEXISTS : rc == STORE_ENOTFOUND ? 0 : rc;
}

int db_del(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t klen)
{
	MDB_val key = { klen, (void *)k };
	int rc = mdb_del(txn, d->dbi[t], &key, NULL);
	if (rc == MDB_NOTFOUND)
		return STORE_OK;
	return db_rc(rc);
}

size_t db_file_size(db *d)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof p, "%s/data.mdb", d->path);
	return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

int db_last_under(db *d, MDB_txn *txn, enum db_table t, const void *prefix, size_t plen,
		  MDB_val *k, MDB_val *v)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, d->dbi[t], &cur);
	if (rc)
		return STORE_EIO;
	/* seek just past the prefix range, then step back */
	uint8_t seek[64];
	if (plen > sizeof seek - 1) {
		mdb_cursor_close(cur);
		return STORE_EIO;
	}
	memcpy(seek, prefix, plen);
	size_t sl = plen;
	int i = (int)plen - 1;
	while (i >= 0 && seek[i] == 0xFF)
		i--;
	MDB_val key = { 0, seek };
	if (i < 0) {
		rc = mdb_cursor_get(cur, k, v, MDB_LAST);
	} else {
		seek[i]++;
		sl = (size_t)i + 1;
		key.mv_size = sl;
		rc = mdb_cursor_get(cur, &key, v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(cur, k, v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, k, v, MDB_LAST);
	}
	if (rc == 0 && (k->mv_size < plen || memcmp(k->mv_data, prefix, plen) != 0))
		rc = MDB_NOTFOUND;
	mdb_cursor_close(cur);
	return db_rc(rc);
}

int db_each_under(db *d, MDB_txn *txn, enum db_table t, const void *prefix, size_t plen,
		  const void *start, size_t slen,
		  int (*each)(void *arg, const MDB_val *k, const MDB_val *v), void *arg)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, d->dbi[t], &cur))
		return STORE_EIO;
	MDB_val k = { start ? slen : plen, (void *)(start ? start : prefix) }, v;
	/* LMDB refuses an empty key: an empty prefix starts at the first key */
	int rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
	int out = 0;
	while (rc == 0 && k.mv_size >= plen && (plen == 0 || memcmp(k.mv_data, prefix, plen) == 0)) {
		if ((out = each(arg, &k, &v)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (out)
		return out;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : db_rc(rc);
}
