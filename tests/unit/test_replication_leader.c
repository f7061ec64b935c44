/* The leader's side of partition replication (server/replication.h,
 * api_fetch.c, api_produce.c, partition_isr.c, api_alter_partition.c) in
 * the simulated world: three combined KRaft nodes (1, 2, 3) and two
 * broker-only nodes (4, 5). Partition 0 of "rep" is placed on 2, 1, 4, 5;
 * node 2 shuts down cleanly, so node 1 leads it in leader epoch 1 with the
 * ISR {1, 4, 5}. Nodes 4 and 5 are stopped before the topic exists (their
 * sessions outlast the test, so they stay registered and unfenced) and the
 * test plays them: a fake follower sends Fetch requests with ReplicaId 4
 * or 5 to node 1, and a producer sends Produce requests, both encoded as
 * Kafka clients send them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "client/kclient.h"
#include "meta/image.h"
#include "meta/replication_control.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"
#include "server/server.h"
#include "server/storage_format.h"
#include "sim/world.h"
#include "testing.h"

enum {
  VOTERS = 3,
  NODES = 5,
  LEADER = 0, /* node 1 */
  STEP_MS = 10,
  BOUND_MS = 30000, /* virtual */
  PORT = 9092,
  FETCH_VERSION = 12,   /* topic names; LastFetchedEpoch */
  PRODUCE_VERSION = 10, /* KIP-951's CurrentLeader and NodeEndpoints */
  RECORDS = 5,
};

struct cluster {
  struct sim_world *w;
  struct sim_node *sim[NODES];
  struct node *node[NODES]; /* NULL while down */
  struct sim_node *client;
  struct net_dispatch net;
  struct kclient follower_kc, producer_kc;
  struct kconn *follower, *producer;
  int64_t lag_ms;
};

static void run_ms(struct cluster *c, uint64_t ms) {
  sim_run_until(c->w, sim_now_ns(c->w) + ms * NS_PER_MS);
}

static void set(struct config *cfg, const char *key, const char *value) {
  char err[256];
  ck_assert_msg(config_set(cfg, key, value, NULL, err, sizeof err), "%s", err);
}

static void node_up(struct cluster *c, int i) {
  struct config cfg;
  config_defaults(&cfg);
  char value[256];
  const char *host = sim_node_host(c->sim[i]);
  cfg.node_id = i + 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  set(&cfg, "cluster.id", STORAGE_TEST_CLUSTER_ID);
  set(&cfg, "controller.quorum.voters", "1@broker1:9093,2@broker2:9093,3@broker3:9093");
  set(&cfg, "controller.listener.names", "CONTROLLER");
  /* The stopped brokers 4 and 5 stay unfenced while the test plays them. */
  set(&cfg, "broker.session.timeout.ms", "3600000");
  snprintf(value, sizeof value, "%lld", (long long)c->lag_ms);
  set(&cfg, "replica.lag.time.max.ms", value);
  if (i >= VOTERS) {
    snprintf(value, sizeof value, "PLAINTEXT://%s:9092", host);
    set(&cfg, "process.roles", "broker");
  } else {
    snprintf(value, sizeof value, "PLAINTEXT://%s:9092,CONTROLLER://%s:9093", host, host);
    set(&cfg, "process.roles", "broker,controller");
  }
  set(&cfg, "listeners", value);
  char err[256];
  ck_assert_int_ge(storage_format(sim_node_env(c->sim[i]), &cfg, cfg.cluster_id, true, NULL,
                                  NULL, err, sizeof err, NULL, NULL),
                   0);
  ck_assert_int_eq(node_create(sim_node_env(c->sim[i]), &cfg, &c->node[i]), 0);
  ck_assert_int_eq(node_start(c->node[i]), 0);
}

static const struct meta_image *image_of(const struct cluster *c, int i) {
  ck_assert_ptr_nonnull(c->node[i]);
  return node_metadata_image(c->node[i]);
}

/* Every node up sees all five brokers registered and unfenced, and its
 * controller waits on nothing. */
static void settle(struct cluster *c) {
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    bool done = true;
    for (int i = 0; i < NODES && done; i++) {
      if (!c->node[i]) continue;
      done = node_controller_idle(c->node[i]);
      for (int j = 0; j < NODES && done; j++) {
        const struct meta_broker *b = meta_image_broker(image_of(c, i), j + 1);
        done = b != NULL && !b->fenced;
      }
    }
    if (done) return;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("the cluster did not settle within %d ms", BOUND_MS);
}

static void node_stop(struct cluster *c, int i) {
  sim_node_crash(c->sim[i]);
  node_destroy(c->node[i]);
  c->node[i] = NULL;
}

struct call {
  bool done;
  int16_t code;
};

static void topics_done(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct call *call = ctx;
  ck_assert_int_eq(count, 1);
  call->done = true;
  call->code = results[0].error_code;
}

