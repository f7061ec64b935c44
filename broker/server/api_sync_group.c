/* SyncGroup (API 14), versions 0-5: the leader brings the generation's
 * assignment and every member gets its part. A member's request waits for
 * the leader's (parked, like JoinGroup's), then for the ISR of the group's
 * __consumer_offsets partition to hold the generation's record, so that a
 * coordinator that fails over right after does not leave its successor a
 * generation behind. v5 names the protocol type and name, which must be
 * the group's. */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

/* An answer that waits for the generation's GroupMetadata record to reach
 * the ISR (groups_await_replicated). */
struct sync_wait {
  struct request *req;
  struct kstr protocol_type, protocol_name;
  struct kbytes assignment; /* copied: the group may move on meanwhile */
  struct groups_replication_wait wait;
};

static void sync_send(struct request *req, int16_t error, struct kstr protocol_type,
                      struct kstr protocol_name, struct kbytes assignment) {
  struct sync_group_response resp;
  sync_group_response_init(&resp);
  resp.error_code = error;
  if (error == KERR_NONE) {
    resp.protocol_type = protocol_type;
    resp.protocol_name = protocol_name;
  }
  resp.assignment = error == KERR_NONE && assignment.len > 0
                        ? assignment
                        : (struct kbytes){(const uint8_t *)"", 0};
  struct wr w;
  response_begin(req, &w);
  sync_group_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
}

static void sync_stored(void *ctx, int16_t error) {
  struct sync_wait *s = ctx;
  sync_send(s->req, error, s->protocol_type, s->protocol_name, s->assignment);
}

static struct kstr arena_kstr(struct arena *a, const char *s) {
  return kstr_of(arena_strndup(a, s, strlen(s)));
}

void sync_group_answer(struct request *req, int16_t error, const struct group *g,
                       struct kbytes assignment) {
  struct node *node = req->node;
  struct partition *p = g ? groups_partition(node, kstr_of(g->id)) : NULL;
  if (error != KERR_NONE || p == NULL ||
      partition_high_watermark(p) >= plog_end_offset(p->log)) {
    sync_send(req, error, g ? kstr_of(g->protocol_type) : KSTR_NULL,
              g ? kstr_of(g->protocol_name) : KSTR_NULL, assignment);
    return;
  }
  struct sync_wait *s = arena_alloc(&req->arena, sizeof *s);
  memset(s, 0, sizeof *s);
  s->req = req;
  s->protocol_type = arena_kstr(&req->arena, g->protocol_type);
  s->protocol_name = arena_kstr(&req->arena, g->protocol_name);
  uint8_t *bytes =
      arena_alloc(&req->arena, (size_t)(assignment.len > 0 ? assignment.len : 0) + 1);
  if (assignment.len > 0) memcpy(bytes, assignment.ptr, (size_t)assignment.len);
  s->assignment = (struct kbytes){bytes, assignment.len > 0 ? assignment.len : 0};
  groups_await_replicated(&s->wait, req, arena_kstr(&req->arena, g->id),
                          plog_end_offset(p->log), sync_stored, s);
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
