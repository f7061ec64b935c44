/* BrokerHeartbeat (API 63, KIP-631), versions 0-1, on the controller
 * listener: a registered broker's heartbeat to the active controller, which
 * keeps its session, unfences it once it has caught up with the metadata
 * log, and runs its controlled shutdown (controller_quorum.h). A node that
 * is not the active controller answers NOT_CONTROLLER; the broker retries
 * with the leader it knows. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

struct heartbeat_wait {
  struct request *req;
};

static void respond(struct request *req, const struct meta_heartbeat_result *r) {
  struct broker_heartbeat_response resp;
  broker_heartbeat_response_init(&resp);
  resp.error_code = r->error_code;
  resp.is_caught_up = r->is_caught_up;
  resp.is_fenced = r->is_fenced;
  resp.should_shut_down = r->should_shut_down;
  struct wr out;
  response_begin(req, &out);
  broker_heartbeat_response_encode(&out, req->api_version, &resp);
  request_respond(req, &out);
}

static void answered(void *ctx, const struct meta_heartbeat_result *r) {
  struct heartbeat_wait *w = ctx;
  ASSERT(w->req->pending == w);
  respond(w->req, r);
}

bool handle_broker_heartbeat(struct request *req) {
  handler_assert_entry(req, API_BROKER_HEARTBEAT);
  struct broker_heartbeat_request m;
  if (!broker_heartbeat_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct node *node = req->node;
  if (node->loader == NULL) { /* no quorum here: no sessions either */
    struct meta_heartbeat_result r = {.error_code = KERR_NOT_CONTROLLER, .is_fenced = true};
    respond(req, &r);
    return true;
  }
  struct meta_heartbeat hb = {.broker_id = m.broker_id,
                              .broker_epoch = m.broker_epoch,
                              .current_metadata_offset = m.current_metadata_offset,
                              .want_fence = m.want_fence,
                              .want_shut_down = m.want_shut_down};
  struct heartbeat_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  req->pending = w;
  uint64_t deadline_ns =
      req->received_ns + (uint64_t)node->cfg.broker_heartbeat_interval_ms * NS_PER_MS;
  controller_quorum_next_call_forwarded(node->controller);
  controller_quorum_heartbeat(node->controller, &hb, deadline_ns, answered, w);
  return true;
}
