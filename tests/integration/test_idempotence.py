"""The idempotent producer (KIP-98) with real clients: InitProducerId on the
wire, and librdkafka (confluent-kafka) with enable.idempotence=true producing
through kill -9 and restarts of a broker that fsyncs before it acknowledges:
every message is read back exactly once, in order."""
import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

N = 20_000
KILLS = 3
POLL_ROUNDS = 600  # bounded: each poll waits at most 1 s
FLUSH = {"log.flush.interval.messages": "1"}


def value(i):
    return b"m%08d" % i


# ---- InitProducerId on the wire ----

def request(port, api_key, version, body, correlation=11, flexible=False):
    """One request, its response body (after the correlation id and, for a
    flexible version, the header's empty tagged fields)."""
    head = struct.pack(">hhih", api_key, version, correlation, 3) + b"raw"
    if flexible:
        head += b"\x00"
    frame = head + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", recv_exactly(s, 4))[0]
        resp = recv_exactly(s, size)
    assert struct.unpack(">i", resp[:4])[0] == correlation
    return resp[5:] if flexible else resp[4:]


def recv_exactly(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, "connection closed"
        out += chunk
    return out


def init_producer_id(port, version, transactional_id=None, producer_id=-1, epoch=-1):
    """InitProducerId: (error, producer id, epoch)."""
    flexible = version >= 2
    if transactional_id is None:
        tid = b"\x00" if flexible else struct.pack(">h", -1)
    else:
        raw = transactional_id.encode()
        tid = bytes([len(raw) + 1]) + raw if flexible else struct.pack(">h", len(raw)) + raw
    body = tid + struct.pack(">i", 60000)
    if version >= 3:
        body += struct.pack(">qh", producer_id, epoch)
    if flexible:
        body += b"\x00"
    resp = request(port, 22, version, body, flexible=flexible)
    _, error, pid, pepoch = struct.unpack(">ihqh", resp[:16])
    return error, pid, pepoch


def test_init_producer_id_versions(make_broker):
    b = make_broker()
    seen = set()
    for version in range(0, 6):
        error, pid, epoch = init_producer_id(b.port, version)
        assert (error, epoch) == (0, 0), version
        assert pid >= 0 and pid not in seen
        seen.add(pid)
    # KIP-360: our id and epoch come back with the next epoch.
    error, pid, epoch = init_producer_id(b.port, 4)
    assert init_producer_id(b.port, 4, producer_id=pid, epoch=epoch) == (0, pid, epoch + 1)
    # An id this cluster never handed out gets a new one; one of the two alone
    # is malformed (Kafka: INVALID_REQUEST).
    error, other, epoch = init_producer_id(b.port, 4, producer_id=10**12, epoch=3)
    assert error == 0 and other not in seen and epoch == 0
    assert init_producer_id(b.port, 4, producer_id=pid, epoch=-1)[0] == 42
    # No transactions: TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53).
    assert init_producer_id(b.port, 4, transactional_id="tx")[0] == 53
    assert init_producer_id(b.port, 0, transactional_id="tx")[0] == 53
    # Ids are never handed out twice, across a restart either.
    b.kill9()
    b.start()
    error, after, _ = init_producer_id(b.port, 4)
    assert error == 0 and after > max(seen | {other})
    assert b.stop() == 0


# ---- librdkafka through kill -9 ----

def consume_all(bootstrap, topic, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "idem",
                  "enable.auto.commit": False, "enable.partition.eof": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(POLL_ROUNDS):
        if len(got) >= n:
            break
        for m in c.consume(num_messages=10_000, timeout=1):
            assert m.error() is None, m.error()
            got.append((m.offset(), m.value()))
    # Anything past n would be a duplicate: look a little longer.
    for m in c.consume(num_messages=1000, timeout=2):
        if m.error() is None:
            got.append((m.offset(), m.value()))
    c.close()
    return got


def kill_and_restart(broker, p, acked, log):
    """kill -9 the broker while sends are in flight (librdkafka's own threads
    keep retrying them), leave it down for a moment, restart it."""
    p.poll(0)
    broker.kill9()
    log.append(len(acked))
    time.sleep(0.3)  # the outage the retries live through, not a wait on state
    broker.start()


def test_librdkafka_idempotent_producer_through_kill_9(make_broker):
    b = make_broker(FLUSH)
    topic = "idem"
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True,
                  "linger.ms": 2, "batch.num.messages": 200, "message.timeout.ms": 120_000,
                  "retry.backoff.ms": 50, "reconnect.backoff.max.ms": 200})
    acked, failed = [], []

    def report(err, msg):
        if err is not None:
            failed.append(err)
        else:
            acked.append((int(msg.value()[1:]), msg.offset()))

    # The kills come at fixed points of the send loop (each after a further
    # share of the messages was handed to the producer), so there are always
    # KILLS of them, each with sends in flight.
    kill_at = {k * N // (KILLS + 1) for k in range(1, KILLS + 1)}
    kills = []
    for i in range(N):
        if i in kill_at:
            kill_and_restart(b, p, acked, kills)
        while True:
            try:
                p.produce(topic, value=value(i), partition=0, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        if i % 200 == 0:
            p.poll(0)
    left = p.flush(180)
    assert len(kills) == KILLS, kills
    assert left == 0 and not failed, (left, failed[:5])
    assert sorted(i for i, _ in acked) == list(range(N))
    offsets = dict(acked)
    # Exactly once, in order: message i at offset i, as acknowledged.
    got = consume_all(b.bootstrap, topic, N)
    assert [v for _, v in got] == [value(i) for i in range(N)]
    assert [o for o, _ in got] == list(range(N))
    assert all(offsets[i] == i for i in range(N))
    assert b.stop() == 0


def test_kafka_python_idempotent_producer(make_broker):
    """kafka-python learned enable_idempotence after 2.0.2; where it has it,
    the same run through a kill -9 must store each message once."""
    from kafka import KafkaProducer
    b = make_broker(FLUSH)
    try:
        p = KafkaProducer(bootstrap_servers=b.bootstrap, enable_idempotence=True, acks="all")
    except (AssertionError, TypeError) as e:  # 2.0.2: "Unrecognized configs"
        pytest.skip(f"kafka-python has no idempotent producer: {e}")
    n = 2000
    futures = [p.send("kp-idem", value=value(i), partition=0) for i in range(n // 2)]
    p.flush(60)
    b.kill9()
    b.start()
    futures += [p.send("kp-idem", value=value(i), partition=0) for i in range(n // 2, n)]
    p.flush(120)
    assert [f.get(timeout=60).offset for f in futures] == list(range(n))
    p.close()
    got = consume_all(b.bootstrap, "kp-idem", n)
    assert [v for _, v in got] == [value(i) for i in range(n)]
    assert b.stop() == 0