static void wait_flag(struct cluster *c, const bool *flag) {
  for (int t = 0; t <= BOUND_MS && !*flag; t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert_msg(*flag, "nothing happened within %d ms", BOUND_MS);
}

static const struct meta_partition *partition_of(const struct cluster *c, int i,
                                                 const char *name) {
  const struct meta_topic *t = meta_image_topic(image_of(c, i), name, strlen(name));
  ck_assert_ptr_nonnull(t);
  return meta_topic_partition(t, 0);
}

/* Creates `name` with one partition on `replicas` (the first leads). */
static void create(struct cluster *c, const char *name, const int32_t *replicas, int32_t count,
                   const char *min_isr) {
  struct meta_assignment a = {
      .partition_index = 0, .broker_ids = replicas, .broker_count = count};
  struct meta_config_entry conf = {.name = kstr_of("min.insync.replicas"),
                                   .value = kstr_of(min_isr ? min_isr : "1")};
  struct meta_create_topic topic;
  memset(&topic, 0, sizeof topic);
  topic.name = kstr_of(name);
  topic.partition_count = -1;
  topic.replication_factor = -1;
  topic.assignments = &a;
  topic.assignment_count = 1;
  topic.configs = &conf;
  topic.config_count = 1;
  struct call call = {0};
  struct meta_controller *ctl = c->node[LEADER]->controller;
  ctl->ops->create_topics(ctl, &topic, 1, false, sim_now_ns(c->w) + 30000 * NS_PER_MS,
                          topics_done, &call);
  wait_flag(c, &call.done);
  ck_assert_int_eq(call.code, KERR_NONE);
}

static void shutdown_done(void *ctx) { *(bool *)ctx = true; }

static struct kconn *connect_to(struct cluster *c, struct kclient *kc, int i) {
  char host[16];
  snprintf(host, sizeof host, "broker%d", i + 1);
  struct kconn *conn = kclient_conn(kc, host, PORT, "replication-test");
  for (int t = 0; t <= BOUND_MS && !kconn_connected(conn); t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(kconn_connected(conn));
  return conn;
}

/* The cluster of the header comment: node 1 leads "rep" in leader epoch 1
 * with the ISR {1, 4, 5}; "rep" has min.insync.replicas=min_isr. */
static void cluster_setup(struct cluster *c, uint64_t seed, int64_t lag_ms,
                          const char *min_isr) {
  memset(c, 0, sizeof *c);
  c->lag_ms = lag_ms;
  c->w = sim_world_create(seed);
  sim_world_set_verbose(c->w, getenv("REPLICATION_VERBOSE") != NULL);
  static const char *const hosts[NODES] = {"broker1", "broker2", "broker3", "broker4",
                                           "broker5"};
  for (int i = 0; i < NODES; i++) c->sim[i] = sim_node_add(c->w, i + 1, hosts[i]);
  for (int i = 0; i < NODES; i++) node_up(c, i);
  settle(c);
  node_stop(c, 3);
  node_stop(c, 4);
  const int32_t replicas[] = {2, 1, 4, 5};
  create(c, "rep", replicas, 4, min_isr);
  bool done = false;
  node_shutdown(c->node[1], shutdown_done, &done); /* leadership moves to 1 */
  for (int n = 0; n < 10000000 && !done; n++)
    if (!sim_step(c->w)) break;
  ck_assert(done);
  node_destroy(c->node[1]);
  c->node[1] = NULL;
  sim_node_exit(c->sim[1]);
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    const struct partition *p = partition_find(c->node[LEADER], kstr_of("rep"), 0);
    if (p && p->leader_id == 1 && p->leader != NULL) break;
    run_ms(c, STEP_MS);
  }
  const struct meta_partition *mp = partition_of(c, LEADER, "rep");
  ck_assert_int_eq(mp->leader, 1);
  ck_assert_int_eq(mp->leader_epoch, 1);
  ck_assert_int_eq(mp->isr_count, 3);
  c->client = sim_node_add(c->w, 100, "client");
  net_dispatch_init(&c->net, sim_node_env(c->client));
  kclient_init(&c->follower_kc, &c->net);
  kclient_init(&c->producer_kc, &c->net);
  c->follower = connect_to(c, &c->follower_kc, LEADER);
  c->producer = connect_to(c, &c->producer_kc, LEADER);
}

static void cluster_teardown(struct cluster *c) {
  kclient_close_all(&c->follower_kc);
  kclient_close_all(&c->producer_kc);
  for (int i = 0; i < NODES; i++) {
    if (!c->node[i]) continue;
    sim_node_crash(c->sim[i]);
    node_destroy(c->node[i]);
  }
  net_dispatch_free(&c->net);
  sim_world_destroy(c->w);
}

/* ---- Fetch as a follower (or a consumer: replica -1) ---- */

struct fetch_answer {
  bool done;
  int16_t version;
  int16_t error_code;
  int64_t high_watermark;
  int32_t records_bytes;
  int32_t diverging_epoch;
  int64_t diverging_end_offset;
  int32_t current_leader_epoch;
};

static void fetch_encode(struct wr *w, int16_t v, const void *m) {
  fetch_request_encode(w, v, m);
}

static void fetch_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct fetch_answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct fetch_response r;
  ck_assert(fetch_response_decode(body, a->version, &r, arena));
  ck_assert_int_eq(r.responses_count, 1);
  ck_assert_int_eq(r.responses[0].partitions_count, 1);
  const struct fetch_response_partition_data *pd = &r.responses[0].partitions[0];
  a->error_code = pd->error_code;
  a->high_watermark = pd->high_watermark;
  a->records_bytes = pd->records.len;
  a->diverging_epoch = pd->diverging_epoch.epoch;
  a->diverging_end_offset = pd->diverging_epoch.end_offset;
  a->current_leader_epoch = pd->current_leader.leader_epoch;
  a->done = true;
}

