"""Kafka 3.9's full topic and broker config catalog as clients see it:
CreateTopics accepts every topic config and checks its value, DescribeConfigs
answers every config with its source."""
import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import InvalidConfigurationError
from conftest import stop_all

DEFAULT_CONFIG, DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG = 5, 1, 4


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)


def entries(a, rtype, name):
    res = a.describe_configs([ConfigResource(rtype, name)])[0].resources[0]
    assert res[0] == 0, res
    # (name, value, read_only, config_source, is_sensitive, synonyms)
    return {e[0]: e for e in res[4]}


def test_delete_retention_ms_created_and_described(make_broker):
    b = make_broker({"log.cleaner.delete.retention.ms": "5000", "num.io.threads": "4"})
    a = admin(b)
    try:
        r = a.create_topics([NewTopic("tombstones", 1, 1,
                                      topic_configs={"delete.retention.ms": "900",
                                                     "min.cleanable.dirty.ratio": "0.2"})])
        assert r.topic_errors[0][1] == 0, r
        cfg = entries(a, ConfigResourceType.TOPIC, "tombstones")
        assert len(cfg) == 36  # every topic config of Kafka 3.9
        assert cfg["delete.retention.ms"][1] == "900"
        assert cfg["delete.retention.ms"][3] == DYNAMIC_TOPIC_CONFIG
        assert cfg["min.cleanable.dirty.ratio"][1] == "0.2"
        assert cfg["segment.jitter.ms"][1:4] == ("0", False, DEFAULT_CONFIG)
        assert cfg["compression.zstd.level"][1] == "3"
        other = a.create_topics([NewTopic("plain", 1, 1)])
        assert other.topic_errors[0][1] == 0
        plain = entries(a, ConfigResourceType.TOPIC, "plain")
        assert plain["delete.retention.ms"][1] == "5000"  # the broker's synonym
        assert plain["delete.retention.ms"][3] == STATIC_BROKER_CONFIG
        broker_cfg = entries(a, ConfigResourceType.BROKER, "1")
        assert len(broker_cfg) > 300
        assert broker_cfg["num.io.threads"][1:4] == ("4", True, STATIC_BROKER_CONFIG)
        assert broker_cfg["log.cleaner.threads"][1] == "1"
        assert broker_cfg["log.cleaner.threads"][3] == DEFAULT_CONFIG
        assert broker_cfg["ssl.key.password"][1] is None and broker_cfg["ssl.key.password"][4]
    finally:
        a.close()


@pytest.mark.parametrize("key,value,why", [
    ("delete.retention.ms", "-1", "Value must be at least 0"),
    ("min.cleanable.dirty.ratio", "2", "Value must be no more than 1"),
    ("segment.bytes", "big", "Not a number of type INT"),
    ("preallocate", "maybe", "Expected value to be either true or false"),
    ("no.such.config", "1", "Unknown topic config name: no.such.config"),
])
def test_bad_topic_config_is_invalid_config(broker, key, value, why):
    a = admin(broker)
    try:
        with pytest.raises(InvalidConfigurationError) as e:
            a.create_topics([NewTopic("bad", 1, 1, topic_configs={key: value})])
        assert why in str(e.value)
        assert "bad" not in [t for t in a.list_topics()]  # nothing was created
    finally:
        a.close()


def test_confluent_kafka_sees_the_catalog(broker):
    ck = pytest.importorskip("confluent_kafka.admin")
    a = ck.AdminClient({"bootstrap.servers": broker.bootstrap})
    fs = a.create_topics([ck.NewTopic("ck", 1, 1, config={"delete.retention.ms": "900",
                                                          "max.compaction.lag.ms": "60000"})])
    fs["ck"].result(30)
    res = ck.ConfigResource("topic", "ck")
    cfg = a.describe_configs([res])[res].result(30)
    assert cfg["delete.retention.ms"].value == "900"
    assert cfg["max.compaction.lag.ms"].value == "60000"
    assert cfg["local.retention.ms"].value == "-2"
    assert cfg["local.retention.ms"].is_default


