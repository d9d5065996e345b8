#!/usr/bin/env python3
"""http_conformance.py: raw-socket HTTP/1.1 checks against tests/net/httpd.lua, printed as TAP lines.

Usage: http_conformance.py HOST PORT LABEL FIRST_NUMBER
Prints one "ok N - ..." or "not ok N - ..." line per check, numbered from
FIRST_NUMBER, then "# checks: COUNT" so the caller can go on numbering.
Covers the request-smuggling set of RFC 9112 6.3 and 7.1 (Content-Length
with Transfer-Encoding, two different Content-Lengths, bad and overflowing
chunk sizes, obs-fold, NUL in a field) and pipelined requests cut at every
kind of boundary, each piece sent by itself.
"""
import socket
import sys
import time

HOST, PORT, LABEL, FIRST = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
n = FIRST - 1
count = 0


def report(ok, name, detail=""):
    global n, count
    n += 1
    count += 1
    print(("ok" if ok else "not ok") + " %d - %s on %s" % (n, name, LABEL))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)
    sys.stdout.flush()


def exchange(pieces, pause=0.02, timeout=5.0):
    """Send each piece (bytes) by itself, then read until the server closes
    or `timeout` passes with nothing new. -> the bytes received."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for p in pieces:
            s.sendall(p)
            time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            try:
                d = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not d:
                break
            got += d
        return got
    finally:
        s.close()


def statuses(data):
    """The status codes of the responses in data, in order."""
    out = []
    pos = 0
    while True:
        i = data.find(b"HTTP/1.1 ", pos)
        if i < 0:
            return out
        out.append(int(data[i + 9:i + 12]))
        end = data.find(b"\r\n\r\n", i)
        if end < 0:
            return out
        pos = end + 4


def get(path, extra=b""):
    return b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n"


# --- the smuggling set: each is answered with one error and the connection
# closes; the request after it is never answered.
SMUGGLE = [
    ("Content-Length with Transfer-Encoding", 400,
     b"POST /size HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("Transfer-Encoding with Content-Length", 400,
     b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 4\r\n\r\n0\r\n\r\n"),
    ("two different Content-Lengths", 400,
     b"POST /size HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
     b"Content-Length: 4\r\n\r\nabcd"),
    ("a bad chunk size", 400,
     b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nab\r\n0\r\n\r\n"),
    ("a negative chunk size", 400,
     b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"-1\r\nab\r\n0\r\n\r\n"),
    ("an overflowing chunk size", 413,
     b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"10000000000000000001\r\nab\r\n0\r\n\r\n"),
    ("a chunk size over max_body", 413,
     b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"100000\r\nab\r\n0\r\n\r\n"),
    ("obs-fold", 400,
     b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
    ("NUL in a field value", 400,
     b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n"),
    ("a space before the colon", 400,
     b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    ("chunked not the last coding", 400,
     b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    ("a Content-Length over max_body", 413,
     b"POST /size HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"),
]

for name, want, req in SMUGGLE:
    got = exchange([req + get(b"/echo/7")])
    st = statuses(got)
    report(st == [want] and b"Connection: close" in got,
           "%s: %d, close, the next request unanswered" % (name, want),
           "statuses: %r\n%r" % (st, got[:300]))

# --- pipelining: three requests (one with a body, one chunked) sent as one
# stream cut into pieces of 1, 2, 3, 5, 7 and 100 bytes, each piece sent
# on its own with a pause: every answer, in order.
stream = (get(b"/echo/1")
          + b"POST /size HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
          + b"POST /size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
          + get(b"/echo/4", b"Connection: close\r\n"))
for size in (1, 2, 3, 5, 7, 100):
    pieces = [stream[i:i + size] for i in range(0, len(stream), size)]
    got = exchange(pieces, pause=0.002 if size < 5 else 0.01, timeout=10)
    bodies = []
    pos = 0
    while True:
        i = got.find(b"\r\n\r\n", pos)
        if i < 0:
            break
        head = got[pos:i]
        ln = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                ln = int(line.split(b":")[1])
        bodies.append(got[i + 4:i + 4 + ln])
        pos = i + 4 + ln
    report(bodies == [b"1", b"5", b"7", b"4"],
           "4 pipelined requests in %d-byte pieces: 4 answers in order" % size,
           "bodies: %r" % bodies)

# --- a request split inside its request line, header names and values.
got = exchange([b"GE", b"T /ec", b"ho/9 HT", b"TP/1.1\r\nHo", b"st: a\r", b"\nConn",
                b"ection: cl", b"ose\r\n", b"\r\n"])
report(statuses(got) == [200] and got.endswith(b"9"),
       "a request cut inside its line, names and values", repr(got[:300]))

print("# checks: %d" % count)
