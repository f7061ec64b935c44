"""A million messages in, a million out (the issue's 'done when')."""
from confluent_kafka import Consumer, TopicPartition

from clients import produce


def test_one_million_messages(broker):
    n = 1_000_000
    produce(broker.bootstrap, "million", n, acks="1", size=100, extra={"linger.ms": 20})
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "m",
                  "enable.auto.commit": False, "fetch.max.bytes": 52428800})
    c.assign([TopicPartition("million", 0, 0)])
    seen = 0
    expected_offset = 0
    for _ in range(2000):
        if seen >= n:
            break
        for m in c.consume(100000, timeout=1.0):
            assert m.error() is None
            assert m.offset() == expected_offset
            assert m.value().startswith(b"%d:" % expected_offset)
            expected_offset += 1
            seen += 1
    c.close()
    assert seen == n
