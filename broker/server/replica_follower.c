/* The follower's side of a partition (server/replication.h). Today nothing
 * fetches: a follower serves what it holds. The replication issue starts
 * its fetcher here. */
#include <stdlib.h>

#include "base/assert.h"
#include "server/replication.h"
#include "server/server.h"

struct replica_follower {
  int64_t leader_high_watermark; /* from the leader's last Fetch response */
};

void replica_follow_begin(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->follower == NULL && partition_hosted(p));
  p->follower = calloc(1, sizeof *p->follower);
  ASSERT(p->follower != NULL);
  p->follower->leader_high_watermark = -1;
}

void replica_follow_end(struct node *node, struct partition *p) {
  ASSERT(node != NULL && p->follower != NULL);
  free(p->follower);
  p->follower = NULL;
}

int64_t replica_follower_high_watermark(const struct partition *p) {
  ASSERT(p->follower != NULL);
  return partition_local_end(p);
}
