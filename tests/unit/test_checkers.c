/* The history checkers catch each of Jepsen's queue anomalies, pass a
 * clean history, and hold every allowance to its bound: a loss inside it
 * passes, one offset outside fails; a duplicate needs a retry; an absurd
 * event is a finding, not an abort; the final read must reach the end. */
#include <string.h>

#include "proto/errors.h"
#include "proto/record_batch.h"
#include "sim/history.h"
#include "sim/oracle.h"
#include "sim/world.h"
#include "testing.h"

static struct history h;
static uint64_t now;
static int16_t incarnation; /* the broker process answering acks and polls */
static uint32_t allow[CHECKERS_MAX];

static void ev(enum history_kind kind, int32_t client, uint64_t value, int64_t offset) {
  struct history_event e = {.time_ns = now++,
                            .kind = kind,
                            .client = (int16_t)client,
                            .partition = 0,
                            .value = value,
                            .offset = offset,
                            .durable_ack = true};
  if (kind == HISTORY_ACK || kind == HISTORY_POLL) e.incarnation = incarnation;
  history_add(&h, &e);
}

static void retry(int32_t client, uint64_t value, int16_t attempt) {
  struct history_event e = {.time_ns = now++,
                            .kind = HISTORY_RETRY,
                            .client = (int16_t)client,
                            .value = value,
                            .offset = -1,
                            .attempt = attempt};
  history_add(&h, &e);
}

