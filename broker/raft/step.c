/* A message from a peer. First the epoch (KIP-595): a message from a higher
 * epoch moves this node to that epoch (following the leader it names, else
 * unattached) before it is handled; a request from a lower epoch is
 * answered with FENCED_LEADER_EPOCH and this node's epoch and leader, so the
 * sender catches up; a response from a lower epoch is stale and dropped. */
#include "base/assert.h"
#include "proto/errors.h"
#include "raft/internal.h"

/* The leader a message names for its epoch, if any. */
static int32_t leader_hint(const struct raft_msg *m) {
  switch (m->kind) {
  case RAFT_VOTE_RESPONSE:
    return m->vote_response.leader_id;
  case RAFT_BEGIN_QUORUM_EPOCH:
    return m->begin_quorum_epoch.leader_id;
  case RAFT_END_QUORUM_EPOCH:
    return m->end_quorum_epoch.leader_id;
  case RAFT_BEGIN_QUORUM_EPOCH_RESPONSE:
  case RAFT_END_QUORUM_EPOCH_RESPONSE:
    return m->quorum_epoch_response.leader_id;
  case RAFT_FETCH_RESPONSE:
    return m->fetch_response.current_leader.leader_id;
  case RAFT_FETCH_SNAPSHOT_RESPONSE:
    return m->fetch_snapshot_response.current_leader.leader_id;
  default:
    return RAFT_NO_NODE;
  }
}

static void fence(struct raft *r, const struct raft_msg *m) {
  ASSERT(raft_msg_is_request(m) && raft_msg_epoch(m) < r->epoch);
  static const enum raft_msg_kind response_of[RAFT_MSG_KINDS] = {
      [RAFT_VOTE] = RAFT_VOTE_RESPONSE,
      [RAFT_BEGIN_QUORUM_EPOCH] = RAFT_BEGIN_QUORUM_EPOCH_RESPONSE,
      [RAFT_END_QUORUM_EPOCH] = RAFT_END_QUORUM_EPOCH_RESPONSE,
      [RAFT_FETCH] = RAFT_FETCH_RESPONSE,
      [RAFT_FETCH_SNAPSHOT] = RAFT_FETCH_SNAPSHOT_RESPONSE};
  struct raft_msg *resp = raft_msg_new(r, response_of[m->kind], m->from);
  if (resp == NULL) return;
  raft_reply(r, m, resp);
  resp->error_code = KERR_FENCED_LEADER_EPOCH;
  struct raft_leader_and_epoch current = {raft_known_leader(r), r->epoch};
  switch (resp->kind) {
  case RAFT_VOTE_RESPONSE:
    resp->vote_response = (struct raft_vote_response){raft_known_leader(r), r->epoch, false};
    break;
  case RAFT_FETCH_RESPONSE:
    resp->fetch_response.current_leader = current;
    resp->fetch_response.high_watermark = resp->fetch_response.log_start_offset = -1;
    resp->fetch_response.diverging_epoch = (struct raft_epoch_end_offset){-1, -1};
    resp->fetch_response.snapshot_id = (struct raft_snapshot_id){-1, -1};
    break;
  case RAFT_FETCH_SNAPSHOT_RESPONSE:
    resp->fetch_snapshot_response.current_leader = current;
    break;
  default:
    resp->quorum_epoch_response =
        (struct raft_quorum_epoch_response){raft_known_leader(r), r->epoch};
  }
}

static void dispatch(struct raft *r, const struct raft_msg *m) {
  switch (m->kind) {
  case RAFT_VOTE:
    raft_on_vote(r, m);
    break;
  case RAFT_VOTE_RESPONSE:
    raft_on_vote_response(r, m);
    break;
  case RAFT_BEGIN_QUORUM_EPOCH:
    raft_on_begin_quorum_epoch(r, m);
    break;
  case RAFT_BEGIN_QUORUM_EPOCH_RESPONSE:
    raft_on_begin_quorum_epoch_response(r, m);
    break;
  case RAFT_END_QUORUM_EPOCH:
    raft_on_end_quorum_epoch(r, m);
    break;
  case RAFT_END_QUORUM_EPOCH_RESPONSE:
    raft_on_end_quorum_epoch_response(r, m);
    break;
  case RAFT_FETCH:
    raft_on_fetch(r, m);
    break;
  case RAFT_FETCH_RESPONSE:
    raft_on_fetch_response(r, m);
    break;
  case RAFT_FETCH_SNAPSHOT:
    raft_on_fetch_snapshot(r, m);
    break;
  case RAFT_FETCH_SNAPSHOT_RESPONSE:
    raft_on_fetch_snapshot_response(r, m);
    break;
  default:
    UNREACHABLE();
  }
}

/* Raft §5.2: only granting a vote or hearing from a leader restarts the
 * election timeout. A Vote of a higher epoch that this voter refuses (the
 * candidate's log is behind) moves it to that epoch but keeps the deadline
 * it had, so a candidate that cannot win cannot keep the others from
 * campaigning by raising the epoch every backoff (without pre-vote it
 * would: each new epoch drew a fresh timeout that outlasted its next try). */
static void keep_deadline(struct raft *r, const struct raft_msg *m, int64_t deadline_ms) {
  if (m->kind != RAFT_VOTE || deadline_ms < 0 || r->role != RAFT_UNATTACHED) return;
  if (r->voted_id != RAFT_NO_NODE || deadline_ms >= r->timer_ms) return;
  r->timer_ms = deadline_ms;
}

void raft_step(struct raft *r, const struct raft_msg *m) {
  ASSERT(r->started);
  ASSERT(m->to == r->cfg.node_id && m->from != r->cfg.node_id && m->from >= 0);
  ASSERT(m->kind < RAFT_MSG_KINDS);
  int32_t epoch = raft_msg_epoch(m);
  int64_t deadline_ms = r->voter && r->role != RAFT_LEADER ? r->timer_ms : -1;
  bool moved = epoch > r->epoch;
  if (moved) raft_step_to_epoch(r, epoch, leader_hint(m));
  if (epoch < r->epoch) {
    if (raft_msg_is_request(m)) fence(r, m);
  } else {
    dispatch(r, m);
  }
  if (moved) keep_deadline(r, m, deadline_ms);
  raft_maybe_fetch(r);
  raft_check_invariants(r);
}
