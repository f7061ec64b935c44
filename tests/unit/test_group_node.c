/* The group coordinator in a real node, in the simulated world, over raw
 * Kafka requests: FindCoordinator creates __consumer_offsets, a JoinGroup
 * waits for its rebalance (parked), a connection that closes takes its
 * parked join back, sessions end on virtual time, an OffsetCommit answered
 * in fsync-before-ack mode survives a power loss and is loaded again after
 * the restart. No sleeps: the virtual clock runs. */
#include <stdio.h>
#include <string.h>

#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/node.h"
#include "server/server.h"
#include "sim/world.h"
#include "testing.h"

enum { CONNS = 2, PENDING_MAX = 8, ANSWERS_MAX = 32, BODY_BYTES_MAX = 4096 };

struct answer {
  int16_t api_key;
  int16_t version;
  size_t len;
  uint8_t body[BODY_BYTES_MAX]; /* after the response header */
};

struct tconn {
  env_conn_id id;
  bool connected, closed;
  int32_t next_correlation_id;
  struct {
    int32_t correlation_id;
    int16_t api_key, version;
  } pending[PENDING_MAX];
  int pending_count;
  struct answer answers[ANSWERS_MAX];
  int answer_count;
};

static struct {
  struct sim_world *w;
  struct sim_node *bnode, *cnode;
  struct env *cenv;
  struct node *node;
  struct tconn conns[CONNS];
  struct arena arena;
} rig;

static struct tconn *tconn_by_id(env_conn_id id) {
  for (int i = 0; i < CONNS; i++)
    if (rig.conns[i].id == id) return &rig.conns[i];
  return NULL;
}

static void on_connected(void *ctx, env_conn_id id, int err) {
  (void)ctx;
  struct tconn *c = tconn_by_id(id);
  ck_assert(c != NULL && err == 0);
  c->connected = true;
}

static void on_closed(void *ctx, env_conn_id id, int err) {
  (void)ctx, (void)err;
  struct tconn *c = tconn_by_id(id);
  if (c) c->closed = true;
}

static void on_frame(void *ctx, env_conn_id id, uint8_t *data, size_t len) {
  (void)ctx;
  struct tconn *c = tconn_by_id(id);
  ck_assert(c != NULL && c->pending_count > 0 && c->answer_count < ANSWERS_MAX);
  struct rd r;
  rd_init(&r, data, len);
  ck_assert_int_eq(rd_i32(&r), c->pending[0].correlation_id); /* in order */
  struct answer *a = &c->answers[c->answer_count++];
  a->api_key = c->pending[0].api_key;
  a->version = c->pending[0].version;
  if (api_response_header_version(a->api_key, a->version) >= 1) rd_skip_tagged_fields(&r);
  a->len = rd_left(&r);
  ck_assert_int_le(a->len, BODY_BYTES_MAX);
  memcpy(a->body, r.p, a->len);
  memmove(&c->pending[0], &c->pending[1], (size_t)(--c->pending_count) * sizeof c->pending[0]);
  free(data);
}

typedef void (*encode_fn)(struct wr *w, int16_t version, const void *msg);

static int tsend(struct tconn *c, int16_t api_key, int16_t version, encode_fn encode,
                 const void *msg) {
  ck_assert(c->connected && !c->closed && c->pending_count < PENDING_MAX);
  int32_t correlation_id = ++c->next_correlation_id;
  struct wr w;
  wr_init(&w);
  wr_i16(&w, api_key);
  wr_i16(&w, version);
  wr_i32(&w, correlation_id);
  wr_string(&w, kstr_of("tester"), false);
  if (api_request_header_version(api_key, version) >= 2) wr_uvarint(&w, 0);
  encode(&w, version, msg);
  struct env_iov iov[8];
  int n = wr_iov(&w, 0, iov, 8);
  ck_assert_int_eq(rig.cenv->send(rig.cenv, c->id, iov, n), 0);
  wr_free(&w);
  c->pending[c->pending_count].correlation_id = correlation_id;
  c->pending[c->pending_count].api_key = api_key;
  c->pending[c->pending_count].version = version;
  c->pending_count++;
  return c->answer_count + c->pending_count - 1;
}

