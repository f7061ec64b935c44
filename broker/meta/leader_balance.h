/* Preferred and unclean leader elections on the controller (KIP-460's
 * ElectLeaders; KIP-183 preferred replica election) and the active
 * controller's periodic leader rebalance (auto.leader.rebalance.enable).
 * The preferred replica of a partition is the first of its replicas. Each
 * rule checks a partition against an image and appends the
 * PartitionChangeRecord that carries the election out; no I/O, no clock:
 * the quorum controller calls them. Partitions are visited in topic-id
 * order, then partition order (the image's topics_by_id), never in pointer
 * order. */
#ifndef SLUICE_META_LEADER_BALANCE_H
#define SLUICE_META_LEADER_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/image.h"
#include "meta/records.h"

enum { META_ELECTION_PREFERRED = 0, META_ELECTION_UNCLEAN = 1 };

/* One partition's election: KERR_NONE with one record appended, or
 * ELECTION_NOT_NEEDED (the preferred replica leads; for unclean, there is
 * a leader), PREFERRED_LEADER_NOT_AVAILABLE (the preferred replica is not
 * in the ISR, or fenced or not registered), ELIGIBLE_LEADERS_NOT_AVAILABLE
 * (unclean: no unfenced replica), UNKNOWN_TOPIC_OR_PARTITION, or
 * INVALID_REQUEST (an election type Kafka does not have), with nothing
 * appended. An unclean election that finds an in-sync replica elects it
 * cleanly; otherwise the first unfenced replica leads and the ISR becomes
 * that one (KIP-460). */
int16_t meta_rule_elect_leader(const struct meta_image *image, int8_t election_type,
                               const struct meta_topic *topic, int32_t partition_id,
                               struct meta_delta *delta);

/* The preferred replica leads, or may: in the ISR, registered, unfenced. */
bool meta_preferred_leader_eligible(const struct meta_image *image,
                                    const struct meta_partition *p);

/* Partitions whose preferred replica is `broker_id` and does not lead, in
 * percent of the partitions it is preferred for (0 when it is preferred
 * for none): the ratio leader.imbalance.per.broker.percentage bounds. */
int32_t meta_leader_imbalance_percent(const struct meta_image *image, int32_t broker_id);

/* One rebalance pass: for each broker whose imbalance exceeds
 * percentage_max, every partition it is preferred for and does not lead,
 * whose preferred replica is eligible, gets a preferred election; at most
 * elections_max of them. Returns the records appended. */
int32_t meta_rule_rebalance_leaders(const struct meta_image *image, int32_t percentage_max,
                                    int32_t elections_max, struct meta_delta *delta);

/* ElectLeaders as the controller takes it: topics NULL (topic_count -1)
 * for every partition; the strings point into the caller's request. */
struct meta_elect_topic {
  struct kstr name;
  const int32_t *partitions;
  int32_t partition_count;
};

struct meta_elect_leaders {
  int8_t election_type;
  const struct meta_elect_topic *topics;
  int32_t topic_count; /* -1: all partitions */
};

struct meta_elect_result {
  char topic[META_TOPIC_NAME_BYTES];
  int32_t partition_id;
  int16_t error_code;
};

/* Every partition asked (or, for all, every partition of the image in
 * topic-id order, leaving out ELECTION_NOT_NEEDED as Kafka's controller
 * does), decided against image: the results in *results (malloc'd, the
 * caller frees; *count of them) and one PartitionChangeRecord per election
 * in delta. A partition named twice is decided and answered once. */
void meta_rule_elect_leaders(const struct meta_image *image,
                             const struct meta_elect_leaders *in, struct meta_delta *delta,
                             struct meta_elect_result **results, int32_t *count);

#endif
