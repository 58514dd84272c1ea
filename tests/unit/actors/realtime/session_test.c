/* session_test — the frame dispatch of actors/realtime/session.c, without a
 * server: before auth every frame but auth gets `unauthenticated`; unknown
 * types, invalid JSON, non-objects and bad ids get the error codes of
 * docs/realtime.md and the connection stays open; a frame not for visitors,
 * or one whose permission the agent's stored role lacks, gets `forbidden`
 * and its handler never runs; a revoked session is answered and closed
 * with 1008; closing a session unsubscribes every conversation (and the
 * inbox) it still held.
 *
 * The module is compiled into this file (with kit/session.c, whose frame
 * helpers write through ws_send, and conversations/frames.c, whose
 * subscribe frames fill the session's subscriptions) and its collaborators
 * are renamed at the call sites: ws_send, ws_ref, ws_set_ready and
 * ws_post_close capture what would reach the socket, auth_* and
 * api_load_conv answer from tables here. Messages to actors go through the
 * real conv_send / inbox_send into actor_deliver, which this file defines
 * (kit/address.o, which holds nothing else, is then not linked), so every
 * message an actor would get is recorded. Frames run on the test thread. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ws_send fake_ws_send
#define ws_set_ready fake_ws_set_ready
#define ws_ref fake_ws_ref
#define ws_post_close fake_ws_post_close
#define auth_access fake_auth_access
#define auth_visitor fake_auth_visitor
#define auth_current fake_auth_current
#define api_load_conv fake_load_conv

#include "actors/kit/session.c"
#include "actors/realtime/session.c"
#include "actors/conversations/frames.c"

/* after the modules: cmocka's fail() is a macro, and kit/session.c has a fail() */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* ---- the socket: frames sent, closes posted ---------------------------- */

enum { NCONN = 4, MAXF = 64 };

static conn conns[NCONN];

typedef struct {
	int conn;        /* index in conns */
	json_t *v;
} sent_frame;

static sent_frame sent[MAXF];
static int nsent, taken;
static int ready_calls;
static struct {
	conn_ref ref;
	int code;
} closes[8];
static int ncloses;

static int conn_index(conn *c)
{
	int i = (int)(c - conns);
	assert_true(i >= 0 && i < NCONN);
	return i;
}

int fake_ws_send(conn *c, const char *data, size_t len)
{
	assert_true(nsent < MAXF);
	json_error_t err;
	json_t *v = json_loadb(data, len, 0, &err);
	assert_non_null(v);   /* every frame the server sends is JSON */
	sent[nsent].conn = conn_index(c);
	sent[nsent].v = v;
	nsent++;
	return 0;
}

void fake_ws_set_ready(conn *c)
{
	conn_index(c);
	ready_calls++;
}

conn_ref fake_ws_ref(conn *c)
{
	return (conn_ref){ .loop = 0, .slot = (uint32_t)conn_index(c) + 100, .gen = 7 };
}

void fake_ws_post_close(http_server *s, conn_ref ref, int code)
{
	assert_true(ncloses < 8);
	closes[ncloses].ref = ref;
	closes[ncloses].code = code;
	ncloses++;
}

/* ---- who a token names, and what the store says of users --------------- */

enum { TID = 1, AGENT_UID = 10, ADMIN_UID = 11, VISITOR_ID = 20, OTHER_VISITOR_ID = 21 };

static char admin_role_now[16];   /* the admin's stored role (a demotion changes it) */
static bool admin_revoked;        /* password changed / deactivated */

static void agent_principal(principal *p, uint64_t uid, const char *role, const char *name)
{
	memset(p, 0, sizeof *p);
	p->kind = P_AGENT;
	p->tid = TID;
	p->id = uid;
	strcpy(p->role, role);
	strcpy(p->name, name);
}

int fake_auth_access(struct app *a, const char *tok, size_t len, principal *out)
{
	if (strcmp(tok, "agent-token") == 0)
		agent_principal(out, AGENT_UID, "agent", "Ann");
	else if (strcmp(tok, "admin-token") == 0)
		agent_principal(out, ADMIN_UID, admin_role_now, "Ada");
	else
		return -1;
	return 0;
}

