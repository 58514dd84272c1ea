#!/usr/bin/python3
"""Regenerates the measured parts of docs/performance.md from parley-bench
JSON results, and plots latency percentiles against offered load to
docs/perf/*.svg with gnuplot.

    bench/report.py [RESULTS_DIR_OR_JSON ...] [--doc docs/performance.md]
                    [--plots docs/perf] [--no-plots] [--stdout]

Directories are read recursively (default: docs/perf/results). Each section
of the doc lives between its own pair of marker comments and is rewritten
only when the results hold runs for it; otherwise it is left as it is (with
a warning):

    <!-- bench:scenarios:begin -->  ... <!-- bench:scenarios:end -->
        every scenario of bench/run-all.sh (docs/perf/results/*.json; labels
        chat, fanout, storm, resume, rest, rest-list, idle, http-*; rest-list
        and http-* make one table per offered rate); appended to the doc when
        its markers are missing
    <!-- bench:core-chat:begin -->  ... <!-- bench:core-chat:end -->
    <!-- bench:core-idle:begin -->  ... <!-- bench:core-idle:end -->
        the headline "Durable 1:1 chat" and "Idle WebSocket connections"
        sections from bench/run-core.sh (docs/perf/results/core/; labels
        core-chat, core-chat-nosync, core-idle, core-storage, core-host)
    <!-- bench:compare:begin -->    ... <!-- bench:compare:end -->
        the Socket.IO + PostgreSQL comparison from
        bench/peers/socketio-pg/run-compare.sh (docs/perf/results/compare/;
        labels compare-peer-chat, compare-parleyd-chat, compare-peer-idle,
        compare-parleyd-idle, compare-session, and the core-* runs of the
        bench/run-core.sh it starts, in compare/core/)
    <!-- bench:tls:begin -->        ... <!-- bench:tls:end -->
        plain beside TLS from bench/run-tls.sh (docs/perf/results/tls/;
        labels tls-chat, tls-idle, tls-storm, tls-handshake; "transport"
        plain, ec or rsa)

The core and compare sections use the newest session (the files one run of
the script wrote, by their run_id) and say which files were left out.
Standard library only.
"""
import argparse
import datetime
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
SECTIONS = ("summary", "scenarios", "core-chat", "core-idle", "compare", "tls")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P99_LIMIT_MS = 50.0   # "sustained", as bench/peers/socketio-pg/run-compare.sh defines it
IN_WINDOW_MIN = 0.98


def markers(name):
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def warn(msg):
    print(f"report: {msg}", file=sys.stderr)


