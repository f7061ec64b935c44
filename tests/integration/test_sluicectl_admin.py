"""sluicectl's Kafka-client commands against a real bin/sluice, with the
flags and output of kafka-topics.sh, kafka-consumer-groups.sh and
kafka-configs.sh: what an operator types and reads, and an error as one
line and a non-zero exit."""
import subprocess

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import SLUICECTL

BROKER = {"num.partitions": "2", "group.initial.rebalance.delay.ms": "0"}


def ctl(broker, *args):
    r = subprocess.run([SLUICECTL, *args[:1], "--bootstrap-server", broker.bootstrap, *args[1:]]
                       if args and args[0] != "cluster" else
                       [SLUICECTL, *args, "--bootstrap-server", broker.bootstrap],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_topics_create_describe_alter_delete(make_broker):
    b = make_broker(BROKER)
    rc, out, _ = ctl(b, "topics", "--create", "--topic", "orders", "--partitions", "3",
                     "--replication-factor", "1", "--config", "retention.ms=86400000",
                     "--config", "compression.type=gzip")
    assert (rc, out) == (0, "Created topic orders.\n")
    rc, out, err = ctl(b, "topics", "--create", "--topic", "orders", "--partitions", "3")
    assert rc == 1 and err.count("\n") == 1 and "already exists" in err
    assert ctl(b, "topics", "--create", "--topic", "orders", "--if-not-exists")[0] == 0
    assert ctl(b, "topics", "--create", "--topic", "defaults")[0] == 0  # num.partitions
    assert ctl(b, "topics", "--create", "--topic", "placed", "--replica-assignment", "1,1,1")[0] == 0
    rc, out, _ = ctl(b, "topics", "--list")
    assert rc == 0 and out.split() == ["defaults", "orders", "placed"]
    rc, out, _ = ctl(b, "topics", "--describe", "--topic", "orders")
    lines = out.splitlines()
    assert lines[0].startswith("Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: ")
    assert set(lines[0].split("Configs: ")[1].split(",")) == {"retention.ms=86400000", "compression.type=gzip"}
    assert lines[1:] == [f"\tTopic: orders\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1" for p in range(3)]
    assert "PartitionCount: 2" in ctl(b, "topics", "--describe", "--topic", "defaults")[1]
    assert "PartitionCount: 3" in ctl(b, "topics", "--describe", "--topic", "placed")[1]
    assert ctl(b, "topics", "--alter", "--topic", "orders", "--partitions", "5")[0] == 0
    assert "PartitionCount: 5" in ctl(b, "topics", "--describe", "--topic", "orders")[1]
    rc, _, err = ctl(b, "topics", "--alter", "--topic", "orders", "--partitions", "2")
    assert rc == 1 and err.startswith("Error: ")
    assert ctl(b, "topics", "--delete", "--topic", "defaults")[0] == 0
    rc, _, err = ctl(b, "topics", "--describe", "--topic", "defaults")
    assert rc == 1 and "does not exist" in err
    assert ctl(b, "topics", "--delete", "--topic", "defaults", "--if-exists")[0] == 0
    assert ctl(b, "topics", "--list")[1].split() == ["orders", "placed"]


def test_bad_commands_say_why_in_one_line():
    for args, why in [(["topics", "--list"], "--bootstrap-server is required"),
                      (["topics", "--bootstrap-server", "x:1", "--create"], "--create needs --topic"),
                      (["topics", "--bootstrap-server", "x:1", "--list", "--describe"], "exactly one"),
                      (["topics", "--bootstrap-server", "x:1", "--create", "--topic", "t", "--partitions", "0"],
                       "--partitions must be"),
                      (["consumer-groups", "--bootstrap-server", "x:1", "--describe"], "needs --group"),
                      (["configs", "--bootstrap-server", "x:1", "--describe"], "name the entity")]:
        r = subprocess.run([SLUICECTL, *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.startswith("Error: ") and why in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1
    r = subprocess.run([SLUICECTL, "topics", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--replica-assignment" in r.stdout


def test_configs_describe_and_alter(make_broker):
    b = make_broker(BROKER)
    assert ctl(b, "topics", "--create", "--topic", "events", "--config", "retention.ms=1000")[0] == 0
    rc, out, _ = ctl(b, "configs", "--describe", "--topic", "events")
    assert rc == 0 and out.splitlines()[0] == "Dynamic configs for topic events are:"
    assert "  retention.ms=1000 sensitive=false" in out
    rc, out, _ = ctl(b, "configs", "--alter", "--entity-type", "topics", "--entity-name", "events",
                     "--add-config", "cleanup.policy=compact,retention.ms=5000")
    assert (rc, out) == (0, "Completed updating config for topic events.\n")
    out = ctl(b, "configs", "--describe", "--topic", "events")[1]
    assert "  cleanup.policy=compact sensitive=false" in out and "  retention.ms=5000 sensitive=false" in out
    assert ctl(b, "configs", "--alter", "--topic", "events", "--delete-config", "retention.ms")[0] == 0
    out = ctl(b, "configs", "--describe", "--topic", "events")[1]
    assert "retention.ms" not in out and "cleanup.policy=compact" in out
    out = ctl(b, "configs", "--describe", "--topic", "events", "--all")[1]
    assert out.startswith("All configs for topic events are:") and "  segment.bytes=" in out
    rc, _, err = ctl(b, "configs", "--alter", "--topic", "events", "--add-config", "retention.ms=soon")
    assert rc == 1 and err.startswith("Error: ")


def test_consumer_groups_lag_reset_and_delete(make_broker):
    b = make_broker(BROKER)
    assert ctl(b, "topics", "--create", "--topic", "jobs", "--partitions", "2")[0] == 0
    p = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(10):
        p.produce("jobs", value=b"x", partition=i % 2)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "workers", "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("jobs", 0, 2), TopicPartition("jobs", 1, 5)], asynchronous=False)
    c.close()
    assert ctl(b, "consumer-groups", "--list")[1].split() == ["workers"]
    rc, out, _ = ctl(b, "consumer-groups", "--describe", "--group", "workers")
    assert rc == 0 and "Consumer group 'workers' has no active members." in out
    rows = [line.split() for line in out.splitlines() if line.startswith("workers")]
    assert [r[:6] for r in rows] == [["workers", "jobs", "0", "2", "5", "3"], ["workers", "jobs", "1", "5", "5", "0"]]
    rc, out, _ = ctl(b, "consumer-groups", "--reset-offsets", "--group", "workers", "--topic", "jobs",
                     "--to-offset", "1")
    assert rc == 0 and out.startswith("WARN: No action will be performed")
    assert "workers" in out and ctl(b, "consumer-groups", "--describe", "--group", "workers")[1] == \
        ctl(b, "consumer-groups", "--describe", "--group", "workers")[1]
    rows = [line.split() for line in ctl(b, "consumer-groups", "--describe", "--group", "workers")[1].splitlines()
            if line.startswith("workers")]
    assert [r[3] for r in rows] == ["2", "5"]  # the dry run changed nothing
    rc, out, _ = ctl(b, "consumer-groups", "--reset-offsets", "--group", "workers", "--topic", "jobs",
                     "--to-earliest", "--execute")
    assert rc == 0
    rows = [line.split() for line in ctl(b, "consumer-groups", "--describe", "--group", "workers")[1].splitlines()
            if line.startswith("workers")]
    assert [(r[3], r[5]) for r in rows] == [("0", "5"), ("0", "5")]
    rc, out, _ = ctl(b, "consumer-groups", "--delete", "--group", "workers")
    assert (rc, out) == (0, "Deletion of requested consumer groups ('workers') was successful.\n")
    rc, _, err = ctl(b, "consumer-groups", "--describe", "--group", "workers")
    assert rc == 1 and "does not exist" in err


def test_cluster_describe(make_broker):
    b = make_broker(BROKER)
    assert ctl(b, "topics", "--create", "--topic", "a", "--partitions", "3")[0] == 0
    rc, out, _ = ctl(b, "cluster", "describe")
    assert rc == 0
    assert "Cluster ID: MkU3OEVBNTcwNTJENDM2Qg\n" in out and "Controller: 1\n" in out
    assert f"Brokers: 1\n  1 at 127.0.0.1:{b.port}\n" in out
    assert "Partitions: 3\n" in out and "Under-replicated partitions: 0\n" in out


def test_console_produce_and_consume(make_broker):
    b = make_broker(BROKER)
    assert ctl(b, "topics", "--create", "--topic", "lines", "--partitions", "1")[0] == 0
    r = subprocess.run([SLUICECTL, "produce", "--bootstrap-server", b.bootstrap, "--topic", "lines",
                        "--property", "parse.key=true", "--property", "key.separator=:"],
                       input="k1:first\nk2:second: with a colon\nno key here\n", capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([SLUICECTL, "consume", "--bootstrap-server", b.bootstrap, "--topic", "lines",
                        "--from-beginning", "--max-messages", "3", "--property", "print.key=true",
                        "--property", "print.offset=true"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Offset:0\tk1\tfirst", "Offset:1\tk2\tsecond: with a colon",
                                     "Offset:2\tnull\tno key here"]
    assert "Processed a total of 3 messages" in r.stderr
    r = subprocess.run([SLUICECTL, "consume", "--bootstrap-server", b.bootstrap, "--topic", "lines",
                        "--partition", "0", "--offset", "1", "--max-messages", "2"],
                       capture_output=True, text=True, timeout=120)
    assert r.stdout.splitlines() == ["second: with a colon", "no key here"]
    r = subprocess.run([SLUICECTL, "consume", "--bootstrap-server", b.bootstrap, "--topic", "lines",
                        "--group", "console", "--from-beginning", "--max-messages", "3"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3
    rows = [line.split() for line in ctl(b, "consumer-groups", "--describe", "--group", "console")[1].splitlines()
            if line.startswith("console")]
    assert [row[3] for row in rows] == ["3"]  # the group's commit on close
