/* The Raft-backed controller (server/controller_quorum.h) and the metadata
 * loader (server/metadata_loader.h) between real nodes in the simulated
 * world: three combined nodes (voters 1, 2, 3) and a broker-only observer
 * (4). Calls go through the controller seam (meta/controller.h) the
 * handlers use; what they change is read back from each node's image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cluster_fixture.h"
#include "meta/codec.h"
#include "meta/config_control.h"
#include "meta/image.h"
#include "meta/producer_id_control.h"
#include "meta/snapshot.h"
#include "proto/errors.h"
#include "server/controller_quorum.h"
#include "server/producer_ids.h"
#include "server/raft_node.h"
#include "server/server.h"
#include "server/storage_format.h"
#include "sim/net.h"
#include "sim/world.h"
#include "testing.h"

enum {
  VOTERS = 3,
  NODES = VOTERS + 1, /* node 4: a broker-only observer */
  STEP_MS = 10,
  BOUND_MS = 20000, /* virtual: an election and a few commits */
};

static const unsigned ALL = (1u << NODES) - 1;

struct cluster {
  struct cluster_fixture f;
  struct sim_world *w;
  struct sim_node **sim; /* the fixture's */
  struct node **node;    /* the fixture's: NULL while down */
};

static void run_ms(struct cluster *c, uint64_t ms) { cluster_fixture_run_ms(&c->f, ms); }

static void node_kill(struct cluster *c, int i) { cluster_fixture_kill(&c->f, i); }

static void node_restart(struct cluster *c, int i) { cluster_fixture_restart(&c->f, i); }

static void cluster_setup(struct cluster *c, uint64_t seed) {
  memset(c, 0, sizeof *c);
  cluster_fixture_init(&c->f, seed, VOTERS, NODES);
  c->w = c->f.w;
  c->sim = c->f.sim;
  c->node = c->f.node;
  sim_world_set_verbose(c->w, getenv("QUORUM_VERBOSE") != NULL);
  cluster_fixture_start(&c->f);
}

static void cluster_teardown(struct cluster *c) { cluster_fixture_free(&c->f); }

static struct node_quorum status(const struct cluster *c, int i) {
  struct node_quorum q;
  ck_assert_ptr_nonnull(c->node[i]);
  node_quorum(c->node[i], &q);
  return q;
}

static const struct meta_image *image_of(const struct cluster *c, int i) {
  ck_assert_ptr_nonnull(c->node[i]);
  return node_metadata_image(c->node[i]);
}

/* The voter that leads, agreed by every node up in mask: its index or -1. */
static int leader_of(const struct cluster *c, unsigned mask) {
  int leader = -1;
  int32_t epoch = -1, leader_id = -1;
  for (int i = 0; i < NODES; i++) {
    if (!(mask & (1u << i)) || c->node[i] == NULL) continue;
    struct node_quorum q = status(c, i);
    if (q.leader_id < 0 || (epoch >= 0 && (q.epoch != epoch || q.leader_id != leader_id)))
      return -1;
    epoch = q.epoch;
    leader_id = q.leader_id;
    if (q.role == RAFT_LEADER) leader = i;
  }
  return leader >= 0 && leader_id == leader + 1 ? leader : -1;
}

/* Every node up is registered in every image, the controllers wait on
 * nothing, and every image is at the leader's last, committed, entry: the
 * leader's index. */
static int settle(struct cluster *c) {
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    int l = leader_of(c, ALL);
    bool done = l >= 0;
    int64_t end = done ? status(c, l).end_offset : -1;
    for (int i = 0; i < NODES && done; i++) {
      if (!c->node[i]) continue;
      const struct meta_image *image = image_of(c, i);
      done = node_controller_idle(c->node[i]) && status(c, i).high_watermark == end &&
             image->offset == end - 1;
      for (int j = 0; j < NODES && done; j++)
        done = !c->node[j] || (meta_image_broker(image, j + 1) != NULL &&
                               !meta_image_broker(image, j + 1)->fenced);
    }
    if (done) return l;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("the cluster did not settle within %d ms", BOUND_MS);
  return -1;
}

/* ---- calls through the controller seam ---- */

struct call {
  bool done;
  int32_t count;
  struct meta_topic_result results[4];
};

static void topics_done(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct call *call = ctx;
  ck_assert(!call->done && count <= 4);
  call->done = true;
  call->count = count;
  memcpy(call->results, results, (size_t)count * sizeof *results);
}

static void create_async(struct cluster *c, int i, const char *name, int32_t partitions,
                         struct meta_create_topic *topic, struct call *call) {
  memset(topic, 0, sizeof *topic);
  memset(call, 0, sizeof *call);
  topic->name = kstr_of(name);
  topic->partition_count = partitions;
  topic->replication_factor = 1;
  struct meta_controller *ctl = c->node[i]->controller;
  uint64_t deadline_ns = sim_now_ns(c->w) + 30000 * NS_PER_MS;
  ctl->ops->create_topics(ctl, topic, 1, false, deadline_ns, topics_done, call);
  ck_assert(!call->done); /* never inside the call */
}

