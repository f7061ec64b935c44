/* BeginQuorumEpoch (API 53), versions 0-1, on the controller listener
 * (KIP-595): a new leader announces its epoch so the voters fetch from it
 * at once. The sender is the leader it names. v1's voter id must be this
 * node; its leader endpoints (KIP-853) are not needed: the voters' addresses
 * come from controller.quorum.voters. */
#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/raft_node.h"
#include "server/server.h"

static void send(struct request *req, const struct begin_quorum_epoch_response *r) {
  struct wr w;
  response_begin(req, &w);
  begin_quorum_epoch_response_encode(&w, req->api_version, r);
  request_respond(req, &w);
}

static void respond(struct request *req, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_BEGIN_QUORUM_EPOCH_RESPONSE);
  struct begin_quorum_epoch_response r;
  struct begin_quorum_epoch_response_topic_data t;
  struct begin_quorum_epoch_response_partition_data p;
  begin_quorum_epoch_response_init(&r);
  begin_quorum_epoch_response_topic_data_init(&t);
  begin_quorum_epoch_response_partition_data_init(&p);
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
  struct begin_quorum_epoch_response r;
  begin_quorum_epoch_response_init(&r);
  r.error_code = error;
  send(req, &r);
}

bool handle_begin_quorum_epoch(struct request *req) {
  handler_assert_entry(req, API_BEGIN_QUORUM_EPOCH);
  struct begin_quorum_epoch_request in;
  if (!begin_quorum_epoch_request_decode(&req->body, req->api_version, &in, &req->arena))
    return false;
  struct node *node = req->node;
  if (!raft_node_cluster_id_ok(node, in.cluster_id)) {
    refuse(req, KERR_INCONSISTENT_CLUSTER_ID);
    return true;
  }
  bool one = RAFT_NAMES_ONLY_METADATA_LOG(in, topic_name, partition_index);
  if (!one || (in.voter_id >= 0 && in.voter_id != node->cfg.node_id)) {
    refuse(req, KERR_INVALID_REQUEST);
    return true;
  }
  const struct begin_quorum_epoch_request_partition_data *p = &in.topics[0].partitions[0];
  struct raft_msg m = {.kind = RAFT_BEGIN_QUORUM_EPOCH, .from = p->leader_id};
  m.begin_quorum_epoch =
      (struct raft_begin_quorum_epoch_request){p->leader_id, p->leader_epoch};
  raft_node_request(node, req, &m, respond);
  return true;
}
