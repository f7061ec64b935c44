"""KIP-455 partition reassignment between three real bin/sluice processes
(KRaft voters 1-3, each a broker too). Neither Python client here can ask
for it (confluent-kafka 2.0.2 and kafka-python 2.0.2 have no
alter_partition_reassignments), so the test speaks AlterPartitionReassignments
(API 45) and ListPartitionReassignments (API 46) v0 itself, to a broker that
need not be the active controller (it forwards the call).

A partition on brokers [1,2] moves to [2,3] while librdkafka produces to it
at acks=all: broker 3 copies the log, joins the ISR, the move completes (the
replica set becomes [2,3], broker 1 deletes its copy), and every
acknowledged message is read back at its offset. Bad requests get Kafka's
error codes and change nothing."""
import os
import socket
import struct
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import stop_all, trio
from kwire import compact_string as compact_str, read_uvarint, uvarint
from test_replication import wait_registered

TOPIC = "moving"
WAIT_ROUNDS = 600  # x 50 ms: bounds on waits for a condition
BATCH = 1500
ERR_INVALID_REPLICA_ASSIGNMENT = 39
ERR_NO_REASSIGNMENT_IN_PROGRESS = 85


# ---- the wire (flexible versions: compact strings and arrays, tagged fields) ----







def call(bootstrap, api_key, body):
    """One v0 request (header v2) and the response body after header v1."""
    host, port = bootstrap.split(":")
    header = struct.pack(">hhih", api_key, 0, 7, 4) + b"test" + b"\x00"
    frame = header + body
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = b""
        while len(size) < 4:
            size += s.recv(4 - len(size))
        (n,) = struct.unpack(">i", size)
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            assert chunk, "connection closed mid-response"
            data += chunk
    (corr,) = struct.unpack(">i", data[:4])
    assert corr == 7
    _, at = read_uvarint(data, 4)  # no response header tags
    return data, at


def read_compact_str(buf, at):
    n, at = read_uvarint(buf, at)
    if n == 0:
        return None, at
    return buf[at:at + n - 1].decode(), at + n - 1


def alter_reassignments(bootstrap, partition, replicas):
    """{partition: (error_code, message)} of AlterPartitionReassignments v0;
    replicas None cancels."""
    reps = b"\x00" if replicas is None else uvarint(len(replicas) + 1) + b"".join(
        struct.pack(">i", r) for r in replicas)
    part = struct.pack(">i", partition) + reps + b"\x00"
    topic = compact_str(TOPIC) + uvarint(2) + part + b"\x00"
    body = struct.pack(">i", 30000) + uvarint(2) + topic + b"\x00"
    data, at = call(bootstrap, 45, body)
    _, top_error = struct.unpack(">ih", data[at:at + 6])
    at += 6
    _, at = read_compact_str(data, at)
    assert top_error == 0
    out = {}
    topics, at = read_uvarint(data, at)
    for _ in range(topics - 1):
        name, at = read_compact_str(data, at)
        assert name == TOPIC
        parts, at = read_uvarint(data, at)
        for _ in range(parts - 1):
            index, code = struct.unpack(">ih", data[at:at + 6])
            at += 6
            message, at = read_compact_str(data, at)
            _, at = read_uvarint(data, at)
            out[index] = (code, message)
        _, at = read_uvarint(data, at)
    return out


def list_reassignments(bootstrap):
    """{(topic, partition): (replicas, adding, removing)} in progress."""
    body = struct.pack(">i", 30000) + b"\x00" + b"\x00"  # topics null: all
    data, at = call(bootstrap, 46, body)
    _, error = struct.unpack(">ih", data[at:at + 6])
    assert error == 0
    at += 6
    _, at = read_compact_str(data, at)
    out = {}
    topics, at = read_uvarint(data, at)
    for _ in range(topics - 1):
        name, at = read_compact_str(data, at)
        parts, at = read_uvarint(data, at)
        for _ in range(parts - 1):
            (index,) = struct.unpack(">i", data[at:at + 4])
            at += 4
            lists = []
            for _ in range(3):
                n, at = read_uvarint(data, at)
                lists.append(list(struct.unpack(f">{n - 1}i", data[at:at + 4 * (n - 1)])))
                at += 4 * (n - 1)
            _, at = read_uvarint(data, at)
            out[(name, index)] = tuple(lists)
        _, at = read_uvarint(data, at)
    return out


