/* The group coordinator on three real KRaft nodes (__consumer_offsets of
 * replication factor 3): an offset commit is answered only once every ISR
 * member has it (Kafka appends commits with acks=all), and a commit that was
 * answered is what the next coordinator answers after the first one dies
 * (it loads the partition before answering). */
#include <stdlib.h>
#include <string.h>

#include "client/kclient.h"
#include "cluster_fixture.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "sim/world.h"
#include "testing.h"

enum { NODES = 3, STEP_MS = 10, BOUND_MS = 60000 };

static const char GROUP[] = "g";
/* The committed positions are of an existing partition: the offsets
 * topic's own (OffsetCommit refuses unknown partitions). */
static const char TOPIC[] = "__consumer_offsets";

struct rig {
  struct cluster_fixture f;
  struct sim_node *client_node;
  struct net_dispatch net;
  struct kclient client;
};

static void offsets_rf3(void *ctx, int i, struct config *cfg) {
  (void)ctx, (void)i;
  cfg->offsets_topic_replication_factor = 3;
  cfg->offsets_topic_num_partitions = 1;
}

static void run_ms(struct rig *r, uint64_t ms) { cluster_fixture_run_ms(&r->f, ms); }

static void setup(struct rig *r, uint64_t seed) {
  memset(r, 0, sizeof *r);
  cluster_fixture_init(&r->f, seed, NODES, NODES);
  r->f.configure = offsets_rf3;
  sim_world_set_verbose(r->f.w, getenv("GROUP_VERBOSE") != NULL);
  r->client_node = sim_node_add(r->f.w, 100, "client1");
  net_dispatch_init(&r->net, sim_node_env(r->client_node));
  kclient_init(&r->client, &r->net);
  cluster_fixture_start(&r->f);
  cluster_fixture_registered(&r->f, BOUND_MS);
}

static void teardown(struct rig *r) {
  kclient_close_all(&r->client);
  cluster_fixture_free(&r->f);
  net_dispatch_free(&r->net);
}

static struct kconn *conn_to(struct rig *r, int i) {
  struct kconn *conn = kclient_conn(&r->client, sim_node_host(r->f.sim[i]), 9092, "c");
  for (int t = 0; t <= BOUND_MS && !kconn_connected(conn); t += STEP_MS) {
    kconn_connect(conn);
    run_ms(r, STEP_MS);
  }
  ck_assert(kconn_connected(conn));
  return conn;
}

struct answer {
  bool done;
  int16_t error;
  int32_t node_id;
  int64_t offset;
};

static void enc_find(struct wr *w, int16_t v, const void *m) {
  find_coordinator_request_encode(w, v, m);
}

static void on_find(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  struct find_coordinator_response m;
  a->done = true;
  a->error = err == 0 && find_coordinator_response_decode(body, 3, &m, arena)
                 ? m.error_code
                 : KERR_UNKNOWN_SERVER_ERROR;
  if (a->error == KERR_NONE) a->node_id = m.node_id;
}

/* The coordinator's node index, asked of node i until it answers one
 * (the first ask creates __consumer_offsets). */
static int coordinator(struct rig *r, int i) {
  for (int t = 0; t <= BOUND_MS; t += 100) {
    struct find_coordinator_request m;
    find_coordinator_request_init(&m);
    m.key = kstr_of(GROUP);
    struct answer a = {0};
    ck_assert_int_eq(
        kconn_send(conn_to(r, i), API_FIND_COORDINATOR, 3, enc_find, &m, on_find, &a), 0);
    for (int s = 0; s <= BOUND_MS && !a.done; s += STEP_MS) run_ms(r, STEP_MS);
    if (a.error == KERR_NONE) return a.node_id - 1;
    run_ms(r, 100);
  }
  ck_abort_msg("no coordinator");
  return -1;
}

static void enc_commit(struct wr *w, int16_t v, const void *m) {
  offset_commit_request_encode(w, v, m);
}

static void on_commit(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  struct offset_commit_response m;
  a->done = true;
  a->error = KERR_UNKNOWN_SERVER_ERROR;
  if (err == 0 && offset_commit_response_decode(body, 7, &m, arena) && m.topics_count == 1 &&
      m.topics[0].partitions_count == 1)
    a->error = m.topics[0].partitions[0].error_code;
}

