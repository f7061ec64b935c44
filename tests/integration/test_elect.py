"""Preferred leader election between three real bin/sluice processes (KRaft
voters 1-3, each a broker too): a topic of 6 partitions and replication
factor 3. Partition 0's preferred (first) replica is kill -9'd, so its
leadership moves to the rest of the ISR; it is restarted and rejoins the
ISR. Then:

  - ElectLeaders (API 43, KIP-460) with election type PREFERRED, sent to a
    node that is not the active controller (it forwards the call), gives
    the leadership back; asked again it is ELECTION_NOT_NEEDED; an unknown
    partition is UNKNOWN_TOPIC_OR_PARTITION; an UNCLEAN election of a
    partition that has a leader is ELECTION_NOT_NEEDED; topics null elects
    every partition that needs it and leaves the others out of the answer.
  - with auto.leader.rebalance.enable (the default) and
    leader.imbalance.check.interval.seconds=2, the leadership comes back by
    itself.

Neither client of Debian 12 has ElectLeaders (confluent-kafka 1.7.0,
kafka-python 2.0.2), so the request is written by hand: v2, flexible."""
import socket
import struct
import time

from confluent_kafka.admin import AdminClient, NewTopic

from conftest import stop_all, trio
from kwire import compact_string, read_uvarint, uvarint

TOPIC = "test-topic"
PARTITIONS = 6
WAIT_ROUNDS = 1200  # x 50 ms: bounds on waiting for a condition
ELECT_LEADERS = 43
NONE, UNKNOWN_TOPIC_OR_PARTITION, ELECTION_NOT_NEEDED = 0, 3, 84
PREFERRED, UNCLEAN = 0, 1




# ---- ElectLeaders v2 on the wire ----







def elect_request(correlation_id, election_type, topics):
    """topics: {name: [partitions]}, or None for every partition."""
    client_id = b"test-elect"
    header = struct.pack(">hhih", ELECT_LEADERS, 2, correlation_id, len(client_id))
    header += client_id + uvarint(0)
    body = struct.pack(">b", election_type)
    if topics is None:
        body += uvarint(0)  # null
    else:
        body += uvarint(len(topics) + 1)
        for name, parts in topics.items():
            body += compact_string(name) + uvarint(len(parts) + 1)
            body += b"".join(struct.pack(">i", p) for p in parts) + uvarint(0)
    body += struct.pack(">i", 30000) + uvarint(0)
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def read_frame(sock):
    def exactly(n):
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise AssertionError("connection closed")
            out += chunk
        return out
    (size,) = struct.unpack(">i", exactly(4))
    return exactly(size)


def parse_response(buf):
    """(top-level error, {(topic, partition): error})."""
    at = 4  # correlation id
    _, at = read_uvarint(buf, at)  # header tags
    _throttle, error = struct.unpack_from(">ih", buf, at)
    at += 6
    results = {}
    n, at = read_uvarint(buf, at)
    for _ in range(n - 1):
        ln, at = read_uvarint(buf, at)
        topic = buf[at:at + ln - 1].decode()
        at += ln - 1
        m, at = read_uvarint(buf, at)
        for _ in range(m - 1):
            partition, code = struct.unpack_from(">ih", buf, at)
            at += 6
            ln, at = read_uvarint(buf, at)  # error message, nullable
            at += max(ln - 1, 0)
            _, at = read_uvarint(buf, at)  # tags
            results[(topic, partition)] = code
        _, at = read_uvarint(buf, at)  # tags
    return error, results


def elect(b, election_type, topics):
    with socket.create_connection(("127.0.0.1", b.port), timeout=40) as s:
        s.sendall(elect_request(7, election_type, topics))
        buf = read_frame(s)
    assert struct.unpack_from(">i", buf, 0)[0] == 7
    return parse_response(buf)


# ---- the cluster as Metadata shows it ----

def wait_registered(nodes):
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


def partitions(b):
    """{partition: (leader, replicas, isr)} from b's Metadata, or None."""
    try:
        md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(TOPIC, timeout=5)
    except Exception:
        return None
    t = md.topics.get(TOPIC)
    if t is None or t.error is not None or len(t.partitions) != PARTITIONS:
        return None
    return {p.id: (p.leader, list(p.replicas), sorted(p.isrs)) for p in t.partitions.values()}


def wait_until(nodes, pred, what):
    """Until pred(metadata) holds on every live node; returns the last."""
    seen = None
    for _ in range(WAIT_ROUNDS):
        views = [partitions(b) for b in nodes if b.alive()]
        seen = views
        if all(v is not None and pred(v) for v in views):
            return views[0]
        time.sleep(0.05)
    raise AssertionError(f"never: {what} (last seen {seen}):\n" +
                         "\n".join(b.log_tail(15) for b in nodes))


