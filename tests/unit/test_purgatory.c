/* The purgatory (broker/server/purgatory.c) on its own, then long-polling
 * fetches against a real node in the simulated world: a wake looks only at
 * the partition that moved, deadlines, cancellation when a connection or a
 * topic goes, and the ready list keeping a pipelined connection in order.
 * Everything runs on virtual time: no sleeps, no timing thresholds. */
#include <stdio.h>
#include <string.h>

#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "proto/record_batch.h"
#include "server/node.h"
#include "server/purgatory.h"
#include "server/server.h"
#include "sim/world.h"
#include "testing.h"

/* ---- the purgatory alone ---- */

enum { KEYS = 1000, DONE_LOG_MAX = 16 };

struct pw { /* a test waiter */
  struct waiter waiter;
  struct watch watches[4];
  bool ready_now; /* what ready() answers */
  int checks;
  int dones;
  enum waiter_end why;
  uint64_t done_at_ns;
};

static struct sim_world *pw_world;
static struct purgatory pg;
static struct watch_list *lists; /* [KEYS] */
static struct pw *pws;           /* [KEYS] */
static struct env *pw_env;
static int done_log[DONE_LOG_MAX], done_log_count;

static bool pw_ready(struct waiter *w) {
  struct pw *p = w->ctx;
  p->checks++;
  return p->ready_now;
}

static void pw_done(struct waiter *w, enum waiter_end why) {
  struct pw *p = w->ctx;
  ck_assert(!waiter_parked(w));
  p->dones++;
  p->why = why;
  p->done_at_ns = sim_now_ns(pw_world);
  if (done_log_count < DONE_LOG_MAX) done_log[done_log_count++] = (int)(p - pws);
}

static const struct waiter_ops pw_ops = {.ready = pw_ready, .done = pw_done};

static void pw_setup(void) {
  pw_world = sim_world_create(1);
  pw_env = sim_node_env(sim_node_add(pw_world, 1, "n1"));
  purgatory_init(&pg, pw_env, KEYS);
  lists = calloc(KEYS, sizeof *lists);
  pws = calloc(KEYS, sizeof *pws);
  ck_assert(lists && pws);
  done_log_count = 0;
}

static void pw_teardown(void) {
  for (int i = 0; i < KEYS; i++)
    if (pws[i].waiter.purgatory && waiter_parked(&pws[i].waiter)) waiter_cancel(&pws[i].waiter);
  purgatory_deinit(&pg);
  free(lists);
  free(pws);
  sim_world_destroy(pw_world);
}

static void pw_park(struct pw *p, uint64_t timeout_ns) {
  waiter_init(&p->waiter, &pg, &pw_ops, p, p->watches, 4);
  waiter_park(&p->waiter, timeout_ns);
}

static void positions_at(int64_t *pos, int64_t end_offset, int64_t high_watermark) {
  pos[WATCH_END_OFFSET] = end_offset;
  pos[WATCH_HIGH_WATERMARK] = high_watermark;
}

/* (a) 1,000 waiters on 1,000 keys: a wake of one key looks at one watch. */
START_TEST(wake_looks_only_at_its_key) {
  for (int i = 0; i < KEYS; i++) {
    pw_park(&pws[i], 10 * NS_PER_S);
    waiter_watch(&pws[i].waiter, &lists[i], WATCH_HIGH_WATERMARK, 1);
  }
  ck_assert(purgatory_full(&pg));
  ck_assert_int_eq(purgatory_waiter_count(&pg), KEYS);
  struct purgatory_stats before = *purgatory_stats(&pg);
  int64_t pos[WATCH_KINDS];
  positions_at(pos, 1, 1);
  pws[500].ready_now = true;
  purgatory_wake(&pg, &lists[500], pos);
  const struct purgatory_stats *after = purgatory_stats(&pg);
  ck_assert_uint_eq(after->visits - before.visits, 1);
  ck_assert_uint_eq(after->checks - before.checks, 1);
  ck_assert_uint_eq(after->ready - before.ready, 1);
  ck_assert_int_eq(pws[500].dones, 1);
  ck_assert_int_eq(pws[500].why, WAITER_READY);
  ck_assert_int_eq(lists[500].count, 0);
  for (int i = 0; i < KEYS; i++)
    if (i != 500) ck_assert_int_eq(pws[i].checks + pws[i].dones, 0);
  ck_assert_int_eq(purgatory_waiter_count(&pg), KEYS - 1);
}
END_TEST

/* A position short of the watch's offset does not even ask the waiter. */
START_TEST(wake_below_the_offset_does_not_check) {
  pw_park(&pws[0], NS_PER_S);
  waiter_watch(&pws[0].waiter, &lists[0], WATCH_HIGH_WATERMARK, 5);
  pws[0].ready_now = true;
  int64_t pos[WATCH_KINDS];
  positions_at(pos, 9, 4); /* appended, but the high watermark is short */
  purgatory_wake(&pg, &lists[0], pos);
  ck_assert_int_eq(pws[0].checks, 0);
  positions_at(pos, 9, 5);
  purgatory_wake(&pg, &lists[0], pos);
  ck_assert_int_eq(pws[0].checks, 1);
  ck_assert_int_eq(pws[0].dones, 1);
}
END_TEST

