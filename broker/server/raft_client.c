/* The core's requests on the quorum channels, and their responses back into
 * raft_msg (KIP-595's RPCs in Kafka 3.9's schemas, and Vote v2 of Kafka 4.0
 * from Sluice's schema overlay). Each request names the metadata partition
 * (__cluster_metadata-0) and this node's cluster id; it goes out at the
 * highest version both sides serve (channel_version), and its response is
 * decoded at that version. What the core needs of a response is in the
 * partition's entry; a response without it (a top-level error) is a failed
 * request.
 *
 * Pre-vote only if every voter has it (KIP-996): a pre-vote is VoteRequest
 * v2. Every voter is assumed to serve it (both ends of a controller
 * connection are Sluice) until its channel comes up serving less (a Kafka
 * 3.9 controller); from then on, and as long as any voter is known not to
 * serve v2, the core runs its elections without pre-vote (standard votes,
 * which every version carries). A pre-vote the core already addressed to
 * such a voter is not sent: that election may fail by its timeout, and the
 * next one is a standard one. A standard vote is never sent in place of a
 * pre-vote: it would ask for a vote in an epoch the sender has not entered. */
#include <string.h>

#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/raft_node.h"
#include "server/server.h"

static struct kstr metadata_topic(void) { return KSTR_LIT(META_LOG_TOPIC); }

/* This node's controller endpoint (BeginQuorumEpoch/EndQuorumEpoch v1). */
static const struct config_voter *self_voter(const struct raft_node *rn) {
  return raft_node_voter(rn->node, rn->node->cfg.node_id);
}

/* ---- Vote ---- */

static void encode_vote(struct wr *w, int16_t version, const void *msg) {
  vote_request_encode(w, version, msg);
}

static void vote_request_of(const struct raft_node *rn, const struct raft_msg *m,
                            int16_t version, struct vote_request *q,
                            struct vote_request_topic_data *t,
                            struct vote_request_partition_data *p) {
  ASSERT(m->kind == RAFT_VOTE);
  ASSERT(version >= RAFT_VOTE_PRE_VOTE_VERSION || !m->vote.pre_vote); /* raft_client_send */
  vote_request_init(q);
  vote_request_topic_data_init(t);
  vote_request_partition_data_init(p);
  q->cluster_id = kstr_of(rn->node->cluster_id);
  q->voter_id = m->to;
  q->topics = t;
  q->topics_count = 1;
  t->topic_name = metadata_topic();
  t->partitions = p;
  t->partitions_count = 1;
  p->partition_index = META_LOG_PARTITION;
  p->replica_epoch = m->vote.candidate_epoch; /* its current epoch for a pre-vote */
  p->replica_id = m->vote.candidate_id;
  p->last_offset_epoch = m->vote.last_offset_epoch;
  p->last_offset = m->vote.last_offset;
  p->pre_vote = m->vote.pre_vote; /* v2+ */
}

static bool vote_response_to_msg(struct rd *body, int16_t version, struct arena *a,
                                 struct raft_msg *m) {
  struct vote_response r;
  if (!vote_response_decode(body, version, &r, a) || r.error_code != KERR_NONE ||
      r.topics_count != 1 || r.topics[0].partitions_count != 1)
    return false;
  const struct vote_response_partition_data *p = &r.topics[0].partitions[0];
  m->error_code = p->error_code;
  m->vote_response = (struct raft_vote_response){.leader_id = p->leader_id,
                                                 .leader_epoch = p->leader_epoch,
                                                 .vote_granted = p->vote_granted};
  return true;
}

/* ---- BeginQuorumEpoch ---- */

static void encode_begin(struct wr *w, int16_t version, const void *msg) {
  begin_quorum_epoch_request_encode(w, version, msg);
}

static bool begin_response_to_msg(struct rd *body, int16_t version, struct arena *a,
                                  struct raft_msg *m) {
  struct begin_quorum_epoch_response r;
  if (!begin_quorum_epoch_response_decode(body, version, &r, a) || r.error_code != KERR_NONE ||
      r.topics_count != 1 || r.topics[0].partitions_count != 1)
    return false;
  const struct begin_quorum_epoch_response_partition_data *p = &r.topics[0].partitions[0];
  m->error_code = p->error_code;
  m->quorum_epoch_response = (struct raft_quorum_epoch_response){p->leader_id, p->leader_epoch};
  return true;
}

/* ---- EndQuorumEpoch ---- */

