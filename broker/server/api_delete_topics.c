/* DeleteTopics (API 20), versions 1-6 (v6 names topics by name or id). A
 * pending request: a name (or id) asked twice is refused here, as KRaft's
 * ControllerApis does; the controller removes the rest (or answers
 * UNKNOWN_TOPIC_*, or TOPIC_DELETION_DISABLED), and the answer goes out once
 * the image without them is published, by which time their logs are gone.
 * timeout_ms as in CreateTopics. */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/files.h"
#include "server/handlers.h"
#include "server/server.h"

typedef struct delete_topics_response_deletable_topic_result result_t;

struct delete_wait {
  struct request *req;
  struct delete_topics_response resp;
  struct meta_delete_topic *topics; /* sent to the controller */
  int32_t *response_index;
  int32_t count;
};

static bool same(const struct meta_delete_topic *a, const struct meta_delete_topic *b) {
  if (a->by_id != b->by_id) return false;
  if (a->by_id) return meta_uuid_cmp(a->id, b->id) == 0;
  return a->name.len == b->name.len && a->name.len >= 0 &&
         memcmp(a->name.ptr, b->name.ptr, (size_t)a->name.len) == 0;
}

static bool duplicate(const struct meta_delete_topic *all, int32_t count, int32_t i) {
  for (int32_t j = 0; j < count; j++)
    if (j != i && same(&all[i], &all[j])) return true;
  return false;
}

static void send(struct delete_wait *w) {
  struct wr out;
  response_begin(w->req, &out);
  delete_topics_response_encode(&out, w->req->api_version, &w->resp);
  request_respond(w->req, &out);
}

static void deleted(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct delete_wait *w = ctx;
  struct request *req = w->req;
  ASSERT(req->pending == w && count == w->count);
  for (int32_t i = 0; i < count; i++) {
    const struct meta_topic_result *res = &results[i];
    result_t *r = &w->resp.responses[w->response_index[i]];
    r->error_code = res->error_code;
    if (!uuid_is_zero(res->topic_id)) r->topic_id = res->topic_id;
    if (r->name.len < 0 && res->name[0]) /* asked by id: name it */
      r->name = kstr_of(arena_strndup(&req->arena, res->name, strlen(res->name)));
    if (res->error_code != KERR_NONE && req->api_version >= 5) {
      const char *why = res->error_message[0] ? res->error_message : kerr_name(res->error_code);
      r->error_message = kstr_of(arena_strndup(&req->arena, why, strlen(why)));
    }
  }
  send(w); /* frees req, and w in its arena */
}

bool handle_delete_topics(struct request *req) {
  handler_assert_entry(req, API_DELETE_TOPICS);
  struct delete_topics_request m;
  if (!delete_topics_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  ASSERT(req->pending == NULL);
  struct delete_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  bool v6 = req->api_version >= 6;
  int32_t count = v6 ? m.topics_count : m.topic_names_count;
  if (count < 0) count = 0;
  delete_topics_response_init(&w->resp);
  w->resp.responses_count = count;
  w->resp.responses = arena_alloc(&req->arena, (size_t)count * sizeof *w->resp.responses);
  struct meta_delete_topic *asked = arena_alloc(&req->arena, (size_t)count * sizeof *asked + 1);
  for (int32_t i = 0; i < count; i++) {
    asked[i].name = v6 ? m.topics[i].name : m.topic_names[i];
    asked[i].id = v6 ? m.topics[i].topic_id : (struct kuuid){{0}};
    asked[i].by_id = v6 && asked[i].name.len < 0;
  }
  w->topics = arena_alloc(&req->arena, (size_t)count * sizeof *w->topics + 1);
  w->response_index = arena_alloc(&req->arena, (size_t)count * sizeof *w->response_index + 1);
  for (int32_t i = 0; i < count; i++) {
    result_t *r = &w->resp.responses[i];
    delete_topics_response_deletable_topic_result_init(r);
    r->name = asked[i].name;
    r->topic_id = asked[i].id;
    if (duplicate(asked, count, i)) {
      r->error_code = KERR_INVALID_REQUEST;
      if (req->api_version >= 5)
        r->error_message = asked[i].by_id ? KSTR_LIT("Duplicate topic id.")
                                          : KSTR_LIT("Duplicate topic name.");
      continue;
    }
    w->topics[w->count] = asked[i];
    w->response_index[w->count++] = i;
  }
  ASSERT(w->count <= count);
  if (w->count == 0) {
    send(w);
    return true;
  }
  int32_t timeout_ms = m.timeout_ms > 0 ? m.timeout_ms : 0;
  uint64_t deadline_ns = req->received_ns + (uint64_t)timeout_ms * NS_PER_MS;
  req->pending = w; /* answered from deleted() */
  struct meta_controller *ctl = req->node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  ctl->ops->delete_topics(ctl, w->topics, w->count, deadline_ns, deleted, w);
  return true;
}