static void run_ms(uint64_t ms) { sim_run_until(rig.w, sim_now_ns(rig.w) + ms * NS_PER_MS); }

static struct answer *await(struct tconn *c, int index, uint64_t ms_max) {
  for (uint64_t t = 0; t < ms_max && c->answer_count <= index; t++) run_ms(1);
  ck_assert_int_gt(c->answer_count, index);
  return &c->answers[index];
}

static void node_up(void) {
  struct config cfg;
  config_defaults(&cfg);
  cfg.node_id = 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  snprintf(cfg.listeners[0].host, sizeof cfg.listeners[0].host, "broker1");
  cfg.log_flush_interval_messages = 1; /* fsync before acks: commits too */
  cfg.group_initial_rebalance_delay_ms = 0;
  cfg.offsets_topic_num_partitions = 5;
  ck_assert_int_eq(node_create(sim_node_env(rig.bnode), &cfg, &rig.node), 0);
  ck_assert_int_eq(node_start(rig.node), 0);
}

static void connect_all(void) {
  for (int i = 0; i < CONNS; i++) {
    memset(&rig.conns[i], 0, sizeof rig.conns[i]);
    ck_assert_int_eq(rig.cenv->connect(rig.cenv, "broker1", 9092, 1 << 24, &rig.conns[i].id),
                     0);
  }
  run_ms(100);
  for (int i = 0; i < CONNS; i++) ck_assert(rig.conns[i].connected);
}

static void setup(void) {
  memset(&rig, 0, sizeof rig);
  arena_init(&rig.arena);
  rig.w = sim_world_create(7);
  sim_world_set_verbose(rig.w, getenv("VERBOSE") != NULL);
  rig.bnode = sim_node_add(rig.w, 1, "broker1");
  rig.cnode = sim_node_add(rig.w, 100, "client1");
  rig.cenv = sim_node_env(rig.cnode);
  node_up();
  static const struct env_net_handler handler = {
      .connected = on_connected, .frame = on_frame, .closed = on_closed};
  rig.cenv->net_handler_set(rig.cenv, &handler);
  connect_all();
}

static void teardown(void) {
  if (rig.node) {
    sim_node_crash(rig.bnode);
    node_destroy(rig.node);
  }
  arena_free(&rig.arena);
  sim_world_destroy(rig.w);
}

/* ---- requests ---- */

static void enc_find(struct wr *w, int16_t v, const void *m) {
  find_coordinator_request_encode(w, v, m);
}
static void enc_join(struct wr *w, int16_t v, const void *m) {
  join_group_request_encode(w, v, m);
}
static void enc_sync(struct wr *w, int16_t v, const void *m) {
  sync_group_request_encode(w, v, m);
}
static void enc_heartbeat(struct wr *w, int16_t v, const void *m) {
  heartbeat_request_encode(w, v, m);
}
static void enc_commit(struct wr *w, int16_t v, const void *m) {
  offset_commit_request_encode(w, v, m);
}
static void enc_list(struct wr *w, int16_t v, const void *m) {
  list_groups_request_encode(w, v, m);
}
static void enc_fetch(struct wr *w, int16_t v, const void *m) {
  offset_fetch_request_encode(w, v, m);
}

static struct find_coordinator_response find(struct tconn *c, int16_t version,
                                             const char *group) {
  struct find_coordinator_request m;
  find_coordinator_request_init(&m);
  struct kstr keys[2] = {kstr_of(group), KSTR_LIT("other")};
  m.key = keys[0];
  m.coordinator_keys = keys;
  m.coordinator_keys_count = 2;
  struct answer *a = await(c, tsend(c, API_FIND_COORDINATOR, version, enc_find, &m), 1000);
  struct rd r;
  rd_init(&r, a->body, a->len);
  struct find_coordinator_response resp;
  ck_assert(find_coordinator_response_decode(&r, version, &resp, &rig.arena));
  return resp;
}

static int join_send(struct tconn *c, const char *member_id) {
  static const struct join_group_request_join_group_request_protocol protocol = {
      {"range", 5}, {(const uint8_t *)"\0\1\0\0\0\1\0\1t\377\377\377\377", 13}};
  struct join_group_request m;
  join_group_request_init(&m);
  m.group_id = KSTR_LIT("test-group");
  m.session_timeout_ms = 10000;
  m.rebalance_timeout_ms = 30000;
  m.member_id = kstr_of(member_id);
  m.protocol_type = KSTR_LIT("consumer");
  m.protocols = (struct join_group_request_join_group_request_protocol *)&protocol;
  m.protocols_count = 1;
  return tsend(c, API_JOIN_GROUP, 5, enc_join, &m);
}

