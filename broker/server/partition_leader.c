/* The leader's side of a partition (server/replication.h): what it knows of
 * each follower from the follower's Fetch requests, and the high watermark
 * over the ISR (Kafka's Partition.maybeIncrementLeaderHW): the smallest log
 * end offset among the ISR members, the leader's own being what it alone
 * holds (partition_local_end: in strict mode its recovery point, so an
 * acknowledged record is on the disk of every ISR member). It never moves
 * back within an epoch; when it moves, the partition's waiters (consumer
 * fetches, acks=all produces) look again. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "meta/image.h"
#include "server/replication.h"
#include "server/server.h"

enum { ISR_CHECK_MS = 1000 }; /* the leader's look at its lagging followers */

static bool in_list(const int32_t *ids, int32_t count, int32_t id) {
  for (int32_t i = 0; i < count; i++)
    if (ids[i] == id) return true;
  return false;
}

/* The partition a leader state belongs to, or NULL if it is gone. */
static struct partition *partition_of(struct partition_leader *l) {
  struct topic *t = topic_find_by_id(l->node, l->topic_id);
  if (t == NULL || l->index >= t->partition_count) return NULL;
  struct partition *p = &t->partitions[l->index];
  return p->leader == l ? p : NULL;
}

static void isr_timer_fired(void *ctx) {
  struct partition_leader *l = ctx;
  l->isr_timer = 0;
  struct partition *p = partition_of(l);
  ASSERT(p != NULL); /* partition_leader_end stops the timer */
  struct env *env = l->node->env;
  partition_isr_check(l->node, p, (int64_t)(env->now_ns(env) / NS_PER_MS));
  /* The check may have ended nothing: the role ends only on a publish. */
  ASSERT(p->leader == l && l->isr_timer == 0);
  l->isr_timer = env->timer_start(env, (uint64_t)ISR_CHECK_MS * NS_PER_MS, isr_timer_fired, l);
}

/* KIP-101 / Kafka's makeLeader: the high watermark starts where this
 * replica knew it (a follower's is never above the leader's), capped at
 * what it holds; a leader alone in its ISR has everything committed. With
 * nothing known, it starts at the log start and moves up as soon as the
 * followers fetch: too low only delays consumers, too high would show
 * them records a truncation may take back. */
static int64_t high_watermark_start(const struct partition *p, int64_t hw_known) {
  int64_t local = partition_local_end(p);
  int64_t start = plog_start_offset(p->log);
  bool alone = p->isr_count == 1 && p->isr[0] == p->leader_id;
  int64_t hw = alone ? local : hw_known < 0 ? start : hw_known;
  if (hw > local) hw = local;
  return hw < start ? start : hw;
}

void partition_leader_begin(struct node *node, struct partition *p, int64_t hw_known) {
  ASSERT(node != NULL && p->leader == NULL && partition_is_leader(node, p));
  struct partition_leader *l = calloc(1, sizeof *l);
  ASSERT(l != NULL);
  p->leader = l;
  l->node = node;
  l->topic_id = p->topic->id;
  l->index = p->index;
  l->leader_epoch = p->leader_epoch;
  l->epoch_start_offset = plog_end_offset(p->log);
  l->refused_partition_epoch = -1;
  int32_t self = node_id(node);
  for (int32_t i = 0; i < p->replica_count; i++) {
    if (p->replicas[i] == self) continue;
    /* Unknown until their first fetch in this epoch. */
    l->replicas[l->replica_count++] =
        (struct replica_progress){.broker_id = p->replicas[i],
                                  .log_end_offset = -1,
                                  .last_caught_up_ms = -1,
                                  .last_fetch_ms = -1,
                                  .broker_epoch = -1,
                                  .last_fetch_leader_end_offset = -1,
                                  .fetch_epoch_min = -1,
                                  .log_start_offset = -1};
  }
  l->high_watermark = high_watermark_start(p, hw_known);
  struct env *env = node->env;
  /* A follower in the ISR gets a full replica.lag.time.max.ms from now:
   * it had no chance to fetch from this leader yet (Kafka resets its
   * lastCaughtUpTime to the leadership's start). */
  int64_t now_ms = (int64_t)(env->now_ns(env) / NS_PER_MS);
  for (int32_t i = 0; i < l->replica_count; i++)
    if (in_list(p->isr, p->isr_count, l->replicas[i].broker_id))
      l->replicas[i].last_caught_up_ms = now_ms;
  /* Only a KRaft node changes ISRs: the local controller has one broker. */
  if (node->loader != NULL)
    l->isr_timer =
        env->timer_start(env, (uint64_t)ISR_CHECK_MS * NS_PER_MS, isr_timer_fired, l);
  ASSERT(l->high_watermark >= plog_start_offset(p->log) &&
         l->high_watermark <= plog_end_offset(p->log));
}

