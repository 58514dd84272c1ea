"""Idle conversation actors leave memory and come back intact.

The server runs with --conv-idle-ms 200: an actor with no subscriber and no
write in flight retires after two idle sweeps. A conversation must then
behave exactly as before: sequence numbers continue, a client_id sent before
the actor retired is still recognised (the in-memory id set is rebuilt from
the stored events), and a subscriber keeps its actor alive.

A conversation remembers the client_ids of its last --dedupe-window
messages: a resend is recognised while its original is among them, before
and after the actor retired (the set is rebuilt from the latest events).
"""
import time

from harness import Server, WS, main, run, wait_until


def test_idle_actor_retires_and_comes_back():
    with Server("--conv-idle-ms", "200") as s:
        agent = s.login()["access_token"]
        vis = s.visitor("Ida")["visitor_token"]
        convs = [s.new_conversation(vis, "hello %d" % i, "first-%d" % i)["id"] for i in range(5)]
        for cid in convs:
            st, b, _ = s.request("POST", "/v1/conversations/%s/messages" % cid,
                                 {"client_id": "a-1", "text": "answer"}, token=agent)
            assert st == 201 and b["seq"] == 3, (st, b)
        wait_until(lambda: s.metric("parley_conversation_actors") == 0, what="actors to retire")
        assert s.metric("parley_conversation_actors_retired_total") >= 5
        for cid in convs:
            # the same client_id after the actor came back: the original seq, nothing stored
            st, b, _ = s.request("POST", "/v1/conversations/%s/messages" % cid,
                                 {"client_id": "a-1", "text": "answer"}, token=agent)
            assert st == 200 and b == {"seq": 3, "duplicate": True}, (st, b)
            st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                                 {"client_id": "first-0" if cid == convs[0] else "v-2", "text": "again"},
                                 token=vis)
            if cid == convs[0]:
                assert st == 200 and b["seq"] == 2 and b["duplicate"], (st, b)
            else:
                assert st == 201 and b["seq"] == 4, (st, b)
            st, b, _ = s.request("GET", "/v1/conversations/%s/messages" % cid, token=agent)
            seqs = [e["seq"] for e in b["data"]]
            assert seqs == list(range(1, len(seqs) + 1)), seqs


def test_subscribed_actor_stays():
    with Server("--conv-idle-ms", "200") as s:
        agent = s.login()["access_token"]
        vis = s.visitor("Sam")["visitor_token"]
        kept = s.new_conversation(vis, "keep me", "k-1")["id"]
        other = s.new_conversation(vis, "let me go", "o-1")["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), agent)
            ack = await a.request({"type": "subscribe", "conversation_id": kept, "after_seq": 2})
            assert ack["type"] == "ack", ack
            # sweeps are running: the unsubscribed conversation retires...
            deadline = time.monotonic() + 10
            while s.metric("parley_conversation_actors_retired_total") < 1:
                assert time.monotonic() < deadline, "no actor retired"
                await a.request({"type": "ping"})
            # ...and a few more sweeps pass while the subscribed one stays live
            retired = s.metric("parley_conversation_actors_retired_total")
            st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % other,
                                 {"client_id": "o-2", "text": "wake"}, token=vis)
            assert st == 201
            deadline = time.monotonic() + 10
            while s.metric("parley_conversation_actors_retired_total") <= retired:
                assert time.monotonic() < deadline, "second retirement did not happen"
                await a.request({"type": "ping"})
            st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % kept,
                                 {"client_id": "k-2", "text": "still there?"}, token=vis)
            assert st == 201, (st, b)
            ev = await a.wait_for(lambda f: f.get("type") == "event" and f.get("client_id") == "k-2")
            assert ev["seq"] == b["seq"]
            await a.close()
        run(flow())


def test_dedupe_window():
    with Server("--conv-idle-ms", "200", "--dedupe-window", "5") as s:
        agent = s.login()["access_token"]
        vis = s.visitor("Win")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "first")["id"]   # seq 1 created, 2 message
        path = "/v1/conversations/%s/messages" % cid

        def send(client_id, text="x", token=agent, p=path):
            st, b, _ = s.request("POST", p, {"client_id": client_id, "text": text}, token=token)
            assert st in (200, 201), (st, b)
            return st, b["seq"]

        for i in range(1, 9):                                    # m-1..m-8 = seq 3..10
            assert send("m-%d" % i) == (201, i + 2)
        # the window holds m-4..m-8: a resend of any of them is the original
        assert send("m-4") == (200, 6)
        assert send("m-8") == (200, 10)
        # a status change is an event without a client_id: it takes no room
        st, b, _ = s.request("PATCH", "/v1/conversations/%s" % cid, {"status": "pending"}, token=agent)
        assert st == 200, (st, b)                                # seq 11
        assert send("m-4") == (200, 6)
        # m-3 fell out of the window: it is stored again, as documented
        assert send("m-3") == (201, 12)
        # now m-5..m-8 and m-3; after the actor retired, the same set comes
        # back from the latest events
        wait_until(lambda: s.metric("parley_conversation_actors") == 0, what="actors to retire")
        assert send("m-5") == (200, 7)
        assert send("m-3") == (200, 12)
        assert send("first", token=vis, p="/v1/widget/conversations/%s/messages" % cid) == (201, 13)
        assert send("m-4") == (201, 14)
        st, b, _ = s.request("GET", path + "?limit=100", token=agent)
        assert [e["seq"] for e in b["data"]] == list(range(1, 15))


def test_dedupe_window_over_websocket():
    with Server("--dedupe-window", "3") as s:
        vis = s.visitor("Wes")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "w-0")["id"]      # seq 2 = w-0

        async def flow():
            w = await WS.connect(s.ws_url(widget=True), vis)
            seqs = {}
            for i in range(1, 5):                                # w-1..w-4 = seq 3..6
                ack = await w.request({"type": "send", "conversation_id": cid,
                                       "client_id": "w-%d" % i, "text": "t"})
                assert ack["type"] == "ack" and not ack["duplicate"], ack
                seqs[i] = ack["seq"]
            for i in (2, 3, 4):
                ack = await w.request({"type": "send", "conversation_id": cid,
                                       "client_id": "w-%d" % i, "text": "t"})
                assert ack == dict(ack, type="ack", seq=seqs[i], duplicate=True), ack
            ack = await w.request({"type": "send", "conversation_id": cid, "client_id": "w-1", "text": "t"})
            assert ack["type"] == "ack" and not ack["duplicate"] and ack["seq"] == 7, ack
            await w.close()
        run(flow())


if __name__ == "__main__":
    main([test_idle_actor_retires_and_comes_back, test_subscribed_actor_stays, test_dedupe_window,
          test_dedupe_window_over_websocket])