static void wait_call(struct cluster *c, const struct call *call) {
  for (int t = 0; t <= BOUND_MS && !call->done; t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert_msg(call->done, "the call was not answered within %d ms", BOUND_MS);
}

/* Creates through node i and waits for the answer: its error code. */
static int16_t create(struct cluster *c, int i, const char *name, int32_t partitions,
                      struct kuuid *id_out) {
  struct meta_create_topic topic;
  struct call call;
  create_async(c, i, name, partitions, &topic, &call);
  wait_call(c, &call);
  ck_assert_int_eq(call.count, 1);
  if (id_out) *id_out = call.results[0].topic_id;
  if (call.results[0].error_code == KERR_NONE) {
    /* The contract: the image holding the change is this node's already. */
    const struct meta_topic *t = meta_image_topic(image_of(c, i), name, strlen(name));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->partition_count, partitions);
    ck_assert(memcmp(&t->id, &call.results[0].topic_id, sizeof t->id) == 0);
  }
  return call.results[0].error_code;
}

/* Every node up holds the topic, with that id and partition count. */
static void everywhere(struct cluster *c, const char *name, struct kuuid id,
                       int32_t partitions) {
  for (int i = 0; i < NODES; i++) {
    if (!c->node[i]) continue;
    const struct meta_topic *t = meta_image_topic(image_of(c, i), name, strlen(name));
    ck_assert_msg(t != NULL, "node %d has no topic %s", i + 1, name);
    ck_assert(memcmp(&t->id, &id, sizeof id) == 0);
    ck_assert_int_eq(t->partition_count, partitions);
  }
}

static int follower_of(const struct cluster *c, int leader) {
  for (int i = 0; i < VOTERS; i++)
    if (i != leader && c->node[i]) return i;
  return -1;
}

/* ---- cases ---- */

/* KIP-631: every broker registers through the active controller (the
 * others forward BrokerRegistration); its epoch is the offset of its
 * RegisterBrokerRecord; every image lists all four. */
START_TEST(brokers_register_through_the_active_controller) {
  struct cluster c;
  cluster_setup(&c, 1);
  settle(&c);
  for (int i = 0; i < NODES; i++) {
    const struct meta_image *image = image_of(&c, i);
    ck_assert_int_eq(image->broker_count, NODES);
    for (int b = 0; b < NODES; b++) {
      const struct meta_broker *mb = meta_image_broker(image, b + 1);
      ck_assert_int_ge(mb->epoch, 0);
      ck_assert_int_le(mb->epoch, image->offset);
      ck_assert(!mb->fenced);
      ck_assert_int_eq(mb->port, 9092);
      ck_assert_int_eq(mb->epoch, meta_image_broker(image_of(&c, 0), b + 1)->epoch);
    }
  }
  cluster_teardown(&c);
}
END_TEST

/* A topic created through a follower, and one through the observer, are
 * in every image, at the same offset everywhere. */
START_TEST(a_topic_created_through_any_node_reaches_every_image) {
  struct cluster c;
  cluster_setup(&c, 2);
  int leader = settle(&c);
  int follower = follower_of(&c, leader);
  struct kuuid a, b;
  ck_assert_int_eq(create(&c, follower, "through-follower", 3, &a), KERR_NONE);
  ck_assert_int_eq(create(&c, NODES - 1, "through-observer", 2, &b), KERR_NONE);
  ck_assert_int_eq(create(&c, leader, "through-follower", 1, NULL), KERR_TOPIC_ALREADY_EXISTS);
  settle(&c);
  everywhere(&c, "through-follower", a, 3);
  everywhere(&c, "through-observer", b, 2);
  int64_t offset = image_of(&c, 0)->offset;
  for (int i = 1; i < NODES; i++) ck_assert_int_eq(image_of(&c, i)->offset, offset);
  cluster_teardown(&c);
}
END_TEST

/* The active controller dies: another voter takes over, creations go on
 * through the survivors, nothing committed is lost, and the dead node
 * rebuilds its image from its log when it comes back. */
START_TEST(the_next_leader_takes_over_and_nothing_committed_is_lost) {
  struct cluster c;
  cluster_setup(&c, 3);
  int old = settle(&c);
  struct kuuid first, second;
  ck_assert_int_eq(create(&c, follower_of(&c, old), "before", 2, &first), KERR_NONE);
  node_kill(&c, old);
  int survivor = follower_of(&c, old);
  ck_assert_int_eq(create(&c, survivor, "after", 1, &second), KERR_NONE);
  int leader = leader_of(&c, ALL);
  ck_assert_int_ge(leader, 0);
  ck_assert_int_ne(leader, old);
  node_restart(&c, old);
  settle(&c);
  everywhere(&c, "before", first, 2);
  everywhere(&c, "after", second, 1);
  cluster_teardown(&c);
}
END_TEST

/* KIP-868: records between a BeginTransaction and an End that never came
 * (the leader died) are never applied: a new leader's epoch drops them. */
