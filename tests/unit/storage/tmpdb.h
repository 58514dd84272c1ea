/* tmpdb — the fixture of the store tests: a database in a fresh mkdtemp
 * directory, removed with everything in it afterwards, and a write
 * transaction helper. Include after <cmocka.h>. */
#ifndef PARLEY_TEST_TMPDB_H
#define PARLEY_TEST_TMPDB_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage/db.h"
#include "storage/store.h"

typedef struct {
	char dir[64];
	db *d;
	store_txn t;            /* the test's open transaction, if any */
} tmpdb;

static int tmpdb_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int tmpdb_setup(void **state)
{
	tmpdb *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/parley-storetest-XXXXXX");
	int err = 0;
	db_opts o = { .map_size = (size_t)256 << 20 };
	if (!mkdtemp(f->dir) || !(f->d = db_open(f->dir, &o, &err))) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int tmpdb_teardown(void **state)
{
	tmpdb *f = *state;
	store_done(&f->t);
	db_close(&f->d);
	nftw(f->dir, tmpdb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	int gone = access(f->dir, F_OK) != 0;
	free(f);
	return gone ? 0 : -1;
}

/* Begins the fixture's write transaction. */
static inline store_txn *tmpdb_write(tmpdb *f)
{
	assert_int_equal(store_write(f->d, &f->t), 0);
	return &f->t;
}

/* Commits it. */
static inline void tmpdb_commit(tmpdb *f)
{
	assert_int_equal(store_commit(&f->t), 0);
}

/* Begins a read snapshot in the fixture's transaction. */
static inline store_txn *tmpdb_read(tmpdb *f)
{
	assert_int_equal(store_read(f->d, &f->t), 0);
	return &f->t;
}

#endif
