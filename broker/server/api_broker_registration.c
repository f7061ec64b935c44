/* BrokerRegistration (API 62, KIP-631), versions 0-3, on the controller
 * listener: a broker tells the active controller where clients reach it.
 * The registration goes through the controller like any change (a node
 * that is not the active controller forwards it); the answer carries the
 * broker epoch, the offset of its RegisterBrokerRecord, read from this
 * node's image once the record is in it. Only the first listener is kept
 * (meta_register_broker_record has one endpoint). */
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/controller_quorum.h"
#include "server/handlers.h"
#include "server/server.h"

struct registration_wait {
  struct request *req;
  int32_t broker_id;
};

static void respond(struct request *req, int16_t error, int64_t epoch) {
  struct broker_registration_response resp;
  broker_registration_response_init(&resp);
  resp.error_code = error;
  resp.broker_epoch = epoch;
  struct wr out;
  response_begin(req, &out);
  broker_registration_response_encode(&out, req->api_version, &resp);
  request_respond(req, &out);
}

static void registered(void *ctx, int16_t error) {
  struct registration_wait *w = ctx;
  struct request *req = w->req;
  ASSERT(req->pending == w);
  const struct meta_broker *b = meta_image_broker(req->node->image, w->broker_id);
  respond(req, error, error == KERR_NONE && b ? b->epoch : -1);
}

static bool copy(char *out, size_t cap, struct kstr s) {
  if (s.len < 0) {
    out[0] = '\0';
    return true;
  }
  if ((size_t)s.len >= cap) return false;
  memcpy(out, s.ptr, (size_t)s.len);
  out[s.len] = '\0';
  return true;
}

bool handle_broker_registration(struct request *req) {
  handler_assert_entry(req, API_BROKER_REGISTRATION);
  struct broker_registration_request m;
  if (!broker_registration_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct meta_broker_registration r;
  memset(&r, 0, sizeof r);
  r.broker_id = m.broker_id;
  r.incarnation_id = m.incarnation_id;
  r.previous_broker_epoch = m.previous_broker_epoch; /* -1 before v3 */
  bool ok = m.broker_id >= 0 && m.listeners_count >= 1 &&
            kstr_eq(m.cluster_id, req->node->cluster_id);
  if (ok) {
    const struct broker_registration_request_listener *l = &m.listeners[0];
    ok = copy(r.listener, sizeof r.listener, l->name) && copy(r.host, sizeof r.host, l->host) &&
         copy(r.rack, sizeof r.rack, m.rack) && l->host.len > 0;
    r.port = l->port;
  }
  if (!ok) {
    int16_t code = kstr_eq(m.cluster_id, req->node->cluster_id) ? KERR_INVALID_REQUEST
                                                                : KERR_INCONSISTENT_CLUSTER_ID;
    respond(req, code, -1);
    return true;
  }
  struct registration_wait *w = arena_alloc(&req->arena, sizeof *w);
  w->req = req;
  w->broker_id = m.broker_id;
  req->pending = w;
  struct meta_controller *ctl = req->node->controller;
  if (req->table == &handlers_controller) controller_quorum_next_call_forwarded(ctl);
  ctl->ops->register_broker(ctl, &r, registered, w);
  return true;
}
