/* Broker liveness rules (cluster_control.h). */
#include "meta/cluster_control.h"

#include <string.h>

#include "base/assert.h"
#include "meta/elr.h"
#include "proto/errors.h"

static int64_t next_offset(const struct meta_image *image, const struct meta_delta *delta) {
  int64_t last = delta->count ? delta->records[delta->count - 1].offset : image->offset;
  return (last > image->offset ? last : image->offset) + 1;
}

static bool usable(const struct meta_image *image, int32_t id, int32_t except) {
  const struct meta_broker *b = meta_image_broker(image, id);
  return id != except && b != NULL && !b->fenced;
}

static bool in_list(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

/* The first replica (in replica order) in ids that is usable, or -1. */
static int32_t first_usable(const struct meta_image *image, const struct meta_partition *p,
                            const int32_t *ids, int32_t count, int32_t except) {
  for (int32_t i = 0; i < p->replica_count; i++)
    if (in_list(ids, count, p->replicas[i]) && usable(image, p->replicas[i], except))
      return p->replicas[i];
  return META_NO_LEADER;
}

/* With unclean election: any usable replica; it becomes the whole ISR, and
 * the ELR's promise (nothing below the high watermark is missing) is gone. */
static bool elect_unclean(const struct meta_leader_policy *policy,
                          const struct meta_image *image, const struct meta_partition *p,
                          int32_t except, struct meta_partition_change_record *c) {
  int32_t leader = policy->unclean_leader_election
                       ? first_usable(image, p, p->replicas, p->replica_count, except)
                       : META_NO_LEADER;
  if (leader == META_NO_LEADER) return false; /* may lose committed data: asked for */
  c->leader = leader;
  c->isr[0] = leader;
  c->isr_count = 1;
  meta_elr_clear(p, c);
  return true;
}

/* KIP-966: an ELR member may lead when no ISR member can; the ISR becomes
 * that one. */
static bool elect_eligible(const struct meta_image *image, const struct meta_partition *p,
                           int32_t except, struct meta_partition_change_record *c) {
  int32_t leader = first_usable(image, p, p->elr, p->elr_count, except);
  if (leader == META_NO_LEADER) return false;
  c->leader = leader;
  c->isr[0] = leader;
  c->isr_count = 1;
  return true;
}

/* The partition's change without broker_id, or false when it needs none. */
static bool change_of(const struct meta_leader_policy *policy, const struct meta_image *image,
                      const struct meta_topic *topic, const struct meta_partition *p,
                      int32_t broker_id, bool unclean_shutdown,
                      struct meta_partition_change_record *c) {
  bool leads = p->leader == broker_id;
  bool in_isr = in_list(p->isr, p->isr_count, broker_id);
  bool in_elr = in_list(p->elr, p->elr_count, broker_id);
  bool leaves_isr = in_isr && (p->isr_count > 1 || policy->elr);
  if (!leads && !leaves_isr && !(policy->elr && unclean_shutdown && in_elr)) return false;
  c->partition_id = p->partition_id;
  c->leader = META_LEADER_UNCHANGED;
  c->replica_count = -1;
  c->isr_count = 0;
  for (int32_t i = 0; i < p->isr_count; i++)
    if (p->isr[i] != broker_id) c->isr[c->isr_count++] = p->isr[i];
  if (c->isr_count == 0 && !policy->elr) { /* the last in-sync replica stays in the ISR */
    c->isr[0] = broker_id;
    c->isr_count = 1;
  }
  if (leads) {
    c->leader = first_usable(image, p, c->isr, c->isr_count, broker_id);
    if (c->leader == META_NO_LEADER && !(policy->elr && elect_eligible(image, p, broker_id, c)))
      (void)elect_unclean(policy, image, p, broker_id, c);
  }
  if (policy->elr)
    meta_elr_update(p, meta_topic_min_isr(topic, policy->min_insync_replicas), c->isr,
                    c->isr_count, unclean_shutdown ? broker_id : -1, c);
  return true;
}

int32_t meta_rule_move_leaders(const struct meta_leader_policy *policy,
                               const struct meta_image *image, int32_t broker_id,
                               bool unclean_shutdown, struct meta_delta *delta) {
  ASSERT(policy != NULL && image != NULL && delta != NULL);
  int32_t changed = 0;
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *topic = image->topics_by_name[t];
    for (int32_t i = 0; i < topic->partition_count; i++) {
      struct meta_partition_change_record c;
      memset(&c, 0, sizeof c);
      if (!change_of(policy, image, topic, &topic->partitions[i], broker_id, unclean_shutdown,
                     &c))
        continue;
      c.topic_id = topic->id;
      struct meta_record *r =
          meta_delta_add(delta, META_PARTITION_CHANGE_RECORD, next_offset(image, delta));
      ASSERT(r != NULL);
      r->partition_change = c;
      changed++;
    }
  }
  return changed;
}

static int16_t registration_check(const struct meta_image *image, int32_t broker_id,
                                  int64_t broker_epoch) {
  const struct meta_broker *b = meta_image_broker(image, broker_id);
  if (b == NULL) return KERR_BROKER_ID_NOT_REGISTERED;
  if (b->epoch != broker_epoch) return KERR_STALE_BROKER_EPOCH;
  return KERR_NONE;
}

static void registration_change(const struct meta_image *image, int32_t broker_id,
                                int64_t broker_epoch, int8_t fenced, int8_t shutdown,
                                struct meta_delta *delta) {
  struct meta_record *r =
      meta_delta_add(delta, META_BROKER_REGISTRATION_CHANGE_RECORD, next_offset(image, delta));
  ASSERT(r != NULL);
  r->broker_registration_change =
      (struct meta_broker_registration_change_record){.broker_id = broker_id,
                                                      .broker_epoch = broker_epoch,
                                                      .fenced = fenced,
                                                      .in_controlled_shutdown = shutdown};
}