int fake_auth_visitor(struct app *a, const char *tok, size_t len, principal *out)
{
	memset(out, 0, sizeof *out);
	out->kind = P_VISITOR;
	strcpy(out->name, "Vic");
	if (strcmp(tok, "visitor-token") == 0) {
		out->tid = TID;
		out->id = VISITOR_ID;
	} else if (strcmp(tok, "visitor-token-tenant2") == 0) {
		out->tid = TID + 1;     /* a valid token of another tenant */
		out->id = OTHER_VISITOR_ID;
	} else {
		return -1;
	}
	return 0;
}

int fake_auth_current(struct app *a, principal *p)
{
	if (p->id == ADMIN_UID) {
		if (admin_revoked)
			return -1;
		strcpy(p->role, admin_role_now);
	}
	return 0;
}

/* Conversations 100..103 of tenant 1: 100-102 unassigned and the
 * visitor's, 103 assigned to somebody else. */
int fake_load_conv(app *a, uint64_t tid, uint64_t cid, rec_conv *out)
{
	if (tid != TID || cid < 100 || cid > 103)
		return STORE_ENOTFOUND;
	memset(out, 0, sizeof *out);
	out->tid = tid;
	out->id = cid;
	out->visitor_id = VISITOR_ID;
	out->status = CS_OPEN;
	out->assignee_id = cid == 103 ? 99 : 0;
	return 0;
}

/* ---- actor messages (this is the only actor_deliver linked) -------------- */

typedef struct {
	uint8_t kind;
	uint64_t tenant, id;
	int type;
	bool force;
	conn_ref conn;
	uint64_t after;          /* SUBSCRIBE: after_seq / after */
	bool has_id;
	char frame_id[65];
} delivery;

static delivery dl[32];
static int ndl;

/* Agent sockets opened and closed (DK_PRESENCE to the agent's actor). */
static int presence_open, presence_close;

int actor_deliver(struct app *a, actor_addr to, actor_msg *m, bool force)
{
	if (to.kind == AK_AGENT) {
		desk_msg *dm = (desk_msg *)m;
		assert_int_equal(m->type, DK_PRESENCE);
		if (dm->state == DPE_SOCKET_OPEN)
			presence_open++;
		else if (dm->state == DPE_SOCKET_CLOSE)
			presence_close++;
		desk_msg_free(dm);
		return ACTOR_OK;
	}
	assert_true(ndl < 32);
	delivery *d = &dl[ndl++];
	memset(d, 0, sizeof *d);
	d->kind = to.kind;
	d->tenant = to.tenant;
	d->id = to.id;
	d->type = m->type;
	d->force = force;
	if (to.kind == AK_CONV) {
		conv_msg *cm = (conv_msg *)m;
		d->conn = cm->conn;
		d->after = cm->seq;
		d->has_id = cm->reply.has_id;
		strcpy(d->frame_id, cm->reply.id);
		reply_done(a, &cm->reply);   /* the actor would answer it */
		conv_msg_free(cm);
	} else {
		assert_int_equal(to.kind, AK_INBOX);
		inbox_msg *im = (inbox_msg *)m;
		d->conn = im->conn;
		d->after = im->after;
		d->has_id = im->reply.has_id;
		strcpy(d->frame_id, im->reply.id);
		reply_done(a, &im->reply);
		rbuf_unref(&im->frame);
		free(im);
	}
	return ACTOR_OK;
}

/* ---- the feature table: the real realtime and conversation frames, and a
 * frame that needs PERM_SETTINGS (no such frame exists yet) ---------------- */

static int probe_calls;

static void do_settings_probe(rt_session *s, const char *id, json_t *f)
{
	probe_calls++;
	rt_ack(s->c, id, NULL);
}

static const frame_def test_frames[] = {
	{ "settings_probe", PERM_SETTINGS, FRAME_AGENTS, do_settings_probe },
	{ 0 },
};

