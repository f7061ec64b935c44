/* Role changes of a partition: a publish gave it a new leader or a new
 * leader epoch (topics.c calls this after the partition's fields follow
 * the image). The replication issue hangs the leader's follower tracking
 * and the follower's fetcher here; today every hosted partition is served
 * by its leader alone, so a change is only noted. */
#include "base/assert.h"
#include "server/server.h"

void partition_role_changed(struct node *node, struct partition *p, int32_t old_leader_id,
                            int32_t old_leader_epoch) {
  ASSERT(node != NULL && p != NULL && p->topic != NULL);
  ASSERT(p->leader_id != old_leader_id || p->leader_epoch != old_leader_epoch);
  if (!partition_hosted(p)) return;
  env_log(node->env, ENV_LOG_DEBUG, "%s-%d: leader %d in epoch %d (was %d in epoch %d)",
          p->topic->name, p->index, p->leader_id, p->leader_epoch, old_leader_id,
          old_leader_epoch);
}
