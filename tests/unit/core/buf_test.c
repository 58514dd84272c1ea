/* buf_test — the growable byte buffer (append, printf, consume, reserve
 * growth, NUL termination) and rbuf reference counting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rbuf.h"

static bool is_pow2_times_256(size_t cap)
{
	if (cap < 256 || cap % 256)
		return false;
	size_t k = cap / 256;
	return (k & (k - 1)) == 0;
}

/* Invariants that hold after every successful operation. */
static void check_invariants(const buf *b)
{
	if (!b->data) {
		assert_int_equal(b->len, 0);
		assert_int_equal(b->cap, 0);
		return;
	}
	assert_true(b->len < b->cap);          /* room for the NUL */
	assert_int_equal(b->data[b->len], 0);
	assert_true(is_pow2_times_256(b->cap));
}

/* ---- buf ---------------------------------------------------------------- */

static void test_zero_init_is_empty(void **state)
{
	(void)state;
	buf b = { 0 };
	check_invariants(&b);
	buf_consume(&b, 10);                   /* empty, no storage: harmless */
	check_invariants(&b);
	buf_free(&b);
	check_invariants(&b);
}

static void test_append_and_puts(void **state)
{
	(void)state;
	buf b = { 0 };
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	check_invariants(&b);
	assert_int_equal(b.len, 5);
	assert_int_equal(b.cap, 256);
	assert_string_equal(b.data, "hello");

	assert_int_equal(buf_puts(&b, ", world"), 0);
	assert_int_equal(b.len, 12);
	assert_string_equal(b.data, "hello, world");

	/* Binary data with embedded NULs is kept byte for byte. */
	const char bin[] = { 'a', 0, 'b', 0, 'c' };
	assert_int_equal(buf_append(&b, bin, sizeof bin), 0);
	assert_int_equal(b.len, 17);
	assert_memory_equal(b.data + 12, bin, sizeof bin);
	assert_int_equal(b.data[17], 0);

	assert_int_equal(buf_append(&b, "x", 0), 0);   /* empty append */
	assert_int_equal(b.len, 17);
	assert_int_equal(buf_puts(&b, ""), 0);
	assert_int_equal(b.len, 17);
	check_invariants(&b);

	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_reserve_growth(void **state)
{
	(void)state;
	buf b = { 0 };
	assert_int_equal(buf_reserve(&b, 0), 0);
	assert_non_null(b.data);
	assert_int_equal(b.cap, 256);
	assert_int_equal(b.len, 0);

	assert_int_equal(buf_reserve(&b, 255), 0);   /* 255 + NUL fits in 256 */
	assert_int_equal(b.cap, 256);
	assert_int_equal(buf_reserve(&b, 256), 0);   /* needs 257 */
	assert_int_equal(b.cap, 512);

	assert_int_equal(buf_puts(&b, "keep"), 0);
	char *before = b.data;
	assert_int_equal(buf_reserve(&b, 507), 0);   /* 4 + 507 + 1 = 512: fits */
	assert_ptr_equal(b.data, before);            /* no reallocation */
	assert_int_equal(b.cap, 512);
	assert_int_equal(buf_reserve(&b, 508), 0);
	assert_int_equal(b.cap, 1024);
	assert_int_equal(b.len, 4);                  /* reserve never changes len */
	assert_string_equal(b.data, "keep");

	assert_int_equal(buf_reserve(&b, 100000), 0);
	assert_int_equal(b.cap, 131072);
	assert_true(b.cap >= b.len + 100000 + 1);
	assert_string_equal(b.data, "keep");
	check_invariants(&b);
	buf_free(&b);
}

static void test_append_many_grows_and_keeps_bytes(void **state)
{
	(void)state;
	enum { CHUNKS = 5000 };
	buf b = { 0 };
	size_t prev_cap = 0;
	int grows = 0;
	for (int i = 0; i < CHUNKS; i++) {
		char chunk[7];
		for (int k = 0; k < 7; k++)
			chunk[k] = (char)('a' + (i + k) % 26);
		assert_int_equal(buf_append(&b, chunk, sizeof chunk), 0);
		if (b.cap != prev_cap) {
			if (prev_cap)
				assert_int_equal(b.cap, prev_cap * 2);   /* doubling */
			prev_cap = b.cap;
			grows++;
		}
		check_invariants(&b);
	}
	assert_int_equal(b.len, (size_t)CHUNKS * 7);
	assert_true(grows > 1);
	for (int i = 0; i < CHUNKS; i++)
		for (int k = 0; k < 7; k++)
			assert_int_equal(b.data[i * 7 + k], 'a' + (i + k) % 26);
	buf_free(&b);
}

static void test_printf(void **state)
{
	(void)state;
	buf b = { 0 };
	assert_int_equal(buf_printf(&b, "%d-%s-%c", 42, "abc", 'z'), 0);
	assert_string_equal(b.data, "42-abc-z");
	assert_int_equal(b.len, 8);
	check_invariants(&b);

	assert_int_equal(buf_printf(&b, "|%05u|%.2f|%x", 7u, 1.5, 255u), 0);
	assert_string_equal(b.data, "42-abc-z|00007|1.50|ff");
	assert_int_equal(b.len, strlen(b.data));

	/* Empty result: nothing appended, still terminated. */
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 22);
	check_invariants(&b);

	/* Output larger than the current capacity forces growth mid-printf. */
	size_t base = b.len;
	assert_int_equal(buf_printf(&b, "[%*d]", 3000, 9), 0);
	assert_int_equal(b.len, base + 3002);
	assert_int_equal(b.data[base], '[');
	for (size_t i = base + 1; i < base + 3000; i++)
		assert_int_equal(b.data[i], ' ');
	assert_int_equal(b.data[base + 3000], '9');
	assert_int_equal(b.data[base + 3001], ']');
	assert_int_equal(b.cap, 4096);
	check_invariants(&b);
	assert_memory_equal(b.data, "42-abc-z|00007|1.50|ff", 22);

	/* Exactly filling the buffer: len + n + 1 == cap. */
	buf c = { 0 };
	assert_int_equal(buf_printf(&c, "%0255d", 0), 0);
	assert_int_equal(c.len, 255);
	assert_int_equal(c.cap, 256);
	check_invariants(&c);
	assert_int_equal(buf_printf(&c, "%s", "x"), 0);
	assert_int_equal(c.cap, 512);
	assert_int_equal(c.len, 256);
	assert_int_equal(c.data[255], 'x');
	check_invariants(&c);

	buf_free(&c);
	buf_free(&b);
}

