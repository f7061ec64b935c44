/* OffsetFetch (API 9), versions 0-8: a group's committed offsets, for the
 * partitions named or (v2+, topics null) all of them; v8 asks for several
 * groups at once (KIP-709). A partition without a commit answers offset
 * -1. No transactions, so require_stable has nothing to wait for. */
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/group_coordinator.h"
#include "server/handlers.h"
#include "server/server.h"

/* v8's shapes; v0-7 copy them into theirs. */
typedef struct offset_fetch_response_offset_fetch_response_topics topic_t;
typedef struct offset_fetch_response_offset_fetch_response_partitions part_t;
typedef struct offset_fetch_request_offset_fetch_request_topics asked_t;

static void part_fill(part_t *r, const struct group *g, struct kstr topic, int32_t partition) {
  offset_fetch_response_offset_fetch_response_partitions_init(r);
  r->partition_index = partition;
  const struct group_offset *o = g ? group_offset_get(g, topic, partition) : NULL;
  r->committed_offset = o ? o->offset : -1;
  r->committed_leader_epoch = o ? o->leader_epoch : -1;
  r->metadata = o ? kstr_of(o->metadata) : KSTR_LIT("");
}

/* Every committed offset of the group, a topic per run of its sorted list. */
static void fetch_all(struct request *req, const struct group *g, topic_t **out, int32_t *n) {
  int32_t topics = 0;
  for (int32_t i = 0; g && i < g->offset_count; i++)
    topics += i == 0 || strcmp(g->offsets[i].topic, g->offsets[i - 1].topic) != 0;
  *out = arena_alloc(&req->arena, (size_t)topics * sizeof **out + 1);
  *n = topics;
  int32_t t = -1;
  for (int32_t i = 0; g && i < g->offset_count; i++) {
    const struct group_offset *o = &g->offsets[i];
    if (i == 0 || strcmp(o->topic, g->offsets[i - 1].topic) != 0) {
      t++;
      int32_t count = 0;
      for (int32_t k = i; k < g->offset_count && strcmp(g->offsets[k].topic, o->topic) == 0;
           k++)
        count++;
      offset_fetch_response_offset_fetch_response_topics_init(&(*out)[t]);
      (*out)[t].name = kstr_of(o->topic);
      (*out)[t].partitions = arena_alloc(&req->arena, (size_t)count * sizeof(part_t));
    }
    topic_t *tt = &(*out)[t];
    part_fill(&tt->partitions[tt->partitions_count++], g, kstr_of(o->topic), o->partition);
  }
  ASSERT(t + 1 == topics);
}

static void fetch_named(struct request *req, const struct group *g, const asked_t *asked,
                        int32_t count, topic_t **out) {
  *out = arena_alloc(&req->arena, (size_t)count * sizeof **out + 1);
  for (int32_t i = 0; i < count; i++) {
    topic_t *t = &(*out)[i];
    offset_fetch_response_offset_fetch_response_topics_init(t);
    t->name = asked[i].name;
    int32_t pn = asked[i].partition_indexes_count > 0 ? asked[i].partition_indexes_count : 0;
    t->partitions_count = pn;
    t->partitions = arena_alloc(&req->arena, (size_t)pn * sizeof(part_t) + 1);
    for (int32_t j = 0; j < pn; j++)
      part_fill(&t->partitions[j], g, asked[i].name, asked[i].partition_indexes[j]);
  }
}

/* One group's answer; asked NULL (count < 0): all its offsets. */
static void fetch_group(struct request *req, struct kstr group_id, const asked_t *asked,
                        int32_t count,
                        struct offset_fetch_response_offset_fetch_response_group *r) {
  offset_fetch_response_offset_fetch_response_group_init(r);
  r->group_id = group_id;
  r->error_code = groups_coordinate(req->node, group_id);
  const struct group *g = NULL;
  if (r->error_code == KERR_NONE)
    g = group_find(groups_state(req->node), group_id);
  else if (count < 0)
    return; /* the partitions named get the error in v0-1 */
  if (count < 0)
    fetch_all(req, g, &r->topics, &r->topics_count);
  else
    fetch_named(req, g, asked, count, &r->topics), r->topics_count = count;
}

/* v0-7: one group, in the older shapes. */
static void fetch_single(struct request *req, const struct offset_fetch_request *m,
                         struct offset_fetch_response *resp) {
  int32_t n = m->topics_count;
  asked_t *asked = arena_alloc(&req->arena, (size_t)(n > 0 ? n : 0) * sizeof *asked + 1);
  for (int32_t i = 0; i < n; i++)
    asked[i] = (asked_t){.name = m->topics[i].name,
                         .partition_indexes = m->topics[i].partition_indexes,
                         .partition_indexes_count = m->topics[i].partition_indexes_count};
  struct offset_fetch_response_offset_fetch_response_group r;
  fetch_group(req, m->group_id, asked, n < 0 ? -1 : n, &r);
  resp->error_code = r.error_code;
  resp->topics_count = r.topics_count;
  resp->topics = arena_alloc(&req->arena, (size_t)r.topics_count * sizeof *resp->topics + 1);
  for (int32_t i = 0; i < r.topics_count; i++) {
    struct offset_fetch_response_offset_fetch_response_topic *t = &resp->topics[i];
    offset_fetch_response_offset_fetch_response_topic_init(t);
    t->name = r.topics[i].name;
    t->partitions_count = r.topics[i].partitions_count;
    t->partitions =
        arena_alloc(&req->arena, (size_t)t->partitions_count * sizeof *t->partitions + 1);
    for (int32_t j = 0; j < t->partitions_count; j++) {
      const part_t *s = &r.topics[i].partitions[j];
      offset_fetch_response_offset_fetch_response_partition_init(&t->partitions[j]);
      t->partitions[j].partition_index = s->partition_index;
      t->partitions[j].committed_offset = s->committed_offset;
      t->partitions[j].committed_leader_epoch = s->committed_leader_epoch;
      t->partitions[j].metadata = s->metadata;
      t->partitions[j].error_code = s->error_code;
    }
  }
  /* v0-1 have no top-level error: a group error shows on its partitions. */
  if (req->api_version < 2 && r.error_code != KERR_NONE)
    for (int32_t i = 0; i < resp->topics_count; i++) {
      struct offset_fetch_response_offset_fetch_response_topic *t = &resp->topics[i];
      for (int32_t j = 0; j < t->partitions_count; j++)
        t->partitions[j].error_code = r.error_code;
    }
}

bool handle_offset_fetch(struct request *req) {
  handler_assert_entry(req, API_OFFSET_FETCH);
  struct offset_fetch_request m;
  if (!offset_fetch_request_decode(&req->body, req->api_version, &m, &req->arena)) return false;
  struct offset_fetch_response resp;
  offset_fetch_response_init(&resp);
  if (req->api_version < 8) {
    if (req->api_version < 2 && m.topics_count < 0) return false; /* null only from v2 */
    fetch_single(req, &m, &resp);
  } else {
    int32_t n = m.groups_count > 0 ? m.groups_count : 0;
    resp.groups_count = n;
    resp.groups = arena_alloc(&req->arena, (size_t)n * sizeof *resp.groups + 1);
    for (int32_t i = 0; i < n; i++)
      fetch_group(req, m.groups[i].group_id, m.groups[i].topics, m.groups[i].topics_count,
                  &resp.groups[i]);
  }
  struct wr w;
  response_begin(req, &w);
  offset_fetch_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
