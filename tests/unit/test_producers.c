/* Idempotent producers (KIP-98, KIP-360): the per-partition state
 * (log/producer_state.h) on its own, and kept by a partition log
 * (log/producers.h) on the simulated disk: appends, reopening from a
 * snapshot and a scan, power losses that take away what a snapshot
 * described, truncation and retention. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "log/producers.h"
#include "proto/record_batch.h"
#include "sim/world.h"
#include "testing.h"

enum { STEPS_MAX = 100000 };

/* ---- batches ---- */

/* A batch of `records` records from a producer (id < 0: none). */
static void make_batch(struct buf *out, int64_t pid, int16_t epoch, int32_t seq, int records,
                       int64_t ts) {
  struct rb_builder b;
  rb_builder_init(&b, 0, ts);
  if (pid >= 0) rb_builder_set_producer(&b, pid, epoch, seq, false);
  for (int i = 0; i < records; i++) {
    char value[32];
    int n = snprintf(value, sizeof value, "v%d-%d", seq, i);
    rb_builder_add(&b, ts + i, (struct kbytes){NULL, -1},
                   (struct kbytes){(const uint8_t *)value, n}, NULL, 0);
  }
  buf_reset(out);
  ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, out), 0);
  rb_builder_free(&b);
}

static struct rb_header header_of(int64_t pid, int16_t epoch, int32_t seq, int records,
                                  int64_t base_offset) {
  return (struct rb_header){.base_offset = base_offset,
                            .last_offset_delta = records - 1,
                            .max_timestamp = 1000 + base_offset,
                            .producer_id = pid,
                            .producer_epoch = epoch,
                            .base_sequence = seq,
                            .record_count = records,
                            .magic = 2};
}

/* ---- the state alone ---- */

START_TEST(state_duplicates_and_gaps) {
  struct producer_state s;
  producer_state_init(&s, 0);
  struct producer_batch dup;
  int64_t offset = 0;
  for (int i = 0; i < 7; i++) { /* seqs 0-2, 3-5, ... 18-20 at offsets 0, 3, ... */
    struct rb_header h = header_of(7, 0, 3 * i, 3, offset);
    ck_assert_int_eq(producer_state_check(&s, &h, &dup), PRODUCER_NEW);
    producer_state_note(&s, &h);
    offset += 3;
  }
  ck_assert_int_eq(s.end_offset, 21);
  const struct producer_entry *e = producer_state_find(&s, 7);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->batch_count, PRODUCER_BATCHES_KEPT);
  /* The last five are duplicates, answered with their own offsets. */
  for (int i = 2; i < 7; i++) {
    struct rb_header h = header_of(7, 0, 3 * i, 3, -1);
    ck_assert_int_eq(producer_state_check(&s, &h, &dup), PRODUCER_DUPLICATE);
    ck_assert_int_eq(dup.first_offset, 3 * i);
    ck_assert_int_eq(dup.last_offset, 3 * i + 2);
  }
  /* Older ones, a different split, a gap, a repeat of the last sequence. */
  struct rb_header old = header_of(7, 0, 3, 3, -1);
  ck_assert_int_eq(producer_state_check(&s, &old, &dup), PRODUCER_OUT_OF_ORDER);
  struct rb_header split = header_of(7, 0, 18, 2, -1);
  ck_assert_int_eq(producer_state_check(&s, &split, &dup), PRODUCER_OUT_OF_ORDER);
  struct rb_header gap = header_of(7, 0, 22, 1, -1);
  ck_assert_int_eq(producer_state_check(&s, &gap, &dup), PRODUCER_OUT_OF_ORDER);
  struct rb_header next = header_of(7, 0, 21, 4, -1);
  ck_assert_int_eq(producer_state_check(&s, &next, &dup), PRODUCER_NEW);
  producer_state_free(&s);
}
END_TEST

