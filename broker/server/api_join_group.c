/* JoinGroup (API 11), versions 0-9: a member joins its group's next
 * generation (broker/group/group.h). The answer waits for the join phase
 * to end (every member rejoined, or the rebalance timeout), so the request
 * is parked until the state machine answers it; a connection that closes
 * takes it back. v4+: a new member first gets MEMBER_ID_REQUIRED with its
 * id (KIP-394); v5+: static members (KIP-345); v0 has no rebalance
 * timeout (the session timeout is used, as Kafka does). */
#include "base/assert.h"
#include "base/str.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

void join_group_answer(struct request *req, const struct group_join_result *r) {
  struct join_group_response resp;
  join_group_response_init(&resp);
  resp.error_code = r->error;
  resp.generation_id = r->generation;
  resp.protocol_type = r->protocol_type;
  resp.protocol_name =
      r->protocol_name.len >= 0 || req->api_version >= 7 ? r->protocol_name : KSTR_LIT("");
  resp.leader = r->leader.len >= 0 ? r->leader : KSTR_LIT("");
  resp.member_id = r->member_id.len >= 0 ? r->member_id : KSTR_LIT("");
  resp.skip_assignment = r->skip_assignment;
  resp.members_count = r->member_count;
  resp.members = arena_alloc(&req->arena, (size_t)r->member_count * sizeof *resp.members + 1);
  for (int32_t i = 0; i < r->member_count; i++) {
    join_group_response_join_group_response_member_init(&resp.members[i]);
    resp.members[i].member_id = r->members[i].member_id;
    resp.members[i].group_instance_id = r->members[i].instance_id;
    resp.members[i].metadata = r->members[i].metadata;
  }
  struct wr w;
  response_begin(req, &w);
  join_group_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
}

static void answer_error(struct request *req, int16_t error, struct kstr member_id) {
  struct group_join_result r = {.error = error,
                                .generation = -1,
                                .protocol_type = KSTR_NULL,
                                .protocol_name = KSTR_NULL,
                                .leader = KSTR_LIT(""),
                                .member_id = member_id};
  join_group_answer(req, &r);
}

bool handle_join_group(struct request *req) {
  handler_assert_entry(req, API_JOIN_GROUP);
  struct join_group_request m;
  if (!join_group_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct node *node = req->node;
  int16_t err = groups_coordinate(node, m.group_id);
  if (err != KERR_NONE) {
    answer_error(req, err, m.member_id);
    return true;
  }
  struct group_protocol_arg *protocols = arena_alloc(
      &req->arena,
      (size_t)(m.protocols_count > 0 ? m.protocols_count : 0) * sizeof *protocols + 1);
  for (int32_t i = 0; i < m.protocols_count; i++)
    protocols[i] = (struct group_protocol_arg){m.protocols[i].name, m.protocols[i].metadata};
  /* Kafka's clientHost: "/" and the peer's address. */
  char peer[64];
  node->env->peer_host(node->env, req->conn_id, peer, sizeof peer);
  char *host = arena_alloc(&req->arena, sizeof peer + 1);
  str_fmt(host, sizeof peer + 1, "/%s", peer);
  struct group_join_args a = {
      .group_id = m.group_id,
      .member_id = m.member_id.len > 0 ? m.member_id : KSTR_LIT(""),
      .instance_id = m.group_instance_id,
      .client_id = req->client_id,
      .client_host = kstr_of(host),
      .protocol_type = m.protocol_type,
      .protocols = protocols,
      .protocol_count = m.protocols_count > 0 ? m.protocols_count : 0,
      .session_timeout_ms = m.session_timeout_ms,
      .rebalance_timeout_ms = req->api_version >= 1 && m.rebalance_timeout_ms > 0
                                  ? m.rebalance_timeout_ms
                                  : m.session_timeout_ms,
      .require_known_member_id = req->api_version >= 4,
      .random = {node->env->random_u64(node->env), node->env->random_u64(node->env)},
      .token = req,
      .now_ms = groups_now_ms(node),
      .wall_ms = groups_wall_ms(node),
  };
  groups_park(req, m.group_id); /* answered from join_group_answer, now or later */
  group_join(groups_state(node), &a);
  groups_kick(node);
  return true;
}
