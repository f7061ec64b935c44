/* Partition reassignment on the controller (KIP-455), as Kafka 3.9's
 * ReplicationControlManager does it: a reassignment adds the target's new
 * replicas to the replica set (adding), waits until every target replica
 * is in the ISR, then completes: the replica set becomes the target, the
 * replicas leaving (removing) leave the ISR, and the leader moves if the
 * target does not hold it. Cancelling goes back to the original replicas.
 * Each step is one PartitionChangeRecord; a step that removes replicas
 * names the leader (the same one too), which starts a new leader epoch
 * (meta/image_build.c), so every follower reconciles in it. */
#ifndef SLUICE_META_REASSIGNMENT_H
#define SLUICE_META_REASSIGNMENT_H

#include "meta/image.h"
#include "meta/records.h"

/* One partition of AlterPartitionReassignments: target_count -1 (null
 * Replicas) cancels the reassignment in progress. */
struct meta_reassign {
  struct kstr topic; /* by name, as the request names it */
  int32_t partition_id;
  int32_t target_count;
  int32_t target[META_REPLICAS_MAX];
};

/* Checks one partition's request against image and appends the records
 * that carry it out (none on an error): INVALID_REPLICA_ASSIGNMENT for an
 * empty or oversized target, a broker named twice or not registered;
 * NO_REASSIGNMENT_IN_PROGRESS for a cancel with none; UNKNOWN_TOPIC_OR_-
 * PARTITION. A target whose replicas are all in the ISR completes at once. */
int16_t meta_rule_reassign(const struct meta_image *image, const struct meta_reassign *in,
                           struct meta_delta *delta);

/* Completes, in name and partition order, every reassignment whose target
 * replicas have all joined the ISR (at most max_changes records); returns
 * how many. The active controller runs it after each change it commits. */
int32_t meta_rule_reassignments_progress(const struct meta_image *image,
                                         struct meta_delta *delta, int32_t max_changes);

/* The target replicas of a partition under reassignment (replicas minus
 * removing), or false when none is in progress. */
bool meta_reassignment_target(const struct meta_partition *p, int32_t *target,
                              int32_t *target_count);

#endif
