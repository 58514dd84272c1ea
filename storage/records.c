/* records — table-driven msgpack codecs.
 *
 * Each record kind is described once by a field table (type, offset, size);
 * one encoder and one decoder walk the tables. Hand-written codecs per kind
 * were the alternative: eight pairs of near-identical functions, each a
 * place for the encoder and decoder to drift apart. Values are arrays
 * [version, field...] — arrays, not maps, because field names would double
 * the size of a message record and they never change meaning (we only
 * append fields).
 *
 * Each kind has its own version: the encoder writes it, the decoder only
 * checks it is at least 1 and goes by the array's length. A field missing
 * from the array (the record was written before the field existed) takes
 * its default: zero, or the value its table entry names (STRD). Those
 * defaults are what a record of the older version means, so they are
 * written down once, here, next to the field.
 */
#include "storage/records.h"
#include "storage/db.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum ftype { F_U64, F_I64, F_U8, F_BOOL, F_STR, F_BIN32, F_BYTES, F_FILES, F_IDS };

typedef struct {
	uint8_t type;
	uint16_t off;
	uint16_t cap;
	const char *def;          /* F_STR: the value when the record lacks the field */
} fdesc;

#define U64(S, f)  { F_U64, offsetof(S, f), 0, NULL }
#define I64(S, f)  { F_I64, offsetof(S, f), 0, NULL }
#define U8(S, f)   { F_U8, offsetof(S, f), 0, NULL }
#define BOOL(S, f) { F_BOOL, offsetof(S, f), 0, NULL }
#define STR(S, f)  { F_STR, offsetof(S, f), sizeof(((S *)0)->f), NULL }
#define STRD(S, f, d) { F_STR, offsetof(S, f), sizeof(((S *)0)->f), d }
#define BIN32(S, f) { F_BIN32, offsetof(S, f), 32, NULL }
#define BYTES(S, f) { F_BYTES, offsetof(S, f), 0, NULL }
#define FILES(S, f) { F_FILES, offsetof(S, f), 0, NULL }
#define IDS(S, f)   { F_IDS, offsetof(S, f), 0, NULL }
#define N(a) (sizeof(a) / sizeof(a[0]))

/* Versions: each kind's current one, written by its encoder. */
#define V_TENANT  4
#define V_USER    3
#define V_VISITOR 2
#define V_CONV    3
#define V_EVENT   4
#define V_INBOX   1
#define V_REFRESH 1
#define V_FAMILY  1
#define V_INVITE  1
#define V_FILE    1
#define V_BLOB    1
#define V_USAGE   1
#define V_EMAIL   1
#define V_APIKEY  1
#define V_WEBHOOK 1
#define V_OUTBOX  1
#define V_OBLOG   1
#define V_OBCOUNT 1
#define V_DEPT    1
#define V_PRESENCE 1
#define V_AUDIT   1
#define V_CANNED  1
#define V_TAG     1
#define V_ATTRDEF 1
#define V_ATTRS   1
#define V_RATING  1
#define V_PAGEVIEW 1
#define V_VSESSION 1
#define V_VCOUNT  1
#define V_ALERT   1

