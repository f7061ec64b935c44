/* Metadata (API 3), versions 0-12: this node as the only broker, the
 * controller and every partition's leader and replica. Unknown topics are
 * created when both the request and auto.create.topics.enable allow it. */
#include <string.h>

#include "base/assert.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

static void fill_topic(struct request *req, struct topic *t,
                       struct metadata_response_metadata_response_topic *rt) {
  int32_t self = node_id(req->node);
  rt->error_code = KERR_NONE;
  rt->name = kstr_of(t->name);
  rt->topic_id = t->id;
  rt->partitions_count = t->partition_count;
  rt->partitions =
      arena_alloc(&req->arena, (size_t)t->partition_count * sizeof *rt->partitions);
  for (int32_t i = 0; i < t->partition_count; i++) {
    struct metadata_response_metadata_response_partition *rp = &rt->partitions[i];
    metadata_response_metadata_response_partition_init(rp);
    int32_t *one = arena_alloc(&req->arena, sizeof *one);
    *one = self;
    rp->partition_index = i;
    rp->leader_id = self;
    rp->leader_epoch = t->partitions[i].leader_epoch;
    rp->replica_nodes = one;
    rp->replica_nodes_count = 1;
    rp->isr_nodes = one;
    rp->isr_nodes_count = 1;
    rp->offline_replicas_count = 0;
  }
}

/* The topic a request names, created if allowed; sets rt's error if not. */
static struct topic *lookup_or_create(struct request *req, struct kstr name, bool allow_create,
                                      struct metadata_response_metadata_response_topic *rt) {
  struct node *node = req->node;
  rt->name = name;
  if (name.len <= 0 || !topic_name_valid(name.ptr, (size_t)name.len)) {
    rt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
    return NULL;
  }
  struct topic *t = topic_find(node, name.ptr, (size_t)name.len);
  if (t) return t;
  if (!allow_create || !node->cfg.auto_create_topics_enable) {
    rt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return NULL;
  }
  char cname[TOPIC_NAME_BYTES_MAX + 1];
  memcpy(cname, name.ptr, (size_t)name.len);
  cname[name.len] = 0;
  struct topic_config tc;
  topic_config_init(&tc, &node->cfg);
  int rc = topic_create(node, cname, node->cfg.num_partitions, &tc, &t);
  if (rc != KERR_NONE) {
    rt->error_code = (int16_t)rc;
    return NULL;
  }
  return t;
}

bool handle_metadata(struct request *req) {
  struct node *node = req->node;
  struct metadata_request m;
  if (!metadata_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct metadata_response resp;
  metadata_response_init(&resp);
  resp.brokers_count = 1;
  resp.brokers = arena_alloc(&req->arena, sizeof *resp.brokers);
  metadata_response_metadata_response_broker_init(&resp.brokers[0]);
  resp.brokers[0].node_id = node_id(node);
  node_endpoint(node, &resp.brokers[0].host, &resp.brokers[0].port);
  resp.cluster_id = kstr_of(node->cluster_id);
  resp.controller_id = node_id(node);
  /* All topics: a null list (v1+), or an empty one in v0. */
  bool all = m.topics_count < 0 || (req->api_version == 0 && m.topics_count == 0);
  bool allow_create = req->api_version < 4 || m.allow_auto_topic_creation;
  int32_t count = all ? node->topic_count : m.topics_count;
  resp.topics_count = count;
  resp.topics = arena_alloc(&req->arena, (size_t)(count > 0 ? count : 0) * sizeof *resp.topics);
  for (int32_t i = 0; i < count; i++) {
    struct metadata_response_metadata_response_topic *rt = &resp.topics[i];
    metadata_response_metadata_response_topic_init(rt);
    struct topic *t;
    if (all) {
      t = node->topics[i];
    } else if (req->api_version >= 10 && m.topics[i].name.len < 0) {
      t = topic_find_by_id(node, m.topics[i].topic_id);
      rt->topic_id = m.topics[i].topic_id;
      if (!t) rt->error_code = KERR_UNKNOWN_TOPIC_ID;
    } else {
      t = lookup_or_create(req, m.topics[i].name, allow_create, rt);
    }
    if (t) fill_topic(req, t, rt);
  }
  struct wr w;
  response_begin(req, &w);
  metadata_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
