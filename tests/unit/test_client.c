/* The project's own client library (broker/client/) against a real node,
 * both in this process on two real-world loops: produce, consume, acks=0,
 * a broker restart in the middle with retries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/kclient.h"
#include "client/producer.h"
#include "os/world.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "server/node.h"
#include "testing.h"

enum { VALUES = 3000, ROUNDS_MAX = 200000 };

struct fixture {
  char dir[64];
  struct os_world *bw, *cw;
  struct node *node;
  uint16_t port;
  struct net_dispatch net;
  struct kclient client;
  struct kconn *conn;
  int created;
  int64_t acked_offset[VALUES];
  int acked, failed;
  int64_t polled_offset[VALUES];
  int polled;
  bool shut;
};

static struct fixture fx;

static void node_up(void) {
  struct config cfg;
  config_defaults(&cfg);
  cfg.node_id = 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "%s/logs", fx.dir);
  snprintf(cfg.listeners[0].host, sizeof cfg.listeners[0].host, "127.0.0.1");
  cfg.listeners[0].port = fx.port;
  fx.bw = os_world_create(1);
  os_world_set_log_level(fx.bw, ENV_LOG_WARN);
  ck_assert_int_eq(node_create(os_world_env(fx.bw), &cfg, &fx.node), 0);
  ck_assert_int_eq(node_start(fx.node), 0);
  fx.port = node_listener_port(fx.node, 0);
}

static void shut(void *ctx) { *(bool *)ctx = true; }

static void run_both(void) {
  os_world_run_once(fx.bw, 0);
  os_world_run_once(fx.cw, 1);
}

static void node_down(void) {
  fx.shut = false;
  node_shutdown(fx.node, shut, &fx.shut);
  for (int i = 0; i < ROUNDS_MAX && !fx.shut; i++) run_both();
  ck_assert(fx.shut);
  node_destroy(fx.node);
  os_world_destroy(fx.bw);
}

static void setup(void) {
  memset(&fx, 0, sizeof fx);
  snprintf(fx.dir, sizeof fx.dir, "/tmp/sluice-test-client-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(fx.dir));
  node_up();
  fx.cw = os_world_create(100);
  os_world_set_log_level(fx.cw, ENV_LOG_ERROR);
  net_dispatch_init(&fx.net, os_world_env(fx.cw));
  kclient_init(&fx.client, &fx.net);
  fx.conn = kclient_conn(&fx.client, "127.0.0.1", fx.port, "test-client");
}

static void teardown(void) {
  if (fx.node) node_down();
  kclient_close_all(&fx.client);
  os_world_destroy(fx.cw);
  net_dispatch_free(&fx.net);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx.dir);
  ck_assert_int_eq(system(cmd), 0);
}

static void created(void *ctx, int error) {
  (void)ctx;
  ck_assert_int_eq(error, KERR_NONE);
  fx.created = 1;
}

static void acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  (void)ctx, (void)partition;
  fx.acked_offset[id] = offset;
  fx.acked++;
}

static void failed(void *ctx, uint64_t id, int32_t partition, int error) {
  (void)ctx, (void)id, (void)partition, (void)error;
  fx.failed++;
}

static void polled(void *ctx, const char *topic, int32_t partition, int64_t offset,
                   struct kbytes key, struct kbytes value) {
  (void)ctx, (void)partition, (void)key;
  ck_assert_str_eq(topic, "sim");
  unsigned id;
  ck_assert(value.len > 0 && sscanf((const char *)value.ptr, "value-%u", &id) == 1);
  ck_assert_uint_lt(id, VALUES);
  fx.polled_offset[id] = offset;
  fx.polled++;
}

static void create_topic(void) {
  for (int i = 0; i < ROUNDS_MAX && !kconn_connected(fx.conn); i++) run_both();
  /* Connected means negotiated: the broker's versions are known. */
  ck_assert_int_eq(kconn_version(fx.conn, API_FETCH, 4, 15), 15);
  ck_assert_int_eq(kconn_version(fx.conn, API_FETCH, 16, 17), -1);
  ck_assert_int_eq(kconn_version(fx.conn, API_VOTE, 0, 1), -1); /* a client listener */
  ck_assert_int_eq(kadmin_create_topic(fx.conn, "sim", 1, 1, created, NULL), 0);
  for (int i = 0; i < ROUNDS_MAX && !fx.created; i++) run_both();
  ck_assert(fx.created);
}

