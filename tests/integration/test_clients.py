"""Real Kafka clients against a real sluice: librdkafka produces, three
different client libraries read back byte-identical messages."""
import subprocess

import pytest

from clients import consume_confluent, consume_kafka_python, consume_kcat, produce


def test_kcat_lists_the_broker(broker):
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-L"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    assert f"broker 1 at 127.0.0.1:{broker.port}" in out
    assert "(controller)" in out


@pytest.mark.parametrize("acks", ["1", "all"])
def test_100k_messages_read_back_by_three_clients(broker, acks):
    n = 100_000
    topic = f"big-acks-{acks}"
    produce(broker.bootstrap, topic, n, acks=acks)
    assert consume_confluent(broker.bootstrap, topic, n) == n
    assert consume_kafka_python(broker.bootstrap, topic, n) == n
    assert consume_kcat(broker.bootstrap, topic, n) == n


@pytest.mark.parametrize("acks", ["1", "all"])
@pytest.mark.parametrize("compression", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches(broker, acks, compression):
    n = 20_000
    topic = f"c-{compression}-{acks}"
    produce(broker.bootstrap, topic, n, acks=acks, compression=compression, size=300)
    assert consume_confluent(broker.bootstrap, topic, n, size=300) == n
    assert consume_kafka_python(broker.bootstrap, topic, n, size=300) == n


def test_topic_compression_type_recompresses(make_broker):
    """compression.type=gzip (the users' config): batches are stored as gzip
    whatever the producer used, and read back the same."""
    b = make_broker({"compression.type": "gzip"})
    n = 5_000
    produce(b.bootstrap, "recompressed", n, compression="lz4")
    assert consume_confluent(b.bootstrap, "recompressed", n) == n
    with open(f"{b.log_dirs}/recompressed-0/00000000000000000000.log", "rb") as f:
        first = f.read(61)
    assert first[16] == 2                      # magic
    assert int.from_bytes(first[21:23], "big") & 7 == 1  # gzip


def test_acks_zero_is_stored(broker):
    n = 2_000
    produce(broker.bootstrap, "acks0", n, acks="0")
    assert consume_confluent(broker.bootstrap, "acks0", n) == n


def test_list_offsets_by_time_earliest_latest(broker):
    from confluent_kafka import Consumer, TopicPartition

    from clients import BASE_TS
    n = 3_000
    produce(broker.bootstrap, "times", n, compression="zstd")
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "t"})
    assert c.get_watermark_offsets(TopicPartition("times", 0), timeout=10) == (0, n)
    for i in (0, 1, 1234, n - 1):
        found = c.offsets_for_times([TopicPartition("times", 0, BASE_TS + i)], timeout=10)
        assert found[0].offset == i, (i, found[0].offset)
    past_end = c.offsets_for_times([TopicPartition("times", 0, BASE_TS + n + 5)], timeout=10)
    assert past_end[0].offset == -1
    c.close()
