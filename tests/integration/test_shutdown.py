"""SIGTERM while a wide topic's partition logs are still being opened (in
slices, between other clients' requests): the broker shuts down cleanly
and promptly, and the next start opens the rest. (It once waited forever:
the metadata log's apply held the publish the unfinished run kept.) And
KIP-966's clean shutdown marker: left by SIGTERM, never by kill -9."""
import json
import os
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROUNDS = 600  # x 0.1 s polls: a hang guard


def test_sigterm_mid_creation_shuts_down_and_the_next_start_opens_the_rest(make_broker):
    b = make_broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    # 200 partitions: 7 slices of 32 (test_kraft_many_partitions.py restarts
    # a node leading 600).
    futures = admin.create_topics([NewTopic("wide", num_partitions=200, replication_factor=1)])
    for _ in range(ROUNDS):
        if any(d.startswith("wide-") for d in os.listdir(b.log_dirs)):
            break
        time.sleep(0.01)
    assert b.stop(timeout=60) == 0  # raises TimeoutExpired if it hangs
    futures["wide"].exception(timeout=30)  # answered one way or the other, or the connection closed
    b.start()
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "probe"})
    for _ in range(ROUNDS):
        md = c.list_topics("wide", timeout=10)
        t = md.topics.get("wide")
        if t is not None and t.error is None and len(t.partitions) == 200:
            break
        time.sleep(0.1)
    assert len(md.topics["wide"].partitions) == 200
    low, high = c.get_watermark_offsets(TopicPartition("wide", 199), timeout=30)
    assert (low, high) == (0, 0)  # the last partition's log exists and answers
    c.close()
    assert b.stop() == 0


def wait_listed(b):
    """Polls Metadata until the node lists itself (registered, unfenced)."""
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "probe"})
    try:
        for _ in range(ROUNDS):
            try:
                if 1 in c.list_topics(timeout=5).brokers:
                    return
            except Exception:  # a node still starting may not answer yet
                pass
            time.sleep(0.1)
    finally:
        c.close()
    raise AssertionError("node never listed itself\n" + b.log_tail())


def test_a_clean_shutdown_leaves_its_broker_epoch_and_a_crash_does_not(make_broker):
    # KIP-966: the marker tells the controller, through BrokerRegistration's
    # PreviousBrokerEpoch, whether this broker's log may have lost a tail.
    b = make_broker({"eligible.leader.replicas.enable": "true"})
    marker = os.path.join(b.log_dirs, ".kafka_cleanshutdown")
    wait_listed(b)
    assert not os.path.exists(marker)
    assert b.stop(timeout=60) == 0
    with open(marker) as f:
        doc = json.load(f)
    assert doc["version"] == 0 and doc["brokerEpoch"] >= 0
    b.start()
    wait_listed(b)
    assert not os.path.exists(marker)  # taken: a crash from now on is unclean
    log = b.log_tail(400)
    assert f"the last shutdown was clean (broker epoch {doc['brokerEpoch']})" in log
    assert "registers after an unclean shutdown" not in log
    b.kill9()
    assert not os.path.exists(marker)
    b.start()
    wait_listed(b)
    log = b.log_tail(400)
    assert log.count("the last shutdown was clean") == 1  # the first restart's only
    assert "broker 1 registers after an unclean shutdown (previous broker epoch -1" in log
    assert b.stop(timeout=60) == 0
