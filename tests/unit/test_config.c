#include <stdio.h>
#include <string.h>

#include "server/config.h"
#include "server/topic_config.h"
#include "testing.h"

static bool parse(struct config *c, const char *text, char *err, size_t cap) {
  config_defaults(c);
  return config_parse(c, text, strlen(text), NULL, err, cap);
}

/* The users' own broker config (../shared/seed/config/server-broker1.properties). */
static const char seed_config[] =
    "process.roles=broker,controller\n"
    "node.id=1\n"
    "controller.quorum.voters=1@localhost:10092,2@localhost:10093\n"
    "listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:10092\n"
    "advertised.listeners=PLAINTEXT://localhost:9092\n"
    "inter.broker.listener.name=PLAINTEXT\n"
    "controller.listener.names=CONTROLLER\n"
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
    "log.dirs=/var/kafka/logs/broker1\n"
    "num.partitions=4\n"
    "default.replication.factor=2\n"
    "offsets.topic.replication.factor=2\n"
    "transaction.state.log.replication.factor=2\n"
    "transaction.state.log.min.isr=2\n"
    "num.network.threads=2\n"
    "num.io.threads=4\n"
    "socket.send.buffer.bytes=102400\n"
    "socket.receive.buffer.bytes=102400\n"
    "socket.request.max.bytes=104857600\n"
    "log.retention.hours=168\n"
    "log.retention.bytes=1073741824\n"
    "log.segment.bytes=1073741824\n"
    "log.retention.check.interval.ms=300000\n"
    "compression.type=gzip\n";

START_TEST(seed_config_parses) {
  struct config c;
  char err[256] = "";
  ck_assert_msg(parse(&c, seed_config, err, sizeof err), "%s", err);
  ck_assert_int_eq(c.node_id, 1);
  ck_assert_int_eq(c.listener_count, 2);
  ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
  ck_assert_str_eq(c.listeners[0].host, "localhost");
  ck_assert_int_eq(c.listeners[0].port, 9092);
  ck_assert_int_eq(c.listeners[1].port, 10092);
  ck_assert_str_eq(c.log_dirs, "/var/kafka/logs/broker1");
  ck_assert_int_eq(c.num_partitions, 4);
  ck_assert_str_eq(c.compression_type, "gzip");
  ck_assert_int_eq(config_retention_ms(&c), 168LL * 3600 * 1000);
  ck_assert_int_eq(c.log_retention_bytes, 1073741824LL);
  /* The client listener is PLAINTEXT, not the controller's. */
  ck_assert_str_eq(config_client_listener(&c)->name, "PLAINTEXT");
  ck_assert_int_eq(config_advertised_for(&c, "PLAINTEXT")->port, 9092);
  ck_assert(config_is_controller_listener(&c, "CONTROLLER"));
  ck_assert(!config_is_controller_listener(&c, "PLAINTEXT"));
  ck_assert_int_eq(c.voter_count, 2);
  ck_assert_int_eq(c.voters[1].id, 2);
  ck_assert_str_eq(c.voters[1].host, "localhost");
  ck_assert_int_eq(c.voters[1].port, 10093);
}
END_TEST

START_TEST(quorum_voters_are_checked) {
  struct config c;
  char err[256];
  ck_assert(parse(&c, "controller.quorum.voters=3@[::1]:9093\n", err, sizeof err));
  ck_assert_int_eq(c.voters[0].id, 3);
  ck_assert_str_eq(c.voters[0].host, "::1");
  const char *bad[] = {"x@h:1", "1@h", "1h:1", "1@h:1,1@g:2", "-1@h:1", "1@h:99999", "@h:1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[64];
    snprintf(text, sizeof text, "controller.quorum.voters=%s\n", bad[i]);
    ck_assert_msg(!parse(&c, text, err, sizeof err), "%s", bad[i]);
    ck_assert_msg(strstr(err, "controller.quorum.voters"), "%s", err);
  }
}
END_TEST

START_TEST(retention_precedence) {
  struct config c;
  char err[256];
  ck_assert(parse(&c, "log.retention.hours=1\nlog.retention.minutes=2\n", err, sizeof err));
  ck_assert_int_eq(config_retention_ms(&c), 120000);
  ck_assert(parse(&c, "log.retention.minutes=2\nlog.retention.ms=5\n", err, sizeof err));
  ck_assert_int_eq(config_retention_ms(&c), 5);
  ck_assert(parse(&c, "log.retention.hours=-1\n", err, sizeof err));
  ck_assert_int_eq(config_retention_ms(&c), -1);
  ck_assert(parse(&c, "", err, sizeof err));
  ck_assert_int_eq(config_retention_ms(&c), 604800000);
  ck_assert_int_eq(config_roll_ms(&c), 604800000);
}
END_TEST

