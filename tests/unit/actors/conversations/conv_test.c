/* conv_test — the conversation actor (actors/conversations/conv.c) without a
 * server: gap-free seqs, acknowledgement only after the commit, publication
 * in seq order across pipelined writes, client_id dedupe (in flight and
 * stored, across a reload, and of a creation's first message), a failed
 * write failing every later write in flight and leaving no hole (and a
 * write that commits after a failed receipt still published), replay then
 * live on subscribe, notes kept from visitors, typing relayed to everybody
 * but the sender, passivation, the bounded mailbox, and who may assign
 * (an agent who loses sight of a conversation stops hearing of it).
 *
 * conv.c is compiled into this file with its collaborators renamed at the
 * call sites: writer_submit queues the write requests here and the test
 * decides when the writer "commits" them — apply() inside a real LMDB write
 * transaction on a temporary directory, one transaction per batch as
 * storage/writer.c does, then done() in order — or fails them; ws_post
 * (the actor's and kit/reply.c's, compiled in too) records every frame a
 * connection would get; actor_send_force and actor_deliver put messages in
 * a mailbox here that the test hands to the actor's handler one at a time
 * (with the worker's on_idle after the last), on the test thread;
 * inbox_send records what the tenant inbox would hear; registry_retire
 * records that the actor asked to retire; desk_to_dept and desk_to_agent
 * record the routing messages (kit/desk.h) the actor sends.
 * Also: the conversation's side of routing — created waiting and
 * enqueued in its department, CM_ROUTE granted once and answered with
 * DK_ROUTED after the commit (refused at once otherwise), DK_LOAD and
 * DK_DEQUEUE/DK_ENQUEUE on every other change, CM_QUEUE's frame to the
 * visitor and its stored offline flag, and no desk message at all
 * without the desk. The due-time index with the test's own clock: a snooze
 * ends, an auto-close moves on while active and closes once inactive.
 * The visitor's rating: when it is refused, and the one write that stores
 * it (event, record, score). */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define writer_submit fake_writer_submit
#define ws_post fake_ws_post
#define actor_send_force fake_send_force
#define actor_deliver fake_deliver
#define inbox_send fake_inbox_send
#define registry_retire fake_registry_retire
#define desk_to_dept fake_desk_to_dept
#define desk_to_agent fake_desk_to_agent
#define clock_now_ms fake_now_ms

#include <stdint.h>
static int64_t fake_clock = 1796600000000;   /* the test's clock: moved by hand */
int64_t fake_now_ms(void);
int64_t fake_now_ms(void)
{
	return fake_clock;
}

#include "actors/kit/reply.c"
#include "actors/conversations/conv.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "storage/conv_store.h"
#include "storage/db.h"
#include "tests/unit/actors/conversations/posted.h"

enum { TID = 1, VISITOR = 20, ANN = 10, BOB = 12, SUE = 11 };

static app A;
static char dir[64];

/* ---- the mailbox: messages for the actors, run one at a time ------------ */

typedef struct {
	actor *to;
	actor_msg *m;
} mail;

enum { MAXMAIL = 4096 };
static mail box[MAXMAIL];
static int box_head, box_tail;

static int pending_for(actor *a)
{
	int n = 0;
	for (int i = box_head; i < box_tail; i++)
		n += box[i].to == a;
	return n;
}

void fake_send_force(actor *a, actor_msg *m)
{
	assert_true(box_tail < MAXMAIL);
	box[box_tail++] = (mail){ a, m };
}

/* The actors of this test by conversation id. */
enum { MAXACT = 8 };
static struct {
	uint64_t cid;
	actor *a;
} acts[MAXACT];
static int nacts;

static actor *actor_of(uint64_t cid)
{
	for (int i = 0; i < nacts; i++)
		if (acts[i].cid == cid)
			return acts[i].a;
	assert_true(nacts < MAXACT);
	acts[nacts].cid = cid;
	acts[nacts].a = conv_actor_new(&A, TID, cid);
	assert_non_null(acts[nacts].a);
	return acts[nacts++].a;
}

static conv_actor *ca_of(uint64_t cid)
{
	return container_of(actor_of(cid), conv_actor, a);
}

/* As the registry and the runtime would: refused at the mailbox bound
 * unless forced. */
int fake_deliver(struct app *a, actor_addr to, actor_msg *m, bool force)
{
	assert_int_equal(to.kind, AK_CONV);
	assert_int_equal(to.tenant, TID);
	actor *act = actor_of(to.id);
	if (!force && act->limit > 0 && pending_for(act) >= act->limit)
		return ACTOR_EFULL;
	fake_send_force(act, m);
	return ACTOR_OK;
}

static int retire_asks;

bool fake_registry_retire(registry *r, uint64_t tid, uint64_t cid, actor *act)
{
	retire_asks++;
	return false;   /* kept: the test frees its actors */
}

/* Runs every message in the mailbox, in order, as a worker would: the
 * handler, then on_idle when the actor's mailbox is empty. */
static void pump(void)
{
	while (box_head < box_tail) {
		mail x = box[box_head++];
		x.to->handle(x.to, x.m);
		if (pending_for(x.to) == 0 && x.to->on_idle)
			x.to->on_idle(x.to);
	}
}

/* ---- the writer: queued, then committed or failed by the test ----------- */

enum { MAXW = 2048 };
static wr_req *wq[MAXW];
static int wq_head, wq_tail;

void fake_writer_submit(writer *w, wr_req *r)
{
	assert_true(wq_tail < MAXW);
	wq[wq_tail++] = r;
}

static int queued(void)
{
	return wq_tail - wq_head;
}

/* The next n requests as one batch, like storage/writer.c: each applied in
 * one real write transaction, which commits unless one broke it (then every
 * request of the batch gets STORE_EIO); then done() for each, in order. */
static void commit(int n)
{
	assert_true(n > 0 && queued() >= n);
	store_txn t;
	assert_int_equal(store_write(A.db, &t), 0);
	int *rc = calloc((size_t)n, sizeof *rc);
	assert_non_null(rc);
	int i;
	for (i = 0; i < n; i++) {
		wr_req *r = wq[wq_head + i];
		rc[i] = r->apply(r, &t);
		if (rc[i] == STORE_EIO || rc[i] == STORE_EFULL || rc[i] == STORE_ENOMEM)
			break;
	}
	if (i < n) {
		store_done(&t);
		for (i = 0; i < n; i++)
			rc[i] = STORE_EIO;
	} else {
		assert_int_equal(store_commit(&t), 0);
	}
	for (i = 0; i < n; i++) {
		wr_req *r = wq[wq_head++];
		r->done(r, rc[i]);
	}
	free(rc);
}

/* The next request fails without touching storage (an aborted batch). */
static void fail_next(int code)
{
	assert_true(queued() > 0);
	wr_req *r = wq[wq_head++];
	r->done(r, code);
}

/* ---- what connections and the inbox get --------------------------------- */

static void expect_ack(uint32_t slot, const char *id)
{
	json_t *v = take(slot);
	assert_string_equal(str(v, "type"), "ack");
	assert_string_equal(str(v, "id"), id);
}

static void expect_seq_ack(uint32_t slot, const char *id, uint64_t seq, bool dup)
{
	json_t *v = take(slot);
	assert_string_equal(str(v, "type"), "ack");
	assert_string_equal(str(v, "id"), id);
	assert_int_equal(num(v, "seq"), seq);
	assert_true(json_is_boolean(json_object_get(v, "duplicate")));
	assert_int_equal(json_is_true(json_object_get(v, "duplicate")), dup);
}

static void expect_error(uint32_t slot, const char *id, const char *code)
{
	json_t *v = take(slot);
	assert_string_equal(str(v, "type"), "error");
	assert_string_equal(str(v, "id"), id);
	assert_string_equal(str(json_object_get(v, "error"), "code"), code);
}

/* The next frame is event seq of kind. */
static json_t *expect_event(uint32_t slot, uint64_t seq, const char *kind)
{
	json_t *v = take(slot);
	assert_string_equal(str(v, "type"), "event");
	assert_int_equal(num(v, "seq"), seq);
	assert_string_equal(str(v, "kind"), kind);
	return v;
}

