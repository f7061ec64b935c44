/* Construction, restart from what the disk holds, proposals and queries. */
#include <string.h>

#include "base/assert.h"
#include "base/xoshiro.h"
#include "raft/internal.h"

void raft_config_default(struct raft_config *c, int32_t node_id) {
  ASSERT(node_id >= 0);
  memset(c, 0, sizeof *c);
  c->node_id = node_id;
  c->election_timeout_ms = 1000;
  c->election_backoff_max_ms = 1000;
  c->fetch_timeout_ms = 2000;
  c->request_timeout_ms = 2000;
  c->retry_backoff_ms = 20;
  c->fetch_max_wait_ms = 500;
  c->fetch_max_records = RAFT_FETCH_RECORDS_MAX;
  c->snapshot_chunk_bytes = 1 << 20;
  c->pre_vote = true;
  c->random_seed = (uint64_t)node_id;
}

static void check_config(const struct raft_config *c) {
  ASSERT(c->node_id >= 0);
  ASSERT(c->voter_count >= 1 && c->voter_count <= RAFT_VOTERS_MAX);
  ASSERT(c->election_timeout_ms > 0 && c->election_backoff_max_ms >= 0);
  ASSERT(c->fetch_timeout_ms > 0 && c->request_timeout_ms > 0 && c->retry_backoff_ms > 0);
  ASSERT(c->fetch_max_wait_ms >= 0 && c->snapshot_chunk_bytes > 0);
  ASSERT(c->fetch_max_records >= 1 && c->fetch_max_records <= RAFT_FETCH_RECORDS_MAX);
  for (uint32_t i = 0; i < c->voter_count; i++) {
    ASSERT(c->voters[i] >= 0);
    for (uint32_t j = 0; j < i; j++) ASSERT(c->voters[i] != c->voters[j]);
  }
}

void raft_init(struct raft *r, const struct raft_config *cfg) {
  check_config(cfg);
  memset(r, 0, sizeof *r);
  r->cfg = *cfg;
  r->voter = raft_voter_index(r, cfg->node_id) >= 0;
  r->majority = cfg->voter_count / 2 + 1;
  xoshiro256_seed(r->rng, cfg->random_seed);
  r->voted_id = r->leader_id = RAFT_NO_NODE;
  r->durable_state = (struct raft_quorum_state){0, RAFT_NO_NODE, RAFT_NO_NODE};
  r->pending_truncate = -1;
  r->timer_ms = -1;
  r->fetch_correlation_id = -1;
  r->next_correlation_id = 1;
  r->reported_epoch = -1; /* the first ready reports the role */
  ASSERT(r->majority <= cfg->voter_count);
}

void raft_restore_state(struct raft *r, const struct raft_quorum_state *state) {
  ASSERT(!r->started && r->end_offset == 0 && r->log_start_offset == 0);
  ASSERT(state->leader_epoch >= 0);
  ASSERT(r->voter || state->voted_id == RAFT_NO_NODE);
  r->epoch = state->leader_epoch;
  r->voted_id = state->voted_id;
  r->leader_id = state->leader_id;
  r->durable_state = *state;
}

void raft_restore_snapshot(struct raft *r, struct raft_snapshot_id id, int64_t size_bytes) {
  ASSERT(!r->started && r->end_offset == 0);
  ASSERT(id.end_offset > 0 && id.epoch >= 0 && id.epoch <= r->epoch && size_bytes >= 0);
  r->snapshot = id;
  r->snapshot_size_bytes = size_bytes;
  r->log_start_offset = r->end_offset = r->written_end = r->durable_end = id.end_offset;
  r->high_watermark = id.end_offset; /* a snapshot holds only committed entries */
  r->checked_high_watermark = r->reported_high_watermark = r->high_watermark;
}

void raft_restore_entry(struct raft *r, const struct raft_entry *entry) {
  ASSERT(!r->started && r->end_offset - r->log_start_offset < RAFT_LOG_ENTRIES_MAX);
  /* KIP-595: the quorum state is written before the log, so it is never
   * behind the log's last epoch. */
  ASSERT(entry->epoch <= r->epoch);
  rlog_append(r, entry->epoch, entry->type, entry->payload, entry->size);
  r->written_end = r->durable_end = r->end_offset;
}

void raft_start(struct raft *r, int64_t now_ms) {
  ASSERT(!r->started && now_ms >= 0);
  r->started = true;
  r->now_ms = now_ms;
  r->checked_epoch = r->epoch;
  if (r->voter && r->leader_id == r->cfg.node_id) {
    /* KIP-595: a leader that restarts does not lead again in its epoch. */
    r->role = RAFT_RESIGNED;
    r->timer_ms = now_ms + raft_random_election_timeout_ms(r);
    raft_send_end_quorum_epoch(r, NULL, 0);
  } else if (r->leader_id >= 0 && r->leader_id != r->cfg.node_id) {
    raft_become_follower(r, r->epoch, r->leader_id);
  } else {
    raft_become_unattached(r, r->epoch, r->voter ? r->voted_id : RAFT_NO_NODE);
  }
  ASSERT(r->state_seq == 0); /* restarting changes nothing durable */
  raft_maybe_fetch(r);
  raft_check_invariants(r);
}

int64_t raft_propose(struct raft *r, const void *payload, uint32_t size) {
  ASSERT(r->started);
  ASSERT(size <= RAFT_PAYLOAD_MAX && (size == 0 || payload != NULL));
  if (r->role != RAFT_LEADER || rlog_full(r)) return -1;
  int64_t offset = rlog_append(r, r->epoch, RAFT_ENTRY_DATA, payload, size);
  raft_leader_wake_parked(r);
  ASSERT(offset == r->end_offset - 1);
  raft_check_invariants(r);
  return offset;
}

int32_t raft_last_fetched_epoch(const struct raft *r) { return rlog_last_epoch(r); }
int64_t raft_end_offset(const struct raft *r) { return r->end_offset; }
int64_t raft_high_watermark(const struct raft *r) { return r->high_watermark; }
int64_t raft_log_start_offset(const struct raft *r) { return r->log_start_offset; }
bool raft_is_leader(const struct raft *r) { return r->role == RAFT_LEADER; }
enum raft_role raft_role(const struct raft *r) { return r->role; }

struct raft_snapshot_id raft_snapshot(const struct raft *r, int64_t *size_bytes) {
  ASSERT(r->started);
  if (size_bytes != NULL) *size_bytes = r->snapshot_size_bytes;
  return r->snapshot;
}

uint32_t raft_describe_quorum(const struct raft *r, struct raft_replica *out, uint32_t max) {
  ASSERT(r->started);
  if (r->role != RAFT_LEADER) return 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->replica_count && n < max; i++) {
    out[n] = r->replicas[i];
    /* The leader's own entry: what it has made durable, as of now. */
    if (out[n].id == r->cfg.node_id) {
      out[n].log_end_offset = r->durable_end;
      out[n].last_fetch_ms = r->now_ms;
    }
    n++;
  }
  ASSERT(n <= max);
  return n;
}

void raft_quorum_state(const struct raft *r, struct raft_quorum_state *out) {
  *out = (struct raft_quorum_state){r->epoch, r->voted_id, r->leader_id};
}
