/* EndQuorumEpoch (API 54), versions 0-1, on the controller listener
 * (KIP-595): a leader gives up its epoch and names its preferred successors
 * (v0: PreferredSuccessors; v1: PreferredCandidates, KIP-853), so the
 * voters elect at once instead of after a fetch timeout. The sender is the
 * leader it names. */
#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/raft_node.h"
#include "server/server.h"

static void send(struct request *req, const struct end_quorum_epoch_response *r) {
  struct wr w;
  response_begin(req, &w);
  end_quorum_epoch_response_encode(&w, req->api_version, r);
  request_respond(req, &w);
}

static void respond(struct request *req, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_END_QUORUM_EPOCH_RESPONSE);
  struct end_quorum_epoch_response r;
  struct end_quorum_epoch_response_topic_data t;
  struct end_quorum_epoch_response_partition_data p;
  end_quorum_epoch_response_init(&r);
  end_quorum_epoch_response_topic_data_init(&t);
  end_quorum_epoch_response_partition_data_init(&p);
  r.topics = &t;
  r.topics_count = 1;
  t.topic_name = KSTR_LIT(META_LOG_TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition_index = META_LOG_PARTITION;
  p.error_code = m->error_code;
  p.leader_id = m->quorum_epoch_response.leader_id;
  p.leader_epoch = m->quorum_epoch_response.leader_epoch;
  send(req, &r);
}

static void refuse(struct request *req, int16_t error) {
  struct end_quorum_epoch_response r;
  end_quorum_epoch_response_init(&r);
  r.error_code = error;
  send(req, &r);
}

/* The successors in the order the leader gave them, bounded by the core's. */
static void successors_of(const struct end_quorum_epoch_request_partition_data *p,
                          int16_t version, struct raft_end_quorum_epoch_request *out) {
  int32_t n = version >= 1 ? p->preferred_candidates_count : p->preferred_successors_count;
  if (n < 0) n = 0;
  if (n > RAFT_VOTERS_MAX - 1) n = RAFT_VOTERS_MAX - 1;
  for (int32_t i = 0; i < n; i++)
    out->preferred_successors[i] =
        version >= 1 ? p->preferred_candidates[i].candidate_id : p->preferred_successors[i];
  out->preferred_successor_count = (uint32_t)n;
  ASSERT(out->preferred_successor_count < RAFT_VOTERS_MAX);
}

bool handle_end_quorum_epoch(struct request *req) {
  handler_assert_entry(req, API_END_QUORUM_EPOCH);
  struct end_quorum_epoch_request in;
  if (!end_quorum_epoch_request_decode(&req->body, req->api_version, &in, &req->arena))
    return false;
  struct node *node = req->node;
  if (!raft_node_cluster_id_ok(node, in.cluster_id)) {
    refuse(req, KERR_INCONSISTENT_CLUSTER_ID);
    return true;
  }
  if (!RAFT_NAMES_ONLY_METADATA_LOG(in, topic_name, partition_index)) {
    refuse(req, KERR_INVALID_REQUEST);
    return true;
  }
  const struct end_quorum_epoch_request_partition_data *p = &in.topics[0].partitions[0];
  struct raft_msg m = {.kind = RAFT_END_QUORUM_EPOCH, .from = p->leader_id};
  m.end_quorum_epoch.leader_id = p->leader_id;
  m.end_quorum_epoch.leader_epoch = p->leader_epoch;
  successors_of(p, req->api_version, &m.end_quorum_epoch);
  raft_node_request(node, req, &m, respond);
  return true;
}