def load(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "**", "*.json"), recursive=True))
        else:
            files.append(p)
    runs = []
    seen = set()
    for f in files:
        if os.path.realpath(f) in seen:
            continue
        seen.add(os.path.realpath(f))
        try:
            with open(f) as fh:
                d = json.load(fh)
        except (OSError, ValueError) as e:
            warn(f"skipping {f}: {e}")
            continue
        if not isinstance(d, dict):
            warn(f"skipping {f}: not a result object")
            continue
        d["_file"] = f
        if not d.get("date"):   # the file's mtime stands in for a missing date
            d["date"] = datetime.datetime.fromtimestamp(
                os.path.getmtime(f), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            d["_date_from_mtime"] = True
        d.setdefault("label", d.get("mode", "?"))
        runs.append(d)
    return runs


def suite(d):
    if d.get("suite") in ("core", "compare", "scenarios", "tls"):
        return d["suite"]
    lbl = d.get("label", "")
    if lbl.startswith("core-"):
        return "core"
    if lbl.startswith("compare-"):
        return "compare"
    if lbl.startswith("tls-"):
        return "tls"
    return "scenarios"


def sessions(runs):
    """{session key: [runs]}; the key is the run_id the script wrote, else the directory."""
    out = {}
    for d in runs:
        out.setdefault(d.get("run_id") or "dir:" + os.path.dirname(os.path.abspath(d["_file"])),
                       []).append(d)
    return out


def newest(groups, what):
    """The newest of several sessions (by their latest date); warns about the others."""
    if not groups:
        return None
    keys = sorted(groups, key=lambda k: max(d.get("date", "") for d in groups[k]))
    for k in keys[:-1]:
        warn(f"{what}: using the newest session; leaving out {len(groups[k])} files of an older one "
             f"({rel(os.path.dirname(groups[k][0]['_file']))}, {k})")
    return groups[keys[-1]]


def rel(path):
    a = os.path.abspath(path)
    return os.path.relpath(a, ROOT) if a == ROOT or a.startswith(ROOT + os.sep) else a


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


def command(d, json_path=None, subst=None):
    """The parley-bench command line with run-specific values as variables.
    json_path(path) names the --json file (default results/BASENAME); subst
    maps more flags to the text that replaces their value."""
    argv = list(d.get("argv") or shlex.split(d.get("command", "")))
    if not argv:
        return "?"
    argv[0] = "$B/bench/parley-bench"
    sub = {"--port": None, "--widget-key": "$KEY", "--server-pid": "$PID"}
    sub.update(subst or {})
    out = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in sub and i + 1 < len(argv):
            v = sub[a]
            if v is None:
                v = "$NGINX_PORT" if d.get("label", "").startswith("http-nginx") else "$PORT"
            out += [a, v]
            i += 2
            continue
        if a == "--json" and i + 1 < len(argv):
            out += [a, json_path(argv[i + 1]) if json_path else
                    "results/" + os.path.basename(argv[i + 1])]
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


def plot_lines(name, title, xlabel, lines, plots_dir, ylabel="p99 latency, ms (log scale)"):
    """lines: list of (label, [(x, y), ...]), one line each. Writes
    plots_dir/name.svg; None without gnuplot or data."""
    lines = [(lbl, sorted(p for p in pts if p[1] is not None)) for lbl, pts in lines]
    lines = [(lbl, pts) for lbl, pts in lines if pts]
    if not lines or not shutil.which("gnuplot"):
        return None
    os.makedirs(plots_dir, exist_ok=True)
    out = os.path.join(plots_dir, name + ".svg")
    blocks = "".join(f"$l{i} << EOD\n" + "\n".join(f"{x} {y}" for x, y in pts) + "\nEOD\n"
                     for i, (_, pts) in enumerate(lines))
    plots = ", \\\n     ".join(f"$l{i} using 1:2 with linespoints lc {i + 1} pt {i + 5} title \"{lbl}\""
                                for i, (lbl, _) in enumerate(lines))
    script = f"""
set terminal svg size 640,400 dynamic font "sans,11" background rgb "white"
set output "{out}"
set title "{title}"
set xlabel "{xlabel}"
set ylabel "{ylabel}"
set logscale y
set grid
set key top left
{blocks}
plot {plots}
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


# the HTTP-path part of bench/run-all.sh, one rate ladder for all: label, name in the tables
HTTP_TARGETS = (("rest-list", "parleyd, cached list"),
                ("http-parleyd-static", "parleyd, /small.txt"),
                ("http-parleyd-healthz", "parleyd, /healthz"),
                ("http-nginx-static", "nginx, /small.txt"))
HTTP_P99_MS = 10.0        # "sustained" there: p99 below this,
HTTP_IN_WINDOW_MIN = 0.99  # this share of the offered rate answered in the window, no errors
LIST_VS_NGINX_TARGET = 0.5  # cached list / nginx static file, highest sustained rates


def http_sustained(d):
    rate = d.get("rate") or 0
    p99 = (d.get("latency") or {}).get("p99_ms")
    return bool(rate and p99 is not None and p99 < HTTP_P99_MS
                and (d.get("in_window_per_s") or 0) >= HTTP_IN_WINDOW_MIN * rate
                and not (d.get("errors") or {}).get("total"))


def cpu_us_per_req(d):
    """Server CPU per answered request, µs (parleyd: --server-pid; nginx: run-all.sh)."""
    s = srv(d)
    return 1e6 * s["cpu_s"] / d["ok"] if s.get("cpu_s") is not None and d.get("ok") else None


def body_per_resp(d):
    return d["body_bytes"] / d["ok"] if d.get("ok") and d.get("body_bytes") is not None else None


def span(values, unit=""):
    v = sorted(x for x in values if x is not None)
    if not v:
        return "–"
    a, b = num(v[0]), num(v[-1])
    return f"{a}{unit}" if a == b else f"{a}–{b}{unit}"


def render_http(by, runs):
    """The HTTP-path part of run-all.sh: per offered rate the cached conversation list
    (rest-list), parleyd's static file and /healthz, and nginx's static file."""
    names = dict(HTTP_TARGETS)
    of = {lbl: {d.get("rate"): d for d in sorted(by.get(lbl, []), key=lambda d: d["_file"])}
          for lbl in names}
    present = [lbl for lbl, _ in HTTP_TARGETS if of[lbl]]
    rates = sorted({r for lbl in present for r in of[lbl] if r})
    lst, ngx = of["rest-list"], of["http-nginx-static"]
    md = []
    if lst:
        md.append("### Cached conversation list vs nginx (`--mode rest`)\n")
        p = next(iter(lst.values())).get("params") or {}
        md.append(
            f"One rate ladder for every target, the same generator and settings ("
            f"{p.get('http_conns', 16)} keep-alive connections, open loop, "
            f"{num(p.get('duration_s'))} s per rate): parleyd answering "
            "`GET /v1/conversations?limit=25` with an agent token (`--rest-reads list`, "
            f"{p.get('conversations')} new conversations of {p.get('messages_per_conversation')} "
            f"message{'' if p.get('messages_per_conversation') == 1 else 's'} seeded before each "
            "rate; the list body is "
            f"{span([body_per_resp(d) for d in lst.values()], ' bytes')} = `body_bytes` / `ok`). "
            "Nothing changes the tenant's conversations during the measured phase, so after "
            "the first request every list is served from the server's list cache. Against it: "
            "parleyd serving a 100-byte file from its `--web` folder and its `GET /healthz`, "
            "and nginx serving the same file (no auth).\n")
    else:
        md.append("### HTTP path upper bound: parleyd vs nginx (`--mode rest --url-path`)\n")
        md.append("The same generator and settings against nginx serving a 100-byte static file "
                  "(no auth, keep-alive), parleyd serving the same file from its `--web` folder, "
                  "and parleyd's `GET /healthz`.\n")
    rows = []
    for r in rates:
        first = True
        for lbl in present:
            d = of[lbl].get(r)
            if d is None:
                continue
            h = d.get("latency") or {}
            rows.append([num(r) if first else "", names[lbl], num(d.get("in_window_per_s")),
                         num(h.get("p50_ms")), num(h.get("p99_ms")), num(h.get("p999_ms")),
                         num((d.get("errors") or {}).get("total", 0)),
                         num(cpu_pct(d)) if d.get("server") else "–", num(cpu_us_per_req(d)),
                         num((d.get("send_lag") or {}).get("p99_ms")),
                         "✓" if http_sustained(d) else "✗"])
            first = False
    md.append(table(["offered req/s", "target", "achieved in window, req/s", "p50 ms", "p99 ms",
                     "p99.9 ms", "errors", "server CPU %", "server CPU µs/request",
                     "generator lag p99 ms", "sustained"], rows,
                    ["---:", "---"] + ["---:"] * 8 + ["---"]))
    md.append(f"Sustained (✓) = at least {HTTP_IN_WINDOW_MIN * 100:g} % of the offered rate "
              f"answered (200) within the measured window, p99 < {num(HTTP_P99_MS)} ms and no "
              "errors (errors include requests cut off by the deadline, duration + `--drain`). "
              "Server CPU per request = the server's CPU seconds over the run / requests answered: "
              "parleyd's from `--server-pid` (every thread, from the end of the setup to the end "
              "of the run), nginx's from the /proc entries of its worker processes over the "
              "whole parley-bench run. One generator loop (one core at most) drives all the "
              "connections; \"generator lag\" is how late it issued requests (no idle "
              "connection or no CPU), which is included in the latencies. nginx runs "
              "`worker_processes auto` (one worker per core); parleyd its default I/O threads. "
              "Both share the cores with the generator.\n")

    # the highest sustained rate of each target, and the ratios to nginx
    best = {}
    for lbl in present:
        ok = [r for r, d in of[lbl].items() if r and http_sustained(d)]
        top = max(r for r in of[lbl] if r)
        hs = max(ok) if ok else None
        best[lbl] = (hs, hs is not None and hs == top)
    rows = []
    for lbl in present:
        hs, at_top = best[lbl]
        d = of[lbl].get(hs) if hs else None
        rows.append([names[lbl], ("≥ " if at_top else "") + num(hs) if hs else "none",
                     num(max((x.get("in_window_per_s") or 0) for x in of[lbl].values())),
                     num(cpu_us_per_req(d)) if d else "–",
                     span([body_per_resp(x) for x in of[lbl].values()])])
    md.append(table(["target", "highest sustained offered req/s",
                     "most answered in window at any rate, req/s",
                     "server CPU µs/request at the highest sustained rate", "body bytes"], rows,
                    ["---", "---:", "---:", "---:", "---:"]))

    def ratio_of(lbl):
        """(text, value or None, exact): highest sustained rate of lbl / nginx's."""
        (a, a_top), (b, b_top) = best[lbl], best["http-nginx-static"]
        if not b:
            return "n/a (nginx sustained no rate)", None, False
        if not a:
            return f"0 / {num(b)} (sustained no rate)", 0.0, True
        if a_top and b_top:
            return (f"n/a: both sustained the whole ladder (up to {num(a)} req/s); "
                    "offer more (`HTTP_RATES`)"), None, False
        pre = "≥ " if a_top else "≤ " if b_top else ""
        return f"{pre}{num(a)} / {num(b)} = **{pre}{a / b:.2f}**", a / b, not (a_top or b_top)

    if ngx:
        rows = []
        nmost = max((x.get("in_window_per_s") or 0) for x in ngx.values())
        for lbl in present:
            if lbl == "http-nginx-static":
                continue
            text, v, exact = ratio_of(lbl)
            if lbl == "rest-list" and v is not None:
                a_top = best[lbl][1]
                if v >= LIST_VS_NGINX_TARGET and (exact or a_top):
                    verdict = "met"
                elif v < LIST_VS_NGINX_TARGET and (exact or not a_top):
                    verdict = "not met"
                else:
                    verdict = "not decided by this ladder"
                text += f" (target ≥ {LIST_VS_NGINX_TARGET:g}: {verdict})"
            most = max((x.get("in_window_per_s") or 0) for x in of[lbl].values())
            common = max((r for r, d in of[lbl].items() if r and http_sustained(d)
                          and ngx.get(r) is not None and http_sustained(ngx[r])), default=None)
            cpu = "–"
            if common:
                a, b = cpu_us_per_req(of[lbl][common]), cpu_us_per_req(ngx[common])
                if a is not None and b:
                    cpu = f"at {num(common)} req/s: {num(a)} vs {num(b)} µs = {a / b:.2f}×"
            rows.append([names[lbl], text, f"{most / nmost:.2f}×" if nmost else "–", cpu])
        md.append(table(["against nginx, /small.txt", "highest sustained offered rate",
                         "most answered in window at any rate",
                         "server CPU per request, highest rate both sustain"], rows,
                        ["---", "---", "---:", "---"]))
        md.append("The highest sustained rates are only as fine as the ladder's steps; "
                  "\"≥\"/\"≤\": a target sustained the top of the ladder, so its ceiling was "
                  "not reached.\n")

    # commands: one line per target, $RATE taking each value of the ladder
    lines = [f"# RATE in {' '.join(num(r).replace(',', '') for r in rates)}   "
             "(HTTP_RATES of bench/run-all.sh)"]
    seen = set()
    for lbl in present:
        for d in of[lbl].values():
            sc = server_cmd(d)
            if sc not in seen:
                seen.add(sc)
                lines.append(("# server: " if not sc.startswith("parleyd") else "") + sc)
            c = command(d, subst={"--rate": "$RATE"}, json_path=lambda p: "results/" + re.sub(
                r"-[0-9.]+\.json$", "-$RATE.json", os.path.basename(p)))
            if c not in seen:
                seen.add(c)
                lines.append(c)
    md.append("```sh\n" + "\n".join(lines) + "\n```\n")
    return "\n".join(md)


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
    dirs = sorted(set(rel(os.path.dirname(d["_file"])) for d in runs))
    scripts = sorted(set(d["script_command"] for d in runs if d.get("script_command")))
    md.append(
        f"Generated by `bench/report.py` from {len(runs)} result files "
        f"({', '.join(f'`{x}/*.json`' for x in dirs)}, written by "
        f"{' and '.join(f'`{x}`' for x in scripts) or '`bench/run-all.sh build`'}). "
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

    # ---- HTTP path: the cached conversation list and parleyd's static file vs nginx
    hp_all = [d for lbl, _ in HTTP_TARGETS for d in by.get(lbl, [])]
    if hp_all:
        md.append(render_http(by, hp_all))
        fig(plot_lines("http", "HTTP path: p99 latency vs offered load", "offered requests/s",
                       [(name, [(d.get("rate"), (d.get("latency") or {}).get("p99_ms"))
                                for d in by.get(lbl, [])])
                        for lbl, name in HTTP_TARGETS], plots_dir),
            "p99 latency against offered load: cached conversation list, parleyd static file and "
            "/healthz, nginx static file")

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
                      ("rest-list", " req/s"), ("http-parleyd-static", " req/s"),
                      ("http-parleyd-healthz", " req/s"), ("idle", "")):
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


# ------------------------------------------------------------ shared by the other sections

def fmt_date(iso):
    """'2026-11-22T05:39:04.347Z' -> ('2026-11-22', '05:39:04')"""
    m = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d(?::\d\d)?)", iso or "")
    return (m.group(1), m.group(2)) if m else (iso or "?", "")


def date_span(runs):
    ds = sorted(d["date"] for d in runs if d.get("date"))
    if not ds:
        return "date unknown"
    (d0, t0), (d1, t1) = fmt_date(ds[0]), fmt_date(ds[-1])
    if d0 == d1:
        out = f"{d0} {t0}" + (f"–{t1}" if t1 != t0 else "") + " UTC"
    else:
        out = f"{d0} {t0} UTC – {d1} {t1} UTC"
    if any(d.get("_date_from_mtime") for d in runs):
        out += " (partly from the files' modification times)"
    return out