static const fdesc tenant_f[] = {
	U64(rec_tenant, id), STR(rec_tenant, name), STR(rec_tenant, slug),
	STR(rec_tenant, widget_key), STR(rec_tenant, origins), I64(rec_tenant, created_ms),
	/* v2 */
	STRD(rec_tenant, widget_color, "#1f6feb"), STR(rec_tenant, greeting),
	STRD(rec_tenant, widget_position, "right"), STRD(rec_tenant, timezone, "UTC"),
	/* v3 */
	U64(rec_tenant, auto_close_s),
	/* v4 */
	U8(rec_tenant, prechat_name), U8(rec_tenant, prechat_email), U8(rec_tenant, prechat_phone),
	U8(rec_tenant, prechat_question), BOOL(rec_tenant, transcript_on_close),
	U64(rec_tenant, rating_window_s), BOOL(rec_tenant, tracking_off), BOOL(rec_tenant, keep_query),
	U64(rec_tenant, pageview_keep_days), STR(rec_tenant, identity_secret),
};
static const fdesc user_f[] = {
	U64(rec_user, tid), U64(rec_user, id), STR(rec_user, email), STR(rec_user, name),
	STR(rec_user, role), STR(rec_user, pw_hash), BOOL(rec_user, active),
	I64(rec_user, created_ms), I64(rec_user, pw_changed_ms),
	/* v2 */
	STR(rec_user, title), STR(rec_user, avatar_url), I64(rec_user, deactivated_ms),
	/* v3 */
	U64(rec_user, max_chats),
};
static const fdesc visitor_f[] = {
	U64(rec_visitor, tid), U64(rec_visitor, id), STR(rec_visitor, name),
	STR(rec_visitor, email), I64(rec_visitor, created_ms),
	/* v2 */
	STR(rec_visitor, phone), STR(rec_visitor, notes), STR(rec_visitor, external_id),
	BOOL(rec_visitor, verified), I64(rec_visitor, updated_ms),
};
static const fdesc conv_f[] = {
	U64(rec_conv, tid), U64(rec_conv, id), U64(rec_conv, visitor_id),
	STR(rec_conv, visitor_name), STR(rec_conv, visitor_email), U8(rec_conv, status),
	U8(rec_conv, priority), U64(rec_conv, assignee_id), STR(rec_conv, assignee_name),
	U64(rec_conv, last_seq), U64(rec_conv, visitor_delivered_seq),
	U64(rec_conv, visitor_read_seq), U64(rec_conv, agent_delivered_seq),
	U64(rec_conv, agent_read_seq), I64(rec_conv, created_ms), I64(rec_conv, updated_ms),
	I64(rec_conv, first_response_ms), I64(rec_conv, resolved_ms), U64(rec_conv, lm_seq),
	U8(rec_conv, lm_sender), I64(rec_conv, lm_ms), STR(rec_conv, lm_text),
	/* v2 (version 2 of this kind: the support desk) */
	U64(rec_conv, dept_id), BOOL(rec_conv, offline), I64(rec_conv, waiting_since_ms),
	I64(rec_conv, assigned_ms), I64(rec_conv, snooze_until_ms), I64(rec_conv, closed_ms),
	I64(rec_conv, reopened_ms), U64(rec_conv, first_response_s), U64(rec_conv, resolution_s),
	I64(rec_conv, due_ms), U8(rec_conv, due_kind),
	/* v3 */
	IDS(rec_conv, tags), U8(rec_conv, rating),
};
static const fdesc event_f[] = {
	U64(rec_event, tid), U64(rec_event, cid), U64(rec_event, seq), U8(rec_event, kind),
	U8(rec_event, sender_type), U64(rec_event, sender_id), STR(rec_event, sender_name),
	STR(rec_event, client_id), STR(rec_event, text), U8(rec_event, status),
	U64(rec_event, assignee_id), STR(rec_event, assignee_name), I64(rec_event, created_ms),
	/* v2: [[id, name, type, size], …] */
	FILES(rec_event, files),
	/* v3 */
	U64(rec_event, from_id), U64(rec_event, dept_id), U8(rec_event, priority), STR(rec_event, addr),
	/* v4 */
	IDS(rec_event, mentions), U64(rec_event, tag_id), BOOL(rec_event, flag), U8(rec_event, score),
};
static const fdesc canned_f[] = {
	U64(rec_canned, tid), U64(rec_canned, id), U64(rec_canned, owner_id), STR(rec_canned, shortcode),
	STR(rec_canned, title), STR(rec_canned, body), I64(rec_canned, created_ms),
	I64(rec_canned, updated_ms),
};
static const fdesc tag_f[] = {
	U64(rec_tag, tid), U64(rec_tag, id), STR(rec_tag, name), STR(rec_tag, color), I64(rec_tag, created_ms),
};
static const fdesc attrdef_f[] = {
	U64(rec_attrdef, tid), U64(rec_attrdef, id), U8(rec_attrdef, owner), STR(rec_attrdef, key),
	STR(rec_attrdef, label), U8(rec_attrdef, type), I64(rec_attrdef, created_ms),
	I64(rec_attrdef, updated_ms),
};
static const fdesc attrs_f[] = {
	U64(rec_attrs, tid), U8(rec_attrs, owner), U64(rec_attrs, id), I64(rec_attrs, updated_ms),
	BYTES(rec_attrs, json),
};
static const fdesc rating_f[] = {
	U64(rec_rating, tid), U64(rec_rating, cid), U8(rec_rating, score), STR(rec_rating, comment),
	U64(rec_rating, visitor_id), U64(rec_rating, agent_id), U64(rec_rating, dept_id),
	I64(rec_rating, created_ms),
};
static const fdesc pageview_f[] = {
	U64(rec_pageview, tid), U64(rec_pageview, id), U64(rec_pageview, visitor_id), U64(rec_pageview, session_id),
	I64(rec_pageview, at_ms), STR(rec_pageview, url), STR(rec_pageview, title), STR(rec_pageview, referrer),
};
static const fdesc vsession_f[] = {
	U64(rec_vsession, tid), U64(rec_vsession, id), U64(rec_vsession, visitor_id), I64(rec_vsession, started_ms),
	I64(rec_vsession, last_ms), U64(rec_vsession, pages), U64(rec_vsession, stored), STR(rec_vsession, url),
	STR(rec_vsession, title), STR(rec_vsession, referrer), U8(rec_vsession, device), STR(rec_vsession, browser),
	U64(rec_vsession, browser_major), STR(rec_vsession, os), STR(rec_vsession, lang), STR(rec_vsession, screen),
};
static const fdesc vcount_f[] = { U64(rec_vcount, count), STR(rec_vcount, name) };
static const fdesc alert_f[] = {
	U64(rec_alert, tid), U64(rec_alert, id), U8(rec_alert, kind), I64(rec_alert, at_ms), U64(rec_alert, cid),
	U64(rec_alert, dept_id), U64(rec_alert, agent_id), U8(rec_alert, score), U64(rec_alert, wait_s),
	STR(rec_alert, message),
};
static const fdesc dept_f[] = {
	U64(rec_dept, tid), U64(rec_dept, id), STR(rec_dept, name), STR(rec_dept, slug),
	STR(rec_dept, description), STR(rec_dept, notify_email), BOOL(rec_dept, active),
	BOOL(rec_dept, is_default), U64(rec_dept, sort_order), STRD(rec_dept, timezone, "UTC"),
	STR(rec_dept, hours), U8(rec_dept, routing), U64(rec_dept, sla_medium_s),
	U64(rec_dept, sla_high_s), I64(rec_dept, created_ms), I64(rec_dept, updated_ms),
};
static const fdesc presence_f[] = {
	U64(rec_presence, tid), U64(rec_presence, uid), I64(rec_presence, at_ms), U8(rec_presence, state),
};
static const fdesc audit_f[] = {
	U64(rec_audit, tid), U64(rec_audit, id), I64(rec_audit, at_ms), U8(rec_audit, actor_kind),
	U64(rec_audit, actor_id), STR(rec_audit, actor_name), STR(rec_audit, action),
	STR(rec_audit, record_type), U64(rec_audit, record_id), STR(rec_audit, addr),
	STR(rec_audit, details),
};
static const fdesc inbox_f[] = {
	U64(rec_inbox, tid), U64(rec_inbox, cursor), U8(rec_inbox, type),
	U64(rec_inbox, cid), I64(rec_inbox, created_ms),
};
static const fdesc refresh_f[] = {
	U64(rec_refresh, tid), U64(rec_refresh, uid), BIN32(rec_refresh, hash),
	U64(rec_refresh, family), I64(rec_refresh, expires_ms), BOOL(rec_refresh, used),
};
static const fdesc family_f[] = {
	U64(rec_family, tid), U64(rec_family, id), U64(rec_family, uid),
	BOOL(rec_family, revoked), I64(rec_family, created_ms),
};
static const fdesc invite_f[] = {
	U64(rec_invite, tid), U64(rec_invite, uid), BIN32(rec_invite, hash), U8(rec_invite, purpose),
	I64(rec_invite, expires_ms), BOOL(rec_invite, used), I64(rec_invite, created_ms),
};