# ---- AlterConfigs (API 33) and IncrementalAlterConfigs (API 44, KIP-339) ----

INCREMENTAL_ALTER_CONFIGS = 44
TOPIC = 2
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def incremental_alter(port, topic, ops, validate_only=False, resource_type=TOPIC):
    """IncrementalAlterConfigs v0 on the wire (no client here has it):
    [(name, op, value)] on one topic (or other resource); (error code,
    message)."""
    import struct

    from test_idempotence import request

    def string(s):
        return struct.pack(">h", -1) if s is None else struct.pack(">h", len(s)) + s.encode()

    body = struct.pack(">ib", 1, resource_type) + string(topic) + struct.pack(">i", len(ops))
    for name, op, value in ops:
        body += string(name) + struct.pack(">b", op) + string(value)
    body += struct.pack(">?", validate_only)
    resp = request(port, INCREMENTAL_ALTER_CONFIGS, 0, body)
    _, count, error, mlen = struct.unpack(">iihh", resp[:12])
    assert count == 1
    message = resp[12:12 + mlen].decode() if mlen >= 0 else None
    return error, message


def ck_admin(b):
    ck = pytest.importorskip("confluent_kafka.admin")
    return ck, ck.AdminClient({"bootstrap.servers": b.bootstrap})


def ck_describe(ck, a, topic):
    res = ck.ConfigResource("topic", topic)
    return a.describe_configs([res])[res].result(30)


def test_alter_configs_through_one_broker_described_through_another():
    """Three KRaft nodes: AlterConfigs sent to a broker that is not the active
    controller is forwarded, committed as ConfigRecords, and described by
    another broker with source DYNAMIC_TOPIC_CONFIG; validate_only changes
    nothing; a bad value is INVALID_CONFIG with Kafka's message."""
    from confluent_kafka import KafkaError, KafkaException

    from conftest import trio
    from test_quorum import create_topic, wait_leader, wait_metadata

    nodes = trio()
    try:
        for b in nodes:
            b.start()
        leader, _ = wait_leader(nodes, [0, 1, 2])
        wait_metadata(nodes, [0, 1, 2], [1, 2, 3], {})
        via, other = [i for i in range(3) if i != leader - 1]
        create_topic(nodes[leader - 1], "altered", 1)
        ck, a = ck_admin(nodes[via])
        res = ck.ConfigResource("topic", "altered", set_config={"retention.ms": "3600000"})
        a.alter_configs([res])[res].result(30)
        # The answer leaves once the forwarding broker's image has the change;
        # the other broker applies the same committed record.
        ck_other, d = ck_admin(nodes[other])
        for _ in range(200):
            cfg = ck_describe(ck_other, d, "altered")
            if cfg["retention.ms"].value == "3600000":
                break
        assert cfg["retention.ms"].value == "3600000"
        assert cfg["retention.ms"].source == ck.ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        assert not cfg["retention.ms"].is_default
        assert ck_describe(ck, a, "altered")["retention.ms"].value == "3600000"

        dry = ck.ConfigResource("topic", "altered", set_config={"retention.ms": "60000"})
        a.alter_configs([dry], validate_only=True)[dry].result(30)
        assert ck_describe(ck, a, "altered")["retention.ms"].value == "3600000"

        bad = ck.ConfigResource("topic", "altered", set_config={"retention.ms": "soon"})
        with pytest.raises(KafkaException) as e:
            a.alter_configs([bad])[bad].result(30)
        assert e.value.args[0].code() == KafkaError.INVALID_CONFIG
        assert "Invalid value soon for configuration retention.ms" in str(e.value)
        assert ck_describe(ck, a, "altered")["retention.ms"].value == "3600000"

        missing = ck.ConfigResource("topic", "nowhere", set_config={"retention.ms": "1000"})
        with pytest.raises(KafkaException) as e:
            a.alter_configs([missing])[missing].result(30)
        assert e.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART

        # AlterConfigs sets the whole set: an override it does not name goes.
        whole = ck.ConfigResource("topic", "altered", set_config={"segment.ms": "7200000"})
        a.alter_configs([whole])[whole].result(30)
        cfg = ck_describe(ck, a, "altered")
        assert cfg["segment.ms"].value == "7200000"
        assert cfg["retention.ms"].source != ck.ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