def machine_text(runs):
    m = {}
    for d in runs:   # the most complete record
        mm = d.get("machine") or {}
        if len(mm) > len(m):
            m = mm
    parts = [f"{m.get('nproc', '?')} × {m.get('cpu') or '?'}"]
    if m.get("mem_kb"):
        parts.append(f"{round(m['mem_kb'] / 1048576)} GB")
    parts.append(f"kernel {m.get('kernel', '?')}")
    return ", ".join(parts)


def provenance(runs, default_script, what="result files"):
    """One paragraph: the command, the files, the machine, the dates, the source tree."""
    scripts = sorted(set(d["script_command"] for d in runs if d.get("script_command")))
    dirs = sorted(set(rel(os.path.dirname(d["_file"])) for d in runs))
    sources = sorted(set(d["source"] for d in runs if d.get("source")))
    loads = [d["machine"]["loadavg_at_end"][0] for d in runs
             if (d.get("machine") or {}).get("loadavg_at_end")]
    out = (f"Generated by `bench/report.py` from {len(runs)} {what if len(runs) != 1 else what[:-1]} in "
           + ", ".join(f"`{x}/`" for x in dirs) + ", written by "
           + (" and ".join(f"`{x}`" for x in scripts) or f"`{default_script}`") + ". "
           f"Machine: {machine_text(runs)}; load generator and server on the same cores. "
           f"Runs {date_span(runs)}")
    if loads:
        out += ("; 1-minute load average at the end of the runs " +
                (f"{min(loads):.2f}" if f"{min(loads):.2f}" == f"{max(loads):.2f}"
                 else f"{min(loads):.2f}–{max(loads):.2f}"))
    out += "."
    if sources:
        out += (f" Source tree: `{', '.join(sources)}` (`git describe --always --dirty` when the "
                "script started).")
    parents = sorted(set(d["parent_run_id"] for d in runs if d.get("parent_run_id")))
    if parents:
        out += (" These runs are the `bench/run-core.sh` part of a "
                f"`bench/peers/socketio-pg/run-compare.sh` session ({', '.join(parents)}).")
    return out + "\n"


def json_rel(path):
    return rel(path)


def commands_list(runs, script, note, subst=None, json_path=json_rel, fresh_each=False):
    """A sh block: the script's command, then each server command and the
    parley-bench commands run against it (fresh_each: a server per run)."""
    lines = [f"{script}   # {note}"] if script else []
    seen = None
    for d in runs:
        sc = server_cmd(d)
        if sc != seen or fresh_each:
            seen = sc
            lines.append(("# server: " if not sc.startswith("parleyd") else "") + sc)
        lines.append(command(d, json_path=json_path, subst=subst))
    return "```sh\n" + "\n".join(lines) + "\n```\n"


def argval(d, flag):
    """the value of a parley-bench flag in the run's argv, or None"""
    argv = d.get("argv") or []
    return next((argv[i + 1] for i in range(len(argv) - 1) if argv[i] == flag), None)


def delivery(d):
    return d.get("delivery") or {}


def in_window(d):
    return d.get("delivered_in_window_msgs_per_s")


def err_total(d):
    return (d.get("errors") or {}).get("total")


def delivered(d):
    """the offered rate delivered: >= 98 % of it in the window, 0 errors"""
    r, w = d.get("rate") or 0, in_window(d)
    return w is not None and err_total(d) == 0 and w >= IN_WINDOW_MIN * r


def sustained(d):
    """as run-compare.sh: p99 < 50 ms, >= 98 % delivered in the window, 0 errors"""
    if d is None:
        return False
    p99 = delivery(d).get("p99_ms")
    return p99 is not None and p99 < P99_LIMIT_MS and delivered(d)


SUSTAINED = (f"sustained = p99 < {P99_LIMIT_MS:g} ms, ≥ {IN_WINDOW_MIN * 100:g} % of the offered "
             "rate delivered in the window, 0 errors")


def why_not(d):
    why = []
    p99, r, w, e = delivery(d).get("p99_ms"), d.get("rate") or 0, in_window(d), err_total(d)
    if p99 is None or p99 >= P99_LIMIT_MS:
        why.append(f"p99 {num(p99)} ms")
    if w is None or w < IN_WINDOW_MIN * r:
        why.append(f"{num(w)} msg/s in the window" + (f", {100.0 * w / r:.0f} %" if w and r else ""))
    if e:
        why.append(f"{num(e)} errors")
    return ", ".join(why)


def ratio(a, b, digits=1):
    return f"{a / b:.{digits}f}×" if a and b else "n/a"


# ------------------------------------------------------------ bench/run-core.sh

FLOOR_RATE = 20000                 # durable msg/s end to end
FLOOR_P99 = (10000, 10.0)          # p99 < 10 ms at 10,000 msg/s
TARGET_RATE = 100000
TARGET_P99 = (50000, 5.0)


def rate_goal(chat, goal, top):
    runs = [d for d in chat if (d.get("rate") or 0) >= goal]
    if not runs:
        if not sustained(chat[-1]):
            return (f"not met: the knee is below it (highest offered rate {num(top)} msg/s not "
                    "sustained; see the CPU per message above)")
        return f"not measured (highest offered rate {num(top)} msg/s)"
    ok = [d for d in runs if delivered(d)]
    facts = ", ".join(f"{num(in_window(d))} in the window at {num(d.get('rate'))} offered"
                      for d in runs)
    return ("met" if ok else "not met") + f" ({facts})"


def p99_goal(chat, rate, limit):
    d = next((d for d in chat if d.get("rate") == rate), None)
    if d is None:
        if chat and (chat[-1].get("rate") or 0) < rate and not sustained(chat[-1]):
            return (f"not met: {num(rate)} msg/s is above the knee (no run there; "
                    f"{num(chat[-1].get('rate'))} msg/s was not sustained)")
        return f"not measured (no run at {num(rate)} msg/s)"
    p99 = delivery(d).get("p99_ms")
    return ("met" if p99 is not None and p99 < limit and delivered(d) else "not met") + \
        f" ({num(p99)} ms" + ("" if delivered(d) else f"; {why_not(d)}") + ")"


def cpu_per_message(chat):
    """Where the CPU goes per delivered message (server threads, kernel share,
    the generator itself) and what that projects for the targets: the
    measurement behind "out of reach on this machine"."""
    rows, best = [], None
    for d in chat:
        sv, n = d.get("server") or {}, d.get("delivered")
        gen = sv.get("generator") or {}
        if not n or sv.get("cpu_s") is None or gen.get("cpu_s") is None:
            continue
        us = lambda x: None if x is None else x / n * 1e6  # noqa: E731
        th = sv.get("threads") or {}
        total = us(sv["cpu_s"] + gen["cpu_s"])
        kern = us((sv.get("cpu_kernel_s") or 0) + (gen.get("cpu_kernel_s") or 0))
        rows.append([num(d.get("rate")), num(us(sv["cpu_s"])), num(us(sv.get("cpu_kernel_s"))),
                     " / ".join(f"{k} {num(us(v.get('cpu_s')))}" for k, v in sorted(th.items())
                                if v.get("cpu_s")),
                     num(us(gen["cpu_s"])), num(us(gen.get("cpu_kernel_s"))), num(total), num(kern),
                     num((sv["cpu_s"] + gen["cpu_s"]) / sv["wall_s"]) if sv.get("wall_s") else "–"])
        if sustained(d):
            best = (d, total, kern)
    if not rows:
        return []
    out = ["CPU per delivered message, server (from `/proc/<pid>/task/*/stat`) and the load "
           "generator itself (`getrusage`), over each run's measured window, in µs, and the "
           "cores the two kept busy. The cost per message falls as the rate rises (commits, "
           "wake-ups and socket writes are shared by more messages), so a projection from the "
           "highest sustained rate is the most favourable one measured:\n",
           table(["offered msg/s", "server µs", "of which kernel", "by thread kind",
                  "generator µs", "of which kernel", "total µs", "total kernel µs",
                  "cores busy"], rows, ["---:"] * 3 + ["---"] + ["---:"] * 5)]
    if best:
        d, total, kern = best
        ncpu = (d.get("machine") or {}).get("nproc") or 2
        need, need_k = total * TARGET_RATE / 1e6, kern * TARGET_RATE / 1e6
        text = (f"At {num(d.get('rate'))} msg/s (the highest sustained rate), "
                f"{num(TARGET_RATE)} msg/s would need {num(need)} cores at this cost per "
                f"message, {num(need_k)} of them in the kernel alone (socket I/O, wake-ups, page "
                f"writes and fsync, in both processes); the machine has {ncpu}.")
        if need_k > ncpu:
            text += (f" So the {num(TARGET_RATE)} msg/s target is out of reach on this machine "
                     "with the generator on the same cores: even if the server's own code cost "
                     "nothing, the kernel's share alone would exceed the machine.")
        elif need > ncpu:
            text += (f" At this cost per message the {num(TARGET_RATE)} msg/s target does not fit "
                     "the machine.")
        out.append(text + "\n")
    return out