static void encode_end(struct wr *w, int16_t version, const void *msg) {
  end_quorum_epoch_request_encode(w, version, msg);
}

static bool end_response_to_msg(struct rd *body, int16_t version, struct arena *a,
                                struct raft_msg *m) {
  struct end_quorum_epoch_response r;
  if (!end_quorum_epoch_response_decode(body, version, &r, a) || r.error_code != KERR_NONE ||
      r.topics_count != 1 || r.topics[0].partitions_count != 1)
    return false;
  const struct end_quorum_epoch_response_partition_data *p = &r.topics[0].partitions[0];
  m->error_code = p->error_code;
  m->quorum_epoch_response = (struct raft_quorum_epoch_response){p->leader_id, p->leader_epoch};
  return true;
}

/* ---- Fetch ---- */

static void encode_fetch(struct wr *w, int16_t version, const void *msg) {
  fetch_request_encode(w, version, msg);
}

static void fetch_request_of(const struct raft_node *rn, const struct raft_msg *m,
                             struct fetch_request *q, struct fetch_request_fetch_topic *t,
                             struct fetch_request_fetch_partition *p) {
  ASSERT(m->kind == RAFT_FETCH && m->fetch.replica_id == rn->node->cfg.node_id);
  fetch_request_init(q);
  fetch_request_fetch_topic_init(t);
  fetch_request_fetch_partition_init(p);
  q->cluster_id = kstr_of(rn->node->cluster_id);
  q->replica_id = m->fetch.replica_id;               /* up to v14 */
  q->replica_state.replica_id = m->fetch.replica_id; /* v15+ */
  q->max_wait_ms = m->fetch.max_wait_ms;
  q->min_bytes = 0;
  q->max_bytes = RAFT_FETCH_PARTITION_MAX_BYTES;
  q->topics = t;
  q->topics_count = 1;
  t->topic = metadata_topic();
  t->topic_id = raft_node_metadata_topic_id();
  t->partitions = p;
  t->partitions_count = 1;
  p->partition = META_LOG_PARTITION;
  p->current_leader_epoch = m->fetch.current_leader_epoch;
  p->fetch_offset = m->fetch.fetch_offset;
  p->last_fetched_epoch = m->fetch.last_fetched_epoch;
  p->log_start_offset = m->fetch.log_start_offset;
  p->partition_max_bytes = RAFT_FETCH_PARTITION_MAX_BYTES;
}

/* The records become the core's entries (at most RAFT_FETCH_RECORDS_MAX,
 * whole single-record batches); spans[i] keeps entry i's bytes. */
static bool fetch_response_to_msg(struct raft_node *rn, struct rd *body, int16_t version,
                                  struct arena *a, struct raft_msg *m,
                                  struct raft_batch_span *spans) {
  struct fetch_response r;
  if (!fetch_response_decode(body, version, &r, a) || r.error_code != KERR_NONE ||
      r.responses_count != 1 || r.responses[0].partitions_count != 1)
    return false;
  const struct fetch_response_partition_data *p = &r.responses[0].partitions[0];
  /* A DivergingEpoch or SnapshotId is whole or absent (the core acts on it). */
  if ((p->diverging_epoch.epoch >= 0 && p->diverging_epoch.end_offset < 0) ||
      (p->snapshot_id.end_offset >= 0 && p->snapshot_id.epoch < 0))
    return false;
  struct raft_fetch_response *f = &m->fetch_response;
  m->error_code = p->error_code;
  f->current_leader = (struct raft_leader_and_epoch){p->current_leader.leader_id,
                                                     p->current_leader.leader_epoch};
  f->high_watermark = p->high_watermark;
  f->log_start_offset = p->log_start_offset;
  f->diverging_epoch =
      (struct raft_epoch_end_offset){p->diverging_epoch.epoch, p->diverging_epoch.end_offset};
  f->snapshot_id = (struct raft_snapshot_id){p->snapshot_id.end_offset, p->snapshot_id.epoch};
  f->records_base_offset = 0;
  f->record_count = 0;
  if (p->records.len <= 0 || p->records.is_file) return true;
  enum raft_records_stop stop;
  int64_t base;
  f->record_count =
      raft_records_decode(p->records.ptr, (size_t)p->records.len, RAFT_FETCH_RECORDS_MAX,
                          f->records, spans, &base, &stop);
  if (f->record_count > 0) f->records_base_offset = base;
  if (stop != RAFT_RECORDS_END && stop != RAFT_RECORDS_PARTIAL)
    env_log(rn->env, ENV_LOG_WARN, "raft: fetch response from node %d: records stop at %s",
            m->from, raft_records_stop_name(stop));
  return true;
}

