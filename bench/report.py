#!/usr/bin/python3
"""Regenerates the "Scenarios" part of docs/performance.md from parley-bench
JSON results (bench/run-all.sh writes them), and plots latency percentiles
against offered load to docs/perf/*.svg with gnuplot.

    bench/report.py [RESULTS_DIR_OR_JSON ...] [--doc docs/performance.md]
                    [--plots docs/perf] [--no-plots]

Only the text between the marker comments
    <!-- bench:scenarios:begin -->  and  <!-- bench:scenarios:end -->
is replaced; when the markers are missing the section is appended. Standard
library only.
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

BEGIN = "<!-- bench:scenarios:begin -->"
END = "<!-- bench:scenarios:end -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "*.json")))
        else:
            files.append(p)
    runs = []
    for f in files:
        try:
            with open(f) as fh:
                d = json.load(fh)
        except (OSError, ValueError) as e:
            print(f"report: skipping {f}: {e}", file=sys.stderr)
            continue
        d["_file"] = f
        d.setdefault("label", d.get("mode", "?"))
        runs.append(d)
    return runs


def num(x, digits=3):
    """Three significant figures, thousands separators for big numbers."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if isinstance(x, int) or round(abs(x)) >= 1000 or float(x).is_integer():
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def command(d):
    """The parley-bench command line with run-specific values as variables."""
    argv = list(d.get("argv") or shlex.split(d.get("command", "")))
    if not argv:
        return "?"
    argv[0] = "$B/bench/parley-bench"
    subst = {"--port": None, "--widget-key": "$KEY", "--server-pid": "$PID"}
    out = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in subst and i + 1 < len(argv):
            v = subst[a]
            if v is None:
                v = "$NGINX_PORT" if d.get("label", "").startswith("http-nginx") else "$PORT"
            out += [a, v]
            i += 2
            continue
        if a == "--json" and i + 1 < len(argv):
            out += [a, "results/" + os.path.basename(argv[i + 1])]
            i += 2
            continue
        out.append(shlex.quote(a) if not a.startswith("$") else a)
        i += 1
    return " ".join(out)


def server_cmd(d):
    return d.get("server_command") or "(server started by hand)"


def srv(d):
    return d.get("server") or {}


def cpu_pct(d, kind=None):
    s = srv(d)
    wall = s.get("wall_s") or 0
    if not wall:
        return None
    if kind is None:
        return 100.0 * s.get("cpu_s", 0) / wall
    t = (s.get("threads") or {}).get(kind)
    return None if t is None else 100.0 * t.get("cpu_s", 0) / wall


def metric(d, k):
    return (srv(d).get("metrics") or {}).get(k)


def commands_block(runs):
    lines = []
    seen = set()
    for d in runs:
        sc = server_cmd(d)
        if sc not in seen:
            seen.add(sc)
            lines.append(("# server: " if not sc.startswith("parleyd") else "") + sc)
        lines.append(command(d))
    return "```sh\n" + "\n".join(lines) + "\n```\n"


def table(header, rows, align=None):
    align = align or ["---:"] * len(header)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


def server_row(d):
    return [num(cpu_pct(d))]


SERVER_HDR = ["server CPU %"]


def server_detail(d):
    return [num(cpu_pct(d, "io")), num(cpu_pct(d, "worker")), num(cpu_pct(d, "writer")),
            num(metric(d, "mean_commit_batch")), num(metric(d, "mean_commit_ms")),
            num(metric(d, "actor_run_queue_max")), num(metric(d, "storage_queue_max")),
            num(((srv(d).get("rss_kb") or {}).get("max") or 0) / 1024.0)]


DETAIL_HDR = ["io CPU %", "worker CPU %", "writer CPU %", "commit batch", "commit ms",
              "actor run queue max", "storage queue max", "RSS max MB"]


def errs(d, *keys):
    e = d.get("errors") or {}
    return " / ".join(str(e.get(k, 0)) for k in keys)