static const fdesc file_f[] = {
	U64(rec_file, tid), U64(rec_file, id), U64(rec_file, cid), U8(rec_file, uploader_type),
	U64(rec_file, uploader_id), STR(rec_file, name), STR(rec_file, type), U64(rec_file, size),
	BIN32(rec_file, sha256), I64(rec_file, created_ms),
};
static const fdesc blob_f[] = {
	U64(rec_blob, tid), BIN32(rec_blob, sha256), U64(rec_blob, size), I64(rec_blob, created_ms),
};
static const fdesc usage_f[] = {
	U64(rec_usage, tid), U64(rec_usage, bytes), U64(rec_usage, files), U64(rec_usage, blobs),
};
static const fdesc email_f[] = {
	U64(rec_email, tid), STR(rec_email, host), U64(rec_email, port), U8(rec_email, security),
	STR(rec_email, username), STR(rec_email, password), STR(rec_email, from), STR(rec_email, notify),
	I64(rec_email, updated_ms),
};
static const fdesc webhook_f[] = {
	U64(rec_webhook, tid), U64(rec_webhook, id), STR(rec_webhook, url), STR(rec_webhook, description),
	U64(rec_webhook, events), BOOL(rec_webhook, active), STR(rec_webhook, secret),
	I64(rec_webhook, created_ms), I64(rec_webhook, updated_ms),
};
static const fdesc outbox_f[] = {
	U64(rec_outbox, tid), U64(rec_outbox, id), U8(rec_outbox, kind), U64(rec_outbox, target),
	U8(rec_outbox, event), U64(rec_outbox, cid), U64(rec_outbox, seq), I64(rec_outbox, created_ms),
	U64(rec_outbox, attempts), I64(rec_outbox, next_attempt_ms), I64(rec_outbox, last_status),
	STR(rec_outbox, last_error), BYTES(rec_outbox, payload),
};
static const fdesc oblog_f[] = {
	U64(rec_outbox_log, tid), U64(rec_outbox_log, id), U64(rec_outbox_log, delivery),
	U8(rec_outbox_log, kind), U64(rec_outbox_log, target), U8(rec_outbox_log, event),
	U64(rec_outbox_log, cid), U64(rec_outbox_log, seq), U64(rec_outbox_log, attempt),
	U8(rec_outbox_log, result), I64(rec_outbox_log, status_code), I64(rec_outbox_log, latency_ms),
	STR(rec_outbox_log, error), I64(rec_outbox_log, created_ms), I64(rec_outbox_log, next_attempt_ms),
	BYTES(rec_outbox_log, payload),
};
static const fdesc obcount_f[] = {
	U64(rec_outbox_count, tid), U64(rec_outbox_count, pending), U64(rec_outbox_count, dropped),
	U64(rec_outbox_count, log_rows), I64(rec_outbox_count, last_alert_ms),
};

