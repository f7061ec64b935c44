/* broker/meta/reassignment.c (KIP-455) and the image rules it relies on: a
 * reassignment adds the new replicas, completes once they are all in the
 * ISR (the replica set becomes the target, the leader moves if the target
 * does not hold it), cancels back to the original replicas; a
 * PartitionChangeRecord that names a leader, the same one too, starts a new
 * leader epoch; an ISR change keeps a reassignment in progress; the
 * records' new fields survive the metadata codec. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "image_fixture.h"
#include "meta/codec.h"
#include "meta/image.h"
#include "meta/reassignment.h"
#include "proto/errors.h"
#include "testing.h"

static struct kuuid topic_id(void) {
  struct kuuid id = {{0}};
  id.b[0] = 7;
  id.b[15] = 9;
  return id;
}

/* Brokers 1-4 unfenced; topic "t" partition 0 on [1,2,3], all in sync,
 * led by 1 in leader epoch 0. */
static struct meta_image *cluster(void) {
  struct meta_image *image = meta_image_empty("c");
  struct meta_delta d;
  meta_delta_init(&d);
  for (int32_t b = 1; b <= 4; b++) {
    struct meta_record *r = image_record_add(&d, image, META_REGISTER_BROKER_RECORD);
    r->register_broker.broker_id = b;
    snprintf(r->register_broker.host, sizeof r->register_broker.host, "h%d", b);
    r->register_broker.broker_epoch = r->offset;
  }
  struct meta_record *r = image_record_add(&d, image, META_TOPIC_RECORD);
  snprintf(r->topic.name, sizeof r->topic.name, "t");
  r->topic.topic_id = topic_id();
  r = image_record_add(&d, image, META_PARTITION_RECORD);
  r->partition.topic_id = topic_id();
  r->partition.replica_count = r->partition.isr_count = 3;
  for (int32_t i = 0; i < 3; i++) r->partition.replicas[i] = r->partition.isr[i] = i + 1;
  r->partition.leader = 1;
  return image_apply(image, &d);
}

static const struct meta_partition *part(const struct meta_image *image) {
  const struct meta_topic *t = meta_image_topic(image, "t", 1);
  ck_assert_ptr_nonnull(t);
  return meta_topic_partition(t, 0);
}

static void ids_eq(const int32_t *ids, int32_t count, const int32_t *want, int32_t want_count) {
  ck_assert_int_eq(count, want_count);
  for (int32_t i = 0; i < count; i++) ck_assert_int_eq(ids[i], want[i]);
}

/* The reassignment's records applied; its error code. */
static int16_t reassign(struct meta_image **image, const int32_t *target, int32_t count) {
  struct meta_reassign in = {.topic = kstr_of("t"), .partition_id = 0, .target_count = count};
  if (count > 0) memcpy(in.target, target, (size_t)count * sizeof target[0]);
  struct meta_delta d;
  meta_delta_init(&d);
  int16_t code = meta_rule_reassign(*image, &in, &d);
  if (code != KERR_NONE) ck_assert_int_eq(d.count, 0); /* nothing on an error */
  *image = image_apply(*image, &d);
  return code;
}

static int32_t progress(struct meta_image **image) {
  struct meta_delta d;
  meta_delta_init(&d);
  int32_t n = meta_rule_reassignments_progress(*image, &d, 8);
  ck_assert_int_eq(n, d.count);
  *image = image_apply(*image, &d);
  return n;
}

/* The leader's AlterPartition: a change of the ISR alone. */
static void isr_becomes(struct meta_image **image, const int32_t *isr, int32_t count) {
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_record *r = image_record_add(&d, *image, META_PARTITION_CHANGE_RECORD);
  r->partition_change = (struct meta_partition_change_record){
      .topic_id = topic_id(), .leader = META_LEADER_UNCHANGED, .replica_count = -1};
  r->partition_change.isr_count = count;
  memcpy(r->partition_change.isr, isr, (size_t)count * sizeof isr[0]);
  *image = image_apply(*image, &d);
}

