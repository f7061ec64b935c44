"""sluicectl partitions reassign and leader-election against three real
bin/sluice processes (KRaft voters 1-3, each a broker too), with
kafka-reassign-partitions.sh's and kafka-leader-election.sh's flags, JSON
and output lines. librdkafka 2.0 has neither call, so sluicectl sends
AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders
with the broker's own client; these tests check what an operator types and
reads, and that an error is one line on stderr and exit status 1."""
import json
import os
import subprocess
import tempfile
import time

from confluent_kafka.admin import AdminClient, NewTopic

from conftest import SLUICECTL, stop_all, trio
from test_elect import TOPIC as ELECT_TOPIC, kill_and_return_preferred, partitions, wait_until
from test_replication import wait_registered

TOPIC = "moving"
POLLS = 600  # x 50 ms: bounds on polling for a condition


def ctl(*args):
    r = subprocess.run([SLUICECTL, *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def write_json(text):
    fd, path = tempfile.mkstemp(suffix=".json", prefix="sluicectl-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def reassign(bootstrap, *args):
    return ctl("partitions", "reassign", "--bootstrap-server", bootstrap, *args)


def poll(what, check, nodes):
    last = None
    for _ in range(POLLS):
        ok, last = check()
        if ok:
            return last
        time.sleep(0.05)
    raise AssertionError(f"never: {what} (last {last!r})\n" +
                         "\n".join(b.log_tail(15) for b in nodes))


def test_reassign_execute_verify_generate_cancel():
    nodes = trio()
    try:
        for b in nodes:
            b.start()
        wait_registered(nodes)
        admin = AdminClient({"bootstrap.servers": nodes[0].bootstrap})
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replica_assignment=[[1, 2]])],
                            operation_timeout=20)[TOPIC].result(timeout=30)
        boot = nodes[2].bootstrap
        plan = write_json('{"version":1,"partitions":[{"topic":"moving","partition":0,'
                          '"replicas":[2,3]}]}')
        poll("the topic on [1,2]",
             lambda: (lambda r: ("Replicas: 1,2\t" in r[1], r))(
                 ctl("topics", "--bootstrap-server", boot, "--describe", "--topic", TOPIC)),
             nodes)

        # Before the move: no reassignment, and the replica set is not the target.
        rc, out, err = reassign(boot, "--reassignment-json-file", plan, "--verify")
        assert (rc, err) == (0, "")
        assert out == ("Status of partition reassignment:\n"
                       "There is no active reassignment of partition moving-0, but replica set "
                       "is 1,2 rather than 2,3.\n")

        rc, out, err = reassign(boot, "--reassignment-json-file", plan, "--execute")
        assert (rc, err) == (0, ""), err
        lines = out.splitlines()
        assert lines[0] == "Current partition replica assignment" and lines[1] == ""
        rollback = json.loads(lines[2])  # the file to move it back with
        assert rollback == {"version": 1, "partitions": [
            {"topic": TOPIC, "partition": 0, "replicas": [1, 2], "log_dirs": ["any", "any"]}]}
        assert lines[3:] == ["", "Save this to use as the --reassignment-json-file option "
                             "during rollback", "Successfully started partition reassignment "
                             "for moving-0"]

        def verified():
            r = reassign(boot, "--reassignment-json-file", plan, "--verify")
            assert r[0] == 0 and r[1].startswith("Status of partition reassignment:\n"), r
            assert r[1].splitlines()[1] in ("Reassignment of partition moving-0 is completed.",
                                            "Reassignment of partition moving-0 is still in "
                                            "progress."), r
            return "is completed." in r[1], r[1]
        poll("--verify says completed", verified, nodes)
        rc, out, _ = ctl("topics", "--bootstrap-server", boot, "--describe", "--topic", TOPIC)
        assert rc == 0 and "\tPartition: 0\t" in out and "\tReplicas: 2,3\t" in out, out

        # Nothing to cancel once it is done: Kafka's error, one line.
        rc, out, err = reassign(boot, "--reassignment-json-file", plan, "--cancel")
        assert rc == 1 and out == "" and err.count("\n") == 1
        assert err.startswith("Error: could not cancel the reassignment of moving-0 "
                              "(NO_REASSIGNMENT_IN_PROGRESS"), err

        # --generate: the current assignment and a round-robin proposal.
        topics = write_json('{"version":1,"topics":[{"topic":"moving"}]}')
        rc, out, err = reassign(boot, "--generate", "--topics-to-move-json-file", topics,
                                "--broker-list", "1,3")
        assert (rc, err) == (0, "")
        lines = out.splitlines()
        assert lines[0] == "Current partition replica assignment"
        assert json.loads(lines[1])["partitions"][0]["replicas"] == [2, 3]
        assert lines[2:4] == ["", "Proposed partition reassignment configuration"]
        proposed = json.loads(lines[4])
        assert proposed == {"version": 1, "partitions": [
            {"topic": TOPIC, "partition": 0, "replicas": [1, 3], "log_dirs": ["any", "any"]}]}
        rc, _, err = reassign(boot, "--generate", "--topics-to-move-json-file", topics,
                              "--broker-list", "1")
        assert rc == 1 and err == ("Error: partition moving-0 has 2 replicas but --broker-list "
                                   "has 1 brokers\n")

        # A partition that does not exist: nothing is sent.
        missing = write_json('{"version":1,"partitions":[{"topic":"moving","partition":7,'
                             '"replicas":[1,2]}]}')
        rc, out, err = reassign(boot, "--reassignment-json-file", missing, "--execute")
        assert (rc, out, err) == (1, "", "Error: partition moving-7 does not exist\n")
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()


