/* The log cleaner (broker/log/cleaner.h) on the simulated disk: each key's
 * latest record kept with its offset, tombstones kept for
 * delete.retention.ms after their first pass, a producer's last batch kept
 * empty, bounded steps, the active segment untouched, and a crash at every
 * step of the swap leaving a log that holds either the segment as it was or
 * as cleaned, never a mix or a loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "log/cleaner.h"
#include "log/log.h"
#include "log/producers.h"
#include "proto/errors.h"
#include "proto/record_batch.h"
#include "sim/world.h"
#include "testing.h"

enum { ROUNDS_MAX = 100000, KEYS = 5, RECORDS_MAX = 1024, READ_BYTES = 1 << 20 };

static struct sim_world *world;
static struct sim_node *node;
static struct env *env;

static void setup(void) {
  world = sim_world_create(5);
  node = sim_node_add(world, 1, "n1");
  env = sim_node_env(node);
  ck_assert_int_eq(env->mkdir(env, "/d"), 0);
}

static void teardown(void) { sim_world_destroy(world); }

static struct log_config small_segments(void) {
  return (struct log_config){.segment_bytes = 400,
                             .roll_ms = -1,
                             .retention_ms = -1,
                             .retention_bytes = -1,
                             .index_interval_bytes = 100,
                             .index_bytes_max = 1 << 20};
}

static struct cleaner_config cleaner_defaults(void) {
  return (struct cleaner_config){.min_cleanable_ratio = 0.5,
                                 .min_lag_ms = 0,
                                 .max_lag_ms = INT64_MAX,
                                 .delete_retention_ms = 86400000,
                                 .map_bytes_max = 1 << 20};
}

static struct plog *open_log(const struct log_config *cfg, int64_t recovery_point) {
  struct plog *log;
  ck_assert_int_eq(plog_open(env, "/d/t-0", cfg, recovery_point, 0, &log), 0);
  plog_set_compacted(log, true); /* as topics.c does for a compacted topic */
  return log;
}

static void flushed(void *ctx, int err) {
  ck_assert_int_eq(err, 0);
  *(bool *)ctx = true;
}

static void flush_and_wait(struct plog *log) {
  bool done = false;
  plog_flush(log, flushed, &done);
  for (int i = 0; i < ROUNDS_MAX && !done; i++) ck_assert(sim_step(world));
  ck_assert(done);
}

/* One batch of count records, keys k<key0+i % KEYS>, values "v<seq>" (null
 * when tombstone), from producer pid (-1 none) at sequence seq. */
static int64_t append_batch(struct plog *log, int count, int key0, int seq, bool tombstone,
                            int64_t pid) {
  struct rb_builder b;
  rb_builder_init(&b, 0, 1000);
  if (pid >= 0) rb_builder_set_producer(&b, pid, 0, seq, false);
  char keys[RECORDS_MAX][8], values[RECORDS_MAX][16];
  for (int i = 0; i < count; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", (key0 + i) % KEYS);
    snprintf(values[i], sizeof values[i], "v%d", seq + i);
    struct kbytes k = {(const uint8_t *)keys[i], (int32_t)strlen(keys[i])};
    struct kbytes v = {(const uint8_t *)values[i], tombstone ? -1 : (int32_t)strlen(values[i])};
    rb_builder_add(&b, 1000 + seq + i, k, v, NULL, 0);
  }
  struct buf out;
  buf_init(&out);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &out), KERR_NONE);
  struct plog_append_info info;
  ck_assert_int_eq(plog_append(log, out.data, out.len, 0, 1000, &info), 0);
  buf_free(&out);
  rb_builder_free(&b);
  return info.base_offset;
}

struct record_seen {
  int64_t offset;
  char key[16];
  char value[16]; /* "" for a tombstone */
  bool tombstone;
};

struct log_content {
  struct record_seen records[RECORDS_MAX];
  int count;
  int batches;
  int empty_batches;
};

