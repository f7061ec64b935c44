/* KIP-966's eligible leader replicas in the controller's rules
 * (broker/meta/elr.c, cluster_control.c, replication_control.c): who joins
 * and leaves the ELR, when a leader comes from it, and what an unclean
 * shutdown takes away; and the records' round trip. Images are built from
 * records as the controller builds them. */
#include <stdio.h>
#include <string.h>

#include "image_fixture.h"
#include "meta/cluster_control.h"
#include "meta/codec.h"
#include "meta/elr.h"
#include "meta/image.h"
#include "meta/replication_control.h"
#include "proto/errors.h"
#include "testing.h"

static const struct meta_leader_policy with_elr = {
    .unclean_leader_election = false, .elr = true, .min_insync_replicas = 2};
static const struct meta_leader_policy without_elr = {
    .unclean_leader_election = false, .elr = false, .min_insync_replicas = 2};

static struct kuuid id_of(uint8_t n) {
  struct kuuid id = {{0}};
  id.b[0] = n;
  return id;
}

/* Brokers 1-3 (fenced as asked), topic "t" (id 1) with one partition of
 * replicas {1,2,3}, the leader, ISR and ELR given; min.insync.replicas
 * overridden when min_isr > 0. */
static struct meta_image *cluster(const bool fenced[3], int32_t leader, int32_t isr_count,
                                  const int32_t *isr, int32_t elr_count, const int32_t *elr,
                                  int32_t min_isr) {
  struct meta_image *image = meta_image_empty("c");
  struct meta_delta d;
  meta_delta_init(&d);
  image_brokers_add(&d, image, 3, fenced);
  struct meta_record *t = image_record_add(&d, image, META_TOPIC_RECORD);
  snprintf(t->topic.name, sizeof t->topic.name, "t");
  t->topic.topic_id = id_of(1);
  struct meta_record *r = image_record_add(&d, image, META_PARTITION_RECORD);
  r->partition.topic_id = id_of(1);
  r->partition.replica_count = 3;
  for (int32_t i = 0; i < 3; i++) r->partition.replicas[i] = i + 1;
  r->partition.leader = leader;
  r->partition.isr_count = isr_count;
  if (isr_count > 0) memcpy(r->partition.isr, isr, (size_t)isr_count * sizeof *isr);
  r->partition.elr_count = elr_count;
  if (elr_count > 0) memcpy(r->partition.elr, elr, (size_t)elr_count * sizeof *elr);
  if (min_isr > 0) {
    struct meta_record *c = image_record_add(&d, image, META_CONFIG_RECORD);
    c->config.resource_type = 2; /* topic */
    snprintf(c->config.resource_name, sizeof c->config.resource_name, "t");
    snprintf(c->config.name, sizeof c->config.name, "min.insync.replicas");
    snprintf(c->config.value, sizeof c->config.value, "%d", min_isr);
  }
  return image_apply(image, &d);
}

static const struct meta_partition *part(const struct meta_image *image) {
  return meta_topic_partition(meta_image_topic(image, "t", 1), 0);
}

static void assert_ids(const int32_t *ids, int32_t count, const int32_t *want,
                       int32_t want_count) {
  ck_assert_int_eq(count, want_count);
  for (int32_t i = 0; i < count; i++) ck_assert_int_eq(ids[i], want[i]);
}

static int16_t alter(const struct meta_leader_policy *policy, struct meta_image **image,
                     int32_t isr_count, const int32_t *isr) {
  const struct meta_partition *p = part(*image);
  struct meta_alter_partition in = {.broker_id = p->leader,
                                    .broker_epoch = -1,
                                    .topic_id = id_of(1),
                                    .leader_epoch = p->leader_epoch,
                                    .partition_epoch = p->partition_epoch,
                                    .isr_count = isr_count};
  memcpy(in.isr, isr, (size_t)isr_count * sizeof *isr);
  for (int32_t i = 0; i < isr_count; i++) in.isr_broker_epochs[i] = -1;
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_alter_partition_result out;
  int16_t code = meta_rule_alter_partition(policy, *image, &in, &d, &out);
  *image = image_apply(*image, &d);
  return code;
}

static void fence(const struct meta_leader_policy *policy, struct meta_image **image,
                  int32_t broker_id, bool fenced) {
  struct meta_delta d;
  meta_delta_init(&d);
  const struct meta_broker *b = meta_image_broker(*image, broker_id);
  ck_assert_int_eq(meta_rule_fence_broker(policy, *image, broker_id, b->epoch, fenced, &d),
                   KERR_NONE);
  *image = image_apply(*image, &d);
}

