/* The reassign fault (faults/grammar.h FAULT_REASSIGN): a KIP-455
 * reassignment of one partition, asked of the active controller as an
 * operator's AlterPartitionReassignments reaching it would be (the call is
 * made on that node's controller directly, not over the simulated
 * network). The leader keeps its place; its last follower moves to the next
 * broker that holds no replica, so the move ends by dropping a replica: a
 * new leader epoch with the same leader, in which every follower must
 * reconcile (isr-fetch-epoch judges it, sim/replica_check.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "meta/controller.h"
#include "meta/image.h"
#include "meta/reassignment.h"
#include "proto/errors.h"
#include "server/node.h"
#include "sim/runner_internal.h"

struct reassign_call {
  struct runner *r;
  char topic[META_TOPIC_NAME_BYTES];
  struct meta_reassign part;
};

static void reassign_done(void *ctx, const struct meta_topic_result *results, int32_t count) {
  struct reassign_call *c = ctx;
  ASSERT(count == 1);
  runner_trace(c->r, "reassign %s-%d: %s%s%s", c->topic, c->part.partition_id,
               results[0].error_code == KERR_NONE ? "started"
                                                  : kerr_name(results[0].error_code),
               results[0].error_message[0] ? ": " : "", results[0].error_message);
  free(c);
}

static bool has(const int32_t *ids, int32_t n, int32_t id) {
  for (int32_t i = 0; i < n; i++)
    if (ids[i] == id) return true;
  return false;
}

/* The replicas with the last follower moved to the next broker free of the
 * partition; false when every broker holds a replica. */
static bool rotated(const struct runner *r, const struct meta_partition *p, int32_t *out) {
  int32_t last = -1;
  for (int32_t i = 0; i < p->replica_count; i++)
    if (p->replicas[i] != p->leader) last = i;
  if (last < 0) return false;
  memcpy(out, p->replicas, (size_t)p->replica_count * sizeof out[0]);
  int nodes = r->sc->nodes;
  for (int k = 1; k <= nodes; k++) {
    int32_t id = (p->replicas[last] - 1 + k) % nodes + 1;
    if (has(p->replicas, p->replica_count, id)) continue;
    out[last] = id;
    return true;
  }
  return false;
}

void runner_reassign(struct runner *r, const char *topic, int32_t partition) {
  int a = runner_raft_leader(r);
  struct node *proc = a >= 0 ? r->brokers[a].proc : NULL;
  const struct meta_image *image = proc ? node_metadata_image(proc) : NULL;
  const struct meta_topic *t = image ? meta_image_topic(image, topic, strlen(topic)) : NULL;
  const struct meta_partition *p = t ? meta_topic_partition(t, partition) : NULL;
  if (p == NULL || p->adding_count > 0 || p->removing_count > 0) {
    runner_trace(r,
                 "reassign %s-%d: no active controller, partition, or one in progress: "
                 "skipped",
                 topic, partition);
    return;
  }
  struct reassign_call *c = calloc(1, sizeof *c);
  ASSERT(c != NULL);
  c->r = r;
  snprintf(c->topic, sizeof c->topic, "%s", topic);
  c->part.topic = kstr_of(c->topic);
  c->part.partition_id = partition;
  c->part.target_count = p->replica_count;
  if (!rotated(r, p, c->part.target) || !node_reassign(proc, &c->part, 1, reassign_done, c)) {
    runner_trace(r, "reassign %s-%d: no broker free of it: skipped", topic, partition);
    free(c);
    return;
  }
  char text[64] = "";
  for (int32_t i = 0; i < c->part.target_count; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s%d", i ? "," : "",
             c->part.target[i]);
  runner_trace(r, "reassign %s-%d to [%s] through node %d", topic, partition, text, a + 1);
}
