/* The outputs. KIP-595 keeps the quorum state (epoch, vote, leader) in the
 * quorum-state file and requires it to be durable before the node acts on
 * it: a vote granted, a candidacy or a leadership that a crash could forget
 * would let one node vote twice in an epoch. So every message is tagged with
 * the quorum state it was produced under and released by raft_ready only
 * once raft_persisted confirmed that state: a crash before the fsync loses
 * the message with the vote. One persist is handed out at a time, so an
 * acknowledgement names exactly what became durable. */
#include <string.h>

#include "base/assert.h"
#include "raft/internal.h"

int32_t raft_voter_index(const struct raft *r, int32_t id) {
  for (uint32_t i = 0; i < r->cfg.voter_count; i++)
    if (r->cfg.voters[i] == id) return (int32_t)i;
  return -1;
}

/* The leader this node names in its answers: a resigned leader names none
 * (it will not lead again in its epoch). */
int32_t raft_known_leader(const struct raft *r) {
  ASSERT(r->started);
  return r->role == RAFT_RESIGNED ? RAFT_NO_NODE : r->leader_id;
}

void raft_state_changed(struct raft *r) {
  ASSERT(r->epoch >= r->durable_state.leader_epoch);
  r->state_seq++;
}

/* A message to send once the current quorum state is durable. The outbox is
 * bounded: past it a message is dropped (the protocol retries by timers). */
struct raft_msg *raft_msg_new(struct raft *r, enum raft_msg_kind kind, int32_t to) {
  ASSERT(to != r->cfg.node_id && to >= 0);
  ASSERT(kind < RAFT_MSG_KINDS);
  if (r->outbox_count == RAFT_OUTBOX_MAX) {
    r->msgs_dropped++;
    return NULL;
  }
  struct raft_held_msg *h = &r->outbox[r->outbox_count++];
  memset(h, 0, sizeof *h);
  h->state_seq = r->state_seq;
  h->msg.kind = kind;
  h->msg.from = r->cfg.node_id;
  h->msg.to = to;
  if (raft_msg_is_request(&h->msg)) h->msg.correlation_id = r->next_correlation_id++;
  return &h->msg;
}

/* Marks a queued VoteResponse as a granted standard vote: raft_ready checks
 * that the vote is durable when it releases it. */
void raft_msg_mark_vote_granted(struct raft *r, struct raft_msg *m) {
  ASSERT(r->outbox_count > 0 && m == &r->outbox[r->outbox_count - 1].msg);
  ASSERT(m->kind == RAFT_VOTE_RESPONSE && m->vote_response.vote_granted);
  r->outbox[r->outbox_count - 1].standard_vote_granted = true;
}

/* Fills a response to req that raft_msg_new already queued. */
void raft_reply(struct raft *r, const struct raft_msg *req, struct raft_msg *resp) {
  ASSERT(raft_msg_is_request(req) && !raft_msg_is_request(resp));
  ASSERT(resp->to == req->from && req->to == r->cfg.node_id);
  resp->correlation_id = req->correlation_id;
}

static bool has_persist(const struct raft *r) {
  return r->state_seq > r->handed_state_seq || r->pending_truncate >= 0 ||
         r->written_end < r->end_offset || r->install_pending;
}

bool raft_has_ready(const struct raft *r) {
  ASSERT(r->started);
  if (!r->persist_inflight && has_persist(r)) return true;
  if (r->outbox_count > 0 && r->outbox[0].state_seq <= r->durable_state_seq) return true;
  return r->role != r->reported_role || r->epoch != r->reported_epoch ||
         r->leader_id != r->reported_leader ||
         r->high_watermark != r->reported_high_watermark || r->chunk_ready;
}

static void take_persist(struct raft *r, struct raft_persist *p) {
  ASSERT(!r->persist_inflight);
  memset(p, 0, sizeof *p);
  p->seq = ++r->persist_seq;
  if (r->state_seq > r->handed_state_seq) {
    p->has_state = true;
    p->state = (struct raft_quorum_state){r->epoch, r->voted_id, r->leader_id};
  }
  p->has_snapshot = r->install_pending;
  p->snapshot = r->snapshot;
  p->truncate_to = r->pending_truncate;
  p->append_start = r->written_end;
  p->append_end = r->end_offset;
  r->inflight_state_seq = r->state_seq;
  r->handed_state_seq = r->state_seq;
  r->install_inflight = r->install_pending;
  r->install_pending = false;
  r->pending_truncate = -1;
  r->written_end = r->end_offset;
  r->persist_inflight = true;
  r->inflight = *p;
}