/* (b) The deadline ends a waiter after exactly its timeout of virtual time. */
START_TEST(deadline_ends_the_waiter) {
  uint64_t t0 = sim_now_ns(pw_world);
  pw_park(&pws[0], 250 * NS_PER_MS);
  waiter_watch(&pws[0].waiter, &lists[0], WATCH_HIGH_WATERMARK, 1);
  sim_run_until(pw_world, t0 + 250 * NS_PER_MS - 1);
  ck_assert_int_eq(pws[0].dones, 0);
  sim_run_until(pw_world, t0 + 250 * NS_PER_MS);
  ck_assert_int_eq(pws[0].dones, 1);
  ck_assert_int_eq(pws[0].why, WAITER_DEADLINE);
  ck_assert_uint_eq(pws[0].done_at_ns, t0 + 250 * NS_PER_MS);
  ck_assert_int_eq(lists[0].count, 0);
  ck_assert_uint_eq(purgatory_stats(&pg)->expired, 1);
}
END_TEST

/* (c) A waiter on two keys wakes on either and leaves both. */
START_TEST(two_keys_either_wakes) {
  for (int k = 0; k < 2; k++) {
    struct pw *p = &pws[k];
    pw_park(p, NS_PER_S);
    waiter_watch(&p->waiter, &lists[0], WATCH_HIGH_WATERMARK, 1);
    waiter_watch(&p->waiter, &lists[1], WATCH_HIGH_WATERMARK, 1);
    p->ready_now = true;
    int64_t pos[WATCH_KINDS];
    positions_at(pos, 1, 1);
    purgatory_wake(&pg, &lists[k == 0 ? 1 : 0], pos);
    ck_assert_int_eq(p->dones, 1);
    ck_assert_int_eq(lists[0].count + lists[1].count, 0);
  }
}
END_TEST

/* (d) A cancelled waiter hears nothing: not from wakes, not from its deadline. */
START_TEST(cancel_means_no_callbacks) {
  pw_park(&pws[0], 100 * NS_PER_MS);
  waiter_watch(&pws[0].waiter, &lists[0], WATCH_HIGH_WATERMARK, 1);
  pws[0].ready_now = true;
  waiter_cancel(&pws[0].waiter);
  ck_assert_int_eq(lists[0].count, 0);
  int64_t pos[WATCH_KINDS];
  positions_at(pos, 10, 10);
  purgatory_wake(&pg, &lists[0], pos);
  sim_run_until(pw_world, sim_now_ns(pw_world) + NS_PER_S);
  ck_assert_int_eq(pws[0].checks + pws[0].dones, 0);
  ck_assert_uint_eq(purgatory_stats(&pg)->cancelled, 1);
  ck_assert_int_eq(purgatory_waiter_count(&pg), 0);
}
END_TEST

/* Wakes and key removal go in park order, never address order. */
START_TEST(park_order_not_address_order) {
  int order[3] = {7, 2, 5};
  for (int i = 0; i < 3; i++) {
    pw_park(&pws[order[i]], NS_PER_S);
    waiter_watch(&pws[order[i]].waiter, &lists[0], WATCH_HIGH_WATERMARK, 1);
    pws[order[i]].ready_now = true;
  }
  int64_t pos[WATCH_KINDS];
  positions_at(pos, 1, 1);
  purgatory_wake(&pg, &lists[0], pos);
  ck_assert_int_eq(done_log_count, 3);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(done_log[i], order[i]);
  done_log_count = 0;
  for (int i = 0; i < 3; i++) {
    pw_park(&pws[order[i]], NS_PER_S);
    waiter_watch(&pws[order[i]].waiter, &lists[1], WATCH_HIGH_WATERMARK, 1);
  }
  purgatory_gone(&pg, &lists[1]);
  ck_assert_int_eq(done_log_count, 3);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(done_log[i], order[i]);
    ck_assert_int_eq(pws[order[i]].why, WAITER_GONE);
  }
  ck_assert_uint_eq(purgatory_stats(&pg)->gone, 3);
}
END_TEST

/* One key listed twice is one watch (the lower offset); a moved list still
 * unlinks cleanly (ASan would see a dangling list pointer). */
