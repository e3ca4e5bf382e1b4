#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The source tree's layout rules (docs/ARCHITECTURE.md), checked.

Data flows one way: cli -> collect/unwind -> recording -> analysis -> report.
The build enforces most of it through include paths (src/CMakeLists.txt);
this checks what include paths cannot, and the rest again with a message
that names the file and line:

  - a src/ file includes only headers of its own stage and of the stages
    before it (analysis and report never collect/ or unwind/);
  - libbpf headers (<bpf/...>, on the system path), BPF skeletons and
    vmlinux.h only in collect/ and unwind/;
  - no include cycle among src/ headers;
  - quoted includes in src/ are bare names ("recording.h"), and header
    names are unique across src/, bpf/, symbolize/ and flamegraph/, so a
    bare name means one file;
  - at most MAX_TOP_FILES files at src/'s top level;
  - symbolize/ and flamegraph/ include nothing from src/;
  - with --lib: no two object files of src/ call each other (the symbol
    graph of the stage libraries has no cycle), so shared writers live in
    their own file, not inside a sibling.

Usage: layout_check.py ROOT [--lib libwaitprof_STAGE.a ...]
Prints one line per violation and exits 1 when there is any.
"""
import os
import re
import subprocess
import sys

MAX_TOP_FILES = 6
STAGES = ("util", "recording", "unwind", "collect", "analysis", "report", "cli")
# The stages whose headers a stage may include (besides its own).
MAY_USE = {
    "util": set(),
    "recording": {"util"},
    "unwind": {"recording", "util"},
    "collect": {"unwind", "recording", "util"},
    "analysis": {"recording", "util"},
    "report": {"analysis", "recording", "util"},
    "cli": set(STAGES),
}
BPF_LOADERS = {"collect", "unwind"}
LIBRARIES = ("bpf", "symbolize", "flamegraph")
# Object files that may call each other, and why. Keep this short.
ALLOWED_OBJECT_CYCLES = {
    # rec_store.c is the recording's live index (rec_store.h); rec_free()
    # frees it with the rest of the recording.
    frozenset({"recording.c", "rec_store.c"}),
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def sources(top):
    for base, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".c", ".h", ".cc")):
                yield os.path.join(base, name)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield lineno, m.group(1), m.group(2)


def stage_of(root, path):
    rel = os.path.relpath(path, os.path.join(root, "src")).split(os.sep)
    return rel[0] if len(rel) > 1 else None


def find_cycle(graph):
    """One cycle of graph (node -> set of nodes) as a list, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check_sources(root, errors):
    src = os.path.join(root, "src")
    headers = {}		# basename -> path, for every header a bare name may mean
    for top in ["src"] + list(LIBRARIES):
        for path in sources(os.path.join(root, top)):
            if not path.endswith(".h"):
                continue
            name = os.path.basename(path)
            if name in headers:
                errors.append(f"{os.path.relpath(path, root)}: header name also used by "
                              f"{os.path.relpath(headers[name], root)}")
            headers[name] = path

    top_files = [n for n in os.listdir(src) if os.path.isfile(os.path.join(src, n))]
    if len(top_files) > MAX_TOP_FILES:
        errors.append(f"src/: {len(top_files)} files at the top level (at most "
                      f"{MAX_TOP_FILES}): {' '.join(sorted(top_files))}")

    header_graph = {}
    for path in sources(src):
        rel = os.path.relpath(path, root)
        stage = stage_of(root, path)
        if stage is None:
            continue
        if stage not in MAY_USE:
            errors.append(f"{rel}: src/{stage}/ is not a stage (docs/ARCHITECTURE.md)")
            continue
        for lineno, kind, name in includes(path):
            where = f"{rel}:{lineno}"
            bpf_loading = (kind == "<" and name.startswith("bpf/")) or \
                name.endswith(".skel.h") or name == "vmlinux.h"
            if bpf_loading:
                if stage not in BPF_LOADERS:
                    errors.append(f"{where}: {stage}/ includes {name}: only collect/ and "
                                  f"unwind/ load BPF")
                continue
            if kind != '"':
                continue
            if "/" in name:
                errors.append(f"{where}: \"{name}\": include src/ headers by bare name")
                continue
            target = headers.get(name)
            if target is None or not target.startswith(src + os.sep):
                continue	# bpf/, symbolize/, flamegraph/ or a system header
            to = stage_of(root, target)
            if to != stage and to not in MAY_USE[stage]:
                errors.append(f"{where}: {stage}/ includes {to}/{name}: against the flow "
                              f"(cli -> collect/unwind -> recording -> analysis -> report)")
            if path.endswith(".h"):
                header_graph.setdefault(path, set()).add(target)

    cycle = find_cycle(header_graph)
    if cycle:
        errors.append("include cycle: " + " -> ".join(os.path.relpath(p, root) for p in cycle))

    src_headers = {n for n, p in headers.items() if p.startswith(src + os.sep)}
    for lib in ("symbolize", "flamegraph"):
        for path in sources(os.path.join(root, lib)):
            for lineno, kind, name in includes(path):
                base = os.path.basename(name)
                local = os.path.exists(os.path.join(os.path.dirname(path), name))
                if "src/" in name or (base in src_headers and not local):
                    errors.append(f"{os.path.relpath(path, root)}:{lineno}: {lib}/ includes "
                                  f"{name} from src/")


def symbols(lib):
    """(object -> defined globals, object -> undefined symbols) of an archive."""
    defined, undefined = {}, {}
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        # "libwaitprof_report.a:report_json.c.o:0000000000000000 T report_json"
        fields = line.rsplit(":", 2)
        if len(fields) != 3:
            continue
        obj, parts = fields[1], fields[2].split()
        if obj.endswith(".o"):
            obj = obj[:-2]
        if len(parts) == 2 and parts[0] == "U":
            undefined.setdefault(obj, set()).add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDRBCV":
            defined.setdefault(obj, set()).add(parts[2])
    return defined, undefined


def check_objects(libs, errors):
    owner, calls = {}, {}
    for lib in libs:
        defined, undefined = symbols(lib)
        for obj, syms in defined.items():
            for sym in syms:
                owner[sym] = obj
        for obj, syms in undefined.items():
            calls.setdefault(obj, set()).update(syms)
    graph = {}
    for obj, syms in calls.items():
        for sym in syms:
            other = owner.get(sym)
            if other and other != obj and frozenset({obj, other}) not in ALLOWED_OBJECT_CYCLES:
                graph.setdefault(obj, set()).add(other)
    cycle = find_cycle(graph)
    if cycle:
        errors.append("object files call each other: " + " -> ".join(cycle) +
                      " (move what they share into its own file)")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    libs = []
    args = argv[2:]
    while args:
        if args[0] == "--lib" and len(args) > 1:
            libs.append(args[1])
            args = args[2:]
        else:
            print(f"layout_check: unknown argument {args[0]}", file=sys.stderr)
            return 2
    errors = []
    check_sources(root, errors)
    if libs:
        check_objects(libs, errors)
    for e in errors:
        print(e)
    if errors:
        print(f"layout_check: {len(errors)} violation(s); docs/ARCHITECTURE.md says where "
              f"things go", file=sys.stderr)
        return 1
    print(f"layout_check: src/ follows the layout ({len(libs)} libraries' objects checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