typedef struct {
	int type;
	uint64_t cursor, cid, seq;
	uint8_t ib_type;
} inbox_rec;

static inbox_rec inbox_log[4096];
static int ninbox;

void fake_inbox_send(struct app *a, uint64_t tid, inbox_msg *m)
{
	assert_int_equal(tid, TID);
	assert_true(ninbox < 4096);
	inbox_log[ninbox++] = (inbox_rec){ m->hdr.type, m->cursor, m->conv.id, m->seq, m->type };
	rbuf_unref(&m->frame);
	free(m);
}

/* ---- the desk's messages ------------------------------------------------- */

typedef struct {
	bool to_dept;
	uint64_t to;
	desk_msg m;
} desk_rec;

static desk_rec desk_log[256];
static int ndesk, desk_seen;

static int desk_rec_msg(bool dept, uint64_t to, desk_msg *m)
{
	assert_true(ndesk < 256);
	desk_log[ndesk++] = (desk_rec){ dept, to, *m };
	desk_msg_free(m);
	return 0;
}

int fake_desk_to_dept(struct app *a, uint64_t tid, uint64_t dept, desk_msg *m)
{
	assert_int_equal(tid, TID);
	return desk_rec_msg(true, dept, m);
}

int fake_desk_to_agent(struct app *a, uint64_t tid, uint64_t uid, desk_msg *m)
{
	assert_int_equal(tid, TID);
	return desk_rec_msg(false, uid, m);
}

/* The next desk message is of type, to the department (or agent) `to`. */
static desk_msg *expect_desk(int type, bool dept, uint64_t to)
{
	assert_true(desk_seen < ndesk);
	desk_rec *r = &desk_log[desk_seen++];
	assert_int_equal(r->m.hdr.type, type);
	assert_int_equal(r->to_dept, dept);
	assert_int_equal(r->to, to);
	return &r->m;
}

static void expect_no_desk(void)
{
	assert_int_equal(ndesk, desk_seen);
}

/* ---- storage, as stored (storage/conv_store.h) --------------------------- */

static int stored_conv(uint64_t cid, rec_conv *c)
{
	store_txn t;
	assert_int_equal(store_read(A.db, &t), 0);
	int rc = convstore_get(&t, TID, cid, c);
	store_done(&t);
	return rc;
}

static int stored_event(uint64_t cid, uint64_t seq, rec_event *e)
{
	store_txn t;
	assert_int_equal(store_read(A.db, &t), 0);
	int rc = convstore_event(&t, TID, cid, seq, e);
	store_done(&t);
	return rc;
}

typedef struct {
	uint64_t next;       /* the seq expected next */
	bool bad;
} seq_walk;

static bool seq_step(void *arg, uint64_t seq, const rec_event *e)
{
	seq_walk *w = arg;
	if (!e || seq != w->next || e->seq != seq)
		w->bad = true;
	w->next++;
	return !w->bad;
}

/* The conversation's stored last_seq, checked against its events: exactly
 * 1..last_seq, in order, nothing after (no hole, nothing past one). */
static uint64_t stored_last_seq(uint64_t cid)
{
	rec_conv c;
	assert_int_equal(stored_conv(cid, &c), 0);
	store_txn t;
	assert_int_equal(store_read(A.db, &t), 0);
	seq_walk w = { .next = 1 };
	assert_int_equal(convstore_each_event(&t, TID, cid, 0, UINT64_MAX, SIZE_MAX, seq_step, &w), 0);
	store_done(&t);
	assert_false(w.bad);
	assert_int_equal(w.next - 1, c.last_seq);
	return c.last_seq;
}

/* ---- requests ----------------------------------------------------------- */

static principal visitor, ann, bob, sue;

static void principals(void)
{
	visitor = (principal){ .kind = P_VISITOR, .tid = TID, .id = VISITOR };
	strcpy(visitor.name, "Vic");
	ann = (principal){ .kind = P_AGENT, .tid = TID, .id = ANN };
	strcpy(ann.name, "Ann");
	strcpy(ann.role, "agent");
	bob = ann;
	bob.id = BOB;
	strcpy(bob.name, "Bob");
	sue = ann;
	sue.id = SUE;
	strcpy(sue.name, "Sue");
	strcpy(sue.role, "supervisor");
}

static conn_ref ref_of(uint32_t slot)
{
	return (conn_ref){ .loop = 0, .slot = slot, .gen = 1 };
}

static conv_msg *req(int type, const principal *who, uint32_t slot, const char *id)
{
	conv_msg *m = conv_msg_new(type);
	assert_non_null(m);
	m->who = *who;
	m->conn = ref_of(slot);
	m->audience = who->kind == P_VISITOR ? AUD_VISITOR : AUD_AGENT;
	reply_begin_ws(&A, &m->reply, m->conn, id);
	return m;
}

static int deliver(uint64_t cid, conv_msg *m)
{
	return conv_send(&A, TID, cid, m);
}

static void create(uint64_t cid, uint32_t slot, const char *id, const char *text, const char *client_id)
{
	conv_msg *m = req(CM_CREATE, &visitor, slot, id);
	m->visitor.id = VISITOR;
	strcpy(m->visitor.name, "Vic");
	if (text) {
		m->text = strdup(text);
		m->text_len = strlen(text);
		strcpy(m->client_id, client_id);
	}
	assert_int_equal(deliver(cid, m), 0);
}

static int send_msg(uint64_t cid, const principal *who, uint32_t slot, const char *id, const char *client_id,
		    const char *text, bool note)
{
	conv_msg *m = req(CM_SEND, who, slot, id);
	m->text = strdup(text);
	m->text_len = strlen(text);
	strcpy(m->client_id, client_id);
	m->flag = note;
	return deliver(cid, m);
}

static void subscribe(uint64_t cid, const principal *who, uint32_t slot, const char *id, uint64_t after)
{
	conv_msg *m = req(CM_SUBSCRIBE, who, slot, id);
	m->seq = after;
	assert_int_equal(deliver(cid, m), 0);
}

static void unsubscribe(uint64_t cid, uint32_t slot)
{
	conv_msg *m = conv_msg_new(CM_UNSUBSCRIBE);
	m->conn = ref_of(slot);
	assert_int_equal(deliver(cid, m), 0);
}

static void tick(uint64_t cid)
{
	fake_send_force(actor_of(cid), &conv_msg_new(CM_TICK)->hdr);
	pump();
}

