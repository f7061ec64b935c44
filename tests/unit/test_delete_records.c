/* DeleteRecords (server/api_delete_records.c, KIP-107) between three real
 * KRaft nodes in the simulated world: the leader moves its log start and
 * answers once every live replica's log start (reported in its Fetch) has
 * reached the offset; a replica that is down but not yet fenced holds the
 * answer until timeout_ms (REQUEST_TIMED_OUT); the new start survives a
 * power loss of the leader (log-start-offset-checkpoint); only the leader
 * answers DeleteRecords and a consumer's ListOffsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kclient.h"
#include "client/producer.h"
#include "cluster_fixture.h"
#include "meta/image.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/server.h"
#include "sim/net.h"
#include "sim/world.h"
#include "testing.h"

enum {
  NODES = 3,
  STEP_MS = 10,
  BOUND_MS = 60000, /* virtual: elections, a fencing (9 s), catching up */
  RECORDS = 40,
};

static const char TOPIC[] = "t";

struct cluster {
  struct cluster_fixture f;
  struct sim_node *client_node;
  struct net_dispatch net;
  struct kclient client;
  struct kproducer producer;
  int acked, failed;
};

static void run_ms(struct cluster *c, uint64_t ms) { cluster_fixture_run_ms(&c->f, ms); }

static void cluster_setup(struct cluster *c, uint64_t seed) {
  memset(c, 0, sizeof *c);
  cluster_fixture_init(&c->f, seed, NODES, NODES);
  sim_world_set_verbose(c->f.w, getenv("REPLICATION_VERBOSE") != NULL);
  c->client_node = sim_node_add(c->f.w, 100, "client1");
  net_dispatch_init(&c->net, sim_node_env(c->client_node));
  kclient_init(&c->client, &c->net);
  cluster_fixture_start(&c->f);
  cluster_fixture_registered(&c->f, BOUND_MS);
}

static void cluster_teardown(struct cluster *c) {
  kproducer_free(&c->producer);
  kclient_close_all(&c->client);
  cluster_fixture_free(&c->f);
  net_dispatch_free(&c->net);
}

struct call {
  bool done;
  int16_t error;
};

static void topics_done(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct call *call = ctx;
  ck_assert(!call->done && count == 1);
  call->done = true;
  call->error = results[0].error_code;
}

/* One partition on replicas 1, 2, 3, led by node index 0. */
static void create_topic(struct cluster *c) {
  int32_t replicas[NODES] = {1, 2, 3};
  struct meta_assignment a = {.partition_index = 0, .broker_ids = replicas, .broker_count = 3};
  struct meta_create_topic topic;
  memset(&topic, 0, sizeof topic);
  topic.name = kstr_of(TOPIC);
  topic.partition_count = -1;
  topic.replication_factor = -1;
  topic.assignments = &a;
  topic.assignment_count = 1;
  struct call call = {0};
  struct meta_controller *ctl = c->f.node[0]->controller;
  ctl->ops->create_topics(ctl, &topic, 1, false, sim_now_ns(c->f.w) + 30000 * NS_PER_MS,
                          topics_done, &call);
  for (int t = 0; t <= BOUND_MS && !call.done; t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(call.done);
  ck_assert_int_eq(call.error, KERR_NONE);
}

static struct partition *part(const struct cluster *c, int i) {
  ck_assert_ptr_nonnull(c->f.node[i]);
  struct partition *p = partition_find(c->f.node[i], kstr_of(TOPIC), 0);
  ck_assert_ptr_nonnull(p);
  return p;
}

static void on_acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  (void)id, (void)partition, (void)offset;
  ((struct cluster *)ctx)->acked++;
}

static void on_failed(void *ctx, uint64_t id, int32_t partition, int error) {
  (void)id, (void)partition, (void)error;
  ((struct cluster *)ctx)->failed++;
}

/* RECORDS values to the leader (node index 0) at acks=all, all acknowledged. */
static void produce(struct cluster *c) {
  struct kconn *conn = kclient_conn(&c->client, sim_node_host(c->f.sim[0]), 9092, "sim-client");
  struct kproducer_config pc = {.partition_count = 1,
                                .acks = -1,
                                .batch_records_max = 5,
                                .retries_max = 1000,
                                .retry_backoff_ms = 50,
                                .timeout_ms = 30000,
                                .codec = RB_CODEC_NONE,
                                .idempotence_off = true};
  snprintf(pc.topic, sizeof pc.topic, "%s", TOPIC);
  struct kproducer_listener pl = {.ctx = c, .acked = on_acked, .failed = on_failed};
  kproducer_init(&c->producer, sim_node_env(c->client_node), conn, &pc, &pl);
  for (int v = 0; v < RECORDS; v++) {
    char value[32];
    int n = snprintf(value, sizeof value, "value-%d", v);
    ck_assert_int_eq(kproducer_send(&c->producer, 0, NULL, -1, value, n, (uint64_t)v), 0);
  }
  for (int t = 0; t <= BOUND_MS && c->acked + c->failed < RECORDS; t += STEP_MS)
    run_ms(c, STEP_MS);
  ck_assert_int_eq(c->failed, 0);
  ck_assert_int_eq(c->acked, RECORDS);
}

