/* Fuzz target for storage/records: the msgpack codecs of every record kind.
 *
 * Input: byte 0 picks the record kind (mod 30: tenant, user, visitor, conv,
 * event, inbox, refresh, family, invite, email, apikey, webhook, outbox entry,
 * outbox log row, outbox count, file, blob, usage, department, presence,
 * audit row, canned response, tag, attribute definition, attribute values,
 * rating, page view, visitor session, tracking counter, alert); the rest is a stored value, decoded with
 * that kind's rec_*_decode straight from the fuzzer's buffer (so ASan sees
 * any read past its end).
 *
 * Checks: the decoder returns 0 or STORE_ECORRUPT; decoding into a struct full
 * of garbage gives the same bytes as decoding into a zeroed one (the decoder
 * zeroes first; missing trailing fields take their defaults); every string
 * field is NUL-terminated within its array; a bytes field (an outbox
 * payload) is a view that lies inside the input, NULL when empty. When
 * decoding succeeds: the
 * encoder accepts the result and writes [version, field...] (the kind's
 * current version: 4 for tenant and event, 3 for user and conversation, 2 for
 * visitor, 1 for the others) with exactly one element per
 * field; decoding that again succeeds and gives an equal struct (strings
 * compared up to their NUL: a stored string with an embedded NUL reads back
 * shorter, which is expected); encoding the second struct writes exactly the
 * same bytes (encode(decode(encode(x))) == encode(x)); bytes fields are
 * compared by content (their views point into different buffers). Any
 * disagreement aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "storage/db.h"
#include "storage/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

typedef int (*dec_fn)(const void *p, size_t n, void *r);
typedef int (*enc_fn)(const void *r, buf *out);

typedef struct {
	size_t off, cap;
} sfield;

typedef struct {
	dec_fn dec;
	enc_fn enc;
	size_t size;
	uint8_t version;         /* what the encoder writes */
	size_t nfields;          /* fields after the version */
	const sfield *str;       /* the string fields */
	size_t nstr;
	const size_t *bytes;     /* offsets of the rec_bytes fields */
	size_t nbytes;
} kind;

#define S(T, f) { offsetof(T, f), sizeof(((T *)0)->f) }
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const sfield tenant_s[] = {
	S(rec_tenant, name), S(rec_tenant, slug), S(rec_tenant, widget_key), S(rec_tenant, origins),
	S(rec_tenant, widget_color), S(rec_tenant, greeting), S(rec_tenant, widget_position),
	S(rec_tenant, timezone), S(rec_tenant, identity_secret),
};
static const sfield user_s[] = {
	S(rec_user, email), S(rec_user, name), S(rec_user, role), S(rec_user, pw_hash),
	S(rec_user, title), S(rec_user, avatar_url),
};
static const sfield visitor_s[] = {
	S(rec_visitor, name), S(rec_visitor, email), S(rec_visitor, phone), S(rec_visitor, notes),
	S(rec_visitor, external_id),
};
static const sfield conv_s[] = {
	S(rec_conv, visitor_name), S(rec_conv, visitor_email), S(rec_conv, assignee_name),
	S(rec_conv, lm_text),
};
static const sfield event_s[] = {
	S(rec_event, sender_name), S(rec_event, client_id), S(rec_event, text),
	S(rec_event, assignee_name), S(rec_event, addr),
#define FREF(j) S(rec_event, files.f[j].name), S(rec_event, files.f[j].type)
	FREF(0), FREF(1), FREF(2), FREF(3), FREF(4), FREF(5), FREF(6), FREF(7), FREF(8), FREF(9),
#undef FREF
};
static const sfield apikey_s[] = {
	S(rec_apikey, name), S(rec_apikey, hint), S(rec_apikey, created_by_name),
};
static const sfield file_s[] = { S(rec_file, name), S(rec_file, type) };