/* Sends and acks values from..to-1 at offsets from..to-1 from producer 0. */
static void produce_range(int from, int to) {
  for (int i = from; i < to; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  for (int i = from; i < to; i++) ev(HISTORY_ACK, 0, (uint64_t)i, i);
}
static void produce(int n) { produce_range(0, n); }

/* The broker restarts (process incarnation + 1) having kept offsets below
 * `offset` of stream 0. */
static void cut(int64_t offset, enum history_allowance reason) {
  incarnation++;
  struct history_cut c = {.time_ns = now++,
                          .incarnation = incarnation,
                          .offset = offset,
                          .last_offset = offset,
                          .broker_end = offset,
                          .stream = 0,
                          .node = 1,
                          .reason = (uint8_t)reason};
  history_add_cut(&h, &c);
}

/* Consumer `client` seeks to `from` and reads offsets from..to-1 holding
 * values from..to-1. */
static void read_range(int32_t client, int from, int to) {
  ev(HISTORY_SEEK, client, 0, from);
  for (int i = from; i < to; i++) ev(HISTORY_POLL, client, (uint64_t)i, i);
}

static int64_t bound_ms = -1;

static struct check_result result(const char *name, bool final_read) {
  struct check_result r[CHECKERS_MAX];
  struct history_check_config cfg = {
      .final_read = final_read, .max_unavailability_ms = bound_ms, .end_ns = now};
  memcpy(cfg.allow, allow, sizeof allow);
  int n = history_check(&h, &cfg, r, CHECKERS_MAX);
  ck_assert_int_eq(n, CHECKERS_MAX);
  for (int i = 0; i < n; i++)
    if (strcmp(r[i].name, name) == 0) return r[i];
  ck_abort_msg("no checker %s", name);
  return r[0];
}

static size_t count(const char *name, bool final_read) {
  if (name) return result(name, final_read).violations;
  size_t total = 0;
  for (int c = 0; c < CHECKERS_MAX; c++)
    total += result(history_checker_names[c], final_read).violations;
  return total;
}

static size_t within(const char *name) { return result(name, true).allowed; }

static void setup(void) {
  history_init(&h);
  now = 0;
  bound_ms = -1;
  incarnation = 1;
  memset(allow, 0, sizeof allow);
}
static void teardown(void) { history_free(&h); }

START_TEST(clean_history_passes) {
  produce(10);
  read_range(1, 0, 10);
  ck_assert_uint_eq(count(NULL, true), 0);
}
END_TEST

START_TEST(lost_write) {
  produce(10);
  read_range(1, 0, 9);
  ck_assert_uint_eq(count("lost-write", true), 1);
  ck_assert_uint_eq(count("lost-write", false), 0);
  ck_assert_uint_eq(count("unseen", false), 1);
}
END_TEST

/* Retention deleted offsets below 4; the final reader was sent there (the
 * log start after OFFSET_OUT_OF_RANGE). Losing 0..3 is the allowance;
 * losing 7 as well is outside it, and without the allowance all is loss. */
START_TEST(retention_allows_only_what_lies_below_the_log_start) {
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_RETENTION;
  produce(10);
  h.final_reader = 1;
  read_range(1, 4, 10);
  ck_assert_uint_eq(count("lost-write", true), 0);
  ck_assert_uint_eq(within("lost-write"), 4);
  ck_assert_uint_eq(count("poll-skip", true), 0);
  history_free(&h);
  setup();
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_RETENTION;
  produce(10);
  h.final_reader = 1;
  read_range(1, 4, 7); /* the final reader seeks only to the log start */
  ev(HISTORY_POLL, 1, 8, 8);
  ev(HISTORY_POLL, 1, 9, 9);
  ck_assert_uint_eq(count("lost-write", true), 1);
  history_free(&h);
  setup();
  produce(10);
  h.final_reader = 1;
  read_range(1, 4, 10);
  ck_assert_uint_eq(count("lost-write", true), 4);
}
END_TEST

/* An answered DeleteRecords below 4: losing 0..3 is the allowance
 * delete-records; the final reader's log start past 4 (a broker that
 * deleted more than asked) does not widen it, unlike retention's. */
START_TEST(delete_records_allows_only_what_lies_below_the_offset_asked) {
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_DELETE_RECORDS;
  produce(10);
  ev(HISTORY_DELETE, 2, 0, 4);
  h.final_reader = 1;
  read_range(1, 4, 10);
  ck_assert_uint_eq(count("lost-write", true), 0);
  ck_assert_uint_eq(within("lost-write"), 4);
  history_free(&h);
  setup();
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_DELETE_RECORDS;
  produce(10);
  ev(HISTORY_DELETE, 2, 0, 4);
  h.final_reader = 1;
  read_range(1, 5, 10); /* sent to the log start the broker reported */
  ck_assert_uint_eq(count("lost-write", true), 1);
  history_free(&h);
  setup();
  produce(10); /* no allowance: all four are lost */
  ev(HISTORY_DELETE, 2, 0, 4);
  h.final_reader = 1;
  read_range(1, 4, 10);
  ck_assert_uint_eq(count("lost-write", true), 4);
}
END_TEST

/* Values 0..9 acknowledged; a power loss keeps offsets below 6. Losing
 * 6..9 is exactly the allowance; losing 5 as well is outside it. */
START_TEST(loss_inside_the_power_loss_allowance_passes) {
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_POWER_LOSS_TAIL;
  produce(10);
  cut(6, ALLOW_POWER_LOSS_TAIL);
  h.final_reader = 1;
  read_range(1, 0, 6);
  ck_assert_uint_eq(count("lost-write", true), 0);
  ck_assert_uint_eq(within("lost-write"), 4);
  ck_assert_uint_eq(result("lost-write", true).bound, 4);
}
END_TEST

START_TEST(loss_one_offset_below_the_cut_fails) {
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_POWER_LOSS_TAIL;
  produce(10);
  cut(6, ALLOW_POWER_LOSS_TAIL);
  h.final_reader = 1;
  read_range(1, 0, 5);
  ck_assert_uint_eq(count("lost-write", true), 1);
  ck_assert_uint_eq(within("lost-write"), 4);
  struct check_result r = result("lost-write", true);
  ck_assert_msg(strstr(r.first, "value 5 acknowledged at partition 0 offset 5") != NULL, "%s",
                r.first);
}
END_TEST

/* The same loss without the allowance, or with another one, fails. */
START_TEST(loss_needs_its_own_allowance) {
  produce(10);
  cut(6, ALLOW_POWER_LOSS_TAIL);
  h.final_reader = 1;
  read_range(1, 0, 6);
  ck_assert_uint_eq(count("lost-write", true), 4);
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_CORRUPT_BATCH;
  ck_assert_uint_eq(count("lost-write", true), 4);
}
END_TEST

/* A loss after the cut (acknowledged by the process that came back) is
 * not the power loss's. */
START_TEST(loss_after_the_cut_fails) {
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_POWER_LOSS_TAIL;
  produce(6);
  cut(6, ALLOW_POWER_LOSS_TAIL);
  produce_range(6, 10);
  h.final_reader = 1;
  read_range(1, 0, 6);
  ck_assert_uint_eq(count("lost-write", true), 4);
}
END_TEST

/* After a cut at 6, offsets 6..9 are reused by new values: allowed for
 * exactly those offsets; a reuse of offset 5 is not. */
START_TEST(offsets_past_the_cut_may_be_reused) {
  for (int c = CHECK_LOST_WRITE; c <= CHECK_NONMONOTONIC_SEND; c++)
    allow[c] = 1u << ALLOW_POWER_LOSS_TAIL;
  allow[CHECK_DUPLICATE] = 0;
  produce(10);
  cut(6, ALLOW_POWER_LOSS_TAIL);
  for (int i = 10; i < 14; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  for (int i = 10; i < 14; i++) ev(HISTORY_ACK, 0, (uint64_t)i, i - 4);
  h.final_reader = 1;
  read_range(1, 0, 6);
  for (int i = 10; i < 14; i++) ev(HISTORY_POLL, 1, (uint64_t)i, i - 4);
  ck_assert_uint_eq(count(NULL, true), 0);
  ck_assert_uint_eq(within("inconsistent-offsets"), 4);
  ck_assert_uint_eq(within("nonmonotonic-send"), 1);
  ev(HISTORY_SEND, 0, 14, -1);
  ev(HISTORY_ACK, 0, 14, 5); /* below the cut: offset 5 was kept */
  ck_assert_uint_ge(count("inconsistent-offsets", true), 1);
  ck_assert_uint_ge(count("nonmonotonic-send", true), 1);
}
END_TEST

/* Reuse without a cut in between is inconsistent whatever is allowed. */
START_TEST(reuse_without_a_cut_fails) {
  allow[CHECK_INCONSISTENT_OFFSETS] = 1u << ALLOW_POWER_LOSS_TAIL;
  produce(4);
  cut(2, ALLOW_POWER_LOSS_TAIL);
  produce_range(4, 6);
  ev(HISTORY_SEND, 0, 6, -1);
  ev(HISTORY_ACK, 0, 6, 4); /* offset 4 already said value 4, in this process */
  ck_assert_uint_eq(count("inconsistent-offsets", false), 1);
}
END_TEST

/* An acknowledgement that the network held across a restart still tells
 * of the process that sent it: what counts is the incarnation. */
START_TEST(a_late_frame_belongs_to_the_process_that_sent_it) {
  allow[CHECK_INCONSISTENT_OFFSETS] = 1u << ALLOW_POWER_LOSS_TAIL;
  produce(4);
  ev(HISTORY_POLL, 1, 3, 3);
  cut(2, ALLOW_POWER_LOSS_TAIL);
  incarnation = 1; /* a poll answered before the restart, delivered after it */
  ev(HISTORY_POLL, 2, 3, 3);
  incarnation = 2;
  ev(HISTORY_SEND, 0, 9, -1);
  ev(HISTORY_ACK, 0, 9, 3);
  ck_assert_uint_eq(count("inconsistent-offsets", false), 0);
  ck_assert_uint_eq(within("inconsistent-offsets"), 1);
}
END_TEST

/* The same, delivered after the new process acknowledged another value at
 * that offset (swarm seed 192); without a cut between them it fails. */
START_TEST(a_late_frame_after_the_offset_was_reused) {
  allow[CHECK_INCONSISTENT_OFFSETS] = 1u << ALLOW_POWER_LOSS_TAIL;
  produce(4);
  cut(2, ALLOW_POWER_LOSS_TAIL);
  ev(HISTORY_SEND, 0, 9, -1);
  ev(HISTORY_ACK, 0, 9, 3);
  incarnation = 1; /* answered before the restart, delivered now */
  ev(HISTORY_POLL, 2, 3, 3);
  incarnation = 2;
  ev(HISTORY_POLL, 1, 9, 3); /* the slot kept value 9, of the newer process */
  ck_assert_uint_eq(count("inconsistent-offsets", false), 0);
  ck_assert_uint_eq(within("inconsistent-offsets"), 2);
  ev(HISTORY_SEND, 0, 10, -1);
  ev(HISTORY_ACK, 0, 10, 1); /* below the cut: offset 1 still holds value 1 */
  incarnation = 1;
  ev(HISTORY_POLL, 2, 1, 1);
  ck_assert_uint_eq(count("inconsistent-offsets", false), 1);
}
END_TEST

START_TEST(duplicate) {
  produce(3);
  ev(HISTORY_SEND, 0, 3, -1); /* a fourth record may exist */
  ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 1, 1);
  ev(HISTORY_POLL, 1, 2, 2);
  ev(HISTORY_POLL, 1, 1, 3); /* value 1 again, at another offset */
  ck_assert_uint_eq(count("duplicate", true), 1);
}
END_TEST

/* A value sent once and stored twice is a duplicate even where retried
 * sends are allowed; sent twice, two copies pass and three do not. */
START_TEST(duplicate_without_a_retry_fails) {
  allow[CHECK_DUPLICATE] = 1u << ALLOW_RETRIED_SENDS;
  for (int i = 0; i < 3; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  retry(0, 2, 2);
  for (int i = 0; i < 3; i++) ev(HISTORY_ACK, 0, (uint64_t)i, i);
  ev(HISTORY_SEND, 0, 3, -1);
  ev(HISTORY_ACK, 0, 3, 5);
  read_range(1, 0, 3);
  ev(HISTORY_POLL, 1, 2, 3); /* value 2 again: it was sent twice */
  ck_assert_uint_eq(count("duplicate", true), 0);
  ck_assert_uint_eq(within("duplicate"), 1);
  ck_assert_uint_eq(result("duplicate", true).bound, 1);
  ev(HISTORY_POLL, 1, 1, 4); /* value 1 again: sent once */
  ck_assert_uint_eq(count("duplicate", true), 1);
  struct check_result r = result("duplicate", true);
  ck_assert_msg(strstr(r.first, "value 1 read at offsets 1 and 4") != NULL, "%s", r.first);
  ck_assert_msg(strstr(r.first, "sent 1 time)") != NULL, "%s", r.first);
}
END_TEST

START_TEST(more_copies_than_sends_fail) {
  allow[CHECK_DUPLICATE] = 1u << ALLOW_RETRIED_SENDS;
  ev(HISTORY_SEND, 0, 0, -1);
  retry(0, 0, 2);
  ev(HISTORY_SEND, 0, 1, -1);
  ev(HISTORY_SEND, 0, 2, -1);
  ev(HISTORY_ACK, 0, 0, 0);
  ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 0, 1);
  ck_assert_uint_eq(count("duplicate", true), 0);
  ev(HISTORY_POLL, 1, 0, 2); /* a third copy of a value sent twice */
  ck_assert_uint_eq(count("duplicate", true), 1);
}
END_TEST

START_TEST(inconsistent_offsets) {
  produce(3);
  ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 2, 1); /* offset 1 was acked as value 1 */
  ck_assert_uint_ge(count("inconsistent-offsets", false), 1);
}
END_TEST

