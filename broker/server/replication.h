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
};

/* partition_role.c: a partition's role ends (deleted, or the node stops). */
void partition_roles_end(struct node *node, struct partition *p);

/* partition_leader.c */
void partition_leader_begin(struct node *node, struct partition *p);
void partition_leader_end(struct node *node, struct partition *p);
/* The high watermark a leader serves (only moves forward within an epoch). */
int64_t partition_leader_high_watermark(const struct partition *p);
/* The progress of broker_id, or NULL if it is not a replica. */
const struct replica_progress *partition_leader_progress(const struct partition *p,
                                                         int32_t broker_id);

/* replica_follower.c */
void replica_follow_begin(struct node *node, struct partition *p);
void replica_follow_end(struct node *node, struct partition *p);
/* A follower's high watermark: the leader's, capped at its own end offset. */
int64_t replica_follower_high_watermark(const struct partition *p);

/* partition_isr.c: the leader calls these as its followers' progress moves
 * and on its maintenance tick. */
void partition_isr_follower_progressed(struct node *node, struct partition *p,
                                       const struct replica_progress *rp);
void partition_isr_check(struct node *node, struct partition *p, int64_t now_ms);

#endif