static const sfield email_s[] = {
	S(rec_email, host), S(rec_email, username), S(rec_email, password), S(rec_email, from),
	S(rec_email, notify),
};
static const sfield webhook_s[] = { S(rec_webhook, url), S(rec_webhook, description), S(rec_webhook, secret) };
static const sfield dept_s[] = {
	S(rec_dept, name), S(rec_dept, slug), S(rec_dept, description), S(rec_dept, notify_email),
	S(rec_dept, timezone), S(rec_dept, hours),
};
static const sfield audit_s[] = {
	S(rec_audit, actor_name), S(rec_audit, action), S(rec_audit, record_type), S(rec_audit, addr),
	S(rec_audit, details),
};
static const sfield canned_s[] = { S(rec_canned, shortcode), S(rec_canned, title), S(rec_canned, body) };
static const sfield tag_s[] = { S(rec_tag, name), S(rec_tag, color) };
static const sfield attrdef_s[] = { S(rec_attrdef, key), S(rec_attrdef, label) };
static const sfield rating_s[] = { S(rec_rating, comment) };
static const sfield pageview_s[] = { S(rec_pageview, url), S(rec_pageview, title), S(rec_pageview, referrer) };
static const sfield vcount_s[] = { S(rec_vcount, name) };
static const sfield vsession_s[] = {
	S(rec_vsession, url), S(rec_vsession, title), S(rec_vsession, referrer), S(rec_vsession, browser),
	S(rec_vsession, os), S(rec_vsession, lang), S(rec_vsession, screen),
};
static const sfield alert_s[] = { S(rec_alert, message) };
static const size_t attrs_b[] = { offsetof(rec_attrs, json) };
static const sfield outbox_s[] = { S(rec_outbox, last_error) };
static const sfield oblog_s[] = { S(rec_outbox_log, error) };
static const size_t outbox_b[] = { offsetof(rec_outbox, payload) };
static const size_t oblog_b[] = { offsetof(rec_outbox_log, payload) };

/* Wrappers with a common signature (calling through a cast function
 * pointer is undefined behaviour, which UBSan's -fsanitize=function flags). */
#define WRAP(name, T) \
	static int name##_dec(const void *p, size_t n, void *r) { return rec_##name##_decode(p, n, r); } \
	static int name##_enc(const void *r, buf *out) { return rec_##name##_encode(r, out); }
WRAP(tenant, rec_tenant)
WRAP(user, rec_user)
WRAP(visitor, rec_visitor)
WRAP(conv, rec_conv)
WRAP(event, rec_event)
WRAP(inbox, rec_inbox)
WRAP(refresh, rec_refresh)
WRAP(family, rec_family)
WRAP(invite, rec_invite)
WRAP(email, rec_email)
WRAP(apikey, rec_apikey)
WRAP(webhook, rec_webhook)
WRAP(outbox, rec_outbox)
WRAP(outbox_log, rec_outbox_log)
WRAP(outbox_count, rec_outbox_count)
WRAP(file, rec_file)
WRAP(blob, rec_blob)
WRAP(usage, rec_usage)
WRAP(dept, rec_dept)
WRAP(presence, rec_presence)
WRAP(audit, rec_audit)
WRAP(canned, rec_canned)
WRAP(tag, rec_tag)
WRAP(attrdef, rec_attrdef)
WRAP(attrs, rec_attrs)
WRAP(rating, rec_rating)
WRAP(pageview, rec_pageview)
WRAP(vsession, rec_vsession)
WRAP(vcount, rec_vcount)
WRAP(alert, rec_alert)