/* Every record of the log, read as a consumer would: offsets must rise. */
static void read_all(struct plog *log, struct log_content *out) {
  memset(out, 0, sizeof *out);
  int64_t at = plog_start_offset(log), last = -1;
  struct buf scratch;
  buf_init(&scratch);
  for (int n = 0; n < RECORDS_MAX && at < plog_end_offset(log); n++) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, at, READ_BYTES, true, INT64_MAX, &r), 0);
    ck_assert_uint_gt(r.len, 0);
    uint8_t *bytes = malloc(r.len);
    ck_assert_int_eq(env->pread(env, r.file, bytes, r.len, r.file_offset), (int64_t)r.len);
    for (size_t pos = 0; pos < r.len;) {
      struct rb_iter it;
      ck_assert_int_eq(rb_iter_init(&it, bytes + pos, r.len - pos, &scratch, 1 << 20), 0);
      ck_assert_uint_eq(rb_check_one(bytes + pos, r.len - pos), rb_header_size(&it.h));
      out->batches++;
      out->empty_batches += it.h.record_count == 0;
      struct rb_record rec;
      while (rb_iter_next(&it, &rec) == 1) {
        ck_assert_int_gt(rec.offset, last);
        ck_assert_int_le(rec.offset, rb_header_last_offset(&it.h));
        last = rec.offset;
        if (rec.offset < at) continue;
        ck_assert_int_lt(out->count, RECORDS_MAX);
        struct record_seen *s = &out->records[out->count++];
        s->offset = rec.offset;
        snprintf(s->key, sizeof s->key, "%.*s", (int)rec.key.len, (const char *)rec.key.ptr);
        s->tombstone = rec.value.len < 0;
        if (!s->tombstone)
          snprintf(s->value, sizeof s->value, "%.*s", (int)rec.value.len,
                   (const char *)rec.value.ptr);
      }
      at = rb_header_last_offset(&it.h) + 1;
      pos += rb_header_size(&it.h);
    }
    free(bytes);
  }
  buf_free(&scratch);
}

/* The last record of key in the content, or NULL. */
static const struct record_seen *latest(const struct log_content *c, const char *key) {
  const struct record_seen *found = NULL;
  for (int i = 0; i < c->count; i++)
    if (strcmp(c->records[i].key, key) == 0) found = &c->records[i];
  return found;
}

static int records_of(const struct log_content *c, const char *key, int64_t below) {
  int n = 0;
  for (int i = 0; i < c->count; i++)
    n += strcmp(c->records[i].key, key) == 0 && c->records[i].offset < below;
  return n;
}

/* Steps a pass to its end; the number of steps. */
static int clean_fully(struct plog *log, const struct cleaner_config *cc, int64_t now_ms,
                       size_t bytes_max) {
  int steps = 0;
  for (int i = 0; i < ROUNDS_MAX; i++) {
    int rc = plog_clean_step(log, cc, now_ms, INT64_MAX, bytes_max);
    ck_assert_int_ge(rc, 0);
    steps++;
    if (rc == PLOG_CLEAN_DONE || rc == PLOG_CLEAN_IDLE) return steps;
    if (rc == PLOG_CLEAN_WAIT) ck_assert(sim_step(world));
  }
  ck_abort_msg("the pass never ended");
  return steps;
}

/* 60 records over the five keys, three per batch, over several segments. */
static void write_keys(struct plog *log) {
  for (int seq = 0; seq < 60; seq += 3) append_batch(log, 3, seq, seq, false, -1);
}

