"""Consumer groups with real clients on one bin/sluice: librdkafka
(confluent-kafka) and kafka-python members of `test-group` split
test-topic's 6 partitions while a member of another group reads everything;
a member killed without leaving loses its partitions to the others after
its session timeout; committed offsets survive a kill -9 of the broker;
kcat -G; ListGroups and DescribeGroups through both admin clients; the
cooperative-sticky assignor; a static member's restart without a
rebalance; on three brokers, a kill -9 of the group's coordinator that two
librdkafka members ride out without a rebalance, their commits answered by
the next coordinator.

Waits are bounded polling rounds of the clients themselves (poll timeouts),
never sleeps; the one figure measured (the rebalance after a kill) is
printed, not asserted against a threshold."""
import os
import signal
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

TOPIC = "test-topic"
PARTITIONS = 6
N = 600
SESSION_MS = 6000  # group.min.session.timeout.ms: the fastest a kill is noticed
ROUNDS = 600  # x up to 0.1 s polls: about a minute at most
BROKER = {"num.partitions": str(PARTITIONS), "group.initial.rebalance.delay.ms": "0"}

MEMBER_SCRIPT = r"""
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "session.timeout.ms": int(sys.argv[3]), "heartbeat.interval.ms": 500,
              "auto.offset.reset": "earliest", "partition.assignment.strategy": "range"})
c.subscribe([sys.argv[4]])
last = None
while True:
    c.poll(0.1)
    now = sorted(p.partition for p in c.assignment())
    if now != last:
        print(" ".join(map(str, now)) or "-", flush=True)
        last = now
"""


def value(i):
    return b"v%05d" % i


def produce(bootstrap, start, count):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + count):
        p.produce(TOPIC, value(i), partition=i % PARTITIONS)
    assert p.flush(30) == 0


def rdkafka_member(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
            "auto.offset.reset": "earliest", "partition.assignment.strategy": "range"}
    conf.update(extra)
    c = Consumer(conf)
    c.subscribe([TOPIC])
    return c


class PythonMember(threading.Thread):
    """A kafka-python 2.0.2 member, polled on its own thread (its poll
    blocks while it joins)."""

    def __init__(self, bootstrap, group):
        super().__init__(daemon=True)
        from kafka import KafkaConsumer
        self.consumer = KafkaConsumer(
            TOPIC, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
            session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500,
            api_version_auto_timeout_ms=10000)
        self.values = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.assignment = []

    def run(self):
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=100).values():
                with self.lock:
                    self.values += [r.value for r in records]
            with self.lock:
                self.assignment = sorted(tp.partition for tp in self.consumer.assignment())
        self.consumer.close()

    def partitions(self):
        with self.lock:
            return list(self.assignment)


def assignments(consumers):
    return [sorted(p.partition for p in c.assignment()) for c in consumers]


def split_evenly(parts):
    flat = sorted(p for ps in parts for p in ps)
    return flat == list(range(PARTITIONS)) and all(len(ps) == PARTITIONS // len(parts)
                                                   for ps in parts)