START_TEST(state_epochs) {
  struct producer_state s;
  producer_state_init(&s, 100);
  struct producer_batch dup;
  struct rb_header h = header_of(3, 5, 0, 2, 100);
  producer_state_note(&s, &h);
  /* Older epoch: fenced. Newer: must start at 0 (KIP-360's bump). */
  struct rb_header stale = header_of(3, 4, 2, 1, -1);
  ck_assert_int_eq(producer_state_check(&s, &stale, &dup), PRODUCER_STALE_EPOCH);
  struct rb_header stale_dup = header_of(3, 4, 0, 2, -1);
  ck_assert_int_eq(producer_state_check(&s, &stale_dup, &dup), PRODUCER_STALE_EPOCH);
  struct rb_header bump_gap = header_of(3, 6, 2, 1, -1);
  ck_assert_int_eq(producer_state_check(&s, &bump_gap, &dup), PRODUCER_OUT_OF_ORDER);
  struct rb_header bump = header_of(3, 6, 0, 1, 102);
  ck_assert_int_eq(producer_state_check(&s, &bump, &dup), PRODUCER_NEW);
  producer_state_note(&s, &bump);
  const struct producer_entry *e = producer_state_find(&s, 3);
  ck_assert_int_eq(e->epoch, 6);
  ck_assert_int_eq(e->batch_count, 1); /* the old epoch's batches went */
  ck_assert_int_eq(producer_state_check(&s, &h, &dup), PRODUCER_STALE_EPOCH);
  producer_state_free(&s);
}
END_TEST

START_TEST(state_unknown_and_invalid) {
  struct producer_state s;
  producer_state_init(&s, 0);
  struct producer_batch dup;
  /* Kafka 3.x: a producer it does not know starts at any sequence. */
  struct rb_header unknown = header_of(9, 2, 12345, 1, 0);
  ck_assert_int_eq(producer_state_check(&s, &unknown, &dup), PRODUCER_NEW);
  struct rb_header bad_seq = header_of(9, 2, -1, 1, 0);
  ck_assert_int_eq(producer_state_check(&s, &bad_seq, &dup), PRODUCER_INVALID);
  struct rb_header bad_epoch = header_of(9, -1, 0, 1, 0);
  ck_assert_int_eq(producer_state_check(&s, &bad_epoch, &dup), PRODUCER_INVALID);
  /* Batches without a producer, and control batches, only move the end. */
  struct rb_header plain = header_of(-1, -1, -1, 4, 0);
  producer_state_note(&s, &plain);
  struct rb_header control = header_of(9, 2, 0, 1, 4);
  control.attributes = RB_ATTR_CONTROL;
  producer_state_note(&s, &control);
  ck_assert_int_eq(s.count, 0);
  ck_assert_int_eq(s.end_offset, 5);
  producer_state_free(&s);
}
END_TEST

START_TEST(state_sequence_wrap) {
  ck_assert_int_eq(rb_sequence_add(10, 5), 15);
  ck_assert_int_eq(rb_sequence_add(INT32_MAX, 1), 0);
  ck_assert_int_eq(rb_sequence_add(INT32_MAX - 1, 3), 1);
  struct producer_state s;
  producer_state_init(&s, 0);
  struct producer_batch dup;
  struct rb_header h = header_of(1, 0, INT32_MAX - 1, 2, 0); /* ends at INT32_MAX */
  producer_state_note(&s, &h);
  struct rb_header next = header_of(1, 0, 0, 1, -1);
  ck_assert_int_eq(producer_state_check(&s, &next, &dup), PRODUCER_NEW);
  struct rb_header wrapped = header_of(1, 0, INT32_MAX - 1, 3, 2); /* ends at 0 */
  producer_state_note(&s, &wrapped);
  ck_assert_int_eq(producer_state_find(&s, 1)->batches[1].last_sequence, 0);
  struct rb_header after = header_of(1, 0, 1, 1, -1);
  ck_assert_int_eq(producer_state_check(&s, &after, &dup), PRODUCER_NEW);
  producer_state_free(&s);
}
END_TEST