static struct join_group_response join_read(struct answer *a) {
  struct rd r;
  rd_init(&r, a->body, a->len);
  struct join_group_response resp;
  ck_assert(join_group_response_decode(&r, 5, &resp, &rig.arena));
  return resp;
}

/* The KIP-394 round trip, then the join itself (answered or not yet). */
static int join_new(struct tconn *c, char *id_out) {
  struct join_group_response first = join_read(await(c, join_send(c, ""), 1000));
  ck_assert_int_eq(first.error_code, KERR_MEMBER_ID_REQUIRED);
  ck_assert_int_gt(first.member_id.len, 0);
  memcpy(id_out, first.member_id.ptr, (size_t)first.member_id.len);
  id_out[first.member_id.len] = '\0';
  return join_send(c, id_out);
}

static int16_t sync_group(struct tconn *c, const char *member_id, int32_t generation,
                          bool leader) {
  struct sync_group_request_sync_group_request_assignment as = {
      kstr_of(member_id), {(const uint8_t *)"assigned", 8}};
  struct sync_group_request m;
  sync_group_request_init(&m);
  m.group_id = KSTR_LIT("test-group");
  m.generation_id = generation;
  m.member_id = kstr_of(member_id);
  m.assignments = leader ? &as : NULL;
  m.assignments_count = leader ? 1 : 0;
  struct answer *a = await(c, tsend(c, API_SYNC_GROUP, 3, enc_sync, &m), 1000);
  struct rd r;
  rd_init(&r, a->body, a->len);
  struct sync_group_response resp;
  ck_assert(sync_group_response_decode(&r, 3, &resp, &rig.arena));
  return resp.error_code;
}

static int16_t heartbeat(struct tconn *c, const char *member_id, int32_t generation) {
  struct heartbeat_request m;
  heartbeat_request_init(&m);
  m.group_id = KSTR_LIT("test-group");
  m.generation_id = generation;
  m.member_id = kstr_of(member_id);
  struct answer *a = await(c, tsend(c, API_HEARTBEAT, 3, enc_heartbeat, &m), 1000);
  struct rd r;
  rd_init(&r, a->body, a->len);
  struct heartbeat_response resp;
  ck_assert(heartbeat_response_decode(&r, 3, &resp, &rig.arena));
  return resp.error_code;
}

/* Until FindCoordinator says this node (the topic is created meanwhile). */
static void coordinator_ready(struct tconn *c) {
  struct find_coordinator_response r = find(c, 3, "test-group");
  for (int i = 0; i < 100 && r.error_code == KERR_COORDINATOR_NOT_AVAILABLE; i++) {
    run_ms(10);
    r = find(c, 3, "test-group");
  }
  ck_assert_int_eq(r.error_code, KERR_NONE);
}

START_TEST(find_coordinator_creates_the_offsets_topic) {
  struct tconn *c = &rig.conns[0];
  struct find_coordinator_response r = find(c, 3, "test-group");
  ck_assert_int_eq(r.error_code, KERR_COORDINATOR_NOT_AVAILABLE); /* created meanwhile */
  coordinator_ready(c);
  struct topic *t = topic_find(rig.node, OFFSETS_TOPIC, strlen(OFFSETS_TOPIC));
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(t->partition_count, 5);
  r = find(c, 4, "test-group"); /* batched keys (KIP-699) */
  ck_assert_int_eq(r.coordinators_count, 2);
  ck_assert_int_eq(r.coordinators[0].error_code, KERR_NONE);
  ck_assert(kstr_eq(r.coordinators[0].key, "test-group"));
  ck_assert_int_eq(r.coordinators[1].node_id, 1);
  ck_assert_int_eq(r.coordinators[1].port, 9092);
}
END_TEST