static const fdesc apikey_f[] = {
	U64(rec_apikey, tid), U64(rec_apikey, id), STR(rec_apikey, name), U8(rec_apikey, scope),
	BIN32(rec_apikey, hash), STR(rec_apikey, hint), U64(rec_apikey, created_by),
	STR(rec_apikey, created_by_name), BOOL(rec_apikey, created_by_key), I64(rec_apikey, created_ms),
	I64(rec_apikey, expires_ms), BOOL(rec_apikey, revoked), I64(rec_apikey, revoked_ms),
	I64(rec_apikey, last_used_ms),
};

static int write_cb(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

static int encode(const void *rec, uint8_t version, const fdesc *f, size_t nf, buf *out)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, write_cb);
	const char *base = rec;
	int rc = msgpack_pack_array(&pk, nf + 1);
	rc |= msgpack_pack_uint8(&pk, version);
	for (size_t i = 0; i < nf; i++) {
		const void *p = base + f[i].off;
		switch (f[i].type) {
		case F_U64: rc |= msgpack_pack_uint64(&pk, *(const uint64_t *)p); break;
		case F_I64: rc |= msgpack_pack_int64(&pk, *(const int64_t *)p); break;
		case F_U8: rc |= msgpack_pack_uint8(&pk, *(const uint8_t *)p); break;
		case F_BOOL:
			rc |= *(const bool *)p ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
			break;
		case F_STR: {
			size_t len = strnlen(p, f[i].cap);
			rc |= msgpack_pack_str(&pk, len);
			rc |= msgpack_pack_str_body(&pk, p, len);
			break;
		}
		case F_BIN32:
			rc |= msgpack_pack_bin(&pk, 32);
			rc |= msgpack_pack_bin_body(&pk, p, 32);
			break;
		case F_BYTES: {
			const rec_bytes *bv = p;
			if (bv->n > UINT32_MAX)
				return -1;
			rc |= msgpack_pack_bin(&pk, bv->n);
			if (bv->n)
				rc |= msgpack_pack_bin_body(&pk, bv->p, bv->n);
			break;
		}
		case F_FILES: {
			const rec_files *fs = p;
			size_t n = fs->n < REC_FILES_MAX ? fs->n : REC_FILES_MAX;
			rc |= msgpack_pack_array(&pk, n);
			for (size_t k = 0; k < n; k++) {
				const rec_fileref *r = &fs->f[k];
				size_t nl = strnlen(r->name, sizeof r->name), tl = strnlen(r->type, sizeof r->type);
				rc |= msgpack_pack_array(&pk, 4);
				rc |= msgpack_pack_uint64(&pk, r->id);
				rc |= msgpack_pack_str(&pk, nl);
				rc |= msgpack_pack_str_body(&pk, r->name, nl);
				rc |= msgpack_pack_str(&pk, tl);
				rc |= msgpack_pack_str_body(&pk, r->type, tl);
				rc |= msgpack_pack_uint64(&pk, r->size);
			}
			break;
		}
		case F_IDS: {
			const rec_ids *ids = p;
			size_t n = ids->n < REC_IDS_MAX ? ids->n : REC_IDS_MAX;
			rc |= msgpack_pack_array(&pk, n);
			for (size_t k = 0; k < n; k++)
				rc |= msgpack_pack_uint64(&pk, ids->v[k]);
			break;
		}
		}
	}
	return rc ? -1 : 0;
}