START_TEST(shrinking_under_min_isr_moves_the_leaver_to_the_elr) {
  static const bool up[3] = {false, false, false};
  struct meta_image *image = cluster(up, 1, 3, (int32_t[]){1, 2, 3}, 0, NULL, 0);
  ck_assert_int_eq(alter(&with_elr, &image, 2, (int32_t[]){1, 2}), KERR_NONE);
  ck_assert_int_eq(part(image)->elr_count, 0); /* still at min.insync.replicas */
  ck_assert_int_eq(alter(&with_elr, &image, 1, (int32_t[]){1}), KERR_NONE);
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){2}, 1);
  ck_assert_int_eq(alter(&with_elr, &image, 2, (int32_t[]){1, 3}), KERR_NONE);
  ck_assert_int_eq(part(image)->elr_count, 0); /* back at min: the ELR empties */
  ck_assert_int_eq(part(image)->last_known_elr_count, 0);
  meta_image_unref(image);
}
END_TEST

START_TEST(without_elr_nothing_is_kept) {
  static const bool up[3] = {false, false, false};
  struct meta_image *image = cluster(up, 1, 2, (int32_t[]){1, 2}, 0, NULL, 0);
  ck_assert_int_eq(alter(&without_elr, &image, 1, (int32_t[]){1}), KERR_NONE);
  ck_assert_int_eq(part(image)->elr_count, 0);
  fence(&without_elr, &image, 1, true); /* the last member stays, leaderless */
  ck_assert_int_eq(part(image)->leader, META_NO_LEADER);
  assert_ids(part(image)->isr, part(image)->isr_count, (int32_t[]){1}, 1);
  meta_image_unref(image);
}
END_TEST

START_TEST(a_topic_override_sets_the_minimum) {
  static const bool up[3] = {false, false, false};
  struct meta_image *image = cluster(up, 1, 3, (int32_t[]){1, 2, 3}, 0, NULL, 3);
  ck_assert_int_eq(meta_topic_min_isr(meta_image_topic(image, "t", 1), 2), 3);
  ck_assert_int_eq(alter(&with_elr, &image, 2, (int32_t[]){1, 2}), KERR_NONE);
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){3}, 1);
  meta_image_unref(image);
}
END_TEST

START_TEST(fencing_the_last_member_elects_from_the_elr) {
  static const bool up[3] = {false, false, false};
  struct meta_image *image = cluster(up, 1, 1, (int32_t[]){1}, 1, (int32_t[]){2}, 0);
  int32_t epoch = part(image)->leader_epoch;
  fence(&with_elr, &image, 1, true);
  ck_assert_int_eq(part(image)->leader, 2);
  ck_assert_int_eq(part(image)->leader_epoch, epoch + 1);
  assert_ids(part(image)->isr, part(image)->isr_count, (int32_t[]){2}, 1);
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){1}, 1); /* clean so far */
  meta_image_unref(image);
}
END_TEST

START_TEST(with_nobody_eligible_the_isr_empties) {
  static const bool fenced[3] = {false, true, false};
  struct meta_image *image = cluster(fenced, 1, 1, (int32_t[]){1}, 1, (int32_t[]){2}, 0);
  fence(&with_elr, &image, 1, true);
  ck_assert_int_eq(part(image)->leader, META_NO_LEADER);
  ck_assert_int_eq(part(image)->isr_count, 0);
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){1, 2}, 2);
  fence(&with_elr, &image, 2, false); /* an ELR member back: it leads */
  ck_assert_int_eq(part(image)->leader, 2);
  assert_ids(part(image)->isr, part(image)->isr_count, (int32_t[]){2}, 1);
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){1}, 1);
  meta_image_unref(image);
}
END_TEST

static struct meta_image *reregister(struct meta_image *image, int32_t broker_id,
                                     int64_t previous_epoch) {
  struct meta_delta d;
  meta_delta_init(&d);
  (void)meta_rule_reregistration(&with_elr, image, broker_id, id_of(99), previous_epoch, &d);
  return image_apply(image, &d);
}