/* A stored conversation cid (created by the visitor, no first message). */
static void created(uint64_t cid)
{
	create(cid, 60, "create", NULL, NULL);
	pump();
	commit(1);
	pump();
	expect_ack(60, "create");
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	memset(&A, 0, sizeof A);
	A.cfg.conv_mailbox = 64;
	A.cfg.dedupe_window = 1000;
	strcpy(dir, "/tmp/conv_test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	int err = 0;
	A.db = db_open(dir, &(db_opts){ .no_sync = true, .map_size = 64u << 20 }, &err);
	assert_non_null(A.db);
	A.lists = lc_new(1, 16, 4096);
	assert_non_null(A.lists);
	atomic_store(&A.ready, true);
	principals();
	box_head = box_tail = wq_head = wq_tail = 0;
	nouts = ninbox = nacts = retire_asks = ndesk = desk_seen = 0;
	memset(seen, 0, sizeof seen);
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	/* whatever is still in flight fails, so every op is freed */
	while (queued())
		fail_next(STORE_EIO);
	pump();
	/* every request begun was answered exactly once */
	int unanswered = (int)atomic_load(&A.inflight);
	for (int i = 0; i < nacts; i++)
		conv_actor_free(acts[i].a);
	forget_frames();
	lc_free(&A.lists);
	db_close(&A.db);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(unanswered, 0);
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_create_then_send_gap_free(void **state)
{
	enum { CID = 100 };
	create(CID, 1, "c", NULL, NULL);
	pump();
	assert_int_equal(queued(), 1);
	assert_int_equal(frames_left(1), 0);          /* not before the commit */
	assert_int_equal(stored_conv(CID, &(rec_conv){ 0 }), STORE_ENOTFOUND);
	commit(1);
	assert_int_equal(frames_left(1), 0);          /* committed, result not yet handled */
	pump();
	json_t *ack = take(1);
	assert_string_equal(str(ack, "type"), "ack");
	assert_string_equal(str(ack, "id"), "c");
	assert_string_equal(str(ack, "status"), "waiting");
	assert_int_equal(stored_last_seq(CID), 1);
	assert_true(lc_mark(A.lists, TID) > 0);       /* cached lists of the tenant invalidated */
	/* the inbox heard of it, with the cursor of the transaction */
	assert_int_equal(ninbox, 1);
	assert_int_equal(inbox_log[0].type, IM_EVENT);
	assert_int_equal(inbox_log[0].cursor, 1);
	assert_int_equal(inbox_log[0].ib_type, IB_CREATED);

	const char *ids[] = { "m1", "m2", "m3" }, *cids[] = { "k1", "k2", "k3" };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(send_msg(CID, &visitor, 1, ids[i], cids[i], "hello", false), 0);
		pump();
		assert_int_equal(frames_left(1), 0);
		commit(1);
		pump();
		expect_seq_ack(1, ids[i], (uint64_t)i + 2, false);
		assert_int_equal(stored_last_seq(CID), (uint64_t)i + 2);
		/* a live, uncursored inbox notice for each message */
		assert_int_equal(inbox_log[ninbox - 1].type, IM_LIVE);
		assert_int_equal(inbox_log[ninbox - 1].seq, (uint64_t)i + 2);
	}
	rec_event e;
	for (uint64_t s = 2; s <= 4; s++) {
		assert_int_equal(stored_event(CID, s, &e), 0);
		assert_int_equal(e.kind, EK_MESSAGE);
		assert_string_equal(e.client_id, cids[s - 2]);
		assert_int_equal(e.sender_id, VISITOR);
	}
	assert_int_equal(atomic_load(&A.msgs_stored), 3);
}

static void test_pipelined_commits_publish_in_order(void **state)
{
	enum { CID = 101, V = 1, AG = 2, VS = 3 };
	created(CID);
	subscribe(CID, &ann, AG, "sa", 0);
	subscribe(CID, &visitor, VS, "sv", 0);
	pump();
	expect_event(AG, 1, "created");
	expect_ack(AG, "sa");
	expect_event(VS, 1, "created");
	expect_ack(VS, "sv");

	assert_int_equal(send_msg(CID, &visitor, V, "m1", "k1", "one", false), 0);
	assert_int_equal(send_msg(CID, &ann, AG, "m2", "k2", "two", false), 0);
	assert_int_equal(send_msg(CID, &visitor, V, "m3", "k3", "three", false), 0);
	pump();
	assert_int_equal(queued(), 3);                /* pipelined: all three submitted */
	assert_int_equal(frames_left(V) + frames_left(AG) + frames_left(VS), 0);
	assert_int_equal(stored_last_seq(CID), 1);

	/* the first two commit in one batch: nothing published until the
	 * actor handles the results, then both in seq order */
	commit(2);
	assert_int_equal(frames_left(V) + frames_left(AG) + frames_left(VS), 0);
	pump();
	expect_event(VS, 2, "message");
	expect_event(VS, 3, "message");
	assert_int_equal(frames_left(VS), 0);
	/* Ann, who sent m2, gets both events, then her ack */
	expect_event(AG, 2, "message");
	expect_event(AG, 3, "message");
	expect_seq_ack(AG, "m2", 3, false);
	expect_seq_ack(V, "m1", 2, false);
	assert_int_equal(frames_left(V), 0);   /* m3 not acknowledged yet */
	assert_int_equal(stored_last_seq(CID), 3);

	commit(1);
	pump();
	expect_event(VS, 4, "message");
	expect_event(AG, 4, "message");
	expect_seq_ack(V, "m3", 4, false);
	assert_int_equal(ca_of(CID)->published, 4);
}

static void test_duplicate_in_flight(void **state)
{
	enum { CID = 102, V = 1, V2 = 2 };
	created(CID);
	assert_int_equal(send_msg(CID, &visitor, V, "s1", "same", "hi", false), 0);
	pump();
	/* the resend (say after a reconnect) while the original is in flight */
	assert_int_equal(send_msg(CID, &visitor, V2, "s2", "same", "hi", false), 0);
	pump();
	assert_int_equal(queued(), 1);                /* nothing new submitted */
	assert_int_equal(frames_left(V) + frames_left(V2), 0);
	commit(1);
	pump();
	expect_seq_ack(V, "s1", 2, false);
	expect_seq_ack(V2, "s2", 2, true);
	assert_int_equal(stored_last_seq(CID), 2);
	/* once stored, a resend is found through the client-id set */
	assert_int_equal(send_msg(CID, &visitor, V2, "s3", "same", "hi", false), 0);
	pump();
	assert_int_equal(queued(), 0);
	expect_seq_ack(V2, "s3", 2, true);
	assert_int_equal(atomic_load(&A.msgs_duplicate), 1);
}

/* A fresh actor (the old one retired) rebuilds its client-id set from
 * LMDB: the last dedupe_window messages are recognised, older ones are
 * stored again (docs/realtime.md). */
static void test_duplicate_after_reload(void **state)
{
	enum { CID = 103, V = 1 };
	A.cfg.dedupe_window = 2;
	created(CID);
	const char *cids[] = { "k1", "k2", "k3" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_msg(CID, &visitor, V, "m", cids[i], "x", false), 0);
	pump();
	commit(3);
	pump();
	for (int i = 0; i < 3; i++)
		expect_seq_ack(V, "m", (uint64_t)i + 2, false);

	/* retire the actor; the next message activates a fresh one */
	assert_int_equal(nacts, 1);
	conv_actor_free(acts[0].a);
	nacts = 0;
	assert_int_equal(send_msg(CID, &visitor, V, "r3", "k3", "x", false), 0);
	assert_int_equal(send_msg(CID, &visitor, V, "r2", "k2", "x", false), 0);
	pump();
	assert_int_equal(ca_of(CID)->loaded, 1);
	assert_int_equal(queued(), 0);
	expect_seq_ack(V, "r3", 4, true);
	expect_seq_ack(V, "r2", 3, true);
	/* k1 is older than the window: stored again, as a new message */
	assert_int_equal(send_msg(CID, &visitor, V, "r1", "k1", "x", false), 0);
	pump();
	assert_int_equal(queued(), 1);
	commit(1);
	pump();
	expect_seq_ack(V, "r1", 5, false);
	assert_int_equal(stored_last_seq(CID), 5);
}

/* A write that fails fails every later write of the conversation in flight
 * (their seqs follow the hole); nothing after the hole is stored, the actor
 * reloads, and the retries get the seqs again. */
static void test_failed_write_fails_later_ones(void **state)
{
	enum { CID = 104, V = 1, AG = 2, D = 3 };
	created(CID);
	subscribe(CID, &ann, AG, "sa", 1);
	pump();
	expect_ack(AG, "sa");
	assert_int_equal(send_msg(CID, &visitor, V, "a", "ka", "A", false), 0);
	assert_int_equal(send_msg(CID, &visitor, D, "a2", "ka", "A", false), 0);   /* dup of a in flight */
	assert_int_equal(send_msg(CID, &visitor, V, "b", "kb", "B", false), 0);
	assert_int_equal(send_msg(CID, &ann, AG, "c", "kc", "C", true), 0);
	/* a receipt that changes nothing waits for the writes in flight */
	conv_msg *r = req(CM_RECEIPT, &visitor, V, "rc");
	r->seq = 0;
	r->flag = false;
	assert_int_equal(deliver(CID, r), 0);
	pump();
	assert_int_equal(queued(), 3);
	assert_int_equal(ca_of(CID)->rec.last_seq, 4);

	fail_next(STORE_EIO);    /* a: seq 2 */
	commit(2);               /* b and c, applied for real: refused by the seq check */
	assert_int_equal(stored_last_seq(CID), 1);
	pump();
	expect_error(V, "a", "internal");
	expect_error(D, "a2", "internal");
	expect_error(V, "b", "conflict");
	expect_error(V, "rc", "conflict");
	expect_error(AG, "c", "conflict");
	assert_int_equal(frames_left(AG) + frames_left(V) + frames_left(D), 0);   /* nothing published */
	assert_int_equal(ninbox, 1);                  /* only the creation's entry */
	/* reloaded from LMDB */
	conv_actor *ca = ca_of(CID);
	assert_false(ca->stale);
	assert_int_equal(ca->inflight, 0);
	assert_int_equal(ca->rec.last_seq, 1);
	assert_int_equal(ca->published, 1);

	/* the retries are stored without a gap, and published */
	assert_int_equal(send_msg(CID, &visitor, V, "a", "ka", "A", false), 0);
	assert_int_equal(send_msg(CID, &visitor, V, "b", "kb", "B", false), 0);
	pump();
	commit(2);
	pump();
	expect_event(AG, 2, "message");
	expect_event(AG, 3, "message");
	expect_seq_ack(V, "a", 2, false);
	expect_seq_ack(V, "b", 3, false);
	assert_int_equal(stored_last_seq(CID), 3);
}

/* A failed write that adds no event (a receipt) leaves the seq check of
 * the next write satisfied: that write commits. A committed write is
 * durable, so it must be acknowledged and published like any other. */
static void test_commit_after_failed_receipt(void **state)
{
	enum { CID = 105, V = 1, AG = 2 };
	created(CID);
	assert_int_equal(send_msg(CID, &visitor, V, "m1", "k1", "hello", false), 0);
	pump();
	commit(1);
	pump();
	expect_seq_ack(V, "m1", 2, false);
	subscribe(CID, &ann, AG, "sa", 2);
	pump();
	expect_ack(AG, "sa");

	conv_msg *r = req(CM_RECEIPT, &ann, AG, "rd");
	r->seq = 2;
	r->flag = true;
	assert_int_equal(deliver(CID, r), 0);
	assert_int_equal(send_msg(CID, &visitor, V, "m2", "k2", "again", false), 0);
	pump();
	assert_int_equal(queued(), 2);
	fail_next(STORE_EIO);    /* the receipt */
	commit(1);               /* the message: stored (its seq follows the stored one) */
	assert_int_equal(stored_last_seq(CID), 3);
	pump();
	expect_error(AG, "rd", "internal");
	expect_event(AG, 3, "message");
	expect_seq_ack(V, "m2", 3, false);
	assert_int_equal(ca_of(CID)->published, 3);
	/* and the conversation goes on without a gap for its subscribers */
	assert_int_equal(send_msg(CID, &visitor, V, "m3", "k3", "more", false), 0);
	pump();
	commit(1);
	pump();
	expect_event(AG, 4, "message");
	expect_seq_ack(V, "m3", 4, false);
}

static void test_subscribe_replays_then_live(void **state)
{
	enum { CID = 106, V = 1, AG = 2, VS = 3, AG2 = 4 };
	created(CID);
	assert_int_equal(send_msg(CID, &visitor, V, "m", "k2", "two", false), 0);
	assert_int_equal(send_msg(CID, &ann, AG, "m", "k3", "three", false), 0);
	assert_int_equal(send_msg(CID, &ann, AG, "n", "k4", "a note", true), 0);   /* seq 4: a note */
	assert_int_equal(send_msg(CID, &visitor, V, "m", "k5", "five", false), 0);
	pump();
	commit(4);
	pump();
	forget_frames();   /* the acks are not what this test is about */

	/* the visitor resumes after seq 2: 3 and 5, not the note */
	subscribe(CID, &visitor, VS, "sv", 2);
	pump();
	expect_event(VS, 3, "message");
	expect_event(VS, 5, "message");
	json_t *ack = take(VS);
	assert_string_equal(str(ack, "type"), "ack");
	assert_int_equal(num(ack, "last_seq"), 5);
	assert_false(json_is_true(json_object_get(ack, "more")));
	/* an agent from the start: all of them, the note included */
	subscribe(CID, &ann, AG, "sa", 0);
	pump();
	for (uint64_t s = 1; s <= 5; s++)
		expect_event(AG, s, s == 1 ? "created" : s == 4 ? "note" : "message");
	ack = take(AG);
	assert_int_equal(num(ack, "last_seq"), 5);

	/* a write committed whose result the actor has not handled yet: a
	 * subscribe handled before it replays up to what was published (5),
	 * and seq 6 then arrives live, once */
	assert_int_equal(send_msg(CID, &visitor, V, "m6", "k6", "six", false), 0);
	pump();
	subscribe(CID, &bob, AG2, "sb", 0);
	commit(1);                                    /* mailbox: subscribe, then the commit */
	assert_int_equal(stored_last_seq(CID), 6);
	pump();
	for (uint64_t s = 1; s <= 5; s++)
		expect_event(AG2, s, s == 1 ? "created" : s == 4 ? "note" : "message");
	ack = take(AG2);
	assert_int_equal(num(ack, "last_seq"), 5);
	expect_event(AG2, 6, "message");
	assert_int_equal(frames_left(AG2), 0);
	expect_event(VS, 6, "message");
	expect_event(AG, 6, "message");

	/* live: a note reaches agents, never the visitor */
	assert_int_equal(send_msg(CID, &bob, AG2, "n7", "k7", "psst", true), 0);
	assert_int_equal(send_msg(CID, &ann, AG, "m8", "k8", "eight", false), 0);
	pump();
	commit(2);
	pump();
	expect_event(AG, 7, "note");
	expect_event(AG, 8, "message");
	expect_seq_ack(AG, "m8", 8, false);
	expect_event(AG2, 7, "note");
	expect_seq_ack(AG2, "n7", 7, false);
	expect_event(AG2, 8, "message");
	expect_event(VS, 8, "message");
	assert_int_equal(frames_left(VS), 0);
	for (int i = 0; i < nouts; i++)
		if (outs[i].slot == VS)
			assert_string_not_equal(str(outs[i].v, "kind") ? str(outs[i].v, "kind") : "", "note");

	/* after unsubscribing, nothing more */
	unsubscribe(CID, VS);
	assert_int_equal(send_msg(CID, &visitor, V, "m9", "k9", "nine", false), 0);
	pump();
	commit(1);
	pump();
	assert_int_equal(frames_left(VS), 0);
	expect_event(AG, 9, "message");

	/* an unknown conversation */
	subscribe(999, &ann, AG, "nf", 0);
	pump();
	expect_error(AG, "nf", "not_found");
}

/* More than CONV_REPLAY_MAX missing: that many replayed, "more", not subscribed. */
static void test_subscribe_more(void **state)
{
	enum { CID = 107, V = 1, AG = 2 };
	created(CID);
	char cid[32];
	for (int i = 0; i < CONV_REPLAY_MAX + 5; i++) {
		snprintf(cid, sizeof cid, "k%d", i);
		assert_int_equal(send_msg(CID, &visitor, V, "m", cid, "x", false), 0);
		pump();   /* within the mailbox bound */
	}
	commit(CONV_REPLAY_MAX + 5);
	pump();
	subscribe(CID, &ann, AG, "s", 0);
	pump();
	for (uint64_t s = 1; s <= CONV_REPLAY_MAX; s++)
		assert_int_equal(num(take(AG), "seq"), s);
	json_t *ack = take(AG);
	assert_string_equal(str(ack, "type"), "ack");
	assert_int_equal(num(ack, "last_seq"), CONV_REPLAY_MAX);
	assert_true(json_is_true(json_object_get(ack, "more")));
	assert_int_equal(ca_of(CID)->nsubs, 0);
	subscribe(CID, &ann, AG, "s2", CONV_REPLAY_MAX);
	pump();
	for (uint64_t s = CONV_REPLAY_MAX + 1; s <= CONV_REPLAY_MAX + 6; s++)
		assert_int_equal(num(take(AG), "seq"), s);
	ack = take(AG);
	assert_int_equal(num(ack, "last_seq"), CONV_REPLAY_MAX + 6);
	assert_false(json_is_true(json_object_get(ack, "more")));
	assert_int_equal(ca_of(CID)->nsubs, 1);
}

static void test_typing_relayed_to_others(void **state)
{
	enum { CID = 108, VS = 1, ANN1 = 2, ANN2 = 3, BOBS = 4 };
	created(CID);
	subscribe(CID, &visitor, VS, "s", 1);
	subscribe(CID, &ann, ANN1, "s", 1);
	subscribe(CID, &ann, ANN2, "s", 1);           /* Ann's second tab */
	subscribe(CID, &bob, BOBS, "s", 1);
	pump();
	for (uint32_t s = VS; s <= BOBS; s++)
		expect_ack(s, "s");

	conv_msg *m = req(CM_TYPING, &ann, ANN1, "t1");
	m->flag = true;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	json_t *v = take(VS);
	assert_string_equal(str(v, "type"), "typing");
	assert_true(json_is_true(json_object_get(v, "state")));
	assert_string_equal(str(json_object_get(v, "sender"), "type"), "agent");
	assert_string_equal(str(json_object_get(v, "sender"), "name"), "Ann");
	assert_string_equal(str(take(BOBS), "type"), "typing");
	expect_ack(ANN1, "t1");
	assert_int_equal(frames_left(ANN1) + frames_left(ANN2), 0);   /* not to Ann herself */

	m = req(CM_TYPING, &visitor, VS, "t2");
	m->flag = false;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	for (uint32_t s = ANN1; s <= BOBS; s++) {
		v = take(s);
		assert_string_equal(str(v, "type"), "typing");
		assert_false(json_is_true(json_object_get(v, "state")));
		assert_string_equal(str(json_object_get(v, "sender"), "type"), "visitor");
	}
	expect_ack(VS, "t2");
	assert_int_equal(frames_left(VS), 0);
	assert_int_equal(queued(), 0);                /* not stored */
}

static void test_passivation(void **state)
{
	enum { CID = 109, V = 1, AG = 2 };
	created(CID);
	conv_actor *ca = ca_of(CID);
	retire_asks = 0;
	tick(CID);
	assert_false(atomic_load(&ca->retirable));
	assert_int_equal(retire_asks, 0);
	tick(CID);
	assert_true(atomic_load(&ca->retirable));
	assert_int_equal(retire_asks, 1);              /* on_idle asked the registry */

	/* a write in flight keeps it */
	retire_asks = 0;
	assert_int_equal(send_msg(CID, &visitor, V, "m", "k", "x", false), 0);
	pump();
	assert_false(atomic_load(&ca->retirable));
	tick(CID);
	tick(CID);
	tick(CID);
	assert_false(atomic_load(&ca->retirable));
	assert_int_equal(retire_asks, 0);
	commit(1);
	pump();
	expect_seq_ack(V, "m", 2, false);
	assert_false(atomic_load(&ca->retirable));     /* the commit counts as activity */
	tick(CID);
	assert_false(atomic_load(&ca->retirable));
	tick(CID);
	assert_true(atomic_load(&ca->retirable));

	/* a subscriber keeps it */
	subscribe(CID, &ann, AG, "s", 2);
	pump();
	assert_false(atomic_load(&ca->retirable));
	retire_asks = 0;
	for (int i = 0; i < 4; i++)
		tick(CID);
	assert_false(atomic_load(&ca->retirable));
	assert_int_equal(retire_asks, 0);
	unsubscribe(CID, AG);
	pump();
	assert_false(atomic_load(&ca->retirable));
	tick(CID);
	tick(CID);
	assert_true(atomic_load(&ca->retirable));
	assert_int_equal(retire_asks, 1);
}

/* conv_send answers "busy" when the actor's mailbox is at its bound (the
 * client retries with the same client_id); unsubscribes are never refused. */
static void test_mailbox_busy(void **state)
{
	enum { CID = 110, V = 1, W = 2 };
	A.cfg.conv_mailbox = 2;
	created(CID);
	assert_int_equal(send_msg(CID, &visitor, V, "m1", "k1", "x", false), 0);
	assert_int_equal(send_msg(CID, &visitor, V, "m2", "k2", "x", false), 0);
	assert_int_equal(send_msg(CID, &visitor, W, "m3", "k3", "x", false), -1);
	expect_error(W, "m3", "busy");
	unsubscribe(CID, V);                          /* forced: taken beyond the bound */
	assert_int_equal(pending_for(actor_of(CID)), 3);
	pump();
	commit(2);
	pump();
	expect_seq_ack(V, "m1", 2, false);
	expect_seq_ack(V, "m2", 3, false);
	/* the retry goes through */
	assert_int_equal(send_msg(CID, &visitor, W, "m3", "k3", "x", false), 0);
	pump();
	commit(1);
	pump();
	expect_seq_ack(W, "m3", 4, false);
}

static void assign(uint64_t cid, const principal *who, uint32_t slot, const char *id, uint64_t target,
		   const char *name)
{
	conv_msg *m = req(CM_ASSIGN, who, slot, id);
	m->target = target;
	strcpy(m->target_name, name);
	assert_int_equal(deliver(cid, m), 0);
	pump();
}

static void test_assign_permissions(void **state)
{
	enum { CID = 111, AS = 1, BS = 2, SS = 3, BSUB = 4 };
	created(CID);
	subscribe(CID, &bob, BSUB, "sub", 1);         /* Bob watches while it is unassigned */
	pump();
	expect_ack(BSUB, "sub");
	/* an agent may not assign someone else */
	assign(CID, &bob, BS, "x1", ANN, "Ann");
	expect_error(BS, "x1", "forbidden");
	assert_int_equal(queued(), 0);
	/* an agent picks up an unassigned conversation for themselves */
	assign(CID, &ann, AS, "p1", ANN, "Ann");
	assert_int_equal(queued(), 1);
	/* a second agent picking it up while that is in flight loses: the
	 * conversation is no longer theirs to see */
	assign(CID, &bob, BS, "p2", BOB, "Bob");
	expect_error(BS, "p2", "not_found");
	assert_int_equal(queued(), 1);
	commit(1);
	pump();
	json_t *ack = take(AS);
	assert_string_equal(str(ack, "id"), "p1");
	assert_string_equal(str(json_object_get(ack, "assignee"), "id"), "10");
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.assignee_id, ANN);
	rec_event e;
	assert_int_equal(stored_event(CID, 2, &e), 0);
	assert_int_equal(e.kind, EK_ASSIGNED);
	/* Bob saw it go to Ann, and hears no more of it */
	expect_event(BSUB, 2, "assigned");
	assert_int_equal(ca_of(CID)->nsubs, 0);
	/* nor may he act on it any more (his session's access check is stale) */
	conv_msg *t = req(CM_TYPING, &bob, BS, "t");
	t->flag = true;
	assert_int_equal(deliver(CID, t), 0);
	pump();
	expect_error(BS, "t", "not_found");
	/* Bob cannot take Ann's conversation */
	assign(CID, &bob, BS, "p3", BOB, "Bob");
	expect_error(BS, "p3", "not_found");
	/* a supervisor can move it */
	assign(CID, &sue, SS, "p4", BOB, "Bob");
	commit(1);
	pump();
	ack = take(SS);
	assert_string_equal(str(ack, "id"), "p4");
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.assignee_id, BOB);
	/* Ann no longer may hand it back; Bob may */
	assign(CID, &ann, AS, "p5", 0, "");
	expect_error(AS, "p5", "not_found");
	assign(CID, &bob, BS, "p6", 0, "");
	commit(1);
	pump();
	assert_string_equal(str(take(BS), "id"), "p6");
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.assignee_id, 0);
	assert_int_equal(stored_last_seq(CID), 4);
	assert_int_equal(queued(), 0);
	assert_int_equal(frames_left(BSUB), 0);
	/* each assignment told the inbox, with increasing cursors */
	int n = 0;
	uint64_t last = 0;
	for (int i = 0; i < ninbox; i++)
		if (inbox_log[i].type == IM_EVENT) {
			assert_true(inbox_log[i].cursor > last);
			last = inbox_log[i].cursor;
			n++;
		}
	assert_int_equal(n, 4);   /* created + three assignments */
}