static uint64_t be(const uint8_t *p, int k)
{
	uint64_t v = 0;
	for (int i = 0; i < k; i++)
		v = v << 8 | p[i];
	return v;
}

static bool mp_sane(const uint8_t *p, size_t n)
{
	uint64_t pending = 1;
	size_t i = 0;
	while (pending) {
		if (pending > n - i)
			return false;
		uint8_t b = p[i++];
		pending--;
		uint64_t skip = 0, kids = 0;
		int lenb = 0, extra = 0, cntb = 0, mapf = 0;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) ;
		else if (b <= 0x8f) kids = 2u * (b & 0x0f);
		else if (b <= 0x9f) kids = b & 0x0f;
		else if (b <= 0xbf) skip = b & 0x1f;
		else switch (b) {
		case 0xc4: lenb = 1; break; case 0xc5: lenb = 2; break; case 0xc6: lenb = 4; break;
		case 0xc7: lenb = 1; extra = 1; break; case 0xc8: lenb = 2; extra = 1; break;
		case 0xc9: lenb = 4; extra = 1; break;
		case 0xca: skip = 4; break; case 0xcb: skip = 8; break;
		case 0xcc: skip = 1; break; case 0xcd: skip = 2; break; case 0xce: skip = 4; break; case 0xcf: skip = 8; break;
		case 0xd0: skip = 1; break; case 0xd1: skip = 2; break; case 0xd2: skip = 4; break; case 0xd3: skip = 8; break;
		case 0xd4: skip = 2; break; case 0xd5: skip = 3; break; case 0xd6: skip = 5; break;
		case 0xd7: skip = 9; break; case 0xd8: skip = 17; break;
		case 0xd9: lenb = 1; break; case 0xda: lenb = 2; break; case 0xdb: lenb = 4; break;
		case 0xdc: cntb = 2; break; case 0xdd: cntb = 4; break;
		case 0xde: cntb = 2; mapf = 1; break; case 0xdf: cntb = 4; mapf = 1; break;
		default: return false;
		}
		if (lenb) {
			if ((size_t)lenb > n - i) return false;
			skip = be(p + i, lenb) + (uint64_t)extra;
			i += (size_t)lenb;
		}
		if (cntb) {
			if ((size_t)cntb > n - i) return false;
			kids = be(p + i, cntb) * (mapf ? 2 : 1);
			i += (size_t)cntb;
		}
		if (skip > n - i) return false;
		i += (size_t)skip;
		pending += kids;
	}
	return true;
}

