"""Typed listeners and quorum channels on real sockets: a controller listener
answers only the quorum's APIs, and two real brokers named in each other's
controller.quorum.voters hold channels to each other that come back after
one of them is killed and restarted."""
import os
import socket
import struct
import tempfile
import time

from conftest import CLUSTER_ID, Broker

WAIT_ROUNDS = 400  # x 25 ms: bounded waits for a log line


def request(api_key, version, correlation_id, body=b""):
    client_id = b"pytest"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def read_frame(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    size = exactly(4)
    if size is None:
        return None
    return exactly(struct.unpack(">i", size)[0])


def api_keys_v0(frame):
    """ApiVersions v0 response: correlation id, error, [key, min, max]."""
    corr, error, count = struct.unpack(">ihi", frame[:10])
    keys = [struct.unpack(">hhh", frame[10 + 6 * i:16 + 6 * i])[0] for i in range(count)]
    return corr, error, keys


def test_controller_listener_answers_only_quorum_apis(broker):
    with socket.create_connection(("127.0.0.1", broker.controller_port), timeout=10) as s:
        s.sendall(request(18, 0, 7))
        corr, error, keys = api_keys_v0(read_frame(s))
        # ApiVersions and the quorum's: Fetch, Vote, Begin/EndQuorumEpoch,
        # DescribeQuorum, FetchSnapshot; the controller's: CreateTopics,
        # DeleteTopics, AlterConfigs, CreatePartitions, ElectLeaders,
        # IncrementalAlterConfigs (forwarded), Alter/ListPartitionReassignments
        # (KIP-455), AlterPartition (KIP-497),
        # BrokerRegistration, BrokerHeartbeat (KIP-631), AllocateProducerIds
        # (KIP-730).
        assert (corr, error, keys) == (7, 0, [1, 18, 19, 20, 33, 37, 43, 44, 45, 46, 52, 53,
                                              54, 55, 56, 59, 62, 63, 67])
        s.sendall(request(3, 1, 8, struct.pack(">i", -1)))  # Metadata: not served here
        assert read_frame(s) is None  # the connection is closed, the broker serves on
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        s.sendall(request(18, 0, 9))
        corr, error, keys = api_keys_v0(read_frame(s))
        assert error == 0 and {0, 1, 3, 18, 19} <= set(keys)
    assert broker.alive()


def count_in_log(b, text):
    try:
        with open(b.stderr_path) as f:
            return f.read().count(text)
    except OSError:
        return 0


def wait_for_log(b, text, times=1):
    for _ in range(WAIT_ROUNDS):
        if count_in_log(b, text) >= times:
            return
        time.sleep(0.025)
    raise AssertionError(f"no {times}x '{text}' in the log:\n{b.log_tail()}")


def voter_pair():
    a = Broker(tempfile.mkdtemp(prefix="sluice-it-"))
    b = Broker(tempfile.mkdtemp(prefix="sluice-it-"))
    voters = f"1@127.0.0.1:{a.controller_port},2@127.0.0.1:{b.controller_port}"
    for node_id, x in ((1, a), (2, b)):
        with open(x.config, "a") as f:  # later lines win
            f.write(f"node.id={node_id}\ncontroller.quorum.voters={voters}\n"
                    f"cluster.id={CLUSTER_ID}\n")
    return a, b


def test_quorum_channels_between_two_real_brokers():
    a, b = voter_pair()
    try:
        a.start()
        b.start()
        wait_for_log(a, "quorum channel to node 2 is up")
        wait_for_log(b, "quorum channel to node 1 is up")
        b.kill9()
        wait_for_log(a, "quorum channel to node 2 is down")
        b.start()
        wait_for_log(a, "quorum channel to node 2 is up", times=2)
        wait_for_log(b, "quorum channel to node 1 is up", times=2)
        assert a.stop() == 0 and b.stop() == 0
    finally:
        for x in (a, b):
            if x.alive():
                x.kill9()


def test_single_voter_opens_no_channels(broker):
    assert broker.stop() == 0
    assert count_in_log(broker, "quorum channel") == 0
    assert os.path.exists(os.path.join(broker.log_dirs, "meta.properties"))
