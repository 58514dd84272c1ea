"""An agent's open WebSocket does not outlive a password change."""
import asyncio

import websockets

from harness import DEMO_EMAIL, Server, WS, main, run


def test_password_reset_ends_open_websocket():
    with Server() as s:
        agent = s.login()["access_token"]
        vis = s.visitor("Pat")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "p-1")["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), agent)
            ack = await a.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack", ack
            assert (await a.request({"type": "ping"}))["type"] == "ack"
            rc, out, err = s.cli("user", "reset-password", "--tenant", "demo", "--email", DEMO_EMAIL,
                                 "--password", "a-brand-new-password")
            assert rc == 0, (rc, out, err)
            r = await a.request({"type": "ping"})
            assert r["type"] == "error" and r["error"]["code"] == "unauthenticated", r
            try:
                await asyncio.wait_for(a.ws.recv(), 5)
                raise AssertionError("the session stayed open")
            except websockets.ConnectionClosed as e:
                assert e.rcvd and e.rcvd.code == 1008, e
            # the old token cannot start a new session; the new password can
            st, b, _ = s.request("GET", "/v1/auth/me", token=agent)
            assert st == 401, (st, b)
            fresh = s.login(password="a-brand-new-password")["access_token"]
            b2 = await WS.connect(s.ws_url(), fresh)
            assert (await b2.request({"type": "ping"}))["type"] == "ack"
            await b2.close()
        run(flow())


if __name__ == "__main__":
    main([test_password_reset_ends_open_websocket])
