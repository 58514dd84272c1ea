/* records_test — storage/records.c: the msgpack codecs of every record kind,
 * forward/backward compatibility of the [version, field...] arrays, rejection
 * of undecodable values, rec_strcpy's UTF-8-safe truncation, the big-endian
 * key builders and the wire names.
 *
 * The field order of each kind is written down here a second time, from
 * docs/storage.md, independently of the codec tables in records.c: values are
 * packed by hand with msgpack-c's packer in that order, so a reordered or
 * retyped field in records.c (which would make every stored record unreadable)
 * fails these tests instead of round-tripping happily.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "storage/db.h"
#include "storage/records.h"

/* ---- the documented schema (docs/storage.md: tenant and event version 4,
 * user and conversation version 3, visitor 2, the other kinds version 1) ---------------------------------------------- */

enum { T_U64, T_I64, T_U8, T_BOOL, T_STR, T_BIN32, T_FILES, T_IDS };

typedef struct {
	int type;
	size_t off;
	size_t cap;   /* T_STR: sizeof the char array (incl. NUL) */
	const char *name;
	const char *def;   /* T_STR: the documented default when a record lacks it */
} tfield;

#define FU64(S, f)  { T_U64, offsetof(S, f), 0, #f, NULL }
#define FI64(S, f)  { T_I64, offsetof(S, f), 0, #f, NULL }
#define FU8(S, f)   { T_U8, offsetof(S, f), 0, #f, NULL }
#define FBOOL(S, f) { T_BOOL, offsetof(S, f), 0, #f, NULL }
#define FSTR(S, f)  { T_STR, offsetof(S, f), sizeof(((S *)0)->f), #f, NULL }
#define FSTRD(S, f, d) { T_STR, offsetof(S, f), sizeof(((S *)0)->f), #f, d }
#define FBIN(S, f)  { T_BIN32, offsetof(S, f), 32, #f, NULL }
#define FFILES(S, f) { T_FILES, offsetof(S, f), 0, #f, NULL }
#define FIDS(S, f)  { T_IDS, offsetof(S, f), 0, #f, NULL }
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const tfield tenant_doc[] = {
	FU64(rec_tenant, id), FSTR(rec_tenant, name), FSTR(rec_tenant, slug),
	FSTR(rec_tenant, widget_key), FSTR(rec_tenant, origins), FI64(rec_tenant, created_ms),
	/* v2 */
	FSTRD(rec_tenant, widget_color, "#1f6feb"), FSTR(rec_tenant, greeting),
	FSTRD(rec_tenant, widget_position, "right"), FSTRD(rec_tenant, timezone, "UTC"),
	/* v3 */
	FU64(rec_tenant, auto_close_s),
	/* v4 */
	FU8(rec_tenant, prechat_name), FU8(rec_tenant, prechat_email), FU8(rec_tenant, prechat_phone),
	FU8(rec_tenant, prechat_question), FBOOL(rec_tenant, transcript_on_close),
	FU64(rec_tenant, rating_window_s), FBOOL(rec_tenant, tracking_off), FBOOL(rec_tenant, keep_query),
	FU64(rec_tenant, pageview_keep_days), FSTR(rec_tenant, identity_secret),
};
static const tfield user_doc[] = {
	FU64(rec_user, tid), FU64(rec_user, id), FSTR(rec_user, email), FSTR(rec_user, name),
	FSTR(rec_user, role), FSTR(rec_user, pw_hash), FBOOL(rec_user, active),
	FI64(rec_user, created_ms), FI64(rec_user, pw_changed_ms),
	/* v2 */
	FSTR(rec_user, title), FSTR(rec_user, avatar_url), FI64(rec_user, deactivated_ms),
	/* v3 */
	FU64(rec_user, max_chats),
};
static const tfield visitor_doc[] = {
	FU64(rec_visitor, tid), FU64(rec_visitor, id), FSTR(rec_visitor, name),
	FSTR(rec_visitor, email), FI64(rec_visitor, created_ms),
	/* v2 */
	FSTR(rec_visitor, phone), FSTR(rec_visitor, notes), FSTR(rec_visitor, external_id),
	FBOOL(rec_visitor, verified), FI64(rec_visitor, updated_ms),
};
static const tfield conv_doc[] = {
	FU64(rec_conv, tid), FU64(rec_conv, id), FU64(rec_conv, visitor_id),
	FSTR(rec_conv, visitor_name), FSTR(rec_conv, visitor_email), FU8(rec_conv, status),
	FU8(rec_conv, priority), FU64(rec_conv, assignee_id), FSTR(rec_conv, assignee_name),
	FU64(rec_conv, last_seq), FU64(rec_conv, visitor_delivered_seq),
	FU64(rec_conv, visitor_read_seq), FU64(rec_conv, agent_delivered_seq),
	FU64(rec_conv, agent_read_seq), FI64(rec_conv, created_ms), FI64(rec_conv, updated_ms),
	FI64(rec_conv, first_response_ms), FI64(rec_conv, resolved_ms), FU64(rec_conv, lm_seq),
	FU8(rec_conv, lm_sender), FI64(rec_conv, lm_ms), FSTR(rec_conv, lm_text),
	/* v2 */
	FU64(rec_conv, dept_id), FBOOL(rec_conv, offline), FI64(rec_conv, waiting_since_ms),
	FI64(rec_conv, assigned_ms), FI64(rec_conv, snooze_until_ms), FI64(rec_conv, closed_ms),
	FI64(rec_conv, reopened_ms), FU64(rec_conv, first_response_s), FU64(rec_conv, resolution_s),
	FI64(rec_conv, due_ms), FU8(rec_conv, due_kind),
	/* v3 */
	FIDS(rec_conv, tags), FU8(rec_conv, rating),
};
static const tfield event_doc[] = {
	FU64(rec_event, tid), FU64(rec_event, cid), FU64(rec_event, seq), FU8(rec_event, kind),
	FU8(rec_event, sender_type), FU64(rec_event, sender_id), FSTR(rec_event, sender_name),
	FSTR(rec_event, client_id), FSTR(rec_event, text), FU8(rec_event, status),
	FU64(rec_event, assignee_id), FSTR(rec_event, assignee_name), FI64(rec_event, created_ms),
	/* v2 */
	FFILES(rec_event, files),
	/* v3 */
	FU64(rec_event, from_id), FU64(rec_event, dept_id), FU8(rec_event, priority), FSTR(rec_event, addr),
	/* v4 */
	FIDS(rec_event, mentions), FU64(rec_event, tag_id), FBOOL(rec_event, flag), FU8(rec_event, score),
};
static const tfield canned_doc[] = {
	FU64(rec_canned, tid), FU64(rec_canned, id), FU64(rec_canned, owner_id), FSTR(rec_canned, shortcode),
	FSTR(rec_canned, title), FSTR(rec_canned, body), FI64(rec_canned, created_ms),
	FI64(rec_canned, updated_ms),
};
static const tfield tag_doc[] = {
	FU64(rec_tag, tid), FU64(rec_tag, id), FSTR(rec_tag, name), FSTR(rec_tag, color), FI64(rec_tag, created_ms),
};
static const tfield attrdef_doc[] = {
	FU64(rec_attrdef, tid), FU64(rec_attrdef, id), FU8(rec_attrdef, owner), FSTR(rec_attrdef, key),
	FSTR(rec_attrdef, label), FU8(rec_attrdef, type), FI64(rec_attrdef, created_ms),
	FI64(rec_attrdef, updated_ms),
};
static const tfield rating_doc[] = {
	FU64(rec_rating, tid), FU64(rec_rating, cid), FU8(rec_rating, score), FSTR(rec_rating, comment),
	FU64(rec_rating, visitor_id), FU64(rec_rating, agent_id), FU64(rec_rating, dept_id),
	FI64(rec_rating, created_ms),
};
static const tfield pageview_doc[] = {
	FU64(rec_pageview, tid), FU64(rec_pageview, id), FU64(rec_pageview, visitor_id), FU64(rec_pageview, session_id),
	FI64(rec_pageview, at_ms), FSTR(rec_pageview, url), FSTR(rec_pageview, title), FSTR(rec_pageview, referrer),
};
static const tfield vsession_doc[] = {
	FU64(rec_vsession, tid), FU64(rec_vsession, id), FU64(rec_vsession, visitor_id), FI64(rec_vsession, started_ms),
	FI64(rec_vsession, last_ms), FU64(rec_vsession, pages), FU64(rec_vsession, stored), FSTR(rec_vsession, url),
	FSTR(rec_vsession, title), FSTR(rec_vsession, referrer), FU8(rec_vsession, device), FSTR(rec_vsession, browser),
	FU64(rec_vsession, browser_major), FSTR(rec_vsession, os), FSTR(rec_vsession, lang), FSTR(rec_vsession, screen),
};
static const tfield vcount_doc[] = { FU64(rec_vcount, count), FSTR(rec_vcount, name) };
static const tfield alert_doc[] = {
	FU64(rec_alert, tid), FU64(rec_alert, id), FU8(rec_alert, kind), FI64(rec_alert, at_ms), FU64(rec_alert, cid),
	FU64(rec_alert, dept_id), FU64(rec_alert, agent_id), FU8(rec_alert, score), FU64(rec_alert, wait_s),
	FSTR(rec_alert, message),
};
static const tfield dept_doc[] = {
	FU64(rec_dept, tid), FU64(rec_dept, id), FSTR(rec_dept, name), FSTR(rec_dept, slug),
	FSTR(rec_dept, description), FSTR(rec_dept, notify_email), FBOOL(rec_dept, active),
	FBOOL(rec_dept, is_default), FU64(rec_dept, sort_order), FSTRD(rec_dept, timezone, "UTC"),
	FSTR(rec_dept, hours), FU8(rec_dept, routing), FU64(rec_dept, sla_medium_s),
	FU64(rec_dept, sla_high_s), FI64(rec_dept, created_ms), FI64(rec_dept, updated_ms),
};
static const tfield presence_doc[] = {
	FU64(rec_presence, tid), FU64(rec_presence, uid), FI64(rec_presence, at_ms), FU8(rec_presence, state),
};
static const tfield audit_doc[] = {
	FU64(rec_audit, tid), FU64(rec_audit, id), FI64(rec_audit, at_ms), FU8(rec_audit, actor_kind),
	FU64(rec_audit, actor_id), FSTR(rec_audit, actor_name), FSTR(rec_audit, action),
	FSTR(rec_audit, record_type), FU64(rec_audit, record_id), FSTR(rec_audit, addr),
	FSTR(rec_audit, details),
};
static const tfield inbox_doc[] = {
	FU64(rec_inbox, tid), FU64(rec_inbox, cursor), FU8(rec_inbox, type),
	FU64(rec_inbox, cid), FI64(rec_inbox, created_ms),
};
static const tfield refresh_doc[] = {
	FU64(rec_refresh, tid), FU64(rec_refresh, uid), FBIN(rec_refresh, hash),
	FU64(rec_refresh, family), FI64(rec_refresh, expires_ms), FBOOL(rec_refresh, used),
};
static const tfield family_doc[] = {
	FU64(rec_family, tid), FU64(rec_family, id), FU64(rec_family, uid),
	FBOOL(rec_family, revoked), FI64(rec_family, created_ms),
};
static const tfield invite_doc[] = {
	FU64(rec_invite, tid), FU64(rec_invite, uid), FBIN(rec_invite, hash), FU8(rec_invite, purpose),
	FI64(rec_invite, expires_ms), FBOOL(rec_invite, used), FI64(rec_invite, created_ms),
};
static const tfield apikey_doc[] = {
	FU64(rec_apikey, tid), FU64(rec_apikey, id), FSTR(rec_apikey, name), FU8(rec_apikey, scope),
	FBIN(rec_apikey, hash), FSTR(rec_apikey, hint), FU64(rec_apikey, created_by),
	FSTR(rec_apikey, created_by_name), FBOOL(rec_apikey, created_by_key), FI64(rec_apikey, created_ms),
	FI64(rec_apikey, expires_ms), FBOOL(rec_apikey, revoked), FI64(rec_apikey, revoked_ms),
	FI64(rec_apikey, last_used_ms),
};

