/* FetchSnapshot (API 59), versions 0-1, on the controller listener (KIP-630,
 * which KIP-595 relies on): a follower whose fetch offset fell below the
 * leader's log start fetches the snapshot in chunks. The core checks the
 * request and says how many bytes of its snapshot answer it; they are read
 * here from the snapshot file (raft_snapshot.c), at Position, up to
 * MaxBytes. A file that cannot be read answers SNAPSHOT_NOT_FOUND: the
 * follower fetches again and learns the leader's current snapshot. */
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

/* The chunk's bytes into out: KERR_NONE, or the error that replaces the
 * core's answer. */
static int16_t read_chunk(struct request *req, const struct raft_msg *m, struct buf *out) {
  const struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
  if (m->error_code != KERR_NONE || s->unaligned_records_size == 0) return m->error_code;
  struct raft_node *rn = req->node->raft;
  ASSERT(rn != NULL);
  int rc =
      raft_snapshot_read_chunk(rn, s->snapshot_id, s->position, s->unaligned_records_size, out);
  if (rc == 0) return KERR_NONE;
  env_log(rn->env, ENV_LOG_WARN, "raft: snapshot %lld-%d unreadable at %lld: error %d",
          (long long)s->snapshot_id.end_offset, s->snapshot_id.epoch, (long long)s->position,
          rc);
  return KERR_SNAPSHOT_NOT_FOUND;
}

static void respond(struct request *req, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_FETCH_SNAPSHOT_RESPONSE);
  const struct raft_fetch_snapshot_response *s = &m->fetch_snapshot_response;
  struct buf bytes;
  buf_init(&bytes);
  int16_t error = read_chunk(req, m, &bytes);
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
  p.error_code = error;
  p.snapshot_id.end_offset = s->snapshot_id.end_offset;
  p.snapshot_id.epoch = s->snapshot_id.epoch;
  p.current_leader.leader_id = s->current_leader.leader_id;
  p.current_leader.leader_epoch = s->current_leader.leader_epoch;
  p.size = error == KERR_NONE ? s->size : 0;
  p.position = s->position;
  p.unaligned_records =
      (struct krecords){.ptr = bytes.len ? bytes.data : no_bytes, .len = (int32_t)bytes.len};
  send(req, &r);
  buf_free(&bytes);
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