START_TEST(duplicate_keys_merge_and_lists_move) {
  pw_park(&pws[0], NS_PER_S);
  waiter_watch(&pws[0].waiter, &lists[0], WATCH_HIGH_WATERMARK, 9);
  waiter_watch(&pws[0].waiter, &lists[0], WATCH_HIGH_WATERMARK, 3);
  ck_assert_int_eq(lists[0].count, 1);
  ck_assert_int_eq(pws[0].waiter.watch_count, 1);
  ck_assert_int_eq(pws[0].watches[0].offset, 3);
  struct watch_list *moved = malloc(sizeof *moved);
  ck_assert_ptr_nonnull(moved);
  *moved = lists[0];
  memset(&lists[0], 0xab, sizeof lists[0]); /* the old copy is garbage now */
  purgatory_list_moved(moved);
  pws[0].ready_now = true;
  int64_t pos[WATCH_KINDS];
  positions_at(pos, 3, 3);
  purgatory_wake(&pg, moved, pos);
  ck_assert_int_eq(pws[0].dones, 1);
  ck_assert_int_eq(moved->count, 0);
  ck_assert_ptr_null(moved->first);
  free(moved);
  memset(&lists[0], 0, sizeof lists[0]);
}
END_TEST

/* ---- long-polling fetches against a node in the simulated world ---- */

enum { PENDING_MAX = 8, ANSWERS_MAX = 8, FETCH_VERSION = 12, PRODUCE_VERSION = 9 };

struct answer {
  int32_t correlation_id;
  int16_t api_key;
  uint64_t at_ns;
  int64_t record_bytes; /* Fetch: the records in it */
  int16_t error;        /* the first error in it */
};

struct tconn { /* a raw client connection */
  env_conn_id id;
  bool connected;
  bool closed;
  int32_t next_correlation_id;
  struct {
    int32_t correlation_id;
    int16_t api_key, version;
  } pending[PENDING_MAX];
  int pending_count;
  struct answer answers[ANSWERS_MAX];
  int answer_count;
};

struct rig {
  struct sim_world *w;
  struct sim_node *bnode, *cnode;
  struct env *cenv;
  struct node *node;
  struct tconn *conns;
  int conn_count;
};

static struct rig rig;

static struct tconn *tconn_by_id(env_conn_id id) {
  for (int i = 0; i < rig.conn_count; i++)
    if (rig.conns[i].id == id) return &rig.conns[i];
  return NULL;
}

static void on_connected(void *ctx, env_conn_id id, int err) {
  (void)ctx;
  struct tconn *c = tconn_by_id(id);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(err, 0);
  c->connected = true;
}

static void on_closed(void *ctx, env_conn_id id, int err) {
  (void)ctx, (void)err;
  struct tconn *c = tconn_by_id(id);
  if (c) c->closed = true;
}

static void read_fetch(struct rd *r, int16_t version, struct answer *a) {
  struct arena arena;
  arena_init(&arena);
  struct fetch_response resp;
  ck_assert(fetch_response_decode(r, version, &resp, &arena));
  a->error = resp.error_code;
  for (int32_t t = 0; t < resp.responses_count; t++) {
    for (int32_t p = 0; p < resp.responses[t].partitions_count; p++) {
      const struct fetch_response_partition_data *pd = &resp.responses[t].partitions[p];
      if (pd->records.len > 0) a->record_bytes += pd->records.len;
      if (a->error == 0) a->error = pd->error_code;
    }
  }
  arena_free(&arena);
}

static void on_frame(void *ctx, env_conn_id id, uint8_t *data, size_t len) {
  (void)ctx;
  struct tconn *c = tconn_by_id(id);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_gt(c->pending_count, 0);
  ck_assert_int_lt(c->answer_count, ANSWERS_MAX);
  struct rd r;
  rd_init(&r, data, len);
  struct answer *a = &c->answers[c->answer_count++];
  memset(a, 0, sizeof *a);
  a->correlation_id = rd_i32(&r);
  a->api_key = c->pending[0].api_key;
  a->at_ns = sim_now_ns(rig.w);
  int16_t version = c->pending[0].version;
  ck_assert_int_eq(a->correlation_id, c->pending[0].correlation_id); /* in order */
  memmove(&c->pending[0], &c->pending[1], (size_t)(--c->pending_count) * sizeof c->pending[0]);
  if (a->api_key != API_API_VERSIONS && api_response_header_version(a->api_key, version) >= 1)
    rd_skip_tagged_fields(&r);
  if (a->api_key == API_FETCH) read_fetch(&r, version, a);
  free(data);
}

/* Returns the index its answer will have in c->answers (answers come in
 * request order). */