/* Sets the fields from index `from` on that name a default to it (the
 * others keep their zero). */
static void defaults(void *rec, const fdesc *f, size_t nf, size_t from)
{
	for (size_t i = from; i < nf; i++)
		if (f[i].def)
			rec_strcpy((char *)rec + f[i].off, f[i].cap, f[i].def, strlen(f[i].def));
}

/* [[id, name, type, size, (later fields ignored)], …], at most REC_FILES_MAX. */
static bool decode_files(const msgpack_object *o, rec_files *fs)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > REC_FILES_MAX)
		return false;
	for (uint32_t k = 0; k < o->via.array.size; k++) {
		const msgpack_object *e = &o->via.array.ptr[k];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 4)
			return false;
		const msgpack_object *v = e->via.array.ptr;
		if (v[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || v[1].type != MSGPACK_OBJECT_STR ||
		    v[2].type != MSGPACK_OBJECT_STR || v[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return false;
		rec_fileref *r = &fs->f[k];
		r->id = v[0].via.u64;
		rec_strcpy(r->name, sizeof r->name, v[1].via.str.ptr, v[1].via.str.size);
		rec_strcpy(r->type, sizeof r->type, v[2].via.str.ptr, v[2].via.str.size);
		r->size = v[3].via.u64;
	}
	fs->n = (uint8_t)o->via.array.size;
	return true;
}

/* [id, …], at most REC_IDS_MAX. */
static bool decode_ids(const msgpack_object *o, rec_ids *ids)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > REC_IDS_MAX)
		return false;
	for (uint32_t k = 0; k < o->via.array.size; k++) {
		if (o->via.array.ptr[k].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return false;
		ids->v[k] = o->via.array.ptr[k].via.u64;
	}
	ids->n = (uint8_t)o->via.array.size;
	return true;
}

static int decode(const void *data, size_t n, void *rec, size_t size, const fdesc *f, size_t nf)
{
	memset(rec, 0, size);
	if (!mp_sane(data, n))
		return STORE_ECORRUPT;
	msgpack_zone zone;
	msgpack_object obj;
	/* Only an event's files nest (at most 10 arrays of 4): the zone grows
	 * past its first chunk if it must. */
	if (!msgpack_zone_init(&zone, 2048))
		return STORE_ECORRUPT;
	size_t off = 0;
	int rc = STORE_ECORRUPT;
	if (msgpack_unpack(data, n, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS)
		goto out;
	if (obj.type != MSGPACK_OBJECT_ARRAY || obj.via.array.size < 1)
		goto out;
	const msgpack_object *a = obj.via.array.ptr;
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[0].via.u64 < 1)
		goto out;
	char *base = rec;
	size_t have = obj.via.array.size - 1;
	for (size_t i = 0; i < nf && i < have; i++) {
		const msgpack_object *o = &a[i + 1];
		void *p = base + f[i].off;
		switch (f[i].type) {
		case F_U64:
		case F_I64:
		case F_U8: {
			int64_t v;
			if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				v = (int64_t)o->via.u64;
			else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
				v = o->via.i64;
			else
				goto out;
			if (f[i].type == F_U64)
				*(uint64_t *)p = (uint64_t)v;
			else if (f[i].type == F_I64)
				*(int64_t *)p = v;
			else
				*(uint8_t *)p = (uint8_t)v;
			break;
		}
		case F_BOOL:
			if (o->type != MSGPACK_OBJECT_BOOLEAN)
				goto out;
			*(bool *)p = o->via.boolean;
			break;
		case F_STR:
			if (o->type != MSGPACK_OBJECT_STR)
				goto out;
			rec_strcpy(p, f[i].cap, o->via.str.ptr, o->via.str.size);
			break;
		case F_BIN32:
			if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != 32)
				goto out;
			memcpy(p, o->via.bin.ptr, 32);
			break;
		case F_BYTES: {
			/* msgpack_unpack leaves bin bodies in the input: a view
			 * into the stored value, no copy */
			if (o->type != MSGPACK_OBJECT_BIN)
				goto out;
			rec_bytes *bv = p;
			bv->n = o->via.bin.size;
			bv->p = bv->n ? (const uint8_t *)o->via.bin.ptr : NULL;
			break;
		}
		case F_FILES:
			if (!decode_files(o, p))
				goto out;
			break;
		case F_IDS:
			if (!decode_ids(o, p))
				goto out;
			break;
		}
	}
	if (have < nf)
		defaults(rec, f, nf, have);
	rc = 0;
