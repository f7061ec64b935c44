"""The users' web apps against a real bin/sluice: the producer app
(POST /send, port 8001 in production) and the consumer app (the last 10
messages at /, /messages and live over Server-Sent Events at /events, port
8002), as the seed system's users call them: the seed's own curl request,
KAFKA_BOOTSTRAP_SERVERS from a .env file, a key parameter, invalid JSON,
a body over the limit, a cluster that is down, two consumer instances
sharing the partitions, and every acknowledged send read back from the log
at the partition and offset the app reported.

Waits are bounded rounds of HTTP polls or client polls (hang guards), never
sleeps standing in for an event."""
import http.client
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
import urllib.error

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import ROOT, free_port

# make asan points it at the apps built with AddressSanitizer and UBSan.
APPS_DIR = os.environ.get("SLUICE_APPS_DIR", os.path.join(ROOT, "bin"))
PRODUCER_APP = os.path.join(APPS_DIR, "sluice-producer-app")
CONSUMER_APP = os.path.join(APPS_DIR, "sluice-consumer-app")
TOPIC = "test-topic"
BROKER = {"num.partitions": "6", "group.initial.rebalance.delay.ms": "0"}
ROUNDS = 1200  # x 0.05 s: a hang guard, not a speed test


class App:
    def __init__(self, binary, args, env=None, cwd=None):
        self.port = free_port()
        self.dir = cwd or tempfile.mkdtemp(prefix="sluice-app-")
        self.log = os.path.join(self.dir, os.path.basename(binary) + ".log")
        out = open(self.log, "a")
        full_env = dict(os.environ)
        full_env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen([binary, "--port", str(self.port)] + args, cwd=self.dir,
                                     stdout=out, stderr=out, env=full_env)
        for _ in range(ROUNDS):
            assert self.proc.poll() is None, self.tail()
            try:
                self.get("/metrics")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("app did not answer:\n" + self.tail())

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, timeout=60):
        req = urllib.request.Request(self.url(path), data=body, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body.encode() if isinstance(body, str) else body)

    def tail(self):
        with open(self.log) as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=60)
        return self.proc.returncode


@pytest.fixture
def apps():
    made = []

    def make(binary, args, env=None, cwd=None):
        a = App(binary, args, env, cwd)
        made.append(a)
        return a

    yield make
    for a in made:
        if a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()


