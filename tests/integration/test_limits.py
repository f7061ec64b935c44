"""Budgets for what a client can make the broker hold (issue 13, item 1),
against a real bin/sluice over real sockets, with small configured limits so
each row of the issue's table is quick. Every wait is on a reply or on the
broker's log, never a sleep; bounds are derived from the configured budget,
never from timing."""
import os
import socket
import struct

import pytest
import zstandard
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from clients import consume_confluent, produce
from conftest import SANITIZED
from kwire import uvarint

MIB = 1024 * 1024
READ_BUF = 64 * 1024  # os/net.c's per-connection read buffer


def raw(broker, timeout=10):
    return socket.create_connection(("127.0.0.1", broker.port), timeout=timeout)


def header(api_key, version, correlation, client=b"raw"):
    return struct.pack(">hhih", api_key, version, correlation, len(client)) + client


def frame(body):
    return struct.pack(">i", len(body)) + body


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def recv_frame(s):
    (n,) = struct.unpack(">i", recv_exact(s, 4))
    return recv_exact(s, n)


def metadata_answered(broker, correlation=11):
    """A bystander's Metadata v0 (every topic) on a fresh connection."""
    with raw(broker) as s:
        s.sendall(frame(header(3, 0, correlation) + struct.pack(">i", 0)))
        body = recv_frame(s)
    return struct.unpack(">i", body[:4])[0] == correlation