static int tconn_send(struct tconn *c, int16_t api_key, int16_t version,
                      void (*encode)(struct wr *w, int16_t version, const void *msg),
                      const void *msg) {
  ck_assert(c->connected && !c->closed);
  ck_assert_int_lt(c->pending_count, PENDING_MAX);
  int32_t correlation_id = ++c->next_correlation_id;
  struct wr w;
  wr_init(&w);
  wr_i16(&w, api_key);
  wr_i16(&w, version);
  wr_i32(&w, correlation_id);
  wr_string(&w, kstr_of("test"), false);
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

static void enc_create_topics(struct wr *w, int16_t v, const void *m) {
  create_topics_request_encode(w, v, m);
}
static void enc_delete_topics(struct wr *w, int16_t v, const void *m) {
  delete_topics_request_encode(w, v, m);
}
static void enc_create_partitions(struct wr *w, int16_t v, const void *m) {
  create_partitions_request_encode(w, v, m);
}
static void enc_fetch(struct wr *w, int16_t v, const void *m) { fetch_request_encode(w, v, m); }
static void enc_produce(struct wr *w, int16_t v, const void *m) {
  produce_request_encode(w, v, m);
}
static void enc_api_versions(struct wr *w, int16_t v, const void *m) {
  api_versions_request_encode(w, v, m);
}

/* Waits (up to ms_max of virtual time) for c's answer number `index`. */
static struct answer *await_answer(struct tconn *c, int index, uint64_t ms_max) {
  ck_assert_int_lt(index, ANSWERS_MAX);
  for (uint64_t t = 0; t < ms_max && c->answer_count <= index; t++) run_ms(1);
  ck_assert_int_gt(c->answer_count, index);
  return &c->answers[index];
}

static void create_topic(struct tconn *c, const char *name, int32_t partitions) {
  struct create_topics_request_creatable_topic t;
  create_topics_request_creatable_topic_init(&t);
  t.name = kstr_of(name);
  t.num_partitions = partitions;
  t.replication_factor = 1;
  struct create_topics_request m;
  create_topics_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  await_answer(c, tconn_send(c, API_CREATE_TOPICS, 5, enc_create_topics, &m), 10000);
}

static void rig_up(int conn_count, int32_t partitions, bool flush_before_ack) {
  memset(&rig, 0, sizeof rig);
  rig.w = sim_world_create(1);
  sim_world_set_verbose(rig.w, getenv("VERBOSE") != NULL);
  rig.bnode = sim_node_add(rig.w, 1, "broker1");
  rig.cnode = sim_node_add(rig.w, 100, "client1");
  rig.cenv = sim_node_env(rig.cnode);
  struct config cfg;
  config_defaults(&cfg);
  cfg.node_id = 1;
  snprintf(cfg.log_dirs, sizeof cfg.log_dirs, "/logs");
  snprintf(cfg.listeners[0].host, sizeof cfg.listeners[0].host, "broker1");
  if (flush_before_ack) cfg.log_flush_interval_messages = 1;
  ck_assert_int_eq(node_create(sim_node_env(rig.bnode), &cfg, &rig.node), 0);
  ck_assert_int_eq(node_start(rig.node), 0);
  static const struct env_net_handler handler = {
      .connected = on_connected, .frame = on_frame, .closed = on_closed};
  rig.cenv->net_handler_set(rig.cenv, &handler);
  rig.conns = calloc((size_t)conn_count, sizeof *rig.conns);
  ck_assert_ptr_nonnull(rig.conns);
  rig.conn_count = conn_count;
  for (int i = 0; i < conn_count; i++)
    ck_assert_int_eq(rig.cenv->connect(rig.cenv, "broker1", 9092, 1 << 24, &rig.conns[i].id),
                     0);
  run_ms(100);
  for (int i = 0; i < conn_count; i++) ck_assert(rig.conns[i].connected);
  create_topic(&rig.conns[conn_count - 1], "t", partitions);
}

static void shut_done(void *ctx) { *(bool *)ctx = true; }

/* A clean shutdown first, so no fsync is left in flight (the world would
 * drop its completion, and what waited on it would leak). */
static void rig_down(void) {
  if (rig.node && !rig.node->shutting_down) {
    bool shut = false;
    node_shutdown(rig.node, shut_done, &shut);
    for (int i = 0; i < 10000 && !shut; i++) run_ms(1);
    ck_assert(shut);
  }
  if (rig.node) {
    run_ms(1000);
    node_destroy(rig.node);
  }
  if (rig.w) sim_world_destroy(rig.w);
  free(rig.conns);
}

static const struct purgatory_stats *stats(void) {
  return purgatory_stats(&rig.node->purgatory);
}

static struct partition *part(const char *topic, int32_t index) {
  struct partition *p = partition_find(rig.node, kstr_of(topic), index);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* A Fetch of topic t's partitions[n] at offsets[n]. */
static int fetch(struct tconn *c, const int32_t *partitions, const int64_t *offsets, int n,
                 int32_t max_wait_ms, int32_t min_bytes) {
  struct fetch_request_fetch_partition fp[4];
  ck_assert_int_le(n, 4);
  for (int i = 0; i < n; i++) {
    fetch_request_fetch_partition_init(&fp[i]);
    fp[i].partition = partitions[i];
    fp[i].fetch_offset = offsets[i];
    fp[i].partition_max_bytes = 1 << 20;
  }
  struct fetch_request_fetch_topic ft;
  fetch_request_fetch_topic_init(&ft);
  ft.topic = kstr_of("t");
  ft.partitions = fp;
  ft.partitions_count = n;
  struct fetch_request m;
  fetch_request_init(&m);
  m.max_wait_ms = max_wait_ms;
  m.min_bytes = min_bytes;
  m.max_bytes = 1 << 20;
  m.topics = &ft;
  m.topics_count = 1;
  return tconn_send(c, API_FETCH, FETCH_VERSION, enc_fetch, &m);
}

static int fetch_one(struct tconn *c, int32_t partition, int32_t max_wait_ms) {
  int64_t offset = 0;
  return fetch(c, &partition, &offset, 1, max_wait_ms, 1);
}

/* One record to topic t's partition. */
static int produce(struct tconn *c, int32_t partition, int16_t acks) {
  struct rb_builder b;
  rb_builder_init(&b, 0, 1);
  rb_builder_add(&b, 1, (struct kbytes){NULL, -1}, (struct kbytes){(const uint8_t *)"v", 1},
                 NULL, 0);
  struct buf batch;
  buf_init(&batch);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &batch), KERR_NONE);
  rb_builder_free(&b);
  struct produce_request_partition_produce_data pd;
  produce_request_partition_produce_data_init(&pd);
  pd.index = partition;
  pd.records = (struct krecords){.ptr = batch.data, .len = (int32_t)batch.len};
  struct produce_request_topic_produce_data td;
  produce_request_topic_produce_data_init(&td);
  td.name = kstr_of("t");
  td.partition_data = &pd;
  td.partition_data_count = 1;
  struct produce_request m;
  produce_request_init(&m);
  m.acks = acks;
  m.timeout_ms = 30000;
  m.topic_data = &td;
  m.topic_data_count = 1;
  int index = tconn_send(c, API_PRODUCE, PRODUCE_VERSION, enc_produce, &m);
  buf_free(&batch);
  return index;
}

