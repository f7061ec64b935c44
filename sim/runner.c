#include "sim/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/kclient.h"
#include "client/producer.h"
#include "proto/errors.h"
#include "server/node.h"
#include "sim/world.h"

enum { CLIENTS_MAX = 32, TICK_MS = 10, BROKER_PORT = 9092 };

struct client;

struct runner {
  const struct scenario *sc;
  struct sim_world *w;
  struct sim_node *bnode;
  struct node *broker;
  bool broker_up;
  bool shutting_down;
  struct client *clients[CLIENTS_MAX];
  int client_count;
  struct history hist;
  uint64_t next_value;
  bool producing;
  uint64_t sent, acked, failed, polled;
};

struct client {
  struct runner *r;
  int number; /* 1-based: producers first, then consumers */
  bool is_producer;
  struct sim_node *node;
  struct kclient kc;
  struct kconn *conn;
  struct kproducer producer;
  struct kconsumer consumer;
  bool topic_ready;
  double send_credit;
};

static void record(struct runner *r, enum history_kind kind, int client, int32_t partition,
                   uint64_t value, int64_t offset, int error) {
  struct history_event e = {.time_ns = sim_now_ns(r->w),
                            .kind = kind,
                            .client = client,
                            .partition = partition,
                            .value = value,
                            .offset = offset,
                            .error = error,
                            .durable_ack = r->sc->acks == -1};
  history_add(&r->hist, &e);
}

/* ---- the broker ---- */

static void broker_start(struct runner *r) {
  struct config cfg;
  config_defaults(&cfg);
  cfg.node_id = 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  snprintf(cfg.listeners[0].host, sizeof cfg.listeners[0].host, "broker1");
  cfg.listeners[0].port = BROKER_PORT;
  cfg.num_partitions = 1;
  char err[256];
  for (int i = 0; i < r->sc->config_count; i++) {
    bool ok =
        config_set(&cfg, r->sc->config[i].key, r->sc->config[i].value, NULL, err, sizeof err);
    ASSERT(ok); /* checked when the scenario was loaded */
  }
  int rc = node_create(sim_node_env(r->bnode), &cfg, &r->broker);
  if (rc == 0) rc = node_start(r->broker);
  ASSERT(rc == 0);
  r->broker_up = true;
}

static void broker_kill(struct runner *r) {
  if (!r->broker_up) return;
  sim_node_crash(r->bnode);
  node_destroy(r->broker);
  r->broker = NULL;
  r->broker_up = false;
}

static void shutdown_done(void *ctx) {
  struct runner *r = ctx;
  r->shutting_down = false;
}

static void broker_shutdown(struct runner *r) {
  if (!r->broker_up || r->shutting_down) return;
  r->shutting_down = true;
  node_shutdown(r->broker, shutdown_done, r);
  for (int i = 0; i < 1000000 && r->shutting_down; i++)
    if (!sim_step(r->w)) break;
  node_destroy(r->broker);
  r->broker = NULL;
  r->broker_up = false;
  sim_node_crash(r->bnode); /* nothing unsynced is left; this drops its connections */
}

/* ---- clients ---- */

static void on_acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  struct client *c = ctx;
  c->r->acked++;
  record(c->r, HISTORY_ACK, c->number, partition, id, offset, 0);
}

static void on_failed(void *ctx, uint64_t id, int32_t partition, int error) {
  struct client *c = ctx;
  c->r->failed++;
  record(c->r, HISTORY_FAIL, c->number, partition, id, -1, error);
}

static void on_polled(void *ctx, int32_t partition, int64_t offset, struct kbytes key,
                      struct kbytes value) {
  struct client *c = ctx;
  (void)key;
  unsigned long long id;
  if (value.len <= 0 || sscanf((const char *)value.ptr, "v%llu", &id) != 1) return;
  c->r->polled++;
  record(c->r, HISTORY_POLL, c->number, partition, id, offset, 0);
}

/* After data loss the consumer's position can be past the log's end: it
 * starts that partition over (a recorded seek). */
static void on_consume_error(void *ctx, int32_t partition, int error) {
  struct client *c = ctx;
  if (error != KERR_OFFSET_OUT_OF_RANGE) return;
  kconsumer_assign(&c->consumer, partition, 0);
  record(c->r, HISTORY_SEEK, c->number, partition, 0, 0, 0);
}

static void on_topic(void *ctx, int error) {
  struct client *c = ctx;
  if (error == KERR_NONE) c->topic_ready = true;
}

static const struct scenario_topic *topic0(const struct runner *r) { return &r->sc->topics[0]; }