out:
	msgpack_zone_destroy(&zone);
	return rc;
}

#define CODEC(name, T, version, table) \
	int rec_##name##_encode(const T *r, buf *out) { return encode(r, version, table, N(table), out); } \
	int rec_##name##_decode(const void *p, size_t n, T *r) \
	{ return decode(p, n, r, sizeof *r, table, N(table)); }

CODEC(tenant, rec_tenant, V_TENANT, tenant_f)
CODEC(user, rec_user, V_USER, user_f)
CODEC(visitor, rec_visitor, V_VISITOR, visitor_f)
CODEC(conv, rec_conv, V_CONV, conv_f)
CODEC(event, rec_event, V_EVENT, event_f)
CODEC(inbox, rec_inbox, V_INBOX, inbox_f)
CODEC(refresh, rec_refresh, V_REFRESH, refresh_f)
CODEC(family, rec_family, V_FAMILY, family_f)
CODEC(invite, rec_invite, V_INVITE, invite_f)
CODEC(file, rec_file, V_FILE, file_f)
CODEC(blob, rec_blob, V_BLOB, blob_f)
CODEC(usage, rec_usage, V_USAGE, usage_f)
CODEC(email, rec_email, V_EMAIL, email_f)
CODEC(apikey, rec_apikey, V_APIKEY, apikey_f)
CODEC(webhook, rec_webhook, V_WEBHOOK, webhook_f)
CODEC(outbox, rec_outbox, V_OUTBOX, outbox_f)
CODEC(outbox_log, rec_outbox_log, V_OBLOG, oblog_f)
CODEC(outbox_count, rec_outbox_count, V_OBCOUNT, obcount_f)
CODEC(dept, rec_dept, V_DEPT, dept_f)
CODEC(presence, rec_presence, V_PRESENCE, presence_f)
CODEC(audit, rec_audit, V_AUDIT, audit_f)
CODEC(canned, rec_canned, V_CANNED, canned_f)
CODEC(tag, rec_tag, V_TAG, tag_f)
CODEC(attrdef, rec_attrdef, V_ATTRDEF, attrdef_f)
CODEC(attrs, rec_attrs, V_ATTRS, attrs_f)
CODEC(rating, rec_rating, V_RATING, rating_f)
CODEC(pageview, rec_pageview, V_PAGEVIEW, pageview_f)
CODEC(vsession, rec_vsession, V_VSESSION, vsession_f)
CODEC(vcount, rec_vcount, V_VCOUNT, vcount_f)
CODEC(alert, rec_alert, V_ALERT, alert_f)

void rec_tenant_init(rec_tenant *r)
{
	memset(r, 0, sizeof *r);
	defaults(r, tenant_f, N(tenant_f), 0);
}

void rec_user_init(rec_user *r)
{
	memset(r, 0, sizeof *r);
	defaults(r, user_f, N(user_f), 0);
}

static const char *status_names[CS__COUNT] = { "open", "waiting", "pending", "snoozed", "resolved", "closed" };
static const char *priority_names[CP__COUNT] = { "low", "medium", "high", "urgent" };
static const char *kind_names[EK__COUNT] = { "created", "message", "note", "status", "assigned",
					     "transfer", "priority", "tag", "rating", "profile", "attrs" };
