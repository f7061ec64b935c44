/* OffsetForLeaderEpoch (API 23), versions 0-4: the end offset of a leader
 * epoch on the leader (KIP-101), asked by followers to reconcile their logs
 * (KIP-279) and by consumers after a leader change (KIP-320). Only the
 * leader answers; CurrentLeaderEpoch (v2+) is checked as KIP-320 says. */
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "server/handlers.h"
#include "server/server.h"

/* The leader's (epoch, end offset) for `epoch`. Kafka's leader records its
 * epoch in the epoch cache when it takes over; ours is recorded with the
 * epoch's first batch, so an epoch that has none yet (or one between the
 * last recorded and the current) ends where the log ends today. */
static void end_for_epoch(const struct partition *p, int32_t epoch, int32_t *epoch_out,
                          int64_t *end_out) {
  plog_end_offset_for_epoch(p->log, epoch, epoch_out, end_out);
  if (*epoch_out >= 0 || epoch < 0 || epoch > p->leader_epoch) return;
  int32_t latest = plog_latest_epoch(p->log);
  ASSERT(latest < epoch); /* the cache knows every epoch up to its latest */
  *epoch_out = epoch == p->leader_epoch || latest < 0 ? epoch : latest;
  *end_out = plog_end_offset(p->log);
}

static int16_t
answer_partition(struct request *req, struct kstr topic,
                 const struct offset_for_leader_epoch_request_offset_for_leader_partition *rp,
                 struct offset_for_leader_epoch_response_epoch_end_offset *r) {
  struct partition *p = partition_any(req->node, topic, rp->partition);
  if (!p) return KERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (!partition_hosted(p)) return KERR_NOT_LEADER_OR_FOLLOWER;
  if (rp->current_leader_epoch >= 0 && rp->current_leader_epoch != p->leader_epoch)
    return rp->current_leader_epoch > p->leader_epoch ? KERR_UNKNOWN_LEADER_EPOCH
                                                      : KERR_FENCED_LEADER_EPOCH;
  if (!partition_is_leader(req->node, p)) return KERR_NOT_LEADER_OR_FOLLOWER;
  if (plog_offline(p->log)) return KERR_KAFKA_STORAGE_ERROR;
  end_for_epoch(p, rp->leader_epoch, &r->leader_epoch, &r->end_offset);
  return KERR_NONE;
}

bool handle_offset_for_leader_epoch(struct request *req) {
  handler_assert_entry(req, API_OFFSET_FOR_LEADER_EPOCH);
  struct offset_for_leader_epoch_request m;
  if (!offset_for_leader_epoch_request_decode(&req->body, req->api_version, &m, &req->arena))
    return false;
  struct offset_for_leader_epoch_response resp;
  offset_for_leader_epoch_response_init(&resp);
  int32_t topic_count = m.topics_count > 0 ? m.topics_count : 0;
  resp.topics_count = topic_count;
  resp.topics = arena_alloc(&req->arena, (size_t)topic_count * sizeof *resp.topics);
  for (int32_t i = 0; i < topic_count; i++) {
    const struct offset_for_leader_epoch_request_offset_for_leader_topic *rt = &m.topics[i];
    struct offset_for_leader_epoch_response_offset_for_leader_topic_result *tr =
        &resp.topics[i];
    offset_for_leader_epoch_response_offset_for_leader_topic_result_init(tr);
    tr->topic = rt->topic;
    int32_t count = rt->partitions_count > 0 ? rt->partitions_count : 0;
    tr->partitions_count = count;
    tr->partitions = arena_alloc(&req->arena, (size_t)count * sizeof *tr->partitions);
    for (int32_t j = 0; j < count; j++) {
      struct offset_for_leader_epoch_response_epoch_end_offset *r = &tr->partitions[j];
      offset_for_leader_epoch_response_epoch_end_offset_init(r);
      r->partition = rt->partitions[j].partition;
      r->error_code = answer_partition(req, rt->topic, &rt->partitions[j], r);
      /* UNDEFINED (-1/-1) with any error, as Kafka answers. */
      if (r->error_code != KERR_NONE) r->leader_epoch = -1, r->end_offset = -1;
    }
  }
  struct wr w;
  response_begin(req, &w);
  offset_for_leader_epoch_response_encode(&w, req->api_version, &resp);
  request_respond(req, &w);
  return true;
}
