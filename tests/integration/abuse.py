"""What a hostile or careless client does (issue 13's table, plus slow
writers and connection floods), over raw sockets, shared by the abuse suite
(test_abuse.py) and `make bench`'s abuse figures (bench/abuse.py). Each
function does the abuse and returns what the abuser saw; none asserts."""
import os
import socket
import struct
import time

from test_limits import (MIB, fetch_v4, frame, header, metadata_v4, produce_error_v3,
                         produce_v3, recv_frame, send_some, topic_errors_v4,
                         zstd_bomb_batch)


def create_topics_v2(correlation, topics, timeout_ms=60000):
    """CreateTopics v2 of (name, partitions) with replication factor 1."""
    body = header(19, 2, correlation) + struct.pack(">i", len(topics))
    for name, partitions in topics:
        n = name.encode()
        body += struct.pack(">h", len(n)) + n + struct.pack(">ihii", partitions, 1, 0, 0)
    return frame(body + struct.pack(">ib", timeout_ms, 0))


def create_topics_errors_v2(body):
    """(name, error, message) of each topic of a CreateTopics v2 response."""
    at = 4 + 4  # correlation, throttle
    (n,) = struct.unpack_from(">i", body, at)
    at += 4
    out = []
    for _ in range(n):
        (nl,) = struct.unpack_from(">h", body, at)
        name = body[at + 2:at + 2 + nl].decode()
        at += 2 + nl
        err, ml = struct.unpack_from(">hh", body, at)
        at += 4
        msg = body[at:at + ml].decode() if ml >= 0 else None
        at += max(ml, 0)
        out.append((name, err, msg))
    return out


def api_versions_once(s, correlation):
    s.sendall(frame(header(18, 0, correlation)))
    body = recv_frame(s)
    return struct.unpack(">i", body[:4])[0] == correlation


def fresh_client_answered(port, correlation=7):
    """A new connection's ApiVersions, then Metadata (every topic)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        if not api_versions_once(s, correlation):
            return False
        s.sendall(frame(header(3, 0, correlation + 1) + struct.pack(">i", 0)))
        return struct.unpack(">i", recv_frame(s)[:4])[0] == correlation + 1


# --- the rows -----------------------------------------------------------------


def big_create_topics(port, partitions, name="wide"):
    """One CreateTopics of `partitions` partitions; (error, message)."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        s.sendall(create_topics_v2(1, [(name, partitions)], timeout_ms=300000))
        (_, err, msg), = create_topics_errors_v2(recv_frame(s))
    return err, msg


def auto_create_flood(port, count, prefix="auto"):
    """One Metadata v4 naming `count` unknown topics, auto-create on;
    {name: error}."""
    names = [f"{prefix}-{i}" for i in range(count)]
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        s.sendall(metadata_v4(5, names))
        return dict(topic_errors_v4(recv_frame(s)))


def fetch_never_read(port, topic, conns_n, fetches=40, max_bytes=MIB):
    """conns_n connections pipelining Fetches of `topic` and never reading;
    returns the sockets (close them to end it)."""
    out = []
    for _ in range(conns_n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        send_some(s, b"".join(fetch_v4(i, topic, max_bytes) for i in range(fetches)))
        out.append(s)
    return out


def big_frame_claims(port, conns_n, claimed=100 * MIB, sent=8 * MIB):
    """conns_n connections each sending `sent` bytes of a Produce frame that
    claims `claimed`; returns the sockets (never completed)."""
    out = []
    for i in range(conns_n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(struct.pack(">i", claimed) + header(0, 3, i))
        send_some(s, b"\0" * sent)
        out.append(s)
    return out


def zstd_bomb(port, topic, inflated=200 * 1000 * 1000):
    """One small zstd batch inflating to `inflated` bytes; the partition's
    error code."""
    batch = zstd_bomb_batch(inflated)
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        s.sendall(produce_v3(9, topic, batch))
        return produce_error_v3(recv_frame(s))


def recompress(bootstrap, topic, mib):
    """One uncompressed record of `mib` MiB (a quarter varied bytes, the
    rest zeros) to a topic whose compression.type makes the broker
    compress it; the delivery error, or None."""
    from confluent_kafka import Producer
    value = (os.urandom(4096) * (mib * MIB // 4 // 4096 + 1))[:mib * MIB // 4]
    value += b"\0" * (mib * MIB - 1024 - len(value))
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "none",
                  "message.max.bytes": mib * MIB + MIB, "acks": 1, "linger.ms": 0})
    errors = []
    p.produce(topic, value, on_delivery=lambda err, msg: errors.append(err))
    p.flush(300)
    return errors[0] if errors else "not delivered"


def repeats_batch(mib, block_kib=512):
    """A zstd RecordBatch of one record: a random block repeated up to `mib`
    MiB. zstd's window sees the repeats (the batch is about one block), a
    gzip window (32 KiB) does not: recompressing it for a gzip topic costs
    what compressing `mib` MiB of random bytes does."""
    import zstandard
    from test_limits import crc32c, varint
    block = os.urandom(block_kib * 1024)
    value_len = mib * MIB - 64
    prefix = bytes([0]) + varint(0) + varint(0) + varint(-1)
    body_len = len(prefix) + len(varint(value_len)) + value_len + 1
    value = (block * (value_len // len(block) + 1))[:value_len]
    raw_records = varint(body_len) + prefix + varint(value_len) + value + varint(0)
    records = zstandard.ZstdCompressor(level=3).compress(raw_records)
    after_crc = struct.pack(">hiqqqhii", 4, 0, 0, 0, -1, -1, -1, 1) + records
    body = struct.pack(">ib", 0, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def produce_batch(port, topic, batch):
    """One Produce v3 of `batch`; the partition's error code."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        s.sendall(produce_v3(9, topic, batch))
        return produce_error_v3(recv_frame(s))


def slow_writers(port, conns_n, seconds):
    """conns_n connections each sending an ApiVersions frame one byte at a
    time, a byte per connection per round, for about `seconds`; the count of
    answers they got (each completed frame is answered)."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(conns_n)]
    req = frame(header(18, 0, 1))
    answered = 0
    end = time.monotonic() + seconds
    at = 0
    while time.monotonic() < end:
        for s in conns:
            s.sendall(req[at:at + 1])
        at += 1
        if at == len(req):
            for s in conns:
                answered += api_versions_once_reply(s, 1)
            at = 0
        time.sleep(0.002)
    for s in conns:
        s.close()
    return answered


def api_versions_once_reply(s, correlation):
    body = recv_frame(s)
    return 1 if struct.unpack(">i", body[:4])[0] == correlation else 0


def connection_flood(port, count):
    """`count` connections opened as fast as possible and kept; returns them
    (the ones the kernel accepted; the broker may close those past its
    limits)."""
    out = []
    for _ in range(count):
        try:
            out.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        except OSError:
            break
    return out
