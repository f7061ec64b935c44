/* One small file per API (api_*.c); these are their tables, one per kind of
 * listener. The versions here are what ApiVersions advertises on that
 * listener: contiguous ranges the handlers serve. */
#ifndef SLUICE_HANDLERS_H
#define SLUICE_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

struct request;

struct handler {
  int16_t api_key;
  int16_t version_min;
  int16_t version_max;
  /* Decode, act, respond (now or later). Returns false if the body did not
   * decode: the connection is closed, as Kafka does with a malformed request. */
  bool (*handle)(struct request *req);
};

/* The APIs one kind of listener answers. Clients' listeners answer the
 * client APIs; a controller listener (controller.listener.names) only the
 * quorum and controller APIs (KIP-500/KIP-595: Vote, BeginQuorumEpoch, Fetch
 * of the metadata log, ...; BrokerRegistration and the rest with their
 * issues). */
struct handler_table {
  const char *name;
  const struct handler *handlers; /* in api_key order */
  int count;
};

extern const struct handler_table handlers_client;
extern const struct handler_table handlers_controller;

const struct handler *handler_find(const struct handler_table *table, int16_t api_key);
/* NULL past the end; in api_key order */
const struct handler *handler_at(const struct handler_table *table, int index);

bool handle_api_versions(struct request *req);
bool handle_metadata(struct request *req);
bool handle_produce(struct request *req);
bool handle_fetch(struct request *req);
bool handle_list_offsets(struct request *req);
bool handle_create_topics(struct request *req);
bool handle_delete_topics(struct request *req);
bool handle_create_partitions(struct request *req);
bool handle_describe_configs(struct request *req);
bool handle_describe_cluster(struct request *req);
bool handle_init_producer_id(struct request *req);
bool handle_offset_for_leader_epoch(struct request *req);
/* The group coordinator's (server/group_coordinator.h). */
bool handle_find_coordinator(struct request *req);
bool handle_join_group(struct request *req);
bool handle_sync_group(struct request *req);
bool handle_heartbeat(struct request *req);
bool handle_leave_group(struct request *req);
bool handle_offset_commit(struct request *req);
bool handle_offset_fetch(struct request *req);
bool handle_list_groups(struct request *req);
bool handle_describe_groups(struct request *req);
bool handle_delete_groups(struct request *req);
bool handle_offset_delete(struct request *req);
bool handle_delete_records(struct request *req);
/* The controller listener's (raft_node.h). */
bool handle_quorum_fetch(struct request *req);
bool handle_vote(struct request *req);
bool handle_begin_quorum_epoch(struct request *req);
bool handle_end_quorum_epoch(struct request *req);
bool handle_describe_quorum(struct request *req);
bool handle_fetch_snapshot(struct request *req);
bool handle_broker_registration(struct request *req);
bool handle_broker_heartbeat(struct request *req);
bool handle_alter_partition(struct request *req);
bool handle_elect_leaders(struct request *req);
bool handle_allocate_producer_ids(struct request *req);
bool handle_alter_configs(struct request *req);
bool handle_incremental_alter_configs(struct request *req);
bool handle_alter_partition_reassignments(struct request *req);
bool handle_list_partition_reassignments(struct request *req);

/* Every handler's preconditions, asserted on entry: conn_pump dispatched it
 * for its own API, at a version its listener's table serves, active on its
 * connection, with nothing answered or parked yet. */
void handler_assert_entry(const struct request *req, int16_t api_key);

/* ApiVersions answer to a request whose version we do not serve (KIP-511):
 * v0 format, UNSUPPORTED_VERSION, with our ranges so the client can retry. */
void api_versions_respond_unsupported(struct request *req);

#endif
