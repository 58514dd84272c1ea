/* inbox_test — the tenant inbox actor (actors/conversations/inbox.c)
 * without a server: committed entries (IM_EVENT) reach subscribers in
 * cursor order and once (a repeated or older cursor is not published
 * again); subscribe replays the stored entries after a cursor up to what
 * the actor has published, with each conversation as it is now, then the
 * connection gets what follows live; more than INBOX_REPLAY_MAX missing is
 * answered "more" without subscribing; notices (inbox_broadcast) and live
 * message announcements reach every subscriber; unsubscribing stops them;
 * agents get what their role lets them read (kit/perm.h).
 *
 * inbox.c is compiled into this file with its collaborators renamed at the
 * call sites: actor_deliver puts messages in a mailbox here that the test
 * hands to the actor's handler one at a time, and ws_post (inbox.c's and
 * kit/reply.c's, compiled in too) records every frame a connection would
 * get. Storage is real: entries and conversations are written through
 * storage/conv_store.h in LMDB transactions on a temporary directory, as
 * the conversation actor's writes would. */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ws_post fake_ws_post
#define actor_deliver fake_deliver

#include "actors/kit/reply.c"
#include "actors/conversations/inbox.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "storage/conv_store.h"
#include "storage/db.h"
#include "tests/unit/actors/conversations/posted.h"

enum { TID = 1, ANN = 10, SUE = 11, BOB = 12 };

static app A;
static char dir[64];
static actor *inbox;            /* tenant TID's inbox actor */

/* ---- the mailbox ------------------------------------------------------------ */

enum { MAXMAIL = 4096 };
static actor_msg *box[MAXMAIL];
static int box_head, box_tail;
static bool refuse;             /* deliveries fail (out of memory) */

int fake_deliver(struct app *a, actor_addr to, actor_msg *m, bool force)
{
	assert_int_equal(to.kind, AK_INBOX);
	assert_int_equal(to.tenant, TID);
	assert_int_equal(to.id, 0);
	assert_true(force);             /* inbox messages are never refused for a bound */
	if (refuse)
		return -1;
	assert_true(box_tail < MAXMAIL);
	box[box_tail++] = m;
	return ACTOR_OK;
}

static void pump(void)
{
	while (box_head < box_tail)
		inbox->handle(inbox, box[box_head++]);
}

/* The next frame of slot is the inbox entry cursor (event name ev). */
static json_t *expect_entry(uint32_t slot, uint64_t cursor, const char *ev)
{
	json_t *v = take(slot);
	assert_string_equal(str(v, "type"), "inbox");
	assert_int_equal(num(v, "cursor"), cursor);
	assert_string_equal(str(v, "event"), ev);
	assert_true(json_is_object(json_object_get(v, "conversation")));
	return v;
}

static void expect_sub_ack(uint32_t slot, const char *id, uint64_t last, bool more)
{
	json_t *v = take(slot);
	assert_string_equal(str(v, "type"), "ack");
	assert_string_equal(str(v, "id"), id);
	assert_int_equal(num(v, "last"), last);
	assert_int_equal(json_is_true(json_object_get(v, "more")), more);
}

/* ---- storage: what the conversation actor's writes leave ---------------- */

static rec_conv conv_rec(uint64_t cid, uint8_t status, uint64_t last_seq)
{
	rec_conv c;
	memset(&c, 0, sizeof c);
	c.tid = TID;
	c.id = cid;
	c.visitor_id = 20;
	strcpy(c.visitor_name, "Vic");
	c.status = status;
	c.last_seq = last_seq;
	c.created_ms = c.updated_ms = 1000;
	return c;
}

/* Stores a change of conversation cid — its creation, or a status
 * event that may also change the assignee (KEEP: unchanged) — with an
 * inbox entry if asked; returns the entry's cursor. */
#define KEEP UINT64_MAX

