"""deploy/: the VM deployment. The scripts pass shellcheck; render-config.sh
gives three configs that bin/sluice accepts and that form a cluster here
(on free ports through its own flags); install.sh lays out a staging root
and changes nothing the second time; systemd-analyze accepts the units;
gcp.sh --dry-run prints the gcloud commands and runs none."""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml

from conftest import ROOT, SLUICE, SLUICECTL, free_port

DEPLOY = os.path.join(ROOT, "deploy")
RENDER = os.path.join(DEPLOY, "render-config.sh")
INSTALL = os.path.join(DEPLOY, "install.sh")
GCP = os.path.join(DEPLOY, "gcp.sh")
FORMAT = os.path.join(DEPLOY, "sluice-storage-format.sh")
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
PEERS = ["1@10.128.0.11", "2@10.128.0.12", "3@10.128.0.13"]
ROUNDS = 2400  # x 25 ms polls: a hang guard, not a speed target
UNITS = ["sluice.service", "sluice-producer-app.service", "sluice-consumer-app.service"]


ALERTS = os.path.join(DEPLOY, "prometheus", "sluice-alerts.yml")


def alert_metrics(prefix):
    """The metric names the example alert rules use, with the given prefix
    (histogram series by their _bucket name)."""
    with open(ALERTS) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    names = set()
    for r in rules:
        names |= set(re.findall(r"\b(sluice_\w+)", r["expr"]))
    return {n for n in names if n.startswith(prefix) and not n.startswith("sluice_app_")}


