/* DescribeGroups (API 15), versions 0-5: each group's state, protocol type
 * and chosen protocol, and its members; a member's metadata and
 * assignment are shown once the group is Stable, as Kafka does. An unknown
 * group is described as Dead, without an error (Kafka's answer). */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

enum { DESCRIBE_GROUPS_MAX = 10000 };

typedef struct describe_groups_response_described_group described_t;
typedef struct describe_groups_response_described_group_member member_t;

static void describe_members(struct request *req, const struct group *g, described_t *d) {
  bool stable = g->state == GROUP_STABLE;
  d->members = arena_alloc(&req->arena, (size_t)g->member_count * sizeof *d->members + 1);
  d->members_count = g->member_count;
  for (int32_t i = 0; i < g->member_count; i++) {
    const struct group_member *m = g->members[i];
    member_t *dm = &d->members[i];
    describe_groups_response_described_group_member_init(dm);
    dm->member_id = kstr_of(m->id);
    dm->group_instance_id = m->instance_id[0] ? kstr_of(m->instance_id) : KSTR_NULL;
    dm->client_id = kstr_of(m->client_id);
    dm->client_host = kstr_of(m->client_host);
    dm->member_metadata = (struct kbytes){(const uint8_t *)"", 0};
    dm->member_assignment = (struct kbytes){(const uint8_t *)"", 0};
    for (int32_t k = 0; stable && k < m->protocol_count; k++)
      if (strcmp(m->protocols[k].name, g->protocol_name) == 0)
        dm->member_metadata =
            (struct kbytes){m->protocols[k].metadata, m->protocols[k].metadata_len};
    if (stable && m->assignment)
      dm->member_assignment = (struct kbytes){m->assignment, m->assignment_len};
  }
}

static void describe_one(struct request *req, struct kstr id, described_t *d) {
  describe_groups_response_described_group_init(d);
  d->group_id = id;
  d->group_state = KSTR_LIT("Dead");
  d->protocol_type = KSTR_LIT("");
  d->protocol_data = KSTR_LIT("");
  d->members = arena_alloc(&req->arena, 1);
  d->error_code = groups_coordinate(req->node, id);
  if (d->error_code != KERR_NONE) return;
  const struct group *g = group_find(groups_state(req->node), id);
  if (!g) return;
  d->group_state = kstr_of(group_state_name(g->state));
  d->protocol_type = kstr_of(g->protocol_type);
  d->protocol_data = kstr_of(g->protocol_name);
  describe_members(req, g, d);
}

bool handle_describe_groups(struct request *req) {
  handler_assert_entry(req, API_DESCRIBE_GROUPS);
  struct describe_groups_request m;
  if (!describe_groups_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  int32_t n = m.groups_count > 0 ? m.groups_count : 0;
  if (n > DESCRIBE_GROUPS_MAX) return false;
  struct describe_groups_response resp;
  describe_groups_response_init(&resp);
  resp.groups_count = n;
  resp.groups = arena_alloc(&req->arena, (size_t)n * sizeof *resp.groups + 1);
  for (int32_t i = 0; i < n; i++) describe_one(req, m.groups[i], &resp.groups[i]);
  struct wr w;
  response_begin(req, &w);
  describe_groups_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