void partition_leader_end(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->leader != NULL);
  struct partition_leader *l = p->leader;
  partition_isr_leader_ended(node, p);
  ASSERT(l->flight == NULL);
  if (l->isr_timer) node->env->timer_cancel(node->env, l->isr_timer);
  free(l);
  p->leader = NULL;
}

int64_t partition_leader_high_watermark(const struct partition *p) {
  ASSERT(p->leader != NULL);
  return p->leader->high_watermark;
}

int64_t partition_leader_epoch_start_offset(const struct partition *p) {
  ASSERT(p->leader != NULL);
  return p->leader->epoch_start_offset;
}

static struct replica_progress *progress_of(struct partition_leader *l, int32_t broker_id) {
  for (int32_t i = 0; i < l->replica_count; i++)
    if (l->replicas[i].broker_id == broker_id) return &l->replicas[i];
  return NULL;
}

const struct replica_progress *partition_leader_progress(const struct partition *p,
                                                         int32_t broker_id) {
  ASSERT(p->leader != NULL);
  return progress_of(p->leader, broker_id);
}

int32_t partition_leader_maximal_isr(const struct partition *p, int32_t *out, int32_t cap) {
  ASSERT(p->leader != NULL && cap >= META_REPLICAS_MAX);
  const struct partition_leader *l = p->leader;
  int32_t n = 0;
  for (int32_t i = 0; i < p->isr_count; i++) out[n++] = p->isr[i];
  if (l->flight == NULL) return n;
  /* PendingExpandIsr: the additions count at once; a pending shrink
   * still counts the members it would drop (Kafka's maximal ISR is the
   * union of the committed and the proposed). */
  for (int32_t i = 0; i < l->proposed_isr_count && n < cap; i++)
    if (!in_list(out, n, l->proposed_isr[i])) out[n++] = l->proposed_isr[i];
  return n;
}

/* The smallest log end offset over the maximal ISR. */
static int64_t isr_minimum(const struct partition *p, int32_t self) {
  int32_t isr[META_REPLICAS_MAX];
  int32_t n = partition_leader_maximal_isr(p, isr, META_REPLICAS_MAX);
  int64_t hw = partition_local_end(p);
  for (int32_t i = 0; i < n; i++) {
    if (isr[i] == self) continue;
    const struct replica_progress *rp = progress_of(p->leader, isr[i]);
    if (rp == NULL) continue; /* not a replica: the controller never puts it there */
    if (rp->log_end_offset < hw) hw = rp->log_end_offset;
  }
#ifdef SLUICE_MUTANT_HW_OUTSIDE_ISR /* mutant: a follower outside the ISR counts */
  for (int32_t i = 0; i < p->leader->replica_count; i++)
    if (p->leader->replicas[i].log_end_offset > hw) hw = p->leader->replicas[i].log_end_offset;
  if (hw > partition_local_end(p)) hw = partition_local_end(p);
#endif
  return hw;
}

/* KIP-966: with eligible leader replicas the high watermark stands still
 * while the ISR is under min.insync.replicas (at most the replica count,
 * Kafka's effective minimum), so that whoever left the ISR meanwhile (the
 * ELR) holds everything below it and may lead. */
static bool high_watermark_frozen(const struct node *node, const struct partition *p) {
  if (!node->cfg.eligible_leader_replicas_enable) return false; /* no config lookup per move */
  int32_t min_isr = (int32_t)topic_config_i64(&p->topic->config, TC_MIN_INSYNC_REPLICAS);
  if (min_isr > p->replica_count) min_isr = p->replica_count;
#ifdef SLUICE_MUTANT_HW_UNDER_MIN_ISR /* mutant: the high watermark moves on */
  min_isr = 0;
#endif
  return p->isr_count < min_isr;
}

bool partition_leader_refresh_high_watermark(struct node *node, struct partition *p) {
  ASSERT(p->leader != NULL && partition_is_leader(node, p));
  struct partition_leader *l = p->leader;
  if (high_watermark_frozen(node, p)) return false;
  int64_t candidate = isr_minimum(p, node_id(node));
  if (candidate <= l->high_watermark) return false;
  l->high_watermark = candidate;
  ASSERT(l->high_watermark <= plog_end_offset(p->log));
  return true;
}