static void pn_setup(void) { memset(&rig, 0, sizeof rig); }
static void pn_teardown(void) { rig_down(); }

/* (a) 1,000 fetches parked on 200 partitions, five on each (the simulated
 * disk's 1,024 open files cap a node near 250 partitions); an append to one
 * partition looks at its five watches and no other. A clean shutdown then
 * cancels the other 995. */
START_TEST(append_wakes_only_its_partition) {
  enum { FETCHES = 1000, PARTITIONS = 200, PER = FETCHES / PARTITIONS, HOT = 100 };
  rig_up(FETCHES + 1, PARTITIONS, false);
  struct tconn *producer = &rig.conns[FETCHES];
  for (int i = 0; i < FETCHES; i++) fetch_one(&rig.conns[i], i % PARTITIONS, 30000);
  run_ms(100);
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), FETCHES);
  for (int i = 0; i < PARTITIONS; i++) ck_assert_int_eq(part("t", i)->watches.count, PER);
  struct purgatory_stats before = *stats();
  await_answer(producer, produce(producer, HOT, 1), 1000);
  run_ms(10);
  ck_assert_uint_eq(stats()->wakes - before.wakes, 1);
  ck_assert_uint_eq(stats()->visits - before.visits, PER);
  ck_assert_uint_eq(stats()->checks - before.checks, PER);
  ck_assert_uint_eq(stats()->ready - before.ready, PER);
  for (int i = 0; i < FETCHES; i++) {
    bool hot = i % PARTITIONS == HOT;
    ck_assert_int_eq(rig.conns[i].answer_count, hot ? 1 : 0);
    if (hot) ck_assert_int_gt(rig.conns[i].answers[0].record_bytes, 0);
  }
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), FETCHES - PER);
  bool shut = false;
  node_shutdown(rig.node, shut_done, &shut);
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), 0);
  ck_assert_uint_eq(stats()->cancelled, FETCHES - PER);
  for (int i = 0; i < PARTITIONS; i++) ck_assert_int_eq(part("t", i)->watches.count, 0);
  run_ms(1000);
  ck_assert(shut);
  ck_assert_uint_eq(stats()->expired, 0);
}
END_TEST

/* With fsync before ack the append moves only the end offset: the parked
 * fetch is not even asked until the fsync moves the high watermark. */
START_TEST(flush_mode_wakes_on_the_high_watermark) {
  rig_up(2, 1, true);
  int fetched = fetch_one(&rig.conns[0], 0, 30000);
  run_ms(10);
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), 1);
  struct purgatory_stats before = *stats();
  int produced = produce(&rig.conns[1], 0, 1);
  for (int i = 0; i < 1000 && stats()->wakes == before.wakes; i++) sim_step(rig.w);
  ck_assert_uint_eq(stats()->wakes - before.wakes, 1); /* the append */
  ck_assert_uint_eq(stats()->visits - before.visits, 1);
  ck_assert_uint_eq(stats()->checks - before.checks, 0);
  await_answer(&rig.conns[1], produced, 1000);
  struct answer *a = await_answer(&rig.conns[0], fetched, 1000);
  ck_assert_uint_eq(stats()->wakes - before.wakes, 2); /* and the fsync */
  ck_assert_uint_eq(stats()->checks - before.checks, 1);
  ck_assert_int_gt(a->record_bytes, 0);
}
END_TEST

