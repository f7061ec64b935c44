/* broker/log/segment_cache: many partition logs under a tiny limit of open
 * segments, on the simulated disk (deterministic, with a descriptor table
 * to count and power losses). Produce, read, flush, power loss, restart
 * and recovery all stay correct while the open segments never pass the
 * limit (except those a read lent, until the turn ends); out of
 * descriptors, the cache shrinks and the work still succeeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "log/log.h"
#include "log/segment_cache.h"
#include "proto/batch_format.h"
#include "sim/disk.h"
#include "sim/world.h"
#include "testing.h"

enum {
  PARTS = 50,
  LIMIT = 4,
  ROUNDS = 6,
  VALUE_BYTES = 700,
  BATCH_MAX = 4096,
  STEPS_MAX = 100000,
};

static struct sim_world *world;
static struct sim_node *node;
static struct env *env;
static struct seg_cache cache;
static struct plog *logs[PARTS];
static char dirs[PARTS][64];

static void put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* One batch of one record whose value names the partition and round. */
static size_t make_batch(uint8_t *out, int part, int round) {
  uint8_t body[VALUE_BYTES + 32];
  size_t n = 0;
  body[n++] = 0; /* attributes */
  body[n++] = 0; /* timestamp delta */
  body[n++] = 0; /* offset delta */
  body[n++] = 1; /* key: -1 */
  body[n++] = (uint8_t)((VALUE_BYTES << 1) & 0x7f) | 0x80;
  body[n++] = (uint8_t)((VALUE_BYTES << 1) >> 7);
  for (int k = 0; k < VALUE_BYTES; k++)
    body[n++] = (uint8_t)('a' + (part * 7 + round + k) % 26);
  body[n++] = 0; /* no headers */
  size_t at = RB_HEADER_BYTES;
  out[at++] = (uint8_t)((n << 1) & 0x7f) | 0x80;
  out[at++] = (uint8_t)((n << 1) >> 7);
  memcpy(out + at, body, n);
  at += n;
  put_be(out + RB_OFF_BASE_OFFSET, 0, 8);
  put_be(out + RB_OFF_LENGTH, at - RB_LOG_OVERHEAD, 4);
  put_be(out + RB_OFF_LEADER_EPOCH, 0, 4);
  out[RB_OFF_MAGIC] = 2;
  put_be(out + RB_OFF_ATTRIBUTES, 0, 2);
  put_be(out + RB_OFF_LAST_OFFSET_DELTA, 0, 4);
  put_be(out + RB_OFF_BASE_TIMESTAMP, 1000 + (uint64_t)round, 8);
  put_be(out + RB_OFF_MAX_TIMESTAMP, 1000 + (uint64_t)round, 8);
  put_be(out + RB_OFF_PRODUCER_ID, (uint64_t)-1, 8);
  put_be(out + RB_OFF_PRODUCER_EPOCH, (uint64_t)-1, 2);
  put_be(out + RB_OFF_BASE_SEQUENCE, (uint64_t)-1, 4);
  put_be(out + RB_OFF_RECORD_COUNT, 1, 4);
  put_be(out + RB_OFF_CRC, crc32c(out + RB_OFF_ATTRIBUTES, at - RB_OFF_ATTRIBUTES), 4);
  return at;
}

/* Two batches a segment: every partition rolls every other round. */
static struct log_config cfg(void) {
  return (struct log_config){.segment_bytes = 2 * (RB_HEADER_BYTES + VALUE_BYTES + 40),
                             .roll_ms = 7LL * 24 * 3600 * 1000,
                             .retention_ms = -1,
                             .retention_bytes = -1,
                             .index_interval_bytes = 1,
                             .index_bytes_max = 1 << 20,
                             .cache = &cache};
}

static void settle(void) {
  for (int i = 0; i < STEPS_MAX && sim_step(world); i++) {
  }
}

static void setup_world(uint64_t seed, int32_t limit) {
  world = sim_world_create(seed);
  node = sim_node_add(world, 1, "n1");
  env = sim_node_env(node);
  seg_cache_init(&cache, env, limit);
  ck_assert_int_eq(env->mkdir(env, "/data"), 0);
  for (int p = 0; p < PARTS; p++) snprintf(dirs[p], sizeof dirs[p], "/data/t-%d", p);
}

/* At rest (no fsync in flight, no read lent): within the limit, and the
 * node's descriptor table holds nothing but those segments' files. */
static void check_bound(int32_t limit) {
  settle();
  seg_cache_turn_end(&cache);
  ck_assert_int_le(seg_cache_open_count(&cache), limit);
  ck_assert_uint_le(sim_disk_fds_open(node), (uint32_t)limit * SEG_CACHE_FILES_PER_SEGMENT);
}

static void open_all(void) {
  struct log_config c = cfg();
  for (int p = 0; p < PARTS; p++) {
    ck_assert_int_eq(plog_open(env, dirs[p], &c, 0, 0, &logs[p]), 0);
    /* A partition nobody uses holds no descriptor. */
    ck_assert_int_le(seg_cache_open_count(&cache), LIMIT);
  }
}

static void close_all(void) {
  for (int p = 0; p < PARTS; p++) plog_close(logs[p]);
  settle();
}

static void teardown_world(void) {
  ck_assert_int_eq(seg_cache_open_count(&cache), 0);
  seg_cache_free(&cache);
  sim_world_destroy(world);
}