static struct kconn *conn_to(struct cluster *c, int i) {
  struct kconn *conn = kclient_conn(&c->client, sim_node_host(c->f.sim[i]), 9092, "sim-admin");
  for (int t = 0; t <= BOUND_MS && !kconn_connected(conn); t += STEP_MS) {
    kconn_connect(conn);
    run_ms(c, STEP_MS);
  }
  ck_assert(kconn_connected(conn));
  return conn;
}

/* ---- DeleteRecords ---- */

struct answer {
  bool done;
  int16_t error;
  int64_t value; /* low watermark, or ListOffsets' offset */
};

static void encode_delete(struct wr *w, int16_t v, const void *m) {
  delete_records_request_encode(w, v, m);
}

static void on_delete(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct delete_records_response m;
  ck_assert(delete_records_response_decode(body, 2, &m, arena));
  ck_assert_int_eq(m.topics_count, 1);
  ck_assert_int_eq(m.topics[0].partitions_count, 1);
  a->error = m.topics[0].partitions[0].error_code;
  a->value = m.topics[0].partitions[0].low_watermark;
  a->done = true;
}

/* DeleteRecords v2 (flexible) to node i; runs until the answer. */
static struct answer delete_at(struct cluster *c, int i, int64_t offset, int32_t timeout_ms) {
  struct kconn *conn = conn_to(c, i);
  ck_assert_int_eq(kconn_version(conn, API_DELETE_RECORDS, 0, 2), 2);
  struct delete_records_request_delete_records_partition p;
  delete_records_request_delete_records_partition_init(&p);
  p.partition_index = 0;
  p.offset = offset;
  struct delete_records_request_delete_records_topic t;
  delete_records_request_delete_records_topic_init(&t);
  t.name = kstr_of(TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  struct delete_records_request m;
  delete_records_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  m.timeout_ms = timeout_ms;
  struct answer a = {0};
  ck_assert_int_eq(kconn_send(conn, API_DELETE_RECORDS, 2, encode_delete, &m, on_delete, &a),
                   0);
  for (int t2 = 0; t2 <= BOUND_MS && !a.done; t2 += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(a.done);
  return a;
}

static void encode_list(struct wr *w, int16_t v, const void *m) {
  list_offsets_request_encode(w, v, m);
}

static void on_list(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct list_offsets_response m;
  ck_assert(list_offsets_response_decode(body, 7, &m, arena));
  ck_assert_int_eq(m.topics_count, 1);
  a->error = m.topics[0].partitions[0].error_code;
  a->value = m.topics[0].partitions[0].offset;
  a->done = true;
}

/* ListOffsets v7 earliest (-2) to node i as replica_id. */
static struct answer earliest_at(struct cluster *c, int i, int32_t replica_id) {
  struct kconn *conn = conn_to(c, i);
  struct list_offsets_request_list_offsets_partition p;
  list_offsets_request_list_offsets_partition_init(&p);
  p.partition_index = 0;
  p.timestamp = -2;
  struct list_offsets_request_list_offsets_topic t;
  list_offsets_request_list_offsets_topic_init(&t);
  t.name = kstr_of(TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  struct list_offsets_request m;
  list_offsets_request_init(&m);
  m.replica_id = replica_id;
  m.topics = &t;
  m.topics_count = 1;
  struct answer a = {0};
  ck_assert_int_eq(kconn_send(conn, API_LIST_OFFSETS, 7, encode_list, &m, on_list, &a), 0);
  for (int t2 = 0; t2 <= BOUND_MS && !a.done; t2 += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(a.done);
  return a;
}

static void encode_fetch(struct wr *w, int16_t v, const void *m) {
  fetch_request_encode(w, v, m);
}

struct fetch_answer {
  bool done;
  int16_t error;
  int64_t log_start_offset;
};

static void on_fetch(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct fetch_answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct fetch_response m;
  ck_assert(fetch_response_decode(body, 12, &m, arena));
  ck_assert_int_eq(m.responses_count, 1);
  a->error = m.responses[0].partitions[0].error_code;
  a->log_start_offset = m.responses[0].partitions[0].log_start_offset;
  a->done = true;
}

/* A consumer's Fetch v12 (by name) at offset, to node i. */
static struct fetch_answer fetch_at(struct cluster *c, int i, int64_t offset) {
  struct kconn *conn = conn_to(c, i);
  struct fetch_request_fetch_partition p;
  fetch_request_fetch_partition_init(&p);
  p.partition = 0;
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
  struct fetch_request_fetch_topic t;
  fetch_request_fetch_topic_init(&t);
  t.topic = kstr_of(TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  struct fetch_request m;
  fetch_request_init(&m);
  m.replica_id = -1;
  m.max_wait_ms = 0;
  m.min_bytes = 1;
  m.topics = &t;
  m.topics_count = 1;
  struct fetch_answer a = {0};
  ck_assert_int_eq(kconn_send(conn, API_FETCH, 12, encode_fetch, &m, on_fetch, &a), 0);
  for (int t2 = 0; t2 <= BOUND_MS && !a.done; t2 += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(a.done);
  return a;
}

/* The answer comes once all three replicas start at the offset; -1 is the
 * high watermark; past it, OFFSET_OUT_OF_RANGE; a follower refuses. */
START_TEST(the_answer_waits_for_every_replicas_log_start) {
  struct cluster c;
  cluster_setup(&c, 31);
  create_topic(&c);
  produce(&c);
  ck_assert_int_eq(delete_at(&c, 1, 10, 5000).error, KERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(delete_at(&c, 0, RECORDS + 1, 5000).error, KERR_OFFSET_OUT_OF_RANGE);
  ck_assert_int_eq(delete_at(&c, 0, -5, 5000).error, KERR_OFFSET_OUT_OF_RANGE);
  struct answer a = delete_at(&c, 0, 10, 30000);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.value, 10);
  /* Answered: every replica already starts there. */
  for (int i = 0; i < NODES; i++) ck_assert_int_eq(plog_start_offset(part(&c, i)->log), 10);
  /* A consumer below the start hears where the log starts now. */
  struct fetch_answer f = fetch_at(&c, 0, 3);
  ck_assert_int_eq(f.error, KERR_OFFSET_OUT_OF_RANGE);
  ck_assert_int_eq(f.log_start_offset, 10);
  f = fetch_at(&c, 0, 10);
  ck_assert_int_eq(f.error, KERR_NONE);
  ck_assert_int_eq(f.log_start_offset, 10);
  /* Lower than the start: nothing moves, the same low watermark. */
  a = delete_at(&c, 0, 5, 30000);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.value, 10);
  a = delete_at(&c, 0, -1, 30000);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.value, RECORDS);
  for (int i = 0; i < NODES; i++)
    ck_assert_int_eq(plog_start_offset(part(&c, i)->log), RECORDS);
  /* Consumers ask the leader only (Kafka's fetchOnlyFromLeader); -2, the
   * debugging id, may ask a follower. */
  a = earliest_at(&c, 0, -1);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.value, RECORDS);
  ck_assert_int_eq(earliest_at(&c, 1, -1).error, KERR_NOT_LEADER_OR_FOLLOWER);
  a = earliest_at(&c, 1, -2);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.value, RECORDS);
  cluster_teardown(&c);
}
END_TEST

/* A replica down but not yet fenced keeps the low watermark below the
 * offset: REQUEST_TIMED_OUT, though the leader's start moved. Once the
 * controller fences it, it no longer counts (Kafka: alive brokers only);
 * back, it adopts the leader's start from its first Fetch. After a power
 * loss of the leader the start is still 25 (its checkpoint, or, as a
 * follower now, the new leader's start: this does not tell which). */
START_TEST(a_replica_down_holds_the_answer_until_fenced) {
  struct cluster c;
  cluster_setup(&c, 32);
  create_topic(&c);
  produce(&c);
  cluster_fixture_kill(&c.f, 2);
  struct answer a = delete_at(&c, 0, 20, 1000);
  ck_assert_int_eq(a.error, KERR_REQUEST_TIMED_OUT);
  ck_assert_int_eq(a.value, -1);
  ck_assert_int_eq(plog_start_offset(part(&c, 0)->log), 20);
  /* Fenced after broker.session.timeout.ms: answered with two replicas. */
  bool fenced = false;
  for (int t = 0; t <= BOUND_MS && !fenced; t += STEP_MS) {
    const struct meta_broker *b = meta_image_broker(cluster_fixture_image(&c.f, 0), 3);
    fenced = b == NULL || b->fenced;
    if (!fenced) run_ms(&c, STEP_MS);
  }
  ck_assert(fenced);
  a = delete_at(&c, 0, 25, 30000);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.value, 25);
  cluster_fixture_restart(&c.f, 2);
  cluster_fixture_registered(&c.f, BOUND_MS);
  bool adopted = false;
  for (int t = 0; t <= BOUND_MS && !adopted; t += STEP_MS) {
    adopted = plog_start_offset(part(&c, 2)->log) == 25;
    if (!adopted) run_ms(&c, STEP_MS);
  }
  ck_assert(adopted);
  /* The leader loses power; back, its log still starts at 25. */
  run_ms(&c, 200); /* the checkpoint's write and fsync, not the periodic one (60 s) */
  cluster_fixture_kill(&c.f, 0);
  cluster_fixture_restart(&c.f, 0);
  cluster_fixture_registered(&c.f, BOUND_MS);
  ck_assert_int_eq(plog_start_offset(part(&c, 0)->log), 25);
  cluster_teardown(&c);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("delete_records");
  TCase *tc = tcase_create("delete_records");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, the_answer_waits_for_every_replicas_log_start);
  tcase_add_test(tc, a_replica_down_holds_the_answer_until_fenced);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(suite)