/* acks=0 in fsync-before-ack mode: nobody waits for the fsync, but it
 * still happens and moves the high watermark, so a parked fetch gets the
 * record (it used to stay invisible forever). The produce gets no answer. */
START_TEST(flush_mode_flushes_acks_0_too) {
  rig_up(2, 1, true);
  int fetched = fetch_one(&rig.conns[0], 0, 30000);
  run_ms(10);
  produce(&rig.conns[1], 0, 0);
  struct answer *a = await_answer(&rig.conns[0], fetched, 1000);
  ck_assert_int_gt(a->record_bytes, 0);
  ck_assert_int_eq(plog_recovery_point(part("t", 0)->log), 1);
}
END_TEST

/* acks=0 gets no answer, so a refused produce closes its connection (as
 * Kafka's broker does) and the client refreshes its metadata; a stored one
 * leaves it open, and other connections are untouched. */
START_TEST(acks_0_refused_closes_the_connection) {
  rig_up(2, 1, false);
  produce(&rig.conns[0], 0, 0);
  run_ms(50);
  ck_assert(!rig.conns[0].closed);
  produce(&rig.conns[0], 7, 0); /* "t" has one partition */
  run_ms(50);
  ck_assert(rig.conns[0].closed);
  ck_assert(!rig.conns[1].closed);
  int fetched = fetch_one(&rig.conns[1], 0, 0);
  struct answer *a = await_answer(&rig.conns[1], fetched, 1000);
  ck_assert_int_eq(a->error, KERR_NONE);
  ck_assert_int_gt(a->record_bytes, 0); /* the stored acks=0 record */
}
END_TEST

/* (b) The deadline answers an empty fetch after max_wait_ms of virtual time. */
START_TEST(deadline_answers_empty) {
  rig_up(1, 1, false);
  struct tconn *c = &rig.conns[0];
  uint64_t t0 = sim_now_ns(rig.w);
  int fetched = fetch_one(c, 0, 250);
  sim_run_until(rig.w, t0 + 250 * NS_PER_MS);
  ck_assert_int_eq(c->answer_count, fetched); /* not yet */
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), 1);
  struct answer *a = await_answer(c, fetched, 100);
  ck_assert_uint_ge(a->at_ns, t0 + 250 * NS_PER_MS);
  ck_assert_int_eq(a->record_bytes, 0);
  ck_assert_int_eq(a->error, KERR_NONE);
  ck_assert_uint_eq(stats()->expired, 1);
  ck_assert_int_eq(part("t", 0)->watches.count, 0);
}
END_TEST

/* (c) A fetch over two partitions wakes on either. */
START_TEST(two_partitions_either_wakes) {
  rig_up(2, 2, false);
  struct tconn *c = &rig.conns[0], *producer = &rig.conns[1];
  int32_t parts[2] = {0, 1};
  int64_t offsets[2] = {0, 0};
  int fetched = fetch(c, parts, offsets, 2, 30000, 1);
  run_ms(10);
  produce(producer, 1, 1);
  struct answer *a = await_answer(c, fetched, 100);
  ck_assert_int_gt(a->record_bytes, 0);
  ck_assert_int_eq(part("t", 0)->watches.count + part("t", 1)->watches.count, 0);
  offsets[1] = 1; /* past what it has read */
  fetched = fetch(c, parts, offsets, 2, 30000, 1);
  run_ms(10);
  ck_assert_int_eq(part("t", 0)->watches.count + part("t", 1)->watches.count, 2);
  produce(producer, 0, 1);
  a = await_answer(c, fetched, 100);
  ck_assert_int_gt(a->record_bytes, 0);
  ck_assert_uint_eq(stats()->ready, 2);
  ck_assert_uint_eq(stats()->expired, 0);
}
END_TEST

/* (d) Closing the connection of a parked fetch cancels it: no answer, no
 * deadline, no watch left (and nothing dangling: ASan). */
START_TEST(closing_the_connection_cancels) {
  rig_up(2, 1, false);
  struct tconn *c = &rig.conns[0];
  fetch_one(c, 0, 200);
  run_ms(10);
  ck_assert_int_eq(part("t", 0)->watches.count, 1);
  rig.cenv->close(rig.cenv, c->id);
  c->closed = true;
  run_ms(10);
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), 0);
  ck_assert_int_eq(part("t", 0)->watches.count, 0);
  ck_assert_uint_eq(stats()->cancelled, 1);
  struct purgatory_stats before = *stats();
  await_answer(&rig.conns[1], produce(&rig.conns[1], 0, 1), 100);
  run_ms(1000);
  ck_assert_uint_eq(stats()->visits, before.visits);
  ck_assert_uint_eq(stats()->expired + stats()->ready + stats()->gone, 0);
}
END_TEST

