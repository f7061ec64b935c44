/* AlterPartition (API 56, KIP-497), versions 2-3, on the controller
 * listener: a partition leader proposes a new ISR to the active controller,
 * which checks it (meta_rule_alter_partition: epochs, membership, KIP-841
 * and KIP-903 eligibility) and commits a PartitionChangeRecord. Each
 * partition of the request is one controller call (controller_quorum.h);
 * the answer leaves once all are decided, with the state each partition
 * has after the call. A node that is not the active controller answers
 * NOT_CONTROLLER; the leader tries again on its next ISR check. */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

enum { ALTER_PARTITION_TIMEOUT_MS = 30000 }; /* the request carries none */

struct alter_wait;

struct alter_call {
  struct alter_wait *wait;
  struct alter_partition_response_partition_data *out;
};

struct alter_wait {
  struct request *req;
  struct alter_partition_response resp;
  int32_t calls_pending;
};

static void respond(struct request *req, struct alter_partition_response *resp) {
  struct wr out;
  response_begin(req, &out);
  alter_partition_response_encode(&out, req->api_version, resp);
  request_respond(req, &out);
}

/* Errors about the asker, not a partition, go to the top as in Kafka. */
static void answered(void *ctx, const struct meta_alter_partition_result *r) {
  struct alter_call *c = ctx;
  struct alter_wait *w = c->wait;
  ASSERT(w->req->pending == w && w->calls_pending > 0);
  struct alter_partition_response_partition_data *pd = c->out;
  pd->error_code = r->error_code;
  if (r->error_code == KERR_STALE_BROKER_EPOCH || r->error_code == KERR_NOT_CONTROLLER)
    w->resp.error_code = r->error_code;
  if (r->error_code == KERR_NONE) {
    pd->leader_id = r->leader_id;
    pd->leader_epoch = r->leader_epoch;
    pd->partition_epoch = r->partition_epoch;
    pd->isr_count = r->isr_count;
    pd->isr = arena_alloc(&w->req->arena, (size_t)(r->isr_count + 1) * sizeof *pd->isr);
    memcpy(pd->isr, r->isr, (size_t)r->isr_count * sizeof *pd->isr);
  }
  if (--w->calls_pending == 0) respond(w->req, &w->resp);
}

/* The call for one partition; false when the request is malformed. */
static bool call_of(const struct alter_partition_request *m, int16_t version,
                    const struct alter_partition_request_topic_data *t,
                    const struct alter_partition_request_partition_data *pd,
                    struct meta_alter_partition *in) {
  memset(in, 0, sizeof *in);
  in->broker_id = m->broker_id;
  in->broker_epoch = m->broker_epoch;
  in->topic_id = t->topic_id;
  in->partition_id = pd->partition_index;
  in->leader_epoch = pd->leader_epoch;
  in->partition_epoch = pd->partition_epoch;
  int32_t count = version >= 3 ? pd->new_isr_with_epochs_count : pd->new_isr_count;
  if (count < 0 || count > META_REPLICAS_MAX) return false;
  in->isr_count = count;
  for (int32_t i = 0; i < count; i++) {
    in->isr[i] = version >= 3 ? pd->new_isr_with_epochs[i].broker_id : pd->new_isr[i];
    in->isr_broker_epochs[i] = version >= 3 ? pd->new_isr_with_epochs[i].broker_epoch : -1;
  }
  return true;
}

static void response_shape(struct alter_wait *w, const struct alter_partition_request *m) {
  struct arena *a = &w->req->arena;
  alter_partition_response_init(&w->resp);
  int32_t topics = m->topics_count > 0 ? m->topics_count : 0;
  w->resp.topics_count = topics;
  w->resp.topics = arena_alloc(a, (size_t)(topics + 1) * sizeof *w->resp.topics);
  for (int32_t i = 0; i < topics; i++) {
    struct alter_partition_response_topic_data *tr = &w->resp.topics[i];
    alter_partition_response_topic_data_init(tr);
    tr->topic_id = m->topics[i].topic_id;
    int32_t parts = m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
    tr->partitions_count = parts;
    tr->partitions = arena_alloc(a, (size_t)(parts + 1) * sizeof *tr->partitions);
    for (int32_t j = 0; j < parts; j++) {
      alter_partition_response_partition_data_init(&tr->partitions[j]);
      tr->partitions[j].partition_index = m->topics[i].partitions[j].partition_index;
      tr->partitions[j].error_code = KERR_INVALID_REQUEST;
    }
  }
}

bool handle_alter_partition(struct request *req) {
  handler_assert_entry(req, API_ALTER_PARTITION);
  struct alter_partition_request m;
  if (!alter_partition_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct node *node = req->node;
  struct alter_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  w->calls_pending = 0;
  response_shape(w, &m);
  if (node->loader == NULL) { /* no quorum here: not a controller of a cluster */
    w->resp.error_code = KERR_NOT_CONTROLLER;
    respond(req, &w->resp);
    return true;
  }
  uint64_t deadline_ns = req->received_ns + (uint64_t)ALTER_PARTITION_TIMEOUT_MS * NS_PER_MS;
  req->pending = w;
  w->calls_pending = 1; /* held until every call is made: none answers inside anyway */
  for (int32_t i = 0; i < w->resp.topics_count; i++) {
    const struct alter_partition_request_topic_data *t = &m.topics[i];
    for (int32_t j = 0; j < w->resp.topics[i].partitions_count; j++) {
      struct meta_alter_partition in;
      if (!call_of(&m, req->api_version, t, &t->partitions[j], &in)) continue;
      struct alter_call *c = arena_alloc(&req->arena, sizeof *c);
      c->wait = w;
      c->out = &w->resp.topics[i].partitions[j];
      w->calls_pending++;
      controller_quorum_next_call_forwarded(node->controller);
      controller_quorum_alter_partition(node->controller, &in, deadline_ns, answered, c);
    }
  }
  if (--w->calls_pending == 0) respond(req, &w->resp);
  return true;
}