/* Versions and field counts from docs/storage.md. */
static const kind kinds[] = {
	{ tenant_dec, tenant_enc, sizeof(rec_tenant), 4, 21, tenant_s, NELEM(tenant_s), NULL, 0 },
	{ user_dec, user_enc, sizeof(rec_user), 3, 13, user_s, NELEM(user_s), NULL, 0 },
	{ visitor_dec, visitor_enc, sizeof(rec_visitor), 2, 10, visitor_s, NELEM(visitor_s), NULL, 0 },
	{ conv_dec, conv_enc, sizeof(rec_conv), 3, 35, conv_s, NELEM(conv_s), NULL, 0 },
	{ event_dec, event_enc, sizeof(rec_event), 4, 22, event_s, NELEM(event_s), NULL, 0 },
	{ inbox_dec, inbox_enc, sizeof(rec_inbox), 1, 5, NULL, 0, NULL, 0 },
	{ refresh_dec, refresh_enc, sizeof(rec_refresh), 1, 6, NULL, 0, NULL, 0 },
	{ family_dec, family_enc, sizeof(rec_family), 1, 5, NULL, 0, NULL, 0 },
	{ invite_dec, invite_enc, sizeof(rec_invite), 1, 7, NULL, 0, NULL, 0 },
	{ email_dec, email_enc, sizeof(rec_email), 1, 9, email_s, NELEM(email_s), NULL, 0 },
	{ apikey_dec, apikey_enc, sizeof(rec_apikey), 1, 14, apikey_s, NELEM(apikey_s), NULL, 0 },
	{ webhook_dec, webhook_enc, sizeof(rec_webhook), 1, 9, webhook_s, NELEM(webhook_s), NULL, 0 },
	{ outbox_dec, outbox_enc, sizeof(rec_outbox), 1, 13, outbox_s, NELEM(outbox_s), outbox_b, NELEM(outbox_b) },
	{ outbox_log_dec, outbox_log_enc, sizeof(rec_outbox_log), 1, 16, oblog_s, NELEM(oblog_s), oblog_b,
	  NELEM(oblog_b) },
	{ outbox_count_dec, outbox_count_enc, sizeof(rec_outbox_count), 1, 5, NULL, 0, NULL, 0 },
	{ file_dec, file_enc, sizeof(rec_file), 1, 10, file_s, NELEM(file_s), NULL, 0 },
	{ blob_dec, blob_enc, sizeof(rec_blob), 1, 4, NULL, 0, NULL, 0 },
	{ usage_dec, usage_enc, sizeof(rec_usage), 1, 4, NULL, 0, NULL, 0 },
	{ dept_dec, dept_enc, sizeof(rec_dept), 1, 16, dept_s, NELEM(dept_s), NULL, 0 },
	{ presence_dec, presence_enc, sizeof(rec_presence), 1, 4, NULL, 0, NULL, 0 },
	{ audit_dec, audit_enc, sizeof(rec_audit), 1, 11, audit_s, NELEM(audit_s), NULL, 0 },
	{ canned_dec, canned_enc, sizeof(rec_canned), 1, 8, canned_s, NELEM(canned_s), NULL, 0 },
	{ tag_dec, tag_enc, sizeof(rec_tag), 1, 5, tag_s, NELEM(tag_s), NULL, 0 },
	{ attrdef_dec, attrdef_enc, sizeof(rec_attrdef), 1, 8, attrdef_s, NELEM(attrdef_s), NULL, 0 },
	{ attrs_dec, attrs_enc, sizeof(rec_attrs), 1, 5, NULL, 0, attrs_b, NELEM(attrs_b) },
	{ rating_dec, rating_enc, sizeof(rec_rating), 1, 8, rating_s, NELEM(rating_s), NULL, 0 },
	{ pageview_dec, pageview_enc, sizeof(rec_pageview), 1, 8, pageview_s, NELEM(pageview_s), NULL, 0 },
	{ vsession_dec, vsession_enc, sizeof(rec_vsession), 1, 16, vsession_s, NELEM(vsession_s), NULL, 0 },
	{ vcount_dec, vcount_enc, sizeof(rec_vcount), 1, 2, vcount_s, NELEM(vcount_s), NULL, 0 },
	{ alert_dec, alert_enc, sizeof(rec_alert), 1, 10, alert_s, NELEM(alert_s), NULL, 0 },
};

typedef union {
	rec_tenant t;
	rec_user u;
	rec_visitor v;
	rec_conv c;
	rec_event e;
	rec_inbox i;
	rec_refresh r;
	rec_family f;
	rec_invite n;
	rec_email m;
	rec_apikey k;
	rec_webhook w;
	rec_outbox o;
	rec_outbox_log l;
	rec_outbox_count oc;
	rec_file fi;
	rec_blob b;
	rec_usage us;
	rec_dept d;
	rec_presence p;
	rec_audit a;
	rec_canned cr;
	rec_tag tg;
	rec_attrdef ad;
	rec_attrs at;
	rec_rating ra;
	rec_pageview pv;
	rec_vsession vs;
	rec_vcount vc;
	rec_alert al;
	max_align_t align;
} any_rec;

/* Every string field ends within its array; then the bytes after each
 * string's NUL are cleared, so two structs compare by string value. */
