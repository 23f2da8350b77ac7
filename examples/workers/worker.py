#!/usr/bin/env python3
"""pooltop-example-worker.py: a pooltop worker in Python, standard library only.

Written from pooltop-protocol(7) alone.  Requests come in on fd 3, replies go
out on fd 4, stdout and stderr are the worker's log.  Tasks:

  echo   replies with the payload
  sleep  payload: milliseconds in decimal; replies "slept N" after N ms.
		 Answered from a timer, so several sleeps are in flight at once
		 and answer out of order.
  fail   fails with the payload as the error text ("failed on purpose"
		 when empty)
  pid    replies with the worker's pid in decimal
  crash  exits at once with status 3, without answering

One thread: a selector waits on fd 3 with a timeout set by the earliest
timer; replies are collected and written before the loop waits again.
"""

import heapq
import os
import selectors
import struct
import sys
import time

PROTO_VERSION = 1
HELLO, REQUEST, RESULT, ERROR = 1, 2, 3, 4
MAX_FRAME = 16 * 1024 * 1024    # the largest value of the length field
MAX_NAME = 255
FD_REQUESTS, FD_REPLIES = 3, 4


class ProtocolError(Exception):
	pass


class Worker:
	def __init__(self):
		self.handlers = {}      # task name (bytes) -> fn(worker, id, payload)
		self.timers = []        # heap of (due, seq, fn)
		self.seq = 0
		self.pending = set()    # ids received and not answered yet
		self.out = bytearray()  # replies not written yet

	def task(self, name, fn):
		self.handlers[name.encode()] = fn

	def after(self, ms, fn):
		self.seq += 1
		heapq.heappush(self.timers, (time.monotonic() + ms / 1000.0,
									 self.seq, fn))

	def _frame(self, ftype, body):
		# u32 length (type byte + body), u8 type, body; big-endian.
		return struct.pack(">IB", 1 + len(body), ftype) + body

	def reply(self, rid, payload):
		self.pending.discard(rid)
		self.out += self._frame(RESULT, struct.pack(">I", rid) + payload)

	def fail(self, rid, message):
		self.pending.discard(rid)
		self.out += self._frame(ERROR, struct.pack(">I", rid) +
								message.encode("utf-8", "replace"))

	def flush(self):
		off = 0
		while off < len(self.out):	# a write may be partial
			off += os.write(FD_REPLIES, self.out[off:])
		self.out.clear()

	def hello(self):
		names = list(self.handlers)
		body = struct.pack(">HH", PROTO_VERSION, len(names))
		for name in names:
			body += struct.pack(">H", len(name)) + name
		self.out += self._frame(HELLO, body)
		self.flush()

	def dispatch(self, rid, name, payload):
		fn = self.handlers.get(name)
		if fn is None:
			served = ", ".join(n.decode() for n in self.handlers)
			self.fail(rid, 'unknown task "%s" (this worker serves: %s)'
					  % (name.decode("utf-8", "replace"), served))
			return
		self.pending.add(rid)
		try:
			fn(self, rid, payload)
		except Exception as e:  # a bug in a handler fails its task only
			if rid in self.pending:
				self.fail(rid, "%s: %s" % (name.decode(), e))

	def decode(self, buf):
		"""Dispatches every complete frame in buf; returns the bytes used."""
		off = 0
		while len(buf) - off >= 4:
			(length,) = struct.unpack_from(">I", buf, off)
			if length == 0 or length > MAX_FRAME:
				raise ProtocolError("bad frame length %d" % length)
			if len(buf) - off < 4 + length:
				break
			ftype = buf[off + 4]
			if ftype != REQUEST:
				raise ProtocolError("unexpected frame type %d" % ftype)
			if length < 7:
				raise ProtocolError("REQUEST frame too short (%d)" % length)
			rid, nlen = struct.unpack_from(">IH", buf, off + 5)
			if nlen == 0 or nlen > MAX_NAME or 7 + nlen > length:
				raise ProtocolError("bad task name length %d" % nlen)
			name = bytes(buf[off + 11:off + 11 + nlen])
			payload = bytes(buf[off + 11 + nlen:off + 4 + length])
			off += 4 + length
			self.dispatch(rid, name, payload)
		return off

	def run_timers(self):
		now = time.monotonic()
		while self.timers and self.timers[0][0] <= now:
			_, _, fn = heapq.heappop(self.timers)
			fn()

	def run(self):
		"""Serves until fd 3 ends and every pending request is answered."""
		self.hello()
		sel = selectors.DefaultSelector()
		sel.register(FD_REQUESTS, selectors.EVENT_READ)
		buf = bytearray()
		eof = False
		while not (eof and not self.pending):
			timeout = None
			if self.timers:
				timeout = max(0.0, self.timers[0][0] - time.monotonic())
			elif eof:
				break   # pending requests that no timer will answer
			for _ in sel.select(timeout):
				data = os.read(FD_REQUESTS, 1 << 16)
				if not data:
					if buf:
						raise ProtocolError("fd 3 ended inside a frame")
					eof = True
					sel.unregister(FD_REQUESTS)
					break
				buf += data
				used = self.decode(buf)
				del buf[:used]
			self.run_timers()
			self.flush()
		return 0


def task_echo(w, rid, payload):
	w.reply(rid, payload)


def task_sleep(w, rid, payload):
	text = payload.decode("utf-8", "replace").strip()
	if not text.isdigit():
		w.fail(rid, 'sleep: expected milliseconds in decimal, got "%s"'
			   % text)
		return
	ms = int(text)
	w.after(ms, lambda: w.reply(rid, b"slept %d" % ms))


def task_fail(w, rid, payload):
	w.fail(rid, payload.decode("utf-8", "replace") or "failed on purpose")


def task_pid(w, rid, payload):
	w.reply(rid, b"%d" % os.getpid())


def task_crash(w, rid, payload):
	sys.stdout.flush()
	os._exit(3)


def main():
	who = os.environ.get("POOLTOP_WORKER") or "-"
	for fd in (FD_REQUESTS, FD_REPLIES):
		try:
			os.fstat(fd)
		except OSError:
			sys.stderr.write("pooltop-example-worker.py: fd %d is not open: "
							 "start me from a pooltop pool (see "
							 "pooltop-protocol(7))\n" % fd)
			return 1
	print("worker %s started (pid %d)" % (who, os.getpid()), flush=True)

	w = Worker()
	w.task("echo", task_echo)
	w.task("sleep", task_sleep)
	w.task("fail", task_fail)
	w.task("pid", task_pid)
	w.task("crash", task_crash)
	try:
		return w.run()
	except ProtocolError as e:
		sys.stderr.write("pooltop-example-worker.py (worker %s): malformed "
						 "input from the pool: %s\n" % (who, e))
		return 1
	except BrokenPipeError:
		sys.stderr.write("pooltop-example-worker.py (worker %s): the pool "
						 "closed fd 4\n" % who)
		return 1


if __name__ == "__main__":
	sys.exit(main())
