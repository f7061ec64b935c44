"""Kafka 3.9's full topic and broker config catalog as clients see it:
CreateTopics accepts every topic config and checks its value, DescribeConfigs
answers every config with its source."""
import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import InvalidConfigurationError

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
