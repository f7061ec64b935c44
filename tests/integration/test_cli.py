"""The sluice command line: --version, bad configs, the users' own config."""
import os
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, SLUICE, Broker, free_port, stop_all

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
    # Its controller.quorum.voters names both seed brokers: a KRaft quorum
    # of two serves once both run (a lone voter of two elects no leader).
    ports = {n: (free_port(), free_port()) for n in (1, 2)}
    brokers = []
    for n in (1, 2):
        tmp = tempfile.mkdtemp(prefix=f"sluice-seed{n}-")
        text = open(SEED.replace("broker1", f"broker{n}")).read()
        text = text.replace(f"/var/kafka/logs/broker{n}", f"{tmp}/logs")
        for m, (port, ctrl) in ports.items():
            text = text.replace(f"localhost:{9091 + m}", f"127.0.0.1:{port}")
            text = text.replace(f"localhost:{10091 + m}", f"127.0.0.1:{ctrl}")
        b = Broker(tmp)
        b.port = ports[n][0]
        with open(b.config, "w") as f:
            f.write(text)
        brokers.append(b)
    b = brokers[0]
    for x in brokers:
        x.start()
    try:
        out = ""
        for _ in range(300):  # x 100 ms: an election, two registrations
            r = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-m", "5"], capture_output=True,
                               text=True, timeout=30)
            out = r.stdout
            if r.returncode == 0 and f"broker 2 at 127.0.0.1:{ports[2][0]}" in out:
                break
            time.sleep(0.1)
        assert f"broker 1 at 127.0.0.1:{ports[1][0]}" in out
        assert f"broker 2 at 127.0.0.1:{ports[2][0]}" in out
        assert "stored; it takes effect with a later release" in b.log_tail(60)
    finally:
        codes = stop_all(brokers)
        assert codes == [0, 0]