static const feature test_conversations = { .name = "conversations", .frames = conv_frames };
static const feature test_settings = { .name = "settings", .frames = test_frames };
static const feature *const test_features[] = { &feature_realtime, &test_conversations, &test_settings,
						 NULL };

static app A;

static int setup(void **state)
{
	for (int i = 0; i < nsent; i++)
		json_decref(sent[i].v);
	nsent = taken = 0;
	ncloses = ndl = probe_calls = ready_calls = 0;
	memset(&A, 0, sizeof A);
	memset(conns, 0, sizeof conns);
	A.features = test_features;
	atomic_store(&A.ready, true);
	strcpy(admin_role_now, "admin");
	admin_revoked = false;
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(atomic_load(&A.inflight), 0);   /* every reply begun was ended */
	return 0;
}

/* A session as upgrade() makes it, on conns[i]. */
static rt_session *open_session(int i, bool widget)
{
	rt_session *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->app = &A;
	s->widget = widget;
	s->widget_tid = widget ? TID : 0;
	s->loop = -1;
	s->c = &conns[i];
	return s;
}

static void frame(rt_session *s, const char *text)
{
	on_message(s->c, s, text, strlen(text));
}

/* The next frame sent (on conn i). */
static json_t *next_frame(int i)
{
	assert_true(taken < nsent);
	assert_int_equal(sent[taken].conn, i);
	return sent[taken++].v;
}

static void no_more_frames(void)
{
	assert_int_equal(taken, nsent);
}

/* Pops the next frame and checks it is an error with code, id and field
 * (NULL: absent). */
static void expect_error(int i, const char *id, const char *code, const char *field)
{
	json_t *v = next_frame(i);
	assert_string_equal(json_string_value(json_object_get(v, "type")), "error");
	json_t *e = json_object_get(v, "error");
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_non_null(json_string_value(json_object_get(e, "message")));
	json_t *jid = json_object_get(v, "id");
	if (id)
		assert_string_equal(json_string_value(jid), id);
	else
		assert_null(jid);
	json_t *jf = json_object_get(e, "field");
	if (field)
		assert_string_equal(json_string_value(jf), field);
	else
		assert_null(jf);
}

static json_t *expect_ack(int i, const char *id)
{
	json_t *v = next_frame(i);
	assert_string_equal(json_string_value(json_object_get(v, "type")), "ack");
	assert_string_equal(json_string_value(json_object_get(v, "id")), id);
	return v;
}