START_TEST(state_bound_and_expiry) {
  struct producer_state s;
  producer_state_init(&s, 0);
  /* Ids inserted in descending order; timestamps make id 100 the oldest. */
  for (int64_t i = 0; i < PRODUCER_IDS_MAX; i++) {
    struct rb_header h = header_of(100 + PRODUCER_IDS_MAX - 1 - i, 0, 0, 1, i);
    h.max_timestamp = i == PRODUCER_IDS_MAX - 1 ? 500 : 5000 + i;
    producer_state_note(&s, &h);
  }
  ck_assert_int_eq(s.count, PRODUCER_IDS_MAX);
  for (int32_t i = 1; i < s.count; i++)
    ck_assert_int_lt(s.entries[i - 1].producer_id, s.entries[i].producer_id);
  struct rb_header one_more = header_of(1, 0, 0, 1, PRODUCER_IDS_MAX);
  one_more.max_timestamp = 99999;
  producer_state_note(&s, &one_more);
  ck_assert_int_eq(s.count, PRODUCER_IDS_MAX);
  ck_assert_ptr_null(producer_state_find(&s, 100)); /* idle longest */
  ck_assert_ptr_nonnull(producer_state_find(&s, 1));
  /* producer.id.expiration.ms: idle for 10 s at 15000 is everyone up to 5000. */
  int32_t gone = producer_state_expire(&s, 15000, 10000);
  ck_assert_int_eq(gone, 1);
  gone = producer_state_expire(&s, 100000, 10000);
  ck_assert_int_eq(gone, PRODUCER_IDS_MAX - 2);
  ck_assert_int_eq(s.count, 1);
  ck_assert_ptr_nonnull(producer_state_find(&s, 1));
  producer_state_free(&s);
}
END_TEST

START_TEST(state_snapshot_round_trip) {
  struct producer_state s, back;
  producer_state_init(&s, 0);
  producer_state_init(&back, 0);
  int64_t offset = 0;
  for (int i = 0; i < 30; i++) {
    struct rb_header h = header_of(i % 4, (int16_t)(i / 10), (i % 10) * 2, 2, offset);
    producer_state_note(&s, &h);
    offset += 2;
  }
  struct buf a, b;
  buf_init(&a);
  buf_init(&b);
  producer_state_encode(&s, &a);
  ck_assert(producer_state_decode(a.data, a.len, &back));
  producer_state_encode(&back, &b);
  ck_assert_uint_eq(a.len, b.len);
  ck_assert_mem_eq(a.data, b.data, a.len);
  ck_assert_int_eq(back.end_offset, 60);
  ck_assert_int_eq(back.count, 4);
  /* Every flipped byte and every cut is refused. */
  for (size_t i = 0; i < a.len; i++) {
    a.data[i] ^= 0x10;
    ck_assert(!producer_state_decode(a.data, a.len, &back));
    a.data[i] ^= 0x10;
  }
  for (size_t n = 0; n < a.len; n++) ck_assert(!producer_state_decode(a.data, n, &back));
  ck_assert_int_eq(back.count, 0);
  buf_free(&a);
  buf_free(&b);
  producer_state_free(&s);
  producer_state_free(&back);
}
END_TEST

/* ---- kept by a log, on the simulated disk ---- */

struct fixture {
  struct sim_world *w;
  struct sim_node *n;
  struct env *env;
  struct log_config cfg;
  struct plog *log;
  struct buf batch;
  int32_t next_seq[4]; /* producers 1..3 of produce_rounds */
};

static void fixture_init(struct fixture *f, uint64_t seed, int64_t segment_bytes) {
  memset(f, 0, sizeof *f);
  f->w = sim_world_create(seed);
  f->n = sim_node_add(f->w, 1, "n1");
  f->env = sim_node_env(f->n);
  ck_assert_int_eq(f->env->mkdir(f->env, "/d"), 0);
  f->cfg = (struct log_config){.segment_bytes = segment_bytes,
                               .roll_ms = -1,
                               .retention_ms = -1,
                               .retention_bytes = -1,
                               .index_interval_bytes = 4096,
                               .index_bytes_max = 1 << 20};
  buf_init(&f->batch);
}

