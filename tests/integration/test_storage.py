"""sluicectl storage (kafka-storage.sh's random-uuid and format) and the
KRaft-mode start check: a node with process.roles starts only on storage
formatted for its node.id; a node without process.roles formats itself."""
import os
import re
import subprocess
import tempfile
import time

from conftest import CLUSTER_ID, SLUICE, SLUICECTL, Broker, format_storage


def ctl(*args):
    return subprocess.run([SLUICECTL, *args], capture_output=True, text=True, timeout=30)


def test_random_uuid_is_a_kafka_uuid():
    ids = {ctl("storage", "random-uuid").stdout.strip() for _ in range(3)}
    assert len(ids) == 3
    for i in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", i), i


def test_format_writes_meta_properties_and_refuses_twice():
    b = Broker(tempfile.mkdtemp(prefix="sluice-it-"), format=False)
    r = format_storage(b.config, ignore_formatted=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"Formatting metadata directory {b.log_dirs} with metadata.version "
                        "3.9-IV0.\n")
    meta = os.path.join(b.log_dirs, "meta.properties")
    text = open(meta).read()
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert props["version"] == "1" and props["node.id"] == "1"
    assert props["cluster.id"] == CLUSTER_ID and len(props["directory.id"]) == 22
    again = format_storage(b.config, cluster_id="AAAAAAAAAAAAAAAAAAAAAQ", ignore_formatted=False)
    assert again.returncode == 1
    assert again.stderr.strip() == (f"Log directory {b.log_dirs} is already formatted. Use "
                                    "--ignore-formatted to ignore this directory and format "
                                    "the others.")
    assert open(meta).read() == text  # the refusal changed nothing
    ignored = format_storage(b.config, cluster_id="AAAAAAAAAAAAAAAAAAAAAQ")
    assert ignored.returncode == 0
    assert ignored.stdout.strip() == "All of the log directories are already formatted."
    assert open(meta).read() == text


def test_format_formats_metadata_log_dir_too():
    tmp = tempfile.mkdtemp(prefix="sluice-it-")
    b = Broker(tmp, {"metadata.log.dir": os.path.join(tmp, "meta", "dir")}, format=False)
    r = format_storage(b.config)
    assert r.returncode == 0, r.stderr
    assert f"Formatting metadata directory {tmp}/meta/dir" in r.stdout
    assert f"Formatting data directory {b.log_dirs}" in r.stdout
    ids = []
    for d in (os.path.join(tmp, "meta", "dir"), b.log_dirs):
        text = open(os.path.join(d, "meta.properties")).read()
        ids.append(re.search(r"directory.id=(\S+)", text).group(1))
    assert ids[0] != ids[1]  # KIP-858: one id per directory


def test_format_refuses_bad_cluster_id_and_legacy_config(tmp_path):
    b = Broker(str(tmp_path), format=False)
    r = format_storage(b.config, cluster_id="not-a-uuid")
    assert r.returncode == 1 and "does not appear to be a valid UUID" in r.stderr
    legacy = tmp_path / "legacy.properties"
    legacy.write_text(f"node.id=1\nlog.dirs={tmp_path}/legacy\n")
    r = format_storage(str(legacy))
    assert r.returncode == 1 and "KRaft mode" in r.stderr
    assert not os.path.exists(tmp_path / "legacy" / "meta.properties")


def test_kraft_node_refuses_unformatted_storage():
    b = Broker(tempfile.mkdtemp(prefix="sluice-it-"), format=False)
    r = subprocess.run([SLUICE, "--config", b.config], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    errors = [line for line in (r.stdout + r.stderr).splitlines() if "ERROR" in line]
    assert len(errors) == 1, errors
    assert "is not formatted" in errors[0]
    assert "sluicectl storage format -t $(sluicectl storage random-uuid) -c" in errors[0]


def test_kraft_node_refuses_another_nodes_storage():
    b = Broker(tempfile.mkdtemp(prefix="sluice-it-"), format=False)
    assert format_storage(b.config).returncode == 0
    with open(b.config, "a") as f:
        f.write("node.id=7\n")
    r = subprocess.run([SLUICE, "--config", b.config], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "has node.id 1, but the config says node.id=7" in r.stdout + r.stderr


def test_kraft_node_refuses_another_cluster(make_broker):
    b = make_broker()
    assert b.stop() == 0
    with open(b.config, "a") as f:
        f.write("cluster.id=AAAAAAAAAAAAAAAAAAAAAQ\n")
    r = subprocess.run([SLUICE, "--config", b.config], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert f"has cluster.id {CLUSTER_ID}, but AAAAAAAAAAAAAAAAAAAAAQ is expected" in r.stdout + r.stderr


def test_zero_config_node_formats_itself():
    """Without process.roles a single node still starts on an empty log dir
    (docs/configs.md says why)."""
    tmp = tempfile.mkdtemp(prefix="sluice-it-")
    b = Broker(tmp, format=False)
    with open(b.config, "w") as f:
        f.write(f"node.id=0\nlisteners=PLAINTEXT://127.0.0.1:{b.port}\nlog.dirs={b.log_dirs}\n")
    b.start()
    try:
        # Written through a temporary file renamed once its fsync lands
        # (log/atomic_file.h), which may be just after the port opens.
        path = os.path.join(b.log_dirs, "meta.properties")
        for _ in range(400):  # x 25 ms: a hang guard
            if os.path.exists(path):
                break
            time.sleep(0.025)
        assert os.path.exists(path)
    finally:
        assert b.stop() == 0


def status_lines(out):
    return dict(re.match(r"(\w+):\s+(.*)", line).groups() for line in out.splitlines())


def test_metadata_quorum_describe_status(make_broker):
    b = make_broker()
    ctrl = f"127.0.0.1:{b.controller_port}"
    for _ in range(400):  # polls until the single voter has elected itself
        r = ctl("metadata-quorum", "--bootstrap-controller", ctrl, "describe", "--status")
        if r.returncode == 0 and status_lines(r.stdout)["LeaderId"] == "1":
            break
        time.sleep(0.05)
    assert r.returncode == 0, r.stderr
    s = status_lines(r.stdout)
    assert list(s) == ["ClusterId", "LeaderId", "LeaderEpoch", "HighWatermark", "MaxFollowerLag",
                       "MaxFollowerLagTimeMs", "CurrentVoters", "CurrentObservers"]
    assert int(s["LeaderEpoch"]) >= 1 and int(s["HighWatermark"]) >= 0
    assert s["MaxFollowerLag"] == "0"
    assert s["CurrentVoters"] == f'[{{"id": 1, "endpoints": ["CONTROLLER://{ctrl}"]}}]'
    assert s["CurrentObservers"] == "[]"
    r = ctl("metadata-quorum", "--bootstrap-server", b.bootstrap, "describe", "--status")
    assert r.returncode == 1 and "does not serve DescribeQuorum" in r.stderr
