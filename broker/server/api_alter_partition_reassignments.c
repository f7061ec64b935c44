/* AlterPartitionReassignments (API 45, version 0; KIP-455): moves partitions
 * to new replica sets, or (null replicas) cancels a move in progress. The
 * active controller decides (meta/reassignment.h) and commits the
 * PartitionChangeRecords; any broker takes the request and forwards it, as
 * CreateTopics (Kafka 3.9 forwards it in an Envelope; Sluice's controller
 * listener takes it directly). The answer leaves once this node's image
 * shows each accepted move started, done or cancelled; completion comes
 * later, when the new replicas have joined the ISR
 * (ListPartitionReassignments shows the moves in progress). */
#include <string.h>

#include "base/assert.h"
#include "meta/reassignment.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

enum { REASSIGN_TIMEOUT_MS_MAX = 60000 }; /* the request's default timeout_ms */

struct reassign_wait {
  struct request *req;
  struct alter_partition_reassignments_request m;
  int16_t *codes; /* one per partition, in request order */
  struct kstr *messages;
  int32_t count;
};

static void reassign_send(struct reassign_wait *w) {
  struct arena *a = &w->req->arena;
  struct alter_partition_reassignments_response resp;
  alter_partition_reassignments_response_init(&resp);
  int32_t topics = w->m.topics_count > 0 ? w->m.topics_count : 0;
  resp.responses = arena_alloc(a, (size_t)topics * sizeof *resp.responses + 1);
  resp.responses_count = topics;
  for (int32_t k = 0, i = 0; k < topics; k++) {
    const struct alter_partition_reassignments_request_reassignable_topic *in = &w->m.topics[k];
    struct alter_partition_reassignments_response_reassignable_topic_response *out =
        &resp.responses[k];
    alter_partition_reassignments_response_reassignable_topic_response_init(out);
    out->name = in->name;
    int32_t n = in->partitions_count > 0 ? in->partitions_count : 0;
    out->partitions = arena_alloc(a, (size_t)n * sizeof *out->partitions + 1);
    out->partitions_count = n;
    for (int32_t j = 0; j < n; j++, i++) {
      ASSERT(i < w->count);
      alter_partition_reassignments_response_reassignable_partition_response_init(
          &out->partitions[j]);
      out->partitions[j].partition_index = in->partitions[j].partition_index;
      out->partitions[j].error_code = w->codes[i];
      out->partitions[j].error_message = w->messages[i];
    }
  }
  struct wr out;
  response_begin(w->req, &out);
  alter_partition_reassignments_response_encode(&out, w->req->api_version, &resp);
  request_respond(w->req, &out);
}

static void reassigned(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct reassign_wait *w = ctx;
  ASSERT(w->req->pending == w && count == w->count);
  for (int32_t i = 0; i < count; i++) {
    w->codes[i] = results[i].error_code;
    w->messages[i] = results[i].error_code != KERR_NONE && results[i].error_message[0]
                         ? kstr_of(arena_strndup(&w->req->arena, results[i].error_message,
                                                 strlen(results[i].error_message)))
                         : KSTR_NULL;
  }
  reassign_send(w);
}

static int32_t partitions_of(const struct alter_partition_reassignments_request *m) {
  int32_t n = 0;
  for (int32_t k = 0; k < m->topics_count; k++)
    n += m->topics[k].partitions_count > 0 ? m->topics[k].partitions_count : 0;
  return n;
}

/* The request's partitions, flattened; one too large to be a replica set
 * is refused here (it cannot be carried). */
static struct meta_reassign *flatten(struct reassign_wait *w) {
  struct meta_reassign *parts =
      arena_alloc(&w->req->arena, (size_t)w->count * sizeof *parts + 1);
  for (int32_t k = 0, i = 0; k < w->m.topics_count; k++) {
    const struct alter_partition_reassignments_request_reassignable_topic *t = &w->m.topics[k];
    for (int32_t j = 0; j < t->partitions_count; j++, i++) {
      const struct alter_partition_reassignments_request_reassignable_partition *p =
          &t->partitions[j];
      struct meta_reassign *r = &parts[i];
      memset(r, 0, sizeof *r);
      r->topic = t->name;
      r->partition_id = p->partition_index;
      r->target_count = p->replicas_count;
      if (p->replicas_count > META_REPLICAS_MAX) {
        r->target_count = 0; /* the controller answers INVALID_REPLICA_ASSIGNMENT */
      } else if (p->replicas_count > 0) {
        memcpy(r->target, p->replicas, (size_t)p->replicas_count * sizeof r->target[0]);
      }
    }
  }
  return parts;
}

bool handle_alter_partition_reassignments(struct request *req) {
  handler_assert_entry(req, API_ALTER_PARTITION_REASSIGNMENTS);
  struct reassign_wait *w = arena_alloc(&req->arena, sizeof *w);
  memset(w, 0, sizeof *w);
  w->req = req;
  if (!alter_partition_reassignments_request_decode(&req->body, req->api_version, &w->m,
                                                    &req->arena))
    return false;
  w->count = partitions_of(&w->m);
  w->codes = arena_alloc(&req->arena, (size_t)w->count * sizeof *w->codes + 1);
  w->messages = arena_alloc(&req->arena, (size_t)w->count * sizeof *w->messages + 1);
  struct node *node = req->node;
  if (node->loader == NULL || w->count == 0) { /* the single-node controller has no such call */
    for (int32_t i = 0; i < w->count; i++) {
      w->codes[i] = KERR_INVALID_REQUEST;
      w->messages[i] = KSTR_LIT("Reassignments need KRaft mode (controller.quorum.voters).");
    }
    reassign_send(w);
    return true;
  }
  struct meta_reassign *parts = flatten(w);
  req->pending = w;
  struct meta_controller *ctl = node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  int32_t timeout_ms = w->m.timeout_ms > 0 && w->m.timeout_ms < REASSIGN_TIMEOUT_MS_MAX
                           ? w->m.timeout_ms
                           : REASSIGN_TIMEOUT_MS_MAX;
  uint64_t deadline_ns = req->received_ns + (uint64_t)timeout_ms * NS_PER_MS;
  controller_quorum_reassign(ctl, parts, w->count, deadline_ns, reassigned, w);
  return true;
}