/* ---- the desk ------------------------------------------------------------ */

enum { DEPT = 7, OTHER_DEPT = 8 };

/* Stores the encoded value b at key k of table tb, and frees b. */
static void store_raw(enum db_table tb, const uint8_t *k, size_t kl, buf *b)
{
	store_txn t;
	assert_int_equal(store_write(A.db, &t), 0);
	assert_int_equal(db_put(A.db, t.txn, tb, k, kl, b->data, b->len), 0);
	assert_int_equal(store_commit(&t), 0);
	buf_free(b);
}

/* Turns the desk on (a registry to find) and stores the tenant's default
 * department. */
static void desk_setup(void)
{
	A.actors[AK_DEPT] = (registry *)&A;   /* never used: the sends are faked */
	rec_dept d = { .tid = TID, .id = DEPT, .active = true, .is_default = true };
	strcpy(d.name, "General");
	buf b = { 0 };
	assert_int_equal(rec_dept_encode(&d, &b), 0);
	uint8_t k[16];
	store_raw(DB_DEPTS, k, rec_key2(k, TID, DEPT), &b);
}

static void route(uint64_t cid, uint64_t uid, uint64_t dept)
{
	conv_msg *m = conv_msg_new(CM_ROUTE);
	m->target = uid;
	m->dept = dept;
	assert_int_equal(deliver(cid, m), 0);
	pump();
}