START_TEST(a_transaction_cut_by_a_new_leader_is_dropped) {
  struct cluster c;
  cluster_setup(&c, 4);
  int old = settle(&c);
  struct meta_record recs[2];
  memset(recs, 0, sizeof recs);
  recs[0].type = META_BEGIN_TRANSACTION_RECORD;
  recs[1].type = META_TOPIC_RECORD;
  snprintf(recs[1].topic.name, sizeof recs[1].topic.name, "half-made");
  recs[1].topic.topic_id.b[0] = 0x42;
  for (int k = 0; k < 2; k++) {
    struct buf value;
    buf_init(&value);
    meta_record_encode(&recs[k], &value);
    ck_assert_int_ge(node_quorum_propose(c.node[old], value.data, (uint32_t)value.len), 0);
    buf_free(&value);
  }
  int64_t end = status(&c, old).end_offset;
  for (int t = 0; t < BOUND_MS && status(&c, follower_of(&c, old)).high_watermark < end;
       t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_ge(status(&c, follower_of(&c, old)).high_watermark, end); /* committed */
  node_kill(&c, old);
  /* A change of one record next (the restarted node's registration): were
   * the cut transaction still open, it would swallow it. */
  node_restart(&c, old);
  settle(&c);
  struct kuuid id;
  ck_assert_int_eq(create(&c, follower_of(&c, old), "whole", 2, &id), KERR_NONE);
  settle(&c);
  for (int i = 0; i < NODES; i++)
    ck_assert_ptr_null(meta_image_topic(image_of(&c, i), "half-made", 9));
  everywhere(&c, "whole", id, 2);
  cluster_teardown(&c);
}
END_TEST

/* A leader cut off from the others cannot commit: the change it proposed
 * answers NOT_CONTROLLER once it steps down (KIP-595 check quorum), and
 * the majority's controller goes on. */
START_TEST(a_partitioned_leader_answers_not_controller) {
  struct cluster c;
  cluster_setup(&c, 5);
  int old = settle(&c);
  sim_net_isolate(c.w, c.sim[old]);
  struct meta_create_topic topic;
  struct call call;
  create_async(&c, old, "stranded", 1, &topic, &call);
  wait_call(&c, &call);
  ck_assert_int_eq(call.results[0].error_code, KERR_NOT_CONTROLLER);
  unsigned majority = ALL & ~(1u << old);
  int leader = -1;
  for (int t = 0; t < BOUND_MS && (leader = leader_of(&c, majority)) < 0; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_ge(leader, 0);
  struct kuuid id;
  ck_assert_int_eq(
      create(&c, follower_of(&c, old) == leader ? NODES - 1 : leader, "majority", 1, &id),
      KERR_NONE);
  sim_net_heal_all(c.w);
  settle(&c);
  everywhere(&c, "majority", id, 1);
  cluster_teardown(&c);
}
END_TEST

/* Creates a one-partition topic on the given replicas (the first leads). */
static struct kuuid create_on(struct cluster *c, int i, const char *name,
                              const int32_t *replicas, int32_t count) {
  struct meta_assignment a = {
      .partition_index = 0, .broker_ids = replicas, .broker_count = count};
  struct meta_create_topic topic;
  memset(&topic, 0, sizeof topic);
  topic.name = kstr_of(name);
  topic.partition_count = -1;
  topic.replication_factor = -1;
  topic.assignments = &a;
  topic.assignment_count = 1;
  struct call call;
  memset(&call, 0, sizeof call);
  struct meta_controller *ctl = c->node[i]->controller;
  ctl->ops->create_topics(ctl, &topic, 1, false, sim_now_ns(c->w) + 30000 * NS_PER_MS,
                          topics_done, &call);
  wait_call(c, &call);
  ck_assert_int_eq(call.results[0].error_code, KERR_NONE);
  const struct meta_partition *p =
      meta_topic_partition(meta_image_topic(image_of(c, i), name, strlen(name)), 0);
  ck_assert_int_eq(p->leader, replicas[0]);
  ck_assert_int_eq(p->isr_count, count);
  return call.results[0].topic_id;
}

static const struct meta_partition *partition_of(const struct cluster *c, int i,
                                                 const char *name) {
  const struct meta_topic *t = meta_image_topic(image_of(c, i), name, strlen(name));
  ck_assert_ptr_nonnull(t);
  return meta_topic_partition(t, 0);
}

/* Runs until broker_id is fenced in the image of every node up. */
static void wait_fenced(struct cluster *c, int32_t broker_id) {
  for (int t = 0; t <= BOUND_MS; t += STEP_MS) {
    bool all = true;
    for (int i = 0; i < NODES; i++)
      if (c->node[i]) all = all && meta_image_broker(image_of(c, i), broker_id)->fenced;
    if (all) return;
    run_ms(c, STEP_MS);
  }
  ck_abort_msg("broker %d was not fenced within %d ms", broker_id, BOUND_MS);
}

/* KIP-631: a broker that stops heartbeating (its machine died) is fenced
 * once broker.session.timeout.ms (9 s) has passed, not before, and the
 * partitions it led move to the rest of their ISR, or to no leader when
 * none is left (unclean.leader.election.enable is false). */
START_TEST(a_silent_broker_is_fenced_and_loses_its_leaderships) {
  struct cluster c;
  cluster_setup(&c, 6);
  int leader = settle(&c);
  const int32_t shared[] = {4, 1}, alone[] = {4};
  create_on(&c, leader, "shared", shared, 2);
  create_on(&c, leader, "alone", alone, 1);
  settle(&c);
  node_kill(&c, NODES - 1);
  run_ms(&c, 8000); /* within its session */
  ck_assert(!meta_image_broker(image_of(&c, leader), 4)->fenced);
  wait_fenced(&c, 4);
  for (int i = 0; i < VOTERS; i++) {
    const struct meta_partition *p = partition_of(&c, i, "shared");
    ck_assert_int_eq(p->leader, 1);
    ck_assert_int_eq(p->isr_count, 1);
    ck_assert_int_eq(p->isr[0], 1);
    const struct meta_partition *q = partition_of(&c, i, "alone");
    ck_assert_int_eq(q->leader, -1);
    ck_assert_int_eq(q->isr_count, 1); /* the last in-sync replica stays */
  }
  node_restart(&c, NODES - 1); /* registers again, is unfenced once caught up */
  settle(&c);
  ck_assert(!meta_image_broker(image_of(&c, 0), 4)->fenced);
  cluster_teardown(&c);
}
END_TEST

static void shutdown_done(void *ctx) { *(bool *)ctx = true; }

/* KIP-631 controlled shutdown: a broker that shuts down cleanly asks the
 * controller (WantShutDown) to move its leaderships first; it is fenced at
 * once, not after a session. */
START_TEST(a_controlled_shutdown_moves_leaderships_first) {
  struct cluster c;
  cluster_setup(&c, 7);
  int leader = settle(&c);
  const int32_t replicas[] = {4, 2};
  create_on(&c, leader, "moving", replicas, 2);
  settle(&c);
  bool done = false;
  uint64_t began_ns = sim_now_ns(c.w);
  node_shutdown(c.node[NODES - 1], shutdown_done, &done);
  for (int n = 0; n < 1000000 && !done; n++)
    if (!sim_step(c.w)) break;
  ck_assert(done);
  ck_assert_uint_lt(sim_now_ns(c.w) - began_ns, 9000 * NS_PER_MS); /* not a session timeout */
  node_destroy(c.node[NODES - 1]);
  c.node[NODES - 1] = NULL;
  sim_node_exit(c.sim[NODES - 1]);
  const struct meta_partition *p = partition_of(&c, leader, "moving");
  ck_assert_int_eq(p->leader, 2);
  ck_assert(meta_image_broker(image_of(&c, leader), 4)->fenced);
  cluster_teardown(&c);
}
END_TEST

/* ---- KIP-730 producer id blocks ---- */

struct id_wait {
  bool done;
  int16_t error;
  int64_t id;
};

static void id_arrived(void *ctx, int16_t error, int64_t producer_id) {
  struct id_wait *w = ctx;
  ck_assert(!w->done);
  *w = (struct id_wait){true, error, producer_id};
}

/* InitProducerId's path on node i: an id, waiting for a block if need be. */
static int64_t producer_id_on(struct cluster *c, int i) {
  struct id_wait w = {0};
  int64_t id = -1;
  bool later = false;
  ck_assert_int_eq(producer_ids_take(c->node[i], &id, &later, id_arrived, &w), KERR_NONE);
  if (!later) return id;
  for (int t = 0; t <= BOUND_MS && !w.done; t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert_msg(w.done, "node %d got no producer id within %d ms", i + 1, BOUND_MS);
  ck_assert_int_eq(w.error, KERR_NONE);
  return w.id;
}

/* Brokers that are not the active controller (a follower, the observer)
 * ask it for their blocks over the controller channel (AllocateProducerIds)
 * and get ids from disjoint blocks; every image holds the watermark past
 * both. */
START_TEST(brokers_that_are_not_active_get_disjoint_producer_id_blocks) {
  struct cluster c;
  cluster_setup(&c, 8);
  int leader = settle(&c);
  int follower = follower_of(&c, leader), observer = NODES - 1;
  ck_assert(!controller_quorum_active(c.node[follower]->controller));
  int64_t a = producer_id_on(&c, follower), b = producer_id_on(&c, observer);
  ck_assert_int_ge(a, 0);
  ck_assert_int_ge(b, 0);
  int64_t block_a = a / META_PRODUCER_ID_BLOCK_SIZE, block_b = b / META_PRODUCER_ID_BLOCK_SIZE;
  ck_assert_int_ne(block_a, block_b);
  ck_assert_int_eq(producer_id_on(&c, follower), a + 1); /* the same block goes on */
  settle(&c);
  int64_t past = (block_a > block_b ? block_a : block_b) + 1;
  for (int i = 0; i < NODES; i++)
    ck_assert_int_eq(image_of(&c, i)->next_producer_id, past * META_PRODUCER_ID_BLOCK_SIZE);
  cluster_teardown(&c);
}
END_TEST

static void block_done(void *ctx, int16_t error, int64_t first_id, int32_t count) {
  struct id_wait *w = ctx;
  ck_assert(!w->done);
  ck_assert(error != KERR_NONE || count == META_PRODUCER_ID_BLOCK_SIZE);
  *w = (struct id_wait){true, error, first_id};
}

/* AllocateProducerIds as it arrives on node i's controller listener. */
static struct id_wait allocate_forwarded(struct cluster *c, int i, int32_t broker_id,
                                         int64_t broker_epoch) {
  struct id_wait w = {0};
  struct meta_controller *ctl = c->node[i]->controller;
  controller_quorum_next_call_forwarded(ctl);
  ctl->ops->allocate_producer_ids(ctl, broker_id, broker_epoch, block_done, &w);
  for (int t = 0; t <= BOUND_MS && !w.done; t += STEP_MS) run_ms(c, STEP_MS);
  ck_assert(w.done);
  return w;
}

/* As Kafka's controller: a stale or missing broker epoch, or an unknown
 * broker, is STALE_BROKER_EPOCH; a node that is not active answers
 * NOT_CONTROLLER rather than forward again; nothing is handed out. */
START_TEST(allocate_producer_ids_checks_the_broker_and_the_controller) {
  struct cluster c;
  cluster_setup(&c, 9);
  int leader = settle(&c);
  int64_t epoch = meta_image_broker(image_of(&c, leader), 2)->epoch;
  int64_t before = image_of(&c, leader)->next_producer_id;
  ck_assert_int_eq(allocate_forwarded(&c, leader, 2, epoch + 1).error, KERR_STALE_BROKER_EPOCH);
  ck_assert_int_eq(allocate_forwarded(&c, leader, 2, -1).error, KERR_STALE_BROKER_EPOCH);
  ck_assert_int_eq(allocate_forwarded(&c, leader, 9, 0).error, KERR_STALE_BROKER_EPOCH);
  ck_assert_int_eq(allocate_forwarded(&c, follower_of(&c, leader), 2, epoch).error,
                   KERR_NOT_CONTROLLER);
  ck_assert_int_eq(image_of(&c, leader)->next_producer_id, before);
  struct id_wait ok = allocate_forwarded(&c, leader, 2, epoch);
  ck_assert_int_eq(ok.error, KERR_NONE);
  ck_assert_int_eq(ok.id, before);
  ck_assert_int_eq(image_of(&c, leader)->next_producer_id,
                   before + META_PRODUCER_ID_BLOCK_SIZE);
  cluster_teardown(&c);
}
END_TEST

/* ---- AlterConfigs / IncrementalAlterConfigs (KIP-339) ---- */

static int16_t alter(struct cluster *c, int i, const char *topic,
                     const struct meta_alter_config *configs, int32_t count, bool incremental,
                     bool validate_only, char *message, size_t cap) {
  struct meta_alter_resource res = {META_RESOURCE_TOPIC, kstr_of(topic), configs, count,
                                    incremental};
  struct call call;
  memset(&call, 0, sizeof call);
  controller_quorum_alter_configs(c->node[i]->controller, &res, 1, validate_only,
                                  sim_now_ns(c->w) + 30000 * NS_PER_MS, topics_done, &call);
  ck_assert(!call.done);
  wait_call(c, &call);
  ck_assert_int_eq(call.count, 1);
  snprintf(message, cap, "%s", call.results[0].error_message);
  return call.results[0].error_code;
}

static const char *override_on(const struct cluster *c, int i, const char *topic,
                               const char *name) {
  return meta_topic_config(meta_image_topic(image_of(c, i), topic, strlen(topic)), name);
}

/* A config change made through the observer is committed by the active
 * controller as ConfigRecords and shows in every image (in the observer's
 * already when it is answered); validate_only and a bad value change
 * nothing; DELETE removes the override. */
START_TEST(config_changes_through_any_node_reach_every_image) {
  struct cluster c;
  cluster_setup(&c, 10);
  int leader = settle(&c);
  ck_assert_int_eq(create(&c, leader, "tuned", 1, NULL), KERR_NONE);
  int via = NODES - 1;
  char why[256];
  struct meta_alter_config set = {kstr_of("retention.ms"), kstr_of("3600000"),
                                  META_CONFIG_OP_SET};
  ck_assert_int_eq(alter(&c, via, "tuned", &set, 1, true, false, why, sizeof why), KERR_NONE);
  ck_assert_str_eq(override_on(&c, via, "tuned", "retention.ms"), "3600000");
  settle(&c);
  for (int i = 0; i < NODES; i++)
    ck_assert_str_eq(override_on(&c, i, "tuned", "retention.ms"), "3600000");
  struct meta_alter_config dry = {kstr_of("retention.ms"), kstr_of("1000"), META_CONFIG_OP_SET};
  ck_assert_int_eq(alter(&c, via, "tuned", &dry, 1, true, true, why, sizeof why), KERR_NONE);
  struct meta_alter_config bad = {kstr_of("retention.ms"), kstr_of("soon"), META_CONFIG_OP_SET};
  ck_assert_int_eq(alter(&c, via, "tuned", &bad, 1, true, false, why, sizeof why),
                   KERR_INVALID_CONFIG);
  ck_assert_ptr_nonnull(strstr(why, "Invalid value soon for configuration retention.ms"));
  ck_assert_int_eq(alter(&c, via, "nowhere", &set, 1, true, false, why, sizeof why),
                   KERR_UNKNOWN_TOPIC_OR_PARTITION);
  /* APPEND past what a value holds (63 bytes), in two steps. */
  struct meta_alter_config grow = {kstr_of("leader.replication.throttled.replicas"),
                                   kstr_of("0:1,1:1,2:1,3:1,4:1,5:1,6:1,7:1"),
                                   META_CONFIG_OP_APPEND};
  ck_assert_int_eq(alter(&c, via, "tuned", &grow, 1, true, false, why, sizeof why), KERR_NONE);
  grow.value = kstr_of("8:1,9:1,10:1,11:1,12:1,13:1,14:1,15:1");
  ck_assert_int_eq(alter(&c, via, "tuned", &grow, 1, true, false, why, sizeof why),
                   KERR_INVALID_CONFIG);
  ck_assert_str_eq(override_on(&c, via, "tuned", "leader.replication.throttled.replicas"),
                   "0:1,1:1,2:1,3:1,4:1,5:1,6:1,7:1");
  settle(&c);
  ck_assert_str_eq(override_on(&c, leader, "tuned", "retention.ms"), "3600000");
  struct meta_alter_config del = {kstr_of("retention.ms"), KSTR_NULL, META_CONFIG_OP_DELETE};
  ck_assert_int_eq(
      alter(&c, follower_of(&c, leader), "tuned", &del, 1, true, false, why, sizeof why),
      KERR_NONE);
  settle(&c);
  for (int i = 0; i < NODES; i++)
    ck_assert_ptr_null(override_on(&c, i, "tuned", "retention.ms"));
  cluster_teardown(&c);
}
END_TEST

/* ---- local storage follows snapshots and replays ---- */

static int16_t delete_topic(struct cluster *c, int i, const char *name) {
  struct meta_delete_topic d = {.name = kstr_of(name)};
  struct call call;
  memset(&call, 0, sizeof call);
  struct meta_controller *ctl = c->node[i]->controller;
  ctl->ops->delete_topics(ctl, &d, 1, sim_now_ns(c->w) + 30000 * NS_PER_MS, topics_done, &call);
  wait_call(c, &call);
  return call.results[0].error_code;
}

struct dir_look {
  const char *name;
  bool found;
};

static void dir_seen(void *ctx, const char *name, bool is_dir) {
  struct dir_look *look = ctx;
  if (is_dir && strcmp(name, look->name) == 0) look->found = true;
}

/* Node i's log dir holds a directory called name. */
static bool dir_exists(const struct cluster *c, int i, const char *name) {
  struct env *env = sim_node_env(c->sim[i]);
  struct dir_look look = {name, false};
  ck_assert_int_eq(env->list(env, "/logs", dir_seen, &look), 0);
  return look.found;
}

/* Enough topics through node i that every voter takes a snapshot and trims
 * its log past what a node isolated now holds. */
static void churn(struct cluster *c, int i, int count) {
  char name[32];
  for (int k = 0; k < count; k++) {
    snprintf(name, sizeof name, "churn-%03d", k);
    ck_assert_int_eq(create(c, i, name, 1, NULL), KERR_NONE);
  }
}

/* KIP-630: a node that was away while a topic it hosts was deleted, and
 * that catches up by installing the leader's snapshot (the log past it is
 * gone), removes that topic and its directory: the new image lacks it. */
START_TEST(a_snapshot_install_removes_the_topics_the_image_lacks) {
  struct cluster c;
  cluster_setup(&c, 11);
  int leader = settle(&c);
  int away = follower_of(&c, leader);
  const int32_t replicas[] = {away + 1};
  create_on(&c, leader, "doomed", replicas, 1);
  settle(&c);
  ck_assert(dir_exists(&c, away, "doomed-0"));
  int64_t behind = status(&c, away).end_offset;
  sim_net_isolate(c.w, c.sim[away]);
  unsigned majority = ALL & ~(1u << away);
  int now = -1;
  for (int t = 0; t < BOUND_MS && (now = leader_of(&c, majority)) < 0; t += STEP_MS)
    run_ms(&c, STEP_MS);
  ck_assert_int_ge(now, 0);
  ck_assert_int_eq(delete_topic(&c, now, "doomed"), KERR_NONE);
  churn(&c, now, RAFT_SNAPSHOT_ENTRIES / 2);
  ck_assert_int_gt(raft_log_start_offset(raft_node_core(c.node[now])), behind);
  sim_net_heal_all(c.w);
  settle(&c);
  ck_assert_uint_ge(c.node[away]->raft->snap.installed, 1);
  ck_assert_ptr_null(meta_image_topic(image_of(&c, away), "doomed", 6));
  ck_assert_ptr_null(topic_find(c.node[away], "doomed", 6));
  ck_assert(!dir_exists(&c, away, "doomed-0"));
  cluster_teardown(&c);
}
END_TEST

struct file_look {
  const char *name;
  bool found;
};

static void file_seen(void *ctx, const char *name, bool is_dir) {
  struct file_look *look = ctx;
  if (!is_dir && strcmp(name, look->name) == 0) look->found = true;
}

static bool file_exists(const struct cluster *c, int i, const char *dir, const char *name) {
  struct env *env = sim_node_env(c->sim[i]);
  struct file_look look = {name, false};
  if (env->list(env, dir, file_seen, &look) != 0) return false;
  return look.found;
}

/* A restart rebuilds the image from the node's snapshot and the log above
 * it. With a topic deleted and created again under the same name after the
 * snapshot, the directory on disk belongs to the new topic: the replay must
 * not publish the snapshot's old topic on its own and then delete the
 * directory for it (Kafka publishes only once the loader has caught up).
 * A file the test leaves in the directory shows it was never removed. */
START_TEST(a_restart_replaying_a_delete_and_recreate_keeps_the_new_topic) {
  struct cluster c;
  cluster_setup(&c, 12);
  int leader = settle(&c);
  int host = follower_of(&c, leader);
  const int32_t replicas[] = {host + 1};
  struct kuuid old = create_on(&c, leader, "phoenix", replicas, 1);
  churn(&c, leader, RAFT_SNAPSHOT_ENTRIES / 3); /* a snapshot holding the old topic */
  settle(&c);
  ck_assert_int_gt(raft_log_start_offset(raft_node_core(c.node[host])), 0);
  ck_assert_int_eq(delete_topic(&c, leader, "phoenix"), KERR_NONE);
  struct kuuid reborn = create_on(&c, leader, "phoenix", replicas, 1);
  ck_assert(memcmp(&old, &reborn, sizeof old) != 0);
  settle(&c);
  struct env *env = sim_node_env(c.sim[host]);
  env_file f;
  ck_assert_int_eq(env->open(env, "/logs/phoenix-0/left-by-the-test", ENV_O_CREATE, &f), 0);
  env->file_close(env, f);
  node_kill(&c, host);
  node_restart(&c, host);
  settle(&c);
  struct topic *t = topic_find(c.node[host], "phoenix", 7);
  ck_assert_ptr_nonnull(t);
  ck_assert(memcmp(&t->id, &reborn, sizeof reborn) == 0);
  ck_assert(file_exists(&c, host, "/logs/phoenix-0", "left-by-the-test"));
  cluster_teardown(&c);
}
END_TEST

/* A broker that restarts (a new incarnation) registers again before its
 * old session expires: what the old registration led moves away at once,
 * as from a fenced broker (the new process holds none of it until it has
 * caught up), not after broker.session.timeout.ms; once the new
 * registration is unfenced it leads again where it is the last in-sync
 * replica. */
START_TEST(a_reregistration_moves_the_old_leaderships) {
  struct cluster c;
  cluster_setup(&c, 13);
  int leader = settle(&c);
  const int32_t shared[] = {4, 1}, alone[] = {4};
  create_on(&c, leader, "shared", shared, 2);
  create_on(&c, leader, "alone", alone, 1);
  settle(&c);
  int64_t old_epoch = meta_image_broker(image_of(&c, leader), 4)->epoch;
  uint64_t killed_ns = sim_now_ns(c.w);
  node_kill(&c, NODES - 1);
  node_restart(&c, NODES - 1);
  for (int t = 0;
       t <= BOUND_MS && meta_image_broker(image_of(&c, leader), 4)->epoch == old_epoch;
       t += STEP_MS)
    run_ms(&c, STEP_MS);
  const struct meta_image *image = image_of(&c, leader);
  ck_assert_int_gt(meta_image_broker(image, 4)->epoch, old_epoch);
  ck_assert_uint_lt(sim_now_ns(c.w) - killed_ns,
                    (uint64_t)c.node[leader]->cfg.broker_session_timeout_ms * NS_PER_MS);
  const struct meta_partition *p = partition_of(&c, leader, "shared");
  ck_assert_int_eq(p->leader, 1);
  ck_assert_int_eq(p->isr_count, 1);
  ck_assert_int_ne(partition_of(&c, leader, "alone")->leader, 4);
  settle(&c); /* the new registration caught up and is unfenced */
  for (int i = 0; i < NODES; i++) {
    ck_assert_int_eq(partition_of(&c, i, "shared")->leader, 1);
    ck_assert_int_eq(partition_of(&c, i, "alone")->leader, 4);
  }
  cluster_teardown(&c);
}
END_TEST

/* One change larger than the raft core's inline ring (512 entries): the
 * creation of 900 partitions is 902 records in KIP-868 markers, which no
 * snapshot may cut. Every node's in-memory log grows to hold it (the
 * leader's by proposing, the followers' by fetching), every image gets the
 * topic whole, and a voter that loses power reads it back from its log. */
START_TEST(a_change_larger_than_the_inline_log_commits_everywhere) {
  struct cluster c;
  cluster_setup(&c, 17);
  int leader = settle(&c);
  struct kuuid id;
  ck_assert_int_eq(create(&c, leader, "wide", 900, &id), KERR_NONE);
  settle(&c);
  everywhere(&c, "wide", id, 900);
  for (int i = 0; i < VOTERS; i++)
    ck_assert_uint_gt(raft_log_capacity(raft_node_core(c.node[i])), RAFT_LOG_ENTRIES_INITIAL);
  int follower = follower_of(&c, leader);
  node_kill(&c, follower);
  node_restart(&c, follower);
  settle(&c);
  everywhere(&c, "wide", id, 900);
  for (int b = 1; b <= NODES; b++)
    ck_assert(!meta_image_broker(image_of(&c, leader), b)->fenced);
  cluster_teardown(&c);
}
END_TEST

static int16_t alter_broker(struct cluster *c, int i, const char *resource,
                            const struct meta_alter_config *configs, int32_t count) {
  struct meta_alter_resource res = {META_RESOURCE_BROKER, kstr_of(resource), configs, count,
                                    true};
  struct call call;
  memset(&call, 0, sizeof call);
  controller_quorum_alter_configs(c->node[i]->controller, &res, 1, false,
                                  sim_now_ns(c->w) + 30000 * NS_PER_MS, topics_done, &call);
  wait_call(c, &call);
  return call.results[0].error_code;
}

/* Dynamic broker configs: for one broker (its id) or for all (""), stored
 * as ConfigRecords of resource type broker in every image, and kept by a
 * snapshot; a name the catalog does not know, a bad value or a resource
 * that is not a broker id are refused. */
START_TEST(dynamic_broker_configs_reach_every_image) {
  struct cluster c;
  cluster_setup(&c, 14);
  int leader = settle(&c);
  int via = follower_of(&c, leader);
  struct meta_alter_config one = {kstr_of("log.cleaner.threads"), kstr_of("2"),
                                  META_CONFIG_OP_SET};
  struct meta_alter_config all = {kstr_of("log.cleaner.threads"), kstr_of("3"),
                                  META_CONFIG_OP_SET};
  ck_assert_int_eq(alter_broker(&c, via, "2", &one, 1), KERR_NONE);
  ck_assert_int_eq(alter_broker(&c, NODES - 1, "", &all, 1), KERR_NONE);
  struct meta_alter_config unknown = {kstr_of("no.such.config"), kstr_of("1"),
                                      META_CONFIG_OP_SET};
  struct meta_alter_config bad = {kstr_of("log.cleaner.threads"), kstr_of("many"),
                                  META_CONFIG_OP_SET};
  ck_assert_int_eq(alter_broker(&c, via, "2", &unknown, 1), KERR_INVALID_CONFIG);
  ck_assert_int_eq(alter_broker(&c, via, "2", &bad, 1), KERR_INVALID_CONFIG);
  ck_assert_int_eq(alter_broker(&c, via, "two", &one, 1), KERR_INVALID_REQUEST);
  settle(&c);
  for (int i = 0; i < NODES; i++) {
    const struct meta_image *image = image_of(&c, i);
    ck_assert_str_eq(meta_image_broker_config(image, "2", "log.cleaner.threads"), "2");
    ck_assert_str_eq(meta_image_broker_config(image, "", "log.cleaner.threads"), "3");
    ck_assert_ptr_null(meta_image_broker_config(image, "1", "log.cleaner.threads"));
  }
  struct meta_delta records;
  meta_delta_init(&records);
  meta_snapshot_records(image_of(&c, leader), 0, &records);
  int kept = 0;
  for (int32_t i = 0; i < records.count; i++)
    kept += records.records[i].type == META_CONFIG_RECORD &&
            records.records[i].config.resource_type == META_RESOURCE_BROKER;
  ck_assert_int_eq(kept, 2);
  meta_delta_free(&records);
  struct meta_alter_config del = {kstr_of("log.cleaner.threads"), KSTR_NULL,
                                  META_CONFIG_OP_DELETE};
  ck_assert_int_eq(alter_broker(&c, leader, "2", &del, 1), KERR_NONE);
  settle(&c);
  ck_assert_ptr_null(meta_image_broker_config(image_of(&c, via), "2", "log.cleaner.threads"));
  cluster_teardown(&c);
}
END_TEST

static Suite *controller_quorum_suite(void) {
  Suite *s = suite_create("controller_quorum");
  TCase *tc = tcase_create("controller_quorum");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, brokers_register_through_the_active_controller);
  tcase_add_test(tc, a_topic_created_through_any_node_reaches_every_image);
  tcase_add_test(tc, the_next_leader_takes_over_and_nothing_committed_is_lost);
  tcase_add_test(tc, a_transaction_cut_by_a_new_leader_is_dropped);
  tcase_add_test(tc, a_partitioned_leader_answers_not_controller);
  tcase_add_test(tc, a_silent_broker_is_fenced_and_loses_its_leaderships);
  tcase_add_test(tc, a_controlled_shutdown_moves_leaderships_first);
  tcase_add_test(tc, brokers_that_are_not_active_get_disjoint_producer_id_blocks);
  tcase_add_test(tc, allocate_producer_ids_checks_the_broker_and_the_controller);
  tcase_add_test(tc, config_changes_through_any_node_reach_every_image);
  tcase_add_test(tc, a_snapshot_install_removes_the_topics_the_image_lacks);
  tcase_add_test(tc, a_restart_replaying_a_delete_and_recreate_keeps_the_new_topic);
  tcase_add_test(tc, a_reregistration_moves_the_old_leaderships);
  tcase_add_test(tc, dynamic_broker_configs_reach_every_image);
  tcase_add_test(tc, a_change_larger_than_the_inline_log_commits_everywhere);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(controller_quorum_suite)
