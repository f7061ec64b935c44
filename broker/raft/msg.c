/* The messages: their epoch (each RPC names it differently), and one line
 * each for logs and the datadriven tests (tests/raft/). */
#include "base/assert.h"
#include "base/str.h"
#include "proto/errors.h"
#include "raft/internal.h"

const char *raft_role_name(enum raft_role role) {
  static const char *const names[] = {"unattached", "prospective", "candidate", "leader",
                                      "follower",   "resigned",    "observer"};
  ASSERT((size_t)role < ARRAY_LEN(names));
  return names[role];
}

const char *raft_msg_kind_name(enum raft_msg_kind kind) {
  static const char *const names[RAFT_MSG_KINDS] = {"Vote",
                                                    "VoteResponse",
                                                    "BeginQuorumEpoch",
                                                    "BeginQuorumEpochResponse",
                                                    "EndQuorumEpoch",
                                                    "EndQuorumEpochResponse",
                                                    "Fetch",
                                                    "FetchResponse",
                                                    "FetchSnapshot",
                                                    "FetchSnapshotResponse"};
  ASSERT(kind < RAFT_MSG_KINDS);
  return names[kind];
}

bool raft_msg_is_request(const struct raft_msg *m) {
  ASSERT(m->kind < RAFT_MSG_KINDS);
  return m->kind == RAFT_VOTE || m->kind == RAFT_BEGIN_QUORUM_EPOCH ||
         m->kind == RAFT_END_QUORUM_EPOCH || m->kind == RAFT_FETCH ||
         m->kind == RAFT_FETCH_SNAPSHOT;
}

int32_t raft_msg_epoch(const struct raft_msg *m) {
  switch (m->kind) {
  case RAFT_VOTE:
    return m->vote.candidate_epoch;
  case RAFT_VOTE_RESPONSE:
    return m->vote_response.leader_epoch;
  case RAFT_BEGIN_QUORUM_EPOCH:
    return m->begin_quorum_epoch.leader_epoch;
  case RAFT_END_QUORUM_EPOCH:
    return m->end_quorum_epoch.leader_epoch;
  case RAFT_BEGIN_QUORUM_EPOCH_RESPONSE:
  case RAFT_END_QUORUM_EPOCH_RESPONSE:
    return m->quorum_epoch_response.leader_epoch;
  case RAFT_FETCH:
    return m->fetch.current_leader_epoch;
  case RAFT_FETCH_RESPONSE:
    return m->fetch_response.current_leader.leader_epoch;
  case RAFT_FETCH_SNAPSHOT:
    return m->fetch_snapshot.current_leader_epoch;
  case RAFT_FETCH_SNAPSHOT_RESPONSE:
    return m->fetch_snapshot_response.current_leader.leader_epoch;
  default:
    UNREACHABLE();
  }
}

static const char *error_name(int16_t code) {
  switch (code) {
  case KERR_INCONSISTENT_VOTER_SET:
    return "INCONSISTENT_VOTER_SET";
  case KERR_SNAPSHOT_NOT_FOUND:
    return "SNAPSHOT_NOT_FOUND";
  case KERR_POSITION_OUT_OF_RANGE:
    return "POSITION_OUT_OF_RANGE";
  default:
    return kerr_name(code);
  }
}

/* An appending writer over a fixed buffer. */
struct out {
  char *buf;
  size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->cap ? o->cap - o->len : 0;
  o->len += str_vfmt(o->buf + (o->len < o->cap ? o->len : o->cap), room, fmt, ap);
  va_end(ap);
}

static void put_node(struct out *o, const char *key, int32_t id) {
  if (id < 0)
    put(o, " %s=-", key);
  else
    put(o, " %s=%d", key, id);
}

static void put_snapshot(struct out *o, struct raft_snapshot_id s) {
  put(o, " snapshot={end=%lld epoch=%d}", (long long)s.end_offset, s.epoch);
}