/* A Fetch in `version`: from v13 by topic id, from v15 with ReplicaState
 * (KIP-903: the follower's broker epoch). */
static struct fetch_answer fetch_v(struct cluster *c, struct kconn *conn, int16_t version,
                                   int32_t replica_id, int64_t broker_epoch, int64_t offset,
                                   int32_t leader_epoch, int32_t last_fetched_epoch) {
  struct fetch_request_fetch_partition fp;
  fetch_request_fetch_partition_init(&fp);
  fp.partition = 0;
  fp.current_leader_epoch = leader_epoch;
  fp.fetch_offset = offset;
  fp.last_fetched_epoch = last_fetched_epoch;
  fp.partition_max_bytes = 1 << 20;
  struct fetch_request_fetch_topic ft;
  fetch_request_fetch_topic_init(&ft);
  ft.topic = kstr_of("rep");
  ft.topic_id = meta_image_topic(image_of(c, LEADER), "rep", 3)->id;
  ft.partitions = &fp;
  ft.partitions_count = 1;
  struct fetch_request m;
  fetch_request_init(&m);
  if (version >= 15)
    m.replica_state = (struct fetch_request_replica_state){replica_id, broker_epoch};
  else
    m.replica_id = replica_id;
  m.max_wait_ms = 0;
  m.min_bytes = 1;
  m.max_bytes = 1 << 20;
  m.topics = &ft;
  m.topics_count = 1;
  struct fetch_answer a = {.version = version};
  ck_assert_int_eq(kconn_send(conn, API_FETCH, version, fetch_encode, &m, fetch_answered, &a),
                   0);
  wait_flag(c, &a.done);
  return a;
}

static struct fetch_answer fetch_on(struct cluster *c, struct kconn *conn, int32_t replica_id,
                                    int64_t offset, int32_t leader_epoch,
                                    int32_t last_fetched_epoch) {
  return fetch_v(c, conn, FETCH_VERSION, replica_id, -1, offset, leader_epoch,
                 last_fetched_epoch);
}

static struct fetch_answer fetch(struct cluster *c, int32_t replica_id, int64_t offset,
                                 int32_t last_fetched_epoch) {
  return fetch_on(c, c->follower, replica_id, offset, 1, last_fetched_epoch);
}

/* ---- Produce ---- */

struct produce_answer {
  bool done;
  int16_t error_code;
  int64_t base_offset;
  int32_t leader_id; /* KIP-951 */
  int32_t leader_epoch;
  char endpoint[32]; /* host:port of the first node endpoint */
};

static void produce_encode(struct wr *w, int16_t v, const void *m) {
  produce_request_encode(w, v, m);
}

static void produce_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct produce_answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct produce_response r;
  ck_assert(produce_response_decode(body, PRODUCE_VERSION, &r, arena));
  ck_assert_int_eq(r.responses_count, 1);
  ck_assert_int_eq(r.responses[0].partition_responses_count, 1);
  a->error_code = r.responses[0].partition_responses[0].error_code;
  a->base_offset = r.responses[0].partition_responses[0].base_offset;
  a->leader_id = r.responses[0].partition_responses[0].current_leader.leader_id;
  a->leader_epoch = r.responses[0].partition_responses[0].current_leader.leader_epoch;
  if (r.node_endpoints_count > 0)
    snprintf(a->endpoint, sizeof a->endpoint, "%d@%.*s:%d", r.node_endpoints[0].node_id,
             (int)r.node_endpoints[0].host.len, r.node_endpoints[0].host.ptr,
             r.node_endpoints[0].port);
  a->done = true;
}

/* Sends RECORDS records; the answer comes into *a. */
static void produce_send_within(struct kconn *conn, int16_t acks, int32_t timeout_ms,
                                struct produce_answer *a) {
  struct rb_builder b;
  rb_builder_init(&b, 0, 1000);
  for (int i = 0; i < RECORDS; i++)
    rb_builder_add(&b, 1000 + i, (struct kbytes){.len = -1},
                   (struct kbytes){.ptr = (const uint8_t *)"value", .len = 5}, NULL, 0);
  struct buf batch;
  buf_init(&batch);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &batch), 0);
  rb_builder_free(&b);
  struct produce_request_partition_produce_data pd;
  produce_request_partition_produce_data_init(&pd);
  pd.index = 0;
  pd.records = (struct krecords){.ptr = batch.data, .len = (int32_t)batch.len};
  struct produce_request_topic_produce_data td;
  produce_request_topic_produce_data_init(&td);
  td.name = kstr_of("rep");
  td.partition_data = &pd;
  td.partition_data_count = 1;
  struct produce_request m;
  produce_request_init(&m);
  m.acks = acks;
  m.timeout_ms = timeout_ms;
  m.topic_data = &td;
  m.topic_data_count = 1;
  memset(a, 0, sizeof *a);
  ck_assert_int_eq(
      kconn_send(conn, API_PRODUCE, PRODUCE_VERSION, produce_encode, &m, produce_answered, a),
      0);
  buf_free(&batch);
}

/* ---- OffsetForLeaderEpoch ---- */

struct epoch_answer {
  bool done;
  int16_t error_code;
  int32_t leader_epoch;
  int64_t end_offset;
};

static void epoch_encode(struct wr *w, int16_t v, const void *m) {
  offset_for_leader_epoch_request_encode(w, v, m);
}

