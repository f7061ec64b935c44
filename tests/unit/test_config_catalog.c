/* The config catalog (server/config_catalog.h): Kafka 3.9's topic and broker
 * configs with their types, defaults and validators, and how CreateTopics'
 * topic configs and server.properties are checked against it. */
#include <string.h>

#include "server/config.h"
#include "server/config_catalog.h"
#include "server/topic_config.h"
#include "testing.h"

START_TEST(topic_configs_come_first_in_key_order) {
  ck_assert_int_eq(TC_COUNT, 36); /* LogConfig's topic configs in 3.9 */
  for (int k = 0; k < TC_COUNT; k++) {
    const struct config_def *d = config_catalog_at(k);
    ck_assert_int_eq(d->scope, CONFIG_SCOPE_TOPIC);
    ck_assert_ptr_eq(topic_config_info(k), d);
    ck_assert_int_eq(topic_config_find(d->name), k);
    if (k > 0) ck_assert_int_lt(strcmp(config_catalog_at(k - 1)->name, d->name), 0);
  }
  ck_assert_str_eq(topic_config_info(TC_DELETE_RETENTION_MS)->name, "delete.retention.ms");
  ck_assert_str_eq(topic_config_info(TC_SEGMENT_BYTES)->synonym, "log.segment.bytes");
  for (int i = TC_COUNT; i < config_catalog_count(); i++)
    ck_assert_int_eq(config_catalog_at(i)->scope, CONFIG_SCOPE_BROKER);
}
END_TEST

START_TEST(every_default_passes_its_own_check) {
  for (int i = 0; i < config_catalog_count(); i++) {
    const struct config_def *d = config_catalog_at(i);
    char err[512] = "";
    if (!d->default_value) continue; /* null */
    ck_assert_msg(config_catalog_check(d, d->default_value, err, sizeof err), "%s", err);
  }
}
END_TEST

START_TEST(broker_names_unique_and_known) {
  int broker = config_catalog_count() - TC_COUNT;
  ck_assert_int_eq(broker, 314); /* KafkaConfig's documented names in 3.9 */
  for (int i = TC_COUNT + 1; i < config_catalog_count(); i++)
    ck_assert_int_lt(strcmp(config_catalog_at(i - 1)->name, config_catalog_at(i)->name), 0);
  const struct config_def *d =
      config_catalog_find(CONFIG_SCOPE_BROKER, "log.cleaner.delete.retention.ms");
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(d->type, CONFIG_TYPE_LONG);
  ck_assert_str_eq(d->default_value, "86400000");
  d = config_catalog_find(CONFIG_SCOPE_BROKER, "ssl.keystore.password");
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(d->type, CONFIG_TYPE_PASSWORD);
  ck_assert(d->flags & CONFIG_SENSITIVE);
  ck_assert_ptr_null(config_catalog_find(CONFIG_SCOPE_BROKER, "delete.retention.ms"));
  ck_assert_ptr_null(config_catalog_find(CONFIG_SCOPE_TOPIC, "log.dirs"));
}
END_TEST

static const char *check(enum config_scope scope, const char *name, const char *value) {
  static char err[512]; /* test-only */
  err[0] = 0;
  const struct config_def *d = config_catalog_find(scope, name);
  ck_assert_msg(d != NULL, "%s", name);
  return config_catalog_check(d, value, err, sizeof err) ? NULL : err;
}

START_TEST(validation_speaks_kafka) {
  enum config_scope t = CONFIG_SCOPE_TOPIC;
  ck_assert_ptr_null(check(t, "delete.retention.ms", "900"));
  ck_assert_str_eq(check(t, "delete.retention.ms", "-5"),
                   "Invalid value -5 for configuration delete.retention.ms: Value must be at "
                   "least 0");
  ck_assert_str_eq(check(t, "segment.bytes", "2147483648"),
                   "Invalid value 2147483648 for configuration segment.bytes: Not a number of "
                   "type INT");
  ck_assert_str_eq(
      check(t, "min.cleanable.dirty.ratio", "1.5"),
      "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be "
      "no more than 1");
  ck_assert_ptr_null(check(t, "min.cleanable.dirty.ratio", "0.25"));
  ck_assert_ptr_nonnull(check(t, "min.cleanable.dirty.ratio", "half"));
  ck_assert_ptr_null(check(t, "compression.gzip.level", "-1")); /* the extra value */
  ck_assert_ptr_nonnull(check(t, "compression.gzip.level", "0"));
  ck_assert_ptr_null(check(t, "compression.zstd.level", "-7"));
  ck_assert_ptr_null(check(t, "cleanup.policy", "compact, delete"));
  ck_assert_str_eq(
      check(t, "cleanup.policy", "delete,shred"),
      "Invalid value delete,shred for configuration cleanup.policy: String must be "
      "one of: compact, delete");
  ck_assert_ptr_null(check(t, "preallocate", "TRUE")); /* ConfigDef ignores case */
  ck_assert_str_eq(
      check(t, "preallocate", "yes"),
      "Invalid value yes for configuration preallocate: Expected value to be either "
      "true or false");
  ck_assert_ptr_nonnull(check(t, "message.timestamp.type", "createtime"));
  enum config_scope b = CONFIG_SCOPE_BROKER;
  ck_assert_ptr_null(check(b, "security.inter.broker.protocol", "SASL_SSL"));
  ck_assert_ptr_nonnull(check(b, "security.inter.broker.protocol", "TLS"));
  ck_assert_ptr_null(check(b, "log.cleaner.min.cleanable.ratio", "0.9"));
  ck_assert_ptr_nonnull(check(b, "num.network.threads", "0"));
}
END_TEST