# ---- the cluster ----

def replicas_everywhere(nodes):
    """The partition's replica list as each node's Metadata shows it."""
    seen = []
    for b in nodes:
        md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(TOPIC, timeout=5)
        t = md.topics.get(TOPIC)
        seen.append(sorted(t.partitions[0].replicas) if t and 0 in t.partitions else None)
    return seen


def wait_for(pred, what, nodes):
    for _ in range(WAIT_ROUNDS):
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}\n" + "\n".join(b.log_tail(20) for b in nodes))


def produce(producer, start, count, acked):
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[msg.value()] = msg.offset()

    for i in range(start, start + count):
        while True:
            try:
                producer.produce(TOPIC, value=b"m%08d" % i, partition=0, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(120) == 0
    assert errors == [], errors[:5]


def read_all(bootstrap, expected):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reassign-check",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = {}
    for _ in range(600):
        if len(got) >= expected:
            break
        for m in c.consume(500, timeout=1.0):
            if m.error() is None:
                got[m.value()] = m.offset()
    c.close()
    return got


def test_a_partition_moves_from_brokers_1_2_to_2_3_under_acks_all():
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        wait_registered(nodes)
        admin = AdminClient({"bootstrap.servers": nodes[0].bootstrap})
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replica_assignment=[[1, 2]])],
                            operation_timeout=20)[TOPIC].result(timeout=30)
        wait_for(lambda: replicas_everywhere(nodes) == [[1, 2]] * 3, "the topic on [1,2]", nodes)
        producer = Producer({"bootstrap.servers": ",".join(b.bootstrap for b in nodes),
                             "acks": "all", "enable.idempotence": True, "linger.ms": 5,
                             "topic.metadata.refresh.interval.ms": 1000})
        acked = {}
        produce(producer, 0, BATCH, acked)

        # Bad requests: Kafka's codes, nothing changes.
        assert alter_reassignments(nodes[2].bootstrap, 0, [2, 9])[0][0] == \
            ERR_INVALID_REPLICA_ASSIGNMENT
        assert alter_reassignments(nodes[1].bootstrap, 0, [2, 2])[0][0] == \
            ERR_INVALID_REPLICA_ASSIGNMENT
        assert alter_reassignments(nodes[0].bootstrap, 0, None)[0][0] == \
            ERR_NO_REASSIGNMENT_IN_PROGRESS
        assert replicas_everywhere(nodes) == [[1, 2]] * 3

        # The move, asked of brokers 3 and 2 (at least one of them is not the
        # active controller and forwards it; the second ask finds the move
        # under way or done and changes nothing).
        assert alter_reassignments(nodes[2].bootstrap, 0, [2, 3]) == {0: (0, None)}
        assert alter_reassignments(nodes[1].bootstrap, 0, [2, 3]) == {0: (0, None)}
        produce(producer, BATCH, BATCH, acked)  # during and after the move
        wait_for(lambda: replicas_everywhere(nodes) == [[2, 3]] * 3, "the partition on [2,3]",
                 nodes)
        wait_for(lambda: list_reassignments(nodes[0].bootstrap) == {}, "no move listed", nodes)
        wait_for(lambda: not os.path.exists(os.path.join(nodes[0].log_dirs, f"{TOPIC}-0")),
                 "broker 1 deleting its copy", nodes)
        assert os.path.isdir(os.path.join(nodes[2].log_dirs, f"{TOPIC}-0"))
        produce(producer, 2 * BATCH, BATCH, acked)  # led from [2,3] now

        got = read_all(nodes[1].bootstrap, len(acked))
        missing = [v for v in acked if got.get(v) != acked[v]]
        assert len(acked) == 3 * BATCH
        assert missing == [], f"{len(missing)} acknowledged messages not at their offsets"
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()
