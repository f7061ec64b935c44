/* Fetch (KIP-595 "Fetch"): replication is pulled. A follower (or observer)
 * sends Fetch(FetchOffset, LastFetchedEpoch) once everything it has is
 * durable, so its fetch offset is what the leader may count for the high
 * watermark. The leader checks the pair against its log and answers with
 *   - records from FetchOffset, and its high watermark, if they agree;
 *   - a DivergingEpoch (the largest epoch <= LastFetchedEpoch it has, and
 *     where that epoch ends) if they do not: the follower truncates to it
 *     and fetches again;
 *   - a SnapshotId if FetchOffset is below its log start (snapshot.c).
 * With nothing to send, the leader parks the Fetch until records or a new
 * high watermark arrive, or MaxWaitMs passes (long polling). */
#include "base/assert.h"
#include "base/xoshiro.h"
#include "proto/errors.h"
#include "raft/internal.h"

enum fetch_outcome { FETCH_OK, FETCH_DIVERGING, FETCH_SNAPSHOT };

struct raft_replica *raft_replica_find(struct raft *r, int32_t id) {
  for (uint32_t i = 0; i < r->replica_count; i++)
    if (r->replicas[i].id == id) return &r->replicas[i];
  return NULL;
}

/* Voters are in the table from the start of the epoch; observers are added
 * on their first fetch while there is room. */
static struct raft_replica *replica_track(struct raft *r, int32_t id) {
  struct raft_replica *rep = raft_replica_find(r, id);
  if (rep != NULL || r->replica_count == ARRAY_LEN(r->replicas)) return rep;
  rep = &r->replicas[r->replica_count++];
  *rep = (struct raft_replica){.id = id, .log_end_offset = -1, .high_watermark_sent = -1};
  return rep;
}

static enum fetch_outcome validate(const struct raft *r, int64_t offset, int32_t last_epoch,
                                   struct raft_epoch_end_offset *diverging) {
  if (offset < r->log_start_offset) return FETCH_SNAPSHOT;
  if (offset == r->log_start_offset)
    return r->log_start_offset == 0 || last_epoch == r->snapshot.epoch ? FETCH_OK
                                                                       : FETCH_SNAPSHOT;
  *diverging = rlog_end_offset_for_epoch(r, last_epoch < 0 ? 0 : last_epoch);
  if (diverging->epoch < 0) return FETCH_SNAPSHOT;
  if (diverging->epoch == last_epoch && offset <= diverging->end_offset) return FETCH_OK;
  return FETCH_DIVERGING;
}

static void respond(struct raft *r, struct raft_replica *rep, int32_t to,
                    int32_t correlation_id, int64_t offset, int32_t last_epoch) {
  ASSERT(r->role == RAFT_LEADER);
  struct raft_epoch_end_offset diverging = {-1, -1};
  enum fetch_outcome outcome = validate(r, offset, last_epoch, &diverging);
  struct raft_msg *m = raft_msg_new(r, RAFT_FETCH_RESPONSE, to);
  if (m == NULL) return;
  m->correlation_id = correlation_id;
  struct raft_fetch_response *f = &m->fetch_response;
  f->current_leader = (struct raft_leader_and_epoch){r->cfg.node_id, r->epoch};
  f->high_watermark = r->high_watermark;
  f->log_start_offset = r->log_start_offset;
  f->diverging_epoch = (struct raft_epoch_end_offset){-1, -1};
  f->snapshot_id = (struct raft_snapshot_id){-1, -1};
  f->records_base_offset = offset;
  if (outcome == FETCH_SNAPSHOT) f->snapshot_id = r->snapshot;
  if (outcome == FETCH_DIVERGING) f->diverging_epoch = diverging;
  if (outcome != FETCH_OK) return;
  uint32_t max = r->cfg.fetch_max_records;
  for (int64_t o = offset; o < r->end_offset && f->record_count < max; o++)
    f->records[f->record_count++] = *raft_entry_at(r, o);
  if (rep != NULL) rep->high_watermark_sent = r->high_watermark;
  ASSERT(f->record_count <= RAFT_FETCH_RECORDS_MAX);
}

static void reject(struct raft *r, const struct raft_msg *m, int16_t error) {
  struct raft_msg *resp = raft_msg_new(r, RAFT_FETCH_RESPONSE, m->from);
  if (resp == NULL) return;
  raft_reply(r, m, resp);
  resp->error_code = error;
  struct raft_fetch_response *f = &resp->fetch_response;
  f->current_leader = (struct raft_leader_and_epoch){raft_known_leader(r), r->epoch};
  f->high_watermark = -1;
  f->log_start_offset = -1;
  f->diverging_epoch = (struct raft_epoch_end_offset){-1, -1};
  f->snapshot_id = (struct raft_snapshot_id){-1, -1};
}

