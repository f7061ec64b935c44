/* CreatePartitions (API 37), versions 0-3: grow a topic's partition count.
 * A pending request like CreateTopics: duplicates are refused here, the
 * controller checks and grows the rest, and the answer goes out once the
 * image with the new partitions is published. timeout_ms and validate_only
 * as in CreateTopics. */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

typedef struct create_partitions_response_create_partitions_topic_result result_t;

struct grow_wait {
  struct request *req;
  struct create_partitions_request m;
  struct create_partitions_response resp;
  struct meta_create_partitions *topics; /* sent to the controller */
  int32_t *response_index;
  int32_t count;
};

static bool duplicate_name(const struct create_partitions_request *m, int32_t i) {
  for (int32_t j = 0; j < m->topics_count; j++) {
    struct kstr a = m->topics[i].name, b = m->topics[j].name;
    if (j != i && a.len == b.len && a.len >= 0 && memcmp(a.ptr, b.ptr, (size_t)a.len) == 0)
      return true;
  }
  return false;
}

static void to_meta(struct request *req,
                    const struct create_partitions_request_create_partitions_topic *ct,
                    struct meta_create_partitions *out) {
  out->name = ct->name;
  out->count = ct->count;
  out->assignment_count = ct->assignments_count >= 0 ? ct->assignments_count : -1;
  int32_t n = out->assignment_count > 0 ? out->assignment_count : 0;
  struct meta_assignment *a = arena_alloc(&req->arena, (size_t)n * sizeof *a + 1);
  for (int32_t i = 0; i < n; i++) {
    a[i].partition_index = -1;
    a[i].broker_ids = ct->assignments[i].broker_ids;
    a[i].broker_count =
        ct->assignments[i].broker_ids_count > 0 ? ct->assignments[i].broker_ids_count : 0;
  }
  out->assignments = a;
}

static void send(struct grow_wait *w) {
  struct wr out;
  response_begin(w->req, &out);
  create_partitions_response_encode(&out, w->req->api_version, &w->resp);
  request_respond(w->req, &out);
}

static void grown(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct grow_wait *w = ctx;
  struct request *req = w->req;
  ASSERT(req->pending == w && count == w->count);
  for (int32_t i = 0; i < count; i++) {
    result_t *r = &w->resp.results[w->response_index[i]];
    r->error_code = results[i].error_code;
    if (results[i].error_code == KERR_NONE) continue;
    const char *why = results[i].error_message[0] ? results[i].error_message
                                                  : kerr_name(results[i].error_code);
    r->error_message = kstr_of(arena_strndup(&req->arena, why, strlen(why)));
  }
  send(w); /* frees req, and w in its arena */
}

/* Past a partition budget (server/limits.h): POLICY_VIOLATION naming it.
 * The count asked for is the topic's new total; what it adds is the rest. */
static bool over_budget(struct request *req,
                        const struct create_partitions_request_create_partitions_topic *ct,
                        int64_t *asked_so_far, result_t *r) {
  const struct meta_image *image = req->node->image;
  const struct meta_topic *mt =
      ct->name.len > 0 ? meta_image_topic(image, ct->name.ptr, (size_t)ct->name.len) : NULL;
  int64_t adding = mt ? (int64_t)ct->count - mt->partition_count : 0;
  char why[256];
  int16_t code = limits_partitions_check(
      req->node, *asked_so_far, limits_cluster_partitions(image), adding, why, sizeof why);
  if (code == KERR_NONE) {
    *asked_so_far += adding > 0 ? adding : 0;
    return false;
  }
  r->error_code = code;
  r->error_message = kstr_of(arena_strndup(&req->arena, why, strlen(why)));
  return true;
}

bool handle_create_partitions(struct request *req) {
  handler_assert_entry(req, API_CREATE_PARTITIONS);
  struct grow_wait *w = arena_alloc(&req->arena, sizeof *w);
  if (!create_partitions_request_decode(&req->body, req->api_version, &w->m, &req->arena))
    return false;
  ASSERT(req->pending == NULL);
  w->req = req;
  int32_t count = w->m.topics_count > 0 ? w->m.topics_count : 0;
  create_partitions_response_init(&w->resp);
  w->resp.results_count = count;
  w->resp.results = arena_alloc(&req->arena, (size_t)count * sizeof *w->resp.results);
  w->topics = arena_alloc(&req->arena, (size_t)count * sizeof *w->topics + 1);
  w->response_index = arena_alloc(&req->arena, (size_t)count * sizeof *w->response_index + 1);
  int64_t asked = 0;
  for (int32_t i = 0; i < count; i++) {
    result_t *r = &w->resp.results[i];
    create_partitions_response_create_partitions_topic_result_init(r);
    r->name = w->m.topics[i].name;
    if (duplicate_name(&w->m, i)) {
      r->error_code = KERR_INVALID_REQUEST;
      r->error_message = KSTR_LIT("Duplicate topic name.");
      continue;
    }
    if (over_budget(req, &w->m.topics[i], &asked, r)) continue;
    to_meta(req, &w->m.topics[i], &w->topics[w->count]);
    w->response_index[w->count++] = i;
  }
  ASSERT(w->count <= count);
  if (w->count == 0) {
    send(w);
    return true;
  }
  int32_t timeout_ms = w->m.timeout_ms > 0 ? w->m.timeout_ms : 0;
  uint64_t deadline_ns = req->received_ns + (uint64_t)timeout_ms * NS_PER_MS;
  req->pending = w; /* answered from grown() */
  struct meta_controller *ctl = req->node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  ctl->ops->create_partitions(ctl, w->topics, w->count, w->m.validate_only, deadline_ns, grown,
                              w);
  return true;
}
