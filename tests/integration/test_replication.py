"""Partition replication between three real bin/sluice processes (KRaft
voters 1-3, each a broker too): a topic of 6 partitions and replication
factor 3, produced to with librdkafka (confluent_kafka), which sends each
partition's records to its leader. Each follower copies its leaders' logs
through its replica fetchers (Fetch with ReplicaId, OffsetForLeaderEpoch
first), so every partition's segment files end byte-identical on the three
nodes: same offsets, leader epochs and CRCs.

The second test kill -9s partition 0's leader while an idempotent acks=all
producer runs (min.insync.replicas=2) and restarts it: every acknowledged
message is read back once, at its acknowledged offset, in order, and the
restarted node rejoins the ISR (issue 10, item 10)."""
import os
import subprocess
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import SLUICECTL, stop_all, trio

TOPIC = "test-topic"
PARTITIONS = 6
RECORDS = 3000
WAIT_ROUNDS = 600  # x 50 ms




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
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


# ---- kill -9 of a partition leader under an acks=all producer (issue 10, item 10) ----

RATE_PAUSE_S = 0.002  # pacing: one message per partition every 2 ms
ACK_WAIT_S = 120  # bounds on the waits below (conditions, not sleeps)
FIRST_ACKS = 600  # acknowledged before the kill
AFTER_ACKS = 600  # partition-0 acknowledgements after the restart, before stopping
POLL_ROUNDS = 600  # consumer: each poll waits at most 1 s


def kill_value(i):
    return b"k%09d" % i


class PacedProducer:
    """librdkafka at acks=all with idempotence, producing numbered messages
    (message i to partition i % 6) at a steady pace on its own thread, and
    recording every delivery report with the moment it arrived."""

    def __init__(self, bootstrap):
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "enable.idempotence": True, "linger.ms": 2,
                           "message.timeout.ms": 300_000, "retry.backoff.ms": 50,
                           "reconnect.backoff.max.ms": 200, "topic.metadata.refresh.interval.ms": 1000})
        self.cond = threading.Condition()
        self.acked = []  # (monotonic s, partition, offset, value)
        self.failed = []
        self.sent_at = {}  # i -> monotonic s when handed to librdkafka
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def report(self, err, msg):
        now = time.monotonic()
        with self.cond:
            if err is not None:
                self.failed.append((msg.partition(), msg.value(), err))
            else:
                self.acked.append((now, msg.partition(), msg.offset(), msg.value()))
            self.cond.notify_all()

    def run(self):
        i = 0
        while not self.stop.is_set():
            for _ in range(PARTITIONS):
                while True:
                    try:
                        self.sent_at[i] = time.monotonic()
                        self.p.produce(TOPIC, value=kill_value(i), partition=i % PARTITIONS,
                                       on_delivery=self.report)
                        break
                    except BufferError:
                        self.p.poll(0.05)
                i += 1
            self.sent = i
            self.p.poll(0)
            time.sleep(RATE_PAUSE_S)
        self.left = self.p.flush(ACK_WAIT_S)

    def wait_for(self, pred, what):
        """Until pred(acked) holds, bounded by ACK_WAIT_S."""
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self.acked) or self.failed, ACK_WAIT_S):
                raise AssertionError(f"producer: no {what} within {ACK_WAIT_S} s "
                                     f"({len(self.acked)} acknowledged)")
            assert not self.failed, self.failed[:5]
            return pred(self.acked)


def partition0(nodes, alive):
    """Partition 0's (leader, replicas, isr) as a live node's Metadata shows it."""
    for b in nodes:
        if not alive(b):
            continue
        try:
            md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(TOPIC, timeout=5)
            t = md.topics.get(TOPIC)
            if t is not None and t.error is None and 0 in t.partitions:
                p = t.partitions[0]
                return p.leader, list(p.replicas), list(p.isrs)
        except Exception:  # a node not answering Metadata right now
            pass
    return None


def wait_partition0(nodes, alive, pred, what):
    seen = None
    deadline = time.monotonic() + ACK_WAIT_S
    while time.monotonic() < deadline:
        seen = partition0(nodes, alive)
        if seen is not None and pred(seen):
            return seen, time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"partition 0 never {what} (last seen {seen}):\n" +
                         "\n".join(b.log_tail(20) for b in nodes))