static void epoch_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct epoch_answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct offset_for_leader_epoch_response r;
  ck_assert(offset_for_leader_epoch_response_decode(body, 4, &r, arena));
  ck_assert_int_eq(r.topics_count, 1);
  ck_assert_int_eq(r.topics[0].partitions_count, 1);
  a->error_code = r.topics[0].partitions[0].error_code;
  a->leader_epoch = r.topics[0].partitions[0].leader_epoch;
  a->end_offset = r.topics[0].partitions[0].end_offset;
  a->done = true;
}

static struct epoch_answer epoch_end(struct cluster *c, struct kconn *conn, int32_t epoch) {
  struct offset_for_leader_epoch_request_offset_for_leader_partition rp;
  offset_for_leader_epoch_request_offset_for_leader_partition_init(&rp);
  rp.partition = 0;
  rp.current_leader_epoch = 1;
  rp.leader_epoch = epoch;
  struct offset_for_leader_epoch_request_offset_for_leader_topic rt;
  offset_for_leader_epoch_request_offset_for_leader_topic_init(&rt);
  rt.topic = kstr_of("rep");
  rt.partitions = &rp;
  rt.partitions_count = 1;
  struct offset_for_leader_epoch_request m;
  offset_for_leader_epoch_request_init(&m);
  m.replica_id = 4;
  m.topics = &rt;
  m.topics_count = 1;
  struct epoch_answer a = {0};
  ck_assert_int_eq(
      kconn_send(conn, API_OFFSET_FOR_LEADER_EPOCH, 4, epoch_encode, &m, epoch_answered, &a),
      0);
  wait_flag(c, &a.done);
  return a;
}

static void produce_send(struct kconn *conn, int16_t acks, struct produce_answer *a) {
  produce_send_within(conn, acks, 20000, a);
}

static int64_t leader_hw(const struct cluster *c) {
  return partition_high_watermark(partition_find(c->node[LEADER], kstr_of("rep"), 0));
}

/* ---- cases ---- */

/* The high watermark is the smallest log end offset over the ISR: an
 * acks=all produce waits until both followers have fetched past its
 * records (a fetch at offset N says the follower holds everything below
 * N), not one; consumers see the records then, not before. */
START_TEST(acks_all_waits_for_every_isr_member) {
  struct cluster c;
  cluster_setup(&c, 11, 600000, NULL);
  struct produce_answer pa;
  produce_send(c.producer, -1, &pa);
  run_ms(&c, 200);
  ck_assert(!pa.done); /* nobody has it but the leader */
  struct fetch_answer f4 = fetch(&c, 4, 0, -1);
  ck_assert_int_eq(f4.error_code, KERR_NONE);
  ck_assert_int_gt(f4.records_bytes, 0); /* up to the log end, past the high watermark */
  ck_assert_int_eq(f4.high_watermark, 0);
  f4 = fetch(&c, 4, RECORDS, 1);
  ck_assert_int_eq(f4.error_code, KERR_NONE);
  ck_assert_int_eq(f4.records_bytes, 0);
  run_ms(&c, 200);
  ck_assert(!pa.done); /* follower 5 has not fetched it */
  ck_assert_int_eq(leader_hw(&c), 0);
  struct fetch_answer consumer = fetch(&c, -1, 0, -1);
  ck_assert_int_eq(consumer.error_code, KERR_NONE);
  ck_assert_int_eq(consumer.records_bytes, 0); /* not committed yet */
  struct fetch_answer f5 = fetch(&c, 5, 0, -1);
  ck_assert_int_gt(f5.records_bytes, 0);
  f5 = fetch(&c, 5, RECORDS, 1);
  ck_assert_int_eq(f5.high_watermark, RECORDS);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NONE);
  ck_assert_int_eq(pa.base_offset, 0);
  consumer = fetch(&c, -1, 0, -1);
  ck_assert_int_eq(consumer.high_watermark, RECORDS);
  ck_assert_int_gt(consumer.records_bytes, 0);
  cluster_teardown(&c);
}
END_TEST

/* Only the leader answers, and only the partition's replicas; a follower's
 * fetch in an older leader epoch is fenced (KIP-320); one whose last
 * fetched epoch ends before its offset gets the epoch's end to truncate to
 * and no records (KIP-279). */
