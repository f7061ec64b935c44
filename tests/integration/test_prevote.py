"""KIP-996 pre-vote on real sockets: three bin/sluice voters serve Vote v2
(Kafka 4.0's, from Sluice's schema overlay) on their controller listeners,
advertise it in ApiVersions, and answer a pre-vote, written here byte by byte
from the v2 layout (PreVote after LastOffset), without changing their epoch:
a follower that hears from its leader refuses it and names the leader."""
import socket
import struct
import threading
import time

from conftest import CLUSTER_ID, stop_all, trio
from kwire import compact_string, read_uvarint, uvarint
from test_quorum import WAIT_ROUNDS, count_in_log, read_frame, wait_leader

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
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        leader, epoch = wait_leader(nodes, [0, 1, 2])
        for b in nodes:
            assert vote_max_version(b.controller_port) == 2
        followers = [i + 1 for i in range(3) if i + 1 != leader]
        target, asker = followers
        # The asker's log is far ahead, so only the leader's liveness refuses.
        # KIP-996: a follower grants pre-votes until its first successful
        # Fetch from the new leader (Kafka's FollowerState does the same),
        # so ask until that has happened; a follower that never refuses
        # fails here.
        answer = None
        for _ in range(WAIT_ROUNDS):
            resp = exchange(nodes[target - 1].controller_port,
                            pre_vote_request(target, asker, epoch, epoch, 1 << 40))
            answer = parse_vote_response(resp)
            if not answer[4]:
                break
            time.sleep(0.05)
        assert answer == (0, 0, leader, epoch, False)
        # The leader never grants a pre-vote either, and keeps its epoch.
        resp = exchange(nodes[leader - 1].controller_port,
                        pre_vote_request(leader, asker, epoch, epoch, 1 << 40))
        assert parse_vote_response(resp) == (0, 0, leader, epoch, False)
        assert wait_leader(nodes, [0, 1, 2]) == (leader, epoch)
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


class VoteV1Peer:
    """A stand-in for a Kafka 3.9 controller: it serves Vote only up to v1
    (ApiVersions answered the KIP-511 way, UNSUPPORTED_VERSION in v0 format
    with its ranges), grants every standard vote, and answers nothing else."""

    RANGES = [(VOTE, 0, 1), (53, 0, 1), (54, 0, 1), (1, 0, 16), (55, 0, 1), (59, 0, 1)]

    def __init__(self, port):
        self.server = socket.create_server(("127.0.0.1", port))
        self.votes = []  # (version, candidate epoch, candidate id)
        self.threads = []
        self.stopping = False
        self.accept_thread = threading.Thread(target=self.accept, daemon=True)
        self.accept_thread.start()

    def accept(self):
        while not self.stopping:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            t = threading.Thread(target=self.serve, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def serve(self, conn):
        with conn:
            while not self.stopping:
                try:
                    frame = read_frame(conn)
                except OSError:
                    return
                if frame is None:
                    return
                key, version, corr = struct.unpack(">hhi", frame[:8])
                if key == API_VERSIONS:
                    body = struct.pack(">hi", 35, len(self.RANGES))  # UNSUPPORTED_VERSION
                    body += b"".join(struct.pack(">hhh", *r) for r in self.RANGES)
                    out = struct.pack(">i", corr) + body
                elif key == VOTE:
                    out = struct.pack(">i", corr) + uvarint(0) + self.vote(frame, version)
                else:
                    continue
                conn.sendall(struct.pack(">i", len(out)) + out)

    def vote(self, frame, version):
        at = 8
        client_len = struct.unpack(">h", frame[at:at + 2])[0]
        at += 2 + max(client_len, 0)
        _, at = read_uvarint(frame, at)  # header tags
        cluster_len, at = read_uvarint(frame, at)
        at += max(cluster_len - 1, 0)
        if version >= 1:
            at += 4  # VoterId
        _, at = read_uvarint(frame, at)  # one topic
        name_len, at = read_uvarint(frame, at)
        at += name_len - 1
        _, at = read_uvarint(frame, at)  # one partition
        _, epoch, candidate = struct.unpack(">iii", frame[at:at + 12])
        self.votes.append((version, epoch, candidate))
        partition = struct.pack(">ihii?", 0, 0, -1, epoch, True) + uvarint(0)
        topic = compact_string("__cluster_metadata") + uvarint(2) + partition + uvarint(0)
        return struct.pack(">h", 0) + uvarint(2) + topic + uvarint(0)

    def close(self):
        self.stopping = True
        self.server.close()


def test_a_voter_without_vote_v2_gets_standard_votes():
    """KIP-996 pre-votes only if every voter has them: with node 2 down and
    node 3 a Kafka 3.9 stand-in, node 1 can win only with node 3's vote.
    Its first pre-vote to node 3 cannot go out (v1 has no PreVote); from the
    next election on it asks for standard votes, node 3 grants, and node 1
    leads. Always asking for pre-votes, it would never be elected."""
    nodes = trio()
    peer = VoteV1Peer(nodes[2].controller_port)
    try:
        nodes[0].start()
        leader, _ = wait_leader(nodes, [0])
        assert leader == 1
        assert peer.votes and all(v == 1 for v, _, c in peer.votes if c == 1)
        assert count_in_log(nodes[0], "voter 3 serves Vote up to v1") >= 1
        assert nodes[0].stop() == 0
    finally:
        peer.close()
        for b in nodes:
            if b.alive():
                b.kill9()