static const tfield file_doc[] = {
	FU64(rec_file, tid), FU64(rec_file, id), FU64(rec_file, cid), FU8(rec_file, uploader_type),
	FU64(rec_file, uploader_id), FSTR(rec_file, name), FSTR(rec_file, type), FU64(rec_file, size),
	FBIN(rec_file, sha256), FI64(rec_file, created_ms),
};
static const tfield blob_doc[] = {
	FU64(rec_blob, tid), FBIN(rec_blob, sha256), FU64(rec_blob, size), FI64(rec_blob, created_ms),
};
static const tfield usage_doc[] = {
	FU64(rec_usage, tid), FU64(rec_usage, bytes), FU64(rec_usage, files), FU64(rec_usage, blobs),
};
static const tfield email_doc[] = {
	FU64(rec_email, tid), FSTR(rec_email, host), FU64(rec_email, port), FU8(rec_email, security),
	FSTR(rec_email, username), FSTR(rec_email, password), FSTR(rec_email, from), FSTR(rec_email, notify),
	FI64(rec_email, updated_ms),
};
static const tfield webhook_doc[] = {
	FU64(rec_webhook, tid), FU64(rec_webhook, id), FSTR(rec_webhook, url), FSTR(rec_webhook, description),
	FU64(rec_webhook, events), FBOOL(rec_webhook, active), FSTR(rec_webhook, secret),
	FI64(rec_webhook, created_ms), FI64(rec_webhook, updated_ms),
};
static const tfield outbox_count_doc[] = {
	FU64(rec_outbox_count, tid), FU64(rec_outbox_count, pending), FU64(rec_outbox_count, dropped),
	FU64(rec_outbox_count, log_rows), FI64(rec_outbox_count, last_alert_ms),
};
/* (outbox entries and log rows end with their payload bytes, which the
 * table-driven tests cannot compare by memory: test_outbox_payload_records) */

/* One record kind: its size, its documented fields and its codec. */
typedef struct {
	const char *name;
	uint64_t version;  /* the version its encoder writes */
	size_t nf_v1;      /* fields of version 1 */
	size_t size;
	const tfield *f;
	size_t nf;
	int (*enc)(const void *r, buf *out);
	int (*dec)(const void *p, size_t n, void *r);
} kind;

#define WRAP(NAME, T) \
	static int NAME##_enc(const void *r, buf *out) { return rec_##NAME##_encode(r, out); } \
	static int NAME##_dec(const void *p, size_t n, void *r) { return rec_##NAME##_decode(p, n, r); }
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
WRAP(rating, rec_rating)
WRAP(pageview, rec_pageview)
WRAP(vsession, rec_vsession)
WRAP(vcount, rec_vcount)
WRAP(alert, rec_alert)

#define KIND(NAME, T, V, NV1) { #NAME, V, NV1, sizeof(T), NAME##_doc, NELEM(NAME##_doc), NAME##_enc, NAME##_dec }
#define KIND1(NAME, T) KIND(NAME, T, 1, NELEM(NAME##_doc))
static const kind kinds[] = {
	KIND(tenant, rec_tenant, 4, 6), KIND(user, rec_user, 3, 9), KIND(visitor, rec_visitor, 2, 5),
	KIND(conv, rec_conv, 3, 22), KIND(event, rec_event, 4, 13), KIND1(inbox, rec_inbox),
	KIND1(refresh, rec_refresh), KIND1(family, rec_family), KIND1(invite, rec_invite),
	KIND1(email, rec_email),
	KIND1(apikey, rec_apikey),
	KIND1(webhook, rec_webhook), KIND1(outbox_count, rec_outbox_count),
	KIND1(file, rec_file), KIND1(blob, rec_blob), KIND1(usage, rec_usage),
	KIND1(dept, rec_dept), KIND1(presence, rec_presence), KIND1(audit, rec_audit),
	KIND1(canned, rec_canned), KIND1(tag, rec_tag), KIND1(attrdef, rec_attrdef), KIND1(rating, rec_rating),
	KIND1(pageview, rec_pageview), KIND1(vsession, rec_vsession), KIND1(vcount, rec_vcount),
	KIND1(alert, rec_alert),
};

/* The largest record, so one static scratch area fits every kind. */
typedef union {
	rec_tenant t; rec_user u; rec_visitor v; rec_conv c;
	rec_event e; rec_inbox i; rec_refresh r; rec_family f; rec_invite n; rec_email m; rec_apikey k;
	rec_webhook w; rec_outbox_count oc;
	rec_file fi; rec_blob b; rec_usage us;
	rec_dept d; rec_presence p; rec_audit a;
	rec_canned cr; rec_tag tg; rec_attrdef ad; rec_rating ra;
	rec_pageview pv; rec_vsession vs; rec_vcount vc;
	rec_alert al;
} any_rec;

/* ---- helpers ------------------------------------------------------------- */

/* Writes exactly len bytes of valid UTF-8 into dst (len < cap), mixing
 * 1-, 2-, 3- and 4-byte characters; seed varies the mix per field. */
static void fill_utf8(char *dst, size_t cap, size_t len, unsigned seed)
{
	static const char *chars[] = { "a", "\xc3\xa9" /* é */, "\xe2\x82\xac" /* € */,
				       "\xf0\x9f\x98\x80" /* 😀 */, "Z", "\xd0\xb6" /* ж */ };
	assert_true(len < cap);
	memset(dst, 0, cap);
	size_t n = 0;
	unsigned i = seed;
	while (n < len) {
		const char *c = chars[i++ % NELEM(chars)];
		size_t cl = strlen(c);
		if (cl > len - n)
			c = "x", cl = 1;
		memcpy(dst + n, c, cl);
		n += cl;
	}
	assert_int_equal(strlen(dst), len);
}

static size_t field_size(const tfield *f)
{
	switch (f->type) {
	case T_U64: case T_I64: return 8;
	case T_U8: return 1;
	case T_BOOL: return sizeof(bool);
	case T_STR: return f->cap;
	case T_FILES: return sizeof(rec_files);
	case T_IDS: return sizeof(rec_ids);
	default: return 32;
	}
}

/* Sets every field of a record to a distinct, extreme value: strings at
 * their maximum length in multi-byte UTF-8, integers at their limits. */
