"""Helpers for the agent tests: start waitprof agent on a free loopback
port, scrape it, parse the Prometheus text exposition format."""
import atexit
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from wptest import WAITPROF


def held(*cmd):
    """cmd, started but held in a shell until release(): its pid is known
    before it runs (exec keeps it), so the agent can trace it with -p
    from its first instruction, and only it: other tests may run lockers
    at the same time."""
    return subprocess.Popen(["sh", "-c", 'read go; exec "$0" "$@"', *cmd],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def release(p):
    p.stdin.write("go\n")
    p.stdin.close()


class Agent:
    def __init__(self, *args):
        self.proc = subprocess.Popen([WAITPROF, "agent", "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        # A test that fails on an exception must not leave an agent behind.
        atexit.register(self._kill)
        self.stderr = []
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._read, args=(ready,), daemon=True).start()
        ready.wait(60)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("agent did not start:\n" + "".join(self.stderr))

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _read(self, ready):
        for line in self.proc.stderr:
            self.stderr.append(line)
            m = re.search(r"agent serving on port (\d+)", line)
            if m:
                self.port = int(m.group(1))
                ready.set()
        ready.set()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, method="GET"):
        """(status, body bytes)"""
        req = urllib.request.Request(self.url(path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def raw(self, data, timeout=10):
        """Sends raw bytes; the reply's status (0: closed without one)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            reply = b""
            try:
                while b"\r\n" not in reply:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        m = re.match(rb"HTTP/1\.[01] (\d+)", reply)
        return int(m.group(1)) if m else 0

    def metrics(self):
        status, body = self.get("/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics: {status}")
        return parse_metrics(body.decode())

    def wait_windows(self, n, timeout=60):
        """Waits until n more windows are recorded than now."""
        start = self.metrics().get(("waitprof_windows_total", ()), 0)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.metrics().get(("waitprof_windows_total", ()), 0) >= start + n:
                return True
            time.sleep(0.5)
        return False

    def stop(self, sig):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_metrics(text):
    """{(name, ((label, value), ...)): float}; raises on a malformed line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        if not m:
            raise ValueError(f"malformed exposition line: {line!r}")
        labels = ()
        if m.group(3):
            pairs = LABEL.findall(m.group(3))
            rebuilt = ",".join(f'{k}="{v}"' for k, v in pairs)
            if rebuilt != m.group(3):
                raise ValueError(f"malformed labels: {line!r}")
            labels = tuple((k, unescape(v)) for k, v in pairs)
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def series(metrics, name, **want):
    """[(labels dict, value)] of name whose labels include want."""
    res = []
    for (n, labels), v in metrics.items():
        d = dict(labels)
        if n == name and all(d.get(k) == w for k, w in want.items()):
            res.append((d, v))
    return res
