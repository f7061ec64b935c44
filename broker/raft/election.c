/* Role transitions (KIP-595 "Leader Election", KIP-996 "Pre-Vote").
 *
 *   unattached --election timeout--> prospective
 *   follower   --fetch timeout-----> prospective
 *   resigned   --election timeout--> prospective
 *   prospective --majority of pre-votes--> candidate (epoch + 1, votes itself)
 *   candidate  --majority of votes--> leader (LeaderChange record, BeginQuorumEpoch)
 *   candidate  --lost or timed out, then backoff--> prospective
 *   prospective --lost or timed out--> follower (if it knew the leader), else
 *                backoff, then a new round
 *   leader     --check-quorum fails or raft_resign--> resigned (EndQuorumEpoch)
 *   any        --higher epoch--> follower (leader known) or unattached
 *
 * Only a prospective becomes a candidate (KIP-996), and entering prospective
 * changes nothing durable: a node cut off from the quorum can time out as
 * often as it likes without raising the epoch. */
#include "base/assert.h"
#include "base/xoshiro.h"
#include "raft/internal.h"

int64_t raft_random_election_timeout_ms(struct raft *r) {
  int64_t t = r->cfg.election_timeout_ms;
  ASSERT(t > 0);
  /* KRaft: the timeout plus a uniform jitter of up to the timeout. */
  return t + (int64_t)(xoshiro256_next(r->rng) % (uint64_t)t);
}

/* After a lost election: 100 ms times a random integer below 2^retries,
 * capped at election.backoff.max.ms (KRaft's binary exponential backoff). */
int64_t raft_random_backoff_ms(struct raft *r) {
  ASSERT(r->cfg.election_backoff_max_ms >= 0);
  if (r->election_retries < 20) r->election_retries++;
  uint64_t slots = (uint64_t)1 << r->election_retries;
  int64_t backoff = 100 * (int64_t)(xoshiro256_next(r->rng) % slots);
  return backoff < r->cfg.election_backoff_max_ms ? backoff : r->cfg.election_backoff_max_ms;
}

bool raft_log_up_to_date(const struct raft *r, int32_t last_epoch, int64_t end_offset) {
  int32_t mine = rlog_last_epoch(r);
  return last_epoch > mine || (last_epoch == mine && end_offset >= r->end_offset);
}

/* Forgets what the old role kept (a leader's replica table and parked
 * fetches, a follower's fetch in flight, an election's tally). */
static void clear_role_state(struct raft *r) {
  r->replica_count = 0;
  r->want_fetch = r->fetch_inflight = false;
  r->fetch_correlation_id = -1;
  r->fetch_not_before_ms = 0;
  r->fetched_from_leader = false;
  r->snapshot_fetching = false;
  r->granted_mask = r->rejected_mask = 0;
  r->backing_off = false;
  r->timer_ms = -1;
}

static void set_state(struct raft *r, int32_t epoch, int32_t voted_id, int32_t leader_id) {
  ASSERT(epoch >= r->epoch);
  bool changed = epoch != r->epoch || voted_id != r->voted_id || leader_id != r->leader_id;
  r->epoch = epoch;
  r->voted_id = voted_id;
  r->leader_id = leader_id;
  if (changed) raft_state_changed(r);
}

void raft_become_unattached(struct raft *r, int32_t epoch, int32_t voted_id) {
  ASSERT(epoch >= r->epoch);
  ASSERT(r->voter || voted_id == RAFT_NO_NODE);
  clear_role_state(r);
  set_state(r, epoch, voted_id, RAFT_NO_NODE);
  if (!r->voter) {
    r->role = RAFT_OBSERVER; /* asks a random voter who leads */
    r->want_fetch = true;
    return;
  }
  r->role = RAFT_UNATTACHED;
  r->timer_ms = r->now_ms + raft_random_election_timeout_ms(r);
}