static void test_printf_into_empty_buffer(void **state)
{
	(void)state;
	buf b = { 0 };
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	check_invariants(&b);
	buf_free(&b);
}

static void test_consume(void **state)
{
	(void)state;
	buf b = { 0 };
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	size_t cap = b.cap;

	buf_consume(&b, 0);
	assert_string_equal(b.data, "0123456789");
	buf_consume(&b, 3);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "3456789");
	buf_consume(&b, 6);
	assert_int_equal(b.len, 1);
	assert_string_equal(b.data, "9");
	buf_consume(&b, 1);                    /* exactly everything */
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(b.cap, cap);          /* storage kept for reuse */

	assert_int_equal(buf_puts(&b, "abc"), 0);
	buf_consume(&b, 1000);                 /* more than len */
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	check_invariants(&b);

	/* Consume then append: the remaining bytes moved to the front. */
	assert_int_equal(buf_puts(&b, "frame1|frame2|"), 0);
	buf_consume(&b, 7);
	assert_int_equal(buf_puts(&b, "frame3|"), 0);
	assert_string_equal(b.data, "frame2|frame3|");
	check_invariants(&b);

	/* Large overlapping move. */
	buf big = { 0 };
	for (int i = 0; i < 4000; i++) {
		char ch = (char)('A' + i % 26);
		assert_int_equal(buf_append(&big, &ch, 1), 0);
	}
	buf_consume(&big, 1234);
	assert_int_equal(big.len, 4000 - 1234);
	for (size_t i = 0; i < big.len; i++)
		assert_int_equal(big.data[i], 'A' + (int)((i + 1234) % 26));
	check_invariants(&big);

	buf_free(&big);
	buf_free(&b);
}

/* A reservation whose size would wrap len + n + 1 past SIZE_MAX must be
 * refused, not reported as success with no room. */
static void test_reserve_overflow_refused(void **state)
{
	(void)state;
	buf b = { 0 };
	assert_int_equal(buf_puts(&b, "abc"), 0);
	char *data = b.data;
	size_t cap = b.cap;
	/* len + n + 1 == 0 (mod 2^N) */
	int rc = buf_reserve(&b, SIZE_MAX - b.len);
	bool unchanged = b.data == data && b.cap == cap && b.len == 3 &&
	                 strcmp(b.data, "abc") == 0;
	buf_free(&b);
	assert_true(unchanged);
	if (rc != -1)
		fail_msg("buf_reserve(len=3, n=SIZE_MAX-3) returned %d with cap %zu: "
		         "len + n + 1 wrapped to 0", rc, cap);
}

/* ---- rbuf ---------------------------------------------------------------- */

static int refs_of(rbuf *b)
{
	return atomic_load(&b->refs);
}

static void test_rbuf_new_copies(void **state)
{
	(void)state;
	char src[] = "event payload";
	rbuf *r = rbuf_new(src, strlen(src));
	assert_non_null(r);
	assert_int_equal(refs_of(r), 1);
	assert_int_equal(r->len, strlen(src));
	assert_memory_equal(r->data, src, strlen(src));
	assert_int_equal(r->data[r->len], 0);   /* NUL-terminated */
	src[0] = 'X';                           /* a copy, not a view */
	assert_int_equal(r->data[0], 'e');
	rbuf_unref(&r);
	assert_null(r);

	rbuf *e = rbuf_new(NULL, 0);
	assert_non_null(e);
	assert_int_equal(e->len, 0);
	assert_int_equal(e->data[0], 0);
	assert_int_equal(refs_of(e), 1);
	rbuf_unref(&e);
	assert_null(e);
}