def plot(name, title, xlabel, series, plots_dir, ylabel="latency, ms (log scale)", extra=None):
    """series: list of (x, p50, p99, p999), drawn as lines; extra: list of
    (label, series) of repeated runs, drawn as points. Writes plots_dir/name.svg."""
    if not series or not shutil.which("gnuplot"):
        return None
    os.makedirs(plots_dir, exist_ok=True)
    out = os.path.join(plots_dir, name + ".svg")
    data = "\n".join(f"{x} {a} {b} {c}" for x, a, b, c in sorted(series))
    blocks, more = "", ""
    first = ", run 1" if extra else ""
    for i, (label, ser) in enumerate(extra or []):
        rows = "\n".join(f"{x} {a} {b} {c}" for x, a, b, c in sorted(ser))
        blocks += f"$e{i} << EOD\n{rows}\nEOD\n"
        more += (f", \\\n     $e{i} using 1:2 with points lc 1 pt {6 + i} title \"p50, {label}\""
                 f", \\\n     $e{i} using 1:3 with points lc 2 pt {6 + i} title \"p99, {label}\""
                 f", \\\n     $e{i} using 1:4 with points lc 3 pt {6 + i} title \"p99.9, {label}\"")
    script = f"""
set terminal svg size 640,400 dynamic font "sans,11" background rgb "white"
set output "{out}"
set title "{title}"
set xlabel "{xlabel}"
set ylabel "{ylabel}"
set logscale y
set grid
set key top left
$d << EOD
{data}
EOD
{blocks}
plot $d using 1:2 with linespoints lc 1 title "p50{first}", \\
     $d using 1:3 with linespoints lc 2 title "p99{first}", \\
     $d using 1:4 with linespoints lc 3 title "p99.9{first}"{more}
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)
    except (subprocess.SubprocessError, OSError) as e:
        print(f"report: gnuplot failed for {name}: {e}", file=sys.stderr)
        return None
    return out


def lat(h):
    h = h or {}
    return h.get("p50_ms"), h.get("p99_ms"), h.get("p999_ms")


def render(runs, plots_dir, doc_dir):
    by = {}
    for d in runs:
        by.setdefault(d["label"], []).append(d)
    md = []
    figs = []

    def fig(path, alt):
        if path:
            rel = os.path.relpath(path, doc_dir)
            md.append(f"![{alt}]({rel})\n")

    dates = sorted(d.get("date", "") for d in runs if d.get("date"))
    m = next((d["machine"] for d in runs if d.get("machine")), {})
    loads = [d["machine"].get("loadavg_at_end", [None])[0] for d in runs if d.get("machine")]
    md.append(
        f"Generated by `bench/report.py` from {len(runs)} result files "
        f"(`docs/perf/results/*.json`, written by `bench/run-all.sh build`). "
        f"Machine: {m.get('nproc', '?')} × {m.get('cpu', '?')}, "
        f"{round((m.get('mem_kb') or 0) / 1048576)} GB, kernel {m.get('kernel', '?')}; "
        f"load generator and server on the same cores. "
        + (f"Source tree: `{', '.join(sorted(set(d['source'] for d in runs if d.get('source'))))}` "
           "(`git describe --always --dirty` when `run-all.sh` started). "
           if any(d.get("source") for d in runs) else "")
        + 
        f"Runs from {dates[0] if dates else '?'} to {dates[-1] if dates else '?'}"
        + (f"; 1-minute load average at the end of the runs {min(loads):.2f}–{max(loads):.2f}"
           if loads and None not in loads else "")
        + ". In the commands `$B` is the build directory, `$PORT`/`$KEY`/`$PID` "
        "the fresh server's port, demo widget key and process id as `bench/run-all.sh` "
        "starts it. Latencies are open-loop (from each operation's intended time). "
        "\"server\" columns come from `--server-pid`: CPU per thread kind from "
        "`/proc/PID/task/*/stat` over the measured phase (100 % = one core), commit batch = "
        "Δ`parley_storage_requests_total` / Δ`parley_storage_commits_total`, commit ms = "
        "Δ`parley_storage_commit_seconds_total` per commit, queue maxima sampled 4×/s "
        "from `/metrics`.\n")

    # ---- chat sweep
    chat_files = sorted(by.get("chat", []), key=lambda d: d["_file"])
    chat = []
    for i, d in enumerate(chat_files, 1):
        for r in (d.get("rounds") or [d]):
            r["_run"] = i
            chat.append(r)
    multi = len(chat_files) > 1
    if chat:
        chat.sort(key=lambda r: (r.get("rate", 0), r["_run"]))
        md.append("### Chat: offered-load sweep (`--sweep`)\n")
        d0 = chat_files[0]
        md.append(f"{d0.get('visitors')} visitors, {d0.get('agents')} agent connections, "
                  f"{d0.get('msg_size')}-byte messages, {num(d0.get('duration_s'))} s per rate, "
                  "all rates back to back on the same connections; durable (`--sync=full`). "
                  "Delivery = visitor send → agent receives the event; ack = → durable ack.\n")
        rows = []
        for r in chat:
            dl, ak = r.get("delivery") or {}, r.get("ack") or {}
            rows.append(([str(r["_run"])] if multi else []) +
                        [num(r.get("rate")), num(r.get("delivered_in_window_msgs_per_s")),
                         num(dl.get("p50_ms")), num(dl.get("p99_ms")), num(dl.get("p999_ms")),
                         num(dl.get("max_ms")), num(ak.get("p99_ms")),
                         errs(r, "total", "duplicates", "missing")] + server_row(r))
        md.append(table((["run"] if multi else []) + ["offered msg/s", "achieved in window", "p50 ms", "p99 ms", "p99.9 ms",
                         "max ms", "ack p99 ms", "errors / dup / missing"] + SERVER_HDR, rows))
        fig(plot("chat", "chat: delivery latency vs offered load", "offered messages/s",
                 [(r["rate"],) + lat(r.get("delivery")) for r in chat if r["_run"] == 1],
                 plots_dir, extra=[(f"run {i}", [(r["rate"],) + lat(r.get("delivery"))
                                                 for r in chat if r["_run"] == i])
                                   for i in range(2, len(chat_files) + 1)]),
            "chat delivery latency percentiles against offered load")
        if multi:
            md.append(f"{len(chat_files)} runs, each on a fresh server (lines: run 1, points: "
                      "the other runs); the spread between runs at the same rate is the "
                      "noise to expect from this machine.\n")
        md.append(commands_block(chat_files))

    # ---- fanout
    fo = sorted(by.get("fanout", []), key=lambda d: d.get("rate", 0))
    if fo:
        p = fo[0].get("params", {})
        md.append("### Inbox fan-out (`--mode fanout`)\n")
        md.append(f"{p.get('agents')} agent connections on `subscribe_inbox`; {p.get('visitors')} "
                  f"visitors create conversations (`POST /v1/widget/conversations` with a first "
                  f"message) and post {p.get('messages_per_conversation')} more messages into each "
                  "(`POST …/messages`), open loop at the offered operation rate. Every agent must "
                  "get one `conversation.created` + one `conversation.message` per create and one "
                  "`conversation.message` per post; latency is per frame per agent.\n")
        rows = []
        for d in fo:
            h = d.get("latency") or {}
            rows.append([num(d.get("rate")), num(d.get("deliveries_per_s")),
                         num(h.get("p50_ms")), num(h.get("p99_ms")), num(h.get("p999_ms")),
                         num(h.get("max_ms")), num((d.get("rest") or {}).get("p99_ms")),
                         errs(d, "total", "duplicates", "missing")] + server_row(d))
        md.append(table(["offered ops/s", "inbox frames/s", "p50 ms", "p99 ms", "p99.9 ms",
                         "max ms", "REST p99 ms", "errors / dup / missing"] + SERVER_HDR, rows))
        fig(plot("fanout", "inbox fan-out: frame latency vs offered operations",
                 "offered REST operations/s", [(d["rate"],) + lat(d.get("latency")) for d in fo],
                 plots_dir), "inbox fan-out latency percentiles against offered load")
        md.append(commands_block(fo))

    # ---- storm
    st = by.get("storm", [])
    if st:
        md.append("### Connect storm (`--mode storm`)\n")
        md.append("Visitor WebSockets opened as fast as possible (TCP connect + upgrade + `auth` "
                  "+ its ack), at most `--concurrency` attempts in flight; latency per attempt "
                  "from its own start.\n")
        rows = []
        for d in st:
            p, h = d.get("params", {}), d.get("latency") or {}
            rows.append([num(p.get("connections")), num(p.get("concurrency")),
                         num(d.get("handshakes_per_s")), num(h.get("p50_ms")),
                         num(h.get("p99_ms")), num(h.get("p999_ms")), num(h.get("max_ms")),
                         str(d.get("failed", 0))] + server_row(d))
        md.append(table(["connections", "in flight", "handshakes/s", "p50 ms", "p99 ms",
                         "p99.9 ms", "max ms", "failed"] + SERVER_HDR, rows))
        md.append(commands_block(st))

    # ---- resume
    rs = by.get("resume", [])
    if rs:
        md.append("### Resume storm (`--mode resume`)\n")
        md.append("Every visitor (each subscribed to its own conversation) is dropped at once; "
                  "while they are away the agents store `--messages` messages in each "
                  "conversation; then all reconnect, authenticate and `subscribe` with "
                  "`after_seq` = last seen. Resume time = from the start of the reconnect storm "
                  "until the visitor's subscribe is acknowledged with every missed event received "
                  "(per connection: from its own reconnect attempt).\n")
        rows = []
        for d in rs:
            p, h = d.get("params", {}), d.get("latency") or {}
            pc = d.get("latency_per_connection") or {}
            ev = d.get("events") or {}
            rows.append([num(p.get("visitors")), num(p.get("messages_per_conversation")),
                         num(d.get("resume_total_s")), num(h.get("p50_ms")),
                         num(h.get("p99_ms")), num(h.get("p999_ms")), num(pc.get("p99_ms")),
                         f"{ev.get('expected', 0):,} / {ev.get('received', 0):,}",
                         errs(d, "missing", "duplicates", "total"),
                         num(d.get("agent_sends_acked", 0) / d["agent_send_s"])
                         if d.get("agent_send_s") else "–"] + server_row(d))
        md.append(table(["visitors", "missed each", "all resumed in s", "p50 ms", "p99 ms",
                         "p99.9 ms", "per-conn p99 ms", "events expected / received",
                         "missing / dup / errors", "agent sends/s while away"] + SERVER_HDR,
                        rows))
        md.append(commands_block(rs))

    # ---- rest
    re_ = sorted(by.get("rest", []), key=lambda d: d.get("rate", 0))
    if re_:
        p = re_[0].get("params", {})
        md.append("### REST reads (`--mode rest`)\n")
        md.append(f"Agent token; even requests `GET /v1/conversations?limit=25`, odd ones "
                  f"`GET /v1/conversations/{{id}}/messages?limit=100` over {p.get('conversations')} "
                  f"conversations of {p.get('messages_per_conversation')} messages; "
                  f"{p.get('http_conns')} keep-alive connections, open loop.\n")
        rows = []
        for d in re_:
            h = d.get("latency") or {}
            rows.append([num(d.get("rate")), num(d.get("in_window_per_s")), num(h.get("p50_ms")),
                         num(h.get("p99_ms")), num(h.get("p999_ms")), num(h.get("max_ms")),
                         num((d.get("latency_list") or {}).get("p99_ms")),
                         num((d.get("latency_messages") or {}).get("p99_ms")),
                         num((d.get("errors") or {}).get("total", 0))] + server_row(d))
        md.append(table(["offered req/s", "achieved in window", "p50 ms", "p99 ms", "p99.9 ms",
                         "max ms",
                         "list p99 ms", "messages p99 ms", "errors"] + SERVER_HDR, rows))
        fig(plot("rest", "REST reads: latency vs offered load", "offered requests/s",
                 [(d["rate"],) + lat(d.get("latency")) for d in re_], plots_dir),
            "REST read latency percentiles against offered load")
        md.append(commands_block(re_))

    # ---- HTTP path: nginx vs parleyd
    hp = [d for lbl in ("http-nginx-static", "http-parleyd-static", "http-parleyd-healthz")
          for d in sorted(by.get(lbl, []), key=lambda d: d.get("rate", 0))]
    if hp:
        md.append("### HTTP path upper bound: parleyd vs nginx (`--mode rest --url-path`)\n")
        md.append("The same generator and settings against nginx serving a 100-byte static file "
                  "(no auth, keep-alive), parleyd serving the same file from its `--web` folder, "
                  "and parleyd's `GET /healthz`.\n")
        names = {"http-nginx-static": "nginx, /small.txt",
                 "http-parleyd-static": "parleyd, /small.txt",
                 "http-parleyd-healthz": "parleyd, /healthz"}
        rows = []
        for d in hp:
            h = d.get("latency") or {}
            rows.append([names[d["label"]], num(d.get("rate")), num(d.get("in_window_per_s")),
                         num(h.get("p50_ms")), num(h.get("p99_ms")), num(h.get("p999_ms")),
                         num((d.get("errors") or {}).get("total", 0)),
                         num(cpu_pct(d)) if d.get("server") else "–",
                         num((d.get("send_lag") or {}).get("p99_ms"))])
        md.append(table(["target", "offered req/s", "achieved in window", "p50 ms", "p99 ms",
                         "p99.9 ms", "not served by the deadline", "server CPU %",
                         "generator lag p99 ms"], rows,
                        ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]))
        md.append("One generator loop (one core at most) drives all 16 connections; "
                  "\"generator lag\" is how late it issued requests (no idle connection or no "
                  "CPU), which is included in the latencies. nginx runs `worker_processes auto` "
                  "(2 worker processes, CPU summed from their /proc entries); parleyd its "
                  "default I/O threads. Both share the 2 cores with the generator.\n")
        ng = {d.get("rate"): d for d in by.get("http-nginx-static", [])}
        ratios = []
        for lbl in ("http-parleyd-static", "http-parleyd-healthz"):
            for d in sorted(by.get(lbl, []), key=lambda d: d.get("rate", 0)):
                n = ng.get(d.get("rate"))
                if n and n.get("in_window_per_s"):
                    r = d["in_window_per_s"] / n["in_window_per_s"]
                    p99r = ((d.get("latency") or {}).get("p99_ms") or 0) / \
                        max((n.get("latency") or {}).get("p99_ms") or 1e-9, 1e-9)
                    ratios.append(f"{names[lbl]} at {num(d['rate'])} offered: "
                                  f"{r:.2f}× nginx's throughput, p99 {p99r:.2f}× nginx's")
        if ratios:
            md.append("Ratios: " + "; ".join(ratios) + ".\n")
        md.append(commands_block(hp))

    # ---- idle
    idle = by.get("idle", [])
    if idle:
        md.append("### Idle WebSockets (`--mode idle`)\n")
        rows = []
        for d in idle:
            rows.append([num(d.get("connections_open")), str(d.get("connect_failures", 0)),
                         num(d.get("open_s")), num(d.get("server_rss_per_conn_bytes"))])
        md.append(table(["connections open", "failed", "opened in s",
                         "server RSS per connection, bytes"], rows))
        md.append(commands_block(idle))

    # ---- server-side detail of every run
    detail = []
    for d in chat:
        detail.append(["chat", num(d.get("rate")) + " msg/s" +
                       (f" (run {d['_run']})" if multi else "")] + server_detail(d))
    for lbl, unit in (("fanout", " ops/s"), ("storm", ""), ("resume", ""), ("rest", " req/s"),
                      ("http-parleyd-static", " req/s"), ("http-parleyd-healthz", " req/s"),
                      ("idle", "")):
        for d in sorted(by.get(lbl, []), key=lambda d: d.get("rate", 0)):
            if not d.get("server"):
                continue
            what = num(d.get("rate")) + unit if d.get("rate") else \
                num((d.get("params") or {}).get("connections") or
                    (d.get("params") or {}).get("visitors") or d.get("connections_open")) + " conns"
            detail.append([lbl, what] + server_detail(d))
    if detail:
        md.append("### Server-side figures of every run\n")
        md.append("Per thread kind, 100 % = one core busy for the whole measured phase (io = "
                  "the I/O threads `io-N`, worker = actor workers, writer = the storage writer).\n")
        md.append(table(["scenario", "load"] + DETAIL_HDR, detail,
                        ["---", "---:"] + ["---:"] * len(DETAIL_HDR)))
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*", default=[os.path.join(ROOT, "docs/perf/results")])
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs/performance.md"))
    ap.add_argument("--plots", default=os.path.join(ROOT, "docs/perf"))
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--stdout", action="store_true", help="print the section, leave the doc")
    a = ap.parse_args()
    runs = load(a.inputs)
    if not runs:
        print("report: no results", file=sys.stderr)
        return 1
    plots_dir = None if a.no_plots else a.plots
    body = render(runs, plots_dir or "/nonexistent", os.path.dirname(os.path.abspath(a.doc))) \
        if plots_dir else render_noplot(runs, a.doc)
    if a.stdout:
        print(body)
        return 0
    with open(a.doc) as fh:
        doc = fh.read()
    block = f"{BEGIN}\n<!-- generated by bench/report.py; edit the script, not this text -->\n\n" \
            f"{body}\n{END}"
    if BEGIN in doc and END in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, doc, count=1,
                     flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n## Scenarios (bench/run-all.sh)\n\n" + block + "\n"
    with open(a.doc, "w") as fh:
        fh.write(doc)
    print(f"report: {len(runs)} runs -> {a.doc}" + (f", plots in {plots_dir}" if plots_dir else ""))
    return 0


def render_noplot(runs, doc):
    global plot
    saved = plot
    plot = lambda *args, **kw: None  # noqa: E731
    try:
        return render(runs, "/nonexistent", os.path.dirname(os.path.abspath(doc)))
    finally:
        plot = saved


if __name__ == "__main__":
    sys.exit(main())
