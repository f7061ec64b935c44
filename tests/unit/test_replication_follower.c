/* The follower's side of partition replication (server/replica_follower.c,
 * replica/fetcher.c) between three real KRaft nodes in the simulated world:
 * a topic of replication factor 3 whose followers copy the leader's log
 * byte for byte (same offsets, leader epochs, CRCs), catch up after a
 * restart, and cut what they hold that a newer leader lacks (KIP-101,
 * KIP-279). A client node produces through the leader's client listener. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "client/kclient.h"
#include "client/producer.h"
#include "cluster_fixture.h"
#include "meta/image.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/fetch_session.h"
#include "server/node.h"
#include "server/replication.h"
#include "server/server.h"
#include "sim/disk.h"
#include "sim/net.h"
#include "sim/world.h"
#include "testing.h"

enum {
  NODES = 3,
  STEP_MS = 10,
  BOUND_MS = 60000, /* virtual: elections, a fencing (9 s), catching up */
};

static const char TOPIC[] = "t";

struct cluster {
  struct cluster_fixture f;
  struct sim_world *w;
  struct sim_node *sim[NODES], *client_node;
  struct node **node; /* the fixture's: NULL while down */
  struct net_dispatch net;
  struct kclient client;
  struct kproducer producer;
  bool producing;
  int acked, failed;
};

static void run_ms(struct cluster *c, uint64_t ms) { cluster_fixture_run_ms(&c->f, ms); }

static void node_kill(struct cluster *c, int i) { cluster_fixture_kill(&c->f, i); }

static void node_restart(struct cluster *c, int i) { cluster_fixture_restart(&c->f, i); }

static const struct meta_image *image_of(const struct cluster *c, int i) {
  return cluster_fixture_image(&c->f, i);
}

static void settle(struct cluster *c) { cluster_fixture_registered(&c->f, BOUND_MS); }

static void cluster_setup_with(struct cluster *c, uint64_t seed,
                               void (*configure)(void *ctx, int i, struct config *cfg)) {
  memset(c, 0, sizeof *c);
  cluster_fixture_init(&c->f, seed, NODES, NODES);
  c->f.configure = configure;
  c->w = c->f.w;
  sim_world_set_verbose(c->w, getenv("REPLICATION_VERBOSE") != NULL);
  for (int i = 0; i < NODES; i++) c->sim[i] = c->f.sim[i];
  c->node = c->f.node;
  c->client_node = sim_node_add(c->w, 100, "client1");
  net_dispatch_init(&c->net, sim_node_env(c->client_node));
  kclient_init(&c->client, &c->net);
  cluster_fixture_start(&c->f);
  settle(c);
}

static void cluster_setup(struct cluster *c, uint64_t seed) {
  cluster_setup_with(c, seed, NULL);
}

static void producer_stop(struct cluster *c) {
  if (c->producing) kproducer_free(&c->producer);
  c->producing = false;
}

static void cluster_teardown(struct cluster *c) {
  producer_stop(c);
  kclient_close_all(&c->client);
  cluster_fixture_free(&c->f);
  net_dispatch_free(&c->net);
}

/* ---- the topic ---- */

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

/* One partition on replicas 1, 2, 3; `leader` (an index) leads it;
 * flush.messages=1 when strict. */