def test_incremental_alter_configs_set_delete_append_subtract(broker):
    ck, a = ck_admin(broker)
    a.create_topics([ck.NewTopic("inc", 1, 1, config={"retention.ms": "3600000"})])["inc"].result(30)
    key = "leader.replication.throttled.replicas"  # a LIST config
    assert incremental_alter(broker.port, "inc", [("segment.ms", SET, "7200000"),
                                                  ("retention.ms", DELETE, None),
                                                  (key, APPEND, "0:1,1:1")]) == (0, None)
    cfg = ck_describe(ck, a, "inc")
    assert cfg["segment.ms"].value == "7200000"
    assert cfg["segment.ms"].source == ck.ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg["retention.ms"].is_default or \
        cfg["retention.ms"].source != ck.ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg[key].value == "0:1,1:1"
    assert incremental_alter(broker.port, "inc", [(key, APPEND, "1:1,2:1")])[0] == 0
    assert ck_describe(ck, a, "inc")[key].value == "0:1,1:1,2:1"
    assert incremental_alter(broker.port, "inc", [(key, SUBTRACT, "0:1")])[0] == 0
    assert ck_describe(ck, a, "inc")[key].value == "1:1,2:1"
    # validate_only, a list op on a non-list config, an unknown name, a bad value
    assert incremental_alter(broker.port, "inc", [("segment.ms", SET, "1")], True)[0] == 0
    assert ck_describe(ck, a, "inc")["segment.ms"].value == "7200000"
    error, message = incremental_alter(broker.port, "inc", [("segment.ms", APPEND, "1")])
    assert error == 42 and "append" in message  # INVALID_REQUEST
    error, message = incremental_alter(broker.port, "inc", [("no.such.config", SET, "1")])
    assert error == 40 and "Unknown topic config name: no.such.config" in message
    error, message = incremental_alter(broker.port, "inc", [("segment.ms", SET, "-5")])
    assert error == 40 and "segment.ms" in message  # INVALID_CONFIG
    assert ck_describe(ck, a, "inc")["segment.ms"].value == "7200000"


def test_dynamic_broker_config_described_with_its_source(broker):
    """AlterConfigs on a broker resource (this broker's id, and "" for every
    broker): stored as ConfigRecords and described as
    DYNAMIC_BROKER_CONFIG / DYNAMIC_DEFAULT_BROKER_CONFIG."""
    ck, a = ck_admin(broker)
    # librdkafka 1.7 refuses an empty broker name: the wire, for "".
    assert incremental_alter(broker.port, "", [("log.cleaner.threads", SET, "3"),
                                               ("background.threads", SET, "12")],
                             resource_type=4) == (0, None)
    own = ck.ConfigResource("broker", "1", set_config={"log.cleaner.threads": "2"})
    a.alter_configs([own])[own].result(30)
    res = ck.ConfigResource("broker", "1")
    cfg = a.describe_configs([res])[res].result(30)
    assert cfg["log.cleaner.threads"].value == "2"
    assert cfg["log.cleaner.threads"].source == ck.ConfigSource.DYNAMIC_BROKER_CONFIG.value
    assert cfg["background.threads"].value == "12"
    assert cfg["background.threads"].source == \
        ck.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    bad = ck.ConfigResource("broker", "1", set_config={"log.cleaner.threads": "many"})
    from confluent_kafka import KafkaException

    with pytest.raises(KafkaException) as e:
        a.alter_configs([bad])[bad].result(30)
    assert "log.cleaner.threads" in str(e.value)
    assert a.describe_configs([res])[res].result(30)["log.cleaner.threads"].value == "2"