static void consumer_start(struct client *c) {
  struct kconsumer_config cc = {
      .max_wait_ms = 200, .max_bytes = 1 << 20, .retry_backoff_ms = 100};
  snprintf(cc.topic, sizeof cc.topic, "%s", topic0(c->r)->name);
  struct kconsumer_listener cl = {.ctx = c, .polled = on_polled, .error = on_consume_error};
  kconsumer_init(&c->consumer, sim_node_env(c->node), c->conn, &cc, &cl);
  for (int32_t p = 0; p < topic0(c->r)->partitions; p++) kconsumer_assign(&c->consumer, p, 0);
  kconsumer_start(&c->consumer);
}

static void client_tick(void *ctx);

static void send_some(struct client *c) {
  struct runner *r = c->r;
  const struct scenario *sc = r->sc;
  c->send_credit +=
      (double)sc->rate_per_s * TICK_MS / 1000.0 / (sc->producers ? sc->producers : 1);
  char value[1 << 16];
  int32_t bytes =
      sc->value_bytes < (int32_t)sizeof value ? sc->value_bytes : (int32_t)sizeof value;
  for (int n = 0; c->send_credit >= 1.0 && n < 100000; n++) {
    c->send_credit -= 1.0;
    uint64_t id = r->next_value++;
    int32_t partition = (int32_t)(id % (uint64_t)topic0(r)->partitions);
    int len = snprintf(value, sizeof value, "v%llu:", (unsigned long long)id);
    if (len < bytes) memset(value + len, 'x', (size_t)(bytes - len));
    if (kproducer_send(&c->producer, partition, NULL, -1, value, len < bytes ? bytes : len,
                       id) != 0)
      continue; /* queue full: this value is never sent */
    r->sent++;
    record(r, HISTORY_SEND, c->number, partition, id, -1, 0);
  }
}

static void client_tick(void *ctx) {
  struct client *c = ctx;
  struct env *env = sim_node_env(c->node);
  if (!c->topic_ready) {
    if (!kconn_connected(c->conn))
      kconn_connect(c->conn);
    else if (kconn_in_flight(c->conn) == 0)
      kadmin_create_topic(c->conn, topic0(c->r)->name, topic0(c->r)->partitions,
                          topic0(c->r)->replication_factor, on_topic, c);
  } else if (c->is_producer && c->r->producing) {
    send_some(c);
  } else if (!c->is_producer && !c->consumer.conn) {
    consumer_start(c);
  }
  env->timer_start(env, TICK_MS * NS_PER_MS, client_tick, c);
}

static struct client *client_add(struct runner *r, bool producer) {
  ASSERT(r->client_count < CLIENTS_MAX);
  struct client *c = calloc(1, sizeof *c);
  ASSERT(c != NULL);
  c->r = r;
  c->number = r->client_count + 1;
  c->is_producer = producer;
  char host[32];
  snprintf(host, sizeof host, "client%d", c->number);
  c->node = sim_node_add(r->w, 100 + c->number, host);
  kclient_init(&c->kc, sim_node_env(c->node));
  c->conn = kclient_conn(&c->kc, "broker1", BROKER_PORT, host);
  if (producer) {
    struct kproducer_config pc = {.partition_count = topic0(r)->partitions,
                                  .acks = r->sc->acks,
                                  .batch_records_max = 50,
                                  .retries_max = INT32_MAX,
                                  .retry_backoff_ms = 100,
                                  .timeout_ms = 30000,
                                  .codec = RB_CODEC_NONE};
    snprintf(pc.topic, sizeof pc.topic, "%s", topic0(r)->name);
    struct kproducer_listener pl = {.ctx = c, .acked = on_acked, .failed = on_failed};
    kproducer_init(&c->producer, sim_node_env(c->node), c->conn, &pc, &pl);
  }
  r->clients[r->client_count++] = c;
  struct env *env = sim_node_env(c->node);
  env->timer_start(env, TICK_MS * NS_PER_MS, client_tick, c);
  return c;
}

/* ---- faults ---- */

static void flip_newest_segment(struct runner *r) {
  /* The newest .log of the first partition: flip a bit in its middle. */
  char path[512];
  snprintf(path, sizeof path, "/logs/%s-0/00000000000000000000.log", topic0(r)->name);
  struct env *env = sim_node_env(r->bnode);
  env_file f;
  if (env->open(env, path, ENV_O_READONLY, &f) != 0) return;
  int64_t size = env->file_size(env, f);
  env->file_close(env, f);
  if (size > 100) sim_disk_flip_bit(r->bnode, path, (uint64_t)size / 2, 3);
}

