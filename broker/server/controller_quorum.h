/* The Raft-backed controller (KIP-500, KIP-595, KIP-631) behind the seam of
 * meta/controller.h, chosen when controller.quorum.voters is set.
 *
 * On the Raft leader, once it has read its own epoch's LeaderChange entry
 * (so its image holds everything committed before it), this node is the
 * active controller: each call is checked by meta/replication_control.c
 * against the controller's latest state (the committed image plus the
 * records it proposed and that are not committed yet, KRaft's in-memory
 * timeline), turned into records, and proposed, one Raft entry per record;
 * a change of several records is bracketed by KIP-868's Begin/End
 * TransactionRecord so it commits whole or not at all. Its caller hears
 * back once this node's image (metadata_loader.h) has reached the change's
 * last offset. If leadership is lost, the changes still in flight answer
 * NOT_CONTROLLER and the state reverts to the committed image.
 *
 * Elsewhere the call is forwarded to the active controller over the quorum
 * channel (its controller listener serves CreateTopics, DeleteTopics,
 * CreatePartitions and BrokerRegistration), retried on NOT_CONTROLLER or a
 * lost channel until its deadline, and answered once this node's image
 * shows the change. Calls run one at a time, in order, so answers leave in
 * the order of the calls. Private to broker/server/. */
#ifndef SLUICE_CONTROLLER_QUORUM_H
#define SLUICE_CONTROLLER_QUORUM_H

#include <stdbool.h>

#include "meta/controller.h"
#include "meta/replication_control.h"

struct node;

/* KIP-631 BrokerHeartbeat, as the broker lifecycle sends it. */
struct meta_heartbeat {
  int32_t broker_id;
  int64_t broker_epoch;
  int64_t current_metadata_offset;
  bool want_fence;
  bool want_shut_down;
};

struct meta_heartbeat_result {
  int16_t error_code;
  bool is_caught_up;
  bool is_fenced;
  bool should_shut_down;
};

typedef void (*controller_heartbeat_fn)(void *ctx, const struct meta_heartbeat_result *r);

/* node->loader exists; node->raft may come later (the raft subsystem). */
int controller_quorum_create(struct node *node, struct meta_controller **out);
/* The loader published an image, or the role moved: answer and go on. */
void controller_quorum_changed(struct meta_controller *ctl);
/* A heartbeat, decided by the active controller (forwarded to it from
 * elsewhere), answered like the other calls: never inside the call, in
 * order, once what it changed (unfencing, a controlled shutdown's moves)
 * is in this node's image; REQUEST_TIMED_OUT if not started by deadline. */
void controller_quorum_heartbeat(struct meta_controller *ctl, const struct meta_heartbeat *hb,
                                 uint64_t deadline_ns, controller_heartbeat_fn done, void *ctx);

typedef void (*controller_alter_partition_fn)(void *ctx,
                                              const struct meta_alter_partition_result *r);
/* A partition leader's AlterPartition (KIP-497), decided by the active
 * controller (meta_rule_alter_partition; forwarded to it from elsewhere)
 * and answered like the other calls: never inside the call, once the
 * change is in this node's image; REQUEST_TIMED_OUT if not started by
 * deadline. */
void controller_quorum_alter_partition(struct meta_controller *ctl,
                                       const struct meta_alter_partition *in,
                                       uint64_t deadline_ns, controller_alter_partition_fn done,
                                       void *ctx);
struct meta_alter_resource;

/* AlterConfigs / IncrementalAlterConfigs (meta/config_control.h), decided
 * by the active controller (forwarded to it from elsewhere) and answered
 * like CreateTopics: one result per resource, in order, once this node's
 * image shows the change; validate_only changes nothing. The resources
 * (and what they point into) stay valid until done runs. */
void controller_quorum_alter_configs(struct meta_controller *ctl,
                                     const struct meta_alter_resource *resources, int32_t count,
                                     bool validate_only, uint64_t deadline_ns,
                                     meta_topics_done_fn done, void *ctx);

struct meta_elect_leaders;
struct meta_elect_result;
/* results[count] live only during the call; error_code is the whole
 * call's (NOT_CONTROLLER, REQUEST_TIMED_OUT, ...), KERR_NONE otherwise. */
typedef void (*controller_elect_fn)(void *ctx, int16_t error_code,
                                    const struct meta_elect_result *results, int32_t count);
/* ElectLeaders (KIP-460), decided by the active controller
 * (meta_rule_elect_leaders; forwarded to it from elsewhere) and answered
 * like the other calls, once the elected leaders are in this node's image.
 * `in` (and what it points into) stays valid until done runs. Only for the
 * quorum controller (controller_quorum_active's). */
void controller_quorum_elect_leaders(struct meta_controller *ctl,
                                     const struct meta_elect_leaders *in, uint64_t deadline_ns,
                                     controller_elect_fn done, void *ctx);
bool controller_quorum_is_quorum(const struct meta_controller *ctl);

/* Nothing queued, forwarded or in flight (true for the local controller). */
/* KIP-455 AlterPartitionReassignments: one result per partition, in order
 * (meta/reassignment.h); answered once this node's image shows each
 * accepted change. */
struct meta_reassign;
void controller_quorum_reassign(struct meta_controller *ctl, const struct meta_reassign *parts,
                                int32_t count, uint64_t deadline_ns, meta_topics_done_fn done,
                                void *ctx);

bool controller_quorum_idle(const struct meta_controller *ctl);
/* This node is the active controller now. */
bool controller_quorum_active(const struct meta_controller *ctl);
/* Whether this node is the cluster's active controller: the quorum's
 * active one, or a node that is its own (local) controller. */
bool controller_quorum_is_active(const struct meta_controller *ctl);
/* The next call came on the controller listener from another node: if this
 * node is not the active controller it answers NOT_CONTROLLER (the
 * forwarder retries with the leader it knows), as Kafka's controller does,
 * rather than forward again. No-op for the local controller. */
void controller_quorum_next_call_forwarded(struct meta_controller *ctl);
/* Closes the controller channels (before the server's dispatcher goes):
 * a forward in flight fails and its call waits for close(). No-op for the
 * local controller or NULL. */
void controller_quorum_stop_channels(struct meta_controller *ctl);

#endif
