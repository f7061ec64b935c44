"""The abuse suite (issue 13, item 4): each row of the issue's table, plus
slow readers, slow writers and connection floods, against a real bin/sluice
over real sockets. Each asserts behaviour, never timing: a fresh client's
ApiVersions and Metadata are answered while (or right after) the abuse goes
on, resident memory and descriptors stay under the configured budgets,
nothing acknowledged is lost, and the limit is named in the error or the
log. `make bench` prints the figures (bystander's wait, peak RSS and
descriptors) for the same rows (bench/abuse.py).

Rows of the table and where they are:
  CreateTopics of 10,000 partitions      test_create_topics_of_10000_partitions
  Metadata naming 3,000 unknown topics   test_metadata_naming_3000_unknown_topics
  Fetch pipelined, never read (8 / 20)   test_pipelined_fetches_never_read
  100 frames claiming 100 MB             test_frames_claiming_100_mb
  zstd bomb to a gzip topic              test_limits.py::test_zstd_bomb_to_a_gzip_topic_is_refused
"""
import socket
import struct

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from abuse import (api_versions_once, auto_create_flood, big_create_topics, big_frame_claims,
                   create_topics_errors_v2, create_topics_v2, fetch_never_read)
from clients import consume_confluent, produce
from conftest import SANITIZED
from test_limits import MIB, READ_BUF, fd_count, frame, header, log_text, recv_frame, rss_bytes

# Descriptors a broker holds besides its client sockets and segment files:
# listeners, epoll, the metadata log, the reserve, stdio and the like.
OWN_FDS = 64
SEGMENT_FDS = 3  # .log, .index, .timeindex (log/segment_cache.h)


def fresh_client_answered(b, source="127.0.0.1"):
    """A new connection (from `source`) gets ApiVersions, then Metadata of
    every topic (what `kcat -L` asks)."""
    s = socket.create_connection(("127.0.0.1", b.port), timeout=60, source_address=(source, 0))
    with s:
        if not api_versions_once(s, 21):
            return False
        s.sendall(frame(header(3, 0, 22) + struct.pack(">i", 0)))
        return struct.unpack(">i", recv_frame(s)[:4])[0] == 22


def acknowledged(b, topic, n=200):
    """n records acknowledged (acks=all) before the abuse, counted after."""
    produce(b.bootstrap, topic, n)
    return n


def fds_bound(open_segments_max, connections):
    return OWN_FDS + SEGMENT_FDS * open_segments_max + connections


# --- CreateTopics -------------------------------------------------------------


def test_create_topics_of_10000_partitions(make_broker):
    b = make_broker({"sluice.open.segments.max": "64"})
    kept = acknowledged(b, "kept")
    err, msg = big_create_topics(b.port, 10000)
    assert err == 44, (err, msg)  # POLICY_VIOLATION, naming the budget
    assert "sluice.create.topics.partitions.max" in msg
    assert fresh_client_answered(b)
    # Within the budget (and what one metadata-log change holds), the
    # partitions are created, in slices between other requests; the
    # segment cache keeps the descriptors under its limit.
    with socket.create_connection(("127.0.0.1", b.port), timeout=120) as s:
        s.sendall(create_topics_v2(2, [("wide", 400)], timeout_ms=120000))
        assert [r[:2] for r in create_topics_errors_v2(recv_frame(s))] == [("wide", 0)]
    assert fresh_client_answered(b)
    assert fd_count(b) < fds_bound(64, 8), fd_count(b)
    produce(b.bootstrap, "wide", 50, partition=399)  # the last partition takes records
    assert consume_confluent(b.bootstrap, "wide", 50, partition=399) == 50
    assert consume_confluent(b.bootstrap, "kept", kept) == kept


# --- auto-creation ------------------------------------------------------------


def test_metadata_naming_3000_unknown_topics(make_broker):
    b = make_broker()
    kept = acknowledged(b, "kept")
    before = fd_count(b)
    errs = auto_create_flood(b.port, 3000)
    created = [n for n, e in errs.items() if e == 0]
    assert len(created) == 10, len(created)  # sluice.auto.create.topics.max.per.request
    assert all(e == 3 for n, e in errs.items() if n not in created)
    assert "sluice.auto.create.topics.max.per.request=10" in log_text(b)
    assert fresh_client_answered(b)  # `kcat -L` from a fresh client
    assert fd_count(b) < before + 16, (before, fd_count(b))
    assert consume_confluent(b.bootstrap, "kept", kept) == kept


