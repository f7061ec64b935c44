"""DeleteRecords (API 21, KIP-107) on three real bin/sluice processes with
replication factor 3. Neither Debian 12's confluent-kafka (1.7) nor its
kafka-python (2.0.2) has delete_records, so the test sends the request
itself (v1, and v2 flexible). The leader moves the log start below offset
N and answers once every replica's log start (from its Fetch) has passed
N; consumers from the beginning start at N; after the leader is killed,
ListOffsets earliest on the new leader says N and every record at or above
N is still there."""
import socket
import struct
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import stop_all
from conftest import trio
from test_replication import wait_registered

TOPIC = "dr-topic"
RECORDS = 300
DELETE_BELOW = 120
WAIT_S = 60  # bound on the condition waits below

NONE, OFFSET_OUT_OF_RANGE, NOT_LEADER_OR_FOLLOWER = 0, 1, 6


def _string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _uvarint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def _read_uvarint(buf, at):
    n, shift = 0, 0
    while True:
        byte = buf[at]
        at += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, at
        shift += 7


def delete_records(bootstrap, partition, offset, version=1, timeout_ms=30000):
    """One DeleteRecords request for TOPIC/partition; (error, low_watermark)."""
    flexible = version >= 2
    header = struct.pack(">hhi", 21, version, 7) + _string("it-delete")
    name = TOPIC.encode()
    if flexible:
        header += b"\x00"  # tagged fields
        body = (_uvarint(2) + _uvarint(len(name) + 1) + name + _uvarint(2) +
                struct.pack(">iq", partition, offset) + b"\x00" + b"\x00" +
                struct.pack(">i", timeout_ms) + b"\x00")
    else:
        body = (struct.pack(">i", 1) + _string(TOPIC) + struct.pack(">i", 1) +
                struct.pack(">iq", partition, offset) + struct.pack(">i", timeout_ms))
    frame = header + body
    host, port = bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT_S) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", _recv(s, 4))[0]
        resp = _recv(s, size)
    at = 4  # correlation id
    if flexible:
        at += 1  # response header v1: tagged fields
    at += 4  # throttle_time_ms
    if flexible:
        _, at = _read_uvarint(resp, at)
        n, at = _read_uvarint(resp, at)
        at += n - 1
        _, at = _read_uvarint(resp, at)
    else:
        at += 4
        n = struct.unpack_from(">h", resp, at)[0]
        at += 2 + n + 4
    index, low, error = struct.unpack_from(">iqh", resp, at)
    assert index == partition
    return error, low


def _recv(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, "connection closed"
        out += chunk
    return out


def leader_of(nodes, skip=None):
    """Partition 0's leader as a live node's Metadata says, or None."""
    for b in nodes:
        if b is skip or not b.alive():
            continue
        try:
            md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(TOPIC, timeout=5)
            t = md.topics.get(TOPIC)
            if t is not None and t.error is None and 0 in t.partitions:
                return t.partitions[0].leader
        except Exception:  # not answering Metadata right now
            pass
    return None


def wait_leader(nodes, pred, what):
    deadline = time.monotonic() + WAIT_S
    seen = None
    while time.monotonic() < deadline:
        seen = leader_of(nodes)
        if seen is not None and pred(seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"partition 0 never {what} (last {seen}):\n" +
                         "\n".join(b.log_tail(20) for b in nodes))


def read_all(bootstrap):
    """Every record of partition 0 from the beginning up to RECORDS."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "dr-check",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, 0, -2)])  # OFFSET_BEGINNING: ListOffsets earliest
    got = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and (not got or got[-1][0] < RECORDS - 1):
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append((m.offset(), m.value()))
    c.close()
    return got


def test_delete_records_moves_the_start_on_every_replica():
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        wait_registered(nodes)
        admin = AdminClient({"bootstrap.servers": nodes[0].bootstrap})
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3,
                                      config={"min.insync.replicas": "2"})],
                            operation_timeout=20)[TOPIC].result(timeout=30)
        leader_id = wait_leader(nodes, lambda l: l > 0, "had a leader")
        producer = Producer({"bootstrap.servers": ",".join(b.bootstrap for b in nodes),
                             "acks": "all", "linger.ms": 5})
        errors = []
        for i in range(RECORDS):
            producer.produce(TOPIC, value=b"v%05d" % i, partition=0,
                             on_delivery=lambda err, msg: err and errors.append(err))
        assert producer.flush(WAIT_S) == 0 and errors == []
        leader = nodes[leader_id - 1]
        follower = next(b for b in nodes if b is not leader)
        # Only the leader deletes; past the high watermark is out of range.
        assert delete_records(follower.bootstrap, 0, DELETE_BELOW)[0] == NOT_LEADER_OR_FOLLOWER
        assert delete_records(leader.bootstrap, 0, RECORDS + 1)[0] == OFFSET_OUT_OF_RANGE
        # The answer comes once all three replicas start at DELETE_BELOW.
        assert delete_records(leader.bootstrap, 0, DELETE_BELOW) == (NONE, DELETE_BELOW)
        # Again with v2 (flexible): nothing moves, the same low watermark.
        assert delete_records(leader.bootstrap, 0, DELETE_BELOW - 1, version=2) == \
            (NONE, DELETE_BELOW)
        c = Consumer({"bootstrap.servers": leader.bootstrap, "group.id": "dr-wm"})
        assert c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10) == \
            (DELETE_BELOW, RECORDS)
        c.close()
        got = read_all(leader.bootstrap)
        assert [o for o, _ in got] == list(range(DELETE_BELOW, RECORDS))
        # The leader goes; a follower, which adopted the start, takes over.
        leader.kill9()
        new_id = wait_leader(nodes, lambda l: l > 0 and l != leader_id, "moved")
        new_leader = nodes[new_id - 1]
        c = Consumer({"bootstrap.servers": new_leader.bootstrap, "group.id": "dr-wm2"})
        low, high = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
        c.close()
        assert (low, high) == (DELETE_BELOW, RECORDS)
        got = read_all(new_leader.bootstrap)
        assert [o for o, _ in got] == list(range(DELETE_BELOW, RECORDS))
        assert [v for _, v in got] == [b"v%05d" % i for i in range(DELETE_BELOW, RECORDS)]
        live = [b for b in nodes if b.alive()]
        assert stop_all(live) == [0] * len(live)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()
