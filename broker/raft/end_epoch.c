/* EndQuorumEpoch (KIP-595): a leader that gives up its epoch (graceful
 * shutdown, or check-quorum) tells the voters, with its preferred successors
 * sorted by how caught up they were, so the election starts at once instead
 * of after a fetch timeout: the first successor campaigns immediately, the
 * others after a strictly growing backoff, the rest after an election
 * timeout. */
#include "base/assert.h"
#include "proto/errors.h"
#include "raft/internal.h"

void raft_resign(struct raft *r) {
  ASSERT(r->started);
  if (r->role != RAFT_LEADER) return;
  raft_become_resigned(r);
  ASSERT(r->role == RAFT_RESIGNED);
  raft_check_invariants(r);
}

void raft_send_end_quorum_epoch(struct raft *r, const int32_t *successors, uint32_t count) {
  ASSERT(r->role == RAFT_RESIGNED && r->leader_id == r->cfg.node_id);
  ASSERT(count < RAFT_VOTERS_MAX);
  for (uint32_t i = 0; i < r->cfg.voter_count; i++) {
    int32_t to = r->cfg.voters[i];
    if (to == r->cfg.node_id) continue;
    struct raft_msg *m = raft_msg_new(r, RAFT_END_QUORUM_EPOCH, to);
    if (m == NULL) return;
    struct raft_end_quorum_epoch_request *e = &m->end_quorum_epoch;
    e->leader_id = r->cfg.node_id;
    e->leader_epoch = r->epoch;
    e->preferred_successor_count = count;
    for (uint32_t j = 0; j < count; j++) e->preferred_successors[j] = successors[j];
  }
}

/* KRaft's strict exponential backoff by position in the successor list:
 * the first goes at once, the last after election.backoff.max.ms. */
static int64_t successor_backoff_ms(const struct raft *r, uint32_t position, uint32_t count) {
  ASSERT(position < count && count <= RAFT_VOTERS_MAX);
  if (position == 0) return 0;
  return r->cfg.election_backoff_max_ms >> (count - 1 - position);
}

void raft_on_end_quorum_epoch(struct raft *r, const struct raft_msg *m) {
  const struct raft_end_quorum_epoch_request *e = &m->end_quorum_epoch;
  ASSERT(m->kind == RAFT_END_QUORUM_EPOCH && e->leader_epoch == r->epoch);
  if (r->role == RAFT_FOLLOWER && r->leader_id == e->leader_id) {
    uint32_t count = e->preferred_successor_count < RAFT_VOTERS_MAX
                         ? e->preferred_successor_count
                         : RAFT_VOTERS_MAX - 1;
    int64_t delay_ms = raft_random_election_timeout_ms(r);
    for (uint32_t i = 0; i < count; i++)
      if (e->preferred_successors[i] == r->cfg.node_id)
        delay_ms = successor_backoff_ms(r, i, count);
    /* The leader is gone: stop fetching, grant pre-votes, and campaign
     * when the shortened fetch timeout fires. */
    r->want_fetch = r->fetch_inflight = false;
    r->fetch_correlation_id = -1;
    r->fetched_from_leader = false;
    r->timer_ms = r->now_ms + delay_ms;
  }
  struct raft_msg *resp = raft_msg_new(r, RAFT_END_QUORUM_EPOCH_RESPONSE, m->from);
  if (resp == NULL) return;
  raft_reply(r, m, resp);
  resp->error_code = KERR_NONE;
  resp->quorum_epoch_response = (struct raft_quorum_epoch_response){
      .leader_id = raft_known_leader(r), .leader_epoch = r->epoch};
}

void raft_on_end_quorum_epoch_response(struct raft *r, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_END_QUORUM_EPOCH_RESPONSE);
  ASSERT(m->quorum_epoch_response.leader_epoch == r->epoch);
  /* Nothing to do: the resigned leader waits for the election either way. */
}
