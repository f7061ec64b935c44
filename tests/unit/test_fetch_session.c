/* Fetch sessions (KIP-227, broker/server/fetch_session.c): the cache's ids,
 * bound and eviction order, the request rules (full, incremental, close,
 * forgotten partitions, the two session errors) and the incremental
 * answer, which carries only partitions with something new. Time is the
 * simulator's, passed in: no sleeps. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "env.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/fetch_session.h"
#include "sim/world.h"
#include "testing.h"

static const uint64_t S_NS = 1000000000ull;

static struct sim_world *world;
static struct env *env;
static struct arena arena;

static void setup(void) {
  world = sim_world_create(7);
  env = sim_node_env(sim_node_add(world, 1, "n1"));
  arena_init(&arena);
}

static void teardown(void) {
  arena_free(&arena);
  sim_world_destroy(world);
}

/* ---- the cache ---- */

START_TEST(eviction_needs_a_stale_or_lower_session) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 2);
  ck_assert_ptr_nonnull(fetch_session_create(&c, 5, false, false, 3, 0));
  ck_assert_ptr_nonnull(fetch_session_create(&c, 9, false, false, 3, 0));
  /* Full, both young: a third consumer session gets no slot. */
  ck_assert_ptr_null(fetch_session_create(&c, 7, false, false, 3, S_NS));
  ck_assert_int_eq(c.count, 2);
  /* Both unused past FETCH_SESSION_EVICTION_MS: the least recently used
   * goes, and on a tie the lower id. */
  uint64_t later = (FETCH_SESSION_EVICTION_MS / 1000 + 1) * S_NS;
  ck_assert_ptr_nonnull(fetch_session_create(&c, 7, false, false, 1, later));
  ck_assert_ptr_null(fetch_session_find(&c, 5));
  ck_assert_ptr_nonnull(fetch_session_find(&c, 9));
  ck_assert_uint_eq(c.evictions, 1);
  fetch_session_cache_deinit(&c);
}
END_TEST

/* A session holding n (blank) partitions, as if a request had named them. */
static void hold(struct fetch_session *s, int32_t n) {
  s->parts = calloc((size_t)n, sizeof *s->parts);
  ck_assert_ptr_nonnull(s->parts);
  s->count = s->cap = n;
}

START_TEST(eviction_by_privilege_then_size) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 2);
  hold(fetch_session_create(&c, 1, true, false, 4, 0), 4);  /* a follower's */
  hold(fetch_session_create(&c, 2, false, false, 4, 0), 4); /* a consumer's */
  uint64_t now = (FETCH_SESSION_EVICTION_MS / 1000 + 10) * S_NS;
  /* Both old enough to be pushed out, and recently used (not stale). */
  fetch_session_find(&c, 1)->last_used_ns = now - S_NS;
  fetch_session_find(&c, 2)->last_used_ns = now - S_NS;
  /* A consumer with no more partitions than the lowest does not evict. */
  ck_assert_ptr_null(fetch_session_create(&c, 3, false, false, 4, now));
  /* One with more partitions evicts the consumer session, never the
   * follower's. */
  hold(fetch_session_create(&c, 3, false, false, 5, now), 5);
  ck_assert_ptr_null(fetch_session_find(&c, 2));
  ck_assert_ptr_nonnull(fetch_session_find(&c, 1));
  /* A follower outranks any consumer session old enough. */
  fetch_session_find(&c, 3)->created_ns = 0;
  hold(fetch_session_create(&c, 4, true, false, 1, now), 1);
  ck_assert_ptr_null(fetch_session_find(&c, 3));
  /* A consumer cannot push out followers. */
  fetch_session_find(&c, 4)->created_ns = 0;
  ck_assert_ptr_null(fetch_session_create(&c, 6, false, false, 100, now));
  fetch_session_cache_deinit(&c);
}
END_TEST

START_TEST(no_slots_no_sessions) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 0);
  ck_assert_ptr_null(fetch_session_create(&c, 1, true, false, 1, 0));
  fetch_session_cache_deinit(&c);
}
END_TEST

START_TEST(epochs_wrap_to_one) {
  ck_assert_int_eq(fetch_session_next_epoch(1), 2);
  ck_assert_int_eq(fetch_session_next_epoch(INT32_MAX), 1);
}
END_TEST

/* ---- requests and answers (v12: topics by name) ---- */

enum { PARTS = 3 };

static struct fetch_request request(int32_t id, int32_t epoch, int n, const int32_t *parts,
                                    const int64_t *offsets) {
  struct fetch_request m;
  fetch_request_init(&m);
  m.session_id = id;
  m.session_epoch = epoch;
  m.replica_id = 2;
  if (n == 0) return m;
  m.topics = arena_alloc(&arena, sizeof *m.topics);
  fetch_request_fetch_topic_init(&m.topics[0]);
  m.topics_count = 1;
  m.topics[0].topic = kstr_of("t");
  m.topics[0].partitions = arena_alloc(&arena, (size_t)n * sizeof *m.topics[0].partitions);
  m.topics[0].partitions_count = n;
  for (int i = 0; i < n; i++) {
    fetch_request_fetch_partition_init(&m.topics[0].partitions[i]);
    m.topics[0].partitions[i].partition = parts[i];
    m.topics[0].partitions[i].fetch_offset = offsets[i];
    m.topics[0].partitions[i].partition_max_bytes = 1024;
  }
  return m;
}