static void produce_round(int round, int32_t limit) {
  for (int p = 0; p < PARTS; p++) {
    uint8_t batch[BATCH_MAX];
    size_t len = make_batch(batch, p, round);
    struct plog_append_info info;
    ck_assert_int_eq(plog_append(logs[p], batch, len, 0, 1000 + round, &info), 0);
    ck_assert_int_eq(info.base_offset, round);
    ck_assert_int_le(seg_cache_open_count(&cache), limit);
  }
}

/* Offset `round` of partition p reads back as written (offsets patched). */
static void check_read(int p, int round) {
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(logs[p], round, 1, true, INT64_MAX, &r), 0);
  ck_assert_int_eq(r.first_offset, round);
  uint8_t want[BATCH_MAX], got[BATCH_MAX];
  size_t len = make_batch(want, p, round);
  put_be(want + RB_OFF_BASE_OFFSET, (uint64_t)round, 8);
  ck_assert_uint_eq(r.len, len);
  ck_assert_int_eq(env->pread(env, r.file, got, r.len, r.file_offset), (int64_t)len);
  ck_assert_mem_eq(got, want, len);
  seg_cache_turn_end(&cache);
}

static void check_all(int rounds) {
  for (int p = 0; p < PARTS; p++) {
    ck_assert_int_eq(plog_end_offset(logs[p]), rounds);
    for (int r = 0; r < rounds; r++) check_read(p, r);
    ck_assert_int_le(seg_cache_open_count(&cache), LIMIT);
  }
}

static bool flushed;
static void on_flushed(void *ctx, int err) {
  (void)ctx;
  ck_assert_int_eq(err, 0);
  flushed = true;
}

static void flush_all(void) {
  for (int p = 0; p < PARTS; p++) {
    flushed = false;
    plog_flush(logs[p], on_flushed, NULL);
    for (int i = 0; i < STEPS_MAX && !flushed; i++) ck_assert(sim_step(world));
    ck_assert(flushed);
    ck_assert_int_eq(plog_recovery_point(logs[p]), plog_end_offset(logs[p]));
  }
}

START_TEST(fifty_partitions_under_four_open_segments) {
  setup_world(1, LIMIT);
  open_all();
  check_bound(LIMIT);
  for (int round = 0; round < ROUNDS; round++) {
    produce_round(round, LIMIT);
    check_bound(LIMIT);
  }
  for (int p = 0; p < PARTS; p++) ck_assert_int_ge(plog_segment_count(logs[p]), ROUNDS / 2);
  check_all(ROUNDS);
  check_bound(LIMIT);
  /* Segments the cache closed while dirty are reopened by the flush. */
  flush_all();
  check_bound(LIMIT);
  /* A power loss keeps every flushed byte; recovery revalidates all (the
   * recovery point is 0), a segment at a time, under the limit. */
  sim_node_crash(node);
  sim_node_restart(node);
  close_all();
  open_all();
  check_bound(LIMIT);
  check_all(ROUNDS);
  produce_round(ROUNDS, LIMIT);
  check_all(ROUNDS + 1);
  close_all();
  teardown_world();
}
END_TEST

/* A Fetch collects the ranges of many partitions before it sends them:
 * every segment it read from stays open (its file id valid) until the turn
 * ends, even past the limit; then the cache is back under it. */
START_TEST(lent_segments_stay_open_until_the_turn_ends) {
  setup_world(2, 2);
  open_all();
  produce_round(0, 2);
  check_bound(2);
  struct plog_read_result r[10];
  for (int p = 0; p < 10; p++)
    ck_assert_int_eq(plog_read(logs[p], 0, 1, true, INT64_MAX, &r[p]), 0);
  ck_assert_int_eq(seg_cache_open_count(&cache), 10);
  for (int p = 0; p < 10; p++) {
    uint8_t want[BATCH_MAX], got[BATCH_MAX];
    size_t len = make_batch(want, p, 0);
    put_be(want + RB_OFF_BASE_OFFSET, 0, 8);
    ck_assert_int_eq(env->pread(env, r[p].file, got, r[p].len, r[p].file_offset), (int64_t)len);
    ck_assert_mem_eq(got, want, len);
  }
  seg_cache_turn_end(&cache);
  ck_assert_int_le(seg_cache_open_count(&cache), 2);
  close_all();
  teardown_world();
}
END_TEST

/* A descriptor table too small for the configured limit: opens fail with
 * ENV_EMFILE, the cache closes idle segments and lowers its limit, and
 * every produce, read and flush still succeeds. */
START_TEST(out_of_descriptors_shrinks_the_cache) {
  setup_world(3, 40);
  sim_disk_set_fds_max(node, 16);
  open_all();
  for (int round = 0; round < 3; round++) produce_round(round, 40);
  settle();
  ck_assert_int_lt(cache.limit_now, 40);
  ck_assert(cache.emfile_logged);
  ck_assert_uint_le(sim_disk_fds_open(node), 16);
  for (int p = 0; p < PARTS; p++)
    for (int r = 0; r < 3; r++) check_read(p, r);
  flush_all();
  close_all();
  teardown_world();
}
END_TEST

static Suite *segment_cache_suite(void) {
  Suite *s = suite_create("segment_cache");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fifty_partitions_under_four_open_segments);
  tcase_add_test(tc, lent_segments_stay_open_until_the_turn_ends);
  tcase_add_test(tc, out_of_descriptors_shrinks_the_cache);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(segment_cache_suite)
