"""Our users' workflow against `make cluster` (tools/cluster.sh): three
KRaft brokers, test-topic with 6 partitions and RF 3, both web apps and
the brokers' metrics endpoints, on free ports in a scratch directory.

- 100 posts to /send while a broker is killed (kill -9) and brought back:
  every post the producer app acknowledged is in the log at the partition
  and offset it reported, and the consumer app consumes all of them;
- the consumer page, loaded in headless Chromium (Debian's `chromium`; a
  screenshot is saved under the test output directory), shows a hostile
  message as text: escaped, never markup;
- sluicectl creates, describes, alters and deletes a topic, and describes
  test-group with zero lag once the consumer app caught up;
- each broker's and each app's /metrics parses as Prometheus text;
- bad input to each endpoint gets its documented status.

Waits are bounded polls (hang guards), never sleeps standing for events."""
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, SLUICECTL, free_run

SCRIPT = os.path.join(ROOT, "tools", "cluster.sh")
OUT = os.environ.get("SLUICE_TEST_OUTPUT", os.path.join(ROOT, "build", "test-output"))
ROUNDS = 1200  # x 0.05 s: a hang guard
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def health(app):
    """The app's /healthz as JSON, or None while it does not answer one (a CI
    run once got a body that was not JSON here, right after the broker's
    restart; not understood yet, see the session notes)."""
    try:
        status, body = http("GET", f"{app}/healthz")
        return json.loads(body) if status == 200 else None
    except (OSError, ValueError):
        return None