START_TEST(followers_are_checked_and_diverging_ones_told_where_to_truncate) {
  struct cluster c;
  cluster_setup(&c, 12, 600000, NULL);
  struct produce_answer pa;
  produce_send(c.producer, 1, &pa);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NONE);
  struct fetch_answer a = fetch(&c, 3, 0, -1); /* 3 holds no replica */
  ck_assert_int_eq(a.error_code, KERR_NOT_LEADER_OR_FOLLOWER);
  a = fetch_on(&c, c.follower, 4, 0, 0, -1); /* leader epoch 0 is over */
  ck_assert_int_eq(a.error_code, KERR_FENCED_LEADER_EPOCH);
  ck_assert_int_eq(a.current_leader_epoch, 1);
  ck_assert_int_eq(a.records_bytes, 0);
  a = fetch_on(&c, c.follower, 4, 0, 2, -1);
  ck_assert_int_eq(a.error_code, KERR_UNKNOWN_LEADER_EPOCH);
  /* Epoch 1 ends at the log end (RECORDS): a follower that claims epoch 1
   * up to RECORDS + 3 holds records this leader never wrote. */
  a = fetch(&c, 4, RECORDS + 3, 1);
  ck_assert_int_eq(a.error_code, KERR_NONE);
  ck_assert_int_eq(a.diverging_epoch, 1);
  ck_assert_int_eq(a.diverging_end_offset, RECORDS);
  ck_assert_int_eq(a.records_bytes, 0);
  /* Epoch 0 has no records here: a follower that wrote in it truncates
   * to where epoch 1 begins, 0. */
  a = fetch(&c, 4, 2, 0);
  ck_assert_int_eq(a.diverging_end_offset, 0);
  /* A diverging fetch is not progress. */
  ck_assert_int_eq(leader_hw(&c), 0);
  /* OffsetForLeaderEpoch reads the same epoch cache. */
  struct epoch_answer e = epoch_end(&c, c.follower, 1);
  ck_assert_int_eq(e.error_code, KERR_NONE);
  ck_assert_int_eq(e.leader_epoch, 1);
  ck_assert_int_eq(e.end_offset, RECORDS);
  e = epoch_end(&c, c.follower, 0);
  ck_assert_int_eq(e.end_offset, 0);
  struct kclient other;
  kclient_init(&other, &c.net);
  struct kconn *to3 = connect_to(&c, &other, 2);
  a = fetch_on(&c, to3, 4, 0, 1, -1); /* node 3 is no replica of it */
  ck_assert_int_eq(a.error_code, KERR_NOT_LEADER_OR_FOLLOWER);
  produce_send(to3, 1, &pa);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(pa.leader_id, 1); /* KIP-951: where to go instead */
  ck_assert_int_eq(pa.leader_epoch, 1);
  ck_assert_str_eq(pa.endpoint, "1@broker1:9092");
  ck_assert_int_eq(epoch_end(&c, to3, 1).error_code, KERR_NOT_LEADER_OR_FOLLOWER);
  kclient_close_all(&other);
  cluster_teardown(&c);
}
END_TEST

/* min.insync.replicas=2 with an ISR of 1: acks=all is refused before the
 * append (NOT_ENOUGH_REPLICAS), acks=1 still works. */
START_TEST(acks_all_is_refused_below_min_insync_replicas) {
  struct cluster c;
  cluster_setup(&c, 13, 2000, "2");
  /* Neither follower fetches: after replica.lag.time.max.ms the ISR is 1. */
  for (int t = 0; t <= BOUND_MS && partition_of(&c, LEADER, "rep")->isr_count > 1; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_eq(partition_of(&c, LEADER, "rep")->isr_count, 1);
  struct produce_answer pa;
  produce_send(c.producer, -1, &pa);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NOT_ENOUGH_REPLICAS);
  produce_send(c.producer, 1, &pa);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NONE);
  ck_assert_int_eq(pa.base_offset, 0); /* the refused one appended nothing */
  cluster_teardown(&c);
}
END_TEST

static bool isr_is(const struct cluster *c, const int32_t *ids, int32_t count) {
  for (int i = 0; i < NODES; i++) {
    if (!c->node[i]) continue;
    const struct meta_partition *p = partition_of(c, i, "rep");
    if (p->isr_count != count) return false;
    for (int32_t k = 0; k < count; k++) {
      bool found = false;
      for (int32_t j = 0; j < p->isr_count; j++) found = found || p->isr[j] == ids[k];
      if (!found) return false;
    }
  }
  return true;
}

/* A follower that stops fetching leaves the ISR once
 * replica.lag.time.max.ms has passed, not before, through the controller
 * (every node's image says so); the high watermark then follows the rest,
 * so an acks=all produce waiting on it completes. Once the follower
 * fetches up to the high watermark again it rejoins, through the
 * controller too. */
START_TEST(a_lagging_follower_leaves_the_isr_and_rejoins) {
  struct cluster c;
  /* Seeds where node 1 is the active controller and where it forwards. */
  cluster_setup(&c, 14 + (uint64_t)_i, 3000, NULL);
  fetch(&c, 4, 0, -1);
  fetch(&c, 5, 0, -1);
  uint64_t last_5_ns = sim_now_ns(c.w);
  struct produce_answer pa;
  produce_send(c.producer, -1, &pa);
  run_ms(&c, 100);
  fetch(&c, 4, 0, -1);
  const int32_t all[] = {1, 4, 5}, without_5[] = {1, 4};
  /* Follower 4 keeps up; 5 is silent. */
  int64_t offset_4 = RECORDS;
  for (int t = 0; t <= BOUND_MS && !isr_is(&c, without_5, 2); t += 200) {
    fetch(&c, 4, offset_4, 1);
    run_ms(&c, 200);
    if (!isr_is(&c, without_5, 2))
      ck_assert_uint_lt(sim_now_ns(c.w) - last_5_ns, (uint64_t)(3000 + 2000) * NS_PER_MS);
    else
      ck_assert_uint_gt(sim_now_ns(c.w) - last_5_ns, (uint64_t)3000 * NS_PER_MS);
  }
  ck_assert(isr_is(&c, without_5, 2));
  ck_assert_int_eq(partition_of(&c, LEADER, "rep")->leader_epoch, 1); /* no new leader */
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NONE);
  ck_assert_int_eq(leader_hw(&c), RECORDS);
  /* 5 catches up: it fetches the records, then fetches at their end. */
  struct fetch_answer f5 = fetch(&c, 5, 0, -1);
  ck_assert_int_gt(f5.records_bytes, 0);
  fetch(&c, 5, RECORDS, 1);
  for (int t = 0; t <= BOUND_MS && !isr_is(&c, all, 3); t += STEP_MS) run_ms(&c, STEP_MS);
  ck_assert(isr_is(&c, all, 3));
  cluster_teardown(&c);
}
END_TEST

