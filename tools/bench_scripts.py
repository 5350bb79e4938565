#!/usr/bin/env python3
"""Benchmark of goxel.execute_script over voxeld's socket (stdlib only).

Usage: python3 tools/bench_scripts.py --socket /tmp/vx.sock [--n 5000] [--rounds 3]

Scenarios (issue targets in brackets):
  seq-1plus1      `1+1` sequentially on one connection                [>= 9 k scripts/s]
  conc-1plus1     `1+1` from 4 client processes at once                [>= 15 k scripts/s]
  conc-threads    the same from 4 threads of this one process (GIL-bound client)
  seq-cube        the seed's 5x5x5 cube script sequentially            [>= 5 k scripts/s]
  heavy           4 CPU-heavy scripts one after another vs all at once [>= 1.8x sooner]
Medians over --rounds rounds. Exits 1 on any error reply.
"""
import argparse
import json
import multiprocessing
import socket
import statistics
import sys
import threading
import time

CUBE = """
for (var x = 0; x < 5; x++) {
    for (var y = 0; y < 5; y++) {
        for (var z = 0; z < 5; z++) {
            goxel.addVoxel(x, y, z, [255, 0, 0, 255]);
        }
    }
}
console.log("Created 5x5x5 red cube");
"""
HEAVY = "let s = 0; for (let i = 0; i < 20000000; i++) { s = (s + i * 7) % 1000003 } s"


class Conn:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.next_id = 0

    def script(self, source):
        self.next_id += 1
        req = {"jsonrpc": "2.0", "method": "goxel.execute_script", "params": {"script": source}, "id": self.next_id}
        self.sock.sendall((json.dumps(req) + "\n").encode())
        reply = json.loads(self.file.readline())
        if "error" in reply or reply.get("id") != self.next_id:
            print("bad reply:", reply, file=sys.stderr)
            sys.exit(1)
        return reply["result"]


def client_process(path, source, count, start, results):
    c = Conn(path)
    c.script(source)  # connected and warm before the clock starts
    start.wait()
    for _ in range(count):
        c.script(source)
    results.put(count)


def rate_processes(path, source, n, conns):
    """Scripts per second from `conns` separate client processes, like separate programs."""
    start = multiprocessing.Event()
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client_process, args=(path, source, n // conns, start, results))
             for _ in range(conns)]
    for p in procs:
        p.start()
    time.sleep(0.3)
    t0 = time.perf_counter()
    start.set()
    total = sum(results.get() for _ in procs)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return total / elapsed


def rate(path, source, n, conns):
    def worker(count, out):
        c = Conn(path)
        for _ in range(count):
            c.script(source)
        out.append(count)

    done = []
    threads = [threading.Thread(target=worker, args=(n // conns, done)) for _ in range(conns)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def heavy(path):
    c = Conn(path)
    start = time.perf_counter()
    for _ in range(4):
        c.script(HEAVY)
    sequential = time.perf_counter() - start
    done = []
    threads = [threading.Thread(target=lambda: done.append(Conn(path).script(HEAVY))) for _ in range(4)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parallel = time.perf_counter() - start
    return sequential, parallel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", default="/tmp/goxel.sock")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("scenarios", nargs="*", default=["seq-1plus1", "conc-1plus1", "seq-cube", "heavy"])
    a = ap.parse_args()
    print(f"{'scenario':<14} {'median':>14}  rounds")
    for s in a.scenarios:
        if s == "heavy":
            runs = [heavy(a.socket) for _ in range(a.rounds)]
            seq = statistics.median(r[0] for r in runs)
            par = statistics.median(r[1] for r in runs)
            print(f"{'heavy':<14} {seq / par:>13.2f}x  sequential {seq:.3f} s, 4 at once {par:.3f} s")
            continue
        source, conns = {"seq-1plus1": ("1+1", 1), "conc-1plus1": ("1+1", 4), "conc-threads": ("1+1", 4),
                         "seq-cube": (CUBE, 1)}[s]
        measure = rate_processes if s == "conc-1plus1" else rate
        rates = [measure(a.socket, source, a.n, conns) for _ in range(a.rounds)]
        print(f"{s:<14} {statistics.median(rates):>10,.0f} /s  {', '.join(f'{r:,.0f}' for r in rates)}")


if __name__ == "__main__":
    main()
