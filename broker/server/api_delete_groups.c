/* DeleteGroups (API 42), versions 0-2: removes Empty groups with their
 * committed offsets (tombstones in __consumer_offsets);
 * NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for a group
 * that does not exist. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

enum { DELETE_GROUPS_MAX = 10000 };

bool handle_delete_groups(struct request *req) {
  handler_assert_entry(req, API_DELETE_GROUPS);
  struct delete_groups_request m;
  if (!delete_groups_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  int32_t n = m.groups_names_count > 0 ? m.groups_names_count : 0;
  if (n > DELETE_GROUPS_MAX) return false;
  struct delete_groups_response resp;
  delete_groups_response_init(&resp);
  resp.results_count = n;
  resp.results = arena_alloc(&req->arena, (size_t)n * sizeof *resp.results + 1);
  for (int32_t i = 0; i < n; i++) {
    struct delete_groups_response_deletable_group_result *r = &resp.results[i];
    delete_groups_response_deletable_group_result_init(r);
    r->group_id = m.groups_names[i];
    r->error_code = groups_coordinate(req->node, r->group_id);
    if (r->error_code == KERR_NONE)
      r->error_code = group_delete(groups_state(req->node), r->group_id);
  }
  struct wr w;
  response_begin(req, &w);
  delete_groups_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