def test_bad_reassignment_files_say_where():
    """Read before any connection: the address is never dialled."""
    cases = [
        ('{"version":1,"partitions":[{"topic":"t","partition":0,\n "replicas":[2,3}]}',
         ":2:17 (byte 71): expected ',' or ']'"),
        ('{"version":1,"partitions":[{"topic":"t","partition":0}]}',
         ":1:28 (byte 27): a partition needs topic, partition and replicas"),
        ('{"version":1,"partitions":[{"topic":"t","partition":-1,"replicas":[1]}]}',
         ":1:53 (byte 52): number out of range [0, 2147483647]"),
        ('{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}',
         ":1:69 (byte 68): a replica listed twice"),
        ('{"version":2,"partitions":[]}', ":1:12 (byte 11): number out of range [1, 1]"),
        ('{"version":1,"partitions":[]} x', ":1:31 (byte 30): unexpected text after the end"),
        ('{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1],"x":1}]}',
         ":1:70 (byte 69): unknown key (expected topic, partition, replicas, log_dirs)"),
        ('{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]},'
         '{"topic":"t","partition":0,"replicas":[2]}]}', ":1:71 (byte 70): partition listed twice"),
    ]
    for text, where in cases:
        path = write_json(text)
        rc, out, err = reassign("127.0.0.1:1", "--reassignment-json-file", path, "--execute")
        assert (rc, out, err) == (1, "", f"Error: {path}{where}\n"), (text, err)
    empty = write_json('{"version":1,"partitions":[]}')
    rc, _, err = reassign("127.0.0.1:1", "--reassignment-json-file", empty, "--verify")
    assert (rc, err) == (1, f"Error: {empty} lists no partitions\n")
    rc, _, err = reassign("127.0.0.1:1", "--reassignment-json-file", "/nonexistent.json",
                          "--verify")
    assert rc == 1 and err.startswith("Error: cannot open /nonexistent.json: ")
    rc, _, err = reassign("127.0.0.1:1", "--reassignment-json-file", empty)
    assert (rc, err) == (1, "Error: give one of --generate, --execute, --verify, --cancel\n")


def test_leader_election_preferred_after_the_leader_returns():
    nodes = trio()  # the default check interval (300 s) leaves it to us
    try:
        for b in nodes:
            b.start()
        preferred = kill_and_return_preferred(nodes)
        assert partitions(nodes[0])[0][0] != preferred
        boot = nodes[0].bootstrap

        def elect(*args):
            return ctl("leader-election", "--bootstrap-server", boot, "--election-type", *args)

        assert elect("preferred", "--topic", ELECT_TOPIC, "--partition", "0") == (
            0, f"Successfully completed leader election (PREFERRED) for partitions "
               f"{ELECT_TOPIC}-0\n", "")
        wait_until(nodes, lambda v: v[0][0] == preferred, "partition 0 led by its preferred replica")
        assert elect("preferred", "--topic", ELECT_TOPIC, "--partition", "0") == (
            0, f"Valid replica already elected for partitions {ELECT_TOPIC}-0\n", "")
        assert elect("unclean", "--topic", ELECT_TOPIC, "--partition", "0") == (
            0, f"Valid replica already elected for partitions {ELECT_TOPIC}-0\n", "")

        rc, out, err = elect("PREFERRED", "--topic", ELECT_TOPIC, "--partition", "99")
        assert rc == 1 and out.startswith(
            f"Error completing leader election (PREFERRED) for partition: {ELECT_TOPIC}-99: "
            "UNKNOWN_TOPIC_OR_PARTITION")
        assert err == "Error: 1 replica(s) could not be elected\n"

        # Every partition: those the kill moved come back, the rest are left out.
        moved = {p for p, (l, r, _) in partitions(nodes[0]).items() if l != r[0]}
        rc, out, err = elect("preferred", "--all-topic-partitions")
        assert (rc, err) == (0, "")
        if moved:
            assert out == ("Successfully completed leader election (PREFERRED) for partitions " +
                           ", ".join(f"{ELECT_TOPIC}-{p}" for p in sorted(moved)) + "\n")
        else:
            assert out == ""
        wait_until(nodes, lambda v: all(l == r[0] for l, r, _ in v.values()),
                   "every partition led by its preferred replica")

        rc, _, err = elect("sideways", "--all-topic-partitions")
        assert (rc, err) == (1, "Error: --election-type must be preferred or unclean, not "
                                "'sideways'\n")
        rc, _, err = elect("preferred", "--topic", ELECT_TOPIC)
        assert (rc, err) == (1, "Error: give either --topic T --partition P or "
                                "--all-topic-partitions\n")
        assert stop_all(nodes) == [0] * len(nodes)
    finally:
        for b in nodes:
            if b.alive():
                b.kill9()
