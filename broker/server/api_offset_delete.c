/* OffsetDelete (API 47), version 0 (KIP-496): removes a group's committed
 * offsets of the partitions named (tombstones in __consumer_offsets),
 * except for topics the group's consumers are subscribed to
 * (GROUP_SUBSCRIBED_TO_TOPIC). */
#include "base/assert.h"
#include "group/group_records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

typedef struct offset_delete_response_offset_delete_response_partition result_t;

static int16_t delete_one(struct request *req, struct group *g, struct kstr topic,
                          int32_t partition) {
  if (!partition_any(req->node, topic, partition)) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (group_subscribed_to(g, topic)) return KERR_GROUP_SUBSCRIBED_TO_TOPIC;
  if (!group_offset_remove(groups_state(req->node), g, topic, partition)) return KERR_NONE;
  struct wr k;
  wr_init(&k);
  group_record_offset_key(&k, kstr_of(g->id), topic, partition);
  struct kbytes key = {k.mem.data, (int32_t)k.mem.len}, none = {NULL, -1};
  bool later;
  int16_t err = groups_append(req->node, kstr_of(g->id), &key, &none, 1, NULL, NULL, &later);
  wr_free(&k);
  return err;
}

bool handle_offset_delete(struct request *req) {
  handler_assert_entry(req, API_OFFSET_DELETE);
  struct offset_delete_request m;
  if (!offset_delete_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct offset_delete_response resp;
  offset_delete_response_init(&resp);
  resp.error_code = groups_coordinate(req->node, m.group_id);
  struct group *g =
      resp.error_code == KERR_NONE ? group_find(groups_state(req->node), m.group_id) : NULL;
  if (resp.error_code == KERR_NONE && !g) resp.error_code = KERR_GROUP_ID_NOT_FOUND;
  int32_t tn = resp.error_code == KERR_NONE && m.topics_count > 0 ? m.topics_count : 0;
  resp.topics_count = tn;
  resp.topics = arena_alloc(&req->arena, (size_t)tn * sizeof *resp.topics + 1);
  for (int32_t i = 0; i < tn; i++) {
    const struct offset_delete_request_offset_delete_request_topic *t = &m.topics[i];
    int32_t pn = t->partitions_count > 0 ? t->partitions_count : 0;
    offset_delete_response_offset_delete_response_topic_init(&resp.topics[i]);
    resp.topics[i].name = t->name;
    resp.topics[i].partitions_count = pn;
    resp.topics[i].partitions = arena_alloc(&req->arena, (size_t)pn * sizeof(result_t) + 1);
    for (int32_t j = 0; j < pn; j++) {
      result_t *r = &resp.topics[i].partitions[j];
      offset_delete_response_offset_delete_response_partition_init(r);
      r->partition_index = t->partitions[j].partition_index;
      r->error_code = delete_one(req, g, t->name, r->partition_index);
    }
  }
  struct wr w;
  response_begin(req, &w);
  offset_delete_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
