/* The simulated world: its disk and network models, and the real node with
 * the project's client library running inside it, deterministically. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/kclient.h"
#include "client/producer.h"
#include "proto/errors.h"
#include "server/node.h"
#include "sim/crash.h"
#include "sim/world.h"
#include "testing.h"

/* ---- the event queue ---- */

enum { QUEUE_TIMERS = 600 };

struct fired {
  int order[QUEUE_TIMERS];
  uint64_t at_ns[QUEUE_TIMERS];
  int count;
  struct sim_world *w;
};
static struct fired fired;
static int timer_index[QUEUE_TIMERS];

static void timer_fired(void *ctx) {
  int i = *(int *)ctx;
  ck_assert_int_lt(fired.count, QUEUE_TIMERS);
  fired.at_ns[fired.count] = sim_now_ns(fired.w);
  fired.order[fired.count++] = i;
}

/* Timers fire by due time, equal times in the order started, whatever the
 * mix of delays and cancels (far ones, near ones, many at one instant). */
START_TEST(timers_fire_in_time_then_start_order) {
  struct sim_world *w = sim_world_create(3);
  struct env *env = sim_node_env(sim_node_add(w, 1, "n1"));
  fired = (struct fired){.w = w};
  env_timer_id ids[QUEUE_TIMERS];
  uint64_t due_ns[QUEUE_TIMERS];
  uint64_t x = 12345;
  for (int i = 0; i < QUEUE_TIMERS; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t delay_ns = i % 3 == 0 ? (x >> 40) % 7 : (x >> 33) % 100000; /* many ties */
    timer_index[i] = i;
    due_ns[i] = sim_now_ns(w) + delay_ns;
    ids[i] = env->timer_start(env, delay_ns, timer_fired, &timer_index[i]);
    if (i % 50 == 49) ck_assert(sim_step(w)); /* some fire between starts */
  }
  int fired_before_cancels = fired.count;
  bool cancelled[QUEUE_TIMERS] = {0};
  for (int i = 0; i < QUEUE_TIMERS; i += 7) {
    env->timer_cancel(env, ids[i]);
    cancelled[i] = true;
  }
  while (sim_step(w)) {
  }
  int expected = 0;
  for (int i = 0; i < QUEUE_TIMERS; i++) expected += !cancelled[i];
  ck_assert_int_le(fired.count, QUEUE_TIMERS);
  for (int k = 0; k < fired.count; k++) {
    int i = fired.order[k];
    ck_assert_uint_eq(fired.at_ns[k], due_ns[i]);
    if (k == 0) continue;
    int p = fired.order[k - 1];
    ck_assert(due_ns[p] < due_ns[i] || (due_ns[p] == due_ns[i] && p < i));
  }
  /* A cancelled timer fired only if it fired before its cancel. */
  int fired_cancelled = 0;
  for (int k = 0; k < fired.count; k++) {
    fired_cancelled += cancelled[fired.order[k]];
    ck_assert(!cancelled[fired.order[k]] || k < fired_before_cancels);
  }
  ck_assert_int_eq(fired.count - fired_cancelled, expected);
  sim_world_destroy(w);
}
END_TEST

/* ---- disk ---- */

static int fsync_result = 1;
static void fsynced(void *ctx, int err) {
  (void)ctx;
  fsync_result = err;
}

START_TEST(disk_crash_keeps_durable_and_a_torn_prefix) {
  for (uint64_t seed = 1; seed <= 20; seed++) {
    struct sim_world *w = sim_world_create(seed);
    struct sim_node *n = sim_node_add(w, 1, "n1");
    struct env *env = sim_node_env(n);
    ck_assert_int_eq(env->mkdir(env, "/d"), 0);
    env_file f;
    ck_assert_int_eq(env->open(env, "/d/f", ENV_O_CREATE, &f), 0);
    uint8_t a[1000], b[3000];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    ck_assert_int_eq(env->pwrite(env, f, a, sizeof a, 0), 1000);
    fsync_result = 1;
    env->fsync(env, f, fsynced, NULL);
    ck_assert_int_eq(fsync_result, 1); /* never inside the call */
    while (sim_step(w)) {
    }
    ck_assert_int_eq(fsync_result, 0);
    ck_assert_int_eq(env->pwrite(env, f, b, sizeof b, 1000), 3000);
    ck_assert_int_eq(env->file_size(env, f), 4000); /* pread sees unsynced bytes */
    sim_node_crash(n);
    ck_assert_int_eq(env->open(env, "/d/f", 0, &f), 0);
    int64_t size = env->file_size(env, f);
    ck_assert_int_ge(size, 1000);
    ck_assert_int_le(size, 4000);
    ck_assert((size - 1000) % 512 == 0 || size == 4000); /* whole sectors survive */
    uint8_t back[4000];
    ck_assert_int_eq(env->pread(env, f, back, (size_t)size, 0), size);
    ck_assert_mem_eq(back, a, 1000);
    for (int64_t i = 1000; i < size; i++) ck_assert_int_eq(back[i], 'b');
    env->file_close(env, f);
    sim_world_destroy(w);
  }
}
END_TEST

