/* DeleteTopics (API 20), versions 1-6 (v6 names topics by name or id). */
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { KERR_TOPIC_DELETION_DISABLED = 73 };

static int16_t delete_one(struct node *node, struct kstr name, struct kuuid id, bool by_id,
                          struct delete_topics_response_deletable_topic_result *r) {
  struct topic *t = by_id
                        ? topic_find_by_id(node, id)
                        : (name.len > 0 ? topic_find(node, name.ptr, (size_t)name.len) : NULL);
  if (!t) return by_id ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (!node->cfg.delete_topic_enable) return KERR_TOPIC_DELETION_DISABLED;
  r->topic_id = t->id;
  return (int16_t)topic_delete(node, t);
}

bool handle_delete_topics(struct request *req) {
  struct delete_topics_request m;
  if (!delete_topics_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  bool v6 = req->api_version >= 6;
  int32_t count = v6 ? m.topics_count : m.topic_names_count;
  if (count < 0) count = 0;
  struct delete_topics_response resp;
  delete_topics_response_init(&resp);
  resp.responses_count = count;
  resp.responses = arena_alloc(&req->arena, (size_t)count * sizeof *resp.responses);
  for (int32_t i = 0; i < count; i++) {
    struct delete_topics_response_deletable_topic_result *r = &resp.responses[i];
    delete_topics_response_deletable_topic_result_init(r);
    struct kstr name = v6 ? m.topics[i].name : m.topic_names[i];
    struct kuuid id = v6 ? m.topics[i].topic_id : (struct kuuid){{0}};
    bool by_id = v6 && name.len < 0;
    r->name = name;
    r->topic_id = id;
    r->error_code = delete_one(req->node, name, id, by_id, r);
    if (r->error_code != KERR_NONE && req->api_version >= 5)
      r->error_message = kstr_of(kerr_name(r->error_code));
  }
  struct wr w;
  response_begin(req, &w);
  delete_topics_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
