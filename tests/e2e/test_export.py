#!/usr/bin/env python3
"""report --format svg, pprof, speedscope and html against real recordings.

- svg: the flame graph of the folded stacks: its root and each thread
  name's frame carry exactly the folded totals (microseconds).
- pprof: `go tool pprof -raw` reads it; sample types in Go's conventions
  (samples/count, off_cpu/nanoseconds; contentions/count, delay/nanoseconds
  for --view locks); its ns total equals the folded total (folded truncates
  each line to whole microseconds); file:line, build-ids, inlined frames as
  lines of their caller's location.
- speedscope: a sampled profile in nanoseconds with the same total.
- html: opens in headless Chromium with no script error; its own check of
  the embedded flame graph (search, click to zoom) passes; it has the top
  stack's function names, the lock table, no external URL.
- hostile names (a thread named '<b>&"x</script>', C++ templates) stay text
  in every format.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import (BLOCKER, HOSTILE, LOCKERS, WAITPROF, check, chromium, finish,  # noqa: E402
                    require_bpf, run, skip, tmpdir)

SVG = "{http://www.w3.org/2000/svg}"
FG = "{urn:waitprof:flamegraph}"
HOSTILE_COMM = '<b>&"x</script>'

def report(data, fmt, *extra, text=True):
    out = os.path.join(os.path.dirname(data), "out." + fmt)
    run([WAITPROF, "report", "-F", fmt, "-o", out, data, *extra])
    with open(out, "rb") as f:
        raw = f.read()
    return raw.decode() if text else raw


def folded_lines(data, *extra):
    text = run([WAITPROF, "report", "-F", "folded", data, *extra]).stdout
    lines = []
    for line in text.splitlines():
        stack, value = line.rsplit(" ", 1)
        lines.append((stack.split(";"), int(value)))
    return lines


def near(ns, us, nr_lines):
    """pprof keeps ns; folded truncates each line to whole µs (and drops
    lines under 1 µs): at most one µs per line apart."""
    return 0 <= ns / 1000.0 - us <= nr_lines + 1


def check_svg(data, lines, command, extra=(), prefix="Off-CPU time: "):
    root = ET.fromstring(report(data, "svg", *extra).encode())
    frames = []
    for g in root.iter(SVG + "g"):
        if "f" not in (g.get("class") or "").split():
            continue
        title = g.find(SVG + "title").text
        frames.append((title[:title.rindex(" (")], int(g.get(FG + "w")),
                       float(g.find(SVG + "rect").get("y"))))
    total = sum(v for _, v in lines)
    ys = sorted({y for _, _, y in frames}, reverse=True)
    check(frames and frames[0][0] == "all" and frames[0][1] == total,
          "svg %s: root 'all' = folded total %d us (got %r)" % (extra, total, frames[:1]))
    by_comm = {}
    for stack, v in lines:
        by_comm[stack[0]] = by_comm.get(stack[0], 0) + v
    got = {}
    for name, w, y in frames:
        if len(ys) > 1 and y == ys[1]:
            got[name] = got.get(name, 0) + w
    # Frames under 0.1 px (of 1180) are left out of the drawing, not lost
    # from their parent's width: compare the ones wide enough to be drawn.
    drawn = {c: v for c, v in by_comm.items() if v * 1180 >= total * 0.2}
    check({c: got.get(c) for c in drawn} == drawn and set(got) <= set(by_comm),
          "svg: per-thread-name totals equal folded: %r" % drawn)
    title = "".join(root.find(SVG + "text").itertext()) if root.find(SVG + "text") is not None else ""
    check(title.startswith(prefix) and command in title,
          "svg: titled with the recorded command: %r" % title)
    return frames


def go_raw(path):
    p = subprocess.run(["go", "tool", "pprof", "-raw", "-symbolize=none", path],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, HOME=tempfile.gettempdir()))
    check(p.returncode == 0, "go tool pprof -raw reads the profile: %s" % p.stderr[-300:])
    return p.stdout


def parse_raw(text):
    """(types line, [(values, location ids)], locations text, mappings text)."""
    sect, types, samples, locs, maps = None, None, [], [], []
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            sect = line
            continue
        if sect == "Samples:":
            if types is None:
                types = line.split()
                continue
            if ":" in line:
                vals, ids = line.split(":", 1)
                samples.append(([int(v) for v in vals.split()], ids.split()))
        elif sect == "Locations":
            locs.append(line)
        elif sect == "Mappings":
            maps.append(line)
    return types, samples, locs, maps


def check_pprof(data, lines, extra, want_types):
    path = os.path.join(os.path.dirname(data), "p.pb.gz")
    run([WAITPROF, "report", "-F", "pprof", "-o", path, data, *extra])
    with open(path, "rb") as f:
        check(f.read(2) == b"\x1f\x8b", "pprof is gzipped")
    if not shutil.which("go"):
        skip("go not installed (golang-go): go tool pprof checks")
        return None
    types, samples, locs, maps = parse_raw(go_raw(path))
    check(types == want_types, "pprof sample types %r (got %r)" % (want_types, types))
    ns = sum(v[-1] for v, _ in samples)
    us = sum(v for _, v in lines)
    check(near(ns, us, len(lines)),
          "pprof %s: %d ns = folded %d us over %d lines" % (extra or "offcpu", ns, us, len(lines)))
    check(all(v[0] > 0 for v, _ in samples), "pprof: every sample has a count")
    return types, samples, locs, maps


def check_speedscope(data, lines, extra=()):
    d = json.loads(report(data, "speedscope", *extra))
    p = d["profiles"][d.get("activeProfileIndex", 0)]
    ns = sum(p["weights"])
    us = sum(v for _, v in lines)
    check(p["type"] == "sampled" and p["unit"] == "nanoseconds",
          "speedscope: sampled profile in nanoseconds (%s, %s)" % (p["type"], p["unit"]))
    check(near(ns, us, len(lines)), "speedscope %s: %d ns = folded %d us" % (extra, ns, us))
    check(any(f.get("file") for f in d["shared"]["frames"]), "speedscope frames carry files")
    return d


def browse(path, query=""):
    """The DOM after the page's scripts ran, and the console errors."""
    profile = tempfile.mkdtemp(prefix="export-chromium-")
    try:
        p = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-background-networking", "--no-first-run",
                            "--disable-component-update", "--disable-sync",
                            "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
                            "--virtual-time-budget=5000", "--dump-dom",
                            "file://" + path + query],
                           capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    check(p.returncode == 0, "chromium ran: %s" % p.stderr[-300:])
    errors = [l for l in p.stderr.splitlines() if "Uncaught" in l or
              ("CONSOLE" in l and "ERROR" in l.upper())]
    return p.stdout, errors