/* A new conversation waits in the default department, enqueued there once
 * its creation is durable. */
static void test_create_enqueues(void **state)
{
	enum { CID = 120 };
	desk_setup();
	create(CID, 1, "c", NULL, NULL);
	pump();
	expect_no_desk();                              /* not before the commit */
	commit(1);
	pump();
	json_t *ack = take(1);
	assert_string_equal(str(ack, "status"), "waiting");
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.status, CS_WAITING);
	assert_int_equal(c.dept_id, DEPT);
	assert_true(c.waiting_since_ms > 0);
	desk_msg *d = expect_desk(DK_ENQUEUE, true, DEPT);
	assert_int_equal(d->cid, CID);
	assert_int_equal(d->priority, CP_MEDIUM);
	assert_int_equal(d->since_ms, c.waiting_since_ms);
	expect_no_desk();
	/* a chosen department is kept */
	create(CID + 1, 1, "c2", NULL, NULL);
	conv_msg *m = req(CM_CREATE, &visitor, 2, "c3");
	m->visitor.id = VISITOR;
	m->dept = OTHER_DEPT;
	assert_int_equal(deliver(CID + 2, m), 0);
	pump();
	commit(2);
	pump();
	take(1);
	take(2);
	expect_desk(DK_ENQUEUE, true, DEPT);
	expect_desk(DK_ENQUEUE, true, OTHER_DEPT);
	expect_no_desk();
}