/* A value read somewhere, but never at the offset it was acknowledged at
 * (the offset itself never read as anything else). */
START_TEST(read_offset_differs_from_the_acknowledged_one) {
  for (int i = 0; i < 4; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  ev(HISTORY_ACK, 0, 0, 0);
  ev(HISTORY_ACK, 0, 1, 2); /* acknowledged at 2 ... */
  ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 1, 1); /* ... read at 1 */
  struct check_result r = result("inconsistent-offsets", false);
  ck_assert_uint_eq(r.violations, 1);
  ck_assert_msg(strstr(r.first, "value 1 acknowledged at partition 0 offset 2 was read at "
                                "offset 1") != NULL,
                "%s", r.first);
}
END_TEST

START_TEST(nonmonotonic_send_and_poll) {
  for (int i = 0; i < 6; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  ev(HISTORY_ACK, 0, 0, 5);
  ev(HISTORY_ACK, 0, 1, 4);
  ck_assert_uint_eq(count("nonmonotonic-send", false), 1);
  ev(HISTORY_POLL, 1, 0, 5);
  ev(HISTORY_POLL, 1, 1, 4);
  ck_assert_uint_eq(count("nonmonotonic-poll", false), 1);
}
END_TEST

START_TEST(poll_skip) {
  produce(3);
  ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 2, 2); /* offset 1 holds value 1 */
  ck_assert_uint_eq(count("poll-skip", false), 1);
}
END_TEST

