#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the ws_frame, ws_conn, http_conn,
multipart and tls_conn fuzz targets into tests/fuzz/corpus/<target>/seed_<name> (the fuzzers add
their own finds next to them; `-merge=1` keeps the corpus small).

Input layouts (see each target's header comment): byte 0 = options,
byte 1 = seed of the piece sizes, then the client's bytes.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FIN = 0x80
TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0


def frame(b0, payload=b"", mask=b"\x00\x00\x00\x00", form=None, masked=True):
    """A client frame: first byte b0, payload masked with mask."""
    n = len(payload)
    if form is None:
        form = 7 if n < 126 else 16 if n <= 0xFFFF else 64
    mbit = 0x80 if masked else 0
    if form == 7:
        h = bytes([b0, mbit | n])
    elif form == 16:
        h = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if not masked:
        return h + payload
    body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return h + mask + body


def header(b0, length, form):
    """Just a masked header declaring length (no payload)."""
    if form == 7:
        h = bytes([b0, 0x80 | length])
    elif form == 16:
        h = bytes([b0, 0x80 | 126]) + struct.pack(">H", length)
    else:
        h = bytes([b0, 0x80 | 127]) + struct.pack(">Q", length)
    return h + b"\x00\x00\x00\x00"


def close(code, reason=b""):
    return frame(FIN | CLOSE, struct.pack(">H", code) + reason)


M = b"\x37\xfa\x21\x3d"   # a non-zero mask key


def ws_frame_seeds():
    # byte 0: max_message index (0 1 7 125 126 200 1000 70000) | piece index << 3
    def s(maxi, piecei, seed, stream):
        return bytes([maxi | piecei << 3, seed]) + stream

    big = bytes(range(256)) * 2
    return {
        "text": s(6, 1, 1, frame(FIN | TEXT, b"Hello", M)),
        "binary": s(6, 2, 2, frame(FIN | BINARY, b"\x00\xff\x10", M)),
        "ping_pong": s(6, 0, 3, frame(FIN | PING, b"p", M) + frame(FIN | PONG)),
        "close_reason": s(6, 3, 4, close(1000, b"bye")),
        "close_empty": s(6, 3, 5, frame(FIN | CLOSE)),
        "len16": s(6, 6, 6, frame(FIN | BINARY, big[:300], M)),
        "len125_126": s(4, 5, 7, frame(FIN | TEXT, b"a" * 125) + frame(FIN | TEXT, b"b" * 126)),
        "len64_partial": s(7, 7, 8, frame(FIN | BINARY, big * 4, M, form=64)[:2100]),
        "len64_nonminimal": s(6, 2, 9, frame(FIN | TEXT, b"abc", M, form=64)),
        "fragmented_ping": s(6, 1, 10, frame(TEXT, b"Hel") + frame(FIN | PING, b"x") +
                             frame(CONT, b"lo ") + frame(FIN | CONT, b"world")),
        "utf8_split": s(6, 0, 11, frame(TEXT, b"\xe2") + frame(CONT, b"\x82") +
                        frame(FIN | CONT, b"\xac\xf0\x9f\x98\x80")),
        "many": s(6, 4, 12, b"".join(frame(FIN | TEXT, b"m%d" % i, M) for i in range(20))),
        "too_big": s(5, 2, 13, header(FIN | TEXT, 201, 7)),
        "too_big_fragments": s(5, 2, 14, frame(TEXT, b"x" * 150) + header(FIN | CONT, 51, 7)),
        "max_zero": s(0, 1, 15, frame(FIN | TEXT) + frame(FIN | TEXT, b"x")),
        "unmasked": s(6, 0, 16, frame(FIN | TEXT, b"hi", masked=False)),
        "rsv": s(6, 0, 17, frame(FIN | 0x40 | TEXT, b"hi")),
        "opcode3": s(6, 0, 18, frame(FIN | 3)),
        "opcode_b": s(6, 0, 19, frame(FIN | 0xB)),
        "ping126": s(6, 0, 20, header(FIN | PING, 126, 16)),
        "ping_nofin": s(6, 0, 21, frame(PING)),
        "cont_alone": s(6, 0, 22, frame(FIN | CONT, b"x")),
        "text_in_text": s(6, 0, 23, frame(TEXT, b"a") + frame(FIN | TEXT, b"b")),
        "len_topbit": s(7, 0, 24, header(FIN | BINARY, 1 << 63, 64)),
        "close_1byte": s(6, 0, 25, frame(FIN | CLOSE, b"\x03")),
        "close_1005": s(6, 0, 26, close(1005)),
        "close_4999_3000": s(6, 1, 27, close(4999, b"ok") + close(3000)),
        "close_bad_utf8": s(6, 0, 28, close(1000, b"\xff")),
        "text_bad_utf8": s(6, 0, 29, frame(FIN | TEXT, b"ok\xc0\x80")),
        "text_surrogate": s(6, 0, 30, frame(FIN | TEXT, b"\xed\xa0\x80")),
        "text_above_max": s(6, 0, 31, frame(FIN | TEXT, b"\xf4\x90\x80\x80")),
        "text_ends_midchar": s(6, 1, 32, frame(TEXT, b"a") + frame(FIN | CONT, b"\xe2\x82")),
        "utf8_bad_across": s(6, 1, 33, frame(TEXT, b"\xe2\x82") + frame(FIN | CONT, b"(")),
    }


def ws_conn_seeds():
    # byte 0: piece index (1 2 3 7 16 64 512 4096) | 8 coalesce | end << 4 | 0x40 small max | 0x80 slow
    def s(opt, seed, stream):
        return bytes([opt, seed]) + stream

    echo = frame(FIN | TEXT, b"hello", M)
    return {
        "echo": s(5, 1, echo + close(1000)),
        "echo_coalesced": s(5 | 8, 2, echo + frame(FIN | PING, b"p") + close(1000)),
        "bytewise": s(0, 3, echo + frame(FIN | PING, b"p", M)),
        "ping": s(2, 4, frame(FIN | PING, b"are you there", M)),
        "binary_1003": s(4, 5, frame(FIN | BINARY, b"\x01\x02") + echo + close(1003)),
        "proto_error": s(4, 6, frame(FIN | 0x20 | TEXT, b"x") + echo),
        "utf8_error": s(4, 7, frame(FIN | TEXT, b"\xff")),
        "too_big": s(4 | 0x40, 8, header(FIN | TEXT, 200, 16) + b"x" * 20),
        "fragmented": s(3, 9, frame(TEXT, b"a" * 60) + frame(FIN | PING) + frame(FIN | CONT, b"b" * 60)),
        "shutdown_1001": s(5 | 1 << 4, 10, echo),
        "quiesce_then_shutdown": s(3 | 2 << 4, 11, echo * 3 + frame(FIN | PING, b"q") + close(1000)),
        "freed_open": s(5 | 3 << 4, 12, echo + frame(TEXT, b"part")),
        "slow_reader": s(6 | 0x80, 13, frame(FIN | TEXT, b"y" * 50) * 4),
        "close_empty_echo": s(5, 14, frame(FIN | CLOSE) + echo),
        "after_close": s(6, 15, close(4000, b"done") + echo),
        "len16": s(6, 16, frame(FIN | TEXT, b"z" * 300, M)),
        "partial_frame_eof": s(1, 17, frame(FIN | TEXT, b"never finished")[:9]),
    }


def http_conn_seeds():
    # byte 0: piece index | 8 duplicate deferred | 0x10 deferred error | end << 5 | 0x80 late answers
    def s(opt, seed, stream):
        return bytes([opt, seed]) + stream

    def get(path, extra=b"", method=b"GET", version=b"1.1"):
        return method + b" " + path + b" HTTP/" + version + b"\r\nHost: h\r\n" + extra + b"\r\n"

    def post(path, body, extra=b""):
        return (b"POST " + path + b" HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n" % len(body) +
                extra + b"\r\n" + body)

    def chunked(path, parts, extra=b""):
        body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        return b"POST " + path + b" HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n" + extra + b"\r\n" + body

    upgrade = get(b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
    return {
        "get": s(5, 1, get(b"/x")),
        "head": s(5, 2, get(b"/x", method=b"HEAD") + get(b"/x")),
        "post_echo": s(4, 3, post(b"/echo", b"hello body")),
        "chunked_echo": s(2, 4, chunked(b"/echo", [b"abc", b"defgh"], b"Content-Type: text/plain\r\n")),
        "pipelined": s(6, 5, get(b"/x") + post(b"/echo", b"12345") + get(b"/json") + get(b"/x", method=b"HEAD")),
        "defer": s(5, 6, get(b"/defer") + get(b"/x")),
        "defer_dup": s(5 | 8, 7, get(b"/defer") + get(b"/defer") + get(b"/x")),
        "defer_error_late": s(6 | 0x10 | 0x80, 8, get(b"/defer") + get(b"/defer", method=b"HEAD")),
        "none_500": s(5, 9, get(b"/none")),
        "params": s(5, 10, get(b"/p/abc/def") + get(b"/p//x") + get(b"/p/a/b/c")),
        "query": s(5, 11, get(b"/q?a=%41b+c&b=2") + get(b"/q?b=1") + get(b"/q?a=0123456789abcdefgh")),
        "etag": s(5, 12, get(b"/etag") + get(b"/etag", b'If-None-Match: W/"x", "6fdc3f1b6f5d93c4"\r\n') +
                  get(b"/etag", b"If-None-Match: *\r\n")),
        "cors": s(5, 13, get(b"/c/x", method=b"OPTIONS") + get(b"/c/x") + get(b"*", method=b"OPTIONS")),
        "upgrade": s(6, 14, upgrade + frame(FIN | TEXT, b"hi", M)),
        "upgrade_bad_key": s(6, 15, get(b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n")),
        "upgrade_bad_version": s(6, 16, get(b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                        b"Sec-WebSocket-Version: 8\r\n") + get(b"/ws")),
        "expect_100": s(5, 17, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"),
        "expect_401": s(5, 18, b"POST /auth HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"),
        "expect_404": s(5, 19, b"POST /nope HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"),
        "expect_417": s(5, 20, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: magic\r\n\r\nabc"),
        "auth": s(5, 21, post(b"/auth", b"{}", b"Authorization: Bearer tok123\r\n") + post(b"/auth", b"")),
        "too_large_413": s(5, 22, post(b"/echo", b"x" * 600)),
        "chunked_413": s(5, 23, chunked(b"/echo", [b"y" * 300, b"z" * 300])),
        "uri_414": s(5, 24, get(b"/" + b"u" * 300)),
        "headers_431": s(6, 25, get(b"/x", b"".join(b"H%d: v\r\n" % i for i in range(70)))),
        "bad_400": s(5, 26, b"GET /x HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n"),
        "version_505": s(5, 27, b"GET /x HTTP/2.0\r\nHost: h\r\n\r\n"),
        "no_host_400": s(5, 28, b"GET /x HTTP/1.1\r\n\r\n"),
        "http10": s(5, 29, get(b"/x", b"Connection: keep-alive\r\n", version=b"1.0") + get(b"/x", version=b"1.0")),
        "method_405": s(5, 30, get(b"/x", method=b"DELETE") + get(b"/echo")),
        "fallback": s(5, 31, get(b"/f") + get(b"/nope") + get(b"/f", method=b"HEAD") + get(b"/nope", method=b"PUT")),
        "conn_close": s(5, 32, get(b"/x", b"Connection: close\r\n") + get(b"/x")),
        "quiesce": s(5 | 1 << 5, 33, get(b"/x") + get(b"/defer")),
        "shutdown": s(5 | 2 << 5, 34, get(b"/defer") + get(b"/x")[:10]),
        "freed_open": s(5 | 3 << 5, 35, get(b"/x") + b"GET /x HT"),
        "bytewise": s(0, 36, post(b"/echo", b"ab") + get(b"/x")),
        "absolute_form": s(5, 37, b"GET http://h:80/x?y HTTP/1.1\r\nHost: other\r\n\r\n"),
        "json_bad_utf8": s(5, 38, get(b"/json?\xff") + post(b"/json", b"\xff\xfe")),
        "stream_length": s(3, 39, post(b"/stream", b"x" * 200) + get(b"/x")),
        "stream_chunked": s(2, 40, chunked(b"/stream", [b"abc", b"d" * 100, b"e"]) + get(b"/x")),
        "stream_refuse_head": s(6, 41, post(b"/stream?refuse", b"never read") + get(b"/x")),
        "stream_refuse_piece": s(6, 42, post(b"/stream", b"!no") + get(b"/x")),
        "stream_too_large": s(6, 43, post(b"/stream", b"y" * 301)),
        "stream_chunked_too_large": s(4, 44, chunked(b"/stream", [b"z" * 200, b"z" * 200])),
        "stream_expect": s(5, 45, post(b"/stream", b"q" * 20, b"Expect: 100-continue\r\n")),
        "stream_bytewise": s(0, 46, chunked(b"/stream", [b"a", b"bc"]) + post(b"/echo", b"after")),
        "chunks": s(5, 47, get(b"/chunks/3") + get(b"/x")),
        "chunks_pipelined": s(6, 48, get(b"/chunks/9") + get(b"/chunks/0") + get(b"/chunks/2", method=b"HEAD") +
                              get(b"/x")),
        "chunks_fail": s(5, 49, get(b"/chunks/4?fail") + get(b"/x")),
        "chunks_http10": s(5, 50, get(b"/chunks/2", b"Connection: keep-alive\r\n", version=b"1.0") + get(b"/x")),
        "chunks_bytewise": s(0, 51, get(b"/chunks/1") + get(b"/chunks/1")),
        "chunks_quiesce": s(5 | 1 << 5, 52, get(b"/chunks/9") + get(b"/x")),
        "chunks_shutdown": s(5 | 2 << 5, 53, get(b"/chunks/9")),
        "chunks_freed_open": s(5 | 3 << 5 | 0x80, 54, get(b"/chunks/9") + get(b"/x")),
    }


def multipart_seeds():
    # byte 0: boundary (bits 0-1: b, ab-ab, ----WebKitFormBoundaryQ1w2,
    # "x'()+_,-./:=? y"), limits (bits 2-4), piece size (bits 5-7); byte 1 seeds pieces
    def s(bnd, lim, piece, seed, body):
        return bytes([bnd | (lim << 2) | (piece << 5), seed]) + body

    def part(b, disp, data, ctype=None, extra=b""):
        h = b"--" + b + b"\r\nContent-Disposition: form-data; " + disp + b"\r\n"
        if ctype:
            h += b"Content-Type: " + ctype + b"\r\n"
        return h + extra + b"\r\n" + data + b"\r\n"

    wk = b"----WebKitFormBoundaryQ1w2"
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\r\n--" * 3
    return {
        "browser_upload": s(2, 0, 7, 1, part(wk, b'name="file"; filename="cat.png"', png, b"image/png") + b"--" + wk + b"--\r\n"),
        "two_parts": s(0, 0, 0, 2, part(b"b", b'name="note"', b"hello") + part(b"b", b"name=f; filename=a.txt", b"text") + b"--b--"),
        "lookalikes": s(1, 0, 3, 3, part(b"ab-ab", b"name=f; filename=x", b"\r\r\n-\r\n--a\r\n--ab-\r\n--ab-a\r\n--ab-aab") + b"--ab-ab--"),
        "preamble_epilogue": s(0, 0, 2, 4, b"preamble\r\n" + part(b"b", b"name=a", b"1") + b"--b--  epilogue\r\n--b\r\n"),
        "padding": s(0, 0, 1, 5, b"--b \t \r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b--"),
        "no_headers": s(0, 0, 4, 6, b"--b\r\n\r\n\r\n--b--"),
        "escapes": s(0, 0, 5, 7, part(b"b", b'name=f; filename="C:\\dir\\a\\"q\\".txt"; filename*=UTF-8\'\'x', b"z") + b"--b--"),
        "many_parts": s(0, 1, 6, 8, part(b"b", b"name=a", b"1") + part(b"b", b"name=c", b"2") + b"--b--"),
        "header_limit": s(0, 2, 0, 9, part(b"b", b"name=a", b"1", extra=b"X-Pad: " + b"y" * 80 + b"\r\n") + b"--b--"),
        "total_limit": s(0, 3, 3, 10, part(b"b", b"name=a", b"1" * 200) + b"--b--"),
        "bare_lf": s(0, 0, 2, 11, b"--b\r\nContent-Disposition: form-data\n\r\n\r\n--b--"),
        "fold": s(0, 0, 2, 12, b"--b\r\nContent-Disposition: form-data\r\n ; name=x\r\n\r\n\r\n--b--"),
        "truncated": s(3, 0, 1, 13, part(b"x'()+_,-./:=? y", b"name=f", b"data")[:-3]),
        "not_close": s(0, 0, 0, 14, b"--b\r\n\r\n\r\n--b-x"),
        "long_filename": s(0, 0, 7, 15, part(b"b", b'name=f; filename="' + b"n" * 256 + b'"', b"") + b"--b--"),
        "ctype_twice": s(0, 0, 7, 16, part(b"b", b"name=f", b"", b"a/b", b"Content-Type: c/d\r\n") + b"--b--"),
    }


def client_hello(configure=None, sni="localhost"):
    """A real ClientHello from Python's ssl (memory BIOs)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if configure:
        configure(ctx)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_conn_seeds():
    """byte 0: mode (bits 0-1), RSA (bit 2), piece size (bits 3-5),
    close_notify (bit 6), server shutdown (bit 7); byte 1: piece seed."""
    import ssl
    import warnings
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    def o(mode, rsa=0, piece=7, notify=0, stop=0):
        return bytes([mode | rsa << 2 | piece << 3 | notify << 6 | stop << 7])

    def weak(ctx):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-SHA:ECDHE-RSA-AES128-SHA:@SECLEVEL=0")

    def old(ctx):
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1

    def tls12(ctx):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    hello = client_hello(tls12)
    req = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
    post = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 20000\r\n\r\n" + b"z" * 20000
    return {
        "hello": o(0) + b"\x01" + hello,
        "hello_rsa_pieces": o(0, 1, 2) + b"\x07" + hello,
        "hello_13": o(0) + b"\x02" + client_hello(),
        "hello_no_sni": o(0) + b"\x03" + client_hello(tls12, sni=None),
        "hello_weak": o(0) + b"\x04" + client_hello(weak),
        "hello_tls10": o(0, 1) + b"\x05" + client_hello(old),
        "hello_truncated": o(0) + b"\x06" + hello[:len(hello) // 2],
        "hello_oversized": o(0) + b"\x07" + b"\x16\x03\x03\x48\x01" + b"\x01" * 100,
        "garbage_first": o(0) + b"\x08" + b"\x00\x01garbage" + hello,
        "sslv2_hello": o(0) + b"\x09" + bytes([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0, 0, 0, 0x10])
        + b"\x00\x00\x2f" * 7 + b"r" * 16,
        "plain_http": o(0) + b"\x0a" + req,
        "app_request": o(1) + b"\x0b" + req,
        "app_pipelined_rsa": o(1, 1, 3) + b"\x0c" + req * 3,
        "app_post_big": o(1, 0, 6, 1) + b"\x0d" + post,
        "app_bad_request": o(1) + b"\x0e" + b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
        "app_shutdown": o(1, 0, 7, 0, 1) + b"\x0f" + req,
        "raw_after_hs_appdata": o(2) + b"\x10" + b"\x17\x03\x03\x00\x20" + b"\x00" * 32,
        "raw_after_hs_alert": o(2) + b"\x11" + b"\x15\x03\x03\x00\x02\x01\x00",
        "raw_after_hs_hello": o(2) + b"\x12" + hello,
        "raw_after_hs_oversized": o(2) + b"\x13" + b"\x17\x03\x03\x48\x01" + b"\x00" * 64,
        "renegotiate": o(3) + b"\x14" + req * 2,
        "renegotiate_rsa_notify": o(3, 1, 4, 1) + b"\x15" + req * 4,
    }


def main():
    targets = {"ws_frame": ws_frame_seeds(), "ws_conn": ws_conn_seeds(), "http_conn": http_conn_seeds(),
               "multipart": multipart_seeds(), "tls_conn": tls_conn_seeds()}
    only = sys.argv[1:]
    for t, seeds in targets.items():
        if only and t not in only:
            continue
        d = os.path.join(HERE, "corpus", t)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)
        print(f"{t}: {len(seeds)} seeds in {d}")


if __name__ == "__main__":
    main()