def poll(fn, what):
    for _ in range(ROUNDS):
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def ctl(bootstrap, *args):
    r = subprocess.run([SLUICECTL, args[0], "--bootstrap-server", bootstrap, *args[1:]],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture
def cluster():
    d = tempfile.mkdtemp(prefix="sluice-system-")
    env = dict(os.environ, CLUSTER_DIR=d, CLUSTER_CLIENT_PORT=str(free_run(3)),
               CLUSTER_CONTROLLER_PORT=str(free_run(3)), CLUSTER_PRODUCER_PORT=str(free_run(1)),
               CLUSTER_CONSUMER_PORT=str(free_run(1)), CLUSTER_METRICS_PORT=str(free_run(3)))
    r = subprocess.run([SCRIPT, "start"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    env["BOOTSTRAP"] = f"localhost:{env['CLUSTER_CLIENT_PORT']}"
    yield env
    subprocess.run([SCRIPT, "stop"], env=env, capture_output=True, text=True, timeout=300)


def read_back(bootstrap, acked):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "system-read-back", "enable.auto.commit": False})
    parts = sorted({p for p, _ in acked})
    c.assign([TopicPartition("test-topic", p, min(o for q, o in acked if q == p)) for p in parts])
    got = {}
    for _ in range(ROUNDS):
        if all(k in got for k in acked):
            break
        m = c.poll(0.1)
        if m is not None and not m.error():
            got[(m.partition(), m.offset())] = m.value().decode()
    c.close()
    return got


def test_the_users_workflow(cluster):
    producer = f"http://127.0.0.1:{cluster['CLUSTER_PRODUCER_PORT']}"
    consumer = f"http://127.0.0.1:{cluster['CLUSTER_CONSUMER_PORT']}"
    bootstrap = cluster["BOOTSTRAP"]

    # 100 posts from 4 threads; broker 2 is killed after the first 30 and
    # started again after 60 (tools/cluster.sh start restarts what is gone).
    acked, lock, sent = {}, threading.Lock(), [0]
    killed, restarted = threading.Event(), threading.Event()

    def post(t):
        for i in range(25):
            value = json.dumps({"thread": t, "i": i})
            status, body = http("POST", f"{producer}/send?key=t{t}", value.encode())
            assert status == 200, body
            r = json.loads(body)
            with lock:
                acked[(r["partition"], r["offset"])] = value
                sent[0] += 1
                n = sent[0]
            if n >= 30 and not killed.is_set():
                killed.set()
                with open(os.path.join(cluster["CLUSTER_DIR"], "pids", "broker2")) as f:
                    os.kill(int(f.read()), signal.SIGKILL)
            if n >= 60 and killed.is_set() and not restarted.is_set():
                restarted.set()
                r2 = subprocess.run([SCRIPT, "start"], env=cluster, capture_output=True, text=True, timeout=300)
                assert r2.returncode == 0, r2.stdout + r2.stderr

    threads = [threading.Thread(target=post, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(acked) == 100 and killed.is_set() and restarted.is_set()
    got = read_back(bootstrap, acked)
    assert {k: got.get(k) for k in acked} == acked  # nothing acknowledged was lost

    # A hostile message, then the page in a real browser. The page shows the
    # last 10 messages consumed; across the broker's restart the app may
    # read some twice (at-least-once), and a replay after the hostile
    # message would push it off the page: first let the app catch up.
    poll(lambda: (health(consumer) or {}).get("lag") == 0, "the consumer app caught up")
    status, body = http("POST", f"{producer}/send?key=%3Cb%3Ek%3C/b%3E", json.dumps({"html": HOSTILE}).encode())
    assert status == 200, body
    # The app's count is no proof it has the hostile message: across the
    # broker's restart it may read some records twice (at-least-once), so
    # wait for the message itself in its JSON view.
    poll(lambda: "document.title" in (http("GET", f"{consumer}/messages")[1] or ""),
         "the consumer app read the hostile message")
    os.makedirs(OUT, exist_ok=True)
    shot = os.path.join(OUT, "consumer-page.png")
    base = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--timeout=3000", "--window-size=1280,900"]  # the page keeps its live stream open
    r = subprocess.run(base + [f"--screenshot={shot}", consumer + "/"], capture_output=True, text=True, timeout=180)
    assert os.path.getsize(shot) > 1000, r.stderr
    dom = subprocess.run(base + ["--dump-dom", consumer + "/"], capture_output=True, text=True, timeout=180).stdout
    assert "<title>Kafka Messages</title>" in dom  # the script did not set the title
    assert "&lt;script&gt;document.title" in dom and "&lt;img src=x onerror" in dom
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom
    assert "&lt;b&gt;k&lt;/b&gt;" in dom  # the key is text too
    assert dom.count("<tr>") >= 10

    # sluicectl: the topic lifecycle, and the group's lag.
    assert ctl(bootstrap, "topics", "--create", "--topic", "orders", "--partitions", "3",
               "--replication-factor", "3")[0] == 0
    out = ctl(bootstrap, "topics", "--describe", "--topic", "orders")[1]
    assert "PartitionCount: 3\tReplicationFactor: 3" in out
    assert ctl(bootstrap, "topics", "--alter", "--topic", "orders", "--partitions", "6")[0] == 0
    assert "PartitionCount: 6" in ctl(bootstrap, "topics", "--describe", "--topic", "orders")[1]
    assert ctl(bootstrap, "topics", "--delete", "--topic", "orders")[0] == 0

    def zero_lag():
        rc, out, _ = ctl(bootstrap, "consumer-groups", "--describe", "--group", "test-group")
        rows = [line.split() for line in out.splitlines() if line.startswith("test-group")]
        # a partition nobody wrote to has no commit: "-" with log end 0
        return rc == 0 and len(rows) == 6 and all(r[5] == "0" or (r[3], r[4]) == ("-", "0") for r in rows)

    poll(zero_lag, "test-group at zero lag (auto commit every 5 s):\n" +
         ctl(bootstrap, "consumer-groups", "--describe", "--group", "test-group")[1])

    # Every metrics endpoint parses as Prometheus text.
    urls = [f"http://127.0.0.1:{int(cluster['CLUSTER_METRICS_PORT']) + n}/metrics" for n in range(3)]
    urls += [producer + "/metrics", consumer + "/metrics"]
    for url in urls:
        status, text = http("GET", url)
        assert status == 200
        families = {f.name for f in text_string_to_metric_families(text)}
        assert families, url
    broker_families = {f.name for f in text_string_to_metric_families(http("GET", urls[0])[1])}
    assert {"sluice_requests", "sluice_under_replicated_partitions", "sluice_fsync_latency_seconds"} <= \
        broker_families

    # Bad input gets the documented status.
    assert http("POST", f"{producer}/send", b"{not json")[0] == 400
    assert http("POST", f"{producer}/send", b"[1, 2]")[0] == 400
    assert http("GET", f"{producer}/send")[0] == 405
    assert http("GET", f"{producer}/nowhere")[0] == 404
    assert http("POST", f"{consumer}/", b"{}")[0] == 405
    assert http("GET", f"{consumer}/nowhere")[0] == 404
    assert http("GET", urls[0].replace("/metrics", "/other"))[0] == 404
