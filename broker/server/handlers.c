#include "server/handlers.h"

#include <stdbool.h>
#include <stddef.h>

#include "base/assert.h"
#include "proto/api.h"
#include "server/raft_node.h"
#include "server/server.h"

/* In api_key order. */
static const struct handler client_apis[] = {
    {API_PRODUCE, 3, 10, handle_produce},
    {API_FETCH, 4, 15, handle_fetch},
    {API_LIST_OFFSETS, 1, 7, handle_list_offsets},
    {API_METADATA, 0, 12, handle_metadata},
    /* The group coordinator's (server/group_coordinator.h). */
    {API_OFFSET_COMMIT, 0, 8, handle_offset_commit},
    {API_OFFSET_FETCH, 0, 8, handle_offset_fetch},
    {API_FIND_COORDINATOR, 0, 4, handle_find_coordinator},
    {API_JOIN_GROUP, 0, 9, handle_join_group},
    {API_HEARTBEAT, 0, 4, handle_heartbeat},
    {API_LEAVE_GROUP, 0, 5, handle_leave_group},
    {API_SYNC_GROUP, 0, 5, handle_sync_group},
    {API_DESCRIBE_GROUPS, 0, 5, handle_describe_groups},
    {API_LIST_GROUPS, 0, 5, handle_list_groups},
    {API_API_VERSIONS, 0, 3, handle_api_versions},
    {API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {API_DELETE_RECORDS, 0, 2, handle_delete_records},
    {API_INIT_PRODUCER_ID, 0, 5, handle_init_producer_id},
    {API_OFFSET_FOR_LEADER_EPOCH, 0, 4, handle_offset_for_leader_epoch},
    {API_DESCRIBE_CONFIGS, 0, 4, handle_describe_configs},
    {API_ALTER_CONFIGS, 0, 2, handle_alter_configs},
    {API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {API_DELETE_GROUPS, 0, 2, handle_delete_groups},
    {API_ELECT_LEADERS, 0, 2, handle_elect_leaders},
    {API_INCREMENTAL_ALTER_CONFIGS, 0, 1, handle_incremental_alter_configs},
    {API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, handle_alter_partition_reassignments},
    {API_LIST_PARTITION_REASSIGNMENTS, 0, 0, handle_list_partition_reassignments},
    {API_OFFSET_DELETE, 0, 0, handle_offset_delete},
    {API_DESCRIBE_CLUSTER, 0, 1, handle_describe_cluster},
};

/* A controller listener answers the quorum's APIs (KIP-595; raft_node.h):
 * the metadata log's Fetch, ApiVersions, Vote, BeginQuorumEpoch,
 * EndQuorumEpoch, DescribeQuorum and FetchSnapshot; and the controller's
 * (KIP-590 forwarding, KIP-631): CreateTopics, DeleteTopics and
 * CreatePartitions forwarded by brokers that are not the active controller
 * (served directly, no Envelope, as Kafka 3.9's controller accepts them),
 * AlterConfigs, IncrementalAlterConfigs, ElectLeaders and KIP-455's reassignments
 * likewise; BrokerRegistration, BrokerHeartbeat and AllocateProducerIds (KIP-730), and the partition
 * leaders' AlterPartition (KIP-497). */
static const struct handler controller_apis[] = {
    {API_FETCH, RAFT_FETCH_VERSION_MIN, RAFT_FETCH_VERSION_MAX, handle_quorum_fetch},
    {API_API_VERSIONS, 0, 3, handle_api_versions},
    {API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {API_ALTER_CONFIGS, 0, 2, handle_alter_configs},
    {API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {API_ELECT_LEADERS, 0, 2, handle_elect_leaders},
    {API_INCREMENTAL_ALTER_CONFIGS, 0, 1, handle_incremental_alter_configs},
    {API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, handle_alter_partition_reassignments},
    {API_LIST_PARTITION_REASSIGNMENTS, 0, 0, handle_list_partition_reassignments},
    {API_VOTE, 0, RAFT_VOTE_VERSION_MAX, handle_vote},
    {API_BEGIN_QUORUM_EPOCH, 0, RAFT_QUORUM_VERSION_MAX, handle_begin_quorum_epoch},
    {API_END_QUORUM_EPOCH, 0, RAFT_QUORUM_VERSION_MAX, handle_end_quorum_epoch},
    {API_DESCRIBE_QUORUM, 0, RAFT_DESCRIBE_VERSION_MAX, handle_describe_quorum},
    {API_ALTER_PARTITION, 2, 3, handle_alter_partition},
    {API_FETCH_SNAPSHOT, 0, RAFT_QUORUM_VERSION_MAX, handle_fetch_snapshot},
    {API_BROKER_REGISTRATION, 0, 3, handle_broker_registration},
    {API_BROKER_HEARTBEAT, 0, 1, handle_broker_heartbeat},
    {API_ALLOCATE_PRODUCER_IDS, 0, 0, handle_allocate_producer_ids},
};

const struct handler_table handlers_client = {"client", client_apis,
                                              (int)ARRAY_LEN(client_apis)};
const struct handler_table handlers_controller = {"controller", controller_apis,
                                                  (int)ARRAY_LEN(controller_apis)};

const struct handler *handler_find(const struct handler_table *table, int16_t api_key) {
  ASSERT(table != NULL && table->count > 0);
  for (int i = 0; i < table->count; i++)
    if (table->handlers[i].api_key == api_key) return &table->handlers[i];
  return NULL;
}

const struct handler *handler_at(const struct handler_table *table, int index) {
  ASSERT(table != NULL);
  if (index < 0 || index >= table->count) return NULL;
  ASSERT(index == 0 || table->handlers[index - 1].api_key < table->handlers[index].api_key);
  return &table->handlers[index];
}

void handler_assert_entry(const struct request *req, int16_t api_key) {
  ASSERT(req != NULL && req->node != NULL && req->table != NULL);
  ASSERT(req->api_key == api_key);
  const struct handler *h = handler_find(req->table, api_key);
  ASSERT(h != NULL && req->api_version >= h->version_min && req->api_version <= h->version_max);
  ASSERT(req->pending == NULL && req->waiter == NULL);
}
