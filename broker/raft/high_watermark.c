/* The high watermark (KIP-595 "Fetch": the leader's high watermark). The
 * leader takes the largest offset that a majority of voters hold, counting
 * its own durable end offset and each follower's last validated fetch
 * offset (which the follower sends only once it is durable), and moves its
 * high watermark there only if that offset is past the start of its own
 * epoch: the LeaderChange record it appended first must be committed. That
 * is Raft's rule that a leader commits entries of older terms only by
 * committing one of its own (the Raft paper's figure 8). It never goes
 * back; a follower takes the leader's, capped at its own end offset. */
#include "base/assert.h"
#include "raft/internal.h"

static int64_t voter_end_offset(struct raft *r, int32_t id) {
  if (id == r->cfg.node_id) return r->durable_end;
  const struct raft_replica *rep = raft_replica_find(r, id);
  ASSERT(rep != NULL && rep->voter);
  return rep->log_end_offset;
}

void raft_leader_update_high_watermark(struct raft *r) {
  ASSERT(r->role == RAFT_LEADER);
  int64_t ends[RAFT_VOTERS_MAX];
  uint32_t n = r->cfg.voter_count;
  for (uint32_t i = 0; i < n; i++) {
    int64_t e = voter_end_offset(r, r->cfg.voters[i]);
    uint32_t j = i;
    for (; j > 0 && ends[j - 1] < e; j--) ends[j] = ends[j - 1]; /* descending */
    ends[j] = e;
  }
#ifdef SLUICE_MUTANT_HW_WITHOUT_MAJORITY /* mutant: the highest end, not a majority's */
  int64_t majority_end = ends[0];
#else
  int64_t majority_end = ends[r->majority - 1];
#endif
  ASSERT(majority_end <= r->end_offset);
  if (majority_end <= r->epoch_start_offset || majority_end <= r->high_watermark) return;
  r->high_watermark = majority_end;
  raft_leader_wake_parked(r); /* followers learn it without waiting */
}

void raft_follower_update_high_watermark(struct raft *r, int64_t leader_high_watermark) {
  ASSERT(r->role == RAFT_FOLLOWER || r->role == RAFT_OBSERVER);
  int64_t hw = leader_high_watermark < r->end_offset ? leader_high_watermark : r->end_offset;
  if (hw > r->high_watermark) r->high_watermark = hw;
  ASSERT(r->high_watermark <= r->end_offset);
}
