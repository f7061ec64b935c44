/* Two nodes in the simulated world that serve clients and hold peer
 * channels to each other at once: connections with owners (net/dispatch.h),
 * peer channels (net/channel.h) carrying the metadata quorum's traffic
 * (KIP-595: votes and the metadata log's long-polling Fetch), and typed
 * listeners. */
#include <stdio.h>
#include <string.h>

#include "client/admin.h"
#include "client/kclient.h"
#include "client/producer.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/node.h"
#include "server/storage_format.h"
#include "sim/world.h"
#include "testing.h"

enum { BROKERS = 2, VALUES = 300 };

struct pair {
  struct sim_world *w;
  struct sim_node *bnode[BROKERS], *cnode;
  struct node *broker[BROKERS];
  struct net_dispatch net;
  struct kclient client;
  struct kconn *conn; /* to broker 1's client listener */
  struct kproducer producer;
  bool created;
  int acked, failed;
};

static void run_for(struct pair *p, uint64_t ns) { sim_run_until(p->w, sim_now_ns(p->w) + ns); }

static void broker_start(struct pair *p, int i) {
  struct config cfg;
  config_defaults(&cfg);
  char err[256], value[256];
  const char *host = sim_node_host(p->bnode[i]);
  cfg.node_id = i + 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  snprintf(value, sizeof value, "PLAINTEXT://%s:9092,CONTROLLER://%s:9093", host, host);
  ck_assert_msg(config_set(&cfg, "listeners", value, NULL, err, sizeof err), "%s", err);
  ck_assert(config_set(&cfg, "controller.listener.names", "CONTROLLER", NULL, err, sizeof err));
  ck_assert(config_set(&cfg, "process.roles", "broker,controller", NULL, err, sizeof err));
  ck_assert(config_set(&cfg, "cluster.id", STORAGE_TEST_CLUSTER_ID, NULL, err, sizeof err));
  ck_assert(config_set(&cfg, "controller.quorum.voters", "1@broker1:9093,2@broker2:9093", NULL,
                       err, sizeof err));
  ck_assert_int_ge(storage_format(sim_node_env(p->bnode[i]), &cfg, cfg.cluster_id, true, NULL,
                                  NULL, value, sizeof value, NULL, NULL),
                   0);
  ck_assert_int_eq(node_create(sim_node_env(p->bnode[i]), &cfg, &p->broker[i]), 0);
  ck_assert_int_eq(node_start(p->broker[i]), 0);
}

static void on_created(void *ctx, int error) {
  ck_assert_int_eq(error, KERR_NONE);
  ((struct pair *)ctx)->created = true;
}
/* The topic's one partition on broker 1, the one the client talks to: a
 * partition between the two voters leaves no quorum to move it (KIP-631's
 * controller cannot commit), and the data path stays on broker 1. */
static void on_create_answer(void *ctx, int err, int16_t version, const void *response) {
  (void)version;
  ck_assert_int_eq(err, 0);
  const struct create_topics_response *r = response;
  ck_assert_int_eq(r->topics_count, 1);
  on_created(ctx, r->topics[0].error_code);
}

static void create_on_broker1(struct pair *p) {
  int32_t replicas[1] = {1};
  struct create_topics_request_creatable_replica_assignment a;
  memset(&a, 0, sizeof a);
  a.partition_index = 0;
  a.broker_ids = replicas;
  a.broker_ids_count = 1;
  struct create_topics_request_creatable_topic t;
  create_topics_request_creatable_topic_init(&t);
  t.name = kstr_of("t");
  t.num_partitions = -1;
  t.replication_factor = -1;
  t.assignments = &a;
  t.assignments_count = 1;
  struct create_topics_request r;
  create_topics_request_init(&r);
  r.topics = &t;
  r.topics_count = 1;
  r.timeout_ms = 30000;
  ck_assert_int_eq(kadmin_request(p->conn, API_CREATE_TOPICS, 2, 7, &r, on_create_answer, p),
                   0);
}

static void on_acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  (void)id, (void)partition, (void)offset;
  ((struct pair *)ctx)->acked++;
}
static void on_failed(void *ctx, uint64_t id, int32_t partition, int error) {
  (void)id, (void)partition, (void)error;
  ((struct pair *)ctx)->failed++;
}