static bool has_news(const struct raft *r, const struct raft_replica *rep, int64_t offset) {
  return offset < r->end_offset || rep->high_watermark_sent < r->high_watermark;
}

void raft_on_fetch(struct raft *r, const struct raft_msg *m) {
  const struct raft_fetch_request *q = &m->fetch;
  ASSERT(m->kind == RAFT_FETCH && q->current_leader_epoch == r->epoch);
  if (r->role != RAFT_LEADER) {
    reject(r, m, KERR_NOT_LEADER_OR_FOLLOWER);
    return;
  }
  struct raft_replica *rep = replica_track(r, m->from);
  struct raft_epoch_end_offset diverging;
  bool ok = validate(r, q->fetch_offset, q->last_fetched_epoch, &diverging) == FETCH_OK;
  if (rep != NULL) {
    rep->parked = false;
    rep->last_fetch_ms = r->now_ms; /* check-quorum */
    if (rep->voter) rep->acked = true;
    if (ok) rep->log_end_offset = q->fetch_offset;
    if (ok && rep->voter) raft_leader_update_high_watermark(r);
  }
  if (ok && rep != NULL && q->max_wait_ms > 0 && !has_news(r, rep, q->fetch_offset)) {
    rep->parked = true;
    rep->parked_correlation_id = m->correlation_id;
    rep->parked_deadline_ms = r->now_ms + q->max_wait_ms;
    rep->parked_fetch_offset = q->fetch_offset;
    rep->parked_last_fetched_epoch = q->last_fetched_epoch;
    return;
  }
  respond(r, rep, m->from, m->correlation_id, q->fetch_offset, q->last_fetched_epoch);
}

/* Answers the parked fetches that have news or whose wait is over. */
void raft_leader_wake_parked(struct raft *r) {
  ASSERT(r->role == RAFT_LEADER);
  for (uint32_t i = 0; i < r->replica_count; i++) {
    struct raft_replica *rep = &r->replicas[i];
    if (!rep->parked) continue;
    if (r->now_ms < rep->parked_deadline_ms && !has_news(r, rep, rep->parked_fetch_offset))
      continue;
    rep->parked = false;
    respond(r, rep, rep->id, rep->parked_correlation_id, rep->parked_fetch_offset,
            rep->parked_last_fetched_epoch);
  }
}

void raft_follower_heard_leader(struct raft *r) {
  ASSERT(r->role == RAFT_FOLLOWER || r->role == RAFT_OBSERVER);
  ASSERT(r->leader_id >= 0);
  r->fetched_from_leader = true;
  r->leader_contact_ms = r->now_ms;
  r->timer_ms = r->now_ms + r->cfg.fetch_timeout_ms;
}

/* KIP-595: truncate to the smaller of where the leader's epoch ends and
 * where ours does (Kafka's truncateToEndOffset), then fetch again. */
static void truncate_to_diverging(struct raft *r, struct raft_epoch_end_offset d) {
  ASSERT(d.epoch >= 0 && d.end_offset >= 0);
  struct raft_epoch_end_offset own = rlog_end_offset_for_epoch(r, d.epoch);
  int64_t to = own.end_offset, old_end = r->end_offset;
  if (own.epoch == d.epoch && d.end_offset < to) to = d.end_offset;
  if (own.epoch < 0 || to < r->log_start_offset) to = r->log_start_offset;
  rlog_truncate(r, to);
  ASSERT(r->end_offset == (to < old_end ? to : old_end));
}

static void append_records(struct raft *r, const struct raft_fetch_response *f) {
  if (f->records_base_offset != r->end_offset) return;
  uint32_t n = f->record_count <= RAFT_FETCH_RECORDS_MAX ? f->record_count : 0;
  for (uint32_t i = 0; i < n && !rlog_full(r); i++) {
    const struct raft_entry *e = &f->records[i];
    if (e->epoch < rlog_last_epoch(r) || e->epoch > r->epoch || e->size > RAFT_PAYLOAD_MAX)
      return; /* not what a leader sends: drop the rest */
    rlog_append(r, e->epoch, e->type, e->payload, e->size);
  }
}