/* A simple commit (generation -1, no member: the group has none). */
static void commit_send(struct rig *r, int i, int64_t offset, struct answer *a) {
  struct offset_commit_request_offset_commit_request_partition p;
  offset_commit_request_offset_commit_request_partition_init(&p);
  p.partition_index = 0;
  p.committed_offset = offset;
  p.committed_metadata = kstr_of("");
  struct offset_commit_request_offset_commit_request_topic t;
  offset_commit_request_offset_commit_request_topic_init(&t);
  t.name = kstr_of(TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  struct offset_commit_request m;
  offset_commit_request_init(&m);
  m.group_id = kstr_of(GROUP);
  m.generation_id_or_member_epoch = -1;
  m.member_id = kstr_of("");
  m.topics = &t;
  m.topics_count = 1;
  *a = (struct answer){0};
  ck_assert_int_eq(
      kconn_send(conn_to(r, i), API_OFFSET_COMMIT, 7, enc_commit, &m, on_commit, a), 0);
}

static void enc_fetch(struct wr *w, int16_t v, const void *m) {
  offset_fetch_request_encode(w, v, m);
}

static void on_fetch(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct answer *a = ctx;
  struct offset_fetch_response m;
  a->done = true;
  a->error = KERR_UNKNOWN_SERVER_ERROR;
  if (err != 0 || !offset_fetch_response_decode(body, 7, &m, arena)) return;
  a->error = m.error_code;
  if (m.topics_count == 1 && m.topics[0].partitions_count == 1) {
    a->offset = m.topics[0].partitions[0].committed_offset;
    if (a->error == KERR_NONE) a->error = m.topics[0].partitions[0].error_code;
  }
}

static struct answer fetch_offset(struct rig *r, int i) {
  int32_t partition = 0;
  struct offset_fetch_request_offset_fetch_request_topic t;
  offset_fetch_request_offset_fetch_request_topic_init(&t);
  t.name = kstr_of(TOPIC);
  t.partition_indexes = &partition;
  t.partition_indexes_count = 1;
  struct offset_fetch_request m;
  offset_fetch_request_init(&m);
  m.group_id = kstr_of(GROUP);
  m.topics = &t;
  m.topics_count = 1;
  struct answer a = {0};
  /* The new coordinator answers COORDINATOR_LOAD_IN_PROGRESS until its
   * load is done: asked again, as clients do. */
  for (int waited = 0; waited <= BOUND_MS; waited += 100) {
    a = (struct answer){0};
    ck_assert_int_eq(
        kconn_send(conn_to(r, i), API_OFFSET_FETCH, 7, enc_fetch, &m, on_fetch, &a), 0);
    for (int s = 0; s <= BOUND_MS && !a.done; s += STEP_MS) run_ms(r, STEP_MS);
    ck_assert(a.done);
    if (a.error != KERR_COORDINATOR_LOAD_IN_PROGRESS) break;
    run_ms(r, 100);
  }
  return a;
}

START_TEST(a_commit_waits_for_the_isr_and_survives_the_coordinator) {
  struct rig r;
  setup(&r, 7);
  int c = coordinator(&r, 0);
  run_ms(&r, 3000); /* the followers of __consumer_offsets-0 join its ISR */
  /* Every broker names the coordinator (from its metadata), not only the
   * coordinator itself: clients ask whichever broker they know. */
  for (int i = 0; i < NODES; i++) ck_assert_int_eq(coordinator(&r, i), c);
  struct answer a;
  commit_send(&r, c, 10, &a);
  for (int s = 0; s <= BOUND_MS && !a.done; s += STEP_MS) run_ms(&r, STEP_MS);
  ck_assert(a.done);
  ck_assert_int_eq(a.error, KERR_NONE);
  /* Both followers stop: the commit is stored on the leader only, and not
   * answered while they are away. */
  for (int i = 0; i < NODES; i++)
    if (i != c) sim_node_pause(r.f.sim[i]);
  commit_send(&r, c, 20, &a);
  run_ms(&r, 1000);
  ck_assert_msg(!a.done, "a commit no follower has was answered %d", a.error);
  for (int i = 0; i < NODES; i++) sim_node_resume(r.f.sim[i]);
  for (int s = 0; s <= BOUND_MS && !a.done; s += STEP_MS) run_ms(&r, STEP_MS);
  ck_assert(a.done);
  ck_assert_int_eq(a.error, KERR_NONE);
  /* The coordinator dies; the next one answers the commit. */
  cluster_fixture_kill(&r.f, c);
  int other = (c + 1) % NODES, next = -1;
  for (int t = 0; t <= BOUND_MS && (next < 0 || next == c); t += 500) {
    next = coordinator(&r, other);
    if (next == c) run_ms(&r, 500);
  }
  ck_assert_int_ne(next, c);
  struct answer f = fetch_offset(&r, next);
  ck_assert_int_eq(f.error, KERR_NONE);
  ck_assert_int_eq(f.offset, 20);
  teardown(&r);
}
END_TEST

static Suite *group_failover_suite(void) {
  Suite *s = suite_create("group_failover");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_commit_waits_for_the_isr_and_survives_the_coordinator);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(group_failover_suite)