static void fixture_open(struct fixture *f, int64_t recovery_point) {
  ck_assert_int_eq(plog_open(f->env, "/d/t-0", &f->cfg, recovery_point, 0, &f->log), 0);
}

static void settle(struct fixture *f) {
  for (int i = 0; i < STEPS_MAX && sim_step(f->w); i++) {
  }
}

static void fixture_free(struct fixture *f) {
  if (f->log) plog_close(f->log);
  settle(f);
  sim_world_destroy(f->w);
  buf_free(&f->batch);
}

/* Produce as the server does: judged, then appended if new. Returns the
 * verdict; *offset is where it is (new or duplicate). */
static enum producer_verdict produce(struct fixture *f, int64_t pid, int16_t epoch, int32_t seq,
                                     int records, int64_t *offset) {
  make_batch(&f->batch, pid, epoch, seq, records, 1000 + seq);
  struct producer_batch dup;
  enum producer_verdict v = plog_producer_check(f->log, f->batch.data, f->batch.len, &dup);
  if (v == PRODUCER_DUPLICATE) *offset = dup.first_offset;
  if (v != PRODUCER_NEW) return v;
  struct plog_append_info info;
  ck_assert_int_eq(plog_append(f->log, f->batch.data, f->batch.len, 0, 5000, &info), 0);
  *offset = info.base_offset;
  return v;
}

static void on_done_flag(void *ctx, int err) {
  ck_assert_int_eq(err, 0);
  *(bool *)ctx = true;
}

static void flush_and_wait(struct fixture *f) {
  bool done = false;
  plog_flush(f->log, on_done_flag, &done);
  settle(f);
  ck_assert(done);
}

static bool exists(struct fixture *f, int64_t offset, const char *suffix) {
  char path[128];
  snprintf(path, sizeof path, "/d/t-0/%020lld%s", (long long)offset, suffix);
  env_file fd;
  int rc = f->env->open(f->env, path, ENV_O_READONLY, &fd);
  if (rc == 0) f->env->file_close(f->env, fd);
  return rc == 0;
}

/* Snapshot files at offsets [from, to). */
static int snapshots_between(struct fixture *f, int64_t from, int64_t to) {
  int n = 0;
  for (int64_t o = from; o < to; o++) n += exists(f, o, ".snapshot");
  return n;
}

/* The state the log keeps is the one a scan of the whole log makes (from
 * the log start: producers of deleted batches aside, which the caller
 * checks). */
static void check_state_is_the_logs(struct fixture *f) {
  struct producer_state scan;
  producer_state_init(&scan, 0);
  int64_t offset = plog_start_offset(f->log);
  for (int i = 0; i < STEPS_MAX && offset < plog_end_offset(f->log); i++) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(f->log, offset, 1, true, INT64_MAX, &r), 0);
    uint8_t head[RB_HEADER_BYTES];
    ck_assert_int_eq(f->env->pread(f->env, r.file, head, sizeof head, r.file_offset),
                     (int64_t)sizeof head);
    struct rb_header h;
    ck_assert(rb_header_read(head, sizeof head, &h));
    producer_state_advance(&scan, h.base_offset);
    producer_state_note(&scan, &h);
    offset = rb_header_last_offset(&h) + 1;
  }
  const struct producer_state *kept = plog_producers(f->log);
  ck_assert_int_eq(kept->end_offset, plog_end_offset(f->log));
  ck_assert_int_eq(kept->count, scan.count);
  for (int32_t i = 0; i < scan.count; i++) {
    const struct producer_entry *a = &kept->entries[i], *b = &scan.entries[i];
    ck_assert_int_eq(a->producer_id, b->producer_id);
    ck_assert_int_eq(a->epoch, b->epoch);
    ck_assert_int_eq(a->batch_count, b->batch_count);
    ck_assert_mem_eq(a->batches, b->batches, (size_t)a->batch_count * sizeof a->batches[0]);
  }
  producer_state_free(&scan);
}