def create(nodes):
    wait_registered(nodes)
    admin = AdminClient({"bootstrap.servers": nodes[0].bootstrap})
    admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3)],
                        operation_timeout=20)[TOPIC].result(timeout=30)
    return wait_until(nodes, lambda v: all(l > 0 and len(i) == 3 for l, _, i in v.values()),
                      "every partition led with a full ISR")


def kill_and_return_preferred(nodes):
    """kill -9 partition 0's preferred replica, see its leadership move,
    restart it, and wait until it is back in every ISR; returns its id."""
    md = create(nodes)
    preferred = md[0][1][0]
    assert md[0][0] == preferred, md  # placement makes the first replica lead
    victim = nodes[preferred - 1]
    victim.kill9()
    wait_until(nodes, lambda v: v[0][0] not in (-1, preferred), "partition 0 led elsewhere")
    victim.start()
    wait_until(nodes, lambda v: all(len(i) == 3 for _, _, i in v.values()),
               f"broker {preferred} back in every ISR")
    return preferred


def test_elect_leaders_gives_the_leadership_back():
    nodes = trio()  # the default check interval (300 s) leaves it to ElectLeaders
    try:
        for b in nodes:
            b.start()
        preferred = kill_and_return_preferred(nodes)
        md = partitions(nodes[0])
        assert md[0][0] != preferred, md  # not given back by itself
        # Sent to a node that is not the active controller, which forwards it.
        controller = AdminClient({"bootstrap.servers": nodes[0].bootstrap}) \
            .list_topics(timeout=5).controller_id
        other = next(b for i, b in enumerate(nodes) if i + 1 != controller)
        error, results = elect(other, PREFERRED, {TOPIC: [0, 99]})
        assert error == NONE
        assert results == {(TOPIC, 0): NONE, (TOPIC, 99): UNKNOWN_TOPIC_OR_PARTITION}, results
        wait_until(nodes, lambda v: v[0][0] == preferred, "partition 0 led by its preferred replica")
        error, results = elect(other, PREFERRED, {TOPIC: [0]})
        assert (error, results) == (NONE, {(TOPIC, 0): ELECTION_NOT_NEEDED})
        error, results = elect(nodes[preferred - 1], UNCLEAN, {TOPIC: [0]})
        assert (error, results) == (NONE, {(TOPIC, 0): ELECTION_NOT_NEEDED})
        # Every partition: those the kill moved come back, the rest are left out.
        moved = {p for p, (l, r, _) in partitions(nodes[0]).items() if l != r[0]}
        error, results = elect(other, PREFERRED, None)
        assert error == NONE
        assert results == {(TOPIC, p): NONE for p in moved}, (moved, results)
        wait_until(nodes, lambda v: all(l == r[0] for l, r, _ in v.values()),
                   "every partition led by its preferred replica")
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


def test_auto_rebalance_gives_the_leadership_back():
    nodes = trio("leader.imbalance.check.interval.seconds=2\n")
    try:
        for b in nodes:
            b.start()
        preferred = kill_and_return_preferred(nodes)
        back_in_isr = time.monotonic()
        wait_until(nodes, lambda v: all(l == r[0] for l, r, _ in v.values()),
                   "every partition led by its preferred replica, unasked")
        print(f"leaderships back {time.monotonic() - back_in_isr:.1f} s after the ISR rejoin "
              "(check interval 2 s)")
        assert stop_all(nodes) == [0] * len(nodes)
        assert preferred in (1, 2, 3)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


def test_one_node_needs_no_election(broker):
    """A single node leads every partition it has: nothing to elect; an
    election type Kafka does not have is INVALID_REQUEST (42) at the top
    and on every partition asked, and the node serves on."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("solo", num_partitions=2, replication_factor=1)],
                        operation_timeout=20)["solo"].result(timeout=30)
    for _ in range(WAIT_ROUNDS):
        t = admin.list_topics("solo", timeout=5).topics.get("solo")
        if t is not None and t.error is None and all(p.leader == 1 for p in t.partitions.values()):
            break
        time.sleep(0.05)
    assert elect(broker, PREFERRED, {"solo": [0, 1]}) == \
        (NONE, {("solo", 0): ELECTION_NOT_NEEDED, ("solo", 1): ELECTION_NOT_NEEDED})
    assert elect(broker, PREFERRED, None) == (NONE, {})
    assert elect(broker, UNCLEAN, {"solo": [1, 7]}) == \
        (NONE, {("solo", 1): ELECTION_NOT_NEEDED, ("solo", 7): UNKNOWN_TOPIC_OR_PARTITION})
    assert elect(broker, 5, {"solo": [0]}) == (42, {("solo", 0): 42})
    assert broker.alive()