static void apply(struct runner *r, const struct fault *f) {
  struct sim_node *client_node =
      f->target == TARGET_CLIENT && f->target_id >= 1 && f->target_id <= r->client_count
          ? r->clients[f->target_id - 1]->node
          : NULL;
  switch (f->action) {
  case FAULT_KILL:
    broker_kill(r);
    break;
  case FAULT_SHUTDOWN:
    broker_shutdown(r);
    break;
  case FAULT_RESTART:
    if (!r->broker_up) broker_start(r);
    break;
  case FAULT_PARTITION:
    if (client_node) sim_net_partition(r->w, client_node, r->bnode, true);
    break;
  case FAULT_HEAL:
    sim_net_heal_all(r->w);
    break;
  case FAULT_DISK_FULL:
    sim_disk_set_capacity(r->bnode, sim_disk_used(r->bnode));
    break;
  case FAULT_DISK_FREE:
    sim_disk_set_capacity(r->bnode, 0);
    break;
  case FAULT_DISK_SLOW:
    sim_disk_set_fsync_latency(r->bnode, 2 * NS_PER_MS * (uint64_t)f->amount,
                               3 * NS_PER_MS * (uint64_t)f->amount);
    break;
  case FAULT_DISK_CORRUPT:
    flip_newest_segment(r);
    break;
  case FAULT_DISK_EIO:
    sim_disk_fail_fsyncs(r->bnode, (int)f->amount);
    break;
  default:
    break;
  }
}

static bool supported(const struct scenario *sc, char *why, size_t cap) {
  if (sc->nodes != 1) {
    snprintf(why, cap, "%d nodes: multi-node scenarios need the quorum and replication issues",
             sc->nodes);
    return false;
  }
  if (sc->topic_count != 1) {
    snprintf(why, cap, "exactly one topic is supported for now");
    return false;
  }
  for (int i = 0; i < sc->fault_count; i++) {
    enum fault_action a = sc->faults[i].action;
    if (a == FAULT_PAUSE || a == FAULT_RESUME || a == FAULT_CLOCK_JUMP) {
      snprintf(why, cap, "line %d: %s is not simulated yet", sc->faults[i].line,
               fault_action_name(a));
      return false;
    }
  }
  return true;
}

bool scenario_allows(const struct scenario *sc, const char *checker) {
  for (int i = 0; i < sc->allowed_count; i++)
    if (strcmp(sc->allowed[i], checker) == 0) return true;
  return false;
}

static void run_phases(struct runner *r, const struct scenario *sc) {
  uint64_t t0 = sim_now_ns(r->w);
  r->producing = true;
  for (int i = 0; i < sc->fault_count; i++) {
    sim_run_until(r->w, t0 + (uint64_t)sc->faults[i].at_ms * NS_PER_MS);
    apply(r, &sc->faults[i]);
  }
  sim_run_until(r->w, t0 + (uint64_t)sc->duration_ms * NS_PER_MS);
  /* Liveness: heal everything, restart what is down, stop sending, let the
   * retries settle; then a fresh consumer reads everything from the start. */
  r->producing = false;
  sim_net_heal_all(r->w);
  sim_disk_set_capacity(r->bnode, 0);
  sim_disk_set_fsync_latency(r->bnode, 2 * NS_PER_MS, 3 * NS_PER_MS);
  if (!r->broker_up) broker_start(r);
  sim_run_until(r->w, sim_now_ns(r->w) + (uint64_t)sc->liveness_ms * NS_PER_MS / 2);
  r->hist.final_reader = client_add(r, false)->number; /* the final reader */
  sim_run_until(r->w, sim_now_ns(r->w) + (uint64_t)sc->liveness_ms * NS_PER_MS / 2);
}

bool run_scenario(const struct scenario *sc, uint64_t seed, bool verbose,
                  struct run_report *out) {
  memset(out, 0, sizeof *out);
  if (!supported(sc, out->why, sizeof out->why)) return false;
  struct runner r = {.sc = sc};
  history_init(&r.hist);
  r.w = sim_world_create(seed);
  sim_world_set_verbose(r.w, verbose);
  r.bnode = sim_node_add(r.w, 1, "broker1");
  broker_start(&r);
  for (int i = 0; i < sc->producers; i++) client_add(&r, true);
  for (int i = 0; i < sc->consumers; i++) client_add(&r, false);
  run_phases(&r, sc);
  out->result_count = history_check(&r.hist, true, out->results, CHECKERS_MAX);
  out->passed = true;
  for (int i = 0; i < out->result_count; i++)
    if (out->results[i].violations > 0 && !scenario_allows(sc, out->results[i].name))
      out->passed = false;
  out->trace_hash = sim_trace_hash(r.w);
  out->events = sim_events_processed(r.w);
  out->simulated_s = (double)sim_now_ns(r.w) / 1e9;
  out->sent = r.sent;
  out->acked = r.acked;
  out->failed = r.failed;
  out->polled = r.polled;
  for (int i = 0; i < r.client_count; i++) {
    struct client *c = r.clients[i];
    if (c->is_producer) kproducer_free(&c->producer);
    if (c->consumer.conn) kconsumer_stop(&c->consumer);
    free(c);
  }
  if (r.broker) node_destroy(r.broker);
  sim_world_destroy(r.w);
  history_free(&r.hist);
  return true;
}
