#!/usr/bin/python3
"""The layout rules of docs/architecture.md ("The code map"), checked on the
source tree:

- layers: net/ and storage/ include neither each other nor actors/; core/
  includes no other layer;
- only storage/ knows LMDB: `git grep -nE 'mdb_|MDB_|DB_[A-Z]|rec_key'`
  finds nothing under actors/ and tools/;
- feature folders: the kit includes no feature folder, no folder includes
  app/ (except app/ itself and tools/), and the include graph between
  folders of actors/ has no cycle.
Prints the folder graph; exits 1 with every violation listed.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(top):
    for d, _, files in os.walk(os.path.join(ROOT, top)):
        for f in files:
            if f.endswith((".c", ".h")):
                yield os.path.join(d, f)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        return INC.findall(fh.read())


def main():
    problems = []
    # layers
    allowed = {"core": {"core"}, "net": {"core", "net"}, "storage": {"core", "storage"}}
    for layer, ok in allowed.items():
        for p in sources(layer):
            for inc in includes(p):
                top = inc.split("/")[0]
                if "/" in inc and top not in ok:
                    problems.append("%s includes %s (layer %s may use %s)" %
                                    (os.path.relpath(p, ROOT), inc, layer, ", ".join(sorted(ok))))
    # LMDB stays in storage/
    r = subprocess.run(["git", "grep", "-nE", r"mdb_|MDB_|DB_[A-Z]|rec_key", "--", "actors", "tools"],
                       cwd=ROOT, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        problems.append("LMDB outside storage/: " + line)
    # folders of actors/
    graph = {}
    for p in sources("actors"):
        src = os.path.relpath(p, os.path.join(ROOT, "actors")).split(os.sep)[0]
        for inc in includes(p):
            parts = inc.split("/")
            if parts[0] != "actors" or len(parts) < 3:
                continue
            dst = parts[1]
            if dst == src:
                continue
            graph.setdefault(src, set()).add(dst)
            if src == "kit":
                problems.append("kit includes a feature: actors/%s includes %s" %
                                (os.path.relpath(p, os.path.join(ROOT, "actors")), inc))
            if dst == "app":
                problems.append("only app/ may include app/: actors/%s includes %s" %
                                (os.path.relpath(p, os.path.join(ROOT, "actors")), inc))
    # cycles (depth-first search)
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                problems.append("include cycle between folders: " + " -> ".join(path + [n, m]))
            elif not state.get(m):
                visit(m, path + [n])
        state[n] = 2

    for n in sorted(graph):
        if not state.get(n):
            visit(n, [])
    for n in sorted(graph):
        print("actors/%s -> %s" % (n, ", ".join(sorted(graph[n]))))
    if problems:
        print("\n".join(["layout violations:"] + problems))
        return 1
    print("layout ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
