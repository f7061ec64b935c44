/* The ISR's changes, proposed by the leader to the controller with
 * AlterPartition (server/replication.h). Today the ISR is what the
 * controller placed; the replication issue changes it here. */
#include "base/assert.h"
#include "server/replication.h"
#include "server/server.h"

void partition_isr_follower_progressed(struct node *node, struct partition *p,
                                       const struct replica_progress *rp) {
  ASSERT(node != NULL && p->leader != NULL && rp != NULL);
}

void partition_isr_check(struct node *node, struct partition *p, int64_t now_ms) {
  ASSERT(node != NULL && p->leader != NULL && now_ms >= 0);
}