START_TEST(latest_value_per_key_kept) {
  struct log_config cfg = small_segments();
  struct plog *log = open_log(&cfg, 0);
  write_keys(log);
  flush_and_wait(log);
  struct log_content before, after;
  read_all(log, &before);
  int64_t end = plog_end_offset(log);
  uint64_t size = plog_size_bytes(log);
  int segments = plog_segment_count(log);
  ck_assert_int_gt(segments, 3);
  struct cleaner_config cc = cleaner_defaults();
  ck_assert(plog_cleaner_due(log, &cc, 2000, INT64_MAX));
  clean_fully(log, &cc, 2000, 1 << 20);
  read_all(log, &after);
  ck_assert_int_eq(plog_end_offset(log), end);
  ck_assert_int_eq(plog_segment_count(log), segments);
  ck_assert_uint_lt(plog_size_bytes(log), size);
  /* Every key's latest value, and below the active segment one record per
   * key at most. */
  for (int k = 0; k < KEYS; k++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", k);
    ck_assert_str_eq(latest(&after, key)->value, latest(&before, key)->value);
    ck_assert_int_eq(latest(&after, key)->offset, latest(&before, key)->offset);
    ck_assert_int_le(records_of(&after, key, plog_cleaner_checkpoint(log)), 1);
  }
  ck_assert_int_lt(after.count, before.count);
  ck_assert_int_gt(plog_cleaner_checkpoint(log), 0);
  /* Nothing more is due: the dirty ratio is 0 until new segments come. */
  ck_assert(!plog_cleaner_due(log, &cc, 2000, INT64_MAX));
  ck_assert_int_eq(plog_clean_step(log, &cc, 2000, INT64_MAX, 1 << 20), PLOG_CLEAN_IDLE);
  /* It reopens as it was (indexes written by the cleaner, trusted). */
  plog_close(log);
  log = open_log(&cfg, end);
  struct log_content reopened;
  read_all(log, &reopened);
  ck_assert_int_eq(reopened.count, after.count);
  ck_assert_int_eq(plog_end_offset(log), end);
  plog_close(log);
}
END_TEST

/* Each step reads at most its budget (one batch alone when larger), so a
 * small budget takes more steps for the same result. */
START_TEST(bounded_steps) {
  struct log_config cfg = small_segments();
  struct plog *log = open_log(&cfg, 0);
  write_keys(log);
  flush_and_wait(log);
  struct cleaner_config cc = cleaner_defaults();
  int steps = clean_fully(log, &cc, 2000, 1);
  struct log_content small;
  read_all(log, &small);
  plog_close(log);
  sim_world_destroy(world);
  setup();
  log = open_log(&cfg, 0);
  write_keys(log);
  flush_and_wait(log);
  int steps_big = clean_fully(log, &cc, 2000, 1 << 20);
  struct log_content big;
  read_all(log, &big);
  ck_assert_int_gt(steps, steps_big);
  ck_assert_int_gt(steps, 20); /* at least one step per batch read */
  ck_assert_int_eq(small.count, big.count);
  for (int i = 0; i < big.count; i++)
    ck_assert_int_eq(small.records[i].offset, big.records[i].offset);
  plog_close(log);
}
END_TEST

START_TEST(active_segment_and_unflushed_untouched) {
  struct log_config cfg = small_segments();
  struct plog *log = open_log(&cfg, 0);
  write_keys(log);
  /* Nothing flushed: the recovery point is 0, nothing is cleanable. */
  struct cleaner_config cc = cleaner_defaults();
  ck_assert(!plog_cleaner_due(log, &cc, 2000, INT64_MAX));
  flush_and_wait(log);
  /* Below the high watermark only. */
  ck_assert(!plog_cleaner_due(log, &cc, 2000, 0));
  /* min.compaction.lag.ms: records younger than it stay dirty. */
  cc.min_lag_ms = 10000;
  ck_assert(!plog_cleaner_due(log, &cc, 2000, INT64_MAX));
  ck_assert(plog_cleaner_due(log, &cc, 20000, INT64_MAX));
  plog_close(log);
}
END_TEST

/* A tombstone survives its first pass (which stamps the KIP-534 horizon)
 * and goes in the first pass after delete.retention.ms. */