def knee_of(chat):
    """(highest sustained run, first offered rate above it, the rates below it
    that were not sustained) over runs sorted by rate."""
    ok = [d for d in chat if sustained(d)]
    best = ok[-1] if ok else None
    above = next((d for d in chat if best is None or d["rate"] > best["rate"]), None)
    dips = [d for d in chat if best and d["rate"] < best["rate"] and not sustained(d)]
    return best, above, dips


def knee_text(chat):
    best, above, dips = knee_of(chat)
    if above is None:
        t = (f"above the highest offered rate, {num(chat[-1]['rate'])} msg/s ("
             + ("sustained" if dips else "every rate sustained") + ")")
    elif best is None:
        t = f"at or below the lowest offered rate: {num(above['rate'])} not sustained ({why_not(above)})"
    else:
        t = (f"between {num(best['rate'])} and {num(above['rate'])} msg/s: {num(best['rate'])} is the "
             f"highest rate sustained, {num(above['rate'])} is not ({why_not(above)})")
    if dips:
        t += ("; lower rates whose median run was not sustained in this session: "
              + ", ".join(f"{num(d['rate'])} ({why_not(d)})" for d in dips)
              + " (every run's p99 is listed below)")
    return t


def core_chat_medians(sess):
    """The durable chat runs of a run-core.sh session, one per rate: the run
    with the median p99 when the rate was run several times; and the most
    runs any rate had."""
    by_rate = {}
    for d in sess:
        if d["label"] == "core-chat":
            by_rate.setdefault(d.get("rate", 0), []).append(d)
    meds = [median_run(v) or v[0] for _, v in sorted(by_rate.items())]
    return meds, max((len(v) for v in by_rate.values()), default=0)


def render_core_chat(sess):
    chat, nrep = core_chat_medians(sess)
    nosync = sorted((d for d in sess if d["label"] == "core-chat-nosync"),
                    key=lambda d: d.get("rate", 0))
    storage = next((d for d in sess if d["label"] == "core-storage"), None)
    host = next((d for d in sess if d["label"] == "core-host"), None)
    if not chat:
        return None
    d0 = chat[0]
    md = [f"## Durable 1:1 chat ({d0.get('visitors')} visitors, {d0.get('agents')} agents, "
          f"{d0.get('msg_size')}-byte messages, {num(d0.get('duration_s'))} s per rate)\n"]
    md.append("One `bench/run-core.sh` run: a fresh `parleyd` (temp data dir, default flags, "
              "durable `--sync=full`), then "
              + (f"{nrep} chat runs per offered rate against it (the table shows the run with "
                 "the median delivery p99; every run's JSON is in the results folder)"
                 if nrep > 1 else "one chat run per offered rate against it")
              + ", each with "
              "its own visitors and conversations; the same scenario with server-side figures "
              "is under *Scenarios* below (\"Chat: offered-load sweep\", `bench/run-all.sh`). "
              "Delivery = visitor send → the agent's connection receives the event; ack = "
              "visitor send → the visitor receives its durable ack; both from the intended "
              "send time.\n")
    md.append(provenance(chat + nosync + [d for d in (storage, host) if d],
                         "bench/run-core.sh build"))
    if host:
        f = host.get("fdatasync_4k_ms") or {}
        md.append(f"OS {host.get('os', '?')}; the data dirs (`mktemp -d`) are on "
                  f"{host.get('data_fs', '?')}, where `fdatasync` of one 4 KiB page took "
                  f"{num(f.get('p50_ms'))} ms (p50) / {num(f.get('p99_ms'))} ms (p99) over "
                  f"{f.get('count', '?')} tries just before the runs.\n")
    rows = []
    for d in chat:
        dl, ak = delivery(d), d.get("ack") or {}
        rows.append([num(d.get("rate")), num(in_window(d)),
                     num(dl.get("p50_ms")), num(dl.get("p99_ms")), num(dl.get("p999_ms")),
                     num(dl.get("max_ms")), num(ak.get("p50_ms")), num(ak.get("p99_ms")),
                     num(ak.get("p999_ms")), num(ak.get("max_ms")),
                     errs(d, "total", "duplicates", "missing")])
    md.append(table(["offered msg/s", "achieved in window, msg/s", "delivery p50 ms", "p99 ms",
                     "p99.9 ms", "max ms", "ack p50 ms", "p99 ms", "p99.9 ms", "max ms",
                     "errors / dup / missing"], rows,
                    ["---:"] * 10 + ["---"]))
    knee = knee_text(chat)
    if nrep > 1:
        by_rate = {}
        for d in sess:
            if d["label"] == "core-chat":
                by_rate.setdefault(d.get("rate", 0), []).append(d)
        md.append("Delivery p99 of every run, ms (by offered rate): " + "; ".join(
            f"{num(r)}: " + " / ".join(num(delivery(d).get("p99_ms"))
                                       for d in sorted(v, key=lambda d: d.get("repeat") or 0))
            for r, v in sorted(by_rate.items())) + ".\n")
    md.append(f"Knee: {knee}; {SUSTAINED}.\n")
    if storage and storage.get("storage_commits"):
        c, r = storage["storage_commits"], storage.get("storage_requests") or 0
        md.append(f"From the server's start to the end of these runs (setup included) the writer "
                  f"committed {num(r)} requests in {num(c)} transactions, {r / c:.1f} per "
                  "commit on average (`parley_storage_requests_total`, "
                  "`parley_storage_commits_total`).\n")
    if nosync:
        md.append("Same scenario on a fresh server with `--sync=none` (no fsync — relaxed "
                  "durability, shown only to separate the disk's cost from the CPU's):\n")
        rows = []
        for d in nosync:
            dl = delivery(d)
            rows.append([num(d.get("rate")), num(in_window(d)), num(dl.get("p50_ms")),
                         num(dl.get("p99_ms")), num(dl.get("p999_ms")), num(dl.get("max_ms")),
                         errs(d, "total", "duplicates", "missing")])
        md.append(table(["offered msg/s", "achieved in window, msg/s", "p50 ms", "p99 ms",
                         "p99.9 ms", "max ms", "errors / dup / missing"], rows,
                        ["---:"] * 6 + ["---"]))
        dur = {d.get("rate"): d for d in chat}
        diffs = []
        for d in nosync:
            x = dur.get(d.get("rate"))
            a, b = delivery(x or {}).get("p99_ms"), delivery(d).get("p99_ms")
            if x is not None and a is not None and b is not None:
                diffs.append(f"{num(a - b)} ms at {num(d['rate'])} msg/s ({num(a)} vs {num(b)})")
        if diffs:
            md.append("Durable p99 minus `--sync=none` p99, roughly what the fsyncs add: "
                      + "; ".join(diffs) + ".\n")
    md += cpu_per_message(chat)
    top = chat[-1].get("rate")
    md.append(f"Floors: ≥ {num(FLOOR_RATE)} durable msg/s end to end — "
              f"{rate_goal(chat, FLOOR_RATE, top)}; p99 < {num(FLOOR_P99[1])} ms at "
              f"{num(FLOOR_P99[0])} msg/s — {p99_goal(chat, *FLOOR_P99)}. Targets: "
              f"{num(TARGET_RATE)} durable msg/s — {rate_goal(chat, TARGET_RATE, top)}; "
              f"p99 < {num(TARGET_P99[1])} ms at {num(TARGET_P99[0])} msg/s — "
              f"{p99_goal(chat, *TARGET_P99)}. (\"Met\" needs ≥ {IN_WINDOW_MIN * 100:g} % of the "
              "offered rate delivered in the window with 0 errors.)\n")
    md.append("Commands (`$B` is the build directory, `$PORT`/`$KEY` the fresh server's port "
              "and demo widget key as the script starts it):\n")
    script = next((d.get("script_command") for d in chat if d.get("script_command")),
                  "bench/run-core.sh build")
    md.append(commands_list(chat + nosync, script, "runs:"))
    return "\n".join(md)


