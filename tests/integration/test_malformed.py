"""Bad input closes only its own connection; the broker serves on."""
import random
import socket
import struct

import pytest

from clients import consume_confluent, produce


def raw(broker):
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    return s


def closed_by_peer(s):
    try:
        return s.recv(4096) == b""
    except (ConnectionResetError, socket.timeout):
        return True


def still_serving(broker, topic):
    produce(broker.bootstrap, topic, 10)
    assert consume_confluent(broker.bootstrap, topic, 10) == 10
    assert broker.alive()


def header(api_key, version, correlation=7, client=b"raw"):
    return struct.pack(">hhih", api_key, version, correlation, len(client)) + client


@pytest.mark.parametrize("payload", [
    random.Random(64).randbytes(64),                   # random bytes (seeded: every xdist worker collects the same)
    struct.pack(">i", 0x7FFFFFFF) + b"x" * 100,        # a 2 GiB length prefix
    struct.pack(">i", -5),                             # a negative length
    struct.pack(">i", 4 + len(header(999, 0))) + header(999, 0) + b"\0\0\0\0",  # unknown api
    struct.pack(">i", 4 + len(header(0, 99))) + header(0, 99) + b"\0\0\0\0",    # Produce v99
    struct.pack(">i", 14) + header(3, 1)[:6],          # a header cut short
])
def test_bad_frames_close_only_that_connection(broker, payload):
    other = raw(broker)  # an innocent connection opened before
    s = raw(broker)
    s.sendall(payload)
    assert closed_by_peer(s)
    s.close()
    still_serving(broker, "after-bad")
    other.sendall(struct.pack(">i", len(header(18, 0))) + header(18, 0))
    assert len(other.recv(4096)) > 0  # the other connection still gets answers
    other.close()


def test_truncated_frame_then_close(broker):
    s = raw(broker)
    s.sendall(struct.pack(">i", 100) + b"only a little")
    s.close()
    still_serving(broker, "after-truncated")


def test_api_versions_unsupported_version_gets_error_35_in_v0(broker):
    s = raw(broker)
    body = header(18, 99) + b"\0"  # ApiVersions v99 (header v2: tagged fields)
    s.sendall(struct.pack(">i", len(body)) + body)
    data = s.recv(65536)
    size, correlation, error = struct.unpack(">iih", data[:10])
    assert correlation == 7
    assert error == 35  # UNSUPPORTED_VERSION
    count = struct.unpack(">i", data[10:14])[0]
    keys = [struct.unpack(">hhh", data[14 + 6 * i:20 + 6 * i]) for i in range(count)]
    assert (18, 0, 3) in keys
    s.close()
    assert broker.alive()