/* ---- FetchSnapshot ---- */

static void encode_fetch_snapshot(struct wr *w, int16_t version, const void *msg) {
  fetch_snapshot_request_encode(w, version, msg);
}

/* The chunk's bytes go to spans[0] (they live in the arena). */
static bool fetch_snapshot_response_to_msg(struct rd *body, int16_t version, struct arena *a,
                                           struct raft_msg *m, struct raft_batch_span *spans) {
  struct fetch_snapshot_response r;
  if (!fetch_snapshot_response_decode(body, version, &r, a) || r.error_code != KERR_NONE ||
      r.topics_count != 1 || r.topics[0].partitions_count != 1)
    return false;
  const struct fetch_snapshot_response_partition_snapshot *p = &r.topics[0].partitions[0];
  struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
  m->error_code = p->error_code;
  s->current_leader = (struct raft_leader_and_epoch){p->current_leader.leader_id,
                                                     p->current_leader.leader_epoch};
  s->snapshot_id = (struct raft_snapshot_id){p->snapshot_id.end_offset, p->snapshot_id.epoch};
  s->size = p->size;
  s->position = p->position;
  s->unaligned_records_size = p->unaligned_records.len > 0 ? p->unaligned_records.len : 0;
  spans[0] =
      (struct raft_batch_span){p->unaligned_records.ptr, (uint32_t)s->unaligned_records_size};
  return true;
}

/* ---- sending ---- */

static enum raft_msg_kind response_kind(enum raft_msg_kind kind) {
  ASSERT(kind == RAFT_VOTE || kind == RAFT_BEGIN_QUORUM_EPOCH ||
         kind == RAFT_END_QUORUM_EPOCH || kind == RAFT_FETCH || kind == RAFT_FETCH_SNAPSHOT);
  return (enum raft_msg_kind)(kind + 1); /* each response follows its request */
}

static void on_response(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct raft_outbound *slot = ctx;
  struct raft_node *rn = slot->rn;
  ASSERT(slot->used);
  struct raft_msg m;
  memset(&m, 0, sizeof m);
  m.kind = response_kind(slot->kind);
  m.from = slot->to;
  m.to = rn->node->cfg.node_id;
  m.correlation_id = slot->correlation_id;
  struct raft_batch_span spans[RAFT_FETCH_RECORDS_MAX];
  bool ok = false;
  if (err == 0) {
    switch (slot->kind) {
    case RAFT_VOTE:
      ok = vote_response_to_msg(body, slot->version, arena, &m);
      break;
    case RAFT_BEGIN_QUORUM_EPOCH:
      ok = begin_response_to_msg(body, slot->version, arena, &m);
      break;
    case RAFT_END_QUORUM_EPOCH:
      ok = end_response_to_msg(body, slot->version, arena, &m);
      break;
    case RAFT_FETCH:
      ok = fetch_response_to_msg(rn, body, slot->version, arena, &m, spans);
      break;
    case RAFT_FETCH_SNAPSHOT:
      ok = fetch_snapshot_response_to_msg(body, slot->version, arena, &m, spans);
      break;
    default:
      UNREACHABLE();
    }
  }
  raft_node_response(rn, slot, ok ? 0 : (err ? err : ENV_EINVAL), &m, spans);
}

static int send_vote(struct raft_node *rn, struct channel *ch, int16_t v,
                     const struct raft_msg *m, struct raft_outbound *slot) {
  struct vote_request q;
  struct vote_request_topic_data t;
  struct vote_request_partition_data p;
  vote_request_of(rn, m, v, &q, &t, &p);
  return channel_send(ch, API_VOTE, v, encode_vote, &q, on_response, slot);
}