static void fill_max(const kind *k, void *rec)
{
	char *base = rec;
	memset(rec, 0, k->size);
	for (size_t i = 0; i < k->nf; i++) {
		const tfield *f = &k->f[i];
		void *p = base + f->off;
		switch (f->type) {
		case T_U64: {
			uint64_t v = i == 0 ? UINT64_MAX : UINT64_MAX - 0x0101010101010101ull * i;
			memcpy(p, &v, 8);
			break;
		}
		case T_I64: {
			int64_t v = i % 2 ? INT64_MIN + (int64_t)i : INT64_MAX - (int64_t)i;
			memcpy(p, &v, 8);
			break;
		}
		case T_U8: *(uint8_t *)p = (uint8_t)(255 - i); break;
		case T_BOOL: *(bool *)p = true; break;
		case T_STR: fill_utf8(p, f->cap, f->cap - 1, (unsigned)i); break;
		case T_BIN32:
			for (int j = 0; j < 32; j++)
				((uint8_t *)p)[j] = (uint8_t)(0xFF - j * 7);
			break;
		case T_FILES: {
			rec_files *fs = p;
			fs->n = REC_FILES_MAX;
			for (int j = 0; j < REC_FILES_MAX; j++) {
				fs->f[j].id = UINT64_MAX - (uint64_t)j;
				fill_utf8(fs->f[j].name, sizeof fs->f[j].name, sizeof fs->f[j].name - 1, (unsigned)j);
				fill_utf8(fs->f[j].type, sizeof fs->f[j].type, sizeof fs->f[j].type - 1, (unsigned)j);
				fs->f[j].size = UINT64_MAX - 7 * (uint64_t)j;
			}
			break;
		}
		case T_IDS: {
			rec_ids *ids = p;
			ids->n = REC_IDS_MAX;
			for (int j = 0; j < REC_IDS_MAX; j++)
				ids->v[j] = UINT64_MAX - 3 * (uint64_t)j;
			break;
		}
		}
	}
}

/* Ordinary values: small numbers, negative times, short strings. */
static void fill_small(const kind *k, void *rec)
{
	char *base = rec;
	memset(rec, 0, k->size);
	for (size_t i = 0; i < k->nf; i++) {
		const tfield *f = &k->f[i];
		void *p = base + f->off;
		switch (f->type) {
		case T_U64: { uint64_t v = i + 1; memcpy(p, &v, 8); break; }
		case T_I64: { int64_t v = -(int64_t)(i + 1) * 1000; memcpy(p, &v, 8); break; }
		case T_U8: *(uint8_t *)p = (uint8_t)(i % 3); break;
		case T_BOOL: *(bool *)p = i % 2; break;
		case T_STR: snprintf(p, f->cap, "f%zu", i); break;
		case T_BIN32: memset(p, (int)i, 32); break;
		case T_FILES: {
			rec_files *fs = p;
			fs->n = 1;
			fs->f[0].id = i + 1;
			snprintf(fs->f[0].name, sizeof fs->f[0].name, "f%zu.png", i);
			snprintf(fs->f[0].type, sizeof fs->f[0].type, "png");
			fs->f[0].size = 1234;
			break;
		}
		case T_IDS: {
			rec_ids *ids = p;
			ids->n = 2;
			ids->v[0] = i + 1;
			ids->v[1] = i + 100;
			break;
		}
		}
	}
}

typedef enum { W_NONE, W_STR, W_INT, W_NEGINT, W_BOOL, W_NIL, W_FLOAT, W_BIN, W_BIN31,
	       W_BIN33, W_ARRAY, W_MAP } wrong;

static void pack_wrong(msgpack_packer *pk, wrong w)
{
	switch (w) {
	case W_STR: msgpack_pack_str_with_body(pk, "7", 1); break;
	case W_INT: msgpack_pack_uint64(pk, 7); break;
	case W_NEGINT: msgpack_pack_int64(pk, -7); break;
	case W_BOOL: msgpack_pack_true(pk); break;
	case W_NIL: msgpack_pack_nil(pk); break;
	case W_FLOAT: msgpack_pack_double(pk, 1.5); break;
	case W_BIN: msgpack_pack_bin_with_body(pk, "abc", 3); break;
	case W_BIN31: {
		char b[31] = { 0 };
		msgpack_pack_bin_with_body(pk, b, sizeof b);
		break;
	}
	case W_BIN33: {
		char b[33] = { 0 };
		msgpack_pack_bin_with_body(pk, b, sizeof b);
		break;
	}
	case W_ARRAY: msgpack_pack_array(pk, 1); msgpack_pack_uint64(pk, 1); break;
	case W_MAP: msgpack_pack_map(pk, 1); msgpack_pack_str_with_body(pk, "k", 1);
		msgpack_pack_uint64(pk, 1); break;
	case W_NONE: break;
	}
}

static void pack_field(msgpack_packer *pk, const tfield *f, const void *rec)
{
	const char *p = (const char *)rec + f->off;
	switch (f->type) {
	case T_U64: { uint64_t v; memcpy(&v, p, 8); msgpack_pack_uint64(pk, v); break; }
	case T_I64: { int64_t v; memcpy(&v, p, 8); msgpack_pack_int64(pk, v); break; }
	case T_U8: msgpack_pack_uint8(pk, *(const uint8_t *)p); break;
	case T_BOOL:
		if (*(const bool *)p)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case T_STR: msgpack_pack_str_with_body(pk, p, strnlen(p, f->cap)); break;
	case T_BIN32: msgpack_pack_bin_with_body(pk, p, 32); break;
	case T_FILES: {
		const rec_files *fs = (const rec_files *)p;
		msgpack_pack_array(pk, fs->n);
		for (int j = 0; j < fs->n; j++) {
			const rec_fileref *r = &fs->f[j];
			msgpack_pack_array(pk, 4);
			msgpack_pack_uint64(pk, r->id);
			msgpack_pack_str_with_body(pk, r->name, strnlen(r->name, sizeof r->name));
			msgpack_pack_str_with_body(pk, r->type, strnlen(r->type, sizeof r->type));
			msgpack_pack_uint64(pk, r->size);
		}
		break;
	}
	case T_IDS: {
		const rec_ids *ids = (const rec_ids *)p;
		msgpack_pack_array(pk, ids->n);
		for (int j = 0; j < ids->n; j++)
			msgpack_pack_uint64(pk, ids->v[j]);
		break;
	}
	}
}

/* Extra fields a newer version might append: every msgpack type. */
#define N_EXTRA 9
static void pack_extras(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 42);
	msgpack_pack_str_with_body(pk, "future field", 12);
	msgpack_pack_int64(pk, -5);
	msgpack_pack_nil(pk);
	msgpack_pack_double(pk, 2.5);
	msgpack_pack_true(pk);
	msgpack_pack_bin_with_body(pk, "\0\1\2", 3);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_str_with_body(pk, "x", 1);
	msgpack_pack_map(pk, 2);
	msgpack_pack_str_with_body(pk, "a", 1);
	msgpack_pack_array(pk, 0);
	msgpack_pack_str_with_body(pk, "b", 1);
	msgpack_pack_map(pk, 0);
}

/* Packs [version, first nfields fields of rec, extras?] by hand, with the
 * field at index wrong_at (if >= 0) replaced by a value of the wrong type. */
static void pack_by_hand(msgpack_sbuffer *sb, const kind *k, const void *rec, uint64_t version,
			 size_t nfields, int wrong_at, wrong w, bool extras)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1 + nfields + (extras ? N_EXTRA : 0));
	msgpack_pack_uint64(&pk, version);
	for (size_t i = 0; i < nfields; i++) {
		if ((int)i == wrong_at)
			pack_wrong(&pk, w);
		else
			pack_field(&pk, &k->f[i], rec);
	}
	if (extras)
		pack_extras(&pk);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	assert_non_null(p);
	return p;
}

/* Asserts a and b are the same record, naming the first field that differs. */
static void assert_rec_equal(const kind *k, const void *a, const void *b)
{
	for (size_t i = 0; i < k->nf; i++) {
		const tfield *f = &k->f[i];
		const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;
		if (memcmp(pa, pb, field_size(f)) != 0)
			fail_msg("%s.%s (field %zu) differs", k->name, f->name, i + 1);
	}
	/* The decoder zeroes the whole struct first; with zeroed sources the
	 * padding and the bytes after each string's NUL match too. */
	assert_memory_equal(a, b, k->size);
}

/* ---- round trips ---------------------------------------------------------- */