START_TEST(disk_faults) {
  struct sim_world *w = sim_world_create(7);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  struct env *env = sim_node_env(n);
  env_file f;
  ck_assert_int_eq(env->open(env, "/f", ENV_O_CREATE, &f), 0);
  sim_disk_set_capacity(n, 100);
  char data[80] = {0};
  ck_assert_int_eq(env->pwrite(env, f, data, 80, 0), 80);
  ck_assert_int_eq(env->pwrite(env, f, data, 80, 80), ENV_ENOSPC);
  ck_assert_int_eq(env->file_size(env, f), 80); /* nothing written */
  sim_disk_fail_fsyncs(n, 1);
  env->fsync(env, f, fsynced, NULL);
  while (sim_step(w)) {
  }
  ck_assert_int_eq(fsync_result, ENV_EIO);
  env->fsync(env, f, fsynced, NULL);
  while (sim_step(w)) {
  }
  ck_assert_int_eq(fsync_result, 0);
  ck_assert(sim_disk_flip_bit(n, "/f", 3, 0));
  uint8_t b;
  ck_assert_int_eq(env->pread(env, f, &b, 1, 3), 1);
  ck_assert_int_eq(b, 1);
  ck_assert_int_eq(env->open(env, "/missing/f", ENV_O_CREATE, &f), ENV_ENOENT);
  sim_world_destroy(w);
}
END_TEST

/* ---- a broker and a client inside the world ---- */

enum { VALUES = 2000 };

struct run {
  struct sim_world *w;
  struct sim_node *bnode, *cnode;
  struct node *broker;
  struct net_dispatch net;
  struct kclient client;
  struct kconn *conn;
  struct kproducer producer;
  struct kconsumer consumer;
  bool created;
  int acked, failed, polled;
  int64_t acked_offset[VALUES];
  bool is_acked[VALUES];
  int64_t polled_offset[VALUES];
};

static void broker_start(struct run *r, bool fsync_before_ack) {
  struct config cfg;
  config_defaults(&cfg);
  cfg.node_id = 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  snprintf(cfg.listeners[0].host, sizeof cfg.listeners[0].host, "broker1");
  if (fsync_before_ack) cfg.log_flush_interval_messages = 1;
  ck_assert_int_eq(node_create(sim_node_env(r->bnode), &cfg, &r->broker), 0);
  ck_assert_int_eq(node_start(r->broker), 0);
}

static void on_created(void *ctx, int error) {
  ck_assert_int_eq(error, KERR_NONE);
  ((struct run *)ctx)->created = true;
}
static void on_acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  struct run *r = ctx;
  (void)partition;
  r->acked_offset[id] = offset;
  r->is_acked[id] = true;
  r->acked++;
}
static void on_failed(void *ctx, uint64_t id, int32_t partition, int error) {
  (void)id, (void)partition, (void)error;
  ((struct run *)ctx)->failed++;
}
static void on_polled(void *ctx, const char *topic, int32_t partition, int64_t offset,
                      struct kbytes key, struct kbytes value) {
  struct run *r = ctx;
  (void)topic, (void)partition, (void)key;
  unsigned id;
  ck_assert(sscanf((const char *)value.ptr, "v%u", &id) == 1 && id < VALUES);
  r->polled_offset[id] = offset;
  r->polled++;
}

static void run_for(struct run *r, uint64_t ns) { sim_run_until(r->w, sim_now_ns(r->w) + ns); }

