/* Role changes of a partition: a publish gave it a new leader or a new
 * leader epoch (topics.c calls this after the partition's fields follow
 * the image). The old role ends before the new one begins, so a leader's
 * follower tracking or a follower's fetcher never outlives its epoch
 * (KIP-320: an epoch is the unit of a leadership). */
#include <string.h>

#include "base/assert.h"
#include "server/group_coordinator.h"
#include "server/replication.h"
#include "server/server.h"

/* KIP-631, as Kafka's broker applies its image to its replicas only once
 * its registration is caught up: a restarted node acts on no partition
 * until this incarnation's registration is in its image, for the
 * controller moved the leaderships of the last incarnation before it
 * registered the new one. A restarted leader with a torn log must not lead
 * again in its old epoch (its followers would truncate to it). */
static void role_begin(struct node *node, struct partition *p, int64_t hw_known) {
  ASSERT(p->leader == NULL && p->follower == NULL && partition_hosted(p));
  if (partition_is_leader(node, p)) {
    partition_leader_begin(node, p, hw_known);
    if (groups_topic_internal(p->topic->name, (int32_t)strlen(p->topic->name)))
      groups_leader_began(node, p); /* a coordinator loads its groups at once */
  } else if (p->leader_id >= 0)
    replica_follow_begin(node, p);
}

static void wake_all(struct node *node, struct partition *p) {
  int64_t all[WATCH_KINDS];
  for (int k = 0; k < WATCH_KINDS; k++) all[k] = INT64_MAX;
  purgatory_wake(&node->purgatory, &p->watches, all);
}

void partition_roles_resume(struct node *node) {
  if (node->lifecycle.roles_on || !broker_registered(node)) return;
  node->lifecycle.roles_on = true;
  for (int i = 0; i < node->topic_count; i++) {
    struct topic *t = node->topics[i];
    for (int32_t j = 0; j < t->partition_count; j++) {
      struct partition *p = &t->partitions[j];
      if (!partition_hosted(p) || p->leader || p->follower) continue;
      role_begin(node, p, -1);
      wake_all(node, p);
    }
  }
}

void partition_role_changed(struct node *node, struct partition *p, int32_t old_leader_id,
                            int32_t old_leader_epoch) {
  ASSERT(node != NULL && p != NULL && p->topic != NULL);
  ASSERT(p->leader_id != old_leader_id || p->leader_epoch != old_leader_epoch);
  if (!partition_hosted(p)) return;
  env_log(node->env, ENV_LOG_DEBUG, "%s-%d: leader %d in epoch %d (was %d in epoch %d)",
          p->topic->name, p->index, p->leader_id, p->leader_epoch, old_leader_id,
          old_leader_epoch);
  /* The high watermark this node knew goes on to its next role. */
  int64_t hw_known = p->leader || p->follower ? partition_high_watermark(p) : -1;
  partition_roles_end(node, p);
  if (broker_registered(node)) {
    role_begin(node, p, hw_known);
  } else if (node->lifecycle.roles_on) {
    node->lifecycle.roles_on = false;
    env_log(node->env, ENV_LOG_INFO, "partition roles wait for this broker's registration");
  }
  ASSERT(!(p->leader && p->follower));
  /* Every waiter on the partition looks again, once the new role is in
   * place (never between two roles, when no high watermark is known): an
   * acks=all produce learns that this node no longer leads
   * (NOT_LEADER_OR_FOLLOWER, as Kafka's DelayedProduce), a fetch answers
   * with what the new role serves. */
  wake_all(node, p);
}

void partition_roles_end(struct node *node, struct partition *p) {
  ASSERT(!(p->leader && p->follower));
  bool led = p->leader != NULL;
  if (p->leader) partition_leader_end(node, p);
  if (led && groups_topic_internal(p->topic->name, (int32_t)strlen(p->topic->name)))
    groups_leader_ended(node, p); /* its groups are another coordinator's now */
  if (p->follower) replica_follow_end(node, p);
  ASSERT(p->leader == NULL && p->follower == NULL);
}