static void roundtrip_one(const kind *k, const void *src)
{
	buf out = { 0 };
	assert_int_equal(k->enc(src, &out), 0);
	assert_true(out.len > 0);

	void *dst = xmalloc(k->size);
	memset(dst, 0x5A, k->size);   /* decode must not rely on a zeroed target */
	assert_int_equal(k->dec(out.data, out.len, dst), 0);
	assert_rec_equal(k, src, dst);

	/* The encoded value is [version, field...] with exactly the documented
	 * fields, the version its kind's current one. */
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	assert_true(msgpack_zone_init(&z, 4096));
	assert_int_equal(msgpack_unpack(out.data, out.len, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o.via.array.size, k->nf + 1);
	assert_int_equal(o.via.array.ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o.via.array.ptr[0].via.u64, k->version);
	msgpack_zone_destroy(&z);

	/* Decoding a hand-packed value in the documented order gives the same
	 * record: the codec's field order is the documented one. */
	msgpack_sbuffer sb;
	pack_by_hand(&sb, k, src, k->version, k->nf, -1, W_NONE, false);
	memset(dst, 0x5A, k->size);
	assert_int_equal(k->dec(sb.data, sb.size, dst), 0);
	assert_rec_equal(k, src, dst);
	msgpack_sbuffer_destroy(&sb);

	/* Encoding appends: a second value goes after the first. */
	size_t first = out.len;
	assert_int_equal(k->enc(src, &out), 0);
	assert_int_equal(out.len, 2 * first);
	assert_memory_equal(out.data, out.data + first, first);

	free(dst);
	buf_free(&out);
}

static void test_roundtrip_all_kinds_max_values(void **state)
{
	(void)state;
	static any_rec src;
	for (size_t i = 0; i < NELEM(kinds); i++) {
		fill_max(&kinds[i], &src);
		roundtrip_one(&kinds[i], &src);
	}
}

static void test_roundtrip_all_kinds_small_values(void **state)
{
	(void)state;
	static any_rec src;
	for (size_t i = 0; i < NELEM(kinds); i++) {
		fill_small(&kinds[i], &src);
		roundtrip_one(&kinds[i], &src);
	}
}

/* All-zero records: every string empty. Empty strings are common (no
 * e-mail, unassigned). Kept near the end of main(): msgpack-c hands the
 * decoder a NULL pointer for a zero-length str, and records.c passes it
 * to memcpy (undefined behaviour; UBSan with halt_on_error stops here). */
static void test_roundtrip_all_kinds_zero_values_empty_strings(void **state)
{
	(void)state;
	static any_rec src;
	for (size_t i = 0; i < NELEM(kinds); i++) {
		memset(&src, 0, sizeof src);
		roundtrip_one(&kinds[i], &src);
	}
	/* one empty string among set fields */
	rec_visitor v = { .tid = 1, .id = 2, .name = "Ann", .created_ms = 3 }, v2;
	buf b = { 0 };
	assert_int_equal(rec_visitor_encode(&v, &b), 0);
	assert_int_equal(rec_visitor_decode(b.data, b.len, &v2), 0);
	assert_string_equal(v2.name, "Ann");
	assert_string_equal(v2.email, "");
	assert_int_equal(v2.created_ms, 3);
	buf_free(&b);
}

/* The record structs by name, with a few fields checked directly, so the
 * table-driven tests above are not the only witness. */
static void test_roundtrip_explicit_event_and_conv(void **state)
{
	(void)state;
	static rec_event e, e2;
	memset(&e, 0, sizeof e);
	e.tid = 0x0102030405060708ull;
	e.cid = UINT64_MAX;
	e.seq = 1ull << 63;
	e.kind = EK_MESSAGE;
	e.sender_type = ST_AGENT;
	e.sender_id = 77;
	strcpy(e.sender_name, "J\xc3\xbcrgen \xe6\x9d\x8e"); /* Jürgen 李 */
	strcpy(e.client_id, "c-123");
	fill_utf8(e.text, sizeof e.text, REC_TEXT_MAX, 3);
	e.status = CS_RESOLVED;
	e.assignee_id = 9;
	strcpy(e.assignee_name, "\xf0\x9f\xa6\x8a fox");
	e.created_ms = -1;
	buf b = { 0 };
	assert_int_equal(rec_event_encode(&e, &b), 0);
	assert_int_equal(rec_event_decode(b.data, b.len, &e2), 0);
	assert_int_equal(e2.tid, 0x0102030405060708ull);
	assert_true(e2.cid == UINT64_MAX);
	assert_true(e2.seq == 1ull << 63);
	assert_int_equal(e2.kind, EK_MESSAGE);
	assert_int_equal(e2.sender_type, ST_AGENT);
	assert_string_equal(e2.sender_name, e.sender_name);
	assert_string_equal(e2.client_id, "c-123");
	assert_int_equal(strlen(e2.text), REC_TEXT_MAX);
	assert_string_equal(e2.text, e.text);
	assert_string_equal(e2.assignee_name, e.assignee_name);
	assert_int_equal(e2.created_ms, -1);
	buf_free(&b);

	static rec_conv c, c2;
	memset(&c, 0, sizeof c);
	c.tid = 1;
	c.id = 2;
	strcpy(c.visitor_name, "V");
	strcpy(c.visitor_email, "v@example.org");
	strcpy(c.assignee_name, "A");
	c.status = CS_SNOOZED;
	c.priority = CP_URGENT;
	fill_utf8(c.lm_text, sizeof c.lm_text, REC_PREVIEW_MAX, 2);
	c.lm_sender = ST_VISITOR;
	c.resolved_ms = INT64_MIN;
	assert_int_equal(rec_conv_encode(&c, &b), 0);
	assert_int_equal(rec_conv_decode(b.data, b.len, &c2), 0);
	assert_int_equal(c2.status, CS_SNOOZED);
	assert_int_equal(c2.priority, CP_URGENT);
	assert_string_equal(c2.lm_text, c.lm_text);
	assert_true(c2.resolved_ms == INT64_MIN);
	buf_free(&b);
}

/* Outbox entries and log rows, packed by hand in the documented order
 * (docs/storage.md) with their payload last: every field reads back, the
 * payload as a view into the decoded bytes; the encoder writes the same
 * bytes; an older record without the payload (or fewer fields) reads with
 * an empty one; a payload stored as anything but bin is corrupt. */
static void test_outbox_payload_records(void **state)
{
	(void)state;
	static const char body[] = "{\"id\":\"42\",\"event\":\"message.created\"}";
	msgpack_sbuffer sb;
	msgpack_packer pk;
	for (int variant = 0; variant < 3; variant++) {   /* 0 full, 1 no payload, 2 payload as str */
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, variant == 1 ? 13 : 14);
		msgpack_pack_uint64(&pk, 1);
		msgpack_pack_uint64(&pk, 7);              /* tid */
		msgpack_pack_uint64(&pk, 42);             /* id */
		msgpack_pack_uint8(&pk, OBK_EMAIL);       /* kind */
		msgpack_pack_uint64(&pk, 9);              /* target */
		msgpack_pack_uint8(&pk, 4);               /* event */
		msgpack_pack_uint64(&pk, 100);            /* cid */
		msgpack_pack_uint64(&pk, 12);             /* seq */
		msgpack_pack_int64(&pk, 1700000000000);   /* created_ms */
		msgpack_pack_uint64(&pk, 3);              /* attempts */
		msgpack_pack_int64(&pk, 1700000008000);   /* next_attempt_ms */
		msgpack_pack_int64(&pk, 503);             /* last_status */
		msgpack_pack_str_with_body(&pk, "HTTP 503", 8);
		if (variant == 0)
			msgpack_pack_bin_with_body(&pk, body, sizeof body - 1);
		else if (variant == 2)
			msgpack_pack_str_with_body(&pk, body, sizeof body - 1);
		rec_outbox e;
		memset(&e, 0xA5, sizeof e);
		int rc = rec_outbox_decode(sb.data, sb.size, &e);
		if (variant == 2) {
			assert_int_equal(rc, STORE_ECORRUPT);
			msgpack_sbuffer_destroy(&sb);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_true(e.tid == 7 && e.id == 42 && e.kind == OBK_EMAIL && e.target == 9 && e.event == 4);
		assert_true(e.cid == 100 && e.seq == 12 && e.created_ms == 1700000000000 && e.attempts == 3);
		assert_true(e.next_attempt_ms == 1700000008000 && e.last_status == 503);
		assert_string_equal(e.last_error, "HTTP 503");
		if (variant == 1) {
			assert_null(e.payload.p);
			assert_int_equal(e.payload.n, 0);
		} else {
			assert_int_equal(e.payload.n, sizeof body - 1);
			assert_memory_equal(e.payload.p, body, sizeof body - 1);
			assert_true(e.payload.p > (const uint8_t *)sb.data &&
				    e.payload.p + e.payload.n == (const uint8_t *)sb.data + sb.size);
			buf b = { 0 };
			assert_int_equal(rec_outbox_encode(&e, &b), 0);
			assert_int_equal(b.len, sb.size);
			assert_memory_equal(b.data, sb.data, sb.size);
			buf_free(&b);
		}
		msgpack_sbuffer_destroy(&sb);
	}

	/* a log row: the same, 16 fields */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 17);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 7);              /* tid */
	msgpack_pack_uint64(&pk, 50);             /* id */
	msgpack_pack_uint64(&pk, 42);             /* delivery */
	msgpack_pack_uint8(&pk, OBK_WEBHOOK);     /* kind */
	msgpack_pack_uint64(&pk, 9);              /* target */
	msgpack_pack_uint8(&pk, 4);               /* event */
	msgpack_pack_uint64(&pk, 100);            /* cid */
	msgpack_pack_uint64(&pk, 12);             /* seq */
	msgpack_pack_uint64(&pk, 2);              /* attempt */
	msgpack_pack_uint8(&pk, OBR_RETRY);       /* result */
	msgpack_pack_int64(&pk, 500);             /* status_code */
	msgpack_pack_int64(&pk, 37);              /* latency_ms */
	msgpack_pack_str_with_body(&pk, "HTTP 500", 8);
	msgpack_pack_int64(&pk, 1700000000000);   /* created_ms */
	msgpack_pack_int64(&pk, 1700000002000);   /* next_attempt_ms */
	msgpack_pack_bin_with_body(&pk, body, sizeof body - 1);
	rec_outbox_log r;
	memset(&r, 0xA5, sizeof r);
	assert_int_equal(rec_outbox_log_decode(sb.data, sb.size, &r), 0);
	assert_true(r.tid == 7 && r.id == 50 && r.delivery == 42 && r.kind == OBK_WEBHOOK && r.target == 9);
	assert_true(r.event == 4 && r.cid == 100 && r.seq == 12 && r.attempt == 2 && r.result == OBR_RETRY);
	assert_true(r.status_code == 500 && r.latency_ms == 37 && r.created_ms == 1700000000000);
	assert_true(r.next_attempt_ms == 1700000002000);
	assert_string_equal(r.error, "HTTP 500");
	assert_int_equal(r.payload.n, sizeof body - 1);
	assert_memory_equal(r.payload.p, body, sizeof body - 1);
	buf b = { 0 };
	assert_int_equal(rec_outbox_log_encode(&r, &b), 0);
	assert_int_equal(b.len, sb.size);
	assert_memory_equal(b.data, sb.data, sb.size);
	buf_free(&b);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- compatibility --------------------------------------------------------- */