START_TEST(parked_join_cancelled_by_its_connection) {
  struct tconn *a = &rig.conns[0], *b = &rig.conns[1];
  coordinator_ready(a);
  char ida[256], idb[256];
  struct join_group_response ja = join_read(await(a, join_new(a, ida), 1000));
  ck_assert_int_eq(ja.error_code, KERR_NONE);
  ck_assert_int_eq(ja.generation_id, 1);
  ck_assert_int_eq(sync_group(a, ida, 1, true), KERR_NONE);
  /* b's join waits for a to rejoin: parked. */
  int bj = join_new(b, idb);
  run_ms(500);
  ck_assert_int_eq(b->answer_count, bj);
  ck_assert_int_eq(rig.node->groups->gc.groups[0]->state, GROUP_PREPARING_REBALANCE);
  rig.cenv->close(rig.cenv, b->id); /* b goes: its parked join is cancelled */
  run_ms(100);
  ck_assert_int_eq(heartbeat(a, ida, 1), KERR_REBALANCE_IN_PROGRESS);
  struct join_group_response ja2 = join_read(await(a, join_send(a, ida), 1000));
  ck_assert_int_eq(ja2.error_code, KERR_NONE);
  ck_assert_int_eq(ja2.generation_id, 2);
  ck_assert_int_eq(ja2.members_count, 2); /* b had joined; its session decides */
  ck_assert_int_eq(sync_group(a, ida, 2, true), KERR_NONE);
  /* a heartbeats, b cannot: after b's session a is told to rejoin. */
  int16_t err = KERR_NONE;
  for (int i = 0; i < 10 && err == KERR_NONE; i++) {
    run_ms(2000);
    err = heartbeat(a, ida, 2);
  }
  ck_assert_int_eq(err, KERR_REBALANCE_IN_PROGRESS);
  struct join_group_response ja3 = join_read(await(a, join_send(a, ida), 1000));
  ck_assert_int_eq(ja3.generation_id, 3);
  ck_assert_int_eq(ja3.members_count, 1);
}
END_TEST

static int16_t commit(struct tconn *c, int64_t offset) {
  struct offset_commit_request_offset_commit_request_partition p;
  offset_commit_request_offset_commit_request_partition_init(&p);
  p.partition_index = 0;
  p.committed_offset = offset;
  p.committed_metadata = KSTR_LIT("meta");
  struct offset_commit_request_offset_commit_request_topic t = {KSTR_LIT(OFFSETS_TOPIC), &p, 1};
  struct offset_commit_request m;
  offset_commit_request_init(&m);
  m.group_id = KSTR_LIT("simple");
  m.generation_id_or_member_epoch = -1;
  m.member_id = KSTR_LIT("");
  m.topics = &t;
  m.topics_count = 1;
  struct answer *a = await(c, tsend(c, API_OFFSET_COMMIT, 7, enc_commit, &m), 1000);
  struct rd r;
  rd_init(&r, a->body, a->len);
  struct offset_commit_response resp;
  ck_assert(offset_commit_response_decode(&r, 7, &resp, &rig.arena));
  ck_assert_int_eq(resp.topics_count, 1);
  return resp.topics[0].partitions[0].error_code;
}

static int64_t fetched(struct tconn *c) {
  int32_t part = 0;
  struct offset_fetch_request_offset_fetch_request_topics t = {KSTR_LIT(OFFSETS_TOPIC), &part,
                                                               1};
  struct offset_fetch_request_offset_fetch_request_group g;
  offset_fetch_request_offset_fetch_request_group_init(&g);
  g.group_id = KSTR_LIT("simple");
  g.topics = &t;
  g.topics_count = 1;
  struct offset_fetch_request m;
  offset_fetch_request_init(&m);
  m.groups = &g;
  m.groups_count = 1;
  struct answer *a = await(c, tsend(c, API_OFFSET_FETCH, 8, enc_fetch, &m), 1000);
  struct rd r;
  rd_init(&r, a->body, a->len);
  struct offset_fetch_response resp;
  ck_assert(offset_fetch_response_decode(&r, 8, &resp, &rig.arena));
  ck_assert_int_eq(resp.groups_count, 1);
  ck_assert_int_eq(resp.groups[0].error_code, KERR_NONE);
  return resp.groups[0].topics[0].partitions[0].committed_offset;
}

