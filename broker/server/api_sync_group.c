/* SyncGroup (API 14), versions 0-5: the leader brings the generation's
 * assignment and every member gets its part. A member's request waits for
 * the leader's (parked, like JoinGroup's). v5 names the protocol type and
 * name, which must be the group's. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

void sync_group_answer(struct request *req, int16_t error, const struct group *g,
                       struct kbytes assignment) {
  struct sync_group_response resp;
  sync_group_response_init(&resp);
  resp.error_code = error;
  if (error == KERR_NONE && g) {
    resp.protocol_type = kstr_of(g->protocol_type);
    resp.protocol_name = kstr_of(g->protocol_name);
  }
  resp.assignment = assignment.len > 0 ? assignment : (struct kbytes){(const uint8_t *)"", 0};
  struct wr w;
  response_begin(req, &w);
  sync_group_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
}

bool handle_sync_group(struct request *req) {
  handler_assert_entry(req, API_SYNC_GROUP);
  struct sync_group_request m;
  if (!sync_group_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct node *node = req->node;
  int16_t err = groups_coordinate(node, m.group_id);
  if (err != KERR_NONE) {
    sync_group_answer(req, err, NULL, (struct kbytes){NULL, 0});
    return true;
  }
  int32_t n = m.assignments_count > 0 ? m.assignments_count : 0;
  struct group_join_member *assignments =
      arena_alloc(&req->arena, (size_t)n * sizeof *assignments + 1);
  for (int32_t i = 0; i < n; i++)
    assignments[i] = (struct group_join_member){.member_id = m.assignments[i].member_id,
                                                .instance_id = KSTR_NULL,
                                                .metadata = m.assignments[i].assignment};
  struct group_sync_args a = {
      .group_id = m.group_id,
      .member_id = m.member_id,
      .instance_id = m.group_instance_id,
      .generation = m.generation_id,
      .protocol_type = req->api_version >= 5 ? m.protocol_type : KSTR_NULL,
      .protocol_name = req->api_version >= 5 ? m.protocol_name : KSTR_NULL,
      .assignments = assignments,
      .assignment_count = n,
      .token = req,
      .now_ms = groups_now_ms(node),
      .wall_ms = groups_wall_ms(node),
  };
  groups_park(req, m.group_id); /* answered from sync_group_answer, now or later */
  group_sync(groups_state(node), &a);
  groups_kick(node);
  return true;
}