/* The value a record lacking field f decodes to: its documented default. */
static void set_default(void *rec, const tfield *f)
{
	char *p = (char *)rec + f->off;
	memset(p, 0, field_size(f));
	if (f->def)
		strcpy(p, f->def);
}

/* An older version wrote only the first n fields: every prefix decodes and
 * the missing trailing fields take their defaults — zero, or the documented
 * default of a later field (the target is dirty beforehand). */
static void test_older_version_fewer_fields_take_defaults(void **state)
{
	(void)state;
	static any_rec src, want, got;
	for (size_t ki = 0; ki < NELEM(kinds); ki++) {
		const kind *k = &kinds[ki];
		fill_max(k, &src);
		for (size_t n = 0; n <= k->nf; n++) {
			msgpack_sbuffer sb;
			pack_by_hand(&sb, k, &src, 1, n, -1, W_NONE, false);
			memset(&want, 0, sizeof want);
			for (size_t i = 0; i < n; i++)
				memcpy((char *)&want + k->f[i].off, (char *)&src + k->f[i].off,
				       field_size(&k->f[i]));
			for (size_t i = n; i < k->nf; i++)
				set_default(&want, &k->f[i]);
			memset(&got, 0xA5, sizeof got);
			if (k->dec(sb.data, sb.size, &got) != 0)
				fail_msg("%s with %zu of %zu fields: not decoded", k->name, n, k->nf);
			assert_rec_equal(k, &want, &got);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

/* The same, written out for one kind: a user record from a version that had
 * only tid, id, email and name. */
static void test_older_user_record_by_hand(void **state)
{
	(void)state;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint64(&pk, 11);
	msgpack_pack_uint64(&pk, 22);
	msgpack_pack_str_with_body(&pk, "a@b.example", 11);
	msgpack_pack_str_with_body(&pk, "Zo\xc3\xab", 4);

	rec_user u;
	memset(&u, 0x77, sizeof u);
	assert_int_equal(rec_user_decode(sb.data, sb.size, &u), 0);
	assert_int_equal(u.tid, 11);
	assert_int_equal(u.id, 22);
	assert_string_equal(u.email, "a@b.example");
	assert_string_equal(u.name, "Zo\xc3\xab");
	assert_string_equal(u.role, "");
	assert_string_equal(u.pw_hash, "");
	assert_false(u.active);
	assert_int_equal(u.created_ms, 0);
	assert_int_equal(u.pw_changed_ms, 0);
	assert_string_equal(u.title, "");
	assert_string_equal(u.avatar_url, "");
	assert_int_equal(u.deactivated_ms, 0);
	msgpack_sbuffer_destroy(&sb);

	/* [1] alone: the oldest possible record, every field zero. */
	rec_family fam;
	memset(&fam, 0x77, sizeof fam);
	assert_int_equal(rec_family_decode("\x91\x01", 2, &fam), 0);
	assert_int_equal(fam.tid, 0);
	assert_int_equal(fam.id, 0);
	assert_int_equal(fam.uid, 0);
	assert_false(fam.revoked);
	assert_int_equal(fam.created_ms, 0);
}

/* An event's files: at most REC_FILES_MAX, each [id, name, type, size]
 * with later fields ignored; names cut at REC_NAME_MAX on a character
 * boundary; a v1 event has none. */
static void pack_event_files(msgpack_sbuffer *sb, int nfiles, int fields, const char *name)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 15);
	msgpack_pack_uint64(&pk, 2);
	for (int i = 0; i < 13; i++) {
		if (i == 6 || i == 7 || i == 8 || i == 11)
			msgpack_pack_str_with_body(&pk, "s", 1);
		else
			msgpack_pack_uint64(&pk, (uint64_t)i + 1);
	}
	msgpack_pack_array(&pk, (size_t)nfiles);
	for (int j = 0; j < nfiles; j++) {
		msgpack_pack_array(&pk, (size_t)fields);
		if (fields > 0)
			msgpack_pack_uint64(&pk, 100 + (uint64_t)j);
		if (fields > 1)
			msgpack_pack_str_with_body(&pk, name, strlen(name));
		if (fields > 2)
			msgpack_pack_str_with_body(&pk, "png", 3);
		if (fields > 3)
			msgpack_pack_uint64(&pk, 68);
		for (int k = 4; k < fields; k++)
			msgpack_pack_nil(&pk);
	}
}

static void test_event_files(void **state)
{
	(void)state;
	static rec_event e;
	msgpack_sbuffer sb;
	pack_event_files(&sb, REC_FILES_MAX, 4, "a.png");
	assert_int_equal(rec_event_decode(sb.data, sb.size, &e), 0);
	assert_int_equal(e.files.n, REC_FILES_MAX);
	assert_true(e.files.f[9].id == 109 && e.files.f[9].size == 68);
	assert_string_equal(e.files.f[9].name, "a.png");
	assert_string_equal(e.files.f[9].type, "png");
	msgpack_sbuffer_destroy(&sb);
	pack_event_files(&sb, REC_FILES_MAX + 1, 4, "a.png");
	assert_int_equal(rec_event_decode(sb.data, sb.size, &e), STORE_ECORRUPT);
	msgpack_sbuffer_destroy(&sb);
	pack_event_files(&sb, 1, 3, "a.png");   /* an entry without its size */
	assert_int_equal(rec_event_decode(sb.data, sb.size, &e), STORE_ECORRUPT);
	msgpack_sbuffer_destroy(&sb);
	pack_event_files(&sb, 2, 6, "a.png");   /* fields a later version appended */
	assert_int_equal(rec_event_decode(sb.data, sb.size, &e), 0);
	assert_int_equal(e.files.n, 2);
	msgpack_sbuffer_destroy(&sb);
	/* a long multi-byte name is cut on a character boundary */
	char longname[400] = "";
	for (int i = 0; i < 100; i++)
		strcat(longname, "\xc3\xa9");
	pack_event_files(&sb, 1, 4, longname);
	assert_int_equal(rec_event_decode(sb.data, sb.size, &e), 0);
	assert_int_equal(strlen(e.files.f[0].name), REC_NAME_MAX);
	msgpack_sbuffer_destroy(&sb);
	/* no files: an empty array, one byte */
	memset(&e, 0, sizeof e);
	buf b = { 0 }, b2 = { 0 };
	assert_int_equal(rec_event_encode(&e, &b), 0);
	{
		/* [version, 13 v1 fields, files, ...]: files is element 14 */
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		assert_int_equal(msgpack_unpack_next(&u, (const char *)b.data, b.len, NULL), MSGPACK_UNPACK_SUCCESS);
		assert_true(u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size > 14);
		assert_true(u.data.via.array.ptr[14].type == MSGPACK_OBJECT_ARRAY);
		assert_int_equal(u.data.via.array.ptr[14].via.array.size, 0);
		msgpack_unpacked_destroy(&u);
	}
	e.files.n = 1;
	e.files.f[0].id = 7;
	assert_int_equal(rec_event_encode(&e, &b2), 0);
	assert_true(b2.len > b.len);
	buf_free(&b);
	buf_free(&b2);
}

/* Unpacks an encoding and checks it is [version, ...] with n elements after it. */
static void assert_encoded_as(const buf *b, uint64_t version, size_t n)
{
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	assert_true(msgpack_zone_init(&z, 4096));
	assert_int_equal(msgpack_unpack(b->data, b->len, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o.via.array.size, n + 1);
	assert_true(o.via.array.ptr[0].via.u64 == version);
	msgpack_zone_destroy(&z);
}

/* A tenant written by version 1 (six fields), packed by hand: it reads with
 * the v2 settings at their defaults, and once changed it is written as v2. */
static void test_v1_tenant_reads_with_v2_defaults(void **state)
{
	(void)state;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint64(&pk, 42);
	msgpack_pack_str_with_body(&pk, "Acme", 4);
	msgpack_pack_str_with_body(&pk, "acme", 4);
	msgpack_pack_str_with_body(&pk, "wk_abc", 6);
	msgpack_pack_str_with_body(&pk, "*", 1);
	msgpack_pack_int64(&pk, 1700000000000LL);

	static rec_tenant t, again;
	memset(&t, 0x77, sizeof t);
	assert_int_equal(rec_tenant_decode(sb.data, sb.size, &t), 0);
	assert_true(t.id == 42);
	assert_string_equal(t.name, "Acme");
	assert_string_equal(t.slug, "acme");
	assert_string_equal(t.widget_key, "wk_abc");
	assert_string_equal(t.origins, "*");
	assert_true(t.created_ms == 1700000000000LL);
	assert_string_equal(t.widget_color, "#1f6feb");
	assert_string_equal(t.greeting, "");
	assert_string_equal(t.widget_position, "right");
	assert_string_equal(t.timezone, "UTC");
	msgpack_sbuffer_destroy(&sb);

	/* rec_tenant_init gives the same defaults to a new record */
	rec_tenant_init(&again);
	assert_string_equal(again.widget_color, "#1f6feb");
	assert_string_equal(again.widget_position, "right");
	assert_string_equal(again.timezone, "UTC");
	assert_true(again.id == 0 && again.name[0] == 0 && again.greeting[0] == 0);

	/* written again: version 2 with all ten fields, the defaults spelled out */
	buf b = { 0 };
	assert_int_equal(rec_tenant_encode(&t, &b), 0);
	assert_encoded_as(&b, 4, 21);
	memset(&again, 0x11, sizeof again);
	assert_int_equal(rec_tenant_decode(b.data, b.len, &again), 0);
	assert_memory_equal(&again, &t, sizeof t);
	buf_free(&b);
}

/* A user written by version 1 with every v1 field: no title, no avatar, no
 * deactivation date; the role strings of v1 read unchanged. */
static void test_v1_user_reads_with_v2_defaults(void **state)
{
	(void)state;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 10);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_str_with_body(&pk, "a@b.example", 11);
	msgpack_pack_str_with_body(&pk, "Ann", 3);
	msgpack_pack_str_with_body(&pk, "admin", 5);
	msgpack_pack_str_with_body(&pk, "$argon2id$h", 11);
	msgpack_pack_false(&pk);
	msgpack_pack_int64(&pk, 10);
	msgpack_pack_int64(&pk, 20);
	static rec_user u, again;
	memset(&u, 0x77, sizeof u);
	assert_int_equal(rec_user_decode(sb.data, sb.size, &u), 0);
	assert_string_equal(u.role, "admin");
	assert_string_equal(u.pw_hash, "$argon2id$h");
	assert_false(u.active);
	assert_true(u.created_ms == 10 && u.pw_changed_ms == 20);
	assert_string_equal(u.title, "");
	assert_string_equal(u.avatar_url, "");
	assert_int_equal(u.deactivated_ms, 0);
	msgpack_sbuffer_destroy(&sb);
	buf b = { 0 };
	assert_int_equal(rec_user_encode(&u, &b), 0);
	assert_encoded_as(&b, 3, 13);
	assert_int_equal(rec_user_decode(b.data, b.len, &again), 0);
	assert_memory_equal(&again, &u, sizeof u);
	buf_free(&b);
}

/* Version 2 records by name: the new fields round-trip, and an empty value
 * written by v2 stays empty (a default only fills a field a record lacks). */
static void test_v2_tenant_and_user_round_trip(void **state)
{
	(void)state;
	static rec_tenant t, t2;
	rec_tenant_init(&t);
	t.id = 5;
	strcpy(t.name, "Beta");
	strcpy(t.widget_color, "#00ff7f");
	fill_utf8(t.greeting, sizeof t.greeting, REC_GREETING_MAX, 1);
	strcpy(t.widget_position, "left");
	strcpy(t.timezone, "America/Argentina/ComodRivadavia");
	buf b = { 0 };
	assert_int_equal(rec_tenant_encode(&t, &b), 0);
	assert_encoded_as(&b, 4, 21);
	assert_int_equal(rec_tenant_decode(b.data, b.len, &t2), 0);
	assert_memory_equal(&t2, &t, sizeof t);
	buf_free(&b);
	t.widget_color[0] = 0;
	t.timezone[0] = 0;
	assert_int_equal(rec_tenant_encode(&t, &b), 0);
	assert_int_equal(rec_tenant_decode(b.data, b.len, &t2), 0);
	assert_string_equal(t2.widget_color, "");
	assert_string_equal(t2.timezone, "");
	buf_free(&b);

	static rec_user u, u2;
	rec_user_init(&u);
	u.tid = 1;
	u.id = 2;
	strcpy(u.role, "supervisor");
	strcpy(u.title, "Night shift");
	fill_utf8(u.avatar_url, sizeof u.avatar_url, REC_URL_MAX, 2);
	u.deactivated_ms = 1234;
	assert_int_equal(rec_user_encode(&u, &b), 0);
	assert_encoded_as(&b, 3, 13);
	assert_int_equal(rec_user_decode(b.data, b.len, &u2), 0);
	assert_memory_equal(&u2, &u, sizeof u);
	assert_string_equal(u2.role, "supervisor");
	assert_int_equal(strlen(u2.avatar_url), REC_URL_MAX);
	buf_free(&b);
}

/* A newer version appended fields (of any type, containers included) and may
 * have bumped the version: decoded, extras ignored. */
static void test_newer_version_extra_fields_ignored(void **state)
{
	(void)state;
	static any_rec src, got;
	for (size_t ki = 0; ki < NELEM(kinds); ki++) {
		const kind *k = &kinds[ki];
		fill_max(k, &src);
		for (uint64_t version = 1; version <= k->version + 2; version++) {
			msgpack_sbuffer sb;
			pack_by_hand(&sb, k, &src, version, k->nf, -1, W_NONE, true);
			memset(&got, 0xA5, sizeof got);
			if (k->dec(sb.data, sb.size, &got) != 0)
				fail_msg("%s v%u with %d extra fields: not decoded", k->name,
					 (unsigned)version, N_EXTRA);
			assert_rec_equal(k, &src, &got);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

/* ---- undecodable values ---------------------------------------------------- */

static void expect_corrupt_all_kinds(const void *p, size_t n, const char *what)
{
	static any_rec got;
	for (size_t ki = 0; ki < NELEM(kinds); ki++) {
		int rc = kinds[ki].dec(p, n, &got);
		if (rc != STORE_ECORRUPT)
			fail_msg("%s: %s decoded with rc %d, want STORE_ECORRUPT", kinds[ki].name, what, rc);
	}
}

static void test_garbage_bytes_corrupt(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; const char *what; } cases[] = {
		{ "", 0, "empty" },
		{ "\xc1", 1, "never-used byte 0xc1" },
		{ "\xc1\x91\x01", 3, "0xc1 then [1]" },
		{ "hello, world", 12, "text" },
		{ "\x92\x01", 2, "truncated array" },
		{ "\x91\x01\x00", 3, "[1] with a trailing byte" },
		{ "\xdc\xff\xff\x01\x02", 5, "array16 claiming 65535 elements" },
		{ "\x93\x01\xd9\xff", 4, "str8 longer than the input" },
		{ "\x92\x01\xdb\xff\xff\xff\xff", 7, "str32 longer than the input" },
		{ "\xff\xff\xff\xff", 4, "negative fixints" },
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		expect_corrupt_all_kinds(cases[i].b, cases[i].n, cases[i].what);
	/* NULL with length 0 is just empty. */
	expect_corrupt_all_kinds(NULL, 0, "NULL");
}

/* Every proper prefix of a valid record is undecodable (and, under ASan,
 * read without overrunning the buffer). */
/* A corrupt value whose container header claims billions of elements, in
 * 5 to 7 bytes. It must be rejected as STORE_ECORRUPT without first asking for
 * memory in proportion to the claimed count (msgpack_unpack allocates
 * count * sizeof(msgpack_object) before reading the elements): under ASan
 * that allocation aborts the process, elsewhere it depends on malloc failing
 * (or overcommit reserving ~100 GiB). Kept last in main() so an abort does
 * not hide the other results. */
static void test_huge_container_header_corrupt(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; const char *what; } cases[] = {
		{ "\xdd\xff\xff\xff\xff\x01", 6, "array32 claiming 2^32-1 elements" },
		{ "\x92\x01\xdd\xff\xff\xff\xff", 7, "[1, array32 claiming 2^32-1 elements]" },
		{ "\xdf\xff\xff\xff\xff", 5, "map32 claiming 2^32-1 pairs" },
		{ "\xdd\x10\x00\x00\x00\x01", 6, "array32 claiming 2^28 elements" },
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		expect_corrupt_all_kinds(cases[i].b, cases[i].n, cases[i].what);
}

static void test_truncated_records_corrupt(void **state)
{
	(void)state;
	static any_rec src, got;
	for (size_t ki = 0; ki < NELEM(kinds); ki++) {
		const kind *k = &kinds[ki];
		fill_max(k, &src);
		buf b = { 0 };
		assert_int_equal(k->enc(&src, &b), 0);
		for (size_t n = 0; n < b.len; n++) {
			char *copy = xmalloc(n ? n : 1);   /* exact-size, so ASan sees overreads */
			memcpy(copy, b.data, n);
			int rc = k->dec(copy, n, &got);
			free(copy);
			if (rc != STORE_ECORRUPT)
				fail_msg("%s: %zu of %zu bytes decoded with rc %d", k->name, n, b.len, rc);
		}
		buf_free(&b);
	}
}

/* Arbitrary bytes never crash the decoder; anything starting with a byte
 * that is not valid msgpack is rejected. (Random bytes include 32-bit
 * container headers and empty strings, so this also trips over the two
 * problems shown by the tests before it.) */
static void test_random_bytes_never_crash(void **state)
{
	(void)state;
	static any_rec got;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = (size_t)(iter % 97) + 1;
		uint8_t *p = xmalloc(n);
		for (size_t j = 0; j < n; j++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			p[j] = (uint8_t)x;
		}
		if (iter % 3 == 0)
			p[0] = 0x90 | (uint8_t)(n % 16);   /* fixarray: get past the header */
		for (size_t ki = 0; ki < NELEM(kinds); ki++) {
			int rc = kinds[ki].dec(p, n, &got);
			assert_true(rc == 0 || rc == STORE_ECORRUPT);
		}
		p[0] = 0xc1;
		expect_corrupt_all_kinds(p, n, "0xc1-prefixed random bytes");
		free(p);
	}
}

static void test_non_array_corrupt(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; const char *what; } cases[] = {
		{ "\x01", 1, "positive int" },
		{ "\xff", 1, "negative int" },
		{ "\xc0", 1, "nil" },
		{ "\xc3", 1, "true" },
		{ "\xa1" "x", 2, "str" },
		{ "\xc4\x01x", 3, "bin" },
		{ "\x81\x01\x01", 3, "map {1:1}" },
		{ "\x81\xa1v\x01", 4, "map {v:1}" },
		{ "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9, "double 1.0" },
		{ "\x90", 1, "empty array" },
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		expect_corrupt_all_kinds(cases[i].b, cases[i].n, cases[i].what);
}

static void test_bad_version_corrupt(void **state)
{
	(void)state;
	static const struct { const char *b; size_t n; const char *what; } cases[] = {
		{ "\x91\x00", 2, "[0]" },
		{ "\x92\x00\x01", 3, "[0, 1]" },
		{ "\x91\xff", 2, "[-1]" },
		{ "\x91\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 10, "[INT64_MIN]" },
		{ "\x91\xa1\x31", 3, "[\"1\"]" },
		{ "\x91\xc0", 2, "[nil]" },
		{ "\x91\xc3", 2, "[true]" },
		{ "\x91\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 10, "[1.0]" },
		{ "\x91\x91\x01", 3, "[[1]]" },
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		expect_corrupt_all_kinds(cases[i].b, cases[i].n, cases[i].what);

	/* Version 0 with otherwise perfect fields. */
	static any_rec src, got;
	for (size_t ki = 0; ki < NELEM(kinds); ki++) {
		const kind *k = &kinds[ki];
		fill_small(k, &src);
		msgpack_sbuffer sb;
		pack_by_hand(&sb, k, &src, 0, k->nf, -1, W_NONE, false);
		assert_int_equal(k->dec(sb.data, sb.size, &got), STORE_ECORRUPT);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Each field in turn gets a value of another msgpack type. */
static void test_wrong_field_type_corrupt(void **state)
{
	(void)state;
	static const wrong for_int[] = { W_STR, W_BOOL, W_NIL, W_FLOAT, W_BIN, W_ARRAY, W_MAP };
	static const wrong for_bool[] = { W_INT, W_STR, W_NIL, W_FLOAT, W_BIN, W_ARRAY, W_MAP };
	static const wrong for_str[] = { W_INT, W_NEGINT, W_BOOL, W_NIL, W_FLOAT, W_BIN, W_ARRAY, W_MAP };
	static const wrong for_bin[] = { W_STR, W_INT, W_BOOL, W_NIL, W_BIN31, W_BIN33, W_ARRAY, W_MAP };
	/* an array, but of integers, not of [id, name, type, size] */
	static const wrong for_files[] = { W_STR, W_INT, W_BOOL, W_NIL, W_FLOAT, W_BIN, W_ARRAY, W_MAP };
	/* (an array of integers is what an id list is) */
	static const wrong for_ids[] = { W_STR, W_INT, W_BOOL, W_NIL, W_FLOAT, W_BIN, W_MAP };
	static any_rec src, got;
	for (size_t ki = 0; ki < NELEM(kinds); ki++) {
		const kind *k = &kinds[ki];
		fill_small(k, &src);
		for (size_t i = 0; i < k->nf; i++) {
			const wrong *ws;
			size_t nw;
			switch (k->f[i].type) {
			case T_BOOL: ws = for_bool; nw = NELEM(for_bool); break;
			case T_STR: ws = for_str; nw = NELEM(for_str); break;
			case T_BIN32: ws = for_bin; nw = NELEM(for_bin); break;
			case T_FILES: ws = for_files; nw = NELEM(for_files); break;
			case T_IDS: ws = for_ids; nw = NELEM(for_ids); break;
			default: ws = for_int; nw = NELEM(for_int); break;
			}
			for (size_t w = 0; w < nw; w++) {
				msgpack_sbuffer sb;
				pack_by_hand(&sb, k, &src, 1, k->nf, (int)i, ws[w], false);
				int rc = k->dec(sb.data, sb.size, &got);
				if (rc != STORE_ECORRUPT)
					fail_msg("%s.%s with wrong type #%d: rc %d, want STORE_ECORRUPT",
						 k->name, k->f[i].name, (int)ws[w], rc);
				msgpack_sbuffer_destroy(&sb);
			}
		}
	}
}

/* A stored string longer than its field (written by a version with a larger
 * limit) is cut at a character boundary, not in the middle of one. */
static void test_overlong_string_truncated_on_decode(void **state)
{
	(void)state;
	char big[400];
	size_t n = 0;
	while (n + 3 <= 300) {
		memcpy(big + n, "\xe2\x82\xac", 3);   /* € */
		n += 3;
	}
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_str_with_body(&pk, big, n);    /* name: 128 bytes max */
	msgpack_pack_str_with_body(&pk, big, n);    /* email: 254 bytes max */
	rec_visitor v;
	assert_int_equal(rec_visitor_decode(sb.data, sb.size, &v), 0);
	assert_int_equal(strlen(v.name), 126);      /* 42 whole euro signs */
	assert_memory_equal(v.name, big, 126);
	assert_int_equal(strlen(v.email), 252);     /* 84 whole euro signs */
	msgpack_sbuffer_destroy(&sb);
}

/* ---- rec_strcpy -------------------------------------------------------------- */

/* Copies with rec_strcpy into a cap-byte field inside a larger canary-filled
 * buffer; checks nothing past the field was touched and returns the copy. */
static const char *strcpy_checked(char *area, size_t cap, const char *s, size_t len)
{
	memset(area, 0xEE, 64);
	rec_strcpy(area, cap, s, len);
	for (size_t i = cap; i < 64; i++)
		assert_int_equal((unsigned char)area[i], 0xEE);
	assert_true(strlen(area) < cap);
	return area;
}

static void test_strcpy_fits(void **state)
{
	(void)state;
	char a[64];
	assert_string_equal(strcpy_checked(a, 8, "abc", 3), "abc");
	assert_string_equal(strcpy_checked(a, 8, "abcdefg", 7), "abcdefg");     /* exactly cap-1 */
	assert_string_equal(strcpy_checked(a, 8, "abcdefgXYZ", 3), "abc");      /* len, not strlen */
	assert_string_equal(strcpy_checked(a, 8, "", 0), "");
	assert_string_equal(strcpy_checked(a, 1, "abc", 3), "");                /* room for NUL only */
	/* multi-byte characters that fit exactly */
	assert_string_equal(strcpy_checked(a, 7, "\xc3\xa9\xe2\x82\xac\x61", 6),
			    "\xc3\xa9\xe2\x82\xac\x61");
}

static void test_strcpy_truncates_ascii(void **state)
{
	(void)state;
	char a[64];
	assert_string_equal(strcpy_checked(a, 4, "abcdef", 6), "abc");
	assert_string_equal(strcpy_checked(a, 2, "ab", 2), "a");
}

static void test_strcpy_truncates_at_char_boundary(void **state)
{
	(void)state;
	char a[64];
	/* "ab€" = 61 62 E2 82 AC: cap 5 leaves room for 4 bytes; the € fits */
	assert_string_equal(strcpy_checked(a, 6, "ab\xe2\x82\xac", 5), "ab\xe2\x82\xac");
	/* cap 5 → 4 bytes: "ab" + 2 of €'s 3 bytes would split it → "ab" */
	assert_string_equal(strcpy_checked(a, 5, "ab\xe2\x82\xac", 5), "ab");
	assert_string_equal(strcpy_checked(a, 4, "ab\xe2\x82\xac", 5), "ab");
	assert_string_equal(strcpy_checked(a, 3, "ab\xe2\x82\xac", 5), "ab");
	/* 2-byte é: cut after the lead byte → dropped */
	assert_string_equal(strcpy_checked(a, 3, "a\xc3\xa9z", 4), "a");
	assert_string_equal(strcpy_checked(a, 4, "a\xc3\xa9z", 4), "a\xc3\xa9");
	/* 4-byte emoji: every cut inside it drops it whole */
	const char *emo = "x\xf0\x9f\x98\x80y";
	for (size_t cap = 2; cap <= 5; cap++)
		assert_string_equal(strcpy_checked(a, cap, emo, 6), "x");
	assert_string_equal(strcpy_checked(a, 6, emo, 6), "x\xf0\x9f\x98\x80");
	/* a string of only multi-byte characters, cut inside the first one */
	assert_string_equal(strcpy_checked(a, 2, "\xe2\x82\xac\xe2\x82\xac", 6), "");
	assert_string_equal(strcpy_checked(a, 3, "\xe2\x82\xac\xe2\x82\xac", 6), "");
	assert_string_equal(strcpy_checked(a, 4, "\xe2\x82\xac\xe2\x82\xac", 6), "\xe2\x82\xac");
}

/* Every cap over a long mixed string yields a valid UTF-8 prefix of maximal
 * length: the next character would not have fitted. */
static void test_strcpy_every_cap_is_char_boundary(void **state)
{
	(void)state;
	char src[200];
	fill_utf8(src, sizeof src, 150, 1);
	for (size_t cap = 1; cap <= 60; cap++) {
		char a[64];
		strcpy_checked(a, cap, src, strlen(src));
		size_t n = strlen(a);
		assert_memory_equal(a, src, n);
		/* the cut lands on a character start */
		assert_true(((unsigned char)src[n] & 0xC0) != 0x80);
		/* and the next character would not fit */
		size_t next = n + 1;
		while (((unsigned char)src[next] & 0xC0) == 0x80)
			next++;
		assert_true(next > cap - 1);
	}
}

/* ---- keys ---------------------------------------------------------------------- */

static int sign(long long v)
{
	return (v > 0) - (v < 0);
}

static void test_keys_big_endian(void **state)
{
	(void)state;
	uint8_t k[24];
	memset(k, 0xEE, sizeof k);
	assert_int_equal(rec_key1(k, 0x0102030405060708ull), 8);
	assert_memory_equal(k, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(k[8], 0xEE);

	memset(k, 0xEE, sizeof k);
	assert_int_equal(rec_key2(k, 1, 0x1122334455667788ull), 16);
	assert_memory_equal(k, "\0\0\0\0\0\0\0\x01\x11\x22\x33\x44\x55\x66\x77\x88", 16);
	assert_int_equal(k[16], 0xEE);

	assert_int_equal(rec_key3(k, 0xA1A2A3A4A5A6A7A8ull, 0x0102, 0x8000000000000001ull), 24);
	assert_memory_equal(k, "\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8" "\0\0\0\0\0\0\x01\x02"
			       "\x80\0\0\0\0\0\0\x01", 24);
	assert_true(db_get_be64(k) == 0xA1A2A3A4A5A6A7A8ull);
	assert_true(db_get_be64(k + 8) == 0x0102);
	assert_true(db_get_be64(k + 16) == 0x8000000000000001ull);

	/* tid · a hash, as the token and API key tables key them */
	uint8_t hk[41], h[32];
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(0xC0 + i);
	memset(hk, 0xEE, sizeof hk);
	assert_int_equal(rec_key_hash(hk, 0x0102030405060708ull, h), 40);
	assert_memory_equal(hk, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_memory_equal(hk + 8, h, 32);
	assert_int_equal(hk[40], 0xEE);
}

static void test_key_byte_order_is_numeric_order(void **state)
{
	(void)state;
	enum { N = 160 };
	uint64_t v[N] = { 0, 1, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
			  INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX };
	uint64_t x = 88172645463325252ull;
	for (int i = 12; i < N; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		v[i] = i % 2 ? x : x >> (x % 64);   /* all magnitudes */
	}
	for (int i = 0; i < N; i++) {
		for (int j = 0; j < N; j++) {
			uint8_t a[24], b[24];
			int want = (v[i] > v[j]) - (v[i] < v[j]);
			rec_key1(a, v[i]);
			rec_key1(b, v[j]);
			assert_int_equal(sign(memcmp(a, b, 8)), want);
			/* tuples: (tid, x) order is tid first, then x */
			rec_key2(a, v[i % 7], v[i]);
			rec_key2(b, v[j % 7], v[j]);
			int want2 = v[i % 7] != v[j % 7] ? (v[i % 7] > v[j % 7]) - (v[i % 7] < v[j % 7]) : want;
			assert_int_equal(sign(memcmp(a, b, 16)), want2);
			rec_key3(a, 5, v[i % 5], v[i]);
			rec_key3(b, 5, v[j % 5], v[j]);
			int want3 = v[i % 5] != v[j % 5] ? (v[i % 5] > v[j % 5]) - (v[i % 5] < v[j % 5]) : want;
			assert_int_equal(sign(memcmp(a, b, 24)), want3);
		}
	}
}

/* ---- names ------------------------------------------------------------------------ */

static void test_status_names_round_trip(void **state)
{
	(void)state;
	static const char *want[CS__COUNT] = {
		"open", "waiting", "pending", "snoozed", "resolved", "closed",
	};
	for (int s = 0; s < CS__COUNT; s++) {
		assert_string_equal(rec_status_name(s), want[s]);
		assert_int_equal(rec_status_parse(rec_status_name(s)), s);
	}
	assert_int_equal(rec_status_parse("unknown"), -1);
	assert_int_equal(rec_status_parse(""), -1);
	assert_int_equal(rec_status_parse("opened"), -1);
	assert_int_equal(rec_status_parse("ope"), -1);
	assert_int_equal(rec_status_parse("open "), -1);
	assert_string_equal(rec_status_name(-1), "unknown");
	assert_string_equal(rec_status_name(CS__COUNT), "unknown");
	assert_int_equal(rec_status_parse(rec_status_name(CS__COUNT)), -1);
}

static void test_kind_sender_priority_names(void **state)
{
	(void)state;
	static const char *kinds_w[EK__COUNT] = { "created", "message", "note", "status", "assigned",
						   "transfer", "priority", "tag", "rating", "profile", "attrs" };
	static const char *senders_w[ST__COUNT] = { "visitor", "agent", "system" };
	static const char *prios_w[CP__COUNT] = { "low", "medium", "high", "urgent" };
	for (int i = 0; i < EK__COUNT; i++) {
		assert_string_equal(rec_kind_name(i), kinds_w[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(rec_kind_name(i), rec_kind_name(j));
	}
	for (int i = 0; i < ST__COUNT; i++) {
		assert_string_equal(rec_sender_name(i), senders_w[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(rec_sender_name(i), rec_sender_name(j));
	}
	for (int i = 0; i < CP__COUNT; i++)
		assert_string_equal(rec_priority_name(i), prios_w[i]);
	/* out of range: the documented fallbacks, never NULL */
	assert_string_equal(rec_kind_name(-1), "unknown");
	assert_string_equal(rec_kind_name(EK__COUNT), "unknown");
	assert_string_equal(rec_sender_name(-1), "system");
	assert_string_equal(rec_sender_name(ST__COUNT), "system");
	assert_string_equal(rec_priority_name(CP__COUNT), "medium");
	assert_string_equal(rec_priority_name(-1), "medium");
	for (int i = 0; i < CP__COUNT; i++)
		assert_int_equal(rec_priority_parse(prios_w[i]), i);
	assert_int_equal(rec_priority_parse("Urgent"), -1);
	static const char *routing_w[RP__COUNT] = { "off", "round_robin", "least_busy" };
	for (int i = 0; i < RP__COUNT; i++) {
		assert_string_equal(rec_routing_name(i), routing_w[i]);
		assert_int_equal(rec_routing_parse(routing_w[i]), i);
	}
	assert_string_equal(rec_routing_name(RP__COUNT), "");
	assert_int_equal(rec_routing_parse("fifo"), -1);
	static const char *presence_w[PR__COUNT] = { "offline", "online", "away" };
	for (int i = 0; i < PR__COUNT; i++) {
		assert_string_equal(rec_presence_name(i), presence_w[i]);
		assert_int_equal(rec_presence_parse(presence_w[i]), i);
	}
	assert_string_equal(rec_presence_name(-1), "");
	assert_int_equal(rec_presence_parse("busy"), -1);
	static const char *attr_w[AT__COUNT] = { "text", "number", "boolean", "date" };
	for (int i = 0; i < AT__COUNT; i++) {
		assert_string_equal(rec_attr_type_name(i), attr_w[i]);
		assert_int_equal(rec_attr_type_parse(attr_w[i]), i);
	}
	assert_string_equal(rec_attr_type_name(AT__COUNT), "");
	assert_int_equal(rec_attr_type_parse("float"), -1);
	static const char *pre_w[PRE__COUNT] = { "off", "optional", "required" };
	for (int i = 0; i < PRE__COUNT; i++) {
		assert_string_equal(rec_prechat_name(i), pre_w[i]);
		assert_int_equal(rec_prechat_parse(pre_w[i]), i);
	}
	assert_string_equal(rec_prechat_name(-1), "");
	assert_int_equal(rec_prechat_parse("Required"), -1);
}

static void test_scope_names(void **state)
{
	(void)state;
	static const char *want[KS__COUNT] = { "", "read", "write", "admin" };
	for (int s = KS_NONE + 1; s < KS__COUNT; s++) {
		assert_string_equal(rec_scope_name(s), want[s]);
		assert_int_equal(rec_scope_parse(want[s]), s);
	}
	assert_string_equal(rec_scope_name(KS_NONE), "");
	assert_string_equal(rec_scope_name(KS__COUNT), "");
	assert_string_equal(rec_scope_name(-1), "");
	assert_int_equal(rec_scope_parse(""), KS_NONE);
	assert_int_equal(rec_scope_parse("Read"), KS_NONE);
	assert_int_equal(rec_scope_parse("owner"), KS_NONE);
	assert_int_equal(rec_scope_parse("admin "), KS_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_kinds_max_values),
		cmocka_unit_test(test_roundtrip_all_kinds_small_values),
		cmocka_unit_test(test_roundtrip_explicit_event_and_conv),
		cmocka_unit_test(test_outbox_payload_records),
		cmocka_unit_test(test_older_version_fewer_fields_take_defaults),
		cmocka_unit_test(test_older_user_record_by_hand),
		cmocka_unit_test(test_v1_tenant_reads_with_v2_defaults),
		cmocka_unit_test(test_v1_user_reads_with_v2_defaults),
		cmocka_unit_test(test_v2_tenant_and_user_round_trip),
		cmocka_unit_test(test_newer_version_extra_fields_ignored),
		cmocka_unit_test(test_garbage_bytes_corrupt),
		cmocka_unit_test(test_truncated_records_corrupt),
		cmocka_unit_test(test_non_array_corrupt),
		cmocka_unit_test(test_bad_version_corrupt),
		cmocka_unit_test(test_wrong_field_type_corrupt),
		cmocka_unit_test(test_overlong_string_truncated_on_decode),
		cmocka_unit_test(test_strcpy_fits),
		cmocka_unit_test(test_strcpy_truncates_ascii),
		cmocka_unit_test(test_strcpy_truncates_at_char_boundary),
		cmocka_unit_test(test_strcpy_every_cap_is_char_boundary),
		cmocka_unit_test(test_keys_big_endian),
		cmocka_unit_test(test_key_byte_order_is_numeric_order),
		cmocka_unit_test(test_status_names_round_trip),
		cmocka_unit_test(test_kind_sender_priority_names),
		cmocka_unit_test(test_scope_names),
		/* last: these show bugs that abort under ASan+UBSan (see the tests) */
		cmocka_unit_test(test_roundtrip_all_kinds_zero_values_empty_strings),
		cmocka_unit_test(test_huge_container_header_corrupt),
		cmocka_unit_test(test_random_bytes_never_crash),
		cmocka_unit_test(test_event_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
