"""The benchmark harness against a real server, at small sizes: every mode
writes its JSON, counts what it checks, and reports nothing lost or
duplicated; bad options are refused. (Figures are the benchmarks' business;
here only that the harness measures.)"""
import json
import os
import subprocess
import tempfile

from harness import DEMO_PASSWORD, Server, main

BENCH = os.environ.get("PARLEY_BENCH", os.path.join(os.path.dirname(__file__), "../../build/bench/parley-bench"))


def bench(s, *args, timeout=120):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        r = subprocess.run([BENCH, "--port", str(s.port), "--quiet", "--json", path] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, (args, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
        with open(path) as fh:
            return json.load(fh), r.stdout
    finally:
        os.unlink(path)


def test_chat_and_sweep():
    with Server() as s:
        d, out = bench(s, "--widget-key", s.widget_key, "--password", DEMO_PASSWORD, "--visitors", "20",
                       "--agents", "2", "--rate", "400", "--duration", "1", "--server-pid", str(s.proc.pid))
        assert d["sent"] == d["acked"] == d["delivered"] == 400, d
        assert d["errors"]["total"] == 0 and d["errors"]["duplicates"] == 0, d["errors"]
        assert d["delivery"]["count"] == 400 and 0 < d["delivery"]["p50_ms"] <= d["delivery"]["p99_ms"], d
        sv = d["server"]
        assert sv["cpu_s"] > 0 and sv["generator"]["cpu_s"] > 0 and "writer" in sv["threads"], sv
        assert "delivered_msgs_per_s=" in out
        d, _ = bench(s, "--widget-key", s.widget_key, "--password", DEMO_PASSWORD, "--visitors", "10",
                     "--agents", "2", "--duration", "1", "--sweep", "100,300")
        assert [r["rate"] for r in d["rounds"]] == [100, 300], d
        assert all(r["errors"]["total"] == 0 and r["delivered"] == r["sent"] for r in d["rounds"]), d


def test_msg_words_and_search_fill():
    """--msg-words texts are indexed and found; parley-search-fill writes
    through the real writer into a stopped server's data directory and the
    server then finds its words (the search benchmark's harness)."""
    import re
    import urllib.parse
    with Server() as s:
        d, _ = bench(s, "--widget-key", s.widget_key, "--password", DEMO_PASSWORD, "--visitors", "10",
                     "--agents", "2", "--rate", "200", "--duration", "1", "--msg-words")
        assert d["errors"]["total"] == 0 and d["delivered"] == d["sent"] == 200, d["errors"]
        tok = s.login()["access_token"]
        st, b, _ = s.request("GET", "/v1/search?q=kakaka", token=tok)    # the commonest made-up word
        assert st == 200 and b["data"], (st, b)
        s.stop()
        fill = os.path.join(os.path.dirname(BENCH), "parley-search-fill")
        r = subprocess.run([fill, "--data", s.data_dir, "--messages", "3000", "--per-conv", "10"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        m = re.search(r"^messages (\d+) conversations (\d+) failed 0 ", r.stdout, re.M)
        assert m and m.group(1) == "3000" and m.group(2) == "300", r.stdout
        assert re.search(r"bytes_per_message [0-9.]+ entries_per_message [0-9.]+", r.stdout), r.stdout
        s.start()
        tok = s.login()["access_token"]
        st, b, _ = s.request("GET", "/v1/search?" + urllib.parse.urlencode({"q": "order", "limit": 50}), token=tok)
        assert st == 200 and len(b["data"]) == 50 and b["next_cursor"], (st, b)
        assert all(h["match"] and "order" in h["match"]["snippet"].lower() for h in b["data"]), b["data"][:2]


def test_idle_over_several_processes():
    with Server() as s:
        d, out = bench(s, "--mode", "idle", "--widget-key", s.widget_key, "--connections", "300", "--procs", "3",
                       "--source-addrs", "127.0.0.2,127.0.0.3", "--settle", "0.5", "--server-pid", str(s.proc.pid))
        assert d["connections_open"] == 300 and d["connect_failures"] == 0 and d["lost"] == 0, d
        assert d["generator_processes"] == 3, d
        assert d["server_rss_per_conn_bytes"] > 0, d
        assert "3 process(es)" in out, out


def test_resume_storm_and_rest():
    with Server() as s:
        d, _ = bench(s, "--mode", "resume", "--widget-key", s.widget_key, "--password", DEMO_PASSWORD,
                     "--connections", "50", "--agents", "2", "--messages", "3")
        e = d["errors"]
        assert e["total"] == 0 and e["missing"] == 0 and e["duplicates"] == 0 and e["seq_gaps"] == 0, e
        assert d["resumed_ok"] == 50 and d["events"]["expected"] == d["events"]["received"] == 150, d
        d, _ = bench(s, "--mode", "rest", "--rest-reads", "list", "--widget-key", s.widget_key, "--password",
                     DEMO_PASSWORD, "--visitors", "5", "--messages", "1", "--rate", "200", "--duration", "1")
        assert d["params"]["reads"] == "list" and d["latency_list"]["count"] == 200, d
        assert d["latency_messages"]["count"] == 0, d


def test_bad_options_are_refused():
    for args in (["--mode", "nope"], ["--rest-reads", "some"], ["--rest-reads", ""], ["--procs", "0"],
                 ["--procs", "65"], ["--procs", "two"], ["--rate", "-1"]):
        r = subprocess.run([BENCH, "--port", "1"] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (args, r.returncode, r.stderr)


if __name__ == "__main__":
    main([test_chat_and_sweep, test_msg_words_and_search_fill, test_idle_over_several_processes, test_resume_storm_and_rest,
          test_bad_options_are_refused])