def body_attrs(dom):
    m = re.search(r"<body([^>]*)>", dom)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}


def check_html_static(page):
    urls = [u for u in re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>\\]*", page)
            if not u.startswith(("http://www.w3.org/", "//www.w3.org/"))]
    check(not urls, "html: no external URL (found %r)" % urls[:3])
    check(page.count("<script") == 2, "html: the graph's data and one script, nothing loaded")


def check_html(data, want_names, query="", want_locks=None):
    path = os.path.join(os.path.dirname(data), "page.html")
    run([WAITPROF, "report", "-F", "html", "-o", path, data])
    page = open(path, encoding="utf-8").read()
    check_html_static(page)
    text = html.unescape(page)
    for name in want_names:
        check(name in text, "html names %r" % name)
    if want_locks:
        check('id="locks"' in page and want_locks in text, "html lock table has %s" % want_locks)
    if not chromium():
        skip("chromium not installed: html not opened")
        return page, None
    dom, errors = browse(path, query)
    attrs = body_attrs(dom)
    check(not errors, "html: no script errors (%r)" % errors[:3])
    check(attrs.get("data-selfcheck") == "ok",
          "html: embedded flame graph searched and zoomed: %r" % attrs)
    return page, attrs


def hostile(d):
    data = os.path.join(d, "hostile.data")
    run([WAITPROF, "record", "-o", data, "--", HOSTILE, "bimodal"])
    lines = folded_lines(data)
    check(any(s[0] == HOSTILE_COMM for s, _ in lines), "hostile comm in folded: %r" %
          sorted({s[0] for s, _ in lines}))
    in_template = sum(v for s, v in lines if any("wait_in<int, char>" in f for f in s))
    check(in_template > 0, "template frame in folded")
    frames = check_svg(data, lines, HOSTILE)
    check(any(n == HOSTILE_COMM for n, _, _ in frames), "svg: hostile comm is a frame's text")
    d_ss = check_speedscope(data, lines)
    check(any(f["name"] == HOSTILE_COMM for f in d_ss["shared"]["frames"]),
          "speedscope: hostile comm survives")
    page, attrs = check_html(data, [HOSTILE_COMM], "?s=wait_in%3Cint")
    check("<b>&" not in page and "</script>\"" not in page,
          "html: hostile name escaped everywhere")
    if attrs:
        m = re.match(r"Matched: ([\d.]+)%", attrs.get("data-search-result", ""))
        want = 100.0 * in_template / sum(v for _, v in lines)
        check(m and abs(float(m.group(1)) - want) < 0.01,
              "html: search wait_in<int in the embedded graph: %r, want %.2f%%" % (
                  attrs.get("data-search-result"), want))
        print("hostile: %s, zoom %s" % (attrs.get("data-search-result"), attrs.get("data-zoom-width")))
    # Its one stack waits two ways: said in the findings, antimode drawn.
    comm = html.escape(HOSTILE_COMM, quote=True)
    found = re.findall(r"<li>off-CPU stack #\d+ \(" + re.escape(comm) + r" \[\d+\].*?\): "
                       r"((?:bi|multi)modal[^<]*)</li>", page)
    check(found and found[0].startswith(("bimodal", "multimodal")),
          "html finding for the two-population stack: %r" % found)
    m = re.search(r"<h3>#\d+ " + re.escape(comm), page)
    block = page[m.start():] if m else ""
    block = block[:block.find("</svg>")]
    check("antimode " in block and block.count(">mode ") >= 2,
          "html: its histogram marks %d modes and the antimode" % block.count(">mode "))