static void test_rbuf_refcounting(void **state)
{
	(void)state;
	rbuf *r = rbuf_new("abc", 3);
	assert_non_null(r);
	rbuf *a = rbuf_ref(r);
	assert_ptr_equal(a, r);
	assert_int_equal(refs_of(r), 2);
	rbuf *b = rbuf_ref(r);
	rbuf *c = rbuf_ref(b);
	assert_int_equal(refs_of(r), 4);

	rbuf_unref(&a);
	assert_null(a);
	assert_int_equal(refs_of(r), 3);
	rbuf_unref(&c);
	assert_null(c);
	assert_int_equal(refs_of(r), 2);
	assert_string_equal(r->data, "abc");    /* still alive */
	rbuf_unref(&b);
	assert_int_equal(refs_of(r), 1);
	rbuf_unref(&r);                         /* last reference: freed */
	assert_null(r);

	rbuf *none = NULL;
	rbuf_unref(&none);                      /* NULL is a no-op */
	assert_null(none);
}

enum { RB_THREADS = 4, RB_ROUNDS = 100000, RB_HOLD = 8 };

typedef struct {
	rbuf *shared;
	atomic_int go;
	atomic_int content_errors;
} rb_ctx;

static void *rb_worker(void *arg)
{
	rb_ctx *c = arg;
	rbuf *held[RB_HOLD];
	while (!atomic_load_explicit(&c->go, memory_order_acquire))
		sched_yield();
	for (int i = 0; i < RB_ROUNDS; i++) {
		held[i % RB_HOLD] = rbuf_ref(c->shared);
		if (i % RB_HOLD == RB_HOLD - 1) {
			for (int k = 0; k < RB_HOLD; k++) {
				if (held[k]->len != 5 || memcmp(held[k]->data, "fanout", 5) != 0)
					atomic_fetch_add(&c->content_errors, 1);
				rbuf_unref(&held[k]);
				if (held[k])
					atomic_fetch_add(&c->content_errors, 1);
			}
		}
	}
	return NULL;
}

/* Fan-out: several threads take and drop references concurrently; the
 * count returns exactly to the owner's single reference. */
static void test_rbuf_concurrent_refs(void **state)
{
	(void)state;
	_Static_assert(RB_ROUNDS % RB_HOLD == 0, "every reference is dropped");
	rb_ctx c = { 0 };
	c.shared = rbuf_new("fanout", 5);
	assert_non_null(c.shared);

	pthread_t th[RB_THREADS];
	for (int i = 0; i < RB_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, rb_worker, &c), 0);
	atomic_store_explicit(&c.go, 1, memory_order_release);
	for (int i = 0; i < RB_THREADS; i++)
		pthread_join(th[i], NULL);

	assert_int_equal(atomic_load(&c.content_errors), 0);
	assert_int_equal(refs_of(c.shared), 1);
	rbuf_unref(&c.shared);
	assert_null(c.shared);
}

/* The last of several concurrent owners frees (no double free / use after
 * free under ASan; the survivor count is exact). */
typedef struct {
	rbuf *r;
	atomic_int *go;
} drop_arg;

static void *drop_one(void *arg)
{
	drop_arg *d = arg;
	while (!atomic_load_explicit(d->go, memory_order_acquire))
		sched_yield();
	rbuf_unref(&d->r);
	return NULL;
}

static void test_rbuf_last_owner_frees(void **state)
{
	(void)state;
	enum { OWNERS = 4, ROUNDS = 200 };
	for (int round = 0; round < ROUNDS; round++) {
		atomic_int go;
		atomic_init(&go, 0);
		rbuf *r = rbuf_new("x", 1);
		assert_non_null(r);
		drop_arg args[OWNERS];
		pthread_t th[OWNERS];
		for (int i = 0; i < OWNERS; i++) {
			args[i] = (drop_arg){ .r = i ? rbuf_ref(r) : r, .go = &go };
		}
		assert_int_equal(refs_of(r), OWNERS);
		for (int i = 0; i < OWNERS; i++)
			assert_int_equal(pthread_create(&th[i], NULL, drop_one, &args[i]), 0);
		atomic_store_explicit(&go, 1, memory_order_release);
		for (int i = 0; i < OWNERS; i++) {
			pthread_join(th[i], NULL);
			assert_null(args[i].r);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_init_is_empty),
		cmocka_unit_test(test_append_and_puts),
		cmocka_unit_test(test_reserve_growth),
		cmocka_unit_test(test_append_many_grows_and_keeps_bytes),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_into_empty_buffer),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_reserve_overflow_refused),
		cmocka_unit_test(test_rbuf_new_copies),
		cmocka_unit_test(test_rbuf_refcounting),
		cmocka_unit_test(test_rbuf_concurrent_refs),
		cmocka_unit_test(test_rbuf_last_owner_frees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
