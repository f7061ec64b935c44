/* Time (the core never reads a clock: raft_tick says what time it is). The
 * timers: a voter's election timeout and backoff, a follower's fetch timeout
 * (KIP-595: no successful fetch within controller.quorum.fetch.timeout.ms
 * means the leader is gone) and request timeout, and the leader's
 * check-quorum, parked fetches and BeginQuorumEpoch resends. */
#include "base/assert.h"
#include "raft/internal.h"

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* KIP-595 check-quorum: the leader resigns if fewer than a majority of
 * voters (itself included) fetched within the fetch timeout. The deadline is
 * the (majority-1)-th most recent fetch of the others plus the timeout. */
int64_t raft_check_quorum_deadline_ms(const struct raft *r) {
  ASSERT(r->role == RAFT_LEADER);
#ifdef SLUICE_MUTANT_CHECK_QUORUM_SKIPPED /* mutant: no deadline, as for a single voter */
  return INT64_MAX;
#endif
  if (r->majority == 1) return INT64_MAX;
  int64_t last[RAFT_VOTERS_MAX];
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->replica_count; i++) {
    const struct raft_replica *rep = &r->replicas[i];
    if (!rep->voter || rep->id == r->cfg.node_id) continue;
    uint32_t j = n++;
    for (; j > 0 && last[j - 1] < rep->last_fetch_ms; j--) last[j] = last[j - 1];
    last[j] = rep->last_fetch_ms;
  }
  ASSERT(n + 1 == r->cfg.voter_count && n >= r->majority - 1);
  return last[r->majority - 2] + r->cfg.fetch_timeout_ms;
}

static int64_t leader_deadline_ms(const struct raft *r) {
  int64_t d = raft_check_quorum_deadline_ms(r);
  for (uint32_t i = 0; i < r->replica_count; i++) {
    const struct raft_replica *rep = &r->replicas[i];
    if (rep->parked) d = min64(d, rep->parked_deadline_ms);
    if (rep->voter && !rep->acked) d = min64(d, rep->begin_sent_ms + r->cfg.request_timeout_ms);
  }
  return d;
}

int64_t raft_deadline_ms(const struct raft *r) {
  ASSERT(r->started);
  int64_t d = INT64_MAX;
  if (r->timer_ms >= 0) d = r->timer_ms;
  if (r->fetch_inflight) d = min64(d, r->fetch_sent_ms + r->cfg.request_timeout_ms);
  if (r->want_fetch && !r->fetch_inflight && r->fetch_not_before_ms > r->now_ms)
    d = min64(d, r->fetch_not_before_ms);
  if (r->role == RAFT_LEADER) d = min64(d, leader_deadline_ms(r));
  return d;
}

static void tick_leader(struct raft *r) {
  ASSERT(r->role == RAFT_LEADER);
  if (r->now_ms >= raft_check_quorum_deadline_ms(r)) {
    raft_become_resigned(r);
    return;
  }
  for (uint32_t i = 0; i < r->replica_count; i++) {
    struct raft_replica *rep = &r->replicas[i];
    if (rep->voter && !rep->acked &&
        r->now_ms >= rep->begin_sent_ms + r->cfg.request_timeout_ms)
      raft_send_begin_quorum_epoch(r, rep);
  }
  raft_leader_wake_parked(r);
  ASSERT(raft_check_quorum_deadline_ms(r) > r->now_ms);
}

static void tick_follower(struct raft *r) {
  ASSERT(r->role == RAFT_FOLLOWER || r->role == RAFT_OBSERVER);
  if (r->fetch_inflight && r->now_ms >= r->fetch_sent_ms + r->cfg.request_timeout_ms) {
    r->fetch_inflight = false; /* no answer: ask again */
    r->fetch_correlation_id = -1;
    r->want_fetch = true;
  }
  if (r->timer_ms < 0 || r->now_ms < r->timer_ms) return;
  if (r->voter)
    raft_become_prospective(r);
  else
    raft_become_unattached(r, r->epoch, RAFT_NO_NODE); /* find the leader again */
}

/* Unattached, prospective, candidate, resigned: the election timer. An
 * election that times out is lost (a backoff, or back to following); a
 * backoff that ends, or an election timeout elsewhere, starts a pre-vote
 * round. A zero backoff runs at once. */
static void tick_election(struct raft *r) {
  ASSERT(r->voter && r->role != RAFT_LEADER && r->role != RAFT_FOLLOWER);
  for (int rounds = 0; rounds < 2; rounds++) {
    if (r->timer_ms < 0 || r->now_ms < r->timer_ms) return;
    bool electing = r->role == RAFT_PROSPECTIVE || r->role == RAFT_CANDIDATE;
    if (electing && !r->backing_off)
      raft_election_lost(r);
    else
      raft_become_prospective(r);
    if (r->role == RAFT_FOLLOWER) return;
  }
}

void raft_tick(struct raft *r, int64_t now_ms) {
  ASSERT(r->started);
  ASSERT(now_ms >= r->now_ms);
  r->now_ms = now_ms;
  switch (r->role) {
  case RAFT_LEADER:
    tick_leader(r);
    break;
  case RAFT_FOLLOWER:
  case RAFT_OBSERVER:
    tick_follower(r);
    break;
  default:
    tick_election(r);
    break;
  }
  raft_maybe_fetch(r);
  ASSERT(raft_deadline_ms(r) > now_ms);
  raft_check_invariants(r);
}
