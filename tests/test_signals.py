#!/usr/bin/env python3
"""pooltop under signals, through the real binary (suite 'integration').

Usage: test_signals.py POOLTOP [WORKERS_DIR]

- SIGKILL: pooltop dies at once; its workers (PR_SET_PDEATHSIG) are gone
  within a second, services included.
- SIGTERM: a graceful stop: the task in flight finishes with its result,
  pooltop exits 0 and leaves no process behind.
- SIGHUP: the config file is read again: a pool removed, one added, one
  resized and one replaced (its command changed), while the unchanged
  pool keeps its workers (same pids); then files with errors change
  nothing and every error is reported.

Python 3 standard library only.
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from ptcheck import fail, check, eq, sanitizer_clean

POOLTOP = None
WORKER = None
SERVICE = None
TMP = None


def wait_for(pred, what, timeout=20.0, step=0.02):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    fail("timed out after %.1f s waiting for %s (last: %r)" %
         (timeout, what, last))


def call(path, words):
    """One control-socket request (see pooltop(1)); (ok, body)."""
    body = b" ".join(w.encode() for w in words) + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(struct.pack(">I", len(body)) + body)
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                raise EOFError("closed")
            head += chunk
        (n,) = struct.unpack(">I", head)
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise EOFError("closed")
            data += chunk
    if data.startswith(b"ok\n"):
        return True, data[3:]
    return False, data


def proc_state(pid):
    """The state letter of pid, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(")") + 2:].split()[0]


def gone(pid):
    return proc_state(pid) in (None, "Z", "X")


def descendants(root):
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        for pid in kids.get(todo.pop(), []):
            out.append(pid)
            todo.append(pid)
    return out


# Every pooltop started, so that a failing test cannot leave one running.
STARTED = []


class Pooltop:
    """A `pooltop --headless -c CONF` in the background."""

    def __init__(self, conf, name):
        self.sock = os.path.join(TMP, name + ".sock")
        self.log = os.path.join(TMP, name + ".log")
        self.logf = open(self.log, "w")
        self.p = subprocess.Popen([POOLTOP, "--headless", "-c", conf, "-s",
                                   self.sock], stdout=subprocess.DEVNULL,
                                  stderr=self.logf)
        STARTED.append(self.p)
        wait_for(lambda: self.p.poll() is not None or self.ping(),
                 "the control socket")
        check(self.p.poll() is None, "pooltop exited at start: %s" %
              self.stderr())

    def ping(self):
        try:
            return call(self.sock, ["ping"])[0]
        except OSError:
            return False

    def stderr(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log) as f:
            return f.read()

    def workers(self):
        ok, data = call(self.sock, ["list", "json"])
        check(ok, "list failed: %r" % data)
        return json.loads(data)["workers"]

    def pids(self):
        """{(pool, slot): pid} of the live ready workers."""
        return {(w["pool"], w["slot"]): w["pid"] for w in self.workers()
                if w["pid"] > 0 and w["state"] in ("idle", "busy")}

    def wait_pids(self, want_keys):
        def ready():
            p = self.pids()
            return sorted(p) == sorted(want_keys) and p
        return wait_for(ready, "workers %s" % sorted(want_keys))

    def wait_log(self, text, timeout=20.0):
        wait_for(lambda: text in self.stderr(), "%r in the log" % text,
                 timeout)
        return self.stderr()

    def finish(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                fail("pooltop did not stop within %d s of %s" %
                     (timeout, sig.name))
        self.logf.close()
        sanitizer_clean(self.stderr(), "pooltop --headless")
        return self.p.returncode


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)
    return path


def conf_text(sections):
    out = "[pooltop]\ninterval = 200ms\n"
    for kind, name, keys in sections:
        out += "\n[%s %s]\n" % (kind, name)
        for k, v in keys:
            out += "%s = %s\n" % (k, v)
    return out


# ---- the tests --------------------------------------------------------------

def test_sigkill():
    conf = write("kill.conf", conf_text([
        ("pool", "a", [("command", WORKER), ("workers", "3"),
                       ("min_workers", "3")]),
        ("service", "s", [("command", SERVICE)]),
    ]))
    pt = Pooltop(conf, "kill")
    pids = list(pt.wait_pids([("a", 0), ("a", 1), ("a", 2), ("s", 0)])
                .values())
    kids = descendants(pt.p.pid)
    for pid in pids:
        check(pid in kids, "worker %d is a child of pooltop" % pid)
    os.kill(pt.p.pid, signal.SIGKILL)
    t0 = time.monotonic()
    pt.p.wait(10)
    # PR_SET_PDEATHSIG: the kernel kills them as pooltop dies (without
    # it they would live on: 10 s only leaves room for a loaded machine).
    wait_for(lambda: all(gone(p) for p in pids), "the workers gone",
             timeout=10.0, step=0.005)
    took = time.monotonic() - t0
    pt.finish()
    eq(pt.p.returncode, -signal.SIGKILL, "pooltop's status")
    print("  %d workers gone %.0f ms after SIGKILL" % (len(pids),
                                                      took * 1000))