START_TEST(tombstones_kept_for_delete_retention) {
  struct log_config cfg = small_segments();
  struct plog *log = open_log(&cfg, 0);
  struct cleaner_config cc = cleaner_defaults();
  cc.delete_retention_ms = 5000;
  struct log_content c;
  write_keys(log);
  int64_t tomb = append_batch(log, 1, 4, 100, true, -1); /* k4 deleted, last */
  for (int seq = 0; seq < 90; seq += 3) append_batch(log, 3, 0, 200 + seq, false, -1);
  /* k0, k1 and k2 only from here: k4's tombstone is its latest record */
  flush_and_wait(log);
  clean_fully(log, &cc, 2000, 1 << 20);
  read_all(log, &c);
  const struct record_seen *k4 = latest(&c, "k4");
  ck_assert_ptr_nonnull(k4);
  ck_assert(k4->tombstone);
  ck_assert_int_eq(k4->offset, tomb);
  ck_assert_int_eq(records_of(&c, "k4", INT64_MAX), 1);
  /* Before the horizon (2000 + 5000): still there, even if a pass runs. */
  cc.min_cleanable_ratio = 0.0;
  clean_fully(log, &cc, 6999, 1 << 20);
  read_all(log, &c);
  ck_assert_ptr_nonnull(latest(&c, "k4"));
  /* Past it: a pass is due for it alone, and it goes. */
  cc.min_cleanable_ratio = 0.5;
  ck_assert(plog_cleaner_due(log, &cc, 7001, INT64_MAX));
  clean_fully(log, &cc, 7001, 1 << 20);
  read_all(log, &c);
  ck_assert_ptr_null(latest(&c, "k4"));
  ck_assert_str_eq(latest(&c, "k0")->value, "v287");
  plog_close(log);
}
END_TEST

/* The batches the producer state names survive, empty if all their records
 * went, so the producer's sequence is known after a reopen that rebuilds
 * the state from the log. */
START_TEST(producer_state_kept) {
  struct log_config cfg = small_segments();
  struct plog *log = open_log(&cfg, 0);
  append_batch(log, 3, 0, 0, false, 77); /* producer 77, sequences 0-2: k0 k1 k2 */
  for (int seq = 0; seq < 60; seq += 3) append_batch(log, 3, 0, 100 + seq, false, -1);
  flush_and_wait(log);
  struct cleaner_config cc = cleaner_defaults();
  clean_fully(log, &cc, 2000, 1 << 20);
  struct log_content c;
  read_all(log, &c);
  ck_assert_int_ge(c.empty_batches, 1);
  ck_assert_int_gt(c.records[0].offset, 2); /* producer 77's records went */
  int64_t end = plog_end_offset(log);
  plog_close(log);
  /* No snapshot below the end: the state is rebuilt from batch headers. */
  log = open_log(&cfg, end);
  const struct producer_entry *e = producer_state_find(plog_producers(log), 77);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->batches[e->batch_count - 1].last_sequence, 2);
  ck_assert_int_eq(e->batches[e->batch_count - 1].last_offset, 2);
  plog_close(log);
}
END_TEST

/* ---- a crash at every step of a swap ---- */

/* The node's env, dying at its n-th rename, unlink or dir sync: the node
 * crashes (power loss) inside that call, and nothing after it happens. */
struct dying_env {
  struct env env;
  struct env *inner;
  int calls_left;
  bool dead;
};

static struct dying_env dying;

static bool dies_now(void) {
  if (dying.dead) return true;
  if (dying.calls_left-- > 0) return false;
  dying.dead = true;
  sim_node_crash(node);
  return true;
}

static int dying_rename(struct env *e, const char *from, const char *to) {
  (void)e;
  return dies_now() ? ENV_EIO : dying.inner->rename(dying.inner, from, to);
}

