"""Data on disk: clean restarts, kill -9, and retention."""
import os
import time

from confluent_kafka import Consumer, TopicPartition

from clients import consume_confluent, produce

POLL_ATTEMPTS = 100  # x 100 ms while waiting for the retention check to run


def test_clean_restart_keeps_everything(make_broker):
    b = make_broker()
    produce(b.bootstrap, "durable", 30_000, acks="all")
    assert b.stop() == 0, b.log_tail()
    assert "shut down cleanly" in b.log_tail()
    with open(os.path.join(b.log_dirs, "recovery-point-offset-checkpoint")) as f:
        assert "durable 0 30000" in f.read()
    b.start()
    assert consume_confluent(b.bootstrap, "durable", 30_000) == 30_000
    produce_more = 10
    produce(b.bootstrap, "other", produce_more)
    assert b.stop() == 0


def test_kill_9_loses_no_acknowledged_write(make_broker):
    b = make_broker()
    produce(b.bootstrap, "crash", 50_000, acks="all")
    b.kill9()
    b.start()
    assert consume_confluent(b.bootstrap, "crash", 50_000) == 50_000
    # And the log keeps working after recovery.
    produce(b.bootstrap, "crash", 10, acks="all", partition=0)
    assert b.stop() == 0


def test_torn_tail_is_truncated_on_start(make_broker):
    b = make_broker()
    produce(b.bootstrap, "torn", 1_000, acks="all")
    b.kill9()
    seg = os.path.join(b.log_dirs, "torn-0", "00000000000000000000.log")
    with open(seg, "ab") as f:
        f.write(b"\x00" * 8 + b"\x00\x00\x10\x00" + b"garbage")  # a batch that never finished
    b.start()
    # KRaft mode: the log opens (and is recovered) once the metadata log's
    # replay names its topic, shortly after the port opens.
    for _ in range(POLL_ATTEMPTS):
        if "truncating" in b.log_tail():
            break
        time.sleep(0.1)
    assert "truncating" in b.log_tail()
    assert consume_confluent(b.bootstrap, "torn", 1_000) == 1_000
    produce(b.bootstrap, "torn", 5, acks="all")
    assert b.stop() == 0


def earliest_offset(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    low, _ = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    return low


def test_retention_deletes_old_segments(make_broker):
    b = make_broker({"log.segment.bytes": "16384", "log.retention.bytes": "32768",
                     "log.retention.check.interval.ms": "200"})
    # Each batch must fit a segment, as in Kafka (RECORD_LIST_TOO_LARGE otherwise).
    produce(b.bootstrap, "ret", 3_000, size=200, extra={"batch.size": 8000})
    part = os.path.join(b.log_dirs, "ret-0")

    def log_bytes():
        return sum(os.path.getsize(os.path.join(part, f)) for f in os.listdir(part)
                   if f.endswith(".log"))

    # Retention runs every 200 ms and may take several passes: wait for all
    # three conditions, not for the first segment to go.
    for _ in range(POLL_ATTEMPTS):
        segs = [f for f in os.listdir(part) if f.endswith(".log")]
        if (earliest_offset(b.bootstrap, "ret") > 0 and "00000000000000000000.log" not in segs
                and log_bytes() <= 32768 + 16384):
            break
        time.sleep(0.1)
    low = earliest_offset(b.bootstrap, "ret")
    assert low > 0
    assert "00000000000000000000.log" not in os.listdir(part)
    assert log_bytes() <= 32768 + 16384
    assert b.stop() == 0


def test_fsync_before_ack_mode(make_broker):
    """flush.messages=1: acknowledged means on disk (group commit)."""
    b = make_broker({"log.flush.interval.messages": "1"})
    produce(b.bootstrap, "synced", 5_000, acks="all")
    b.kill9()
    b.start()
    assert consume_confluent(b.bootstrap, "synced", 5_000) == 5_000
    assert b.stop() == 0