static uint64_t write_conv(uint64_t cid, bool create, uint8_t status, uint64_t assignee, bool with_entry)
{
	store_txn t;
	assert_int_equal(store_write(A.db, &t), 0);
	rec_conv c;
	uint64_t prev = 0;
	if (!create) {
		assert_int_equal(convstore_get(&t, TID, cid, &c), 0);
		prev = c.last_seq;
		c.status = status;
		c.last_seq++;
	} else {
		c = conv_rec(cid, status, 1);
	}
	if (assignee != KEEP)
		c.assignee_id = assignee;
	rec_event e;
	memset(&e, 0, sizeof e);
	e.tid = TID;
	e.cid = cid;
	e.seq = c.last_seq;
	e.kind = create ? EK_CREATED : EK_STATUS;
	e.status = status;
	rec_event *ev[1] = { &e };
	uint64_t cursor = 0;
	convstore_change ch = {
		.kind = create ? CONVSTORE_CREATE : CONVSTORE_UPDATE,
		.prev_seq = prev,
		.conv = &c,
		.ev = ev,
		.nev = 1,
		.inbox_type = create ? IB_CREATED : IB_UPDATED,
		.inbox_cursor = with_entry ? &cursor : NULL,
	};
	assert_int_equal(convstore_write(&t, &ch), 0);
	assert_int_equal(store_commit(&t), 0);
	return cursor;
}

static uint64_t store_change(uint64_t cid, bool create, uint8_t status, bool with_entry)
{
	return write_conv(cid, create, status, KEEP, with_entry);
}

/* What the writer hands the inbox after the commit of entry cursor: the
 * conversation as that change left it (read back), and its assignee
 * before the change. */
static void committed_from(uint64_t cursor, uint64_t cid, int type, uint64_t prev_assignee)
{
	inbox_msg *m = inbox_msg_new(IM_EVENT);
	m->cursor = cursor;
	m->type = (uint8_t)type;
	m->prev_assignee = prev_assignee;
	store_txn t;
	assert_int_equal(store_read(A.db, &t), 0);
	assert_int_equal(convstore_get(&t, TID, cid, &m->conv), 0);
	store_done(&t);
	inbox_send(&A, TID, m);
}

static void committed(uint64_t cursor, uint64_t cid, int type)
{
	committed_from(cursor, cid, type, 0);
}

/* ---- requests ----------------------------------------------------------- */

static conn_ref ref_of(uint32_t slot)
{
	return (conn_ref){ .loop = 0, .slot = slot, .gen = 1 };
}

/* A subscriber of role (kit/perm.h), user uid. */
static void subscribe_as(uint32_t slot, const char *id, uint64_t after, int role, uint64_t uid)
{
	inbox_msg *m = inbox_msg_new(IM_SUBSCRIBE);
	m->conn = ref_of(slot);
	m->after = after;
	m->role = (uint8_t)role;
	m->uid = uid;
	reply_begin_ws(&A, &m->reply, m->conn, id);
	inbox_send(&A, TID, m);
	pump();
}

/* A supervisor: sees the whole inbox. */
static void subscribe(uint32_t slot, const char *id, uint64_t after)
{
	subscribe_as(slot, id, after, ROLE_SUPERVISOR, SUE);
}