/* acks=all waits no longer than its timeout_ms (REQUEST_TIMED_OUT, the
 * records stay appended); once the ISR shrinks below min.insync.replicas
 * while one waits, the high watermark passes it but the answer is
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND. */
START_TEST(acks_all_times_out_or_learns_the_isr_shrank) {
  struct cluster c;
  cluster_setup(&c, 21, 3000, "2");
  fetch(&c, 4, 0, -1);
  fetch(&c, 5, 0, -1);
  struct produce_answer pa;
  produce_send_within(c.producer, -1, 500, &pa);
  run_ms(&c, 400);
  ck_assert(!pa.done);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_REQUEST_TIMED_OUT);
  produce_send(c.producer, -1, &pa); /* the ISR is still {1, 4, 5} */
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  ck_assert_int_eq(partition_of(&c, LEADER, "rep")->isr_count, 1);
  ck_assert_int_eq(leader_hw(&c), 2 * RECORDS);
  cluster_teardown(&c);
}
END_TEST

/* KIP-903: a follower whose Fetch (v15) names a broker epoch the
 * controller no longer has (its broker registered again, maybe on an empty
 * disk) does not rejoin the ISR; with its current epoch it does. */
START_TEST(a_follower_with_a_stale_broker_epoch_does_not_rejoin) {
  struct cluster c;
  cluster_setup(&c, 22, 3000, NULL);
  const int32_t alone[] = {1}, with_4[] = {1, 4};
  for (int t = 0; t <= BOUND_MS && !isr_is(&c, alone, 1); t += STEP_MS) run_ms(&c, STEP_MS);
  ck_assert(isr_is(&c, alone, 1));
  int64_t epoch_4 = meta_image_broker(image_of(&c, LEADER), 4)->epoch;
  struct fetch_answer a = fetch_v(&c, c.follower, 15, 4, epoch_4 + 100, 0, 1, -1);
  ck_assert_int_eq(a.error_code, KERR_NONE);
  run_ms(&c, 2000);
  ck_assert(isr_is(&c, alone, 1));
  fetch_v(&c, c.follower, 15, 4, epoch_4, 0, 1, -1);
  for (int t = 0; t <= BOUND_MS && !isr_is(&c, with_4, 2); t += STEP_MS) run_ms(&c, STEP_MS);
  ck_assert(isr_is(&c, with_4, 2));
  cluster_teardown(&c);
}
END_TEST

/* Kafka's Partition.handleAlterPartitionError: a proposal the controller
 * refuses as made against an old partition epoch (INVALID_UPDATE_VERSION)
 * is not made again until the image brings a newer epoch; then the shrink
 * goes through. Node 1's partition is set one epoch back to play an image
 * that lags the controller. */
START_TEST(a_stale_isr_proposal_waits_for_new_metadata) {
  struct cluster c;
  cluster_setup(&c, 14, 3000, NULL);
  fetch(&c, 4, 0, -1);
  fetch(&c, 5, 0, -1);
  struct produce_answer pa;
  produce_send(c.producer, -1, &pa);
  run_ms(&c, 100);
  fetch(&c, 4, 0, -1);
  struct node *leader = c.node[LEADER];
  struct topic *t = topic_find(leader, "rep", 3);
  ck_assert_ptr_nonnull(t);
  struct partition *p = &t->partitions[0];
  int32_t epoch = p->partition_epoch;
  p->partition_epoch = epoch - 1;
  uint64_t shrinks = leader->metrics.isr_shrinks;
  /* 5 is silent: past replica.lag.time.max.ms the leader proposes {1, 4},
   * once; the checks that follow (every 1.5 s) ask nothing. */
  for (int t_ms = 0; t_ms < 12000; t_ms += 200) {
    fetch(&c, 4, RECORDS, 1);
    run_ms(&c, 200);
  }
  ck_assert_uint_eq(leader->metrics.isr_shrinks, shrinks + 1);
  const int32_t all[] = {1, 4, 5}, without_5[] = {1, 4};
  ck_assert(isr_is(&c, all, 3));
  p->partition_epoch = epoch; /* the image caught up */
  for (int t_ms = 0; t_ms <= BOUND_MS && !isr_is(&c, without_5, 2); t_ms += 200) {
    fetch(&c, 4, RECORDS, 1);
    run_ms(&c, 200);
  }
  ck_assert(isr_is(&c, without_5, 2));
  ck_assert_uint_eq(leader->metrics.isr_shrinks, shrinks + 2);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NONE);
  cluster_teardown(&c);
}
END_TEST

/* An acks=all produce waiting when the leadership moves (node 1 shuts
 * down cleanly: KIP-631 moves its leaderships first) is answered
 * NOT_LEADER_OR_FOLLOWER with the new leader (KIP-951), not left to time
 * out. */
