#!/usr/bin/env python3
"""Benchmark client for voxeld's Unix socket (JSON-RPC 2.0, one message per line).

Usage:
    python3 tools/bench_client.py --socket /tmp/goxel.sock [--pid PID] [scenario ...]

Scenarios (default: seq-add seq-get pipelined-get concurrent, plus rss when --pid is given):
    seq-add        N sequential goxel.add_voxel on one connection, waiting for each reply;
                   req/s is the median of --rounds rounds
    seq-get        the same with goxel.get_voxel
    pipelined-get  one thread writes --pipelined requests in chunks while the main thread reads
                   the replies; req/s over all replies
    concurrent     --conns connections x --per-conn requests each, driven by selectors; every
                   reply must arrive on its connection with the right id
    rss            (needs --pid) VmRSS of the server idle and after --rss-requests requests

`--self-test` runs every scenario, with small counts, against an in-process fake server.
Exits 1 if any reply is missing, malformed, has a wrong id or is an error. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

DEFAULT_SCENARIOS = ["seq-add", "seq-get", "pipelined-get", "concurrent"]
ALL_SCENARIOS = DEFAULT_SCENARIOS + ["rss"]


class BenchError(Exception):
    """A reply was missing, malformed, mismatched or an error."""


@dataclass
class Row:
    scenario: str
    requests: int
    seconds: float
    rate: float
    note: str = ""


# --- requests and replies (pure) -------------------------------------------------------------


def add_voxel(req_id: int, i: int) -> bytes:
    """One goxel.add_voxel request line; positions spread over a 64^3 cube."""
    x, y, z = i % 64, (i // 64) % 64, (i // 4096) % 64
    return (
        '{"jsonrpc":"2.0","method":"goxel.add_voxel","params":'
        f'{{"x":{x},"y":{y},"z":{z},"color":[255,{i % 256},0,255]}},"id":{req_id}}}\n'
    ).encode()


def get_voxel(req_id: int, i: int) -> bytes:
    """One goxel.get_voxel request line."""
    x, y, z = i % 64, (i // 64) % 64, (i // 4096) % 64
    return (
        '{"jsonrpc":"2.0","method":"goxel.get_voxel","params":'
        f'{{"x":{x},"y":{y},"z":{z}}},"id":{req_id}}}\n'
    ).encode()


def check_reply(line: bytes, expected_id: int | None = None) -> int:
    """Parses one reply line, raises BenchError unless it is a success; returns its id."""
    try:
        reply = json.loads(line)
    except ValueError as e:
        raise BenchError(f"malformed reply {line[:200]!r}: {e}") from None
    if not isinstance(reply, dict) or reply.get("jsonrpc") != "2.0":
        raise BenchError(f"not a JSON-RPC 2.0 reply: {line[:200]!r}")
    if "error" in reply:
        raise BenchError(f"error reply: {reply['error']!r} (id {reply.get('id')!r})")
    if "result" not in reply:
        raise BenchError(f"reply without result: {line[:200]!r}")
    reply_id = reply.get("id")
    if not isinstance(reply_id, int):
        raise BenchError(f"reply id is not an integer: {reply_id!r}")
    if expected_id is not None and reply_id != expected_id:
        raise BenchError(f"expected id {expected_id}, got {reply_id}")
    return reply_id


def split_lines(buffer: bytearray) -> list[bytes]:
    """Removes and returns the complete lines at the start of `buffer` (without newlines)."""
    end = buffer.rfind(b"\n")
    if end < 0:
        return []
    lines = bytes(buffer[:end]).split(b"\n")
    del buffer[: end + 1]
    return lines


# --- connections -----------------------------------------------------------------------------


class LineConn:
    """A blocking connection that reads reply lines."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = bytearray()
        self.lines: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        while not self.lines:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BenchError("server closed the connection")
            self.buffer += chunk
            self.lines = split_lines(self.buffer)
            self.lines.reverse()
        return self.lines.pop()

    def close(self) -> None:
        self.sock.close()


