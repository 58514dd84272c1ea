"""The whole visitor <-> agent flow over REST and WebSocket, end to end."""
from harness import Server, WS, main, run


def test_visitor_agent_chat():
    with Server() as s:
        agent = s.login()
        vis = s.visitor("Vera")
        conv = s.new_conversation(vis["visitor_token"], "hello, anyone?", "v-1")
        cid = conv["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), agent["access_token"])
            v = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            ack = await a.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack" and ack["last_seq"] == 2, ack
            ack = await v.request({"type": "subscribe", "conversation_id": cid, "after_seq": 2})
            assert ack["last_seq"] == 2
            st, c, _ = s.request("POST", "/v1/conversations/%s/assign" % cid, {}, token=agent["access_token"])
            assert st == 200 and c["assignee"]["name"] == "Demo Admin", (st, c)
            ack = await a.request({"type": "send", "conversation_id": cid, "client_id": "a-1", "text": "Hi!"})
            assert ack["type"] == "ack" and ack["duplicate"] is False
            ev = await v.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "message")
            assert ev["text"] == "Hi!" and ev["sender"]["type"] == "agent" and ev["seq"] == ack["seq"]
            await a.close()
            await v.close()
        run(flow())
        st, c, _ = s.request("PATCH", "/v1/conversations/" + cid, {"status": "resolved"},
                             token=agent["access_token"])
        assert st == 200 and c["status"] == "resolved"


if __name__ == "__main__":
    main([test_visitor_agent_chat])