def test_sigterm():
    conf = write("term.conf", conf_text([
        ("pool", "a", [("command", WORKER), ("workers", "2"),
                       ("min_workers", "2"), ("stop_timeout", "10s")]),
    ]))
    pt = Pooltop(conf, "term")
    pids = list(pt.wait_pids([("a", 0), ("a", 1)]).values())
    send = subprocess.Popen([POOLTOP, "send", "-s", pt.sock, "a", "sleep",
                             "700"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    wait_for(lambda: any(w["in_flight"] for w in pt.workers()),
             "the task in flight")
    pt.p.send_signal(signal.SIGTERM)
    out, err = send.communicate(timeout=30)
    eq((send.returncode, out, err), (0, b"slept 700", b""),
       "the task in flight at SIGTERM")
    # One SIGTERM only: the stop runs to its end by itself.
    try:
        pt.p.wait(30)
    except subprocess.TimeoutExpired:
        fail("pooltop did not exit within 30 s of SIGTERM")
    eq(pt.finish(), 0, "pooltop's exit status after SIGTERM")
    log = pt.stderr()
    check("SIGTERM: stopping" in log, "SIGTERM is logged: %s" % log)
    check(re.search(r"pooltop +stopped\n", log), "the stop is logged")
    for pid in pids:
        check(gone(pid), "worker %d gone after the stop" % pid)
    eq(descendants(pt.p.pid), [], "processes left behind")


def test_sighup():
    w = WORKER
    base = [
        ("pool", "keep", [("command", w), ("workers", "2"),
                          ("min_workers", "2")]),
        ("pool", "gone", [("command", w), ("workers", "1")]),
        ("pool", "grow", [("command", w), ("workers", "1")]),
        ("pool", "swap", [("command", w), ("workers", "1")]),
    ]
    conf = write("hup.conf", conf_text(base))
    pt = Pooltop(conf, "hup")
    before = pt.wait_pids([("keep", 0), ("keep", 1), ("gone", 0),
                           ("grow", 0), ("swap", 0)])

    # Removed, added, resized, replaced; keep unchanged.
    changed = [
        base[0],
        ("pool", "grow", [("command", w), ("workers", "3"),
                          ("min_workers", "3")]),
        ("pool", "swap", [("command", w + " --hello-delay 1"),
                          ("workers", "1")]),
        ("pool", "fresh", [("command", w), ("workers", "2"),
                           ("min_workers", "2")]),
    ]
    write("hup.conf", conf_text(changed))
    pt.p.send_signal(signal.SIGHUP)
    after = pt.wait_pids([("keep", 0), ("keep", 1), ("grow", 0), ("grow", 1),
                          ("grow", 2), ("swap", 0), ("fresh", 0),
                          ("fresh", 1)])
    for key in (("keep", 0), ("keep", 1), ("grow", 0)):
        eq(after[key], before[key], "pid of %s/%d (unchanged)" % key)
    check(after[("swap", 0)] != before[("swap", 0)], "swap was replaced")
    wait_for(lambda: gone(before[("gone", 0)]) and
             gone(before[("swap", 0)]), "the removed workers gone")
    log = pt.wait_log("reloaded: 1 added, 1 removed, 2 changed, "
                      "1 unchanged")
    for line in ("SIGHUP: reloading " + conf,
                 "pool gone: removed (stopping 1 worker)",
                 "pool grow: workers 1 -> 3, min_workers changed: applied",
                 "pool swap: command changed: replaced by a new pool",
                 "pool fresh: added (2 workers)"):
        check(line in log, "%r in the log:\n%s" % (line, log))
    ok, data = call(pt.sock, ["send", "fresh", "echo"])
    check(ok, "a task to the added pool: %r" % data)

    # Errors: nothing changes, every error is reported.
    bad = changed + [("pool", "typo", [("command", w), ("workres", "2"),
                                       ("strategy", "fastest")])]
    write("hup.conf", conf_text(bad))
    pt.p.send_signal(signal.SIGHUP)
    log = pt.wait_log("hup.conf: 2 errors; the running config is kept")
    check(re.search(r"error: .*hup\.conf:\d+: unknown key \"workres\"", log),
          "the unknown key is reported:\n%s" % log)
    check(re.search(r"error: .*hup\.conf:\d+: .*fastest", log),
          "the bad strategy is reported:\n%s" % log)
    missing = changed[:3] + [("pool", "fresh", [("command",
                                                 "/nonexistent/worker")])]
    write("hup.conf", conf_text(missing))
    pt.p.send_signal(signal.SIGHUP)
    log = pt.wait_log("hup.conf: 1 error; the running config is kept")
    check('pool fresh: cannot start "/nonexistent/worker": No such file or '
          'directory' in log, "the missing command is reported:\n%s" % log)
    time.sleep(0.3)
    eq(pt.pids(), after, "workers after the refused reloads")

    # The same file again: nothing to do.
    write("hup.conf", conf_text(changed))
    pt.p.send_signal(signal.SIGHUP)
    pt.wait_log("reloaded: no change (4 pools)")
    eq(pt.pids(), after, "workers after a reload with no change")
    eq(pt.finish(), 0, "pooltop's exit status")


def run_one(name, fn):
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # report and go on with the next test
        print("FAIL %s (%.1f s): %s" % (name, time.monotonic() - t0, e))
        return 1
    finally:
        # SIGKILL what the test left running; its workers die with it
        # (PR_SET_PDEATHSIG).
        for p in STARTED:
            if p.poll() is None:
                p.kill()
                p.wait()
    print("ok   %s (%.1f s)" % (name, time.monotonic() - t0))
    return 0


def main():
    global POOLTOP, WORKER, SERVICE, TMP
    if len(sys.argv) < 2:
        sys.exit("usage: test_signals.py POOLTOP [WORKERS_DIR]")
    POOLTOP = os.path.abspath(sys.argv[1])
    wdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.environ["POOLTOP_BUILD"], "examples", "workers")
    WORKER = os.path.join(wdir, "pooltop-example-worker")
    SERVICE = os.path.join(wdir, "pooltop-example-service")
    TMP = tempfile.mkdtemp(prefix="pt-sig-", dir="/tmp")
    failed = 0
    for name, fn in (("SIGKILL leaves no worker", test_sigkill),
                     ("SIGTERM stops gracefully", test_sigterm),
                     ("SIGHUP reloads the config", test_sighup)):
        failed += run_one(name, fn)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