static void forget_one(struct fetch_request *m, int32_t partition) {
  m->forgotten_topics_data = arena_alloc(&arena, sizeof *m->forgotten_topics_data);
  fetch_request_forgotten_topic_init(&m->forgotten_topics_data[0]);
  m->forgotten_topics_data[0].topic = kstr_of("t");
  m->forgotten_topics_data[0].partitions = arena_alloc(&arena, sizeof(int32_t));
  m->forgotten_topics_data[0].partitions[0] = partition;
  m->forgotten_topics_data[0].partitions_count = 1;
  m->forgotten_topics_data_count = 1;
}

/* An answer for m's partitions: hw[i] per partition, records for one. */
static struct fetch_response answer(const struct fetch_request *m, const int64_t *hw,
                                    int32_t with_records, int32_t with_error) {
  struct fetch_response r;
  fetch_response_init(&r);
  r.responses = arena_alloc(&arena, sizeof *r.responses);
  fetch_response_fetchable_topic_response_init(&r.responses[0]);
  r.responses_count = 1;
  r.responses[0].topic = kstr_of("t");
  int32_t n = m->topics_count ? m->topics[0].partitions_count : 0;
  r.responses[0].partitions =
      arena_alloc(&arena, (size_t)(n ? n : 1) * sizeof(*r.responses[0].partitions));
  r.responses[0].partitions_count = n;
  static const uint8_t bytes[4] = {1, 2, 3, 4};
  for (int32_t i = 0; i < n; i++) {
    struct fetch_response_partition_data *pd = &r.responses[0].partitions[i];
    fetch_response_partition_data_init(pd);
    int32_t p = m->topics[0].partitions[i].partition;
    pd->partition_index = p;
    pd->high_watermark = hw[p];
    pd->log_start_offset = 0;
    if (p == with_records) pd->records = (struct krecords){.ptr = bytes, .len = 4};
    if (p == with_error) pd->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
  }
  return r;
}

static int32_t answered(const struct fetch_response *r, int32_t partition) {
  for (int32_t i = 0; i < r->responses_count; i++)
    for (int32_t j = 0; j < r->responses[i].partitions_count; j++)
      if (r->responses[i].partitions[j].partition_index == partition) return 1;
  return 0;
}

static int32_t partition_count(const struct fetch_request *m) {
  int32_t n = 0;
  for (int32_t i = 0; i < m->topics_count; i++) n += m->topics[i].partitions_count;
  return n;
}

/* A session over partitions 0, 1, 2 at offsets 10, 20, 30, its first
 * answer sent with high watermarks hw. Returns its id. */
static int32_t open_session(struct fetch_session_cache *c, const int64_t *hw) {
  const int32_t parts[PARTS] = {0, 1, 2};
  const int64_t offs[PARTS] = {10, 20, 30};
  struct fetch_request m = request(0, 0, PARTS, parts, offs);
  struct fetch_session_ticket t;
  ck_assert_int_eq(fetch_session_request(c, env, 12, true, &m, &arena, &t), KERR_NONE);
  ck_assert_int_ne(t.session_id, 0);
  ck_assert(!t.incremental);
  struct fetch_response r = answer(&m, hw, -1, -1);
  fetch_session_response(c, 12, &t, &r);
  ck_assert_int_eq(r.session_id, t.session_id);
  ck_assert_int_eq(r.responses[0].partitions_count, PARTS); /* a full answer holds all */
  return t.session_id;
}

