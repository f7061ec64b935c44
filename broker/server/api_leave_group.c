/* LeaveGroup (API 13), versions 0-5: members leave at once instead of
 * waiting out their sessions, and the group rebalances without them. v3+
 * names several members, each by member id or by group.instance.id alone
 * (KIP-345), each with its own error. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

enum { LEAVING_MAX = 10000 };

bool handle_leave_group(struct request *req) {
  handler_assert_entry(req, API_LEAVE_GROUP);
  struct leave_group_request m;
  if (!leave_group_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct node *node = req->node;
  struct leave_group_response resp;
  leave_group_response_init(&resp);
  int16_t err = groups_coordinate(node, m.group_id);
  int64_t now_ms = groups_now_ms(node), wall_ms = groups_wall_ms(node);
  if (req->api_version < 3) {
    if (err == KERR_NONE)
      err =
          group_leave(groups_state(node), m.group_id, m.member_id, KSTR_NULL, now_ms, wall_ms);
    resp.error_code = err;
  } else if (err != KERR_NONE) {
    resp.error_code = err;
  } else {
    int32_t n = m.members_count > 0 ? m.members_count : 0;
    if (n > LEAVING_MAX) return false;
    resp.members_count = n;
    resp.members = arena_alloc(&req->arena, (size_t)n * sizeof *resp.members + 1);
    for (int32_t i = 0; i < n; i++) {
      const struct leave_group_request_member_identity *id = &m.members[i];
      leave_group_response_member_response_init(&resp.members[i]);
      resp.members[i].member_id = id->member_id;
      resp.members[i].group_instance_id = id->group_instance_id;
      resp.members[i].error_code = group_leave(groups_state(node), m.group_id, id->member_id,
                                               id->group_instance_id, now_ms, wall_ms);
    }
  }
  groups_kick(node);
  struct wr w;
  response_begin(req, &w);
  leave_group_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