/* Checks, as the message leaves, the rule it was held for: the durable
 * quorum state is the one it was produced under, or a later one (a state
 * can be superseded before it is written; a later epoch, or the same epoch
 * with the same vote, never contradicts it). */
static void check_released(const struct raft *r, const struct raft_held_msg *h) {
  const struct raft_quorum_state *d = &r->durable_state;
  const struct raft_msg *m = &h->msg;
  int32_t epoch = raft_msg_epoch(m);
  ASSERT(h->state_seq <= r->durable_state_seq);
  if (h->standard_vote_granted) { /* a pre-vote persists nothing */
    ASSERT(m->kind == RAFT_VOTE_RESPONSE && m->vote_response.vote_granted);
    ASSERT(d->leader_epoch > epoch || (d->leader_epoch == epoch && d->voted_id == m->to));
  }
  if (m->kind == RAFT_VOTE && !m->vote.pre_vote)
    ASSERT(d->leader_epoch > epoch ||
           (d->leader_epoch == epoch && d->voted_id == r->cfg.node_id));
  if (m->kind == RAFT_BEGIN_QUORUM_EPOCH)
    ASSERT(d->leader_epoch > epoch ||
           (d->leader_epoch == epoch && d->leader_id == r->cfg.node_id));
}

static void release_messages(struct raft *r, struct raft_ready *rd) {
  uint32_t n = 0;
  while (n < r->outbox_count && r->outbox[n].state_seq <= r->durable_state_seq) {
    check_released(r, &r->outbox[n]);
    rd->msgs[n] = r->outbox[n].msg;
    n++;
  }
  rd->msg_count = n;
  memmove(&r->outbox[0], &r->outbox[n], (r->outbox_count - n) * sizeof r->outbox[0]);
  r->outbox_count -= n;
  ASSERT(rd->msg_count <= RAFT_OUTBOX_MAX);
}

void raft_ready(struct raft *r, struct raft_ready *rd) {
  ASSERT(r->started);
  if (!r->persist_inflight && has_persist(r))
    take_persist(r, &rd->persist);
  else
    memset(&rd->persist, 0, sizeof rd->persist);
  release_messages(r, rd);
  rd->role = r->role;
  rd->epoch = r->epoch;
  rd->leader_id = r->leader_id;
  rd->role_changed = r->role != r->reported_role || r->epoch != r->reported_epoch ||
                     r->leader_id != r->reported_leader;
  r->reported_role = r->role;
  r->reported_epoch = r->epoch;
  r->reported_leader = r->leader_id;
  rd->high_watermark = r->high_watermark;
  rd->high_watermark_changed = r->high_watermark != r->reported_high_watermark;
  r->reported_high_watermark = r->high_watermark;
  rd->has_snapshot_chunk = r->chunk_ready;
  rd->snapshot_chunk = r->chunk;
  r->chunk_ready = false;
  raft_check_invariants(r);
}

void raft_persisted(struct raft *r, const struct raft_persist *p) {
  ASSERT(r->started && r->persist_inflight);
  ASSERT(p->seq == r->inflight.seq && p->append_end == r->inflight.append_end);
  r->persist_inflight = false;
  if (r->inflight.has_state) {
    r->durable_state = r->inflight.state;
    r->durable_state_seq = r->inflight_state_seq;
  }
  if (r->install_inflight) r->install_inflight = false;
  /* Truncations since the handout lowered written_end: what the persist
   * wrote above it is gone again. */
  int64_t end =
      r->inflight.append_end < r->written_end ? r->inflight.append_end : r->written_end;
  if (end > r->durable_end) r->durable_end = end;
  ASSERT(r->durable_end <= r->written_end);
  if (r->role == RAFT_LEADER) raft_leader_update_high_watermark(r);
  raft_maybe_fetch(r);
  raft_check_invariants(r);
}
