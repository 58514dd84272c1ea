#!/usr/bin/env python3
"""Query latency of GET /v1/search against a running parleyd (the search
benchmark, bench/search-bench.sh): logs in as the demo admin, runs each
query kind REPS times over one keep-alive connection, one at a time, and
prints p50/p99 (ms, client-measured wall time per request, HTTP included)
and the mean hits per page. Words come from parley-search-fill's output.
"""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    port, pw, words_line = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    w = words_line.split()
    common, mid, rare = w[2:5], w[6:9], w[10:13]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(method, path, body=None, tok=None):
        h = {"Content-Type": "application/json"} if body else {}
        if tok:
            h["Authorization"] = "Bearer " + tok
        c.request(method, path, body=json.dumps(body) if body else None, headers=h)
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"null")

    st, b = call("POST", "/v1/auth/login", {"email": "admin@demo.parley", "password": pw})
    assert st == 200, (st, b)
    tok = b["access_token"]
    kinds = [
        ("one common word", lambda i: {"q": common[i % 3]}),
        ("two common words", lambda i: {"q": "%s %s" % (common[i % 3], common[(i + 1) % 3])}),
        ("one mid-frequency word", lambda i: {"q": mid[i % 3]}),
        ("one rare word", lambda i: {"q": rare[i % 3]}),
        ("common AND rare", lambda i: {"q": "%s %s" % (common[i % 3], rare[i % 3])}),
        ("word + status filter", lambda i: {"q": common[i % 3], "status": "resolved"}),
        ("visitor name (name:)", lambda i: {"q": "name:" + ["alice", "tanaka", "dubois"][i % 3]}),
        ("Chinese/Japanese bigrams", lambda i: {"q": ["订单", "注文", "パスワード"][i % 3]}),
        ("status filter alone", lambda i: {"status": "resolved"}),
        ("no match", lambda i: {"q": "zzqqxx%d" % i}),
        ("page 5 of a common word", None),
    ]
    print("# query kind | p50 ms | p99 ms | mean hits | reps")
    for name, make in kinds:
        lat, hits = [], 0
        for i in range(reps):
            if make is None:   # follow cursors to the fifth page; time that page only
                params = {"q": common[i % 3]}
                for _ in range(4):
                    _, b = call("GET", "/v1/search?" + urllib.parse.urlencode(params), tok=tok)
                    params["cursor"] = b["next_cursor"]
            else:
                params = make(i)
            t0 = time.perf_counter()
            st, b = call("GET", "/v1/search?" + urllib.parse.urlencode(params), tok=tok)
            lat.append((time.perf_counter() - t0) * 1000)
            assert st == 200, (st, b)
            hits += len(b["data"])
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print("%s | %.2f | %.2f | %.1f | %d" % (name, p(0.5), p(0.99), hits / reps, reps))


if __name__ == "__main__":
    main()