def sequential(path: str, name: str, make, count: int, rounds: int) -> Row:
    conn = LineConn(path)
    rates = []
    total_time = 0.0
    try:
        for r in range(rounds):
            start = time.perf_counter()
            for i in range(count):
                req_id = r * count + i + 1
                conn.send(make(req_id, i))
                check_reply(conn.read_line(), req_id)
            elapsed = time.perf_counter() - start
            total_time += elapsed
            rates.append(count / elapsed)
    finally:
        conn.close()
    return Row(name, count * rounds, total_time, statistics.median(rates), f"median of {rounds}")


def pipelined(path: str, name: str, make, count: int, chunk: int = 1000) -> Row:
    """Writes `count` requests from a thread while reading replies here; verifies afterwards."""
    conn = LineConn(path)
    write_error: list[BaseException] = []

    def writer() -> None:
        try:
            for base in range(0, count, chunk):
                batch = b"".join(make(i + 1, i) for i in range(base, min(base + chunk, count)))
                conn.send(batch)
        except BaseException as e:  # reported by the reader
            write_error.append(e)

    received: list[bytes] = []
    newlines = 0
    thread = threading.Thread(target=writer, daemon=True)
    start = time.perf_counter()
    thread.start()
    try:
        while newlines < count:
            data = conn.sock.recv(1 << 20)
            if not data:
                raise BenchError(f"server closed after {newlines} of {count} replies")
            received.append(data)
            newlines += data.count(b"\n")
        elapsed = time.perf_counter() - start
    finally:
        thread.join(timeout=10)
        conn.close()
    if write_error:
        raise BenchError(f"writer failed: {write_error[0]!r}")
    lines = b"".join(received).split(b"\n")
    if lines[-1] != b"" or len(lines) - 1 != count:
        raise BenchError(f"expected {count} reply lines, got {len(lines) - 1} (+ partial)")
    ids = [check_reply(line) for line in lines[:-1]]
    if ids != list(range(1, count + 1)):
        raise BenchError("replies out of order or with wrong ids")
    return Row(name, count, elapsed, count / elapsed)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def concurrent(path: str, conns: int, per_conn: int, timeout: float = 120.0) -> Row:
    """`conns` non-blocking connections, each pipelining `per_conn` requests; all via selectors."""
    raise_fd_limit(conns + 64)
    sel = selectors.DefaultSelector()
    state = []
    start = time.perf_counter()
    try:
        for c in range(conns):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            sock.setblocking(False)
            out = b"".join(get_voxel(c * per_conn + i + 1, i) for i in range(per_conn))
            entry = {"sock": sock, "out": memoryview(out), "buf": bytearray(), "ids": []}
            state.append(entry)
            sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, entry)
        pending = conns
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise BenchError(f"timeout: {pending} connections still waiting for replies")
            for key, events in sel.select(timeout=1.0):
                entry = key.data
                sock = entry["sock"]
                if events & selectors.EVENT_WRITE and entry["out"]:
                    try:
                        sent = sock.send(entry["out"])
                    except BlockingIOError:
                        sent = 0
                    entry["out"] = entry["out"][sent:]
                    if not entry["out"]:
                        sel.modify(sock, selectors.EVENT_READ, entry)
                if events & selectors.EVENT_READ:
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        raise BenchError("server closed a connection early")
                    entry["buf"] += data
                    entry["ids"].extend(check_reply(line) for line in split_lines(entry["buf"]))
                    if len(entry["ids"]) >= per_conn:
                        sel.unregister(sock)
                        pending -= 1
        elapsed = time.perf_counter() - start
    finally:
        for entry in state:
            entry["sock"].close()
        sel.close()
    for c, entry in enumerate(state):
        expected = list(range(c * per_conn + 1, (c + 1) * per_conn + 1))
        if entry["ids"] != expected:
            raise BenchError(f"connection {c}: wrong replies (got {len(entry['ids'])})")
    total = conns * per_conn
    return Row("concurrent", total, elapsed, total / elapsed, f"{conns} conns x {per_conn}")


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def rss(path: str, pid: int, count: int) -> Row:
    idle = vm_rss_kib(pid)
    row = pipelined(path, "rss", get_voxel, count, chunk=5000)
    time.sleep(0.5)
    after = vm_rss_kib(pid)
    row.note = f"VmRSS {idle} KiB idle -> {after} KiB (+{after - idle} KiB)"
    return row