/* (e) Two requests queued behind a long poll: answers in order, and the
 * next one starts only from the ready list's drain, after the first is
 * answered. */
START_TEST(pipelined_requests_wait_their_turn) {
  rig_up(1, 1, false);
  struct tconn *c = &rig.conns[0];
  int answered = c->answer_count;
  uint64_t t0 = sim_now_ns(rig.w);
  fetch_one(c, 0, 300);
  struct api_versions_request av;
  api_versions_request_init(&av);
  tconn_send(c, API_API_VERSIONS, 2, enc_api_versions, &av);
  fetch_one(c, 0, 0); /* answers at once when its turn comes */
  run_ms(100);
  ck_assert_int_eq(rig.node->conn_count, 1);
  struct conn *bc = rig.node->conns[0];
  ck_assert_ptr_nonnull(bc->active);
  ck_assert_int_eq(bc->queue_count, 2);
  /* Step to the deadline: the fetch answers, its connection becomes ready,
   * but nothing queued has started yet. */
  for (int i = 0; i < 100000 && stats()->expired == 0; i++) ck_assert(sim_step(rig.w));
  ck_assert_uint_eq(stats()->expired, 1);
  ck_assert_ptr_null(bc->active);
  ck_assert(bc->ready);
  ck_assert_int_eq(bc->queue_count, 2);
  ck_assert_int_eq(rig.node->ready_count, 1);
  for (int i = 0; i < 100000 && bc->queue_count > 0; i++) ck_assert(sim_step(rig.w));
  ck_assert(!bc->ready && bc->queue_count == 0 && bc->active == NULL);
  run_ms(10);
  ck_assert_int_eq(c->answer_count, answered + 3);
  ck_assert_int_eq(c->answers[answered].api_key, API_FETCH);
  ck_assert_int_eq(c->answers[answered + 1].api_key, API_API_VERSIONS);
  ck_assert_int_eq(c->answers[answered + 2].api_key, API_FETCH);
  ck_assert_uint_ge(c->answers[answered].at_ns, t0 + 300 * NS_PER_MS);
  for (int i = answered; i < answered + 2; i++)
    ck_assert_uint_le(c->answers[i].at_ns, c->answers[i + 1].at_ns);
}
END_TEST

/* (f) Deleting a topic answers the fetches parked on it, with its error. */
START_TEST(topic_deletion_answers_its_waiters) {
  rig_up(2, 2, false);
  struct tconn *c = &rig.conns[0], *admin = &rig.conns[1];
  int32_t parts[2] = {0, 1};
  int64_t offsets[2] = {0, 0};
  int fetched = fetch(c, parts, offsets, 2, 30000, 1);
  run_ms(10);
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), 1);
  struct kstr name = kstr_of("t");
  struct delete_topics_request m;
  delete_topics_request_init(&m);
  m.topic_names = &name;
  m.topic_names_count = 1;
  m.timeout_ms = 30000;
  int deleted = tconn_send(admin, API_DELETE_TOPICS, 5, enc_delete_topics, &m);
  struct answer *a = await_answer(c, fetched, 100);
  ck_assert_int_eq(a->error, KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_uint_eq(stats()->gone, 1);
  ck_assert_int_eq(purgatory_waiter_count(&rig.node->purgatory), 0);
  await_answer(admin, deleted, 100);
  ck_assert_ptr_null(partition_find(rig.node, kstr_of("t"), 0));
  run_ms(31000);
  ck_assert_uint_eq(stats()->expired, 0);
}
END_TEST

/* Adding partitions moves the partition array under a parked fetch; its
 * watch follows, and an append still wakes it. */
START_TEST(adding_partitions_keeps_the_watches) {
  rig_up(2, 1, false);
  struct tconn *c = &rig.conns[0], *admin = &rig.conns[1];
  int fetched = fetch_one(c, 0, 30000);
  run_ms(10);
  struct create_partitions_request_create_partitions_topic t;
  create_partitions_request_create_partitions_topic_init(&t);
  t.name = kstr_of("t");
  t.count = 64;
  t.assignments_count = -1; /* null: the node places them */
  struct create_partitions_request m;
  create_partitions_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  m.timeout_ms = 30000;
  await_answer(admin, tconn_send(admin, API_CREATE_PARTITIONS, 2, enc_create_partitions, &m),
               1000);
  ck_assert_int_eq(part("t", 0)->topic->partition_count, 64);
  ck_assert_int_eq(part("t", 0)->watches.count, 1);
  ck_assert_ptr_eq(part("t", 0)->watches.first->list, &part("t", 0)->watches);
  produce(admin, 0, 1);
  struct answer *a = await_answer(c, fetched, 100);
  ck_assert_int_gt(a->record_bytes, 0);
  ck_assert_int_eq(part("t", 0)->watches.count, 0);
}
END_TEST

