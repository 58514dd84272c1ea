"""File uploads against the real server: every accepted type, what is
refused (over the limit, lying names and declared types, truncated, zero
bytes, a zip bomb posing as DOCX, many parts, path separators and control
characters in the filename), who may upload and read (agent scope, a
visitor's own conversation, another tenant), the tenant quota, the
visitor upload rate, the sweep of unreferenced blobs at start, messages
carrying files (REST and realtime), and uploads cut at every byte by the
split proxy."""
import hashlib
import io
import os
import socket
import struct
import time
import zipfile

from harness import WS, err, main, ok, run, wait_until
from harness import Server as _Server


def Server(*args):
    """The server with no upload rate limit (test_visitor_upload_rate sets its own)."""
    return _Server("--upload-rate", "0", *args)
from splitproxy import SplitProxy

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + \
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00" + \
    b"\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TXT = "Grüße aus Köln — a plain note.\n".encode()


def doc_bytes():
    """An OLE2 compound file whose directory names a WordDocument stream."""
    f = bytearray(512 * 3)
    f[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    f[30] = 9       # 512-byte sectors
    f[48] = 1       # the directory starts in sector 1
    d = 512 * 2
    for i, name in enumerate(["Root Entry", "WordDocument"]):
        e = d + 128 * i
        enc = name.encode("utf-16-le") + b"\x00\x00"
        f[e:e + len(enc)] = enc
        f[e + 64] = len(enc)
        f[e + 66] = 5 if i == 0 else 2
    return bytes(f)


def zip_bytes(entries, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()


DOC = doc_bytes()
DOCX = zip_bytes([("[Content_Types].xml", b"<?xml version='1.0'?><Types/>"),
                  ("_rels/.rels", b"<Relationships/>"),
                  ("word/document.xml", b"<w:document>" + b"<w:p>hello</w:p>" * 50 + b"</w:document>")])

TYPES = [("a.jpg", JPEG, "image/jpeg"), ("a.png", PNG, "image/png"), ("a.gif", GIF, "image/gif"),
         ("a.webp", WEBP, "image/webp"), ("a.pdf", PDF, "application/pdf"), ("a.doc", DOC, "application/msword"),
         ("a.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ("a.txt", TXT, "text/plain")]


def form(name, data, ctype="application/octet-stream", boundary="----parleyBoundary7MA4YWxk", extra_parts=()):
    """A multipart/form-data body with extra plain fields, then one file."""
    out = b""
    for fname, val in extra_parts:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, fname)).encode() + val + b"\r\n"
    nb = name if isinstance(name, bytes) else name.encode()
    out += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" % boundary).encode() + nb + \
        ("\"\r\nContent-Type: %s\r\n\r\n" % ctype).encode() + data + ("\r\n--%s--\r\n" % boundary).encode()
    return out, {"Content-Type": "multipart/form-data; boundary=" + boundary}


class Ctx:
    def __init__(self, s):
        self.s = s
        self.owner = s.login()
        self.tok = self.owner["access_token"]
        self.tid = int(self.owner["user"]["tenant_id"])
        self.vis = s.visitor("Uploader")
        self.vt = self.vis["visitor_token"]
        self.cid = s.new_conversation(self.vt, "hi", "c1")["id"]

    def upload(self, name, data, token=None, cid=None, widget=None, **kw):
        token = token or self.vt
        widget = (token == self.vt) if widget is None else widget
        body, h = form(name, data, **kw)
        path = "%s/conversations/%s/files" % ("/v1/widget" if widget else "/v1", cid or self.cid)
        return self.s.request("POST", path, token=token, raw_body=body, headers=h)

    def blob_dir(self, tid=None):
        return os.path.join(self.s.data_dir, "blobs", "%016x" % (tid or self.tid))

    def tmp_files(self):
        return os.listdir(os.path.join(self.s.data_dir, "blobs", "tmp"))


def raw_exchange(port, head, body_parts=(), pause=0.0, timeout=10):
    """Sends a request head and body pieces on a fresh connection (stopping
    quietly when the server has closed), then reads what comes back."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        sock.sendall(head)
        for p in body_parts:
            sock.sendall(p)
            if pause:
                time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    sock.close()
    return out


def status_of(resp):
    line = resp.split(b"\r\n", 1)[0].decode(errors="replace")
    assert line.startswith("HTTP/1.1 "), resp[:200]
    return int(line.split()[1])


# ------------------------------------------------------------------ tests

def test_every_type_round_trips():
    with Server() as s:
        c = Ctx(s)
        for name, data, mime in TYPES:
            for token in (c.vt, c.tok):
                st, f, _ = c.upload(name, data, token=token)
                ok(st, f, 201)
                assert f["type"] == mime and f["size"] == len(data) and f["name"] == name, f
                assert f["sha256"] == hashlib.sha256(data).hexdigest(), f
                st, got, h = s.request("GET", f["url"], token=token)
                assert st == 200, (st, got)
                assert h["Content-Type"].startswith(mime), h
                assert h["X-Content-Type-Options"] == "nosniff", h
                assert h["Content-Security-Policy"] == "default-src 'none'; sandbox", h
                disp = h["Content-Disposition"]
                assert disp.startswith("inline" if mime.startswith("image/") else "attachment"), disp
                assert 'filename="%s"' % name in disp, disp
                raw = s.raw(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n"
                             % (f["url"], token)).encode())
                assert raw.split(b"\r\n\r\n", 1)[1] == data, name
                st, _, h2 = s.request("GET", f["url"], token=token, headers={"If-None-Match": h["ETag"]})
                assert st == 304, st
        # identical content of one tenant is one blob
        assert len(os.listdir(c.blob_dir())) == len(TYPES), os.listdir(c.blob_dir())
        assert not c.tmp_files()


def test_limit_enforced_while_streaming():
    with Server("--upload-max", "65536") as s:
        c = Ctx(s)
        ok(*c.upload("ok.txt", b"a" * 65536)[:2], status=201)
        err(*c.upload("big.txt", b"a" * 65537)[:2], 413, "too_large")
        path = "/v1/widget/conversations/%s/files" % c.cid
        # a Content-Length that cannot fit: 413 before any of the body, with
        # Expect: 100-continue no 100 either
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; "
                "boundary=b\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n" % (path, c.vt)).encode()
        t0 = time.monotonic()
        resp = raw_exchange(s.port, head)
        assert status_of(resp) == 413 and b"too_large" in resp, resp[:300]
        assert time.monotonic() - t0 < 5
        # chunked, no length: refused as soon as the file passes the limit,
        # long before the 4 MB the client means to send
        body, h = form("big.bin", b"z" * (4 << 20))
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (path, c.vt, h["Content-Type"])).encode()
        pieces = [b"%x\r\n%s\r\n" % (len(body[i:i + 16384]), body[i:i + 16384]) for i in range(0, len(body), 16384)]
        resp = raw_exchange(s.port, head, pieces + [b"0\r\n\r\n"])
        assert status_of(resp) == 413 and b"too_large" in resp, resp[:300]
        # memory stays bounded: the body was never gathered
        wait_until(lambda: not c.tmp_files(), what="temporary files removed")


def test_type_from_bytes_not_name_or_declared_type():
    with Server() as s:
        c = Ctx(s)
        html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
        svg = b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
        # lying extension and declared type: HTML as a PNG, SVG as a JPEG
        e = err(*c.upload("cat.png", html, ctype="image/png")[:2], 415, "unsupported_type")
        assert "HTML" in e["message"], e
        err(*c.upload("dog.jpg", svg, ctype="image/jpeg")[:2], 415, "unsupported_type")
        err(*c.upload("x.svg", svg, ctype="image/svg+xml")[:2], 415, "unsupported_type")
        err(*c.upload("x.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60)[:2], 415, "unsupported_type")
        err(*c.upload("x.zip", zip_bytes([("a.txt", b"hello")]))[:2], 415, "unsupported_type")
        # the other way round: a PNG named .txt and declared text is a PNG
        st, f, _ = c.upload("notes.txt", PNG, ctype="text/plain")
        ok(st, f, 201)
        assert f["type"] == "image/png", f
        st, _, h = s.request("GET", f["url"], token=c.vt)
        assert h["Content-Type"] == "image/png", h
        # not multipart at all
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/files" % c.cid, token=c.vt, raw_body=PNG,
                             headers={"Content-Type": "image/png"})
        err(st, b, 415, "unsupported_media_type")
        assert not c.tmp_files()


def test_truncated_empty_and_malformed():
    with Server() as s:
        c = Ctx(s)
        err(*c.upload("empty.txt", b"")[:2], 400, "empty_file")
        path = "/v1/widget/conversations/%s/files" % c.cid
        body, h = form("a.png", PNG)
        # the form ends before its closing boundary (the length says so)
        cut = body[:-30]
        st, b, _ = s.request("POST", path, token=c.vt, raw_body=cut, headers=h)
        err(st, b, 400, "truncated")
        # the connection ends in the middle of the body: nothing is kept
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (path, c.vt, h["Content-Type"], len(body) + 100000)).encode()
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        sock.sendall(head + body[:-10] + b"x" * 50000)
        time.sleep(0.2)
        sock.close()
        wait_until(lambda: not c.tmp_files(), what="the partial upload's temporary file removed")
        # no file part at all, only a field
        b2 = b"--bb\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--bb--\r\n"
        st, b, _ = s.request("POST", path, token=c.vt, raw_body=b2,
                             headers={"Content-Type": "multipart/form-data; boundary=bb"})
        err(st, b, 400, "no_file")
        # malformed part headers (a bare LF)
        b3 = b"--bb\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\n\r\n" + PNG + b"\r\n--bb--"
        st, b, _ = s.request("POST", path, token=c.vt, raw_body=b3,
                             headers={"Content-Type": "multipart/form-data; boundary=bb"})
        err(st, b, 400, "invalid_multipart")
        # two files in one request
        two = form("a.png", PNG, boundary="bb")[0].replace(b"--bb--\r\n", b"") + form("b.png", PNG, boundary="bb")[0]
        st, b, _ = s.request("POST", path, token=c.vt, raw_body=two,
                             headers={"Content-Type": "multipart/form-data; boundary=bb"})
        err(st, b, 400, "too_many_files")
        assert not os.path.exists(c.blob_dir()) or not os.listdir(c.blob_dir())


def test_zip_bomb_posing_as_docx():
    with Server() as s:
        c = Ctx(s)
        bomb = zip_bytes([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"\0" * (40 << 20))])
        assert len(bomb) < 200000, len(bomb)   # 40 MB of zeros in ~40 KB
        e = err(*c.upload("report.docx", bomb,
                          ctype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")[:2],
                415, "unsupported_type")
        assert "zip bomb" in e["message"], e
        # the same entry count trick: thousands of entries
        many = zip_bytes([("[Content_Types].xml", b"<Types/>")] + [("word/p%d.xml" % i, b"") for i in range(6000)],
                         method=zipfile.ZIP_STORED)
        err(*c.upload("many.docx", many)[:2], 415, "unsupported_type")
        # a real small DOCX passes
        st, f, _ = c.upload("real.docx", DOCX)
        ok(st, f, 201)


def test_many_parts():
    with Server() as s:
        c = Ctx(s)
        fields = [("f%d" % i, b"v") for i in range(20)]
        err(*c.upload("a.png", PNG, extra_parts=fields)[:2], 400, "too_many_parts")
        # a few fields beside the file are fine
        ok(*c.upload("a.png", PNG, extra_parts=fields[:3])[:2], status=201)


def test_filenames():
    with Server() as s:
        c = Ctx(s)
        for raw, kept in [("../../etc/passwd.png", "passwd.png"), ("C:\\Users\\me\\photo.png", "photo.png"),
                          ("/abs/dir/x.png", "x.png"), ("résumé 2024.png", "résumé 2024.png")]:
            st, f, _ = c.upload(raw.encode(), PNG)
            ok(st, f, 201)
            assert f["name"] == kept, (raw, f)
        for raw in ["..", "dir/..", "a/", ""]:
            err(*c.upload(raw, PNG)[:2], 400, "invalid_filename")
        # control characters never pass (the part's header line is refused)
        for raw in [b"a\x01b.png", b"a\x1b[31mred.png", b"a\x7f.png"]:
            st, b, _ = c.upload(raw, PNG)
            assert st == 400 and b["error"]["code"] in ("invalid_filename", "invalid_multipart"), (raw, st, b)
        st, b, _ = c.upload(b"bad\xff\xfe.png", PNG)
        err(st, b, 400, "invalid_filename")
        err(*c.upload("n" * 300 + ".png", PNG)[:2], 400, "invalid_filename")
        # the name travels safely in the download header
        st, f, _ = c.upload(b'q\\"uote;x\xc3\xa9.png', PNG)   # an escaped quote in the quoted filename
        ok(st, f, 201)
        assert f["name"] == 'q"uote;xé.png', f
        st, _, h = s.request("GET", f["url"], token=c.vt)
        assert h["Content-Disposition"] == "inline; filename=\"q_uote;x__.png\"; filename*=UTF-8''q%22uote%3Bx%C3%A9.png", h


def test_permissions():
    with Server() as s:
        c = Ctx(s)
        st, f, _ = c.upload("a.png", PNG)
        ok(st, f, 201)
        agent_path = "/v1/conversations/%s/files/%s" % (c.cid, f["id"])
        # agents: an unassigned conversation is in scope; one assigned to a colleague is not
        s.new_user("demo", "ann@demo.parley", "ann-password-1", role="agent", name="Ann")
        s.new_user("demo", "bob@demo.parley", "bob-password-1", role="agent", name="Bob")
        ann = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        bob = s.login("bob@demo.parley", "bob-password-1")["access_token"]
        assert s.request("GET", agent_path, token=ann)[0] == 200
        ok(*s.request("POST", "/v1/conversations/%s/assign" % c.cid, {}, token=ann)[:2])
        err(*s.request("GET", agent_path, token=bob)[:2], 404, "not_found")
        err(*c.upload("b.png", PNG, token=bob, widget=False)[:2], 404, "not_found")
        ok(*c.upload("b.png", PNG, token=ann, widget=False)[:2], status=201)
        assert s.request("GET", agent_path, token=c.tok)[0] == 200   # the owner sees all
        # visitors: their own conversations only
        other = s.visitor("Other")["visitor_token"]
        err(*s.request("GET", f["url"], token=other)[:2], 404, "not_found")
        err(*c.upload("c.png", PNG, token=other, widget=True)[:2], 404, "not_found")
        # a visitor token on the agents' route, an access token on the widget's
        err(*s.request("GET", agent_path, token=c.vt)[:2], 401, "unauthenticated")
        err(*s.request("GET", f["url"], token=c.tok)[:2], 401, "unauthenticated")
        # a file id under another conversation of the same visitor
        cid2 = s.new_conversation(c.vt, "again", "c2")["id"]
        err(*s.request("GET", "/v1/widget/conversations/%s/files/%s" % (cid2, f["id"]), token=c.vt)[:2],
            404, "not_found")
        # another tenant: the ids mean nothing there
        s.new_tenant("other", "Other")
        s.new_user("other", "o@other.test", "other-password-1", role="owner")
        ot = s.login("o@other.test", "other-password-1", tenant="other")["access_token"]
        err(*s.request("GET", agent_path, token=ot)[:2], 404, "not_found")
        err(*c.upload("d.png", PNG, token=ot, widget=False)[:2], 404, "not_found")
        # a message may only carry files of its own conversation
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid2,
                             {"client_id": "x1", "files": [f["id"]]}, token=c.vt)
        err(st, b, 400, "invalid_field", "files")
        for bad in ["1", 5, [f["id"], f["id"]], [f["id"]] * 11, "not-a-list"]:
            st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % c.cid,
                                 {"client_id": "x2", "files": bad if isinstance(bad, list) else [bad]
                                  if bad != "not-a-list" else bad}, token=c.vt)
            err(st, b, 400, "invalid_field", "files")


def test_messages_carry_files():
    with Server() as s:
        c = Ctx(s)
        st, f1, _ = c.upload("a.png", PNG)
        st, f2, _ = c.upload("b.pdf", PDF)
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % c.cid,
                             {"client_id": "m1", "text": "two files", "files": [f1["id"], f2["id"]]}, token=c.vt)
        ok(st, b, 201)
        ev = b["event"]
        assert [x["id"] for x in ev["files"]] == [f1["id"], f2["id"]], ev
        assert ev["files"][1] == {"id": f2["id"], "name": "b.pdf", "type": "application/pdf", "size": len(PDF)}
        # files alone, no text: the list preview names the file
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % c.cid,
                             {"client_id": "m2", "files": [f1["id"]]}, token=c.vt)
        ok(st, b, 201)
        assert b["event"]["text"] == "", b
        st, conv, _ = s.request("GET", "/v1/conversations/%s" % c.cid, token=c.tok)
        assert "a.png" in conv["last_message"]["text"], conv
        # text is still required without files
        err(*s.request("POST", "/v1/widget/conversations/%s/messages" % c.cid, {"client_id": "m3"},
                       token=c.vt)[:2], 400, "invalid_field", "text")
        # the agent sees them in the event list, and sends one back over the realtime socket
        st, evs, _ = s.request("GET", "/v1/conversations/%s/messages" % c.cid, token=c.tok)
        with_files = [e for e in evs["data"] if e.get("files")]
        assert len(with_files) == 2, evs
        assert all("files" not in e for e in evs["data"] if not e.get("files")), evs
        st, f3, _ = c.upload("c.gif", GIF, token=c.tok, widget=False)

        async def realtime():
            vws = await WS.connect(s.ws_url(widget=True), c.vt)
            await vws.request({"type": "subscribe", "conversation_id": c.cid, "after_seq": 0})
            aws = await WS.connect(s.ws_url(), c.tok)
            r = await aws.request({"type": "send", "conversation_id": c.cid, "client_id": "ws1", "files": [f3["id"]]})
            assert r["type"] == "ack", r
            ev = await vws.wait_for(lambda m: m.get("type") == "event" and m.get("client_id") == "ws1")
            assert ev["files"] == [{"id": f3["id"], "name": "c.gif", "type": "image/gif", "size": len(GIF)}], ev
            r = await aws.request({"type": "send", "conversation_id": c.cid, "client_id": "ws2", "files": ["1"]})
            assert r["type"] == "error" and r["error"]["field"] == "files", r
            await vws.close()
            await aws.close()
        run(realtime())
        # after a restart the events still carry them (stored, not cached)
        s.restart()
        st, evs, _ = s.request("GET", "/v1/widget/conversations/%s/messages" % c.cid, token=c.vt)
        assert sum(1 for e in evs["data"] if e.get("files")) == 3, evs


def test_quota():
    with Server("--tenant-storage-quota", "1000") as s:
        c = Ctx(s)
        a, b = b"A" * 600, b"B" * 600
        ok(*c.upload("a.txt", a)[:2], status=201)
        err(*c.upload("b.txt", b)[:2], 413, "quota_exceeded")
        # the refused blob is not left behind; identical content costs nothing more
        assert os.listdir(c.blob_dir()) == [hashlib.sha256(a).hexdigest()], os.listdir(c.blob_dir())
        ok(*c.upload("a-again.txt", a)[:2], status=201)
        ok(*c.upload("small.txt", b"C" * 400)[:2], status=201)
        err(*c.upload("one-more.txt", b"D")[:2], 413, "quota_exceeded")
        # now full: refused at the head, before any of the body is read
        path = "/v1/widget/conversations/%s/files" % c.cid
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; "
                "boundary=b\r\nContent-Length: 4000000\r\nExpect: 100-continue\r\n\r\n" % (path, c.vt)).encode()
        resp = raw_exchange(s.port, head)
        assert status_of(resp) == 413 and b"quota_exceeded" in resp and b"100 Continue" not in resp, resp[:300]
        # another tenant has its own quota
        tid_b, key_b = s.new_tenant("other", "Other")
        vb = s.visitor("B", widget_key=key_b)["visitor_token"]
        cb = s.new_conversation(vb, "hi", "b1")["id"]
        # the same bytes in two tenants are two blobs, each under its tenant
        ok(*c.upload("a.txt", a, token=vb, cid=cb, widget=True)[:2], status=201)
        assert os.listdir(c.blob_dir(int(tid_b))) and hashlib.sha256(a).hexdigest() in os.listdir(c.blob_dir(int(tid_b)))


def test_visitor_upload_rate():
    with _Server("--upload-rate", "3") as s:
        c = Ctx(s)
        for i in range(3):
            ok(*c.upload("r%d.txt" % i, b"rate %d" % i)[:2], status=201)
        st, b, h = c.upload("r3.txt", b"rate 3")
        err(st, b, 429, "rate_limited")
        assert int(h["Retry-After"]) >= 1, h
        # another visitor is not held back, nor are agents
        other = s.visitor("Other")["visitor_token"]
        cid = s.new_conversation(other, "hi", "o1")["id"]
        ok(*c.upload("o.txt", b"other", token=other, cid=cid, widget=True)[:2], status=201)
        for i in range(5):
            ok(*c.upload("ag%d.txt" % i, b"agent %d" % i, token=c.tok, widget=False)[:2], status=201)


def test_sweep_at_start():
    with Server() as s:
        c = Ctx(s)
        st, f, _ = c.upload("keep.png", PNG)
        ok(st, f, 201)
        d = c.blob_dir()
        kept = hashlib.sha256(PNG).hexdigest()
        stray = hashlib.sha256(b"never recorded").hexdigest()
        with open(os.path.join(d, stray), "wb") as fh:
            fh.write(b"never recorded")
        with open(os.path.join(d, "not-a-blob"), "wb") as fh:
            fh.write(b"junk")
        other_tenant = os.path.join(s.data_dir, "blobs", "%016x" % 12345)
        os.makedirs(other_tenant)
        with open(os.path.join(other_tenant, kept), "wb") as fh:   # right name, wrong tenant
            fh.write(PNG)
        with open(os.path.join(s.data_dir, "blobs", "tmp", "abc.part"), "wb") as fh:
            fh.write(b"half an upload")
        s.restart()
        assert sorted(os.listdir(d)) == [kept], os.listdir(d)
        assert os.listdir(other_tenant) == []
        assert c.tmp_files() == []
        assert "files.sweep" in s.stderr_text() and "removed=3" in s.stderr_text(), s.stderr_text()[-2000:]
        st, body, _ = s.request("GET", f["url"], token=c.vt)
        assert st == 200


def test_uploads_split_at_every_byte():
    with Server("--upload-max", "300000") as s:
        c = Ctx(s)
        proxy = SplitProxy(s.real_port, max_piece=1)
        try:
            data = os.urandom(200000)
            data = PNG + data
            body, h = form("split.png", data)
            real = s.port
            s.port = proxy.port
            try:
                st, f, _ = s.request("POST", "/v1/widget/conversations/%s/files" % c.cid, token=c.vt,
                                     raw_body=body, headers=h, timeout=60)
                ok(st, f, 201)
                assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["size"] == len(data), f
                # a small one, every byte its own read, chunked
                small, h2 = form("tiny.txt", b"tiny text")
                head = ("POST /v1/widget/conversations/%s/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        % (c.cid, c.vt, h2["Content-Type"])).encode()
                chunked = b"".join(b"%x\r\n%s\r\n" % (len(small[i:i + 7]), small[i:i + 7])
                                   for i in range(0, len(small), 7)) + b"0\r\n\r\n"
                resp = raw_exchange(proxy.port, head + chunked)
                assert status_of(resp) == 201 and b'"type":"text/plain"' in resp, resp
                # refusals arrive the same way
                st, b, _ = c.upload("evil.png", b"<html></html>")
                err(st, b, 415, "unsupported_type")
            finally:
                s.port = real
        finally:
            proxy.close()
        st, got, _ = s.request("GET", f["url"], token=c.vt)
        assert st == 200


def test_slow_disk_side_pauses_reading():
    """A large upload passes through a bounded amount of memory: the
    connection is read only as fast as the file thread writes."""
    with Server("--upload-max", str(20 << 20)) as s:
        c = Ctx(s)
        data = PNG + os.urandom(16 << 20)
        paused = s.metric("parley_upload_pauses_total")
        st, f, _ = c.upload("big.png", data)
        ok(st, f, 201)
        assert f["size"] == len(data)
        # whether reads paused depends on the disk's speed; when they did,
        # the upload still completed (resumed) with every byte
        print("   upload pauses: %d" % (s.metric("parley_upload_pauses_total") - paused))
        assert s.metric("parley_files_stored_total") >= 1
        st, _, h = s.request("GET", f["url"], token=c.vt, timeout=30)
        assert st == 200 and h["Content-Length"] == str(len(data))


if __name__ == "__main__":
    main([test_every_type_round_trips, test_limit_enforced_while_streaming,
          test_type_from_bytes_not_name_or_declared_type, test_truncated_empty_and_malformed,
          test_zip_bomb_posing_as_docx, test_many_parts, test_filenames, test_permissions,
          test_messages_carry_files, test_quota, test_visitor_upload_rate, test_sweep_at_start,
          test_uploads_split_at_every_byte, test_slow_disk_side_pauses_reading])
