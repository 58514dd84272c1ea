/* parley — the admin CLI. Works offline on a data directory (LMDB allows it
 * beside a running server: its writer lock serialises the two writers).
 *
 *   parley [--data DIR] tenant create --name NAME --slug SLUG [--origins URL,URL]
 *   parley [--data DIR] tenant key --tenant SLUG
 *   parley [--data DIR] user create --tenant SLUG --email E --password P [--role R] [--name N]
 *   parley [--data DIR] user reset-password --tenant SLUG --email E --password P
 *   parley [--data DIR] analytics rebuild   (recomputes the rollups from the stored events
 *                                            and the ratings' time index from the ratings)
 *   parley [--data DIR] analytics dump      (prints every rollup key and its nonzero figures)
 */
#include "actors/auth/password.h"
#include "storage/account_store.h"
#include "storage/dept_store.h"
#include "storage/db.h"
#include "storage/rating_store.h"
#include "storage/rollup_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], name) == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	}
	return NULL;
}

static int usage(void)
{
	fprintf(stderr,
		"usage:\n"
		"  parley [--data DIR] tenant create --name NAME --slug SLUG [--origins URL,URL]\n"
		"  parley [--data DIR] tenant key --tenant SLUG\n"
		"  parley [--data DIR] user create --tenant SLUG --email EMAIL --password PW [--role owner|admin|supervisor|agent] [--name NAME]\n"
		"  parley [--data DIR] user reset-password --tenant SLUG --email EMAIL --password PW\n"
		"  parley [--data DIR] analytics rebuild|dump\n"
		"DIR defaults to $PARLEY_DATA or ./data\n");
	return 2;
}

static bool dump_key(void *ctx, const uint8_t *key, size_t klen, const rollup_vec *v)
{
	(void)ctx;
	for (size_t i = 0; i < klen; i++)
		printf("%02x", key[i]);
	for (int m = 0; m < RM__COUNT; m++)
		if (v->v[m])
			printf(" %d=%llu", m, (unsigned long long)v->v[m]);
	putchar('\n');
	return true;
}

static int need(const char *v, const char *name)
{
	if (!v) {
		fprintf(stderr, "parley: %s is required\n", name);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = arg(argc, argv, "--data");
	if (!dir)
		dir = getenv("PARLEY_DATA") ? getenv("PARLEY_DATA") : "./data";
	int i = 1;
	while (i < argc && strncmp(argv[i], "--", 2) == 0)
		i += strchr(argv[i], '=') ? 1 : 2;
	if (argc - i < 2)
		return usage();
	const char *what = argv[i], *verb = argv[i + 1];
	int err = 0;
	db *d = db_open(dir, NULL, &err);
	if (!d) {
		fprintf(stderr, "parley: cannot open %s: %s\n", dir, store_strerror(err));
		return 1;
	}
	id_gen ids = { 0 };
	store_txn txn;
	int rc = 1;
	if (store_write(d, &txn))
		goto out;
	const char *slug = arg(argc, argv, "--tenant");
	rec_tenant t;
	rec_user u;
	int r;
	if (strcmp(what, "tenant") == 0 && strcmp(verb, "create") == 0) {
		const char *name = arg(argc, argv, "--name"), *s = arg(argc, argv, "--slug");
		if (need(name, "--name") || need(s, "--slug"))
			goto abort;
		r = account_tenant_create(&txn, &ids, name, s, arg(argc, argv, "--origins"), &t);
		if (r == 0 && (r = deptstore_seed(&txn, t.id, t.created_ms)) > 0)
			r = 0;   /* its four departments */
		if (r) {
			fprintf(stderr, "parley: cannot create tenant: %s\n", store_strerror(r));
			goto abort;
		}
		printf("tenant id: %llu\nslug: %s\nwidget key: %s\n", (unsigned long long)t.id, t.slug, t.widget_key);
	} else if (strcmp(what, "tenant") == 0 && strcmp(verb, "key") == 0) {
		if (need(slug, "--tenant"))
			goto abort;
		if ((r = account_tenant_by_slug(&txn, slug, &t))) {
			fprintf(stderr, "parley: tenant %s: %s\n", slug, store_strerror(r));
			goto abort;
		}
		printf("%s\n", t.widget_key);
	} else if (strcmp(what, "user") == 0 && (strcmp(verb, "create") == 0 || strcmp(verb, "reset-password") == 0)) {
		const char *email = arg(argc, argv, "--email"), *pw = arg(argc, argv, "--password");
		if (need(slug, "--tenant") || need(email, "--email") || need(pw, "--password"))
			goto abort;
		if ((r = account_tenant_by_slug(&txn, slug, &t))) {
			fprintf(stderr, "parley: tenant %s: %s\n", slug, store_strerror(r));
			goto abort;
		}
		char hash[PASSWORD_HASH_MAX];
		if (password_hash(pw, strlen(pw), hash) < 0) {
			fprintf(stderr, "parley: password must be %d to %d bytes\n", PASSWORD_MIN_LEN, PASSWORD_MAX_LEN);
			goto abort;
		}
		if (strcmp(verb, "create") == 0) {
			const char *role = arg(argc, argv, "--role"), *name = arg(argc, argv, "--name");
			r = account_user_create(&txn, &ids, t.id, email, hash, role ? role : "agent",
						name ? name : "", &u);
			if (r) {
				fprintf(stderr, "parley: cannot create user: %s\n", store_strerror(r));
				goto abort;
			}
			printf("user id: %llu\nemail: %s\nrole: %s\n", (unsigned long long)u.id, u.email, u.role);
		} else {
			if ((r = account_user_by_email(&txn, t.id, email, &u)) ||
			    (r = account_user_set_password(&txn, &u, hash))) {
				fprintf(stderr, "parley: cannot reset password: %s\n", store_strerror(r));
				goto abort;
			}
			printf("password reset for %s\n", u.email);
		}
	} else if (strcmp(what, "analytics") == 0 && strcmp(verb, "rebuild") == 0) {
		long n = rollup_rebuild(&txn);
		if (n < 0) {
			fprintf(stderr, "parley: rebuild failed: %s\n", store_strerror((int)n));
			goto abort;
		}
		/* the ratings' time index comes from the rating records, not the
		 * events: built again beside them so that both start fresh */
		long nr = rating_reindex(&txn);
		if (nr < 0) {
			fprintf(stderr, "parley: rebuild failed: %s\n", store_strerror((int)nr));
			goto abort;
		}
		printf("rollups rebuilt from %ld conversations; %ld ratings indexed by time\n", n, nr);
	} else if (strcmp(what, "analytics") == 0 && strcmp(verb, "dump") == 0) {
		if ((r = rollup_dump(&txn, dump_key, NULL))) {
			fprintf(stderr, "parley: dump failed: %s\n", store_strerror(r));
			goto abort;
		}
	} else {
		store_done(&txn);
		db_close(&d);
		return usage();
	}
	if ((r = store_commit(&txn))) {
		fprintf(stderr, "parley: commit failed: %s\n", store_strerror(r));
		goto out;
	}
	rc = 0;
	goto out;
abort:
	store_done(&txn);
out:
	db_close(&d);
	return rc;
}
