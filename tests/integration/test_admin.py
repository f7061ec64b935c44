"""Topic administration with the clients' admin APIs: CreateTopics,
DescribeConfigs, CreatePartitions, DeleteTopics, Metadata, DescribeCluster."""
import os

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
from kafka.admin import KafkaAdminClient

from clients import consume_confluent, produce


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def wait(futures):
    return {k: f.result(timeout=30) for k, f in futures.items()}


def test_create_describe_grow_delete(broker):
    a = admin(broker)
    wait(a.create_topics([NewTopic("orders", num_partitions=3, replication_factor=1,
                                   config={"retention.ms": "3600000",
                                           "compression.type": "zstd"})]))
    md = a.list_topics(timeout=10)
    assert sorted(md.topics["orders"].partitions) == [0, 1, 2]
    assert all(os.path.isdir(f"{broker.log_dirs}/orders-{p}") for p in range(3))

    res = wait(a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "orders")]))
    configs = list(res.values())[0]
    assert configs["retention.ms"].value == "3600000"
    assert configs["compression.type"].value == "zstd"
    assert configs["cleanup.policy"].value == "delete"
    assert configs["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG

    wait(a.create_partitions([NewPartitions("orders", 5)]))
    assert len(a.list_topics(timeout=10).topics["orders"].partitions) == 5
    produce(broker.bootstrap, "orders", 100, partition=4)
    assert consume_confluent(broker.bootstrap, "orders", 100, partition=4) == 100

    wait(a.delete_topics(["orders"]))
    assert "orders" not in a.list_topics(timeout=10).topics
    assert not any(d.startswith("orders-") for d in os.listdir(broker.log_dirs))


def test_create_errors_are_kafkas(broker):
    a = admin(broker)
    wait(a.create_topics([NewTopic("dup", 1, 1)]))
    cases = {
        "dup": NewTopic("dup", 1, 1),                          # TOPIC_ALREADY_EXISTS
        "bad name!": NewTopic("bad name!", 1, 1),              # INVALID_TOPIC_EXCEPTION
        "rf3": NewTopic("rf3", 1, 3),                          # INVALID_REPLICATION_FACTOR
        "badcfg": NewTopic("badcfg", 1, 1, config={"no.such": "1"}),  # INVALID_CONFIG
    }
    codes = {}
    for name, topic in cases.items():
        with pytest.raises(Exception) as e:
            list(a.create_topics([topic]).values())[0].result(timeout=30)
        codes[name] = e.value.args[0].code()
    assert codes == {"dup": 36, "bad name!": 17, "rf3": 38, "badcfg": 40}
    with pytest.raises(Exception) as e:
        wait(a.create_partitions([NewPartitions("dup", 1)]))
    assert e.value.args[0].code() == 37  # INVALID_PARTITIONS


def test_broker_configs_and_cluster(make_broker):
    b = make_broker({"log.retention.hours": "48", "num.partitions": "2"})
    a = admin(b)
    res = wait(a.describe_configs([ConfigResource(ConfigResource.Type.BROKER, "1")]))
    configs = list(res.values())[0]
    assert configs["log.retention.ms"].value == str(48 * 3600 * 1000)
    assert configs["num.partitions"].value == "2"
    assert configs["num.partitions"].source == 4  # STATIC_BROKER_CONFIG
    kadmin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
    cluster = kadmin.describe_cluster()
    assert cluster["controller_id"] == 1
    assert [br["node_id"] for br in cluster["brokers"]] == [1]
    assert len(cluster["cluster_id"]) == 22
    kadmin.close()


def test_auto_create_uses_num_partitions(make_broker):
    b = make_broker({"num.partitions": "4"})
    produce(b.bootstrap, "auto", 10)
    md = admin(b).list_topics(timeout=10)
    assert len(md.topics["auto"].partitions) == 4


def test_topics_and_configs_survive_restart(make_broker):
    b = make_broker()
    a = admin(b)
    wait(a.create_topics([NewTopic("keep", 2, 1, config={"retention.bytes": "12345"})]))
    topic_id_before = open(f"{b.log_dirs}/keep-0/partition.metadata").read()
    assert b.stop() == 0
    b.start()
    a = admin(b)
    assert len(a.list_topics(timeout=10).topics["keep"].partitions) == 2
    res = wait(a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "keep")]))
    assert list(res.values())[0]["retention.bytes"].value == "12345"
    assert open(f"{b.log_dirs}/keep-0/partition.metadata").read() == topic_id_before
