#include "client/admin.h"

#include <stdlib.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum { CREATE_TOPICS_VERSION = 5, TOPIC_CONFIGS_MAX = 16 };

struct create_call {
  void (*done)(void *ctx, int error);
  void *ctx;
};

static void on_created(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct create_call call = *(struct create_call *)ctx;
  free(ctx);
  struct create_topics_response resp;
  if (err == 0 && !create_topics_response_decode(body, CREATE_TOPICS_VERSION, &resp, arena))
    err = ENV_EINVAL;
  if (err == 0)
    err = resp.topics_count == 1 ? resp.topics[0].error_code : KERR_UNKNOWN_SERVER_ERROR;
  call.done(call.ctx, err == KERR_TOPIC_ALREADY_EXISTS ? KERR_NONE : err);
}

static void encode_create(struct wr *w, int16_t version, const void *msg) {
  create_topics_request_encode(w, version, msg);
}

int kadmin_create_topic(struct kconn *conn, const char *name, int32_t partitions,
                        int16_t replication_factor, void (*done)(void *ctx, int error),
                        void *ctx) {
  return kadmin_create_topic_with(conn, name, partitions, replication_factor, NULL, 0, done,
                                  ctx);
}

int kadmin_create_topic_with(struct kconn *conn, const char *name, int32_t partitions,
                             int16_t replication_factor, const struct kadmin_config *configs,
                             int config_count, void (*done)(void *ctx, int error), void *ctx) {
  ASSERT(config_count >= 0 && config_count <= TOPIC_CONFIGS_MAX);
  struct create_topics_request_creatable_topic_config cfg[TOPIC_CONFIGS_MAX];
  for (int i = 0; i < config_count; i++)
    cfg[i] = (struct create_topics_request_creatable_topic_config){kstr_of(configs[i].name),
                                                                   kstr_of(configs[i].value)};
  struct create_topics_request_creatable_topic topic;
  create_topics_request_creatable_topic_init(&topic);
  topic.name = kstr_of(name);
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  topic.configs = cfg;
  topic.configs_count = config_count;
  struct create_topics_request req;
  create_topics_request_init(&req);
  req.topics = &topic;
  req.topics_count = 1;
  struct create_call *call = malloc(sizeof *call);
  ASSERT(call != NULL);
  *call = (struct create_call){done, ctx};
  int rc = kconn_send(conn, API_CREATE_TOPICS, CREATE_TOPICS_VERSION, encode_create, &req,
                      on_created, call);
  if (rc != 0) free(call);
  return rc;
}

/* ---- any admin request ---- */

union admin_response {
  struct metadata_response metadata;
  struct list_offsets_response list_offsets;
  struct create_topics_response create_topics;
  struct delete_topics_response delete_topics;
  struct describe_configs_response describe_configs;
  struct create_partitions_response create_partitions;
  struct describe_cluster_response describe_cluster;
  struct alter_configs_response alter_configs;
  struct incremental_alter_configs_response incremental_alter_configs;
  struct list_groups_response list_groups;
  struct describe_groups_response describe_groups;
  struct delete_groups_response delete_groups;
  struct offset_commit_response offset_commit;
  struct offset_fetch_response offset_fetch;
  struct offset_delete_response offset_delete;
  struct find_coordinator_response find_coordinator;
  struct elect_leaders_response elect_leaders;
  struct alter_partition_reassignments_response alter_partition_reassignments;
  struct list_partition_reassignments_response list_partition_reassignments;
};

struct admin_call {
  int16_t api_key, version;
  kadmin_done_fn done;
  void *ctx;
};

