/* ListPartitionReassignments (API 46, version 0; KIP-455): the reassignments
 * in progress, with each partition's replicas and its adding and removing
 * ones. Answered from this node's image (Kafka 3.9 forwards it to the
 * controller, whose state may be a little ahead); null topics lists every
 * partition under reassignment; a named partition that does not exist or
 * is not moving is left out, as Kafka does. */
#include <string.h>

#include "base/assert.h"
#include "meta/reassignment.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

typedef struct list_partition_reassignments_response_ongoing_partition_reassignment ongoing;

static int32_t *ints_dup(struct arena *a, const int32_t *ids, int32_t count) {
  int32_t *out = arena_alloc(a, (size_t)count * sizeof *out + 1);
  if (count > 0) memcpy(out, ids, (size_t)count * sizeof *out);
  return out;
}

static bool moving(const struct meta_partition *p) {
  return p->adding_count > 0 || p->removing_count > 0;
}

static void ongoing_fill(struct arena *a, const struct meta_partition *p, ongoing *o) {
  list_partition_reassignments_response_ongoing_partition_reassignment_init(o);
  o->partition_index = p->partition_id;
  o->replicas = ints_dup(a, p->replicas, p->replica_count);
  o->replicas_count = p->replica_count;
  o->adding_replicas = ints_dup(a, p->adding, p->adding_count);
  o->adding_replicas_count = p->adding_count;
  o->removing_replicas = ints_dup(a, p->removing, p->removing_count);
  o->removing_replicas_count = p->removing_count;
}

/* The topic's moving partitions (those in want, or all when want is NULL). */
static void
topic_fill(struct arena *a, const struct meta_topic *t, const int32_t *want, int32_t want_count,
           struct list_partition_reassignments_response_ongoing_topic_reassignment *o) {
  list_partition_reassignments_response_ongoing_topic_reassignment_init(o);
  o->name = kstr_of(t->name);
  int32_t cap = want ? want_count : t->partition_count;
  o->partitions = arena_alloc(a, (size_t)cap * sizeof *o->partitions + 1);
  o->partitions_count = 0;
  for (int32_t i = 0; i < cap; i++) {
    const struct meta_partition *p =
        want ? meta_topic_partition(t, want[i]) : &t->partitions[i];
    if (p && moving(p)) ongoing_fill(a, p, &o->partitions[o->partitions_count++]);
  }
}

bool handle_list_partition_reassignments(struct request *req) {
  handler_assert_entry(req, API_LIST_PARTITION_REASSIGNMENTS);
  struct list_partition_reassignments_request m;
  if (!list_partition_reassignments_request_decode(&req->body, req->api_version, &m,
                                                   &req->arena))
    return false;
  const struct meta_image *image = req->node->image;
  ASSERT(image != NULL);
  struct list_partition_reassignments_response resp;
  list_partition_reassignments_response_init(&resp);
  bool all = m.topics_count < 0;
  int32_t cap = all ? image->topic_count : m.topics_count;
  resp.topics = arena_alloc(&req->arena, (size_t)cap * sizeof *resp.topics + 1);
  resp.topics_count = 0;
  for (int32_t i = 0; i < cap; i++) {
    const struct meta_topic *t = NULL;
    if (all)
      t = image->topics_by_name[i];
    else if (m.topics[i].name.len > 0)
      t = meta_image_topic(image, m.topics[i].name.ptr, (size_t)m.topics[i].name.len);
    if (t == NULL) continue;
    struct list_partition_reassignments_response_ongoing_topic_reassignment *o =
        &resp.topics[resp.topics_count];
    topic_fill(&req->arena, t, all ? NULL : m.topics[i].partition_indexes,
               all ? 0
                   : (m.topics[i].partition_indexes_count > 0
                          ? m.topics[i].partition_indexes_count
                          : 0),
               o);
    if (o->partitions_count > 0) resp.topics_count++;
  }
  struct wr out;
  response_begin(req, &out);
  list_partition_reassignments_response_encode(&out, req->api_version, &resp);
  request_respond(req, &out);
  return true;
}