static void auth_agent(rt_session *s, const char *token)
{
	char f[128];
	snprintf(f, sizeof f, "{\"type\":\"auth\",\"id\":\"a\",\"token\":\"%s\"}", token);
	frame(s, f);
	json_t *ack = expect_ack(conn_index(s->c), "a");
	assert_non_null(json_object_get(ack, s->widget ? "visitor" : "user"));
	assert_true(s->authed);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_unauthenticated_until_auth(void **state)
{
	rt_session *s = open_session(0, false);
	const char *before[] = {
		"{\"type\":\"ping\",\"id\":\"1\"}",
		"{\"type\":\"subscribe\",\"id\":\"1\",\"conversation_id\":\"100\"}",
		"{\"type\":\"send\",\"id\":\"1\",\"conversation_id\":\"100\",\"client_id\":\"c\",\"text\":\"hi\"}",
		"{\"type\":\"subscribe_inbox\",\"id\":\"1\",\"after\":0}",
		"{\"type\":\"settings_probe\",\"id\":\"1\"}",
		"{\"type\":\"unsubscribe\",\"id\":\"1\",\"conversation_id\":\"100\"}",
	};
	for (size_t i = 0; i < sizeof before / sizeof *before; i++) {
		frame(s, before[i]);
		expect_error(0, "1", "unauthenticated", NULL);
	}
	/* without an id the error is still sent, without id */
	frame(s, "{\"type\":\"ping\"}");
	expect_error(0, NULL, "unauthenticated", NULL);
	/* an unknown type is unknown_type, authenticated or not */
	frame(s, "{\"type\":\"hello\",\"id\":\"2\"}");
	expect_error(0, "2", "unknown_type", "type");
	no_more_frames();
	assert_int_equal(ndl, 0);            /* nothing reached an actor */
	assert_int_equal(probe_calls, 0);
	assert_int_equal(ready_calls, 0);
	assert_false(s->authed);

	/* a bad token keeps it unauthenticated */
	frame(s, "{\"type\":\"auth\",\"id\":\"a\",\"token\":\"nope\"}");
	expect_error(0, "a", "unauthenticated", "token");
	frame(s, "{\"type\":\"auth\",\"id\":\"a\"}");
	expect_error(0, "a", "invalid_field", "token");
	assert_false(s->authed);
	frame(s, "{\"type\":\"ping\",\"id\":\"3\"}");
	expect_error(0, "3", "unauthenticated", NULL);

	auth_agent(s, "agent-token");
	assert_int_equal(ready_calls, 1);
	frame(s, "{\"type\":\"ping\",\"id\":\"4\"}");
	expect_ack(0, "4");
	/* a second auth is refused; the session stays who it was */
	frame(s, "{\"type\":\"auth\",\"id\":\"5\",\"token\":\"admin-token\"}");
	expect_error(0, "5", "invalid_frame", NULL);
	assert_int_equal(s->who.id, AGENT_UID);
	no_more_frames();
	assert_int_equal(ncloses, 0);
	on_close(s->c, s);
}

static void test_malformed_frames(void **state)
{
	rt_session *s = open_session(1, false);
	auth_agent(s, "agent-token");
	static const struct {
		const char *text, *id, *code, *field;   /* id: echoed (NULL: invalid or not read) */
	} bad[] = {
		{ "{\"type\":\"ping\",", NULL, "invalid_json", NULL },
		{ "not json", NULL, "invalid_json", NULL },
		{ "{\"type\":\"ping\",\"type\":\"ping\"}", NULL, "invalid_json", NULL },   /* duplicate key */
		{ "[{\"type\":\"ping\",\"id\":\"x\"}]", NULL, "invalid_frame", NULL },
		{ "\"ping\"", NULL, "invalid_frame", NULL },
		{ "42", NULL, "invalid_frame", NULL },
		{ "{\"type\":\"ping\",\"id\":5}", NULL, "invalid_field", "id" },
		{ "{\"type\":\"ping\",\"id\":\"\"}", NULL, "invalid_field", "id" },
		{ "{\"type\":\"ping\",\"id\":\"a\\u0000b\"}", NULL, "invalid_field", "id" },
		{ "{\"type\":\"ping\",\"id\":"   /* 65 bytes */
		  "\"00000000000000000000000000000000000000000000000000000000000000000\"}",
		  NULL, "invalid_field", "id" },
		/* a missing or non-string type: invalid_frame on "type", with the valid id */
		{ "{\"id\":\"t1\"}", "t1", "invalid_frame", "type" },
		{ "{\"id\":\"t2\",\"type\":7}", "t2", "invalid_frame", "type" },
		{ "{\"id\":\"t3\",\"type\":\"ping\\u0000\"}", "t3", "unknown_type", "type" },
		{ "{\"id\":\"t4\",\"type\":\"PING\"}", "t4", "unknown_type", "type" },
		/* a field of the wrong type */
		{ "{\"type\":\"subscribe\",\"id\":\"f\",\"conversation_id\":100}", "f", "invalid_field",
		  "conversation_id" },
		{ "{\"type\":\"subscribe\",\"id\":\"g\",\"conversation_id\":\"100\",\"after_seq\":-1}", "g",
		  "invalid_field", "after_seq" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		frame(s, bad[i].text);
		expect_error(1, bad[i].id, bad[i].code, bad[i].field);
	}
	/* 64 bytes is a valid id */
	char big[160], id64[65];
	snprintf(id64, sizeof id64, "%064d", 0);
	snprintf(big, sizeof big, "{\"type\":\"ping\",\"id\":\"%s\"}", id64);
	frame(s, big);
	expect_ack(1, id64);
	/* the connection stays open and usable */
	frame(s, "{\"type\":\"ping\",\"id\":\"ok\"}");
	expect_ack(1, "ok");
	no_more_frames();
	assert_int_equal(ncloses, 0);
	assert_int_equal(ndl, 0);
	on_close(s->c, s);
}

static void test_visitor_frames(void **state)
{
	rt_session *s = open_session(2, true);
	/* a valid visitor token of another tenant does not open this widget */
	frame(s, "{\"type\":\"auth\",\"id\":\"a\",\"token\":\"visitor-token-tenant2\"}");
	expect_error(2, "a", "unauthenticated", "token");
	/* nor does an agent's token */
	frame(s, "{\"type\":\"auth\",\"id\":\"a\",\"token\":\"agent-token\"}");
	expect_error(2, "a", "unauthenticated", "token");
	assert_false(s->authed);
	auth_agent(s, "visitor-token");
	assert_int_equal(s->who.kind, P_VISITOR);

	frame(s, "{\"type\":\"subscribe_inbox\",\"id\":\"i\",\"after\":0}");
	expect_error(2, "i", "forbidden", NULL);
	frame(s, "{\"type\":\"settings_probe\",\"id\":\"p\"}");
	expect_error(2, "p", "forbidden", NULL);
	assert_int_equal(probe_calls, 0);
	assert_false(s->inbox);
	assert_int_equal(ndl, 0);
	/* what visitors may send goes through */
	frame(s, "{\"type\":\"ping\",\"id\":\"q\"}");
	expect_ack(2, "q");
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s\",\"conversation_id\":\"100\",\"after_seq\":4}");
	assert_int_equal(ndl, 1);
	assert_int_equal(dl[0].type, CM_SUBSCRIBE);
	assert_int_equal(dl[0].after, 4);
	assert_string_equal(dl[0].frame_id, "s");
	/* a visitor cannot send a private note */
	frame(s, "{\"type\":\"send\",\"id\":\"n\",\"conversation_id\":\"100\",\"client_id\":\"c\",\"text\":\"x\","
		 "\"private\":true}");
	expect_error(2, "n", "forbidden", "private");
	assert_int_equal(ndl, 1);
	no_more_frames();
	on_close(s->c, s);
	assert_int_equal(ndl, 2);
	assert_int_equal(dl[1].type, CM_UNSUBSCRIBE);
	assert_int_equal(dl[1].id, 100);
}

static void test_role_permissions(void **state)
{
	rt_session *ag = open_session(0, false), *ad = open_session(1, false);
	auth_agent(ag, "agent-token");
	auth_agent(ad, "admin-token");
	/* an agent lacks PERM_SETTINGS: forbidden, handler not run */
	frame(ag, "{\"type\":\"settings_probe\",\"id\":\"p1\"}");
	expect_error(0, "p1", "forbidden", NULL);
	assert_int_equal(probe_calls, 0);
	/* an admin holds it */
	frame(ad, "{\"type\":\"settings_probe\",\"id\":\"p2\"}");
	expect_ack(1, "p2");
	assert_int_equal(probe_calls, 1);
	/* the stored role is read for every frame: a demotion applies at once */
	strcpy(admin_role_now, "agent");
	frame(ad, "{\"type\":\"settings_probe\",\"id\":\"p3\"}");
	expect_error(1, "p3", "forbidden", NULL);
	assert_int_equal(probe_calls, 1);
	assert_string_equal(ad->who.role, "agent");
	/* an agent may subscribe to the inbox (PERM_CONV) */
	frame(ag, "{\"type\":\"subscribe_inbox\",\"id\":\"i\",\"after\":3}");
	assert_int_equal(ndl, 1);
	assert_int_equal(dl[0].kind, AK_INBOX);
	assert_int_equal(dl[0].tenant, TID);
	assert_int_equal(dl[0].type, IM_SUBSCRIBE);
	assert_int_equal(dl[0].after, 3);
	assert_true(ag->inbox);
	/* a revoked session: unauthenticated, then closed with 1008 */
	admin_revoked = true;
	frame(ad, "{\"type\":\"ping\",\"id\":\"r\"}");
	expect_error(1, "r", "unauthenticated", NULL);
	assert_int_equal(ncloses, 1);
	assert_int_equal(closes[0].code, 1008);
	assert_int_equal(closes[0].ref.slot, fake_ws_ref(ad->c).slot);
	no_more_frames();
	on_close(ag->c, ag);
	on_close(ad->c, ad);
}

static void test_close_unsubscribes(void **state)
{
	rt_session *s = open_session(3, false);
	auth_agent(s, "agent-token");
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s0\",\"conversation_id\":\"100\"}");
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s1\",\"conversation_id\":\"101\",\"after_seq\":2}");
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s2\",\"conversation_id\":\"102\"}");
	/* subscribing twice to one conversation keeps one subscription */
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s3\",\"conversation_id\":\"102\"}");
	/* not visible to this agent / not there: not_found, not subscribed */
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s4\",\"conversation_id\":\"103\"}");
	expect_error(3, "s4", "not_found", "conversation_id");
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s5\",\"conversation_id\":\"555\"}");
	expect_error(3, "s5", "not_found", "conversation_id");
	frame(s, "{\"type\":\"subscribe_inbox\",\"id\":\"i\"}");
	assert_int_equal(ndl, 5);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(dl[i].kind, AK_CONV);
		assert_int_equal(dl[i].type, CM_SUBSCRIBE);
		assert_int_equal(dl[i].tenant, TID);
		assert_false(dl[i].force);           /* subscribes may be refused (busy) */
	}
	assert_int_equal(dl[1].after, 2);
	assert_int_equal(s->nsubs, 3);
	/* unsubscribing from 101 tells its actor now (and acks) */
	frame(s, "{\"type\":\"unsubscribe\",\"id\":\"u\",\"conversation_id\":\"101\"}");
	expect_ack(3, "u");
	assert_int_equal(ndl, 6);
	assert_int_equal(dl[5].type, CM_UNSUBSCRIBE);
	assert_int_equal(dl[5].id, 101);
	no_more_frames();

	conn_ref ref = fake_ws_ref(s->c);
	int opened = presence_open, closed = presence_close;
	on_close(s->c, s);
	/* the agent's actor counts the socket: it was opened at auth, now closed */
	assert_true(opened >= 1);
	assert_int_equal(presence_close, closed + 1);
	/* 100 and 102 (each once), and the inbox: nothing else */
	assert_int_equal(ndl, 9);
	bool seen100 = false, seen102 = false, seen_inbox = false;
	for (int i = 6; i < 9; i++) {
		delivery *d = &dl[i];
		assert_int_equal(d->tenant, TID);
		assert_true(d->force);               /* never refused by a full mailbox */
		assert_int_equal(d->conn.slot, ref.slot);
		assert_int_equal(d->conn.gen, ref.gen);
		if (d->kind == AK_INBOX) {
			assert_int_equal(d->type, IM_UNSUBSCRIBE);
			assert_false(seen_inbox);
			seen_inbox = true;
		} else {
			assert_int_equal(d->type, CM_UNSUBSCRIBE);
			if (d->id == 100) {
				assert_false(seen100);
				seen100 = true;
			} else {
				assert_int_equal(d->id, 102);
				assert_false(seen102);
				seen102 = true;
			}
		}
	}
	assert_true(seen100 && seen102 && seen_inbox);
	no_more_frames();
}

/* While the server stops, the actor runtime may be gone: closing tells no actor. */
static void test_close_while_stopping(void **state)
{
	rt_session *s = open_session(0, false);
	auth_agent(s, "agent-token");
	frame(s, "{\"type\":\"subscribe\",\"id\":\"s\",\"conversation_id\":\"100\"}");
	frame(s, "{\"type\":\"subscribe_inbox\",\"id\":\"i\"}");
	assert_int_equal(ndl, 2);
	atomic_store(&A.ready, false);
	on_close(s->c, s);
	assert_int_equal(ndl, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unauthenticated_until_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_visitor_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_role_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_unsubscribes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_stopping, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
