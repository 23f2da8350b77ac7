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

When the pool has locks (POOLTOP_LOCKS set; pooltop.conf(5) `locks`), also
these, which take the pool's locks over the protocol (LOCK and UNLOCK
frames, answered by LOCKED: see LOCKS in pooltop-protocol(7)); the payload
starts with a lock's name ("-": no lock, in incr):

  lock       NAME: takes it and keeps it; "locked" ("locked owner_died"
             when its previous holder died holding it)
  unlock     NAME: gives it back; "unlocked"
  trylock    NAME: "locked", or "busy" when another holds it
  timedlock  NAME MS: "locked", or "timed out" after MS ms
  hold       NAME MS: takes it, blocks MS ms, gives it back; "held MS"
  incr       NAME N PATH: N times, under the lock, adds 1 to the 64-bit
             counter (native byte order) at the start of file PATH;
             "incr N owner_died K"

One thread: a selector waits on fd 3 with a timeout set by the earliest
timer; replies are collected and written before the loop waits again.
A lock call blocks the worker until the pool answers it; requests that
arrive meanwhile wait, in order, until the handler returns.
"""

import collections
import heapq
import mmap
import os
import selectors
import struct
import sys
import time

PROTO_VERSION = 1
HELLO, REQUEST, RESULT, ERROR = 1, 2, 3, 4
LOCK, UNLOCK, LOCKED = 16, 17, 18
LOCK_OK, LOCK_OWNER_DIED, LOCK_BUSY, LOCK_TIMEDOUT, LOCK_ERROR = range(5)
LOCK_FOREVER = 0xFFFFFFFF       # a LOCK timeout: wait as long as it takes
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
		self.inbuf = bytearray()  # bytes of fd 3 not yet decoded
		self.deferred = collections.deque()  # requests read during a lock call
		self.lock_seq = 0

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

	def next_frame(self):
		"""Takes the first complete frame off inbuf: (type, body) or None."""
		buf = self.inbuf
		if len(buf) < 4:
			return None
		(length,) = struct.unpack_from(">I", buf, 0)
		if length == 0 or length > MAX_FRAME:
			raise ProtocolError("bad frame length %d" % length)
		if len(buf) < 4 + length:
			return None
		ftype = buf[4]
		body = bytes(buf[5:4 + length])
		del buf[:4 + length]
		return ftype, body

	def request(self, body):
		"""Dispatches a REQUEST frame's body."""
		if len(body) < 6:
			raise ProtocolError("REQUEST frame too short (%d)"
								% (len(body) + 1))
		rid, nlen = struct.unpack_from(">IH", body, 0)
		if nlen == 0 or nlen > MAX_NAME or 6 + nlen > len(body):
			raise ProtocolError("bad task name length %d" % nlen)
		self.dispatch(rid, bytes(body[6:6 + nlen]), bytes(body[6 + nlen:]))

	def decode(self):
		"""Dispatches every complete request (those deferred first)."""
		while True:
			if self.deferred:
				self.request(self.deferred.popleft())
				continue
			frame = self.next_frame()
			if frame is None:
				return
			ftype, body = frame
			if ftype != REQUEST:
				raise ProtocolError("unexpected frame type %d" % ftype)
			self.request(body)

	def read_more(self):
		"""Blocks until fd 3 has bytes; False at its end."""
		while True:
			try:
				data = os.read(FD_REQUESTS, 1 << 16)
			except BlockingIOError:  # a non-blocking fd 3: wait for it
				sel = selectors.DefaultSelector()
				sel.register(FD_REQUESTS, selectors.EVENT_READ)
				sel.select()
				sel.close()
				continue
			if not data:
				return False
			self.inbuf += data
			return True

	def lock_call(self, ftype, name, timeout_ms=LOCK_FOREVER):
		"""Sends LOCK or UNLOCK and waits for the pool's LOCKED answer.

		Returns (status, message).  Requests read meanwhile are kept for
		the main loop, in order.
		"""
		self.lock_seq = (self.lock_seq + 1) & 0xFFFFFFFF
		lid = self.lock_seq
		body = struct.pack(">I", lid)
		if ftype == LOCK:
			body += struct.pack(">I", timeout_ms)
		self.out += self._frame(ftype, body + name.encode())
		self.flush()
		while True:
			frame = self.next_frame()
			if frame is None:
				if not self.read_more():
					raise ProtocolError("fd 3 ended while waiting for "
										"lock %s" % name)
				continue
			rtype, rbody = frame
			if rtype == REQUEST:
				self.deferred.append(rbody)
				continue
			if rtype != LOCKED or len(rbody) < 5:
				raise ProtocolError("unexpected frame type %d" % rtype)
			rid, status = struct.unpack_from(">IB", rbody, 0)
			if rid != lid:
				raise ProtocolError("LOCKED answer for id %d, waiting "
									"for %d" % (rid, lid))
			return status, rbody[5:].decode("utf-8", "replace")

	def lock(self, name, timeout_ms=LOCK_FOREVER):
		return self.lock_call(LOCK, name, timeout_ms)

	def unlock(self, name):
		return self.lock_call(UNLOCK, name)

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
		eof = False
		while not (eof and not self.pending):
			timeout = None
			if self.timers:
				timeout = max(0.0, self.timers[0][0] - time.monotonic())
			elif eof:
				break   # pending requests that no timer will answer
			for _ in sel.select(timeout):
				try:
					data = os.read(FD_REQUESTS, 1 << 16)
				except BlockingIOError:
					continue
				if not data:
					if self.inbuf:
						raise ProtocolError("fd 3 ended inside a frame")
					eof = True
					sel.unregister(FD_REQUESTS)
					break
				self.inbuf += data
				self.decode()
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


