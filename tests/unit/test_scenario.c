/* Scenario files: a good one parses into what it says; bad ones are
 * refused with the line and the problem. */
#include <string.h>

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
  ck_assert_int_eq(s.faults[0].target, TARGET_LEADER);
  ck_assert_str_eq(s.faults[0].topic, "test-topic");
  ck_assert_int_eq(s.faults[0].line, 17);
  ck_assert_int_eq(s.faults[1].at_ms, 12500);
  ck_assert_int_eq(s.faults[1].target_id, 2);
  ck_assert_int_eq(s.faults[2].action, FAULT_HEAL);
  ck_assert_int_eq(s.faults[3].amount, -5000);
  ck_assert_int_eq(s.must_pass_count, 2);
  ck_assert_int_eq(s.max_unavailability_ms, 5000);
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

START_TEST(shipped_scenarios_parse) {
  static const char *const files[] = {"scenarios/crash-restart.yaml",
                                      "scenarios/disk-corruption.yaml",
                                      "scenarios/disk-full.yaml", "scenarios/slow-disk.yaml",
                                      "scenarios/client-partition.yaml"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    struct scenario s;
    char err[256] = "";
    ck_assert_msg(scenario_load(files[i], &s, err, sizeof err), "%s", err);
  }
}
END_TEST

static Suite *scenario_suite(void) {
  Suite *s = suite_create("scenario");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, good_scenario_parses);
  tcase_add_test(tc, bad_scenarios_name_line_and_problem);
  tcase_add_test(tc, shipped_scenarios_parse);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(scenario_suite)