def poll_until(fn, what):
    for _ in range(ROUNDS):
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def read_back(bootstrap, acked):
    """{(partition, offset): value} of every acknowledged send, read from
    the log by a consumer assigned those offsets."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "read-back", "enable.auto.commit": False})
    parts = sorted({p for p, _ in acked})
    lowest = {p: min(o for q, o in acked if q == p) for p in parts}
    c.assign([TopicPartition(TOPIC, p, lowest[p]) for p in parts])
    got = {}
    for _ in range(ROUNDS):
        if all(k in got for k in acked):
            break
        m = c.poll(0.1)
        if m is not None and not m.error():
            got[(m.partition(), m.offset())] = m.value().decode()
    c.close()
    return got


def test_the_seeds_request_is_sent_and_shown_escaped(make_broker, apps):
    b = make_broker(BROKER)
    producer = apps(PRODUCER_APP, ["--bootstrap-server", b.bootstrap])
    consumer = apps(CONSUMER_APP, ["--bootstrap-server", b.bootstrap])
    status, body = producer.post("/send", '{"key": "Hello Kafka!"}')
    assert status == 200, body
    sent = json.loads(body)
    assert sent["status"] == "sent" and sent["topic"] == TOPIC and sent["offset"] >= 0
    status, body = producer.post("/send?key=user-7", '{"html": "<script>alert(1)</script>"}')
    assert status == 200, body
    keyed = json.loads(body)

    def shown():
        msgs = json.loads(consumer.get("/messages")[1])
        return msgs if len(msgs) == 2 else None

    msgs = shown() or poll_until(shown, "both messages in /messages")
    # Newest first in the order consumed; two partitions may come in either order.
    by_key = {m["key"]: m for m in msgs}
    assert by_key["user-7"]["value"] == {"html": "<script>alert(1)</script>"}
    assert (by_key["user-7"]["partition"], by_key["user-7"]["offset"]) == (keyed["partition"], keyed["offset"])
    assert by_key[None]["value"] == {"key": "Hello Kafka!"}
    assert (by_key[None]["partition"], by_key[None]["offset"]) == (sent["partition"], sent["offset"])
    status, page = consumer.get("/")
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    first = "user-7" if msgs[0]["key"] == "user-7" else "Hello Kafka!"
    second = "Hello Kafka!" if first == "user-7" else "user-7"
    assert page.index(first) < page.index(second)  # the page lists them as /messages does
    health = json.loads(consumer.get("/healthz")[1])
    assert health["status"] == "ok" and health["group"] == "test-group" and health["consumed"] == 2
    assert "sluice_app_messages_sent_total 2" in producer.get("/metrics")[1]
    assert "sluice_app_messages_consumed_total 2" in consumer.get("/metrics")[1]
    assert producer.stop() == 0 and consumer.stop() == 0


def test_bad_requests_get_a_reason(make_broker, apps):
    b = make_broker(BROKER)
    producer = apps(PRODUCER_APP, ["--bootstrap-server", b.bootstrap, "--max-body-bytes", "1024"])
    status, body = producer.post("/send", '{"key": ')
    assert status == 400 and "invalid JSON at byte 8" in json.loads(body)["error"]
    status, body = producer.post("/send", '["not", "an object"]')
    assert status == 400 and "JSON object" in json.loads(body)["error"]
    status, body = producer.post("/send", '{"big": "' + "x" * 2000 + '"}')
    assert status == 413 and "--max-body-bytes" in json.loads(body)["error"]
    assert producer.get("/send")[0] == 405
    assert producer.get("/nowhere")[0] == 404
    assert "sluice_app_requests_rejected_total 3" in producer.get("/metrics")[1]
    assert "sluice_app_messages_sent_total 0" in producer.get("/metrics")[1]


def test_bootstrap_servers_come_from_the_env_file(make_broker, apps):
    b = make_broker(BROKER)
    d = tempfile.mkdtemp(prefix="sluice-app-")
    with open(os.path.join(d, ".env"), "w") as f:
        f.write(f"KAFKA_BOOTSTRAP_SERVERS={b.bootstrap}\n")
    producer = apps(PRODUCER_APP, [], cwd=d)
    status, body = producer.post("/send", '{"from": "dotenv"}')
    assert status == 200, body
    assert json.loads(producer.get("/healthz")[1])["status"] == "ok"


def test_every_acknowledged_send_is_in_the_log_where_the_app_said(make_broker, apps):
    b = make_broker(BROKER)
    producer = apps(PRODUCER_APP, ["--bootstrap-server", b.bootstrap])
    acked = {}
    lock = threading.Lock()

    def sender(t):
        for i in range(50):
            value = json.dumps({"sender": t, "i": i})
            status, body = producer.post(f"/send?key=s{t}", value)
            assert status == 200, body
            r = json.loads(body)
            with lock:
                acked[(r["partition"], r["offset"])] = value

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(acked) == 400  # 400 distinct (partition, offset) pairs
    per_key = {}
    for (p, _), v in acked.items():
        per_key.setdefault(json.loads(v)["sender"], set()).add(p)
    assert all(len(ps) == 1 for ps in per_key.values())  # one key, one partition
    got = read_back(b.bootstrap, acked)
    assert {k: got.get(k) for k in acked} == acked


def test_a_cluster_that_is_down_gets_503_and_comes_back(make_broker, apps):
    b = make_broker(BROKER)
    producer = apps(PRODUCER_APP, ["--bootstrap-server", b.bootstrap, "--delivery-timeout-ms", "3000"])
    assert producer.post("/send", '{"n": 1}')[0] == 200
    b.kill9()
    status, body = producer.post("/send", '{"n": 2}')
    assert status == 503, body
    assert json.loads(body)["status"] == "error"
    assert producer.get("/healthz")[0] == 503
    b.start()
    status, body = poll_until(lambda: (lambda r: r if r[0] == 200 else None)(producer.post("/send", '{"n": 3}')),
                              "a send after the restart")
    r = json.loads(body)
    got = read_back(b.bootstrap, {(r["partition"], r["offset"]): '{"n": 3}'})
    assert got[(r["partition"], r["offset"])] == '{"n": 3}'


def test_live_events_and_two_instances_share_the_partitions(make_broker, apps):
    b = make_broker(BROKER)
    producer = apps(PRODUCER_APP, ["--bootstrap-server", b.bootstrap])
    one = apps(CONSUMER_APP, ["--bootstrap-server", b.bootstrap])
    assert producer.post("/send", '{"warm": "up"}')[0] == 200  # creates the topic
    poll_until(lambda: json.loads(one.get("/healthz")[1])["assigned_partitions"] == 6, "one instance owns all 6")
    two = apps(CONSUMER_APP, ["--bootstrap-server", b.bootstrap])

    def split():
        a = json.loads(one.get("/healthz")[1])["assigned_partitions"]
        c = json.loads(two.get("/healthz")[1])["assigned_partitions"]
        return a + c == 6 and a > 0 and c > 0

    poll_until(split, "two instances sharing the 6 partitions")
    conn = http.client.HTTPConnection("127.0.0.1", one.port, timeout=60)
    conn.request("GET", "/events")
    stream = conn.getresponse()
    assert stream.status == 200 and stream.getheader("Content-Type") == "text/event-stream"
    ours = set(json.loads(one.get("/healthz")[1])["partitions"])
    # Send to every partition: exactly the sends to the first instance's
    # partitions reach its live view.
    expected = set()
    for i in range(24):
        status, body = producer.post(f"/send?key=k{i}", json.dumps({"live": i}))
        assert status == 200
        if json.loads(body)["partition"] in ours:
            expected.add(i)
    assert expected and len(ours) < 6
    seen = set()
    for _ in range(ROUNDS):
        if seen >= expected:
            break
        line = stream.readline().decode()
        if line.startswith("data: "):
            m = json.loads(line[6:])
            if "live" in m["value"]:
                assert m["partition"] in ours
                seen.add(m["value"]["live"])
    conn.close()
    assert seen == expected
    assert one.stop() == 0 and two.stop() == 0