def test_members_split_and_another_group_reads_everything(make_broker):
    b = make_broker(BROKER)
    produce(b.bootstrap, 0, N)
    rd = [rdkafka_member(b.bootstrap, "test-group") for _ in range(2)]
    py = PythonMember(b.bootstrap, "test-group")
    py.start()
    other = rdkafka_member(b.bootstrap, "other-group")
    seen = {id(c): [] for c in rd + [other]}
    try:
        for _ in range(ROUNDS):
            for c in rd + [other]:
                for m in c.consume(num_messages=500, timeout=0.05):
                    if not m.error():
                        seen[id(c)].append(m.value())
            parts = assignments(rd) + [py.partitions()]
            with py.lock:
                py_values = list(py.values)
            group_values = set(seen[id(rd[0])] + seen[id(rd[1])] + py_values)
            if (split_evenly(parts) and len(set(seen[id(other)])) == N
                    and len(group_values) == N):
                break
        parts = assignments(rd) + [py.partitions()]
        # Queue semantics: each partition has one owner in the group, two each.
        assert split_evenly(parts), parts
        # Every value reached the group, and the other group read everything.
        assert group_values == {value(i) for i in range(N)}
        assert set(seen[id(other)]) == {value(i) for i in range(N)}
        assert len(seen[id(other)]) == N  # alone in its group: nothing twice
        # Both admin clients see the groups as a coordinator reports them.
        groups = {g.id: g for g in AdminClient({"bootstrap.servers": b.bootstrap})
                  .list_groups(timeout=10)}
        assert groups["test-group"].state == "Stable"
        assert groups["test-group"].protocol_type == "consumer"
        assert groups["test-group"].protocol == "range"
        assert len(groups["test-group"].members) == 3
        assert len(groups["other-group"].members) == 1
        from kafka import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        listed = dict(admin.list_consumer_groups())
        assert listed.get("test-group") == "consumer" and "other-group" in listed
        described = admin.describe_consumer_groups(["test-group"])[0]
        assert described.state == "Stable" and len(described.members) == 3
        # Kafka's clientHost: "/" and the member's address.
        assert {m.client_host for m in described.members} == {"/127.0.0.1"}
        admin.close()
    finally:
        py.stop.set()
        py.join(30)
        for c in rd + [other]:
            c.close()


def test_killed_member_partitions_move_after_its_session(make_broker):
    b = make_broker(BROKER)
    produce(b.bootstrap, 0, 60)
    proc = subprocess.Popen([sys.executable, "-c", MEMBER_SCRIPT, b.bootstrap, "test-group",
                             str(SESSION_MS), TOPIC], stdout=subprocess.PIPE, text=True)
    survivor = rdkafka_member(b.bootstrap, "test-group")
    try:
        theirs = []
        for _ in range(ROUNDS):
            survivor.poll(0.1)
            mine = assignments([survivor])[0]
            if len(mine) == PARTITIONS // 2:
                break
        assert len(mine) == PARTITIONS // 2, mine
        line = proc.stdout.readline().split()
        while len(line) != PARTITIONS // 2:
            line = proc.stdout.readline().split()
        theirs = sorted(int(x) for x in line)
        assert sorted(mine + theirs) == list(range(PARTITIONS))
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)  # no LeaveGroup: only its session ends it
        proc.wait()
        for _ in range(ROUNDS):
            survivor.poll(0.1)
            if assignments([survivor])[0] == list(range(PARTITIONS)):
                break
        moved_s = time.monotonic() - killed_at
        assert assignments([survivor])[0] == list(range(PARTITIONS))
        print(f"rebalance after a kill: partitions moved in {moved_s:.2f} s "
              f"(session.timeout.ms {SESSION_MS})")
    finally:
        if proc.poll() is None:
            proc.kill()
        survivor.close()


def consume_all(bootstrap, group, expect, commit):
    c = rdkafka_member(bootstrap, group, **{"enable.auto.commit": False})
    got = []
    try:
        for _ in range(ROUNDS):
            got += [m.value() for m in c.consume(num_messages=500, timeout=0.1)
                    if not m.error()]
            if len(got) >= expect:
                break
        if commit:
            c.commit(asynchronous=False)
    finally:
        c.close()
    return got


def test_committed_offsets_survive_a_broker_kill(make_broker):
    b = make_broker(BROKER)
    produce(b.bootstrap, 0, N)
    first = consume_all(b.bootstrap, "test-group", N, commit=True)
    assert sorted(first) == [value(i) for i in range(N)]
    b.kill9()
    b.start()
    produce(b.bootstrap, N, 60)
    again = consume_all(b.bootstrap, "test-group", 60, commit=False)
    # It resumes at the commit: only the new values, none of the old.
    assert sorted(again) == [value(i) for i in range(N, N + 60)]


