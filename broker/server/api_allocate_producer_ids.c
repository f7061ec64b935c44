/* AllocateProducerIds (API 67, KIP-730), version 0, on the controller
 * listener: a broker that is not the active controller asks it for the next
 * block of producer ids (server/producer_ids.h), which the active controller
 * appends as a ProducerIdsRecord and answers once it is committed. As
 * Kafka's controller: a node that is not active answers NOT_CONTROLLER (the
 * broker retries with the leader it knows), an unknown broker or a broker
 * epoch that is not its registration's STALE_BROKER_EPOCH. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

struct ids_wait {
  struct request *req;
};

static void respond(struct request *req, int16_t error, int64_t first_id, int32_t count) {
  struct allocate_producer_ids_response resp;
  allocate_producer_ids_response_init(&resp);
  resp.error_code = error;
  resp.producer_id_start = error == KERR_NONE ? first_id : -1;
  resp.producer_id_len = error == KERR_NONE ? count : 0;
  struct wr out;
  response_begin(req, &out);
  allocate_producer_ids_response_encode(&out, req->api_version, &resp);
  request_respond(req, &out);
}

static void allocated(void *ctx, int16_t error, int64_t first_id, int32_t count) {
  struct ids_wait *w = ctx;
  ASSERT(w->req->pending == w);
  respond(w->req, error, first_id, count);
}

bool handle_allocate_producer_ids(struct request *req) {
  handler_assert_entry(req, API_ALLOCATE_PRODUCER_IDS);
  struct allocate_producer_ids_request m;
  if (!allocate_producer_ids_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct node *node = req->node;
  if (node->loader == NULL) { /* no quorum here: no one hands out blocks on this listener */
    respond(req, KERR_NOT_CONTROLLER, -1, 0);
    return true;
  }
  struct ids_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  req->pending = w;
  struct meta_controller *ctl = node->controller;
  controller_quorum_next_call_forwarded(ctl);
  ctl->ops->allocate_producer_ids(ctl, m.broker_id, m.broker_epoch, allocated, w);
  return true;
}