START_TEST(incremental_answer_holds_only_news) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 10);
  int64_t hw[PARTS] = {10, 20, 30};
  int32_t id = open_session(&c, hw);
  /* Nothing named: served as all three at their cached offsets. */
  struct fetch_request m = request(id, 1, 0, NULL, NULL);
  struct fetch_session_ticket t;
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  ck_assert(t.incremental);
  ck_assert_int_eq(partition_count(&m), PARTS);
  ck_assert_int_eq(m.topics[0].partitions[1].fetch_offset, 20);
  /* Partition 1's high watermark moved, 2 has records: 0 is left out. */
  hw[1] = 21;
  struct fetch_response r = answer(&m, hw, 2, -1);
  fetch_session_response(&c, 12, &t, &r);
  ck_assert_int_eq(r.session_id, id);
  ck_assert_int_eq(answered(&r, 0), 0);
  ck_assert_int_eq(answered(&r, 1), 1);
  ck_assert_int_eq(answered(&r, 2), 1);
  /* The same high watermark again is no news; an error is. */
  m = request(id, 2, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  r = answer(&m, hw, -1, 0);
  fetch_session_response(&c, 12, &t, &r);
  ck_assert_int_eq(answered(&r, 0), 1);
  ck_assert_int_eq(answered(&r, 1), 0);
  ck_assert_int_eq(answered(&r, 2), 0);
  /* Nothing new at all: no topics. */
  m = request(id, 3, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  r = answer(&m, hw, -1, -1);
  fetch_session_response(&c, 12, &t, &r);
  ck_assert_int_eq(r.responses_count, 0);
  fetch_session_cache_deinit(&c);
}
END_TEST

START_TEST(incremental_updates_adds_and_forgets) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 10);
  int64_t hw[8] = {10, 20, 30, 0, 0, 0, 0, 0};
  int32_t id = open_session(&c, hw);
  const int32_t parts[2] = {1, 5};
  const int64_t offs[2] = {25, 7};
  struct fetch_request m = request(id, 1, 2, parts, offs);
  forget_one(&m, 0);
  struct fetch_session_ticket t;
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  ck_assert_int_eq(partition_count(&m), 3); /* 1, 2, 5 */
  ck_assert_int_eq(m.topics[0].partitions[0].partition, 1);
  ck_assert_int_eq(m.topics[0].partitions[0].fetch_offset, 25);
  ck_assert_int_eq(m.topics[0].partitions[2].partition, 5);
  /* Named and forgotten in one request: forgotten (KIP-227). */
  const int32_t two[1] = {2};
  const int64_t off2[1] = {31};
  m = request(id, 2, 1, two, off2);
  forget_one(&m, 2);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  ck_assert_int_eq(partition_count(&m), 2);
  fetch_session_cache_deinit(&c);
}
END_TEST

START_TEST(session_errors_and_close) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 10);
  int64_t hw[PARTS] = {1, 1, 1};
  int32_t id = open_session(&c, hw);
  struct fetch_session_ticket t;
  struct fetch_request m = request(id + 1, 1, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t),
                   KERR_FETCH_SESSION_ID_NOT_FOUND);
  m = request(id, 2, 0, NULL, NULL); /* expects 1 */
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t),
                   KERR_INVALID_FETCH_SESSION_EPOCH);
  m = request(id, 1, 0, NULL, NULL); /* v13 names topics by id: not this session */
  ck_assert_int_eq(fetch_session_request(&c, env, 13, true, &m, &arena, &t),
                   KERR_FETCH_SESSION_TOPIC_ID_ERROR);
  /* The failed requests changed nothing: epoch 1 still works, then a
   * replay of it does not. */
  m = request(id, 1, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  m = request(id, 1, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t),
                   KERR_INVALID_FETCH_SESSION_EPOCH);
  /* Epoch -1 closes it; the request itself is served sessionless. */
  const int32_t parts[1] = {0};
  const int64_t offs[1] = {0};
  m = request(id, -1, 1, parts, offs);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  ck_assert_int_eq(t.session_id, 0);
  ck_assert_ptr_null(fetch_session_find(&c, id));
  ck_assert_int_eq(partition_count(&m), 1);
  /* Below v7 there are no sessions: the ids are not looked at. */
  m = request(id, 5, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 6, true, &m, &arena, &t), KERR_NONE);
  ck_assert_int_eq(t.session_id, 0);
  fetch_session_cache_deinit(&c);
}
END_TEST

START_TEST(evicted_while_waiting_answers_not_found) {
  struct fetch_session_cache c;
  fetch_session_cache_init(&c, 10);
  int64_t hw[PARTS] = {1, 1, 1};
  int32_t id = open_session(&c, hw);
  struct fetch_session_ticket t;
  struct fetch_request m = request(id, 1, 0, NULL, NULL);
  ck_assert_int_eq(fetch_session_request(&c, env, 12, true, &m, &arena, &t), KERR_NONE);
  fetch_session_remove(&c, id);
  struct fetch_response r = answer(&m, hw, -1, -1);
  fetch_session_response(&c, 12, &t, &r);
  ck_assert_int_eq(r.error_code, KERR_FETCH_SESSION_ID_NOT_FOUND);
  ck_assert_int_eq(r.responses_count, 0);
  fetch_session_cache_deinit(&c);
}
END_TEST

static Suite *fetch_session_suite(void) {
  Suite *s = suite_create("fetch_session");
  TCase *tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, eviction_needs_a_stale_or_lower_session);
  tcase_add_test(tc, eviction_by_privilege_then_size);
  tcase_add_test(tc, no_slots_no_sessions);
  tcase_add_test(tc, epochs_wrap_to_one);
  tcase_add_test(tc, incremental_answer_holds_only_news);
  tcase_add_test(tc, incremental_updates_adds_and_forgets);
  tcase_add_test(tc, session_errors_and_close);
  tcase_add_test(tc, evicted_while_waiting_answers_not_found);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(fetch_session_suite)