def lock_args(w, rid, payload, what):
	"""Splits "NAME REST": (name, rest), or None after failing the task."""
	text = payload.decode("utf-8", "replace")
	name, _, rest = text.partition(" ")
	if not name:
		w.fail(rid, '%s: expected a lock name, got "%s"' % (what, text))
		return None
	return name, rest.strip()


def lock_answer(w, rid, status, message):
	"""Answers a lock call as the C example worker does."""
	if status == LOCK_OK:
		w.reply(rid, b"locked")
	elif status == LOCK_OWNER_DIED:
		w.reply(rid, b"locked owner_died")
	elif status == LOCK_BUSY:
		w.reply(rid, b"busy")
	elif status == LOCK_TIMEDOUT:
		w.reply(rid, b"timed out")
	else:
		w.fail(rid, message)


def task_lock(w, rid, payload):
	args = lock_args(w, rid, payload, "lock")
	if args:
		lock_answer(w, rid, *w.lock(args[0]))


def task_trylock(w, rid, payload):
	args = lock_args(w, rid, payload, "trylock")
	if args:
		lock_answer(w, rid, *w.lock(args[0], 0))


def task_timedlock(w, rid, payload):
	args = lock_args(w, rid, payload, "timedlock")
	if args:
		if not args[1].isdigit():
			w.fail(rid, 'timedlock: expected NAME and milliseconds, got "%s"'
				   % payload.decode("utf-8", "replace"))
			return
		lock_answer(w, rid, *w.lock(args[0], int(args[1])))


def task_unlock(w, rid, payload):
	args = lock_args(w, rid, payload, "unlock")
	if args:
		status, message = w.unlock(args[0])
		if status == LOCK_OK:
			w.reply(rid, b"unlocked")
		else:
			w.fail(rid, message)


def task_hold(w, rid, payload):
	args = lock_args(w, rid, payload, "hold")
	if not args:
		return
	if not args[1].isdigit():
		w.fail(rid, 'hold: expected NAME and milliseconds, got "%s"'
			   % payload.decode("utf-8", "replace"))
		return
	status, message = w.lock(args[0])
	if status not in (LOCK_OK, LOCK_OWNER_DIED):
		w.fail(rid, message)
		return
	time.sleep(int(args[1]) / 1000.0)
	ustatus, umessage = w.unlock(args[0])
	if ustatus != LOCK_OK:
		w.fail(rid, umessage)
		return
	w.reply(rid, b"held %s%s" % (args[1].encode(), b" owner_died"
								 if status == LOCK_OWNER_DIED else b""))


def task_incr(w, rid, payload):
	args = lock_args(w, rid, payload, "incr")
	if not args:
		return
	count, _, path = args[1].partition(" ")
	if not count.isdigit() or not path:
		w.fail(rid, 'incr: expected NAME N PATH, got "%s"'
			   % payload.decode("utf-8", "replace"))
		return
	name, n, died = args[0], int(count), 0
	with open(path, "r+b") as f:
		counter = mmap.mmap(f.fileno(), 8)
	try:
		for _ in range(n):
			if name != "-":
				status, message = w.lock(name)
				if status == LOCK_OWNER_DIED:
					died += 1
				elif status != LOCK_OK:
					w.fail(rid, message)
					return
			(value,) = struct.unpack_from("=Q", counter, 0)
			struct.pack_into("=Q", counter, 0, value + 1)
			if name != "-":
				status, message = w.unlock(name)
				if status != LOCK_OK:
					w.fail(rid, message)
					return
	finally:
		counter.close()
	w.reply(rid, b"incr %d owner_died %d" % (n, died))


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
	if os.environ.get("POOLTOP_LOCKS"):
		w.task("lock", task_lock)
		w.task("unlock", task_unlock)
		w.task("trylock", task_trylock)
		w.task("timedlock", task_timedlock)
		w.task("hold", task_hold)
		w.task("incr", task_incr)
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
