/* broker/meta/leader_balance.c: ElectLeaders' preferred and unclean
 * elections with Kafka's per-partition errors, the imbalance ratio, and the
 * periodic rebalance (which partitions, in which order, which not). The
 * images are built from records as the controller builds them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_fixture.h"
#include "meta/image.h"
#include "meta/leader_balance.h"
#include "proto/errors.h"
#include "testing.h"

static struct kuuid id_of(uint8_t n) {
  struct kuuid id = {{0}};
  id.b[0] = n;
  return id;
}

/* Brokers 1-3 (fenced as asked); topic id 1 is "t" with the partitions
 * given as {replicas..., leader, isr...} rows of replica count 3. */
struct part_spec {
  int32_t replicas[3], leader, isr_count, isr[3];
};

static struct meta_image *cluster(const bool fenced[3], const struct part_spec *parts,
                                  int32_t count) {
  struct meta_image *image = meta_image_empty("c");
  struct meta_delta d;
  meta_delta_init(&d);
  image_brokers_add(&d, image, 3, fenced);
  struct meta_record *t = image_record_add(&d, image, META_TOPIC_RECORD);
  snprintf(t->topic.name, sizeof t->topic.name, "t");
  t->topic.topic_id = id_of(1);
  for (int32_t i = 0; i < count; i++) {
    struct meta_record *r = image_record_add(&d, image, META_PARTITION_RECORD);
    r->partition.topic_id = id_of(1);
    r->partition.partition_id = i;
    r->partition.replica_count = 3;
    memcpy(r->partition.replicas, parts[i].replicas, sizeof parts[i].replicas);
    r->partition.isr_count = parts[i].isr_count;
    memcpy(r->partition.isr, parts[i].isr, sizeof parts[i].isr);
    r->partition.leader = parts[i].leader;
  }
  return image_apply(image, &d);
}

static const struct meta_partition *part(const struct meta_image *image, int32_t i) {
  return meta_topic_partition(meta_image_topic(image, "t", 1), i);
}

static int16_t elect(struct meta_image **image, int8_t type, int32_t partition) {
  struct meta_delta d;
  meta_delta_init(&d);
  const struct meta_topic *t = meta_image_topic(*image, "t", 1);
  int16_t code = meta_rule_elect_leader(*image, type, t, partition, &d);
  ck_assert_int_eq(d.count, code == KERR_NONE ? 1 : 0);
  *image = image_apply(*image, &d);
  return code;
}

static const bool none_fenced[3] = {false, false, false};

START_TEST(preferred_election_moves_the_leader_back) {
  struct part_spec p[] = {{{1, 2, 3}, 2, 3, {1, 2, 3}}};
  struct meta_image *image = cluster(none_fenced, p, 1);
  int32_t epoch = part(image, 0)->leader_epoch;
  ck_assert_int_eq(elect(&image, META_ELECTION_PREFERRED, 0), KERR_NONE);
  ck_assert_int_eq(part(image, 0)->leader, 1);
  ck_assert_int_eq(part(image, 0)->leader_epoch, epoch + 1); /* a new leader, a new epoch */
  ck_assert_int_eq(part(image, 0)->isr_count, 3);
  ck_assert_int_eq(elect(&image, META_ELECTION_PREFERRED, 0), KERR_ELECTION_NOT_NEEDED);
  meta_image_unref(image);
}
END_TEST

START_TEST(preferred_not_available_out_of_isr_or_fenced) {
  struct part_spec p[] = {{{1, 2, 3}, 2, 2, {2, 3}}, {{3, 2, 1}, 2, 3, {1, 2, 3}}};
  bool fenced[3] = {false, false, true};
  struct meta_image *image = cluster(fenced, p, 2);
  ck_assert_int_eq(elect(&image, META_ELECTION_PREFERRED, 0),
                   KERR_PREFERRED_LEADER_NOT_AVAILABLE); /* not in the ISR */
  ck_assert_int_eq(elect(&image, META_ELECTION_PREFERRED, 1),
                   KERR_PREFERRED_LEADER_NOT_AVAILABLE); /* fenced */
  ck_assert_int_eq(part(image, 0)->leader, 2);
  ck_assert_int_eq(part(image, 1)->leader, 2);
  meta_image_unref(image);
}
END_TEST