static void reopen(struct fixture *f) {
  int64_t end = plog_end_offset(f->log);
  plog_close(f->log);
  settle(f);
  fixture_open(f, end);
}

START_TEST(log_duplicates_survive_reopen) {
  struct fixture f;
  fixture_init(&f, 1, 1 << 20);
  fixture_open(&f, 0);
  int64_t offsets[6], off;
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(produce(&f, 42, 0, 4 * i, 4, &offsets[i]), PRODUCER_NEW);
    ck_assert_int_eq(offsets[i], 4 * i);
  }
  ck_assert_int_eq(produce(&f, 42, 0, 20, 4, &off), PRODUCER_DUPLICATE);
  ck_assert_int_eq(off, 20);
  /* Interleaved without a producer: offsets move, sequences do not. */
  ck_assert_int_eq(produce(&f, -1, -1, -1, 3, &off), PRODUCER_NEW);
  ck_assert_int_eq(produce(&f, 42, 0, 24, 2, &off), PRODUCER_NEW);
  ck_assert_int_eq(off, 27);
  flush_and_wait(&f);
  reopen(&f); /* no snapshot: the open scans */
  ck_assert_int_eq(snapshots_between(&f, 0, 100), 0);
  check_state_is_the_logs(&f);
  ck_assert_int_eq(produce(&f, 42, 0, 8, 4, &off), PRODUCER_DUPLICATE);
  ck_assert_int_eq(off, 8);
  ck_assert_int_eq(produce(&f, 42, 0, 24, 2, &off), PRODUCER_DUPLICATE);
  ck_assert_int_eq(off, 27);
  ck_assert_int_eq(produce(&f, 42, 0, 0, 4, &off), PRODUCER_OUT_OF_ORDER); /* out of the 5 */
  ck_assert_int_eq(produce(&f, 42, 0, 27, 1, &off), PRODUCER_OUT_OF_ORDER);
  ck_assert_int_eq(produce(&f, 42, 1, 0, 1, &off), PRODUCER_NEW); /* a bumped epoch */
  ck_assert_int_eq(produce(&f, 42, 0, 26, 1, &off), PRODUCER_STALE_EPOCH);
  /* Two batches with a producer in one produce: refused. */
  struct buf two;
  buf_init(&two);
  make_batch(&f.batch, 42, 1, 1, 1, 1);
  buf_append(&two, f.batch.data, f.batch.len);
  make_batch(&f.batch, 42, 1, 2, 1, 1);
  buf_append(&two, f.batch.data, f.batch.len);
  struct producer_batch dup;
  ck_assert_int_eq(plog_producer_check(f.log, two.data, two.len, &dup), PRODUCER_INVALID);
  buf_free(&two);
  fixture_free(&f);
}
END_TEST

/* Three producers taking turns, two records a batch, over small segments. */
static void produce_rounds(struct fixture *f, int count) {
  int64_t off;
  for (int i = 0; i < count; i++) {
    int pid = 1 + i % 3;
    ck_assert_int_eq(produce(f, pid, 0, f->next_seq[pid], 2, &off), PRODUCER_NEW);
    f->next_seq[pid] += 2;
  }
}

/* After a loss: each producer carries on after what the log kept. */
static void next_seqs_from_log(struct fixture *f) {
  for (int pid = 1; pid <= 3; pid++) {
    const struct producer_entry *e = producer_state_find(plog_producers(f->log), pid);
    f->next_seq[pid] = e ? e->batches[e->batch_count - 1].last_sequence + 1 : 0;
  }
}