static void start_producer(struct kproducer *p, int16_t acks) {
  struct kproducer_config cfg = {.partition_count = 1,
                                 .acks = acks,
                                 .batch_records_max = 50,
                                 .retries_max = 1000,
                                 .retry_backoff_ms = 10,
                                 .timeout_ms = 30000,
                                 .codec = RB_CODEC_LZ4};
  snprintf(cfg.topic, sizeof cfg.topic, "sim");
  struct kproducer_listener l = {.acked = acked, .failed = failed};
  kproducer_init(p, os_world_env(fx.cw), fx.conn, &cfg, &l);
}

static void send_values(struct kproducer *p, int from, int to) {
  for (int i = from; i < to; i++) {
    char v[32];
    int n = snprintf(v, sizeof v, "value-%d", i);
    ck_assert_int_eq(kproducer_send(p, 0, "k", 1, v, n + 1, (uint64_t)i), 0);
  }
}

static void consume_all(int expect) {
  struct kconsumer c;
  struct kconsumer_config cfg = {
      .max_wait_ms = 100, .max_bytes = 1 << 20, .retry_backoff_ms = 10};
  struct kconsumer_listener l = {.polled = polled};
  kconsumer_init(&c, os_world_env(fx.cw), fx.conn, &cfg, &l);
  kconsumer_assign(&c, "sim", 0, 0);
  kconsumer_start(&c);
  for (int i = 0; i < ROUNDS_MAX && fx.polled < expect; i++) run_both();
  kconsumer_stop(&c);
  ck_assert_int_eq(fx.polled, expect);
}

START_TEST(produce_and_consume_in_order) {
  create_topic();
  struct kproducer p;
  start_producer(&p, -1);
  send_values(&p, 0, VALUES);
  for (int i = 0; i < ROUNDS_MAX && fx.acked + fx.failed < VALUES; i++) run_both();
  ck_assert_int_eq(fx.failed, 0);
  ck_assert_int_eq(fx.acked, VALUES);
  for (int i = 0; i < VALUES; i++)
    ck_assert_int_eq(fx.acked_offset[i], i); /* one partition, in order */
  consume_all(VALUES);
  for (int i = 0; i < VALUES; i++) ck_assert_int_eq(fx.polled_offset[i], fx.acked_offset[i]);
  kproducer_free(&p);
}
END_TEST

START_TEST(retries_across_a_broker_restart) {
  create_topic();
  struct kproducer p;
  start_producer(&p, 1);
  send_values(&p, 0, 1000);
  for (int i = 0; i < ROUNDS_MAX && fx.acked < 1000; i++) run_both();
  ck_assert_int_eq(fx.acked, 1000);
  node_down(); /* clean shutdown; the client sees its connection close */
  fx.node = NULL;
  send_values(&p, 1000, 2000);
  for (int i = 0; i < 100; i++) os_world_run_once(fx.cw, 1);
  ck_assert_int_lt(fx.acked, 2000); /* nothing can be acknowledged with no broker */
  node_up();
  for (int i = 0; i < ROUNDS_MAX && fx.acked < 2000; i++) run_both();
  ck_assert_int_eq(fx.acked, 2000);
  ck_assert_int_eq(fx.failed, 0);
  consume_all(2000);
  kproducer_free(&p);
}
END_TEST

static Suite *client_suite(void) {
  Suite *s = suite_create("client");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, produce_and_consume_in_order);
  tcase_add_test(tc, retries_across_a_broker_restart);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(client_suite)