static void unsubscribe(uint32_t slot)
{
	inbox_msg *m = inbox_msg_new(IM_UNSUBSCRIBE);
	m->conn = ref_of(slot);
	inbox_send(&A, TID, m);
	pump();
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	memset(&A, 0, sizeof A);
	strcpy(dir, "/tmp/inbox_test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	int err = 0;
	A.db = db_open(dir, &(db_opts){ .no_sync = true, .map_size = 64u << 20 }, &err);
	assert_non_null(A.db);
	inbox = inbox_actor_new(&A, TID, 0);
	assert_non_null(inbox);
	box_head = box_tail = nouts = 0;
	refuse = false;
	memset(seen, 0, sizeof seen);
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	pump();
	int unanswered = (int)atomic_load(&A.inflight);
	inbox_actor_free(inbox);
	forget_frames();
	db_close(&A.db);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(unanswered, 0);   /* every subscribe answered once */
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_events_published_once_in_order(void **state)
{
	enum { S1 = 1, S2 = 2 };
	subscribe(S1, "s1", 0);
	expect_sub_ack(S1, "s1", 0, false);
	subscribe(S2, "s2", 0);
	expect_sub_ack(S2, "s2", 0, false);
	for (uint64_t cid = 100; cid < 103; cid++) {
		uint64_t cur = store_change(cid, true, CS_OPEN, true);
		assert_int_equal(cur, cid - 99);
		committed(cur, cid, IB_CREATED);
	}
	pump();
	for (uint64_t c = 1; c <= 3; c++) {
		json_t *v = expect_entry(S1, c, "conversation.created");
		char want[8];
		snprintf(want, sizeof want, "%llu", (unsigned long long)(c + 99));
		assert_string_equal(str(json_object_get(v, "conversation"), "id"), want);
		expect_entry(S2, c, "conversation.created");
	}
	/* a repeated or an older cursor is not published again */
	committed(3, 102, IB_CREATED);
	committed(2, 101, IB_CREATED);
	committed(1, 100, IB_CREATED);
	pump();
	assert_int_equal(frames_left(S1) + frames_left(S2), 0);
	uint64_t cur = store_change(100, false, CS_RESOLVED, true);
	assert_int_equal(cur, 4);
	committed(cur, 100, IB_UPDATED);
	pump();
	expect_entry(S1, 4, "conversation.updated");
	expect_entry(S2, 4, "conversation.updated");
	assert_int_equal(frames_left(S1) + frames_left(S2), 0);
}

/* subscribe replays from LMDB after the cursor, up to what the actor has
 * published (an entry committed whose IM_EVENT is on its way comes live,
 * once), with each conversation as it is now. */
static void test_subscribe_replays_then_live(void **state)
{
	enum { S = 1, LATE = 2, AHEAD = 3 };
	for (uint64_t cid = 100; cid < 103; cid++)
		committed(store_change(cid, true, CS_OPEN, true), cid, IB_CREATED);
	pump();                                        /* the actor loads: published 3 */
	assert_int_equal(nouts, 0);
	/* a fourth entry committed; its IM_EVENT not handled yet */
	uint64_t c4 = store_change(103, true, CS_OPEN, true);
	assert_int_equal(c4, 4);
	/* conversation 101 changed since its entry (no entry of its own) */
	store_change(101, false, CS_PENDING, false);

	subscribe(S, "s", 1);
	json_t *v = expect_entry(S, 2, "conversation.created");
	assert_string_equal(str(json_object_get(v, "conversation"), "status"), "pending");
	expect_entry(S, 3, "conversation.created");
	expect_sub_ack(S, "s", 3, false);              /* not 4: not published yet */
	assert_int_equal(frames_left(S), 0);

	committed(c4, 103, IB_CREATED);
	pump();
	expect_entry(S, 4, "conversation.created");
	assert_int_equal(frames_left(S), 0);

	/* a later subscriber from the start gets all four, then live */
	subscribe(LATE, "l", 0);
	for (uint64_t c = 1; c <= 4; c++)
		expect_entry(LATE, c, "conversation.created");
	expect_sub_ack(LATE, "l", 4, false);
	/* a cursor ahead of the stream: nothing replayed */
	subscribe(AHEAD, "a", 9);
	expect_sub_ack(AHEAD, "a", 9, false);
	uint64_t c5 = store_change(100, false, CS_RESOLVED, true);
	committed(c5, 100, IB_UPDATED);
	pump();
	expect_entry(S, 5, "conversation.updated");
	expect_entry(LATE, 5, "conversation.updated");
	expect_entry(AHEAD, 5, "conversation.updated");
	/* subscribing again on the same connection does not double what it gets */
	subscribe(S, "again", 5);
	expect_sub_ack(S, "again", 5, false);
	uint64_t c6 = store_change(101, false, CS_OPEN, true);
	committed(c6, 101, IB_UPDATED);
	pump();
	expect_entry(S, 6, "conversation.updated");
	assert_int_equal(frames_left(S), 0);
}

static void test_replay_more(void **state)
{
	enum { S = 1 };
	enum { N = INBOX_REPLAY_MAX + 3 };
	store_txn t;
	assert_int_equal(store_write(A.db, &t), 0);
	for (uint64_t i = 0; i < N; i++) {
		rec_conv c = conv_rec(1000 + i, CS_OPEN, 1);
		rec_event e = { .tid = TID, .cid = c.id, .seq = 1, .kind = EK_CREATED };
		rec_event *ev[1] = { &e };
		uint64_t cursor = 0;
		convstore_change ch = { .kind = CONVSTORE_CREATE, .conv = &c, .ev = ev, .nev = 1,
					.inbox_type = IB_CREATED, .inbox_cursor = &cursor };
		assert_int_equal(convstore_write(&t, &ch), 0);
		assert_int_equal(cursor, i + 1);
	}
	assert_int_equal(store_commit(&t), 0);
	subscribe(S, "s", 0);
	for (uint64_t c = 1; c <= INBOX_REPLAY_MAX; c++)
		assert_int_equal(num(take(S), "cursor"), c);
	expect_sub_ack(S, "s", INBOX_REPLAY_MAX, true);
	/* not subscribed: a new entry does not reach it */
	uint64_t c = store_change(5000, true, CS_OPEN, true);
	committed(c, 5000, IB_CREATED);
	pump();
	assert_int_equal(frames_left(S), 0);
	subscribe(S, "s2", INBOX_REPLAY_MAX);
	for (uint64_t k = INBOX_REPLAY_MAX + 1; k <= N + 1; k++)
		assert_int_equal(num(take(S), "cursor"), k);
	expect_sub_ack(S, "s2", N + 1, false);
}

static void test_notices_and_live_announcements(void **state)
{
	enum { S1 = 1, S2 = 2 };
	/* nobody watching: nothing sent (and nothing leaked) */
	inbox_broadcast(&A, TID, json_pack("{s:s,s:s}", "type", "user.updated", "id", "10"));
	pump();
	assert_int_equal(nouts, 0);
	subscribe(S1, "s1", 0);
	subscribe(S2, "s2", 0);
	expect_sub_ack(S1, "s1", 0, false);
	expect_sub_ack(S2, "s2", 0, false);
	inbox_broadcast(&A, TID, json_pack("{s:s,s:s}", "type", "tenant.updated", "id", "1"));
	pump();
	for (uint32_t s = S1; s <= S2; s++) {
		json_t *v = take(s);
		assert_string_equal(str(v, "type"), "tenant.updated");
		assert_null(json_object_get(v, "cursor"));
	}
	/* a new message: announced live, without a cursor */
	inbox_msg *m = inbox_msg_new(IM_LIVE);
	m->conv = conv_rec(100, CS_OPEN, 7);
	strcpy(m->conv.lm_text, "hello there");
	m->seq = 7;
	m->sender_type = ST_VISITOR;
	inbox_send(&A, TID, m);
	pump();
	for (uint32_t s = S1; s <= S2; s++) {
		json_t *v = take(s);
		assert_string_equal(str(v, "type"), "inbox");
		assert_string_equal(str(v, "event"), "conversation.message");
		assert_string_equal(str(v, "conversation_id"), "100");
		assert_int_equal(num(v, "seq"), 7);
		assert_string_equal(str(v, "preview"), "hello there");
		assert_string_equal(str(v, "sender_type"), "visitor");
		assert_null(json_object_get(v, "cursor"));
	}
	assert_int_equal(frames_left(S1) + frames_left(S2), 0);
}

static void test_unsubscribe_stops_delivery(void **state)
{
	enum { S1 = 1, S2 = 2, S3 = 3 };
	subscribe(S1, "s1", 0);
	subscribe(S2, "s2", 0);
	subscribe(S3, "s3", 0);
	for (uint32_t s = S1; s <= S3; s++)
		take(s);
	unsubscribe(S2);
	unsubscribe(S2);                               /* twice: harmless */
	committed(store_change(100, true, CS_OPEN, true), 100, IB_CREATED);
	inbox_broadcast(&A, TID, json_pack("{s:s}", "type", "user.updated"));
	pump();
	expect_entry(S1, 1, "conversation.created");
	expect_entry(S3, 1, "conversation.created");
	assert_string_equal(str(take(S1), "type"), "user.updated");
	assert_string_equal(str(take(S3), "type"), "user.updated");
	assert_int_equal(frames_left(S2), 0);
	unsubscribe(S1);
	unsubscribe(S3);
	committed(store_change(101, true, CS_OPEN, true), 101, IB_CREATED);
	inbox_broadcast(&A, TID, json_pack("{s:s}", "type", "user.updated"));
	pump();
	assert_int_equal(frames_left(S1) + frames_left(S2) + frames_left(S3), 0);
	/* the stream went on: a new subscriber replays both entries */
	subscribe(S2, "again", 0);
	expect_entry(S2, 1, "conversation.created");
	expect_entry(S2, 2, "conversation.created");
	expect_sub_ack(S2, "again", 2, false);
}

/* Agents see the entries of unassigned conversations and of their own, and
 * the entry that takes one out of their scope; live messages are filtered
 * the same way, and replays by the conversation as it is now. */
static void test_agent_scope(void **state)
{
	enum { AN = 1, SU = 2, BO = 3, BO2 = 4 };
	subscribe_as(AN, "a", 0, ROLE_AGENT, ANN);
	subscribe_as(SU, "s", 0, ROLE_SUPERVISOR, SUE);
	subscribe_as(BO, "b", 0, ROLE_AGENT, BOB);
	expect_sub_ack(AN, "a", 0, false);
	expect_sub_ack(SU, "s", 0, false);
	expect_sub_ack(BO, "b", 0, false);
	/* 1: created, unassigned */
	committed(write_conv(100, true, CS_OPEN, KEEP, true), 100, IB_CREATED);
	/* 2: Bob picks it up (Ann sees it leave her scope) */
	committed_from(write_conv(100, false, CS_OPEN, BOB, true), 100, IB_UPDATED, 0);
	/* 3: Bob's conversation changes status */
	committed_from(write_conv(100, false, CS_PENDING, KEEP, true), 100, IB_UPDATED, BOB);
	/* 4: moved to Ann (Bob sees it leave his) */
	committed_from(write_conv(100, false, CS_OPEN, ANN, true), 100, IB_UPDATED, BOB);
	/* 5: another one, unassigned */
	committed(write_conv(101, true, CS_OPEN, KEEP, true), 101, IB_CREATED);
	pump();
	const uint64_t ann_sees[] = { 1, 2, 4, 5 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(num(take(AN), "cursor"), ann_sees[i]);
	for (uint64_t c = 1; c <= 5; c++) {
		assert_int_equal(num(take(SU), "cursor"), c);
		assert_int_equal(num(take(BO), "cursor"), c);
	}
	assert_int_equal(frames_left(AN) + frames_left(SU) + frames_left(BO), 0);

	/* a message in Ann's conversation: Ann and the supervisor, not Bob */
	inbox_msg *m = inbox_msg_new(IM_LIVE);
	store_txn t;
	assert_int_equal(store_read(A.db, &t), 0);
	assert_int_equal(convstore_get(&t, TID, 100, &m->conv), 0);
	store_done(&t);
	m->seq = 5;
	m->sender_type = ST_VISITOR;
	inbox_send(&A, TID, m);
	pump();
	assert_string_equal(str(take(AN), "event"), "conversation.message");
	assert_string_equal(str(take(SU), "event"), "conversation.message");
	assert_int_equal(frames_left(BO), 0);

	/* Bob's second console replays: 100 is Ann's now, so only 101's entry */
	subscribe_as(BO2, "b2", 0, ROLE_AGENT, BOB);
	json_t *v = take(BO2);
	assert_int_equal(num(v, "cursor"), 5);
	assert_string_equal(str(json_object_get(v, "conversation"), "id"), "101");
	expect_sub_ack(BO2, "b2", 5, false);
	/* Ann's, all of them */
	subscribe_as(AN, "a2", 0, ROLE_AGENT, ANN);
	for (uint64_t c = 1; c <= 5; c++)
		assert_int_equal(num(take(AN), "cursor"), c);
	expect_sub_ack(AN, "a2", 5, false);
}

/* A subscribe that cannot be delivered is answered (500) and freed. */
static void test_undeliverable_subscribe_answered(void **state)
{
	enum { S = 1 };
	refuse = true;
	inbox_msg *m = inbox_msg_new(IM_SUBSCRIBE);
	m->conn = ref_of(S);
	reply_begin_ws(&A, &m->reply, m->conn, "x");
	inbox_send(&A, TID, m);
	json_t *v = take(S);
	assert_string_equal(str(v, "type"), "error");
	assert_string_equal(str(v, "id"), "x");
	assert_string_equal(str(json_object_get(v, "error"), "code"), "internal");
	refuse = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_events_published_once_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe_replays_then_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notices_and_live_announcements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsubscribe_stops_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undeliverable_subscribe_answered, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