int64_t partition_leader_update_high_watermark(struct node *node, struct partition *p) {
  if (partition_leader_refresh_high_watermark(node, p)) partition_wake_waiters(node, p);
  return p->leader->high_watermark;
}

bool partition_leader_follower_fetched(struct node *node, struct partition *p,
                                       int32_t broker_id, int64_t fetch_offset,
                                       int64_t log_start_offset, int64_t broker_epoch,
                                       int64_t now_ms) {
  ASSERT(p->leader != NULL && fetch_offset >= 0 && now_ms >= 0);
  struct replica_progress *rp = progress_of(p->leader, broker_id);
  if (rp == NULL) return false;
  int64_t leader_end = plog_end_offset(p->log);
  /* Kafka's Replica.updateFetchState: caught up now if it reached the
   * leader's end; caught up at its previous fetch if it reached the end
   * the leader had then. */
  int64_t caught_up = rp->last_caught_up_ms;
  if (fetch_offset >= leader_end)
    caught_up = now_ms;
  else if (rp->last_fetch_leader_end_offset >= 0 &&
           fetch_offset >= rp->last_fetch_leader_end_offset)
    caught_up = rp->last_fetch_ms;
  if (caught_up > rp->last_caught_up_ms) rp->last_caught_up_ms = caught_up;
  rp->log_end_offset = fetch_offset;
  rp->last_fetch_ms = now_ms;
  rp->last_fetch_leader_end_offset = leader_end;
  if (broker_epoch >= 0) rp->broker_epoch = broker_epoch;
  /* Fetch v5+ carries the follower's log start (KIP-107): a DeleteRecords
   * waits until every live replica's has passed its offset. */
  bool start_moved = log_start_offset > rp->log_start_offset;
  if (log_start_offset >= 0) rp->log_start_offset = log_start_offset;
  bool hw_moved = partition_leader_refresh_high_watermark(node, p);
  if (hw_moved || start_moved) partition_wake_waiters(node, p);
  partition_isr_follower_progressed(node, p, rp);
  return true;
}

/* KIP-455: a reassignment adds replicas in the same leader epoch; the
 * leader serves them from their first fetch. (Removing replicas starts a
 * new epoch, and with it a new follower set.) */
static void followers_add_new(struct node *node, struct partition *p) {
  struct partition_leader *l = p->leader;
  for (int32_t i = 0; i < p->replica_count; i++) {
    if (p->replicas[i] == node_id(node) || progress_of(l, p->replicas[i])) continue;
    ASSERT(l->replica_count < META_REPLICAS_MAX);
    l->replicas[l->replica_count++] =
        (struct replica_progress){.broker_id = p->replicas[i],
                                  .log_end_offset = -1,
                                  .last_caught_up_ms = -1,
                                  .last_fetch_ms = -1,
                                  .broker_epoch = -1,
                                  .last_fetch_leader_end_offset = -1,
                                  .fetch_epoch_min = -1,
                                  .log_start_offset = -1};
  }
}

void partition_leader_fetch_epoch_seen(struct partition *p, int32_t broker_id,
                                       int32_t current_leader_epoch) {
  ASSERT(p->leader != NULL);
  struct replica_progress *r = progress_of(p->leader, broker_id);
  if (r == NULL || current_leader_epoch < 0) return;
  if (r->fetch_epoch_min < 0 || current_leader_epoch < r->fetch_epoch_min)
    r->fetch_epoch_min = current_leader_epoch;
}

/* Kafka's metadataCache.hasAliveBroker: registered and not fenced. */
static bool broker_alive(const struct node *node, int32_t broker_id) {
  if (node->image == NULL) return false;
  const struct meta_broker *b = meta_image_broker(node->image, broker_id);
  return b != NULL && !b->fenced;
}

int64_t partition_leader_low_watermark(const struct node *node, const struct partition *p) {
  ASSERT(p->leader != NULL);
  int64_t low = plog_start_offset(p->log);
  const struct partition_leader *l = p->leader;
  for (int32_t i = 0; i < l->replica_count; i++) {
    const struct replica_progress *rp = &l->replicas[i];
    if (rp->log_start_offset < low && broker_alive(node, rp->broker_id))
      low = rp->log_start_offset;
  }
  ASSERT(low >= -1 && low <= plog_start_offset(p->log));
  return low;
}

void partition_leader_isr_changed(struct node *node, struct partition *p) {
  ASSERT(p->leader != NULL);
  followers_add_new(node, p);
  partition_isr_check(node, p, (int64_t)(node->env->now_ns(node->env) / NS_PER_MS));
  partition_leader_update_high_watermark(node, p);
}