def active_controller(nodes):
    """The quorum's leader as `sluicectl metadata-quorum describe --status`
    reports it, or None (for the report only)."""
    r = subprocess.run([SLUICECTL, "metadata-quorum", "--bootstrap-controller",
                        ",".join(f"127.0.0.1:{b.controller_port}" for b in nodes),
                        "describe", "--status"], capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines():
        k, _, v = line.partition(":")
        if k.strip() == "LeaderId":
            return int(v)
    return None


def consume_partitions(bootstrap, ends):
    """Every record of each partition from offset 0 up to its end offset."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kill-check",
                  "enable.auto.commit": False, "enable.partition.eof": False})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    got = {p: [] for p in range(PARTITIONS)}
    for _ in range(POLL_ROUNDS):
        if all((got[p][-1][0] + 1 if got[p] else 0) >= ends[p] for p in range(PARTITIONS)):
            break
        for m in c.consume(num_messages=10_000, timeout=1):
            assert m.error() is None, m.error()
            got[m.partition()].append((m.offset(), m.value()))
    # Nothing past what was acknowledged either: each high watermark is there.
    highs = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
             for p in range(PARTITIONS)}
    c.close()
    return got, highs


def test_acks_all_survive_leader_kill_9():
    nodes = trio()
    producer = None
    try:
        for b in nodes:
            b.start()
        wait_registered(nodes)
        admin = AdminClient({"bootstrap.servers": nodes[0].bootstrap})
        futures = admin.create_topics(
            [NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3,
                      config={"min.insync.replicas": "2"})], operation_timeout=20)
        futures[TOPIC].result(timeout=30)
        wait_topic(nodes)
        every = lambda b: b.alive()  # noqa: E731
        (leader, _, _), _ = wait_partition0(nodes, every, lambda s: len(s[2]) == 3,
                                            "had a full ISR")
        victim = nodes[leader - 1]

        producer = PacedProducer(",".join(b.bootstrap for b in nodes))
        producer.thread.start()
        producer.wait_for(lambda a: len(a) >= FIRST_ACKS, f"{FIRST_ACKS} acknowledgements")

        controller = active_controller(nodes)
        killed_at = time.monotonic()
        victim.kill9()
        (new_leader, _, shrunk), elected_at = wait_partition0(
            nodes, every, lambda s: s[0] > 0 and s[0] != leader, "got a new leader")
        # The fenced node left the ISR with its leadership (KIP-841), and
        # min.insync.replicas=2 still holds.
        assert leader not in shrunk and len(shrunk) == 2, shrunk

        def p0_after_kill(acked):
            # Acknowledged again: a partition-0 message handed over after the kill.
            return next((t for t, p, _, v in acked
                         if p == 0 and producer.sent_at[int(v[1:])] > killed_at), None)

        acked_again_at = producer.wait_for(p0_after_kill, "partition-0 acknowledgement after the kill")

        victim.start()
        survivors = lambda b: b is not victim  # noqa: E731
        (_, replicas, isr), rejoined_at = wait_partition0(
            nodes, survivors, lambda s: len(s[2]) == 3, "had its ISR back to 3 replicas")
        assert sorted(isr) == sorted(replicas) and leader in isr
        base = sum(1 for a in producer.acked if a[1] == 0)
        producer.wait_for(lambda a: sum(1 for x in a if x[1] == 0) >= base + AFTER_ACKS // PARTITIONS,
                          "partition-0 acknowledgements after the restart")
        producer.stop.set()
        producer.thread.join(ACK_WAIT_S + 10)
        assert not producer.thread.is_alive()
        assert producer.left == 0 and not producer.failed, (producer.left, producer.failed[:5])

        acked = {p: sorted((o, v) for _, q, o, v in producer.acked if q == p)
                 for p in range(PARTITIONS)}
        # Every message handed over was acknowledged (idempotence: once each).
        assert sorted(int(v[1:]) for _, _, _, v in producer.acked) == list(range(producer.sent))
        ends = {p: acked[p][-1][0] + 1 for p in range(PARTITIONS)}
        got, highs = consume_partitions(nodes[0].bootstrap, ends)
        assert highs == ends, (highs, ends)
        for p in range(PARTITIONS):
            # Exactly what was acknowledged, at the acknowledged offsets, and
            # in the order the producer sent it.
            assert got[p] == acked[p], (p, len(got[p]), len(acked[p]))
            values = [int(v[1:]) for _, v in got[p]]
            assert values == sorted(values) and all(v % PARTITIONS == p for v in values), p
            assert [o for o, _ in got[p]] == list(range(len(got[p]))), p

        role = "it was also" if controller == leader else f"node {controller} was"
        print(f"\npartition 0 leader: node {leader} killed ({role} the active controller), "
              f"node {new_leader} elected with ISR {shrunk}; "
              f"node {leader} back in the ISR {isr} {rejoined_at - killed_at:.2f} s after the kill")
        print(f"leader election as Metadata shows it: {elected_at - killed_at:.3f} s")
        print(f"partition-0 produce unavailability (kill to first acknowledgement of a "
              f"message sent after it): {acked_again_at - killed_at:.3f} s")
        print(f"acknowledged: {len(producer.acked)} messages "
              f"({[len(acked[p]) for p in range(PARTITIONS)]} per partition)")
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        if producer is not None and producer.thread.is_alive():
            producer.stop.set()
            producer.thread.join(ACK_WAIT_S + 10)
        for b in nodes:
            if b.alive():
                b.kill9()