# --- slow readers -------------------------------------------------------------


@pytest.mark.parametrize("conns_n", [8, 20])
def test_pipelined_fetches_never_read(make_broker, monkeypatch, conns_n):
    """The table's slow readers: connections pipelining Fetch and never
    reading. Their queued responses reference the open segment (no
    descriptor each), past sluice.connection.response.bytes.max they stop
    being read, none is reset, and each gets every answer in order once it
    reads."""
    monkeypatch.setenv("SLUICE_LOG_LEVEL", "debug")  # the wait is a debug line
    b = make_broker({"sluice.connection.response.bytes.max": str(MIB // 2)})
    produce(b.bootstrap, "fetched", 60, size=20000)
    base = fd_count(b)
    fetches = 40
    conns = fetch_never_read(b.port, "fetched", conns_n, fetches=fetches)
    assert fresh_client_answered(b)
    assert fd_count(b) < base + conns_n + 16, (base, fd_count(b))
    assert "sluice.connection.response.bytes.max" in log_text(b)
    for s in conns:
        s.settimeout(60)
        for i in range(fetches):  # not reset: every answer comes, in order
            assert struct.unpack(">i", recv_frame(s)[:4])[0] == i
        s.close()
    assert consume_confluent(b.bootstrap, "fetched", 60, size=20000) == 60


# --- slow writers -------------------------------------------------------------


def test_slow_writers_hold_no_more_than_their_read_buffers(make_broker):
    """50 connections each sending one ApiVersions frame a byte at a time,
    round robin: a fresh client is answered between their bytes, each slow
    frame is answered once complete, and the broker holds about a read
    buffer per connection."""
    b = make_broker()
    conns_n = 50
    before = rss_bytes(b)
    conns = [socket.create_connection(("127.0.0.1", b.port), timeout=30) for _ in range(conns_n)]
    req = frame(header(18, 0, 5, b"slow-writer"))
    for at in range(len(req)):
        for s in conns:
            s.sendall(req[at:at + 1])
        if at % 8 == 0:
            assert fresh_client_answered(b)
    for s in conns:
        assert struct.unpack(">i", recv_frame(s)[:4])[0] == 5
        s.close()
    if not SANITIZED:
        assert rss_bytes(b) - before < conns_n * READ_BUF + 16 * MIB
    assert b.alive()


# --- big frames ---------------------------------------------------------------


def test_frames_claiming_100_mb(make_broker):
    """The table's row at its size: 100 connections each sending 8 MB of a
    frame that claims 100 MB. queued.max.request.bytes (100 MiB) bounds
    what is held while they send and what is left after they close."""
    b = make_broker()
    kept = acknowledged(b, "kept")
    before = rss_bytes(b)
    conns = big_frame_claims(b.port, 100)
    assert fresh_client_answered(b)
    budget = 100 * MIB
    if not SANITIZED:
        assert rss_bytes(b) - before < budget + 100 * READ_BUF + 16 * MIB
    for s in conns:
        s.close()
    for _ in range(3):  # the closes reach the loop, waiting frames see EOF
        assert fresh_client_answered(b)
    if not SANITIZED:
        assert rss_bytes(b) - before < budget + 16 * MIB
    assert consume_confluent(b.bootstrap, "kept", kept) == kept


# --- connection floods --------------------------------------------------------


def test_connection_flood_is_refused_past_the_limit_and_logged(make_broker):
    """3,000 connections from one address against max.connections.per.ip
    of 500: the broker keeps at most 500 (its descriptors say so), names the
    limit in its log, and a client from another address is answered
    meanwhile; once the flood goes, the address is served again."""
    limit = 500
    b = make_broker({"max.connections.per.ip": str(limit)})
    kept = acknowledged(b, "kept")
    flood = []
    for _ in range(3000):
        try:
            flood.append(socket.create_connection(("127.0.0.1", b.port), timeout=30))
        except OSError:
            break
    assert fresh_client_answered(b, source="127.0.0.2")
    assert fd_count(b) < OWN_FDS + limit + 16, fd_count(b)
    assert f"max.connections.per.ip ({limit}) reached" in log_text(b)
    for s in flood:
        s.close()
    for _ in range(200):  # the closes reach the broker; then the address is served
        try:
            if fresh_client_answered(b):
                break
        except (ConnectionError, OSError):
            continue
    else:
        raise AssertionError("the flooding address was never served again")
    assert consume_confluent(b.bootstrap, "kept", kept) == kept


def test_metadata_answered_with_descriptors_short(make_broker):
    """A broker whose segments outnumber its open-segment budget still
    answers a fresh client (the table's `kcat -L` that failed)."""
    b = make_broker({"sluice.open.segments.max": "8"})
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    a.create_topics([NewTopic("many", 200, 1)], operation_timeout=60)["many"].result(120)
    produce(b.bootstrap, "many", 20, partition=150)
    assert fresh_client_answered(b)
    assert fd_count(b) < fds_bound(8, 8), fd_count(b)
    assert consume_confluent(b.bootstrap, "many", 20, partition=150) == 20


# --- recompression ------------------------------------------------------------


def test_a_large_batch_recompressed_in_slices_is_stored_whole(make_broker):
    """A small zstd batch holding 8 MiB (a 512 KiB random block repeated)
    sent to a compression.type=gzip topic: recompressed a slice per turn
    while a fresh client is answered, then acknowledged, and read back whole."""
    from confluent_kafka import Consumer, TopicPartition

    from abuse import produce_batch, repeats_batch
    b = make_broker()
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    a.create_topics([NewTopic("gz", 1, 1, config={"compression.type": "gzip",
                                                   "max.message.bytes": str(2 * MIB)})],
                    operation_timeout=30)["gz"].result(60)
    batch = repeats_batch(8)
    assert len(batch) < 2 * MIB
    assert produce_batch(b.port, "gz", batch) == 0
    assert fresh_client_answered(b)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "abuse",
                  "enable.auto.commit": False, "fetch.max.bytes": 64 * MIB,
                  "max.partition.fetch.bytes": 64 * MIB, "receive.message.max.bytes": 80 * MIB})
    c.assign([TopicPartition("gz", 0, 0)])
    got = None
    for _ in range(60):  # bounded polls, each waits for data
        m = c.poll(1.0)
        if m is not None:
            assert m.error() is None, m.error()
            got = m
            break
    c.close()
    assert got is not None and got.offset() == 0
    value = got.value()
    assert len(value) == 8 * MIB - 64
    block = value[:512 * 1024]
    assert value == (block * 17)[:len(value)]


def test_a_recompression_abandoned_mid_way_appends_nothing(make_broker):
    """The producer's connection closes while its batch (60 MiB of repeats
    in a small zstd batch) is being inflated and recompressed a slice per
    turn for a gzip topic: the broker says so in its log, and nothing of
    it is appended; the partition then takes a batch at offset 0."""
    import time

    from confluent_kafka import Consumer, TopicPartition

    from abuse import produce_batch, repeats_batch
    from test_limits import produce_v3
    b = make_broker()
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    a.create_topics([NewTopic("gzc", 1, 1, config={"compression.type": "gzip"})],
                    operation_timeout=30)["gzc"].result(60)
    with socket.create_connection(("127.0.0.1", b.port), timeout=60) as s:
        s.sendall(produce_v3(9, "gzc", repeats_batch(60)))
    for _ in range(600):  # bounded polls of the log, not a timing threshold
        if "produce abandoned" in log_text(b):
            break
        time.sleep(0.1)
    assert "produce abandoned" in log_text(b), b.log_tail()
    small = repeats_batch(1, block_kib=64)
    assert produce_batch(b.port, "gzc", small) == 0
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "abandoned"})
    low, high = c.get_watermark_offsets(TopicPartition("gzc", 0), timeout=30)
    c.close()
    assert (low, high) == (0, 1)  # only the small one
