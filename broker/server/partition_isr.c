/* The ISR's changes (server/replication.h), proposed by the partition's
 * leader to the active controller with AlterPartition (KIP-497) and in
 * force once the image carries them:
 *
 * - shrink: an ISR member that has not caught up with the leader's log end
 *   for replica.lag.time.max.ms leaves (Kafka's getOutOfSyncReplicas),
 *   checked once a second and whenever the ISR changed;
 * - expand: a follower outside the ISR whose log end reached the high
 *   watermark and the start of the leader's epoch joins, if its broker is
 *   registered and unfenced (KIP-841) in the epoch it fetched in (KIP-903).
 *
 * One AlterPartition per partition is in flight at a time; while it is,
 * the high watermark counts the proposed members too (the maximal ISR:
 * an added follower holds back the high watermark at once, a dropped one
 * until the controller agrees). Only KRaft nodes propose: the local
 * controller's single broker has nothing to change. */
#include <stdlib.h>

#include "base/assert.h"
#include "proto/errors.h"
#include "server/controller_quorum.h"
#include "server/replication.h"
#include "server/server.h"

enum { ALTER_PARTITION_DEADLINE_MS = 30000 }; /* then the next check asks again */

struct isr_flight {
  struct partition_leader *leader; /* NULL once the leader role ended */
};

