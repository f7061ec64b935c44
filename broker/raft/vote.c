/* The Vote RPC (KIP-595 "Vote", KIP-996 "Pre-Vote"). A voter grants at most
 * one standard vote per epoch, only to a candidate whose log is at least as
 * up to date as its own (last epoch, then end offset), and only once that
 * vote is in the durable quorum state (ready.c holds the response until
 * then). A pre-vote changes nothing: it is granted if the log is up to date
 * and the voter has not heard from a leader within the fetch timeout. */
#include "base/assert.h"
#include "proto/errors.h"
#include "raft/internal.h"

void raft_send_vote_requests(struct raft *r, bool pre_vote) {
  ASSERT(r->role == (pre_vote ? RAFT_PROSPECTIVE : RAFT_CANDIDATE));
  ASSERT(pre_vote || r->voted_id == r->cfg.node_id);
  for (uint32_t i = 0; i < r->cfg.voter_count; i++) {
    int32_t to = r->cfg.voters[i];
    if (to == r->cfg.node_id) continue;
    struct raft_msg *m = raft_msg_new(r, RAFT_VOTE, to);
    if (m == NULL) return;
    m->vote = (struct raft_vote_request){.candidate_epoch = r->epoch,
                                         .candidate_id = r->cfg.node_id,
                                         .last_offset_epoch = rlog_last_epoch(r),
                                         .last_offset = r->end_offset,
                                         .pre_vote = pre_vote};
  }
}

/* KIP-996: a follower that fetched from its leader within the fetch timeout
 * believes the leader is alive (fetched at least once since it began to
 * follow, so two followers cannot keep each other from electing). */
static bool leader_alive(const struct raft *r) {
  if (r->role == RAFT_LEADER) return true;
  return r->role == RAFT_FOLLOWER && r->fetched_from_leader &&
         r->now_ms - r->leader_contact_ms < r->cfg.fetch_timeout_ms;
}

static bool grant_pre_vote(const struct raft *r, const struct raft_vote_request *v) {
  return !leader_alive(r) && raft_log_up_to_date(r, v->last_offset_epoch, v->last_offset);
}

/* The epoch's one vote: unattached (or prospective) with no leader, not yet
 * voted for anyone else, and the candidate's log is up to date. */
static bool grant_vote(struct raft *r, const struct raft_vote_request *v) {
  if (r->role != RAFT_UNATTACHED && r->role != RAFT_PROSPECTIVE) return false;
  if (r->leader_id != RAFT_NO_NODE) return false;
  if (r->voted_id != RAFT_NO_NODE && r->voted_id != v->candidate_id) return false;
  if (!raft_log_up_to_date(r, v->last_offset_epoch, v->last_offset)) return false;
    /* Record the vote (durable before the response leaves) and give the
     * candidate an election timeout to win. */
#ifdef SLUICE_MUTANT_VOTE_NOT_PERSISTED /* mutant: the vote is set in memory only */
  r->voted_id = v->candidate_id;
  r->timer_ms = r->now_ms + raft_random_election_timeout_ms(r);
#else
  raft_become_unattached(r, r->epoch, v->candidate_id);
#endif
  ASSERT(r->voted_id == v->candidate_id);
  return true;
}

void raft_on_vote(struct raft *r, const struct raft_msg *m) {
  const struct raft_vote_request *v = &m->vote;
  ASSERT(m->kind == RAFT_VOTE && v->candidate_epoch == r->epoch);
  int16_t error = KERR_NONE;
  bool granted = false;
  if (!r->voter || raft_voter_index(r, v->candidate_id) < 0 || v->candidate_id != m->from)
    error = KERR_INCONSISTENT_VOTER_SET;
  else if (v->pre_vote)
    granted = grant_pre_vote(r, v);
  else
    granted = grant_vote(r, v);
  struct raft_msg *resp = raft_msg_new(r, RAFT_VOTE_RESPONSE, m->from);
  if (resp == NULL) return;
  raft_reply(r, m, resp);
  resp->error_code = error;
  resp->vote_response = (struct raft_vote_response){
      .leader_id = raft_known_leader(r), .leader_epoch = r->epoch, .vote_granted = granted};
  if (granted && !v->pre_vote) raft_msg_mark_vote_granted(r, resp);
}

void raft_on_vote_response(struct raft *r, const struct raft_msg *m) {
  const struct raft_vote_response *v = &m->vote_response;
  ASSERT(m->kind == RAFT_VOTE_RESPONSE && v->leader_epoch == r->epoch);
  if (r->role != RAFT_PROSPECTIVE && r->role != RAFT_CANDIDATE) return;
  if (m->error_code != KERR_NONE) return;
  /* KIP-996: a prospective told of a leader it did not know follows it. One
   * it knew (the leader it timed out on) is no news: the vote counts as a
   * rejection, and losing sends it back to fetching from that leader. */
  if (r->role == RAFT_PROSPECTIVE && !v->vote_granted && v->leader_id >= 0 &&
      v->leader_id != r->cfg.node_id && r->leader_id == RAFT_NO_NODE) {
    raft_become_follower(r, r->epoch, v->leader_id);
    return;
  }
  raft_count_vote(r, m->from, v->vote_granted);
}