/* CM_ROUTE: granted once, durable before DK_ROUTED(ok); every other ask
 * refused at once; a failed write refused too. */
static void test_route(void **state)
{
	enum { CID = 121, VSUB = 5 };
	desk_setup();
	created(CID);
	expect_desk(DK_ENQUEUE, true, DEPT);
	subscribe(CID, &visitor, VSUB, "s", 1);
	pump();
	expect_ack(VSUB, "s");
	/* the visitor subscribed while it waits: its department is asked to
	 * tell it its place again (a re-enqueue) */
	expect_desk(DK_ENQUEUE, true, DEPT);
	route(CID, BOB, OTHER_DEPT);                  /* not its department */
	desk_msg *d = expect_desk(DK_ROUTED, false, BOB);
	assert_false(d->ok);
	assert_int_equal(queued(), 0);
	route(CID, BOB, DEPT);
	assert_int_equal(queued(), 1);
	expect_no_desk();                              /* not before the commit */
	route(CID, ANN, DEPT);                         /* the first one in flight wins */
	d = expect_desk(DK_ROUTED, false, ANN);
	assert_false(d->ok);
	commit(1);
	pump();
	d = expect_desk(DK_ROUTED, false, BOB);
	assert_true(d->ok);
	assert_int_equal(d->cid, CID);
	assert_int_equal(d->dept, DEPT);
	expect_no_desk();                              /* no DK_LOAD, no DK_DEQUEUE */
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.status, CS_OPEN);
	assert_int_equal(c.assignee_id, BOB);
	assert_true(c.assigned_ms > 0);
	assert_int_equal(c.waiting_since_ms, 0);
	rec_event e;
	assert_int_equal(stored_event(CID, 2, &e), 0);
	assert_int_equal(e.kind, EK_ASSIGNED);
	assert_int_equal(e.sender_type, ST_SYSTEM);
	assert_int_equal(e.assignee_id, BOB);
	expect_event(VSUB, 2, "assigned");
	/* assigned now: refused */
	route(CID, ANN, DEPT);
	assert_false(expect_desk(DK_ROUTED, false, ANN)->ok);
	/* a conversation that does not exist: refused */
	route(CID + 50, ANN, DEPT);
	assert_false(expect_desk(DK_ROUTED, false, ANN)->ok);
	/* a failed write: refused after it */
	created(CID + 1);
	expect_desk(DK_ENQUEUE, true, DEPT);
	route(CID + 1, ANN, DEPT);
	fail_next(STORE_EIO);
	pump();
	assert_false(expect_desk(DK_ROUTED, false, ANN)->ok);
	expect_no_desk();
}

/* Every other change of assignee or of counting tells the agents; leaving
 * and entering the queue tells the department. */
static void test_load_and_queue(void **state)
{
	enum { CID = 122, S = 1 };
	desk_setup();
	created(CID);
	expect_desk(DK_ENQUEUE, true, DEPT);
	/* assigned by hand: out of the queue, +1 */
	assign(CID, &sue, S, "a1", ANN, "Ann");
	commit(1);
	pump();
	take(S);
	expect_desk(DK_LOAD, false, ANN);
	assert_int_equal(desk_log[desk_seen - 1].m.delta, 1);
	expect_desk(DK_DEQUEUE, true, DEPT);
	/* moved to Bob: -1 Ann, +1 Bob */
	assign(CID, &sue, S, "a2", BOB, "Bob");
	commit(1);
	pump();
	take(S);
	assert_int_equal(expect_desk(DK_LOAD, false, ANN)->delta, -1);
	assert_int_equal(expect_desk(DK_LOAD, false, BOB)->delta, 1);
	/* resolved: -1 */
	conv_msg *m = req(CM_STATUS, &bob, S, "st");
	m->status = CS_RESOLVED;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	commit(1);
	pump();
	take(S);
	assert_int_equal(expect_desk(DK_LOAD, false, BOB)->delta, -1);
	expect_no_desk();
	/* the visitor writes again: reopened, Bob's again */
	assert_int_equal(send_msg(CID, &visitor, 2, "v1", "v1", "again", false), 0);
	pump();
	commit(1);
	pump();
	take(2);
	assert_int_equal(expect_desk(DK_LOAD, false, BOB)->delta, 1);
	expect_no_desk();
	/* handed back: -1, queued again */
	assign(CID, &bob, S, "a3", 0, "");
	commit(1);
	pump();
	assert_string_equal(str(take(S), "status"), "waiting");
	assert_int_equal(expect_desk(DK_LOAD, false, BOB)->delta, -1);
	desk_msg *d = expect_desk(DK_ENQUEUE, true, DEPT);
	assert_true(d->since_ms > 0);
	/* closed while waiting: dequeued */
	m = req(CM_STATUS, &sue, S, "st2");
	m->status = CS_CLOSED;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	commit(1);
	pump();
	take(S);
	expect_desk(DK_DEQUEUE, true, DEPT);
	/* the visitor writes again, nobody has it: waiting, enqueued */
	assert_int_equal(send_msg(CID, &visitor, 2, "v2", "v2", "hello?", false), 0);
	pump();
	commit(1);
	pump();
	take(2);
	expect_desk(DK_ENQUEUE, true, DEPT);
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.status, CS_WAITING);
	expect_no_desk();
}

/* A new priority while waiting enqueues again (the queue reorders); a
 * snooze in the past and waiting asked for are refused. */