static void create_topic_configs(struct cluster *c, int leader,
                                 const struct meta_config_entry *configs, int32_t count) {
  int32_t replicas[NODES];
  for (int i = 0; i < NODES; i++) replicas[i] = (leader + i) % NODES + 1;
  struct meta_assignment a = {
      .partition_index = 0, .broker_ids = replicas, .broker_count = NODES};
  struct meta_create_topic topic;
  memset(&topic, 0, sizeof topic);
  topic.name = kstr_of(TOPIC);
  topic.partition_count = -1;
  topic.replication_factor = -1;
  topic.assignments = &a;
  topic.assignment_count = 1;
  topic.configs = configs;
  topic.config_count = count;
  struct call call = {0};
  struct meta_controller *ctl = c->node[0]->controller;
  ctl->ops->create_topics(ctl, &topic, 1, false, sim_now_ns(c->w) + 30000 * NS_PER_MS,
                          topics_done, &call);
  for (int t = 0; t <= BOUND_MS && !call.done; t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(call.done);
  ck_assert_int_eq(call.error, KERR_NONE);
}

static void create_topic_with(struct cluster *c, int leader, bool strict) {
  struct meta_config_entry flush = {kstr_of("flush.messages"), kstr_of("1")};
  create_topic_configs(c, leader, &flush, strict ? 1 : 0);
}

static void create_topic(struct cluster *c, int leader) { create_topic_with(c, leader, false); }

static struct partition *part(const struct cluster *c, int i) {
  ck_assert_ptr_nonnull(c->node[i]);
  struct partition *p = partition_find(c->node[i], kstr_of(TOPIC), 0);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* The partition's leader in node i's image: its index, or -1. */
static int leader_in(const struct cluster *c, int i) {
  const struct meta_topic *t = meta_image_topic(image_of(c, i), TOPIC, strlen(TOPIC));
  if (!t) return -1;
  int32_t id = meta_topic_partition(t, 0)->leader;
  return id > 0 ? id - 1 : -1;
}

/* ---- a client producing ---- */

static void on_acked(void *ctx, uint64_t id, int32_t partition, int64_t offset) {
  (void)id, (void)partition, (void)offset;
  ((struct cluster *)ctx)->acked++;
}

static void on_failed(void *ctx, uint64_t id, int32_t partition, int error) {
  (void)id, (void)partition, (void)error;
  ((struct cluster *)ctx)->failed++;
}

/* A producer to node i's client listener (acks=1: what the leader alone
 * stored is acknowledged, which is how a leader cut off from the others
 * accepts records they never see). */
static void producer_to(struct cluster *c, int i) {
  producer_stop(c);
  struct kconn *conn = kclient_conn(&c->client, sim_node_host(c->sim[i]), 9092, "sim-client");
  struct kproducer_config pc = {.partition_count = 1,
                                .acks = 1,
                                .batch_records_max = 7,
                                .retries_max = 1000,
                                .retry_backoff_ms = 50,
                                .timeout_ms = 30000,
                                .codec = RB_CODEC_NONE,
                                /* Producer ids come from the active controller,
                                 * which need not be this node (KIP-730). */
                                .idempotence_off = true};
  snprintf(pc.topic, sizeof pc.topic, "%s", TOPIC);
  struct kproducer_listener pl = {.ctx = c, .acked = on_acked, .failed = on_failed};
  kproducer_init(&c->producer, sim_node_env(c->client_node), conn, &pc, &pl);
  c->producing = true;
}

/* Sends values [from, to) and waits until each is acknowledged. */
static void produce(struct cluster *c, int from, int to) {
  c->acked = c->failed = 0;
  for (int v = from; v < to; v++) {
    char value[32];
    int n = snprintf(value, sizeof value, "value-%d", v);
    ck_assert_int_eq(kproducer_send(&c->producer, 0, NULL, -1, value, n, (uint64_t)v), 0);
  }
  for (int t = 0; t <= BOUND_MS && c->acked + c->failed < to - from; t += STEP_MS)
    run_ms(c, STEP_MS);
  ck_assert_int_eq(c->failed, 0);
  ck_assert_int_eq(c->acked, to - from);
}

/* ---- comparing logs ---- */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The bytes of node i's log, batch after batch: base offsets, leader
 * epochs and CRCs included. */
static void log_bytes_from(struct cluster *c, int i, int64_t from, struct buf *out) {
  struct partition *p = part(c, i);
  struct env *env = sim_node_env(c->sim[i]);
  int64_t offset = from, end = plog_end_offset(p->log);
  ck_assert_int_ge(from, plog_start_offset(p->log));
  for (int n = 0; n < 100000 && offset < end; n++) {
    struct plog_read_result rr;
    ck_assert_int_eq(plog_read(p->log, offset, 1 << 20, true, INT64_MAX, &rr), 0);
    ck_assert_uint_gt(rr.len, 0);
    uint8_t *bytes = buf_extend(out, rr.len);
    ck_assert_int_eq(env->pread(env, rr.file, bytes, rr.len, rr.file_offset), (int64_t)rr.len);
    for (size_t at = 0; at + 27 <= rr.len;) {
      int64_t base = be64(bytes + at);
      uint32_t len = be32(bytes + at + 8);
      offset = base + (int64_t)be32(bytes + at + 23) + 1;
      at += 12 + (size_t)len;
    }
  }
  ck_assert_int_eq(offset, end);
}

static void log_bytes(struct cluster *c, int i, struct buf *out) {
  log_bytes_from(c, i, plog_start_offset(part(c, i)->log), out);
}

/* Waits until every node up ends where `leader` ends, then compares. */
static void assert_logs_match(struct cluster *c, int leader) {
  bool same = false;
  for (int t = 0; t <= BOUND_MS && !same; t += STEP_MS) {
    int64_t end = plog_end_offset(part(c, leader)->log);
    same = true;
    for (int i = 0; i < NODES; i++)
      if (c->node[i]) same = same && plog_end_offset(part(c, i)->log) == end;
    if (!same) run_ms(c, STEP_MS);
  }
  ck_assert_msg(same, "the followers did not reach the leader's end within %d ms", BOUND_MS);
  struct buf want;
  buf_init(&want);
  log_bytes(c, leader, &want);
  for (int i = 0; i < NODES; i++) {
    if (!c->node[i] || i == leader) continue;
    struct buf got;
    buf_init(&got);
    log_bytes(c, i, &got);
    ck_assert_int_eq(got.len, want.len);
    ck_assert_msg(memcmp(got.data, want.data, want.len) == 0,
                  "node %d's log differs from the leader's", i + 1);
    buf_free(&got);
  }
  buf_free(&want);
}

/* ---- cases ---- */

static uint64_t copy_run(uint64_t seed) {
  struct cluster c;
  cluster_setup(&c, seed);
  create_topic(&c, 0);
  producer_to(&c, 0);
  produce(&c, 0, 200);
  assert_logs_match(&c, 0);
  ck_assert_int_eq(plog_end_offset(part(&c, 1)->log), 200);
  /* The followers' high watermark follows the leader's. */
  run_ms(&c, 2000);
  for (int i = 1; i < NODES; i++) ck_assert_int_eq(partition_high_watermark(part(&c, i)), 200);
  uint64_t hash = sim_trace_hash(c.w);
  cluster_teardown(&c);
  return hash;
}

/* Both followers hold what the leader holds, byte for byte; one seed runs
 * the same way twice. */
START_TEST(followers_copy_the_leaders_log_byte_for_byte) {
  uint64_t first = copy_run(11);
  ck_assert_uint_eq(copy_run(11), first);
}
END_TEST

/* KIP-227: each follower's fetcher opens a session on the leader and goes
 * on incrementally (the session's epoch moves past its first), and the
 * followers' high watermarks still follow the leader's once it is idle. */
START_TEST(followers_fetch_in_sessions) {
  struct cluster c;
  cluster_setup(&c, 13);
  create_topic(&c, 0);
  producer_to(&c, 0);
  produce(&c, 0, 200);
  run_ms(&c, 2000);
  for (int i = 1; i < NODES; i++) ck_assert_int_eq(partition_high_watermark(part(&c, i)), 200);
  const struct fetch_session_cache *cache = c.node[0]->fetch_sessions;
  ck_assert_ptr_nonnull(cache);
  ck_assert_int_eq(cache->count, NODES - 1); /* one per follower broker */
  for (int32_t k = 0; k < cache->count; k++) {
    ck_assert(cache->sessions[k].privileged);
    ck_assert_int_eq(cache->sessions[k].count, 1);
    ck_assert_int_gt(cache->sessions[k].epoch, 2);
  }
  cluster_teardown(&c);
}
END_TEST

/* A follower killed while the leader takes more records catches up when it
 * comes back. */
START_TEST(a_restarted_follower_catches_up) {
  struct cluster c;
  cluster_setup(&c, 12);
  create_topic(&c, 0);
  producer_to(&c, 0);
  produce(&c, 0, 50);
  assert_logs_match(&c, 0);
  node_kill(&c, 2);
  produce(&c, 50, 150);
  node_restart(&c, 2);
  settle(&c);
  produce(&c, 150, 160);
  assert_logs_match(&c, 0);
  ck_assert_int_eq(plog_end_offset(part(&c, 2)->log), 160);
  cluster_teardown(&c);
}
END_TEST

/* KIP-101/KIP-279: a leader cut off from the others keeps accepting acks=1
 * records they never copy; they elect another leader (its broker is
 * fenced), which takes new records in a newer epoch. Healed, the old
 * leader follows: it cuts the records the new leader lacks and then holds
 * what the new leader holds. */
START_TEST(a_diverged_follower_truncates_to_the_new_leader) {
  struct cluster c;
  cluster_setup(&c, 13);
  create_topic(&c, 0);
  producer_to(&c, 0);
  produce(&c, 0, 50);
  assert_logs_match(&c, 0);
  int32_t old_epoch = part(&c, 0)->leader_epoch;
  struct sim_node *cut_side[2] = {c.sim[0], c.client_node};
  struct sim_node *majority[2] = {c.sim[1], c.sim[2]};
  sim_net_partition_sets(c.w, cut_side, 2, majority, 2);
  produce(&c, 50, 70); /* the old leader alone has these */
  ck_assert_int_eq(plog_end_offset(part(&c, 0)->log), 70);
  int leader = -1;
  for (int t = 0; t <= BOUND_MS && (leader = leader_in(&c, 1)) <= 0; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_gt(leader, 0);
  producer_stop(&c);
  /* The client now reaches the majority only. */
  sim_net_heal_all(c.w);
  sim_net_partition(c.w, c.sim[0], c.sim[1], true);
  sim_net_partition(c.w, c.sim[0], c.sim[2], true);
  sim_net_partition(c.w, c.sim[0], c.client_node, true);
  producer_to(&c, leader);
  produce(&c, 70, 100);
  int64_t new_end = plog_end_offset(part(&c, leader)->log);
  ck_assert_int_eq(new_end, 80); /* 50 copied + 30 new: the 20 never reached it */
  sim_net_heal_all(c.w);
  settle(&c);
  for (int t = 0; t <= BOUND_MS && part(&c, 0)->leader_epoch == old_epoch; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_gt(part(&c, 0)->leader_epoch, old_epoch);
  assert_logs_match(&c, leader);
  ck_assert_int_eq(plog_end_offset(part(&c, 0)->log), 80);
  cluster_teardown(&c);
}
END_TEST

/* Fsync-before-ack mode: a follower fsyncs what it copied before it
 * fetches again, so a power loss of every replica at once loses nothing
 * the followers reported: the two that come back, without the old leader,
 * still hold every record. (Nobody leads then: each restarted follower's
 * re-registration took it out of the ISR, as Kafka 3.9 without KIP-966's
 * eligible leader replicas does, and the old leader is the last member.) */
START_TEST(strict_mode_followers_keep_what_they_copied_through_a_power_loss) {
  struct cluster c;
  cluster_setup(&c, 14);
  create_topic_with(&c, 0, true);
  producer_to(&c, 0);
  produce(&c, 0, 100);
  assert_logs_match(&c, 0);
  /* The last copy's fsync completes before the next (parked) Fetch. */
  run_ms(&c, 1000);
  producer_stop(&c);
  for (int i = 0; i < NODES; i++) node_kill(&c, i);
  for (int i = 1; i < NODES; i++) node_restart(&c, i);
  bool opened = false;
  for (int t = 0; t <= BOUND_MS && !opened; t += STEP_MS) {
    run_ms(&c, STEP_MS);
    opened = partition_find(c.node[1], kstr_of(TOPIC), 0) != NULL &&
             partition_find(c.node[2], kstr_of(TOPIC), 0) != NULL;
  }
  ck_assert(opened);
  for (int i = 1; i < NODES; i++) ck_assert_int_eq(plog_end_offset(part(&c, i)->log), 100);
  cluster_teardown(&c);
}
END_TEST

static void shutdown_done(void *ctx) { *(bool *)ctx = true; }

/* In strict mode the offset a follower's Fetch reports is on its disk: a
 * follower role that begins while the last role's flush is still running
 * (the partition's leader moved) flushes first; otherwise the new leader
 * counts records the follower could still lose towards the high watermark
 * and acks=all (seen on follower-lag seed 39 with one Produce per broker).
 * Node 2's fsyncs are slow, so its flush of the last copy still runs when
 * node 0 (the leader) shuts down cleanly and node 1 leads in a new epoch
 * (a controlled shutdown: the quorum of nodes 0 and 1 moves it at once). */
START_TEST(strict_mode_a_new_follower_role_reports_only_what_is_on_disk) {
  struct cluster c;
  cluster_setup(&c, 15);
  /* Roles by the active controller A: A-1 leads, A takes over, A+1 is the
   * slow follower (its slowness must not hold back the quorum's commits). */
  int active = -1;
  for (int i = 0; i < NODES; i++)
    if (controller_quorum_is_active(c.node[i]->controller)) active = i;
  ck_assert_int_ge(active, 0);
  int leader = (active + NODES - 1) % NODES, next = active, slow = (active + 1) % NODES;
  create_topic_with(&c, leader, true);
  producer_to(&c, leader);
  produce(&c, 0, 20);
  run_ms(&c, 1000);
  sim_disk_set_fsync_slowdown(c.sim[slow], 3000);
  produce(&c, 20, 30); /* acks=1: the leader's fsync answers */
  for (int t = 0; t <= BOUND_MS && plog_end_offset(part(&c, slow)->log) < 30; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_eq(plog_end_offset(part(&c, slow)->log), 30);
  ck_assert_int_lt(plog_recovery_point(part(&c, slow)->log), 30); /* its flush runs */
  producer_stop(&c);
  bool down = false;
  node_shutdown(c.node[leader], shutdown_done, &down);
  sim_disk_set_fsync_slowdown(c.sim[slow], 1); /* the running flush keeps its pace */
  int64_t reported = -1;
  bool moved = false;
  for (int t = 0; t <= BOUND_MS && reported < 30; t += STEP_MS) {
    run_ms(&c, STEP_MS);
    if (down && c.node[leader] != NULL) {
      node_destroy(c.node[leader]);
      c.node[leader] = NULL;
      sim_node_exit(c.sim[leader]);
    }
    if (leader_in(&c, next) != next || part(&c, next)->leader == NULL) continue;
    moved = true;
    const struct replica_progress *rp = partition_leader_progress(part(&c, next), slow + 1);
    if (rp == NULL || rp->log_end_offset < 0) continue;
    reported = rp->log_end_offset;
    ck_assert_int_le(reported, plog_recovery_point(part(&c, slow)->log));
  }
  ck_assert(moved);
  ck_assert_int_eq(reported, 30); /* once flushed, it reports everything */
  cluster_teardown(&c);
}
END_TEST

/* ---- OffsetForLeaderEpoch from a client ---- */

struct epoch_answer {
  bool done;
  int16_t error;
  int32_t epoch;
  int64_t end_offset;
};

static void encode_epochs(struct wr *w, int16_t v, const void *m) {
  offset_for_leader_epoch_request_encode(w, v, m);
}

static void on_epochs(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct epoch_answer *a = ctx;
  ck_assert_int_eq(err, 0);
  struct offset_for_leader_epoch_response m;
  ck_assert(offset_for_leader_epoch_response_decode(body, 4, &m, arena));
  ck_assert_int_eq(m.topics_count, 1);
  ck_assert_int_eq(m.topics[0].partitions_count, 1);
  a->error = m.topics[0].partitions[0].error_code;
  a->epoch = m.topics[0].partitions[0].leader_epoch;
  a->end_offset = m.topics[0].partitions[0].end_offset;
  a->done = true;
}

/* Node i's answer (v4, as a consumer: ReplicaId -1) for `epoch`. */
static struct epoch_answer ask_epoch(struct cluster *c, int i, int32_t current, int32_t epoch) {
  struct kconn *conn = kclient_conn(&c->client, sim_node_host(c->sim[i]), 9092, "sim-client");
  for (int t = 0; t <= BOUND_MS && !kconn_connected(conn); t += STEP_MS) {
    kconn_connect(conn);
    run_ms(c, STEP_MS);
  }
  ck_assert(kconn_connected(conn));
  ck_assert_int_eq(kconn_version(conn, API_OFFSET_FOR_LEADER_EPOCH, 4, 4), 4);
  struct offset_for_leader_epoch_request_offset_for_leader_partition p;
  offset_for_leader_epoch_request_offset_for_leader_partition_init(&p);
  p.partition = 0;
  p.current_leader_epoch = current;
  p.leader_epoch = epoch;
  struct offset_for_leader_epoch_request_offset_for_leader_topic t;
  offset_for_leader_epoch_request_offset_for_leader_topic_init(&t);
  t.topic = kstr_of(TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  struct offset_for_leader_epoch_request m;
  offset_for_leader_epoch_request_init(&m);
  m.replica_id = -1;
  m.topics = &t;
  m.topics_count = 1;
  struct epoch_answer a = {0};
  ck_assert_int_eq(
      kconn_send(conn, API_OFFSET_FOR_LEADER_EPOCH, 4, encode_epochs, &m, on_epochs, &a), 0);
  for (int t2 = 0; t2 <= BOUND_MS && !a.done; t2 += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(a.done);
  return a;
}

/* KIP-101/KIP-320: the leader answers an epoch's end from its epoch cache
 * (the current epoch: its log end, even before a batch of it); a follower
 * answers NOT_LEADER_OR_FOLLOWER; a CurrentLeaderEpoch other than the
 * partition's is FENCED (older) or UNKNOWN (newer). */
START_TEST(offset_for_leader_epoch_answers_from_the_leader) {
  struct cluster c;
  cluster_setup(&c, 15);
  create_topic(&c, 0);
  producer_to(&c, 0);
  produce(&c, 0, 40);
  assert_logs_match(&c, 0);
  /* A new leader: node 1 dies, and once it is fenced (KIP-631) the
   * controller moves its leadership to another replica. */
  producer_stop(&c);
  int32_t old_epoch = part(&c, 1)->leader_epoch;
  node_kill(&c, 0);
  int leader = -1;
  for (int t = 0; t <= BOUND_MS && (leader = leader_in(&c, 1)) <= 0; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_gt(leader, 0);
  int32_t epoch = part(&c, leader)->leader_epoch;
  ck_assert_int_gt(epoch, old_epoch);
  struct epoch_answer a = ask_epoch(&c, leader, epoch, old_epoch);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.epoch, old_epoch);
  ck_assert_int_eq(a.end_offset, 40);
  a = ask_epoch(&c, leader, -1, epoch); /* no batch of it yet */
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.epoch, epoch);
  ck_assert_int_eq(a.end_offset, 40);
  producer_to(&c, leader);
  produce(&c, 40, 45);
  a = ask_epoch(&c, leader, epoch, old_epoch);
  ck_assert_int_eq(a.error, KERR_NONE);
  ck_assert_int_eq(a.end_offset, 40);
  a = ask_epoch(&c, leader, epoch, epoch);
  ck_assert_int_eq(a.end_offset, 45);
  ck_assert_int_eq(ask_epoch(&c, leader, epoch - 1, epoch).error, KERR_FENCED_LEADER_EPOCH);
  ck_assert_int_eq(ask_epoch(&c, leader, epoch + 1, epoch).error, KERR_UNKNOWN_LEADER_EPOCH);
  int follower = 3 - leader; /* the other survivor */
  a = ask_epoch(&c, follower, epoch, epoch);
  ck_assert_int_eq(a.error, KERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(a.end_offset, -1);
  cluster_teardown(&c);
}
END_TEST

static void fast_retention(void *ctx, int i, struct config *cfg) {
  (void)ctx, (void)i;
  char err[256];
  ck_assert(config_set(cfg, "log.retention.check.interval.ms", "500", NULL, err, sizeof err));
}

/* A follower down while the leader's retention deleted what it would fetch
 * next gets OFFSET_OUT_OF_RANGE, and starts its log over at the leader's
 * log start (Kafka's truncateFullyAndStartAt), then catches up. */
START_TEST(a_follower_behind_the_leaders_log_start_starts_over_there) {
  struct cluster c;
  cluster_setup_with(&c, 16, fast_retention);
  const struct meta_config_entry configs[] = {
      {kstr_of("segment.bytes"), kstr_of("1024")},
      {kstr_of("retention.bytes"), kstr_of("2048")},
  };
  create_topic_configs(&c, 0, configs, 2);
  producer_to(&c, 0);
  produce(&c, 0, 20);
  assert_logs_match(&c, 0);
  int64_t old_end = plog_end_offset(part(&c, 2)->log);
  node_kill(&c, 2);
  produce(&c, 20, 600);
  for (int t = 0; t <= BOUND_MS && plog_start_offset(part(&c, 0)->log) <= old_end; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_gt(plog_start_offset(part(&c, 0)->log), old_end);
  node_restart(&c, 2);
  settle(&c);
  produce(&c, 600, 610);
  bool caught_up = false;
  for (int t = 0; t <= BOUND_MS && !caught_up; t += STEP_MS) {
    caught_up = plog_end_offset(part(&c, 2)->log) == plog_end_offset(part(&c, 0)->log);
    if (!caught_up) run_ms(&c, STEP_MS);
  }
  ck_assert(caught_up);
  int64_t start2 = plog_start_offset(part(&c, 2)->log);
  int64_t start0 = plog_start_offset(part(&c, 0)->log);
  ck_assert_int_gt(start2, old_end);
  /* Where both hold the log, they hold the same batches. */
  int64_t from = start0 > start2 ? start0 : start2;
  struct buf want, got;
  buf_init(&want);
  buf_init(&got);
  log_bytes_from(&c, 0, from, &want);
  log_bytes_from(&c, 2, from, &got);
  ck_assert_uint_gt(want.len, 0);
  ck_assert_int_eq(got.len, want.len);
  ck_assert(memcmp(got.data, want.data, want.len) == 0);
  buf_free(&want);
  buf_free(&got);
  cluster_teardown(&c);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("replication_follower");
  TCase *tc = tcase_create("follower");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, followers_copy_the_leaders_log_byte_for_byte);
  tcase_add_test(tc, followers_fetch_in_sessions);
  tcase_add_test(tc, a_restarted_follower_catches_up);
  tcase_add_test(tc, a_diverged_follower_truncates_to_the_new_leader);
  tcase_add_test(tc, offset_for_leader_epoch_answers_from_the_leader);
  tcase_add_test(tc, a_follower_behind_the_leaders_log_start_starts_over_there);
  tcase_add_test(tc, strict_mode_followers_keep_what_they_copied_through_a_power_loss);
  tcase_add_test(tc, strict_mode_a_new_follower_role_reports_only_what_is_on_disk);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(suite)