static int dying_unlink(struct env *e, const char *path) {
  (void)e;
  return dies_now() ? ENV_EIO : dying.inner->unlink(dying.inner, path);
}

static int dying_dir_sync(struct env *e, const char *dir) {
  (void)e;
  return dies_now() ? ENV_EIO : dying.inner->dir_sync(dying.inner, dir);
}

/* Runs one pass with the env dying after `calls` renames/unlinks/syncs
 * (counted from the pass's start); true if it died before the pass ended.
 * Then restarts, reopens and checks the log reads whole. */
static bool pass_with_crash_at(int calls) {
  struct log_config cfg = small_segments();
  struct plog *log = open_log(&cfg, 0);
  write_keys(log);
  flush_and_wait(log);
  struct log_content before;
  read_all(log, &before);
  int64_t end = plog_end_offset(log);
  plog_close(log);
  dying = (struct dying_env){.env = *env, .inner = env, .calls_left = calls};
  dying.env.rename = dying_rename;
  dying.env.unlink = dying_unlink;
  dying.env.dir_sync = dying_dir_sync;
  ck_assert_int_eq(plog_open(&dying.env, "/d/t-0", &cfg, end, 0, &log), 0);
  plog_set_compacted(log, true);
  struct cleaner_config cc = cleaner_defaults();
  for (int i = 0; i < ROUNDS_MAX && !dying.dead; i++) {
    int rc = plog_clean_step(log, &cc, 2000, INT64_MAX, 100);
    if (rc == PLOG_CLEAN_DONE || rc == PLOG_CLEAN_IDLE) break;
    if (rc == PLOG_CLEAN_WAIT) ck_assert(sim_step(world));
  }
  bool died = dying.dead;
  if (!died) sim_node_crash(node); /* a power loss after the pass, too */
  dying.dead = true;
  plog_close(log);
  sim_node_restart(node);
  log = open_log(&cfg, end);
  struct log_content after;
  read_all(log, &after);
  ck_assert_int_eq(plog_end_offset(log), end);
  for (int k = 0; k < KEYS; k++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", k);
    ck_assert_ptr_nonnull(latest(&after, key));
    ck_assert_str_eq(latest(&after, key)->value, latest(&before, key)->value);
  }
  /* Every record read is one that was written, at its offset. */
  for (int i = 0, j = 0; i < after.count; i++) {
    while (j < before.count && before.records[j].offset < after.records[i].offset) j++;
    ck_assert_int_lt(j, before.count);
    ck_assert_int_eq(before.records[j].offset, after.records[i].offset);
    ck_assert_str_eq(before.records[j].value, after.records[i].value);
  }
  /* No cleaner file is left behind, and a new pass completes. */
  clean_fully(log, &cc, 3000, 1 << 20);
  read_all(log, &after);
  for (int k = 0; k < KEYS; k++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", k);
    ck_assert_str_eq(latest(&after, key)->value, latest(&before, key)->value);
  }
  plog_close(log);
  return died;
}

START_TEST(crash_at_every_swap_step) {
  int crashes = 0;
  for (int calls = 0; calls < 200; calls++) {
    bool died = pass_with_crash_at(calls);
    sim_world_destroy(world);
    setup();
    if (!died) break;
    crashes++;
  }
  /* Each segment's swap: three renames to .swap, a sync, three renames
   * over, a sync, and removals: many crash points were tried. */
  ck_assert_int_gt(crashes, 8);
}
END_TEST

static Suite *cleaner_suite(void) {
  Suite *s = suite_create("cleaner");
  TCase *tc = tcase_create("cleaner");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, latest_value_per_key_kept);
  tcase_add_test(tc, bounded_steps);
  tcase_add_test(tc, active_segment_and_unflushed_untouched);
  tcase_add_test(tc, tombstones_kept_for_delete_retention);
  tcase_add_test(tc, producer_state_kept);
  tcase_add_test(tc, crash_at_every_swap_step);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(cleaner_suite)