START_TEST(an_unclean_shutdown_leaves_the_elr) {
  static const bool fenced[3] = {true, false, true};
  struct meta_image *image = cluster(fenced, 2, 1, (int32_t[]){2}, 2, (int32_t[]){1, 3}, 0);
  int64_t epoch_of_3 = meta_image_broker(image, 3)->epoch;
  image = reregister(image, 3, epoch_of_3); /* clean: stays */
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){1, 3}, 2);
  image = reregister(image, 1, -1); /* unclean: out, kept as last known */
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){3}, 1);
  assert_ids(part(image)->last_known_elr, part(image)->last_known_elr_count, (int32_t[]){1}, 1);
  meta_image_unref(image);
}
END_TEST

START_TEST(with_every_eligible_replica_unclean_the_first_back_leads) {
  /* Leaderless, ISR and ELR empty: 1 and 3 shut down uncleanly. Rather
   * than stay offline for good, the first of them back leads. */
  static const bool fenced[3] = {true, true, true};
  struct meta_image *image = cluster(fenced, -1, 0, NULL, 2, (int32_t[]){1, 3}, 0);
  image = reregister(image, 1, -1);
  image = reregister(image, 3, -1);
  ck_assert_int_eq(part(image)->elr_count, 0);
  assert_ids(part(image)->last_known_elr, part(image)->last_known_elr_count, (int32_t[]){1, 3},
             2);
  fence(&with_elr, &image, 2, false); /* never eligible: nothing */
  ck_assert_int_eq(part(image)->leader, META_NO_LEADER);
  fence(&with_elr, &image, 3, false);
  ck_assert_int_eq(part(image)->leader, 3);
  assert_ids(part(image)->isr, part(image)->isr_count, (int32_t[]){3}, 1);
  meta_image_unref(image);
}
END_TEST

START_TEST(the_minimum_is_at_most_the_replica_count) {
  /* min.insync.replicas 5 on three replicas: two in sync is under it,
   * three is not (Kafka's effective minimum). */
  static const bool up[3] = {false, false, false};
  struct meta_image *image = cluster(up, 1, 3, (int32_t[]){1, 2, 3}, 0, NULL, 5);
  ck_assert_int_eq(alter(&with_elr, &image, 2, (int32_t[]){1, 2}), KERR_NONE);
  assert_ids(part(image)->elr, part(image)->elr_count, (int32_t[]){3}, 1);
  ck_assert_int_eq(alter(&with_elr, &image, 3, (int32_t[]){1, 2, 3}), KERR_NONE);
  ck_assert_int_eq(part(image)->elr_count, 0);
  meta_image_unref(image);
}
END_TEST

START_TEST(elr_fields_survive_the_codec) {
  struct meta_record r = {.type = META_PARTITION_CHANGE_RECORD, .offset = 7};
  r.partition_change.topic_id = id_of(1);
  r.partition_change.leader = 2;
  r.partition_change.isr_count = 1;
  r.partition_change.isr[0] = 2;
  r.partition_change.replica_count = -1;
  r.partition_change.elr_set = true;
  r.partition_change.elr_count = 1;
  r.partition_change.elr[0] = 3;
  r.partition_change.last_known_elr_count = 1;
  r.partition_change.last_known_elr[0] = 1;
  struct buf b;
  buf_init(&b);
  meta_record_encode(&r, &b);
  struct meta_record back;
  ck_assert_int_eq(meta_record_decode(b.data, b.len, 7, &back), 0);
  ck_assert(meta_record_equal(&r, &back));
  r.partition_change.elr_set = false; /* null: unchanged, and shorter */
  size_t with_len = b.len;
  b.len = 0;
  meta_record_encode(&r, &b);
  ck_assert_uint_lt(b.len, with_len);
  ck_assert_int_eq(meta_record_decode(b.data, b.len, 7, &back), 0);
  ck_assert(!back.partition_change.elr_set);
  buf_free(&b);
}
END_TEST

static Suite *elr_suite(void) {
  Suite *s = suite_create("elr");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, shrinking_under_min_isr_moves_the_leaver_to_the_elr);
  tcase_add_test(tc, without_elr_nothing_is_kept);
  tcase_add_test(tc, a_topic_override_sets_the_minimum);
  tcase_add_test(tc, fencing_the_last_member_elects_from_the_elr);
  tcase_add_test(tc, with_nobody_eligible_the_isr_empties);
  tcase_add_test(tc, an_unclean_shutdown_leaves_the_elr);
  tcase_add_test(tc, with_every_eligible_replica_unclean_the_first_back_leads);
  tcase_add_test(tc, the_minimum_is_at_most_the_replica_count);
  tcase_add_test(tc, elr_fields_survive_the_codec);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(elr_suite)
