/* The history checkers catch each of Jepsen's queue anomalies, and pass a
 * clean history. */
#include <string.h>

#include "sim/history.h"
#include "testing.h"

static struct history h;
static uint64_t now;

static void ev(enum history_kind kind, int32_t client, uint64_t value, int64_t offset) {
  struct history_event e = {.time_ns = now++,
                            .kind = kind,
                            .client = client,
                            .partition = 0,
                            .value = value,
                            .offset = offset,
                            .durable_ack = true};
  history_add(&h, &e);
}

/* Sends and acks values 0..n-1 at offsets 0..n-1 from producer 0. */
static void produce(int n) {
  for (int i = 0; i < n; i++) ev(HISTORY_SEND, 0, (uint64_t)i, -1);
  for (int i = 0; i < n; i++) ev(HISTORY_ACK, 0, (uint64_t)i, i);
}

static int64_t bound_ms = -1;

static size_t count(const char *name, bool final_read) {
  struct check_result r[CHECKERS_MAX];
  struct history_check_config cfg = {
      .final_read = final_read, .max_unavailability_ms = bound_ms, .end_ns = now};
  int n = history_check(&h, &cfg, r, CHECKERS_MAX);
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    if (!name)
      total += r[i].violations;
    else if (strcmp(r[i].name, name) == 0)
      return r[i].violations;
  }
  return total;
}

static void setup(void) {
  history_init(&h);
  now = 0;
  bound_ms = -1;
}
static void teardown(void) { history_free(&h); }

START_TEST(clean_history_passes) {
  produce(10);
  for (int i = 0; i < 10; i++) ev(HISTORY_POLL, 1, (uint64_t)i, i);
  ck_assert_uint_eq(count(NULL, true), 0);
}
END_TEST

START_TEST(lost_write) {
  produce(10);
  for (int i = 0; i < 9; i++) ev(HISTORY_POLL, 1, (uint64_t)i, i);
  ck_assert_uint_eq(count("lost-write", true), 1);
  ck_assert_uint_eq(count("lost-write", false), 0);
  ck_assert_uint_eq(count("unseen", false), 1);
}
END_TEST

START_TEST(duplicate) {
  produce(3);
  ev(HISTORY_POLL, 1, 0, 0);
  ev(HISTORY_POLL, 1, 1, 1);
  ev(HISTORY_POLL, 1, 2, 2);
  ev(HISTORY_POLL, 1, 1, 3); /* value 1 again, at another offset */
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

START_TEST(nonmonotonic_send_and_poll) {
  ev(HISTORY_SEND, 0, 0, -1);
  ev(HISTORY_SEND, 0, 1, -1);
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

static Suite *checkers_suite(void) {
  Suite *s = suite_create("checkers");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, clean_history_passes);
  tcase_add_test(tc, lost_write);
  tcase_add_test(tc, duplicate);
  tcase_add_test(tc, inconsistent_offsets);
  tcase_add_test(tc, nonmonotonic_send_and_poll);
  tcase_add_test(tc, poll_skip);
  tcase_add_test(tc, unavailability_is_the_longest_wait_for_an_ack);
  tcase_add_test(tc, unavailability_counts_sends_still_waiting_at_the_end);
  tcase_add_test(tc, unavailability_is_per_producer);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(checkers_suite)