static void test_priority_requeues(void **state)
{
	enum { CID = 125, S = 1 };
	desk_setup();
	created(CID);
	expect_desk(DK_ENQUEUE, true, DEPT);
	conv_msg *m = req(CM_STATUS, &sue, S, "p");
	m->priority = CP_URGENT;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	commit(1);
	pump();
	assert_string_equal(str(take(S), "priority"), "urgent");
	assert_int_equal(expect_desk(DK_ENQUEUE, true, DEPT)->priority, CP_URGENT);
	rec_event e;
	assert_int_equal(stored_event(CID, 2, &e), 0);
	assert_int_equal(e.kind, EK_PRIORITY);
	assert_int_equal(e.priority, CP_URGENT);
	m = req(CM_STATUS, &sue, S, "w");
	m->status = CS_WAITING;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	expect_error(S, "w", "invalid_status");
	m = req(CM_STATUS, &sue, S, "z");
	m->status = CS_SNOOZED;
	m->until_ms = clock_now_ms() - 1000;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	expect_error(S, "z", "snooze_in_past");
	assert_int_equal(queued(), 0);
	expect_no_desk();
}

static void xfer(uint64_t cid, const principal *who, uint32_t slot, const char *id, uint64_t to, const char *name,
		 uint64_t dept, const char *dept_name)
{
	conv_msg *m = req(CM_TRANSFER, who, slot, id);
	m->target = to;
	strcpy(m->target_name, name);
	m->dept = dept;
	strcpy(m->dept_name, dept_name);
	m->text = strdup("because");
	m->text_len = 7;
	assert_int_equal(deliver(cid, m), 0);
	pump();
}

/* A transfer: the previous agent hears it and then no more; the loads and
 * queues follow; the visitor reads a system message. */
static void test_transfer(void **state)
{
	enum { CID = 128, S = 1, ASUB = 2, VSUB = 3 };
	desk_setup();
	created(CID);
	expect_desk(DK_ENQUEUE, true, DEPT);
	assign(CID, &ann, S, "a", ANN, "Ann");
	commit(1);
	pump();
	take(S);
	expect_desk(DK_LOAD, false, ANN);
	expect_desk(DK_DEQUEUE, true, DEPT);
	subscribe(CID, &ann, ASUB, "s", 2);
	subscribe(CID, &visitor, VSUB, "s", 2);
	pump();
	expect_ack(ASUB, "s");
	expect_ack(VSUB, "s");
	/* Bob may not move Ann's conversation; Ann may hand it to Bob */
	xfer(CID, &bob, S, "x0", BOB, "Bob", OTHER_DEPT, "Sales");
	expect_error(S, "x0", "not_found");
	xfer(CID, &ann, S, "x1", BOB, "Bob", OTHER_DEPT, "Sales");
	commit(1);
	pump();
	json_t *ack = take(S);
	assert_string_equal(str(json_object_get(ack, "assignee"), "id"), "12");
	assert_string_equal(str(ack, "department_id"), "8");
	json_t *f = expect_event(ASUB, 3, "transfer");
	assert_string_equal(str(f, "from_id"), "10");
	assert_string_equal(str(f, "reason"), "because");
	f = expect_event(ASUB, 4, "message");
	assert_string_equal(str(json_object_get(f, "sender"), "type"), "system");
	assert_int_equal(ca_of(CID)->nsubs, 1);        /* Ann heard it, and no more */
	expect_event(VSUB, 3, "transfer");
	f = expect_event(VSUB, 4, "message");
	assert_string_equal(str(f, "text"), "Transferred to Bob (Sales)");
	assert_int_equal(expect_desk(DK_LOAD, false, ANN)->delta, -1);
	assert_int_equal(expect_desk(DK_LOAD, false, BOB)->delta, 1);
	expect_no_desk();
	rec_event e;
	assert_int_equal(stored_event(CID, 3, &e), 0);
	assert_int_equal(e.kind, EK_TRANSFER);
	assert_int_equal(e.from_id, ANN);
	assert_int_equal(e.dept_id, OTHER_DEPT);
	/* to a department alone: unassigned and queued there */
	xfer(CID, &sue, S, "x2", 0, "", DEPT, "General");
	commit(1);
	pump();
	assert_string_equal(str(take(S), "status"), "waiting");
	assert_int_equal(expect_desk(DK_LOAD, false, BOB)->delta, -1);
	expect_desk(DK_ENQUEUE, true, DEPT);
	/* waiting, moved on: out of one queue, into the other */
	xfer(CID, &bob, S, "x3", 0, "", OTHER_DEPT, "Sales");
	commit(1);
	pump();
	take(S);
	expect_desk(DK_DEQUEUE, true, DEPT);
	expect_desk(DK_ENQUEUE, true, OTHER_DEPT);
	expect_no_desk();
}

/* ---- due times --------------------------------------------------------- */

typedef struct {
	int n;
	int64_t due[8];
	uint64_t cid[8];
	uint8_t kind[8];
} due_list;

static bool due_step(void *arg, int64_t due_ms, uint64_t tid, uint64_t cid, uint8_t kind)
{
	due_list *l = arg;
	assert_int_equal(tid, TID);
	assert_true(l->n < 8);
	l->due[l->n] = due_ms;
	l->cid[l->n] = cid;
	l->kind[l->n++] = kind;
	return true;
}

static due_list stored_due(void)
{
	due_list l = { 0 };
	store_txn t;
	assert_int_equal(store_read(A.db, &t), 0);
	assert_int_equal(convstore_each_due(&t, 0, INT64_MAX, due_step, &l), 0);
	store_done(&t);
	return l;
}

static void due(uint64_t cid, int64_t at, uint8_t kind)
{
	conv_msg *m = conv_msg_new(CM_DUE);
	m->until_ms = at;
	m->seq = kind;
	assert_int_equal(deliver(cid, m), 0);
	pump();
}

/* A snooze ends at its time, not before, back to open. */
static void test_snooze_ends(void **state)
{
	enum { CID = 126, S = 1 };
	created(CID);
	assert_int_equal(stored_due().n, 0);          /* no auto-close: nothing due */
	assign(CID, &sue, S, "a", ANN, "Ann");
	commit(1);
	pump();
	take(S);
	int64_t until = fake_clock + 60000;
	conv_msg *m = req(CM_STATUS, &sue, S, "z");
	m->status = CS_SNOOZED;
	m->until_ms = until;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	commit(1);
	pump();
	assert_string_equal(str(take(S), "status"), "snoozed");
	due_list l = stored_due();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.due[0], until);
	assert_int_equal(l.cid[0], CID);
	assert_int_equal(l.kind[0], DUE_SNOOZE_END);
	/* too early, or an entry the record does not name: nothing */
	fake_clock += 30000;
	due(CID, until, DUE_SNOOZE_END);
	due(CID, until - 1, DUE_SNOOZE_END);
	assert_int_equal(queued(), 0);
	fake_clock = until;
	due(CID, until, DUE_SNOOZE_END);
	assert_int_equal(queued(), 1);
	commit(1);
	pump();
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.status, CS_OPEN);
	assert_int_equal(c.snooze_until_ms, 0);
	assert_int_equal(c.due_kind, DUE_NONE);
	rec_event e;
	assert_int_equal(stored_event(CID, c.last_seq, &e), 0);
	assert_int_equal(e.kind, EK_STATUS);
	assert_int_equal(e.status, CS_OPEN);
	assert_int_equal(e.sender_type, ST_SYSTEM);
	assert_int_equal(stored_due().n, 0);
	/* the same entry again: nothing */
	due(CID, until, DUE_SNOOZE_END);
	assert_int_equal(queued(), 0);
}

/* Auto-close: messages move nothing; the entry, come early, moves on to
 * the last activity + the setting; then, inactive that long, it closes. */
