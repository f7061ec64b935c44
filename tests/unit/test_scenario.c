/* Scenario files: a good one parses into what it says; bad ones are
 * refused with the line and the problem. */
#include <stdio.h>
#include <string.h>

#include "faults/swarm.h"
#include "sim/hostile.h"
#include "sim/scenario.h"
#include "testing.h"

static const char good[] = "name: crash-restart\n"
                           "duration: 60s\n"
                           "liveness: 20s\n"
                           "cluster:\n"
                           "  nodes: 3\n"
                           "  config:\n"
                           "    log.flush.interval.messages: 1\n"
                           "topics:\n"
                           "  - name: test-topic\n"
                           "    partitions: 6\n"
                           "    replication_factor: 3\n"
                           "workload:\n"
                           "  producers: 2\n"
                           "  acks: all\n"
                           "  rate: 1000\n"
                           "faults:\n"
                           "  - at: 10s\n"
                           "    action: kill\n"
                           "    target: leader(test-topic,0)\n"
                           "  - at: 12500ms\n"
                           "    action: restart\n"
                           "    target: node 2\n"
                           "  - at: 20s\n"
                           "    action: heal\n"
                           "  - at: 21s\n"
                           "    action: clock-jump\n"
                           "    target: random\n"
                           "    amount: -5s\n"
                           "expect:\n"
                           "  checkers: [lost-write, duplicate]\n"
                           "  allow: [unseen]\n"
                           "  max_unavailability: 5s\n";

START_TEST(good_scenario_parses) {
  struct scenario s;
  char err[256] = "";
  ck_assert_msg(scenario_parse("good.yaml", good, strlen(good), &s, err, sizeof err), "%s",
                err);
  ck_assert_str_eq(s.name, "crash-restart");
  ck_assert_int_eq(s.duration_ms, 60000);
  ck_assert_int_eq(s.liveness_ms, 20000);
  ck_assert_int_eq(s.nodes, 3);
  ck_assert_int_eq(s.config_count, 1);
  ck_assert_str_eq(s.config[0].key, "log.flush.interval.messages");
  ck_assert_str_eq(s.config[0].value, "1");
  ck_assert_int_eq(s.topics[0].partitions, 6);
  ck_assert_int_eq(s.acks, -1);
  ck_assert_int_eq(s.producers, 2);
  ck_assert_int_eq(s.fault_count, 4);
  ck_assert_int_eq(s.faults[0].target.kind, TARGET_LEADER);
  ck_assert_str_eq(s.faults[0].target.topic, "test-topic");
  ck_assert_int_eq(s.faults[0].line, 17);
  ck_assert_int_eq(s.faults[1].at_ms, 12500);
  ck_assert_int_eq(s.faults[1].target.id, 2);
  ck_assert_int_eq(s.faults[2].action, FAULT_HEAL);
  ck_assert_int_eq(s.faults[3].amount, -5000);
  ck_assert_int_eq(s.must_pass_count, 2);
  ck_assert_int_eq(s.max_unavailability_ms, 5000);
  /* The old list form: the widest bounded allowance. */
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_UNSEEN), 1u << ALLOW_ACKS_0);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_LOST_WRITE), 0);
}
END_TEST

static void refused(const char *text, const char *expect);

static const char allowances[] = "topics:\n  - name: t\n"
                                 "workload:\n  idempotence: false\n"
                                 "expect:\n"
                                 "  checkers: [nonmonotonic-poll]\n"
                                 "  allow:\n"
                                 "    lost-write: power-loss-tail\n"
                                 "    inconsistent-offsets: [power-loss-tail, corrupt-batch]\n"
                                 "    duplicate: retried-sends\n";