static int send_begin(struct raft_node *rn, struct channel *ch, int16_t v,
                      const struct raft_msg *m, struct raft_outbound *slot) {
  struct begin_quorum_epoch_request q;
  struct begin_quorum_epoch_request_topic_data t;
  struct begin_quorum_epoch_request_partition_data p;
  struct begin_quorum_epoch_request_leader_endpoint e;
  begin_quorum_epoch_request_init(&q);
  begin_quorum_epoch_request_topic_data_init(&t);
  begin_quorum_epoch_request_partition_data_init(&p);
  begin_quorum_epoch_request_leader_endpoint_init(&e);
  q.cluster_id = kstr_of(rn->node->cluster_id);
  q.voter_id = m->to;
  q.topics = &t;
  q.topics_count = 1;
  t.topic_name = metadata_topic();
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition_index = META_LOG_PARTITION;
  p.leader_id = m->begin_quorum_epoch.leader_id;
  p.leader_epoch = m->begin_quorum_epoch.leader_epoch;
  const struct config_voter *self = self_voter(rn);
  if (self != NULL) { /* v1 (KIP-853): where the leader listens */
    e.name = raft_node_listener_name(rn->node);
    e.host = kstr_of(self->host);
    e.port = self->port;
    q.leader_endpoints = &e;
    q.leader_endpoints_count = 1;
  }
  return channel_send(ch, API_BEGIN_QUORUM_EPOCH, v, encode_begin, &q, on_response, slot);
}

static int send_end(struct raft_node *rn, struct channel *ch, int16_t v,
                    const struct raft_msg *m, struct raft_outbound *slot) {
  const struct raft_end_quorum_epoch_request *in = &m->end_quorum_epoch;
  ASSERT(in->preferred_successor_count < RAFT_VOTERS_MAX);
  struct end_quorum_epoch_request q;
  struct end_quorum_epoch_request_topic_data t;
  struct end_quorum_epoch_request_partition_data p;
  struct end_quorum_epoch_request_leader_endpoint e;
  struct end_quorum_epoch_request_replica_info candidates[RAFT_VOTERS_MAX];
  int32_t successors[RAFT_VOTERS_MAX];
  end_quorum_epoch_request_init(&q);
  end_quorum_epoch_request_topic_data_init(&t);
  end_quorum_epoch_request_partition_data_init(&p);
  end_quorum_epoch_request_leader_endpoint_init(&e);
  q.cluster_id = kstr_of(rn->node->cluster_id);
  q.topics = &t;
  q.topics_count = 1;
  t.topic_name = metadata_topic();
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition_index = META_LOG_PARTITION;
  p.leader_id = in->leader_id;
  p.leader_epoch = in->leader_epoch;
  for (uint32_t i = 0; i < in->preferred_successor_count; i++) {
    successors[i] = in->preferred_successors[i]; /* v0 */
    end_quorum_epoch_request_replica_info_init(&candidates[i]);
    candidates[i].candidate_id = in->preferred_successors[i]; /* v1 */
  }
  p.preferred_successors = successors;
  p.preferred_successors_count = (int32_t)in->preferred_successor_count;
  p.preferred_candidates = candidates;
  p.preferred_candidates_count = (int32_t)in->preferred_successor_count;
  const struct config_voter *self = self_voter(rn);
  if (self != NULL) {
    e.name = raft_node_listener_name(rn->node);
    e.host = kstr_of(self->host);
    e.port = self->port;
    q.leader_endpoints = &e;
    q.leader_endpoints_count = 1;
  }
  return channel_send(ch, API_END_QUORUM_EPOCH, v, encode_end, &q, on_response, slot);
}

static int send_fetch(struct raft_node *rn, struct channel *ch, int16_t v,
                      const struct raft_msg *m, struct raft_outbound *slot) {
  struct fetch_request q;
  struct fetch_request_fetch_topic t;
  struct fetch_request_fetch_partition p;
  fetch_request_of(rn, m, &q, &t, &p);
  return channel_send(ch, API_FETCH, v, encode_fetch, &q, on_response, slot);
}

static int send_fetch_snapshot(struct raft_node *rn, struct channel *ch, int16_t v,
                               const struct raft_msg *m, struct raft_outbound *slot) {
  const struct raft_fetch_snapshot_request *in = &m->fetch_snapshot;
  struct fetch_snapshot_request q;
  struct fetch_snapshot_request_topic_snapshot t;
  struct fetch_snapshot_request_partition_snapshot p;
  fetch_snapshot_request_init(&q);
  fetch_snapshot_request_topic_snapshot_init(&t);
  fetch_snapshot_request_partition_snapshot_init(&p);
  q.cluster_id = kstr_of(rn->node->cluster_id);
  q.replica_id = in->replica_id;
  q.max_bytes = in->max_bytes;
  q.topics = &t;
  q.topics_count = 1;
  t.name = metadata_topic();
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition = META_LOG_PARTITION;
  p.current_leader_epoch = in->current_leader_epoch;
  p.snapshot_id.end_offset = in->snapshot_id.end_offset;
  p.snapshot_id.epoch = in->snapshot_id.epoch;
  p.position = in->position;
  return channel_send(ch, API_FETCH_SNAPSHOT, v, encode_fetch_snapshot, &q, on_response, slot);
}

