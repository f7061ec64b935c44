"""A combined KRaft node leading many partitions restarts and serves them
all. Its re-registration and its unfencing are each one change carrying a
record per partition it leads (in KIP-868 transaction markers), and a
topic's creation one record per partition: 600 partitions once overflowed
the raft core's fixed 512-entry in-memory log, so the change was refused
and the node stayed fenced with every partition leaderless."""
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TOPICS = 3  # of 200 partitions: each creation fitted even the old log
PARTITIONS = 200
GUARD_S = 180  # a hang guard, not a speed test: a fenced node never gets there


def wait_served(b, topics, partitions):
    """Polls Metadata until the node lists itself and every partition of
    the topics has it as leader; returns the last metadata seen."""
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "probe"})
    md = None
    try:
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            try:
                md = c.list_topics(timeout=5)
            except KafkaException:  # a node still starting may not answer yet
                time.sleep(0.1)
                continue
            ts = [md.topics.get(t) for t in topics]
            if 1 in md.brokers and all(
                    t is not None and t.error is None and len(t.partitions) == partitions
                    and all(p.leader == 1 for p in t.partitions.values()) for t in ts):
                return md
            time.sleep(0.1)
    finally:
        c.close()
    return md


def assert_served(b, topics, partitions, round_no):
    md = wait_served(b, topics, partitions)
    assert md is not None, "no metadata\n" + b.log_tail()
    assert 1 in md.brokers, "node not unfenced\n" + b.log_tail()
    for topic in topics:
        parts = md.topics[topic].partitions
        assert len(parts) == partitions
        leaderless = sorted(i for i, p in parts.items() if p.leader != 1)
        assert leaderless == [], f"{topic}: {len(leaderless)} leaderless\n" + b.log_tail()
    # Every partition accepts a produce (a fenced broker's would not).
    errors = []
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})
    for topic in topics:
        for i in range(partitions):
            p.produce(topic, value=b"r%d-p%d" % (round_no, i), partition=i,
                      on_delivery=lambda err, msg: errors.append(err) if err else None)
            p.poll(0)
    assert p.flush(60) == 0
    assert errors == []
    # Nothing acknowledged is lost across the restarts: one record a round.
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "probe"})
    for topic in topics:
        for i in (0, partitions - 1):
            assert c.get_watermark_offsets(TopicPartition(topic, i), timeout=30) == (0, round_no + 1)
    c.close()


def restart(b, how):
    if how == "sigterm":
        assert b.stop(timeout=60) == 0
    else:
        b.kill9()
    b.start()


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_node_leading_600_partitions_reregisters_after_restart(make_broker, how):
    b = make_broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    names = [f"wide{i}" for i in range(TOPICS)]
    for name in names:  # one at a time: three changes of 200 records
        admin.create_topics([NewTopic(name, num_partitions=PARTITIONS,
                                      replication_factor=1)])[name].result(timeout=120)
    assert_served(b, names, PARTITIONS, 0)
    for round_no in (1, 2):
        restart(b, how)
        assert_served(b, names, PARTITIONS, round_no)
        assert "does not fit the metadata log" not in b.log_tail(400)
    assert b.stop() == 0


def test_one_topic_of_1000_partitions_is_created_and_survives_a_restart(make_broker):
    # One change of 1000 PartitionRecords (sluice.create.topics.partitions.max)
    # in KIP-868 markers: the core's in-memory log grows (doubling) to hold
    # it beside the retained tail.
    b = make_broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic("wider", num_partitions=1000,
                                  replication_factor=1)])["wider"].result(timeout=120)
    assert_served(b, ["wider"], 1000, 0)
    restart(b, "kill9")
    assert_served(b, ["wider"], 1000, 1)
    assert b.stop() == 0
