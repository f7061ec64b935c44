/* The controller's rules for broker liveness (what Kafka's
 * ClusterControlManager and ReplicationControlManager decide on a broker's
 * heartbeat or its silence, KIP-631): fencing a broker, unfencing it once it
 * has caught up with the metadata log, and moving the leadership of its
 * partitions away (a fenced broker, or one in controlled shutdown). Each
 * appends the records that carry it out; no I/O and no clock: the quorum
 * controller keeps the sessions and calls these. */
#ifndef SLUICE_META_CLUSTER_CONTROL_H
#define SLUICE_META_CLUSTER_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/image.h"
#include "meta/records.h"

/* Where a broker's partitions go. */
struct meta_leader_policy {
  bool unclean_leader_election; /* unclean.leader.election.enable */
  bool elr;                     /* eligible.leader.replicas.enable (KIP-966, meta/elr.h) */
  int32_t min_insync_replicas;  /* the default; a topic's override wins (0: 1) */
};

/* Moves every leadership broker_id holds to another in-sync replica that
 * is registered, unfenced and not `broker_id` (the first in replica order),
 * or, with unclean election, to any such replica (the ISR becomes that
 * one), else to no leader (-1); and takes broker_id out of every ISR it is
 * in but not the only member of (KIP-631's fencing). With ELR (KIP-966) it
 * leaves the ISR as its last member too, joining the ELR, and a leader may
 * come from the ELR (the ISR becomes that one) before an unclean one;
 * `unclean_shutdown` (the broker lost its unflushed data) takes it out of
 * the ELR as well. One PartitionChangeRecord per partition changed;
 * returns how many. */
int32_t meta_rule_move_leaders(const struct meta_leader_policy *policy,
                               const struct meta_image *image, int32_t broker_id,
                               bool unclean_shutdown, struct meta_delta *delta);

/* A BrokerRegistrationChangeRecord that fences (fenced true) or unfences
 * the registration broker_id/epoch, then (fencing) the leadership moves,
 * or (unfencing) the leaderless partitions whose ISR holds the broker
 * (with ELR: or whose ELR does, when the ISR is empty; with unclean
 * election: that have it as a replica) get it as their leader.
 * KERR_NONE, or BROKER_ID_NOT_REGISTERED / STALE_BROKER_EPOCH and nothing
 * appended. A broker already in the state asked appends nothing. */
int16_t meta_rule_fence_broker(const struct meta_leader_policy *policy,
                               const struct meta_image *image, int32_t broker_id,
                               int64_t broker_epoch, bool fenced, struct meta_delta *delta);

/* KIP-631 controlled shutdown: marks the registration in controlled
 * shutdown, fences it and moves its leaderships away. */
int16_t meta_rule_controlled_shutdown(const struct meta_leader_policy *policy,
                                      const struct meta_image *image, int32_t broker_id,
                                      int64_t broker_epoch, struct meta_delta *delta);

/* A broker registering again with a new incarnation (it restarted, maybe
 * before its session expired): what its old registration led moves away as
 * from a fenced broker (meta_rule_move_leaders), since the new process
 * holds none of it until it has caught up; the new registration starts
 * fenced and leads again once unfenced. previous_broker_epoch is the epoch
 * the broker shut down cleanly in (-1: it did not, KIP-966); one that is
 * not the old registration's is an unclean shutdown, which with ELR takes
 * the broker out of every ISR and ELR. Nothing for a first registration or
 * the same incarnation asking again. Returns the partitions changed. */
int32_t meta_rule_reregistration(const struct meta_leader_policy *policy,
                                 const struct meta_image *image, int32_t broker_id,
                                 struct kuuid incarnation_id, int64_t previous_broker_epoch,
                                 struct meta_delta *delta);

/* KIP-966: a new incarnation of a registered broker whose previous epoch
 * is not the registration's: it shut down uncleanly (or never cleanly in
 * that registration). */
bool meta_reregistration_unclean(const struct meta_image *image, int32_t broker_id,
                                 struct kuuid incarnation_id, int64_t previous_broker_epoch);

/* The partitions broker_id leads in image. */
int32_t meta_partitions_led(const struct meta_image *image, int32_t broker_id);

#endif
