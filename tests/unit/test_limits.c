/* The request budgets of server/limits.c and their configs (issue 13):
 * partitions per request and per cluster, topics auto-created per request
 * and per second (on a clock the test moves), and the config names. */
#include <stdlib.h>
#include <string.h>

#include "proto/errors.h"
#include "server/config.h"
#include "server/server.h"
#include "testing.h"

struct fake {
  struct env env;
  uint64_t now_ns;
  int warnings;
};

static uint64_t fake_now_ns(struct env *env) { return ((struct fake *)env->world)->now_ns; }

static void fake_logv(struct env *env, enum env_log_level level, const char *fmt, va_list ap) {
  (void)fmt, (void)ap;
  if (level == ENV_LOG_WARN) ((struct fake *)env->world)->warnings++;
}

static struct node *node_new(struct fake *f) {
  memset(f, 0, sizeof *f);
  f->env.world = f;
  f->env.now_ns = fake_now_ns;
  f->env.logv = fake_logv;
  f->now_ns = 1000;
  struct node *node = calloc(1, sizeof *node);
  ck_assert_ptr_nonnull(node);
  node->env = &f->env;
  config_defaults(&node->cfg);
  return node;
}

START_TEST(partitions_per_request_and_per_cluster) {
  struct fake f;
  struct node *node = node_new(&f);
  node->cfg.create_topics_partitions_max = 20;
  node->cfg.cluster_partitions_max = 60;
  char why[256];
  ck_assert_int_eq(limits_partitions_check(node, 0, 0, 20, why, sizeof why), KERR_NONE);
  ck_assert_int_eq(limits_partitions_check(node, 0, 0, 21, why, sizeof why),
                   KERR_POLICY_VIOLATION);
  ck_assert_ptr_nonnull(strstr(why, "sluice.create.topics.partitions.max (20)"));
  /* the request's sum counts */
  ck_assert_int_eq(limits_partitions_check(node, 12, 0, 9, why, sizeof why),
                   KERR_POLICY_VIOLATION);
  ck_assert_int_eq(limits_partitions_check(node, 0, 41, 19, why, sizeof why), KERR_NONE);
  ck_assert_int_eq(limits_partitions_check(node, 0, 41, 20, why, sizeof why),
                   KERR_POLICY_VIOLATION);
  ck_assert_ptr_nonnull(strstr(why, "sluice.cluster.partitions.max (60)"));
  /* nonsense counts are the controller's to refuse */
  ck_assert_int_eq(limits_partitions_check(node, 0, 0, -5, why, sizeof why), KERR_NONE);
  free(node);
}
END_TEST

START_TEST(auto_create_per_request_and_per_second) {
  struct fake f;
  struct node *node = node_new(&f);
  node->cfg.auto_create_topics_max_per_request = 5;
  node->cfg.auto_create_topics_max_per_second = 12;
  ck_assert_int_eq(limits_auto_create_take(node, 3), 3);
  ck_assert_int_eq(f.warnings, 0);
  ck_assert_int_eq(limits_auto_create_take(node, 40), 5); /* per request */
  ck_assert_int_eq(f.warnings, 1);
  ck_assert_int_eq(limits_auto_create_take(node, 40), 4); /* 12 in this second */
  ck_assert_int_eq(limits_auto_create_take(node, 1), 0);
  ck_assert_int_eq(f.warnings, 1); /* once per window */
  f.now_ns += NS_PER_S - 1;
  ck_assert_int_eq(limits_auto_create_take(node, 1), 0);
  f.now_ns += 1; /* a new second */
  ck_assert_int_eq(limits_auto_create_take(node, 2), 2);
  node->cfg.auto_create_topics_max_per_request = 0; /* off */
  ck_assert_int_eq(limits_auto_create_take(node, 2), 0);
  free(node);
}
END_TEST

START_TEST(configs_parse_with_their_defaults) {
  struct config c;
  config_defaults(&c);
  ck_assert_int_eq(c.queued_max_request_bytes, 104857600);
  ck_assert_int_eq(c.max_connections, 10000);
  ck_assert_int_eq(c.max_connections_per_ip, 2000);
  ck_assert_int_eq(c.produce_decompressed_bytes_max, 64 << 20);
  const char text[] = "queued.max.request.bytes=-1\n"
                      "max.connections=7\n"
                      "max.connections.per.ip=3\n"
                      "sluice.connection.response.bytes.max=1024\n"
                      "sluice.response.bytes.max=4096\n"
                      "sluice.create.topics.partitions.max=9\n"
                      "sluice.cluster.partitions.max=99\n"
                      "sluice.auto.create.topics.max.per.request=2\n"
                      "sluice.auto.create.topics.max.per.second=4\n"
                      "sluice.produce.decompressed.bytes.max=65536\n";
  char err[256] = "";
  ck_assert_msg(config_parse(&c, text, strlen(text), NULL, err, sizeof err), "%s", err);
  ck_assert_int_eq(c.queued_max_request_bytes, -1);
  ck_assert_int_eq(c.max_connections, 7);
  ck_assert_int_eq(c.max_connections_per_ip, 3);
  ck_assert_int_eq(c.connection_response_bytes_max, 1024);
  ck_assert_int_eq(c.response_bytes_max, 4096);
  ck_assert_int_eq(c.create_topics_partitions_max, 9);
  ck_assert_int_eq(c.cluster_partitions_max, 99);
  ck_assert_int_eq(c.auto_create_topics_max_per_request, 2);
  ck_assert_int_eq(c.auto_create_topics_max_per_second, 4);
  ck_assert_int_eq(c.produce_decompressed_bytes_max, 65536);
  char value[64];
  bool set;
  ck_assert(config_value(&c, "max.connections.per.ip", value, sizeof value, &set));
  ck_assert_str_eq(value, "3");
  ck_assert(set);
  config_defaults(&c);
  ck_assert(!config_parse(&c, "sluice.response.bytes.max=0\n", 28, NULL, err, sizeof err));
  ck_assert(!config_parse(&c, "max.connections=-1\n", 19, NULL, err, sizeof err));
}
END_TEST

static Suite *limits_suite(void) {
  Suite *s = suite_create("limits");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, partitions_per_request_and_per_cluster);
  tcase_add_test(tc, auto_create_per_request_and_per_second);
  tcase_add_test(tc, configs_parse_with_their_defaults);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(limits_suite)