START_TEST(bad_values_name_key_and_line) {
  struct config c;
  char err[256];
  ck_assert(!parse(&c, "# comment\nnum.partitions=zero\n", err, sizeof err));
  ck_assert_msg(strstr(err, "line 2") && strstr(err, "num.partitions") &&
                    strstr(err, "not an integer"),
                "%s", err);
  ck_assert(!parse(&c, "num.partitions=0\n", err, sizeof err));
  ck_assert_msg(strstr(err, "out of range"), "%s", err);
  ck_assert(!parse(&c, "listeners=localhost:9092\n", err, sizeof err));
  ck_assert_msg(strstr(err, "listeners"), "%s", err);
  ck_assert(!parse(&c, "compression.type=brotli\n", err, sizeof err));
  ck_assert_msg(strstr(err, "compression.type"), "%s", err);
  ck_assert(!parse(&c, "auto.create.topics.enable=yes\n", err, sizeof err));
  ck_assert(!parse(&c, "just some words\n", err, sizeof err));
  ck_assert_msg(strstr(err, "line 1"), "%s", err);
  ck_assert(!parse(&c, "log.segment.bytes=99999999999\n", err, sizeof err));
}
END_TEST

START_TEST(unknown_and_later_keys_accepted) {
  struct config c;
  char err[256];
  ck_assert(parse(&c,
                  "some.unknown.key=1\ncontroller.quorum.voters=1@h:1\n"
                  "num.io.threads=8\n  node.id = 7  \r\n",
                  err, sizeof err));
  ck_assert_int_eq(c.node_id, 7);
}
END_TEST

START_TEST(ipv6_and_wildcard_listeners) {
  struct config c;
  char err[256];
  ck_assert(
      parse(&c, "listeners=PLAINTEXT://[::1]:9092,CONTROLLER://:9093\n", err, sizeof err));
  ck_assert_str_eq(c.listeners[0].host, "::1");
  ck_assert_str_eq(c.listeners[1].host, "");
  ck_assert_int_eq(c.listeners[1].port, 9093);
  ck_assert(!parse(&c, "listeners=A://h:1,A://h:2\n", err, sizeof err)); /* duplicate name */
}
END_TEST

START_TEST(topic_configs_default_from_broker) {
  struct config c;
  char err[256];
  ck_assert(parse(&c, "log.retention.bytes=1000\ncompression.type=gzip\n", err, sizeof err));
  struct topic_config tc;
  topic_config_init(&tc, &c);
  ck_assert_int_eq(topic_config_i64(&tc, TC_RETENTION_BYTES), 1000);
  ck_assert_int_eq(tc.source[TC_RETENTION_BYTES], CONFIG_SOURCE_STATIC_BROKER);
  ck_assert_str_eq(topic_config_str(&tc, TC_COMPRESSION_TYPE), "gzip");
  ck_assert_int_eq(tc.source[TC_SEGMENT_BYTES], CONFIG_SOURCE_DEFAULT);
  ck_assert(topic_config_set(&tc, "retention.ms", "5000", err, sizeof err));
  ck_assert_int_eq(topic_config_i64(&tc, TC_RETENTION_MS), 5000);
  ck_assert_int_eq(tc.source[TC_RETENTION_MS], CONFIG_SOURCE_DYNAMIC_TOPIC);
  ck_assert(!topic_config_set(&tc, "retention.ms", "soon", err, sizeof err));
  ck_assert(!topic_config_set(&tc, "no.such.config", "1", err, sizeof err));
  ck_assert_msg(strstr(err, "no.such.config"), "%s", err);
  ck_assert(!topic_config_set(&tc, "compression.type", "brotli", err, sizeof err));
  /* The log cleaner compacts (log/cleaner.h); a policy outside the list is refused. */
  ck_assert(topic_config_set(&tc, "cleanup.policy", "compact", err, sizeof err));
  ck_assert(topic_config_compacted(&tc) && !topic_config_deletes(&tc));
  ck_assert(topic_config_set(&tc, "cleanup.policy", "compact,delete", err, sizeof err));
  ck_assert(topic_config_compacted(&tc) && topic_config_deletes(&tc));
  ck_assert(!topic_config_set(&tc, "cleanup.policy", "shred", err, sizeof err));
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, seed_config_parses);
  tcase_add_test(tc, quorum_voters_are_checked);
  tcase_add_test(tc, retention_precedence);
  tcase_add_test(tc, bad_values_name_key_and_line);
  tcase_add_test(tc, unknown_and_later_keys_accepted);
  tcase_add_test(tc, ipv6_and_wildcard_listeners);
  tcase_add_test(tc, topic_configs_default_from_broker);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(config_suite)
