/* Heartbeat (API 12), versions 0-4: a member is alive; the answer tells it
 * whether its generation still stands (REBALANCE_IN_PROGRESS: rejoin;
 * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

bool handle_heartbeat(struct request *req) {
  handler_assert_entry(req, API_HEARTBEAT);
  struct heartbeat_request m;
  if (!heartbeat_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct node *node = req->node;
  int16_t err = groups_coordinate(node, m.group_id);
  if (err == KERR_NONE) {
    struct group_member_ref ref = {.group_id = m.group_id,
                                   .member_id = m.member_id,
                                   .instance_id = m.group_instance_id,
                                   .generation = m.generation_id,
                                   .now_ms = groups_now_ms(node)};
    err = group_heartbeat(groups_state(node), &ref);
  }
  struct heartbeat_response resp;
  heartbeat_response_init(&resp);
  resp.error_code = err;
  struct wr w;
  response_begin(req, &w);
  heartbeat_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
