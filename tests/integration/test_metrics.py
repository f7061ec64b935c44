"""The broker's Prometheus endpoint (sluice.metrics.listener): request
counts and latencies per API, bytes and messages per topic, partition
gauges, the active controller and fsync latencies, as a scrape sees them
after real clients produced and consumed. The text is refreshed once a
second by the broker's loop, so the test polls (bounded) for its figures."""
import re
import time
import urllib.error
import urllib.request

from confluent_kafka import Consumer, Producer

import pytest

from conftest import Broker, free_port

ROUNDS = 600  # x 0.05 s: a hang guard


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def value(text, name, labels=""):
    m = re.search("^" + re.escape(name + ("{" + labels + "}" if labels else "")) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_a_scrape_shows_what_clients_did(make_broker):
    port = free_port()
    b = make_broker({"sluice.metrics.listener": f"127.0.0.1:{port}", "num.partitions": "3"})
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    for i in range(10):
        p.produce("metered", value=b"x" * 100, partition=i % 3)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "m", "auto.offset.reset": "earliest"})
    c.subscribe(["metered"])
    got = 0
    for _ in range(ROUNDS):
        m = c.poll(0.1)
        got += m is not None and not m.error()
        if got == 10:
            break
    c.close()
    assert got == 10
    for _ in range(ROUNDS):
        text = scrape(port)
        bytes_in = value(text, "sluice_topic_bytes_in_total", 'topic="metered"') or 0
        if value(text, "sluice_topic_messages_in_total", 'topic="metered"') == 10 and \
                (value(text, "sluice_topic_bytes_out_total", 'topic="metered"') or 0) >= bytes_in:
            break
        time.sleep(0.05)
    assert value(text, "sluice_topic_messages_in_total", 'topic="metered"') == 10
    assert value(text, "sluice_topic_bytes_in_total", 'topic="metered"') >= 1000
    # every batch was read once: what came in went out
    assert value(text, "sluice_topic_bytes_out_total", 'topic="metered"') >= \
        value(text, "sluice_topic_bytes_in_total", 'topic="metered"')
    assert value(text, "sluice_requests_total", 'api="Produce"') >= 1
    assert value(text, "sluice_requests_total", 'api="JoinGroup"') >= 1
    assert value(text, "sluice_request_latency_seconds_count", 'api="Produce"') == \
        value(text, "sluice_requests_total", 'api="Produce"')
    assert value(text, "sluice_request_latency_seconds_bucket", 'api="Produce",le="+Inf"') == \
        value(text, "sluice_requests_total", 'api="Produce"')
    assert value(text, "sluice_active_controller") == 1
    assert value(text, "sluice_partitions_led") >= 3
    assert value(text, "sluice_under_replicated_partitions") == 0
    assert value(text, "sluice_offline_partitions") == 0
    assert value(text, "sluice_log_size_bytes", 'topic="metered",partition="0"') > 0
    assert value(text, "sluice_fsync_latency_seconds_count") is not None
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=30)
        raise AssertionError("a path other than /metrics was answered")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_a_bad_metrics_listener_stops_the_start(tmp_path):
    b = Broker(str(tmp_path), {"sluice.metrics.listener": "nowhere"})
    with pytest.raises(RuntimeError, match="sluice exited at start"):
        b.start()
    assert b.proc.returncode != 0
    assert "sluice.metrics.listener=nowhere: expected HOST:PORT" in b.log_tail()


def committed_lag(port, group, partitions):
    """(committed offsets, lags, lag sum) of a group from a scrape, once the
    broker's render shows every partition (the text is refreshed each second)."""
    from prometheus_client.parser import text_string_to_metric_families
    for _ in range(ROUNDS):
        committed, lag, total = {}, {}, None
        for fam in text_string_to_metric_families(scrape(port)):
            for s in fam.samples:
                if s.labels.get("group") != group:
                    continue
                if s.name == "sluice_consumer_group_committed_offset":
                    committed[int(s.labels["partition"])] = s.value
                elif s.name == "sluice_consumer_group_lag":
                    lag[int(s.labels["partition"])] = s.value
                elif s.name == "sluice_consumer_group_lag_sum":
                    total = s.value
        if len(committed) == partitions and len(lag) == partitions:
            return committed, lag, total
        time.sleep(0.05)
    raise AssertionError(f"group {group!r} never showed {partitions} partitions")


def test_group_lag_is_what_the_group_left_unread(make_broker):
    """The coordinator's scrape shows each committed offset and the lag to
    the high watermark; a group id with a quote, a backslash and a newline
    is escaped and the text still parses as Prometheus reads it."""
    from confluent_kafka import TopicPartition
    port = free_port()
    b = make_broker({"sluice.metrics.listener": f"127.0.0.1:{port}", "num.partitions": "2"})
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    for i in range(20):
        p.produce("lagging", value=b"v%d" % i, partition=i % 2)
    assert p.flush(30) == 0
    group = 'lag "g"\\1\nx'
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    # 3 of partition 0's 10 records and 6 of partition 1's are committed read
    c.commit(offsets=[TopicPartition("lagging", 0, 3), TopicPartition("lagging", 1, 6)],
             asynchronous=False)
    committed, lag, total = committed_lag(port, group, 2)
    assert committed == {0: 3, 1: 6}
    assert lag == {0: 7, 1: 4} and total == 11
    c.commit(offsets=[TopicPartition("lagging", 0, 10), TopicPartition("lagging", 1, 10)],
             asynchronous=False)
    for _ in range(ROUNDS):
        committed, lag, total = committed_lag(port, group, 2)
        if total == 0:
            break
        time.sleep(0.05)
    c.close()
    assert lag == {0: 0, 1: 0} and total == 0
