/* Partition replication (the replication issue, Kafka's ReplicaManager):
 * the seams between the roles a node plays for a partition. Private to
 * broker/server/.
 *
 * - partition_leader.c: while this node leads a partition, what it knows
 *   of each follower (from the follower's Fetch requests), the high
 *   watermark over the ISR, acks=all waiting on it.
 * - replica_follower.c (with broker/replica/): while this node follows, a
 *   fetcher that copies the leader's log and follows its high watermark.
 * - partition_isr.c: the ISR's changes (shrink after replica.lag.time.max.ms,
 *   expand once a follower caught up) proposed to the controller with
 *   AlterPartition; the image that commits them is what counts.
 *
 * partition_role.c calls begin/end on every change of leader or leader
 * epoch (topics.c), so a role's state never outlives its epoch. */
#ifndef SLUICE_SERVER_REPLICATION_H
#define SLUICE_SERVER_REPLICATION_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"
#include "meta/records.h"

struct node;
struct partition;

/* What the leader knows of one replica of its partition (Kafka's
 * Replica.ReplicaState); the leader's own entry is kept too. */
struct replica_progress {
  int32_t broker_id;
  int64_t log_end_offset;    /* from its last Fetch's offset; -1: unknown */
  int64_t last_caught_up_ms; /* last time its fetch reached the leader's end offset */
  int64_t last_fetch_ms;     /* -1: never fetched in this epoch */
  int64_t broker_epoch;      /* from its Fetch (ReplicaState, KIP-903); -1: unknown */
  /* The leader's end offset at this replica's previous fetch (Kafka's
   * lastFetchLeaderLogEndOffset): a fetch that reaches it proves the
   * replica was caught up at that earlier fetch. -1: none yet. */
  int64_t last_fetch_leader_end_offset;
  /* The lowest current leader epoch a fetch counted in this leadership
   * carried (-1: none carried one). Below the leadership's epoch only if a
   * fenced fetch was served (KIP-320): sim/replica_check.c judges it. */
  int32_t fetch_epoch_min;
  int64_t
      log_start_offset; /* from its last Fetch (DeleteRecords' low watermark); -1: unknown */
};

struct isr_flight;

/* The leader's state of one partition in one leader epoch (shared by
 * partition_leader.c and partition_isr.c). A heap object that stays put
 * while the topic's partition array may move: its timer finds the
 * partition again by topic id and index. */
struct partition_leader {
  struct node *node;
  struct kuuid topic_id;
  int32_t index;
  int32_t leader_epoch;
  int64_t high_watermark;     /* only moves forward in the epoch */
  int64_t epoch_start_offset; /* this epoch's first offset on this replica */
  int32_t replica_count;
  struct replica_progress replicas[META_REPLICAS_MAX]; /* the followers */
  env_timer_id isr_timer;                              /* partition_isr_check */
  /* An AlterPartition in flight (NULL: none): the ISR it proposes, which
   * the high watermark counts while it is out (the maximal ISR), and the
   * partition epoch it was proposed against. */
  struct isr_flight *flight;
  int32_t proposed_isr_count;
  int32_t proposed_isr[META_REPLICAS_MAX];
  int32_t proposed_partition_epoch;
  /* The partition epoch the controller refused a proposal against as out
   * of date (-1: none): no other is made until the image brings a newer
   * one (Kafka's "awaiting new metadata"), so a stale leader does not ask
   * again at every follower Fetch. */
  int32_t refused_partition_epoch;
};

/* partition_role.c: a partition's role ends (deleted, or the node stops). */
void partition_roles_end(struct node *node, struct partition *p);
/* The node may act on its partitions now (broker_registered): the hosted
 * partitions without a role take the one their image gives. Cheap when
 * nothing waits. */
void partition_roles_resume(struct node *node);

/* partition_leader.c */
/* hw_known: the high watermark this node knew for p just before (as its
 * follower or its leader in an older epoch), -1 if none. */
void partition_leader_begin(struct node *node, struct partition *p, int64_t hw_known);
void partition_leader_end(struct node *node, struct partition *p);
/* The high watermark a leader serves (only moves forward within an epoch). */
int64_t partition_leader_high_watermark(const struct partition *p);
/* The progress of broker_id, or NULL if it is not a replica. */
const struct replica_progress *partition_leader_progress(const struct partition *p,
                                                         int32_t broker_id);
/* A follower's Fetch at fetch_offset (its log end offset, on its disk in
 * strict mode) reached the leader at now_ms: its progress moves (Kafka's
 * Replica.updateFetchState), the high watermark is recomputed and the
 * partition's waiters woken if it moved. False when broker_id is not a
 * replica of p (the fetch gets NOT_LEADER_OR_FOLLOWER). */
/* A counted replica fetch carried current_leader_epoch (-1: none). */
void partition_leader_fetch_epoch_seen(struct partition *p, int32_t broker_id,
                                       int32_t current_leader_epoch);
bool partition_leader_follower_fetched(struct node *node, struct partition *p,
                                       int32_t broker_id, int64_t fetch_offset,
                                       int64_t log_start_offset, int64_t broker_epoch,
                                       int64_t now_ms);
/* DeleteRecords' low watermark (Kafka's Partition.lowWatermarkIfLeader):
 * the smallest log start offset over the leader and the followers whose
 * broker is alive (registered, not fenced), -1 while one of those has not
 * told it yet. */
int64_t partition_leader_low_watermark(const struct node *node, const struct partition *p);
/* Recomputes the high watermark without waking anyone; true if it moved
 * (partition_wake_waiters calls it before it looks at the positions). */
bool partition_leader_refresh_high_watermark(struct node *node, struct partition *p);
/* Recomputes the high watermark (after an append, a flush, an ISR change)
 * and wakes the partition's waiters when it moved; returns it. */
int64_t partition_leader_update_high_watermark(struct node *node, struct partition *p);
/* The image changed p's ISR or partition epoch without a new leader epoch
 * (topics.c): a pending AlterPartition may be settled, the high watermark
 * may move (a smaller ISR). */
void partition_leader_isr_changed(struct node *node, struct partition *p);
/* The ISR the high watermark counts: the committed one plus the additions
 * of an AlterPartition in flight (Kafka's maximal ISR, PendingExpandIsr). */
int32_t partition_leader_maximal_isr(const struct partition *p, int32_t *out, int32_t cap);
/* The offset where the leader's current epoch began on this replica (Kafka
 * only adds a follower to the ISR once it holds it); -1 if unknown. */
int64_t partition_leader_epoch_start_offset(const struct partition *p);

/* replica_follower.c */
void replica_follow_begin(struct node *node, struct partition *p);
void replica_follow_end(struct node *node, struct partition *p);
/* A follower's high watermark: the leader's, capped at its own end offset. */
int64_t replica_follower_high_watermark(const struct partition *p);
/* p's topic grew its partition array (realloc): the follower, which keeps a
 * pointer to its partition, is told where p lives now. */
void replica_follower_moved(struct partition *p);

/* partition_isr.c: the leader calls these as its followers' progress moves
 * and on its maintenance tick. */
void partition_isr_follower_progressed(struct node *node, struct partition *p,
                                       const struct replica_progress *rp);
void partition_isr_check(struct node *node, struct partition *p, int64_t now_ms);
/* The leader role ends: an AlterPartition in flight forgets it. */
void partition_isr_leader_ended(struct node *node, struct partition *p);
/* An AlterPartition of p is in flight (then no other is sent). */
bool partition_isr_pending(const struct partition *p);

#endif