/* allow: maps each checker to what it permits, one or a list. */
START_TEST(allowances_are_per_checker) {
  static struct scenario s, back;
  char err[256] = "";
  ck_assert_msg(scenario_parse("a.yaml", allowances, strlen(allowances), &s, err, sizeof err),
                "%s", err);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_LOST_WRITE), 1u << ALLOW_POWER_LOSS_TAIL);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_INCONSISTENT_OFFSETS),
                    1u << ALLOW_POWER_LOSS_TAIL | 1u << ALLOW_CORRUPT_BATCH);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_DUPLICATE), 1u << ALLOW_RETRIED_SENDS);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_NONMONOTONIC_SEND), 0);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_FINAL_READ), 0);
  /* Written back in flow style, read back the same. */
  static char yaml[4096], again[4096];
  size_t len = scenario_format(&s, yaml, sizeof yaml);
  ck_assert_msg(strstr(yaml,
                       "  allow: {lost-write: power-loss-tail, duplicate: retried-sends, "
                       "inconsistent-offsets: [power-loss-tail, corrupt-batch]}\n") != NULL,
                "%s", yaml);
  ck_assert_msg(strstr(yaml, "  idempotence: false\n") != NULL, "%s", yaml);
  ck_assert_msg(scenario_parse("a.yaml", yaml, len, &back, err, sizeof err), "%s", err);
  ck_assert(back.idempotence_off);
  scenario_format(&back, again, sizeof again);
  ck_assert_str_eq(yaml, again);
  /* Idempotent producers (the default) never store a retry twice: the
   * allowance would cover nothing their configuration can cause. */
  refused("topics:\n  - name: t\nexpect:\n  allow: {duplicate: retried-sends}\n",
          "allow: retried-sends does not apply to idempotent producers");
  refused("topics:\n  - name: t\nworkload:\n  idempotence: maybe\n",
          "bad.yaml:4: idempotence: expected true or false");
  static const char acks0[] = "topics:\n  - name: t\nworkload:\n  acks: 0\n"
                              "expect:\n  allow: {duplicate: retried-sends}\n";
  ck_assert_msg(scenario_parse("z.yaml", acks0, strlen(acks0), &s, err, sizeof err), "%s",
                err); /* acks=0 producers are not idempotent */
  /* The old list form still reads, as what it means. */
  static const char old[] = "topics:\n  - name: t\nexpect:\n  allow: [lost-write, duplicate]\n";
  ck_assert_msg(scenario_parse("o.yaml", old, strlen(old), &s, err, sizeof err), "%s", err);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_LOST_WRITE),
                    history_allowances_for(CHECK_LOST_WRITE));
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_FINAL_READ), 1u << ALLOW_CORRUPT_BATCH);
  len = scenario_format(&s, yaml, sizeof yaml);
  ck_assert_msg(strstr(yaml,
                       "lost-write: [power-loss-tail, corrupt-batch, disk-loss, retention, "
                       "unclean-election, delete-records, compaction]") != NULL,
                "%s", yaml);
}
END_TEST

