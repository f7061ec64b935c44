"""The KRaft quorum (KIP-595) between three real bin/sluice processes whose
controller.quorum.voters name each other: a leader is elected, every node's
controller listener answers DescribeQuorum (raw Kafka wire protocol) with the
same leader, and after kill -9 of the leader the other two elect another.
The Raft-backed controller (KIP-631): every broker registers with the active
controller, so kcat -L against any node lists all three; topics created
through any broker reach every node, also after the active controller is
killed; the dead broker is fenced once its session times out. KIP-730:
InitProducerId on a broker that is not the active controller gets an id
from a block the active controller handed it (AllocateProducerIds), and an
idempotent librdkafka producer works through such a broker."""
import os
import random
import re
import socket
import struct
import subprocess
import tempfile
import time

from confluent_kafka.admin import AdminClient, NewTopic

from clients import produce
from conftest import CLUSTER_ID, Broker, stop_all, trio
from kwire import read_uvarint, uvarint
from test_idempotence import init_producer_id

WAIT_ROUNDS = 600  # x 50 ms
DESCRIBE_QUORUM = 55
NOT_LEADER_OR_FOLLOWER = 6
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
PRODUCER_ID_BLOCK_SIZE = 1000  # Kafka's ProducerIdsBlock size






def describe_quorum_request(correlation_id):
    """DescribeQuorum v0 (flexible): request header v2, one topic, one partition."""
    client_id = b"pytest"
    header = struct.pack(">hhih", DESCRIBE_QUORUM, 0, correlation_id, len(client_id))
    header += client_id + uvarint(0)
    topic = b"__cluster_metadata"
    body = uvarint(2) + uvarint(len(topic) + 1) + topic
    body += uvarint(2) + struct.pack(">i", 0) + uvarint(0)  # partition 0, no tags
    body += uvarint(0) + uvarint(0)  # the topic's tags, the request's tags
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def read_frame(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    size = exactly(4)
    return None if size is None else exactly(struct.unpack(">i", size)[0])


def describe_quorum(port):
    """(error, leader id, leader epoch, high watermark, voter ids) of the
    metadata partition, or None if the node does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(describe_quorum_request(42))
            frame = read_frame(s)
    except OSError:
        return None
    if frame is None:
        return None
    corr = struct.unpack(">i", frame[:4])[0]
    assert corr == 42
    _, at = read_uvarint(frame, 4)  # response header v1: tagged fields
    top_error = struct.unpack(">h", frame[at:at + 2])[0]
    assert top_error == 0
    at += 2
    topics, at = read_uvarint(frame, at)
    assert topics - 1 == 1
    name_len, at = read_uvarint(frame, at)
    assert frame[at:at + name_len - 1] == b"__cluster_metadata"
    at += name_len - 1
    partitions, at = read_uvarint(frame, at)
    assert partitions - 1 == 1
    index, error, leader, epoch, hw = struct.unpack(">ihiiq", frame[at:at + 22])
    at += 22
    voters, at = read_uvarint(frame, at)
    ids = []
    for _ in range(voters - 1):
        ids.append(struct.unpack(">i", frame[at:at + 4])[0])
        at += 12  # replica id, log end offset
        _, at = read_uvarint(frame, at)
    return error, leader, epoch, hw, sorted(ids)



SEED_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                           "shared", "seed", "config", "server-broker1.properties")


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def layout_base():
    """A client port p such that p..p+2 (clients) and p+1000..p+1002
    (controllers) are all free: the users' 9092-9094 / 10092-10094 layout,
    moved to where nothing listens."""
    for _ in range(200):
        base = random.randrange(20000, 50000)
        if all(port_free(base + d) for d in (0, 1, 2, 1000, 1001, 1002)):
            return base
    raise RuntimeError("no free port layout")


def users_trio():
    """Three nodes configured as the users' server.properties (the seed's
    broker config: combined broker,controller roles, clients on 9092+n and
    controllers on 10092+n, here moved to a free base), for nodes 1-3;
    storage formatted by `sluicectl storage format` at start."""
    base = layout_base()
    voters = ",".join(f"{n}@localhost:{base + 1000 + n - 1}" for n in (1, 2, 3))
    with open(SEED_CONFIG) as f:
        seed = f.read()
    nodes = []
    for n in (1, 2, 3):
        b = Broker(tempfile.mkdtemp(prefix="sluice-it-"))
        b.port, b.controller_port = base + n - 1, base + 1000 + n - 1
        text = (seed.replace("node.id=1", f"node.id={n}")
                .replace("localhost:9092", f"localhost:{b.port}")
                .replace("localhost:10092", f"localhost:{b.controller_port}")
                .replace("/var/kafka/logs/broker1", b.log_dirs))
        text = re.sub(r"(?m)^controller\.quorum\.voters=.*$", f"controller.quorum.voters={voters}",
                      text)
        # Until replication lands a partition has one replica (README).
        text += f"\ndefault.replication.factor=1\ncluster.id={CLUSTER_ID}\n"
        with open(b.config, "w") as f:
            f.write(text)
        nodes.append(b)
    return nodes


def agreed_leader(nodes, alive, min_epoch=-1):
    """The leader id every live node names (the leader answering for itself,
    the others NOT_LEADER_OR_FOLLOWER naming it), in an epoch above
    min_epoch; else None."""
    answers = {i: describe_quorum(nodes[i].controller_port) for i in alive}
    if any(a is None for a in answers.values()):
        return None
    leaders = {(a[1], a[2]) for a in answers.values()}
    if len(leaders) != 1:
        return None
    leader, epoch = leaders.pop()
    if leader < 1 or epoch <= min_epoch or leader - 1 not in alive:
        return None
    for i, (error, _, _, _, ids) in answers.items():
        if i == leader - 1:
            if error != 0 or ids != [1, 2, 3]:
                return None
        elif error != NOT_LEADER_OR_FOLLOWER:
            return None
    return leader, epoch


def wait_leader(nodes, alive, min_epoch=-1):
    for _ in range(WAIT_ROUNDS):
        found = agreed_leader(nodes, alive, min_epoch)
        if found:
            return found
        time.sleep(0.05)
    tails = "\n".join(nodes[i].log_tail(15) for i in alive)
    raise AssertionError(f"no agreed leader among {alive}:\n{tails}")


def count_in_log(b, text):
    try:
        with open(b.stderr_path) as f:
            return f.read().count(text)
    except OSError:
        return 0


def test_three_real_voters_elect_and_reelect():
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        leader, epoch = wait_leader(nodes, [0, 1, 2])
        assert count_in_log(nodes[leader - 1], f"is leader in epoch {epoch}") == 1
        nodes[leader - 1].kill9()
        alive = [i for i in range(3) if i != leader - 1]
        new_leader, new_epoch = wait_leader(nodes, alive, min_epoch=epoch)
        assert new_leader != leader and new_epoch > epoch
        assert count_in_log(nodes[new_leader - 1], f"is leader in epoch {new_epoch}") == 1
        assert stop_all([nodes[i] for i in alive]) == [0] * len(alive)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


def kcat_metadata(b):
    """(broker ids, {topic: partition count}) as kcat -L sees them, or None."""
    try:
        out = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-m", "5"], capture_output=True,
                             text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    brokers = sorted(int(m) for m in re.findall(r"broker (\d+) at", out.stdout))
    topics = {m[0]: int(m[1]) for m in re.findall(r'topic "([^"]+)" with (\d+) partitions', out.stdout)}
    return brokers, topics


def wait_metadata(nodes, alive, brokers, topics):
    """Until kcat -L against every live node lists exactly these brokers and
    at least these topics with these partition counts."""
    seen = None
    for _ in range(WAIT_ROUNDS):
        seen = {i: kcat_metadata(nodes[i]) for i in alive}
        if all(m is not None and m[0] == brokers and
               all(m[1].get(t) == n for t, n in topics.items()) for m in seen.values()):
            return
        time.sleep(0.05)
    tails = "\n".join(nodes[i].log_tail(15) for i in alive)
    raise AssertionError(f"metadata never became {brokers} {topics}: {seen}\n{tails}")


def create_topic(b, name, partitions):
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    futures = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                              operation_timeout=20)
    futures[name].result(timeout=30)


def test_every_broker_registers_and_topics_outlive_the_active_controller():
    """Issue 9's real-socket check, with the users' layout (users_trio)."""
    nodes = users_trio()
    try:
        for b in nodes:
            b.start()
        leader, epoch = wait_leader(nodes, [0, 1, 2])
        wait_metadata(nodes, [0, 1, 2], [1, 2, 3], {})
        follower = next(i for i in range(3) if i != leader - 1)
        create_topic(nodes[follower], "before", 3)  # forwarded to the active controller
        wait_metadata(nodes, [0, 1, 2], [1, 2, 3], {"before": 3})
        killed = time.monotonic()
        nodes[leader - 1].kill9()
        alive = [i for i in range(3) if i != leader - 1]
        wait_leader(nodes, alive, min_epoch=epoch)
        # Reported, not asserted (50 ms polling): docs/architecture.md.
        print(f"election after kill -9 of the active controller: "
              f"{(time.monotonic() - killed) * 1000:.0f} ms")
        for i in alive:
            create_topic(nodes[i], f"after-{i + 1}", 2)
        expected = {"before": 3, **{f"after-{i + 1}": 2 for i in alive}}
        # The killed broker is fenced once broker.session.timeout.ms (9 s)
        # passes without its heartbeat: Metadata lists only the live ones.
        wait_metadata(nodes, alive, [i + 1 for i in alive], expected)
        assert stop_all([nodes[i] for i in alive]) == [0] * len(alive)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


def wait_producer_id(b):
    """InitProducerId v4 (librdkafka's) on b's client port until it answers
    an id: a broker waiting for its first block answers
    COORDINATOR_LOAD_IN_PROGRESS, which clients retry."""
    answer = None
    for _ in range(WAIT_ROUNDS):
        answer = init_producer_id(b.port, 4)
        if answer[0] not in (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE):
            break
        time.sleep(0.05)
    error, pid, epoch = answer
    assert error == 0 and pid >= 0 and epoch == 0, (answer, b.log_tail(15))
    return pid


def test_idempotent_producer_through_a_broker_that_is_not_the_active_controller():
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        leader, _ = wait_leader(nodes, [0, 1, 2])
        wait_metadata(nodes, [0, 1, 2], [1, 2, 3], {})
        others = [i for i in range(3) if i != leader - 1]
        ids = {i: wait_producer_id(nodes[i]) for i in range(3)}
        # Each broker has its own block: ids never collide across brokers.
        assert len({pid // PRODUCER_ID_BLOCK_SIZE for pid in ids.values()}) == 3, ids
        assert wait_producer_id(nodes[others[0]]) == ids[others[0]] + 1  # the block goes on
        # A partition on each of those brokers (explicit assignment), an
        # idempotent librdkafka producer bootstrapped there: its
        # InitProducerId goes to that broker, not to the active controller.
        for i in others:
            a = AdminClient({"bootstrap.servers": nodes[i].bootstrap})
            name = f"idempotent-{i + 1}"
            a.create_topics([NewTopic(name, num_partitions=1, replica_assignment=[[i + 1]])],
                            operation_timeout=20)[name].result(timeout=30)
        wait_metadata(nodes, [0, 1, 2], [1, 2, 3], {f"idempotent-{i + 1}": 1 for i in others})
        for i in others:
            produce(nodes[i].bootstrap, f"idempotent-{i + 1}", 500,
                    extra={"enable.idempotence": True})
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()
