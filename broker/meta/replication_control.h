/* The controller's rules for topics and brokers (what Kafka's
 * ReplicationControlManager and ClusterControlManager decide): each checks
 * one item of a call against an image, appends the records that carry it
 * out, and fills its result. No I/O and no clock: the local controller runs
 * them on its tick, and a quorum controller will run them on the active
 * controller. Topic ids come from env's random source. */
#ifndef SLUICE_META_REPLICATION_CONTROL_H
#define SLUICE_META_REPLICATION_CONTROL_H

#include "env.h"
#include "meta/cluster_control.h"
#include "meta/controller.h"
#include "server/config.h"

struct meta_rules {
  struct env *env;
  const struct config *cfg; /* num.partitions, default.replication.factor, ... */
};

/* Kafka's legal topic names: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
bool meta_topic_name_valid(const char *name, size_t len);

/* Each appends its records to delta with offsets after both image->offset
 * and the delta's last record; on an error it appends nothing. */
void meta_rule_create_topic(const struct meta_rules *rules, const struct meta_image *image,
                            const struct meta_create_topic *in, struct meta_delta *delta,
                            struct meta_topic_result *result);
void meta_rule_create_partitions(const struct meta_rules *rules, const struct meta_image *image,
                                 const struct meta_create_partitions *in,
                                 struct meta_delta *delta, struct meta_topic_result *result);
void meta_rule_delete_topic(const struct meta_rules *rules, const struct meta_image *image,
                            const struct meta_delete_topic *in, struct meta_delta *delta,
                            struct meta_topic_result *result);
/* KIP-631 registration; the broker epoch is the record's offset. Without
 * heartbeats yet, a registered broker is unfenced at once. */
int16_t meta_rule_register_broker(const struct meta_image *image,
                                  const struct meta_broker_registration *in,
                                  struct meta_delta *delta);

/* AlterPartition (KIP-497; KIP-903's broker epochs): the leader of a
 * partition proposes its ISR, against the leader and partition epochs it
 * knows. */
struct meta_alter_partition {
  int32_t broker_id; /* the leader asking */
  int64_t broker_epoch;
  struct kuuid topic_id;
  int32_t partition_id;
  int32_t leader_epoch;
  int32_t partition_epoch;
  int32_t isr_count;
  int32_t isr[META_REPLICAS_MAX];
  int64_t isr_broker_epochs[META_REPLICAS_MAX]; /* -1: not known to the leader */
};

/* The partition as it is after the call (Kafka answers the new state). */
struct meta_alter_partition_result {
  int16_t error_code;
  int32_t leader_id;
  int32_t leader_epoch;
  int32_t partition_epoch;
  int32_t isr_count;
  int32_t isr[META_REPLICAS_MAX];
};

/* Checks the proposal as Kafka's controller does: the asking broker's
 * epoch (STALE_BROKER_EPOCH), the topic and partition (UNKNOWN_TOPIC_ID /
 * UNKNOWN_TOPIC_OR_PARTITION), epochs newer than the controller's
 * (NOT_CONTROLLER: it lags), an older leader epoch (FENCED_LEADER_EPOCH), a
 * broker that does not lead (INVALID_REQUEST), another partition epoch
 * (INVALID_UPDATE_VERSION), an ISR that is not a subset of the replicas
 * holding the leader (INVALID_REQUEST), a new member that is not a
 * registered, unfenced broker (KIP-841) with the epoch the leader saw
 * (KIP-903): INELIGIBLE_REPLICA. Appends one PartitionChangeRecord when
 * the ISR changes; the leader epoch stays (only a new leader bumps it,
 * meta/image_build.c), the partition epoch advances. With ELR (policy) the
 * record carries the ELR the change makes (meta/elr.h). */
int16_t meta_rule_alter_partition(const struct meta_leader_policy *policy,
                                  const struct meta_image *image,
                                  const struct meta_alter_partition *in,
                                  struct meta_delta *delta,
                                  struct meta_alter_partition_result *out);

#endif