/* A seek sets where the consumer reads next: the first read after it must
 * be there, the jump to it is the seek's; a seek back is no nonmonotonic
 * read. */
START_TEST(poll_skip_covers_seeks) {
  produce(10);
  ev(HISTORY_SEEK, 1, 0, 0);
  ev(HISTORY_POLL, 1, 2, 2); /* right after a seek to 0: offsets 0 and 1 skipped */
  ck_assert_uint_eq(count("poll-skip", false), 1);
  struct check_result r = result("poll-skip", false);
  ck_assert_msg(strstr(r.first, "skipped offset 0 (value 0) reading 2 after a seek to 0") !=
                    NULL,
                "%s", r.first);
  ev(HISTORY_SEEK, 1, 0, 6);
  ev(HISTORY_POLL, 1, 6, 6); /* the seek explains 3..5 */
  ev(HISTORY_SEEK, 1, 0, 1);
  ev(HISTORY_POLL, 1, 1, 1); /* back: not nonmonotonic */
  ck_assert_uint_eq(count("poll-skip", false), 1);
  ck_assert_uint_eq(count("nonmonotonic-poll", false), 0);
  ev(HISTORY_SEEK, 1, 0, 7);
  ev(HISTORY_POLL, 1, 9, 9); /* 7 and 8 after a seek to 7 */
  ck_assert_uint_eq(count("poll-skip", false), 2);
  ev(HISTORY_SEEK, 1, 0, 5);
  ev(HISTORY_POLL, 1, 4, 4); /* before where it sought */
  ck_assert_uint_eq(count("nonmonotonic-poll", false), 1);
}
END_TEST

/* A skip over exactly a batch with a flipped bit is corrupt-batch's. */
START_TEST(poll_skip_over_a_flipped_batch) {
  allow[CHECK_POLL_SKIP] = 1u << ALLOW_CORRUPT_BATCH;
  produce(10);
  struct history_cut c = {.incarnation = 2,
                          .offset = 3,
                          .last_offset = 4,
                          .broker_end = -1,
                          .reason = ALLOW_CORRUPT_BATCH,
                          .at_end = true};
  history_add_cut(&h, &c);
  read_range(1, 0, 3);
  ev(HISTORY_POLL, 1, 5, 5); /* 3 and 4: the flipped batch */
  ck_assert_uint_eq(count("poll-skip", false), 0);
  ck_assert_uint_eq(within("poll-skip"), 1);
  ev(HISTORY_POLL, 1, 7, 7); /* 6: not in it */
  ck_assert_uint_eq(count("poll-skip", false), 1);
}
END_TEST

/* Offsets no log can have and values nobody sent are findings: no abort,
 * no allocation sized by them. */
START_TEST(absurd_events_are_findings) {
  produce(4);
  ev(HISTORY_ACK, 0, 3, (int64_t)1 << 56);
  struct check_result r = result("unexpected", false);
  ck_assert_uint_eq(r.violations, 1);
  ck_assert_msg(strstr(r.first, "offset 72057594037927936, past every record sent to it (4 "
                                "sends and retries)") != NULL,
                "%s", r.first);
  ev(HISTORY_POLL, 1, 2, -5);
  ev(HISTORY_POLL, 1, 2, INT64_MAX);
  ev(HISTORY_POLL, 1, (uint64_t)1 << 60, 1); /* an id nobody sent */
  ev(HISTORY_POLL, 1, HISTORY_VALUE_UNKNOWN, 2);
  ev(HISTORY_ACK, 0, (uint64_t)1 << 62, 0);
  ev(HISTORY_SEEK, 1, 0, (int64_t)1 << 60);
  ev(HISTORY_POLL, 1, 3, 3);
  ck_assert_uint_eq(count("unexpected", false), 6);
  ck_assert_uint_eq(h.values_max, 4);
}
END_TEST

static void end_at(int stream, int64_t position, int64_t hw, int64_t broker_hw) {
  h.ends[stream] = (struct history_end){position, hw, broker_hw};
  if (h.end_count <= stream) h.end_count = stream + 1;
}

/* The final read must reach the high watermark of every stream. */
START_TEST(final_read_short_of_the_end_fails) {
  produce(10);
  h.final_reader = 1;
  read_range(1, 0, 7);
  end_at(0, 7, 7, 7);
  ck_assert_uint_eq(count("final-read", true), 0);
  end_at(0, 7, 7, 10); /* the broker has more than the reader's last Fetch said */
  struct check_result r = result("final-read", true);
  ck_assert_uint_eq(r.violations, 1);
  ck_assert_msg(strstr(r.first, "partition 0: the final read stopped at offset 7; the high "
                                "watermark at the end was 10") != NULL,
                "%s", r.first);
  end_at(0, 7, 10, 10);
  ck_assert_uint_eq(count("final-read", true), 1);
  /* Gone back since (a seek after OFFSET_OUT_OF_RANGE): what it reached
   * is the furthest it read. */
  ev(HISTORY_SEEK, 1, 0, 0);
  end_at(0, 0, 7, 7);
  ck_assert_uint_eq(count("final-read", true), 0);
  end_at(0, 0, -1, 10); /* no Fetch response at all */
  r = result("final-read", true);
  ck_assert_uint_eq(r.violations, 1);
  ck_assert_msg(strstr(r.first, "no Fetch response") != NULL, "%s", r.first);
  end_at(0, -1, -1, -1);
  ck_assert_uint_eq(count("final-read", true), 1);
  ck_assert_uint_eq(count("final-read", false), 0); /* no final read: nothing to judge */
}
END_TEST

