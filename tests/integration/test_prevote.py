"""KIP-996 pre-vote on real sockets: three bin/sluice voters serve Vote v2
(Kafka 4.0's, from Sluice's schema overlay) on their controller listeners,
advertise it in ApiVersions, and answer a pre-vote, written here byte by byte
from the v2 layout (PreVote after LastOffset), without changing their epoch:
a follower that hears from its leader refuses it and names the leader."""
import socket
import struct

from conftest import CLUSTER_ID
from test_quorum import read_frame, read_uvarint, uvarint, voter_trio, wait_leader

API_VERSIONS = 18
VOTE = 52


def frame_of(api_key, version, correlation_id, body, flexible_header=True):
    client_id = b"pytest"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    if flexible_header:
        header += uvarint(0)
    data = header + body
    return struct.pack(">i", len(data)) + data


def exchange(port, frame):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(frame)
        return read_frame(s)


def vote_max_version(port):
    """The Vote max version of an ApiVersions v0 answer (classic encoding)."""
    resp = exchange(port, frame_of(API_VERSIONS, 0, 7, b"", flexible_header=False))
    assert struct.unpack(">i", resp[:4])[0] == 7
    error, count = struct.unpack(">hi", resp[4:10])
    assert error == 0
    for i in range(count):
        key, _, hi = struct.unpack(">hhh", resp[10 + 6 * i:16 + 6 * i])
        if key == VOTE:
            return hi
    return None


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def pre_vote_request(to_id, replica_id, epoch, last_epoch, last_offset):
    """VoteRequest v2 (flexible) for __cluster_metadata-0 with PreVote set."""
    partition = struct.pack(">iii", 0, epoch, replica_id)  # index, ReplicaEpoch, ReplicaId
    partition += bytes(16) + bytes(16)  # ReplicaDirectoryId, VoterDirectoryId
    partition += struct.pack(">iq", last_epoch, last_offset)
    partition += b"\x01" + uvarint(0)  # PreVote = true; tagged fields
    topic = compact_string("__cluster_metadata") + uvarint(2) + partition + uvarint(0)
    body = compact_string(CLUSTER_ID) + struct.pack(">i", to_id)  # ClusterId, VoterId
    body += uvarint(2) + topic + uvarint(0)
    return frame_of(VOTE, 2, 9, body)


def parse_vote_response(resp):
    """(error, partition error, leader id, leader epoch, granted) of v2."""
    assert struct.unpack(">i", resp[:4])[0] == 9
    _, at = read_uvarint(resp, 4)  # response header v1
    error = struct.unpack(">h", resp[at:at + 2])[0]
    at += 2
    topics, at = read_uvarint(resp, at)
    assert topics - 1 == 1
    name_len, at = read_uvarint(resp, at)
    assert resp[at:at + name_len - 1] == b"__cluster_metadata"
    at += name_len - 1
    partitions, at = read_uvarint(resp, at)
    assert partitions - 1 == 1
    _, p_error, leader, epoch, granted = struct.unpack(">ihii?", resp[at:at + 15])
    return error, p_error, leader, epoch, granted


def test_pre_vote_over_the_wire_leaves_the_leader_in_place():
    nodes = voter_trio()
    try:
        for b in nodes:
            b.start()
        leader, epoch = wait_leader(nodes, [0, 1, 2])
        for b in nodes:
            assert vote_max_version(b.controller_port) == 2
        followers = [i + 1 for i in range(3) if i + 1 != leader]
        target, asker = followers
        # The asker's log is far ahead, so only the leader's liveness refuses.
        resp = exchange(nodes[target - 1].controller_port,
                        pre_vote_request(target, asker, epoch, epoch, 1 << 40))
        assert parse_vote_response(resp) == (0, 0, leader, epoch, False)
        # The leader never grants a pre-vote either, and keeps its epoch.
        resp = exchange(nodes[leader - 1].controller_port,
                        pre_vote_request(leader, asker, epoch, epoch, 1 << 40))
        assert parse_vote_response(resp) == (0, 0, leader, epoch, False)
        assert wait_leader(nodes, [0, 1, 2]) == (leader, epoch)
        for b in nodes:
            assert b.stop() == 0
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()