def render_core_idle(sess):
    idle = sorted((d for d in sess if d["label"] == "core-idle"),
                  key=lambda d: d.get("connections_requested", 0))
    if not idle:
        return None
    settle = next((argval(d, "--settle") for d in idle if argval(d, "--settle")), "5")
    md = ["## Idle WebSocket connections\n"]
    md.append(f"Authenticated visitor WebSockets held open (`--mode idle`, {settle} s of "
              "settling), a fresh `parleyd` per count. Server RSS per connection = growth of "
              "the server's `VmRSS` (`/proc/<pid>/status`) from before opening to after "
              "settling, divided by the open connections. Kernel TCP memory per connection = "
              "growth of `/proc/net/sockstat`'s TCP `mem` pages over the same interval divided "
              "by the open connections — system-wide, so both ends of each loopback "
              "connection (buffers of idle sockets are empty, so this grows only with queued "
              "data).\n")
    md.append(provenance(idle, "bench/run-core.sh build"))
    rows = []
    for d in idle:
        rows.append([num(d.get("connections_requested")), num(d.get("connections_open")),
                     str(d.get("connect_failures", 0)), str(d.get("lost", 0)),
                     num(d.get("open_s")),
                     f"**{num(d.get('server_rss_per_conn_bytes'))} B**"
                     if d.get("server_rss_per_conn_bytes") is not None else "–",
                     f"{num(d.get('kernel_tcp_mem_per_conn_bytes_both_ends'))} B"
                     if d.get("kernel_tcp_mem_per_conn_bytes_both_ends") is not None else "–"])
    md.append(table(["connections", "open", "failed", "lost while idle", "opened in s",
                     "server RSS per connection", "kernel TCP memory per connection"], rows))
    if any(d.get("kernel_tcp_mem_per_conn_bytes_both_ends") is None for d in idle):
        md.append("\"–\" for kernel TCP memory: the system-wide figure did not grow over the "
                  "run (other sockets on the machine released memory), so parley-bench did not "
                  "report it.\n")
    srcs = sorted(set(argval(d, "--source-addrs") for d in idle if argval(d, "--source-addrs")))
    nofile = sorted(set(d["nofile_hard"] for d in idle if d.get("nofile_hard")))
    extra = []
    if srcs:
        addrs = sorted(set(a for x in srcs for a in x.split(",")))
        extra.append("the generator spreads its sockets over "
                     + (", ".join(addrs[:-1]) + " and " + addrs[-1] if len(addrs) > 1 else addrs[0]))
    procs = sorted(set(d.get("generator_processes") or 1 for d in idle))
    if procs != [1]:
        extra.append("the generator ran as " + " / ".join(str(p) for p in procs)
                     + " processes (`--procs`), each on its own source address")
    if nofile:
        extra.append("the open-file hard limit (`ulimit -Hn`, for server and generator) was "
                     + ", ".join(num(x) if isinstance(x, int) else str(x) for x in nofile))
    if extra:
        md.append("(" + "; ".join(extra)[:1].upper() + "; ".join(extra)[1:] + ".)\n")
    big = max(idle, key=lambda d: d.get("connections_open") or 0)
    per = big.get("server_rss_per_conn_bytes")
    if per:
        md.append(f"Projection, not a measurement: at {num(per)} B per connection (measured at "
                  f"{num(big.get('connections_open'))}), 1 million idle connections would need "
                  f"≈ {per * 1e6 / 1e9:.2g} GB of server memory plus kernel socket buffers.\n")
    md.append("Commands (`$B` is the build directory, `$PORT`/`$KEY`/`$PID` the fresh server's "
              "port, demo widget key and process id as the script starts it):\n")
    script = next((d.get("script_command") for d in idle if d.get("script_command")),
                  "bench/run-core.sh build")
    md.append(commands_list(idle, script, "runs:", fresh_each=True))
    return "\n".join(md)


# ------------------------------------------------------------ run-tls.sh

def render_tls(sess):
    chat = [d for d in sess if d["label"] == "tls-chat"]
    idle = sorted((d for d in sess if d["label"] == "tls-idle"),
                  key=lambda d: (d.get("connections_requested", 0), d.get("transport") != "plain"))
    storm = [d for d in sess if d["label"] == "tls-storm"]
    hs = [d for d in sess if d["label"] == "tls-handshake"]
    if not (chat or idle or storm or hs):
        return None
    md = ["### Measured: plain and TLS in one session (`bench/run-tls.sh`)\n"]
    md.append(provenance(sess, "bench/run-tls.sh build"))
    if chat:
        by = {}
        for d in chat:
            by.setdefault((d.get("rate", 0), d.get("transport")), []).append(d)
        rates = sorted(set(r for r, _ in by))
        d0 = chat[0]
        md.append(f"**Durable 1:1 chat** ({d0.get('visitors')} visitors, {d0.get('agents')} agents, "
                  f"{d0.get('msg_size')}-byte messages, {num(d0.get('duration_s'))} s per run, a fresh "
                  "server per run, plain (`ws://`) and TLS (`wss://`, ECDSA P-256, "
                  "ECDHE-ECDSA-AES128-GCM-SHA256) alternating; delivery latency of the run with "
                  "the median p99 of each rate and transport, server CPU from `/proc`):\n")
        rows = []
        for r in rates:
            p, t = median_run(by.get((r, "plain"), [])), median_run(by.get((r, "ec"), []))

            def cells(d, runs):
                if not d:
                    return ["–", "–", "–", "–"]
                sv = d.get("server") or {}
                cpu = sv.get("cpu_s")
                wall = sv.get("wall_s")
                return [num(delivery(d).get("p50_ms")), "**" + num(delivery(d).get("p99_ms")) + "**",
                        ", ".join(num(delivery(x).get("p99_ms")) for x in sorted(runs, key=lambda x: x.get("repeat", 0))),
                        f"{100 * cpu / wall:.0f} %" if cpu is not None and wall else "–"]
            okp = "yes" if p and sustained(p) else "no"
            okt = "yes" if t and sustained(t) else "no"
            ratio_p99 = ratio(delivery(t).get("p99_ms") if t else None, delivery(p).get("p99_ms") if p else None, 2)
            rows.append([f"{num(r)} msg/s"] + cells(p, by.get((r, "plain"), [])) + [okp]
                        + cells(t, by.get((r, "ec"), [])) + [okt, ratio_p99])
        md.append(table(["rate", "plain p50 ms", "plain p99 ms", "plain p99 per run", "plain server CPU",
                         "plain sustained", "TLS p50 ms", "TLS p99 ms", "TLS p99 per run", "TLS server CPU",
                         "TLS sustained", "TLS / plain p99"], rows))
        md.append("Sustained = every message delivered, ≥ 98 % within the window, no error, "
                  "p99 < 50 ms (the rule of the other sections). Server CPU is a share of one core "
                  "over the run.\n")

        def top(t):
            ok = [r for r in rates if sustained(median_run(by.get((r, t), [])))]
            return max(ok) if ok else None
        tp, tt = top("plain"), top("ec")
        md.append("Throughput at the same p99 bound (the highest offered rate whose median run was "
                  f"sustained): plain **{num(tp) + ' msg/s' if tp else 'none of these rates'}**, TLS "
                  f"**{num(tt) + ' msg/s' if tt else 'none of these rates'}**"
                  + (f" (TLS / plain {tt / tp:.2f})" if tp and tt else "")
                  + (f"; the ladder stopped at {num(max(rates))} msg/s" if (tp == max(rates) or tt == max(rates)) else "")
                  + ".\n")
    if idle:
        md.append("**Idle WebSockets** (authenticated visitors, `--mode idle`, 3 s of settling, a fresh "
                  "server per run; server RSS per connection = growth of `VmRSS` divided by the open "
                  "connections):\n")
        rows = []
        for d in idle:
            per = d.get("server_rss_per_conn_bytes")
            rows.append([num(d.get("connections_requested")), "TLS (ECDSA)" if d.get("transport") != "plain" else "plain",
                         num(d.get("connections_open")), str(d.get("connect_failures", 0)), str(d.get("lost", 0)),
                         num(d.get("open_s")), f"**{num(per)} B**" if per is not None else "–",
                         f"{1e9 / per / 1e3:,.0f} k" if per else "–"])
        md.append(table(["connections", "transport", "open", "failed", "lost while idle", "opened in s",
                         "server RSS per connection", "connections per GB (RSS alone)"], rows))
    if storm:
        md.append("**Connect storm** (`--mode storm`: TCP connect, TLS handshake, upgrade and `auth` "
                  "per visitor WebSocket, 256 in flight; the generator does the client side of every "
                  "handshake on the same 2 cores, so this is a floor for the server):\n")
        rows = []
        for d in sorted(storm, key=lambda d: ["plain", "ec", "rsa"].index(d.get("transport", "plain"))
                        if d.get("transport") in ("plain", "ec", "rsa") else 9):
            lat = d.get("latency") or {}
            sv = d.get("server") or {}
            rows.append([{"plain": "plain", "ec": "TLS, ECDSA P-256", "rsa": "TLS, RSA 2048"}.get(d.get("transport"), "?"),
                         num((d.get("params") or {}).get("connections")), str(d.get("failed", 0)),
                         f"**{num(d.get('handshakes_per_s'))}**", num(lat.get("p50_ms")), num(lat.get("p99_ms")),
                         num(sv.get("cpu_s"))])
        md.append(table(["transport", "connections", "failed", "connections per s", "p50 ms", "p99 ms",
                         "server CPU s"], rows))
    if hs:
        md.append("**Full TLS handshakes** (`openssl s_time -new`: connect, full handshake, close; "
                  "no resumption; the server's CPU = its `utime + stime` over the run divided by "
                  "the handshakes `parley_tls_handshakes_total` counted):\n")
        rows = []
        for d in sorted(hs, key=lambda d: d.get("key", "")):
            rows.append([{"ec": "ECDSA P-256", "rsa": "RSA 2048"}.get(d.get("key"), d.get("key")),
                         d.get("cipher") or "?", num(d.get("handshakes")), num(d.get("wall_s")),
                         f"**{num(d.get('handshakes_per_s'))}**",
                         f"**{num(d.get('server_cpu_ms_per_handshake'))} ms**",
                         f"{1000 / d['server_cpu_ms_per_handshake']:,.0f}"
                         if d.get("server_cpu_ms_per_handshake") else "–", d.get("client") or ""])
        md.append(table(["key", "suite", "handshakes", "s", "handshakes per s (measured)",
                         "server CPU per handshake", "handshakes per s per core (CPU bound)", "client"], rows,
                        ["---"] * 2 + ["---:"] * 5 + ["---"]))
    md.append("Commands (`$B` is the build directory, `$PORT` the plain port, `$WSPORT` the one the "
              "measured connections use, `$KEY`/`$PID` the fresh server's demo widget key and process "
              "id as the script starts it):\n")
    script = next((d.get("script_command") for d in sess if d.get("script_command")), "bench/run-tls.sh build")
    runs = sorted((d for d in sess if d["label"] in ("tls-chat", "tls-idle", "tls-storm")),
                  key=lambda d: d.get("date", ""))
    md.append(commands_list(runs, script, "runs:", fresh_each=True,
                            subst={"--port": "$WSPORT", "--setup-port": "$PORT"}))
    md.append("The handshake runs: `openssl s_time -connect 127.0.0.1:$WSPORT -new -time 10`, two at once, "
              "against a server with the ECDSA and then the RSA certificate.\n")
    return "\n".join(md)


