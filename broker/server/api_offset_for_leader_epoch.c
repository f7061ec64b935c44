/* OffsetForLeaderEpoch (API 23, KIP-101, KIP-279), versions 0-4: where an
 * epoch ends in the leader's epoch cache (the start offset of the next
 * larger epoch, or the log end for the latest), and the largest epoch at
 * or below the asked one; a follower that cannot tell from a Fetch's
 * DivergingEpoch truncates there. Answered by the leader only
 * (NOT_LEADER_OR_FOLLOWER elsewhere, as Kafka does unless ReplicaId is the
 * debugging id -2 of old versions), with the KIP-320 epoch check. An epoch
 * the cache does not know answers -1/-1 without an error. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

enum { DEBUGGING_REPLICA_ID = -2 };

static void
epoch_end(struct request *req, int32_t replica_id, struct kstr topic,
          const struct offset_for_leader_epoch_request_offset_for_leader_partition *rp,
          struct offset_for_leader_epoch_response_epoch_end_offset *out) {
  offset_for_leader_epoch_response_epoch_end_offset_init(out);
  out->partition = rp->partition;
  out->leader_epoch = -1;
  out->end_offset = -1;
  struct partition *p = partition_any(req->node, topic, rp->partition);
  bool from_leader_only = replica_id != DEBUGGING_REPLICA_ID;
  if (p == NULL)
    out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
  else if (!partition_hosted(p) || (from_leader_only && !partition_is_leader(req->node, p)))
    out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
  else if (rp->current_leader_epoch >= 0 && rp->current_leader_epoch != p->leader_epoch)
    out->error_code = rp->current_leader_epoch > p->leader_epoch ? KERR_UNKNOWN_LEADER_EPOCH
                                                                 : KERR_FENCED_LEADER_EPOCH;
  else if (plog_offline(p->log))
    out->error_code = KERR_KAFKA_STORAGE_ERROR;
  if (out->error_code != KERR_NONE) return;
  plog_end_offset_for_epoch(p->log, rp->leader_epoch, &out->leader_epoch, &out->end_offset);
  ASSERT((out->leader_epoch < 0) == (out->end_offset < 0));
}

bool handle_offset_for_leader_epoch(struct request *req) {
  handler_assert_entry(req, API_OFFSET_FOR_LEADER_EPOCH);
  struct offset_for_leader_epoch_request m;
  if (!offset_for_leader_epoch_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct offset_for_leader_epoch_response resp;
  offset_for_leader_epoch_response_init(&resp);
  int32_t topics = m.topics_count > 0 ? m.topics_count : 0;
  resp.topics_count = topics;
  resp.topics = arena_alloc(&req->arena, (size_t)(topics + 1) * sizeof *resp.topics);
  int32_t replica_id = req->api_version >= 3 ? m.replica_id : -1;
  for (int32_t i = 0; i < topics; i++) {
    const struct offset_for_leader_epoch_request_offset_for_leader_topic *rt = &m.topics[i];
    struct offset_for_leader_epoch_response_offset_for_leader_topic_result *tr =
        &resp.topics[i];
    offset_for_leader_epoch_response_offset_for_leader_topic_result_init(tr);
    tr->topic = rt->topic;
    int32_t parts = rt->partitions_count > 0 ? rt->partitions_count : 0;
    tr->partitions_count = parts;
    tr->partitions = arena_alloc(&req->arena, (size_t)(parts + 1) * sizeof *tr->partitions);
    for (int32_t j = 0; j < parts; j++)
      epoch_end(req, replica_id, rt->topic, &rt->partitions[j], &tr->partitions[j]);
  }
  struct wr w;
  response_begin(req, &w);
  offset_for_leader_epoch_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