/* How a leaderless partition may take broker_id back as its leader: from
 * its ISR, from its ELR when the ISR is empty (KIP-966: the ISR becomes
 * it), from its last known ELR when the ELR is empty too (every eligible
 * replica shut down uncleanly: the first of them back leads, as Kafka
 * without ELR would elect its ISR's last member; else the partition would
 * stay offline for good), or with unclean election from its replicas.
 * False: it may not. */
static bool returning_change(const struct meta_leader_policy *policy,
                             const struct meta_topic *topic, const struct meta_partition *p,
                             int32_t broker_id, struct meta_partition_change_record *c) {
  *c = (struct meta_partition_change_record){.partition_id = p->partition_id,
                                             .topic_id = topic->id,
                                             .leader = broker_id,
                                             .isr_count = -1,
                                             .replica_count = -1};
  if (in_list(p->isr, p->isr_count, broker_id)) return true;
  bool eligible =
      policy->elr && p->isr_count == 0 &&
      (in_list(p->elr, p->elr_count, broker_id) ||
       (p->elr_count == 0 && in_list(p->last_known_elr, p->last_known_elr_count, broker_id)));
  bool unclean = !eligible && policy->unclean_leader_election &&
                 in_list(p->replicas, p->replica_count, broker_id);
  if (!eligible && !unclean) return false;
  c->isr_count = 1;
  c->isr[0] = broker_id;
  if (eligible)
    meta_elr_update(p, meta_topic_min_isr(topic, policy->min_insync_replicas), c->isr, 1, -1,
                    c);
  else
    meta_elr_clear(p, c); /* unclean */
  return true;
}

/* KIP-631: a broker back (unfenced) leads again the leaderless partitions
 * it may lead (returning_change). */
static int32_t elect_returning(const struct meta_leader_policy *policy,
                               const struct meta_image *image, int32_t broker_id,
                               struct meta_delta *delta) {
  int32_t changed = 0;
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *topic = image->topics_by_name[t];
    for (int32_t i = 0; i < topic->partition_count; i++) {
      const struct meta_partition *p = &topic->partitions[i];
      if (p->leader != META_NO_LEADER) continue;
      struct meta_partition_change_record c;
      if (!returning_change(policy, topic, p, broker_id, &c)) continue;
      struct meta_record *r =
          meta_delta_add(delta, META_PARTITION_CHANGE_RECORD, next_offset(image, delta));
      ASSERT(r != NULL);
      r->partition_change = c;
      changed++;
    }
  }
  return changed;
}

int16_t meta_rule_fence_broker(const struct meta_leader_policy *policy,
                               const struct meta_image *image, int32_t broker_id,
                               int64_t broker_epoch, bool fenced, struct meta_delta *delta) {
  int16_t code = registration_check(image, broker_id, broker_epoch);
  if (code != KERR_NONE) return code;
  if (meta_image_broker(image, broker_id)->fenced == fenced) return KERR_NONE;
  registration_change(image, broker_id, broker_epoch,
                      fenced ? META_FENCE_FENCED : META_FENCE_UNFENCED, 0, delta);
  if (fenced)
#ifdef SLUICE_MUTANT_FENCE_KEEPS_LEADERS /* mutant: the fenced broker keeps leading */
    (void)policy;
#else
    meta_rule_move_leaders(policy, image, broker_id, false, delta);
#endif
  else
    elect_returning(policy, image, broker_id, delta);
  return KERR_NONE;
}

int16_t meta_rule_controlled_shutdown(const struct meta_leader_policy *policy,
                                      const struct meta_image *image, int32_t broker_id,
                                      int64_t broker_epoch, struct meta_delta *delta) {
  int16_t code = registration_check(image, broker_id, broker_epoch);
  if (code != KERR_NONE) return code;
  const struct meta_broker *b = meta_image_broker(image, broker_id);
  registration_change(image, broker_id, broker_epoch, b->fenced ? 0 : META_FENCE_FENCED, 1,
                      delta);
  meta_rule_move_leaders(policy, image, broker_id, false, delta);
  return KERR_NONE;
}

int32_t meta_rule_reregistration(const struct meta_leader_policy *policy,
                                 const struct meta_image *image, int32_t broker_id,
                                 struct kuuid incarnation_id, int64_t previous_broker_epoch,
                                 struct meta_delta *delta) {
  ASSERT(policy != NULL && image != NULL && delta != NULL);
  const struct meta_broker *b = meta_image_broker(image, broker_id);
  if (b == NULL || memcmp(&b->incarnation_id, &incarnation_id, sizeof incarnation_id) == 0)
    return 0; /* a first registration, or the same process asking again */
  bool unclean =
      meta_reregistration_unclean(image, broker_id, incarnation_id, previous_broker_epoch);
  return meta_rule_move_leaders(policy, image, broker_id, unclean, delta);
}

bool meta_reregistration_unclean(const struct meta_image *image, int32_t broker_id,
                                 struct kuuid incarnation_id, int64_t previous_broker_epoch) {
  const struct meta_broker *b = meta_image_broker(image, broker_id);
  return b != NULL && memcmp(&b->incarnation_id, &incarnation_id, sizeof incarnation_id) != 0 &&
         previous_broker_epoch != b->epoch;
}

int32_t meta_partitions_led(const struct meta_image *image, int32_t broker_id) {
  int32_t n = 0;
  for (int32_t t = 0; t < image->topic_count; t++) {
    const struct meta_topic *topic = image->topics_by_name[t];
    for (int32_t i = 0; i < topic->partition_count; i++)
      n += topic->partitions[i].leader == broker_id;
  }
  return n;
}
