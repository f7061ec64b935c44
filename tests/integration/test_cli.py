"""The sluice command line: --version, bad configs, the users' own config."""
import os
import subprocess
import tempfile

import pytest

from conftest import ROOT, SLUICE, Broker, free_port

SEED = os.path.join(ROOT, "..", "shared", "seed", "config", "server-broker1.properties")


def run(*args):
    return subprocess.run([SLUICE, *args], capture_output=True, text=True, timeout=30)


def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("sluice ")


def test_bad_value_names_line_key_and_reason(tmp_path):
    cfg = tmp_path / "bad.properties"
    cfg.write_text(f"node.id=1\nlog.dirs={tmp_path}/logs\nnum.partitions=many\n")
    r = run("--config", str(cfg))
    assert r.returncode == 2
    assert "line 3" in r.stderr and "num.partitions" in r.stderr and "not an integer" in r.stderr


def test_second_broker_on_same_log_dirs_is_refused(make_broker):
    b = make_broker()
    r = run("--config", b.config)
    assert r.returncode != 0
    assert "in use" in r.stderr
    assert b.alive()


def test_users_seed_config_starts_as_is():
    """server-broker1.properties from the users' system, only log.dirs and
    the ports changed, starts a broker that clients can use."""
    if not os.path.exists(SEED):
        pytest.skip("../shared/seed is not beside the repo")
    tmp = tempfile.mkdtemp(prefix="sluice-seed-")
    port, ctrl = free_port(), free_port()
    text = open(SEED).read()
    text = text.replace("/var/kafka/logs/broker1", f"{tmp}/logs")
    text = text.replace("localhost:9092", f"127.0.0.1:{port}").replace("localhost:10092", f"127.0.0.1:{ctrl}")
    b = Broker(tmp)
    b.port = port
    with open(b.config, "w") as f:
        f.write(text)
    b.start()
    try:
        out = subprocess.run(["kcat", "-b", b.bootstrap, "-L"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        assert f"broker 1 at 127.0.0.1:{port}" in out
        assert "stored; it takes effect with a later release" in b.log_tail(60)
    finally:
        assert b.stop() == 0