START_TEST(answered_commit_survives_power_loss) {
  struct tconn *c = &rig.conns[0];
  coordinator_ready(c);
  ck_assert_int_eq(fetched(c), -1);
  /* The commit of any existing partition (here one of the offsets topic). */
  ck_assert_int_eq(commit(c, 42), KERR_NONE);
  ck_assert_int_eq(fetched(c), 42);
  ck_assert_int_eq(commit(c, 43), KERR_NONE);
  /* Power loss: only what was fsynced stays; the commit was answered after
   * its fsync. */
  sim_node_crash(rig.bnode);
  node_destroy(rig.node);
  rig.node = NULL;
  sim_node_restart(rig.bnode);
  node_up();
  connect_all();
  /* ListGroups loads what this node leads before it lists
   * (COORDINATOR_LOAD_IN_PROGRESS while it loads: asked again). */
  struct list_groups_response lr;
  for (int n = 0; n < ANSWERS_MAX; n++) {
    struct list_groups_request lm;
    list_groups_request_init(&lm);
    struct answer *a =
        await(&rig.conns[1], tsend(&rig.conns[1], API_LIST_GROUPS, 4, enc_list, &lm), 1000);
    struct rd r;
    rd_init(&r, a->body, a->len);
    ck_assert(list_groups_response_decode(&r, 4, &lr, &rig.arena));
    if (lr.error_code != KERR_COORDINATOR_LOAD_IN_PROGRESS) break;
    run_ms(10);
  }
  ck_assert_int_eq(lr.error_code, KERR_NONE);
  ck_assert_int_eq(lr.groups_count, 1);
  ck_assert(kstr_eq(lr.groups[0].group_id, "simple"));
  ck_assert(kstr_eq(lr.groups[0].group_state, "Empty"));
  ck_assert_int_eq(fetched(&rig.conns[0]), 43); /* loaded from __consumer_offsets */
}
END_TEST

/* The load of a large __consumer_offsets partition after a restart goes in
 * slices (a bounded number of batches per turn of the event loop): while
 * it runs the group is answered COORDINATOR_LOAD_IN_PROGRESS and part of
 * its commits are in the cache; then it is served with the last commit. */
START_TEST(load_goes_in_slices) {
  enum { COMMITS = 200 }; /* one batch each: more than three slices */
  struct tconn *c = &rig.conns[0];
  coordinator_ready(c);
  for (int i = 1; i <= COMMITS; i++) {
    ck_assert_int_eq(commit(c, i), KERR_NONE);
    c->answer_count = 0; /* nothing pending: the answer slots are reused */
  }
  sim_node_crash(rig.bnode);
  node_destroy(rig.node);
  rig.node = NULL;
  sim_node_restart(rig.bnode);
  node_up();
  bool partial = false;
  int16_t err = KERR_NOT_COORDINATOR;
  for (long steps = 0; steps < 10000000 && err != KERR_NONE; steps++) {
    ck_assert(sim_step(rig.w));
    err = groups_coordinate(rig.node, KSTR_LIT("simple"));
    if (err != KERR_COORDINATOR_LOAD_IN_PROGRESS) continue;
    const struct group *g = group_find(groups_state(rig.node), KSTR_LIT("simple"));
    const struct group_offset *o = g ? group_offset_get(g, KSTR_LIT(OFFSETS_TOPIC), 0) : NULL;
    partial |= o && o->offset > 1 && o->offset < COMMITS;
  }
  ck_assert_int_eq(err, KERR_NONE);
  ck_assert_msg(partial, "the load was never seen part way");
  const struct group *g = group_find(groups_state(rig.node), KSTR_LIT("simple"));
  ck_assert_int_eq(group_offset_get(g, KSTR_LIT(OFFSETS_TOPIC), 0)->offset, COMMITS);
  connect_all();
  ck_assert_int_eq(fetched(&rig.conns[0]), COMMITS);
}
END_TEST

static Suite *group_node_suite(void) {
  Suite *s = suite_create("group_node");
  TCase *tc = tcase_create("node");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, find_coordinator_creates_the_offsets_topic);
  tcase_add_test(tc, parked_join_cancelled_by_its_connection);
  tcase_add_test(tc, answered_commit_survives_power_loss);
  tcase_add_test(tc, load_goes_in_slices);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(group_node_suite)
