/* CreatePartitions (API 37), versions 0-3: grow a topic's partition count. */
#include <string.h>

#include "base/str.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

static int16_t grow(struct request *req, const struct create_partitions_request *m,
                    const struct create_partitions_request_create_partitions_topic *ct,
                    struct create_partitions_response_create_partitions_topic_result *r) {
  struct node *node = req->node;
  char why[256];
  struct topic *t =
      ct->name.len > 0 ? topic_find(node, ct->name.ptr, (size_t)ct->name.len) : NULL;
  if (!t) {
    str_fmt(why, sizeof why, "The topic '%.*s' does not exist.", (int)ct->name.len,
            ct->name.ptr);
    r->error_message = kstr_of(arena_strndup(&req->arena, why, strlen(why)));
    return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  }
  if (ct->count <= t->partition_count || ct->count > PARTITIONS_MAX) {
    str_fmt(why, sizeof why,
            "Topic currently has %d partitions, which is higher than or equal "
            "to the requested %d.",
            t->partition_count, ct->count);
    r->error_message = kstr_of(arena_strndup(&req->arena, why, strlen(why)));
    return KERR_INVALID_PARTITIONS;
  }
  if (ct->assignments_count >= 0) {
    bool ok = ct->assignments_count == ct->count - t->partition_count;
    for (int32_t i = 0; ok && i < ct->assignments_count; i++)
      ok = ct->assignments[i].broker_ids_count == 1 &&
           ct->assignments[i].broker_ids[0] == node_id(node);
    if (!ok) {
      r->error_message = KSTR_LIT("Replica assignment names brokers that are not registered.");
      return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
  }
  if (m->validate_only) return KERR_NONE;
  return (int16_t)topic_add_partitions(node, t, ct->count);
}

bool handle_create_partitions(struct request *req) {
  struct create_partitions_request m;
  if (!create_partitions_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  int32_t count = m.topics_count > 0 ? m.topics_count : 0;
  struct create_partitions_response resp;
  create_partitions_response_init(&resp);
  resp.results_count = count;
  resp.results = arena_alloc(&req->arena, (size_t)count * sizeof *resp.results);
  for (int32_t i = 0; i < count; i++) {
    struct create_partitions_response_create_partitions_topic_result *r = &resp.results[i];
    create_partitions_response_create_partitions_topic_result_init(r);
    r->name = m.topics[i].name;
    r->error_code = grow(req, &m, &m.topics[i], r);
  }
  struct wr w;
  response_begin(req, &w);
  create_partitions_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