static const char *attr_type_names[AT__COUNT] = { "text", "number", "boolean", "date" };
static const char *prechat_names[PRE__COUNT] = { "off", "optional", "required" };
static const char *routing_names[RP__COUNT] = { "off", "round_robin", "least_busy" };
static const char *presence_names[PR__COUNT] = { "offline", "online", "away" };
static const char *sender_names[ST__COUNT] = { "visitor", "agent", "system" };
static const char *security_names[SMTP__COUNT] = { "starttls", "tls", "none" };
static const char *scope_names[KS__COUNT] = { "", "read", "write", "admin" };

const char *rec_status_name(int s)
{
	return s >= 0 && s < CS__COUNT ? status_names[s] : "unknown";
}

int rec_status_parse(const char *s)
{
	for (int i = 0; i < CS__COUNT; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_priority_name(int p)
{
	return p >= 0 && p < CP__COUNT ? priority_names[p] : "medium";
}

int rec_priority_parse(const char *s)
{
	for (int i = 0; i < CP__COUNT; i++)
		if (strcmp(s, priority_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_routing_name(int r)
{
	return r >= 0 && r < RP__COUNT ? routing_names[r] : "";
}

int rec_routing_parse(const char *s)
{
	for (int i = 0; i < RP__COUNT; i++)
		if (strcmp(s, routing_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_presence_name(int p)
{
	return p >= 0 && p < PR__COUNT ? presence_names[p] : "";
}

int rec_presence_parse(const char *s)
{
	for (int i = 0; i < PR__COUNT; i++)
		if (strcmp(s, presence_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_attr_type_name(int t)
{
	return t >= 0 && t < AT__COUNT ? attr_type_names[t] : "";
}

int rec_attr_type_parse(const char *s)
{
	for (int i = 0; i < AT__COUNT; i++)
		if (strcmp(s, attr_type_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_prechat_name(int m)
{
	return m >= 0 && m < PRE__COUNT ? prechat_names[m] : "";
}

int rec_prechat_parse(const char *s)
{
	for (int i = 0; i < PRE__COUNT; i++)
		if (strcmp(s, prechat_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_kind_name(int k)
{
	return k >= 0 && k < EK__COUNT ? kind_names[k] : "unknown";
}

const char *rec_sender_name(int s)
{
	return s >= 0 && s < ST__COUNT ? sender_names[s] : "system";
}

const char *rec_security_name(int s)
{
	return s >= 0 && s < SMTP__COUNT ? security_names[s] : "starttls";
}

int rec_security_parse(const char *s)
{
	for (int i = 0; i < SMTP__COUNT; i++)
		if (strcmp(s, security_names[i]) == 0)
			return i;
	return -1;
}

const char *rec_scope_name(int s)
{
	return s > KS_NONE && s < KS__COUNT ? scope_names[s] : "";
}

int rec_scope_parse(const char *s)
{
	for (int i = KS_NONE + 1; i < KS__COUNT; i++)
		if (strcmp(s, scope_names[i]) == 0)
			return i;
	return KS_NONE;
}

size_t rec_key1(uint8_t k[8], uint64_t a)
{
	db_be64(k, a);
	return 8;
}

size_t rec_key2(uint8_t k[16], uint64_t a, uint64_t b)
{
	db_be64(k, a);
	db_be64(k + 8, b);
	return 16;
}

size_t rec_key3(uint8_t k[24], uint64_t a, uint64_t b, uint64_t c)
{
	db_be64(k, a);
	db_be64(k + 8, b);
	db_be64(k + 16, c);
	return 24;
}

size_t rec_key_hash(uint8_t k[40], uint64_t tid, const uint8_t hash[32])
{
	db_be64(k, tid);
	memcpy(k + 8, hash, 32);
	return 40;
}

void rec_strcpy(char *dst, size_t cap, const char *s, size_t len)
{
	if (len > cap - 1) {
		len = cap - 1;
		/* back up over UTF-8 continuation bytes so we cut between characters */
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	if (len)
		memcpy(dst, s, len);
	dst[len] = 0;
}
