/* Raft's safety invariants, checked at the end of every input (TigerBeetle
 * style: a broken invariant stops the node before it can send or persist
 * anything built on it). */
#include "base/assert.h"
#include "raft/internal.h"

static void check_log(const struct raft *r) {
  ASSERT(r->log_start_offset >= 0 && r->log_start_offset <= r->end_offset);
  ASSERT(r->end_offset - r->log_start_offset <= RAFT_LOG_ENTRIES_MAX);
  ASSERT(r->durable_end <= r->written_end && r->written_end <= r->end_offset);
  ASSERT(r->high_watermark >= r->log_start_offset && r->high_watermark <= r->end_offset);
  ASSERT(r->pending_truncate < 0 || r->pending_truncate <= r->written_end);
  /* Epochs in the log never decrease and never exceed the node's. */
  int32_t prev = r->log_start_offset > 0 ? r->snapshot.epoch : 0;
  /* Walks the ring itself (raft_entry_at's slots, in order) rather than
   * dividing per entry: this runs after every step. */
  const struct raft_entry *ring = r->grown != NULL ? r->grown : r->entries;
  uint32_t cap = raft_log_capacity(r);
  uint32_t at = (uint32_t)(r->log_start_offset % cap);
  for (int64_t o = r->log_start_offset; o < r->end_offset; o++) {
    int32_t e = ring[at].epoch;
    ASSERT(e >= prev);
    prev = e;
    at = at + 1 == cap ? 0 : at + 1;
  }
  ASSERT(prev <= r->epoch);
}

static void check_role(const struct raft *r) {
  int32_t self = r->cfg.node_id;
  ASSERT(r->voter == (r->role != RAFT_OBSERVER));
  switch (r->role) {
  case RAFT_LEADER:
    ASSERT(r->leader_id == self && r->voted_id == self);
    /* The epoch's LeaderChange record is in the log (or in a snapshot). */
    ASSERT(r->epoch_start_offset < r->end_offset);
    if (r->epoch_start_offset >= r->log_start_offset)
      ASSERT(raft_entry_at(r, r->epoch_start_offset)->epoch == r->epoch);
    break;
  case RAFT_CANDIDATE:
    ASSERT(r->voted_id == self && r->leader_id == RAFT_NO_NODE);
    break;
  case RAFT_FOLLOWER:
    ASSERT(r->leader_id >= 0 && r->leader_id != self);
    break;
  case RAFT_UNATTACHED:
    ASSERT(r->leader_id == RAFT_NO_NODE);
    break;
  case RAFT_PROSPECTIVE:
    ASSERT(r->leader_id != self);
    break;
  case RAFT_RESIGNED:
    ASSERT(r->leader_id == self);
    break;
  case RAFT_OBSERVER:
    ASSERT(r->voted_id == RAFT_NO_NODE && r->leader_id != self);
    break;
  default:
    UNREACHABLE();
  }
}

static void check_durability(const struct raft *r) {
  const struct raft_quorum_state *d = &r->durable_state;
  ASSERT(r->durable_state_seq <= r->handed_state_seq && r->handed_state_seq <= r->state_seq);
  ASSERT(d->leader_epoch <= r->epoch);
  /* One vote per epoch: a durable vote is never changed in its epoch. */
  if (d->leader_epoch == r->epoch && d->voted_id != RAFT_NO_NODE)
    ASSERT(r->voted_id == d->voted_id);
  uint64_t prev = 0;
  for (uint32_t i = 0; i < r->outbox_count; i++) {
    ASSERT(r->outbox[i].state_seq >= prev && r->outbox[i].state_seq <= r->state_seq);
    prev = r->outbox[i].state_seq;
  }
}

void raft_check_invariants(struct raft *r) {
  ASSERT(r->started);
  ASSERT(r->epoch >= r->checked_epoch);                   /* epochs never go back */
  ASSERT(r->high_watermark >= r->checked_high_watermark); /* nor does the HW */
  check_log(r);
  check_role(r);
  check_durability(r);
  /* A leader never truncates its own log within its epoch. */
  if (r->role == RAFT_LEADER && r->checked_leader_epoch == r->epoch)
    ASSERT(r->end_offset >= r->checked_leader_end);
  if (r->role == RAFT_LEADER) {
    r->checked_leader_epoch = r->epoch;
    r->checked_leader_end = r->end_offset;
  }
  r->checked_epoch = r->epoch;
  r->checked_high_watermark = r->high_watermark;
}