static void strings_ok_and_normalise(const kind *k, any_rec *r)
{
	char *base = (char *)r;
	for (size_t i = 0; i < k->nstr; i++) {
		char *s = base + k->str[i].off;
		char *nul = memchr(s, 0, k->str[i].cap);
		CHECK(nul != NULL);
		memset(nul, 0, k->str[i].cap - (size_t)(nul - s));
	}
}

/* Every bytes field is empty (NULL, 0) or lies inside [in, in + n). */
static void bytes_inside(const kind *k, const any_rec *r, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < k->nbytes; i++) {
		const rec_bytes *b = (const rec_bytes *)((const char *)r + k->bytes[i]);
		if (!b->n) {
			CHECK(b->p == NULL);
			continue;
		}
		CHECK(b->p >= in && b->n <= n && b->p - in <= (ptrdiff_t)(n - b->n));
	}
}

/* The bytes fields of a and b hold the same bytes; then both views are
 * cleared so the structs compare by the rest. */
static void bytes_equal_and_clear(const kind *k, any_rec *a, any_rec *b)
{
	for (size_t i = 0; i < k->nbytes; i++) {
		rec_bytes *x = (rec_bytes *)((char *)a + k->bytes[i]), *y = (rec_bytes *)((char *)b + k->bytes[i]);
		CHECK(x->n == y->n && (!x->n || memcmp(x->p, y->p, x->n) == 0));
		x->p = y->p = NULL;
	}
}

/* The encoder's output is a msgpack array header for nfields + 1 elements
 * and then the kind's version. */
static void header_ok(const kind *k, const buf *b)
{
	size_t want = k->nfields + 1;
	CHECK(b->len >= 2);
	const uint8_t *p = (const uint8_t *)b->data;
	size_t at;
	if (want < 16) {
		CHECK(p[0] == (0x90 | want));
		at = 1;
	} else {
		CHECK(b->len >= 4 && p[0] == 0xdc && (size_t)(p[1] << 8 | p[2]) == want);
		at = 3;
	}
	CHECK(p[at] == k->version);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const kind *k = &kinds[data[0] % NELEM(kinds)];
	const uint8_t *in = data + 1;
	size_t n = size - 1;

	static any_rec clean, dirty, again, third;

	memset(&clean, 0, sizeof clean);
	int rc = k->dec(n ? in : NULL, n, &clean);
	CHECK(rc == 0 || rc == STORE_ECORRUPT);

	/* the decoder zeroes the struct itself: garbage beforehand changes nothing */
	memset(&dirty, 0xA5, sizeof dirty);
	int rc2 = k->dec(n ? in : NULL, n, &dirty);
	CHECK(rc2 == rc);
	CHECK(memcmp(&clean, &dirty, k->size) == 0);
	if (rc != 0)
		return 0;
	strings_ok_and_normalise(k, &clean);
	bytes_inside(k, &clean, in, n);

	/* round trip */
	buf e1 = { 0 }, e2 = { 0 };
	CHECK(k->enc(&clean, &e1) == 0);
	header_ok(k, &e1);
	memset(&again, 0x5A, sizeof again);
	CHECK(k->dec(e1.data, e1.len, &again) == 0);
	strings_ok_and_normalise(k, &again);
	bytes_inside(k, &again, (const uint8_t *)e1.data, e1.len);

	/* stable re-encoding (before the views are cleared) */
	CHECK(k->enc(&again, &e2) == 0);
	bytes_equal_and_clear(k, &clean, &again);
	CHECK(memcmp(&clean, &again, k->size) == 0);
	CHECK(e2.len == e1.len && memcmp(e1.data, e2.data, e1.len) == 0);

	/* every proper prefix of an encoding is undecodable (exact-size copies) */
	for (size_t cut = e1.len > 16 ? e1.len - 16 : 0; cut < e1.len; cut++) {
		uint8_t *pre = malloc(cut ? cut : 1);
		CHECK(pre);
		memcpy(pre, e1.data, cut);
		CHECK(k->dec(cut ? pre : NULL, cut, &third) == STORE_ECORRUPT);
		free(pre);
	}

	buf_free(&e1);
	buf_free(&e2);
	return 0;
}