static void on_fetch_error(struct raft *r, const struct raft_msg *m) {
  const struct raft_leader_and_epoch *l = &m->fetch_response.current_leader;
  /* An observer asking a voter learns who leads. */
  if (r->role == RAFT_OBSERVER && r->leader_id == RAFT_NO_NODE && l->leader_id >= 0 &&
      l->leader_id != r->cfg.node_id && l->leader_epoch == r->epoch) {
    raft_become_follower(r, r->epoch, l->leader_id);
    return;
  }
  r->fetch_not_before_ms = r->now_ms + r->cfg.retry_backoff_ms;
}

void raft_on_fetch_response(struct raft *r, const struct raft_msg *m) {
  const struct raft_fetch_response *f = &m->fetch_response;
  ASSERT(m->kind == RAFT_FETCH_RESPONSE && f->current_leader.leader_epoch == r->epoch);
  if (r->role != RAFT_FOLLOWER && r->role != RAFT_OBSERVER) return;
  if (!r->fetch_inflight || r->snapshot_fetching ||
      m->correlation_id != r->fetch_correlation_id)
    return; /* not the answer to our fetch in flight */
  r->fetch_inflight = false;
  r->want_fetch = true;
  if (m->error_code != KERR_NONE) {
    on_fetch_error(r, m);
    return;
  }
  if (r->leader_id != m->from) {
    if (r->leader_id == RAFT_NO_NODE && f->current_leader.leader_id == m->from)
      raft_become_follower(r, r->epoch, m->from);
    return;
  }
  raft_follower_heard_leader(r);
#ifdef SLUICE_MUTANT_FOLLOWER_NO_TRUNCATE /* mutant: DivergingEpoch is ignored */
  if (false) {
#else
  if (f->diverging_epoch.epoch >= 0) {
#endif
    truncate_to_diverging(r, f->diverging_epoch);
  } else if (f->snapshot_id.end_offset >= 0) {
    r->snapshot_fetching = true;
    r->snapshot_fetch_id = f->snapshot_id;
    r->snapshot_fetch_position = 0;
    r->snapshot_fetch_size_bytes = -1;
  } else {
    append_records(r, f);
    raft_follower_update_high_watermark(r, f->high_watermark);
  }
}

static int32_t fetch_target(struct raft *r) {
  if (r->leader_id != RAFT_NO_NODE) return r->leader_id;
  ASSERT(!r->voter && r->cfg.voter_count > 0);
  return r->cfg.voters[xoshiro256_next(r->rng) % r->cfg.voter_count];
}

static void send_fetch(struct raft *r) {
  struct raft_msg *m = raft_msg_new(r, RAFT_FETCH, fetch_target(r));
  if (m == NULL) return;
  m->fetch = (struct raft_fetch_request){.replica_id = r->cfg.node_id,
                                         .current_leader_epoch = r->epoch,
                                         .fetch_offset = r->end_offset,
                                         .last_fetched_epoch = rlog_last_epoch(r),
                                         .log_start_offset = r->log_start_offset,
                                         .max_wait_ms = r->cfg.fetch_max_wait_ms};
  r->fetch_correlation_id = m->correlation_id;
}

static void send_fetch_snapshot(struct raft *r) {
  ASSERT(r->leader_id >= 0);
  struct raft_msg *m = raft_msg_new(r, RAFT_FETCH_SNAPSHOT, r->leader_id);
  if (m == NULL) return;
  m->fetch_snapshot =
      (struct raft_fetch_snapshot_request){.replica_id = r->cfg.node_id,
                                           .current_leader_epoch = r->epoch,
                                           .snapshot_id = r->snapshot_fetch_id,
                                           .position = r->snapshot_fetch_position,
                                           .max_bytes = r->cfg.snapshot_chunk_bytes};
  r->fetch_correlation_id = m->correlation_id;
}

/* A follower fetches when it wants to, has nothing in flight, is past its
 * retry backoff, and has made durable everything it would report. */
void raft_maybe_fetch(struct raft *r) {
  if (r->role != RAFT_FOLLOWER && r->role != RAFT_OBSERVER) return;
  if (!r->want_fetch || r->fetch_inflight || r->now_ms < r->fetch_not_before_ms) return;
  if (r->durable_end < r->end_offset || r->install_pending || r->install_inflight) return;
  if (r->snapshot_fetching)
    send_fetch_snapshot(r);
  else
    send_fetch(r);
  r->want_fetch = false;
  r->fetch_inflight = true;
  r->fetch_sent_ms = r->now_ms;
  ASSERT(r->fetch_inflight && !r->want_fetch);
}
