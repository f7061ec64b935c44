/* Vote (API 52), versions 0-2, on the controller listener (KIP-595): a
 * candidate asks for this voter's vote in its epoch. The core decides and
 * its answer leaves only once a granted vote is in the durable quorum
 * state, so the handler usually answers later, from the drain that follows
 * the fsync. v1's directory ids (KIP-853) are not kept. v2 is Kafka 4.0's,
 * from Sluice's schema overlay: its PreVote (KIP-996) asks whether this
 * voter would vote for a prospective at its current epoch; the core answers
 * at once and persists nothing. Below v2 every request is a standard vote. */
#include "base/assert.h"
#include "meta/records.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/raft_node.h"
#include "server/server.h"

static void send(struct request *req, const struct vote_response *r) {
  struct wr w;
  response_begin(req, &w);
  vote_response_encode(&w, req->api_version, r);
  request_respond(req, &w);
}

static void respond(struct request *req, const struct raft_msg *m) {
  ASSERT(m->kind == RAFT_VOTE_RESPONSE);
  struct vote_response r;
  struct vote_response_topic_data t;
  struct vote_response_partition_data p;
  vote_response_init(&r);
  vote_response_topic_data_init(&t);
  vote_response_partition_data_init(&p);
  r.topics = &t;
  r.topics_count = 1;
  t.topic_name = KSTR_LIT(META_LOG_TOPIC);
  t.partitions = &p;
  t.partitions_count = 1;
  p.partition_index = META_LOG_PARTITION;
  p.error_code = m->error_code;
  p.leader_id = m->vote_response.leader_id;
  p.leader_epoch = m->vote_response.leader_epoch;
  p.vote_granted = m->vote_response.vote_granted;
  send(req, &r);
}

static void refuse(struct request *req, int16_t error) {
  struct vote_response r;
  vote_response_init(&r);
  r.error_code = error;
  send(req, &r);
}

bool handle_vote(struct request *req) {
  handler_assert_entry(req, API_VOTE);
  struct vote_request in;
  if (!vote_request_decode(&req->body, req->api_version, &in, &req->arena)) return false;
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
  const struct vote_request_partition_data *p = &in.topics[0].partitions[0];
  struct raft_msg m = {.kind = RAFT_VOTE, .from = p->replica_id};
  m.vote = (struct raft_vote_request){.candidate_epoch = p->replica_epoch,
                                      .candidate_id = p->replica_id,
                                      .last_offset_epoch = p->last_offset_epoch,
                                      .last_offset = p->last_offset,
                                      .pre_vote = p->pre_vote};
  ASSERT(req->api_version >= RAFT_VOTE_PRE_VOTE_VERSION || !m.vote.pre_vote);
  raft_node_request(node, req, &m, respond);
  return true;
}
