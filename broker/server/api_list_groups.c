/* ListGroups (API 16), versions 0-5: the groups this node coordinates (of
 * the partitions of __consumer_offsets it leads, loaded first), with
 * their protocol type; v4+ their state, filtered by states_filter
 * (KIP-518); v5+ their type ("classic": Sluice has no KIP-848 groups), a
 * types_filter without "classic" lists none. */
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

static bool in_filter(const struct kstr *names, int32_t count, const char *value) {
  if (count <= 0) return true;
  for (int32_t i = 0; i < count; i++)
    if (names[i].len == (int32_t)strlen(value) &&
        strncasecmp(names[i].ptr, value, (size_t)names[i].len) == 0)
      return true;
  return false;
}

bool handle_list_groups(struct request *req) {
  handler_assert_entry(req, API_LIST_GROUPS);
  struct list_groups_request m;
  if (!list_groups_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct list_groups_response resp;
  list_groups_response_init(&resp);
  /* Kafka answers COORDINATOR_LOAD_IN_PROGRESS while a partition loads,
   * with the groups it knows so far. */
  resp.error_code = groups_load_all(req->node);
  const struct group_coordinator *gc = groups_state(req->node);
  resp.groups = arena_alloc(&req->arena, (size_t)gc->group_count * sizeof *resp.groups + 1);
  bool classic =
      req->api_version < 5 || in_filter(m.types_filter, m.types_filter_count, "classic");
  for (int32_t i = 0; classic && i < gc->group_count; i++) {
    const struct group *g = gc->groups[i];
    const char *state = group_state_name(g->state);
    if (req->api_version >= 4 && !in_filter(m.states_filter, m.states_filter_count, state))
      continue;
    struct list_groups_response_listed_group *lg = &resp.groups[resp.groups_count++];
    list_groups_response_listed_group_init(lg);
    lg->group_id = kstr_of(g->id);
    lg->protocol_type = kstr_of(g->protocol_type);
    lg->group_state = kstr_of(state);
    lg->group_type = KSTR_LIT("classic");
  }
  ASSERT(resp.groups_count <= gc->group_count);
  struct wr w;
  response_begin(req, &w);
  list_groups_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