START_TEST(a_move_adds_then_completes_with_a_new_epoch_under_the_same_leader) {
  struct meta_image *image = cluster();
  ck_assert_int_eq(reassign(&image, (int32_t[]){1, 2, 4}, 3), KERR_NONE);
  const struct meta_partition *p = part(image);
  ids_eq(p->replicas, p->replica_count, (int32_t[]){1, 2, 4, 3}, 4);
  ids_eq(p->adding, p->adding_count, (int32_t[]){4}, 1);
  ids_eq(p->removing, p->removing_count, (int32_t[]){3}, 1);
  ck_assert_int_eq(p->leader, 1);
  ck_assert_int_eq(p->leader_epoch, 0);  /* only grew: the epoch stays */
  ck_assert_int_eq(progress(&image), 0); /* 4 is not in sync yet */
  isr_becomes(&image, (int32_t[]){1, 2, 3, 4}, 4);
  p = part(image);
  ck_assert_int_eq(p->adding_count, 1); /* an ISR change keeps the move */
  ck_assert_int_eq(progress(&image), 1);
  p = part(image);
  ids_eq(p->replicas, p->replica_count, (int32_t[]){1, 2, 4}, 3);
  ids_eq(p->isr, p->isr_count, (int32_t[]){1, 2, 4}, 3);
  ck_assert_int_eq(p->adding_count + p->removing_count, 0);
  ck_assert_int_eq(p->leader, 1);
  ck_assert_int_eq(p->leader_epoch, 1); /* same leader, new epoch */
  ck_assert_int_eq(progress(&image), 0);
  meta_image_unref(image);
}
END_TEST

START_TEST(a_leader_outside_the_target_moves_at_completion) {
  struct meta_image *image = cluster();
  ck_assert_int_eq(reassign(&image, (int32_t[]){2, 3, 4}, 3), KERR_NONE);
  ck_assert_int_eq(part(image)->leader, 1); /* leads until the move completes */
  isr_becomes(&image, (int32_t[]){1, 2, 3, 4}, 4);
  ck_assert_int_eq(progress(&image), 1);
  const struct meta_partition *p = part(image);
  ck_assert_int_eq(p->leader, 2);
  ck_assert_int_eq(p->leader_epoch, 1);
  ids_eq(p->isr, p->isr_count, (int32_t[]){2, 3, 4}, 3);
  meta_image_unref(image);
}
END_TEST

START_TEST(a_target_already_in_sync_completes_at_once) {
  struct meta_image *image = cluster();
  ck_assert_int_eq(reassign(&image, (int32_t[]){1, 2}, 2), KERR_NONE);
  const struct meta_partition *p = part(image);
  ids_eq(p->replicas, p->replica_count, (int32_t[]){1, 2}, 2);
  ck_assert_int_eq(p->adding_count + p->removing_count, 0);
  ck_assert_int_eq(p->leader_epoch, 1); /* a replica dropped */
  meta_image_unref(image);
}
END_TEST

START_TEST(cancelling_goes_back_to_the_original_replicas) {
  struct meta_image *image = cluster();
  ck_assert_int_eq(reassign(&image, NULL, -1), KERR_NO_REASSIGNMENT_IN_PROGRESS);
  ck_assert_int_eq(reassign(&image, (int32_t[]){1, 2, 4}, 3), KERR_NONE);
  ck_assert_int_eq(reassign(&image, NULL, -1), KERR_NONE);
  const struct meta_partition *p = part(image);
  ids_eq(p->replicas, p->replica_count, (int32_t[]){1, 2, 3}, 3);
  ids_eq(p->isr, p->isr_count, (int32_t[]){1, 2, 3}, 3);
  ck_assert_int_eq(p->adding_count + p->removing_count, 0);
  ck_assert_int_eq(p->leader, 1);
  ck_assert_int_eq(reassign(&image, NULL, -1), KERR_NO_REASSIGNMENT_IN_PROGRESS);
  meta_image_unref(image);
}
END_TEST