/* Partition logs this node has opened for `name` so far (issue 13). */
static int32_t opened(const char *name) {
  struct topic *t = topic_find(rig.node, name, strlen(name));
  return t ? t->partition_count : 0;
}

/* A CreateTopics of many partitions opens their logs in slices (topics.c):
 * another client asking while it is under way is answered before it, with
 * the creation part done, and the CreateTopics answer comes once every log
 * is open. Opened in one go, the count would jump from none to all. */
START_TEST(wide_create_topics_goes_in_slices) {
  rig_up(2, 1, false);
  struct tconn *admin = &rig.conns[0], *other = &rig.conns[1];
  enum { WIDE = 300 };
  struct create_topics_request_creatable_topic t;
  create_topics_request_creatable_topic_init(&t);
  t.name = kstr_of("wide");
  t.num_partitions = WIDE;
  t.replication_factor = 1;
  struct create_topics_request m;
  create_topics_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  m.timeout_ms = 30000;
  int created = tconn_send(admin, API_CREATE_TOPICS, 5, enc_create_topics, &m);
  for (int i = 0; i < 1000000 && opened("wide") == 0; i++) ck_assert(sim_step(rig.w));
  ck_assert_int_gt(opened("wide"), 0);
  struct api_versions_request av;
  api_versions_request_init(&av);
  await_answer(other, tconn_send(other, API_API_VERSIONS, 0, enc_api_versions, &av), 1000);
  ck_assert_int_lt(opened("wide"), WIDE); /* served mid-creation */
  ck_assert_int_le(admin->answer_count, created);
  await_answer(admin, created, 10000);
  ck_assert_int_eq(opened("wide"), WIDE);
  for (int32_t i = 0; i < WIDE; i++) ck_assert(partition_hosted(part("wide", i)));
}
END_TEST

/* A shutdown between two slices ends the run: the publishes it held land
 * (with an error: not every log is open) instead of waiting for slices
 * that will never run, and the shutdown completes. (Here without KRaft;
 * with it, where the metadata log's apply waits for the publish, the hang
 * was real: tests/integration/test_shutdown.py.) */
START_TEST(shutdown_between_slices_completes) {
  rig_up(1, 1, false);
  struct tconn *admin = &rig.conns[0];
  enum { WIDE = 300 };
  struct create_topics_request_creatable_topic t;
  create_topics_request_creatable_topic_init(&t);
  t.name = kstr_of("wide");
  t.num_partitions = WIDE;
  t.replication_factor = 1;
  struct create_topics_request m;
  create_topics_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  m.timeout_ms = 30000;
  tconn_send(admin, API_CREATE_TOPICS, 5, enc_create_topics, &m);
  for (int i = 0; i < 1000000 && opened("wide") == 0; i++) ck_assert(sim_step(rig.w));
  ck_assert_int_gt(opened("wide"), 0);
  ck_assert_int_lt(opened("wide"), WIDE);
  bool shut = false;
  node_shutdown(rig.node, shut_done, &shut);
  for (int i = 0; i < 10000 && !shut; i++) run_ms(1);
  ck_assert(shut);
  ck_assert_int_lt(opened("wide"), WIDE); /* the rest waits for the next start */
}
END_TEST

static Suite *purgatory_suite(void) {
  Suite *s = suite_create("purgatory");
  TCase *tc = tcase_create("alone");
  tcase_add_checked_fixture(tc, pw_setup, pw_teardown);
  tcase_add_test(tc, wake_looks_only_at_its_key);
  tcase_add_test(tc, wake_below_the_offset_does_not_check);
  tcase_add_test(tc, deadline_ends_the_waiter);
  tcase_add_test(tc, two_keys_either_wakes);
  tcase_add_test(tc, cancel_means_no_callbacks);
  tcase_add_test(tc, park_order_not_address_order);
  tcase_add_test(tc, duplicate_keys_merge_and_lists_move);
  suite_add_tcase(s, tc);
  TCase *tn = tcase_create("node");
  tcase_set_timeout(tn, 120);
  tcase_add_checked_fixture(tn, pn_setup, pn_teardown);
  tcase_add_test(tn, append_wakes_only_its_partition);
  tcase_add_test(tn, flush_mode_wakes_on_the_high_watermark);
  tcase_add_test(tn, deadline_answers_empty);
  tcase_add_test(tn, flush_mode_flushes_acks_0_too);
  tcase_add_test(tn, acks_0_refused_closes_the_connection);
  tcase_add_test(tn, two_partitions_either_wakes);
  tcase_add_test(tn, closing_the_connection_cancels);
  tcase_add_test(tn, pipelined_requests_wait_their_turn);
  tcase_add_test(tn, topic_deletion_answers_its_waiters);
  tcase_add_test(tn, adding_partitions_keeps_the_watches);
  tcase_add_test(tn, wide_create_topics_goes_in_slices);
  tcase_add_test(tn, shutdown_between_slices_completes);
  suite_add_tcase(s, tn);
  return s;
}

TEST_MAIN(purgatory_suite)