START_TEST(log_snapshots_at_roll_and_shutdown) {
  struct fixture f;
  fixture_init(&f, 2, 600); /* a few batches per segment */
  fixture_open(&f, 0);
  produce_rounds(&f, 40);
  flush_and_wait(&f);
  int64_t end = plog_end_offset(f.log);
  ck_assert_int_gt(plog_segment_count(f.log), 3);
  /* Each roll wrote a snapshot at the new segment's base. */
  ck_assert_int_eq(snapshots_between(&f, 0, end + 1), plog_segment_count(f.log) - 1);
  bool landed = false;
  plog_producers_snapshot(f.log, on_done_flag, &landed); /* a clean shutdown's */
  settle(&f);
  ck_assert(landed);
  ck_assert(exists(&f, end, ".snapshot"));
  reopen(&f);
  check_state_is_the_logs(&f);
  int64_t off;
  ck_assert_int_eq(produce(&f, 2, 0, 24, 2, &off), PRODUCER_DUPLICATE);
  /* A snapshot that does not read back is deleted; the next older one and
   * a longer scan do. */
  env_file fd;
  char path[128];
  snprintf(path, sizeof path, "/d/t-0/%020lld.snapshot", (long long)end);
  ck_assert_int_eq(f.env->open(f.env, path, 0, &fd), 0);
  ck_assert_int_eq(f.env->pwrite(f.env, fd, "junk", 4, 10), 4);
  f.env->file_close(f.env, fd);
  reopen(&f);
  ck_assert(!exists(&f, end, ".snapshot"));
  check_state_is_the_logs(&f);
  /* Shutdown snapshots inside a segment are kept only while newest. */
  landed = false;
  plog_producers_snapshot(f.log, on_done_flag, &landed);
  settle(&f);
  ck_assert(landed && exists(&f, end, ".snapshot"));
  produce_rounds(&f, 1);
  int64_t end2 = plog_end_offset(f.log);
  landed = false;
  plog_producers_snapshot(f.log, on_done_flag, &landed);
  settle(&f);
  ck_assert(landed && exists(&f, end2, ".snapshot"));
  reopen(&f);
  ck_assert(!exists(&f, end, ".snapshot"));
  ck_assert(exists(&f, end2, ".snapshot"));
  check_state_is_the_logs(&f);
  fixture_free(&f);
}
END_TEST

/* A power loss takes the unsynced batches a landed snapshot described: the
 * snapshot goes before anything new lands at its offsets. */
START_TEST(log_power_loss_drops_snapshots_past_the_end) {
  int stale_seen = 0;
  for (uint64_t seed = 1; seed <= 6; seed++) {
    struct fixture f;
    fixture_init(&f, seed, 600);
    fixture_open(&f, 0);
    produce_rounds(&f, 10);
    flush_and_wait(&f);
    int64_t durable = plog_end_offset(f.log);
    produce_rounds(&f, 30); /* rolls: their snapshots land, the batches are unsynced */
    settle(&f);
    int64_t before = plog_end_offset(f.log);
    sim_node_crash(f.n);
    plog_close(f.log);
    f.log = NULL;
    sim_node_restart(f.n);
    fixture_open(&f, durable);
    int64_t end = plog_end_offset(f.log);
    ck_assert_int_ge(end, durable);
    ck_assert_int_eq(snapshots_between(&f, end + 1, before + 1), 0);
    check_state_is_the_logs(&f);
    stale_seen += end < before;
    /* New batches over the lost offsets, another power loss: still the
     * log's own state. */
    int64_t off;
    ck_assert_int_eq(produce(&f, 7, 0, 0, 3, &off), PRODUCER_NEW);
    next_seqs_from_log(&f);
    produce_rounds(&f, 30);
    settle(&f);
    sim_node_crash(f.n);
    plog_close(f.log);
    f.log = NULL;
    sim_node_restart(f.n);
    fixture_open(&f, end);
    check_state_is_the_logs(&f);
    fixture_free(&f);
  }
  ck_assert_int_gt(stale_seen, 0);
}
END_TEST

