"""Partition replication between three real bin/sluice processes (KRaft
voters 1-3, each a broker too): a topic of 6 partitions and replication
factor 3, produced to with librdkafka (confluent_kafka), which sends each
partition's records to its leader. Each follower copies its leaders' logs
through its replica fetchers (Fetch with ReplicaId, OffsetForLeaderEpoch
first), so every partition's segment files end byte-identical on the three
nodes: same offsets, leader epochs and CRCs."""
import os
import tempfile
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import CLUSTER_ID, Broker

TOPIC = "test-topic"
PARTITIONS = 6
RECORDS = 3000
WAIT_ROUNDS = 600  # x 50 ms


def trio():
    nodes = [Broker(tempfile.mkdtemp(prefix="sluice-it-")) for _ in range(3)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{b.controller_port}" for i, b in enumerate(nodes))
    for i, b in enumerate(nodes):
        with open(b.config, "a") as f:  # later lines win
            f.write(f"node.id={i + 1}\ncontroller.quorum.voters={voters}\n"
                    f"cluster.id={CLUSTER_ID}\n")
    return nodes


def wait_registered(nodes):
    """Until every node's Metadata lists all three brokers (KIP-631)."""
    for _ in range(WAIT_ROUNDS):
        try:
            if all(len(AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=5)
                       .brokers) == 3 for b in nodes):
                return
        except Exception:  # a node not serving Metadata yet
            pass
        time.sleep(0.05)
    raise AssertionError("the brokers never all registered:\n" +
                         "\n".join(b.log_tail(15) for b in nodes))


def wait_topic(nodes):
    """Until every node's Metadata names a leader for every partition."""
    for _ in range(WAIT_ROUNDS):
        ok = True
        for b in nodes:
            md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(TOPIC, timeout=5)
            t = md.topics.get(TOPIC)
            ok = ok and t is not None and t.error is None and len(t.partitions) == PARTITIONS \
                and all(p.leader > 0 and len(p.replicas) == 3 for p in t.partitions.values())
        if ok:
            return
        time.sleep(0.05)
    raise AssertionError("the topic never had leaders everywhere:\n" +
                         "\n".join(b.log_tail(15) for b in nodes))


def partition_bytes(b, p):
    """The concatenated segment files of partition p on node b, by name."""
    d = os.path.join(b.log_dirs, f"{TOPIC}-{p}")
    out = b""
    for name in sorted(os.listdir(d)):
        if name.endswith(".log"):
            with open(os.path.join(d, name), "rb") as f:
                out += f.read()
    return out


def wait_same_logs(nodes):
    """Until each partition's segments are the same bytes on every node."""
    seen = None
    for _ in range(WAIT_ROUNDS):
        seen = [[len(partition_bytes(b, p)) for b in nodes] for p in range(PARTITIONS)]
        if all(len(set(partition_bytes(b, p) for b in nodes)) == 1 for p in range(PARTITIONS)):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the replicas' logs never matched (sizes {seen}):\n" +
                         "\n".join(b.log_tail(15) for b in nodes))


def test_followers_hold_the_leaders_bytes():
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        wait_registered(nodes)
        admin = AdminClient({"bootstrap.servers": nodes[0].bootstrap})
        futures = admin.create_topics(
            [NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3)],
            operation_timeout=20)
        futures[TOPIC].result(timeout=30)
        wait_topic(nodes)
        producer = Producer({"bootstrap.servers": ",".join(b.bootstrap for b in nodes),
                             "acks": "all", "linger.ms": 5})
        errors = []
        for i in range(RECORDS):
            producer.produce(TOPIC, key=str(i).encode(), value=f"value-{i}".encode(),
                             partition=i % PARTITIONS,
                             on_delivery=lambda err, msg: err and errors.append(err))
            producer.poll(0)
        assert producer.flush(60) == 0
        assert errors == []
        sizes = wait_same_logs(nodes)
        # Every partition got its share, and it is on all three nodes.
        assert all(s[0] > 0 for s in sizes), sizes
        print(f"segment bytes per partition and node: {sizes}")
        for b in nodes:
            assert b.stop() == 0
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()