static void pair_setup(struct pair *p, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->w = sim_world_create(seed);
  p->bnode[0] = sim_node_add(p->w, 1, "broker1");
  p->bnode[1] = sim_node_add(p->w, 2, "broker2");
  p->cnode = sim_node_add(p->w, 100, "client1");
  for (int i = 0; i < BROKERS; i++) broker_start(p, i);
  net_dispatch_init(&p->net, sim_node_env(p->cnode));
  kclient_init(&p->client, &p->net);
  p->conn = kclient_conn(&p->client, "broker1", 9092, "sim-client");
  /* KRaft mode: the quorum elects and the brokers register and are
   * unfenced (KIP-631) before a topic can be placed on them. */
  run_for(p, 5000 * NS_PER_MS);
  create_on_broker1(p);
  /* KRaft mode: the quorum elects, the brokers register and are unfenced
   * (virtual seconds) before the controller creates the topic. */
  for (int i = 0; i < 300 && !p->created; i++) run_for(p, 50 * NS_PER_MS);
  ck_assert(p->created);
  struct kproducer_config pc = {.partition_count = 1,
                                .acks = -1,
                                .batch_records_max = 10,
                                .retries_max = 1000,
                                .retry_backoff_ms = 50,
                                .timeout_ms = 30000,
                                .codec = RB_CODEC_NONE,
                                /* Without idempotence: producer ids come from the
                                 * active controller, and a broker that is not it
                                 * cannot ask for a block yet (KIP-730's
                                 * AllocateProducerIds is not served). */
                                .idempotence_off = true};
  snprintf(pc.topic, sizeof pc.topic, "t");
  struct kproducer_listener pl = {.ctx = p, .acked = on_acked, .failed = on_failed};
  kproducer_init(&p->producer, sim_node_env(p->cnode), p->conn, &pc, &pl);
}

static void pair_teardown(struct pair *p) {
  kproducer_free(&p->producer);
  kclient_close_all(&p->client);
  for (int i = 0; i < BROKERS; i++) node_destroy(p->broker[i]);
  sim_world_destroy(p->w);
  net_dispatch_free(&p->net);
}

static const struct channel *channel_from(struct pair *p, int i) {
  const struct channel *ch = node_quorum_channel(p->broker[i], 2 - i);
  ck_assert_ptr_nonnull(ch);
  return ch;
}

static void send_values(struct pair *p, int from, int to) {
  for (int i = from; i < to; i++) {
    char v[16];
    int n = snprintf(v, sizeof v, "v%d", i);
    ck_assert_int_eq(kproducer_send(&p->producer, 0, NULL, -1, v, n + 1, (uint64_t)i), 0);
  }
}

/* Quorum requests answered both ways: the responses this node's requests
 * got, and the requests it served (a leader mostly serves Fetches). */
static uint64_t quorum_responses(struct pair *p, int i) {
  struct node_quorum q;
  node_quorum(p->broker[i], &q);
  ck_assert(q.running);
  return q.responses_received + q.requests_served;
}

/* Both channels up and negotiated for the quorum's APIs, a client producing. */
static void check_up(struct pair *p, uint64_t ups) {
  for (int i = 0; i < BROKERS; i++) {
    const struct channel *ch = channel_from(p, i);
    ck_assert_msg(channel_is_up(ch), "node %d: %s", i + 1, channel_state_name(ch->state));
    ck_assert_int_eq(ch->stats.ups, ups);
    ck_assert_int_ge(channel_version(ch, API_API_VERSIONS, 0, 3), 3);
    ck_assert_int_eq(channel_version(ch, API_VOTE, 0, 1), 1);
    ck_assert_int_eq(channel_version(ch, API_FETCH, 12, 17), 17);
    ck_assert_int_eq(channel_version(ch, API_PRODUCE, 0, 9), -1); /* a controller listener */
  }
}

