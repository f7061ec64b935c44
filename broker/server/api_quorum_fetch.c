/* Fetch (API 1), versions 12-17, on the controller listener: the metadata
 * log's Fetch (KIP-595). A follower or observer asks for __cluster_metadata-0
 * (by name up to v12, by Kafka's fixed topic id from v13) from FetchOffset,
 * with LastFetchedEpoch; the core answers with records, a DivergingEpoch or
 * a SnapshotId, or holds the request until there is news or MaxWaitMs has
 * passed (long polling: the handler answers later, req->pending). The
 * records are the batches of the metadata log (one per entry). The replica
 * is ReplicaId up to v14, ReplicaState.ReplicaId from v15. */
#include <string.h>

#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/raft_node.h"
#include "server/server.h"

enum { MAX_WAIT_MS_CAP = 10000 };

static void send(struct request *req, const struct fetch_response *r) {
  struct wr w;
  response_begin(req, &w);
  fetch_response_encode(&w, req->api_version, r);
  request_respond(req, &w);
}

/* v16+: where the leader is, when the answer is that this node is not it. */
static void leader_endpoint(struct request *req, int32_t leader_id, struct fetch_response *r) {
  const struct config_voter *v = raft_node_voter(req->node, leader_id);
  if (v == NULL || req->api_version < 16) return;
  struct fetch_response_node_endpoint *e = arena_alloc(&req->arena, sizeof *e);
  fetch_response_node_endpoint_init(e);
  e->node_id = v->id;
  e->host = kstr_of(v->host);
  e->port = v->port;
  r->node_endpoints = e;
  r->node_endpoints_count = 1;
}

static void records_of(struct request *req, const struct raft_fetch_response *f,
                       struct krecords *out) {
  struct buf b;
  buf_init(&b);
  if (f->record_count > 0) raft_node_fetch_records(req->node, f, &b);
  uint8_t *bytes = arena_alloc(&req->arena, b.len ? b.len : 1);
  if (b.len) memcpy(bytes, b.data, b.len);
  *out = (struct krecords){.ptr = bytes, .len = (int32_t)b.len};
  buf_free(&b);
}

static void respond(struct request *req, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_FETCH_RESPONSE);
  const struct raft_fetch_response *f = &m->fetch_response;
  struct fetch_response r;
  struct fetch_response_fetchable_topic_response t;
  struct fetch_response_partition_data p;
  fetch_response_init(&r);
  fetch_response_fetchable_topic_response_init(&t);
  fetch_response_partition_data_init(&p);
  r.responses = &t;
  r.responses_count = 1;
  t.topic = KSTR_LIT(META_LOG_TOPIC);
  t.topic_id = raft_node_metadata_topic_id();
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition_index = META_LOG_PARTITION;
  p.error_code = m->error_code;
  p.high_watermark = f->high_watermark;
  p.last_stable_offset = f->high_watermark;
  p.log_start_offset = f->log_start_offset;
  p.diverging_epoch.epoch = f->diverging_epoch.epoch;
  p.diverging_epoch.end_offset = f->diverging_epoch.end_offset;
  p.current_leader.leader_id = f->current_leader.leader_id;
  p.current_leader.leader_epoch = f->current_leader.leader_epoch;
  p.snapshot_id.end_offset = f->snapshot_id.end_offset;
  p.snapshot_id.epoch = f->snapshot_id.epoch;
  p.aborted_transactions_count = -1;
  records_of(req, f, &p.records);
  if (m->error_code != KERR_NONE) leader_endpoint(req, f->current_leader.leader_id, &r);
  send(req, &r);
}

static void refuse(struct request *req, int16_t error) {
  struct fetch_response r;
  fetch_response_init(&r);
  r.error_code = error;
  send(req, &r);
}

static bool is_metadata_partition(const struct fetch_request *in, int16_t version) {
  if (in->topics_count != 1 || in->topics[0].partitions_count != 1) return false;
  const struct fetch_request_fetch_topic *t = &in->topics[0];
  struct kuuid id = raft_node_metadata_topic_id();
  bool topic = version >= 13 ? memcmp(t->topic_id.b, id.b, sizeof id.b) == 0
                             : raft_node_is_metadata_topic(t->topic);
  return topic && t->partitions[0].partition == META_LOG_PARTITION;
}

bool handle_quorum_fetch(struct request *req) {
  handler_assert_entry(req, API_FETCH);
  struct fetch_request in;
  if (!fetch_request_decode(&req->body, req->api_version, &in, &req->arena)) return false;
  if (!raft_node_cluster_id_ok(req->node, in.cluster_id)) {
    refuse(req, KERR_INCONSISTENT_CLUSTER_ID);
    return true;
  }
  if (!is_metadata_partition(&in, req->api_version)) {
    refuse(req, KERR_INVALID_REQUEST);
    return true;
  }
  const struct fetch_request_fetch_partition *p = &in.topics[0].partitions[0];
  int32_t replica = req->api_version >= 15 ? in.replica_state.replica_id : in.replica_id;
  int32_t wait_ms = in.max_wait_ms < 0 ? 0 : in.max_wait_ms;
  struct raft_msg m = {.kind = RAFT_FETCH, .from = replica};
  m.fetch = (struct raft_fetch_request){
      .replica_id = replica,
      .current_leader_epoch = p->current_leader_epoch,
      .fetch_offset = p->fetch_offset < 0 ? 0 : p->fetch_offset,
      .last_fetched_epoch = p->last_fetched_epoch,
      .log_start_offset = p->log_start_offset,
      .max_wait_ms = wait_ms < MAX_WAIT_MS_CAP ? wait_ms : MAX_WAIT_MS_CAP};
  raft_node_request(req->node, req, &m, respond);
  return true;
}
