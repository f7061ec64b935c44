/* The leader's side of a partition (server/replication.h). Today only the
 * leader's own replica counts: the high watermark is what it holds. The
 * replication issue tracks its followers here. */
#include <stdlib.h>

#include "base/assert.h"
#include "server/replication.h"
#include "server/server.h"

struct partition_leader {
  int64_t high_watermark; /* only moves forward in an epoch */
};

void partition_leader_begin(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->leader == NULL && partition_is_leader(node, p));
  p->leader = calloc(1, sizeof *p->leader);
  ASSERT(p->leader != NULL);
  p->leader->high_watermark = 0;
}

void partition_leader_end(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->leader != NULL);
  free(p->leader);
  p->leader = NULL;
}

int64_t partition_leader_high_watermark(const struct partition *p) {
  ASSERT(p->leader != NULL);
  return partition_local_end(p);
}

const struct replica_progress *partition_leader_progress(const struct partition *p,
                                                         int32_t broker_id) {
  ASSERT(p->leader != NULL);
  (void)broker_id;
  return NULL;
}