# ------------------------------------------------------------ run-compare.sh

def commit_text(c):
    """'5e069fd Subject …' -> '5e069fd ("Subject …")', the subject cut to 60 characters"""
    h, _, subj = c.partition(" ")
    subj = subj if len(subj) <= 60 else subj[:59].rstrip() + "…"
    return f'{h} ("{subj}")' if subj else h


def cores(x):
    return "–" if x is None else f"{x:.2f}"


def median_run(runs):
    """The run with the median p99 (the lower middle one for an even count),
    runs that were not sustained (errors, missing, too little delivered)
    ranking after every sustained one whatever their p99: so the chosen run
    is sustained only when most runs were. Runs without a p99 rank last."""
    if not runs:
        return None
    runs = sorted(runs, key=lambda d: (0 if sustained(d) else 1,
                                       round(delivery(d).get("p99_ms") or float("inf"), 3),
                                       d.get("repeat", 0)))
    return runs[(len(runs) + 1) // 2 - 1]


def render_compare(sess, core):
    session = next((d for d in sess if d["label"] == "compare-session"), {})
    chat = {"peer": {}, "parleyd": {}}
    idle = {"peer": {}, "parleyd": {}}
    for d in sess:
        m = re.match(r"compare-(peer|parleyd)-(chat|idle)$", d["label"])
        if not m:
            continue
        if m.group(2) == "chat":
            chat[m.group(1)].setdefault(d.get("rate"), []).append(d)
        else:
            idle[m.group(1)][d.get("connections_requested")] = d
    if not any(chat[t] or idle[t] for t in chat):
        return None
    med = {t: {r: median_run(v) for r, v in chat[t].items()} for t in chat}
    runs_all = [d for d in sess if d["label"] != "compare-session"]
    repeats = session.get("repeats") or max((d.get("repeats") or 0 for d in runs_all), default=0) \
        or max((len(v) for t in chat for v in chat[t].values()), default=1)
    md = []
    script = session.get("script_command") or next(
        (d["script_command"] for d in runs_all if d.get("script_command")),
        "bench/peers/socketio-pg/run-compare.sh build")
    v = session
    vers = []
    if v.get("version_node"):
        vers.append(f"Node.js {v['version_node']}")
    if v.get("version_socketio"):
        vers.append(f"socket.io {v['version_socketio']}")
    if v.get("version_pg"):
        vers.append(f"pg {v['version_pg']}")
    if v.get("version_postgresql"):
        vers.append(f"PostgreSQL {v['version_postgresql']}")
    md.append("Every run below is one such line with `--json` (`--protocol parley`, the "
              "default, for parleyd). " + provenance(runs_all + ([session] if session else []),
                                                    script).rstrip("\n")
              + (f" Commit: {commit_text(v['commit'])}." if v.get("commit") else "")
              + (f" Peer: {', '.join(vers)}." if vers else "") + "\n")
    if session:
        stops = []
        for t in ("peer", "parleyd"):
            at = session.get(f"{t}_saturated_at")
            stops.append(f"{t}: saturated at {num(at)} msg/s, ladder stopped" if at else
                         f"{t}: ran the whole ladder")
        md.append(f"Ladder {', '.join(num(r) for r in session.get('ladder') or [])} msg/s, "
                  f"{num(session.get('duration_s'))} s per rate, {repeats} runs per rate; rates "
                  f"above {num(session.get('always_up_to'))} only until the median run "
                  f"saturates ({'; '.join(stops)}).\n")

    # chat
    md.append(f"### Chat: delivery latency, median run of {repeats} per rate\n")
    rates = sorted(set(chat["peer"]) | set(chat["parleyd"]))
    rows = []
    for r in rates:
        row = [num(r)]
        for t in ("peer", "parleyd"):
            d = med[t].get(r)
            if d is None:
                row += ["", "", "", ""]
                continue
            dl = delivery(d)
            p99 = num(dl.get("p99_ms"))
            row += [num(dl.get("p50_ms")), p99 if sustained(d) else f"{p99} ✗",
                    num(in_window(d)), errs(d, "total", "missing")]
        rows.append(row)
    md.append(table(["offered msg/s", "peer p50 ms", "peer p99 ms", "peer in window, msg/s",
                     "peer errors / missing", "parleyd p50 ms", "parleyd p99 ms",
                     "parleyd in window, msg/s", "parleyd errors / missing"], rows,
                    ["---:", "---:", "---:", "---:", "---", "---:", "---:", "---:", "---"]))
    md.append(f"✗ = not sustained ({SUSTAINED}). Delivery latency from each send's intended "
              "time; errors include deliveries still missing after the drain.\n")
    rows = []
    for r in rates:
        for t in ("peer", "parleyd"):
            for d in sorted(chat[t].get(r, []), key=lambda d: d.get("repeat", 0)):
                dl = delivery(d)
                cpu = cores(d.get("server_cpu_cores"))
                if t == "peer":
                    cpu += f" + {cores(d.get('postgres_cpu_cores'))}"
                rows.append([num(r), t, str(d.get("repeat", "?")) +
                             (" (median)" if d is med[t].get(r) else ""),
                             num(dl.get("p50_ms")), num(dl.get("p99_ms")), num(dl.get("p999_ms")),
                             num(dl.get("max_ms")), num((d.get("ack") or {}).get("p99_ms")),
                             num(in_window(d)), errs(d, "total", "missing"), cpu])
    md.append("<details><summary>Every run</summary>\n")
    md.append(table(["offered msg/s", "server", "run", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
                     "ack p99 ms", "in window, msg/s", "errors / missing",
                     "CPU, cores (peer: node + PostgreSQL)"], rows,
                    ["---:", "---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---",
                     "---:"]))
    md.append("CPU = utime + stime of the server process (and of all PostgreSQL processes) "
              "over the run's wall time, from `/proc/<pid>/stat`.\n\n</details>\n")

    # idle
    counts = sorted(set(idle["peer"]) | set(idle["parleyd"]))
    if counts:
        md.append("### Idle connections (authenticated visitors, fresh server each)\n")
        rows = []
        for n in counts:
            a, b = idle["peer"].get(n) or {}, idle["parleyd"].get(n) or {}
            pa, pb = a.get("server_rss_per_conn_bytes"), b.get("server_rss_per_conn_bytes")
            pg = (f"{num((a.get('postgres_pss_kb_before') or 0) / 1024)} / "
                  f"{num((a.get('postgres_pss_kb_after') or 0) / 1024)}"
                  if a.get("postgres_pss_kb_before") is not None else "–")
            ka = a.get("kernel_tcp_mem_per_conn_bytes_both_ends")
            kb = b.get("kernel_tcp_mem_per_conn_bytes_both_ends")
            rows.append([num(n), f"{num(pa)} B" if pa is not None else "–",
                         f"{num(pb)} B" if pb is not None else "–",
                         f"**{ratio(pa, pb)}**", pg,
                         f"{num(ka) if ka is not None else '–'} / {num(kb) if kb is not None else '–'} B"])
        md.append(table(["connections", "peer: node RSS per connection",
                         "parleyd RSS per connection", "ratio",
                         "peer: PostgreSQL Pss before / after, MB",
                         "kernel TCP memory per connection, peer / parleyd"], rows))
        md.append("Counted: growth of the server process's `VmRSS` (node for the peer) from "
                  "before opening to after settling, divided by the open connections. "
                  "PostgreSQL is not in the peer's figure (its Pss, all processes, is shown "
                  "apart). Kernel TCP memory is system-wide (both ends of each loopback "
                  "connection).\n")
        marg = []
        for t in ("peer", "parleyd"):
            pts = [(d.get("connections_open") or 0, d.get("server_rss_kb") or {})
                   for n, d in sorted(idle[t].items())]
            pts = [(o, (k.get("after_settle") or 0) - (k.get("before") or 0)) for o, k in pts
                   if o and k.get("after_settle") is not None and k.get("before") is not None]
            if len(pts) >= 2 and pts[-1][0] != pts[0][0]:
                m = (pts[-1][1] - pts[0][1]) * 1024.0 / (pts[-1][0] - pts[0][0])
                marg.append((t, m, pts[0][0], pts[-1][0]))
        if marg:
            md.append("Marginal cost between the smallest and the largest count (the growth "
                      "includes a fixed part): " + "; ".join(
                          f"{t} {num(m)} B per connection ({num(a)} → {num(b)})"
                          for t, m, a, b in marg)
                      + (f" — {ratio(marg[0][1], marg[1][1])}" if len(marg) == 2 else "") + ".\n")
        if session.get("peer_after_sweep_postgres_pss_kb"):
            md.append(f"After the peer's chat ladder: PostgreSQL (all processes) Pss "
                      f"{num(session['peer_after_sweep_postgres_pss_kb'] / 1024)} MB, node "
                      f"VmRSS {num((session.get('peer_after_sweep_node_rss_kb') or 0) / 1024)} MB.\n")

    # ratios
    md.append("### Ratios\n")

    def best(t):
        ok = [r for r, d in med[t].items() if d is not None and sustained(d)]
        return max(ok) if ok else 0

    pb, xb = best("peer"), best("parleyd")
    x_top = max(med["parleyd"]) if med["parleyd"] else 0
    ge = "≥ " if xb and xb == x_top else ""
    rows = [["throughput at equal p99: highest offered rate whose median run is sustained",
             f"parleyd {ge}{num(xb)} / peer {num(pb)} msg/s = **{ge}{ratio(xb, pb)}**"
             if pb else f"parleyd {num(xb)} msg/s; n/a (peer sustained no rate)"]]
    common = max((r for r in med["peer"] if sustained(med["peer"][r]) and
                  med["parleyd"].get(r) is not None and sustained(med["parleyd"][r])), default=0)
    if common:
        a, b = delivery(med["peer"][common])["p99_ms"], delivery(med["parleyd"][common])["p99_ms"]
        rows.append(["p99 at equal load: highest rate both sustain",
                     f"{num(common)} msg/s: peer {num(a)} vs parleyd {num(b)} ms = "
                     f"**{ratio(a, b)}**"])
    else:
        rows.append(["p99 at equal load: highest rate both sustain", "no rate sustained by both"])
    most = {t: max((in_window(d) or 0 for v in chat[t].values() for d in v), default=0)
            for t in chat}
    if most["peer"] and most["parleyd"]:
        x_sat = med["parleyd"].get(x_top) is not None and delivered(med["parleyd"][x_top])
        g = "≥ " if x_sat else ""
        rows.append(["most delivered in the window at any rate and latency, any run",
                     f"parleyd {g}{num(most['parleyd'])} vs peer {num(most['peer'])} msg/s = "
                     f"{g}{ratio(most['parleyd'], most['peer'])}"])
    for n in counts:
        a = (idle["peer"].get(n) or {}).get("server_rss_per_conn_bytes")
        b = (idle["parleyd"].get(n) or {}).get("server_rss_per_conn_bytes")
        rows.append([f"server memory per idle connection, {num(n)}",
                     f"peer {num(a)} vs parleyd {num(b)} B = **{ratio(a, b)}**"])
    md.append(table(["", "value"], rows, ["---", "---"]))
    md.append(f"Median run of {repeats} per rate; {SUSTAINED} — the definitions "
              "`run-compare.sh` prints its ratios with. \"≥\": parleyd sustained (or "
              "delivered) its highest offered rate, so its ceiling was not reached.\n")

    # run-core.sh in the same session
    if core:
        cc = sorted((d for d in core if d["label"] == "core-chat"), key=lambda d: d.get("rate", 0))
        cn = sorted((d for d in core if d["label"] == "core-chat-nosync"),
                    key=lambda d: d.get("rate", 0))
        ci = sorted((d for d in core if d["label"] == "core-idle"),
                    key=lambda d: d.get("connections_requested", 0))

        def chat_list(runs):
            return ", ".join(f"{num(d.get('rate'))} p99 {num(delivery(d).get('p99_ms'))} ms"
                             + ("" if delivered(d) else f" ({why_not(d)})") for d in runs)

        parts = []
        if cc:
            parts.append("durable " + chat_list(cc))
        if cn:
            parts.append("`--sync=none` " + chat_list(cn))
        if ci:
            parts.append("idle " + ", ".join(
                f"{num(d.get('connections_open'))} connections "
                f"{num(d.get('server_rss_per_conn_bytes'))} B each" for d in ci))
        errors = sum(err_total(d) or 0 for d in cc + cn)
        md.append(f"`bench/run-core.sh` in the same session (single runs, fresh parleyd, msg/s "
                  f"offered): {'; '.join(parts)}; {num(errors)} errors in its chat runs "
                  f"(`{rel(os.path.dirname(core[0]['_file']))}/`).\n")
    elif session and not session.get("run_core", True):
        md.append("`bench/run-core.sh` was left out of this session (`SKIP_CORE=1`).\n")

    # commands
    md.append("Commands (`$B` is the build directory, `$PORT`/`$KEY` the server's port and "
              "demo widget key, `$PID` its process id (node for the peer); `$RATE` takes each "
              "value of the ladder, `$RUN` 1 to the number of runs per rate):\n")
    lines = [f"{script}   # runs:"]
    done = set()
    for t in ("peer", "parleyd"):
        sc = session.get(f"{t}_server_command") or next(
            (server_cmd(d) for d in runs_all if d.get("target") == t), None)
        tl = [d for r in rates for d in chat[t].get(r, [])][:1] + \
            [d for n, d in sorted(idle[t].items()) if not d.get("from_run_core")]
        if not tl:
            continue
        lines.append(("# server: " if not (sc or "").startswith("parleyd") else "") + (sc or "?"))
        for d in tl:
            if d["label"].endswith("-chat"):
                c = command(d, subst={"--rate": "$RATE"},
                            json_path=lambda p, t=t: rel(os.path.join(
                                os.path.dirname(p), f"{t}-chat-$RATE-$RUN.json")))
            else:
                c = command(d, json_path=json_rel)
            if c not in done:
                done.add(c)
                lines.append(c)
    md.append("```sh\n" + "\n".join(lines) + "\n```\n")
    if any(d.get("from_run_core") for t in idle for d in idle[t].values()):
        md.append("parleyd's idle figures at the counts `bench/run-core.sh` measures come from "
                  "that script's runs (copied into this session's results).\n")
    return "\n".join(md)


# ------------------------------------------------------------ doc

def replace_section(doc, name, body):
    """doc with the text between the markers of name replaced by body, or None
    when the markers are missing."""
    b, e = markers(name)
    if b not in doc or e not in doc or doc.index(b) > doc.index(e):
        return None
    block = f"{b}\n<!-- generated by bench/report.py; edit the script, not this text -->\n\n" \
            f"{body.rstrip()}\n\n{e}"
    return re.sub(re.escape(b) + ".*?" + re.escape(e), lambda _: block, doc, count=1, flags=re.S)


def render_summary(core, cmp, scen):
    """The targets of the performance work, each with its verdict and the
    section that holds the measurement."""
    rows = []

    def row(target, verdict, measured, where):
        rows.append([target, verdict, measured, where])

    chat, _ = core_chat_medians(core or [])
    if chat:
        best, first_bad, dips = knee_of(chat)
        knee = "knee " + knee_text(chat)
        proj, need, kern = "", 0.0, 0.0
        if best:
            sv, n = best.get("server") or {}, best.get("delivered")
            gen = sv.get("generator") or {}
            if n and sv.get("cpu_s") is not None and gen.get("cpu_s") is not None:
                need = (sv["cpu_s"] + gen["cpu_s"]) / n * TARGET_RATE
                kern = ((sv.get("cpu_kernel_s") or 0) + (gen.get("cpu_kernel_s") or 0)) / n * TARGET_RATE
                proj = (f"; at the cost per message measured at {num(best['rate'])} msg/s, "
                        f"{num(TARGET_RATE)} msg/s needs {num(need)} cores ({num(kern)} in the kernel) "
                        f"of the machine's {(best.get('machine') or {}).get('nproc') or '?'}")
        reached = best and best["rate"] >= TARGET_RATE
        ncpu = ((best or {}).get("machine") or {}).get("nproc") or 2
        if reached:
            verdict = "met"
        elif first_bad is None:
            verdict = "not measured (every offered rate sustained)"
        elif proj and kern > ncpu:
            verdict = "**not met** — out of reach on this machine (the kernel's share alone exceeds it)"
        elif proj and need > ncpu:
            verdict = "**not met** — does not fit this machine at the measured cost per message"
        else:
            verdict = "**not met**"
        row(f"durable 1:1 chat ≥ {num(TARGET_RATE)} msg/s", verdict, knee + proj, "Durable 1:1 chat")
        d50 = next((d for d in chat if d.get("rate") == TARGET_P99[0]), None)
        if d50:
            p = delivery(d50).get("p99_ms")
            good = p is not None and p < TARGET_P99[1] and delivered(d50)
            row(f"p99 < {num(TARGET_P99[1])} ms at {num(TARGET_P99[0])} msg/s", "met" if good else "**not met**",
                f"p99 {num(p)} ms", "Durable 1:1 chat")
        else:
            row(f"p99 < {num(TARGET_P99[1])} ms at {num(TARGET_P99[0])} msg/s",
                "**not met** — above the knee" if first_bad and first_bad["rate"] <= TARGET_P99[0]
                else "not measured", "no run at that rate" + (f"; p99 at {num(best['rate'])} msg/s: "
                                                               f"{num(delivery(best).get('p99_ms'))} ms"
                                                               if best else ""), "Durable 1:1 chat")
    if cmp:
        chats = {"peer": {}, "parleyd": {}}
        idle = {"peer": {}, "parleyd": {}}
        for d in cmp:
            m = re.match(r"compare-(peer|parleyd)-(chat|idle)$", d["label"])
            if m and m.group(2) == "chat":
                chats[m.group(1)].setdefault(d.get("rate"), []).append(d)
            elif m:
                idle[m.group(1)][d.get("connections_requested")] = d
        top, ladder_top = {}, {}
        for t in chats:
            good = [r for r, v in chats[t].items() if (lambda m: m is not None and sustained(m))(median_run(v))]
            top[t] = max(good) if good else None
            ladder_top[t] = max(chats[t]) if chats[t] else None
        target = "≥ 10× the Socket.IO + PostgreSQL peer's throughput at equal p99"
        if chats["parleyd"] and top["parleyd"] is None:
            row(target, "**not met**", "parleyd sustained no offered rate", "Comparison")
        elif top["parleyd"] and chats["peer"] and top["peer"] is None:
            row(target, "not decided", "the peer sustained no offered rate", "Comparison")
        elif top["peer"] and top["parleyd"]:
            ge = "≥ " if top["parleyd"] == ladder_top["parleyd"] else ""
            ratio = top["parleyd"] / top["peer"]
            if top["peer"] == ladder_top["peer"]:   # the peer's ceiling was not found
                verdict = "not decided (the peer sustained its whole ladder)"
            else:
                verdict = "met" if ratio >= 10 else "**not met**"
            row(target, verdict,
                f"{ge}{ratio:.1f}× (parleyd {ge}{num(top['parleyd'])} vs peer {num(top['peer'])} msg/s "
                f"sustained, median of the runs per rate)", "Comparison")
        ratios, missing = [], []
        for n in sorted(set(idle["peer"]) | set(idle["parleyd"])):
            a = (idle["peer"].get(n) or {}).get("server_rss_per_conn_bytes")
            b = (idle["parleyd"].get(n) or {}).get("server_rss_per_conn_bytes")
            if a and b:
                ratios.append((n, a / b))
            else:
                missing.append(n)
        if ratios or missing:
            row("< 1/10 of the peer's memory per idle connection",
                "met" if ratios and not missing and all(r >= 10 for _, r in ratios) else
                "**not met**" if any(r < 10 for _, r in ratios) else "not decided",
                "; ".join([f"{r:.1f}× less at {num(n)}" for n, r in ratios]
                          + [f"no pair of runs at {num(n)}" for n in missing]), "Comparison")
    idle_core = [d for d in core or [] if d["label"] == "core-idle"]
    if idle_core:
        big = max(idle_core, key=lambda d: d.get("connections_open") or 0)
        per = big.get("server_rss_per_conn_bytes")
        row("idle WebSocket < 2 KB of server RSS per connection at 19,000",
            "met" if per and per < 2048 and (big.get("connections_open") or 0) >= 19000 else "**not met**",
            f"{num(per)} B at {num(big.get('connections_open'))}", "Idle WebSocket connections")
    res = [d for d in scen or [] if d.get("mode") == "resume"]
    if res:
        d = max(res, key=lambda d: (d.get("params") or {}).get("visitors") or 0)
        e = d.get("errors") or {}
        n = d.get("resumed_ok")
        row("resume storm: 10,000 clients, 0 missing, 0 duplicates",
            "met" if (n or 0) >= 10000 and not e.get("missing") and not e.get("duplicates") and
            not e.get("total") else "**not met**",
            f"{num(n)} resumed in {num(d.get('resume_total_s'))} s; missing {e.get('missing')}, "
            f"duplicates {e.get('duplicates')}", "Resume storm")
    lists = [d for d in scen or [] if d.get("label") == "rest-list"]
    ngx = [d for d in scen or [] if d.get("label") == "http-nginx-static"]
    if lists and ngx:
        target = "cached conversation list ≥ half of nginx's req/s for a small static file"
        a = max((d["rate"] for d in lists if http_sustained(d)), default=None)
        b = max((d["rate"] for d in ngx if http_sustained(d)), default=None)
        ntop, ltop = max(d["rate"] for d in ngx), max(d["rate"] for d in lists)
        if a is None:
            row(target, "**not met**", "the list sustained no offered rate", "Cached conversation list vs nginx")
        elif b is None:
            row(target, "not decided", "nginx sustained no offered rate", "Cached conversation list vs nginx")
        else:
            r = a / b
            if b < ntop:       # nginx's ceiling found: a/b is the ratio, or a lower bound of it
                verdict = "met" if r >= 0.5 else ("not decided" if a == ltop else "**not met**")
            else:              # nginx sustained its top rate: b is a lower bound, a/b an upper one
                verdict = "**not met**" if r < 0.5 else "not decided (nginx sustained the whole ladder)"
            row(target, verdict, f"{'≥ ' if a == ltop and b < ntop else ''}{r:.2f}× (list {num(a)} vs "
                f"nginx {num(b)} req/s sustained on one ladder)", "Cached conversation list vs nginx")
    if not rows:
        return None
    return ("## Targets at a glance\n\nEach line is computed by `bench/report.py` from the same "
            "result files as the section it names; the definitions (sustained, median run) are "
            "those of that section.\n\n"
            + table(["target", "verdict", "measured", "section"], rows, ["---"] * 4) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*", default=[os.path.join(ROOT, "docs/perf/results")])
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs/performance.md"))
    ap.add_argument("--plots", default=os.path.join(ROOT, "docs/perf"))
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--stdout", action="store_true", help="print the sections, leave the doc")
    a = ap.parse_args()
    runs = load(a.inputs)
    if not runs:
        warn("no results")
        return 1
    by_suite = {}
    for d in runs:
        by_suite.setdefault(suite(d), []).append(d)
    doc_dir = os.path.dirname(os.path.abspath(a.doc))
    plots_dir = None if a.no_plots else a.plots
    bodies = {}

    scen = by_suite.get("scenarios", [])
    if scen:
        bodies["scenarios"] = (render(scen, plots_dir, doc_dir) if plots_dir
                               else render_noplot(scen, a.doc), len(scen))

    core_groups = sessions(by_suite.get("core", []))
    standalone = {k: v for k, v in core_groups.items()
                  if not any(d.get("parent_run_id") for d in v)}
    core = newest(standalone, "core") if standalone else None
    if core is None and core_groups:
        core = newest(core_groups, "core")
        warn("core: no bench/run-core.sh results of its own; using those of a run-compare.sh "
             "session")
    if core:
        for name, fn in (("core-chat", render_core_chat), ("core-idle", render_core_idle)):
            body = fn(core)
            if body:
                bodies[name] = (body, len(core))

    cmp_groups = sessions(by_suite.get("compare", []))
    cmp = newest(cmp_groups, "compare") if cmp_groups else None
    if cmp:
        rid = cmp[0].get("run_id")
        sub = [d for d in by_suite.get("core", []) if rid and d.get("parent_run_id") == rid]
        body = render_compare(cmp, sub)
        if body:
            bodies["compare"] = (body, len(cmp) + len(sub))

    # run-tls.sh can run its parts on their own (PARTS): each label from
    # the newest session that has it
    tls = []
    for lbl in ("tls-chat", "tls-idle", "tls-storm", "tls-handshake"):
        g = sessions([d for d in by_suite.get("tls", []) if d.get("label") == lbl])
        tls += newest(g, lbl) if g else []
    if tls:
        body = render_tls(tls)
        if body:
            bodies["tls"] = (body, len(tls))

    summary = render_summary(core, cmp, scen)
    if summary:
        bodies["summary"] = (summary, len(runs))
    for name in SECTIONS:
        if name not in bodies:
            warn(f"no results for section \"{name}\"; left as it is")
    if not bodies:
        return 1
    if a.stdout:
        for name in SECTIONS:
            if name in bodies:
                b, e = markers(name)
                print(f"{b}\n{bodies[name][0].rstrip()}\n{e}\n")
        return 0
    with open(a.doc) as fh:
        doc = fh.read()
    written = []
    for name in SECTIONS:
        if name not in bodies:
            continue
        body, n = bodies[name]
        new = replace_section(doc, name, body)
        if new is None and name == "scenarios":
            new = doc.rstrip("\n") + "\n\n## Scenarios (bench/run-all.sh)\n\n" + \
                f"{BEGIN}\n<!-- generated by bench/report.py; edit the script, not this text -->" \
                f"\n\n{body.rstrip()}\n\n{END}\n"
        if new is None:
            b, e = markers(name)
            warn(f"{a.doc} has no {b} … {e}; section \"{name}\" not written")
            continue
        doc = new
        written.append(f"{name} ({n} files)")
    with open(a.doc, "w") as fh:
        fh.write(doc)
    print(f"report: {', '.join(written) or 'nothing'} -> {a.doc}"
          + (f", plots in {plots_dir}" if plots_dir and "scenarios" in bodies else ""))
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