/* A reader may stop inside a batch that holds a bit flipped at rest, where
 * corrupt-batch is allowed, and nowhere else. */
START_TEST(final_read_may_stop_at_a_flipped_batch) {
  allow[CHECK_FINAL_READ] = 1u << ALLOW_CORRUPT_BATCH;
  produce(10);
  h.final_reader = 1;
  read_range(1, 0, 4);
  struct history_cut c = {.incarnation = 2,
                          .offset = 4,
                          .last_offset = 5,
                          .broker_end = -1,
                          .reason = ALLOW_CORRUPT_BATCH,
                          .at_end = true};
  history_add_cut(&h, &c);
  end_at(0, 4, 10, 10);
  ck_assert_uint_eq(count("final-read", true), 0);
  ck_assert_uint_eq(within("final-read"), 1);
  end_at(0, 6, 10, 10); /* past the flipped batch, still short */
  ck_assert_uint_eq(count("final-read", true), 1);
}
END_TEST

/* Two batches hold flips at rest; a reader gets past the first (a flip
 * outside the CRC) and may stop in the second, but not between them
 * (swarm seed 335). */
START_TEST(final_read_may_stop_at_a_later_flipped_batch) {
  allow[CHECK_FINAL_READ] = 1u << ALLOW_CORRUPT_BATCH;
  produce(10);
  h.final_reader = 1;
  for (int64_t first = 2; first <= 7; first += 5) {
    struct history_cut c = {.incarnation = 2,
                            .offset = first,
                            .last_offset = first + 1,
                            .broker_end = -1,
                            .reason = ALLOW_CORRUPT_BATCH,
                            .at_end = true};
    history_add_cut(&h, &c);
  }
  read_range(1, 0, 2);
  end_at(0, 2, 10, 10); /* in the first */
  ck_assert_uint_eq(count("final-read", true), 0);
  read_range(1, 2, 6);
  end_at(0, 7, 10, 10); /* past the first, in the second */
  ck_assert_uint_eq(count("final-read", true), 0);
  ck_assert_uint_eq(within("final-read"), 1);
  ck_assert_uint_eq(result("final-read", true).bound, 1);
  end_at(0, 6, 10, 10); /* between the two */
  ck_assert_uint_eq(count("final-read", true), 1);
}
END_TEST

/* A copy a cut took may be stored again by a retry (a disk loss took the
 * idempotent producer's state too; swarm seed 605): the value read at two
 * offsets, one of them cut away before the other was stored, passes where
 * the cut is allowed. A copy no cut took, or a copy without a send of its
 * own, is a duplicate still. */
START_TEST(duplicate_of_a_copy_a_cut_took) {
  allow[CHECK_DUPLICATE] = 1u << ALLOW_DISK_LOSS;
  produce(3);
  read_range(1, 0, 3);
  retry(0, 1, 2);
  cut(0, ALLOW_DISK_LOSS);
  ev(HISTORY_ACK, 0, 1, 0); /* the retry, stored again at offset 0 */
  ev(HISTORY_POLL, 1, 1, 0);
  ck_assert_uint_eq(count("duplicate", true), 0);
  ck_assert_uint_eq(within("duplicate"), 1);
  ck_assert_uint_eq(result("duplicate", true).bound, 1);
  allow[CHECK_DUPLICATE] = 0; /* the cut is not allowed */
  ck_assert_uint_eq(count("duplicate", true), 1);
  allow[CHECK_DUPLICATE] = 1u << ALLOW_POWER_LOSS_TAIL; /* another reason */
  ck_assert_uint_eq(count("duplicate", true), 1);
  allow[CHECK_DUPLICATE] = 1u << ALLOW_DISK_LOSS;
  ev(HISTORY_POLL, 1, 1, 2); /* a third copy: more than the two sends */
  ck_assert_uint_eq(count("duplicate", true), 1);
  history_free(&h);
  setup();
  allow[CHECK_DUPLICATE] = 1u << ALLOW_DISK_LOSS;
  produce(3);
  read_range(1, 0, 3);
  retry(0, 1, 2);
  cut(2, ALLOW_DISK_LOSS); /* offset 1 kept: the first copy stays */
  ev(HISTORY_ACK, 0, 1, 2);
  ev(HISTORY_POLL, 1, 1, 2);
  ck_assert_uint_eq(count("duplicate", true), 1);
}
END_TEST

/* acks=0 promises nothing: a value never read is unseen, allowed only by
 * acks-0. */