static void run_setup(struct run *r, uint64_t seed, bool fsync_before_ack) {
  memset(r, 0, sizeof *r);
  r->w = sim_world_create(seed);
  r->bnode = sim_node_add(r->w, 1, "broker1");
  r->cnode = sim_node_add(r->w, 100, "client1");
  broker_start(r, fsync_before_ack);
  net_dispatch_init(&r->net, sim_node_env(r->cnode));
  kclient_init(&r->client, &r->net);
  r->conn = kclient_conn(&r->client, "broker1", 9092, "sim-client");
  run_for(r, 10 * NS_PER_MS);
  ck_assert_int_eq(kadmin_create_topic(r->conn, "t", 1, 1, on_created, r), 0);
  run_for(r, 100 * NS_PER_MS);
  ck_assert(r->created);
  struct kproducer_config pc = {.partition_count = 1,
                                .acks = -1,
                                .batch_records_max = 20,
                                .retries_max = 1000000,
                                .retry_backoff_ms = 50,
                                .timeout_ms = 30000,
                                .codec = RB_CODEC_NONE};
  snprintf(pc.topic, sizeof pc.topic, "t");
  struct kproducer_listener pl = {.ctx = r, .acked = on_acked, .failed = on_failed};
  kproducer_init(&r->producer, sim_node_env(r->cnode), r->conn, &pc, &pl);
}

static void send_values(struct run *r, int from, int to) {
  for (int i = from; i < to; i++) {
    char v[16];
    int n = snprintf(v, sizeof v, "v%d", i);
    ck_assert_int_eq(kproducer_send(&r->producer, 0, NULL, -1, v, n + 1, (uint64_t)i), 0);
  }
}

static void consume_all(struct run *r) {
  struct kconsumer_config cc = {
      .max_wait_ms = 100, .max_bytes = 1 << 20, .retry_backoff_ms = 50};
  struct kconsumer_listener cl = {.ctx = r, .polled = on_polled};
  kconsumer_init(&r->consumer, sim_node_env(r->cnode), r->conn, &cc, &cl);
  kconsumer_assign(&r->consumer, "t", 0, 0);
  kconsumer_start(&r->consumer);
  run_for(r, 5 * NS_PER_S);
  kconsumer_stop(&r->consumer);
}

static void run_teardown(struct run *r) {
  kproducer_free(&r->producer);
  node_destroy(r->broker);
  sim_world_destroy(r->w);
  net_dispatch_free(&r->net);
}

static uint64_t produce_consume(uint64_t seed) {
  struct run r;
  run_setup(&r, seed, false);
  send_values(&r, 0, VALUES);
  run_for(&r, 10 * NS_PER_S);
  ck_assert_int_eq(r.acked, VALUES);
  ck_assert_int_eq(r.failed, 0);
  consume_all(&r);
  ck_assert_int_eq(r.polled, VALUES);
  for (int i = 0; i < VALUES; i++) ck_assert_int_eq(r.polled_offset[i], r.acked_offset[i]);
  uint64_t hash = sim_trace_hash(r.w);
  run_teardown(&r);
  return hash;
}

START_TEST(broker_and_client_run_deterministically) {
  clock_t t0 = clock();
  uint64_t a = produce_consume(42), b = produce_consume(42), c = produce_consume(43);
  ck_assert_uint_eq(a, b);
  ck_assert_uint_ne(a, c);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  fprintf(stderr, "sim: 3 runs of %.0f simulated s in %.2f s of CPU\n", 3 * 15.1, secs);
}
END_TEST

/* Acknowledged values still at their offsets after a power loss, and how
 * many were acknowledged before it. */
static void crash_run(uint64_t seed, bool fsync_before_ack, int *kept_out, int *acked_out) {
  struct run r;
  run_setup(&r, seed, fsync_before_ack);
  send_values(&r, 0, VALUES);
  run_for(&r, 300 * NS_PER_MS);
  int acked_before = r.acked;
  bool was_acked[VALUES];
  memcpy(was_acked, r.is_acked, sizeof was_acked);
  int64_t offset_before[VALUES];
  memcpy(offset_before, r.acked_offset, sizeof offset_before);
  int acked_ids = 0;
  for (int i = 0; i < VALUES; i++) acked_ids += was_acked[i];
  ck_assert_int_eq(acked_ids, acked_before);
  sim_node_crash(r.bnode);
  node_destroy(r.broker);
  run_for(&r, NS_PER_S);
  broker_start(&r, fsync_before_ack);
  run_for(&r, 20 * NS_PER_S);
  consume_all(&r);
  int kept = 0;
  for (int i = 0; i < VALUES; i++)
    if (was_acked[i] && r.polled_offset[i] == offset_before[i]) kept++;
  *kept_out = kept;
  *acked_out = acked_ids;
  run_teardown(&r);
}

/* Without fsync before ack, a power loss can take acknowledged writes: the
 * disk model has teeth (this is the loss crash-restart allows). */
