#!/usr/bin/env python3
"""End to end: the real pooltop dashboard driven in tmux.

Starts `pooltop -c CONF -s SOCK` in a detached tmux session of 120x40 with
TERM=xterm-256color, then, reading the screen with capture-pane:
sorts by CPU (P) and checks the header and the order; opens a worker's log
and sees the example worker's start line; sends a task and sees it in the
task log; kills a worker with k + KILL (+ y) and sees it come back with a
new pid; sleeps a worker with z and sees it sleeping (and in state T in
/proc), and z again wakes it; reloads the pool with R (+ y) and sees every
pid replaced; sorts by a mouse click on a header cell (an SGR mouse
sequence written to the pane) and selects a row by a click; adds a worker
with A and drops one with D (+ y); runs the debugger key d with
POOLTOP_DEBUGGER set to a script that sleeps 3 s and checks that
`pooltop send` is answered meanwhile (the engine is not blocked), then
that the dashboard comes back; checks that NO_COLOR="" leaves colours on
and a second run with NO_COLOR=1 has none; quits with q (+ y if asked)
and checks that no process is left and the tmux session ended.

Usage: test_dashboard.py POOLTOP WORKERS_DIR (defaults from POOLTOP_BUILD).
Python 3 standard library only.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 30.0          # generous: a loaded 2-core CI machine
COLS, ROWS = 120, 40
# A foreground or background colour in an SGR sequence (30-37, 40-47).
COLOR_SGR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7])(?:;[0-9;]*)?m")


class Fail(Exception):
    pass


def proc_state(pid):
    """The state letter of /proc/PID/stat, or None if the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2]


def alive(pid):
    st = proc_state(pid)
    return st is not None and st != "Z"