START_TEST(topic_set_refuses_what_sluice_lacks) {
  struct config b;
  config_defaults(&b);
  struct topic_config tc;
  topic_config_init(&tc, &b);
  char err[512];
  ck_assert(topic_config_set(&tc, "delete.retention.ms", "900", err, sizeof err));
  ck_assert_str_eq(topic_config_str(&tc, TC_DELETE_RETENTION_MS), "900");
  ck_assert_int_eq(tc.source[TC_DELETE_RETENTION_MS], CONFIG_SOURCE_DYNAMIC_TOPIC);
  ck_assert(topic_config_set(&tc, "leader.replication.throttled.replicas", "0:1,1:2", err,
                             sizeof err));
  ck_assert(topic_config_set(&tc, "cleanup.policy", "compact", err, sizeof err));
  ck_assert(!topic_config_set(&tc, "remote.storage.enable", "true", err, sizeof err));
  char long_value[100];
  memset(long_value, 'a', sizeof long_value - 1);
  long_value[sizeof long_value - 1] = 0;
  ck_assert(!topic_config_set(&tc, "message.format.version", long_value, err, sizeof err));
  ck_assert_str_eq(topic_config_str(&tc, TC_MESSAGE_FORMAT_VERSION), "3.0-IV1"); /* kept */
  ck_assert(!topic_config_set(&tc, "delete.retention", "1", err, sizeof err));
  ck_assert_str_eq(err, "Unknown topic config name: delete.retention");
}
END_TEST

START_TEST(broker_keys_stored_and_synonyms_feed_topics) {
  static const char text[] = "log.cleaner.delete.retention.ms=5000\n"
                             "log.roll.jitter.hours=2\n"
                             "ssl.keystore.password=secret\n"
                             "num.io.threads=4\n"
                             "no.such.key=1\n";
  struct config b;
  config_defaults(&b);
  char err[512] = "";
  ck_assert_msg(config_parse(&b, text, strlen(text), NULL, err, sizeof err), "%s", err);
  char v[300];
  bool set = false;
  ck_assert(config_value(&b, "num.io.threads", v, sizeof v, &set) && set);
  ck_assert_str_eq(v, "4");
  ck_assert(config_value(&b, "num.network.threads", v, sizeof v, &set) && !set);
  ck_assert_str_eq(v, "3"); /* Kafka's default */
  ck_assert(!config_value(&b, "log.dirs", v, sizeof v, &set) || strlen(v) > 0);
  ck_assert(!config_value(&b, "zookeeper.connect", v, sizeof v, &set)); /* null */
  ck_assert(config_value(&b, "compression.type", v, sizeof v, &set) && !set);
  struct topic_config tc;
  topic_config_init(&tc, &b);
  ck_assert_str_eq(topic_config_str(&tc, TC_DELETE_RETENTION_MS), "5000");
  ck_assert_int_eq(tc.source[TC_DELETE_RETENTION_MS], CONFIG_SOURCE_STATIC_BROKER);
  ck_assert_int_eq(topic_config_i64(&tc, TC_SEGMENT_JITTER_MS), 2 * 3600000LL);
  ck_assert_str_eq(topic_config_str(&tc, TC_MIN_COMPACTION_LAG_MS), "0");
  ck_assert_int_eq(tc.source[TC_MIN_COMPACTION_LAG_MS], CONFIG_SOURCE_DEFAULT);
  /* A bad value of a catalog key stops the parse, naming key and line. */
  static const char bad[] = "node.id=1\nlog.cleaner.threads=zero\n";
  config_defaults(&b);
  ck_assert(!config_parse(&b, bad, strlen(bad), NULL, err, sizeof err));
  ck_assert_msg(strstr(err, "line 2") && strstr(err, "log.cleaner.threads"), "%s", err);
}
END_TEST

static Suite *catalog_suite(void) {
  Suite *s = suite_create("config_catalog");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, topic_configs_come_first_in_key_order);
  tcase_add_test(tc, every_default_passes_its_own_check);
  tcase_add_test(tc, broker_names_unique_and_known);
  tcase_add_test(tc, validation_speaks_kafka);
  tcase_add_test(tc, topic_set_refuses_what_sluice_lacks);
  tcase_add_test(tc, broker_keys_stored_and_synonyms_feed_topics);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(catalog_suite)
