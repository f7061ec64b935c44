/* FetchSnapshot (API 59), versions 0-1, on the controller listener (KIP-630,
 * which KIP-595 relies on): a follower whose fetch offset fell below the
 * leader's log start fetches the snapshot in chunks. The core checks the
 * request; Sluice's nodes take no snapshots yet, so the leader answers
 * SNAPSHOT_NOT_FOUND (and the bytes of a chunk, which will come from the
 * snapshot file, are empty). */
#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/raft_node.h"
#include "server/server.h"

static const uint8_t no_bytes[1];

static void send(struct request *req, const struct fetch_snapshot_response *r) {
  struct wr w;
  response_begin(req, &w);
  fetch_snapshot_response_encode(&w, req->api_version, r);
  request_respond(req, &w);
}

static void respond(struct request *req, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE);
  const struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
  /* No snapshot files yet: the core never offers a snapshot with bytes. */
  ASSERT(m->error_code != KERR_NONE || s->unaligned_records_size == 0);
  struct fetch_snapshot_response r;
  struct fetch_snapshot_response_topic_snapshot t;
  struct fetch_snapshot_response_partition_snapshot p;
  fetch_snapshot_response_init(&r);
  fetch_snapshot_response_topic_snapshot_init(&t);
  fetch_snapshot_response_partition_snapshot_init(&p);
  r.topics = &t;
  r.topics_count = 1;
  t.name = KSTR_LIT(META_LOG_TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  p.index = META_LOG_PARTITION;
  p.error_code = m->error_code;
  p.snapshot_id.end_offset = s->snapshot_id.end_offset;
  p.snapshot_id.epoch = s->snapshot_id.epoch;
  p.current_leader.leader_id = s->current_leader.leader_id;
  p.current_leader.leader_epoch = s->current_leader.leader_epoch;
  p.size = s->size;
  p.position = s->position;
  p.unaligned_records = (struct krecords){.ptr = no_bytes, .len = 0};
  send(req, &r);
}

static void refuse(struct request *req, int16_t error) {
  struct fetch_snapshot_response r;
  fetch_snapshot_response_init(&r);
  r.error_code = error;
  send(req, &r);
}

bool handle_fetch_snapshot(struct request *req) {
  handler_assert_entry(req, API_FETCH_SNAPSHOT);
  struct fetch_snapshot_request in;
  if (!fetch_snapshot_request_decode(&req->body, req->api_version, &in, &req->arena))
    return false;
  if (!raft_node_cluster_id_ok(req->node, in.cluster_id)) {
    refuse(req, KERR_INCONSISTENT_CLUSTER_ID);
    return true;
  }
  if (!RAFT_NAMES_ONLY_METADATA_LOG(in, name, partition)) {
    refuse(req, KERR_INVALID_REQUEST);
    return true;
  }
  const struct fetch_snapshot_request_partition_snapshot *p = &in.topics[0].partitions[0];
  struct raft_msg m = {.kind = RAFT_FETCH_SNAPSHOT, .from = in.replica_id};
  m.fetch_snapshot = (struct raft_fetch_snapshot_request){
      .replica_id = in.replica_id,
      .current_leader_epoch = p->current_leader_epoch,
      .snapshot_id = {p->snapshot_id.end_offset, p->snapshot_id.epoch},
      .position = p->position,
      .max_bytes = in.max_bytes};
  raft_node_request(req->node, req, &m, respond);
  return true;
}