START_TEST(acks_0_values_are_unseen) {
  h.final_reader = 1;
  for (int i = 0; i < 3; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  for (int i = 0; i < 3; i++) ev(HISTORY_ACK, 0, (uint64_t)i, -1);
  ev(HISTORY_POLL, 1, 0, 0);
  ck_assert_uint_eq(count("unseen", true), 2);
  ck_assert_uint_eq(count("lost-write", true), 0);
  allow[CHECK_UNSEEN] = 1u << ALLOW_ACKS_0;
  ck_assert_uint_eq(count("unseen", true), 0);
  ck_assert_uint_eq(within("unseen"), 2);
}
END_TEST

/* An allowance a checker cannot take does nothing. */
START_TEST(allowances_apply_only_where_they_may) {
  allow[CHECK_NONMONOTONIC_POLL] = ~0u;
  allow[CHECK_LOST_WRITE] = 1u << ALLOW_RETRIED_SENDS;
  produce(3);
  cut(0, ALLOW_POWER_LOSS_TAIL);
  h.final_reader = 1;
  ev(HISTORY_POLL, 1, 1, 1);
  ev(HISTORY_POLL, 1, 0, 0);
  ck_assert_uint_eq(count("nonmonotonic-poll", true), 1);
  ck_assert_uint_eq(count("lost-write", true), 1);
  ck_assert_uint_eq(result("nonmonotonic-poll", true).allowances, 0);
  char text[128];
  ck_assert_str_eq(
      history_allowances_text(history_allowances_for(CHECK_LOST_WRITE), text, sizeof text),
      "power-loss-tail, corrupt-batch, disk-loss, retention, unclean-election, delete-records, "
      "compaction");
}
END_TEST

/* Sends at 0 and 1 ms; acks at 3 ms and 4 s; a send at 5 s acked at 5.5 s.
 * The longest stretch: 3 ms -> 4 s, while the second send waited. */
START_TEST(unavailability_is_the_longest_wait_for_an_ack) {
  const uint64_t MS = 1000000;
  now = 0;
  ev(HISTORY_SEND, 0, 0, -1);
  now = 1 * MS;
  ev(HISTORY_SEND, 0, 1, -1);
  now = 3 * MS;
  ev(HISTORY_ACK, 0, 0, 0);
  now = 4000 * MS;
  ev(HISTORY_ACK, 0, 1, 1);
  now = 5000 * MS; /* idle time does not count */
  ev(HISTORY_SEND, 0, 2, -1);
  now = 5500 * MS;
  ev(HISTORY_ACK, 0, 2, 2);
  struct history_wait w = history_unavailability(&h, now);
  ck_assert_uint_eq(w.longest_ns, 3997 * MS);
  ck_assert_uint_eq(w.start_ns, 3 * MS);
  bound_ms = 4000;
  ck_assert_uint_eq(count("max-unavailability", true), 0);
  bound_ms = 3000;
  ck_assert_uint_eq(count("max-unavailability", true), 1);
}
END_TEST

START_TEST(unavailability_counts_sends_still_waiting_at_the_end) {
  ev(HISTORY_SEND, 0, 0, -1);
  ev(HISTORY_ACK, 0, 0, 0);
  ev(HISTORY_SEND, 0, 1, -1); /* never answered */
  now = 10 * 1000000000ull;
  bound_ms = 9000;
  ck_assert_uint_eq(count("max-unavailability", true), 1);
  ev(HISTORY_FAIL, 0, 1, -1); /* the last send waiting failed: the stretch ends there */
  ck_assert_uint_eq(history_unavailability(&h, now).longest_ns, 10 * 1000000000ull - 2);
}
END_TEST

/* Producer 1 is cut off for 5 s while producer 2 keeps getting acks: the
 * unavailability is what producer 1 saw. */
START_TEST(unavailability_is_per_producer) {
  const uint64_t S = 1000000000ull;
  now = 1 * S;
  ev(HISTORY_SEND, 1, 0, -1);
  for (int i = 0; i < 6; i++) {
    now = (uint64_t)(1 + i) * S;
    ev(HISTORY_SEND, 2, (uint64_t)(10 + i), -1);
    ev(HISTORY_ACK, 2, (uint64_t)(10 + i), i);
  }
  now = 6 * S;
  ev(HISTORY_ACK, 1, 0, 6);
  struct history_wait w = history_unavailability(&h, now);
  ck_assert_int_eq(w.client, 1);
  ck_assert_uint_eq(w.longest_ns, 5 * S);
}
END_TEST

/* ---- the oracle: what the disk holds of a partition, read apart from the
 * broker ---- */

/* Writes `batches` batches of 3 records each, offsets from 0, into
 * /logs/t-0/00000000000000000000.log; positions[i] is where batch i
 * starts, positions[batches] the end. */
static void write_segment(struct sim_node *n, int batches, uint64_t *positions) {
  struct env *env = sim_node_env(n);
  ck_assert_int_eq(env->mkdir(env, "/logs"), 0);
  ck_assert_int_eq(env->mkdir(env, "/logs/t-0"), 0);
  env_file f;
  ck_assert_int_eq(env->open(env, "/logs/t-0/00000000000000000000.log", ENV_O_CREATE, &f), 0);
  uint64_t pos = 0;
  for (int i = 0; i < batches; i++) {
    struct rb_builder b;
    rb_builder_init(&b, 0, 1000);
    for (int r = 0; r < 3; r++)
      rb_builder_add(&b, 1000, (struct kbytes){NULL, -1},
                     (struct kbytes){(const uint8_t *)"v1:xx", 5}, NULL, 0);
    struct buf out;
    buf_init(&out);
    ck_assert_int_eq(rb_builder_finish(&b, RB_CODEC_NONE, &out), KERR_NONE);
    rb_builder_free(&b);
    rb_patch(out.data, 3 * i, 0);
    positions[i] = pos;
    ck_assert_int_eq(env->pwrite(env, f, out.data, out.len, pos), (int64_t)out.len);
    pos += out.len;
    buf_free(&out);
  }
  positions[batches] = pos;
  env->file_close(env, f);
}

START_TEST(oracle_reads_the_valid_batches) {
  struct sim_world *w = sim_world_create(1);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  uint64_t at[5];
  write_segment(n, 4, at);
  const char *path = "/logs/t-0/00000000000000000000.log";
  struct oracle_log o;
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert_int_eq(o.start, 0);
  ck_assert_int_eq(o.end, 12);
  ck_assert(!o.cut);
  /* A pending read fault counts only where asked (recovery will read it). */
  ck_assert(sim_disk_flip_bit_on_read(n, path, at[1] + 70, 3));
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert_int_eq(o.end, 12);
  oracle_scan(n, "/logs/t-0", true, &o);
  ck_assert(o.cut && o.flipped);
  ck_assert_int_eq(o.end, 3);
  ck_assert_str_eq(o.why, "read fault pending");
  /* A bit flipped at rest in batch 2 ends the log there: it and what
   * follows; the batch's own offsets are 6..8. */
  ck_assert(sim_disk_flip_bit(n, path, at[2] + 70, 1));
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert(o.cut && o.flipped);
  ck_assert_int_eq(o.end, 6);
  ck_assert_int_eq(o.cut_last, 8);
  ck_assert_str_eq(o.why, "CRC mismatch");
  ck_assert(sim_disk_flip_bit(n, path, at[2] + 70, 1)); /* flipped back */
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert_int_eq(o.end, 12);
  /* No directory at all: nothing kept. */
  oracle_scan(n, "/logs/t-1", false, &o);
  ck_assert_int_eq(o.start, -1);
  ck_assert_int_eq(o.end, 0);
  sim_world_destroy(w);
}
END_TEST

/* A flip outside the CRC (the base offset) passes every check a reader can
 * make of the bytes, but the disk model knows it happened. */
START_TEST(oracle_knows_flips_outside_the_crc) {
  struct sim_world *w = sim_world_create(1);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  uint64_t at[5];
  write_segment(n, 4, at);
  /* Base offset 6 -> 38: still increasing, CRC intact. */
  ck_assert(sim_disk_flip_bit(n, "/logs/t-0/00000000000000000000.log", at[2] + 7, 5));
  struct oracle_log o;
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert(o.cut && o.flipped);
  ck_assert_str_eq(o.why, "bit flipped");
  ck_assert_int_eq(o.end, 6);
  ck_assert_int_eq(o.cut_last, 8);
  sim_world_destroy(w);
}
END_TEST

/* A pending cut's marker (a truncation or recovery's own cut, not yet made
 * durable) ends the log at its offset however valid the bytes past it are,
 * and a lower marker of the same segment wins: recovery cuts there. */
START_TEST(oracle_honours_a_pending_cut) {
  struct sim_world *w = sim_world_create(1);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  uint64_t at[5];
  write_segment(n, 4, at);
  struct env *env = sim_node_env(n);
  env_file f;
  ck_assert_int_eq(
      env->open(env, "/logs/t-0/00000000000000000000.log.00000000000000000009.truncating",
                ENV_O_CREATE, &f),
      0);
  env->file_close(env, f);
  struct oracle_log o;
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert(o.cut && !o.flipped);
  ck_assert_int_eq(o.end, 9);
  ck_assert_str_eq(o.why, "a pending cut's marker");
  ck_assert_int_eq(
      env->open(env, "/logs/t-0/00000000000000000000.log.00000000000000000003.truncating",
                ENV_O_CREATE, &f),
      0);
  env->file_close(env, f);
  /* A marker of a segment that is not there is a leftover recovery removes. */
  ck_assert_int_eq(
      env->open(env, "/logs/t-0/00000000000000000100.log.00000000000000000100.truncating",
                ENV_O_CREATE, &f),
      0);
  env->file_close(env, f);
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert(o.cut);
  ck_assert_int_eq(o.end, 3);
  sim_world_destroy(w);
}
END_TEST

/* A power loss keeps a sector prefix of what was never synced: the oracle
 * ends the log at the last whole batch, without a flip. */
START_TEST(oracle_ends_at_a_torn_batch) {
  struct sim_world *w = sim_world_create(1);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  uint64_t at[4];
  write_segment(n, 3, at);
  struct env *env = sim_node_env(n);
  env_file f;
  ck_assert_int_eq(env->open(env, "/logs/t-0/00000000000000000000.log", 0, &f), 0);
  ck_assert_int_eq(env->truncate(env, f, at[2] + 20), 0); /* batch 2 half written */
  env->file_close(env, f);
  struct oracle_log o;
  oracle_scan(n, "/logs/t-0", true, &o);
  ck_assert(o.cut && !o.flipped);
  ck_assert_int_eq(o.end, 6);
  ck_assert_str_eq(o.why, "torn");
  sim_world_destroy(w);
}
END_TEST

/* A reader gets past a batch whose flip the CRC does not cover (the
 * partition leader epoch): every flipped batch is listed while the framing
 * holds, not only the first. */
START_TEST(oracle_lists_every_flipped_batch) {
  struct sim_world *w = sim_world_create(1);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  uint64_t at[5];
  write_segment(n, 4, at);
  const char *path = "/logs/t-0/00000000000000000000.log";
  struct oracle_flip f[4];
  ck_assert_int_eq(oracle_rest_flips(n, "/logs/t-0", f, 4), 0);
  ck_assert(sim_disk_flip_bit(n, path, at[1] + 13, 0)); /* the leader epoch */
  ck_assert(sim_disk_flip_bit(n, path, at[3] + 70, 2)); /* under the CRC */
  ck_assert_int_eq(oracle_rest_flips(n, "/logs/t-0", f, 4), 2);
  ck_assert_int_eq(f[0].first, 3);
  ck_assert_int_eq(f[0].last, 5);
  ck_assert_int_eq(f[1].first, 9);
  ck_assert_int_eq(f[1].last, 11);
  ck_assert_int_eq(oracle_rest_flips(n, "/logs/t-0", f, 1), 1); /* bounded */
  /* A flipped base offset: the batch is where the one before leads. */
  ck_assert(sim_disk_flip_bit(n, path, at[2] + 7, 5));
  ck_assert_int_eq(oracle_rest_flips(n, "/logs/t-0", f, 4), 3);
  ck_assert_int_eq(f[1].first, 6);
  ck_assert_int_eq(f[1].last, 8);
  /* The first batch's length past the file: the framing is lost there. */
  ck_assert(sim_disk_flip_bit(n, path, at[0] + 8, 6));
  ck_assert_int_eq(oracle_rest_flips(n, "/logs/t-0", f, 4), 1);
  ck_assert_int_eq(f[0].first, 0);
  struct oracle_log o;
  oracle_scan(n, "/logs/t-0", false, &o);
  ck_assert(o.cut && o.flipped);
  ck_assert_int_eq(o.end, 0);
  sim_world_destroy(w);
}
END_TEST

/* Two keys living two rounds each: values 0 and 1 (keys 0, 1), then their
 * tombstones 2 and 3, then values 4 and 5 of fresh keys 2 and 3; all at
 * offsets equal to their ids, delete.retention.ms 1000. The final reader
 * (client 1) finds both tombstones and everything before them gone. */
static void tombstones_then_final_read(uint64_t gap_ns, bool keep_value_0) {
  h.keys = 2;
  h.deletes = 2;
  h.delete_retention_ms = 1000;
  h.final_reader = 1;
  ck_assert(history_is_tombstone(&h, 2) && history_is_tombstone(&h, 3));
  ck_assert(!history_is_tombstone(&h, 1) && !history_is_tombstone(&h, 4));
  ck_assert_uint_eq(history_key_of(&h, 3), 1);
  ck_assert_uint_eq(history_key_of(&h, 4), 2);
  ck_assert_uint_eq(history_tombstone_id(&h, 1), 3);
  produce(6);
  now += gap_ns;
  ev(HISTORY_SEEK, 1, 0, 0);
  if (keep_value_0) ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 4, 4);
  ev(HISTORY_POLL, 1, 5, 5);
}

