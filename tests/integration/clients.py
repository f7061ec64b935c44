"""Deterministic messages, produced with librdkafka (confluent-kafka) and read
back with confluent-kafka, kafka-python and kcat, all in assign mode."""
import subprocess

from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KTopicPartition

BASE_TS = 1_700_000_000_000
POLL_ROUNDS = 400  # bounded: each poll waits at most 1 s for data


def key(i):
    return b"key-%d" % i


PATTERN = bytes((j * 31 + 7) & 0xFF for j in range(256)) * 80  # 20 KiB


def value(i, size=100):
    """Starts with the index, then bytes that differ per message."""
    head = b"%d:" % i
    start = i % 251
    return (head + PATTERN[start:start + size])[:max(size, len(head))]


def headers(i):
    return [("idx", b"%d" % i)]


def produce(bootstrap, topic, n, acks="all", compression="none", size=100, partition=0,
            extra=None):
    conf = {"bootstrap.servers": bootstrap, "acks": acks, "compression.type": compression,
            "linger.ms": 5, "queue.buffering.max.messages": 1_000_000}
    conf.update(extra or {})
    p = Producer(conf)
    failed = []

    def report(err, msg):
        if err is not None:
            failed.append(err)

    for i in range(n):
        while True:
            try:
                p.produce(topic, key=key(i), value=value(i, size), headers=headers(i),
                          timestamp=BASE_TS + i, partition=partition, on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        if i % 10000 == 0:
            p.poll(0)
    left = p.flush(120)
    assert left == 0, f"{left} messages not delivered"
    assert not failed, failed[:5]


def check(i, k, v, hdrs, ts, size):
    assert k == key(i), (i, k)
    assert v == value(i, size), i
    assert list(hdrs or []) == headers(i), (i, hdrs)
    assert ts == BASE_TS + i, (i, ts)


def consume_confluent(bootstrap, topic, n, size=100, partition=0):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "it-assign",
                  "enable.auto.commit": False, "enable.partition.eof": False})
    c.assign([TopicPartition(topic, partition, 0)])
    got = 0
    for _ in range(POLL_ROUNDS):
        if got >= n:
            break
        for m in c.consume(10000, timeout=1.0):
            assert m.error() is None, m.error()
            check(got, m.key(), m.value(), m.headers(), m.timestamp()[1], size)
            assert m.offset() == got
            got += 1
    c.close()
    return got


def consume_kafka_python(bootstrap, topic, n, size=100, partition=0):
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      consumer_timeout_ms=10000, api_version_auto_timeout_ms=10000)
    tp = KTopicPartition(topic, partition)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = 0
    for m in c:
        check(got, m.key, m.value, [(k, v) for k, v in m.headers], m.timestamp, size)
        got += 1
        if got >= n:
            break
    c.close()
    return got


def consume_kcat(bootstrap, topic, n, size=100, partition=0):
    out = subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-p", str(partition), "-C",
                          "-o", "beginning", "-e", "-q", "-c", str(n), "-f", "%k\t%T\t%o\n"],
                         capture_output=True, timeout=120, check=True).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        k, ts, off = line.split(b"\t")
        assert (k, int(ts), int(off)) == (key(i), BASE_TS + i, i), line
    return len(lines)
