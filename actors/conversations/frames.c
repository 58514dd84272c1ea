/* frames — the conversation frames of the realtime protocol
 * (docs/realtime.md): parsed and validated on the I/O thread, then a
 * message to the conversation's (or the tenant inbox's) actor, which
 * answers through reply_to. Access: a visitor their own conversations, a
 * user those their role lets them read (kit/perm.h), checked once per
 * conversation and session (a conversation never changes tenant or
 * visitor) — and again by the conversation actor for what can change. */
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/inbox.h"
#include "actors/conversations/tools.h"
#include "actors/kit/session.h"
#include "net/ws.h"

#include <stdlib.h>
#include <string.h>

/* May this session act on conversation cid? Answers not_found itself. */
static bool can_access(rt_session *s, const char *id, uint64_t cid)
{
	if (rt_has_sub(s, cid))
		return true;
	for (unsigned i = 0; i < 8 && i < s->nchecked; i++)
		if (s->checked[i] == cid)
			return true;
	rec_conv c;
	int rc = api_load_conv(s->app, s->who.tid, cid, &c);
	if (rc == 0 && api_conv_visible(&s->who, &c)) {
		s->checked[s->nchecked++ % 8] = cid;
		return true;
	}
	if (rc && rc != STORE_ENOTFOUND)
		rt_error(s->c, id, "internal", "storage unavailable", NULL);
	else
		rt_error(s->c, id, "not_found", "no such conversation", "conversation_id");
	return false;
}

static conv_msg *new_msg(rt_session *s, int type, const char *id)
{
	conv_msg *m = conv_msg_new(type);
	if (!m) {
		rt_error(s->c, id, "internal", "out of memory", NULL);
		return NULL;
	}
	m->who = s->who;
	m->conn = ws_ref(s->c);
	m->audience = s->who.kind == P_VISITOR ? AUD_VISITOR : AUD_AGENT;
	reply_begin_ws(s->app, &m->reply, m->conn, id);
	return m;
}

static void do_subscribe(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid, after;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0 ||
	    rt_uint_field(s->c, id, f, "after_seq", &after) < 0 || !can_access(s, id, cid))
		return;
	if (rt_add_sub(s, cid) < 0) {
		rt_error(s->c, id, "too_large", "too many subscriptions on this connection", NULL);
		return;
	}
	conv_msg *m = new_msg(s, CM_SUBSCRIBE, id);
	if (!m)
		return;
	m->seq = after;
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_unsubscribe(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0)
		return;
	if (rt_has_sub(s, cid)) {
		conv_msg *m = conv_msg_new(CM_UNSUBSCRIBE);
		if (m) {
			m->conn = ws_ref(s->c);
			conv_send(s->app, s->who.tid, cid, m);
		}
		rt_remove_sub(s, cid);
	}
	rt_ack(s->c, id, NULL);
}

static void do_send(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	const char *client_id, *text = "";
	/* files, when given, are read after the access check below; a message
	 * of files may come without text */
	json_t *fv = json_object_get(f, "files");
	bool has_files = fv && json_is_array(fv) && json_array_size(fv) > 0;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0 ||
	    rt_str_field(s->c, id, f, "client_id", 1, REC_CLIENT_ID_MAX, &client_id) < 0)
		return;
	bool canned = json_object_get(f, "canned_id") != NULL;
	if (((!has_files && !canned) || json_object_get(f, "text")) &&
	    rt_str_field(s->c, id, f, "text", has_files ? 0 : 1, REC_TEXT_MAX, &text) < 0)
		return;
	json_t *pv = json_object_get(f, "private");
	if (pv && !json_is_boolean(pv)) {
		rt_error(s->c, id, "invalid_field", "private must be a boolean", "private");
		return;
	}
	bool priv = json_is_true(pv);
	if (priv && s->who.kind != P_AGENT) {
		rt_error(s->c, id, "forbidden", "visitors cannot send private notes", "private");
		return;
	}
	if (!can_access(s, id, cid))
		return;
	rec_files *files = NULL;
	const char *fmsg = NULL;
	int frc = fv ? conv_read_files(s->app, fv, s->who.tid, cid, &files, &fmsg) : 0;
	if (frc == -1) {
		rt_error(s->c, id, "invalid_field", fmsg, "files");
		return;
	}
	if (frc < 0) {
		rt_error(s->c, id, "internal", "storage unavailable", NULL);
		return;
	}
	char *ctext = NULL;
	rec_ids mentions;
	tool_err te;
	if (conv_tools_send(s->app, &s->who, cid, f, priv, &ctext, &mentions, &te) < 0) {
		free(files);
		rt_error(s->c, id, te.code, te.msg, te.field);
		return;
	}
	conv_msg *m = new_msg(s, CM_SEND, id);
	if (!m) {
		free(files);
		free(ctext);
		return;
	}
	m->files = files;
	m->mentions = mentions;
	m->text = ctext ? ctext : strdup(text);
	m->text_len = m->text ? strlen(m->text) : 0;
	strcpy(m->client_id, client_id);
	m->flag = priv;
	if (!m->text) {
		reply_error(s->app, &m->reply, 500, "internal", "out of memory");
		conv_msg_free(m);
		return;
	}
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_typing(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	json_t *st = json_object_get(f, "state");
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0)
		return;
	if (!json_is_boolean(st)) {
		rt_error(s->c, id, "invalid_field", "state must be a boolean", "state");
		return;
	}
	if (!can_access(s, id, cid))
		return;
	conv_msg *m = new_msg(s, CM_TYPING, id);
	if (!m)
		return;
	m->flag = json_is_true(st);
	conv_send(s->app, s->who.tid, cid, m);
}