struct rpc {
  int16_t api_key, version_min, version_max;
  int (*send)(struct raft_node *rn, struct channel *ch, int16_t v, const struct raft_msg *m,
              struct raft_outbound *slot);
};

static const struct rpc *rpc_of(enum raft_msg_kind kind) {
  static const struct rpc vote = {API_VOTE, 0, RAFT_VOTE_VERSION_MAX, send_vote};
  static const struct rpc begin = {API_BEGIN_QUORUM_EPOCH, 0, RAFT_QUORUM_VERSION_MAX,
                                   send_begin};
  static const struct rpc end = {API_END_QUORUM_EPOCH, 0, RAFT_QUORUM_VERSION_MAX, send_end};
  static const struct rpc fetch = {API_FETCH, RAFT_FETCH_VERSION_MIN, RAFT_FETCH_VERSION_MAX,
                                   send_fetch};
  static const struct rpc snapshot = {API_FETCH_SNAPSHOT, 0, RAFT_QUORUM_VERSION_MAX,
                                      send_fetch_snapshot};
  switch (kind) {
  case RAFT_VOTE:
    return &vote;
  case RAFT_BEGIN_QUORUM_EPOCH:
    return &begin;
  case RAFT_END_QUORUM_EPOCH:
    return &end;
  case RAFT_FETCH:
    return &fetch;
  case RAFT_FETCH_SNAPSHOT:
    return &snapshot;
  default:
    UNREACHABLE();
  }
}

static struct raft_outbound *outbound_take(struct raft_node *rn) {
  for (int i = 0; i < RAFT_OUTBOUND_MAX; i++)
    if (!rn->outbound[i].used) return &rn->outbound[i];
  return NULL;
}

/* KIP-996, pre-vote only if every voter has it: what the channel to voter
 * `to` serves, when it is up, decides whether that voter has it; the core
 * reads cfg.pre_vote when an election starts (raft_become_prospective), so
 * the change applies from the next election. */
static void note_pre_vote_support(struct raft_node *rn, int32_t to, const struct channel *ch) {
  int16_t v = ch ? channel_version(ch, API_VOTE, 0, RAFT_VOTE_VERSION_MAX) : -1;
  if (v < 0) return; /* not up: what it served last still holds */
  uint32_t i = 0;
  while (i < rn->voter_count && rn->voters[i] != to) i++;
  if (i == rn->voter_count) return; /* an observer: it never votes */
  ASSERT(i < RAFT_VOTERS_MAX && RAFT_VOTERS_MAX <= 32);
  uint32_t bit = 1u << i;
  if (v >= RAFT_VOTE_PRE_VOTE_VERSION)
    rn->voters_without_pre_vote &= ~bit;
  else
    rn->voters_without_pre_vote |= bit;
  rn->core.cfg.pre_vote = rn->voters_without_pre_vote == 0;
}

bool raft_client_send(struct raft_node *rn, const struct raft_msg *m) {
  ASSERT(raft_msg_is_request(m) && m->from == rn->node->cfg.node_id);
  const struct rpc *rpc = rpc_of(m->kind);
  struct channel *ch = quorum_peers_channel(&rn->peers, m->to);
  note_pre_vote_support(rn, m->to, ch);
  int16_t v = ch ? channel_version(ch, rpc->api_key, rpc->version_min, rpc->version_max) : -1;
  if (m->kind == RAFT_VOTE && m->vote.pre_vote && v < RAFT_VOTE_PRE_VOTE_VERSION) {
    if (v >= 0)
      env_log(rn->env, ENV_LOG_WARN,
              "raft: voter %d serves Vote up to v%d, no PreVote (KIP-996, v2): "
              "elections go without pre-vote while it does",
              m->to, v);
    return false;
  }
  struct raft_outbound *slot = v >= 0 ? outbound_take(rn) : NULL;
  if (slot == NULL) return false;
  *slot = (struct raft_outbound){.rn = rn,
                                 .used = true,
                                 .kind = m->kind,
                                 .to = m->to,
                                 .correlation_id = m->correlation_id,
                                 .version = v};
  if (rpc->send(rn, ch, v, m, slot) != 0) {
    slot->used = false;
    return false;
  }
  ASSERT(slot->used);
  return true;
}