START_TEST(log_truncation_rebuilds) {
  struct fixture f;
  fixture_init(&f, 3, 600);
  fixture_open(&f, 0);
  produce_rounds(&f, 30);
  flush_and_wait(&f);
  int64_t end_before = plog_end_offset(f.log);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(f.log, end_before / 2 + 1, &end), 0);
  ck_assert_int_eq(snapshots_between(&f, end + 1, end_before + 1), 0);
  check_state_is_the_logs(&f);
  /* The producer's next batch is the one after the cut. */
  const struct producer_entry *e = producer_state_find(plog_producers(f.log), 1);
  ck_assert_ptr_nonnull(e);
  int32_t next = e->batches[e->batch_count - 1].last_sequence + 1;
  int64_t off;
  ck_assert_int_eq(produce(&f, 1, 0, next + 2, 2, &off), PRODUCER_OUT_OF_ORDER);
  ck_assert_int_eq(produce(&f, 1, 0, next, 2, &off), PRODUCER_NEW);
  ck_assert_int_eq(off, end);
  next_seqs_from_log(&f);
  /* A snapshot still being written when a truncation goes below it never
   * lands. */
  flush_and_wait(&f);
  produce_rounds(&f, 8); /* rolls: snapshot writes in flight */
  int64_t end2 = plog_end_offset(f.log);
  ck_assert_int_eq(plog_truncate_to(f.log, end + 2, &end), 0);
  settle(&f);
  ck_assert_int_eq(snapshots_between(&f, end + 1, end2 + 1), 0);
  check_state_is_the_logs(&f);
  reopen(&f);
  check_state_is_the_logs(&f);
  fixture_free(&f);
}
END_TEST

START_TEST(log_retention_keeps_producers) {
  struct fixture f;
  fixture_init(&f, 4, 600);
  fixture_open(&f, 0);
  int64_t off, early;
  ck_assert_int_eq(produce(&f, 99, 3, 0, 1, &early), PRODUCER_NEW);
  produce_rounds(&f, 40);
  flush_and_wait(&f);
  int64_t end = plog_end_offset(f.log);
  int segments = plog_segment_count(f.log);
  ck_assert_int_eq(plog_set_start_offset(f.log, end - 5), 0);
  ck_assert_int_lt(plog_segment_count(f.log), segments);
  int64_t first = plog_start_offset(f.log);
  /* KIP-360: producer 99's batch is gone, the producer is not. */
  ck_assert_ptr_nonnull(producer_state_find(plog_producers(f.log), 99));
  ck_assert_int_eq(produce(&f, 99, 3, 0, 1, &off), PRODUCER_DUPLICATE);
  ck_assert_int_eq(off, early);
  ck_assert_int_eq(produce(&f, 99, 3, 5, 1, &off), PRODUCER_OUT_OF_ORDER);
  /* Snapshots of deleted segments went, but the one at the new first
   * segment's base (which holds producer 99) stays. */
  settle(&f);
  ck_assert_int_le(snapshots_between(&f, 0, first), 1);
  reopen(&f);
  ck_assert_ptr_nonnull(producer_state_find(plog_producers(f.log), 99));
  ck_assert_int_eq(produce(&f, 99, 3, 1, 1, &off), PRODUCER_NEW);
  fixture_free(&f);
}
END_TEST

static Suite *producers_suite(void) {
  Suite *s = suite_create("producers");
  struct {
    const char *name;
    const TTest *test;
  } tests[] = {
      {"state_duplicates", state_duplicates_and_gaps},
      {"state_epochs", state_epochs},
      {"state_unknown", state_unknown_and_invalid},
      {"state_wrap", state_sequence_wrap},
      {"state_bound", state_bound_and_expiry},
      {"state_snapshot", state_snapshot_round_trip},
      {"log_reopen", log_duplicates_survive_reopen},
      {"log_snapshots", log_snapshots_at_roll_and_shutdown},
      {"log_power_loss", log_power_loss_drops_snapshots_past_the_end},
      {"log_truncation", log_truncation_rebuilds},
      {"log_retention", log_retention_keeps_producers},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tests[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

TEST_MAIN(producers_suite)