def rss_bytes(broker):
    with open(f"/proc/{broker.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fd_count(broker):
    return len(os.listdir(f"/proc/{broker.proc.pid}/fd"))


def log_text(broker):
    with open(broker.stderr_path) as f:
        return f.read()


def send_some(s, data):
    """Sends what the kernel takes now without blocking; returns the count."""
    s.setblocking(False)
    sent = 0
    try:
        while sent < len(data):
            sent += s.send(data[sent:sent + 256 * 1024])
    except BlockingIOError:
        pass
    s.setblocking(True)
    return sent


# --- queued.max.request.bytes -------------------------------------------------


def test_frames_claiming_more_than_the_budget_wait_and_memory_stays_bounded(make_broker):
    budget = 4 * MIB
    conns_n, claimed, body_sent = 30, 10 * MIB, 1 * MIB
    b = make_broker({"queued.max.request.bytes": str(budget)})
    assert metadata_answered(b)
    before = rss_bytes(b)
    conns = []
    for i in range(conns_n):
        s = raw(b)
        s.sendall(struct.pack(">i", claimed) + header(0, 3, i))
        send_some(s, b"\0" * body_sent)
        conns.append(s)
    for k in range(3):  # round trips: the loop has read what it will read
        assert metadata_answered(b, 100 + k)
    peak = rss_bytes(b)
    # One frame is admitted alone (its buffer grows as its bytes arrive, at
    # most doubling past what came); every other connection holds at most
    # its read buffer. Without the budget each connection buffers its 1 MB.
    bound = budget + conns_n * READ_BUF + 6 * MIB
    assert peak - before < bound, (before, peak, bound)
    for s in conns:
        s.close()
    assert metadata_answered(b, 200)
    for k in range(3):  # the closes reach the loop, waiting ones resume and see EOF
        assert metadata_answered(b, 201 + k)
    after = rss_bytes(b)
    if not SANITIZED:  # ASan's quarantine keeps what the closes freed resident
        assert after - before < budget + 6 * MIB, (before, peak, after)
    assert b.alive()


def test_pipelined_requests_past_the_budget_are_all_answered(make_broker):
    """Reading pauses; nothing is dropped: 200 pipelined ApiVersions on one
    connection with a budget smaller than their frames all come back, in
    order."""
    b = make_broker({"queued.max.request.bytes": "1024"})
    s = raw(b)
    n = 200
    s.sendall(b"".join(frame(header(18, 0, i)) for i in range(n)))
    for i in range(n):
        body = recv_frame(s)
        assert struct.unpack(">i", body[:4])[0] == i
    s.close()
    assert metadata_answered(b)


# --- responses queued per connection ------------------------------------------


def fetch_v4(correlation, topic, max_bytes):
    t = topic.encode()
    body = header(1, 4, correlation)
    body += struct.pack(">iiiib", -1, 0, max_bytes, max_bytes, 0)  # replica, wait, min, max, isolation
    body += struct.pack(">ih", 1, len(t)) + t
    body += struct.pack(">iiqi", 1, 0, 0, max_bytes)  # partition 0 from offset 0
    return frame(body)


@pytest.mark.parametrize("budget", ["sluice.connection.response.bytes.max",
                                    "sluice.response.bytes.max"])
def test_a_connection_that_does_not_read_stops_being_served(make_broker, budget):
    b = make_broker({budget: str(MIB // 2)})
    produce(b.bootstrap, "slow-reader", 60, size=400000)  # about 24 MB
    base_fds = fd_count(b)
    s = raw(b)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 40
    # 40 fetches of about 1 MB each from offset 0: far more than the
    # kernel's socket buffers take, so the rest queues in the broker.
    s.sendall(b"".join(fetch_v4(i, "slow-reader", MIB) for i in range(n)))
    for k in range(3):
        assert metadata_answered(b, 300 + k)  # a bystander is answered meanwhile
    # Each queued fetch response holds its segment part (a descriptor);
    # past 512 KiB queued the connection's next fetch waits, so a handful
    # are queued, not 40 (without the budget: 38 more descriptors).
    assert fd_count(b) - base_fds < 12, fd_count(b) - base_fds
    s.settimeout(30)
    for i in range(n):  # reading now: every one comes, in order
        body = recv_frame(s)
        assert struct.unpack(">i", body[:4])[0] == i
    s.close()


# --- partitions ---------------------------------------------------------------


def admin(b):
    return AdminClient({"bootstrap.servers": b.bootstrap})


def test_create_topics_over_the_partition_budgets_is_refused_with_the_name(make_broker):
    b = make_broker({"sluice.create.topics.partitions.max": "20",
                     "sluice.cluster.partitions.max": "60"})
    a = admin(b)
    fut = a.create_topics([NewTopic("too-many", 21, 1)], operation_timeout=10)["too-many"]
    with pytest.raises(Exception) as e:
        fut.result(30)
    err = e.value.args[0]
    assert err.code() == 44 or err.name() == "POLICY_VIOLATION", err
    assert "sluice.create.topics.partitions.max" in err.str()
    # The budget is the request's sum: 12 + 12 in one request is over it...
    futs = a.create_topics([NewTopic("ok-a", 12, 1), NewTopic("sum-over", 12, 1)],
                           operation_timeout=10)
    futs["ok-a"].result(30)
    with pytest.raises(Exception) as e:
        futs["sum-over"].result(30)
    assert "sluice.create.topics.partitions.max" in e.value.args[0].str()
    # ...and within it, requests one after another are fine...
    a.create_partitions([NewPartitions("ok-a", 20)])["ok-a"].result(30)
    a.create_topics([NewTopic("ok-b", 20, 1)], operation_timeout=10)["ok-b"].result(30)
    # ...then the cluster's budget (60, __consumer_offsets not created yet).
    fut = a.create_topics([NewTopic("ok-c", 19, 1)], operation_timeout=10)["ok-c"]
    fut.result(30)
    fut = a.create_topics([NewTopic("over-cluster", 2, 1)], operation_timeout=10)["over-cluster"]
    with pytest.raises(Exception) as e:
        fut.result(30)
    assert "sluice.cluster.partitions.max" in e.value.args[0].str()
    fut = a.create_partitions([NewPartitions("ok-a", 22)])["ok-a"]
    with pytest.raises(Exception) as e:
        fut.result(30)
    assert "sluice.cluster.partitions.max" in e.value.args[0].str()
    assert metadata_answered(b)


def metadata_v4(correlation, names, auto_create=True):
    body = header(3, 4, correlation) + struct.pack(">i", len(names))
    for n in names:
        body += struct.pack(">h", len(n)) + n.encode()
    return frame(body + struct.pack(">b", 1 if auto_create else 0))


def topic_errors_v4(body):
    """(name, error) of each topic in a Metadata v4 response."""
    r = memoryview(body)
    at = 4 + 4  # correlation, throttle
    (nb,) = struct.unpack_from(">i", r, at)
    at += 4
    for _ in range(nb):
        at += 4
        (hl,) = struct.unpack_from(">h", r, at)
        at += 2 + hl + 4
        (rl,) = struct.unpack_from(">h", r, at)
        at += 2 + (rl if rl > 0 else 0)
    (cl,) = struct.unpack_from(">h", r, at)
    at += 2 + (cl if cl > 0 else 0) + 4  # cluster id, controller
    (nt,) = struct.unpack_from(">i", r, at)
    at += 4
    out = []
    for _ in range(nt):
        err, nl = struct.unpack_from(">hh", r, at)
        at += 4
        name = bytes(r[at:at + nl]).decode()
        at += nl + 1  # is_internal
        (np_,) = struct.unpack_from(">i", r, at)
        at += 4
        for _ in range(np_):
            at += 2 + 4 + 4  # error, index, leader
            for _ in range(2):  # replicas, isr
                (k,) = struct.unpack_from(">i", r, at)
                at += 4 + 4 * k
        out.append((name, err))
    return out


def test_auto_create_is_bounded_per_request(make_broker):
    b = make_broker({"sluice.auto.create.topics.max.per.request": "5"})
    names = [f"auto-{i}" for i in range(40)]
    with raw(b, timeout=30) as s:
        s.sendall(metadata_v4(5, names))
        errs = dict(topic_errors_v4(recv_frame(s)))
    created = [n for n, e in errs.items() if e == 0]
    assert len(created) == 5, errs
    assert all(e == 3 for n, e in errs.items() if n not in created)  # UNKNOWN_TOPIC_OR_PARTITION
    assert "sluice.auto.create.topics.max.per.request=5" in log_text(b)
    assert metadata_answered(b)


# --- connections --------------------------------------------------------------


def api_versions_answered(s, correlation=1):
    try:
        s.sendall(frame(header(18, 0, correlation)))
        return struct.unpack(">i", recv_frame(s)[:4])[0] == correlation
    except (ConnectionError, OSError):
        return False


def open_answered(b, n):
    """n connections, each answered before the next opens: by the first
    answer the start-up probe's close has been read, so only these count."""
    kept = []
    for i in range(n):
        kept.append(raw(b))
        assert api_versions_answered(kept[-1], i)
    return kept


def test_max_connections_per_ip_refuses_the_next_and_logs_once(make_broker):
    b = make_broker({"max.connections.per.ip": "6"})
    kept = open_answered(b, 6)
    refused = [raw(b) for _ in range(5)]
    for s in refused:
        assert not api_versions_answered(s)
        s.close()
    assert log_text(b).count("max.connections.per.ip (6) reached") == 1
    kept.pop().close()
    for _ in range(200):  # the close reaches the broker; then one more fits
        s = raw(b)
        if api_versions_answered(s, 99):
            break
        s.close()
    else:
        raise AssertionError("a freed slot was never reused")
    assert "connections were refused at a connection limit" in log_text(b)
    s.close()
    for k in kept:
        k.close()


def test_max_connections_counts_every_client(make_broker):
    b = make_broker({"max.connections": "4"})
    kept = open_answered(b, 4)
    extra = raw(b)
    assert not api_versions_answered(extra)
    extra.close()
    assert "max.connections (4) reached" in log_text(b)
    for s in kept:
        s.close()


# --- the decompressed size of a produce ---------------------------------------


def crc32c(data):
    table = crc32c.table
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


crc32c.table = _crc_table()




def varint(n):
    return uvarint((n << 1) ^ (n >> 63))


def zstd_bomb_batch(inflated, declare_size=True):
    """A RecordBatch v2 of one record whose value is `inflated` zero bytes,
    zstd-compressed (a few KB)."""
    prefix = bytes([0]) + varint(0) + varint(0) + varint(-1)  # attrs, ts, offset, no key
    value_len = inflated - 64
    rec_body_len = len(prefix) + len(varint(value_len)) + value_len + 1  # + headers count
    out = []

    class Sink:
        def write(self, d):
            out.append(bytes(d))
            return len(d)

    total = len(varint(rec_body_len)) + rec_body_len
    cctx = zstandard.ZstdCompressor(level=3, write_content_size=declare_size)
    with cctx.stream_writer(Sink(), size=total if declare_size else -1, closefd=False) as w:
        w.write(varint(rec_body_len) + prefix + varint(value_len))
        chunk = b"\0" * MIB
        left = value_len
        while left > 0:
            w.write(chunk[:min(left, MIB)])
            left -= min(left, MIB)
        w.write(varint(0))
    records = b"".join(out)
    after_crc = struct.pack(">hiqqqhii", 4, 0, 0, 0, -1, -1, -1, 1) + records  # zstd, 1 record
    crc = crc32c(after_crc)
    body = struct.pack(">ib", 0, 2) + struct.pack(">I", crc) + after_crc  # epoch, magic
    return struct.pack(">qi", 0, len(body)) + body


def produce_v3(correlation, topic, batch):
    t = topic.encode()
    body = header(0, 3, correlation) + struct.pack(">hhi", -1, 1, 30000)
    body += struct.pack(">ih", 1, len(t)) + t + struct.pack(">ii", 1, 0)
    body += struct.pack(">i", len(batch)) + batch
    return frame(body)


def produce_error_v3(body):
    at = 4
    (nt,) = struct.unpack_from(">i", body, at)
    (nl,) = struct.unpack_from(">h", body, at + 4)
    at += 4 + 2 + nl + 4
    _, err = struct.unpack_from(">ih", body, at)
    return err


@pytest.mark.parametrize("declare_size", [True, False])
def test_zstd_bomb_to_a_gzip_topic_is_refused(make_broker, declare_size):
    b = make_broker()
    a = admin(b)
    a.create_topics([NewTopic("gz", 1, 1, config={"compression.type": "gzip"})],
                    operation_timeout=10)["gz"].result(30)
    batch = zstd_bomb_batch(200 * 1000 * 1000, declare_size)
    assert len(batch) < 64 * 1024  # a few KB on the wire
    before = rss_bytes(b)
    with raw(b, timeout=60) as s:
        s.sendall(produce_v3(9, "gz", batch))
        err = produce_error_v3(recv_frame(s))
    assert err == 10, err  # MESSAGE_TOO_LARGE
    assert "sluice.produce.decompressed.bytes.max" in log_text(b)
    # At most the budget (64 MiB) was ever inflated, never the 200 MB.
    if not SANITIZED:  # ASan's quarantine keeps the freed growth steps resident
        assert rss_bytes(b) - before < 64 * MIB + 16 * MIB
    produce(b.bootstrap, "gz", 5)  # the topic takes ordinary batches; nothing of the bomb is there
    assert consume_confluent(b.bootstrap, "gz", 5) == 5