/* Runs the whole story and returns the trace hash. */
static uint64_t partition_and_heal(uint64_t seed) {
  struct pair p;
  pair_setup(&p, seed);
  run_for(&p, 2 * NS_PER_S);
  check_up(&p, 1);
  uint64_t answered[BROKERS];
  for (int i = 0; i < BROKERS; i++) {
    answered[i] = quorum_responses(&p, i);
    ck_assert_int_ge(answered[i], 2); /* quorum requests flow both ways */
  }
  send_values(&p, 0, VALUES / 3);

  /* A partition between the brokers: each channel's requests time out (the
   * follower's Fetch; the leader's, once check-quorum makes it resign and
   * campaign, its Votes), so both go down; the client keeps its own
   * connection to broker 1. */
  sim_net_partition(p.w, p.bnode[0], p.bnode[1], true);
  run_for(&p, 10 * NS_PER_S);
  send_values(&p, VALUES / 3, 2 * VALUES / 3);
  run_for(&p, 10 * NS_PER_S);
  uint64_t connects[BROKERS];
  for (int i = 0; i < BROKERS; i++) {
    const struct channel *ch = channel_from(&p, i);
    ck_assert_msg(!channel_is_up(ch), "node %d still up", i + 1);
    ck_assert_int_eq(ch->stats.downs, 1);
    ck_assert_int_ge(ch->stats.timeouts, 1);
    /* Retried with backoff: several attempts, each delay within the cap. */
    ck_assert_int_ge(ch->stats.connects, 4);
    ck_assert_int_le(ch->stats.connects, 20);
    ck_assert_int_le(ch->stats.last_backoff_ms, 1200);
    connects[i] = ch->stats.connects;
    ck_assert_int_eq(quorum_responses(&p, i) - answered[i] <= 4, 1);
  }
  ck_assert_int_eq(p.acked, 2 * VALUES / 3);

  /* Healed: both come back by themselves (the connect that succeeds may be
   * one begun during the partition whose SYN was retried). */
  sim_net_partition(p.w, p.bnode[0], p.bnode[1], false);
  send_values(&p, 2 * VALUES / 3, VALUES);
  run_for(&p, 5 * NS_PER_S);
  check_up(&p, 2);
  for (int i = 0; i < BROKERS; i++) {
    ck_assert_int_ge(channel_from(&p, i)->stats.connects, connects[i]);
    ck_assert_int_gt(quorum_responses(&p, i), answered[i] + 4);
  }
  ck_assert_int_eq(p.acked, VALUES);
  ck_assert_int_eq(p.failed, 0);
  uint64_t hash = sim_trace_hash(p.w);
  pair_teardown(&p);
  return hash;
}

START_TEST(peer_channels_survive_a_partition_deterministically) {
  uint64_t a = partition_and_heal(7), b = partition_and_heal(7), c = partition_and_heal(8);
  ck_assert_uint_eq(a, b);
  ck_assert_uint_ne(a, c);
}
END_TEST

/* ---- typed listeners ---- */

struct answer {
  int calls, err;
  int32_t api_count;
};

static void versions_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  a->calls++;
  a->err = err;
  struct api_versions_response resp;
  if (err == 0 && api_versions_response_decode(body, 3, &resp, arena))
    a->api_count = resp.api_keys_count;
}

static void metadata_answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  (void)body, (void)arena;
  a->calls++;
  a->err = err;
}

static void encode_versions(struct wr *w, int16_t version, const void *msg) {
  api_versions_request_encode(w, version, msg);
}

static void encode_metadata(struct wr *w, int16_t version, const void *msg) {
  metadata_request_encode(w, version, msg);
}

/* A controller listener answers ApiVersions with the quorum's APIs only and
 * closes a connection that asks it for client APIs. */
START_TEST(controller_listener_serves_only_quorum_apis) {
  struct pair p;
  pair_setup(&p, 3);
  struct kconn *ctl = kclient_conn(&p.client, "broker1", 9093, "sim-client");
  run_for(&p, 10 * NS_PER_MS);
  ck_assert(kconn_connected(ctl));
  struct api_versions_request vr;
  api_versions_request_init(&vr);
  struct answer versions = {0}, metadata = {0};
  ck_assert_int_eq(
      kconn_send(ctl, API_API_VERSIONS, 3, encode_versions, &vr, versions_answered, &versions),
      0);
  run_for(&p, 10 * NS_PER_MS);
  ck_assert_int_eq(versions.calls, 1);
  ck_assert_int_eq(versions.err, 0);
  /* ApiVersions, the quorum's six, the controller's twelve (CreateTopics,
   * DeleteTopics, AlterConfigs, CreatePartitions, ElectLeaders,
   * IncrementalAlterConfigs, AlterPartitionReassignments,
   * ListPartitionReassignments, AlterPartition, BrokerRegistration,
   * BrokerHeartbeat, AllocateProducerIds). */
  ck_assert_int_eq(versions.api_count, 19);
  struct metadata_request mr;
  metadata_request_init(&mr);
  ck_assert_int_eq(
      kconn_send(ctl, API_METADATA, 12, encode_metadata, &mr, metadata_answered, &metadata), 0);
  run_for(&p, 100 * NS_PER_MS);
  ck_assert_int_eq(metadata.calls, 1);
  ck_assert_int_ne(metadata.err, 0); /* closed, not answered */
  /* The client listener still answers everything. */
  versions = (struct answer){0};
  ck_assert_int_eq(kconn_send(p.conn, API_API_VERSIONS, 3, encode_versions, &vr,
                              versions_answered, &versions),
                   0);
  run_for(&p, 10 * NS_PER_MS);
  ck_assert_int_gt(versions.api_count, 5);
  pair_teardown(&p);
}
END_TEST

static Suite *peer_suite(void) {
  Suite *s = suite_create("peer");
  TCase *tc = tcase_create("peer");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, peer_channels_survive_a_partition_deterministically);
  tcase_add_test(tc, controller_listener_serves_only_quorum_apis);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(peer_suite)
