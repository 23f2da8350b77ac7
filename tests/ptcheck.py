"""Checks and control-socket reading shared by pooltop's Python tests."""

import struct


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


SANITIZER_MARKS = ("runtime error:", "AddressSanitizer", "LeakSanitizer")


def sanitizer_clean(text, what):
    """Fails when a sanitizer (in a -Db_sanitize build) reported anything."""
    for mark in SANITIZER_MARKS:
        if mark in text:
            i = text.index(mark)
            fail("%s: sanitizer report: %s" % (what, text[max(0, i - 200):
                                                          i + 800]))


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" %
                           (len(buf), n))
        buf += chunk
    return bytes(buf)


def read_reply(s):
    """One control-socket reply: (ok, data)."""
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    body = recv_exact(s, n)
    if body.startswith(b"ok\n"):
        return True, body[3:]
    if body.startswith(b"error\n"):
        return False, body[6:]
    fail("malformed reply %r" % body[:64])