START_TEST(tombstone_gone_within_delete_retention_fails) {
  tombstones_then_final_read(0, false);
  ck_assert_uint_eq(count("compaction", true), 2);
}
END_TEST

START_TEST(tombstone_gone_after_delete_retention_passes) {
  tombstones_then_final_read(1000u * 1000000u, false);
  ck_assert_uint_eq(count("compaction", true), 0);
  ck_assert_uint_eq(within("compaction"), 2);
}
END_TEST

/* The tombstone of key 0 is gone, but a record it deleted is still there. */
START_TEST(record_before_a_gone_tombstone_fails) {
  tombstones_then_final_read(1000u * 1000000u, true);
  ck_assert_uint_eq(count("compaction", true), 1);
}
END_TEST

static Suite *checkers_suite(void) {
  Suite *s = suite_create("checkers");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, clean_history_passes);
  tcase_add_test(tc, lost_write);
  tcase_add_test(tc, loss_inside_the_power_loss_allowance_passes);
  tcase_add_test(tc, retention_allows_only_what_lies_below_the_log_start);
  tcase_add_test(tc, delete_records_allows_only_what_lies_below_the_offset_asked);
  tcase_add_test(tc, loss_one_offset_below_the_cut_fails);
  tcase_add_test(tc, loss_needs_its_own_allowance);
  tcase_add_test(tc, loss_after_the_cut_fails);
  tcase_add_test(tc, offsets_past_the_cut_may_be_reused);
  tcase_add_test(tc, reuse_without_a_cut_fails);
  tcase_add_test(tc, a_late_frame_belongs_to_the_process_that_sent_it);
  tcase_add_test(tc, a_late_frame_after_the_offset_was_reused);
  tcase_add_test(tc, duplicate);
  tcase_add_test(tc, duplicate_without_a_retry_fails);
  tcase_add_test(tc, more_copies_than_sends_fail);
  tcase_add_test(tc, inconsistent_offsets);
  tcase_add_test(tc, read_offset_differs_from_the_acknowledged_one);
  tcase_add_test(tc, nonmonotonic_send_and_poll);
  tcase_add_test(tc, poll_skip);
  tcase_add_test(tc, poll_skip_covers_seeks);
  tcase_add_test(tc, poll_skip_over_a_flipped_batch);
  tcase_add_test(tc, absurd_events_are_findings);
  tcase_add_test(tc, final_read_short_of_the_end_fails);
  tcase_add_test(tc, final_read_may_stop_at_a_flipped_batch);
  tcase_add_test(tc, tombstone_gone_within_delete_retention_fails);
  tcase_add_test(tc, tombstone_gone_after_delete_retention_passes);
  tcase_add_test(tc, record_before_a_gone_tombstone_fails);
  tcase_add_test(tc, final_read_may_stop_at_a_later_flipped_batch);
  tcase_add_test(tc, duplicate_of_a_copy_a_cut_took);
  tcase_add_test(tc, acks_0_values_are_unseen);
  tcase_add_test(tc, allowances_apply_only_where_they_may);
  tcase_add_test(tc, unavailability_is_the_longest_wait_for_an_ack);
  tcase_add_test(tc, unavailability_counts_sends_still_waiting_at_the_end);
  tcase_add_test(tc, unavailability_is_per_producer);
  tcase_add_test(tc, oracle_reads_the_valid_batches);
  tcase_add_test(tc, oracle_knows_flips_outside_the_crc);
  tcase_add_test(tc, oracle_honours_a_pending_cut);
  tcase_add_test(tc, oracle_ends_at_a_torn_batch);
  tcase_add_test(tc, oracle_lists_every_flipped_batch);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(checkers_suite)
