"""The pre-chat form (docs/openapi.yaml, tags tenant and widget): the
tenant's settings (prechat name/email/phone/question off, optional or
required; transcript_on_close; rating_window_s) with every bad value
refused naming its field; the widget's session shows the form; starting a
conversation is checked on the server (a required field missing is
400 prechat_required naming it, a malformed email or phone 400
invalid_field, a field the form does not ask 400, the question becomes the
first message, the answers are stored on the visitor and shown on the
conversation); markup in the answers is kept as text.
"""
from harness import Server, err, main, ok

PW = "a-good-password-1"


def patch(s, tok, body):
    return s.request("PATCH", "/v1/tenant", body, token=tok)[:2]


def test_settings():
    with Server() as s:
        tok = s.login()["access_token"]
        t = ok(*s.request("GET", "/v1/tenant", token=tok)[:2])
        assert t["prechat"] == {"name": "off", "email": "off", "phone": "off", "question": "off"}, t
        assert t["transcript_on_close"] is False and t["rating_window_s"] == 0, t
        t = ok(*patch(s, tok, {"prechat": {"name": "required", "email": "optional"}, "transcript_on_close": True,
                               "rating_window_s": 3600}))
        assert t["prechat"] == {"name": "required", "email": "optional", "phone": "off", "question": "off"}, t
        assert t["transcript_on_close"] is True and t["rating_window_s"] == 3600, t
        # partial: the rest stays
        t = ok(*patch(s, tok, {"prechat": {"question": "required"}}))
        assert t["prechat"] == {"name": "required", "email": "optional", "phone": "off", "question": "required"}
        assert ok(*s.request("GET", "/v1/tenant", token=tok)[:2]) == t
        for body, field in [({"prechat": "required"}, "prechat"), ({"prechat": {"name": "maybe"}}, "name"),
                            ({"prechat": {"name": 1}}, "name"), ({"prechat": {"age": "off"}}, "age"),
                            ({"prechat": {"email": None}}, "email"),
                            ({"transcript_on_close": "yes"}, "transcript_on_close"),
                            ({"transcript_on_close": None}, "transcript_on_close"),
                            ({"rating_window_s": -1}, "rating_window_s"),
                            ({"rating_window_s": 1.5}, "rating_window_s"),
                            ({"rating_window_s": "60"}, "rating_window_s"),
                            ({"rating_window_s": 366 * 86400 + 1}, "rating_window_s")]:
            err(*patch(s, tok, body), 400, "invalid_field", field)
        assert ok(*s.request("GET", "/v1/tenant", token=tok)[:2]) == t
        # agents read, do not change
        s.new_user("demo", "agent@demo.example", PW, role="agent")
        atok = s.login("agent@demo.example", PW)["access_token"]
        assert ok(*s.request("GET", "/v1/tenant", token=atok)[:2])["prechat"] == t["prechat"]
        err(*patch(s, atok, {"prechat": {"name": "off"}}), 403, "forbidden")


def start(s, vtok, body):
    return s.request("POST", "/v1/widget/conversations", body, token=vtok)[:2]


def test_form_enforced():
    with Server() as s:
        tok = s.login()["access_token"]
        ok(*patch(s, tok, {"prechat": {"name": "required", "email": "required", "phone": "optional",
                                       "question": "required"}}))
        st, ses, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key})
        assert st == 201, (st, ses)
        assert ses["tenant"]["prechat"] == {"name": "required", "email": "required", "phone": "optional",
                                            "question": "required"}, ses
        vtok = ses["visitor_token"]
        good = {"name": "Ann <b>O'Neil</b> & \"co\"", "email": "ann@example.com", "question": "Where is <script>x</script>?",
                "client_id": "q1"}
        for drop in ("name", "email", "question"):
            body = {k: v for k, v in good.items() if k != drop}
            e = err(*start(s, vtok, body), 400, "prechat_required", drop)
            assert drop in e["message"], e
        err(*start(s, vtok, dict(good, name="")), 400, "prechat_required", "name")
        err(*start(s, vtok, dict(good, question="")), 400, "prechat_required", "question")
        err(*start(s, vtok, {}), 400, "prechat_required", "name")
        for bad in ("ann", "ann@", "@example.com", "a b@example.com", "ann@example", "a@b@c.example",
                    "<ann@example.com>"):
            err(*start(s, vtok, dict(good, email=bad)), 400, "invalid_field", "email")
        for bad in ("12", "+1 555 CALL", "555-1234; DROP", "+" * 3, "1" * 33, "<script>"):
            err(*start(s, vtok, dict(good, phone=bad)), 400, "invalid_field", "phone")
        err(*start(s, vtok, dict(good, question="x" * 8001)), 400, "invalid_field", "question")
        err(*start(s, vtok, dict(good, name="n" * 129)), 400, "invalid_field", "name")
        err(*start(s, vtok, dict(good, text="hello")), 400, "invalid_field", "question")
        err(*start(s, vtok, dict(good, name=5)), 400, "invalid_field", "name")
        # a good form: the question is the first message, the answers are the visitor's
        c = ok(*start(s, vtok, dict(good, phone="+49 (30) 123-456")), 201)
        assert c["visitor"]["name"] == good["name"] and c["visitor"]["email"] == "ann@example.com", c
        st, ev, _ = s.request("GET", "/v1/widget/conversations/%s/messages" % c["id"], token=vtok)
        msgs = [e for e in ev["data"] if e["kind"] == "message"]
        assert len(msgs) == 1 and msgs[0]["text"] == good["question"], ev
        prof = ok(*s.request("GET", "/v1/visitors/%s" % c["visitor"]["id"], token=tok)[:2])
        assert (prof["name"], prof["email"], prof["phone"]) == (good["name"], good["email"], "+49 (30) 123-456"), prof
        # a returning visitor: what they already gave counts, the question is asked again
        c2 = ok(*start(s, vtok, {"text": "again", "client_id": "q2"}), 201)
        assert c2["visitor"]["email"] == "ann@example.com", c2
        err(*start(s, vtok, {"client_id": "q3"}), 400, "prechat_required", "question")
        # a field the form does not ask for
        ok(*patch(s, tok, {"prechat": {"phone": "off"}}))
        err(*start(s, vtok, {"text": "x", "phone": "+1 555 1234"}), 400, "invalid_field", "phone")
        # the form off: nothing asked, a plain start works as before
        ok(*patch(s, tok, {"prechat": {"name": "off", "email": "off", "question": "off"}}))
        v2 = s.visitor("Plain")["visitor_token"]
        ok(*start(s, v2, {}), 201)
        ok(*start(s, v2, {"text": "hi", "client_id": "p1"}), 201)


if __name__ == "__main__":
    main([test_settings, test_form_enforced])