static bool decode(int16_t api_key, struct rd *body, int16_t v, union admin_response *out,
                   struct arena *a) {
  switch (api_key) {
  case API_METADATA:
    return metadata_response_decode(body, v, &out->metadata, a);
  case API_LIST_OFFSETS:
    return list_offsets_response_decode(body, v, &out->list_offsets, a);
  case API_CREATE_TOPICS:
    return create_topics_response_decode(body, v, &out->create_topics, a);
  case API_DELETE_TOPICS:
    return delete_topics_response_decode(body, v, &out->delete_topics, a);
  case API_DESCRIBE_CONFIGS:
    return describe_configs_response_decode(body, v, &out->describe_configs, a);
  case API_CREATE_PARTITIONS:
    return create_partitions_response_decode(body, v, &out->create_partitions, a);
  case API_DESCRIBE_CLUSTER:
    return describe_cluster_response_decode(body, v, &out->describe_cluster, a);
  case API_ALTER_CONFIGS:
    return alter_configs_response_decode(body, v, &out->alter_configs, a);
  case API_INCREMENTAL_ALTER_CONFIGS:
    return incremental_alter_configs_response_decode(body, v, &out->incremental_alter_configs,
                                                     a);
  case API_LIST_GROUPS:
    return list_groups_response_decode(body, v, &out->list_groups, a);
  case API_DESCRIBE_GROUPS:
    return describe_groups_response_decode(body, v, &out->describe_groups, a);
  case API_DELETE_GROUPS:
    return delete_groups_response_decode(body, v, &out->delete_groups, a);
  case API_OFFSET_COMMIT:
    return offset_commit_response_decode(body, v, &out->offset_commit, a);
  case API_OFFSET_FETCH:
    return offset_fetch_response_decode(body, v, &out->offset_fetch, a);
  case API_OFFSET_DELETE:
    return offset_delete_response_decode(body, v, &out->offset_delete, a);
  case API_FIND_COORDINATOR:
    return find_coordinator_response_decode(body, v, &out->find_coordinator, a);
  case API_ELECT_LEADERS:
    return elect_leaders_response_decode(body, v, &out->elect_leaders, a);
  case API_ALTER_PARTITION_REASSIGNMENTS:
    return alter_partition_reassignments_response_decode(
        body, v, &out->alter_partition_reassignments, a);
  case API_LIST_PARTITION_REASSIGNMENTS:
    return list_partition_reassignments_response_decode(body, v,
                                                        &out->list_partition_reassignments, a);
  default:
    UNREACHABLE();
  }
}

struct encoding {
  const struct admin_call *call;
  const void *request;
};

static void encode_request(struct wr *w, int16_t version, const void *msg) {
  const struct encoding *e = msg;
  switch (e->call->api_key) {
  case API_METADATA:
    metadata_request_encode(w, version, e->request);
    break;
  case API_LIST_OFFSETS:
    list_offsets_request_encode(w, version, e->request);
    break;
  case API_CREATE_TOPICS:
    create_topics_request_encode(w, version, e->request);
    break;
  case API_DELETE_TOPICS:
    delete_topics_request_encode(w, version, e->request);
    break;
  case API_DESCRIBE_CONFIGS:
    describe_configs_request_encode(w, version, e->request);
    break;
  case API_CREATE_PARTITIONS:
    create_partitions_request_encode(w, version, e->request);
    break;
  case API_DESCRIBE_CLUSTER:
    describe_cluster_request_encode(w, version, e->request);
    break;
  case API_ALTER_CONFIGS:
    alter_configs_request_encode(w, version, e->request);
    break;
  case API_INCREMENTAL_ALTER_CONFIGS:
    incremental_alter_configs_request_encode(w, version, e->request);
    break;
  case API_LIST_GROUPS:
    list_groups_request_encode(w, version, e->request);
    break;
  case API_DESCRIBE_GROUPS:
    describe_groups_request_encode(w, version, e->request);
    break;
  case API_DELETE_GROUPS:
    delete_groups_request_encode(w, version, e->request);
    break;
  case API_OFFSET_COMMIT:
    offset_commit_request_encode(w, version, e->request);
    break;
  case API_OFFSET_FETCH:
    offset_fetch_request_encode(w, version, e->request);
    break;
  case API_OFFSET_DELETE:
    offset_delete_request_encode(w, version, e->request);
    break;
  case API_FIND_COORDINATOR:
    find_coordinator_request_encode(w, version, e->request);
    break;
  case API_ELECT_LEADERS:
    elect_leaders_request_encode(w, version, e->request);
    break;
  case API_ALTER_PARTITION_REASSIGNMENTS:
    alter_partition_reassignments_request_encode(w, version, e->request);
    break;
  case API_LIST_PARTITION_REASSIGNMENTS:
    list_partition_reassignments_request_encode(w, version, e->request);
    break;
  default:
    UNREACHABLE();
  }
}

static void answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct admin_call call = *(struct admin_call *)ctx;
  free(ctx);
  union admin_response *resp = arena_alloc(arena, sizeof *resp);
  if (err == 0 && !decode(call.api_key, body, call.version, resp, arena)) err = ENV_EINVAL;
  call.done(call.ctx, err, call.version, err == 0 ? resp : NULL);
}

int kadmin_request(struct kconn *conn, int16_t api_key, int16_t min, int16_t max,
                   const void *request, kadmin_done_fn done, void *ctx) {
  ASSERT(min <= max && done != NULL);
  int16_t version = kconn_version(conn, API_API_VERSIONS, 0, INT16_MAX) < 0
                        ? max
                        : kconn_version(conn, api_key, min, max);
  if (version < 0) return ENV_EINVAL;
  struct admin_call *call = malloc(sizeof *call);
  ASSERT(call != NULL);
  *call = (struct admin_call){api_key, version, done, ctx};
  struct encoding e = {call, request};
  int rc = kconn_send(conn, api_key, version, encode_request, &e, answered, call);
  if (rc != 0) free(call);
  return rc;
}
