#!/usr/bin/env python3
"""End-to-end tests of pooltop's console output (suite 'integration').

Usage: test_console.py POOLTOP

Runs the real binary: `pooltop --headless` on services written in Python
(standard library only) that print lines in pieces, from two processes
at once, a prompt with no newline, and a flood; then checks what the
console printed (stdout: worker lines, aligned and whole; stderr:
pooltop's events), `--quiet`, `pooltop ctl logs` (the backlog, -n, a
target, errors, -f following new lines, a follower that disconnects and
one that does not read: every line is either received or counted in a
dropped record), and each pool's log_file rotated at log_max keeping
log_keep files.
"""

import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from ptcheck import fail, check, eq, sanitizer_clean, recv_exact, read_reply

POOLTOP = None
TMP = None

CHATTY_LINES = 60       # per worker, on stdout; every 10th also warns on stderr
FLOOD_LINES = 40000

LINE_RE = re.compile(r"^(\d\d:\d\d:\d\d) (\S+)( +)(out|err)\| (.*)$")
EVENT_RE = re.compile(r"^(\d\d:\d\d:\d\d) (\S+) +(.*)$")
FILE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\S+) +"
                     r"(out|err)\| (.*)$")


def wait_for(pred, what, timeout=30.0, step=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    fail("timed out after %.0f s waiting for %s (last: %r)" %
         (timeout, what, last if not isinstance(last, str) else
          last[-300:]))


def run(args, timeout=30):
    p = subprocess.run([POOLTOP] + args, capture_output=True,
                       timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    sanitizer_clean(err, "pooltop " + " ".join(args))
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# ---- the control socket, spoken directly (pooltop(1), CONTROL SOCKET) -------

def frame(words):
    body = b" ".join(w.encode() for w in words) + b"\n"
    return struct.pack(">I", len(body)) + body


def records(data):
    """Parses logs records: (time, who, stream, text) tuples."""
    out = []
    for line in data.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        t, who, stream, text = (line.split(" ", 3) + [""])[:4]
        check(t.isdigit() and "/" in who and stream in
              ("out", "err", "pooltop", "dropped"), "bad record %r" % line)
        out.append((int(t), who, stream, text))
    return out


# ---- the workers ------------------------------------------------------------

CHATTY = r'''
import os, sys, time
who = os.environ["POOLTOP_WORKER"]
for i in range(%d):
    b = ("%%s line %%03d " %% (who, i) + "abcdefghij" * 4 + "\n").encode()
    # In pieces, so the engine reads partial lines; the other worker
    # writes at the same time.
    os.write(1, b[:7])
    time.sleep(0.002)
    os.write(1, b[7:30])
    os.write(1, b[30:])
    if i %% 10 == 9:
        os.write(2, ("%%s warn %%03d\n" %% (who, i)).encode())
os.write(1, ("%%s done\n" %% who).encode())
while True:
    time.sleep(3600)
''' % CHATTY_LINES

PARTIAL = r'''
import os, sys, time
d = sys.argv[1]
os.write(1, b"prompt> ")
n = 0
while True:
    trigger = os.path.join(d, "say")
    if os.path.exists(trigger):
        os.unlink(trigger)
        n += 1
        os.write(1, b"said %d\n" % n)
    time.sleep(0.02)
'''

FLOOD = r'''
import os, sys, time
d = sys.argv[1]
n = int(sys.argv[2])
trigger = os.path.join(d, "flood")
while not os.path.exists(trigger):
    time.sleep(0.02)
out = os.fdopen(1, "wb", buffering=1 << 16)
for i in range(n):
    out.write(b"flood %06d " % i + b"0123456789" * 6 + b"\n")
out.write(b"flood end\n")
out.flush()
open(os.path.join(d, "flooded"), "w").close()
while True:
    time.sleep(3600)
'''


def chatty_expected(who):
    """What worker `who` prints, in order: (stream, text)."""
    out = []
    for i in range(CHATTY_LINES):
        out.append(("out", "%s line %03d " % (who, i) + "abcdefghij" * 4))
        if i % 10 == 9:
            out.append(("err", "%s warn %03d" % (who, i)))
    out.append(("out", "%s done" % who))
    return out


def check_tail(got, who, what):
    """got is the end of what `who` printed: on each stream, its last
    lines in order (stdout and stderr are two pipes: how their lines
    interleave depends on when pooltop read each)."""
    want = chatty_expected(who)
    for stream in ("out", "err"):
        g = [t for s, t in got if s == stream]
        w = [t for s, t in want if s == stream]
        eq(g, w[len(w) - len(g):] if g else [], "%s: %s lines of %s" %
           (what, stream, who))


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def config(quiet_log=False):
    chatty = write("chatty.py", CHATTY)
    partial = write("partial.py", PARTIAL)
    flood = write("flood.py", FLOOD)
    log = os.path.join(TMP, "chatty%s.log" % ("-q" if quiet_log else ""))
    # The --quiet run's triggers apart: the first run's (its flood) are
    # left in TMP, and would set a 40000-line flood off at its start.
    trig = TMP
    if quiet_log:
        trig = os.path.join(TMP, "q")
        os.makedirs(trig, exist_ok=True)
    return write("console%s.conf" % ("-q" if quiet_log else ""), """\
[service chatty]
command = python3 %s
workers = 2
log_file = %s
log_max = 2K
log_keep = 2

[service partial-prompt]
command = python3 %s %s

[service flood]
command = python3 %s %s %d
log_lines = 500
log_rate_limit = 0
""" % (chatty, log, partial, trig, flood, trig, FLOOD_LINES)), log


class Pooltop:
    """A `pooltop --headless` in the background, stdout and stderr in files."""

    def __init__(self, conf, name, extra=()):
        self.sock = os.path.join(TMP, name + ".sock")
        self.out = os.path.join(TMP, name + ".out")
        self.err = os.path.join(TMP, name + ".err")
        self.p = subprocess.Popen(
            [POOLTOP, "--headless", "-c", conf, "-s", self.sock] +
            list(extra), stdout=open(self.out, "wb"),
            stderr=open(self.err, "wb"))
        wait_for(lambda: self.p.poll() is not None or
                 os.path.exists(self.sock), "the control socket")
        check(self.p.poll() is None, "pooltop exited at start: %s" %
              read_file(self.err))

    def stdout(self):
        return read_file(self.out)

    def stderr(self):
        return read_file(self.err)

    def logs(self, *args):
        return run(["ctl", "-s", self.sock, "logs"] + list(args))

    def sockets(self):
        n = 0
        for fd in os.listdir("/proc/%d/fd" % self.p.pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (self.p.pid, fd)).\
                        startswith("socket:"):
                    n += 1
            except OSError:
                pass
        return n

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                fail("pooltop did not stop within 30 s of SIGTERM")
        sanitizer_clean(self.stderr(), "pooltop --headless")
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def chatty_done(pt):
    """Both chatty workers printed their last line (through ctl logs)."""
    st, out, err = pt.logs("-n", "3", "chatty")
    return st == 0 and "chatty/0 done" in out and "chatty/1 done" in out


# ---- the tests ----------------------------------------------------------------

def test_console(pt):
    """Aligned prefixes, whole lines, the streams apart, a prompt shown."""
    wait_for(lambda: chatty_done(pt), "both chatty workers done")
    wait_for(lambda: "partial-prompt/0 out| prompt> \n" in pt.stdout(),
             "the prompt with no newline, as a line of its own")
    out = pt.stdout()
    width = len("partial-prompt/0")   # the longest worker name
    seen = {"chatty/0": [], "chatty/1": []}
    for line in out.split("\n")[:-1]:
        m = LINE_RE.match(line)
        check(m is not None, "a worker line with its prefix: %r" % line)
        who, pad = m.group(2), m.group(3)
        eq(len(who) + len(pad), width + 1, "the column of %r" % line)
        if who in seen:
            seen[who].append((m.group(4), m.group(5)))
    for who in seen:
        eq(len(seen[who]), len(chatty_expected(who)), "lines of %s" % who)
        check_tail(seen[who], who, "every line, whole and in order")
    check(out.endswith("\n"), "stdout ends with a whole line")
    err = pt.stderr()
    for line in err.split("\n")[:-1]:
        check(EVENT_RE.match(line) and not LINE_RE.match(line),
              "stderr has pooltop's events only: %r" % line)
    check(re.search(r"^\d\d:\d\d:\d\d pooltop {10}pid \d+: 3 pools from ",
                    err, re.M), "the banner, aligned: %r" % err[:200])


def test_ctl_logs(pt):
    """The backlog: last N lines per worker, merged; a target; errors."""
    st, out, err = pt.logs("-n", "3", "chatty/1")
    eq((st, err), (0, ""), "ctl logs -n 3 chatty/1")
    lines = out.split("\n")[:-1]
    eq(len(lines), 3, "3 lines: %r" % out)
    got = []
    for line in lines:
        m = LINE_RE.match(line)
        check(m is not None, "a prefixed line: %r" % line)
        eq(m.group(2) + m.group(3), "chatty/1 ", "the column")
        got.append((m.group(4), m.group(5)))
    check_tail(got, "chatty/1", "the last 3 lines")

    st, out, err = pt.logs("-n", "5")
    eq((st, err), (0, ""), "ctl logs -n 5")
    per = {}
    times = []
    for line in out.split("\n")[:-1]:
        m = LINE_RE.match(line) or EVENT_RE.match(line)
        check(m is not None, "a prefixed line: %r" % line)
        per.setdefault(m.group(2), []).append(line)
        times.append(m.group(1))
    eq(sorted(per), ["chatty/0", "chatty/1", "flood/0", "partial-prompt/0"],
       "every worker")
    for who in per:
        check(len(per[who]) <= 5, "at most 5 lines of %s" % who)
    eq(len(per["chatty/0"]), 5, "5 lines of chatty/0")
    check_tail([LINE_RE.match(x).group(4, 5) for x in per["chatty/0"]],
               "chatty/0", "the last 5")
    eq(times, sorted(times), "merged in time order")

    st, out, err = pt.logs("nope")
    eq((st, out, err), (1, "", 'pooltop: no pool "nope" (pools: chatty, '
                        'partial-prompt, flood)\n'), "ctl logs nope")
    st, out, err = pt.logs("chatty/7")
    eq((st, err), (1, "pooltop: no worker chatty/7: pool chatty has 2 "
                   "slots (0 to 1)\n"), "ctl logs chatty/7")
    st, out, err = pt.logs("-n", "x")
    eq(st, 2, "ctl logs -n x: status")
    check(err.startswith('pooltop ctl logs: bad line count "x" (expected '
                         'a number from 0 to 1000000)\n'), err)
    st, out, err = pt.logs("a", "b")
    eq(st, 2, "two targets: status")
    check(err.startswith('pooltop ctl logs: expected one POOL, POOL/N or '
                         'PID at most (got "a" and "b")\n'), err)


def readline(f, timeout):
    """One line from a pipe within timeout seconds (None if none)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([f], [], [], left)[0]:
            return None
        c = os.read(f.fileno(), 1)
        if not c:
            return buf.decode() if buf else None
        buf += c
    return buf.decode()


def settled_sockets(pt):
    """The server's sockets, once the count stays the same for a while."""
    last, same = -1, 0
    while same < 5:
        n = pt.sockets()
        same = same + 1 if n == last else 0
        last = n
        time.sleep(0.05)
    return last


def test_follow(pt):
    """-f prints new lines as they come; a client that leaves is let go."""
    base = settled_sockets(pt)
    c = subprocess.Popen([POOLTOP, "ctl", "-s", pt.sock, "logs", "-f", "-n",
                          "1", "partial-prompt"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        first = readline(c.stdout, 20)
        check(first is not None and first.endswith(
            "partial-prompt/0 out| prompt> \n"), "the backlog line: %r" %
            first)
        for n in (1, 2):
            write("say", "")
            line = readline(c.stdout, 20)
            check(line is not None and line.endswith(
                "partial-prompt/0 out| said %d\n" % n),
                "followed line %d: %r" % (n, line))
        eq(pt.sockets(), base + 1, "one more connection while following")
    finally:
        c.terminate()
        c.wait()
    wait_for(lambda: pt.sockets() == base, "the follower's connection "
             "closed on the server", timeout=20)
    st, out, err = pt.logs("-n", "1", "partial-prompt")
    check(st == 0 and out.endswith("said 2\n"), "still answering: %r" % out)


def test_slow_follower(pt):
    """A follower that does not read: lines are received or counted."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(pt.sock)
    try:
        s.sendall(frame(["logs", "lines=0", "follow", "flood/0"]))
        eq(read_reply(s), (True, b""), "the empty backlog")
        write("flood", "")
        wait_for(lambda: os.path.exists(os.path.join(TMP, "flooded")),
                 "the flood written", timeout=60)
        wait_for(lambda: pt.logs("-n", "1", "flood")[1].endswith(
            "flood/0 out| flood end\n"), "pooltop read the flood",
            timeout=60)
        got, dropped, last = 0, 0, -1
        s.settimeout(30)
        while True:
            ok, data = read_reply(s)
            check(ok and data, "a batch of records")
            end = False
            for t, who, stream, text in records(data):
                eq(who, "flood/0", "the target only")
                if stream == "dropped":
                    dropped += int(text)
                    continue
                eq(stream, "out", "stream of %r" % text)
                if text == "flood end":
                    end = True
                    continue
                n = int(text.split()[1])
                check(n > last, "in order: %d after %d" % (n, last))
                last = n
                got += 1
            if end:
                break
        check(dropped > 0, "the ring moved on: some lines were dropped")
        eq(got + dropped, FLOOD_LINES, "received + dropped")
    finally:
        s.close()
        os.unlink(os.path.join(TMP, "flood"))


def test_log_file(log):
    """The pool's file got the lines, rotated at 2K keeping 2 files."""
    files = [log + ".2", log + ".1", log]    # oldest first
    check(not os.path.exists(log + ".3"), "log_keep = 2: no %s.3" % log)
    per = {"chatty/0": [], "chatty/1": []}
    for path in files:
        text = read_file(path)
        check(text and text.endswith("\n"), "%s: whole lines" % path)
        check(len(text.encode()) <= 2048, "%s: at most log_max (%d)" %
              (path, len(text.encode())))
        for line in text.split("\n")[:-1]:
            m = FILE_RE.match(line)
            check(m is not None, "%s: a stamped, prefixed line: %r" %
                  (path, line))
            per[m.group(1)].append((m.group(2), m.group(3)))
    kept = sum(len(got) for got in per.values())
    printed = sum(len(chatty_expected(who)) for who in per)
    check(0 < kept < printed, "rotation dropped the oldest (%d of %d kept)"
          % (kept, printed))
    for who, got in per.items():
        # Which worker wrote last is up to the scheduler: each one's
        # lines kept are its newest.
        check_tail(got, who, "the newest lines in the files")
    # A rotated file was full: the next line would not fit.
    longest = max(len(x) + 1 for p in files for x in
                  read_file(p).split("\n")[:-1])
    for path in files[:2]:
        size = len(read_file(path).encode())
        check(size > 2048 - longest, "%s was rotated full (%d bytes, "
              "lines up to %d)" % (path, size, longest))


def test_quiet(conf):
    """--quiet: no worker lines, events still there; the file still fed."""
    pt = Pooltop(conf, "quiet", ["--quiet"])
    try:
        wait_for(lambda: chatty_done(pt), "both chatty workers done",
                 timeout=60)
        eq(pt.stop(), 0, "exit status after SIGTERM")
        eq(pt.stdout(), "", "--quiet: nothing on stdout")
        err = pt.stderr()
        check("out|" not in err and "err|" not in err,
              "--quiet: no worker lines on stderr")
        check("SIGTERM: stopping" in err and err.rstrip().endswith(
            "stopped"), "pooltop's events are there: %r" % err[-300:])
    finally:
        pt.kill()


def main():
    global POOLTOP, TMP
    if len(sys.argv) < 2:
        sys.exit("usage: test_console.py POOLTOP")
    POOLTOP = os.path.abspath(sys.argv[1])
    TMP = tempfile.mkdtemp(prefix="pt-con-", dir="/tmp")
    os.environ.pop("NO_COLOR", None)
    conf, log = config()

    failed = 0
    pt = Pooltop(conf, "pt")
    try:
        for name, fn in [
                ("headless console", lambda: test_console(pt)),
                ("ctl logs", lambda: test_ctl_logs(pt)),
                ("ctl logs -f", lambda: test_follow(pt)),
                ("slow follower", lambda: test_slow_follower(pt)),
                ("log_file rotation", lambda: test_log_file(log)),
        ]:
            failed += run_one(name, fn)
        failed += run_one("SIGTERM", lambda: eq(pt.stop(), 0, "exit status"))
    finally:
        pt.kill()
        if failed:
            print("# stderr (last 30 lines):")
            for line in pt.stderr().splitlines()[-30:]:
                print("#   " + line)
    qconf, _ = config(quiet_log=True)
    failed += run_one("--quiet", lambda: test_quiet(qconf))
    if failed:
        sys.exit("%d test(s) failed (files in %s)" % (failed, TMP))
    subprocess.run(["rm", "-rf", TMP])
    print("all passed")


def run_one(name, fn):
    t0 = time.monotonic()
    try:
        fn()
    except AssertionError as e:
        print("not ok - %s: %s" % (name, e))
        return 1
    except Exception as e:  # noqa: BLE001 - a crash is a failure too
        print("not ok - %s: %s: %s" % (name, type(e).__name__, e))
        return 1
    print("ok - %s (%.2f s)" % (name, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    main()