START_TEST(acks_all_learns_that_the_leadership_moved) {
  struct cluster c;
  /* A seed where node 3 is the active controller: with node 2 down, the
   * active controller's own controlled shutdown finds no quorum to grant
   * it (it resigns as it stops serving). */
  cluster_setup(&c, 31, 600000, NULL);
  struct produce_answer pa;
  produce_send(c.producer, -1, &pa);
  run_ms(&c, 200);
  ck_assert(!pa.done);
  bool done = false;
  node_shutdown(c.node[LEADER], shutdown_done, &done);
  for (int n = 0; n < 10000000 && !pa.done; n++)
    if (!sim_step(c.w)) break;
  ck_assert(pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(pa.leader_id, 4); /* the next replica of the ISR */
  ck_assert_int_eq(pa.leader_epoch, 2);
  for (int n = 0; n < 10000000 && !done; n++)
    if (!sim_step(c.w)) break;
  ck_assert(done);
  node_destroy(c.node[LEADER]);
  c.node[LEADER] = NULL;
  sim_node_exit(c.sim[LEADER]);
  cluster_teardown(&c);
}
END_TEST

/* The leader is killed (kill -9: its page cache keeps the acks=1 records
 * no follower fetched) and restarted. Before this incarnation's
 * registration is in its image it plays no role, although the image still
 * names it leader: it must not vouch for its log end as committed (its
 * followers never had those records; after a power loss of every replica
 * the next leader truncates them), so its high watermark is its log start
 * and a consumer's Fetch is answered NOT_LEADER_OR_FOLLOWER. */
START_TEST(a_restarted_leader_vouches_for_nothing_before_it_leads_again) {
  struct cluster c;
  cluster_setup(&c, 41, 600000, NULL);
  struct produce_answer pa;
  produce_send(c.producer, 1, &pa);
  wait_flag(&c, &pa.done);
  ck_assert_int_eq(pa.error_code, KERR_NONE);
  ck_assert_int_eq(leader_hw(&c), 0); /* no follower fetched them */
  kclient_close_all(&c.follower_kc);
  kclient_close_all(&c.producer_kc);
  node_destroy(c.node[LEADER]); /* nothing flushed: kill -9 */
  c.node[LEADER] = NULL;
  sim_node_exit(c.sim[LEADER]);
  node_up(&c, LEADER);
  struct kconn *conn = kclient_conn(&c.follower_kc, "broker1", PORT, "replication-test");
  const struct partition *p = NULL;
  for (int n = 0; n < 10000000 && p == NULL; n++) {
    ck_assert(sim_step(c.w));
    const struct partition *q = partition_find(c.node[LEADER], kstr_of("rep"), 0);
    if (q && q->log && q->leader_id == 1 && q->leader == NULL && kconn_connected(conn)) p = q;
  }
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(plog_end_offset(p->log), RECORDS); /* it still holds them */
  ck_assert_int_eq(partition_high_watermark(p), 0);
  struct fetch_answer consumer = fetch_on(&c, conn, -1, 0, 1, -1);
  ck_assert_int_eq(consumer.error_code, KERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(consumer.records_bytes, 0);
  cluster_teardown(&c);
}
END_TEST

/* ---- the controller's rule, on an image alone ---- */

/* Brokers 1, 2 and 3 (3 fenced); topic "t" (id 7) with partition 0 on 1, 2,
 * 3, led by 1 in leader epoch 2 and partition epoch 5, ISR {1}. */
static struct meta_image *rule_image(void) {
  struct meta_image *empty = meta_image_empty("c");
  struct meta_delta d;
  meta_delta_init(&d);
  for (int32_t id = 1; id <= 3; id++) {
    struct meta_record *r = meta_delta_add(&d, META_REGISTER_BROKER_RECORD, d.count);
    r->register_broker.broker_id = id;
    r->register_broker.broker_epoch = r->offset;
    r->register_broker.fenced = id == 3;
  }
  struct meta_record *r = meta_delta_add(&d, META_TOPIC_RECORD, d.count);
  snprintf(r->topic.name, sizeof r->topic.name, "t");
  r->topic.topic_id.b[0] = 7;
  r = meta_delta_add(&d, META_PARTITION_RECORD, d.count);
  r->partition.topic_id.b[0] = 7;
  r->partition.replica_count = 3;
  for (int32_t i = 0; i < 3; i++) r->partition.replicas[i] = i + 1;
  r->partition.isr_count = 1;
  r->partition.isr[0] = 1;
  r->partition.leader = 1;
  r->partition.leader_epoch = 2;
  r->partition.partition_epoch = 5;
  struct meta_image *image = NULL;
  ck_assert_int_eq(meta_image_build(empty, &d, &image), 0);
  meta_delta_free(&d);
  meta_image_unref(empty);
  return image;
}

/* Broker 1 (epoch 0) proposes isr[0..count) in leader epoch 2, partition
 * epoch 5 (the image's). */
static struct meta_alter_partition proposal(const int32_t *isr, int32_t count) {
  struct meta_alter_partition in = {
      .broker_id = 1, .broker_epoch = 0, .leader_epoch = 2, .partition_epoch = 5};
  in.topic_id.b[0] = 7;
  in.isr_count = count;
  for (int32_t i = 0; i < count; i++) {
    in.isr[i] = isr[i];
    in.isr_broker_epochs[i] = -1;
  }
  return in;
}

/* What the rule answers; a refusal appends nothing. */
static int16_t rule(const struct meta_image *image, const struct meta_alter_partition *in) {
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_alter_partition_result r;
  struct meta_leader_policy policy = {0};
  int16_t code = meta_rule_alter_partition(&policy, image, in, &d, &r);
  ck_assert_int_eq(r.error_code, code);
  if (code != KERR_NONE) ck_assert_int_eq(d.count, 0);
  meta_delta_free(&d);
  return code;
}

/* KIP-497's checks at the controller: the epochs the leader knows, who
 * asks, what the ISR may hold (KIP-841: no fenced broker; KIP-903: the
 * broker epoch the leader saw), and the change it commits. */
START_TEST(the_controller_checks_an_alter_partition) {
  struct meta_image *image = rule_image();
  const int32_t with_2[] = {1, 2}, with_3[] = {1, 3}, no_leader[] = {2}, stranger[] = {1, 4};
  struct meta_alter_partition in = proposal(with_2, 2);
  in.leader_epoch = 1;
  ck_assert_int_eq(rule(image, &in), KERR_FENCED_LEADER_EPOCH);
  in.leader_epoch = 3;
  ck_assert_int_eq(rule(image, &in), KERR_NOT_CONTROLLER); /* this controller lags */
  in = proposal(with_2, 2);
  in.partition_epoch = 4;
  ck_assert_int_eq(rule(image, &in), KERR_INVALID_UPDATE_VERSION);
  in = proposal(with_2, 2);
  in.broker_id = 2;
  in.broker_epoch = 1;
  ck_assert_int_eq(rule(image, &in), KERR_INVALID_REQUEST); /* 2 does not lead */
  in = proposal(with_2, 2);
  in.broker_epoch = 9;
  ck_assert_int_eq(rule(image, &in), KERR_STALE_BROKER_EPOCH);
  in = proposal(with_3, 2);
  ck_assert_int_eq(rule(image, &in), KERR_INELIGIBLE_REPLICA); /* 3 is fenced */
  in = proposal(with_2, 2);
  in.isr_broker_epochs[1] = 5; /* 2 registered again since (its epoch is 1) */
  ck_assert_int_eq(rule(image, &in), KERR_INELIGIBLE_REPLICA);
  in = proposal(no_leader, 1);
  ck_assert_int_eq(rule(image, &in), KERR_INVALID_REQUEST);
  in = proposal(stranger, 2);
  ck_assert_int_eq(rule(image, &in), KERR_INVALID_REQUEST);
  in = proposal(with_2, 2);
  in.topic_id.b[0] = 8;
  ck_assert_int_eq(rule(image, &in), KERR_UNKNOWN_TOPIC_ID);
  /* Accepted: one PartitionChangeRecord; the partition epoch moves, the
   * leader epoch stays. */
  in = proposal(with_2, 2);
  in.isr_broker_epochs[1] = 1;
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_alter_partition_result r;
  ck_assert_int_eq(
      meta_rule_alter_partition(&(struct meta_leader_policy){0}, image, &in, &d, &r),
      KERR_NONE);
  ck_assert_int_eq(d.count, 1);
  ck_assert_int_eq(d.records[0].type, META_PARTITION_CHANGE_RECORD);
  ck_assert_int_eq(r.partition_epoch, 6);
  ck_assert_int_eq(r.leader_epoch, 2);
  ck_assert_int_eq(r.isr_count, 2);
  struct meta_image *next = NULL;
  ck_assert_int_eq(meta_image_build(image, &d, &next), 0);
  meta_delta_free(&d);
  const struct meta_partition *p = meta_topic_partition(meta_image_topic(next, "t", 1), 0);
  ck_assert_int_eq(p->partition_epoch, 6);
  ck_assert_int_eq(p->leader_epoch, 2);
  ck_assert_int_eq(p->isr_count, 2);
  /* The same ISR again is no change: nothing to commit. */
  in.partition_epoch = 6;
  meta_delta_init(&d);
  ck_assert_int_eq(
      meta_rule_alter_partition(&(struct meta_leader_policy){0}, next, &in, &d, &r), KERR_NONE);
  ck_assert_int_eq(d.count, 0);
  ck_assert_int_eq(r.partition_epoch, 6);
  meta_delta_free(&d);
  meta_image_unref(next);
  meta_image_unref(image);
}
END_TEST

static Suite *replication_leader_suite(void) {
  Suite *s = suite_create("replication_leader");
  TCase *tc = tcase_create("replication_leader");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, the_controller_checks_an_alter_partition);
  tcase_add_test(tc, a_stale_isr_proposal_waits_for_new_metadata);
  tcase_add_test(tc, acks_all_waits_for_every_isr_member);
  tcase_add_test(tc, followers_are_checked_and_diverging_ones_told_where_to_truncate);
  tcase_add_test(tc, acks_all_is_refused_below_min_insync_replicas);
  tcase_add_loop_test(tc, a_lagging_follower_leaves_the_isr_and_rejoins, 0, 4);
  tcase_add_test(tc, acks_all_times_out_or_learns_the_isr_shrank);
  tcase_add_test(tc, a_follower_with_a_stale_broker_epoch_does_not_rejoin);
  tcase_add_test(tc, acks_all_learns_that_the_leadership_moved);
  tcase_add_test(tc, a_restarted_leader_vouches_for_nothing_before_it_leads_again);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(replication_leader_suite)