def main():
    require_bpf()
    d = tmpdir()
    try:
        data = os.path.join(d, "blocker.data")
        run([WAITPROF, "record", "-o", data, "--", BLOCKER, "-n", "40"])
        lines = folded_lines(data)
        total = sum(v for _, v in lines)
        check(total > 0, "folded total %d us over %d lines" % (total, len(lines)))
        check_svg(data, lines, BLOCKER)
        r = check_pprof(data, lines, [], ["samples/count", "off_cpu/nanoseconds[dflt]"])
        if r:
            _, _, locs, maps = r
            check(any("blocker.c:" in l for l in locs), "pprof: locations with blocker.c:LINE")
            check(maps and re.search(r"/blocker [0-9a-f]{40}", maps[0]),
                  "pprof: blocker's mapping, first, has its build-id: %r" % maps[:1])
            top = subprocess.run(["go", "tool", "pprof", "-top", "-symbolize=none", "-unit=ns",
                                  os.path.join(d, "p.pb.gz")], capture_output=True, text=True,
                                 timeout=300, env=dict(os.environ, HOME=d))
            want = "of %dns total" % sum(v[-1] for v, _ in r[1])
            check("File: blocker" in top.stdout and want in top.stdout,
                  "go tool pprof -top: main binary blocker, %s" % want)
            if any(f.endswith("_[i]") for s, _ in lines for f in s):
                check(any(l.startswith("             ") for l in locs),
                      "pprof: inlined frames are lines of their caller's location")
        check_speedscope(data, lines)
        blocked = folded_lines(data, "--wait", "blocked")
        check_svg(data, blocked, BLOCKER, ("--wait", "blocked"), "Off-CPU time (blocked): ")
        check(sum(v for _, v in blocked) < total, "--wait blocked is a part of the whole wait")
        top = max(lines, key=lambda l: l[1])[0]
        user = [f for f in top[1:] if not f.endswith(("_[k]", "_[i]"))][:3]
        page, attrs = check_html(data, user)
        if attrs:
            print("blocker html: %s, zoom %s, %s frames hidden when zoomed" % (
                attrs.get("data-search-result"), attrs.get("data-zoom-width"),
                attrs.get("data-zoom-hidden")))

        ldata = os.path.join(d, "locks.data")
        run([WAITPROF, "record", "-o", ldata, "--", LOCKERS, "mutex", "-t", "4", "-n", "500"])
        llines = folded_lines(ldata, "--view", "locks")
        check(any("contended_mu (mutex)" in s for s, _ in llines), "locks folded has contended_mu")
        check_pprof(ldata, llines, ["--view", "locks"], ["contentions/count", "delay/nanoseconds[dflt]"])
        check_svg(ldata, llines, LOCKERS, ("--view", "locks"), "Lock waits: ")
        check_speedscope(ldata, llines, ("--view", "locks"))
        lpage, _ = check_html(ldata, ["contended_mu"], want_locks="contended_mu")
        # The page's finding for the lock is the text report's, word for word,
        # and its histogram marks the modes the finding names.
        text = run([WAITPROF, "report", ldata]).stdout
        m = re.search(r"^    contended_mu: (.*)$", text, re.M)
        check(m and html.escape(m.group(1), quote=True) in lpage,
              "html finding for contended_mu = text report's: %r" % (m and m.group(1)))
        hist = lpage[lpage.find("<h3>contended_mu (mutex)</h3>"):]
        hist = hist[:hist.find("</svg>")]
        modes = re.findall(r">mode ([^<]+)<", hist)
        check(hist.count("<rect") >= 1 and len(modes) >= 1,
              "html: contended_mu histogram with %d bars, modes %r" % (hist.count("<rect"), modes))

        hostile(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