START_TEST(bad_targets_are_refused_and_change_nothing) {
  struct meta_image *image = cluster();
  ck_assert_int_eq(reassign(&image, (int32_t[]){1, 9, 2}, 3), KERR_INVALID_REPLICA_ASSIGNMENT);
  ck_assert_int_eq(reassign(&image, (int32_t[]){1, 1, 2}, 3), KERR_INVALID_REPLICA_ASSIGNMENT);
  ck_assert_int_eq(reassign(&image, NULL, 0), KERR_INVALID_REPLICA_ASSIGNMENT);
  struct meta_reassign in = {.topic = kstr_of("nope"), .target_count = 1, .target = {1}};
  struct meta_delta d;
  meta_delta_init(&d);
  ck_assert_int_eq(meta_rule_reassign(image, &in, &d), KERR_UNKNOWN_TOPIC_OR_PARTITION);
  in.topic = kstr_of("t");
  in.partition_id = 5;
  ck_assert_int_eq(meta_rule_reassign(image, &in, &d), KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_int_eq(d.count, 0);
  meta_delta_free(&d);
  const struct meta_partition *p = part(image);
  ids_eq(p->replicas, p->replica_count, (int32_t[]){1, 2, 3}, 3);
  ck_assert_int_eq(p->partition_epoch, 0);
  meta_image_unref(image);
}
END_TEST

START_TEST(naming_the_same_leader_bumps_the_leader_epoch) {
  struct meta_image *image = cluster();
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_record *r = image_record_add(&d, image, META_PARTITION_CHANGE_RECORD);
  r->partition_change = (struct meta_partition_change_record){
      .topic_id = topic_id(), .leader = 1, .isr_count = -1, .replica_count = -1};
  image = image_apply(image, &d);
  ck_assert_int_eq(part(image)->leader, 1);
  ck_assert_int_eq(part(image)->leader_epoch, 1);
  ck_assert_int_eq(part(image)->partition_epoch, 1);
  isr_becomes(&image, (int32_t[]){1, 2}, 2); /* leader unchanged: no bump */
  ck_assert_int_eq(part(image)->leader_epoch, 1);
  ck_assert_int_eq(part(image)->partition_epoch, 2);
  meta_image_unref(image);
}
END_TEST

START_TEST(reassignment_fields_survive_the_codec) {
  struct meta_record in = {.type = META_PARTITION_CHANGE_RECORD, .offset = 42};
  in.partition_change = (struct meta_partition_change_record){.topic_id = topic_id(),
                                                              .leader = META_LEADER_UNCHANGED,
                                                              .isr_count = -1,
                                                              .replica_count = 4,
                                                              .replicas = {1, 2, 4, 3},
                                                              .reassignment_set = true,
                                                              .removing_count = 1,
                                                              .removing = {3},
                                                              .adding_count = 1,
                                                              .adding = {4}};
  struct meta_record plain = in;
  plain.partition_change.reassignment_set = false; /* null: unchanged */
  plain.partition_change.removing_count = plain.partition_change.adding_count = 0;
  const struct meta_record *cases[] = {&in, &plain};
  for (int i = 0; i < 2; i++) {
    struct buf b;
    buf_init(&b);
    meta_record_encode(cases[i], &b);
    struct meta_record out;
    memset(&out, 0, sizeof out);
    ck_assert_int_eq(meta_record_decode(b.data, b.len, 42, &out), 0);
    ck_assert(meta_record_equal(cases[i], &out));
    buf_free(&b);
  }
  struct meta_record pr = {.type = META_PARTITION_RECORD, .offset = 7};
  pr.partition = (struct meta_partition_record){.topic_id = topic_id(),
                                                .replica_count = 2,
                                                .replicas = {1, 4},
                                                .isr_count = 1,
                                                .isr = {1},
                                                .leader = 1,
                                                .adding_count = 1,
                                                .adding = {4}};
  struct buf b;
  buf_init(&b);
  meta_record_encode(&pr, &b);
  struct meta_record out;
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(meta_record_decode(b.data, b.len, 7, &out), 0);
  ck_assert_int_eq(out.partition.adding_count, 1);
  ck_assert_int_eq(out.partition.adding[0], 4);
  ck_assert_int_eq(out.partition.removing_count, 0);
  buf_free(&b);
}
END_TEST

static Suite *reassignment_suite(void) {
  Suite *s = suite_create("reassignment");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_move_adds_then_completes_with_a_new_epoch_under_the_same_leader);
  tcase_add_test(tc, a_leader_outside_the_target_moves_at_completion);
  tcase_add_test(tc, a_target_already_in_sync_completes_at_once);
  tcase_add_test(tc, cancelling_goes_back_to_the_original_replicas);
  tcase_add_test(tc, bad_targets_are_refused_and_change_nothing);
  tcase_add_test(tc, naming_the_same_leader_bumps_the_leader_epoch);
  tcase_add_test(tc, reassignment_fields_survive_the_codec);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(reassignment_suite)
