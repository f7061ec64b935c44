"""make bench's abuse figures (issue 13): each row of the issue's table, and
slow writers and a connection flood, run against a real bin/sluice with its
default budgets. Beside each, a bystander (a process of its own, so the
abuser's Python does not delay it) sends an ApiVersions every 5 ms on one
connection and keeps its worst wait, and samples the broker's resident
memory (/proc/<pid>/status VmRSS) and descriptors (/proc/<pid>/fd).
Figures, printed, never asserted.

    bench/abuse.py                  (SLUICE_BIN=... for another build)
    bench/abuse.py --watch PORT PID (the bystander; reads marks on stdin)
"""
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from abuse import (auto_create_flood, big_create_topics, big_frame_claims,  # noqa: E402
                   connection_flood, fetch_never_read, fresh_client_answered, produce_batch,
                   recompress, repeats_batch, slow_writers, zstd_bomb)
from clients import produce  # noqa: E402
from conftest import Broker  # noqa: E402
from test_limits import MIB, frame, header, recv_frame  # noqa: E402

PERIOD_S = 0.005


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def watch(port, pid):
    """The bystander: until stdin ends, an ApiVersions every PERIOD_S; at
    each line on stdin, prints the worst wait, peak RSS and peak
    descriptors since the last line."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    req = frame(header(18, 0, 1, b"bystander"))
    worst = peak_rss = peak_fds = count = 0
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], PERIOD_S)
        if ready:
            line = sys.stdin.readline()
            if not line:
                return
            print(f"{worst * 1000:.1f} {peak_rss} {peak_fds} {count}", flush=True)
            worst = peak_rss = peak_fds = count = 0
            continue
        t0 = time.monotonic()
        s.sendall(req)
        recv_frame(s)
        worst = max(worst, time.monotonic() - t0)
        count += 1
        peak_rss = max(peak_rss, rss_kb(pid))
        peak_fds = max(peak_fds, fds(pid))


class Watcher:
    def __init__(self, broker):
        self.p = subprocess.Popen([sys.executable, __file__, "--watch", str(broker.port),
                                   str(broker.proc.pid)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.mark()  # what starting cost is not any row's

    def mark(self):
        self.p.stdin.write("mark\n")
        self.p.stdin.flush()
        worst_ms, rss, fd, count = self.p.stdout.readline().split()
        return float(worst_ms), int(rss), int(fd), int(count)

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


def row(label, watcher, outcome, broker):
    worst_ms, rss, fd, count = watcher.mark()
    ok = fresh_client_answered(broker.port)
    print(f"{label:<58} {worst_ms:>9.1f} {rss // 1024:>8} {fd:>6} {count:>6}  "
          f"{'yes' if ok else 'NO':<5} {outcome}", flush=True)


def admin_topic(broker, name, partitions=1, config=None):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    a.create_topics([NewTopic(name, partitions, 1, config=config or {})],
                    operation_timeout=30)[name].result(60)


def zero_config(b, overrides):
    """The single-node broker of make bench's other figures (no
    process.roles: the local controller), with overrides."""
    with open(b.config, "w") as f:
        f.write(f"node.id=1\nlisteners=PLAINTEXT://127.0.0.1:{b.port}\n"
                f"log.dirs={b.log_dirs}\nnum.partitions=1\n")
        for k, v in overrides.items():
            f.write(f"{k}={v}\n")


def run(label_prefix, overrides, rows, kraft=False):
    tmp = tempfile.mkdtemp(prefix="sluice-abuse-")
    b = Broker(tmp, overrides)
    if not kraft:
        zero_config(b, overrides)
    b.start()
    try:
        admin_topic(b, "ready")  # registered and answering before the first row
        w = Watcher(b)
        for label, fn in rows:
            outcome = fn(b)
            row(label_prefix + label, w, outcome, b)
        w.close()
    finally:
        b.kill9()


def r_create(n):
    def f(b):
        err, msg = big_create_topics(b.port, n, name=f"wide-{n}")
        return f"error {err}" + (f": {msg[:60]}" if msg else "")
    return f


def r_grow(total):
    def f(b):
        from confluent_kafka.admin import AdminClient, NewPartitions
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        try:
            a.create_partitions([NewPartitions("wide-1000", total)],
                                operation_timeout=300)["wide-1000"].result(300)
            return "ok"
        except Exception as e:  # noqa: BLE001 (a figure, whatever the outcome)
            return str(e)[:70]
    return f


def r_auto(n):
    def f(b):
        errs = auto_create_flood(b.port, n)
        return f"{sum(1 for e in errs.values() if e == 0)} of {n} created"
    return f


def r_fetch(conns_n):
    def f(b):
        produce(b.bootstrap, "fetched", 60, size=400000)
        conns = fetch_never_read(b.port, "fetched", conns_n)
        time.sleep(1)  # bench only: the bystander watches them held
        held = fds(b.proc.pid)
        for s in conns:
            s.close()
        return f"{held} descriptors while held"
    return f


def r_frames(conns_n):
    def f(b):
        conns = big_frame_claims(b.port, conns_n)
        time.sleep(1)  # bench only
        held = rss_kb(b.proc.pid) // 1024
        for s in conns:
            s.close()
        time.sleep(0.5)
        return f"{held} MB resident while held, {rss_kb(b.proc.pid) // 1024} MB after"
    return f


def r_bomb(b):
    admin_topic(b, "gz", config={"compression.type": "gzip"})
    return f"error {zstd_bomb(b.port, 'gz')}"


def r_recompress(mib):
    def f(b):
        admin_topic(b, f"gz{mib}", config={"compression.type": "gzip",
                                           "max.message.bytes": str(mib * MIB + MIB)})
        return f"delivery: {recompress(b.bootstrap, f'gz{mib}', mib) or 'ok'}"
    return f


def r_repeats(mib):
    def f(b):
        admin_topic(b, f"gzr{mib}", config={"compression.type": "gzip"})
        batch = repeats_batch(mib)
        return f"{len(batch) // 1024} KiB batch: error {produce_batch(b.port, f'gzr{mib}', batch)}"
    return f


def r_slow_writers(n):
    def f(b):
        return f"{slow_writers(b.port, n, 2)} frames answered"
    return f


def r_flood(n):
    def f(b):
        conns = connection_flood(b.port, n)
        time.sleep(1)  # bench only
        held = fds(b.proc.pid)
        for s in conns:
            s.close()
        return f"{len(conns)} opened, {held} broker descriptors"
    return f


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--watch":
        watch(int(sys.argv[2]), int(sys.argv[3]))
        return
    print(f"{'abuse (default budgets)':<58} {'worst ms':>9} {'RSS MB':>8} {'fds':>6} "
          f"{'asked':>6}  {'fresh':<5} outcome")
    defaults = [
        ("CreateTopics of 10,000 partitions", r_create(10000)),
        ("CreateTopics of 1,000 partitions (the budget)", r_create(1000)),
        ("CreatePartitions to 2,000 (1,000 more)", r_grow(2000)),
        ("Metadata naming 3,000 unknown topics, auto-create", r_auto(3000)),
        ("8 connections pipelining Fetch, never reading", r_fetch(8)),
        ("20 connections pipelining Fetch, never reading", r_fetch(20)),
        ("100 connections, 8 MB of frames claiming 100 MB", r_frames(100)),
        ("6.5 KB zstd batch inflating to 200 MB, gzip topic", r_bomb),
        ("one 8 MiB uncompressed record, gzip topic", r_recompress(8)),
        ("one 32 MiB uncompressed record, gzip topic", r_recompress(32)),
        ("zstd batch of 16 MiB of 512 KiB repeats, gzip topic", r_repeats(16)),
        ("zstd batch of 60 MiB of 512 KiB repeats, gzip topic", r_repeats(60)),
        ("50 slow writers (a byte per 2 ms)", r_slow_writers(50)),
        ("connection flood: 5,000 connections", r_flood(5000)),
    ]
    run("", {}, defaults)
    raised = [
        ("CreateTopics of 10,000 partitions", r_create(10000)),
        ("Metadata naming 3,000 unknown topics, auto-create", r_auto(3000)),
    ]
    run("budgets raised: ", {"sluice.create.topics.partitions.max": "10000",
                             "sluice.auto.create.topics.max.per.request": "3000",
                             "sluice.auto.create.topics.max.per.second": "3000"}, raised)
    # KRaft (broker and controller in one process): the partitions reach the
    # broker through the metadata log's loader. One change must fit the
    # in-memory metadata log (512 entries), hence 400.
    run("KRaft: ", {}, [("CreateTopics of 400 partitions", r_create(400))], kraft=True)


if __name__ == "__main__":
    main()