static void receipt(rt_session *s, const char *id, json_t *f, bool read)
{
	uint64_t cid, seq;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0)
		return;
	json_t *sv = json_object_get(f, "seq");
	if (!json_is_integer(sv) || json_integer_value(sv) < 0) {
		rt_error(s->c, id, "invalid_field", "seq must be an integer >= 0", "seq");
		return;
	}
	seq = (uint64_t)json_integer_value(sv);
	if (!can_access(s, id, cid))
		return;
	conv_msg *m = new_msg(s, CM_RECEIPT, id);
	if (!m)
		return;
	m->seq = seq;
	m->flag = read;
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_inbox(rt_session *s, const char *id, json_t *f)
{
	uint64_t after;
	if (rt_uint_field(s->c, id, f, "after", &after) < 0)
		return;
	inbox_msg *m = inbox_msg_new(IM_SUBSCRIBE);
	if (!m) {
		rt_error(s->c, id, "internal", "out of memory", NULL);
		return;
	}
	m->conn = ws_ref(s->c);
	m->after = after;
	m->role = (uint8_t)role_parse(s->who.role);
	m->uid = s->who.id;
	reply_begin_ws(s->app, &m->reply, m->conn, id);
	s->inbox = true;
	inbox_send(s->app, s->who.tid, m);
}

/* update_conversation {conversation_id, status?, priority?, snooze_until?} */
static void do_update(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0 || !can_access(s, id, cid))
		return;
	conv_msg u = { .status = CONV_KEEP, .priority = CONV_KEEP };
	const char *code, *msg, *field;
	if (conv_parse_update(f, &u, &code, &msg, &field) < 0) {
		rt_error(s->c, id, code, msg, field);
		return;
	}
	conv_msg *m = new_msg(s, CM_STATUS, id);
	if (!m)
		return;
	m->status = u.status;
	m->priority = u.priority;
	m->until_ms = u.until_ms;
	conv_send(s->app, s->who.tid, cid, m);
}

/* transfer {conversation_id, agent_id?, department_id?, reason} */
static void do_transfer(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	rec_conv c;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0 || !can_access(s, id, cid))
		return;
	if (api_load_conv(s->app, s->who.tid, cid, &c)) {
		rt_error(s->c, id, "internal", "storage unavailable", NULL);
		return;
	}
	conv_msg *m = conv_msg_new(CM_TRANSFER);
	conv_err e;
	if (!m) {
		rt_error(s->c, id, "internal", "out of memory", NULL);
		return;
	}
	if (conv_parse_transfer(s->app, &s->who, &c, f, m, &e) < 0) {
		rt_error(s->c, id, e.code, e.msg, e.field);
		conv_msg_free(m);
		return;
	}
	m->who = s->who;
	m->conn = ws_ref(s->c);
	reply_begin_ws(s->app, &m->reply, m->conn, id);
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_delivered(rt_session *s, const char *id, json_t *f)
{
	receipt(s, id, f, false);
}

static void do_read(rt_session *s, const char *id, json_t *f)
{
	receipt(s, id, f, true);
}

const frame_def conv_frames[] = {
	{ "subscribe", PERM_CONV, FRAME_AGENTS | FRAME_VISITORS, do_subscribe },
	{ "unsubscribe", PERM_CONV, FRAME_AGENTS | FRAME_VISITORS, do_unsubscribe },
	{ "send", PERM_CONV, FRAME_AGENTS | FRAME_VISITORS, do_send },
	{ "typing", PERM_CONV, FRAME_AGENTS | FRAME_VISITORS, do_typing },
	{ "delivered", PERM_CONV, FRAME_AGENTS | FRAME_VISITORS, do_delivered },
	{ "read", PERM_CONV, FRAME_AGENTS | FRAME_VISITORS, do_read },
	{ "subscribe_inbox", PERM_CONV, FRAME_AGENTS, do_inbox },
	{ "update_conversation", PERM_CONV, FRAME_AGENTS, do_update },
	{ "transfer", PERM_CONV_ASSIGN, FRAME_AGENTS, do_transfer },
	{ 0 },
};
