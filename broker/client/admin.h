/* Admin calls: create a topic (what the simulator's clients do before they
 * produce or consume), and the admin client's requests (Metadata,
 * ListOffsets, CreateTopics, DeleteTopics, DescribeConfigs,
 * CreatePartitions, DescribeCluster, AlterConfigs, IncrementalAlterConfigs,
 * ListGroups, DescribeGroups, DeleteGroups, OffsetCommit, OffsetFetch,
 * OffsetDelete, FindCoordinator, and sluicectl's ElectLeaders,
 * AlterPartitionReassignments, ListPartitionReassignments), each sent at the highest version both sides serve and
 * handed back decoded. */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include "net/kconn.h"

struct kadmin_config {
  const char *name;
  const char *value;
};

/* done(ctx, error): the topic's CreateTopics result (TOPIC_ALREADY_EXISTS
 * counts as done), or a negative ENV_E* when the connection failed. */
int kadmin_create_topic(struct kconn *conn, const char *name, int32_t partitions,
                        int16_t replication_factor, void (*done)(void *ctx, int error),
                        void *ctx);
/* The same, with topic-level configs (at most 16). */
int kadmin_create_topic_with(struct kconn *conn, const char *name, int32_t partitions,
                             int16_t replication_factor, const struct kadmin_config *configs,
                             int config_count, void (*done)(void *ctx, int error), void *ctx);

/* done(ctx, err, version, response): the decoded *_response struct of the
 * API (valid until done returns), or err != 0 (ENV_E*: the connection
 * failed, or the answer did not decode) and NULL. */
typedef void (*kadmin_done_fn)(void *ctx, int err, int16_t version, const void *response);

/* Sends request, a *_request struct of api_key (one of those above), at the
 * highest version within [min, max] that the connection negotiated (max if
 * it negotiated nothing). Returns 0, ENV_EINVAL when the broker serves no
 * version in the range, or kconn_send's error (done is not called then). */
int kadmin_request(struct kconn *conn, int16_t api_key, int16_t min, int16_t max,
                   const void *request, kadmin_done_fn done, void *ctx);

#endif