static void put_fetch_response(struct out *o, const struct raft_fetch_response *f) {
  put(o, "epoch=%d", f->current_leader.leader_epoch);
  put_node(o, "leader", f->current_leader.leader_id);
  if (f->high_watermark >= 0) put(o, " hw=%lld", (long long)f->high_watermark);
  if (f->diverging_epoch.epoch >= 0)
    put(o, " diverging={epoch=%d end=%lld}", f->diverging_epoch.epoch,
        (long long)f->diverging_epoch.end_offset);
  if (f->snapshot_id.end_offset >= 0) put_snapshot(o, f->snapshot_id);
  if (f->record_count == 0) return;
  put(o, " records=");
  for (uint32_t i = 0; i < f->record_count && i < RAFT_FETCH_RECORDS_MAX; i++)
    put(o, "%s%lld@%d", i ? "," : "", (long long)(f->records_base_offset + i),
        f->records[i].epoch);
}

static void put_body(struct out *o, const struct raft_msg *m) {
  switch (m->kind) {
  case RAFT_VOTE:
    put(o, "epoch=%d cand=%d last_epoch=%d end=%lld pre=%s", m->vote.candidate_epoch,
        m->vote.candidate_id, m->vote.last_offset_epoch, (long long)m->vote.last_offset,
        m->vote.pre_vote ? "true" : "false");
    break;
  case RAFT_VOTE_RESPONSE:
    put(o, "epoch=%d", m->vote_response.leader_epoch);
    put_node(o, "leader", m->vote_response.leader_id);
    put(o, " granted=%s", m->vote_response.vote_granted ? "true" : "false");
    break;
  case RAFT_BEGIN_QUORUM_EPOCH:
    put(o, "epoch=%d leader=%d", m->begin_quorum_epoch.leader_epoch,
        m->begin_quorum_epoch.leader_id);
    break;
  case RAFT_END_QUORUM_EPOCH:
    put(o, "epoch=%d leader=%d successors=", m->end_quorum_epoch.leader_epoch,
        m->end_quorum_epoch.leader_id);
    for (uint32_t i = 0; i < m->end_quorum_epoch.preferred_successor_count; i++)
      put(o, "%s%d", i ? "," : "", m->end_quorum_epoch.preferred_successors[i]);
    if (m->end_quorum_epoch.preferred_successor_count == 0) put(o, "-");
    break;
  case RAFT_BEGIN_QUORUM_EPOCH_RESPONSE:
  case RAFT_END_QUORUM_EPOCH_RESPONSE:
    put(o, "epoch=%d", m->quorum_epoch_response.leader_epoch);
    put_node(o, "leader", m->quorum_epoch_response.leader_id);
    break;
  case RAFT_FETCH:
    put(o, "epoch=%d offset=%lld last_epoch=%d", m->fetch.current_leader_epoch,
        (long long)m->fetch.fetch_offset, m->fetch.last_fetched_epoch);
    break;
  case RAFT_FETCH_RESPONSE:
    put_fetch_response(o, &m->fetch_response);
    break;
  case RAFT_FETCH_SNAPSHOT:
    put(o, "epoch=%d", m->fetch_snapshot.current_leader_epoch);
    put_snapshot(o, m->fetch_snapshot.snapshot_id);
    put(o, " position=%lld", (long long)m->fetch_snapshot.position);
    break;
  case RAFT_FETCH_SNAPSHOT_RESPONSE: {
    const struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
    put(o, "epoch=%d", s->current_leader.leader_epoch);
    put_node(o, "leader", s->current_leader.leader_id);
    if (m->error_code != KERR_NONE) break;
    put_snapshot(o, s->snapshot_id);
    put(o, " size=%lld position=%lld bytes=%lld", (long long)s->size, (long long)s->position,
        (long long)s->unaligned_records_size);
    break;
  }
  default:
    UNREACHABLE();
  }
}

size_t raft_msg_format(const struct raft_msg *m, char *out, size_t cap) {
  ASSERT(cap > 0);
  ASSERT(m->kind < RAFT_MSG_KINDS);
  struct out o = {out, cap, 0};
  out[0] = '\0';
  put(&o, "%d->%d %s{", m->from, m->to, raft_msg_kind_name(m->kind));
  put_body(&o, m);
  if (m->error_code != KERR_NONE) put(&o, " error=%s", error_name(m->error_code));
  put(&o, "}");
  return o.len;
}