START_TEST(unknown_partition_and_type) {
  struct part_spec p[] = {{{1, 2, 3}, 1, 3, {1, 2, 3}}};
  struct meta_image *image = cluster(none_fenced, p, 1);
  ck_assert_int_eq(elect(&image, META_ELECTION_PREFERRED, 1), KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_int_eq(elect(&image, 2, 0), KERR_INVALID_REQUEST);
  struct meta_delta d;
  meta_delta_init(&d);
  ck_assert_int_eq(meta_rule_elect_leader(image, META_ELECTION_PREFERRED, NULL, 0, &d),
                   KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_int_eq(d.count, 0);
  meta_delta_free(&d);
  meta_image_unref(image);
}
END_TEST

START_TEST(unclean_only_without_a_leader) {
  /* p0 has a leader; p1 none, an in-sync replica (3) unfenced; p2 none,
   * its only in-sync replica (1) fenced; p3 none, all fenced but 1. */
  struct part_spec p[] = {{{1, 2, 3}, 2, 3, {1, 2, 3}},
                          {{1, 2, 3}, -1, 1, {3}},
                          {{1, 2, 3}, -1, 1, {1}},
                          {{1, 2, 3}, -1, 1, {1}}};
  bool fenced[3] = {true, false, false};
  struct meta_image *image = cluster(fenced, p, 4);
  ck_assert_int_eq(elect(&image, META_ELECTION_UNCLEAN, 0), KERR_ELECTION_NOT_NEEDED);
  ck_assert_int_eq(elect(&image, META_ELECTION_UNCLEAN, 1), KERR_NONE);
  ck_assert_int_eq(part(image, 1)->leader, 3); /* clean: from the ISR, kept */
  ck_assert_int_eq(part(image, 1)->isr_count, 1);
  ck_assert_int_eq(elect(&image, META_ELECTION_UNCLEAN, 2), KERR_NONE);
  ck_assert_int_eq(part(image, 2)->leader, 2); /* unclean: the first unfenced replica */
  ck_assert_int_eq(part(image, 2)->isr_count, 1);
  ck_assert_int_eq(part(image, 2)->isr[0], 2);
  meta_image_unref(image);
}
END_TEST

START_TEST(unclean_with_nothing_eligible) {
  struct part_spec p[] = {{{1, 2, 3}, -1, 1, {1}}};
  bool fenced[3] = {true, true, true};
  struct meta_image *image = cluster(fenced, p, 1);
  ck_assert_int_eq(elect(&image, META_ELECTION_UNCLEAN, 0),
                   KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE);
  ck_assert_int_eq(part(image, 0)->leader, -1);
  meta_image_unref(image);
}
END_TEST

START_TEST(imbalance_ratio) {
  /* Broker 1 is preferred for p0, p1, p2, p3 and leads p0 only. */
  struct part_spec p[] = {{{1, 2, 3}, 1, 3, {1, 2, 3}},
                          {{1, 2, 3}, 2, 3, {1, 2, 3}},
                          {{1, 3, 2}, 3, 3, {1, 2, 3}},
                          {{1, 2, 3}, 2, 2, {2, 3}},
                          {{2, 1, 3}, 2, 3, {1, 2, 3}}};
  struct meta_image *image = cluster(none_fenced, p, 5);
  ck_assert_int_eq(meta_leader_imbalance_percent(image, 1), 75);
  ck_assert_int_eq(meta_leader_imbalance_percent(image, 2), 0);
  ck_assert_int_eq(meta_leader_imbalance_percent(image, 3), 0); /* preferred for none */
  meta_image_unref(image);
}
END_TEST

static int32_t rebalance(struct meta_image **image, int32_t percentage, int32_t max) {
  struct meta_delta d;
  meta_delta_init(&d);
  int32_t n = meta_rule_rebalance_leaders(*image, percentage, max, &d);
  ck_assert_int_eq(n, d.count);
  for (int32_t i = 1; i < d.count; i++) /* partition order */
    ck_assert_int_lt(d.records[i - 1].partition_change.partition_id,
                     d.records[i].partition_change.partition_id);
  *image = image_apply(*image, &d);
  return n;
}

START_TEST(rebalance_moves_only_eligible_preferred_replicas) {
  struct part_spec p[] = {{{1, 2, 3}, 1, 3, {1, 2, 3}},
                          {{1, 2, 3}, 2, 3, {1, 2, 3}},
                          {{1, 3, 2}, 3, 3, {1, 2, 3}},
                          {{1, 2, 3}, 2, 2, {2, 3}}, /* 1 out of the ISR: stays */
                          {{2, 1, 3}, 2, 3, {1, 2, 3}}};
  struct meta_image *image = cluster(none_fenced, p, 5);
  ck_assert_int_eq(rebalance(&image, 10, 100), 2);
  ck_assert_int_eq(part(image, 1)->leader, 1);
  ck_assert_int_eq(part(image, 2)->leader, 1);
  ck_assert_int_eq(part(image, 3)->leader, 2);
  ck_assert_int_eq(part(image, 4)->leader, 2);
  /* 1 in 4 still not led by broker 1: 25%, under a bound of 30. */
  ck_assert_int_eq(rebalance(&image, 30, 100), 0);
  meta_image_unref(image);
}
END_TEST

START_TEST(rebalance_under_the_bound_or_capped) {
  struct part_spec p[] = {{{1, 2, 3}, 2, 3, {1, 2, 3}},
                          {{1, 2, 3}, 2, 3, {1, 2, 3}},
                          {{1, 2, 3}, 1, 3, {1, 2, 3}},
                          {{1, 2, 3}, 1, 3, {1, 2, 3}}};
  struct meta_image *image = cluster(none_fenced, p, 4);
  ck_assert_int_eq(rebalance(&image, 50, 100), 0); /* 50% is not over 50 */
  ck_assert_int_eq(rebalance(&image, 49, 1), 1);   /* one election a pass at most */
  ck_assert_int_eq(part(image, 0)->leader, 1);
  ck_assert_int_eq(part(image, 1)->leader, 2);
  ck_assert_int_eq(rebalance(&image, 0, 100), 1);
  ck_assert_int_eq(part(image, 1)->leader, 1);
  ck_assert_int_eq(rebalance(&image, 0, 100), 0);
  meta_image_unref(image);
}
END_TEST

START_TEST(rebalance_skips_fenced_preferred) {
  struct part_spec p[] = {{{1, 2, 3}, 2, 3, {1, 2, 3}}};
  bool fenced[3] = {true, false, false};
  struct meta_image *image = cluster(fenced, p, 1);
  ck_assert_int_eq(rebalance(&image, 0, 100), 0);
  ck_assert_int_eq(part(image, 0)->leader, 2);
  meta_image_unref(image);
}
END_TEST

START_TEST(elect_all_leaves_out_the_not_needed) {
  struct part_spec p[] = {
      {{1, 2, 3}, 1, 3, {1, 2, 3}}, {{2, 1, 3}, 1, 3, {1, 2, 3}}, {{3, 1, 2}, 1, 2, {1, 2}}};
  struct meta_image *image = cluster(none_fenced, p, 3);
  struct meta_elect_leaders all = {META_ELECTION_PREFERRED, NULL, -1};
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_elect_result *r = NULL;
  int32_t n = -1;
  meta_rule_elect_leaders(image, &all, &d, &r, &n);
  ck_assert_int_eq(n, 2); /* p0 needs none: left out */
  ck_assert_str_eq(r[0].topic, "t");
  ck_assert_int_eq(r[0].partition_id, 1);
  ck_assert_int_eq(r[0].error_code, KERR_NONE);
  ck_assert_int_eq(r[1].partition_id, 2);
  ck_assert_int_eq(r[1].error_code, KERR_PREFERRED_LEADER_NOT_AVAILABLE);
  ck_assert_int_eq(d.count, 1);
  free(r);
  meta_delta_free(&d);
  meta_image_unref(image);
}
END_TEST

START_TEST(elect_named_once_each_and_unknown_topics) {
  struct part_spec p[] = {{{1, 2, 3}, 2, 3, {1, 2, 3}}};
  struct meta_image *image = cluster(none_fenced, p, 1);
  int32_t parts[] = {0, 0, 5};
  int32_t zero[] = {0};
  struct meta_elect_topic topics[] = {
      {KSTR_LIT("t"), parts, 3}, {KSTR_LIT("nope"), zero, 1}, {KSTR_LIT("t"), zero, 1}};
  struct meta_elect_leaders in = {META_ELECTION_PREFERRED, topics, 3};
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_elect_result *r = NULL;
  int32_t n = -1;
  meta_rule_elect_leaders(image, &in, &d, &r, &n);
  ck_assert_int_eq(n, 3); /* t-0 once, t-5, nope-0 */
  ck_assert_int_eq(r[0].error_code, KERR_NONE);
  ck_assert_int_eq(r[1].partition_id, 5);
  ck_assert_int_eq(r[1].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_str_eq(r[2].topic, "nope");
  ck_assert_int_eq(r[2].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_int_eq(d.count, 1); /* one election for t-0 */
  free(r);
  meta_delta_free(&d);
  meta_image_unref(image);
}
END_TEST

static Suite *leader_balance_suite(void) {
  Suite *s = suite_create("leader_balance");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, preferred_election_moves_the_leader_back);
  tcase_add_test(tc, preferred_not_available_out_of_isr_or_fenced);
  tcase_add_test(tc, unknown_partition_and_type);
  tcase_add_test(tc, unclean_only_without_a_leader);
  tcase_add_test(tc, unclean_with_nothing_eligible);
  tcase_add_test(tc, imbalance_ratio);
  tcase_add_test(tc, rebalance_moves_only_eligible_preferred_replicas);
  tcase_add_test(tc, rebalance_under_the_bound_or_capped);
  tcase_add_test(tc, rebalance_skips_fenced_preferred);
  tcase_add_test(tc, elect_all_leaves_out_the_not_needed);
  tcase_add_test(tc, elect_named_once_each_and_unknown_topics);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(leader_balance_suite)