static void test_auto_close(void **state)
{
	enum { CID = 127, S = 1 };
	rec_tenant tn = { .id = TID, .auto_close_s = 3600 };
	strcpy(tn.name, "T");
	buf b = { 0 };
	assert_int_equal(rec_tenant_encode(&tn, &b), 0);
	uint8_t k[8];
	store_raw(DB_TENANTS, k, rec_key1(k, TID), &b);
	int64_t t0 = fake_clock;
	created(CID);
	due_list l = stored_due();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.due[0], t0 + 3600000);
	assert_int_equal(l.kind[0], DUE_AUTO_CLOSE);
	/* a message later: the entry stays */
	fake_clock = t0 + 1000000;
	assert_int_equal(send_msg(CID, &visitor, 2, "m", "m", "still there?", false), 0);
	pump();
	commit(1);
	pump();
	take(2);
	l = stored_due();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.due[0], t0 + 3600000);
	/* it comes: active since, so it moves on (no event) */
	fake_clock = t0 + 3600000;
	due(CID, t0 + 3600000, DUE_AUTO_CLOSE);
	commit(1);
	pump();
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.last_seq, 2);
	assert_int_equal(c.status, CS_WAITING);
	l = stored_due();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.due[0], t0 + 1000000 + 3600000);
	/* inactive that long: closed by the system */
	fake_clock = t0 + 1000000 + 3600000;
	due(CID, l.due[0], DUE_AUTO_CLOSE);
	commit(1);
	pump();
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.status, CS_CLOSED);
	assert_int_equal(c.closed_ms, fake_clock);
	assert_int_equal(c.due_kind, DUE_NONE);
	assert_int_equal(stored_due().n, 0);
	rec_event e;
	assert_int_equal(stored_event(CID, 3, &e), 0);
	assert_int_equal(e.kind, EK_STATUS);
	assert_int_equal(e.status, CS_CLOSED);
	/* the visitor writes again: reopened, due again from now */
	fake_clock += 5000;
	assert_int_equal(send_msg(CID, &visitor, 2, "m2", "m2", "hello?", false), 0);
	pump();
	commit(1);
	pump();
	take(2);
	l = stored_due();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.due[0], fake_clock + 3600000);
}

/* CM_QUEUE: the visitor hears their place; the offline flag is stored when
 * it changes. */
static void test_queue_position(void **state)
{
	enum { CID = 123, VSUB = 1, ASUB = 2 };
	desk_setup();
	created(CID);
	subscribe(CID, &visitor, VSUB, "s", 1);
	subscribe(CID, &sue, ASUB, "s", 1);
	pump();
	expect_ack(VSUB, "s");
	expect_ack(ASUB, "s");
	conv_msg *m = conv_msg_new(CM_QUEUE);
	m->seq = 3;
	m->wait_s = 120;
	m->flag = true;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	json_t *f = take(VSUB);
	assert_string_equal(str(f, "type"), "queue_position");
	assert_string_equal(str(f, "conversation_id"), "123");
	assert_int_equal(num(f, "position"), 3);
	assert_int_equal(num(f, "estimated_wait_s"), 120);
	assert_true(json_is_true(json_object_get(f, "offline")));
	assert_int_equal(frames_left(ASUB), 0);       /* for the visitor only */
	assert_int_equal(queued(), 1);
	commit(1);
	pump();
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_true(c.offline);
	assert_int_equal(c.last_seq, 1);              /* no event */
	/* the same flag again: a frame, no write */
	m = conv_msg_new(CM_QUEUE);
	m->seq = 2;
	m->flag = true;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	assert_int_equal(num(take(VSUB), "position"), 2);
	assert_int_equal(queued(), 0);
	/* from a department it no longer waits in: dropped */
	m = conv_msg_new(CM_QUEUE);
	m->seq = 1;
	m->dept = OTHER_DEPT;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	assert_int_equal(frames_left(VSUB), 0);
}

/* Without the desk, no routing message at all. */
static void test_no_desk(void **state)
{
	enum { CID = 124, S = 1 };
	created(CID);
	assign(CID, &sue, S, "a", ANN, "Ann");
	commit(1);
	pump();
	take(S);
	expect_no_desk();
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.dept_id, 0);               /* no departments */
}

/* The first message of a conversation comes with its creation; a send of
 * the same client_id while the creation is in flight is a duplicate of it. */
static void test_duplicate_of_first_message(void **state)
{
	enum { CID = 112, V = 1, V2 = 2 };
	create(CID, V, "c", "hello", "first");
	pump();
	assert_int_equal(send_msg(CID, &visitor, V2, "d", "first", "hello", false), 0);
	pump();
	assert_int_equal(queued(), 1);
	commit(1);
	pump();
	assert_string_equal(str(take(V), "id"), "c");
	expect_seq_ack(V2, "d", 2, true);
	assert_int_equal(stored_last_seq(CID), 2);
}

/* The visitor's rating (CM_RATE): refused before a resolve, for another
 * visitor (not found) and past the window on the actor's clock; stored in
 * one write — the rating event, the record with who had the conversation,
 * the score — and refused as soon as it is in flight, and after a reopen. */
static void rate(uint64_t cid, const principal *who, uint32_t slot, const char *id, int score, const char *comment)
{
	conv_msg *m = req(CM_RATE, who, slot, id);
	m->status = (uint8_t)score;
	m->window_ms = 3600 * 1000;
	if (comment) {
		m->text = strdup(comment);
		m->text_len = strlen(comment);
	}
	assert_int_equal(deliver(cid, m), 0);
	pump();
}

static void test_rating(void **state)
{
	(void)state;
	enum { CID = 130, S = 3 };
	created(CID);
	assign(CID, &sue, S, "a", ANN, "Ann");
	commit(1);
	pump();
	take(S);
	rate(CID, &visitor, S, "r0", 5, NULL);
	expect_error(S, "r0", "not_resolved");
	conv_msg *m = req(CM_STATUS, &sue, S, "st");
	m->status = CS_RESOLVED;
	assert_int_equal(deliver(CID, m), 0);
	pump();
	commit(1);
	pump();
	take(S);
	principal other = visitor;
	other.id = VISITOR + 1;
	rate(CID, &other, S, "r1", 5, NULL);
	expect_error(S, "r1", "not_found");
	fake_clock += 3600 * 1000 + 1;
	rate(CID, &visitor, S, "r2", 5, NULL);
	expect_error(S, "r2", "rating_window_over");
	fake_clock -= 3600 * 1000 + 1;
	rate(CID, &visitor, S, "r3", 4, "<b>good</b>");
	rate(CID, &visitor, S, "r4", 2, NULL);   /* the first is in flight */
	expect_error(S, "r4", "already_rated");
	assert_int_equal(queued(), 1);
	commit(1);
	pump();
	json_t *v = take(S);
	assert_string_equal(str(v, "type"), "ack");
	assert_string_equal(str(v, "id"), "r3");
	assert_int_equal(num(v, "score"), 4);
	assert_string_equal(str(v, "comment"), "<b>good</b>");
	assert_string_equal(str(json_object_get(v, "agent"), "name"), "Ann");
	rec_conv c;
	assert_int_equal(stored_conv(CID, &c), 0);
	assert_int_equal(c.rating, 4);
	rec_event e;
	assert_int_equal(stored_event(CID, c.last_seq, &e), 0);
	assert_int_equal(e.kind, EK_RATING);
	assert_int_equal(e.score, 4);
	assert_string_equal(e.text, "<b>good</b>");
	store_txn t;
	rec_rating r;
	assert_int_equal(store_read(A.db, &t), 0);
	assert_int_equal(rating_get(&t, TID, CID, &r), 0);
	store_done(&t);
	assert_int_equal(r.score, 4);
	assert_int_equal(r.agent_id, ANN);
	assert_int_equal(r.visitor_id, VISITOR);
	assert_string_equal(r.comment, "<b>good</b>");
	/* reopened by the visitor and resolved again: rated once is once */
	assert_int_equal(send_msg(CID, &visitor, 2, "v1", "v1", "one more thing", false), 0);
	pump();
	commit(1);
	pump();
	take(2);
	rate(CID, &visitor, S, "r5", 5, NULL);
	expect_error(S, "r5", "already_rated");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_then_send_gap_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_commits_publish_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_after_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_fails_later_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_after_failed_receipt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe_replays_then_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typing_relayed_to_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passivation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_of_first_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_enqueues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_and_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_requeues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snooze_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_desk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rating, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
