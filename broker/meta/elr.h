/* KIP-966's eligible leader replicas (eligible.leader.replicas.enable), the
 * controller's side. Kafka lets the ISR shrink to its last member; if that
 * one then loses what it had not flushed, electing it again loses writes
 * that other replicas hold and that were acknowledged. With ELR, a replica
 * that leaves the ISR while the ISR is under min.insync.replicas joins the
 * ELR: the leader's high watermark stands still under min.insync.replicas
 * (server/partition_leader.c), so every ELR member holds everything below
 * it, and one may lead when the ISR has nobody left to offer. The last ISR
 * member leaves the ISR when it is fenced (the ISR may be empty); a broker
 * that registers after an unclean shutdown (KIP-966's PreviousBrokerEpoch)
 * leaves the ISR and the ELR, since its log may have lost a tail. */
#ifndef SLUICE_META_ELR_H
#define SLUICE_META_ELR_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/image.h"
#include "meta/records.h"

/* min.insync.replicas for topic t: its override in the image, else
 * default_min (the controller's own config; below 1: 1). */
int32_t meta_topic_min_isr(const struct meta_topic *t, int32_t default_min);

/* Fills c's ELR fields for partition p moving to the ISR target[count]:
 * at or above min_isr (at most the replica count: Kafka's effective
 * minimum, so a topic of fewer replicas than min.insync.replicas is not
 * forever under it) the ELR and the last known ELR empty; under it the
 * ELR is the old ELR and ISR minus the target and minus `unclean` (a broker
 * that lost its unflushed data; -1 for none), and the last known ELR keeps
 * the rest that left (Kafka's PartitionChangeBuilder). Only replicas of the
 * partition stay. Sets c->elr_set only when either list changes. */
void meta_elr_update(const struct meta_partition *p, int32_t min_isr, const int32_t *target,
                     int32_t count, int32_t unclean, struct meta_partition_change_record *c);

/* The ELR's promise is gone (a new leader that may lack committed data, or
 * one sole member elected outside the ELR rules): c empties both lists,
 * when p has any. */
void meta_elr_clear(const struct meta_partition *p, struct meta_partition_change_record *c);

#endif