class Dashboard:
    def __init__(self, pooltop, workers, tmp):
        self.pooltop = pooltop
        self.tmp = tmp
        self.server = "pooltop-test-%d" % os.getpid()
        self.session = "dash"
        self.sock = os.path.join(tmp, "ctl.sock")
        self.conf = os.path.join(tmp, "test.conf")
        self.errlog = os.path.join(tmp, "stderr.log")
        worker = os.path.join(workers, "pooltop-example-worker")
        if not os.access(worker, os.X_OK):
            raise Fail("no example worker at %s" % worker)
        with open(self.conf, "w") as f:
            f.write("[pooltop]\n"
                    "interval = 500ms\n"
                    "confirm = yes\n"
                    "\n"
                    "[pool web]\n"
                    "command = %s\n"
                    "workers = 3\n"
                    "min_workers = 3\n"
                    "restart = always\n"
                    "backoff = 100ms, 1s\n" % worker)
        self.last = ""
        self.pids_seen = set()
        self.manager = None

    def tmux(self, *args, check=True):
        r = subprocess.run(["tmux", "-u", "-L", self.server, "-f", "/dev/null"]
                           + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise Fail("tmux %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def start(self, env=""):
        """Starts pooltop in the session; env: more NAME=VALUE words."""
        cmd = ("exec env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 "
               "%s %s -c %s -s %s 2>>%s" % (env, self.pooltop, self.conf,
                                            self.sock, self.errlog))
        self.tmux("new-session", "-d", "-s", self.session, "-x", str(COLS),
                  "-y", str(ROWS), cmd)

    def escapes(self):
        """The screen with its attributes as escape sequences."""
        return self.tmux("capture-pane", "-p", "-e", "-t", self.session,
                         check=False).stdout

    def click(self, x, y):
        """A left click at 0-based (x, y), as an SGR mouse sequence
        (the mode ncurses asks xterm-256color for): press, then release."""
        self.tmux("send-keys", "-t", self.session, "-l",
                  "\x1b[<0;%d;%dM\x1b[<0;%d;%dm" % (x + 1, y + 1, x + 1,
                                                    y + 1))

    def header_cell(self, screen, name):
        """(x, y) of the middle of a header cell, by its name."""
        for y, line in enumerate(screen.splitlines()):
            if re.search(r"\bPOOL\b.*\bSLOT\b.*\bPID\b", line):
                m = re.search(r"(?<![A-Z])%s[\u25b2\u25bc]?(?=\s)" %
                              re.escape(name), line)
                if m is None:
                    raise Fail("no header cell %s in %r" % (name, line))
                return (m.start() + m.end()) // 2, y
        raise Fail("no table header on the screen:\n" + screen)

    def quit(self):
        """q (+ y if asked): the session ends and no process is left."""
        self.keys("q")
        end = time.monotonic() + TIMEOUT
        asked = False
        while self.session_alive() and time.monotonic() < end:
            s = self.screen()
            if "[y/n]" in s and not asked:
                self.keys("y")
                asked = True
            time.sleep(0.1)
        if self.session_alive():
            raise Fail("tmux session still there after q:\n" + self.last)
        end = time.monotonic() + TIMEOUT
        left = []
        while time.monotonic() < end:
            left = [p for p in sorted(self.pids_seen) if alive(p)]
            if not left:
                break
            time.sleep(0.1)
        if left:
            raise Fail("processes left after quit: %s" % left)

    def session_alive(self):
        return self.tmux("has-session", "-t", self.session,
                         check=False).returncode == 0

    def screen(self):
        r = self.tmux("capture-pane", "-p", "-t", self.session, check=False)
        if r.returncode == 0:
            self.last = r.stdout
        return self.last if r.returncode == 0 else ""

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait(self, what, pred, timeout=TIMEOUT):
        """Polls the screen until pred(screen) is truthy; returns its value."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.session_alive():
                raise Fail("pooltop exited while waiting for %s; stderr:\n%s"
                           % (what, self.stderr()))
            value = pred(self.screen())
            if value:
                return value
            time.sleep(0.1)
        raise Fail("timed out waiting for %s; last screen:\n%s\nstderr:\n%s"
                   % (what, self.last, self.stderr()))

    def stderr(self):
        try:
            with open(self.errlog) as f:
                return f.read()
        except OSError:
            return ""

    @staticmethod
    def header(screen):
        for line in screen.splitlines():
            if re.search(r"\bPOOL\b.*\bSLOT\b.*\bPID\b", line):
                return line
        return None

    def rows(self, screen):
        """Table rows as dicts keyed by the header's column names."""
        lines = screen.splitlines()
        names = None
        start = 0
        for i, line in enumerate(lines):
            if re.search(r"\bPOOL\b.*\bSLOT\b.*\bPID\b", line):
                names = [n.rstrip("\u25b2\u25bc") for n in line.split()]
                if "CPU" in names:      # "CPU HISTORY", maybe cut short
                    names = names[:names.index("CPU")]
                start = i + 1
                break
        out = []
        if names is None:
            return out
        for line in lines[start:]:
            t = line.replace("*", " ", 1).split()
            if len(t) < len(names) or not (t[2].isdigit() or t[2] == "-"):
                break
            row = {n.lower(): v for n, v in zip(names, t)}
            row["cpu"] = row.get("cpu%", "-")
            row["restarts"] = row.get("rst")
            row["line"] = line
            if row["pid"].isdigit():
                self.pids_seen.add(int(row["pid"]))
            if row["pool"] == "pooltop" and row["slot"] == "-":
                self.manager = int(row["pid"])
            out.append(row)
        return out

    def worker(self, screen, slot):
        for r in self.rows(screen):
            if r["pool"] == "web" and r["slot"] == str(slot):
                return r
        return None

    def select(self, name):
        """Moves the selection to a row with the search prompt."""
        self.keys("/")
        self.wait("the search prompt", lambda s: "Search:" in s)
        self.keys("-l", name)
        self.keys("Enter")
        self.wait("the prompt to close", lambda s: "Search:" not in s)


def step(msg):
    print("# " + msg, flush=True)


def run(pooltop, workers):
    tmp = tempfile.mkdtemp(prefix="pooltop-dash-")
    d = Dashboard(pooltop, workers, tmp)
    # The debugger: says it runs (with the pid it got), stays until the
    # test releases it (at most 60 s, not to hang on a failure), ends.
    dbg = os.path.join(tmp, "debugger.sh")
    dbg_pid = os.path.join(tmp, "debugger.pid")
    dbg_go = os.path.join(tmp, "debugger.go")
    dbg_done = os.path.join(tmp, "debugger.done")
    with open(dbg, "w") as f:
        f.write("#!/bin/sh\necho \"$1\" > %s.tmp && mv %s.tmp %s\n"
                "n=0\nwhile [ ! -e %s ] && [ $n -lt 600 ]; do sleep 0.1; "
                "n=$((n + 1)); done\necho done > %s\n" % (
                    dbg_pid, dbg_pid, dbg_pid, dbg_go, dbg_done))
    os.chmod(dbg, 0o755)
    try:
        # NO_COLOR set but empty counts as unset (https://no-color.org).
        d.start("NO_COLOR= POOLTOP_DEBUGGER=%s" % dbg)

        step("the table shows the manager and three idle workers")

        def ready(s):
            rows = d.rows(s)
            web = [r for r in rows if r["pool"] == "web"]
            if d.manager is None or len(web) != 3:
                return None
            if not all(r["pid"].isdigit() and r["state"] == "idle"
                       for r in web):
                return None
            return web
        web = d.wait("three idle workers", ready)
        for r in web:
            if int(r["ppid"]) != d.manager:
                raise Fail("web/%s: ppid %s, expected pooltop's pid %d"
                           % (r["slot"], r["ppid"], d.manager))
        print("ok - manager pid %d, workers %s" %
              (d.manager, [r["pid"] for r in web]))
        if not COLOR_SGR.search(d.escapes()):
            raise Fail("no colours with NO_COLOR empty:\n%r" % d.escapes())
        print("ok - NO_COLOR=\"\" leaves the colours on")

        step("P sorts by CPU, descending, with one worker burning CPU")
        burn = subprocess.Popen([pooltop, "send", "-s", d.sock, "web", "burn",
                                 "4000"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

        def burning(s):
            busy = [r for r in d.rows(s) if r["pool"] == "web" and
                    r["state"] == "busy" and r["cpu"] != "-" and
                    float(r["cpu"]) >= 20]
            return busy[0] if busy else None
        hot = d.wait("a busy worker at 20% CPU or more", burning)
        d.keys("P")

        def sorted_cpu(s):
            h = d.header(s)
            if h is None or "CPU%\u25bc" not in h:
                return None
            if "sort CPU% desc" not in s:
                return None
            rows = d.rows(s)
            cpus = [float(r["cpu"]) for r in rows if r["cpu"] != "-"]
            if len(cpus) < 4 or cpus[0] < 20:
                return None
            if cpus != sorted(cpus, reverse=True):
                raise Fail("rows not sorted by CPU: %s\n%s" % (cpus, s))
            if rows[0]["pid"] != hot["pid"]:
                return None
            return cpus
        cpus = d.wait("the CPU sort", sorted_cpu)
        print("ok - header marks CPU%%\u25bc, web/%s (pid %s) first, rows "
              "by CPU: %s" % (hot["slot"], hot["pid"], cpus))
        out, err = burn.communicate(timeout=TIMEOUT)
        if burn.returncode != 0 or "burned 4000" not in out:
            raise Fail("burn task: rc %d, out %r, err %r"
                       % (burn.returncode, out, err))

        step("the log of web/1 shows its start line")
        d.select("web/1")
        w1 = d.wait("web/1 selected",
                    lambda s: d.worker(s, 1))
        pid1 = int(w1["pid"])
        d.keys("L")
        want = "worker web/1 started (pid %d)" % pid1
        d.wait("the log line %r" % want,
               lambda s: "Log of web/1" in s and want in s)
        if not re.search(r"\d\d:\d\d:\d\d\.\d\d\d out worker web/1 started",
                         d.last):
            raise Fail("log line without a timestamp and stream:\n" + d.last)
        print("ok - %s" % want)
        d.keys("Escape")
        d.wait("the table again", lambda s: d.header(s) is not None)

        step("a task sent with pooltop send shows in the task log")
        r = subprocess.run([pooltop, "send", "-s", d.sock, "web", "echo",
                            "hello-dashboard"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        if r.returncode != 0 or "hello-dashboard" not in r.stdout:
            raise Fail("pooltop send: rc %d, out %r, err %r"
                       % (r.returncode, r.stdout, r.stderr))
        d.keys("j")
        d.wait("the task in the task log",
               lambda s: "Tasks: " in s and re.search(
                   r"web\s+\d+ \(pid \d+\)\s+echo\s+\S+\s+ok\s+"
                   r"hello-dashboard\s+hello-dashboard", s))
        print("ok - echo hello-dashboard in the task log")
        d.keys("Escape")
        d.wait("the table again", lambda s: d.header(s) is not None)

        step("k, KILL, y kills web/1; it comes back with a new pid")
        d.select("web/1")
        d.wait("web/1 selected", lambda s: d.worker(s, 1))
        d.keys("k")
        d.wait("the signal menu", lambda s: "Send signal" in s and
               "KILL" in s)
        d.keys("Down")
        d.keys("Enter")
        d.wait("the question", lambda s: re.search(
            r"Send SIGKILL to web/1 \(pid %d\)\? \[y/n\]" % pid1, s))
        d.keys("y")

        def back(s):
            r = d.worker(s, 1)
            if r and r["pid"].isdigit() and int(r["pid"]) != pid1 \
                    and r["state"] == "idle":
                return r
            return None
        w1b = d.wait("web/1 with a new pid", back)
        if alive(pid1):
            raise Fail("old web/1 pid %d still alive" % pid1)
        if not alive(int(w1b["pid"])):
            raise Fail("new web/1 pid %s not alive" % w1b["pid"])
        if w1b["restarts"] != "1":
            raise Fail("web/1 restarts %r, expected 1: %r"
                       % (w1b["restarts"], w1b["line"]))
        print("ok - web/1 pid %d -> %s" % (pid1, w1b["pid"]))

        step("z sleeps web/2: shown sleeping, state T in /proc")
        d.select("web/2")
        w2 = d.wait("web/2 selected", lambda s: d.worker(s, 2))
        pid2 = int(w2["pid"])
        d.keys("z")
        d.wait("web/2 sleeping",
               lambda s: (d.worker(s, 2) or {}).get("state") == "sleeping")
        end = time.monotonic() + TIMEOUT
        while proc_state(pid2) != "T" and time.monotonic() < end:
            time.sleep(0.1)
        if proc_state(pid2) != "T":
            raise Fail("web/2 pid %d in state %r, expected T"
                       % (pid2, proc_state(pid2)))
        print("ok - web/2 (pid %d) sleeping, /proc state T" % pid2)

        step("z again wakes web/2: shown idle, no longer T in /proc")
        d.keys("z")
        d.wait("web/2 awake",
               lambda s: (d.worker(s, 2) or {}).get("state") == "idle" and
               "web/2 (pid %d) is awake (SIGCONT)" % pid2 in s)
        end = time.monotonic() + TIMEOUT
        while proc_state(pid2) == "T" and time.monotonic() < end:
            time.sleep(0.1)
        if proc_state(pid2) not in ("S", "R"):
            raise Fail("web/2 pid %d in state %r after z, expected S"
                       % (pid2, proc_state(pid2)))
        print("ok - web/2 (pid %d) awake, /proc state %s" %
              (pid2, proc_state(pid2)))

        step("R (+ y) reloads web: every worker gets a new pid")
        d.select("web/0")
        d.wait("web/0 selected", lambda s: d.worker(s, 0))
        before = {r["slot"]: r["pid"] for r in d.rows(d.screen())
                  if r["pool"] == "web"}
        d.keys("R")
        d.wait("the reload question",
               lambda s: "Reload pool web (rolling" in s and "[y/n]" in s)
        d.keys("y")

        def all_new(s):
            rows = [r for r in d.rows(s) if r["pool"] == "web"]
            return len(rows) == 3 and all(
                r["pid"].isdigit() and r["pid"] != before.get(r["slot"])
                and r["state"] in ("idle", "busy") for r in rows)
        d.wait("three new pids", all_new)
        d.wait("the outcome in the status line",
               lambda s: "pool web reloaded (rolling): 3 workers replaced"
               in s)
        print("ok - R reloaded web: %s -> %s" % (
            sorted(before.values()),
            sorted(r["pid"] for r in d.rows(d.screen())
                   if r["pool"] == "web")))

        step("a mouse click on a header cell sorts by it; again inverts")
        # PID is an identifier: its first click sorts ascending.
        x, y = d.header_cell(d.screen(), "PID")
        d.click(x, y)
        d.wait("the PID sort, ascending", lambda s: "sort PID asc" in s
               and "PID\u25b2" in (d.header(s) or "") and
               "sorted by PID, ascending" in s)
        pids = [int(r["pid"]) for r in d.rows(d.screen())]
        if pids != sorted(pids):
            raise Fail("rows not by PID ascending after the click: %s"
                       % pids)
        x, y = d.header_cell(d.screen(), "PID")
        d.click(x, y)
        d.wait("the PID sort, descending", lambda s: "sort PID desc" in s
               and "PID\u25bc" in (d.header(s) or "") and
               "sorted by PID, descending" in s)
        pids = [int(r["pid"]) for r in d.rows(d.screen())]
        if pids != sorted(pids, reverse=True):
            raise Fail("rows not by PID descending after a second click: "
                       "%s" % pids)
        x, y = d.header_cell(d.screen(), "CPU%")
        d.click(x, y)
        d.wait("the CPU sort from a click", lambda s: "sort CPU% desc" in s
               and "CPU%\u25bc" in (d.header(s) or ""))
        # A click on a row selects it: the detail pane shows that worker.
        s = d.screen()
        lines = s.splitlines()
        row = next(i for i, line in enumerate(lines)
                   if re.match(r"\s*web\s+2\s", line))
        d.click(3, row)
        d.wait("web/2 selected by a click",
               lambda s: re.search(r"\u2500\u2500 web/2  pid \d+", s))
        print("ok - clicks on PID sort asc then desc, on CPU% desc; a "
              "click on a row selects web/2")

        step("A adds a worker to web; D (+ y) drops it again")
        d.keys("A")
        d.wait("web/3 started", lambda s: (d.worker(s, 3) or {}).get(
            "state") == "idle" and "pool web: 3 -> 4 workers" in s)
        d.keys("D")
        d.wait("the scale-down question", lambda s:
               "Scale pool web down from 4 to 3 workers? [y/n]" in s)
        d.keys("y")
        d.wait("web/3 gone", lambda s: d.worker(s, 3) is None and
               len([r for r in d.rows(s) if r["pool"] == "web"]) == 3 and
               "pool web: 4 -> 3 workers" in s)
        print("ok - A: 3 -> 4 workers, D + y: 4 -> 3")

        step("d runs the debugger; pooltop send is answered meanwhile")
        d.select("web/0")
        w0 = d.wait("web/0 selected", lambda s: d.worker(s, 0))
        d.keys("d")
        end = time.monotonic() + TIMEOUT
        while not os.path.exists(dbg_pid) and time.monotonic() < end:
            time.sleep(0.05)
        if not os.path.exists(dbg_pid):
            raise Fail("the debugger did not start:\n" + d.screen())
        with open(dbg_pid) as f:
            got = f.read().strip()
        if got != w0["pid"]:
            raise Fail("the debugger got pid %r, expected web/0's %s"
                       % (got, w0["pid"]))
        t0 = time.monotonic()
        r = subprocess.run([pooltop, "send", "-s", d.sock, "web", "echo",
                            "while-debugging"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        took = time.monotonic() - t0
        if r.returncode != 0 or r.stdout != "while-debugging":
            raise Fail("pooltop send during the debugger: rc %d, out %r, "
                       "err %r" % (r.returncode, r.stdout, r.stderr))
        # The debugger runs until released: an answer at all proves the
        # engine did not wait for it (the bound only catches a stall).
        if os.path.exists(dbg_done):
            raise Fail("the debugger ended before the send was answered "
                       "(took %.2f s): the engine waited for it" % took)
        if took >= 10.0:
            raise Fail("pooltop send took %.2f s while the debugger ran "
                       "(expected < 10 s)" % took)
        d.wait("the debugger's line on the plain terminal", lambda s:
               "pooltop: running %s %s for web/0" % (dbg, w0["pid"]) in s)
        with open(dbg_go, "w"):
            pass
        d.wait("the dashboard back", lambda s: d.header(s) is not None and
               "debugger (%s %s) exited with status 0" % (dbg, w0["pid"])
               in s, timeout=TIMEOUT)
        print("ok - send answered in %.2f s while the debugger ran; the "
              "dashboard came back" % took)

        step("F4 filters rows; ? shows the help; the table follows a resize")
        d.keys("F4")
        d.wait("the filter prompt", lambda s: "Filter:" in s)
        d.keys("-l", "web/0")
        d.keys("Enter")

        def only_web0(s):
            rows = d.rows(s)
            return ('filter "web/0"' in s and len(rows) == 1 and
                    rows[0]["pool"] == "web" and rows[0]["slot"] == "0")
        d.wait("only web/0 shown", only_web0)
        d.keys("F4")
        d.wait("the filter prompt", lambda s: "Filter:" in s)
        d.keys("C-u")
        d.keys("Enter")
        d.wait("every row back", lambda s: len(d.rows(s)) == 4 and
               "filter" not in s.splitlines()[1])
        d.keys("?")
        d.wait("the help screen", lambda s: "Help: every key" in s and
               "F9 k" in s and re.search(r"^  z +sleep the worker", s, re.M)
               and re.search(r"^  j +the task log", s, re.M))
        d.keys("Escape")
        d.wait("the table again", lambda s: d.header(s) is not None)
        d.tmux("resize-window", "-t", d.session, "-x", "80", "-y", "24")

        def narrow(s):
            lines = s.splitlines()
            h = d.header(s)
            return (h is not None and "PPID" not in h and "CPU%" in h and
                    max(len(x) for x in lines) <= 80 and
                    len(d.rows(s)) == 4)
        d.wait("the 80x24 layout", narrow)
        print("ok - filter, help, and 80x24 after a live resize")

        step("q (+ y) quits; nothing is left")
        d.quit()
        print("ok - session ended, %d pids gone (pooltop %d)"
              % (len(d.pids_seen), d.manager))

        step("with NO_COLOR=1 the dashboard uses no colours")
        d.manager = None
        d.start("NO_COLOR=1")
        d.wait("three idle workers", ready)
        esc = d.escapes()
        if COLOR_SGR.search(esc):
            raise Fail("colours with NO_COLOR=1:\n%r" % esc)
        if "\x1b[7m" not in esc and "\x1b[1;7m" not in esc:
            raise Fail("no reverse video for the header with NO_COLOR=1:"
                       "\n%r" % esc)
        d.quit()
        print("ok - NO_COLOR=1: no colour, reverse video only")
        err = d.stderr()
        if ("AddressSanitizer" in err or "LeakSanitizer" in err or
                "runtime error" in err):
            raise Fail("sanitizer report:\n" + err)
    finally:
        d.tmux("kill-server", check=False)
        for p in sorted(d.pids_seen):
            # Only processes this test saw started (pooltop, its workers).
            if alive(p):
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    build = os.environ.get("POOLTOP_BUILD", ".")
    pooltop = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(build, "pooltop")
    workers = sys.argv[2] if len(sys.argv) > 2 else \
        os.path.join(build, "examples", "workers")
    if shutil.which("tmux") is None:
        print("Bail out! tmux is not installed (scripts/setup.sh installs it)")
        return 1
    try:
        run(os.path.abspath(pooltop), os.path.abspath(workers))
    except Fail as e:
        print("not ok - %s" % e)
        print("0 passed, 1 failed")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