def test_alert_rules_parse_and_name_documented_app_metrics():
    with open(ALERTS) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {"SluiceUnderReplicatedPartitions", "SluiceOfflinePartitions",
                                           "SluiceNoActiveController", "SluiceConsumerLag"}
    assert all(r["labels"]["severity"] in ("warning", "critical") and r["annotations"]["summary"] for r in rules)
    apps_doc = open(os.path.join(ROOT, "docs", "apps.md")).read()
    app_names = {n for r in rules for n in re.findall(r"\b(sluice_app_\w+)", r["expr"])}
    assert app_names and all(n in apps_doc for n in app_names)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def props(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def test_shellcheck_passes_every_deploy_script():
    scripts = sorted(glob.glob(os.path.join(DEPLOY, "*.sh")))
    assert len(scripts) == 4, scripts
    r = run(["shellcheck", "--severity=style", *scripts])
    assert r.returncode == 0, r.stdout + r.stderr


def test_render_config_fills_the_users_layout():
    r = run([RENDER, "2", *PEERS])
    assert r.returncode == 0, r.stderr
    p = props(r.stdout)
    assert p["node.id"] == "2" and p["process.roles"] == "broker,controller"
    assert p["controller.quorum.voters"] == "1@10.128.0.11:10092,2@10.128.0.12:10092,3@10.128.0.13:10092"
    assert p["listeners"] == "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:10092"
    assert p["advertised.listeners"] == "PLAINTEXT://10.128.0.12:9092"
    assert p["log.dirs"] == "/var/lib/sluice/data"
    assert (p["default.replication.factor"], p["min.insync.replicas"], p["num.partitions"]) == ("3", "2", "6")
    assert (p["log.retention.hours"], p["log.retention.bytes"], p["compression.type"]) == \
        ("168", "1073741824", "gzip")
    assert p["sluice.metrics.listener"] == "0.0.0.0:9404"
    assert not re.search(r"@[A-Z_]+@", r.stdout)
    env = dict(os.environ, SLUICE_DATA_DIR="/var/kafka/logs/broker2")
    assert props(run([RENDER, "2", *PEERS], env=env).stdout)["log.dirs"] == "/var/kafka/logs/broker2"


@pytest.mark.parametrize("args,reason", [
    ([], "usage"),
    (["x", "1@a"], "NODE_ID must be a non-negative integer"),
    (["4", "1@a", "2@b"], "node 4 is not among the peers"),
    (["1", "1@a", "1@b"], "node id 1 appears twice"),
    (["1", "1@a;rm"], "must be an IPv4 address or a host name"),
    (["1", "1@a:70000"], "must be a port number"),
    (["1", "one@a"], "is not ID@HOST"),
    (["--client-port", "0", "1", "1@a"], "--client-port must be a port number"),
    (["--data-dir", "data", "1", "1@a"], "--data-dir must be an absolute path"),
    (["--data-dir", "/a b", "1", "1@a"], "--data-dir may hold only"),
    (["--bogus", "1", "1@a"], "unknown option --bogus"),
    (["--template", "/nonexistent", "1", "1@a"], "cannot read the template"),
])
def test_render_config_refuses_bad_input(args, reason):
    r = run([RENDER, *args])
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("render-config: ") and reason in r.stderr and r.stderr.count("\n") == 1, r.stderr


def wait_port(port, proc, log):
    for _ in range(ROUNDS):
        assert proc.poll() is None, open(log).read()[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.025)
    raise AssertionError(f"port {port} never opened: " + open(log).read()[-3000:])


def quorum_status(controllers):
    r = run([SLUICECTL, "metadata-quorum", "--bootstrap-controller", controllers, "describe", "--status"])
    if r.returncode != 0:
        return {}
    return dict(re.match(r"(\w+):\s+(.*)", line).groups() for line in r.stdout.splitlines())


def test_rendered_configs_form_a_cluster_with_rf3(tmp_path):
    client = {n: free_port() for n in (1, 2, 3)}
    controller = {n: free_port() for n in (1, 2, 3)}
    metrics = {n: free_port() for n in (1, 2, 3)}
    peers = [f"{n}@127.0.0.1:{controller[n]}" for n in (1, 2, 3)]
    id_file = tmp_path / "cluster.id"
    id_file.write_text(CLUSTER_ID + "\n")
    env = dict(os.environ, SLUICECTL=SLUICECTL)
    procs, logs = {}, {}
    try:
        for n in (1, 2, 3):
            r = run([RENDER, "--bind", "127.0.0.1", "--client-port", str(client[n]), "--metrics-port",
                     str(metrics[n]), "--data-dir", str(tmp_path / f"data{n}"), str(n), *peers])
            assert r.returncode == 0, r.stderr
            assert props(r.stdout)["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{client[n]}"
            cfg = tmp_path / f"server{n}.properties"
            cfg.write_text(r.stdout)
            for _ in range(2):  # the unit's ExecStartPre: formats once, then a no-op
                f = run([FORMAT, str(cfg), str(id_file)], env=env)
                assert f.returncode == 0, f.stdout + f.stderr
            meta = props((tmp_path / f"data{n}" / "meta.properties").read_text())
            assert (meta["cluster.id"], meta["node.id"]) == (CLUSTER_ID, str(n))
            logs[n] = str(tmp_path / f"broker{n}.log")
            with open(logs[n], "w") as log:
                procs[n] = subprocess.Popen([SLUICE, "--config", str(cfg)], stdout=log, stderr=log)
        for n in (1, 2, 3):
            wait_port(client[n], procs[n], logs[n])
        controllers = ",".join(f"127.0.0.1:{controller[n]}" for n in (1, 2, 3))
        for _ in range(ROUNDS):
            s = quorum_status(controllers)
            if s.get("LeaderId") in ("1", "2", "3"):
                break
            time.sleep(0.025)
        assert s.get("LeaderId") in ("1", "2", "3"), s
        voters = re.findall(r'"id": (\d+)', s["CurrentVoters"])
        assert sorted(voters) == ["1", "2", "3"], s
        bootstrap = ",".join(f"127.0.0.1:{client[n]}" for n in (1, 2, 3))
        # No --partitions nor --replication-factor: the rendered defaults apply.
        r = run([SLUICECTL, "topics", "--bootstrap-server", bootstrap, "--create", "--topic", "test-topic"])
        assert r.returncode == 0, r.stderr
        d = run([SLUICECTL, "topics", "--bootstrap-server", bootstrap, "--describe", "--topic", "test-topic"])
        assert "PartitionCount: 6\tReplicationFactor: 3" in d.stdout, d.stdout + d.stderr
        replica_sets = re.findall(r"Replicas: ([\d,]+)", d.stdout)
        assert len(replica_sets) == 6 and all(sorted(x.split(",")) == ["1", "2", "3"] for x in replica_sets)
        p = run([SLUICECTL, "produce", "--bootstrap-server", bootstrap, "--topic", "test-topic"],
                input="deployed\n")
        assert p.returncode == 0, p.stderr
        c = run([SLUICECTL, "consume", "--bootstrap-server", bootstrap, "--topic", "test-topic",
                 "--from-beginning", "--max-messages", "1", "--timeout-ms", "60000"])
        assert c.stdout == "deployed\n", c.stdout + c.stderr
        # A fourth VM joins as a broker only (not a voter), as when the
        # cluster grows: the same voters, its own host.
        client[4], metrics[4] = free_port(), free_port()
        r = run([RENDER, "--broker-only", "--host", "127.0.0.1", "--bind", "127.0.0.1", "--client-port",
                 str(client[4]), "--metrics-port", str(metrics[4]), "--data-dir", str(tmp_path / "data4"),
                 "4", *peers])
        assert r.returncode == 0 and props(r.stdout)["process.roles"] == "broker", r.stderr
        cfg = tmp_path / "server4.properties"
        cfg.write_text(r.stdout)
        assert run([FORMAT, str(cfg), str(id_file)], env=env).returncode == 0
        logs[4] = str(tmp_path / "broker4.log")
        with open(logs[4], "w") as log:
            procs[4] = subprocess.Popen([SLUICE, "--config", str(cfg)], stdout=log, stderr=log)
        wait_port(client[4], procs[4], logs[4])
        for _ in range(ROUNDS):
            d = run([SLUICECTL, "cluster", "describe", "--bootstrap-server", bootstrap])
            if f"127.0.0.1:{client[4]}" in d.stdout:
                break
            time.sleep(0.025)
        assert f"127.0.0.1:{client[4]}" in d.stdout, d.stdout + d.stderr
        # Every broker metric the example alert rules use is served.
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics[1]}/metrics", timeout=60) as resp:
            scraped = set(re.findall(r"^(sluice_\w+)", resp.read().decode(), re.M))
        assert alert_metrics("sluice_") <= scraped, alert_metrics("sluice_") - scraped
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in procs.values():
            try:
                codes.append(proc.wait(timeout=120))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
    assert codes == [0] * len(procs), [open(logs[n]).read()[-2000:] for n in logs]


def test_storage_format_helper_says_what_is_missing(tmp_path):
    r = run([FORMAT, str(tmp_path / "server.properties"), str(tmp_path / "cluster.id")])
    assert r.returncode == 2 and "cluster.id is missing: run 'sluicectl storage random-uuid'" in r.stderr
    (tmp_path / "cluster.id").write_text("not-an-id\n")
    r = run([FORMAT, str(tmp_path / "server.properties"), str(tmp_path / "cluster.id")])
    assert r.returncode == 2 and "does not hold a cluster id" in r.stderr


def install(root, *args):
    return run([INSTALL, "--root", str(root), *args])


def test_install_lays_out_a_staging_root_once(tmp_path):
    root = tmp_path / "root"
    r = install(root, "--cluster-id", CLUSTER_ID, "2", *PEERS)
    assert r.returncode == 0, r.stdout + r.stderr
    for b in ("sluice", "sluicectl", "sluice-producer-app", "sluice-consumer-app"):
        f = root / "usr/local/bin" / b
        assert f.is_file() and os.access(f, os.X_OK)
        assert f.read_bytes() == open(os.path.join(ROOT, "bin", b), "rb").read()
    assert os.access(root / "usr/local/libexec/sluice/sluice-storage-format", os.X_OK)
    assert (root / "etc/sluice/server.properties").read_text() == run([RENDER, "2", *PEERS]).stdout
    assert (root / "etc/sluice/cluster.id").read_text() == CLUSTER_ID + "\n"
    assert "KAFKA_BOOTSTRAP_SERVERS=10.128.0.11:9092,10.128.0.12:9092,10.128.0.13:9092\n" in \
        (root / "etc/sluice/apps.env").read_text()
    assert (root / "var/lib/sluice/data").is_dir()
    assert oct((root / "etc/sluice/server.properties").stat().st_mode & 0o777) == "0o640"
    for u in UNITS:
        assert (root / "etc/systemd/system" / u).read_text() == open(os.path.join(DEPLOY, "systemd", u)).read()
        link = root / "etc/systemd/system/multi-user.target.wants" / u
        assert os.readlink(link) == f"/etc/systemd/system/{u}"
    # The staged ExecStartPre finds the staged sluicectl (PREFIX/bin) and formats.
    cfg = tmp_path / "server.properties"
    cfg.write_text(run([RENDER, "--data-dir", str(tmp_path / "data"), "2", *PEERS]).stdout)
    f = run([str(root / "usr/local/libexec/sluice/sluice-storage-format"), str(cfg),
             str(root / "etc/sluice/cluster.id")], env={k: v for k, v in os.environ.items() if k != "SLUICECTL"})
    assert f.returncode == 0, f.stdout + f.stderr
    assert props((tmp_path / "data" / "meta.properties").read_text())["cluster.id"] == CLUSTER_ID
    again = install(root, "2", *PEERS)  # the cluster id is read back from /etc/sluice/cluster.id
    assert again.returncode == 0 and "wrote" not in again.stdout, again.stdout + again.stderr
    before = (root / "etc/sluice/cluster.id").read_text()
    r = install(root, "--cluster-id", "AAAAAAAAAAAAAAAAAAAAAA", "2", *PEERS)
    assert r.returncode == 2 and "holds cluster id " + CLUSTER_ID in r.stderr
    assert (root / "etc/sluice/cluster.id").read_text() == before
    r = install(root, "--data-dir", "/var/kafka/logs/broker2", "2", *PEERS)
    assert r.returncode == 0, r.stderr
    assert "kept the old /etc/sluice/server.properties as /etc/sluice/server.properties.previous" in r.stdout
    assert props((root / "etc/sluice/server.properties").read_text())["log.dirs"] == "/var/kafka/logs/broker2"
    assert (root / "etc/systemd/system/sluice.service.d/data-dir.conf").read_text() == \
        "[Service]\nReadWritePaths=/var/kafka/logs/broker2\n"


def test_install_prefix_moves_binaries_and_the_units_follow(tmp_path):
    root = tmp_path / "root"
    r = install(root, "--prefix", "/opt/sluice", "--no-apps", "--cluster-id", CLUSTER_ID, "1", *PEERS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.access(root / "opt/sluice/bin/sluice", os.X_OK)
    unit = (root / "etc/systemd/system/sluice.service").read_text()
    assert "ExecStart=/opt/sluice/bin/sluice --config /etc/sluice/server.properties" in unit
    assert "ExecStartPre=/opt/sluice/libexec/sluice/sluice-storage-format " in unit and "/usr/local" not in unit
    assert not (root / "etc/systemd/system/sluice-producer-app.service").exists()
    assert not (root / "etc/sluice/apps.env").exists()


@pytest.mark.parametrize("args,reason", [
    (["2", *PEERS], "--cluster-id is needed on a first install"),
    (["--cluster-id", "short", "2", *PEERS], "--cluster-id must be 22 characters"),
    (["--cluster-id", CLUSTER_ID, "5", *PEERS], "node 5 is not among the peers"),
    (["--cluster-id", CLUSTER_ID, "--bin-dir", "/nonexistent", "2", *PEERS], "run make first"),
])
def test_install_refuses_bad_input_and_writes_nothing(tmp_path, args, reason):
    r = install(tmp_path / "root", *args)
    assert r.returncode == 2 and reason in r.stderr, r.stdout + r.stderr
    assert not (tmp_path / "root").exists()


def test_systemd_analyze_verifies_the_units(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    root = tmp_path / "root"
    assert install(root, "--cluster-id", CLUSTER_ID, "1", *PEERS).returncode == 0
    # The staging root borrows the host's system units (multi-user.target, ...).
    (root / "usr/lib/systemd").mkdir(parents=True)
    os.symlink("/lib/systemd/system", root / "usr/lib/systemd/system")
    r = run(["systemd-analyze", "verify", f"--root={root}", *(f"/etc/systemd/system/{u}" for u in UNITS)])
    assert r.returncode == 0, r.stderr
    assert "Unknown" not in r.stderr and "ignoring" not in r.stderr, r.stderr
    # It does judge: a misspelt key is reported.
    unit = root / "etc/systemd/system/sluice.service"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    r = run(["systemd-analyze", "verify", f"--root={root}", "/etc/systemd/system/sluice.service"])
    assert "Unknown key 'NoNewPrivilege'" in r.stderr


def gcp(tmp_path, *args):
    """gcp.sh with a gcloud first on PATH that records any call and fails."""
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "gcloud").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/gcloud-called\nexit 1\n")
    (fake / "gcloud").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GCP_", "SLUICE_SOURCE", "CLOUDSDK"))}
    env["PATH"] = f"{fake}:{env['PATH']}"
    return run([GCP, *args], env=env)


def test_gcp_dry_run_prints_the_commands_and_runs_none(tmp_path):
    r = gcp(tmp_path, "--dry-run", "--project", "users-kafka", "--region", "europe-west1", "--source-range",
            "10.0.0.0/8,192.168.1.0/24", "--ips", "10.132.0.11,10.132.0.12,10.132.0.13",
            "--cluster-id", CLUSTER_ID)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "gcloud-called").exists()
    lines = r.stdout.splitlines()
    addresses = [x for x in lines if x.startswith("gcloud compute addresses create")]
    assert addresses == [f"gcloud compute addresses create sluice-{n}-ip --project users-kafka --region europe-west1"
                         f" --subnet default --addresses 10.132.0.1{n}" for n in (1, 2, 3)]
    rules = [x for x in lines if x.startswith("gcloud compute firewall-rules create")]
    assert len(rules) == 2
    assert "--rules tcp:9092,tcp:10092,tcp:8001,tcp:8002,tcp:9404 --source-ranges 10.0.0.0/8,192.168.1.0/24" \
        in rules[0]
    assert "--rules tcp:9092,tcp:10092 --source-tags sluice --target-tags sluice" in rules[1]
    vms = [x for x in lines if x.startswith("gcloud compute instances create")]
    zones = [re.search(r"--zone (\S+)", x).group(1) for x in vms]
    assert zones == ["europe-west1-a", "europe-west1-b", "europe-west1-c"]
    assert [re.search(r"--private-network-ip (\S+)", x).group(1) for x in vms] == \
        ["10.132.0.11", "10.132.0.12", "10.132.0.13"]
    assert all("--image-family debian-12 --image-project debian-cloud" in x and "--tags sluice" in x for x in vms)
    installs = [x for x in lines if "gcloud compute ssh" in x and "install.sh" in x]
    assert len(installs) == 3
    peers = ["1@10.132.0.11", "2@10.132.0.12", "3@10.132.0.13"]
    for n, line in enumerate(installs, 1):
        assert line.startswith("git -C ") and f"| gcloud compute ssh sluice-{n} " in line
        tail = f"sudo deploy/install.sh --now --cluster-id {CLUSTER_ID} {n} {' '.join(peers)}'"
        assert line.endswith(tail), line
        assert run([RENDER, str(n), *peers]).returncode == 0  # what each VM will render
    assert "--create --if-not-exists --topic test-topic --partitions 6 --replication-factor 3" in lines[-1]


def test_gcp_dry_run_without_ips_reads_the_reserved_ones(tmp_path):
    r = gcp(tmp_path, "--dry-run", "--no-install", "--project", "users-kafka", "--source-range", "10.0.0.0/8",
            "--cluster-id", CLUSTER_ID)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("gcloud compute addresses describe sluice-") == 3
    assert "--format 'value(address)'" in r.stdout
    assert "--zone us-central1-a" in r.stdout and "gcloud compute ssh" not in r.stdout


def test_gcp_takes_project_region_and_range_from_the_environment(tmp_path):
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "gcloud").write_text("#!/bin/sh\nexit 1\n")
    (fake / "gcloud").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", GCP_PROJECT="users-kafka",
               GCP_REGION="asia-east1", SLUICE_SOURCE_RANGE="172.16.0.0/12")
    r = run([GCP, "--dry-run", "--no-install", "--cluster-id", CLUSTER_ID], env=env)
    assert r.returncode == 0, r.stderr
    assert "--project users-kafka --zone asia-east1-c" in r.stdout and "--source-ranges 172.16.0.0/12" in r.stdout


