/* The consumer groups' checkers (sim/group_check.h) and the simulated
 * member's range assignor (client/group_member.h): each finds what it is
 * for, and a clean history passes. */
#include <string.h>

#include "client/group_member.h"
#include "sim/group_check.h"
#include "testing.h"

/* Kafka's RangeAssignor: 7 partitions over 3 members are 3, 2, 2; every
 * partition exactly once, in order. */
START_TEST(range_assignor_splits_in_order) {
  int32_t first, count, next = 0;
  const int32_t want[3] = {3, 2, 2};
  for (int m = 0; m < 3; m++) {
    kgroup_range(7, 3, m, &first, &count);
    ck_assert_int_eq(first, next);
    ck_assert_int_eq(count, want[m]);
    next += count;
  }
  ck_assert_int_eq(next, 7);
  kgroup_range(2, 3, 2, &first, &count); /* more members than partitions */
  ck_assert_int_eq(count, 0);
}
END_TEST

static struct history empty_history(void) {
  struct history h;
  history_init(&h);
  return h;
}

START_TEST(two_owners_in_one_generation_is_a_violation) {
  struct group_check *gc = group_check_create(1, 4);
  int a[] = {0, 1}, b[] = {2, 3}, c[] = {1};
  group_check_assigned(gc, 0, 1, 3, 2, a, 100);
  group_check_assigned(gc, 0, 1, 4, 2, b, 100);
  group_check_assigned(gc, 0, 2, 4, 1, c, 200); /* a new generation: fine */
  struct history h = empty_history();
  int groups[8] = {-1, -1, -1, 0, 0, -1, -1, -1};
  struct check_result out[GROUP_CHECKERS];
  group_check_finish(gc, &h, groups, 7, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[0].violations, 0);
  group_check_assigned(gc, 0, 2, 3, 1, c, 200); /* stream 1 twice in generation 2 */
  group_check_finish(gc, &h, groups, 7, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[0].violations, 1);
  ck_assert_ptr_nonnull(strstr(out[0].first, "generation 2"));
  history_free(&h);
  group_check_free(gc);
}
END_TEST

/* A heartbeat or commit of generation 1 accepted is fine while no member
 * had generation 2's assignment when it was sent; once one had, it is a
 * zombie's, and accepting it is a violation. */
START_TEST(a_stale_generation_accepted_is_a_violation) {
  struct group_check *gc = group_check_create(1, 2);
  int a[] = {0, 1};
  group_check_assigned(gc, 0, 1, 3, 2, a, 100);
  group_check_acknowledged(gc, 0, 3, "Heartbeat", 1, 150);
  group_check_assigned(gc, 0, 2, 4, 2, a, 200);
  group_check_acknowledged(gc, 0, 3, "OffsetCommit", 1, 190); /* sent before: fine */
  group_check_acknowledged(gc, 0, 4, "Heartbeat", 2, 250);
  struct history h = empty_history();
  int groups[5] = {-1, -1, -1, 0, 0};
  struct check_result out[GROUP_CHECKERS];
  group_check_finish(gc, &h, groups, 4, out, GROUP_CHECKERS);
  ck_assert_str_eq(out[3].name, "group-generation");
  ck_assert_int_eq(out[3].violations, 0);
  group_check_acknowledged(gc, 0, 3, "Heartbeat", 1, 260);
  group_check_finish(gc, &h, groups, 4, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[3].violations, 1);
  ck_assert_ptr_nonnull(strstr(out[3].first, "client 3's Heartbeat of generation 1"));
  history_free(&h);
  group_check_free(gc);
}
END_TEST

START_TEST(commits_going_back_or_lost_are_violations) {
  struct group_check *gc = group_check_create(1, 2);
  group_check_committed(gc, 0, 0, 10, 100);
  group_check_committed(gc, 0, 0, 20, 200);
  group_check_fetched(gc, 0, 0, 20, 300); /* sees the last commit */
  group_check_fetched(gc, 0, 0, 10, 150); /* asked before the second */
  struct history h = empty_history();
  int groups[2] = {-1, -1};
  struct check_result out[GROUP_CHECKERS];
  group_check_finish(gc, &h, groups, 1, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[1].violations, 0);
  group_check_fetched(gc, 0, 0, 10, 300); /* the commit of 20 was lost */
  group_check_finish(gc, &h, groups, 1, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[1].violations, 1);
  group_check_committed(gc, 0, 1, 5, 400);
  group_check_committed(gc, 0, 1, 4, 500); /* went back */
  group_check_finish(gc, &h, groups, 1, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[1].violations, 2);
  history_free(&h);
  group_check_free(gc);
}
END_TEST

static void polled_by(struct history *h, int client, uint64_t value) {
  struct history_event e = {.kind = HISTORY_POLL, .client = (int16_t)client, .value = value};
  history_add(h, &e);
  if (value + 1 > h->values_max) h->values_max = value + 1;
}

/* Client 2 is the group's member, client 3 the final reader. */
START_TEST(a_value_no_member_read_is_a_violation) {
  struct group_check *gc = group_check_create(1, 1);
  struct history h = empty_history();
  h.final_reader = 3;
  polled_by(&h, 3, 0);
  polled_by(&h, 3, 1);
  polled_by(&h, 2, 0);
  int groups[4] = {-1, -1, 0, -1};
  struct check_result out[GROUP_CHECKERS];
  group_check_finish(gc, &h, groups, 3, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[2].violations, 1);
  ck_assert_ptr_nonnull(strstr(out[2].first, "value 1"));
  polled_by(&h, 2, 1);
  group_check_finish(gc, &h, groups, 3, out, GROUP_CHECKERS);
  ck_assert_int_eq(out[2].violations, 0);
  history_free(&h);
  group_check_free(gc);
}
END_TEST

START_TEST(rebalance_is_timed_from_the_crash_to_a_full_generation) {
  struct group_check *gc = group_check_create(1, 2);
  int both[] = {0, 1}, one[] = {0}, other[] = {1};
  group_check_assigned(gc, 0, 1, 3, 1, one, 1000000);
  group_check_assigned(gc, 0, 1, 4, 1, other, 1000000);
  group_check_crashed(gc, 0, 2000000000ull);
  group_check_assigned(gc, 0, 2, 3, 1, one, 5000000000ull); /* not all partitions yet */
  char text[256];
  group_check_rebalances(gc, text, sizeof text);
  ck_assert_ptr_nonnull(strstr(text, "no full generation"));
  group_check_assigned(gc, 0, 3, 3, 2, both, 8500000000ull);
  group_check_rebalances(gc, text, sizeof text);
  ck_assert_str_eq(text, "rebalance after a member crash: 6500 ms (group 0)");
  group_check_free(gc);
}
END_TEST

static Suite *group_check_suite(void) {
  Suite *s = suite_create("group_check");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, range_assignor_splits_in_order);
  tcase_add_test(tc, two_owners_in_one_generation_is_a_violation);
  tcase_add_test(tc, commits_going_back_or_lost_are_violations);
  tcase_add_test(tc, a_stale_generation_accepted_is_a_violation);
  tcase_add_test(tc, a_value_no_member_read_is_a_violation);
  tcase_add_test(tc, rebalance_is_timed_from_the_crash_to_a_full_generation);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(group_check_suite)
