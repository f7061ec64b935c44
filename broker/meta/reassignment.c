/* KIP-455 partition reassignment rules (reassignment.h). */
#include "meta/reassignment.h"

#include <string.h>

#include "base/assert.h"
#include "proto/errors.h"

struct replica_set {
  int32_t count;
  int32_t ids[META_REPLICAS_MAX];
};

static bool has(const int32_t *ids, int32_t count, int32_t id) {
  ASSERT(count >= 0 && count <= META_REPLICAS_MAX);
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

static void add(struct replica_set *s, int32_t id) {
  ASSERT(s->count < META_REPLICAS_MAX);
  s->ids[s->count++] = id;
}

/* a's members that are (keep) or are not (!keep) in b, in a's order. */
static struct replica_set filter(const int32_t *a, int32_t a_count, const int32_t *b,
                                 int32_t b_count, bool keep) {
  struct replica_set out = {0};
  for (int32_t i = 0; i < a_count; i++)
    if (has(b, b_count, a[i]) == keep) add(&out, a[i]);
  return out;
}

static int64_t next_offset(const struct meta_image *image, const struct meta_delta *delta) {
  int64_t last = delta->count ? delta->records[delta->count - 1].offset : image->offset;
  return (last > image->offset ? last : image->offset) + 1;
}

bool meta_reassignment_target(const struct meta_partition *p, int32_t *target,
                              int32_t *target_count) {
  ASSERT(p != NULL && target != NULL && target_count != NULL);
  if (p->adding_count == 0 && p->removing_count == 0) return false;
  struct replica_set t =
      filter(p->replicas, p->replica_count, p->removing, p->removing_count, false);
  memcpy(target, t.ids, sizeof t.ids);
  *target_count = t.count;
  return true;
}

/* The replicas before the reassignment in progress (or now, without one). */
static struct replica_set original_of(const struct meta_partition *p) {
  return filter(p->replicas, p->replica_count, p->adding, p->adding_count, false);
}

static bool usable(const struct meta_image *image, int32_t id) {
  const struct meta_broker *b = meta_image_broker(image, id);
  return b != NULL && !b->fenced;
}

/* The partition moved to replicas r with adding a and removing m. A change
 * that drops a replica names the leader, the same one when it stays in the
 * ISR (KIP-455 as Kafka does it: a new leader epoch, in which the dropped
 * replica is no longer served); one that only grows the set keeps it. */
static int16_t change_to(const struct meta_image *image, const struct meta_topic *t,
                         const struct meta_partition *p, const struct replica_set *r,
                         const struct replica_set *a, const struct replica_set *m,
                         struct meta_delta *delta) {
  struct replica_set isr = filter(p->isr, p->isr_count, r->ids, r->count, true);
  if (isr.count == 0) return KERR_INVALID_REPLICA_ASSIGNMENT; /* nobody in sync would stay */
  bool drops = filter(p->replicas, p->replica_count, r->ids, r->count, false).count > 0;
  struct meta_record *rec =
      meta_delta_add(delta, META_PARTITION_CHANGE_RECORD, next_offset(image, delta));
  if (rec == NULL) return KERR_POLICY_VIOLATION;
  struct meta_partition_change_record *c = &rec->partition_change;
  memset(c, 0, sizeof *c);
  c->topic_id = t->id;
  c->partition_id = p->partition_id;
  c->leader = META_LEADER_UNCHANGED;
  c->isr_count = isr.count;
  memcpy(c->isr, isr.ids, sizeof c->isr);
  c->replica_count = r->count;
  memcpy(c->replicas, r->ids, sizeof c->replicas);
  c->reassignment_set = true;
  c->adding_count = a->count;
  memcpy(c->adding, a->ids, sizeof c->adding);
  c->removing_count = m->count;
  memcpy(c->removing, m->ids, sizeof c->removing);
  if (!drops && has(isr.ids, isr.count, p->leader)) return KERR_NONE;
  c->leader = META_NO_LEADER;
  if (has(isr.ids, isr.count, p->leader) && usable(image, p->leader)) c->leader = p->leader;
  for (int32_t i = 0; i < r->count && c->leader == META_NO_LEADER; i++)
    if (has(isr.ids, isr.count, r->ids[i]) && usable(image, r->ids[i])) c->leader = r->ids[i];
  return KERR_NONE;
}

static int16_t target_check(const struct meta_image *image, const struct meta_reassign *in) {
  if (in->target_count < 1 || in->target_count > META_REPLICAS_MAX)
    return KERR_INVALID_REPLICA_ASSIGNMENT;
  for (int32_t i = 0; i < in->target_count; i++) {
    if (has(in->target, i, in->target[i])) return KERR_INVALID_REPLICA_ASSIGNMENT;
    if (meta_image_broker(image, in->target[i]) == NULL) return KERR_INVALID_REPLICA_ASSIGNMENT;
  }
  return KERR_NONE;
}

static int16_t cancel(const struct meta_image *image, const struct meta_topic *t,
                      const struct meta_partition *p, struct meta_delta *delta) {
  if (p->adding_count == 0 && p->removing_count == 0) return KERR_NO_REASSIGNMENT_IN_PROGRESS;
  struct replica_set orig = original_of(p), none = {0};
  return change_to(image, t, p, &orig, &none, &none, delta);
}

int16_t meta_rule_reassign(const struct meta_image *image, const struct meta_reassign *in,
                           struct meta_delta *delta) {
  ASSERT(image != NULL && in != NULL && delta != NULL);
  const struct meta_topic *t =
      in->topic.len > 0 ? meta_image_topic(image, in->topic.ptr, (size_t)in->topic.len) : NULL;
  const struct meta_partition *p = t ? meta_topic_partition(t, in->partition_id) : NULL;
  if (p == NULL) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (in->target_count == -1) return cancel(image, t, p, delta);
  int16_t code = target_check(image, in);
  if (code != KERR_NONE) return code;
  struct replica_set orig = original_of(p), none = {0};
  struct replica_set adding = filter(in->target, in->target_count, orig.ids, orig.count, false);
  struct replica_set removing =
      filter(orig.ids, orig.count, in->target, in->target_count, false);
  struct replica_set target = filter(in->target, in->target_count, NULL, 0, false);
  bool in_progress = p->adding_count > 0 || p->removing_count > 0;
  if (!in_progress && adding.count == 0 && removing.count == 0 &&
      memcmp(target.ids, p->replicas, (size_t)target.count * sizeof target.ids[0]) == 0)
    return KERR_NONE; /* already the replica set, in this order */
  /* Every target replica in sync already: done in one step. */
  if (filter(target.ids, target.count, p->isr, p->isr_count, false).count == 0)
    return change_to(image, t, p, &target, &none, &none, delta);
  struct replica_set merged = target;
  for (int32_t i = 0; i < removing.count; i++) add(&merged, removing.ids[i]);
  if (merged.count > META_REPLICAS_MAX) return KERR_INVALID_REPLICA_ASSIGNMENT;
  return change_to(image, t, p, &merged, &adding, &removing, delta);
}

int32_t meta_rule_reassignments_progress(const struct meta_image *image,
                                         struct meta_delta *delta, int32_t max_changes) {
  ASSERT(image != NULL && delta != NULL && max_changes >= 0);
  int32_t changed = 0;
  struct replica_set none = {0};
  for (int32_t i = 0; i < image->topic_count && changed < max_changes; i++) {
    const struct meta_topic *t = image->topics_by_name[i];
    for (int32_t j = 0; j < t->partition_count && changed < max_changes; j++) {
      const struct meta_partition *p = &t->partitions[j];
      struct replica_set target;
      if (!meta_reassignment_target(p, target.ids, &target.count)) continue;
      if (filter(target.ids, target.count, p->isr, p->isr_count, false).count > 0) continue;
      if (change_to(image, t, p, &target, &none, &none, delta) == KERR_NONE) changed++;
    }
  }
  return changed;
}
