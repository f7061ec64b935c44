"""make cluster (tools/cluster.sh): three KRaft brokers in combined mode,
test-topic with 6 partitions and replication factor 3, and both web apps,
started and stopped as our users' operators would; here on free ports and
in a scratch directory so it runs beside anything else."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

from conftest import ROOT, SLUICECTL, free_run

SCRIPT = os.path.join(ROOT, "tools", "cluster.sh")
ROUNDS = 1200  # x 0.05 s polls: a hang guard


def test_make_cluster_runs_the_users_system_and_stops_it():
    d = tempfile.mkdtemp(prefix="sluice-cluster-")
    env = dict(os.environ, CLUSTER_DIR=d, CLUSTER_CLIENT_PORT=str(free_run(3)),
               CLUSTER_CONTROLLER_PORT=str(free_run(3)), CLUSTER_PRODUCER_PORT=str(free_run(1)),
               CLUSTER_CONSUMER_PORT=str(free_run(1)), CLUSTER_METRICS_PORT=str(free_run(3)))
    client = int(env["CLUSTER_CLIENT_PORT"])
    try:
        r = subprocess.run([SCRIPT, "start"], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Created topic test-topic." in r.stdout and "3 brokers at" in r.stdout
        bootstrap = f"localhost:{client}"
        out = subprocess.run([SLUICECTL, "topics", "--bootstrap-server", bootstrap, "--describe", "--topic",
                              "test-topic"], capture_output=True, text=True, timeout=60).stdout
        assert "PartitionCount: 6\tReplicationFactor: 3\tConfigs: compression.type=gzip" in out
        assert all(len(line.split("Replicas: ")[1].split()[0].split(",")) == 3
                   for line in out.splitlines()[1:])
        for n in (1, 2, 3):
            assert os.path.isfile(os.path.join(d, "data", f"broker{n}", "meta.properties"))
        req = urllib.request.Request(f"http://127.0.0.1:{env['CLUSTER_PRODUCER_PORT']}/send",
                                     data=b'{"key": "Hello Kafka!"}', method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            sent = json.loads(resp.read())
        assert sent["status"] == "sent"
        page_url = f"http://127.0.0.1:{env['CLUSTER_CONSUMER_PORT']}/"
        for _ in range(ROUNDS):
            with urllib.request.urlopen(page_url, timeout=60) as resp:
                page = resp.read().decode()
            if "Hello Kafka!" in page:
                break
            time.sleep(0.05)
        assert "Hello Kafka!" in page
        status = subprocess.run([SCRIPT, "status"], env=env, capture_output=True, text=True, timeout=60).stdout
        assert status.count("running") == 5
        for n in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{int(env['CLUSTER_METRICS_PORT']) + n}/metrics",
                                        timeout=60) as resp:
                assert "sluice_partitions_led" in resp.read().decode()
    finally:
        r = subprocess.run([SCRIPT, "stop"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "stopped 5 processes" in r.stdout, r.stdout + r.stderr
    assert "ignored SIGTERM" not in r.stderr
    status = subprocess.run([SCRIPT, "status"], env=env, capture_output=True, text=True, timeout=60).stdout
    assert status.count("stopped") == 5
