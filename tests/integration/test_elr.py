"""KIP-966's eligible leader replicas on real sockets: one controller (node 1)
and three brokers (2-4), eligible.leader.replicas.enable=true,
min.insync.replicas=2, a topic of one partition and replication factor 3.
The leader's followers are stopped (SIGSTOP) one after the other, so the ISR
shrinks to the leader alone and the follower that left last joins the ELR;
then the leader is killed (-9) and stays down. Without ELR the partition
waits for that leader (the ISR's last member, fenced); with it, the stopped
ELR member leads as soon as it is back, the third replica catches up from
it, acks=all works again, and every message acknowledged before is read
back. (The simulator's last-replica-standing plays the same schedule with
the leader's power loss, which real processes cannot show.)"""
import signal
import tempfile
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import CLUSTER_ID, Broker

TOPIC = "elr-topic"
ROUNDS = 600  # x 50 ms: hang guards on conditions, not sleeps
FIRST = 200  # acknowledged while all three are in sync

COMMON = {
    "eligible.leader.replicas.enable": "true",
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "replica.lag.time.max.ms": "1000",
    "broker.session.timeout.ms": "2000",
    "broker.heartbeat.interval.ms": "500",
}


def write_config(n, props):
    with open(n.config, "w") as f:
        for k, v in {**COMMON, **props, "cluster.id": CLUSTER_ID, "log.dirs": n.log_dirs,
                     "controller.listener.names": "CONTROLLER"}.items():
            f.write(f"{k}={v}\n")


def quartet():
    ctl = Broker(tempfile.mkdtemp(prefix="sluice-it-"))
    ctl.port = ctl.controller_port  # it serves only the controller listener
    voters = f"1@127.0.0.1:{ctl.controller_port}"
    write_config(ctl, {"process.roles": "controller", "node.id": "1",
                       "controller.quorum.voters": voters,
                       "listeners": f"CONTROLLER://127.0.0.1:{ctl.controller_port}"})
    brokers = [Broker(tempfile.mkdtemp(prefix="sluice-it-")) for _ in range(3)]
    for i, b in enumerate(brokers):
        write_config(b, {"process.roles": "broker", "node.id": str(i + 2),
                         "controller.quorum.voters": voters,
                         "listeners": f"PLAINTEXT://127.0.0.1:{b.port}",
                         "advertised.listeners": f"PLAINTEXT://127.0.0.1:{b.port}"})
    return ctl, brokers


def partition(b):
    """(leader, isr) of partition 0 in b's Metadata, or None."""
    try:
        md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(TOPIC, timeout=5)
    except Exception:  # not serving yet
        return None
    t = md.topics.get(TOPIC)
    if t is None or t.error is not None or 0 not in t.partitions:
        return None
    p = t.partitions[0]
    return p.leader, sorted(p.isrs)


def wait_for(b, what, nodes):
    for _ in range(ROUNDS):
        seen = partition(b)
        if seen is not None and what(*seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"partition 0 never got there (last {partition(b)}):\n" +
                         "\n".join(n.log_tail(20) for n in nodes))


def produce(bootstrap, values):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": 60000})
    errors = []
    for v in values:
        p.produce(TOPIC, value=v, partition=0, on_delivery=lambda e, m: e and errors.append(e))
        p.poll(0)
    assert p.flush(90) == 0
    assert errors == []


def read_all(bootstrap, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "elr-reader",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    for _ in range(ROUNDS):
        if len(got) >= count:
            break
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    return got


def test_an_elr_member_leads_while_the_last_isr_member_is_down():
    ctl, brokers = quartet()
    nodes = [ctl] + brokers
    by_id = {i + 2: b for i, b in enumerate(brokers)}
    try:
        for n in nodes:
            n.start()
        admin = AdminClient({"bootstrap.servers": brokers[0].bootstrap})
        for _ in range(ROUNDS):  # all three registered, so RF 3 can be placed
            try:
                if len(admin.list_topics(timeout=5).brokers) == 3:
                    break
            except Exception:
                pass
            time.sleep(0.05)
        admin.create_topics([NewTopic(TOPIC, 1, 3)])[TOPIC].result(timeout=30)
        leader, isr = wait_for(brokers[0], lambda l, i: l > 0 and len(i) == 3, nodes)
        bootstrap = ",".join(b.bootstrap for b in brokers)
        first = [b"v%05d" % i for i in range(FIRST)]
        produce(bootstrap, first)
        a = by_id[leader]
        b_id, c_id = [i for i in isr if i != leader]
        c = by_id[c_id]
        b = by_id[b_id]
        c.proc.send_signal(signal.SIGSTOP)
        wait_for(a, lambda l, i: sorted(i) == sorted([leader, b_id]), nodes)
        b.proc.send_signal(signal.SIGSTOP)  # B leaves the ISR under min: the ELR
        wait_for(a, lambda l, i: i == [leader], nodes)
        a.kill9()  # the ISR's last member, down for the rest of the test
        b.proc.send_signal(signal.SIGCONT)
        # Without ELR the partition would wait for A (leader -1, ISR [A]).
        wait_for(b, lambda l, i: l == b_id and i == [b_id], nodes)
        c.proc.send_signal(signal.SIGCONT)
        wait_for(b, lambda l, i: l == b_id and sorted(i) == sorted([b_id, c_id]), nodes)
        after = [b"w%05d" % i for i in range(50)]
        produce(f"{b.bootstrap},{c.bootstrap}", after)  # acks=all again: ISR of two
        got = read_all(b.bootstrap, FIRST + len(after))
        assert got == first + after
    finally:
        for n in nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGCONT)
                n.kill9()
