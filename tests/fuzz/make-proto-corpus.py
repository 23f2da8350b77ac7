#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-proto into corpus/proto/ (run once; the
files are committed).  Frames per pooltop-protocol(7)."""
import os
import struct

HELLO, REQUEST, RESULT, ERROR = 1, 2, 3, 4


def frame(ftype, body):
	return struct.pack(">IB", 1 + len(body), ftype) + body


def hello(names, version=1):
	body = struct.pack(">HH", version, len(names))
	for n in names:
		body += struct.pack(">H", len(n)) + n
	return frame(HELLO, body)


def request(rid, name, payload):
	return frame(REQUEST, struct.pack(">IH", rid, len(name)) + name + payload)


def reply(ftype, rid, payload):
	return frame(ftype, struct.pack(">I", rid) + payload)


seeds = {
	"hello-empty": hello([]),
	"hello-tasks": hello([b"echo", b"sleep", b"fail", b"crash"]),
	"hello-longest-name": hello([b"n" * 255, b"x"]),
	"request-echo": request(7, b"echo", b"hi"),
	"request-empty": request(1, b"pid", b""),
	"request-binary": request(0xffffffff, b"echo", bytes(range(256))),
	"result-text": reply(RESULT, 7, b"hi"),
	"result-empty": reply(RESULT, 0, b""),
	"error-text": reply(ERROR, 3, "failed on purpose \u2713".encode()),
	"stream-mixed": hello([b"echo"]) + request(1, b"echo", b"a") +
	    reply(RESULT, 1, b"a") + reply(ERROR, 2, b"no") +
	    request(2, b"sleep", b"10"),
	"partial-request": request(5, b"echo", b"abcdef")[:9],
	"bad-type": b"\x00\x00\x00\x05\x09\x00\x00\x00\x01",
	"bad-version": hello([b"echo"], version=2),
	"bad-trailing": frame(HELLO, struct.pack(">HHH", 1, 1, 4) + b"echozz"),
	"bad-too-big": b"\x01\x00\x00\x01\x02",
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)),
	"corpus", "proto")
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
	with open(os.path.join(here, name), "wb") as f:
		f.write(data)
print("%d seeds in %s" % (len(seeds), here))