void raft_become_follower(struct raft *r, int32_t epoch, int32_t leader_id) {
  ASSERT(epoch >= r->epoch);
  ASSERT(leader_id != r->cfg.node_id && leader_id >= 0);
  int32_t voted = epoch == r->epoch ? r->voted_id : RAFT_NO_NODE;
  clear_role_state(r);
  set_state(r, epoch, voted, leader_id);
  r->role = r->voter ? RAFT_FOLLOWER : RAFT_OBSERVER;
  r->election_retries = 0;
  r->want_fetch = true;
  r->leader_contact_ms = r->now_ms;
  r->timer_ms = r->now_ms + r->cfg.fetch_timeout_ms; /* KIP-595 fetch timeout */
}

void raft_step_to_epoch(struct raft *r, int32_t epoch, int32_t leader_id) {
  ASSERT(epoch > r->epoch);
  if (leader_id >= 0 && leader_id != r->cfg.node_id)
    raft_become_follower(r, epoch, leader_id);
  else
    raft_become_unattached(r, epoch, RAFT_NO_NODE);
  ASSERT(r->epoch == epoch);
}

static uint32_t popcount(uint32_t x) {
  uint32_t n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

/* KIP-996: a prospective keeps its epoch and vote, and the leader it may
 * go back to following; nothing durable changes, so its pre-votes go out
 * without waiting for an fsync. A resigned leader forgets itself as leader
 * in memory only (a restart finds it resigned again). */
void raft_become_prospective(struct raft *r) {
  ASSERT(r->voter);
  ASSERT(r->role != RAFT_LEADER && r->role != RAFT_OBSERVER);
  uint64_t state_seq = r->state_seq;
  clear_role_state(r);
  if (r->leader_id == r->cfg.node_id) r->leader_id = RAFT_NO_NODE;
  r->role = RAFT_PROSPECTIVE;
  r->timer_ms = r->now_ms + raft_random_election_timeout_ms(r);
  ASSERT(r->state_seq == state_seq);
#ifdef SLUICE_MUTANT_PREVOTE_SKIPPED /* mutant: straight to candidate, pre-vote or not */
  if (true) {
#else
  if (!r->cfg.pre_vote) {
#endif
    raft_become_candidate(r);
    return;
  }
  raft_count_vote(r, r->cfg.node_id, true);
  if (r->role == RAFT_PROSPECTIVE) raft_send_vote_requests(r, true);
}

void raft_become_candidate(struct raft *r) {
  ASSERT(r->role == RAFT_PROSPECTIVE && r->voter);
  clear_role_state(r);
  set_state(r, r->epoch + 1, r->cfg.node_id, RAFT_NO_NODE);
  r->role = RAFT_CANDIDATE;
  r->timer_ms = r->now_ms + raft_random_election_timeout_ms(r);
  raft_count_vote(r, r->cfg.node_id, true);
  if (r->role == RAFT_CANDIDATE) raft_send_vote_requests(r, false);
}

static void init_replicas(struct raft *r) {
  r->replica_count = 0;
  for (uint32_t i = 0; i < r->cfg.voter_count; i++) {
    struct raft_replica *rep = &r->replicas[r->replica_count++];
    *rep = (struct raft_replica){.id = r->cfg.voters[i], .voter = true, .log_end_offset = -1};
    /* Check-quorum counts from now: every voter gets a full timeout. */
    rep->last_fetch_ms = r->now_ms;
    rep->high_watermark_sent = -1;
    rep->acked = rep->id == r->cfg.node_id;
  }
}

void raft_become_leader(struct raft *r) {
  ASSERT(r->role == RAFT_CANDIDATE && r->voted_id == r->cfg.node_id);
  ASSERT(r->end_offset - r->log_start_offset < RAFT_LOG_ENTRIES_MAX);
  clear_role_state(r);
  set_state(r, r->epoch, r->cfg.node_id, r->cfg.node_id);
  r->role = RAFT_LEADER;
  r->election_retries = 0;
  init_replicas(r);
  /* KRaft: the leader's first record in its epoch is a LeaderChange control
   * record; the high watermark may pass only once it is committed. */
  r->epoch_start_offset = r->end_offset;
  uint8_t id_be[4] = {(uint8_t)(r->cfg.node_id >> 24), (uint8_t)(r->cfg.node_id >> 16),
                      (uint8_t)(r->cfg.node_id >> 8), (uint8_t)r->cfg.node_id};
  rlog_append(r, r->epoch, RAFT_ENTRY_LEADER_CHANGE, id_be, sizeof id_be);
  for (uint32_t i = 0; i < r->replica_count; i++)
    if (r->replicas[i].id != r->cfg.node_id) raft_send_begin_quorum_epoch(r, &r->replicas[i]);
  raft_leader_update_high_watermark(r);
}

/* KIP-595: the successors a resigning leader prefers, most caught up first
 * (by the end offset of their last fetch, then by id). */
static uint32_t preferred_successors(const struct raft *r, int32_t *out) {
  const struct raft_replica *sorted[RAFT_VOTERS_MAX];
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->replica_count; i++) {
    const struct raft_replica *rep = &r->replicas[i];
    if (!rep->voter || rep->id == r->cfg.node_id) continue;
    uint32_t j = n++;
    for (; j > 0; j--) {
      const struct raft_replica *prev = sorted[j - 1];
      bool before = rep->log_end_offset > prev->log_end_offset ||
                    (rep->log_end_offset == prev->log_end_offset && rep->id < prev->id);
      if (!before) break;
      sorted[j] = prev;
    }
    sorted[j] = rep;
  }
  ASSERT(n < RAFT_VOTERS_MAX);
  for (uint32_t i = 0; i < n; i++) out[i] = sorted[i]->id;
  return n;
}

void raft_become_resigned(struct raft *r) {
  ASSERT(r->role == RAFT_LEADER);
  int32_t successors[RAFT_VOTERS_MAX];
  uint32_t n = preferred_successors(r, successors);
  clear_role_state(r);
  r->role = RAFT_RESIGNED;
  r->timer_ms = r->now_ms + raft_random_election_timeout_ms(r);
  raft_send_end_quorum_epoch(r, successors, n);
  ASSERT(r->leader_id == r->cfg.node_id);
}

/* Tallies a (pre-)vote by voter; a majority promotes, a lost majority backs
 * off (KIP-595: a candidate that lost waits a random backoff). */
void raft_count_vote(struct raft *r, int32_t from, bool granted) {
  ASSERT(r->role == RAFT_PROSPECTIVE || r->role == RAFT_CANDIDATE);
  int32_t idx = raft_voter_index(r, from);
  if (idx < 0 || r->backing_off) return;
  uint32_t bit = 1u << idx;
  if ((r->granted_mask | r->rejected_mask) & bit) return;
  if (granted)
    r->granted_mask |= bit;
  else
    r->rejected_mask |= bit;
  if (popcount(r->granted_mask) >= r->majority) {
    if (r->role == RAFT_PROSPECTIVE)
      raft_become_candidate(r);
    else
      raft_become_leader(r);
  } else if (popcount(r->rejected_mask) > r->cfg.voter_count - r->majority) {
    raft_election_lost(r);
  }
}

/* A lost or timed-out election (KIP-996): a prospective that knows the
 * leader it timed out on goes back to fetching from it; otherwise the node
 * waits a random backoff before the next pre-vote round. */
void raft_election_lost(struct raft *r) {
  ASSERT(r->role == RAFT_PROSPECTIVE || r->role == RAFT_CANDIDATE);
  ASSERT(!r->backing_off);
  if (r->role == RAFT_PROSPECTIVE && r->leader_id != RAFT_NO_NODE) {
    raft_become_follower(r, r->epoch, r->leader_id);
    return;
  }
  r->backing_off = true;
  r->timer_ms = r->now_ms + raft_random_backoff_ms(r);
}
