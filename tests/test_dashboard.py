#!/usr/bin/env python3
"""End to end: the real pooltop dashboard driven in tmux.

Starts `pooltop -c CONF -s SOCK` in a detached tmux session of 120x40 with
TERM=xterm-256color, then, reading the screen with capture-pane:
sorts by CPU (P) and checks the header and the order; opens a worker's log
and sees the example worker's start line; sends a task and sees it in the
task log; kills a worker with k + KILL (+ y) and sees it come back with a
new pid; sleeps a worker with s and sees it sleeping (and in state T in
/proc); quits with q (+ y if asked) and checks that no process is left and
the tmux session ended.

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

    def start(self):
        cmd = ("exec env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 "
               "%s -c %s -s %s 2>%s" % (self.pooltop, self.conf, self.sock,
                                         self.errlog))
        self.tmux("new-session", "-d", "-s", self.session, "-x", str(COLS),
                  "-y", str(ROWS), cmd)

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
    try:
        d.start()

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
        d.keys("l")
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
        d.keys("t")
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

        step("s sleeps web/2: shown sleeping, state T in /proc")
        d.select("web/2")
        w2 = d.wait("web/2 selected", lambda s: d.worker(s, 2))
        pid2 = int(w2["pid"])
        d.keys("s")
        d.wait("web/2 sleeping",
               lambda s: (d.worker(s, 2) or {}).get("state") == "sleeping")
        end = time.monotonic() + TIMEOUT
        while proc_state(pid2) != "T" and time.monotonic() < end:
            time.sleep(0.1)
        if proc_state(pid2) != "T":
            raise Fail("web/2 pid %d in state %r, expected T"
                       % (pid2, proc_state(pid2)))
        print("ok - web/2 (pid %d) sleeping, /proc state T" % pid2)

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
               "F9 k" in s)
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
        d.keys("q")
        end = time.monotonic() + TIMEOUT
        asked = False
        while d.session_alive() and time.monotonic() < end:
            s = d.screen()
            if "[y/n]" in s and not asked:
                d.keys("y")
                asked = True
            time.sleep(0.1)
        if d.session_alive():
            raise Fail("tmux session still there after q:\n" + d.last)
        end = time.monotonic() + TIMEOUT
        left = []
        while time.monotonic() < end:
            left = [p for p in sorted(d.pids_seen) if alive(p)]
            if not left:
                break
            time.sleep(0.1)
        if left:
            raise Fail("processes left after quit: %s" % left)
        print("ok - session ended, %d pids gone (pooltop %d)"
              % (len(d.pids_seen), d.manager))
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
