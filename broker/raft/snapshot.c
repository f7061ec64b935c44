/* Snapshots (KIP-630, the FetchSnapshot RPC KIP-595 relies on). The state
 * machine snapshots a committed prefix and the log drops it; a follower whose
 * fetch offset is below the leader's log start gets the SnapshotId in the
 * FetchResponse, fetches the snapshot in chunks (FetchSnapshot, Position), and
 * once the last chunk is in, installs it: its log becomes empty at the
 * snapshot's end offset, and it fetches from there. The bytes never enter the
 * core: the leader's adapter reads them at Position, the follower's writes
 * them when raft_ready reports the chunk accepted. */
#include "base/assert.h"
#include "proto/errors.h"
#include "raft/internal.h"

/* Committed, and durable in the log: a snapshot below this never covers an
 * entry a pending persist still has to write (or a truncation to undo). */
int64_t raft_snapshot_limit(const struct raft *r) {
  ASSERT(r->started);
  return r->high_watermark < r->durable_end ? r->high_watermark : r->durable_end;
}

void raft_snapshot_taken(struct raft *r, int64_t end_offset, int64_t size_bytes) {
  ASSERT(r->started && size_bytes >= 0);
  ASSERT(end_offset <= raft_snapshot_limit(r));
  if (end_offset <= r->log_start_offset) return;
  rlog_trim_prefix(r, end_offset);
  r->snapshot_size_bytes = size_bytes;
  ASSERT(r->log_start_offset == end_offset && r->snapshot.end_offset == end_offset);
  raft_check_invariants(r);
}

static bool same_snapshot(struct raft_snapshot_id a, struct raft_snapshot_id b) {
  return a.end_offset == b.end_offset && a.epoch == b.epoch;
}

void raft_on_fetch_snapshot(struct raft *r, const struct raft_msg *m) {
  const struct raft_fetch_snapshot_request *q = &m->fetch_snapshot;
  ASSERT(m->kind == RAFT_FETCH_SNAPSHOT && q->current_leader_epoch == r->epoch);
  struct raft_msg *resp = raft_msg_new(r, RAFT_FETCH_SNAPSHOT_RESPONSE, m->from);
  if (resp == NULL) return;
  raft_reply(r, m, resp);
  struct raft_fetch_snapshot_response *s = &resp->fetch_snapshot_response;
  s->current_leader = (struct raft_leader_and_epoch){raft_known_leader(r), r->epoch};
  s->snapshot_id = q->snapshot_id;
  s->position = q->position;
  if (r->role != RAFT_LEADER) {
    resp->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
    return;
  }
  struct raft_replica *rep = raft_replica_find(r, m->from);
  if (rep != NULL) rep->last_fetch_ms = r->now_ms; /* check-quorum */
  if (r->log_start_offset == 0 || !same_snapshot(q->snapshot_id, r->snapshot)) {
    resp->error_code = KERR_SNAPSHOT_NOT_FOUND;
  } else if (q->position < 0 || q->position > r->snapshot_size_bytes || q->max_bytes <= 0) {
    resp->error_code = KERR_POSITION_OUT_OF_RANGE;
  } else {
    int64_t left = r->snapshot_size_bytes - q->position;
    s->size = r->snapshot_size_bytes;
    s->unaligned_records_size = left < q->max_bytes ? left : q->max_bytes;
  }
}

static void take_chunk(struct raft *r, const struct raft_fetch_snapshot_response *s) {
  ASSERT(!r->chunk_ready);
  ASSERT(s->position == r->snapshot_fetch_position);
  r->chunk =
      (struct raft_snapshot_chunk){s->snapshot_id, s->position, s->unaligned_records_size};
  r->chunk_ready = true;
  r->snapshot_fetch_position += s->unaligned_records_size;
  r->snapshot_fetch_size_bytes = s->size;
  if (r->snapshot_fetch_position < s->size) return;
  /* The last chunk: install (the persist that follows tells the adapter). */
  rlog_install_snapshot(r, s->snapshot_id, s->size);
  r->snapshot_fetching = false;
}

void raft_on_fetch_snapshot_response(struct raft *r, const struct raft_msg *m) {
  const struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
  ASSERT(m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE && s->current_leader.leader_epoch == r->epoch);
  if (r->role != RAFT_FOLLOWER && r->role != RAFT_OBSERVER) return;
  if (!r->fetch_inflight || !r->snapshot_fetching ||
      m->correlation_id != r->fetch_correlation_id)
    return;
  r->fetch_inflight = false;
  r->want_fetch = true;
  if (m->error_code == KERR_SNAPSHOT_NOT_FOUND) {
    r->snapshot_fetching = false; /* a newer one replaced it: Fetch again */
    return;
  }
  bool usable = m->error_code == KERR_NONE && m->from == r->leader_id &&
                same_snapshot(s->snapshot_id, r->snapshot_fetch_id) &&
                s->position == r->snapshot_fetch_position && s->unaligned_records_size >= 0 &&
                s->position + s->unaligned_records_size <= s->size &&
                (s->unaligned_records_size > 0 || s->position == s->size) &&
                s->snapshot_id.end_offset > r->log_start_offset &&
                s->snapshot_id.end_offset >= r->high_watermark;
  if (!usable) {
    r->fetch_not_before_ms = r->now_ms + r->cfg.retry_backoff_ms;
    return;
  }
  raft_follower_heard_leader(r);
  take_chunk(r, s);
}