static bool in_list(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

/* This node may propose an ISR for p now. */
static bool may_propose(const struct node *node, const struct partition *p) {
  return node->loader != NULL && node->controller != NULL && p->leader != NULL &&
         p->leader->flight == NULL && partition_is_leader(node, p) &&
         p->leader->refused_partition_epoch != p->partition_epoch &&
         node->lifecycle.broker_epoch >= 0 && !node->shutting_down;
}

/* Kafka's Partition.handleAlterPartitionError: these answers say the
 * proposal was made against out-of-date state, which only new metadata
 * mends; the others (a timeout, a controller move) may be asked again. */
static bool refused_as_stale(int error_code) {
  return error_code == KERR_FENCED_LEADER_EPOCH || error_code == KERR_INVALID_UPDATE_VERSION ||
         error_code == KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

bool partition_isr_pending(const struct partition *p) {
  return p->leader != NULL && p->leader->flight != NULL;
}

/* The partition of a leader state, if it still leads it. */
static struct partition *leader_partition(struct partition_leader *l) {
  struct topic *t = topic_find_by_id(l->node, l->topic_id);
  if (t == NULL || l->index >= t->partition_count) return NULL;
  struct partition *p = &t->partitions[l->index];
  return p->leader == l ? p : NULL;
}

/* The controller decided (and this node's image holds the change, if
 * any): the maximal ISR is the committed one again. */
static void alter_answered(void *ctx, const struct meta_alter_partition_result *r) {
  struct isr_flight *f = ctx;
  struct partition_leader *l = f->leader;
  free(f);
  if (l == NULL) return; /* the leadership ended first */
  ASSERT(l->flight == f);
  l->flight = NULL;
  l->proposed_isr_count = 0;
  if (refused_as_stale(r->error_code)) l->refused_partition_epoch = l->proposed_partition_epoch;
  struct partition *p = leader_partition(l);
  if (p == NULL) return;
  env_log(l->node->env, r->error_code == KERR_NONE ? ENV_LOG_INFO : ENV_LOG_WARN,
          "%s-%d: AlterPartition answered %d (partition epoch %d, ISR of %d)", p->topic->name,
          p->index, r->error_code, r->partition_epoch, r->isr_count);
  partition_leader_update_high_watermark(l->node, p);
}

static int64_t broker_epoch_of(const struct node *node, const struct partition *p, int32_t id) {
  if (id == node_id(node)) return node->lifecycle.broker_epoch;
  const struct replica_progress *rp = partition_leader_progress(p, id);
  return rp ? rp->broker_epoch : -1;
}

static void propose(struct node *node, struct partition *p, const int32_t *isr, int32_t count,
                    const char *why) {
  struct partition_leader *l = p->leader;
  ASSERT(may_propose(node, p) && count >= 1 && count <= META_REPLICAS_MAX);
  struct meta_alter_partition in = {.broker_id = node_id(node),
                                    .broker_epoch = node->lifecycle.broker_epoch,
                                    .topic_id = p->topic->id,
                                    .partition_id = p->index,
                                    .leader_epoch = p->leader_epoch,
                                    .partition_epoch = p->partition_epoch,
                                    .isr_count = count};
  for (int32_t i = 0; i < count; i++) {
    in.isr[i] = isr[i];
    in.isr_broker_epochs[i] = broker_epoch_of(node, p, isr[i]);
    l->proposed_isr[i] = isr[i];
  }
  l->proposed_isr_count = count;
  l->proposed_partition_epoch = p->partition_epoch;
  l->flight = calloc(1, sizeof *l->flight);
  ASSERT(l->flight != NULL);
  l->flight->leader = l;
  env_log(node->env, ENV_LOG_INFO, "%s-%d: proposing an ISR of %d (%s) in partition epoch %d",
          p->topic->name, p->index, count, why, p->partition_epoch);
  uint64_t deadline_ns =
      node->env->now_ns(node->env) + (uint64_t)ALTER_PARTITION_DEADLINE_MS * NS_PER_MS;
  controller_quorum_alter_partition(node->controller, &in, deadline_ns, alter_answered,
                                    l->flight);
}

void partition_isr_leader_ended(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->leader != NULL);
  struct partition_leader *l = p->leader;
  if (l->flight) l->flight->leader = NULL; /* its answer is dropped */
  l->flight = NULL;
  l->proposed_isr_count = 0;
}

/* Kafka's Replica.isCaughtUp: at the leader's end, or caught up with it
 * within the last replica.lag.time.max.ms. */
static bool caught_up(const struct node *node, const struct replica_progress *rp,
                      int64_t leader_end, int64_t now_ms) {
  return rp->log_end_offset == leader_end ||
         now_ms - rp->last_caught_up_ms <= node->cfg.replica_lag_time_max_ms;
}

void partition_isr_check(struct node *node, struct partition *p, int64_t now_ms) {
  ASSERT(node != NULL && p->leader != NULL && now_ms >= 0);
  if (!may_propose(node, p)) return;
  int64_t leader_end = plog_end_offset(p->log);
  int32_t keep[META_REPLICAS_MAX];
  int32_t n = 0;
  for (int32_t i = 0; i < p->isr_count; i++) {
    const struct replica_progress *rp = partition_leader_progress(p, p->isr[i]);
    if (p->isr[i] != node_id(node) && rp != NULL && !caught_up(node, rp, leader_end, now_ms))
      continue;
    keep[n++] = p->isr[i];
  }
  if (n == p->isr_count) return;
  ASSERT(n >= 1 && in_list(keep, n, node_id(node)));
#ifdef SLUICE_MUTANT_ISR_SHRINK_UNCOMMITTED /* mutant: the leader shrinks its ISR alone */
  p->isr_count = n;
  for (int32_t i = 0; i < n; i++) p->isr[i] = keep[i];
  partition_leader_update_high_watermark(node, p);
  return;
#endif
  node->metrics.isr_shrinks++;
  propose(node, p, keep, n, "shrink");
}

void partition_isr_follower_progressed(struct node *node, struct partition *p,
                                       const struct replica_progress *rp) {
  ASSERT(node != NULL && p->leader != NULL && rp != NULL);
  if (!may_propose(node, p) || in_list(p->isr, p->isr_count, rp->broker_id)) return;
  /* Kafka's isFollowerInSync: at the high watermark, and past the start
   * of this leader's epoch (so it holds this leader's history). */
  if (rp->log_end_offset < partition_leader_high_watermark(p) ||
      rp->log_end_offset < partition_leader_epoch_start_offset(p))
    return;
  const struct meta_broker *b = meta_image_broker(node->image, rp->broker_id);
  if (b == NULL || b->fenced) return;                                /* KIP-841 */
  if (rp->broker_epoch >= 0 && rp->broker_epoch != b->epoch) return; /* KIP-903 */
  int32_t isr[META_REPLICAS_MAX];
  int32_t n = 0;
  for (int32_t i = 0; i < p->isr_count; i++) isr[n++] = p->isr[i];
  if (n == META_REPLICAS_MAX) return;
  isr[n++] = rp->broker_id;
  node->metrics.isr_expands++;
  propose(node, p, isr, n, "expand");
}
