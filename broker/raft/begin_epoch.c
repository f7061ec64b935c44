/* BeginQuorumEpoch (KIP-595): a new leader tells every voter it won the
 * epoch, so they start fetching without waiting for a fetch timeout. The
 * leader resends it every request timeout to the voters that have neither
 * answered it nor fetched in the epoch. */
#include "base/assert.h"
#include "proto/errors.h"
#include "raft/internal.h"

void raft_send_begin_quorum_epoch(struct raft *r, struct raft_replica *rep) {
  ASSERT(r->role == RAFT_LEADER);
  ASSERT(rep->voter && rep->id != r->cfg.node_id);
  struct raft_msg *m = raft_msg_new(r, RAFT_BEGIN_QUORUM_EPOCH, rep->id);
  rep->begin_sent_ms = r->now_ms;
  if (m == NULL) return;
  m->begin_quorum_epoch = (struct raft_begin_quorum_epoch_request){.leader_id = r->cfg.node_id,
                                                                   .leader_epoch = r->epoch};
}

void raft_on_begin_quorum_epoch(struct raft *r, const struct raft_msg *m) {
  const struct raft_begin_quorum_epoch_request *b = &m->begin_quorum_epoch;
  ASSERT(m->kind == RAFT_BEGIN_QUORUM_EPOCH && b->leader_epoch == r->epoch);
  int16_t error = KERR_NONE;
  if (b->leader_id != m->from || b->leader_id < 0) {
    error = KERR_INCONSISTENT_VOTER_SET;
  } else if (r->role == RAFT_LEADER || r->role == RAFT_RESIGNED) {
    /* Two leaders in one epoch cannot happen (one vote per voter per
     * epoch); a peer claiming it is refused, not believed. */
    error = KERR_FENCED_LEADER_EPOCH;
  } else if (r->leader_id != b->leader_id ||
             (r->role != RAFT_FOLLOWER && r->role != RAFT_OBSERVER)) {
    raft_become_follower(r, r->epoch, b->leader_id);
  }
  struct raft_msg *resp = raft_msg_new(r, RAFT_BEGIN_QUORUM_EPOCH_RESPONSE, m->from);
  if (resp == NULL) return;
  raft_reply(r, m, resp);
  resp->error_code = error;
  resp->quorum_epoch_response = (struct raft_quorum_epoch_response){
      .leader_id = raft_known_leader(r), .leader_epoch = r->epoch};
}

void raft_on_begin_quorum_epoch_response(struct raft *r, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_BEGIN_QUORUM_EPOCH_RESPONSE);
  ASSERT(m->quorum_epoch_response.leader_epoch == r->epoch);
  if (r->role != RAFT_LEADER || m->error_code != KERR_NONE) return;
  struct raft_replica *rep = raft_replica_find(r, m->from);
  if (rep != NULL && rep->voter) rep->acked = true;
}