def test_kcat_group_consumer(make_broker):
    b = make_broker(BROKER)
    produce(b.bootstrap, 0, N)
    out = subprocess.run(["kcat", "-b", b.bootstrap, "-G", "kcat-group", TOPIC, "-e", "-q",
                          "-X", "auto.offset.reset=earliest"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == [value(i).decode() for i in range(N)]
    groups = {g.id: g for g in AdminClient({"bootstrap.servers": b.bootstrap})
              .list_groups(timeout=10)}
    assert groups["kcat-group"].state == "Empty"  # it left when done


def settle(consumers, done, rounds=ROUNDS):
    """Polls every consumer until done(assignments) holds; returns them."""
    parts = assignments(consumers)
    for _ in range(rounds):
        for c in consumers:
            c.poll(0.05)
        parts = assignments(consumers)
        if done(parts):
            break
    return parts


def test_cooperative_sticky_members_split(make_broker):
    """librdkafka's cooperative-sticky assignor (KIP-429): incremental
    rebalances through the same JoinGroup and SyncGroup, the assignment
    passed through untouched."""
    b = make_broker(BROKER)
    produce(b.bootstrap, 0, 60)
    members = []
    try:
        for _ in range(3):
            members.append(rdkafka_member(
                b.bootstrap, "coop-group",
                **{"partition.assignment.strategy": "cooperative-sticky"}))
        parts = settle(members, split_evenly)
        assert split_evenly(parts), parts
    finally:
        for c in members:
            c.close()


def test_static_member_restart_keeps_its_partitions(make_broker):
    """KIP-345: a member with group.instance.id that comes back within its
    session gets its partitions again, and the other member's assignment
    never changes meanwhile (no rebalance)."""
    b = make_broker(BROKER)
    produce(b.bootstrap, 0, 60)
    static = {"session.timeout.ms": 30000}
    one = rdkafka_member(b.bootstrap, "static-group", **static, **{"group.instance.id": "one"})
    two = rdkafka_member(b.bootstrap, "static-group", **static, **{"group.instance.id": "two"})
    try:
        parts = settle([one, two], split_evenly)
        assert split_evenly(parts), parts
        kept, two_before = parts
        two.close()  # a static member's close sends no LeaveGroup
        two = rdkafka_member(b.bootstrap, "static-group", **static,
                             **{"group.instance.id": "two"})
        changed = []
        for _ in range(ROUNDS):
            one.poll(0.05)
            two.poll(0.05)
            if assignments([one])[0] != kept:
                changed.append(assignments([one])[0])
            if assignments([two])[0] == two_before:
                break
        assert assignments([two])[0] == two_before
        assert changed == []  # the other member was never rebalanced
    finally:
        one.close()
        two.close()


def commit_sync(c):
    """A synchronous commit of what c consumed: True once the coordinator
    took it (or there was nothing new to commit), False on an error the
    caller retries (the coordinator moving or loading)."""
    from confluent_kafka import KafkaError, KafkaException
    try:
        c.commit(asynchronous=False)
        return True
    except KafkaException as e:
        return e.args[0].code() == KafkaError._NO_OFFSET


def commit_all(members):
    for _ in range(ROUNDS):
        if all([commit_sync(c) for c in members]):
            return True
        for c in members:
            c.poll(0.1)
    return False


def test_coordinator_kill_keeps_the_group(tmp_path):
    """Three brokers (KRaft voters 1-3), __consumer_offsets of replication
    factor 3. Two librdkafka members of failover-group split test-topic and
    commit what they read; the broker coordinating the group is kill -9ed.
    The new coordinator loads the partition with the group's members (its
    GroupMetadata record carries them), so the members, heartbeating to it
    with their generation, keep their partitions: at most one rebalance is
    allowed (none is expected), and the offsets they committed before the
    kill are what the group resumes from."""
    from conftest import trio
    from test_replication import wait_registered, wait_topic
    from conftest import stop_all
    from confluent_kafka.admin import NewTopic
    nodes = trio()
    for b in nodes:
        with open(b.config, "a") as f:
            f.write("offsets.topic.replication.factor=3\noffsets.topic.num.partitions=3\n"
                    "group.initial.rebalance.delay.ms=0\nmin.insync.replicas=2\n")
    members = []
    try:
        for b in nodes:
            b.start()
        wait_registered(nodes)
        bootstrap = ",".join(b.bootstrap for b in nodes)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3)],
                            operation_timeout=20)[TOPIC].result(timeout=30)
        wait_topic(nodes)
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        for i in range(N):
            p.produce(TOPIC, value(i), partition=i % PARTITIONS)
        assert p.flush(30) == 0
        events = []

        def member():
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "failover-group",
                          "session.timeout.ms": 30000, "heartbeat.interval.ms": 500,
                          "auto.offset.reset": "earliest", "enable.auto.commit": False,
                          "partition.assignment.strategy": "range"})
            c.subscribe([TOPIC], on_assign=lambda _c, ps: events.append("assign"),
                        on_revoke=lambda _c, ps: events.append("revoke"))
            return c

        members = [member(), member()]
        got = []
        for _ in range(ROUNDS):
            for c in members:
                got += [m.value() for m in c.consume(num_messages=500, timeout=0.05)
                        if not m.error()]
            if split_evenly(assignments(members)) and len(set(got)) == N:
                break
        before = assignments(members)
        assert split_evenly(before), (before, "\n".join(b.dir + "\n" + b.log_tail(20)
                                                         for b in nodes))
        assert set(got) == {value(i) for i in range(N)}
        # The group read everything: each member commits its partitions' ends
        # (explicitly: a member may have read its partitions before the
        # rebalance gave them back to it, with no position stored since).
        from confluent_kafka import TopicPartition
        for c in members:
            ends = [TopicPartition(TOPIC, q.partition, N // PARTITIONS) for q in c.assignment()]
            c.commit(offsets=ends, asynchronous=False)
        groups = {g.id: g for g in AdminClient({"bootstrap.servers": bootstrap})
                  .list_groups(timeout=10)}
        coordinator = groups["failover-group"].broker.id
        assert groups["failover-group"].state == "Stable"
        events_before = len(events)
        nodes[coordinator - 1].kill9()
        killed_at = time.monotonic()
        live = [b for i, b in enumerate(nodes) if i != coordinator - 1]
        # The new coordinator answers the commits made before the kill.
        from confluent_kafka import KafkaException
        offsets = None
        for _ in range(ROUNDS):
            try:
                offsets = members[0].committed(
                    [TopicPartition(TOPIC, q) for q in range(PARTITIONS)], timeout=5)
                if all(o.offset >= 0 for o in offsets):
                    break
            except KafkaException:  # the coordinator not found again yet, or loading
                pass
            for c in members:
                c.poll(0.1)
        assert [o.offset for o in offsets] == [N // PARTITIONS] * PARTITIONS, offsets
        # More values, read and committed through the new coordinator.
        p = Producer({"bootstrap.servers": ",".join(b.bootstrap for b in live),
                      "acks": "all", "linger.ms": 5})
        for i in range(N, N + 60):
            p.produce(TOPIC, value(i), partition=i % PARTITIONS)
        assert p.flush(60) == 0
        more = []
        for _ in range(ROUNDS):
            for c in members:
                more += [m.value() for m in c.consume(num_messages=500, timeout=0.05)
                         if not m.error()]
            if len(set(more)) >= 60:
                break
        assert {value(i) for i in range(N, N + 60)} <= set(more)
        assert commit_all(members)  # through the new coordinator
        rebalances = (len(events) - events_before) // 2
        print(f"coordinator {coordinator} killed: {rebalances} rebalances, the group went on "
              f"after {time.monotonic() - killed_at:.2f} s")
        assert rebalances <= 1, events[events_before:]
        if rebalances == 0:
            assert assignments(members) == before
        for c in members:
            c.close()
        members = []
        # A new member resumes at the group's commits: none of the old values.
        for i in range(N + 60, N + 90):
            p.produce(TOPIC, value(i), partition=i % PARTITIONS)
        assert p.flush(60) == 0
        c = Consumer({"bootstrap.servers": ",".join(b.bootstrap for b in live),
                      "group.id": "failover-group", "session.timeout.ms": 10000,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        members = [c]
        c.subscribe([TOPIC])
        last = []
        for _ in range(ROUNDS):
            last += [m.value() for m in c.consume(num_messages=500, timeout=0.05)
                     if not m.error()]
            if len(set(last)) >= 30:
                break
        assert sorted(set(last)) == [value(i) for i in range(N + 60, N + 90)]
    finally:
        for c in members:
            c.close()
        stop_all([b for b in nodes if b.alive()])