START_TEST(bad_allowances_name_line_and_problem) {
  const char *head = "topics:\n  - name: t\nexpect:\n";
  static const char *const cases[][2] = {
      {"  allow: {lost-write: everything}\n",
       "bad.yaml:4: allow: lost-write: unknown allowance \"everything\" (it takes "
       "power-loss-tail, corrupt-batch, disk-loss, retention, unclean-election, "
       "delete-records or compaction)"},
      {"  allow: {unseen: power-loss-tail}\n",
       "bad.yaml:4: allow: power-loss-tail does not apply to unseen (it takes acks-0)"},
      {"  allow:\n    nonmonotonic-poll: corrupt-batch\n",
       "bad.yaml:5: allow: nonmonotonic-poll takes no allowance"},
      {"  allow:\n    lost-writes: power-loss-tail\n",
       "bad.yaml:5: unknown checker \"lost-writes\""},
      {"  allow: lost-write\n",
       "bad.yaml:4: allow: expected a mapping of checker to allowance"},
      {"  checkers: [lost-write]\n  allow: {lost-write: power-loss-tail}\n",
       "lost-write is under checkers (must pass) and allowed"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", head, cases[i][0]);
    refused(text, cases[i][1]);
  }
}
END_TEST

static void refused(const char *text, const char *expect) {
  struct scenario s;
  char err[256] = "";
  ck_assert(!scenario_parse("bad.yaml", text, strlen(text), &s, err, sizeof err));
  ck_assert_msg(strstr(err, expect) != NULL, "wanted \"%s\" in \"%s\"", expect, err);
}

START_TEST(bad_scenarios_name_line_and_problem) {
  refused("name: x\nduration: 60\n", "bad.yaml:2: duration: expected a duration");
  refused("name: x\nnodes: 3\n", "bad.yaml:2: scenario: unknown key \"nodes\"");
  refused("faults:\n  - at: 1s\n    action: explode\n    target: node 1\n",
          "bad.yaml:3: action: unknown action \"explode\"");
  refused("faults:\n  - at: 1s\n    action: kill\n    target: node 7\n",
          "bad.yaml:2: target: node 7 does not exist");
  refused("faults:\n  - at: 1s\n    action: kill\n    target: the leader\n",
          "bad.yaml:4: target: \"the leader\" is not");
  refused("faults:\n  - at: 5s\n    action: heal\n  - at: 1s\n    action: heal\n",
          "bad.yaml:4: faults: not in time order");
  refused("workload:\n  acks: two\n", "bad.yaml:2: acks: expected 0, 1 or all");
  refused("expect:\n  checkers: [lost-writes]\n", "unknown checker \"lost-writes\"");
  refused("name: [unclosed\n", "bad.yaml:");
  refused("cluster:\n  nodes: 99\n", "bad.yaml:2: nodes: expected an integer in [1, 9]");
}
END_TEST

/* The clients' keys: admins, auto.offset.reset, the producers' codecs and
 * topic-level configs; written back as read. */
/* workload: hostile: and bystander_wait: (sim/hostile.h) read, write back
 * and read again the same; a kind nobody knows is refused by name. */
START_TEST(hostile_keys_parse_and_round_trip) {
  static const char text[] = "topics:\n  - name: t\n"
                             "workload:\n"
                             "  hostile: [slow-reader, compression-bomb]\n"
                             "  bystander_wait: 100ms\n";
  static struct scenario s, back;
  static char yaml[8192], again[8192];
  char err[256] = "";
  ck_assert_msg(scenario_parse("h.yaml", text, strlen(text), &s, err, sizeof err), "%s", err);
  ck_assert_uint_eq(s.hostile, 1u << HOSTILE_SLOW_READER | 1u << HOSTILE_COMPRESSION_BOMB);
  ck_assert_int_eq(s.bystander_wait_ms, 100);
  size_t len = scenario_format(&s, yaml, sizeof yaml);
  ck_assert_msg(strstr(yaml, "  hostile: [slow-reader, compression-bomb]\n"), "%s", yaml);
  ck_assert_msg(scenario_parse("h.yaml", yaml, len, &back, err, sizeof err), "%s", err);
  ck_assert_uint_eq(back.hostile, s.hostile);
  ck_assert_int_eq(back.bystander_wait_ms, 100);
  scenario_format(&back, again, sizeof again);
  ck_assert_str_eq(yaml, again);
  refused("topics:\n  - name: t\nworkload:\n  hostile: [slow-eater]\n",
          "bad.yaml:4: hostile: unknown kind \"slow-eater\" (known: partition-flood, "
          "unknown-topics, slow-reader, slow-writer, connection-flood, compression-bomb)");
  refused("topics:\n  - name: t\nworkload:\n  bystander_wait: 0ms\n",
          "bad.yaml:4: bystander_wait: within 1ms and 10m");
}
END_TEST

START_TEST(client_keys_parse_and_round_trip) {
  static const char text[] = "topics:\n  - name: t\n    partitions: 2\n"
                             "    config: {compression.type: zstd, retention.ms: 60000}\n"
                             "workload:\n  producers: 3\n  admins: 2\n"
                             "  auto_offset_reset: latest\n  compression: [lz4, none]\n";
  static struct scenario s, back;
  static char a[1 << 14], b[1 << 14];
  char err[256] = "";
  ck_assert_msg(scenario_parse("c.yaml", text, strlen(text), &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.admins, 2);
  ck_assert_int_eq(s.auto_offset_reset, RESET_LATEST);
  ck_assert_int_eq(s.codec_count, 2);
  ck_assert_int_eq(s.codecs[0], 3); /* lz4, as enum rb_codec numbers it */
  ck_assert_int_eq(s.codecs[1], 0);
  ck_assert_int_eq(s.topics[0].config_count, 2);
  ck_assert_str_eq(s.topics[0].config[0].key, "compression.type");
  ck_assert_str_eq(s.topics[0].config[1].value, "60000");
  size_t len = scenario_format(&s, a, sizeof a);
  ck_assert_msg(scenario_parse("c.yaml", a, len, &back, err, sizeof err), "%s\n%s", err, a);
  scenario_format(&back, b, sizeof b);
  ck_assert_str_eq(a, b);
  refused("workload:\n  compression: brotli\n",
          "bad.yaml:2: compression: expected none, gzip, snappy, lz4 or zstd");
  refused("workload:\n  auto_offset_reset: none\n",
          "bad.yaml:2: auto_offset_reset: expected earliest or latest");
  refused("topics:\n  - name: t\n    config: {compression.type: brotli}\n",
          "bad.yaml:3: config: Invalid value brotli for configuration compression.type");
  refused("topics:\n  - name: t\n    config: {colour: red}\n", "bad.yaml:3: config:");
  refused("workload:\n  producers: 10\n  admins: 7\n", "workload: 18 clients, at most 16");
}
END_TEST

/* Consumer groups (docs/scenarios.md): group: takes every consumer,
 * groups: sets the consumers to their members; consumer N and
 * coordinator(group) name fault targets; the writer reads back the same. */
START_TEST(group_keys_parse_and_round_trip) {
  static const char text[] = "topics:\n  - name: t\n    partitions: 4\n"
                             "workload:\n  producers: 1\n"
                             "  groups: [{name: g1, members: 3}, {name: g2, members: 1}]\n"
                             "  commit_interval: 200ms\n  session_timeout: 10s\n"
                             "faults:\n  - at: 1s\n    action: kill\n    target: consumer 2\n"
                             "  - at: 2s\n    action: kill\n    target: coordinator(g2)\n";
  static struct scenario s, back;
  static char a[1 << 14], b[1 << 14];
  char err[256] = "";
  ck_assert_msg(scenario_parse("g.yaml", text, strlen(text), &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.group_count, 2);
  ck_assert_str_eq(s.groups[0].name, "g1");
  ck_assert_int_eq(s.groups[0].members, 3);
  ck_assert_int_eq(s.groups[1].members, 1);
  ck_assert_int_eq(s.consumers, 4);
  ck_assert_int_eq(s.commit_interval_ms, 200);
  ck_assert_int_eq(s.session_timeout_ms, 10000);
  ck_assert_int_eq(s.faults[0].target.kind, TARGET_CONSUMER);
  ck_assert_int_eq(s.faults[0].target.id, 2);
  ck_assert_int_eq(s.faults[1].target.kind, TARGET_COORDINATOR);
  ck_assert_str_eq(s.faults[1].target.topic, "g2");
  size_t len = scenario_format(&s, a, sizeof a);
  ck_assert_msg(scenario_parse("g.yaml", a, len, &back, err, sizeof err), "%s\n%s", err, a);
  scenario_format(&back, b, sizeof b);
  ck_assert_str_eq(a, b);
  static const char one[] = "topics:\n  - name: t\nworkload:\n  consumers: 3\n  group: q\n";
  ck_assert_msg(scenario_parse("g.yaml", one, strlen(one), &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.group_count, 1);
  ck_assert_int_eq(s.groups[0].members, 3);
  refused("topics:\n  - name: t\nworkload:\n  consumers: 2\n"
          "  groups: [{name: a, members: 3}]\n",
          "groups: 3 members, but consumers: 2");
  refused("topics:\n  - name: t\nworkload:\n  groups: [{name: a}]\n",
          "bad.yaml:4: groups: each entry is {name: g, members: N}");
  refused("topics:\n  - name: t\nworkload:\n  groups: [{name: a, members: 1}, {name: a, "
          "members: 1}]\n",
          "groups: a named twice");
  refused("topics:\n  - name: t\nworkload:\n  group: a\n  groups: [{name: b, members: 1}]\n",
          "group: and groups: both given");
  refused("topics:\n  - name: t\nworkload:\n  consumers: 2\n  group: a\n"
          "faults:\n  - at: 1s\n    action: kill\n    target: consumer 3\n",
          "target: consumer 3 does not exist (consumers: 2)");
  refused("topics:\n  - name: t\nworkload:\n  consumers: 2\n"
          "faults:\n  - at: 1s\n    action: kill\n    target: consumer 1\n",
          "target: consumer 1 is in no group");
  refused("topics:\n  - name: t\nworkload:\n  group: a\n"
          "faults:\n  - at: 1s\n    action: clog\n    target: consumer 1\n    for: 1s\n",
          "a consumer N target takes kill, shutdown, restart, pause or resume");
  refused("topics:\n  - name: t\nworkload:\n  group: a\n  static_members: maybe\n",
          "static_members: expected true or false");
  refused("topics:\n  - name: t\nworkload:\n  group: a\n"
          "faults:\n  - at: 1s\n    action: kill\n    target: coordinator(b)\n",
          "target: coordinator(b): no such group");
}
END_TEST

static const char network[] =
    "topics:\n  - name: t\n    partitions: 2\n"
    "workload:\n  producers: 2\n  consumers: 1\n"
    "faults:\n"
    "  - at: 1s\n    action: partition-one-way\n"
    "    target: client 1\n    peer: node 1\n"
    "  - at: 2s\n    action: clog\n    target: client 3\n    for: 3s\n"
    "  - at: 3s\n    action: latency-spike\n    target: leader(t,1)\n"
    "    amount: 200ms\n    for: 1s\n"
    "  - at: 4s\n    action: clock-drift\n    target: node 1\n"
    "    amount: -1500\n"
    "  - at: 5s\n    action: pause\n    target: client 2\n"
    "  - at: 6s\n    action: bridge\n    target: node 1\n"
    "  - at: 7s\n    action: corrupt-read\n    target: node 1\n";

START_TEST(network_clock_and_disk_faults_parse) {
  struct scenario s;
  char err[256] = "";
  ck_assert_msg(scenario_parse("net.yaml", network, strlen(network), &s, err, sizeof err), "%s",
                err);
  ck_assert_int_eq(s.fault_count, 7);
  ck_assert_int_eq(s.faults[0].action, FAULT_PARTITION_ONE_WAY);
  ck_assert_int_eq(s.faults[0].target.kind, TARGET_CLIENT);
  ck_assert_int_eq(s.faults[0].peer.kind, TARGET_NODE);
  ck_assert_int_eq(s.faults[1].for_ms, 3000);
  ck_assert_int_eq(s.faults[2].amount, 200);
  ck_assert_int_eq(s.faults[2].target.partition, 1);
  ck_assert_int_eq(s.faults[3].amount, -1500);
  ck_assert_int_eq(s.faults[4].action, FAULT_PAUSE);
  ck_assert_int_eq(s.faults[6].action, FAULT_DISK_CORRUPT_READ);
}
END_TEST

static const char triggered_text[] =
    "topics:\n  - name: t\n    partitions: 2\n    retention_deletes: true\n"
    "workload:\n  producers: 1\n  consumers: 1\n"
    "jitter: 500us\n"
    "faults:\n"
    "  - at: 1s\n    when: during-fsync\n    action: kill\n    target: node 1\n"
    "    mode: torn-garbage\n"
    "  - at: 2s\n    action: restart\n    target: node 1\n"
    "  - at: 3s\n    when: {event: after-write, nth: 3, within: 2s}\n"
    "    action: kill\n    target: node 1\n    mode: torn-zeros\n"
    "  - at: 4s\n    when: {event: during-file-send, node: 1}\n    action: seek\n"
    "    target: client 2\n    amount: 30\n"
    "  - at: 5s\n    action: fsync-eio\n    target: node 1\n    mode: forget\n";

/* Event-triggered faults, modes, seeks and the jitter bound parse, and are
 * written back as they were read. */
START_TEST(triggered_faults_modes_and_jitter_parse) {
  static struct scenario s, back;
  static char yaml[8192], again[8192];
  char err[256] = "";
  ck_assert_msg(
      scenario_parse("t.yaml", triggered_text, strlen(triggered_text), &s, err, sizeof err),
      "%s", err);
  ck_assert(s.topics[0].retention_deletes);
  ck_assert_int_eq(s.fault_jitter_us, 500);
  ck_assert_int_eq(s.fault_count, 5);
  ck_assert_int_eq(s.faults[0].when.event, FAULT_EVENT_DURING_FSYNC);
  ck_assert_int_eq(s.faults[0].when.nth, 1);
  ck_assert_int_eq(s.faults[0].when.within_ms, FAULT_WITHIN_DEFAULT_MS);
  ck_assert_int_eq(s.faults[0].mode, FAULT_MODE_TORN_GARBAGE);
  ck_assert_int_eq(s.faults[1].when.event, FAULT_EVENT_NONE);
  ck_assert_int_eq(s.faults[2].when.event, FAULT_EVENT_AFTER_WRITE);
  ck_assert_int_eq(s.faults[2].when.nth, 3);
  ck_assert_int_eq(s.faults[2].when.within_ms, 2000);
  ck_assert_int_eq(s.faults[2].mode, FAULT_MODE_TORN_ZEROS);
  ck_assert_int_eq(s.faults[3].when.event, FAULT_EVENT_DURING_FILE_SEND);
  ck_assert_int_eq(s.faults[3].when.node, 1);
  ck_assert_int_eq(s.faults[3].action, FAULT_SEEK);
  ck_assert_int_eq(s.faults[3].amount, 30);
  ck_assert_int_eq(s.faults[4].mode, FAULT_MODE_FORGET);
  size_t len = scenario_format(&s, yaml, sizeof yaml);
  ck_assert_msg(scenario_parse("t.yaml", yaml, len, &back, err, sizeof err), "%s\n%s", err,
                yaml);
  scenario_format(&back, again, sizeof again);
  ck_assert_str_eq(yaml, again);
  ck_assert(strstr(yaml, "jitter: 500us\n") != NULL);
  ck_assert(strstr(yaml, "    when: during-fsync\n") != NULL);
  ck_assert(strstr(yaml, "    when: {event: after-write, nth: 3, within: 2000ms}\n") != NULL);
  ck_assert_int_eq(back.faults[3].when.node, 1);
  /* The default bound is not written; 0 (exact times) is. */
  static const char exact[] = "topics:\n  - name: t\njitter: 0\n";
  ck_assert(scenario_parse("e.yaml", exact, strlen(exact), &s, err, sizeof err));
  ck_assert_int_eq(s.fault_jitter_us, 0);
  len = scenario_format(&s, yaml, sizeof yaml);
  ck_assert(strstr(yaml, "jitter: 0\n") != NULL);
  static const char dflt[] = "topics:\n  - name: t\n";
  ck_assert(scenario_parse("d.yaml", dflt, strlen(dflt), &s, err, sizeof err));
  ck_assert_int_eq(s.fault_jitter_us, FAULT_JITTER_DEFAULT_US);
  scenario_format(&s, yaml, sizeof yaml);
  ck_assert(strstr(yaml, "jitter") == NULL);
}
END_TEST

START_TEST(bad_triggers_modes_and_jitter_are_refused) {
  const char *head = "topics:\n  - name: t\nworkload:\n  producers: 1\n  consumers: 1\n"
                     "faults:\n  - at: 1s\n";
  static const char *const cases[][2] = {
      {"    when: during-lunch\n    action: kill\n    target: node 1\n",
       "bad.yaml:8: when: unknown event \"during-lunch\""},
      {"    when: {nth: 2}\n    action: kill\n    target: node 1\n",
       "bad.yaml:8: when: needs event:"},
      {"    when: {event: after-write, nth: 0}\n    action: kill\n    target: node 1\n",
       "bad.yaml:8: nth: expected an integer in [1, 1000000], got \"0\""},
      {"    when: {event: after-write, within: 0ms}\n    action: kill\n    target: node 1\n",
       "bad.yaml:8: within: must be positive"},
      {"    when: {event: after-write, node: 2}\n    action: kill\n    target: node 1\n",
       "bad.yaml:7: when: node 2 does not exist (nodes: 1)"},
      {"    when: {event: after-write, color: red}\n    action: kill\n    target: node 1\n",
       "bad.yaml:8: when: unknown key \"color\""},
      {"    action: kill\n    target: node 1\n    mode: shredded\n",
       "bad.yaml:10: mode: unknown mode \"shredded\""},
      {"    action: restart\n    target: node 1\n    mode: torn-zeros\n",
       "bad.yaml:7: restart: takes no mode torn-zeros"},
      {"    action: kill\n    target: node 1\n    mode: forget\n",
       "bad.yaml:7: kill: takes no mode forget"},
      {"    action: seek\n    target: node 1\n",
       "bad.yaml:7: seek: the target must be a consumer"},
      {"    action: seek\n    target: client 1\n", "bad.yaml:7: seek: client 1 is a producer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", head, cases[i][0]);
    refused(text, cases[i][1]);
  }
  refused("topics:\n  - name: t\njitter: 3\n", "bad.yaml:3: jitter: expected 0 or a bound");
  refused("topics:\n  - name: t\njitter: 1s\n", "bad.yaml:3: jitter: expected 0 or a bound");
  refused("topics:\n  - name: t\njitter: 200ms\n", "at most 100ms");
  refused("topics:\n  - name: t\n    retention_deletes: maybe\n",
          "bad.yaml:3: retention_deletes: expected true or false");
}
END_TEST

START_TEST(roles_per_node) {
  static const char text[] = "cluster:\n  nodes: 3\n  roles: [controller, broker, combined]\n"
                             "topics:\n  - name: t\n";
  static struct scenario s;
  char err[256] = "";
  ck_assert_msg(scenario_parse("r.yaml", text, strlen(text), &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.roles[0], ROLE_CONTROLLER);
  ck_assert_int_eq(s.roles[1], ROLE_BROKER);
  ck_assert_int_eq(s.roles[2], ROLE_COMBINED);
  ck_assert_str_eq(node_role_name(s.roles[0]), "controller");
  static char yaml[4096];
  static struct scenario back;
  size_t len = scenario_format(&s, yaml, sizeof yaml);
  ck_assert_msg(scenario_parse("r.yaml", yaml, len, &back, err, sizeof err), "%s", err);
  ck_assert_int_eq(back.roles[0], ROLE_CONTROLLER);
  ck_assert_int_eq(back.roles_listed, 3);
  refused("cluster:\n  nodes: 3\n  roles: [broker, broker]\ntopics:\n  - name: t\n",
          "roles: 2 listed for 3 nodes");
  refused("cluster:\n  roles: leader\n", "bad.yaml:2: roles: expected combined, broker or");
}
END_TEST

START_TEST(faults_missing_what_they_need_are_refused) {
  const char *head = "topics:\n  - name: t\n    partitions: 2\nfaults:\n  - at: 1s\n";
  static const char *const cases[][2] = {
      {"    action: clog\n    target: node 1\n", "bad.yaml:5: clog: needs for:"},
      {"    action: kill\n    target: client 1\n", "kill: the target must be a broker"},
      {"    action: heal\n    target: node 1\n", "heal: takes no target"},
      {"    action: kill\n    target: node 1\n    peer: client 1\n", "kill: takes no peer"},
      {"    action: partition\n    target: client 1\n    peer: client 1\n",
       "partition: the peer is the target"},
      {"    action: kill\n    target: leader(t,2)\n",
       "leader(t,2): the topic has 2 partitions"},
      {"    action: kill\n    target: leader(u,0)\n", "leader(u,...): no such topic"},
      {"    action: clock-drift\n    target: node 1\n    amount: 900000\n", "within +-500000"},
      {"    action: slow-disk\n    target: node 1\n    amount: 0\n", "at least 1"},
      {"    action: pause\n    target: client 3\n", "client 3 does not exist (clients: 2)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", head, cases[i][0]);
    refused(text, cases[i][1]);
  }
  refused("topics:\n  - name: a\n    partitions: 40\n  - name: b\n    partitions: 40\n",
          "80 partitions in all, at most 64");
  refused("name: x\n", "bad.yaml:1: topics: at least one topic is needed");
}
END_TEST

/* What the writer prints, the parser reads back to the same scenario: a
 * swarm seed's scenario can be saved and replayed as a file. Over the 300
 * seeds every kind of drawing shows up at least once. */
START_TEST(swarm_scenarios_round_trip_through_yaml) {
  int triggered = 0, torn = 0, forget = 0, seeks = 0, retention = 0, segments = 0;
  int jitter_off = 0, jitter_other = 0;
  for (uint64_t seed = 1; seed <= 300; seed++) {
    static struct scenario drawn, parsed;
    static char a[1 << 15], b[1 << 15];
    swarm_scenario(seed, &drawn);
    size_t len = scenario_format(&drawn, a, sizeof a);
    ck_assert_uint_lt(len, sizeof a);
    char err[256] = "";
    ck_assert_msg(scenario_parse("swarm.yaml", a, len, &parsed, err, sizeof err),
                  "seed %llu: %s\n%s", (unsigned long long)seed, err, a);
    scenario_format(&parsed, b, sizeof b);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(parsed.fault_count, drawn.fault_count);
    ck_assert_int_eq(parsed.fault_jitter_us, drawn.fault_jitter_us);
    for (int i = 1; i < parsed.fault_count; i++)
      ck_assert_int_le(parsed.faults[i - 1].at_ms, parsed.faults[i].at_ms);
    for (int i = 0; i < parsed.fault_count; i++) {
      const struct fault *p = &parsed.faults[i], *d = &drawn.faults[i];
      ck_assert(p->when.event == d->when.event && p->when.nth == d->when.nth &&
                p->when.node == d->when.node && p->when.within_ms == d->when.within_ms);
      ck_assert_int_eq(p->mode, d->mode);
      triggered += p->when.event != FAULT_EVENT_NONE;
      torn += p->mode == FAULT_MODE_TORN_ZEROS || p->mode == FAULT_MODE_TORN_GARBAGE;
      forget += p->mode == FAULT_MODE_FORGET;
      seeks += p->action == FAULT_SEEK;
    }
    retention += parsed.topics[0].retention_deletes;
    for (int i = 0; i < parsed.config_count; i++)
      segments += !strcmp(parsed.config[i].key, "log.segment.bytes");
    jitter_off += parsed.fault_jitter_us == 0;
    jitter_other +=
        parsed.fault_jitter_us > 0 && parsed.fault_jitter_us != FAULT_JITTER_DEFAULT_US;
  }
  ck_assert(triggered > 0 && torn > 0 && forget > 0 && seeks > 0);
  ck_assert(retention > 0 && segments > retention && jitter_off > 0 && jitter_other > 0);
}
END_TEST

START_TEST(swarm_scenarios_are_a_function_of_the_seed) {
  static struct scenario x, y;
  static char a[1 << 15], b[1 << 15];
  swarm_scenario(42, &x);
  swarm_scenario(42, &y);
  scenario_format(&x, a, sizeof a);
  scenario_format(&y, b, sizeof b);
  ck_assert_str_eq(a, b);
  int differ = 0;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    swarm_scenario(seed, &y);
    scenario_format(&y, b, sizeof b);
    differ += strcmp(a, b) != 0;
  }
  ck_assert_int_ge(differ, 19); /* only seed 42 itself may match */
}
END_TEST

/* Every shipped scenario parses, and none switches a checker off: each
 * says per checker what its configuration permits, in the new form. */
START_TEST(shipped_scenarios_parse) {
  static const char *const files[] = {
      "scenarios/client-mix.yaml",    "scenarios/client-partition.yaml",
      "scenarios/clock-faults.yaml",  "scenarios/crash-restart-fsync.yaml",
      "scenarios/crash-restart.yaml", "scenarios/disk-corruption.yaml",
      "scenarios/disk-errors.yaml",   "scenarios/disk-full.yaml",
      "scenarios/fsync-forget.yaml",  "scenarios/idempotent-retry.yaml",
      "scenarios/leader-kill.yaml",   "scenarios/network-faults.yaml",
      "scenarios/pause-resume.yaml",  "scenarios/retry-without-idempotence.yaml",
      "scenarios/segment-roll.yaml",  "scenarios/slow-disk.yaml",
      "scenarios/torn-writes.yaml",   "scenarios/deleted-topic-returns.yaml"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    static struct scenario s;
    char err[256] = "";
    ck_assert_msg(scenario_load(files[i], &s, err, sizeof err), "%s", err);
    ck_assert_msg(s.allowed_count == 0, "%s uses the old allow: list", files[i]);
  }
  static struct scenario s;
  char err[256] = "";
  /* Page-cache kills may lose the tail past what the disk kept, nothing
   * else; with fsync before acknowledging, not even that. */
  ck_assert(scenario_load("scenarios/crash-restart.yaml", &s, err, sizeof err));
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_LOST_WRITE), 1u << ALLOW_POWER_LOSS_TAIL);
  ck_assert(scenario_load("scenarios/crash-restart-fsync.yaml", &s, err, sizeof err));
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_LOST_WRITE), 0);
  ck_assert(scenario_load("scenarios/disk-corruption.yaml", &s, err, sizeof err));
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_LOST_WRITE), 1u << ALLOW_CORRUPT_BATCH);
  ck_assert_uint_eq(scenario_allowance(&s, CHECK_FINAL_READ), 0);
  /* No shipped scenario allows a duplicate, but the one that turns
   * idempotence off to show what it prevents. */
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    ck_assert(scenario_load(files[i], &s, err, sizeof err));
    bool shows = strstr(files[i], "without-idempotence") != NULL;
    ck_assert_msg(s.idempotence_off == shows, "%s", files[i]);
    ck_assert_uint_eq(scenario_allowance(&s, CHECK_DUPLICATE),
                      shows ? 1u << ALLOW_RETRIED_SENDS : 0);
  }
}
END_TEST

static Suite *scenario_suite(void) {
  Suite *s = suite_create("scenario");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, good_scenario_parses);
  tcase_add_test(tc, bad_scenarios_name_line_and_problem);
  tcase_add_test(tc, allowances_are_per_checker);
  tcase_add_test(tc, bad_allowances_name_line_and_problem);
  tcase_add_test(tc, shipped_scenarios_parse);
  tcase_add_test(tc, network_clock_and_disk_faults_parse);
  tcase_add_test(tc, faults_missing_what_they_need_are_refused);
  tcase_add_test(tc, roles_per_node);
  tcase_add_test(tc, triggered_faults_modes_and_jitter_parse);
  tcase_add_test(tc, bad_triggers_modes_and_jitter_are_refused);
  tcase_add_test(tc, client_keys_parse_and_round_trip);
  tcase_add_test(tc, hostile_keys_parse_and_round_trip);
  tcase_add_test(tc, group_keys_parse_and_round_trip);
  tcase_add_test(tc, swarm_scenarios_round_trip_through_yaml);
  tcase_add_test(tc, swarm_scenarios_are_a_function_of_the_seed);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(scenario_suite)
