"""Starts real bin/sluice processes for the integration tests: a fresh
directory, free ports, a Kafka server.properties, stderr captured."""
import os
import random
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "bin", "sluice"))
# make asan sets it: under AddressSanitizer freed memory waits in a
# quarantine, so the process's resident size is not the broker's own.
SANITIZED = os.environ.get("SLUICE_SANITIZED") == "1"
SLUICECTL = os.path.join(ROOT, "bin", "sluicectl")
# One cluster id for the nodes a test starts together (any 22-character
# Kafka Uuid; this is the example of Kafka's docs).
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
# x 25 ms: waiting for a process to open its port. A guard against a hang,
# not a speed test: valgrind on a loaded two-core machine took over 5 s.
START_ATTEMPTS = 4800


# Listening ports come from below the kernel's ephemeral range: a port the
# kernel hands out (bind to 0) can be taken by any outgoing connection of a
# client before the broker binds it (EADDRINUSE seen in CI).
# A port is handed out once per test process: two picks in a row (before
# either is bound) must not name the same port (EADDRINUSE seen in CI).
# Under pytest-xdist (make test runs the files on several workers) each
# worker draws from its own slice of the range, so two workers never pick
# the same port between a pick and the broker's bind.
_PORTS = random.Random(os.getpid())
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
_WORKERS = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
_SLICE = (32000 - 20000) // _WORKERS
PORT_LOW = 20000 + _WORKER * _SLICE
PORT_HIGH = PORT_LOW + _SLICE
_HANDED_OUT = set()


def free_port():
    for _ in range(1000):
        port = _PORTS.randrange(PORT_LOW, PORT_HIGH)
        if port in _HANDED_OUT:
            continue
        _HANDED_OUT.add(port)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def free_run(n):
    """A base port with n consecutive free ports from it (for clusters
    whose nodes take base, base+1, ...)."""
    for _ in range(100):
        base = free_port()
        if base + n > PORT_HIGH or any(p in _HANDED_OUT for p in range(base + 1, base + n)):
            continue
        _HANDED_OUT.update(range(base, base + n))
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports")


def config_value(path, key):
    """The last value of key in a properties file (later lines win), or None."""
    value = None
    with open(path) as f:
        for line in f:
            k, sep, v = line.strip().partition("=")
            if sep and k.strip() == key:
                value = v.strip()
    return value


def format_storage(config, cluster_id=None, ignore_formatted=True):
    """sluicectl storage format, as an operator runs it before a KRaft
    node's first start; the cluster id is the config's cluster.id if any."""
    cid = cluster_id or config_value(config, "cluster.id") or CLUSTER_ID
    args = [SLUICECTL, "storage", "format", "-t", cid, "-c", config]
    if ignore_formatted:
        args.append("--ignore-formatted")
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


class Broker:
    def __init__(self, tmp, overrides=None, wrapper=None, format=True):
        self.dir = tmp
        self.port = free_port()
        self.controller_port = free_port()
        self.log_dirs = os.path.join(tmp, "logs")
        self.config = os.path.join(tmp, "server.properties")
        self.stderr_path = os.path.join(tmp, "sluice.log")
        self.wrapper = wrapper or []
        self.format = format  # KRaft mode: format the storage before starting
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "log.dirs": self.log_dirs,
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
        }
        props.update(overrides or {})
        with open(self.config, "w") as f:
            for k, v in props.items():
                f.write(f"{k}={v}\n")
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        if self.format and config_value(self.config, "process.roles"):
            r = format_storage(self.config)
            if r.returncode != 0:
                raise RuntimeError("sluicectl storage format failed:\n" + r.stdout + r.stderr)
        err = open(self.stderr_path, "a")
        self.proc = subprocess.Popen(self.wrapper + [SLUICE, "--config", self.config],
                                     stdout=err, stderr=err)
        for _ in range(START_ATTEMPTS):
            if self.proc.poll() is not None:
                raise RuntimeError("sluice exited at start:\n" + self.log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.025)
        raise RuntimeError("sluice did not open its port:\n" + self.log_tail())

    def stop(self, timeout=60):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def terminate(self):
        """SIGTERM without waiting (stop_all stops a cluster at once)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            with open(self.stderr_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def stop_all(brokers, timeout=60):
    """SIGTERM every broker, then wait for each; returns the exit codes.
    Stopped one by one, the last voters of a quorum wait for a controller
    that is gone before they shut down; an operator stops them together."""
    for b in brokers:
        b.terminate()
    return [b.proc.wait(timeout=timeout) if b.proc else None for b in brokers]


def trio(extra=""):
    """Three nodes in combined roles, voters 1-3 of one quorum; extra lines
    go at the end of each node's config (later lines win)."""
    nodes = [Broker(tempfile.mkdtemp(prefix="sluice-it-")) for _ in range(3)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{b.controller_port}" for i, b in enumerate(nodes))
    for i, b in enumerate(nodes):
        with open(b.config, "a") as f:
            f.write(f"node.id={i + 1}\ncontroller.quorum.voters={voters}\n"
                    f"cluster.id={CLUSTER_ID}\n{extra}")
    return nodes



@pytest.fixture
def make_broker():
    made = []

    def make(overrides=None, wrapper=None):
        tmp = tempfile.mkdtemp(prefix="sluice-it-")
        b = Broker(tmp, overrides, wrapper)
        made.append(b)
        return b.start()

    yield make
    for b in made:
        if b.alive():
            b.kill9()


@pytest.fixture
def broker(make_broker):
    return make_broker()
