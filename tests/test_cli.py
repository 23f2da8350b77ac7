#!/usr/bin/env python3
"""End-to-end tests of the pooltop program (suite 'integration').

Usage: test_cli.py POOLTOP [WORKERS_DIR]

Runs the real binary: `pooltop --headless` on a test config of the example
workers, then `pooltop send`, `pooltop ctl` and raw control-socket requests
against it; `pooltop check`; usage errors; stale and live sockets; and a
SIGTERM that must leave no process behind.  Python 3 standard library only.

The 8 x 500 concurrent tasks speak the control-socket protocol directly
(see pooltop(1), CONTROL SOCKET) from 8 threads, half of them pipelining
all 500 requests before reading a reply; a further 8 x 10 tasks go through
real `pooltop send` processes.
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
import threading
import time

from ptcheck import fail, check, eq, sanitizer_clean, recv_exact, read_reply

POOLTOP = None
WORKER = None
SERVICE = None
TMP = None
FAILS = []


def run(args, stdin=None, env=None, timeout=30):
    """Runs pooltop with args; returns (status, stdout bytes, stderr str)."""
    p = subprocess.run([POOLTOP] + args, input=stdin, capture_output=True,
                       env=env, timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    sanitizer_clean(err, "pooltop " + " ".join(args))
    return p.returncode, p.stdout, err


def wait_for(pred, what, timeout=20.0, step=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    fail("timed out after %.0f s waiting for %s (last: %r)" %
         (timeout, what, last))


# ---- the control socket, spoken directly ------------------------------------

def encode_word(b):
    if isinstance(b, str):
        b = b.encode()
    out = bytearray()
    for c in b:
        if 0x20 < c < 0x7F and c != 0x25:
            out.append(c)
        else:
            out += b"%%%02X" % c
    return bytes(out)


def frame(words, payload=b""):
    body = b" ".join(encode_word(w) for w in words) + b"\n" + payload
    return struct.pack(">I", len(body)) + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s


def call(path, words, payload=b""):
    with connect(path) as s:
        s.sendall(frame(words, payload))
        return read_reply(s)


# ---- processes ------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, starttime) of pid, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def descendants(root):
    """{pid: starttime} of every process below root."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st is not None:
            children.setdefault(st[1], []).append((int(name), st[2]))
    out, todo = {}, [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            out[pid] = start
            todo.append(pid)
    return out


class Pooltop:
    """A `pooltop --headless` in the background."""

    def __init__(self, conf, sock, extra=(), give_socket=True):
        self.sock = sock
        self.log = os.path.join(TMP, "headless-%d.log" % time.monotonic_ns())
        self.logf = open(self.log, "w")
        self.p = subprocess.Popen([POOLTOP, "--headless", "-c", conf] +
                                  (["-s", sock] if give_socket else []) +
                                  list(extra),
                                  stdout=subprocess.DEVNULL, stderr=self.logf)
        wait_for(lambda: self.p.poll() is not None or self.ping(),
                 "the control socket %s" % sock)
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

    def worker(self, pool, slot):
        for w in self.workers():
            if w["pool"] == pool and w["slot"] == slot:
                return w
        return None

    def wait_ready(self, count):
        def ready():
            ws = self.workers()
            live = [w for w in ws if w["pid"] > 0 and
                    w["state"] in ("idle", "busy")]
            return len(live) == count and ws
        return wait_for(ready, "%d workers ready" % count)

    def stop(self, sig=signal.SIGTERM, timeout=30):
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
    with open(path, "w") as f:
        f.write(text)
    return path


def test_config():
    return write("test.conf", """\
[pooltop]
interval = 200ms

[pool echo]
command = %(w)s
workers = 2
min_workers = 2
parallel_jobs = 4
backoff = 50ms
task_timeout = 20s

[pool spare]
command = %(w)s
workers = 1

[service beat]
command = %(s)s
stop_timeout = 2s
""" % {"w": WORKER, "s": SERVICE})


# ---- the tests ------------------------------------------------------------------

def test_usage():
    st, out, err = run(["--version"])
    eq((st, out.decode()), (0, "pooltop 0.1.0\n"), "--version")
    st, out, err = run(["--help"])
    eq(st, 0, "--help status")
    check(out.startswith(b"usage: pooltop [-c FILE] [-s SOCKET]\n"),
          "--help starts with the usage: %r" % out[:80])
    check(b"Exit status:" in out, "--help tells the exit statuses")
    # The man page covers what --help lists.
    src = os.environ.get("POOLTOP_SOURCE")
    if src:
        import re
        with open(os.path.join(src, "man", "pooltop.1")) as f:
            man = f.read().replace("\\-", "-")
        text = out.decode()
        words = set(re.findall(r"--[a-z]+|(?<![\w-])-[a-zA-Z](?![\w-])",
                               text))
        words |= set("ctl " + w for w in re.findall(
            r"pooltop ctl \[-s SOCKET\] ([a-z|]+)", text))
        for w in sorted(words):
            for part in w.replace("ctl ", "").split("|"):
                check(part in man, "man/pooltop.1 documents %s" % part)
        for st_ in ("0", "1", "2", "3"):
            check("\n.B %s\n" % st_ in man, "exit status %s in the man "
                  "page" % st_)
    cases = [
        (["frob"], 'pooltop: unknown command "frob" (expected check, send '
         'or ctl; or options only, to run pools)\n'),
        (["--frob"], "pooltop: unknown option --frob\n"),
        (["-x"], "pooltop: unknown option -x\n"),
        (["-c"], "pooltop: option -c needs a value\n"),
        (["--quiet"], "pooltop: --quiet goes with --headless (the dashboard "
         "shows everything)\n"),
        (["check"], "pooltop: check: expected -c FILE (the config to "
         "check)\n"),
        (["send", "web"], "pooltop send: expected POOL and TASK (got only "
         "POOL)\n"),
        (["send", "--timeout", "soon", "web", "echo"],
         'pooltop send: bad --timeout "soon" (expected a duration such as '
         '500ms, 5s or 2m)\n'),
        (["send", "web", "echo", "a", "b"], 'pooltop send: unexpected '
         'argument "b" after the payload (quote a payload with spaces)\n'),
        (["ctl"], "pooltop ctl: expected a command: list, kill, sleep, "
         "wake, restart, scale, strategy, reload, logs or ping\n"),
        (["ctl", "frob"], 'pooltop ctl: unknown command "frob" (expected '
         'list, kill, sleep, wake, restart, scale, strategy, reload, logs '
         'or ping)\n'),
        (["ctl", "reload"], "pooltop ctl reload: expected one POOL\n"),
        (["ctl", "reload", "a", "b"], "pooltop ctl reload: expected one "
         "POOL\n"),
        (["ctl", "kill", "-FROB", "web/0"], 'pooltop ctl kill: unknown '
         'signal "-FROB" (expected a name such as -TERM or -KILL, or a '
         'number such as -9)\n'),
        (["ctl", "kill"], "pooltop ctl kill: expected one TARGET (POOL/N "
         "or a pid)\n"),
        (["ctl", "scale", "web", "many"], 'pooltop ctl scale: bad worker '
         'count "many" (expected a number from 1 to 4096)\n'),
        (["ctl", "scale", "web", "0"], 'pooltop ctl scale: bad worker '
         'count "0" (expected a number from 1 to 4096)\n'),
        (["ctl", "scale", "web", "4097"], 'pooltop ctl scale: bad worker '
         'count "4097" (expected a number from 1 to 4096)\n'),
        (["ctl", "list", "--yaml"], 'pooltop ctl list: unexpected argument '
         '"--yaml" (expected --json or nothing)\n'),
        (["ctl", "sleep"], "pooltop ctl sleep: expected one TARGET (POOL/N "
         "or a pid)\n"),
    ]
    for args, first in cases:
        st, out, err = run(args)
        eq(st, 2, "exit status of pooltop %s" % " ".join(args))
        eq(err.splitlines(True)[0], first, "first line of pooltop %s" %
           " ".join(args))
        check("usage: pooltop" in err, "pooltop %s shows the usage" %
              " ".join(args))
        eq(out, b"", "stdout of pooltop %s" % " ".join(args))


def test_check(conf):
    st, out, err = run(["check", "-c", conf])
    eq((st, out.decode(), err), (0, "%s: ok (3 pools)\n" % conf, ""),
       "pooltop check on a good config")
    bad = write("bad.conf", """\
[pool web]
command = %s
wrokers = 2
strategy = fastest
""" % WORKER)
    st, out, err = run(["check", "-c", bad])
    eq(st, 2, "pooltop check on a bad config: status")
    eq(out, b"", "pooltop check on a bad config: stdout")
    lines = err.splitlines()
    check(len(lines) >= 2, "every error is printed: %r" % err)
    check(lines[0].startswith(bad + ":3: "), "first error names line 3: %r"
          % lines[0])
    check("wrokers" in lines[0], "first error names the key: %r" % lines[0])
    check(lines[1].startswith(bad + ":4: ") and "fastest" in lines[1],
          "second error names line 4 and the value: %r" % lines[1])
    st, out, err = run(["check", "-c", os.path.join(TMP, "nope.conf")])
    eq(st, 2, "pooltop check on a missing file: status")
    check("nope.conf" in err, "the missing file is named: %r" % err)
    # Running on a bad config fails the same way, before starting anything.
    st, out, err = run(["--headless", "-c", bad, "-s",
                        os.path.join(TMP, "never.sock")])
    eq(st, 2, "pooltop --headless on a bad config: status")
    check(err.startswith(bad + ":3: "), "headless prints the errors: %r" %
          err)
    check(not os.path.exists(os.path.join(TMP, "never.sock")),
          "no socket made for a bad config")
    # What only this machine can tell (cwd, command), as the engine
    # would find it: check and the start both say FILE:LINE, status 2.
    nocmd = write("nocmd.conf", "[pool a]\ncommand = %s/nope\n" % TMP)
    st, out, err = run(["--headless", "-c", nocmd, "-s",
                        os.path.join(TMP, "never.sock")])
    eq((st, err), (2, '%s:2: pool a: command "%s/nope" does not exist\n'
                   % (nocmd, TMP)), "a pool whose command is missing")
    check(not os.path.exists(os.path.join(TMP, "never.sock")),
          "no socket made for a missing command")
    os.makedirs(os.path.join(TMP, "wd"), exist_ok=True)
    with open(os.path.join(TMP, "wd", "run.sh"), "w") as f:
        f.write("#!/bin/sh\nexec sleep 100\n")
    os.chmod(os.path.join(TMP, "wd", "run.sh"), 0o755)
    paths = write("paths.conf", """\
[pool a]
command = /etc/passwd

[pool b]
cwd = /nonexistent
command = ./run.sh

[service c]
command = nosuch-pooltop-program
env.PATH = /nonexistent-bin:/usr/bin

[pool d]
cwd = /etc/passwd
command = %s

[pool e]
# Relative to cwd, as the worker's exec after its chdir: fine.
cwd = %s/wd
command = ./run.sh
""" % (WORKER, TMP))
    want = [
        '%s:2: pool a: command "/etc/passwd" is not executable' % paths,
        '%s:5: pool b: cwd "/nonexistent" does not exist' % paths,
        '%s:9: service c: command "nosuch-pooltop-program" not found in '
        'PATH (/nonexistent-bin:/usr/bin)' % paths,
        '%s:13: pool d: cwd "/etc/passwd" is not a directory' % paths,
    ]
    st, out, err = run(["check", "-c", paths])
    eq((st, out, err.splitlines()), (2, b"", want),
       "pooltop check on commands and cwds")
    st, out, err = run(["--headless", "-c", paths, "-s",
                        os.path.join(TMP, "never.sock")])
    eq((st, err.splitlines()), (2, want), "the start on the same file")
    good = write("relative.conf", "[service e]\ncwd = %s/wd\n"
                 "command = ./run.sh\n" % TMP)
    st, out, err = run(["check", "-c", good])
    eq((st, out.decode(), err), (0, "%s: ok (1 pool)\n" % good, ""),
       "a command relative to an existing cwd passes check")
    # ... and the engine finds it there too (the exec is after the chdir).
    pt = Pooltop(good, os.path.join(TMP, "rel.sock"))
    try:
        wait_for(lambda: (lambda w: w and w["pid"] > 0 and
                          w["state"] != "failed")(pt.worker("e", 0)),
                 "service e started as ./run.sh from its cwd")
        eq(pt.stop(), 0, "exit status of the relative-command run")
    finally:
        if pt.p.poll() is None:
            pt.p.kill()
            pt.p.wait()
    # A socket in a directory that does not exist.
    nodir = os.path.join(TMP, "nodir", "x.sock")
    st, out, err = run(["--headless", "-c", conf, "-s", nodir])
    eq((st, err), (1, "pooltop: cannot listen on %s: %s: No such file or "
                   "directory\n" % (nodir, os.path.dirname(nodir))),
       "a socket path in a missing directory")
    # The dashboard needs a terminal (the tests have none).
    st, out, err = run(["-c", conf, "-s", os.path.join(TMP, "never.sock")],
                       stdin=b"")
    eq((st, err), (1, "pooltop: the dashboard needs a terminal on stdin and "
                   "stdout (use --headless to run without one)\n"),
       "the dashboard without a terminal")


def test_not_running():
    sock = os.path.join(TMP, "nobody.sock")
    st, out, err = run(["send", "-s", sock, "echo", "echo", "x"])
    eq(st, 3, "send with no pooltop: status")
    eq(err, "pooltop: cannot connect to %s: No such file or directory (is "
       "pooltop running?)\n" % sock, "send with no pooltop: message")
    st, out, err = run(["ctl", "-s", sock, "list"])
    eq(st, 3, "ctl with no pooltop: status")
    # The default path comes from XDG_RUNTIME_DIR.
    env = dict(os.environ, XDG_RUNTIME_DIR=TMP)
    st, out, err = run(["ctl", "ping"], env=env)
    eq((st, err), (3, "pooltop: cannot connect to %s/pooltop.sock: No such "
                   "file or directory (is pooltop running?)\n" % TMP),
       "ctl ping at the default path")


def test_send(pt):
    sock = pt.sock
    payload = bytes(range(256)) * 64 + b"\x00\n\xff"
    st, out, err = run(["send", "-s", sock, "echo", "echo", "-"],
                       stdin=payload)
    eq((st, err), (0, ""), "send echo from stdin: status and stderr")
    eq(out, payload, "send echo from stdin: the result, byte for byte")
    st, out, err = run(["send", "-s", sock, "echo", "echo", "hello world"])
    eq((st, out, err), (0, b"hello world", ""), "send echo PAYLOAD")
    st, out, err = run(["send", "-s", sock, "--key", "user-42", "echo",
                        "echo", "keyed"])
    eq((st, out, err), (0, b"keyed", ""), "send --key")
    st, out, err = run(["send", "-s", sock, "echo", "echo"])
    eq((st, out, err), (0, b"", ""), "send with no payload")
    st, out, err = run(["send", "-s", sock, "echo", "fail", "boom"])
    eq((st, out, err), (1, b"", "pooltop: boom\n"), "send fail")
    st, out, err = run(["send", "-s", sock, "nope", "echo", "x"])
    eq((st, out, err), (1, b"", 'pooltop: no pool "nope" (pools: echo, '
                        'spare, beat)\n'), "send to an unknown pool")
    st, out, err = run(["send", "-s", sock, "echo", "no-such-task", "x"])
    eq(st, 1, "send of a task the workers do not serve")
    check(err.startswith('pooltop: task "no-such-task" not served by pool '
                         '"echo"'), "the error names the task: %r" % err)
    st, out, err = run(["send", "-s", sock, "--timeout", "200ms", "echo",
                        "sleep", "1500"])
    eq(st, 1, "send --timeout 200ms of a 1.5 s sleep: status")
    eq(err, "pooltop: timed out after 200 ms\n", "the timeout's message")
    # Tasks through real `pooltop send` processes, 8 at a time.
    results = {}

    def sender(t):
        for i in range(10):
            want = "proc-%d-%d" % (t, i)
            results[want] = run(["send", "-s", sock, "echo", "echo", want])
    threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for want, got in results.items():
        eq(got, (0, want.encode(), ""), "concurrent pooltop send " + want)
    eq(len(results), 80, "concurrent pooltop send count")


def test_list(pt):
    ws = pt.workers()
    eq(sorted((w["pool"], w["slot"]) for w in ws),
       [("beat", 0), ("echo", 0), ("echo", 1), ("spare", 0)],
       "ctl list --json lists every worker")
    fields = {"pool": str, "slot": int, "pid": int, "state": str,
              "cpu": (int, float), "rss": int, "tasks_done": int,
              "in_flight": int, "errors": int, "restarts": int}
    for w in ws:
        for k, t in fields.items():
            check(k in w and isinstance(w[k], t), "worker %s/%s field %s: %r"
                  % (w.get("pool"), w.get("slot"), k, w.get(k)))
        check(w["pid"] > 0, "worker %s/%d has a pid" % (w["pool"], w["slot"]))
        check(proc_stat(w["pid"]) is not None, "pid %d exists" % w["pid"])
    echo = [w for w in ws if w["pool"] == "echo"]
    check(sum(w["tasks_done"] for w in echo) >= 4,
          "echo tasks counted: %r" % echo)
    check(sum(w["errors"] for w in echo) >= 1, "the failed task counted: %r"
          % echo)
    st, out, err = run(["ctl", "-s", pt.sock, "list", "--json"])
    eq(st, 0, "pooltop ctl list --json: status")
    doc = json.loads(out)
    eq(len(doc["workers"]), 4, "pooltop ctl list --json: workers")
    eq([p["name"] for p in doc["pools"]], ["echo", "spare", "beat"],
       "pooltop ctl list --json: pools")
    eq(doc["pid"], pt.p.pid, "pooltop ctl list --json: pid")
    # The table: a header and a row per worker, columns aligned.
    st, out, err = run(["ctl", "-s", pt.sock, "list"])
    eq(st, 0, "pooltop ctl list: status")
    lines = out.decode().splitlines()
    eq(len(lines), 5, "pooltop ctl list: lines")
    eq(lines[0].split(), ["POOL", "SLOT", "PID", "STATE", "CPU%", "RSS",
                          "DONE", "FLIGHT", "ERRORS", "RESTARTS"],
       "pooltop ctl list: header")
    eq(len(set(len(l) for l in lines)), 1, "pooltop ctl list: rows have "
       "the same width: %r" % lines)
    pid_end = lines[0].index("PID") + 3
    for l in lines[1:]:
        check(l[pid_end - 1].isdigit(), "PID column right-aligned: %r" % l)


def test_kill(pt):
    w0 = pt.worker("echo", 0)
    st, out, err = run(["ctl", "-s", pt.sock, "kill", "echo/0"])
    eq((st, out.decode(), err), (0, "sent SIGTERM to echo/0 (pid %d)\n" %
                                 w0["pid"], ""), "ctl kill echo/0")
    new = wait_for(lambda: (lambda w: w if w["pid"] not in (0, w0["pid"])
                            and w["state"] in ("idle", "busy") else None)(
        pt.worker("echo", 0)), "echo/0 restarted with a new pid")
    check(new["restarts"] >= w0["restarts"] + 1, "restarts counted: %r" %
          new)
    check(proc_stat(w0["pid"]) is None, "old pid %d is gone" % w0["pid"])
    # By pid, with a signal number.
    w1 = pt.worker("echo", 1)
    st, out, err = run(["ctl", "-s", pt.sock, "kill", "-9",
                        str(w1["pid"])])
    eq((st, out.decode()), (0, "sent SIGKILL to echo/1 (pid %d)\n" %
                            w1["pid"]), "ctl kill -9 PID")
    wait_for(lambda: (lambda w: w["pid"] not in (0, w1["pid"]) and
                      w["state"] in ("idle", "busy"))(pt.worker("echo", 1)),
             "echo/1 restarted with a new pid")
    exit_line = " echo/1  pid %d exited with signal 9" % w1["pid"]
    log = wait_for(lambda: (lambda s: exit_line in s and s)(pt.stderr()),
                   "the exit in the headless log: %r" % exit_line)
    check(" echo/1  restarting in " in log, "the restart in the headless log")
    # Unknown targets.
    st, out, err = run(["ctl", "-s", pt.sock, "kill", "echo/7"])
    eq((st, err), (1, "pooltop: no worker echo/7: pool echo has 2 slots "
                   "(0 to 1)\n"), "ctl kill echo/7")
    st, out, err = run(["ctl", "-s", pt.sock, "kill", "nope/0"])
    eq((st, err), (1, 'pooltop: no worker nope/0: no pool "nope"\n'),
       "ctl kill nope/0")
    st, out, err = run(["ctl", "-s", pt.sock, "kill", "1"])
    eq((st, err), (1, "pooltop: no worker with pid 1\n"), "ctl kill 1")
    st, out, err = run(["ctl", "-s", pt.sock, "restart", "web"])
    eq((st, err), (1, 'pooltop: bad worker "web" (expected POOL/N or a '
                   'pid)\n'), "ctl restart web")


def test_sleep_wake(pt):
    w = pt.worker("spare", 0)
    pid = w["pid"]
    st, out, err = run(["ctl", "-s", pt.sock, "sleep", "spare/0"])
    eq((st, out.decode()), (0, "spare/0 (pid %d) is asleep (SIGSTOP)\n" %
                            pid), "ctl sleep spare/0")
    wait_for(lambda: proc_stat(pid)[0] == "T", "pid %d in state T" % pid)
    eq(pt.worker("spare", 0)["state"], "sleeping", "listed as sleeping")
    st, out, err = run(["ctl", "-s", pt.sock, "wake", str(pid)])
    eq((st, out.decode()), (0, "spare/0 (pid %d) is awake (SIGCONT)\n" %
                            pid), "ctl wake PID")
    wait_for(lambda: proc_stat(pid)[0] != "T", "pid %d out of state T" % pid)
    eq(pt.worker("spare", 0)["pid"], pid, "the same process woke up")
    st, out, err = run(["send", "-s", pt.sock, "spare", "echo", "awake"])
    eq((st, out), (0, b"awake"), "the woken worker answers")


def test_scale_strategy(pt):
    st, out, err = run(["ctl", "-s", pt.sock, "scale", "spare", "2"])
    eq((st, out.decode()), (0, "pool spare: 1 -> 2 workers\n"),
       "ctl scale spare 2")
    wait_for(lambda: (lambda w: w and w["pid"] > 0)(pt.worker("spare", 1)),
             "spare/1 started")
    st, out, err = run(["ctl", "-s", pt.sock, "scale", "spare", "1"])
    eq((st, out.decode()), (0, "pool spare: 2 -> 1 worker\n"),
       "ctl scale spare 1")
    st, out, err = run(["ctl", "-s", pt.sock, "strategy", "echo", "polling"])
    eq(st, 0, "ctl strategy echo polling")
    check(out.decode().startswith("pool echo: strategy ") and
          out.decode().endswith(" -> polling\n"), "strategy message: %r" % out)
    st, out, err = run(["ctl", "-s", pt.sock, "strategy", "echo", "wat"])
    eq(st, 1, "ctl strategy echo wat")
    check(err.startswith('pooltop: unknown strategy "wat" (expected one of '
                         'polling, weights,'), "bad strategy message: %r" % err)
    check("did you mean" not in err, "no suggestion for wat: %r" % err)
    st, out, err = run(["ctl", "-s", pt.sock, "strategy", "echo", "weigths"])
    eq(st, 1, "ctl strategy echo weigths")
    check(err.startswith('pooltop: unknown strategy "weigths" (expected one '
                         'of polling, weights,') and
          err.endswith('least_load; did you mean "weights"?)\n'),
          "a near miss gets a suggestion: %r" % err)


def test_concurrent(pt):
    errors = []
    per, nthreads = 500, 8

    def sender(t):
        try:
            with connect(pt.sock) as s:
                if t % 2 == 0:
                    # Pipelined: every request first, then every reply.
                    s.sendall(b"".join(frame(["send", "echo", "echo"],
                                             b"%d:%d" % (t, i))
                                       for i in range(per)))
                    for i in range(per):
                        got = read_reply(s)
                        if got != (True, b"%d:%d" % (t, i)):
                            errors.append((t, i, got))
                else:
                    for i in range(per):
                        s.sendall(frame(["send", "echo", "echo"],
                                        b"%d:%d" % (t, i)))
                        got = read_reply(s)
                        if got != (True, b"%d:%d" % (t, i)):
                            errors.append((t, i, got))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((t, "exception", repr(e)))

    t0 = time.monotonic()
    threads = [threading.Thread(target=sender, args=(t,))
               for t in range(nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    eq(errors[:5], [], "8 x 500 concurrent tasks: wrong or missing answers")
    print("# 8 x 500 tasks over the socket in %.2f s" %
          (time.monotonic() - t0))


def test_malformed(pt):
    with connect(pt.sock) as s:
        body = b"blah\n"
        s.sendall(struct.pack(">I", len(body)) + body)
        eq(read_reply(s), (False, b'unknown request "blah" (expected send, '
                           b'list, kill, sleep, wake, restart, scale, '
                           b'strategy, logs, reload or ping)'),
           "unknown request")
        s.sendall(struct.pack(">I", 0))
        eq(read_reply(s), (False, b"empty request (length 0)"),
           "empty request")
        body = b"send echo echo key=%zz\n"
        s.sendall(struct.pack(">I", len(body)) + body)
        eq(read_reply(s), (False, b"bad %-escape in word 4 of the header "
                           b"line (expected %XX with two hex digits)"),
           "bad escape")
        body = b"list  json\n"
        s.sendall(struct.pack(">I", len(body)) + body)
        eq(read_reply(s)[0], False, "double space")
        body = b"x" * 5000
        s.sendall(struct.pack(">I", len(body)) + body)
        eq(read_reply(s), (False, b"header line longer than 4095 bytes"),
           "no newline in a long header")
        s.sendall(frame(["list"], b"junk"))
        eq(read_reply(s), (False, b"bad list request: it takes no payload "
                           b"(4 bytes given)"), "payload on list")
        s.sendall(frame(["ping"]))
        ok, data = read_reply(s)
        eq((ok, data), (True, b"pooltop 0.1.0 (pid %d)" % pt.p.pid),
           "the same connection still works after errors")
    with connect(pt.sock) as s:
        s.sendall(struct.pack(">I", 0xFFFFFFFF) + b"send echo")
        eq(read_reply(s), (False, b"request of 4294967295 bytes is over the "
                           b"limit of 16781312 bytes"), "oversized request")
        eq(s.recv(1), b"", "the server closes after an oversized request")
    with connect(pt.sock) as s:
        # Half-close: requests, then the end of the client's stream; the
        # replies still come, in order, then the server closes.
        s.sendall(frame(["send", "echo", "sleep"], b"100") +
                  frame(["send", "echo", "echo"], b"second"))
        s.shutdown(socket.SHUT_WR)
        eq(read_reply(s), (True, b"slept 100"), "half-close: first reply")
        eq(read_reply(s), (True, b"second"), "half-close: second reply")
        eq(s.recv(1), b"", "half-close: then the server closes")
    with connect(pt.sock) as s:
        # A request cut short by the client going away.
        s.sendall(struct.pack(">I", 100) + b"send echo")
    eq(pt.ping(), True, "the server is still up")


def test_disconnect(pt):
    before = sum(w["tasks_done"] for w in pt.workers() if w["pool"] == "echo")
    for _ in range(5):
        s = connect(pt.sock)
        s.sendall(frame(["send", "echo", "sleep"], b"300"))
        s.close()
    # The tasks still end inside the engine, once each; nobody gets answers.
    wait_for(lambda: sum(w["tasks_done"] for w in pt.workers()
                         if w["pool"] == "echo") == before + 5,
             "the abandoned tasks to end")
    time.sleep(0.5)
    ws = [w for w in pt.workers() if w["pool"] == "echo"]
    eq(sum(w["tasks_done"] for w in ws), before + 5, "each ended once")
    eq(sum(w["in_flight"] for w in ws), 0, "nothing left in flight")
    eq(pt.ping(), True, "the server is still up")


def test_second_pooltop(pt, conf):
    st, out, err = run(["--headless", "-c", conf, "-s", pt.sock])
    eq((st, err), (1, "pooltop: another pooltop is running on %s (pid %d)\n"
                   % (pt.sock, pt.p.pid)), "a live socket is refused")
    eq(pt.ping(), True, "the first pooltop still answers")


def test_stale_socket(conf):
    sock = os.path.join(TMP, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()       # the file stays; nobody listens: a dead pooltop's
    check(os.path.exists(sock), "the stale socket file exists")
    pt = Pooltop(conf, sock)
    try:
        eq(pt.ping(), True, "pooltop took over the stale socket")
        mode = os.stat(sock).st_mode & 0o777
        eq(oct(mode), oct(0o600), "socket mode")
    finally:
        eq(pt.stop(), 0, "exit status after SIGTERM")
    check(not os.path.exists(sock), "the socket is removed at exit")
    # A pooltop killed with SIGKILL: its workers die with it, its socket
    # stays behind, and the next pooltop replaces it.
    pt = Pooltop(conf, sock)
    try:
        pt.wait_ready(4)
        kids = descendants(pt.p.pid)
        check(len(kids) >= 4, "workers running: %r" % kids)
        pt.p.kill()
        pt.p.wait()
        wait_for(lambda: not [p for p, start in kids.items()
                              if (lambda st: st is not None and
                                  st[2] == start)(proc_stat(p))],
                 "the workers of a killed pooltop to die")
        check(os.path.exists(sock), "the killed pooltop's socket stays")
    finally:
        pt.stop()
    pt = Pooltop(conf, sock)
    try:
        eq(pt.ping(), True, "a new pooltop replaced the dead one's socket")
    finally:
        eq(pt.stop(), 0, "exit status after SIGTERM")
    # The config's [pooltop] socket, when there is no -s.
    cfgsock = os.path.join(TMP, "from-config.sock")
    cfg = write("socket.conf", "[pooltop]\nsocket = %s\n\n[pool a]\n"
                "command = %s\n" % (cfgsock, WORKER))
    pt = Pooltop(cfg, cfgsock, give_socket=False)
    try:
        eq(pt.ping(), True, "listening on the config's socket")
        check("control socket %s" % cfgsock in pt.stderr(),
              "the banner names the socket")
    finally:
        eq(pt.stop(), 0, "exit status after SIGTERM")
    # Something that is not a socket is left alone.
    plain = write("plain.sock", "not a socket\n")
    st, out, err = run(["--headless", "-c", conf, "-s", plain])
    eq((st, err), (1, "pooltop: %s exists and is not a socket: remove it, "
                   "or give another path with -s\n" % plain),
       "a file in the way is refused")


def test_force_stop():
    """A worker that ignores SIGTERM: the second signal forces the stop."""
    conf = write("stubborn.conf", """\
[service stubborn]
command = sh -c "trap '' TERM && exec sleep 1000"
stop_timeout = 60s
""")
    pt = Pooltop(conf, os.path.join(TMP, "stubborn.sock"))
    try:
        w = wait_for(lambda: (lambda w: w if w and w["pid"] > 0 else None)(
            pt.worker("stubborn", 0)), "the stubborn service")
        wait_for(lambda: descendants(pt.p.pid).get(w["pid"]) is not None,
                 "its process")
        pt.p.send_signal(signal.SIGINT)
        wait_for(lambda: "SIGINT: stopping (send it again to force)" in
                 pt.stderr(), "the first stop request in the log")
        time.sleep(0.5)
        check(pt.p.poll() is None, "still stopping: the worker ignores "
              "SIGTERM and stop_timeout is 60 s")
        t0 = time.monotonic()
        eq(pt.stop(signal.SIGINT, timeout=20), 0, "exit status after a "
           "second SIGINT")
        check(time.monotonic() - t0 < 20, "the second signal forced it")
        check("SIGINT again: forcing the stop (SIGKILL to every worker)" in
              pt.stderr(), "the forced stop is logged")
        eq(proc_stat(w["pid"]), None, "the stubborn process is gone")
    finally:
        if pt.p.poll() is None:
            pt.p.kill()
            pt.p.wait()


def test_demo():
    """The bundled demo (no -c): its load generator sends each pool only
    the tasks its workers announced, so no task ends "not served" (the
    Python worker has no burn)."""
    sock = os.path.join(TMP, "demo.sock")
    log = os.path.join(TMP, "demo.log")
    with open(log, "w") as logf:
        p = subprocess.Popen([POOLTOP, "--headless", "-s", sock],
                             stdout=subprocess.DEVNULL, stderr=logf)
    try:
        def text():
            with open(log) as f:
                return f.read()

        def busy():
            t = text()
            py = len(re.findall(r"py/\d+ +task \d+ (?:echo|sleep) ok", t))
            burn = len(re.findall(r"compute/\d+ +task \d+ burn ok", t))
            return py >= 5 and burn >= 5 and (py, burn)
        got = wait_for(lambda: p.poll() is not None or busy(),
                       "5 ok tasks in py and 5 burns in compute", timeout=30)
        check(p.poll() is None, "the demo exited: %s" % text())
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        eq(p.wait(30), 0, "demo exit status after SIGTERM")
        t = text()
        sanitizer_clean(t, "pooltop (demo)")
        bad = [line for line in t.splitlines() if "not served" in line]
        eq(bad, [], "tasks the demo's pools do not serve")
        print("# demo: py and compute ok tasks %r, no \"not served\"" %
              (got,))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_sigterm(pt):
    kids = wait_for(lambda: (lambda d: len(d) >= 4 and d)(
        descendants(pt.p.pid)), "pooltop's children")
    check(len(kids) >= 4, "4 workers running: %r" % kids)
    eq(pt.stop(signal.SIGTERM), 0, "exit status after SIGTERM")
    left = [pid for pid, start in kids.items()
            if (lambda st: st is not None and st[2] == start)(proc_stat(pid))]
    eq(left, [], "processes left behind after SIGTERM")
    check(not os.path.exists(pt.sock), "the socket is removed at exit")
    log = pt.stderr()
    check("SIGTERM: stopping" in log and log.rstrip().endswith("stopped"),
          "the stop is logged: %r" % log[-300:])


def test_reload():
    """ctl reload (rolling and restart), and a watched script: a change
    reloads, a broken version keeps the old workers and says why."""
    app = os.path.join(TMP, "app")
    os.mkdir(app)
    script = os.path.join(app, "worker.sh")

    def save(text):
        with open(script + ".new", "w") as f:
            f.write(text)
        os.rename(script + ".new", script)

    save("#!/bin/sh\nexec '%s' \"$@\"\n" % WORKER)
    conf = write("reload.conf", """\
[pool app]
command = /bin/sh %(script)s
workers = 2
min_workers = 2
watch = %(app)s
watch_ignore = *.new
watch_delay = 200ms

[pool slow]
command = %(w)s
workers = 2
min_workers = 2
reload = restart
""" % {"script": script, "app": app, "w": WORKER})
    sock = os.path.join(TMP, "rl.sock")
    pt = Pooltop(conf, sock)
    try:
        pt.wait_ready(4)

        def pids(pool):
            return sorted(w["pid"] for w in pt.workers()
                          if w["pool"] == pool)

        before = pids("app")
        st, out, err = run(["ctl", "-s", sock, "reload", "app"])
        eq((st, out, err), (0, b"pool app reloaded (rolling): 2 workers "
                            b"replaced\n", ""), "ctl reload app")
        after = pids("app")
        check(len(after) == 2 and not set(after) & set(before),
              "new pids after the reload: %r -> %r" % (before, after))
        before = pids("slow")
        st, out, err = run(["ctl", "-s", sock, "reload", "slow"])
        eq((st, out, err), (0, b"pool slow reloaded (restart): 2 workers "
                            b"restarted\n", ""), "ctl reload slow")
        pt.wait_ready(4)
        check(not set(pids("slow")) & set(before), "slow: new pids")
        st, out, err = run(["ctl", "-s", sock, "reload", "nope"])
        eq((st, err), (1, 'pooltop: no pool "nope" (pools: app, slow)\n'),
           "ctl reload of an unknown pool")

        # A change to the watched script: one reload.
        before = pids("app")
        done = "pool app reloaded (rolling): 2 workers replaced"
        eq(pt.stderr().count(done), 1, "reloads so far")
        os.utime(script)
        wait_for(lambda: pt.stderr().count(done) == 2,
                 "a reload after touching %s" % script)
        check("reloading (rolling, 2 workers running): %s changed" % script
              in pt.stderr(), "the change is named: %s" % pt.stderr())
        pt.wait_ready(4)
        check(not set(pids("app")) & set(before), "app: new pids")

        # A broken version: the old workers keep serving.
        before = pids("app")
        save("#!/bin/sh\necho 'app: syntax error' >&2\nexit 3\n")
        tail = ("exited with status 3 before it was ready; the old "
                "workers keep serving")
        wait_for(lambda: tail in pt.stderr(), "the broken reload reported")
        check("reload of pool app stopped: new worker app/0 (pid " in
              pt.stderr(), "the reason: %s" % pt.stderr()[-600:])
        eq(pids("app"), before, "the old workers stay")
        st, out, err = run(["send", "-s", sock, "app", "echo", "still"])
        eq((st, out), (0, b"still"), "the old workers serve")
        st, out, err = run(["ctl", "-s", sock, "reload", "app"])
        check(st == 1 and err.startswith("pooltop: reload of pool app "
                                         "stopped: new worker app/0 (pid ")
              and err.endswith(tail + "\n"),
              "ctl reload of a broken version: %d %r" % (st, err))
        eq(pids("app"), before, "the old workers still stay")
        ok, data = call(sock, ["list", "json"])
        pool = [p for p in json.loads(data)["pools"] if p["name"] == "app"]
        check(len(pool) == 1 and pool[0]["reloads"] == 2 and
              not pool[0]["reloading"] and not pool[0]["failed"] and
              pool[0]["reload_error"] == err[len("pooltop: "):-1],
              "list json tells the reloads and the error: %r" % pool)
        eq(pt.stop(), 0, "pooltop exit status")
    finally:
        if pt.p.poll() is None:
            pt.p.kill()
            pt.p.wait()


def main():
    global POOLTOP, WORKER, SERVICE, TMP
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli.py POOLTOP [WORKERS_DIR]")
    POOLTOP = os.path.abspath(sys.argv[1])
    wdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.environ["POOLTOP_BUILD"], "examples", "workers")
    WORKER = os.path.join(wdir, "pooltop-example-worker")
    SERVICE = os.path.join(wdir, "pooltop-example-service")
    # Short paths: a Unix socket path takes at most 107 bytes.
    TMP = tempfile.mkdtemp(prefix="pt-cli-", dir="/tmp")
    conf = test_config()

    tests = [
        ("usage", test_usage),
        ("check", lambda: test_check(conf)),
        ("not running", test_not_running),
        ("stale socket", lambda: test_stale_socket(conf)),
        ("second signal forces", test_force_stop),
        ("reload and watch", test_reload),
        ("demo: only served tasks", test_demo),
    ]
    failed = 0
    for name, fn in tests:
        failed += run_one(name, fn)

    pt = Pooltop(conf, os.path.join(TMP, "pt.sock"))
    try:
        failed += run_one("start: 4 workers ready", lambda: pt.wait_ready(4))
        live = [] if failed else [
            ("send", lambda: test_send(pt)),
            ("list", lambda: test_list(pt)),
            ("kill", lambda: test_kill(pt)),
            ("sleep and wake", lambda: test_sleep_wake(pt)),
            ("scale and strategy", lambda: test_scale_strategy(pt)),
            ("8 x 500 concurrent", lambda: test_concurrent(pt)),
            ("malformed requests", lambda: test_malformed(pt)),
            ("client disconnects", lambda: test_disconnect(pt)),
            ("second pooltop", lambda: test_second_pooltop(pt, conf)),
            ("SIGTERM", lambda: test_sigterm(pt)),
        ]
        for name, fn in live:
            failed += run_one(name, fn)
    finally:
        if pt.p.poll() is None:
            pt.p.kill()
            pt.p.wait()
        if failed:
            print("# pooltop --headless stderr (last 60 lines):")
            for line in pt.stderr().splitlines()[-60:]:
                print("#   " + line)
    if failed:
        sys.exit("%d test(s) failed" % failed)
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