@pytest.mark.parametrize("args,reason", [
    (["--source-range", "10.0.0.0/8"], "--project (or GCP_PROJECT) is required"),
    (["--project", "users-kafka"], "--source-range (or SLUICE_SOURCE_RANGE) is required"),
    (["--project", "users-kafka", "--source-range", "10.0.0.1"], "is not an IPv4 CIDR range"),
    (["--project", "users-kafka", "--source-range", "10.0.0.0/8", "--zones", "us-central1-a,us-central1-b"],
     "needs three zones"),
    (["--project", "users-kafka", "--source-range", "10.0.0.0/8", "--zones",
      "us-central1-a,us-central1-a,us-central1-b"], "three different zones"),
    (["--project", "users-kafka", "--source-range", "10.0.0.0/8", "--zones", "us-east1-a,us-east1-b,us-east1-c"],
     "is not a zone of us-central1"),
    (["--project", "users-kafka", "--source-range", "10.0.0.0/8", "--ips", "10.0.0.1"], "needs three addresses"),
    (["--project", "Bad_Project", "--source-range", "10.0.0.0/8"], "is not a GCP project id"),
    (["--project", "users-kafka", "--source-range", "10.0.0.0/8", "--frobnicate"], "unknown argument"),
])
def test_gcp_refuses_bad_input(tmp_path, args, reason):
    r = gcp(tmp_path, "--dry-run", "--cluster-id", CLUSTER_ID, *args)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.startswith("gcp: ") and reason in r.stderr, r.stderr