# --- fake server for --self-test -------------------------------------------------------------


def start_fake_server(path: str) -> socket.socket:
    """A thread-per-connection server answering every request with result 0."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4096)

    def serve(conn: socket.socket) -> None:
        buf = bytearray()
        with conn:
            while data := conn.recv(65536):
                buf += data
                out = bytearray()
                for line in split_lines(buf):
                    req = json.loads(line)
                    out += b'{"jsonrpc":"2.0","result":0,"id":%d}\n' % req["id"]
                conn.sendall(out)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


# --- main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, scenarios: list[str]) -> list[Row]:
    rows = []
    for name in scenarios:
        if name == "seq-add":
            rows.append(sequential(args.socket, name, add_voxel, args.n, args.rounds))
        elif name == "seq-get":
            rows.append(sequential(args.socket, name, get_voxel, args.n, args.rounds))
        elif name == "pipelined-get":
            rows.append(pipelined(args.socket, name, get_voxel, args.pipelined))
        elif name == "concurrent":
            rows.append(concurrent(args.socket, args.conns, args.per_conn))
        elif name == "rss":
            if args.pid is None:
                raise BenchError("the rss scenario needs --pid")
            rows.append(rss(args.socket, args.pid, args.rss_requests))
    return rows


def print_table(rows: list[Row]) -> None:
    print(f"{'scenario':<14} {'requests':>10} {'seconds':>9} {'req/s':>12}  note")
    for r in rows:
        print(f"{r.scenario:<14} {r.requests:>10} {r.seconds:>9.3f} {r.rate:>12,.0f}  {r.note}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("scenarios", nargs="*", metavar="scenario", help=" ".join(ALL_SCENARIOS))
    p.add_argument("--socket", default="/tmp/goxel.sock", help="server socket path")
    p.add_argument("--pid", type=int, help="server pid, for the rss scenario")
    p.add_argument("--n", type=int, default=10_000, help="requests per sequential round")
    p.add_argument("--rounds", type=int, default=5, help="sequential rounds (median reported)")
    p.add_argument("--pipelined", type=int, default=100_000, help="pipelined requests")
    p.add_argument("--conns", type=int, default=1000, help="concurrent connections")
    p.add_argument("--per-conn", type=int, default=100, help="requests per connection")
    p.add_argument("--rss-requests", type=int, default=1_000_000, help="requests for rss")
    p.add_argument("--self-test", action="store_true", help="run against a built-in fake server")
    args = p.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in ALL_SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(ALL_SCENARIOS)}")

    scenarios = args.scenarios or DEFAULT_SCENARIOS + (["rss"] if args.pid else [])
    listener = None
    tmp = None
    if args.self_test:
        tmp = tempfile.TemporaryDirectory()
        args.socket = os.path.join(tmp.name, "fake.sock")
        listener = start_fake_server(args.socket)
        args.n, args.rounds, args.pipelined = 200, 3, 20_000
        args.conns, args.per_conn, args.rss_requests = 50, 20, 20_000
        args.pid = os.getpid()
        scenarios = ALL_SCENARIOS
    try:
        rows = run(args, scenarios)
    except (BenchError, OSError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        if listener is not None:
            listener.close()
        if tmp is not None:
            tmp.cleanup()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