START_TEST(power_loss_without_fsync_can_lose_acks) {
  int seeds_with_loss = 0;
  for (uint64_t seed = 1; seed <= 10; seed++) {
    int kept, acked;
    crash_run(seed, false, &kept, &acked);
    ck_assert_int_gt(acked, 0);
    if (kept < acked) seeds_with_loss++;
  }
  ck_assert_int_gt(seeds_with_loss, 0);
}
END_TEST

/* fsync before ack: every acknowledged value survives a power loss. */
START_TEST(power_loss_keeps_every_fsynced_ack) {
  for (uint64_t seed = 1; seed <= 10; seed++) {
    int kept, acked;
    crash_run(seed, true, &kept, &acked);
    ck_assert_int_gt(acked, 0);
    ck_assert_int_eq(kept, acked);
  }
  for (uint64_t seed = 1; seed <= 5; seed++) {
    struct run r;
    run_setup(&r, seed, true);
    send_values(&r, 0, VALUES);
    run_for(&r, 300 * NS_PER_MS); /* some acknowledged, some in flight */
    int acked_before = r.acked;
    ck_assert_int_gt(acked_before, 0);
    sim_node_crash(r.bnode);
    node_destroy(r.broker); /* the process is gone */
    run_for(&r, NS_PER_S);
    broker_start(&r, true);
    run_for(&r, 20 * NS_PER_S); /* the producer retries what was not acknowledged */
    ck_assert_int_eq(r.failed, 0);
    ck_assert_int_eq(r.acked, VALUES);
    consume_all(&r);
    /* Every value acknowledged before the crash is still at its offset. */
    int kept = 0;
    for (int i = 0; i < VALUES; i++)
      if (r.polled_offset[i] == r.acked_offset[i]) kept++;
    ck_assert_int_ge(kept, acked_before);
    ck_assert_int_ge(r.polled, VALUES);
    run_teardown(&r);
  }
}
END_TEST

/* ---- the crash report ---- */

START_TEST(crash_report_names_the_run_and_its_replay) {
  struct sim_crash_context c;
  crash_context_init(&c, 2);
  char out[CRASH_BLOCK_BYTES];
  /* Before a run: the headline alone. */
  crash_format(&c, "assertion failed at a.c:1: x", out, sizeof out);
  ck_assert_str_eq(out, "sluice-sim: assertion failed at a.c:1: x\n");
  /* A scenario file's run, its world at 12.345678901 s. */
  struct sim_world *w = sim_world_create(1);
  sim_run_until(w, 12345678901u); /* the clock reads this even with nothing to run */
  crash_context_set(&c, "scenarios/crash-restart.yaml", 7, false);
  c.world = w;
  crash_format(&c, "assertion failed at broker/server/api_produce.c:123: cond", out,
               sizeof out);
  ck_assert_str_eq(out,
                   "sluice-sim: assertion failed at broker/server/api_produce.c:123: cond\n"
                   "scenario scenarios/crash-restart.yaml, seed 7, virtual time 12.345678 s\n"
                   "replay: bin/sluice-sim --scenario scenarios/crash-restart.yaml --seed 7\n");
  /* A swarm seed, after its world is gone; a signal. */
  crash_context_set(&c, "swarm-9", 9, true);
  c.world = NULL;
  char headline[64];
  crash_signal_headline(SIGSEGV, headline, sizeof headline);
  crash_format(&c, headline, out, sizeof out);
  ck_assert_str_eq(out, "sluice-sim: signal SIGSEGV (invalid memory access)\n"
                        "scenario swarm-9, seed 9\n"
                        "replay: bin/sluice-sim --swarm --seeds 9..9\n");
  /* Cut to the buffer, never past it. */
  ck_assert_uint_eq(crash_format(&c, headline, out, 12), 11);
  ck_assert_str_eq(out, "sluice-sim:");
  crash_signal_headline(77, headline, sizeof headline);
  ck_assert_str_eq(headline, "signal 77");
  sim_world_destroy(w);
}
END_TEST

static Suite *sim_suite(void) {
  Suite *s = suite_create("sim");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, timers_fire_in_time_then_start_order);
  tcase_add_test(tc, disk_crash_keeps_durable_and_a_torn_prefix);
  tcase_add_test(tc, disk_faults);
  tcase_add_test(tc, broker_and_client_run_deterministically);
  tcase_add_test(tc, power_loss_keeps_every_fsynced_ack);
  tcase_add_test(tc, power_loss_without_fsync_can_lose_acks);
  tcase_add_test(tc, crash_report_names_the_run_and_its_replay);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(sim_suite)
