/* The replica checkers: what Kafka's replication promises across the
 * replicas of each partition of a cluster run (issue 10), judged from
 * outside the code under test: each node's metadata image
 * (node_metadata_image), its partition offsets (node_partition_offsets) and
 * the batch headers its disk holds (sim_disk_peek, read apart from
 * broker/log), never through the broker's own assertions.
 *
 *   replica-log-matching  two replicas of a partition hold the same batches
 *                         (base offset, last offset, CRC) at every offset
 *                         below the smaller of their high watermarks (a
 *                         follower copies the leader's batches as they are);
 *                         at the end, after the liveness phase, below the
 *                         smaller of their log ends (every divergence must
 *                         have been truncated away by then)
 *   hw-monotonic          committed data survives leader changes: when a
 *                         new leader epoch is first seen in its leader's
 *                         image, that leader's log reaches the highest high
 *                         watermark any earlier leader served (KIP-101)
 *   leader-in-isr         a leader named with a leader epoch > 0 was in the
 *                         ISR of the partition's previous state (clean
 *                         election); with unclean.leader.election.enable
 *                         such an election is counted as allowed
 *   acks-all-min-isr      every acks=all acknowledgement of a record of a
 *                         topic with min.insync.replicas=M comes after M
 *                         replicas reached past its offset (its leader's
 *                         ISR then had M members, each of which held it:
 *                         page cache, or disk with flush.messages=1); no
 *                         allowance
 *   preferred-leader      with auto.leader.rebalance.enable and a
 *                         leader.imbalance.check.interval.seconds the
 *                         scenario sets: at the end of the liveness phase,
 *                         every node up, no broker has more than
 *                         leader.imbalance.per.broker.percentage of the
 *                         partitions it is the preferred (first) replica of
 *                         led by another (the rebalance gave them back)
 *   follower-hw           at the end, a follower holding its leader's whole
 *                         log, all of it committed, has the leader's high
 *                         watermark (KIP-227: an incremental Fetch answer
 *                         carries a partition whose high watermark moved)
 *
 * Where the run allows loss (unclean.leader.election.enable=true, or every
 * replica of a partition without flush.messages=1 lost its page cache to a
 * power loss, Kafka's durability mode), a violation is counted as allowed
 * and reported so, never hidden. */
#ifndef SLUICE_SIM_REPLICA_CHECK_H
#define SLUICE_SIM_REPLICA_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/history.h"

enum { REPLICA_CHECKERS = 7 };

struct node;
struct sim_node;
struct scenario;
struct replica_check;

struct replica_check *replica_check_create(const struct scenario *sc);
void replica_check_free(struct replica_check *rc);
/* After an event: procs[i] is node i's process (NULL: down), nodes[i] its
 * machine. Cheap unless an image moved or a scan is due. */
void replica_check_observe(struct replica_check *rc, uint64_t now_ns, struct node *const *procs,
                           struct sim_node *const *nodes);
/* As replica_check_observe when the caller knows that only node
 * `changed` (an index) may have moved since the last observation on the
 * same procs, or none (SIM_LOOK_NONE), or any (SIM_LOOK_ALL): the others'
 * images and replicas are as that observation judged them. */
void replica_check_observe_node(struct replica_check *rc, uint64_t now_ns,
                                struct node *const *procs, struct sim_node *const *nodes,
                                int changed);
/* A producer's acks=all acknowledgement of the record at `offset` of the
 * scenario's topic index `topic`, partition `partition` (acks-all-min-isr). */
void replica_check_ack(struct replica_check *rc, int topic, int32_t partition, int64_t offset);
/* An unclean election seen (leader-in-isr, allowed): the partition (the
 * scenario's topic index and partition) and the new leader's log end when
 * it first led, below which nothing acknowledged may be lost. Returns
 * false when none is waiting; each is returned once. */
struct replica_unclean {
  int topic;
  int32_t partition, leader;
  int64_t log_end;
};
bool replica_check_take_unclean(struct replica_check *rc, struct replica_unclean *out);
/* Whether an observation of no node (SIM_LOOK_NONE) at now_ns, and the
 * replica_check_take_unclean calls after it, could do anything: a new
 * leader to judge, an unclean election to note, a poll or a scan due. When
 * false the caller may skip both (and building their arguments). */
bool replica_check_due(const struct replica_check *rc, uint64_t now_ns);
/* The verdicts, after a last scan; returns how many were written. */
int replica_check_finish(struct replica_check *rc, struct node *const *procs,
                         struct sim_node *const *nodes, struct check_result *out, int max);

#endif
